/*
 * counters.h - per-thread sharded counters (see tdpmmu/stats.h).
 *
 * Concurrency: a shard is written only by the thread owning its slot, with
 * relaxed atomic load + store (no read-modify-write, no shared cache line
 * on hot paths); readers sum the shards below the slot high-water mark
 * with relaxed loads.  The shards are a tdp_slot_array (thread_slot.h):
 * a thread that takes a new slot while a reader sums writes a shard whose
 * address never changes, which the reader sees as zero or as written.  A slot handed
 * to a new thread keeps its values, so sums stay right across thread exits.
 */
#ifndef TDP_COUNTERS_H
#define TDP_COUNTERS_H

#include <stdint.h>

#include "base/compiler.h"
#include "base/thread_slot.h"
#include "tdpmmu/stats.h"

struct tdp_counter_shard {
	int64_t v[TDPMMU_NR_COUNTERS];
} __cacheline_aligned;

struct tdp_counters {
	struct tdp_counter_shard *shards; /* a tdp_slot_array: never moves */
};

int tdp_counters_init(struct tdp_counters *c);
void tdp_counters_destroy(struct tdp_counters *c);
int64_t tdp_counter_read(const struct tdp_counters *c, enum tdpmmu_counter i);
void tdp_counters_read_all(const struct tdp_counters *c, int64_t out[TDPMMU_NR_COUNTERS]);
const char *tdp_counter_name(enum tdpmmu_counter i);

static inline void tdp_count_add(struct tdp_counters *c, enum tdpmmu_counter i, int64_t d)
{
	int64_t *p = &c->shards[tdp_thread_slot()].v[i];

	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

static inline void tdp_count(struct tdp_counters *c, enum tdpmmu_counter i)
{
	tdp_count_add(c, i, 1);
}

#endif
