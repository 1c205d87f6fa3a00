/*
 * tdp_mmu_map.c - the page fault's map step and the per-vCPU table cache.
 *
 * Concurrency: runs with the MMU lock in the mode given (TDP_SHARED for
 * upstream's parallel faults) inside one walk.  Every change is a single
 * CAS from a fresh snapshot (tdp_set_spte_atomic):
 * - a missing table is linked by CAS; a table that loses the race was
 *   never visible and goes straight back to the vCPU's cache;
 * - a huge leaf in the way of a smaller mapping is split: the new table is
 *   filled completely before the CAS publishes it, with the same frames
 *   and bits, so no flush is needed;
 * - a huge leaf that replaces a table (the seed thread's case) disconnects
 *   the table; the CAS winner tears it down, and the TLB flush for the
 *   range is issued here, before the walk ends, so the table cannot be
 *   freed before the flush.  When the fault-lock policy does not let
 *   @mode disconnect tables (wrlock in TDP_SHARED), the fault backs off
 *   instead (TDP_MAP_NEED_WRITE) and comes back in tdp_mmu_unlink_mode();
 * - FROZEN anywhere on the path, or a lost CAS, ends the attempt with
 *   TDP_MAP_RETRY and the vCPU faults again;
 * - a fault on a gfn in no memslot (f->mmio set) links tables down to 4K
 *   as any fault does and installs the MMIO entry there by CAS (KVM's
 *   tdp_mmu_map_handle_target_level with a no-slot pfn).  A present leaf
 *   on the way means a slot came after the fault's lookup: it stays, and
 *   the fault is spurious (the access is retried and finds it).
 */
#include "base/inject.h"
#include "base/mutant.h"
#include "mmu/nx_list.h"
#include "mmu/tdp_mmu_internal.h"

int tdp_page_cache_topup(struct tdp_mmu *mmu, struct tdp_page_cache *c)
{
	while (c->nr < TDP_PAGE_CACHE_MIN) {
		struct tdp_page *p = tdp_page_alloc(&mmu->arena);

		if (!p)
			return -ENOMEM;
		c->pages[c->nr++] = p;
	}
	return 0;
}

void tdp_page_cache_release(struct tdp_mmu *mmu, struct tdp_page_cache *c)
{
	while (c->nr)
		tdp_page_free(&mmu->arena, c->pages[--c->nr]);
}

static struct tdp_page *cache_take(struct tdp_page_cache *c)
{
	if (unlikely(!c->nr))
		tdp_bug("fault ran out of preallocated tables");
	return c->pages[--c->nr];
}

/*
 * A table whose link CAS lost was never visible to anyone: it goes back to
 * the cache it came from (there is room: it was just taken), without the
 * arena mutex or poisoning under the MMU lock.
 */
static void cache_put_back(struct tdp_mmu *mmu, struct tdp_page_cache *c, struct tdp_page *p)
{
	tdp_page_reset(&mmu->arena, p);
	c->pages[c->nr++] = p;
}

/* Publish @p under the entry at @it (a CAS in shared mode). */
static int link_table(struct tdp_mmu *mmu, struct tdp_iter *it, struct tdp_page *p,
		      enum tdp_lock_mode mode)
{
	tdp_spte_t new = spte_make_nonleaf(tdp_page_pfn(&mmu->arena, p));

	p->ptep = it->sptep;
	/* Accounted before it is reachable, so an unaccount never precedes it. */
	tdp_pages_account(&mmu->pages, &mmu->lock, p, mode);
	tdp_account_table(mmu, p, 1);
	if (tdp_set_spte_mode(mmu, it, new, mode)) {
		tdp_pages_unaccount(&mmu->pages, &mmu->lock, p, mode);
		tdp_account_table(mmu, p, -1);
		return -EBUSY;
	}
	tdp_count(&mmu->counters, TDPMMU_C_TABLES_LINKED);
	return 0;
}

