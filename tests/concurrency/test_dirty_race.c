/*
 * test_dirty_race.c - the two ways writes escaped dirty logging and write
 * tracking (issue 15), each forced step by step, then raced for real.
 *
 * 1. A read fault weakened a writable leaf.  In a logging slot a read
 *    fault maps without W.  vCPU B read-faults page P and is held (the
 *    fault hook) between its host lookup and the MMU lock; meanwhile
 *    vCPU A write-faults P (W+D leaf, page marked) and its TLB caches W.
 *    B goes on.  The bug: B's map replaced the W leaf by a leaf without
 *    W and flushed nothing; the harvest then found no W to clear and
 *    flushed nothing either, and A's next write went through its stale
 *    TLB entry, unlogged.  Checked: after the first harvest no vCPU TLB
 *    grants W the leaf does not (tdpmmu_audit_tlbs), neither after B's
 *    fault nor after the first harvest, and A's second write is in the
 *    second harvest.
 *
 * 2. A pass yielded without flushing the MMU-writable it took away.  vCPU
 *    V writes G through a 2M leaf (its TLB caches it writable).  Dirty
 *    logging is enabled; its pass clears W and MMU-writable on that leaf
 *    and is made to yield right after (the yield hook).  Inside the yield
 *    write tracking is added for G: it finds nothing left to clear and
 *    skips its flush.  The bug: V's next write to G went through the
 *    stale 2M entry instead of faulting and being emulated.  Checked: the
 *    write is emulated.
 *
 * 3 and 4. The same two races with no hook, as a user met them:
 *    3: A writes P while B reads P, both the first touch of P with a host
 *    fault delay of 2 ms, so both wake together; harvest; A writes P
 *    again; harvest: P must be in it.  4: V writes G through a 2M leaf in
 *    a loop while another thread enables logging, and the main thread
 *    adds write tracking for G as soon as the enable has begun; every
 *    write V starts after write_track_add returned must be emulated.
 *    Each round counts as lost what the bug would lose; the torture runs
 *    race 3 too (its log racers).  Race 3 runs again with D-bit logging
 *    (TDPMMU_DIRTY_DBIT), where A's second write is lost if the harvest
 *    that cleared D does not flush A's TLB (broken build dbit-no-flush).
 *
 *   test_dirty_race [--rounds N] [--race-rounds M] [--seconds S]
 *   N rounds of each forced sequence (default 64), M of each free race
 *   (default 32); S is accepted and ignored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_event.h"
#include "lib/test_vm.h"

#define SLOT_PAGES 512ull /* race 1: one 2 MiB block of 4K pages */
#define THP_PAGES 8192ull /* race 2: sixteen 2 MiB leaves */
#define G_GFN (5 * 512ull + 17)
#define R4_PAGES (128 * 512ull) /* race 4: 128 2 MiB leaves, so enable's pass takes a while */
#define R4_G 17ull              /* in the first, which the pass protects first */

/* ------------------------------------------------------------ helpers */

static void access_once(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned type, uint64_t value)
{
	REQUIRE(guest_access(v, gfn << 12, type, value) == 0);
}

/* How the VMs of the next sequence log (race 3 runs in both modes). */
static enum tdpmmu_dirty_mode dirty_mode = TDPMMU_DIRTY_WRPROT;

static struct tdpmmu_vm *make_vm(enum tdpmmu_backing backing, uint64_t npages, unsigned fault_us)
{
	struct tdpmmu_memslot slot = { 1, 0, npages, backing, 0 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 4096;
	cfg.payload_bytes = tdpmmu_payload_bytes_for(npages, 1);
	cfg.host_fault_us = fault_us;
	cfg.dirty_mode = dirty_mode;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, &slot, 1);
	return vm;
}

static bool bit_set(const uint64_t *bm, uint64_t page)
{
	return bm[page / 64] >> (page % 64) & 1;
}

/* ---------------------------------------- 1: a read fault weakens a leaf */

