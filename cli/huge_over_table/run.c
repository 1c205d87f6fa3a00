/*
 * run.c - one run of huge-over-table or stalled-reader at the
 * sweep's current strategy and vCPU count, on a fresh VM:
 *
 *   huge vCPUs   (the first half, rounded up) loop over 64 blocks of 2 MiB
 *                in a THP memslot: a write fault capped at 4K puts a page
 *                table under the block (splitting the huge leaf), then the
 *                same fault uncapped maps a 2M leaf over that table, which
 *                is retired: the seed thread's case.
 *   small vCPUs  fault fresh 4K pages of their own region of an anonymous
 *                memslot, one after the other.
 *   staller      (stalled-reader) a quarter into the run, one more thread
 *                holds a walker's protection for --stall-ms
 *                (tdpmmu_hold_walk), like a fault preempted mid-walk.
 *
 * Faults are made with tdpmmu_fault on the vCPU threads (each thread is
 * its vCPU), each timed into the thread's own log-bucketed histogram.
 *
 * Concurrency: a vCPU thread touches only its own struct worker; it counts
 * finished faults in relaxed atomics that the staller and the main thread
 * read.  The staller writes its window (times, fault counts) and then sets
 * done with release; the main thread reads the window after joining it.
 * The main thread, for stalled-reader, samples the retired memory every
 * millisecond with tdpmmu_reclaim_stats_read, which reads only the
 * library's atomics: it takes no lock, is no vCPU and no RCU reader, so
 * it can neither wait for the stalled reader nor hold up reclamation.  Its
 * sleeps set the measured duration; they synchronise nothing.  Stop is a
 * relaxed atomic flag; pthread_join orders each worker's histogram before
 * the main thread reads it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/latency_hist.h"
#include "common/util.h"
#include "huge_over_table/huge_over_table.h"
#include "tdpmmu/testing.h"

#define BLOCK_PAGES 512ull       /* one 2 MiB block */
#define HUGE_BLOCKS 64ull        /* per huge vCPU: 128 MiB */
#define SMALL_PAGES (1ull << 24) /* per small vCPU: 64 GiB of fresh 4K pages */
#define HIST_BUCKETS 512

struct worker {
	struct tdpmmu_vcpu *v;
	bool huge;
	uint64_t base_gfn;
	_Atomic uint64_t faults, replaced;
	uint64_t hist[HIST_BUCKETS], max_ns;
	const atomic_bool *stop;
	pthread_t thread;
} cacheline_aligned;

struct staller {
	struct tdpmmu_vm *vm;
	struct worker *w;
	unsigned nr;
	uint64_t ns;
	uint64_t t0_ns, f0, t1_ns, f1; /* the window, written before done */
	atomic_bool done;
	bool started; /* main thread only */
	pthread_t thread;
};

static void record(struct worker *w, uint64_t ns)
{
	w->hist[hist_bucket(ns)]++;
	if (ns > w->max_ns)
		w->max_ns = ns;
}

static int timed_fault(struct worker *w, uint64_t gfn, int max_level, int *level)
{
	struct tdpmmu_fault_result res;
	uint64_t t0 = now_ns();
	int r = tdpmmu_fault(w->v, gfn, TDPMMU_ACCESS_WRITE, max_level, &res);

	record(w, now_ns() - t0);
	*level = res.level;
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t i = 0;
	int level, r = 0;

	while (!r && !atomic_load_explicit(w->stop, memory_order_relaxed)) {
		if (w->huge) {
			uint64_t gfn = w->base_gfn + (i++ % HUGE_BLOCKS) * BLOCK_PAGES;

			r = timed_fault(w, gfn, 1, &level); /* a table under the block */
			if (!r)
				r = timed_fault(w, gfn, 0, &level); /* huge over it */
			if (!r && level == 2)
				atomic_fetch_add_explicit(&w->replaced, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&w->faults, 2, memory_order_relaxed);
		} else {
			if (i == SMALL_PAGES)
				break; /* region used up: this vCPU is done */
			r = timed_fault(w, w->base_gfn + i++, 0, &level);
			atomic_fetch_add_explicit(&w->faults, 1, memory_order_relaxed);
		}
	}
	if (r)
		fatal("fault failed: %s", strerror(-r));
	return NULL;
}

