/*
 * vm.c - the public API: a VM is an MMU plus host memory plus vCPUs.
 *
 * The fault path reads top to bottom: look up the host frame (no MMU
 * lock), fill the vCPU's table cache (no MMU lock: tables are never
 * allocated under it), take the read lock, map, release, and start over
 * while the map step asks for a retry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "tdp_mmu.h"
#include "tdpmmu/tdpmmu.h"
#include "vm_internal.h"

struct tdpmmu_vm {
	struct tdp_mmu mmu;
	struct tdp_host host;
	pthread_mutex_t vcpus_mutex;
	struct tdpmmu_vcpu *vcpus;
};

/* Each vCPU on cache lines of its own: its table cache is written on faults. */
struct tdpmmu_vcpu {
	struct tdpmmu_vm *vm;
	struct tdp_page_cache cache;
	struct tdpmmu_vcpu *next;
} __cacheline_aligned;

/* calloc for types that ask for cache-line alignment. */
static void *zalloc_aligned(size_t size)
{
	void *p = aligned_alloc(TDP_CACHELINE, (size + TDP_CACHELINE - 1) & ~(size_t)(TDP_CACHELINE - 1));

	if (p)
		memset(p, 0, size);
	return p;
}

void tdpmmu_vm_config_init(struct tdpmmu_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->levels = 4;
	cfg->max_tables = 1ull << 20;
}

