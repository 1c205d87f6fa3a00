/*
 * run.c - one run of `tdpmmu bench notifier`: MMU-notifier invalidation
 * storms while vCPUs fault.  Each vCPU passes over its own -b of memory
 * again and again (-w of the pages written, the rest read) for --seconds,
 * every fault timed, while the host invalidates --range at random places
 * (tdpmmu_invalidate_begin, for --remap of them tdpmmu_host_remap of the
 * 2 MiB blocks, tdpmmu_invalidate_end), back to back or --rate per second.
 * The metric: vCPU faults (EPT violations) per second.  Afterwards the VM
 * is checked (bench_background.c: audit, every leaf against the host).
 *
 * Threads: the vCPU threads (bench_pool.c) run one long pass, in guest
 * mode but for their faults; the main thread is the host: it alone calls
 * invalidate_begin/host_remap/invalidate_end, one invalidation at a time
 * and never a fault of its own, then sets the stop flag (a relaxed atomic
 * the guests load), waits for the pass to end and reads the results, all
 * under no lock but the pool's.  No thread of this file's own; the
 * library's (RCU, drain worker) are its business.
 */
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "notifier/notifier.h"

void notifier_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct notifier_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	uint64_t npages = bench_pages_per_vcpu(&o->b), t0, end, due, ns;
	struct notifier_extra *x = calloc(1, sizeof(*x));
	struct bg_guest *g = calloc(n, sizeof(*g));
	void **ctx = calloc(n, sizeof(*ctx));
	int64_t c0[TDPMMU_NR_COUNTERS];
	struct tdpmmu_lock_stats lock0;
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	struct bench_pool *pool;
	struct tdpmmu_vm *vm;
	atomic_bool stop;
	double secs;

	(void)lat_round;
	if (!x || !g || !ctx)
		fatal("out of memory");
	tdpmmu_vm_config_init(&cfg);
	cfg.payload_bytes = bg_payload_bytes(&o->b, npages * n, 1);
	vm = bench_vm_create(&cfg, &o->b, false, 1);
	atomic_init(&stop, false);
	for (unsigned i = 0; i < n; i++) {
		bg_guest_init(&g[i], (uint64_t)i * npages, npages, o->write_pct, false, &stop);
		ctx[i] = &g[i];
	}
	bg_inval_init(&x->iv, vm, npages * n, o->range_bytes, o->remap_pct,
		      0x6e6f7469666965ull ^ ((uint64_t)n << 32) ^ o->b.sw.strategy);
	pool = bench_pool_create(vm, n, bg_guest_next, ctx, TDPMMU_RUN_LATENCY);
	tdpmmu_lock_stats_read(vm, &lock0);
	tdpmmu_counters_read(vm, c0);

	bench_pool_start(pool);
	t0 = now_ns();
	end = t0 + (uint64_t)(o->seconds * 1e9);
	due = t0;
	for (uint64_t now = t0; now < end; now = now_ns()) {
		if (o->rate && now < due) {
			bg_sleep_until(due < end ? due : end);
			continue;
		}
		bg_invalidate(&x->iv);
		if (o->rate)
			bg_pace(&due, o->rate, now_ns());
		else
			sched_yield(); /* back to back, as a host thread that gets preempted */
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	ns = bench_pool_wait(pool);
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);

	tdpmmu_lock_stats_read(vm, &out->lock);
	sweep_lock_since(&out->lock, &lock0);
	tdpmmu_counters_read(vm, out->counters);
	tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	tdpmmu_fault_latency_read(vm, &out->latency);
	out->has_latency = true;
	for (unsigned i = 0; i < n; i++)
		x->passes += g[i].passes;
	x->checked = bg_check(&(struct bg_check){
		.vm = vm, .b = &o->b, .g = g, .iv = &x->iv, .payload = o->b.sw.payload });
	tdpmmu_vm_destroy(vm);

	secs = (double)ns / 1e9;
	x->seconds = secs;
	x->faults = s.ept_violations;
	x->accesses = s.accesses;
	x->retries = (uint64_t)(out->counters[TDPMMU_C_NOTIFIER_RETRIES] -
				c0[TDPMMU_C_NOTIFIER_RETRIES]);
	x->zapped = (uint64_t)(out->counters[TDPMMU_C_LEAVES_ZAPPED] - c0[TDPMMU_C_LEAVES_ZAPPED]);
	bench_phase_add(&out->phases, "vCPU passes under invalidations", ns, s.ept_violations);
	out->metric = (double)s.ept_violations / secs;
	out->col[0] = (double)x->iv.count / secs;
	out->col[1] = x->iv.count ? (double)x->zapped / (double)x->iv.count : 0;
	out->col[2] = (double)x->retries / secs;
	out->col[3] = x->iv.count ? (double)x->iv.ns / (double)x->iv.count / 1e3 : 0;
	out->col[4] = (double)s.accesses / secs / 1e6;
	out->extra = x;
	if (sweep_single_run(&o->b.sw))
		printf("%s, %u vCPU%s, %.3f s: %" PRIu64 " faults, %" PRIu64 " invalidations "
		       "(%" PRIu64 " remaps), %" PRIu64 " notifier retries, %" PRIu64
		       " leaves zapped; %" PRIu64 " pages checked\n",
		       tdpmmu_strategy_name(o->b.sw.strategy), n, n == 1 ? "" : "s", secs,
		       x->faults, x->iv.count, x->iv.remaps, x->retries, x->zapped, x->checked);
	free(ctx);
	free(g);
}
