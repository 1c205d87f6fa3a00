/* rcu_qsbr_thread.c - lazy QSBR registration (see rcu_qsbr_thread.h). */
#include <pthread.h>

#include "reclaim/rcu_qsbr_thread.h"

__thread bool tdp_qsbr_registered;
__thread unsigned tdp_qsbr_depth;
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
