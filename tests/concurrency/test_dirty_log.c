/*
 * test_dirty_log.c - dirty logging: enable, get, clear, disable.
 *
 * Part 1, single-threaded, against exact expectations: anon, THP and
 * hugetlb-2m slots populated by write faults, then enable with and without
 * eager splitting and with initially-set; through tdpmmu_lookup no leaf in
 * a logging slot is writable (and, after an eager split, every leaf is
 * 4K), except the huge leaves an initially-set enable leaves untouched
 * until a clear covers them (which splits them first with eager
 * splitting); a fault never weakens a leaf that maps its frame; write faults (slow, and fast on a present leaf) set exactly the
 * expected bits; get and clear behave as documented, with and without
 * MANUAL_PROTECT, and re-protect what they report; disable with each way
 * of recovering huge pages; a slot move keeps frames and bitmap.  Every
 * bad input returns its error and changes neither counters nor bitmap.
 *
 * Part 2, KVM's dirty_log_test oracle, in non-manual then manual mode, each
 * in a fresh VM.  vCPUs write the current iteration number into the first
 * 8 bytes of random pages of two logging slots A and B (and execute-read
 * pages of a THP slot X, for the NX mitigation).  The main thread
 * is the harvester: each round it bumps the iteration, waits until every
 * vCPU has started an access after the bump (so every write chosen before
 * has landed: values below iteration - 1 can no longer appear), gets (and
 * in manual mode clears every word it got), then checks every page:
 *   (a) a page that held the iteration last round with its bit clear must
 *       be reported now;
 *   (b) a reported page holds iteration or iteration - 1, unless a vCPU
 *       has a write to it in flight (its fault set the bit, the store has
 *       not landed yet; counted as "excused");
 *   (c) an unreported page holds at most the iteration; if it holds it,
 *       (a) applies next round.
 * Meanwhile a toggler thread disables logging on B (recovering huge pages
 * in place, by zapping, or not at all), lets the vCPUs map it huge again,
 * and re-enables it with eager splitting.  B is checked by (b) and (c)
 * whenever its get succeeds, and by (a) only across rounds in which it
 * was not toggled (a generation count).  The NX recovery thread runs every
 * few ms.  Rounds go on past --seconds (up to 10x) until the counters show
 * that pages were logged, leaves re-protected, fast faults fixed W, huge
 * leaves eagerly split and recovered, and NX tables recovered.
 *
 * D-bit mode (--dirty-mode dbit; both modes run by default, each with
 * its share of --seconds): part 1 checks that enable clears D on 4K
 * leaves and keeps W (W goes from huge leaves), a guest write sets D and
 * is reported exactly, with no fault, after the exit's PML flush, get
 * re-arms exactly what it reported, a write through a TLB entry that
 * cached D before the harvest is logged again (the harvest's flush; the
 * broken build dbit-no-flush fails here), a write through a TLB entry
 * filled by a read sets D through the cached pointer, a full log exits,
 * manual clear re-arms exactly what it clears.  Part 2 runs the same
 * oracle, and must see enables clear D bits while the vCPUs set them
 * (dirty_bits_cleared during the toggler's enables) and the CPU's log
 * carry the writes (pml_entries_logged, pml_flushes).
 *
 *   test_dirty_log [--seconds S] [--vcpus N] [--seed S] [--dirty-mode wrprot|dbit|both]
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "lib/util.h"
#include "lib/test_opts.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"
#include "lib/test_vm.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 8
#define NONE_GFN UINT64_MAX
#define WRITES_PER_WINDOW 256

static void read_counters(struct tdpmmu_vm *vm, int64_t *c)
{
	tdpmmu_counters_read(vm, c);
}

/*
 * Every counter the same, except tables_freed: reclamation frees the
 * tables retired by earlier steps asynchronously (under rcu, on liburcu's
 * call_rcu thread), whenever its grace period ends.
 */
static bool counters_equal(const int64_t *a, const int64_t *b)
{
	bool same = true;

	for (int i = 0; i < TDPMMU_NR_COUNTERS; i++) {
		if (i == TDPMMU_C_TABLES_FREED || a[i] == b[i])
			continue;
		fprintf(stderr, "counter %s changed: %lld -> %lld\n", tdpmmu_counter_name(i),
			(long long)a[i], (long long)b[i]);
		same = false;
	}
	return same;
}

/* ---------------------------------------------------------------- part 1 */

#define P1_ANON 1u
#define P1_THP 2u
#define P1_HUGE 3u
#define P1_MAN 4u
#define P1_RO 5u
#define ANON_BASE 0x1000ull
#define ANON_PAGES 1000ull /* not a multiple of 64 */
#define THP_BASE (64 * MB2)
#define THP_PAGES (4 * MB2)
#define HUGE_BASE (128 * MB2)
#define HUGE_PAGES (4 * MB2)
#define MAN_BASE 0x3000ull
#define MAN_PAGES 100ull
#define RO_BASE 0x4000ull

static int fault(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access)
{
	struct tdpmmu_fault_result res;
	int r = tdpmmu_fault(v, gfn, access, 0, &res);

	return r ? r : res.level;
}

/* Over [base, base + n): leaves present, writable, at 4K; counted. */
struct leaf_census {
	uint64_t present, writable, small, mmu_writable;
};

static struct leaf_census census(struct tdpmmu_vm *vm, uint64_t base, uint64_t n)
{
	struct leaf_census c = { 0 };

	for (uint64_t g = base; g < base + n; g++) {
		struct tdpmmu_mapping m;

		REQUIRE(tdpmmu_lookup(vm, g, &m) == 0);
		if (!m.present)
			continue;
		c.present++;
		c.writable += tdpmmu_spte_writable(m.spte);
		c.mmu_writable += tdpmmu_spte_mmu_writable(m.spte);
		c.small += m.level == TDPMMU_LEVEL_4K;
	}
	return c;
}

static bool is_writable(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present && tdpmmu_spte_writable(m.spte);
}

static int level_of(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present ? m.level : 0;
}

