/*
 * test_aging.c - aging (test_young, clear_young, clear_flush_young) and
 * write_protect_gfn.
 *
 * (a) Single-threaded aging.  4K leaves in an anon slot and 2M leaves in a
 *     hugetlb-2m slot, mapped by tdpmmu_fault: test_young says young,
 *     clear_young returns the number of leaves and young_cleared counts
 *     them, test_young then says old, and every leaf is the same entry with
 *     Accessed clear.  A vCPU that reads a subset of the pages after
 *     clear_flush_young sets Accessed again on exactly the leaves it read.
 *     After clear_young without a flush, a vCPU whose TLB still holds the
 *     translation reads through it and sets nothing: the page looks idle
 *     although it is used (KVM's clear_young behaves the same, which is
 *     why access_tracking_perf_test cannot be exact); we print what
 *     happened and assert nothing about it.  Bad ranges return -EINVAL or
 *     -ERANGE and change nothing.
 *
 * (b) write_protect_gfn on a 4K and a 2M leaf: W and MMU-writable clear,
 *     every other bit (Dirty included) kept; a second call returns 0; a
 *     permission write fault (WRITE|PRESENT) cannot be fixed by the fast
 *     path and goes through the slow path (faults_slow grows, faults_fast
 *     does not), which maps the page writable again at the same level and
 *     frame.  A guest write through a TLB entry that was writable before the
 *     protection faults (so the flush happened) and lands in host memory.
 *
 * (c) Concurrent aging.  In rounds, each in a fresh VM with real backing,
 *     vCPUs sweep their pages (each page written exactly once per round, at
 *     a random sweep, read on the others) while an aging thread loops over
 *     clear_flush_young / clear_young / test_young on random ranges and a
 *     zapping thread zaps small ranges (now and then everything) and
 *     refaults them, sometimes capped at 4K inside the 2M slot so that a
 *     vCPU's 2M fault later replaces the table (teardown, FROZEN entries).
 *     After each round every written page is Dirty in its leaf or dirty in
 *     the host and holds the value written (aging never drops D), and the
 *     audit is clean.  The library exports nothing about aging's CAS
 *     failures, so the race is proved from outside: the aging thread counts
 *     calls during which leaves were zapped, tables were retired, and the
 *     vCPUs' walkers set A/D bits (all read before and after the call).
 *     Rounds go on past --seconds (up to 10x) until each is non-zero, a
 *     fault replaced a table with a huge leaf and aging cleared Accessed
 *     bits.  Every vCPU's TLB is audited against the tables wherever the
 *     threads are stopped (tdpmmu_audit_tlbs).
 *
 *   test_aging [--seconds S] [--vcpus N] [--seed S]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "lib/util.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"
#include "lib/test_opts.h"
#include "lib/written_once.h"
#include "lib/test_vm.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 4

#define ANON_BASE 0ull
#define ANON_PAGES 1024ull
#define HUGE_BASE (8 * MB2) /* 2 MiB aligned, for hugetlb-2m */
#define HUGE_PAGES (4 * MB2)
#define SPACE_END (HUGE_BASE + HUGE_PAGES)
#define PAYLOAD_BYTES ((3 * GB_PAGES) * 4096ull)

static struct tdpmmu_vm *make_vm(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ 0, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
		{ 1, HUGE_BASE, HUGE_PAGES, TDPMMU_BACKING_HUGETLB_2M, 0 },
	};
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = PAYLOAD_BYTES;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	return vm;
}

static struct tdpmmu_vcpu_stats vcpu_stats(const struct tdpmmu_vcpu *v)
{
	struct tdpmmu_vcpu_stats st;

	tdpmmu_vcpu_stats_read(v, &st);
	return st;
}

/* A guest program: a fixed list of accesses. */
struct prog {
	struct tdpmmu_access *acc;
	size_t n, i;
};

static bool prog_next(void *ctx, struct tdpmmu_access *a)
{
	struct prog *p = ctx;

	if (p->i == p->n)
		return false;
	*a = p->acc[p->i++];
	return true;
}

static int run_prog(struct tdpmmu_vcpu *v, struct tdpmmu_access *acc, size_t n)
{
	struct prog p = { acc, n, 0 };
	int r = tdpmmu_vcpu_run(v, prog_next, &p, 0);

	CHECK_EQ(p.i, n);
	return r;
}

