/*
 * run.c - one run of `tdpmmu bench nx-recovery`, after KVM's
 * nx_huge_pages_perf_test (and execute_perf_test), as a sweep (sweep.c):
 * strategies x vCPU counts x rounds.  The NX huge-page mitigation is on,
 * so huge leaves are not executable and an instruction fetch where a huge
 * page could be maps 4K and lists its table on the possible-NX list; the
 * recovery thread zaps a share of the listed tables every period so huge
 * pages can come back.  Each vCPU loops over its memory, fetching
 * (TDPMMU_ACCESS_EXEC) from every page, then reading every page, again
 * and again: reads refault zapped regions as huge pages, fetches split
 * them again, and so on while recovery runs.  Every fault is timed
 * (TDPMMU_RUN_LATENCY).
 *
 * Each run of a configuration is two VMs of --seconds each: the baseline
 * without the recovery thread (period 0: after the first pass every page
 * is a 4K executable mapping and faults stop), then with it.  The metric
 * is the largest fault latency while recovery ran (KVM's "Max fault
 * latency"), lower is better; the target is rcu's >= 50x lower
 * than wrlock's under the voluntary preemption model.
 *
 * Threads: the vCPU threads (bench_pool.c) run one long pass per VM; the
 * main thread waits --seconds, then sets the stop flag, which the guest
 * programs read with a relaxed atomic load (a lockless read is allowed in
 * guest mode) and stop at their next access.  The recovery thread is the
 * library's own.  Everything else here is the main thread's.
 */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "nx/nx.h"
#include "tdpmmu/testing.h"

/* The guest program: fetch from every page, read every page, repeat until stopped. */
struct nx_guest {
	uint64_t base_gfn, npages, next;
	uint64_t loops; /* fetch+read loops begun */
	bool exec;
	const atomic_bool *stop;
};

static bool nx_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct nx_guest *g = ctx;

	if (atomic_load_explicit(g->stop, memory_order_relaxed))
		return false;
	if (g->next == g->npages) {
		g->next = 0;
		g->exec = !g->exec;
		g->loops += g->exec;
	}
	a->gpa = (g->base_gfn + g->next++) * GUEST_PAGE_BYTES;
	a->type = g->exec ? TDPMMU_ACCESS_EXEC : TDPMMU_ACCESS_READ;
	a->value = 0;
	return true;
}

