/*
 * workers.c - the threads of a torture round that load the MMU (see
 * round.c's header for what each does and checks):
 *
 *   guest vCPUs  their guest program (guest mode: no locks, no waiting)
 *                and the thread that runs it in bursts;
 *   racers       faults capped at 4K against uncapped ones on the same
 *                few 2 MiB blocks of slot 2;
 *   tracker      write tracking added and removed on the shared pages;
 *   chaos        one random MMU operation after another (with its own vCPU:
 *                faults, pre-faults; zaps, aging, dirty logging, ...).
 *
 * Each parks at round_checkpoint() between units of work; what it counts
 * is its own until the main thread reads it while it is parked.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "torture/round.h"

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
				torture_violation(
					"vCPU %u read 0x%llx at gpa 0x%llx, wrote 0x%llx last",
					g->id, (unsigned long long)a->value,
					(unsigned long long)w->gpa, (unsigned long long)w->last);
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
				torture_violation(
					"vCPU %u wrote gpa 0x%llx, write-tracked since before "
					"the write, without a fault",
					g->id, (unsigned long long)w->gpa);
		}
		if (gfn < THP_PAGES) {
			uint64_t e =
				atomic_load_explicit(&g->r->log_epoch[gfn], memory_order_relaxed);

			while (e < g->epoch &&
			       !atomic_compare_exchange_weak(&g->r->log_epoch[gfn], &e, g->epoch))
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
	case 1:
	case 2:
	case 3:
	case 4:
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

void *guest_thread(void *arg)
{
	struct tguest *g = arg;

	while (round_checkpoint(g->r)) {
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
void *racer_thread(void *arg)
{
	struct racer *k = arg;

	while (round_checkpoint(k->r)) {
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

void *tracker_thread(void *arg)
{
	struct round *r = arg;
	uint64_t rnd = (uintptr_t)r | 1;

	while (round_checkpoint(r)) {
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

/* The chaos pre-fault's signal: the round wants to pause or stop. */
static bool chaos_stop(void *ctx)
{
	struct round *r = ctx;
	bool stop;

	pthread_mutex_lock(&r->m);
	stop = r->pause || r->stop;
	pthread_mutex_unlock(&r->m);
	return stop;
}

/*
 * Pre-fault 1..64 pages from @gfn (inside slots 0 and 1) with the chaos
 * vCPU (tdpmmu_pre_fault, KVM_PRE_FAULT_MEMORY), while everything else
 * races it.  A pause interrupts it; it resumes where it stopped once the
 * quiescent check is done.  A call that returns 0 must have made progress.
 */
static int chaos_pre_fault(struct round *r, uint64_t gfn, uint64_t x)
{
	uint64_t end = gfn + 1 + x % 64 < ALL_PAGES ? gfn + 1 + x % 64 : ALL_PAGES;
	uint64_t gpa = gfn << 12, size = (end - gfn) << 12;

	while (size) {
		uint64_t before = size;
		int e = tdpmmu_pre_fault(r->cv, &gpa, &size, chaos_stop, r);

		if (e == -EINTR)
			return 0; /* stopped before its first step: the loop parks next */
		if (e)
			return e;
		if (size >= before) {
			VIOLATION(r, "chaos: pre-fault at gpa 0x%llx returned 0 and mapped nothing",
				  (unsigned long long)gpa);
			return 0;
		}
		if (size && !round_checkpoint(r))
			return 0;
	}
	return 0;
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
	case 0:
	case 1:
	case 2:
		what = "split (fault capped at 4K)";
		e = tdpmmu_fault(r->cv, gfn, TDPMMU_ACCESS_READ, 1, NULL);
		break;
	case 3:
	case 4:
	case 5:
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
		e = tdpmmu_recover_huge_pages(
			vm, 0, (x >> 8) & 1 ? TDPMMU_RECOVER_ZAP : TDPMMU_RECOVER_INPLACE);
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
	case 10:
	case 11:
		if (!r->logging) {
			what = "dirty log enable";
			e = tdpmmu_dirty_log_enable(
				vm, 0, (x >> 8) & 1 ? TDPMMU_DIRTY_LOG_EAGER_SPLIT : 0);
			atomic_fetch_add(&r->epoch, 1);
			/* Eager splitting out of tables: logging is on, fewer leaves split. */
			r->logging = e >= 0 || e == -ENOMEM;
		} else if ((x >> 8) % 4) {
			what = "dirty log get";
			e = tdpmmu_dirty_log_get(vm, 0, bitmap);
			atomic_fetch_add(&r->epoch, 1);
		} else {
			what = "dirty log disable";
			e = tdpmmu_dirty_log_disable(vm, 0,
						     (enum tdpmmu_huge_recovery)((x >> 10) % 3));
			r->logging = false;
		}
		break;
	case 12:
		if ((x >> 8) % 8 == 0) {
			what = "fast zap";
			e = tdpmmu_zap_all_fast(vm);
		} else if ((x >> 8) % 8 == 1) {
			what = "pre-fault";
			e = chaos_pre_fault(r, gfn, x >> 11);
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

void *chaos_thread(void *arg)
{
	struct round *r = arg;

	while (round_checkpoint(r))
		chaos_op(r);
	return NULL;
}
