/*
 * sweep.h - every benchmark scenario as a sweep: strategies x vCPU counts
 * x rounds, measured side by side in one process, reported as one table
 * per scenario (rows strategy x vCPUs, ratios against rcu and global),
 * as JSON (--json) and as a gnuplot picture (--plot).
 *
 * A scenario (its entry in the one table, cli/scenario.c) supplies a
 * struct sweep_scenario: the report's title and metric, its columns, and
 * the function that runs one configuration (the strategy and vCPU count
 * the driver put in its sweep_opts) and fills a struct sweep_run; the
 * driver does the rest.  Rounds are interleaved
 * (round 1 runs every count under every strategy, then round 2...), so a
 * slow spell on a shared machine hits every row alike; the best round of
 * each row is reported, its median beside it.
 *
 * Threads: the driver, the reports and the option setters run on the main
 * thread only; the scenario's run function starts and joins its own vCPU
 * threads before it returns.
 */
#ifndef TDPMMU_CLI_SWEEP_H
#define TDPMMU_CLI_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "scenario.h"
#include "kvm/kvm_vm.h"
#include "tdpmmu/tdpmmu.h"

#define SWEEP_MAX_COUNTS 64  /* entries in the -v list */
#define SWEEP_MAX_VCPUS 4096 /* KVM_MAX_VCPUS where configured; slots grow to 8192 */
#define SWEEP_MAX_REPEAT 1000
#define SWEEP_MAX_COLS 6 /* a scenario's own table columns */

/*
 * Rows are the library's strategies and one more: kvm, the real kernel's
 * TDP MMU through /dev/kvm (cli/kvm/kvm_vm.c), in the scenarios that have a
 * run_kvm.  `--strategy all` means the six simulated ones; kvm is named.
 */
#define SWEEP_KVM TDPMMU_NR_STRATEGIES
#define SWEEP_NR_STRATEGIES (TDPMMU_NR_STRATEGIES + 1)
/* "rcu", ..., "global", "kvm". */
const char *sweep_strategy_name(int s);

/*
 * The flags every scenario shares.  A scenario's option struct starts
 * with this (directly or through struct bench_opts), so the setters in
 * sweep_opts.c can take the struct as their context.
 */
struct sweep_opts {
	unsigned counts[SWEEP_MAX_COUNTS]; /* -v: ascending, no duplicates */
	int nr_counts;
	bool strategies[SWEEP_NR_STRATEGIES]; /* --strategy LIST|all, kvm */
	unsigned repeat;                      /* --repeat */
	unsigned levels;                      /* --levels 4|5 */
	bool payload;                         /* --payload */
	enum tdpmmu_preempt preempt;          /* --preempt: every VM's model */
	enum tdpmmu_pages_mode pages;         /* --pages: every VM's table accounting */
	const char *json_path, *plot_path;
	/* The configuration being run: set by the driver before each run. */
	unsigned vcpus;
	enum tdpmmu_strategy strategy; /* of a simulated row */
	bool kvm;                      /* a kvm row: run_kvm runs it */
};

/* One vCPU count, rcu, one round, 4 levels, no payload, voluntary, no outputs. */
void sweep_opts_init(struct sweep_opts *o, unsigned repeat);
/* cli_option setters; @ctx points at a struct that starts with struct sweep_opts. */
void sweep_set_vcpus(void *ctx, const char *opt, const char *arg);
void sweep_set_strategies(void *ctx, const char *opt, const char *arg);
void sweep_set_repeat(void *ctx, const char *opt, const char *arg);
void sweep_set_levels(void *ctx, const char *opt, const char *arg);
void sweep_set_payload(void *ctx, const char *opt, const char *arg);
void sweep_set_json(void *ctx, const char *opt, const char *arg);
void sweep_set_plot(void *ctx, const char *opt, const char *arg);
void sweep_set_preempt(void *ctx, const char *opt, const char *arg);
void sweep_set_pages(void *ctx, const char *opt, const char *arg);
/* The sweep's entries of a scenario's cli_option table (cli.h). */
/* clang-format off */
#define SWEEP_CLI_OPTIONS                                                                          \
	{ 'v', NULL, true, sweep_set_vcpus }, { 0, "strategy", true, sweep_set_strategies },       \
		{ 0, "repeat", true, sweep_set_repeat }, { 0, "levels", true, sweep_set_levels },  \
		{ 0, "payload", false, sweep_set_payload }, { 0, "json", true, sweep_set_json },   \
		{ 0, "plot", true, sweep_set_plot }, { 0, "preempt", true, sweep_set_preempt },    \
		{ 0, "pages", true, sweep_set_pages }
