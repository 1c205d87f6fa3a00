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

#include "mmu_page.h"

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
void tdp_iter_next(struct tdp_iter *it);

/* Walk every entry at level >= min_level that maps some gfn in [start, end). */
#define for_each_tdp_pte_min_level(it, arena, root, min_level, start, end)                         \
	for (tdp_iter_start(&(it), (arena), (root), (min_level), (start));                        \
	     (it).valid && (it).gfn < (end); tdp_iter_next(&(it)))

#define for_each_tdp_pte(it, arena, root, start, end)                                              \
	for_each_tdp_pte_min_level(it, arena, root, TDP_LEVEL_4K, start, end)

#endif
