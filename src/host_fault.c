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
 * hugetlb-2m, 1G hugetlb-1g, counted from the slot's first page) has two
 * bits in the slot's host_faulted bitmap: CLAIMED, set with an atomic OR
 * by the one fault that wins it and then pays the delay, and IN, set by
 * that fault when the delay is over.  A fault that finds CLAIMED without
 * IN waits until IN is set (as a second vCPU faulting on the same page
 * sleeps in handle_userfault until the handler's UFFDIO_COPY wakes every
 * waiter on it) and is then done without paying.
 *
 * Concurrency.  The bitmap is read and changed only inside
 * tdp_rcu_read_lock, found through the slot array like any lookup, so a
 * slot deleted meanwhile is never touched after its grace period: the
 * payer leaves RCU to sleep and looks its slot up again to set IN (where
 * its page no longer has CLAIMED, because the slot was deleted and maybe
 * added again, it sets nothing: the page is to be faulted in again; if the
 * new slot's page was claimed anew meanwhile, it is marked in a little
 * early, an inaccuracy only a slot deletion racing with its faults sees).
 * Waiters: a waiter counts itself in fault_waiters (seq_cst) and then
 * re-reads the page under fault_mutex before it sleeps on fault_cond; a
 * payer sets IN (seq_cst RMW), then reads fault_waiters and, if any, takes
 * fault_mutex and broadcasts.  Either the payer sees the waiter or the
 * waiter sees IN, so no wakeup is lost; the wait is also timed, so a
 * waiter whose page vanished with a deleted slot re-checks on its own.
 */
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "compiler.h"
#include "host.h"
#include "rcu_thread.h"

#define CLAIMED 1ull
#define IN 2ull

/* Host pages of slot @d. */
static uint64_t host_pages(const struct tdpmmu_memslot *d)
{
	uint64_t n = tdp_pages_per_level(tdp_backing_level(d->backing));

	return (d->npages + n - 1) / n;
}

uint64_t tdp_host_faulted_words(const struct tdpmmu_memslot *d)
{
	return (host_pages(d) * 2 + 63) / 64;
}

/*
 * The word and shift of @gfn's host page in its slot's bitmap, inside
 * tdp_rcu_read_lock; NULL when no slot maps @gfn or the slot has none.
 */
static _Atomic uint64_t *page_bits(struct tdp_host *h, uint64_t gfn, unsigned *shift)
{
	const struct tdp_memslots *slots = rcu_dereference(h->slots);
	const struct tdp_memslot *m;
	uint64_t page;

	tdp_tsan_acquire(slots);
	m = tdp_host_find_slot(slots, gfn);
	if (!m || !m->host_faulted)
		return NULL;
	page = (gfn - m->desc.base_gfn) / tdp_pages_per_level(tdp_backing_level(m->desc.backing));
	*shift = (unsigned)(page % 32) * 2;
	return &m->host_faulted[page / 32];
}

enum tdp_host_fault tdp_host_fault_begin(struct tdp_host *h, uint64_t gfn)
{
	enum tdp_host_fault st = TDP_HOST_PRESENT;
	_Atomic uint64_t *w;
	unsigned shift;
	uint64_t old;

	tdp_rcu_read_lock();
	w = page_bits(h, gfn, &shift); /* NULL without the delay: no bitmap */
	if (w) {
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

void tdp_host_fault_sleep(const struct tdp_host *h)
{
	struct timespec end = tdp_clock_after_ns(CLOCK_MONOTONIC, h->fault_ns);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) == EINTR)
		;
}

void tdp_host_fault_end(struct tdp_host *h, uint64_t gfn)
{
	_Atomic uint64_t *w;
	unsigned shift;

	tdp_rcu_read_lock();
	w = page_bits(h, gfn, &shift);
	/* Still our claim (not a slot added again since): the page is in. */
	if (w && (atomic_load_explicit(w, memory_order_relaxed) >> shift) & CLAIMED)
		atomic_fetch_or(w, IN << shift);
	tdp_rcu_read_unlock();
	if (atomic_load(&h->fault_waiters)) {
		pthread_mutex_lock(&h->fault_mutex);
		pthread_cond_broadcast(&h->fault_cond);
		pthread_mutex_unlock(&h->fault_mutex);
	}
}

/* Whether @gfn's host page is claimed and not in yet. */
static bool page_busy(struct tdp_host *h, uint64_t gfn)
{
	_Atomic uint64_t *w;
	unsigned shift;
	bool busy = false;

	tdp_rcu_read_lock();
	w = page_bits(h, gfn, &shift);
	if (w)
		busy = ((atomic_load(w) >> shift) & (CLAIMED | IN)) == CLAIMED;
	tdp_rcu_read_unlock();
	return busy;
}

void tdp_host_fault_wait(struct tdp_host *h, uint64_t gfn)
{
	atomic_fetch_add(&h->fault_waiters, 1);
	pthread_mutex_lock(&h->fault_mutex);
	while (page_busy(h, gfn)) {
		/* 1 ms: see the comment at the top (the condvar's clock is the default). */
		struct timespec until = tdp_deadline_after_ms(1);

		pthread_cond_timedwait(&h->fault_cond, &h->fault_mutex, &until);
	}
	pthread_mutex_unlock(&h->fault_mutex);
	atomic_fetch_sub(&h->fault_waiters, 1);
}
