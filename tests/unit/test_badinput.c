/*
 * test_badinput.c - every rejected input returns its error and leaves the
 * MMU exactly as it was (same mappings, same accounting, audit clean).
 */
#include <errno.h>
#include <string.h>

#include "lib/check.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define SLOT_PAGES (1ull << 18)

struct snapshot {
	int64_t acct[TDPMMU_C_LEAVES_1G + 1];
	struct tdpmmu_mapping m[64];
};

static void snap(struct tdpmmu_vm *vm, struct snapshot *s)
{
	int64_t c[TDPMMU_NR_COUNTERS];

	tdpmmu_counters_read(vm, c);
	memcpy(s->acct, c, sizeof(s->acct));
	for (unsigned i = 0; i < ARRAY_SIZE(s->m); i++)
		REQUIRE(tdpmmu_lookup(vm, i * 4099, &s->m[i]) == 0);
}

static void expect_unchanged(struct tdpmmu_vm *vm, const struct snapshot *before, int line)
{
	struct snapshot after;

	snap(vm, &after);
	if (memcmp(before, &after, sizeof(after))) {
		fprintf(stderr, "line %d: state changed by a rejected call\n", line);
		check_failures++;
	}
	CHECK_EQ(tdpmmu_audit(vm), 0);
}

#define EXPECT_REJECTED(call, err)                                                                 \
	do {                                                                                       \
		struct snapshot s_;                                                                \
		snap(vm, &s_);                                                                     \
		CHECK_EQ((call), (err));                                                           \
		expect_unchanged(vm, &s_, __LINE__);                                               \
	} while (0)

static void test_vm_create(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm = NULL;

	CHECK_EQ(tdpmmu_vm_create(NULL, &vm), -EINVAL);
	tdpmmu_vm_config_init(&cfg);
	cfg.levels = 3;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	cfg.levels = 6;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	cfg.levels = 4;
	cfg.max_tables = 1;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = TDPMMU_NR_STRATEGIES;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), -EINVAL);
	CHECK(vm == NULL);
}

static void test_strategy_names(void)
{
	enum tdpmmu_strategy s = TDPMMU_STRATEGY_WRLOCK;

	for (int i = 0; i < TDPMMU_NR_STRATEGIES; i++) {
		enum tdpmmu_strategy back;

		REQUIRE(tdpmmu_strategy_name((enum tdpmmu_strategy)i) != NULL);
		CHECK_EQ(
			tdpmmu_strategy_parse(tdpmmu_strategy_name((enum tdpmmu_strategy)i), &back),
			0);
		CHECK_EQ(back, i);
	}
	CHECK(tdpmmu_strategy_name(TDPMMU_NR_STRATEGIES) == NULL);
	CHECK_EQ(tdpmmu_strategy_parse("RCU", &s), -EINVAL);
	CHECK_EQ(tdpmmu_strategy_parse("", &s), -EINVAL);
	CHECK_EQ(tdpmmu_strategy_parse(NULL, &s), -EINVAL);
	CHECK_EQ(s, TDPMMU_STRATEGY_WRLOCK); /* untouched by the failures */
	CHECK_EQ(tdpmmu_audit_tlbs(NULL), -EINVAL);
}