static struct tdpmmu_mapping lookup(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m;
}

/* --- (a) single-threaded aging ------------------------------------------- */

#define A_4K_PAGES 200 /* 4K leaves mapped in the anon slot */
#define A_2M_BLOCKS 3  /* of the 4 hugetlb blocks */
#define A_LEAVES (A_4K_PAGES + A_2M_BLOCKS)

/* The gfn standing for leaf @i: the 4K pages first, then one gfn per block. */
static uint64_t a_gfn(int i)
{
	if (i < A_4K_PAGES)
		return ANON_BASE + (uint64_t)i * 3 % ANON_PAGES;
	return HUGE_BASE + (uint64_t)(i - A_4K_PAGES) * MB2 + 77;
}

static void snapshot(struct tdpmmu_vm *vm, tdpmmu_spte_t *s)
{
	for (int i = 0; i < A_LEAVES; i++) {
		struct tdpmmu_mapping m = lookup(vm, a_gfn(i));

		s[i] = m.present ? m.spte : 0;
	}
}

/* Every leaf is @before with the bits in @clear removed (Accessed, typically).
 */
static int compare_leaves(struct tdpmmu_vm *vm, const tdpmmu_spte_t *before, tdpmmu_spte_t clear,
			  const char *what)
{
	tdpmmu_spte_t now[A_LEAVES];
	int bad = 0;

	snapshot(vm, now);
	for (int i = 0; i < A_LEAVES; i++) {
		if (now[i] != (before[i] & ~clear) && bad++ < 5)
			fprintf(stderr,
				"%s: gfn 0x%" PRIx64 " is 0x%016" PRIx64 ", expected 0x%016" PRIx64
				"\n",
				what, a_gfn(i), now[i], before[i] & ~clear);
	}
	return bad;
}

static void check_bad_ranges(struct tdpmmu_vm *vm)
{
	uint64_t max = tdpmmu_vm_max_gfn(vm);
	int (*fn[])(struct tdpmmu_vm *, uint64_t,
		    uint64_t) = { tdpmmu_test_young, tdpmmu_clear_young, tdpmmu_clear_flush_young };
	tdpmmu_spte_t before[A_LEAVES];
	int64_t cleared = test_counter(vm, TDPMMU_C_YOUNG_CLEARED);
	int64_t flushes = test_counter(vm, TDPMMU_C_TLB_FLUSHES);

	snapshot(vm, before);
	for (unsigned k = 0; k < ARRAY_SIZE(fn); k++) {
		CHECK_EQ(fn[k](vm, 5, 5), -EINVAL);
		CHECK_EQ(fn[k](vm, 100, 5), -EINVAL);
		CHECK_EQ(fn[k](vm, 0, max + 1), -ERANGE); /* covers every young leaf */
		CHECK_EQ(fn[k](vm, max, max + 1), -ERANGE);
		CHECK_EQ(fn[k](vm, 0, UINT64_MAX), -ERANGE);
		CHECK_EQ(fn[k](NULL, 0, 1), -EINVAL);
	}
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, max), -ERANGE);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, UINT64_MAX), -ERANGE);
	CHECK_EQ(tdpmmu_write_protect_gfn(NULL, 0), -EINVAL);
	CHECK_EQ(compare_leaves(vm, before, 0, "after bad input"), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_YOUNG_CLEARED), cleared);
	CHECK_EQ(test_counter(vm, TDPMMU_C_TLB_FLUSHES), flushes);
	/* The whole address width is a legal range. */
	CHECK_EQ(tdpmmu_test_young(vm, 0, max), 1);
}

static char aging_summary[256];

