/*
 * test_dirty_ring.c - the dirty ring (KVM_CAP_DIRTY_LOG_RING).
 *
 * Part 1, single-threaded, exact: enable's errors (bad sizes, after a
 * vCPU, twice) change nothing; with a logging slot, each write fault
 * pushes exactly its (slot, offset) in order and nothing reaches the
 * bitmap; harvest flips entries and returns each once; reset frees and
 * re-protects exactly the harvested pages (a page pushed but not
 * harvested stays writable), and counts them; bad input returns its
 * error and changes no counter; a vCPU that fills its ring to the soft
 * limit through tdpmmu_vcpu_run stops there with
 * TDPMMU_EXIT_DIRTY_RING_FULL, does not run (nor fault) again until a
 * reset, and then resumes with the very access it stopped at: every
 * access performed once, in order.
 *
 * Part 2, KVM's dirty_log_test in ring mode: vCPUs write the iteration
 * number into random pages of a logging slot; the collector (main
 * thread) bumps the iteration, waits until every vCPU started an access
 * after the bump or is stopped on a soft-full ring, harvests every ring
 * and resets, then reads every page.  The oracle, "every write is in the
 * ring before the page can be written again unlogged":
 *   (a) a page whose value changed since the last round's read (which
 *       followed that round's reset) to a value below the iteration must
 *       be in this round's harvest, unless a vCPU stopped on a full ring
 *       still has a write to it in flight (counted "excused");
 *   (b) no page holds a value above the iteration; every entry names the
 *       slot and a page inside it.
 * Every other round the collector waits until a vCPU stopped on a full
 * ring, so soft-full exits and resumes happen under load.  Rounds go on
 * past --seconds / 8 (up to 10x) until the counters show pushes,
 * soft-full exits and resets with concurrent writes; once with write
 * protection and once with D-bit logging (PML: the rings are filled at
 * each exit, so the collector kicks every vCPU before it harvests).
 *
 *   test_dirty_ring [--seconds S] [--vcpus N] [--seed S]
 */
#include <errno.h>
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

#define MAX_VCPUS 8
#define RING 1024u
#define SOFT_LIMIT (RING - TDPMMU_DIRTY_RING_RSVD)
#define SLOT 7u
#define BASE 0x10000ull
#define PAGES 8192ull
#define NONE_GFN UINT64_MAX

static void counters(struct tdpmmu_vm *vm, int64_t *c)
{
	tdpmmu_counters_read(vm, c);
}

#define EXPECT_NOCHANGE(vm, call, r)                                                               \
	do {                                                                                       \
		int64_t b_[TDPMMU_NR_COUNTERS], a_[TDPMMU_NR_COUNTERS];                            \
		counters(vm, b_);                                                                  \
		CHECK_EQ((call), (r));                                                             \
		counters(vm, a_);                                                                  \
		CHECK(!memcmp(a_, b_, sizeof(a_)));                                                \
	} while (0)

static bool is_writable(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present && tdpmmu_spte_writable(m.spte);
}

static int64_t counter(struct tdpmmu_vm *vm, enum tdpmmu_counter i)
{
	int64_t c[TDPMMU_NR_COUNTERS];

	counters(vm, c);
	return c[i];
}

static struct tdpmmu_vm *new_vm(uint64_t payload_pages, enum tdpmmu_dirty_mode mode)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_memslot s = { SLOT, BASE, PAGES, TDPMMU_BACKING_ANON, 0 };

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.dirty_mode = mode;
	cfg.payload_bytes = payload_pages ? tdpmmu_payload_bytes_for(payload_pages, 1) : 0;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &s) == 0);
	return vm;
}

/* ---------------------------------------------------------------- part 1 */

/* Write pages BASE + i for i in [0, n) in order, each value i + 1. */
struct seq_guest {
	uint64_t n, next_page, calls;
	uint64_t last_back; /* gpa of the access handed back to the latest call */
};

