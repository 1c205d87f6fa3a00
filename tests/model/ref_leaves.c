/*
 * ref_leaves.c - the reference model's leaves (ref_model.h): what each
 * operation does to the leaves that map the gfns, exactly or vaguely.
 *
 * The rules each operation applies, as the library documents them:
 *   fault       read / write / execute, not-present or permission
 *               (TDPMMU_ACCESS_PRESENT), a level cap: a permission fault on
 *               a leaf within the cap that already allows the access changes
 *               nothing (fast path, spurious); a write on an MMU-writable
 *               leaf sets W, D, A there (fast path) and marks the page if
 *               its slot logs; otherwise (slow path) the goal is the host's
 *               level (4K while the slot logs, no huge leaf over a tracked
 *               gfn) under the cap; with NX on, an execute fault whose goal
 *               is huge maps 4K and its new tables are NX-disallowed (listed
 *               when a huge page was allowed at their entry), and an entry at
 *               the goal that links an NX-disallowed table lowers the goal by
 *               one.  Walking down, a missing table is created, a huge leaf
 *               in the way is split (children keep every bit; 4K children
 *               become executable under NX), a table at the goal level is
 *               replaced by the leaf.  A logging write marks the page first.
 *               If a leaf at the goal level already maps the gfn and allows
 *               the access (a read needs only presence), the fault is
 *               spurious and changes nothing, A/D included.  Else the leaf:
 *               Accessed, MMU-writable if the slot is writable, W too unless
 *               the slot logs and the access is not a write, Dirty on a
 *               write, executable unless huge under NX; and the same leaf's
 *               W, MMU-writable, X, A and D are kept (a leaf that would come
 *               out unchanged is spurious too).  On a tracked gfn the leaf
 *               has no W, MMU-writable or new Dirty and a write answers
 *               TDPMMU_FAULT_EMULATE.  A write to a read-only slot is
 *               -EFAULT and changes nothing.
 *   zap_range   every leaf overlapping the range goes whole; tables stay.
 *   zap_all, zap_all_fast, memslot delete / move   everything goes, tables
 *               and the NX list too (a slot change also forgets the tracking
 *               of the old place).
 *   write_protect_gfn, write_track_add   W and MMU-writable cleared on the
 *               leaf; 1 iff it had either.  Adds nest.
 *   clear_young, clear_flush_young, test_young   Accessed cleared on (or
 *               tested in) every leaf overlapping; the young leaves.
 *   recover_huge_pages (ZAP, INPLACE)   for each table at a 1G, then 2M
 *               entry of the slot whose range the host could map whole (no
 *               tracked gfn, not under a table collapsed first): ZAP unmaps
 *               it, INPLACE maps it with one leaf whose W / MMU-writable / X
 *               are the AND of the leaves below (X never huge under NX) and
 *               whose A/D are the first leaf's, skipping empty tables.  Both
 *               return the tables they removed.
 *   dirty_log_enable   the bitmap starts empty, EAGER_SPLIT splits every
 *               huge leaf of the slot to 4K (new tables not NX-disallowed),
 *               then every leaf loses W at 4K, W and MMU-writable when huge;
 *               returns the leaves that lost something.  With INITIALLY_SET
 *               the bitmap starts all set and nothing else changes: 0.
 *   dirty_log_get      returns the bitmap's popcount; without MANUAL_PROTECT
 *               clears it and re-protects the pages that were set.
 *   dirty_log_clear    clears mask & word; with INITIALLY_SET and
 *               EAGER_SPLIT the huge leaves over its lowest to highest
 *               cleared page split first (a 1G leaf into 2M leaves, those
 *               over the range into 4K), then those pages are re-protected;
 *               returns the bits cleared.
 *   dirty_log_disable  the bitmap goes, then recovery as above (NONE: 0).
 *   nx_recover  pops ceil(listed / ratio) of the oldest listed tables and
 *               zaps those whose slot does not log (a popped table that
 *               stays is no longer NX-disallowed); the tables zapped.
 *   invalidate_begin   zaps the range (and faults there retry until the
 *               matching invalidate_end); host_remap needs one covering it.
 *
 * Single-threaded, one model per process (ref_model.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/ref_internal.h"
#include "model/ref_model.h"

/* --- the exact leaves ----------------------------------------------------- */

