/*
 * kvm_vm_mem.c - the VMM's guest memory: the options checked against our
 * layout and KVM's limits, the control region's layout, the data
 * region's host memory by backing (anonymous, THP, hugetlb 2M or 1G),
 * memslot registration, and the layout's accessors and limits.
 *
 * The control memslot holds the code page (kvm_guest.c), the guest's
 * page tables (kvm_guest_pt.c: the control region, the exit page and the
 * data region, identity-mapped with the guest page size of the options)
 * and the page lists; the data memslots hold nothing of the VMM's, so a
 * data_mapped hook (userfaultfd) sees every data page first.
 *
 * Concurrency: the checks, the layout and the mapping run in
 * kvm_vm_create(), on the thread that drives the VM, before any vCPU
 * thread exists; what they set is read-only afterwards, so the accessors
 * may run on any thread.  kvm_vm_set_slot() is a VM ioctl, safe while the
 * vCPUs run; its callers (create, the dirty log) use the driving thread.
 */
#include <cpuid.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include "kvm/kvm_vm_internal.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define THP_BYTES (2ull << 20)

static uint64_t backing_page_bytes(enum kvm_backing_kind b)
{
	switch (b) {
	case KVM_BACK_HUGETLB_2M:
		return 2ull << 20;
	case KVM_BACK_HUGETLB_1G:
		return 1ull << 30;
	default:
		return KVM_GUEST_PAGE_BYTES;
	}
}

static const char *backing_name(enum kvm_backing_kind b)
{
	switch (b) {
	case KVM_BACK_ANON:
		return "anonymous";
	case KVM_BACK_THP:
		return "THP";
	case KVM_BACK_HUGETLB_2M:
		return "hugetlb 2M";
	case KVM_BACK_HUGETLB_1G:
		return "hugetlb 1G";
	}
	return "?";
}

/* What the guest maps: the control region of @ctl_bytes, the exit page, the data. */
void kvm_vm_guest_ranges(const struct kvm_guest_vm *vm, struct kvm_guest_range *r,
			 uint64_t ctl_bytes)
{
	r[0] = (struct kvm_guest_range){ KVM_GUEST_CTL_GPA, ctl_bytes };
	r[1] = (struct kvm_guest_range){ KVM_GUEST_EXIT_GPA, KVM_GUEST_PAGE_BYTES };
	r[2] = (struct kvm_guest_range){ KVM_GUEST_DATA_GPA, vm->data_bytes };
}

/*
 * The control region's layout: the code page, the guest's page tables
 * (which map the control region itself: grown until the bound holds),
 * then the lists.
 */
static void ctl_layout(struct kvm_guest_vm *vm)
{
	uint64_t lists = vm->list_bytes * vm->o.vcpus, pt = 0, need;
	struct kvm_guest_range r[KVM_VM_GUEST_RANGES];

	for (;;) {
		kvm_vm_guest_ranges(vm, r, KVM_GUEST_PAGE_BYTES + pt + lists);
		need = kvm_guest_pt_bytes(r, KVM_VM_GUEST_RANGES, vm->guest_page);
		if (need <= pt)
			break;
		pt = need;
	}
	vm->pt_bytes = pt;
	vm->lists_off = KVM_GUEST_PAGE_BYTES + pt;
	vm->ctl_bytes = vm->lists_off + lists;
}

