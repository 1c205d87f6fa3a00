/*
 * test_recover.c - huge-page recovery, both ways (tdpmmu_recover_huge_pages).
 *
 * (a) Single-threaded, exact.  Slots: hugetlb-2m, THP (one block remapped
 *     to misaligned frames inside an invalidation, as a THP split or a
 *     migration would), anon 4K, hugetlb-1g; everything faulted at 4K.
 *     ZAP: exactly the collapsible tables go (8 + 7 + 0 + 1, the 1G one
 *     whole), their gfns read non-present, the misaligned block and the
 *     anon slot keep their 4K leaves, every Dirty bit of a zapped leaf
 *     reaches the host, each table zapped was flushed once (and a call
 *     that zapped nothing did not flush), and refaults map 2M/1G again.
 *     INPLACE: from a fresh 4K mapping with written, clean, partly
 *     faulted, write-protected and empty blocks: every gfn is then mapped
 *     by a 2M (or 1G) leaf with the host's frame, Accessed, Dirty as its
 *     first leaf, writable only if every leaf below was, executable; the
 *     empty table and the misaligned block are left alone; one flush per
 *     call that changed something; a second
 *     pass finds nothing.  Bad input is rejected.  A slot that logs dirty
 *     pages is never collapsed (the API says -EINVAL, the per-table check
 *     skips it), and disabling logging with INPLACE collapses it.  Audit
 *     clean throughout.
 *
 * (b) Concurrent, real backing.  vCPUs keep writing and reading back their
 *     own words in a hugetlb-2m and a THP slot, a churn thread migrates
 *     and compacts the THP slot's blocks, and the main thread loops:
 *     split some blocks down to 4K (faults capped at 4K), then recover a
 *     slot, ZAP and INPLACE in turn.  No read may return anything but the
 *     value last written, nor may the host hold anything else at the end;
 *     the audit and the TLB audit are clean.  The run goes on past
 *     --seconds (up to 10x) until both ways collapsed tables while vCPU
 *     faults were in flight (vCPU slow-fault counts moved during the
 *     recovery call) and reads returned the right value.
 *
 *   test_recover [--seconds S] [--vcpus N] [--words N] [--seed S]
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

/* (a) slots: each slot's frames start at its own GiB of host memory. */
#define H2_ID 0
#define H2_BASE 0ull
#define H2_BLOCKS 8ull
#define THP_ID 1
#define THP_BASE (16 * MB2)
#define THP_BLOCKS 8ull
#define THP_BAD 3ull /* the THP block remapped to misaligned frames */
#define ANON_ID 2
#define ANON_BASE (32 * MB2)
#define ANON_PAGES (2 * MB2)
#define G1_ID 3
#define G1_BASE GB_PAGES
/* Gfns faulted in the 1G slot: in two 2M blocks. */
static const uint64_t g1_off[] = { 0, 1, 513, 1000, 5 * MB2 + 7 };
#define G1_TABLES 3 /* 4K tables they need */

static struct tdpmmu_vm *make_exact_vm(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ H2_ID, H2_BASE, H2_BLOCKS * MB2, TDPMMU_BACKING_HUGETLB_2M, 0 },
		{ THP_ID, THP_BASE, THP_BLOCKS * MB2, TDPMMU_BACKING_THP, 0 },
		{ ANON_ID, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
		{ G1_ID, G1_BASE, GB_PAGES, TDPMMU_BACKING_HUGETLB_1G, 0 },
	};
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	/* Frames: one GiB per slot from 1 GiB on, and a block for the remap. */
	cfg.payload_bytes = (5 * GB_PAGES + 4 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	return vm;
}

static bool is_written(uint64_t gfn)
{
	return gfn % 3 == 0;
}

static void fault_4k(struct tdpmmu_vcpu *v, uint64_t gfn, bool write)
{
	struct tdpmmu_fault_result res;

	REQUIRE(tdpmmu_fault(v, gfn, write ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ, 1, &res) ==
		0);
	REQUIRE(res.level == 1);
}

static int lookup_level(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present ? m.level : 0;
}

/* Every page of slots 0..2 and a few of the 1G slot at 4K; THP block THP_BAD
 * misaligned. */