void ref_touch(uint64_t start, uint64_t end)
{
	if (!ref.exact)
		return;
	if (end > ref.space)
		end = ref.space;
	if (start < end)
		memset(&ref.block_touched[start / REF_MB2], 1,
		       (end - 1) / REF_MB2 - start / REF_MB2 + 1);
}

/* The whole @level block around @g becomes @value (a leaf of that block's size, or 0). */
static void model_set(uint64_t g, int level, uint8_t value)
{
	uint64_t b = ref_align_down(g, level), n = ref_pages_at(level);

	/* The leaves in the block are whole (never larger than the block). */
	for (uint64_t x = b; x < b + n;) {
		int l;

		if (!ref.block_used[x / REF_MB2]) {
			x = ref_align_down(x, 2) + REF_MB2;
			continue;
		}
		l = ref_lvl(x);
		if (!l) {
			x++;
			continue;
		}
		ref.nleaves[l]--;
		x = ref_align_down(x, l) + ref_pages_at(l);
	}
	memset(&ref.leaf[b], value, n);
	if (value) {
		memset(&ref.block_used[b / REF_MB2], 1, (n + REF_MB2 - 1) / REF_MB2);
		/* A split fills the block with smaller leaves. */
		ref.nleaves[value & REF_LEVEL] += (int64_t)(n / ref_pages_at(value & REF_LEVEL));
	}
	ref_touch(b, b + n);
}

static uint8_t with_level(uint8_t v, int level)
{
	return (uint8_t)((v & ~REF_LEVEL) | (unsigned)level);
}

/* Change the bits of the leaf mapping @g (all of its gfns). */
static void leaf_bits(uint64_t g, unsigned set, unsigned clear)
{
	model_set(g, ref_lvl(g), (uint8_t)((ref.leaf[g] | set) & ~clear));
}

uint64_t ref_next_leaf(uint64_t g, uint64_t end)
{
	while (g < end) {
		if (!ref.block_used[g / REF_MB2]) {
			g = ref_align_down(g, 2) + REF_MB2;
			continue;
		}
		if (ref_lvl(g))
			return g;
		g++;
	}
	return end;
}

static void table_untrack(uint8_t *t)
{
	if (*t & REF_T_LISTED)
		ref.nx_listed--;
	*t = 0;
}

static void table_new(uint8_t *t, uint64_t *seq, bool nx, bool list)
{
	*t = (uint8_t)(REF_T_ON | (nx ? REF_T_NX : 0));
	if (nx && list) {
		*t |= REF_T_LISTED;
		*seq = ref.next_seq++;
		ref.nx_listed++;
	}
}

/* Remove the table under @g's entry at @level and everything below it. */
static void table_remove(uint64_t g, int level)
{
	uint64_t b0 = ref_align_down(g, 3) / REF_MB2;

	if (level == 2) {
		table_untrack(&ref.t2[g / REF_MB2]);
		return;
	}
	table_untrack(&ref.t1[g / REF_GB]);
	for (uint64_t b = b0; b < b0 + REF_GB / REF_MB2 && b < ref.nblocks; b++)
		table_untrack(&ref.t2[b]);
}

static uint8_t *table_at(uint64_t g, int level)
{
	return level == 3 ? &ref.t1[g / REF_GB] : &ref.t2[g / REF_MB2];
}

/* Split the @level leaf mapping @g: children keep every bit, and 4K children
 * are executable under NX.  The new table is the caller's. */
static void split_leaf(uint64_t g, int level)
{
	uint8_t v = with_level(ref.leaf[g], level - 1);

	if (ref.nx && level - 1 == 1)
		v |= REF_X;
	model_set(g, level, v);
}

/* --- vague leaves --------------------------------------------------------- */

static unsigned vclass(uint8_t v)
{
	return v == 0 ? 1u : v == REF_UNKNOWN ? 2u : 4u;
}

#define V_ABSENT 1u
#define V_UNKNOWN 2u
#define V_PRESENT 4u
#define V_ANY 7u

/* Every gfn of [start, end) in a window whose class is in @from becomes @to. */
static void vague_update(uint64_t start, uint64_t end, unsigned from, uint8_t to)
{
	for (int w = 0; w < ref.nwin; w++) {
		uint64_t base = ref.win[w].base, wend = base + ref.win[w].npages;
		uint64_t lo = start > base ? start : base, hi = end < wend ? end : wend;

		for (uint64_t g = lo; g < hi; g++) {
			uint8_t *v = &ref.win[w].leaf[g - base];

			if (from & vclass(*v))
				*v = to;
		}
	}
}

