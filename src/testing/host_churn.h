/*
 * host_churn.h - a simulated host memory manager for tests and benchmarks.
 *
 * What it simulates.  On a real host, the kernel keeps moving the memory
 * behind a guest: page migration (NUMA balancing, memory hot-unplug), THP
 * splits, and compaction that collapses pages back into huge ones.  Each
 * such change is bracketed by MMU-notifier calls.  The churn thread does
 * the same to one VM, forever, one random 2 MiB block at a time:
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
 * frames, huge mappings possible again).  Between remap and end the thread
 * yields once, as a host that copies pages takes its time, so faults have
 * a real chance to meet the invalidation in progress.
 *
 * Blocks are the 2M-aligned blocks lying wholly inside [start_gfn,
 * end_gfn); they must be backed by anon or THP memslots (hugetlb memory is
 * never remapped: that ends the thread with error = -EINVAL).
 *
 * Frame supply.  Host frames come from a bump allocator and are never
 * reused: each cycle consumes up to 1024 frames (4 MiB of the payload with
 * real backing).  When tdpmmu_host_remap() returns -ENOSPC the thread ends
 * its invalidation, sets out_of_frames and stops cleanly; tests size
 * payload_bytes for the cycles they need.  With discard_old set (and real
 * backing) the old block's bytes are handed back to the OS after the cycle
 * (madvise(MADV_DONTNEED)), so the resident memory stays near the guest's
 * size however long the thread runs; a later read of an old frame then
 * sees zeros, which only a bug could do.
 *
 * Concurrency.  One thread per struct tdp_churn.  It runs concurrently with
 * vCPU threads, faults, zaps and lookups on the same VM, and with other
 * churn threads as long as their ranges are disjoint (two threads remapping
 * the same block would record each other's frames).  The callback runs on
 * the churn thread after invalidate_end, before the next begin: during it
 * no invalidation of this thread is in progress and the block's frames do
 * not change (unless another churn thread owns an overlapping range).  It
 * must not call tdp_churn_stop() on its own churn.  The statistics are
 * atomics, readable at any time; the log and error are stable after stop.
 */
#ifndef TDP_HOST_CHURN_H
#define TDP_HOST_CHURN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

#define TDP_CHURN_LOG 256 /* cycles kept in the log (a ring) */

/* One invalidate/remap/end cycle. */
struct tdp_churn_cycle {
	uint64_t blk;     /* first gfn of the 2 MiB block */
	uint64_t old_pfn; /* host frame of blk before the remap */
	uint64_t new_pfn; /* and after */
	unsigned flags;   /* TDPMMU_REMAP_* used */
};

struct tdp_churn {
	/*
	 * Set by the caller before tdp_churn_start() (zero-initialise the
	 * struct first, e.g. `struct tdp_churn c = { .after_end = fn };`);
	 * start keeps them and resets everything below.
	 */
	void (*after_end)(void *ctx, uint64_t blk, uint64_t old_pfn, uint64_t new_pfn);
	void *ctx;
	bool discard_old; /* madvise the old frames away after each cycle */

	/* Set by tdp_churn_start(). */
	struct tdpmmu_vm *vm;
	uint64_t first_blk, nr_blocks, seed;

	/* Statistics: atomics, readable while the thread runs. */
	_Atomic uint64_t cycles;      /* completed cycles */
	_Atomic uint64_t huge_cycles; /* of which compactions (TDPMMU_REMAP_HUGE) */
	_Atomic bool out_of_frames;   /* stopped because remap said -ENOSPC */
	_Atomic int error;            /* first unexpected error (negative errno), else 0 */

	/* The last TDP_CHURN_LOG cycles: log[i % TDP_CHURN_LOG] for i < cycles. */
	struct tdp_churn_cycle log[TDP_CHURN_LOG];

	/* Private. */
	_Atomic bool stop;
	bool running;
	pthread_t thread;
};

/*
 * Start the churn thread on the 2M blocks lying wholly inside [start_gfn,
 * end_gfn).  -EINVAL: no whole block in the range or bad arguments;
 * -ENOENT: a block's first gfn has no memslot; or pthread_create's error
 * (negated).  On error no thread runs.
 */
int tdp_churn_start(struct tdp_churn *c, struct tdpmmu_vm *vm, uint64_t start_gfn,
		    uint64_t end_gfn, uint64_t seed);
/* Ask the thread to stop after its current cycle and join it.  Idempotent. */
void tdp_churn_stop(struct tdp_churn *c);
/*
 * Join the thread without asking it to stop: for a thread that is known to
 * stop by itself (out of frames, or an error).  Idempotent.
 */
void tdp_churn_wait(struct tdp_churn *c);

#endif