static void test_memslots_and_faults(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	enum tdpmmu_backing b;
	uint64_t max;
	struct tdpmmu_memslot ok = { 0, 0, SLOT_PAGES, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_memslot ro = { 1, 4 * SLOT_PAGES, 512, TDPMMU_BACKING_ANON,
				     TDPMMU_MEMSLOT_READONLY };
	struct tdpmmu_memslot bad;
	struct tdpmmu_mapping m;

	tdpmmu_vm_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	max = tdpmmu_vm_max_gfn(vm);
	REQUIRE(tdpmmu_memslot_add(vm, &ok) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &ro) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	/* Some state to protect: 4K, 2M, and split mappings. */
	for (uint64_t g = 0; g < SLOT_PAGES; g += 4099)
		REQUIRE(tdpmmu_fault(vcpu, g, TDPMMU_ACCESS_WRITE, (int)(g % 3), NULL) == 0);

	EXPECT_REJECTED(tdpmmu_memslot_add(vm, NULL), -EINVAL);
#define BAD_SLOT(field, value, err)                                                                \
	do {                                                                                       \
		bad = (struct tdpmmu_memslot){ 7, 2 * SLOT_PAGES, 1024, TDPMMU_BACKING_ANON, 0 };  \
		bad.field = value;                                                                 \
		EXPECT_REJECTED(tdpmmu_memslot_add(vm, &bad), err);                                \
	} while (0)
	BAD_SLOT(npages, 0, -EINVAL);
	BAD_SLOT(backing, (enum tdpmmu_backing)99, -EINVAL);
	BAD_SLOT(flags, 0x80, -EINVAL);
	BAD_SLOT(base_gfn, max, -ERANGE);
	BAD_SLOT(npages, max, -ERANGE);
	BAD_SLOT(npages, UINT64_MAX, -ERANGE);
	BAD_SLOT(id, 0, -EEXIST);                         /* id taken */
	BAD_SLOT(base_gfn, SLOT_PAGES - 1, -EEXIST);      /* overlaps the THP slot's end */
	BAD_SLOT(base_gfn, 4 * SLOT_PAGES - 10, -EEXIST); /* overlaps the read-only slot */
	/* Unaligned hugetlb slots are valid (test_short_slot.c); a bad backing is not. */
	bad = (struct tdpmmu_memslot){ 8, 2 * SLOT_PAGES, 512, TDPMMU_NR_BACKINGS, 0 };
	EXPECT_REJECTED(tdpmmu_memslot_add(vm, &bad), -EINVAL);

	/* No memslot: not an error, an MMIO entry (mmio_caching, test_mmio.c); nothing mapped. */
	CHECK_EQ(tdpmmu_fault(vcpu, 3 * SLOT_PAGES, TDPMMU_ACCESS_READ, 0, NULL),
		 TDPMMU_FAULT_MMIO);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 4 * SLOT_PAGES, TDPMMU_ACCESS_WRITE, 0, NULL), -EFAULT);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, max, TDPMMU_ACCESS_READ, 0, NULL), -ERANGE);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 5, 0, 0, NULL), -EINVAL);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 5, 0x10, 0, NULL), -EINVAL);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 5, TDPMMU_ACCESS_PRESENT, 0, NULL), -EINVAL);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 5, TDPMMU_ACCESS_READ, 4, NULL), -EINVAL);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 5, TDPMMU_ACCESS_READ, -1, NULL), -EINVAL);
	EXPECT_REJECTED(tdpmmu_zap_range(vm, 10, 10), -EINVAL);
	EXPECT_REJECTED(tdpmmu_zap_range(vm, 10, 5), -EINVAL);
	EXPECT_REJECTED(tdpmmu_zap_range(vm, 0, max + 1), -ERANGE);
	EXPECT_REJECTED(tdpmmu_lookup(vm, max, &m), -ERANGE);
	EXPECT_REJECTED(tdpmmu_lookup(vm, 0, NULL), -EINVAL);
	CHECK_EQ(tdpmmu_backing_parse("thp2", &b), -EINVAL);
	CHECK_EQ(tdpmmu_backing_parse(NULL, &b), -EINVAL);
	CHECK_EQ(tdpmmu_backing_parse("hugetlb-1g", &b), 0);
	CHECK_EQ(b, TDPMMU_BACKING_HUGETLB_1G);

	/* A read-only slot still maps reads, without W. */
	CHECK_EQ(tdpmmu_fault(vcpu, 4 * SLOT_PAGES + 3, TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK_EQ(tdpmmu_lookup(vm, 4 * SLOT_PAGES + 3, &m), 0);
	CHECK(m.present && !tdpmmu_spte_writable(m.spte) && !tdpmmu_spte_host_writable(m.spte));

	/* Memslot table full. */
	for (uint32_t i = 2; i < TDPMMU_MAX_MEMSLOTS; i++) {
		bad = (struct tdpmmu_memslot){ 100 + i, 8 * SLOT_PAGES + i * 16, 16,
					       TDPMMU_BACKING_ANON, 0 };
		REQUIRE(tdpmmu_memslot_add(vm, &bad) == 0);
	}
	bad = (struct tdpmmu_memslot){ 99, 16 * SLOT_PAGES, 16, TDPMMU_BACKING_ANON, 0 };
	EXPECT_REJECTED(tdpmmu_memslot_add(vm, &bad), -ENOSPC);
	tdpmmu_vm_destroy(vm);
}

static void test_arena_exhaustion(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	struct tdpmmu_memslot s = { 0, 0, 1024, TDPMMU_BACKING_ANON, 0 };

	tdpmmu_vm_config_init(&cfg);
	cfg.max_tables = 4; /* a fault needs 5 in its cache: a root and one per level below */
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &s) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	EXPECT_REJECTED(tdpmmu_fault(vcpu, 1, TDPMMU_ACCESS_READ, 0, NULL), -ENOMEM);
	tdpmmu_vm_destroy(vm); /* also proves nothing leaked */
}

/*
 * tdpmmu_payload_bytes_for: the payload it sizes holds its memslots even
 * where each base gfn sits just below a 1 GiB boundary (the host starts a
 * slot's frames at a 1 GiB boundary plus that offset).
 */
static void test_payload_sizing(void)
{
	const uint64_t gb = 1ull << 18, npages = 512; /* pages per GiB; pages per slot */
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	tdpmmu_vm_config_init(&cfg);
	cfg.payload_bytes = tdpmmu_payload_bytes_for(3 * npages, 3);
	CHECK_EQ(tdpmmu_vm_create(&cfg, &vm), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct tdpmmu_memslot slot = {
			.id = i,
			.base_gfn = (2 * i + 1) * gb - npages,
			.npages = npages,
			.backing = TDPMMU_BACKING_ANON,
		};

		CHECK_EQ(tdpmmu_memslot_add(vm, &slot), 0);
	}
	tdpmmu_vm_destroy(vm);
}

/* The build queries, and the testing calls' NULL handles. */
static void test_build_and_testing(void)
{
	uint64_t pages = 1;

	CHECK_EQ(tdpmmu_level_pages(0), 0);
	CHECK_EQ(tdpmmu_level_pages(-1), 0);
	CHECK_EQ(tdpmmu_level_pages(6), 0);
	for (int level = TDPMMU_LEVEL_4K; level <= 5; level++) {
		CHECK_EQ(tdpmmu_level_pages(level), pages);
		pages <<= tdpmmu_pt_bits();
	}
	CHECK(tdpmmu_vcpu_cache_tables() >= 5);
	CHECK_EQ(tdpmmu_thread_attach(), 0);
	CHECK_EQ(tdpmmu_audit(NULL), -EINVAL);
	CHECK_EQ(tdpmmu_audit_tlbs(NULL), -EINVAL);
	CHECK_EQ(tdpmmu_nx_audit(NULL), -EINVAL);
	CHECK_EQ(tdpmmu_hold_walk(NULL, 1), -EINVAL);
	CHECK_EQ(tdpmmu_test_recover_range(NULL, 0, 1, TDPMMU_RECOVER_ZAP), -EINVAL);
}

int main(void)
{
	test_build_and_testing();
	test_vm_create();
	test_payload_sizing();
	test_strategy_names();
	test_memslots_and_faults();
	test_arena_exhaustion();
	return check_report("test_badinput");
}
