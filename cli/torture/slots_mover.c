/*
 * slots_mover.c - the mover of the memslot churn (slots.c): harvests M's
 * dirty log into the shadow and moves M to another place at once, with
 * the settler taking the place it left; until the next move is due it
 * holds partial invalidations inside huge pages of the hot slot, checking
 * that no fault maps the invalidated gfn.  Its thread, parking at the
 * round's checkpoint between units of work.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "torture/slots.h"

/* --- the mover: moves and partial invalidations ------------------------ */

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

void *mover_thread(void *arg)
{
	struct torture_slots *s = arg;
	uint64_t next_move = 0;

	while (s->env.checkpoint(s->env.ctx)) {
		uint64_t t0 = now_ns(), took;

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
		took = now_ns() - t0;
		next_move = now_ns() +
			    (took * MOVE_PACE > MOVE_GAP_NS ? took * MOVE_PACE : MOVE_GAP_NS);
	}
	return NULL;
}
