/*
 * bench_background.c - the pieces `bench notifier` and `bench mixed`
 * share: the looping guest program, one host invalidation at a random
 * place (begin, maybe remap, end), pacing, and the consistency check at
 * the end of a run.
 *
 * Threads: bg_guest_next() runs on a vCPU thread in guest mode (no locks,
 * no waiting: it only reads the stop flag and its own struct); everything
 * else runs on the main thread.  bg_invalidate() is called while vCPUs
 * fault; the main thread never faults itself, so it cannot trip over the
 * invalidation it has in progress, and it has at most one in progress
 * (the API allows 64).  bg_check() runs after the vCPUs have stopped and
 * every background activity with them.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "common/backing.h"
#include "common/bench_background.h"
#include "common/util.h"
#include "tdpmmu/testing.h"

#define BLOCK_PAGES 512ull         /* one 2 MiB block */
#define CHECK_ALL_PAGES (1u << 18) /* up to 1 GiB of guest memory: every page */
#define CHECK_SAMPLES 1024         /* else per region and per recent range */

/* --- the guest program ---------------------------------------------------- */

unsigned bg_page_access(uint64_t gfn, unsigned write_pct, bool exec)
{
	if (exec && gfn % BG_EXEC_EVERY == BG_EXEC_EVERY - 1)
		return TDPMMU_ACCESS_EXEC;
	return page_written(gfn, write_pct) ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ;
}

void bg_guest_init(struct bg_guest *g, uint64_t base_gfn, uint64_t npages, unsigned write_pct,
		   bool exec, const atomic_bool *stop)
{
	*g = (struct bg_guest){ .base_gfn = base_gfn,
				.npages = npages,
				.write_pct = write_pct,
				.exec = exec,
				.stop = stop };
}

bool bg_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct bg_guest *g = ctx;
	uint64_t gfn;

	if (atomic_load_explicit(g->stop, memory_order_relaxed))
		return false;
	if (g->next == g->npages) {
		g->next = 0;
		g->passes++;
	}
	gfn = g->base_gfn + g->next++;
	a->gpa = gfn * GUEST_PAGE_BYTES;
	a->type = bg_page_access(gfn, g->write_pct, g->exec);
	a->value = a->type == TDPMMU_ACCESS_WRITE ? page_value(gfn) : 0;
	return true;
}

/* --- invalidations ---------------------------------------------------------- */

static uint64_t next_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

uint64_t bg_payload_bytes(const struct bench_opts *b, uint64_t total_pages, unsigned slots)
{
	if (!b->sw.payload)
		return 0;
	/* Reserved, touched on demand: the slots, and the frames remaps move blocks to. */
	return tdpmmu_payload_bytes_for(total_pages, slots) +
	       BG_REMAP_BLOCKS * 2 * BLOCK_PAGES * GUEST_PAGE_BYTES;
}

void bg_inval_init(struct bg_inval *iv, struct tdpmmu_vm *vm, uint64_t total_pages,
		   uint64_t range_bytes, unsigned remap_pct, uint64_t seed)
{
	uint64_t range = range_bytes / GUEST_PAGE_BYTES;

	memset(iv, 0, sizeof(*iv));
	iv->vm = vm;
	iv->total_pages = total_pages;
	iv->range_pages = range < total_pages ? range : total_pages;
	iv->remap_pct = remap_pct;
	iv->rnd = seed | 1;
}

static void inval_fail(const char *what, uint64_t start, uint64_t end, int r)
{
	fatal("%s of gfns [0x%llx, 0x%llx): %s", what, (unsigned long long)start,
	      (unsigned long long)end, strerror(-r));
}

