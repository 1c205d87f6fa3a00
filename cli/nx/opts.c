/*
 * opts.c - the flags of `tdpmmu bench nx-recovery`: -v, -b, -s, -p/--period,
 * --ratio, --seconds and the sweep's common ones; the layout checks that
 * must pass before anything runs, and the flags written back out as the
 * report's command line.  Main thread only, before anything runs.
 */
#include <stdlib.h>

#include "nx/nx.h"

static void set_period(void *ctx, const char *opt, const char *arg)
{
	((struct nx_opts *)ctx)->period_ms = (unsigned)bench_number_arg(opt, arg, 1, 60000);
}

static void set_ratio(void *ctx, const char *opt, const char *arg)
{
	((struct nx_opts *)ctx)->ratio = (unsigned)bench_number_arg(opt, arg, 1, 1000000);
}

static void set_seconds(void *ctx, const char *opt, const char *arg)
{
	((struct nx_opts *)ctx)->seconds = bench_seconds_arg(opt, arg, 0.05, 3600);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	nx_help(stdout);
	exit(0);
}

/* clang-format off */
static const struct cli_option nx_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'p', "period", true, set_period },
	{ 0, "ratio", true, set_ratio },
	{ 0, "seconds", true, set_seconds },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};
/* clang-format on */

void nx_opts_parse(struct nx_opts *o, int argc, char **argv)
{
	*o = (struct nx_opts){ .period_ms = 10, .ratio = 10, .seconds = 5 };
	/* nx_huge_pages_perf_test's defaults: -b 2G, -s anonymous. */
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	o->b.bytes_per_vcpu = 2ull << 30;
	parse_options(nx_options, argc, argv, o, "bench nx-recovery");
	bench_check_layout(&o->b, false, 1, "-b");
}

void nx_opts_command(const struct nx_opts *o, const char *name, char *buf, size_t len)
{
	char flags[512], size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o->b.sw, flags, sizeof(flags));
	snprintf(buf, len, "tdpmmu bench %s%s -b %s -s %s --period %u --ratio %u --seconds %g",
		 name, flags, size, backing_kvm_name(o->b.backing), o->period_ms, o->ratio,
		 o->seconds);
}
