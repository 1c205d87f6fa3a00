/*
 * dirty_log.h - `tdpmmu bench dirty-log` (KVM's dirty_log_perf_test) as a
 * scenario of the sweep driver, one file per part: opts.c (flags), run.c
 * (one run of one configuration), kvm.c (a kvm row's run), report.c
 * (settings, report, JSON, the sweep description, dirty_log_main) and
 * help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside dirty_log_run() (see run.c).
 */
#ifndef TDPMMU_CLI_DIRTY_LOG_H
#define TDPMMU_CLI_DIRTY_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

/* Upstream has no cap; ours keeps the per-iteration counts (16 bytes each) sane. */
#define DIRTY_MAX_ITERATIONS 1000000
/* KVM selftests' x86 guest mode, the one we model (-m): 4-level paging, 4K pages. */
#define DIRTY_MODE_PXXV48_4K 9

struct dirty_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned iterations;
	unsigned write_pct;
	unsigned slots;
	bool no_manual;           /* -g */
	bool run_while_disabling; /* -e */
	bool random_order;        /* -a */
	bool eager_split;
	enum tdpmmu_huge_recovery recover;
	uint64_t guest_page; /* --guest-page: kvm rows' guest page size (0: 2M) */
	uint64_t seed;       /* -r: the seed of -w's per-page draw */
	unsigned mode;       /* -m: DIRTY_MODE_PXXV48_4K; 0 when not given */
	/* -c: vCPU i runs on CPU pcpus[i]; one more entry pins the main thread. */
	int pcpus[SWEEP_MAX_VCPUS + 1];
	unsigned npcpus; /* 0: unpinned */
	/* --ring: dirty ring entries per vCPU; 0: the bitmap */
	uint32_t ring;
	enum tdpmmu_dirty_mode dirty_mode; /* --dirty-mode: wrprot (default) or dbit */
};

/* What one run measured beyond struct sweep_run: its extra (flat: free()d whole). */
struct dirty_extra {
	uint64_t pages;   /* 4K pages, all vCPUs */
	uint64_t written; /* pages the guest writes per pass (-w) */
	uint64_t populate_ns, enable_ns, dirty_ns, get_ns, clear_ns, disable_ns;
	uint64_t dirty_faults, dirty_fast; /* EPT violations of the dirty passes, fast path */
	uint64_t enable_wrprot;            /* leaves enable write-protected */
	uint64_t disable_pass_faults;      /* -e */
	/* --ring: entries harvested, reset calls */
	uint64_t ring_entries, ring_resets;
	unsigned iterations;
	/*
	 * Per iteration 0..iterations: the bits set in the log, then the pages
	 * clear re-protected (dirty_counts(), dirty_reprotected()).
	 */
	uint64_t per_it[];
};

static inline uint64_t *dirty_counts(const struct dirty_extra *x)
{
	return (uint64_t *)x->per_it;
}

static inline uint64_t *dirty_reprotected(const struct dirty_extra *x)
{
	return (uint64_t *)x->per_it + x->iterations + 1;
}

/* opts.c */
void dirty_opts_parse(struct dirty_opts *o, int argc, char **argv);
/* "tdpmmu bench dirty-log -v ... --recover inplace" */
void dirty_opts_command(const struct dirty_opts *o, char *buf, size_t len);
const char *dirty_recover_name(enum tdpmmu_huge_recovery r);
unsigned dirty_log_flags(const struct dirty_opts *o);

/* A zeroed extra for @iterations iterations (fatal when out of memory). */
struct dirty_extra *dirty_extra_alloc(unsigned iterations);
/* -c: pin the calling thread to vCPU @vcpu's CPU (no-op unpinned). */
void dirty_pin_vcpu(const struct dirty_opts *o, unsigned vcpu);

/* run.c: the sweep's run function (@opts: struct dirty_opts). */
void dirty_log_run(void *opts, bool latency_round, struct sweep_run *out);
/* The table's columns and the metric from @x's phase times. */
/* Pages a dirty pass writes: -w's draw over the pages -a's draws touch (all without -a). */
uint64_t dirty_log_written(const struct dirty_opts *o, uint64_t pages);
void dirty_log_fill_result(struct sweep_run *out, const struct dirty_extra *x, unsigned iterations);
/* ring.c: --ring's VMM, a harvester thread around each vCPU pass. */
struct bench_pool;
struct dirty_ring_vmm;
struct dirty_ring_pass {
	uint64_t pages;   /* distinct pages collected */
	uint64_t entries; /* entries harvested (a page reset mid-pass and written again: twice) */
	uint64_t resets;  /* tdpmmu_dirty_ring_reset calls */
	uint64_t ns;      /* harvesting and resetting */
};
struct dirty_ring_vmm *dirty_ring_vmm_create(struct tdpmmu_vm *vm, struct bench_pool *pool,
					     unsigned nvcpus, uint64_t pages, uint64_t slot_pages);
void dirty_ring_vmm_destroy(struct dirty_ring_vmm *r);
/* Start harvesting (a fresh map of collected pages); stop: join, take the rest. */
void dirty_ring_start(struct dirty_ring_vmm *r);
void dirty_ring_stop(struct dirty_ring_vmm *r, struct dirty_ring_pass *out);
/* vCPU exits on soft-full rings so far (the ring_soft_full_exits counter). */
int64_t dirty_ring_full_exits(struct tdpmmu_vm *vm);
/* kvm.c: a kvm row's run (the sweep's run_kvm). */
void dirty_log_kvm_run(void *opts, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario dirty_log_sweep;
int dirty_log_main(const struct scenario *sc, int argc, char **argv);
void dirty_log_help(FILE *f);

#endif /* TDPMMU_CLI_DIRTY_LOG_H */
