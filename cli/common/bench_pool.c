/*
 * bench_pool.c - the vCPU threads of the dirty-log, access-tracking and
 * nx-recovery benchmarks.  Each thread is one vCPU for the whole run; it
 * waits (on a condition variable, outside guest mode) until the main
 * thread starts a pass, runs its guest program for one pass with
 * tdpmmu_vcpu_run(), reports it done and waits again, as the threads of
 * KVM's dirty_log_perf_test wait between iterations.
 *
 * Concurrency: pass number, done count, quit flag and the ready count are
 * read and written under p->lock only.  The main thread sets up the guest
 * contexts between passes; a vCPU thread reads its context only after it
 * has seen the new pass number under the lock, which orders the two.  A
 * vCPU's err is written by its thread during a pass and read by the main
 * thread after that pass's done count (under the lock) says it finished.
 * Like the populate benchmark, hundreds of threads fit on a small machine
 * because they run on small stacks.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_common.h"
#include "common/util.h"

struct bench_vcpu {
	struct bench_pool *pool;
	struct tdpmmu_vcpu *vcpu;
	void *ctx;
	unsigned idx;
	int err;
	pthread_t tid;
} __attribute__((aligned(64)));

struct bench_pool {
	struct tdpmmu_vm *vm;
	unsigned nr, run_flags;
	tdpmmu_guest_fn fn;
	pthread_mutex_t lock;
	pthread_cond_t go;   /* a pass started, or quit */
	pthread_cond_t done; /* the last vCPU finished, or the last thread is ready */
	uint64_t pass;       /* passes started */
	unsigned finished;   /* vCPUs done with the current pass */
	unsigned ready;      /* threads past their setup */
	bool quit;
	uint64_t start_ns;
	struct bench_vcpu *v;
};

static void *vcpu_thread(void *arg)
{
	struct bench_vcpu *v = arg;
	struct bench_pool *p = v->pool;
	struct tdpmmu_mapping m;
	uint64_t seen = 0;

	/* One-time setup out of every timed pass: liburcu registration, thread slot. */
	tdpmmu_lookup(p->vm, 0, &m);
	if (tdpmmu_thread_attach())
		cli_bug("no per-thread slot left for a vCPU thread (the -v limit keeps one)");

	pthread_mutex_lock(&p->lock);
	if (++p->ready == p->nr)
		pthread_cond_signal(&p->done);
	for (;;) {
		int r;

		while (p->pass == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->lock);
		if (p->quit)
			break;
		seen = p->pass;
		pthread_mutex_unlock(&p->lock);

		r = tdpmmu_vcpu_run(v->vcpu, p->fn, v->ctx, p->run_flags);
		/* A soft-full dirty ring (dirty-log --ring): resumes once the VMM reset it. */
		while (r == TDPMMU_EXIT_DIRTY_RING_FULL) {
			sched_yield();
			r = tdpmmu_vcpu_run(v->vcpu, p->fn, v->ctx, p->run_flags);
		}
		if (r && !v->err)
			v->err = r;

		pthread_mutex_lock(&p->lock);
		if (++p->finished == p->nr)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct bench_pool *bench_pool_create(struct tdpmmu_vm *vm, unsigned nr, tdpmmu_guest_fn fn,
				     void *const *ctx, unsigned run_flags)
{
	struct bench_pool *p = calloc(1, sizeof(*p));
	pthread_attr_t attr;
	int r;

	if (!p)
		fatal("out of memory for the vCPU pool");
	p->v = aligned_alloc(64, sizeof(*p->v) * nr);
	if (!p->v)
		fatal("out of memory for %u vCPU threads", nr);
	memset(p->v, 0, sizeof(*p->v) * nr);
	p->vm = vm;
	p->nr = nr;
	p->fn = fn;
	p->run_flags = run_flags;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	p->finished = nr; /* no pass in progress */
	for (unsigned i = 0; i < nr; i++) {
		r = tdpmmu_vcpu_create(vm, &p->v[i].vcpu);
		if (r)
			fatal("creating vCPU %u: %s", i, strerror(-r));
		p->v[i].pool = p;
		p->v[i].ctx = ctx[i];
		p->v[i].idx = i;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	for (unsigned i = 0; i < nr; i++) {
		r = pthread_create(&p->v[i].tid, &attr, vcpu_thread, &p->v[i]);
		if (r)
			fatal("starting vCPU thread %u of %u: %s", i + 1, nr, strerror(r));
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&p->lock);
	while (p->ready < nr)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return p;
}

void bench_pool_start(struct bench_pool *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->finished != p->nr)
		cli_bug("bench pool: a pass started while %u of %u vCPUs still run",
			p->nr - p->finished, p->nr);
	p->finished = 0;
	p->pass++;
	p->start_ns = now_ns();
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
}

uint64_t bench_pool_wait(struct bench_pool *p)
{
	uint64_t ns;

	pthread_mutex_lock(&p->lock);
	while (p->finished < p->nr)
		pthread_cond_wait(&p->done, &p->lock);
	ns = now_ns() - p->start_ns;
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nr; i++)
		if (p->v[i].err)
			fatal("vCPU %u stopped in pass %llu: %s", i, (unsigned long long)p->pass,
			      strerror(-p->v[i].err));
	return ns ? ns : 1;
}

struct tdpmmu_vcpu *bench_pool_vcpu(const struct bench_pool *p, unsigned i)
{
	return p->v[i].vcpu;
}

void bench_pool_destroy(struct bench_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nr; i++)
		pthread_join(p->v[i].tid, NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->go);
	pthread_mutex_destroy(&p->lock);
	free(p->v);
	free(p);
}

void bench_pool_stats(const struct bench_pool *p, struct bench_vcpu_sum *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < p->nr; i++) {
		struct tdpmmu_vcpu_stats st;

		tdpmmu_vcpu_stats_read(p->v[i].vcpu, &st);
		out->accesses += st.accesses;
		out->tlb_hits += st.tlb_hits;
		out->tlb_misses += st.tlb_misses;
		out->ept_violations += st.ept_violations;
		out->faults_fast += st.faults_fast;
		out->faults_slow += st.faults_slow;
		out->fault_retries += st.fault_retries;
		out->tlb_flushes += st.tlb_flushes;
	}
}