static void test_aging_single(void)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_vcpu *v;
	tdpmmu_spte_t before[A_LEAVES], now[A_LEAVES];
	struct tdpmmu_access acc[A_LEAVES];
	int64_t cleared0;
	int read_set = 0, bad = 0, r, still_idle = 0;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(tdpmmu_test_young(vm, 0, SPACE_END), 0); /* nothing mapped */
	CHECK_EQ(tdpmmu_clear_young(vm, 0, SPACE_END), 0);
	for (int i = 0; i < A_LEAVES; i++) {
		struct tdpmmu_fault_result res;

		REQUIRE(tdpmmu_fault(v, a_gfn(i), i % 2 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ,
				     0, &res) == 0);
		CHECK_EQ(res.level, i < A_4K_PAGES ? 1 : 2);
	}
	snapshot(vm, before);
	for (int i = 0; i < A_LEAVES; i++)
		REQUIRE(before[i] && tdpmmu_spte_accessed(before[i]));
	check_bad_ranges(vm);

	/* Young; clearing counts every leaf once, 2M ones included; then old. */
	CHECK_EQ(tdpmmu_test_young(vm, 0, SPACE_END), 1);
	CHECK_EQ(tdpmmu_test_young(vm, HUGE_BASE + MB2 + 5, HUGE_BASE + MB2 + 6), 1);
	cleared0 = test_counter(vm, TDPMMU_C_YOUNG_CLEARED);
	CHECK_EQ(tdpmmu_clear_young(vm, 0, SPACE_END), A_LEAVES);
	CHECK_EQ(test_counter(vm, TDPMMU_C_YOUNG_CLEARED) - cleared0, A_LEAVES);
	CHECK_EQ(tdpmmu_test_young(vm, 0, SPACE_END), 0);
	CHECK_EQ(tdpmmu_clear_young(vm, 0, SPACE_END), 0);
	CHECK_EQ(compare_leaves(vm, before, TDPMMU_SPTE_ACCESSED, "after clear_young"), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);

	/* A vCPU reads every page: its TLB now holds every translation. */
	for (int i = 0; i < A_LEAVES; i++)
		acc[i] = (struct tdpmmu_access){ a_gfn(i) << 12, TDPMMU_ACCESS_READ, 0 };
	CHECK_EQ(run_prog(v, acc, A_LEAVES), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	snapshot(vm, before);
	for (int i = 0; i < A_LEAVES; i++)
		CHECK(tdpmmu_spte_accessed(before[i]));

	/* After clear_flush_young, exactly the leaves read again are young. */
	CHECK_EQ(tdpmmu_clear_flush_young(vm, 0, SPACE_END), A_LEAVES);
	CHECK_EQ(tdpmmu_clear_flush_young(vm, 0, SPACE_END), 0);
	for (int i = 0; i < A_LEAVES; i += 3)
		acc[read_set++] = (struct tdpmmu_access){ a_gfn(i) << 12, TDPMMU_ACCESS_READ, 0 };
	CHECK_EQ(run_prog(v, acc, (size_t)read_set), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	snapshot(vm, now);
	for (int i = 0; i < A_LEAVES; i++) {
		tdpmmu_spte_t want = (before[i] & ~TDPMMU_SPTE_ACCESSED) |
				     (i % 3 ? 0 : TDPMMU_SPTE_ACCESSED);

		if (now[i] != want && bad++ < 5)
			fprintf(stderr,
				"after flush + reads: gfn 0x%" PRIx64 " is 0x%016" PRIx64
				", expected 0x%016" PRIx64 "\n",
				a_gfn(i), now[i], want);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(tdpmmu_test_young(vm, 0, SPACE_END), 1);

	/*
	 * clear_young without a flush: the vCPU's TLB still holds the
	 * translations it just used, so reading them again need not walk and
	 * need not set Accessed.  Not asserted either way; printed.
	 */
	r = tdpmmu_clear_young(vm, 0, SPACE_END);
	CHECK_EQ(r, read_set);
	CHECK_EQ(run_prog(v, acc, (size_t)read_set), 0);
	snapshot(vm, now);
	for (int i = 0; i < A_LEAVES; i += 3)
		still_idle += !tdpmmu_spte_accessed(now[i]);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	/* Accessed cleared without a flush: the TLB still agrees on frames, W and X. */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	snprintf(aging_summary, sizeof(aging_summary),
		 "single: %d leaves (%d 4K, %d 2M) aged, %d re-read after "
		 "clear_flush_young all "
		 "young again, %d of %d re-read after clear_young (no flush) still "
		 "look idle",
		 A_LEAVES, A_4K_PAGES, A_2M_BLOCKS, read_set, still_idle, read_set);
	tdpmmu_vm_destroy(vm);
}

/* --- (b) write_protect_gfn -------------------------------------------------
 */

#define WP_BITS (TDPMMU_SPTE_W | TDPMMU_SPTE_MMU_WRITABLE)

static void check_protected(struct tdpmmu_vm *vm, uint64_t gfn, tdpmmu_spte_t before)
{
	struct tdpmmu_mapping m = lookup(vm, gfn);

	CHECK(m.present);
	CHECK_EQ(m.spte, before & ~WP_BITS);
	CHECK(!tdpmmu_spte_writable(m.spte) && !tdpmmu_spte_mmu_writable(m.spte));
	CHECK(tdpmmu_spte_host_writable(m.spte));
}

/* A permission write fault after the protection must take the slow path. */
static void check_refault(struct tdpmmu_vm *vm, struct tdpmmu_vcpu *v, uint64_t gfn,
			  tdpmmu_spte_t before, int level)
{
	struct tdpmmu_vcpu_stats s0 = vcpu_stats(v), s1;
	struct tdpmmu_fault_result res;
	struct tdpmmu_mapping m;

	CHECK_EQ(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, &res), 0);
	s1 = vcpu_stats(v);
	CHECK_EQ(s1.faults_slow - s0.faults_slow, 1);
	CHECK_EQ(s1.faults_fast - s0.faults_fast, 0);
	CHECK_EQ(res.level, level);
	CHECK(!res.spurious);
	m = lookup(vm, gfn);
	CHECK(m.present && m.level == level);
	CHECK_EQ(tdpmmu_spte_pfn(m.spte), tdpmmu_spte_pfn(before));
	CHECK(tdpmmu_spte_writable(m.spte) && tdpmmu_spte_mmu_writable(m.spte));
	CHECK(tdpmmu_spte_dirty(m.spte) && tdpmmu_spte_accessed(m.spte));
	/* Writable again: the next permission write fault is spurious, fixed by the
	 * fast path. */
	s0 = vcpu_stats(v);
	CHECK_EQ(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, &res), 0);
	s1 = vcpu_stats(v);
	CHECK_EQ(s1.faults_fast - s0.faults_fast, 1);
	CHECK_EQ(s1.faults_slow - s0.faults_slow, 0);
}

