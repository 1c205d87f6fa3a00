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
 * N.  Meanwhile one more thread gets -EAGAIN from every public call that
 * can need a slot (thread_slot.h's list: memslots, zaps, write
 * protection and tracking, aging, recovery, dirty logging, invalidation,
 * remap, lookups, faults, vcpu_run, the audits), and the VM is as it was:
 * counters, MMU lock acquisitions, every entry of the populated slot, the
 * dirty bitmap, the memslots, the write tracking and the invalidation in
 * progress.  The calls that cannot fail (destroys, flush, the bool and
 * count readers) wait instead: each waits until one of LENDERS threads
 * exits, and takes its slot.  Once the holders exit, their slots are free
 * again: a new thread attaches.  Per-slot arrays are fixed mappings
 * (thread_slot.h), so ASan checks every indicator and shard address
 * touched.  Synchronisation: mutexes and condition variables, and one
 * yield loop that waits until the waiter is asleep in the slot code.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "base/counters.h"
#include "base/thread_slot.h"
#include "mmu/mmu_lock.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"
#include "lib/test_vm.h"

#ifndef N
#define N 1100
#endif
#define STACK (256 * 1024)
#define LENDERS 6  /* one per call that waits */
#define PAGES 1024 /* slot 0, populated */

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
static struct tdpmmu_vm *vm;

static bool one_read(void *ctx, struct tdpmmu_access *a)
{
	a->gpa = 0;
	a->type = TDPMMU_ACCESS_READ;
	return true;
}

/* The thread past the cap: every call that can need a slot says -EAGAIN. */
#define NR_CALLS 32
static const char *const call_names[NR_CALLS] = {
	"thread_attach",
	"fault",
	"vcpu_run",
	"memslot_add",
	"memslot_delete",
	"memslot_move",
	"host_remap",
	"write_protect_gfn",
	"write_track_add",
	"write_track_remove",
	"test_young",
	"clear_young",
	"clear_flush_young",
	"recover_huge_pages",
	"nx_recover",
	"dirty_log_enable",
	"dirty_log_get",
	"dirty_log_clear",
	"dirty_log_disable",
	"zap_range",
	"zap_all",
	"zap_all_fast",
	"lookup",
	"invalidate_begin",
	"invalidate_end",
	"audit",
	"audit_tlbs",
	"nx_audit",
	"hold_walk",
	"test_recover_range",
	"pre_fault",
	"dirty_ring_reset",
};

