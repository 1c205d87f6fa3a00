/*
 * sweep.c - the driver every benchmark scenario runs under: the optional
 * latency round, then --repeat interleaved rounds over strategies x vCPU
 * counts, the best round and the median of each row, then the report
 * (sweep_report.c), JSON (sweep_json.c) and plot (sweep_plot.c).
 *
 * A failure of a kvm row (fatal() inside run_kvm: no hugetlb pages
 * reserved, a limit of KVM's) drops the kvm rows with one line and the
 * rest runs; any other failure prints the rows measured so far before the
 * error, so that no finished measurement is thrown away.
 *
 * Main thread only; each run is a whole VM's life inside the scenario's
 * run function, so nothing is shared between runs but this bookkeeping.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bench_common.h"
#include "common/errors.h"
#include "common/util.h"
#include "sweep/sweep.h"
#include "sweep/sweep_kvm.h"

void sweep_lock_since(struct tdpmmu_lock_stats *now, const struct tdpmmu_lock_stats *then)
{
#define SINCE(f) now->f = now->f > then->f ? now->f - then->f : 0
	SINCE(reads);
	SINCE(writes);
	SINCE(vcpu_reads);
	SINCE(vcpu_writes);
	SINCE(read_wait_ns);
	SINCE(write_wait_ns);
	SINCE(read_hold_ns);
	SINCE(write_hold_ns);
	SINCE(vcpu_read_wait_ns);
	SINCE(vcpu_write_wait_ns);
#undef SINCE
}

const char *sweep_strategy_name(int s)
{
	return s == SWEEP_KVM ? "kvm" : tdpmmu_strategy_name((enum tdpmmu_strategy)s);
}

const struct sweep_row *sweep_find(const struct sweep_report *rep, int s, unsigned vcpus)
{
	for (int i = 0; i < rep->nr_rows; i++)
		if (rep->rows[i].strategy == s && rep->rows[i].vcpus == vcpus)
			return &rep->rows[i];
	return NULL;
}

double sweep_ratio(const struct sweep_report *rep, const struct sweep_row *row, int s)
{
	const struct sweep_row *base = sweep_find(rep, s, row->vcpus);

	if (!base || !(base->best->metric > 0))
		return NAN;
	return row->best->metric / base->best->metric;
}

static struct sweep_run *new_run(void)
{
	struct sweep_run *r = calloc(1, sizeof(*r));

	if (!r)
		fatal("out of memory");
	return r;
}

static void free_run(struct sweep_run *r)
{
	if (r) {
		free(r->extra);
		free(r);
	}
}

/* Whether run @a beats run @b on the scenario's metric. */
static bool better(const struct sweep_scenario *sc, const struct sweep_run *a,
		   const struct sweep_run *b)
{
	if (isnan(b->metric))
		return !isnan(a->metric);
	return sc->lower_is_better ? a->metric < b->metric : a->metric > b->metric;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void show_progress(const struct sweep_report *rep, const char *round,
			  const struct sweep_opts *o, uint64_t t0)
{
	progress_show("%s %s: %s, %u vCPU%s ... (%.0f s so far)", rep->name, round,
		      o->kvm ? "kvm" : tdpmmu_strategy_name(o->strategy), o->vcpus,
		      o->vcpus == 1 ? "" : "s", (double)(now_ns() - t0) / 1e9);
}

static void make_rows(struct sweep_report *rep, const struct sweep_opts *o)
{
	int n = 0;

	rep->rows =
		calloc((size_t)sweep_nr_strategies(o) * (size_t)o->nr_counts, sizeof(*rep->rows));
	if (!rep->rows)
		fatal("out of memory");
	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++) {
		if (!o->strategies[s])
			continue;
		for (int i = 0; i < o->nr_counts; i++) {
			struct sweep_row *row = &rep->rows[n++];

			row->strategy = s;
			row->vcpus = o->counts[i];
			row->metrics = calloc(o->repeat, sizeof(double));
			if (!row->metrics)
				fatal("out of memory");
		}
	}
	rep->nr_rows = n;
}

/* The report being measured, for the hooks below. */
static struct sweep_report *running;
static jmp_buf kvm_failed;
static bool in_kvm_row;

static void on_fatal(const char *msg);

/*
 * fatal() in a kvm row: back to run_row, which drops the kvm rows.  The
 * run's VM may be left behind (its memory and threads until exit): the
 * scenario gave up on it.
 */
static void on_kvm_fatal(const char *msg)
{
	/* Without other rows there is nothing to go on with: fatal() as it was. */
	if (!in_kvm_row || sweep_nr_strategies(running->opts) == 1) {
		in_kvm_row = false;
		on_fatal(msg);
		return;
	}
	in_kvm_row = false;
	snprintf(running->kvm_skipped, sizeof(running->kvm_skipped), "%s", msg);
	longjmp(kvm_failed, 1);
}

