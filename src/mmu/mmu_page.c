/*
 * mmu_page.c - the table arena and the accounting of tables in use
 * (concurrency rules in mmu_page.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/inject.h"
#include "base/mutant.h"
#include "mmu/mmu_page.h"
#include "base/lock_rank.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define table_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define table_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define table_poison(p, n) ((void)(p), (void)(n))
#define table_unpoison(p, n) ((void)(p), (void)(n))
#endif

static _Atomic unsigned tdp_inject_protect_fail_one_in, tdp_inject_unprotect_fail_one_in;
static _Atomic uint64_t protect_calls, unprotect_calls;

void tdp_inject_quarantine_fail(unsigned protect_one_in, unsigned unprotect_one_in)
{
	atomic_store(&protect_calls, 0);
	atomic_store(&unprotect_calls, 0);
	atomic_store(&tdp_inject_protect_fail_one_in, protect_one_in);
	atomic_store(&tdp_inject_unprotect_fail_one_in, unprotect_one_in);
}

/* mprotect on one table, failing as tdp_inject_quarantine_fail asks. */
static int table_mprotect(_Atomic(tdp_spte_t) *pt, int prot, _Atomic unsigned *one_in,
			  _Atomic uint64_t *calls)
{
	unsigned n = atomic_load_explicit(one_in, memory_order_relaxed);

	if (unlikely(n) && (atomic_fetch_add(calls, 1) + 1) % n == 0) {
		errno = ENOMEM;
		return -1;
	}
	return mprotect(pt, TDP_TABLE_BYTES, prot);
}

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
	/* One allocation for both rings: a table is on one of them at most. */
	a->open.slot = calloc(2 * capacity, sizeof(*a->open.slot));
	if (!a->meta || !a->open.slot) {
		a->capacity = 0;
		if (a->meta)
			munmap(a->meta, capacity * sizeof(*a->meta));
		a->meta = NULL;
		table_unpoison(a->mem, capacity * TDP_TABLE_BYTES);
		munmap(a->mem, capacity * TDP_TABLE_BYTES);
		free(a->open.slot);
		memset(a, 0, sizeof(*a));
		return -ENOMEM;
	}
	a->quar.slot = a->open.slot + capacity;
	/* With bigger host pages, protecting one table would protect its neighbours. */
	a->can_protect = sysconf(_SC_PAGESIZE) == TDP_TABLE_BYTES;
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
	free(a->open.slot);
	if (a->capacity)
		pthread_mutex_destroy(&a->lock);
	memset(a, 0, sizeof(*a));
}

/* The rings, under the arena mutex. */
static void ring_push(struct tdp_arena *a, struct tdp_free_ring *r, uint64_t i)
{
	r->slot[(r->head + r->nr++) % a->capacity] = i;
}

static bool ring_pop_oldest(struct tdp_arena *a, struct tdp_free_ring *r, uint64_t *i)
{
	if (!r->nr)
		return false;
	*i = r->slot[r->head];
	r->head = (r->head + 1) % a->capacity;
	r->nr--;
	return true;
}

static bool ring_pop_newest(struct tdp_arena *a, struct tdp_free_ring *r, uint64_t *i)
{
	if (!r->nr)
		return false;
	*i = r->slot[(r->head + --r->nr) % a->capacity];
	return true;
}

/*
 * Last resort, when no table is writable or can be made so one at a time:
 * make the whole arena read-write.  That changes whole mappings only (live
 * tables are read-write already, so each PROT_NONE run is a mapping of its
 * own) and never splits one.  Every table that was on the quarantine ring
 * before this call was protected before it got there, so it is writable
 * now, and moves to the open ring.  (A table another thread is freeing or
 * unprotecting, on no ring, may become writable too: it is then only
 * believed protected, which is harmless.)  On failure nothing moves: a
 * table stays on the quarantine ring, whatever part of the arena changed.
 */
static bool release_quarantine(struct tdp_arena *a)
{
	uint64_t i;

	if (mprotect(a->mem, a->capacity * TDP_TABLE_BYTES, PROT_READ | PROT_WRITE)) {
		a->qstats.release_failures++;
		return false;
	}
	a->qstats.releases++;
	while (ring_pop_oldest(a, &a->quar, &i))
		ring_push(a, &a->open, i);
	return true;
}

void tdp_page_reset(struct tdp_arena *a, struct tdp_page *p)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(a, p);

	memset(p, 0, sizeof(*p));
	/* Not yet visible to anyone: relaxed stores, published by the link CAS. */
	for (unsigned e = 0; e < TDP_PTES_PER_TABLE; e++)
		atomic_store_explicit(&pt[e], SPTE_NONPRESENT, memory_order_relaxed);
}

