/*
 * run.c - one run of `tdpmmu bench mmio`: vCPUs mixing MMIO and memory
 * accesses (guest.c) for --seconds while the host, on the main thread,
 * adds and deletes a small extra memslot (away from the holes)
 * --slot-rate times a second (or, --slot-op dirty-log, turns its dirty
 * log on and off).  Every memslot publication moves the memslot
 * generation, so every cached MMIO entry goes stale and the next access
 * there takes the fault path again (KVM's reason for the generation); a
 * delete also zaps every root (the fast zap), so memory refaults too,
 * which the dirty-log updates do not do.  The metric: accesses per second over all vCPUs.
 *
 * The check after the run (fatal, exit 1, when it fails): every hole
 * access was an MMIO exit that reached the device once (with caching on
 * the library's mmio_exits counter agrees), no memory access was one, the
 * device saw only its hole and the right values, and the audit passes.
 *
 * Threads: the vCPU threads (guest.c); the main thread is the host: it
 * alone makes memslot calls, then sets the stop flag and joins the
 * threads before it reads their counts.  No lock of this file's own.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_background.h"
#include "common/util.h"
#include "mmio/mmio.h"
#include "tdpmmu/testing.h"

/* One memslot update of the extra slot: add or delete it, or turn its dirty log on or off. */
static void slot_update(struct tdpmmu_vm *vm, const struct mmio_opts *o,
			const struct tdpmmu_memslot *extra, bool *on)
{
	const char *what;
	int r;

	if (o->dirty_log_op) {
		what = *on ? "turning off the dirty log of" : "turning on the dirty log of";
		r = *on ? tdpmmu_dirty_log_disable(vm, extra->id, TDPMMU_RECOVER_NONE)
			: tdpmmu_dirty_log_enable(vm, extra->id, 0);
	} else {
		what = *on ? "deleting" : "adding";
		r = *on ? tdpmmu_memslot_delete(vm, extra->id) : tdpmmu_memslot_add(vm, extra);
	}
	if (r < 0)
		fatal("mmio: %s the extra memslot: %s", what, strerror(-r));
	*on = !*on;
}

/* The host's part: memslot updates until @end, paced; returns the number made. */
static uint64_t slot_updates(struct tdpmmu_vm *vm, const struct mmio_opts *o,
			     const struct tdpmmu_memslot *extra, uint64_t t0, uint64_t end)
{
	uint64_t n = 0, due = t0;
	bool on = false;

	if (!o->slot_rate) {
		bg_sleep_until(end);
		return 0;
	}
	for (uint64_t now = t0; now < end; now = now_ns()) {
		if (now < due) {
			bg_sleep_until(due < end ? due : end);
			continue;
		}
		slot_update(vm, o, extra, &on);
		n++;
		bg_pace(&due, o->slot_rate, now_ns());
	}
	return n;
}

static int64_t since(const int64_t *now, const int64_t *then, enum tdpmmu_counter c)
{
	return now[c] - then[c];
}

/* The check: fatal (exit 1) with what was wrong. */
static void check(const struct mmio_opts *o, const struct mmio_extra *x, const struct mmio_vcpu *g,
		  unsigned n, struct tdpmmu_vm *vm)
{
	const char *s = tdpmmu_strategy_name(o->b.sw.strategy);

	for (unsigned i = 0; i < n; i++) {
		if (g[i].err)
			fatal("mmio (%s, vCPU %u): tdpmmu_vcpu_run: %s", s, i, strerror(-g[i].err));
		if (g[i].hole_as_mmio != g[i].hole_accesses)
			fatal("mmio (%s, vCPU %u): %" PRIu64 " of %" PRIu64
			      " hole accesses were not MMIO exits",
			      s, i, g[i].hole_accesses - g[i].hole_as_mmio, g[i].hole_accesses);
		if (g[i].mem_as_mmio)
			fatal("mmio (%s, vCPU %u): %" PRIu64 " memory accesses came back as MMIO "
			      "exits",
			      s, i, g[i].mem_as_mmio);
		if (g[i].device_calls != g[i].hole_accesses)
			fatal("mmio (%s, vCPU %u): the device was called %" PRIu64
			      " times for %" PRIu64 " hole accesses",
			      s, i, g[i].device_calls, g[i].hole_accesses);
		if (g[i].device_outside || g[i].bad_values)
			fatal("mmio (%s, vCPU %u): the device saw %" PRIu64
			      " accesses outside its hole and %" PRIu64 " wrong values",
			      s, i, g[i].device_outside, g[i].bad_values);
	}
	if (o->caching ? x->exits != (int64_t)x->hole_accesses || x->emulated
		       : x->exits || x->emulated != x->hole_accesses)
		fatal("mmio (%s): %" PRId64 " MMIO exits counted by the library and %" PRIu64
		      " emulated by the VMM for %" PRIu64 " hole accesses with caching %s",
		      s, x->exits, x->emulated, x->hole_accesses, o->caching ? "on" : "off");
	if (tdpmmu_audit(vm))
		fatal("mmio (%s, %u vCPUs): the audit after the run found violations", s, n);
}

