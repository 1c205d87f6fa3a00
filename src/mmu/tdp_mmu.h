/*
 * tdp_mmu.h - the TDP MMU: entry updates, change handling, removal of
 * subtrees, and the operations built on them (map, zap).
 *
 * Lock modes.  Every operation takes the mode it runs under as a
 * parameter and asserts it on entry:
 *   TDP_SHARED     MMU lock held for read.  Entries change only by CAS; a
 *                  failed CAS refreshes the caller's snapshot and the
 *                  caller retries or gives up.  Many threads at once.
 *   TDP_EXCLUSIVE  MMU lock held for write.  No other thread changes
 *                  entries, except hardware-style A/D updates and the
 *                  lockless fast path, which is why a leaf with volatile
 *                  bits is still updated with an atomic exchange.
 * Every walk also runs inside reclaim_walk_begin/end (lock held) or
 * reclaim_lockless_begin/end (no lock).
 *
 * Which mode: the caller decides, from the fault-lock policy
 * (fault_lock.h), and passes it down.  A fault takes tdp_mmu_fault_mode();
 * if the map would replace a table and the mode may not do that
 * (tdp_mmu_may_unlink), it returns TDP_MAP_NEED_WRITE and the fault
 * retries in tdp_mmu_unlink_mode().  Operations that disconnect tables
 * take tdp_mmu_unlink_mode().  Functions assert (debug builds) that the
 * lock is held in the mode they are given; no function changes it.
 */
#ifndef TDP_MMU_H
#define TDP_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "base/counters.h"
#include "mmu/fault_lock.h"
#include "mmu/mmu_lock.h"
#include "mmu/mmu_page.h"
#include "reclaim/reclaim.h"
#include "mmu/tdp_iter.h"

/* Remote TLB flush hook: @level 0 means "everything". */
typedef void (*tdp_flush_fn)(void *ctx, uint64_t gfn, int level);
/*
 * Called when a dirty leaf goes away (zapped, or its table torn down):
 * the frames it mapped were written, and the host must know (KVM's
 * kvm_set_pfn_dirty).  This is where "no dirty bit is lost" ends up.
 */
typedef void (*tdp_dirty_fn)(void *ctx, uint64_t pfn, uint64_t npages);

/*
 * Layout: every fault reads the lock's writer flag and the read-mostly
 * fields up to the arena's table pointers; the arena allocator and the
 * page accounting (the count, or the seed's in-use list under --pages
 * list) are written by table allocation and linking, so each sits on
 * cache lines of its own and never invalidates what walkers read.
 */
struct tdp_mmu {
	struct mmu_lock lock;
	struct tdp_page *_Atomic roots; /* the root list, see tdp_root.h */
	int root_level;
	uint64_t max_gfn;                        /* exclusive bound of the address width */
	struct tdp_fault_lock_traits fault_lock; /* the fault-lock policy */
	tdp_flush_fn flush;
	void *flush_ctx;
	tdp_dirty_fn dirty;
	void *dirty_ctx;
	struct tdp_counters counters;
	struct tdp_reclaim reclaim;
	struct tdp_arena arena;
	struct tdp_pages pages;
	/* Possible-NX list (nx_list.c), under the pages lock or the write lock. */
	struct tdp_page nx_head;
	uint64_t nx_nr;
	bool nx_huge_pages; /* the mitigation is on: huge leaves are not executable */
	/* Serialises fast zaps (KVM's slots_lock): owns root_zap_scheduled. */
	pthread_mutex_t fast_zap_mutex;
};

/*
 * Tables a single fault may need: a root (the vCPU's first, or after a
 * fast zap) and one per level below it.  Topped up before either is taken,
 * so a fault that cannot get them fails before it changes anything.
 */
#define TDP_PAGE_CACHE_MIN TDP_LEVEL_MAX
#define TDP_PAGE_CACHE_CAP (2 * TDP_PAGE_CACHE_MIN)

