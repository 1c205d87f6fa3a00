/*
 * test_stress.c - concurrent stress of the parallel fault path.
 *
 * Faulting threads map random gfns at 4K/2M/1G caps in a small hot window
 * (so they collide), a flipper thread keeps turning 2M/1G regions from
 * tables into huge leaves and back (huge-over-table and split), and a
 * zapper zaps ranges and everything under the write lock.  Every fault
 * must succeed and every translation seen must point at the right host
 * frame; the MMU itself aborts on any invariant violation it detects
 * (frame change without zap, double retire, walk into a freed table, lock
 * mode).  At the end the tree is audited against the accounting and the
 * host, and teardown proves no table leaked.
 *
 * The run continues past --seconds (up to 10x) until the counters prove
 * the races happened: lost CASes, FROZEN entries met by a fault, tables
 * replaced by huge leaves, huge leaves split.  Delays injected at 1 in 64
 * race windows (tdpmmu_inject; --inject 0 turns them off) keep a removed
 * table's entries FROZEN long enough that faults meet them within seconds
 * under every strategy and sanitizer.
 *
 *   test_stress [--seconds S] [--threads N] [--seed S] [--inject N]
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "lib/util.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"
#include "lib/test_vm.h"

#define GB (1ull << 18)
#define MB2 512ull
/* 2 GiB of 1G-backed memory, then 16 MiB of THP. */
#define HUGE_PAGES (2 * GB)
#define THP_BASE (4 * GB)
#define THP_PAGES (16 * 256ull)

static struct tdpmmu_vm *vm;
static atomic_bool stop;
static atomic_long bad_translations, fault_errors, total_faults, zaps;

static uint64_t hot_gfn(uint64_t *rs)
{
	uint64_t r = test_rand(rs);

	switch (r % 8) {
	case 0: /* anywhere in the 1G-backed memory */
		return test_rand(rs) % HUGE_PAGES;
	case 1: /* the THP slot */
		return THP_BASE + test_rand(rs) % THP_PAGES;
	default: /* four hot 2M blocks in the first 1G page */
		return (test_rand(rs) % 4) * MB2 * 7 + test_rand(rs) % MB2;
	}
}

static void check_translation(uint64_t gfn)
{
	struct tdpmmu_mapping m;
	uint64_t pfn;

	if (tdpmmu_lookup(vm, gfn, &m) || tdpmmu_host_pfn(vm, gfn, &pfn)) {
		atomic_fetch_add(&bad_translations, 1);
		return;
	}
	if (m.present && m.pfn != pfn) {
		fprintf(stderr,
			"gfn 0x%" PRIx64 " maps frame 0x%" PRIx64 ", host has 0x%" PRIx64 "\n", gfn,
			m.pfn, pfn);
		atomic_fetch_add(&bad_translations, 1);
	}
}

static void do_fault(struct tdpmmu_vcpu *v, uint64_t gfn, int cap, unsigned access)
{
	int r = tdpmmu_fault(v, gfn, access, cap, NULL);

	if (r) {
		fprintf(stderr, "fault on gfn 0x%" PRIx64 " failed: %d\n", gfn, r);
		atomic_fetch_add(&fault_errors, 1);
	}
	atomic_fetch_add_explicit(&total_faults, 1, memory_order_relaxed);
}

static void *faulter(void *arg)
{
	uint64_t rs = (uint64_t)(uintptr_t)arg;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t gfn = hot_gfn(&rs), r = test_rand(&rs) % 256;
		/* Mostly 4K caps, which split the flipper's huge leaves. */
		int cap = r < 128 ? 1 : r < 230 ? 2 : r < 255 ? 0 : 3;
		/* A quarter are permission faults, which try the lockless fast path. */
		do_fault(v, gfn, cap,
			 (test_rand(&rs) & 1 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ) |
				 (r % 4 == 0 ? TDPMMU_ACCESS_PRESENT : 0));
		check_translation(gfn);
	}
	return NULL;
}

/* Turn hot 2M blocks into tables and back, and now and then a 1G region. */
static void *flipper(void *arg)
{
	uint64_t rs = (uint64_t)(uintptr_t)arg;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t gfn = hot_gfn(&rs);
		bool one_g = test_rand(&rs) % 64 == 0;

		for (int i = 0; i < 4; i++)
			do_fault(v, (gfn & ~(MB2 - 1)) + test_rand(&rs) % MB2, 1,
				 TDPMMU_ACCESS_READ);
		do_fault(v, gfn, one_g ? 3 : 2, TDPMMU_ACCESS_READ);
		check_translation(gfn);
	}
	return NULL;
}

