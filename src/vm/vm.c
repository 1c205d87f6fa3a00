/*
 * vm.c - the public API around a VM: an MMU, host memory with its MMU
 * notifier, and vCPUs.  The fault path is in vcpu_fault.c, guest mode and
 * the hardware walker in vcpu_run.c, the remote TLB flush in tlb_flush.c.
 *
 * Concurrency: vCPUs are added and removed under vcpus_mutex, which the
 * remote flush also holds while it walks them, so a vCPU never disappears
 * under a flusher.  Zaps and the audit take the MMU lock for write; the
 * notifier calls take what mmu_notifier.h says; lookups, host reads and
 * statistics take no lock (walk protection, memslot RCU, atomic loads of
 * values others write).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/latency.h"
#include "ops/nx_recovery.h"
#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"
#include "base/lock_rank.h"

/* calloc for types that ask for cache-line alignment. */
static void *zalloc_aligned(size_t size)
{
	size_t rounded = (size + TDP_CACHELINE - 1) & ~(size_t)(TDP_CACHELINE - 1);
	void *p = aligned_alloc(TDP_CACHELINE, rounded);

	if (p)
		memset(p, 0, size);
	return p;
}

void tdpmmu_vm_config_init(struct tdpmmu_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->levels = 4;
	cfg->max_tables = 1ull << 20;
	cfg->nx_recovery_period_ms = 1000;
	cfg->nx_recovery_ratio = 60;
	cfg->strategy = TDPMMU_STRATEGY_RCU;
	cfg->drain_delay_ms = 1000;
	cfg->preempt = TDPMMU_PREEMPT_VOLUNTARY;
	cfg->pages = TDPMMU_PAGES_COUNT;
	cfg->mmio_caching = true; /* KVM's enable_mmio_caching */
	cfg->dirty_mode = TDPMMU_DIRTY_WRPROT;
}

uint64_t tdpmmu_payload_bytes_for(uint64_t npages, unsigned nslots)
{
	/* Per slot: the round-up to 1 GiB and the base gfn's offset in it, each < 1 GiB. */
	return (npages + 2 * (uint64_t)nslots * tdp_pages_per_level(TDP_LEVEL_1G)) * 4096;
}