static void test_write_protect(void)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_vcpu *v;
	const uint64_t g4 = ANON_BASE + 40, g2 = HUGE_BASE + MB2 + 300, g_guest = ANON_BASE + 41;
	struct tdpmmu_vcpu_stats s0, s1;
	struct tdpmmu_access acc[2];
	struct tdpmmu_mapping m;
	tdpmmu_spte_t b4, b2;
	uint64_t val = 0;
	int64_t wrprot0;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, g4), 0); /* nothing mapped */
	/* A dirty 4K leaf (write fault) and a clean 2M one (read fault). */
	REQUIRE(tdpmmu_fault(v, g4, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	REQUIRE(tdpmmu_fault(v, g2, TDPMMU_ACCESS_READ, 0, NULL) == 0);
	b4 = lookup(vm, g4).spte;
	m = lookup(vm, g2);
	b2 = m.spte;
	CHECK_EQ(m.level, 2);
	CHECK(tdpmmu_spte_writable(b4) && tdpmmu_spte_dirty(b4));
	CHECK(tdpmmu_spte_writable(b2) && !tdpmmu_spte_dirty(b2));

	wrprot0 = test_counter(vm, TDPMMU_C_LEAVES_WRPROT);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, g4), 1);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, g2), 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_LEAVES_WRPROT) - wrprot0, 2);
	check_protected(vm, g4, b4);
	check_protected(vm, g2, b2);
	/* The 2M leaf is protected whole: any gfn of the block sees it. */
	check_protected(vm, HUGE_BASE + MB2, b2);
	/* Already protected: nothing to do, not even for another gfn of the block. */
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, g4), 0);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, HUGE_BASE + MB2 + 1), 0);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, g4 + 1), 0); /* not mapped */
	/* Aging does not touch W. */
	CHECK(tdpmmu_clear_young(vm, g4, g4 + 1) == 1);
	check_protected(vm, g4, b4 & ~TDPMMU_SPTE_ACCESSED);
	CHECK_EQ(tdpmmu_audit(vm), 0);

	check_refault(vm, v, g4, b4, 1);
	check_refault(vm, v, g2, b2, 2);

	/*
	 * A guest write caches a writable translation; after the protection
	 * (and its flush) the next write must fault, through the slow path,
	 * and reach host memory.
	 */
	acc[0] = (struct tdpmmu_access){ g_guest << 12, TDPMMU_ACCESS_WRITE, 0x1111 };
	CHECK_EQ(run_prog(v, acc, 1), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	CHECK_EQ(tdpmmu_write_protect_gfn(vm, g_guest), 1);
	/* The writable translation the TLB held is gone, or its flush is pending. */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	s0 = vcpu_stats(v);
	acc[0] = (struct tdpmmu_access){ g_guest << 12, TDPMMU_ACCESS_WRITE, 0x2222 };
	acc[1] = (struct tdpmmu_access){ (g_guest << 12) + 8, TDPMMU_ACCESS_WRITE, 0x3333 };
	CHECK_EQ(run_prog(v, acc, 2), 0);
	s1 = vcpu_stats(v);
	CHECK_EQ(s1.ept_violations - s0.ept_violations, 1);
	CHECK_EQ(s1.faults_slow - s0.faults_slow, 1);
	CHECK_EQ(s1.faults_fast - s0.faults_fast, 0);
	CHECK_EQ(tdpmmu_host_read(vm, g_guest << 12, &val), 0);
	CHECK_EQ(val, 0x2222);
	CHECK_EQ(tdpmmu_host_read(vm, (g_guest << 12) + 8, &val), 0);
	CHECK_EQ(val, 0x3333);
	m = lookup(vm, g_guest);
	CHECK(m.present && tdpmmu_spte_writable(m.spte) && tdpmmu_spte_dirty(m.spte));
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vm_destroy(vm);
}

