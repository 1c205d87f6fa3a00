/*
 * test_host_fault.c - demand paging's host side (host_fault_us,
 * src/host_fault.c): the delay is paid once per host page and memslot,
 * never under the MMU lock, faults on different pages wait in parallel, a
 * fault on a page another vCPU is faulting in waits for it and pays
 * nothing, and 0 costs nothing.
 *
 * Threads: the main thread and a few faulting threads, each on its own
 * vCPU (tdpmmu_fault); they share only atomics, and the main thread
 * joins them before it reads what they wrote.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"
#include "compiler.h"
#include "test_vm.h"
#include "tdp_mmu.h"
#include "vm_internal.h"

#define MS 1000000ull

static struct tdpmmu_vm *make_vm(unsigned us, enum tdpmmu_backing backing, uint64_t npages)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { .id = 0, .base_gfn = 0, .npages = npages,
				       .backing = backing };
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
	struct tdpmmu_memslot slot = { .id = 0, .base_gfn = 0, .npages = 64,
				       .backing = TDPMMU_BACKING_ANON };
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK(timed_fault(v, 0) >= delay_ms * MS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 1);
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	CHECK(timed_fault(v, 0) < delay_ms * MS);
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

/* The write lock is free while a vCPU sleeps in the host fault. */
static void test_not_under_lock(void)
{
	const unsigned delay_ms = 300;
	struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
	struct tdp_mmu *mmu = tdp_vm_mmu(vm);
	struct faulter f;
	uint64_t t0, took;
	int level;

	faulter_start(&f, vm, 2);
	wait_counter(vm, TDPMMU_C_HOST_FAULTS, 1); /* counted as the sleep begins */
	t0 = tdp_now_ns();
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	took = tdp_now_ns() - t0;
	CHECK(!atomic_load(&f.done)); /* still asleep, lock in hand */
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	/* A public write-lock operation too. */
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	CHECK(!atomic_load(&f.done));
	CHECK(took < delay_ms * MS / 2);
	faulter_join(&f);
	CHECK(f.end_ns - f.start_ns >= delay_ms * MS);
	CHECK(test_leaf(vm, 2, &level) != 0);
	tdpmmu_vm_destroy(vm);
}

/* Faults on different pages sleep in parallel. */
static void test_parallel_waits(void)
{
	const unsigned delay_ms = 100, n = 8;
	struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
	struct faulter f[8];
	uint64_t t0 = tdp_now_ns(), wall;

	for (unsigned i = 0; i < n; i++)
		faulter_start(&f[i], vm, 10 + i);
	for (unsigned i = 0; i < n; i++)
		faulter_join(&f[i]);
	wall = tdp_now_ns() - t0;
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), n);
	/* Serialised they would take n x delay; in parallel about one delay. */
	CHECK(wall < n * delay_ms * MS / 2);
	tdpmmu_vm_destroy(vm);
}

/* A second fault on a page being faulted in waits for it and pays nothing. */
static void test_second_waits(void)
{
	const unsigned delay_ms = 200;
	struct tdpmmu_vm *vm = make_vm(delay_ms * 1000, TDPMMU_BACKING_ANON, 64);
	struct tdpmmu_mapping m;
	struct faulter a, b;
	uint64_t pfn;

	faulter_start(&a, vm, 3);
	wait_counter(vm, TDPMMU_C_HOST_FAULTS, 1);
	faulter_start(&b, vm, 3);
	wait_counter(vm, TDPMMU_C_HOST_FAULT_WAITS, 1);
	CHECK(!atomic_load(&b.done) || atomic_load(&a.done));
	faulter_join(&a);
	faulter_join(&b);
	/* b is not done before a's delay is over, nor a delay of its own later. */
	CHECK(b.end_ns >= a.start_ns + delay_ms * MS);
	CHECK(b.end_ns < a.start_ns + 2 * delay_ms * MS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULT_WAITS), 1);
	REQUIRE(tdpmmu_host_pfn(vm, 3, &pfn) == 0);
	REQUIRE(tdpmmu_lookup(vm, 3, &m) == 0);
	CHECK(m.present);
	CHECK_EQ(m.pfn, pfn);
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
