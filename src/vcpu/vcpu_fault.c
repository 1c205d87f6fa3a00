/*
 * vcpu_fault.c - the page-fault path, entered on an EPT violation (or
 * directly with tdpmmu_fault), top to bottom:
 *
 *  1. fast page fault (permission faults only: a not-present fault has
 *     nothing it could fix): a lockless walk inside walk protection and
 *     the memslot RCU section of its slot lookup.  If the leaf already
 *     allows the access, another vCPU fixed it: done.  If it is
 *     write-protected but MMU-writable and the access is a write, set W
 *     (and D) with one CAS and mark the page through that slot; the page
 *     is dirty from then on.  No lock:
 *     the CAS fails if anything changed the entry, and walk protection
 *     keeps the table from being freed under the walk.
 *  2. slow path: snapshot the notifier sequence; look up the host frame
 *     (memslot RCU, no MMU lock; a slot being deleted or moved is
 *     retried until the change is done, see memslot.c); on the first
 *     touch of a host page, let the host fault it in (host_fault_us; no
 *     lock held while it sleeps, see host_fault.c); fill the vCPU's table
 *     cache (no MMU lock, tables are never allocated under it); take the
 *     read lock; if an
 *     invalidation started or finished since the snapshot, or covers the
 *     gfn, give up and retry; size the mapping (write tracking is read
 *     here, under the lock, and no huge leaf may cover a gfn being
 *     invalidated); map; unlock.  The lock mode comes from the
 *     fault-lock policy (mmu/fault_lock.h) and is passed down: a map that
 *     would replace a table where that mode may not (wrlock) backs off,
 *     and the next tries run in the policy's unlink mode (exclusive).
 *  3. a write to a write-tracked gfn is emulated (tdp_vcpu_emulate_write):
 *     the store goes to host memory under the read lock, after the same
 *     notifier check, so it cannot land in a frame a remap already copied.
 *
 * Every wait on the way (a retry against an invalidation in progress or a
 * slot being changed, the host-fault sleep, the MMU lock's sleep) is a
 * quiescent state: under rcu-qsbr a vCPU thread is online here, and an
 * online thread that waits stops every grace period for as long as the
 * wait lasts (tdp_wait_yield, reclaim/rcu_qsbr_thread.h).
 *
 * The staleness check and the map run under one read-lock hold, and
 * invalidations hold the write lock, so a mapping built from a stale host
 * frame is never installed (see mmu_notifier.h).
 */
#include <errno.h>

#include "base/inject.h"
#include "base/mutant.h"
#include "base/rcu_thread.h"
#include "mmu/tdp_root.h"
#include "vcpu/pre_fault.h"
#include "vm/vm_internal.h"

#define FAST_FAULT_TRIES 4

/*
 * Log @gfn for vCPU @v: into its dirty ring when the VM has rings, else
 * the slot's bitmap (ops/dirty_ring.h).  By gfn, in the array of the
 * moment: see the rules of tdp_host_mark_gfn_dirty.
 */
static void mark_dirty(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	if (tdp_dirty_ring_mark_gfn(v, v->vm, gfn))
		tdp_count(&v->vm->mmu.counters, TDPMMU_C_PAGES_LOGGED_DIRTY);
}

/*
 * Returns true when the fault is resolved without the MMU lock, with the
 * leaf's level in *level.  A leaf larger than @max_level (when given) is
 * left to the slow path, which splits it.  The memslot is looked up first
 * and held (memslot RCU) until the page is marked: a move or delete waits
 * for us before it zaps, and the mark lands in the slot's bitmap wherever
 * the slot goes (memslot.c).
 */
