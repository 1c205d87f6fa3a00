/*
 * nx_recovery.c - NX huge-page recovery: zap a share of the tables on the
 * possible-NX list so that huge pages can come back, under the read lock
 * (KVM >= 6.18), and the per-VM thread that does it every period.
 *
 * Concurrency:
 * - The pass holds the MMU lock for read and is inside walk protection
 *   before it pops a table (tdp_nx_pop, under the pages lock).  A table is
 *   unlisted by whoever removes it before it is retired, so a table we pop
 *   was not retired yet when we popped it: it, and the parent table its
 *   ptep points into, cannot be freed before our walk ends.
 * - We zap only if the parent entry, read now, is a present non-leaf
 *   pointing at the popped table: anything else (FROZEN, a leaf, another
 *   table, non-present) means someone else already removed it.  The zap
 *   is one CAS from that snapshot; the CAS winner tears the table down.
 *   A lost CAS with the entry still pointing at the table is a bug: no
 *   one changes a non-leaf entry except by replacing it.
 * - The flush covering every table zapped is issued before walk
 *   protection ends, at the end and at every break.  A pass breaks its
 *   hold as KVM's does (need_resched() || rwlock_needbreak()): when its
 *   time slice is used up, or, under the full preemption model only,
 *   when someone waits for the lock (tdp_mmu_need_resched, mmu_lock.h).
 * - The worker sleeps on nx_cond under nx_mutex for its period; stop sets
 *   nx_stop under the mutex and signals, so it wakes at once.  The thread
 *   registers with liburcu and takes a thread slot lazily on its first MMU
 *   call; both are released by their pthread key destructors when it exits.
 * - The audit takes the write lock: the list, the flags and the parent
 *   entries cannot change under it (hardware only touches leaves' A/D).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "mmu/nx_list.h"
#include "ops/nx_recovery.h"
#include "mmu/tdp_mmu_internal.h"
#include "base/lock_rank.h"

/* Does @s, an entry at @level, link the table in frame @table_pfn? */
static bool links_table(tdp_spte_t s, int level, uint64_t table_pfn)
{
	return spte_is_present(s) && !spte_is_last(s, level) && spte_pfn(s) == table_pfn;
}

static uint64_t nx_listed_locked(struct tdp_mmu *mmu, enum tdp_lock_mode mode)
{
	uint64_t nr;

	tdp_pages_lock(&mmu->pages, &mmu->lock, mode);
	nr = mmu->nx_nr;
	tdp_pages_unlock(&mmu->pages, mode);
	return nr;
}

/* Zap the popped table @p if it is still linked; read lock and walk protection
 * held. */
static bool nx_zap_one(struct tdpmmu_vm *vm, struct tdp_page *p)
{
	struct tdp_mmu *mmu = &vm->mmu;
	uint64_t pfn = tdp_page_pfn(&mmu->arena, p);
	struct tdp_host_frame hf;
	struct tdp_iter it = { 0 };

	mmu_lock_assert_held(&mmu->lock, TDP_SHARED);
	if (unlikely(p->is_root || !p->ptep))
		tdp_bug("NX list held a root (level %d gfn 0x%llx)", p->level,
			(unsigned long long)p->gfn);
	it.arena = &mmu->arena;
	it.sptep = p->ptep;
	it.old_spte = tdp_read_spte(p->ptep);
	it.gfn = p->gfn;
	it.level = p->level + 1;
	it.root_level = mmu->root_level;
	if (!links_table(it.old_spte, it.level, pfn))
		return false; /* already removed (or being removed) by someone else */
	/* Logging wants 4K anyway: a huge page could not come back (KVM skips too).
	 */
	if (!tdp_host_lookup(&vm->host, p->gfn, &hf) && hf.dirty_logging)
		return false;
	if (!tdp_set_spte_atomic(mmu, &it, SPTE_NONPRESENT)) {
		tdp_count(&mmu->counters, TDPMMU_C_NX_RECOVERED);
		return true;
	}
	if (unlikely(links_table(it.old_spte, it.level, pfn)))
		tdp_bug("NX recovery: CAS lost but the entry still links the table: gfn 0x%llx "
			"level %d entry 0x%016llx frame 0x%llx",
			(unsigned long long)it.gfn, it.level, (unsigned long long)it.old_spte,
			(unsigned long long)spte_pfn(it.old_spte));
	return false;
}

