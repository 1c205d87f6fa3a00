/*
 * test_pages.c - the accounting of page-table pages under parallel faults,
 * in both pages modes: LIST (the seed thread's in-use list under the pages
 * lock) and COUNT (upstream's atomic count).
 *
 * For each mode, on a fresh VM: two huge vCPUs fault random 2 MiB blocks
 * of a THP memslot shared between them, first capped at 4K (linking a
 * table under the block, or splitting its huge leaf into one) and then
 * uncapped (a 2M leaf replaces the table, which is unlinked: the seed
 * thread's case), all under the MMU read lock, so tables are linked and
 * unlinked concurrently.  A third vCPU makes execute faults in blocks of
 * its own under the NX mitigation (tables go on the possible-NX list,
 * under the pages lock in both modes) and runs NX recovery passes and
 * range zaps that take them off again.  The main thread audits every
 * millisecond meanwhile, under the write lock, and once at the end: the audit must find the
 * tables accounted in use equal to those a walk of the roots reaches (and,
 * in LIST mode, the list whole and as long), the NX audit must pass, and
 * teardown must find no table accounted, allocated or rooted.
 *
 * Cheap enough for make check's matrix: --seconds S is the budget for the
 * whole test, S/10 per mode (the concurrency matrix passes 1), extended up
 * to 10x until tables were linked, replaced by huge leaves and recovered
 * from the NX list.  The
 * mutant pages-no-lock (LIST list changes without the pages lock) is
 * caught here: delays injected at 1 in --inject N race windows (default
 * 16, one of them between reading and writing the list head) keep two
 * linkers inside the list change at once.
 *
 *   test_pages [--seconds S] [--vcpus 2] [--seed S] [--inject N]
 */
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "lib/check.h"
#include "lib/test_opts.h"
#include "lib/test_vm.h"
#include "lib/util.h"

#define MB2 512ull
#define SHARED_BLOCKS 8ull /* the huge vCPUs' blocks: they collide on them */
#define NX_BLOCKS 8ull     /* the NX vCPU's own blocks, after those */
#define SLOT_PAGES ((SHARED_BLOCKS + NX_BLOCKS) * MB2)
#define SLOT_BASE (1ull << 20)

struct worker {
	struct tdpmmu_vm *vm;
	uint64_t seed;
	bool nx;
	atomic_bool *stop;
	atomic_long *errors;
	pthread_t thread;
};

static void fault(struct worker *w, struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, int cap)
{
	int r = tdpmmu_fault(v, gfn, access, cap, NULL);

	if (r) {
		fprintf(stderr, "fault on gfn 0x%llx failed: %d\n", (unsigned long long)gfn, r);
		atomic_fetch_add(w->errors, 1);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tdpmmu_vcpu *v;
	uint64_t rs = w->seed, n = 0;

	REQUIRE(tdpmmu_vcpu_create(w->vm, &v) == 0);
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		if (w->nx) {
			uint64_t block = SHARED_BLOCKS + test_rand(&rs) % NX_BLOCKS;
			uint64_t gfn = SLOT_BASE + block * MB2 + test_rand(&rs) % MB2;

			fault(w, v, gfn, TDPMMU_ACCESS_EXEC, 0); /* 4K: NX-tracked table */
			if (++n % 16 == 0)
				REQUIRE(tdpmmu_nx_recover(w->vm, 1) >= 0); /* read lock */
			else if (n % 16 == 7) /* under the write lock */
				REQUIRE(tdpmmu_zap_range(w->vm, gfn, gfn + 1) == 0);
		} else {
			uint64_t block = test_rand(&rs) % SHARED_BLOCKS;
			uint64_t gfn = SLOT_BASE + block * MB2 + test_rand(&rs) % MB2;

			fault(w, v, gfn, TDPMMU_ACCESS_WRITE, 1); /* a table under the block */
			fault(w, v, gfn, TDPMMU_ACCESS_WRITE, 0); /* huge over it */
		}
	}
	tdpmmu_vcpu_destroy(v);
	return NULL;
}

