/*
 * host.c - host frames of the memslots: lookup, remap, the dirty bitmaps
 * (concurrency in host.h; slot set changes are in host_slots.c).
 *
 * Dirty bitmap words are only ever changed with atomic OR (marking),
 * exchange and AND-NOT (harvesting): a mark that races with a harvest
 * lands either in the value harvested or in the word left behind, never
 * nowhere.  A bitmap is shared by every copy of its slot, invalid or
 * moved, so a mark made through any of them is harvested.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "host/host.h"
#include "mmu/mmu_page.h"
#include "base/rcu_thread.h"

static const int backing_level[TDPMMU_NR_BACKINGS] = {
	[TDPMMU_BACKING_ANON] = TDP_LEVEL_4K,       [TDPMMU_BACKING_THP] = TDP_LEVEL_2M,
	[TDPMMU_BACKING_HUGETLB_2M] = TDP_LEVEL_2M, [TDPMMU_BACKING_HUGETLB_1G] = TDP_LEVEL_1G,
	[TDPMMU_BACKING_SHMEM] = TDP_LEVEL_4K,      [TDPMMU_BACKING_SHARED_HUGETLB] = TDP_LEVEL_2M,
};

static const char *const backing_names[TDPMMU_NR_BACKINGS] = {
	[TDPMMU_BACKING_ANON] = "anon",
	[TDPMMU_BACKING_THP] = "thp",
	[TDPMMU_BACKING_HUGETLB_2M] = "hugetlb-2m",
	[TDPMMU_BACKING_HUGETLB_1G] = "hugetlb-1g",
	[TDPMMU_BACKING_SHMEM] = "shmem",
	[TDPMMU_BACKING_SHARED_HUGETLB] = "shared-hugetlb",
};

const char *tdpmmu_backing_name(enum tdpmmu_backing b)
{
	return (unsigned)b < TDPMMU_NR_BACKINGS ? backing_names[b] : NULL;
}

/*
 * The other spellings parsing takes: KVM selftests' backing source names
 * (vm_mem_backing_src_alias, less the other hugetlb sizes; "shmem" is
 * both a selftests name and ours), where a bare "anonymous_hugetlb" is the
 * default 2M size, and the short forms the issue tracker uses.  The
 * program's -s parses with this function, so it takes the same names.
 */
static const struct {
	const char *name;
	enum tdpmmu_backing backing;
} backing_aliases[] = {
	{ "anonymous", TDPMMU_BACKING_ANON },
	{ "anonymous_thp", TDPMMU_BACKING_THP },
	{ "anonymous_hugetlb", TDPMMU_BACKING_HUGETLB_2M },
	{ "anonymous_hugetlb_2mb", TDPMMU_BACKING_HUGETLB_2M },
	{ "anonymous_hugetlb_1gb", TDPMMU_BACKING_HUGETLB_1G },
	{ "hugetlb_2mb", TDPMMU_BACKING_HUGETLB_2M },
	{ "hugetlb_1gb", TDPMMU_BACKING_HUGETLB_1G },
	{ "shared_hugetlb", TDPMMU_BACKING_SHARED_HUGETLB },
};

