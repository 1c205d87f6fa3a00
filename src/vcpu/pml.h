/*
 * pml.h - the vCPU's page-modification log (Intel PML), for D-bit dirty
 * logging (TDPMMU_DIRTY_DBIT; ops/dirty_log.c).
 *
 * The simulated CPU (vcpu_run.c), when it sets Dirty on a 4K leaf while
 * the VM has a slot logging in D-bit mode, appends the gfn to its vCPU's
 * log.  The log holds TDP_PML_ENTRIES gfns (fewer if a test says so:
 * vm->pml_cap); the append that fills it forces an exit from guest mode
 * (the PML-full exit), so it never overflows.  A guest burst
 * (TDPMMU_GUEST_BURST, 256 accesses) ends in an exit before 512 entries,
 * so at full size the full exit is counted but never taken.  Every exit from guest mode flushes the log: each gfn is
 * marked in its memslot, through the dirty ring when the VM has one.  The
 * flush runs before the vCPU stores OUTSIDE_GUEST_MODE, so a thread that
 * kicked it and waited for that store (tdp_vm_request_all) sees the marks:
 * that is how get and clear make every log reach the bitmap first
 * (tdp_pml_sync_all; KVM's kvm_flush_pml_buffers kicks only).
 *
 * Concurrency: the log is private to the vCPU's thread; only counters and
 * the bitmap or ring it flushes into are shared.
 */
#ifndef TDP_PML_H
#define TDP_PML_H

#include <stdint.h>

#define TDP_PML_ENTRIES 512

struct tdp_pml {
	uint32_t nr; /* entries in use */
	uint64_t gfn[TDP_PML_ENTRIES];
};

struct tdpmmu_vcpu;
struct tdpmmu_vm;

/*
 * Guest mode, just after this vCPU's CAS set D on a 4K leaf mapping @gfn:
 * log it if the VM logs by D bit now; the append that fills the log
 * kicks the vCPU out (it leaves after this access).
 */
void tdp_pml_log(struct tdpmmu_vcpu *v, uint64_t gfn);
/* Leaving guest mode, before the mode store: mark every logged gfn, empty the log. */
void tdp_pml_flush(struct tdpmmu_vcpu *v);
/*
 * Make every vCPU flush its log (kick and wait for each in guest mode);
 * on return every D set before the call has its page marked.  Any
 * thread, no MMU lock needed.
 */
void tdp_pml_sync_all(struct tdpmmu_vm *vm);

#endif
