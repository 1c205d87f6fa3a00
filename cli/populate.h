/*
 * populate.h - the populate benchmark: its options, one timed run, the
 * checks after a run, and the summary that the text and JSON reports print.
 */
#ifndef TDPMMU_CLI_POPULATE_H
#define TDPMMU_CLI_POPULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "tdpmmu/tdpmmu.h"

#define POPULATE_MAX_THREADS 1000
#define POPULATE_MAX_COUNTS 64  /* entries in the -v list */
#define POPULATE_MAX_REPEAT 1000
#define POPULATE_GFN_BYTES 4096ull

struct populate_opts {
	unsigned threads[POPULATE_MAX_COUNTS]; /* ascending, no duplicates */
	int nr_counts;
	uint64_t bytes_per_thread;
	unsigned repeat;
	unsigned levels;
	enum tdpmmu_backing backing;
	int max_level; /* passed to tdpmmu_fault: 0 = no cap, else 1..3 */
	const char *json_path;
};

/* populate_opts.c */
void populate_opts_init(struct populate_opts *o);
/* Parse and validate everything; any problem is a usage error (exit 2). */
void populate_opts_parse(struct populate_opts *o, int argc, char **argv);

static inline uint64_t populate_gfns_per_thread(const struct populate_opts *o)
{
	return o->bytes_per_thread / POPULATE_GFN_BYTES;
}

/* Every gfn can only be mapped at 4K, so the bare 4K walk is a fair floor. */
bool populate_maps_4k_only(const struct populate_opts *o);

/* What one run measured, snapshotted right after the timed region. */
struct populate_result {
	unsigned threads;
	uint64_t faults;
	uint64_t elapsed_ns;
	uint64_t floor_ns;   /* bare walk + CAS over thread 0's slice... */
	uint64_t floor_gfns; /* ...of this many gfns; 0 if the floor was not run */
	int64_t counters[TDPMMU_NR_COUNTERS];
	struct tdpmmu_lock_stats lock;
};

/*
 * populate_run.c: create a VM, let @threads vCPU threads fault in their
 * slices, check the result (with a full audit when @audit), optionally
 * time the floor over thread 0's slice, destroy the VM.  Failures are
 * fatal (exit 1).
 */
void populate_run(const struct populate_opts *o, unsigned threads, bool audit, bool floor,
		  struct populate_result *res);

/* populate_check.c: verify a populated VM; fatal on the first failure. */
void populate_check(struct tdpmmu_vm *vm, const struct populate_opts *o, unsigned threads,
		    const int64_t counters[TDPMMU_NR_COUNTERS], bool audit);

/* The reported numbers of one thread count: its best run, and the median. */
struct populate_summary {
	struct populate_result run; /* the best (fastest) run */
	double seconds, ns_per_fault, mfaults_per_s;
	double median_ns_per_fault;
	double machine_ref_ops_per_s; /* best machine reference at this count */
	double machine_ref_ratio;     /* that over the smallest count's */
};

struct populate_report {
	const struct populate_opts *opts;
	struct machine_info machine;
	struct populate_summary sum[POPULATE_MAX_COUNTS];
	int nr;
	double floor_ns_per_gfn; /* NAN when the floor could not be measured */
	double fault_over_floor; /* ns per fault of the base count over the floor */
	const struct populate_summary *base;    /* smallest thread count */
	const struct populate_summary *largest; /* largest thread count */
};

/*
 * machine_ref.c: @threads threads each do MACHINE_REF_ITERS atomic loads
 * and compare-exchanges over their own 8 MiB buffer, sharing nothing;
 * returns the aggregate operations per second (barrier to last finish).
 * How it scales with @threads is how far this machine lets such work scale.
 */
#define MACHINE_REF_ITERS (8u << 20) /* 60-80 ms for one thread at 2-3 GHz */
double machine_ref_run(unsigned threads);

/* populate_report.c: machine and settings, then the table row by row, then the rest. */
void populate_print_header(const struct populate_report *r, FILE *f);
void populate_print_row(const struct populate_summary *s, FILE *f);
void populate_print_results(const struct populate_report *r, FILE *f);
/* populate_json.c */
void populate_write_json(const struct populate_report *r, FILE *f);

#endif /* TDPMMU_CLI_POPULATE_H */
