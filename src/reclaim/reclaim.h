/*
 * reclaim.h - how disconnected page-table pages are freed: the seed
 * thread's strategies behind one interface.
 *
 * The MMU code talks to reclamation through these calls only:
 *
 *   reclaim_walk_begin/end      bracket a software walk made with the MMU
 *                               lock held (either mode); after walk_end the
 *                               walker holds no pointer into any table.
 *   reclaim_lockless_begin/end  bracket a walk made without the MMU lock
 *                               (fast page fault, aging, lookups).
 *   reclaim_retire              a table has been unlinked, its entries
 *                               frozen; exactly once per table, by the
 *                               thread that unlinked it, lock held.
 *   reclaim_flush_begin/end     bracket every remote TLB flush.
 *   reclaim_unlock              release the MMU lock (tdp_mmu_unlock); the
 *                               list strategies drain here.
 *   reclaim_barrier             free everything retired (teardown only).
 *
 * The rule every strategy keeps: a table is freed only when no software
 * walker can still be in it and a remote TLB flush that started after its
 * unlink has completed (so no vCPU TLB entry or hardware walk uses it).
 *
 * rcu, rcu-qsbr (reclaim_rcu.c).  Every walk, lockless or not, is an RCU
 * read-side section; retire is call_rcu.  Flows that retire flush before
 * their walk ends, so the grace period also follows the flush.
 *
 * llist, llist-trylock, wrlock, global (reclaim_list.c).  Walks under the
 * MMU lock need nothing: the list is drained with the write lock held, so
 * every read-side section that could have seen a table has ended.  A
 * lockless walker instead makes its thread's walk counter odd, and every
 * flush waits for each odd counter to move before it completes (the
 * legacy MMU's "walk with interrupts off, so the flush IPI waits").  Each
 * retired table records how many flushes had started; a drain frees a
 * batch only if a flush that started later has completed, and issues one
 * itself otherwise.
 */
#ifndef TDP_RECLAIM_H
#define TDP_RECLAIM_H

#include <pthread.h>
#include <stdatomic.h>

#include "mmu/mmu_lock.h"
#include "mmu/mmu_page.h"
#include "reclaim/rcu_qsbr_thread.h"
#include "reclaim/rcu_thread.h"
#include "tdpmmu/tdpmmu.h"

/* One lockless-walk counter per thread slot: odd while the thread walks. */
struct reclaim_walker {
	_Atomic uint64_t seq;
} __cacheline_aligned;

struct tdp_reclaim {
	enum tdpmmu_strategy strategy;
	struct mmu_lock *lock;
	struct reclaim_walker *walkers; /* TDP_MAX_THREADS; list strategies only */
	unsigned drain_delay_ms;

	/* List strategies: retired tables, and flushes started / completed. */
	struct tdp_page *_Atomic list __cacheline_aligned;
	_Atomic uint64_t flushes_started;
	_Atomic uint64_t flushes_done; /* highest start number of a completed flush */

	/* llist-trylock's delayed drain worker (mutex guards the flags). */
	pthread_mutex_t worker_mutex;
	pthread_cond_t worker_cond;
	pthread_t worker;
	bool worker_running, worker_kicked, worker_stop;

	/* Retired and not yet freed, its high-water mark, what was done (own line). */
	_Atomic int64_t outstanding __cacheline_aligned;
	_Atomic int64_t peak_outstanding;
	_Atomic uint64_t rcu_callbacks, drains, drain_flushes, trylock_failures, worker_drains,
		holdoff_waits, write_retries;
};

int reclaim_init(struct tdp_reclaim *r, enum tdpmmu_strategy s, struct mmu_lock *lock,
		 unsigned drain_delay_ms);
void reclaim_destroy(struct tdp_reclaim *r);

static inline bool reclaim_uses_rcu(const struct tdp_reclaim *r)
{
	return r->strategy == TDPMMU_STRATEGY_RCU || r->strategy == TDPMMU_STRATEGY_RCU_QSBR;
}

