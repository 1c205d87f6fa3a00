/*
 * test_reclaim.c - the paths that only one reclamation strategy has, each
 * made to run, with counters and lock state proving it did.
 *
 * Each case builds the seed thread's situation on one vCPU: a 2 MiB region
 * with THP backing is first mapped at 4K (a table under the 2M entry),
 * then faulted without a cap, so the fault replaces the table with a huge
 * leaf and retires it.
 *
 *  llist          a reader holds the read lock while another thread's fault
 *                 retires a table: the fault's drain waits for the write
 *                 lock (its flag is seen raised) and nothing is freed until
 *                 the reader leaves; then one drain frees the table.
 *  llist-trylock  the same, but the fault returns at once (trylock failed,
 *                 the table still waits) and the delayed worker frees it
 *                 after the reader is gone.
 *  wrlock         the fault backs off once and retries with the write lock
 *                 (any unlink under the read lock would BUG), and the table
 *                 is freed before the fault returns.
 *  global         every fault and every other locked operation takes the
 *                 write lock: no read acquisition at all.
 *  hold-off       (every list strategy) a thread stays inside a lockless
 *                 walk while another zaps everything: the zap's flush is
 *                 seen in progress and nothing is freed until the walk
 *                 ends; then the flush counts a hold-off wait.
 *  rcu-qsbr       a thread that ran a vCPU and then blocks outside tdpmmu
 *                 does not hold up a grace period: rcu_barrier returns.
 *  pairs          every strategy is the (reclamation policy, fault-lock
 *                 policy) pair mmu/strategy.c says, and a VM built with it
 *                 has exactly those traits.
 *
 * Waiting is always for a condition, with a deadline that fails the test.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "lib/test_vm.h"
#include "mmu/strategy.h"
#include "vm/vm_internal.h"

#define REGION_GFN 512ull /* one 2 MiB block */
#define DEADLINE_NS (30ull * 1000000000ull)

static struct tdpmmu_vm *make_vm(enum tdpmmu_strategy s, struct tdpmmu_vcpu **v)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, 4096, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_vm *vm;

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = s;
	cfg.max_tables = 1 << 12;
	cfg.drain_delay_ms = 20;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, v) == 0);
	return vm;
}

/* A 4K table under the 2M entry of REGION_GFN. */
static void map_small(struct tdpmmu_vcpu *v)
{
	struct tdpmmu_fault_result res;

	REQUIRE(tdpmmu_fault(v, REGION_GFN, TDPMMU_ACCESS_READ, 1, &res) == 0);
	REQUIRE(res.level == 1);
}

static struct tdpmmu_reclaim_stats rstats(struct tdpmmu_vm *vm)
{
	struct tdpmmu_reclaim_stats rs;

	tdpmmu_reclaim_stats_read(vm, &rs);
	return rs;
}

/* Spin (yielding) until @cond holds; fail the test after the deadline. */
#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		uint64_t t0_ = tdp_now_ns();                                                       \
		while (!(cond)) {                                                                  \
			REQUIRE(tdp_now_ns() - t0_ < DEADLINE_NS);                                 \
			sched_yield();                                                             \
		}                                                                                  \
	} while (0)

struct fault_job {
	struct tdpmmu_vcpu *v;
	atomic_bool done;
	int level;
};

/* The huge fault over the table (the retiring one). */
static void *huge_fault(void *arg)
{
	struct fault_job *j = arg;
	struct tdpmmu_fault_result res;

	REQUIRE(tdpmmu_fault(j->v, REGION_GFN, TDPMMU_ACCESS_READ, 0, &res) == 0);
	j->level = res.level;
	atomic_store(&j->done, true);
	return NULL;
}

