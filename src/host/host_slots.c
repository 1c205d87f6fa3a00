/*
 * host_slots.c - changes of the memslot set: add, delete, move, dirty
 * logging on and off (concurrency in host.h).
 *
 * Every change runs with slots_lock held, copies the array, publishes the
 * copy with rcu_assign_pointer and frees the old array after
 * synchronize_rcu.  The block_pfn, dirty_bitmap and host_faulted pointers
 * are shared between an array and its copies: they are freed only when no
 * published array holds them any more (slot deleted, bitmap dropped,
 * blocks relaid by a move), and only after that grace period, so a reader
 * inside tdp_rcu_read_lock can use whatever it found.
 *
 * A delete or move publishes twice (struct tdp_slot_change): first the
 * old array with the slot marked invalid, sharing everything with the old
 * slot, then the final array.  In between the VM layer zaps the old place
 * (memslot.c).  A fault that finds the slot invalid retries, so from the
 * first publication on nothing maps the old place anew; the old place
 * becomes free for another slot only at the second, when no mapping of
 * it is left and no vCPU can still reach its frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "base/rcu_thread.h"

/*
 * Any 4K-granular place and size, huge backings included, as KVM takes
 * them: a hugetlb slot need not start or end on its huge page (upstream's
 * selftests add 3M of hugetlb-1g memory).  The frames stay congruent to
 * the gfns modulo 1 GiB (tdp_host_add_slot) and the fault path maps only
 * pages that lie wholly inside the slot (max_mapping_level in host.c), so
 * such a slot maps 2M and 4K pages where its huge pages do not fit.
 */
static int validate_slot(const struct tdp_host *h, const struct tdpmmu_memslot *d)
{
	if (!d || (unsigned)d->backing >= TDPMMU_NR_BACKINGS ||
	    (d->flags & ~TDPMMU_MEMSLOT_READONLY) || d->npages == 0)
		return -EINVAL;
	if (d->base_gfn >= h->max_gfn || d->npages > h->max_gfn - d->base_gfn)
		return -ERANGE;
	return 0;
}

