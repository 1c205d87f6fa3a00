/*
 * test_notifier.c - MMU notifier: invalidations racing with vCPU faults.
 *
 * vCPU threads run guest programs that read and write pages all over a THP
 * slot (real backing), so they keep faulting, while the churn thread
 * (tdpmmu_churn, tdpmmu/testing.h) invalidates random 2 MiB blocks, gives them new frames
 * (migration: 4K only afterwards, or compaction: 2M again) and ends the
 * invalidation.  After every end, on the churn thread, every gfn of the
 * block is looked up: a present leaf must map the block's current host
 * frame, never the old one (a fault that looked the frame up before or
 * during the invalidation must not have installed it).  The run goes on
 * past --seconds (up to 10x) until faults retried because an invalidation
 * was in progress (notifier_retries) and leaves were found freshly mapped
 * right after an end.  Then the tree is audited against the host.
 *
 * Also the bad input of the notifier API: invalidate_end without begin is
 * -EINVAL and changes nothing, remap outside an invalidation (or outside
 * its range) is -EBUSY, remap of a hugetlb slot is -EINVAL; and the churn
 * thread's own edges: bad ranges, a hugetlb range, running out of frames.
 *
 *   test_notifier [--seconds S] [--vcpus N] [--seed S]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "lib/test_opts.h"
#include "lib/util.h"
#include "tdpmmu/testing.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_vm.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 4

#define THP_BASE (2 * GB_PAGES)
#define THP_PAGES (64 * MB2)  /* 128 MiB, touched as the guests go */
#define CHURN_CYCLES 16384ull /* frame supply: up to 4 MiB of payload per cycle */

static struct tdpmmu_vm *vm;
static atomic_bool stop;
static atomic_long run_errors, stale_leaves, blocks_checked, leaves_after_end;

/* --- the churn's after_end check ------------------------------------------- */

static void check_block(void *ctx, uint64_t blk, uint64_t old_pfn, uint64_t new_pfn)
{
	uint64_t present = 0;

	if (new_pfn == old_pfn) {
		fprintf(stderr, "block 0x%" PRIx64 ": remap kept frame 0x%" PRIx64 "\n", blk,
			old_pfn);
		atomic_fetch_add(&stale_leaves, 1);
	}
	for (uint64_t gfn = blk; gfn < blk + MB2; gfn++) {
		struct tdpmmu_mapping m;
		uint64_t pfn;

		REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
		if (!m.present)
			continue;
		present++;
		REQUIRE(tdpmmu_host_pfn(vm, gfn, &pfn) == 0);
		if (m.pfn != pfn) {
			fprintf(stderr,
				"after end: gfn 0x%" PRIx64 " maps frame 0x%" PRIx64 " (level %d), "
				"host has 0x%" PRIx64 "; block frames were 0x%" PRIx64
				", now 0x%" PRIx64 "%s\n",
				gfn, m.pfn, m.level, pfn, old_pfn, new_pfn,
				m.pfn == old_pfn + (gfn - blk) ? ": the OLD frame" : "");
			atomic_fetch_add(&stale_leaves, 1);
		}
	}
	atomic_fetch_add_explicit(&blocks_checked, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&leaves_after_end, (long)present, memory_order_relaxed);
}

/* --- the vCPUs ---------------------------------------------------------------- */

struct guest {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t rs, n;
	pthread_t thread;
};

static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct guest *g = ctx;
	uint64_t r = test_rand(&g->rs), gfn;

	if (atomic_load_explicit(&stop, memory_order_relaxed) || (++g->n & 0x3fff) == 0)
		return false;
	/* Mostly the churned 4 MiB, so faults meet the churn; sometimes anywhere. */
	if (r % 8)
		gfn = THP_BASE + (r >> 8) % (2 * MB2);
	else
		gfn = THP_BASE + (r >> 8) % THP_PAGES;
	a->gpa = (gfn << 12) + ((r >> 40) % 512) * 8;
	a->type = r & 16 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ;
	a->value = r;
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct guest *g = arg;

	vcpu_run_until(g->v, g->id, guest_next, g, &stop, &run_errors);
	return NULL;
}

