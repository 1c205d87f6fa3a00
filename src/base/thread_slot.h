/*
 * thread_slot.h - a small dense number for every thread that uses tdpmmu.
 *
 * Per-thread state (reader indicators of the MMU lock, statistics shards) is
 * kept in arrays indexed by this number so that a thread only ever writes
 * its own cache lines.  A slot is taken on a thread's first call and given
 * back when the thread exits; a slot is owned by one live thread at a time.
 */
#ifndef TDP_THREAD_SLOT_H
#define TDP_THREAD_SLOT_H

#define TDP_MAX_THREADS 1024

extern __thread int tdp_self_slot;

/* This thread's slot, taken now if it has none: aborts past TDP_MAX_THREADS. */
int tdp_thread_slot_assign(void);
/* The same, -EAGAIN instead of aborting (tdpmmu_thread_attach). */
int tdp_thread_slot_try_assign(void);

/* This thread's slot, assigned on first use.  Aborts past TDP_MAX_THREADS. */
static inline int tdp_thread_slot(void)
{
	int s = tdp_self_slot;

	if (__builtin_expect(s > 0, 1))
		return s - 1;
	return tdp_thread_slot_assign();
}

/* One past the highest slot ever handed out: scans stop here. */
int tdp_thread_slot_limit(void);

#endif