static bool fast_page_fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, int max_level,
			    int *level)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	const struct tdp_memslots *slots;
	const struct tdp_memslot *slot;
	bool fixed = false;
	struct tdp_iter it;

	tdp_rcu_read_lock();
	slots = rcu_dereference(v->vm->host.slots);
	tdp_tsan_acquire(slots);
	slot = tdp_host_find_slot(slots, gfn);
	/* The mutant mark-by-gfn does not hold the slot (docs/testing.md). */
	if (!slot || TDP_MUTANT(MARK_BY_GFN))
		tdp_rcu_read_unlock();
	if (!slot)
		return false; /* the slow path reports it */
	reclaim_lockless_begin(&mmu->reclaim);
	tdp_inject_delay(); /* inside walk protection, no lock */
	for (int tries = 0; tries < FAST_FAULT_TRIES && !fixed; tries++) {
		tdp_spte_t new;

		for_each_tdp_pte(it, &mmu->arena, v->root, gfn, gfn + 1) {
			if (spte_is_leaf(it.old_spte, it.level))
				break;
			if (spte_is_frozen(it.old_spte)) {
				tdp_count(&mmu->counters, TDPMMU_C_FROZEN_SEEN);
				break;
			}
		}
		if (!it.valid || it.gfn > gfn || !spte_is_leaf(it.old_spte, it.level) ||
		    (max_level && it.level > max_level))
			break;
		*level = it.level;
		if (tdp_access_allowed(it.old_spte, access)) {
			fixed = true; /* spurious: somebody fixed it already */
			tdp_count(&mmu->counters, TDPMMU_C_FAULTS_SPURIOUS);
			break;
		}
		if (!(access & TDPMMU_ACCESS_WRITE) || !spte_is_mmu_writable(it.old_spte) ||
		    !tdp_access_allowed(it.old_spte | SPTE_W, access))
			break;
		new = it.old_spte | SPTE_W | SPTE_DIRTY | SPTE_ACCESSED;
		if (atomic_compare_exchange_strong(it.sptep, &it.old_spte, new)) {
			tdp_count(&mmu->counters, TDPMMU_C_FAST_FAULTS_FIXED);
			tdp_count(&mmu->counters, TDPMMU_C_FAULTS_FIXED);
			tdp_inject_site(TDP_SITE_FAST_FIXED, gfn);
			/* W went 0 -> 1: a logging slot must report the page. */
			if (TDP_MUTANT(MARK_BY_GFN))
				mark_dirty(v, gfn); /* in whatever the array holds by now */
			else if (tdp_dirty_ring_mark_slot(v, slot, gfn))
				tdp_count(&mmu->counters, TDPMMU_C_PAGES_LOGGED_DIRTY);
			fixed = true;
		}
	}
	reclaim_lockless_end(&mmu->reclaim);
	if (!TDP_MUTANT(MARK_BY_GFN))
		tdp_rcu_read_unlock();
	return fixed;
}

/*
 * While a slot logs dirty pages, only a write maps writable (W is then
 * set, and the page marked, right away); a read leaves W clear but
 * MMU-writable, so the first write takes the fast path, which marks the
 * page.  KVM maps writable on a read too and marks the page at once; this
 * way a page is logged only when it can really be written.
 */
static unsigned leaf_flags(const struct tdp_host_frame *hf, unsigned access)
{
	unsigned flags = SPTE_MAKE_ACCESSED | SPTE_MAKE_EXEC;

	if (hf->writable) {
		flags |= SPTE_MAKE_HOST_WRITABLE | SPTE_MAKE_MMU_WRITABLE;
		if (!hf->dirty_logging || (access & TDPMMU_ACCESS_WRITE))
			flags |= SPTE_MAKE_WRITABLE;
	}
	if (access & TDPMMU_ACCESS_WRITE)
		flags |= SPTE_MAKE_DIRTY;
	return flags;
}

/*
 * Size and permissions of the mapping, MMU lock held in @mode: the host's limit,
 * write tracking (no huge leaf over a tracked gfn, a tracked gfn mapped
 * without W, MMU-writable and D), the caller's cap, then the NX
 * mitigation.  Tracking changes only under the write lock, so what this
 * sees holds until the map is done.  Returns true when @access is a write
 * to a tracked gfn, which the caller must emulate.
 */
