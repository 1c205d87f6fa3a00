/*
 * run.c - one run of `tdpmmu bench dirty-log`, KVM's
 * dirty_log_perf_test on simulated vCPUs, at the strategy and vCPU count
 * the sweep driver chose: populate, enable dirty logging on every
 * memslot, then per iteration one pass of the vCPUs over their memory
 * (writes, -w, else reads), get the dirty log and (manual protect) clear
 * it word by word; at the end disable dirty logging, recovering huge
 * pages as --recover says, with the vCPUs waiting or (-e) running one
 * more pass.  With one strategy, one count and one round it prints the
 * selftest's lines as it goes and its summary.
 *
 * Threads: the main thread drives the phases and makes every dirty-log
 * call; the vCPU threads (bench_pool.c) run one pass each time it says so
 * and wait outside guest mode in between, so the phases never overlap,
 * except the -e pass, which runs on purpose while the main thread
 * disables dirty logging.  Everything here is the main thread's.
 *
 * Checks (exit 1 when one fails): each iteration the log holds exactly the
 * pages the guest wrote (all pages in iteration 1 with INITIALLY_SET),
 * because whether a page is written depends on its gfn and -r only, and
 * which pages -a's draws touch on -r and the vCPU only (the same every
 * pass: dirty_log_written).
 *
 * -c: each vCPU thread pins itself to its CPU on its first access (a
 * guest program wrapped around page_guest_next).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dirty_log/dirty_log.h"

/* One vCPU's guest program; pinned on its first access when -c is given. */
struct dirty_guest {
	struct page_guest g; /* first: page_guest_next takes the same pointer */
	const struct dirty_opts *o;
	unsigned vcpu;
	bool pinned;
};

static bool dirty_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct dirty_guest *dg = ctx;

	if (!dg->pinned) {
		dirty_pin_vcpu(dg->o, dg->vcpu);
		dg->pinned = true;
	}
	return page_guest_next(&dg->g, a);
}

struct dirty_extra *dirty_extra_alloc(unsigned iterations)
{
	struct dirty_extra *x =
		calloc(1, sizeof(*x) + 2 * ((size_t)iterations + 1) * sizeof(x->per_it[0]));

	if (!x)
		fatal("out of memory");
	x->iterations = iterations;
	return x;
}

struct dirty_run {
	const struct dirty_opts *o;
	bool verbose; /* the selftest's lines: a single run */
	struct tdpmmu_vm *vm;
	struct bench_pool *pool;
	struct dirty_guest *guests;
	uint64_t *bitmap; /* one slot's */
	uint64_t slot_pages;
	struct sweep_run *out;
	struct dirty_extra *x;
	struct dirty_ring_vmm *ring; /* --ring: harvests the rings instead of get and clear */
};

static void phase(struct dirty_run *d, const char *name, uint64_t ns, uint64_t faults)
{
	char secs[40];

	bench_phase_add(&d->out->phases, name, ns, faults);
	if (!d->verbose)
		return;
	bench_format_secs(ns, secs, sizeof(secs));
	printf("%s time: %s\n", name, secs);
	fflush(stdout);
}

static uint64_t vcpu_faults(struct dirty_run *d, uint64_t *fast)
{
	struct bench_vcpu_sum s;

	bench_pool_stats(d->pool, &s);
	if (fast)
		*fast = s.faults_fast;
	return s.ept_violations;
}

/* The programs of a pass; -a's draws in the dirty passes only (@random). */
static void setup_pass(struct dirty_run *d, unsigned write_pct, bool random)
{
	uint64_t n = bench_pages_per_vcpu(&d->o->b);

	for (unsigned i = 0; i < d->o->b.sw.vcpus; i++)
		page_guest_init(&d->guests[i].g, (uint64_t)i * n, n, i, random, write_pct);
}

/* One pass of every vCPU over its region; returns its time, *faults its EPT violations. */
static uint64_t vcpu_pass(struct dirty_run *d, unsigned write_pct, bool random, uint64_t *faults)
{
	uint64_t before = vcpu_faults(d, NULL), ns;

	setup_pass(d, write_pct, random);
	ns = bench_pool_pass(d->pool);
	*faults = vcpu_faults(d, NULL) - before;
	return ns;
}

static void check(int r, const char *what, unsigned slot)
{
	if (r < 0)
		fatal("%s of memslot %u: %s", what, slot, strerror(-r));
}

