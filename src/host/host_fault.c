/*
 * host_fault.c - the host's side of a guest's first touch of a page, the
 * way a VMM's userfaultfd handler is KVM's: before the fault path can map
 * a page the host must fault it in, which costs the VM's host_fault_us.
 * KVM blocks there in kvm_faultin_pfn (get_user_pages ending in
 * handle_userfault), with the memslot SRCU held but not mmu_lock; here the
 * fault path calls this after its memslot lookup and before it takes the
 * MMU lock (vcpu_fault.c), and nobody sleeps in an RCU read-side section.
 *
 * Each host page of a slot (a backing page: 4K anonymous, 2M THP and
 * hugetlb-2m, 1G hugetlb-1g, aligned in gfn space as the frames are, so a
 * slot whose base is not aligned starts inside its first one) has two
 * bits in the slot's host_faulted bitmap: CLAIMED, set with an atomic OR
 * by the one fault that wins it and then pays the delay, and IN, set by
 * that fault when the delay is over.  A fault that finds CLAIMED without
 * IN waits until IN is set (as a second vCPU faulting on the same page
 * sleeps in handle_userfault until the handler's UFFDIO_COPY wakes every
 * waiter on it) and is then done without paying.
 *
 * Concurrency.  The bitmap is read and changed only inside
 * tdp_rcu_read_lock, found through the slot array like any lookup, so a
 * bitmap freed with its slot is never touched after its grace period.
 * begin names the page it found by slot id, the bitmap's generation and
 * the page's index (struct tdp_host_claim), not by gfn: the payer leaves
 * RCU to sleep, and meanwhile the slot may move (the gfn then names
 * another page, or none) or be deleted and added again.  end finds the
 * slot by id and sets IN only in the same bitmap (same generation), so it
 * releases exactly what begin claimed, or nothing when that bitmap is
 * gone; a move that relays the bitmap (a new offset inside a host page)
 * gives it a new generation and carries over only the pages that are in,
 * so no page of the new one is claimed by a payer of the old.
 * Waiters: a waiter counts itself in fault_waiters (seq_cst) and then
 * re-reads the page under fault_mutex before it sleeps on fault_cond; a
 * payer sets IN (seq_cst RMW), then reads fault_waiters and, if any, takes
 * fault_mutex and broadcasts.  Either the payer sees the waiter or the
 * waiter sees IN, so no wakeup is lost; the wait is also timed, so a
 * waiter whose page vanished with its bitmap re-checks on its own.
 *
 * The handler pool (host_fault_handlers, demand_paging_test's readers per
 * userfaultfd, one userfaultfd per memslot): a payer takes one of its
 * slot's handlers before it sleeps and gives it back after it set IN, so
 * at most that many pages of a slot are being faulted in at once and the
 * rest queue, as uffd events wait for a free reader.  The slot is named
 * by id, so a handler outlives a delete or move of its slot.  Takers and
 * givers hold fault_mutex; a giver broadcasts fault_cond when anyone waits
 * for a handler, and a taker re-counts under the mutex before it sleeps,
 * so no wakeup is lost.  Waiting is a quiescent state like the sleep
 * (the caller is offline under rcu-qsbr, vcpu_fault.c).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/compiler.h"
#include "base/mutant.h"
#include "host/host.h"
#include "base/rcu_thread.h"
#include "base/lock_rank.h"

#define CLAIMED 1ull
#define IN 2ull

/* Pages of one host page of backing @b. */
static uint64_t host_page_pages(enum tdpmmu_backing b)
{
	return tdp_pages_per_level(tdp_backing_level(b));
}

uint64_t tdp_host_faulted_page(const struct tdpmmu_memslot *d, uint64_t gfn)
{
	uint64_t n = host_page_pages(d->backing);

	return gfn / n - d->base_gfn / n;
}

