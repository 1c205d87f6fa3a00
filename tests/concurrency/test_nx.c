/*
 * test_nx.c - the NX huge-page mitigation and its recovery.
 *
 * (a) Single-threaded, exact (nx_huge_pages on, no recovery thread, ratio
 *     4).  An execute fault where a 2M page is allowed maps 4K with X and
 *     lists its 4K table (one per block); a read fault maps a 2M leaf
 *     without X, and an execute fault on it splits it into executable 4K
 *     leaves (listed too).  tdpmmu_nx_recover zaps ceil(listed / ratio)
 *     of the oldest tables (ratio 3, then the VM's 4), then ratio 1 empties
 *     the list, and read faults map non-executable 2M leaves again.
 *     In-place huge-page recovery collapses listed tables into
 *     non-executable 2M leaves and takes them off the list; in a slot
 *     that logs dirty pages listed tables are dropped from the list but
 *     not zapped.  The list
 *     audit (tdpmmu_nx_audit) and the tree audit are clean throughout.  A VM
 *     with ratio 0 recovers nothing, a VM without the mitigation lists
 *     nothing and maps executable 2M leaves, a pass over 100 tables
 *     flushes once per break (one forced) and at its end, and a recovery thread with a
 *     10 s period stops at once when the VM goes.
 *
 * (b) Concurrent (real backing).  vCPUs execute, read and write their own
 *     words in a hugetlb-2m slot while the VM's recovery thread runs every
 *     2 ms with ratio 2 and the main thread recovers huge pages in place
 *     and by zapping, in turn (every third pass while the vCPUs do not
 *     execute, so that the list can only shrink).  Every read returns the value
 * last written; at the end the host holds every last value, the list and the
 * tree audit clean, and every vCPU's TLB agrees with the tables (the TLB
 * audit).  The run goes on past --seconds (up to 10x) until the thread
 * zapped listed tables, execute faults split huge leaves, huge-page recovery
 * took listed tables away while vCPUs ran, and reads returned the right value.
 *
 *   test_nx [--seconds S] [--vcpus N] [--words N] [--seed S]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "lib/util.h"
#include "tdpmmu/testing.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_opts.h"
#include "lib/word_guest.h"
#include "lib/test_vm.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 4
#define MAX_WORDS 512
#define BLOCKS 32ull

static struct tdpmmu_vm *make_vm(bool nx, unsigned period_ms, unsigned ratio, uint64_t payload,
				 uint64_t blocks)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, blocks * MB2, TDPMMU_BACKING_HUGETLB_2M, 0 };
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = payload;
	cfg.nx_huge_pages = nx;
	cfg.nx_recovery_period_ms = period_ms;
	cfg.nx_recovery_ratio = ratio;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	return vm;
}

/* Fault @gfn uncapped; returns the level it is mapped at. */
static int fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access)
{
	struct tdpmmu_fault_result res;

	REQUIRE(tdpmmu_fault(v, gfn, access, 0, &res) == 0);
	return res.level;
}

static void check_clean(struct tdpmmu_vm *vm)
{
	CHECK_EQ(tdpmmu_nx_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_NX_TRACKED), (int64_t)tdpmmu_nx_listed(vm));
}

/* Execute-fault one gfn in each of blocks [first, last): each lists one table.
 */
static void exec_blocks(struct tdpmmu_vm *vm, struct tdpmmu_vcpu *v, uint64_t first, uint64_t last)
{
	for (uint64_t b = first; b < last; b++) {
		uint64_t gfn = b * MB2 + 3;
		tdpmmu_spte_t s;
		int level;

		CHECK_EQ(fault(v, gfn, TDPMMU_ACCESS_EXEC), 1);
		s = test_leaf(vm, gfn, &level);
		CHECK_EQ(level, 1);
		CHECK(s & TDPMMU_SPTE_X);
	}
}

/* Forces one break of a pass, at its 64th chance; counts every break. */
static unsigned nx_chances, nx_breaks;

static bool break_at_64(bool locked)
{
	if (!locked) {
		nx_breaks++;
		return false;
	}
	return ++nx_chances == 64;
}