static struct {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *a, *b;
	pthread_t b_thread;
	uint64_t page;
	struct event b_held, b_go, b_done;
	unsigned round;
	bool hook_ran;
} r1;

/* B's fault, between its host lookup and the MMU lock: A writes the page now. */
static void r1_fault_hook(uint64_t gfn)
{
	if (!pthread_equal(pthread_self(), r1.b_thread) || gfn != r1.page)
		return;
	r1.hook_ran = true;
	event_post(&r1.b_held);
	event_wait(&r1.b_go, r1.round, 0);
}

static void *r1_b_main(void *arg)
{
	for (unsigned round = 1;; round++) {
		event_wait(&r1.b_go, 2 * round - 1, 0); /* even posts release the hook */
		if (r1.page == UINT64_MAX)
			return NULL;
		access_once(r1.b, r1.page, TDPMMU_ACCESS_READ, 0);
		event_post(&r1.b_done);
	}
}

static void race1_vm_done(void)
{
	if (!r1.vm)
		return;
	CHECK_EQ(tdpmmu_audit(r1.vm), 0);
	tdpmmu_vcpu_destroy(r1.a);
	tdpmmu_vcpu_destroy(r1.b);
	tdpmmu_vm_destroy(r1.vm);
	r1.vm = NULL;
}

static void race1_forced(unsigned rounds)
{
	uint64_t bm[SLOT_PAGES / 64];
	unsigned lost = 0, audits_bad = 0;

	memset(&r1, 0, sizeof(r1));
	event_init(&r1.b_held);
	event_init(&r1.b_go);
	event_init(&r1.b_done);
	REQUIRE(pthread_create(&r1.b_thread, NULL, r1_b_main, NULL) == 0);
	tdpmmu_test_set_fault_hook(r1_fault_hook);
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t p = i % SLOT_PAGES;

		if (!p) {
			/* A fresh VM every SLOT_PAGES rounds: each round needs an untouched page. */
			race1_vm_done();
			r1.vm = make_vm(TDPMMU_BACKING_ANON, SLOT_PAGES, 0);
			REQUIRE(tdpmmu_vcpu_create(r1.vm, &r1.a) == 0);
			REQUIRE(tdpmmu_vcpu_create(r1.vm, &r1.b) == 0);
			REQUIRE(tdpmmu_dirty_log_enable(r1.vm, 1, 0) >= 0);
		}
		r1.page = p;
		r1.hook_ran = false;
		r1.round = 2 * i + 2;
		event_post(&r1.b_go); /* B starts its read of page i */
		event_wait(&r1.b_held, i + 1, 0);
		access_once(r1.a, p, TDPMMU_ACCESS_WRITE, 0x1000 + p); /* W+D, in A's TLB */
		event_post(&r1.b_go);                                  /* B maps */
		event_wait(&r1.b_done, i + 1, 0);
		CHECK(r1.hook_ran);
		/* B's map must not have left A a writable translation of a non-W leaf. */
		if (tdpmmu_audit_tlbs(r1.vm))
			audits_bad++;

		REQUIRE(tdpmmu_dirty_log_get(r1.vm, 1, bm) >= 1);
		CHECK(bit_set(bm, p));
		if (tdpmmu_audit_tlbs(r1.vm))
			audits_bad++;
		access_once(r1.a, p, TDPMMU_ACCESS_WRITE, 0x2000 + p);
		REQUIRE(tdpmmu_dirty_log_get(r1.vm, 1, bm) >= 0);
		if (!bit_set(bm, p))
			lost++;
	}
	r1.page = UINT64_MAX;
	event_post(&r1.b_go);
	pthread_join(r1.b_thread, NULL);
	tdpmmu_test_set_fault_hook(NULL);
	printf("test_dirty_race: 1 (forced): %u rounds, %u writes lost, %u TLB audits failed\n",
	       rounds, lost, audits_bad);
	CHECK_EQ(lost, 0);
	CHECK_EQ(audits_bad, 0);
	race1_vm_done();
}