static uint64_t total_faults(struct worker *w, unsigned n)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += atomic_load_explicit(&w[i].faults, memory_order_relaxed);
	return sum;
}

static void *staller_main(void *arg)
{
	struct staller *st = arg;

	st->f0 = total_faults(st->w, st->nr);
	st->t0_ns = now_ns();
	tdpmmu_hold_walk(st->vm, st->ns);
	st->t1_ns = now_ns();
	st->f1 = total_faults(st->w, st->nr);
	atomic_store_explicit(&st->done, true, memory_order_release);
	return NULL;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static uint64_t small_pages(unsigned small)
{
	return (small ? small : 1) * SMALL_PAGES;
}

static struct tdpmmu_vm *make_vm(const struct reclaim_opts *o)
{
	unsigned huge = reclaim_nr_huge(o->b.sw.vcpus), small = o->b.sw.vcpus - huge;
	struct tdpmmu_memslot thp = { 0, 0, huge * HUGE_BLOCKS * BLOCK_PAGES, TDPMMU_BACKING_THP,
				      0 };
	struct tdpmmu_memslot anon = { 1, thp.npages, small_pages(small), TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	int r;

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = o->b.sw.strategy;
	cfg.preempt = o->b.sw.preempt;
	cfg.pages = o->b.sw.pages;
	cfg.levels = o->b.sw.levels;
	/* Reserved and touched on demand: every small page, plus room to pile up. */
	cfg.max_tables = anon.npages / BLOCK_PAGES * 2 + huge * HUGE_BLOCKS * 4 + (1u << 20);
	/* Real frames, reserved and never touched (the faults here access no guest bytes). */
	if (o->b.sw.payload)
		cfg.payload_bytes = tdpmmu_payload_bytes_for(thp.npages + anon.npages, 2);
	r = tdpmmu_vm_create(&cfg, &vm);
	if (!r)
		r = tdpmmu_memslot_add(vm, &thp);
	if (!r)
		r = tdpmmu_memslot_add(vm, &anon);
	if (r)
		fatal("creating the VM: %s", strerror(-r));
	return vm;
}

static struct worker *make_workers(const struct reclaim_opts *o, struct tdpmmu_vm *vm,
				   const atomic_bool *stop)
{
	unsigned n = o->b.sw.vcpus, huge = reclaim_nr_huge(n);
	struct worker *w = aligned_alloc(CACHELINE, sizeof(*w) * n);

	if (!w)
		fatal("out of memory");
	memset(w, 0, sizeof(*w) * n);
	for (unsigned i = 0; i < n; i++) {
		int r;

		w[i].huge = i < huge;
		w[i].base_gfn = w[i].huge ? i * HUGE_BLOCKS * BLOCK_PAGES
					  : huge * HUGE_BLOCKS * BLOCK_PAGES +
						    (i - huge) * SMALL_PAGES;
		w[i].stop = stop;
		r = tdpmmu_vcpu_create(vm, &w[i].v);
		if (r)
			fatal("creating vCPU %u: %s", i, strerror(-r));
	}
	return w;
}

static void sample(struct tdpmmu_vm *vm, struct reclaim_result *res, uint64_t t0,
		   const struct staller *st)
{
	struct tdpmmu_reclaim_stats rs;
	uint64_t now = now_ns(), bytes;

	tdpmmu_reclaim_stats_read(vm, &rs);
	bytes = rs.outstanding * 4096;
	reclaim_series_add(&res->series, now - t0, bytes);
	/* Inside the window as far as this thread can tell: started, not yet seen done. */
	if (st->started && !atomic_load_explicit(&st->done, memory_order_acquire) &&
	    bytes > res->stall_peak_bytes)
		res->stall_peak_bytes = bytes;
}

/*
 * The main thread while the vCPUs run: huge-over-table sleeps; stalled-
 * reader starts the staller a quarter in, samples every millisecond, and
 * goes on until both --seconds are up and the stall has ended.
 */
static void drive(const struct reclaim_opts *o, struct tdpmmu_vm *vm, struct staller *st,
		  struct reclaim_result *res, uint64_t t0)
{
	uint64_t total = (uint64_t)(o->seconds * 1e9), lead = total / 4;

	if (!o->stall) {
		sleep_ns(total);
		return;
	}
	reclaim_series_init(&res->series);
	for (;;) {
		uint64_t now = now_ns() - t0;

		if (!st->started && now >= lead) {
			if (pthread_create(&st->thread, NULL, staller_main, st))
				fatal("cannot create the stalled reader");
			st->started = true;
		}
		sample(vm, res, t0, st);
		if (now >= total && atomic_load_explicit(&st->done, memory_order_acquire))
			break;
		sleep_ns(RECLAIM_SAMPLE_NS);
	}
	pthread_join(st->thread, NULL);
	reclaim_series_finish(&res->series);
	res->stall_start_ns = st->t0_ns - t0;
	res->stall_end_ns = st->t1_ns - t0;
	res->stall_faults = st->f1 - st->f0;
}

static void sum_latency(const struct worker *w, unsigned n, struct tdpmmu_latency *lat)
{
	uint64_t hist[HIST_BUCKETS] = { 0 }, count = 0, max_ns = 0;

	for (unsigned i = 0; i < n; i++) {
		for (unsigned b = 0; b < HIST_BUCKETS; b++) {
			hist[b] += w[i].hist[b];
			count += w[i].hist[b];
		}
		if (w[i].max_ns > max_ns)
			max_ns = w[i].max_ns;
	}
	memset(lat, 0, sizeof(*lat));
	lat->count = count;
	lat->p50_ns = hist_percentile(hist, count, 500, max_ns);
	lat->p99_ns = hist_percentile(hist, count, 990, max_ns);
	lat->p999_ns = hist_percentile(hist, count, 999, max_ns);
	lat->max_ns = max_ns;
}

void reclaim_run(const struct reclaim_opts *o, struct sweep_run *out, struct reclaim_result *res)
{
	unsigned n = o->b.sw.vcpus;
	struct tdpmmu_vm *vm = make_vm(o);
	atomic_bool stop;
	struct worker *w;
	struct staller st = { .vm = vm, .nr = n, .ns = o->stall_ns };
	struct tdpmmu_lock_stats lock0;
	pthread_attr_t attr;
	uint64_t t0, t1;

	atomic_init(&stop, false);
	atomic_init(&st.done, false);
	w = make_workers(o, vm, &stop);
	st.w = w;
	memset(res, 0, sizeof(*res));
	tdpmmu_lock_stats_read(vm, &lock0);
	t0 = now_ns();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&w[i].thread, &attr, worker_main, &w[i]))
			fatal("cannot create vCPU thread %u", i);
	pthread_attr_destroy(&attr);
	drive(o, vm, &st, res, t0);
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	t1 = now_ns();

	res->seconds = (double)(t1 - t0) / 1e9;
	for (unsigned i = 0; i < n; i++) {
		uint64_t f = atomic_load(&w[i].faults);

		if (w[i].huge)
			res->huge_faults += f;
		else
			res->small_faults += f;
		res->replaced += atomic_load(&w[i].replaced);
	}
	if (o->stall) {
		bench_phase_add(&out->phases, "before the stall", res->stall_start_ns, st.f0);
		bench_phase_add(&out->phases, "stall", res->stall_end_ns - res->stall_start_ns,
				res->stall_faults);
		bench_phase_add(&out->phases, "after the stall", (t1 - t0) - res->stall_end_ns,
				res->small_faults + res->huge_faults - st.f1);
	} else {
		bench_phase_add(&out->phases, "huge over table and fresh 4K faults", t1 - t0,
				res->small_faults + res->huge_faults);
	}
	sum_latency(w, n, &out->latency);
	out->has_latency = true;
	tdpmmu_lock_stats_read(vm, &out->lock);
	sweep_lock_since(&out->lock, &lock0);
	tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	tdpmmu_counters_read(vm, out->counters);
	for (unsigned i = 0; i < n; i++)
		tdpmmu_vcpu_destroy(w[i].v);
	if (tdpmmu_audit(vm))
		fatal("%s, %u vCPUs: the audit after the run found violations",
		      tdpmmu_strategy_name(o->b.sw.strategy), n);
	tdpmmu_vm_destroy(vm); /* waits until every retired table is freed */
	free(w);
}
