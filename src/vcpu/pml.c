/*
 * pml.c - the vCPU's page-modification log: append, flush at exit, and the
 * kick that makes every vCPU flush (pml.h has the protocol).
 *
 * Why the gate is read seq_cst after the D-setting CAS: enable counts the
 * slot in vm->pml_slots (seq_cst) and then kicks every vCPU and waits
 * (tdp_pml_sync_all) before it clears any D bit.  A vCPU in guest mode at
 * the kick leaves; one that enters later stores its mode (seq_cst) after
 * the kick read it, so its load of the gate comes after the increment in
 * the single total order and sees it.  Hence every D set after enable's
 * kick is logged, and every D set before it is cleared by enable's pass.
 */
#include "base/mutant.h"
#include "ops/dirty_ring.h"
#include "vm/vm_internal.h"

void tdp_pml_log(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	struct tdp_pml *pml = &v->pml;
	int in = IN_GUEST_MODE;

	if (atomic_load(&v->vm->pml_slots) <= 0)
		return;
	if (unlikely(pml->nr >= v->vm->pml_cap))
		tdp_bug("vCPU %d: PML log overflow at gfn 0x%llx (the full exit was missed)",
			v->index, (unsigned long long)gfn);
	pml->gfn[pml->nr++] = gfn;
	tdp_count(&v->vm->mmu.counters, TDPMMU_C_PML_LOGGED);
	if (pml->nr < v->vm->pml_cap)
		return;
	/*
	 * Full: leave guest mode after this access, as a kick would (the
	 * hardware exits when the next entry would not fit; we exit one
	 * access earlier, so the log can never overflow).  A flusher may have
	 * kicked us already: then the mode is EXITING and stays so.
	 */
	atomic_compare_exchange_strong(&v->mode, &in, EXITING_GUEST_MODE);
	tdp_count(&v->vm->mmu.counters, TDPMMU_C_PML_FULL_EXITS);
}

void tdp_pml_flush(struct tdpmmu_vcpu *v)
{
	struct tdp_pml *pml = &v->pml;

	if (!pml->nr)
		return;
	/*
	 * By gfn in the slot array of the moment, like KVM's
	 * kvm_vcpu_mark_page_dirty: a slot that moves or goes is zapped and
	 * flushed first, and that flush kicks this vCPU, so the log is
	 * emptied while the array still holds the slot at its old place.
	 */
	for (uint32_t i = 0; i < pml->nr; i++)
		if (tdp_dirty_ring_mark_gfn(v, v->vm, pml->gfn[i]))
			tdp_count(&v->vm->mmu.counters, TDPMMU_C_PAGES_LOGGED_DIRTY);
	pml->nr = 0;
	tdp_count(&v->vm->mmu.counters, TDPMMU_C_PML_FLUSHES);
}

void tdp_pml_sync_all(struct tdpmmu_vm *vm)
{
	/* No request bit: the kick and the wait for the exit are the point. */
	tdp_vm_request_all(vm, 0);
}
