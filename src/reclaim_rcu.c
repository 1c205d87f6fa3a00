/*
 * reclaim_rcu.c - upstream's reclamation: call_rcu after unlinking.
 *
 * Concurrency: reclaim_retire runs inside a walk (an RCU read-side
 * section) on the thread that unlinked the table; the callback runs on
 * liburcu's call_rcu worker after a grace period, when no walk that could
 * have seen the table is still running.  The table's metadata is not
 * touched by anyone else after retire, so the callback may free it.
 */
#include "counters.h"
#include "reclaim.h"
#include "tdp_mmu.h"

/* TSan: every callback happens before the rcu_barrier that waits for it. */
static char callbacks_done_clock;

static void rcu_free_table(struct rcu_head *head)
{
	struct tdp_page *p = container_of(head, struct tdp_page, rcu);
	struct tdp_mmu *mmu;

	tdp_tsan_acquire(&tdp_rcu_tsan_clock);
	tdp_tsan_acquire(p);
	mmu = p->mmu;
	tdp_page_free(&mmu->arena, p);
	tdp_count(&mmu->counters, TDPMMU_C_TABLES_FREED);
	atomic_fetch_sub_explicit(&mmu->reclaim.outstanding, 1, memory_order_relaxed);
	tdp_tsan_release(&callbacks_done_clock);
}

/* Count a retired table and raise the high-water mark if it is passed. */
static void count_outstanding(struct tdp_reclaim *r)
{
	int64_t now = atomic_fetch_add_explicit(&r->outstanding, 1, memory_order_relaxed) + 1;
	int64_t peak = atomic_load_explicit(&r->peak_outstanding, memory_order_relaxed);

	while (now > peak && !atomic_compare_exchange_weak_explicit(&r->peak_outstanding, &peak,
								    now, memory_order_relaxed,
								    memory_order_relaxed))
		;
}

void reclaim_retire(struct tdp_reclaim *r, struct tdp_page *p)
{
	count_outstanding(r);
	if (atomic_exchange(&p->retired, 1))
		tdp_bug("table level %d gfn 0x%llx retired twice", p->level,
			(unsigned long long)p->gfn);
	tdp_count(&p->mmu->counters, TDPMMU_C_TABLES_RETIRED);
	tdp_tsan_release(p);
	urcu_memb_call_rcu(&p->rcu, rcu_free_table);
}

void reclaim_barrier(struct tdp_reclaim *r)
{
	(void)r;
	if (!tdp_rcu_registered)
		tdp_rcu_register_slow();
	urcu_memb_barrier();
	tdp_tsan_acquire(&callbacks_done_clock);
}
