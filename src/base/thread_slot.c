/*
 * thread_slot.c - dense per-thread numbers, recycled at thread exit, and
 * the arrays indexed by them (see thread_slot.h for growth and limits).
 *
 * Concurrency: the free map and the cap are protected by slot_mutex; slot
 * numbers are read by their owner only (thread-local), and the high-water
 * mark is an atomic that only grows (seq_cst, see slot_take_locked).
 * A thread that must have a slot (tdp_thread_slot_wait) sleeps on
 * slot_freed, which every release and cap change broadcasts.  A per-slot array is one mapping made at its
 * owner's init and unmapped at its destroy: between the two, every element
 * has a fixed address, so a thread that takes a new slot while others scan
 * the array only writes memory the scanners may read as zero until then
 * (the kernel commits the page on first touch; a read before maps the zero
 * page).  No pointer is ever published, swapped or freed while the array
 * lives, so readers need no ordering beyond what each array's own protocol
 * gives its elements (the MMU lock's indicator handshake, relaxed sums).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/thread_slot.h"
#include "base/lock_rank.h"

__thread int tdp_self_slot; /* slot + 1; 0 = none yet */

static pthread_mutex_t slot_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_freed = PTHREAD_COND_INITIALIZER; /* slot_mutex */
static int slot_waiters;                                     /* slot_mutex */
static bool slot_used[TDP_MAX_THREADS];
static int slot_cap = TDP_MAX_THREADS; /* slot_mutex */
static _Atomic int slot_limit;
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void slot_release(void *arg)
{
	int s = (int)(intptr_t)arg - 1;

	tdp_mutex_lock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	slot_used[s] = false;
	if (slot_waiters)
		pthread_cond_broadcast(&slot_freed);
	tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
}

static void slot_key_create(void)
{
	pthread_key_create(&slot_key, slot_release);
}

/* The lowest free slot under the cap, taken by this thread; -EAGAIN if none.  slot_mutex held. */
static int slot_take_locked(void)
{
	int s;

	for (s = 0; s < slot_cap && slot_used[s]; s++)
		;
	if (s == slot_cap)
		return -EAGAIN;
	slot_used[s] = true;
	/*
	 * seq_cst: a writer of the MMU lock that stores its flag and then reads
	 * the limit either sees this slot or is seen by this thread's first
	 * reader-indicator exchange (see mmu_lock.c).
	 */
	if (s + 1 > atomic_load_explicit(&slot_limit, memory_order_relaxed))
		atomic_store(&slot_limit, s + 1);
	return s;
}

/* Take a slot; with @wait, sleep on slot_freed until one is given back. */
static int slot_take(bool wait)
{
	int s;

	if (tdp_self_slot > 0)
		return tdp_self_slot - 1;
	pthread_once(&slot_once, slot_key_create);
	tdp_mutex_lock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	s = slot_take_locked();
	if (s < 0 && wait) {
		slot_waiters++;
		while ((s = slot_take_locked()) < 0)
			pthread_cond_wait(&slot_freed, &slot_mutex);
		slot_waiters--;
	}
	tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	if (s < 0)
		return s;
	tdp_self_slot = s + 1;
	pthread_setspecific(slot_key, (void *)(intptr_t)(s + 1));
	return s;
}

int tdp_thread_slot_try_assign(void)
{
	return slot_take(false);
}

int tdp_thread_slot_wait(void)
{
	return slot_take(true);
}

int tdp_thread_slot_assign(void)
{
	int s = tdp_thread_slot_try_assign();

	if (s < 0)
		tdp_bug("no thread slot free (%d threads use tdpmmu) and a public call "
			"did not check for one first (thread_slot.h)",
			TDP_MAX_THREADS);
	return s;
}

int tdp_thread_slot_waiting(void)
{
	int n;

	tdp_mutex_lock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	n = slot_waiters;
	tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	return n;
}

int tdp_thread_slot_limit(void)
{
	return atomic_load(&slot_limit);
}

int tdp_thread_slot_set_cap(int max)
{
	int old;

	if (max <= 0 || max > TDP_MAX_THREADS)
		max = TDP_MAX_THREADS;
	tdp_mutex_lock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	old = slot_cap;
	slot_cap = max;
	pthread_cond_broadcast(&slot_freed);
	tdp_mutex_unlock(&slot_mutex, TDP_RANK_THREAD_SLOT);
	return old;
}

static size_t slot_array_bytes(size_t elem)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (elem * TDP_MAX_THREADS + page - 1) / page * page;
}

void *tdp_slot_array_alloc(size_t elem)
{
	/* Address space only: pages are committed as slots touch them. */
	void *a = mmap(NULL, slot_array_bytes(elem), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return a == MAP_FAILED ? NULL : a;
}

void tdp_slot_array_free(void *a, size_t elem)
{
	if (a)
		munmap(a, slot_array_bytes(elem));
}
