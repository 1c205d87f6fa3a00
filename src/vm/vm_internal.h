/*
 * vm_internal.h - the VM and vCPU structures shared by the files that
 * implement the public API (vm.c, vcpu*.c, tlb_flush.c) and by in-library
 * tools (benchmarks, tests).  Not part of the public API.
 */
#ifndef TDP_VM_INTERNAL_H
#define TDP_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "host/host.h"
#include "host/mmu_notifier.h"
#include "mmu/tdp_mmu.h"
#include "vcpu/tlb.h"
#include "vcpu/pml.h"
#include "ops/write_track.h"
#include "ops/dirty_ring.h"
#include "tdpmmu/tdpmmu.h"

#define TDP_MAX_VCPUS TDP_MAX_THREADS

struct tdpmmu_vm {
	struct tdp_mmu mmu;
	struct tdp_host host;
	struct tdp_notifier notifier;
	struct tdp_write_track track; /* write-tracked gfns, under the MMU lock */
	tdpmmu_flush_fn user_flush;   /* the config's observer, called after each flush */
	void *user_flush_ctx;
	/* vCPUs: the array is changed and walked by flushers under vcpus_mutex. */
	pthread_mutex_t vcpus_mutex;
	struct tdpmmu_vcpu *vcpus[TDP_MAX_VCPUS];
	int nr_vcpus;
	/* NX recovery (nx_recovery.c): parameters and the thread. */
	unsigned nx_period_ms, nx_ratio;
	pthread_t nx_thread;
	bool nx_thread_running;
	pthread_mutex_t nx_mutex; /* guards nx_stop, with nx_cond for the period sleep */
	pthread_cond_t nx_cond;
	bool nx_stop;
	/*
	 * D-bit dirty logging (ops/dirty_log.c, vcpu/pml.c): the mode, fixed at
	 * creation, and how many slots log in it; vCPUs log D-bit writes
	 * while it is above 0 (read seq_cst, after the mode store of entry).
	 */
	enum tdpmmu_dirty_mode dirty_mode;
	_Atomic int pml_slots;
	unsigned pml_cap; /* log entries before the full exit (TDP_PML_ENTRIES; tests lower it) */
	/* Dirty ring (dirty_ring.c): entries per vCPU ring, 0 = none; set once before any vCPU. */
	_Atomic uint32_t dirty_ring_size;
};

/* KVM's vCPU modes. */
enum {
	OUTSIDE_GUEST_MODE,
	IN_GUEST_MODE,
	EXITING_GUEST_MODE,
};

/* Request bits, handled by the vCPU outside guest mode before it enters. */
#define TDP_REQ_TLB_FLUSH (1u << 0)
#define TDP_REQ_ROOT_RELOAD (1u << 1) /* KVM_REQ_MMU_FREE_OBSOLETE_ROOTS */

struct tdpmmu_vcpu {
	/* Written by other threads (flushers): its own cache line. */
	_Atomic int mode;
	_Atomic uint32_t requests;
	_Atomic uint32_t ack_waiters; /* flushers sleeping until we leave guest mode */

	/* Private to the vCPU's thread. */
	struct tdpmmu_vm *vm __cacheline_aligned;
	int index;
	struct tdp_page_cache cache;
	struct tdp_page *root; /* with a reference; NULL until first loaded */
	bool smm;              /* address-space role wanted (tdpmmu_vcpu_set_smm) */
	struct tdp_tlb tlb;
	struct tdp_pml pml;             /* the page-modification log (vcpu/pml.h) */
	struct tdpmmu_vcpu_stats stats; /* written by this thread, read by anyone */
	/* The VMM's device model for MMIO exits (vcpu_mmio.c), NULL: reads give 0. */
	tdpmmu_mmio_fn mmio_fn;
	void *mmio_ctx;
	/*
	 * Dirty ring (dirty_ring.c), NULL without; and the access a soft-full
	 * exit left (vcpu_run.c): none, to perform, or done (call @next).
	 */
	struct tdp_dirty_ring *ring;
	enum { RING_NONE, RING_PERFORM, RING_DONE } ring_pending;
	struct tdpmmu_access ring_access;
};

