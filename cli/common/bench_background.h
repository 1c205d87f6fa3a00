/*
 * bench_background.h - what `bench notifier` and `bench mixed` share: the
 * guest program that keeps passing over a vCPU's memory until told to
 * stop, the host side of an MMU-notifier invalidation (begin, maybe a
 * remap, end) at a random place, pacing on the main thread, and the
 * consistency check both run when everything has stopped.
 *
 * Threads: a struct bg_guest is written by its vCPU thread during the
 * pool's pass and read by the main thread only after bench_pool_wait();
 * the pool's mutex orders the two.  The stop flag is the only thing both
 * touch during the pass: the main thread stores it, the guest program
 * loads it (a lockless read, allowed in guest mode).  A struct bg_inval
 * and the check belong to the main thread alone.
 */
#ifndef TDPMMU_CLI_BENCH_BACKGROUND_H
#define TDPMMU_CLI_BENCH_BACKGROUND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bench_common.h"

/*
 * The flags notifier and mixed share.  Both option structs start with
 * BG_OPTS_FIELDS, so that the setters below take either as a struct
 * bg_opts (the bench_opts habit, one level up).
 */
#define BG_OPTS_FIELDS                                                                             \
	struct bench_opts b;  /* first: the common setters take the struct as theirs */            \
	unsigned write_pct;   /* -w */                                                             \
	double seconds;       /* --seconds */                                                      \
	uint64_t range_bytes; /* --range */                                                        \
	unsigned remap_pct;   /* --remap: of the invalidations, the ones that remap */             \
	bool remap_given;
struct bg_opts {
	BG_OPTS_FIELDS
};
/* Defaults: -v 1,2, -b 128M of @backing, -w 100, 1 s, --range 2M, --remap 50. */
void bg_opts_init(struct bg_opts *o, enum tdpmmu_backing backing);
/* After parsing: hugetlb memory is never remapped (an explicit --remap is a usage error). */
void bg_opts_check_remap(struct bg_opts *o);
void bg_set_write_pct(void *ctx, const char *opt, const char *arg);
void bg_set_seconds(void *ctx, const char *opt, const char *arg);
void bg_set_range(void *ctx, const char *opt, const char *arg);
void bg_set_remap(void *ctx, const char *opt, const char *arg);
/* clang-format off */
#define BG_CLI_OPTIONS                                                                             \
	{ 'w', NULL, true, bg_set_write_pct }, { 0, "seconds", true, bg_set_seconds },             \
		{ 0, "range", true, bg_set_range }, { 0, "remap", true, bg_set_remap }
/* clang-format on */

/* Every BG_EXEC_EVERY-th page (gfn % BG_EXEC_EVERY == BG_EXEC_EVERY - 1) is fetched from. */
#define BG_EXEC_EVERY 64

/* One vCPU's guest program: passes over its pages until *stop. */
struct bg_guest {
	uint64_t base_gfn, npages;
	uint64_t next;   /* index of the next page of the current pass */
	uint64_t passes; /* passes completed */
	unsigned write_pct;
	bool exec; /* fetch from every BG_EXEC_EVERY-th page instead */
	const atomic_bool *stop;
};

void bg_guest_init(struct bg_guest *g, uint64_t base_gfn, uint64_t npages, unsigned write_pct,
		   bool exec, const atomic_bool *stop);
bool bg_guest_next(void *ctx, struct tdpmmu_access *a);
/* Whether the program has touched page @idx of its region (after the pass). */
static inline bool bg_guest_touched(const struct bg_guest *g, uint64_t idx)
{
	return g->passes || idx < g->next;
}
/* What the program does to @gfn: TDPMMU_ACCESS_WRITE, _READ or _EXEC. */
unsigned bg_page_access(uint64_t gfn, unsigned write_pct, bool exec);

/* The host's invalidations over guest memory [0, total_pages), main thread only. */
#define BG_RECENT 16 /* invalidated ranges remembered for the check */

struct bg_inval {
	struct tdpmmu_vm *vm;
	uint64_t total_pages, range_pages;
	unsigned remap_pct; /* invalidations that give the blocks new frames (0 for hugetlb) */
	uint64_t rnd;
	/* What was done. */
	uint64_t count, remaps, remaps_huge;
	uint64_t ns, max_ns; /* begin to end, each */
	bool out_of_frames;  /* a remap found no frames (--payload): no more remaps */
	uint64_t recent_start[BG_RECENT], recent_end[BG_RECENT];
};

/*
 * With --payload, host memory for a guest of @total_pages in @slots
 * memslots (each slot's frames start at a 1 GiB boundary of their own, so
 * bench_vm_create()'s one-slot size is not enough for two), plus frames for
 * BG_REMAP_BLOCKS remapped 2 MiB blocks, each of which copies real bytes;
 * after those, remaps find no frames (out_of_frames).  0 without --payload.
 */
#define BG_REMAP_BLOCKS 64
uint64_t bg_payload_bytes(const struct bench_opts *b, uint64_t total_pages, unsigned slots);

void bg_inval_init(struct bg_inval *iv, struct tdpmmu_vm *vm, uint64_t total_pages,
		   uint64_t range_bytes, unsigned remap_pct, uint64_t seed);
/*
 * One invalidation of range_pages at a random page: begin, a remap of the
 * 2 MiB blocks it touches (remap_pct of the time; the range then widens to
 * those blocks, as the API requires), end.  Library errors are fatal.
 */
void bg_invalidate(struct bg_inval *iv);

/* Sleep until now_ns() reaches @t. */
void bg_sleep_until(uint64_t t);
/*
 * Pacing at @rate per second: the next time after one that was due at
 * *due and has just run; missed slots are dropped, never made up in a burst.
 */
void bg_pace(uint64_t *due, unsigned rate, uint64_t now);

/* What the consistency check looks at. */
struct bg_check {
	struct tdpmmu_vm *vm;
	const struct bench_opts *b;
	const struct bg_guest *g;  /* one per vCPU, region i from gfn i * npages */
	const struct bg_inval *iv; /* its recent ranges are checked page by page; may be NULL */
	bool payload;              /* check the bytes and that no Dirty was lost */
	uint64_t dirty_kept_from;  /* ...that one on pages from this gfn on */
	bool nx;                   /* no huge leaf may be executable */
	/* A dirty-logging memslot [log_base, log_base + log_pages) and its final bitmap. */
	const uint64_t *log_bitmap;
	uint64_t log_base, log_pages;
	bool log_dbit; /* --dirty-mode dbit: a 4K leaf there may be writable; written = Dirty */
};

/*
 * With every vCPU stopped and nothing else running on the VM: the audit
 * (every leaf against the host's frames, the accounting against a walk),
 * then lookups of every page (or an even sample of each region, and every
 * page of the recent invalidations on large VMs): a present leaf maps the
 * host's frame, is no larger than the backing allows, is not executable
 * when huge under NX, and in a dirty-logging slot is writable only at 4K
 * and logged; with a payload every touched page holds what the guest
 * wrote there (or 0) and a written page's Dirty is in its leaf or frame.
 * Returns the pages checked; a failure is fatal.
 */
uint64_t bg_check(const struct bg_check *c);

#endif /* TDPMMU_CLI_BENCH_BACKGROUND_H */
