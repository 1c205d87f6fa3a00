/*
 * preempt.c - the names of the host kernel's preemption models
 * (enum tdpmmu_preempt); what each model does to the MMU lock's holders
 * is in mmu_lock.h (mmu_lock_needbreak).  Not concurrency-relevant.
 */
#include <errno.h>
#include <string.h>

#include "tdpmmu/tdpmmu.h"

static const char *const preempt_names[TDPMMU_NR_PREEMPT] = {
	[TDPMMU_PREEMPT_NONE] = "none",
	[TDPMMU_PREEMPT_VOLUNTARY] = "voluntary",
	[TDPMMU_PREEMPT_FULL] = "full",
};

const char *tdpmmu_preempt_name(enum tdpmmu_preempt p)
{
	return (unsigned)p < TDPMMU_NR_PREEMPT ? preempt_names[p] : NULL;
}

int tdpmmu_preempt_parse(const char *s, enum tdpmmu_preempt *out)
{
	for (int i = 0; s && i < TDPMMU_NR_PREEMPT; i++) {
		if (!strcmp(s, preempt_names[i])) {
			*out = (enum tdpmmu_preempt)i;
			return 0;
		}
	}
	return -EINVAL;
}
