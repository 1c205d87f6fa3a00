/*
 * tdp_iter.h - pre-order walk of a TDP tree over a gfn range.
 *
 * Concurrency: the walk runs inside reclaim_walk_begin/end (tables it
 * reaches cannot be freed under it) and under the MMU lock in either mode,
 * or no lock at all for read-only lookups.  Entries are read with atomic
 * loads; the iterator re-reads an entry right before stepping down through
 * it, so it never descends into a table that was already unlinked from that
 * entry.  A table unlinked later is still safe to read (its entries are
 * FROZEN), and callers must treat FROZEN as "back off".
 *
 * After a yield (tdp_mmu_iter_cond_yield) the walk restarts from the root
 * towards next_last_level_gfn, so it never follows a pointer it read
 * before dropping protection.
 */
#ifndef TDP_ITER_H
#define TDP_ITER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/inject.h"
#include "mmu/mmu_page.h"

struct tdp_iter {
	_Atomic(tdp_spte_t) *pt_path[TDP_LEVEL_MAX]; /* table at each level */
	_Atomic(tdp_spte_t) *sptep;                  /* current entry */
	tdp_spte_t old_spte;                         /* snapshot of *sptep */
	uint64_t gfn;                                /* first gfn the entry maps */
	uint64_t next_last_level_gfn;                /* where the walk resumes */
	uint64_t yielded_gfn;                        /* progress mark of last yield */
	const struct tdp_arena *arena;
	int root_level, min_level, level;
	bool valid, yielded;
	unsigned steps;       /* entries visited, for the time-slice check */
	uint64_t slice_start; /* ns, 0 until the first check */
};

static inline tdp_spte_t tdp_read_spte(_Atomic(tdp_spte_t) *sptep)
{
	tdp_spte_t s = atomic_load_explicit(sptep, memory_order_acquire);

	if (unlikely(s == SPTE_POISON))
		tdp_bug("walk read a freed table (entry %p)", (void *)sptep);
	return s;
}

void tdp_iter_start(struct tdp_iter *it, const struct tdp_arena *arena, struct tdp_page *root,
		    int min_level, uint64_t gfn);
void tdp_iter_restart(struct tdp_iter *it);

/* The steps are inline: the fault path walks one gfn with them. */
static inline void tdp_iter_refresh(struct tdp_iter *it)
{
	it->sptep = it->pt_path[it->level - 1] + tdp_index(it->gfn, it->level);
	it->old_spte = tdp_read_spte(it->sptep);
}

static inline bool try_step_down(struct tdp_iter *it)
{
	if (it->level == it->min_level)
		return false;
	/* Re-read: the entry may have been zapped since the caller looked at it. */
	it->old_spte = tdp_read_spte(it->sptep);
	if (!spte_is_present(it->old_spte) || spte_is_last(it->old_spte, it->level))
		return false;
	it->level--;
	it->pt_path[it->level - 1] = tdp_pfn_table(it->arena, spte_pfn(it->old_spte));
	it->gfn = tdp_align_gfn(it->next_last_level_gfn, it->level);
	tdp_inject_delay(); /* holding a pointer the table's owner may unlink now */
	tdp_iter_refresh(it);
	return true;
}

static inline bool try_step_side(struct tdp_iter *it)
{
	if (tdp_index(it->gfn, it->level) == TDP_PTES_PER_TABLE - 1)
		return false;
	it->gfn += tdp_pages_per_level(it->level);
	it->next_last_level_gfn = it->gfn;
	it->sptep++;
	it->old_spte = tdp_read_spte(it->sptep);
	return true;
}

static inline bool try_step_up(struct tdp_iter *it)
{
	if (it->level == it->root_level)
		return false;
	it->level++;
	it->gfn = tdp_align_gfn(it->gfn, it->level);
	tdp_iter_refresh(it);
	return true;
}

static inline void tdp_iter_next(struct tdp_iter *it)
{
	if (it->yielded) {
		tdp_iter_restart(it);
		return;
	}
	if (try_step_down(it))
		return;
	do {
		if (try_step_side(it))
			return;
	} while (try_step_up(it));
	it->valid = false;
}

/* Walk every entry at level >= min_level that maps some gfn in [start, end). */
#define for_each_tdp_pte_min_level(it, arena, root, min_level, start, end)                         \
	for (tdp_iter_start(&(it), (arena), (root), (min_level), (start));                         \
	     (it).valid && (it).gfn < (end); tdp_iter_next(&(it)))

#define for_each_tdp_pte(it, arena, root, start, end)                                              \
	for_each_tdp_pte_min_level(it, arena, root, TDP_LEVEL_4K, start, end)

#endif
