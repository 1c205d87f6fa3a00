/*
 * tdpmmu/testing.h - test and benchmark support for tdpmmu: anomaly
 * injection, audits, hooks at race windows, a simulated host memory manager
 * (the churn) and the cost floor of a fault.
 *
 * Not part of the product: these calls live in libtdpmmu-testing.a (link it
 * before libtdpmmu.a), and the shared library exports none of them.  They
 * may change between releases.
 *
 * Language: C11 or later (the churn's statistics are _Atomic); not usable
 * from C++.  tdpmmu/tdpmmu.h itself needs only C99 or C++11.
 */
#ifndef TDPMMU_TESTING_H
#define TDPMMU_TESTING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

/* --- audits ----------------------------------------------------------------- */

/*
 * Full walk under the MMU write lock: accounting against the tree, each
 * leaf against the memslots, structural invariants.  Returns the number of
 * violations (details on stderr); 0 means clean.  Any thread; concurrent
 * with faults (they wait for the lock).
 */
int tdpmmu_audit(struct tdpmmu_vm *vm);

/*
 * Every vCPU's TLB against the tables: no cached translation may map
 * another frame than the leaf that maps its page now, or grant W or X
 * that leaf does not (a permission taken away without its flush).  Call
 * only at a quiescent point: no thread is inside tdpmmu_vcpu_run or
 * tdpmmu_fault for this VM, and none is inside a call that takes a
 * permission away (write protection, dirty-log calls, zaps,
 * invalidations, aging, recovery); the library's NX recovery thread may
 * run.  The vCPU threads must be joined or parked behind a lock this
 * thread has since taken.  Returns the number of violations (details on
 * stderr), 0 when clean, -EINVAL for a NULL @vm.
 */
int tdpmmu_audit_tlbs(struct tdpmmu_vm *vm);

/*
 * The possible-NX list against the tables (under the MMU write lock): each
 * listed table is live and was split for NX.  Returns the number of
 * violations, 0 when clean.
 */
int tdpmmu_nx_audit(struct tdpmmu_vm *vm);

/* --- anomaly injection and quarantine (process-wide) ------------------------ */

/*
 * For torture runs: 1 in @delay_one_in passes through a race window
 * (snapshot to CAS or store, unlink to flush, a teardown while entries are
 * FROZEN, inside walk protection) waits a little or yields; 1 in
 * @alloc_fail_one_in page-table allocations fails, so the operation fails
 * cleanly with -ENOMEM.  0 turns either off (the default).  Any thread, at
 * any time (a relaxed global).
 */
void tdpmmu_inject(unsigned delay_one_in, unsigned alloc_fail_one_in);
/* How many delays and allocation failures tdpmmu_inject caused so far. */
void tdpmmu_inject_stats_read(uint64_t *delays, uint64_t *alloc_failures);
/*
 * Page tables freed while quarantine is on become inaccessible (PROT_NONE)
 * until reused, and the oldest freed table is reused first, so any use
 * after free faults at once.  Any thread, at any time.
 */
void tdpmmu_quarantine(bool on);

/*
 * Stay @ns (nanoseconds) inside a software walker's protection: the MMU
 * read lock and the strategy's walk protection, as a fault preempted in the
 * middle of its walk would (the stalled reader of `tdpmmu bench
 * stalled-reader`).  Nothing retired meanwhile may be freed; what else
 * stops depends on the strategy.  Call without the MMU lock, from any
 * thread.  -EINVAL for a NULL @vm.
 */
int tdpmmu_hold_walk(struct tdpmmu_vm *vm, uint64_t ns);

/*
 * Huge-page recovery over the gfns [start_gfn, end_gfn), below the
 * memslot-level checks of tdpmmu_recover_huge_pages (the per-table checks
 * still apply).  Returns tables collapsed or zapped.  MMU read lock.
 */
int tdpmmu_test_recover_range(struct tdpmmu_vm *vm, uint64_t start_gfn, uint64_t end_gfn,
			      enum tdpmmu_huge_recovery how);

/*
 * D-bit dirty logging: shrink every vCPU's PML log to @n entries (1..512,
 * default 512) so a test can fill it (a guest burst of TDPMMU_GUEST_BURST
 * accesses never fills 512).  Call before any vCPU runs.  -EINVAL.
 */
int tdpmmu_test_pml_entries(struct tdpmmu_vm *vm, unsigned n);

/* --- hooks at race windows (process-wide; NULL removes) --------------------- */

/*
 * Each hook is one global function pointer the library calls at one place,
 * on the thread that is there.  Set and clear it while no VM runs the path
 * (or accept that a thread already past the check misses it).
 */

/*
 * Called on the faulting thread with the faulting gfn between the
 * host-frame lookup and the MMU lock, where a concurrent invalidation must
 * make the fault retry.  No lock held.
 */
void tdpmmu_test_set_fault_hook(void (*fn)(uint64_t gfn));

/*
 * Called by an exclusive-mode entry update (MMU write lock held) between
 * its snapshot of the entry at @sptep and its store, where hardware may
 * still set Accessed or Dirty.
 */
void tdpmmu_test_set_store_hook(void (*fn)(_Atomic uint64_t *sptep));

/*
 * Consulted at each chance a long walk has to yield, MMU lock held
 * (@locked true): returning true makes the walk yield now; called again
 * with @locked false while the walk has dropped the lock and walk
 * protection (its return value is then ignored).
 */
void tdpmmu_test_set_yield_hook(bool (*fn)(bool locked));

