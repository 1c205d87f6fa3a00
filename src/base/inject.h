/*
 * inject.h - anomaly injection for the torture (tdpmmu_inject): random
 * delays at the places where a race window opens, so that windows a few
 * instructions wide are hit thousands of times a second.
 *
 * Sites: between an entry's snapshot and its CAS or exclusive store,
 * between a table's unlink and its flush, inside a removed table's
 * teardown while its entries are FROZEN, and inside walk protection.
 *
 * Concurrency: the rate is a relaxed global, set while the MMU runs; each
 * thread draws from its own generator.  Off (0), a site costs one load
 * and a predicted branch.
 *
 * These globals are internal to the library (not exported by the shared
 * library); tests and benchmarks set them through the tdpmmu_inject,
 * tdpmmu_quarantine and tdpmmu_test_set_*_hook wrappers of the testing
 * library (src/testing/inject.c, include/tdpmmu/testing.h).
 */
#ifndef TDP_INJECT_H
#define TDP_INJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"

extern _Atomic unsigned tdp_inject_delay_one_in;
extern _Atomic unsigned tdp_inject_alloc_one_in;
/*
 * Quarantine (tdpmmu_quarantine): a freed table is made PROT_NONE and the
 * oldest freed table is reused first, so a use after free faults at once
 * instead of reading poison that a quick reuse may have overwritten.
 */
extern _Atomic bool tdp_quarantine;

/*
 * Tests only: called on the faulting thread between the host-frame lookup
 * and the MMU lock, where a concurrent invalidation must make the fault
 * retry.  A test sets it to run that invalidation deterministically.
 */
extern void (*tdp_inject_fault_hook)(uint64_t gfn);
/*
 * Tests only: called by an exclusive-mode entry update between its
 * snapshot and its store, where hardware may still set Accessed/Dirty.
 */
extern void (*tdp_inject_store_hook)(_Atomic uint64_t *sptep);

/*
 * Tests only: consulted by tdp_mmu_iter_cond_yield and the NX recovery pass
 * at each chance to yield,
 * MMU lock held (@locked true): returning true makes the walk yield now;
 * called again with @locked false while the walk has dropped the lock and
 * walk protection (its return value is then ignored).  A test sets it to
 * run another call exactly inside a pass's yield.
 */
extern bool (*tdp_inject_yield_hook)(bool locked);

/*
 * Tests only: called where a host-side change meets the MMU, so that a
 * test can run another call exactly there (test_memslot_race).
 */
enum tdp_inject_site {
	/* A fault paid the host fault of its page and has not released it (no lock). */
	TDP_SITE_HOST_FAULT_PAID,
	/* A delete or move made the old place invalid and will zap it (slots_lock held). */
	TDP_SITE_SLOT_INVALID,
	/* host_remap found its invalidation and will remap (slots_lock held). */
	TDP_SITE_REMAP_CHECKED,
	/* The fast path set W and will mark the page dirty (memslot RCU held). */
	TDP_SITE_FAST_FIXED,
};
extern void (*tdp_inject_site_hook)(enum tdp_inject_site site, uint64_t gfn);

static inline void tdp_inject_site(enum tdp_inject_site site, uint64_t gfn)
{
	if (unlikely(tdp_inject_site_hook))
		tdp_inject_site_hook(site, gfn);
}

/* Delays and allocation failures injected so far. */
void tdp_inject_stats(uint64_t *delays, uint64_t *alloc_failures);

void tdp_inject_delay_slow(unsigned one_in);
bool tdp_inject_alloc_fail_slow(unsigned one_in);

static inline void tdp_inject_delay(void)
{
	unsigned n = atomic_load_explicit(&tdp_inject_delay_one_in, memory_order_relaxed);

	if (unlikely(n))
		tdp_inject_delay_slow(n);
}

/* Should this table allocation fail? */
static inline bool tdp_inject_alloc_fail(void)
{
	unsigned n = atomic_load_explicit(&tdp_inject_alloc_one_in, memory_order_relaxed);

	return unlikely(n) && tdp_inject_alloc_fail_slow(n);
}

#endif
