/*
 * populate_check.c - after a populate run, prove that every gfn got mapped
 * and mapped right: fault and leaf accounting against the memslot, lookups
 * of a sample of every thread's slice against the host frames, and (once
 * per configuration) the library's full audit.
 */
#include <string.h>

#include "populate.h"

#define SAMPLES_PER_SLICE 1024

static void check_gfn(struct tdpmmu_vm *vm, const struct populate_opts *o, uint64_t gfn)
{
	struct tdpmmu_mapping m;
	uint64_t pfn = 0;
	int r = tdpmmu_lookup(vm, gfn, &m);

	if (r)
		fatal("check failed: lookup of gfn 0x%llx: %s", (unsigned long long)gfn,
		      strerror(-r));
	if (!m.present)
		fatal("check failed: gfn 0x%llx is not mapped", (unsigned long long)gfn);
	r = tdpmmu_host_pfn(vm, gfn, &pfn);
	if (r || m.pfn != pfn)
		fatal("check failed: gfn 0x%llx maps frame 0x%llx, the host frame is 0x%llx",
		      (unsigned long long)gfn, (unsigned long long)m.pfn,
		      (unsigned long long)pfn);
	if (!spte_is_writable(m.spte))
		fatal("check failed: gfn 0x%llx is not writable after a write fault",
		      (unsigned long long)gfn);
	if ((o->max_level && m.level > o->max_level) ||
	    (populate_maps_4k_only(o) && m.level != TDP_LEVEL_4K))
		fatal("check failed: gfn 0x%llx is mapped at level %d", (unsigned long long)gfn,
		      m.level);
}

static void check_slice(struct tdpmmu_vm *vm, const struct populate_opts *o, uint64_t first,
			uint64_t n)
{
	if (n <= SAMPLES_PER_SLICE) {
		for (uint64_t i = 0; i < n; i++)
			check_gfn(vm, o, first + i);
		return;
	}
	/* Evenly spread, first and last gfn included. */
	for (uint64_t k = 0; k < SAMPLES_PER_SLICE; k++)
		check_gfn(vm, o, first + k * (n - 1) / (SAMPLES_PER_SLICE - 1));
}

void populate_check(struct tdpmmu_vm *vm, const struct populate_opts *o, unsigned threads,
		    const int64_t c[TDPMMU_NR_COUNTERS], bool audit)
{
	uint64_t gfns = populate_gfns_per_thread(o), total = gfns * threads;
	uint64_t mapped = (uint64_t)c[TDPMMU_C_LEAVES_4K] +
			  (uint64_t)c[TDPMMU_C_LEAVES_2M] * tdp_pages_per_level(TDP_LEVEL_2M) +
			  (uint64_t)c[TDPMMU_C_LEAVES_1G] * tdp_pages_per_level(TDP_LEVEL_1G);
	int violations;

	/* Every fault completed exactly once, as a fix or as a spurious fault. */
	if ((uint64_t)(c[TDPMMU_C_FAULTS_FIXED] + c[TDPMMU_C_FAULTS_SPURIOUS]) != total)
		fatal("check failed: %llu faults made, counters say %lld fixed + %lld spurious",
		      (unsigned long long)total, (long long)c[TDPMMU_C_FAULTS_FIXED],
		      (long long)c[TDPMMU_C_FAULTS_SPURIOUS]);
	/* The memslot starts at gfn 0 and nothing maps outside it: leaves cover it exactly. */
	if (mapped != total)
		fatal("check failed: the leaves map %llu gfns, the memslot has %llu",
		      (unsigned long long)mapped, (unsigned long long)total);
	for (unsigned t = 0; t < threads; t++)
		check_slice(vm, o, (uint64_t)t * gfns, gfns);
	if (audit) {
		violations = tdpmmu_audit(vm);
		if (violations)
			fatal("check failed: the audit found %d violations (see above)",
			      violations);
	}
}