static void map_all_4k(struct tdpmmu_vm *vm, struct tdpmmu_vcpu *v)
{
	uint64_t bad = THP_BASE + THP_BAD * MB2, pfn;

	REQUIRE(tdpmmu_invalidate_begin(vm, bad, bad + MB2) == 0);
	REQUIRE(tdpmmu_host_remap(vm, bad, bad + MB2, 0) == 0);
	REQUIRE(tdpmmu_invalidate_end(vm, bad, bad + MB2) == 0);
	REQUIRE(tdpmmu_host_pfn(vm, bad, &pfn) == 0);
	CHECK(pfn % MB2 != 0);
	for (uint64_t gfn = H2_BASE; gfn < H2_BASE + H2_BLOCKS * MB2; gfn++)
		fault_4k(v, gfn, is_written(gfn));
	for (uint64_t gfn = THP_BASE; gfn < THP_BASE + THP_BLOCKS * MB2; gfn++)
		fault_4k(v, gfn, is_written(gfn));
	for (uint64_t gfn = ANON_BASE; gfn < ANON_BASE + ANON_PAGES; gfn++)
		fault_4k(v, gfn, is_written(gfn));
	for (unsigned i = 0; i < ARRAY_SIZE(g1_off); i++)
		fault_4k(v, G1_BASE + g1_off[i], is_written(G1_BASE + g1_off[i]));
}

static void test_zap(void)
{
	struct tdpmmu_vm *vm = make_exact_vm();
	struct tdpmmu_vcpu *v;
	int64_t flushes, dropped;
	uint64_t written = 0, bad = 0;
	struct tdpmmu_fault_result res;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	map_all_4k(vm, v);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TABLES_L1), H2_BLOCKS + THP_BLOCKS + 2 + G1_TABLES);

	/* Bad input changes nothing. */
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, 99, TDPMMU_RECOVER_ZAP), -ENOENT);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_NONE), -EINVAL);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, (enum tdpmmu_huge_recovery)7), -EINVAL);
	CHECK_EQ(tdpmmu_recover_huge_pages(NULL, H2_ID, TDPMMU_RECOVER_ZAP), -EINVAL);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TABLES_L1), H2_BLOCKS + THP_BLOCKS + 2 + G1_TABLES);

	/* ZAP freezes each table's entry and flushes before it stores non-present. */
	flushes = test_counter(vm, TDPMMU_C_TLB_FLUSHES);
	dropped = test_counter(vm, TDPMMU_C_DIRTY_LEAVES_DROPPED);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_ZAP), H2_BLOCKS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + H2_BLOCKS);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, THP_ID, TDPMMU_RECOVER_ZAP), THP_BLOCKS - 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + H2_BLOCKS + THP_BLOCKS - 1);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, ANON_ID, TDPMMU_RECOVER_ZAP), 0);
	/* nothing changed: no flush */
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + H2_BLOCKS + THP_BLOCKS - 1);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, G1_ID, TDPMMU_RECOVER_ZAP), 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + H2_BLOCKS + THP_BLOCKS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_COLLAPSIBLE_ZAPPED), H2_BLOCKS + THP_BLOCKS - 1 + 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HUGE_RECOVERED), 0);
	/* Left: the misaligned block's table and the anon slot's two. */
	CHECK_EQ(test_counter(vm, TDPMMU_C_TABLES_L1), 3);

	for (uint64_t gfn = H2_BASE; gfn < ANON_BASE + ANON_PAGES; gfn++) {
		bool zapped =
			gfn < THP_BASE + THP_BLOCKS * MB2 &&
			(gfn < THP_BASE + THP_BAD * MB2 || gfn >= THP_BASE + (THP_BAD + 1) * MB2);
		bool hd = false;

		if ((gfn >= H2_BASE + H2_BLOCKS * MB2 && gfn < THP_BASE) ||
		    (gfn >= THP_BASE + THP_BLOCKS * MB2 && gfn < ANON_BASE))
			continue; /* no slot */
		REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
		if (zapped && is_written(gfn))
			written++;
		if (lookup_level(vm, gfn) != (zapped ? 0 : 1) ||
		    hd != (zapped && is_written(gfn))) {
			if (bad++ < 10)
				fprintf(stderr, "zap: gfn 0x%" PRIx64 ": level %d host dirty %d\n",
					gfn, lookup_level(vm, gfn), hd);
		}
	}
	for (unsigned i = 0; i < ARRAY_SIZE(g1_off); i++) {
		uint64_t gfn = G1_BASE + g1_off[i];
		bool hd = false;

		REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
		written += is_written(gfn);
		CHECK_EQ(lookup_level(vm, gfn), 0);
		CHECK_EQ(hd, is_written(gfn));
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_DIRTY_LEAVES_DROPPED), dropped + (int64_t)written);
	CHECK_EQ(tdpmmu_audit(vm), 0);

	/* The next fault maps huge again. */
	REQUIRE(tdpmmu_fault(v, H2_BASE + 5, TDPMMU_ACCESS_READ, 0, &res) == 0);
	CHECK_EQ(res.level, 2);
	REQUIRE(tdpmmu_fault(v, THP_BASE + 7, TDPMMU_ACCESS_READ, 0, &res) == 0);
	CHECK_EQ(res.level, 2);
	REQUIRE(tdpmmu_fault(v, THP_BASE + THP_BAD * MB2 + 9, TDPMMU_ACCESS_READ, 0, &res) == 0);
	CHECK_EQ(res.level, 1);
	REQUIRE(tdpmmu_fault(v, G1_BASE + 77, TDPMMU_ACCESS_READ, 0, &res) == 0);
	CHECK_EQ(res.level, 3);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	printf("test_recover: zap: %lld tables zapped, %" PRIu64
	       " dirty leaves handed to the host\n",
	       (long long)test_counter(vm, TDPMMU_C_COLLAPSIBLE_ZAPPED), written);
	tdpmmu_vm_destroy(vm);
}

