/*
 * tlb.h - a vCPU's software TLB: translations cached at the size they were
 * mapped with (4K, 2M, 1G), direct-mapped, filled by the hardware walker.
 *
 * Each entry also keeps the leaf value the walk saw and where the leaf
 * lives, as a real TLB keeps enough to set the Dirty bit later without a
 * full walk ("A/D assists through cached entries").  That pointer may
 * point into a table that has since been unlinked: this is legal until the
 * remote TLB flush that follows the unlink, and that flush empties the TLB
 * before the table can be freed.
 *
 * Concurrency: private to the vCPU's thread.  Other threads never touch a
 * TLB; they ask the vCPU to flush it (TDP_REQ_TLB_FLUSH) and wait until it
 * has left guest mode.
 */
#ifndef TDP_TLB_H
#define TDP_TLB_H

#include <stdint.h>
#include <string.h>

#include "mmu/spte.h"

#define TLB_SETS_4K 256
#define TLB_SETS_2M 32
#define TLB_SETS_1G 4

struct tdp_tlb_entry {
	uint64_t tag;               /* first gfn mapped, plus 1; 0 = empty */
	tdp_spte_t spte;            /* the leaf as last seen or set by us */
	_Atomic(tdp_spte_t) *sptep; /* where the leaf lives */
};

struct tdp_tlb {
	struct tdp_tlb_entry e4k[TLB_SETS_4K];
	struct tdp_tlb_entry e2m[TLB_SETS_2M];
	struct tdp_tlb_entry e1g[TLB_SETS_1G];
};

static inline struct tdp_tlb_entry *tlb_slot(struct tdp_tlb *t, uint64_t gfn, int level)
{
	uint64_t base = tdp_align_gfn(gfn, level) / tdp_pages_per_level(level);

	switch (level) {
	case TDP_LEVEL_4K:
		return &t->e4k[base % TLB_SETS_4K];
	case TDP_LEVEL_2M:
		return &t->e2m[base % TLB_SETS_2M];
	default:
		return &t->e1g[base % TLB_SETS_1G];
	}
}

/* The entry translating @gfn, smallest page size first, or NULL. */
static inline struct tdp_tlb_entry *tlb_lookup(struct tdp_tlb *t, uint64_t gfn, int *level)
{
	for (int l = TDP_LEVEL_4K; l <= TDP_MAX_HUGE_LEVEL; l++) {
		struct tdp_tlb_entry *e = tlb_slot(t, gfn, l);

		if (e->tag == tdp_align_gfn(gfn, l) + 1) {
			*level = l;
			return e;
		}
	}
	return NULL;
}

static inline struct tdp_tlb_entry *tlb_fill(struct tdp_tlb *t, uint64_t gfn, int level,
					     tdp_spte_t spte, _Atomic(tdp_spte_t) *sptep)
{
	struct tdp_tlb_entry *e = tlb_slot(t, gfn, level);

	e->tag = tdp_align_gfn(gfn, level) + 1;
	e->spte = spte;
	e->sptep = sptep;
	return e;
}

static inline void tlb_flush_all(struct tdp_tlb *t)
{
	memset(t, 0, sizeof(*t));
}

#endif
