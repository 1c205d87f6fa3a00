/*
 * test_vm.h - small VM helpers shared by the tests: add a table of memslots
 * (every one must succeed), read one VM counter, and the VM configuration
 * every test starts from.
 */
#ifndef TDP_TEST_VM_H
#define TDP_TEST_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/check.h"
#include "tdpmmu/tdpmmu.h"

/*
 * tdpmmu_vm_config_init with the reclamation strategy named by
 * $TDPMMU_STRATEGY, so that one test binary runs under every strategy
 * (make check does).  An unknown name fails the test.
 */
static inline void test_config_init(struct tdpmmu_vm_config *cfg)
{
	const char *s = getenv("TDPMMU_STRATEGY");

	tdpmmu_vm_config_init(cfg);
	if (s && *s && tdpmmu_strategy_parse(s, &cfg->strategy)) {
		fprintf(stderr, "TDPMMU_STRATEGY=%s: unknown strategy\n", s);
		exit(2);
	}
}

/*
 * The races a strategy makes possible: CAS failures need two threads in
 * the read side (not under global); FROZEN is seen only when tables are
 * torn down under the read lock (not under wrlock or global).
 */
static inline bool test_strategy_has_cas_races(const struct tdpmmu_vm *vm)
{
	struct tdpmmu_reclaim_stats rs;

	tdpmmu_reclaim_stats_read(vm, &rs);
	return rs.strategy != TDPMMU_STRATEGY_GLOBAL;
}

static inline bool test_strategy_has_frozen_races(const struct tdpmmu_vm *vm)
{
	struct tdpmmu_reclaim_stats rs;

	tdpmmu_reclaim_stats_read(vm, &rs);
	return rs.strategy != TDPMMU_STRATEGY_GLOBAL && rs.strategy != TDPMMU_STRATEGY_WRLOCK;
}

/* The strategy's own way of freeing tables has run at least once. */
static inline bool test_strategy_path_ran(const struct tdpmmu_vm *vm)
{
	struct tdpmmu_reclaim_stats rs;

	tdpmmu_reclaim_stats_read(vm, &rs);
	switch (rs.strategy) {
	case TDPMMU_STRATEGY_RCU:
	case TDPMMU_STRATEGY_RCU_QSBR:
		return rs.rcu_callbacks > 0;
	case TDPMMU_STRATEGY_WRLOCK:
		return rs.write_retries > 0 && rs.drains > 0;
	default:
		return rs.drains > 0;
	}
}

static inline void test_add_slots(struct tdpmmu_vm *vm, const struct tdpmmu_memslot *slots,
				  size_t n)
{
	for (size_t i = 0; i < n; i++)
		REQUIRE(tdpmmu_memslot_add(vm, &slots[i]) == 0);
}

static inline int64_t test_counter(const struct tdpmmu_vm *vm, enum tdpmmu_counter c)
{
	int64_t v[TDPMMU_NR_COUNTERS];

	tdpmmu_counters_read(vm, v);
	return v[c];
}

/* The leaf mapping @gfn (0 if none) and its level in *@level (0 if none). */
static inline tdpmmu_spte_t test_leaf(struct tdpmmu_vm *vm, uint64_t gfn, int *level)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	*level = m.present ? m.level : 0;
	return m.present ? m.spte : 0;
}

#endif
