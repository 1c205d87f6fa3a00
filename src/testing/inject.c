/*
 * inject.c (testing library) - the public setters of the library's anomaly
 * injection, quarantine and race-window hooks (tdpmmu/testing.h).
 *
 * The hook sites and their globals stay inside libtdpmmu (base/inject.h),
 * where the library's hot paths read them; the shared library does not
 * export them, and only programs that link libtdpmmu-testing.a (with the
 * static libtdpmmu.a) can set them.  Concurrency: each global is a single
 * pointer or a relaxed atomic, set from any thread; see tdpmmu/testing.h
 * for when a hook may be changed.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/inject.h"
#include "tdpmmu/testing.h"

_Static_assert((int)TDPMMU_TEST_SITE_HOST_FAULT_PAID == (int)TDP_SITE_HOST_FAULT_PAID &&
		       (int)TDPMMU_TEST_SITE_SLOT_INVALID == (int)TDP_SITE_SLOT_INVALID &&
		       (int)TDPMMU_TEST_SITE_REMAP_CHECKED == (int)TDP_SITE_REMAP_CHECKED &&
		       (int)TDPMMU_TEST_SITE_FAST_FIXED == (int)TDP_SITE_FAST_FIXED,
	       "public and internal hook sites");

void tdpmmu_inject(unsigned delay_one_in, unsigned alloc_fail_one_in)
{
	atomic_store(&tdp_inject_delay_one_in, delay_one_in);
	atomic_store(&tdp_inject_alloc_one_in, alloc_fail_one_in);
}

void tdpmmu_inject_stats_read(uint64_t *delays, uint64_t *alloc_failures)
{
	tdp_inject_stats(delays, alloc_failures);
}

void tdpmmu_quarantine(bool on)
{
	atomic_store(&tdp_quarantine, on);
}

void tdpmmu_test_set_fault_hook(void (*fn)(uint64_t gfn))
{
	tdp_inject_fault_hook = fn;
}

void tdpmmu_test_set_store_hook(void (*fn)(_Atomic uint64_t *sptep))
{
	tdp_inject_store_hook = fn;
}

void tdpmmu_test_set_yield_hook(bool (*fn)(bool locked))
{
	tdp_inject_yield_hook = fn;
}

/*
 * The site hook: the library calls an internal-enum hook; the user's takes
 * the public enum.  A trampoline converts, so no function is called
 * through a pointer of another type.
 */
static void (*_Atomic user_site_hook)(enum tdpmmu_test_site site, uint64_t gfn);

static void site_trampoline(enum tdp_inject_site site, uint64_t gfn)
{
	void (*fn)(enum tdpmmu_test_site, uint64_t) = atomic_load(&user_site_hook);

	if (fn)
		fn((enum tdpmmu_test_site)site, gfn);
}

void tdpmmu_test_set_site_hook(void (*fn)(enum tdpmmu_test_site site, uint64_t gfn))
{
	atomic_store(&user_site_hook, fn);
	tdp_inject_site_hook = fn ? site_trampoline : NULL;
}
