/*
 * aging.c - MMU-notifier aging: test_young, clear_young, clear_flush_young
 * (KVM's kvm_tdp_mmu_test_age_gfn / kvm_tdp_mmu_age_gfn_range, lockless
 * since upstream made aging independent of the MMU lock).
 *
 * Concurrency: no MMU lock at all, walk protection only.
 * - Roots are followed with acquire loads (for_each_tdp_root_lockless)
 *   inside reclaim_walk_begin/end; a root that leaves the list meanwhile
 *   is retired only after our walk ends, so reading it stays safe.
 *   Invalid roots are skipped: they are being zapped and age nothing.
 * - Tables are walked with the iterator, which reads every entry with an
 *   atomic load and re-reads an entry before stepping down through it; a
 *   table unlinked under us is still readable until the walk ends, and its
 *   entries are FROZEN, which is neither present nor a leaf, so we skip it.
 * - Accessed is cleared by a CAS from the value just read, never by a
 *   blind fetch_and: FROZEN (0x5a0 | bit 63) carries bit 8, the Accessed
 *   bit, and and-ing it out of a FROZEN entry would forge a different
 *   non-present value under the thread that owns the entry.  A failed CAS
 *   re-reads; we give up as soon as the entry is no longer a present leaf
 *   with Accessed (zapped, frozen, replaced by a table), and a leaf that was
 *   replaced by another leaf is simply aged instead.  A CAS that changes
 *   only Accessed cannot lose the D or W bits the hardware walker or the
 *   fast path set: a concurrent change makes our CAS fail and we retry
 *   from the new value.
 * - A write-lock holder that stores (rather than exchanges) a leaf it read
 *   as non-volatile (A set, and D set if W) may overwrite our clear; that
 *   only leaves the page looking young, which aging tolerates.  It cannot
 *   lose D: D was already set in its snapshot.
 * - clear_young never flushes: a vCPU whose TLB still holds the
 *   translation keeps using it without setting Accessed again (as in KVM;
 *   the page looks idle although it is used).  clear_flush_young flushes
 *   after the walk when it cleared something; no table was disconnected,
 *   so nothing forces the flush to sit inside the walk.
 */
#include <errno.h>
#include <limits.h>

#include "base/thread_slot.h"
#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"

/*
 * Clear Accessed on the leaf at @it if it is still a present, young leaf.
 * Returns whether this call cleared it.
 */
static bool clear_accessed(struct tdp_iter *it)
{
	tdp_spte_t old = it->old_spte;

	for (;;) {
		/* FROZEN is not present: we back off from it, never CAS from it. */
		if (!spte_is_leaf(old, it->level) || !spte_is_accessed(old))
			return false;
		if (atomic_compare_exchange_weak(it->sptep, &old, old & ~SPTE_ACCESSED)) {
			it->old_spte = old & ~SPTE_ACCESSED;
			return true;
		}
		/* @old now holds the entry's current value. */
	}
}

/*
 * Walk [start, end) of every valid root.  @test_only: stop at the first
 * young leaf and return 1.  Otherwise clear Accessed on every young leaf
 * and return how many were cleared.
 */
static uint64_t age_range(struct tdp_mmu *mmu, uint64_t start, uint64_t end, bool test_only)
{
	struct tdp_page *root;
	struct tdp_iter it;
	uint64_t young = 0;

	reclaim_lockless_begin(&mmu->reclaim);
	for_each_tdp_root_lockless(mmu, root) {
		if (!tdp_root_is_valid(root))
			continue;
		for_each_tdp_pte(it, &mmu->arena, root, start, end) {
			if (!spte_is_leaf(it.old_spte, it.level) || !spte_is_accessed(it.old_spte))
				continue;
			if (test_only) {
				young = 1;
				goto out;
			}
			if (clear_accessed(&it))
				young++;
		}
	}
out:
	reclaim_lockless_end(&mmu->reclaim);
	if (young && !test_only)
		tdp_count_add(&mmu->counters, TDPMMU_C_YOUNG_CLEARED, (int64_t)young);
	return young;
}

static int check_range(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	if (!vm || start >= end)
		return -EINVAL;
	if (end > tdpmmu_vm_max_gfn(vm))
		return -ERANGE;
	return 0;
}

static int clamp_count(uint64_t n)
{
	return n > INT_MAX ? INT_MAX : (int)n;
}

int tdpmmu_test_young(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	int r = check_range(vm, start, end);

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (r)
		return r;
	return age_range(&vm->mmu, start, end, true) ? 1 : 0;
}

int tdpmmu_clear_young(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	int r = check_range(vm, start, end);

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (r)
		return r;
	return clamp_count(age_range(&vm->mmu, start, end, false));
}

int tdpmmu_clear_flush_young(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	uint64_t young;
	int r = check_range(vm, start, end);

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (r)
		return r;
	young = age_range(&vm->mmu, start, end, false);
	/* So that the next access walks the tables again and sets Accessed. */
	if (young)
		tdp_flush_remote_tlbs(&vm->mmu, 0, 0);
	return clamp_count(young);
}
