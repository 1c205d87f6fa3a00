/*
 * run.c - one run of `tdpmmu bench demand-paging`, after KVM's
 * demand_paging_test: every vCPU touches (writes) each 4K page of its
 * memory once, and the first touch of each host page costs the host a
 * handler delay (-d USEC, the VM's host_fault_us: the vCPU blocks as on a
 * userfaultfd handler that sleeps before UFFDIO_COPY) before the fault
 * path maps it as usual.  The delay is paid before the MMU lock is taken
 * (src/host/host_fault.c), so with many vCPUs their waits overlap.  Metric: the
 * selftest's demand paging rate, pages touched per second over all vCPUs.
 *
 * Each run (one strategy at one vCPU count, from the sweep driver):
 * a fresh VM with one memslot per userfaultfd (one per vCPU region with
 * -u, one for all memory with -a or -o: the library's handler pool, -r
 * readers each, is per memslot), the vCPU threads (bench_pool.c) run one
 * pass of the guest program (common/guest.c, every page written once,
 * ascending or -a random, -o every vCPU the same region), every fault
 * timed; then the checks, and the VM is destroyed.
 *
 * Threads: the main thread drives the run and checks; the vCPU
 * threads are the pool's and each touches only its own guest context
 * during the pass (the pool's mutex orders it with the main thread's
 * reads after the pass).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "common/util.h"
#include "demand/demand.h"

/*
 * After the pass: every guest program finished, every page of the region
 * is mapped (the leaf counters cover it exactly), writable and dirty,
 * each host page was faulted in exactly once (none with -d 0), and
 * where no two vCPUs share a host page none waited and each host page
 * took exactly one EPT violation.
 */
static void demand_check(struct tdpmmu_vm *vm, const struct demand_opts *o,
			 const struct page_guest *g, const struct demand_extra *x)
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

		if (tdpmmu_lookup(vm, gfn, &m) || !m.present || !tdpmmu_spte_writable(m.spte) ||
		    !(m.spte & TDPMMU_SPTE_DIRTY))
			fatal("demand-paging: gfn 0x%" PRIx64 " is not mapped writable and dirty",
			      gfn);
	}
	if (x->host_faults != (o->delay_us ? x->host_pages : 0))
		fatal("demand-paging: %" PRIu64 " host faults for %" PRIu64
		      " host pages with -d %u",
		      x->host_faults, x->host_pages, o->delay_us);
	if (demand_host_pages_shared(o))
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

void demand_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct demand_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	uint64_t per = bench_pages_per_vcpu(&o->b), t0 = now_ns();
	struct demand_extra *x = calloc(1, sizeof(*x));
	struct page_guest *g = calloc(n, sizeof(*g));
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
	cfg.host_fault_handlers = o->readers;
	vm = bench_vm_create(&cfg, &o->b, o->overlap, demand_slots(o));
	for (unsigned i = 0; i < n; i++) {
		page_guest_init(&g[i], o->overlap ? 0 : (uint64_t)i * per, per, i, o->random_order,
				100);
		ctx[i] = &g[i];
	}
	pool = bench_pool_create(vm, n, page_guest_next, ctx, TDPMMU_RUN_LATENCY);
	x->create_ns = now_ns() - t0;
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
	x->region_pages = demand_region_pages(o);
	x->host_pages = demand_host_pages(o);
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
