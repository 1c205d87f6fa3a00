/*
 * bench_common.h - what the dirty-log, access-tracking and nx-recovery
 * benchmarks share: their common flags (-v, -b, -s, --json), the VM and
 * its memslots, a pool of vCPU threads that run one guest pass each time
 * the main thread says so, phase records, and the report's header and
 * JSON pieces.
 *
 * Concurrency of the pool: the main thread and the vCPU threads meet
 * under the pool's mutex only (a pass number to start, a count of vCPUs
 * done).  The main thread writes a vCPU's guest context only between
 * passes, while that vCPU waits on the condition variable, so the
 * mutex orders those writes before the vCPU's next pass reads them.
 * vCPU threads wait outside guest mode, so TLB flushes issued meanwhile
 * never wait for them.
 */
#ifndef TDPMMU_CLI_BENCH_COMMON_H
#define TDPMMU_CLI_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "common/backing.h"
#include "common/guest.h"
#include "sweep/sweep.h"
#include "tdpmmu/tdpmmu.h"

/*
 * The flags every selftest-like scenario has.  A scenario's option struct
 * starts with one of these, so that the setters below (and sweep_opts.c's)
 * can take it as their context.
 */
struct bench_opts {
	struct sweep_opts sw;        /* first: -v, --strategy, --repeat, --levels, outputs */
	uint64_t bytes_per_vcpu;     /* -b */
	enum tdpmmu_backing backing; /* -s */
};

/* One round by default: the selftests' own habit. */
void bench_opts_init(struct bench_opts *b, enum tdpmmu_backing backing);

/* cli_option setters; @ctx points at a struct that starts with struct bench_opts. */
void bench_set_size(void *ctx, const char *opt, const char *arg);
void bench_set_backing(void *ctx, const char *opt, const char *arg);

/* Parsers that end in usage_error() on bad input, naming @opt. */
uint64_t bench_number_arg(const char *opt, const char *arg, uint64_t min, uint64_t max);
uint64_t bench_size_arg(const char *opt, const char *arg);
enum tdpmmu_backing bench_backing_arg(const char *opt, const char *arg);
enum tdpmmu_strategy bench_strategy_arg(const char *opt, const char *arg);
enum tdpmmu_dirty_mode bench_dirty_mode_arg(const char *opt, const char *arg);
/* A number of seconds (fractions allowed) in [min, max]. */
double bench_seconds_arg(const char *opt, const char *arg, double min, double max);
/* "rcu,llist" or "all" into @out (one flag per strategy). */
void bench_strategy_list_arg(const char *opt, const char *arg, bool out[TDPMMU_NR_STRATEGIES]);

static inline uint64_t bench_pages_per_vcpu(const struct bench_opts *b)
{
	return b->bytes_per_vcpu / GUEST_PAGE_BYTES;
}

/*
 * Layout: a region of -b bytes per vCPU from gfn 0 (or one region every
 * vCPU shares, @shared), split evenly into @slots memslots.
 * bench_check_layout() makes every problem a usage error before anything
 * runs, at the largest vCPU count of -v: sizes that are not whole backing
 * pages, memslots that would not be, the guest address width, and page
 * tables (and --payload) that would need over half of this machine
 * (sweep_main checks --plot).
 */
void bench_check_layout(const struct bench_opts *b, bool shared, unsigned slots,
			const char *slots_flag);
/* Page tables for @pages in @slots memslots mapped at @leaf_level at most (the arena size). */
uint64_t bench_tables_needed(uint64_t pages, unsigned slots, unsigned vcpus, unsigned levels,
			     int leaf_level);
/*
 * Creates the VM of the current run (the strategy, levels and vCPU count
 * in b->sw) from @cfg, arena and payload sized here, and adds memslots
 * 0..@slots-1 over one region per vCPU (or the one @shared region).
 */
struct tdpmmu_vm *bench_vm_create(struct tdpmmu_vm_config *cfg, const struct bench_opts *b,
				  bool shared, unsigned slots);

/* The pool of vCPU threads. */
struct bench_pool;

/*
 * Creates @nr vCPUs and their threads (small stacks); returns once every
 * thread has done its one-time setup and waits for the first pass.  Each
 * pass, vCPU i runs tdpmmu_vcpu_run(vcpu, @fn, @ctx[i], @run_flags).
 */
struct bench_pool *bench_pool_create(struct tdpmmu_vm *vm, unsigned nr, tdpmmu_guest_fn fn,
				     void *const *ctx, unsigned run_flags);
/* Start a pass on every vCPU (after setting up the contexts). */
void bench_pool_start(struct bench_pool *p);
/* Wait for the pass to end; ns since bench_pool_start.  A vCPU error is fatal. */
uint64_t bench_pool_wait(struct bench_pool *p);
static inline uint64_t bench_pool_pass(struct bench_pool *p)
{
	bench_pool_start(p);
	return bench_pool_wait(p);
}
/* vCPU @i of the pool (dirty-log --ring harvests its ring). */
struct tdpmmu_vcpu *bench_pool_vcpu(const struct bench_pool *p, unsigned i);
/*
 * Stop and join the threads (no pass running).  The vCPUs stay attached
 * to the VM, so their statistics and fault latency can still be read;
 * tdpmmu_vm_destroy() destroys them.
 */
void bench_pool_destroy(struct bench_pool *p);

/* Sums of the vCPUs' statistics so far. */
struct bench_vcpu_sum {
	uint64_t accesses, tlb_hits, tlb_misses, ept_violations;
	uint64_t faults_fast, faults_slow, fault_retries, tlb_flushes;
};
void bench_pool_stats(const struct bench_pool *p, struct bench_vcpu_sum *out);

/* "1.234567890s", the selftests' way. */
void bench_format_secs(uint64_t ns, char *buf, size_t len);

/* "  name  value" for each of @which. */
void bench_print_counters(FILE *f, const int64_t *c, const enum tdpmmu_counter *which, int n);

/*
 * JSON (cli/common/outfile.c): written to a temporary beside @path and
 * renamed into place by bench_json_close, "-" for standard output; NULL
 * without --json.  sweep_opts_check() checked the path before the run.
 */
FILE *bench_json_open(const char *path);
void bench_json_phases(FILE *f, const struct bench_phases *ph);
void bench_json_counters(FILE *f, const int64_t *c);
/* The lock's and reclamation's statistics as JSON objects (no newline). */
void bench_json_lock(FILE *f, const struct tdpmmu_lock_stats *l);
void bench_json_reclaim(FILE *f, const struct tdpmmu_reclaim_stats *r);
/* "}", then close and rename into place; fatal with the reason on a write error. */
void bench_json_close(FILE *f, const char *path);

#endif /* TDPMMU_CLI_BENCH_COMMON_H */
