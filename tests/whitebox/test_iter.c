/*
 * test_iter.c - the pre-order iterator on 4- and 5-level trees: order,
 * coverage, min_level, ranges, and restart after a yield.
 */
#include <errno.h>
#include <string.h>

#include "lib/check.h"
#include "lib/test_vm.h"
#include "mmu/tdp_mmu.h"
#include "mmu/tdp_root.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"
#include "vm/vm_internal.h"

static struct tdpmmu_vm *make_vm(unsigned levels, uint64_t base, uint64_t npages)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = {
		.id = 0, .base_gfn = base, .npages = npages, .backing = TDPMMU_BACKING_HUGETLB_1G
	};
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.levels = levels;
	cfg.max_tables = 4096;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	return vm;
}

struct visit {
	uint64_t gfn;
	int level;
	tdp_spte_t spte;
};

/* Walk [start, end) and record every entry visited; @yield_every > 0 forces restarts. */
static int walk(struct tdp_mmu *mmu, int min_level, uint64_t start, uint64_t end, struct visit *out,
		int max, int yield_every, int *restarts)
{
	struct tdp_iter it;
	int n = 0;

	reclaim_lockless_begin(&mmu->reclaim);
	/* The tests' faults all run on the normal role's root. */
	for_each_tdp_pte_min_level(it, &mmu->arena, tdp_root_find_valid(mmu, TDP_ROLE_NORMAL),
				   min_level, start, end) {
		REQUIRE(n < max);
		out[n].gfn = it.gfn;
		out[n].level = it.level;
		out[n].spte = it.old_spte;
		n++;
		/* A restart must resume at next_last_level_gfn, never behind it. */
		if (yield_every && n % yield_every == 0 && it.level == TDP_LEVEL_4K) {
			it.yielded = true;
			(*restarts)++;
		}
	}
	reclaim_lockless_end(&mmu->reclaim);
	return n;
}

static void check_preorder(const struct visit *v, int n, int root_level)
{
	for (int i = 1; i < n; i++) {
		const struct visit *a = &v[i - 1], *b = &v[i];

		if (spte_is_present(a->spte) && !spte_is_last(a->spte, a->level) &&
		    b->level == a->level - 1) {
			/* Stepped down: the child starts where its parent entry starts. */
			CHECK_EQ(b->gfn, a->gfn);
		} else if (b->level == a->level) {
			/* Stepped side. */
			CHECK_EQ(b->gfn, a->gfn + tdp_pages_per_level(a->level));
		} else {
			/* Stepped up (possibly several levels) or restarted from the root. */
			CHECK(b->level > a->level || b->level == root_level);
			CHECK(b->gfn >= a->gfn);
		}
		CHECK_EQ(b->gfn & (tdp_pages_per_level(b->level) - 1), 0);
	}
}