static void test_churn_vs_faults(double seconds, int nvcpus, uint64_t seed)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_churn churn = { .after_end = check_block, .discard_old = true };
	struct guest g[MAX_VCPUS];
	struct tdpmmu_vcpu_stats st;
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t start, now, faults = 0, viol = 0;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	/* The slot's frames start at 1 GiB (congruent to its gfn), then the churn's supply. */
	cfg.payload_bytes = (GB_PAGES + THP_PAGES + CHURN_CYCLES * 2 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);

	memset(g, 0, sizeof(g));
	for (int i = 0; i < nvcpus; i++) {
		REQUIRE(tdpmmu_vcpu_create(vm, &g[i].v) == 0);
		g[i].id = i;
		g[i].rs = seed * 4241 + (uint64_t)i + 1;
	}
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&g[i].thread, NULL, vcpu_thread, &g[i]) == 0);
	/* Churn the hot blocks. */
	REQUIRE(tdpmmu_churn_start(&churn, vm, THP_BASE, THP_BASE + 2 * MB2, seed) == 0);

	start = test_now_ns();
	for (;;) {
		bool proven;

		/* The main thread only watches: no sleep is needed for correctness. */
		sched_yield();
		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		tdpmmu_counters_read(vm, c);
		proven = c[TDPMMU_C_NOTIFIER_RETRIES] > 0 && atomic_load(&leaves_after_end) > 0 &&
			 atomic_load(&churn.huge_cycles) > 0 &&
			 atomic_load(&churn.cycles) > atomic_load(&churn.huge_cycles);
		if (proven || now - start > (uint64_t)(10 * seconds * 1e9) ||
		    atomic_load(&run_errors) || atomic_load(&churn.out_of_frames) ||
		    atomic_load(&churn.error))
			break;
	}
	tdpmmu_churn_stop(&churn);
	atomic_store(&stop, true);
	for (int i = 0; i < nvcpus; i++)
		pthread_join(g[i].thread, NULL);
	/* Quiescent: the churn thread is stopped and the vCPU threads joined. */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	tdpmmu_counters_read(vm, c);
	for (int i = 0; i < nvcpus; i++) {
		tdpmmu_vcpu_stats_read(g[i].v, &st);
		faults += st.faults_slow + st.faults_fast;
		viol += st.ept_violations;
	}
	printf("test_notifier: %.1f s, %d vCPUs: %" PRIu64 " churn cycles (%" PRIu64
	       " compactions)%s, %ld blocks checked, %ld leaves seen right after end, "
	       "%ld stale; %" PRIu64 " ept_violations, %" PRIu64 " faults; notifier_retries %lld, "
	       "fault_retries %lld, leaves_zapped %lld, huge_splits %lld, tlb_flush_kicks %lld\n",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, atomic_load(&churn.cycles),
	       atomic_load(&churn.huge_cycles),
	       atomic_load(&churn.out_of_frames) ? " (ran out of frames)" : "",
	       atomic_load(&blocks_checked), atomic_load(&leaves_after_end),
	       atomic_load(&stale_leaves), viol, faults, (long long)c[TDPMMU_C_NOTIFIER_RETRIES],
	       (long long)c[TDPMMU_C_FAULT_RETRIES], (long long)c[TDPMMU_C_LEAVES_ZAPPED],
	       (long long)c[TDPMMU_C_HUGE_SPLITS], (long long)c[TDPMMU_C_TLB_FLUSH_KICKS]);
	CHECK_EQ(atomic_load(&run_errors), 0);
	CHECK_EQ(atomic_load(&churn.error), 0);
	CHECK_EQ(atomic_load(&stale_leaves), 0);
	CHECK(atomic_load(&blocks_checked) > 0);
	CHECK(atomic_load(&leaves_after_end) > 0);
	CHECK(atomic_load(&churn.huge_cycles) > 0);
	CHECK(c[TDPMMU_C_NOTIFIER_RETRIES] > 0);
	/* The churn ended every invalidation it began: nothing is in progress. */
	CHECK_EQ(tdpmmu_invalidate_end(vm, THP_BASE, THP_BASE + MB2), -EINVAL);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vm_destroy(vm);
	vm = NULL;
}

/* --- bad input --------------------------------------------------------------- */

struct snapshot {
	int64_t c[TDPMMU_NR_COUNTERS];
	struct tdpmmu_mapping m[16];
	uint64_t pfn[16];
};