static void test_exact(void)
{
	struct tdpmmu_vm *vm = make_vm(true, 0, 4, 0, BLOCKS);
	struct tdpmmu_vcpu *v;
	tdpmmu_spte_t s;
	int level;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	exec_blocks(vm, v, 0, 8);
	CHECK_EQ(tdpmmu_nx_listed(vm), 8);
	CHECK_EQ(test_counter(vm, TDPMMU_C_NX_TRACKED), 8);
	/* A read fault elsewhere in an NX block maps 4K beside the exec page. */
	CHECK_EQ(fault(v, 0 * MB2 + 100, TDPMMU_ACCESS_READ), 1);
	/* A huge leaf is not executable; executing from it splits it, listed. */
	CHECK_EQ(fault(v, 8 * MB2 + 10, TDPMMU_ACCESS_READ), 2);
	s = test_leaf(vm, 8 * MB2 + 10, &level);
	CHECK_EQ(level, 2);
	CHECK(!(s & TDPMMU_SPTE_X));
	CHECK_EQ(fault(v, 8 * MB2 + 3, TDPMMU_ACCESS_EXEC | TDPMMU_ACCESS_PRESENT), 1);
	s = test_leaf(vm, 8 * MB2 + 3, &level);
	CHECK_EQ(level, 1);
	CHECK(s & TDPMMU_SPTE_X);
	CHECK(test_counter(vm, TDPMMU_C_NX_SPLITS) > 0);
	CHECK_EQ(tdpmmu_nx_listed(vm), 9);
	check_clean(vm);

	/* ceil(9 / 3) = 3 of the oldest: blocks 0, 1, 2. */
	CHECK_EQ(tdpmmu_nx_recover(vm, 3), 3);
	CHECK_EQ(tdpmmu_nx_listed(vm), 6);
	CHECK_EQ(test_counter(vm, TDPMMU_C_NX_RECOVERED), 3);
	for (uint64_t b = 0; b < 9; b++) {
		test_leaf(vm, b * MB2 + 3, &level);
		CHECK_EQ(level, b < 3 ? 0 : 1);
	}
	check_clean(vm);
	/* The VM's ratio, 4: ceil(6 / 4) = 2. */
	CHECK_EQ(tdpmmu_nx_recover(vm, 0), 2);
	CHECK_EQ(tdpmmu_nx_listed(vm), 4);
	/* Ratio 1 empties the list; reads map 2M again, not executable. */
	CHECK_EQ(tdpmmu_nx_recover(vm, 1), 4);
	CHECK_EQ(tdpmmu_nx_listed(vm), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_NX_RECOVERED), 9);
	CHECK_EQ(tdpmmu_nx_recover(vm, 1), 0);
	for (uint64_t b = 0; b < 9; b++) {
		CHECK_EQ(fault(v, b * MB2 + 3, TDPMMU_ACCESS_READ), 2);
		s = test_leaf(vm, b * MB2 + 3, &level);
		CHECK_EQ(level, 2);
		CHECK(!(s & TDPMMU_SPTE_X));
	}
	check_clean(vm);

	/* In-place recovery collapses listed tables into non-executable 2M leaves. */
	exec_blocks(vm, v, 10, 13);
	CHECK_EQ(fault(v, 11 * MB2 + 200, TDPMMU_ACCESS_WRITE), 1);
	CHECK_EQ(tdpmmu_nx_listed(vm), 3);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, 0, TDPMMU_RECOVER_INPLACE), 3);
	CHECK_EQ(tdpmmu_nx_listed(vm), 0);
	for (uint64_t b = 10; b < 13; b++) {
		s = test_leaf(vm, b * MB2 + 3, &level);
		CHECK_EQ(level, 2);
		CHECK(!(s & TDPMMU_SPTE_X));
		CHECK(s & TDPMMU_SPTE_R);
	}
	check_clean(vm);
	/* And zapping them takes them off the list as well. */
	exec_blocks(vm, v, 14, 16);
	CHECK_EQ(tdpmmu_nx_listed(vm), 2);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, 0, TDPMMU_RECOVER_ZAP), 2);
	CHECK_EQ(tdpmmu_nx_listed(vm), 0);
	check_clean(vm);
	/* A logging slot keeps its small pages: popped, not zapped. */
	exec_blocks(vm, v, 16, 18);
	REQUIRE(tdpmmu_dirty_log_enable(vm, 0, 0) >= 0);
	CHECK_EQ(tdpmmu_nx_recover(vm, 1), 0);
	CHECK_EQ(tdpmmu_nx_listed(vm), 0);
	test_leaf(vm, 16 * MB2 + 3, &level);
	CHECK_EQ(level, 1);
	REQUIRE(tdpmmu_dirty_log_disable(vm, 0, TDPMMU_RECOVER_NONE) == 0);
	check_clean(vm);
	/* Bad input. */
	CHECK_EQ(tdpmmu_nx_recover(NULL, 1), -EINVAL);
	CHECK_EQ(tdpmmu_nx_listed(NULL), 0);
	printf("test_nx: exact: nx_forced_small %lld, nx_tables_recovered %lld, "
	       "huge_pages_recovered %lld\n",
	       (long long)test_counter(vm, TDPMMU_C_NX_SPLITS),
	       (long long)test_counter(vm, TDPMMU_C_NX_RECOVERED),
	       (long long)test_counter(vm, TDPMMU_C_HUGE_RECOVERED));
	tdpmmu_vm_destroy(vm);

	/* Ratio 0: nothing recovered. */
	vm = make_vm(true, 0, 0, 0, BLOCKS);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	exec_blocks(vm, v, 0, 2);
	CHECK_EQ(tdpmmu_nx_recover(vm, 0), 0);
	CHECK_EQ(tdpmmu_nx_listed(vm), 2);
	check_clean(vm);
	tdpmmu_vm_destroy(vm);

	/* Mitigation off: executable 2M leaves, nothing listed. */
	vm = make_vm(false, 1000, 60, 0, BLOCKS);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(fault(v, 3, TDPMMU_ACCESS_EXEC), 2);
	s = test_leaf(vm, 3, &level);
	CHECK(s & TDPMMU_SPTE_X);
	CHECK_EQ(tdpmmu_nx_listed(vm), 0);
	check_clean(vm);
	tdpmmu_vm_destroy(vm);

	/*
	 * A pass flushes at each break (flush, unlock, relock) and at its end.
	 * It breaks only when its slice is used up or, under full, when
	 * someone waits (test_preempt): here the yield hook forces one break.
	 */
	vm = make_vm(true, 0, 1, 0, 100);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	exec_blocks(vm, v, 0, 100);
	CHECK_EQ(tdpmmu_nx_listed(vm), 100);
	{
		int64_t flushes = test_counter(vm, TDPMMU_C_TLB_FLUSHES);

		tdpmmu_test_set_yield_hook(break_at_64);
		CHECK_EQ(tdpmmu_nx_recover(vm, 0), 100);
		tdpmmu_test_set_yield_hook(NULL);
		CHECK(nx_breaks >= 1);
		CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + 1 + nx_breaks);
	}
	CHECK_EQ(tdpmmu_nx_listed(vm), 0);
	check_clean(vm);
	tdpmmu_vm_destroy(vm);

	/* A thread sleeping for 10 s leaves at once when asked. */
	{
		uint64_t t0;

		vm = make_vm(true, 10000, 60, 0, BLOCKS);
		t0 = test_now_ns();
		tdpmmu_vm_destroy(vm);
		CHECK(test_now_ns() - t0 < 2000000000ull);
	}
}

