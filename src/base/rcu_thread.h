/*
 * rcu_thread.h - lazy liburcu (memb flavour) registration of every thread
 * that enters a read-side section: table walks and memslot lookups.
 * A thread is registered on its first section and unregistered when it
 * exits (a pthread key destructor), so callers never manage it.
 */
#ifndef TDP_RCU_THREAD_H
#define TDP_RCU_THREAD_H

#include <stdbool.h>
#include <urcu/urcu-memb.h>

#include "base/compiler.h"
#include "base/lock_rank.h"

/*
 * ThreadSanitizer cannot see the ordering that a grace period provides.
 * Every read-side section end releases rcu_tsan_clock and every callback
 * acquires it before freeing, which is exactly what RCU guarantees.
 */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/* Annotations take any pointer, const or not. */
#define tdp_tsan_release(a) __tsan_release((void *)(a))
#define tdp_tsan_acquire(a) __tsan_acquire((void *)(a))
#else
#define tdp_tsan_release(a) ((void)(a))
#define tdp_tsan_acquire(a) ((void)(a))
#endif

extern char tdp_rcu_tsan_clock;
extern __thread bool tdp_rcu_registered;
void tdp_rcu_register_slow(void);

static inline void tdp_rcu_read_lock(void)
{
	if (unlikely(!tdp_rcu_registered))
		tdp_rcu_register_slow();
	urcu_memb_read_lock();
}

static inline void tdp_rcu_read_unlock(void)
{
	tdp_tsan_release(&tdp_rcu_tsan_clock);
	urcu_memb_read_unlock();
}

/*
 * Wait for every read-side section in progress to end (a grace period).
 * Never inside a read-side section (it would wait for itself) and never
 * under the MMU lock (docs/locking.md): debug builds check both.
 */
static inline void tdp_synchronize_rcu(void)
{
#ifdef TDP_DEBUG
	if (tdp_lock_rank_held(TDP_RANK_MMU))
		tdp_bug("synchronize_rcu under the MMU lock");
	if (tdp_rcu_registered && urcu_memb_read_ongoing())
		tdp_bug("synchronize_rcu inside an RCU read-side section");
#endif
	urcu_memb_synchronize_rcu();
	tdp_tsan_acquire(&tdp_rcu_tsan_clock);
}

/* Whether liburcu's read side runs without fences (sys_membarrier). */
bool tdp_rcu_membarrier_active(void);

#endif
