/*
 * host.c - memslot set and host frame lookup (concurrency in host.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "mmu_page.h"
#include "rcu_thread.h"

static const int backing_level[TDPMMU_NR_BACKINGS] = {
	[TDPMMU_BACKING_ANON] = TDP_LEVEL_4K,
	[TDPMMU_BACKING_THP] = TDP_LEVEL_2M,
	[TDPMMU_BACKING_HUGETLB_2M] = TDP_LEVEL_2M,
	[TDPMMU_BACKING_HUGETLB_1G] = TDP_LEVEL_1G,
};

static const char *const backing_names[TDPMMU_NR_BACKINGS] = {
	[TDPMMU_BACKING_ANON] = "anon",
	[TDPMMU_BACKING_THP] = "thp",
	[TDPMMU_BACKING_HUGETLB_2M] = "hugetlb-2m",
	[TDPMMU_BACKING_HUGETLB_1G] = "hugetlb-1g",
};

const char *tdpmmu_backing_name(enum tdpmmu_backing b)
{
	return (unsigned)b < TDPMMU_NR_BACKINGS ? backing_names[b] : NULL;
}

int tdpmmu_backing_parse(const char *s, enum tdpmmu_backing *out)
{
	for (int b = 0; b < TDPMMU_NR_BACKINGS; b++) {
		if (s && !strcmp(s, backing_names[b])) {
			*out = (enum tdpmmu_backing)b;
			return 0;
		}
	}
	return -EINVAL;
}

int tdp_host_init(struct tdp_host *h, uint64_t max_gfn)
{
	memset(h, 0, sizeof(*h));
	h->slots = calloc(1, sizeof(*h->slots));
	if (!h->slots)
		return -ENOMEM;
	pthread_mutex_init(&h->slots_mutex, NULL);
	h->max_gfn = max_gfn;
	h->next_host_pfn = 1; /* frame 0 is never handed out */
	return 0;
}

void tdp_host_destroy(struct tdp_host *h)
{
	free(h->slots);
	pthread_mutex_destroy(&h->slots_mutex);
}

static int validate_slot(const struct tdp_host *h, const struct tdpmmu_memslot *d)
{
	uint64_t align;

	if (!d || (unsigned)d->backing >= TDPMMU_NR_BACKINGS ||
	    (d->flags & ~TDPMMU_MEMSLOT_READONLY) || d->npages == 0)
		return -EINVAL;
	if (d->base_gfn >= h->max_gfn || d->npages > h->max_gfn - d->base_gfn)
		return -ERANGE;
	if (d->backing == TDPMMU_BACKING_HUGETLB_2M || d->backing == TDPMMU_BACKING_HUGETLB_1G) {
		align = tdp_pages_per_level(backing_level[d->backing]);
		if ((d->base_gfn | d->npages) & (align - 1))
			return -EINVAL;
	}
	return 0;
}

int tdp_host_add_slot(struct tdp_host *h, const struct tdpmmu_memslot *d)
{
	uint64_t huge = tdp_pages_per_level(TDP_LEVEL_1G), host_pfn;
	struct tdp_memslots *old, *new;
	int r = validate_slot(h, d), pos;

	if (r)
		return r;
	pthread_mutex_lock(&h->slots_mutex);
	old = h->slots;
	for (pos = 0; pos < old->nr; pos++) {
		const struct tdpmmu_memslot *o = &old->slots[pos].desc;

		if (o->id == d->id || (d->base_gfn < o->base_gfn + o->npages &&
				       o->base_gfn < d->base_gfn + d->npages)) {
			r = -EEXIST;
			goto out;
		}
	}
	if (old->nr >= TDPMMU_MAX_MEMSLOTS) {
		r = -ENOSPC;
		goto out;
	}
	/* Congruent to base_gfn modulo 1 GiB, so huge pages line up. */
	host_pfn = ((h->next_host_pfn + huge - 1) & ~(huge - 1)) + (d->base_gfn & (huge - 1));
	if (host_pfn + d->npages > TDP_HOST_PFN_LIMIT || host_pfn + d->npages < host_pfn) {
		r = -ENOSPC;
		goto out;
	}
	new = malloc(sizeof(*new) + sizeof(new->slots[0]) * (size_t)(old->nr + 1));
	if (!new) {
		r = -ENOMEM;
		goto out;
	}
	for (pos = 0; pos < old->nr && old->slots[pos].desc.base_gfn < d->base_gfn; pos++)
		;
	memcpy(new->slots, old->slots, sizeof(old->slots[0]) * (size_t)pos);
	new->slots[pos].desc = *d;
	new->slots[pos].host_pfn = host_pfn;
	memcpy(&new->slots[pos + 1], &old->slots[pos], sizeof(old->slots[0]) * (size_t)(old->nr - pos));
	new->nr = old->nr + 1;
	h->next_host_pfn = host_pfn + d->npages;
	tdp_tsan_release(new);
	rcu_assign_pointer(h->slots, new);
	pthread_mutex_unlock(&h->slots_mutex);
	urcu_memb_synchronize_rcu(); /* no reader still sees the old array */
	free(old);
	return 0;
out:
	pthread_mutex_unlock(&h->slots_mutex);
	return r;
}

static const struct tdp_memslot *find_slot(const struct tdp_memslots *s, uint64_t gfn)
{
	int lo = 0, hi = s->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct tdp_memslot *m = &s->slots[mid];

		if (gfn < m->desc.base_gfn)
			hi = mid;
		else if (gfn >= m->desc.base_gfn + m->desc.npages)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

/* Largest level whose aligned block around @gfn lies in the slot and in one host page. */
static int max_mapping_level(const struct tdp_memslot *m, uint64_t gfn)
{
	for (int level = backing_level[m->desc.backing]; level > TDP_LEVEL_4K; level--) {
		uint64_t n = tdp_pages_per_level(level), base = tdp_align_gfn(gfn, level);
		uint64_t pfn = m->host_pfn + (base - m->desc.base_gfn);

		if (base >= m->desc.base_gfn && base + n <= m->desc.base_gfn + m->desc.npages &&
		    !(pfn & (n - 1)))
			return level;
	}
	return TDP_LEVEL_4K;
}

int tdp_host_lookup(struct tdp_host *h, uint64_t gfn, struct tdp_host_frame *out)
{
	const struct tdp_memslots *slots;
	const struct tdp_memslot *m;
	int r = -ENOENT;

	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	m = find_slot(slots, gfn);
	if (m) {
		out->pfn = m->host_pfn + (gfn - m->desc.base_gfn);
		out->max_level = max_mapping_level(m, gfn);
		out->writable = !(m->desc.flags & TDPMMU_MEMSLOT_READONLY);
		r = 0;
	}
	tdp_rcu_read_unlock();
	return r;
}
