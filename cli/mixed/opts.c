/*
 * opts.c - the flags of `tdpmmu bench mixed`: -v, -b, -s, the invalidation
 * loop's (-w, --seconds, --range, --remap), the host's rates and the
 * sweep's common ones; the checks that must pass before anything runs,
 * and the flags written back out as the report's command line.  Main
 * thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>

#include "mixed/mixed.h"

static const char *const act_flag[NR_ACTS] = { "--dirty-rate", "--age-rate", "--nx-rate",
					       "--inval-rate" };

static void set_rate(struct mixed_opts *o, enum mixed_act a, const char *opt, const char *arg)
{
	o->rate[a] = (unsigned)bench_number_arg(opt, arg, 0, 100000);
}

static void set_dirty_rate(void *ctx, const char *opt, const char *arg)
{
	set_rate(ctx, ACT_DIRTY, opt, arg);
}

static void set_age_rate(void *ctx, const char *opt, const char *arg)
{
	set_rate(ctx, ACT_AGE, opt, arg);
}

static void set_nx_rate(void *ctx, const char *opt, const char *arg)
{
	set_rate(ctx, ACT_NX, opt, arg);
}

static void set_inval_rate(void *ctx, const char *opt, const char *arg)
{
	set_rate(ctx, ACT_INVAL, opt, arg);
}

/* --dirty-mode wrprot|dbit (enum tdpmmu_dirty_mode). */
static void set_dirty_mode(void *ctx, const char *opt, const char *arg)
{
	((struct mixed_opts *)ctx)->dirty_mode = bench_dirty_mode_arg(opt, arg);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	mixed_help(stdout);
	exit(0);
}

static const struct cli_option mixed_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	BG_CLI_OPTIONS,
	{ 0, "dirty-rate", true, set_dirty_rate },
	{ 0, "dirty-mode", true, set_dirty_mode },
	{ 0, "age-rate", true, set_age_rate },
	{ 0, "nx-rate", true, set_nx_rate },
	{ 0, "inval-rate", true, set_inval_rate },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

static void mixed_check_opts(struct mixed_opts *o)
{
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	/*
	 * Two memslots at every vCPU count: -b must halve into whole 4K pages
	 * (not whole backing pages: a slot maps smaller pages where the
	 * backing's do not fit).  Checked first: the layout's own check would
	 * name the slot count as if it were -b's value.
	 */
	if (o->b.bytes_per_vcpu % (2 * GUEST_PAGE_BYTES))
		usage_error("-b %s: mixed splits guest memory into two memslots, so -b must be "
			    "an even number of 4K pages",
			    size);
	bench_check_layout(&o->b, false, 2, "-b");
	bg_opts_check_remap((struct bg_opts *)o);
}

void mixed_opts_parse(struct mixed_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bg_opts_init((struct bg_opts *)o, TDPMMU_BACKING_THP);
	o->rate[ACT_DIRTY] = 20;
	o->rate[ACT_AGE] = 20;
	o->rate[ACT_NX] = 20;
	o->rate[ACT_INVAL] = 200;
	parse_options(mixed_options, argc, argv, o, "bench mixed");
	mixed_check_opts(o);
}

void mixed_opts_command(const struct mixed_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32], range[32];

	sweep_opts_format(&o->b.sw, common, sizeof(common));
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	format_size(o->range_bytes, range, sizeof(range));
	snprintf(buf, len,
		 "tdpmmu bench %s%s -b %s -s %s -w %u --seconds %g %s %u %s %u %s %u %s %u "
		 "--range %s --remap %u --dirty-mode %s",
		 name, common, size, backing_kvm_name(o->b.backing), o->write_pct, o->seconds,
		 act_flag[ACT_DIRTY], o->rate[ACT_DIRTY], act_flag[ACT_AGE], o->rate[ACT_AGE],
		 act_flag[ACT_NX], o->rate[ACT_NX], act_flag[ACT_INVAL], o->rate[ACT_INVAL], range,
		 o->remap_pct, tdpmmu_dirty_mode_name(o->dirty_mode));
}