/* After on_kvm_fatal: one line, and the sweep goes on without kvm rows. */
static void drop_kvm_rows(struct sweep_report *rep, struct sweep_opts *o)
{
	int n = 0;

	progress_clear();
	printf("%s%s: the kvm rows are skipped, the rest runs\n",
	       strncmp(rep->kvm_skipped, "kvm", 3) ? "kvm: " : "", rep->kvm_skipped);
	fflush(stdout);
	o->strategies[SWEEP_KVM] = false;
	/* Strategy-major with kvm last: the rows before them keep their places. */
	for (int i = 0; i < rep->nr_rows; i++) {
		struct sweep_row *row = &rep->rows[i];

		if (row->strategy == SWEEP_KVM) {
			free_run(row->best);
			free(row->metrics);
			continue;
		}
		rep->rows[n++] = *row;
	}
	rep->nr_rows = n;
	fatal_hook_set(on_fatal);
}

static void run_row(struct sweep_report *rep, void *opts, struct sweep_row *row, bool lat_round,
		    const char *label, uint64_t t0)
{
	const struct sweep_scenario *sc = rep->sc;
	struct sweep_opts *o = opts;
	struct sweep_run *run = new_run();

	o->kvm = row->strategy == SWEEP_KVM;
	o->strategy = o->kvm ? TDPMMU_STRATEGY_RCU : (enum tdpmmu_strategy)row->strategy;
	o->vcpus = row->vcpus;
	show_progress(rep, label, o, t0);
	if (o->kvm) {
		if (setjmp(kvm_failed)) {
			free_run(run);
			drop_kvm_rows(rep, opts);
			return;
		}
		in_kvm_row = true;
		fatal_hook_set(on_kvm_fatal);
		sc->run_kvm(opts, run);
		in_kvm_row = false;
		fatal_hook_set(on_fatal);
	} else {
		sc->run(opts, lat_round, run);
	}
	if (lat_round) {
		row->latency = run;
		return;
	}
	row->metrics[row->nr_metrics++] = run->metric;
	if (!row->best || better(sc, run, row->best)) {
		free_run(row->best);
		row->best = run;
	} else {
		free_run(run);
	}
}

/* fatal() in the middle of the sweep: first the rows with a round measured. */
static void on_fatal(const char *msg)
{
	struct sweep_report part = *running;
	int n = 0;

	part.rows = calloc((size_t)running->nr_rows, sizeof(*part.rows));
	if (!part.rows)
		return;
	for (int i = 0; i < running->nr_rows; i++) {
		struct sweep_row row = running->rows[i];

		if (!row.best || !row.nr_metrics)
			continue;
		qsort(row.metrics, row.nr_metrics, sizeof(double), cmp_double);
		row.median = row.metrics[part.sc->lower_is_better ? row.nr_metrics / 2
								  : (row.nr_metrics - 1) / 2];
		if (!row.latency)
			row.latency = row.best;
		part.rows[n++] = row;
	}
	part.nr_rows = n;
	part.elapsed_ns = now_ns() - running->t0_ns;
	progress_clear();
	if (n) {
		printf("\nthe run failed (%s); the rows measured before it:\n", msg);
		sweep_print_tables(&part, stdout, false);
		fflush(stdout);
	}
	free(part.rows);
}

static void run_all(struct sweep_report *rep, void *opts)
{
	const struct sweep_opts *o = opts;
	uint64_t t0 = now_ns();
	char label[64];

	rep->t0_ns = t0;
	/* The kernel's faults cannot be timed from here: kvm rows have no latency round. */
	if (rep->sc->latency_round)
		for (int i = 0; i < rep->nr_rows; i++)
			if (rep->rows[i].strategy != SWEEP_KVM)
				run_row(rep, opts, &rep->rows[i], true, "latency round", t0);
	/* Strategies inside counts inside rounds: neighbouring rows share slow spells. */
	for (unsigned r = 0; r < o->repeat; r++) {
		snprintf(label, sizeof(label), "round %u/%u", r + 1, o->repeat);
		for (int i = 0; i < o->nr_counts; i++)
			for (int k = 0; k < rep->nr_rows; k++)
				if (rep->rows[k].vcpus == o->counts[i])
					run_row(rep, opts, &rep->rows[k], false, label, t0);
	}
	progress_clear();
	rep->elapsed_ns = now_ns() - t0;
	for (int i = 0; i < rep->nr_rows; i++) {
		struct sweep_row *row = &rep->rows[i];

		qsort(row->metrics, row->nr_metrics, sizeof(double), cmp_double);
		/* Of an even count, the worse middle either way (the best is beside it). */
		row->median = row->metrics[rep->sc->lower_is_better ? row->nr_metrics / 2
								    : (row->nr_metrics - 1) / 2];
		if (!row->latency)
			row->latency = row->best;
	}
}

static struct sweep_report *keep_next;

