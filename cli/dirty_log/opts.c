/*
 * opts.c - the flags of `bench dirty-log`: KVM's
 * dirty_log_perf_test names (-i, -g, -e, -w, -r, -a, -x, -c, -m, -n) and ours
 * (--eager-split, --recover), the sweep's common flags, the checks that
 * must pass before anything runs, and the flags written back out as the
 * report's command line.  Main thread only, before anything runs.
 */
#define _GNU_SOURCE /* pthread_setaffinity_np, CPU_SET */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirty_log/dirty_log.h"
#include "sweep/sweep_kvm.h"

static void set_iterations(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->iterations =
		(unsigned)bench_number_arg(opt, arg, 2, DIRTY_MAX_ITERATIONS);
}

static void set_write_pct(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->write_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
}

static void set_seed(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->seed = bench_number_arg(opt, arg, 0, UINT32_MAX);
}

/* -m ID: KVM selftests' guest mode IDs; x86 runs only PXXV48_4K. */
static void set_mode(void *ctx, const char *opt, const char *arg)
{
	unsigned m = (unsigned)bench_number_arg(opt, arg, 0, 255);

	if (m != DIRTY_MODE_PXXV48_4K)
		usage_error("%s: guest mode %u is not modelled: only %u (PA-bits:ANY, VA-bits:48, "
			    "4K pages, x86's mode)",
			    opt, m, DIRTY_MODE_PXXV48_4K);
	((struct dirty_opts *)ctx)->mode = m;
}

static void set_nested(void *ctx, const char *opt, const char *arg)
{
	usage_error("%s: nested virtualization (an L2 guest) is not modelled", opt);
}

/* -c CPULIST: comma-separated CPU numbers, each one this process may run on. */
static void set_pcpus(void *ctx, const char *opt, const char *arg)
{
	struct dirty_opts *o = ctx;
	long nconf = sysconf(_SC_NPROCESSORS_CONF);
	const char *p = arg;
	cpu_set_t allowed;

	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		usage_error("%s: cannot read this process's CPUs: %s", opt, strerror(errno));
	o->npcpus = 0;
	for (;;) {
		char *end;
		long cpu;

		if (*p < '0' || *p > '9')
			usage_error("%s: '%s' is not a comma-separated list of CPU numbers", opt,
				    arg);
		errno = 0;
		cpu = strtol(p, &end, 10);
		if (errno || (*end && *end != ','))
			usage_error("%s: '%s' is not a comma-separated list of CPU numbers", opt,
				    arg);
		if (cpu >= nconf || cpu >= CPU_SETSIZE)
			usage_error("%s: CPU %ld does not exist (CPUs 0..%ld)", opt, cpu,
				    nconf - 1);
		if (!CPU_ISSET((int)cpu, &allowed))
			usage_error("%s: CPU %ld is not one this process may run on", opt, cpu);
		if (o->npcpus == SWEEP_MAX_VCPUS + 1)
			usage_error("%s: more than %u CPUs", opt, SWEEP_MAX_VCPUS + 1);
		o->pcpus[o->npcpus++] = (int)cpu;
		if (!*end)
			break;
		p = end + 1;
	}
}

static void pin_thread(int cpu)
{
	cpu_set_t set;
	int r;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (r)
		fatal("-c: pinning a thread to CPU %d: %s", cpu, strerror(r));
}

void dirty_pin_vcpu(const struct dirty_opts *o, unsigned vcpu)
{
	if (o->npcpus)
		pin_thread(o->pcpus[vcpu]);
}

static void set_slots(void *ctx, const char *opt, const char *arg)
{
	uint64_t n = bench_number_arg(opt, arg, 1, UINT32_MAX);

	/* Upstream has no cap but KVM's; ours is the library's. */
	if (n > TDPMMU_MAX_MEMSLOTS)
		usage_error("%s: %s memslots: a VM holds at most %u (TDPMMU_MAX_MEMSLOTS)", opt,
			    arg, TDPMMU_MAX_MEMSLOTS);
	((struct dirty_opts *)ctx)->slots = (unsigned)n;
}

static void set_no_manual(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->no_manual = true;
}

static void set_run_while_disabling(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->run_while_disabling = true;
}

static void set_random(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->random_order = true;
}

static void set_guest_page(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->guest_page = sweep_kvm_guest_page_arg(opt, arg);
}

/* --ring N: KVM_CAP_DIRTY_LOG_RING with N entries per vCPU (tdpmmu_dirty_ring_enable's rules). */
static void set_ring(void *ctx, const char *opt, const char *arg)
{
	uint64_t n = bench_number_arg(opt, arg, 1, UINT32_MAX);

	if (n & (n - 1))
		usage_error("%s: %s entries: the ring size must be a power of two", opt, arg);
	if (n <= TDPMMU_DIRTY_RING_RSVD)
		usage_error("%s: %s entries: too small, the ring must hold more than its %u "
			    "reserved entries (1024 or more)",
			    opt, arg, TDPMMU_DIRTY_RING_RSVD);
	if (n > 65536)
		usage_error("%s: %s entries: too large, at most 65536 (KVM's maximum)", opt, arg);
	((struct dirty_opts *)ctx)->ring = (uint32_t)n;
}

/* --dirty-mode wrprot|dbit: how logging re-arms pages (enum tdpmmu_dirty_mode). */
static void set_dirty_mode(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->dirty_mode = bench_dirty_mode_arg(opt, arg);
}

