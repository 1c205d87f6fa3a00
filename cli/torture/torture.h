/*
 * torture.h - `tdpmmu torture`, in the spirit of rcutorture: everything the
 * MMU does, at once, on real guest memory, under each reclamation strategy,
 * with the invariants checked while it runs and at quiescent points.
 */
#ifndef TDPMMU_CLI_TORTURE_H
#define TDPMMU_CLI_TORTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tdpmmu/tdpmmu.h"

#define TORTURE_MAX_VCPUS 16
/*
 * --preempt rotate (the default): each round runs voluntary or full, by
 * its seed's parity, so that a run covers both ways a long operation lets
 * go of the MMU lock (none takes voluntary's path in the library).
 */
#define TORTURE_PREEMPT_ROTATE (-1)
/* --pages rotate (the default): each round count or list, by bit 1 of its seed. */
#define TORTURE_PAGES_ROTATE (-1)
/* --dirty-mode rotate (the default): each round wrprot or dbit, by bit 2 of its seed. */
#define TORTURE_DIRTY_ROTATE (-1)

struct torture_opts {
	bool strategies[TDPMMU_NR_STRATEGIES];
	double duration; /* seconds per strategy */
	uint64_t seed;
	unsigned vcpus;      /* guest vCPUs (a chaos thread with its own vCPU comes on top) */
	unsigned check_ms;   /* quiescent checks this often */
	unsigned inject;     /* delay at 1 in N race windows (0: off) */
	unsigned alloc_fail; /* fail 1 in N table allocations (0: off) */
	bool no_quarantine;  /* freed tables stay accessible (poisoned only) */
	int preempt;         /* an enum tdpmmu_preempt, or TORTURE_PREEMPT_ROTATE */
	int pages;           /* an enum tdpmmu_pages_mode, or TORTURE_PAGES_ROTATE */
	/* an enum tdpmmu_dirty_mode, or TORTURE_DIRTY_ROTATE */
	int dirty_mode;
	bool no_mmio_caching; /* --mmio-caching off: no-slot accesses fail with -ENOENT */
	bool verbose;
};

/* torture.c: `tdpmmu torture` (argv[0] is "torture"); help.c: its --help. */
int torture_main(int argc, char **argv);
void torture_help(FILE *f);

/* What one strategy's rounds found and did. */
struct torture_result {
	uint64_t violations;
	uint64_t rounds, checks, accesses, reads_checked, chaos_ops, churn_cycles;
	uint64_t enomem; /* operations that failed on an injected allocation failure */
	uint64_t oracle_checked, oracle_pages;  /* dirty-log oracle: harvests, pages checked */
	uint64_t log_races, log_checked;        /* log racers: pages raced, rewrites checked */
	uint64_t track_changes, tracked_writes; /* tracker: adds and removes, writes checked */
	/* memslot churn: moves (those changing the offset inside 2 MiB), temporary slots
	   (those added before the move that freed their place had returned) */
	uint64_t migr_moves, migr_skewed, migr_temps, migr_early;
	/* migration oracle: harvests, dirty pages they reported, pages compared at checks */
	uint64_t migr_harvests, migr_dirty, migr_pages;
	/* the migrant vCPU: accesses, reads checked, writes that raced a move, -ENOENT skips */
	uint64_t migr_accesses, migr_reads, migr_unsure, migr_skips;
	/* partial invalidations held, and those during which a neighbour was faulted in */
	uint64_t migr_holds, migr_hold_faults;
	int64_t counters[TDPMMU_NR_COUNTERS];
	uint64_t preempt_rounds[TDPMMU_NR_PREEMPT];   /* rounds run under each model */
	uint64_t pages_rounds[TDPMMU_NR_PAGES_MODES]; /* rounds run in each pages mode */
	uint64_t dirty_rounds[TDPMMU_NR_DIRTY_MODES]; /* rounds run in each dirty-log mode */
	struct tdpmmu_reclaim_stats reclaim;          /* of the last round */
	/* dirty-ring rounds (ring.c): oracle passes, pages checked, entries harvested,
	   blocks zapped, soft-full exits and entries reset (the ring VM's counters) */
	uint64_t ring_rounds, ring_passes, ring_checked, ring_harvested, ring_zaps;
	uint64_t ring_full_exits, ring_resets;
};

/* round.c (round.h lists its files): run one VM for @seconds, adding to @res. */
void torture_round(const struct torture_opts *o, enum tdpmmu_strategy s, double seconds,
		   uint64_t seed, struct torture_result *res);

/*
 * slots.c (slots.h lists its files): memslot churn under load (see slots.c).  A slot
 * moves between places in [region, region + 16 Ki pages) while a vCPU
 * writes it and a harvester keeps a shadow copy from its dirty log; a
 * temporary slot takes each place it leaves; partial invalidations are
 * held inside the huge pages of the @hot gfns (pages every guest faults).
 */
struct torture_slots;

struct torture_slots_env {
	struct tdpmmu_vm *vm;
	uint64_t region;     /* free gfns, 2 MiB aligned, above every other slot */
	const uint64_t *hot; /* hot gfns of a THP slot */
	unsigned nhot;
	unsigned alloc_fail;           /* injected allocation failures: -ENOMEM is benign */
	bool (*checkpoint)(void *ctx); /* parks while the round pauses; false once it ends */
	void *ctx;
	_Atomic uint64_t *violations;
	uint64_t seed;
	bool mmio_caching; /* the VM's: an access to an absent slot is an MMIO exit */
};

#define TORTURE_SLOTS_THREADS 2 /* threads that call env->checkpoint (of three) */

/* Host memory the slot churn needs, on top of the round's. */
uint64_t torture_slots_payload_bytes(void);
/* Add the moving slot, start logging it and start the threads. */
struct torture_slots *torture_slots_start(const struct torture_slots_env *env);
/* At a quiescent point (the threads parked): final harvest, then compare. */
void torture_slots_check(struct torture_slots *s);
/* When the round finds a thread hung: print what the churn's vCPU was doing. */
void torture_slots_report_stuck(struct torture_slots *s);
/* After the round's end was signalled: join, add the counts to @res, free. */
void torture_slots_stop(struct torture_slots *s, struct torture_result *res);

/*
 * ring.c: in about half the rounds (the top bit of a hash of the seed, so
 * that consecutive seeds mix), a second VM with dirty
 * rings beside the round's: vCPUs write, a harvester runs the ring oracle
 * (see ring.c).  Start it with the round's modes; stop adds to @res.
 */
#define TORTURE_RING_ROUND(seed) (0x9e3779b97f4a7c15ull * (seed) >> 63 == 1)
struct torture_ring;
struct torture_ring *torture_ring_start(enum tdpmmu_strategy s, enum tdpmmu_preempt p,
					enum tdpmmu_pages_mode pages, enum tdpmmu_dirty_mode dirty,
					uint64_t seed);
void torture_ring_stop(struct torture_ring *t, struct torture_result *res);

/* Report a violation (printed at once, counted by the caller's result). */
__attribute__((format(printf, 1, 2))) void torture_violation(const char *fmt, ...);

/* The torture's pseudo-random stream (xorshift64): @s is the state, never 0. */
static inline uint64_t next_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
