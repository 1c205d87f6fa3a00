/*
 * test_fault_wait.c - a fault that waits is a quiescent state (issue 19).
 *
 * An invalidation is held in progress on one gfn, and vCPU A (its own
 * thread, in tdpmmu_vcpu_run) touches that gfn: its fault retries for as
 * long as the invalidation lasts, which the vCPU's notifier_retries
 * counter proves.  Meanwhile the main thread keeps retiring page tables:
 * vCPU B faults one 4 KiB page into each of 32 2 MiB blocks (a table
 * each, plus the tables above), and tdpmmu_zap_all retires them all.
 *
 * Under rcu-qsbr, vCPU A's thread is online from its EPT violation until it
 * enters guest mode again.  If its retry loop waited online, no grace
 * period could end while it retried: `freed` would stay where it was and
 * the retired tables would pile up (the bug: 82,419 outstanding after 2 s
 * in the issue).  The assertion: while A is still retrying, a table
 * retired after A started retrying is freed (freed > retired at that
 * moment), and the outstanding tables stay bounded.  Then the
 * invalidation ends and A's access completes.
 *
 * Deterministic: no sleeps; the main thread waits on counters only, stops
 * retiring once LIMIT tables are waiting, and gives up after --seconds (a
 * failure).
 * Runs under every strategy ($TDPMMU_STRATEGY, or --strategy NAME); only
 * rcu-qsbr can fail it, the others free without the vCPU's help.
 *
 *   test_fault_wait [--seconds S] [--strategy NAME]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/util.h"
#include "tdpmmu/testing.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_vm.h"

#define MB2 512ull
#define HELD_GFN 7ull     /* the gfn under the invalidation */
#define BLOCKS 32ull      /* 2 MiB blocks vCPU B maps a page of per round */
#define REGION (MB2 * 64) /* the slot: 128 MiB */
#define LIMIT 8192        /* outstanding tables: the grace periods stopped */

static struct tdpmmu_vm *vm;
static atomic_bool a_done;
static atomic_int a_error;

/* vCPU A's guest: one write to HELD_GFN, then stop. */
static bool held_next(void *ctx, struct tdpmmu_access *a)
{
	int *calls = ctx;

	if ((*calls)++) {
		atomic_store(&a_done, true);
		return false;
	}
	a->gpa = HELD_GFN << 12;
	a->type = TDPMMU_ACCESS_WRITE;
	a->value = 0x5a5a;
	return true;
}

static void *vcpu_a_thread(void *arg)
{
	struct tdpmmu_vcpu *v = arg;
	int calls = 0;
	int r = tdpmmu_vcpu_run(v, held_next, &calls, 0);

	if (r)
		atomic_store(&a_error, r);
	return NULL;
}

static uint64_t a_retries(struct tdpmmu_vcpu *v)
{
	struct tdpmmu_vcpu_stats st;

	tdpmmu_vcpu_stats_read(v, &st);
	return st.notifier_retries;
}

/* One round of table churn: map a page in each block, then zap everything. */
static void retire_round(struct tdpmmu_vcpu *b, uint64_t round)
{
	for (uint64_t i = 0; i < BLOCKS; i++) {
		uint64_t gfn = MB2 * (1 + i) + (round + i) % MB2;

		REQUIRE(tdpmmu_fault(b, gfn, TDPMMU_ACCESS_WRITE, 1, NULL) == 0);
	}
	REQUIRE(tdpmmu_zap_all(vm) == 0);
}

static void test_wait_is_quiescent(double seconds)
{
	struct tdpmmu_memslot slot = { 0, 0, REGION, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_reclaim_stats rs;
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vcpu *a, *b;
	uint64_t start, deadline, retired0, freed0, retries0, rounds = 0, peak = 0;
	pthread_t thread;
	bool freed_after = false;

	test_config_init(&cfg);
	cfg.max_tables = LIMIT + 4096;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &a) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &b) == 0);

	REQUIRE(tdpmmu_invalidate_begin(vm, HELD_GFN, HELD_GFN + 1) == 0);
	REQUIRE(pthread_create(&thread, NULL, vcpu_a_thread, a) == 0);
	start = test_now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	/* A is in its fault, retrying, once it counted a retry. */
	while (a_retries(a) == 0 && !atomic_load(&a_error) && test_now_ns() < deadline)
		sched_yield();
	REQUIRE(a_retries(a) > 0);
	tdpmmu_reclaim_stats_read(vm, &rs);
	retired0 = rs.retired;
	freed0 = rs.freed;
	retries0 = a_retries(a);

	/*
	 * Retire tables until one retired from now on is freed, A retrying;
	 * past LIMIT waiting, only watch (the arena has room for LIMIT more).
	 */
	for (;;) {
		tdpmmu_reclaim_stats_read(vm, &rs);
		if (rs.outstanding > peak)
			peak = rs.outstanding;
		if (rs.freed > retired0) {
			freed_after = true;
			break;
		}
		if (test_now_ns() > deadline)
			break;
		if (rs.outstanding < LIMIT)
			retire_round(b, rounds++);
		else
			sched_yield();
	}
	/* A still retries in the same fault: the invalidation has not ended. */
	while (a_retries(a) == retries0 && !atomic_load(&a_error) &&
	       test_now_ns() < deadline + (uint64_t)(seconds * 1e9))
		sched_yield();
	CHECK(a_retries(a) > retries0);
	CHECK(!atomic_load(&a_done));
	printf("test_fault_wait: strategy %s: vCPU A retried %" PRIu64 " times; %" PRIu64
	       " rounds, %" PRIu64 " tables retired while it retried, freed %" PRIu64 " -> %" PRIu64
	       ", outstanding peak %" PRIu64 ", %.3f s\n",
	       tdpmmu_strategy_name(rs.strategy), a_retries(a), rounds, rs.retired - retired0,
	       freed0, rs.freed, peak, (double)(test_now_ns() - start) / 1e9);
	if (!freed_after)
		fprintf(stderr,
			"test_fault_wait: no table retired after vCPU A started retrying was freed: "
			"%" PRIu64 " outstanding, freed frozen at %" PRIu64
			" (the retry waits online and stops grace periods)\n",
			rs.outstanding, rs.freed);
	CHECK(freed_after); /* the bound: outstanding stops growing once it is */

	REQUIRE(tdpmmu_invalidate_end(vm, HELD_GFN, HELD_GFN + 1) == 0);
	pthread_join(thread, NULL);
	CHECK_EQ(atomic_load(&a_error), 0);
	CHECK(atomic_load(&a_done));
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(a);
	tdpmmu_vcpu_destroy(b);
	tdpmmu_vm_destroy(vm);
	vm = NULL;
}

int main(int argc, char **argv)
{
	double seconds = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--strategy") && i + 1 < argc) {
			setenv("TDPMMU_STRATEGY", argv[++i], 1);
		} else {
			fprintf(stderr, "usage: %s [--seconds S>0] [--strategy NAME]\n", argv[0]);
			return 2;
		}
	}
	if (!(seconds > 0)) {
		fprintf(stderr, "%s: --seconds must be > 0\n", argv[0]);
		return 2;
	}
	test_wait_is_quiescent(seconds);
	return check_report("test_fault_wait");
}
