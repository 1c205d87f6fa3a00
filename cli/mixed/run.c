/*
 * run.c - one run of `tdpmmu bench mixed`: everything at once, the closest
 * this model gets to a busy host.  Guest memory (-b per vCPU) is split in
 * two memslots: the lower half is being migrated (dirty logging, manual
 * protect), the upper half keeps huge pages (-s, default THP) under the
 * NX huge-page mitigation.  Each vCPU passes over its own memory again
 * and again for --seconds (-w of the pages written, every 64th fetched
 * from as code, the rest read), every fault timed, while the host, each at
 * its own modest rate:
 *
 *   dirty log     gets slot 0's log and clears it word by word
 *                 (re-protecting what was written), --dirty-rate rounds/s;
 *   aging         tests every 2 MiB of guest memory for young leaves and
 *                 clears those (test_young, clear_young), --age-rate
 *                 passes/s over the whole memory;
 *   NX recovery   zaps 1/MIXED_NX_RATIO of the possible-NX tables
 *                 (tdpmmu_nx_recover), --nx-rate passes/s;
 *   invalidations begin/[remap]/end of --range at random places
 *                 (bench_background.c), --inval-rate per second.
 *
 * The metric: guest accesses per second over all vCPUs.  Afterwards the
 * VM is checked (bench_background.c, and the NX list's own audit).
 *
 * Threads: the vCPU threads (bench_pool.c) run one long pass; the main
 * thread is the whole host: it alone makes every dirty-log, aging, NX
 * recovery and notifier call, one at a time (so at most one invalidation
 * is in progress, and it never faults itself), sleeping between them,
 * then sets the stop flag (a relaxed atomic the guests load), waits for
 * the pass to end and checks.  The library's own NX recovery thread is
 * not started (period 0); the library's other threads (RCU, drain worker)
 * are its business.  No lock of this file's own: the pool's mutex orders
 * the guests' results before the main thread reads them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "mixed/mixed.h"
#include "tdpmmu/testing.h"

/* One run's VM and the host's side of it (main thread only). */
struct mixed_host {
	const struct mixed_opts *o;
	struct tdpmmu_vm *vm;
	uint64_t total, log_pages;
	uint64_t *bitmap; /* slot 0's dirty log, as the last get returned it */
	struct mixed_extra *x;
};

static void dirty_round(struct mixed_host *h)
{
	int n = tdpmmu_dirty_log_get(h->vm, 0, h->bitmap), r;

	if (n < 0)
		fatal("dirty_log_get: %s", strerror(-n));
	h->x->logged += (uint64_t)n;
	for (uint64_t w = 0; w < (h->log_pages + 63) / 64; w++) {
		if (!h->bitmap[w])
			continue;
		r = tdpmmu_dirty_log_clear(h->vm, 0, w * 64, h->bitmap[w]);
		if (r < 0)
			fatal("dirty_log_clear at page %llu: %s", (unsigned long long)(w * 64),
			      strerror(-r));
		h->x->reprotected += (uint64_t)r;
	}
}

static void aging_pass(struct mixed_host *h)
{
	for (uint64_t s = 0; s < h->total; s += AGE_CHUNK) {
		uint64_t e = s + AGE_CHUNK < h->total ? s + AGE_CHUNK : h->total;
		int r = tdpmmu_test_young(h->vm, s, e);

		if (r > 0)
			r = tdpmmu_clear_young(h->vm, s, e);
		if (r < 0)
			fatal("aging [0x%llx, 0x%llx): %s", (unsigned long long)s,
			      (unsigned long long)e, strerror(-r));
		if (r > 0)
			h->x->young += (uint64_t)r;
	}
}

static void nx_pass(struct mixed_host *h)
{
	int r = tdpmmu_nx_recover(h->vm, MIXED_NX_RATIO);

	if (r < 0)
		fatal("nx_recover: %s", strerror(-r));
	h->x->nx_zapped += (uint64_t)r;
}