static bool bit(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

static tdpmmu_spte_t spte_of(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present ? m.spte : 0;
}

/* The leaf entries over [base, base + n) into @out. */
static void sptes(struct tdpmmu_vm *vm, uint64_t base, uint64_t n, tdpmmu_spte_t *out)
{
	for (uint64_t g = 0; g < n; g++)
		out[g] = spte_of(vm, base + g);
}

/* Are the leaf entries over [base, base + n) still @before? */
static bool sptes_unchanged(struct tdpmmu_vm *vm, uint64_t base, uint64_t n,
			    const tdpmmu_spte_t *before)
{
	for (uint64_t g = 0; g < n; g++)
		if (spte_of(vm, base + g) != before[g])
			return false;
	return true;
}

/* A fault's result; *spurious: the fault changed nothing. */
static int fault_spurious(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned access, bool *spurious)
{
	struct tdpmmu_fault_result res;
	int r = tdpmmu_fault(v, gfn, access, 0, &res);

	*spurious = !r && res.spurious;
	return r ? r : res.level;
}

/* What a leaf grants, beside its frame and level. */
#define LEAF_BITS                                                                                  \
	(TDPMMU_SPTE_RWX | TDPMMU_SPTE_ACCESSED | TDPMMU_SPTE_DIRTY | TDPMMU_SPTE_HOST_WRITABLE |  \
	 TDPMMU_SPTE_MMU_WRITABLE)

/* Expect @r from @call and no counter change. */
#define EXPECT_NOCHANGE(vm, call, r)                                                               \
	do {                                                                                       \
		int64_t before_[TDPMMU_NR_COUNTERS], after_[TDPMMU_NR_COUNTERS];                   \
		read_counters(vm, before_);                                                        \
		CHECK_EQ((call), (r));                                                             \
		read_counters(vm, after_);                                                         \
		CHECK(counters_equal(before_, after_));                                            \
	} while (0)

static void part1(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ P1_ANON, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
		{ P1_THP, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
		{ P1_HUGE, HUGE_BASE, HUGE_PAGES, TDPMMU_BACKING_HUGETLB_2M, 0 },
		{ P1_MAN, MAN_BASE, MAN_PAGES, TDPMMU_BACKING_ANON, 0 },
		{ P1_RO, RO_BASE, 64, TDPMMU_BACKING_ANON, TDPMMU_MEMSLOT_READONLY },
	};
	uint64_t bm[64], bm2[64], pfns[MAN_PAGES];
	int64_t c0[TDPMMU_NR_COUNTERS], c1[TDPMMU_NR_COUNTERS];
	static tdpmmu_spte_t huge_before[HUGE_PAGES];
	struct tdpmmu_fault_result res;
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm;
	struct leaf_census lc;
	uint64_t bad_leaf, bad_bits;
	tdpmmu_spte_t spte;
	bool spurious;
	int r;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = 8 * GB_PAGES * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);

	/* Populate with write faults: 4K anon, 2M THP and hugetlb. */
	for (uint64_t g = 0; g < ANON_PAGES; g++)
		CHECK_EQ(fault(v, ANON_BASE + g, TDPMMU_ACCESS_WRITE), 1);
	for (uint64_t g = 0; g < MAN_PAGES; g++)
		CHECK_EQ(fault(v, MAN_BASE + g, TDPMMU_ACCESS_WRITE), 1);
	for (uint64_t b = 0; b < 4; b++) {
		CHECK_EQ(fault(v, THP_BASE + b * MB2 + 7, TDPMMU_ACCESS_WRITE), 2);
		CHECK_EQ(fault(v, HUGE_BASE + b * MB2 + 9, TDPMMU_ACCESS_WRITE), 2);
	}
	CHECK_EQ(fault(v, RO_BASE, TDPMMU_ACCESS_READ), 1);

	/* Bad input before anything logs: errors, no change. */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_enable(vm, P1_ANON, 1u << 5), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_enable(vm, P1_ANON, TDPMMU_DIRTY_LOG_INITIALLY_SET),
			-EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_enable(vm, 99, 0), -ENOENT);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_enable(vm, P1_RO, 0), -EROFS);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_get(vm, P1_ANON, bm), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_get(vm, 99, bm), -ENOENT);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_ANON, 0, 1), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_disable(vm, P1_ANON, TDPMMU_RECOVER_NONE), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_disable(vm, 99, TDPMMU_RECOVER_NONE), -ENOENT);
	lc = census(vm, ANON_BASE, ANON_PAGES);
	CHECK_EQ(lc.writable, ANON_PAGES);

	/* Non-manual, no split: every leaf loses W, keeps MMU-writable. */
	read_counters(vm, c0);
	r = tdpmmu_dirty_log_enable(vm, P1_ANON, 0);
	CHECK_EQ(r, ANON_PAGES);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_LEAVES_WRPROT] - c0[TDPMMU_C_LEAVES_WRPROT], ANON_PAGES);
	CHECK(c1[TDPMMU_C_TLB_FLUSHES] > c0[TDPMMU_C_TLB_FLUSHES]);
	lc = census(vm, ANON_BASE, ANON_PAGES);
	CHECK_EQ(lc.present, ANON_PAGES);
	CHECK_EQ(lc.writable, 0);
	CHECK_EQ(lc.mmu_writable, ANON_PAGES);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_enable(vm, P1_ANON, 0), -EBUSY);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_ANON, 0, 1), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_get(vm, P1_ANON, NULL), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_disable(vm, P1_ANON, (enum tdpmmu_huge_recovery)7),
			-EINVAL);
	memset(bm, 0xff, sizeof(bm));
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 0);
	for (unsigned w = 0; w < (ANON_PAGES + 63) / 64; w++)
		CHECK_EQ(bm[w], 0);

	/* Writes: fast path (present leaf), slow path, a read (no bit). */
	read_counters(vm, c0);
	CHECK_EQ(fault(v, ANON_BASE + 3, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	CHECK_EQ(fault(v, ANON_BASE + 999, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	CHECK_EQ(tdpmmu_zap_range(vm, ANON_BASE + 64, ANON_BASE + 66), 0);
	CHECK_EQ(fault(v, ANON_BASE + 64, TDPMMU_ACCESS_WRITE), 1);
	CHECK_EQ(fault(v, ANON_BASE + 65, TDPMMU_ACCESS_READ), 1);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_FAST_FAULTS_FIXED] - c0[TDPMMU_C_FAST_FAULTS_FIXED], 2);
	CHECK(is_writable(vm, ANON_BASE + 3) && is_writable(vm, ANON_BASE + 64) &&
	      is_writable(vm, ANON_BASE + 999) && !is_writable(vm, ANON_BASE + 65));
	/*
	 * A fault on a leaf that already allows the access is spurious and
	 * changes nothing: a read (not a permission fault) on a writable leaf
	 * keeps W; a read or an execute on a read-only one (a read needs only
	 * presence) sets no Accessed that aging took away.
	 */
	read_counters(vm, c0);
	spte = spte_of(vm, ANON_BASE + 64);
	CHECK_EQ(fault_spurious(v, ANON_BASE + 64, TDPMMU_ACCESS_READ, &spurious), 1);
	CHECK(spurious);
	CHECK_EQ(spte_of(vm, ANON_BASE + 64), spte);
	CHECK(spte & TDPMMU_SPTE_W);
	CHECK_EQ(tdpmmu_clear_young(vm, ANON_BASE + 65, ANON_BASE + 66), 1);
	spte = spte_of(vm, ANON_BASE + 65);
	CHECK(!(spte & (TDPMMU_SPTE_W | TDPMMU_SPTE_ACCESSED)) &&
	      (spte & TDPMMU_SPTE_MMU_WRITABLE));
	CHECK_EQ(fault_spurious(v, ANON_BASE + 65, TDPMMU_ACCESS_READ, &spurious), 1);
	CHECK(spurious);
	CHECK_EQ(fault_spurious(v, ANON_BASE + 65, TDPMMU_ACCESS_EXEC, &spurious), 1);
	CHECK(spurious);
	CHECK_EQ(spte_of(vm, ANON_BASE + 65), spte);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_PAGES_LOGGED_DIRTY], c0[TDPMMU_C_PAGES_LOGGED_DIRTY]);
	CHECK_EQ(c1[TDPMMU_C_FAULTS_SPURIOUS] - c0[TDPMMU_C_FAULTS_SPURIOUS], 3);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 3);
	for (uint64_t i = 0; i < ANON_PAGES; i++)
		CHECK_EQ(bit(bm, i), i == 3 || i == 64 || i == 999);
	/* Reported pages are read-only again; the next get is empty. */
	lc = census(vm, ANON_BASE, ANON_PAGES);
	CHECK_EQ(lc.writable, 0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 0);
	CHECK_EQ(fault(v, ANON_BASE + 3, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 1);
	CHECK(bit(bm, 3));
	/*
	 * A fault that does change the leaf keeps what the same leaf had: a
	 * write to a write-tracked page (to emulate) leaves it without W and
	 * MMU-writable, keeps its Dirty and sets only the Accessed that aging
	 * took away; the next such write has nothing to change.
	 */
	CHECK_EQ(tdpmmu_write_track_add(vm, ANON_BASE + 3), 0);
	CHECK_EQ(tdpmmu_clear_young(vm, ANON_BASE + 3, ANON_BASE + 4), 1);
	spte = spte_of(vm, ANON_BASE + 3);
	CHECK((spte & TDPMMU_SPTE_DIRTY) &&
	      !(spte & (TDPMMU_SPTE_W | TDPMMU_SPTE_MMU_WRITABLE | TDPMMU_SPTE_ACCESSED)));
	CHECK_EQ(tdpmmu_fault(v, ANON_BASE + 3, TDPMMU_ACCESS_WRITE, 0, &res),
		 TDPMMU_FAULT_EMULATE);
	CHECK(res.level == 1 && !res.spurious);
	CHECK_EQ(spte_of(vm, ANON_BASE + 3), spte | TDPMMU_SPTE_ACCESSED);
	CHECK_EQ(tdpmmu_fault(v, ANON_BASE + 3, TDPMMU_ACCESS_WRITE, 0, &res),
		 TDPMMU_FAULT_EMULATE);
	CHECK(res.level == 1 && res.spurious);
	CHECK_EQ(spte_of(vm, ANON_BASE + 3), spte | TDPMMU_SPTE_ACCESSED);
	CHECK_EQ(tdpmmu_write_track_remove(vm, ANON_BASE + 3), 0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 0);

	/* THP with eager split: every 2M leaf becomes 512 read-only 4K leaves. */
	CHECK_EQ(level_of(vm, THP_BASE), 2);
	read_counters(vm, c0);
	r = tdpmmu_dirty_log_enable(vm, P1_THP, TDPMMU_DIRTY_LOG_EAGER_SPLIT);
	read_counters(vm, c1);
	CHECK_EQ(r, THP_PAGES);
	CHECK_EQ(c1[TDPMMU_C_EAGER_SPLITS] - c0[TDPMMU_C_EAGER_SPLITS], 4);
	lc = census(vm, THP_BASE, THP_PAGES);
	CHECK_EQ(lc.present, THP_PAGES);
	CHECK_EQ(lc.small, THP_PAGES);
	CHECK_EQ(lc.writable, 0);
	CHECK_EQ(fault(v, THP_BASE + 600, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_THP, bm), 1);
	CHECK(bit(bm, 600));

	/*
	 * hugetlb, manual + initially set, no split: every page is reported
	 * already, so enable changes no entry at all and returns 0; get
	 * reports everything and does not clear.  While a 2M leaf stays
	 * writable a write to it is spurious.
	 */
	sptes(vm, HUGE_BASE, HUGE_PAGES, huge_before);
	read_counters(vm, c0);
	r = tdpmmu_dirty_log_enable(
		vm, P1_HUGE, TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET);
	CHECK_EQ(r, 0);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_EAGER_SPLITS], c0[TDPMMU_C_EAGER_SPLITS]);
	CHECK_EQ(c1[TDPMMU_C_HUGE_SPLITS], c0[TDPMMU_C_HUGE_SPLITS]);
	CHECK_EQ(c1[TDPMMU_C_LEAVES_WRPROT], c0[TDPMMU_C_LEAVES_WRPROT]);
	CHECK(sptes_unchanged(vm, HUGE_BASE, HUGE_PAGES, huge_before));
	lc = census(vm, HUGE_BASE, HUGE_PAGES);
	CHECK_EQ(lc.present, HUGE_PAGES);
	CHECK_EQ(lc.small, 0);
	CHECK_EQ(lc.writable, HUGE_PAGES);
	CHECK_EQ(lc.mmu_writable, HUGE_PAGES);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES);
	CHECK_EQ(fault_spurious(v, HUGE_BASE + MB2 + 3, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT,
				&spurious),
		 2);
	CHECK(spurious);
	CHECK(sptes_unchanged(vm, HUGE_BASE, HUGE_PAGES, huge_before));
	/*
	 * A clear protects the leaf over what it cleared: the first 2M leaf
	 * loses W and MMU-writable (so not even the fast path may make it
	 * writable), keeping A and D; the other 2M leaves are untouched.  A
	 * clear of nothing set changes nothing.
	 */
	read_counters(vm, c0);
	CHECK_EQ(tdpmmu_dirty_log_clear(vm, P1_HUGE, 0, ~0ull), 64);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_LEAVES_WRPROT] - c0[TDPMMU_C_LEAVES_WRPROT], 1);
	CHECK_EQ(c1[TDPMMU_C_EAGER_SPLITS], c0[TDPMMU_C_EAGER_SPLITS]);
	CHECK_EQ(c1[TDPMMU_C_HUGE_SPLITS], c0[TDPMMU_C_HUGE_SPLITS]);
	CHECK_EQ(spte_of(vm, HUGE_BASE),
		 huge_before[0] & ~(TDPMMU_SPTE_W | TDPMMU_SPTE_MMU_WRITABLE));
	CHECK(sptes_unchanged(vm, HUGE_BASE + MB2, HUGE_PAGES - MB2, huge_before + MB2));
	lc = census(vm, HUGE_BASE, HUGE_PAGES);
	CHECK_EQ(lc.present, HUGE_PAGES);
	CHECK_EQ(lc.small, 0);
	CHECK_EQ(lc.writable, HUGE_PAGES - MB2);
	CHECK_EQ(lc.mmu_writable, HUGE_PAGES - MB2);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_HUGE, 0, ~0ull), 0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES - 64);
	/* A write faults (no fast fix of a huge leaf) and maps that page at 4K. */
	read_counters(vm, c0);
	CHECK_EQ(fault(v, HUGE_BASE + 5, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_FAST_FAULTS_FIXED], c0[TDPMMU_C_FAST_FAULTS_FIXED]);
	CHECK(is_writable(vm, HUGE_BASE + 5) && !is_writable(vm, HUGE_BASE + 6));
	CHECK(!tdpmmu_spte_mmu_writable(spte_of(vm, HUGE_BASE + 6)));
	CHECK_EQ(level_of(vm, HUGE_BASE + 6), 1);
	CHECK_EQ(level_of(vm, HUGE_BASE + MB2), 2);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES - 63);
	CHECK_EQ(bm[0], 1ull << 5);
	CHECK_EQ(tdpmmu_dirty_log_clear(vm, P1_HUGE, 0, 1ull << 5), 1);
	CHECK(!is_writable(vm, HUGE_BASE + 5));
	CHECK(tdpmmu_spte_mmu_writable(spte_of(vm, HUGE_BASE + 5)));
	/* Bad clears change nothing (bitmap included). */
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES - 64);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_HUGE, 32, 1), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_HUGE, HUGE_PAGES, 1), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, 99, 0, 1), -ENOENT);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm2), HUGE_PAGES - 64);
	CHECK(!memcmp(bm, bm2, HUGE_PAGES / 8));

	/* Manual without initially-set on a slot whose end is mid-word. */
	CHECK_EQ(tdpmmu_dirty_log_enable(vm, P1_MAN, TDPMMU_DIRTY_LOG_MANUAL_PROTECT), MAN_PAGES);
	CHECK_EQ(fault(v, MAN_BASE + 70, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	CHECK_EQ(fault(v, MAN_BASE + 99, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_MAN, 64, 1ull << 36), -EINVAL);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_MAN, bm), 2);
	CHECK_EQ(bm[1], (1ull << 6) | (1ull << 35));
	/* Still writable: manual get does not re-protect; clear does. */
	CHECK(is_writable(vm, MAN_BASE + 70));
	CHECK_EQ(tdpmmu_dirty_log_clear(vm, P1_MAN, 64, (1ull << 6) | (1ull << 35) | 1), 2);
	CHECK(!is_writable(vm, MAN_BASE + 70) && !is_writable(vm, MAN_BASE + 99));
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_MAN, bm), 0);

	/* Disable: none, in place, by zapping. */
	CHECK_EQ(tdpmmu_dirty_log_disable(vm, P1_ANON, TDPMMU_RECOVER_NONE), 0);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_get(vm, P1_ANON, bm), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_disable(vm, P1_ANON, TDPMMU_RECOVER_NONE), -EINVAL);
	read_counters(vm, c0);
	CHECK_EQ(fault(v, ANON_BASE + 10, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_PAGES_LOGGED_DIRTY], c0[TDPMMU_C_PAGES_LOGGED_DIRTY]);
	CHECK_EQ(level_of(vm, THP_BASE + 1), 1);
	read_counters(vm, c0);
	r = tdpmmu_dirty_log_disable(vm, P1_THP, TDPMMU_RECOVER_INPLACE);
	read_counters(vm, c1);
	CHECK_EQ(r, 4);
	CHECK_EQ(c1[TDPMMU_C_HUGE_RECOVERED] - c0[TDPMMU_C_HUGE_RECOVERED], 4);
	for (uint64_t b = 0; b < 4; b++)
		CHECK_EQ(level_of(vm, THP_BASE + b * MB2 + 100), 2);
	read_counters(vm, c0);
	r = tdpmmu_dirty_log_disable(vm, P1_HUGE, TDPMMU_RECOVER_ZAP);
	read_counters(vm, c1);
	CHECK_EQ(r, 1); /* only the block written above was split */
	CHECK_EQ(c1[TDPMMU_C_COLLAPSIBLE_ZAPPED] - c0[TDPMMU_C_COLLAPSIBLE_ZAPPED], 1);
	CHECK_EQ(level_of(vm, HUGE_BASE + 6), 0);
	CHECK_EQ(fault(v, HUGE_BASE + 6, TDPMMU_ACCESS_WRITE), 2);

	/*
	 * hugetlb again, initially set with eager splitting: enable changes
	 * nothing; a clear splits only the 2M leaf over its pages, down to
	 * 4K leaves with the same bits and frames, and protects the cleared
	 * pages' 4K leaves (W gone, MMU-writable kept, so the fast path may
	 * make them writable again); the other 2M leaves stay huge and
	 * writable.
	 */
	sptes(vm, HUGE_BASE, HUGE_PAGES, huge_before);
	lc = census(vm, HUGE_BASE, HUGE_PAGES);
	CHECK(lc.present == HUGE_PAGES && lc.small == 0 && lc.writable == HUGE_PAGES);
	read_counters(vm, c0);
	r = tdpmmu_dirty_log_enable(vm, P1_HUGE,
				    TDPMMU_DIRTY_LOG_MANUAL_PROTECT |
					    TDPMMU_DIRTY_LOG_INITIALLY_SET |
					    TDPMMU_DIRTY_LOG_EAGER_SPLIT);
	CHECK_EQ(r, 0);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_EAGER_SPLITS], c0[TDPMMU_C_EAGER_SPLITS]);
	CHECK_EQ(c1[TDPMMU_C_LEAVES_WRPROT], c0[TDPMMU_C_LEAVES_WRPROT]);
	CHECK(sptes_unchanged(vm, HUGE_BASE, HUGE_PAGES, huge_before));
	read_counters(vm, c0);
	CHECK_EQ(tdpmmu_dirty_log_clear(vm, P1_HUGE, MB2 + 64, (1ull << 3) | (1ull << 40)), 2);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_EAGER_SPLITS] - c0[TDPMMU_C_EAGER_SPLITS], 1);
	CHECK_EQ(c1[TDPMMU_C_HUGE_SPLITS] - c0[TDPMMU_C_HUGE_SPLITS], 1);
	CHECK_EQ(c1[TDPMMU_C_LEAVES_WRPROT] - c0[TDPMMU_C_LEAVES_WRPROT], 2);
	/* The block's 512 4K leaves: each its own frame, the 2M leaf's bits but W. */
	bad_leaf = bad_bits = 0;
	for (uint64_t g = MB2; g < 2 * MB2; g++) {
		bool cleared = g == MB2 + 64 + 3 || g == MB2 + 64 + 40;
		struct tdpmmu_mapping m;
		uint64_t pfn = 0;

		REQUIRE(tdpmmu_lookup(vm, HUGE_BASE + g, &m) == 0);
		REQUIRE(tdpmmu_host_pfn(vm, HUGE_BASE + g, &pfn) == 0);
		bad_leaf += !m.present || m.level != 1 || m.pfn != pfn ||
			    tdpmmu_spte_pfn(m.spte) != pfn;
		bad_bits += (m.spte & LEAF_BITS) !=
			    (huge_before[g] & LEAF_BITS & ~(cleared ? TDPMMU_SPTE_W : 0));
	}
	CHECK_EQ(bad_leaf, 0);
	CHECK_EQ(bad_bits, 0);
	CHECK(sptes_unchanged(vm, HUGE_BASE, MB2, huge_before));
	CHECK(sptes_unchanged(vm, HUGE_BASE + 2 * MB2, 2 * MB2, huge_before + 2 * MB2));
	lc = census(vm, HUGE_BASE, HUGE_PAGES);
	CHECK_EQ(lc.present, HUGE_PAGES);
	CHECK_EQ(lc.small, MB2);
	CHECK_EQ(lc.writable, HUGE_PAGES - 2);
	CHECK_EQ(lc.mmu_writable, HUGE_PAGES);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES - 2);
	CHECK(!bit(bm, MB2 + 64 + 3) && !bit(bm, MB2 + 64 + 40) && bit(bm, MB2 + 64 + 4));
	/* Nothing set in the mask: no split, no protection. */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_HUGE, 2 * MB2 + 64, 0), 0);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_log_clear(vm, P1_HUGE, MB2 + 64, 1ull << 3), 0);
	CHECK_EQ(level_of(vm, HUGE_BASE + 2 * MB2 + 64), 2);
	/* The fast path makes a cleared page writable again, and logs it. */
	read_counters(vm, c0);
	CHECK_EQ(fault(v, HUGE_BASE + MB2 + 67, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	read_counters(vm, c1);
	CHECK_EQ(c1[TDPMMU_C_FAST_FAULTS_FIXED] - c0[TDPMMU_C_FAST_FAULTS_FIXED], 1);
	CHECK(is_writable(vm, HUGE_BASE + MB2 + 67));
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_HUGE, bm), HUGE_PAGES - 1);
	CHECK(bit(bm, MB2 + 67) && !bit(bm, MB2 + 104));
	/* Off again, the split block collapsed in place. */
	CHECK_EQ(tdpmmu_dirty_log_disable(vm, P1_HUGE, TDPMMU_RECOVER_INPLACE), 1);
	CHECK_EQ(level_of(vm, HUGE_BASE + MB2 + 67), 2);
	/* And on again, after all that. */
	CHECK(tdpmmu_dirty_log_enable(vm, P1_THP, TDPMMU_DIRTY_LOG_EAGER_SPLIT) >= 0);
	lc = census(vm, THP_BASE, THP_PAGES);
	CHECK_EQ(lc.small, THP_PAGES);
	CHECK_EQ(lc.writable, 0);

	/* A logging slot moved to another 2M offset keeps frames and bitmap (last:
	 * a move zaps every mapping). */
	for (uint64_t g = 0; g < MAN_PAGES; g++)
		REQUIRE(tdpmmu_host_pfn(vm, MAN_BASE + g, &pfns[g]) == 0);
	CHECK_EQ(fault(v, MAN_BASE + 1, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT), 1);
	CHECK_EQ(tdpmmu_memslot_move(vm, P1_MAN, MAN_BASE + MB2 + 3), 0);
	for (uint64_t g = 0; g < MAN_PAGES; g++) {
		uint64_t pfn = 0;

		REQUIRE(tdpmmu_host_pfn(vm, MAN_BASE + MB2 + 3 + g, &pfn) == 0);
		CHECK_EQ(pfn, pfns[g]);
	}
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_MAN, bm), 1);
	CHECK_EQ(bm[0], 2);
	CHECK_EQ(fault(v, MAN_BASE + MB2 + 3 + 50, TDPMMU_ACCESS_WRITE), 1);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_MAN, bm), 2);
	CHECK_EQ(bm[0], 2 | (1ull << 50));
	CHECK_EQ(tdpmmu_memslot_move(vm, P1_MAN, MAN_BASE), 0);
	for (uint64_t g = 0; g < MAN_PAGES; g++) {
		uint64_t pfn = 0;

		REQUIRE(tdpmmu_host_pfn(vm, MAN_BASE + g, &pfn) == 0);
		CHECK_EQ(pfn, pfns[g]);
	}

	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

