/*
 * test_vm.h - small VM helpers shared by the tests: add a table of memslots
 * (every one must succeed) and read one VM counter.
 */
#ifndef TDP_TEST_VM_H
#define TDP_TEST_VM_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "tdpmmu/tdpmmu.h"

static inline void test_add_slots(struct tdpmmu_vm *vm, const struct tdpmmu_memslot *slots,
				  size_t n)
{
	for (size_t i = 0; i < n; i++)
		REQUIRE(tdpmmu_memslot_add(vm, &slots[i]) == 0);
}

static inline int64_t test_counter(const struct tdpmmu_vm *vm, enum tdpmmu_counter c)
{
	int64_t v[TDPMMU_NR_COUNTERS];

	tdpmmu_read_counters(vm, v);
	return v[c];
}

/* The leaf mapping @gfn (0 if none) and its level in *@level (0 if none). */
static inline tdp_spte_t test_leaf(struct tdpmmu_vm *vm, uint64_t gfn, int *level)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	*level = m.present ? m.level : 0;
	return m.present ? m.spte : 0;
}

#endif
