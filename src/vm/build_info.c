/*
 * build_info.c - what this build of the library is made of, for users who
 * size things (tables per range, tables held per vCPU) or want their
 * threads' per-thread state in place before a timed region.
 *
 * Concurrency: constants, except tdpmmu_thread_attach, which takes the
 * thread-slot mutex once per thread (base/thread_slot.c).
 */
#include <stdint.h>

#include "base/thread_slot.h"
#include "mmu/spte.h"
#include "mmu/tdp_mmu.h"
#include "tdpmmu/tdpmmu.h"

uint64_t tdpmmu_level_pages(int level)
{
	if (level < TDP_LEVEL_4K || level > TDP_LEVEL_MAX)
		return 0;
	return tdp_pages_per_level(level);
}

unsigned tdpmmu_pt_bits(void)
{
	return TDP_PT_BITS;
}

unsigned tdpmmu_vcpu_cache_tables(void)
{
	return TDP_PAGE_CACHE_CAP;
}

int tdpmmu_thread_attach(void)
{
	int s = tdp_thread_slot_try_assign();

	return s < 0 ? s : 0;
}
