/*
 * torture_slots.c - memslot churn under load, for the torture round: a
 * logging memslot that keeps moving while a vCPU writes it, a new slot
 * added where it just left, the migration oracle, and partial
 * invalidations inside huge pages.
 *
 * The migrant slot M (id MIGR_ID, THP, MIGR_PAGES pages) lives in the
 * free gfns above the round's slots, at one of NPLACES places that never
 * overlap; two of them share the offset inside a huge page and two are
 * skewed by SKEW pages, so a move keeps or changes that offset.  host
 * churn never touches M (it remaps only the round's first two slots), so
 * M's frames stay contiguous and every move must succeed.  M logs dirty
 * pages from the moment it is added (plain logging: a get clears what it
 * returns and write-protects it).
 *
 * Three threads.  The first two park at the round's checkpoint between
 * units of work, like every other torture thread; the third works only
 * inside the mover's units:
 *
 *   migrant   a vCPU in guest mode writes tagged values to MIGRANT_WORDS
 *             words of each of USED_PAGES pages of M, at M's current base,
 *             and reads them back.  Its records are by (page of M, word),
 *             so they follow M through its moves.
 *   mover     harvests M's dirty log into the shadow and moves M to
 *             another place at once (so that the write-protection faults
 *             the harvest causes meet the move); until the next move is
 *             due (paced by how long the last one took) it holds partial
 *             invalidations, one per unit of work.
 *   settler   told by the mover just before a move which place M leaves,
 *             adds a temporary slot T there, retrying on -EEXIST until
 *             the move lets go of the place: so T arrives while the move
 *             is still in progress whenever the library allows it.  With
 *             a vCPU of its own it writes and reads T, waits for the move
 *             to return, checks T and M through the host, deletes T, and
 *             checks that the deleted range faults with -ENOENT.  The
 *             mover waits for it before its next move, so T is gone
 *             before M can come back to that place.
 *
 * Following M through moves.  The mover publishes M's base in an atomic
 * and brackets each move with move_seq (odd while the move runs, as a
 * seqlock writer does).  The migrant reads move_seq, then the base, when
 * it chooses an access, and move_seq again when the access is done (the
 * next call of its guest function).  If both reads agree and are even,
 * no move ran in between: the access reached M and its result is sure.
 * Otherwise the access may have gone to M at the old place (before the
 * move's zap), to T, or nowhere: a write is then recorded as possible
 * (the word may hold any of the values written since the last sure one),
 * a read is not checked, and a fault that fails with -ENOENT (no memslot)
 * is a benign skip.  -ENOENT on a sure access is a violation.  A failed
 * fault never performs the access, so a skipped write changes nothing.
 *
 * T never disturbs M's checks: T writes other words of the same pages
 * (TEMP_WORDS words at TEMP_OFF) than the migrant, so a stale migrant
 * write that reaches T lands on words T does not check, and M's words at
 * TEMP_OFF are written by nobody, ever: any value there is a write meant
 * for T that reached M's frames through a mapping of the old place.
 *
 * The migration oracle.  A shadow copy of every used word of M: complete
 * when logging starts, then after each harvest (tdpmmu_dirty_log_get)
 * every page reported dirty is copied again from the host at M's current
 * base.  Only the mover (or the main thread while the mover is parked)
 * harvests and moves, so the base cannot change between a get and its
 * copy.  A write that completed before a get's write-protection flush is
 * in the host memory the copy reads; one after it faults and marks the
 * page again.  So at a quiescent point, after a final harvest, the shadow
 * must equal host memory: a difference is a dirty write never reported
 * (lost over a move or otherwise).
 *
 * Partial invalidations.  Between moves the mover zaps one huge page
 * of the hot slot (where every guest keeps shared words), begins an
 * invalidation of a single gfn x inside it that no guest uses, and while
 * it holds it checks HOLD_LOOKS times (sleeping in between, while the
 * guests refault their shared pages next to x) that nothing maps x: a
 * fault on a neighbour must not map a huge page over an invalidation in
 * progress.  A neighbour that was unmapped at the first look and mapped
 * at a later one proves that a fault next to x completed during the hold.
 *
 * Concurrency of the harness.  The migrant's records are written by its
 * thread only while it runs and read by the main thread only while it is
 * parked; the shadow and the mover's counters likewise with the mover.
 * Parking is under the round's mutex, which orders both.  The settler's
 * fields are handed over under the settler's mutex: the mover posts a
 * place and waits for done, and only then reads what the settler
 * counted.  base, move_seq and the move's state are seq_cst atomics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "base/compiler.h"
#include "torture/torture.h"

#define MIGR_ID 4
#define TEMP_ID 5
#define MIGR_PAGES 2048ull /* 4 blocks of 2 MiB (with 512 entries per table) */
#define NPLACES 4
#define PLACE_STRIDE 4096ull /* places never overlap, so T fits where M was */
#define SKEW 260ull /* a multiple of no huge page size (8 or 512 pages) */
#define USED_PAGES 32
#define MIGRANT_WORDS 4 /* words 0.. of each used page: the migrant's */
#define TEMP_WORDS 2 /* words at TEMP_OFF: the temporary slots' */
#define TEMP_OFF 2048u
#define USED_WORDS (MIGRANT_WORDS + TEMP_WORDS)
#define TEMP_TOUCH 4 /* used pages each temporary slot writes */
#define TEMP_MAX 256 /* temporary slots per round: each takes fresh frames */
#define TEMP_TAG (0xaull << 60)
#define MIGRANT_BURST 256
#define MIGRANT_GAP_NS 100000 /* after each burst: enough to race every move */
#define MOVE_GAP_NS 10000000ull /* at least this long between two moves */
#define MOVE_PACE 3 /* and thrice as long as the last move took */
#define HOLD_PAUSE_NS 2000000 /* between two partial invalidations */
#define HOLD_LOOKS 16
#define HOLD_GAP_NS 20000 /* between two looks: the guests fault meanwhile */
#define SETTLE_GAP_NS 20000 /* between two tries of the settler's add */
#define MAX_NEIGHBOURS 8

