/*
 * test_pre_fault.c - tdpmmu_pre_fault (KVM_PRE_FAULT_MEMORY).
 *
 * Deterministic, on one thread unless said otherwise:
 *  - a whole THP slot is mapped with 2M leaves, writable but neither
 *    Accessed nor Dirty (KVM's prefetch), and the range comes back empty;
 *    a second call finds it all mapped and changes nothing;
 *  - bad input (NULL, unaligned, empty, wrapping, beyond the address width,
 *    no memslot, a stop before the first step) returns its error, leaves
 *    the range untouched and maps nothing;
 *  - a stop after some steps returns 0 with the rest of the range, and a
 *    second call resumes there; a range running into a hole stops at it
 *    and the next call says -ENOENT;
 *  - in a slot that logs dirty pages it maps 4K leaves, none writable,
 *    and marks no page dirty (a read, not a write);
 *  - the key step, the notifier retry: the fault hook remaps the block
 *    between the pre-fault's frame lookup and its MMU lock; no leaf may
 *    map the frame looked up first (the broken build pre-fault-no-retry
 *    installs it);
 *  - two vCPU threads pre-fault the same 4K slot at once; every page is
 *    mapped once and the audit holds.
 *
 *   test_pre_fault [--seconds S]   (S is ignored: every case is bounded)
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "lib/check.h"
#include "lib/test_opts.h"
#include "lib/test_vm.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull /* host 2 MiB block, in pages */
#define PAGE 4096ull
#define SLOT_PAGES (4 * MB2)

static struct tdpmmu_vm *new_vm(enum tdpmmu_backing backing, uint64_t npages, uint32_t flags)
{
	struct tdpmmu_memslot slot = { 0, 0, npages, backing, flags };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = (GB_PAGES + 8 * MB2) * PAGE; /* frames start at 1 GiB */
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	return vm;
}

static bool mapped(struct tdpmmu_vm *vm, uint64_t gfn, int *level)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	if (level)
		*level = m.level;
	return m.present;
}

/* Every page of [start, end) maps the frame the host has now. */
static unsigned long stale_leaves(struct tdpmmu_vm *vm, uint64_t start, uint64_t end)
{
	unsigned long stale = 0;

	for (uint64_t gfn = start; gfn < end; gfn++) {
		struct tdpmmu_mapping m;
		uint64_t pfn;

		REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
		REQUIRE(tdpmmu_host_pfn(vm, gfn, &pfn) == 0);
		if (m.present && m.pfn != pfn)
			stale++;
	}
	return stale;
}

