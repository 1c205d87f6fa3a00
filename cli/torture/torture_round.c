/*
 * torture_round.c - one torture round: a VM with real memory, and at once:
 *
 *   guest vCPUs   each owns words spread over a THP slot and an anonymous
 *                 slot; its guest program writes tagged values, reads them
 *                 back (a read must return the vCPU's last write there) and
 *                 fetches from its pages (NX splits huge pages).  An eighth
 *                 of every vCPU's words lie on a few pages of the THP slot
 *                 that all vCPUs share, so read and write faults on one
 *                 page meet (while it logs, too); the host's first touch
 *                 of each page sleeps (host_fault_us), so the vCPUs that
 *                 wait for it wake together;
 *   host churn    the library's host_churn thread migrates and compacts
 *                 2 MiB blocks (invalidate, new frames with the bytes
 *                 copied, end);
 *   chaos         a thread with a vCPU of its own that never enters guest
 *                 mode: splits and huge-over-table faults, small zaps,
 *                 huge-page recovery both ways, aging, write protection,
 *                 dirty logging with eager splitting on the THP slot (which
 *                 then recovers on disable), fast zaps;
 *   racers        two threads fault the same few blocks of a third slot,
 *                 one capped at 4K and one uncapped, so tables are replaced
 *                 under walkers all the time (the seed thread's case);
 *   log racers    vCPU A writes a page of a fourth slot, which always
 *                 logs, while vCPU B reads it: both are the page's first
 *                 touch, so both wait out the host fault and wake
 *                 together; every few pages A's thread harvests, checks
 *                 that the pages A wrote again after the previous harvest
 *                 are all in it, and A writes the pages raced since once
 *                 more (the lost-write sequence of issue 15, as a user
 *                 met it);
 *   tracker       adds write tracking for one of the shared pages, holds
 *                 it a millisecond, removes it, over and over: a guest
 *                 write begun while tracking was on (and stayed on until
 *                 the write was done) must have faulted (its vCPU's EPT
 *                 violations went up), never gone through a translation
 *                 cached before the tracking;
 *   NX recovery   the library's thread, every 10 ms;
 *   slot churn    (torture_slots.c) a fifth slot, THP and always logging,
 *                 moves between places above the others, keeping or
 *                 changing its offset inside 2 MiB, while a vCPU of its
 *                 own writes and reads it at its current base.  Each move
 *                 zaps everything, so moves are paced (at most a quarter
 *                 of the time, and 10 ms apart).  Right before each move
 *                 its dirty log is harvested into a shadow copy (the
 *                 migration oracle); during it a temporary slot is added
 *                 where it leaves, as soon as the library lets go of the
 *                 place (while the move still runs, if it allows that),
 *                 written and read by another vCPU, checked through the
 *                 host (its words hold what was written there, the moved
 *                 slot's do not) and deleted, after which the range must
 *                 fault with -ENOENT.  Between moves the same thread holds
 *                 invalidations of one gfn inside a huge page of the THP
 *                 slot, checking that no fault maps it (no huge leaf over
 *                 it) until the end.
 *
 * Every check_ms the main thread stops everyone (the churn thread is
 * stopped and joined; the others park between units of work) and checks:
 * the audit (accounting against a full walk, every leaf against the
 * memslots), every word through the host, every mapped word's frame
 * against the host's, Dirty never lost (a page written since the last
 * check has a Dirty leaf or a dirty host frame; then the host writes every
 * page back, tdpmmu_host_writeback), and the reclamation counts.  Then
 * three checks of what the MMU promised, not only what it holds:
 *   every vCPU's TLB against the tables (tdpmmu_audit_tlbs): nothing
 *   cached grants W, X or a frame that the leaf does not;
 *   KVM's dirty_log_test oracle, while the THP slot logs: every page of
 *   it written by an access that began after the last harvest returned
 *   (the chaos thread's get, or enable) is in the harvest made now;
 *   the migration oracle, at the moving slot's current base: after a
 *   final harvest the shadow copy built from every harvest since logging
 *   began equals host memory (no dirty write went unreported, across
 *   moves too); its vCPU's words hold its last write (or, for writes that
 *   raced a move, one of them); the words only temporary slots write are
 *   still 0 in it; its mappings point at its frames.
 * A thread that does not park within PARK_TIMEOUT_S is a hang: the round
 * reports it and the program exits.
 *
 * Concurrency of the harness: a guest's fields are written by its vCPU
 * thread only while it runs and read by the main thread while it is
 * parked; parking is under the round's mutex, which orders both.  The
 * written-pages bitmap and the violation count are atomics.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/compiler.h"
#include "testing/host_churn.h"
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
#define LOG_BATCH 8 /* pages raced between two of the log racers' harvests */
#define WORDS 128      /* per vCPU */
#define SHARED_WORDS (WORDS / 8) /* of them on the shared pages */
#define SHARED_PAGES 32          /* in the THP slot, two per 2 MiB block */
#define HOST_FAULT_US 2000
#define BURST 512      /* accesses per tdpmmu_vcpu_run */
#define PAYLOAD (16ull << 30) /* frames for the slots and ~4000 churn cycles */
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
	uint64_t rnd, seq, prev; /* prev: the word's value before the pending write */
	uint64_t epoch;          /* the log epoch when the pending access was chosen */
	bool must_fault;         /* the pending write is to a tracked gfn */
	uint64_t track_seq, violations0; /* when it was chosen */
	uint64_t tracked_writes, escapes;
	int j, pending, left;
	uint64_t accesses, reads, mismatches, enomem;
	pthread_t thread;
} __cacheline_aligned;

