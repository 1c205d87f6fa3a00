/*
 * mmu_page.h - page-table pages: the arena, their metadata, the
 * accounting of pages in use (a count, or the seed's list) and the pages
 * lock.
 *
 * A table is one 4 KiB frame of the arena.  Its frame number (what a
 * non-leaf entry holds) is TDP_TABLE_PFN_BASE + its index, so entry ->
 * table memory and entry -> metadata are both O(1) array lookups.
 *
 * Concurrency:
 * - Allocation and freeing take the arena mutex.  Tables are allocated
 *   only outside the MMU lock (per-vCPU caches are filled before a fault
 *   takes the lock); freeing runs from reclamation callbacks.
 * - Metadata of a live table is written only before the table is published
 *   (linked with a CAS, which orders the writes before it) and is
 *   read-only afterwards, except for the accounting (accounted flag, list
 *   links) and the retire flag,
 *   the NX flags and links (nx_list.h) and a root's reference count,
 *   invalid flag and list link (tdp_root.h).
 * - Quarantine: the free rings and the quarantine counters are under the
 *   arena mutex.  The mprotect calls on one table run without it, by the
 *   thread that owns the table while it is on no ring: tdp_page_free's
 *   before the push, tdp_page_alloc's after the pop (a failure pushes it
 *   back).  The allocator's last resort, making the whole arena writable
 *   and emptying the quarantine ring, runs under the mutex, so it covers
 *   exactly the tables on the ring.  A table is on the quarantine ring
 *   when it may be PROT_NONE, so one that was protected, or whose state a
 *   failed call left unknown, is never handed out before an mprotect to
 *   read-write has succeeded on it.
 * - Accounting (struct tdp_pages below): in COUNT mode an atomic count,
 *   no lock; in LIST mode the in-use list, protected by the MMU lock held
 *   for write, or by the pages lock when the MMU lock is held for read.
 *   The pages lock is only ever taken inside the MMU lock (asserted),
 *   because a writer does not take it.
 */
#ifndef TDP_MMU_PAGE_H
#define TDP_MMU_PAGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu/urcu-memb.h>

#include "mmu/mmu_lock.h"
#include "mmu/spte.h"

/* Table frames live far above any host frame the memslots hand out. */
#define TDP_TABLE_PFN_BASE (1ull << 39)
#define TDP_HOST_PFN_LIMIT TDP_TABLE_PFN_BASE

/* What a freed table is filled with; a software walk that reads it is a bug. */
#define SPTE_POISON (SPTE_NONPRESENT | (0x5ull << 52))
static_assert(!(SPTE_POISON & (SPTE_MMU_PRESENT | SPTE_RWX | SPTE_PFN_MASK)),
	      "poison must map nothing");
static_assert(SPTE_POISON != SPTE_FROZEN && SPTE_POISON != SPTE_NONPRESENT,
	      "poison must be recognisable");

struct tdp_mmu;
struct tdp_reclaim;

struct tdp_page {
	uint64_t gfn;   /* first gfn this table covers */
	int level;      /* level of the entries in this table */
	bool accounted; /* counted in use (and, LIST mode, on the in-use list) */
	bool is_root;
	_Atomic uint32_t retired; /* set once, by the thread that unlinked it */
	struct tdp_page *prev, *next;
	union {          /* after retire: the reclamation policy's bookkeeping (reclaim.h) */
		struct { /* rcu, rcu-qsbr */
			struct rcu_head rcu;
			struct tdp_reclaim *rcu_owner; /* the callback frees it there */
		};
		struct { /* list policies */
			struct tdp_page *retire_next;
			uint64_t retire_flushes; /* flushes started when it was retired */
		};
	};
	struct tdp_mmu *mmu;
	/* The entry that links this table (NULL for a root); set before the link. */
	_Atomic(tdp_spte_t) *ptep;
	/*
	 * NX huge-page mitigation: the table exists because an execute fault
	 * could not map huge here.  Both fields and the possible-NX list links
	 * change under the pages lock (MMU lock for read) or the MMU lock for
	 * write (see nx_list.c).
	 */
	_Atomic bool nx_disallowed; /* read without the lock by the fault path */
	bool nx_listed;
	struct tdp_page *nx_prev, *nx_next;
	/* Roots only (see tdp_root.h). */
	_Atomic int root_refs;
	_Atomic bool root_invalid;
	bool root_zap_scheduled; /* under the MMU's fast_zap_mutex */
	unsigned root_role;
	struct tdp_page *_Atomic root_next;
} __cacheline_aligned; /* a power-of-two size: entry <-> metadata is a shift */
static_assert((sizeof(struct tdp_page) & (sizeof(struct tdp_page) - 1)) == 0,
	      "table metadata size must be a power of two");

