/*
 * mmu_lock.h - the MMU lock: a phase-fair reader-writer lock with
 * per-thread reader indicators.
 *
 * Why not a counter-based rwlock: every read acquire and release of a
 * shared-counter lock is a read-modify-write on one cache line, and the
 * user-space fault path is short enough (~100 ns) that the bouncing line
 * would be most of its cost.  Here a reader writes only its own line:
 *
 *   reader:  my_indicator = 1; reader fence
 *            if (writer) { back off: clear indicator, wake writer,
 *                          sleep until the writer leaves, retry }
 *   writer:  take writer_mutex (serialises writers)
 *            writer = 1 (seq_cst); writer fence
 *            wait until every reader indicator is 0
 *
 * The two fences make a Dekker pair: either the reader sees the writer and
 * backs off, or the writer sees the reader's indicator and waits for it.
 * Readers that had to wait for a writer are counted (readers_waiting) until
 * they are in, and a writer raises its flag only when that count is zero,
 * so writers and waiting readers take turns: neither side can starve the
 * other.  The reader fence is a compiler barrier when the writer fence can
 * be a membarrier() (see mmu_lock_reader_fence), else both are full
 * barriers.
 *
 * Waiting spins a little, then sleeps on a futex on one of two sequence
 * words (writer_seq: "the writer left", reader_seq: "a reader left while
 * a writer waits"); a waiter reads the word, re-checks its condition and
 * sleeps only if the word is unchanged, so no wake-up is lost.  Sleepers
 * are counted, and a waker makes the wake-up system call only when one is
 * counted (see sleep_on in mmu_lock.c).
 *
 * Lock-mode assertions (TDP_DEBUG builds) read the caller's own indicator
 * and the writer's slot number.  Holding the write lock satisfies a
 * read-side assertion: code written for the read side (CAS updates) is
 * correct with the stronger lock too.
 *
 * Two ways a read acquisition takes the write lock instead, for the
 * reclamation strategies (reclaim.h): read_as_write makes every one do so
 * (global), and mmu_lock_escalate_begin/end does it for the calling thread
 * in between (wrlock's operations that disconnect tables).  The release
 * then releases the write lock; neither may change while the lock is held.
 */
#ifndef TDP_MMU_LOCK_H
#define TDP_MMU_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/lock_rank.h"
#include "base/thread_slot.h"
#include "tdpmmu/tdpmmu.h"

enum tdp_lock_mode {
	TDP_SHARED,    /* MMU lock held for read */
	TDP_EXCLUSIVE, /* MMU lock held for write */
};

struct mmu_lock_reader {
	_Atomic uint32_t active; /* 1 while this thread holds the read side */
	uint64_t acquired_at;    /* ticks, for hold time */
	uint64_t reads, writes;
	uint64_t read_wait, write_wait; /* ticks */
	uint64_t read_hold, write_hold; /* ticks */
	uint64_t read_wait_writers_max; /* most writers that went first while we waited */
	/* The same, by threads running a vCPU (tdp_thread_runs_vcpu). */
	uint64_t vcpu_reads, vcpu_writes, vcpu_read_wait, vcpu_write_wait;
} __cacheline_aligned;

struct mmu_lock {
	/* Read by every reader; the rest is written only on slow paths. */
	_Atomic uint32_t writer __cacheline_aligned; /* 1 while a writer waits or holds */
	_Atomic uint32_t writer_seq;
	_Atomic uint32_t reader_seq;
	_Atomic uint32_t readers_waiting;
	_Atomic uint32_t writers_waiting;
	/* Asleep on a futex: wakers skip the system call when there are none. */
	_Atomic uint32_t readers_sleeping; /* on writer_seq */
	_Atomic uint32_t writer_sleeping;  /* on reader_seq */
	_Atomic int writer_slot; /* holder's thread slot, -1 if none */
	bool read_as_write;      /* every read acquisition takes the write lock */
	pthread_mutex_t writer_mutex;
	struct mmu_lock_reader *readers; /* TDP_MAX_THREADS */
	uint64_t born_ticks, born_ns;   /* to convert ticks to ns */
};


int mmu_lock_init(struct mmu_lock *l);
void mmu_lock_destroy(struct mmu_lock *l);
void mmu_lock_read_slow(struct mmu_lock *l, struct mmu_lock_reader *me);
void mmu_lock_wake_writer(struct mmu_lock *l);
void mmu_lock_write(struct mmu_lock *l);
void mmu_lock_write_unlock(struct mmu_lock *l);
/* Take the write lock only if no reader or writer holds or waits for it now. */
bool mmu_lock_write_trylock(struct mmu_lock *l);
void mmu_lock_read_stats(const struct mmu_lock *l, struct tdpmmu_lock_stats *out);

/*
 * Reader-side ordering between "indicator set" and "read the writer flag"
 * (and between "indicator cleared" and "read the writer flag").  When the
 * kernel offers private expedited membarrier, the writer issues it after
 * raising its flag, which runs a full barrier on every CPU running one of
 * our threads; the reader then needs only a compiler barrier (the pairing
 * liburcu's memb flavour uses).  Otherwise, and under ThreadSanitizer,
 * which cannot see membarrier, the reader uses a full barrier.
 */
