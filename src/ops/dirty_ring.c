/*
 * dirty_ring.c - the dirty ring (KVM_CAP_DIRTY_LOG_RING, KVM's
 * virt/kvm/dirty_ring.c and the ring parts of kvm_main.c).
 *
 * With rings enabled (tdpmmu_dirty_ring_enable, before the first vCPU),
 * every vCPU owns a ring of nr_entries (slot id, page offset, flags)
 * entries.  A page dirtied by a vCPU in a logging slot is pushed into
 * that vCPU's ring instead of the slot's bitmap (KVM without
 * ring_with_bitmap); a mark with no vCPU goes to the bitmap (KVM's
 * ring-with-bitmap fallback), which tdpmmu_dirty_log_get still reads.
 *
 * Each entry goes around a cycle of three states, moved on by three
 * parties, each through its own free-running index:
 *   free (flags 0)  --push, the vCPU, dirty_index-->  DIRTY
 *   DIRTY           --harvest, user space, fetch_index-->  RESET
 *   RESET           --reset, slots_lock, reset_index-->  free
 * Each transition writes the flags word with release after its other
 * stores and the next party reads it with acquire, so the slot and offset
 * written by the push are seen by the harvester, and the reads of reset
 * come before the next push into the entry (which also loads reset_index
 * with acquire).  No lock between the three: the ring has one producer
 * (the vCPU's thread), one consumer per state (harvesters are serialised
 * by the ring's harvest mutex, resets by slots_lock).
 *
 * Fullness.  used = dirty_index - reset_index.  At guest entry the vCPU
 * checks used >= size - TDP_DIRTY_RING_RSVD (soft full) and exits to its
 * caller instead of entering (TDPMMU_EXIT_DIRTY_RING_FULL); between two
 * such checks it can push at most one fault's or emulated write's entry
 * and one PML buffer flush, which the reserve covers, so a push into a
 * full ring is an MMU bug (tdp_bug).
 *
 * Reset (KVM_RESET_DIRTY_RINGS), under slots_lock: for each vCPU, walk
 * the RESET entries from reset_index, free each, coalesce runs in one
 * slot into a 64-page mask as KVM does (forward, or backward while the
 * mask still fits) and write-protect each mask under the MMU write lock
 * (dirty_log.c); then one remote flush if any entry was reset.  An entry
 * is freed before its page is protected again (as KVM): the room is only
 * used by other pages, because a page whose entry is being reset stays
 * writable until the protection, so it cannot be pushed again before.
 * A write in that window is not logged again, but it lands before reset
 * returns, and a VMM reads the harvested pages after the reset.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/mutant.h"
#include "base/thread_slot.h"
#include "ops/dirty_ring.h"
#include "vm/vm_internal.h"

#define DIRTY_RING_MAX_ENTRIES 65536u /* KVM_DIRTY_RING_MAX_ENTRIES */

_Static_assert(TDP_DIRTY_RING_RSVD == TDPMMU_DIRTY_RING_RSVD, "the reserve, public and internal");

struct ring_entry {
	_Atomic uint32_t flags; /* 0, TDPMMU_DIRTY_GFN_F_DIRTY or TDPMMU_DIRTY_GFN_F_RESET */
	uint32_t slot;
	uint64_t offset;
};

struct tdp_dirty_ring {
	uint32_t size;                /* power of two */
	uint32_t soft_limit;          /* size - TDP_DIRTY_RING_RSVD */
	_Atomic uint32_t dirty_index; /* next push; written by the vCPU's thread only */
	_Atomic uint32_t reset_index; /* next to reset; written under slots_lock */
	pthread_mutex_t harvest_mutex;
	uint32_t fetch_index; /* user space's: next to harvest; under harvest_mutex */
	struct ring_entry *e;
};

bool tdp_dirty_ring_enabled(const struct tdpmmu_vm *vm)
{
	return atomic_load_explicit(&vm->dirty_ring_size, memory_order_relaxed) != 0;
}

static uint32_t ring_used(struct tdp_dirty_ring *r)
{
	return atomic_load_explicit(&r->dirty_index, memory_order_relaxed) -
	       atomic_load_explicit(&r->reset_index, memory_order_acquire);
}

int tdp_dirty_ring_vcpu_init(struct tdpmmu_vcpu *v)
{
	uint32_t size = atomic_load_explicit(&v->vm->dirty_ring_size, memory_order_relaxed);
	struct tdp_dirty_ring *r;

	v->ring = NULL;
	if (!size)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->e = calloc(size, sizeof(*r->e));
	if (!r->e) {
		free(r);
		return -ENOMEM;
	}
	r->size = size;
	r->soft_limit = size - TDP_DIRTY_RING_RSVD;
	pthread_mutex_init(&r->harvest_mutex, NULL);
	v->ring = r;
	return 0;
}

