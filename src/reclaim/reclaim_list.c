/*
 * reclaim_list.c - the policies without RCU: list, list-trylock and
 * under-lock (see reclaim.h for the rule they keep).
 *
 * Retire pushes the table on a lock-free list (a CAS on the head; popping
 * takes the whole list with one exchange, so there is no ABA).  The list
 * is drained when the MMU lock is released:
 *
 *   list           after a read-side section: take the write lock, take
 *                  the list, unlock, free.  After a write-side section: take
 *                  the list, unlock, free.  (Strategy llist.)
 *   list-trylock   the same, but after a read-side section only try the
 *                  write lock; if it is busy, wake the worker, which waits
 *                  drain_delay_ms, then drains with the write lock until
 *                  the list stays empty.  (Strategy llist-trylock.)
 *   under-lock     tables are freed before the write lock is released,
 *                  right after the flush.  (Strategies wrlock and global,
 *                  where only an empty root is retired under the read
 *                  lock; its drain takes the write lock.)
 *
 * A section held in TDP_SHARED on a single lock (the global fault-lock
 * policy, mmu_lock.h) excludes everyone, so its unlock drains like a
 * write-side section's.
 *
 * Why a batch taken with the write lock held is safe to free: every table
 * on it was retired by a thread holding the MMU lock, so each read-side
 * section that could have reached it has ended; sections that start later
 * cannot reach it.  What is left are lockless walkers and vCPUs, and both
 * are covered by a completed flush that started after the retire (see
 * drain_batch): the flush waits for vCPUs to leave guest mode and for
 * lockless walks in progress to end (reclaim_flush_end_slow).
 */
#include <errno.h>
#include <sched.h>

#include "base/counters.h"
#include "base/lock_rank.h"
#include "reclaim/reclaim.h"

#define HOLDOFF_SPINS 128

void reclaim_list_retire(struct tdp_reclaim *r, struct tdp_page *p)
{
	struct tdp_page *head = atomic_load_explicit(&r->list, memory_order_relaxed);

	/* seq_cst, after the unlink: any flush numbered higher started later. */
	p->retire_flushes = atomic_load(&r->flushes_started);
	do {
		p->retire_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&r->list, &head, p, memory_order_release,
							memory_order_relaxed));
}

/* Wait for every lockless walk in progress to end (the flush's hold-off). */
static void wait_for_lockless_walkers(struct tdp_reclaim *r)
{
	int self = tdp_thread_slot();
	bool waited = false;

	for (int s = 0, n = tdp_thread_slot_limit(); s < n; s++) {
		uint64_t seq = atomic_load(&r->walkers[s].seq);

		if (!(seq & 1))
			continue;
		if (unlikely(s == self))
			tdp_bug("remote TLB flush from inside a lockless walk (thread slot %d)", s);
		/* Counted before the wait: a test can see a flush held off. */
		if (!waited)
			atomic_fetch_add_explicit(&r->holdoff_waits, 1, memory_order_relaxed);
		waited = true;
		for (unsigned spins = 0;
		     atomic_load_explicit(&r->walkers[s].seq, memory_order_acquire) == seq;
		     spins++) {
			if (spins < HOLDOFF_SPINS)
				cpu_relax();
			else
				sched_yield(); /* the walker may be preempted */
		}
	}
}

void reclaim_flush_end_slow(struct tdp_reclaim *r, uint64_t started)
{
	uint64_t done;

	wait_for_lockless_walkers(r);
	done = atomic_load(&r->flushes_done);
	while (done < started && !atomic_compare_exchange_weak(&r->flushes_done, &done, started))
		;
}

/* Free a batch taken off the list, flushing first if no flush covers it. */
static void drain_batch(struct tdp_reclaim *r, struct tdp_page *batch)
{
	uint64_t newest = 0;

	if (!batch)
		return;
	for (struct tdp_page *p = batch; p; p = p->retire_next)
		if (p->retire_flushes > newest)
			newest = p->retire_flushes;
	if (atomic_load(&r->flushes_done) <= newest) {
		r->ops.flush_all(r->ops.ctx); /* the MMU's flush: reclaim_flush_begin/end */
		atomic_fetch_add_explicit(&r->drain_flushes, 1, memory_order_relaxed);
	}
	while (batch) {
		struct tdp_page *next = batch->retire_next;

		reclaim_free_table(r, batch);
		batch = next;
	}
	atomic_fetch_add_explicit(&r->drains, 1, memory_order_relaxed);
}