static bool seq_next(void *ctx, struct tdpmmu_access *a)
{
	struct seq_guest *g = ctx;

	g->calls++;
	g->last_back = a->gpa;
	if (g->next_page == g->n)
		return false;
	a->gpa = (BASE + g->next_page) << 12;
	a->type = TDPMMU_ACCESS_WRITE;
	a->value = g->next_page + 1;
	g->next_page++;
	return true;
}

static void part1_enable_errors(void)
{
	struct tdpmmu_vm *vm = new_vm(0, TDPMMU_DIRTY_WRPROT);
	struct tdpmmu_vcpu *v;
	struct tdpmmu_dirty_gfn out[4];

	CHECK_EQ(tdpmmu_dirty_ring_enable(NULL, RING), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, 0), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, 1000), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, 512), -EINVAL); /* not above the reserve */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, 1u << 17), -E2BIG);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_reset(vm), -EINVAL); /* no rings */
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, 4), -EINVAL);         /* no ring */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, RING), -EBUSY); /* a vCPU exists */
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);

	vm = new_vm(0, TDPMMU_DIRTY_WRPROT);
	CHECK_EQ(tdpmmu_dirty_ring_enable(vm, RING), 0);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, RING), -EBUSY); /* once */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_enable(vm, 2 * RING), -EBUSY);
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), 0); /* rings, but no vCPU */
	tdpmmu_vm_destroy(vm);
}

static void part1_push_harvest_reset(void)
{
	struct tdpmmu_vm *vm = new_vm(PAGES, TDPMMU_DIRTY_WRPROT);
	struct tdpmmu_dirty_gfn out[16];
	static uint64_t bm[PAGES / 64];
	const uint64_t pages[] = { 5, 7, 6, 200, 64, 63 };
	struct tdpmmu_vcpu *v;
	int n;

	REQUIRE(tdpmmu_dirty_ring_enable(vm, RING) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	/* Not logging yet: writes push nothing. */
	for (uint64_t p = 0; p < 256; p++)
		REQUIRE(tdpmmu_fault(v, BASE + p, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), 0);
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, 16), 0);
	CHECK(tdpmmu_dirty_log_enable(vm, SLOT, 0) >= 256);
	for (uint64_t p = 0; p < 256; p++)
		CHECK(!is_writable(vm, BASE + p));

	/* Fast-path write faults push (slot, offset) in order, nothing in the bitmap. */
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		REQUIRE(tdpmmu_fault(v, BASE + pages[i],
				     TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, NULL) == 0);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), (int64_t)ARRAY_SIZE(pages));
	CHECK_EQ(tdpmmu_dirty_log_get(vm, SLOT, bm), 0);
	/* A write fault on a page never mapped takes the slow path: pushed too. */
	REQUIRE(tdpmmu_fault(v, BASE + 1000, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), (int64_t)ARRAY_SIZE(pages) + 1);

	/* Bad input changes nothing; max 0 takes nothing. */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_harvest(v, NULL, 4), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_harvest(v, out, -1), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_harvest(NULL, out, 4), -EINVAL);
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_harvest(v, out, 0), 0);
	/* Nothing harvested yet: reset frees nothing, protects nothing. */
	EXPECT_NOCHANGE(vm, tdpmmu_dirty_ring_reset(vm), 0);
	CHECK(is_writable(vm, BASE + 5));

	/* Harvest all but the last two. */
	n = tdpmmu_dirty_ring_harvest(v, out, (int)ARRAY_SIZE(pages) - 1);
	CHECK_EQ(n, (int)ARRAY_SIZE(pages) - 1);
	for (int i = 0; i < n; i++) {
		CHECK_EQ(out[i].flags, TDPMMU_DIRTY_GFN_F_DIRTY);
		CHECK_EQ(out[i].slot, SLOT);
		CHECK_EQ(out[i].offset, pages[i]);
	}
	/* Harvested, not reset: still writable (KVM re-protects at reset). */
	for (int i = 0; i < n; i++)
		CHECK(is_writable(vm, BASE + pages[i]));
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), n);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_RESETS), n);
	/* Exactly the reset pages are protected again. */
	for (int i = 0; i < n; i++)
		CHECK(!is_writable(vm, BASE + pages[i]));
	CHECK(is_writable(vm, BASE + pages[ARRAY_SIZE(pages) - 1]));
	CHECK(is_writable(vm, BASE + 1000));
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), 0);

	/* The rest, then an empty ring. */
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, 16), 2);
	CHECK_EQ(out[0].offset, pages[ARRAY_SIZE(pages) - 1]);
	CHECK_EQ(out[1].offset, 1000);
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, 16), 0);
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), 2);
	CHECK(!is_writable(vm, BASE + 1000));
	CHECK(!is_writable(vm, BASE + pages[ARRAY_SIZE(pages) - 1]));
	/* A reset page faults again and is pushed again. */
	REQUIRE(tdpmmu_fault(v, BASE + 5, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0, NULL) ==
		0);
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, 16), 1);
	CHECK_EQ(out[0].offset, 5);
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), 1);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

