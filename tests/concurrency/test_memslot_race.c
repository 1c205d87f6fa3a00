/*
 * test_memslot_race.c - host-side changes racing the MMU (issue 16), each
 * sequence forced step by step with the library's site hook, so every
 * round takes the racy path.
 *
 * 1. A host fault released by gfn.  A vCPU faults page 0 of a slot and
 *    pays the host fault; before it releases the page the slot moves
 *    (from inside the hook, on the faulting thread).  The fault then
 *    reports no memslot.  A fault on page 0 at the new place must finish
 *    and pay nothing (anonymous: the page is in); the bug left the page
 *    claimed for ever and that fault hung.  Also with a THP slot whose
 *    move changes its offset inside 2 MiB (the bitmap is relaid: the
 *    fault may pay again but must finish).
 * 2. A write to a new slot landing in the slot that left.  The vCPU
 *    writes 0x1111 to gpa 0 (slot 1), its TLB keeps the translation.
 *    Another thread moves (or deletes) slot 1; at the point where the old
 *    place is invalid but not zapped yet, the main thread adds slot 2 at
 *    gfn 0 and the vCPU writes 0x2222 to gpa 0.  Slot 2 must hold 0x2222
 *    and the moved slot 1 still 0x1111: the add must wait until nothing
 *    maps the old place any more.
 * 3. A remap checking one layout and remapping another.  A THP slot at
 *    gfn 4096; an invalidation holds [256, 512); a thread calls
 *    host_remap(256, 512), which finds no slot there; at the point after
 *    its check the main thread moves the slot to gfn 0.  The remap must
 *    fail (-ENOENT, or -EBUSY in the new layout: block [0, 512) is not
 *    all inside the invalidation), never renumber that block.
 * 4. A dirty page lost across a move.  Slot 1 logs; the vCPU reads page P
 *    (mapped MMU-writable without W) and then writes it: the fast path
 *    sets W, and at the point before it marks P the slot is moved by
 *    another thread.  The harvest at the new place must report P.
 * 5. A huge fault over a partial invalidation.  With [x, x + 1) being
 *    invalidated, a fault on another gfn of the same 2M (THP) or 1G
 *    (hugetlb-1g) page must not map a leaf that covers x.
 * 6. Host pages in gfn space: a THP slot based at gfn 256 pays one host
 *    fault for [256, 512) and another for [512, 1024).
 *
 * In 2, 3 and 4 the hook gives the other thread up to HOOK_WAIT_MS to
 * finish its call inside the window: with the fix it cannot (slots_lock
 * or the memslot grace period holds it), and the wait times out; the
 * counters report how often the call did finish inside (only a broken
 * build lets it).  In 1 the later fault runs on a thread of its own, and
 * the test fails if it has not finished within HANG_MS.
 *
 *   test_memslot_race [--rounds N] [--only K] [--strategy NAME] [--seconds S]
 *   N rounds of each sequence (default 8); K runs sequence K only; NAME
 *   overrides $TDPMMU_STRATEGY (sequence 4's window is open without the
 *   fix only where walk protection is not the memslot RCU: rcu-qsbr); S
 *   is accepted and ignored (the concurrency matrix passes it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_event.h"
#include "lib/test_vm.h"

#define HOOK_WAIT_MS 20
#define HANG_MS 5000

/* ------------------------------------------------------------ helpers */

static uint64_t host_word(struct tdpmmu_vm *vm, uint64_t gpa)
{
	uint64_t v = ~0ull;

	CHECK_EQ(tdpmmu_host_read(vm, gpa, &v), 0);
	return v;
}

static struct tdpmmu_vm *make_vm(unsigned fault_us, uint64_t payload_pages)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 4096;
	cfg.host_fault_us = fault_us;
	cfg.payload_bytes = payload_pages ? tdpmmu_payload_bytes_for(payload_pages, 2) : 0;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	return vm;
}

static void add_slot(struct tdpmmu_vm *vm, uint32_t id, uint64_t base, uint64_t npages,
		     enum tdpmmu_backing backing)
{
	struct tdpmmu_memslot s = {
		.id = id, .base_gfn = base, .npages = npages, .backing = backing
	};

	REQUIRE(tdpmmu_memslot_add(vm, &s) == 0);
}