/* ---------------------------------- 2: a yield without its flush */

static struct {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *v;
	pthread_t enabler, v_thread;
	struct event v_go, v_done;
	unsigned v_round;
	uint64_t v_gfn; /* what V writes next */
	bool stop, yielded, in_yield;
	int64_t emulated; /* writes to G emulated inside the yield */
} r2;

/*
 * The enable pass's yield: forced once G's 2M leaf has lost W; inside it
 * tracking is added for G and V writes G, which must fault and be
 * emulated.
 */
static bool r2_yield_hook(bool locked)
{
	struct tdpmmu_mapping m;
	int64_t before;

	if (!pthread_equal(pthread_self(), r2.enabler) || r2.yielded)
		return false;
	if (locked) {
		REQUIRE(tdpmmu_lookup(r2.vm, G_GFN, &m) == 0);
		return m.present && !tdpmmu_spte_writable(m.spte);
	}
	r2.yielded = true;
	REQUIRE(tdpmmu_write_track_add(r2.vm, G_GFN) == 0);
	r2.v_gfn = G_GFN;
	before = test_counter(r2.vm, TDPMMU_C_WRITES_EMULATED);
	event_post(&r2.v_go);
	event_wait(&r2.v_done, ++r2.v_round, 0);
	r2.emulated = test_counter(r2.vm, TDPMMU_C_WRITES_EMULATED) - before;
	return false;
}

static void *r2_v_main(void *arg)
{
	for (unsigned round = 1;; round++) {
		event_wait(&r2.v_go, round, 0);
		if (r2.stop)
			return NULL;
		access_once(r2.v, r2.v_gfn, TDPMMU_ACCESS_WRITE, 0x3000 + round);
		event_post(&r2.v_done);
	}
}

static void race2_forced(unsigned rounds)
{
	unsigned escaped = 0, unreached = 0;

	for (unsigned i = 0; i < rounds; i++) {
		int level;

		memset(&r2, 0, sizeof(r2));
		event_init(&r2.v_go);
		event_init(&r2.v_done);
		r2.vm = make_vm(TDPMMU_BACKING_THP, THP_PAGES, 0);
		REQUIRE(tdpmmu_vcpu_create(r2.vm, &r2.v) == 0);
		REQUIRE(pthread_create(&r2.v_thread, NULL, r2_v_main, NULL) == 0);
		/* Every 2M block mapped writable; G's translation is in V's TLB. */
		for (uint64_t g = 0; g < THP_PAGES; g += 512) {
			r2.v_gfn = g == (G_GFN & ~511ull) ? G_GFN : g;
			event_post(&r2.v_go);
			event_wait(&r2.v_done, ++r2.v_round, 0);
		}
		test_leaf(r2.vm, G_GFN, &level);
		CHECK_EQ(level, 2);

		r2.enabler = pthread_self();
		tdpmmu_test_set_yield_hook(r2_yield_hook);
		REQUIRE(tdpmmu_dirty_log_enable(r2.vm, 1, 0) >= 1);
		tdpmmu_test_set_yield_hook(NULL);
		if (!r2.yielded)
			unreached++;
		else if (r2.emulated != 1)
			escaped++;
		CHECK_EQ(tdpmmu_audit_tlbs(r2.vm), 0);
		r2.stop = true;
		event_post(&r2.v_go);
		pthread_join(r2.v_thread, NULL);
		CHECK_EQ(tdpmmu_audit(r2.vm), 0);
		tdpmmu_vcpu_destroy(r2.v);
		tdpmmu_vm_destroy(r2.vm);
	}
	printf("test_dirty_race: 2 (forced): %u rounds, %u writes escaped tracking, %u yields not "
	       "reached\n",
	       rounds, escaped, unreached);
	CHECK_EQ(escaped, 0);
	CHECK_EQ(unreached, 0);
}

/* ------------------------------- 3: the read/write race, free running */