/* Where a host-side change meets the MMU (the site hook's first argument). */
enum tdpmmu_test_site {
	/* A fault paid the host fault of its page and has not released it (no lock). */
	TDPMMU_TEST_SITE_HOST_FAULT_PAID,
	/* A delete or move made the old place invalid and will zap it (slots lock held). */
	TDPMMU_TEST_SITE_SLOT_INVALID,
	/* tdpmmu_host_remap found its invalidation and will remap (slots lock held). */
	TDPMMU_TEST_SITE_REMAP_CHECKED,
	/* The fast path set W and will mark the page dirty (memslot RCU held). */
	TDPMMU_TEST_SITE_FAST_FIXED,
};
/* Called with the site and its gfn, on the thread at the site. */
void tdpmmu_test_set_site_hook(void (*fn)(enum tdpmmu_test_site site, uint64_t gfn));

/* --- the simulated host memory manager (churn) ------------------------------ */

/*
 * On a real host the kernel keeps moving the memory behind a guest: page
 * migration, THP splits, compaction.  The churn thread does the same to one
 * VM, forever, one random 2 MiB block at a time:
 *
 *     tdpmmu_invalidate_begin(vm, blk, blk + 512);   zap + flush
 *     old = tdpmmu_host_pfn(vm, blk);
 *     tdpmmu_host_remap(vm, blk, blk + 512, flags);  new frames, bytes copied
 *     new = tdpmmu_host_pfn(vm, blk);
 *     tdpmmu_invalidate_end(vm, blk, blk + 512);
 *     after_end(ctx, blk, old, new);                  optional user check
 *
 * flags is chosen at random: 0 (migration or THP split: misaligned frames,
 * 4K mappings only afterwards) or TDPMMU_REMAP_HUGE (compaction: 2M-aligned
 * frames).  Between remap and end the thread yields once, so faults have a
 * real chance to meet the invalidation in progress.
 *
 * Blocks are the 2M-aligned blocks lying wholly inside [start_gfn,
 * end_gfn); they must be backed by anon or THP memslots (hugetlb: the
 * thread ends with error = -EINVAL).  Host frames are never reused: each
 * cycle consumes up to 1024 frames; when tdpmmu_host_remap() returns
 * -ENOSPC the thread ends its invalidation, sets out_of_frames and stops.
 * With discard_old (and real backing) the old block's bytes go back to the
 * OS after each cycle, so a later read of an old frame sees zeros.
 *
 * Concurrency: one thread per struct tdpmmu_churn, concurrent with vCPU
 * threads, faults, zaps and lookups on the same VM, and with other churns
 * on disjoint ranges.  after_end runs on the churn thread after
 * invalidate_end, before the next begin (the block's frames do not change
 * during it); it must not stop its own churn.  Statistics are atomics,
 * readable at any time; the log and error are stable after stop.
 */
#define TDPMMU_CHURN_LOG 256 /* cycles kept in the log (a ring) */

/* One invalidate/remap/end cycle (gfns and host frame numbers). */
struct tdpmmu_churn_cycle {
	uint64_t blk;     /* first gfn of the 2 MiB block */
	uint64_t old_pfn; /* host frame of blk before the remap */
	uint64_t new_pfn; /* and after */
	unsigned flags;   /* TDPMMU_REMAP_* used */
};

struct tdpmmu_churn {
	/*
	 * Set by the caller before tdpmmu_churn_start() (zero-initialise the
	 * struct first, e.g. `struct tdpmmu_churn c = { .after_end = fn };`);
	 * start keeps them and resets everything below.
	 */
	void (*after_end)(void *ctx, uint64_t blk, uint64_t old_pfn, uint64_t new_pfn);
	void *ctx;
	bool discard_old; /* madvise the old frames away after each cycle */

	/* Set by tdpmmu_churn_start(). */
	struct tdpmmu_vm *vm;
	uint64_t first_blk, nr_blocks, seed;

	/* Statistics: atomics, readable while the thread runs. */
	_Atomic uint64_t cycles;      /* completed cycles */
	_Atomic uint64_t huge_cycles; /* of which compactions (TDPMMU_REMAP_HUGE) */
	_Atomic bool out_of_frames;   /* stopped because remap said -ENOSPC */
	_Atomic int error;            /* first unexpected error (negative errno), else 0 */

	/* The last TDPMMU_CHURN_LOG cycles: log[i % TDPMMU_CHURN_LOG] for i < cycles. */
	struct tdpmmu_churn_cycle log[TDPMMU_CHURN_LOG];

	/* Private. */
	_Atomic bool stop;
	bool running;
	pthread_t thread;
};

/*
 * Start the churn thread on the 2M blocks lying wholly inside the gfns
 * [start_gfn, end_gfn).  -EINVAL: no whole block in the range or bad
 * arguments; -ENOENT: a block's first gfn has no memslot; or
 * pthread_create's error (negated).  On error no thread runs.
 */
int tdpmmu_churn_start(struct tdpmmu_churn *c, struct tdpmmu_vm *vm, uint64_t start_gfn,
		       uint64_t end_gfn, uint64_t seed);
/* Ask the thread to stop after its current cycle and join it.  Idempotent. */
void tdpmmu_churn_stop(struct tdpmmu_churn *c);
/* Join the thread without asking it to stop (it stops by itself).  Idempotent. */
void tdpmmu_churn_wait(struct tdpmmu_churn *c);

/* --- benchmarks --------------------------------------------------------------- */

/*
 * The cost floor of a fault: for each gfn in [start_gfn, start_gfn +
 * npages), a bare walk from the root to the 4K leaf and one CAS on it, with
 * no lock, no walk protection and no bookkeeping; the elapsed nanoseconds
 * go to *ns_out.  Only valid while nothing else changes the tables.
 * Returns -ENOENT if some gfn is not mapped at 4K.
 */
int tdpmmu_bench_floor(struct tdpmmu_vm *vm, uint64_t start_gfn, uint64_t npages, uint64_t *ns_out);

#endif /* TDPMMU_TESTING_H */
