/*
 * tdp_root.c - root allocation, references, invalidation and the zap of
 * invalidated roots (concurrency rules in tdp_root.h).
 */
#include "mmu/tdp_mmu_internal.h"
#include "mmu/tdp_root.h"

bool tdp_root_get(struct tdp_page *root)
{
	int refs = atomic_load_explicit(&root->root_refs, memory_order_relaxed);

	do {
		if (!refs)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		&root->root_refs, &refs, refs + 1, memory_order_acquire, memory_order_relaxed));
	return true;
}

/* Unlink @root from the list; the pages lock (or the write lock) is held. */
static void roots_list_del(struct tdp_mmu *mmu, struct tdp_page *root)
{
	struct tdp_page *_Atomic *pp = &mmu->roots;
	struct tdp_page *cur;

	while ((cur = atomic_load_explicit(pp, memory_order_relaxed)) != root) {
		if (unlikely(!cur))
			tdp_bug("root at frame 0x%llx is not on the root list",
				(unsigned long long)tdp_page_pfn(&mmu->arena, root));
		pp = &cur->root_next;
	}
	/* Lockless readers at @root still find the rest of the list through it. */
	atomic_store_explicit(pp, atomic_load_explicit(&root->root_next, memory_order_relaxed),
			      memory_order_release);
}

void tdp_root_put(struct tdp_mmu *mmu, struct tdp_page *root, enum tdp_lock_mode mode)
{
	int refs;

	mmu_lock_assert_held(&mmu->lock, mode);
	refs = atomic_fetch_sub_explicit(&root->root_refs, 1, memory_order_acq_rel);
	if (unlikely(refs <= 0))
		tdp_bug("root at frame 0x%llx put with %d references",
			(unsigned long long)tdp_page_pfn(&mmu->arena, root), refs);
	if (refs > 1)
		return;
	if (unlikely(tdp_root_is_valid(root)))
		tdp_bug("last reference to a valid root (frame 0x%llx) dropped",
			(unsigned long long)tdp_page_pfn(&mmu->arena, root));

	tdp_pages_lock(&mmu->pages, &mmu->lock, mode);
	roots_list_del(mmu, root);
	tdp_pages_unaccount_locked(&mmu->pages, root);
	tdp_pages_unlock(&mmu->pages, mode);
	tdp_account_table(mmu, root, -1);
	tdp_count_add(&mmu->counters, TDPMMU_C_ROOTS_LIVE, -1);
	/* Lockless walkers may still be in it: the table goes the usual way. */
	reclaim_walk_begin(&mmu->reclaim);
	tdp_count(&mmu->counters, TDPMMU_C_TABLES_RETIRED);
	reclaim_retire(&mmu->reclaim, root);
	reclaim_walk_end(&mmu->reclaim);
}

struct tdp_page *tdp_root_next(struct tdp_mmu *mmu, struct tdp_page *prev, bool only_valid,
			       enum tdp_lock_mode mode)
{
	struct tdp_page *next;

	mmu_lock_assert_held(&mmu->lock, mode);
	tdp_pages_lock(&mmu->pages, &mmu->lock, mode);
	next = prev ? atomic_load_explicit(&prev->root_next, memory_order_relaxed)
		    : atomic_load_explicit(&mmu->roots, memory_order_relaxed);
	while (next && ((only_valid && !tdp_root_is_valid(next)) || !tdp_root_get(next)))
		next = atomic_load_explicit(&next->root_next, memory_order_relaxed);
	tdp_pages_unlock(&mmu->pages, mode);
	if (prev)
		tdp_root_put(mmu, prev, mode);
	return next;
}

struct tdp_page *tdp_root_find_valid(struct tdp_mmu *mmu, unsigned role)
{
	struct tdp_page *root;

	for_each_tdp_root_lockless(mmu, root)
		if (root->root_role == role && tdp_root_is_valid(root))
			return root;
	return NULL;
}

struct tdp_page *tdp_root_get_or_alloc(struct tdp_mmu *mmu, unsigned role, struct tdp_page_cache *c)
{
	struct tdp_page *root;