static void *extra(void *arg)
{
	struct tdpmmu_memslot slot2 = { 2, 8192, 512, TDPMMU_BACKING_ANON, 0 };
	static uint64_t bitmap[PAGES / 64];
	struct tdpmmu_mapping m;
	uint64_t pf_gpa = 0, pf_size = 4 * 4096;
	int *r = arg, i = 0;

	r[i++] = tdpmmu_thread_attach();
	r[i++] = tdpmmu_fault(extra_vcpu, 0, TDPMMU_ACCESS_READ, 0, NULL);
	r[i++] = tdpmmu_vcpu_run(extra_vcpu, one_read, NULL, 0);
	r[i++] = tdpmmu_memslot_add(vm, &slot2);
	r[i++] = tdpmmu_memslot_delete(vm, 1);
	r[i++] = tdpmmu_memslot_move(vm, 1, 4096);
	r[i++] = tdpmmu_host_remap(vm, PAGES / 2, PAGES, 0);
	r[i++] = tdpmmu_write_protect_gfn(vm, 50);
	r[i++] = tdpmmu_write_track_add(vm, 11);
	r[i++] = tdpmmu_write_track_remove(vm, 10);
	r[i++] = tdpmmu_test_young(vm, 0, PAGES);
	r[i++] = tdpmmu_clear_young(vm, 0, PAGES);
	r[i++] = tdpmmu_clear_flush_young(vm, 0, PAGES);
	r[i++] = tdpmmu_recover_huge_pages(vm, 1, TDPMMU_RECOVER_INPLACE);
	r[i++] = tdpmmu_nx_recover(vm, 1);
	r[i++] = tdpmmu_dirty_log_enable(vm, 1, 0);
	r[i++] = tdpmmu_dirty_log_get(vm, 0, bitmap);
	r[i++] = tdpmmu_dirty_log_clear(vm, 0, 0, ~0ull);
	r[i++] = tdpmmu_dirty_log_disable(vm, 0, TDPMMU_RECOVER_ZAP);
	r[i++] = tdpmmu_zap_range(vm, 0, PAGES);
	r[i++] = tdpmmu_zap_all(vm);
	r[i++] = tdpmmu_zap_all_fast(vm);
	r[i++] = tdpmmu_lookup(vm, 0, &m);
	r[i++] = tdpmmu_invalidate_begin(vm, 0, 8);
	r[i++] = tdpmmu_invalidate_end(vm, PAGES / 2, PAGES);
	r[i++] = tdpmmu_audit(vm);
	r[i++] = tdpmmu_audit_tlbs(vm);
	r[i++] = tdpmmu_nx_audit(vm);
	r[i++] = tdpmmu_hold_walk(vm, 1000);
	r[i++] = tdpmmu_test_recover_range(vm, 0, PAGES, TDPMMU_RECOVER_INPLACE);
	r[i++] = tdpmmu_pre_fault(extra_vcpu, &pf_gpa, &pf_size, NULL, NULL);
	r[i++] = tdpmmu_dirty_ring_reset(vm);
	return NULL;
}

/* What the -EAGAIN calls must leave alone. */
struct snapshot {
	int64_t counters[TDPMMU_NR_COUNTERS];
	uint64_t lock_reads, lock_writes;
	uint64_t own_reads, own_writes; /* the snapshot's own, after the two above */
	tdpmmu_spte_t spte[PAGES];
	uint64_t bitmap[PAGES / 64];
	int dirty;
	int slot1_at_2048, slot1_at_4096, slot2;
	bool tracked10, tracked11;
};

static void snapshot_take(struct snapshot *sn)
{
	struct tdpmmu_lock_stats ls;
	struct tdpmmu_mapping m;
	uint64_t pfn;

	memset(sn, 0, sizeof(*sn));
	tdpmmu_counters_read(vm, sn->counters);
	tdpmmu_lock_stats_read(vm, &ls);
	sn->lock_reads = ls.reads;
	sn->lock_writes = ls.writes;
	for (uint64_t g = 0; g < PAGES; g++) {
		REQUIRE(tdpmmu_lookup(vm, g, &m) == 0);
		sn->spte[g] = m.present ? m.spte : 0;
	}
	sn->slot1_at_2048 = tdpmmu_host_pfn(vm, 2048, &pfn);
	sn->slot1_at_4096 = tdpmmu_host_pfn(vm, 4096, &pfn);
	sn->slot2 = tdpmmu_host_pfn(vm, 8192, &pfn);
	sn->tracked10 = tdpmmu_write_tracked(vm, 10);
	sn->tracked11 = tdpmmu_write_tracked(vm, 11);
	/* Last: the reads above took the lock, this one (manual protect) copies only. */
	sn->dirty = tdpmmu_dirty_log_get(vm, 0, sn->bitmap);
	tdpmmu_lock_stats_read(vm, &ls);
	sn->own_reads = ls.reads - sn->lock_reads;
	sn->own_writes = ls.writes - sn->lock_writes;
}

/*
 * The VM the -EAGAIN calls run against: slot 0 populated and dirty
 * logging (manual protect, 100 pages dirty), gfn 10 write tracked, its
 * upper half under an invalidation in progress; slot 1 for delete/move.
 */
