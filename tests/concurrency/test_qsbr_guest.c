/*
 * test_qsbr_guest.c - a vCPU spinning in guest mode does not hold up
 * grace periods (issue 19), and how long they take meanwhile.
 *
 * Under rcu-qsbr a vCPU thread stays online for the whole of
 * tdpmmu_vcpu_run and announces a quiescent state at each guest entry
 * (rcu_qsbr_thread.h).  Guest mode is not an extended quiescent state
 * there: it is bounded instead, by TDPMMU_GUEST_BURST accesses, after
 * which the vCPU leaves guest mode and enters again.  The bug this test
 * catches is a vCPU thread that stays online in guest mode with nothing
 * that ends a grace period until it leaves tdpmmu_vcpu_run.
 *
 * vCPU S (its own thread) reads one gfn over and over: after its first
 * fault every access hits its TLB, so it never takes an EPT violation and
 * never returns from tdpmmu_vcpu_run until told to stop.  Meanwhile the
 * main thread, --rounds times, zaps the other blocks' leaves, maps one
 * 4 KiB page into each of BLOCKS 2 MiB blocks away from S's gfn (a table
 * each: the slot allows 2 MiB) and collapses them into huge leaves in
 * place (tdpmmu_recover_huge_pages), which retires the tables after a TLB
 * flush; the flushes kick S, before the tables are handed to call_rcu.
 * Then it waits until every retired table is freed.  The assertion: each
 * round's tables are freed while S is in tdpmmu_vcpu_run with no EPT
 * violation since its first, within --seconds x 10 (a failure, not a
 * synchronisation: under the bug no grace period can end before S
 * returns, so the wait would be forever), and S goes on making accesses.
 * The time from the collapse's return to the last free is printed, beside
 * the same rounds with S stopped (its thread gone): the grace period's
 * length with a vCPU spinning in guest mode, call_rcu's worker included.
 *
 * Runs under every strategy ($TDPMMU_STRATEGY, or --strategy NAME); only
 * rcu-qsbr can fail it, the others free without the vCPU's help.
 *
 *   test_qsbr_guest [--seconds S] [--strategy NAME] [--rounds N]
 */
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
#define SPIN_GFN 3ull     /* block 0: the only page S touches */
#define BLOCKS 16ull      /* blocks 1..BLOCKS: the tables each round retires */
#define REGION (MB2 * 32) /* the slot: 64 MiB */
#define MAX_ROUNDS 1000

static struct tdpmmu_vm *vm;
static atomic_bool stop;
static atomic_uint_fast64_t spins;
static atomic_int s_error;

/* vCPU S's guest: read SPIN_GFN until told to stop; never blocks. */
static bool spin_next(void *ctx, struct tdpmmu_access *a)
{
	(void)ctx;
	if (atomic_load_explicit(&stop, memory_order_relaxed))
		return false;
	atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
	a->gpa = SPIN_GFN << 12;
	a->type = TDPMMU_ACCESS_READ;
	return true;
}

static void *spinner_thread(void *arg)
{
	int r = tdpmmu_vcpu_run(arg, spin_next, NULL, 0);

	if (r)
		atomic_store(&s_error, r);
	return NULL;
}

static struct tdpmmu_reclaim_stats rstats(void)
{
	struct tdpmmu_reclaim_stats rs;