/* --- operations ----------------------------------------------------------- */

static bool access_allowed(uint8_t v, unsigned access)
{
	if ((access & TDPMMU_ACCESS_WRITE) && !(v & REF_W))
		return false;
	return !(access & TDPMMU_ACCESS_EXEC) || (v & REF_X);
}

/*
 * The slow path's leaf at @level for @g.  The page is marked first (the
 * fault marks before it maps, whatever the map then does).  A leaf already
 * at @level (the same frame: no remaps in an exact model) that allows the
 * access makes the fault spurious and stays exactly as it is; otherwise the
 * new leaf keeps the old one's W, MMU-writable, X, A and D.
 */
static int map_leaf(uint64_t g, int level, unsigned access)
{
	bool write = access & TDPMMU_ACCESS_WRITE, tracked = ref_tracked(g) != 0;
	bool writable = !ref_in_ro(g) && !tracked, same = ref_lvl(g) == level;
	uint8_t v = (uint8_t)(level | REF_A);

	ref.emulate = write && tracked;
	if (writable && (!ref_logging(g) || write))
		ref_mark(g); /* before the writable leaf may exist (no-op unless logging) */
	if (same && access_allowed(ref.leaf[g], access)) {
		ref.spurious = true;
		ref.slow_spurious++;
		ref_touch(g, g + 1);
		return level;
	}
	if (writable) {
		v |= REF_MW;
		if (!ref_logging(g) || write)
			v |= REF_W;
	}
	if (write && !tracked)
		v |= REF_D;
	if (level == 1 || !ref.nx)
		v |= REF_X;
	if (same)
		v |= ref.leaf[g] & (REF_W | REF_MW | REF_X | REF_A | REF_D);
	if (same && v == ref.leaf[g]) {
		/* Nothing to change (a write to a tracked gfn): spurious too. */
		ref.spurious = true;
		return level;
	}
	model_set(g, level, v);
	return level;
}

static int fault_exact(uint64_t g, unsigned access, bool present, int cap)
{
	int maxl = ref_max_level(g), req = cap && cap < maxl ? cap : maxl, goal = req,
	    l = ref_lvl(g);
	bool write = access & TDPMMU_ACCESS_WRITE, hd;
	uint64_t g1 = g / REF_GB, b = g / REF_MB2;
	unsigned e = ref_fault_errors(g, access);

	ref.emulate = ref.spurious = false;
	ref_touch(g, g + 1);
	if (e)
		return ref_errno(e);
	if (present && l && (!cap || l <= cap)) {
		ref.spurious = true; /* the fast path answers "spurious" when it fixes, too */
		if (access_allowed(ref.leaf[g], access))
			return l;
		if (write && (ref.leaf[g] & REF_MW)) {
			leaf_bits(g, REF_W | REF_D | REF_A, 0); /* fast path */
			ref_mark(g);
			return l;
		}
		ref.spurious = false;
	}
	hd = ref.nx && (access & TDPMMU_ACCESS_EXEC) && goal > 1;
	if (hd)
		goal = 1;
	/* The 1G entry. */
	if (ref.nx && goal == 3 && (ref.t1[g1] & REF_T_NX))
		goal = 2;
	if (goal == 3) {
		table_remove(g, 3);
		return map_leaf(g, 3, access);
	}
	if (!ref.t1[g1]) {
		table_new(&ref.t1[g1], &ref.t1_seq[g1], hd, hd && req >= 3);
		if (l == 3)
			split_leaf(g, 3);
	}
	/* The 2M entry. */
	if (ref.nx && goal == 2 && (ref.t2[b] & REF_T_NX))
		goal = 1;
	if (goal == 2) {
		table_remove(g, 2);
		return map_leaf(g, 2, access);
	}
	if (!ref.t2[b]) {
		table_new(&ref.t2[b], &ref.t2_seq[b], hd, hd && req >= 2);
		if (ref_lvl(g) == 2)
			split_leaf(g, 2);
	}
	return map_leaf(g, 1, access);
}

