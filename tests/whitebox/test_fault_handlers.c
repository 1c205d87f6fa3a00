/*
 * test_fault_handlers.c - the host-fault handler pool (the VM's
 * host_fault_handlers, src/host/host_fault.c: demand_paging_test's readers
 * per userfaultfd, one userfaultfd per memslot): at most that many host
 * faults of one memslot are served at once, the bound is reached, slots do
 * not share handlers, and a fault waiting for a handler is quiescent under
 * rcu-qsbr (a grace period completes meanwhile).
 *
 * Determinism: a payer reaches the site hook holding its handler; there it
 * waits until every faulting thread of the case is accounted for (in the
 * hook, queued for a handler, or finished), reading the queue under the
 * pool's mutex.  So when the first payers leave the hook, all the others have
 * already tried, and the most ever busy is exactly what the pool let in,
 * whatever the scheduling.  The waits are polls of those counts with a
 * 10 s limit (a failure), never sleeps that assume a timing.
 *
 * Threads: the main thread and the faulting threads (one vCPU each); the
 * hook runs on the faulting threads.  Shared state is atomics, the pool's
 * fields read under fault_mutex, and joins.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "lib/test_vm.h"
#include "vm/vm_internal.h"

static struct tdpmmu_vm *hook_vm;
static atomic_uint hook_threads; /* the case's faulting threads */
static atomic_uint hook_done;    /* payers that left the hook */
static atomic_uint hook_inside;  /* payers in the hook now */
static atomic_bool hook_go;      /* case 3: the main thread's grace period is over */
static atomic_bool hook_wait_go; /* case 3: hold payers until hook_go */
static atomic_uint hook_most_inside;

static void poll_pause(void)
{
	struct timespec ts = { 0, 100000 }; /* 100 us between polls */

	nanosleep(&ts, NULL);
}

/* Faults queued for a handler, under fault_mutex. */
static unsigned pool_waiting(struct tdpmmu_vm *vm)
{
	struct tdp_host *h = &vm->host;
	unsigned n;

	tdp_mutex_lock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	n = h->handler_waiters;
	tdp_mutex_unlock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	return n;
}

static void site_hook(enum tdpmmu_test_site site, uint64_t gfn)
{
	unsigned inside, most;
	int polls = 0;

	if (site != TDPMMU_TEST_SITE_HOST_FAULT_PAID)
		return;
	inside = atomic_fetch_add(&hook_inside, 1) + 1;
	most = atomic_load(&hook_most_inside);
	while (inside > most && !atomic_compare_exchange_weak(&hook_most_inside, &most, inside))
		;
	/* Every faulter is here, queued for a handler, or done. */
	while (atomic_load(&hook_inside) + pool_waiting(hook_vm) + atomic_load(&hook_done) <
		       atomic_load(&hook_threads) &&
	       polls++ < 100000)
		poll_pause();
	while (atomic_load(&hook_wait_go) && !atomic_load(&hook_go) && polls++ < 100000)
		poll_pause();
	atomic_fetch_sub(&hook_inside, 1);
	atomic_fetch_add(&hook_done, 1);
}

struct faulter {
	struct tdpmmu_vcpu *vcpu;
	uint64_t gfn;
	int r;
	pthread_t tid;
};

static void *faulter_thread(void *arg)
{
	struct faulter *f = arg;

	f->r = tdpmmu_fault(f->vcpu, f->gfn, TDPMMU_ACCESS_WRITE, 0, NULL);
	return NULL;
}

static struct tdpmmu_vm *make_vm(unsigned handlers, enum tdpmmu_strategy strategy)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	if (strategy != TDPMMU_NR_STRATEGIES)
		cfg.strategy = strategy;
	cfg.max_tables = 4096;
	cfg.host_fault_us = 1000;
	cfg.host_fault_handlers = handlers;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	for (uint32_t id = 0; id < 2; id++) {
		struct tdpmmu_memslot slot = {
			.id = id, .base_gfn = id * 64, .npages = 64, .backing = TDPMMU_BACKING_ANON
		};

		REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	}
	hook_vm = vm;
	atomic_store(&hook_done, 0);
	atomic_store(&hook_inside, 0);
	atomic_store(&hook_most_inside, 0);
	atomic_store(&hook_go, false);
	atomic_store(&hook_wait_go, false);
	tdpmmu_test_set_site_hook(site_hook);
	return vm;
}