int tdpmmu_nx_recover(struct tdpmmu_vm *vm, unsigned ratio)
{
	enum tdp_lock_mode mode;
	struct tdp_mmu *mmu;
	uint64_t to_zap, popped = 0, since_break = 0, slice_start;
	bool flush = false;
	int zapped = 0;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	mmu = &vm->mmu;
	if (!ratio)
		ratio = vm->nx_ratio;
	if (!ratio)
		return 0;
	/* CAS-based zaps, under the lock mode that may disconnect tables. */
	mode = tdp_mmu_unlink_mode(mmu);
	tdp_mmu_lock(mmu, mode);
	to_zap = (nx_listed_locked(mmu, mode) + ratio - 1) / ratio;
	/* Before popping: what we pop cannot be freed until this walk ends. */
	reclaim_walk_begin(&mmu->reclaim);
	slice_start = tdp_now_ns();
	for (; popped < to_zap; popped++) {
		struct tdp_page *p;

		/* After progress only, as the iterator. */
		if (since_break && tdp_mmu_need_resched(mmu, mode, slice_start)) {
			tdp_mmu_resched(mmu, mode, flush);
			flush = false;
			since_break = 0;
			slice_start = tdp_now_ns();
		}
		p = tdp_nx_pop(mmu, mode);
		if (!p)
			break;
		since_break++;
		if (nx_zap_one(vm, p)) {
			zapped++;
			flush = true;
		}
	}
	/* Before the walk ends: the tables zapped above cannot be freed yet. */
	if (flush)
		tdp_flush_remote_tlbs(mmu, 0, 0);
	reclaim_walk_end(&mmu->reclaim);
	tdp_mmu_unlock(mmu, mode);
	return zapped;
}

uint64_t tdpmmu_nx_listed(struct tdpmmu_vm *vm)
{
	uint64_t nr;

	if (!vm)
		return 0;
	/* Cannot fail: wait for a thread slot if none is free (thread_slot.h). */
	tdp_thread_slot_wait();
	tdp_mmu_lock(&vm->mmu, TDP_SHARED);
	nr = nx_listed_locked(&vm->mmu, TDP_SHARED);
	tdp_mmu_unlock(&vm->mmu, TDP_SHARED);
	return nr;
}

static void *nx_worker(void *arg)
{
	struct tdpmmu_vm *vm = arg;

	tdp_mutex_lock(&vm->nx_mutex, TDP_RANK_NX);
	while (!vm->nx_stop) {
		/* nx_cond uses the default clock (CLOCK_REALTIME). */
		struct timespec deadline = tdp_deadline_after_ms(vm->nx_period_ms);
		int r = 0;

		/* Wake-ups before the deadline (spurious or not) sleep again. */
		while (!vm->nx_stop && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&vm->nx_cond, &vm->nx_mutex, &deadline);
		if (vm->nx_stop)
			break;
		tdp_mutex_unlock(&vm->nx_mutex, TDP_RANK_NX);
		tdpmmu_nx_recover(vm, 0);
		tdp_mutex_lock(&vm->nx_mutex, TDP_RANK_NX);
	}
	tdp_mutex_unlock(&vm->nx_mutex, TDP_RANK_NX);
	return NULL;
}

int tdp_nx_worker_start(struct tdpmmu_vm *vm)
{
	int r;

	if (!vm->mmu.nx_huge_pages || !vm->nx_period_ms || vm->nx_thread_running)
		return 0;
	vm->nx_stop = false; /* the thread does not exist yet */
	r = pthread_create(&vm->nx_thread, NULL, nx_worker, vm);
	if (r)
		return -r;
	vm->nx_thread_running = true;
	return 0;
}

