/*
 * rcu_qsbr_thread.h - liburcu's QSBR flavour for the rcu-qsbr strategy.
 *
 * A QSBR reader costs nothing: no store, no fence.  The price is that every
 * registered thread must say when it holds no reference (a quiescent
 * state), or be "offline"; a registered thread that is online and never
 * announces one stalls every grace period.  tdpmmu keeps a thread offline
 * except while it uses the tables:
 *
 *   tdp_qsbr_enter / tdp_qsbr_exit  nest; the outermost enter brings the
 *                                   thread online, the outermost exit takes
 *                                   it offline again, which is a quiescent
 *                                   state.
 *
 * A software walk brackets itself with them.  A vCPU thread enters when it
 * leaves guest mode for a violation and exits when it goes back in, so its
 * walks on the fault path only touch a thread-local counter, it is offline
 * while in guest mode, and every guest entry announces a quiescent state.
 * A thread that blocks outside tdpmmu, or idles between tdpmmu_vcpu_run
 * calls, is offline and never holds up a grace period.
 *
 * Threads register on first use and unregister at exit (a pthread key).
 */
#ifndef TDP_RCU_QSBR_THREAD_H
#define TDP_RCU_QSBR_THREAD_H

#include <stdbool.h>
#include <urcu/urcu-qsbr.h>

#include "base/compiler.h"
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
 * Around a sleep of a thread that is online but holds no reference (a
 * vCPU blocked on a host fault, outside every walk): offline meanwhile,
 * as a sleeping kernel thread is in a quiescent state.  No-ops on a
 * thread that is offline anyway.
 */
static inline void tdp_qsbr_sleep_begin(void)
{
	if (tdp_qsbr_depth) {
		tdp_tsan_release(&tdp_qsbr_tsan_clock);
		urcu_qsbr_thread_offline();
	}
}

static inline void tdp_qsbr_sleep_end(void)
{
	if (tdp_qsbr_depth)
		urcu_qsbr_thread_online();
}

#endif