/* ------------------------------------------------------ part 1, D-bit mode */

/* A guest program of part 1: the accesses of a list, in order. */
struct list_guest {
	const uint64_t *gfns;
	const unsigned *types;
	int n, i;
};

static bool list_next(void *ctx, struct tdpmmu_access *a)
{
	struct list_guest *g = ctx;

	if (g->i >= g->n)
		return false;
	a->gpa = g->gfns[g->i] << 12;
	a->type = g->types ? g->types[g->i] : TDPMMU_ACCESS_WRITE;
	a->value = 0x1234;
	g->i++;
	return true;
}

/* Run @v through the accesses (writes when @types is NULL); returns the EPT violations it took. */
static uint64_t guest_run(struct tdpmmu_vcpu *v, const uint64_t *gfns, const unsigned *types, int n)
{
	struct list_guest g = { gfns, types, n, 0 };
	struct tdpmmu_vcpu_stats s0, s1;

	tdpmmu_vcpu_stats_read(v, &s0);
	CHECK_EQ(tdpmmu_vcpu_run(v, list_next, &g, 0), 0);
	tdpmmu_vcpu_stats_read(v, &s1);
	return s1.ept_violations - s0.ept_violations;
}

static int64_t counter_delta(struct tdpmmu_vm *vm, const int64_t *before, enum tdpmmu_counter c)
{
	int64_t now[TDPMMU_NR_COUNTERS];

	read_counters(vm, now);
	return now[c] - before[c];
}