int tdpmmu_vm_create(const struct tdpmmu_vm_config *cfg, struct tdpmmu_vm **out)
{
	struct tdpmmu_vm *vm;
	int r;

	if (!cfg || !out || (cfg->levels != 4 && cfg->levels != 5) || cfg->max_tables < 2 ||
	    (unsigned)cfg->strategy >= TDPMMU_NR_STRATEGIES ||
	    (unsigned)cfg->preempt >= TDPMMU_NR_PREEMPT ||
	    (unsigned)cfg->pages >= TDPMMU_NR_PAGES_MODES ||
	    (unsigned)cfg->dirty_mode >= TDPMMU_NR_DIRTY_MODES ||
	    cfg->host_fault_us > TDPMMU_MAX_HOST_FAULT_US ||
	    cfg->mmio_gen_bits > TDP_MMIO_GEN_BITS_MAX)
		return -EINVAL;
	vm = zalloc_aligned(sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	r = tdp_mmu_init(&vm->mmu, (int)cfg->levels, cfg->max_tables, cfg->strategy,
			 cfg->drain_delay_ms, tdp_vm_flush_remote_tlbs, vm);
	if (r)
		goto err_free;
	r = mmu_lock_set_preempt(&vm->mmu.lock, cfg->preempt, MMU_LOCK_SLICE_NS);
	if (!r)
		r = tdp_pages_set_mode(&vm->mmu.pages, cfg->pages);
	if (r)
		goto err_mmu;
	r = tdp_host_init(&vm->host, vm->mmu.max_gfn, cfg->payload_bytes);
	if (r)
		goto err_mmu;
	vm->host.fault_ns = (uint64_t)cfg->host_fault_us * 1000; /* before any memslot */
	vm->host.fault_handlers = cfg->host_fault_handlers;
	tdp_vm_mmio_init(vm, cfg->mmio_caching, cfg->mmio_gen_bits); /* memslot.c */
	tdp_notifier_init(&vm->notifier);
	vm->mmu.dirty = tdp_host_mark_dirty;
	vm->mmu.dirty_ctx = &vm->host;
	vm->user_flush = cfg->flush_tlbs;
	vm->user_flush_ctx = cfg->flush_ctx;
	vm->dirty_mode = cfg->dirty_mode;
	vm->pml_cap = TDP_PML_ENTRIES;
	pthread_mutex_init(&vm->vcpus_mutex, NULL);
	vm->mmu.nx_huge_pages = cfg->nx_huge_pages;
	vm->nx_period_ms = cfg->nx_recovery_period_ms;
	vm->nx_ratio = cfg->nx_recovery_ratio;
	pthread_mutex_init(&vm->nx_mutex, NULL);
	pthread_cond_init(&vm->nx_cond, NULL);
	r = tdp_nx_worker_start(vm);
	if (r)
		goto err_host;
	*out = vm;
	return 0;
err_host:
	pthread_cond_destroy(&vm->nx_cond);
	pthread_mutex_destroy(&vm->nx_mutex);
	pthread_mutex_destroy(&vm->vcpus_mutex);
	tdp_host_destroy(&vm->host);
err_mmu:
	tdp_mmu_destroy(&vm->mmu);
err_free:
	free(vm);
	return r;
}

void tdpmmu_vm_destroy(struct tdpmmu_vm *vm)
{
	if (!vm)
		return;
	/* Cannot fail: wait for a thread slot if none is free (thread_slot.h). */
	tdp_thread_slot_wait();
	tdp_nx_worker_stop(vm);
	while (vm->nr_vcpus)
		tdpmmu_vcpu_destroy(vm->vcpus[vm->nr_vcpus - 1]);
	tdp_mmu_destroy(&vm->mmu);
	tdp_host_destroy(&vm->host);
	tdp_write_track_destroy(&vm->track);
	pthread_cond_destroy(&vm->nx_cond);
	pthread_mutex_destroy(&vm->nx_mutex);
	pthread_mutex_destroy(&vm->vcpus_mutex);
	free(vm);
}

struct tdp_mmu *tdp_vm_mmu(struct tdpmmu_vm *vm)
{
	return &vm->mmu;
}

uint64_t tdpmmu_vm_max_gfn(const struct tdpmmu_vm *vm)
{
	return vm->mmu.max_gfn;
}

int tdpmmu_host_pfn(struct tdpmmu_vm *vm, uint64_t gfn, uint64_t *pfn)
{
	struct tdp_host_frame f;
	int r = tdp_host_lookup(&vm->host, gfn, &f);

	if (!r)
		*pfn = f.pfn;
	return r;
}

int tdpmmu_vcpu_create(struct tdpmmu_vm *vm, struct tdpmmu_vcpu **out)
{
	struct tdpmmu_vcpu *v;

	if (!vm || !out)
		return -EINVAL;
	v = zalloc_aligned(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	atomic_init(&v->mode, OUTSIDE_GUEST_MODE);
	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	if (vm->nr_vcpus == TDP_MAX_VCPUS) {
		tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
		free(v);
		return -ENOSPC;
	}
	/* Under vcpus_mutex: the ring size is fixed before the first vCPU (dirty_ring.c). */
	if (tdp_dirty_ring_vcpu_init(v)) {
		tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
		free(v);
		return -ENOMEM;
	}
	v->index = vm->nr_vcpus;
	vm->vcpus[vm->nr_vcpus++] = v;
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	*out = v;
	return 0;
}

void tdpmmu_vcpu_destroy(struct tdpmmu_vcpu *vcpu)
{
	struct tdpmmu_vm *vm;

	if (!vcpu)
		return;
	/* Cannot fail: wait for a thread slot if none is free (thread_slot.h). */
	tdp_thread_slot_wait();
	vm = vcpu->vm;
	/* Under vcpus_mutex: no flusher is looking at this vCPU any more. */
	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	vm->vcpus[vcpu->index] = vm->vcpus[--vm->nr_vcpus];
	vm->vcpus[vcpu->index]->index = vcpu->index;
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	if (vcpu->root) {
		tdp_mmu_lock(&vm->mmu, TDP_SHARED);
		tdp_root_put(&vm->mmu, vcpu->root, TDP_SHARED);
		tdp_mmu_unlock(&vm->mmu, TDP_SHARED);
	}
	tdp_page_cache_release(&vm->mmu, &vcpu->cache);
	tdp_dirty_ring_vcpu_free(vcpu);
	free(vcpu);
}

int tdpmmu_zap_range(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	struct tdp_mmu *mmu = &vm->mmu;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (start >= end)
		return -EINVAL;
	if (end > mmu->max_gfn)
		return -ERANGE;
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	if (tdp_mmu_zap_leafs(mmu, start, end, true, false))
		tdp_flush_remote_tlbs(mmu, start, 0);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return 0;
}

int tdpmmu_zap_all(struct tdpmmu_vm *vm)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	tdp_mmu_zap_all(&vm->mmu);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	return 0;
}

/*
 * KVM's kvm_mmu_zap_all_fast.  Under the write lock: invalidate every root
 * (no fault maps into one after this, see tdp_root.h) and make every vCPU
 * reload, waiting until none is still in guest mode on an old root.  Then,
 * under the read lock, concurrently with faults on the new roots, zap the
 * invalidated roots and drop the MMU's references.  fast_zap_mutex
 * (KVM's slots_lock) keeps two fast zaps from sharing the scheduled roots.
 */
int tdpmmu_zap_all_fast(struct tdpmmu_vm *vm)
{
	struct tdp_mmu *mmu = &vm->mmu;
	enum tdp_lock_mode unlink = tdp_mmu_unlink_mode(mmu);

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	tdp_mutex_lock(&mmu->fast_zap_mutex, TDP_RANK_FAST_ZAP);
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	tdp_roots_invalidate_all(mmu);
	tdp_vm_request_all(vm, TDP_REQ_ROOT_RELOAD);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	tdp_mmu_lock(mmu, unlink);
	tdp_roots_zap_invalidated(mmu, unlink);
	tdp_mmu_unlock(mmu, unlink);
	tdp_mutex_unlock(&mmu->fast_zap_mutex, TDP_RANK_FAST_ZAP);
	tdp_count(&mmu->counters, TDPMMU_C_FAST_ZAPS);
	return 0;
}

int tdpmmu_vcpu_set_smm(struct tdpmmu_vcpu *vcpu, bool smm)
{
	if (!vcpu)
		return -EINVAL;
	/* The vCPU's own thread: the next entry or fault loads the other root. */
	vcpu->smm = smm;
	return 0;
}

void tdpmmu_root_stats_read(struct tdpmmu_vm *vm, struct tdpmmu_root_stats *out)
{
	struct tdp_mmu *mmu = &vm->mmu;
	struct tdp_page *root;

	/* Cannot fail: wait for a thread slot if none is free (thread_slot.h). */
	tdp_thread_slot_wait();
	memset(out, 0, sizeof(*out));
	reclaim_lockless_begin(&mmu->reclaim);
	for_each_tdp_root_lockless(mmu, root) {
		if (tdp_root_is_valid(root))
			out->valid++;
		else
			out->invalid++;
	}
	reclaim_lockless_end(&mmu->reclaim);
	out->allocated = (uint64_t)tdp_counter_read(&mmu->counters, TDPMMU_C_ROOTS_ALLOCATED);
}

int tdpmmu_lookup(struct tdpmmu_vm *vm, uint64_t gfn, struct tdpmmu_mapping *out)
{
	tdp_spte_t leaf = 0;
	int level;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!out)
		return -EINVAL;
	if (gfn >= vm->mmu.max_gfn)
		return -ERANGE;
	memset(out, 0, sizeof(*out));
	level = tdp_mmu_lookup(&vm->mmu, TDP_ROLE_NORMAL, gfn, &leaf);
	if (level) {
		out->present = true;
		out->level = level;
		out->spte = leaf;
		out->pfn = spte_pfn(leaf) + (gfn - tdp_align_gfn(gfn, level));
	}
	return 0;
}

