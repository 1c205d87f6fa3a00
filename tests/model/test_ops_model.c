/*
 * test_ops_model.c - random single-threaded sequences over the public API,
 * checked after every operation against a flat reference model (the
 * approach of test_diff.c, extended with the leaf bits, the page tables,
 * the dirty bitmaps and the possible-NX list that the newer operations
 * change).
 *
 * The model keeps, for every gfn, the leaf that maps it: level (0 = none),
 * W, MMU-writable, Accessed, Dirty and eXecutable, stored in every gfn the
 * leaf covers; the leaf's frame is the host frame of the gfn (no remaps
 * here).  It also keeps the page tables below the 1G and 2M entries (which
 * exist, which are NX-disallowed, which are on the possible-NX list and in
 * what order), each slot's logging flags and its dirty bitmap.  Each
 * operation is applied to the MMU and to the model with the rules the
 * library documents:
 *   fault       read / write / execute, not-present or permission
 *               (TDPMMU_ACCESS_PRESENT), a random level cap: a permission
 *               fault on a leaf within the cap that already allows the
 *               access changes nothing (fast path, spurious); a write on a
 *               MMU-writable leaf sets W, D, A there (fast path) and marks
 *               the page if its slot logs; otherwise (slow path) the goal
 *               is the host's level (4K while the slot logs) under the
 *               cap; with NX on, an execute fault whose goal is huge maps
 *               4K and its new tables are NX-disallowed (listed when a huge
 *               page was allowed at their entry), and an entry at the goal
 *               that links an NX-disallowed table lowers the goal by one.
 *               Walking down, a missing table is created, a huge leaf in
 *               the way is split (children keep every bit; 4K children
 *               become executable under NX), a table at the goal level is
 *               replaced by the leaf.  A logging write marks the page
 *               first.  If a leaf at the goal level already maps the gfn
 *               and allows the access (a read needs only presence), the
 *               fault is spurious and changes nothing, A/D included.  Else
 *               the leaf: Accessed, MMU-writable if the slot is writable,
 *               W too unless the slot logs and the access is not a write,
 *               Dirty on a write, executable unless huge under NX; and
 *               the same leaf's W, MMU-writable, X, A and D are kept (a
 *               leaf that would come out unchanged is spurious too).  A
 *               write to the read-only slot is -EFAULT and changes
 *               nothing.
 *   zap_range   every leaf overlapping the range goes whole; tables stay.
 *   zap_all, zap_all_fast   everything goes, tables and the NX list too.
 *   write_protect_gfn       W and MMU-writable cleared on the leaf; 1 iff it
 *               had either.
 *   write_track_add / remove   -ENOENT outside the slots, -EINVAL to remove
 *               an untracked gfn; adds nest.  add protects the leaf like
 *               write_protect_gfn.  While a gfn is tracked, a fault maps
 *               no huge leaf over it (the goal is capped), its own leaf is
 *               mapped without W, MMU-writable and a new Dirty (a Dirty the
 *               same leaf had stays), a write to it
 *               answers TDPMMU_FAULT_EMULATE, and recovery skips the tables
 *               above it.
 *   clear_young, clear_flush_young, test_young   Accessed cleared on (or
 *               tested in) every leaf overlapping the range; the count
 *               returned is the number of young leaves.
 *   recover_huge_pages (ZAP, INPLACE)   -EINVAL on a logging slot; else for
 *               each table at a 1G, then 2M entry of the slot whose range
 *               the host could map whole (not under a table collapsed
 *               first): ZAP unmaps it (empty or not), INPLACE maps it with
 *               one leaf whose W / MMU-writable / X are the AND of the
 *               leaves below (X never on a huge leaf under NX) and whose
 *               A/D are the first (lowest gfn) leaf's, skipping tables with
 *               no leaf.  Both return exactly the tables they removed.
 *   dirty_log_enable   -EINVAL bad flags, -EROFS read-only, -EBUSY logging;
 *               else the bitmap starts empty, EAGER_SPLIT splits every
 *               huge leaf of the slot down to 4K (new tables not
 *               NX-disallowed), then every leaf loses W at 4K, W and
 *               MMU-writable when huge; returns the leaves that lost
 *               something.  With INITIALLY_SET the bitmap starts all set
 *               and nothing else changes (no split, no protection): 0.
 *   dirty_log_get      -EINVAL when not logging; copies the bitmap, returns
 *               its popcount; without MANUAL_PROTECT clears it and
 *               re-protects the pages that were set (as enable does).
 *   dirty_log_clear    MANUAL_PROTECT only (-EINVAL else, and for a bad
 *               first_page); clears mask & bitmap word (was_set); if any,
 *               with INITIALLY_SET and EAGER_SPLIT the huge leaves over
 *               the pages from its lowest to its highest bit split first
 *               (as at enable: a 1G leaf into all its 2M leaves, the 2M
 *               ones in the range into 4K), then those pages are
 *               re-protected (as enable does); returns their number.
 *   dirty_log_disable  -EINVAL when not logging; the bitmap goes, then
 *               recovery as above (NONE: 0).
 *   nx_recover  pops ceil(listed / ratio) of the oldest listed tables
 *               (ratio 0: the VM's) and zaps those whose slot does not log
 *               (a popped table that stays is no longer NX-disallowed);
 *               returns the tables zapped.
 *
 * Checks after every operation: each model leaf is looked up at its first
 * gfn (present, level, frame, W, MMU-writable, A, D, X must match); the
 * leaf counters (leaves_4k/2m/1g) and table counters (tables_l1/l2) equal
 * the model's counts, so the MMU's leaves are the model's; in each logging
 * slot a writable leaf is 4K, or huge with INITIALLY_SET, and every page it
 * maps is set in the model's bitmap; a fault's result (level, spurious)
 * is the model's; the bitmap of each MANUAL_PROTECT slot, read
 * with dirty_log_get (which does not clear there), equals the model's;
 * with NX on, no huge leaf is executable, tdpmmu_nx_listed equals the
 * model's list length and tdp_nx_audit is clean.  The counters are audited
 * against a full walk every --audit-every operations, with a gfn-by-gfn
 * comparison of every slot's gfns.
 *
 * Two runs: NX off, then NX on (no recovery thread: the test calls
 * tdpmmu_nx_recover itself), each of half the --ops operations.
 *
 *   test_ops_model [--ops N] [--seed S] [--audit-every N]
 */
#include <errno.h>
#include <string.h>

#include "lib/check.h"
#include "ops/nx_recovery.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_vm.h"

#define GB (1ull << 18) /* 4K pages in 1 GiB */
#define MB2 512ull

/* Guest layout: 1 GiB hugetlb-1g, 16 MiB THP at an odd offset, 8 MiB anon, 1
 * MiB read-only anon. */
#define HUGE_BASE 0ull
#define THP_BASE (GB + 100)
#define THP_PAGES (16 * 256ull)
#define ANON_BASE (2 * GB)
#define ANON_PAGES (8 * 256ull)
#define RO_BASE (ANON_BASE + ANON_PAGES + 1024)
#define RO_PAGES 256ull
#define SPACE (RO_BASE + RO_PAGES)
#define NBLOCKS ((SPACE + MB2 - 1) / MB2)
#define NG1 ((SPACE + GB - 1) / GB)

enum { SLOT_HUGE, SLOT_THP, SLOT_ANON, SLOT_RO, NR_SLOTS };

