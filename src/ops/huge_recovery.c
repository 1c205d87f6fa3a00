/*
 * huge_recovery.c - bringing huge pages back: after dirty logging (which
 * maps everything at 4K), after a THP was rebuilt by compaction, or on
 * demand.
 *
 * A table is collapsible when its entry is at 2M or 1G, the host would map
 * that whole range with one leaf (the first gfn's host_level reaches the
 * entry's level, which also means the range lies in one memslot and its
 * frames are contiguous and aligned), the slot is not logging, no gfn in
 * the range is write-tracked, and no MMU notifier invalidation in progress
 * overlaps the range.  Two ways:
 *   ZAP      freeze the table's entry (CAS to FROZEN), flush the TLBs,
 *            then store non-present; the next fault maps huge (KVM's
 *            zap_collapsible_spte_range with tdp_mmu_zap_spte_atomic).
 *   INPLACE  CAS a huge leaf over the table's entry, with the permissions
 *            of the leaves below and the host's frame for the range (KVM's
 *            recover_huge_pages_range): no fault needed afterwards.
 *
 * Concurrency: the MMU lock is held for read for the whole pass (apart
 * from yields) and every table walk is inside one walk-protection section,
 * so tables and roots seen cannot be freed under us.
 * - Every change starts with one CAS from the iterator's snapshot
 *   (tdp_set_spte_atomic).  A lost CAS refreshes the snapshot and the
 *   entry is judged again; FROZEN or a leaf is never a candidate, so we
 *   never CAS from FROZEN.  Replacing a table (by a leaf or FROZEN)
 *   disconnects it, and only the CAS winner tears it down and retires it
 *   (tdp_spte_update.c); the Dirty bits of the leaves it held go to the
 *   host then, so none is lost.
 * - ZAP: from the CAS to FROZEN until our plain store of non-present, the
 *   entry is ours.  Nobody CASes from FROZEN, a write-lock holder cannot
 *   run while we hold the read lock, faults and walks that meet it retry
 *   or pass over it, and a thread tearing down a table above it spins
 *   until our store (handle_removed_table); it is not in guest mode, so
 *   our flush does not wait for it.  So nothing can be installed at the
 *   entry before the flush has taken every vCPU's translations through
 *   the old table away: no vCPU ever holds a stale 4K translation beside
 *   a new mapping of the range.  The tear-down runs inside the freezing
 *   CAS, before the flush, so the flush also starts after the retire
 *   (what the list strategies' drain looks for).
 * - The candidate checks are authoritative because they are made under
 *   the read lock: invalidate_begin/end and the notifier sequence bump
 *   that follows a memslot change (dirty logging on, delete, move) take the
 *   write lock, as do write-tracking changes, so what the check saw (no
 *   invalidation over the range, the slot not logging, the host frames, no
 *   tracked gfn) stays true until we unlock, which is after the CAS.  A
 *   change that starts later sees our leaf and zaps or write-protects it
 *   like any other.
 * - INPLACE: the huge leaf is writable (or MMU-writable, executable) only
 *   if every present leaf below is: write protection of a single gfn is
 *   not remembered anywhere else, and a collapse must not undo it.
 *   Accessed and Dirty come from the first present leaf below; the Dirty
 *   bits of the others reach the host when the table is torn down.  The
 *   huge leaf maps the same frames as the leaves it replaces, so vCPUs
 *   may keep using the old ones until the flush.  One remote TLB flush
 *   covers the INPLACE pass, issued before walk protection ends (tables
 *   retired here cannot be freed before it), and before every yield that
 *   follows an unflushed change.  ZAP flushes per entry and needs neither.
 */
#include <errno.h>

#include "base/thread_slot.h"
#include "ops/huge_recovery.h"
#include "mmu/tdp_mmu_internal.h"
#include "mmu/tdp_root.h"

/* Permission bits a collapsed leaf keeps only if every leaf below has them. */
#define HUGE_AND_BITS (SPTE_W | SPTE_X | SPTE_HOST_WRITABLE | SPTE_MMU_WRITABLE)
/* Bits taken from the first present leaf below. */
#define HUGE_FIRST_BITS (SPTE_R | SPTE_ACCESSED | SPTE_DIRTY | SPTE_MMU_PRESENT)

/*
 * Is the table under @it collapsible?  On yes, *@pfn is the host frame of
 * the range's first gfn, aligned to the level.
 */
static bool collapsible(struct tdpmmu_vm *vm, const struct tdp_iter *it, uint64_t *pfn)
{
	uint64_t n = tdp_pages_per_level(it->level);
	struct tdp_host_frame hf;

	if (it->level > TDP_MAX_HUGE_LEVEL || !spte_is_present(it->old_spte) ||
	    spte_is_last(it->old_spte, it->level))
		return false;
	if (tdp_notifier_overlaps(&vm->notifier, it->gfn, it->gfn + n))
		return false;
	if (tdp_host_lookup(&vm->host, it->gfn, &hf))
		return false;
	if (hf.dirty_logging || hf.host_level < it->level || (hf.pfn & (n - 1)))
		return false;
	/* A write-tracked gfn inside keeps the range small. */
	if (tdp_write_track_max_level(&vm->track, it->gfn, it->level) < it->level)
		return false;
	*pfn = hf.pfn;
	return true;
}

struct leaf_summary {
	tdp_spte_t first;    /* the first present leaf, 0 if none */
	tdp_spte_t and_bits; /* HUGE_AND_BITS present in every leaf */
};

/* Walk the live table @p (walk protection held): FROZEN reads as non-present.
 */