/* Start @n faulters on distinct pages, the i-th in slot @slot_of[i]. */
static void start(struct tdpmmu_vm *vm, struct faulter *f, unsigned n, const unsigned *slot_of)
{
	atomic_store(&hook_threads, n);
	for (unsigned i = 0; i < n; i++) {
		f[i].gfn = slot_of[i] * 64 + i;
		REQUIRE(tdpmmu_vcpu_create(vm, &f[i].vcpu) == 0);
		REQUIRE(pthread_create(&f[i].tid, NULL, faulter_thread, &f[i]) == 0);
	}
}

/* Join, check, tear down; @most: the most payers ever in the hook at once. */
static void finish(struct tdpmmu_vm *vm, struct faulter *f, unsigned n, unsigned most)
{
	for (unsigned i = 0; i < n; i++) {
		REQUIRE(pthread_join(f[i].tid, NULL) == 0);
		CHECK_EQ(f[i].r, 0);
	}
	CHECK_EQ(atomic_load(&hook_done), n);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), n);
	CHECK(vm->host.handling == NULL && vm->host.handler_waiters == 0);
	CHECK_EQ(atomic_load(&hook_most_inside), most);
	CHECK_EQ(vm->host.handlers_max, vm->host.fault_handlers);
	tdpmmu_test_set_site_hook(NULL);
	tdpmmu_vm_destroy(vm);
}

/* 6 faults on one slot with 2 handlers: exactly 2 at once, never 3. */
static void test_bound_held_and_reached(void)
{
	static const unsigned slot_of[6] = { 0, 0, 0, 0, 0, 0 };
	struct tdpmmu_vm *vm = make_vm(2, TDPMMU_NR_STRATEGIES);
	struct faulter f[6];

	start(vm, f, 6, slot_of);
	finish(vm, f, 6, 2);
}

/* One handler per slot, a fault in each of two slots: both are served at once. */
static void test_per_slot(void)
{
	static const unsigned slot_of[4] = { 0, 1, 0, 1 };
	struct tdpmmu_vm *vm = make_vm(1, TDPMMU_NR_STRATEGIES);
	struct faulter f[4];

	start(vm, f, 4, slot_of);
	finish(vm, f, 4, 2);
}

/*
 * rcu-qsbr: one payer holds the slot's only handler in the hook, a second
 * fault queues for it; a memslot change (which waits for a grace period)
 * must complete meanwhile, so the queued fault is quiescent.  Were it
 * online, the change would wait for it, it for the handler, and the
 * handler for the change: the 10 s poll fails the case.
 */
static void test_queued_is_quiescent(void)
{
	static const unsigned slot_of[2] = { 0, 0 };
	struct tdpmmu_vm *vm = make_vm(1, TDPMMU_STRATEGY_RCU_QSBR);
	struct tdpmmu_memslot extra = {
		.id = 7, .base_gfn = 1024, .npages = 16, .backing = TDPMMU_BACKING_ANON
	};
	struct faulter f[2];
	int polls = 0;

	atomic_store(&hook_wait_go, true);
	start(vm, f, 2, slot_of);
	while (pool_waiting(vm) != 1 && polls++ < 100000)
		poll_pause();
	REQUIRE(pool_waiting(vm) == 1);
	CHECK_EQ(tdpmmu_memslot_add(vm, &extra), 0);
	atomic_store(&hook_go, true);
	finish(vm, f, 2, 1);
}

/* 0 (the default): no pool, nothing tracked. */
static void test_unlimited_default(void)
{
	struct tdpmmu_vm_config cfg;

	tdpmmu_vm_config_init(&cfg);
	CHECK_EQ(cfg.host_fault_handlers, 0);
}

int main(void)
{
	test_unlimited_default();
	test_bound_held_and_reached();
	test_per_slot();
	test_queued_is_quiescent();
	return check_report("test_fault_handlers");
}
