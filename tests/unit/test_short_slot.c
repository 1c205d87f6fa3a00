/*
 * test_short_slot.c - memslots that are not a whole number of their
 * backing's huge pages, or do not start on one (KVM selftests' `-b 3M -s
 * anonymous_hugetlb_1gb`), through the public API only.
 *
 * Each slot is added, every page of it is faulted (write), and then every
 * page is looked up: the leaf must be the largest page the backing allows
 * whose aligned block lies wholly inside the slot (KVM's rule for a slot
 * smaller than, or unaligned to, its backing page), it must never cover a
 * gfn outside the slot, and it must map the host's frame.  The slots
 * include a 3M slot of 2M pages, a 3M slot of 1G pages (2M then 4K), the
 * same at an offset that is not 2M aligned, a 1G+3M slot of 1G pages
 * (one 1G leaf, then 2M and 4K), and the shared backings.  Runs under
 * $TDPMMU_STRATEGY like every test.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/check.h"
#include "lib/test_vm.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define MB2 512ull           /* pages in 2 MiB */
#define GB (512ull * 512ull) /* pages in 1 GiB */

struct short_slot {
	uint64_t base, npages;
	enum tdpmmu_backing backing;
	int backing_level;
	int want_top; /* the largest level that must show up somewhere */
};

static const struct short_slot cases[] = {
	{ 4 * GB, 3 * MB2 / 2, TDPMMU_BACKING_HUGETLB_2M, TDPMMU_LEVEL_2M, TDPMMU_LEVEL_2M },
	{ 5 * GB, 3 * MB2 / 2, TDPMMU_BACKING_HUGETLB_1G, TDPMMU_LEVEL_1G, TDPMMU_LEVEL_2M },
	{ 6 * GB + MB2 / 2, 3 * MB2 / 2, TDPMMU_BACKING_HUGETLB_1G, TDPMMU_LEVEL_1G,
	  TDPMMU_LEVEL_2M },
	{ 7 * GB + 3, 3 * MB2 / 2, TDPMMU_BACKING_HUGETLB_1G, TDPMMU_LEVEL_1G, TDPMMU_LEVEL_4K },
	{ 8 * GB, GB + 3 * MB2 / 2, TDPMMU_BACKING_HUGETLB_1G, TDPMMU_LEVEL_1G, TDPMMU_LEVEL_1G },
	{ 10 * GB, 3 * MB2 / 2, TDPMMU_BACKING_SHARED_HUGETLB, TDPMMU_LEVEL_2M, TDPMMU_LEVEL_2M },
	{ 11 * GB, 3 * MB2 / 2, TDPMMU_BACKING_SHMEM, TDPMMU_LEVEL_4K, TDPMMU_LEVEL_4K },
	{ 12 * GB + MB2 / 2, 3 * MB2 / 2, TDPMMU_BACKING_THP, TDPMMU_LEVEL_2M, TDPMMU_LEVEL_2M },
};

/* The largest level <= @top whose aligned block around @g lies in the slot. */
static int expected_level(const struct short_slot *c, uint64_t g)
{
	for (int level = c->backing_level; level > TDPMMU_LEVEL_4K; level--) {
		uint64_t n = tdpmmu_level_pages(level), start = g & ~(n - 1);

		if (start >= c->base && start + n <= c->base + c->npages)
			return level;
	}
	return TDPMMU_LEVEL_4K;
}

static void check_slot(struct tdpmmu_vm *vm, struct tdpmmu_vcpu *vcpu, const struct short_slot *c,
		       uint32_t id)
{
	struct tdpmmu_memslot slot = { id, c->base, c->npages, c->backing, 0 };
	int top = 0;

	CHECK_EQ(tdpmmu_memslot_add(vm, &slot), 0);
	for (uint64_t g = c->base; g < c->base + c->npages; g++)
		REQUIRE(tdpmmu_fault(vcpu, g, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	for (uint64_t g = c->base; g < c->base + c->npages; g++) {
		struct tdpmmu_mapping m;
		uint64_t pfn = 0, n, start;

		REQUIRE(tdpmmu_lookup(vm, g, &m) == 0);
		CHECK(m.present);
		if (!m.present)
			continue;
		n = tdpmmu_level_pages(m.level);
		start = g & ~(n - 1);
		if (m.level != expected_level(c, g) || start < c->base ||
		    start + n > c->base + c->npages) {
			fprintf(stderr,
				"%s slot [0x%llx, +0x%llx): gfn 0x%llx at level %d, want %d\n",
				tdpmmu_backing_name(c->backing), (unsigned long long)c->base,
				(unsigned long long)c->npages, (unsigned long long)g, m.level,
				expected_level(c, g));
			CHECK(0);
		}
		CHECK_EQ(tdpmmu_host_pfn(vm, g, &pfn), 0);
		CHECK_EQ(m.pfn, pfn);
		if (m.level > top)
			top = m.level;
	}
	CHECK_EQ(top, c->want_top);
	/* Nothing outside the slot was mapped by its faults. */
	for (int d = 1; d <= 2; d++) {
		struct tdpmmu_mapping m;

		if (c->base >= (uint64_t)d && tdpmmu_lookup(vm, c->base - (uint64_t)d, &m) == 0)
			CHECK(!m.present);
		if (tdpmmu_lookup(vm, c->base + c->npages - 1 + (uint64_t)d, &m) == 0)
			CHECK(!m.present);
	}
}

int main(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vcpu *vcpu;
	struct tdpmmu_vm *vm;
	enum tdpmmu_backing b;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_slot(vm, vcpu, &cases[i], i);
	CHECK_EQ(tdpmmu_audit(vm), 0);

	/* The new backings by name, both spellings, and back. */
	CHECK_EQ(tdpmmu_backing_parse("shmem", &b), 0);
	CHECK_EQ(b, TDPMMU_BACKING_SHMEM);
	CHECK_EQ(tdpmmu_backing_parse("shared_hugetlb", &b), 0);
	CHECK_EQ(b, TDPMMU_BACKING_SHARED_HUGETLB);
	CHECK_EQ(tdpmmu_backing_parse("shared-hugetlb", &b), 0);
	CHECK_EQ(strcmp(tdpmmu_backing_name(TDPMMU_BACKING_SHMEM), "shmem"), 0);
	CHECK_EQ(tdpmmu_backing_parse("Shmem", &b), -EINVAL);

	tdpmmu_vcpu_destroy(vcpu);
	tdpmmu_vm_destroy(vm);
	return check_report("test_short_slot");
}