void sweep_keep(struct sweep_report *r)
{
	keep_next = r;
}

void sweep_report_free(struct sweep_report *rep)
{
	for (int i = 0; i < rep->nr_rows; i++) {
		struct sweep_row *row = &rep->rows[i];

		if (row->latency != row->best)
			free_run(row->latency);
		free_run(row->best);
		free(row->metrics);
	}
	free(rep->rows);
	rep->rows = NULL;
	rep->nr_rows = 0;
}

/* "populate and dirty-log": the scenarios of the table that have kvm rows. */
static void kvm_scenarios(char *buf, size_t len)
{
	size_t n = 0, k = 0, used = 0;

	for (size_t i = 0; i < nr_scenarios; i++)
		n += scenarios[i].sweep->run_kvm != NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < nr_scenarios && used < len; i++) {
		if (!scenarios[i].sweep->run_kvm)
			continue;
		k++;
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 k == 1   ? ""
					 : k == n ? " and "
						  : ", ",
					 scenarios[i].name);
	}
}

/*
 * Before anything runs: the scenario's check of each kvm row (KVM's and
 * our VMM's limits) at every vCPU count.  A limit is a usage error; a
 * missing host resource (-ENOMEM) skips the kvm rows with one line, as a
 * /dev/kvm that cannot run a VM does (printed under the header).
 */
static void check_kvm_rows(struct sweep_report *rep, void *opts)
{
	struct sweep_opts *o = opts;
	unsigned vcpus = o->vcpus;
	char why[200];

	if (!o->strategies[SWEEP_KVM] || !rep->sc->check_kvm)
		return;
	for (int i = 0; i < o->nr_counts; i++) {
		int r;

		o->vcpus = o->counts[i];
		o->kvm = true;
		r = rep->sc->check_kvm(opts, why, sizeof(why));
		o->kvm = false;
		if (r == -ENOMEM) {
			o->strategies[SWEEP_KVM] = false;
			if (!sweep_nr_strategies(o))
				fatal("kvm: %s: no kvm rows, and no other strategy to run", why);
			snprintf(rep->kvm_skipped, sizeof(rep->kvm_skipped), "%s", why);
			break;
		}
		if (r)
			usage_error("--strategy kvm at %u vCPU%s: %s", o->counts[i],
				    o->counts[i] == 1 ? "" : "s", why);
	}
	o->vcpus = vcpus;
}

int sweep_main(const struct scenario *scenario, void *opts, const char *command)
{
	const struct sweep_scenario *sc = scenario->sweep;
	const struct sweep_opts *o = opts;
	struct sweep_report rep = {
		.name = scenario->name, .sc = sc, .opts = o, .command = command
	};
	struct sweep_report *keep = keep_next;
	FILE *json = NULL;

	keep_next = NULL;
	rep.started = time(NULL);
	sweep_opts_check(o);
	if (o->strategies[SWEEP_KVM] && !sc->run_kvm) {
		char kvm[128];

		kvm_scenarios(kvm, sizeof(kvm));
		usage_error("--strategy kvm: bench %s runs the simulated strategies only "
			    "(%s also run on kvm)",
			    scenario->name, kvm);
	}
	check_kvm_rows(&rep, opts);
	if (cli_parse_only()) {
		/* Every check is behind us; /dev/kvm's is the last. */
		sweep_kvm_prepare(&rep, opts);
		if (!keep)
			printf("parse only: %s: valid; nothing was run\n", command);
		return 0;
	}
	/* Before the long part; the paths were checked above. */
	if (!keep)
		json = bench_json_open(o->json_path);
	progress_init();
	machine_info_read(&rep.machine);
	if (!keep)
		sweep_print_header(&rep, stdout);
	if (rep.kvm_skipped[0])
		printf("kvm: %s: the kvm rows are skipped\n\n", rep.kvm_skipped);
	sweep_kvm_prepare(&rep, opts);
	make_rows(&rep, o);
	if (!keep) {
		sweep_kvm_print_host(&rep, stdout);
		sc->print_settings(opts, stdout);
	}
	fflush(stdout);
	running = &rep;
	fatal_hook_set(on_fatal);
	run_all(&rep, opts);
	fatal_hook_set(NULL);
	running = NULL;
	sweep_print_tables(&rep, stdout, keep);
	sweep_kvm_print_rows(&rep, stdout);
	if (keep) {
		rep.opts = NULL;
		rep.command = NULL;
		*keep = rep;
		return 0;
	}
	if (sc->print_extra)
		sc->print_extra(opts, &rep, stdout);
	if (json) {
		sweep_write_json(&rep, opts, json);
		bench_json_close(json, o->json_path);
	}
	if (o->plot_path) {
		sweep_plot(&rep, o->plot_path);
		printf("plot written to %s\n", o->plot_path);
	}
	sweep_report_free(&rep);
	return 0;
}