uint64_t tdp_host_faulted_words(const struct tdpmmu_memslot *d)
{
	uint64_t pages = tdp_host_faulted_page(d, d->base_gfn + d->npages - 1) + 1;

	return (pages * 2 + 63) / 64;
}

static uint64_t page_bits(const _Atomic uint64_t *bitmap, uint64_t page)
{
	return atomic_load_explicit(&bitmap[page / 32], memory_order_relaxed) >> (page % 32 * 2);
}

_Atomic uint64_t *tdp_host_faulted_relayout(const struct tdp_memslot *m, uint64_t new_base)
{
	struct tdpmmu_memslot d = m->desc;
	uint64_t n = host_page_pages(d.backing), words;
	_Atomic uint64_t *bitmap;

	d.base_gfn = new_base;
	words = tdp_host_faulted_words(&d);
	bitmap = calloc(words, sizeof(*bitmap));
	if (!bitmap)
		return NULL;
	/* Slot page by slot page: a new host page stays in while all its old ones were. */
	for (uint64_t first = 0; first < d.npages;) {
		uint64_t page = tdp_host_faulted_page(&d, new_base + first);
		uint64_t last = (page + 1) * n + new_base / n * n - new_base; /* exclusive */
		bool in = true;

		if (last > d.npages)
			last = d.npages;
		for (uint64_t o = first; o < last && in; o++)
			in = page_bits(m->host_faulted,
				       tdp_host_faulted_page(&m->desc, m->desc.base_gfn + o)) &
			     IN;
		if (in)
			atomic_init(&bitmap[page / 32],
				    atomic_load_explicit(&bitmap[page / 32], memory_order_relaxed) |
					    (CLAIMED | IN) << (page % 32 * 2));
		first = last;
	}
	return bitmap;
}

/*
 * The word and shift of @c's page, inside tdp_rcu_read_lock; NULL when
 * the slot or that bitmap of it is gone.
 */
static _Atomic uint64_t *claim_word(struct tdp_host *h, const struct tdp_host_claim *c,
				    unsigned *shift)
{
	const struct tdp_memslots *slots = rcu_dereference(h->slots);
	const struct tdp_memslot *m;
	int i;

	tdp_tsan_acquire(slots);
	if (TDP_MUTANT(CLAIM_BY_GFN)) {
		/* The mutant: the page the gfn names now (docs/testing.md). */
		m = tdp_host_find_slot(slots, c->gfn);
		if (!m || !m->host_faulted)
			return NULL;
		*shift = (unsigned)(tdp_host_faulted_page(&m->desc, c->gfn) % 32) * 2;
		return &m->host_faulted[tdp_host_faulted_page(&m->desc, c->gfn) / 32];
	}
	i = tdp_slot_index(slots, c->slot_id);
	if (i < 0)
		return NULL;
	m = &slots->slots[i];
	if (!m->host_faulted || m->faulted_gen != c->gen)
		return NULL;
	*shift = (unsigned)(c->page % 32) * 2;
	return &m->host_faulted[c->page / 32];
}

enum tdp_host_fault tdp_host_fault_begin(struct tdp_host *h, uint64_t gfn, struct tdp_host_claim *c)
{
	enum tdp_host_fault st = TDP_HOST_PRESENT;
	const struct tdp_memslots *slots;
	const struct tdp_memslot *m;
	_Atomic uint64_t *w;
	unsigned shift;
	uint64_t old;

	tdp_rcu_read_lock();
	slots = rcu_dereference(h->slots);
	tdp_tsan_acquire(slots);
	m = tdp_host_find_slot(slots, gfn);
	if (m && m->host_faulted) { /* no bitmap without the delay */
		c->gfn = gfn;
		c->slot_id = m->desc.id;
		c->gen = m->faulted_gen;
		c->page = tdp_host_faulted_page(&m->desc, gfn);
		shift = (unsigned)(c->page % 32) * 2;
		w = &m->host_faulted[c->page / 32];
		old = atomic_load_explicit(w, memory_order_acquire) >> shift;
		if (!(old & IN)) {
			if (!(old & CLAIMED))
				old = atomic_fetch_or(w, CLAIMED << shift) >> shift;
			if (!(old & CLAIMED))
				st = TDP_HOST_CLAIMED;
			else if (!(old & IN))
				st = TDP_HOST_BUSY;
		}
	}
	tdp_rcu_read_unlock();
	return st;
}