/* --- (b) concurrent ------------------------------------------------------ */

static struct tdpmmu_vm *cvm;
static atomic_bool no_exec;
static int nvcpus = 3, nwords = 128;
static struct word_guest guests[MAX_VCPUS];
/* Execute accesses of each guest (its own thread only; a cache line each). */
static struct {
	uint64_t n;
} test_cacheline_aligned execs[MAX_VCPUS];

/* A third of the accesses execute (read while no_exec is set), a third read, a third write. */
static unsigned choose_access(struct word_guest *g)
{
	uint64_t r = test_rand(&g->rs) % 3;

	if (r == 0 && !atomic_load_explicit(&no_exec, memory_order_relaxed)) {
		execs[g->id].n++;
		return TDPMMU_ACCESS_EXEC;
	}
	return r <= 1 ? TDPMMU_ACCESS_READ : TDPMMU_ACCESS_WRITE;
}

static atomic_long good_reads; /* the main thread watches it */

/* Each access once it completed: counts the reads that returned the right value. */
static void count_good_read(struct word_guest *g, int j, unsigned type, bool ok)
{
	if (type == TDPMMU_ACCESS_READ && ok)
		atomic_fetch_add_explicit(&good_reads, 1, memory_order_relaxed);
}

static struct word_run run = { .choose = choose_access, .completed = count_good_read };

