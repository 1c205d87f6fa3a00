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
 *  (i)  the churn thread (host_churn.h) migrates and compacts the THP
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

#include "check.h"
#include "test_opts.h"
#include "compiler.h"
#include "host_churn.h"
#include "tdpmmu/tdpmmu.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 4
#define MAX_WORDS 1024

#define HUGE_BASE 0ull /* hugetlb-1g: frames at 1 GiB */
#define HUGE_PAGES GB_PAGES
#define THP_BASE GB_PAGES /* THP: frames at 2 GiB */
#define THP_BLOCKS 16ull
#define THP_PAGES (THP_BLOCKS * MB2)
#define CHURN_CYCLES 16384ull

static struct tdpmmu_vm *vm;
static atomic_bool stop;
static atomic_long mismatches, run_errors, shaper_errors;
static _Atomic uint64_t block_moves[THP_BLOCKS]; /* remaps of each THP block */

struct word {
	uint64_t gpa;
	uint64_t last;  /* last value written (owner only) */
	uint64_t moves; /* block_moves of its block seen after the last write completed */
};

struct guest {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t rs, n;
	struct word w[MAX_WORDS];
	int nwords;
	int pending;      /* word of the access in flight, -1 none */
	bool pending_read;
	uint64_t reads_ok, writes;
	_Atomic uint64_t reads_after_move; /* the main thread watches it */
	pthread_t thread;
};

static int nvcpus = 3, nwords = 256;
static struct guest guests[MAX_VCPUS];

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

static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct guest *g = ctx;
	struct word *w;
	int j;

	if (g->pending >= 0) {
		w = &g->w[g->pending];
		if (g->pending_read) {
			if (a->value != w->last) {
				fprintf(stderr,
					"vCPU %d: gfn 0x%" PRIx64 " offset 0x%" PRIx64
					": expected 0x%" PRIx64 ", got 0x%" PRIx64 "%s\n",
					g->id, w->gpa >> 12, w->gpa & 4095, w->last, a->value,
					moves_of(w->gpa) != w->moves ? " (its block moved since)" : "");
				atomic_fetch_add(&mismatches, 1);
				w->last = a->value; /* report each loss once */
			} else {
				g->reads_ok++;
				if (moves_of(w->gpa) != w->moves)
					atomic_fetch_add_explicit(&g->reads_after_move, 1,
								  memory_order_relaxed);
			}
		} else {
			/*
			 * The write completed.  A move counted from now on ended after
			 * now; the write cannot have happened inside that invalidation
			 * (no translation exists then), so the remap copied its value.
			 */
			w->moves = moves_of(w->gpa);
		}
		g->pending = -1;
	}
	if (atomic_load_explicit(&stop, memory_order_relaxed) || (++g->n & 0x3fff) == 0)
		return false;
	j = (int)(test_rand(&g->rs) % (uint64_t)g->nwords);
	w = &g->w[j];
	a->gpa = w->gpa;
	g->pending = j;
	g->pending_read = test_rand(&g->rs) % 2;
	if (g->pending_read) {
		a->type = TDPMMU_ACCESS_READ;
	} else {
		w->last = ((uint64_t)(g->id + 1) << 56) | ++g->writes;
		a->type = TDPMMU_ACCESS_WRITE;
		a->value = w->last;
	}
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct guest *g = arg;

	vcpu_run_until(g->v, g->id, guest_next, g, &stop, &run_errors);
	return NULL;
}