/* Exactly the pages @want (relative to the slot, sorted) are set in @bm of @npages. */
static bool bitmap_is(const uint64_t *bm, uint64_t npages, const uint64_t *want, int n)
{
	int j = 0;

	for (uint64_t p = 0; p < npages; p++) {
		bool expect = j < n && want[j] == p;

		if (bit(bm, p) != expect)
			return false;
		j += expect;
	}
	return j == n;
}

/*
 * D-bit mode, single-threaded: enable clears D on 4K leaves and keeps W
 * (W and MMU-writable go from huge leaves); a guest write sets D and is
 * reported exactly, without a fault; get re-arms exactly what it reported
 * (D clear, W kept) and flushes, so a write through the vCPU's TLB, which
 * cached D, is logged again; a write through a TLB entry filled by a
 * read sets D through the cached pointer and is logged; manual clear
 * re-arms exactly the cleared pages; a full PML log exits.
 */
static void part1_dbit(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ P1_ANON, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
		{ P1_THP, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
		{ P1_MAN, MAN_BASE, MAN_PAGES, TDPMMU_BACKING_ANON, 0 },
	};
	static tdpmmu_spte_t before[ANON_PAGES];
	const uint64_t w3[] = { ANON_BASE + 5, ANON_BASE + 64, ANON_BASE + 999 };
	const uint64_t p3[] = { 5, 64, 999 };
	uint64_t bm[64], many[40], pmany[40];
	int64_t c0[TDPMMU_NR_COUNTERS];
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm;
	struct leaf_census lc;

	/* The mode's names, and a VM refused on a mode out of range. */
	for (int i = 0; i < TDPMMU_NR_DIRTY_MODES; i++) {
		enum tdpmmu_dirty_mode m = TDPMMU_NR_DIRTY_MODES;

		CHECK_EQ(tdpmmu_dirty_mode_parse(tdpmmu_dirty_mode_name((enum tdpmmu_dirty_mode)i),
						 &m),
			 0);
		CHECK_EQ(m, i);
	}
	{
		enum tdpmmu_dirty_mode m = TDPMMU_DIRTY_DBIT;

		CHECK(!tdpmmu_dirty_mode_name(TDPMMU_NR_DIRTY_MODES));
		CHECK_EQ(tdpmmu_dirty_mode_parse("pml", &m), -EINVAL);
		CHECK_EQ(tdpmmu_dirty_mode_parse(NULL, &m), -EINVAL);
		CHECK_EQ(m, TDPMMU_DIRTY_DBIT);
	}
	test_config_init(&cfg);
	CHECK_EQ(cfg.dirty_mode, TDPMMU_DIRTY_WRPROT);
	cfg.dirty_mode = TDPMMU_NR_DIRTY_MODES;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = 8 * GB_PAGES * 4096ull;
	cfg.dirty_mode = TDPMMU_DIRTY_DBIT;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	for (uint64_t g = 0; g < ANON_PAGES; g++)
		CHECK_EQ(fault(v, ANON_BASE + g, TDPMMU_ACCESS_WRITE), 1);
	for (uint64_t g = 0; g < MAN_PAGES; g++)
		CHECK_EQ(fault(v, MAN_BASE + g, TDPMMU_ACCESS_WRITE), 1);
	for (uint64_t b = 0; b < 4; b++)
		CHECK_EQ(fault(v, THP_BASE + b * MB2 + 7, TDPMMU_ACCESS_WRITE), 2);
	CHECK(tdpmmu_spte_dirty(spte_of(vm, ANON_BASE + 1)));

	/* enable: D off every 4K leaf, W kept; huge leaves lose W (wrprot as ever). */
	read_counters(vm, c0);
	CHECK_EQ(tdpmmu_dirty_log_enable(vm, P1_ANON, 0), (int)ANON_PAGES);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_DBIT_CLEARED), (int64_t)ANON_PAGES);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_LEAVES_WRPROT), 0);
	lc = census(vm, ANON_BASE, ANON_PAGES);
	CHECK_EQ(lc.present, ANON_PAGES);
	CHECK_EQ(lc.writable, ANON_PAGES);
	CHECK_EQ(lc.small, ANON_PAGES);
	for (uint64_t g = 0; g < ANON_PAGES; g++)
		CHECK(!tdpmmu_spte_dirty(spte_of(vm, ANON_BASE + g)));
	read_counters(vm, c0);
	CHECK_EQ(tdpmmu_dirty_log_enable(vm, P1_THP, 0), 4);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_LEAVES_WRPROT), 4);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_DBIT_CLEARED), 0);
	CHECK_EQ(census(vm, THP_BASE, THP_PAGES).writable, 0);
	CHECK_EQ(census(vm, THP_BASE, THP_PAGES).mmu_writable, 0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 0);

	/* Three guest writes: no fault, three log entries, exactly those reported. */
	read_counters(vm, c0);
	CHECK_EQ(guest_run(v, w3, NULL, 3), 0);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_PML_LOGGED), 3);
	CHECK(counter_delta(vm, c0, TDPMMU_C_PML_FLUSHES) >= 1);
	for (int i = 0; i < 3; i++)
		CHECK(tdpmmu_spte_dirty(spte_of(vm, w3[i])));
	sptes(vm, ANON_BASE, ANON_PAGES, before);
	read_counters(vm, c0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 3);
	CHECK(bitmap_is(bm, ANON_PAGES, p3, 3));
	/* get re-armed exactly those: D off, W kept, nothing else changed. */
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_DBIT_CLEARED), 3);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_LEAVES_WRPROT), 0);
	for (int i = 0; i < 3; i++)
		before[p3[i]] &= ~TDPMMU_SPTE_DIRTY;
	CHECK(sptes_unchanged(vm, ANON_BASE, ANON_PAGES, before));
	CHECK_EQ(census(vm, ANON_BASE, ANON_PAGES).writable, ANON_PAGES);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 0);

	/*
	 * The same writes again, by the same vCPU, whose TLB cached D = 1
	 * before the harvest: only the harvest's flush makes them log.
	 */
	CHECK_EQ(guest_run(v, w3, NULL, 1), 0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 1);
	CHECK(bitmap_is(bm, ANON_PAGES, p3, 1));
	CHECK_EQ(guest_run(v, w3, NULL, 1), 0);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 1);
	CHECK(bitmap_is(bm, ANON_PAGES, p3, 1));
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* A read fills the TLB with D clear; the write then sets D through it. */
	{
		const uint64_t rw[] = { ANON_BASE + 64, ANON_BASE + 64 };
		const unsigned types[] = { TDPMMU_ACCESS_READ, TDPMMU_ACCESS_WRITE };
		struct tdpmmu_vcpu_stats s0, s1;

		read_counters(vm, c0);
		tdpmmu_vcpu_stats_read(v, &s0);
		CHECK_EQ(guest_run(v, rw, types, 2), 0);
		tdpmmu_vcpu_stats_read(v, &s1);
		CHECK_EQ(s1.tlb_hits - s0.tlb_hits, 1);
		CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_PML_LOGGED), 1);
		CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 1);
		CHECK(bitmap_is(bm, ANON_PAGES, &p3[1], 1));
	}

	/* A full log exits: 16 entries here, 40 writes, two full exits, all reported. */
	CHECK_EQ(tdpmmu_test_pml_entries(vm, 0), -EINVAL);
	CHECK_EQ(tdpmmu_test_pml_entries(vm, 16), 0);
	for (int i = 0; i < 40; i++) {
		pmany[i] = 100 + (uint64_t)i * 7;
		many[i] = ANON_BASE + pmany[i];
	}
	read_counters(vm, c0);
	CHECK_EQ(guest_run(v, many, NULL, 40), 0);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_PML_FULL_EXITS), 2);
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_PML_LOGGED), 40);
	CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_ANON, bm), 40);
	CHECK(bitmap_is(bm, ANON_PAGES, pmany, 40));

	/* A huge leaf in a logging slot: the write faults and maps 4K, marked. */
	{
		const uint64_t hw[] = { THP_BASE + 3 };
		const uint64_t hp[] = { 3 };

		CHECK_EQ(guest_run(v, hw, NULL, 1), 1);
		CHECK_EQ(level_of(vm, THP_BASE + 3), 1);
		CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_THP, bm), 1);
		CHECK(bitmap_is(bm, THP_PAGES, hp, 1));
		CHECK(is_writable(vm, THP_BASE + 3)); /* re-armed by D, not W */
		CHECK(!tdpmmu_spte_dirty(spte_of(vm, THP_BASE + 3)));
	}

	/* Manual protect: get only copies; clear re-arms exactly what it clears. */
	CHECK_EQ(tdpmmu_dirty_log_enable(vm, P1_MAN, TDPMMU_DIRTY_LOG_MANUAL_PROTECT),
		 (int)MAN_PAGES);
	{
		const uint64_t mw[] = { MAN_BASE + 1, MAN_BASE + 2, MAN_BASE + 70 };

		CHECK_EQ(guest_run(v, mw, NULL, 3), 0);
		CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_MAN, bm), 3);
		CHECK_EQ(bm[0], 6);
		CHECK_EQ(bm[1], 1ull << 6);
		CHECK(tdpmmu_spte_dirty(spte_of(vm, MAN_BASE + 1))); /* get re-armed nothing */
		read_counters(vm, c0);
		CHECK_EQ(tdpmmu_dirty_log_clear(vm, P1_MAN, 0, 2), 1);
		CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_DBIT_CLEARED), 1);
		CHECK(!tdpmmu_spte_dirty(spte_of(vm, MAN_BASE + 1)));
		CHECK(tdpmmu_spte_dirty(spte_of(vm, MAN_BASE + 2)));
		CHECK(tdpmmu_spte_dirty(spte_of(vm, MAN_BASE + 70)));
		CHECK_EQ(tdpmmu_dirty_log_get(vm, P1_MAN, bm), 2);
	}

	/*
	 * disable, or deleting a slot that logs: the VM stops logging; later D
	 * updates append nothing.
	 */
	CHECK_EQ(tdpmmu_dirty_log_disable(vm, P1_ANON, TDPMMU_RECOVER_NONE), 0);
	CHECK_EQ(tdpmmu_dirty_log_disable(vm, P1_THP, TDPMMU_RECOVER_NONE), 0);
	CHECK_EQ(tdpmmu_memslot_delete(vm, P1_MAN), 0);
	read_counters(vm, c0);
	{
		unsigned reads[40];

		/* Read faults (the delete fast-zapped) map with D clear; the writes set D. */
		for (int i = 0; i < 40; i++)
			reads[i] = TDPMMU_ACCESS_READ;
		CHECK_EQ(guest_run(v, many, reads, 40), 40);
		CHECK_EQ(guest_run(v, many, NULL, 40), 0);
		CHECK(tdpmmu_spte_dirty(spte_of(vm, many[0]))); /* set by the CPU, unlogged */
	}
	CHECK_EQ(counter_delta(vm, c0, TDPMMU_C_PML_LOGGED), 0);

	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