/* --- (c) concurrent aging ----------------------------------------------------
 */

#define RPAGES (ANON_PAGES + HUGE_PAGES)
#define SWEEPS 4

static int nvcpus = 2;
static atomic_long run_errors;

static uint64_t page_gfn(uint64_t p)
{
	return p < ANON_PAGES ? ANON_BASE + p : HUGE_BASE + (p - ANON_PAGES);
}

static uint64_t page_word_gpa(uint64_t p)
{
	return (page_gfn(p) << 12) + (p % 512) * 8;
}

static bool written[RPAGES];
static uint64_t value_of[RPAGES];
static uint8_t write_sweep[RPAGES]; /* the sweep in which the page is written */

struct sweeper {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t round, p;
	int sweep;
	pthread_t thread;
};

static bool sweeper_next(void *ctx, struct tdpmmu_access *a)
{
	struct sweeper *w = ctx;

	if (w->p >= RPAGES) {
		if (++w->sweep == SWEEPS)
			return false;
		w->p = (uint64_t)w->id;
	}
	a->gpa = page_word_gpa(w->p);
	if (write_sweep[w->p] == w->sweep) {
		a->type = TDPMMU_ACCESS_WRITE;
		a->value = value_of[w->p] = written_value(w->round, w->id, w->p);
		written[w->p] = true;
	} else {
		a->type = TDPMMU_ACCESS_READ;
	}
	w->p += (uint64_t)nvcpus;
	return true;
}

static void *sweeper_thread(void *arg)
{
	struct sweeper *w = arg;
	int r = tdpmmu_vcpu_run(w->v, sweeper_next, w, 0);

	if (r) {
		fprintf(stderr, "vCPU %d: tdpmmu_vcpu_run failed: %d\n", w->id, r);
		atomic_fetch_add(&run_errors, 1);
	}
	return NULL;
}

struct ager {
	struct tdpmmu_vm *vm;
	struct sweeper *w;
	atomic_bool *stop;
	uint64_t seed;
	uint64_t calls, cleared, young_tests;
	uint64_t during_zap, during_retire, during_ad; /* calls that overlapped those */
	pthread_t thread;
};

static uint64_t ad_updates_sum(struct ager *g)
{
	uint64_t n = 0;

	for (int i = 0; i < nvcpus; i++)
		n += vcpu_stats(g->w[i].v).ad_updates;
	return n;
}

