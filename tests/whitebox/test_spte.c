/* test_spte.c - the entry encoding, its constructors and predicates. */
#include "lib/check.h"
#include "mmu/mmu_page.h"
#include "mmu/spte.h"

static void test_layout(void)
{
	CHECK_EQ(SPTE_R, 1);
	CHECK_EQ(SPTE_W, 2);
	CHECK_EQ(SPTE_X, 4);
	CHECK_EQ(SPTE_LARGE, 1 << 7);
	CHECK_EQ(SPTE_ACCESSED, 1 << 8);
	CHECK_EQ(SPTE_DIRTY, 1 << 9);
	CHECK(spte_is_frozen(SPTE_FROZEN));
	CHECK(!spte_is_present(SPTE_FROZEN));
	CHECK(!spte_is_present(SPTE_NONPRESENT));
	CHECK(!spte_is_frozen(SPTE_NONPRESENT));
	/* FROZEN is exact equality: FROZEN plus any bit is not FROZEN. */
	CHECK(!spte_is_frozen(SPTE_FROZEN | SPTE_R));
	CHECK(!spte_is_frozen(SPTE_FROZEN & ~SPTE_NONPRESENT));
	CHECK_EQ(spte_pfn(SPTE_FROZEN), 0);
	CHECK_EQ(spte_pfn(SPTE_POISON), 0);
	CHECK(!spte_is_present(SPTE_POISON));
	/* MMIO entries: not present, not FROZEN or POISON, and the generation round-trips. */
	CHECK(!spte_is_mmio(SPTE_FROZEN) && !spte_is_mmio(SPTE_POISON));
	CHECK(!spte_is_mmio(SPTE_NONPRESENT));
	for (uint64_t gen = 0; gen <= TDP_MMIO_GEN_MASK; gen += 0x1235) {
		tdp_spte_t s = spte_make_mmio(gen);

		CHECK(spte_is_mmio(s) && !spte_is_present(s) && !spte_is_frozen(s));
		CHECK(!spte_is_leaf(s, TDP_LEVEL_4K) && s != SPTE_POISON);
		CHECK_EQ(spte_mmio_gen(s), gen);
		CHECK_EQ(spte_pfn(s), 0);
	}
	CHECK_EQ(spte_mmio_gen(spte_make_mmio(TDP_MMIO_GEN_MASK + 1)), 0); /* 19 bits kept */
	CHECK_EQ(spte_mmio_gen(spte_make_mmio(TDP_MMIO_GEN_MASK)), TDP_MMIO_GEN_MASK);
}

static void test_leaf(void)
{
	uint64_t pfn = 0xabcdef123ull;
	tdp_spte_t s = spte_make_leaf(pfn, TDP_LEVEL_4K,
				      SPTE_MAKE_HOST_WRITABLE | SPTE_MAKE_WRITABLE |
					      SPTE_MAKE_EXEC | SPTE_MAKE_ACCESSED |
					      SPTE_MAKE_DIRTY);

	CHECK(spte_is_present(s));
	CHECK(spte_is_leaf(s, TDP_LEVEL_4K));
	CHECK(!spte_is_large(s));
	CHECK_EQ(spte_pfn(s), pfn);
	CHECK(spte_is_writable(s) && spte_is_mmu_writable(s) && spte_is_host_writable(s));
	CHECK(spte_is_accessed(s) && spte_is_dirty(s));
	CHECK(s & SPTE_X);
	CHECK(spte_writable_bits_consistent(s));
	CHECK(!spte_has_volatile_bits(s, TDP_LEVEL_4K)); /* A and D already set */

	/* Read-only host page: no W, no software writable bits, even if asked. */
	s = spte_make_leaf(pfn, TDP_LEVEL_2M, SPTE_MAKE_WRITABLE | SPTE_MAKE_DIRTY);
	CHECK(!spte_is_writable(s) && !spte_is_mmu_writable(s) && !spte_is_host_writable(s));
	CHECK(!spte_is_dirty(s));
	CHECK(spte_is_large(s));
	CHECK(spte_is_leaf(s, TDP_LEVEL_2M));
	CHECK(!(s & SPTE_X));

	/* Write-protected but MMU-writable: the fast path may set W, so volatile. */
	s = spte_make_leaf(pfn, TDP_LEVEL_4K,
			   SPTE_MAKE_HOST_WRITABLE | SPTE_MAKE_MMU_WRITABLE | SPTE_MAKE_ACCESSED);
	CHECK(!spte_is_writable(s) && spte_is_mmu_writable(s));
	CHECK(spte_has_volatile_bits(s, TDP_LEVEL_4K));
	/* Not accessed: hardware may set A, so volatile. */
	s = spte_make_leaf(pfn, TDP_LEVEL_4K, 0);
	CHECK(spte_has_volatile_bits(s, TDP_LEVEL_4K));
	/* Writable and clean: hardware may set D. */
	s = spte_make_leaf(pfn, TDP_LEVEL_4K,
			   SPTE_MAKE_HOST_WRITABLE | SPTE_MAKE_WRITABLE | SPTE_MAKE_ACCESSED);
	CHECK(spte_has_volatile_bits(s, TDP_LEVEL_4K));

	CHECK(!spte_writable_bits_consistent(SPTE_MMU_PRESENT | SPTE_W));
	CHECK(!spte_writable_bits_consistent(SPTE_MMU_PRESENT | SPTE_MMU_WRITABLE));
	CHECK(spte_writable_bits_consistent(SPTE_MMU_PRESENT | SPTE_HOST_WRITABLE));
}