/* ---------------------------------------------------------------- part 2 */

#define SLOT_A 1u
#define SLOT_B 2u
#define SLOT_X 3u
#define A_BASE 0ull
#define B_BASE (16 * MB2)
#define X_BASE (32 * MB2)
#define SLOT_PAGES (8 * MB2)
#define X_PAGES (4 * MB2)

struct oracle_slot {
	uint32_t id;
	uint64_t base;
	bool tracked[SLOT_PAGES]; /* (c) of last round: must be reported now */
	bool tracked_valid;       /* last round's (c) ran with logging stable since */
	uint64_t tracked_gen;     /* toggler generation when it was computed */
	bool skip_b;              /* first round after initially-set */
	uint64_t bm[SLOT_PAGES / 64];
};

struct guest {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t rs;
	_Atomic uint64_t inflight; /* gfn of the write in flight, or NONE_GFN */
	_Atomic uint64_t seen;     /* iteration read by the last access started */
	_Atomic uint64_t writes;
	uint64_t budget_window, budget; /* writes left in this window */
	pthread_t thread;
};

static struct {
	struct tdpmmu_vm *vm;
	bool manual;
	int nvcpus;
	struct guest g[MAX_VCPUS];
	_Atomic uint64_t iteration;
	_Atomic uint64_t toggle_gen; /* odd while B is being disabled/re-enabled */
	_Atomic uint64_t rounds;
	_Atomic uint64_t window; /* write budget epoch */
	atomic_bool stop;
	atomic_long run_errors, toggle_errors;
	_Atomic int64_t recovered, toggles, toggle_splits, toggle_dclears;
	enum tdpmmu_dirty_mode mode;
	struct oracle_slot a, b;
	uint64_t failures, excused, a_checks, reported, rounds_b_checked;
} P;