struct racer {
	struct round *r;
	struct tdpmmu_vcpu *v;
	uint64_t rnd, faults, enomem;
	bool huge; /* maps huge over tables; the other splits them at 4K */
	pthread_t thread;
} __cacheline_aligned;

/* The log racers: A's thread drives, B's thread reads when told. */
struct log_racers {
	struct round *r;
	struct tdpmmu_vcpu *a, *b;
	pthread_t a_thread, b_thread;
	pthread_mutex_t m;
	pthread_cond_t c;
	uint64_t page;       /* B's next page; UINT64_MAX: stop */
	unsigned posted, done;
	uint64_t next;       /* first page never touched */
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
	struct tdp_churn churn;
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

static uint64_t next_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define VIOLATION(r, ...)                                                                          \
	do {                                                                                       \
		atomic_fetch_add(&(r)->violations, 1);                                             \
		torture_violation(__VA_ARGS__);                                                    \
	} while (0)

/* The guest program (runs in guest mode: no locks, no waiting). */
static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct tguest *g = ctx;
	struct tword *w = &g->w[g->j];
	uint64_t x, gfn = w->gpa >> 12;

	if (g->pending == P_READ) {
		g->reads++;
		if (a->value != w->last) {
			if (!g->mismatches++)
				torture_violation("vCPU %u read 0x%llx at gpa 0x%llx, wrote 0x%llx last",
						  g->id, (unsigned long long)a->value,
						  (unsigned long long)w->gpa,
						  (unsigned long long)w->last);
		}
	} else if (g->pending == P_WRITE) {
		atomic_fetch_or_explicit(&g->r->written[gfn / 64], 1ull << (gfn % 64),
					 memory_order_relaxed);
		if (g->must_fault && atomic_load(&g->r->track_seq) == g->track_seq) {
			struct tdpmmu_vcpu_stats st;

			/* Tracked from before the write was chosen until now: it faulted. */
			tdpmmu_vcpu_stats_read(g->v, &st);
			g->tracked_writes++;
			if (st.ept_violations == g->violations0 && !g->escapes++)
				torture_violation("vCPU %u wrote gpa 0x%llx, write-tracked since before "
						  "the write, without a fault",
						  g->id, (unsigned long long)w->gpa);
		}
		if (gfn < THP_PAGES) {
			uint64_t e = atomic_load_explicit(&g->r->log_epoch[gfn], memory_order_relaxed);

			while (e < g->epoch && !atomic_compare_exchange_weak(&g->r->log_epoch[gfn],
									     &e, g->epoch))
				;
		}
	}
	if (g->left-- <= 0) {
		g->pending = P_NONE;
		return false;
	}
	x = next_rnd(&g->rnd);
	g->j = (int)(x % WORDS);
	w = &g->w[g->j];
	a->gpa = w->gpa;
	g->accesses++;
	/* Before the access begins: a harvest that returned earlier must see it. */
	g->epoch = atomic_load(&g->r->epoch);
	switch ((x >> 32) % 10) {
	case 0:
		a->type = TDPMMU_ACCESS_EXEC; /* the value fetched is not checked */
		g->pending = P_EXEC;
		break;
	case 1: case 2: case 3: case 4:
		a->type = TDPMMU_ACCESS_WRITE;
		g->prev = w->last;
		a->value = w->last = ((uint64_t)g->id << 48) | ++g->seq;
		g->pending = P_WRITE;
		/* The sequence first: a removal that starts after this read changes it. */
		g->track_seq = atomic_load(&g->r->track_seq);
		g->must_fault = (a->gpa >> 12) < THP_PAGES &&
				atomic_load(&g->r->tracked[a->gpa >> 12]);
		if (g->must_fault) {
			struct tdpmmu_vcpu_stats st;

			tdpmmu_vcpu_stats_read(g->v, &st);
			g->violations0 = st.ept_violations;
		}
		break;
	default:
		a->type = TDPMMU_ACCESS_READ;
		g->pending = P_READ;
	}
	return true;
}

