/*
 * reclaim_rcu.c - the rcu and rcu-qsbr policies: call_rcu after unlink.
 *
 * Concurrency: reclaim_retire runs inside a walk (a read-side section of
 * the VM's flavour) on the thread that unlinked the table; the callback
 * runs on liburcu's call_rcu worker after a grace period, when no walk that
 * could have seen the table is still running.  Nobody else touches the
 * table's metadata after retire, so the callback may free it.
 */
#include "base/counters.h"
#include "reclaim/reclaim.h"

/*
 * liburcu declares call_rcu and rcu_barrier for the first flavour a file
 * includes (memb here); the QSBR ones are the library's exported symbols.
 */
void urcu_qsbr_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void urcu_qsbr_barrier(void);

/* TSan: every callback happens before the rcu_barrier that waits for it. */
static char callbacks_done_clock;

static void rcu_free_table(struct rcu_head *head)
{
	struct tdp_page *p = container_of(head, struct tdp_page, rcu);
	struct tdp_reclaim *r;

	/* TSan cannot see a grace period: every section end released these. */
	tdp_tsan_acquire(&tdp_rcu_tsan_clock);
	tdp_tsan_acquire(&tdp_qsbr_tsan_clock);
	tdp_tsan_acquire(p);
	r = p->rcu_owner;
	/* liburcu's thread counts the free in its shard: wait for a slot, never BUG. */
	tdp_thread_slot_wait();
	reclaim_free_table(r, p);
	atomic_fetch_add_explicit(&r->rcu_callbacks, 1, memory_order_relaxed);
	tdp_tsan_release(&callbacks_done_clock);
}

void reclaim_rcu_retire(struct tdp_reclaim *r, struct tdp_page *p)
{
	p->rcu_owner = r;
	tdp_tsan_release(p);
	if (r->pol.qsbr)
		urcu_qsbr_call_rcu(&p->rcu, rcu_free_table);
	else
		urcu_memb_call_rcu(&p->rcu, rcu_free_table);
}

void reclaim_rcu_barrier(struct tdp_reclaim *r)
{
	if (r->pol.qsbr) {
		if (!tdp_qsbr_registered)
			tdp_qsbr_register_slow();
		urcu_qsbr_barrier(); /* the caller is offline: it holds nothing */
	} else {
		if (!tdp_rcu_registered)
			tdp_rcu_register_slow();
		urcu_memb_barrier();
	}
	tdp_tsan_acquire(&callbacks_done_clock);
}