/*
 * Quarantine on: the oldest quarantined table, else the oldest freed one
 * that was never protected, else a fresh one.  Off: the newest freed one
 * that is not protected (cache-warm), else a quarantined one, else fresh.
 * A quarantined table is handed out only once its mprotect to read-write
 * succeeded; one that stays PROT_NONE (the call would split a mapping at
 * vm.max_map_count) goes back to the young end of the quarantine, and up
 * to TDP_QUARANTINE_TRIES of them are tried before the other kinds.
 */
struct tdp_page *tdp_page_alloc(struct tdp_arena *a)
{
	bool quarantine = atomic_load_explicit(&tdp_quarantine, memory_order_relaxed);
	struct tdp_page *p;
	unsigned tries = 0;
	uint64_t i;

	if (tdp_inject_alloc_fail())
		return NULL; /* torture: as if the arena were full */
	tdp_mutex_lock(&a->lock, TDP_RANK_ARENA);
	for (;;) {
		if (!quarantine && ring_pop_newest(a, &a->open, &i))
			break;
		if (tries < TDP_QUARANTINE_TRIES && tries < a->quar.nr) {
			tries++;
			ring_pop_oldest(a, &a->quar, &i);
			/* Off any ring, the table is ours: the system call runs unlocked. */
			tdp_mutex_unlock(&a->lock, TDP_RANK_ARENA);
			if (!table_mprotect(tdp_page_table(a, &a->meta[i]), PROT_READ | PROT_WRITE,
					    &tdp_inject_unprotect_fail_one_in, &unprotect_calls))
				goto writable;
			tdp_mutex_lock(&a->lock, TDP_RANK_ARENA);
			a->qstats.unprotect_failures++;
			ring_push(a, &a->quar, i);
			continue;
		}
		if (quarantine && ring_pop_oldest(a, &a->open, &i))
			break;
		if (a->next_fresh < a->capacity) {
			i = a->next_fresh++;
			break;
		}
		if (a->quar.nr && release_quarantine(a) && ring_pop_oldest(a, &a->open, &i))
			break;
		tdp_mutex_unlock(&a->lock, TDP_RANK_ARENA);
		return NULL;
	}
	tdp_mutex_unlock(&a->lock, TDP_RANK_ARENA);
writable:
	p = &a->meta[i];
	table_unpoison(tdp_page_table(a, p), TDP_TABLE_BYTES);
	tdp_page_reset(a, p);
	return p;
}

void tdp_page_free(struct tdp_arena *a, struct tdp_page *p)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(a, p);
	uint64_t i = tdp_page_index(a, p);
	bool protect_failed = false, quarantined = false;

	if (p->accounted)
		tdp_bug("freeing table %llu (level %d, gfn 0x%llx) still accounted in use",
			(unsigned long long)i, p->level, (unsigned long long)p->gfn);
	for (unsigned e = 0; e < TDP_PTES_PER_TABLE; e++)
		atomic_store_explicit(&pt[e], SPTE_POISON, memory_order_relaxed);
	table_poison(pt, TDP_TABLE_BYTES);
	if (atomic_load_explicit(&tdp_quarantine, memory_order_relaxed) && a->can_protect) {
		if (!table_mprotect(pt, PROT_NONE, &tdp_inject_protect_fail_one_in,
				    &protect_calls)) {
			quarantined = true;
		} else {
			/*
			 * A failed call on one page changes nothing, but make
			 * sure (a no-op on a read-write page, which cannot
			 * fail): a table that cannot be shown read-write is
			 * treated as protected.
			 */
			protect_failed = true;
			quarantined = mprotect(pt, TDP_TABLE_BYTES, PROT_READ | PROT_WRITE) != 0;
		}
	}
	tdp_mutex_lock(&a->lock, TDP_RANK_ARENA);
	a->qstats.protect_failures += protect_failed;
	ring_push(a, quarantined ? &a->quar : &a->open, i);
	tdp_mutex_unlock(&a->lock, TDP_RANK_ARENA);
}

uint64_t tdp_arena_in_use(struct tdp_arena *a)
{
	uint64_t n;

	tdp_mutex_lock(&a->lock, TDP_RANK_ARENA);
	n = a->next_fresh - a->open.nr - a->quar.nr;
	tdp_mutex_unlock(&a->lock, TDP_RANK_ARENA);
	return n;
}

void tdp_arena_quarantine_stats(struct tdp_arena *a, struct tdp_quarantine_stats *out)
{
	tdp_mutex_lock(&a->lock, TDP_RANK_ARENA);
	*out = a->qstats;
	tdp_mutex_unlock(&a->lock, TDP_RANK_ARENA);
}