/* Free tables, by index: a ring, so either end can be taken. */
struct tdp_free_ring {
	uint64_t *slot; /* capacity entries */
	uint64_t head, nr;
};

/*
 * Quarantine's failures (see tdp_page_alloc), counted under the arena
 * mutex.  Each mprotect on a table splits a mapping of the arena unless it
 * merges with a neighbour's, and a split fails with ENOMEM once the process
 * has vm.max_map_count mappings.
 */
struct tdp_quarantine_stats {
	uint64_t protect_failures;   /* a freed table stayed accessible, poisoned only */
	uint64_t unprotect_failures; /* a quarantined table stayed PROT_NONE; another was taken */
	uint64_t releases;           /* every quarantined table made accessible at once */
	uint64_t release_failures;   /* ... and that failed too */
};

/*
 * Quarantine (tdp_quarantine, inject.h) on: a freed table is made PROT_NONE
 * and goes on the quarantine ring; the oldest is reused first, so a use
 * after free faults at once.  A freed table that could not be protected, or
 * was freed with quarantine off, goes on the open ring (poisoned only).  A
 * table on the quarantine ring is handed out only once it is writable again.
 */
struct tdp_arena {
	/* Read-mostly: every walk reads these. */
	_Atomic(tdp_spte_t) *mem;
	uint64_t capacity; /* tables */
	struct tdp_page *meta;
	/* Allocator state, on its own cache line: written on every alloc/free. */
	pthread_mutex_t lock __cacheline_aligned;
	struct tdp_free_ring open; /* LIFO normally, FIFO in quarantine */
	struct tdp_free_ring quar; /* PROT_NONE (or believed so): FIFO */
	uint64_t next_fresh;       /* tables below this index have been handed out once */
	bool can_protect; /* a table is exactly one host page: mprotect can quarantine it */
	struct tdp_quarantine_stats qstats;
};

int tdp_arena_init(struct tdp_arena *a, uint64_t capacity);
void tdp_arena_destroy(struct tdp_arena *a);
/*
 * A writable table with every entry non-present, or NULL when the arena has
 * no table that is or can be made writable.
 */
struct tdp_page *tdp_page_alloc(struct tdp_arena *a);
/* Make an allocated table pristine again: every entry non-present, no metadata. */
void tdp_page_reset(struct tdp_arena *a, struct tdp_page *p);
/* Poison and recycle a table nobody can reach any more. */
void tdp_page_free(struct tdp_arena *a, struct tdp_page *p);
/* Tables allocated and not yet freed. */
uint64_t tdp_arena_in_use(struct tdp_arena *a);
void tdp_arena_quarantine_stats(struct tdp_arena *a, struct tdp_quarantine_stats *out);

/*
 * Quarantined tables tdp_page_alloc tries to make writable, oldest first,
 * before it takes a table that was never protected.
 */
#define TDP_QUARANTINE_TRIES 4

/*
 * Tests only: make 1 in @protect_one_in of the mprotect calls that
 * quarantine a freed table, and 1 in @unprotect_one_in of those that make
 * one quarantined table writable again, fail with ENOMEM without changing
 * anything, as when the process is at vm.max_map_count (0: never).  The
 * failures are deterministic: the Nth, 2Nth, ... call after this one.
 * Making every quarantined table writable at once never splits a mapping
 * and is not affected.
 */
void tdp_inject_quarantine_fail(unsigned protect_one_in, unsigned unprotect_one_in);

static inline uint64_t tdp_page_index(const struct tdp_arena *a, const struct tdp_page *p)
{
	return (uint64_t)(p - a->meta);
}

static inline uint64_t tdp_page_pfn(const struct tdp_arena *a, const struct tdp_page *p)
{
	return TDP_TABLE_PFN_BASE + tdp_page_index(a, p);
}

static inline _Atomic(tdp_spte_t) *tdp_page_table(const struct tdp_arena *a,
						  const struct tdp_page *p)
{
	return a->mem + tdp_page_index(a, p) * (TDP_TABLE_BYTES / sizeof(tdp_spte_t));
}

