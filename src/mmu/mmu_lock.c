/*
 * mmu_lock.c - slow paths of the MMU lock (see mmu_lock.h for the protocol).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mmu/mmu_lock.h"
#include "reclaim/rcu_qsbr_thread.h" /* thread state only: waits go quiescent */

/*
 * Waits spin this many times before they sleep: write sections and read
 * sections are short, and a futex sleep and wake-up costs microseconds.
 */
#define WAIT_SPINS 256

static void futex_wait(_Atomic uint32_t *word, uint32_t seen)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

bool mmu_lock_asymmetric;
static pthread_once_t asymmetric_once = PTHREAD_ONCE_INIT;

static void asymmetric_probe(void)
{
#if !defined(__SANITIZE_THREAD__)
	const char *env = getenv("TDPMMU_MEMBARRIER");
	long cmds;

	/* TDPMMU_MEMBARRIER=0: full fences on both sides (cheaper writes). */
	if (env && !strcmp(env, "0"))
		return;
	cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		mmu_lock_asymmetric = true;
#endif
}

/* Make every reader's indicator store visible, or make it see our flag. */
static void writer_fence(void)
{
#if !defined(__SANITIZE_THREAD__) /* TSan builds use seq_cst accesses only */
	if (mmu_lock_asymmetric)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	else
		atomic_thread_fence(memory_order_seq_cst);
#endif
}