static void *ager_thread(void *arg)
{
	struct ager *g = arg;
	uint64_t rs = g->seed;

	while (!atomic_load_explicit(g->stop, memory_order_relaxed)) {
		int64_t c0[TDPMMU_NR_COUNTERS], c1[TDPMMU_NR_COUNTERS];
		uint64_t start, end, ad0;
		unsigned kind = (unsigned)(test_rand(&rs) % 8);
		int r;

		if (test_rand(&rs) % 4 == 0) {
			start = 0;
			end = SPACE_END;
		} else {
			start = page_gfn(test_rand(&rs) % RPAGES);
			end = start + 1 + test_rand(&rs) % 1024;
		}
		tdpmmu_counters_read(g->vm, c0);
		ad0 = ad_updates_sum(g);
		if (kind < 3)
			r = tdpmmu_clear_flush_young(g->vm, start, end);
		else if (kind < 6)
			r = tdpmmu_clear_young(g->vm, start, end);
		else
			r = tdpmmu_test_young(g->vm, start, end);
		tdpmmu_counters_read(g->vm, c1);
		if (r < 0 || (kind >= 6 && r > 1)) {
			fprintf(stderr,
				"aging [0x%" PRIx64 ", 0x%" PRIx64 ") kind %u returned %d\n", start,
				end, kind, r);
			atomic_fetch_add(&run_errors, 1);
			break;
		}
		g->calls++;
		if (kind < 6)
			g->cleared += (uint64_t)r;
		else
			g->young_tests += (uint64_t)r;
		g->during_zap += c1[TDPMMU_C_LEAVES_ZAPPED] != c0[TDPMMU_C_LEAVES_ZAPPED];
		g->during_retire += c1[TDPMMU_C_TABLES_RETIRED] != c0[TDPMMU_C_TABLES_RETIRED];
		g->during_ad += ad_updates_sum(g) != ad0;
	}
	return NULL;
}

struct zapper {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *v; /* for its refaults */
	atomic_bool *stop;
	uint64_t seed, zaps, zap_alls, refaults;
	pthread_t thread;
};

static void *zapper_thread(void *arg)
{
	struct zapper *z = arg;
	uint64_t rs = z->seed;

	while (!atomic_load_explicit(z->stop, memory_order_relaxed)) {
		uint64_t gfn = page_gfn(test_rand(&rs) % RPAGES), len = 1 + test_rand(&rs) % 16;
		int cap = test_rand(&rs) % 2 ? 1 : 0;

		if (test_rand(&rs) % 64 == 0) {
			REQUIRE(tdpmmu_zap_all(z->vm) == 0);
			z->zap_alls++;
		} else {
			REQUIRE(tdpmmu_zap_range(z->vm, gfn, gfn + len) == 0);
			z->zaps++;
		}
		/* Refault part of it; a 4K cap in the 2M slot builds a table a 2M fault
		 * replaces. */
		for (uint64_t g = gfn; g < gfn + len && g < SPACE_END;
		     g += 1 + test_rand(&rs) % 4) {
			if (g >= ANON_PAGES && g < HUGE_BASE)
				continue;
			REQUIRE(tdpmmu_fault(z->v, g, TDPMMU_ACCESS_READ, cap, NULL) == 0);
			z->refaults++;
		}
		sched_yield();
	}
	return NULL;
}

struct totals {
	uint64_t rounds, bad;
	struct written_tally pages;
	uint64_t calls, cleared, young_tests, during_zap, during_retire, during_ad;
	uint64_t zaps, zap_alls, refaults;
	int64_t young_cleared, tables_replaced, dirty_dropped;
};

