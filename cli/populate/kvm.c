/*
 * kvm.c - the kvm rows of `tdpmmu bench populate`: the same
 * guest workload on the real kernel's MMU through our VMM (kvm_vm.c).
 * One run: a fresh VM of the driver's vCPU count, one pass of every vCPU
 * over its pages (the same pages written, in the same order, as the
 * simulated run's), timed from the start barrier to the last vCPU done,
 * then every page checked from the host side, then the VM destroyed.
 * With --prefault the host memory is populated before the guest runs,
 * so a first touch costs KVM's fault only, not the host's page fault too.
 * --guest-page picks the guest's own page size (its walk, not KVM's).
 * The row's statistics say which MMU it measured (kvm_mmu_kind()).
 *
 * Main thread only; the vCPU threads are kvm_vm.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "common/bench_common.h"
#include "kvm/kvm_vm.h"
#include "populate/populate.h"
#include "sweep/sweep_kvm.h"

#define POPULATE_KVM_VALUE 0x5eed1u /* what the written pages must hold afterwards */

/*
 * Every page holds what the pass left: POPULATE_KVM_VALUE if written, else
 * 0 (read, or with -a never drawn).
 */
static void check_pages(struct kvm_guest_vm *vm, const struct populate_opts *o, uint64_t pages)
{
	uint64_t *touched = page_touched_map(pages, o->sw.vcpus, populate_pages_per_vcpu(o),
					     o->overlap, o->random_order);

	for (uint64_t p = 0; p < pages; p++) {
		const uint64_t *word = kvm_vm_hva(vm, KVM_GUEST_DATA_GPA + p * GUEST_PAGE_BYTES);
		uint64_t want = page_touched(touched, p) && page_written(p, o->write_pct)
					? POPULATE_KVM_VALUE
					: 0;

		if (!word || *word != want)
			fatal("check failed: kvm, %u vCPU%s: page %llu holds 0x%llx, expected 0x%llx",
			      o->sw.vcpus, o->sw.vcpus == 1 ? "" : "s", (unsigned long long)p,
			      word ? (unsigned long long)*word : 0ull, (unsigned long long)want);
	}
	free(touched);
}

void populate_kvm_run(void *opts, struct sweep_run *out)
{
	const struct populate_opts *o = opts;
	struct kvm_vm_opts ko = {
		.vcpus = o->sw.vcpus,
		.bytes_per_vcpu = o->bytes_per_vcpu,
		.overlap = o->overlap,
		.backing = (enum kvm_backing_kind)sweep_kvm_backing(o->backing),
		.prefault = o->prefault,
		.slots = 1,
		.guest_page = o->guest_page,
	};
	struct populate_extra *x = calloc(1, sizeof(*x));
	uint64_t pages = populate_slot_pages(o, o->sw.vcpus), touched, ns;
	struct kvm_vcpu_kstats before;
	struct kvm_guest_vm *vm;
	char why[200];
	int r;

	if (!x)
		fatal("out of memory");
	out->extra = x;
	r = kvm_vm_create(&ko, &vm, why, sizeof(why));
	if (r)
		fatal("kvm, %u vCPUs: %s", o->sw.vcpus, why);
	kvm_vm_kstats(vm, &before);
	r = kvm_vm_pass(vm, o->write_pct, o->random_order, POPULATE_KVM_VALUE, &ns, why,
			sizeof(why));
	if (r)
		fatal("kvm, %u vCPUs: %s", o->sw.vcpus, why);
	/* Each vCPU touches each page of its region once: with -o they share one. */
	touched = populate_pages_per_vcpu(o) * o->sw.vcpus;
	kvm_vm_kstats(vm, &out->kvm);
	sweep_kvm_finish(&out->kvm, &before, touched);
	check_pages(vm, o, pages);
	kvm_vm_destroy(vm);

	bench_phase_add(&out->phases, "populate", ns, touched);
	out->metric = (double)touched / ((double)ns / 1e9);
	out->col[0] = (double)ns / 1e9;
	out->col[1] = (double)ns * o->sw.vcpus / (double)touched;
	x->pages = pages;
	x->kvm = true;
}
