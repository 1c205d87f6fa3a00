/*
 * bench_demand.c - `tdpmmu bench demand-paging`, after KVM's
 * demand_paging_test: every vCPU touches (writes) each 4K page of its
 * memory once, and the first touch of each host page costs the host a
 * handler delay (-d USEC, the VM's host_fault_us: the vCPU blocks as on a
 * userfaultfd handler that sleeps before UFFDIO_COPY) before the fault
 * path maps it as usual.  The delay is paid before the MMU lock is taken
 * (src/host/host_fault.c), so with many vCPUs their waits overlap.  Metric: the
 * selftest's demand paging rate, pages touched per second over all vCPUs.
 *
 * Each run (one strategy at one vCPU count, from the sweep driver):
 * a fresh VM with one memslot, the vCPU threads (bench_pool.c) run one
 * pass of the guest program (populate_guest.c, every page written once,
 * ascending or -a random, -o every vCPU the same region), every fault
 * timed; then the checks, and the VM is destroyed.
 *
 * Threads: the main thread parses, drives the sweep and checks; the vCPU
 * threads are the pool's and each touches only its own guest context
 * during the pass (the pool's mutex orders it with the main thread's
 * reads after the pass).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_common.h"
#include "base/compiler.h"

struct demand_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned delay_us;   /* -d */
	bool overlap;        /* -o */
	bool random_order;   /* -a */
};

static void set_delay(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->delay_us =
		(unsigned)bench_number_arg(opt, arg, 0, TDPMMU_MAX_HOST_FAULT_US);
}

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->overlap = true;
}

static void set_random(void *ctx, const char *opt, const char *arg)
{
	((struct demand_opts *)ctx)->random_order = true;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_demand_help(stdout);
	exit(0);
}

static const struct cli_option demand_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'd', NULL, true, set_delay },
	{ 'o', NULL, false, set_overlap },
	{ 'a', NULL, false, set_random },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

/*
 * 4K pages in one host page of the backing, what one host fault brings in
 * (tdpmmu.h, host_fault_us): 2M for THP too, although -b need not be a
 * multiple of it.
 */
static uint64_t host_page_pages(const struct demand_opts *o)
{
	if (o->b.backing == TDPMMU_BACKING_THP)
		return 2ull << 20 >> 12;
	return backing_align_bytes(o->b.backing) / POPULATE_PAGE_BYTES;
}

/* Whether two vCPUs can touch one host page: -o, or THP pages across regions. */
static bool host_pages_shared(const struct demand_opts *o)
{
	return o->overlap || bench_pages_per_vcpu(&o->b) % host_page_pages(o);
}

/* Guest pages in the memslot: one region, or one per vCPU. */
static uint64_t region_pages(const struct demand_opts *o)
{
	return bench_pages_per_vcpu(&o->b) * (o->overlap ? 1 : o->b.sw.vcpus);
}

/* The per-run numbers only this scenario has, for its JSON. */
struct demand_extra {
	uint64_t pages_touched, region_pages, host_pages;
	uint64_t ept_violations, host_faults, host_fault_waits;
	uint64_t create_ns, paging_ns;
};

/*
 * After the pass: every guest program finished, every page of the region
 * is mapped (the leaf counters cover it exactly), writable and dirty,
 * each host page was faulted in exactly once (none with -d 0), and
 * where no two vCPUs share a host page none waited and each host page
 * took exactly one EPT violation.
 */