static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct guest *g = ctx;
	uint64_t it = atomic_load_explicit(&P.iteration, memory_order_acquire);
	uint64_t r = test_rand(&g->rs);

	/* The previous access has landed: nothing chosen before `it` is in flight. */
	atomic_store_explicit(&g->seen, it, memory_order_release);
	if (atomic_load_explicit(&P.stop, memory_order_relaxed) || (r & 0xfff) == 0) {
		atomic_store(&g->inflight, NONE_GFN);
		return false;
	}
	/*
	 * At most WRITES_PER_WINDOW writes per window, so most pages stay
	 * clean; the harvester opens a window at each bump and one right
	 * after its get, so writes also land between get and check ((c)).
	 */
	uint64_t win = atomic_load_explicit(&P.window, memory_order_relaxed);

	if (win != g->budget_window) {
		g->budget_window = win;
		g->budget = WRITES_PER_WINDOW;
	}
	if (r % 8 == 0 || !g->budget) {
		/* Execute-read (NX), not in a logged slot. */
		/* In X only: exec on B would split its huge leaves before eager split could. */
		uint64_t gfn = X_BASE + (r >> 16) % X_PAGES;

		atomic_store(&g->inflight, NONE_GFN);
		a->gpa = gfn << 12 | 64;
		a->type = TDPMMU_ACCESS_EXEC;
		return true;
	}
	{
		uint64_t gfn = ((r >> 8) % 2 ? B_BASE : A_BASE) + (r >> 16) % SLOT_PAGES;

		/* seq_cst: published before the fault that will mark the page. */
		atomic_store(&g->inflight, gfn);
		a->gpa = gfn << 12;
		a->type = TDPMMU_ACCESS_WRITE;
		a->value = it;
		g->budget--;
		atomic_fetch_add_explicit(&g->writes, 1, memory_order_relaxed);
	}
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct guest *g = arg;

	vcpu_run_until(g->v, g->id, guest_next, g, &P.stop, &P.run_errors);
	atomic_store(&g->inflight, NONE_GFN);
	atomic_store(&g->seen, UINT64_MAX); /* never waited for again */
	return NULL;
}

static uint64_t total_writes(void)
{
	uint64_t n = 0;

	for (int i = 0; i < P.nvcpus; i++)
		n += atomic_load_explicit(&P.g[i].writes, memory_order_relaxed);
	return n;
}

static bool write_in_flight(uint64_t gfn)
{
	for (int i = 0; i < P.nvcpus; i++)
		if (atomic_load(&P.g[i].inflight) == gfn)
			return true;
	return false;
}

static void fail(struct oracle_slot *s, uint64_t page, const char *why, uint64_t val, uint64_t it)
{
	if (P.failures++ < 20)
		fprintf(stderr,
			"dirty log oracle (%s): slot %u gfn 0x%" PRIx64 ": %s (value %" PRIu64
			", iteration %" PRIu64 ")\n",
			P.manual ? "manual" : "get-clears", s->id, s->base + page, why, val, it);
}

