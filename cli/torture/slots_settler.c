/*
 * slots_settler.c - the settler of the memslot churn (slots.c): told by
 * the mover which place M leaves, it adds a temporary slot T there as soon
 * as the move lets go of it, writes and reads T with a vCPU of its own,
 * checks T and M through the host once the move returned, deletes T and
 * checks that a read there is an MMIO exit (-ENOENT with --mmio-caching
 * off), and that no access to T while it was there was one.  The handshake with the mover
 * is under the settler's mutex (st->m).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "torture/slots.h"

/* --- the settler: temporary slots -------------------------------------- */

/* A fixed list of accesses, run by a vCPU; reads keep the value they got. */
struct script {
	struct tdpmmu_access acc[2 * TEMP_TOUCH * TEMP_WORDS];
	unsigned n, i;
	bool pending;
	unsigned mmio; /* accesses that came back as MMIO exits */
};

static bool script_next(void *ctx, struct tdpmmu_access *a)
{
	struct script *sc = ctx;

	if (sc->pending) {
		sc->acc[sc->i].value = a->value; /* the value read, or the one written */
		sc->mmio += (a->type & TDPMMU_ACCESS_MMIO) != 0;
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
	if (sc.mmio)
		SLOT_VIOLATION(s, "temporary slot: %u accesses were MMIO exits while it was there",
			       sc.mmio);
	/* M's words are checked where the move put it: wait for it to return. */
	while (atomic_load(&st->move) == MOVE_RUNNING)
		nanosleep(&(struct timespec){ 0, SETTLE_GAP_NS }, NULL);
	base = atomic_load(&s->base);
	/* One line per kind of failure and cycle; every failing word counts. */
	for (unsigned i = 0; !e && i < sc.n / 2; i++) {
		const struct tdpmmu_access *w = &sc.acc[i], *r = &sc.acc[i + sc.n / 2];
		uint64_t off = w->gpa - (gfn << TDPMMU_PAGE_SHIFT), h = 0, hm = 0;

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
		if (!tdpmmu_host_read(s->env.vm, (base << TDPMMU_PAGE_SHIFT) + off, &hm) &&
		    hm == w->value && !bad[2]++)
			torture_violation(
				"moving slot: gpa 0x%llx (page %llu of the slot) holds "
				"0x%llx, written to gpa 0x%llx in the temporary slot that "
				"took the slot's old place",
				(unsigned long long)((base << TDPMMU_PAGE_SHIFT) + off),
				(unsigned long long)(off >> TDPMMU_PAGE_SHIFT),
				(unsigned long long)hm, (unsigned long long)w->gpa);
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
	/*
	 * Nothing maps the deleted range any more: a read finds no slot, an MMIO
	 * exit (twice: the second on the MMIO entry the first left), or -ENOENT
	 * without MMIO caching.
	 */
	sc.n = s->env.mmio_caching ? 2 : 1;
	sc.acc[0] = (struct tdpmmu_access){ .gpa = sc.acc[0].gpa, .type = TDPMMU_ACCESS_READ };
	sc.acc[1] = sc.acc[0];
	sc.mmio = 0;
	e = run_script(s, &sc);
	if (s->env.mmio_caching ? e || sc.mmio != 2 : e != -ENOENT)
		SLOT_VIOLATION(s,
			       "deleted slot: a read of gpa 0x%llx returned %d (value 0x%llx, "
			       "%u MMIO exits), not %s",
			       (unsigned long long)sc.acc[0].gpa, e,
			       (unsigned long long)sc.acc[0].value, sc.mmio,
			       s->env.mmio_caching ? "two MMIO exits" : "-ENOENT");
}

void *settler_thread(void *arg)
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
void settler_post(struct settler *st, uint64_t gfn)
{
	pthread_mutex_lock(&st->m);
	st->gfn = gfn;
	st->posted++;
	pthread_cond_broadcast(&st->c);
	pthread_mutex_unlock(&st->m);
}

void settler_wait(struct settler *st)
{
	pthread_mutex_lock(&st->m);
	while (st->done < st->posted)
		pthread_cond_wait(&st->c, &st->m);
	pthread_mutex_unlock(&st->m);
}

/* Move M to another place, with the settler racing in behind it. */
