/*
 * tdp_root.h - roots: reference-counted top-level tables, one valid root
 * per address-space role, any number of invalid ones on their way out.
 *
 * Life of a root (KVM's): created on demand by a vCPU under the read lock
 * with two references, the vCPU's and the MMU's own.  A fast zap marks it
 * invalid under the write lock and asks every vCPU to reload; then, under
 * the read lock and still holding the MMU's reference, zaps it bottom level
 * first and drops that reference.  The last reference (vCPU or MMU) unlinks
 * it from the list and retires its table.
 *
 * Concurrency:
 * - The list (mmu->roots through root_next) is changed under the pages
 *   lock with the MMU lock held for read, or under the MMU lock held for
 *   write.  Lock holders step through it under the pages lock too and take
 *   a reference on the root they return (tdp_root_next), so a root they
 *   hold stays on the list across yields.
 * - Lockless walkers (lookups, aging) follow root_next with acquire loads
 *   inside walk protection and take no reference: a root leaves the list
 *   before it is retired, and a retired table is freed only after every
 *   walk that could have seen it has ended.
 * - root_invalid is set under the write lock and never cleared.  A fault
 *   checks it under the read lock before it maps, so nothing is installed
 *   in a root after it was invalidated; the zap that follows empties it.
 * - The last put is legal only for an invalid root (its entries are all
 *   gone by then); it needs the MMU lock in either mode.
 */
#ifndef TDP_ROOT_H
#define TDP_ROOT_H

#include "mmu/tdp_mmu.h"

/* The role is the vCPU's SMM flag (vm_internal.h relies on it). */
#define TDP_ROLE_NORMAL 0u
#define TDP_ROLE_SMM 1u
#define TDP_NR_ROLES 2u

static inline bool tdp_root_is_valid(const struct tdp_page *root)
{
	return !atomic_load_explicit(&root->root_invalid, memory_order_acquire);
}

/*
 * The valid root of @role with a reference for the caller, created from
 * @c if there is none.  Read lock, @c topped up.  Never fails: a cache
 * topped up for a fault holds a table for the root too.
 */
struct tdp_page *tdp_root_get_or_alloc(struct tdp_mmu *mmu, unsigned role,
				       struct tdp_page_cache *c);
/* A reference on a root whose count has not dropped to 0; false if it has. */
bool tdp_root_get(struct tdp_page *root);
/* Drop a reference; the MMU lock is held in @mode. */
void tdp_root_put(struct tdp_mmu *mmu, struct tdp_page *root, enum tdp_lock_mode mode);

/*
 * Root iteration under the MMU lock in @mode: the next root after @prev
 * (NULL: the first) with a reference taken, @prev's reference dropped.
 * Leaving the loop early: tdp_root_put the current root.
 */
struct tdp_page *tdp_root_next(struct tdp_mmu *mmu, struct tdp_page *prev, bool only_valid,
			       enum tdp_lock_mode mode);
#define for_each_tdp_root(mmu, root, only_valid, mode)                                             \
	for ((root) = tdp_root_next((mmu), NULL, (only_valid), (mode)); (root);                    \
	     (root) = tdp_root_next((mmu), (root), (only_valid), (mode)))

/* Lockless iteration, inside walk protection: no references taken. */
#define for_each_tdp_root_lockless(mmu, root)                                                      \
	for ((root) = atomic_load_explicit(&(mmu)->roots, memory_order_acquire); (root);           \
	     (root) = atomic_load_explicit(&(root)->root_next, memory_order_acquire))

/* Lockless, inside walk protection: the valid root of @role, or NULL. */
struct tdp_page *tdp_root_find_valid(struct tdp_mmu *mmu, unsigned role);

/* Write lock: mark every valid root invalid and scheduled for the zap. */
void tdp_roots_invalidate_all(struct tdp_mmu *mmu);
/*
 * MMU lock held in @mode (tdp_mmu_unlink_mode), fast_zap_mutex held: zap
 * each scheduled root (passes 4K, 2M, 1G, root level) and drop the MMU's
 * reference.  No flush: every vCPU was made to reload (with a local flush)
 * before this runs.
 */
void tdp_roots_zap_invalidated(struct tdp_mmu *mmu, enum tdp_lock_mode mode);
/* Zap every entry of @root, lowest level first; the caller holds a reference. */
void tdp_root_zap(struct tdp_mmu *mmu, struct tdp_page *root, enum tdp_lock_mode mode);

#endif