/* clang-format off */
static const uint64_t probe_gfns[16] = {
	0, 1, 511, 512, 4097, GB_PAGES - 1, GB_PAGES, GB_PAGES + 3,
	THP_BASE, THP_BASE + 1, THP_BASE + 700, THP_BASE + 2 * MB2 + 5,
	THP_BASE + 3 * MB2, THP_BASE + 4 * MB2 - 1, THP_BASE + 5 * MB2, THP_BASE + 6 * MB2 + 9,
};
/* clang-format on */

static void snap(struct snapshot *s)
{
	tdpmmu_counters_read(vm, s->c);
	/* Freed by the call_rcu worker whenever a grace period ends: not our state. */
	s->c[TDPMMU_C_TABLES_FREED] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(probe_gfns); i++) {
		REQUIRE(tdpmmu_lookup(vm, probe_gfns[i], &s->m[i]) == 0);
		REQUIRE(tdpmmu_host_pfn(vm, probe_gfns[i], &s->pfn[i]) == 0);
	}
}

#define EXPECT_REJECTED(call, err)                                                                 \
	do {                                                                                       \
		struct snapshot b_, a_;                                                            \
		snap(&b_);                                                                         \
		CHECK_EQ((call), (err));                                                           \
		snap(&a_);                                                                         \
		if (memcmp(&b_, &a_, sizeof(a_))) {                                                \
			fprintf(stderr, "line %d: state changed by a rejected call\n", __LINE__);  \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static void test_bad_input(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ 0, 0, GB_PAGES, TDPMMU_BACKING_HUGETLB_1G, 0 },
		{ 1, GB_PAGES, 2 * MB2, TDPMMU_BACKING_HUGETLB_2M, 0 },
		{ 2, THP_BASE, 8 * MB2, TDPMMU_BACKING_THP, 0 },
	};
	struct tdpmmu_vcpu *v;
	struct tdpmmu_churn churn = { 0 };
	uint64_t pfn;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 10;
	/*
	 * Three slots, each placed at its own 1 GiB of frames; what is left after
	 * the last one is 12 remaps' worth (a remap needs 1024 frames free and
	 * uses 512 to 1024 of them, alignment included).
	 */
	cfg.payload_bytes = (3 * GB_PAGES + 8 * MB2 + 12 * 2 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	for (unsigned i = 0; i < ARRAY_SIZE(probe_gfns); i++)
		REQUIRE(tdpmmu_fault(v, probe_gfns[i], TDPMMU_ACCESS_WRITE, i % 4, NULL) == 0);

	/* end without begin */
	EXPECT_REJECTED(tdpmmu_invalidate_end(vm, THP_BASE, THP_BASE + MB2), -EINVAL);
	/* remap with no invalidation in progress */
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE, THP_BASE + MB2, 0), -EBUSY);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE, THP_BASE + MB2, TDPMMU_REMAP_HUGE), -EBUSY);
	/* malformed */
	EXPECT_REJECTED(tdpmmu_invalidate_begin(vm, THP_BASE, THP_BASE), -EINVAL);
	EXPECT_REJECTED(tdpmmu_invalidate_begin(vm, THP_BASE + 1, THP_BASE), -EINVAL);
	EXPECT_REJECTED(tdpmmu_invalidate_begin(vm, 0, tdpmmu_vm_max_gfn(vm) + 1), -ERANGE);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE, THP_BASE + MB2, 2), -EINVAL);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE + MB2, THP_BASE, 0), -EINVAL);

	/* Inside an invalidation of one THP block. */
	REQUIRE(tdpmmu_invalidate_begin(vm, THP_BASE + 2 * MB2, THP_BASE + 3 * MB2) == 0);
	/* ... a range it does not cover */
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE + 3 * MB2, THP_BASE + 4 * MB2, 0), -EBUSY);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE + 2 * MB2, THP_BASE + 3 * MB2 + 1, 0),
			-EBUSY);
	/* ... an end for a range that is not the one in progress */
	EXPECT_REJECTED(tdpmmu_invalidate_end(vm, THP_BASE + 2 * MB2, THP_BASE + 3 * MB2 - 1),
			-EINVAL);
	CHECK_EQ(tdpmmu_invalidate_end(vm, THP_BASE + 2 * MB2, THP_BASE + 3 * MB2), 0);

	/* hugetlb slots, inside an invalidation that covers them */
	REQUIRE(tdpmmu_invalidate_begin(vm, 0, GB_PAGES + 2 * MB2) == 0);
