/*
 * backing.c - how the program prints a backing kind (KVM selftests' name,
 * so that a report's command line can be pasted into a selftest's), and
 * the page size each implies.  Parsing -s is the library's
 * tdpmmu_backing_parse(), which takes these names and the short ones.
 */
#include "common/backing.h"

const char *backing_kvm_name(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_ANON:
		return "anonymous";
	case TDPMMU_BACKING_THP:
		return "anonymous_thp";
	case TDPMMU_BACKING_HUGETLB_2M:
		return "anonymous_hugetlb_2mb";
	case TDPMMU_BACKING_HUGETLB_1G:
		return "anonymous_hugetlb_1gb";
	case TDPMMU_BACKING_SHMEM:
		return "shmem";
	case TDPMMU_BACKING_SHARED_HUGETLB:
		return "shared_hugetlb";
	default:
		return "unknown";
	}
}

uint64_t backing_align_bytes(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_HUGETLB_2M:
	case TDPMMU_BACKING_SHARED_HUGETLB:
		return 2ull << 20;
	case TDPMMU_BACKING_HUGETLB_1G:
		return 1ull << 30;
	default:
		return 4096; /* THP falls back to 4K where 2M does not fit; shmem is 4K */
	}
}

int backing_max_level(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_ANON:
	case TDPMMU_BACKING_SHMEM:
		return TDPMMU_LEVEL_4K;
	case TDPMMU_BACKING_HUGETLB_1G:
		return TDPMMU_LEVEL_1G;
	default:
		return TDPMMU_LEVEL_2M; /* THP and the 2M hugetlbs */
	}
}

bool backing_is_hugetlb(enum tdpmmu_backing b)
{
	return b == TDPMMU_BACKING_HUGETLB_2M || b == TDPMMU_BACKING_HUGETLB_1G ||
	       b == TDPMMU_BACKING_SHARED_HUGETLB;
}
