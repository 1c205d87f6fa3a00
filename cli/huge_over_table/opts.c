/*
 * opts.c - the flags of `tdpmmu bench huge-over-table` and `tdpmmu bench
 * stalled-reader`: the sweep's common ones, --seconds and (stalled-reader)
 * --stall-ms; the checks that must pass before anything runs, and the
 * flags written back out as the report's command line.  Main thread only,
 * before anything runs.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "huge_over_table/huge_over_table.h"

static void set_seconds(void *ctx, const char *opt, const char *arg)
{
	((struct reclaim_opts *)ctx)->seconds = bench_seconds_arg(opt, arg, 0.05, 3600);
}

static void set_stall(void *ctx, const char *opt, const char *arg)
{
	((struct reclaim_opts *)ctx)->stall_ns = bench_number_arg(opt, arg, 1, 600000) * 1000000ull;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	if (((struct reclaim_opts *)ctx)->stall)
		stalled_reader_help(stdout);
	else
		huge_over_table_help(stdout);
	exit(0);
}

/* clang-format off */
#define COMMON_OPTIONS                                                                             \
	SWEEP_CLI_OPTIONS, { 0, "seconds", true, set_seconds }, { 'h', "help", false, show_help }
/* clang-format on */

static const struct cli_option hot_options[] = {
	COMMON_OPTIONS,
	{ 0 },
};

static const struct cli_option stall_options[] = {
	COMMON_OPTIONS,
	{ 0, "stall-ms", true, set_stall },
	{ 0 },
};

static void check_opts(const struct reclaim_opts *o, const char *scenario)
{
	if (o->b.sw.counts[0] < 2)
		usage_error("-v: %s needs at least 2 vCPUs (huge and small ones) in every count",
			    scenario);
	if (o->stall && o->stall_ns >= (uint64_t)(o->seconds * 1e9) / 2)
		usage_error("--stall-ms must be under half of --seconds");
}

void reclaim_opts_parse(struct reclaim_opts *o, bool stall, int argc, char **argv)
{
	*o = (struct reclaim_opts){ .seconds = 1.0, .stall_ns = 200000000ull, .stall = stall };
	bench_opts_init(&o->b, TDPMMU_BACKING_THP);
	o->b.sw.counts[0] = 2;
	o->b.sw.vcpus = 2;
	for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++)
		o->b.sw.strategies[s] = true;
	parse_options(stall ? stall_options : hot_options, argc, argv, o,
		      stall ? "bench stalled-reader" : "bench huge-over-table");
	check_opts(o, stall ? "stalled-reader" : "huge-over-table");
}

void reclaim_opts_command(const struct reclaim_opts *o, const char *name, char *buf, size_t len)
{
	char flags[512];
	size_t used;

	sweep_opts_format(&o->b.sw, flags, sizeof(flags));
	used = (size_t)snprintf(buf, len, "tdpmmu bench %s%s --seconds %g", name, flags,
				o->seconds);
	if (o->stall && used < len)
		snprintf(buf + used, len - used, " --stall-ms %" PRIu64, o->stall_ns / 1000000);
}
