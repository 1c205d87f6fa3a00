/*
 * guest.c - the guest program most scenarios run (populate, dirty-log,
 * access-tracking, demand-paging, notifier, mixed, and the kvm rows' page
 * lists), as KVM's memstress guest code runs it: one 8-byte access at
 * offset 0 of every 4K page of the vCPU's region, once each pass.
 *
 * Order: ascending; or (-a, as KVM's memstress) each access draws its page
 * at random with replacement, from the seed (page_write_seed_set) and the
 * vCPU, the same draws in every pass, so some pages are touched twice and
 * some never (page_touched_map says which); or (page_draws_set(false):
 * demand-paging's --random, which must touch every page) a pseudo-random
 * permutation of the region's pages, different for every vCPU.  The permutation is a bijection on the
 * smallest power-of-two range holding the region (multiply by an odd
 * constant, xor-shift, twice), restricted to the region by cycle walking:
 * an index that falls outside is permuted again until it lands inside,
 * which keeps the map one-to-one and costs under two rounds on average.
 *
 * Writes: whether a page is written or read (-w PCT) is one draw per page
 * from a generator keyed by the write seed (dirty-log's -r; 0, today's
 * draw, for every other scenario) and the gfn, so all vCPUs, the simulated
 * and the kvm rows agree and the checks afterwards know which pages must be
 * dirty and what they must hold.  Unlike KVM's memstress, which draws per
 * access and per pass, the set is the same in every pass of a run.
 */
#include <stdlib.h>

#include "cli.h"
#include "common/guest.h"

#define PERM_MUL_A 0x9e3779b97f4a7c15ull     /* odd */
#define PERM_MUL_B 0xbf58476d1ce4e5b9ull     /* odd */
#define PAGE_VALUE_TAG 0x7464706d6d750000ull /* "tdpmmu", never 0 */

/* Set once by the main thread before any vCPU runs; read-only after. */
static uint64_t write_seed;
static bool random_draws = true;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= PERM_MUL_B;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static unsigned range_bits(uint64_t n)
{
	unsigned bits = 0;

	while (bits < 64 && (1ull << bits) < n)
		bits++;
	return bits;
}

/* One bijection of [0, mask] (mask + 1 a power of two). */
static uint64_t permute_once(const struct page_guest *g, uint64_t x, unsigned shift)
{
	x = (x * PERM_MUL_A + g->seed) & g->mask;
	x ^= x >> shift;
	x = (x * PERM_MUL_B) & g->mask;
	return x ^ (x >> shift);
}

static uint64_t permute(const struct page_guest *g, uint64_t i)
{
	unsigned shift = range_bits(g->mask + 1) / 2 + 1;

	do
		i = permute_once(g, i, shift);
	while (i >= g->npages);
	return i;
}

void page_guest_init(struct page_guest *g, uint64_t base_gfn, uint64_t npages, unsigned vcpu,
		     bool random_order, unsigned write_pct)
{
	unsigned bits = range_bits(npages);

	g->base_gfn = base_gfn;
	g->npages = npages;
	g->next = 0;
	g->mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
	g->seed = mix64(vcpu + 1);
	g->draw_seed = mix64((write_seed + vcpu) ^ PAGE_VALUE_TAG);
	g->random_order = random_order;
	g->write_pct = write_pct;
}

void page_write_seed_set(uint64_t seed)
{
	write_seed = seed;
}

void page_draws_set(bool draws)
{
	random_draws = draws;
}

/* Region index of the program's access @i. */
static uint64_t access_index(const struct page_guest *g, uint64_t i)
{
	if (!g->random_order)
		return i;
	if (random_draws)
		return mix64(g->draw_seed + i * PERM_MUL_A) % g->npages;
	return permute(g, i);
}

uint64_t *page_touched_map(uint64_t pages, unsigned vcpus, uint64_t per_vcpu, bool overlap,
			   bool random_order)
{
	uint64_t *map;

	if (!random_order || !random_draws)
		return NULL;
	map = calloc((pages + 63) / 64, sizeof(*map));
	if (!map)
		fatal("out of memory");
	for (unsigned v = 0; v < vcpus; v++) {
		struct page_guest g;

		page_guest_init(&g, overlap ? 0 : (uint64_t)v * per_vcpu, per_vcpu, v, true, 100);
		for (uint64_t i = 0; i < per_vcpu; i++) {
			uint64_t gfn = g.base_gfn + access_index(&g, i);

			if (gfn < pages)
				map[gfn / 64] |= 1ull << (gfn % 64);
		}
	}
	return map;
}

bool page_touched(const uint64_t *map, uint64_t gfn)
{
	return !map || (map[gfn / 64] >> (gfn % 64) & 1);
}

bool page_written(uint64_t gfn, unsigned write_pct)
{
	if (write_pct >= 100)
		return true;
	/* Seed 0 is the draw of mix64(gfn) alone. */
	return mix64(gfn ^ (write_seed * PERM_MUL_A)) % 100 < write_pct;
}

uint64_t page_value(uint64_t gfn)
{
	return PAGE_VALUE_TAG ^ gfn;
}

bool page_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct page_guest *g = ctx;
	uint64_t gfn;

	if (g->next == g->npages)
		return false;
	gfn = g->base_gfn + access_index(g, g->next);
	g->next++;
	a->gpa = gfn * GUEST_PAGE_BYTES;
	if (page_written(gfn, g->write_pct)) {
		a->type = TDPMMU_ACCESS_WRITE;
		a->value = page_value(gfn);
	} else {
		a->type = TDPMMU_ACCESS_READ;
		a->value = 0;
	}
	return true;
}
