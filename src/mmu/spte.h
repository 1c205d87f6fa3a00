/*
 * mmu/spte.h - the 64-bit TDP entry (SPTE) in the x86 EPT layout, as the
 * library uses it (the public, prefixed view is include/tdpmmu/spte.h; the
 * bit values are asserted equal below).
 *
 * Pure functions only: no entry is read or written here, so nothing in this
 * file needs a lock.  Callers that read a live entry take a snapshot with an
 * atomic load and pass the snapshot in.
 *
 *   bit  0      R  (readable; EPT has no separate "present" bit)
 *   bit  1      W
 *   bit  2      X
 *   bit  7      PS (large page: a leaf above 4K)
 *   bit  8      A  (Accessed, set by the hardware walker)
 *   bit  9      D  (Dirty, set by the hardware walker on a write)
 *   bit 11      MMU-present (software): the entry maps something
 *   bits 51:12  frame number (host frame for a leaf, table frame otherwise)
 *   bit 57      host-writable (software): the host mapping allows writes
 *   bit 58      MMU-writable (software): the MMU may make the entry writable
 *                without the lock (lockless fast page fault)
 *   bit 63      set in the non-present value ("suppress #VE")
 *
 * FROZEN is a non-present value that carries no frame and no RWX bit.  A
 * thread that holds an entry FROZEN owns it; every other thread must back
 * off.  It is recognised by exact equality only.
 *
 * MMIO entries (KVM's MMIO SPTEs, spte.c make_mmio_spte): a 4K entry for
 * a gfn that no memslot mapped when it was made.  Not MMU-present and
 * W|X without R, which EPT reports as a misconfiguration, not a
 * violation: the walker exits to the MMIO path.  It carries the masked
 * memslot generation of when it was made, split as upstream splits it:
 *   bits 10:3   generation bits 7:0
 *   bits 62:52  generation bits 18:8
 * and no frame; bit 63 is set as in every non-present value.  Bits 57/58
 * (host-/MMU-writable) are part of the generation here: they mean
 * something only in a present leaf.
 */
#ifndef TDP_MMU_SPTE_H
#define TDP_MMU_SPTE_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/spte.h"

#ifndef TDP_PT_BITS
#define TDP_PT_BITS 9 /* index bits per level; a test build may shrink it */
#endif

typedef uint64_t tdp_spte_t;

enum tdp_level {
	TDP_LEVEL_NONE = 0,
	TDP_LEVEL_4K = 1,
	TDP_LEVEL_2M = 2,
	TDP_LEVEL_1G = 3,
	TDP_LEVEL_512G = 4,
	TDP_LEVEL_MAX = 5, /* root of a 5-level tree */
};
#define TDP_MAX_HUGE_LEVEL TDP_LEVEL_1G

#define TDP_PTES_PER_TABLE (1u << TDP_PT_BITS)
#define TDP_TABLE_BYTES 4096u
#define TDP_PAGE_SHIFT 12

#define SPTE_R (1ull << 0)
#define SPTE_W (1ull << 1)
#define SPTE_X (1ull << 2)
#define SPTE_RWX (SPTE_R | SPTE_W | SPTE_X)
#define SPTE_LARGE (1ull << 7)
#define SPTE_ACCESSED (1ull << 8)
#define SPTE_DIRTY (1ull << 9)
#define SPTE_MMU_PRESENT (1ull << 11)
#define SPTE_PFN_SHIFT 12
#define SPTE_PFN_MASK (((1ull << 52) - 1) & ~((1ull << SPTE_PFN_SHIFT) - 1))
#define SPTE_HOST_WRITABLE (1ull << 57)
#define SPTE_MMU_WRITABLE (1ull << 58)
#define SPTE_NONPRESENT (1ull << 63)
#define SPTE_FROZEN (SPTE_NONPRESENT | 0x5a0ull)

#define TDP_PFN_MAX (SPTE_PFN_MASK >> SPTE_PFN_SHIFT) /* largest frame */

