/*
 * run.c - one run of `tdpmmu bench access-tracking`, KVM's
 * access_tracking_perf_test on simulated vCPUs, at the strategy and vCPU
 * count the sweep driver chose: the vCPUs populate, write and read their
 * memory; the main thread marks it idle (the MMU notifier's clear_young
 * over each vCPU's range, as the selftest's writes to
 * /sys/kernel/mm/page_idle/bitmap trigger it); the vCPUs write the idle
 * memory; it is marked idle again; they read it.  Every phase is timed.
 * With one strategy, one count and one round it prints the selftest's
 * lines as it goes.
 *
 * After each pass over idle memory, every page is tested (test_young):
 * a page still idle was accessed without its leaf getting the Accessed
 * bit back.  clear_young does not flush TLBs (like page_idle's), so an
 * access that hits a translation still cached in the vCPU's TLB sets
 * nothing: the selftest warns when 10% or more of a vCPU's pages stay
 * idle, and so does this one (per vCPU in a single run, one line per run
 * in a sweep).  With --flush, clear_flush_young flushes when it clears
 * anything, and every access walks again.
 *
 * Threads: the main thread marks and tests while the vCPU threads wait
 * between passes (bench_pool.c), so aging never overlaps a pass here; the
 * library allows it (aging takes no MMU lock), the phases just do not.
 * Everything in this file runs on the main thread.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "common/util.h"

struct access_state {
	const struct access_opts *o;
	bool verbose; /* the selftest's lines: a single run */
	struct tdpmmu_vm *vm;
	struct bench_pool *pool;
	struct page_guest *guests;
	uint64_t pages_per_vcpu;
	struct sweep_run *out;
	struct access_extra *x;
};

static uint64_t region_base(const struct access_state *a, unsigned vcpu)
{
	return a->o->overlap ? 0 : (uint64_t)vcpu * a->pages_per_vcpu;
}

static void phase(struct access_state *a, const char *name, uint64_t ns, uint64_t faults)
{
	char secs[40];

	bench_phase_add(&a->out->phases, name, ns, faults);
	if (!a->verbose)
		return;
	bench_format_secs(ns, secs, sizeof(secs));
	printf("%-30s: %s\n", name, secs);
	fflush(stdout);
}

static uint64_t faults_so_far(const struct access_state *a)
{
	struct bench_vcpu_sum s;

	bench_pool_stats(a->pool, &s);
	return s.ept_violations;
}

/* One pass of every vCPU over its region, all writes (@write) or all reads; its time. */
static uint64_t pass(struct access_state *a, const char *name, bool write)
{
	uint64_t before = faults_so_far(a), ns;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++)
		page_guest_init(&a->guests[i], region_base(a, i), a->pages_per_vcpu, i, false,
				write ? 100 : 0);
	ns = bench_pool_pass(a->pool);
	phase(a, name, ns, faults_so_far(a) - before);
	return ns;
}

/* Mark each vCPU's range idle, one range after the other, like the selftest. */
static void mark_idle(struct access_state *a, unsigned round)
{
	uint64_t t0 = now_ns(), cleared = 0;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++) {
		uint64_t start = region_base(a, i), end = start + a->pages_per_vcpu;
		int r = a->o->flush ? tdpmmu_clear_flush_young(a->vm, start, end)
				    : tdpmmu_clear_young(a->vm, start, end);

		if (r < 0)
			fatal("clearing Accessed over gfns 0x%llx..0x%llx: %s",
			      (unsigned long long)start, (unsigned long long)end - 1, strerror(-r));
		cleared += (uint64_t)r;
	}
	a->x->mark_ns[round] = now_ns() - t0;
	a->x->young_cleared[round] = cleared;
	phase(a, "Mark memory idle", a->x->mark_ns[round], 0);
}

/* After a pass over idle memory: pages whose leaf is still not young, per vCPU. */
static void count_still_idle(struct access_state *a, unsigned round, const char *after)
{
	uint64_t n = a->pages_per_vcpu, total = 0, all = n * a->o->b.sw.vcpus;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++) {
		uint64_t base = region_base(a, i), idle = 0;

		for (uint64_t gfn = base; gfn < base + n; gfn++) {
			int r = tdpmmu_test_young(a->vm, gfn, gfn + 1);

			if (r < 0)
				fatal("test_young of gfn 0x%llx: %s", (unsigned long long)gfn,
				      strerror(-r));
			idle += r == 0;
		}
		if (idle >= n / 10) {
			if (a->verbose)
				printf("WARNING: vCPU%u: Too many pages still idle (%llu out of "
				       "%llu), this will affect performance results.\n",
				       i, (unsigned long long)idle, (unsigned long long)n);
			a->x->warned[round]++;
			if (access_idle_fails(a->o, false))
				fatal("vCPU%u: Too many pages still idle (%llu out of %llu) after "
				      "%s idle memory; -w 1 warns instead",
				      i, (unsigned long long)idle, (unsigned long long)n, after);
		}
		total += idle;
	}
	a->x->still_idle[round] = total;
	if (!a->verbose)
		return;
	printf("  still idle after %s: %llu of %llu pages (%.1f%%); %llu leaves were young "
	       "when marked\n",
	       after, (unsigned long long)total, (unsigned long long)all,
	       100.0 * (double)total / (double)all, (unsigned long long)a->x->young_cleared[round]);
	fflush(stdout);
}

