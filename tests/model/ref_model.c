/*
 * ref_model.c - the reference model of the tdpmmu API (ref_model.h): its
 * state, the queries on it, the state errors each call must return, and the
 * operations on memslots, write tracking and invalidations.  The rules for
 * the leaves are in ref_leaves.c, the checks against the library in
 * ref_check.c.
 *
 * Single-threaded, one model per process (ref_model.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ref_internal.h"
#include "model/ref_model.h"
#include "tdpmmu/testing.h"

struct ref_model ref;

/* --- setup and reporting -------------------------------------------------- */

void ref_free(void)
{
	for (int i = 0; i < REF_MAX_SLOTS; i++)
		free(ref.slot[i].bits);
	for (int w = 0; w < ref.nwin; w++)
		free(ref.win[w].leaf);
	free(ref.block_used);
	free(ref.block_touched);
	free(ref.t1);
	free(ref.t2);
	free(ref.t1_seq);
	free(ref.t2_seq);
	memset(&ref, 0, sizeof(ref));
}

void *ref_zalloc(uint64_t n)
{
	void *p = calloc(n ? n : 1, 1);

	if (!p) {
		fprintf(stderr, "ref_model: out of memory\n");
		abort();
	}
	return p;
}

void ref_init_exact(uint64_t space, bool nx)
{
	ref_free();
	ref.exact = true;
	ref.nx = nx;
	ref.space = space;
	ref.nblocks = (space + REF_MB2 - 1) / REF_MB2;
	ref.ng1 = (space + REF_GB - 1) / REF_GB;
	ref.nwin = 1;
	ref.win[0].npages = space;
	ref.win[0].leaf = ref.leaf = ref_zalloc(space);
	ref.block_used = ref_zalloc(ref.nblocks);
	ref.block_touched = ref_zalloc(ref.nblocks);
	ref.t1 = ref_zalloc(ref.ng1);
	ref.t2 = ref_zalloc(ref.nblocks);
	ref.t1_seq = ref_zalloc(ref.ng1 * sizeof(uint64_t));
	ref.t2_seq = ref_zalloc(ref.nblocks * sizeof(uint64_t));
}

void ref_init_vague(const uint64_t *bases, int n, uint64_t npages, bool nx)
{
	ref_free();
	ref.nx = nx;
	ref.nwin = n;
	for (int w = 0; w < n; w++) {
		ref.win[w].base = bases[w];
		ref.win[w].npages = npages;
		ref.win[w].leaf = ref_zalloc(npages);
	}
}

void ref_violation(const char *fmt, ...)
{
	va_list ap;

	if (ref.mismatches++ >= 10 && !ref.fatal)
		return;
	fprintf(stderr, "%s: ", ref.where ? ref.where : "ref_model");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ref.fatal) {
		fflush(stderr);
		abort();
	}
}

static const struct {
	int err;
	unsigned bit;
	const char *name;
} errs[] = {
	{ 0, REF_E_OK, "0" },
	{ -EINVAL, REF_E_EINVAL, "-EINVAL" },
	{ -ERANGE, REF_E_ERANGE, "-ERANGE" },
	{ -EEXIST, REF_E_EEXIST, "-EEXIST" },
	{ -ENOENT, REF_E_ENOENT, "-ENOENT" },
	{ -EFAULT, REF_E_EFAULT, "-EFAULT" },
	{ -ENOSPC, REF_E_ENOSPC, "-ENOSPC" },
	{ -ENOMEM, REF_E_ENOMEM, "-ENOMEM" },
	{ -EBUSY, REF_E_EBUSY, "-EBUSY" },
	{ -EROFS, REF_E_EROFS, "-EROFS" },
	{ -EOVERFLOW, REF_E_EOVERFLOW, "-EOVERFLOW" },
	{ -ENODEV, REF_E_ENODEV, "-ENODEV" },
};

unsigned ref_err_bit(int r)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].err == r)
			return errs[i].bit;
	return 0;
}

int ref_errno(unsigned mask)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (mask == errs[i].bit)
			return errs[i].err;
	return 0;
}

const char *ref_err_str(unsigned mask)
{
	static char buf[160];
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (mask & errs[i].bit)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "",
					      errs[i].name);
	return buf;
}

/* --- queries -------------------------------------------------------------- */

