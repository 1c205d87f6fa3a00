/*
 * host.c - memslot set, host frame lookup, slot delete/move and the dirty
 * bitmaps (concurrency in host.h).
 *
 * Every slot change (add, delete, move, logging on/off) runs under
 * slots_mutex, copies the array, publishes the copy with
 * rcu_assign_pointer and frees the old array after synchronize_rcu.  The
 * block_pfn, dirty_bitmap and host_faulted (host_fault.c) pointers are
 * shared between an array and its copies: they are freed only when no
 * published array holds them any more (slot deleted, bitmap dropped,
 * blocks relaid by a move), and only after that grace period, so a reader
 * inside tdp_rcu_read_lock can use whatever it found.  Dirty bitmap words
 * are only ever changed with atomic OR (marking), exchange and AND-NOT
 * (harvesting): a mark that races with a harvest lands either in the value
 * harvested or in the word left behind, never nowhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

#define BLOCK_PAGES tdp_pages_per_level(TDP_LEVEL_2M)

int tdp_host_init(struct tdp_host *h, uint64_t max_gfn, uint64_t payload_bytes)
{
	memset(h, 0, sizeof(*h));
	h->pfn_limit = TDP_HOST_PFN_LIMIT;
	if (payload_bytes) {
		if (payload_bytes % 4096 || payload_bytes / 4096 > TDP_HOST_PFN_LIMIT)
			return -EINVAL;
		h->payload = mmap(NULL, payload_bytes, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (h->payload == MAP_FAILED) {
			h->payload = NULL;
			return -ENOMEM;
		}
		h->pfn_limit = payload_bytes / 4096;
		h->dirty = calloc((h->pfn_limit + 63) / 64, sizeof(*h->dirty));
		if (!h->dirty) {
			tdp_host_destroy(h);
			return -ENOMEM;
		}
	}
	h->slots = calloc(1, sizeof(*h->slots));
	if (!h->slots) {
		tdp_host_destroy(h);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->slots_mutex, NULL);
	pthread_mutex_init(&h->fault_mutex, NULL);
	pthread_cond_init(&h->fault_cond, NULL);
	h->max_gfn = max_gfn;
	h->next_host_pfn = 1; /* frame 0 is never handed out */
	return 0;
}

void tdp_host_destroy(struct tdp_host *h)
{
	if (h->slots) {
		for (int i = 0; i < h->slots->nr; i++) {
			free(h->slots->slots[i].block_pfn);
			free(h->slots->slots[i].dirty_bitmap);
			free(h->slots->slots[i].host_faulted);
		}
		free(h->slots);
		pthread_mutex_destroy(&h->slots_mutex);
		pthread_cond_destroy(&h->fault_cond);
		pthread_mutex_destroy(&h->fault_mutex);
	}
	if (h->payload)
		munmap(h->payload, h->pfn_limit * 4096);
	free(h->dirty);
	memset(h, 0, sizeof(*h));
}

static uint64_t slot_nr_blocks(const struct tdp_memslot *m)
{
	uint64_t end = m->desc.base_gfn + m->desc.npages;

	return (end - m->first_block_gfn + BLOCK_PAGES - 1) / BLOCK_PAGES;
}

