/*
 * tdp_spte_update.c - changing one entry, and everything a change implies.
 *
 * Concurrency:
 * - tdp_set_spte_atomic (shared): a CAS from the caller's snapshot.  The
 *   snapshot must not be FROZEN: nobody ever CASes away from FROZEN, which
 *   is what makes FROZEN an ownership token.  On failure the snapshot is
 *   refreshed and nothing else has changed.
 * - tdp_set_spte (exclusive): no other MMU thread writes entries, but the
 *   hardware walker may set A/D and the fast path may set W on a leaf, so
 *   a leaf with volatile bits is exchanged, not stored, and the bits that
 *   came back are the ones reported to the change handler.
 * - handle_changed_spte runs after the entry is already changed, on the
 *   thread that changed it: accounting, checks, and the removal of a table
 *   that was disconnected by the change.
 * - handle_removed_table: the thread whose CAS/exchange disconnected the
 *   table is the only one that gets here for it.  It freezes each entry
 *   with an exchange (in shared mode it spins while another thread holds
 *   an entry FROZEN, because that thread will write a final value), so no
 *   thread can install anything in the dead table; then it handles each
 *   child recursively and retires the table.  The entries stay FROZEN
 *   until the table is freed.
 */
#include <sched.h>

#include "base/inject.h"
#include "base/mutant.h"
#include "mmu/nx_list.h"
#include "mmu/tdp_mmu_internal.h"

static const enum tdpmmu_counter leaf_counter[] = {
	[TDP_LEVEL_4K] = TDPMMU_C_LEAVES_4K,
	[TDP_LEVEL_2M] = TDPMMU_C_LEAVES_2M,
	[TDP_LEVEL_1G] = TDPMMU_C_LEAVES_1G,
};

static void handle_changed_spte(struct tdp_mmu *mmu, uint64_t gfn, tdp_spte_t old, tdp_spte_t new,
				int level, enum tdp_lock_mode mode);

void tdp_account_leaf(struct tdp_mmu *mmu, int level, int64_t delta)
{
	if (unlikely(level > TDP_MAX_HUGE_LEVEL))
		tdp_bug("leaf at level %d (above 1G)", level);
	tdp_count_add(&mmu->counters, leaf_counter[level], delta);
}

void tdp_account_table(struct tdp_mmu *mmu, struct tdp_page *p, int64_t delta)
{
	tdp_count_add(&mmu->counters, (enum tdpmmu_counter)(TDPMMU_C_TABLES_L1 + p->level - 1),
		      delta);
}

static void handle_removed_table(struct tdp_mmu *mmu, struct tdp_page *p, enum tdp_lock_mode mode)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(&mmu->arena, p);
	uint64_t step = tdp_pages_per_level(p->level);

	/*
	 * LIST: one hold of the pages lock for the list and the NX list, as
	 * the seed's patch.  COUNT: the count is atomic; the lock only if the
	 * table may be on the NX list (set before it was published, cleared
	 * under the lock: a table read as not NX-disallowed is on no list).
	 */
	if (tdp_pages_is_list(&mmu->pages) || atomic_load(&p->nx_disallowed)) {
		tdp_pages_lock(&mmu->pages, &mmu->lock, mode);
		tdp_pages_unaccount_locked(&mmu->pages, p);
		tdp_nx_untrack_locked(mmu, p);
		tdp_pages_unlock(&mmu->pages, mode);
	} else {
		tdp_pages_unaccount_locked(&mmu->pages, p);
	}
	tdp_account_table(mmu, p, -1);
	/* CAS-based operations (recovery) may hold the write lock and say TDP_SHARED. */
	if (unlikely(!tdp_mmu_may_unlink(mmu, mode) && !mmu_lock_held_write(&mmu->lock)))
		tdp_bug("table level %d gfn 0x%llx (frame 0x%llx) unlinked in %s mode under "
			"the %s fault-lock policy",
			p->level, (unsigned long long)p->gfn,
			(unsigned long long)tdp_page_pfn(&mmu->arena, p),
			mode == TDP_SHARED ? "shared" : "exclusive", mmu->fault_lock.name);

	for (unsigned i = 0; i < TDP_PTES_PER_TABLE; i++) {
		uint64_t gfn = p->gfn + i * step;
		tdp_spte_t old;

		if (mode == TDP_SHARED) {
			/*
			 * Another thread may hold this entry FROZEN mid-update; it
			 * will store a final value, which we then take over.
			 */
			for (unsigned spins = 0;; spins++) {
				old = atomic_exchange(&pt[i], SPTE_FROZEN);
				if (!spte_is_frozen(old))
					break;
				tdp_count(&mmu->counters, TDPMMU_C_FROZEN_SPINS);
				if (spins & 63)
					cpu_relax();
				else
					sched_yield();
			}
		} else {
			old = atomic_load_explicit(&pt[i], memory_order_relaxed);
			if (!spte_is_present(old))
				continue;
			/* Exchange: hardware may still set A/D through a cached walk. */
			old = atomic_exchange(&pt[i], SPTE_FROZEN);
			if (unlikely(spte_is_frozen(old)))
				tdp_bug("entry level %d gfn 0x%llx FROZEN under the write lock",
					p->level, (unsigned long long)gfn);
		}
		handle_changed_spte(mmu, gfn, old, SPTE_FROZEN, p->level, mode);
		tdp_inject_delay(); /* entries stay FROZEN a while: walkers meet them */
	}
	tdp_count(&mmu->counters, TDPMMU_C_TABLES_RETIRED);
	reclaim_retire(&mmu->reclaim, p);
}