/* Whether @d overlaps a slot of @s other than the one at index @skip. */
static bool overlaps_other(const struct tdp_memslots *s, const struct tdpmmu_memslot *d, int skip)
{
	for (int i = 0; i < s->nr; i++) {
		const struct tdpmmu_memslot *o = &s->slots[i].desc;

		if (i != skip && d->base_gfn < o->base_gfn + o->npages &&
		    o->base_gfn < d->base_gfn + d->npages)
			return true;
	}
	return false;
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

/* Insert @m into @s (room for it allocated) where its base sorts. */
static void slots_insert(struct tdp_memslots *s, const struct tdp_memslot *m)
{
	int pos;

	for (pos = 0; pos < s->nr && s->slots[pos].desc.base_gfn < m->desc.base_gfn; pos++)
		;
	memmove(&s->slots[pos + 1], &s->slots[pos], sizeof(s->slots[0]) * (size_t)(s->nr - pos));
	s->slots[pos] = *m;
	s->nr++;
}

static void slots_remove(struct tdp_memslots *s, int i)
{
	memmove(&s->slots[i], &s->slots[i + 1], sizeof(s->slots[0]) * (size_t)(s->nr - i - 1));
	s->nr--;
}

/*
 * Publish @new (slots_lock held), wait until no reader can still see the
 * old array, then free it.  The generation (host.h) is marked in progress
 * before the array is visible and moves on only after the grace period,
 * so a fault that read the old generation and then found no slot in
 * either array made an MMIO entry that the new generation declares stale.
 */
static void publish(struct tdp_host *h, struct tdp_memslots *new)
{
	struct tdp_memslots *old = h->slots;
	uint64_t gen = atomic_load_explicit(&h->generation, memory_order_relaxed);

	TDP_ASSERT(!(gen & TDP_MEMSLOT_GEN_UPDATE_IN_PROGRESS));
	atomic_store(&h->generation, gen | TDP_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	tdp_tsan_release(new);
	rcu_assign_pointer(h->slots, new);
	tdp_synchronize_rcu(); /* no reader still sees the old array */
	gen++;
	/* Still in progress: a wraparound zap runs before the generation is reused. */
	if (h->gen_updated)
		h->gen_updated(h->gen_ctx, gen);
	atomic_store(&h->generation, gen);
	free(old);
}

int tdp_host_add_slot(struct tdp_host *h, const struct tdpmmu_memslot *d)
{
	uint64_t huge = tdp_pages_per_level(TDP_LEVEL_1G), host_pfn;
	struct tdp_memslots *old = h->slots, *new;
	struct tdp_memslot slot;
	int r = validate_slot(h, d);

	if (r)
		return r;
	if (tdp_slot_index(old, d->id) >= 0 || overlaps_other(old, d, -1))
		return -EEXIST;
	if (old->nr >= TDPMMU_MAX_MEMSLOTS)
		return -ENOSPC;
	/* Congruent to base_gfn modulo 1 GiB, so huge pages line up. */
	host_pfn = ((h->next_host_pfn + huge - 1) & ~(huge - 1)) + (d->base_gfn & (huge - 1));
	/* pfn_limit is at most TDP_HOST_PFN_LIMIT, below every table frame. */
	if (host_pfn + d->npages > h->pfn_limit || host_pfn + d->npages < host_pfn)
		return -ENOSPC;
	r = tdp_host_share_frames(h, host_pfn, d->npages, d->backing);
	if (r)
		return r;
	memset(&slot, 0, sizeof(slot));
	slot.desc = *d;
	slot.first_block_gfn = tdp_align_gfn(d->base_gfn, TDP_LEVEL_2M);
	slot.block_pfn = malloc(sizeof(*slot.block_pfn) * tdp_slot_nr_blocks(&slot));
	/* A new slot's host pages are all still to be faulted in. */
	if (h->fault_ns)
		slot.host_faulted = calloc(tdp_host_faulted_words(d), sizeof(*slot.host_faulted));
	slot.faulted_gen = ++h->next_faulted_gen;
	new = slots_copy(old, 1);
	if (!new || !slot.block_pfn || (h->fault_ns && !slot.host_faulted)) {
		free(new);
		free(slot.block_pfn);
		free(slot.host_faulted);
		return -ENOMEM;
	}
	/* Contiguous at first: block b starts where the slot's frames put it. */
	for (uint64_t b = 0; b < tdp_slot_nr_blocks(&slot); b++)
		atomic_init(&slot.block_pfn[b],
			    host_pfn + (slot.first_block_gfn + b * TDP_BLOCK_PAGES) - d->base_gfn);
	slots_insert(new, &slot);
	h->next_host_pfn = host_pfn + d->npages;
	publish(h, new);
	return 0;
}

/* The first publication of a change: the old array, slot @i marked invalid. */
static struct tdp_memslots *invalid_copy(const struct tdp_memslots *s, int i)
{
	struct tdp_memslots *c = slots_copy(s, 0);

	if (c)
		c->slots[i].invalid = true;
	return c;
}

int tdp_host_prepare_delete(struct tdp_host *h, uint32_t id, struct tdp_slot_change *c)
{
	int i = tdp_slot_index(h->slots, id);
	const struct tdp_memslot *m;

	memset(c, 0, sizeof(*c));
	if (i < 0)
		return -ENOENT;
	m = &h->slots->slots[i];
	c->invalid = invalid_copy(h->slots, i);
	c->final = slots_copy(h->slots, 0);
	if (!c->invalid || !c->final) {
		free(c->invalid);
		free(c->final);
		return -ENOMEM;
	}
	slots_remove(c->final, i);
	c->stale[0] = m->block_pfn;
	c->stale[1] = m->dirty_bitmap;
	c->stale[2] = m->host_faulted;
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
	if (!((new_base ^ m->desc.base_gfn) & (TDP_BLOCK_PAGES - 1)))
		return 0;
	n.desc.base_gfn = new_base;
	n.first_block_gfn = tdp_align_gfn(new_base, TDP_LEVEL_2M);
	nblocks = tdp_slot_nr_blocks(&n);
	end = new_base + m->desc.npages;
	n.block_pfn = malloc(sizeof(*n.block_pfn) * nblocks);
	if (!n.block_pfn)
		return -ENOMEM;
	for (uint64_t b = 0; b < nblocks; b++) {
		uint64_t first = n.first_block_gfn + b * TDP_BLOCK_PAGES,
			 last = first + TDP_BLOCK_PAGES;
		uint64_t pfn0;

		if (first < new_base)
			first = new_base;
		if (last > end)
			last = end;
		/* Frame of page (gfn - new_base) of the slot, in the old layout. */
		pfn0 = tdp_slot_pfn(m, m->desc.base_gfn + (first - new_base));
		for (uint64_t g = first + 1; g < last; g++) {
			if (tdp_slot_pfn(m, m->desc.base_gfn + (g - new_base)) !=
			    pfn0 + (g - first)) {
				free(n.block_pfn);
				return -EINVAL;
			}
		}
		atomic_init(&n.block_pfn[b],
			    pfn0 - (first - (n.first_block_gfn + b * TDP_BLOCK_PAGES)));
	}
	*out = n.block_pfn;
	return 0;
}

int tdp_host_prepare_move(struct tdp_host *h, uint32_t id, uint64_t new_base_gfn,
			  struct tdp_slot_change *c)
{
	const struct tdp_memslots *s = h->slots;
	uint64_t host_page;
	struct tdp_memslot moved;
	_Atomic uint64_t *blocks;
	int i = tdp_slot_index(s, id), r;

	memset(c, 0, sizeof(*c));
	if (i < 0)
		return -ENOENT;
	moved = s->slots[i];
	moved.desc.base_gfn = new_base_gfn;
	r = validate_slot(h, &moved.desc);
	if (r)
		return r;
	if (overlaps_other(s, &moved.desc, i))
		return -EEXIST;
	r = relayout_blocks(&s->slots[i], new_base_gfn, &blocks);
	if (r)
		return r;
	moved.first_block_gfn = tdp_align_gfn(new_base_gfn, TDP_LEVEL_2M);
	if (blocks) {
		c->stale[0] = moved.block_pfn;
		moved.block_pfn = blocks;
	}
	/* Host pages are aligned in gfn space: a new offset inside one relays them. */
	host_page = tdp_pages_per_level(tdp_backing_level(moved.desc.backing));
	if (moved.host_faulted && ((new_base_gfn ^ s->slots[i].desc.base_gfn) & (host_page - 1))) {
		moved.host_faulted = tdp_host_faulted_relayout(&s->slots[i], new_base_gfn);
		moved.faulted_gen = ++h->next_faulted_gen;
		c->stale[1] = s->slots[i].host_faulted;
	}
	c->invalid = invalid_copy(s, i);
	c->final = slots_copy(s, 0);
	if (!c->invalid || !c->final || !moved.host_faulted != !s->slots[i].host_faulted) {
		free(c->invalid);
		free(c->final);
		free(blocks);
		if (c->stale[1])
			free(moved.host_faulted);
		return -ENOMEM;
	}
	slots_remove(c->final, i);
	slots_insert(c->final, &moved);
	return 0;
}

void tdp_host_publish_invalid(struct tdp_host *h, struct tdp_slot_change *c)
{
	publish(h, c->invalid);
	c->invalid = NULL; /* freed by the commit's publication */
}

void tdp_host_commit_change(struct tdp_host *h, struct tdp_slot_change *c)
{
	publish(h, c->final);
	/* After the grace period: no reader holds what only the old slot had. */
	for (int i = 0; i < 3; i++)
		free(c->stale[i]);
	memset(c, 0, sizeof(*c));
}

#define LOG_FLAGS_KNOWN                                                                            \
	(TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT |                          \
	 TDPMMU_DIRTY_LOG_INITIALLY_SET)

int tdp_host_set_logging(struct tdp_host *h, uint32_t id, bool on, unsigned flags)
{
	_Atomic uint64_t *bitmap = NULL, *old_bitmap;
	struct tdp_memslots *new;
	const struct tdp_memslot *m;
	uint64_t words;
	int i;

	if (on && (flags & ~LOG_FLAGS_KNOWN))
		return -EINVAL;
	i = tdp_slot_index(h->slots, id);
	if (i < 0)
		return -ENOENT;
	m = &h->slots->slots[i];
	if (on && (m->desc.flags & TDPMMU_MEMSLOT_READONLY))
		return -EROFS;
	if (on == !!(m->log_flags & TDP_SLOT_LOGGING))
		return -EBUSY;
	if (on) {
		words = tdp_bitmap_words(m->desc.npages);
		bitmap = calloc(words, sizeof(*bitmap));
		if (!bitmap)
			return -ENOMEM;
		/* Written before the publication below, which releases them. */
		if (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) {
			for (uint64_t w = 0; w < words; w++)
				atomic_init(&bitmap[w], ~0ull);
			if (m->desc.npages % 64)
				atomic_init(&bitmap[words - 1],
					    (1ull << (m->desc.npages % 64)) - 1);
		}
	}
	new = slots_copy(h->slots, 0);
	if (!new) {
		free(bitmap);
		return -ENOMEM;
	}
	old_bitmap = new->slots[i].dirty_bitmap;
	new->slots[i].dirty_bitmap = bitmap;
	new->slots[i].log_flags = on ? (flags | TDP_SLOT_LOGGING) : 0;
	publish(h, new);
	free(old_bitmap); /* after the grace period */
	return 0;
}

int tdp_host_get_slot(struct tdp_host *h, uint32_t id, struct tdpmmu_memslot *desc,
		      unsigned *log_flags)
{
	const struct tdp_memslots *slots;
	int i;

	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	i = tdp_slot_index(slots, id);
	if (i >= 0) {
		if (desc)
			*desc = slots->slots[i].desc;
		if (log_flags)
			*log_flags = slots->slots[i].log_flags;
	}
	tdp_rcu_read_unlock();
	return i < 0 ? -ENOENT : 0;
}