/* In a sweep: the idle-page warning once per run where it occurred. */
static void warn_once(const struct access_state *a)
{
	const struct sweep_opts *sw = &a->o->b.sw;
	const struct access_extra *x = a->x;

	if (a->verbose || (!x->warned[0] && !x->warned[1]))
		return;
	progress_clear();
	printf("%s, %u vCPU%s: WARNING: Too many pages still idle (%llu after writing, %llu "
	       "after reading, of %llu), this will affect performance results.\n",
	       tdpmmu_strategy_name(sw->strategy), sw->vcpus, sw->vcpus == 1 ? "" : "s",
	       (unsigned long long)x->still_idle[0], (unsigned long long)x->still_idle[1],
	       (unsigned long long)x->pages);
	fflush(stdout);
}

static void print_totals(const struct access_state *a)
{
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_YOUNG_CLEARED, TDPMMU_C_FAULTS_FIXED, TDPMMU_C_TLB_FLUSHES,
		TDPMMU_C_LEAVES_4K,     TDPMMU_C_LEAVES_2M,    TDPMMU_C_LEAVES_1G,
	};
	const struct bench_vcpu_sum *s = &a->x->vcpu;

	printf("\nvCPUs: %llu accesses, %llu TLB hits, %llu TLB misses, %llu EPT violations\n",
	       (unsigned long long)s->accesses, (unsigned long long)s->tlb_hits,
	       (unsigned long long)s->tlb_misses, (unsigned long long)s->ept_violations);
	printf("counters at the end:\n");
	bench_print_counters(stdout, a->out->counters, key, (int)(sizeof(key) / sizeof(key[0])));
	fflush(stdout);
}

void access_run(void *opts, bool latency_round, struct sweep_run *out)
{
	const struct access_opts *o = opts;
	struct access_state a = { .o = o, .out = out };
	struct tdpmmu_lock_stats lock_before;
	struct tdpmmu_vm_config cfg;
	double mark_s;
	void **ctx;

	a.verbose = sweep_single_run(&o->b.sw);
	a.x = calloc(1, sizeof(*a.x));
	if (!a.x)
		fatal("out of memory");
	out->extra = a.x;
	tdpmmu_vm_config_init(&cfg);
	a.vm = bench_vm_create(&cfg, &o->b, o->overlap, 1);
	a.pages_per_vcpu = bench_pages_per_vcpu(&o->b);
	a.x->pages = a.pages_per_vcpu * o->b.sw.vcpus;
	a.guests = calloc(o->b.sw.vcpus, sizeof(*a.guests));
	ctx = calloc(o->b.sw.vcpus, sizeof(*ctx));
	if (!a.guests || !ctx)
		fatal("out of memory");
	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		ctx[i] = &a.guests[i];
	/* Every fault timed: only populating faults, and the metric is the main thread's. */
	a.pool = bench_pool_create(a.vm, o->b.sw.vcpus, page_guest_next, ctx, TDPMMU_RUN_LATENCY);
	if (a.verbose) {
		progress_clear();
		printf("\n");
	}
	tdpmmu_lock_stats_read(a.vm, &lock_before);

	out->col[0] = (double)pass(&a, "Populating memory", true) / 1e9;
	out->col[1] = (double)pass(&a, "Writing to populated memory", true) / 1e9;
	out->col[2] = (double)pass(&a, "Reading from populated memory", false) / 1e9;
	mark_idle(&a, 0);
	out->col[3] = (double)pass(&a, "Writing to idle memory", true) / 1e9;
	count_still_idle(&a, 0, "writing");
	mark_idle(&a, 1);
	out->col[4] = (double)pass(&a, "Reading from idle memory", false) / 1e9;
	count_still_idle(&a, 1, "reading");

	tdpmmu_lock_stats_read(a.vm, &out->lock);
	sweep_lock_since(&out->lock, &lock_before);
	bench_pool_stats(a.pool, &a.x->vcpu);
	bench_pool_destroy(a.pool);
	tdpmmu_counters_read(a.vm, out->counters);
	tdpmmu_reclaim_stats_read(a.vm, &out->reclaim);
	tdpmmu_fault_latency_read(a.vm, &out->latency);
	out->has_latency = true;
	mark_s = (double)(a.x->mark_ns[0] + a.x->mark_ns[1]) / 1e9;
	out->metric = mark_s > 0 ? (double)(ACCESS_IDLE_CHECKS * a.x->pages) / mark_s : NAN;
	if (a.verbose)
		print_totals(&a);
	warn_once(&a);
	tdpmmu_vm_destroy(a.vm);
	free(ctx);
	free(a.guests);
}
