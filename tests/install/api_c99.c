/*
 * api_c99.c - a user of the public headers built as strict C99
 * (-std=c99 -pedantic -Werror, see the Makefile), linked against the static
 * library: the headers must compile without C11, and a few calls must work
 * from such a program.  Also checks the version macros against the library
 * and every backing spelling tdpmmu_backing_parse() accepts, and that the
 * public entry view (tdpmmu/spte.h) and the build's sizes agree with what
 * the library reports.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tdpmmu/spte.h>
#include <tdpmmu/stats.h>
#include <tdpmmu/tdpmmu.h>

static int failures;

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "api_c99: %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void check_version(void)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d.%d.%d", TDPMMU_VERSION_MAJOR, TDPMMU_VERSION_MINOR,
		 TDPMMU_VERSION_PATCH);
	EXPECT(!strcmp(buf, TDPMMU_VERSION));
	EXPECT(!strcmp(tdpmmu_version(), TDPMMU_VERSION));
}

static void check_backings(void)
{
	static const struct {
		const char *name;
		enum tdpmmu_backing b;
	} names[] = {
		{ "anon", TDPMMU_BACKING_ANON },
		{ "thp", TDPMMU_BACKING_THP },
		{ "hugetlb-2m", TDPMMU_BACKING_HUGETLB_2M },
		{ "hugetlb-1g", TDPMMU_BACKING_HUGETLB_1G },
		{ "anonymous", TDPMMU_BACKING_ANON },
		{ "anonymous_thp", TDPMMU_BACKING_THP },
		{ "anonymous_hugetlb", TDPMMU_BACKING_HUGETLB_2M },
		{ "anonymous_hugetlb_2mb", TDPMMU_BACKING_HUGETLB_2M },
		{ "anonymous_hugetlb_1gb", TDPMMU_BACKING_HUGETLB_1G },
		{ "hugetlb_2mb", TDPMMU_BACKING_HUGETLB_2M },
		{ "hugetlb_1gb", TDPMMU_BACKING_HUGETLB_1G },
	};
	static const char *const bad[] = {
		"", "Anonymous", "Shmem", "anonymous_hugetlb_16kb", "hugetlb", "anon ", "thp2"
	};
	enum tdpmmu_backing b;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		b = TDPMMU_NR_BACKINGS;
		EXPECT(tdpmmu_backing_parse(names[i].name, &b) == 0);
		EXPECT(b == names[i].b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = TDPMMU_BACKING_THP;
		EXPECT(tdpmmu_backing_parse(bad[i], &b) == -EINVAL);
		EXPECT(b == TDPMMU_BACKING_THP);
	}
	EXPECT(tdpmmu_backing_parse(NULL, &b) == -EINVAL);
	/* The name a backing prints as parses back to it. */
	for (i = 0; i < TDPMMU_NR_BACKINGS; i++) {
		EXPECT(tdpmmu_backing_parse(tdpmmu_backing_name((enum tdpmmu_backing)i), &b) == 0);
		EXPECT(b == (enum tdpmmu_backing)i);
	}
}

static void check_build(void)
{
	EXPECT(tdpmmu_pt_bits() >= 1 && tdpmmu_pt_bits() <= 9);
	EXPECT(tdpmmu_level_pages(TDPMMU_LEVEL_4K) == 1);
	EXPECT(tdpmmu_level_pages(TDPMMU_LEVEL_2M) == 1ull << tdpmmu_pt_bits());
	EXPECT(tdpmmu_level_pages(TDPMMU_LEVEL_1G) == 1ull << (2 * tdpmmu_pt_bits()));
	EXPECT(tdpmmu_level_pages(0) == 0 && tdpmmu_level_pages(6) == 0);
	EXPECT(tdpmmu_vcpu_cache_tables() > 0);
	EXPECT(tdpmmu_thread_attach() == 0);
	EXPECT(tdpmmu_thread_attach() == 0); /* again: the slot it has */
	EXPECT(tdpmmu_spte_frozen(TDPMMU_SPTE_FROZEN) && !tdpmmu_spte_present(TDPMMU_SPTE_FROZEN));
	EXPECT(tdpmmu_spte_pfn(5ull << TDPMMU_SPTE_PFN_SHIFT | TDPMMU_SPTE_RWX) == 5);
}

static void check_fault(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	struct tdpmmu_memslot slot = { 0 };
	struct tdpmmu_fault_result r;
	struct tdpmmu_mapping m;
	enum tdpmmu_backing b;
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t pfn, huge = tdpmmu_level_pages(TDPMMU_LEVEL_2M);
	uint64_t gfn = 3 * huge + 0x34;

	EXPECT(tdpmmu_backing_parse("anonymous_thp", &b) == 0);
	slot.npages = 1 << 18;
	slot.backing = b;
	tdpmmu_vm_config_init(&cfg);
	if (tdpmmu_vm_create(&cfg, &vm)) {
		EXPECT(!"tdpmmu_vm_create");
		return;
	}
	EXPECT(tdpmmu_memslot_add(vm, &slot) == 0);
	EXPECT(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	EXPECT(tdpmmu_fault(vcpu, gfn, TDPMMU_ACCESS_WRITE, 0, &r) == 0);
	EXPECT(r.level == TDPMMU_LEVEL_2M);
	EXPECT(tdpmmu_lookup(vm, gfn, &m) == 0 && m.present && m.level == TDPMMU_LEVEL_2M);
	EXPECT(tdpmmu_spte_leaf(m.spte, m.level) && tdpmmu_spte_large(m.spte));
	EXPECT(tdpmmu_spte_writable(m.spte) && tdpmmu_spte_mmu_writable(m.spte) &&
	       tdpmmu_spte_host_writable(m.spte));
	EXPECT(tdpmmu_spte_accessed(m.spte) && tdpmmu_spte_dirty(m.spte));
	EXPECT(tdpmmu_host_pfn(vm, gfn, &pfn) == 0 && pfn == m.pfn);
	EXPECT(tdpmmu_spte_pfn(m.spte) + 0x34 == m.pfn);
	tdpmmu_counters_read(vm, c);
	EXPECT(c[TDPMMU_C_LEAVES_2M] == 1);
	EXPECT(tdpmmu_zap_range(vm, 3 * huge, 4 * huge) == 0);
	EXPECT(tdpmmu_lookup(vm, gfn, &m) == 0 && !m.present);
	tdpmmu_counters_read(vm, c);
	EXPECT(c[TDPMMU_C_LEAVES_2M] == 0 && c[TDPMMU_C_LEAVES_ZAPPED] == 1);
	EXPECT(tdpmmu_counter_name(TDPMMU_C_HOST_FAULTS) != NULL);
	tdpmmu_vm_destroy(vm);
}

int main(void)
{
	check_version();
	check_backings();
	check_build();
	check_fault();
	if (failures)
		return 1;
	printf("api_c99: ok, tdpmmu %s\n", tdpmmu_version());
	return 0;
}