/* Splits, huge-over-table replacements and zaps where the words live. */
static void *shaper_thread(void *arg)
{
	uint64_t rs = (uint64_t)(uintptr_t)arg;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct guest *g = &guests[test_rand(&rs) % (uint64_t)nvcpus];
		uint64_t gfn = g->w[test_rand(&rs) % (uint64_t)g->nwords].gpa >> 12;
		uint64_t r = test_rand(&rs) % 16;
		int err = 0;

		if (r < 7) {
			/* Split whatever huge leaf maps it down to 4K... */
			err = tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, 1, NULL);
			/* ...and now and then put a huge leaf back over the tables. */
			if (!err && r < 5)
				err = tdpmmu_fault(v, gfn ^ (test_rand(&rs) % 64), TDPMMU_ACCESS_READ,
						   (int)(test_rand(&rs) % 4), NULL);
		} else if (r < 14) {
			err = tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, (int)(test_rand(&rs) % 4), NULL);
		} else {
			err = tdpmmu_zap_range(vm, gfn & ~7ull, (gfn & ~7ull) + 1 + test_rand(&rs) % 1024);
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

static bool taken(uint64_t gpa)
{
	for (int i = 0; i < nvcpus; i++)
		for (int j = 0; j < guests[i].nwords; j++)
			if (guests[i].w[j].gpa == gpa)
				return true;
	return false;
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1, .words = nwords };
	double seconds;
	uint64_t seed, start, now, rs;
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ 0, HUGE_BASE, HUGE_PAGES, TDPMMU_BACKING_HUGETLB_1G, 0 },
		{ 1, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
	};
	struct tdp_churn churn = { .after_end = after_end, .discard_old = true };
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t reads_ok = 0, after_move = 0, writes = 0, host_bad = 0, moves = 0;
	pthread_t shaper;

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	if (o.words < 2 || o.words > MAX_WORDS) {
		fprintf(stderr, "bad --words (2..%d)\n", MAX_WORDS);
		return 2;
	}
	seconds = o.seconds;
	seed = o.seed;
	nvcpus = o.vcpus;
	nwords = o.words;
	tdpmmu_vm_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	/* hugetlb frames at 1 GiB, THP frames at 2 GiB, then the churn's supply. */
	cfg.payload_bytes = (2 * GB_PAGES + THP_PAGES + CHURN_CYCLES * 2 * MB2) * 4096ull;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	for (unsigned i = 0; i < ARRAY_SIZE(slots); i++)
		REQUIRE(tdpmmu_memslot_add(vm, &slots[i]) == 0);

	/*
	 * The words: half in the THP slot, half in the first 8 MiB of the
	 * hugetlb one (so its 1G leaf, the 2M ones and the 4K tables under it
	 * all get exercised), at random pages and offsets, never shared.
	 */
	rs = seed * 6151 + 11;
	for (int j = 0; j < nwords; j++) {
		for (int i = 0; i < nvcpus; i++) {
			struct guest *g = &guests[i];
			uint64_t gpa;

			do {
				uint64_t gfn = j % 2 ? THP_BASE + test_rand(&rs) % THP_PAGES
						     : HUGE_BASE + test_rand(&rs) % (16 * MB2);

				gpa = (gfn << 12) + (test_rand(&rs) % 512) * 8;
			} while (taken(gpa));
			g->w[g->nwords++] = (struct word){ .gpa = gpa };
		}
	}
	for (int i = 0; i < nvcpus; i++) {
		REQUIRE(tdpmmu_vcpu_create(vm, &guests[i].v) == 0);
		guests[i].id = i;
		guests[i].rs = seed * 977 + (uint64_t)i + 1;
		guests[i].pending = -1;
	}
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&guests[i].thread, NULL, vcpu_thread, &guests[i]) == 0);
	REQUIRE(pthread_create(&shaper, NULL, shaper_thread, (void *)(uintptr_t)(seed * 31 + 5)) ==
		0);
	REQUIRE(tdp_churn_start(&churn, vm, THP_BASE, THP_BASE + THP_PAGES, seed) == 0);

	start = tdp_now_ns();
	for (;;) {
		bool proven;

		sched_yield(); /* only watching */
		now = tdp_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		tdpmmu_read_counters(vm, c);
		after_move = 0;
		for (int i = 0; i < nvcpus; i++)
			after_move += atomic_load(&guests[i].reads_after_move);
		proven = c[TDPMMU_C_HUGE_SPLITS] > 0 && c[TDPMMU_C_TABLES_REPLACED] > 0 &&
			 c[TDPMMU_C_NOTIFIER_RETRIES] > 0 && atomic_load(&churn.huge_cycles) > 0 &&
			 atomic_load(&churn.cycles) > atomic_load(&churn.huge_cycles) &&
			 after_move > 0;
		if (proven || now - start > (uint64_t)(10 * seconds * 1e9) ||
		    atomic_load(&mismatches) || atomic_load(&run_errors) ||
		    atomic_load(&churn.out_of_frames) || atomic_load(&churn.error))
			break;
	}
	tdp_churn_stop(&churn);
	atomic_store(&stop, true);
	pthread_join(shaper, NULL);
	for (int i = 0; i < nvcpus; i++)
		pthread_join(guests[i].thread, NULL);

	/* Every word, through the host. */
	for (int i = 0; i < nvcpus; i++) {
		struct guest *g = &guests[i];

		reads_ok += g->reads_ok;
		writes += g->writes;
		for (int j = 0; j < g->nwords; j++) {
			uint64_t val = 0;

			REQUIRE(tdpmmu_host_read(vm, g->w[j].gpa, &val) == 0);
			if (val != g->w[j].last && host_bad++ < 10)
				fprintf(stderr,
					"host: gfn 0x%" PRIx64 " offset 0x%" PRIx64 ": expected 0x%" PRIx64
					", got 0x%" PRIx64 "\n",
					g->w[j].gpa >> 12, g->w[j].gpa & 4095, g->w[j].last, val);
		}
	}
	after_move = 0;
	for (int i = 0; i < nvcpus; i++)
		after_move += atomic_load(&guests[i].reads_after_move);
	for (unsigned b = 0; b < THP_BLOCKS; b++)
		moves += atomic_load(&block_moves[b]);
	tdpmmu_read_counters(vm, c);
	printf("test_consistency: %.1f s, %d vCPUs x %d words: %" PRIu64 " writes, %" PRIu64
	       " reads ok (%" PRIu64 " after their block moved), %ld mismatches, %" PRIu64
	       " host mismatches; churn %" PRIu64 " cycles (%" PRIu64 " compactions)%s; "
	       "huge_splits %lld, tables_replaced %lld, notifier_retries %lld, "
	       "leaves_zapped %lld, tlb_flush_kicks %lld\n",
	       (double)(tdp_now_ns() - start) / 1e9, nvcpus, nwords, writes, reads_ok, after_move,
	       atomic_load(&mismatches), host_bad, moves, atomic_load(&churn.huge_cycles),
	       atomic_load(&churn.out_of_frames) ? " (ran out of frames)" : "",
	       (long long)c[TDPMMU_C_HUGE_SPLITS], (long long)c[TDPMMU_C_TABLES_REPLACED],
	       (long long)c[TDPMMU_C_NOTIFIER_RETRIES], (long long)c[TDPMMU_C_LEAVES_ZAPPED],
	       (long long)c[TDPMMU_C_TLB_FLUSH_KICKS]);
	CHECK_EQ(atomic_load(&mismatches), 0);
	CHECK_EQ(host_bad, 0);
	CHECK_EQ(atomic_load(&run_errors), 0);
	CHECK_EQ(atomic_load(&shaper_errors), 0);
	CHECK_EQ(atomic_load(&churn.error), 0);
	CHECK(reads_ok > 0);
	CHECK(after_move > 0);
	CHECK(c[TDPMMU_C_HUGE_SPLITS] > 0);
	CHECK(c[TDPMMU_C_TABLES_REPLACED] > 0);
	CHECK(c[TDPMMU_C_NOTIFIER_RETRIES] > 0);
	CHECK(atomic_load(&churn.huge_cycles) > 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	return check_report("test_consistency");
}