static void act(struct mixed_host *h, enum mixed_act a)
{
	uint64_t t = now_ns();

	switch (a) {
	case ACT_DIRTY:
		dirty_round(h);
		break;
	case ACT_AGE:
		aging_pass(h);
		break;
	case ACT_NX:
		nx_pass(h);
		break;
	default:
		bg_invalidate(&h->x->iv);
	}
	h->x->ns[a] += now_ns() - t;
	h->x->done[a]++;
}

/*
 * The host's loop until @end: the most overdue activity runs, else sleep
 * until the next is due.  The first of each is due half a period in.
 */
static void host_loop(struct mixed_host *h, uint64_t t0, uint64_t end)
{
	const unsigned *rate = h->o->rate;
	uint64_t due[NR_ACTS];

	for (int a = 0; a < NR_ACTS; a++)
		due[a] = rate[a] ? t0 + 500000000ull / rate[a] : UINT64_MAX;
	for (uint64_t now = t0; now < end; now = now_ns()) {
		int next = 0;

		for (int a = 1; a < NR_ACTS; a++)
			if (due[a] < due[next])
				next = a;
		if (due[next] > now) {
			bg_sleep_until(due[next] < end ? due[next] : end);
			continue;
		}
		act(h, (enum mixed_act)next);
		bg_pace(&due[next], rate[next], now_ns());
	}
}

static void enable_logging(struct mixed_host *h, struct sweep_run *out)
{
	uint64_t t = now_ns();
	int r = tdpmmu_dirty_log_enable(h->vm, 0, TDPMMU_DIRTY_LOG_MANUAL_PROTECT);

	if (r < 0)
		fatal("dirty_log_enable on memslot 0: %s", strerror(-r));
	bench_phase_add(&out->phases, "enable dirty logging", now_ns() - t, 0);
}

/* After the run: the final log for the check, the NX list's audit, then the rest. */
static uint64_t mixed_check(struct mixed_host *h, const struct bg_guest *g)
{
	const struct mixed_opts *o = h->o;
	bool logging = o->rate[ACT_DIRTY] > 0;
	int r;

	if (logging) {
		r = tdpmmu_dirty_log_get(h->vm, 0, h->bitmap);
		if (r < 0)
			fatal("final dirty_log_get: %s", strerror(-r));
	}
	if (o->rate[ACT_NX] && (r = tdpmmu_nx_audit(h->vm)))
		fatal("check failed: the NX list's audit found %d violations (see above)", r);
	return bg_check(&(struct bg_check){
		.vm = h->vm,
		.b = &o->b,
		.g = g,
		.iv = &h->x->iv,
		.payload = o->b.sw.payload,
		.dirty_kept_from = logging ? h->log_pages : 0,
		.nx = o->rate[ACT_NX] > 0,
		.log_bitmap = logging ? h->bitmap : NULL,
		.log_base = 0,
		.log_pages = h->log_pages,
		.log_dbit = o->dirty_mode == TDPMMU_DIRTY_DBIT,
	});
}

static void fill_out(struct mixed_host *h, const int64_t *c0, uint64_t ns, struct sweep_run *out)
{
	struct mixed_extra *x = h->x;
	double secs = (double)ns / 1e9;

	x->seconds = secs;
	x->retries = (uint64_t)(out->counters[TDPMMU_C_NOTIFIER_RETRIES] -
				c0[TDPMMU_C_NOTIFIER_RETRIES]);
	x->zapped = (uint64_t)(out->counters[TDPMMU_C_LEAVES_ZAPPED] - c0[TDPMMU_C_LEAVES_ZAPPED]);
	bench_phase_add(&out->phases, "vCPU passes under the busy host", ns, x->faults);
	out->metric = (double)x->accesses / secs;
	out->col[0] = (double)x->faults / secs;
	for (int a = 0; a < NR_ACTS; a++)
		out->col[1 + a] = (double)x->done[a] / secs;
	out->extra = x;
}