int mmu_lock_init(struct mmu_lock *l, bool single)
{
	pthread_once(&asymmetric_once, asymmetric_probe);
	memset(l, 0, sizeof(*l));
	/* Fixed addresses, committed as slots appear (thread_slot.h). */
	l->readers = tdp_slot_array_alloc(sizeof(*l->readers));
	if (!l->readers)
		return -ENOMEM;
	atomic_init(&l->writer_slot, -1);
	l->single = single;
	l->preempt = TDPMMU_PREEMPT_FULL;
	l->slice_ns = MMU_LOCK_SLICE_NS;
	{
		/* Spin a little before sleeping: write sections are short. */
		pthread_mutexattr_t attr;

		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
		pthread_mutex_init(&l->writer_mutex, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	l->born_ticks = tdp_ticks();
	l->born_ns = tdp_now_ns();
	return 0;
}

int mmu_lock_set_preempt(struct mmu_lock *l, enum tdpmmu_preempt p, uint64_t slice_ns)
{
	if ((unsigned)p >= TDPMMU_NR_PREEMPT || !slice_ns)
		return -EINVAL;
	l->preempt = p;
	l->slice_ns = slice_ns;
	return 0;
}

void mmu_lock_destroy(struct mmu_lock *l)
{
	pthread_mutex_destroy(&l->writer_mutex);
	tdp_slot_array_free(l->readers, sizeof(*l->readers));
	l->readers = NULL;
}

/* A reader left while a writer waits for readers to drain. */
void mmu_lock_wake_writer(struct mmu_lock *l)
{
	atomic_fetch_add(&l->reader_seq, 1);
	if (atomic_load(&l->writer_sleeping))
		futex_wake_all(&l->reader_seq);
}

/*
 * Sleep on @word, announced in @sleepers, unless @word moved past @seq.
 * The waker changes its condition, bumps @word and then reads @sleepers
 * (all seq_cst): either it sees this sleeper and wakes it, or this
 * sleeper's read of @word comes after the bump and it does not sleep.
 */
static void sleep_on(_Atomic uint32_t *word, _Atomic uint32_t *sleepers, uint32_t seq)
{
	atomic_fetch_add(sleepers, 1);
	if (atomic_load(word) == seq) {
		/* A vCPU online under rcu-qsbr with no walk open: quiescent meanwhile. */
		bool offline = tdp_qsbr_quiescent_begin();

		futex_wait(word, seq);
		tdp_qsbr_quiescent_end(offline);
	}
	atomic_fetch_sub(sleepers, 1);
}

/*
 * The reader saw a writer: withdraw the indicator (the writer may be
 * waiting for it), sleep until the writer leaves, then try again.  The
 * reader stays counted in readers_waiting until it is in, so the next
 * writer lets it in first (see mmu_lock_write).
 */
void mmu_lock_read_slow(struct mmu_lock *l, struct mmu_lock_reader *me, bool vcpu)
{
	uint64_t start = tdp_ticks();
	uint32_t seq0, passed;

	atomic_fetch_add(&l->readers_waiting, 1);
	/* After the indicator: only writers that could see us waiting count. */
	seq0 = atomic_load(&l->writer_seq);
	do {
		atomic_store(&me->active, 0);
		mmu_lock_wake_writer(l);
		for (unsigned spins = 0;; spins++) {
			uint32_t seq = atomic_load(&l->writer_seq);

			if (!atomic_load(&l->writer))
				break;
			if (spins < WAIT_SPINS)
				cpu_relax();
			else
				sleep_on(&l->writer_seq, &l->readers_sleeping, seq);
		}
		atomic_exchange(&me->active, 1);
	} while (atomic_load(&l->writer));
	atomic_fetch_sub(&l->readers_waiting, 1);
	tdp_stat_add(&me->read_wait, tdp_ticks() - start);
	if (vcpu)
		tdp_stat_add(&me->vcpu_read_wait, tdp_ticks() - start);
	/* writer_seq moves once per write unlock: the writers that went first. */
	passed = atomic_load(&l->writer_seq) - seq0;
	if (passed > me->read_wait_writers_max)
		__atomic_store_n(&me->read_wait_writers_max, passed, __ATOMIC_RELAXED);
}

void mmu_lock_write_as(struct mmu_lock *l, bool vcpu)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];
	uint64_t start = tdp_ticks();

	TDP_ASSERT(atomic_load_explicit(&me->active, memory_order_relaxed) == 0);
	TDP_ASSERT(!mmu_lock_held_write(l));
	/* Also a single lock's shared acquisitions. */
	tdp_lock_rank_acquire(TDP_RANK_MMU);
	atomic_fetch_add(&l->writers_waiting, 1);
	pthread_mutex_lock(&l->writer_mutex);
	/*
	 * A single lock: no thread ever raises a reader indicator, so the
	 * mutex alone excludes everyone (a plain lock, as the pre-2021 MMU's
	 * spinlock): no flag, no membarrier, no scan.
	 */
	if (mmu_lock_is_single(l))
		goto locked;
	/*
	 * Phase fairness: readers that queued behind the previous writer go
	 * first.  While the flag is down no new reader queues, so this ends.
	 */
	while (atomic_load(&l->readers_waiting))
		tdp_wait_yield();
	atomic_store(&l->writer, 1);
	writer_fence(); /* pairs with mmu_lock_reader_fence */
	for (int s = 0, n = tdp_thread_slot_limit(); s < n; s++) {
		struct mmu_lock_reader *r = &l->readers[s];

		for (unsigned spins = 0;; spins++) {
			uint32_t seq = atomic_load(&l->reader_seq);

			if (!atomic_load_explicit(&r->active, memory_order_acquire))
				break;
			if (spins < WAIT_SPINS)
				cpu_relax();
			else
				sleep_on(&l->reader_seq, &l->writer_sleeping, seq);
		}
	}
locked:
	atomic_fetch_sub(&l->writers_waiting, 1);
	atomic_store_explicit(&l->writer_slot, tdp_thread_slot(), memory_order_relaxed);
	tdp_stat_add(&me->writes, 1);
	me->acquired_at = tdp_ticks();
	tdp_stat_add(&me->write_wait, me->acquired_at - start);
	if (vcpu) {
		tdp_stat_add(&me->vcpu_writes, 1);
		tdp_stat_add(&me->vcpu_write_wait, me->acquired_at - start);
	}
}

bool mmu_lock_write_trylock_as(struct mmu_lock *l, bool vcpu)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];

	TDP_ASSERT(atomic_load_explicit(&me->active, memory_order_relaxed) == 0);
	if (atomic_load(&l->readers_waiting) || pthread_mutex_trylock(&l->writer_mutex))
		return false;
	if (mmu_lock_is_single(l))
		goto locked; /* the mutex is the whole lock */
	atomic_store(&l->writer, 1);
	writer_fence(); /* pairs with mmu_lock_reader_fence, as in mmu_lock_write */
	for (int s = 0, n = tdp_thread_slot_limit(); s < n; s++) {
		if (atomic_load_explicit(&l->readers[s].active, memory_order_acquire)) {
			/* Back out: readers that saw the flag wait on writer_seq. */
			atomic_store(&l->writer, 0);
			atomic_fetch_add(&l->writer_seq, 1);
			if (atomic_load(&l->readers_sleeping))
				futex_wake_all(&l->writer_seq);
			pthread_mutex_unlock(&l->writer_mutex);
			return false;
		}
	}
