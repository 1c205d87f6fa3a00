/*
 * backing.h - how the program names a backing kind and the page size it
 * implies (backing.c).  -s itself parses with tdpmmu_backing_parse().
 */
#ifndef TDPMMU_CLI_BACKING_H
#define TDPMMU_CLI_BACKING_H

#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

/* A backing kind by its KVM selftests name ("anonymous_thp"). */
const char *backing_kvm_name(enum tdpmmu_backing b);
/*
 * Bytes of the largest page the backing gives.  Sizes need not be
 * multiples of it: a slot maps smaller pages where this one does not fit.
 */
uint64_t backing_align_bytes(enum tdpmmu_backing b);

/* The largest leaf the library maps for the backing (TDPMMU_LEVEL_*). */
int backing_max_level(enum tdpmmu_backing b);

/* hugetlbfs memory, private or shared: never remapped (tdpmmu_host_remap refuses it). */
bool backing_is_hugetlb(enum tdpmmu_backing b);

#endif /* TDPMMU_CLI_BACKING_H */