static void part1_soft_full(void)
{
	struct tdpmmu_vm *vm = new_vm(PAGES, TDPMMU_DIRTY_WRPROT);
	static struct tdpmmu_dirty_gfn out[RING];
	struct seq_guest g = { .n = 600 };
	struct tdpmmu_vcpu *v;
	uint64_t calls;
	int r;

	REQUIRE(tdpmmu_dirty_ring_enable(vm, RING) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	REQUIRE(tdpmmu_dirty_log_enable(vm, SLOT, 0) == 0);

	/* Each write faults (slow path) and pushes; the run stops at the soft limit. */
	r = tdpmmu_vcpu_run(v, seq_next, &g, 0);
	CHECK_EQ(r, TDPMMU_EXIT_DIRTY_RING_FULL);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), SOFT_LIMIT);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_SOFT_FULL_EXITS), 1);
	CHECK_EQ(g.next_page, SOFT_LIMIT); /* the access to page SOFT_LIMIT - 1 is pending */
	calls = g.calls;
	/* Still full: no entry, @next not called, no fault either. */
	CHECK_EQ(tdpmmu_vcpu_run(v, seq_next, &g, 0), TDPMMU_EXIT_DIRTY_RING_FULL);
	CHECK_EQ(g.calls, calls);
	CHECK_EQ(tdpmmu_fault(v, BASE + 4000, TDPMMU_ACCESS_WRITE, 0, NULL), -ENOSPC);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), SOFT_LIMIT);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_SOFT_FULL_EXITS), 3);
	/* Harvest without reset frees nothing. */
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, RING), (int)SOFT_LIMIT);
	for (unsigned i = 0; i < SOFT_LIMIT; i++)
		CHECK_EQ(out[i].offset, i);
	CHECK_EQ(tdpmmu_vcpu_run(v, seq_next, &g, 0), TDPMMU_EXIT_DIRTY_RING_FULL);
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), (int)SOFT_LIMIT);

	/*
	 * Resume: the pending access first (handed back to @next), then on to
	 * the end.  Its page was pushed before the exit, then harvested and
	 * reset (protected again), so the resumed write faults and pushes it
	 * once more, as in KVM.
	 */
	r = tdpmmu_vcpu_run(v, seq_next, &g, 0);
	CHECK_EQ(r, 0);
	CHECK_EQ(g.next_page, 600);
	CHECK_EQ(g.calls, 601); /* one call per access and the last; none repeated */
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), 601);
	for (uint64_t p = 0; p < 600; p++) {
		uint64_t val = 0;

		REQUIRE(tdpmmu_host_read(vm, (BASE + p) << 12, &val) == 0);
		if (val != p + 1) {
			CHECK_EQ(val, p + 1);
			break;
		}
	}
	CHECK_EQ(tdpmmu_dirty_ring_harvest(v, out, RING), 601 - (int)SOFT_LIMIT);
	for (unsigned i = 0; i < 601 - SOFT_LIMIT; i++)
		CHECK_EQ(out[i].offset, SOFT_LIMIT - 1 + i);
	CHECK_EQ(tdpmmu_dirty_ring_reset(vm), 601 - (int)SOFT_LIMIT);
	/* Every page written is protected again: the next writes push again. */
	for (uint64_t p = 0; p < 600; p++)
		if (is_writable(vm, BASE + p)) {
			CHECK(!is_writable(vm, BASE + p));
			break;
		}
	g.n = 610;
	g.next_page = 0;
	CHECK_EQ(tdpmmu_vcpu_run(v, seq_next, &g, 0), TDPMMU_EXIT_DIRTY_RING_FULL);
	CHECK_EQ(counter(vm, TDPMMU_C_RING_PUSHES), 601 + SOFT_LIMIT);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