uint8_t *ref_entry(uint64_t g)
{
	for (int w = 0; w < ref.nwin; w++)
		if (g - ref.win[w].base < ref.win[w].npages)
			return &ref.win[w].leaf[g - ref.win[w].base];
	return NULL;
}

static bool slot_has(const struct ref_slot *s, uint64_t g)
{
	return s->used && g >= s->d.base_gfn && g - s->d.base_gfn < s->d.npages;
}

struct ref_slot *ref_slot_of(uint64_t g)
{
	static int last; /* slots never overlap: the last hit is the answer if it holds g */

	if (last < ref.nslot && slot_has(&ref.slot[last], g))
		return &ref.slot[last];
	for (int i = 0; i < ref.nslot; i++) {
		if (slot_has(&ref.slot[i], g)) {
			last = i;
			return &ref.slot[i];
		}
	}
	return NULL;
}

struct ref_slot *ref_slot_by_id(uint32_t id)
{
	for (int i = 0; i < ref.nslot; i++)
		if (ref.slot[i].used && ref.slot[i].d.id == id)
			return &ref.slot[i];
	return NULL;
}

int ref_nr_slots(void)
{
	int n = 0;

	for (int i = 0; i < ref.nslot; i++)
		n += ref.slot[i].used;
	return n;
}

bool ref_overlaps_other(const struct ref_slot *self, uint64_t base, uint64_t npages)
{
	for (int i = 0; i < ref.nslot; i++) {
		const struct ref_slot *s = &ref.slot[i];

		if (s->used && s != self && base < s->d.base_gfn + s->d.npages &&
		    s->d.base_gfn < base + npages)
			return true;
	}
	return false;
}

bool ref_in_ro(uint64_t g)
{
	struct ref_slot *s = ref_slot_of(g);

	return s && (s->d.flags & TDPMMU_MEMSLOT_READONLY);
}

bool ref_logging(uint64_t g)
{
	struct ref_slot *s = ref_slot_of(g);

	return s && s->log;
}

bool ref_bit(const struct ref_slot *s, uint64_t g)
{
	uint64_t i = g - s->d.base_gfn;

	return s->bits && (s->bits[i / 64] >> (i % 64)) & 1;
}

void ref_mark(uint64_t g)
{
	struct ref_slot *s = ref_slot_of(g);
	uint64_t i;

	if (!s || !s->bits)
		return;
	i = g - s->d.base_gfn;
	s->bits[i / 64] |= 1ull << (i % 64);
}

bool ref_bits_all_set(const struct ref_slot *s, uint64_t start, uint64_t end)
{
	uint64_t base = s->d.base_gfn, i = (start > base ? start : base) - base,
		 e = (end < base + s->d.npages ? end : base + s->d.npages) - base;

	if (!s->bits)
		return i >= e;
	while (i < e) {
		if (i % 64 == 0 && e - i >= 64) {
			if (s->bits[i / 64] != ~0ull)
				return false;
			i += 64;
		} else {
			if (!((s->bits[i / 64] >> (i % 64)) & 1))
				return false;
			i++;
		}
	}
	return true;
}

int ref_popcount(const uint64_t *w, uint64_t n)
{
	int c = 0;

	for (uint64_t i = 0; i < n; i++)
		if (w[i])
			c += __builtin_popcountll(w[i]);
	return c;
}

static struct ref_tracked *tracked_of(uint64_t g)
{
	for (int i = 0; i < ref.ntracked; i++)
		if (ref.tracked[i].gfn == g)
			return &ref.tracked[i];
	return NULL;
}

uint32_t ref_tracked(uint64_t g)
{
	struct ref_tracked *t = tracked_of(g);

	return t ? t->count : 0;
}

bool ref_tracked_in(uint64_t start, uint64_t end)
{
	for (int i = 0; i < ref.ntracked; i++)
		if (ref.tracked[i].gfn >= start && ref.tracked[i].gfn < end)
			return true;
	return false;
}

bool ref_inval_covers(uint64_t g)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < ref.ninval; i++) {
		if (ref.inval[i].start < lo)
			lo = ref.inval[i].start;
		if (ref.inval[i].end > hi)
			hi = ref.inval[i].end;
	}
	return ref.ninval && g >= lo && g < hi;
}

