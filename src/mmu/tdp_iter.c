/*
 * tdp_iter.c - starting and restarting a walk (concurrency rules in tdp_iter.h).
 */
#include "mmu/tdp_iter.h"

void tdp_iter_restart(struct tdp_iter *it)
{
	it->yielded = false;
	it->yielded_gfn = it->next_last_level_gfn;
	it->level = it->root_level;
	it->gfn = tdp_align_gfn(it->next_last_level_gfn, it->level);
	tdp_iter_refresh(it);
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
