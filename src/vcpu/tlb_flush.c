/*
 * tlb_flush.c - requests to every vCPU (KVM's kvm_make_all_cpus_request
 * with KVM_REQUEST_WAIT) and the remote TLB flush built on it, with the
 * IPI replaced by a kick the vCPU sees between two guest accesses.  The
 * fast zap's root reload request uses the same path.
 *
 *   flusher:  for each vCPU: requests |= FLUSH (seq_cst);
 *             if mode == IN_GUEST_MODE: CAS mode IN -> EXITING (the kick)
 *             then wait until every kicked vCPU's mode != EXITING
 *   vCPU:     entry: mode = IN (seq_cst); if requests: leave, handle, retry
 *             in guest: between two accesses, if mode == EXITING: leave
 *             leaving: mode = OUTSIDE (seq_cst); wake sleeping flushers
 *
 * The request store and the entry's mode store are a Dekker pair: either
 * the vCPU sees the request before it runs guest code, or the flusher sees
 * it in guest mode and kicks it.  A kicked vCPU finishes at most the access
 * it is in (including a walk), leaves guest mode, and flushes its TLB
 * before it enters again.  So when the flush returns, no vCPU holds a
 * translation or a walk that predates it; a vCPU outside guest mode is
 * never waited for (it holds neither).
 *
 * Concurrency: the vCPU array is walked under vcpus_mutex, so a vCPU cannot
 * be destroyed under a flusher; waiting for an acknowledgement never needs
 * a lock the vCPU could be holding (a vCPU in guest mode holds none).
 * Callers may hold the MMU lock in either mode and be inside a walk.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm/vm_internal.h"
#include "base/lock_rank.h"

#define ACK_SPINS 256

static void wait_for_exit(struct tdpmmu_vcpu *v)
{
	for (int i = 0; i < ACK_SPINS; i++) {
		if (atomic_load(&v->mode) != EXITING_GUEST_MODE)
			return;
		cpu_relax();
	}
	/* The vCPU thread may be preempted: sleep until it leaves guest mode. */
	atomic_fetch_add(&v->ack_waiters, 1);
	while (atomic_load(&v->mode) == EXITING_GUEST_MODE) {
		/* Quiescent meanwhile if online with no walk open (rcu_qsbr_thread.h). */
		bool offline = tdp_qsbr_quiescent_begin();

		syscall(SYS_futex, &v->mode, FUTEX_WAIT_PRIVATE, EXITING_GUEST_MODE, NULL, NULL, 0);
		tdp_qsbr_quiescent_end(offline);
	}
	atomic_fetch_sub(&v->ack_waiters, 1);
}

int tdp_vm_request_all(struct tdpmmu_vm *vm, uint32_t req)
{
	int nr_kicked = 0;

	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct tdpmmu_vcpu *v = vm->vcpus[i];
		int in = IN_GUEST_MODE;

		atomic_fetch_or(&v->requests, req);
		if (atomic_load(&v->mode) == IN_GUEST_MODE &&
		    atomic_compare_exchange_strong(&v->mode, &in, EXITING_GUEST_MODE))
			nr_kicked++;
	}
	/*
	 * Wait for every vCPU still exiting: those kicked here, and perhaps
	 * some another flusher kicked (as short a wait), with no array of
	 * up to TDP_MAX_VCPUS on the stack.
	 */
	for (int i = 0; i < vm->nr_vcpus; i++)
		wait_for_exit(vm->vcpus[i]);
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	return nr_kicked;
}

void tdp_vm_flush_remote_tlbs(void *ctx, uint64_t gfn, int level)
{
	struct tdpmmu_vm *vm = ctx;
	uint64_t start = tdp_now_ns();
	int nr_kicked = tdp_vm_request_all(vm, TDP_REQ_TLB_FLUSH);

	tdp_count_add(&vm->mmu.counters, TDPMMU_C_TLB_FLUSH_KICKS, nr_kicked);
	tdp_count_add(&vm->mmu.counters, TDPMMU_C_TLB_FLUSH_WAIT_NS,
		      (int64_t)(tdp_now_ns() - start));
	if (vm->user_flush)
		vm->user_flush(vm->user_flush_ctx, gfn, level);
}

void tdpmmu_flush_tlbs(struct tdpmmu_vm *vm)
{
	/* Cannot fail: wait for a thread slot if none is free (thread_slot.h). */
	tdp_thread_slot_wait();
	tdp_flush_remote_tlbs(&vm->mmu, 0, 0);
}