/* May a table be unlinked under the read lock?  Not under wrlock and global. */
static inline bool reclaim_shared_unlink_ok(const struct tdp_reclaim *r)
{
	return r->strategy != TDPMMU_STRATEGY_WRLOCK && r->strategy != TDPMMU_STRATEGY_GLOBAL;
}

static inline void reclaim_walk_begin(struct tdp_reclaim *r)
{
	if (r->strategy == TDPMMU_STRATEGY_RCU)
		tdp_rcu_read_lock();
	else if (r->strategy == TDPMMU_STRATEGY_RCU_QSBR)
		tdp_qsbr_enter();
	else
		mmu_lock_assert_held_any(r->lock); /* the lock is the protection */
}

static inline void reclaim_walk_end(struct tdp_reclaim *r)
{
	if (r->strategy == TDPMMU_STRATEGY_RCU)
		tdp_rcu_read_unlock();
	else if (r->strategy == TDPMMU_STRATEGY_RCU_QSBR)
		tdp_qsbr_exit();
}

/*
 * Lockless walks, list strategies: the seq_cst increment is a full barrier
 * (a locked instruction on x86), so either a flusher that reads the counter
 * after its unlink sees it odd and waits, or this walk reads the entries
 * after the unlink and cannot reach the table.
 */
static inline void reclaim_lockless_begin(struct tdp_reclaim *r)
{
	if (reclaim_uses_rcu(r)) {
		reclaim_walk_begin(r);
		return;
	}
	atomic_fetch_add(&r->walkers[tdp_thread_slot()].seq, 1);
}

static inline void reclaim_lockless_end(struct tdp_reclaim *r)
{
	if (reclaim_uses_rcu(r)) {
		reclaim_walk_end(r);
		return;
	}
	/* Release: the walk's reads are done before a flusher sees it end. */
	atomic_fetch_add_explicit(&r->walkers[tdp_thread_slot()].seq, 1, memory_order_release);
}

void reclaim_retire(struct tdp_reclaim *r, struct tdp_page *p);

/*
 * A vCPU leaves guest mode to handle a violation / goes back in.  rcu-qsbr:
 * online in between (its walks nest inside at no cost), offline in guest
 * mode, and every entry is a quiescent state.
 */
static inline void reclaim_vcpu_exit(struct tdp_reclaim *r)
{
	if (r->strategy == TDPMMU_STRATEGY_RCU_QSBR)
		tdp_qsbr_enter();
}

static inline void reclaim_vcpu_enter(struct tdp_reclaim *r)
{
	if (r->strategy == TDPMMU_STRATEGY_RCU_QSBR)
		tdp_qsbr_exit();
}

/* Returns the flush's start number (list strategies), for reclaim_flush_end. */
static inline uint64_t reclaim_flush_begin(struct tdp_reclaim *r)
{
	if (reclaim_uses_rcu(r))
		return 0;
	return atomic_fetch_add(&r->flushes_started, 1) + 1;
}

void reclaim_flush_end_slow(struct tdp_reclaim *r, uint64_t started);

static inline void reclaim_flush_end(struct tdp_reclaim *r, uint64_t started)
{
	if (!reclaim_uses_rcu(r))
		reclaim_flush_end_slow(r, started);
}

void reclaim_unlock_slow(struct tdp_reclaim *r, enum tdp_lock_mode mode);

/* Release the MMU lock held in @mode; drains retired tables where the strategy says. */
static inline void reclaim_unlock(struct tdp_reclaim *r, enum tdp_lock_mode mode)
{
	if (likely(!atomic_load_explicit(&r->list, memory_order_relaxed)))
		mmu_lock_release(r->lock, mode);
	else
		reclaim_unlock_slow(r, mode);
}

/* Free every table retired so far (teardown: no walks, no lock held). */
void reclaim_barrier(struct tdp_reclaim *r);

/* Shared by the strategy files: count a retired table, free one. */
void reclaim_count_retired(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_free_table(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_list_retire(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_list_barrier(struct tdp_reclaim *r);
void reclaim_rcu_retire(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_rcu_barrier(struct tdp_reclaim *r);

void reclaim_read_stats(struct tdp_reclaim *r, struct tdpmmu_reclaim_stats *out);

#endif
