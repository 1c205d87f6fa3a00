/*
 * fault_lock.c - the fault-lock policies, in one table (fault_lock.h says
 * what each means).  Constant data: no concurrency.
 */
#include <stddef.h>

#include "mmu/fault_lock.h"

static const struct tdp_fault_lock_traits policies[TDP_NR_FAULT_LOCKS] = {
	[TDP_FAULT_LOCK_SHARED] = { "shared", TDP_SHARED, TDP_SHARED, false },
	[TDP_FAULT_LOCK_WRLOCK] = { "wrlock", TDP_SHARED, TDP_EXCLUSIVE, false },
	/* A single lock: a shared hold already excludes everyone. */
	[TDP_FAULT_LOCK_GLOBAL] = { "global", TDP_SHARED, TDP_SHARED, true },
};

const struct tdp_fault_lock_traits *tdp_fault_lock_traits(enum tdp_fault_lock policy)
{
	return (unsigned)policy < TDP_NR_FAULT_LOCKS ? &policies[policy] : NULL;
}
