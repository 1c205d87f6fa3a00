/*
 * sweep.c - the driver every benchmark scenario runs under: the optional
 * latency round, then --repeat interleaved rounds over strategies x vCPU
 * counts, the best round and the median of each row, then the report
 * (sweep_report.c), JSON (sweep_json.c) and plot (sweep_plot.c).
 *
 * Main thread only; each run is a whole VM's life inside the scenario's
 * run function, so nothing is shared between runs but this bookkeeping.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_common.h"
#include "common/util.h"
#include "sweep/sweep.h"

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
	if (o->kvm)
		sc->run_kvm(opts, run);
	else
		sc->run(opts, lat_round, run);
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

static void run_all(struct sweep_report *rep, void *opts)
{
	const struct sweep_opts *o = opts;
	uint64_t t0 = now_ns();
	char label[64];

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
	sweep_opts_check(o);
	if (o->strategies[SWEEP_KVM] && !sc->run_kvm) {
		char kvm[128];

		kvm_scenarios(kvm, sizeof(kvm));
		usage_error("--strategy kvm: bench %s runs the simulated strategies only "
			    "(%s also run on kvm)",
			    scenario->name, kvm);
	}
	/* Before the long part, so that a bad path fails at once. */
	if (!keep)
		json = bench_json_open(o->json_path);
	progress_init();
	machine_info_read(&rep.machine);
	if (!keep)
		sweep_print_header(&rep, stdout);
	sweep_kvm_prepare(&rep, opts);
	make_rows(&rep, o);
	if (!keep) {
		sweep_kvm_print_host(&rep, stdout);
		sc->print_settings(opts, stdout);
	}
	fflush(stdout);
	run_all(&rep, opts);
	sweep_print_tables(&rep, stdout, keep);
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
