/*
 * lock_rank.h - lock ranks and the debug-build lock-order checker.
 *
 * Every lock the library takes has a rank (docs/locking.md).  A thread may
 * take a lock only if its rank is strictly greater than the rank of every
 * lock it already holds: outermost locks have the smallest ranks.  Two
 * locks of the same rank are never held together (that includes the same
 * lock twice).  A trylock cannot deadlock, so it is recorded without the
 * check; locks taken after it are checked against it like any other.
 *
 * TDP_DEBUG builds (debug, asan, tsan, fanout8, the broken builds) keep,
 * per thread, a small stack of the ranks held and abort through tdp_bug on
 * an acquisition out of order ("lock order: taking X (rank N) while holding
 * Y (rank M)"), on a release of a rank not held, and on a stack overflow.
 * Release builds compile every hook to nothing.
 *
 * pthread_cond_wait/timedwait release and re-acquire their mutex inside
 * the call: the lock is held again when the call returns and nothing else
 * can be taken in between, so the held stack does not change.
 */
#ifndef TDP_LOCK_RANK_H
#define TDP_LOCK_RANK_H

#include <pthread.h>
#include <stdbool.h>

#include "base/compiler.h"

/* Outermost first.  Gaps leave room; only the order matters. */
enum tdp_lock_rank {
	TDP_RANK_SLOTS = 10,          /* host slots_lock (KVM's slots_lock) */
	TDP_RANK_FAST_ZAP = 20,       /* mmu->fast_zap_mutex */
	TDP_RANK_MMU = 30,            /* the MMU lock, read or write side */
	TDP_RANK_PAGES = 40,          /* mmu->pages.lock (under the MMU read lock) */
	TDP_RANK_VCPUS = 50,          /* vm->vcpus_mutex */
	TDP_RANK_ARENA = 60,          /* mmu->arena.lock */
	TDP_RANK_RECLAIM_WORKER = 70, /* reclaim->worker_mutex */
	TDP_RANK_NX = 80,             /* vm->nx_mutex */
	TDP_RANK_HOST_FAULT = 90,     /* host->fault_mutex */
	TDP_RANK_THREAD_SLOT = 100,   /* thread_slot.c's slot_mutex */
};

#define TDP_LOCK_DEPTH 16 /* more locks held at once than any path takes */

#ifdef TDP_DEBUG

struct tdp_held_lock {
	int rank;
	bool trylock;
	const char *file;
	int line;
};

struct tdp_lock_stack {
	int nr;
	int max_rank; /* highest rank held; 0 when none */
	struct tdp_held_lock held[TDP_LOCK_DEPTH];
	/* The caller's site, noted by a wrapper (tdp_mmu_lock) for the next acquire of site_rank. */
	const char *site_file;
	int site_line, site_rank;
};

extern __thread struct tdp_lock_stack tdp_lock_stack;

const char *tdp_lock_rank_name(int rank);
__attribute__((noreturn)) void tdp_lock_rank_inversion(int rank, const char *file, int line);
__attribute__((noreturn)) void tdp_lock_rank_overflow(int rank, const char *file, int line);
void tdp_lock_rank_pop_slow(int rank, const char *file, int line);

static inline void tdp_lock_rank_push(int rank, bool trylock, const char *file, int line)
{
	struct tdp_lock_stack *st = &tdp_lock_stack;
	struct tdp_held_lock *h;

	if (unlikely(st->nr == TDP_LOCK_DEPTH))
		tdp_lock_rank_overflow(rank, file, line);
	h = &st->held[st->nr++];
	h->rank = rank;
	h->trylock = trylock;
	h->file = file;
	h->line = line;
	if (rank > st->max_rank)
		st->max_rank = rank;
}

/* About to block on a lock of @rank: check the order, then record it held. */
static inline void tdp_lock_rank_acquire_at(int rank, const char *file, int line)
{
	if (tdp_lock_stack.site_file && tdp_lock_stack.site_rank == rank) {
		file = tdp_lock_stack.site_file;
		line = tdp_lock_stack.site_line;
		tdp_lock_stack.site_file = NULL;
	}
	if (unlikely(rank <= tdp_lock_stack.max_rank))
		tdp_lock_rank_inversion(rank, file, line);
	tdp_lock_rank_push(rank, false, file, line);
}

/* A trylock of @rank succeeded: record it, no order check. */
static inline void tdp_lock_rank_tryacquired_at(int rank, const char *file, int line)
{
	tdp_lock_rank_push(rank, true, file, line);
}

/* The lock of @rank is released: the common case is the innermost one. */
static inline void tdp_lock_rank_release_at(int rank, const char *file, int line)
{
	struct tdp_lock_stack *st = &tdp_lock_stack;

	if (likely(st->nr && st->held[st->nr - 1].rank == rank)) {
		st->nr--;
		/* A blocking acquisition outranks everything below it: it is the maximum. */
		if (!st->nr)
			st->max_rank = 0;
		else if (likely(!st->held[st->nr - 1].trylock))
			st->max_rank = st->held[st->nr - 1].rank;
		else
			tdp_lock_rank_pop_slow(0, file, line); /* recompute only */
		return;
	}
	tdp_lock_rank_pop_slow(rank, file, line);
}

/* Does this thread hold a lock of @rank? */
bool tdp_lock_rank_held(int rank);
/* How many locks this thread holds (tests, and "call with no lock" checks). */
static inline int tdp_lock_rank_depth(void)
{
	return tdp_lock_stack.nr;
}

#define tdp_lock_rank_acquire(rank) tdp_lock_rank_acquire_at((rank), __FILE__, __LINE__)
#define tdp_lock_rank_tryacquired(rank) tdp_lock_rank_tryacquired_at((rank), __FILE__, __LINE__)
#define tdp_lock_rank_release(rank) tdp_lock_rank_release_at((rank), __FILE__, __LINE__)
/* Report the next acquisition at this line rather than inside a lock wrapper. */
#define tdp_lock_rank_site(rank)                                                                   \
	(tdp_lock_stack.site_file = __FILE__, tdp_lock_stack.site_line = __LINE__,                 \
	 tdp_lock_stack.site_rank = (rank))

#else /* !TDP_DEBUG: nothing at all */

#define tdp_lock_rank_acquire(rank) ((void)0)
#define tdp_lock_rank_tryacquired(rank) ((void)0)
#define tdp_lock_rank_release(rank) ((void)0)
#define tdp_lock_rank_site(rank) ((void)0)

#endif

/* A pthread mutex of @rank: checked and recorded in TDP_DEBUG builds. */
#define tdp_mutex_lock(m, rank) (tdp_lock_rank_acquire(rank), (void)pthread_mutex_lock(m))
#define tdp_mutex_unlock(m, rank) (tdp_lock_rank_release(rank), (void)pthread_mutex_unlock(m))

#endif
