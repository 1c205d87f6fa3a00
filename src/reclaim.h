/*
 * reclaim.h - how disconnected page-table pages are freed.
 *
 * The MMU code talks to reclamation through five calls only, so the same
 * MMU code can run under every design argued in the seed thread:
 *
 *   reclaim_walk_begin/end  bracket every software walk of the tables
 *                           (faults, zaps, lookups); after walk_end the
 *                           walker holds no pointer into any table.
 *   reclaim_retire          a table has been unlinked, its entries frozen,
 *                           and the TLB flush covering it will be issued
 *                           before the retiring walk ends.  Called exactly
 *                           once per table, by the thread that unlinked it.
 *   reclaim_shared_end      called after every read-side MMU lock release.
 *   reclaim_barrier         wait until every retired table has been freed
 *                           (teardown; never inside a walk).
 *
 * The only strategy so far is upstream's: walks are RCU read-side sections
 * (liburcu memb flavour) and a retired table is freed by call_rcu after a
 * grace period.  Since the flush that covers a retired table is issued
 * before the retiring walk's section ends, the grace period cannot end
 * before the flush either: free always follows flush.
 */
#ifndef TDP_RECLAIM_H
#define TDP_RECLAIM_H

#include "mmu_page.h"
#include "rcu_thread.h"

enum tdp_reclaim_strategy {
	TDP_RECLAIM_RCU,
};

struct tdp_reclaim {
	enum tdp_reclaim_strategy strategy;
	/* Retired and not yet freed, and its high-water mark (own cache line). */
	_Atomic int64_t outstanding __cacheline_aligned;
	_Atomic int64_t peak_outstanding;
};

static inline void reclaim_walk_begin(struct tdp_reclaim *r)
{
	(void)r;
	tdp_rcu_read_lock();
}

static inline void reclaim_walk_end(struct tdp_reclaim *r)
{
	(void)r;
	tdp_rcu_read_unlock();
}

static inline void reclaim_shared_end(struct tdp_reclaim *r)
{
	(void)r; /* RCU needs nothing at the end of a shared section */
}

void reclaim_retire(struct tdp_reclaim *r, struct tdp_page *p);
void reclaim_barrier(struct tdp_reclaim *r);

#endif
