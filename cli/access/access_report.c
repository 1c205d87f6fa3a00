/*
 * access_report.c - `tdpmmu bench access-tracking` as a scenario of the
 * sweep driver (sweep.c): its flags (KVM's -v, -b, -s, -o, our --flush and
 * the sweep's common ones), settings lines, its part of the report after
 * the driver's tables (marking and pages still idle, per row), its JSON
 * (config and per-result fields) and bench_access_main().  The runs
 * themselves are bench_access.c's.  Main thread only.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "access/access.h"

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct access_opts *)ctx)->overlap = true;
}

static void set_flush(void *ctx, const char *opt, const char *arg)
{
	((struct access_opts *)ctx)->flush = true;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_access_help(stdout);
	exit(0);
}

static const struct cli_option access_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'o', NULL, false, set_overlap },
	{ 0, "flush", false, set_flush },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

static void print_settings(const void *opts, FILE *f)
{
	const struct access_opts *o = opts;
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	fprintf(f, "access-tracking: %s per vCPU (%llu pages each), %s; -s %s; %s\n"
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
		"mark idle s", "pages", "young 1", "young 2", "idle after", "idle after",
		"warned");
	fprintf(f, "%-14s %5s %12s %10s %10s %10s %11s %11s %8s\n", "", "", "(both)", "", "", "",
		"writing", "reading", "w/r");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct access_extra *x = row->best->extra;
		char warned[24];

		snprintf(warned, sizeof(warned), "%u/%u", x->warned[0], x->warned[1]);
		fprintf(f, "%-14s %5u %12.6f %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %11" PRIu64
			   " %11" PRIu64 " %8s\n",
			sweep_strategy_name(row->strategy), row->vcpus,
			(double)(x->mark_ns[0] + x->mark_ns[1]) / 1e9, x->pages,
			x->young_cleared[0], x->young_cleared[1], x->still_idle[0],
			x->still_idle[1], warned);
	}
	fputs("young 1, 2: leaves each Mark memory idle found young; idle after: pages that\n"
	      "test_young still finds idle after the pass (reached through a TLB entry, which\n"
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

	fprintf(f, "      \"pages\": %" PRIu64 ", \"mark_idle_seconds\": [%.9f, %.9f], "
		   "\"young_cleared\": [%" PRIu64 ", %" PRIu64 "],\n"
		   "      \"still_idle_after_write\": %" PRIu64
		   ", \"still_idle_after_read\": %" PRIu64 ", \"idle_warnings\": %u,\n"
		   "      \"vcpu\": {\"accesses\": %" PRIu64 ", \"tlb_hits\": %" PRIu64
		   ", \"tlb_misses\": %" PRIu64 ", \"ept_violations\": %" PRIu64 "}",
		x->pages, (double)x->mark_ns[0] / 1e9, (double)x->mark_ns[1] / 1e9,
		x->young_cleared[0], x->young_cleared[1], x->still_idle[0], x->still_idle[1],
		x->warned[0] + x->warned[1], x->vcpu.accesses, x->vcpu.tlb_hits, x->vcpu.tlb_misses,
		x->vcpu.ept_violations);
}

static const struct sweep_scenario access_scenario = {
	.name = "access-tracking",
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
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

int bench_access_main(int argc, char **argv)
{
	struct access_opts o = { 0 };
	char command[1024], common[512], size[32];

	bench_opts_init(&o.b, TDPMMU_BACKING_ANON);
	parse_options(access_options, argc, argv, &o, "bench access-tracking");
	/* At the largest -v count; also --plot's check. */
	bench_check_layout(&o.b, o.overlap, 1, "-b");
	format_size(o.b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o.b.sw, common, sizeof(common));
	snprintf(command, sizeof(command), "tdpmmu bench access-tracking%s -b %s -s %s%s%s",
		 common, size, backing_kvm_name(o.b.backing), o.overlap ? " -o" : "",
		 o.flush ? " --flush" : "");
	return sweep_main(&access_scenario, &o, command);
}