static uint64_t slot_pfn(const struct tdp_memslot *m, uint64_t gfn)
{
	uint64_t b = (gfn - m->first_block_gfn) / BLOCK_PAGES;

	return atomic_load_explicit(&m->block_pfn[b], memory_order_acquire) +
	       (gfn & (BLOCK_PAGES - 1));
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
	struct tdp_memslot slot;
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
	/* pfn_limit is at most TDP_HOST_PFN_LIMIT, below every table frame. */
	if (host_pfn + d->npages > h->pfn_limit || host_pfn + d->npages < host_pfn) {
		r = -ENOSPC;
		goto out;
	}
	memset(&slot, 0, sizeof(slot));
	slot.desc = *d;
	slot.first_block_gfn = tdp_align_gfn(d->base_gfn, TDP_LEVEL_2M);
	slot.block_pfn = malloc(sizeof(*slot.block_pfn) * slot_nr_blocks(&slot));
	/* A new slot's host pages are all still to be faulted in. */
	if (h->fault_ns)
		slot.host_faulted = calloc(tdp_host_faulted_words(d), sizeof(*slot.host_faulted));
	new = malloc(sizeof(*new) + sizeof(new->slots[0]) * (size_t)(old->nr + 1));
	if (!new || !slot.block_pfn || (h->fault_ns && !slot.host_faulted)) {
		free(new);
		free(slot.block_pfn);
		free(slot.host_faulted);
		r = -ENOMEM;
		goto out;
	}
	/* Contiguous at first: block b starts where the slot's frames put it. */
	for (uint64_t b = 0; b < slot_nr_blocks(&slot); b++)
		atomic_init(&slot.block_pfn[b],
			    host_pfn + (slot.first_block_gfn + b * BLOCK_PAGES) - d->base_gfn);
	for (pos = 0; pos < old->nr && old->slots[pos].desc.base_gfn < d->base_gfn; pos++)
		;
	memcpy(new->slots, old->slots, sizeof(old->slots[0]) * (size_t)pos);
	new->slots[pos] = slot;
	memcpy(&new->slots[pos + 1], &old->slots[pos], sizeof(old->slots[0]) * (size_t)(old->nr - pos));
	new->nr = old->nr + 1;
	h->next_host_pfn = host_pfn + d->npages;
	tdp_tsan_release(new);
	rcu_assign_pointer(h->slots, new);
	pthread_mutex_unlock(&h->slots_mutex);
	tdp_synchronize_rcu(); /* no reader still sees the old array */
	free(old);
	return 0;
out:
	pthread_mutex_unlock(&h->slots_mutex);
	return r;
}

int tdp_backing_level(enum tdpmmu_backing b)
{
	return backing_level[b];
}

const struct tdp_memslot *tdp_host_find_slot(const struct tdp_memslots *s, uint64_t gfn)
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

/*
 * Largest level whose aligned block around @gfn lies in the slot and in one
 * host page.  Above 2M only hugetlb-1g slots qualify, and those are never
 * remapped, so their blocks stay contiguous and checking the first frame
 * is enough.
 */