static void test_concurrent(double seconds, uint64_t seed)
{
	const struct word_range ranges[2] = { { 0, BLOCKS * MB2 }, { 0, BLOCKS * MB2 } };
	uint64_t rs = seed * 104729 + 5, start, passes = 0, got[2] = { 0, 0 };
	uint64_t reads_ok = 0, writes = 0, execs_all = 0, host_bad = 0, listed;
	int64_t c[TDPMMU_NR_COUNTERS], untracked_by_recovery = 0;
	long errors = 0;

	cvm = make_vm(true, 2, 2, 2 * GB_PAGES * 4096ull, BLOCKS);
	word_guests_place(guests, nvcpus, nwords, &rs, ranges);
	word_guests_start(guests, nvcpus, cvm, seed, &run);

	start = test_now_ns();
	for (;;) {
		uint64_t now = test_now_ns();
		int64_t tracked, recovered;
		int how = (int)(passes % 2), r;
		/* Every third pass runs while no vCPU executes: nothing gets listed. */
		bool quiet = passes % 3 == 2;

		tdpmmu_counters_read(cvm, c);
		if (now - start >= (uint64_t)(seconds * 1e9) &&
		    ((c[TDPMMU_C_NX_RECOVERED] > 0 && c[TDPMMU_C_NX_SPLITS] > 0 &&
		      untracked_by_recovery > 0 && atomic_load(&good_reads) > 0) ||
		     now - start > (uint64_t)(10 * seconds * 1e9) || atomic_load(&run.mismatches) ||
		     atomic_load(&run.run_errors) || errors))
			break;
		/* Huge-page recovery takes listed tables away under the worker's nose. */
		atomic_store(&no_exec, quiet);
		tdpmmu_counters_read(cvm, c);
		tracked = c[TDPMMU_C_NX_TRACKED];
		recovered = c[TDPMMU_C_NX_RECOVERED];
		r = tdpmmu_recover_huge_pages(cvm, 0,
					      how ? TDPMMU_RECOVER_INPLACE : TDPMMU_RECOVER_ZAP);
		if (r < 0) {
			fprintf(stderr, "recover: %d\n", r);
			errors++;
		} else {
			got[how] += (uint64_t)r;
			/*
			 * The list shrank by more than the worker zapped meanwhile
			 * (execute faults only make it grow, and an execute fault
			 * still in flight at the switch only hides a shrink): our
			 * teardown unlisted tables, or the worker popped tables
			 * whose parent entry we had just replaced.
			 */
			tdpmmu_counters_read(cvm, c);
			if (quiet &&
			    tracked - c[TDPMMU_C_NX_TRACKED] > c[TDPMMU_C_NX_RECOVERED] - recovered)
				untracked_by_recovery++;
		}
		passes++;
		sched_yield();
	}
	atomic_store(&run.stop, true);
	word_guests_join(guests, nvcpus);
	/*
	 * Quiescent: vCPU threads joined, this thread made every huge-page
	 * recovery; the VM's NX recovery thread may still run (the TLB audit
	 * takes the write lock and lets its pass finish first).
	 */
	CHECK_EQ(tdpmmu_audit_tlbs(cvm), 0);
	host_bad = word_guests_check_host(cvm, guests, nvcpus, &reads_ok, &writes);
	for (int i = 0; i < nvcpus; i++)
		execs_all += execs[i].n;
	/* The worker still runs: the audits take the write lock. */
	CHECK_EQ(tdpmmu_nx_audit(cvm), 0);
	CHECK_EQ(tdpmmu_audit(cvm), 0);
	tdpmmu_counters_read(cvm, c);
	listed = tdpmmu_nx_listed(cvm);
	printf("test_nx: concurrent: %.1f s, %d vCPUs x %d words: %" PRIu64 " writes, %" PRIu64
	       " reads ok, %" PRIu64 " execs, %ld mismatches, %" PRIu64 " host mismatches; %" PRIu64
	       " recovery passes (zapped %" PRIu64 ", collapsed %" PRIu64
	       ", %lld unlisted tables); "
	       "nx_forced_small %lld, nx_tables_recovered %lld, listed now %" PRIu64
	       ", huge_splits %lld, cas_failed %lld\n",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, nwords, writes, reads_ok, execs_all,
	       atomic_load(&run.mismatches), host_bad, passes, got[0], got[1],
	       (long long)untracked_by_recovery, (long long)c[TDPMMU_C_NX_SPLITS],
	       (long long)c[TDPMMU_C_NX_RECOVERED], listed, (long long)c[TDPMMU_C_HUGE_SPLITS],
	       (long long)c[TDPMMU_C_CAS_FAILED]);
	CHECK_EQ(atomic_load(&run.mismatches), 0);
	CHECK_EQ(host_bad, 0);
	CHECK_EQ(atomic_load(&run.run_errors), 0);
	CHECK_EQ(errors, 0);
	CHECK(reads_ok > 0);
	CHECK(c[TDPMMU_C_NX_RECOVERED] > 0);
	CHECK(c[TDPMMU_C_NX_SPLITS] > 0);
	CHECK(untracked_by_recovery > 0);
	CHECK_EQ(tdpmmu_audit_tlbs(cvm), 0);
	tdpmmu_vm_destroy(cvm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1, .words = nwords };

	word_guest_opts(argc, argv, &o, MAX_VCPUS, MAX_WORDS);
	nvcpus = o.vcpus;
	nwords = o.words;
	test_exact();
	test_concurrent(o.seconds, o.seed);
	return check_report("test_nx");
}
