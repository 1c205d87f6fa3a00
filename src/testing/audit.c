/*
 * audit.c (testing library) - the public audits and walker stalls of
 * tdpmmu/testing.h, thin wrappers over the library's internal halves
 * (vm.c, tlb_audit.c, nx_recovery.c, huge_recovery.c), which take the
 * locks each call documents.  Not in the shared library.
 */
#include <errno.h>
#include <stdint.h>

#include "base/thread_slot.h"
#include "ops/huge_recovery.h"
#include "ops/nx_recovery.h"
#include "vm/vm_internal.h"
#include "tdpmmu/testing.h"

int tdpmmu_audit(struct tdpmmu_vm *vm)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	return tdp_audit(vm);
}

int tdpmmu_audit_tlbs(struct tdpmmu_vm *vm)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return tdp_audit_tlbs(vm);
}

int tdpmmu_nx_audit(struct tdpmmu_vm *vm)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	return tdp_nx_audit(vm);
}

int tdpmmu_hold_walk(struct tdpmmu_vm *vm, uint64_t ns)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return tdp_hold_walk(vm, ns);
}

int tdpmmu_test_recover_range(struct tdpmmu_vm *vm, uint64_t start_gfn, uint64_t end_gfn,
			      enum tdpmmu_huge_recovery how)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	return tdp_recover_huge_pages(vm, start_gfn, end_gfn, how);
}