/* Handlers of slot @id busy now (fault_mutex held). */
static unsigned handlers_busy(const struct tdp_host *h, uint32_t id)
{
	unsigned n = 0;

	/* The mutant handler-pool-per-vm counts every slot's (docs/testing.md). */
	for (const struct tdp_fault_handler *f = h->handling; f; f = f->next)
		n += f->slot_id == id || TDP_MUTANT(HANDLER_POOL_PER_VM);
	return n;
}

static void handler_take(struct tdp_host *h, struct tdp_fault_handler *f)
{
	unsigned busy;

	tdp_mutex_lock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	while ((busy = handlers_busy(h, f->slot_id)) >= h->fault_handlers) {
		h->handler_waiters++;
		pthread_cond_wait(&h->fault_cond, &h->fault_mutex);
		h->handler_waiters--;
	}
	f->next = h->handling;
	h->handling = f;
	if (busy + 1 > h->handlers_max)
		h->handlers_max = busy + 1;
	tdp_mutex_unlock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
}

static void handler_give(struct tdp_host *h, struct tdp_fault_handler *f)
{
	struct tdp_fault_handler **p;

	tdp_mutex_lock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	for (p = &h->handling; *p != f; p = &(*p)->next)
		;
	*p = f->next;
	if (h->handler_waiters)
		pthread_cond_broadcast(&h->fault_cond);
	tdp_mutex_unlock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
}

void tdp_host_fault_sleep(struct tdp_host *h, struct tdp_host_claim *c)
{
	struct timespec end;

	if (h->fault_handlers) {
		/* The claim is the payer's own: its handler node lives in it. */
		c->handler.slot_id = c->slot_id;
		handler_take(h, &c->handler);
	}
	end = tdp_clock_after_ns(CLOCK_MONOTONIC, h->fault_ns);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) == EINTR)
		;
}

void tdp_host_fault_end(struct tdp_host *h, struct tdp_host_claim *c)
{
	_Atomic uint64_t *w;
	unsigned shift;

	tdp_rcu_read_lock();
	w = claim_word(h, c, &shift);
	if (w)
		atomic_fetch_or(w, IN << shift);
	tdp_rcu_read_unlock();
	if (h->fault_handlers)
		handler_give(h, &c->handler);
	if (atomic_load(&h->fault_waiters)) {
		tdp_mutex_lock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
		pthread_cond_broadcast(&h->fault_cond);
		tdp_mutex_unlock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	}
}

/* Whether @c's page is still claimed and not in yet. */
static bool page_busy(struct tdp_host *h, const struct tdp_host_claim *c)
{
	_Atomic uint64_t *w;
	unsigned shift;
	bool busy = false;

	tdp_rcu_read_lock();
	w = claim_word(h, c, &shift);
	if (w)
		busy = ((atomic_load(w) >> shift) & (CLAIMED | IN)) == CLAIMED;
	tdp_rcu_read_unlock();
	return busy;
}

void tdp_host_fault_wait(struct tdp_host *h, const struct tdp_host_claim *c)
{
	atomic_fetch_add(&h->fault_waiters, 1);
	tdp_mutex_lock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	while (page_busy(h, c)) {
		/* 1 ms: see the comment at the top (the condvar's clock is the default). */
		struct timespec until = tdp_deadline_after_ms(1);

		pthread_cond_timedwait(&h->fault_cond, &h->fault_mutex, &until);
	}
	tdp_mutex_unlock(&h->fault_mutex, TDP_RANK_HOST_FAULT);
	atomic_fetch_sub(&h->fault_waiters, 1);
}