void tdp_pages_init(struct tdp_pages *pl, enum tdpmmu_pages_mode mode)
{
	pthread_mutex_init(&pl->lock, NULL);
	pl->list = mode == TDPMMU_PAGES_LIST;
	pl->head.next = pl->head.prev = &pl->head;
	pl->nr = 0;
	atomic_init(&pl->count, 0);
}

int tdp_pages_set_mode(struct tdp_pages *pl, enum tdpmmu_pages_mode mode)
{
	if (pl->nr || atomic_load(&pl->count))
		return -EBUSY;
	pl->list = mode == TDPMMU_PAGES_LIST;
	return 0;
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
		tdp_mutex_lock(&pl->lock, TDP_RANK_PAGES);
}

void tdp_pages_unlock(struct tdp_pages *pl, enum tdp_lock_mode mode)
{
	if (mode == TDP_SHARED)
		tdp_mutex_unlock(&pl->lock, TDP_RANK_PAGES);
}

void tdp_pages_account_locked(struct tdp_pages *pl, struct tdp_page *p)
{
	struct tdp_page *first;

	if (p->accounted)
		tdp_bug("table at level %d gfn 0x%llx linked twice", p->level,
			(unsigned long long)p->gfn);
	p->accounted = true;
	if (!pl->list) {
		atomic_fetch_add_explicit(&pl->count, 1, memory_order_relaxed);
		return;
	}
	first = pl->head.next;
	tdp_inject_delay(); /* tests: the read and the writes of the link stay apart */
	p->next = first;
	p->prev = &pl->head;
	first->prev = p;
	pl->head.next = p;
	pl->nr++;
}

void tdp_pages_unaccount_locked(struct tdp_pages *pl, struct tdp_page *p)
{
	if (!p->accounted)
		tdp_bug("table at level %d gfn 0x%llx unlinked but not accounted", p->level,
			(unsigned long long)p->gfn);
	p->accounted = false;
	if (!pl->list) {
		atomic_fetch_sub_explicit(&pl->count, 1, memory_order_relaxed);
		return;
	}
	p->prev->next = p->next;
	p->next->prev = p->prev;
	p->next = p->prev = NULL;
	pl->nr--;
}

/*
 * The mutant pages-no-lock (docs/testing.md) restores the race the seed's
 * spinlock closes: LIST mode's list changes under the read lock alone.
 */
void tdp_pages_account(struct tdp_pages *pl, struct mmu_lock *lock, struct tdp_page *p,
		       enum tdp_lock_mode mode)
{
	if (!pl->list || TDP_MUTANT(PAGES_NO_LOCK)) {
		mmu_lock_assert_held(lock, mode);
		tdp_pages_account_locked(pl, p);
		return;
	}
	tdp_pages_lock(pl, lock, mode);
	tdp_pages_account_locked(pl, p);
	tdp_pages_unlock(pl, mode);
}

void tdp_pages_unaccount(struct tdp_pages *pl, struct mmu_lock *lock, struct tdp_page *p,
			 enum tdp_lock_mode mode)
{
	if (!pl->list || TDP_MUTANT(PAGES_NO_LOCK)) {
		mmu_lock_assert_held(lock, mode);
		tdp_pages_unaccount_locked(pl, p);
		return;
	}
	tdp_pages_lock(pl, lock, mode);
	tdp_pages_unaccount_locked(pl, p);
	tdp_pages_unlock(pl, mode);
}

static void list_report(int *violations, const char *what, const struct tdp_page *p)
{
	if ((*violations)++ < 20)
		fprintf(stderr, "audit: in-use list: %s (table level %d gfn 0x%llx)\n", what,
			p ? p->level : 0, p ? (unsigned long long)p->gfn : 0ull);
}

int64_t tdp_pages_check_list(struct tdp_pages *pl, const struct tdp_arena *a, int *violations)
{
	int64_t n = 0;

	if (!pl->list)
		return 0;
	for (struct tdp_page *p = pl->head.next; p != &pl->head; p = p->next) {
		if ((uint64_t)n++ >= a->capacity) {
			list_report(violations, "longer than the arena (a cycle?)", NULL);
			break;
		}
		if (p < a->meta || p >= a->meta + a->capacity) {
			list_report(violations, "entry outside the arena", NULL);
			break;
		}
		if (!p->next || p->next->prev != p) {
			list_report(violations, "broken links", p);
			break;
		}
		if (!p->accounted || atomic_load(&p->retired))
			list_report(violations, "listed table not accounted, or retired", p);
	}
	if ((uint64_t)n != pl->nr) {
		if ((*violations)++ < 20)
			fprintf(stderr, "audit: in-use list: %lld tables on it, length says %llu\n",
				(long long)n, (unsigned long long)pl->nr);
	}
	return n;
}