/* clang-format on */
/* After parsing: --plot needs gnuplot and a .svg or .png name (usage errors). */
void sweep_opts_check(const struct sweep_opts *o);
/*
 * " -v 1,2 --strategy rcu,global --repeat 3 --levels 4" (plus --preempt
 * and --pages when not the default, and --payload): for the command line.
 */
void sweep_opts_format(const struct sweep_opts *o, char *buf, size_t len);
int sweep_nr_strategies(const struct sweep_opts *o);
/*
 * One strategy, one vCPU count, one round: a scenario may then print its
 * selftest-style lines as it goes (the tables follow anyway).
 */
bool sweep_single_run(const struct sweep_opts *o);
static inline unsigned sweep_max_vcpus(const struct sweep_opts *o)
{
	return o->counts[o->nr_counts - 1];
}

/* Timed phases, in order, for the JSON report. */
#define BENCH_MAX_PHASES 320 /* dirty-log: 3 per iteration (-i up to 100), and 5 more */
struct bench_phase {
	char name[64];
	uint64_t ns;
	uint64_t faults; /* EPT violations during the phase, all vCPUs */
};
struct bench_phases {
	struct bench_phase p[BENCH_MAX_PHASES];
	int n;
};
void bench_phase_add(struct bench_phases *ph, const char *name, uint64_t ns, uint64_t faults);

/* What one run of one configuration measured. */
struct sweep_run {
	struct bench_phases phases;
	double metric;              /* the scenario's headline number */
	double col[SWEEP_MAX_COLS]; /* the scenario's own table columns */
	bool has_latency;           /* faults were timed */
	struct tdpmmu_latency latency;
	struct tdpmmu_lock_stats lock; /* while the vCPUs ran */
	struct tdpmmu_reclaim_stats reclaim;
	int64_t counters[TDPMMU_NR_COUNTERS];
	struct kvm_vcpu_kstats kvm; /* a kvm row: KVM's own vCPU statistics over the run */
	void *extra; /* the scenario's own results, for its JSON; free()d by the driver */
};

/* The lock statistics since @then (the vCPUs' part of a VM's life). */
void sweep_lock_since(struct tdpmmu_lock_stats *now, const struct tdpmmu_lock_stats *then);

struct sweep_report;

/* How a scenario runs and reports; its name is its table entry's (scenario.h). */
struct sweep_scenario {
	const char *title;       /* the report's first line */
	const char *metric_name; /* table header of the metric, in its unit after scaling */
	const char *metric_json; /* JSON key of the metric, unscaled ("faults_per_sec") */
	const char *metric_what; /* a sentence: what the metric is */
	double metric_scale;     /* the table shows metric / metric_scale */
	bool lower_is_better;    /* latency-like metric: the best round is the lowest */
	const char *cols[SWEEP_MAX_COLS]; /* the scenario's own columns (NULL after the last) */
	int col_decimals[SWEEP_MAX_COLS];
	/*
	 * A first round with every fault timed (and anything slow the
	 * scenario checks), whose runs give the latency columns and do not
	 * count for the metric; without it every run is timed.
	 */
	bool latency_round;
	/* Runs @opts' current configuration; failures are fatal. */
	void (*run)(void *opts, bool latency_round, struct sweep_run *out);
	/* The same on real KVM (NULL: the scenario has no kvm rows); no latency round. */
	void (*run_kvm)(void *opts, struct sweep_run *out);
	/*
	 * Optional, with run_kvm: whether a kvm row of @opts' current
	 * configuration (its vcpus) can run, checked before anything runs:
	 * 0; -ENOMEM when the host lacks something (no hugetlb pages
	 * reserved, no usable userfaultfd: the kvm rows are skipped with one
	 * line); any other -errno is a limit (a usage error).  @why says what.
	 */
	int (*check_kvm)(void *opts, char *why, size_t len);
	void (*print_settings)(const void *opts, FILE *f);
	/* The scenario's "config" JSON object (no trailing comma or newline). */
	void (*json_config)(const void *opts, FILE *f);
	/* Optional: more report after the tables, and more JSON fields per result. */
	void (*print_extra)(const void *opts, const struct sweep_report *rep, FILE *f);
	void (*json_extra)(const void *opts, const struct sweep_run *run, FILE *f);
};