/* Check the options against our layout and KVM's limits; 0 or -errno with @why. */
int kvm_vm_check_opts(struct kvm_guest_vm *vm, char *why, size_t len)
{
	const struct kvm_vm_opts *o = &vm->o;
	uint64_t hp = backing_page_bytes(o->backing), room, data;
	char limit[160];
	int max_vcpus, max_slots;

	if (!o->vcpus)
		return kvm_vm_fail(why, len, -EINVAL, "no vCPUs");
	if (o->backing > KVM_BACK_HUGETLB_1G)
		return kvm_vm_fail(why, len, -EINVAL, "unknown backing %d", (int)o->backing);
	if (o->guest_page && o->guest_page != KVM_GUEST_PAGE_BYTES && o->guest_page != (2ull << 20))
		return kvm_vm_fail(why, len, -EINVAL, "guest page of %llu bytes: 4K or 2M",
				   (unsigned long long)o->guest_page);
	vm->guest_page = o->guest_page ? o->guest_page : 2ull << 20;
	if (!o->bytes_per_vcpu || o->bytes_per_vcpu % KVM_GUEST_PAGE_BYTES)
		return kvm_vm_fail(why, len, -EINVAL,
				   "%llu bytes per vCPU: not a positive multiple of 4K",
				   (unsigned long long)o->bytes_per_vcpu);
	room = kvm_vm_data_limit(limit, sizeof(limit));
	data = o->overlap ? o->bytes_per_vcpu : o->bytes_per_vcpu * o->vcpus;
	if (o->bytes_per_vcpu > room || (!o->overlap && data / o->vcpus != o->bytes_per_vcpu) ||
	    data > room)
		return kvm_vm_fail(why, len, -E2BIG, "%u vCPUs x %llu MiB%s: more than %s",
				   o->vcpus, (unsigned long long)(o->bytes_per_vcpu >> 20),
				   o->overlap ? " (overlap)" : "", limit);
	vm->data_bytes = data;
	vm->pages_per_vcpu = o->bytes_per_vcpu / KVM_GUEST_PAGE_BYTES;
	vm->slots = o->slots ? o->slots : 1;
	vm->slot_bytes = vm->data_bytes / vm->slots;
	if (vm->data_bytes % vm->slots || vm->slot_bytes % hp)
		return kvm_vm_fail(
			why, len, -EINVAL,
			"%llu KiB of data do not split into %u memslots of whole %llu KiB pages",
			(unsigned long long)(vm->data_bytes >> 10), vm->slots,
			(unsigned long long)(hp >> 10));
	vm->list_bytes = (vm->pages_per_vcpu * 4 + KVM_GUEST_PAGE_BYTES - 1) &
			 ~(KVM_GUEST_PAGE_BYTES - 1);
	ctl_layout(vm);
	if (KVM_GUEST_CTL_GPA + vm->ctl_bytes > KVM_GUEST_CTL_END)
		return kvm_vm_fail(
			why, len, -E2BIG,
			"the page tables and lists of %u vCPUs x %llu pages need %llu MiB, more "
			"than the %llu MiB below gpa 0x%llx",
			o->vcpus, (unsigned long long)vm->pages_per_vcpu,
			(unsigned long long)(vm->ctl_bytes >> 20),
			(KVM_GUEST_CTL_END - KVM_GUEST_CTL_GPA) >> 20, KVM_GUEST_CTL_END);

	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && o->vcpus > (unsigned)max_vcpus)
		return kvm_vm_fail(why, len, -EINVAL,
				   "%u vCPUs: KVM allows %d per VM (KVM_CAP_MAX_VCPUS)", o->vcpus,
				   max_vcpus);
	max_slots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (max_slots > 0 && vm->slots + 1 > (unsigned)max_slots)
		return kvm_vm_fail(
			why, len, -EINVAL,
			"%u data memslots and a control one: KVM allows %d (KVM_CAP_NR_MEMSLOTS)",
			vm->slots, max_slots);
	return 0;
}

static int hugetlb_fail(const struct kvm_guest_vm *vm, int err, char *why, size_t len)
{
	bool big = vm->o.backing == KVM_BACK_HUGETLB_1G;
	const char *knob = big ? "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
			       : "/proc/sys/vm/nr_hugepages";
	const char *freep = big ? "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages"
				: "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	char nr[32] = "?", fr[32] = "?";
	FILE *f;

	if ((f = fopen(knob, "re"))) {
		if (fscanf(f, "%31s", nr) != 1)
			snprintf(nr, sizeof(nr), "?");
		fclose(f);
	}
	if ((f = fopen(freep, "re"))) {
		if (fscanf(f, "%31s", fr) != 1)
			snprintf(fr, sizeof(fr), "?");
		fclose(f);
	}
	return kvm_vm_fail(
		why, len, -err,
		"mmap of %llu MiB %s: %s; reserve %llu huge pages in %s (now %s, %s free)",
		(unsigned long long)(vm->data_bytes >> 20), backing_name(vm->o.backing),
		strerror(err),
		(unsigned long long)(vm->data_bytes / backing_page_bytes(vm->o.backing)), knob, nr,
		fr);
}