static const struct tdpmmu_memslot slots[NR_SLOTS] = {
	{ SLOT_HUGE, HUGE_BASE, GB, TDPMMU_BACKING_HUGETLB_1G, 0 },
	{ SLOT_THP, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
	{ SLOT_ANON, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
	{ SLOT_RO, RO_BASE, RO_PAGES, TDPMMU_BACKING_ANON, TDPMMU_MEMSLOT_READONLY },
};

/* Model entry: level in bits 0-1, then the leaf's bits. */
#define M_LEVEL 3u
#define M_W (1u << 2)
#define M_MW (1u << 3)
#define M_A (1u << 4)
#define M_D (1u << 5)
#define M_X (1u << 6)

static bool nx_on; /* this run has cfg.nx_huge_pages */
static uint8_t model[SPACE];
static uint8_t block_maybe_used[NBLOCKS]; /* some gfn of the 2M block may be mapped */
/* 2M blocks whose leaves the last operation changed or was about. */
static uint8_t block_touched[NBLOCKS];
static int64_t nleaves[4]; /* the model's leaves per level */

/* Tables below the 1G entries (t1) and the 2M entries (t2). */
#define T_ON 1u /* the table exists */
#define T_NX 2u /* NX-disallowed */
#define T_LISTED 4u /* on the possible-NX list */
static uint8_t t1[NG1], t2[NBLOCKS];
static uint64_t t1_seq[NG1], t2_seq[NBLOCKS], next_seq, nx_listed_model;

/* Dirty logging per slot: flags (LOG_ON | TDPMMU_DIRTY_LOG_*) and bitmap. */
#define LOG_ON (1u << 31)
static unsigned log_flags[NR_SLOTS];
static uint64_t *bitmap[NR_SLOTS], *bitmap_buf;

/* Write tracking: adds per gfn, tracked gfns per 2M block and per 1G. */
static uint16_t track[SPACE];
static uint32_t track_b[NBLOCKS], track_g[NG1];
static bool model_emulate; /* the last model_fault was a write to emulate */
static bool model_spurious; /* ... was answered spurious (fast path, or nothing to change) */
static uint64_t slow_spurious; /* slow-path faults on a leaf that allowed the access already */
static uint64_t clear_splits; /* huge leaves split by dirty_log_clear (INITIALLY_SET) */
static uint64_t emulate_count; /* faults that answered TDPMMU_FAULT_EMULATE */
/* The distinct tracked gfns; at most TRACK_MAX, so that huge pages stay possible. */
#define TRACK_MAX 8
static uint64_t tracked_gfns[TRACK_MAX];
static int ntracked;

static uint64_t slot_words(int s)
{
	return (slots[s].npages + 63) / 64;
}

static int lvl(uint64_t gfn)
{
	return model[gfn] & M_LEVEL;
}

static uint64_t pages_at(int level)
{
	return 1ull << (9 * (level - 1));
}

static uint64_t align_down(uint64_t gfn, int level)
{
	return gfn & ~(pages_at(level) - 1);
}

static bool in_ro(uint64_t gfn)
{
	return gfn >= RO_BASE && gfn < RO_BASE + RO_PAGES;
}

static int slot_of(uint64_t gfn)
{
	for (int s = 0; s < NR_SLOTS; s++)
		if (gfn >= slots[s].base_gfn && gfn < slots[s].base_gfn + slots[s].npages)
			return s;
	return -1;
}

static bool logging(uint64_t gfn)
{
	int s = slot_of(gfn);

	return s >= 0 && log_flags[s];
}

/* The level the host could map @gfn at (0: no slot), logging aside. */
static int host_level(uint64_t gfn)
{
	if (gfn < HUGE_BASE + GB)
		return 3;
	if (gfn >= THP_BASE && gfn < THP_BASE + THP_PAGES) {
		uint64_t b = gfn & ~(MB2 - 1);

		return b >= THP_BASE && b + MB2 <= THP_BASE + THP_PAGES ? 2 : 1;
	}
	if (gfn >= ANON_BASE && gfn < ANON_BASE + ANON_PAGES)
		return 1;
	if (in_ro(gfn))
		return 1;
	return 0;
}

/* What a fault may map: 4K while the slot logs, no huge leaf over a tracked gfn. */
static int model_max_level(uint64_t gfn)
{
	int l = host_level(gfn);

	if (l && logging(gfn))
		return 1;
	if (l == 3 && track_g[gfn / GB])
		l = 2;
	if (l == 2 && track_b[gfn / MB2])
		l = 1;
	return l;
}

/* Is a gfn in [b, b + pages_at(level)) tracked? */
static bool tracked_in(uint64_t b, int level)
{
	return level == 3 ? track_g[b / GB] : level == 2 ? track_b[b / MB2] : track[b];
}

static bool bit_set(uint64_t gfn)
{
	int s = slot_of(gfn);
	uint64_t i = gfn - slots[s].base_gfn;

	return (bitmap[s][i / 64] >> (i % 64)) & 1;
}

static void mark(uint64_t gfn)
{
	int s = slot_of(gfn);
	uint64_t i;

	if (s < 0 || !log_flags[s])
		return;
	i = gfn - slots[s].base_gfn;
	bitmap[s][i / 64] |= 1ull << (i % 64);
}

/* The whole @level block around @gfn becomes @value (a leaf of that block's
 * size, or 0). */
static void touch_range(uint64_t start, uint64_t end)
{
	if (end > SPACE)
		end = SPACE;
	if (start < end)
		memset(&block_touched[start / MB2], 1, (end - 1) / MB2 - start / MB2 + 1);
}

static void model_set(uint64_t gfn, int level, uint8_t value)
{
	uint64_t b = align_down(gfn, level), n = pages_at(level);

	/* The leaves in the block are whole (never larger than the block). */
	for (uint64_t g = b; g < b + n;) {
		int l;

		if (!block_maybe_used[g / MB2]) {
			g = align_down(g, 2) + MB2;
			continue;
		}
		l = lvl(g);
		if (!l) {
			g++;
			continue;
		}
		nleaves[l]--;
		g = align_down(g, l) + pages_at(l);
	}
	memset(&model[b], value, n);
	if (value) {
		memset(&block_maybe_used[b / MB2], 1, (n + MB2 - 1) / MB2);
		/* A split fills the block with smaller leaves. */
		nleaves[value & M_LEVEL] += (int64_t)(n / pages_at(value & M_LEVEL));
	}
	touch_range(b, b + n);
}

static uint8_t with_level(uint8_t v, int level)
{
	return (uint8_t)((v & ~M_LEVEL) | (unsigned)level);
}

/* Change the bits of the leaf mapping @gfn (all of its gfns). */
static void model_leaf_bits(uint64_t gfn, unsigned set, unsigned clear)
{
	int l = lvl(gfn);

	model_set(gfn, l, (uint8_t)((model[gfn] | set) & ~clear));
}

/* The first gfn >= *g and < end that some leaf maps, or @end. */
static uint64_t next_leaf(uint64_t g, uint64_t end)
{
	while (g < end) {
		if (!block_maybe_used[g / MB2]) {
			g = align_down(g, 2) + MB2;
			continue;
		}
		if (lvl(g))
			return g;
		g++;
	}
	return end;
}

/* --- tables and the possible-NX list -------------------------------------- */

static void table_untrack(uint8_t *t)
{
	if (*t & T_LISTED)
		nx_listed_model--;
	*t = 0;
}

static void table_new(uint8_t *t, uint64_t *seq, bool nx, bool list)
{
	*t = (uint8_t)(T_ON | (nx ? T_NX : 0));
	if (nx && list) {
		*t |= T_LISTED;
		*seq = next_seq++;
		nx_listed_model++;
	}
}

/* Remove the table under @gfn's entry at @level and everything below it. */
static void table_remove(uint64_t gfn, int level)
{
	if (level == 2) {
		table_untrack(&t2[gfn / MB2]);
		return;
	}
	table_untrack(&t1[gfn / GB]);
	for (uint64_t b = align_down(gfn, 3) / MB2;
	     b < (align_down(gfn, 3) + GB) / MB2 && b < NBLOCKS; b++)
		table_untrack(&t2[b]);
}

static uint8_t *table_at(uint64_t gfn, int level)
{
	return level == 3 ? &t1[gfn / GB] : &t2[gfn / MB2];
}

/* Split the @level leaf mapping @gfn: children keep every bit, and 4K
 * children are executable under NX.  The new table is the caller's. */
static void split_leaf(uint64_t gfn, int level)
{
	uint8_t v = with_level(model[gfn], level - 1);

	if (nx_on && level - 1 == 1)
		v |= M_X;
	model_set(gfn, level, v);
}

/* --- operations ------------------------------------------------------------
 */

static bool access_allowed(uint8_t v, unsigned access)
{
	if ((access & TDPMMU_ACCESS_WRITE) && !(v & M_W))
		return false;
	return !(access & TDPMMU_ACCESS_EXEC) || (v & M_X);
}

/*
 * The slow path's leaf at @level for @gfn.  The page is marked first (the
 * fault marks before it maps, whatever the map then does).  A leaf already
 * at @level (the same frame: no remaps here) that allows the access makes
 * the fault spurious and stays exactly as it is; otherwise the new leaf
 * keeps the old one's W, MMU-writable, X, A and D.
 */
static int map_leaf(uint64_t gfn, int level, unsigned access)
{
	bool write = access & TDPMMU_ACCESS_WRITE, writable = !in_ro(gfn) && !track[gfn];
	bool same = lvl(gfn) == level;
	uint8_t v = (uint8_t)(level | M_A);

	model_emulate = write && track[gfn];
	if (writable && (!logging(gfn) || write))
		mark(gfn); /* before the writable leaf may exist (no-op unless logging) */
	if (same && access_allowed(model[gfn], access)) {
		model_spurious = true;
		slow_spurious++;
		touch_range(gfn, gfn + 1);
		return level;
	}
	if (writable) {
		v |= M_MW;
		if (!logging(gfn) || write)
			v |= M_W;
	}
	if (write && !track[gfn])
		v |= M_D;
	if (level == 1 || !nx_on)
		v |= M_X;
	if (same)
		v |= model[gfn] & (M_W | M_MW | M_X | M_A | M_D);
	if (same && v == model[gfn]) {
		/* Nothing to change (a write to a tracked gfn): spurious too. */
		model_spurious = true;
		return level;
	}
	model_set(gfn, level, v);
	return level;
}

/*
 * A fault of kind @access (one of R/W/X) on @gfn with cap @cap (0 = none);
 * @present: a permission fault.  Returns the level mapping @gfn afterwards,
 * or -EFAULT.
 */
static int model_fault(uint64_t gfn, unsigned access, bool present, int cap)
{
	int maxl = model_max_level(gfn), req = cap && cap < maxl ? cap : maxl, goal = req,
	    l = lvl(gfn);
	bool write = access & TDPMMU_ACCESS_WRITE, hd;
	uint64_t g1 = gfn / GB, b = gfn / MB2;

	if (write && in_ro(gfn))
		return -EFAULT;
	if (present && l && (!cap || l <= cap)) {
		model_spurious = true; /* the fast path answers "spurious" when it fixes, too */
		if (access_allowed(model[gfn], access))
			return l; /* spurious */
		if (write && (model[gfn] & M_MW)) {
			model_leaf_bits(gfn, M_W | M_D | M_A, 0); /* fast path */
			mark(gfn);
			return l;
		}
		model_spurious = false;
	}
	hd = nx_on && (access & TDPMMU_ACCESS_EXEC) && goal > 1;
	if (hd)
		goal = 1;
	/* The 1G entry. */
	if (nx_on && goal == 3 && (t1[g1] & T_NX))
		goal = 2;
	if (goal == 3) {
		table_remove(gfn, 3);
		return map_leaf(gfn, 3, access);
	}
	if (!t1[g1]) {
		table_new(&t1[g1], &t1_seq[g1], hd, hd && req >= 3);
		if (l == 3)
			split_leaf(gfn, 3);
	}
	/* The 2M entry. */
	if (nx_on && goal == 2 && (t2[b] & T_NX))
		goal = 1;
	if (goal == 2) {
		table_remove(gfn, 2);
		return map_leaf(gfn, 2, access);
	}
	if (!t2[b]) {
		table_new(&t2[b], &t2_seq[b], hd, hd && req >= 2);
		if (lvl(gfn) == 2)
			split_leaf(gfn, 2);
	}
	return map_leaf(gfn, 1, access);
}

/* Returns the number of leaves zapped. */
static int model_zap(uint64_t start, uint64_t end)
{
	int n = 0;

	for (uint64_t g = start; g < end && g < SPACE; g++) {
		if (lvl(g)) {
			model_set(g, lvl(g), 0);
			n++;
		}
	}
	return n;
}

/* Returns whether anything was mapped. */
static int model_zap_all(void)
{
	int any = next_leaf(0, SPACE) < SPACE;

	memset(model, 0, sizeof(model));
	memset(block_maybe_used, 0, sizeof(block_maybe_used));
	memset(nleaves, 0, sizeof(nleaves));
	memset(t1, 0, sizeof(t1));
	memset(t2, 0, sizeof(t2));
	nx_listed_model = 0;
	touch_range(0, SPACE);
	return any;
}

static int model_write_protect(uint64_t gfn)
{
	if (gfn >= SPACE || !lvl(gfn) || !(model[gfn] & (M_W | M_MW)))
		return 0;
	model_leaf_bits(gfn, 0, M_W | M_MW);
	return 1;
}

static int model_track_add(uint64_t gfn)
{
	if (slot_of(gfn) < 0)
		return -ENOENT;
	if (!track[gfn]++) {
		track_b[gfn / MB2]++;
		track_g[gfn / GB]++;
		tracked_gfns[ntracked++] = gfn;
	}
	model_write_protect(gfn);
	return 0;
}

static int model_track_remove(uint64_t gfn)
{
	if (slot_of(gfn) < 0)
		return -ENOENT;
	if (!track[gfn])
		return -EINVAL;
	if (!--track[gfn]) {
		track_b[gfn / MB2]--;
		track_g[gfn / GB]--;
		for (int i = 0; i < ntracked; i++)
			if (tracked_gfns[i] == gfn)
				tracked_gfns[i] = tracked_gfns[--ntracked];
	}
	return 0;
}

/* Young leaves overlapping [start, end), cleared unless @test_only. */
static int model_age(uint64_t start, uint64_t end, bool test_only)
{
	int young = 0;

	for (uint64_t g = start; g < end && g < SPACE;) {
		int l = lvl(g);

		if (!l) {
			g++;
			continue;
		}
		if (model[g] & M_A) {
			young++;
			if (!test_only)
				model_leaf_bits(g, 0, M_A);
		}
		g = align_down(g, l) + pages_at(l);
	}
	return young;
}

/* Tables at @level entries in [start, end) the host could map whole. */
static int model_recover_level(uint64_t start, uint64_t end, int level, bool inplace)
{
	int done = 0;

	for (uint64_t b = align_down(start, level); b < end && b < SPACE; b += pages_at(level)) {
		uint8_t first = 0, and_bits = M_W | M_MW | M_X;
		uint64_t n = pages_at(level);

		if (!*table_at(b, level) || host_level(b) < level || logging(b) || b + n > SPACE ||
		    tracked_in(b, level))
			continue;
		for (uint64_t g = next_leaf(b, b + n); g < b + n;) {
			int l = lvl(g);

			if (!first)
				first = model[g];
			and_bits &= model[g];
			g = next_leaf(align_down(g, l) + pages_at(l), b + n);
		}
		if (inplace && !first)
			continue; /* an empty table stays for the next fault */
		table_remove(b, level);
		if (!inplace) {
			model_set(b, level, 0);
		} else {
			if (nx_on)
				and_bits &= ~M_X;
			model_set(b, level, (uint8_t)(level | (first & (M_A | M_D)) | and_bits));
		}
		done++;
	}
	return done;
}

static int model_recover(uint64_t start, uint64_t end, bool inplace)
{
	/* Pre-order: a collapsible 1G table goes first and takes its 2M tables
	 * along. */
	return model_recover_level(start, end, 3, inplace) +
	       model_recover_level(start, end, 2, inplace);
}

/* Write protection for logging: W at 4K, W and MMU-writable above. */
static bool log_wrprot_leaf(uint64_t gfn)
{
	unsigned bits = lvl(gfn) == 1 ? M_W : M_W | M_MW;

	if (!(model[gfn] & bits))
		return false;
	model_leaf_bits(gfn, 0, bits);
	return true;
}

/*
 * Eager splitting of [start, end): the pre-order walk with min level 2M.
 * A 1G leaf it meets becomes 512 2M leaves (all of them), and each 2M leaf
 * over the range becomes 512 4K leaves; the new tables are not
 * NX-disallowed.
 */
static int model_split_range(uint64_t start, uint64_t end)
{
	int n = 0;

	for (uint64_t g = next_leaf(start, end), next; g < end; g = next_leaf(next, end)) {
		int l = lvl(g);

		next = align_down(g, l) + pages_at(l);
		if (l == 3) {
			split_leaf(g, 3);
			table_new(&t1[g / GB], &t1_seq[g / GB], false, false);
			n++;
		}
		for (uint64_t c = align_down(g, 2); l >= 2 && c < next && c < end; c += MB2) {
			split_leaf(c, 2);
			table_new(&t2[c / MB2], &t2_seq[c / MB2], false, false);
			n++;
		}
	}
	return n;
}

/*
 * Returns enable's result, with the model changed as enable changes the
 * MMU.  With INITIALLY_SET nothing but the bitmap: each clear splits and
 * protects its own range (model_log_clear).
 */
static int model_log_enable(int s, unsigned flags)
{
	uint64_t base = slots[s].base_gfn, end = base + slots[s].npages;
	int n = 0;

	if ((flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) && !(flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
		return -EINVAL;
	if (slots[s].flags & TDPMMU_MEMSLOT_READONLY)
		return -EROFS;
	if (log_flags[s])
		return -EBUSY;
	log_flags[s] = LOG_ON | flags;
	memset(bitmap[s], flags & TDPMMU_DIRTY_LOG_INITIALLY_SET ? 0xff : 0, slot_words(s) * 8);
	if (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET)
		return 0;
	if (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT)
		model_split_range(base, end);
	for (uint64_t g = next_leaf(base, end); g < end; g = next_leaf(g + pages_at(lvl(g)), end))
		n += log_wrprot_leaf(g);
	return n;
}

/* Re-protect the pages of @mask at slot page @first (a harvest). */
static void model_reprotect(int s, uint64_t first, uint64_t mask)
{
	for (; mask; mask &= mask - 1) {
		uint64_t g = slots[s].base_gfn + first + (uint64_t)__builtin_ctzll(mask);

		touch_range(g, g + 1); /* its leaf's invariant is checked again */
		if (lvl(g))
			log_wrprot_leaf(g);
	}
}

/*
 * A valid clear of @mask at slot page @first (a multiple of 64): the bits
 * that were set go; with INITIALLY_SET and EAGER_SPLIT the huge leaves
 * over [lowest, highest] of them split first; then each of their pages is
 * re-protected.  Returns the number of bits cleared.
 */
static int model_log_clear(int s, uint64_t first, uint64_t mask)
{
	uint64_t *word = &bitmap[s][first / 64], was = *word & mask, g = slots[s].base_gfn + first;
	const unsigned both = TDPMMU_DIRTY_LOG_INITIALLY_SET | TDPMMU_DIRTY_LOG_EAGER_SPLIT;

	*word &= ~mask;
	if (!was)
		return 0;
	if ((log_flags[s] & both) == both)
		clear_splits +=
			(uint64_t)model_split_range(g + (uint64_t)__builtin_ctzll(was),
						    g + 64 - (uint64_t)__builtin_clzll(was));
	model_reprotect(s, first, was);
	return __builtin_popcountll(was);
}

static int popcount_words(const uint64_t *w, uint64_t n)
{
	int c = 0;

	for (uint64_t i = 0; i < n; i++)
		if (w[i])
			c += __builtin_popcountll(w[i]);
	return c;
}

/* nx_recover: returns the tables zapped; their first gfns go to @zapped (at
 * most @max of them). */
static int model_nx_recover(unsigned ratio, uint64_t *zapped, int max)
{
	uint64_t to_zap = (nx_listed_model + ratio - 1) / ratio;
	int n = 0;

	for (uint64_t i = 0; i < to_zap && nx_listed_model; i++) {
		uint64_t best = UINT64_MAX, gfn = 0;
		uint8_t *t = NULL;
		int level = 0;

		for (uint64_t g = 0; g < NG1; g++)
			if ((t1[g] & T_LISTED) && t1_seq[g] < best) {
				best = t1_seq[g];
				t = &t1[g];
				gfn = g * GB;
				level = 3;
			}
		for (uint64_t b = 0; b < NBLOCKS; b++)
			if ((t2[b] & T_LISTED) && t2_seq[b] < best) {
				best = t2_seq[b];
				t = &t2[b];
				gfn = b * MB2;
				level = 2;
			}
		/* Popped: unlisted and no longer NX-disallowed, zapped or not. */
		*t = T_ON;
		nx_listed_model--;
		if (logging(gfn))
			continue;
		table_remove(gfn, level);
		model_set(gfn, level, 0);
		if (n < max)
			zapped[n] = gfn;
		n++;
	}
	return n;
}

/* --- comparison ---------------------------------------------------------- */

static uint64_t mismatches;

static void report(uint64_t gfn, const struct tdpmmu_mapping *m, uint64_t pfn, const char *op)
{
	if (mismatches++ < 10)
		fprintf(stderr,
			"after %s: gfn 0x%" PRIx64 ": mmu present=%d level=%d pfn=0x%" PRIx64
			" spte 0x%016" PRIx64
			"; model level=%d W=%d MW=%d A=%d D=%d X=%d pfn=0x%" PRIx64 "\n",
			op, gfn, m->present, m->level, m->pfn, m->spte, lvl(gfn),
			!!(model[gfn] & M_W), !!(model[gfn] & M_MW), !!(model[gfn] & M_A),
			!!(model[gfn] & M_D), !!(model[gfn] & M_X), pfn);
}

static void violation(const char *what, uint64_t gfn, const char *op)
{
	if (mismatches++ < 10)
		fprintf(stderr, "after %s: gfn 0x%" PRIx64 ": %s\n", op, gfn, what);
}

static bool leaf_matches(uint64_t gfn, const struct tdpmmu_mapping *m, uint64_t pfn)
{
	uint8_t v = model[gfn];

	if (m->present != (lvl(gfn) != 0))
		return false;
	if (!m->present)
		return true;
	return m->level == lvl(gfn) && m->pfn == pfn && spte_is_writable(m->spte) == !!(v & M_W) &&
	       spte_is_mmu_writable(m->spte) == !!(v & M_MW) &&
	       spte_is_accessed(m->spte) == !!(v & M_A) && spte_is_dirty(m->spte) == !!(v & M_D) &&
	       !!(m->spte & SPTE_X) == !!(v & M_X) && spte_is_host_writable(m->spte) == !in_ro(gfn);
}

static void compare_gfn(struct tdpmmu_vm *vm, uint64_t g, const char *op, struct tdpmmu_mapping *m)
{
	uint64_t pfn = 0;

	REQUIRE(tdpmmu_lookup(vm, g, m) == 0);
	REQUIRE(tdpmmu_host_pfn(vm, g, &pfn) == 0);
	if (!leaf_matches(g, m, pfn))
		report(g, m, pfn, op);
}

/* Are the bits of slot @s's pages [lo, hi) all set? */
static bool bits_all_set(int s, uint64_t lo, uint64_t hi)
{
	while (lo < hi) {
		if (lo % 64 == 0 && hi - lo >= 64) {
			if (bitmap[s][lo / 64] != ~0ull)
				return false;
			lo += 64;
		} else {
			if (!((bitmap[s][lo / 64] >> (lo % 64)) & 1))
				return false;
			lo++;
		}
	}
	return true;
}

/*
 * The invariants of the MMU's leaf @m at @g (logging, NX).  In a logging
 * slot a leaf is writable only while the bit of every page it maps is
 * set; a huge one only with INITIALLY_SET (left as it was at enable, no
 * page of it cleared since).  The whole leaf is checked at its first gfn.
 */
static void leaf_invariants(uint64_t g, const struct tdpmmu_mapping *m, const char *op)
{
	uint64_t first, base;
	int s;

	if (!m->present)
		return;
	if (nx_on && m->level > 1 && (m->spte & SPTE_X))
		violation("executable huge leaf under NX", g, op);
	if (!logging(g) || !spte_is_writable(m->spte))
		return;
	s = slot_of(g);
	base = slots[s].base_gfn;
	first = align_down(g, m->level);
	if (m->level > 1 && !(log_flags[s] & TDPMMU_DIRTY_LOG_INITIALLY_SET))
		violation("writable huge leaf in a logging slot without INITIALLY_SET", g, op);
	else if (!bit_set(g))
		violation("writable leaf whose dirty bit is clear", g, op);
	else if (g == first && first >= base &&
		 (first + pages_at(m->level) > base + slots[s].npages ||
		  !bits_all_set(s, first - base, first - base + pages_at(m->level))))
		violation("writable huge leaf over a page whose dirty bit is clear", g, op);
}

/*
 * The model leaves at their first gfn (in the blocks the operation touched,
 * or in all blocks when @all), their invariants, and the leaf and table
 * counts.  Equal counts per level and every model leaf present in the MMU
 * mean the same leaves.
 */
static void compare_leaves(struct tdpmmu_vm *vm, const char *op, bool all)
{
	int64_t c[TDPMMU_NR_COUNTERS], nt1 = 0, nt2 = 0;
	struct tdpmmu_mapping m;

	for (uint64_t b = 0; b < NBLOCKS; b++) {
		bool used = false;

		nt2 += t2[b] != 0;
		if (!block_maybe_used[b] || (!all && !block_touched[b]))
			continue;
		for (uint64_t g = b * MB2; g < (b + 1) * MB2 && g < SPACE;) {
			int l = lvl(g);

			if (!l) {
				g++;
				continue;
			}
			used = true;
			if (g == align_down(g, l)) {
				compare_gfn(vm, g, op, &m);
				leaf_invariants(g, &m, op);
			}
			if (l == 1)
				g++;
			else
				break; /* the rest of this 2M block is the same leaf */
		}
		if (!used)
			block_maybe_used[b] = 0;
	}
	memset(block_touched, 0, sizeof(block_touched));
	for (uint64_t g = 0; g < NG1; g++)
		nt1 += t1[g] != 0;
	tdpmmu_counters_read(vm, c);
	if ((c[TDPMMU_C_LEAVES_4K] != nleaves[1] || c[TDPMMU_C_LEAVES_2M] != nleaves[2] ||
	     c[TDPMMU_C_LEAVES_1G] != nleaves[3] || c[TDPMMU_C_TABLES_L1] != nt2 ||
	     c[TDPMMU_C_TABLES_L2] != nt1) &&
	    mismatches++ < 10)
		fprintf(stderr,
			"after %s: leaf counters 4k/2m/1g %lld/%lld/%lld, tables l1/l2 "
			"%lld/%lld; model %lld/%lld/%lld, %lld/%lld\n",
			op, (long long)c[TDPMMU_C_LEAVES_4K], (long long)c[TDPMMU_C_LEAVES_2M],
			(long long)c[TDPMMU_C_LEAVES_1G], (long long)c[TDPMMU_C_TABLES_L1],
			(long long)c[TDPMMU_C_TABLES_L2], (long long)nleaves[1],
			(long long)nleaves[2], (long long)nleaves[3], (long long)nt2,
			(long long)nt1);
}

/* Every gfn of every slot, mapped or not. */
static void compare_all(struct tdpmmu_vm *vm)
{
	struct tdpmmu_mapping m;

	for (uint64_t g = 0; g < SPACE; g++)
		if (host_level(g)) {
			compare_gfn(vm, g, "full comparison", &m);
			leaf_invariants(g, &m, "full comparison");
		}
}

static void compare_bitmap(int s, const uint64_t *got, const char *op)
{
	for (uint64_t w = 0; w < slot_words(s); w++)
		if (got[w] != bitmap[s][w]) {
			if (mismatches++ < 10)
				fprintf(stderr,
					"after %s: slot %d dirty word %" PRIu64
					": mmu 0x%016" PRIx64 ", model 0x%016" PRIx64 "\n",
					op, s, w, got[w], bitmap[s][w]);
			return;
		}
}

/* Logging state after every operation: MANUAL_PROTECT bitmaps (get does not
 * clear them), the NX list. */
static void compare_logs(struct tdpmmu_vm *vm, const char *op)
{
	for (int s = 0; s < NR_SLOTS; s++) {
		if (!(log_flags[s] & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
			continue;
		CHECK_EQ(tdpmmu_dirty_log_get(vm, slots[s].id, bitmap_buf),
			 popcount_words(bitmap[s], slot_words(s)));
		compare_bitmap(s, bitmap_buf, op);
	}
	if (nx_on) {
		CHECK_EQ(tdpmmu_nx_listed(vm), nx_listed_model);
		CHECK_EQ(tdp_nx_audit(vm), 0);
	}
}

/* --- the run ---------------------------------------------------------------
 */

static uint64_t random_gfn(uint64_t *rs)
{
	switch (test_rand(rs) % 7) {
	case 0:
	case 1:
		return HUGE_BASE + test_rand(rs) % GB;
	case 2:
	case 3:
		return THP_BASE + test_rand(rs) % THP_PAGES;
	case 4:
	case 5:
		return ANON_BASE + test_rand(rs) % ANON_PAGES;
	default:
		return RO_BASE + test_rand(rs) % RO_PAGES;
	}
}

static uint64_t random_len(uint64_t *rs)
{
	switch (test_rand(rs) % 16) {
	case 0:
		return 1 + test_rand(rs) % (4 * MB2);
	case 1:
		return SPACE; /* everything from there on */
	default:
		return 1 + test_rand(rs) % 256;
	}
}

enum op {
	OP_FAULT,
	OP_HUGE_OVER_TABLE,
	OP_ZAP_RANGE,
	OP_ZAP_ALL,
	OP_ZAP_ALL_FAST,
	OP_WRPROT,
	OP_TRACK_ADD,
	OP_TRACK_REMOVE,
	OP_CLEAR_YOUNG,
	OP_CLEAR_FLUSH_YOUNG,
	OP_TEST_YOUNG,
	OP_RECOVER_ZAP,
	OP_RECOVER_INPLACE,
	OP_NX_RECOVER,
	OP_LOG_ENABLE,
	OP_LOG_GET,
	OP_LOG_CLEAR,
	OP_LOG_DISABLE,
	NR_OPS,
};

static const char *const op_name[NR_OPS] = {
	"fault",	 "huge-over-table", "zap_range",	"zap_all",     "zap_all_fast",
	"write_protect", "track_add",	    "track_remove",	"clear_young", "clear_flush_young",
	"test_young",	 "recover(zap)",    "recover(inplace)", "nx_recover",  "log_enable",
	"log_get",	 "log_clear",	    "log_disable",
};

static enum op pick_op(uint64_t *rs)
{
	unsigned k = (unsigned)(test_rand(rs) % 1000);

	if (k < 400)
		return OP_FAULT;
	if (k < 460)
		return OP_HUGE_OVER_TABLE;
	if (k < 560)
		return OP_ZAP_RANGE;
	if (k < 563)
		return OP_ZAP_ALL;
	if (k < 566)
		return OP_ZAP_ALL_FAST;
	if (k < 620)
		return OP_WRPROT;
	if (k < 640)
		return OP_TRACK_ADD;
	if (k < 650)
		return OP_TRACK_REMOVE;
	if (k < 710)
		return OP_CLEAR_YOUNG;
	if (k < 740)
		return OP_CLEAR_FLUSH_YOUNG;
	if (k < 770)
		return OP_TEST_YOUNG;
	if (k < 795)
		return OP_RECOVER_ZAP;
	if (k < 820)
		return OP_RECOVER_INPLACE;
	if (k < 850)
		return OP_NX_RECOVER;
	if (k < 880)
		return OP_LOG_ENABLE;
	if (k < 930)
		return OP_LOG_GET;
	if (k < 980)
		return OP_LOG_CLEAR;
	return OP_LOG_DISABLE;
}

static int do_fault(struct tdpmmu_vcpu *vcpu, uint64_t gfn, unsigned access, bool present, int cap)
{
	struct tdpmmu_fault_result res;
	int want, r;

	model_emulate = model_spurious = false;
	want = model_fault(gfn, access, present, cap);
	r = tdpmmu_fault(vcpu, gfn, access | (present ? TDPMMU_ACCESS_PRESENT : 0), cap, &res);
	if (want < 0) {
		CHECK_EQ(r, want);
		return 0;
	}
	REQUIRE(r >= 0);
	CHECK_EQ(r, model_emulate ? TDPMMU_FAULT_EMULATE : 0);
	emulate_count += r == TDPMMU_FAULT_EMULATE;
	CHECK_EQ(res.level, want);
	CHECK_EQ(res.spurious, model_spurious);
	return res.level;
}

static const unsigned log_combos[] = {
	0,
	TDPMMU_DIRTY_LOG_EAGER_SPLIT,
	TDPMMU_DIRTY_LOG_MANUAL_PROTECT,
	TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT,
	TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET,
	TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT |
		TDPMMU_DIRTY_LOG_INITIALLY_SET,
	TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT |
		TDPMMU_DIRTY_LOG_INITIALLY_SET, /* twice: its clears split huge leaves */
	TDPMMU_DIRTY_LOG_INITIALLY_SET, /* invalid: INITIALLY_SET needs MANUAL */
};

/* A random mask for clear; biased towards the bits that are set. */
static uint64_t random_mask(uint64_t *rs, uint64_t word)
{
	switch (test_rand(rs) % 4) {
	case 0:
		return ~0ull;
	case 1:
		return test_rand(rs);
	case 2:
		return test_rand(rs) & test_rand(rs) & test_rand(rs);
	default:
		return word;
	}
}

struct run_stats {
	uint64_t done[NR_OPS], effective[NR_OPS], refault_huge, emulate, slow_spurious,
		clear_splits;
	int64_t c[TDPMMU_NR_COUNTERS];
};

static void reset_model(void)
{
	memset(model, 0, sizeof(model));
	memset(block_maybe_used, 0, sizeof(block_maybe_used));
	memset(block_touched, 0, sizeof(block_touched));
	memset(nleaves, 0, sizeof(nleaves));
	memset(t1, 0, sizeof(t1));
	memset(t2, 0, sizeof(t2));
	nx_listed_model = next_seq = 0;
	memset(log_flags, 0, sizeof(log_flags));
	memset(track, 0, sizeof(track));
	memset(track_b, 0, sizeof(track_b));
	memset(track_g, 0, sizeof(track_g));
	ntracked = 0;
	emulate_count = slow_spurious = clear_splits = 0;
}

static void run(uint64_t ops, uint64_t seed, uint64_t audit_every, bool nx, struct run_stats *st)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	uint64_t rs = seed * 0x9E3779B97F4A7C15ull + 1 + nx;

	nx_on = nx;
	reset_model();
	test_config_init(&cfg);
	cfg.max_tables = 1 << 16;
	cfg.nx_huge_pages = nx;
	cfg.nx_recovery_period_ms = 0;
	cfg.nx_recovery_ratio = 3;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);

	for (uint64_t op = 1; op <= ops; op++) {
		enum op kind = pick_op(&rs);
		uint64_t gfn = random_gfn(&rs), len = random_len(&rs), end;
		int maxl = host_level(gfn), want, r, s = slot_of(gfn);

		end = gfn + len < SPACE ? gfn + len : SPACE;
		touch_range(gfn, gfn + 1);
		if (kind >= OP_ZAP_RANGE && kind <= OP_TEST_YOUNG)
			touch_range(gfn, end);
		switch (kind) {
		case OP_FAULT: {
			static const unsigned kinds[] = { TDPMMU_ACCESS_READ, TDPMMU_ACCESS_WRITE,
							  TDPMMU_ACCESS_EXEC };
			int cap = (int)(test_rand(&rs) % 4);

			if (cap == 3 && test_rand(&rs) % 8)
				cap = 2; /* 1G mappings rare: each costs the model 256K writes */
			if (ntracked && test_rand(&rs) % 8 == 0) {
				gfn = tracked_gfns[test_rand(&rs) % (uint64_t)ntracked];
				touch_range(gfn, gfn + 1);
			}
			st->effective[kind] += do_fault(vcpu, gfn, kinds[test_rand(&rs) % 3],
							test_rand(&rs) & 1, cap) > 0;
			break;
		}
		case OP_HUGE_OVER_TABLE:
			/* Some 4K leaves in a block (executable ones under NX), then the
			 * block mapped huge. */
			if (maxl < 2)
				continue;
			for (int k = 0; k < 3; k++)
				do_fault(vcpu, (gfn & ~(MB2 - 1)) + test_rand(&rs) % MB2,
					 nx && k == 0 ? TDPMMU_ACCESS_EXEC : TDPMMU_ACCESS_READ,
					 false, nx && k == 0 ? 0 : 1);
			st->effective[kind] +=
				do_fault(vcpu, gfn, TDPMMU_ACCESS_WRITE, false, 2) == 2;
			break;
		case OP_ZAP_RANGE:
			st->effective[kind] += (uint64_t)model_zap(gfn, end);
			REQUIRE(tdpmmu_zap_range(vm, gfn, end) == 0);
			break;
		case OP_ZAP_ALL:
			st->effective[kind] += (uint64_t)model_zap_all();
			REQUIRE(tdpmmu_zap_all(vm) == 0);
			break;
		case OP_ZAP_ALL_FAST:
			st->effective[kind] += (uint64_t)model_zap_all();
			REQUIRE(tdpmmu_zap_all_fast(vm) == 0);
			break;
		case OP_WRPROT:
			want = model_write_protect(gfn);
			CHECK_EQ(tdpmmu_write_protect_gfn(vm, gfn), want);
			st->effective[kind] += (uint64_t)want;
			break;
		case OP_TRACK_ADD:
			/* A new gfn only while few are tracked; else nest on one. */
			if (ntracked == TRACK_MAX && !track[gfn])
				gfn = tracked_gfns[test_rand(&rs) % TRACK_MAX];
			touch_range(gfn, gfn + 1);
			/* Often written first: a tracked leaf that is Dirty, which a later
			 * fault on it must keep (the same leaf keeps A/D). */
			if (!track[gfn] && !in_ro(gfn) && test_rand(&rs) % 2)
				do_fault(vcpu, gfn, TDPMMU_ACCESS_WRITE, false, 0);
			want = model_track_add(gfn);
			CHECK_EQ(tdpmmu_write_track_add(vm, gfn), want);
			st->effective[kind] += want == 0;
			break;
		case OP_TRACK_REMOVE:
			/* Mostly a tracked gfn, so that removes succeed. */
			if (ntracked && test_rand(&rs) % 4)
				gfn = tracked_gfns[test_rand(&rs) % (uint64_t)ntracked];
			touch_range(gfn, gfn + 1);
			want = model_track_remove(gfn);
			CHECK_EQ(tdpmmu_write_track_remove(vm, gfn), want);
			st->effective[kind] += want == 0;
			break;
		case OP_CLEAR_YOUNG:
		case OP_CLEAR_FLUSH_YOUNG:
			want = model_age(gfn, end, false);
			r = kind == OP_CLEAR_YOUNG ? tdpmmu_clear_young(vm, gfn, end)
						   : tdpmmu_clear_flush_young(vm, gfn, end);
			CHECK_EQ(r, want);
			st->effective[kind] += (uint64_t)want;
			break;
		case OP_TEST_YOUNG:
			want = model_age(gfn, end, true) ? 1 : 0;
			CHECK_EQ(tdpmmu_test_young(vm, gfn, end), want);
			st->effective[kind] += (uint64_t)want;
			break;
		case OP_RECOVER_ZAP:
		case OP_RECOVER_INPLACE: {
			bool inplace = kind == OP_RECOVER_INPLACE;

			s = (int)(test_rand(&rs) % NR_SLOTS);
			want = log_flags[s] ? -EINVAL
					    : model_recover(slots[s].base_gfn,
							    slots[s].base_gfn + slots[s].npages,
							    inplace);
			r = tdpmmu_recover_huge_pages(vm, slots[s].id,
						      inplace ? TDPMMU_RECOVER_INPLACE
							      : TDPMMU_RECOVER_ZAP);
			CHECK_EQ(r, want);
			st->effective[kind] += want > 0 ? (uint64_t)want : 0;
			break;
		}
		case OP_NX_RECOVER: {
			unsigned ratio = (unsigned)(test_rand(&rs) % 5), eff = ratio ? ratio : 3;
			bool any_logging = false;
			uint64_t listed = nx_listed_model, zapped[4];

			for (int i = 0; i < NR_SLOTS; i++)
				any_logging |= log_flags[i] != 0;
			want = model_nx_recover(eff, zapped, 4);
			r = tdpmmu_nx_recover(vm, ratio);
			CHECK_EQ(r, want);
			/* The contract's number when nothing is skipped for logging, unless
			 * the list ran dry first (a zapped 1G table takes its listed 2M
			 * tables along). */
			if (!any_logging && nx_listed_model)
				CHECK_EQ(r, (listed + eff - 1) / eff);
			CHECK(r <= (int)((listed + eff - 1) / eff));
			st->effective[kind] += (uint64_t)want;
			/*
			 * Huge pages come back: a read refault of a zapped table's
			 * range (unless a write-tracked gfn keeps it small).
			 */
			for (int i = 0; i < want && i < 4; i++) {
				int l = do_fault(vcpu, zapped[i], TDPMMU_ACCESS_READ, false, 0);

				CHECK(l > 1 || model_max_level(zapped[i]) == 1);
				st->refault_huge += l > 1;
			}
			break;
		}
		case OP_LOG_ENABLE: {
			unsigned flags = log_combos[test_rand(&rs) % ARRAY_SIZE(log_combos)];
			bool huge_1g = false;

			/* Splitting a 1G leaf (or the 511 2M leaves a clear left of one)
			 * eagerly at enable makes up to 256K 4K leaves, which every later
			 * comparison looks up: rare.  With INITIALLY_SET enable splits
			 * nothing (a clear splits one 2M block). */
			if (s == SLOT_HUGE && (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT) &&
			    !(flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
			    (lvl(HUGE_BASE) == 3 || nleaves[2] > 64) && test_rand(&rs) % 16)
				flags &= ~TDPMMU_DIRTY_LOG_EAGER_SPLIT;

			/*
			 * For clears that split a 1G leaf, often map the hugetlb slot
			 * 1G first (its tracked gfns untracked, as they would keep it
			 * small).
			 */
			if (s == SLOT_HUGE && !log_flags[s] &&
			    (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
			    (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT) && test_rand(&rs) % 2) {
				/* From the end: a removal moves the last entry into its place. */
				for (int i = ntracked - 1; i >= 0; i--) {
					uint64_t t = tracked_gfns[i];

					if (t >= HUGE_BASE + GB)
						continue;
					touch_range(t, t + 1);
					while (track[t]) {
						want = model_track_remove(t);
						CHECK_EQ(tdpmmu_write_track_remove(vm, t), want);
					}
				}
				huge_1g = do_fault(vcpu, gfn, TDPMMU_ACCESS_READ, false, 3) == 3;
			}
			want = model_log_enable(s, flags);
			r = tdpmmu_dirty_log_enable(vm, slots[s].id, flags);
			CHECK_EQ(r, want);
			st->effective[kind] += r >= 0;
			/* ... and clear a word of it at once: the clear splits the 1G leaf. */
			if (huge_1g && r == 0) {
				uint64_t w = test_rand(&rs) % slot_words(s),
					 mask = random_mask(&rs, bitmap[s][w]);

				want = model_log_clear(s, w * 64, mask);
				CHECK_EQ(tdpmmu_dirty_log_clear(vm, slots[s].id, w * 64, mask),
					 want);
			}
			break;
		}
		case OP_LOG_GET:
			if (!log_flags[s]) {
				CHECK_EQ(tdpmmu_dirty_log_get(vm, slots[s].id, bitmap_buf),
					 -EINVAL);
				break;
			}
			want = popcount_words(bitmap[s], slot_words(s));
			r = tdpmmu_dirty_log_get(vm, slots[s].id, bitmap_buf);
			CHECK_EQ(r, want);
			compare_bitmap(s, bitmap_buf, "log_get");
			if (!(log_flags[s] & TDPMMU_DIRTY_LOG_MANUAL_PROTECT)) {
				for (uint64_t w = 0; w < slot_words(s); w++) {
					uint64_t was = bitmap[s][w];

					bitmap[s][w] = 0;
					model_reprotect(s, w * 64, was);
				}
				st->effective[kind] += want > 0;
			}
			break;
		case OP_LOG_CLEAR: {
			uint64_t words = slot_words(s), w = test_rand(&rs) % words, first, mask;
			unsigned how = (unsigned)(test_rand(&rs) % 16);

			/* Now and then a word under a huge leaf (a clear may split it). */
			if (log_flags[s] && test_rand(&rs) % 4 == 0) {
				uint64_t base = slots[s].base_gfn, e = base + slots[s].npages,
					 g = next_leaf(base + test_rand(&rs) % slots[s].npages, e);

				for (int k = 0; k < 1024 && g < e && lvl(g) < 2; k++)
					g = next_leaf(g + 1, e);
				if (g < e && lvl(g) >= 2)
					w = (g - base) / 64;
			}
			/* Mostly a word with bits set, if any. */
			if (log_flags[s] && test_rand(&rs) % 2)
				for (uint64_t i = 0; i < words && !bitmap[s][w]; i++)
					w = (w + 1) % words;
			first = w * 64;
			mask = random_mask(&rs, log_flags[s] ? bitmap[s][w] : 0);
			if (how == 0)
				first = words * 64; /* past the end */
			else if (how == 1)
				first += 1 + test_rand(&rs) % 63; /* not a multiple of 64 */
			r = tdpmmu_dirty_log_clear(vm, slots[s].id, first, mask);
			if (!(log_flags[s] & TDPMMU_DIRTY_LOG_MANUAL_PROTECT) || how <= 1) {
				CHECK_EQ(r, -EINVAL);
				break;
			}
			want = model_log_clear(s, first, mask);
			CHECK_EQ(r, want);
			st->effective[kind] += want > 0;
			break;
		}
		case OP_LOG_DISABLE: {
			enum tdpmmu_huge_recovery how =
				(enum tdpmmu_huge_recovery)(test_rand(&rs) % 3);

			if (!log_flags[s]) {
				CHECK_EQ(tdpmmu_dirty_log_disable(vm, slots[s].id, how), -EINVAL);
				break;
			}
			log_flags[s] = 0;
			want = how == TDPMMU_RECOVER_NONE
				       ? 0
				       : model_recover(slots[s].base_gfn,
						       slots[s].base_gfn + slots[s].npages,
						       how == TDPMMU_RECOVER_INPLACE);
			CHECK_EQ(tdpmmu_dirty_log_disable(vm, slots[s].id, how), want);
			st->effective[kind]++;
			break;
		}
		case NR_OPS:
			break;
		}
		st->done[kind]++;
		/* Every leaf when there are few, else those the operation touched, and
		 * every leaf each 64 operations (a fully split 1G slot has 256K). */
		compare_leaves(vm, op_name[kind],
			       nleaves[1] + nleaves[2] + nleaves[3] <= 2048 || op % 64 == 0);
		compare_logs(vm, op_name[kind]);
		if (op % audit_every == 0 || op == ops) {
			compare_all(vm);
			CHECK_EQ(tdpmmu_audit(vm), 0);
		}
		if (mismatches || check_failures) {
			fprintf(stderr,
				"op %" PRIu64 " (%s at gfn 0x%" PRIx64 ", seed %" PRIu64
				", nx %d) broke the model\n",
				op, op_name[kind], gfn, seed, nx);
			break;
		}
	}
	tdpmmu_counters_read(vm, st->c);
	st->emulate = emulate_count;
	st->slow_spurious = slow_spurious;
	st->clear_splits = clear_splits;
	tdpmmu_vm_destroy(vm);
}

static void print_run(const char *name, uint64_t ops, uint64_t seed, const struct run_stats *st)
{
	printf("test_ops_model %s: %" PRIu64 " ops, seed %" PRIu64 ":", name, ops, seed);
	for (int k = 0; k < NR_OPS; k++)
		printf(" %s %" PRIu64 "/%" PRIu64, op_name[k], st->effective[k], st->done[k]);
	printf(" (effective/run); splits %lld, tables replaced %lld, young cleared "
	       "%lld, huge recovered %lld, collapsible zapped %lld, wrprot %lld, "
	       "eager splits %lld, pages logged %lld, nx tracked now %lld, nx "
	       "forced small %lld, nx recovered %lld, huge refaults %" PRIu64
	       ", faults to emulate %" PRIu64 ", slow spurious faults %" PRIu64
	       ", huge leaves split by clear %" PRIu64 "\n",
	       (long long)st->c[TDPMMU_C_HUGE_SPLITS], (long long)st->c[TDPMMU_C_TABLES_REPLACED],
	       (long long)st->c[TDPMMU_C_YOUNG_CLEARED], (long long)st->c[TDPMMU_C_HUGE_RECOVERED],
	       (long long)st->c[TDPMMU_C_COLLAPSIBLE_ZAPPED],
	       (long long)st->c[TDPMMU_C_LEAVES_WRPROT], (long long)st->c[TDPMMU_C_EAGER_SPLITS],
	       (long long)st->c[TDPMMU_C_PAGES_LOGGED_DIRTY], (long long)st->c[TDPMMU_C_NX_TRACKED],
	       (long long)st->c[TDPMMU_C_NX_SPLITS], (long long)st->c[TDPMMU_C_NX_RECOVERED],
	       st->refault_huge, st->emulate, st->slow_spurious, st->clear_splits);
}

int main(int argc, char **argv)
{
	uint64_t ops = 20000, seed = 1, audit_every = 5000;
	static struct run_stats plain, nx;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			ops = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--audit-every") && i + 1 < argc)
			audit_every = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--ops N] [--seed S] [--audit-every N]\n",
				argv[0]);
			return 2;
		}
	}
	if (!audit_every)
		audit_every = 1;
	for (int s = 0; s < NR_SLOTS; s++)
		REQUIRE((bitmap[s] = calloc(slot_words(s), 8)) != NULL);
	REQUIRE((bitmap_buf = calloc(slot_words(SLOT_HUGE), 8)) != NULL);

	run(ops / 2, seed, audit_every, false, &plain);
	if (!mismatches && !check_failures)
		run(ops - ops / 2, seed, audit_every, true, &nx);
	CHECK_EQ(mismatches, 0);
	print_run("nx off", ops / 2, seed, &plain);
	print_run("nx on", ops - ops / 2, seed, &nx);
	/* The paths this test exists for must have run and done something. */
	if (ops >= 20000 && !check_failures) {
		for (int k = 0; k < NR_OPS; k++) {
			if (k != OP_NX_RECOVER)
				CHECK(plain.effective[k] > 0);
			CHECK(nx.effective[k] > 0);
		}
		CHECK(plain.c[TDPMMU_C_HUGE_SPLITS] > 0);
		CHECK(plain.c[TDPMMU_C_EAGER_SPLITS] > 0);
		CHECK(plain.c[TDPMMU_C_PAGES_LOGGED_DIRTY] > 0);
		CHECK(plain.emulate > 0);
		CHECK(nx.c[TDPMMU_C_NX_SPLITS] > 0);
		CHECK(nx.refault_huge > 0);
		CHECK(plain.slow_spurious > 0 && nx.slow_spurious > 0);
		CHECK(plain.clear_splits + nx.clear_splits > 0);
	}
	for (int s = 0; s < NR_SLOTS; s++)
		free(bitmap[s]);
	free(bitmap_buf);
	return check_report("test_ops_model");
}
