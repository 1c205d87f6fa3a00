/*
 * mmu_notifier.c - invalidate begin/end (protocol and concurrency in
 * mmu_notifier.h).
 */
#include <errno.h>
#include <stdint.h>

#include "host/mmu_notifier.h"

void tdp_notifier_init(struct tdp_notifier *n)
{
	atomic_init(&n->seq, 0);
	atomic_init(&n->in_progress, 0);
	atomic_init(&n->range_start, 0);
	atomic_init(&n->range_end, 0);
}

/* Make [range_start, range_end) the union of the first @nr ranges. */
static void update_union(struct tdp_notifier *n, int64_t nr)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int64_t i = 0; i < nr; i++) {
		if (n->starts[i] < lo)
			lo = n->starts[i];
		if (n->ends[i] > hi)
			hi = n->ends[i];
	}
	atomic_store_explicit(&n->range_start, nr ? lo : 0, memory_order_relaxed);
	atomic_store_explicit(&n->range_end, nr ? hi : 0, memory_order_relaxed);
}

int tdp_notifier_begin(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start, uint64_t end)
{
	int64_t nr;

	if (start >= end)
		return -EINVAL;
	if (end > mmu->max_gfn)
		return -ERANGE;
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	nr = atomic_load_explicit(&n->in_progress, memory_order_relaxed);
	if (nr == TDP_NOTIFIER_MAX_RANGES) {
		tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
		return -EBUSY;
	}
	n->starts[nr] = start;
	n->ends[nr] = end;
	/* The range grows before anything is zapped, so a yield in the zap is safe. */
	update_union(n, nr + 1);
	atomic_store_explicit(&n->in_progress, nr + 1, memory_order_relaxed);
	if (tdp_mmu_zap_leafs(mmu, start, end, true, false))
		tdp_flush_remote_tlbs(mmu, start, 0);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return 0;
}

static int64_t find_range(const struct tdp_notifier *n, uint64_t start, uint64_t end)
{
	int64_t nr = atomic_load_explicit(&n->in_progress, memory_order_relaxed);

	for (int64_t i = 0; i < nr; i++)
		if (n->starts[i] == start && n->ends[i] == end)
			return i;
	return -1;
}

int tdp_notifier_end(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start, uint64_t end)
{
	int64_t i, nr;
	int r = 0;

	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	i = find_range(n, start, end);
	if (i < 0) {
		r = -EINVAL;
	} else {
		nr = atomic_load_explicit(&n->in_progress, memory_order_relaxed) - 1;
		n->starts[i] = n->starts[nr];
		n->ends[i] = n->ends[nr];
		/* Release: a fault that sees the new seq sees the host's new frames. */
		atomic_fetch_add_explicit(&n->seq, 1, memory_order_release);
		update_union(n, nr);
		atomic_store_explicit(&n->in_progress, nr, memory_order_relaxed);
	}
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return r;
}

bool tdp_notifier_in_progress(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start,
			      uint64_t end)
{
	bool covered = false;

	tdp_mmu_lock(mmu, TDP_SHARED);
	for (int64_t i = 0; i < atomic_load_explicit(&n->in_progress, memory_order_relaxed); i++)
		covered |= n->starts[i] <= start && end <= n->ends[i];
	tdp_mmu_unlock(mmu, TDP_SHARED);
	return covered;
}

void tdp_notifier_bump_locked(struct tdp_notifier *n, struct tdp_mmu *mmu)
{
	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	atomic_fetch_add_explicit(&n->seq, 1, memory_order_release);
}

void tdp_notifier_bump(struct tdp_notifier *n, struct tdp_mmu *mmu)
{
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	tdp_notifier_bump_locked(n, mmu);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
}

int tdp_notifier_cap_level(const struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t gfn,
			   int level)
{
	mmu_lock_assert_held_any(&mmu->lock);
	if (TDP_MUTANT(HUGE_OVER_INVALIDATION))
		return level; /* the mutant: only the fault's own gfn is checked */
	while (level > TDP_LEVEL_4K) {
		uint64_t base = tdp_align_gfn(gfn, level);

		if (!tdp_notifier_overlaps(n, base, base + tdp_pages_per_level(level)))
			break;
		level--;
	}
	return level;
}
