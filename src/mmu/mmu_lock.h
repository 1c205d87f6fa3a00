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
 * A single lock (mmu_lock_init's @single, the global fault-lock policy,
 * fault_lock.h): every acquisition, shared or exclusive, takes the writer
 * mutex and nothing else, as the pre-2021 MMU's spinlock.  A caller that
 * asked for TDP_SHARED still runs read-side code (correct under the
 * stronger lock) and releases in TDP_SHARED.  Fixed at init; nothing else
 * makes a shared acquisition exclusive, and every caller says the mode it
 * takes (see tdp_mmu.h for how the fault path chooses it).
 *
 * Growth: the reader indicators are a tdp_slot_array (thread_slot.h), one
 * mapping of TDP_MAX_THREADS indicators whose addresses never change, so
 * a thread that takes a new slot while a writer scans cannot make the
 * writer read a moved or freed array.  The writer scans the slots below
 * the high-water mark it reads after its flag and fence; a new slot is
 * published in that mark (seq_cst) before its thread's first indicator
 * exchange, so either the scan covers the new slot or that reader's fence
 * comes after the writer's and it sees the flag (the Dekker pair above).
 *
 * Statistics: each acquisition says whether the vCPU layer makes it
 * (@vcpu of the *_as calls); those are also counted in the vcpu_* fields.
 *
 * Yielding (the kernel's cond_resched_rwlock_read/write): a holder inside
 * a long operation breaks its hold when mmu_lock_needbreak says so, or
 * when its time slice (slice_ns from the start of its hold, the kernel's
 * need_resched) is used up.  Which of the two count depends on the host
 * kernel's preemption model (enum tdpmmu_preempt, fixed before the lock
 * is shared: mmu_lock_set_preempt):
 *
 *   model       contention (rwlock_needbreak)   slice (need_resched)
 *   none        no                              yes
 *   voluntary   no                              yes
 *   full        yes                             yes
 *
 * Since Linux 6.8 rwlock_needbreak() reports a waiter only when the kernel
 * is preemptible (preempt_model_preemptible(): full or RT).  Under none
 * and voluntary a write holder keeps the lock for its whole slice however
 * many vCPUs wait; cond_resched_rwlock_*() still yields on need_resched
 * under every model.  What tells none from voluntary in the kernel is
 * might_resched() in might_sleep(), a yield point under voluntary only,
 * and nothing under the MMU lock (a spinning lock) may sleep: for the
 * lock's holders the two are the same, and so they are here.  The read
 * side follows the same rule (a reader that walks yields to a waiting
 * writer only under full); vCPU faults have no yield point under any
 * model, as in KVM.
 */
#ifndef TDP_MMU_LOCK_H
#define TDP_MMU_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/lock_rank.h"
#include "base/mutant.h"
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
	/* The same, for acquisitions made by the vCPU layer (@vcpu). */
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
	_Atomic int writer_slot;           /* holder's thread slot, -1 if none */
	bool single; /* one mode only: every acquisition excludes all others */
	/* Fixed before the lock is shared (mmu_lock_set_preempt). */
	enum tdpmmu_preempt preempt;
	uint64_t slice_ns; /* the need_resched stand-in: a hold this long yields */
	pthread_mutex_t writer_mutex;
	struct mmu_lock_reader *readers; /* a tdp_slot_array: never moves */
	uint64_t born_ticks, born_ns;    /* to convert ticks to ns */
};

/*
 * The scheduler's time slice, the need_resched stand-in: EEVDF's base
 * slice (sysctl_sched_base_slice, 0.75 ms scaled by 1 + log2 of the CPUs,
 * at most 8 of them: 3 ms from 8 CPUs up), which the tick then notices.
 * It matches the kernel's published worst fault latency with NX recovery
 * under the write lock, 8.5 M cycles (about 3 ms at 2.8 GHz).  The kernel
 * sets need_resched only when another task is runnable on the holder's
 * CPU; the stand-in assumes one always is (a busy host), so on an idle
 * host CPU a kernel holder may keep the lock longer than this.
 */
#define MMU_LOCK_SLICE_NS 3000000ull

/*
 * @single: a plain exclusive lock (see above); false: the reader-writer
 * lock.  A new lock is preemptible (full, MMU_LOCK_SLICE_NS), so that a
 * bare lock reports contention; the VM sets its own model.
 */