/* MMIO entries (above): the marker, and the generation's two fields. */
#define SPTE_MMIO_VALUE (SPTE_NONPRESENT | SPTE_W | SPTE_X)
#define SPTE_MMIO_MASK (SPTE_NONPRESENT | SPTE_RWX | SPTE_MMU_PRESENT | SPTE_PFN_MASK)
#define SPTE_MMIO_GEN_LOW_SHIFT 3
#define SPTE_MMIO_GEN_LOW_BITS 8
#define SPTE_MMIO_GEN_HIGH_SHIFT 52
#define SPTE_MMIO_GEN_HIGH_BITS 11
#define TDP_MMIO_GEN_BITS_MAX (SPTE_MMIO_GEN_LOW_BITS + SPTE_MMIO_GEN_HIGH_BITS) /* 19 */
#define TDP_MMIO_GEN_MASK ((1ull << TDP_MMIO_GEN_BITS_MAX) - 1)
#define SPTE_MMIO_GEN_LOW_MASK (((1ull << SPTE_MMIO_GEN_LOW_BITS) - 1) << SPTE_MMIO_GEN_LOW_SHIFT)
#define SPTE_MMIO_GEN_HIGH_MASK                                                                    \
	(((1ull << SPTE_MMIO_GEN_HIGH_BITS) - 1) << SPTE_MMIO_GEN_HIGH_SHIFT)

/*
 * The layout's consistency, checked at compile time: only the library and
 * its white-box tests include this header, and they are built as C11.
 */
static_assert(TDP_PTES_PER_TABLE * sizeof(tdp_spte_t) <= TDP_TABLE_BYTES,
	      "a table must fit its 4 KiB frame");
static_assert(!(SPTE_FROZEN & SPTE_MMU_PRESENT), "FROZEN must not be present");
static_assert(!(SPTE_FROZEN & SPTE_RWX), "FROZEN must not be present to hardware");
static_assert(!(SPTE_FROZEN & SPTE_PFN_MASK), "FROZEN must carry no frame");
static_assert(!(SPTE_NONPRESENT & (SPTE_MMU_PRESENT | SPTE_RWX | SPTE_PFN_MASK)),
	      "the non-present value maps nothing");
static_assert(!((SPTE_HOST_WRITABLE | SPTE_MMU_WRITABLE | SPTE_MMU_PRESENT) &
		(SPTE_PFN_MASK | SPTE_RWX | SPTE_ACCESSED | SPTE_DIRTY | SPTE_LARGE)),
	      "software bits overlap hardware fields");
static_assert(SPTE_PFN_MASK == 0x000ffffffffff000ull, "frame is bits 51:12");
static_assert(!(SPTE_MMIO_VALUE & SPTE_MMU_PRESENT) && !(SPTE_MMIO_VALUE & SPTE_R),
	      "an MMIO entry must not be present, to the MMU or to hardware");
static_assert((SPTE_MMIO_VALUE & SPTE_MMIO_MASK) == SPTE_MMIO_VALUE, "MMIO marker in its mask");
static_assert((SPTE_FROZEN & SPTE_MMIO_MASK) != SPTE_MMIO_VALUE, "FROZEN is not MMIO");
static_assert((SPTE_NONPRESENT & SPTE_MMIO_MASK) != SPTE_MMIO_VALUE, "empty is not MMIO");
static_assert(!((SPTE_MMIO_GEN_LOW_MASK | SPTE_MMIO_GEN_HIGH_MASK) & SPTE_MMIO_MASK),
	      "the generation overlaps the MMIO marker, present bit or frame");
static_assert(!(SPTE_MMIO_GEN_LOW_MASK & SPTE_MMIO_GEN_HIGH_MASK), "generation fields overlap");
static_assert(SPTE_MMIO_GEN_HIGH_SHIFT + SPTE_MMIO_GEN_HIGH_BITS == 63,
	      "the high generation field ends below bit 63");
static_assert(SPTE_MMIO_GEN_LOW_SHIFT + SPTE_MMIO_GEN_LOW_BITS == 11,
	      "the low generation field ends below the MMU-present bit");
static_assert(TDP_MMIO_GEN_BITS_MAX == 19, "19 generation bits, as upstream");
/* The public view (tdpmmu/spte.h) names the same bits. */
static_assert(TDPMMU_SPTE_R == SPTE_R && TDPMMU_SPTE_W == SPTE_W && TDPMMU_SPTE_X == SPTE_X &&
		      TDPMMU_SPTE_RWX == SPTE_RWX && TDPMMU_SPTE_LARGE == SPTE_LARGE,
	      "public permission bits");
static_assert(TDPMMU_SPTE_ACCESSED == SPTE_ACCESSED && TDPMMU_SPTE_DIRTY == SPTE_DIRTY &&
		      TDPMMU_SPTE_MMU_PRESENT == SPTE_MMU_PRESENT,
	      "public A, D and present bits");
