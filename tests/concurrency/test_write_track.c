/*
 * test_write_track.c - write tracking (tdpmmu_write_track_add/remove).
 *
 * (a) Single-threaded, exact.  A tracked gfn inside a writable 2M leaf
 *     makes the leaf read-only; a write fault on the gfn maps it 4K
 *     read-only and answers TDPMMU_FAULT_EMULATE; a write to another gfn
 *     of the block maps that one writable at 4K; neither way of huge-page
 *     recovery collapses the block while the gfn is tracked; adds nest;
 *     after the last remove recovery collapses the block and a write makes
 *     the 2M leaf writable.  Through tdpmmu_vcpu_run, guest writes to a tracked gfn are
 *     emulated: the value reaches host memory, reads return it, each write
 *     counts once in writes_emulated, and a logging slot reports the page.
 *     Deleting or moving a slot forgets its tracking.  Bad input: -EINVAL,
 *     -ERANGE, -ENOENT, and nothing changes.
 *
 * (b) Concurrent (real backing).  vCPUs read and write their own words in a
 *     THP slot while a churn thread migrates and compacts its blocks, the
 *     main thread keeps up to 8 of the words' gfns tracked (adding and
 *     removing at random), recovers huge pages in place between changes,
 *     and checks after each change that no leaf covering a tracked gfn is
 *     writable or MMU-writable.  Every read returns the last value written,
 *     and the host holds every last value at the end, emulated writes
 *     included.  The run goes on past --seconds (up to 10x) until writes
 *     were emulated, huge pages were recovered and the churn ran.
 *
 *   test_write_track [--seconds S] [--vcpus N] [--words N] [--seed S]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

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

#define HUGE_ID 0
#define HUGE_BASE 0ull /* hugetlb-2m: 4 blocks */
#define ANON_ID 1
#define ANON_BASE (8 * MB2) /* 4K pages */
#define ANON_PAGES 256ull

static bool leaf_writable(tdpmmu_spte_t s)
{
	return s & (TDPMMU_SPTE_W | TDPMMU_SPTE_MMU_WRITABLE);
}

/* One guest access at a time through tdpmmu_vcpu_run. */
struct one_access {
	struct tdpmmu_access a;
	bool done;
};

static bool one_access_next(void *ctx, struct tdpmmu_access *a)
{
	struct one_access *o = ctx;

	if (o->done) {
		o->a.value = a->value;
		return false;
	}
	o->done = true;
	*a = o->a;
	return true;
}

static uint64_t guest_access(struct tdpmmu_vcpu *v, unsigned type, uint64_t gpa, uint64_t value)
{
	struct one_access o = { .a = { .gpa = gpa, .type = type, .value = value } };

	REQUIRE(tdpmmu_vcpu_run(v, one_access_next, &o, 0) == 0);
	return o.a.value;
}

