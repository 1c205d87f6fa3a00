/*
 * test_consistency.c - guest memory stays consistent through translation
 * changes (real backing).
 *
 * Each vCPU owns a set of 8-byte words, spread over the pages of a THP slot
 * and of a 1 GiB hugetlb slot (several vCPUs share pages and leaves, never
 * words).  Its guest program keeps writing increasing values to its words
 * and reading them back through its own TLB and the hardware walker; every
 * read must return the last value the vCPU wrote to that word.  Meanwhile:
 *
 *  (i)  the churn thread (tdpmmu_churn, tdpmmu/testing.h) migrates and compacts the THP
 *       slot's 2 MiB blocks: invalidate, new frames with the bytes copied,
 *       end.  A write that reached the old frame after the copy, or a read
 *       served from it, shows up as a wrong value.  (hugetlb memory is never
 *       remapped, so only the THP slot churns.)
 *  (ii) a shaper thread, with a vCPU handle of its own that never enters
 *       guest mode, splits huge leaves (tdpmmu_fault capped at 4K), puts
 *       huge leaves back over the tables (uncapped or 2M/1G caps), and zaps
 *       small ranges, on the pages the words live in.
 *
 * Any mismatch fails with the gfn, the value expected and the one read.
 * At the end every word is compared through the host (tdpmmu_host_read),
 * and the tree is audited.  The run goes on past --seconds (up to 10x)
 * until huge leaves were split and tables replaced under the vCPUs, both
 * kinds of remap happened, a fault retried on an invalidation, and words
 * were read back correctly after their block had moved since their write.
 *
 *   test_consistency [--seconds S] [--vcpus N] [--words N] [--seed S]
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
#include "lib/word_guest.h"
#include "lib/test_vm.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 4
#define MAX_WORDS WORD_GUEST_MAX_WORDS

#define HUGE_BASE 0ull /* hugetlb-1g: frames at 1 GiB */
#define HUGE_PAGES GB_PAGES
#define THP_BASE GB_PAGES /* THP: frames at 2 GiB */
#define THP_BLOCKS 16ull
#define THP_PAGES (THP_BLOCKS * MB2)
#define CHURN_CYCLES 16384ull

static struct tdpmmu_vm *vm;
static atomic_long shaper_errors;
static _Atomic uint64_t block_moves[THP_BLOCKS]; /* remaps of each THP block */

static int nvcpus = 3, nwords = 256;
static struct word_guest guests[MAX_VCPUS];
/* Per word: block_moves of its block seen after the last write completed. */
static uint64_t word_moves[MAX_VCPUS][MAX_WORDS];
static _Atomic uint64_t reads_after_move[MAX_VCPUS]; /* the main thread watches it */

static bool in_thp(uint64_t gpa)
{
	uint64_t gfn = gpa >> 12;

	return gfn >= THP_BASE && gfn < THP_BASE + THP_PAGES;
}

static uint64_t moves_of(uint64_t gpa)
{
	if (!in_thp(gpa))
		return 0;
	return atomic_load(&block_moves[((gpa >> 12) - THP_BASE) / MB2]);
}

/* Runs on the churn thread after each invalidate_end. */
static void after_end(void *ctx, uint64_t blk, uint64_t old_pfn, uint64_t new_pfn)
{
	atomic_fetch_add(&block_moves[(blk - THP_BASE) / MB2], 1);
}

/* Each access of a guest, once it completed: tracks the moves under its words. */
static void word_completed(struct word_guest *g, int j, unsigned type, bool ok)
{
	uint64_t gpa = g->w[j].gpa, *seen = &word_moves[g->id][j];

	if (type == TDPMMU_ACCESS_READ) {
		if (moves_of(gpa) == *seen)
			return;
		if (ok)
			atomic_fetch_add_explicit(&reads_after_move[g->id], 1,
						  memory_order_relaxed);
		else
			fprintf(stderr, "vCPU %d: gfn 0x%" PRIx64 ": its block moved since\n",
				g->id, gpa >> 12);
	} else {
		/*
		 * The write completed.  A move counted from now on ended after
		 * now; the write cannot have happened inside that invalidation
		 * (no translation exists then), so the remap copied its value.
		 */
		*seen = moves_of(gpa);
	}
}

static struct word_run run = { .completed = word_completed };

static uint64_t reads_after_moves(void)
{
	uint64_t n = 0;

	for (int i = 0; i < nvcpus; i++)
		n += atomic_load(&reads_after_move[i]);
	return n;
}