/* The largest page the backing allows whose aligned block lies in the slot. */
int ref_host_level(uint64_t g)
{
	struct ref_slot *s = ref_slot_of(g);
	int l;

	if (!s)
		return 0;
	switch (s->d.backing) {
	case TDPMMU_BACKING_HUGETLB_1G:
		l = 3;
		break;
	case TDPMMU_BACKING_HUGETLB_2M:
	case TDPMMU_BACKING_SHARED_HUGETLB:
	case TDPMMU_BACKING_THP:
		l = 2;
		break;
	default:
		l = 1;
		break;
	}
	for (; l > 1; l--) {
		uint64_t b = ref_align_down(g, l);

		if (b >= s->d.base_gfn && b + ref_pages_at(l) <= s->d.base_gfn + s->d.npages)
			break;
	}
	return l;
}

int ref_max_level(uint64_t g)
{
	int l = ref_host_level(g);

	if (l && ref_logging(g))
		return 1;
	if (l == 3 && ref_tracked_in(ref_align_down(g, 3), ref_align_down(g, 3) + REF_GB))
		l = 2;
	if (l == 2 && ref_tracked_in(ref_align_down(g, 2), ref_align_down(g, 2) + REF_MB2))
		l = 1;
	return l;
}

/* --- operations: state errors --------------------------------------------- */

unsigned ref_slot_add_errors(const struct tdpmmu_memslot *d)
{
	unsigned e = 0;

	if (ref_slot_by_id(d->id) || ref_overlaps_other(NULL, d->base_gfn, d->npages))
		e |= REF_E_EEXIST;
	if (ref_nr_slots() >= TDPMMU_MAX_MEMSLOTS)
		e |= REF_E_ENOSPC;
	return e;
}

unsigned ref_slot_move_errors(const struct ref_slot *s, uint64_t nb)
{
	unsigned e = 0;

	if (ref_overlaps_other(s, nb, s->d.npages))
		e |= REF_E_EEXIST;
	/* Frames of a remapped slot may not fit the new offset within 2 MiB. */
	if (s->remapped && ((nb ^ s->d.base_gfn) & (REF_MB2 - 1)))
		e |= REF_E_EINVAL;
	return e;
}

unsigned ref_fault_errors(uint64_t g, unsigned access)
{
	struct ref_slot *s = ref_slot_of(g);

	if (!s)
		return REF_E_ENOENT;
	if ((access & TDPMMU_ACCESS_WRITE) && (s->d.flags & TDPMMU_MEMSLOT_READONLY))
		return REF_E_EFAULT;
	return 0;
}

unsigned ref_track_errors(uint64_t g, bool add)
{
	if (!ref_slot_of(g))
		return REF_E_ENOENT;
	return !add && !tracked_of(g) ? REF_E_EINVAL : 0;
}

unsigned ref_log_enable_errors(const struct ref_slot *s)
{
	if (!s)
		return REF_E_ENOENT;
	if (s->d.flags & TDPMMU_MEMSLOT_READONLY)
		return REF_E_EROFS;
	return s->log ? REF_E_EBUSY : 0;
}

unsigned ref_log_get_errors(const struct ref_slot *s)
{
	if (!s)
		return REF_E_ENOENT;
	return s->log ? 0 : REF_E_EINVAL;
}

unsigned ref_log_clear_errors(const struct ref_slot *s, uint64_t first, uint64_t mask)
{
	if (!s)
		return REF_E_ENOENT;
	if (!s->log || !(s->log & TDPMMU_DIRTY_LOG_MANUAL_PROTECT) || first >= s->d.npages ||
	    (s->d.npages - first < 64 && (mask >> (s->d.npages - first))))
		return REF_E_EINVAL;
	return 0;
}

unsigned ref_log_disable_errors(const struct ref_slot *s)
{
	return ref_log_get_errors(s);
}

unsigned ref_recover_errors(const struct ref_slot *s)
{
	if (!s)
		return REF_E_ENOENT;
	return s->log ? REF_E_EINVAL : 0;
}

unsigned ref_inval_begin_errors(void)
{
	return ref.ninval == REF_MAX_INVAL ? REF_E_EBUSY : 0;
}

int ref_inval_find(uint64_t start, uint64_t end)
{
	for (int i = 0; i < ref.ninval; i++)
		if (ref.inval[i].start == start && ref.inval[i].end == end)
			return i;
	return -1;
}

