/*
 * guest.h - the guest program most scenarios run (guest.c): one 8-byte
 * access at offset 0 of every 4K page of a region, once per pass, in
 * ascending or a per-vCPU pseudo-random order, writing the pages a seeded
 * per-page draw picks for the write share and reading the others.  A vCPU's
 * program state is its own (its thread in guest mode, or the main thread
 * between passes).
 */
#ifndef TDPMMU_CLI_GUEST_H
#define TDPMMU_CLI_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

#define GUEST_PAGE_BYTES 4096ull

/* One vCPU's program (the ctx of tdpmmu_guest_fn). */
struct page_guest {
	uint64_t base_gfn, npages;
	uint64_t next;      /* pages handed out so far */
	uint64_t mask;      /* random order: the power-of-two range, minus one */
	uint64_t seed;      /* random order: this vCPU's permutation */
	uint64_t draw_seed; /* random draws: this vCPU's (from the seed and the vCPU) */
	bool random_order;
	unsigned write_pct;
};

/*
 * The program over @npages pages from @base_gfn, in the order (random:
 * -a) of vCPU @vcpu, writing the pages page_written() picks for
 * @write_pct and reading the others.  Call it again to restart.
 */
void page_guest_init(struct page_guest *g, uint64_t base_gfn, uint64_t npages, unsigned vcpu,
		     bool random_order, unsigned write_pct);
bool page_guest_next(void *ctx, struct tdpmmu_access *a); /* a tdpmmu_guest_fn */
/*
 * The seed of page_written()'s draw (dirty-log's -r; 0 by default).  Main
 * thread, before any vCPU runs.
 */
void page_write_seed_set(uint64_t seed);
/*
 * What -a means (guest.c): true, the default, memstress's draws with
 * replacement; false, a permutation (every page once).  Main thread,
 * before any vCPU runs.
 */
void page_draws_set(bool draws);
/*
 * The gfns [0, @pages) one pass touches, as a bitmap (free() it), for
 * @vcpus programs of @per_vcpu pages (regions one after another, or all
 * at 0 with @overlap); NULL when every page is touched (no draws).
 */
uint64_t *page_touched_map(uint64_t pages, unsigned vcpus, uint64_t per_vcpu, bool overlap,
			   bool random_order);
/* Whether @gfn is touched in @map (every gfn with NULL). */
bool page_touched(const uint64_t *map, uint64_t gfn);
/* Whether the program writes @gfn (the same for every vCPU), and what. */
bool page_written(uint64_t gfn, unsigned write_pct);
uint64_t page_value(uint64_t gfn);

#endif /* TDPMMU_CLI_GUEST_H */