static bool shape_fault(struct tdpmmu_vm *vm, struct tdp_fault *f, const struct tdp_host_frame *hf,
			unsigned access, int max_level, enum tdp_lock_mode mode)
{
	struct tdp_mmu *mmu = &vm->mmu;
	bool tracked = false;

	mmu_lock_assert_held(&mmu->lock, mode);
	f->goal_level = hf->max_level;
	f->spte_flags = leaf_flags(hf, access);
	if (unlikely(vm->track.gfns)) {
		f->goal_level = tdp_write_track_max_level(&vm->track, f->gfn, f->goal_level);
		tracked = tdp_write_tracked(&vm->track, f->gfn);
		if (tracked)
			f->spte_flags &=
				~(SPTE_MAKE_MMU_WRITABLE | SPTE_MAKE_WRITABLE | SPTE_MAKE_DIRTY);
	}
	if (max_level && max_level < f->goal_level)
		f->goal_level = max_level;
	/* No huge leaf over a range the host is changing (mmu_notifier.h). */
	f->goal_level = tdp_notifier_cap_level(&vm->notifier, mmu, f->gfn, f->goal_level);
	f->req_level = f->goal_level;
	f->access = access;
	f->huge_disallowed = mmu->nx_huge_pages && (access & TDPMMU_ACCESS_EXEC) &&
			     f->goal_level > TDP_LEVEL_4K;
	if (f->huge_disallowed) {
		f->goal_level = TDP_LEVEL_4K;
		tdp_count(&mmu->counters, TDPMMU_C_NX_SPLITS);
	}
	return tracked && (access & TDPMMU_ACCESS_WRITE);
}

/*
 * The host faults @gfn's page in if nobody has yet (host_fault.c): KVM's
 * kvm_faultin_pfn blocking in userfaultfd, before mmu_lock.  The first
 * fault on a host page sleeps the VM's host_fault_us; one that comes
 * while another sleeps for the same page waits for it.  No lock and no
 * RCU section is held meanwhile; under rcu-qsbr the thread is offline
 * while it sleeps, so grace periods do not wait for the host.
 */
static void host_fault_in(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	struct tdp_host *h = &v->vm->host;
	struct tdp_host_claim claim;
	enum tdp_host_fault st;

	/* It may sleep: never under the MMU lock, in either mode. */
	TDP_ASSERT(!mmu_lock_held_read(&v->vm->mmu.lock));
	while ((st = tdp_host_fault_begin(h, gfn, &claim)) != TDP_HOST_PRESENT) {
		bool offline = tdp_qsbr_quiescent_begin();

		if (st == TDP_HOST_CLAIMED) {
			tdp_count(&v->vm->mmu.counters, TDPMMU_C_HOST_FAULTS);
			tdp_host_fault_sleep(h, &claim);
			tdp_inject_site(TDP_SITE_HOST_FAULT_PAID, gfn);
			tdp_host_fault_end(h, &claim);
		} else {
			tdp_count(&v->vm->mmu.counters, TDPMMU_C_HOST_FAULT_WAITS);
			tdp_host_fault_wait(h, &claim);
		}
		tdp_qsbr_quiescent_end(offline);
	}
}

/* A slow-path step that did not finish the fault: take another try. */
#define FAULT_TRY_AGAIN 1

/* Tables first: running out must fail the fault before a root is made. */
static int prepare_fault(struct tdpmmu_vcpu *v)
{
	int r = tdp_page_cache_topup(&v->vm->mmu, &v->cache);

	return r ? r : tdp_vcpu_load_root(v);
}

/* The fast path fixed the fault (or found it fixed): say so in @res. */
static void report_fast_fault(struct tdpmmu_vcpu *v, uint64_t gfn, int level,
			      struct tdpmmu_fault_result *res)
{
	struct tdp_host_frame hf = { 0 };

	VCPU_STAT_ADD(v, faults_fast, 1);
	if (res && !tdp_host_lookup(&v->vm->host, gfn, &hf)) {
		res->level = level;
		res->pfn = hf.pfn;
		res->retries = 0;
		res->spurious = true;
	}
}