static void enable_logging(struct dirty_run *d)
{
	uint64_t t0 = now_ns();

	for (unsigned s = 0; s < d->o->slots; s++) {
		int r = tdpmmu_dirty_log_enable(d->vm, s, dirty_log_flags(d->o));

		check(r, "enabling dirty logging", s);
		d->x->enable_wrprot += (uint64_t)r;
	}
	d->x->enable_ns = now_ns() - t0;
	phase(d, "Enabling dirty logging", d->x->enable_ns, 0);
	if (d->verbose)
		printf("\n");
}

/* Get every slot's log (and clear it, manual mode), timed apart. */
static void get_and_clear(struct dirty_run *d, unsigned it)
{
	uint64_t words = (d->slot_pages + 63) / 64, t0, get_ns = 0, clear_ns = 0;
	char name[64];

	for (unsigned s = 0; s < d->o->slots; s++) {
		int r;

		t0 = now_ns();
		r = tdpmmu_dirty_log_get(d->vm, s, d->bitmap);
		get_ns += now_ns() - t0;
		check(r, "getting the dirty log", s);
		dirty_counts(d->x)[it] += (uint64_t)r;
		if (d->o->no_manual)
			continue;
		t0 = now_ns();
		for (uint64_t w = 0; w < words; w++) {
			if (!d->bitmap[w])
				continue;
			r = tdpmmu_dirty_log_clear(d->vm, s, w * 64, d->bitmap[w]);
			check(r, "clearing the dirty log", s);
			dirty_reprotected(d->x)[it] += (uint64_t)r;
		}
		clear_ns += now_ns() - t0;
	}
	snprintf(name, sizeof(name), "Iteration %u get dirty log", it);
	phase(d, name, get_ns, 0);
	d->x->get_ns += get_ns;
	if (d->o->no_manual)
		return;
	snprintf(name, sizeof(name), "Iteration %u clear dirty log", it);
	phase(d, name, clear_ns, 0);
	d->x->clear_ns += clear_ns;
}

/* --ring: one dirty pass with the harvester running; the pages it collected. */
static uint64_t ring_pass(struct dirty_run *d, unsigned it, uint64_t *faults)
{
	struct dirty_ring_pass rp;
	int64_t exits = dirty_ring_full_exits(d->vm);
	uint64_t ns;
	char name[64];

	dirty_ring_start(d->ring);
	ns = vcpu_pass(d, d->o->write_pct, d->o->random_order, faults);
	dirty_ring_stop(d->ring, &rp);
	exits = dirty_ring_full_exits(d->vm) - exits;
	dirty_counts(d->x)[it] = rp.pages;
	d->x->ring_entries += rp.entries;
	d->x->ring_resets += rp.resets;
	d->x->get_ns += rp.ns;
	snprintf(name, sizeof(name), "Iteration %u harvest and reset dirty rings", it);
	phase(d, name, rp.ns, 0);
	if (d->verbose)
		printf("Iteration %u: %llu pages collected from the rings (%llu entries, %llu "
		       "resets), %lld soft-full exits\n",
		       it, (unsigned long long)rp.pages, (unsigned long long)rp.entries,
		       (unsigned long long)rp.resets, (long long)exits);
	return ns;
}

static void iteration(struct dirty_run *d, unsigned it)
{
	const struct sweep_opts *sw = &d->o->b.sw;
	bool all = it == 1 && !d->o->no_manual && !d->ring; /* INITIALLY_SET */
	uint64_t faults, fast, fast_before, ns, want = all ? d->x->pages : d->x->written;
	char name[64];

	vcpu_faults(d, &fast_before);
	if (d->ring)
		ns = ring_pass(d, it, &faults);
	else
		ns = vcpu_pass(d, d->o->write_pct, d->o->random_order, &faults);
	vcpu_faults(d, &fast);
	d->x->dirty_ns += ns;
	d->x->dirty_faults += faults;
	d->x->dirty_fast += fast - fast_before;
	snprintf(name, sizeof(name), "Iteration %u dirty memory", it);
	phase(d, name, ns, faults);
	if (!d->ring)
		get_and_clear(d, it);
	if (d->verbose && !d->ring) {
		printf("Iteration %u: %llu of %llu pages dirty in the log; %llu faults (%llu fast "
		       "path)",
		       it, (unsigned long long)dirty_counts(d->x)[it],
		       (unsigned long long)d->x->pages, (unsigned long long)faults,
		       (unsigned long long)(fast - fast_before));
		if (!d->o->no_manual)
			printf("; %llu re-protected",
			       (unsigned long long)dirty_reprotected(d->x)[it]);
		printf("\n\n");
	}
	if (dirty_counts(d->x)[it] != want)
		fatal("check failed: %s, %u vCPU%s: iteration %u: %llu pages dirty in the log, "
		      "expected %llu (%s)",
		      tdpmmu_strategy_name(sw->strategy), sw->vcpus, sw->vcpus == 1 ? "" : "s", it,
		      (unsigned long long)dirty_counts(d->x)[it], (unsigned long long)want,
		      all ? "INITIALLY_SET: every page" : "the pages the guest wrote");
}

