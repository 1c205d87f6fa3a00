/*
 * tlb_audit.c - no vCPU's TLB grants more than the tables do
 * (tdp_audit_tlbs, tdpmmu_audit_tlbs in tdpmmu/testing.h; invariant 17 of docs/testing.md).
 *
 * Every path that takes a permission away from a leaf (W, X, the leaf
 * itself, or its frame) flushes remote TLBs before its caller relies on
 * the change: before the write lock is dropped (write protection, zaps),
 * before a yield (passes under the read lock), or before the call
 * returns (dirty-log harvest and enable).  So at a point where no such
 * call is in flight, every translation a vCPU has cached must be allowed
 * by the leaves that map its range now: same frame, W only where the leaf
 * has W, X only where it has X, and (D-bit logging) a writable entry
 * caches Dirty over a 4K leaf only where the leaf has it.  Splitting a huge leaf keeps its frames
 * and bits, so a 2M entry may stand over 4K leaves; each is checked.
 *
 * Concurrency: the caller guarantees no thread runs one of this VM's
 * vCPUs (they are parked or joined, with a happens-before edge to us: a
 * mutex, a barrier, a join), so their TLBs hold still and are safe to
 * read.  The write lock keeps the tables apart from hardware A/D bits and
 * lets any read-side pass that flushes before unlocking (NX recovery,
 * huge-page recovery) finish first; the vCPU array is read under
 * vcpus_mutex, taken inside the MMU lock as flushers do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"
#include "base/lock_rank.h"

static int report(const struct tdpmmu_vcpu *v, uint64_t gfn, int level, tdp_spte_t cached,
		  const char *what, uint64_t leaf_gfn, int leaf_level, tdp_spte_t leaf)
{
	fprintf(stderr,
		"tlb audit: vCPU %d caches gfn 0x%" PRIx64 " level %d entry 0x%016" PRIx64
		" (frame 0x%" PRIx64 ") %s: leaf at gfn 0x%" PRIx64 " level %d is 0x%016" PRIx64
		" (frame 0x%" PRIx64 ")\n",
		v->index, gfn, level, cached, spte_pfn(cached), what, leaf_gfn, leaf_level, leaf,
		spte_pfn(leaf));
	return 1;
}

/* Check one cached translation against the leaves of @v's root over its range. */
static int audit_entry(struct tdp_mmu *mmu, const struct tdpmmu_vcpu *v, uint64_t gfn, int level,
		       tdp_spte_t cached, bool dbit)
{
	uint64_t end = gfn + tdp_pages_per_level(level), covered = 0, hole = UINT64_MAX;
	struct tdp_iter it;
	int bad = 0;

	for_each_tdp_pte(it, &mmu->arena, v->root, gfn, end) {
		uint64_t lo, hi;
		tdp_spte_t leaf = it.old_spte;

		if (!spte_is_leaf(leaf, it.level)) {
			if (!spte_is_present(leaf) && hole == UINT64_MAX)
				hole = it.gfn > gfn ? it.gfn : gfn; /* the first, for the report */
			continue;
		}
		lo = it.gfn > gfn ? it.gfn : gfn;
		hi = it.gfn + tdp_pages_per_level(it.level);
		hi = hi < end ? hi : end;
		covered += hi - lo;
		/* The frame of gfn @lo through the cached entry and through the leaf. */
		if (spte_pfn(cached) + (lo - gfn) != spte_pfn(leaf) + (lo - it.gfn))
			bad += report(v, gfn, level, cached, "maps another frame", it.gfn, it.level,
				      leaf);
		else if ((cached & SPTE_W) && !(leaf & SPTE_W))
			bad += report(v, gfn, level, cached, "grants W", it.gfn, it.level, leaf);
		else if ((cached & SPTE_X) && !(leaf & SPTE_X))
			bad += report(v, gfn, level, cached, "grants X", it.gfn, it.level, leaf);
		/*
		 * D-bit logging: a writable entry caching D over a 4K leaf whose D
		 * was cleared lets writes through unlogged; the clear must flush.
		 */
		else if (dbit && it.level == TDP_LEVEL_4K && (cached & SPTE_W) &&
			 (cached & SPTE_DIRTY) && !(leaf & SPTE_DIRTY))
			bad += report(v, gfn, level, cached, "caches Dirty over a clean leaf",
				      it.gfn, it.level, leaf);
	}
	if (covered != end - gfn)
		bad += report(v, gfn, level, cached, "maps pages that no leaf maps", hole,
			      TDP_LEVEL_4K, 0);
	return bad;
}

static int audit_tlb(struct tdp_mmu *mmu, const struct tdpmmu_vcpu *v, bool dbit)
{
	static const struct {
		int level, n;
		size_t offset;
	} arrays[] = {
		{ TDP_LEVEL_4K, TLB_SETS_4K, offsetof(struct tdp_tlb, e4k) },
		{ TDP_LEVEL_2M, TLB_SETS_2M, offsetof(struct tdp_tlb, e2m) },
		{ TDP_LEVEL_1G, TLB_SETS_1G, offsetof(struct tdp_tlb, e1g) },
	};
	int bad = 0;

	/*
	 * A flush requested and not yet handled (a vCPU outside guest mode is
	 * not kicked: it empties its TLB when it next enters), no root, or one
	 * it must reload (which empties its TLB too): nothing it caches can
	 * be used again.
	 */
	if ((atomic_load(&v->requests) & TDP_REQ_TLB_FLUSH) || !v->root ||
	    !tdp_root_is_valid(v->root) || v->root->root_role != (unsigned)v->smm)
		return 0;
	for (size_t a = 0; a < sizeof(arrays) / sizeof(arrays[0]); a++) {
		const struct tdp_tlb_entry *e =
			(const struct tdp_tlb_entry *)((const char *)&v->tlb + arrays[a].offset);

		for (int i = 0; i < arrays[a].n; i++)
			if (e[i].tag)
				bad += audit_entry(mmu, v, e[i].tag - 1, arrays[a].level, e[i].spte,
						   dbit);
	}
	return bad;
}

int tdp_audit_tlbs(struct tdpmmu_vm *vm)
{
	struct tdp_mmu *mmu;
	int bad = 0;

	if (!vm)
		return -EINVAL;
	mmu = &vm->mmu;
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	tdp_mutex_lock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	for (int i = 0; i < vm->nr_vcpus; i++)
		bad += audit_tlb(mmu, vm->vcpus[i], vm->dirty_mode == TDPMMU_DIRTY_DBIT);
	tdp_mutex_unlock(&vm->vcpus_mutex, TDP_RANK_VCPUS);
	reclaim_walk_end(&mmu->reclaim);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return bad;
}
