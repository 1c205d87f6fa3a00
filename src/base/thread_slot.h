/*
 * thread_slot.h - a small dense number for every thread that uses tdpmmu.
 *
 * Per-thread state (reader indicators of the MMU lock, statistics shards,
 * lockless-walk counters) is kept in arrays indexed by this number so that
 * a thread only ever writes its own cache lines.  A slot is taken on a
 * thread's first call and given back when the thread exits; a slot is
 * owned by one live thread at a time.
 *
 * Growth.  Slots are handed out lowest first, up to TDP_MAX_THREADS (4096
 * vCPU threads and as many others).  Every per-slot array is a
 * tdp_slot_array: TDP_MAX_THREADS elements of address space reserved
 * once, at its owner's init, and never moved; memory is committed by the
 * kernel page by page as slots are first touched, so an array costs what
 * the slots in use need, and no reader ever sees a reallocation (there is
 * none: an element's address is fixed for the array's life).  Scans stop
 * at tdp_thread_slot_limit(), the high-water mark; the slots above it
 * were never touched.
 *
 * Running out.  Every public call that can take the MMU lock, enter a
 * lockless walk or count (all of them but the lockless host, statistics
 * and constant calls) takes the slot at its top (tdp_thread_slot_enter)
 * and returns -EAGAIN when none is free, before it touches anything.  The
 * calls that cannot fail (tdpmmu_vm_destroy, tdpmmu_vcpu_destroy,
 * tdpmmu_flush_tlbs, and the bool/count readers tdpmmu_write_tracked,
 * tdpmmu_nx_listed, tdpmmu_root_stats_read) wait in tdp_thread_slot_wait
 * until a thread exits instead.  Library threads: NX recovery goes
 * through tdpmmu_nx_recover and skips the pass; the llist-trylock drain
 * worker checks first and skips its pass (read unlocks and the barrier
 * drain instead); liburcu's call_rcu thread, which counts each free in
 * its shard, waits in tdp_thread_slot_wait.  tdp_thread_slot() takes a
 * slot lazily and BUGs if none is free: every path to it starts at one
 * of the calls above, so it only BUGs if one of them lacks its check
 * (tests/whitebox/test_thread_slots.c calls each from a thread with no
 * slot left; the broken build slot-no-check drops every check).
 */
#ifndef TDP_THREAD_SLOT_H
#define TDP_THREAD_SLOT_H

#include <errno.h>
#include <stddef.h>

#include "base/mutant.h"

#define TDP_MAX_THREADS 8192

extern __thread int tdp_self_slot;

/* This thread's slot, taken now if it has none: aborts if none is free. */
int tdp_thread_slot_assign(void);
/* The same, -EAGAIN instead of aborting (tdpmmu_thread_attach). */
int tdp_thread_slot_try_assign(void);

/* This thread's slot, assigned on first use.  Aborts if none is free. */
static inline int tdp_thread_slot(void)
{
	int s = tdp_self_slot;

	if (__builtin_expect(s > 0, 1))
		return s - 1;
	return tdp_thread_slot_assign();
}

/* This thread's slot, assigned on first use, or -EAGAIN if none is free. */
static inline int tdp_thread_slot_get(void)
{
	int s = tdp_self_slot;

	if (__builtin_expect(s > 0, 1))
		return s - 1;
	return tdp_thread_slot_try_assign();
}

/*
 * At the top of a public call that may need the slot, before it touches
 * anything: 0, or -EAGAIN when the thread has none and none is free.
 */
static inline int tdp_thread_slot_enter(void)
{
	if (TDP_MUTANT(SLOT_NO_CHECK))
		return 0;
	return tdp_thread_slot_get() < 0 ? -EAGAIN : 0;
}

/*
 * This thread's slot, waiting (no lock held, not in guest mode) until a
 * thread gives one back if none is free: for the calls that cannot return
 * -EAGAIN.  Never fails.
 */
int tdp_thread_slot_wait(void);
/* Test-only: how many threads wait in tdp_thread_slot_wait now. */
int tdp_thread_slot_waiting(void);

/* One past the highest slot ever handed out: scans stop here. */
int tdp_thread_slot_limit(void);

/*
 * Test-only: hand out at most @max slots (1..TDP_MAX_THREADS; 0 restores
 * TDP_MAX_THREADS), so that running out is cheap to reach.  Returns the
 * previous cap.  Slots already handed out above it stay valid.
 */
int tdp_thread_slot_set_cap(int max);

/*
 * A per-slot array of TDP_MAX_THREADS elements of @elem bytes, zeroed,
 * page aligned, never moved (see above); NULL if the address space cannot
 * be had.  Free it with the same @elem.
 */
void *tdp_slot_array_alloc(size_t elem);
void tdp_slot_array_free(void *a, size_t elem);

#endif
