/*
 * vm_internal.h - reach a VM's MMU from in-library tools (benchmarks,
 * tests).  Not part of the public API.
 */
#ifndef TDP_VM_INTERNAL_H
#define TDP_VM_INTERNAL_H

#include "tdp_mmu.h"
#include "tdpmmu/tdpmmu.h"

struct tdp_mmu *tdp_vm_mmu(struct tdpmmu_vm *vm);

#endif