static void demand_check(struct tdpmmu_vm *vm, const struct demand_opts *o,
			 const struct populate_guest *g, const struct demand_extra *x)
{
	const int64_t *c;
	int64_t counters[TDPMMU_NR_COUNTERS];
	uint64_t mapped, step;

	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		if (g[i].next != g[i].npages)
			fatal("demand-paging: vCPU %u touched %" PRIu64 " of %" PRIu64 " pages", i,
			      g[i].next, g[i].npages);
	tdpmmu_counters_read(vm, counters);
	c = counters;
	mapped = (uint64_t)c[TDPMMU_C_LEAVES_4K] + (uint64_t)c[TDPMMU_C_LEAVES_2M] * 512 +
		 (uint64_t)c[TDPMMU_C_LEAVES_1G] * 512 * 512;
	if (mapped != x->region_pages)
		fatal("demand-paging: %" PRIu64 " pages mapped, the region has %" PRIu64, mapped,
		      x->region_pages);
	/* Every page of a small region, a spread of a large one. */
	step = x->region_pages > 65536 ? x->region_pages / 65536 : 1;
	for (uint64_t gfn = 0; gfn < x->region_pages; gfn += step) {
		struct tdpmmu_mapping m;

		if (tdpmmu_lookup(vm, gfn, &m) || !m.present || !spte_is_writable(m.spte) ||
		    !(m.spte & SPTE_DIRTY))
			fatal("demand-paging: gfn 0x%" PRIx64 " is not mapped writable and dirty",
			      gfn);
	}
	if (x->host_faults != (o->delay_us ? x->host_pages : 0))
		fatal("demand-paging: %" PRIu64 " host faults for %" PRIu64 " host pages with -d %u",
		      x->host_faults, x->host_pages, o->delay_us);
	if (host_pages_shared(o))
		return;
	if (x->host_fault_waits)
		fatal("demand-paging: %" PRIu64 " host fault waits, and no vCPUs share a host page",
		      x->host_fault_waits);
	if (x->ept_violations != x->host_pages)
		fatal("demand-paging: %" PRIu64 " EPT violations for %" PRIu64 " host pages",
		      x->ept_violations, x->host_pages);
}

static void print_start(const struct demand_opts *o, uint64_t create_ns)
{
	char secs[32];

	bench_format_secs(create_ns, secs, sizeof(secs));
	printf("Finished creating vCPUs (%s)\nStarted all vCPUs\n", secs);
	fflush(stdout);
}

static void print_done(const struct demand_extra *x)
{
	char secs[32];

	bench_format_secs(x->paging_ns, secs, sizeof(secs));
	printf("All vCPU threads joined\nTotal guest execution time: %s\n"
	       "Overall demand paging rate: %.1f pgs/sec (%" PRIu64 " host faults, %" PRIu64
	       " waits)\n",
	       secs, (double)x->pages_touched / ((double)x->paging_ns / 1e9), x->host_faults,
	       x->host_fault_waits);
}

static void demand_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct demand_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	uint64_t per = bench_pages_per_vcpu(&o->b), t0 = tdp_now_ns();
	struct demand_extra *x = calloc(1, sizeof(*x));
	struct populate_guest *g = calloc(n, sizeof(*g));
	void **ctx = calloc(n, sizeof(*ctx));
	struct tdpmmu_lock_stats lock0;
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	struct bench_pool *pool;
	struct tdpmmu_vm *vm;
	bool single = sweep_single_run(&o->b.sw);

	if (!x || !g || !ctx)
		fatal("out of memory");
	tdpmmu_vm_config_init(&cfg);
	cfg.host_fault_us = o->delay_us;
	vm = bench_vm_create(&cfg, &o->b, o->overlap, 1);
	for (unsigned i = 0; i < n; i++) {
		populate_guest_init_range(&g[i], o->overlap ? 0 : (uint64_t)i * per, per, i,
					  o->random_order, 100);
		ctx[i] = &g[i];
	}
	pool = bench_pool_create(vm, n, populate_guest_next, ctx, TDPMMU_RUN_LATENCY);
	x->create_ns = tdp_now_ns() - t0;
	if (single)
		print_start(o, x->create_ns);
	tdpmmu_lock_stats_read(vm, &lock0);
	x->paging_ns = bench_pool_pass(pool);
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);

	tdpmmu_counters_read(vm, out->counters);
	tdpmmu_lock_stats_read(vm, &out->lock);
	sweep_lock_since(&out->lock, &lock0);
	tdpmmu_fault_latency_read(vm, &out->latency);
	tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	x->pages_touched = per * n;
	x->region_pages = region_pages(o);
	x->host_pages = (x->region_pages + host_page_pages(o) - 1) / host_page_pages(o);
	x->ept_violations = s.ept_violations;
	x->host_faults = (uint64_t)out->counters[TDPMMU_C_HOST_FAULTS];
	x->host_fault_waits = (uint64_t)out->counters[TDPMMU_C_HOST_FAULT_WAITS];
	demand_check(vm, o, g, x);
	tdpmmu_vm_destroy(vm);
	if (single)
		print_done(x);

	bench_phase_add(&out->phases, "vCPU creation", x->create_ns, 0);
	bench_phase_add(&out->phases, "demand paging", x->paging_ns, s.ept_violations);
	out->metric = (double)x->pages_touched / ((double)x->paging_ns / 1e9);
	out->col[0] = (double)x->paging_ns / 1e9;
	out->col[1] = s.ept_violations ? (double)x->paging_ns * n / (double)s.ept_violations : NAN;
	out->col[2] = (double)x->host_faults;
	out->col[3] = (double)x->host_fault_waits;
	out->has_latency = true;
	out->extra = x;
	free(ctx);
	free(g);
}