int tdpmmu_backing_parse(const char *s, enum tdpmmu_backing *out)
{
	if (!s)
		return -EINVAL;
	for (int b = 0; b < TDPMMU_NR_BACKINGS; b++) {
		if (!strcmp(s, backing_names[b])) {
			*out = (enum tdpmmu_backing)b;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(backing_aliases) / sizeof(backing_aliases[0]); i++) {
		if (!strcmp(s, backing_aliases[i].name)) {
			*out = backing_aliases[i].backing;
			return 0;
		}
	}
	return -EINVAL;
}

#define BLOCK_PAGES TDP_BLOCK_PAGES

int tdp_host_init(struct tdp_host *h, uint64_t max_gfn, uint64_t payload_bytes)
{
	memset(h, 0, sizeof(*h));
	h->pfn_limit = TDP_HOST_PFN_LIMIT;
	if (payload_bytes) {
		if (payload_bytes % 4096 || payload_bytes / 4096 > TDP_HOST_PFN_LIMIT)
			return -EINVAL;
		/* 2 MiB aligned, so shared_hugetlb slots can map huge pages (host_shared.c). */
		const uint64_t align = 2ull << 20;
		uint8_t *raw = mmap(NULL, payload_bytes + align, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		uint64_t head;

		if (raw == MAP_FAILED)
			return -ENOMEM;
		head = (align - (uintptr_t)raw % align) % align;
		if (head)
			munmap(raw, head);
		munmap(raw + head + payload_bytes, align - head);
		h->payload = raw + head;
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
	pthread_mutex_init(&h->slots_lock, NULL);
	pthread_mutex_init(&h->fault_mutex, NULL);
	pthread_cond_init(&h->fault_cond, NULL);
	h->max_gfn = max_gfn;
	h->next_host_pfn = 1; /* frame 0 is never handed out */
	atomic_init(&h->generation, 0);
	h->mmio_gen_mask = TDP_MMIO_GEN_MASK; /* the VM may narrow it (mmio_gen_bits) */
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
		pthread_mutex_destroy(&h->slots_lock);
		pthread_cond_destroy(&h->fault_cond);
		pthread_mutex_destroy(&h->fault_mutex);
	}
	if (h->payload)
		munmap(h->payload, h->pfn_limit * 4096);
	free(h->dirty);
	memset(h, 0, sizeof(*h));
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
 * is enough.  The slot bounds are KVM's lpage_info "disallowed" marks at
 * a slot's unaligned ends: a slot smaller than its backing page (3M of
 * hugetlb-1g) maps 2M where a whole aligned 2M block is inside it and 4K
 * at the ends, and no leaf ever covers a gfn outside the slot.
 */
static int max_mapping_level(const struct tdp_memslot *m, uint64_t gfn)
{
	for (int level = backing_level[m->desc.backing]; level > TDP_LEVEL_4K; level--) {
		uint64_t n = tdp_pages_per_level(level), base = tdp_align_gfn(gfn, level);

		if (base >= m->desc.base_gfn && base + n <= m->desc.base_gfn + m->desc.npages &&
		    !(tdp_slot_pfn(m, base) & (n - 1)))
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
		out->pfn = tdp_slot_pfn(m, gfn);
		out->host_level = max_mapping_level(m, gfn);
		out->dirty_logging = (m->log_flags & TDP_SLOT_LOGGING) != 0;
		/* While logging, writes must fault per 4K page so each is seen. */
		out->max_level = out->dirty_logging ? TDP_LEVEL_4K : out->host_level;
		out->writable = !(m->desc.flags & TDPMMU_MEMSLOT_READONLY);
		out->invalid = m->invalid;
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
static void block_range(const struct tdp_memslot *m, uint64_t start, uint64_t end, uint64_t *first,
			uint64_t *last)
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
	return r;
}

int tdp_host_remap(struct tdp_host *h, uint64_t start, uint64_t end, bool huge)
{
	struct tdp_memslots *s;
	uint64_t need = 0, next, first, last;
	int r = -ENOENT;

	if (start >= end)
		return -EINVAL;
	s = h->slots;
	/* Check everything first, so that an error changes nothing. */
	for (int i = 0; i < s->nr; i++) {
		const struct tdp_memslot *m = &s->slots[i];

		if (!overlaps(m, start, end))
			continue;
		if (m->desc.backing == TDPMMU_BACKING_HUGETLB_2M ||
		    m->desc.backing == TDPMMU_BACKING_HUGETLB_1G ||
		    m->desc.backing == TDPMMU_BACKING_SHARED_HUGETLB) {
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
	return r;
}

bool tdp_host_slot_mark_dirty(const struct tdp_memslot *m, uint64_t gfn)
{
	uint64_t i = gfn - m->desc.base_gfn;

	if (!m->dirty_bitmap)
		return false;
	/* Release: what the marker did before is seen by the harvester's exchange. */
	atomic_fetch_or_explicit(&m->dirty_bitmap[i / 64], 1ull << (i % 64), memory_order_release);
	return true;
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
	if (m)
		marked = tdp_host_slot_mark_dirty(m, gfn);
	tdp_rcu_read_unlock();
	return marked;
}

/* The logging slot @id in @slots, or -ENOENT / -EINVAL (not logging). */
static int logging_slot(const struct tdp_memslots *slots, uint32_t id, const struct tdp_memslot **m)
{
	int i = tdp_slot_index(slots, id);

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
	if (!r && (first_page / 64 > tdp_bitmap_words(m->desc.npages) ||
		   nwords > tdp_bitmap_words(m->desc.npages) - first_page / 64))
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

int tdp_host_dirty_clear_mask(struct tdp_host *h, uint32_t id, uint64_t first_page, uint64_t mask,
			      uint64_t *was_set)
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
