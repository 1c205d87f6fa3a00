/*
 * report.c - `tdpmmu bench access-tracking` as a scenario of the sweep
 * driver (sweep.c): its settings lines, its part of the report after the
 * driver's tables (marking and pages still idle, per row), its JSON
 * (config and per-result fields), its sweep description and access_main().
 * The flags are opts.c's, the runs run.c's and (kvm rows) kvm.c's.  Main
 * thread only.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "access/access.h"

static void print_settings(const void *opts, FILE *f)
{
	const struct access_opts *o = opts;
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	fprintf(f,
		"access-tracking: %s per vCPU (%llu pages each), %s; -s %s; %s\n"
		"                 mark idle with %s, over each vCPU's range in turn\n",
		size, (unsigned long long)bench_pages_per_vcpu(&o->b),
		o->overlap ? "all vCPUs share one region (-o)" : "each vCPU its own region",
		backing_kvm_name(o->b.backing),
		o->b.sw.payload ? "real host memory (--payload)" : "no payload",
		o->flush ? "clear_flush_young (--flush: TLBs flushed)"
			 : "clear_young (no TLB flush, like page_idle)");
}

static void print_extra(const void *opts, const struct sweep_report *rep, FILE *f)
{
	fputs("\nmarking idle and pages still idle (best round):\n", f);
	fprintf(f, "%-14s %5s %12s %10s %10s %10s %11s %11s %8s\n", "strategy", "vCPUs",
		"mark idle s", "pages", "young 1", "young 2", "idle after", "idle after", "warned");
	fprintf(f, "%-14s %5s %12s %10s %10s %10s %11s %11s %8s\n", "", "", "(both)", "", "", "",
		"writing", "reading", "w/r");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct access_extra *x = row->best->extra;
		char warned[24];

		snprintf(warned, sizeof(warned), "%u/%u", x->warned[0], x->warned[1]);
		fprintf(f,
			"%-14s %5u %12.6f %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %11" PRIu64
			" %11" PRIu64 " %8s\n",
			sweep_strategy_name(row->strategy), row->vcpus,
			(double)(x->mark_ns[0] + x->mark_ns[1]) / 1e9, x->pages,
			x->young_cleared[0], x->young_cleared[1], x->still_idle[0],
			x->still_idle[1], warned);
	}
	fputs("young 1, 2: leaves each Mark memory idle found young (kvm: pages marked\n"
	      "through page_idle); idle after: pages that test_young (kvm: the page_idle\n"
	      "bitmap) still finds idle after the pass (reached through a TLB entry, which\n"
	      "sets no Accessed bit); warned w/r: vCPUs with 10% or more of their pages still\n"
	      "idle after writing / after reading\n",
	      f);
}

static void json_config(const void *opts, FILE *f)
{
	const struct access_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"overlap\": %s, \"flush\": %s}", o->overlap ? "true" : "false",
		o->flush ? "true" : "false");
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct access_extra *x = run->extra;

	fprintf(f,
		"      \"pages\": %" PRIu64 ", \"mark_idle_seconds\": [%.9f, %.9f], "
		"\"young_cleared\": [%" PRIu64 ", %" PRIu64 "],\n"
		"      \"still_idle_after_write\": %" PRIu64 ", \"still_idle_after_read\": %" PRIu64
		", \"idle_warnings\": %u,\n"
		"      \"vcpu\": {\"accesses\": %" PRIu64 ", \"tlb_hits\": %" PRIu64
		", \"tlb_misses\": %" PRIu64 ", \"ept_violations\": %" PRIu64 "}",
		x->pages, (double)x->mark_ns[0] / 1e9, (double)x->mark_ns[1] / 1e9,
		x->young_cleared[0], x->young_cleared[1], x->still_idle[0], x->still_idle[1],
		x->warned[0] + x->warned[1], x->vcpu.accesses, x->vcpu.tlb_hits, x->vcpu.tlb_misses,
		x->vcpu.ept_violations);
}

const struct sweep_scenario access_sweep = {
	.title = "access-tracking benchmark (KVM's access_tracking_perf_test)",
	.metric_name = "Mpages/s",
	.metric_json = "pages_aged_per_sec",
	.metric_what = "pages marked idle per second (clear_young over every vCPU's range, "
		       "both marks)",
	.metric_scale = 1e6,
	/* The marks are the metric, not a column. */
	.cols = { "populate s", "write s", "read s", "write idle s", "read idle s" },
	.col_decimals = { 6, 6, 6, 6, 6 },
	.latency_round = false,
	.run = access_run,
	.run_kvm = access_kvm_run,
	.check_kvm = access_kvm_check,
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

int access_main(const struct scenario *sc, int argc, char **argv)
{
	struct access_opts o;
	char command[1024];

	access_opts_parse(&o, argc, argv);
	access_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