static void test_tree(unsigned levels, uint64_t base)
{
	struct tdpmmu_vm *vm = make_vm(levels, base, 4ull << 18); /* 4 GiB of 1G backing */
	struct tdp_mmu *mmu = tdp_vm_mmu(vm);
	struct tdpmmu_vcpu *vcpu;
	static struct visit v[1 << 16];
	int64_t c[TDPMMU_NR_COUNTERS];
	int n, leaves = 0, restarts = 0, level_count[TDP_LEVEL_MAX + 1] = { 0 };
	int64_t tables = 0;

	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	/* One 1G leaf, one 2M leaf, three 4K leaves in two tables. */
	REQUIRE(tdpmmu_fault(vcpu, base + 5, TDPMMU_ACCESS_READ, 3, NULL) == 0);
	REQUIRE(tdpmmu_fault(vcpu, base + (1 << 18) + 512 * 3, TDPMMU_ACCESS_READ, 2, NULL) == 0);
	REQUIRE(tdpmmu_fault(vcpu, base + (2 << 18) + 7, TDPMMU_ACCESS_WRITE, 1, NULL) == 0);
	REQUIRE(tdpmmu_fault(vcpu, base + (2 << 18) + 8, TDPMMU_ACCESS_WRITE, 1, NULL) == 0);
	REQUIRE(tdpmmu_fault(vcpu, base + (3 << 18) + 512 * 9 + 1, TDPMMU_ACCESS_READ, 1, NULL) ==
		0);

	/* Full walk: every entry of every reachable table, once, in pre-order. */
	n = walk(mmu, TDP_LEVEL_4K, 0, mmu->max_gfn, v, (int)ARRAY_SIZE(v), 0, NULL);
	check_preorder(v, n, mmu->root_level);
	tdpmmu_counters_read(vm, c);
	for (int l = TDP_LEVEL_4K; l <= TDP_LEVEL_MAX; l++)
		tables += c[TDPMMU_C_TABLES_L1 + l - 1];
	CHECK_EQ(n, tables * TDP_PTES_PER_TABLE);
	for (int i = 0; i < n; i++) {
		level_count[v[i].level]++;
		if (spte_is_leaf(v[i].spte, v[i].level)) {
			uint64_t pfn;

			leaves++;
			CHECK(tdpmmu_host_pfn(vm, v[i].gfn, &pfn) == 0);
			CHECK_EQ(spte_pfn(v[i].spte), pfn);
		}
	}
	CHECK_EQ(leaves, 5);
	CHECK_EQ(level_count[levels], TDP_PTES_PER_TABLE);
	CHECK_EQ(level_count[TDP_LEVEL_4K], 2 * TDP_PTES_PER_TABLE);

	/* min_level stops the descent. */
	n = walk(mmu, TDP_LEVEL_2M, 0, mmu->max_gfn, v, (int)ARRAY_SIZE(v), 0, NULL);
	for (int i = 0; i < n; i++)
		CHECK(v[i].level >= TDP_LEVEL_2M);

	/* A range inside one 4K table visits the path down plus the range. */
	n = walk(mmu, TDP_LEVEL_4K, base + (2 << 18) + 7, base + (2 << 18) + 9, v,
		 (int)ARRAY_SIZE(v), 0, NULL);
	CHECK_EQ(v[n - 1].gfn, base + (2 << 18) + 8);
	CHECK_EQ(v[n - 1].level, TDP_LEVEL_4K);
	CHECK(spte_is_leaf(v[n - 1].spte, TDP_LEVEL_4K));
	CHECK_EQ(n, (int)levels + 1);

	/* Restart from the root after "yields": no leaf lost, none seen twice. */
	n = walk(mmu, TDP_LEVEL_4K, 0, mmu->max_gfn, v, (int)ARRAY_SIZE(v), 100, &restarts);
	CHECK(restarts > 0);
	leaves = 0;
	for (int i = 0; i < n; i++) {
		if (spte_is_leaf(v[i].spte, v[i].level))
			leaves++;
		if (i && v[i].level == TDP_LEVEL_4K && v[i - 1].level == TDP_LEVEL_4K)
			CHECK(v[i].gfn > v[i - 1].gfn);
	}
	CHECK_EQ(leaves, 5);

	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
}

static void test_address_width(void)
{
	struct tdpmmu_vm *vm4 = make_vm(4, 0, 1 << 18), *vm5;
	struct tdpmmu_memslot high = {
		.id = 1, .base_gfn = 1ull << 40, .npages = 1 << 18, .backing = TDPMMU_BACKING_ANON
	};
	struct tdpmmu_mapping m;

	CHECK_EQ(tdpmmu_vm_max_gfn(vm4), 1ull << 36);
	CHECK_EQ(tdpmmu_memslot_add(vm4, &high), -ERANGE);
	CHECK_EQ(tdpmmu_lookup(vm4, 1ull << 36, &m), -ERANGE);
	tdpmmu_vm_destroy(vm4);

	vm5 = make_vm(5, 0, 1 << 18);
	CHECK_EQ(tdpmmu_vm_max_gfn(vm5), 1ull << 45);
	CHECK_EQ(tdpmmu_memslot_add(vm5, &high), 0);
	tdpmmu_vm_destroy(vm5);
}

int main(void)
{
	test_tree(4, 0);
	test_tree(5, 0);
	test_tree(5, 1ull << 40); /* uses root entries a 4-level tree does not have */
	test_address_width();
	return check_report("test_iter");
}