/* One row: a strategy (or SWEEP_KVM) at a vCPU count. */
struct sweep_row {
	int strategy;
	unsigned vcpus;
	struct sweep_run *best;    /* the best round */
	struct sweep_run *latency; /* the latency round's run (or the best run) */
	double *metrics;           /* each round's metric, sorted */
	unsigned nr_metrics;
	double median;
};

struct sweep_report {
	const char *name; /* the scenario's ("populate"): the JSON's, the plot's title */
	const struct sweep_scenario *sc;
	const struct sweep_opts *opts;
	const char *command;
	struct machine_info machine;
	struct sweep_row *rows; /* strategy-major, counts ascending */
	int nr_rows;
	uint64_t elapsed_ns;
	bool kvm_rows;             /* kvm asked for and /dev/kvm usable */
	struct kvm_host_facts kvm; /* ...then the host's KVM */
	char kvm_skipped[256];     /* kvm asked for and not usable: why */
	time_t started;            /* when the sweep began (the JSON's timestamp) */
	uint64_t t0_ns;            /* ...and on the monotonic clock, once measuring */
};

/*
 * Runs the whole sweep of @sc (its sc->sweep) and prints the report (and
 * writes --json and --plot).  @opts is the scenario's option struct,
 * which starts with a struct sweep_opts.  Returns 0; failures are fatal.
 */
int sweep_main(const struct scenario *sc, void *opts, const char *command);

/*
 * `tdpmmu run` keeps each scenario's results for its verdict: after
 * sweep_keep(&r), the next sweep_main() prints its main table only (no
 * machine header, settings, details, JSON or plot) and leaves its rows
 * (and scenario) in @r instead of freeing them (r.opts and r.command are
 * cleared: they belonged to the scenario's stack).  sweep_report_free()
 * frees them.
 */
void sweep_keep(struct sweep_report *r);
void sweep_report_free(struct sweep_report *r);

/* The row of @s at @vcpus, NULL when that strategy was not run. */
const struct sweep_row *sweep_find(const struct sweep_report *rep, int s, unsigned vcpus);
/* @row's metric over that of @s at the same count; NAN when @s was not run. */
double sweep_ratio(const struct sweep_report *rep, const struct sweep_row *row, int s);

/* sweep_report.c, sweep_json.c, sweep_plot.c */
void sweep_print_header(const struct sweep_report *rep, FILE *f);
/* The main table; unless @brief, also the latency, lock and reclamation table. */
void sweep_print_tables(const struct sweep_report *rep, FILE *f, bool brief);
void sweep_write_json(const struct sweep_report *rep, void *opts, FILE *f);
/* Fatal when gnuplot fails. */
void sweep_plot(const struct sweep_report *rep, const char *path);
/* sweep_kvm.c: the kvm rows (see the file). */
void sweep_kvm_prepare(struct sweep_report *rep, struct sweep_opts *o);
void sweep_kvm_print_host(const struct sweep_report *rep, FILE *f);
void sweep_kvm_json_host(const struct sweep_report *rep, FILE *f);
void sweep_kvm_json_stats(const struct sweep_run *run, FILE *f);
int sweep_kvm_backing(enum tdpmmu_backing b); /* an enum kvm_backing_kind */
void sweep_kvm_stats_since(struct kvm_vcpu_kstats *after, const struct kvm_vcpu_kstats *before);
/* Whether gnuplot can be run (for --plot's check before anything runs). */
bool sweep_have_gnuplot(void);
/*
 * A gnuplot pipe drawing into @path (terminal from its extension), for
 * scenarios that draw pictures of their own; close checks gnuplot's exit.
 */
FILE *sweep_plot_open(const char *path, int width, int height);
void sweep_plot_close(FILE *g, const char *path);
/* "svg" or "png" from @path's extension, NULL for anything else. */
const char *sweep_plot_terminal(const char *path);

#endif /* TDPMMU_CLI_SWEEP_H */