void bg_invalidate(struct bg_inval *iv)
{
	uint64_t x = next_rnd(&iv->rnd), start, end, t0, ns;
	bool remap = iv->remap_pct && !iv->out_of_frames && x % 100 < iv->remap_pct;
	bool huge = (x >> 8) & 1;
	int r;

	start = x % (iv->total_pages - iv->range_pages + 1);
	end = start + iv->range_pages;
	if (remap) {
		/* A remap changes whole 2 MiB blocks: the invalidation must cover them. */
		start &= ~(BLOCK_PAGES - 1);
		end = (end + BLOCK_PAGES - 1) & ~(BLOCK_PAGES - 1);
		if (end > iv->total_pages)
			end = iv->total_pages;
	}
	t0 = now_ns();
	r = tdpmmu_invalidate_begin(iv->vm, start, end);
	if (r)
		inval_fail("invalidate_begin", start, end, r);
	if (remap) {
		r = tdpmmu_host_remap(iv->vm, start, end, huge ? TDPMMU_REMAP_HUGE : 0);
		if (r == -ENOSPC) {
			iv->out_of_frames = true; /* the payload's frames are used up */
		} else if (r) {
			inval_fail("host_remap", start, end, r);
		} else {
			iv->remaps++;
			iv->remaps_huge += huge;
		}
	}
	r = tdpmmu_invalidate_end(iv->vm, start, end);
	if (r)
		inval_fail("invalidate_end", start, end, r);
	ns = now_ns() - t0;
	iv->ns += ns;
	if (ns > iv->max_ns)
		iv->max_ns = ns;
	iv->recent_start[iv->count % BG_RECENT] = start;
	iv->recent_end[iv->count % BG_RECENT] = end;
	iv->count++;
}

/* --- pacing ------------------------------------------------------------------ */

