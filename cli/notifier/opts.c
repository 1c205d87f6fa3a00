/*
 * opts.c - the flags of `tdpmmu bench notifier`: -v, -b, -s, the
 * invalidation loop's (-w, --seconds, --range, --remap), --rate and the
 * sweep's common ones; the checks that must pass before anything runs,
 * and the flags written back out as the report's command line.  Main
 * thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>

#include "notifier/notifier.h"

static void set_rate(void *ctx, const char *opt, const char *arg)
{
	((struct notifier_opts *)ctx)->rate = (unsigned)bench_number_arg(opt, arg, 0, 10000000);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	notifier_help(stdout);
	exit(0);
}

static const struct cli_option notifier_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	BG_CLI_OPTIONS,
	{ 0, "rate", true, set_rate },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

static void notifier_check(struct notifier_opts *o)
{
	bench_check_layout(&o->b, false, 1, "-b");
	bg_opts_check_remap((struct bg_opts *)o);
}

void notifier_opts_parse(struct notifier_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bg_opts_init((struct bg_opts *)o, TDPMMU_BACKING_ANON);
	parse_options(notifier_options, argc, argv, o, "bench notifier");
	notifier_check(o);
}

void notifier_opts_command(const struct notifier_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32], range[32];

	sweep_opts_format(&o->b.sw, common, sizeof(common));
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	format_size(o->range_bytes, range, sizeof(range));
	snprintf(buf, len,
		 "tdpmmu bench %s%s -b %s -s %s -w %u --seconds %g --range %s --rate %u "
		 "--remap %u",
		 name, common, size, backing_kvm_name(o->b.backing), o->write_pct, o->seconds,
		 range, o->rate, o->remap_pct);
}