/* ---------------------------------------------------------------- part 2 */

struct guest {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t rs;
	_Atomic uint64_t inflight; /* gfn of the write in flight, or NONE_GFN */
	_Atomic uint64_t seen;     /* iteration read by the last access chosen */
	atomic_bool blocked;       /* stopped on a soft-full ring */
	_Atomic uint64_t writes, full_exits;
	pthread_t thread;
};

static struct {
	struct tdpmmu_vm *vm;
	bool dbit; /* D-bit logging: writes reach the ring at the vCPU's next exit */
	int nvcpus;
	struct guest g[MAX_VCPUS];
	_Atomic uint64_t iteration;
	atomic_bool stop;
	atomic_long run_errors;
	uint64_t shadow[PAGES];
	bool in_h[PAGES];
	uint64_t pend[MAX_VCPUS]; /* this round: the write a stopped vCPU holds */
	uint64_t failures, excused, checks, harvested, rounds, resets_loaded;
} P;

static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct guest *g = ctx;
	uint64_t it = atomic_load_explicit(&P.iteration, memory_order_acquire);
	uint64_t r = test_rand(&g->rs);
	uint64_t gfn;

	atomic_store(&g->blocked, false);
	/* The previous access has landed. */
	atomic_store_explicit(&g->seen, it, memory_order_release);
	if (atomic_load_explicit(&P.stop, memory_order_relaxed) || (r & 0x3ff) == 0) {
		atomic_store(&g->inflight, NONE_GFN);
		return false;
	}
	gfn = BASE + (r >> 16) % PAGES;
	/* seq_cst: published before the fault that pushes the page. */
	atomic_store(&g->inflight, gfn);
	a->gpa = gfn << 12;
	a->type = TDPMMU_ACCESS_WRITE;
	a->value = it;
	atomic_fetch_add_explicit(&g->writes, 1, memory_order_relaxed);
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct guest *g = arg;

	while (!atomic_load_explicit(&P.stop, memory_order_relaxed)) {
		int r = tdpmmu_vcpu_run(g->v, guest_next, g, 0);

		if (r == TDPMMU_EXIT_DIRTY_RING_FULL) {
			/* Until a reset: the collector may go on without us. */
			atomic_store(&g->blocked, true);
			atomic_fetch_add(&g->full_exits, 1);
			sched_yield();
			continue;
		}
		if (r) {
			fprintf(stderr, "vCPU %d: tdpmmu_vcpu_run failed: %d\n", g->id, r);
			atomic_fetch_add(&P.run_errors, 1);
			break;
		}
	}
	atomic_store(&g->inflight, NONE_GFN);
	atomic_store(&g->blocked, true); /* never waited for again */
	return NULL;
}

/*
 * A write chosen before the bump by a vCPU the collector went past while
 * it was stopped on a full ring: it lands when the reset lets the vCPU
 * go on, after the harvest, pushed again by its fault then (its page was
 * protected again), so this round's read may see it unharvested.
 */
static bool write_in_flight(uint64_t gfn)
{
	for (int i = 0; i < P.nvcpus; i++)
		if (P.pend[i] == gfn || atomic_load(&P.g[i].inflight) == gfn)
			return true;
	return false;
}

