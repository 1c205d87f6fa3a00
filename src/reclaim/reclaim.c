/*
 * reclaim.c - what every reclamation strategy shares: set-up, the
 * retired/freed accounting, dispatch to the strategy, statistics, names.
 *
 * Concurrency: the counters are atomics updated by whichever thread
 * retires or frees; the strategy itself is fixed when the VM is created.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/counters.h"
#include "reclaim/reclaim.h"
#include "mmu/tdp_mmu.h"

static const char *const strategy_names[TDPMMU_NR_STRATEGIES] = {
	[TDPMMU_STRATEGY_RCU] = "rcu",
	[TDPMMU_STRATEGY_RCU_QSBR] = "rcu-qsbr",
	[TDPMMU_STRATEGY_LLIST] = "llist",
	[TDPMMU_STRATEGY_LLIST_TRYLOCK] = "llist-trylock",
	[TDPMMU_STRATEGY_WRLOCK] = "wrlock",
	[TDPMMU_STRATEGY_GLOBAL] = "global",
};

const char *tdpmmu_strategy_name(enum tdpmmu_strategy s)
{
	return (unsigned)s < TDPMMU_NR_STRATEGIES ? strategy_names[s] : NULL;
}

int tdpmmu_strategy_parse(const char *s, enum tdpmmu_strategy *out)
{
	for (int i = 0; s && i < TDPMMU_NR_STRATEGIES; i++) {
		if (!strcmp(s, strategy_names[i])) {
			*out = (enum tdpmmu_strategy)i;
			return 0;
		}
	}
	return -EINVAL;
}

int reclaim_init(struct tdp_reclaim *r, enum tdpmmu_strategy s, struct mmu_lock *lock,
		 unsigned drain_delay_ms)
{
	if ((unsigned)s >= TDPMMU_NR_STRATEGIES)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->strategy = s;
	r->lock = lock;
	r->drain_delay_ms = drain_delay_ms;
	if (!reclaim_uses_rcu(r)) {
		r->walkers = aligned_alloc(TDP_CACHELINE, sizeof(*r->walkers) * TDP_MAX_THREADS);
		if (!r->walkers)
			return -ENOMEM;
		memset(r->walkers, 0, sizeof(*r->walkers) * TDP_MAX_THREADS);
	}
	pthread_mutex_init(&r->worker_mutex, NULL);
	pthread_cond_init(&r->worker_cond, NULL);
	/* global: a read acquisition takes the write lock (the pre-2021 MMU). */
	lock->read_as_write = s == TDPMMU_STRATEGY_GLOBAL;
	return 0;
}

void reclaim_destroy(struct tdp_reclaim *r)
{
	pthread_cond_destroy(&r->worker_cond);
	pthread_mutex_destroy(&r->worker_mutex);
	free(r->walkers);
	r->walkers = NULL;
}

void reclaim_count_retired(struct tdp_reclaim *r, struct tdp_page *p)
{
	int64_t now = atomic_fetch_add_explicit(&r->outstanding, 1, memory_order_relaxed) + 1;
	int64_t peak = atomic_load_explicit(&r->peak_outstanding, memory_order_relaxed);

	while (now > peak && !atomic_compare_exchange_weak_explicit(&r->peak_outstanding, &peak,
								    now, memory_order_relaxed,
								    memory_order_relaxed))
		;
	if (atomic_exchange(&p->retired, 1))
		tdp_bug("table level %d gfn 0x%llx retired twice", p->level,
			(unsigned long long)p->gfn);
	tdp_count(&p->mmu->counters, TDPMMU_C_TABLES_RETIRED);
}

void reclaim_free_table(struct tdp_reclaim *r, struct tdp_page *p)
{
	struct tdp_mmu *mmu = p->mmu;

	tdp_page_free(&mmu->arena, p);
	tdp_count(&mmu->counters, TDPMMU_C_TABLES_FREED);
	atomic_fetch_sub_explicit(&r->outstanding, 1, memory_order_relaxed);
}

void reclaim_retire(struct tdp_reclaim *r, struct tdp_page *p)
{
	mmu_lock_assert_held_any(r->lock);
	reclaim_count_retired(r, p);
#ifdef TDP_BREAK_FREE_NO_WAIT
	/* Deliberately broken build (docs/testing.md): free at once. */
	reclaim_free_table(r, p);
	return;
#endif
	if (reclaim_uses_rcu(r))
		reclaim_rcu_retire(r, p);
	else
		reclaim_list_retire(r, p);
}

void reclaim_barrier(struct tdp_reclaim *r)
{
	if (reclaim_uses_rcu(r))
		reclaim_rcu_barrier(r);
	else
		reclaim_list_barrier(r);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

void reclaim_read_stats(struct tdp_reclaim *r, struct tdpmmu_reclaim_stats *out)
{
	struct tdp_mmu *mmu = container_of(r, struct tdp_mmu, reclaim);

	memset(out, 0, sizeof(*out));
	out->strategy = r->strategy;
	out->retired = (uint64_t)tdp_counter_read(&mmu->counters, TDPMMU_C_TABLES_RETIRED);
	out->freed = (uint64_t)tdp_counter_read(&mmu->counters, TDPMMU_C_TABLES_FREED);
	out->outstanding = (uint64_t)LOAD(r->outstanding);
	out->peak_outstanding = (uint64_t)LOAD(r->peak_outstanding);
	out->peak_outstanding_bytes = out->peak_outstanding * TDP_TABLE_BYTES;
	out->rcu_callbacks = LOAD(r->rcu_callbacks);
	out->drains = LOAD(r->drains);
	out->drain_flushes = LOAD(r->drain_flushes);
	out->trylock_failures = LOAD(r->trylock_failures);
	out->worker_drains = LOAD(r->worker_drains);
	out->holdoff_waits = LOAD(r->holdoff_waits);
	out->write_retries = LOAD(r->write_retries);
}
