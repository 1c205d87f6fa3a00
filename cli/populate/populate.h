/*
 * populate.h - the populate benchmark, KVM's dirty_log_perf_test populate
 * phase on simulated vCPUs, one file per part: opts.c (flags), vm.c (the
 * VM of a run), run.c (one timed run), check.c (the checks after a run),
 * kvm.c (a kvm row's run), machine_ref.c (how this machine scales private
 * work), par_floor.c (the floor on every vCPU's thread at once), report.c
 * (settings, report, JSON, the sweep description, populate_main) and
 * help.c.  The guest program is common/guest.c.
 */
#ifndef TDPMMU_CLI_POPULATE_H
#define TDPMMU_CLI_POPULATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "common/backing.h"
#include "common/guest.h"
#include "sweep/sweep.h"
#include "tdpmmu/tdpmmu.h"

struct populate_opts {
	struct sweep_opts sw; /* first: -v, --strategy, --repeat, --levels, --payload, outputs */
	uint64_t bytes_per_vcpu;
	unsigned write_pct; /* -w: share of pages written, the rest read */
	bool overlap;       /* -o: every vCPU walks the same region */
	bool random_order;  /* -a: each vCPU walks its pages in its own random order */
	enum tdpmmu_backing backing;
	bool prefault;       /* --prefault: kvm rows' host memory populated first */
	bool pre_fault;      /* --pre-fault: each vCPU maps its region first (tdpmmu_pre_fault) */
	uint64_t guest_page; /* --guest-page: kvm rows' guest page size (0: 2M) */
	/* Measured along the way (report.c). */
	double floor_ns_per_page;             /* best floor; NAN when not measured */
	double machine_ref[SWEEP_MAX_COUNTS]; /* best machine reference per count */
	double par_floor[SWEEP_MAX_COUNTS];   /* best parallel floor per count, pages/s */
	unsigned cores;                       /* usable here, for the reference */
};

/* opts.c */
void populate_opts_init(struct populate_opts *o);
/* Parse and validate everything; any problem is a usage error (exit 2). */
void populate_opts_parse(struct populate_opts *o, int argc, char **argv);
/* "-v 1,2 -b 1G ...": the flags that reproduce @o, for the report. */
void populate_opts_format(const struct populate_opts *o, char *buf, size_t len);

static inline uint64_t populate_pages_per_vcpu(const struct populate_opts *o)
{
	return o->bytes_per_vcpu / GUEST_PAGE_BYTES;
}

/* Guest pages in the memslot: one region, or one per vCPU. */
static inline uint64_t populate_slot_pages(const struct populate_opts *o, unsigned vcpus)
{
	return populate_pages_per_vcpu(o) * (o->overlap ? 1 : vcpus);
}

/*
 * Every page is mapped, and only at 4K, so the bare 4K walk is a fair
 * floor (not with -a: its draws leave pages unmapped).
 */
static inline bool populate_maps_4k_only(const struct populate_opts *o)
{
	return o->backing == TDPMMU_BACKING_ANON && !o->random_order;
}

/* run.c: vCPU @vcpu's guest program over its region (or the shared one, -o). */
void populate_guest_init(struct page_guest *g, const struct populate_opts *o, unsigned vcpu);

/* Sums of the vCPUs' statistics (tdpmmu_vcpu_stats_read) over one run. */
struct populate_vcpu_totals {
	uint64_t accesses, tlb_misses, ept_violations, faults_fast, faults_slow;
	uint64_t fault_retries, kicks, tlb_flushes;
};

