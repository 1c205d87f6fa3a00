/*
 * memslot.c - memslot add, delete and move, and host remaps: the host-side
 * changes of guest memory, as KVM's kvm_set_memslot and the primary MMU's
 * page migration make them.
 *
 * Concurrency.  Each call holds the host's slots_lock (KVM's slots_lock)
 * from its first check to its last step, so slot changes, harvests and
 * remaps never interleave; it takes the MMU lock inside, never the other
 * way round.  A delete or move runs KVM's protocol:
 *   1. publish the old array with the slot marked invalid and wait out
 *      the readers of the array before it (memslot RCU): from now on a
 *      fault that looks the slot up retries, and one that looked it up
 *      earlier...
 *   2. ...is made to retry by the notifier bump (write lock), which also
 *      forgets the slot's write tracking: a fault that passed its notifier
 *      check before the bump mapped under the read lock, which the bump
 *      waited for, so its leaf is there for step 3;
 *   3. fast zap: every root is invalidated, every vCPU leaves guest mode
 *      and reloads (flushing its TLB), the old roots are zapped: no leaf
 *      and no TLB entry maps the old place any more;
 *   4. publish the final array.  Only now may another slot take the old
 *      place (an add waits on slots_lock), and its gfns reach no frame of
 *      the slot that left.
 * Dirty pages marked through the old place land in the slot's bitmap,
 * which every copy shares and the slot keeps when it moves: under the
 * read lock after a passed notifier check the array still holds the slot
 * there (step 4 is after the bump), and the fast path marks through the
 * slot it found, inside the RCU section that step 1 waits for.
 */
#include <errno.h>

#include "base/inject.h"
#include "base/mutant.h"
#include "base/thread_slot.h"
#include "vm/vm_internal.h"

int tdpmmu_memslot_add(struct tdpmmu_vm *vm, const struct tdpmmu_memslot *slot)
{
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	tdp_host_lock(&vm->host);
	r = tdp_host_add_slot(&vm->host, slot);
	tdp_host_unlock(&vm->host);
	return r;
}

/* Steps 1-4 above for the change @c prepared on @old (slots_lock held, released). */
static void memslot_change(struct tdpmmu_vm *vm, const struct tdpmmu_memslot *old,
			   struct tdp_slot_change *c)
{
	tdp_host_publish_invalid(&vm->host, c);
	if (TDP_MUTANT(SLOT_NO_INVALID)) {
		/* The mutant: the new layout first, zap later (docs/testing.md). */
		tdp_host_commit_change(&vm->host, c);
		tdp_host_unlock(&vm->host);
	}
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	/* Write tracking belongs to the slot and goes with it, as in KVM. */
	tdp_write_track_drop_range(&vm->track, old->base_gfn, old->base_gfn + old->npages);
	tdp_notifier_bump_locked(&vm->notifier, &vm->mmu);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	tdp_inject_site(TDP_SITE_SLOT_INVALID, old->base_gfn);
	tdpmmu_zap_all_fast(vm);
	if (!TDP_MUTANT(SLOT_NO_INVALID)) {
		tdp_host_commit_change(&vm->host, c);
		tdp_host_unlock(&vm->host);
	}
}

/* Delete (@move false) or move slot @id, under slots_lock throughout. */
static int memslot_delete_or_move(struct tdpmmu_vm *vm, uint32_t id, bool move, uint64_t new_base)
{
	struct tdpmmu_memslot old;
	struct tdp_slot_change c;
	unsigned log_flags = 0;
	int r;

	if (!vm)
		return -EINVAL;
	tdp_host_lock(&vm->host);
	r = tdp_host_get_slot(&vm->host, id, &old, &log_flags);
	if (!r)
		r = move ? tdp_host_prepare_move(&vm->host, id, new_base, &c)
			 : tdp_host_prepare_delete(&vm->host, id, &c);
	if (r) {
		tdp_host_unlock(&vm->host);
		return r;
	}
	/*
	 * A slot deleted while it logs by D bit no longer needs the PML logs
	 * (pml.h).  The mutant pml-slot-leak keeps counting it (docs/testing.md).
	 */
	if (!move && (log_flags & TDP_SLOT_LOGGING) && vm->dirty_mode == TDPMMU_DIRTY_DBIT &&
	    !TDP_MUTANT(PML_SLOT_LEAK))
		atomic_fetch_sub(&vm->pml_slots, 1);
	memslot_change(vm, &old, &c);
	return 0;
}