/* A logging slot is never collapsed; disabling logging recovers it
 * (dirty_log.c). */
static void test_logging(void)
{
	struct tdpmmu_vm *vm = make_exact_vm();
	uint64_t end = H2_BASE + H2_BLOCKS * MB2;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	for (uint64_t gfn = H2_BASE; gfn < end; gfn++)
		fault_4k(v, gfn, is_written(gfn));
	REQUIRE(tdpmmu_dirty_log_enable(vm, H2_ID, 0) >= 0);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_ZAP), -EINVAL);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_INPLACE), -EINVAL);
	/* The per-table check, below the API's. */
	CHECK_EQ(tdpmmu_test_recover_range(vm, H2_BASE, end, TDPMMU_RECOVER_ZAP), 0);
	CHECK_EQ(tdpmmu_test_recover_range(vm, H2_BASE, end, TDPMMU_RECOVER_INPLACE), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TABLES_L1), H2_BLOCKS);
	CHECK_EQ(lookup_level(vm, H2_BASE + 5), 1);
	CHECK_EQ(tdpmmu_dirty_log_disable(vm, H2_ID, TDPMMU_RECOVER_INPLACE), H2_BLOCKS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TABLES_L1), 0);
	for (uint64_t b = 0; b < H2_BLOCKS; b++)
		CHECK_EQ(lookup_level(vm, H2_BASE + b * MB2 + 17), 2);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
}

/* What the INPLACE test does to each hugetlb-2m block after mapping it at 4K.
 */
enum { B_WRITTEN_FIRST, B_CLEAN_FIRST, B_PARTIAL, B_WRPROT, B_EMPTY, B_PLAIN };
static const int block_kind[H2_BLOCKS] = { B_WRITTEN_FIRST, B_CLEAN_FIRST, B_PARTIAL, B_WRPROT,
					   B_EMPTY,         B_PLAIN,       B_PLAIN,   B_PLAIN };

