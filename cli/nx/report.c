/*
 * report.c - `tdpmmu bench nx-recovery` as a scenario of the sweep driver
 * (sweep.c): its settings lines, the target line after the tables, its
 * JSON (config and both halves of each run), its sweep description and
 * nx_main().  The flags are opts.c's, the runs run.c's.  Main thread only.
 */
#include <inttypes.h>
#include <math.h>

#include "nx/nx.h"

static void print_settings(const void *opts, FILE *f)
{
	const struct nx_opts *o = opts;
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	fprintf(f,
		"nx-recovery: %s per vCPU (%" PRIu64 " pages); -s %s; NX huge pages on; %s\n"
		"    each vCPU: fetch from every page, read every page, again; every fault "
		"timed\n"
		"    each run: baseline (no recovery thread), then recovery (every %u ms zap "
		"1/%u of\n    the listed tables), a fresh VM of %g s each, audited at the end\n",
		size, bench_pages_per_vcpu(&o->b), backing_kvm_name(o->b.backing),
		o->b.sw.payload ? "real host memory (--payload)" : "no payload", o->period_ms,
		o->ratio, o->seconds);
}

/* The target, where both rcu and wrlock ran: wrlock's max over rcu's. */
static void print_extra(const void *opts, const struct sweep_report *rep, FILE *f)
{
	const struct nx_opts *o = opts;
	bool header = false;

	for (int i = 0; i < o->b.sw.nr_counts; i++) {
		unsigned v = o->b.sw.counts[i];
		const struct sweep_row *rcu = sweep_find(rep, TDPMMU_STRATEGY_RCU, v);
		const struct sweep_row *wr = sweep_find(rep, TDPMMU_STRATEGY_WRLOCK, v);
		double r;

		if (!rcu || !wr)
			continue;
		if (!header)
			fprintf(f,
				"\ntarget: rcu's max fault latency with recovery >= 50x lower than "
				"wrlock's under --preempt voluntary (this run: %s)\n",
				tdpmmu_preempt_name(o->b.sw.preempt));
		header = true;
		r = sweep_ratio(rep, wr, TDPMMU_STRATEGY_RCU);
		fprintf(f, "  %u vCPU%s: wrlock / rcu max %.2fx (%s), p99.9 %.2fx, p99 %.2fx\n", v,
			v == 1 ? "" : "s", r, r >= 50 ? "met" : "not met",
			nx_ratio(wr->latency->latency.p999_ns, rcu->latency->latency.p999_ns),
			nx_ratio(wr->latency->latency.p99_ns, rcu->latency->latency.p99_ns));
	}
}

static void json_config(const void *opts, FILE *f)
{
	const struct nx_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"period_ms\": %u, \"ratio\": %u, \"seconds\": %g}", o->period_ms, o->ratio,
		o->seconds);
}

static void json_row(FILE *f, const char *name, const struct nx_row *r)
{
	double c = nx_cycles_per_ns(r);

	fprintf(f, "      \"%s\": {\"period_ms\": %u, \"seconds\": ", name, r->period_ms);
	json_number(f, (double)r->ns / 1e9, 9);
	fprintf(f,
		", \"faults\": %" PRIu64 ", \"accesses\": %" PRIu64 ", \"loops\": %" PRIu64
		", \"nx_listed_end\": %" PRIu64 ", \"nx_tables_recovered\": %" PRId64 ",\n"
		"        \"fault_latency_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64
		", \"p999\": %" PRIu64 ", \"max\": %" PRIu64 ", \"count\": %" PRIu64
		"}, \"max_latency_cycles\": ",
		r->faults, r->accesses, r->loops, r->listed_end, r->counters[TDPMMU_C_NX_RECOVERED],
		r->lat.p50_ns, r->lat.p99_ns, r->lat.p999_ns, r->lat.max_ns, r->lat.count);
	json_number(f, c > 0 ? (double)r->lat.max_ns * c : NAN, 0);
	fputc('}', f);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct nx_extra *x = run->extra;

	json_row(f, "baseline", &x->base);
	fputs(",\n", f);
	json_row(f, "recovery", &x->rec);
	fputs(",\n      \"recovery_over_baseline\": {\"p50\": ", f);
	json_number(f, nx_ratio(x->rec.lat.p50_ns, x->base.lat.p50_ns), 3);
	fputs(", \"p99\": ", f);
	json_number(f, nx_ratio(x->rec.lat.p99_ns, x->base.lat.p99_ns), 3);
	fputs(", \"p999\": ", f);
	json_number(f, nx_ratio(x->rec.lat.p999_ns, x->base.lat.p999_ns), 3);
	fputs(", \"max\": ", f);
	json_number(f, nx_ratio(x->rec.lat.max_ns, x->base.lat.max_ns), 3);
	fputc('}', f);
}

const struct sweep_scenario nx_sweep = {
	.title = "NX huge-page recovery benchmark (after KVM's nx_huge_pages_perf_test)",
	.metric_name = "rec max us",
	.metric_json = "recovery_max_fault_latency_us",
	.metric_what = "the largest fault latency while NX recovery ran, in us (the "
		       "selftest's Max fault latency)",
	.metric_scale = 1,
	.lower_is_better = true,
	.cols = { "rec p99 us", "rec p99.9 us", "base max us", "rec/base p99", "recovered" },
	.col_decimals = { 3, 3, 3, 2, 0 },
	.run = nx_run,
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

int nx_main(const struct scenario *sc, int argc, char **argv)
{
	struct nx_opts o;
	char command[700];

	nx_opts_parse(&o, argc, argv);
	nx_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
