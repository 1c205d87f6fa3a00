/*
 * ref_model.h - the reference model of the tdpmmu API, shared by the
 * differential test (test_diff), the operations model (test_ops_model) and
 * the API fuzzer (fuzz_api).  It keeps what the public calls must have done
 * to one VM and checks the real library against it.
 *
 * State: the memslots (place, backing, flags, dirty-logging flags and the
 * dirty bitmap, whether the host remapped part of one), the write-tracked
 * gfns with their counts, the invalidations in progress, and per gfn the
 * leaf that maps it.  The leaves are kept in one of two precisions:
 *   exact   one window [0, space): level and bits (W, MMU-writable, A, D, X)
 *           of every leaf, the page tables below the 1G and 2M entries and
 *           the possible-NX list; every operation is predicted (the test
 *           calls the model first, then the library, and compares);
 *   vague   a few windows of gfns, each absent, present (level and bits not
 *           known) or unknown; the caller tells the model what a call did
 *           where it cannot be predicted (allocation failures, SMM roots,
 *           remapped frames), and checks the rest.
 * Each operation mirrors one API call (ref_fault for tdpmmu_fault, ...).
 * State errors are predicted by the ref_*_errors functions as REF_E_* masks
 * (argument errors, the shape of a call's input, are the caller's).
 *
 * Single-threaded: one model per process (struct ref_model ref), reset by
 * ref_init_exact / ref_init_vague.  Mismatches are printed (the first ten)
 * with ref.where as prefix and counted in ref.mismatches; with ref.fatal
 * the first one aborts.  Public headers only.
 *
 * Sources: ref_model.c (state, queries, state errors, memslots, tracking,
 * invalidations), ref_leaves.c (the rules for the leaves), ref_check.c
 * (the checks against the library).
 */
#ifndef TDP_TEST_REF_MODEL_H
#define TDP_TEST_REF_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/tdpmmu.h"

#define REF_GB (1ull << 18) /* 4K pages in 1 GiB */
#define REF_MB2 512ull      /* 4K pages in 2 MiB */
#define REF_MAX_SLOTS 256
#define REF_MAX_TRACKED 256
#define REF_MAX_INVAL 64 /* the API's limit on invalidations in progress */
#define REF_MAX_WINDOWS 3

/* A leaf: its level in bits 0-1 (0 = nothing maps the gfn), then its bits. */
#define REF_LEVEL 3u
#define REF_W (1u << 2)
#define REF_MW (1u << 3)
#define REF_A (1u << 4)
#define REF_D (1u << 5)
#define REF_X (1u << 6)
/* Vague entries: mapped or not (REF_UNKNOWN), mapped at some level (REF_PRESENT). */
#define REF_VAGUE (1u << 7)
#define REF_UNKNOWN REF_VAGUE
#define REF_PRESENT (REF_VAGUE | 1u)

/* Tables below the 1G entries (t1) and the 2M entries (t2), exact model. */
#define REF_T_ON 1u     /* the table exists */
#define REF_T_NX 2u     /* NX-disallowed */
#define REF_T_LISTED 4u /* on the possible-NX list */

/* Dirty logging is on (beside the TDPMMU_DIRTY_LOG_* flags in ref_slot.log). */
#define REF_LOG_ON (1u << 31)

/* Return values as bits, so that the outcomes a call may have are one mask. */
enum {
	REF_E_OK = 1u << 0,
	REF_E_EINVAL = 1u << 1,
	REF_E_ERANGE = 1u << 2,
	REF_E_EEXIST = 1u << 3,
	REF_E_ENOENT = 1u << 4,
	REF_E_EFAULT = 1u << 5,
	REF_E_ENOSPC = 1u << 6,
	REF_E_ENOMEM = 1u << 7,
	REF_E_EBUSY = 1u << 8,
	REF_E_EROFS = 1u << 9,
	REF_E_EOVERFLOW = 1u << 10,
	REF_E_ENODEV = 1u << 11,
};

struct ref_slot {
	bool used;
	struct tdpmmu_memslot d;
	unsigned log;   /* REF_LOG_ON | TDPMMU_DIRTY_LOG_*, 0 when not logging */
	bool remapped;  /* the host remapped some block of it */
	uint64_t *bits; /* the dirty bitmap while logging */
};

struct ref_tracked {
	uint64_t gfn;
	uint32_t count;
};

struct ref_range {
	uint64_t start, end;
};

struct ref_window {
	uint64_t base, npages;
	uint8_t *leaf;
};