void tdp_nx_worker_stop(struct tdpmmu_vm *vm)
{
	if (!vm->nx_thread_running)
		return;
	tdp_mutex_lock(&vm->nx_mutex, TDP_RANK_NX);
	vm->nx_stop = true;
	pthread_cond_signal(&vm->nx_cond);
	tdp_mutex_unlock(&vm->nx_mutex, TDP_RANK_NX);
	pthread_join(vm->nx_thread, NULL);
	vm->nx_thread_running = false;
}

/* Tables flagged NX-listed under @p, @p included; write lock held. */
static uint64_t count_nx_flagged(struct tdp_mmu *mmu, struct tdp_page *p)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(&mmu->arena, p);
	uint64_t n = p->nx_listed;

	for (unsigned i = 0; p->level > TDP_LEVEL_4K && i < TDP_PTES_PER_TABLE; i++) {
		tdp_spte_t s = tdp_read_spte(&pt[i]);

		if (spte_is_present(s) && !spte_is_last(s, p->level))
			n += count_nx_flagged(mmu, tdp_page_from_pfn(&mmu->arena, spte_pfn(s)));
	}
	return n;
}

static void nx_report(int *violations, const char *what, const struct tdp_page *p, tdp_spte_t s)
{
	if ((*violations)++ < 20)
		fprintf(stderr,
			"nx audit: %s: gfn 0x%" PRIx64 " level %d entry 0x%016" PRIx64
			" frame 0x%" PRIx64 "\n",
			what, p ? p->gfn : 0, p ? p->level : 0, s, spte_pfn(s));
}

int tdp_nx_audit(struct tdpmmu_vm *vm)
{
	struct tdp_mmu *mmu = &vm->mmu;
	uint64_t listed = 0, flagged = 0;
	int64_t tracked;
	int violations = 0;
	struct tdp_page *p;

	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	for (p = mmu->nx_head.nx_next; p != &mmu->nx_head; p = p->nx_next) {
		tdp_spte_t s = 0;

		if (++listed > (uint64_t)tdp_pages_nr(&mmu->pages)) {
			nx_report(&violations, "list longer than the in-use list (a cycle?)", p, 0);
			break;
		}
		if (!p->nx_next || p->nx_next->nx_prev != p) {
			nx_report(&violations, "broken list links", p, 0);
			break;
		}
		if (!p->nx_listed || !p->nx_disallowed)
			nx_report(&violations, "listed table not flagged listed and NX-disallowed",
				  p, 0);
		if (!p->accounted || atomic_load(&p->retired)) {
			nx_report(&violations, "listed table retired or not accounted in use", p,
				  0);
			continue; /* its parent may be gone: do not read ptep */
		}
		if (p->is_root || !p->ptep) {
			nx_report(&violations, "listed table is a root", p, 0);
			continue;
		}
		s = tdp_read_spte(p->ptep);
		if (!links_table(s, p->level + 1, tdp_page_pfn(&mmu->arena, p)))
			nx_report(&violations, "parent entry does not link the listed table", p, s);
	}
	if (listed != mmu->nx_nr)
		nx_report(&violations, "list length differs from the count", NULL, 0);
	/* Every table in use is reachable from a root: walk them (no list needed). */
	for (p = atomic_load_explicit(&mmu->roots, memory_order_relaxed); p;
	     p = atomic_load_explicit(&p->root_next, memory_order_relaxed))
		flagged += count_nx_flagged(mmu, p);
	if (flagged != listed)
		nx_report(&violations, "tables flagged listed differ from tables on the list", NULL,
			  0);
	tracked = tdp_counter_read(&mmu->counters, TDPMMU_C_NX_TRACKED);
	if (tracked != (int64_t)mmu->nx_nr)
		nx_report(&violations, "nx_tables_tracked counter differs from the count", NULL, 0);
	if (violations)
		fprintf(stderr,
			"nx audit: %d violation(s); listed %" PRIu64 ", count %" PRIu64
			", flagged %" PRIu64 ", counter %" PRId64 "\n",
			violations, listed, mmu->nx_nr, flagged, tracked);
	reclaim_walk_end(&mmu->reclaim);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return violations;
}