static void test_inplace(void)
{
	struct tdpmmu_vm *vm = make_exact_vm();
	struct tdpmmu_vcpu *v;
	int64_t flushes, recovered0;
	uint64_t bad = 0, pfn;
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	map_all_4k(vm, v);
	/* Reshape the hugetlb-2m slot's blocks from "every page, every third
	 * written". */
	REQUIRE(tdpmmu_zap_range(vm, H2_BASE, H2_BASE + H2_BLOCKS * MB2) == 0);
	for (uint64_t b = 0; b < H2_BLOCKS; b++) {
		uint64_t base = H2_BASE + b * MB2;

		switch (block_kind[b]) {
		case B_WRITTEN_FIRST: /* first leaf dirty: the huge leaf is dirty */
			for (uint64_t i = 0; i < MB2; i++)
				fault_4k(v, base + i, i == 0);
			break;
		case B_CLEAN_FIRST: /* a later leaf dirty: its bit goes to the host */
			for (uint64_t i = 0; i < MB2; i++)
				fault_4k(v, base + i, i == 7);
			break;
		case B_PARTIAL: /* the first present leaf is page 100 */
			for (uint64_t i = 100; i < 200; i++)
				fault_4k(v, base + i, i == 100);
			break;
		case B_WRPROT: /* one page write-protected: the huge leaf is not writable */
			for (uint64_t i = 0; i < MB2; i++)
				fault_4k(v, base + i, false);
			CHECK_EQ(tdpmmu_write_protect_gfn(vm, base + 5), 1);
			break;
		case B_EMPTY: /* a table with no leaf: nothing to build from */
			fault_4k(v, base + 3, false);
			REQUIRE(tdpmmu_zap_range(vm, base + 3, base + 4) == 0);
			break;
		default:
			for (uint64_t i = 0; i < MB2; i++)
				fault_4k(v, base + i, is_written(base + i));
		}
	}
	CHECK_EQ(tdpmmu_audit(vm), 0);

	flushes = test_counter(vm, TDPMMU_C_TLB_FLUSHES);
	recovered0 = test_counter(vm, TDPMMU_C_HUGE_RECOVERED);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_INPLACE), H2_BLOCKS - 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + 1);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, THP_ID, TDPMMU_RECOVER_INPLACE), THP_BLOCKS - 1);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, ANON_ID, TDPMMU_RECOVER_INPLACE), 0);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, G1_ID, TDPMMU_RECOVER_INPLACE), 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes + 3);
	CHECK_EQ(test_counter(vm, TDPMMU_C_HUGE_RECOVERED),
		 recovered0 + H2_BLOCKS - 1 + THP_BLOCKS);
	CHECK_EQ(test_counter(vm, TDPMMU_C_COLLAPSIBLE_ZAPPED), 0);
	/* Left: the empty table, the misaligned block's and the anon slot's two. */
	CHECK_EQ(test_counter(vm, TDPMMU_C_TABLES_L1), 4);
	CHECK_EQ(tdpmmu_audit(vm), 0);

	/* hugetlb-2m: every gfn of a recovered block is in a 2M leaf with the host's
	 * frame. */
	for (uint64_t b = 0; b < H2_BLOCKS; b++) {
		uint64_t base = H2_BASE + b * MB2;
		bool want_d = block_kind[b] == B_WRITTEN_FIRST || block_kind[b] == B_PARTIAL ||
			      (block_kind[b] == B_PLAIN && is_written(base));
		bool want_w = block_kind[b] != B_WRPROT;

		for (uint64_t i = 0; i < MB2; i++) {
			uint64_t gfn = base + i;

			REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
			REQUIRE(tdpmmu_host_pfn(vm, gfn, &pfn) == 0);
			if (block_kind[b] == B_EMPTY) {
				if (m.present && bad++ < 10)
					fprintf(stderr,
						"inplace: empty block gfn 0x%" PRIx64 " mapped\n",
						gfn);
				continue;
			}
			if (!m.present || m.level != 2 || m.pfn != pfn ||
			    tdpmmu_spte_pfn(m.spte) != pfn - i || !tdpmmu_spte_accessed(m.spte) ||
			    tdpmmu_spte_dirty(m.spte) != want_d ||
			    tdpmmu_spte_writable(m.spte) != want_w ||
			    tdpmmu_spte_mmu_writable(m.spte) != want_w ||
			    !tdpmmu_spte_host_writable(m.spte) || !(m.spte & TDPMMU_SPTE_X)) {
				if (bad++ < 10)
					fprintf(stderr,
						"inplace: block %" PRIu64 " gfn 0x%" PRIx64
						": present %d level %d spte 0x%016" PRIx64
						" host frame 0x%" PRIx64 "\n",
						b, gfn, m.present, m.level, m.spte, pfn);
			}
		}
	}
	CHECK_EQ(bad, 0);
	/* The Dirty bit of a leaf that was not the first reached the host. */
	{
		bool hd = false;

		REQUIRE(tdpmmu_host_dirty(vm, H2_BASE + 1 * MB2 + 7, &hd) == 0);
		CHECK(hd);
	}
	/* THP: huge but for the misaligned block; anon stays 4K; 1G as one leaf. */
	for (uint64_t b = 0; b < THP_BLOCKS; b++) {
		REQUIRE(tdpmmu_lookup(vm, THP_BASE + b * MB2 + 300, &m) == 0);
		REQUIRE(tdpmmu_host_pfn(vm, THP_BASE + b * MB2 + 300, &pfn) == 0);
		CHECK(m.present);
		CHECK_EQ(m.level, b == THP_BAD ? 1 : 2);
		CHECK_EQ(m.pfn, pfn);
	}
	CHECK_EQ(lookup_level(vm, ANON_BASE + 17), 1);
	REQUIRE(tdpmmu_lookup(vm, G1_BASE + 12345, &m) == 0);
	REQUIRE(tdpmmu_host_pfn(vm, G1_BASE + 12345, &pfn) == 0);
	CHECK(m.present);
	CHECK_EQ(m.level, 3);
	CHECK_EQ(m.pfn, pfn);
	CHECK_EQ(tdpmmu_spte_dirty(m.spte), is_written(G1_BASE)); /* as its first leaf */

	/* Nothing left to do: no change, no flush. */
	flushes = test_counter(vm, TDPMMU_C_TLB_FLUSHES);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_INPLACE), 0);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, G1_ID, TDPMMU_RECOVER_INPLACE), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes);
	/* ZAP still takes the empty table. */
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, H2_ID, TDPMMU_RECOVER_ZAP), 1);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	printf("test_recover: inplace: %lld tables collapsed\n",
	       (long long)test_counter(vm, TDPMMU_C_HUGE_RECOVERED));
	tdpmmu_vm_destroy(vm);
}

