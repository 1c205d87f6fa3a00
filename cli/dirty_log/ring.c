/*
 * ring.c - `bench dirty-log --ring N`: the VMM side of the dirty ring
 * (KVM_CAP_DIRTY_LOG_RING), in place of get and clear.  During each vCPU
 * pass a harvester thread (QEMU's reaper thread) waits for a vCPU to exit
 * on a soft-full ring (the ring_soft_full_exits counter moves: the pool's
 * threads retry tdpmmu_vcpu_run until a reset made room), then takes the
 * DIRTY entries of every vCPU's ring (tdpmmu_dirty_ring_harvest) and
 * resets the rings (tdpmmu_dirty_ring_reset), as QEMU reaps on
 * KVM_EXIT_DIRTY_RING_FULL; after the pass the main thread takes what is
 * left.  Every entry sets its
 * page's bit in a map of the guest's pages, so a pass collects the
 * distinct pages written, which the run checks against the pages the
 * guest wrote, as the bitmap mode does.
 *
 * Threads: the map, counts and times are the harvester thread's while it
 * runs and the main thread's after dirty_ring_stop joins it; the stop
 * flag is the only thing both touch meanwhile.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dirty_log/dirty_log.h"

#define HARVEST_BATCH 4096

struct dirty_ring_vmm {
	struct tdpmmu_vm *vm;
	struct bench_pool *pool;
	unsigned nvcpus;
	uint64_t pages, slot_pages;
	uint64_t *map; /* one bit per guest page: collected this pass */
	struct tdpmmu_dirty_gfn *buf;
	uint64_t entries, resets, ns;
	atomic_bool stop;
	pthread_t thread;
};

struct dirty_ring_vmm *dirty_ring_vmm_create(struct tdpmmu_vm *vm, struct bench_pool *pool,
					     unsigned nvcpus, uint64_t pages, uint64_t slot_pages)
{
	struct dirty_ring_vmm *r = calloc(1, sizeof(*r));

	if (!r)
		fatal("out of memory");
	r->vm = vm;
	r->pool = pool;
	r->nvcpus = nvcpus;
	r->pages = pages;
	r->slot_pages = slot_pages;
	r->map = calloc((pages + 63) / 64, sizeof(uint64_t));
	r->buf = calloc(HARVEST_BATCH, sizeof(*r->buf));
	if (!r->map || !r->buf)
		fatal("out of memory");
	return r;
}

void dirty_ring_vmm_destroy(struct dirty_ring_vmm *r)
{
	free(r->buf);
	free(r->map);
	free(r);
}

/* Harvest every ring, then reset; returns the entries harvested. */
static uint64_t collect_once(struct dirty_ring_vmm *r)
{
	uint64_t t0 = now_ns(), n = 0;
	int got;

	for (unsigned i = 0; i < r->nvcpus; i++) {
		struct tdpmmu_vcpu *v = bench_pool_vcpu(r->pool, i);

		while ((got = tdpmmu_dirty_ring_harvest(v, r->buf, HARVEST_BATCH)) > 0) {
			for (int e = 0; e < got; e++) {
				uint64_t page = (uint64_t)r->buf[e].slot * r->slot_pages +
						r->buf[e].offset;

				if (r->buf[e].offset >= r->slot_pages || page >= r->pages)
					fatal("check failed: dirty ring entry of vCPU %u names "
					      "slot %u page %llu, outside the guest",
					      i, r->buf[e].slot,
					      (unsigned long long)r->buf[e].offset);
				r->map[page / 64] |= 1ull << (page % 64);
			}
			n += (uint64_t)got;
		}
		if (got < 0)
			fatal("harvesting the dirty ring of vCPU %u: %s", i, strerror(-got));
	}
	got = tdpmmu_dirty_ring_reset(r->vm);
	if (got < 0)
		fatal("resetting the dirty rings: %s", strerror(-got));
	r->entries += n;
	r->resets++;
	r->ns += now_ns() - t0;
	return n;
}

int64_t dirty_ring_full_exits(struct tdpmmu_vm *vm)
{
	int64_t c[TDPMMU_NR_COUNTERS];

	tdpmmu_counters_read(vm, c);
	return c[TDPMMU_C_RING_SOFT_FULL_EXITS];
}

static void *harvester(void *arg)
{
	struct dirty_ring_vmm *r = arg;
	int64_t seen = dirty_ring_full_exits(r->vm), now;

	if (tdpmmu_thread_attach())
		fatal("no per-thread slot left for the dirty ring's harvester thread");
	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		now = dirty_ring_full_exits(r->vm);
		if (now == seen) {
			sched_yield();
			continue;
		}
		seen = now;
		collect_once(r);
	}
	return NULL;
}

void dirty_ring_start(struct dirty_ring_vmm *r)
{
	int e;

	memset(r->map, 0, (r->pages + 63) / 64 * sizeof(uint64_t));
	r->entries = r->resets = r->ns = 0;
	atomic_store(&r->stop, false);
	e = pthread_create(&r->thread, NULL, harvester, r);
	if (e)
		fatal("starting the dirty ring's harvester thread: %s", strerror(e));
}

void dirty_ring_stop(struct dirty_ring_vmm *r, struct dirty_ring_pass *out)
{
	uint64_t pages = 0;

	atomic_store_explicit(&r->stop, true, memory_order_release);
	pthread_join(r->thread, NULL);
	collect_once(r); /* what the last writes of the pass pushed */
	for (uint64_t w = 0; w < (r->pages + 63) / 64; w++)
		pages += (uint64_t)__builtin_popcountll(r->map[w]);
	out->pages = pages;
	out->entries = r->entries;
	out->resets = r->resets;
	out->ns = r->ns;
}
