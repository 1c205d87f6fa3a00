/*
 * vcpu_run.c - a vCPU thread in and out of guest mode, and the hardware it
 * runs on: the TLB and the page walker.
 *
 * Guest mode.  The vCPU enters guest mode (mode = IN, then re-checks its
 * requests, see tlb_flush.c), performs accesses, and leaves (mode =
 * OUTSIDE) on an EPT violation, when kicked (mode became EXITING), after
 * TDPMMU_GUEST_BURST accesses, and before it returns.  It never blocks or
 * yields in guest mode: with more vCPU threads than cores the OS can still
 * preempt it there, which real hardware cannot; flushers then wait for the
 * thread to run again (measured as tlb_flush_wait_ns).
 *
 * The walker.  A guest-mode vCPU holds no lock and is in no RCU read-side
 * section: guest mode is a quiescent state, as in the kernel.  Under
 * rcu-qsbr the thread is online from its first guest entry until
 * tdpmmu_vcpu_run returns (reclaim_vcpu_run_begin/end) and announces a
 * quiescent state at every entry (reclaim_vcpu_guest_entry), so neither a
 * violation nor the walks of its fault path cost a fence; every wait of
 * the fault path takes it offline (vcpu_fault.c), and guest mode is
 * bounded by TDPMMU_GUEST_BURST (rcu_qsbr_thread.h).  The walker
 * reads entries with atomic loads from the vCPU's root down; the vCPU's
 * reference keeps the root table itself alive, and a vCPU never enters
 * guest mode on an invalidated root (the fast zap's reload request kicks
 * it out and waits, and entry reloads first).  Nothing can free a
 * table it is walking: a table is freed only after the remote TLB flush
 * that follows its unlink, and that flush waits for this vCPU to finish the
 * access it is in and leave guest mode.  A freed table is poisoned, and
 * the walker stops with a BUG if it ever reads poison.
 *
 * Accessed and Dirty are set like a CPU's locked update: a CAS from the
 * value the walk read; if the entry changed, the walk starts over.  A
 * write through a TLB entry whose cached leaf is clean sets D through the
 * cached entry pointer (as hardware does with paging-structure caches);
 * if that CAS fails, the TLB entry is dropped and the access walks again.
 * Either way, D set on a 4K leaf while the VM logs by D bit appends the
 * gfn to the vCPU's PML log, which every exit from guest mode flushes
 * (pml.h).
 *
 * A write to a write-tracked gfn faults every time; the fault path maps
 * the page read-only and the write is emulated outside guest mode
 * (tdp_vcpu_emulate_write), after which the vCPU goes on to the next
 * access.
 */
#include <errno.h>
#include <linux/futex.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/latency.h"
#include "vm/vm_internal.h"

enum access_result {
	ACCESS_DONE,
	VIOLATION_NOT_PRESENT, /* EPT violation: nothing mapped */
	VIOLATION_PERMISSION,  /* EPT violation: mapped, but not for this access */
	MISCONFIG_MMIO,        /* EPT misconfiguration: an MMIO entry (vcpu_mmio.c) */
};