/* --- (b) concurrent ------------------------------------------------------ */

#define C_H2_ID 0
#define C_H2_BASE 0ull
#define C_H2_BLOCKS 16ull
#define C_THP_ID 1
#define C_THP_BASE (64 * MB2)
#define C_THP_BLOCKS 16ull
#define CHURN_CYCLES 16384ull

static struct tdpmmu_vm *cvm;
static int nvcpus = 3, nwords = 128;
static struct word_guest guests[MAX_VCPUS];
static atomic_long good_reads; /* the main thread watches it */

/* Each access once it completed: counts the reads that returned the right value. */
static void count_good_read(struct word_guest *g, int j, unsigned type, bool ok)
{
	if (type == TDPMMU_ACCESS_READ && ok)
		atomic_fetch_add_explicit(&good_reads, 1, memory_order_relaxed);
}

static struct word_run run = { .completed = count_good_read }; /* read or write */

static uint64_t vcpu_slow_faults(void)
{
	struct tdpmmu_vcpu_stats st;
	uint64_t n = 0;

	for (int i = 0; i < nvcpus; i++) {
		tdpmmu_vcpu_stats_read(guests[i].v, &st);
		n += st.faults_slow;
	}
	return n;
}

static void test_concurrent(double seconds, uint64_t seed)
{
	struct tdpmmu_vm_config cfg;
	/* Words: half in each slot. */
	const struct word_range ranges[2] = { { C_H2_BASE, C_H2_BLOCKS * MB2 },
					      { C_THP_BASE, C_THP_BLOCKS * MB2 } };
	struct tdpmmu_memslot slots[] = {
		{ C_H2_ID, C_H2_BASE, C_H2_BLOCKS * MB2, TDPMMU_BACKING_HUGETLB_2M, 0 },
		{ C_THP_ID, C_THP_BASE, C_THP_BLOCKS * MB2, TDPMMU_BACKING_THP, 0 },
	};
	struct tdpmmu_churn churn = { .discard_old = true };
	struct tdpmmu_vcpu *shaper;
	uint64_t rs = seed * 7919 + 13, start, passes = 0, splits = 0;
	uint64_t overlapped[2] = { 0, 0 }, got[2] = { 0, 0 }, reads_ok = 0, writes = 0;
	uint64_t host_bad = 0;
	int64_t c[TDPMMU_NR_COUNTERS];
	long shaper_errors = 0;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 13;
	cfg.payload_bytes = (3 * GB_PAGES + CHURN_CYCLES * 2 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &cvm) == 0);
	for (unsigned i = 0; i < ARRAY_SIZE(slots); i++)
		REQUIRE(tdpmmu_memslot_add(cvm, &slots[i]) == 0);
	word_guests_place(guests, nvcpus, nwords, &rs, ranges);
	word_guests_start(guests, nvcpus, cvm, seed, &run);
	REQUIRE(tdpmmu_vcpu_create(cvm, &shaper) == 0);
	REQUIRE(tdpmmu_churn_start(&churn, cvm, C_THP_BASE, C_THP_BASE + C_THP_BLOCKS * MB2,
				   seed) == 0);

	start = test_now_ns();
	for (;;) {
		uint64_t now = test_now_ns(), before;
		int how = (int)(passes % 2); /* 0: ZAP, 1: INPLACE */
		uint32_t slot = (passes / 2) % 2 ? C_THP_ID : C_H2_ID;
		uint64_t base = slot == C_THP_ID ? C_THP_BASE : C_H2_BASE;
		int r;

		if (now - start >= (uint64_t)(seconds * 1e9) &&
		    ((overlapped[0] > 0 && overlapped[1] > 0 && atomic_load(&good_reads) > 0) ||
		     now - start > (uint64_t)(10 * seconds * 1e9) || atomic_load(&run.mismatches) ||
		     atomic_load(&run.run_errors) || atomic_load(&churn.error) ||
		     atomic_load(&churn.out_of_frames)))
			break;
		/* Split a few blocks down to 4K where the words are. */
		for (int k = 0; k < 4; k++) {
			struct word_guest *g = &guests[test_rand(&rs) % (uint64_t)nvcpus];
			uint64_t gfn = g->w[test_rand(&rs) % (uint64_t)g->nwords].gpa >> 12;

			for (int q = 0; q < 3; q++) {
				r = tdpmmu_fault(shaper,
						 (gfn & ~(tdpmmu_level_pages(2) - 1)) +
							 test_rand(&rs) % MB2,
						 TDPMMU_ACCESS_READ, 1, NULL);
				if (r) {
					fprintf(stderr, "split fault: %d\n", r);
					shaper_errors++;
				}
				splits++;
			}
		}
		before = vcpu_slow_faults();
		r = tdpmmu_recover_huge_pages(cvm, slot,
					      how ? TDPMMU_RECOVER_INPLACE : TDPMMU_RECOVER_ZAP);
		if (r < 0) {
			fprintf(stderr, "recover slot %u base 0x%" PRIx64 ": %d\n", slot, base, r);
			shaper_errors++;
		} else {
			got[how] += (uint64_t)r;
			if (r > 0 && vcpu_slow_faults() != before)
				overlapped[how]++;
		}
		passes++;
		sched_yield();
	}
	tdpmmu_churn_stop(&churn);
	atomic_store(&run.stop, true);
	word_guests_join(guests, nvcpus);
	/* Quiescent: churn stopped, vCPU threads joined, this thread made every recovery. */
	CHECK_EQ(tdpmmu_audit_tlbs(cvm), 0);
	host_bad = word_guests_check_host(cvm, guests, nvcpus, &reads_ok, &writes);
	tdpmmu_counters_read(cvm, c);
	printf("test_recover: concurrent: %.1f s, %d vCPUs x %d words: %" PRIu64 " writes, %" PRIu64
	       " reads ok, %ld mismatches, %" PRIu64 " host mismatches; %" PRIu64
	       " passes (%" PRIu64 " split faults), zapped %" PRIu64 " (%" PRIu64
	       " passes during vCPU faults), collapsed %" PRIu64 " (%" PRIu64
	       " passes during vCPU faults); churn %" PRIu64
	       " cycles; collapsible_tables_zapped %lld"
	       ", huge_pages_recovered %lld, huge_splits %lld, cas_failed %lld, "
	       "iter_yields %lld\n",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, nwords, writes, reads_ok,
	       atomic_load(&run.mismatches), host_bad, passes, splits, got[0], overlapped[0],
	       got[1], overlapped[1], atomic_load(&churn.cycles),
	       (long long)c[TDPMMU_C_COLLAPSIBLE_ZAPPED], (long long)c[TDPMMU_C_HUGE_RECOVERED],
	       (long long)c[TDPMMU_C_HUGE_SPLITS], (long long)c[TDPMMU_C_CAS_FAILED],
	       (long long)c[TDPMMU_C_ITER_YIELDS]);
	CHECK_EQ(atomic_load(&run.mismatches), 0);
	CHECK_EQ(host_bad, 0);
	CHECK_EQ(atomic_load(&run.run_errors), 0);
	CHECK_EQ(shaper_errors, 0);
	CHECK_EQ(atomic_load(&churn.error), 0);
	CHECK(reads_ok > 0);
	CHECK(overlapped[0] > 0);
	CHECK(overlapped[1] > 0);
	CHECK_EQ(c[TDPMMU_C_COLLAPSIBLE_ZAPPED], (int64_t)got[0]);
	CHECK_EQ(c[TDPMMU_C_HUGE_RECOVERED], (int64_t)got[1]);
	CHECK_EQ(tdpmmu_audit(cvm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(cvm), 0);
	tdpmmu_vcpu_destroy(shaper);
	tdpmmu_vm_destroy(cvm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1, .words = nwords };

	word_guest_opts(argc, argv, &o, MAX_VCPUS, MAX_WORDS);
	nvcpus = o.vcpus;
	nwords = o.words;
	test_zap();
	test_inplace();
	test_logging();
	test_concurrent(o.seconds, o.seed);
	return check_report("test_recover");
}