static void vm_done(struct tdpmmu_vm *vm, struct tdpmmu_vcpu *v)
{
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

/*
 * A thread that runs one call at a time for the main thread: post a call,
 * it runs it and posts done.  Lets a hook on one thread wait, with a
 * bound, for a call that another thread makes inside its window.
 */
struct helper {
	pthread_t thread;
	struct event go, done;
	int (*fn)(void *);
	void *arg;
	int result;
	bool stop;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;

	for (unsigned n = 1;; n++) {
		event_wait(&h->go, n, 0);
		if (h->stop)
			return NULL;
		h->result = h->fn(h->arg);
		event_post(&h->done);
	}
}

static void helper_start(struct helper *h)
{
	memset(h, 0, sizeof(*h));
	event_init(&h->go);
	event_init(&h->done);
	REQUIRE(pthread_create(&h->thread, NULL, helper_main, h) == 0);
}

static void helper_call(struct helper *h, int (*fn)(void *), void *arg)
{
	h->fn = fn;
	h->arg = arg;
	event_post(&h->go);
}

static void helper_stop(struct helper *h)
{
	h->stop = true;
	event_post(&h->go);
	pthread_join(h->thread, NULL);
}

/* ------------------------------------- 1: a host fault released by gfn */

static struct {
	struct tdpmmu_vm *vm;
	uint64_t move_to;
	unsigned moves;
} s1;

static void s1_hook(enum tdpmmu_test_site site, uint64_t gfn)
{
	if (site != TDPMMU_TEST_SITE_HOST_FAULT_PAID || gfn != 0 || !s1.vm)
		return;
	/* On the faulting thread, which holds no lock and no RCU section here. */
	CHECK_EQ(tdpmmu_memslot_move(s1.vm, 1, s1.move_to), 0);
	s1.moves++;
	s1.vm = NULL; /* once per round */
}

struct fault_call {
	struct tdpmmu_vcpu *v;
	uint64_t gfn;
	int r;
	struct event done;
};

static void *fault_main(void *arg)
{
	struct fault_call *f = arg;

	f->r = tdpmmu_fault(f->v, f->gfn, TDPMMU_ACCESS_READ, 0, NULL);
	event_post(&f->done);
	return NULL;
}

static void seq1(unsigned rounds, enum tdpmmu_backing backing, uint64_t move_to)
{
	unsigned paid_again = 0;

	tdpmmu_test_set_site_hook(s1_hook);
	for (unsigned i = 0; i < rounds; i++) {
		struct tdpmmu_vm *vm = make_vm(1000, 0);
		struct fault_call f = { .gfn = move_to };
		struct tdpmmu_vcpu *v;
		pthread_t t;
		int64_t paid;

		add_slot(vm, 1, 0, 1024, backing);
		REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
		s1.vm = vm;
		s1.move_to = move_to;
		/* No slot at 0 any more: an MMIO entry (mmio_caching). */
		CHECK_EQ(tdpmmu_fault(v, 0, TDPMMU_ACCESS_READ, 0, NULL), TDPMMU_FAULT_MMIO);
		paid = test_counter(vm, TDPMMU_C_HOST_FAULTS);
		CHECK_EQ(paid, 1);
		/* Page 0 at the new place: on a thread of its own, in case it hangs. */
		f.v = v;
		event_init(&f.done);
		REQUIRE(pthread_create(&t, NULL, fault_main, &f) == 0);
		if (!event_wait(&f.done, 1, HANG_MS)) {
			fprintf(stderr,
				"seq 1: FAILED: a fault on the moved slot's page 0 hung for %u ms "
				"(its host page stayed claimed)\n",
				HANG_MS);
			exit(1);
		}
		pthread_join(t, NULL);
		CHECK_EQ(f.r, 0);
		paid_again += test_counter(vm, TDPMMU_C_HOST_FAULTS) > paid;
		/* Anonymous pages stay where they are: the page is in and costs nothing more. */
		if (backing == TDPMMU_BACKING_ANON)
			CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), paid);
		vm_done(vm, v);
	}
	tdpmmu_test_set_site_hook(NULL);
	CHECK_EQ(s1.moves, rounds);
	printf("seq 1 (%s, to gfn %llu): %u rounds, slot moved during the host fault %u times, "
	       "the page paid again %u times\n",
	       tdpmmu_backing_name(backing), (unsigned long long)move_to, rounds, s1.moves,
	       paid_again);
	s1.moves = 0;
}