static uint64_t page_value(uint64_t gfn)
{
	uint64_t v = 0;

	REQUIRE(tdpmmu_host_read(P.vm, gfn << 12, &v) == 0);
	return v;
}

/* One slot's share of a round; @gen_prev: B's toggle generation before this round's bump. */
static void harvest_slot(struct oracle_slot *s, uint64_t it, bool is_b, uint64_t gen_prev)
{
	uint64_t gen_after;
	int r;

	r = tdpmmu_dirty_log_get(P.vm, s->id, s->bm);
	atomic_fetch_add(&P.window, 1);
	if (r < 0) {
		/* B is off right now (toggler): nothing to check this round. */
		CHECK(is_b && r == -EINVAL);
		s->tracked_valid = false;
		return;
	}
	if (P.manual)
		for (uint64_t w = 0; w < SLOT_PAGES / 64; w++)
			if (s->bm[w]) {
				r = tdpmmu_dirty_log_clear(P.vm, s->id, w * 64, s->bm[w]);
				CHECK(r >= 0 || (is_b && r == -EINVAL));
			}
	gen_after = atomic_load(&P.toggle_gen);
	/* (a) needs logging on, untouched, from before last round's bump to now. */
	bool check_a = s->tracked_valid && (!is_b || gen_after == s->tracked_gen);
	if (is_b && check_a)
		P.rounds_b_checked++;
	for (uint64_t p = 0; p < SLOT_PAGES; p++) {
		bool reported = bit(s->bm, p);
		uint64_t v = page_value(s->base + p);

		if (check_a && s->tracked[p]) {
			P.a_checks++;
			if (!reported)
				fail(s, p, "(a) written last round after its harvest, not reported",
				     v, it);
		}
		s->tracked[p] = false;
		if (reported) {
			P.reported++;
			if (s->skip_b || v == it || v + 1 == it)
				continue;
			if (write_in_flight(s->base + p)) {
				P.excused++;
				continue;
			}
			v = page_value(s->base + p); /* the write may have landed since */
			if (v != it && v + 1 != it)
				fail(s, p, "(b) reported with a stale value", v, it);
		} else {
			if (v > it)
				fail(s, p, "(c) value from the future", v, it);
			s->tracked[p] = v == it;
		}
	}
	s->skip_b = false;
	/*
	 * What (c) tracked was written after this round's bump: it counts only
	 * if logging was on and untouched from before that bump to now.
	 */
	s->tracked_gen = atomic_load(&P.toggle_gen);
	s->tracked_valid = !is_b || (s->tracked_gen == gen_prev && !(gen_prev & 1));
}

/* B off (recovering huge pages), mapped huge again by the vCPUs, on with eager split. */
static void *toggler_thread(void *arg)
{
	/* clang-format off */
	static const enum tdpmmu_huge_recovery hows[] = {
		TDPMMU_RECOVER_INPLACE, TDPMMU_RECOVER_ZAP, TDPMMU_RECOVER_INPLACE,
		TDPMMU_RECOVER_NONE,
	};
	/* clang-format on */
	unsigned flags = TDPMMU_DIRTY_LOG_EAGER_SPLIT |
			 (P.manual ? TDPMMU_DIRTY_LOG_MANUAL_PROTECT : 0);

	for (unsigned n = 0; !atomic_load(&P.stop); n++) {
		int64_t c0[TDPMMU_NR_COUNTERS], c1[TDPMMU_NR_COUNTERS];
		uint64_t w0, r0;
		int r;

		atomic_fetch_add(&P.toggle_gen, 1);
		r = tdpmmu_dirty_log_disable(P.vm, SLOT_B, hows[n % ARRAY_SIZE(hows)]);
		if (r < 0)
			atomic_fetch_add(&P.toggle_errors, 1);
		else
			atomic_fetch_add(&P.recovered, r);
		/* Let the vCPUs map B huge again: pace by their progress. */
		w0 = total_writes();
		while (total_writes() - w0 < 256 && !atomic_load(&P.stop))
			sched_yield();
		tdpmmu_counters_read(P.vm, c0);
		r = tdpmmu_dirty_log_enable(P.vm, SLOT_B, flags);
		tdpmmu_counters_read(P.vm, c1);
		if (r < 0)
			atomic_fetch_add(&P.toggle_errors, 1);
		/* Only this thread splits eagerly while the vCPUs run. */
		atomic_fetch_add(&P.toggle_splits,
				 c1[TDPMMU_C_EAGER_SPLITS] - c0[TDPMMU_C_EAGER_SPLITS]);
		/* D-bit mode: D bits this enable cleared while the vCPUs set them. */
		atomic_fetch_add(&P.toggle_dclears,
				 c1[TDPMMU_C_DBIT_CLEARED] - c0[TDPMMU_C_DBIT_CLEARED]);
		atomic_fetch_add(&P.toggle_gen, 1);
		atomic_fetch_add(&P.toggles, 1);
		/* Some stable rounds for (a) on B. */
		r0 = atomic_load(&P.rounds);
		while (atomic_load(&P.rounds) - r0 < 3 && !atomic_load(&P.stop))
			sched_yield();
	}
	return NULL;
}

