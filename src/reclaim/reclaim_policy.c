/*
 * reclaim_policy.c - the reclamation policies: what each one does, in one
 * table.  The rest of src/reclaim/ reads these traits and never asks which
 * policy or which user strategy it runs (mmu/strategy.c maps strategies to
 * policies).
 *
 * Concurrency: the table is constant; struct tdp_reclaim keeps a copy,
 * written once by reclaim_init before the MMU is used.
 */
#include <stddef.h>

#include "reclaim/reclaim.h"

static const struct tdp_reclaim_traits policies[TDP_NR_RECLAIM_POLICIES] = {
	[TDP_RECLAIM_RCU] = { .name = "rcu", .rcu = true },
	[TDP_RECLAIM_RCU_QSBR] = { .name = "rcu-qsbr", .rcu = true, .qsbr = true },
	[TDP_RECLAIM_LIST] = { .name = "list" },
	[TDP_RECLAIM_LIST_TRYLOCK] = { .name = "list-trylock", .drain_trylock = true },
	[TDP_RECLAIM_UNDER_LOCK] = { .name = "under-lock", .free_under_lock = true },
};

const struct tdp_reclaim_traits *tdp_reclaim_traits(enum tdp_reclaim_policy policy)
{
	return (unsigned)policy < TDP_NR_RECLAIM_POLICIES ? &policies[policy] : NULL;
}
