/*
 * round.c - one torture round: a VM with real memory, and at once:
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
 *                 then recovers on disable), fast zaps, pre-faults of random
 *                 ranges (stopped by a round's pause, then resumed);
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
 *   slot churn    (slots.c) a fifth slot, THP and always logging,
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "torture/round.h"

/* Park while the main thread checks; false once the round is over. */
bool round_checkpoint(struct round *r)
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

static void churn_start(struct round *r, uint64_t seed)
{
	int e;

	if (atomic_load(&r->churn.out_of_frames))
		return; /* this round's frames are used up: no more remaps */
	e = tdpmmu_churn_start(&r->churn, r->vm, 0, ALL_PAGES, seed);
	if (e)
		VIOLATION(r, "host churn did not start: %d", e);
}

static void churn_stop(struct round *r)
{
	tdpmmu_churn_stop(&r->churn);
	r->churn_cycles += atomic_load(&r->churn.cycles);
	if (atomic_load(&r->churn.error))
		VIOLATION(r, "host churn failed: %d", atomic_load(&r->churn.error));
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
	return round_checkpoint(ctx);
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
		.mmio_caching = !r->o->no_mmio_caching,
	};

	/* shared_gfn(x): x % 16 picks the block, bit 5 of x the page in it. */
	for (unsigned k = 0; k < SHARED_PAGES; k++)
		r->hot[k] = shared_gfn(k % 16 + k / 16 * 32);
	r->slots = torture_slots_start(&env);
}

static struct tdpmmu_vm *make_vm(enum tdpmmu_strategy s, enum tdpmmu_preempt p,
				 enum tdpmmu_pages_mode pages, enum tdpmmu_dirty_mode dirty,
				 bool mmio_caching)
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
	cfg.preempt = p;
	cfg.pages = pages;
	cfg.dirty_mode = dirty;
	/* A small fan-out (tdpmmu_pt_bits()) needs the fifth level to cover the slots. */
	cfg.levels = 4 * tdpmmu_pt_bits() >= 20 ? 4 : 5;
	cfg.max_tables = 1 << 16;
	cfg.payload_bytes = PAYLOAD + torture_slots_payload_bytes();
	cfg.nx_huge_pages = true;
	cfg.nx_recovery_period_ms = 10;
	cfg.nx_recovery_ratio = 4;
	cfg.host_fault_us = HOST_FAULT_US;
	cfg.mmio_caching = mmio_caching;
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
	enum tdpmmu_preempt preempt = o->preempt != TORTURE_PREEMPT_ROTATE
					      ? (enum tdpmmu_preempt)o->preempt
				      : seed & 1 ? TDPMMU_PREEMPT_FULL
						 : TDPMMU_PREEMPT_VOLUNTARY;
	enum tdpmmu_pages_mode pages = o->pages != TORTURE_PAGES_ROTATE
					       ? (enum tdpmmu_pages_mode)o->pages
				       : seed & 2 ? TDPMMU_PAGES_LIST
						  : TDPMMU_PAGES_COUNT;
	enum tdpmmu_dirty_mode dirty = o->dirty_mode != TORTURE_DIRTY_ROTATE
					       ? (enum tdpmmu_dirty_mode)o->dirty_mode
				       : seed & 4 ? TDPMMU_DIRTY_DBIT
						  : TDPMMU_DIRTY_WRPROT;
	uint64_t end, next_check;
	int64_t c[TDPMMU_NR_COUNTERS];
	struct torture_ring *ring = NULL;

	if (!r)
		fatal("out of memory");
	r->o = o;
	r->n = o->vcpus;
	r->g = aligned_alloc(CACHELINE, sizeof(*r->g) * r->n);
	if (!r->g)
		fatal("out of memory");
	memset(r->g, 0, sizeof(*r->g) * r->n);
	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->c, NULL);
	r->vm = make_vm(s, preempt, pages, dirty, !o->no_mmio_caching);
	res->preempt_rounds[preempt]++;
	res->pages_rounds[pages]++;
	res->dirty_rounds[dirty]++;
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
	/* Some rounds also run a VM with dirty rings beside this one (ring.c). */
	if (TORTURE_RING_ROUND(seed))
		ring = torture_ring_start(s, preempt, pages, dirty, seed);

	end = now_ns() + (uint64_t)(seconds * 1e9);
	next_check = now_ns() + o->check_ms * 1000000ull;
	for (;;) {
		uint64_t now = now_ns();

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
		next_check = now_ns() + o->check_ms * 1000000ull;
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
	if (ring)
		torture_ring_stop(ring, res);
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
