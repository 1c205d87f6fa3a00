/*
 * vcpu_root.c - a vCPU loading its root (KVM's kvm_mmu_load /
 * kvm_mmu_free_obsolete_roots for the TDP MMU).
 *
 * Concurrency: runs on the vCPU's own thread, outside guest mode.  The
 * root table comes from the vCPU's cache, filled before the read lock is
 * taken; the lookup-or-create and the put of the old root run under the
 * read lock (tdp_root.h).  The vCPU's reference keeps the root's table
 * alive while its hardware walker uses it.  The TLB is flushed whenever
 * the root changes: translations from the old root must not survive it,
 * which is why zapping an invalidated root needs no remote flush.
 */
#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"

int tdp_vcpu_reload_root(struct tdpmmu_vcpu *v)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	unsigned role = v->smm ? TDP_ROLE_SMM : TDP_ROLE_NORMAL;
	struct tdp_page *old = v->root;
	int r;

	r = tdp_page_cache_topup(mmu, &v->cache);
	if (r)
		return r;
	tdp_mmu_lock_vcpu(mmu, TDP_SHARED);
	v->root = tdp_root_get_or_alloc(mmu, role, &v->cache);
	if (old)
		tdp_root_put(mmu, old, TDP_SHARED);
	tdp_mmu_unlock_vcpu(mmu, TDP_SHARED);
	tlb_flush_all(&v->tlb);
	tdp_count(&mmu->counters, TDPMMU_C_ROOT_RELOADS);
	return 0;
}