static void test_exact(void)
{
	struct tdpmmu_vm_config cfg;
	const struct tdpmmu_memslot slots[] = {
		{ HUGE_ID, HUGE_BASE, 4 * MB2, TDPMMU_BACKING_HUGETLB_2M, 0 },
		{ ANON_ID, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
	};
	const uint64_t g0 = HUGE_BASE + MB2 + 7, g1 = HUGE_BASE + MB2 + 100;
	const uint64_t a0 = ANON_BASE + 5;
	struct tdpmmu_fault_result res;
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm;
	uint64_t bm[ANON_PAGES / 64], val;
	int64_t emulated0, wrprot0;
	tdpmmu_spte_t s;
	int level;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 10;
	cfg.payload_bytes = 3 * GB_PAGES * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);

	/* A writable 2M leaf; tracking g1 inside it makes the whole leaf read-only. */
	CHECK_EQ(tdpmmu_fault(v, g0, TDPMMU_ACCESS_WRITE, 0, &res), 0);
	CHECK_EQ(res.level, 2);
	wrprot0 = test_counter(vm, TDPMMU_C_LEAVES_WRPROT);
	CHECK(!tdpmmu_write_tracked(vm, g1));
	CHECK_EQ(tdpmmu_write_track_add(vm, g1), 0);
	CHECK(tdpmmu_write_tracked(vm, g1));
	CHECK(!tdpmmu_write_tracked(vm, g0));
	CHECK_EQ(test_counter(vm, TDPMMU_C_LEAVES_WRPROT) - wrprot0, 1);
	s = test_leaf(vm, g1, &level);
	CHECK_EQ(level, 2);
	CHECK(s && !leaf_writable(s));

	/* A write to g1: 4K, read-only, emulate.  Every time, even with PRESENT. */
	for (int i = 0; i < 2; i++) {
		unsigned present = i ? TDPMMU_ACCESS_PRESENT : 0;

		CHECK_EQ(tdpmmu_fault(v, g1, TDPMMU_ACCESS_WRITE | present, 0, &res),
			 TDPMMU_FAULT_EMULATE);
		s = test_leaf(vm, g1, &level);
		CHECK_EQ(level, 1);
		CHECK(s && !leaf_writable(s));
	}
	/* A read of g1 is an ordinary fault; a write to g0 maps g0 writable at 4K. */
	CHECK_EQ(tdpmmu_fault(v, g1, TDPMMU_ACCESS_READ | TDPMMU_ACCESS_PRESENT, 0, NULL), 0);
	CHECK_EQ(tdpmmu_fault(v, g0, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, &res), 0);
	CHECK_EQ(res.level, 1);
	s = test_leaf(vm, g0, &level);
	CHECK(level == 1 && (s & TDPMMU_SPTE_W));

	/* Neither recovery collapses the block while g1 is tracked. */
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, HUGE_ID, TDPMMU_RECOVER_INPLACE), 0);
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, HUGE_ID, TDPMMU_RECOVER_ZAP), 0);
	s = test_leaf(vm, g1, &level);
	CHECK(level == 1 && !leaf_writable(s));

	/* Adds nest: two adds need two removes; a third remove is an error. */
	CHECK_EQ(tdpmmu_write_track_add(vm, g1), 0);
	CHECK_EQ(tdpmmu_write_track_remove(vm, g1), 0);
	CHECK(tdpmmu_write_tracked(vm, g1));
	CHECK_EQ(tdpmmu_fault(v, g1, TDPMMU_ACCESS_WRITE, 0, NULL), TDPMMU_FAULT_EMULATE);
	CHECK_EQ(tdpmmu_write_track_remove(vm, g1), 0);
	CHECK(!tdpmmu_write_tracked(vm, g1));
	CHECK_EQ(tdpmmu_write_track_remove(vm, g1), -EINVAL);

	/* Untracked: the block collapses, and a write makes the 2M leaf writable. */
	CHECK_EQ(tdpmmu_recover_huge_pages(vm, HUGE_ID, TDPMMU_RECOVER_INPLACE), 1);
	s = test_leaf(vm, g1, &level);
	CHECK(level == 2 && !(s & TDPMMU_SPTE_W));
	CHECK_EQ(tdpmmu_fault(v, g1, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, &res), 0);
	s = test_leaf(vm, g1, &level);
	CHECK(level == 2 && (s & TDPMMU_SPTE_W));

	/* Guest writes to a tracked page are emulated, and logged. */
	REQUIRE(tdpmmu_dirty_log_enable(vm, ANON_ID, TDPMMU_DIRTY_LOG_MANUAL_PROTECT) >= 0);
	CHECK_EQ(tdpmmu_write_track_add(vm, a0), 0);
	emulated0 = test_counter(vm, TDPMMU_C_WRITES_EMULATED);
	for (uint64_t i = 1; i <= 3; i++) {
		guest_access(v, TDPMMU_ACCESS_WRITE, (a0 << 12) + 8 * i, 0x1000 + i);
		CHECK_EQ(guest_access(v, TDPMMU_ACCESS_READ, (a0 << 12) + 8 * i, 0), 0x1000 + i);
		REQUIRE(tdpmmu_host_read(vm, (a0 << 12) + 8 * i, &val) == 0);
		CHECK_EQ(val, 0x1000 + i);
	}
	CHECK_EQ(test_counter(vm, TDPMMU_C_WRITES_EMULATED) - emulated0, 3);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	s = test_leaf(vm, a0, &level);
	CHECK(level == 1 && !leaf_writable(s));
	CHECK_EQ(tdpmmu_dirty_log_get(vm, ANON_ID, bm), 1);
	CHECK_EQ(bm[(a0 - ANON_BASE) / 64], 1ull << ((a0 - ANON_BASE) % 64));

	/* Bad input changes nothing. */
	CHECK_EQ(tdpmmu_write_track_add(NULL, a0), -EINVAL);
	CHECK_EQ(tdpmmu_write_track_add(vm, tdpmmu_vm_max_gfn(vm)), -ERANGE);
	CHECK_EQ(tdpmmu_write_track_add(vm, ANON_BASE + ANON_PAGES), -ENOENT);
	CHECK_EQ(tdpmmu_write_track_remove(vm, ANON_BASE + ANON_PAGES), -ENOENT);
	CHECK_EQ(tdpmmu_write_track_remove(vm, a0 + 1), -EINVAL);
	CHECK(tdpmmu_write_tracked(vm, a0));
	CHECK(!tdpmmu_write_tracked(vm, a0 + 1));

	/* Moving the slot forgets its tracking, at the old place and the new. */
	REQUIRE(tdpmmu_dirty_log_disable(vm, ANON_ID, TDPMMU_RECOVER_NONE) == 0);
	CHECK_EQ(tdpmmu_memslot_move(vm, ANON_ID, ANON_BASE + 4 * MB2), 0);
	CHECK(!tdpmmu_write_tracked(vm, a0));
	CHECK(!tdpmmu_write_tracked(vm, a0 + 4 * MB2));
	CHECK_EQ(tdpmmu_write_track_add(vm, a0 + 4 * MB2), 0);
	CHECK_EQ(tdpmmu_memslot_delete(vm, ANON_ID), 0);
	CHECK(!tdpmmu_write_tracked(vm, a0 + 4 * MB2));
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	printf("test_write_track: exact: ok\n");
}

