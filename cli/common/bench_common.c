/*
 * bench_common.c - the flags the dirty-log, access-tracking and
 * nx-recovery benchmarks share (-v, -b, -s, --json), the checks of the
 * memory layout that must pass before anything runs, and the VM with its
 * memslots.  Single-threaded: everything here runs on the main thread
 * before the vCPU threads exist.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "common/bench_common.h"
#include "common/errors.h"

void bench_opts_init(struct bench_opts *b, enum tdpmmu_backing backing)
{
	memset(b, 0, sizeof(*b));
	sweep_opts_init(&b->sw, 1);
	b->bytes_per_vcpu = 1ull << 30; /* KVM's DEFAULT_PER_VCPU_MEM_SIZE */
	b->backing = backing;
}

uint64_t bench_number_arg(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;
	int r = parse_u64(arg, &v);

	if (r == -EINVAL)
		usage_error("%s: '%s' is not a number", opt, arg);
	if (r || v < min || v > max)
		usage_error("%s: %s is out of range (%llu..%llu)", opt, arg,
			    (unsigned long long)min, (unsigned long long)max);
	return v;
}

uint64_t bench_size_arg(const char *opt, const char *arg)
{
	uint64_t v;
	int r = parse_size(arg, &v);

	if (r == -EINVAL)
		usage_error("%s: '%s' is not a size (a decimal, 0x hex or 0 octal number with an "
			    "optional b, K, M, G or T)",
			    opt, arg);
	if (r)
		usage_error("%s: '%s' is too large", opt, arg);
	if (v == 0)
		usage_error("%s: the size must not be zero", opt);
	if (v % GUEST_PAGE_BYTES)
		usage_error("%s: %s is not a multiple of 4K", opt, arg);
	return v;
}

enum tdpmmu_backing bench_backing_arg(const char *opt, const char *arg)
{
	enum tdpmmu_backing b;

	if (tdpmmu_backing_parse(arg, &b))
		usage_error("%s: unknown backing '%s' (anonymous, anonymous_thp, "
			    "anonymous_hugetlb, anonymous_hugetlb_2mb, anonymous_hugetlb_1gb, "
			    "hugetlb_2mb, hugetlb_1gb, shmem, shared_hugetlb)",
			    opt, arg);
	return b;
}

void bench_set_size(void *ctx, const char *opt, const char *arg)
{
	((struct bench_opts *)ctx)->bytes_per_vcpu = bench_size_arg(opt, arg);
}

void bench_set_backing(void *ctx, const char *opt, const char *arg)
{
	((struct bench_opts *)ctx)->backing = bench_backing_arg(opt, arg);
}

enum tdpmmu_dirty_mode bench_dirty_mode_arg(const char *opt, const char *arg)
{
	enum tdpmmu_dirty_mode m;

	if (tdpmmu_dirty_mode_parse(arg, &m))
		usage_error("%s: '%s' is not a dirty-logging mode (wrprot, dbit)", opt, arg);
	return m;
}

double bench_seconds_arg(const char *opt, const char *arg, double min, double max)
{
	double v;

	if (parse_decimal(arg, &v) || !(v >= min && v <= max))
		usage_error("%s: '%s' is not a duration from %g to %g seconds (digits, "
			    "an optional fraction: 0.5)",
			    opt, arg, min, max);
	return v;
}

enum tdpmmu_strategy bench_strategy_arg(const char *opt, const char *arg)
{
	enum tdpmmu_strategy s;

	if (tdpmmu_strategy_parse(arg, &s))
		usage_error("%s: unknown strategy '%s' (rcu, rcu-qsbr, llist, llist-trylock, "
			    "wrlock, global)",
			    opt, arg);
	return s;
}

void bench_strategy_list_arg(const char *opt, const char *arg, bool out[TDPMMU_NR_STRATEGIES])
{
	const char *p = arg;

	memset(out, 0, TDPMMU_NR_STRATEGIES * sizeof(out[0]));
	if (!strcmp(arg, "all")) {
		for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++)
			out[s] = true;
		return;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		enum tdpmmu_strategy s;
		char name[32];

		if (!len || len >= sizeof(name))
			usage_error("%s: bad strategy list '%s'", opt, arg);
		memcpy(name, p, len);
		name[len] = '\0';
		s = bench_strategy_arg(opt, name);
		if (out[s])
			usage_error("%s: strategy '%s' listed twice in '%s'", opt, name, arg);
		out[s] = true;
		if (!p[len])
			break;
		p += len + 1;
	}
}

/*
 * Tables the tree can need when every page ends up mapped at @leaf_level
 * (4K for dirty logging, eager splitting and the NX mitigation): the
 * tables of each level, one more per level at every memslot boundary (and
 * for a THP tail mapped at 4K), the vCPUs' caches and some slack.
 */
