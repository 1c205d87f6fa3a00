/*
 * reclaim.h - how disconnected page-table pages are freed: the
 * reclamation policies behind one interface.
 *
 * A policy (enum tdp_reclaim_policy; what each does is the table in
 * reclaim_policy.c) is one half of a user's strategy; the other half, when
 * faults take which lock, is the MMU's fault-lock policy (mmu/fault_lock.h),
 * and mmu/strategy.c pairs them.
 *
 * Layering: reclamation sits below the MMU core and above the MMU lock
 * and the page metadata (mmu_lock.h, mmu_page.h), which it uses.  What it
 * needs from the MMU above it, a remote TLB flush and the freeing of a
 * table, the MMU hands it at init (struct tdp_reclaim_ops); it never
 * includes tdp_mmu.h or looks inside struct tdp_mmu.
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
 *                               list policies drain here.
 *   reclaim_barrier             free everything retired (teardown only).
 *
 * The rule every policy keeps: a table is freed only when no software
 * walker can still be in it and a remote TLB flush that started after its
 * unlink has completed (so no vCPU TLB entry or hardware walk uses it).
 *
 * rcu, rcu-qsbr (reclaim_rcu.c).  Every walk, lockless or not, is an RCU
 * read-side section; retire is call_rcu.  Flows that retire flush before
 * their walk ends, so the grace period also follows the flush.
 *
 * list, list-trylock, under-lock (reclaim_list.c).  Walks under the
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
#include "base/rcu_thread.h"
#include "tdpmmu/tdpmmu.h"

enum tdp_reclaim_policy {
	TDP_RECLAIM_RCU,          /* call_rcu, liburcu's memb flavour */
	TDP_RECLAIM_RCU_QSBR,     /* call_rcu, liburcu's QSBR flavour */
	TDP_RECLAIM_LIST,         /* retired list, drained with the write lock, freed after it */
	TDP_RECLAIM_LIST_TRYLOCK, /* the same; a reader's unlock only tries, a worker drains */
	TDP_RECLAIM_UNDER_LOCK,   /* retired list, freed before the write lock is released */
	TDP_NR_RECLAIM_POLICIES,
};

/* What a policy does: one row of the table in reclaim_policy.c. */
struct tdp_reclaim_traits {
	const char *name;
	bool rcu;             /* walks are RCU read-side sections; retire is call_rcu */
	bool qsbr;            /* ... of the QSBR flavour (vCPUs are offline in guest mode) */
	bool drain_trylock;   /* a reader's unlock only tries the write lock to drain */
	bool free_under_lock; /* a drained batch is freed before the write lock is released */
};

const struct tdp_reclaim_traits *tdp_reclaim_traits(enum tdp_reclaim_policy policy);

/* What reclamation needs from the MMU above it, given at init. */
struct tdp_reclaim_ops {
	void (*flush_all)(void *ctx);                      /* remote TLB flush, everything */
	void (*free_table)(void *ctx, struct tdp_page *p); /* back to the arena, counted */
	void *ctx;
};

/* One lockless-walk counter per thread slot: odd while the thread walks. */
struct reclaim_walker {
	_Atomic uint64_t seq;
} __cacheline_aligned;

struct tdp_reclaim {
	struct tdp_reclaim_traits pol; /* copied from the policy table: read on every walk */
	enum tdpmmu_strategy strategy; /* only reported, in the statistics */
	struct tdp_reclaim_ops ops;
	struct mmu_lock *lock;
	struct reclaim_walker *walkers; /* a tdp_slot_array; list policies only */
	unsigned drain_delay_ms;

	/* List policies: retired tables, and flushes started / completed. */
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
	_Atomic uint64_t retired, freed;
	_Atomic uint64_t rcu_callbacks, drains, drain_flushes, trylock_failures, worker_drains,
		holdoff_waits, write_retries;
};

/*
 * @strategy is only reported by reclaim_read_stats; @ops is copied.
 * -EINVAL for an unknown policy.
 */
int reclaim_init(struct tdp_reclaim *r, enum tdp_reclaim_policy policy,
		 enum tdpmmu_strategy strategy, struct mmu_lock *lock, unsigned drain_delay_ms,
		 const struct tdp_reclaim_ops *ops);
void reclaim_destroy(struct tdp_reclaim *r);

static inline bool reclaim_uses_rcu(const struct tdp_reclaim *r)
{
	return r->pol.rcu;
}

static inline void reclaim_walk_begin(struct tdp_reclaim *r)
{
	if (!r->pol.rcu)
		mmu_lock_assert_held_any(r->lock); /* the lock is the protection */
	else if (r->pol.qsbr)
		tdp_qsbr_enter();
	else
		tdp_rcu_read_lock();
}

static inline void reclaim_walk_end(struct tdp_reclaim *r)
{
	if (!r->pol.rcu)
		return;
	if (r->pol.qsbr)
		tdp_qsbr_exit();
	else
		tdp_rcu_read_unlock();
}

/*
 * Lockless walks, list policies: the seq_cst increment is a full barrier
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
 * A vCPU thread in tdpmmu_vcpu_run.  rcu-qsbr: online from its first guest
 * entry until the run returns (its walks nest inside at no cost), a
 * quiescent state at every guest entry, offline wherever it waits
 * (tdp_wait_yield); see rcu_qsbr_thread.h for why guest mode is bounded.
 */
static inline void reclaim_vcpu_run_begin(struct tdp_reclaim *r)
{
	if (r->pol.qsbr)
		tdp_qsbr_enter_bare();
}

static inline void reclaim_vcpu_run_end(struct tdp_reclaim *r)
{
	if (r->pol.qsbr)
		tdp_qsbr_exit_bare();
}

static inline void reclaim_vcpu_guest_entry(struct tdp_reclaim *r)
{
	if (r->pol.qsbr)
		tdp_qsbr_quiescent();
}

/* Returns the flush's start number (list policies), for reclaim_flush_end. */
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

void reclaim_unlock_slow(struct tdp_reclaim *r, enum tdp_lock_mode mode, bool vcpu);

/*
 * Release the MMU lock held in @mode; drains retired tables where the
 * policy says.  @vcpu: the vCPU layer unlocks (the drain's own write
 * acquisition is counted as the vCPU's, mmu_lock.h).
 */
static inline void reclaim_unlock_as(struct tdp_reclaim *r, enum tdp_lock_mode mode, bool vcpu)
{
	if (likely(!atomic_load_explicit(&r->list, memory_order_relaxed)))
		mmu_lock_release(r->lock, mode);
	else
		reclaim_unlock_slow(r, mode, vcpu);
}

static inline void reclaim_unlock(struct tdp_reclaim *r, enum tdp_lock_mode mode)
{
	reclaim_unlock_as(r, mode, false);
}

/* Free every table retired so far (teardown: no walks, no lock held). */
void reclaim_barrier(struct tdp_reclaim *r);

/* Shared by the policy files: count a retired table, free one. */
void reclaim_count_retired(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_free_table(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_list_retire(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_list_barrier(struct tdp_reclaim *r);
void reclaim_rcu_retire(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_rcu_barrier(struct tdp_reclaim *r);

void reclaim_read_stats(struct tdp_reclaim *r, struct tdpmmu_reclaim_stats *out);

#endif