static void one_round(uint64_t round, uint64_t *rs, struct totals *t)
{
	struct tdpmmu_vm *vm = make_vm();
	struct sweeper w[MAX_VCPUS];
	atomic_bool stop = false;
	struct ager g = { .vm = vm, .w = w, .stop = &stop, .seed = test_rand(rs) | 1 };
	struct zapper z = { .vm = vm, .stop = &stop, .seed = test_rand(rs) | 1 };
	int64_t c[TDPMMU_NR_COUNTERS];

	memset(w, 0, sizeof(w));
	memset(written, 0, sizeof(written));
	for (uint64_t p = 0; p < RPAGES; p++)
		write_sweep[p] = (uint8_t)(test_rand(rs) % SWEEPS);
	for (int i = 0; i < nvcpus; i++) {
		REQUIRE(tdpmmu_vcpu_create(vm, &w[i].v) == 0);
		w[i].id = i;
		w[i].round = round;
		w[i].p = (uint64_t)i;
	}
	REQUIRE(tdpmmu_vcpu_create(vm, &z.v) == 0);
	REQUIRE(pthread_create(&g.thread, NULL, ager_thread, &g) == 0);
	REQUIRE(pthread_create(&z.thread, NULL, zapper_thread, &z) == 0);
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&w[i].thread, NULL, sweeper_thread, &w[i]) == 0);
	for (int i = 0; i < nvcpus; i++)
		pthread_join(w[i].thread, NULL);
	atomic_store(&stop, true);
	pthread_join(g.thread, NULL);
	pthread_join(z.thread, NULL);
	/* Quiescent: sweepers, aging and zapping threads all joined. */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* Every page written once: its leaf is Dirty or its frame is, and it holds
	 * the value. */
	for (uint64_t p = 0; p < RPAGES; p++)
		check_written_once(vm, round, page_gfn(p), page_word_gpa(p), written[p],
				   value_of[p], &t->pages, &t->bad);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_counters_read(vm, c);
	t->young_cleared += c[TDPMMU_C_YOUNG_CLEARED];
	t->tables_replaced += c[TDPMMU_C_TABLES_REPLACED];
	t->dirty_dropped += c[TDPMMU_C_DIRTY_LEAVES_DROPPED];
	/* What the aging thread cleared is what the library counted. */
	CHECK_EQ(c[TDPMMU_C_YOUNG_CLEARED], (int64_t)g.cleared);
	t->calls += g.calls;
	t->cleared += g.cleared;
	t->young_tests += g.young_tests;
	t->during_zap += g.during_zap;
	t->during_retire += g.during_retire;
	t->during_ad += g.during_ad;
	t->zaps += z.zaps;
	t->zap_alls += z.zap_alls;
	t->refaults += z.refaults;
	tdpmmu_vm_destroy(vm);
	t->rounds++;
}

static void test_aging_concurrent(double seconds, uint64_t seed)
{
	struct totals t = { 0 };
	uint64_t start = test_now_ns(), rs = seed * 977 + 5;

	for (;;) {
		uint64_t now;

		one_round(t.rounds, &rs, &t);
		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		if ((t.during_zap && t.during_retire && t.during_ad && t.tables_replaced &&
		     t.young_cleared) ||
		    now - start > (uint64_t)(10 * seconds * 1e9) || atomic_load(&run_errors) ||
		    t.bad || check_failures)
			break;
	}
	printf("test_aging: %s; concurrent: %.1f s, %d vCPUs, %" PRIu64 " rounds: %" PRIu64
	       " aging calls cleared %" PRIu64 " (young_cleared %lld), %" PRIu64
	       " test_young hits; calls overlapping zaps %" PRIu64 ", table teardowns %" PRIu64
	       ", vCPU A/D updates %" PRIu64 "; %" PRIu64 " zaps, %" PRIu64 " zap-alls, %" PRIu64
	       " refaults, tables_replaced_by_huge %lld; %" PRIu64 " pages written (%" PRIu64
	       " dirty in the leaf, %" PRIu64 " in the host), dirty_leaves_dropped %lld\n",
	       aging_summary, (double)(test_now_ns() - start) / 1e9, nvcpus, t.rounds, t.calls,
	       t.cleared, (long long)t.young_cleared, t.young_tests, t.during_zap, t.during_retire,
	       t.during_ad, t.zaps, t.zap_alls, t.refaults, (long long)t.tables_replaced,
	       t.pages.written, t.pages.in_leaf, t.pages.in_host, (long long)t.dirty_dropped);
	CHECK_EQ(atomic_load(&run_errors), 0);
	CHECK_EQ(t.bad, 0);
	CHECK(t.young_cleared > 0);
	CHECK(t.during_zap > 0);
	CHECK(t.during_retire > 0);
	CHECK(t.during_ad > 0);
	CHECK(t.tables_replaced > 0);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1 };

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	nvcpus = o.vcpus;
	test_aging_single();
	test_write_protect();
	test_aging_concurrent(o.seconds, o.seed);
	return check_report("test_aging");
}