static void vm_prepare(struct tdpmmu_vcpu *v)
{
	struct tdpmmu_memslot slot0 = { 0, 0, PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_memslot slot1 = { 1, 2048, 512, TDPMMU_BACKING_THP, 0 };

	REQUIRE(tdpmmu_memslot_add(vm, &slot0) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot1) == 0);
	for (uint64_t g = 0; g < PAGES; g++)
		REQUIRE(tdpmmu_fault(v, g, TDPMMU_ACCESS_WRITE, 0, NULL) >= 0);
	for (uint64_t g = 2048; g < 2048 + 512; g++)
		REQUIRE(tdpmmu_fault(v, g, TDPMMU_ACCESS_WRITE, 0, NULL) >= 0);
	REQUIRE(tdpmmu_dirty_log_enable(vm, 0, TDPMMU_DIRTY_LOG_MANUAL_PROTECT) >= 0);
	for (uint64_t g = 0; g < 100; g++)
		REQUIRE(tdpmmu_fault(v, g, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, NULL) >=
			0);
	REQUIRE(tdpmmu_write_track_add(vm, 10) == 0);
	REQUIRE(tdpmmu_invalidate_begin(vm, PAGES / 2, PAGES) == 0);
}

/* A thread holding a slot until told to exit (then its slot is free). */
static bool lender_exit[LENDERS];

