/*
 * write_protect.c - write-protect one gfn (KVM's
 * kvm_tdp_mmu_write_protect_gfn), and write tracking on top of it (KVM's
 * kvm_write_track_add_gfn / remove_gfn; the set itself is write_track.c).
 *
 * Concurrency: the MMU lock held for write (asserted), inside walk
 * protection.  No other MMU thread changes entries, but three things still
 * change bits of a present leaf without the lock: the hardware walker sets
 * A and D, the lockless fast page fault sets W (with D and A) on an
 * MMU-writable leaf, and lockless aging clears A.  So W and MMU-writable
 * are cleared with a CAS loop from the value just read, which keeps
 * whatever those set or cleared in between: a Dirty bit set right before
 * the protection stays in the leaf.  tdp_set_spte is not used: it would
 * exchange in a value computed from an older snapshot and drop a D bit
 * set since.  A permission-only change needs no accounting, and none of
 * the lockless writers can make the leaf non-present, a table or FROZEN,
 * so the loop ends; if it ever saw that, it is a bug.
 *
 * Once MMU-writable is clear the fast path can no longer set W, so only
 * the slow path (a write fault under the read lock) makes the page
 * writable again.  The flush is issued before the lock is released: a
 * vCPU TLB entry that still allows writes must be gone before the caller
 * relies on the protection.
 */
#include <errno.h>

#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"
#include "ops/write_track.h"

#define WRPROT_BITS (SPTE_W | SPTE_MMU_WRITABLE)

/* Protect the leaf mapping @gfn in @root; returns its level, or 0 if nothing
 * changed. */
static int wrprot_gfn_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t gfn)
{
	struct tdp_iter it;
	int level = 0;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte(it, &mmu->arena, root, gfn, gfn + 1) {
		tdp_spte_t old = it.old_spte, want;

		if (!spte_is_leaf(old, it.level))
			continue;
		for (;;) {
			if (!(old & WRPROT_BITS))
				goto out;
			want = old & ~WRPROT_BITS;
			if (atomic_compare_exchange_weak(it.sptep, &old, want))
				break;
			/* Only bit changes can race with the write lock. */
			if (unlikely(!spte_is_leaf(old, it.level) ||
				     spte_pfn(old) != spte_pfn(it.old_spte)))
				tdp_bug("leaf at gfn 0x%llx level %d changed to 0x%016llx (frame "
					"0x%llx) under the write lock",
					(unsigned long long)it.gfn, it.level,
					(unsigned long long)old, (unsigned long long)spte_pfn(old));
		}
		it.old_spte = want;
		level = it.level;
		tdp_count(&mmu->counters, TDPMMU_C_LEAVES_WRPROT);
		break;
	}
out:
	reclaim_walk_end(&mmu->reclaim);
	return level;
}

/* Write lock held: protect @gfn in every valid root and flush; returns whether anything changed. */
static bool wrprot_gfn_locked(struct tdp_mmu *mmu, uint64_t gfn)
{
	struct tdp_page *root;
	int level, flush_level = 0;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	for_each_tdp_root(mmu, root, true, TDP_EXCLUSIVE) {
		level = wrprot_gfn_root(mmu, root, gfn);
		if (level > flush_level)
			flush_level = level;
	}
	/* Before unlocking: no vCPU may keep a writable translation. */
	if (flush_level)
		tdp_flush_remote_tlbs(mmu, tdp_align_gfn(gfn, flush_level), flush_level);
	return flush_level;
}

/* The public calls' argument check. */
static int check_gfn(const struct tdpmmu_vm *vm, uint64_t gfn)
{
	if (!vm)
		return -EINVAL;
	return gfn < vm->mmu.max_gfn ? 0 : -ERANGE;
}

int tdpmmu_write_protect_gfn(struct tdpmmu_vm *vm, uint64_t gfn)
{
	int r = check_gfn(vm, gfn);

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (r)
		return r;
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	r = wrprot_gfn_locked(&vm->mmu, gfn);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	return r;
}

/*
 * Tracking belongs to a memslot: the gfn must be in one that is not going
 * away.  Looked up under the write lock: a delete or move marks the slot
 * invalid and then forgets its tracking under the write lock (memslot.c),
 * so either we insert before that (and are forgotten with the slot) or
 * our lookup finds the slot invalid or gone.
 */
static int track_gfn_slot(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdp_host_frame hf;
	int r;

	mmu_lock_assert_held(&vm->mmu.lock, TDP_EXCLUSIVE);
	r = tdp_host_lookup(&vm->host, gfn, &hf);
	return !r && hf.invalid ? -ENOENT : r;
}

/*
 * Add: insert and protect under one write-lock hold, so a fault that maps
 * after us sees the gfn tracked (it checks under the read lock), and every
 * writable leaf installed before us is protected here.  Remove has nothing
 * to undo in the tables: the next write fault maps writable again.
 */
static int track_change(struct tdpmmu_vm *vm, uint64_t gfn, bool add)
{
	int r = check_gfn(vm, gfn);

	if (r)
		return r;
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	r = track_gfn_slot(vm, gfn);
	if (!r)
		r = add ? tdp_write_track_add(&vm->track, gfn)
			: tdp_write_track_remove(&vm->track, gfn);
	if (!r && add)
		wrprot_gfn_locked(&vm->mmu, gfn);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	return r;
}

int tdpmmu_write_track_add(struct tdpmmu_vm *vm, uint64_t gfn)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return track_change(vm, gfn, true);
}

int tdpmmu_write_track_remove(struct tdpmmu_vm *vm, uint64_t gfn)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return track_change(vm, gfn, false);
}

bool tdpmmu_write_tracked(struct tdpmmu_vm *vm, uint64_t gfn)
{
	bool tracked;

	if (!vm)
		return false;
	/* Cannot fail: wait for a thread slot if none is free (thread_slot.h). */
	tdp_thread_slot_wait();
	tdp_mmu_lock(&vm->mmu, TDP_SHARED);
	tracked = tdp_write_tracked(&vm->track, gfn);
	tdp_mmu_unlock(&vm->mmu, TDP_SHARED);
	return tracked;
}
