/*
 * api_c99.c - a user of the public headers built as strict C99
 * (-std=c99 -pedantic -Werror, see the Makefile), linked against the static
 * library: the headers must compile without C11, and a few calls must work
 * from such a program.  Also checks the version macros against the library
 * and every backing spelling tdpmmu_backing_parse() accepts.
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
		"", "Anonymous", "shmem", "anonymous_hugetlb_16kb", "hugetlb", "anon ", "thp2"
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

static void check_fault(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	struct tdpmmu_memslot slot = { 0 };
	struct tdpmmu_fault_result r;
	struct tdpmmu_mapping m;
	enum tdpmmu_backing b;

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
	EXPECT(tdpmmu_fault(vcpu, 0x1234, TDPMMU_ACCESS_WRITE, 0, &r) == 0);
	EXPECT(r.level == TDP_LEVEL_2M);
	EXPECT(tdpmmu_lookup(vm, 0x1234, &m) == 0 && m.present);
	EXPECT(spte_is_leaf(m.spte, m.level) && spte_is_writable(m.spte));
	EXPECT(tdpmmu_zap_range(vm, 0x1000, 0x1400) == 0);
	EXPECT(tdpmmu_audit(vm) == 0);
	EXPECT(tdpmmu_counter_name(TDPMMU_C_HOST_FAULTS) != NULL);
	tdpmmu_vm_destroy(vm);
}

int main(void)
{
	check_version();
	check_backings();
	check_fault();
	if (failures)
		return 1;
	printf("api_c99: ok, tdpmmu %s\n", tdpmmu_version());
	return 0;
}
