/*
 * opts.c - the flags of `tdpmmu bench demand-paging`: KVM's -v, -b, -s,
 * -d, -o, -a and the sweep's common ones; the layout checks that must pass
 * before anything runs, and the flags written back out as the report's
 * command line.  Main thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>

#include "demand/demand.h"

static void set_delay(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->delay_us =
		(unsigned)bench_number_arg(opt, arg, 0, TDPMMU_MAX_HOST_FAULT_US);
}

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->overlap = true;
}

static void set_random(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->random_order = true;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	demand_help(stdout);
	exit(0);
}

/* clang-format off */
static const struct cli_option demand_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'd', NULL, true, set_delay },
	{ 'o', NULL, false, set_overlap },
	{ 'a', NULL, false, set_random },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};
/* clang-format on */

void demand_opts_parse(struct demand_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	parse_options(demand_options, argc, argv, o, "bench demand-paging");
	bench_check_layout(&o->b, o->overlap, 1, "-b");
}

void demand_opts_command(const struct demand_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32];

	sweep_opts_format(&o->b.sw, common, sizeof(common));
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	snprintf(buf, len, "tdpmmu bench %s%s -b %s -s %s -d %u%s%s", name, common, size,
		 backing_kvm_name(o->b.backing), o->delay_us, o->overlap ? " -o" : "",
		 o->random_order ? " -a" : "");
}