static void test_whole_slot(void)
{
	struct tdpmmu_vm *vm = new_vm(TDPMMU_BACKING_THP, SLOT_PAGES, 0);
	uint64_t gpa = 0, size = SLOT_PAGES * PAGE;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), 0);
	CHECK_EQ(size, 0);
	CHECK_EQ(gpa, SLOT_PAGES * PAGE);
	for (uint64_t gfn = 0; gfn < SLOT_PAGES; gfn += 97) {
		struct tdpmmu_mapping m;

		REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
		CHECK(m.present);
		CHECK_EQ(m.level, TDPMMU_LEVEL_2M);   /* the largest the slot allows */
		CHECK(tdpmmu_spte_writable(m.spte));  /* a read maps writable outside logging */
		CHECK(!tdpmmu_spte_accessed(m.spte)); /* no access yet: the leaf starts old */
		CHECK(!tdpmmu_spte_dirty(m.spte));
	}
	gpa = 0;
	size = SLOT_PAGES * PAGE;
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), 0); /* all spurious */
	CHECK_EQ(size, 0);
	CHECK_EQ(stale_leaves(vm, 0, SLOT_PAGES), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

static bool stop_now(void *ctx)
{
	(void)ctx;
	return true;
}

/* Stop once *ctx steps have run. */
static bool stop_after(void *ctx)
{
	int *left = ctx;

	return (*left)-- <= 0;
}

#define EXPECT_UNTOUCHED(call, g, s, err)                                                          \
	do {                                                                                       \
		uint64_t g_ = (g), s_ = (s);                                                       \
		uint64_t gpa_ = g_, size_ = s_;                                                    \
		CHECK_EQ(call(v, &gpa_, &size_), (err));                                           \
		CHECK_EQ(gpa_, g_);                                                                \
		CHECK_EQ(size_, s_);                                                               \
	} while (0)

static int plain(struct tdpmmu_vcpu *v, uint64_t *gpa, uint64_t *size)
{
	return tdpmmu_pre_fault(v, gpa, size, NULL, NULL);
}

static int stopped(struct tdpmmu_vcpu *v, uint64_t *gpa, uint64_t *size)
{
	return tdpmmu_pre_fault(v, gpa, size, stop_now, NULL);
}

static void test_bad_input_and_resume(void)
{
	struct tdpmmu_vm *vm = new_vm(TDPMMU_BACKING_ANON, SLOT_PAGES, 0);
	uint64_t max = tdpmmu_vm_max_gfn(vm) * PAGE, gpa, size;
	struct tdpmmu_vcpu *v;
	int steps;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	gpa = 0;
	size = PAGE;
	CHECK_EQ(tdpmmu_pre_fault(NULL, &gpa, &size, NULL, NULL), -EINVAL);
	CHECK_EQ(tdpmmu_pre_fault(v, NULL, &size, NULL, NULL), -EINVAL);
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, NULL, NULL, NULL), -EINVAL);
	EXPECT_UNTOUCHED(plain, 1, PAGE, -EINVAL);
	EXPECT_UNTOUCHED(plain, 0, PAGE + 8, -EINVAL);
	EXPECT_UNTOUCHED(plain, 0, 0, -EINVAL);
	EXPECT_UNTOUCHED(plain, UINT64_MAX - PAGE + 1, 2 * PAGE, -EINVAL);
	EXPECT_UNTOUCHED(plain, max - PAGE, 2 * PAGE, -ERANGE);
	EXPECT_UNTOUCHED(plain, SLOT_PAGES * PAGE, PAGE, -ENOENT);
	EXPECT_UNTOUCHED(stopped, 0, SLOT_PAGES * PAGE, -EINTR);
	CHECK(!mapped(vm, 0, NULL));

	/* Interrupted after 5 pages (4K slot: one page a step), then resumed. */
	steps = 5;
	gpa = 0;
	size = 64 * PAGE;
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, stop_after, &steps), 0);
	CHECK_EQ(gpa, 5 * PAGE);
	CHECK_EQ(size, 59 * PAGE);
	CHECK(mapped(vm, 4, NULL));
	CHECK(!mapped(vm, 5, NULL));
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), 0);
	CHECK_EQ(gpa, 64 * PAGE);
	CHECK_EQ(size, 0);
	CHECK(mapped(vm, 63, NULL));
	CHECK(!mapped(vm, 64, NULL));

	/* Into the hole after the slot: stops there, then -ENOENT. */
	gpa = (SLOT_PAGES - 2) * PAGE;
	size = 4 * PAGE;
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), 0);
	CHECK_EQ(gpa, SLOT_PAGES * PAGE);
	CHECK_EQ(size, 2 * PAGE);
	CHECK(mapped(vm, SLOT_PAGES - 1, NULL));
	EXPECT_UNTOUCHED(plain, gpa, size, -ENOENT);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

static void test_dirty_logging(void)
{
	struct tdpmmu_vm *vm = new_vm(TDPMMU_BACKING_THP, SLOT_PAGES, 0);
	uint64_t gpa = 0, size = MB2 * PAGE, bitmap[SLOT_PAGES / 64];
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	REQUIRE(tdpmmu_dirty_log_enable(vm, 0, 0) >= 0);
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), 0);
	CHECK_EQ(size, 0);
	for (uint64_t gfn = 0; gfn < MB2; gfn += 31) {
		struct tdpmmu_mapping m;

		REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
		CHECK(m.present);
		CHECK_EQ(m.level, TDPMMU_LEVEL_4K);
		CHECK(!tdpmmu_spte_writable(m.spte));
		CHECK(!tdpmmu_spte_dirty(m.spte));
	}
	CHECK_EQ(tdpmmu_dirty_log_get(vm, 0, bitmap), 0); /* nothing marked */
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
}