	tdpmmu_reclaim_stats_read(vm, &rs);
	return rs;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * @rounds times: retire BLOCKS tables (and the tables above them), then
 * wait until all are freed; the waits' lengths go to @ns.  False if one
 * did not end within @limit_ns.
 */
static bool retire_and_wait(struct tdpmmu_vcpu *b, unsigned rounds, uint64_t limit_ns, uint64_t *ns)
{
	for (unsigned r = 0; r < rounds; r++) {
		struct tdpmmu_reclaim_stats rs;
		uint64_t t0, retired;

		REQUIRE(tdpmmu_zap_range(vm, MB2, REGION) == 0);
		for (uint64_t i = 0; i < BLOCKS; i++)
			REQUIRE(tdpmmu_fault(b, MB2 * (1 + i) + (r + i) % MB2, TDPMMU_ACCESS_WRITE,
					     1, NULL) == 0);
		retired = rstats().retired;
		CHECK_EQ(tdpmmu_recover_huge_pages(vm, 0, TDPMMU_RECOVER_INPLACE), (int)BLOCKS);
		CHECK(rstats().retired >= retired + BLOCKS);
		t0 = test_now_ns();
		retired = rstats().retired;
		while ((rs = rstats()).freed < retired && test_now_ns() - t0 < limit_ns)
			sched_yield(); /* only watching */
		ns[r] = test_now_ns() - t0;
		if (rs.freed < retired) {
			fprintf(stderr,
				"test_qsbr_guest: round %u: %" PRIu64 " of %" PRIu64
				" retired tables still not freed after %.1f s while vCPU S spins in "
				"guest mode (no grace period ends)\n",
				r, retired - rs.freed, retired, (double)limit_ns / 1e9);
			return false;
		}
	}
	return true;
}

static void print_waits(const char *what, uint64_t *ns, unsigned n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("test_qsbr_guest: %s: collapse to last free p50 %.1f us, max %.1f us (%u rounds)\n",
	       what, (double)ns[n / 2] / 1e3, (double)ns[n - 1] / 1e3, n);
}

static void test_spinning_guest(double seconds, unsigned rounds)
{
	struct tdpmmu_memslot slot = { 0, 0, REGION, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_vcpu_stats before, after;
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vcpu *s, *b;
	uint64_t limit = (uint64_t)(seconds * 10e9), t0, spins0;
	static uint64_t ns[MAX_ROUNDS];
	pthread_t thread;
	bool ok;

	test_config_init(&cfg);
	cfg.max_tables = 1024;  /* a few rounds of BLOCKS tables, and a small arena */
	cfg.drain_delay_ms = 1; /* llist-trylock: its worker frees soon */
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &s) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &b) == 0);

	REQUIRE(pthread_create(&thread, NULL, spinner_thread, s) == 0);
	/* S spins once it asked for its second access (its fault is behind it). */
	t0 = test_now_ns();
	while (atomic_load(&spins) < 2 && !atomic_load(&s_error) && test_now_ns() - t0 < limit)
		sched_yield();
	REQUIRE(atomic_load(&spins) >= 2);
	tdpmmu_vcpu_stats_read(s, &before);
	spins0 = atomic_load(&spins);

	ok = retire_and_wait(b, rounds, limit, ns);
	tdpmmu_vcpu_stats_read(s, &after);
	/* S is still in guest mode, spinning: it goes on making accesses. */
	t0 = test_now_ns();
	while (atomic_load(&spins) == spins0 && test_now_ns() - t0 < limit)
		sched_yield();
	CHECK(atomic_load(&spins) > spins0);
	/* ...and took no violation: every exit was a kick or a burst's end. */
	CHECK_EQ(after.ept_violations, before.ept_violations);
	CHECK(ok);
	if (ok)
		print_waits("vCPU S spinning in guest mode", ns, rounds);
	printf("test_qsbr_guest: strategy %s: S made %" PRIu64 " accesses, %" PRIu64
	       " guest entries (%" PRIu64 " kicked by the zaps' flushes), %" PRIu64
	       " EPT violations meanwhile\n",
	       tdpmmu_strategy_name(rstats().strategy), after.accesses - before.accesses,
	       after.guest_entries - before.guest_entries, after.kicks - before.kicks,
	       after.ept_violations - before.ept_violations);

	atomic_store(&stop, true);
	pthread_join(thread, NULL);
	CHECK_EQ(atomic_load(&s_error), 0);

	/* The same with S gone, for comparison. */
	if (ok && retire_and_wait(b, rounds, limit, ns))
		print_waits("no vCPU in guest mode", ns, rounds);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(s);
	tdpmmu_vcpu_destroy(b);
	tdpmmu_vm_destroy(vm);
	vm = NULL;
}

int main(int argc, char **argv)
{
	double seconds = 1;
	long rounds = 4;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--strategy") && i + 1 < argc) {
			setenv("TDPMMU_STRATEGY", argv[++i], 1);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = strtol(argv[++i], NULL, 10);
		} else {
			fprintf(stderr,
				"usage: %s [--seconds S>0] [--strategy NAME] [--rounds N]\n",
				argv[0]);
			return 2;
		}
	}
	if (!(seconds > 0)) {
		fprintf(stderr, "%s: --seconds must be > 0\n", argv[0]);
		return 2;
	}
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "%s: --rounds must be 1..%d\n", argv[0], MAX_ROUNDS);
		return 2;
	}
	test_spinning_guest(seconds, (unsigned)rounds);
	return check_report("test_qsbr_guest");
}
