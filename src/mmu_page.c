/*
 * mmu_page.c - the table arena and the in-use list (concurrency rules in
 * mmu_page.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "inject.h"
#include "mmu_page.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define table_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define table_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define table_poison(p, n) ((void)(p), (void)(n))
#define table_unpoison(p, n) ((void)(p), (void)(n))
#endif

int tdp_arena_init(struct tdp_arena *a, uint64_t capacity)
{
	memset(a, 0, sizeof(*a));
	if (capacity == 0 || capacity > (TDP_PFN_MAX - TDP_TABLE_PFN_BASE))
		return -EINVAL;
	a->mem = mmap(NULL, capacity * TDP_TABLE_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->mem == MAP_FAILED) {
		a->mem = NULL;
		return -ENOMEM;
	}
	/* Huge pages for tables: fewer TLB misses on walks, fewer first-touch faults. */
	madvise(a->mem, capacity * TDP_TABLE_BYTES, MADV_HUGEPAGE);
	a->capacity = capacity;
	/* Cache-line aligned and zeroed on first touch, like the tables. */
	a->meta = mmap(NULL, capacity * sizeof(*a->meta), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->meta == MAP_FAILED)
		a->meta = NULL;
	a->free_stack = calloc(capacity, sizeof(*a->free_stack));
	if (!a->meta || !a->free_stack) {
		a->capacity = 0;
		if (a->meta)
			munmap(a->meta, capacity * sizeof(*a->meta));
		a->meta = NULL;
		table_unpoison(a->mem, capacity * TDP_TABLE_BYTES);
		munmap(a->mem, capacity * TDP_TABLE_BYTES);
		free(a->free_stack);
		memset(a, 0, sizeof(*a));
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	return 0;
}

void tdp_arena_destroy(struct tdp_arena *a)
{
	if (a->mem) {
		table_unpoison(a->mem, a->capacity * TDP_TABLE_BYTES);
		munmap(a->mem, a->capacity * TDP_TABLE_BYTES);
	}
	if (a->meta)
		munmap(a->meta, a->capacity * sizeof(*a->meta));
	free(a->free_stack);
	if (a->capacity)
		pthread_mutex_destroy(&a->lock);
	memset(a, 0, sizeof(*a));
}

void tdp_page_reset(struct tdp_arena *a, struct tdp_page *p)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(a, p);

	memset(p, 0, sizeof(*p));
	/* Not yet visible to anyone: relaxed stores, published by the link CAS. */
	for (unsigned e = 0; e < TDP_PTES_PER_TABLE; e++)
		atomic_store_explicit(&pt[e], SPTE_NONPRESENT, memory_order_relaxed);
}

struct tdp_page *tdp_page_alloc(struct tdp_arena *a)
{
	struct tdp_page *p;
	uint64_t i;

	if (tdp_inject_alloc_fail())
		return NULL; /* torture: as if the arena were full */
	pthread_mutex_lock(&a->lock);
	if (a->nr_free && atomic_load_explicit(&tdp_quarantine, memory_order_relaxed)) {
		i = a->free_stack[a->free_head]; /* the oldest: longest in quarantine */
		a->free_head = (a->free_head + 1) % a->capacity;
		a->nr_free--;
	} else if (a->nr_free) {
		i = a->free_stack[(a->free_head + --a->nr_free) % a->capacity];
	} else if (a->next_fresh < a->capacity) {
		i = a->next_fresh++;
	} else {
		pthread_mutex_unlock(&a->lock);
		return NULL;
	}
	pthread_mutex_unlock(&a->lock);

	p = &a->meta[i];
	if (p->quarantined) {
		mprotect(tdp_page_table(a, p), TDP_TABLE_BYTES, PROT_READ | PROT_WRITE);
		p->quarantined = false;
	}
	table_unpoison(tdp_page_table(a, p), TDP_TABLE_BYTES);
	tdp_page_reset(a, p);
	return p;
}

void tdp_page_free(struct tdp_arena *a, struct tdp_page *p)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(a, p);
	uint64_t i = tdp_page_index(a, p);

	if (p->on_list)
		tdp_bug("freeing table %llu (level %d, gfn 0x%llx) still on the in-use list",
			(unsigned long long)i, p->level, (unsigned long long)p->gfn);
	for (unsigned e = 0; e < TDP_PTES_PER_TABLE; e++)
		atomic_store_explicit(&pt[e], SPTE_POISON, memory_order_relaxed);
	table_poison(pt, TDP_TABLE_BYTES);
	/* Before it can be handed out again: the allocator reads the flag. */
	if (atomic_load_explicit(&tdp_quarantine, memory_order_relaxed) &&
	    !mprotect(pt, TDP_TABLE_BYTES, PROT_NONE))
		p->quarantined = true;
	pthread_mutex_lock(&a->lock);
	a->free_stack[(a->free_head + a->nr_free++) % a->capacity] = i;
	pthread_mutex_unlock(&a->lock);
}

uint64_t tdp_arena_in_use(struct tdp_arena *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->lock);
	n = a->next_fresh - a->nr_free;
	pthread_mutex_unlock(&a->lock);
	return n;
}

void tdp_pages_init(struct tdp_pages *pl)
{
	pthread_mutex_init(&pl->lock, NULL);
	pl->head.next = pl->head.prev = &pl->head;
	pl->nr = 0;
}

void tdp_pages_destroy(struct tdp_pages *pl)
{
	pthread_mutex_destroy(&pl->lock);
}

/* Under the write lock nobody else touches the list; under read, take the pages lock. */
void tdp_pages_lock(struct tdp_pages *pl, struct mmu_lock *lock, enum tdp_lock_mode mode)
{
	mmu_lock_assert_held(lock, mode);
	if (mode == TDP_SHARED)
		pthread_mutex_lock(&pl->lock);
}

void tdp_pages_unlock(struct tdp_pages *pl, enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED)
		pthread_mutex_unlock(&pl->lock);
}

void tdp_pages_link_locked(struct tdp_pages *pl, struct tdp_page *p)
{
	if (p->on_list)
		tdp_bug("table at level %d gfn 0x%llx linked twice", p->level,
			(unsigned long long)p->gfn);
	p->next = pl->head.next;
	p->prev = &pl->head;
	pl->head.next->prev = p;
	pl->head.next = p;
	p->on_list = true;
	pl->nr++;
}

void tdp_pages_unlink_locked(struct tdp_pages *pl, struct tdp_page *p)
{
	if (!p->on_list)
		tdp_bug("table at level %d gfn 0x%llx unlinked but not on the list", p->level,
			(unsigned long long)p->gfn);
	p->prev->next = p->next;
	p->next->prev = p->prev;
	p->next = p->prev = NULL;
	p->on_list = false;
	pl->nr--;
}

void tdp_pages_link(struct tdp_pages *pl, struct mmu_lock *lock, struct tdp_page *p,
		    enum tdp_lock_mode mode)
{
	tdp_pages_lock(pl, lock, mode);
	tdp_pages_link_locked(pl, p);
	tdp_pages_unlock(pl, mode);
}

void tdp_pages_unlink(struct tdp_pages *pl, struct mmu_lock *lock, struct tdp_page *p,
		      enum tdp_lock_mode mode)
{
	tdp_pages_lock(pl, lock, mode);
	tdp_pages_unlink_locked(pl, p);
	tdp_pages_unlock(pl, mode);
}