#define END_HUGETLB() CHECK_EQ(tdpmmu_invalidate_end(vm, 0, GB_PAGES + 2 * MB2), 0)
	EXPECT_REJECTED(tdpmmu_host_remap(vm, 0, MB2, 0), -EINVAL);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, 5 * MB2, 6 * MB2, TDPMMU_REMAP_HUGE), -EINVAL);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, GB_PAGES, GB_PAGES + MB2, 0), -EINVAL);
	/* a range over two hugetlb slots */
	EXPECT_REJECTED(tdpmmu_host_remap(vm, GB_PAGES - MB2, GB_PAGES + MB2, 0), -EINVAL);
	END_HUGETLB();
	/* no memslot there */
	REQUIRE(tdpmmu_invalidate_begin(vm, 3 * GB_PAGES, 3 * GB_PAGES + MB2) == 0);
	EXPECT_REJECTED(tdpmmu_host_remap(vm, 3 * GB_PAGES, 3 * GB_PAGES + MB2, 0), -ENOENT);
	CHECK_EQ(tdpmmu_invalidate_end(vm, 3 * GB_PAGES, 3 * GB_PAGES + MB2), 0);

	/* Nested invalidations: two begins, two ends, then none left. */
	REQUIRE(tdpmmu_invalidate_begin(vm, THP_BASE, THP_BASE + MB2) == 0);
	REQUIRE(tdpmmu_invalidate_begin(vm, THP_BASE + 4 * MB2, THP_BASE + 5 * MB2) == 0);
	REQUIRE(tdpmmu_host_pfn(vm, THP_BASE + 4 * MB2, &pfn) == 0);
	/* Only one of them covers a range between the two: no remap there. */
	EXPECT_REJECTED(tdpmmu_host_remap(vm, THP_BASE + 2 * MB2, THP_BASE + 3 * MB2, 0), -EBUSY);
	CHECK_EQ(tdpmmu_host_remap(vm, THP_BASE + 4 * MB2, THP_BASE + 5 * MB2, 0), 0);
	CHECK_EQ(tdpmmu_invalidate_end(vm, THP_BASE, THP_BASE + MB2), 0);
	CHECK_EQ(tdpmmu_invalidate_end(vm, THP_BASE + 4 * MB2, THP_BASE + 5 * MB2), 0);
	EXPECT_REJECTED(tdpmmu_invalidate_end(vm, THP_BASE, THP_BASE + MB2), -EINVAL);
	{
		uint64_t now_pfn;

		REQUIRE(tdpmmu_host_pfn(vm, THP_BASE + 4 * MB2, &now_pfn) == 0);
		CHECK(now_pfn != pfn);
		CHECK(now_pfn % MB2 != 0); /* migrated: misaligned */
	}
	/* A written page keeps its dirty state when migration moves it. */
	{
		const uint64_t g = THP_BASE + 6 * MB2 + 9, blk = THP_BASE + 6 * MB2;
		bool dirty = false;

		REQUIRE(tdpmmu_invalidate_begin(vm, blk, blk + MB2) == 0); /* zaps the dirty leaf */
		REQUIRE(tdpmmu_host_dirty(vm, g, &dirty) == 0);
		CHECK(dirty);
		CHECK_EQ(tdpmmu_host_remap(vm, blk, blk + MB2, 0), 0);
		CHECK_EQ(tdpmmu_invalidate_end(vm, blk, blk + MB2), 0);
		dirty = false;
		REQUIRE(tdpmmu_host_dirty(vm, g, &dirty) == 0);
		CHECK(dirty);
	}
	CHECK_EQ(tdpmmu_audit(vm), 0);

	/* The churn thread's own edges. */
	CHECK_EQ(tdpmmu_churn_start(&churn, vm, THP_BASE + 1, THP_BASE + MB2 + 1, 1), -EINVAL);
	CHECK_EQ(tdpmmu_churn_start(&churn, vm, THP_BASE, THP_BASE, 1), -EINVAL);
	CHECK_EQ(tdpmmu_churn_start(&churn, vm, 3 * GB_PAGES, 3 * GB_PAGES + MB2, 1), -ENOENT);
	/* hugetlb: the thread stops at once with the remap's error */
	REQUIRE(tdpmmu_churn_start(&churn, vm, 0, 4 * MB2, 1) == 0);
	tdpmmu_churn_wait(&churn);
	tdpmmu_churn_stop(&churn); /* idempotent */
	CHECK_EQ(atomic_load(&churn.error), -EINVAL);
	CHECK_EQ(atomic_load(&churn.cycles), 0);
	CHECK_EQ(tdpmmu_invalidate_end(vm, 0, MB2), -EINVAL); /* it ended its invalidation */
	/* Frames run out: the thread stops cleanly and says so. */
	REQUIRE(tdpmmu_churn_start(&churn, vm, THP_BASE, THP_BASE + 8 * MB2, 1) == 0);
	tdpmmu_churn_wait(&churn); /* it stops by itself when frames run out */
	CHECK(atomic_load(&churn.out_of_frames));
	CHECK_EQ(atomic_load(&churn.error), 0);
	/* 11 remaps' worth left, each needing 1024 free and using 512..1024 */
	CHECK(atomic_load(&churn.cycles) >= 10 && atomic_load(&churn.cycles) <= 21);
	CHECK_EQ(tdpmmu_invalidate_end(vm, THP_BASE, THP_BASE + MB2), -EINVAL);
	/* Its log holds what the host now has for the last block it moved. */
	if (atomic_load(&churn.cycles)) {
		const struct tdpmmu_churn_cycle *l =
			&churn.log[(atomic_load(&churn.cycles) - 1) % TDPMMU_CHURN_LOG];

		REQUIRE(tdpmmu_host_pfn(vm, l->blk, &pfn) == 0);
		CHECK_EQ(pfn, l->new_pfn);
		CHECK(l->old_pfn != l->new_pfn);
		CHECK_EQ(!(l->new_pfn % MB2), !!(l->flags & TDPMMU_REMAP_HUGE));
	}
	for (unsigned i = 0; i < ARRAY_SIZE(probe_gfns); i++)
		CHECK_EQ(tdpmmu_fault(v, probe_gfns[i], TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	vm = NULL;
}

/*
 * Deterministic: the fault's own thread remaps the block between the
 * fault's frame lookup and its MMU lock (the test hook in inject.h).  The
 * fault must notice the invalidation, retry and map the new frame; a
 * fault that mapped the frame it looked up first would map a frame the
 * host no longer uses.
 */
static struct tdpmmu_vm *hook_vm;
static int hook_runs;

static void remap_mid_fault(uint64_t gfn)
{
	uint64_t blk = gfn & ~(MB2 - 1);

	if (hook_runs++)
		return; /* the retry goes through untouched */
	REQUIRE(tdpmmu_invalidate_begin(hook_vm, blk, blk + MB2) == 0);
	REQUIRE(tdpmmu_host_remap(hook_vm, blk, blk + MB2, 0) == 0);
	REQUIRE(tdpmmu_invalidate_end(hook_vm, blk, blk + MB2) == 0);
}

static void test_invalidation_mid_fault(void)
{
	struct tdpmmu_memslot slot = { 0, 0, 4 * MB2, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_fault_result res;
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_mapping m;
	struct tdpmmu_vcpu *v;
	uint64_t gfn = MB2 + 7, pfn;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = (GB_PAGES + 8 * MB2) * 4096ull; /* frames start at 1 GiB */
	REQUIRE(tdpmmu_vm_create(&cfg, &hook_vm) == 0);
	REQUIRE(tdpmmu_memslot_add(hook_vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(hook_vm, &v) == 0);
	tdpmmu_test_set_fault_hook(remap_mid_fault);
	REQUIRE(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_WRITE, 0, &res) == 0);
	tdpmmu_test_set_fault_hook(NULL);
	CHECK_EQ(hook_runs, 2);  /* the first try met the remap, the second mapped */
	CHECK(res.retries >= 1); /* the fault noticed the invalidation */
	REQUIRE(tdpmmu_host_pfn(hook_vm, gfn, &pfn) == 0);
	REQUIRE(tdpmmu_lookup(hook_vm, gfn, &m) == 0);
	CHECK(m.present);
	CHECK_EQ(m.pfn, pfn); /* the new frame, never the one looked up first */
	CHECK_EQ(res.pfn, pfn);
	CHECK_EQ(tdpmmu_audit(hook_vm), 0);
	tdpmmu_vm_destroy(hook_vm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = 3, .seed = 1 };

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	test_invalidation_mid_fault();
	test_bad_input();
	test_churn_vs_faults(o.seconds, o.vcpus, o.seed);
	return check_report("test_notifier");
}
