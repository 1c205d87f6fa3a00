/*
 * slots.h - what the files of the torture's memslot churn share (slots.c
 * describes the whole mechanism and its concurrency): the layout of the
 * moving slot M and the temporary slots T, the state of the churn and of
 * its three threads, and their entry points.
 *
 *   slots.c          start, stop, the hang report
 *   slots_migrant.c  the migrant: a vCPU writing and reading M as it moves
 *   slots_oracle.c   the migration oracle: harvests into the shadow, and
 *                    the quiescent check
 *   slots_settler.c  the settler: a temporary slot where M just left
 *   slots_mover.c    the mover: moves, and partial invalidations between
 */
#ifndef TDPMMU_CLI_TORTURE_SLOTS_H
#define TDPMMU_CLI_TORTURE_SLOTS_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "torture/torture.h"

#define MIGR_ID 4
#define TEMP_ID 5
#define MIGR_PAGES 2048ull /* 4 blocks of 2 MiB (with 512 entries per table) */
#define NPLACES 4
#define PLACE_STRIDE 4096ull /* places never overlap, so T fits where M was */
#define SKEW 260ull          /* a multiple of no huge page size (8 or 512 pages) */
#define USED_PAGES 32
#define MIGRANT_WORDS 4 /* words 0.. of each used page: the migrant's */
#define TEMP_WORDS 2    /* words at TEMP_OFF: the temporary slots' */
#define TEMP_OFF 2048u
#define USED_WORDS (MIGRANT_WORDS + TEMP_WORDS)
#define TEMP_TOUCH 4 /* used pages each temporary slot writes */
#define TEMP_MAX 256 /* temporary slots per round: each takes fresh frames */
#define TEMP_TAG (0xaull << 60)
#define MIGRANT_BURST 256
#define MIGRANT_GAP_NS 100000   /* after each burst: enough to race every move */
#define MOVE_GAP_NS 10000000ull /* at least this long between two moves */
#define MOVE_PACE 3             /* and thrice as long as the last move took */
#define HOLD_PAUSE_NS 2000000   /* between two partial invalidations */
#define HOLD_LOOKS 16
#define HOLD_GAP_NS 20000   /* between two looks: the guests fault meanwhile */
#define SETTLE_GAP_NS 20000 /* between two tries of the settler's add */
#define MAX_NEIGHBOURS 8

enum { MA_NONE, MA_WRITE, MA_READ };
enum { MOVE_RUNNING, MOVE_DONE, MOVE_FAILED };

/* One word of the migrant's: what M must hold there. */
struct mword {
	uint64_t last; /* the last sure write (0: none yet) */
	uint64_t lo;   /* while unsure: the sequence of the first unsure write */
	bool unsure;   /* written since by an access that raced a move */
};

struct migrant {
	struct torture_slots *s;
	struct tdpmmu_vcpu *v;
	pthread_t thread;
	struct mword w[USED_PAGES][MIGRANT_WORDS];
	uint64_t rnd, seq, val;
	uint64_t seq0; /* move_seq when the pending access was chosen */
	unsigned pu, pw;
	int pending, left;
	uint64_t accesses, reads, unsure, skips, enomem, mismatches;
	/* For a hang report: the gpa of the access in flight, 0 outside tdpmmu_vcpu_run. */
	_Atomic uint64_t in_flight;
} cacheline_aligned;

/* The settler and its handshake with the mover (like the log racers'). */
struct settler {
	pthread_mutex_t m;
	pthread_cond_t c;
	uint64_t gfn; /* the place to take */
	unsigned posted, done;
	bool stop;
	_Atomic int move; /* MOVE_*: the state of the move that frees gfn */
	struct tdpmmu_vcpu *v;
	pthread_t thread;
	uint64_t rnd;
	bool out_of_frames; /* the round's frames are used up: no more T */
	uint64_t temps, early, enomem;
	_Atomic uint64_t in_flight; /* as the migrant's */
} cacheline_aligned;

struct torture_slots {
	struct torture_slots_env env;
	uint64_t place[NPLACES];
	uint64_t page[USED_PAGES]; /* the used pages, as page offsets in M */
	_Atomic uint64_t base;     /* M's base gfn: stored by the mover after a move */
	_Atomic uint64_t move_seq; /* odd while a move runs */
	/* The mover's, and the main thread's while the mover is parked. */
	uint64_t shadow[USED_PAGES][USED_WORDS];
	uint64_t junk[USED_PAGES][TEMP_WORDS]; /* reported in M's T words already */
	unsigned cur;                          /* M's place */
	pthread_t mover;
	uint64_t rnd;
	uint64_t moves, skewed, harvests, dirty, compared, holds, hold_faults;
	struct migrant mg;
	struct settler st;
};

#define SLOT_VIOLATION(s, ...)                                                                     \
	do {                                                                                       \
		atomic_fetch_add((s)->env.violations, 1);                                          \
		torture_violation(__VA_ARGS__);                                                    \
	} while (0)

/* A quiescent check prints the first REPORT_MAX of each kind and counts them all. */
#define REPORT_MAX 4
#define SLOT_REPORT(s, count, ...)                                                                 \
	do {                                                                                       \
		atomic_fetch_add((s)->env.violations, 1);                                          \
		if ((count)++ < REPORT_MAX)                                                        \
			torture_violation(__VA_ARGS__);                                            \
	} while (0)

static inline unsigned word_off(unsigned j)
{
	return j < MIGRANT_WORDS ? 8 * j : TEMP_OFF + 8 * (j - MIGRANT_WORDS);
}

static inline uint64_t gpa_of(uint64_t base, uint64_t page, unsigned j)
{
	return ((base + page) << TDPMMU_PAGE_SHIFT) + word_off(j);
}

static inline uint64_t huge_pages(void)
{
	return tdpmmu_level_pages(TDPMMU_LEVEL_2M);
}

static inline bool benign_enomem(const struct torture_slots *s, int e)
{
	return e == -ENOMEM && s->env.alloc_fail;
}

/* slots_migrant.c: the migrant's thread (@arg: struct migrant). */
void *migrant_thread(void *arg);

/* slots_oracle.c: copy page @u of M at @base into the shadow; harvest M's log into it. */
void shadow_page(struct torture_slots *s, unsigned u, uint64_t base);
void harvest(struct torture_slots *s);

/* slots_settler.c: the settler's thread (@arg: the churn), and the mover's handshake. */
void *settler_thread(void *arg);
/* Tell the settler that M is about to leave @gfn... */
void settler_post(struct settler *st, uint64_t gfn);
/* ...and wait until it has checked and deleted its temporary slot there. */
void settler_wait(struct settler *st);

/* slots_mover.c: the mover's thread (@arg: the churn). */
void *mover_thread(void *arg);

#endif /* TDPMMU_CLI_TORTURE_SLOTS_H */
