/*
 * thread_slot.c - dense per-thread numbers, recycled at thread exit.
 *
 * Concurrency: the free map is protected by slot_mutex; slot numbers are
 * read by their owner only (thread-local), and the high-water mark is an
 * atomic that only grows (seq_cst, see tdp_thread_slot_assign).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/thread_slot.h"
#include "base/lock_rank.h"

__thread int tdp_self_slot; /* slot + 1; 0 = none yet */

static pthread_mutex_t slot_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool slot_used[TDP_MAX_THREADS];
static _Atomic int slot_limit;
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void slot_release(void *arg)
{
	int s = (int)(intptr_t)arg - 1;

	tdp_mutex_lock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	slot_used[s] = false;
	tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
}

static void slot_key_create(void)
{
	pthread_key_create(&slot_key, slot_release);
}

int tdp_thread_slot_try_assign(void)
{
	int s;

	if (tdp_self_slot > 0)
		return tdp_self_slot - 1;
	pthread_once(&slot_once, slot_key_create);
	tdp_mutex_lock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	for (s = 0; s < TDP_MAX_THREADS && slot_used[s]; s++)
		;
	if (s == TDP_MAX_THREADS) {
		tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
		return -EAGAIN;
	}
	slot_used[s] = true;
	/*
	 * seq_cst: a writer of the MMU lock that stores its flag and then reads
	 * the limit either sees this slot or is seen by this thread's first
	 * reader-indicator exchange (see mmu_lock.c).
	 */
	if (s + 1 > atomic_load_explicit(&slot_limit, memory_order_relaxed))
		atomic_store(&slot_limit, s + 1);
	tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	tdp_self_slot = s + 1;
	pthread_setspecific(slot_key, (void *)(intptr_t)(s + 1));
	return s;
}

int tdp_thread_slot_assign(void)
{
	int s = tdp_thread_slot_try_assign();

	if (s < 0)
		tdp_bug("more than %d threads use tdpmmu at once", TDP_MAX_THREADS);
	return s;
}

int tdp_thread_slot_limit(void)
{
	return atomic_load(&slot_limit);
}