void tdp_dirty_ring_vcpu_free(struct tdpmmu_vcpu *v)
{
	if (!v->ring)
		return;
	pthread_mutex_destroy(&v->ring->harvest_mutex);
	free(v->ring->e);
	free(v->ring);
	v->ring = NULL;
}

void tdp_dirty_ring_push(struct tdpmmu_vcpu *v, uint32_t slot_id, uint64_t offset)
{
	struct tdp_dirty_ring *r = v->ring;
	uint32_t di, ri;
	struct ring_entry *e;

	if (unlikely(!r))
		tdp_bug("dirty ring: push for slot %u offset 0x%llx on vCPU %d without a ring",
			slot_id, (unsigned long long)offset, v->index);
	di = atomic_load_explicit(&r->dirty_index, memory_order_relaxed);
	ri = atomic_load_explicit(&r->reset_index, memory_order_acquire);
	e = &r->e[di & (r->size - 1)];
	if (unlikely(di - ri >= r->size ||
		     atomic_load_explicit(&e->flags, memory_order_acquire) != 0))
		tdp_bug("dirty ring: vCPU %d pushes slot %u page offset 0x%llx into a full "
			"ring (the soft-full exit was missed): dirty_index %u reset_index %u "
			"size %u soft limit %u, entry flags %u",
			v->index, slot_id, (unsigned long long)offset, di, ri, r->size,
			r->soft_limit, atomic_load(&e->flags));
	e->slot = slot_id;
	e->offset = offset;
	/* Publish slot and offset before the harvester can see DIRTY. */
	atomic_store_explicit(&e->flags, TDPMMU_DIRTY_GFN_F_DIRTY, memory_order_release);
	atomic_store_explicit(&r->dirty_index, di + 1, memory_order_release);
	tdp_count(&v->vm->mmu.counters, TDPMMU_C_RING_PUSHES);
}

bool tdp_dirty_ring_mark_slot(struct tdpmmu_vcpu *v, const struct tdp_memslot *m, uint64_t gfn)
{
	if (!m->dirty_bitmap)
		return false; /* not logging */
	if (v && v->ring) {
		tdp_dirty_ring_push(v, m->desc.id, gfn - m->desc.base_gfn);
		return true;
	}
	return tdp_host_slot_mark_dirty(m, gfn);
}

bool tdp_dirty_ring_mark_gfn(struct tdpmmu_vcpu *v, struct tdpmmu_vm *vm, uint64_t gfn)
{
	const struct tdp_memslots *slots;
	const struct tdp_memslot *m;
	bool marked = false;

	tdp_rcu_read_lock();
	slots = rcu_dereference(vm->host.slots);
	tdp_tsan_acquire(slots);
	m = tdp_host_find_slot(slots, gfn);
	if (m)
		marked = tdp_dirty_ring_mark_slot(v, m, gfn);
	tdp_rcu_read_unlock();
	return marked;
}

bool tdp_dirty_ring_soft_full_exit(struct tdpmmu_vcpu *v)
{
	struct tdp_dirty_ring *r = v->ring;

	if (!r || ring_used(r) < r->soft_limit)
		return false;
	tdp_count(&v->vm->mmu.counters, TDPMMU_C_RING_SOFT_FULL_EXITS);
	return true;
}

int tdpmmu_dirty_ring_enable(struct tdpmmu_vm *vm, uint32_t nr_entries)
{
	int r = 0;

	if (!vm)
		return -EINVAL;
	/* Power of two, room beyond the reserve, at most KVM's maximum. */
	if (!nr_entries || (nr_entries & (nr_entries - 1)) || nr_entries <= TDP_DIRTY_RING_RSVD)
		return -EINVAL;
	if (nr_entries > DIRTY_RING_MAX_ENTRIES)
		return -E2BIG;
	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	/* Set once, and only while no vCPU exists (created under this mutex). */
	if (vm->nr_vcpus || atomic_load_explicit(&vm->dirty_ring_size, memory_order_relaxed))
		r = -EBUSY;
	else
		atomic_store_explicit(&vm->dirty_ring_size, nr_entries, memory_order_relaxed);
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	return r;
}

