/*
 * reclaim.c - what every reclamation policy shares: set-up, the
 * retired/freed accounting, dispatch to the policy, statistics.
 *
 * Concurrency: the counters are atomics updated by whichever thread
 * retires or frees; the policy itself is fixed when the VM is created.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/counters.h"
#include "base/mutant.h"
#include "reclaim/reclaim.h"

int reclaim_init(struct tdp_reclaim *r, enum tdp_reclaim_policy policy,
		 enum tdpmmu_strategy strategy, struct mmu_lock *lock, unsigned drain_delay_ms,
		 const struct tdp_reclaim_ops *ops)
{
	const struct tdp_reclaim_traits *pol = tdp_reclaim_traits(policy);

	if (!pol || !ops || !ops->flush_all || !ops->free_table)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->pol = *pol;
	r->strategy = strategy;
	r->ops = *ops;
	r->lock = lock;
	r->drain_delay_ms = drain_delay_ms;
	if (!reclaim_uses_rcu(r)) {
		/* Fixed addresses, committed as slots appear (thread_slot.h). */
		r->walkers = tdp_slot_array_alloc(sizeof(*r->walkers));
		if (!r->walkers)
			return -ENOMEM;
	}
	pthread_mutex_init(&r->worker_mutex, NULL);
	pthread_cond_init(&r->worker_cond, NULL);
	return 0;
}

void reclaim_destroy(struct tdp_reclaim *r)
{
	pthread_cond_destroy(&r->worker_cond);
	pthread_mutex_destroy(&r->worker_mutex);
	tdp_slot_array_free(r->walkers, sizeof(*r->walkers));
	r->walkers = NULL;
}

void reclaim_count_retired(struct tdp_reclaim *r, struct tdp_page *p)
{
	int64_t now = atomic_fetch_add_explicit(&r->outstanding, 1, memory_order_relaxed) + 1;
	int64_t peak = atomic_load_explicit(&r->peak_outstanding, memory_order_relaxed);

	while (now > peak &&
	       !atomic_compare_exchange_weak_explicit(&r->peak_outstanding, &peak, now,
						      memory_order_relaxed, memory_order_relaxed))
		;
	if (atomic_exchange(&p->retired, 1))
		tdp_bug("table level %d gfn 0x%llx retired twice", p->level,
			(unsigned long long)p->gfn);
	atomic_fetch_add_explicit(&r->retired, 1, memory_order_relaxed);
}

void reclaim_free_table(struct tdp_reclaim *r, struct tdp_page *p)
{
	r->ops.free_table(r->ops.ctx, p);
	atomic_fetch_add_explicit(&r->freed, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&r->outstanding, 1, memory_order_relaxed);
}

void reclaim_retire(struct tdp_reclaim *r, struct tdp_page *p)
{
	mmu_lock_assert_held_any(r->lock);
	reclaim_count_retired(r, p);
	if (TDP_MUTANT(FREE_NO_WAIT)) /* the mutant frees at once (docs/testing.md) */
		reclaim_free_table(r, p);
	else if (reclaim_uses_rcu(r))
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
	memset(out, 0, sizeof(*out));
	out->strategy = r->strategy;
	out->retired = LOAD(r->retired);
	out->freed = LOAD(r->freed);
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