struct tdp_mmu *tdp_vm_mmu(struct tdpmmu_vm *vm);

/* tlb_flush.c: the MMU's remote TLB flush (tdp_flush_fn). */
void tdp_vm_flush_remote_tlbs(void *vm, uint64_t gfn, int level);
/*
 * tlb_flush.c: post @req to every vCPU and wait until none is still in
 * guest mode from before (kvm_make_all_cpus_request with KVM_REQUEST_WAIT).
 * Returns the number of vCPUs kicked.
 */
int tdp_vm_request_all(struct tdpmmu_vm *vm, uint32_t req);

/*
 * vcpu_root.c: load the vCPU's root for its role if it has none or it is
 * invalid or of the other role (takes the read lock; flushes the vCPU's
 * TLB when the root changes).  0 or -ENOMEM.  The check is inline: every
 * guest entry and fault makes it.
 */
int tdp_vcpu_reload_root(struct tdpmmu_vcpu *v);

static inline int tdp_vcpu_load_root(struct tdpmmu_vcpu *v)
{
	const struct tdp_page *root = v->root;

	if (likely(root && !atomic_load_explicit(&root->root_invalid, memory_order_acquire) &&
		   root->root_role == (unsigned)v->smm))
		return 0;
	return tdp_vcpu_reload_root(v);
}

/*
 * vcpu_fault.c: the fault path entered on an EPT violation.  @present: the
 * violation hit a present leaf (a permission fault), the only kind the
 * lockless fast path can fix; not-present faults go straight to the slow
 * path, as in KVM.
 */
int tdp_vcpu_handle_fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, int max_level,
			  bool present, struct tdpmmu_fault_result *res);
/*
 * vcpu_fault.c: emulate the guest write of @value to @gpa (after
 * TDPMMU_FAULT_EMULATE): store it to the host memory of the gfn as it is
 * now, and mark the page dirty.
 */
int tdp_vcpu_emulate_write(struct tdpmmu_vcpu *v, uint64_t gpa, uint64_t value);

/*
 * In-library halves of the testing library's calls (tdpmmu/testing.h,
 * src/testing/): not exported, so the product's shared library carries no
 * test entry points.  vm.c: tdp_audit (tdpmmu_audit), tdp_hold_walk
 * (tdpmmu_hold_walk); tlb_audit.c: tdp_audit_tlbs (tdpmmu_audit_tlbs).
 */
int tdp_audit(struct tdpmmu_vm *vm);
int tdp_hold_walk(struct tdpmmu_vm *vm, uint64_t ns);
int tdp_audit_tlbs(struct tdpmmu_vm *vm);

/*
 * MMIO entries (memslot.c): set the VM's MMIO config and the host's
 * wraparound hook at creation; the audit's verdict on an MMIO entry at
 * @gfn (no memslot maps @gfn, or the entry is stale).  vcpu_mmio.c: the
 * MMIO exit of an access that met an MMIO entry (@misconfig), or that the
 * fault path answered with TDPMMU_FAULT_MMIO, outside guest mode:
 * TDPMMU_FAULT_MMIO when the exit was made (the access is done),
 * TDPMMU_FAULT_EMULATE when a slot came and the write was emulated, 0
 * when the access must be retried (memory is mapped now, or the entry
 * changed), or a negative error.
 */
void tdp_vm_mmio_init(struct tdpmmu_vm *vm, bool caching, unsigned gen_bits);
bool tdp_vm_mmio_entry_ok(struct tdpmmu_vm *vm, uint64_t gfn, int level, tdp_spte_t s);
int tdp_vcpu_mmio_exit(struct tdpmmu_vcpu *v, struct tdpmmu_access *a, bool misconfig);

/* Add to a vCPU statistic (owner thread only; readers may race harmlessly). */
#define VCPU_STAT_ADD(v, field, n) tdp_stat_add(&(v)->stats.field, (n))

#endif