int tdpmmu_vm_create(const struct tdpmmu_vm_config *cfg, struct tdpmmu_vm **out)
{
	struct tdpmmu_vm *vm;
	int r;

	if (!cfg || !out || (cfg->levels != 4 && cfg->levels != 5) || cfg->max_tables < 2)
		return -EINVAL;
	vm = zalloc_aligned(sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	r = tdp_mmu_init(&vm->mmu, (int)cfg->levels, cfg->max_tables, cfg->flush_tlbs,
			 cfg->flush_ctx);
	if (r)
		goto err_free;
	r = tdp_host_init(&vm->host, vm->mmu.max_gfn);
	if (r)
		goto err_mmu;
	pthread_mutex_init(&vm->vcpus_mutex, NULL);
	*out = vm;
	return 0;
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
	while (vm->vcpus)
		tdpmmu_vcpu_destroy(vm->vcpus);
	tdp_mmu_destroy(&vm->mmu);
	tdp_host_destroy(&vm->host);
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

int tdpmmu_memslot_add(struct tdpmmu_vm *vm, const struct tdpmmu_memslot *slot)
{
	return tdp_host_add_slot(&vm->host, slot);
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
	pthread_mutex_lock(&vm->vcpus_mutex);
	v->next = vm->vcpus;
	vm->vcpus = v;
	pthread_mutex_unlock(&vm->vcpus_mutex);
	*out = v;
	return 0;
}

void tdpmmu_vcpu_destroy(struct tdpmmu_vcpu *vcpu)
{
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu **pp;

	if (!vcpu)
		return;
	vm = vcpu->vm;
	pthread_mutex_lock(&vm->vcpus_mutex);
	for (pp = &vm->vcpus; *pp != vcpu; pp = &(*pp)->next)
		;
	*pp = vcpu->next;
	pthread_mutex_unlock(&vm->vcpus_mutex);
	tdp_page_cache_release(&vm->mmu, &vcpu->cache);
	free(vcpu);
}

static unsigned leaf_flags(const struct tdp_host_frame *hf, unsigned access)
{
	unsigned flags = SPTE_MAKE_ACCESSED | SPTE_MAKE_EXEC;

	if (hf->writable)
		flags |= SPTE_MAKE_HOST_WRITABLE | SPTE_MAKE_WRITABLE;
	if (access & TDPMMU_ACCESS_WRITE)
		flags |= SPTE_MAKE_DIRTY;
	return flags;
}

int tdpmmu_fault(struct tdpmmu_vcpu *vcpu, uint64_t gfn, unsigned access, int max_level,
		 struct tdpmmu_fault_result *res)
{
	struct tdp_mmu *mmu = &vcpu->vm->mmu;
	struct tdp_host_frame hf;
	struct tdp_fault f;
	enum tdp_map_result ret;
	unsigned retries = 0;
	int r;

	if (!access || (access & ~(TDPMMU_ACCESS_READ | TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_EXEC)) ||
	    max_level < 0 || max_level > TDP_MAX_HUGE_LEVEL)
		return -EINVAL;
	if (gfn >= mmu->max_gfn)
		return -ERANGE;
	for (;;) {
		r = tdp_host_lookup(&vcpu->vm->host, gfn, &hf);
		if (r)
			return r;
		if ((access & TDPMMU_ACCESS_WRITE) && !hf.writable)
			return -EFAULT;
		r = tdp_page_cache_topup(mmu, &vcpu->cache);
		if (r)
			return r;

		f.gfn = gfn;
		f.pfn = hf.pfn;
		f.goal_level = hf.max_level;
		if (max_level && max_level < f.goal_level)
			f.goal_level = max_level;
		f.spte_flags = leaf_flags(&hf, access);

		tdp_mmu_lock(mmu, TDP_SHARED);
		ret = tdp_mmu_map(mmu, &vcpu->cache, &f, TDP_SHARED);
		tdp_mmu_unlock(mmu, TDP_SHARED);
		if (ret != TDP_MAP_RETRY)
			break;
		retries++;
		tdp_count(&mmu->counters, TDPMMU_C_FAULT_RETRIES);
	}
	tdp_count(&mmu->counters,
		  ret == TDP_MAP_SPURIOUS ? TDPMMU_C_FAULTS_SPURIOUS : TDPMMU_C_FAULTS_FIXED);
	if (res) {
		res->level = f.mapped_level;
		res->pfn = hf.pfn;
		res->retries = retries;
		res->spurious = ret == TDP_MAP_SPURIOUS;
	}
	return 0;
}

int tdpmmu_zap_range(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	struct tdp_mmu *mmu = &vm->mmu;

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
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	tdp_mmu_zap_all(&vm->mmu);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	return 0;
}

int tdpmmu_lookup(struct tdpmmu_vm *vm, uint64_t gfn, struct tdpmmu_mapping *out)
{
	tdp_spte_t leaf = 0;
	int level;

	if (!out)
		return -EINVAL;
	if (gfn >= vm->mmu.max_gfn)
		return -ERANGE;
	memset(out, 0, sizeof(*out));
	level = tdp_mmu_lookup(&vm->mmu, gfn, &leaf);
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
	uint64_t last = gfn + tdp_pages_per_level(level) - 1, pfn_first, pfn_last;

	if (tdpmmu_host_pfn(vm, gfn, &pfn_first) || tdpmmu_host_pfn(vm, last, &pfn_last))
		return false;
	return pfn_first == spte_pfn(leaf) && pfn_last == spte_pfn(leaf) + (last - gfn);
}

int tdpmmu_audit(struct tdpmmu_vm *vm)
{
	return tdp_mmu_audit(&vm->mmu, leaf_matches_host, vm, NULL);
}

void tdpmmu_read_counters(const struct tdpmmu_vm *vm, int64_t out[TDPMMU_NR_COUNTERS])
{
	tdp_counters_read_all(&vm->mmu.counters, out);
}

const char *tdpmmu_counter_name(enum tdpmmu_counter c)
{
	return tdp_counter_name(c);
}

void tdpmmu_read_lock_stats(const struct tdpmmu_vm *vm, struct tdpmmu_lock_stats *out)
{
	mmu_lock_read_stats(&vm->mmu.lock, out);
}

bool tdpmmu_rcu_membarrier_active(void)
{
	return tdp_rcu_membarrier_active();
}
