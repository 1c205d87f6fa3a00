/*
 * host.h - memslots and simulated host memory.
 *
 * A memslot maps [base_gfn, base_gfn + npages) to host frames
 * [host_pfn, host_pfn + npages).  Host frames are numbers handed out by a
 * bump allocator; each slot's first frame is congruent to its base gfn
 * modulo 1 GiB, as a real VMM arranges so that huge host pages line up
 * with huge guest pages.  The backing kind decides the largest mapping.
 *
 * Concurrency: the slot set is an immutable array published with
 * rcu_assign_pointer; readers (the fault path, outside the MMU lock) look
 * it up inside an RCU read-side section; writers serialise on slots_mutex
 * and free the old array after synchronize_rcu.  This is KVM's memslot
 * SRCU, and is independent of how page tables are reclaimed.
 */
#ifndef TDP_HOST_H
#define TDP_HOST_H

#include <pthread.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

struct tdp_memslot {
	struct tdpmmu_memslot desc;
	uint64_t host_pfn; /* frame backing desc.base_gfn */
};

struct tdp_memslots {
	int nr;
	struct tdp_memslot slots[]; /* sorted by base_gfn, non-overlapping */
};

struct tdp_host {
	struct tdp_memslots *slots; /* RCU-protected */
	pthread_mutex_t slots_mutex;
	uint64_t next_host_pfn;
	uint64_t max_gfn;
};

/* What the fault path learns about a gfn before taking the MMU lock. */
struct tdp_host_frame {
	uint64_t pfn;
	int max_level; /* largest mapping the slot and backing allow here */
	bool writable;
};

int tdp_host_init(struct tdp_host *h, uint64_t max_gfn);
void tdp_host_destroy(struct tdp_host *h);
int tdp_host_add_slot(struct tdp_host *h, const struct tdpmmu_memslot *desc);
/* -ENOENT if no slot maps @gfn. */
int tdp_host_lookup(struct tdp_host *h, uint64_t gfn, struct tdp_host_frame *out);

#endif