static struct {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *a, *b;
	pthread_barrier_t go, done;
	uint64_t page;
	bool stop;
} r3;

/* A and B: per round, both touch the page at once; A writes it again in step 2. */
static void *r3_vcpu_main(void *arg)
{
	bool is_a = arg != NULL;

	for (;;) {
		pthread_barrier_wait(&r3.go);
		if (r3.stop)
			return NULL;
		access_once(is_a ? r3.a : r3.b, r3.page,
			    is_a ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ, 0x4000 + r3.page);
		pthread_barrier_wait(&r3.done);
		pthread_barrier_wait(&r3.go);
		if (is_a)
			access_once(r3.a, r3.page, TDPMMU_ACCESS_WRITE, 0x5000 + r3.page);
		pthread_barrier_wait(&r3.done);
	}
}

static void race3_free(unsigned rounds)
{
	uint64_t bm[SLOT_PAGES / 64];
	unsigned lost = 0, audits_bad = 0;
	pthread_t ta, tb;

	memset(&r3, 0, sizeof(r3));
	pthread_barrier_init(&r3.go, NULL, 3);
	pthread_barrier_init(&r3.done, NULL, 3);
	REQUIRE(pthread_create(&ta, NULL, r3_vcpu_main, &r3) == 0);
	REQUIRE(pthread_create(&tb, NULL, r3_vcpu_main, NULL) == 0);
	for (unsigned i = 0; i < rounds; i++) {
		if (i % SLOT_PAGES == 0) {
			/* A fresh VM: every page is a first touch again. */
			if (r3.vm) {
				tdpmmu_vcpu_destroy(r3.a);
				tdpmmu_vcpu_destroy(r3.b);
				tdpmmu_vm_destroy(r3.vm);
			}
			r3.vm = make_vm(TDPMMU_BACKING_ANON, SLOT_PAGES, 2000);
			REQUIRE(tdpmmu_vcpu_create(r3.vm, &r3.a) == 0);
			REQUIRE(tdpmmu_vcpu_create(r3.vm, &r3.b) == 0);
			REQUIRE(tdpmmu_dirty_log_enable(r3.vm, 1, 0) >= 0);
		}
		r3.page = i % SLOT_PAGES;
		pthread_barrier_wait(&r3.go); /* A writes, B reads */
		pthread_barrier_wait(&r3.done);
		REQUIRE(tdpmmu_dirty_log_get(r3.vm, 1, bm) >= 0);
		if (tdpmmu_audit_tlbs(r3.vm))
			audits_bad++;
		pthread_barrier_wait(&r3.go); /* A writes again */
		pthread_barrier_wait(&r3.done);
		REQUIRE(tdpmmu_dirty_log_get(r3.vm, 1, bm) >= 0);
		if (!bit_set(bm, r3.page))
			lost++;
	}
	r3.stop = true;
	pthread_barrier_wait(&r3.go);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (r3.vm) {
		CHECK_EQ(tdpmmu_audit(r3.vm), 0);
		tdpmmu_vcpu_destroy(r3.a);
		tdpmmu_vcpu_destroy(r3.b);
		tdpmmu_vm_destroy(r3.vm);
	}
	pthread_barrier_destroy(&r3.go);
	pthread_barrier_destroy(&r3.done);
	printf("test_dirty_race: 3 (free, %s): %u rounds, %u writes lost, %u TLB audits failed, "
	       "host faults 2 ms\n",
	       tdpmmu_dirty_mode_name(dirty_mode), rounds, lost, audits_bad);
	CHECK_EQ(lost, 0);
	CHECK_EQ(audits_bad, 0);
}

/* --------------------- 4: enable against write tracking, free running */

static struct {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *v;
	_Atomic bool enabling, tracked, stop;
	_Atomic uint64_t after; /* writes V chose after tracking was on */
} r4;

