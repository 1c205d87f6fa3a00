/*
 * slots_migrant.c - the migrant of the memslot churn (slots.c): a vCPU in
 * guest mode writes tagged values to MIGRANT_WORDS words of each used page
 * of M, at M's current base, and reads them back; its records are by
 * (page of M, word), so they follow M through its moves.  An access that
 * raced a move (move_seq changed or odd) is unsure: a write is recorded as
 * possible, a read not checked, -ENOENT a benign skip.  Its thread only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "torture/slots.h"

/* --- the migrant ------------------------------------------------------- */

/* The pending access is done: record it (guest mode). */
static void migrant_done(struct migrant *mg, const struct tdpmmu_access *a)
{
	uint64_t now = atomic_load(&mg->s->move_seq);
	bool sure = now == mg->seq0 && !(now & 1);
	struct mword *w = &mg->w[mg->pu][mg->pw];

	/*
	 * The MMIO oracle: an MMIO exit (no memslot there) is right only for an
	 * access that raced a move; it reached no memory, so nothing to record.
	 */
	if (a->type & TDPMMU_ACCESS_MMIO) {
		if (sure && !mg->mismatches++)
			torture_violation("migrant: MMIO exit at gpa 0x%llx (page %llu of the "
					  "moving slot) with no move meanwhile",
					  (unsigned long long)a->gpa,
					  (unsigned long long)mg->s->page[mg->pu]);
		mg->skips += !sure;
		return;
	}
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

void *migrant_thread(void *arg)
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