static_assert(TDPMMU_SPTE_PFN_SHIFT == SPTE_PFN_SHIFT && TDPMMU_SPTE_PFN_MASK == SPTE_PFN_MASK,
	      "public frame field");
static_assert(TDPMMU_SPTE_HOST_WRITABLE == SPTE_HOST_WRITABLE &&
		      TDPMMU_SPTE_MMU_WRITABLE == SPTE_MMU_WRITABLE &&
		      TDPMMU_SPTE_NONPRESENT == SPTE_NONPRESENT &&
		      TDPMMU_SPTE_FROZEN == SPTE_FROZEN,
	      "public software bits");
static_assert(TDPMMU_LEVEL_4K == TDP_LEVEL_4K && TDPMMU_LEVEL_2M == TDP_LEVEL_2M &&
		      TDPMMU_LEVEL_1G == TDP_LEVEL_1G && TDPMMU_PAGE_SHIFT == TDP_PAGE_SHIFT,
	      "public levels");
static_assert(sizeof(tdpmmu_spte_t) == sizeof(tdp_spte_t), "public entry type");
static_assert(TDPMMU_SPTE_MMIO_VALUE == SPTE_MMIO_VALUE && TDPMMU_SPTE_MMIO_MASK == SPTE_MMIO_MASK,
	      "public MMIO marker");