int mmu_lock_init(struct mmu_lock *l, bool single);
/* Before the lock is shared.  -EINVAL if @p is out of range. */
int mmu_lock_set_preempt(struct mmu_lock *l, enum tdpmmu_preempt p, uint64_t slice_ns);
void mmu_lock_destroy(struct mmu_lock *l);
void mmu_lock_read_slow(struct mmu_lock *l, struct mmu_lock_reader *me, bool vcpu);
void mmu_lock_wake_writer(struct mmu_lock *l);
/* @vcpu: the vCPU layer takes it (statistics only). */
void mmu_lock_write_as(struct mmu_lock *l, bool vcpu);
void mmu_lock_write_unlock(struct mmu_lock *l);
/* Take the write lock only if no reader or writer holds or waits for it now. */
bool mmu_lock_write_trylock_as(struct mmu_lock *l, bool vcpu);
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

/* Is this a single lock, where a shared acquisition excludes everyone too? */
static inline bool mmu_lock_is_single(const struct mmu_lock *l)
{
	return l->single;
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

static inline void mmu_lock_read_as(struct mmu_lock *l, bool vcpu)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];
	uint64_t n;

	if (unlikely(mmu_lock_is_single(l))) {
		mmu_lock_write_as(l, vcpu);
		return;
	}
	TDP_ASSERT(atomic_load_explicit(&me->active, memory_order_relaxed) == 0);
	tdp_lock_rank_acquire(TDP_RANK_MMU);
	mmu_lock_set_indicator(me, 1);
	if (unlikely(atomic_load_explicit(&l->writer, memory_order_acquire)))
		mmu_lock_read_slow(l, me, vcpu);
	n = __atomic_load_n(&me->reads, __ATOMIC_RELAXED);
	__atomic_store_n(&me->reads, n + 1, __ATOMIC_RELAXED);
	if (vcpu)
		tdp_stat_add(&me->vcpu_reads, 1);
	me->acquired_at = n % MMU_LOCK_SAMPLE ? 0 : tdp_ticks();
}

static inline void mmu_lock_read_unlock(struct mmu_lock *l)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];

	if (unlikely(mmu_lock_is_single(l))) {
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

static inline void mmu_lock_read(struct mmu_lock *l)
{
	mmu_lock_read_as(l, false);
}

static inline void mmu_lock_write(struct mmu_lock *l)
{
	mmu_lock_write_as(l, false);
}

static inline bool mmu_lock_write_trylock(struct mmu_lock *l)
{
	return mmu_lock_write_trylock_as(l, false);
}

/*
 * Does someone wait for the lock (the kernel's rwlock_is_contended)?  A
 * reader is waited for by a waiting writer; a writer by anyone waiting.
 * On a single lock a shared-mode holder holds the writer mutex and is
 * waited for as a writer.
 */
static inline bool mmu_lock_is_contended(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED && !mmu_lock_is_single(l))
		return atomic_load_explicit(&l->writers_waiting, memory_order_relaxed) != 0;
	return atomic_load_explicit(&l->readers_waiting, memory_order_relaxed) != 0 ||
	       atomic_load_explicit(&l->writers_waiting, memory_order_relaxed) != 0;
}

/*
 * Should the holder yield because someone waits (the kernel's
 * rwlock_needbreak)?  Only under a preemptible model (see the top).  The
 * mutant preempt-ignored (docs/testing.md) yields to waiters under every
 * model, as before Linux 6.8.
 */
static inline bool mmu_lock_needbreak(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	if (l->preempt != TDPMMU_PREEMPT_FULL && !TDP_MUTANT(PREEMPT_IGNORED))
		return false;
	return mmu_lock_is_contended(l, mode);
}

/* Has a holder that started its slice at @start_ns (tdp_now_ns) used it up at @now_ns? */
static inline bool mmu_lock_slice_used(const struct mmu_lock *l, uint64_t start_ns, uint64_t now_ns)
{
	return now_ns - start_ns >= l->slice_ns;
}

static inline void mmu_lock_acquire_as(struct mmu_lock *l, enum tdp_lock_mode mode, bool vcpu)
{
	if (mode == TDP_SHARED)
		mmu_lock_read_as(l, vcpu);
	else
		mmu_lock_write_as(l, vcpu);
}

static inline void mmu_lock_acquire(struct mmu_lock *l, enum tdp_lock_mode mode)
{
	mmu_lock_acquire_as(l, mode, false);
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