static void disable_logging(struct dirty_run *d)
{
	uint64_t before = vcpu_faults(d, NULL), t0, pass_ns;

	if (d->o->run_while_disabling) {
		setup_pass(d, d->o->write_pct, d->o->random_order);
		if (d->ring) /* what the pass pushes before logging goes off */
			dirty_ring_start(d->ring);
		bench_pool_start(d->pool);
	}
	t0 = now_ns();
	for (unsigned s = 0; s < d->o->slots; s++)
		check(tdpmmu_dirty_log_disable(d->vm, s, d->o->recover), "disabling dirty logging",
		      s);
	d->x->disable_ns = now_ns() - t0;
	phase(d, "Disabling dirty logging", d->x->disable_ns, 0);
	if (!d->o->run_while_disabling)
		return;
	pass_ns = bench_pool_wait(d->pool);
	if (d->ring) {
		struct dirty_ring_pass rp;

		dirty_ring_stop(d->ring, &rp);
	}
	d->x->disable_pass_faults = vcpu_faults(d, NULL) - before;
	bench_phase_add(&d->out->phases, "vCPU pass while disabling (-e)", pass_ns,
			d->x->disable_pass_faults);
	if (d->verbose)
		printf("vCPU pass while disabling (-e): %.3f s, %llu faults\n",
		       (double)pass_ns / 1e9, (unsigned long long)d->x->disable_pass_faults);
}

static void print_summary(const struct dirty_run *d)
{
	const struct dirty_extra *x = d->x;
	unsigned n = d->o->iterations;
	char total[40], avg[40];
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_LEAVES_WRPROT, TDPMMU_C_PAGES_LOGGED_DIRTY, TDPMMU_C_FAST_FAULTS_FIXED,
		TDPMMU_C_EAGER_SPLITS,  TDPMMU_C_HUGE_RECOVERED,     TDPMMU_C_COLLAPSIBLE_ZAPPED,
		TDPMMU_C_TLB_FLUSHES,   TDPMMU_C_LEAVES_4K,          TDPMMU_C_LEAVES_2M,
		TDPMMU_C_LEAVES_1G,
	};

	bench_format_secs(x->get_ns, total, sizeof(total));
	bench_format_secs(x->get_ns / n, avg, sizeof(avg));
	if (d->ring) {
		printf("\nHarvest and reset dirty rings over %u iterations took %s. (Avg "
		       "%s/iteration)\n",
		       n, total, avg);
		printf("dirty ring: %llu entries harvested, %llu resets; ring_pushes %lld, "
		       "ring_soft_full_exits %lld, ring_entries_reset %lld\n",
		       (unsigned long long)x->ring_entries, (unsigned long long)x->ring_resets,
		       (long long)d->out->counters[TDPMMU_C_RING_PUSHES],
		       (long long)d->out->counters[TDPMMU_C_RING_SOFT_FULL_EXITS],
		       (long long)d->out->counters[TDPMMU_C_RING_RESETS]);
	} else {
		printf("\nGet dirty log over %u iterations took %s. (Avg %s/iteration)\n", n, total,
		       avg);
	}
	if (!d->o->no_manual && !d->ring) {
		bench_format_secs(x->clear_ns, total, sizeof(total));
		bench_format_secs(x->clear_ns / n, avg, sizeof(avg));
		printf("Clear dirty log over %u iterations took %s. (Avg %s/iteration)\n", n, total,
		       avg);
	}
	printf("\npages dirty per iteration:");
	for (unsigned i = 1; i <= n; i++)
		printf(" %llu", (unsigned long long)dirty_counts(x)[i]);
	printf(" (of %llu; the guest writes %llu per pass)\n", (unsigned long long)x->pages,
	       (unsigned long long)x->written);
	printf("leaves write-protected by enable: %llu\n\ncounters at the end:\n",
	       (unsigned long long)x->enable_wrprot);
	bench_print_counters(stdout, d->out->counters, key, (int)(sizeof(key) / sizeof(key[0])));
	fflush(stdout);
}