#ifdef __cplusplus
extern "C" {
#endif

/* Number of 4K frames mapped by one entry at @level. */
static inline uint64_t tdp_pages_per_level(int level)
{
	return 1ull << ((level - 1) * TDP_PT_BITS);
}

/* Index of @gfn's entry inside the table at @level. */
static inline unsigned tdp_index(uint64_t gfn, int level)
{
	return (unsigned)((gfn >> ((level - 1) * TDP_PT_BITS)) & (TDP_PTES_PER_TABLE - 1));
}

static inline uint64_t tdp_align_gfn(uint64_t gfn, int level)
{
	return gfn & ~(tdp_pages_per_level(level) - 1);
}

static inline bool spte_is_frozen(tdp_spte_t s)
{
	return s == SPTE_FROZEN;
}

static inline bool spte_is_present(tdp_spte_t s)
{
	return (s & SPTE_MMU_PRESENT) != 0;
}

/* An MMIO entry (not present; see the top of this file). */
static inline bool spte_is_mmio(tdp_spte_t s)
{
	return (s & SPTE_MMIO_MASK) == SPTE_MMIO_VALUE;
}

/* The MMIO entry for memslot generation @gen (only its low 19 bits are kept). */
static inline tdp_spte_t spte_make_mmio(uint64_t gen)
{
	uint64_t low = gen & ((1ull << SPTE_MMIO_GEN_LOW_BITS) - 1);
	uint64_t high = (gen >> SPTE_MMIO_GEN_LOW_BITS) & ((1ull << SPTE_MMIO_GEN_HIGH_BITS) - 1);

	return SPTE_MMIO_VALUE | (low << SPTE_MMIO_GEN_LOW_SHIFT) |
	       (high << SPTE_MMIO_GEN_HIGH_SHIFT);
}

/* The generation an MMIO entry was made with (19 bits). */
static inline uint64_t spte_mmio_gen(tdp_spte_t s)
{
	uint64_t low = (s & SPTE_MMIO_GEN_LOW_MASK) >> SPTE_MMIO_GEN_LOW_SHIFT;
	uint64_t high = (s & SPTE_MMIO_GEN_HIGH_MASK) >> SPTE_MMIO_GEN_HIGH_SHIFT;

	return low | (high << SPTE_MMIO_GEN_LOW_BITS);
}

static inline bool spte_is_large(tdp_spte_t s)
{
	return (s & SPTE_LARGE) != 0;
}

/* A present entry at @level is a leaf at 4K or when PS is set. */
static inline bool spte_is_last(tdp_spte_t s, int level)
{
	return level == TDP_LEVEL_4K || spte_is_large(s);
}

static inline bool spte_is_leaf(tdp_spte_t s, int level)
{
	return spte_is_present(s) && spte_is_last(s, level);
}

static inline uint64_t spte_pfn(tdp_spte_t s)
{
	return (s & SPTE_PFN_MASK) >> SPTE_PFN_SHIFT;
}

static inline bool spte_is_writable(tdp_spte_t s)
{
	return (s & SPTE_W) != 0;
}

static inline bool spte_is_accessed(tdp_spte_t s)
{
	return (s & SPTE_ACCESSED) != 0;
}

static inline bool spte_is_dirty(tdp_spte_t s)
{
	return (s & SPTE_DIRTY) != 0;
}

static inline bool spte_is_mmu_writable(tdp_spte_t s)
{
	return (s & SPTE_MMU_WRITABLE) != 0;
}

static inline bool spte_is_host_writable(tdp_spte_t s)
{
	return (s & SPTE_HOST_WRITABLE) != 0;
}

/*
 * Bits that can change under a thread holding the MMU lock: the hardware
 * walker sets A and D, the lockless fast page fault sets W on an entry that
 * is MMU-writable.  A leaf that can gain any of them must be updated with an
 * atomic exchange even under the write lock, or a bit set in between is lost.
 */
static inline bool spte_has_volatile_bits(tdp_spte_t s, int level)
{
	if (!spte_is_leaf(s, level))
		return false;
	if (spte_is_mmu_writable(s) && !spte_is_writable(s))
		return true;
	if (!spte_is_accessed(s))
		return true;
	return spte_is_writable(s) && !spte_is_dirty(s);
}

/* W implies MMU-writable implies host-writable; see docs/design.md. */
static inline bool spte_writable_bits_consistent(tdp_spte_t s)
{
	if (spte_is_writable(s) && !spte_is_mmu_writable(s))
		return false;
	return !(spte_is_mmu_writable(s) && !spte_is_host_writable(s));
}

/* A non-leaf entry pointing at the table in frame @table_pfn. */
static inline tdp_spte_t spte_make_nonleaf(uint64_t table_pfn)
{
	return SPTE_MMU_PRESENT | SPTE_RWX | SPTE_ACCESSED | (table_pfn << SPTE_PFN_SHIFT);
}

/* Permissions and state requested for a leaf. */
enum {
	SPTE_MAKE_HOST_WRITABLE = 1u << 0, /* the host page is writable */
	SPTE_MAKE_MMU_WRITABLE = 1u << 1,  /* W may be set locklessly later */
	SPTE_MAKE_WRITABLE = 1u << 2,      /* map with W now */
	SPTE_MAKE_EXEC = 1u << 3,
	SPTE_MAKE_ACCESSED = 1u << 4,
	SPTE_MAKE_DIRTY = 1u << 5, /* only honoured together with W */
};

static inline tdp_spte_t spte_make_leaf(uint64_t pfn, int level, unsigned flags)
{
	tdp_spte_t s = SPTE_MMU_PRESENT | SPTE_R | (pfn << SPTE_PFN_SHIFT);

	if (level > TDP_LEVEL_4K)
		s |= SPTE_LARGE;
	if (flags & SPTE_MAKE_EXEC)
		s |= SPTE_X;
	/* Built so that W => MMU-writable => host-writable always holds. */
	if (flags & SPTE_MAKE_HOST_WRITABLE) {
		s |= SPTE_HOST_WRITABLE;
		if (flags & (SPTE_MAKE_MMU_WRITABLE | SPTE_MAKE_WRITABLE))
			s |= SPTE_MMU_WRITABLE;
		if (flags & SPTE_MAKE_WRITABLE)
			s |= SPTE_W;
	}
	if (flags & SPTE_MAKE_ACCESSED)
		s |= SPTE_ACCESSED;
	if ((flags & SPTE_MAKE_DIRTY) && (s & SPTE_W))
		s |= SPTE_DIRTY;
	return s;
}

/*
 * The entry a huge leaf becomes at @child_level when it is split: the frame
 * advances by the child's size per @index, every other bit is kept.
 */
static inline tdp_spte_t spte_make_split_child(tdp_spte_t huge, int child_level, unsigned index)
{
	tdp_spte_t s = huge & ~SPTE_PFN_MASK;
	uint64_t pfn = spte_pfn(huge) + (uint64_t)index * tdp_pages_per_level(child_level);

	if (child_level == TDP_LEVEL_4K)
		s &= ~SPTE_LARGE;
	return s | (pfn << SPTE_PFN_SHIFT);
}

#ifdef __cplusplus
}
#endif

#endif /* TDP_MMU_SPTE_H */