static uint64_t total(size_t off)
{
	uint64_t n = 0;

	for (int i = 0; i < P.nvcpus; i++)
		n += atomic_load((_Atomic uint64_t *)((char *)&P.g[i] + off));
	return n;
}

static void fail(uint64_t page, const char *why, uint64_t val, uint64_t it)
{
	if (P.failures++ < 20)
		fprintf(stderr,
			"dirty ring oracle: gfn 0x%" PRIx64 ": %s (value %" PRIu64
			", last read %" PRIu64 ", iteration %" PRIu64 ")\n",
			(uint64_t)(BASE + page), why, val, P.shadow[page], it);
}

static void collect_and_check(uint64_t it)
{
	static struct tdpmmu_dirty_gfn out[RING];
	uint64_t w0 = total(offsetof(struct guest, writes));
	int r;

	/* With PML, kick every vCPU out so their logs reach the rings (QEMU's kvm_dirty_ring_flush). */
	if (P.dbit)
		tdpmmu_flush_tlbs(P.vm);
	memset(P.in_h, 0, sizeof(P.in_h));
	for (int i = 0; i < P.nvcpus; i++) {
		r = tdpmmu_dirty_ring_harvest(P.g[i].v, out, RING);
		CHECK(r >= 0);
		for (int e = 0; e < r; e++) {
			if (out[e].slot != SLOT || out[e].offset >= PAGES ||
			    out[e].flags != TDPMMU_DIRTY_GFN_F_DIRTY) {
				fail(0, "(b) bad entry", out[e].offset, it);
				continue;
			}
			P.in_h[out[e].offset] = true;
		}
		P.harvested += (uint64_t)(r > 0 ? r : 0);
	}
	/* Writes land while we harvest and reset: counted when some vCPU ran then. */
	r = tdpmmu_dirty_ring_reset(P.vm);
	CHECK(r >= 0);
	if (r > 0 && total(offsetof(struct guest, writes)) != w0)
		P.resets_loaded++;
	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t v = 0;

		REQUIRE(tdpmmu_host_read(P.vm, (BASE + p) << 12, &v) == 0);
		if (v > it)
			fail(p, "(b) value from the future", v, it);
		if (v != P.shadow[p] && v < it) {
			P.checks++;
			if (!P.in_h[p]) {
				if (write_in_flight(BASE + p))
					P.excused++;
				else
					fail(p, "(a) written since the last reset, not in the ring",
					     v, it);
			}
		}
		P.shadow[p] = v;
	}
}

