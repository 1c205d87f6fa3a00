/*
 * slots.c - memslot churn under load, for the torture round: a
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
 *
 * Here: start, stop and the hang report; each thread is in its own file
 * (slots.h lists them).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "torture/slots.h"

uint64_t torture_slots_payload_bytes(void)
{
	/* M, and every temporary slot's fresh frames (with the round-up of each). */
	return (TEMP_MAX + 1) * tdpmmu_payload_bytes_for(MIGR_PAGES, 1);
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
	struct torture_slots *s = aligned_alloc(CACHELINE, sizeof(*s));
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