int tdp_mmu_split_huge_leaf(struct tdp_mmu *mmu, struct tdp_iter *it, struct tdp_page *p,
			    enum tdp_lock_mode mode)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(&mmu->arena, p);
	tdp_spte_t huge = it->old_spte;

	mmu_lock_assert_held(&mmu->lock, mode);
	/* NX: 4K children are executable again (2M children are still huge). */
	if (mmu->nx_huge_pages && p->level == TDP_LEVEL_4K)
		huge |= SPTE_X;
	for (unsigned i = 0; i < TDP_PTES_PER_TABLE; i++)
		atomic_store_explicit(&pt[i], spte_make_split_child(huge, p->level, i),
				      memory_order_relaxed);
	if (link_table(mmu, it, p, mode))
		return -EBUSY;
	tdp_account_leaf(mmu, p->level, TDP_PTES_PER_TABLE);
	tdp_count(&mmu->counters, TDPMMU_C_HUGE_SPLITS);
	return 0;
}

/*
 * What a fault keeps of a present leaf that maps the same frame.  The
 * mutant downgrade-no-flush (docs/testing.md) restores the old bug: a read
 * fault in a logging slot replaces a W leaf by one without W, and nothing
 * flushes the writer's TLB.
 */
#define BROKEN_DOWNGRADE TDP_MUTANT(DOWNGRADE_NO_FLUSH)
#define MAP_KEEP_BITS                                                                              \
	(SPTE_ACCESSED | SPTE_DIRTY | (BROKEN_DOWNGRADE ? 0 : SPTE_W | SPTE_MMU_WRITABLE | SPTE_X))

/*
 * The leaf at the goal level.  A fault never weakens a present leaf that
 * maps the same frame: if the leaf already allows the access, another
 * vCPU fixed it and the fault is spurious (KVM's target-level handling);
 * otherwise the new leaf keeps every permission the old one granted (W,
 * MMU-writable, X) and the A/D bits hardware set.  W kept this way is
 * still under the dirty-log contract: the CAS is from the snapshot, so a
 * harvester that took W away in between makes it fail.  So a CAS here
 * never takes W or X from a leaf and needs no flush (KVM flushes, with a
 * WARN, if one ever did); a leaf that changes frame is a BUG in
 * handle_changed_spte.
 */
static enum tdp_map_result map_target_level(struct tdp_mmu *mmu, struct tdp_iter *it,
					    struct tdp_fault *f, enum tdp_lock_mode mode)
{
	uint64_t pfn = f->pfn - (f->gfn - it->gfn);
	tdp_spte_t old = it->old_spte;
	unsigned flags = f->spte_flags;
	tdp_spte_t new;

	f->mapped_level = it->level;
	f->mapped = old;
	if (!BROKEN_DOWNGRADE && spte_is_leaf(old, it->level) && spte_pfn(old) == pfn &&
	    tdp_access_allowed(old, f->access))
		return TDP_MAP_SPURIOUS;
	/* The NX mitigation: a huge page is never executable. */
	if (mmu->nx_huge_pages && it->level > TDP_LEVEL_4K)
		flags &= ~SPTE_MAKE_EXEC;
	new = spte_make_leaf(pfn, it->level, flags);
	if (spte_is_leaf(old, it->level) && spte_pfn(old) == pfn)
		new |= (old & MAP_KEEP_BITS);
	f->mapped = new;
	if (new == old)
		return TDP_MAP_SPURIOUS;
	if (spte_is_present(old) && !spte_is_last(old, it->level) && !tdp_mmu_may_unlink(mmu, mode))
		return TDP_MAP_NEED_WRITE;
	if (tdp_set_spte_mode(mmu, it, new, mode))
		return TDP_MAP_RETRY;
	if (spte_is_present(old) && !spte_is_last(old, it->level)) {
		tdp_count(&mmu->counters, TDPMMU_C_TABLES_REPLACED);
		tdp_inject_delay(); /* unlinked, not yet flushed */
		tdp_flush_remote_tlbs(mmu, it->gfn, it->level);
	}
	return TDP_MAP_FIXED;
}

