/*
 * notifier.h - `tdpmmu bench notifier`, MMU-notifier invalidation storms
 * while vCPUs fault, as a scenario of the sweep driver, one file per part:
 * opts.c (flags), run.c (one run of one configuration), report.c
 * (settings, JSON, the sweep description, notifier_main) and help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside notifier_run() (see run.c).
 */
#ifndef TDPMMU_CLI_NOTIFIER_H
#define TDPMMU_CLI_NOTIFIER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_background.h"

struct notifier_opts {
	BG_OPTS_FIELDS /* first: the shared setters take the struct as theirs */
	unsigned rate; /* invalidations per second, 0: back to back */
};

/* What one run measured beyond struct sweep_run, for the JSON. */
struct notifier_extra {
	double seconds;
	uint64_t faults, accesses, passes, retries, zapped, checked;
	struct bg_inval iv;
};

/* opts.c: parse and check the flags (usage errors exit 2)... */
void notifier_opts_parse(struct notifier_opts *o, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... --remap 50". */
void notifier_opts_command(const struct notifier_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct notifier_opts). */
void notifier_run(void *opts, bool latency_round, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario notifier_sweep;
int notifier_main(const struct scenario *sc, int argc, char **argv);
void notifier_help(FILE *f);

#endif /* TDPMMU_CLI_NOTIFIER_H */