static void test_nonleaf_and_split(void)
{
	tdp_spte_t t = spte_make_nonleaf(TDP_TABLE_PFN_BASE + 7);
	tdp_spte_t huge = spte_make_leaf(0x40000, TDP_LEVEL_1G,
					 SPTE_MAKE_HOST_WRITABLE | SPTE_MAKE_WRITABLE |
						 SPTE_MAKE_ACCESSED | SPTE_MAKE_DIRTY);

	CHECK(spte_is_present(t));
	CHECK(!spte_is_last(t, TDP_LEVEL_2M));
	CHECK(spte_is_last(t, TDP_LEVEL_4K)); /* level 1 entries are always leaves */
	CHECK(spte_is_accessed(t) && !spte_is_dirty(t));
	CHECK_EQ(spte_pfn(t), TDP_TABLE_PFN_BASE + 7);
	CHECK(!spte_has_volatile_bits(t, TDP_LEVEL_2M));

	for (unsigned i = 0; i < TDP_PTES_PER_TABLE; i += 97) {
		tdp_spte_t c2 = spte_make_split_child(huge, TDP_LEVEL_2M, i);
		tdp_spte_t c1 = spte_make_split_child(c2, TDP_LEVEL_4K, i);

		CHECK_EQ(spte_pfn(c2), 0x40000 + (uint64_t)i * 512);
		CHECK(spte_is_large(c2));
		CHECK_EQ(c2 & ~SPTE_PFN_MASK, huge & ~SPTE_PFN_MASK);
		CHECK_EQ(spte_pfn(c1), spte_pfn(c2) + i);
		CHECK(!spte_is_large(c1));
		CHECK_EQ(c1 & ~(SPTE_PFN_MASK | SPTE_LARGE), huge & ~(SPTE_PFN_MASK | SPTE_LARGE));
	}
}

static void test_geometry(void)
{
	CHECK_EQ(tdp_pages_per_level(TDP_LEVEL_4K), 1);
	CHECK_EQ(tdp_pages_per_level(TDP_LEVEL_2M), TDP_PTES_PER_TABLE);
	CHECK_EQ(tdp_index(0x12345, TDP_LEVEL_4K), 0x12345 & (TDP_PTES_PER_TABLE - 1));
	CHECK_EQ(tdp_align_gfn(0x12345, TDP_LEVEL_2M),
		 0x12345 & ~(uint64_t)(TDP_PTES_PER_TABLE - 1));
	CHECK_EQ(tdp_index((uint64_t)3 << (4 * TDP_PT_BITS), TDP_LEVEL_MAX), 3);
}

int main(void)
{
	test_layout();
	test_leaf();
	test_nonleaf_and_split();
	test_geometry();
	return check_report("test_spte");
}
