/*
 * opts.c - the flags of `bench populate`, named after KVM's
 * selftests (-v, -b, -s, -o, -a, -w, -r): defaults, parsing, the checks
 * that must pass before anything runs, and the flags written back out.
 *
 * -w and -r as memstress's users (dirty_log_perf_test) mean them: each
 * page is written with probability -w percent, drawn with the random
 * seed -r (default 1); the draw is per page (common/guest.c), so every
 * vCPU, pass and row agree and the checks know which pages were written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "common/bench_common.h"
#include "populate/populate.h"
#include "sweep/sweep_kvm.h"

void populate_opts_init(struct populate_opts *o)
{
	memset(o, 0, sizeof(*o));
	sweep_opts_init(&o->sw, 5);
	o->sw.counts[1] = 2;
	o->sw.nr_counts = 2;
	o->bytes_per_vcpu = 1ull << 30; /* KVM's DEFAULT_PER_VCPU_MEM_SIZE */
	o->write_pct = 100;
	o->backing = TDPMMU_BACKING_ANON;
}

static void set_size(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->bytes_per_vcpu = bench_size_arg(opt, arg);
}

static void set_write_pct(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->write_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
}

/* -r: the seed of -w's draw (page_write_seed_set); main thread, before any run. */
static uint64_t populate_seed = 1;

static void set_seed(void *ctx, const char *opt, const char *arg)
{
	populate_seed = bench_number_arg(opt, arg, 0, UINT32_MAX);
}

static void set_backing(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->backing = bench_backing_arg(opt, arg);
}

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->overlap = true;
}

static void set_prefault(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->prefault = true;
}

static void set_pre_fault(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->pre_fault = true;
}

static void set_random(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->random_order = true;
}

static void set_guest_page(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->guest_page = sweep_kvm_guest_page_arg(opt, arg);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	populate_help(stdout);
	exit(0);
}

static const struct cli_option populate_options[] = {
	{ 'b', NULL, true, set_size },
	{ 'w', NULL, true, set_write_pct },
	{ 'r', NULL, true, set_seed },
	{ 's', NULL, true, set_backing },
	{ 'o', NULL, false, set_overlap },
	{ 'a', NULL, false, set_random },
	{ 0, "prefault", false, set_prefault },
	{ 0, "pre-fault", false, set_pre_fault },
	{ 0, "guest-page", true, set_guest_page },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

static uint64_t machine_memory(void)
{
	struct sysinfo si;

	return sysinfo(&si) ? 0 : (uint64_t)si.totalram * si.mem_unit;
}

/*
 * The memslot of every vCPU count must fit the address width, and what it
 * really takes (page tables, and the payload's touched pages) must fit in
 * half of this machine's memory: better a usage error now than the OOM
 * killer half way through.
 */
static void check_memory(const struct populate_opts *o)
{
	uint64_t max_pages = 1ull << (o->sw.levels * tdpmmu_pt_bits()), mem = machine_memory();
	char size[32], limit[32], need[32], have[32];

	format_size(o->bytes_per_vcpu, size, sizeof(size));
	/* Not a multiple of the backing's page is fine: smaller pages map the rest. */
	for (int i = 0; i < o->sw.nr_counts; i++) {
		unsigned n = o->overlap ? 1 : o->sw.counts[i];
		uint64_t bytes;

		if (populate_pages_per_vcpu(o) > max_pages / n) {
			format_size(max_pages * GUEST_PAGE_BYTES, limit, sizeof(limit));
			if (o->overlap)
				usage_error("-b %s is more than the %s guest address space of "
					    "%u-level tables",
					    size, limit, o->sw.levels);
			usage_error("%u vCPUs x %s is more than the %s guest address space of "
				    "%u-level tables",
				    n, size, limit, o->sw.levels);
		}
		bytes = populate_tables_needed(o, o->sw.counts[i]) * GUEST_PAGE_BYTES +
			(o->sw.payload ? populate_slot_pages(o, o->sw.counts[i]) * GUEST_PAGE_BYTES
				       : 0);
		if (mem && bytes > mem / 2) {
			format_size_approx(bytes, need, sizeof(need));
			format_size_approx(mem, have, sizeof(have));
			usage_error("%u vCPUs x %s needs about %s of page tables%s, more than "
				    "half of this machine's %s",
				    o->sw.counts[i], size, need,
				    o->sw.payload ? " and payload" : "", have);
		}
	}
}

void populate_opts_parse(struct populate_opts *o, int argc, char **argv)
{
	parse_options(populate_options, argc, argv, o, "bench populate");
	page_write_seed_set(populate_seed);
	check_memory(o);
	sweep_kvm_check_size(&o->sw, o->bytes_per_vcpu, o->overlap);
	sweep_kvm_check_backing(&o->sw, o->backing);
	if (o->prefault && !o->sw.strategies[SWEEP_KVM])
		usage_error("--prefault: only kvm rows populate host memory first; add kvm to "
			    "--strategy (e.g. rcu,kvm)");
	if (o->pre_fault && o->sw.strategies[SWEEP_KVM])
		usage_error("--pre-fault: kvm rows do not pre-fault (KVM_PRE_FAULT_MEMORY needs "
			    "TDP, and the kvm rows do not call it); drop kvm from --strategy");
}

void populate_opts_format(const struct populate_opts *o, char *buf, size_t len)
{
	char size[32], common[512];

	format_size(o->bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o->sw, common, sizeof(common));
	snprintf(buf, len, "%s -b %s -s %s -w %u -r %llu%s%s%s%s%s", common, size,
		 backing_kvm_name(o->backing), o->write_pct, (unsigned long long)populate_seed,
		 o->overlap ? " -o" : "", o->random_order ? " -a" : "",
		 o->prefault ? " --prefault" : "", o->pre_fault ? " --pre-fault" : "",
		 o->guest_page == 4096 ? " --guest-page 4K" : "");
}