struct ref_model {
	bool exact, nx;
	struct ref_slot slot[REF_MAX_SLOTS];
	int nslot; /* entries in use or used: slot[0 .. nslot) */
	struct ref_tracked tracked[REF_MAX_TRACKED];
	int ntracked;
	struct ref_range inval[REF_MAX_INVAL];
	int ninval;
	struct ref_window win[REF_MAX_WINDOWS];
	int nwin;
	/* exact: leaf == win[0].leaf, base 0, space gfns */
	uint8_t *leaf;
	uint64_t space, nblocks, ng1;
	uint8_t *block_used;    /* some gfn of the 2M block may be mapped */
	uint8_t *block_touched; /* the last operations changed or were about it */
	uint8_t *t1, *t2;
	uint64_t *t1_seq, *t2_seq, next_seq, nx_listed;
	int64_t nleaves[4]; /* leaves per level */
	/* the last ref_fault */
	bool emulate;  /* a write to emulate (TDPMMU_FAULT_EMULATE) */
	bool spurious; /* answered spurious */
	/* totals since the last init */
	uint64_t slow_spurious; /* slow-path faults on a leaf that allowed the access */
	uint64_t clear_splits;  /* huge leaves split by dirty_log_clear */
	/* reporting */
	const char *where;
	bool fatal;
	uint64_t mismatches;
};

extern struct ref_model ref;

/* --- setup ------------------------------------------------------------------ */

/* An exact model of [0, space) gfns (memslots added with ref_slot_add). */
void ref_init_exact(uint64_t space, bool nx);
/* A vague model of @n windows of @npages gfns at @bases. */
void ref_init_vague(const uint64_t *bases, int n, uint64_t npages, bool nx);
/* Free everything (ref_init_* does it first). */
void ref_free(void);
/* Count a mismatch and print it (ref.where first); abort if ref.fatal. */
void ref_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- queries ---------------------------------------------------------------- */

static inline uint64_t ref_pages_at(int level)
{
	return 1ull << (9 * (level - 1));
}

static inline uint64_t ref_align_down(uint64_t gfn, int level)
{
	return gfn & ~(ref_pages_at(level) - 1);
}

/* Exact model: the level of the leaf mapping @gfn (0: none). */
static inline int ref_lvl(uint64_t gfn)
{
	return ref.leaf[gfn] & REF_LEVEL;
}

/* The model's entry for @gfn, NULL outside the windows. */
uint8_t *ref_entry(uint64_t gfn);
struct ref_slot *ref_slot_of(uint64_t gfn);
struct ref_slot *ref_slot_by_id(uint32_t id);
int ref_nr_slots(void);
bool ref_overlaps_other(const struct ref_slot *self, uint64_t base, uint64_t npages);
static inline uint64_t ref_slot_words(const struct ref_slot *s)
{
	return (s->d.npages + 63) / 64;
}
/* The model's dirty bit of @gfn in @s (false when not logging). */
bool ref_bit(const struct ref_slot *s, uint64_t gfn);
/* Are the bits of every page of @s in [start, end) set? */
bool ref_bits_all_set(const struct ref_slot *s, uint64_t start, uint64_t end);
int ref_popcount(const uint64_t *w, uint64_t n);
/* Adds of @gfn not yet removed. */
uint32_t ref_tracked(uint64_t gfn);
/* Is a gfn in [start, end) tracked? */
bool ref_tracked_in(uint64_t start, uint64_t end);
/* Does the union of the invalidations in progress cover @gfn (a fault there retries)? */
bool ref_inval_covers(uint64_t gfn);
/* The level the host maps @gfn at (0: no slot), logging and tracking aside. */
int ref_host_level(uint64_t gfn);
/* What a fault may map: 4K while the slot logs, no huge leaf over a tracked gfn. */
int ref_max_level(uint64_t gfn);
/* Exact: the first gfn in [g, end) that some leaf maps, or @end. */
uint64_t ref_next_leaf(uint64_t g, uint64_t end);
/* Exact: the 2M blocks of [start, end) are compared again at the next check. */
void ref_touch(uint64_t start, uint64_t end);
/* Single errno of a one-bit mask (0 for REF_E_OK or none). */
int ref_errno(unsigned mask);
unsigned ref_err_bit(int r);
const char *ref_err_str(unsigned mask);

/* --- operations: state errors (REF_E_* masks, 0 = none) ---------------------- */

unsigned ref_slot_add_errors(const struct tdpmmu_memslot *d);
unsigned ref_slot_move_errors(const struct ref_slot *s, uint64_t new_base);
unsigned ref_fault_errors(uint64_t gfn, unsigned access);
unsigned ref_track_errors(uint64_t gfn, bool add);
unsigned ref_log_enable_errors(const struct ref_slot *s);
unsigned ref_log_get_errors(const struct ref_slot *s);
unsigned ref_log_clear_errors(const struct ref_slot *s, uint64_t first, uint64_t mask);
unsigned ref_log_disable_errors(const struct ref_slot *s);
unsigned ref_recover_errors(const struct ref_slot *s);
unsigned ref_inval_begin_errors(void);
/* -1 if [start, end) is not an invalidation in progress, else its index. */
int ref_inval_find(uint64_t start, uint64_t end);
unsigned ref_remap_errors(uint64_t start, uint64_t end);

/* --- operations: the effects of a call that succeeded ------------------------ */
/*
 * Exact: each returns the call's result as the library must return it.
 * Vague: a result the model cannot know is -1; where the call's effect
 * depends on what happened, the caller passes what it saw (@seen).
 */

