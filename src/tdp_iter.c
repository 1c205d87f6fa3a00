/*
 * tdp_iter.c - step down / side / up (concurrency rules in tdp_iter.h).
 */
#include "tdp_iter.h"

static void iter_refresh(struct tdp_iter *it)
{
	it->sptep = it->pt_path[it->level - 1] + tdp_index(it->gfn, it->level);
	it->old_spte = tdp_read_spte(it->sptep);
}

void tdp_iter_restart(struct tdp_iter *it)
{
	it->yielded = false;
	it->yielded_gfn = it->next_last_level_gfn;
	it->level = it->root_level;
	it->gfn = tdp_align_gfn(it->next_last_level_gfn, it->level);
	iter_refresh(it);
	it->valid = true;
}

void tdp_iter_start(struct tdp_iter *it, const struct tdp_arena *arena, struct tdp_page *root,
		    int min_level, uint64_t gfn)
{
	TDP_ASSERT(min_level >= TDP_LEVEL_4K && min_level <= root->level);
	it->arena = arena;
	it->root_level = root->level;
	it->min_level = min_level;
	it->next_last_level_gfn = gfn;
	it->steps = 0;
	it->slice_start = 0;
	it->pt_path[it->root_level - 1] = tdp_page_table(arena, root);
	tdp_iter_restart(it);
}

static bool try_step_down(struct tdp_iter *it)
{
	struct tdp_page *child;

	if (it->level == it->min_level)
		return false;
	/* Re-read: the entry may have been zapped since the caller looked at it. */
	it->old_spte = tdp_read_spte(it->sptep);
	if (!spte_is_present(it->old_spte) || spte_is_last(it->old_spte, it->level))
		return false;
	child = tdp_page_from_pfn(it->arena, spte_pfn(it->old_spte));
	it->level--;
	it->pt_path[it->level - 1] = tdp_page_table(it->arena, child);
	it->gfn = tdp_align_gfn(it->next_last_level_gfn, it->level);
	iter_refresh(it);
	return true;
}

static bool try_step_side(struct tdp_iter *it)
{
	if (tdp_index(it->gfn, it->level) == TDP_PTES_PER_TABLE - 1)
		return false;
	it->gfn += tdp_pages_per_level(it->level);
	it->next_last_level_gfn = it->gfn;
	it->sptep++;
	it->old_spte = tdp_read_spte(it->sptep);
	return true;
}

static bool try_step_up(struct tdp_iter *it)
{
	if (it->level == it->root_level)
		return false;
	it->level++;
	it->gfn = tdp_align_gfn(it->gfn, it->level);
	iter_refresh(it);
	return true;
}

void tdp_iter_next(struct tdp_iter *it)
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