int ref_fault(uint64_t g, unsigned access, bool present, int cap, int seen)
{
	uint8_t *v;

	if (ref.exact)
		return fault_exact(g, access, present, cap);
	/* A write that succeeded (not emulated: the gfn is not tracked) marks the page. */
	if ((access & TDPMMU_ACCESS_WRITE) && !ref_tracked(g) && !ref_in_ro(g))
		ref_mark(g);
	if (seen) {
		uint64_t b = ref_align_down(g, seen);

		/* Its neighbours in the leaf may be mapped now. */
		vague_update(b, b + ref_pages_at(seen), V_ABSENT, REF_UNKNOWN);
		v = ref_entry(g);
		if (v)
			*v = REF_PRESENT;
	}
	return seen;
}

int ref_zap(uint64_t start, uint64_t end)
{
	int n = 0;

	if (!ref.exact) {
		/* Leaves go whole, so a huge one may take neighbours along. */
		uint64_t lo = ref_align_down(start, 3), hi = ref_align_down(end - 1, 3) + REF_GB;

		vague_update(lo, hi, V_PRESENT, REF_UNKNOWN);
		vague_update(start, end, V_ANY, 0);
		return -1;
	}
	ref_touch(start, end);
	for (uint64_t g = start; g < end && g < ref.space; g++) {
		if (ref_lvl(g)) {
			model_set(g, ref_lvl(g), 0);
			n++;
		}
	}
	return n;
}

int ref_zap_all(void)
{
	int any;

	if (!ref.exact) {
		vague_update(0, UINT64_MAX, V_ANY, 0);
		return -1;
	}
	any = ref_next_leaf(0, ref.space) < ref.space;
	memset(ref.leaf, 0, ref.space);
	memset(ref.block_used, 0, ref.nblocks);
	memset(ref.nleaves, 0, sizeof(ref.nleaves));
	memset(ref.t1, 0, ref.ng1);
	memset(ref.t2, 0, ref.nblocks);
	ref.nx_listed = 0;
	ref_touch(0, ref.space);
	return any;
}

int ref_write_protect(uint64_t g)
{
	if (!ref.exact)
		return -1;
	ref_touch(g, g + 1);
	if (g >= ref.space || !ref_lvl(g) || !(ref.leaf[g] & (REF_W | REF_MW)))
		return 0;
	leaf_bits(g, 0, REF_W | REF_MW);
	return 1;
}

int ref_age(uint64_t start, uint64_t end, bool test_only)
{
	int young = 0;

	if (!ref.exact)
		return -1;
	ref_touch(start, end);
	for (uint64_t g = start; g < end && g < ref.space;) {
		int l = ref_lvl(g);

		if (!l) {
			g++;
			continue;
		}
		if (ref.leaf[g] & REF_A) {
			young++;
			if (!test_only)
				leaf_bits(g, 0, REF_A);
		}
		g = ref_align_down(g, l) + ref_pages_at(l);
	}
	return young;
}

/* Tables at @level entries in [start, end) the host could map whole. */
static int recover_level(uint64_t start, uint64_t end, int level, bool inplace)
{
	int done = 0;

	for (uint64_t b = ref_align_down(start, level); b < end && b < ref.space;
	     b += ref_pages_at(level)) {
		uint8_t first = 0, and_bits = REF_W | REF_MW | REF_X;
		uint64_t n = ref_pages_at(level);

		if (!*table_at(b, level) || ref_host_level(b) < level || ref_logging(b) ||
		    b + n > ref.space || ref_tracked_in(b, b + n))
			continue;
		for (uint64_t g = ref_next_leaf(b, b + n); g < b + n;) {
			int l = ref_lvl(g);

			if (!first)
				first = ref.leaf[g];
			and_bits &= ref.leaf[g];
			g = ref_next_leaf(ref_align_down(g, l) + ref_pages_at(l), b + n);
		}
		if (inplace && !first)
			continue; /* an empty table stays for the next fault */
		table_remove(b, level);
		if (!inplace) {
			model_set(b, level, 0);
		} else {
			if (ref.nx)
				and_bits &= ~REF_X;
			model_set(b, level,
				  (uint8_t)(level | (first & (REF_A | REF_D)) | and_bits));
		}
		done++;
	}
	return done;
}