/* The data region's host memory, by backing; 0 or -errno with @why. */
int kvm_vm_map_data(struct kvm_guest_vm *vm, char *why, size_t len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

	switch (vm->o.backing) {
	case KVM_BACK_ANON:
		flags |= MAP_NORESERVE | (vm->o.prefault ? MAP_POPULATE : 0);
		vm->data_map_bytes = vm->data_bytes;
		break;
	case KVM_BACK_THP:
		flags |= MAP_NORESERVE;
		vm->data_map_bytes = vm->data_bytes + THP_BYTES; /* room to align */
		break;
	case KVM_BACK_HUGETLB_2M:
	case KVM_BACK_HUGETLB_1G:
		flags |= MAP_HUGETLB | (vm->o.prefault ? MAP_POPULATE : 0);
		flags |= (vm->o.backing == KVM_BACK_HUGETLB_1G ? 30 : 21) << MAP_HUGE_SHIFT;
		vm->data_map_bytes = vm->data_bytes;
		break;
	}
	p = mmap(NULL, vm->data_map_bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		vm->data_map = NULL;
		if (flags & MAP_HUGETLB)
			return hugetlb_fail(vm, err, why, len);
		return kvm_vm_fail(why, len, -err, "mmap of %llu MiB for guest memory: %s",
				   (unsigned long long)(vm->data_bytes >> 20), strerror(err));
	}
	vm->data_map = p;
	vm->data = p;
	if (vm->o.backing != KVM_BACK_THP)
		return 0;
	vm->data = (uint8_t *)(((uintptr_t)p + THP_BYTES - 1) & ~(uintptr_t)(THP_BYTES - 1));
	if (madvise(vm->data, vm->data_bytes, MADV_HUGEPAGE))
		return kvm_vm_fail(why, len, -errno,
				   "madvise(MADV_HUGEPAGE): %s (is THP compiled in?)",
				   strerror(errno));
	if (vm->o.prefault && madvise(vm->data, vm->data_bytes, MADV_POPULATE_WRITE)) {
		/* Kernels before 5.14: touch every 4K page by hand. */
		for (uint64_t off = 0; off < vm->data_bytes; off += KVM_GUEST_PAGE_BYTES)
			((volatile uint8_t *)vm->data)[off] = 0;
	}
	return 0;
}

int kvm_vm_set_slot(struct kvm_guest_vm *vm, unsigned id, uint64_t gpa, uint64_t bytes, void *hva,
		    uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = bytes,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* ---- layout ---- */

uint64_t kvm_vm_slot_pages(const struct kvm_guest_vm *vm)
{
	return vm->slot_bytes / KVM_GUEST_PAGE_BYTES;
}

uint64_t kvm_vm_slot_gpa(const struct kvm_guest_vm *vm, unsigned slot)
{
	return KVM_GUEST_DATA_GPA + (uint64_t)slot * vm->slot_bytes;
}

void *kvm_vm_hva(struct kvm_guest_vm *vm, uint64_t gpa)
{
	if (gpa >= KVM_GUEST_DATA_GPA && gpa - KVM_GUEST_DATA_GPA < vm->data_bytes)
		return vm->data + (gpa - KVM_GUEST_DATA_GPA);
	if (gpa >= KVM_GUEST_CTL_GPA && gpa - KVM_GUEST_CTL_GPA < vm->ctl_bytes)
		return vm->ctl + (gpa - KVM_GUEST_CTL_GPA);
	return NULL;
}

uint64_t kvm_vm_data_limit(char *why, size_t len)
{
	unsigned a, b, c, d, bits = 36; /* without the leaf, what KVM assumes */
	uint64_t room, mem = 0;
	struct sysinfo si;

	if (__get_cpuid(0x80000008, &a, &b, &c, &d) && (a & 0xff))
		bits = a & 0xff;
	if (bits > 43)
		bits = 43; /* a list entry is gpa >> 11 in 32 bits */
	room = (1ull << bits) - KVM_GUEST_DATA_GPA;
	if (!sysinfo(&si))
		mem = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
	if (mem && mem < room) {
		if (why)
			snprintf(
				why, len,
				"the %llu MiB of memory and swap here (the guest touches every page)",
				(unsigned long long)(mem >> 20));
		return mem;
	}
	if (why)
		snprintf(why, len, "the %llu GiB of guest memory %u-bit physical addresses give",
			 (unsigned long long)(room >> 30), bits);
	return room;
}