	mmu_lock_assert_held(&mmu->lock, TDP_SHARED);
	/* Roots are added under the pages lock: look and add in one hold. */
	tdp_pages_lock(&mmu->pages, &mmu->lock, TDP_SHARED);
	for (root = atomic_load_explicit(&mmu->roots, memory_order_relaxed); root;
	     root = atomic_load_explicit(&root->root_next, memory_order_relaxed)) {
		if (root->root_role == role && tdp_root_is_valid(root)) {
			if (unlikely(!tdp_root_get(root)))
				tdp_bug("valid root at frame 0x%llx has no references",
					(unsigned long long)tdp_page_pfn(&mmu->arena, root));
			tdp_pages_unlock(&mmu->pages, TDP_SHARED);
			return root;
		}
	}
	if (unlikely(!c->nr))
		tdp_bug("root allocation ran out of preallocated tables");
	root = c->pages[--c->nr];
	root->level = mmu->root_level;
	root->is_root = true;
	root->mmu = mmu;
	root->root_role = role;
	/* One reference for the caller, one for the MMU (dropped by the zap). */
	atomic_store_explicit(&root->root_refs, 2, memory_order_relaxed);
	atomic_store_explicit(&root->root_next,
			      atomic_load_explicit(&mmu->roots, memory_order_relaxed),
			      memory_order_relaxed);
	tdp_pages_account_locked(&mmu->pages, root);
	tdp_account_table(mmu, root, 1);
	tdp_count(&mmu->counters, TDPMMU_C_ROOTS_LIVE);
	tdp_count(&mmu->counters, TDPMMU_C_ROOTS_ALLOCATED);
	/* Release: a lockless walker that finds the root sees it initialised. */
	atomic_store_explicit(&mmu->roots, root, memory_order_release);
	tdp_pages_unlock(&mmu->pages, TDP_SHARED);
	return root;
}

void tdp_roots_invalidate_all(struct tdp_mmu *mmu)
{
	struct tdp_page *root;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	/* The write lock keeps the list still: no references needed. */
	for (root = atomic_load_explicit(&mmu->roots, memory_order_relaxed); root;
	     root = atomic_load_explicit(&root->root_next, memory_order_relaxed)) {
		if (!tdp_root_is_valid(root))
			continue;
		root->root_zap_scheduled = true;
		atomic_store_explicit(&root->root_invalid, true, memory_order_release);
		tdp_count(&mmu->counters, TDPMMU_C_ROOTS_INVALIDATED);
	}
}

/* Zap every present entry at exactly @zap_level (with what hangs below it). */
static void zap_root_level(struct tdp_mmu *mmu, struct tdp_page *root, int zap_level,
			   enum tdp_lock_mode mode)
{
	struct tdp_iter it;

	for_each_tdp_pte_min_level(it, &mmu->arena, root, zap_level, 0, mmu->max_gfn) {
		/* No flush: nothing in guest mode uses this root (see tdp_root.h). */
		if (tdp_mmu_iter_cond_yield(mmu, &it, false, mode))
			continue;
		while (it.level == zap_level && spte_is_present(it.old_spte)) {
			if (!tdp_set_spte_mode(mmu, &it, SPTE_NONPRESENT, mode))
				break;
			/* Lost to a fast-path or A/D update: the snapshot is fresh. */
		}
	}
}

void tdp_root_zap(struct tdp_mmu *mmu, struct tdp_page *root, enum tdp_lock_mode mode)
{
	static const int passes[] = { TDP_LEVEL_4K, TDP_LEVEL_2M, TDP_LEVEL_1G };

	mmu_lock_assert_held(&mmu->lock, mode);
	if (unlikely(!atomic_load_explicit(&root->root_refs, memory_order_relaxed)))
		tdp_bug("zap of root at frame 0x%llx that has no references",
			(unsigned long long)tdp_page_pfn(&mmu->arena, root));
	reclaim_walk_begin(&mmu->reclaim);
	/* Bottom up: each step removes little, so yields come often. */
	for (unsigned i = 0; i < sizeof(passes) / sizeof(passes[0]); i++)
		zap_root_level(mmu, root, passes[i], mode);
	zap_root_level(mmu, root, root->level, mode);
	reclaim_walk_end(&mmu->reclaim);
}

void tdp_roots_zap_invalidated(struct tdp_mmu *mmu, enum tdp_lock_mode mode)
{
	struct tdp_page *root;

	mmu_lock_assert_held(&mmu->lock, mode);
	for_each_tdp_root(mmu, root, false, mode) {
		if (!root->root_zap_scheduled)
			continue;
		root->root_zap_scheduled = false;
		tdp_root_zap(mmu, root, mode);
		/* The MMU's own reference; the iterator still holds one. */
		tdp_root_put(mmu, root, mode);
	}
}
