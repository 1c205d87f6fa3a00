/*
 * test_preempt.c - the host kernel's preemption models at the MMU lock's
 * yield points (mmu_lock.h): since Linux 6.8 a holder yields to a waiter
 * only under full; under none and voluntary only its used-up time slice
 * makes it yield.
 *
 * Each case runs one long operation holding the MMU lock while another
 * thread waits for the lock, made deterministic with the yield hook
 * (tdpmmu_test_set_yield_hook), which a holder consults at each chance to
 * yield that neither reason took and calls again while it has let go:
 *
 * - at the first such chance the hook starts the waiter and spins until
 *   the lock counts it waiting (readers_waiting or writers_waiting: the
 *   proof that it waited while the holder held the lock);
 * - when the holder lets go the hook counts the yield and spins until the
 *   waiter got in; the waiter, holding the lock, records how much of the
 *   operation was left (the last gfn still mapped, tables still listed).
 *
 * The slice is set to an hour, so that no yield can come from it however
 * loaded the machine is: under full the holder must yield at the next
 * chance and the waiter gets in with most of the work left; under none
 * and voluntary the holder never yields and the waiter gets in after the
 * whole operation.  Then, with no waiter and a 1 ns slice, every model
 * must yield (the slice is need_resched under every model).
 *
 * Operations: a zap of a range of 4K leaves under the write lock (a
 * reader waits), and an NX recovery pass under the write lock (wrlock, a
 * reader waits) and under the read lock (rcu, a writer waits).  The mutant
 * preempt-ignored (contention counts under every model) fails the first
 * check under none and voluntary.  No sleeps: waits are spins on atomics.
 *
 *   test_preempt
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "mmu/tdp_mmu.h"
#include "vm/vm_internal.h"

#define ZAP_PAGES 8192ull /* 16 tables of 4K leaves: 8192 chances */
#define NX_BLOCKS 16ull   /* 2M blocks, one listed table each */
#define MB2 512ull
#define HOUR_NS (3600ull * 1000000000ull)

enum op { OP_ZAP, OP_NX };

static struct {
	struct tdpmmu_vm *vm;
	struct tdp_mmu *mmu;
	enum tdp_lock_mode holder_mode; /* the operation's mode */
	enum op op;
	_Atomic int waiter_go, waiter_in;
	_Atomic unsigned chances, yields;
	/* Recorded by the waiter under the lock: what was left of the operation. */
	_Atomic int last_mapped;
	_Atomic uint64_t listed_left;
} t;

static bool waiter_queued(void)
{
	struct mmu_lock *l = &t.mmu->lock;

	if (t.holder_mode == TDP_EXCLUSIVE)
		return atomic_load(&l->readers_waiting) != 0;
	return atomic_load(&l->writers_waiting) != 0;
}

static void *waiter(void *arg)
{
	enum tdp_lock_mode mode = t.holder_mode == TDP_EXCLUSIVE ? TDP_SHARED : TDP_EXCLUSIVE;
	struct tdpmmu_mapping m;

	(void)arg;
	while (!atomic_load(&t.waiter_go))
		sched_yield();
	tdp_mmu_lock(t.mmu, mode);
	if (t.op == OP_ZAP) {
		REQUIRE(tdpmmu_lookup(t.vm, ZAP_PAGES - 1, &m) == 0);
		atomic_store(&t.last_mapped, m.present);
	} else {
		atomic_store(&t.listed_left, t.mmu->nx_nr);
	}
	tdp_mmu_unlock(t.mmu, mode);
	atomic_store(&t.waiter_in, 1);
	return NULL;
}

static bool hook(bool locked)
{
	if (locked) {
		if (atomic_fetch_add(&t.chances, 1) == 0) {
			atomic_store(&t.waiter_go, 1);
			while (!waiter_queued())
				sched_yield();
		}
		return false;
	}
	atomic_fetch_add(&t.yields, 1);
	if (atomic_load(&t.waiter_go))
		while (!atomic_load(&t.waiter_in))
			sched_yield();
	return false;
}

static struct tdpmmu_vm *make_vm(enum op op, enum tdpmmu_strategy s, enum tdpmmu_preempt p)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, ZAP_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vcpu *v;
	struct tdpmmu_fault_result res;
	struct tdpmmu_vm *vm;

	tdpmmu_vm_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.strategy = s;
	cfg.preempt = p;
	if (op == OP_NX) {
		cfg.nx_huge_pages = true;
		cfg.nx_recovery_period_ms = 0; /* we run the pass */
		slot.npages = NX_BLOCKS * MB2;
		slot.backing = TDPMMU_BACKING_HUGETLB_2M;
	}
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	if (op == OP_ZAP)
		for (uint64_t gfn = 0; gfn < ZAP_PAGES; gfn++)
			REQUIRE(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, 0, &res) == 0);
	else
		for (uint64_t b = 0; b < NX_BLOCKS; b++)
			REQUIRE(tdpmmu_fault(v, b * MB2 + 3, TDPMMU_ACCESS_EXEC, 0, &res) == 0);
	tdpmmu_vcpu_destroy(v);
	return vm;
}

static void run_op(void)
{
	if (t.op == OP_ZAP)
		CHECK_EQ(tdpmmu_zap_range(t.vm, 0, ZAP_PAGES), 0);
	else
		CHECK_EQ(tdpmmu_nx_recover(t.vm, 1), (int)NX_BLOCKS);
}

