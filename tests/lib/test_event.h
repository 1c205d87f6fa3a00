/*
 * test_event.h - what the forced-race tests share: a counting event to
 * hand steps between threads (a mutex and a condition, no sleeping), and
 * one guest access made through a vCPU's TLB and hardware walker.
 */
#ifndef TDP_TEST_EVENT_H
#define TDP_TEST_EVENT_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tdpmmu/tdpmmu.h"

struct event {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned posted;
};

static inline void event_init(struct event *e)
{
	pthread_mutex_init(&e->m, NULL);
	pthread_cond_init(&e->c, NULL);
	e->posted = 0;
}

static inline void event_post(struct event *e)
{
	pthread_mutex_lock(&e->m);
	e->posted++;
	pthread_cond_broadcast(&e->c);
	pthread_mutex_unlock(&e->m);
}

/*
 * Wait until the event has been posted @n times in all, or @ms pass (0:
 * for ever); whether it was.
 */
static inline bool event_wait(struct event *e, unsigned n, unsigned ms)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until); /* the condition variable's clock */
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000l;
	if (until.tv_nsec >= 1000000000l) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000l;
	}
	pthread_mutex_lock(&e->m);
	while (e->posted < n) {
		if (!ms)
			pthread_cond_wait(&e->c, &e->m);
		else if (pthread_cond_timedwait(&e->c, &e->m, &until) == ETIMEDOUT)
			break;
	}
	ok = e->posted >= n;
	pthread_mutex_unlock(&e->m);
	return ok;
}

struct one_access {
	uint64_t gpa, value; /* value: written, or read back */
	unsigned type;
	bool done;
};

static inline bool one_next(void *ctx, struct tdpmmu_access *a)
{
	struct one_access *o = ctx;

	if (o->done) {
		if (o->type == TDPMMU_ACCESS_READ)
			o->value = a->value;
		return false;
	}
	o->done = true;
	a->gpa = o->gpa;
	a->type = o->type;
	a->value = o->value;
	return true;
}

/* One guest access (tdpmmu_vcpu_run's result). */
static inline int guest_access(struct tdpmmu_vcpu *v, uint64_t gpa, unsigned type, uint64_t value)
{
	struct one_access o = { gpa, value, type, false };

	return tdpmmu_vcpu_run(v, one_next, &o, 0);
}

#endif
