/*
 * test_thread_slots.c - thread slots grow past 1024, and running out is
 * -EAGAIN from the call that needs a slot, never a BUG (issue 19).
 *
 * The cap is lowered to N + 1 with the test-only knob (the main thread has
 * slot 0), N = 1100 > the old fixed 1024.  N threads each attach, take the
 * read side of one MMU lock (their reader indicator) and bump a sharded
 * counter (their shard), then hold their slot until the main thread has
 * checked: the slot high-water mark grew to N + 1, the write lock scans
 * every indicator and is granted once all are down, the counter sums to
 * N.  Meanwhile one more thread gets -EAGAIN from tdpmmu_thread_attach,
 * tdpmmu_fault and tdpmmu_vcpu_run.  Once the holders exit, their slots
 * are free again: a new thread attaches.  Per-slot arrays are fixed
 * mappings (thread_slot.h), so ASan checks every indicator and shard
 * address touched.  Synchronisation: a mutex and condition variables only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "base/counters.h"
#include "base/thread_slot.h"
#include "mmu/mmu_lock.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_vm.h"

#ifndef N
#define N 1100
#endif
#define STACK (256 * 1024)

static struct mmu_lock lock;
static struct tdp_counters counters;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready, failed;
static bool release;

static void *holder(void *arg)
{
	int r = tdpmmu_thread_attach();

	if (!r) {
		mmu_lock_read(&lock);
		tdp_count(&counters, TDPMMU_C_FAULTS_FIXED);
		mmu_lock_read_unlock(&lock);
	}
	pthread_mutex_lock(&mu);
	if (r)
		failed++;
	ready++;
	pthread_cond_broadcast(&cond);
	while (!release)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static struct tdpmmu_vcpu *extra_vcpu;

static bool one_read(void *ctx, struct tdpmmu_access *a)
{
	a->gpa = 0;
	a->type = TDPMMU_ACCESS_READ;
	return true;
}

/* The thread past the cap: every first call says -EAGAIN. */
static void *extra(void *arg)
{
	int *r = arg;

	r[0] = tdpmmu_thread_attach();
	r[1] = tdpmmu_fault(extra_vcpu, 0, TDPMMU_ACCESS_READ, 0, NULL);
	r[2] = tdpmmu_vcpu_run(extra_vcpu, one_read, NULL, 0);
	return NULL;
}

static void *attach_once(void *arg)
{
	*(int *)arg = tdpmmu_thread_attach();
	return NULL;
}

int main(void)
{
	static pthread_t threads[N];
	struct tdpmmu_memslot slot = { 0, 0, 512, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	pthread_attr_t attr;
	pthread_t t;
	int er[3], again;

	REQUIRE(tdpmmu_thread_attach() == 0);
	REQUIRE(tdp_thread_slot() == 0);
	test_config_init(&cfg);
	cfg.max_tables = 256; /* small: ASan's cost is the arena's shadow */
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &extra_vcpu) == 0);
	REQUIRE(mmu_lock_init(&lock, false) == 0);
	REQUIRE(tdp_counters_init(&counters) == 0);
	tdp_thread_slot_set_cap(N + 1);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK);
	for (int i = 0; i < N; i++)
		REQUIRE(pthread_create(&threads[i], &attr, holder, NULL) == 0);
	pthread_mutex_lock(&mu);
	while (ready < N)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);

	/* All N hold a slot: the map grew past 1024, and the cap is reached. */
	CHECK_EQ(failed, 0);
	CHECK_EQ(tdp_thread_slot_limit(), N + 1);
	REQUIRE(pthread_create(&t, &attr, extra, er) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(er[0], -EAGAIN);
	CHECK_EQ(er[1], -EAGAIN);
	CHECK_EQ(er[2], -EAGAIN);
	/* The writer scans all N + 1 indicators; every reader left. */
	mmu_lock_write(&lock);
	mmu_lock_write_unlock(&lock);
	CHECK_EQ(tdp_counter_read(&counters, TDPMMU_C_FAULTS_FIXED), N);

	pthread_mutex_lock(&mu);
	release = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < N; i++)
		pthread_join(threads[i], NULL);
	/* Slots come back at thread exit (before join returns). */
	REQUIRE(pthread_create(&t, &attr, attach_once, &again) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(again, 0);
	CHECK_EQ(tdp_thread_slot_limit(), N + 1);
	/* Restoring the cap: nothing else changes. */
	CHECK_EQ(tdp_thread_slot_set_cap(0), N + 1);

	pthread_attr_destroy(&attr);
	tdp_counters_destroy(&counters);
	mmu_lock_destroy(&lock);
	tdpmmu_vcpu_destroy(extra_vcpu);
	tdpmmu_vm_destroy(vm);
	printf("test_thread_slots: %d threads held a slot at once (cap %d), the next got "
	       "-EAGAIN from attach, fault and vcpu_run\n",
	       N, N + 1);
	return check_report("test_thread_slots");
}