/* One operation with a waiter and no slice: does the holder yield to it? */
static void case_waiter(enum op op, enum tdpmmu_strategy s, enum tdpmmu_preempt p)
{
	bool full = p == TDPMMU_PREEMPT_FULL;
	int failures = check_failures;
	pthread_t w;

	t.vm = make_vm(op, s, p);
	t.mmu = tdp_vm_mmu(t.vm);
	t.op = op;
	t.holder_mode = op == OP_ZAP ? TDP_EXCLUSIVE : tdp_mmu_unlink_mode(t.mmu);
	REQUIRE(mmu_lock_set_preempt(&t.mmu->lock, p, HOUR_NS) == 0);
	if (op == OP_NX)
		CHECK_EQ(tdpmmu_nx_listed(t.vm), NX_BLOCKS);
	atomic_store(&t.waiter_go, 0);
	atomic_store(&t.waiter_in, 0);
	atomic_store(&t.chances, 0);
	atomic_store(&t.yields, 0);
	atomic_store(&t.last_mapped, -1);
	atomic_store(&t.listed_left, UINT64_MAX);
	REQUIRE(pthread_create(&w, NULL, waiter, NULL) == 0);
	tdpmmu_test_set_yield_hook(hook);
	run_op();
	tdpmmu_test_set_yield_hook(NULL);
	pthread_join(w, NULL);

	/* The waiter waited (the hook saw it queued), and got in. */
	CHECK(atomic_load(&t.chances) >= 1);
	CHECK_EQ(atomic_load(&t.waiter_in), 1);
	if (full) {
		/* It was let in at once: with most of the work still to do. */
		CHECK_EQ(atomic_load(&t.yields), 1);
		if (op == OP_ZAP)
			CHECK_EQ(atomic_load(&t.last_mapped), 1);
		else
			CHECK(atomic_load(&t.listed_left) >= NX_BLOCKS - 2);
	} else {
		/* No slice, no yield: it got in after the whole operation. */
		CHECK_EQ(atomic_load(&t.yields), 0);
		if (op == OP_ZAP)
			CHECK_EQ(atomic_load(&t.last_mapped), 0);
		else
			CHECK_EQ(atomic_load(&t.listed_left), 0);
	}
	if (check_failures != failures)
		fprintf(stderr, "  in: %s, %s, preempt %s: chances %u yields %u\n",
			op == OP_ZAP ? "zap" : "nx", tdpmmu_strategy_name(s),
			tdpmmu_preempt_name(p), atomic_load(&t.chances), atomic_load(&t.yields));
	CHECK_EQ(tdpmmu_audit(t.vm), 0);
	tdpmmu_vm_destroy(t.vm);
}

static bool count_yields(bool locked)
{
	if (!locked)
		atomic_fetch_add(&t.yields, 1);
	return false;
}

/* No waiter, a 1 ns slice: every model yields (need_resched). */
static void case_slice(enum op op, enum tdpmmu_strategy s, enum tdpmmu_preempt p)
{
	t.vm = make_vm(op, s, p);
	t.mmu = tdp_vm_mmu(t.vm);
	t.op = op;
	REQUIRE(mmu_lock_set_preempt(&t.mmu->lock, p, 1) == 0);
	atomic_store(&t.yields, 0);
	tdpmmu_test_set_yield_hook(count_yields);
	run_op();
	tdpmmu_test_set_yield_hook(NULL);
	/*
	 * The iterator reads the clock every 64 entries and starts its slice
	 * at the first read (a yield every 128 entries or so); the NX pass
	 * reads it at every table after the first.
	 */
	if (op == OP_ZAP)
		CHECK(atomic_load(&t.yields) >= ZAP_PAGES / 64 / 4);
	else
		CHECK_EQ(atomic_load(&t.yields), NX_BLOCKS - 1);
	CHECK_EQ(tdpmmu_audit(t.vm), 0);
	tdpmmu_vm_destroy(t.vm);
}

static void test_config(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	enum tdpmmu_preempt p = TDPMMU_PREEMPT_NONE;

	tdpmmu_vm_config_init(&cfg);
	CHECK_EQ(cfg.preempt, TDPMMU_PREEMPT_VOLUNTARY);
	cfg.preempt = TDPMMU_NR_PREEMPT;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	cfg.preempt = (enum tdpmmu_preempt)(TDPMMU_NR_PREEMPT + 100);
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	for (int i = 0; i < TDPMMU_NR_PREEMPT; i++) {
		CHECK_EQ(tdpmmu_preempt_parse(tdpmmu_preempt_name((enum tdpmmu_preempt)i), &p), 0);
		CHECK_EQ(p, i);
	}
	CHECK(!tdpmmu_preempt_name(TDPMMU_NR_PREEMPT));
	CHECK_EQ(tdpmmu_preempt_parse("preemptible", &p), -EINVAL);
	CHECK_EQ(tdpmmu_preempt_parse(NULL, &p), -EINVAL);
	CHECK_EQ(p, TDPMMU_PREEMPT_FULL); /* untouched */
}

int main(void)
{
	static const enum tdpmmu_preempt models[] = { TDPMMU_PREEMPT_NONE, TDPMMU_PREEMPT_VOLUNTARY,
						      TDPMMU_PREEMPT_FULL };

	test_config();
	for (unsigned i = 0; i < ARRAY_SIZE(models); i++) {
		case_waiter(OP_ZAP, TDPMMU_STRATEGY_RCU, models[i]);
		case_waiter(OP_NX, TDPMMU_STRATEGY_WRLOCK, models[i]);
		case_waiter(OP_NX, TDPMMU_STRATEGY_RCU, models[i]);
		case_slice(OP_ZAP, TDPMMU_STRATEGY_RCU, models[i]);
		case_slice(OP_NX, TDPMMU_STRATEGY_WRLOCK, models[i]);
	}
	return check_report("test_preempt");
}
