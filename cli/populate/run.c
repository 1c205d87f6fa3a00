/*
 * run.c - one run of the populate benchmark: a fresh VM
 * (vm.c), one thread per vCPU; the threads wait on a barrier,
 * then each becomes its vCPU (tdpmmu_vcpu_run) and runs the guest program
 * (common/guest.c) until it has touched every page of its region.  The
 * time reported is from the barrier to the last vCPU finishing.  Then the
 * statistics are read, the VM checked (check.c), the floor and the
 * parallel floor (par_floor.c) measured if asked, and the VM destroyed.
 *
 * With --pre-fault, each vCPU thread first maps its own region with
 * tdpmmu_pre_fault (KVM_PRE_FAULT_MEMORY), all at once after the barrier,
 * timed from the first start to the last finish; then a second barrier,
 * and the guest pass as above, which must take no EPT violation.
 *
 * Hundreds of vCPU threads must fit on a small machine: they run on small
 * stacks (the guest program and the fault path need a few KiB).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "populate/populate.h"
#include "tdpmmu/testing.h"

struct vcpu_thread {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	pthread_barrier_t *barrier;
	struct page_guest guest;
	uint64_t start_ns, end_ns;
	unsigned run_flags; /* TDPMMU_RUN_LATENCY or 0 */
	bool pre_fault;
	uint64_t pf_start_ns, pf_end_ns, pf_steps;
	int err, pf_err;
	pthread_t tid;
} __attribute__((aligned(64))); /* each thread writes only its own lines */

void populate_guest_init(struct page_guest *g, const struct populate_opts *o, unsigned vcpu)
{
	uint64_t n = populate_pages_per_vcpu(o);

	page_guest_init(g, o->overlap ? 0 : (uint64_t)vcpu * n, n, vcpu, o->random_order,
			o->write_pct);
}

/* --pre-fault: map the vCPU's region, resuming until it is all done. */
static void pre_fault_region(struct vcpu_thread *t)
{
	uint64_t gpa = t->guest.base_gfn * GUEST_PAGE_BYTES;
	uint64_t size = t->guest.npages * GUEST_PAGE_BYTES;
	struct tdpmmu_vcpu_stats st;
	int r = 0;

	t->pf_start_ns = now_ns();
	while (size && !r)
		r = tdpmmu_pre_fault(t->vcpu, &gpa, &size, NULL, NULL);
	t->pf_end_ns = now_ns();
	t->pf_err = r;
	tdpmmu_vcpu_stats_read(t->vcpu, &st);
	t->pf_steps = st.faults_slow;
}

static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct tdpmmu_mapping m;

	/*
	 * One-time per-thread setup stays out of the timed region, as vCPU
	 * thread creation does in KVM's test: liburcu registration (on the
	 * first walk) and the thread's slot in the per-thread arrays.
	 */
	tdpmmu_lookup(t->vm, t->guest.base_gfn, &m);
	if (tdpmmu_thread_attach())
		cli_bug("no per-thread slot left for a vCPU thread (the -v limit keeps one)");

	pthread_barrier_wait(t->barrier);
	if (t->pre_fault) {
		pre_fault_region(t);
		pthread_barrier_wait(t->barrier);
	}
	t->start_ns = now_ns();
	t->err = tdpmmu_vcpu_run(t->vcpu, page_guest_next, &t->guest, t->run_flags);
	t->end_ns = now_ns();
	return NULL;
}

static void start_threads(struct vcpu_thread *t, unsigned vcpus)
{
	pthread_attr_t attr;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	for (unsigned i = 0; i < vcpus; i++) {
		r = pthread_create(&t[i].tid, &attr, vcpu_thread_fn, &t[i]);
		if (r)
			fatal("starting vCPU thread %u of %u: %s", i + 1, vcpus, strerror(r));
	}
	pthread_attr_destroy(&attr);
}

static void add_vcpu_stats(struct populate_vcpu_totals *sum, const struct tdpmmu_vcpu *vcpu)
{
	struct tdpmmu_vcpu_stats st;

	tdpmmu_vcpu_stats_read(vcpu, &st);
	sum->accesses += st.accesses;
	sum->tlb_misses += st.tlb_misses;
	sum->ept_violations += st.ept_violations;
	sum->faults_fast += st.faults_fast;
	sum->faults_slow += st.faults_slow;
	sum->fault_retries += st.fault_retries;
	sum->kicks += st.kicks;
	sum->tlb_flushes += st.tlb_flushes;
}

