/*
 * opts.c - the flags of `tdpmmu bench demand-paging`: KVM's -v, -b, -s,
 * -u, -d, -o, -a, -r, our --random and the sweep's common ones; the checks
 * that must pass before anything runs, and the flags written back out as
 * the report's command line.  Main thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demand/demand.h"
#include "sweep/sweep_kvm.h"

const char *demand_uffd_name(enum demand_uffd u)
{
	return u == DEMAND_UFFD_MISSING ? "MISSING" : u == DEMAND_UFFD_MINOR ? "MINOR" : NULL;
}

static void set_uffd(void *ctx, const char *opt, const char *arg)
{
	struct demand_opts *o = ctx;

	if (!strcasecmp(arg, "MISSING"))
		o->uffd = DEMAND_UFFD_MISSING;
	else if (!strcasecmp(arg, "MINOR"))
		o->uffd = DEMAND_UFFD_MINOR;
	else
		usage_error("%s: '%s' is not a userfaultfd mode (MISSING or MINOR)", opt, arg);
}

static void set_delay(void *ctx, const char *opt, const char *arg)
{
	struct demand_opts *o = ctx;

	o->delay_us = (unsigned)bench_number_arg(opt, arg, 0, TDPMMU_MAX_HOST_FAULT_US);
	o->delay_given = true;
}

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->overlap = true;
}

static void set_single_uffd(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->single_uffd = true;
}

static void set_readers(void *ctx, const char *opt, const char *arg)
{
	struct demand_opts *o = ctx;

	o->readers = (unsigned)bench_number_arg(opt, arg, 1, 1000);
	o->readers_given = true;
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
	{ 'u', NULL, true, set_uffd },
	{ 'd', NULL, true, set_delay },
	{ 'o', NULL, false, set_overlap },
	{ 'a', NULL, false, set_single_uffd },
	{ 'r', NULL, true, set_readers },
	{ 0, "random", false, set_random },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};
/* clang-format on */

void demand_opts_parse(struct demand_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	o->readers = 1;
	parse_options(demand_options, argc, argv, o, "bench demand-paging");
	page_draws_set(false); /* --random: a permutation, every page is touched */
	/* Upstream ignores these without -u; we say so instead. */
	if (o->delay_given && o->uffd == DEMAND_UFFD_NONE)
		usage_error("-d: the delay is the userfaultfd handler's: give -u MISSING "
			    "(or -u MINOR) with it");
	if (o->readers_given && o->uffd == DEMAND_UFFD_NONE)
		usage_error("-r: reader threads serve a userfaultfd: give -u MISSING (or -u MINOR) "
			    "with it");
	if (o->single_uffd && o->uffd == DEMAND_UFFD_NONE)
		usage_error("-a: one userfaultfd for all memory needs -u MISSING (or -u MINOR)");
	if (o->uffd == DEMAND_UFFD_MINOR && o->b.sw.strategies[SWEEP_KVM])
		usage_error("-u MINOR: the kvm rows' memory is private anonymous memory, and MINOR "
			    "faults need shmem or hugetlbfs memory: use -u MISSING, or leave kvm "
			    "out of --strategy");
	if (o->uffd == DEMAND_UFFD_MINOR && o->b.backing != TDPMMU_BACKING_SHMEM &&
	    o->b.backing != TDPMMU_BACKING_SHARED_HUGETLB)
		usage_error(
			"-u MINOR: minor faults need shared memory: -s shmem or -s shared_hugetlb "
			"(as in demand_paging_test)");
	if (o->overlap && o->uffd != DEMAND_UFFD_NONE)
		o->single_uffd = true; /* as upstream: -o shares one region, so one uffd */
	bench_check_layout(&o->b, o->overlap, 1, "-b");
	sweep_kvm_check_backing(&o->b.sw, o->b.backing);
}

void demand_opts_command(const struct demand_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32], uffd[64] = "";

	sweep_opts_format(&o->b.sw, common, sizeof(common));
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	if (o->uffd != DEMAND_UFFD_NONE)
		snprintf(uffd, sizeof(uffd), " -u %s -d %u -r %u%s", demand_uffd_name(o->uffd),
			 o->delay_us, o->readers, o->single_uffd && !o->overlap ? " -a" : "");
	snprintf(buf, len, "tdpmmu bench %s%s -b %s -s %s%s%s%s", name, common, size,
		 backing_kvm_name(o->b.backing), uffd, o->overlap ? " -o" : "",
		 o->random_order ? " --random" : "");
}
