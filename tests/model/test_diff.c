/*
 * test_diff.c - differential test: random map / zap / huge-over-table /
 * split / zap-all operations on one thread, checked against the exact
 * reference model (ref_model.h; here without logging, tracking or NX).
 * Each fault's level and spurious answer are the model's; periodically and
 * at the end every gfn's translation (level, frame, leaf bits) and the leaf
 * and table counters are compared, and the accounting is audited against a
 * full walk.
 *
 *   test_diff [--ops N] [--seed S]
 */
#include <string.h>

#include "lib/check.h"
#include "lib/test_vm.h"
#include "model/ref_model.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define GB REF_GB /* 4K pages in 1 GiB */
#define MB2 REF_MB2

/* Guest layout: 1 GiB hugetlb-1g, 64 MiB THP at an odd offset, 8 MiB anon. */
#define HUGE_BASE 0ull
#define THP_BASE (GB + 100)
#define THP_PAGES (64 * 256ull)
#define ANON_BASE (2 * GB)
#define ANON_PAGES (8 * 256ull)
#define SPACE (ANON_BASE + ANON_PAGES)

static void compare_leaf_counts(struct tdpmmu_vm *vm)
{
	int64_t c[TDPMMU_NR_COUNTERS];

	tdpmmu_counters_read(vm, c);
	CHECK_EQ(c[TDPMMU_C_LEAVES_4K], ref.nleaves[1]);
	CHECK_EQ(c[TDPMMU_C_LEAVES_2M], ref.nleaves[2]);
	CHECK_EQ(c[TDPMMU_C_LEAVES_1G], ref.nleaves[3]);
	ref_check_leaves(vm, true); /* the table counters too */
}

static uint64_t random_gfn(uint64_t *rs)
{
	switch (test_rand(rs) % 3) {
	case 0:
		return HUGE_BASE + test_rand(rs) % GB;
	case 1:
		return THP_BASE + test_rand(rs) % THP_PAGES;
	default:
		return ANON_BASE + test_rand(rs) % ANON_PAGES;
	}
}

int main(int argc, char **argv)
{
	uint64_t ops = 100000, seed = 1, rs;
	struct tdpmmu_memslot slots[] = {
		{ 0, HUGE_BASE, GB, TDPMMU_BACKING_HUGETLB_1G, 0 },
		{ 1, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
		{ 2, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
	};
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t nmap = 0, nzap = 0, nhuge = 0, nall = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			ops = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--ops N] [--seed S]\n", argv[0]);
			return 2;
		}
	}
	rs = seed * 0x9E3779B97F4A7C15ull + 1;
	ref_init_exact(SPACE, false);
	for (size_t i = 0; i < ARRAY_SIZE(slots); i++)
		REQUIRE(ref_slot_add(&slots[i]) != NULL);
	test_config_init(&cfg);
	cfg.max_tables = 1 << 16;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);

	for (uint64_t op = 1; op <= ops; op++) {
		unsigned kind = (unsigned)(test_rand(&rs) % 100);
		uint64_t gfn = random_gfn(&rs);
		int maxl = ref_max_level(gfn), cap;
		struct tdpmmu_fault_result res;

		if (kind < 60) {
			/*
			 * Fault with a random cap; a small cap inside a huge leaf splits it.
			 * Half of them are permission faults, which try the fast path.
			 */
			bool present = test_rand(&rs) & 1;

			cap = (int)(test_rand(&rs) % 4);
			if (cap == 3 && test_rand(&rs) % 8)
				cap = 2; /* keep 1G mappings rare: each costs the model 256K writes */
			REQUIRE(tdpmmu_fault(vcpu, gfn,
					     TDPMMU_ACCESS_WRITE |
						     (present ? TDPMMU_ACCESS_PRESENT : 0),
					     cap, &res) == 0);
			CHECK_EQ(res.level, ref_fault(gfn, TDPMMU_ACCESS_WRITE, present, cap, 0));
			CHECK_EQ(res.spurious, ref.spurious);
			nmap++;
		} else if (kind < 75) {
			/* Huge over table: fill some 4K entries of a block, then map it huge. */
			if (maxl < 2)
				continue;
			for (int k = 0; k < 3; k++) {
				uint64_t g = (gfn & ~(MB2 - 1)) + test_rand(&rs) % MB2;

				REQUIRE(tdpmmu_fault(vcpu, g, TDPMMU_ACCESS_READ, 1, NULL) == 0);
				ref_fault(g, TDPMMU_ACCESS_READ, false, 1, 0);
			}
			REQUIRE(tdpmmu_fault(vcpu, gfn, TDPMMU_ACCESS_READ, 2, NULL) == 0);
			ref_fault(gfn, TDPMMU_ACCESS_READ, false, 2, 0);
			nhuge++;
		} else if (kind < 97) {
			uint64_t len = 1 + test_rand(&rs) % (kind < 95 ? 1024 : 4 * MB2);

			REQUIRE(tdpmmu_zap_range(vm, gfn, gfn + len) == 0);
			ref_zap(gfn, gfn + len);
			nzap++;
		} else if (kind == 97 && test_rand(&rs) % 16 == 0) {
			REQUIRE(tdpmmu_zap_all(vm) == 0);
			ref_zap_all();
			nall++;
		}
		if (op % 25000 == 0 || op == ops) {
			ref.where = "test_diff";
			CHECK_EQ(ref_check_all(vm), 0);
			CHECK_EQ(tdpmmu_audit(vm), 0);
			compare_leaf_counts(vm);
			if (check_failures)
				break;
		}
	}
	tdpmmu_counters_read(vm, c);
	printf("test_diff: %" PRIu64 " ops (map %" PRIu64 ", huge-over-table %" PRIu64
	       ", zap %" PRIu64 ", zap-all %" PRIu64 "); splits %lld, tables replaced %lld, "
	       "tables freed %lld\n",
	       ops, nmap, nhuge, nzap, nall, (long long)c[TDPMMU_C_HUGE_SPLITS],
	       (long long)c[TDPMMU_C_TABLES_REPLACED], (long long)c[TDPMMU_C_TABLES_RETIRED]);
	/* The paths this test exists for must have run. */
	CHECK(c[TDPMMU_C_HUGE_SPLITS] > 0);
	CHECK(c[TDPMMU_C_TABLES_REPLACED] > 0);
	CHECK(c[TDPMMU_C_LEAVES_ZAPPED] > 0);
	tdpmmu_vm_destroy(vm);
	ref_free();
	return check_report("test_diff");
}