static void populate(struct tdpmmu_vcpu *v, uint64_t base, uint64_t n)
{
	for (uint64_t g = base; g < base + n; g += MB2)
		REQUIRE(tdpmmu_fault(v, g, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
}

/* What part 2 must have seen happen before it may stop (see the top). */
static bool part2_proven(const int64_t *c)
{
	bool dbit = P.mode == TDPMMU_DIRTY_DBIT;

	if (!(c[TDPMMU_C_PAGES_LOGGED_DIRTY] > 0 && atomic_load(&P.toggle_splits) > 0 &&
	      c[TDPMMU_C_HUGE_RECOVERED] > 0 && c[TDPMMU_C_COLLAPSIBLE_ZAPPED] > 0 &&
	      c[TDPMMU_C_NX_RECOVERED] > 0 && P.a_checks > 0 && P.rounds_b_checked > 0))
		return false;
	/*
	 * wrprot: leaves lost W and fast faults gave it back.  dbit: D bits
	 * were cleared by an enable while the vCPUs wrote (and so set D:
	 * the race of the top of dirty_log.c), and writes were logged by the
	 * CPU's log, not by faults.
	 */
	if (!dbit)
		return c[TDPMMU_C_LEAVES_WRPROT] > 0 && c[TDPMMU_C_FAST_FAULTS_FIXED] > 0;
	return atomic_load(&P.toggle_dclears) > 0 && c[TDPMMU_C_PML_LOGGED] > 0 &&
	       c[TDPMMU_C_PML_FLUSHES] > 0;
}

static void part2(enum tdpmmu_dirty_mode mode, bool manual, double seconds, int nvcpus,
		  uint64_t seed)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ SLOT_A, A_BASE, SLOT_PAGES, TDPMMU_BACKING_THP, 0 },
		{ SLOT_B, B_BASE, SLOT_PAGES, TDPMMU_BACKING_HUGETLB_2M, 0 },
		{ SLOT_X, X_BASE, X_PAGES, TDPMMU_BACKING_THP, 0 },
	};
	int64_t c[TDPMMU_NR_COUNTERS];
	struct tdpmmu_vcpu *pv;
	uint64_t start, now, gen_prev, w0;
	pthread_t toggler;
	bool proven = false;

	memset(&P, 0, sizeof(P));
	P.mode = mode;
	P.manual = manual;
	P.nvcpus = nvcpus;
	P.a.id = SLOT_A;
	P.a.base = A_BASE;
	P.b.id = SLOT_B;
	P.b.base = B_BASE;
	atomic_store(&P.iteration, 1);
	atomic_store(&P.window, 1); /* vCPUs start at window 0: a fresh budget */
	test_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	cfg.payload_bytes = 4 * GB_PAGES * 4096ull;
	cfg.nx_huge_pages = true;
	cfg.nx_recovery_period_ms = 5;
	cfg.nx_recovery_ratio = 2;
	cfg.dirty_mode = mode;
	REQUIRE(tdpmmu_vm_create(&cfg, &P.vm) == 0);
	for (unsigned i = 0; i < ARRAY_SIZE(slots); i++)
		REQUIRE(tdpmmu_memslot_add(P.vm, &slots[i]) == 0);
	REQUIRE(tdpmmu_vcpu_create(P.vm, &pv) == 0);
	populate(pv, A_BASE, SLOT_PAGES);
	populate(pv, B_BASE, SLOT_PAGES);
	tdpmmu_vcpu_destroy(pv);
	/* Manual mode starts A all set: the first round reports everything. */
	CHECK(tdpmmu_dirty_log_enable(P.vm, SLOT_A,
				      TDPMMU_DIRTY_LOG_EAGER_SPLIT |
					      (manual ? TDPMMU_DIRTY_LOG_MANUAL_PROTECT |
								TDPMMU_DIRTY_LOG_INITIALLY_SET
						      : 0)) >= 0);
	P.a.skip_b = manual;
	CHECK(tdpmmu_dirty_log_enable(P.vm, SLOT_B,
				      TDPMMU_DIRTY_LOG_EAGER_SPLIT |
					      (manual ? TDPMMU_DIRTY_LOG_MANUAL_PROTECT : 0)) >= 0);

	for (int i = 0; i < nvcpus; i++) {
		struct guest *g = &P.g[i];

		REQUIRE(tdpmmu_vcpu_create(P.vm, &g->v) == 0);
		g->id = i;
		g->rs = seed * 7919 + (uint64_t)i * 104729 + (manual ? 3 : 1);
		atomic_store(&g->inflight, NONE_GFN);
	}
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&P.g[i].thread, NULL, vcpu_thread, &P.g[i]) == 0);
	REQUIRE(pthread_create(&toggler, NULL, toggler_thread, NULL) == 0);

	start = test_now_ns();
	gen_prev = atomic_load(&P.toggle_gen);
	w0 = 0;
	for (;;) {
		uint64_t it = atomic_load(&P.iteration);

		/* Every write chosen before this iteration has landed. */
		for (int i = 0; i < nvcpus; i++)
			while (atomic_load_explicit(&P.g[i].seen, memory_order_acquire) < it &&
			       !atomic_load(&P.run_errors))
				sched_yield();
		/* Some writes this round, paced by the vCPUs' progress. */
		while (total_writes() - w0 < 128 && !atomic_load(&P.run_errors))
			sched_yield();
		harvest_slot(&P.a, it, false, gen_prev);
		harvest_slot(&P.b, it, true, gen_prev);
		gen_prev = atomic_load(&P.toggle_gen);
		atomic_fetch_add(&P.rounds, 1);
		atomic_store_explicit(&P.iteration, it + 1, memory_order_release);
		/* Counted before the window opens: its writes may all land at once. */
		w0 = total_writes();
		atomic_fetch_add(&P.window, 1);

		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		tdpmmu_counters_read(P.vm, c);
		proven = part2_proven(c);
		/* Up to 10x (at least 3 s: each mode gets a share of --seconds). */
		if (proven || now - start > (uint64_t)(fmax(10 * seconds, 3) * 1e9) || P.failures ||
		    atomic_load(&P.run_errors))
			break;
	}
	atomic_store(&P.stop, true);
	pthread_join(toggler, NULL);
	for (int i = 0; i < nvcpus; i++)
		pthread_join(P.g[i].thread, NULL);

	tdpmmu_counters_read(P.vm, c);
	printf("test_dirty_log (%s, %s): %.1f s, %d vCPUs, %" PRIu64 " rounds, %" PRIu64
	       " writes, %" PRIu64 " pages reported, %" PRIu64 " (a) checks (B stable in %" PRIu64
	       " rounds), %" PRIu64 " excused in flight, %" PRIu64 " failures; B toggled %lld "
	       "times, %lld tables recovered, %lld eager splits under the vCPUs; pages_logged_dirty %lld, leaves_write_protected "
	       "%lld, fast_faults_fixed %lld, eager_splits %lld, huge_pages_recovered %lld, "
	       "collapsible_tables_zapped %lld, nx_tables_recovered %lld, tlb_flushes %lld; "
	       "dirty_bits_cleared %lld (%lld by enables under the vCPUs), pml_entries_logged "
	       "%lld, pml_flushes %lld, pml_full_exits %lld\n",
	       tdpmmu_dirty_mode_name(mode), manual ? "manual protect" : "get clears",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, atomic_load(&P.rounds),
	       total_writes(), P.reported, P.a_checks, P.rounds_b_checked, P.excused, P.failures,
	       (long long)atomic_load(&P.toggles), (long long)atomic_load(&P.recovered),
	       (long long)atomic_load(&P.toggle_splits), (long long)c[TDPMMU_C_PAGES_LOGGED_DIRTY],
	       (long long)c[TDPMMU_C_LEAVES_WRPROT], (long long)c[TDPMMU_C_FAST_FAULTS_FIXED],
	       (long long)c[TDPMMU_C_EAGER_SPLITS], (long long)c[TDPMMU_C_HUGE_RECOVERED],
	       (long long)c[TDPMMU_C_COLLAPSIBLE_ZAPPED], (long long)c[TDPMMU_C_NX_RECOVERED],
	       (long long)c[TDPMMU_C_TLB_FLUSHES], (long long)c[TDPMMU_C_DBIT_CLEARED],
	       (long long)atomic_load(&P.toggle_dclears), (long long)c[TDPMMU_C_PML_LOGGED],
	       (long long)c[TDPMMU_C_PML_FLUSHES], (long long)c[TDPMMU_C_PML_FULL_EXITS]);
	CHECK_EQ(P.failures, 0);
	CHECK_EQ(atomic_load(&P.run_errors), 0);
	CHECK_EQ(atomic_load(&P.toggle_errors), 0);
	CHECK(P.a_checks > 0);
	CHECK(P.rounds_b_checked > 0);
	CHECK(part2_proven(c));
	if (mode == TDPMMU_DIRTY_WRPROT)
		CHECK_EQ(c[TDPMMU_C_PML_LOGGED], 0);
	CHECK_EQ(tdpmmu_audit(P.vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(P.vm), 0);
	for (int i = 0; i < nvcpus; i++)
		tdpmmu_vcpu_destroy(P.g[i].v);
	tdpmmu_vm_destroy(P.vm);
}

/*
 * --dirty-mode wrprot|dbit|both (default both, each mode getting its share
 * of --seconds) is taken out before the common options are parsed.
 */
static int take_dirty_mode(int *argc, char **argv, bool *modes)
{
	for (int i = 1; i < *argc; i++) {
		enum tdpmmu_dirty_mode m;

		if (strcmp(argv[i], "--dirty-mode"))
			continue;
		if (i + 1 >= *argc) {
			fprintf(stderr, "--dirty-mode: needs wrprot, dbit or both\n");
			exit(2);
		}
		if (!strcmp(argv[i + 1], "both")) {
			modes[0] = modes[1] = true;
		} else if (!tdpmmu_dirty_mode_parse(argv[i + 1], &m)) {
			modes[0] = modes[1] = false;
			modes[m] = true;
		} else {
			fprintf(stderr, "--dirty-mode: '%s' is not wrprot, dbit or both\n",
				argv[i + 1]);
			exit(2);
		}
		memmove(&argv[i], &argv[i + 2], sizeof(char *) * (size_t)(*argc - i - 1));
		*argc -= 2;
		i--;
	}
	return modes[0] + modes[1];
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = 2, .seed = 1 };
	bool modes[TDPMMU_NR_DIRTY_MODES] = { true, true };
	int nmodes = take_dirty_mode(&argc, argv, modes);

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	if (modes[TDPMMU_DIRTY_WRPROT])
		part1();
	if (modes[TDPMMU_DIRTY_DBIT])
		part1_dbit();
	for (int m = 0; m < TDPMMU_NR_DIRTY_MODES; m++) {
		if (!modes[m])
			continue;
		part2((enum tdpmmu_dirty_mode)m, false, o.seconds / 2 / nmodes, o.vcpus, o.seed);
		part2((enum tdpmmu_dirty_mode)m, true, o.seconds / 2 / nmodes, o.vcpus, o.seed);
	}
	return check_report("test_dirty_log");
}
