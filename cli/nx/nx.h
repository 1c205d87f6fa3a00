/*
 * nx.h - `tdpmmu bench nx-recovery`, after KVM's nx_huge_pages_perf_test,
 * as a scenario of the sweep driver, one file per part: opts.c (flags),
 * run.c (one run of one configuration: the baseline VM and the recovery
 * VM), report.c (settings, report, JSON, the sweep description, nx_main)
 * and help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside nx_run() (see run.c).
 */
#ifndef TDPMMU_CLI_NX_H
#define TDPMMU_CLI_NX_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

struct nx_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned period_ms;
	unsigned ratio;
	double seconds;
};

/* One VM's measurements: the baseline or the recovery half of a run. */
struct nx_row {
	unsigned period_ms; /* 0: no recovery thread */
	uint64_t ns, faults, accesses, loops, listed_end;
	uint64_t ticks; /* ticks() over the row, for cycles per ns */
	struct tdpmmu_latency lat;
	int64_t counters[TDPMMU_NR_COUNTERS];
};

/* A run's JSON extra: both halves. */
struct nx_extra {
	struct nx_row base, rec;
};

/* TSC ticks per ns over the row (x86); 0 where the tick is the ns clock itself. */
static inline double nx_cycles_per_ns(const struct nx_row *r)
{
#if defined(__x86_64__)
	return (double)r->ticks / (double)r->ns;
#else
	return 0;
#endif
}

static inline double nx_ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

/* opts.c: parse and check the flags (usage errors exit 2)... */
void nx_opts_parse(struct nx_opts *o, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... --seconds 5". */
void nx_opts_command(const struct nx_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct nx_opts). */
void nx_run(void *opts, bool latency_round, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario nx_sweep;
int nx_main(const struct scenario *sc, int argc, char **argv);
void nx_help(FILE *f);

#endif /* TDPMMU_CLI_NX_H */
