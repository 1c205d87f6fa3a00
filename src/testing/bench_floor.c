/*
 * bench_floor.c - bare walk + CAS (tdpmmu_bench_floor, see tdpmmu/testing.h).  Deliberately
 * unprotected: it exists to measure what the real fault path adds.
 */
#include <errno.h>

#include "tdpmmu/testing.h"
#include "mmu/tdp_mmu.h"
#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"

int tdpmmu_bench_floor(struct tdpmmu_vm *vm, uint64_t start_gfn, uint64_t npages, uint64_t *ns_out)
{
	struct tdp_mmu *mmu = tdp_vm_mmu(vm);
	struct tdp_page *root = tdp_root_find_valid(mmu, TDP_ROLE_NORMAL);
	uint64_t t0;

	if (start_gfn >= mmu->max_gfn || npages > mmu->max_gfn - start_gfn)
		return -ERANGE;
	if (!root)
		return -ENOENT;
	t0 = tdp_now_ns();

	for (uint64_t gfn = start_gfn; gfn < start_gfn + npages; gfn++) {
		_Atomic(tdp_spte_t) *pt = tdp_page_table(&mmu->arena, root);
		_Atomic(tdp_spte_t) *sptep;
		tdp_spte_t s;
		int level;

		for (level = mmu->root_level;; level--) {
			sptep = &pt[tdp_index(gfn, level)];
			s = atomic_load_explicit(sptep, memory_order_acquire);
			if (!spte_is_present(s))
				return -ENOENT;
			if (spte_is_last(s, level))
				break;
			pt = tdp_pfn_table(&mmu->arena, spte_pfn(s));
		}
		if (level != TDP_LEVEL_4K)
			return -ENOENT;
		atomic_compare_exchange_strong(sptep, &s, s | SPTE_ACCESSED);
	}
	*ns_out = tdp_now_ns() - t0;
	return 0;
}