/* Called with the lock held in @mode, excluding everyone; releases it. */
static void drain_and_unlock(struct tdp_reclaim *r, enum tdp_lock_mode mode)
{
	struct tdp_page *batch = atomic_exchange(&r->list, NULL);

	if (r->pol.free_under_lock) {
		drain_batch(r, batch);
		mmu_lock_release(r->lock, mode);
	} else {
		mmu_lock_release(r->lock, mode);
		drain_batch(r, batch);
	}
}

static void kick_worker(struct tdp_reclaim *r);

void reclaim_unlock_slow(struct tdp_reclaim *r, enum tdp_lock_mode mode, bool vcpu)
{
	mmu_lock_assert_held(r->lock, mode);
	if (mode == TDP_EXCLUSIVE || mmu_lock_is_single(r->lock)) {
		drain_and_unlock(r, mode);
		return;
	}
	mmu_lock_release(r->lock, mode);
	if (r->pol.drain_trylock) {
		if (!mmu_lock_write_trylock_as(r->lock, vcpu)) {
			atomic_fetch_add_explicit(&r->trylock_failures, 1, memory_order_relaxed);
			kick_worker(r);
			return;
		}
	} else {
		mmu_lock_write_as(r->lock, vcpu);
	}
	drain_and_unlock(r, TDP_EXCLUSIVE);
}

/* Drain with the write lock until the list stays empty; returns the passes made. */
static unsigned drain_until_empty(struct tdp_reclaim *r)
{
	unsigned passes = 0;

	while (atomic_load(&r->list)) {
		mmu_lock_write(r->lock);
		drain_and_unlock(r, TDP_EXCLUSIVE);
		passes++;
	}
	return passes;
}

static void *drain_worker(void *arg)
{
	struct tdp_reclaim *r = arg;

	tdp_mutex_lock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	for (;;) {
		struct timespec until;

		while (!r->worker_kicked && !r->worker_stop)
			pthread_cond_wait(&r->worker_cond, &r->worker_mutex);
		if (r->worker_stop)
			break;
		until = tdp_deadline_after_ms(r->drain_delay_ms);
		while (!r->worker_stop && pthread_cond_timedwait(&r->worker_cond, &r->worker_mutex,
								 &until) != ETIMEDOUT)
			;
		if (r->worker_stop)
			break;
		/* Kicks from now on ask for another pass after this one. */
		r->worker_kicked = false;
		/* No thread slot free: skip the pass (read unlocks and the barrier drain). */
		if (tdp_thread_slot_get() < 0)
			continue;
		tdp_mutex_unlock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
		atomic_fetch_add_explicit(&r->worker_drains, drain_until_empty(r),
					  memory_order_relaxed);
		tdp_mutex_lock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	}
	tdp_mutex_unlock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	return NULL;
}

static void kick_worker(struct tdp_reclaim *r)
{
	tdp_mutex_lock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	if (!r->worker_running && !r->worker_stop)
		r->worker_running = !pthread_create(&r->worker, NULL, drain_worker, r);
	r->worker_kicked = true;
	pthread_cond_broadcast(&r->worker_cond);
	tdp_mutex_unlock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	/* No worker (thread creation failed): drain here rather than leak. */
	if (!r->worker_running)
		drain_until_empty(r);
}

void reclaim_list_barrier(struct tdp_reclaim *r)
{
	bool running;

	tdp_mutex_lock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	r->worker_stop = true;
	running = r->worker_running;
	pthread_cond_broadcast(&r->worker_cond);
	tdp_mutex_unlock(&r->worker_mutex, TDP_RANK_RECLAIM_WORKER);
	if (running)
		pthread_join(r->worker, NULL);
	drain_until_empty(r);
}