/* Splits, huge-over-table replacements and zaps where the words live. */
static void *shaper_thread(void *arg)
{
	uint64_t rs = (uint64_t)(uintptr_t)arg;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	while (!atomic_load_explicit(&run.stop, memory_order_relaxed)) {
		struct word_guest *g = &guests[test_rand(&rs) % (uint64_t)nvcpus];
		uint64_t gfn = g->w[test_rand(&rs) % (uint64_t)g->nwords].gpa >> 12;
		uint64_t r = test_rand(&rs) % 16;
		int err = 0;

		if (r < 7) {
			/* Split whatever huge leaf maps it down to 4K... */
			err = tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, 1, NULL);
			/* ...and now and then put a huge leaf back over the tables. */
			if (!err && r < 5)
				err = tdpmmu_fault(v, gfn ^ (test_rand(&rs) % 64),
						   TDPMMU_ACCESS_READ, (int)(test_rand(&rs) % 4),
						   NULL);
		} else if (r < 14) {
			err = tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, (int)(test_rand(&rs) % 4),
					   NULL);
		} else {
			err = tdpmmu_zap_range(vm, gfn & ~7ull,
					       (gfn & ~7ull) + 1 + test_rand(&rs) % 1024);
		}
		if (err) {
			fprintf(stderr, "shaper: gfn 0x%" PRIx64 ": %d\n", gfn, err);
			atomic_fetch_add(&shaper_errors, 1);
		}
		sched_yield();
	}
	tdpmmu_vcpu_destroy(v);
	return NULL;
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1, .words = nwords };
	double seconds;
	uint64_t seed, start, now, rs;
	/*
	 * The words: half in the first 8 MiB of the hugetlb slot (so its 1G
	 * leaf, the 2M ones and the 4K tables under it all get exercised), half
	 * in the THP one.
	 */
	const struct word_range ranges[2] = { { HUGE_BASE, 16 * MB2 }, { THP_BASE, THP_PAGES } };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ 0, HUGE_BASE, HUGE_PAGES, TDPMMU_BACKING_HUGETLB_1G, 0 },
		{ 1, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
	};
	struct tdpmmu_churn churn = { .after_end = after_end, .discard_old = true };
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t reads_ok = 0, after_move = 0, writes = 0, host_bad = 0, moves = 0;
	pthread_t shaper;

	word_guest_opts(argc, argv, &o, MAX_VCPUS, MAX_WORDS);
	seconds = o.seconds;
	seed = o.seed;
	nvcpus = o.vcpus;
	nwords = o.words;
	test_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	/* hugetlb frames at 1 GiB, THP frames at 2 GiB, then the churn's supply. */
	cfg.payload_bytes = (2 * GB_PAGES + THP_PAGES + CHURN_CYCLES * 2 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));

	rs = seed * 6151 + 11;
	word_guests_place(guests, nvcpus, nwords, &rs, ranges);
	word_guests_start(guests, nvcpus, vm, seed, &run);
	REQUIRE(pthread_create(&shaper, NULL, shaper_thread, (void *)(uintptr_t)(seed * 31 + 5)) ==
		0);
	REQUIRE(tdpmmu_churn_start(&churn, vm, THP_BASE, THP_BASE + THP_PAGES, seed) == 0);

	start = test_now_ns();
	for (;;) {
		bool proven;

		sched_yield(); /* only watching */
		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		tdpmmu_counters_read(vm, c);
		after_move = reads_after_moves();
		proven = c[TDPMMU_C_HUGE_SPLITS] > 0 && c[TDPMMU_C_TABLES_REPLACED] > 0 &&
			 c[TDPMMU_C_NOTIFIER_RETRIES] > 0 && atomic_load(&churn.huge_cycles) > 0 &&
			 atomic_load(&churn.cycles) > atomic_load(&churn.huge_cycles) &&
			 after_move > 0;
		if (proven || now - start > (uint64_t)(10 * seconds * 1e9) ||
		    atomic_load(&run.mismatches) || atomic_load(&run.run_errors) ||
		    atomic_load(&churn.out_of_frames) || atomic_load(&churn.error))
			break;
	}
	tdpmmu_churn_stop(&churn);
	atomic_store(&run.stop, true);
	pthread_join(shaper, NULL);
	word_guests_join(guests, nvcpus);
	/* Quiescent: churn stopped, shaper and vCPU threads joined. */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* Every word, through the host. */
	host_bad = word_guests_check_host(vm, guests, nvcpus, &reads_ok, &writes);
	after_move = reads_after_moves();
	for (unsigned b = 0; b < THP_BLOCKS; b++)
		moves += atomic_load(&block_moves[b]);
	tdpmmu_counters_read(vm, c);
	printf("test_consistency: %.1f s, %d vCPUs x %d words: %" PRIu64 " writes, %" PRIu64
	       " reads ok (%" PRIu64 " after their block moved), %ld mismatches, %" PRIu64
	       " host mismatches; churn %" PRIu64 " cycles (%" PRIu64 " compactions)%s; "
	       "huge_splits %lld, tables_replaced %lld, notifier_retries %lld, "
	       "leaves_zapped %lld, tlb_flush_kicks %lld\n",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, nwords, writes, reads_ok, after_move,
	       atomic_load(&run.mismatches), host_bad, moves, atomic_load(&churn.huge_cycles),
	       atomic_load(&churn.out_of_frames) ? " (ran out of frames)" : "",
	       (long long)c[TDPMMU_C_HUGE_SPLITS], (long long)c[TDPMMU_C_TABLES_REPLACED],
	       (long long)c[TDPMMU_C_NOTIFIER_RETRIES], (long long)c[TDPMMU_C_LEAVES_ZAPPED],
	       (long long)c[TDPMMU_C_TLB_FLUSH_KICKS]);
	CHECK_EQ(atomic_load(&run.mismatches), 0);
	CHECK_EQ(host_bad, 0);
	CHECK_EQ(atomic_load(&run.run_errors), 0);
	CHECK_EQ(atomic_load(&shaper_errors), 0);
	CHECK_EQ(atomic_load(&churn.error), 0);
	CHECK(reads_ok > 0);
	CHECK(after_move > 0);
	CHECK(c[TDPMMU_C_HUGE_SPLITS] > 0);
	CHECK(c[TDPMMU_C_TABLES_REPLACED] > 0);
	CHECK(c[TDPMMU_C_NOTIFIER_RETRIES] > 0);
	CHECK(atomic_load(&churn.huge_cycles) > 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vm_destroy(vm);
	return check_report("test_consistency");
}
