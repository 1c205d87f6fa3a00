/*
 * pre_fault.c - tdpmmu_pre_fault, KVM's KVM_PRE_FAULT_MEMORY
 * (kvm_vcpu_pre_fault_memory, kvm_arch_vcpu_pre_fault_memory and
 * kvm_tdp_map_page): map a gpa range into a vCPU's root before the guest
 * runs.
 *
 * Each step is one not-present read fault on the range's first page,
 * through the ordinary slow path (vcpu_fault.c): notifier snapshot, frame
 * lookup under memslot RCU, host fault, table cache, then the MMU lock in
 * the fault-lock policy's mode, the notifier retry and the map, at the
 * largest level the memslot, write tracking, dirty logging and any
 * invalidation in progress allow.  Nothing here touches the tables: the
 * fault path's arguments (docs/design.md, The fault path) are the
 * pre-fault's.  The step then advances to the end of the leaf that maps
 * the page (a 2M leaf covers the rest of its 2 MiB block), never past the
 * range.
 *
 * Interruptible and restartable as KVM's ioctl: before each step the
 * caller's stop function is asked (KVM asks signal_pending); once some of
 * the range is mapped the call returns 0 with *gpa and *size describing
 * what is left, so a second call resumes there; a call that mapped
 * nothing returns its error and leaves both untouched.  No lock is held
 * between steps.
 */
#include <errno.h>

#include "base/thread_slot.h"
#include "mmu/spte.h"
#include "vcpu/pre_fault.h"
#include "vm/vm_internal.h"

/* -EINVAL / -ERANGE for a range KVM would refuse; 0 if it may be mapped. */
static int check_range(const struct tdpmmu_vcpu *v, uint64_t gpa, uint64_t size)
{
	const uint64_t page = 1ull << TDP_PAGE_SHIFT;

	if (!size || ((gpa | size) & (page - 1)) || gpa + size < gpa)
		return -EINVAL;
	if ((gpa + size) >> TDP_PAGE_SHIFT > v->vm->mmu.max_gfn)
		return -ERANGE;
	return 0;
}

/* Bytes from @gpa to the end of the @level leaf that maps it, at most @left. */
static uint64_t step_bytes(uint64_t gpa, int level, uint64_t left)
{
	uint64_t block = tdp_pages_per_level(level > 0 ? level : 1) << TDP_PAGE_SHIFT;
	uint64_t step = (gpa & ~(block - 1)) + block - gpa;

	return step < left ? step : left;
}

int tdpmmu_pre_fault(struct tdpmmu_vcpu *vcpu, uint64_t *gpa, uint64_t *size, tdpmmu_stop_fn stop,
		     void *ctx)
{
	uint64_t at, left;
	int r;

	if (!vcpu || !gpa || !size)
		return -EINVAL;
	at = *gpa;
	left = *size;
	r = check_range(vcpu, at, left);
	if (r)
		return r;
	r = tdp_thread_slot_enter();
	if (r)
		return r;
	while (left) {
		struct tdpmmu_fault_result res = { 0 };
		uint64_t step;

		if (stop && stop(ctx)) {
			r = -EINTR;
			break;
		}
		r = tdp_vcpu_pre_fault_page(vcpu, at >> TDP_PAGE_SHIFT, &res);
		if (r < 0)
			break;
		r = 0; /* a read is never emulated */
		step = step_bytes(at, res.level, left);
		at += step;
		left -= step;
	}
	if (left == *size)
		return r; /* nothing mapped: the error, the range untouched */
	*gpa = at;
	*size = left;
	return 0;
}