/* Racy early check: do not contend for a lock an invalidation holds. */
static bool invalidation_covers(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	if (!tdp_notifier_covers(&v->vm->notifier, gfn))
		return false;
	tdp_count(&v->vm->mmu.counters, TDPMMU_C_NOTIFIER_RETRIES);
	VCPU_STAT_ADD(v, notifier_retries, 1);
	tdp_wait_yield();
	return true;
}

/*
 * The root to map into and the host frame behind @gfn.  FAULT_TRY_AGAIN
 * while the slot is being deleted or moved; -EFAULT for a write to a
 * read-only frame.
 */
static int find_host_frame(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access,
			   struct tdp_host_frame *hf)
{
	int r;

	/* A fast zap since the last try: move to the new root first. */
	r = tdp_vcpu_load_root(v);
	if (r)
		return r;
	r = tdp_host_lookup(&v->vm->host, gfn, hf);
	if (r)
		return r;
	if (hf->invalid) {
		/* Being deleted or moved (KVM_MEMSLOT_INVALID): wait it out. */
		tdp_count(&v->vm->mmu.counters, TDPMMU_C_FAULT_RETRIES);
		tdp_wait_yield();
		return FAULT_TRY_AGAIN;
	}
	if ((access & TDPMMU_ACCESS_WRITE) && !hf->writable)
		return -EFAULT;
	return 0;
}

/*
 * The tables a map may need, then the window between the lookup and the
 * lock that tests widen: what was looked up (a frame, or no memslot) may
 * change meanwhile; the thread is "preempted".
 */
static int prepare_lock(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	int r = tdp_page_cache_topup(&v->vm->mmu, &v->cache);

	if (r)
		return r;
	tdp_qsbr_preempt_begin();
	tdp_inject_delay();
	tdp_qsbr_preempt_end();
	if (unlikely(tdp_inject_fault_hook))
		tdp_inject_fault_hook(gfn);
	return 0;
}

/* Everything that may sleep or allocate, before the lock. */
static int prepare_map(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	if (unlikely(v->vm->host.fault_ns))
		host_fault_in(v, gfn);
	return prepare_lock(v, gfn);
}

/*
 * With the MMU lock held in @mode: give up if the host frame may be stale
 * (an invalidation since @seq) or the root was invalidated; else size the
 * leaf and map it.  *emulate: a write to a tracked gfn (shape_fault).
 */
static enum tdp_map_result map_locked(struct tdpmmu_vcpu *v, uint64_t seq, struct tdp_fault *f,
				      const struct tdp_host_frame *hf, unsigned access,
				      int max_level, enum tdp_lock_mode mode, bool prefetch,
				      bool *emulate)
{
	struct tdpmmu_vm *vm = v->vm;
	struct tdp_mmu *mmu = &vm->mmu;
	/* The mutant pre-fault-no-retry trusts a pre-fault's snapshot (docs/testing.md). */
	bool check = !(prefetch && TDP_MUTANT(PRE_FAULT_NO_RETRY));

	mmu_lock_assert_held(&mmu->lock, mode);
	if (check && tdp_notifier_retry(&vm->notifier, seq, f->gfn)) {
		tdp_count(&mmu->counters, TDPMMU_C_NOTIFIER_RETRIES);
		VCPU_STAT_ADD(v, notifier_retries, 1);
		return TDP_MAP_RETRY;
	}
	/* Invalidated under the write lock: map nothing into it. */
	if (!tdp_root_is_valid(f->root))
		return TDP_MAP_RETRY;
	*emulate = shape_fault(vm, f, hf, access, max_level, mode);
	/* A pre-fault is no access: the leaf starts old, as KVM's prefetched SPTEs. */
	if (prefetch)
		f->spte_flags &= ~SPTE_MAKE_ACCESSED;
	/*
	 * Mark before the writable leaf can exist, under the MMU lock: a
	 * harvester that clears the bit and then takes the write lock to
	 * re-protect is sure to see the leaf.
	 */
	if (hf->dirty_logging && (f->spte_flags & SPTE_MAKE_WRITABLE))
		mark_dirty(v, f->gfn);
	return tdp_mmu_map(mmu, &v->cache, f, mode);
}