/* Park while the main thread checks; false once the round is over. */
static bool checkpoint(struct round *r)
{
	bool go;

	pthread_mutex_lock(&r->m);
	if (r->pause && !r->stop) {
		r->parked++;
		pthread_cond_broadcast(&r->c);
		while (r->pause && !r->stop)
			pthread_cond_wait(&r->c, &r->m);
		r->parked--;
	}
	go = !r->stop;
	pthread_mutex_unlock(&r->m);
	return go;
}

static void *guest_thread(void *arg)
{
	struct tguest *g = arg;

	while (checkpoint(g->r)) {
		int e;

		g->left = BURST;
		e = tdpmmu_vcpu_run(g->v, guest_next, g, 0);
		if (e == -ENOMEM && g->r->o->alloc_fail) {
			/* The faulting access was not made: a write did not happen. */
			if (g->pending == P_WRITE)
				g->w[g->j].last = g->prev;
			g->enomem++;
		} else if (e) {
			VIOLATION(g->r, "vCPU %u: tdpmmu_vcpu_run returned %d", g->id, e);
		}
		g->pending = P_NONE;
	}
	return NULL;
}

/*
 * The seed thread's case, hammered: two threads with vCPUs of their own
 * fault the same few 2 MiB blocks, one capped at 4K (tables appear, huge
 * leaves split), one uncapped (huge leaves replace those tables), so
 * walkers keep meeting tables that are being torn down.
 */
static void *racer_thread(void *arg)
{
	struct racer *k = arg;

	while (checkpoint(k->r)) {
		for (int i = 0; i < 16; i++) {
			uint64_t gfn = RACE_BASE + next_rnd(&k->rnd) % RACE_PAGES;
			int e = tdpmmu_fault(k->v, gfn, TDPMMU_ACCESS_WRITE, k->huge ? 0 : 1, NULL);

			if (e == -ENOMEM && k->r->o->alloc_fail)
				k->enomem++;
			else if (e)
				VIOLATION(k->r, "racer fault at gfn 0x%llx returned %d",
					  (unsigned long long)gfn, e);
			k->faults++;
		}
		/* Pacing, not synchronisation: leave the other threads their share. */
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	return NULL;
}

/* One guest access, then out of guest mode. */
struct one_access {
	uint64_t gpa;
	unsigned type;
	bool done;
};

static bool one_next(void *ctx, struct tdpmmu_access *a)
{
	struct one_access *o = ctx;

	if (o->done)
		return false;
	o->done = true;
	a->gpa = o->gpa;
	a->type = o->type;
	a->value = o->gpa;
	return true;
}

/* Whether the access was made (not under an injected allocation failure). */
static bool lr_access(struct log_racers *l, struct tdpmmu_vcpu *v, uint64_t gfn, unsigned type)
{
	struct one_access o = { gfn << 12, type, false };
	int e = tdpmmu_vcpu_run(v, one_next, &o, 0);

	if (e && !(e == -ENOMEM && l->r->o->alloc_fail))
		VIOLATION(l->r, "log racer: access to gfn 0x%llx returned %d",
			  (unsigned long long)gfn, e);
	return !e;
}

static void *lr_b_thread(void *arg)
{
	struct log_racers *l = arg;

	for (unsigned n = 1;; n++) {
		uint64_t page;

		pthread_mutex_lock(&l->m);
		while (l->posted < n)
			pthread_cond_wait(&l->c, &l->m);
		page = l->page;
		pthread_mutex_unlock(&l->m);
		if (page == UINT64_MAX)
			return NULL;
		lr_access(l, l->b, page, TDPMMU_ACCESS_READ);
		pthread_mutex_lock(&l->m);
		l->done++;
		pthread_cond_broadcast(&l->c);
		pthread_mutex_unlock(&l->m);
	}
}

/* Tell B to read @page (UINT64_MAX: to stop). */
static void lr_post(struct log_racers *l, uint64_t page)
{
	pthread_mutex_lock(&l->m);
	l->page = page;
	l->posted++;
	pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
}

static void lr_wait_b(struct log_racers *l)
{
	pthread_mutex_lock(&l->m);
	while (l->done < l->posted)
		pthread_cond_wait(&l->c, &l->m);
	pthread_mutex_unlock(&l->m);
}

/*
 * Harvest slot 3: every page A wrote again after the previous harvest must
 * be in it; then A writes the pages raced since, once more.
 */
static void lr_harvest(struct log_racers *l)
{
	static uint64_t bitmap[LOG_PAGES / 64];
	int e = tdpmmu_dirty_log_get(l->r->vm, 3, bitmap);

	if (e < 0) {
		VIOLATION(l->r, "log racer: get returned %d", e);
		return;
	}
	for (unsigned i = 0; i < l->nrewritten; i++) {
		uint64_t p = l->rewritten[i] - LOG_BASE;

		l->checked++;
		if (!(bitmap[p / 64] >> (p % 64) & 1))
			VIOLATION(l->r, "log racer: gfn 0x%llx was written after a harvest "
				  "returned, and the next harvest does not report it",
				  (unsigned long long)l->rewritten[i]);
	}
	/* Only a write that was made must be reported: a failed one wrote nothing. */
	l->nrewritten = 0;
	for (unsigned i = 0; i < l->nraced; i++)
		if (lr_access(l, l->a, l->raced[i], TDPMMU_ACCESS_WRITE))
			l->rewritten[l->nrewritten++] = l->raced[i];
	l->nraced = 0;
}

static void *lr_a_thread(void *arg)
{
	struct log_racers *l = arg;

	while (checkpoint(l->r)) {
		uint64_t gfn = LOG_BASE + l->next;

		if (l->next >= LOG_PAGES) {
			/* Every page touched: no more first touches this round. */
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL); /* pacing */
			continue;
		}
		l->next++;
		lr_post(l, gfn);
		lr_access(l, l->a, gfn, TDPMMU_ACCESS_WRITE);
		lr_wait_b(l);
		l->races++;
		l->raced[l->nraced++] = gfn;
		if (l->nraced == LOG_BATCH)
			lr_harvest(l);
	}
	lr_post(l, UINT64_MAX);
	return NULL;
}