static void summarize_leaves(struct tdp_mmu *mmu, struct tdp_page *p, struct leaf_summary *sum)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(&mmu->arena, p);

	for (unsigned i = 0; i < TDP_PTES_PER_TABLE; i++) {
		tdp_spte_t s = tdp_read_spte(&pt[i]);

		if (!spte_is_present(s))
			continue;
		if (!spte_is_last(s, p->level)) {
			summarize_leaves(mmu, tdp_page_from_pfn(&mmu->arena, spte_pfn(s)), sum);
			continue;
		}
		if (!sum->first)
			sum->first = s;
		sum->and_bits &= s;
	}
}

/* The huge leaf that replaces the table under @it, or 0 if it maps nothing. */
static tdp_spte_t make_huge_leaf(struct tdp_mmu *mmu, const struct tdp_iter *it, uint64_t pfn)
{
	struct leaf_summary sum = { 0, HUGE_AND_BITS };
	tdp_spte_t s;

	summarize_leaves(mmu, tdp_page_from_pfn(&mmu->arena, spte_pfn(it->old_spte)), &sum);
	if (!sum.first)
		return 0;
	s = (sum.first & HUGE_FIRST_BITS) | sum.and_bits | SPTE_LARGE | (pfn << SPTE_PFN_SHIFT);
	/* NX mitigation: a huge leaf is never executable. */
	if (mmu->nx_huge_pages)
		s &= ~SPTE_X;
	return s;
}

/*
 * Zap the table entry under @it as upstream's atomic zap does: freeze it
 * (the CAS winner tears the table down and retires it), flush, then store
 * non-present.  -EBUSY: the CAS lost, the snapshot is fresh, nothing done.
 */
static int zap_frozen(struct tdp_mmu *mmu, struct tdp_iter *it)
{
	int r = tdp_set_spte_atomic(mmu, it, SPTE_FROZEN);

	if (r)
		return r;
	/* While FROZEN nobody installs anything here: the flush comes first. */
	tdp_flush_remote_tlbs(mmu, it->gfn, it->level);
	/* FROZEN -> non-present: nobody else writes a FROZEN entry, no bookkeeping. */
	atomic_store_explicit(it->sptep, SPTE_NONPRESENT, memory_order_release);
	it->old_spte = SPTE_NONPRESENT;
	return 0;
}

static int recover_root(struct tdpmmu_vm *vm, struct tdp_page *root, uint64_t start, uint64_t end,
			enum tdpmmu_huge_recovery how, bool *flush, enum tdp_lock_mode mode)
{
	struct tdp_mmu *mmu = &vm->mmu;
	struct tdp_iter it;
	int done = 0;

	mmu_lock_assert_held(&mmu->lock, mode);
	for_each_tdp_pte_min_level(it, &mmu->arena, root, TDP_LEVEL_2M, start, end) {
		uint64_t pfn;
		tdp_spte_t new;

		if (tdp_mmu_iter_cond_yield(mmu, &it, *flush, mode)) {
			*flush = false;
			continue;
		}
retry:
		if (!collapsible(vm, &it, &pfn))
			continue;
		if (how == TDPMMU_RECOVER_ZAP) {
			/* Lost: the snapshot is fresh, judge the entry again. */
			if (zap_frozen(mmu, &it))
				goto retry;
			tdp_count(&mmu->counters, TDPMMU_C_COLLAPSIBLE_ZAPPED);
			done++;
			continue;
		}
		new = make_huge_leaf(mmu, &it, pfn);
		if (!new)
			continue; /* an empty table: leave it to the next fault */
		if (tdp_set_spte_atomic(mmu, &it, new))
			goto retry;
		tdp_count(&mmu->counters, TDPMMU_C_HUGE_RECOVERED);
		*flush = true;
		done++;
	}
	return done;
}

int tdp_recover_huge_pages(struct tdpmmu_vm *vm, uint64_t start, uint64_t end,
			   enum tdpmmu_huge_recovery how)
{
	struct tdp_mmu *mmu = &vm->mmu;
	/* CAS-based updates, under the lock mode that may disconnect tables. */
	enum tdp_lock_mode mode = tdp_mmu_unlink_mode(mmu);
	struct tdp_page *root;
	bool flush = false;
	int done = 0;

	if (how != TDPMMU_RECOVER_ZAP && how != TDPMMU_RECOVER_INPLACE)
		return 0;
	if (end > mmu->max_gfn)
		end = mmu->max_gfn;
	if (start >= end)
		return 0;
	tdp_mmu_lock(mmu, mode);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_root(mmu, root, true, mode)
		done += recover_root(vm, root, start, end, how, &flush, mode);
	/* INPLACE, before the walk ends: the tables retired above cannot be freed yet. */
	if (flush)
		tdp_flush_remote_tlbs(mmu, 0, 0);
	reclaim_walk_end(&mmu->reclaim);
	tdp_mmu_unlock(mmu, mode);
	return done;
}

int tdpmmu_recover_huge_pages(struct tdpmmu_vm *vm, uint32_t slot_id, enum tdpmmu_huge_recovery how)
{
	struct tdpmmu_memslot desc;
	unsigned log_flags;
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm || (how != TDPMMU_RECOVER_ZAP && how != TDPMMU_RECOVER_INPLACE))
		return -EINVAL;
	/* slots_lock: the range recovered is where the slot is (no move in between). */
	tdp_host_lock(&vm->host);
	r = tdp_host_get_slot(&vm->host, slot_id, &desc, &log_flags);
	if (!r && (log_flags & TDP_SLOT_LOGGING))
		r = -EINVAL;
	if (!r)
		r = tdp_recover_huge_pages(vm, desc.base_gfn, desc.base_gfn + desc.npages, how);
	tdp_host_unlock(&vm->host);
	return r;
}