static void part2(double seconds, int nvcpus, uint64_t seed, enum tdpmmu_dirty_mode mode)
{
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t start, now;
	bool proven = false;

	memset(&P, 0, sizeof(P));
	P.nvcpus = nvcpus;
	atomic_store(&P.iteration, 1);
	P.dbit = mode == TDPMMU_DIRTY_DBIT;
	P.vm = new_vm(PAGES + 16, mode);
	REQUIRE(tdpmmu_dirty_ring_enable(P.vm, RING) == 0);
	REQUIRE(tdpmmu_dirty_log_enable(P.vm, SLOT, 0) == 0);
	for (int i = 0; i < nvcpus; i++) {
		struct guest *g = &P.g[i];

		REQUIRE(tdpmmu_vcpu_create(P.vm, &g->v) == 0);
		g->id = i;
		g->rs = seed * 7919 + (uint64_t)i * 104729 + 5;
		atomic_store(&g->inflight, NONE_GFN);
	}
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&P.g[i].thread, NULL, vcpu_thread, &P.g[i]) == 0);

	start = test_now_ns();
	for (;;) {
		uint64_t it = atomic_load(&P.iteration) + 1;
		bool wait_full = P.rounds % 2;
		uint64_t w0 = total(offsetof(struct guest, writes));

		/*
		 * Let writes land (with the old iteration): 64 of them, or, every
		 * other round, until some vCPU stopped on its full ring.
		 */
		for (;;) {
			bool any = false;

			for (int i = 0; i < nvcpus; i++)
				any |= atomic_load(&P.g[i].blocked);
			if (any || atomic_load(&P.run_errors) ||
			    (!wait_full && total(offsetof(struct guest, writes)) - w0 >= 64) ||
			    test_now_ns() - start > (uint64_t)(10 * seconds * 1e9))
				break;
			sched_yield();
		}
		/* Writes chosen from now on carry @it: the ones before must all land. */
		atomic_store_explicit(&P.iteration, it, memory_order_release);
		for (int i = 0; i < nvcpus; i++) {
			while (atomic_load_explicit(&P.g[i].seen, memory_order_acquire) < it &&
			       !atomic_load(&P.g[i].blocked) && !atomic_load(&P.run_errors))
				sched_yield();
			/* Went past a stopped vCPU: its pending write may land after the harvest. */
			P.pend[i] = atomic_load_explicit(&P.g[i].seen, memory_order_acquire) < it
					    ? atomic_load(&P.g[i].inflight)
					    : NONE_GFN;
		}
		collect_and_check(it);
		P.rounds++;

		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		counters(P.vm, c);
		proven = c[TDPMMU_C_RING_PUSHES] > 0 && c[TDPMMU_C_RING_SOFT_FULL_EXITS] > 0 &&
			 c[TDPMMU_C_RING_RESETS] > 0 && P.resets_loaded > 0 && P.checks > 0;
		if (proven || now - start > (uint64_t)(10 * seconds * 1e9) || P.failures ||
		    atomic_load(&P.run_errors))
			break;
	}
	atomic_store(&P.stop, true);
	/* A vCPU stopped on a full ring sees the stop at its next try. */
	for (int i = 0; i < nvcpus; i++)
		pthread_join(P.g[i].thread, NULL);

	counters(P.vm, c);
	printf("test_dirty_ring (%s): %.2f s, %d vCPUs, %" PRIu64 " rounds, %" PRIu64
	       " writes, %" PRIu64 " entries harvested, %" PRIu64 " (a) checks, %" PRIu64
	       " excused in flight, %" PRIu64 " failures, %" PRIu64
	       " resets with writes running; ring_pushes %lld, ring_soft_full_exits %lld, "
	       "ring_entries_reset %lld, leaves_write_protected %lld, tlb_flushes %lld\n",
	       tdpmmu_dirty_mode_name(mode), (double)(test_now_ns() - start) / 1e9, nvcpus,
	       P.rounds, total(offsetof(struct guest, writes)), P.harvested, P.checks, P.excused,
	       P.failures, P.resets_loaded, (long long)c[TDPMMU_C_RING_PUSHES],
	       (long long)c[TDPMMU_C_RING_SOFT_FULL_EXITS], (long long)c[TDPMMU_C_RING_RESETS],
	       (long long)c[TDPMMU_C_LEAVES_WRPROT], (long long)c[TDPMMU_C_TLB_FLUSHES]);
	CHECK_EQ(P.failures, 0);
	CHECK_EQ(atomic_load(&P.run_errors), 0);
	CHECK(P.checks > 0);
	CHECK(P.resets_loaded > 0);
	CHECK(c[TDPMMU_C_RING_PUSHES] > 0);
	CHECK(c[TDPMMU_C_RING_SOFT_FULL_EXITS] > 0);
	CHECK(c[TDPMMU_C_RING_RESETS] > 0);
	CHECK_EQ(tdpmmu_audit(P.vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(P.vm), 0);
	for (int i = 0; i < nvcpus; i++)
		tdpmmu_vcpu_destroy(P.g[i].v);
	tdpmmu_vm_destroy(P.vm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 1, .vcpus = 2, .seed = 1 };

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	part1_enable_errors();
	part1_push_harvest_reset();
	part1_soft_full();
	part2(o.seconds / 8, o.vcpus, o.seed, TDPMMU_DIRTY_WRPROT);
	part2(o.seconds / 8, o.vcpus, o.seed, TDPMMU_DIRTY_DBIT);
	return check_report("test_dirty_ring");
}