int tdpmmu_dirty_ring_harvest(struct tdpmmu_vcpu *vcpu, struct tdpmmu_dirty_gfn *out, int max)
{
	struct tdp_dirty_ring *r;
	int n = 0;

	if (!vcpu || !vcpu->ring || !out || max < 0)
		return -EINVAL;
	r = vcpu->ring;
	pthread_mutex_lock(&r->harvest_mutex);
	while (n < max) {
		struct ring_entry *e = &r->e[r->fetch_index & (r->size - 1)];

		if (atomic_load_explicit(&e->flags, memory_order_acquire) !=
		    TDPMMU_DIRTY_GFN_F_DIRTY)
			break;
		out[n].flags = TDPMMU_DIRTY_GFN_F_DIRTY;
		out[n].slot = e->slot;
		out[n].offset = e->offset;
		n++;
		/* Our reads of the entry come before reset can free it. */
		atomic_store_explicit(&e->flags, TDPMMU_DIRTY_GFN_F_RESET, memory_order_release);
		r->fetch_index++;
	}
	pthread_mutex_unlock(&r->harvest_mutex);
	return n;
}

/* KVM's kvm_reset_dirty_gfn: protect the pages @mask from @offset in @slot again. */
static void reset_gfns(struct tdpmmu_vm *vm, uint32_t slot, uint64_t offset, uint64_t mask)
{
	if (!mask)
		return;
	/* A slot deleted or shrunk since: nothing to protect (as KVM). */
	tdp_dirty_log_reprotect_mask(vm, slot, offset, mask);
}

/* KVM's kvm_dirty_ring_reset for one ring, slots_lock held.  Returns the entries reset. */
static int64_t ring_reset(struct tdpmmu_vm *vm, struct tdp_dirty_ring *r)
{
	uint64_t cur_offset = 0, mask = 0;
	uint32_t cur_slot = 0;
	int64_t n = 0;

	for (;;) {
		uint32_t ri = atomic_load_explicit(&r->reset_index, memory_order_relaxed);
		struct ring_entry *e = &r->e[ri & (r->size - 1)];
		uint32_t slot;
		uint64_t offset;

		if (atomic_load_explicit(&e->flags, memory_order_acquire) !=
		    TDPMMU_DIRTY_GFN_F_RESET)
			break;
		slot = e->slot;
		offset = e->offset;
		/* Free the entry: our reads first, then the vCPU may reuse it. */
		atomic_store_explicit(&e->flags, 0, memory_order_release);
		atomic_store_explicit(&r->reset_index, ri + 1, memory_order_release);
		n++;
		if (mask && slot == cur_slot) {
			if (offset >= cur_offset && offset - cur_offset < 64) {
				mask |= 1ull << (offset - cur_offset);
				continue;
			}
			/* Backwards, while the mask shifted up still keeps every bit. */
			if (offset < cur_offset && cur_offset - offset < 64 &&
			    (mask << (cur_offset - offset)) >> (cur_offset - offset) == mask) {
				mask = (mask << (cur_offset - offset)) | 1;
				cur_offset = offset;
				continue;
			}
		}
		reset_gfns(vm, cur_slot, cur_offset, mask);
		cur_slot = slot;
		cur_offset = offset;
		mask = 1;
	}
	reset_gfns(vm, cur_slot, cur_offset, mask);
	return n;
}

int tdpmmu_dirty_ring_reset(struct tdpmmu_vm *vm)
{
	struct tdpmmu_vcpu **vcpus;
	int64_t n = 0;
	int nr;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm || !tdp_dirty_ring_enabled(vm))
		return -EINVAL;
	tdp_host_lock(&vm->host);
	/*
	 * The vCPUs of the moment: the re-protection flushes, which takes
	 * vcpus_mutex, so the list is copied first.  vCPUs are not destroyed
	 * while a reset runs (the API's rule, as KVM's vCPUs live with the VM).
	 */
	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	nr = vm->nr_vcpus;
	vcpus = malloc(sizeof(*vcpus) * (size_t)(nr ? nr : 1));
	if (vcpus)
		for (int i = 0; i < nr; i++)
			vcpus[i] = vm->vcpus[i];
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	if (!vcpus) {
		tdp_host_unlock(&vm->host);
		return -ENOMEM;
	}
	for (int i = 0; i < nr; i++)
		if (vcpus[i]->ring)
			n += ring_reset(vm, vcpus[i]->ring);
	tdp_host_unlock(&vm->host);
	free(vcpus);
	/*
	 * As KVM, whenever an entry was reset: a vCPU may still cache a
	 * writable translation of a page protected again above, and its next
	 * write must fault and push.  (The mutant ring-reset-no-flush trusts
	 * the protection alone.)
	 */
	if (n) {
		if (!TDP_MUTANT(RING_RESET_NO_FLUSH))
			tdp_flush_remote_tlbs(&vm->mmu, 0, 0);
		tdp_count_add(&vm->mmu.counters, TDPMMU_C_RING_RESETS, n);
	}
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