static void lr_start(struct round *r)
{
	struct log_racers *l = &r->lr;

	l->r = r;
	pthread_mutex_init(&l->m, NULL);
	pthread_cond_init(&l->c, NULL);
	if (tdpmmu_vcpu_create(r->vm, &l->a) || tdpmmu_vcpu_create(r->vm, &l->b) ||
	    pthread_create(&l->b_thread, NULL, lr_b_thread, l) ||
	    pthread_create(&l->a_thread, NULL, lr_a_thread, l))
		fatal("torture: cannot start the log racers");
}

static void lr_stop(struct round *r)
{
	struct log_racers *l = &r->lr;

	pthread_join(l->a_thread, NULL);
	pthread_join(l->b_thread, NULL);
	tdpmmu_vcpu_destroy(l->a);
	tdpmmu_vcpu_destroy(l->b);
	pthread_cond_destroy(&l->c);
	pthread_mutex_destroy(&l->m);
}

/* A shared page of the THP slot, where every vCPU has words (place_words). */
static uint64_t shared_gfn(uint64_t x)
{
	return (x % (SHARED_PAGES / 2)) * BLOCK + (x / SHARED_PAGES % 2 ? 300 : 7);
}

static void *tracker_thread(void *arg)
{
	struct round *r = arg;
	uint64_t rnd = (uintptr_t)r | 1;

	while (checkpoint(r)) {
		uint64_t gfn = shared_gfn(next_rnd(&rnd));
		int e = tdpmmu_write_track_add(r->vm, gfn);

		if (e) {
			VIOLATION(r, "tracker: write_track_add(0x%llx) returned %d",
				  (unsigned long long)gfn, e);
			continue;
		}
		atomic_store(&r->tracked[gfn], 1);
		/* Pacing, not synchronisation: let the guests write it a while. */
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		atomic_store(&r->tracked[gfn], 0);
		atomic_fetch_add(&r->track_seq, 1);
		e = tdpmmu_write_track_remove(r->vm, gfn);
		if (e)
			VIOLATION(r, "tracker: write_track_remove(0x%llx) returned %d",
				  (unsigned long long)gfn, e);
		r->track_changes += 2;
	}
	return NULL;
}

static uint64_t chaos_gfn(struct round *r)
{
	struct tguest *g = &r->g[next_rnd(&r->chaos_rnd) % r->n];

	return g->w[next_rnd(&r->chaos_rnd) % WORDS].gpa >> 12;
}

