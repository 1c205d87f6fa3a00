/*
 * par_floor.c - the parallel floor of the populate benchmark: the floor
 * (tdpmmu_bench_floor: a bare root-to-leaf walk and one CAS per page, no
 * lock, no walk protection, no bookkeeping) run by one thread per vCPU at
 * once, each over its own vCPU's region of the VM just populated (the one
 * shared region with -o), right after the run, in the same round.
 *
 * It is the reference the MMU's scaling is judged against.  The atomic
 * loop of machine_ref.c shares nothing and is latency bound, so it scales
 * about N-fold wherever there are N cores, even where two vCPUs share a
 * physical core's caches and memory bandwidth; the parallel floor touches
 * the very tables the fault path walks and writes, so it meets every cost
 * the machine adds to that work (shared caches, the page-table lines
 * shared by neighbouring regions, memory bandwidth, SMT siblings) and none
 * the MMU adds.  The MMU's scaling over the parallel floor's is what the
 * MMU loses to sharing of its own.
 *
 * One pass over a region is short (1.5 ms for 1 GiB), not much longer than
 * waking the threads from the barrier; so each thread walks its region
 * several times, PAR_FLOOR_PAGES per core in use (min(vCPUs, cores))
 * split among the threads, as the machine reference splits its work: the
 * same passes at every count up to the cores, hence the same time; with
 * thousands of threads each still walks PAR_FLOOR_MIN_WALKS, or waking
 * them would be all that is timed.  A region larger than a thread's share
 * is walked once, over its first pages only, so that a terabyte guest's
 * floor stays as short.
 *
 * Nothing changes the tables meanwhile (the vCPUs are done and the VM is
 * only read by the checks before), which is all tdpmmu_bench_floor asks.
 * The time is from the start barrier to the last thread finishing, as in
 * run.c; threads run on small stacks, as vCPU threads do.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "populate/populate.h"
#include "tdpmmu/testing.h"

#define PAR_FLOOR_PAGES (2ull << 20)      /* walks per core in use: 10-20 ms */
#define PAR_FLOOR_MIN_WALKS (16ull << 10) /* per thread: 0.1 ms, well over a wake-up */

struct par_floor_thread {
	struct tdpmmu_vm *vm;
	pthread_barrier_t *barrier;
	uint64_t start_gfn, npages;
	unsigned passes;
	uint64_t start_ns, end_ns;
	int err;
	pthread_t tid;
} __attribute__((aligned(64))); /* each thread writes only its own line */

static void *par_floor_fn(void *arg)
{
	struct par_floor_thread *t = arg;
	uint64_t ns;

	pthread_barrier_wait(t->barrier);
	t->start_ns = now_ns();
	for (unsigned p = 0; p < t->passes && !t->err; p++)
		t->err = tdpmmu_bench_floor(t->vm, t->start_gfn, t->npages, &ns);
	t->end_ns = now_ns();
	return NULL;
}

void populate_par_floor(struct tdpmmu_vm *vm, const struct populate_opts *o, unsigned vcpus,
			struct populate_result *res)
{
	uint64_t start = UINT64_MAX, end = 0, region = populate_pages_per_vcpu(o);
	unsigned used = vcpus < o->cores ? vcpus : (o->cores ? o->cores : 1);
	uint64_t share = PAR_FLOOR_PAGES * used / vcpus;
	uint64_t walks = share > PAR_FLOOR_MIN_WALKS ? share : PAR_FLOOR_MIN_WALKS;
	uint64_t pages = region < walks ? region : walks;
	unsigned passes = (unsigned)((walks + pages - 1) / pages);
	struct par_floor_thread *t;
	pthread_barrier_t barrier;
	pthread_attr_t attr;
	int r;

	if (passes < 1)
		passes = 1;
	t = aligned_alloc(64, sizeof(*t) * vcpus);
	if (!t)
		fatal("out of memory for %u parallel floor threads", vcpus);
	memset(t, 0, sizeof(*t) * vcpus);
	pthread_barrier_init(&barrier, NULL, vcpus);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	for (unsigned i = 0; i < vcpus; i++) {
		t[i].vm = vm;
		t[i].barrier = &barrier;
		t[i].start_gfn = o->overlap ? 0 : (uint64_t)i * region;
		t[i].npages = pages; /* the region, or its first pages when it is larger */
		t[i].passes = passes;
		r = pthread_create(&t[i].tid, &attr, par_floor_fn, &t[i]);
		if (r)
			fatal("starting parallel floor thread %u of %u: %s", i + 1, vcpus,
			      strerror(r));
	}
	pthread_attr_destroy(&attr);
	for (unsigned i = 0; i < vcpus; i++)
		pthread_join(t[i].tid, NULL);
	pthread_barrier_destroy(&barrier);
	for (unsigned i = 0; i < vcpus; i++) {
		if (t[i].err)
			fatal("parallel floor, vCPU %u's gfns 0x%llx..0x%llx: %s", i,
			      (unsigned long long)t[i].start_gfn,
			      (unsigned long long)(t[i].start_gfn + pages - 1),
			      strerror(-t[i].err));
		if (t[i].start_ns < start)
			start = t[i].start_ns;
		if (t[i].end_ns > end)
			end = t[i].end_ns;
	}
	free(t);
	res->par_floor_ns = end > start ? end - start : 1;
	res->par_floor_pages = pages * passes * vcpus;
}
