/*
 * dirty_ring.h - the dirty ring (KVM_CAP_DIRTY_LOG_RING): one ring of
 * dirtied (slot, page offset) entries per vCPU, filled by the vCPU that
 * dirtied the page, harvested by user space, reset by the VM.
 *
 * Internal interface of dirty_ring.c for the fault path, vcpu_run.c and
 * the PML-style buffer flush.  tdp_dirty_ring_push is the ONLY entry
 * point that adds an entry: every path that logs a page for a vCPU of a
 * VM with a ring (the slow and fast faults through tdp_dirty_ring_mark,
 * an emulated write, a PML buffer flush on guest exit) ends there.
 */
#ifndef TDP_DIRTY_RING_H
#define TDP_DIRTY_RING_H

#include <stdbool.h>
#include <stdint.h>

struct tdpmmu_vm;
struct tdpmmu_vcpu;
struct tdp_memslot;

/*
 * Entries kept free below the ring's size: the vCPU exits (soft full)
 * once size - TDP_DIRTY_RING_RSVD entries are in use, and everything it
 * may push between its last check at guest entry and the next (one
 * fault or emulated write, and a PML buffer flush of up to
 * TDP_DIRTY_RING_PML_MAX entries) must still fit.  As KVM's
 * KVM_DIRTY_RING_RSVD_ENTRIES + kvm_cpu_dirty_log_size() with PML on.
 */
#define TDP_DIRTY_RING_PML_MAX 512
#define TDP_DIRTY_RING_RSVD (64 + TDP_DIRTY_RING_PML_MAX)

/*
 * Push (slot @slot_id, page @offset within the slot) into @v's ring.
 * Call only from the thread running @v (the ring has one producer), with
 * the slot held as the mark rules require (vcpu_fault.c: inside the
 * memslot RCU section that found the slot, or under the MMU lock after a
 * passed notifier check), only when the VM has a ring
 * (tdp_dirty_ring_enabled).  No lock taken.  A push into a completely
 * full ring is an MMU bug (tdp_bug): the soft-full exit must have come
 * first.
 */
void tdp_dirty_ring_push(struct tdpmmu_vcpu *v, uint32_t slot_id, uint64_t offset);

/* Whether @vm has dirty rings (set once, before its first vCPU). */
bool tdp_dirty_ring_enabled(const struct tdpmmu_vm *vm);

/*
 * Log @gfn, dirtied through slot @m, if the slot logs: into @v's ring
 * when the VM has rings and @v is given, otherwise into the slot's
 * bitmap (KVM's ring-with-bitmap fallback for a write with no running
 * vCPU).  Same calling rules as tdp_host_slot_mark_dirty (the slot held
 * from lookup to mark).  Returns whether the page was logged.
 */
bool tdp_dirty_ring_mark_slot(struct tdpmmu_vcpu *v, const struct tdp_memslot *m, uint64_t gfn);
/* The same by gfn, in the slot array of the moment (rules: host.h tdp_host_mark_gfn_dirty). */
bool tdp_dirty_ring_mark_gfn(struct tdpmmu_vcpu *v, struct tdpmmu_vm *vm, uint64_t gfn);

/*
 * Guest entry: true when @v's ring is soft full (used entries >= size -
 * TDP_DIRTY_RING_RSVD), counting the exit.  The vCPU must not enter
 * until a reset made room.  Lockless; vCPU thread.
 */
bool tdp_dirty_ring_soft_full_exit(struct tdpmmu_vcpu *v);

/* vCPU creation and destruction (vm.c): allocate / free @v's ring. 0 or -ENOMEM. */
int tdp_dirty_ring_vcpu_init(struct tdpmmu_vcpu *v);
void tdp_dirty_ring_vcpu_free(struct tdpmmu_vcpu *v);

/*
 * dirty_log.c: write-protect the pages first_page + i (relative to slot
 * @slot_id) for each bit i of @mask, under the MMU write lock, as a
 * KVM_CLEAR_DIRTY_LOG of that word does but without touching the bitmap;
 * slots_lock held.  Pages past the slot's end are ignored.  Returns the
 * number of leaves protected, or -ENOENT.  The caller flushes (a huge
 * leaf that lost MMU-writable is flushed before the unlock, in here).
 */
int tdp_dirty_log_reprotect_mask(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t first_page,
				 uint64_t mask);

#endif
