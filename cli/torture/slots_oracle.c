/*
 * slots_oracle.c - the migration oracle of the memslot churn (slots.c): a
 * shadow copy of every used word of M, complete when logging starts and
 * refreshed from the host for every page each harvest reports dirty; at a
 * quiescent point, after a final harvest, it must equal host memory.  The
 * mover's thread, or the main thread while the mover is parked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "torture/slots.h"

/* --- the migration oracle ---------------------------------------------- */

/* Copy the used words of page @u of M from the host into the shadow. */
void shadow_page(struct torture_slots *s, unsigned u, uint64_t base)
{
	for (unsigned j = 0; j < USED_WORDS; j++) {
		uint64_t gpa = gpa_of(base, s->page[u], j);
		int e = tdpmmu_host_read(s->env.vm, gpa, &s->shadow[u][j]);

		if (e)
			SLOT_VIOLATION(s, "migration oracle: host read of gpa 0x%llx returned %d",
				       (unsigned long long)gpa, e);
	}
}

/* Harvest M's dirty log; copy every used page it reports. */
void harvest(struct torture_slots *s)
{
	uint64_t bitmap[MIGR_PAGES / 64], base = atomic_load(&s->base);
	int e;

	do
		e = tdpmmu_dirty_log_get(s->env.vm, MIGR_ID, bitmap);
	while (benign_enomem(s, e)); /* a failed call changes nothing: try again */
	if (e < 0) {
		SLOT_VIOLATION(s, "migration oracle: dirty log get returned %d", e);
		return;
	}
	s->harvests++;
	s->dirty += (uint64_t)e;
	for (unsigned u = 0; u < USED_PAGES; u++)
		if (bitmap[s->page[u] / 64] >> (s->page[u] % 64) & 1)
			shadow_page(s, u, base);
}

/*
 * Whether @h may be in the migrant's word @w of used page @u: the last
 * sure write, or, after writes that raced a move, any of those.
 */
static bool migrant_may_hold(const struct migrant *mg, const struct mword *w, unsigned u,
			     unsigned j, uint64_t h)
{
	uint64_t seq = h >> 16;

	if (h == w->last)
		return true;
	return w->unsure && (h & 0xffff) == ((u << 8) | j) && seq >= w->lo && seq <= mg->seq;
}

void torture_slots_check(struct torture_slots *s)
{
	static const char *const kinds[] = { "migration oracle", "stray word", "migrant word",
					     "frame" };
	struct migrant *mg = &s->mg;
	uint64_t base = atomic_load(&s->base), pfn;
	unsigned bad[4] = { 0 };

	harvest(s);
	for (unsigned u = 0; u < USED_PAGES; u++) {
		uint64_t gfn = base + s->page[u], hpfn = 0;
		struct tdpmmu_mapping m;

		for (unsigned j = 0; j < USED_WORDS; j++) {
			uint64_t h = 0;

			if (tdpmmu_host_read(s->env.vm, gpa_of(base, s->page[u], j), &h))
				continue; /* reported by the harvest's copy */
			if (h != s->shadow[u][j])
				SLOT_REPORT(s, bad[0],
					    "migration oracle: page %llu word %u shadow %llx "
					    "host %llx (a dirty write never reported)",
					    (unsigned long long)s->page[u], j,
					    (unsigned long long)s->shadow[u][j],
					    (unsigned long long)h);
			s->shadow[u][j] = h; /* each lost write is reported once */
			if (j >= MIGRANT_WORDS) {
				/* Once per value: it stays there for the rest of the round. */
				if (h && h != s->junk[u][j - MIGRANT_WORDS])
					SLOT_REPORT(s, bad[1],
						    "moving slot: page %llu word %u holds %llx, "
						    "written by nobody in it (a write meant for a "
						    "temporary slot?)",
						    (unsigned long long)s->page[u], j,
						    (unsigned long long)h);
				s->junk[u][j - MIGRANT_WORDS] = h;
				continue;
			}
			if (!migrant_may_hold(mg, &mg->w[u][j], u, j, h))
				SLOT_REPORT(
					s, bad[2],
					"migrant: page %llu word %u of the moving slot holds "
					"%llx, the last write there was %llx%s",
					(unsigned long long)s->page[u], j, (unsigned long long)h,
					(unsigned long long)mg->w[u][j].last,
					mg->w[u][j].unsure ? " (or one that raced a move)" : "");
			/* At rest the host is the truth: the next period starts sure. */
			mg->w[u][j].last = h;
			mg->w[u][j].unsure = false;
		}
		s->compared++;
		if (!tdpmmu_lookup(s->env.vm, gfn, &m) && m.present &&
		    (tdpmmu_host_pfn(s->env.vm, gfn, &hpfn) || m.pfn != hpfn))
			SLOT_REPORT(s, bad[3],
				    "moving slot: gfn 0x%llx maps frame 0x%llx, the host's is "
				    "0x%llx",
				    (unsigned long long)gfn, (unsigned long long)m.pfn,
				    (unsigned long long)hpfn);
	}
	for (unsigned k = 0; k < 4; k++)
		if (bad[k] > REPORT_MAX)
			printf("torture: ... and %u more %s violations at this check\n",
			       bad[k] - REPORT_MAX, kinds[k]);
	/* The other places are empty: no temporary slot outlived its cycle. */
	for (unsigned i = 0; i < NPLACES; i++)
		if (i != s->cur && tdpmmu_host_pfn(s->env.vm, s->place[i], &pfn) != -ENOENT)
			SLOT_VIOLATION(s,
				       "memslot churn: gfn 0x%llx, a place the moving slot left, "
				       "still has a memslot",
				       (unsigned long long)s->place[i]);
}
