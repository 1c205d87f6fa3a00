/*
 * populate_run.c - one run of the populate benchmark: a fresh VM with one
 * memslot and one vCPU per thread; the threads wait on a barrier, then each
 * write-faults every 4K gfn of its own slice in order.  The time reported
 * is from the barrier to the last thread finishing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_floor.h"
#include "compiler.h"
#include "populate.h"
#include "tdp_mmu.h"
#include "thread_slot.h"

#define WORKER_STACK_BYTES (512u << 10)

struct worker {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	pthread_barrier_t *barrier;
	uint64_t first_gfn, nr_gfns;
	int max_level;
	uint64_t start_ns, end_ns;
	int err;
	uint64_t err_gfn;
	pthread_t tid;
} __attribute__((aligned(64))); /* each thread writes only its own line */

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint64_t end = w->first_gfn + w->nr_gfns;
	struct tdpmmu_mapping m;

	/*
	 * One-time per-thread setup stays out of the timed region, as vCPU
	 * thread creation does in KVM's test: liburcu registration (on the
	 * first walk) and the thread's slot in the per-thread arrays.
	 */
	tdpmmu_lookup(w->vm, w->first_gfn, &m);
	tdp_thread_slot();

	pthread_barrier_wait(w->barrier);
	w->start_ns = tdp_now_ns();
	for (uint64_t gfn = w->first_gfn; gfn < end; gfn++) {
		int r = tdpmmu_fault(w->vcpu, gfn, TDPMMU_ACCESS_WRITE, w->max_level, NULL);

		if (r) {
			w->err = r;
			w->err_gfn = gfn;
			break;
		}
	}
	w->end_ns = tdp_now_ns();
	return NULL;
}

/* Tables for @gfns 4K-mapped gfns from gfn 0, the vCPU caches, and some slack. */
static uint64_t tables_needed(unsigned levels, uint64_t gfns, unsigned threads)
{
	uint64_t n = 1; /* the root */

	for (int level = TDP_LEVEL_4K; level < (int)levels; level++) {
		uint64_t span = tdp_pages_per_level(level + 1); /* gfns one such table covers */

		n += (gfns + span - 1) / span;
	}
	return n + (uint64_t)threads * TDP_PAGE_CACHE_CAP + 64;
}

static struct tdpmmu_vm *create_vm(const struct populate_opts *o, unsigned threads)
{
	uint64_t gfns = populate_gfns_per_thread(o) * threads;
	struct tdpmmu_memslot slot = {
		.id = 0,
		.base_gfn = 0,
		.npages = gfns,
		.backing = o->backing,
	};
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	int r;

	tdpmmu_vm_config_init(&cfg);
	cfg.levels = o->levels;
	cfg.max_tables = tables_needed(o->levels, gfns, threads);
	r = tdpmmu_vm_create(&cfg, &vm);
	if (r)
		fatal("creating a VM with %llu page tables: %s", (unsigned long long)cfg.max_tables,
		      strerror(-r));
	r = tdpmmu_memslot_add(vm, &slot);
	if (r)
		fatal("adding a memslot of %llu gfns: %s", (unsigned long long)gfns, strerror(-r));
	return vm;
}

static void start_workers(struct worker *w, unsigned threads)
{
	pthread_attr_t attr;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
	for (unsigned i = 0; i < threads; i++) {
		r = pthread_create(&w[i].tid, &attr, worker_fn, &w[i]);
		if (r)
			fatal("starting thread %u of %u: %s", i + 1, threads, strerror(r));
	}
	pthread_attr_destroy(&attr);
}

void populate_run(const struct populate_opts *o, unsigned threads, bool audit, bool floor,
		  struct populate_result *res)
{
	uint64_t gfns = populate_gfns_per_thread(o), start = UINT64_MAX, end = 0;
	struct tdpmmu_vm *vm = create_vm(o, threads);
	pthread_barrier_t barrier;
	struct worker *w;
	int r;

	w = aligned_alloc(64, sizeof(*w) * threads);
	if (!w)
		fatal("out of memory for %u threads", threads);
	memset(w, 0, sizeof(*w) * threads);
	pthread_barrier_init(&barrier, NULL, threads);
	for (unsigned i = 0; i < threads; i++) {
		r = tdpmmu_vcpu_create(vm, &w[i].vcpu);
		if (r)
			fatal("creating vCPU %u: %s", i, strerror(-r));
		w[i].vm = vm;
		w[i].barrier = &barrier;
		w[i].first_gfn = (uint64_t)i * gfns;
		w[i].nr_gfns = gfns;
		w[i].max_level = o->max_level;
	}
	start_workers(w, threads);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&barrier);

	for (unsigned i = 0; i < threads; i++) {
		if (w[i].err)
			fatal("thread %u: fault on gfn 0x%llx failed: %s", i,
			      (unsigned long long)w[i].err_gfn, strerror(-w[i].err));
		if (w[i].start_ns < start)
			start = w[i].start_ns;
		if (w[i].end_ns > end)
			end = w[i].end_ns;
	}
	memset(res, 0, sizeof(*res));
	res->threads = threads;
	res->faults = gfns * threads;
	res->elapsed_ns = end - start;
	tdpmmu_read_counters(vm, res->counters);
	tdpmmu_read_lock_stats(vm, &res->lock);

	populate_check(vm, o, threads, res->counters, audit);
	if (floor) {
		r = tdp_bench_floor(vm, 0, gfns, &res->floor_ns);
		if (r)
			fatal("floor walk over gfns 0..0x%llx: %s", (unsigned long long)gfns - 1,
			      strerror(-r));
		res->floor_gfns = gfns;
	}
	tdpmmu_vm_destroy(vm); /* and the vCPUs still attached to it */
	free(w);
}