/* V's guest program: write G until told to stop; count writes begun after tracking. */
static bool r4_next(void *ctx, struct tdpmmu_access *a)
{
	if (atomic_load(&r4.stop))
		return false;
	if (atomic_load(&r4.tracked))
		atomic_fetch_add(&r4.after, 1);
	a->gpa = R4_G << 12;
	a->type = TDPMMU_ACCESS_WRITE;
	a->value = 0x6000;
	return true;
}

static void *r4_v_main(void *arg)
{
	REQUIRE(tdpmmu_vcpu_run(r4.v, r4_next, NULL, 0) == 0);
	return NULL;
}

static void *r4_enabler(void *arg)
{
	atomic_store(&r4.enabling, true);
	REQUIRE(tdpmmu_dirty_log_enable(r4.vm, 1, 0) >= 0);
	return NULL;
}

static void race4_free(unsigned rounds)
{
	uint64_t escaped = 0, bad_rounds = 0, checked = 0;

	for (unsigned i = 0; i < rounds; i++) {
		pthread_t tv, te;
		int64_t before, emulated;
		uint64_t after;

		memset(&r4, 0, sizeof(r4));
		r4.vm = make_vm(TDPMMU_BACKING_THP, R4_PAGES, 0);
		REQUIRE(tdpmmu_vcpu_create(r4.vm, &r4.v) == 0);
		for (uint64_t g = R4_PAGES; g > 0; g -= 512) /* G's block last: in the TLB */
			access_once(r4.v, g == 512 ? R4_G : g - 512, TDPMMU_ACCESS_WRITE, 1);
		REQUIRE(pthread_create(&tv, NULL, r4_v_main, NULL) == 0);
		REQUIRE(pthread_create(&te, NULL, r4_enabler, NULL) == 0);
		while (!atomic_load(&r4.enabling))
			sched_yield();
		before = test_counter(r4.vm, TDPMMU_C_WRITES_EMULATED);
		REQUIRE(tdpmmu_write_track_add(r4.vm, R4_G) == 0);
		atomic_store(&r4.tracked, true);
		pthread_join(te, NULL);
		/* A few writes after the enable returned too, then stop. */
		after = atomic_load(&r4.after);
		while (atomic_load(&r4.after) < after + 16)
			sched_yield();
		atomic_store(&r4.stop, true);
		pthread_join(tv, NULL);
		/* Every write begun after tracking was on faulted and was emulated. */
		emulated = test_counter(r4.vm, TDPMMU_C_WRITES_EMULATED) - before;
		after = atomic_load(&r4.after);
		checked += after;
		if ((uint64_t)emulated < after) {
			escaped += after - (uint64_t)emulated;
			bad_rounds++;
		}
		tdpmmu_vcpu_destroy(r4.v);
		tdpmmu_vm_destroy(r4.vm);
	}
	printf("test_dirty_race: 4 (free): %u rounds, %llu writes after tracking checked, %llu "
	       "escaped in %llu rounds\n",
	       rounds, (unsigned long long)checked, (unsigned long long)escaped,
	       (unsigned long long)bad_rounds);
	CHECK_EQ(escaped, 0);
}

int main(int argc, char **argv)
{
	unsigned rounds = 64, race_rounds = 32;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--race-rounds") && i + 1 < argc)
			race_rounds = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			i++;
		else {
			fprintf(stderr, "usage: test_dirty_race [--rounds N] [--race-rounds M]\n");
			return 2;
		}
	}
	race1_forced(rounds);
	race2_forced(rounds);
	race3_free(race_rounds);
	/*
	 * D-bit logging: A's second write goes through its TLB, which cached
	 * D from the first; only the harvest's flush makes it set D (and log).
	 */
	dirty_mode = TDPMMU_DIRTY_DBIT;
	race3_free(race_rounds / 4 + 1); /* a quarter: each round costs host-fault sleeps */
	dirty_mode = TDPMMU_DIRTY_WRPROT;
	race4_free(race_rounds);
	return check_report("test_dirty_race");
}
