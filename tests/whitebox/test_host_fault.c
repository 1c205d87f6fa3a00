/*
 * test_host_fault.c - demand paging's host side (host_fault_us,
 * src/host/host_fault.c): the delay is paid once per host page and memslot,
 * never under the MMU lock, faults on different pages wait in parallel, a
 * fault on a page another vCPU is faulting in waits for it and pays
 * nothing, and 0 costs nothing.
 *
 * Threads: the main thread and a few faulting threads, each on its own
 * vCPU (tdpmmu_fault); they share only atomics, and the main thread
 * joins them before it reads what they wrote.
 *
 * Timing: the delay is a sleep on CLOCK_MONOTONIC, the clock of
 * tdp_now_ns, so a fault that paid it took at least the delay, and a
 * payer is asleep from when it counted host_faults until at least its
 * start plus the delay.  Those lower bounds are the only timing asserted;
 * "paid nothing" is proved by the counters.  A case that needs another
 * thread to act while a fault sleeps (a loaded machine may not run it in
 * time) is retried until that happened: a run where it did not proves
 * nothing, either way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "lib/check.h"
#include "base/compiler.h"
#include "lib/test_vm.h"
#include "mmu/tdp_mmu.h"
#include "vm/vm_internal.h"

#define MS 1000000ull

static struct tdpmmu_vm *make_vm(unsigned us, enum tdpmmu_backing backing, uint64_t npages)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = {
		.id = 0, .base_gfn = 0, .npages = npages, .backing = backing
	};
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 4096;
	cfg.host_fault_us = us;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	return vm;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000l };

	nanosleep(&ts, NULL);
}

/* ns one not-present read fault on @gfn takes; the fault must succeed. */
static uint64_t timed_fault(struct tdpmmu_vcpu *v, uint64_t gfn)
{
	uint64_t t0 = tdp_now_ns();

	CHECK_EQ(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, 0, NULL), 0);
	return tdp_now_ns() - t0;
}

/* Wait (up to 10 s) until counter @c reaches @n. */
static void wait_counter(struct tdpmmu_vm *vm, enum tdpmmu_counter c, int64_t n)
{
	for (int i = 0; i < 10000 && test_counter(vm, c) < n; i++)
		sleep_ms(1);
	REQUIRE(test_counter(vm, c) >= n);
}

static void test_config(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	CHECK_EQ(cfg.host_fault_us, 0);
	cfg.host_fault_us = TDPMMU_MAX_HOST_FAULT_US + 1;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
}

/* 0: no bitmap, no counts; every page faults at once. */
static void test_zero_costs_nothing(void)
{
	struct tdpmmu_vm *vm = make_vm(0, TDPMMU_BACKING_ANON, 256);
	struct tdpmmu_vcpu *v;
	int level;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK(vm->host.fault_ns == 0);
	CHECK(vm->host.slots->slots[0].host_faulted == NULL);
	for (uint64_t gfn = 0; gfn < 256; gfn++)
		timed_fault(v, gfn);
	CHECK(test_leaf(vm, 255, &level) != 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULT_WAITS), 0);
	tdpmmu_vm_destroy(vm);
}

/* Once per host page: not again after a zap, again for a memslot added again. */
static void test_once_per_page(void)
{
	const unsigned delay_ms = 50;
	struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
	struct tdpmmu_memslot slot = {
		.id = 0, .base_gfn = 0, .npages = 64, .backing = TDPMMU_BACKING_ANON
	};
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK(timed_fault(v, 0) >= delay_ms * MS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 1);
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	timed_fault(v, 0); /* in already: no sleep (counted as it begins) */
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 1);
	CHECK(timed_fault(v, 1) >= delay_ms * MS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 2);
	/* A write to a page a read faulted in: in already. */
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	CHECK_EQ(tdpmmu_fault(v, 1, TDPMMU_ACCESS_WRITE, 0, NULL), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 2);
	/* A memslot added again starts with nothing faulted in. */
	REQUIRE(tdpmmu_memslot_delete(vm, 0) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	CHECK(timed_fault(v, 0) >= delay_ms * MS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 3);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULT_WAITS), 0);
	tdpmmu_vm_destroy(vm);
}