/* Per-vCPU tables, filled outside the MMU lock and consumed under it. */
struct tdp_page_cache {
	struct tdp_page *pages[TDP_PAGE_CACHE_CAP];
	int nr;
};

int tdp_mmu_init(struct tdp_mmu *mmu, int levels, uint64_t max_tables,
		 enum tdpmmu_strategy strategy, unsigned drain_delay_ms, tdp_flush_fn flush,
		 void *flush_ctx);
/* Zap everything, wait for every retired table, free the root. */
void tdp_mmu_destroy(struct tdp_mmu *mmu);

/* The mode a page fault takes first. */
static inline enum tdp_lock_mode tdp_mmu_fault_mode(const struct tdp_mmu *mmu)
{
	return mmu->fault_lock.fault_mode;
}

/*
 * The mode an operation that disconnects tables takes (huge-page and NX
 * recovery, zapping invalidated roots), and a fault's retry after
 * TDP_MAP_NEED_WRITE.
 */
static inline enum tdp_lock_mode tdp_mmu_unlink_mode(const struct tdp_mmu *mmu)
{
	return mmu->fault_lock.unlink_mode;
}

/* May code holding the MMU lock in @mode disconnect a table? */
static inline bool tdp_mmu_may_unlink(const struct tdp_mmu *mmu, enum tdp_lock_mode mode)
{
	return mode == TDP_EXCLUSIVE || mmu->fault_lock.unlink_mode == TDP_SHARED;
}

/* @vcpu: the vCPU layer takes the lock (the lock's vcpu_* statistics). */
static inline void tdp_mmu_lock_fn(struct tdp_mmu *mmu, enum tdp_lock_mode mode, bool vcpu)
{
	mmu_lock_acquire_as(&mmu->lock, mode, vcpu);
}

static inline void tdp_mmu_unlock_fn(struct tdp_mmu *mmu, enum tdp_lock_mode mode, bool vcpu)
{
	reclaim_unlock_as(&mmu->reclaim, mode, vcpu);
}

/* Macros: the lock-order checker (lock_rank.h) reports the caller's line. */
#define tdp_mmu_lock(mmu, mode)                                                                    \
	(tdp_lock_rank_site(TDP_RANK_MMU), tdp_mmu_lock_fn((mmu), (mode), false))
#define tdp_mmu_unlock(mmu, mode) tdp_mmu_unlock_fn((mmu), (mode), false)
/* The same, by the vCPU layer (fault path, emulated writes, root loads). */
#define tdp_mmu_lock_vcpu(mmu, mode)                                                               \
	(tdp_lock_rank_site(TDP_RANK_MMU), tdp_mmu_lock_fn((mmu), (mode), true))
#define tdp_mmu_unlock_vcpu(mmu, mode) tdp_mmu_unlock_fn((mmu), (mode), true)

/* Call without the MMU lock. */
int tdp_page_cache_topup(struct tdp_mmu *mmu, struct tdp_page_cache *c);
void tdp_page_cache_release(struct tdp_mmu *mmu, struct tdp_page_cache *c);

void tdp_flush_remote_tlbs(struct tdp_mmu *mmu, uint64_t gfn, int level);

struct tdp_fault {
	struct tdp_page *root; /* the vCPU's root */
	uint64_t gfn;
	uint64_t pfn;         /* host frame backing gfn */
	int goal_level;       /* level to map at (already capped by slot/host) */
	unsigned spte_flags;  /* SPTE_MAKE_* */
	unsigned access;      /* TDPMMU_ACCESS_READ, _WRITE or _EXEC */
	bool huge_disallowed; /* NX: execute fault forced small (huge was allowed) */
	int req_level;        /* largest level the host allows, before NX */
	int mapped_level;     /* out: level of the leaf that now maps gfn */
	tdp_spte_t mapped;    /* out: the leaf that now maps gfn */
	tdp_spte_t mmio;      /* not 0: install this MMIO entry at 4K instead (no memslot) */
};

