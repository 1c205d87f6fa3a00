/*
 * strategy.h - a user's strategy as its (reclamation policy, fault-lock
 * policy) pair; the table is in strategy.c.
 */
#ifndef TDP_STRATEGY_H
#define TDP_STRATEGY_H

#include "mmu/fault_lock.h"
#include "reclaim/reclaim.h"
#include "tdpmmu/tdpmmu.h"

struct tdp_strategy {
	const char *name; /* what users type: --strategy, TDPMMU_STRATEGY */
	enum tdp_reclaim_policy reclaim;
	enum tdp_fault_lock fault_lock;
};

/* NULL for an unknown strategy. */
const struct tdp_strategy *tdp_strategy(enum tdpmmu_strategy s);

#endif
