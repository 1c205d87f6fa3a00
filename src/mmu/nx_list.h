/*
 * nx_list.h - the possible-NX-huge-page list: tables that exist only
 * because the NX mitigation made an execute fault map small where a huge
 * page was allowed.  Recovery zaps some of them now and then so that huge
 * pages can come back (nx_recovery.c).
 *
 * Concurrency: the list, mmu->nx_nr and each table's nx_listed flag are
 * changed under the pages lock with the MMU lock held for read, or under
 * the MMU lock held for write (as the in-use list).  A table is listed by
 * the fault that links it and unlisted by
 * whoever removes it (the thread whose change disconnected it) or by
 * recovery, which takes it off before zapping it.  The fault lists a
 * table after its link; if the table was removed in between, its remover
 * cleared nx_disallowed under the same lock, so it is not listed.
 */
#ifndef TDP_NX_LIST_H
#define TDP_NX_LIST_H

#include "mmu/tdp_mmu.h"

void tdp_nx_list_init(struct tdp_mmu *mmu);
/*
 * List @p if it is still NX-disallowed; MMU lock held in @mode.  Called
 * after the link: a table removed in between was unmarked by its remover
 * and is not listed.
 */
void tdp_nx_track(struct tdp_mmu *mmu, struct tdp_page *p, enum tdp_lock_mode mode);
/*
 * Unmark @p and unlist it if it is listed (table removal): with the pages
 * lock held, or the write lock.
 */
void tdp_nx_untrack_locked(struct tdp_mmu *mmu, struct tdp_page *p);
/*
 * Take the oldest listed table off the list (NULL if empty); MMU lock held
 * in @mode.  The caller zaps it only if its parent entry still points at it.
 */
struct tdp_page *tdp_nx_pop(struct tdp_mmu *mmu, enum tdp_lock_mode mode);

#endif