/*
 * The gfns whose frames a remap changes are its 2 MiB blocks clipped to the
 * slots: an invalidation in progress must cover them (-EBUSY), no slot may
 * be hugetlb (-EINVAL), some slot must be there (-ENOENT).
 */
unsigned ref_remap_errors(uint64_t start, uint64_t end)
{
	uint64_t lo = start, hi = end;
	bool covered = false, any = false, huge = false;
	unsigned e = 0;

	for (int i = 0; i < ref.nslot; i++) {
		const struct ref_slot *s = &ref.slot[i];
		uint64_t se = s->d.base_gfn + s->d.npages, a = ref_align_down(start, 2), b;

		if (!s->used || !(start < se && s->d.base_gfn < end))
			continue;
		b = ref_align_down(end - 1, 2) + REF_MB2;
		a = a > s->d.base_gfn ? a : s->d.base_gfn;
		b = b < se ? b : se;
		if (!any || a < lo)
			lo = a;
		if (!any || b > hi)
			hi = b;
		any = true;
		huge |= s->d.backing == TDPMMU_BACKING_HUGETLB_2M ||
			s->d.backing == TDPMMU_BACKING_HUGETLB_1G ||
			s->d.backing == TDPMMU_BACKING_SHARED_HUGETLB;
	}
	for (int i = 0; i < ref.ninval; i++)
		covered |= ref.inval[i].start <= lo && hi <= ref.inval[i].end;
	if (!covered)
		e |= REF_E_EBUSY;
	if (huge)
		e |= REF_E_EINVAL;
	if (!any)
		e |= REF_E_ENOENT;
	return e;
}

/* --- operations: effects -------------------------------------------------- */

struct ref_slot *ref_slot_add(const struct tdpmmu_memslot *d)
{
	for (int i = 0; i < REF_MAX_SLOTS; i++) {
		struct ref_slot *s = &ref.slot[i];

		if (s->used)
			continue;
		free(s->bits);
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->d = *d;
		if (i >= ref.nslot)
			ref.nslot = i + 1;
		return s;
	}
	return NULL;
}

/* Tracking belongs to the slot: a slot change forgets it in the old place. */
static void tracking_drop(uint64_t base, uint64_t npages)
{
	for (int i = 0; i < ref.ntracked;) {
		if (ref.tracked[i].gfn >= base && ref.tracked[i].gfn - base < npages)
			ref.tracked[i] = ref.tracked[--ref.ntracked];
		else
			i++;
	}
}

void ref_slot_delete(struct ref_slot *s)
{
	tracking_drop(s->d.base_gfn, s->d.npages);
	free(s->bits);
	memset(s, 0, sizeof(*s));
	ref_zap_all();
}

void ref_slot_move(struct ref_slot *s, uint64_t nb)
{
	tracking_drop(s->d.base_gfn, s->d.npages);
	s->d.base_gfn = nb;
	ref_zap_all();
}

void ref_track_add(uint64_t g)
{
	struct ref_tracked *t = tracked_of(g);

	if (!t) {
		if (ref.ntracked == REF_MAX_TRACKED) {
			fprintf(stderr, "ref_model: more than %d tracked gfns\n", REF_MAX_TRACKED);
			abort();
		}
		t = &ref.tracked[ref.ntracked++];
		t->gfn = g;
		t->count = 0;
	}
	t->count++;
	ref_write_protect(g);
}

void ref_track_remove(uint64_t g)
{
	struct ref_tracked *t = tracked_of(g);

	ref_touch(g, g + 1);
	if (t && !--t->count)
		*t = ref.tracked[--ref.ntracked];
}

void ref_inval_begin(uint64_t start, uint64_t end)
{
	ref.inval[ref.ninval].start = start;
	ref.inval[ref.ninval++].end = end;
	ref_zap(start, end);
}

void ref_inval_end(int i)
{
	ref.inval[i] = ref.inval[--ref.ninval];
}

void ref_remap(uint64_t start, uint64_t end)
{
	for (int i = 0; i < ref.nslot; i++) {
		struct ref_slot *s = &ref.slot[i];

		if (s->used && start < s->d.base_gfn + s->d.npages && s->d.base_gfn < end)
			s->remapped = true;
	}
}