/* One random MMU operation; any error is a violation. */
static void chaos_op(struct round *r)
{
	struct tdpmmu_vm *vm = r->vm;
	uint64_t x = next_rnd(&r->chaos_rnd), gfn = chaos_gfn(r);
	uint64_t bitmap[THP_PAGES / 64]; /* what a get returns; only its errors matter */
	const char *what = NULL;
	int e = 0;

	switch (x % 16) {
	case 0: case 1: case 2:
		what = "split (fault capped at 4K)";
		e = tdpmmu_fault(r->cv, gfn, TDPMMU_ACCESS_READ, 1, NULL);
		break;
	case 3: case 4: case 5:
		what = "huge over table (uncapped fault)";
		e = tdpmmu_fault(r->cv, gfn, TDPMMU_ACCESS_READ, 0, NULL);
		break;
	case 6:
		what = "zap range";
		e = tdpmmu_zap_range(vm, gfn, gfn + 1 + (x >> 8) % 700);
		break;
	case 7:
		if (r->logging)
			break; /* -EINVAL on a logging slot: dirty logging recovers on disable */
		what = "recover huge pages";
		e = tdpmmu_recover_huge_pages(vm, 0, (x >> 8) & 1 ? TDPMMU_RECOVER_ZAP
								   : TDPMMU_RECOVER_INPLACE);
		break;
	case 8:
		what = "aging";
		e = (x >> 8) & 1 ? tdpmmu_clear_young(vm, 0, ALL_PAGES)
				 : tdpmmu_clear_flush_young(vm, gfn & ~(BLOCK - 1),
							    (gfn & ~(BLOCK - 1)) + BLOCK);
		break;
	case 9:
		what = "write protect";
		e = tdpmmu_write_protect_gfn(vm, gfn);
		break;
	case 10: case 11:
		if (!r->logging) {
			what = "dirty log enable";
			e = tdpmmu_dirty_log_enable(vm, 0, (x >> 8) & 1 ? TDPMMU_DIRTY_LOG_EAGER_SPLIT
								       : 0);
			atomic_fetch_add(&r->epoch, 1);
			/* Eager splitting out of tables: logging is on, fewer leaves split. */
			r->logging = e >= 0 || e == -ENOMEM;
		} else if ((x >> 8) % 4) {
			what = "dirty log get";
			e = tdpmmu_dirty_log_get(vm, 0, bitmap);
			atomic_fetch_add(&r->epoch, 1);
		} else {
			what = "dirty log disable";
			e = tdpmmu_dirty_log_disable(vm, 0, (enum tdpmmu_huge_recovery)((x >> 10) % 3));
			r->logging = false;
		}
		break;
	case 12:
		if ((x >> 8) % 8 == 0) {
			what = "fast zap";
			e = tdpmmu_zap_all_fast(vm);
		}
		break;
	default:
		sched_yield();
	}
	/* Several calls return a count; only a negative errno is a failure. */
	if (e == -ENOMEM && r->o->alloc_fail)
		r->chaos_enomem++;
	else if (e < 0)
		VIOLATION(r, "chaos: %s at gfn 0x%llx returned %d", what, (unsigned long long)gfn,
			  e);
	r->chaos_ops++;
}

static void *chaos_thread(void *arg)
{
	struct round *r = arg;

	while (checkpoint(r))
		chaos_op(r);
	return NULL;
}

static void churn_start(struct round *r, uint64_t seed)
{
	int e;

	if (atomic_load(&r->churn.out_of_frames))
		return; /* this round's frames are used up: no more remaps */
	e = tdp_churn_start(&r->churn, r->vm, 0, ALL_PAGES, seed);
	if (e)
		VIOLATION(r, "host churn did not start: %d", e);
}

static void churn_stop(struct round *r)
{
	tdp_churn_stop(&r->churn);
	r->churn_cycles += atomic_load(&r->churn.cycles);
	if (atomic_load(&r->churn.error))
		VIOLATION(r, "host churn failed: %d", atomic_load(&r->churn.error));
}

/* A written page keeps Dirty in its leaf or in its host frame. */
static bool dirty_somewhere(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;
	bool dirty = false;

	if (!tdpmmu_lookup(vm, gfn, &m) && m.present && spte_is_dirty(m.spte))
		return true;
	return !tdpmmu_host_dirty(vm, gfn, &dirty) && dirty;
}

/*
 * KVM's dirty_log_test oracle at a quiescent point: harvest the THP slot
 * now; every page written by an access chosen after the last harvest
 * returned must be in it.
 */
