/*
 * vm.c - the VM of one populate run: page-table arena sized for
 * the populated tree, the payload (--payload) sized for the memslot, and
 * one memslot from gfn 0 holding every vCPU's region (or the one shared
 * region with -o).
 */
#include <string.h>

#include "common/bench_common.h"
#include "populate/populate.h"

/* Level of the leaves the backing gives where its pages fit. */
static int leaf_level(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_THP:
	case TDPMMU_BACKING_HUGETLB_2M:
		return TDPMMU_LEVEL_2M;
	case TDPMMU_BACKING_HUGETLB_1G:
		return TDPMMU_LEVEL_1G;
	default:
		return TDPMMU_LEVEL_4K;
	}
}

uint64_t populate_tables_needed(const struct populate_opts *o, unsigned vcpus)
{
	return bench_tables_needed(populate_slot_pages(o, vcpus), 1, vcpus, o->sw.levels,
				   leaf_level(o->backing));
}

uint64_t populate_payload_bytes(const struct populate_opts *o, unsigned vcpus)
{
	return o->sw.payload ? tdpmmu_payload_bytes_for(populate_slot_pages(o, vcpus), 1) : 0;
}

struct tdpmmu_vm *populate_vm_create(const struct populate_opts *o, unsigned vcpus)
{
	uint64_t pages = populate_slot_pages(o, vcpus);
	struct tdpmmu_memslot slot = {
		.id = 0,
		.base_gfn = 0,
		.npages = pages,
		.backing = o->backing,
	};
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	int r;

	tdpmmu_vm_config_init(&cfg);
	cfg.levels = o->sw.levels;
	cfg.strategy = o->sw.strategy;
	cfg.preempt = o->sw.preempt;
	cfg.pages = o->sw.pages;
	cfg.max_tables = populate_tables_needed(o, vcpus);
	cfg.payload_bytes = populate_payload_bytes(o, vcpus);
	r = tdpmmu_vm_create(&cfg, &vm);
	if (r)
		fatal("creating a VM with %llu page tables and %llu payload bytes: %s",
		      (unsigned long long)cfg.max_tables, (unsigned long long)cfg.payload_bytes,
		      strerror(-r));
	r = tdpmmu_memslot_add(vm, &slot);
	if (r)
		fatal("adding a memslot of %llu pages: %s", (unsigned long long)pages,
		      strerror(-r));
	return vm;
}
