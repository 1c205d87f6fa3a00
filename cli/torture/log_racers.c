/*
 * log_racers.c - the log racers of a torture round: vCPU A writes a page
 * of slot 3, which always logs, while vCPU B reads it; both are the
 * page's first touch, so both wait out the host fault and wake together.
 * Every LOG_BATCH pages A's thread harvests, checks that the pages A wrote
 * again after the previous harvest are all in it, and A writes the pages
 * raced since once more (the lost-write sequence of issue 15).
 *
 * Concurrency: A's thread drives; B's thread reads the page posted to it
 * and reports done, both under the pair's mutex (l->m), which also orders
 * the page number.  Only A's thread parks at round_checkpoint(); B waits
 * for A (a stop is posted as page UINT64_MAX).
 */
#include <errno.h>
#include <time.h>

#include "cli.h"
#include "torture/round.h"

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
			VIOLATION(l->r,
				  "log racer: gfn 0x%llx was written after a harvest "
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

	while (round_checkpoint(l->r)) {
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

void lr_start(struct round *r)
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

void lr_stop(struct round *r)
{
	struct log_racers *l = &r->lr;

	pthread_join(l->a_thread, NULL);
	pthread_join(l->b_thread, NULL);
	tdpmmu_vcpu_destroy(l->a);
	tdpmmu_vcpu_destroy(l->b);
	pthread_cond_destroy(&l->c);
	pthread_mutex_destroy(&l->m);
}