static void dirty_log_oracle(struct round *r)
{
	static uint64_t bitmap[THP_PAGES / 64];
	uint64_t epoch = atomic_load(&r->epoch);
	int e = tdpmmu_dirty_log_get(r->vm, 0, bitmap);

	if (e < 0) {
		VIOLATION(r, "dirty-log oracle: get returned %d", e);
		return;
	}
	r->oracle_checked++;
	for (uint64_t gfn = 0; gfn < THP_PAGES; gfn++) {
		if (atomic_load(&r->log_epoch[gfn]) != epoch)
			continue;
		r->oracle_pages++;
		if (!(bitmap[gfn / 64] >> (gfn % 64) & 1))
			VIOLATION(r, "dirty-log oracle: gfn 0x%llx was written after the last "
				  "harvest returned, and this harvest does not report it",
				  (unsigned long long)gfn);
	}
	atomic_fetch_add(&r->epoch, 1);
}

/*
 * Everything the torture started is parked (or stopped): check what must
 * hold at rest.  The library's NX recovery thread still runs.
 */
static void quiescent_checks(struct round *r)
{
	struct tdpmmu_reclaim_stats rs;
	int bad;

	bad = tdpmmu_audit(r->vm);
	if (bad)
		VIOLATION(r, "audit: %d violations (details above)", bad);
	bad = tdpmmu_audit_tlbs(r->vm);
	if (bad)
		VIOLATION(r, "TLB audit: %d translations grant more than their leaves (details "
			  "above)", bad);
	if (r->logging)
		dirty_log_oracle(r);
	for (unsigned i = 0; i < r->n; i++) {
		for (int j = 0; j < WORDS; j++) {
			const struct tword *w = &r->g[i].w[j];
			uint64_t gfn = w->gpa >> 12, v = 0, pfn = 0;
			struct tdpmmu_mapping m;

			if (tdpmmu_host_read(r->vm, w->gpa, &v) || v != w->last)
				VIOLATION(r, "word at gpa 0x%llx: host has 0x%llx, vCPU %u wrote 0x%llx",
					  (unsigned long long)w->gpa, (unsigned long long)v, i,
					  (unsigned long long)w->last);
			if (!tdpmmu_lookup(r->vm, gfn, &m) && m.present &&
			    (tdpmmu_host_pfn(r->vm, gfn, &pfn) || m.pfn != pfn))
				VIOLATION(r, "gfn 0x%llx maps frame 0x%llx, the host's is 0x%llx",
					  (unsigned long long)gfn, (unsigned long long)m.pfn,
					  (unsigned long long)pfn);
		}
	}
	for (uint64_t gfn = 0; gfn < ALL_PAGES; gfn++) {
		if (!(atomic_load(&r->written[gfn / 64]) & (1ull << (gfn % 64))) ||
		    dirty_somewhere(r->vm, gfn))
			continue;
		/*
		 * The NX recovery thread is not parked: it may have unlinked the
		 * table of this leaf and not yet torn it down (which marks the
		 * frame).  The audit's write lock waits for that; look again.
		 */
		(void)tdpmmu_audit(r->vm);
		if (!dirty_somewhere(r->vm, gfn))
			VIOLATION(r, "gfn 0x%llx was written, but neither its leaf nor its frame is "
				  "dirty: a Dirty bit was lost", (unsigned long long)gfn);
	}
	/* The host writes everything back: the next period starts clean. */
	for (uint64_t i = 0; i < ALL_PAGES / 64; i++)
		atomic_store(&r->written[i], 0);
	for (uint64_t gfn = 0; gfn < ALL_PAGES; gfn++)
		if (tdpmmu_host_writeback(r->vm, gfn))
			VIOLATION(r, "writeback of gfn 0x%llx failed", (unsigned long long)gfn);
	torture_slots_check(r->slots);
	/*
	 * The NX recovery thread and the strategy's own freeing (RCU
	 * callbacks, drains) still run: a table between its two counts makes
	 * one read disagree.  Only a disagreement that stays is a violation.
	 */
	for (int i = 0; i < 1000; i++) {
		tdpmmu_reclaim_stats_read(r->vm, &rs);
		if (rs.freed <= rs.retired && rs.outstanding == rs.retired - rs.freed)
			break;
		sched_yield();
	}
	if (rs.freed > rs.retired || rs.outstanding != rs.retired - rs.freed)
		VIOLATION(r, "reclaim: %llu retired, %llu freed, %llu outstanding",
			  (unsigned long long)rs.retired, (unsigned long long)rs.freed,
			  (unsigned long long)rs.outstanding);
}

/*
 * Stop everyone.  A thread that never parks is stuck in the library (a
 * fault that waits forever, say): no check could run, so report it and
 * end the program, with the verdict line, rather than hang.
 */
