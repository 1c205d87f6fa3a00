/*
 * opts.c - the flags of `tdpmmu bench access-tracking`: KVM's -v, -b, -s,
 * -o, -w, our --flush and the sweep's common ones; the layout checks that must
 * pass before anything runs, and the flags written back out as the
 * report's command line.  Main thread only, before anything runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "sweep/sweep_kvm.h"

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct access_opts *)ctx)->overlap = true;
}

static void set_flush(void *ctx, const char *opt, const char *arg)
{
	((struct access_opts *)ctx)->flush = true;
}

/*
 * -w N: >0 warn only, 0 fail, as access_tracking_perf_test's (a
 * non-negative number there: a negative one is refused); without -w, auto.
 */
static void set_warn_only(void *ctx, const char *opt, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (arg[0] == '-' && end != arg && !*end && !errno)
		usage_error("%s: '%s' is negative (>0 warn, 0 fail; leave -w out for auto, as "
			    "access_tracking_perf_test)",
			    opt, arg);
	if (end == arg || *end || errno || arg[0] < '0' || arg[0] > '9')
		usage_error("%s: '%s' is not a number (>0 warn, 0 fail)", opt, arg);
	((struct access_opts *)ctx)->idle_warn_only = v > 0 ? 1 : 0;
}

/* NUMA balancing moves pages and clears their Accessed bits behind us. */
static bool numa_balancing_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/numa_balancing", "r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/* CPUID.1:ECX bit 31: a hypervisor runs this machine. */
static bool in_vm(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return c >> 31 & 1;
#else
	return false;
#endif
}

bool access_idle_fails(const struct access_opts *o, bool kvm)
{
	if (o->idle_warn_only >= 0)
		return !o->idle_warn_only;
	return kvm && !numa_balancing_on() && !in_vm();
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	access_help(stdout);
	exit(0);
}

static const struct cli_option access_options[] = {
	{ 'b', NULL, true, bench_set_size }, { 's', NULL, true, bench_set_backing },
	{ 'o', NULL, false, set_overlap },   { 'w', NULL, true, set_warn_only },
	{ 0, "flush", false, set_flush },    SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },   { 0 },
};

void access_opts_parse(struct access_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	o->idle_warn_only = -1;
	parse_options(access_options, argc, argv, o, "bench access-tracking");
	/* At the largest -v count; also --plot's check. */
	bench_check_layout(&o->b, o->overlap, 1, "-b");
	sweep_kvm_check_backing(&o->b.sw, o->b.backing);
}

void access_opts_command(const struct access_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32], warn[16] = "";

	if (o->idle_warn_only >= 0)
		snprintf(warn, sizeof(warn), " -w %d", o->idle_warn_only);
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o->b.sw, common, sizeof(common));
	snprintf(buf, len, "tdpmmu bench %s%s -b %s -s %s%s%s%s", name, common, size,
		 backing_kvm_name(o->b.backing), o->overlap ? " -o" : "", warn,
		 o->flush ? " --flush" : "");
}