static void run_mode(enum tdpmmu_pages_mode mode, double seconds, uint64_t seed)
{
	struct tdpmmu_memslot slot = { 0, SLOT_BASE, SLOT_PAGES, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_vm_config cfg;
	struct worker w[3];
	struct tdpmmu_vm *vm;
	atomic_bool stop = false;
	atomic_long errors = 0;
	int64_t c[TDPMMU_NR_COUNTERS];
	int audits = 0; /* audits that failed during the run */
	uint64_t start = test_now_ns(), budget = (uint64_t)(seconds * 1e9);

	test_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	cfg.pages = mode;
	cfg.nx_huge_pages = true;
	cfg.nx_recovery_period_ms = 0; /* the NX vCPU runs the passes */
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, &slot, 1);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){ .vm = vm,
					.seed = seed * 1000 + (uint64_t)i + 1,
					.nx = i == 2,
					.stop = &stop,
					.errors = &errors };
		REQUIRE(pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0);
	}
	for (;;) {
		uint64_t el = test_now_ns() - start;

		/* Audit as it goes (write lock: nothing is half linked): a broken list shows early. */
		audits += tdpmmu_audit(vm) != 0;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL); /* sets the duration only */
		if (el < budget)
			continue;
		tdpmmu_counters_read(vm, c);
		if ((c[TDPMMU_C_TABLES_REPLACED] > 0 && c[TDPMMU_C_TABLES_LINKED] > 0 &&
		     c[TDPMMU_C_NX_RECOVERED] > 0) ||
		    el > 10 * budget)
			break;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i].thread, NULL);
	tdpmmu_counters_read(vm, c);
	printf("test_pages: %s: %.2f s: tables_linked %lld, tables_replaced %lld, cas_failed "
	       "%lld, frozen_seen %lld, nx_recovered %lld\n",
	       tdpmmu_pages_name(mode), (double)(test_now_ns() - start) / 1e9,
	       (long long)c[TDPMMU_C_TABLES_LINKED], (long long)c[TDPMMU_C_TABLES_REPLACED],
	       (long long)c[TDPMMU_C_CAS_FAILED], (long long)c[TDPMMU_C_FROZEN_SEEN],
	       (long long)c[TDPMMU_C_NX_RECOVERED]);
	CHECK_EQ(atomic_load(&errors), 0);
	CHECK(c[TDPMMU_C_TABLES_LINKED] > 0);
	CHECK(c[TDPMMU_C_TABLES_REPLACED] > 0);
	CHECK(c[TDPMMU_C_NX_RECOVERED] > 0); /* tables went on and off the NX list */
	CHECK_EQ(audits, 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_nx_audit(vm), 0);
	tdpmmu_vm_destroy(vm); /* aborts if a table is still accounted, allocated or rooted */
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 1, .vcpus = 2, .seed = 1 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	enum tdpmmu_pages_mode m;

	tdpmmu_inject(16, 0);
	test_opts_parse(argc, argv, &o, 2);
	/* The mode is validated, and named. */
	tdpmmu_vm_config_init(&cfg);
	CHECK_EQ(cfg.pages, TDPMMU_PAGES_COUNT);
	cfg.pages = TDPMMU_NR_PAGES_MODES;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	CHECK(!tdpmmu_pages_name(TDPMMU_NR_PAGES_MODES));
	CHECK(tdpmmu_pages_parse("list", &m) == 0 && m == TDPMMU_PAGES_LIST);
	CHECK(tdpmmu_pages_parse("count", &m) == 0 && m == TDPMMU_PAGES_COUNT);
	CHECK_EQ(tdpmmu_pages_parse("lists", &m), -EINVAL);

	run_mode(TDPMMU_PAGES_LIST, o.seconds / 10, o.seed);
	run_mode(TDPMMU_PAGES_COUNT, o.seconds / 10, o.seed);
	return check_report("test_pages");
}