/* One locked attempt: lock in @mode, map, unlock. */
static enum tdp_map_result map_once(struct tdpmmu_vcpu *v, uint64_t seq, struct tdp_fault *f,
				    const struct tdp_host_frame *hf, unsigned access, int max_level,
				    enum tdp_lock_mode mode, bool prefetch, bool *emulate)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	enum tdp_map_result ret;

	tdp_mmu_lock_vcpu(mmu, mode);
	ret = map_locked(v, seq, f, hf, access, max_level, mode, prefetch, emulate);
	tdp_mmu_unlock_vcpu(mmu, mode);
	return ret;
}

/* The map would replace a table, which @mode may not: the next try takes the unlink mode. */
static enum tdp_lock_mode unlink_retry_mode(struct tdp_mmu *mmu)
{
	atomic_fetch_add_explicit(&mmu->reclaim.write_retries, 1, memory_order_relaxed);
	return tdp_mmu_unlink_mode(mmu);
}

/* The slow path is done: count it and say what happened in @res. */
static void report_slow_fault(struct tdp_mmu *mmu, enum tdp_map_result ret,
			      const struct tdp_fault *f, const struct tdp_host_frame *hf,
			      unsigned retries, struct tdpmmu_fault_result *res)
{
	tdp_count(&mmu->counters,
		  ret == TDP_MAP_SPURIOUS ? TDPMMU_C_FAULTS_SPURIOUS : TDPMMU_C_FAULTS_FIXED);
	if (res) {
		res->level = f->mapped_level;
		res->pfn = hf->pfn;
		res->retries = retries;
		res->spurious = ret == TDP_MAP_SPURIOUS;
	}
}

/*
 * No memslot maps @gfn and MMIO caching is on (KVM's
 * kvm_handle_noslot_fault, then the map's MMIO SPTE): install an MMIO
 * entry at 4K tagged with @gen, the generation read before the lookup
 * that found nothing (host.h), and only if, under the MMU lock, the
 * generation is still exactly @gen with no update in progress.  Every
 * publication sets the in-progress bit before its array is visible, so
 * then the lookup saw @gen's array, the entry is true when installed, and
 * a later update's wraparound zap (write lock, after this hold) finds it
 * in a root it invalidates.  KVM gets the same from one SRCU section over
 * the lookup and the install, which a wrapping update waits out before
 * it zaps; here the memslot RCU section ends with the lookup, and an
 * entry tagged before a wraparound could otherwise be installed into a
 * root made after its zap and match the generation 2^bits updates later.
 * If the generation changed by then, the fault starts over.  While an
 * update is in progress (the bit in @gen) nothing is cached: the lookup's
 * answer stands, since the array it read was the current one at that
 * moment, so the access exits as MMIO at once (KVM installs an entry
 * there tagged with the old generation, stale on arrival, and emulates).
 * Waiting for the update instead would hold the vCPU for the update's
 * grace period, which guest-mode readers stretch.  Under the lock in
 * @mode like a map; no notifier check, since
 * no host frame is involved (KVM's is_page_fault_stale checks the
 * invalidation sequence only with a slot); an invalidated root gets
 * nothing.  *ret: FIXED, SPURIOUS (the same entry, a leaf: a slot came
 * since, or nothing during an update) or RETRY.  -ENOMEM when no table can be had.
 */