uint64_t dirty_log_written(const struct dirty_opts *o, uint64_t pages)
{
	uint64_t *touched = page_touched_map(pages, o->b.sw.vcpus, bench_pages_per_vcpu(&o->b),
					     false, o->random_order);
	uint64_t written = 0;

	for (uint64_t gfn = 0; gfn < pages; gfn++)
		written += page_touched(touched, gfn) && page_written(gfn, o->write_pct);
	free(touched);
	return written;
}

void dirty_log_fill_result(struct sweep_run *out, const struct dirty_extra *x, unsigned iterations)
{
	uint64_t pages = x->written * iterations;

	out->col[0] = (double)x->populate_ns / 1e9;
	out->col[1] = (double)x->enable_ns / 1e9;
	out->col[2] = (double)x->dirty_ns / 1e9 / iterations;
	out->col[3] = (double)x->get_ns / 1e9;
	out->col[4] = (double)x->clear_ns / 1e9;
	out->metric = pages ? (double)pages / ((double)x->dirty_ns / 1e9) : NAN;
}

void dirty_log_run(void *opts, bool latency_round, struct sweep_run *out)
{
	const struct dirty_opts *o = opts;
	struct dirty_run d = { .o = o, .out = out };
	uint64_t n = bench_pages_per_vcpu(&o->b), ns, faults;
	struct tdpmmu_lock_stats lock_before;
	struct tdpmmu_vm_config cfg;
	void **ctx;

	d.verbose = !latency_round && sweep_single_run(&o->b.sw);
	d.x = dirty_extra_alloc(o->iterations);
	out->extra = d.x;
	tdpmmu_vm_config_init(&cfg);
	cfg.dirty_mode = o->dirty_mode;
	d.vm = bench_vm_create(&cfg, &o->b, false, o->slots);
	d.x->pages = n * o->b.sw.vcpus;
	d.slot_pages = d.x->pages / o->slots;
	d.x->written = dirty_log_written(o, d.x->pages);
	d.guests = calloc(o->b.sw.vcpus, sizeof(*d.guests));
	ctx = calloc(o->b.sw.vcpus, sizeof(*ctx));
	d.bitmap = calloc((d.slot_pages + 63) / 64, sizeof(uint64_t));
	if (!d.guests || !ctx || !d.bitmap)
		fatal("out of memory");
	for (unsigned i = 0; i < o->b.sw.vcpus; i++) {
		d.guests[i].o = o;
		d.guests[i].vcpu = i;
		ctx[i] = &d.guests[i];
	}
	/* KVM_CAP_DIRTY_LOG_RING: before the first vCPU. */
	if (o->ring) {
		int r = tdpmmu_dirty_ring_enable(d.vm, o->ring);

		if (r)
			fatal("--ring %u: enabling the dirty ring: %s", o->ring, strerror(-r));
	}
	d.pool = bench_pool_create(d.vm, o->b.sw.vcpus,
				   o->npcpus ? dirty_guest_next : page_guest_next, ctx,
				   latency_round ? TDPMMU_RUN_LATENCY : 0);
	if (o->ring)
		d.ring = dirty_ring_vmm_create(d.vm, d.pool, o->b.sw.vcpus, d.x->pages,
					       d.slot_pages);
	if (d.verbose) {
		progress_clear();
		printf("\n");
	}
	tdpmmu_lock_stats_read(d.vm, &lock_before);

	/*
	 * Populate writes every page in order, so that enable has writable
	 * leaves to protect (upstream turns -a off for it too).
	 */
	ns = vcpu_pass(&d, 100, false, &faults);
	d.x->populate_ns = ns;
	phase(&d, "Populate memory", ns, faults);
	enable_logging(&d);
	for (unsigned it = 1; it <= o->iterations; it++)
		iteration(&d, it);
	disable_logging(&d);

	tdpmmu_lock_stats_read(d.vm, &out->lock);
	sweep_lock_since(&out->lock, &lock_before);
	bench_pool_destroy(d.pool);
	if (d.ring)
		dirty_ring_vmm_destroy(d.ring);
	tdpmmu_counters_read(d.vm, out->counters);
	tdpmmu_reclaim_stats_read(d.vm, &out->reclaim);
	out->has_latency = latency_round;
	if (latency_round)
		tdpmmu_fault_latency_read(d.vm, &out->latency);
	dirty_log_fill_result(out, d.x, o->iterations);
	if (d.verbose)
		print_summary(&d);
	tdpmmu_vm_destroy(d.vm);
	free(d.bitmap);
	free(ctx);
	free(d.guests);
}