int ref_recover(const struct ref_slot *s, enum tdpmmu_huge_recovery how)
{
	uint64_t start = s->d.base_gfn, end = start + s->d.npages;

	if (!ref.exact) {
		if (how == TDPMMU_RECOVER_ZAP)
			vague_update(start, end, V_PRESENT, REF_UNKNOWN);
		else if (how == TDPMMU_RECOVER_INPLACE)
			vague_update(start, end, V_ABSENT, REF_UNKNOWN);
		return how == TDPMMU_RECOVER_NONE ? 0 : -1;
	}
	if (how == TDPMMU_RECOVER_NONE)
		return 0;
	/* Pre-order: a collapsible 1G table goes first and takes its 2M tables along. */
	return recover_level(start, end, 3, how == TDPMMU_RECOVER_INPLACE) +
	       recover_level(start, end, 2, how == TDPMMU_RECOVER_INPLACE);
}

/* Write protection for logging: W at 4K, W and MMU-writable above. */
static bool log_wrprot_leaf(uint64_t g)
{
	unsigned bits = ref_lvl(g) == 1 ? REF_W : REF_W | REF_MW;

	if (!(ref.leaf[g] & bits))
		return false;
	leaf_bits(g, 0, bits);
	return true;
}

/*
 * Eager splitting of [start, end): the pre-order walk with min level 2M.  A
 * 1G leaf it meets becomes 512 2M leaves (all of them), and each 2M leaf
 * over the range becomes 512 4K leaves; the new tables are not
 * NX-disallowed.
 */
static int split_range(uint64_t start, uint64_t end)
{
	int n = 0;

	for (uint64_t g = ref_next_leaf(start, end), next; g < end; g = ref_next_leaf(next, end)) {
		int l = ref_lvl(g);

		next = ref_align_down(g, l) + ref_pages_at(l);
		if (l == 3) {
			split_leaf(g, 3);
			table_new(&ref.t1[g / REF_GB], &ref.t1_seq[g / REF_GB], false, false);
			n++;
		}
		for (uint64_t c = ref_align_down(g, 2); l >= 2 && c < next && c < end;
		     c += REF_MB2) {
			split_leaf(c, 2);
			table_new(&ref.t2[c / REF_MB2], &ref.t2_seq[c / REF_MB2], false, false);
			n++;
		}
	}
	return n;
}

int ref_log_enable(struct ref_slot *s, unsigned flags)
{
	uint64_t base = s->d.base_gfn, end = base + s->d.npages;
	int n = 0;

	s->log = REF_LOG_ON | flags;
	free(s->bits);
	s->bits = ref_zalloc(ref_slot_words(s) * sizeof(uint64_t));
	ref_touch(base, end);
	if (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) {
		/* Every page reported already: no split, no protection. */
		for (uint64_t i = 0; i < s->d.npages; i++)
			s->bits[i / 64] |= 1ull << (i % 64);
		return 0;
	}
	if (!ref.exact)
		return -1;
	if (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT)
		split_range(base, end);
	for (uint64_t g = ref_next_leaf(base, end); g < end;
	     g = ref_next_leaf(g + ref_pages_at(ref_lvl(g)), end))
		n += log_wrprot_leaf(g);
	return n;
}

/* Re-protect the pages of @mask at slot page @first (a harvest). */
static void reprotect(const struct ref_slot *s, uint64_t first, uint64_t mask)
{
	if (!ref.exact)
		return;
	for (; mask; mask &= mask - 1) {
		uint64_t g = s->d.base_gfn + first + (uint64_t)__builtin_ctzll(mask);

		ref_touch(g, g + 1); /* its leaf's invariant is checked again */
		if (ref_lvl(g))
			log_wrprot_leaf(g);
	}
}

int ref_log_get(struct ref_slot *s, uint64_t *out)
{
	uint64_t words = ref_slot_words(s);
	int n = ref_popcount(s->bits, words);

	if (out)
		memcpy(out, s->bits, words * sizeof(uint64_t));
	if (s->log & TDPMMU_DIRTY_LOG_MANUAL_PROTECT)
		return n;
	for (uint64_t w = 0; w < words; w++) {
		uint64_t was = s->bits[w];

		s->bits[w] = 0;
		reprotect(s, w * 64, was);
	}
	return n;
}