extern bool mmu_lock_asymmetric;
/* Read acquisitions by this thread take the write lock while > 0. */
extern __thread unsigned mmu_lock_escalated;
/* This thread runs a vCPU: its lock statistics also count as the vCPUs'. */
extern __thread bool tdp_thread_runs_vcpu;

static inline void mmu_lock_escalate_begin(void)
{
	mmu_lock_escalated++;
}

static inline void mmu_lock_escalate_end(void)
{
	mmu_lock_escalated--;
}

static inline bool mmu_lock_read_is_write(const struct mmu_lock *l)
{
	return l->read_as_write || mmu_lock_escalated;
}

static inline void mmu_lock_reader_fence(void)
{
#if defined(__SANITIZE_THREAD__)
	/* unreachable: TSan builds use seq_cst accesses instead of fences */
#else
	if (likely(mmu_lock_asymmetric))
		atomic_signal_fence(memory_order_seq_cst);
	else
		atomic_thread_fence(memory_order_seq_cst);
#endif
}

static inline void mmu_lock_set_indicator(struct mmu_lock_reader *me, uint32_t v)
{
#if defined(__SANITIZE_THREAD__)
	atomic_exchange(&me->active, v);
#else
	atomic_store_explicit(&me->active, v, memory_order_release);
	mmu_lock_reader_fence();
#endif
}

/* Hold times are sampled: one read acquisition in MMU_LOCK_SAMPLE is timed. */
#define MMU_LOCK_SAMPLE 17 /* prime: no beat with power-of-two access patterns */

static inline void mmu_lock_read(struct mmu_lock *l)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];
	uint64_t n;

	if (unlikely(mmu_lock_read_is_write(l))) {
		mmu_lock_write(l);
		return;
	}
	TDP_ASSERT(atomic_load_explicit(&me->active, memory_order_relaxed) == 0);
	tdp_lock_rank_acquire(TDP_RANK_MMU);
	mmu_lock_set_indicator(me, 1);
	if (unlikely(atomic_load_explicit(&l->writer, memory_order_acquire)))
		mmu_lock_read_slow(l, me);
	n = __atomic_load_n(&me->reads, __ATOMIC_RELAXED);
	__atomic_store_n(&me->reads, n + 1, __ATOMIC_RELAXED);
	if (tdp_thread_runs_vcpu)
		tdp_stat_add(&me->vcpu_reads, 1);
	me->acquired_at = n % MMU_LOCK_SAMPLE ? 0 : tdp_ticks();
}

static inline void mmu_lock_read_unlock(struct mmu_lock *l)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];

	if (unlikely(mmu_lock_read_is_write(l))) {
		mmu_lock_write_unlock(l);
		return;
	}
	TDP_ASSERT(atomic_load_explicit(&me->active, memory_order_relaxed) == 1);
	if (unlikely(me->acquired_at))
		tdp_stat_add(&me->read_hold, (tdp_ticks() - me->acquired_at) * MMU_LOCK_SAMPLE);
	mmu_lock_set_indicator(me, 0);
	tdp_lock_rank_release(TDP_RANK_MMU);
	if (unlikely(atomic_load_explicit(&l->writer, memory_order_relaxed)))
		mmu_lock_wake_writer(l);
}

static inline bool mmu_lock_held_write(struct mmu_lock *l)
{
	return atomic_load_explicit(&l->writer_slot, memory_order_relaxed) == tdp_thread_slot();
}

/* At least the read side: the read lock, or the write lock. */
static inline bool mmu_lock_held_read(struct mmu_lock *l)
{
	return atomic_load_explicit(&l->readers[tdp_thread_slot()].active, memory_order_relaxed) ||
	       mmu_lock_held_write(l);
}

static inline bool mmu_lock_held(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	return mode == TDP_SHARED ? mmu_lock_held_read(l) : mmu_lock_held_write(l);
}

/*
 * Should the holder yield?  A reader yields to a waiting writer; a writer
 * yields to anyone waiting.
 */
static inline bool mmu_lock_needbreak(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED && !mmu_lock_read_is_write(l))
		return atomic_load_explicit(&l->writers_waiting, memory_order_relaxed) != 0;
	return atomic_load_explicit(&l->readers_waiting, memory_order_relaxed) != 0 ||
	       atomic_load_explicit(&l->writers_waiting, memory_order_relaxed) != 0;
}

static inline void mmu_lock_acquire(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED)
		mmu_lock_read(l);
	else
		mmu_lock_write(l);
}

static inline void mmu_lock_release(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED)
		mmu_lock_read_unlock(l);
	else
		mmu_lock_write_unlock(l);
}

#define mmu_lock_assert_held(l, mode) TDP_ASSERT(mmu_lock_held((l), (mode)))
#define mmu_lock_assert_held_any(l) TDP_ASSERT(mmu_lock_held_read(l))

#endif