void mixed_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct mixed_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	uint64_t npages = bench_pages_per_vcpu(&o->b), t0, ns;
	struct mixed_host h = { .o = o, .total = npages * n, .log_pages = npages * n / 2 };
	struct bg_guest *g = calloc(n, sizeof(*g));
	void **ctx = calloc(n, sizeof(*ctx));
	int64_t c0[TDPMMU_NR_COUNTERS];
	struct tdpmmu_lock_stats lock0;
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	struct bench_pool *pool;
	atomic_bool stop;

	(void)lat_round;
	h.x = calloc(1, sizeof(*h.x));
	h.bitmap = calloc((h.log_pages + 63) / 64, sizeof(uint64_t));
	if (!g || !ctx || !h.x || !h.bitmap)
		fatal("out of memory");
	tdpmmu_vm_config_init(&cfg);
	cfg.nx_huge_pages = o->rate[ACT_NX] > 0;
	cfg.nx_recovery_period_ms = 0; /* the main thread recovers, at --nx-rate */
	cfg.dirty_mode = o->dirty_mode;
	cfg.payload_bytes = bg_payload_bytes(&o->b, h.total, 2);
	h.vm = bench_vm_create(&cfg, &o->b, false, 2);
	if (o->rate[ACT_DIRTY])
		enable_logging(&h, out);
	atomic_init(&stop, false);
	for (unsigned i = 0; i < n; i++) {
		bg_guest_init(&g[i], (uint64_t)i * npages, npages, o->write_pct, true, &stop);
		ctx[i] = &g[i];
	}
	bg_inval_init(&h.x->iv, h.vm, h.total, o->range_bytes, o->remap_pct,
		      0x6d69786564ull ^ ((uint64_t)n << 32) ^ o->b.sw.strategy);
	pool = bench_pool_create(h.vm, n, bg_guest_next, ctx, TDPMMU_RUN_LATENCY);
	tdpmmu_lock_stats_read(h.vm, &lock0);
	tdpmmu_counters_read(h.vm, c0);

	bench_pool_start(pool);
	t0 = now_ns();
	host_loop(&h, t0, t0 + (uint64_t)(o->seconds * 1e9));
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	ns = bench_pool_wait(pool);
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);

	tdpmmu_lock_stats_read(h.vm, &out->lock);
	sweep_lock_since(&out->lock, &lock0);
	tdpmmu_counters_read(h.vm, out->counters);
	tdpmmu_reclaim_stats_read(h.vm, &out->reclaim);
	tdpmmu_fault_latency_read(h.vm, &out->latency);
	out->has_latency = true;
	h.x->faults = s.ept_violations;
	h.x->accesses = s.accesses;
	for (unsigned i = 0; i < n; i++)
		h.x->passes += g[i].passes;
	h.x->checked = mixed_check(&h, g);
	tdpmmu_vm_destroy(h.vm);
	fill_out(&h, c0, ns, out);
	if (sweep_single_run(&o->b.sw))
		printf("%s, %u vCPU%s, %.3f s: %" PRIu64 " accesses, %" PRIu64 " faults; %" PRIu64
		       " dirty-log rounds (%" PRIu64 " pages logged), %" PRIu64
		       " aging passes, %" PRIu64 " NX recoveries (%" PRIu64 " tables), %" PRIu64
		       " invalidations; %" PRIu64 " pages checked\n",
		       tdpmmu_strategy_name(o->b.sw.strategy), n, n == 1 ? "" : "s", h.x->seconds,
		       h.x->accesses, h.x->faults, h.x->done[ACT_DIRTY], h.x->logged,
		       h.x->done[ACT_AGE], h.x->done[ACT_NX], h.x->nx_zapped, h.x->done[ACT_INVAL],
		       h.x->checked);
	free(h.bitmap);
	free(ctx);
	free(g);
}