#define C_ID 0
#define C_BASE 0ull
#define C_BLOCKS 16ull
#define CHURN_CYCLES 16384ull
#define MAX_TRACKED 8

static int nvcpus = 3, nwords = 128;
static struct word_guest guests[MAX_VCPUS];
static struct word_run run;

/* Every tracked gfn: no leaf that covers it may be writable. */
static uint64_t check_tracked(struct tdpmmu_vm *vm, const uint64_t *gfns, int n)
{
	uint64_t bad = 0;

	for (int i = 0; i < n; i++) {
		int level;
		tdpmmu_spte_t s = test_leaf(vm, gfns[i], &level);

		if (leaf_writable(s) && bad++ < 10)
			fprintf(stderr,
				"tracked gfn 0x%" PRIx64 ": level %d leaf 0x%016" PRIx64
				" is writable\n",
				gfns[i], level, s);
	}
	return bad;
}

static void test_concurrent(double seconds, uint64_t seed)
{
	const struct word_range ranges[2] = { { C_BASE, C_BLOCKS * MB2 },
					      { C_BASE, C_BLOCKS * MB2 } };
	const struct tdpmmu_memslot slot = { C_ID, C_BASE, C_BLOCKS * MB2, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_churn churn = { .discard_old = true };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	uint64_t rs = seed * 7309 + 3, start, changes = 0, collapsed = 0, bad = 0;
	uint64_t reads_ok = 0, writes = 0, host_bad = 0, tracked[MAX_TRACKED];
	int64_t c[TDPMMU_NR_COUNTERS];
	int ntracked = 0, r;
	long errors = 0;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = (2 * GB_PAGES + CHURN_CYCLES * 2 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	word_guests_place(guests, nvcpus, nwords, &rs, ranges);
	word_guests_start(guests, nvcpus, vm, seed, &run);
	REQUIRE(tdpmmu_churn_start(&churn, vm, C_BASE, C_BASE + C_BLOCKS * MB2, seed) == 0);

	start = test_now_ns();
	for (;;) {
		uint64_t now = test_now_ns();

		tdpmmu_counters_read(vm, c);
		if (now - start >= (uint64_t)(seconds * 1e9) &&
		    ((c[TDPMMU_C_WRITES_EMULATED] > 0 && collapsed > 0 &&
		      atomic_load(&churn.cycles) > 0) ||
		     now - start > (uint64_t)(10 * seconds * 1e9) || atomic_load(&run.mismatches) ||
		     atomic_load(&run.run_errors) || atomic_load(&churn.error) || errors || bad))
			break;
		if (ntracked == MAX_TRACKED || (ntracked && test_rand(&rs) % 2)) {
			/* Remove one at random; the last one takes its place. */
			int i = (int)(test_rand(&rs) % (uint64_t)ntracked);

			r = tdpmmu_write_track_remove(vm, tracked[i]);
			tracked[i] = tracked[--ntracked];
		} else {
			const struct word_guest *g = &guests[test_rand(&rs) % (uint64_t)nvcpus];

			tracked[ntracked] = g->w[test_rand(&rs) % (uint64_t)g->nwords].gpa >> 12;
			r = tdpmmu_write_track_add(vm, tracked[ntracked++]);
		}
		if (r) {
			fprintf(stderr, "write tracking: %d\n", r);
			errors++;
		}
		changes++;
		bad += check_tracked(vm, tracked, ntracked);
		r = tdpmmu_recover_huge_pages(vm, C_ID, TDPMMU_RECOVER_INPLACE);
		if (r < 0) {
			fprintf(stderr, "recover: %d\n", r);
			errors++;
		} else {
			collapsed += (uint64_t)r;
		}
		bad += check_tracked(vm, tracked, ntracked);
		sched_yield();
	}
	atomic_store(&run.stop, true);
	word_guests_join(guests, nvcpus);
	tdpmmu_churn_stop(&churn);
	host_bad = word_guests_check_host(vm, guests, nvcpus, &reads_ok, &writes);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_counters_read(vm, c);
	printf("test_write_track: concurrent: %.1f s, %d vCPUs x %d words: %" PRIu64
	       " writes (%lld emulated), %" PRIu64 " reads ok, %ld mismatches, %" PRIu64
	       " host mismatches; %" PRIu64 " tracking changes, %" PRIu64
	       " writable tracked leaves, %" PRIu64 " huge pages recovered; churn %" PRIu64
	       " cycles; notifier_retries %lld, huge_splits %lld\n",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, nwords, writes,
	       (long long)c[TDPMMU_C_WRITES_EMULATED], reads_ok, atomic_load(&run.mismatches),
	       host_bad, changes, bad, collapsed, atomic_load(&churn.cycles),
	       (long long)c[TDPMMU_C_NOTIFIER_RETRIES], (long long)c[TDPMMU_C_HUGE_SPLITS]);
	CHECK_EQ(atomic_load(&run.mismatches), 0);
	CHECK_EQ(host_bad, 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(atomic_load(&run.run_errors), 0);
	CHECK_EQ(atomic_load(&churn.error), 0);
	CHECK_EQ(errors, 0);
	CHECK(reads_ok > 0);
	CHECK(c[TDPMMU_C_WRITES_EMULATED] > 0);
	CHECK(collapsed > 0);
	tdpmmu_vm_destroy(vm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1, .words = nwords };

	word_guest_opts(argc, argv, &o, MAX_VCPUS, MAX_WORDS);
	nvcpus = o.vcpus;
	nwords = o.words;
	test_exact();
	test_concurrent(o.seconds, o.seed);
	return check_report("test_write_track");
}