/* llist and llist-trylock: a reader holds the lock across the retire. */
static void test_drain_waits_for_reader(enum tdpmmu_strategy s)
{
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm = make_vm(s, &v);
	struct tdp_mmu *mmu = tdp_vm_mmu(vm);
	struct fault_job j = { .v = v };
	struct tdpmmu_reclaim_stats rs;
	pthread_t t;

	map_small(v);
	tdp_mmu_lock(mmu, TDP_SHARED); /* the stalled reader */
	REQUIRE(pthread_create(&t, NULL, huge_fault, &j) == 0);
	WAIT_FOR(rstats(vm).retired == 1);
	if (s == TDPMMU_STRATEGY_LLIST) {
		/* The drain raised the writer flag and waits for us. */
		WAIT_FOR(atomic_load(&mmu->lock.writer));
		CHECK(!atomic_load(&j.done));
	} else {
		/* trylock failed: the fault is done while we still read. */
		WAIT_FOR(atomic_load(&j.done));
		CHECK(rstats(vm).trylock_failures >= 1);
	}
	rs = rstats(vm);
	CHECK_EQ(rs.freed, 0);
	CHECK_EQ(rs.outstanding, 1);
	/* Leave without draining ourselves: the drain must be the strategy's own. */
	mmu_lock_release(&mmu->lock, TDP_SHARED);
	pthread_join(t, NULL);
	CHECK_EQ(j.level, 2);
	/* The counts move after the frees: wait for all three. */
	WAIT_FOR(rstats(vm).freed == 1 && rstats(vm).drains >= 1 &&
		 (s != TDPMMU_STRATEGY_LLIST_TRYLOCK || rstats(vm).worker_drains >= 1));
	rs = rstats(vm);
	CHECK_EQ(rs.outstanding, 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	printf("test_reclaim: %s: the drain waited for the reader; drains %llu, trylock "
	       "failures %llu, worker drains %llu\n",
	       tdpmmu_strategy_name(s), (unsigned long long)rs.drains,
	       (unsigned long long)rs.trylock_failures, (unsigned long long)rs.worker_drains);
}

static void test_wrlock_retry(void)
{
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm = make_vm(TDPMMU_STRATEGY_WRLOCK, &v);
	struct fault_job j = { .v = v };
	struct tdpmmu_reclaim_stats rs;
	struct tdpmmu_lock_stats ls0, ls;

	map_small(v);
	tdpmmu_lock_stats_read(vm, &ls0);
	huge_fault(&j);
	rs = rstats(vm);
	tdpmmu_lock_stats_read(vm, &ls);
	CHECK_EQ(j.level, 2);
	CHECK_EQ(rs.write_retries, 1);
	CHECK_EQ(rs.retired, 1);
	CHECK_EQ(rs.freed, 1); /* freed under the write lock, before the fault returned */
	CHECK(ls.vcpu_writes >= ls0.vcpu_writes + 1);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	printf("test_reclaim: wrlock: the fault retried with the write lock and freed the table\n");
}

static void test_global_writes_only(void)
{
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm = make_vm(TDPMMU_STRATEGY_GLOBAL, &v);
	struct fault_job j = { .v = v };
	struct tdpmmu_lock_stats ls;

	map_small(v);
	huge_fault(&j);
	for (uint64_t gfn = 1024; gfn < 1100; gfn++)
		REQUIRE(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	tdpmmu_lock_stats_read(vm, &ls);
	CHECK_EQ(ls.reads, 0);
	CHECK(ls.vcpu_writes >= 3);
	CHECK_EQ(rstats(vm).freed, 1);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	printf("test_reclaim: global: %llu write acquisitions, no read\n",
	       (unsigned long long)ls.writes);
}

struct walker_job {
	struct tdp_mmu *mmu;
	atomic_bool inside, leave;
};

static void *lockless_walker(void *arg)
{
	struct walker_job *w = arg;

	reclaim_lockless_begin(&w->mmu->reclaim);
	atomic_store(&w->inside, true);
	WAIT_FOR(atomic_load(&w->leave));
	reclaim_lockless_end(&w->mmu->reclaim);
	return NULL;
}

static void *zap_everything(void *arg)
{
	struct fault_job *j = arg;

	REQUIRE(tdpmmu_zap_all(j->v->vm) == 0);
	atomic_store(&j->done, true);
	return NULL;
}

static void test_flush_holdoff(enum tdpmmu_strategy s)
{
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm = make_vm(s, &v);
	struct tdp_mmu *mmu = tdp_vm_mmu(vm);
	struct walker_job w = { .mmu = mmu };
	struct fault_job z = { .v = v };
	struct tdpmmu_reclaim_stats rs;
	pthread_t wt, zt;

	map_small(v);
	REQUIRE(pthread_create(&wt, NULL, lockless_walker, &w) == 0);
	WAIT_FOR(atomic_load(&w.inside));
	REQUIRE(pthread_create(&zt, NULL, zap_everything, &z) == 0);
	/* The zap retired the tables and its flush waits for the walker. */
	WAIT_FOR(rstats(vm).retired >= 1 && rstats(vm).holdoff_waits >= 1);
	CHECK_EQ(rstats(vm).freed, 0);
	CHECK(!atomic_load(&z.done));
	atomic_store(&w.leave, true);
	pthread_join(wt, NULL);
	pthread_join(zt, NULL);
	rs = rstats(vm);
	CHECK(rs.holdoff_waits >= 1);
	CHECK_EQ(rs.freed, rs.retired);
	tdpmmu_vm_destroy(vm);
	printf("test_reclaim: %s: a lockless walk held the flush off (%llu waits); %llu tables "
	       "freed after it\n",
	       tdpmmu_strategy_name(s), (unsigned long long)rs.holdoff_waits,
	       (unsigned long long)rs.freed);
}

struct blocked_job {
	struct tdpmmu_vcpu *v;
	pthread_mutex_t m;
	pthread_cond_t c;
	bool ran, release;
};

static bool one_read(void *ctx, struct tdpmmu_access *a)
{
	bool *first = ctx;

	a->gpa = REGION_GFN << 12;
	a->type = TDPMMU_ACCESS_READ;
	return *first ? (*first = false, true) : false;
}

/* Run the vCPU once (registering with QSBR), then block outside tdpmmu. */
static void *run_then_block(void *arg)
{
	struct blocked_job *b = arg;
	bool first = true;

	REQUIRE(tdpmmu_vcpu_run(b->v, one_read, &first, 0) == 0);
	pthread_mutex_lock(&b->m);
	b->ran = true;
	pthread_cond_broadcast(&b->c);
	while (!b->release)
		pthread_cond_wait(&b->c, &b->m);
	pthread_mutex_unlock(&b->m);
	return NULL;
}

static void test_qsbr_blocked_thread(void)
{
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm = make_vm(TDPMMU_STRATEGY_RCU_QSBR, &v);
	struct blocked_job b = { .v = v,
				 .m = PTHREAD_MUTEX_INITIALIZER,
				 .c = PTHREAD_COND_INITIALIZER };
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, run_then_block, &b) == 0);
	pthread_mutex_lock(&b.m);
	while (!b.ran)
		pthread_cond_wait(&b.c, &b.m);
	pthread_mutex_unlock(&b.m);
	/* The vCPU thread is blocked (parked behind b.m, which we have taken since). */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	/* Faults from here use another thread. */
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	CHECK(rstats(vm).retired >= 1);
	reclaim_barrier(&tdp_vm_mmu(vm)->reclaim); /* would hang if the blocked thread stalled it */
	CHECK_EQ(rstats(vm).freed, rstats(vm).retired);
	CHECK(rstats(vm).rcu_callbacks >= 1);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0); /* its TLB still holds the page; the flush is pending */
	pthread_mutex_lock(&b.m);
	b.release = true;
	pthread_cond_broadcast(&b.c);
	pthread_mutex_unlock(&b.m);
	pthread_join(t, NULL);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vm_destroy(vm);
	printf("test_reclaim: rcu-qsbr: a grace period ended while a vCPU thread was blocked\n");
}

