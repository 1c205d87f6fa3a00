/*
 * sweep_report.c - the text report of a sweep: the header (command line
 * and machine), then two side-by-side tables with one row per strategy
 * and vCPU count: the scenario's phases and metric with ratios against
 * rcu and global, then fault latency, MMU lock and reclamation.  Main
 * thread only.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "common/host_preempt.h"
#include "sweep/sweep.h"

void sweep_print_header(const struct sweep_report *rep, FILE *f)
{
	char host[160];

	fprintf(f, "tdpmmu %s: %s\ncommand: %s\n\n", TDPMMU_VERSION, rep->sc->title, rep->command);
	machine_info_print(&rep->machine, rep->opts->levels, f);
	host_preempt_model(host, sizeof(host));
	/* --preempt is ours only: the kvm rows run under the host's own model. */
	fprintf(f, "preempt: %s (the simulated rows' MMU lock); this host's kernel: %s%s\n",
		tdpmmu_preempt_name(rep->opts->preempt), host, rep->kvm_rows ? " (kvm rows)" : "");
	fprintf(f, "pages: %s (how the simulated rows' MMU tracks its page-table pages)\n",
		tdpmmu_pages_name(rep->opts->pages));
	fputc('\n', f);
}

static void print_ratio(FILE *f, double r, int width)
{
	if (isnan(r))
		fprintf(f, " %*s", width, "-");
	else
		fprintf(f, " %*.2fx", width - 1, r);
}

static void print_metric(FILE *f, double v, double scale, int width)
{
	if (isnan(v))
		fprintf(f, " %*s", width, "-");
	else
		fprintf(f, " %*.3f", width, v / scale);
}

static int col_width(const char *name)
{
	int w = (int)strlen(name);

	return w < 10 ? 10 : w;
}

static void print_main_table(const struct sweep_report *rep, FILE *f)
{
	const struct sweep_scenario *sc = rep->sc;
	int mw = col_width(sc->metric_name);

	fprintf(f, "%-14s %5s", "strategy", "vCPUs");
	for (int c = 0; c < SWEEP_MAX_COLS && sc->cols[c]; c++)
		fprintf(f, " %*s", col_width(sc->cols[c]), sc->cols[c]);
	fprintf(f, " %*s %*s %8s %8s\n", mw, sc->metric_name, mw, "median", "x rcu", "x global");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];

		fprintf(f, "%-14s %5u", sweep_strategy_name(row->strategy), row->vcpus);
		for (int c = 0; c < SWEEP_MAX_COLS && sc->cols[c]; c++)
			fprintf(f, " %*.*f", col_width(sc->cols[c]), sc->col_decimals[c],
				row->best->col[c]);
		print_metric(f, row->best->metric, sc->metric_scale, mw);
		print_metric(f, row->median, sc->metric_scale, mw);
		print_ratio(f, sweep_ratio(rep, row, TDPMMU_STRATEGY_RCU), 8);
		print_ratio(f, sweep_ratio(rep, row, TDPMMU_STRATEGY_GLOBAL), 8);
		fputc('\n', f);
	}
}

static void print_detail_table(const struct sweep_report *rep, FILE *f)
{
	fprintf(f, "%-14s %5s %10s %8s %8s %9s %10s %12s %10s %9s %10s\n", "strategy", "vCPUs",
		"faults", "p50 ns", "p99 ns", "p99.9 ns", "max ns", "vCPU wait ms", "write locks",
		"retired", "peak KiB");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct tdpmmu_latency *lat = &row->latency->latency;
		const struct tdpmmu_lock_stats *l = &row->best->lock;
		const struct tdpmmu_reclaim_stats *rc = &row->best->reclaim;

		fprintf(f, "%-14s %5u", sweep_strategy_name(row->strategy), row->vcpus);
		if (row->latency->has_latency)
			fprintf(f,
				" %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %10" PRIu64,
				lat->count, lat->p50_ns, lat->p99_ns, lat->p999_ns, lat->max_ns);
		else
			fprintf(f, " %10s %8s %8s %9s %10s", "-", "-", "-", "-", "-");
		if (row->strategy == SWEEP_KVM) { /* the kernel's lock: not ours to see */
			fprintf(f, " %12s %10s %9s %10s\n", "-", "-", "-", "-");
			continue;
		}
		fprintf(f, " %12.3f %10" PRIu64 " %9" PRIu64 " %10" PRIu64 "\n",
			(double)(l->vcpu_read_wait_ns + l->vcpu_write_wait_ns) / 1e6, l->writes,
			rc->retired, rc->peak_outstanding_bytes >> 10);
	}
}

void sweep_print_tables(const struct sweep_report *rep, FILE *f, bool brief)
{
	const struct sweep_scenario *sc = rep->sc;
	unsigned n = rep->opts->repeat;

	fprintf(f, "\n%s: best of %u round%s per row (median beside it), %.1f s in all\n",
		rep->name, n, n == 1 ? "" : "s", (double)rep->elapsed_ns / 1e9);
	print_main_table(rep, f);
	fprintf(f, "%s: %s\n", sc->metric_name, sc->metric_what);
	fprintf(f,
		"x rcu, x global: the row's %s over rcu's and global's at the same vCPU "
		"count (%s is better)\n",
		sc->metric_name, sc->lower_is_better ? "lower" : "higher");
	if (brief)
		return;
	fprintf(f, "\nfault latency (%s), MMU lock and reclamation (best round):\n",
		sc->latency_round ? "latency round: every fault timed" : "every fault timed");
	print_detail_table(rep, f);
	fputs("vCPU wait: time vCPU threads waited for the MMU lock; write locks: write "
	      "acquisitions;\nretired: page tables disconnected; peak KiB: most retired "
	      "memory waiting to be freed\n",
	      f);
}