static void *lender(void *arg)
{
	int i = (int)(intptr_t)arg;

	REQUIRE(tdpmmu_thread_attach() == 0);
	pthread_mutex_lock(&mu);
	ready++;
	pthread_cond_broadcast(&cond);
	while (!lender_exit[i])
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* The calls that cannot fail: each waits for a slot, then keeps it until released. */
static struct tdpmmu_vm *spare_vm;
static struct tdpmmu_vcpu *spare_vcpu;
static atomic_int waits_done;

static void *waiter(void *arg)
{
	struct tdpmmu_root_stats rs;
	int which = (int)(intptr_t)arg;

	switch (which) {
	case 0:
		tdpmmu_root_stats_read(vm, &rs);
		CHECK(rs.valid >= 1);
		break;
	case 1:
		CHECK_EQ(tdpmmu_nx_listed(vm), 0);
		break;
	case 2:
		CHECK(tdpmmu_write_tracked(vm, 10));
		break;
	case 3:
		tdpmmu_flush_tlbs(vm);
		break;
	case 4:
		tdpmmu_vcpu_destroy(spare_vcpu);
		break;
	default:
		tdpmmu_vm_destroy(spare_vm);
		break;
	}
	atomic_fetch_add(&waits_done, 1);
	pthread_mutex_lock(&mu);
	while (!release)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *attach_once(void *arg)
{
	*(int *)arg = tdpmmu_thread_attach();
	return NULL;
}

int main(void)
{
	static pthread_t threads[N], lenders[LENDERS], waiters[LENDERS];
	static struct snapshot before, after;
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vcpu *v;
	pthread_attr_t attr;
	pthread_t t;
	int er[NR_CALLS], again;

	REQUIRE(tdpmmu_thread_attach() == 0);
	REQUIRE(tdp_thread_slot() == 0);
	test_config_init(&cfg);
	cfg.max_tables = 256; /* small: ASan's cost is the arena's shadow */
	REQUIRE(tdpmmu_vm_create(&cfg, &spare_vm) == 0);
	REQUIRE(tdpmmu_vcpu_create(spare_vm, &spare_vcpu) == 0);
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &extra_vcpu) == 0);
	vm_prepare(v);
	REQUIRE(mmu_lock_init(&lock, false) == 0);
	REQUIRE(tdp_counters_init(&counters) == 0);
	/* Slot 0 is main's; liburcu's call_rcu thread may hold one more (frees counted). */
	tdp_thread_slot_set_cap(tdp_thread_slot_limit() + N + LENDERS);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK);
	for (int i = 0; i < N; i++)
		REQUIRE(pthread_create(&threads[i], &attr, holder, NULL) == 0);
	for (int i = 0; i < LENDERS; i++)
		REQUIRE(pthread_create(&lenders[i], &attr, lender, (void *)(intptr_t)i) == 0);
	pthread_mutex_lock(&mu);
	while (ready < N + LENDERS)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);

	/* All hold a slot: the map grew past 1024, and the cap is reached. */
	CHECK_EQ(failed, 0);
	CHECK(tdp_thread_slot_limit() >= N + LENDERS + 1);
	snapshot_take(&before);
	CHECK_EQ(before.dirty, 100);
	CHECK(before.tracked10 && !before.tracked11);
	CHECK(!before.slot1_at_2048 && before.slot1_at_4096 && before.slot2);
	REQUIRE(pthread_create(&t, &attr, extra, er) == 0);
	pthread_join(t, NULL);
	for (int i = 0; i < NR_CALLS; i++) {
		if (er[i] == -EAGAIN)
			continue;
		fprintf(stderr, "tdpmmu_%s from a thread with no slot left: %d, not -EAGAIN\n",
			call_names[i], er[i]);
		check_failures++;
	}
	/* ... and none of them changed anything. */
	snapshot_take(&after);
	CHECK(!memcmp(before.counters, after.counters, sizeof(before.counters)));
	CHECK_EQ(after.lock_reads, before.lock_reads + before.own_reads);
	CHECK_EQ(after.lock_writes, before.lock_writes + before.own_writes);
	CHECK(!memcmp(before.spte, after.spte, sizeof(before.spte)));
	CHECK(!memcmp(before.bitmap, after.bitmap, sizeof(before.bitmap)));
	CHECK_EQ(after.dirty, before.dirty);
	CHECK_EQ(after.slot1_at_2048, before.slot1_at_2048);
	CHECK_EQ(after.slot1_at_4096, before.slot1_at_4096);
	CHECK_EQ(after.slot2, before.slot2);
	CHECK(after.tracked10 && !after.tracked11);
	/* The invalidation in progress is still the one main began. */
	CHECK_EQ(tdpmmu_invalidate_end(vm, PAGES / 2, PAGES), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);

	/* The calls that cannot fail wait for a slot: a lender's exit gives one. */
	for (int i = 0; i < LENDERS; i++) {
		REQUIRE(pthread_create(&waiters[i], &attr, waiter, (void *)(intptr_t)i) == 0);
		while (tdp_thread_slot_waiting() != 1)
			sched_yield();
		CHECK_EQ(atomic_load(&waits_done), i);
		pthread_mutex_lock(&mu);
		lender_exit[i] = true;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&mu);
		pthread_join(lenders[i], NULL);
		while (atomic_load(&waits_done) != i + 1)
			sched_yield();
		CHECK_EQ(tdp_thread_slot_waiting(), 0);
	}
	/* The writer scans every indicator; every reader left. */
	mmu_lock_write(&lock);
	mmu_lock_write_unlock(&lock);
	CHECK_EQ(tdp_counter_read(&counters, TDPMMU_C_FAULTS_FIXED), N);

	pthread_mutex_lock(&mu);
	release = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < N; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < LENDERS; i++)
		pthread_join(waiters[i], NULL);
	/* Slots come back at thread exit (before join returns). */
	REQUIRE(pthread_create(&t, &attr, attach_once, &again) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(again, 0);
	/* Restoring the cap: nothing else changes. */
	tdp_thread_slot_set_cap(0);

	pthread_attr_destroy(&attr);
	tdp_counters_destroy(&counters);
	mmu_lock_destroy(&lock);
	tdpmmu_vm_destroy(vm);
	printf("test_thread_slots: %d threads held a slot at once, the next got -EAGAIN "
	       "from all %d calls that can need one and changed nothing; %d calls that "
	       "cannot fail waited for a slot\n",
	       N + LENDERS, NR_CALLS, LENDERS);
	return check_report("test_thread_slots");
}
