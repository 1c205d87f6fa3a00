/*
 * round.h - what the files of one torture round share: the guest-physical
 * layout of its memslots, the state of the round and of each of its
 * threads, and the threads' entry points.
 *
 *   round.c       the round's life: the VM, the threads started, the
 *                 quiescent points (pause, check, resume), the end
 *   workers.c     the guest vCPUs' program, the racers, the tracker and
 *                 the chaos thread
 *   log_racers.c  the log racers (two vCPUs' first touches of a logging
 *                 page, harvested in small batches)
 *   checks.c      what must hold at a quiescent point
 *   slots*.c      the memslot churn (torture.h)
 *
 * Concurrency: see round.c's header.  Fields are written by their own
 * thread while it runs and read by the main thread while it is parked;
 * parking is under the round's mutex, which orders both.  The written
 * pages, the log epochs, the tracker's state and the violation count are
 * atomics.
 */
#ifndef TDPMMU_CLI_TORTURE_ROUND_H
#define TDPMMU_CLI_TORTURE_ROUND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "tdpmmu/testing.h"
#include "torture/torture.h"

#define BLOCK 512ull
#define THP_PAGES (16 * BLOCK) /* slot 0, from gfn 0 */
#define ANON_BASE THP_PAGES
#define ANON_PAGES (4 * BLOCK) /* slot 1 */
#define ALL_PAGES (THP_PAGES + ANON_PAGES)
#define RACE_BASE ALL_PAGES /* slot 2: THP, where the racers fight */
#define RACE_PAGES (4 * BLOCK)
#define RACERS 2
#define LOG_BASE (RACE_BASE + RACE_PAGES) /* slot 3: anonymous, always logging */
#define LOG_PAGES (8 * BLOCK)
#define LOG_BATCH 8              /* pages raced between two of the log racers' harvests */
#define WORDS 128                /* per vCPU */
#define SHARED_WORDS (WORDS / 8) /* of them on the shared pages */
#define SHARED_PAGES 32          /* in the THP slot, two per 2 MiB block */
#define HOST_FAULT_US 2000
#define BURST 512                         /* accesses per tdpmmu_vcpu_run */
#define PAYLOAD (16ull << 30)             /* frames for the slots and ~4000 churn cycles */
#define SLOTS_BASE (LOG_BASE + LOG_PAGES) /* the slot churn's places start here */
#define PARK_TIMEOUT_S 60

enum { P_NONE, P_WRITE, P_READ, P_EXEC };

struct tword {
	uint64_t gpa, last;
};

struct round;

struct tguest {
	struct round *r;
	struct tdpmmu_vcpu *v;
	unsigned id;
	struct tword w[WORDS];
	uint64_t rnd, seq, prev;         /* prev: the word's value before the pending write */
	uint64_t epoch;                  /* the log epoch when the pending access was chosen */
	bool must_fault;                 /* the pending write is to a tracked gfn */
	uint64_t track_seq, violations0; /* when it was chosen */
	uint64_t tracked_writes, escapes;
	int j, pending, left;
	uint64_t accesses, reads, mismatches, enomem;
	pthread_t thread;
} cacheline_aligned;

struct racer {
	struct round *r;
	struct tdpmmu_vcpu *v;
	uint64_t rnd, faults, enomem;
	bool huge; /* maps huge over tables; the other splits them at 4K */
	pthread_t thread;
} cacheline_aligned;

/* The log racers: A's thread drives, B's thread reads when told. */
struct log_racers {
	struct round *r;
	struct tdpmmu_vcpu *a, *b;
	pthread_t a_thread, b_thread;
	pthread_mutex_t m;
	pthread_cond_t c;
	uint64_t page; /* B's next page; UINT64_MAX: stop */
	unsigned posted, done;
	uint64_t next; /* first page never touched */
	uint64_t raced[LOG_BATCH], rewritten[LOG_BATCH];
	unsigned nraced, nrewritten;
	uint64_t races, checked;
};

struct round {
	struct tdpmmu_vm *vm;
	const struct torture_opts *o;
	struct tguest *g;
	unsigned n;
	pthread_mutex_t m;
	pthread_cond_t c;
	bool pause, stop;
	unsigned parked, workers;
	struct tdpmmu_vcpu *cv; /* the chaos thread's */
	struct racer racer[RACERS];
	struct log_racers lr;
	uint64_t chaos_rnd, chaos_ops, chaos_enomem;
	bool logging;
	pthread_t chaos;
	struct tdpmmu_churn churn;
	uint64_t churn_cycles;
	_Atomic uint64_t written[ALL_PAGES / 64];
	/*
	 * The dirty-log oracle: the epoch goes up after each harvest (and
	 * enable) returns; a write records the epoch in which it was chosen
	 * in log_epoch[gfn] (the largest wins).
	 */
	_Atomic uint64_t epoch;
	_Atomic uint64_t log_epoch[THP_PAGES];
	uint64_t oracle_checked, oracle_pages;
	/*
	 * The tracker: tracked[gfn] is set once write_track_add(gfn) has
	 * returned; track_seq goes up before each removal begins.
	 */
	_Atomic uint8_t tracked[THP_PAGES];
	_Atomic uint64_t track_seq;
	pthread_t tracker;
	uint64_t track_changes;
	_Atomic uint64_t violations;
	uint64_t hot[SHARED_PAGES]; /* the shared pages, for the partial invalidations */
	struct torture_slots *slots;
};

#define VIOLATION(r, ...)                                                                          \
	do {                                                                                       \
		atomic_fetch_add(&(r)->violations, 1);                                             \
		torture_violation(__VA_ARGS__);                                                    \
	} while (0)

/* A shared page of the THP slot, where every vCPU has words (place_words). */
static inline uint64_t shared_gfn(uint64_t x)
{
	return (x % (SHARED_PAGES / 2)) * BLOCK + (x / SHARED_PAGES % 2 ? 300 : 7);
}

/* round.c: park while the main thread checks; false once the round is over. */
bool round_checkpoint(struct round *r);

/* workers.c: the threads' entry points (@arg: their struct). */
void *guest_thread(void *arg);   /* struct tguest */
void *racer_thread(void *arg);   /* struct racer */
void *tracker_thread(void *arg); /* struct round */
void *chaos_thread(void *arg);   /* struct round */

/* log_racers.c: start A's and B's threads, and join them once the round stops. */
void lr_start(struct round *r);
void lr_stop(struct round *r);

/* checks.c: everything started is parked (or stopped): check what must hold. */
void quiescent_checks(struct round *r);

#endif /* TDPMMU_CLI_TORTURE_ROUND_H */
