/*
 * vcpu_mmio.c - MMIO exits: what a vCPU does when its access meets a gfn
 * that no memslot maps (KVM's handle_ept_misconfig -> kvm_mmu_page_fault
 * with the reserved-bit error code -> handle_mmio_page_fault).
 *
 * The walker (vcpu_run.c) stops on an MMIO entry (mmu/spte.h) as EPT
 * stops on a misconfigured entry, and the vCPU leaves guest mode.  Here,
 * outside guest mode and with no lock:
 *   1. walk again, lockless (walk protection, as the fast page fault), to
 *      the 4K entry of the gfn: if it is no longer an MMIO entry, someone
 *      changed it since (mapped memory, zapped): retry the access;
 *   2. read the memslot generation after the entry (KVM's check_mmio_spte):
 *      if no update is in progress, the masked generations are equal and
 *      the vCPU's root was not invalidated (a wraparound zap invalidates
 *      every root before it stores the generation that wrapped), the entry
 *      is current: the exit is an MMIO access, with no fault and no memslot
 *      lookup (mmio_exits_fast);
 *   3. otherwise the entry is stale (mmio_entries_stale): the full fault
 *      path decides, which maps the gfn if a slot is there now (the access
 *      is retried as memory) or installs a fresh MMIO entry.
 * The exit itself calls the vCPU's MMIO handler, the VMM's device model.
 *
 * Why an exit on a current entry is right: an entry tagged G was made by
 * a fault that read G (no update in progress) before it looked the gfn up
 * in an array at least as new as G's and found nothing; every update that
 * publishes after that read leaves the generation different from G once
 * it completes, and the generation says "in progress" while it runs.  So
 * reading G here, after the entry, means no memslot change has completed
 * since the lookup that found no slot: the gfn had no slot at the moment
 * the walker read the entry.
 */
#include <errno.h>

#include "base/inject.h"
#include "mmu/tdp_root.h"
#include "reclaim/rcu_qsbr_thread.h"
#include "vm/vm_internal.h"

int tdpmmu_vcpu_set_mmio_handler(struct tdpmmu_vcpu *vcpu, tdpmmu_mmio_fn fn, void *ctx)
{
	if (!vcpu)
		return -EINVAL;
	vcpu->mmio_fn = fn;
	vcpu->mmio_ctx = fn ? ctx : NULL;
	return 0;
}

/*
 * The exit: the device model answers (reads get its value, 0 without one).
 * It may block, so under rcu-qsbr the thread is offline meanwhile, as in
 * every wait of the fault path: no grace period waits for a device.
 */
static void mmio_exit_done(struct tdpmmu_vcpu *v, struct tdpmmu_access *a)
{
	uint64_t value = 0;

	if (v->mmio_fn) {
		bool offline = tdp_qsbr_quiescent_begin();

		value = v->mmio_fn(v->mmio_ctx, a);
		tdp_qsbr_quiescent_end(offline);
	}

	tdp_count(&v->vm->mmu.counters, TDPMMU_C_MMIO_EXITS);
	if (a->type != TDPMMU_ACCESS_WRITE)
		a->value = value;
}

/* @gfn's 4K entry in the vCPU's root if it is an MMIO entry, else 0 (lockless). */
static tdp_spte_t mmio_walk(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	tdp_spte_t found = 0;
	struct tdp_iter it;

	reclaim_lockless_begin(&mmu->reclaim);
	for_each_tdp_pte(it, &mmu->arena, v->root, gfn, gfn + 1) {
		if (!spte_is_present(it.old_spte) || spte_is_last(it.old_spte, it.level))
			break;
	}
	if (it.valid && it.gfn == gfn && it.level == TDP_LEVEL_4K && spte_is_mmio(it.old_spte))
		found = it.old_spte;
	reclaim_lockless_end(&mmu->reclaim);
	return found;
}

int tdp_vcpu_mmio_exit(struct tdpmmu_vcpu *v, struct tdpmmu_access *a, bool misconfig)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	uint64_t gfn = a->gpa >> TDP_PAGE_SHIFT;
	tdp_spte_t spte;
	int r;

	if (misconfig) {
		spte = mmio_walk(v, gfn);
		if (!spte)
			return 0; /* changed since the walker saw it: retry */
		if (tdp_host_mmio_gen_current(&v->vm->host, spte_mmio_gen(spte)) &&
		    tdp_root_is_valid(v->root)) {
			tdp_count(&mmu->counters, TDPMMU_C_MMIO_EXITS_FAST);
			mmio_exit_done(v, a);
			return TDPMMU_FAULT_MMIO;
		}
		tdp_count(&mmu->counters, TDPMMU_C_MMIO_STALE);
		r = tdp_vcpu_handle_fault(v, gfn, a->type, 0, false, NULL);
		if (r == TDPMMU_FAULT_EMULATE) {
			/* A slot came and the gfn is write-tracked: emulate, as any fault. */
			r = tdp_vcpu_emulate_write(v, a->gpa, a->value);
			return r ? r : TDPMMU_FAULT_EMULATE;
		}
		if (r != TDPMMU_FAULT_MMIO)
			return r; /* 0: mapped, retry the access as memory */
	}
	mmio_exit_done(v, a);
	return TDPMMU_FAULT_MMIO;
}