/*
 * The MMIO entry at 4K.  Replacing an older MMIO entry renews its
 * generation; replacing an empty one makes it.  Either way nothing was
 * mapped, so no flush.
 */
static enum tdp_map_result map_mmio(struct tdp_mmu *mmu, struct tdp_iter *it, struct tdp_fault *f,
				    enum tdp_lock_mode mode)
{
	tdp_spte_t old = it->old_spte;

	f->mapped_level = it->level;
	f->mapped = old;
	if (spte_is_present(old) || old == f->mmio)
		return TDP_MAP_SPURIOUS;
	if (tdp_set_spte_mode(mmu, it, f->mmio, mode))
		return TDP_MAP_RETRY;
	f->mapped = f->mmio;
	tdp_count(&mmu->counters, TDPMMU_C_MMIO_INSTALLED);
	return TDP_MAP_FIXED;
}

/*
 * NX: an entry at the goal level points at a table that exists because an
 * execute fault could not map huge here.  Mapping huge over it would only
 * be undone by the next execute fault: go one level down instead.
 */
static void nx_adjust_goal(struct tdp_mmu *mmu, struct tdp_iter *it, struct tdp_fault *f)
{
	if (it->level > TDP_LEVEL_4K && it->level == f->goal_level &&
	    spte_is_present(it->old_spte) && !spte_is_last(it->old_spte, it->level) &&
	    tdp_page_from_pfn(&mmu->arena, spte_pfn(it->old_spte))->nx_disallowed)
		f->goal_level--;
}

enum tdp_map_result tdp_mmu_map(struct tdp_mmu *mmu, struct tdp_page_cache *c, struct tdp_fault *f,
				enum tdp_lock_mode mode)
{
	enum tdp_map_result ret = TDP_MAP_RETRY;
	struct tdp_iter it;

	mmu_lock_assert_held(&mmu->lock, mode);
	TDP_ASSERT(f->goal_level >= TDP_LEVEL_4K && f->goal_level <= TDP_MAX_HUGE_LEVEL);
	reclaim_walk_begin(&mmu->reclaim);
	tdp_inject_delay(); /* inside walk protection */
	for_each_tdp_pte(it, &mmu->arena, f->root, f->gfn, f->gfn + 1) {
		struct tdp_page *p;
		int r;

		if (spte_is_frozen(it.old_spte)) {
			tdp_count(&mmu->counters, TDPMMU_C_FROZEN_SEEN);
			if (!TDP_MUTANT(CAS_FROM_FROZEN)) /* the mutant maps over FROZEN */
				goto out;
		}
		if (mmu->nx_huge_pages)
			nx_adjust_goal(mmu, &it, f);
		if (f->mmio && spte_is_leaf(it.old_spte, it.level)) {
			/* Mapped since the lookup found no slot: leave it. */
			f->mapped_level = it.level;
			f->mapped = it.old_spte;
			ret = TDP_MAP_SPURIOUS;
			goto out;
		}
		if (it.level == f->goal_level) {
			ret = f->mmio ? map_mmio(mmu, &it, f, mode)
				      : map_target_level(mmu, &it, f, mode);
			goto out;
		}
		if (spte_is_present(it.old_spte) && !spte_is_large(it.old_spte))
			continue;

		p = cache_take(c);
		p->gfn = it.gfn;
		p->level = it.level - 1;
		p->mmu = mmu;
		p->nx_disallowed = f->huge_disallowed;
		r = spte_is_present(it.old_spte) ? tdp_mmu_split_huge_leaf(mmu, &it, p, mode)
						 : link_table(mmu, &it, p, mode);
		if (r) {
			tdp_count(&mmu->counters, TDPMMU_C_TABLES_LOST_RACE);
			cache_put_back(mmu, c, p);
			goto out;
		}
		/* The table stands where a huge page could have been: list it. */
		if (f->huge_disallowed && f->req_level >= it.level)
			tdp_nx_track(mmu, p, mode);
	}
	/* The entry changed under the step down (zapped, frozen): fault again. */
out:
	reclaim_walk_end(&mmu->reclaim);
	return ret;
}