static void print_settings(const void *opts, FILE *f)
{
	const struct demand_opts *o = opts;
	char size[32], host[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	format_size(host_page_pages(o) * POPULATE_PAGE_BYTES, host, sizeof(host));
	fprintf(f, "demand-paging: %s per vCPU (%" PRIu64 " pages), -s %s (%s host pages); "
		   "-d %u us per host fault;\n"
		   "               %s; %s order; %s\n"
		   "               every page written once, every fault timed, every run checked\n",
		size, bench_pages_per_vcpu(&o->b), backing_kvm_name(o->b.backing), host,
		o->delay_us, o->overlap ? "every vCPU the same region (-o)" : "each vCPU its own region",
		o->random_order ? "random (-a)" : "ascending",
		o->b.sw.payload ? "real host memory (--payload)" : "no payload");
}

static void json_config(const void *opts, FILE *f)
{
	const struct demand_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"host_page_bytes\": %" PRIu64 ", \"delay_us\": %u, \"overlap\": %s, "
		   "\"random_access\": %s}",
		(uint64_t)(host_page_pages(o) * POPULATE_PAGE_BYTES), o->delay_us,
		o->overlap ? "true" : "false", o->random_order ? "true" : "false");
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct demand_extra *x = run->extra;

	fprintf(f, "      \"pages\": %" PRIu64 ", \"region_pages\": %" PRIu64
		   ", \"host_pages\": %" PRIu64 ", \"ept_violations\": %" PRIu64
		   ", \"host_faults\": %" PRIu64 ", \"host_fault_waits\": %" PRIu64 ",\n"
		   "      \"pages_per_sec\": ",
		x->pages_touched, x->region_pages, x->host_pages, x->ept_violations,
		x->host_faults, x->host_fault_waits);
	json_number(f, run->metric, 1);
	fputs(", \"ns_per_fault_per_vcpu\": ", f);
	json_number(f, run->col[1], 2);
	fputs(", \"demand_paging_seconds\": ", f);
	json_number(f, (double)x->paging_ns / 1e9, 9);
	fputs(", \"vcpu_creation_seconds\": ", f);
	json_number(f, (double)x->create_ns / 1e9, 9);
}

static const struct sweep_scenario demand_scenario = {
	.name = "demand-paging",
	.title = "demand paging benchmark (after KVM's demand_paging_test)",
	.metric_name = "Kpages/s",
	.metric_json = "pages_per_sec",
	.metric_what = "pages touched per second, all vCPUs (the selftest's demand paging "
		       "rate: start of the pass to the last vCPU done)",
	.metric_scale = 1e3,
	.cols = { "demand paging s", "ns/fault/vCPU", "host faults", "host waits" },
	.col_decimals = { 6, 1, 0, 0 },
	.run = demand_run,
	.print_settings = print_settings,
	.json_config = json_config,
	.json_extra = json_extra,
};

int bench_demand_main(int argc, char **argv)
{
	struct demand_opts o;
	char common[512], size[32], command[800];

	memset(&o, 0, sizeof(o));
	bench_opts_init(&o.b, TDPMMU_BACKING_ANON);
	parse_options(demand_options, argc, argv, &o, "bench demand-paging");
	bench_check_layout(&o.b, o.overlap, 1, "-b");
	sweep_opts_format(&o.b.sw, common, sizeof(common));
	format_size(o.b.bytes_per_vcpu, size, sizeof(size));
	snprintf(command, sizeof(command), "tdpmmu bench demand-paging%s -b %s -s %s -d %u%s%s",
		 common, size, backing_kvm_name(o.b.backing), o.delay_us, o.overlap ? " -o" : "",
		 o.random_order ? " -a" : "");
	return sweep_main(&demand_scenario, &o, command);
}