/* A hugetlb-2m host page is faulted in once for all its 512 gfns. */
static void test_huge_host_page(void)
{
	struct tdpmmu_vm *vm = make_vm(1000, TDPMMU_BACKING_HUGETLB_2M, 1024);
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	timed_fault(v, 5);
	timed_fault(v, 511);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 1);
	timed_fault(v, 512);
	timed_fault(v, 1023);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 2);
	tdpmmu_vm_destroy(vm);
}

struct faulter {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	uint64_t gfn;
	uint64_t start_ns, end_ns;
	int r;
	atomic_bool done;
	pthread_t tid;
};

static void *faulter_thread(void *arg)
{
	struct faulter *f = arg;

	f->start_ns = tdp_now_ns();
	f->r = tdpmmu_fault(f->vcpu, f->gfn, TDPMMU_ACCESS_WRITE, 0, NULL);
	f->end_ns = tdp_now_ns();
	atomic_store(&f->done, true);
	return NULL;
}

static void faulter_start(struct faulter *f, struct tdpmmu_vm *vm, uint64_t gfn)
{
	f->vm = vm;
	f->gfn = gfn;
	atomic_init(&f->done, false);
	REQUIRE(tdpmmu_vcpu_create(vm, &f->vcpu) == 0);
	REQUIRE(pthread_create(&f->tid, NULL, faulter_thread, f) == 0);
}

static void faulter_join(struct faulter *f)
{
	REQUIRE(pthread_join(f->tid, NULL) == 0);
	CHECK_EQ(f->r, 0);
}

#define TRIES 10 /* for the cases that need another thread to act during a sleep */

/*
 * The write lock is free while a vCPU sleeps in the host fault: this
 * thread takes it, and then zaps (a public write-lock operation), both
 * done before the faulter's sleep can have ended (its start plus the
 * delay).  If the fault slept under the MMU lock, neither could happen
 * before the sleep ended.  A try where this thread only got there later
 * (a loaded machine) proves nothing: retry on another page.
 */
static void test_not_under_lock(void)
{
	const unsigned delay_ms = 300;
	struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
	struct tdp_mmu *mmu = tdp_vm_mmu(vm);
	int tries = 0;
	bool proved = false;

	for (; tries < TRIES && !proved; tries++) {
		uint64_t gfn = 2 + (uint64_t)tries, zapped;
		struct faulter f;
		int level;

		faulter_start(&f, vm, gfn);
		wait_counter(vm, TDPMMU_C_HOST_FAULTS, tries + 1); /* counted as the sleep begins */
		tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
		tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
		REQUIRE(tdpmmu_zap_all(vm) == 0);
		zapped = tdp_now_ns();
		faulter_join(&f);
		CHECK(f.end_ns - f.start_ns >= delay_ms * MS);
		/* The sleep ends at f.start_ns + delay at the earliest. */
		proved = zapped < f.start_ns + delay_ms * MS;
		/* Then the fault mapped after the zap, when its sleep was over. */
		if (proved)
			CHECK(test_leaf(vm, gfn, &level) != 0);
	}
	if (proved)
		printf("test_host_fault: the write lock was taken and a zap done during a "
		       "host-fault sleep (try %d)\n",
		       tries);
	else
		fprintf(stderr,
			"test_host_fault: in %d tries the write lock was never taken while "
			"a fault slept in the host\n",
			tries);
	CHECK(proved);
	tdpmmu_vm_destroy(vm);
}

/*
 * Faults on different pages sleep in parallel: all n asleep at one
 * instant.  Fault i sleeps a whole delay d inside [start_i, end_i], so it
 * is surely asleep over [end_i - d, start_i + d]; those n spans share an
 * instant exactly when max(end) - min(start) <= 2d.  If any two sleeps
 * were serialised they could not both cover one instant, so no try would
 * prove it; a try whose threads were started or woken too late (a loaded
 * machine) proves nothing and is retried.
 */
