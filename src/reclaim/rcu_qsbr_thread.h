/*
 * rcu_qsbr_thread.h - liburcu's QSBR flavour for the rcu-qsbr strategy.
 *
 * A QSBR reader costs nothing: no store, no fence.  The price is that every
 * registered thread must say when it holds no reference (a quiescent
 * state), or be "offline"; a registered thread that is online and never
 * announces one stalls every grace period.  Going offline and online again
 * costs three full fences; announcing a quiescent state costs one load and
 * a compare unless a grace period is waiting for this thread (then it is
 * the same three fences, once per grace period).  tdpmmu keeps a thread
 * offline except while it uses the tables:
 *
 *   tdp_qsbr_enter / tdp_qsbr_exit  nest; the outermost enter brings the
 *                                   thread online, the outermost exit takes
 *                                   it offline again, which is a quiescent
 *                                   state.
 *
 * A software walk brackets itself with them.  A vCPU thread instead stays
 * online for the whole of tdpmmu_vcpu_run from its first guest entry
 * (tdp_qsbr_enter_bare/exit_bare, below), announces a quiescent state at
 * every guest entry (tdp_qsbr_quiescent), and goes offline only where it
 * waits (tdp_qsbr_quiescent_begin/end, tdp_wait_yield) and when
 * tdpmmu_vcpu_run returns.  Its walks then touch only a thread-local
 * counter and an EPT violation costs no fence.  This is the kernel's guest
 * entry without context tracking (rcu_virt_note_context_switch: a
 * quiescent state at entry, guest mode bounded by the tick) rather than
 * the extended quiescent state that context tracking makes of guest mode
 * (ct_guest_enter, nohz_full).  Our bound for guest mode: a vCPU leaves
 * it, and enters again, at least every TDPMMU_GUEST_BURST accesses, and
 * the guest function between two accesses must not block (tdpmmu.h: the
 * same rule that lets a TLB flush wait for guest mode to end).  So a grace
 * period waits at most for one burst of a vCPU spinning in guest mode
 * (test_qsbr_guest), and, unlike the kernel's, for the OS to run again a
 * vCPU thread it preempted inside tdpmmu_vcpu_run (more vCPU threads than
 * cores: a scheduling round).  A thread that blocks outside tdpmmu, or idles
 * between tdpmmu_vcpu_run calls, is offline and never holds up a grace
 * period.
 *
 * Threads register on first use and unregister at exit (a pthread key).
 */
#ifndef TDP_RCU_QSBR_THREAD_H
#define TDP_RCU_QSBR_THREAD_H

#include <sched.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include "base/compiler.h"
#include "base/mutant.h"
#include "base/rcu_thread.h"

extern __thread bool tdp_qsbr_registered;
extern __thread unsigned tdp_qsbr_depth;
extern char tdp_qsbr_tsan_clock;
void tdp_qsbr_register_slow(void);

static inline void tdp_qsbr_enter(void)
{
	if (unlikely(!tdp_qsbr_registered))
		tdp_qsbr_register_slow();
	if (tdp_qsbr_depth++ == 0)
		urcu_qsbr_thread_online();
}

static inline void tdp_qsbr_exit(void)
{
	if (--tdp_qsbr_depth == 0) {
		/* TSan: what this thread did is ordered before later frees. */
		tdp_tsan_release(&tdp_qsbr_tsan_clock);
		urcu_qsbr_thread_offline();
	}
}

/*
 * The vCPU bracket: a vCPU thread is online from its first guest entry
 * until tdpmmu_vcpu_run returns (reclaim_vcpu_run_begin/end) although it
 * holds no reference between its walks.  tdp_qsbr_bare counts these
 * enters, so "no walk open" is tdp_qsbr_depth == tdp_qsbr_bare: the thread
 * may go quiescent there, and only there.
 */
extern __thread unsigned tdp_qsbr_bare;

static inline void tdp_qsbr_enter_bare(void)
{
	tdp_qsbr_enter();
	tdp_qsbr_bare++;
}

static inline void tdp_qsbr_exit_bare(void)
{
	tdp_qsbr_bare--;
	tdp_qsbr_exit();
}

/*
 * A quiescent state inside the vCPU bracket, at guest entry: everything
 * this thread read from the tables before it may be freed once every
 * other online thread has announced one too.  Only with no walk open
 * (debug builds check).  The mutant never announces one, so only the
 * return from tdpmmu_vcpu_run ends a grace period (test_qsbr_guest).
 */
static inline void tdp_qsbr_quiescent(void)
{
#ifdef TDP_DEBUG
	if (tdp_qsbr_depth != tdp_qsbr_bare || !tdp_qsbr_depth)
		tdp_bug("rcu-qsbr: quiescent state outside the vCPU bracket or inside a walk");
#endif
	if (TDP_MUTANT(GUEST_NO_QS))
		return;
	/* TSan: what this thread did is ordered before later frees. */
	tdp_tsan_release(&tdp_qsbr_tsan_clock);
	urcu_qsbr_quiescent_state();
}

/*
 * Waits.  The invariant: a thread online under rcu-qsbr never waits,
 * spins or sleeps without going quiescent, unless a walk is open (then it
 * holds references and may only wait for a short critical section of
 * another thread, such as a FROZEN entry's owner).  Otherwise one vCPU
 * retrying against an invalidation that lasts seconds stops every grace
 * period for seconds (issue 19).  Every wait outside the walks goes
 * through these:
 *
 *   tdp_qsbr_quiescent_begin/end  around a sleep or futex wait: offline
 *                                 meanwhile if the thread is online with
 *                                 no walk open (a no-op otherwise);
 *   tdp_wait_yield                a retry loop's sched_yield, the same.
 *
 * The checker (debug builds, rcu_qsbr_thread.c): sched_yield itself is
 * replaced by one that BUGs when the calling thread is online with no walk
 * open, so a retry loop that yields by hand is caught the first time it
 * runs under rcu-qsbr (the torture, the concurrency tests).  An injected
 * delay (base/inject.h) outside a walk stands for the thread being
 * preempted there, which no code chose: bracket it with
 * tdp_qsbr_preempt_begin/end and the checker lets its yield pass.
 */
#ifdef TDP_DEBUG
extern __thread unsigned tdp_qsbr_preempted;
#define tdp_qsbr_preempt_begin() (tdp_qsbr_preempted++)
#define tdp_qsbr_preempt_end() (tdp_qsbr_preempted--)
#else
#define tdp_qsbr_preempt_begin() ((void)0)
#define tdp_qsbr_preempt_end() ((void)0)
#endif

static inline bool tdp_qsbr_quiescent_begin(void)
{
	if (!tdp_qsbr_depth || tdp_qsbr_depth != tdp_qsbr_bare)
		return false;
	tdp_tsan_release(&tdp_qsbr_tsan_clock);
	urcu_qsbr_thread_offline();
	return true;
}

static inline void tdp_qsbr_quiescent_end(bool offline)
{
	if (offline)
		urcu_qsbr_thread_online();
}

static inline void tdp_wait_yield(void)
{
	bool offline;

	/* The mutant stays online, and hides from the checker (docs/testing.md). */
	if (TDP_MUTANT(ONLINE_WAIT)) {
		syscall(SYS_sched_yield);
		return;
	}
	offline = tdp_qsbr_quiescent_begin();
	sched_yield();
	tdp_qsbr_quiescent_end(offline);
}

#endif
