/*
 * write_track.c - the set of write-tracked gfns (layout and locking in
 * write_track.h).  Only the MMU lock protects it; the callers assert the
 * mode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "mmu/spte.h"
#include "ops/write_track.h"

static uint64_t track_key(uint64_t gfn, int level)
{
	return tdp_align_gfn(gfn, level) << 2 | (uint64_t)(level - 1);
}

/* Index of the first key >= @key. */
static size_t lower_bound(const struct tdp_write_track *t, uint64_t key)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t count_of(const struct tdp_write_track *t, uint64_t key)
{
	size_t i = lower_bound(t, key);

	return i < t->nr && t->keys[i] == key ? t->counts[i] : 0;
}

/* Room for @more new keys. */
static int reserve(struct tdp_write_track *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 16;
	uint64_t *keys;
	uint32_t *counts;

	while (cap < t->nr + more)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	keys = realloc(t->keys, cap * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	t->keys = keys;
	counts = realloc(t->counts, cap * sizeof(*counts));
	if (!counts)
		return -ENOMEM;
	t->counts = counts;
	t->cap = cap;
	return 0;
}

/* Count @key once more; room must be reserved. */
static void inc(struct tdp_write_track *t, uint64_t key)
{
	size_t i = lower_bound(t, key);

	if (i < t->nr && t->keys[i] == key) {
		t->counts[i]++;
		return;
	}
	memmove(&t->keys[i + 1], &t->keys[i], (t->nr - i) * sizeof(*t->keys));
	memmove(&t->counts[i + 1], &t->counts[i], (t->nr - i) * sizeof(*t->counts));
	t->keys[i] = key;
	t->counts[i] = 1;
	t->nr++;
}

/* Count @key @n times less, removing it at zero; it must be present.  Returns what is left. */
static uint32_t dec(struct tdp_write_track *t, uint64_t key, uint32_t n)
{
	size_t i = lower_bound(t, key);

	if (i == t->nr || t->keys[i] != key || t->counts[i] < n)
		tdp_bug("write tracking: key 0x%llx (gfn 0x%llx, level %d) counted %u, dropping %u",
			(unsigned long long)key, (unsigned long long)(key >> 2), (int)(key & 3) + 1,
			i < t->nr && t->keys[i] == key ? t->counts[i] : 0, n);
	t->counts[i] -= n;
	if (t->counts[i])
		return t->counts[i];
	memmove(&t->keys[i], &t->keys[i + 1], (t->nr - i - 1) * sizeof(*t->keys));
	memmove(&t->counts[i], &t->counts[i + 1], (t->nr - i - 1) * sizeof(*t->counts));
	t->nr--;
	return 0;
}

void tdp_write_track_destroy(struct tdp_write_track *t)
{
	free(t->keys);
	free(t->counts);
	memset(t, 0, sizeof(*t));
}

int tdp_write_track_add(struct tdp_write_track *t, uint64_t gfn)
{
	uint32_t n = count_of(t, track_key(gfn, TDP_LEVEL_4K));
	int r;

	if (n == UINT32_MAX)
		return -EOVERFLOW;
	r = reserve(t, TDP_MAX_HUGE_LEVEL);
	if (r)
		return r;
	inc(t, track_key(gfn, TDP_LEVEL_4K));
	if (n)
		return 0;
	t->gfns++;
	for (int level = TDP_LEVEL_2M; level <= TDP_MAX_HUGE_LEVEL; level++)
		inc(t, track_key(gfn, level));
	return 0;
}

/* Take @gfn's 4K count down by @n; at zero it leaves the regions' counts. */
static void untrack(struct tdp_write_track *t, uint64_t gfn, uint32_t n)
{
	if (dec(t, track_key(gfn, TDP_LEVEL_4K), n))
		return;
	t->gfns--;
	for (int level = TDP_LEVEL_2M; level <= TDP_MAX_HUGE_LEVEL; level++)
		dec(t, track_key(gfn, level), 1);
}

int tdp_write_track_remove(struct tdp_write_track *t, uint64_t gfn)
{
	if (!count_of(t, track_key(gfn, TDP_LEVEL_4K)))
		return -EINVAL;
	untrack(t, gfn, 1);
	return 0;
}

void tdp_write_track_drop_range(struct tdp_write_track *t, uint64_t start, uint64_t end)
{
	size_t i = 0;

	/* Keys shift as entries go: look again from the first one not yet seen. */
	while (i < t->nr) {
		uint64_t key = t->keys[i], gfn = key >> 2;

		if ((key & 3) == TDP_LEVEL_4K - 1 && gfn >= start && gfn < end) {
			untrack(t, gfn, t->counts[i]);
			i = lower_bound(t, key);
		} else {
			i++;
		}
	}
}

bool tdp_write_tracked(const struct tdp_write_track *t, uint64_t gfn)
{
	return t->gfns && count_of(t, track_key(gfn, TDP_LEVEL_4K));
}

int tdp_write_track_max_level(const struct tdp_write_track *t, uint64_t gfn, int level)
{
	if (!t->gfns)
		return level;
	while (level > TDP_LEVEL_4K && count_of(t, track_key(gfn, level)))
		level--;
	return level;
}