/* ------------------------ 2: a write to a new slot lands in the old one */

static struct {
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *v;
	struct helper mover;
	struct event in_window, main_done;
	unsigned round, windows, inside;
	bool delete;
} s2;

static int s2_change(void *arg)
{
	(void)arg;
	return s2.delete ? tdpmmu_memslot_delete(s2.vm, 1) : tdpmmu_memslot_move(s2.vm, 1, 4096);
}

/* On the mover's thread, the old place invalid and not zapped: let main act. */
static void s2_hook(enum tdpmmu_test_site site, uint64_t gfn)
{
	(void)gfn;
	if (site != TDPMMU_TEST_SITE_SLOT_INVALID ||
	    !pthread_equal(pthread_self(), s2.mover.thread))
		return;
	s2.windows++;
	event_post(&s2.in_window);
	s2.inside += event_wait(&s2.main_done, s2.round, HOOK_WAIT_MS);
}

static void seq2(unsigned rounds, bool delete)
{
	memset(&s2, 0, sizeof(s2));
	s2.delete = delete;
	event_init(&s2.in_window);
	event_init(&s2.main_done);
	helper_start(&s2.mover);
	tdpmmu_test_set_site_hook(s2_hook);
	for (unsigned i = 1; i <= rounds; i++) {
		s2.vm = make_vm(0, 1024);
		add_slot(s2.vm, 1, 0, 512, TDPMMU_BACKING_ANON);
		REQUIRE(tdpmmu_vcpu_create(s2.vm, &s2.v) == 0);
		CHECK_EQ(guest_access(s2.v, 0, TDPMMU_ACCESS_WRITE, 0x1111), 0);
		s2.round = i;
		helper_call(&s2.mover, s2_change, NULL);
		event_wait(&s2.in_window, i, 0);
		/* The old place is going: a slot there must be a new slot. */
		add_slot(s2.vm, 2, 0, 512, TDPMMU_BACKING_ANON);
		CHECK_EQ(guest_access(s2.v, 0, TDPMMU_ACCESS_WRITE, 0x2222), 0);
		event_post(&s2.main_done);
		event_wait(&s2.mover.done, i, 0);
		CHECK_EQ(s2.mover.result, 0);
		CHECK_EQ(host_word(s2.vm, 0), 0x2222);
		if (!delete)
			CHECK_EQ(host_word(s2.vm, 4096ull << 12), 0x1111);
		vm_done(s2.vm, s2.v);
	}
	tdpmmu_test_set_site_hook(NULL);
	helper_stop(&s2.mover);
	CHECK_EQ(s2.windows, rounds);
	printf("seq 2 (%s): %u rounds, %u windows, the add finished inside the window %u times\n",
	       delete ? "delete" : "move", rounds, s2.windows, s2.inside);
}

/* --------------------- 3: a remap checks one layout and remaps another */

static struct {
	struct tdpmmu_vm *vm;
	struct helper remapper;
	struct event checked, main_done;
	unsigned round, windows, inside;
} s3;

static int s3_remap(void *arg)
{
	(void)arg;
	return tdpmmu_host_remap(s3.vm, 256, 512, 0);
}

static void s3_hook(enum tdpmmu_test_site site, uint64_t gfn)
{
	(void)gfn;
	if (site != TDPMMU_TEST_SITE_REMAP_CHECKED ||
	    !pthread_equal(pthread_self(), s3.remapper.thread))
		return;
	s3.windows++;
	event_post(&s3.checked);
	s3.inside += event_wait(&s3.main_done, s3.round, HOOK_WAIT_MS);
}

