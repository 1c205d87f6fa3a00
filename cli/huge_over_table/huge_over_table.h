/*
 * huge_over_table.h - what the huge-over-table and stalled-reader
 * scenarios (the reclamation strategies side by side; the second is the
 * first with one walker stalled) share between their files: the options,
 * one run's results, and the series of retired memory sampled during a
 * run (series.c).
 *
 *   opts.c    the flags of both
 *   run.c     one run: the VM, the huge and small vCPU threads, the
 *             stalled reader and the sampling main thread
 *   series.c  the retired-memory series: bounded sampling, decimation
 *             for JSON, the -retired picture
 *   report.c  the two sweep descriptions, report and JSON, the entry point
 *   help.c    the help of both
 *
 * Threads: everything declared here is used by the main thread only; the
 * vCPU and staller threads live inside reclaim_run() (run.c).
 */
#ifndef TDPMMU_CLI_HUGE_OVER_TABLE_H
#define TDPMMU_CLI_HUGE_OVER_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

struct reclaim_opts {
	struct bench_opts b; /* first: -v, --strategy, --repeat, ... (-b and -s unused) */
	double seconds;
	uint64_t stall_ns; /* stalled-reader only */
	bool stall;        /* which of the two scenarios */
};

/*
 * Retired-but-not-freed memory over a run, sampled every
 * RECLAIM_SAMPLE_NS.  Memory is bounded: when the buffer is full,
 * neighbouring points merge (the earlier time, the larger value, so that
 * no peak is lost) and later points each cover twice as many samples.
 */
#define RECLAIM_SAMPLE_NS 1000000ull /* 1 ms */
#define RECLAIM_SERIES_CAP 1024
#define RECLAIM_JSON_POINTS 200
struct reclaim_series {
	unsigned n;      /* points kept */
	unsigned stride; /* samples per point */
	unsigned pending;
	uint64_t pending_ns, pending_bytes;
	uint64_t ns[RECLAIM_SERIES_CAP];    /* since the vCPUs were started */
	uint64_t bytes[RECLAIM_SERIES_CAP]; /* retired, not yet freed */
};

void reclaim_series_init(struct reclaim_series *s);
void reclaim_series_add(struct reclaim_series *s, uint64_t ns, uint64_t bytes);
/* Ends a run: the last partial point is kept. */
void reclaim_series_finish(struct reclaim_series *s);
/* "[[ms, bytes], ...]", at most RECLAIM_JSON_POINTS points (maxima of groups). */
void reclaim_series_json(const struct reclaim_series *s, FILE *f);

/* What one run measured, beyond struct sweep_run: the JSON's extra. */
struct reclaim_result {
	double seconds;
	uint64_t small_faults, huge_faults, replaced;
	/* stalled-reader: the stall window, as the staller saw it */
	uint64_t stall_start_ns, stall_end_ns; /* since the vCPUs were started */
	uint64_t stall_faults;                 /* faults completed inside it */
	uint64_t stall_peak_bytes;             /* most retired memory sampled inside it */
	struct reclaim_series series;          /* stalled-reader only (else n == 0) */
};

/* Runs the current configuration (o->b.sw) and fills @out (and @res); fatal on failure. */
void reclaim_run(const struct reclaim_opts *o, struct sweep_run *out, struct reclaim_result *res);
/* Huge vCPUs of @vcpus: half, rounded up. */
static inline unsigned reclaim_nr_huge(unsigned vcpus)
{
	return (vcpus + 1) / 2;
}

/* stalled-reader --plot: "FILE-retired.svg", one line per strategy at the largest count. */
void reclaim_series_plot(const struct reclaim_opts *o, const struct sweep_report *rep);

/* opts.c: parse and check the flags of stalled-reader (@stall) or huge-over-table... */
void reclaim_opts_parse(struct reclaim_opts *o, bool stall, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... --seconds 1". */
void reclaim_opts_command(const struct reclaim_opts *o, const char *name, char *buf, size_t len);

/* report.c and help.c: the two scenarios' entries in the table (cli/scenario.c). */
extern const struct sweep_scenario huge_over_table_sweep, stalled_reader_sweep;
int huge_over_table_main(const struct scenario *sc, int argc, char **argv);
void huge_over_table_help(FILE *f);
void stalled_reader_help(FILE *f);

#endif /* TDPMMU_CLI_HUGE_OVER_TABLE_H */
