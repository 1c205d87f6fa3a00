/* rcu_thread.c - lazy liburcu thread registration (see rcu_thread.h). */
#include <pthread.h>

#include "base/rcu_thread.h"

__thread bool tdp_rcu_registered;
char tdp_rcu_tsan_clock;

static pthread_key_t rcu_key;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	urcu_memb_unregister_thread();
	tdp_rcu_registered = false;
}

static void rcu_key_create(void)
{
	pthread_key_create(&rcu_key, rcu_thread_exit);
}

void tdp_rcu_register_slow(void)
{
	pthread_once(&rcu_once, rcu_key_create);
	urcu_memb_register_thread();
	tdp_rcu_registered = true;
	pthread_setspecific(rcu_key, (void *)1);
}

#ifndef _LGPL_SOURCE
extern int urcu_memb_has_sys_membarrier; /* declared only by the inline header */
#endif

bool tdp_rcu_membarrier_active(void)
{
	/* liburcu decides at library load; the flag is set by its constructor. */
	return urcu_memb_has_sys_membarrier != 0;
}