static void seq3(unsigned rounds)
{
	memset(&s3, 0, sizeof(s3));
	event_init(&s3.checked);
	event_init(&s3.main_done);
	helper_start(&s3.remapper);
	tdpmmu_test_set_site_hook(s3_hook);
	for (unsigned i = 1; i <= rounds; i++) {
		struct tdpmmu_vcpu *v;

		s3.vm = make_vm(0, 1024);
		add_slot(s3.vm, 1, 4096, 512, TDPMMU_BACKING_THP);
		REQUIRE(tdpmmu_vcpu_create(s3.vm, &v) == 0);
		CHECK_EQ(tdpmmu_invalidate_begin(s3.vm, 256, 512), 0);
		s3.round = i;
		helper_call(&s3.remapper, s3_remap, NULL);
		event_wait(&s3.checked, i, 0);
		CHECK_EQ(tdpmmu_memslot_move(s3.vm, 1, 0), 0);
		event_post(&s3.main_done);
		event_wait(&s3.remapper.done, i, 0);
		/* No slot at [256, 512) when checked; in the new layout not all covered. */
		CHECK(s3.remapper.result == -ENOENT || s3.remapper.result == -EBUSY);
		CHECK_EQ(tdpmmu_invalidate_end(s3.vm, 256, 512), 0);
		/* Every leaf mapped now must match the host's frames (the audit). */
		for (uint64_t g = 0; g < 512; g += 64)
			CHECK_EQ(tdpmmu_fault(v, g, TDPMMU_ACCESS_WRITE, 0, NULL), 0);
		vm_done(s3.vm, v);
	}
	tdpmmu_test_set_site_hook(NULL);
	helper_stop(&s3.remapper);
	/* -ENOENT before the check also never opens the window: count it. */
	printf("seq 3: %u rounds, %u windows, the move finished inside the window %u times\n",
	       rounds, s3.windows, s3.inside);
}

/* ---------------------------------- 4: a dirty page lost across a move */

static struct {
	struct tdpmmu_vm *vm;
	struct helper mover;
	uint64_t page;
	unsigned round, windows, inside;
	pthread_t main;
} s4;

static int s4_move(void *arg)
{
	(void)arg;
	return tdpmmu_memslot_move(s4.vm, 1, 4096);
}

/* On the faulting (main) thread: W is set, the page not marked yet. */
static void s4_hook(enum tdpmmu_test_site site, uint64_t gfn)
{
	if (site != TDPMMU_TEST_SITE_FAST_FIXED || gfn != s4.page ||
	    !pthread_equal(pthread_self(), s4.main))
		return;
	s4.windows++;
	helper_call(&s4.mover, s4_move, NULL);
	s4.inside += event_wait(&s4.mover.done, s4.round, HOOK_WAIT_MS);
}

static void seq4(unsigned rounds)
{
	uint64_t bm[512 / 64];
	unsigned lost = 0;

	memset(&s4, 0, sizeof(s4));
	s4.main = pthread_self();
	helper_start(&s4.mover);
	tdpmmu_test_set_site_hook(s4_hook);
	for (unsigned i = 1; i <= rounds; i++) {
		struct tdpmmu_vcpu *v;
		struct tdpmmu_fault_result res;

		s4.vm = make_vm(0, 1024);
		add_slot(s4.vm, 1, 0, 512, TDPMMU_BACKING_ANON);
		REQUIRE(tdpmmu_vcpu_create(s4.vm, &v) == 0);
		CHECK_EQ(tdpmmu_dirty_log_enable(s4.vm, 1, 0), 0);
		s4.page = i % 512;
		/* A read maps the page MMU-writable without W (a logging slot). */
		CHECK_EQ(tdpmmu_fault(v, s4.page, TDPMMU_ACCESS_READ, 0, NULL), 0);
		s4.round = i;
		CHECK_EQ(tdpmmu_fault(v, s4.page, TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_PRESENT, 0,
				      &res),
			 0);
		event_wait(&s4.mover.done, i, 0);
		CHECK_EQ(s4.mover.result, 0);
		CHECK_EQ(tdpmmu_dirty_log_get(s4.vm, 1, bm), 1);
		lost += !(bm[s4.page / 64] >> (s4.page % 64) & 1);
		vm_done(s4.vm, v);
	}
	tdpmmu_test_set_site_hook(NULL);
	helper_stop(&s4.mover);
	CHECK_EQ(s4.windows, rounds); /* every write took the fast path */
	CHECK_EQ(lost, 0);
	printf("seq 4: %u rounds, %u fast-path windows, the move finished inside %u times, "
	       "%u dirty pages lost\n",
	       rounds, s4.windows, s4.inside, lost);
}

