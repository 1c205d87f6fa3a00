/*
 * torture.h - `tdpmmu torture`, in the spirit of rcutorture: everything the
 * MMU does, at once, on real guest memory, under each reclamation strategy,
 * with the invariants checked while it runs and at quiescent points.
 */
#ifndef TDPMMU_CLI_TORTURE_H
#define TDPMMU_CLI_TORTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

#define TORTURE_MAX_VCPUS 16

struct torture_opts {
	bool strategies[TDPMMU_NR_STRATEGIES];
	double duration;   /* seconds per strategy */
	uint64_t seed;
	unsigned vcpus;    /* guest vCPUs (a chaos thread with its own vCPU comes on top) */
	unsigned check_ms; /* quiescent checks this often */
	unsigned inject;     /* delay at 1 in N race windows (0: off) */
	unsigned alloc_fail; /* fail 1 in N table allocations (0: off) */
	bool no_quarantine;  /* freed tables stay accessible (poisoned only) */
	bool verbose;
};

/* What one strategy's rounds found and did. */
struct torture_result {
	uint64_t violations;
	uint64_t rounds, checks, accesses, reads_checked, chaos_ops, churn_cycles;
	uint64_t enomem; /* operations that failed on an injected allocation failure */
	uint64_t oracle_checked, oracle_pages; /* dirty-log oracle: harvests, pages checked */
	uint64_t log_races, log_checked; /* log racers: pages raced, rewrites checked */
	uint64_t track_changes, tracked_writes; /* tracker: adds and removes, writes checked */
	int64_t counters[TDPMMU_NR_COUNTERS];
	struct tdpmmu_reclaim_stats reclaim; /* of the last round */
};

/* torture_round.c: run one VM for @seconds, adding to @res. */
void torture_round(const struct torture_opts *o, enum tdpmmu_strategy s, double seconds,
		   uint64_t seed, struct torture_result *res);

/* Report a violation (printed at once, counted by the caller's result). */
__attribute__((format(printf, 1, 2))) void torture_violation(const char *fmt, ...);

#endif