/* What one run measured, snapshotted right after the vCPUs finished. */
struct populate_result {
	unsigned vcpus;
	uint64_t pages;           /* pages in the memslot */
	uint64_t faults;          /* EPT violations and pre-fault steps, summed over the vCPUs */
	uint64_t elapsed_ns;      /* start barrier to the last vCPU finishing */
	uint64_t pre_fault_ns;    /* --pre-fault: first vCPU starting to the last one done */
	uint64_t pre_fault_steps; /* --pre-fault: its slow-path faults, all vCPUs */
	uint64_t floor_ns;        /* bare walk + CAS over vCPU 0's region... */
	uint64_t floor_pages;     /* ...of this many pages; 0 if the floor was not run */
	uint64_t par_floor_ns;    /* the parallel floor: barrier to last finish... */
	uint64_t par_floor_pages; /* ...over this many pages in all; 0 if not run */
	int64_t counters[TDPMMU_NR_COUNTERS];
	struct tdpmmu_lock_stats lock; /* while the vCPUs ran */
	struct tdpmmu_latency latency;
	struct tdpmmu_reclaim_stats reclaim;
	struct populate_vcpu_totals vcpu;
};

/* What populate_run() times after the run: */
#define POPULATE_FLOOR 1u     /* the floor over vCPU 0's region */
#define POPULATE_PAR_FLOOR 2u /* the parallel floor (par_floor.c) */

/*
 * run.c: create a VM, let @vcpus vCPU threads run the guest
 * program, check the result (with a full audit when @audit), optionally
 * time the floors (@floors: POPULATE_FLOOR, POPULATE_PAR_FLOOR), destroy
 * the VM.  Failures are fatal (exit 1).
 */
void populate_run(const struct populate_opts *o, unsigned vcpus, bool audit, unsigned floors,
		  bool latency, struct populate_result *res);

/*
 * par_floor.c: one thread per vCPU runs the floor over its vCPU's region
 * of the populated @vm at once; sets res->par_floor_ns and _pages.
 */
void populate_par_floor(struct tdpmmu_vm *vm, const struct populate_opts *o, unsigned vcpus,
			struct populate_result *res);

/*
 * report.c: the parallel floor's scaling at @vcpus over its smallest
 * count in the last populate sweep of this process (for `tdpmmu run`'s
 * verdict); NAN when it was not measured.
 */
double populate_par_floor_scaling(unsigned vcpus);

/* vm.c: a fresh VM with the one memslot a run of @vcpus needs... */
struct tdpmmu_vm *populate_vm_create(const struct populate_opts *o, unsigned vcpus);
/* ...with room for this many page tables (the populated tree, caches, slack)... */
uint64_t populate_tables_needed(const struct populate_opts *o, unsigned vcpus);
/* ...and, with --payload, this many bytes of real host memory (0 without). */
uint64_t populate_payload_bytes(const struct populate_opts *o, unsigned vcpus);

/* check.c: verify a populated VM; fatal on the first failure. */
void populate_check(struct tdpmmu_vm *vm, const struct populate_opts *o,
		    const struct populate_result *res, bool audit);

/* The per-run numbers only populate has, for its JSON (a run's extra). */
struct populate_extra {
	uint64_t pages;
	struct populate_vcpu_totals vcpu;
	bool pre_fault; /* --pre-fault: the next three are set */
	uint64_t pre_fault_ns, pre_fault_steps;
	uint64_t guest_ns; /* the guest pass after it (no EPT violations) */
	bool kvm;          /* a kvm row: no simulated vCPUs */
};

/* kvm.c: a kvm row's run (the sweep's run_kvm). */
void populate_kvm_run(void *opts, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario populate_sweep;
int populate_main(const struct scenario *sc, int argc, char **argv);
void populate_help(FILE *f);

/*
 * machine_ref.c: @threads threads share a fixed amount of private work
 * (atomic loads and compare-exchanges over buffers of their own, no
 * sharing); returns the aggregate operations per second (barrier to last
 * finish).  How it scales with @threads is how far this machine lets such
 * work scale.
 */
#define MACHINE_REF_ITERS (8u << 20) /* per core: 60-80 ms at 2-3 GHz */
double machine_ref_run(unsigned threads, unsigned cores);

#endif /* TDPMMU_CLI_POPULATE_H */
