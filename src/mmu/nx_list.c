/*
 * nx_list.c - the possible-NX-huge-page list (concurrency in nx_list.h).
 */
#include "mmu/nx_list.h"

void tdp_nx_list_init(struct tdp_mmu *mmu)
{
	mmu->nx_head.nx_next = mmu->nx_head.nx_prev = &mmu->nx_head;
	mmu->nx_nr = 0;
}

void tdp_nx_track(struct tdp_mmu *mmu, struct tdp_page *p, enum tdp_lock_mode mode)
{
	tdp_pages_lock(&mmu->pages, &mmu->lock, mode);
	/* Already removed (and unmarked) by whoever disconnected it: nothing to list. */
	if (!p->nx_disallowed) {
		tdp_pages_unlock(&mmu->pages, mode);
		return;
	}
	if (unlikely(p->nx_listed))
		tdp_bug("NX: table level %d gfn 0x%llx listed twice", p->level,
			(unsigned long long)p->gfn);
	/* Newest at the tail: recovery pops the oldest from the head. */
	p->nx_prev = mmu->nx_head.nx_prev;
	p->nx_next = &mmu->nx_head;
	mmu->nx_head.nx_prev->nx_next = p;
	mmu->nx_head.nx_prev = p;
	p->nx_listed = true;
	mmu->nx_nr++;
	tdp_pages_unlock(&mmu->pages, mode);
	tdp_count(&mmu->counters, TDPMMU_C_NX_TRACKED);
}

static void nx_unlink(struct tdp_mmu *mmu, struct tdp_page *p)
{
	p->nx_prev->nx_next = p->nx_next;
	p->nx_next->nx_prev = p->nx_prev;
	p->nx_next = p->nx_prev = NULL;
	p->nx_listed = false;
	p->nx_disallowed = false;
	mmu->nx_nr--;
	tdp_count_add(&mmu->counters, TDPMMU_C_NX_TRACKED, -1);
}

void tdp_nx_untrack_locked(struct tdp_mmu *mmu, struct tdp_page *p)
{
	if (p->nx_listed)
		nx_unlink(mmu, p);
	p->nx_disallowed = false; /* a track that comes later must not list it */
}

struct tdp_page *tdp_nx_pop(struct tdp_mmu *mmu, enum tdp_lock_mode mode)
{
	struct tdp_page *p = NULL;

	tdp_pages_lock(&mmu->pages, &mmu->lock, mode);
	if (mmu->nx_nr) {
		p = mmu->nx_head.nx_next;
		nx_unlink(mmu, p);
	}
	tdp_pages_unlock(&mmu->pages, mode);
	return p;
}
