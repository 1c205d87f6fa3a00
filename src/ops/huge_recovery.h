/*
 * huge_recovery.h - bringing huge pages back after dirty logging: zap the
 * collapsible tables (old way) or replace each with a huge leaf in place
 * (new way).  Concurrency and details in huge_recovery.c.
 */
#ifndef TDP_HUGE_RECOVERY_H
#define TDP_HUGE_RECOVERY_H

#include "vm/vm_internal.h"

/*
 * Recover huge pages over [start, end) in every valid root, @how, under
 * the read lock (taken here).  ZAP freezes each table's entry, flushes,
 * then clears it; INPLACE flushes once before walk protection ends (and
 * before any yield that follows a change).  Returns tables zapped or
 * collapsed.
 */
int tdp_recover_huge_pages(struct tdpmmu_vm *vm, uint64_t start, uint64_t end,
			   enum tdpmmu_huge_recovery how);

#endif
