/*
 * opts.c - the flags of `tdpmmu bench access-tracking`: KVM's -v, -b, -s,
 * -o, our --flush and the sweep's common ones; the layout checks that must
 * pass before anything runs, and the flags written back out as the
 * report's command line.  Main thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>

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
	access_help(stdout);
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

void access_opts_parse(struct access_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	parse_options(access_options, argc, argv, o, "bench access-tracking");
	/* At the largest -v count; also --plot's check. */
	bench_check_layout(&o->b, o->overlap, 1, "-b");
}

void access_opts_command(const struct access_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o->b.sw, common, sizeof(common));
	snprintf(buf, len, "tdpmmu bench %s%s -b %s -s %s%s%s", name, common, size,
		 backing_kvm_name(o->b.backing), o->overlap ? " -o" : "",
		 o->flush ? " --flush" : "");
}
