/*
 * access.h - `tdpmmu bench access-tracking` (KVM's
 * access_tracking_perf_test) as a scenario of the sweep driver, one file
 * per part: opts.c (flags), run.c (one run of one configuration),
 * report.c (settings, report, JSON, the sweep description, access_main)
 * and help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside access_run() (see run.c).
 */
#ifndef TDPMMU_CLI_ACCESS_H
#define TDPMMU_CLI_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

struct access_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	bool overlap;        /* -o */
	bool flush;          /* --flush */
};

#define ACCESS_IDLE_CHECKS 2 /* after writing, after reading idle memory */

/* What one run measured beyond struct sweep_run: its extra (flat: free()d whole). */
struct access_extra {
	uint64_t pages; /* 4K pages of all vCPUs' ranges (marked once per vCPU with -o) */
	uint64_t mark_ns[ACCESS_IDLE_CHECKS];       /* each "Mark memory idle" */
	uint64_t young_cleared[ACCESS_IDLE_CHECKS]; /* leaves each mark found young */
	uint64_t still_idle[ACCESS_IDLE_CHECKS];    /* pages, all vCPUs, after each idle pass */
	unsigned warned[ACCESS_IDLE_CHECKS];        /* vCPUs with 10% or more still idle */
	struct bench_vcpu_sum vcpu;                 /* the vCPUs' totals at the end */
};

/* opts.c: parse and check the flags (usage errors exit 2)... */
void access_opts_parse(struct access_opts *o, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... -b 1G -s anonymous". */
void access_opts_command(const struct access_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct access_opts). */
void access_run(void *opts, bool latency_round, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario access_sweep;
int access_main(const struct scenario *sc, int argc, char **argv);
void access_help(FILE *f);

#endif /* TDPMMU_CLI_ACCESS_H */
