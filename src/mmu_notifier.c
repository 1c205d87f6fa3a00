/*
 * mmu_notifier.c - invalidate begin/end (protocol and concurrency in
 * mmu_notifier.h).
 */
#include <errno.h>

#include "mmu_notifier.h"

void tdp_notifier_init(struct tdp_notifier *n)
{
	atomic_init(&n->seq, 0);
	atomic_init(&n->in_progress, 0);
	atomic_init(&n->range_start, 0);
	atomic_init(&n->range_end, 0);
}

int tdp_notifier_begin(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start,
		       uint64_t end)
{
	if (start >= end)
		return -EINVAL;
	if (end > mmu->max_gfn)
		return -ERANGE;
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	/* The range grows before anything is zapped, so a yield in the zap is safe. */
	if (atomic_load_explicit(&n->in_progress, memory_order_relaxed) == 0) {
		atomic_store_explicit(&n->range_start, start, memory_order_relaxed);
		atomic_store_explicit(&n->range_end, end, memory_order_relaxed);
	} else {
		if (start < atomic_load_explicit(&n->range_start, memory_order_relaxed))
			atomic_store_explicit(&n->range_start, start, memory_order_relaxed);
		if (end > atomic_load_explicit(&n->range_end, memory_order_relaxed))
			atomic_store_explicit(&n->range_end, end, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&n->in_progress, 1, memory_order_relaxed);
	if (tdp_mmu_zap_leafs(mmu, start, end, true, false))
		tdp_flush_remote_tlbs(mmu, start, 0);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return 0;
}

int tdp_notifier_end(struct tdp_notifier *n, struct tdp_mmu *mmu)
{
	int r = 0;

	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	if (atomic_load_explicit(&n->in_progress, memory_order_relaxed) <= 0) {
		r = -EINVAL;
	} else {
		/* Release: a fault that sees the new seq sees the host's new frames. */
		atomic_fetch_add_explicit(&n->seq, 1, memory_order_release);
		atomic_fetch_sub_explicit(&n->in_progress, 1, memory_order_relaxed);
	}
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	return r;
}