static int mmio_fault(struct tdpmmu_vcpu *v, struct tdp_fault *f, uint64_t gfn, uint64_t gen,
		      enum tdp_lock_mode mode, enum tdp_map_result *ret)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	struct tdp_host *h = &v->vm->host;
	int r;

	memset(f, 0, sizeof(*f));
	if (gen & TDP_MEMSLOT_GEN_UPDATE_IN_PROGRESS) {
		/* The mutant mmio-wait-update waits the update out (docs/testing.md). */
		if (TDP_MUTANT(MMIO_WAIT_UPDATE)) {
			*ret = TDP_MAP_RETRY;
			tdp_wait_yield();
			return 0;
		}
		*ret = TDP_MAP_SPURIOUS; /* nothing mapped: an MMIO exit, no entry */
		return 0;
	}
	*ret = TDP_MAP_RETRY;
	r = prepare_lock(v, gfn); /* a memslot update may complete in its window */
	if (r)
		return r;
	/* The mutant mmio-gen-after-lookup reads it now (docs/testing.md). */
	if (TDP_MUTANT(MMIO_GEN_AFTER_LOOKUP))
		gen = tdp_host_generation(h);
	f->root = v->root;
	f->gfn = gfn;
	f->goal_level = f->req_level = TDP_LEVEL_4K;
	f->mmio = spte_make_mmio(gen & h->mmio_gen_mask);
	tdp_mmu_lock_vcpu(mmu, mode);
	/* The mutant mmio-no-recheck trusts a lookup an update overtook (docs/testing.md). */
	if (tdp_root_is_valid(f->root) &&
	    (tdp_host_generation(h) == gen || TDP_MUTANT(MMIO_NO_RECHECK)))
		*ret = tdp_mmu_map(mmu, &v->cache, f, mode);
	tdp_mmu_unlock_vcpu(mmu, mode);
	f->mmio = 0; /* a retry that finds a slot maps memory with @f */
	return 0;
}

/* TDPMMU_FAULT_MMIO when an MMIO entry stands, 0 when a leaf was found (retry the access). */
static int mmio_fault_done(const struct tdp_fault *f, unsigned retries,
			   struct tdpmmu_fault_result *res)
{
	bool leaf = spte_is_present(f->mapped);

	if (res) {
		memset(res, 0, sizeof(*res));
		res->retries = retries;
		res->spurious = leaf;
		res->level = leaf ? f->mapped_level : 0;
	}
	return leaf ? 0 : TDPMMU_FAULT_MMIO;
}

/*
 * The slow path: retry until a try maps (or finds the fault spurious).
 * Each try starts in the fault-lock policy's fault mode, or in its unlink
 * mode once a try found it must replace a table (wrlock).  @prefetch: a
 * pre-fault (pre_fault.c), which takes exactly this path.
 */
static int slow_page_fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, int max_level,
			   bool prefetch, struct tdpmmu_fault_result *res)
{
	struct tdp_mmu *mmu = &v->vm->mmu;
	enum tdp_lock_mode mode = tdp_mmu_fault_mode(mmu);
	enum tdp_map_result ret = TDP_MAP_RETRY;
	struct tdp_host_frame hf = { 0 };
	struct tdp_fault f = { 0 };
	unsigned retries = 0;
	bool emulate = false;
	int r;

	VCPU_STAT_ADD(v, faults_slow, 1);
	for (;; retries++) {
		uint64_t seq = tdp_notifier_snapshot(&v->vm->notifier);
		/* Before the lookup: an MMIO entry carries it (mmio_fault). */
		uint64_t gen = tdp_host_generation(&v->vm->host);

		if (retries)
			VCPU_STAT_ADD(v, fault_retries, 1);
		if (invalidation_covers(v, gfn))
			continue;
		r = find_host_frame(v, gfn, access, &hf);
		if (r == FAULT_TRY_AGAIN)
			continue;
		if (r == -ENOENT && v->vm->host.mmio_caching && !prefetch) {
			r = mmio_fault(v, &f, gfn, gen, mode, &ret);
			if (r || ret != TDP_MAP_RETRY)
				return r ? r : mmio_fault_done(&f, retries, res);
			tdp_count(&mmu->counters, TDPMMU_C_FAULT_RETRIES);
			continue;
		}
		if (r)
			return r;
		r = prepare_map(v, gfn);
		if (r)
			return r;
		f.root = v->root;
		f.gfn = gfn;
		f.pfn = hf.pfn;
		ret = map_once(v, seq, &f, &hf, access, max_level, mode, prefetch, &emulate);
		if (ret == TDP_MAP_NEED_WRITE) {
			mode = unlink_retry_mode(mmu);
			ret = TDP_MAP_RETRY;
		}
		if (ret != TDP_MAP_RETRY)
			break;
		tdp_count(&mmu->counters, TDPMMU_C_FAULT_RETRIES);
	}
	report_slow_fault(mmu, ret, &f, &hf, retries, res);
	return emulate ? TDPMMU_FAULT_EMULATE : 0;
}