/* Everything the report needs, read before the checks take the lock themselves. */
static void collect(struct tdpmmu_vm *vm, const struct vcpu_thread *t, unsigned vcpus,
		    const struct tdpmmu_lock_stats *lock_before, struct populate_result *res)
{
	uint64_t start = UINT64_MAX, end = 0, pf_start = UINT64_MAX, pf_end = 0;

	for (unsigned i = 0; i < vcpus; i++) {
		if (t[i].pf_err)
			fatal("vCPU %u: pre-fault of gfns 0x%llx..0x%llx: %s", i,
			      (unsigned long long)t[i].guest.base_gfn,
			      (unsigned long long)(t[i].guest.base_gfn + t[i].guest.npages - 1),
			      strerror(-t[i].pf_err));
		if (t[i].err)
			fatal("vCPU %u: the guest stopped after %llu of %llu pages: %s", i,
			      (unsigned long long)t[i].guest.next,
			      (unsigned long long)t[i].guest.npages, strerror(-t[i].err));
		if (t[i].start_ns < start)
			start = t[i].start_ns;
		if (t[i].end_ns > end)
			end = t[i].end_ns;
		add_vcpu_stats(&res->vcpu, t[i].vcpu);
		if (!t[i].pre_fault)
			continue;
		pf_start = t[i].pf_start_ns < pf_start ? t[i].pf_start_ns : pf_start;
		pf_end = t[i].pf_end_ns > pf_end ? t[i].pf_end_ns : pf_end;
		res->pre_fault_steps += t[i].pf_steps;
	}
	res->elapsed_ns = end > start ? end - start : 1;
	res->faults = res->vcpu.ept_violations + res->pre_fault_steps;
	if (pf_end) {
		res->pre_fault_ns = pf_end > pf_start ? pf_end - pf_start : 1;
		/* Everything was mapped before the guest ran: it may not fault. */
		if (res->vcpu.ept_violations)
			fatal("check failed: the guest pass after --pre-fault took %llu EPT "
			      "violations",
			      (unsigned long long)res->vcpu.ept_violations);
	}
	tdpmmu_counters_read(vm, res->counters);
	tdpmmu_lock_stats_read(vm, &res->lock);
	sweep_lock_since(&res->lock, lock_before);
	tdpmmu_fault_latency_read(vm, &res->latency);
	tdpmmu_reclaim_stats_read(vm, &res->reclaim);
}

void populate_run(const struct populate_opts *o, unsigned vcpus, bool audit, unsigned floors,
		  bool latency, struct populate_result *res)
{
	struct tdpmmu_vm *vm = populate_vm_create(o, vcpus);
	struct tdpmmu_lock_stats lock_before;
	pthread_barrier_t barrier;
	struct vcpu_thread *t;
	int r;

	t = aligned_alloc(64, sizeof(*t) * vcpus);
	if (!t)
		fatal("out of memory for %u vCPU threads", vcpus);
	memset(t, 0, sizeof(*t) * vcpus);
	memset(res, 0, sizeof(*res));
	res->vcpus = vcpus;
	res->pages = populate_slot_pages(o, vcpus);
	pthread_barrier_init(&barrier, NULL, vcpus);
	for (unsigned i = 0; i < vcpus; i++) {
		r = tdpmmu_vcpu_create(vm, &t[i].vcpu);
		if (r)
			fatal("creating vCPU %u: %s", i, strerror(-r));
		t[i].vm = vm;
		t[i].barrier = &barrier;
		t[i].run_flags = latency ? TDPMMU_RUN_LATENCY : 0;
		t[i].pre_fault = o->pre_fault;
		populate_guest_init(&t[i].guest, o, i);
	}
	tdpmmu_lock_stats_read(vm, &lock_before);
	start_threads(t, vcpus);
	for (unsigned i = 0; i < vcpus; i++)
		pthread_join(t[i].tid, NULL);
	pthread_barrier_destroy(&barrier);
	collect(vm, t, vcpus, &lock_before, res);

	populate_check(vm, o, res, audit);
	if (floors & POPULATE_FLOOR) {
		uint64_t pages = populate_pages_per_vcpu(o);

		r = tdpmmu_bench_floor(vm, 0, pages, &res->floor_ns);
		if (r)
			fatal("floor walk over gfns 0..0x%llx: %s", (unsigned long long)pages - 1,
			      strerror(-r));
		res->floor_pages = pages;
	}
	/* After the floor, which is timed as it always was; it walks many passes. */
	if (floors & POPULATE_PAR_FLOOR)
		populate_par_floor(vm, o, vcpus, res);
	tdpmmu_vm_destroy(vm); /* and the vCPUs still attached to it */
	free(t);
}