int tdpmmu_memslot_delete(struct tdpmmu_vm *vm, uint32_t id)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return memslot_delete_or_move(vm, id, false, 0);
}

int tdpmmu_memslot_move(struct tdpmmu_vm *vm, uint32_t id, uint64_t new_base_gfn)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return memslot_delete_or_move(vm, id, true, new_base_gfn);
}

/*
 * The blocks a remap renumbers must all lie inside one invalidation in
 * progress.  The extent, the check and the remap see one layout: a move
 * in between would renumber blocks the check never saw (slots_lock held
 * throughout).
 */
int tdpmmu_host_remap(struct tdpmmu_vm *vm, uint64_t start, uint64_t end, unsigned flags)
{
	uint64_t lo = start, hi = end;
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm || start >= end || (flags & ~TDPMMU_REMAP_HUGE))
		return -EINVAL;
	if (end > vm->mmu.max_gfn)
		return -ERANGE;
	tdp_host_lock(&vm->host);
	/* Whole blocks change frames: the invalidation must cover them all. */
	if (tdp_host_remap_extent(&vm->host, start, end, &lo, &hi))
		lo = start, hi = end; /* no memslot: the remap says -ENOENT */
	if (!tdp_notifier_in_progress(&vm->notifier, &vm->mmu, lo, hi)) {
		tdp_host_unlock(&vm->host);
		return -EBUSY;
	}
	/* The mutant remap-two-holds lets the layout change in between (docs/testing.md). */
	if (TDP_MUTANT(REMAP_TWO_HOLDS))
		tdp_host_unlock(&vm->host);
	tdp_inject_site(TDP_SITE_REMAP_CHECKED, start);
	if (TDP_MUTANT(REMAP_TWO_HOLDS))
		tdp_host_lock(&vm->host);
	r = tdp_host_remap(&vm->host, start, end, flags & TDPMMU_REMAP_HUGE);
	tdp_host_unlock(&vm->host);
	return r;
}

/*
 * MMIO entries and the memslot generation (host.h).  KVM's
 * kvm_mmu_invalidate_mmio_sptes: when an update brings the masked
 * generation back to 0, entries made 2^bits updates ago would match the
 * generation again, so every root is zapped (tdpmmu_zap_all_fast) before
 * the generation is stored; the update is still in progress meanwhile, so
 * no vCPU trusts any MMIO entry.  Called by the host's publication with
 * slots_lock held and no other lock, as the fast zap wants.
 */
static void memslots_updated(void *ctx, uint64_t gen)
{
	struct tdpmmu_vm *vm = ctx;

	if (gen & vm->host.mmio_gen_mask)
		return;
	/* The mutant mmio-no-wrap-zap keeps the old entries (docs/testing.md). */
	if (TDP_MUTANT(MMIO_NO_WRAP_ZAP))
		return;
	tdp_count(&vm->mmu.counters, TDPMMU_C_MMIO_GEN_WRAPS);
	tdpmmu_zap_all_fast(vm);
}

void tdp_vm_mmio_init(struct tdpmmu_vm *vm, bool caching, unsigned gen_bits)
{
	if (!gen_bits)
		gen_bits = TDP_MMIO_GEN_BITS_MAX;
	vm->host.mmio_caching = caching;
	vm->host.mmio_gen_mask = (1ull << gen_bits) - 1;
	vm->host.gen_updated = memslots_updated;
	vm->host.gen_ctx = vm;
}

/*
 * The audit (MMU write lock, quiescent): an MMIO entry is a 4K entry with
 * a generation inside the VM's mask, made with caching on, and it is right
 * only where no memslot maps its gfn, or where it is stale (a slot came
 * after it: the next access re-faults).
 */
bool tdp_vm_mmio_entry_ok(struct tdpmmu_vm *vm, uint64_t gfn, int level, tdp_spte_t s)
{
	struct tdp_host_frame hf;
	uint64_t gen = spte_mmio_gen(s);

	if (level != TDP_LEVEL_4K || !vm->host.mmio_caching || (gen & ~vm->host.mmio_gen_mask))
		return false;
	return tdp_host_lookup(&vm->host, gfn, &hf) == -ENOENT ||
	       !tdp_host_mmio_gen_current(&vm->host, gen);
}

uint64_t tdpmmu_memslots_generation(const struct tdpmmu_vm *vm)
{
	return vm ? tdp_host_generation(&vm->host) : 0;
}