/* The key step: an invalidation between the frame lookup and the lock. */
static struct tdpmmu_vm *hook_vm;
static uint64_t hook_gfn;
static int hook_runs;

static void remap_mid_pre_fault(uint64_t gfn)
{
	uint64_t blk = gfn & ~(MB2 - 1);

	if (gfn != hook_gfn || hook_runs++)
		return; /* the retry goes through untouched */
	REQUIRE(tdpmmu_invalidate_begin(hook_vm, blk, blk + MB2) == 0);
	REQUIRE(tdpmmu_host_remap(hook_vm, blk, blk + MB2, 0) == 0);
	REQUIRE(tdpmmu_invalidate_end(hook_vm, blk, blk + MB2) == 0);
}

static void test_invalidation_mid_pre_fault(void)
{
	uint64_t gpa = 0, size = SLOT_PAGES * PAGE;
	struct tdpmmu_vcpu_stats st;
	struct tdpmmu_vcpu *v;
	unsigned long stale;

	hook_vm = new_vm(TDPMMU_BACKING_THP, SLOT_PAGES, 0);
	REQUIRE(tdpmmu_vcpu_create(hook_vm, &v) == 0);
	hook_gfn = MB2; /* the second block's first page */
	hook_runs = 0;
	tdpmmu_test_set_fault_hook(remap_mid_pre_fault);
	CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), 0);
	tdpmmu_test_set_fault_hook(NULL);
	CHECK_EQ(size, 0);
	CHECK_EQ(hook_runs, 2); /* the first try met the remap, the retry mapped */
	tdpmmu_vcpu_stats_read(v, &st);
	CHECK(st.notifier_retries >= 1);
	stale = stale_leaves(hook_vm, 0, SLOT_PAGES);
	if (stale)
		fprintf(stderr, "%lu pages map a frame the host no longer uses\n", stale);
	CHECK_EQ(stale, 0);
	for (uint64_t gfn = MB2; gfn < 2 * MB2; gfn += 37)
		CHECK(mapped(hook_vm, gfn, NULL)); /* mapped anyway, with the new frames */
	CHECK_EQ(tdpmmu_audit(hook_vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(hook_vm);
	hook_vm = NULL;
}

/* Two vCPUs pre-fault the same range at once. */
struct racer {
	struct tdpmmu_vm *vm;
	int r;
};

static void *race_pre_fault(void *arg)
{
	struct racer *rc = arg;
	uint64_t gpa = 0, size = SLOT_PAGES * PAGE;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(rc->vm, &v) == 0);
	rc->r = tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL);
	if (!rc->r && size)
		rc->r = -EIO;
	tdpmmu_vcpu_destroy(v);
	return NULL;
}

static void test_parallel(void)
{
	struct tdpmmu_vm *vm = new_vm(TDPMMU_BACKING_ANON, SLOT_PAGES, 0);
	struct racer rc[2] = { { vm, 0 }, { vm, 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		REQUIRE(pthread_create(&t[i], NULL, race_pre_fault, &rc[i]) == 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(rc[i].r, 0);
	}
	for (uint64_t gfn = 0; gfn < SLOT_PAGES; gfn++)
		CHECK(mapped(vm, gfn, NULL));
	CHECK_EQ(stale_leaves(vm, 0, SLOT_PAGES), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 1, .vcpus = 2, .seed = 1 };

	test_opts_parse(argc, argv, &o, 2);
	test_invalidation_mid_pre_fault();
	test_whole_slot();
	test_bad_input_and_resume();
	test_dirty_logging();
	test_parallel();
	return check_report("test_pre_fault");
}