/* Index of the table with frame @pfn; a frame outside the arena is a bug. */
static inline uint64_t tdp_pfn_index(const struct tdp_arena *a, uint64_t pfn)
{
	uint64_t i = pfn - TDP_TABLE_PFN_BASE;

	if (unlikely(pfn < TDP_TABLE_PFN_BASE || i >= a->capacity))
		tdp_bug("non-leaf entry points at frame 0x%llx, outside the table arena",
			(unsigned long long)pfn);
	return i;
}

static inline struct tdp_page *tdp_page_from_pfn(const struct tdp_arena *a, uint64_t pfn)
{
	return &a->meta[tdp_pfn_index(a, pfn)];
}

/*
 * The entries of the table with frame @pfn, straight from the frame: walks
 * step down this way without touching (or dividing by the size of) the
 * metadata.
 */
static inline _Atomic(tdp_spte_t) *tdp_pfn_table(const struct tdp_arena *a, uint64_t pfn)
{
	return a->mem + tdp_pfn_index(a, pfn) * (TDP_TABLE_BYTES / sizeof(tdp_spte_t));
}

/*
 * The page-table pages in use (roots included), as the VM's pages mode
 * says (enum tdpmmu_pages_mode), and the pages lock.
 * - COUNT (upstream's tdp_account_mmu_page today): accounting a table adds
 *   1 to @count, an atomic, and sets its accounted flag; no lock, no list.
 *   The flag is written by the thread that links the table, before the
 *   CAS (or store) that publishes it, and by the one whose change
 *   disconnected it, after that change: the parent entry's CAS chain (or
 *   the write lock) orders them.  It is read by audits under the write
 *   lock and by tdp_page_free after reclamation.
 * - LIST (the seed thread's patch): every table in use is also on the list
 *   at @head, with its length in @nr, changed under the pages lock when
 *   the MMU lock is held for read and under the write lock alone.
 * The pages lock also protects the roots list and the possible-NX list in
 * both modes (tdp_root.h, nx_list.h), as upstream's tdp_mmu_pages_lock.
 */
struct tdp_pages {
	pthread_mutex_t lock __cacheline_aligned; /* written on every LIST link: own line */
	bool list;                                /* LIST mode; set at init */
	struct tdp_page head;
	uint64_t nr;
	_Atomic int64_t count __cacheline_aligned; /* COUNT: written on every link */
};

void tdp_pages_init(struct tdp_pages *pl, enum tdpmmu_pages_mode mode);
/* Change the mode while no table is accounted (VM creation); -EBUSY otherwise. */
int tdp_pages_set_mode(struct tdp_pages *pl, enum tdpmmu_pages_mode mode);
void tdp_pages_destroy(struct tdp_pages *pl);
/*
 * The pages lock for a caller holding the MMU lock (@lock) in @mode: a
 * mutex under the read lock, nothing under the write lock (which already
 * excludes every other user).
 */
void tdp_pages_lock(struct tdp_pages *pl, struct mmu_lock *lock, enum tdp_lock_mode mode);
void tdp_pages_unlock(struct tdp_pages *pl, enum tdp_lock_mode mode);
/*
 * Account @p as in use, or no longer; @mode is how the caller holds
 * @lock.  COUNT: an atomic add.  LIST: the list change under the pages
 * lock (taken here in shared mode).
 */
void tdp_pages_account(struct tdp_pages *pl, struct mmu_lock *lock, struct tdp_page *p,
		       enum tdp_lock_mode mode);
void tdp_pages_unaccount(struct tdp_pages *pl, struct mmu_lock *lock, struct tdp_page *p,
			 enum tdp_lock_mode mode);
/* The same with the pages lock (or the write lock) already held. */
void tdp_pages_account_locked(struct tdp_pages *pl, struct tdp_page *p);
void tdp_pages_unaccount_locked(struct tdp_pages *pl, struct tdp_page *p);

static inline bool tdp_pages_is_list(const struct tdp_pages *pl)
{
	return pl->list;
}

/*
 * Tables accounted in use.  COUNT: any time (a snapshot).  LIST: the list's
 * length, with the write lock or the pages lock held.
 */
static inline int64_t tdp_pages_nr(struct tdp_pages *pl)
{
	return pl->list ? (int64_t)pl->nr : atomic_load_explicit(&pl->count, memory_order_relaxed);
}

/*
 * LIST mode, write lock held: walk the list and check its links, each
 * table's flags and its length against @nr.  Returns the tables found on
 * it (at most the arena's capacity: a cycle stops there) and adds the
 * problems found to *@violations (printed to stderr).  COUNT mode: 0.
 */
int64_t tdp_pages_check_list(struct tdp_pages *pl, const struct tdp_arena *a, int *violations);

#endif