static void leave_guest_mode(struct tdpmmu_vcpu *v)
{
	/* The exit flushes the PML log, before a kicker can see us out (pml.h). */
	tdp_pml_flush(v);
	/* seq_cst store, then read the waiters: pairs with wait_for_exit(). */
	atomic_store(&v->mode, OUTSIDE_GUEST_MODE);
	if (atomic_load(&v->ack_waiters))
		syscall(SYS_futex, &v->mode, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void handle_requests(struct tdpmmu_vcpu *v)
{
	uint32_t req = atomic_exchange(&v->requests, 0);

	/* TDP_REQ_ROOT_RELOAD needs nothing here: entry reloads an invalid root. */
	if (req & TDP_REQ_TLB_FLUSH) {
		tlb_flush_all(&v->tlb);
		VCPU_STAT_ADD(v, tlb_flushes, 1);
	}
}

static int enter_guest_mode(struct tdpmmu_vcpu *v)
{
	/* No walk is open here: what the fault path read may be freed. */
	reclaim_vcpu_guest_entry(&v->vm->mmu.reclaim);
	for (;;) {
		/* Load a root if there is none or it was invalidated (fast zap). */
		int r = tdp_vcpu_load_root(v);

		if (r)
			return r;
		/* seq_cst store, then read requests: pairs with the flusher. */
		atomic_store(&v->mode, IN_GUEST_MODE);
		if (!atomic_load(&v->requests))
			break;
		leave_guest_mode(v);
		handle_requests(v);
	}
	VCPU_STAT_ADD(v, guest_entries, 1);
	return 0;
}

static bool leaf_allows(tdp_spte_t s, unsigned type)
{
	if (type == TDPMMU_ACCESS_WRITE)
		return spte_is_writable(s);
	if (type == TDPMMU_ACCESS_EXEC)
		return (s & SPTE_X) != 0;
	return (s & SPTE_R) != 0;
}

/* Walk the live tables for @gfn; fill the TLB (*filled, *level) or report a violation. */
static enum access_result hw_walk(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned type,
				  struct tdp_tlb_entry **filled, int *filled_level)
{
	struct tdp_mmu *mmu = &v->vm->mmu;

	for (;;) {
		_Atomic(tdp_spte_t) *pt = tdp_page_table(&mmu->arena, v->root);
		_Atomic(tdp_spte_t) *sptep;
		tdp_spte_t s, want;
		int level;

		VCPU_STAT_ADD(v, walks, 1);
		for (level = mmu->root_level;; level--) {
			sptep = &pt[tdp_index(gfn, level)];
			s = tdp_read_spte(sptep);
			if (!spte_is_present(s))
				return spte_is_mmio(s) ? MISCONFIG_MMIO : VIOLATION_NOT_PRESENT;
			if (spte_is_last(s, level))
				break;
			pt = tdp_pfn_table(&mmu->arena, spte_pfn(s));
		}
		if (!leaf_allows(s, type))
			return VIOLATION_PERMISSION;
		want = s | SPTE_ACCESSED | (type == TDPMMU_ACCESS_WRITE ? SPTE_DIRTY : 0);
		if (want != s) {
			/* The locked A/D update: only if the entry is what we read. */
			if (!atomic_compare_exchange_strong(sptep, &s, want)) {
				VCPU_STAT_ADD(v, walk_retries, 1);
				continue;
			}
			VCPU_STAT_ADD(v, ad_updates, 1);
			/* D went 0 -> 1 on a 4K leaf: the PML log records the gfn. */
			if ((want & ~s & SPTE_DIRTY) && level == TDP_LEVEL_4K)
				tdp_pml_log(v, gfn);
		}
		*filled = tlb_fill(&v->tlb, gfn, level, want, sptep);
		*filled_level = level;
		return ACCESS_DONE;
	}
}

static enum access_result guest_access(struct tdpmmu_vcpu *v, struct tdpmmu_access *a)
{
	uint64_t gfn = a->gpa >> TDP_PAGE_SHIFT;
	struct tdp_tlb_entry *e;
	_Atomic uint64_t *word;
	int level = TDP_LEVEL_4K;

	VCPU_STAT_ADD(v, accesses, 1);
	e = tlb_lookup(&v->tlb, gfn, &level);
	if (e && leaf_allows(e->spte, a->type)) {
		VCPU_STAT_ADD(v, tlb_hits, 1);
		if (a->type == TDPMMU_ACCESS_WRITE && !spte_is_dirty(e->spte)) {
			tdp_spte_t old = e->spte;

			if (unlikely(atomic_load(e->sptep) == SPTE_POISON))
				tdp_bug("vCPU %d: TLB entry for gfn 0x%llx points into a freed table",
					v->index, (unsigned long long)gfn);
			if (atomic_compare_exchange_strong(e->sptep, &old, old | SPTE_DIRTY)) {
				e->spte = old | SPTE_DIRTY;
				VCPU_STAT_ADD(v, ad_updates, 1);
				if (level == TDP_LEVEL_4K)
					tdp_pml_log(v, gfn); /* as the walk's D update */
			} else {
				e->tag = 0;
				e = NULL;
			}
		}
	} else {
		e = NULL;
	}
	if (!e) {
		enum access_result r;

		VCPU_STAT_ADD(v, tlb_misses, 1);
		r = hw_walk(v, gfn, a->type, &e, &level);
		if (r != ACCESS_DONE)
			return r;
	}
	/* The frame of this gfn inside the (possibly huge) translation. */
	word = tdp_host_word(&v->vm->host, spte_pfn(e->spte) + (gfn - tdp_align_gfn(gfn, level)),
			     a->gpa);
	if (word) {
		if (a->type == TDPMMU_ACCESS_WRITE)
			atomic_store_explicit(word, a->value, memory_order_relaxed);
		else
			a->value = atomic_load_explicit(word, memory_order_relaxed);
	} else if (a->type != TDPMMU_ACCESS_WRITE) {
		a->value = 0;
	}
	return ACCESS_DONE;
}

static void record_latency(struct tdpmmu_vcpu *v, uint64_t ns)
{
	VCPU_STAT_ADD(v, latency[latency_bucket(ns)], 1);
	if (ns > v->stats.latency_max_ns)
		__atomic_store_n(&v->stats.latency_max_ns, ns, __ATOMIC_RELAXED);
}

static int handle_violation(struct tdpmmu_vcpu *v, const struct tdpmmu_access *a,
			    enum access_result why, unsigned flags)
{
	uint64_t t0 = flags & TDPMMU_RUN_LATENCY ? tdp_now_ns() : 0;
	int r;

	VCPU_STAT_ADD(v, ept_violations, 1);
	r = tdp_vcpu_handle_fault(v, a->gpa >> TDP_PAGE_SHIFT, a->type, 0,
				  why == VIOLATION_PERMISSION, NULL);
	if (r == TDPMMU_FAULT_EMULATE) {
		r = tdp_vcpu_emulate_write(v, a->gpa, a->value);
		if (!r)
			r = TDPMMU_FAULT_EMULATE; /* the access is done */
	}
	if (t0)
		record_latency(v, tdp_now_ns() - t0);
	return r;
}

static bool valid_access(const struct tdpmmu_vcpu *v, const struct tdpmmu_access *a)
{
	return (a->type == TDPMMU_ACCESS_READ || a->type == TDPMMU_ACCESS_WRITE ||
		a->type == TDPMMU_ACCESS_EXEC) &&
	       !(a->gpa & 7) && (a->gpa >> TDP_PAGE_SHIFT) < v->vm->mmu.max_gfn;
}

/*
 * A soft-full dirty ring stops the vCPU before guest entry (KVM's
 * KVM_EXIT_DIRTY_RING_FULL); the access in @a is kept for the next
 * tdpmmu_vcpu_run: to be performed, or already @done (emulated; @mmio:
 * the MMIO bit @next is to see with it).
 */
static int ring_full_exit(struct tdpmmu_vcpu *v, const struct tdpmmu_access *a, bool done,
			  unsigned mmio)
{
	v->ring_access = *a;
	v->ring_access.type |= mmio;
	v->ring_pending = done ? RING_DONE : RING_PERFORM;
	return TDPMMU_EXIT_DIRTY_RING_FULL;
}

/* Guest mode and its exits, from the first valid access in @a. */
static int run_guest(struct tdpmmu_vcpu *v, tdpmmu_guest_fn next, void *ctx,
		     struct tdpmmu_access *a, unsigned flags)
{
	bool more = true;

	while (more) {
		unsigned burst = 0;
		int r = 0;

		if (!valid_access(v, a))
			return -EINVAL;
		if (tdp_dirty_ring_soft_full_exit(v))
			return ring_full_exit(v, a, false, 0);
		r = enter_guest_mode(v);
		if (r)
			return r;
		while (more && burst++ < TDPMMU_GUEST_BURST) {
			if (atomic_load_explicit(&v->mode, memory_order_relaxed) ==
			    EXITING_GUEST_MODE) {
				VCPU_STAT_ADD(v, kicks, 1);
				break;
			}
			enum access_result why = guest_access(v, a);
			unsigned mmio = 0;

			if (why != ACCESS_DONE) {
				bool emulated;

				leave_guest_mode(v);
				/* An MMIO entry, or a fault that found no memslot: an MMIO exit. */
				if (why == MISCONFIG_MMIO)
					r = tdp_vcpu_mmio_exit(v, a, true);
				else if ((r = handle_violation(v, a, why, flags)) ==
					 TDPMMU_FAULT_MMIO)
					r = tdp_vcpu_mmio_exit(v, a, false);
				if (r == TDPMMU_FAULT_MMIO)
					mmio = TDPMMU_ACCESS_MMIO;
				emulated = r == TDPMMU_FAULT_EMULATE || mmio;
				if (r >= 0 && tdp_dirty_ring_soft_full_exit(v))
					return ring_full_exit(v, a, emulated, mmio);
				if (r >= 0)
					r = enter_guest_mode(v);
				if (r)
					return r;
				if (!emulated)
					continue; /* retry the same access */
			}
			a->type |= mmio; /* the guest may tell an MMIO access (tdpmmu.h) */
			more = next(ctx, a);
			a->type &= ~TDPMMU_ACCESS_MMIO;
			if (more && !valid_access(v, a))
				break;
		}
		leave_guest_mode(v);
	}
	return 0;
}

int tdpmmu_vcpu_run(struct tdpmmu_vcpu *v, tdpmmu_guest_fn next, void *ctx, unsigned flags)
{
	struct tdpmmu_access a = { 0 };
	int r;

	if (!v || !next || (flags & ~TDPMMU_RUN_LATENCY))
		return -EINVAL;
	/* The thread's slot now: running out is an error, not a BUG later. */
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	/* Dirty ring soft full: no entry until a reset made room. */
	if (tdp_dirty_ring_soft_full_exit(v))
		return TDPMMU_EXIT_DIRTY_RING_FULL;
	if (v->ring_pending) {
		/* Resume where the soft-full exit stopped (tdpmmu.h). */
		bool done = v->ring_pending == RING_DONE;

		a = v->ring_access;
		v->ring_pending = RING_NONE;
		if (done) {
			bool more = next(ctx, &a);

			a.type &= ~TDPMMU_ACCESS_MMIO;
			if (!more)
				return 0;
		}
	} else if (!next(ctx, &a)) {
		/* The first call comes before guest mode: it may still block. */
		return 0;
	}
	reclaim_vcpu_run_begin(&v->vm->mmu.reclaim);
	r = run_guest(v, next, ctx, &a, flags);
	reclaim_vcpu_run_end(&v->vm->mmu.reclaim);
	return r;
}

void tdpmmu_vcpu_stats_read(const struct tdpmmu_vcpu *v, struct tdpmmu_vcpu_stats *out)
{
	const uint64_t *src = (const uint64_t *)&v->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
