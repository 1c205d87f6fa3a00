/* counters.c - allocation and summing of the sharded counters. */
#include <errno.h>

#include "base/counters.h"

int tdp_counters_init(struct tdp_counters *c)
{
	/* Fixed addresses, committed as slots appear (thread_slot.h). */
	c->shards = tdp_slot_array_alloc(sizeof(*c->shards));
	return c->shards ? 0 : -ENOMEM;
}

void tdp_counters_destroy(struct tdp_counters *c)
{
	tdp_slot_array_free(c->shards, sizeof(*c->shards));
	c->shards = NULL;
}

int64_t tdp_counter_read(const struct tdp_counters *c, enum tdpmmu_counter i)
{
	int n = tdp_thread_slot_limit();
	int64_t sum = 0;

	for (int s = 0; s < n; s++)
		sum += __atomic_load_n(&c->shards[s].v[i], __ATOMIC_RELAXED);
	return sum;
}

void tdp_counters_read_all(const struct tdp_counters *c, int64_t out[TDPMMU_NR_COUNTERS])
{
	for (int i = 0; i < TDPMMU_NR_COUNTERS; i++)
		out[i] = tdp_counter_read(c, (enum tdpmmu_counter)i);
}

const char *tdp_counter_name(enum tdpmmu_counter i)
{
	static const char *const names[] = {
#define TDPMMU_COUNTER_NAME(name, str) str,
		TDPMMU_COUNTERS(TDPMMU_COUNTER_NAME)
#undef TDPMMU_COUNTER_NAME
	};

	if ((unsigned)i >= TDPMMU_NR_COUNTERS)
		return NULL;
	return names[i];
}