uint64_t bench_tables_needed(uint64_t pages, unsigned slots, unsigned vcpus, unsigned levels,
			     int leaf_level)
{
	uint64_t n = 1; /* the root */

	for (int level = leaf_level; level < (int)levels; level++) {
		uint64_t span = tdpmmu_level_pages(level + 1);

		n += (pages + span - 1) / span + slots;
	}
	return n + (uint64_t)vcpus * tdpmmu_vcpu_cache_tables() + 64;
}

static uint64_t machine_memory(void)
{
	struct sysinfo si;

	return sysinfo(&si) ? 0 : (uint64_t)si.totalram * si.mem_unit;
}

void bench_check_layout(const struct bench_opts *b, bool shared, unsigned slots,
			const char *slots_flag)
{
	unsigned levels = b->sw.levels, vcpus = sweep_max_vcpus(&b->sw);
	unsigned regions = shared ? 1 : vcpus;
	uint64_t max_pages = 1ull << (levels * tdpmmu_pt_bits()), mem = machine_memory();
	uint64_t pages, bytes;
	char size[32], limit[32], need[32], have[32], total[32];

	format_size(b->bytes_per_vcpu, size, sizeof(size));
	/*
	 * Memory that is not a multiple of the backing's page is fine, as in
	 * the selftests: the library maps each slot with the largest pages
	 * that fit inside it (4K and 2M at the ends of a short hugetlb slot).
	 */
	if (bench_pages_per_vcpu(b) > max_pages / regions) {
		format_size(max_pages * GUEST_PAGE_BYTES, limit, sizeof(limit));
		if (regions == 1)
			usage_error("-b %s is more than the %s guest address space of %u-level "
				    "tables",
				    size, limit, levels);
		usage_error("%u vCPUs x %s is more than the %s guest address space of %u-level "
			    "tables",
			    regions, size, limit, levels);
	}
	pages = bench_pages_per_vcpu(b) * regions;
	format_size(pages * GUEST_PAGE_BYTES, total, sizeof(total));
	if (pages % slots)
		usage_error("%s %u: the %s of guest memory does not split into %u memslots of "
			    "whole 4K pages",
			    slots_flag, slots, total, slots);
	/* With --payload the guest's pages are touched; the rest is only reserved. */
	bytes = bench_tables_needed(pages, slots, vcpus, levels, TDPMMU_LEVEL_4K) *
			GUEST_PAGE_BYTES +
		(b->sw.payload ? pages * GUEST_PAGE_BYTES : 0);
	if (mem && bytes > mem / 2) {
		format_size_approx(bytes, need, sizeof(need));
		format_size_approx(mem, have, sizeof(have));
		usage_error("%u vCPUs x %s needs up to %s of page tables%s, more than half of "
			    "this machine's %s",
			    vcpus, size, need, b->sw.payload ? " and payload" : "", have);
	}
}

struct tdpmmu_vm *bench_vm_create(struct tdpmmu_vm_config *cfg, const struct bench_opts *b,
				  bool shared, unsigned slots)
{
	unsigned regions = shared ? 1 : b->sw.vcpus;
	uint64_t pages = bench_pages_per_vcpu(b) * regions, slot_pages = pages / slots;
	uint64_t tables =
		2 * bench_tables_needed(pages, slots, b->sw.vcpus, b->sw.levels, TDPMMU_LEVEL_4K) +
		1024;
	struct tdpmmu_vm *vm;
	int r;

	/* Reserved, touched on demand: room for tables waiting for grace periods. */
	cfg->levels = b->sw.levels;
	cfg->strategy = b->sw.strategy;
	cfg->preempt = b->sw.preempt;
	cfg->pages = b->sw.pages;
	if (cfg->max_tables < tables)
		cfg->max_tables = tables;
	if (b->sw.payload && cfg->payload_bytes < tdpmmu_payload_bytes_for(pages, slots))
		cfg->payload_bytes = tdpmmu_payload_bytes_for(pages, slots);
	r = tdpmmu_vm_create(cfg, &vm);
	if (r)
		fatal("creating a VM with %llu page tables: %s",
		      (unsigned long long)cfg->max_tables, strerror(-r));
	for (unsigned i = 0; i < slots; i++) {
		struct tdpmmu_memslot slot = {
			.id = i,
			.base_gfn = (uint64_t)i * slot_pages,
			.npages = slot_pages,
			.backing = b->backing,
		};

		r = tdpmmu_memslot_add(vm, &slot);
		if (r)
			fatal("adding memslot %u (%llu pages at gfn 0x%llx): %s", i,
			      (unsigned long long)slot_pages, (unsigned long long)slot.base_gfn,
			      strerror(-r));
	}
	return vm;
}