locked:
	atomic_store_explicit(&l->writer_slot, tdp_thread_slot(), memory_order_relaxed);
	tdp_lock_rank_tryacquired(TDP_RANK_MMU); /* a trylock cannot deadlock: no order check */
	tdp_stat_add(&me->writes, 1);
	if (vcpu)
		tdp_stat_add(&me->vcpu_writes, 1);
	me->acquired_at = tdp_ticks();
	return true;
}

void mmu_lock_write_unlock(struct mmu_lock *l)
{
	struct mmu_lock_reader *me = &l->readers[tdp_thread_slot()];

	TDP_ASSERT(mmu_lock_held_write(l));
	tdp_stat_add(&me->write_hold, tdp_ticks() - me->acquired_at);
	atomic_store_explicit(&l->writer_slot, -1, memory_order_relaxed);
	tdp_lock_rank_release(TDP_RANK_MMU);
	if (mmu_lock_is_single(l)) {
		pthread_mutex_unlock(&l->writer_mutex); /* the mutex orders everything */
		return;
	}
	/* Release: everything written under the lock is visible to the next reader. */
	atomic_store(&l->writer, 0);
	atomic_fetch_add(&l->writer_seq, 1);
	if (atomic_load(&l->readers_sleeping))
		futex_wake_all(&l->writer_seq);
	pthread_mutex_unlock(&l->writer_mutex);
}

void mmu_lock_read_stats(const struct mmu_lock *l, struct tdpmmu_lock_stats *out)
{
	uint64_t ticks = tdp_ticks() - l->born_ticks, ns = tdp_now_ns() - l->born_ns;
	double ns_per_tick = ticks ? (double)ns / (double)ticks : 1.0;
	uint64_t rw = 0, ww = 0, rh = 0, wh = 0, vrw = 0, vww = 0;

	memset(out, 0, sizeof(*out));
	for (int s = 0, n = tdp_thread_slot_limit(); s < n; s++) {
		const struct mmu_lock_reader *r = &l->readers[s];

		out->reads += __atomic_load_n(&r->reads, __ATOMIC_RELAXED);
		out->writes += __atomic_load_n(&r->writes, __ATOMIC_RELAXED);
		if (__atomic_load_n(&r->read_wait_writers_max, __ATOMIC_RELAXED) >
		    out->read_wait_writers_max)
			out->read_wait_writers_max =
				__atomic_load_n(&r->read_wait_writers_max, __ATOMIC_RELAXED);
		out->vcpu_reads += __atomic_load_n(&r->vcpu_reads, __ATOMIC_RELAXED);
		out->vcpu_writes += __atomic_load_n(&r->vcpu_writes, __ATOMIC_RELAXED);
		vrw += __atomic_load_n(&r->vcpu_read_wait, __ATOMIC_RELAXED);
		vww += __atomic_load_n(&r->vcpu_write_wait, __ATOMIC_RELAXED);
		rw += __atomic_load_n(&r->read_wait, __ATOMIC_RELAXED);
		ww += __atomic_load_n(&r->write_wait, __ATOMIC_RELAXED);
		rh += __atomic_load_n(&r->read_hold, __ATOMIC_RELAXED);
		wh += __atomic_load_n(&r->write_hold, __ATOMIC_RELAXED);
	}
	out->read_wait_ns = (uint64_t)(rw * ns_per_tick);
	out->write_wait_ns = (uint64_t)(ww * ns_per_tick);
	out->read_hold_ns = (uint64_t)(rh * ns_per_tick);
	out->write_hold_ns = (uint64_t)(wh * ns_per_tick);
	out->vcpu_read_wait_ns = (uint64_t)(vrw * ns_per_tick);
	out->vcpu_write_wait_ns = (uint64_t)(vww * ns_per_tick);
}
