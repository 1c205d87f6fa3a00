/*
 * backing.c - names of the backing kinds on the command line: KVM's
 * selftests names (-s anonymous, anonymous_thp, anonymous_hugetlb,
 * anonymous_hugetlb_2mb, anonymous_hugetlb_1gb, also hugetlb_2mb and
 * hugetlb_1gb) and the library's short
 * ones (anon, thp, hugetlb-2m, hugetlb-1g), and the page size each implies.
 */
#include <string.h>

#include "populate.h"

static const struct {
	const char *name;
	enum tdpmmu_backing backing;
} kvm_names[] = {
	/* The first name of each kind is the one reports print. */
	{ "anonymous", TDPMMU_BACKING_ANON },
	{ "anonymous_thp", TDPMMU_BACKING_THP },
	{ "anonymous_hugetlb_2mb", TDPMMU_BACKING_HUGETLB_2M },
	{ "anonymous_hugetlb", TDPMMU_BACKING_HUGETLB_2M },
	{ "anonymous_hugetlb_1gb", TDPMMU_BACKING_HUGETLB_1G },
	/* The issue tracker's spelling of the same. */
	{ "hugetlb_2mb", TDPMMU_BACKING_HUGETLB_2M },
	{ "hugetlb_1gb", TDPMMU_BACKING_HUGETLB_1G },
};

int backing_parse(const char *s, enum tdpmmu_backing *out)
{
	for (size_t i = 0; i < sizeof(kvm_names) / sizeof(kvm_names[0]); i++) {
		if (!strcmp(s, kvm_names[i].name)) {
			*out = kvm_names[i].backing;
			return 0;
		}
	}
	return tdpmmu_backing_parse(s, out);
}

const char *backing_kvm_name(enum tdpmmu_backing b)
{
	for (size_t i = 0; i < sizeof(kvm_names) / sizeof(kvm_names[0]); i++)
		if (kvm_names[i].backing == b)
			return kvm_names[i].name;
	return "unknown";
}

uint64_t backing_align_bytes(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_HUGETLB_2M:
		return 2ull << 20;
	case TDPMMU_BACKING_HUGETLB_1G:
		return 1ull << 30;
	default:
		return POPULATE_PAGE_BYTES; /* THP falls back to 4K where 2M does not fit */
	}
}
