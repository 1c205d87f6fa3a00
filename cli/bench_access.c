/*
 * bench_access.c - `tdpmmu bench access-tracking`, KVM's
 * access_tracking_perf_test on simulated vCPUs: the vCPUs populate, write
 * and read their memory; the main thread marks it idle (the MMU
 * notifier's clear_young over each vCPU's range, as the selftest's writes
 * to /sys/kernel/mm/page_idle/bitmap trigger it); the vCPUs write the idle
 * memory; it is marked idle again; they read it.  Every phase is timed.
 *
 * After each pass over idle memory, every page is tested (test_young):
 * a page still idle was accessed without its leaf getting the Accessed
 * bit back.  clear_young does not flush TLBs (like page_idle's), so an
 * access that hits a translation still cached in the vCPU's TLB sets
 * nothing: the selftest warns when 10% or more of the pages stay idle,
 * and so does this one.  With --flush, clear_flush_young flushes when it
 * clears anything, and every access walks again.
 *
 * Threads: the main thread marks and tests while the vCPU threads wait
 * between passes (bench_pool.c), so aging never overlaps a pass here; the
 * library allows it (aging takes no MMU lock), the phases just do not.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "compiler.h"

struct access_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	bool overlap;        /* -o */
	bool flush;          /* --flush */
};

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct access_opts *)ctx)->overlap = true;
}

static void set_flush(void *ctx, const char *opt, const char *arg)
{
	((struct access_opts *)ctx)->flush = true;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_access_help(stdout);
	exit(0);
}

static const struct cli_option access_options[] = {
	{ 'v', NULL, true, sweep_set_vcpus },
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'o', NULL, false, set_overlap },
	{ 0, "flush", false, set_flush },
	{ 0, "json", true, sweep_set_json },
	{ 0, "strategy", true, sweep_set_strategies },
	{ 'h', "help", false, show_help },
	{ 0 },
};

#define ACCESS_IDLE_CHECKS 2

struct access_result {
	struct bench_phases phases;
	uint64_t young_cleared[ACCESS_IDLE_CHECKS]; /* by each "Mark memory idle" */
	uint64_t still_idle[ACCESS_IDLE_CHECKS];    /* pages, all vCPUs, after each idle pass */
	unsigned warnings;                          /* vCPUs with 10% or more still idle */
	int64_t counters[TDPMMU_NR_COUNTERS];
};

struct access_run {
	const struct access_opts *o;
	struct tdpmmu_vm *vm;
	struct bench_pool *pool;
	struct populate_guest *guests;
	uint64_t pages_per_vcpu;
	struct access_result *res;
};

static uint64_t region_base(const struct access_run *a, unsigned vcpu)
{
	return a->o->overlap ? 0 : (uint64_t)vcpu * a->pages_per_vcpu;
}

static void print_phase(struct access_run *a, const char *name, uint64_t ns, uint64_t faults)
{
	char secs[40];

	bench_format_secs(ns, secs, sizeof(secs));
	printf("%-30s: %s\n", name, secs);
	fflush(stdout);
	bench_phase_add(&a->res->phases, name, ns, faults);
}

static uint64_t faults_so_far(const struct access_run *a)
{
	struct bench_vcpu_sum s;

	bench_pool_stats(a->pool, &s);
	return s.ept_violations;
}

/* One pass of every vCPU over its region: all writes (@write) or all reads. */
static void pass(struct access_run *a, const char *name, bool write)
{
	uint64_t before = faults_so_far(a), ns;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++)
		populate_guest_init_range(&a->guests[i], region_base(a, i), a->pages_per_vcpu, i,
					  false, write ? 100 : 0);
	ns = bench_pool_pass(a->pool);
	print_phase(a, name, ns, faults_so_far(a) - before);
}

/* Mark each vCPU's range idle, one range after the other, like the selftest. */
static void mark_idle(struct access_run *a, unsigned round)
{
	uint64_t t0 = tdp_now_ns(), cleared = 0;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++) {
		uint64_t start = region_base(a, i), end = start + a->pages_per_vcpu;
		int r = a->o->flush ? tdpmmu_clear_flush_young(a->vm, start, end)
				    : tdpmmu_clear_young(a->vm, start, end);

		if (r < 0)
			fatal("clearing Accessed over gfns 0x%llx..0x%llx: %s",
			      (unsigned long long)start, (unsigned long long)end - 1, strerror(-r));
		cleared += (uint64_t)r;
	}
	print_phase(a, "Mark memory idle", tdp_now_ns() - t0, 0);
	a->res->young_cleared[round] = cleared;
}

/* After a pass over idle memory: pages whose leaf is still not young, per vCPU. */
static void count_still_idle(struct access_run *a, unsigned round, const char *after)
{
	uint64_t n = a->pages_per_vcpu, total = 0;

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
			printf("WARNING: vCPU%u: Too many pages still idle (%llu out of %llu), "
			       "this will affect performance results.\n", i,
			       (unsigned long long)idle, (unsigned long long)n);
			a->res->warnings++;
		}
		total += idle;
	}
	a->res->still_idle[round] = total;
	printf("  still idle after %s: %llu of %llu pages (%.1f%%); %llu leaves were young "
	       "when marked\n", after, (unsigned long long)total,
	       (unsigned long long)(n * a->o->b.sw.vcpus),
	       100.0 * (double)total / (double)(n * a->o->b.sw.vcpus),
	       (unsigned long long)a->res->young_cleared[round]);
	fflush(stdout);
}