static int max_mapping_level(const struct tdp_memslot *m, uint64_t gfn)
{
	for (int level = backing_level[m->desc.backing]; level > TDP_LEVEL_4K; level--) {
		uint64_t n = tdp_pages_per_level(level), base = tdp_align_gfn(gfn, level);

		if (base >= m->desc.base_gfn && base + n <= m->desc.base_gfn + m->desc.npages &&
		    !(slot_pfn(m, base) & (n - 1)))
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
	m = tdp_host_find_slot(slots, gfn);
	if (m) {
		out->pfn = slot_pfn(m, gfn);
		out->host_level = max_mapping_level(m, gfn);
		out->dirty_logging = (m->log_flags & TDP_SLOT_LOGGING) != 0;
		/* While logging, writes must fault per 4K page so each is seen. */
		out->max_level = out->dirty_logging ? TDP_LEVEL_4K : out->host_level;
		out->writable = !(m->desc.flags & TDPMMU_MEMSLOT_READONLY);
		r = 0;
	}
	tdp_rcu_read_unlock();
	return r;
}

void tdp_host_mark_dirty(void *host, uint64_t pfn, uint64_t n)
{
	struct tdp_host *h = host;

	if (!h->dirty)
		return;
	for (uint64_t f = pfn; f < pfn + n && f < h->pfn_limit; f++)
		atomic_fetch_or_explicit(&h->dirty[f / 64], 1ull << (f % 64), memory_order_relaxed);
}

void tdp_host_clean_frame(struct tdp_host *h, uint64_t pfn)
{
	if (h->dirty && pfn < h->pfn_limit)
		atomic_fetch_and_explicit(&h->dirty[pfn / 64], ~(1ull << (pfn % 64)),
					  memory_order_relaxed);
}

bool tdp_host_frame_dirty(const struct tdp_host *h, uint64_t pfn)
{
	return h->dirty && pfn < h->pfn_limit &&
	       (atomic_load_explicit(&h->dirty[pfn / 64], memory_order_relaxed) >> (pfn % 64)) & 1;
}

static bool overlaps(const struct tdp_memslot *m, uint64_t start, uint64_t end)
{
	return start < m->desc.base_gfn + m->desc.npages && m->desc.base_gfn < end;
}

/* The blocks of @m that overlap [start, end), which must overlap @m. */
static void block_range(const struct tdp_memslot *m, uint64_t start, uint64_t end,
			uint64_t *first, uint64_t *last)
{
	uint64_t lo = start > m->desc.base_gfn ? start : m->desc.base_gfn;
	uint64_t hi = end < m->desc.base_gfn + m->desc.npages ? end
							       : m->desc.base_gfn + m->desc.npages;

	*first = (lo - m->first_block_gfn) / BLOCK_PAGES;
	*last = (hi - 1 - m->first_block_gfn) / BLOCK_PAGES;
}

int tdp_host_remap_extent(struct tdp_host *h, uint64_t start, uint64_t end, uint64_t *lo,
			  uint64_t *hi)
{
	struct tdp_memslots *s;
	int r = -ENOENT;

	pthread_mutex_lock(&h->slots_mutex);
	s = h->slots;
	for (int i = 0; i < s->nr; i++) {
		const struct tdp_memslot *m = &s->slots[i];
		uint64_t slot_end = m->desc.base_gfn + m->desc.npages;
		uint64_t a = tdp_align_gfn(start, TDP_LEVEL_2M);
		uint64_t b = tdp_align_gfn(end - 1, TDP_LEVEL_2M) + BLOCK_PAGES;

		if (!overlaps(m, start, end))
			continue;
		a = a > m->desc.base_gfn ? a : m->desc.base_gfn;
		b = b < slot_end ? b : slot_end;
		if (r || a < *lo)
			*lo = a;
		if (r || b > *hi)
			*hi = b;
		r = 0;
	}
	pthread_mutex_unlock(&h->slots_mutex);
	return r;
}

int tdp_host_remap(struct tdp_host *h, uint64_t start, uint64_t end, bool huge)
{
	struct tdp_memslots *s;
	uint64_t need = 0, next, first, last;
	int r = -ENOENT;

	if (start >= end)
		return -EINVAL;
	pthread_mutex_lock(&h->slots_mutex);
	s = h->slots;
	/* Check everything first, so that an error changes nothing. */
	for (int i = 0; i < s->nr; i++) {
		const struct tdp_memslot *m = &s->slots[i];

		if (!overlaps(m, start, end))
			continue;
		if (m->desc.backing == TDPMMU_BACKING_HUGETLB_2M ||
		    m->desc.backing == TDPMMU_BACKING_HUGETLB_1G) {
			r = -EINVAL;
			goto out;
		}
		r = 0;
		block_range(m, start, end, &first, &last);
		need += (last - first + 1) * 2 * BLOCK_PAGES; /* with alignment padding */
	}
	if (r)
		goto out;
	next = h->next_host_pfn;
	if (next + need > h->pfn_limit || next + need < next) {
		r = -ENOSPC;
		goto out;
	}
	for (int i = 0; i < s->nr; i++) {
		const struct tdp_memslot *m = &s->slots[i];

		if (!overlaps(m, start, end))
			continue;
		block_range(m, start, end, &first, &last);
		for (uint64_t b = first; b <= last; b++) {
			uint64_t old = atomic_load_explicit(&m->block_pfn[b], memory_order_relaxed);
			uint64_t new = (next + BLOCK_PAGES - 1) & ~(BLOCK_PAGES - 1);

			if (!huge)
				new += 1; /* misaligned: only 4K mappings from now on */
			next = new + BLOCK_PAGES;
			if (h->payload) {
				memcpy(tdp_host_frame_bytes(h, new), tdp_host_frame_bytes(h, old),
				       BLOCK_PAGES * 4096);
				/* Migration keeps the page's dirty state with its data. */
				for (uint64_t f = 0; f < BLOCK_PAGES; f++)
					if (tdp_host_frame_dirty(h, old + f))
						tdp_host_mark_dirty(h, new + f, 1);
			}
			atomic_store_explicit(&m->block_pfn[b], new, memory_order_release);
		}
	}
	h->next_host_pfn = next;
out:
	pthread_mutex_unlock(&h->slots_mutex);
	return r;
}

/* Index of slot @id in @s, or -1. */
static int find_slot_id(const struct tdp_memslots *s, uint32_t id)
{
	for (int i = 0; i < s->nr; i++)
		if (s->slots[i].desc.id == id)
			return i;
	return -1;
}

static uint64_t bitmap_words(uint64_t npages)
{
	return (npages + 63) / 64;
}

static struct tdp_memslots *slots_copy(const struct tdp_memslots *old, int extra)
{
	struct tdp_memslots *new =
		malloc(sizeof(*new) + sizeof(new->slots[0]) * (size_t)(old->nr + extra));

	if (new) {
		new->nr = old->nr;
		memcpy(new->slots, old->slots, sizeof(old->slots[0]) * (size_t)old->nr);
	}
	return new;
}

/*
 * Publish @new (slots_mutex held), drop the mutex, wait until no reader can
 * still see the old array, then free it and @free1/@free2 (pointers the new
 * array no longer holds).
 */
static void publish_and_unlock(struct tdp_host *h, struct tdp_memslots *new, void *free1,
			       void *free2)
{
	struct tdp_memslots *old = h->slots;

	tdp_tsan_release(new);
	rcu_assign_pointer(h->slots, new);
	pthread_mutex_unlock(&h->slots_mutex);
	tdp_synchronize_rcu(); /* no reader still sees the old array */
	/* For TSan: every read-side section that could see it has ended. */
	tdp_tsan_acquire(&tdp_rcu_tsan_clock);
	free(old);
	free(free1);
	free(free2);
}

int tdp_host_delete_slot(struct tdp_host *h, uint32_t id)
{
	struct tdp_memslots *new;
	struct tdp_memslot gone;
	int i;

	pthread_mutex_lock(&h->slots_mutex);
	i = find_slot_id(h->slots, id);
	if (i < 0) {
		pthread_mutex_unlock(&h->slots_mutex);
		return -ENOENT;
	}
	new = slots_copy(h->slots, 0);
	if (!new) {
		pthread_mutex_unlock(&h->slots_mutex);
		return -ENOMEM;
	}
	gone = new->slots[i];
	memmove(&new->slots[i], &new->slots[i + 1], sizeof(new->slots[0]) * (size_t)(new->nr - i - 1));
	new->nr--;
	publish_and_unlock(h, new, gone.block_pfn, gone.dirty_bitmap);
	free(gone.host_faulted); /* after the grace period, like the two above */
	return 0;
}

/*
 * The block layout of @m moved to @new_base, keeping every page's frame:
 * each new 2M block must see contiguous frames over the part of it that
 * lies in the slot.  Always true when the move keeps the offset inside 2M
 * (the blocks just shift) or when the slot was never remapped (its frames
 * are contiguous); otherwise -EINVAL.  On success *out holds a new array
 * (or NULL when the old one can be shared: same offset inside 2M).
 */
static int relayout_blocks(const struct tdp_memslot *m, uint64_t new_base, _Atomic uint64_t **out)
{
	struct tdp_memslot n = *m;
	uint64_t end, nblocks;

	*out = NULL;
	if (!((new_base ^ m->desc.base_gfn) & (BLOCK_PAGES - 1)))
		return 0;
	n.desc.base_gfn = new_base;
	n.first_block_gfn = tdp_align_gfn(new_base, TDP_LEVEL_2M);
	nblocks = slot_nr_blocks(&n);
	end = new_base + m->desc.npages;
	n.block_pfn = malloc(sizeof(*n.block_pfn) * nblocks);
	if (!n.block_pfn)
		return -ENOMEM;
	for (uint64_t b = 0; b < nblocks; b++) {
		uint64_t first = n.first_block_gfn + b * BLOCK_PAGES, last = first + BLOCK_PAGES;
		uint64_t pfn0;

		if (first < new_base)
			first = new_base;
		if (last > end)
			last = end;
		/* Frame of page (gfn - new_base) of the slot, in the old layout. */
		pfn0 = slot_pfn(m, m->desc.base_gfn + (first - new_base));
		for (uint64_t g = first + 1; g < last; g++) {
			if (slot_pfn(m, m->desc.base_gfn + (g - new_base)) != pfn0 + (g - first)) {
				free(n.block_pfn);
				return -EINVAL;
			}
		}
		atomic_init(&n.block_pfn[b], pfn0 - (first - (n.first_block_gfn + b * BLOCK_PAGES)));
	}
	*out = n.block_pfn;
	return 0;
}

int tdp_host_move_slot(struct tdp_host *h, uint32_t id, uint64_t new_base_gfn)
{
	_Atomic uint64_t *blocks, *old_blocks = NULL;
	struct tdp_memslots *s, *new;
	struct tdpmmu_memslot d;
	struct tdp_memslot moved;
	int i, r, pos;

	pthread_mutex_lock(&h->slots_mutex);
	s = h->slots;
	i = find_slot_id(s, id);
	if (i < 0) {
		r = -ENOENT;
		goto out;
	}
	d = s->slots[i].desc;
	d.base_gfn = new_base_gfn;
	r = validate_slot(h, &d);
	if (r)
		goto out;
	for (int j = 0; j < s->nr; j++) {
		const struct tdpmmu_memslot *o = &s->slots[j].desc;

		if (j != i && d.base_gfn < o->base_gfn + o->npages &&
		    o->base_gfn < d.base_gfn + d.npages) {
			r = -EEXIST;
			goto out;
		}
	}
	r = relayout_blocks(&s->slots[i], new_base_gfn, &blocks);
	if (r)
		goto out;
	new = slots_copy(s, 0);
	if (!new) {
		free(blocks);
		r = -ENOMEM;
		goto out;
	}
	moved = s->slots[i];
	moved.desc.base_gfn = new_base_gfn;
	moved.first_block_gfn = tdp_align_gfn(new_base_gfn, TDP_LEVEL_2M);
	if (blocks) {
		old_blocks = moved.block_pfn;
		moved.block_pfn = blocks;
	}
	/* Take it out and put it back where its new base sorts. */
	memmove(&new->slots[i], &new->slots[i + 1], sizeof(new->slots[0]) * (size_t)(new->nr - i - 1));
	new->nr--;
	for (pos = 0; pos < new->nr && new->slots[pos].desc.base_gfn < new_base_gfn; pos++)
		;
	memmove(&new->slots[pos + 1], &new->slots[pos], sizeof(new->slots[0]) * (size_t)(new->nr - pos));
	new->slots[pos] = moved;
	new->nr++;
	publish_and_unlock(h, new, old_blocks, NULL);
	return 0;
out:
	pthread_mutex_unlock(&h->slots_mutex);
	return r;
}

#define LOG_FLAGS_KNOWN                                                                            \
	(TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET)

int tdp_host_set_logging(struct tdp_host *h, uint32_t id, bool on, unsigned flags)
{
	_Atomic uint64_t *bitmap = NULL, *old_bitmap = NULL;
	struct tdp_memslots *new;
	struct tdp_memslot *m;
	uint64_t words;
	int i, r;

	if (on && (flags & ~LOG_FLAGS_KNOWN))
		return -EINVAL;
	pthread_mutex_lock(&h->slots_mutex);
	i = find_slot_id(h->slots, id);
	if (i < 0) {
		r = -ENOENT;
		goto out;
	}
	m = &h->slots->slots[i];
	if (on && (m->desc.flags & TDPMMU_MEMSLOT_READONLY)) {
		r = -EROFS;
		goto out;
	}
	if (on == !!(m->log_flags & TDP_SLOT_LOGGING)) {
		r = -EBUSY;
		goto out;
	}
	if (on) {
		words = bitmap_words(m->desc.npages);
		bitmap = calloc(words, sizeof(*bitmap));
		if (!bitmap) {
			r = -ENOMEM;
			goto out;
		}
		/* Written before the publication below, which releases them. */
		if (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) {
			for (uint64_t w = 0; w < words; w++)
				atomic_init(&bitmap[w], ~0ull);
			if (m->desc.npages % 64)
				atomic_init(&bitmap[words - 1], (1ull << (m->desc.npages % 64)) - 1);
		}
	}
	new = slots_copy(h->slots, 0);
	if (!new) {
		free(bitmap);
		r = -ENOMEM;
		goto out;
	}
	old_bitmap = new->slots[i].dirty_bitmap;
	new->slots[i].dirty_bitmap = bitmap;
	new->slots[i].log_flags = on ? (flags | TDP_SLOT_LOGGING) : 0;
	publish_and_unlock(h, new, old_bitmap, NULL);
	return 0;
out:
	pthread_mutex_unlock(&h->slots_mutex);
	return r;
}

int tdp_host_get_slot(struct tdp_host *h, uint32_t id, struct tdpmmu_memslot *desc,
		      unsigned *log_flags)
{
	const struct tdp_memslots *slots;
	int i;

	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	i = find_slot_id(slots, id);
	if (i >= 0) {
		if (desc)
			*desc = slots->slots[i].desc;
		if (log_flags)
			*log_flags = slots->slots[i].log_flags;
	}
	tdp_rcu_read_unlock();
	return i < 0 ? -ENOENT : 0;
}

bool tdp_host_mark_gfn_dirty(struct tdp_host *h, uint64_t gfn)
{
	const struct tdp_memslots *slots;
	const struct tdp_memslot *m;
	bool marked = false;

	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	m = tdp_host_find_slot(slots, gfn);
	if (m && m->dirty_bitmap) {
		uint64_t i = gfn - m->desc.base_gfn;

		/* Release: what the marker did before is seen by the harvester's exchange. */
		atomic_fetch_or_explicit(&m->dirty_bitmap[i / 64], 1ull << (i % 64),
					 memory_order_release);
		marked = true;
	}
	tdp_rcu_read_unlock();
	return marked;
}

/* The logging slot @id in @slots, or -ENOENT / -EINVAL (not logging). */
static int logging_slot(const struct tdp_memslots *slots, uint32_t id, const struct tdp_memslot **m)
{
	int i = find_slot_id(slots, id);

	if (i < 0)
		return -ENOENT;
	*m = &slots->slots[i];
	return (*m)->dirty_bitmap ? 0 : -EINVAL;
}

int tdp_host_dirty_words(struct tdp_host *h, uint32_t id, uint64_t first_page, uint64_t nwords,
			 bool clear, uint64_t *out)
{
	const struct tdp_memslots *slots;
	const struct tdp_memslot *m;
	int r;

	if (!out || first_page % 64)
		return -EINVAL;
	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	r = logging_slot(slots, id, &m);
	if (!r && (first_page / 64 > bitmap_words(m->desc.npages) ||
		   nwords > bitmap_words(m->desc.npages) - first_page / 64))
		r = -EINVAL;
	for (uint64_t w = 0; !r && w < nwords; w++) {
		_Atomic uint64_t *word = &m->dirty_bitmap[first_page / 64 + w];

		/* Acquire: pairs with the marker's release. */
		out[w] = clear ? atomic_exchange_explicit(word, 0, memory_order_acq_rel)
			       : atomic_load_explicit(word, memory_order_acquire);
	}
	tdp_rcu_read_unlock();
	return r;
}

int tdp_host_dirty_clear_mask(struct tdp_host *h, uint32_t id, uint64_t first_page,
			      uint64_t mask, uint64_t *was_set)
{
	const struct tdp_memslots *slots;
	const struct tdp_memslot *m;
	int r;

	if (!was_set || first_page % 64)
		return -EINVAL;
	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	r = logging_slot(slots, id, &m);
	if (!r) {
		uint64_t npages = m->desc.npages;

		if (first_page >= npages ||
		    (npages - first_page < 64 && (mask >> (npages - first_page))))
			r = -EINVAL;
	}
	if (!r)
		*was_set = atomic_fetch_and_explicit(&m->dirty_bitmap[first_page / 64], ~mask,
						     memory_order_acq_rel) &
			   mask;
	tdp_rcu_read_unlock();
	return r;
}
