/*
 * kvm_dirty_log.c - KVM's dirty log of the VMM's data memslots: logging
 * on and off (KVM_MEM_LOG_DIRTY_PAGES, re-registering the memslot), the
 * manual-protect mode (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, with
 * INITIALLY_SET where the kernel has it; one mode per VM), and
 * KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG.  VM ioctls: safe while the
 * vCPUs run, but all from one thread (the per-slot flags are plain).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "kvm/kvm_vm_internal.h"

static int set_logging(struct kvm_guest_vm *vm, unsigned slot, bool on)
{
	int r;

	if (slot >= vm->slots)
		return -EINVAL;
	r = kvm_vm_set_slot(vm, slot, kvm_vm_slot_gpa(vm, slot), vm->slot_bytes,
			    vm->data + slot * vm->slot_bytes, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
	if (!r)
		vm->logging[slot] = on;
	return r;
}

int kvm_dirty_log_enable(struct kvm_guest_vm *vm, unsigned slot, bool manual_protect)
{
	if (slot >= vm->slots)
		return -EINVAL;
	if (vm->manual >= 0 && vm->manual != manual_protect)
		return -EINVAL; /* one mode per VM */
	if (manual_protect && vm->manual < 0) {
		int cap = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
		struct kvm_enable_cap ec = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };

		if (cap <= 0)
			return -EOPNOTSUPP;
		ec.args[0] = (uint64_t)cap &
			     (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &ec))
			return -errno;
		vm->initially_set = ec.args[0] & KVM_DIRTY_LOG_INITIALLY_SET;
	}
	vm->manual = manual_protect;
	return set_logging(vm, slot, true);
}

int kvm_dirty_log_disable(struct kvm_guest_vm *vm, unsigned slot)
{
	return set_logging(vm, slot, false);
}

bool kvm_dirty_log_manual(const struct kvm_guest_vm *vm, bool *initially_set)
{
	if (initially_set)
		*initially_set = vm->manual == 1 && vm->initially_set;
	return vm->manual == 1;
}

int kvm_dirty_log_get(struct kvm_guest_vm *vm, unsigned slot, uint64_t *bitmap)
{
	struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };
	uint64_t words = (kvm_vm_slot_pages(vm) + 63) / 64;
	int set = 0;

	if (slot >= vm->slots || !vm->logging[slot])
		return -EINVAL;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d))
		return -errno;
	for (uint64_t i = 0; i < words; i++)
		set += __builtin_popcountll(bitmap[i]);
	return set;
}

int kvm_dirty_log_clear(struct kvm_guest_vm *vm, unsigned slot, uint64_t first_page,
			uint64_t npages, const uint64_t *bitmap)
{
	struct kvm_clear_dirty_log c = {
		.slot = slot,
		.num_pages = (uint32_t)npages,
		.first_page = first_page,
		.dirty_bitmap = (void *)(bitmap + first_page / 64),
	};

	if (slot >= vm->slots || !vm->logging[slot] || vm->manual != 1 || first_page % 64 ||
	    npages > UINT32_MAX)
		return -EINVAL;
	return ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c) ? -errno : 0;
}
