/*
 * strategy.c - the strategies users name (--strategy, enum tdpmmu_strategy)
 * as pairs of the two policies they combine: how disconnected tables are
 * reclaimed (reclaim/reclaim.h) and which lock faults take
 * (mmu/fault_lock.h).  This table is the only place a strategy is looked
 * at; everything below reads the policies.  Constant data: no concurrency.
 */
#include <errno.h>
#include <string.h>

#include "mmu/strategy.h"

static const struct tdp_strategy strategies[TDPMMU_NR_STRATEGIES] = {
	[TDPMMU_STRATEGY_RCU] = { "rcu", TDP_RECLAIM_RCU, TDP_FAULT_LOCK_SHARED },
	[TDPMMU_STRATEGY_RCU_QSBR] = { "rcu-qsbr", TDP_RECLAIM_RCU_QSBR, TDP_FAULT_LOCK_SHARED },
	[TDPMMU_STRATEGY_LLIST] = { "llist", TDP_RECLAIM_LIST, TDP_FAULT_LOCK_SHARED },
	[TDPMMU_STRATEGY_LLIST_TRYLOCK] = { "llist-trylock", TDP_RECLAIM_LIST_TRYLOCK,
					    TDP_FAULT_LOCK_SHARED },
	[TDPMMU_STRATEGY_WRLOCK] = { "wrlock", TDP_RECLAIM_UNDER_LOCK, TDP_FAULT_LOCK_WRLOCK },
	[TDPMMU_STRATEGY_GLOBAL] = { "global", TDP_RECLAIM_UNDER_LOCK, TDP_FAULT_LOCK_GLOBAL },
};

const struct tdp_strategy *tdp_strategy(enum tdpmmu_strategy s)
{
	return (unsigned)s < TDPMMU_NR_STRATEGIES ? &strategies[s] : NULL;
}

const char *tdpmmu_strategy_name(enum tdpmmu_strategy s)
{
	const struct tdp_strategy *st = tdp_strategy(s);

	return st ? st->name : NULL;
}

int tdpmmu_strategy_parse(const char *s, enum tdpmmu_strategy *out)
{
	for (int i = 0; s && i < TDPMMU_NR_STRATEGIES; i++) {
		if (!strcmp(s, strategies[i].name)) {
			*out = (enum tdpmmu_strategy)i;
			return 0;
		}
	}
	return -EINVAL;
}