static void handle_changed_spte(struct tdp_mmu *mmu, uint64_t gfn, tdp_spte_t old, tdp_spte_t new,
				int level, enum tdp_lock_mode mode)
{
	bool was_present = spte_is_present(old), is_present = spte_is_present(new);
	bool was_leaf = was_present && spte_is_last(old, level);
	bool is_leaf = is_present && spte_is_last(new, level);
	bool pfn_changed = spte_pfn(old) != spte_pfn(new);

	if (unlikely(level < TDP_LEVEL_4K || level > mmu->root_level))
		tdp_bug("entry change at level %d, gfn 0x%llx", level, (unsigned long long)gfn);
	if (unlikely(gfn != tdp_align_gfn(gfn, level)))
		tdp_bug("gfn 0x%llx not aligned to its level %d", (unsigned long long)gfn, level);
	if (unlikely(was_leaf && is_leaf && pfn_changed))
		tdp_bug("present leaf changed frame without a zap: gfn 0x%llx level %d "
			"old 0x%016llx (frame 0x%llx) new 0x%016llx (frame 0x%llx)",
			(unsigned long long)gfn, level, (unsigned long long)old,
			(unsigned long long)spte_pfn(old), (unsigned long long)new,
			(unsigned long long)spte_pfn(new));
	if (old == new)
		return;
	if (unlikely(is_leaf && !spte_writable_bits_consistent(new)))
		tdp_bug("leaf 0x%016llx at level %d gfn 0x%llx breaks W => MMU-writable => "
			"host-writable",
			(unsigned long long)new, level, (unsigned long long)gfn);
	/* An MMIO entry is made, renewed or dropped: nothing to account. */
	if (unlikely(!was_present && !is_present && !spte_is_frozen(new) && !spte_is_mmio(new) &&
		     !spte_is_mmio(old)))
		tdp_bug("non-present to non-present change 0x%016llx -> 0x%016llx at level %d "
			"gfn 0x%llx",
			(unsigned long long)old, (unsigned long long)new, level,
			(unsigned long long)gfn);
	if (was_leaf != is_leaf)
		tdp_account_leaf(mmu, level, is_leaf ? 1 : -1);
	/* The Dirty bit leaves with the leaf: hand it to the host. */
	if (was_leaf && spte_is_dirty(old) && !is_present) {
		tdp_count(&mmu->counters, TDPMMU_C_DIRTY_LEAVES_DROPPED);
		if (mmu->dirty)
			mmu->dirty(mmu->dirty_ctx, spte_pfn(old), tdp_pages_per_level(level));
	}
	if (was_present && !was_leaf) {
		if (unlikely(is_present && !is_leaf && pfn_changed))
			tdp_bug("non-leaf entry at level %d gfn 0x%llx moved from table 0x%llx "
				"to 0x%llx",
				level, (unsigned long long)gfn, (unsigned long long)spte_pfn(old),
				(unsigned long long)spte_pfn(new));
		if (is_leaf || !is_present)
			handle_removed_table(mmu, tdp_page_from_pfn(&mmu->arena, spte_pfn(old)),
					     mode);
	}
}

int tdp_set_spte_atomic(struct tdp_mmu *mmu, struct tdp_iter *it, tdp_spte_t new)
{
	mmu_lock_assert_held(&mmu->lock, TDP_SHARED);
	/* The mutant cas-from-frozen (docs/testing.md) lets a CAS replace FROZEN. */
	if (unlikely(it->yielded || (!TDP_MUTANT(CAS_FROM_FROZEN) && spte_is_frozen(it->old_spte))))
		tdp_bug("CAS from %s at level %d gfn 0x%llx",
			it->yielded ? "a yielded iterator" : "FROZEN", it->level,
			(unsigned long long)it->gfn);
	tdp_inject_delay(); /* the snapshot ages before the CAS */
	if (!atomic_compare_exchange_strong(it->sptep, &it->old_spte, new)) {
		tdp_count(&mmu->counters, TDPMMU_C_CAS_FAILED);
		return -EBUSY;
	}
	handle_changed_spte(mmu, it->gfn, it->old_spte, new, it->level, TDP_SHARED);
	it->old_spte = new;
	return 0;
}

void tdp_set_spte(struct tdp_mmu *mmu, struct tdp_iter *it, tdp_spte_t new)
{
	tdp_spte_t old = it->old_spte;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	if (unlikely(it->yielded || spte_is_frozen(old) || spte_is_frozen(new)))
		tdp_bug("exclusive write %s FROZEN or after a yield, level %d gfn 0x%llx",
			spte_is_frozen(new) ? "to" : "from", it->level,
			(unsigned long long)it->gfn);
	tdp_inject_delay(); /* hardware may set A/D after the snapshot */
	if (unlikely(tdp_inject_store_hook))
		tdp_inject_store_hook(it->sptep);
	/* The mutant plain-store (docs/testing.md) loses A/D set since the snapshot. */
	if (!TDP_MUTANT(PLAIN_STORE) && spte_has_volatile_bits(old, it->level))
		old = atomic_exchange(it->sptep, new);
	else
		atomic_store_explicit(it->sptep, new, memory_order_release);
	handle_changed_spte(mmu, it->gfn, old, new, it->level, TDP_EXCLUSIVE);
	it->old_spte = new;
}

int tdp_set_spte_mode(struct tdp_mmu *mmu, struct tdp_iter *it, tdp_spte_t new,
		      enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED)
		return tdp_set_spte_atomic(mmu, it, new);
	tdp_set_spte(mmu, it, new);
	return 0;
}