struct ref_slot *ref_slot_add(const struct tdpmmu_memslot *d);
/* Delete or move: every mapping goes (fast zap), and the tracking of the old place. */
void ref_slot_delete(struct ref_slot *s);
void ref_slot_move(struct ref_slot *s, uint64_t new_base);
/*
 * A fault of @access (R/W/X) on @gfn with level cap @cap (0 = none),
 * @present for a permission fault.  Exact: the level mapping @gfn
 * afterwards, ref.emulate and ref.spurious set, or -EFAULT.  Vague: the
 * fault mapped @gfn at @seen (0: in another root, nothing seen).
 */
int ref_fault(uint64_t gfn, unsigned access, bool present, int cap, int seen);
/* Every leaf overlapping [start, end) goes whole; tables stay.  Exact: leaves zapped. */
int ref_zap(uint64_t start, uint64_t end);
/* Everything goes, tables and the NX list too.  Exact: whether anything was mapped. */
int ref_zap_all(void);
/* W and MMU-writable cleared on @gfn's leaf.  Exact: 1 iff it had either. */
int ref_write_protect(uint64_t gfn);
void ref_track_add(uint64_t gfn);
void ref_track_remove(uint64_t gfn);
/* Accessed cleared on (or tested in) every leaf overlapping; exact: the young leaves. */
int ref_age(uint64_t start, uint64_t end, bool test_only);
/* Huge-page recovery of slot @s; exact: the tables removed. */
int ref_recover(const struct ref_slot *s, enum tdpmmu_huge_recovery how);
int ref_log_enable(struct ref_slot *s, unsigned flags);
/* The bitmap into @out (if not NULL); its popcount. */
int ref_log_get(struct ref_slot *s, uint64_t *out);
int ref_log_clear(struct ref_slot *s, uint64_t first, uint64_t mask);
int ref_log_disable(struct ref_slot *s, enum tdpmmu_huge_recovery how);
/*
 * NX recovery with effective @ratio: exact, the tables zapped (their first
 * gfns into @zapped, at most @max); vague, @seen tables were zapped.
 */
int ref_nx_recover(unsigned ratio, uint64_t *zapped, int max, int seen);
void ref_inval_begin(uint64_t start, uint64_t end);
void ref_inval_end(int index);
void ref_remap(uint64_t start, uint64_t end);

/*
 * The contract of dirty_log_clear on a leaf the caller saw before (@level,
 * @spte) at @gfn, after a clear of @was (the bits it cleared) of the word
 * whose first page is @lo, @split with INITIALLY_SET and EAGER_SPLIT: the
 * level that maps @gfn now, and the leaf bits (REF_SPTE_LEAF_BITS) it has.
 */
#define REF_SPTE_LEAF_BITS                                                                         \
	(TDPMMU_SPTE_RWX | TDPMMU_SPTE_ACCESSED | TDPMMU_SPTE_DIRTY | TDPMMU_SPTE_HOST_WRITABLE |  \
	 TDPMMU_SPTE_MMU_WRITABLE)
int ref_cleared_level(int level, uint64_t gfn, uint64_t lo, uint64_t was, bool split);
tdpmmu_spte_t ref_cleared_bits(int before_level, tdpmmu_spte_t before, uint64_t gfn, int level,
			       uint64_t lo, uint64_t was);

/* --- checks against the library ---------------------------------------------- */

/*
 * The lookup @m of @gfn against the model: exact, the same leaf (level,
 * frame, W, MMU-writable, A, D, X, host-writable); vague, absent or present
 * as the model says.  Then the invariants of any leaf: it lies in a
 * memslot and maps the host frame, 4K in an anon slot, not writable in a
 * read-only slot or on a tracked gfn, no executable huge leaf under NX, and
 * in a logging slot writable only with the dirty bit of its page set, and
 * huge only with INITIALLY_SET (with @whole, every page of the leaf set).
 * Returns whether all held.
 */
bool ref_check_leaf(struct tdpmmu_vm *vm, uint64_t gfn, const struct tdpmmu_mapping *m, bool whole);
/* Look @gfn up and check it. */
bool ref_check_gfn(struct tdpmmu_vm *vm, uint64_t gfn, bool whole);
/*
 * Exact: the model's leaves at their first gfn (those in touched blocks,
 * or all with @all), and the leaf and table counters.
 */
void ref_check_leaves(struct tdpmmu_vm *vm, bool all);
/* Every gfn of every slot (exact) or of every window (vague); mismatches found. */
uint64_t ref_check_all(struct tdpmmu_vm *vm);
/* A bitmap read from the library against the model's. */
bool ref_check_bitmap(const struct ref_slot *s, const uint64_t *got);
/* Exact: every MANUAL_PROTECT bitmap (get does not clear it), the NX list. */
void ref_check_logs(struct tdpmmu_vm *vm, uint64_t *buf);

#endif