static void test_strategy_pairs(void)
{
	static const struct {
		enum tdpmmu_strategy s;
		enum tdp_reclaim_policy reclaim;
		enum tdp_fault_lock fault_lock;
	} want[] = {
		{ TDPMMU_STRATEGY_RCU, TDP_RECLAIM_RCU, TDP_FAULT_LOCK_SHARED },
		{ TDPMMU_STRATEGY_RCU_QSBR, TDP_RECLAIM_RCU_QSBR, TDP_FAULT_LOCK_SHARED },
		{ TDPMMU_STRATEGY_LLIST, TDP_RECLAIM_LIST, TDP_FAULT_LOCK_SHARED },
		{ TDPMMU_STRATEGY_LLIST_TRYLOCK, TDP_RECLAIM_LIST_TRYLOCK, TDP_FAULT_LOCK_SHARED },
		{ TDPMMU_STRATEGY_WRLOCK, TDP_RECLAIM_UNDER_LOCK, TDP_FAULT_LOCK_WRLOCK },
		{ TDPMMU_STRATEGY_GLOBAL, TDP_RECLAIM_UNDER_LOCK, TDP_FAULT_LOCK_GLOBAL },
	};
	enum tdpmmu_strategy parsed;

	CHECK(sizeof(want) / sizeof(want[0]) == TDPMMU_NR_STRATEGIES);
	CHECK(tdp_strategy(TDPMMU_NR_STRATEGIES) == NULL);
	CHECK(tdp_reclaim_traits(TDP_NR_RECLAIM_POLICIES) == NULL);
	CHECK(tdp_fault_lock_traits(TDP_NR_FAULT_LOCKS) == NULL);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct tdp_strategy *st = tdp_strategy(want[i].s);
		const struct tdp_reclaim_traits *rt = tdp_reclaim_traits(want[i].reclaim);
		const struct tdp_fault_lock_traits *ft = tdp_fault_lock_traits(want[i].fault_lock);
		struct tdpmmu_vcpu *v;
		struct tdpmmu_vm *vm;

		REQUIRE(st && rt && ft);
		CHECK_EQ(st->reclaim, want[i].reclaim);
		CHECK_EQ(st->fault_lock, want[i].fault_lock);
		CHECK(tdpmmu_strategy_parse(st->name, &parsed) == 0 && parsed == want[i].s);
		vm = make_vm(want[i].s, &v);
		CHECK_EQ(vm->mmu.reclaim.pol.rcu, rt->rcu);
		CHECK_EQ(vm->mmu.reclaim.pol.qsbr, rt->qsbr);
		CHECK_EQ(vm->mmu.reclaim.pol.drain_trylock, rt->drain_trylock);
		CHECK_EQ(vm->mmu.reclaim.pol.free_under_lock, rt->free_under_lock);
		CHECK_EQ(mmu_lock_is_single(&vm->mmu.lock), ft->single_lock);
		CHECK_EQ(tdp_mmu_fault_mode(&vm->mmu), ft->fault_mode);
		CHECK_EQ(tdp_mmu_unlink_mode(&vm->mmu), ft->unlink_mode);
		CHECK_EQ(rstats(vm).strategy, want[i].s);
		tdpmmu_vm_destroy(vm);
	}
	printf("test_reclaim: pairs: every strategy is its two policies\n");
}

int main(void)
{
	alarm(120); /* a strategy that never frees would hang a case: fail instead */
	test_drain_waits_for_reader(TDPMMU_STRATEGY_LLIST);
	test_drain_waits_for_reader(TDPMMU_STRATEGY_LLIST_TRYLOCK);
	test_wrlock_retry();
	test_global_writes_only();
	for (int s = TDPMMU_STRATEGY_LLIST; s < TDPMMU_NR_STRATEGIES; s++)
		test_flush_holdoff((enum tdpmmu_strategy)s);
	test_qsbr_blocked_thread();
	test_strategy_pairs();
	return check_report("test_reclaim");
}