int tdp_vcpu_handle_fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, int max_level,
			  bool present, struct tdpmmu_fault_result *res)
{
	int r, level;

	r = prepare_fault(v);
	if (r)
		return r;
	if (present && fast_page_fault(v, gfn, access, max_level, &level)) {
		report_fast_fault(v, gfn, level, res);
		return 0;
	}
	return slow_page_fault(v, gfn, access, max_level, false, res);
}

int tdp_vcpu_pre_fault_page(struct tdpmmu_vcpu *v, uint64_t gfn, struct tdpmmu_fault_result *res)
{
	int r = prepare_fault(v);

	return r ? r : slow_page_fault(v, gfn, TDPMMU_ACCESS_READ, 0, true, res);
}

int tdp_vcpu_emulate_write(struct tdpmmu_vcpu *v, uint64_t gpa, uint64_t value)
{
	struct tdpmmu_vm *vm = v->vm;
	uint64_t gfn = gpa >> TDP_PAGE_SHIFT;
	struct tdp_host_frame hf;
	bool done = false;

	while (!done) {
		uint64_t seq = tdp_notifier_snapshot(&vm->notifier);
		_Atomic uint64_t *word;
		int r;

		if (tdp_notifier_covers(&vm->notifier, gfn)) {
			tdp_wait_yield();
			continue;
		}
		r = tdp_host_lookup(&vm->host, gfn, &hf);
		if (r)
			return r;
		if (hf.invalid) {
			tdp_wait_yield();
			continue;
		}
		if (!hf.writable)
			return -EFAULT;
		tdp_mmu_lock_vcpu(&vm->mmu, TDP_SHARED);
		if (!tdp_notifier_retry(&vm->notifier, seq, gfn)) {
			word = tdp_host_word(&vm->host, hf.pfn, gpa);
			if (word) {
				atomic_store_explicit(word, value, memory_order_relaxed);
				tdp_host_mark_dirty(&vm->host, hf.pfn, 1);
			}
			if (hf.dirty_logging)
				mark_dirty(v, gfn);
			done = true;
		}
		tdp_mmu_unlock_vcpu(&vm->mmu, TDP_SHARED);
	}
	tdp_count(&vm->mmu.counters, TDPMMU_C_WRITES_EMULATED);
	return 0;
}

int tdpmmu_fault(struct tdpmmu_vcpu *vcpu, uint64_t gfn, unsigned access, int max_level,
		 struct tdpmmu_fault_result *res)
{
	const unsigned kinds = TDPMMU_ACCESS_READ | TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_EXEC;

	if (!vcpu || !(access & kinds) || (access & ~(kinds | TDPMMU_ACCESS_PRESENT)) ||
	    max_level < 0 || max_level > TDP_MAX_HUGE_LEVEL)
		return -EINVAL;
	if (gfn >= vcpu->vm->mmu.max_gfn)
		return -ERANGE;
	/* The thread's slot now: running out is an error, not a BUG later. */
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	/* A soft-full dirty ring: no fault (no push) until a reset made room. */
	if (tdp_dirty_ring_soft_full_exit(vcpu))
		return -ENOSPC;
	return tdp_vcpu_handle_fault(vcpu, gfn, access & kinds, max_level,
				     access & TDPMMU_ACCESS_PRESENT, res);
}
