/*
 * write_track.h - the set of write-tracked gfns (KVM's page tracking in
 * write mode): a tracked gfn is never mapped writable, and no huge leaf
 * may cover it, so every guest write to it faults and is emulated.
 *
 * The set is a sorted array of (key, count) pairs.  A key is a gfn aligned
 * to a level, with the level in its low bits: the 4K key of a gfn counts
 * how often it was added (adds nest, as in KVM); the 2M and 1G keys count
 * the distinct tracked gfns inside that region, so "may this region be
 * mapped huge" is one lookup per level.
 *
 * Concurrency: the MMU lock.  Changes (add, remove, drop_range) hold it
 * for write; lookups (the fault path, huge-page recovery) hold it for read
 * or write.  Readers and writers never overlap, so the array can be
 * reallocated in place.  A fault checks under the same read-lock hold in
 * which it maps, and add write-protects the gfn under the same write-lock
 * hold in which it inserts it, so a writable mapping of a tracked gfn is
 * never installed and none survives the add.
 */
#ifndef TDP_WRITE_TRACK_H
#define TDP_WRITE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tdp_write_track {
	uint64_t *keys;   /* sorted */
	uint32_t *counts; /* counts[i] belongs to keys[i], never 0 */
	size_t nr, cap;
	uint64_t gfns; /* distinct tracked gfns: the fault path's fast test */
};

void tdp_write_track_destroy(struct tdp_write_track *t);
/* Write lock.  -ENOMEM, -EOVERFLOW (added 2^32 - 1 times); nothing changed on error. */
int tdp_write_track_add(struct tdp_write_track *t, uint64_t gfn);
/* Write lock.  -EINVAL if @gfn is not tracked. */
int tdp_write_track_remove(struct tdp_write_track *t, uint64_t gfn);
/* Write lock: forget every tracked gfn in [start, end), however often added. */
void tdp_write_track_drop_range(struct tdp_write_track *t, uint64_t start, uint64_t end);

/* Read or write lock. */
bool tdp_write_tracked(const struct tdp_write_track *t, uint64_t gfn);
/* The largest level <= @level at which the region around @gfn holds no tracked gfn. */
int tdp_write_track_max_level(const struct tdp_write_track *t, uint64_t gfn, int level);

#endif