static void *zapper(void *arg)
{
	uint64_t rs = (uint64_t)(uintptr_t)arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t gfn = hot_gfn(&rs), len = 1 + test_rand(&rs) % (2 * MB2);

		if (test_rand(&rs) % 512 == 0)
			REQUIRE(tdpmmu_zap_all(vm) == 0);
		else
			REQUIRE(tdpmmu_zap_range(vm, gfn, gfn + len) == 0);
		atomic_fetch_add(&zaps, 1);
		sched_yield(); /* let readers in between write-side sections */
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int nfaulters = 2;
	uint64_t seed = 1;
	unsigned inject = 64;
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ 0, 0, HUGE_PAGES, TDPMMU_BACKING_HUGETLB_1G, 0 },
		{ 1, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
	};
	pthread_t t[64];
	int n = 0;
	int64_t c[TDPMMU_NR_COUNTERS];
	struct tdpmmu_lock_stats ls;
	uint64_t start, deadline;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nfaulters = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--inject") && i + 1 < argc)
			inject = (unsigned)strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr,
				"usage: %s [--seconds S] [--threads N] [--seed S] [--inject N]\n",
				argv[0]);
			return 2;
		}
	}
	if (nfaulters < 1 || nfaulters > 60 || seconds <= 0) {
		fprintf(stderr, "bad --threads (1..60) or --seconds (> 0)\n");
		return 2;
	}
	tdpmmu_inject(inject, 0);
	test_config_init(&cfg);
	cfg.max_tables = 1 << 18;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));

	for (int i = 0; i < nfaulters; i++)
		pthread_create(&t[n++], NULL, faulter, (void *)(uintptr_t)(seed * 1000 + i + 1));
	pthread_create(&t[n++], NULL, flipper, (void *)(uintptr_t)(seed * 1000 + 101));
	pthread_create(&t[n++], NULL, zapper, (void *)(uintptr_t)(seed * 1000 + 202));

	start = test_now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	for (;;) {
		uint64_t now = test_now_ns();
		bool proven;

		sched_yield();
		if (now < deadline)
			continue;
		tdpmmu_counters_read(vm, c);
		proven = (c[TDPMMU_C_CAS_FAILED] || !test_strategy_has_cas_races(vm)) &&
			 (c[TDPMMU_C_FROZEN_SEEN] || !test_strategy_has_frozen_races(vm)) &&
			 c[TDPMMU_C_TABLES_REPLACED] && c[TDPMMU_C_HUGE_SPLITS] &&
			 test_strategy_path_ran(vm);
		if (proven || now - start > (uint64_t)(10 * seconds * 1e9))
			break;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);

	tdpmmu_counters_read(vm, c);
	tdpmmu_lock_stats_read(vm, &ls);
	printf("test_stress: %.1f s, %d faulters: %ld faults, %ld zaps; cas_failed %lld, "
	       "frozen_seen %lld, frozen_spins %lld, tables_replaced %lld, huge_splits %lld, "
	       "tables_lost_race %lld, fault_retries %lld, tables_freed %lld; lock: %llu reads, "
	       "%llu writes\n",
	       (double)(test_now_ns() - start) / 1e9, nfaulters, atomic_load(&total_faults),
	       atomic_load(&zaps), (long long)c[TDPMMU_C_CAS_FAILED],
	       (long long)c[TDPMMU_C_FROZEN_SEEN], (long long)c[TDPMMU_C_FROZEN_SPINS],
	       (long long)c[TDPMMU_C_TABLES_REPLACED], (long long)c[TDPMMU_C_HUGE_SPLITS],
	       (long long)c[TDPMMU_C_TABLES_LOST_RACE], (long long)c[TDPMMU_C_FAULT_RETRIES],
	       (long long)c[TDPMMU_C_TABLES_FREED], (unsigned long long)ls.reads,
	       (unsigned long long)ls.writes);
	CHECK_EQ(atomic_load(&fault_errors), 0);
	CHECK_EQ(atomic_load(&bad_translations), 0);
	CHECK(c[TDPMMU_C_CAS_FAILED] > 0 || !test_strategy_has_cas_races(vm));
	CHECK(c[TDPMMU_C_FROZEN_SEEN] > 0 || !test_strategy_has_frozen_races(vm));
	CHECK(test_strategy_path_ran(vm));
	CHECK(c[TDPMMU_C_TABLES_REPLACED] > 0);
	CHECK(c[TDPMMU_C_HUGE_SPLITS] > 0);
	{
		struct tdpmmu_reclaim_stats rs;

		tdpmmu_reclaim_stats_read(vm, &rs);
		CHECK(rs.peak_outstanding > 0 && rs.peak_outstanding <= rs.retired);
		CHECK(rs.freed <= rs.retired && rs.outstanding <= rs.peak_outstanding);
	}
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm); /* aborts if any table leaked */
	return check_report("test_stress");
}