static void sleep_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns, now;

	while ((now = now_ns()) < end) {
		struct timespec ts = { .tv_sec = (time_t)((end - now) / 1000000000ull),
				       .tv_nsec = (long)((end - now) % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
}

/*
 * One VM for --seconds with @row's recovery period.  With @out (the
 * recovery half), also the lock statistics of the vCPUs' part and the
 * reclamation statistics.  The tree is audited before the VM goes.
 */
static void nx_row_run(const struct nx_opts *o, struct nx_row *row, struct sweep_run *out)
{
	uint64_t n = bench_pages_per_vcpu(&o->b), t0, k0;
	struct tdpmmu_lock_stats lock0;
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	struct bench_pool *pool;
	struct nx_guest *g;
	struct tdpmmu_vm *vm;
	atomic_bool stop;
	void **ctx;

	tdpmmu_vm_config_init(&cfg);
	cfg.nx_huge_pages = true;
	cfg.nx_recovery_period_ms = row->period_ms;
	cfg.nx_recovery_ratio = o->ratio;
	vm = bench_vm_create(&cfg, &o->b, false, 1);
	g = calloc(o->b.sw.vcpus, sizeof(*g));
	ctx = calloc(o->b.sw.vcpus, sizeof(*ctx));
	if (!g || !ctx)
		fatal("out of memory");
	atomic_init(&stop, false);
	for (unsigned i = 0; i < o->b.sw.vcpus; i++) {
		g[i] = (struct nx_guest){ .base_gfn = (uint64_t)i * n,
					  .npages = n,
					  .exec = true,
					  .loops = 1,
					  .stop = &stop };
		ctx[i] = &g[i];
	}
	pool = bench_pool_create(vm, o->b.sw.vcpus, nx_guest_next, ctx, TDPMMU_RUN_LATENCY);
	tdpmmu_lock_stats_read(vm, &lock0);
	t0 = now_ns();
	k0 = ticks();
	bench_pool_start(pool);
	sleep_ns((uint64_t)(o->seconds * 1e9));
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	bench_pool_wait(pool);
	row->ticks = ticks() - k0;
	row->ns = now_ns() - t0;
	if (out) {
		tdpmmu_lock_stats_read(vm, &out->lock);
		sweep_lock_since(&out->lock, &lock0);
	}
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);
	row->faults = s.ept_violations;
	row->accesses = s.accesses;
	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		row->loops += g[i].loops;
	tdpmmu_fault_latency_read(vm, &row->lat);
	tdpmmu_counters_read(vm, row->counters);
	row->listed_end = tdpmmu_nx_listed(vm);
	if (out)
		tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	if (tdpmmu_audit(vm))
		fatal("nx-recovery (%s, %u vCPUs, %s): the audit after the run found violations",
		      tdpmmu_strategy_name(o->b.sw.strategy), o->b.sw.vcpus,
		      row->period_ms ? "recovery" : "baseline");
	tdpmmu_vm_destroy(vm);
	free(ctx);
	free(g);
}

/* The selftest's line, while a single run goes (one strategy, one count, one round). */
static void print_row_line(const char *name, const struct nx_row *r)
{
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_NX_TRACKED,  TDPMMU_C_NX_SPLITS,      TDPMMU_C_NX_RECOVERED,
		TDPMMU_C_HUGE_SPLITS, TDPMMU_C_TABLES_RETIRED, TDPMMU_C_TABLES_FREED,
		TDPMMU_C_TLB_FLUSHES, TDPMMU_C_LEAVES_4K,      TDPMMU_C_LEAVES_2M,
		TDPMMU_C_LEAVES_1G,
	};
	double c = nx_cycles_per_ns(r);

	printf("%s: Max fault latency: %" PRIu64 " ns", name, r->lat.max_ns);
	if (c > 0)
		printf(" (%.0f cycles)", (double)r->lat.max_ns * c);
	printf(", p99.9 %" PRIu64 " ns, p99 %" PRIu64 " ns, p50 %" PRIu64 " ns, %" PRIu64
	       " faults, %" PRIu64 " tables listed at the end\n",
	       r->lat.p999_ns, r->lat.p99_ns, r->lat.p50_ns, r->faults, r->listed_end);
	printf("counters at the end of %s (%" PRIu64 " fetch+read loops over all vCPUs):\n", name,
	       r->loops);
	bench_print_counters(stdout, r->counters, key, (int)(sizeof(key) / sizeof(key[0])));
}

void nx_run(void *opts, bool lat_round, struct sweep_run *out)
{
	const struct nx_opts *o = opts;
	struct nx_extra *x = calloc(1, sizeof(*x));
	bool single = sweep_single_run(&o->b.sw);

	if (!x)
		fatal("out of memory");
	x->rec.period_ms = o->period_ms;
	nx_row_run(o, &x->base, NULL);
	if (single)
		print_row_line("baseline", &x->base);
	nx_row_run(o, &x->rec, out);
	if (single) {
		print_row_line("recovery", &x->rec);
		printf("recovery / baseline: p50 %.2fx, p99 %.2fx, p99.9 %.2fx, max %.2fx; "
		       "faults %.1fx\n",
		       nx_ratio(x->rec.lat.p50_ns, x->base.lat.p50_ns),
		       nx_ratio(x->rec.lat.p99_ns, x->base.lat.p99_ns),
		       nx_ratio(x->rec.lat.p999_ns, x->base.lat.p999_ns),
		       nx_ratio(x->rec.lat.max_ns, x->base.lat.max_ns),
		       nx_ratio(x->rec.faults, x->base.faults));
	}
	bench_phase_add(&out->phases, "baseline: fetch and read loop", x->base.ns, x->base.faults);
	bench_phase_add(&out->phases, "recovery: fetch and read loop", x->rec.ns, x->rec.faults);
	out->metric = x->rec.lat.count ? (double)x->rec.lat.max_ns / 1e3 : NAN;
	out->col[0] = (double)x->rec.lat.p99_ns / 1e3;
	out->col[1] = (double)x->rec.lat.p999_ns / 1e3;
	out->col[2] = (double)x->base.lat.max_ns / 1e3;
	out->col[3] = nx_ratio(x->rec.lat.p99_ns, x->base.lat.p99_ns);
	out->col[4] = (double)x->rec.counters[TDPMMU_C_NX_RECOVERED];
	out->has_latency = true;
	out->latency = x->rec.lat;
	memcpy(out->counters, x->rec.counters, sizeof(out->counters));
	out->extra = x;
}