static void sum_up(struct mmio_extra *x, const struct mmio_vcpu *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct tdpmmu_vcpu_stats st;

		x->mem_accesses += g[i].mem_accesses;
		x->hole_accesses += g[i].hole_accesses;
		x->device_calls += g[i].device_calls;
		x->emulated += g[i].emulated;
		tdpmmu_vcpu_stats_read(g[i].vcpu, &st);
		x->faults += st.ept_violations;
	}
	x->accesses = x->mem_accesses + x->hole_accesses;
}

void mmio_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct mmio_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	struct mmio_extra *x = calloc(1, sizeof(*x));
	struct mmio_vcpu *g = aligned_alloc(64, sizeof(*g) * n);
	int64_t c0[TDPMMU_NR_COUNTERS], *c = out->counters;
	struct tdpmmu_lock_stats lock0;
	struct tdpmmu_vm_config cfg;
	pthread_barrier_t start;
	struct tdpmmu_memslot extra;
	struct mmio_layout l;
	struct tdpmmu_vm *vm;
	uint64_t t0, ns, gen0;
	atomic_bool stop;

	(void)lat_round;
	if (!x || !g)
		fatal("out of memory");
	memset(g, 0, sizeof(*g) * n);
	mmio_layout(o, n, &l);
	extra = (struct tdpmmu_memslot){ .id = MMIO_EXTRA_SLOT,
					 .base_gfn = l.extra_base,
					 .npages = MMIO_EXTRA_PAGES,
					 .backing = TDPMMU_BACKING_ANON };
	tdpmmu_vm_config_init(&cfg);
	cfg.mmio_caching = o->caching;
	cfg.mmio_gen_bits = o->gen_bits;
	/* Memory, holes and slot, and room for the tables every delete's zap retires. */
	cfg.max_tables = 4 * bench_tables_needed(l.end, 1, n, o->b.sw.levels, TDPMMU_LEVEL_4K) +
			 4096;
	vm = bench_vm_create(&cfg, &o->b, false, 1);
	/* --slot-op dirty-log: the slot stays, added before the clock starts. */
	if (o->dirty_log_op && tdpmmu_memslot_add(vm, &extra))
		fatal("mmio: adding the extra memslot failed");
	atomic_init(&stop, false);
	pthread_barrier_init(&start, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		int r = tdpmmu_vcpu_create(vm, &g[i].vcpu);

		if (r)
			fatal("creating vCPU %u: %s", i, strerror(-r));
		g[i].stop = &stop;
		g[i].start = &start;
		mmio_vcpu_init(&g[i], o, &l, i);
		mmio_vcpu_start(&g[i]);
	}
	tdpmmu_lock_stats_read(vm, &lock0);
	tdpmmu_counters_read(vm, c0);
	gen0 = tdpmmu_memslots_generation(vm);

	pthread_barrier_wait(&start);
	t0 = now_ns();
	x->slot_updates = slot_updates(vm, o, &extra, t0, t0 + (uint64_t)(o->seconds * 1e9));
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++)
		mmio_vcpu_join(&g[i]);
	ns = now_ns() - t0;
	pthread_barrier_destroy(&start);

	x->generations = tdpmmu_memslots_generation(vm) - gen0;
	tdpmmu_lock_stats_read(vm, &out->lock);
	sweep_lock_since(&out->lock, &lock0);
	tdpmmu_counters_read(vm, c);
	tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	tdpmmu_fault_latency_read(vm, &out->latency);
	out->has_latency = true;
	sum_up(x, g, n);
	x->exits = since(c, c0, TDPMMU_C_MMIO_EXITS);
	x->exits_fast = since(c, c0, TDPMMU_C_MMIO_EXITS_FAST);
	x->stale = since(c, c0, TDPMMU_C_MMIO_STALE);
	x->installed = since(c, c0, TDPMMU_C_MMIO_INSTALLED);
	x->wraps = since(c, c0, TDPMMU_C_MMIO_GEN_WRAPS);
	check(o, x, g, n, vm);
	tdpmmu_vm_destroy(vm);

	x->seconds = (double)ns / 1e9;
	bench_phase_add(&out->phases, "vCPU accesses under memslot updates", ns, x->faults);
	out->metric = (double)x->accesses / x->seconds;
	out->col[0] = (double)x->device_calls / x->seconds;
	out->col[1] = x->device_calls ? 100.0 * (double)x->exits_fast / (double)x->device_calls : 0;
	out->col[2] = (double)x->stale / x->seconds;
	out->col[3] = (double)x->slot_updates / x->seconds;
	out->col[4] = (double)x->wraps;
	out->extra = x;
	if (sweep_single_run(&o->b.sw))
		printf("%s, %u vCPU%s, %.3f s: %" PRIu64 " accesses (%" PRIu64 " MMIO, %" PRId64
		       " fast exits, %" PRId64 " stale entries met), %" PRIu64
		       " memslot updates, %" PRId64 " wraparound zaps\n",
		       tdpmmu_strategy_name(o->b.sw.strategy), n, n == 1 ? "" : "s", x->seconds,
		       x->accesses, x->hole_accesses, x->exits_fast, x->stale, x->slot_updates,
		       x->wraps);
	free(g);
}
