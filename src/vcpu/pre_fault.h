/*
 * pre_fault.h - the fault path's entry for a pre-fault (pre_fault.c).
 */
#ifndef TDP_PRE_FAULT_H
#define TDP_PRE_FAULT_H

#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

/*
 * vcpu_fault.c: map @gfn for @v as a not-present read fault would, through
 * the slow path (snapshot, frame lookup, notifier retry under the MMU
 * lock), at the largest level the memslot allows.  0 with the leaf's level
 * in @res, or the fault's error.
 */
int tdp_vcpu_pre_fault_page(struct tdpmmu_vcpu *v, uint64_t gfn, struct tdpmmu_fault_result *res);

#endif