enum { MA_NONE, MA_WRITE, MA_READ };
enum { MOVE_RUNNING, MOVE_DONE, MOVE_FAILED };

/* One word of the migrant's: what M must hold there. */
struct mword {
	uint64_t last; /* the last sure write (0: none yet) */
	uint64_t lo; /* while unsure: the sequence of the first unsure write */
	bool unsure; /* written since by an access that raced a move */
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
} __cacheline_aligned;

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
} __cacheline_aligned;

struct torture_slots {
	struct torture_slots_env env;
	uint64_t place[NPLACES];
	uint64_t page[USED_PAGES]; /* the used pages, as page offsets in M */
	_Atomic uint64_t base; /* M's base gfn: stored by the mover after a move */
	_Atomic uint64_t move_seq; /* odd while a move runs */
	/* The mover's, and the main thread's while the mover is parked. */
	uint64_t shadow[USED_PAGES][USED_WORDS];
	uint64_t junk[USED_PAGES][TEMP_WORDS]; /* reported in M's T words already */
	unsigned cur; /* M's place */
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

static uint64_t next_rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static unsigned word_off(unsigned j)
{
	return j < MIGRANT_WORDS ? 8 * j : TEMP_OFF + 8 * (j - MIGRANT_WORDS);
}

static uint64_t gpa_of(uint64_t base, uint64_t page, unsigned j)
{
	return ((base + page) << TDP_PAGE_SHIFT) + word_off(j);
}

static uint64_t huge_pages(void)
{
	return tdp_pages_per_level(TDP_LEVEL_2M);
}

static bool benign_enomem(const struct torture_slots *s, int e)
{
	return e == -ENOMEM && s->env.alloc_fail;
}

uint64_t torture_slots_payload_bytes(void)
{
	/* M, and every temporary slot's fresh frames (with the round-up of each). */
	return (TEMP_MAX + 1) * tdpmmu_payload_bytes_for(MIGR_PAGES, 1);
}

/* --- the migrant ------------------------------------------------------- */

/* The pending access is done: record it (guest mode). */
static void migrant_done(struct migrant *mg, const struct tdpmmu_access *a)
{
	uint64_t now = atomic_load(&mg->s->move_seq);
	bool sure = now == mg->seq0 && !(now & 1);
	struct mword *w = &mg->w[mg->pu][mg->pw];

	if (mg->pending == MA_WRITE) {
		if (sure) {
			w->last = mg->val;
			w->unsure = false;
		} else {
			if (!w->unsure)
				w->lo = mg->val >> 16;
			w->unsure = true;
			mg->unsure++;
		}
	} else if (sure && !w->unsure) {
		mg->reads++;
		if (a->value != w->last && !mg->mismatches++)
			torture_violation("migrant: read 0x%llx at page %llu word %u of the moving "
					  "slot (gpa 0x%llx), wrote 0x%llx last",
					  (unsigned long long)a->value,
					  (unsigned long long)mg->s->page[mg->pu], mg->pw,
					  (unsigned long long)a->gpa, (unsigned long long)w->last);
	}
}

/* The migrant's guest program (guest mode: no locks, no waiting). */
static bool migrant_next(void *ctx, struct tdpmmu_access *a)
{
	struct migrant *mg = ctx;
	struct torture_slots *s = mg->s;
	uint64_t x, base;

	if (mg->pending != MA_NONE)
		migrant_done(mg, a);
	if (mg->left-- <= 0) {
		mg->pending = MA_NONE;
		return false;
	}
	x = next_rnd(&mg->rnd);
	mg->pu = (unsigned)(x % USED_PAGES);
	mg->pw = (unsigned)((x >> 8) % MIGRANT_WORDS);
	/* A seqlock read: the sequence first, then the base the mover stored before it. */
	mg->seq0 = atomic_load(&s->move_seq);
	base = atomic_load(&s->base);
	a->gpa = gpa_of(base, s->page[mg->pu], mg->pw);
	if ((x >> 32) & 1) {
		a->type = TDPMMU_ACCESS_WRITE;
		a->value = mg->val = (++mg->seq << 16) | (mg->pu << 8) | mg->pw;
		mg->pending = MA_WRITE;
	} else {
		a->type = TDPMMU_ACCESS_READ;
		mg->pending = MA_READ;
	}
	mg->accesses++;
	atomic_store_explicit(&mg->in_flight, a->gpa | 1, memory_order_relaxed);
	return true;
}

static void *migrant_thread(void *arg)
{
	struct migrant *mg = arg;
	struct torture_slots *s = mg->s;

	while (s->env.checkpoint(s->env.ctx)) {
		int e;

		mg->left = MIGRANT_BURST;
		e = tdpmmu_vcpu_run(mg->v, migrant_next, mg, 0);
		atomic_store_explicit(&mg->in_flight, 0, memory_order_relaxed);
		if (e) {
			uint64_t now = atomic_load(&s->move_seq);
			bool raced = now != mg->seq0 || (now & 1);

			/* The failed access was not made: nothing to record. */
			if (e == -ENOENT && raced)
				mg->skips++;
			else if (benign_enomem(s, e))
				mg->enomem++;
			else
				SLOT_VIOLATION(
					s,
					"migrant: tdpmmu_vcpu_run returned %d (%s to page %llu "
					"of the moving slot, %s)",
					e, mg->pending == MA_WRITE ? "write" : "read",
					(unsigned long long)s->page[mg->pu],
					raced ? "raced a move" : "no move meanwhile");
		}
		mg->pending = MA_NONE;
		/* Pacing, not synchronisation: the round's own guests keep the CPUs. */
		nanosleep(&(struct timespec){ 0, MIGRANT_GAP_NS }, NULL);
	}
	return NULL;
}

/* --- the migration oracle ---------------------------------------------- */

/* Copy the used words of page @u of M from the host into the shadow. */
static void shadow_page(struct torture_slots *s, unsigned u, uint64_t base)
{
	for (unsigned j = 0; j < USED_WORDS; j++) {
		uint64_t gpa = gpa_of(base, s->page[u], j);
		int e = tdpmmu_host_read(s->env.vm, gpa, &s->shadow[u][j]);

		if (e)
			SLOT_VIOLATION(s, "migration oracle: host read of gpa 0x%llx returned %d",
				       (unsigned long long)gpa, e);
	}
}

/* Harvest M's dirty log; copy every used page it reports. */
static void harvest(struct torture_slots *s)
{
	uint64_t bitmap[MIGR_PAGES / 64], base = atomic_load(&s->base);
	int e;

	do
		e = tdpmmu_dirty_log_get(s->env.vm, MIGR_ID, bitmap);
	while (benign_enomem(s, e)); /* a failed call changes nothing: try again */
	if (e < 0) {
		SLOT_VIOLATION(s, "migration oracle: dirty log get returned %d", e);
		return;
	}
	s->harvests++;
	s->dirty += (uint64_t)e;
	for (unsigned u = 0; u < USED_PAGES; u++)
		if (bitmap[s->page[u] / 64] >> (s->page[u] % 64) & 1)
			shadow_page(s, u, base);
}

/*
 * Whether @h may be in the migrant's word @w of used page @u: the last
 * sure write, or, after writes that raced a move, any of those.
 */
static bool migrant_may_hold(const struct migrant *mg, const struct mword *w, unsigned u,
			     unsigned j, uint64_t h)
{
	uint64_t seq = h >> 16;

	if (h == w->last)
		return true;
	return w->unsure && (h & 0xffff) == ((u << 8) | j) && seq >= w->lo && seq <= mg->seq;
}

void torture_slots_check(struct torture_slots *s)
{
	static const char *const kinds[] = { "migration oracle", "stray word", "migrant word",
					     "frame" };
	struct migrant *mg = &s->mg;
	uint64_t base = atomic_load(&s->base), pfn;
	unsigned bad[4] = { 0 };

	harvest(s);
	for (unsigned u = 0; u < USED_PAGES; u++) {
		uint64_t gfn = base + s->page[u], hpfn = 0;
		struct tdpmmu_mapping m;

		for (unsigned j = 0; j < USED_WORDS; j++) {
			uint64_t h = 0;

			if (tdpmmu_host_read(s->env.vm, gpa_of(base, s->page[u], j), &h))
				continue; /* reported by the harvest's copy */
			if (h != s->shadow[u][j])
				SLOT_REPORT(s, bad[0],
					    "migration oracle: page %llu word %u shadow %llx "
					    "host %llx (a dirty write never reported)",
					    (unsigned long long)s->page[u], j,
					    (unsigned long long)s->shadow[u][j],
					    (unsigned long long)h);
			s->shadow[u][j] = h; /* each lost write is reported once */
			if (j >= MIGRANT_WORDS) {
				/* Once per value: it stays there for the rest of the round. */
				if (h && h != s->junk[u][j - MIGRANT_WORDS])
					SLOT_REPORT(s, bad[1],
						    "moving slot: page %llu word %u holds %llx, "
						    "written by nobody in it (a write meant for a "
						    "temporary slot?)",
						    (unsigned long long)s->page[u], j,
						    (unsigned long long)h);
				s->junk[u][j - MIGRANT_WORDS] = h;
				continue;
			}
			if (!migrant_may_hold(mg, &mg->w[u][j], u, j, h))
				SLOT_REPORT(
					s, bad[2],
					"migrant: page %llu word %u of the moving slot holds "
					"%llx, the last write there was %llx%s",
					(unsigned long long)s->page[u], j, (unsigned long long)h,
					(unsigned long long)mg->w[u][j].last,
					mg->w[u][j].unsure ? " (or one that raced a move)" : "");
			/* At rest the host is the truth: the next period starts sure. */
			mg->w[u][j].last = h;
			mg->w[u][j].unsure = false;
		}
		s->compared++;
		if (!tdpmmu_lookup(s->env.vm, gfn, &m) && m.present &&
		    (tdpmmu_host_pfn(s->env.vm, gfn, &hpfn) || m.pfn != hpfn))
			SLOT_REPORT(s, bad[3],
				    "moving slot: gfn 0x%llx maps frame 0x%llx, the host's is "
				    "0x%llx",
				    (unsigned long long)gfn, (unsigned long long)m.pfn,
				    (unsigned long long)hpfn);
	}
	for (unsigned k = 0; k < 4; k++)
		if (bad[k] > REPORT_MAX)
			printf("torture: ... and %u more %s violations at this check\n",
			       bad[k] - REPORT_MAX, kinds[k]);
	/* The other places are empty: no temporary slot outlived its cycle. */
	for (unsigned i = 0; i < NPLACES; i++)
		if (i != s->cur && tdpmmu_host_pfn(s->env.vm, s->place[i], &pfn) != -ENOENT)
			SLOT_VIOLATION(s,
				       "memslot churn: gfn 0x%llx, a place the moving slot left, "
				       "still has a memslot",
				       (unsigned long long)s->place[i]);
}

/* --- the settler: temporary slots -------------------------------------- */

/* A fixed list of accesses, run by a vCPU; reads keep the value they got. */
struct script {
	struct tdpmmu_access acc[2 * TEMP_TOUCH * TEMP_WORDS];
	unsigned n, i;
	bool pending;
};

static bool script_next(void *ctx, struct tdpmmu_access *a)
{
	struct script *sc = ctx;

	if (sc->pending) {
		sc->acc[sc->i].value = a->value; /* the value read, or the one written */
		sc->i++;
		sc->pending = false;
	}
	if (sc->i == sc->n)
		return false;
	*a = sc->acc[sc->i];
	sc->pending = true;
	return true;
}

/* Run @sc to its end on the settler's vCPU; 0 or the first real error. */
static int run_script(struct torture_slots *s, struct script *sc)
{
	struct settler *st = &s->st;

	sc->i = 0;
	for (;;) {
		int e;

		sc->pending = false;
		atomic_store_explicit(&st->in_flight, sc->acc[sc->i].gpa | 1, memory_order_relaxed);
		e = tdpmmu_vcpu_run(st->v, script_next, sc, 0);
		atomic_store_explicit(&st->in_flight, 0, memory_order_relaxed);
		if (!benign_enomem(s, e))
			return e;
		st->enomem++; /* access sc->i was not made: run on from it */
	}
}

static uint64_t temp_value(const struct torture_slots *s, unsigned u, unsigned j)
{
	return TEMP_TAG | (s->st.temps << 16) | (u << 8) | j;
}

/* Add T at @gfn as soon as the move lets go of it; false if it never will. */
static bool settle(struct torture_slots *s, uint64_t gfn)
{
	struct tdpmmu_memslot t = { TEMP_ID, gfn, MIGR_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct settler *st = &s->st;

	for (;;) {
		int e = tdpmmu_memslot_add(s->env.vm, &t);

		if (!e) {
			st->temps++;
			st->early += atomic_load(&st->move) == MOVE_RUNNING;
			return true;
		}
		if (e == -ENOSPC) {
			st->out_of_frames = true;
			return false;
		}
		if (e != -EEXIST) {
			SLOT_VIOLATION(s,
				       "memslot churn: adding a slot at gfn 0x%llx, which the "
				       "moving slot is leaving, returned %d",
				       (unsigned long long)gfn, e);
			return false;
		}
		/* M is still there; a failed move keeps it there for good. */
		if (atomic_load(&st->move) == MOVE_FAILED)
			return false;
		nanosleep(&(struct timespec){ 0, SETTLE_GAP_NS }, NULL);
	}
}

/*
 * A new slot where M is leaving (@gfn, M's old base): written and read by
 * a vCPU, checked through the host against M, then deleted.
 */
static void temp_slot(struct torture_slots *s, uint64_t gfn)
{
	struct settler *st = &s->st;
	unsigned used[TEMP_TOUCH], n = 0, bad[3] = { 0 };
	struct script sc = { .n = 0 };
	uint64_t base;
	int e;

	if (!settle(s, gfn))
		return;
	while (n < TEMP_TOUCH) {
		unsigned u = (unsigned)(next_rnd(&st->rnd) % USED_PAGES), k;

		for (k = 0; k < n && used[k] != u; k++)
			;
		if (k == n)
			used[n++] = u;
	}
	for (int type = 0; type < 2; type++)
		for (unsigned k = 0; k < TEMP_TOUCH; k++)
			for (unsigned j = MIGRANT_WORDS; j < USED_WORDS; j++)
				sc.acc[sc.n++] = (struct tdpmmu_access){
					.gpa = gpa_of(gfn, s->page[used[k]], j),
					.type = type ? TDPMMU_ACCESS_READ : TDPMMU_ACCESS_WRITE,
					.value = temp_value(s, used[k], j),
				};
	e = run_script(s, &sc);
	if (e)
		SLOT_VIOLATION(s, "temporary slot: access to gpa 0x%llx returned %d",
			       (unsigned long long)sc.acc[sc.i].gpa, e);
	/* M's words are checked where the move put it: wait for it to return. */
	while (atomic_load(&st->move) == MOVE_RUNNING)
		nanosleep(&(struct timespec){ 0, SETTLE_GAP_NS }, NULL);
	base = atomic_load(&s->base);
	/* One line per kind of failure and cycle; every failing word counts. */
	for (unsigned i = 0; !e && i < sc.n / 2; i++) {
		const struct tdpmmu_access *w = &sc.acc[i], *r = &sc.acc[i + sc.n / 2];
		uint64_t off = w->gpa - (gfn << TDP_PAGE_SHIFT), h = 0, hm = 0;

		if (r->value != w->value && !bad[0]++)
			torture_violation("temporary slot: vCPU read 0x%llx at gpa 0x%llx, wrote "
					  "0x%llx",
					  (unsigned long long)r->value, (unsigned long long)w->gpa,
					  (unsigned long long)w->value);
		if ((tdpmmu_host_read(s->env.vm, w->gpa, &h) || h != w->value) && !bad[1]++)
			torture_violation("temporary slot: the host has 0x%llx at gpa 0x%llx, the "
					  "vCPU wrote 0x%llx there (did it land in the slot that "
					  "left?)",
					  (unsigned long long)h, (unsigned long long)w->gpa,
					  (unsigned long long)w->value);
		/* Older strays there are the quiescent check's to report. */
		if (!tdpmmu_host_read(s->env.vm, (base << TDP_PAGE_SHIFT) + off, &hm) &&
		    hm == w->value && !bad[2]++)
			torture_violation(
				"moving slot: gpa 0x%llx (page %llu of the slot) holds "
				"0x%llx, written to gpa 0x%llx in the temporary slot that "
				"took the slot's old place",
				(unsigned long long)((base << TDP_PAGE_SHIFT) + off),
				(unsigned long long)(off >> TDP_PAGE_SHIFT), (unsigned long long)hm,
				(unsigned long long)w->gpa);
	}
	n = bad[0] + bad[1] + bad[2];
	if (n) {
		atomic_fetch_add(s->env.violations, n);
		if (n > (unsigned)!!bad[0] + !!bad[1] + !!bad[2])
			printf("torture: (%u, %u and %u words of this temporary slot failed those "
			       "checks)\n",
			       bad[0], bad[1], bad[2]);
	}
	e = tdpmmu_memslot_delete(s->env.vm, TEMP_ID);
	if (e) {
		SLOT_VIOLATION(s, "memslot churn: deleting the temporary slot returned %d", e);
		return;
	}
	/* Nothing maps the deleted range any more: a read faults and finds no slot. */
	sc.n = 1;
	sc.acc[0] = (struct tdpmmu_access){ .gpa = sc.acc[0].gpa, .type = TDPMMU_ACCESS_READ };
	e = run_script(s, &sc);
	if (e != -ENOENT)
		SLOT_VIOLATION(s,
			       "deleted slot: a read of gpa 0x%llx returned %d (value 0x%llx), "
			       "not -ENOENT",
			       (unsigned long long)sc.acc[0].gpa, e,
			       (unsigned long long)sc.acc[0].value);
}

/* --- the mover: moves and partial invalidations ------------------------ */

static void *settler_thread(void *arg)
{
	struct torture_slots *s = arg;
	struct settler *st = &s->st;

	for (unsigned n = 1;; n++) {
		uint64_t gfn;
		bool stop;

		pthread_mutex_lock(&st->m);
		while (st->posted < n && !st->stop)
			pthread_cond_wait(&st->c, &st->m);
		gfn = st->gfn;
		stop = st->posted < n; /* stopped with nothing posted */
		pthread_mutex_unlock(&st->m);
		if (stop)
			return NULL;
		temp_slot(s, gfn);
		pthread_mutex_lock(&st->m);
		st->done++;
		pthread_cond_broadcast(&st->c);
		pthread_mutex_unlock(&st->m);
	}
}

/* Tell the settler which place M is about to leave. */
static void settler_post(struct settler *st, uint64_t gfn)
{
	pthread_mutex_lock(&st->m);
	st->gfn = gfn;
	st->posted++;
	pthread_cond_broadcast(&st->c);
	pthread_mutex_unlock(&st->m);
}

static void settler_wait(struct settler *st)
{
	pthread_mutex_lock(&st->m);
	while (st->done < st->posted)
		pthread_cond_wait(&st->c, &st->m);
	pthread_mutex_unlock(&st->m);
}

/* Move M to another place, with the settler racing in behind it. */
static void move_once(struct torture_slots *s)
{
	unsigned to = (s->cur + 1 + (unsigned)(next_rnd(&s->rnd) % (NPLACES - 1))) % NPLACES;
	uint64_t from = s->place[s->cur];
	struct settler *st = &s->st;
	bool temp = st->temps < TEMP_MAX && !st->out_of_frames;
	int e;

	atomic_store(&st->move, MOVE_RUNNING);
	if (temp)
		settler_post(st, from);
	atomic_fetch_add(&s->move_seq, 1); /* odd: the migrant's accesses are unsure */
	e = tdpmmu_memslot_move(s->env.vm, MIGR_ID, s->place[to]);
	if (!e) {
		atomic_store(&s->base, s->place[to]);
		s->cur = to;
	}
	atomic_fetch_add(&s->move_seq, 1);
	atomic_store(&st->move, e ? MOVE_FAILED : MOVE_DONE);
	if (temp)
		settler_wait(st); /* T is gone before M may come back to @from */
	if (e) {
		SLOT_VIOLATION(s,
			       "memslot churn: moving the logging slot from gfn 0x%llx to 0x%llx "
			       "returned %d",
			       (unsigned long long)from, (unsigned long long)s->place[to], e);
		return;
	}
	s->moves++;
	if ((from ^ s->place[to]) & (huge_pages() - 1))
		s->skewed++;
}

static bool is_hot(const struct torture_slots *s, uint64_t gfn)
{
	for (unsigned i = 0; i < s->env.nhot; i++)
		if (s->env.hot[i] == gfn)
			return true;
	return false;
}

/*
 * Invalidate one gfn inside a huge page that the guests keep faulting, and
 * check that nothing maps it until the invalidation ends.
 */
static void partial_hold(struct torture_slots *s)
{
	struct tdpmmu_vm *vm = s->env.vm;
	uint64_t huge = huge_pages(), hot = s->env.hot[next_rnd(&s->rnd) % s->env.nhot];
	uint64_t blk = hot & ~(huge - 1), x, nb[MAX_NEIGHBOURS];
	bool was[MAX_NEIGHBOURS] = { false }, faulted = false, reported = false;
	unsigned nnb = 0;
	int e;

	do
		x = blk + next_rnd(&s->rnd) % huge;
	while (is_hot(s, x));
	for (unsigned i = 0; i < s->env.nhot && nnb < MAX_NEIGHBOURS; i++)
		if ((s->env.hot[i] & ~(huge - 1)) == blk)
			nb[nnb++] = s->env.hot[i];
	/* Unmap the neighbours too, so that faulting them in can race the hold. */
	e = tdpmmu_zap_range(vm, blk, blk + huge);
	if (e < 0 && !benign_enomem(s, e))
		SLOT_VIOLATION(s, "partial invalidation: zap of [0x%llx, 0x%llx) returned %d",
			       (unsigned long long)blk, (unsigned long long)(blk + huge), e);
	e = tdpmmu_invalidate_begin(vm, x, x + 1);
	if (e) {
		SLOT_VIOLATION(s, "partial invalidation: begin at gfn 0x%llx returned %d",
			       (unsigned long long)x, e);
		return;
	}
	for (int i = 0; i < HOLD_LOOKS; i++) {
		struct tdpmmu_mapping m;

		if (!tdpmmu_lookup(vm, x, &m) && m.present && !reported) {
			SLOT_VIOLATION(s,
				       "partial invalidation: gfn 0x%llx mapped at level %d while "
				       "invalidation held",
				       (unsigned long long)x, m.level);
			reported = true;
		}
		for (unsigned k = 0; k < nnb; k++) {
			bool present = !tdpmmu_lookup(vm, nb[k], &m) && m.present;

			if (!i)
				was[k] = present;
			else if (present && !was[k])
				faulted = true;
		}
		/* Sleep rather than yield: the guests fault around x meanwhile. */
		nanosleep(&(struct timespec){ 0, HOLD_GAP_NS }, NULL);
	}
	e = tdpmmu_invalidate_end(vm, x, x + 1);
	if (e)
		SLOT_VIOLATION(s, "partial invalidation: end at gfn 0x%llx returned %d",
			       (unsigned long long)x, e);
	s->holds++;
	s->hold_faults += faulted;
}

static void *mover_thread(void *arg)
{
	struct torture_slots *s = arg;
	uint64_t next_move = 0;

	while (s->env.checkpoint(s->env.ctx)) {
		uint64_t t0 = tdp_now_ns(), took;

		if (t0 < next_move) {
			partial_hold(s);
			/* Pacing, not synchronisation: each hold zaps a huge page. */
			nanosleep(&(struct timespec){ 0, HOLD_PAUSE_NS }, NULL);
			continue;
		}
		/*
		 * Harvest right before the move: the pages it write-protects
		 * are written again while the move runs, so the faults that
		 * mark them dirty meet the move.
		 */
		harvest(s);
		move_once(s);
		/*
		 * Pacing: a move and its temporary slot zap every mapping
		 * twice, and every vCPU faults its memory back in.  Where that
		 * is slow (a small build, the global lock, few CPUs) moves
		 * become rarer, so that the rest of the torture keeps most of
		 * the machine.
		 */
		took = tdp_now_ns() - t0;
		next_move = tdp_now_ns() +
			    (took * MOVE_PACE > MOVE_GAP_NS ? took * MOVE_PACE : MOVE_GAP_NS);
	}
	return NULL;
}

/* --- start and stop ---------------------------------------------------- */

void torture_slots_report_stuck(struct torture_slots *s)
{
	uint64_t gpa = atomic_load_explicit(&s->mg.in_flight, memory_order_relaxed);
	uint64_t tgpa = atomic_load_explicit(&s->st.in_flight, memory_order_relaxed);

	if (gpa)
		printf("torture: the moving slot's vCPU is inside tdpmmu_vcpu_run, at gfn 0x%llx "
		       "(the slot is at gfn 0x%llx)\n",
		       (unsigned long long)(gpa >> 12), (unsigned long long)atomic_load(&s->base));
	if (tgpa)
		printf("torture: the temporary slot's vCPU is inside tdpmmu_vcpu_run, at gfn "
		       "0x%llx\n",
		       (unsigned long long)(tgpa >> 12));
}

struct torture_slots *torture_slots_start(const struct torture_slots_env *env)
{
	struct torture_slots *s = aligned_alloc(TDP_CACHELINE, sizeof(*s));
	struct tdpmmu_memslot m = { MIGR_ID, 0, MIGR_PAGES, TDPMMU_BACKING_THP, 0 };
	int e;

	if (!s)
		fatal("out of memory");
	memset(s, 0, sizeof(*s));
	s->env = *env;
	s->rnd = env->seed | 1;
	for (unsigned i = 0; i < NPLACES; i++)
		s->place[i] = env->region + i * PLACE_STRIDE + (i & 1 ? SKEW : 0);
	if (s->place[NPLACES - 1] + MIGR_PAGES > tdpmmu_vm_max_gfn(env->vm) || !env->nhot)
		fatal("torture: no room for the moving slot");
	/* One page in each 64 of M, at varying offsets: every 2 MiB block has some. */
	for (unsigned u = 0; u < USED_PAGES; u++)
		s->page[u] = u * (MIGR_PAGES / USED_PAGES) + (u * 13) % (MIGR_PAGES / USED_PAGES);
	m.base_gfn = s->place[0];
	atomic_init(&s->base, s->place[0]);
	atomic_init(&s->move_seq, 0);
	e = tdpmmu_memslot_add(env->vm, &m);
	if (e)
		fatal("torture: adding the moving slot: %s", strerror(-e));
	do
		e = tdpmmu_dirty_log_enable(env->vm, MIGR_ID, 0);
	while (benign_enomem(s, e));
	if (e < 0)
		fatal("torture: logging the moving slot: %s", strerror(-e));
	/* Logging is on: the shadow starts as a full copy. */
	for (unsigned u = 0; u < USED_PAGES; u++)
		shadow_page(s, u, s->place[0]);
	s->mg.s = s;
	s->mg.rnd = (env->seed * 0x9e3779b97f4a7c15ull) | 1;
	s->st.rnd = (env->seed * 0xbf58476d1ce4e5b9ull) | 1;
	pthread_mutex_init(&s->st.m, NULL);
	pthread_cond_init(&s->st.c, NULL);
	if (tdpmmu_vcpu_create(env->vm, &s->mg.v) || tdpmmu_vcpu_create(env->vm, &s->st.v) ||
	    pthread_create(&s->st.thread, NULL, settler_thread, s) ||
	    pthread_create(&s->mg.thread, NULL, migrant_thread, &s->mg) ||
	    pthread_create(&s->mover, NULL, mover_thread, s))
		fatal("torture: cannot start the memslot churn");
	return s;
}

void torture_slots_stop(struct torture_slots *s, struct torture_result *res)
{
	pthread_join(s->mover, NULL);
	pthread_join(s->mg.thread, NULL);
	pthread_mutex_lock(&s->st.m);
	s->st.stop = true;
	pthread_cond_broadcast(&s->st.c);
	pthread_mutex_unlock(&s->st.m);
	pthread_join(s->st.thread, NULL);
	tdpmmu_vcpu_destroy(s->mg.v);
	tdpmmu_vcpu_destroy(s->st.v);
	pthread_cond_destroy(&s->st.c);
	pthread_mutex_destroy(&s->st.m);
	atomic_fetch_add(s->env.violations, s->mg.mismatches);
	res->migr_moves += s->moves;
	res->migr_skewed += s->skewed;
	res->migr_temps += s->st.temps;
	res->migr_early += s->st.early;
	res->migr_harvests += s->harvests;
	res->migr_dirty += s->dirty;
	res->migr_pages += s->compared;
	res->migr_accesses += s->mg.accesses;
	res->migr_reads += s->mg.reads;
	res->migr_unsure += s->mg.unsure;
	res->migr_skips += s->mg.skips;
	res->migr_holds += s->holds;
	res->migr_hold_faults += s->hold_faults;
	res->enomem += s->st.enomem + s->mg.enomem;
	free(s);
}
