/*
 * report.c - `tdpmmu bench huge-over-table` and `tdpmmu bench
 * stalled-reader`, the two scenarios that separate the reclamation
 * strategies, as sweeps (sweep.c): strategies x vCPU counts x rounds,
 * each run a fresh VM under the load of run.c.
 *
 *   huge-over-table  the seed thread's case: huge vCPUs replace 4K tables
 *                    by huge pages while small vCPUs fault fresh 4K pages.
 *                    Metric: faults/s of all vCPUs.
 *   stalled-reader   the same load, and one walker stalled for --stall-ms
 *                    a quarter in.  Metric: faults/s of all vCPUs during
 *                    the stall; the retired memory is sampled every
 *                    millisecond, and --plot draws it (series.c).
 *
 * Here: the scenarios' callbacks, their report and JSON, their sweep
 * descriptions and the entry point both share; the flags are opts.c's.
 * Main thread only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "huge_over_table/huge_over_table.h"

static double per_sec(uint64_t n, double secs)
{
	return secs > 0 ? (double)n / secs : NAN;
}

static void single_run_lines(const struct reclaim_opts *o, const struct reclaim_result *r,
			     const struct sweep_run *out)
{
	printf("%s: %" PRIu64 " faults in %.3f s (%" PRIu64 " small, %" PRIu64 " huge), %" PRIu64
	       " huge pages over tables\n",
	       o->stall ? "stalled-reader" : "huge-over-table", r->small_faults + r->huge_faults,
	       r->seconds, r->small_faults, r->huge_faults, r->replaced);
	if (o->stall)
		printf("stall: %.1f ms from %.1f ms, %" PRIu64 " faults (%.0f/s), "
		       "peak retired %.2f MiB\n",
		       (double)(r->stall_end_ns - r->stall_start_ns) / 1e6,
		       (double)r->stall_start_ns / 1e6, r->stall_faults, out->metric,
		       (double)r->stall_peak_bytes / (1 << 20));
}

static void reclaim_sweep_run(void *opts, bool lat_round, struct sweep_run *out)
{
	const struct reclaim_opts *o = opts;
	struct reclaim_result *r = malloc(sizeof(*r));
	uint64_t total, stall_ns;
	double stall_s, outside_s, outside;

	if (!r)
		fatal("out of memory");
	reclaim_run(o, out, r);
	out->extra = r;
	total = r->small_faults + r->huge_faults;
	if (!o->stall) {
		out->metric = per_sec(total, r->seconds);
		out->col[0] = per_sec(r->replaced, r->seconds);
		out->col[1] = per_sec(r->small_faults, r->seconds) / 1e6;
		out->col[2] = per_sec(r->huge_faults, r->seconds) / 1e6;
		out->col[3] = (double)out->reclaim.write_retries;
		out->col[4] = (double)(out->reclaim.drains + out->reclaim.rcu_callbacks);
	} else {
		stall_ns = r->stall_end_ns - r->stall_start_ns;
		stall_s = (double)stall_ns / 1e9;
		outside_s = r->seconds - stall_s;
		outside = per_sec(total - r->stall_faults, outside_s);
		out->metric = per_sec(r->stall_faults, stall_s);
		out->col[0] = stall_s * 1e3;
		out->col[1] = outside / 1e6;
		out->col[2] = outside > 0 ? out->metric / outside : NAN;
		out->col[3] = (double)r->stall_peak_bytes / (1 << 20);
		out->col[4] = per_sec(r->replaced, r->seconds);
	}
	if (sweep_single_run(&o->b.sw))
		single_run_lines(o, r, out);
}

static void print_settings(const void *opts, FILE *f)
{
	const struct reclaim_opts *o = opts;

	fprintf(f,
		"%s: half the vCPUs (rounded up) huge: over 64 blocks of 2 MiB (THP), a "
		"4K fault puts\n    a table under the block, an uncapped one maps a huge page "
		"over it; the\n    others small: fresh 4K pages; every fault timed; %g s per "
		"run%s\n",
		o->stall ? "stalled-reader" : "huge-over-table", o->seconds,
		o->b.sw.payload ? "; real host memory reserved (--payload)" : "");
	if (o->stall)
		fprintf(f,
			"    a quarter in, one walker holds its protection for %" PRIu64
			" ms (tdpmmu_hold_walk);\n    retired memory sampled every ms\n",
			o->stall_ns / 1000000);
	fputs("    every run audited at the end\n", f);
}

static void print_extra(const void *opts, const struct sweep_report *rep, FILE *f)
{
	const struct reclaim_opts *o = opts;

	if (!o->stall)
		return;
	fputs("\nstall Mf/s: faults/s of all vCPUs while the walker stalled; outside: the rest "
	      "of the run;\nstall peak MiB: most retired memory not yet freed sampled during "
	      "the stall\n",
	      f);
	if (o->b.sw.plot_path)
		reclaim_series_plot(o, rep);
}

static void json_config(const void *opts, FILE *f)
{
	const struct reclaim_opts *o = opts;

	fprintf(f,
		"{\"seconds\": %g, \"huge_blocks_per_huge_vcpu\": 64, "
		"\"small_pages_per_small_vcpu\": %llu",
		o->seconds, 1ull << 24);
	if (o->stall)
		fprintf(f, ", \"stall_ms\": %" PRIu64 ", \"sample_ms\": 1", o->stall_ns / 1000000);
	fputc('}', f);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct reclaim_opts *o = opts;
	const struct reclaim_result *r = run->extra;
	uint64_t total = r->small_faults + r->huge_faults;

	fputs("      \"seconds\": ", f);
	json_number(f, r->seconds, 6);
	fputs(", \"faults_per_sec\": ", f);
	json_number(f, per_sec(total, r->seconds), 1);
	fputs(", \"huge_replaced_per_sec\": ", f);
	json_number(f, per_sec(r->replaced, r->seconds), 1);
	fprintf(f,
		",\n      \"huge_vcpus\": %u, \"small_faults\": %" PRIu64
		", \"huge_faults\": %" PRIu64 ", \"huge_replaced\": %" PRIu64,
		reclaim_nr_huge(o->b.sw.vcpus), r->small_faults, r->huge_faults, r->replaced);
	if (!o->stall)
		return;
	fputs(",\n      \"stall\": {\"ms\": ", f);
	json_number(f, (double)(r->stall_end_ns - r->stall_start_ns) / 1e6, 3);
	fputs(", \"start_ms\": ", f);
	json_number(f, (double)r->stall_start_ns / 1e6, 3);
	fprintf(f, ", \"faults\": %" PRIu64 ", \"faults_per_sec\": ", r->stall_faults);
	json_number(f, run->metric, 1);
	fputs(", \"outside_faults_per_sec\": ", f);
	json_number(f, run->col[1] * 1e6, 1);
	fputs(", \"over_outside\": ", f);
	json_number(f, run->col[2], 4);
	fprintf(f, ", \"peak_outstanding_bytes\": %" PRIu64 "},\n", r->stall_peak_bytes);
	fprintf(f,
		"      \"retired_series\": {\"samples_per_point\": %u, "
		"\"points\": ",
		r->series.stride);
	reclaim_series_json(&r->series, f);
	fputc('}', f);
}

const struct sweep_scenario huge_over_table_sweep = {
	.title = "huge pages over page tables (the seed thread's case)",
	.metric_name = "Mfaults/s",
	.metric_json = "faults_per_sec",
	.metric_what = "faults completed per second by all vCPUs, huge and small (threads "
		       "started to stopped)",
	.metric_scale = 1e6,
	.cols = { "replaced/s", "small Mf/s", "huge Mf/s", "write retries", "drains/cb" },
	.col_decimals = { 0, 3, 3, 0, 0 },
	.run = reclaim_sweep_run,
	.print_settings = print_settings,
	.json_config = json_config,
	.json_extra = json_extra,
};

const struct sweep_scenario stalled_reader_sweep = {
	.title = "stalled reader (huge pages over page tables, one walker stalled)",
	.metric_name = "stall Mf/s",
	.metric_json = "stall_faults_per_sec",
	.metric_what = "faults completed per second by all vCPUs while the walker stalled",
	.metric_scale = 1e6,
	.cols = { "stall ms", "outside Mf/s", "stall/outside", "stall peak MiB", "replaced/s" },
	.col_decimals = { 1, 3, 3, 2, 0 },
	.run = reclaim_sweep_run,
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

/* Both scenarios' entry point: which one is the table entry's sweep description. */
int huge_over_table_main(const struct scenario *sc, int argc, char **argv)
{
	struct reclaim_opts o;
	char command[640];

	reclaim_opts_parse(&o, sc->sweep == &stalled_reader_sweep, argc, argv);
	reclaim_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
