/*
 * machine_ref.c - the machine reference of the populate benchmark: how
 * well this machine itself scales CPU-bound work, measured in the same run
 * so that the report can tell the MMU's scaling from the machine's.
 *
 * On shared and virtual machines N threads rarely get N times the work of
 * one done, even when they share nothing: vCPUs may be SMT siblings or
 * share a host core, turbo clocks drop as more cores are busy, and noisy
 * neighbours take their part.  The reference runs @threads threads that
 * share a fixed amount of private work, MACHINE_REF_ITERS per core in use
 * (min(threads, cores)), with no shared writes at all: each thread
 * allocates its own buffer (cache-line aligned, touched before the start
 * barrier, so no page faults are timed), then walks it line by line doing
 * what a fault does at the least, an atomic load and a compare-exchange of
 * one 64-bit word.  Its throughput at N threads over that at the smallest
 * count is the best scaling this machine allows such a loop; the report
 * sets the MMU's scaling beside it.
 *
 * With more threads than cores (hundreds of vCPU threads on a few cores)
 * the work and the buffers are split among the threads, so the reference
 * takes the same time and memory at any count: 8 MiB per core in use.
 *
 * The time is from the start barrier to the last thread finishing, as in
 * populate/run.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "populate/populate.h"

#define REF_BUF_BYTES (8u << 20) /* per core in use */
#define REF_MIN_BUF_BYTES (64u << 10)
#define REF_MIN_ITERS (64u << 10)

struct ref_worker {
	pthread_barrier_t *barrier;
	uint64_t iters, buf_words; /* buf_words: a power of two */
	uint64_t start_ns, end_ns;
	bool no_mem;
	pthread_t tid;
} __attribute__((aligned(64))); /* each thread writes only its own line */

static void *ref_worker_fn(void *arg)
{
	struct ref_worker *w = arg;
	const uint64_t mask = w->buf_words - 1;
	_Atomic uint64_t *buf = aligned_alloc(64, w->buf_words * sizeof(uint64_t));

	/* Wait on the barrier even without memory, or the others never start. */
	if (buf) {
		for (uint64_t i = 0; i < w->buf_words; i++)
			atomic_init(&buf[i], i);
	} else {
		w->no_mem = true;
	}
	pthread_barrier_wait(w->barrier);
	w->start_ns = now_ns();
	if (buf) {
		for (uint64_t i = 0; i < w->iters; i++) {
			/* Line by line; one word further on every 512 lines. */
			uint64_t idx = (i * 8 + (i >> 9)) & mask;
			uint64_t v = atomic_load_explicit(&buf[idx], memory_order_relaxed);

			atomic_compare_exchange_strong(&buf[idx], &v, v + 1);
		}
	}
	w->end_ns = now_ns();
	free(buf);
	return NULL;
}

/* The largest power of two not above @v. */
static uint64_t pow2_floor(uint64_t v)
{
	return v ? 1ull << (63 - __builtin_clzll(v)) : 1;
}

double machine_ref_run(unsigned threads, unsigned cores)
{
	unsigned used = threads < cores ? threads : (cores ? cores : 1);
	uint64_t iters = (uint64_t)MACHINE_REF_ITERS * used / threads;
	uint64_t buf_bytes = pow2_floor((uint64_t)REF_BUF_BYTES * used / threads);
	uint64_t start = UINT64_MAX, end = 0;
	pthread_barrier_t barrier;
	pthread_attr_t attr;
	struct ref_worker *w;
	int r;

	w = aligned_alloc(64, sizeof(*w) * threads);
	if (!w)
		fatal("out of memory for %u machine reference threads", threads);
	memset(w, 0, sizeof(*w) * threads);
	pthread_barrier_init(&barrier, NULL, threads);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	if (iters < REF_MIN_ITERS)
		iters = REF_MIN_ITERS;
	if (buf_bytes < REF_MIN_BUF_BYTES)
		buf_bytes = REF_MIN_BUF_BYTES;
	for (unsigned i = 0; i < threads; i++) {
		w[i].barrier = &barrier;
		w[i].iters = iters;
		w[i].buf_words = buf_bytes / sizeof(uint64_t);
		r = pthread_create(&w[i].tid, &attr, ref_worker_fn, &w[i]);
		if (r)
			fatal("starting machine reference thread %u of %u: %s", i + 1, threads,
			      strerror(r));
	}
	pthread_attr_destroy(&attr);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&barrier);

	for (unsigned i = 0; i < threads; i++) {
		if (w[i].no_mem)
			fatal("machine reference thread %u: out of memory for its %llu KiB buffer",
			      i, (unsigned long long)buf_bytes >> 10);
		if (w[i].start_ns < start)
			start = w[i].start_ns;
		if (w[i].end_ns > end)
			end = w[i].end_ns;
	}
	free(w);
	if (end <= start)
		end = start + 1;
	return (double)iters * threads / ((double)(end - start) / 1e9);
}
