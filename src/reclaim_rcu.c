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
	tdp_tsan_release(&callbacks_done_clock);
}

void reclaim_retire(struct tdp_reclaim *r, struct tdp_page *p)
{
	(void)r;
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
