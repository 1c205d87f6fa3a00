/*
 * mixed.h - `tdpmmu bench mixed`, everything at once, as a scenario of the
 * sweep driver, one file per part: opts.c (flags), run.c (one run of one
 * configuration: the vCPUs and the host's loop), report.c (settings, JSON,
 * the sweep description, mixed_main) and help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside mixed_run() (see run.c).
 */
#ifndef TDPMMU_CLI_MIXED_H
#define TDPMMU_CLI_MIXED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_background.h"

#define MIXED_NX_RATIO 10 /* each NX pass zaps ceil(listed / 10) tables */
#define AGE_CHUNK 512ull  /* aging looks at 2 MiB at a time */

enum mixed_act { ACT_DIRTY, ACT_AGE, ACT_NX, ACT_INVAL, NR_ACTS };

struct mixed_opts {
	BG_OPTS_FIELDS                     /* first: the shared setters take the struct as theirs */
	unsigned rate[NR_ACTS];            /* per second, 0: off */
	enum tdpmmu_dirty_mode dirty_mode; /* --dirty-mode: how logging re-arms pages */
};

/* What one run did beyond struct sweep_run, for the JSON. */
struct mixed_extra {
	double seconds;
	uint64_t faults, accesses, passes, checked;
	uint64_t done[NR_ACTS], ns[NR_ACTS]; /* rounds or passes, time spent in them */
	uint64_t logged, reprotected;        /* dirty log: pages got dirty, pages cleared */
	uint64_t young;                      /* aging: young leaves cleared */
	uint64_t nx_zapped;                  /* NX recovery: tables zapped */
	uint64_t retries, zapped;            /* notifier retries, leaves zapped (all causes) */
	struct bg_inval iv;
};

/* opts.c: parse and check the flags (usage errors exit 2)... */
void mixed_opts_parse(struct mixed_opts *o, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... --remap 50". */
void mixed_opts_command(const struct mixed_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct mixed_opts). */
void mixed_run(void *opts, bool latency_round, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario mixed_sweep;
int mixed_main(const struct scenario *sc, int argc, char **argv);
void mixed_help(FILE *f);

#endif /* TDPMMU_CLI_MIXED_H */