static void test_parallel_waits(void)
{
	const unsigned delay_ms = 200, n = 8;
	int tries = 0;
	bool proved = false;
	uint64_t span = 0;

	for (; tries < TRIES && !proved; tries++) {
		struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
		uint64_t first = UINT64_MAX, last = 0;
		struct faulter f[8];

		for (unsigned i = 0; i < n; i++)
			faulter_start(&f[i], vm, 10 + i);
		for (unsigned i = 0; i < n; i++) {
			faulter_join(&f[i]);
			CHECK(f[i].end_ns - f[i].start_ns >= delay_ms * MS);
			first = f[i].start_ns < first ? f[i].start_ns : first;
			last = f[i].end_ns > last ? f[i].end_ns : last;
		}
		CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), n);
		span = last - first;
		proved = span <= 2 * delay_ms * MS;
		tdpmmu_vm_destroy(vm);
	}
	if (proved)
		printf("test_host_fault: %u host faults of %u ms all slept at once, in %.0f ms "
		       "(try %d)\n",
		       n, delay_ms, (double)span / 1e6, tries);
	else
		fprintf(stderr,
			"test_host_fault: in %d tries %u host faults of %u ms never all "
			"slept at once (last span %.0f ms; serialised: >= %u ms)\n",
			tries, n, delay_ms, (double)span / 1e6, n * delay_ms);
	CHECK(proved);
}

/*
 * A second fault on a page being faulted in waits for it and pays nothing.
 * b starts once a's sleep began; whether it still finds the page busy
 * depends on how soon it runs.  Either way it pays no delay of its own
 * (host_faults stays one per page).  If it waited (host_fault_waits
 * moved), it cannot be done before a's sleep was over.  A try proves the
 * case when b waited and was done within two delays of a's start; one
 * where b came too late to wait, or ran too late to be done by then (a
 * loaded machine), proves nothing: retry on another page.
 */
static void test_second_waits(void)
{
	const unsigned delay_ms = 200;
	struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
	int tries = 0;
	bool proved = false;

	for (; tries < TRIES && !proved; tries++) {
		uint64_t gfn = 3 + (uint64_t)tries, pfn;
		int64_t waits = test_counter(vm, TDPMMU_C_HOST_FAULT_WAITS);
		struct tdpmmu_mapping m;
		struct faulter a, b;

		faulter_start(&a, vm, gfn);
		wait_counter(vm, TDPMMU_C_HOST_FAULTS, tries + 1); /* a's sleep began */
		faulter_start(&b, vm, gfn);
		faulter_join(&a);
		faulter_join(&b);
		CHECK(a.end_ns - a.start_ns >= delay_ms * MS);
		CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), tries + 1); /* b paid nothing */
		REQUIRE(tdpmmu_host_pfn(vm, gfn, &pfn) == 0);
		REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
		CHECK(m.present);
		CHECK_EQ(m.pfn, pfn);
		if (test_counter(vm, TDPMMU_C_HOST_FAULT_WAITS) == waits)
			continue; /* b found the page in: it came after a's sleep */
		CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULT_WAITS), waits + 1);
		/* b is not done before a's delay is over... */
		CHECK(b.end_ns >= a.start_ns + delay_ms * MS);
		/*
		 * ...nor does it sleep a delay of its own after a's: then it
		 * could never be done within two delays of a's start.  Done
		 * later (b not run in time) proves nothing: retry.
		 */
		proved = b.end_ns < a.start_ns + 2 * delay_ms * MS;
	}
	if (proved)
		printf("test_host_fault: a second fault waited for the first and paid nothing "
		       "(try %d)\n",
		       tries);
	else
		fprintf(stderr,
			"test_host_fault: in %d tries a second fault never waited for the "
			"first and was done within two delays of its start\n",
			tries);
	CHECK(proved);
	tdpmmu_vm_destroy(vm);
}

int main(void)
{
	test_config();
	test_zero_costs_nothing();
	test_once_per_page();
	test_huge_host_page();
	test_not_under_lock();
	test_parallel_waits();
	test_second_waits();
	return check_report("test_host_fault");
}