static void access_run(const struct access_opts *o, struct access_result *res)
{
	struct access_run a = { .o = o, .res = res };
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_YOUNG_CLEARED, TDPMMU_C_FAULTS_FIXED, TDPMMU_C_TLB_FLUSHES,
		TDPMMU_C_LEAVES_4K,     TDPMMU_C_LEAVES_2M,    TDPMMU_C_LEAVES_1G,
	};
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	void **ctx;

	tdpmmu_vm_config_init(&cfg);
	a.vm = bench_vm_create(&cfg, &o->b, o->overlap, 1);
	a.pages_per_vcpu = bench_pages_per_vcpu(&o->b);
	a.guests = calloc(o->b.sw.vcpus, sizeof(*a.guests));
	ctx = calloc(o->b.sw.vcpus, sizeof(*ctx));
	if (!a.guests || !ctx)
		fatal("out of memory");
	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		ctx[i] = &a.guests[i];
	a.pool = bench_pool_create(a.vm, o->b.sw.vcpus, populate_guest_next, ctx, 0);

	pass(&a, "Populating memory", true);
	pass(&a, "Writing to populated memory", true);
	pass(&a, "Reading from populated memory", false);
	mark_idle(&a, 0);
	pass(&a, "Writing to idle memory", true);
	count_still_idle(&a, 0, "writing");
	mark_idle(&a, 1);
	pass(&a, "Reading from idle memory", false);
	count_still_idle(&a, 1, "reading");

	bench_pool_stats(a.pool, &s);
	bench_pool_destroy(a.pool);
	tdpmmu_read_counters(a.vm, res->counters);
	printf("\nvCPUs: %llu accesses, %llu TLB hits, %llu TLB misses, %llu EPT violations\n",
	       (unsigned long long)s.accesses, (unsigned long long)s.tlb_hits,
	       (unsigned long long)s.tlb_misses, (unsigned long long)s.ept_violations);
	printf("counters at the end:\n");
	bench_print_counters(stdout, res->counters, key, (int)(sizeof(key) / sizeof(key[0])));
	tdpmmu_vm_destroy(a.vm);
	free(ctx);
	free(a.guests);
}

static void write_json(FILE *f, const struct access_opts *o, const struct access_result *r)
{
	fprintf(f, "  \"config\": {\"vcpus\": %u, \"bytes_per_vcpu\": %llu, \"backing\": ",
		o->b.sw.vcpus, (unsigned long long)o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"overlap\": %s, \"flush\": %s},\n", o->overlap ? "true" : "false",
		o->flush ? "true" : "false");
	fprintf(f, "  \"results\": [\n    {\"scenario\": \"access-tracking\", "
		   "\"strategy\": \"%s\", \"vcpus\": %u,\n    \"phases\": ",
		tdpmmu_strategy_name(o->b.sw.strategy), o->b.sw.vcpus);
	bench_json_phases(f, &r->phases);
	fprintf(f, ",\n    \"pages\": %llu, \"young_cleared\": [%llu, %llu], "
		   "\"still_idle_after_write\": %llu, \"still_idle_after_read\": %llu, "
		   "\"idle_warnings\": %u,\n    \"counters\": ",
		(unsigned long long)(bench_pages_per_vcpu(&o->b) * o->b.sw.vcpus),
		(unsigned long long)r->young_cleared[0], (unsigned long long)r->young_cleared[1],
		(unsigned long long)r->still_idle[0], (unsigned long long)r->still_idle[1],
		r->warnings);
	bench_json_counters(f, r->counters);
	fputs("}\n  ]\n", f);
}

int bench_access_main(int argc, char **argv)
{
	struct access_opts o = { 0 };
	struct access_result *res;
	struct machine_info m;
	char command[256], size[32];
	FILE *json;

	bench_opts_init(&o.b, TDPMMU_BACKING_ANON);
	parse_options(access_options, argc, argv, &o, "bench access-tracking");
	bench_check_layout(&o.b, o.overlap, 1, "-b");
	format_size(o.b.bytes_per_vcpu, size, sizeof(size));
	snprintf(command, sizeof(command),
		 "tdpmmu bench access-tracking -v %u -b %s -s %s%s%s --strategy %s", o.b.sw.vcpus, size,
		 backing_kvm_name(o.b.backing), o.overlap ? " -o" : "", o.flush ? " --flush" : "",
		 tdpmmu_strategy_name(o.b.sw.strategy));
	json = bench_json_open(o.b.sw.json_path);
	res = calloc(1, sizeof(*res));
	if (!res)
		fatal("out of memory");
	machine_info_read(&m);
	bench_print_header(stdout, "access-tracking benchmark (KVM's access_tracking_perf_test)",
			   command, &m);
	printf("access-tracking: %u vCPU%s x %s (%llu pages each), %s; -s %s\n"
	       "                 mark idle with %s, over each vCPU's range in turn\n\n",
	       o.b.sw.vcpus, o.b.sw.vcpus == 1 ? "" : "s", size,
	       (unsigned long long)bench_pages_per_vcpu(&o.b),
	       o.overlap ? "all vCPUs share one region (-o)" : "each vCPU its own region",
	       backing_kvm_name(o.b.backing),
	       o.flush ? "clear_flush_young (--flush: TLBs flushed)"
		       : "clear_young (no TLB flush, like page_idle)");
	fflush(stdout);
	access_run(&o, res);
	if (json) {
		bench_json_head(json, &m, command);
		write_json(json, &o, res);
		bench_json_close(json, o.b.sw.json_path);
	}
	free(res);
	return 0;
}