static void set_eager_split(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->eager_split = true;
}

static const char *const recover_names[] = {
	[TDPMMU_RECOVER_NONE] = "none",
	[TDPMMU_RECOVER_ZAP] = "zap",
	[TDPMMU_RECOVER_INPLACE] = "inplace",
};

const char *dirty_recover_name(enum tdpmmu_huge_recovery r)
{
	return recover_names[r];
}

static void set_recover(void *ctx, const char *opt, const char *arg)
{
	for (unsigned i = 0; i < sizeof(recover_names) / sizeof(recover_names[0]); i++) {
		if (!strcmp(arg, recover_names[i])) {
			((struct dirty_opts *)ctx)->recover = (enum tdpmmu_huge_recovery)i;
			return;
		}
	}
	usage_error("%s: '%s' is not zap, inplace or none", opt, arg);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	dirty_log_help(stdout);
	exit(0);
}

static const struct cli_option dirty_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'i', NULL, true, set_iterations },
	{ 'g', NULL, false, set_no_manual },
	{ 'e', NULL, false, set_run_while_disabling },
	{ 'w', NULL, true, set_write_pct },
	{ 'r', NULL, true, set_seed },
	{ 'c', NULL, true, set_pcpus },
	{ 'm', NULL, true, set_mode },
	{ 'n', NULL, false, set_nested },
	{ 'a', NULL, false, set_random },
	{ 'x', NULL, true, set_slots },
	{ 0, "eager-split", false, set_eager_split },
	{ 0, "dirty-mode", true, set_dirty_mode },
	{ 0, "ring", true, set_ring },
	{ 0, "recover", true, set_recover },
	{ 0, "guest-page", true, set_guest_page },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

void dirty_opts_parse(struct dirty_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	o->iterations = 2;
	o->write_pct = 100;
	o->slots = 1;
	o->recover = TDPMMU_RECOVER_INPLACE;
	o->seed = 1; /* dirty_log_perf_test's */
	parse_options(dirty_options, argc, argv, o, "bench dirty-log");
	if (o->mode && o->b.sw.levels == 5)
		usage_error("-m %u: VA-bits:48 is 4-level paging; --levels 5 is not that mode",
			    o->mode);
	if (o->npcpus) {
		unsigned need = sweep_max_vcpus(&o->b.sw);

		if (o->b.sw.strategies[SWEEP_KVM])
			usage_error("-c: the kvm row's vCPU threads are not pinned; leave kvm out "
				    "of --strategy");
		if (o->npcpus < need)
			usage_error("-c: %u CPUs for %u vCPUs: one per vCPU, one more pins the "
				    "main thread",
				    o->npcpus, need);
		if (o->npcpus > need + 1)
			usage_error("-c: %u CPUs for %u vCPUs: at most one more than the vCPUs "
				    "(the main thread's)",
				    o->npcpus, need);
		if (o->npcpus == need + 1)
			pin_thread(o->pcpus[need]);
	}
	if (o->dirty_mode != TDPMMU_DIRTY_WRPROT && o->b.sw.strategies[SWEEP_KVM])
		usage_error("--dirty-mode: the kvm row logs as the host's KVM does (PML where it "
			    "has it); leave kvm out of --strategy");
	if (o->ring && o->b.sw.strategies[SWEEP_KVM])
		usage_error(
			"--ring: the kvm row runs the bitmap only; leave kvm out of --strategy");
	page_write_seed_set(o->seed);
	/* The metric is pages written per second: none without writes. */
	if (!o->write_pct && o->b.sw.plot_path)
		usage_error("--plot: with -w 0 the guest writes nothing, so there is no "
			    "Mpages/s to draw");
	/* At the largest -v count; also --plot's check. */
	bench_check_layout(&o->b, false, o->slots, "-x");
	sweep_kvm_check_size(&o->b.sw, o->b.bytes_per_vcpu, false);
	sweep_kvm_check_backing(&o->b.sw, o->b.backing);
}

void dirty_opts_command(const struct dirty_opts *o, char *buf, size_t len)
{
	char size[32], common[512], ring[32] = "", mode[32] = "";

	if (o->ring)
		snprintf(ring, sizeof(ring), " --ring %u", o->ring);
	if (o->dirty_mode != TDPMMU_DIRTY_WRPROT)
		snprintf(mode, sizeof(mode), " --dirty-mode %s",
			 tdpmmu_dirty_mode_name(o->dirty_mode));
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o->b.sw, common, sizeof(common));
	snprintf(buf, len,
		 "tdpmmu bench dirty-log%s -b %s -s %s -i %u -w %u -r %llu -x %u%s%s%s%s "
		 "--recover %s%s%s%s",
		 common, size, backing_kvm_name(o->b.backing), o->iterations, o->write_pct,
		 (unsigned long long)o->seed, o->slots, o->no_manual ? " -g" : "",
		 o->run_while_disabling ? " -e" : "", o->random_order ? " -a" : "",
		 o->eager_split ? " --eager-split" : "", recover_names[o->recover],
		 o->guest_page == 4096 ? " --guest-page 4K" : "", ring, mode);
}

unsigned dirty_log_flags(const struct dirty_opts *o)
{
	unsigned f = o->eager_split ? TDPMMU_DIRTY_LOG_EAGER_SPLIT : 0;

	/* The ring has no bitmap to clear: KVM's ring VMMs enable plain logging. */
	if (!o->no_manual && !o->ring)
		f |= TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET;
	return f;
}