/* Does leaf @s allow @access (one TDPMMU_ACCESS_* kind, or several)? */
static inline bool tdp_access_allowed(tdp_spte_t s, unsigned access)
{
	if ((access & TDPMMU_ACCESS_WRITE) && !spte_is_writable(s))
		return false;
	return !(access & TDPMMU_ACCESS_EXEC) || (s & SPTE_X);
}

enum tdp_map_result {
	TDP_MAP_FIXED,
	TDP_MAP_SPURIOUS,
	TDP_MAP_RETRY,
	TDP_MAP_NEED_WRITE, /* it would replace a table, which @mode may not: retry in
			     * tdp_mmu_unlink_mode() */
};

/* Map @f->gfn in @f->root.  Call with the MMU lock held in @mode and @c topped up. */
enum tdp_map_result tdp_mmu_map(struct tdp_mmu *mmu, struct tdp_page_cache *c, struct tdp_fault *f,
				enum tdp_lock_mode mode);

/*
 * Zap every leaf mapping a gfn in [start, end) (a huge leaf that overlaps
 * the range goes whole) in every root, invalid ones included.  Write lock.
 * Returns whether the caller must flush TLBs before releasing the lock.
 */
bool tdp_mmu_zap_leafs(struct tdp_mmu *mmu, uint64_t start, uint64_t end, bool can_yield,
		       bool flush);
/* Zap every entry of every root, tables included, and flush.  Write lock. */
void tdp_mmu_zap_all(struct tdp_mmu *mmu);

/*
 * Yield the MMU lock and walk protection when the preemption model says
 * so (mmu_lock.h: a waiter counts under full only, the used-up time slice
 * under every model), flushing first if @flush.  Returns true if it
 * yielded: the caller must `continue` so the walk restarts at the root.
 */
bool tdp_mmu_iter_cond_yield(struct tdp_mmu *mmu, struct tdp_iter *it, bool flush,
			     enum tdp_lock_mode mode);
/*
 * The same decision and break for a long operation that is not a walk
 * (NX recovery): should a holder in @mode whose slice started at
 * @slice_start (tdp_now_ns) yield now?  And yield: flush if @flush, leave
 * walk protection and the lock, let others run, take both back.
 */
bool tdp_mmu_need_resched(struct tdp_mmu *mmu, enum tdp_lock_mode mode, uint64_t slice_start);
void tdp_mmu_resched(struct tdp_mmu *mmu, enum tdp_lock_mode mode, bool flush);

/*
 * Lockless lookup of the leaf mapping @gfn in the valid root of @role;
 * returns its level or 0.
 */
int tdp_mmu_lookup(struct tdp_mmu *mmu, unsigned role, uint64_t gfn, tdp_spte_t *leaf);

/*
 * Split the huge leaf at @it into the fresh table @p (its gfn, level and
 * mmu set by the caller): every child is filled before one CAS (shared) or
 * store (exclusive) publishes it, so no flush is needed.  Under the NX
 * mitigation 4K children become executable, as KVM does.  -EBUSY: the
 * entry changed; @p was never visible.
 */
int tdp_mmu_split_huge_leaf(struct tdp_mmu *mmu, struct tdp_iter *it, struct tdp_page *p,
			    enum tdp_lock_mode mode);

/* What a full walk counts; compared with the counters by the audit. */
struct tdp_walk_totals {
	int64_t tables[TDP_LEVEL_MAX + 1];
	int64_t leaves[TDP_MAX_HUGE_LEVEL + 1];
	int64_t frozen, bad;
};

/*
 * Walk the whole tree under the write lock, count tables and leaves and
 * check each present leaf with @check (may be NULL).  Returns the number
 * of violations found (also printed to stderr).
 */
typedef bool (*tdp_leaf_check_fn)(void *ctx, uint64_t gfn, int level, tdp_spte_t leaf);
int tdp_mmu_audit(struct tdp_mmu *mmu, tdp_leaf_check_fn check, void *ctx,
		  struct tdp_walk_totals *totals);

#endif