/* A leaf is right when every frame it maps is the host frame of that gfn. */
static bool leaf_matches_host(void *ctx, uint64_t gfn, int level, tdp_spte_t leaf)
{
	struct tdpmmu_vm *vm = ctx;

	if (spte_is_mmio(leaf))
		return tdp_vm_mmio_entry_ok(vm, gfn, level, leaf); /* memslot.c */
	uint64_t last = gfn + tdp_pages_per_level(level) - 1, pfn_first, pfn_last;

	if (tdpmmu_host_pfn(vm, gfn, &pfn_first) || tdpmmu_host_pfn(vm, last, &pfn_last))
		return false;
	return pfn_first == spte_pfn(leaf) && pfn_last == spte_pfn(leaf) + (last - gfn);
}

/*
 * The PML gate (vcpu/pml.h) counts exactly the slots that log in D-bit
 * mode: enable, disable and a delete change both under slots_lock, so
 * under it they agree.  Taken alone, after the MMU audit (no MMU lock).
 */
static int audit_pml_slots(struct tdpmmu_vm *vm)
{
	const struct tdp_memslots *s;
	int logging = 0, counted;

	tdp_host_lock(&vm->host);
	s = vm->host.slots;
	for (int i = 0; i < s->nr; i++)
		logging += (s->slots[i].log_flags & TDP_SLOT_LOGGING) != 0;
	counted = atomic_load(&vm->pml_slots);
	tdp_host_unlock(&vm->host);
	if (vm->dirty_mode != TDPMMU_DIRTY_DBIT)
		logging = 0;
	if (counted == logging)
		return 0;
	fprintf(stderr, "audit: the PML gate counts %d slots logging by D bit, the memslots %d\n",
		counted, logging);
	return 1;
}

