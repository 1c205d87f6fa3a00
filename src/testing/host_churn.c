/*
 * host_churn.c - the simulated host memory manager (tdpmmu_churn_*, see tdpmmu/testing.h).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "tdpmmu/testing.h"
#include "vm/vm_internal.h"

#define BLOCK_PAGES 512ull

static uint64_t churn_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void set_error(struct tdpmmu_churn *c, int r)
{
	int none = 0;

	atomic_compare_exchange_strong(&c->error, &none, r);
}

/* Hand the old block's bytes back to the OS: nothing may read them any more. */
static void discard_frames(struct tdpmmu_vm *vm, uint64_t pfn)
{
	uint8_t *p = tdp_host_frame_bytes(&vm->host, pfn);

	if (p)
		madvise(p, BLOCK_PAGES * 4096, MADV_DONTNEED);
}

/* One cycle on @blk; false when the thread must stop. */
static bool churn_cycle(struct tdpmmu_churn *c, uint64_t blk, unsigned flags)
{
	struct tdpmmu_vm *vm = c->vm;
	uint64_t old_pfn = 0, new_pfn = 0, n;
	int r, r_end;

	r = tdpmmu_invalidate_begin(vm, blk, blk + BLOCK_PAGES);
	if (r) {
		set_error(c, r);
		return false;
	}
	r = tdpmmu_host_pfn(vm, blk, &old_pfn);
	if (!r)
		r = tdpmmu_host_remap(vm, blk, blk + BLOCK_PAGES, flags);
	if (!r)
		r = tdpmmu_host_pfn(vm, blk, &new_pfn);
	sched_yield(); /* the host copies pages: let faults meet the invalidation */
	r_end = tdpmmu_invalidate_end(vm, blk, blk + BLOCK_PAGES);
	if (r == -ENOSPC) {
		atomic_store(&c->out_of_frames, true);
		return false;
	}
	if (r || r_end) {
		set_error(c, r ? r : r_end);
		return false;
	}
	n = atomic_load_explicit(&c->cycles, memory_order_relaxed);
	c->log[n % TDPMMU_CHURN_LOG] = (struct tdpmmu_churn_cycle){
		.blk = blk, .old_pfn = old_pfn, .new_pfn = new_pfn, .flags = flags
	};
	if (flags & TDPMMU_REMAP_HUGE)
		atomic_fetch_add_explicit(&c->huge_cycles, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->cycles, 1, memory_order_release);
	if (c->after_end)
		c->after_end(c->ctx, blk, old_pfn, new_pfn);
	if (c->discard_old)
		discard_frames(vm, old_pfn);
	return true;
}

static void *churn_thread(void *arg)
{
	struct tdpmmu_churn *c = arg;
	uint64_t rs = c->seed ? c->seed : 0x9e3779b97f4a7c15ull;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		uint64_t blk = c->first_blk + (churn_rand(&rs) % c->nr_blocks) * BLOCK_PAGES;
		unsigned flags = churn_rand(&rs) & 1 ? TDPMMU_REMAP_HUGE : 0;

		if (!churn_cycle(c, blk, flags))
			break;
		sched_yield(); /* a looping writer lets readers in between (design.md) */
	}
	return NULL;
}

int tdpmmu_churn_start(struct tdpmmu_churn *c, struct tdpmmu_vm *vm, uint64_t start_gfn,
		       uint64_t end_gfn, uint64_t seed)
{
	uint64_t first, last, pfn;
	int r;

	if (!c || !vm || start_gfn >= end_gfn || end_gfn > tdpmmu_vm_max_gfn(vm))
		return -EINVAL;
	first = (start_gfn + BLOCK_PAGES - 1) & ~(BLOCK_PAGES - 1);
	last = end_gfn & ~(BLOCK_PAGES - 1); /* one past the last whole block */
	if (first < start_gfn || first >= last)
		return -EINVAL;
	for (uint64_t b = first; b < last; b += BLOCK_PAGES) {
		r = tdpmmu_host_pfn(vm, b, &pfn);
		if (r)
			return r;
	}
	c->vm = vm;
	c->first_blk = first;
	c->nr_blocks = (last - first) / BLOCK_PAGES;
	c->seed = seed;
	atomic_init(&c->cycles, 0);
	atomic_init(&c->huge_cycles, 0);
	atomic_init(&c->out_of_frames, false);
	atomic_init(&c->error, 0);
	atomic_init(&c->stop, false);
	memset(c->log, 0, sizeof(c->log));
	r = pthread_create(&c->thread, NULL, churn_thread, c);
	c->running = r == 0;
	return -r;
}

void tdpmmu_churn_wait(struct tdpmmu_churn *c)
{
	if (!c || !c->running)
		return;
	pthread_join(c->thread, NULL);
	c->running = false;
}

void tdpmmu_churn_stop(struct tdpmmu_churn *c)
{
	if (!c || !c->running)
		return;
	atomic_store(&c->stop, true);
	tdpmmu_churn_wait(c);
}
