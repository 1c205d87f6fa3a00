/*
 * written_once.h - the end-of-round check of the tests whose vCPUs write
 * every page exactly once per round (test_aging, test_vcpu_ad): a second
 * write would set Dirty again and hide a lost one.
 *
 * Concurrency: none; called by the main thread after the round's threads
 * were joined.
 */
#ifndef TDP_TEST_WRITTEN_ONCE_H
#define TDP_TEST_WRITTEN_ONCE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/check.h"
#include "tdpmmu/spte.h"
#include "tdpmmu/tdpmmu.h"

/* What vCPU @id writes to page @p in @round. */
static inline uint64_t written_value(uint64_t round, int id, uint64_t p)
{
	return (round << 40) ^ ((uint64_t)id << 32) ^ p ^ 0x5a5a;
}

/* Pages written, Dirty in their leaf, dirty in the host. */
struct written_tally {
	uint64_t written, in_leaf, in_host;
};

/*
 * Page @gfn, whose word at @gpa was written @value once in @round
 * (@written: the write completed): its current leaf is Dirty or its host
 * frame is, and the word holds the value.  Adds it to @t; a page that
 * fails is counted in *@bad (the first 10 are printed).
 */
static inline void check_written_once(struct tdpmmu_vm *vm, uint64_t round, uint64_t gfn,
				      uint64_t gpa, bool written, uint64_t value,
				      struct written_tally *t, uint64_t *bad)
{
	struct tdpmmu_mapping m;
	bool hd = false, leaf_dirty;
	uint64_t val = 0;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
	REQUIRE(tdpmmu_host_read(vm, gpa, &val) == 0);
	leaf_dirty = m.present && tdpmmu_spte_dirty(m.spte);
	t->written += written;
	t->in_leaf += leaf_dirty;
	t->in_host += hd;
	if ((!written || (!leaf_dirty && !hd) || val != value) && (*bad)++ < 10)
		fprintf(stderr,
			"round %" PRIu64 ": gfn 0x%" PRIx64 " %s: leaf present %d "
			"spte 0x%016" PRIx64 ", host dirty %d, value 0x%" PRIx64
			" (wrote 0x%" PRIx64 ")\n",
			round, gfn,
			!written       ? "was never written"
			: val != value ? "lost the value written"
				       : "was written but is clean",
			m.present, m.spte, hd, val, value);
}

#endif