/* ------------------------- 5: a huge fault over a partial invalidation */

static void seq5(unsigned rounds, enum tdpmmu_backing backing)
{
	int huge = backing == TDPMMU_BACKING_HUGETLB_1G ? TDPMMU_LEVEL_1G : TDPMMU_LEVEL_2M;
	uint64_t span = huge == TDPMMU_LEVEL_1G ? 512ull * 512 : 512;
	struct tdpmmu_vm *vm = make_vm(0, 0);
	struct tdpmmu_vcpu *v;
	uint64_t rnd = 5;
	unsigned capped = 0;

	add_slot(vm, 1, 0, 2 * span, backing);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t x = span + test_rand(&rnd) % span, y = span + test_rand(&rnd) % span;
		struct tdpmmu_fault_result res;
		struct tdpmmu_mapping m;

		if (y == x)
			y = span + (x - span + 1) % span;
		CHECK_EQ(tdpmmu_invalidate_begin(vm, x, x + 1), 0);
		CHECK_EQ(tdpmmu_fault(v, y, TDPMMU_ACCESS_READ, 0, &res), 0);
		CHECK_EQ(tdpmmu_lookup(vm, x, &m), 0);
		if (m.present)
			fprintf(stderr,
				"seq 5: gfn %llu mapped at level %d during its invalidation "
				"(fault on %llu)\n",
				(unsigned long long)x, m.level, (unsigned long long)y);
		CHECK(!m.present);
		capped += res.level < huge;
		CHECK_EQ(tdpmmu_invalidate_end(vm, x, x + 1), 0);
		/* After end the same fault may map the whole page again. */
		CHECK_EQ(tdpmmu_fault(v, x, TDPMMU_ACCESS_READ, 0, &res), 0);
		CHECK_EQ(res.level, huge);
	}
	CHECK_EQ(capped, rounds);
	printf("seq 5 (%s): %u rounds, the fault next to the invalidation mapped below %s every "
	       "time\n",
	       tdpmmu_backing_name(backing), rounds, huge == TDPMMU_LEVEL_1G ? "1G" : "2M");
	vm_done(vm, v);
}

/* -------------------------------------------- 6: host pages in gfn space */

static void seq6(void)
{
	static const struct {
		uint64_t gfn;
		int64_t paid;
	} steps[] = { { 256, 1 }, { 511, 1 }, { 512, 2 }, { 1023, 2 }, { 1279, 3 } };
	struct tdpmmu_vm *vm = make_vm(1000, 0);
	struct tdpmmu_vcpu *v;

	add_slot(vm, 1, 256, 1024, TDPMMU_BACKING_THP);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++) {
		CHECK_EQ(tdpmmu_fault(v, steps[i].gfn, TDPMMU_ACCESS_READ, 0, NULL), 0);
		CHECK_EQ(test_counter(vm, TDPMMU_C_HOST_FAULTS), steps[i].paid);
	}
	printf("seq 6: a THP slot at gfn 256 pays one host fault per aligned 2 MiB page\n");
	vm_done(vm, v);
}

int main(int argc, char **argv)
{
	unsigned rounds = 8, only = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--strategy") && i + 1 < argc)
			setenv("TDPMMU_STRATEGY", argv[++i], 1);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			i++;
		else {
			fprintf(stderr,
				"usage: %s [--rounds N] [--only 1-6] [--strategy NAME] "
				"[--seconds S]\n",
				argv[0]);
			return 2;
		}
	}
	if (!only || only == 1) {
		seq1(rounds, TDPMMU_BACKING_ANON, 2048);
		seq1(rounds, TDPMMU_BACKING_THP, 4096 + 256);
	}
	if (!only || only == 2) {
		seq2(rounds, false);
		seq2(rounds, true);
	}
	if (!only || only == 3)
		seq3(rounds);
	if (!only || only == 4)
		seq4(rounds);
	if (!only || only == 5) {
		seq5(rounds, TDPMMU_BACKING_THP);
		seq5(rounds, TDPMMU_BACKING_HUGETLB_2M);
		seq5(rounds, TDPMMU_BACKING_HUGETLB_1G);
	}
	if (!only || only == 6)
		seq6();
	return check_report("test_memslot_race");
}
