/*
 * tdp_mmu_internal.h - entry-update primitives shared by the operation
 * files (tdp_spte_update.c has the concurrency rules).
 */
#ifndef TDP_MMU_INTERNAL_H
#define TDP_MMU_INTERNAL_H

#include <errno.h>

#include "mmu/tdp_mmu.h"

/* CAS from it->old_spte (shared mode).  -EBUSY: lost, snapshot refreshed. */
int tdp_set_spte_atomic(struct tdp_mmu *mmu, struct tdp_iter *it, tdp_spte_t new);
/* Store or exchange (exclusive mode). */
void tdp_set_spte(struct tdp_mmu *mmu, struct tdp_iter *it, tdp_spte_t new);
/* Either of the above, as @mode says. */
int tdp_set_spte_mode(struct tdp_mmu *mmu, struct tdp_iter *it, tdp_spte_t new,
		      enum tdp_lock_mode mode);
void tdp_account_table(struct tdp_mmu *mmu, struct tdp_page *p, int64_t delta);
void tdp_account_leaf(struct tdp_mmu *mmu, int level, int64_t delta);

#endif