int tdp_audit(struct tdpmmu_vm *vm)
{
	int bad = tdp_mmu_audit(&vm->mmu, leaf_matches_host, vm, NULL);

	return bad + audit_pml_slots(vm);
}

void tdpmmu_counters_read(const struct tdpmmu_vm *vm, int64_t out[TDPMMU_NR_COUNTERS])
{
	tdp_counters_read_all(&vm->mmu.counters, out);
}

const char *tdpmmu_counter_name(enum tdpmmu_counter c)
{
	return tdp_counter_name(c);
}

void tdpmmu_lock_stats_read(const struct tdpmmu_vm *vm, struct tdpmmu_lock_stats *out)
{
	mmu_lock_read_stats(&vm->mmu.lock, out);
}

void tdpmmu_reclaim_stats_read(const struct tdpmmu_vm *vm, struct tdpmmu_reclaim_stats *out)
{
	/* Only atomics are read: the const is dropped for the shared helper. */
	reclaim_read_stats((struct tdp_reclaim *)&vm->mmu.reclaim, out);
}

int tdp_hold_walk(struct tdpmmu_vm *vm, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	struct tdp_mmu *mmu;

	if (!vm)
		return -EINVAL;
	mmu = &vm->mmu;
	tdp_mmu_lock(mmu, TDP_SHARED);
	reclaim_walk_begin(&mmu->reclaim);
	/* Preempted mid-walk: asleep, holding everything a walker holds. */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	reclaim_walk_end(&mmu->reclaim);
	tdp_mmu_unlock(mmu, TDP_SHARED);
	return 0;
}

bool tdpmmu_rcu_membarrier_active(void)
{
	return tdp_rcu_membarrier_active();
}

int tdpmmu_invalidate_begin(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return tdp_notifier_begin(&vm->notifier, &vm->mmu, start, end);
}

int tdpmmu_invalidate_end(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	return tdp_notifier_end(&vm->notifier, &vm->mmu, start, end);
}

int tdpmmu_host_read(struct tdpmmu_vm *vm, uint64_t gpa, uint64_t *value)
{
	struct tdp_host_frame hf;
	int r;

	if (!value || (gpa & 7))
		return -EINVAL;
	if ((gpa >> TDP_PAGE_SHIFT) >= vm->mmu.max_gfn)
		return -ERANGE;
	if (!vm->host.payload)
		return -ENODEV;
	r = tdp_host_lookup(&vm->host, gpa >> TDP_PAGE_SHIFT, &hf);
	if (r)
		return r;
	*value = atomic_load_explicit(tdp_host_word(&vm->host, hf.pfn, gpa), memory_order_relaxed);
	return 0;
}

/* The frame now backing @gfn, for the real-backing host queries. */
static int payload_frame(struct tdpmmu_vm *vm, uint64_t gfn, struct tdp_host_frame *hf)
{
	if (gfn >= vm->mmu.max_gfn)
		return -ERANGE;
	if (!vm->host.payload)
		return -ENODEV;
	return tdp_host_lookup(&vm->host, gfn, hf);
}

int tdpmmu_host_dirty(struct tdpmmu_vm *vm, uint64_t gfn, bool *dirty)
{
	struct tdp_host_frame hf;
	int r;

	if (!dirty)
		return -EINVAL;
	r = payload_frame(vm, gfn, &hf);
	if (!r)
		*dirty = tdp_host_frame_dirty(&vm->host, hf.pfn);
	return r;
}

int tdpmmu_host_writeback(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdp_host_frame hf;
	int r;

	if (!vm)
		return -EINVAL;
	r = payload_frame(vm, gfn, &hf);
	if (!r)
		tdp_host_clean_frame(&vm->host, hf.pfn);
	return r;
}

void tdpmmu_fault_latency_read(struct tdpmmu_vm *vm, struct tdpmmu_latency *out)
{
	uint64_t hist[TDPMMU_LATENCY_BUCKETS] = { 0 };
	struct tdpmmu_vcpu_stats st;

	memset(out, 0, sizeof(*out));
	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		tdpmmu_vcpu_stats_read(vm->vcpus[i], &st);
		for (unsigned b = 0; b < TDPMMU_LATENCY_BUCKETS; b++) {
			hist[b] += st.latency[b];
			out->count += st.latency[b];
		}
		if (st.latency_max_ns > out->max_ns)
			out->max_ns = st.latency_max_ns;
	}
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	out->p50_ns =
		latency_percentile(hist, TDPMMU_LATENCY_BUCKETS, out->count, 500, out->max_ns);
	out->p99_ns =
		latency_percentile(hist, TDPMMU_LATENCY_BUCKETS, out->count, 990, out->max_ns);
	out->p999_ns =
		latency_percentile(hist, TDPMMU_LATENCY_BUCKETS, out->count, 999, out->max_ns);
}
