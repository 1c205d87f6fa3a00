/* inject.c - anomaly injection and the hook sites (see inject.h). */
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/inject.h"

_Atomic unsigned tdp_inject_delay_one_in;
_Atomic unsigned tdp_inject_alloc_one_in;
_Atomic bool tdp_quarantine;
void (*tdp_inject_fault_hook)(uint64_t gfn);
void (*tdp_inject_store_hook)(_Atomic uint64_t *sptep);
bool (*tdp_inject_yield_hook)(bool locked);
void (*tdp_inject_site_hook)(enum tdp_inject_site site, uint64_t gfn);
static __thread uint64_t inject_rnd;
static _Atomic uint64_t delays_injected, allocs_failed;

static uint64_t draw(void)
{
	if (!inject_rnd)
		inject_rnd = (uint64_t)(uintptr_t)&inject_rnd | 1; /* per thread */
	inject_rnd ^= inject_rnd << 13;
	inject_rnd ^= inject_rnd >> 7;
	inject_rnd ^= inject_rnd << 17;
	return inject_rnd;
}

void tdp_inject_delay_slow(unsigned one_in)
{
	uint64_t x = draw();

	if (x % one_in)
		return;
	atomic_fetch_add_explicit(&delays_injected, 1, memory_order_relaxed);
	if ((x >> 32) % 8 == 0) {
		sched_yield(); /* with more threads than cores: another thread runs now */
	} else {
		for (unsigned i = (unsigned)(x >> 40) % 2048; i; i--)
			cpu_relax();
	}
}

bool tdp_inject_alloc_fail_slow(unsigned one_in)
{
	if (draw() % one_in)
		return false;
	atomic_fetch_add_explicit(&allocs_failed, 1, memory_order_relaxed);
	return true;
}

/* The public setters and getter are in src/testing/inject.c (tdpmmu/testing.h). */
void tdp_inject_stats(uint64_t *delays, uint64_t *alloc_failures)
{
	*delays = atomic_load(&delays_injected);
	*alloc_failures = atomic_load(&allocs_failed);
}