int ref_log_clear(struct ref_slot *s, uint64_t first, uint64_t mask)
{
	const unsigned both = TDPMMU_DIRTY_LOG_INITIALLY_SET | TDPMMU_DIRTY_LOG_EAGER_SPLIT;
	uint64_t *word = &s->bits[first / 64], was = *word & mask, g = s->d.base_gfn + first;

	*word &= ~mask;
	if (!was)
		return 0;
	if (ref.exact && (s->log & both) == both)
		ref.clear_splits += (uint64_t)split_range(g + (uint64_t)__builtin_ctzll(was),
							  g + 64 - (uint64_t)__builtin_clzll(was));
	reprotect(s, first, was);
	return __builtin_popcountll(was);
}

int ref_log_disable(struct ref_slot *s, enum tdpmmu_huge_recovery how)
{
	free(s->bits);
	s->bits = NULL;
	s->log = 0;
	return ref_recover(s, how);
}

/* The oldest listed table: its first gfn and level (0: none). */
static int oldest_listed(uint64_t *gfn)
{
	uint64_t best = UINT64_MAX;
	int level = 0;

	for (uint64_t g = 0; g < ref.ng1; g++)
		if ((ref.t1[g] & REF_T_LISTED) && ref.t1_seq[g] < best) {
			best = ref.t1_seq[g];
			*gfn = g * REF_GB;
			level = 3;
		}
	for (uint64_t b = 0; b < ref.nblocks; b++)
		if ((ref.t2[b] & REF_T_LISTED) && ref.t2_seq[b] < best) {
			best = ref.t2_seq[b];
			*gfn = b * REF_MB2;
			level = 2;
		}
	return level;
}

int ref_nx_recover(unsigned ratio, uint64_t *zapped, int max, int seen)
{
	uint64_t to_zap = (ref.nx_listed + ratio - 1) / ratio;
	int n = 0;

	if (!ref.exact) {
		if (seen)
			vague_update(0, UINT64_MAX, V_PRESENT, REF_UNKNOWN);
		return seen;
	}
	for (uint64_t i = 0; i < to_zap && ref.nx_listed; i++) {
		uint64_t gfn = 0;
		int level = oldest_listed(&gfn);

		/* Popped: unlisted and no longer NX-disallowed, zapped or not. */
		*table_at(gfn, level) = REF_T_ON;
		ref.nx_listed--;
		if (ref_logging(gfn))
			continue;
		table_remove(gfn, level);
		model_set(gfn, level, 0);
		if (n < max)
			zapped[n] = gfn;
		n++;
	}
	return n;
}

/* The bits i of a word at @lo whose page lo + i lies in [start, end). */
static uint64_t word_bits_in(uint64_t lo, uint64_t start, uint64_t end)
{
	uint64_t a, b;

	if (end <= lo || start >= lo + 64)
		return 0;
	a = start > lo ? start - lo : 0;
	b = end < lo + 64 ? end - lo : 64;
	return b - a == 64 ? ~0ull : ((1ull << (b - a)) - 1) << a;
}

int ref_cleared_level(int level, uint64_t g, uint64_t lo, uint64_t was, bool split)
{
	uint64_t range = word_bits_in(lo, lo + (uint64_t)__builtin_ctzll(was),
				      lo + 64 - (uint64_t)__builtin_clzll(was)),
		 n = ref_pages_at(level), blk = ref_align_down(g, 2);

	if (!split || level == 1 || !(word_bits_in(lo, g & ~(n - 1), (g & ~(n - 1)) + n) & range))
		return level;
	if (level == 3 && !(word_bits_in(lo, blk, blk + REF_MB2) & range))
		return 2;
	return 1;
}

tdpmmu_spte_t ref_cleared_bits(int before_level, tdpmmu_spte_t before, uint64_t g, int level,
			       uint64_t lo, uint64_t was)
{
	uint64_t n = ref_pages_at(level), start = ref_align_down(g, level);
	tdpmmu_spte_t bits = before & REF_SPTE_LEAF_BITS;

	if (level == 1 && before_level > 1 && ref.nx)
		bits |= TDPMMU_SPTE_X;
	if (word_bits_in(lo, start, start + n) & was)
		bits &= ~(level == 1 ? TDPMMU_SPTE_W : TDPMMU_SPTE_W | TDPMMU_SPTE_MMU_WRITABLE);
	return bits;
}