static void pause_all(struct round *r)
{
	struct timespec deadline;

	churn_stop(r);
	clock_gettime(CLOCK_REALTIME, &deadline); /* the condition variable's clock */
	deadline.tv_sec += PARK_TIMEOUT_S;
	pthread_mutex_lock(&r->m);
	r->pause = true;
	while (r->parked < r->workers) {
		if (pthread_cond_timedwait(&r->c, &r->m, &deadline) == ETIMEDOUT &&
		    r->parked < r->workers) {
			torture_violation("%u of %u threads did not stop within %d s: one hangs",
					  r->workers - r->parked, r->workers, PARK_TIMEOUT_S);
			torture_slots_report_stuck(r->slots);
			printf("violations: %llu\n",
			       (unsigned long long)atomic_load(&r->violations) + 1);
			fflush(stdout);
			_exit(1);
		}
	}
	pthread_mutex_unlock(&r->m);
}

static void resume_all(struct round *r, uint64_t seed)
{
	pthread_mutex_lock(&r->m);
	r->pause = false;
	pthread_cond_broadcast(&r->c);
	pthread_mutex_unlock(&r->m);
	churn_start(r, seed);
}

static bool checkpoint_cb(void *ctx)
{
	return checkpoint(ctx);
}

/* The slot churn, above slot 3; its partial invalidations go next to the shared pages. */
static void slots_start(struct round *r, uint64_t seed)
{
	struct torture_slots_env env = {
		.vm = r->vm,
		.region = SLOTS_BASE,
		.hot = r->hot,
		.nhot = SHARED_PAGES,
		.alloc_fail = r->o->alloc_fail,
		.checkpoint = checkpoint_cb,
		.ctx = r,
		.violations = &r->violations,
		.seed = seed * 0x2545f4914f6cdd1dull + 3,
	};

	/* shared_gfn(x): x % 16 picks the block, bit 5 of x the page in it. */
	for (unsigned k = 0; k < SHARED_PAGES; k++)
		r->hot[k] = shared_gfn(k % 16 + k / 16 * 32);
	r->slots = torture_slots_start(&env);
}

static struct tdpmmu_vm *make_vm(enum tdpmmu_strategy s)
{
	struct tdpmmu_memslot thp = { 0, 0, THP_PAGES, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_memslot anon = { 1, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_memslot race = { 2, RACE_BASE, RACE_PAGES, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_memslot log = { 3, LOG_BASE, LOG_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	int e;

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = s;
	/* A small fan-out (TDP_PT_BITS) needs the fifth level to cover the slots. */
	cfg.levels = 4 * TDP_PT_BITS >= 20 ? 4 : 5;
	cfg.max_tables = 1 << 16;
	cfg.payload_bytes = PAYLOAD + torture_slots_payload_bytes();
	cfg.nx_huge_pages = true;
	cfg.nx_recovery_period_ms = 10;
	cfg.nx_recovery_ratio = 4;
	cfg.host_fault_us = HOST_FAULT_US;
	e = tdpmmu_vm_create(&cfg, &vm);
	if (!e)
		e = tdpmmu_memslot_add(vm, &thp);
	if (!e)
		e = tdpmmu_memslot_add(vm, &anon);
	if (!e)
		e = tdpmmu_memslot_add(vm, &race);
	if (!e)
		e = tdpmmu_memslot_add(vm, &log);
	if (!e && tdpmmu_dirty_log_enable(vm, 3, 0) < 0)
		e = -EIO;
	if (e)
		fatal("torture: creating the VM: %s", strerror(-e));
	return vm;
}

/*
 * vCPU @i's words: on distinct pages of both memslots, at offset 8 * i, so
 * vCPUs share pages (and leaves, and tables) but never a word.
 */
static void place_words(struct round *r, uint64_t seed)
{
	for (unsigned i = 0; i < r->n; i++) {
		struct tguest *g = &r->g[i];

		g->r = r;
		g->id = i;
		g->rnd = seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
		for (int j = 0; j < WORDS; j++) {
			uint64_t gfn;
			int k;

			do {
				uint64_t x = next_rnd(&g->rnd);

				gfn = j < SHARED_WORDS ? shared_gfn(x) : x % ALL_PAGES;
				for (k = 0; k < j && g->w[k].gpa >> 12 != gfn; k++)
					;
			} while (k < j);
			g->w[j].gpa = (gfn << 12) + 8ull * i;
			g->w[j].last = 0;
		}
	}
}

void torture_round(const struct torture_opts *o, enum tdpmmu_strategy s, double seconds,
		   uint64_t seed, struct torture_result *res)
{
	struct round *r = calloc(1, sizeof(*r));
	uint64_t end, next_check;
	int64_t c[TDPMMU_NR_COUNTERS];

	if (!r)
		fatal("out of memory");
	r->o = o;
	r->n = o->vcpus;
	r->g = aligned_alloc(TDP_CACHELINE, sizeof(*r->g) * r->n);
	if (!r->g)
		fatal("out of memory");
	memset(r->g, 0, sizeof(*r->g) * r->n);
	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->c, NULL);
	r->vm = make_vm(s);
	r->churn.discard_old = true;
	r->chaos_rnd = seed | 1;
	place_words(r, seed);
	/* + the log racers' driver, the tracker, the slot churn's */
	r->workers = r->n + 1 + RACERS + 2 + TORTURE_SLOTS_THREADS;
	for (unsigned i = 0; i < r->n; i++) {
		if (tdpmmu_vcpu_create(r->vm, &r->g[i].v) ||
		    pthread_create(&r->g[i].thread, NULL, guest_thread, &r->g[i]))
			fatal("torture: cannot start vCPU %u", i);
	}
	if (tdpmmu_vcpu_create(r->vm, &r->cv) || pthread_create(&r->chaos, NULL, chaos_thread, r))
		fatal("torture: cannot start the chaos thread");
	for (int i = 0; i < RACERS; i++) {
		struct racer *k = &r->racer[i];

		k->r = r;
		k->huge = i & 1;
		k->rnd = (seed + 77 * (uint64_t)i) | 1;
		if (tdpmmu_vcpu_create(r->vm, &k->v) ||
		    pthread_create(&k->thread, NULL, racer_thread, k))
			fatal("torture: cannot start racer %d", i);
	}
	lr_start(r);
	if (pthread_create(&r->tracker, NULL, tracker_thread, r))
		fatal("torture: cannot start the tracker");
	slots_start(r, seed);
	churn_start(r, seed * 31 + 7);

