/*
 * mmu_notifier.h - the host telling the MMU that backing frames of a gfn
 * range are about to change (page migration, THP split, compaction).
 *
 * Protocol (KVM's mmu_invalidate_*):
 *   begin:  write lock; in_progress++; widen [start, end) to cover the
 *           range; zap the leaves in it; flush; unlock.
 *   (the host changes the frames)
 *   end:    write lock; seq++; in_progress--; the union shrinks to the
 *           ranges still in progress; unlock.
 * A fault snapshots seq before it looks up the host frame, and under the
 * read lock, right before it maps, checks that seq is unchanged and that no
 * invalidation in progress covers its gfn; otherwise it retries.  Because
 * begin and end hold the write lock and the fault holds the read lock from
 * that check to the CAS that installs the entry, no entry built from a
 * frame looked up before an invalidation can be installed after it.
 *
 * Concurrency: every field is written under the write lock only; faults
 * read them under the read lock (authoritative) or with no lock at all (an
 * early, racy check that only saves work: false answers either way are
 * caught by the locked check).
 */
#ifndef TDP_MMU_NOTIFIER_H
#define TDP_MMU_NOTIFIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/mutant.h"
#include "mmu/tdp_mmu.h"

#define TDP_NOTIFIER_MAX_RANGES 64

struct tdp_notifier {
	_Atomic uint64_t seq;
	_Atomic int64_t in_progress;
	_Atomic uint64_t range_start, range_end; /* union of the ranges in progress */
	/* Each invalidation in progress (write lock to change, any lock to read). */
	uint64_t starts[TDP_NOTIFIER_MAX_RANGES], ends[TDP_NOTIFIER_MAX_RANGES];
};

void tdp_notifier_init(struct tdp_notifier *n);
/* -EBUSY (and nothing changes) when TDP_NOTIFIER_MAX_RANGES are in progress. */
int tdp_notifier_begin(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start, uint64_t end);
/* -EINVAL (and nothing changes) unless [start, end) is in progress. */
int tdp_notifier_end(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start, uint64_t end);
/*
 * Make every fault that snapshotted the sequence before this call retry
 * (write lock, seq++): what a memslot change does after publishing the new
 * slots, so no fault maps from a lookup of the old ones.
 */
void tdp_notifier_bump(struct tdp_notifier *n, struct tdp_mmu *mmu);
void tdp_notifier_bump_locked(struct tdp_notifier *n, struct tdp_mmu *mmu);
/*
 * The largest level up to @level whose aligned range around @gfn overlaps
 * no invalidation in progress (tdp_notifier_overlaps; MMU lock held,
 * either mode, so begin, which holds the write lock, cannot come between
 * this check and the map).  A fault maps
 * no leaf over a range the host is changing, even one that its own gfn is
 * outside: our host invalidates parts of a huge page, which Linux never
 * does to a mapped one (docs/design.md).
 */
int tdp_notifier_cap_level(const struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t gfn,
			   int level);
/* Whether one invalidation in progress covers all of [start, end). */
bool tdp_notifier_in_progress(struct tdp_notifier *n, struct tdp_mmu *mmu, uint64_t start,
			      uint64_t end);

/* The fault's snapshot, taken before the host frame lookup. */
static inline uint64_t tdp_notifier_snapshot(const struct tdp_notifier *n)
{
	/* Acquire: the frame lookup that follows sees what the host wrote before end. */
	return atomic_load_explicit(&n->seq, memory_order_acquire);
}

static inline bool tdp_notifier_covers(const struct tdp_notifier *n, uint64_t gfn)
{
	return atomic_load_explicit(&n->in_progress, memory_order_relaxed) > 0 &&
	       gfn >= atomic_load_explicit(&n->range_start, memory_order_relaxed) &&
	       gfn < atomic_load_explicit(&n->range_end, memory_order_relaxed);
}

/*
 * Does [start, end) overlap the invalidations in progress (their union,
 * gaps included, as tdp_notifier_covers)?  Authoritative with the MMU lock
 * held (either mode); huge-page recovery and the fault's level cap ask it
 * for a whole huge range.
 */
static inline bool tdp_notifier_overlaps(const struct tdp_notifier *n, uint64_t start, uint64_t end)
{
	return atomic_load_explicit(&n->in_progress, memory_order_relaxed) > 0 &&
	       start < atomic_load_explicit(&n->range_end, memory_order_relaxed) &&
	       atomic_load_explicit(&n->range_start, memory_order_relaxed) < end;
}

/*
 * Must a fault on @gfn that snapshotted @seq start over?  Authoritative
 * only with the MMU lock held (either mode); without it, a hint.
 */
static inline bool tdp_notifier_retry(const struct tdp_notifier *n, uint64_t seq, uint64_t gfn)
{
	/* The mutant skip-notifier-retry keeps only the racy early check (docs/testing.md). */
	return !TDP_MUTANT(SKIP_NOTIFIER_RETRY) &&
	       (tdp_notifier_covers(n, gfn) ||
		atomic_load_explicit(&n->seq, memory_order_relaxed) != seq);
}

#endif