void bg_sleep_until(uint64_t t)
{
	uint64_t now;

	while ((now = now_ns()) < t) {
		struct timespec ts = { .tv_sec = (time_t)((t - now) / 1000000000ull),
				       .tv_nsec = (long)((t - now) % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
}

void bg_pace(uint64_t *due, unsigned rate, uint64_t now)
{
	uint64_t period = 1000000000ull / rate;

	*due += period;
	if (*due <= now)
		*due = now + period;
}

/* --- the check ---------------------------------------------------------------- */

#define CHECK_FAIL(gfn, fmt, ...)                                                                  \
	fatal("check failed: gfn 0x%llx " fmt, (unsigned long long)(gfn), ##__VA_ARGS__)

static void check_log(const struct bg_check *c, uint64_t gfn, const struct tdpmmu_mapping *m)
{
	uint64_t i = gfn - c->log_base;

	if (!tdpmmu_spte_writable(m->spte))
		return;
	if (m->level != TDPMMU_LEVEL_4K)
		CHECK_FAIL(gfn, "is writable at level %d in a dirty-logging memslot", m->level);
	/* D-bit logging re-arms by D: only a leaf written since (Dirty) must be logged. */
	if (c->log_dbit && !tdpmmu_spte_dirty(m->spte))
		return;
	if (!(c->log_bitmap[i / 64] & (1ull << (i % 64))))
		CHECK_FAIL(gfn, "is mapped writable but not in the dirty log: a write could be "
				"lost to the migration");
}

static void check_payload(const struct bg_check *c, uint64_t gfn, const struct bg_guest *g,
			  const struct tdpmmu_mapping *m)
{
	bool written = bg_page_access(gfn, g->write_pct, g->exec) == TDPMMU_ACCESS_WRITE;
	uint64_t want = written ? page_value(gfn) : 0, got = 0;
	bool dirty = false;
	int r = tdpmmu_host_read(c->vm, gfn * GUEST_PAGE_BYTES, &got);

	if (r)
		CHECK_FAIL(gfn, "cannot be read through the host: %s", strerror(-r));
	if (got != want)
		CHECK_FAIL(gfn, "holds 0x%llx, the guest %s 0x%llx", (unsigned long long)got,
			   written ? "wrote" : "never wrote it, so it must hold",
			   (unsigned long long)want);
	if (!written || gfn < c->dirty_kept_from || (m->present && tdpmmu_spte_dirty(m->spte)))
		return;
	r = tdpmmu_host_dirty(c->vm, gfn, &dirty);
	if (r || !dirty)
		CHECK_FAIL(gfn, "was written, but neither its leaf nor its host frame is dirty");
}

static void check_page(const struct bg_check *c, uint64_t gfn)
{
	uint64_t npages = c->g[0].npages, pfn = 0;
	const struct bg_guest *g = &c->g[gfn / npages];
	struct tdpmmu_mapping m;
	int r = tdpmmu_lookup(c->vm, gfn, &m);

	if (r)
		CHECK_FAIL(gfn, "lookup: %s", strerror(-r));
	if (m.present) {
		r = tdpmmu_host_pfn(c->vm, gfn, &pfn);
		if (r || m.pfn != pfn)
			CHECK_FAIL(gfn, "maps frame 0x%llx, the host's is 0x%llx",
				   (unsigned long long)m.pfn, (unsigned long long)pfn);
		if (m.level > backing_max_level(c->b->backing))
			CHECK_FAIL(gfn, "is mapped at level %d, -s %s allows %d", m.level,
				   backing_kvm_name(c->b->backing),
				   backing_max_level(c->b->backing));
		if (c->nx && m.level > TDPMMU_LEVEL_4K && (m.spte & TDPMMU_SPTE_X))
			CHECK_FAIL(gfn,
				   "is mapped by an executable huge leaf with NX huge pages on");
		if (c->log_bitmap && gfn >= c->log_base && gfn - c->log_base < c->log_pages)
			check_log(c, gfn, &m);
	}
	if (c->payload && bg_guest_touched(g, gfn % npages))
		check_payload(c, gfn, g, &m);
}

/* @n pages from @first, all of them or CHECK_SAMPLES evenly spread (both ends included). */
static uint64_t check_span(const struct bg_check *c, uint64_t first, uint64_t n, bool all)
{
	if (all || n <= CHECK_SAMPLES) {
		for (uint64_t i = 0; i < n; i++)
			check_page(c, first + i);
		return n;
	}
	for (uint64_t k = 0; k < CHECK_SAMPLES; k++)
		check_page(c, first + k * (n - 1) / (CHECK_SAMPLES - 1));
	return CHECK_SAMPLES;
}

uint64_t bg_check(const struct bg_check *c)
{
	uint64_t npages = bench_pages_per_vcpu(c->b), total = npages * c->b->sw.vcpus, done = 0;
	bool all = total <= CHECK_ALL_PAGES;
	int bad = tdpmmu_audit(c->vm);

	if (bad)
		fatal("check failed: the audit found %d violations (see above)", bad);
	if (all)
		return check_span(c, 0, total, true);
	for (unsigned i = 0; i < c->b->sw.vcpus; i++)
		done += check_span(c, (uint64_t)i * npages, npages, false);
	for (uint64_t k = 0; c->iv && k < BG_RECENT && k < c->iv->count; k++)
		done += check_span(c, c->iv->recent_start[k],
				   c->iv->recent_end[k] - c->iv->recent_start[k], false);
	return done;
}

void bg_opts_init(struct bg_opts *o, enum tdpmmu_backing backing)
{
	bench_opts_init(&o->b, backing);
	o->b.sw.counts[1] = 2;
	o->b.sw.nr_counts = 2;
	o->b.bytes_per_vcpu = 128ull << 20;
	o->write_pct = 100;
	o->seconds = 1;
	o->range_bytes = 2ull << 20;
	o->remap_pct = 50;
	o->remap_given = false;
}

void bg_opts_check_remap(struct bg_opts *o)
{
	if (!backing_is_hugetlb(o->b.backing))
		return;
	if (o->remap_given && o->remap_pct)
		usage_error("--remap %u: -s %s memory is never remapped (use --remap 0)",
			    o->remap_pct, backing_kvm_name(o->b.backing));
	o->remap_pct = 0;
}

void bg_set_write_pct(void *ctx, const char *opt, const char *arg)
{
	((struct bg_opts *)ctx)->write_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
}

void bg_set_seconds(void *ctx, const char *opt, const char *arg)
{
	((struct bg_opts *)ctx)->seconds = bench_seconds_arg(opt, arg, 0.01, 3600);
}

void bg_set_range(void *ctx, const char *opt, const char *arg)
{
	((struct bg_opts *)ctx)->range_bytes = bench_size_arg(opt, arg);
}

void bg_set_remap(void *ctx, const char *opt, const char *arg)
{
	struct bg_opts *o = ctx;

	o->remap_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
	o->remap_given = true;
}
