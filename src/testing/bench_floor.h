/*
 * bench_floor.h - the cost floor of a fault, for benchmarks: a bare walk
 * from the root to the 4K leaf and one CAS on it, with no lock, no walk
 * protection and no bookkeeping.  Only valid while nothing else changes
 * the tables (the benchmark runs it on a quiet, populated VM).
 */
#ifndef TDP_BENCH_FLOOR_H
#define TDP_BENCH_FLOOR_H

#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

/*
 * Walk + CAS for each gfn in [start_gfn, start_gfn + npages); the elapsed
 * ns go to *ns_out.  Returns -ENOENT if some gfn is not mapped at 4K.
 */
int tdp_bench_floor(struct tdpmmu_vm *vm, uint64_t start_gfn, uint64_t npages, uint64_t *ns_out);

#endif
