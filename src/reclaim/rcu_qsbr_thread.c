/*
 * rcu_qsbr_thread.c - lazy QSBR registration, and the debug builds' check
 * of the wait rule (see rcu_qsbr_thread.h).
 */
#include <pthread.h>

#include "reclaim/rcu_qsbr_thread.h"

__thread bool tdp_qsbr_registered;
__thread unsigned tdp_qsbr_depth;
__thread unsigned tdp_qsbr_bare;
char tdp_qsbr_tsan_clock;

static pthread_key_t qsbr_key;
static pthread_once_t qsbr_once = PTHREAD_ONCE_INIT;

static void qsbr_thread_exit(void *arg)
{
	(void)arg;
	/* Unregistering takes the thread offline first if it is online. */
	urcu_qsbr_unregister_thread();
	tdp_qsbr_registered = false;
}

static void qsbr_key_create(void)
{
	pthread_key_create(&qsbr_key, qsbr_thread_exit);
}

void tdp_qsbr_register_slow(void)
{
	pthread_once(&qsbr_once, qsbr_key_create);
	urcu_qsbr_register_thread(); /* registers online... */
	urcu_qsbr_thread_offline();  /* ...and tdpmmu threads are offline by default */
	tdp_qsbr_registered = true;
	pthread_setspecific(qsbr_key, (void *)1);
}

#ifdef TDP_DEBUG
__thread unsigned tdp_qsbr_preempted;

/*
 * The checker of the wait rule: in debug builds this sched_yield replaces
 * libc's for the whole program (the library is linked before libc).  A
 * thread that is online under rcu-qsbr with no walk open holds nothing, so
 * waiting there without going offline only stops grace periods: a BUG,
 * however short the wait was this time.  Inside a walk a yield is allowed
 * (waiting for another thread's short critical section, or an injected
 * delay), and so is an injected delay that stands for preemption
 * (tdp_qsbr_preempt_begin).  Threads outside rcu-qsbr are offline (depth
 * 0) and pass.
 */
int sched_yield(void)
{
	if (tdp_qsbr_depth && tdp_qsbr_depth == tdp_qsbr_bare && !tdp_qsbr_preempted &&
	    urcu_qsbr_read_ongoing())
		tdp_bug("rcu-qsbr: a thread online with no walk open yields without going "
			"quiescent (use tdp_wait_yield, rcu_qsbr_thread.h)");
	return (int)syscall(SYS_sched_yield);
}
#endif