	end = tdp_now_ns() + (uint64_t)(seconds * 1e9);
	next_check = tdp_now_ns() + o->check_ms * 1000000ull;
	for (;;) {
		uint64_t now = tdp_now_ns();

		if (now >= end)
			break;
		if (now < next_check) {
			struct timespec ts = { 0, 2000000 }; /* the run's pacing, not a sync */

			nanosleep(&ts, NULL);
			continue;
		}
		pause_all(r);
		quiescent_checks(r);
		res->checks++;
		resume_all(r, seed + now);
		next_check = tdp_now_ns() + o->check_ms * 1000000ull;
	}
	pause_all(r);
	quiescent_checks(r);
	res->checks++;
	pthread_mutex_lock(&r->m);
	r->stop = true;
	pthread_cond_broadcast(&r->c);
	pthread_mutex_unlock(&r->m);
	for (unsigned i = 0; i < r->n; i++)
		pthread_join(r->g[i].thread, NULL);
	pthread_join(r->chaos, NULL);
	lr_stop(r);
	pthread_join(r->tracker, NULL);
	torture_slots_stop(r->slots, res);
	res->track_changes += r->track_changes;
	res->log_races += r->lr.races;
	res->log_checked += r->lr.checked;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(r->racer[i].thread, NULL);
		res->enomem += r->racer[i].enomem;
		tdpmmu_vcpu_destroy(r->racer[i].v);
	}

	tdpmmu_counters_read(r->vm, c);
	for (int i = 0; i < TDPMMU_NR_COUNTERS; i++)
		res->counters[i] += c[i];
	tdpmmu_reclaim_stats_read(r->vm, &res->reclaim);
	for (unsigned i = 0; i < r->n; i++) {
		res->accesses += r->g[i].accesses;
		res->reads_checked += r->g[i].reads;
		atomic_fetch_add(&r->violations, r->g[i].mismatches + r->g[i].escapes);
		res->tracked_writes += r->g[i].tracked_writes;
		res->enomem += r->g[i].enomem;
		tdpmmu_vcpu_destroy(r->g[i].v);
	}
	tdpmmu_vcpu_destroy(r->cv);
	res->chaos_ops += r->chaos_ops;
	res->enomem += r->chaos_enomem;
	res->churn_cycles += r->churn_cycles;
	res->oracle_checked += r->oracle_checked;
	res->oracle_pages += r->oracle_pages;
	res->violations += atomic_load(&r->violations);
	res->rounds++;
	tdpmmu_vm_destroy(r->vm); /* BUGs on a leaked table or a counter not back at 0 */
	pthread_cond_destroy(&r->c);
	pthread_mutex_destroy(&r->m);
	free(r->g);
	free(r);
}
