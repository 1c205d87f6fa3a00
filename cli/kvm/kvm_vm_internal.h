/*
 * kvm_vm_internal.h - the VMM's state, shared by kvm_vm.c (the VM's
 * creation and destruction), kvm_vm_mem.c (the options, the layout and
 * the memslots), kvm_vm_run.c (the vCPU threads and the passes) and
 * kvm_dirty_log.c (KVM's dirty log).  The concurrency rules are
 * kvm_vm_run.c's (its top comment); what kvm_vm_create() sets before the
 * vCPU threads start is read-only afterwards.
 */
#ifndef TDPMMU_CLI_KVM_VM_INTERNAL_H
#define TDPMMU_CLI_KVM_VM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/kvm_vm.h"

struct kvm_run;
struct kvm_cpuid2;

enum run_mode { RUN_PASS, RUN_WARM };

struct kvm_vcpu_thr {
	struct kvm_guest_vm *vm;
	int fd;
	struct kvm_run *run;
	unsigned idx;
	pthread_t tid;
	uint64_t exits; /* relaxed atomic */
	int err;
	char why[200];
} __attribute__((aligned(64)));

struct kvm_guest_vm {
	struct kvm_vm_opts o;
	int kvm_fd, vm_fd;
	size_t run_bytes;
	unsigned slots;
	uint64_t pages_per_vcpu, data_bytes, slot_bytes;
	void *data_map; /* what was mmapped (THP: aligned inside) */
	size_t data_map_bytes;
	uint8_t *data;
	uint8_t *ctl; /* the control memslot: code page, page tables, then the lists */
	size_t ctl_bytes;
	uint64_t guest_page; /* the guest's leaf size: 2M or 4K */
	uint64_t pt_bytes;   /* the guest's page tables, from KVM_GUEST_CTL_GPA + 4K */
	uint64_t lists_off;  /* the first list, from KVM_GUEST_CTL_GPA */
	uint64_t cr3;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, set on every vCPU */
	uint64_t list_bytes;      /* one vCPU's list, page aligned */
	int lists_pct;            /* what the lists hold: -1 none yet */
	bool lists_random, warmed;
	int manual; /* dirty-log protect mode: -1 not chosen, 0 auto, 1 manual */
	bool initially_set;
	bool *logging; /* per data slot */

	pthread_mutex_t lock;
	pthread_cond_t go, done;
	uint64_t pass;
	enum run_mode mode;
	uint32_t value;
	unsigned finished, ready, started;
	bool quit, running, timed_out;
	uint64_t start_ns, end_ns;
	struct kvm_vcpu_thr *v;
};

/* Writes the formatted reason to @why (@len bytes) and returns @err. */
int kvm_vm_fail(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- kvm_vm_mem.c ---- */

#define KVM_VM_GUEST_RANGES 3

/* What the guest maps: the control region of @ctl_bytes, the exit page, the data. */
void kvm_vm_guest_ranges(const struct kvm_guest_vm *vm, struct kvm_guest_range *r,
			 uint64_t ctl_bytes);
/* Check the options against our layout and KVM's limits; 0 or -errno with @why. */
int kvm_vm_check_opts(struct kvm_guest_vm *vm, char *why, size_t len);
/* The data region's host memory, by backing; 0 or -errno with @why. */
int kvm_vm_map_data(struct kvm_guest_vm *vm, char *why, size_t len);
/* (Re)registers memslot @id: KVM_SET_USER_MEMORY_REGION with @flags. */
int kvm_vm_set_slot(struct kvm_guest_vm *vm, unsigned id, uint64_t gpa, uint64_t bytes, void *hva,
		    uint32_t flags);

/* ---- kvm_vm_run.c ---- */

/* Starts one thread per vCPU and waits until each is ready; 0 or -errno with @why. */
int kvm_vm_start_threads(struct kvm_guest_vm *vm, char *why, size_t len);

#endif /* TDPMMU_CLI_KVM_VM_INTERNAL_H */
