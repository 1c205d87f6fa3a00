/*
 * vm_internal.h - the VM and vCPU structures shared by the files that
 * implement the public API (vm.c, vcpu*.c, tlb_flush.c) and by in-library
 * tools (benchmarks, tests).  Not part of the public API.
 */
#ifndef TDP_VM_INTERNAL_H
#define TDP_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "host.h"
#include "mmu_notifier.h"
#include "tdp_mmu.h"
#include "tlb.h"
#include "tdpmmu/tdpmmu.h"

#define TDP_MAX_VCPUS TDP_MAX_THREADS

struct tdpmmu_vm {
	struct tdp_mmu mmu;
	struct tdp_host host;
	struct tdp_notifier notifier;
	tdpmmu_flush_fn user_flush; /* the config's observer, called after each flush */
	void *user_flush_ctx;
	/* vCPUs: the array is changed and walked by flushers under vcpus_mutex. */
	pthread_mutex_t vcpus_mutex;
	struct tdpmmu_vcpu *vcpus[TDP_MAX_VCPUS];
	int nr_vcpus;
};

/* KVM's vCPU modes. */
enum {
	OUTSIDE_GUEST_MODE,
	IN_GUEST_MODE,
	EXITING_GUEST_MODE,
};

/* Request bits, handled by the vCPU outside guest mode before it enters. */
#define TDP_REQ_TLB_FLUSH (1u << 0)

struct tdpmmu_vcpu {
	/* Written by other threads (flushers): its own cache line. */
	_Atomic int mode;
	_Atomic uint32_t requests;
	_Atomic uint32_t ack_waiters; /* flushers sleeping until we leave guest mode */

	/* Private to the vCPU's thread. */
	struct tdpmmu_vm *vm __cacheline_aligned;
	int index;
	struct tdp_page_cache cache;
	struct tdp_tlb tlb;
	struct tdpmmu_vcpu_stats stats; /* written by this thread, read by anyone */
};

struct tdp_mmu *tdp_vm_mmu(struct tdpmmu_vm *vm);

/* tlb_flush.c: the MMU's remote TLB flush (tdp_flush_fn). */
void tdp_vm_flush_remote_tlbs(void *vm, uint64_t gfn, int level);

/*
 * vcpu_fault.c: the fault path entered on an EPT violation.  @present: the
 * violation hit a present leaf (a permission fault), the only kind the
 * lockless fast path can fix; not-present faults go straight to the slow
 * path, as in KVM.
 */
int tdp_vcpu_handle_fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, int max_level,
			  bool present, struct tdpmmu_fault_result *res);

/* Add to a vCPU statistic (owner thread only; readers may race harmlessly). */
#define VCPU_STAT_ADD(v, field, n) tdp_stat_add(&(v)->stats.field, (n))

#endif
