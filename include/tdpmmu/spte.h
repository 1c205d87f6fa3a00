/*
 * tdpmmu/spte.h - the 64-bit TDP entry (SPTE) as the API shows it: the leaf
 * in struct tdpmmu_mapping (tdpmmu_lookup) is one of these.
 *
 * Layout, the x86 EPT one plus the MMU's software bits:
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
 *               without the lock (lockless fast page fault)
 *   bit 63      set in the non-present value ("suppress #VE")
 * FROZEN is a non-present value that an updater holds while it owns the
 * entry; it is recognised by exact equality.
 * An MMIO entry (tdpmmu_spte_mmio) is a non-present 4K entry for a gfn in
 * no memslot: W|X without R and MMU-present, the memslot generation it was
 * made with in bits 10:3 (generation bits 7:0) and 62:52 (bits 18:8).
 *
 * Everything here is a constant or a pure function of a value the caller
 * already has (no entry is read, no lock is taken): safe from any thread.
 * Nothing depends on how the library was built; the fan-out of a table is
 * a run-time property (tdpmmu_pt_bits(), tdpmmu_level_pages() in
 * tdpmmu/tdpmmu.h).
 *
 * Language: C99 or C++11, or later.
 */
#ifndef TDPMMU_SPTE_H
#define TDPMMU_SPTE_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t tdpmmu_spte_t;

/* Page-table levels of a leaf: level 1 maps 4 KiB, 2 maps 2 MiB, 3 maps 1 GiB (fan-out 512). */
#define TDPMMU_LEVEL_4K 1
#define TDPMMU_LEVEL_2M 2
#define TDPMMU_LEVEL_1G 3
/* A guest frame number (gfn) is a guest-physical address (gpa) >> TDPMMU_PAGE_SHIFT. */
#define TDPMMU_PAGE_SHIFT 12

#define TDPMMU_SPTE_R (1ull << 0)
#define TDPMMU_SPTE_W (1ull << 1)
#define TDPMMU_SPTE_X (1ull << 2)
#define TDPMMU_SPTE_RWX (TDPMMU_SPTE_R | TDPMMU_SPTE_W | TDPMMU_SPTE_X)
#define TDPMMU_SPTE_LARGE (1ull << 7)
#define TDPMMU_SPTE_ACCESSED (1ull << 8)
#define TDPMMU_SPTE_DIRTY (1ull << 9)
#define TDPMMU_SPTE_MMU_PRESENT (1ull << 11)
#define TDPMMU_SPTE_PFN_SHIFT 12
#define TDPMMU_SPTE_PFN_MASK 0x000ffffffffff000ull /* bits 51:12 */
#define TDPMMU_SPTE_HOST_WRITABLE (1ull << 57)
#define TDPMMU_SPTE_MMU_WRITABLE (1ull << 58)
#define TDPMMU_SPTE_NONPRESENT (1ull << 63)
#define TDPMMU_SPTE_FROZEN (TDPMMU_SPTE_NONPRESENT | 0x5a0ull)
/* An MMIO entry: (s & TDPMMU_SPTE_MMIO_MASK) == TDPMMU_SPTE_MMIO_VALUE. */
#define TDPMMU_SPTE_MMIO_VALUE (TDPMMU_SPTE_NONPRESENT | TDPMMU_SPTE_W | TDPMMU_SPTE_X)
#define TDPMMU_SPTE_MMIO_MASK                                                                      \
	(TDPMMU_SPTE_NONPRESENT | TDPMMU_SPTE_RWX | TDPMMU_SPTE_MMU_PRESENT | TDPMMU_SPTE_PFN_MASK)

#ifdef __cplusplus
extern "C" {
#endif

/* The entry maps something (a leaf or a table). */
static inline bool tdpmmu_spte_present(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_MMU_PRESENT) != 0;
}

/* An updater owns the entry right now. */
static inline bool tdpmmu_spte_frozen(tdpmmu_spte_t s)
{
	return s == TDPMMU_SPTE_FROZEN;
}

/* A cached "no memslot here" entry (MMIO); not present. */
static inline bool tdpmmu_spte_mmio(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_MMIO_MASK) == TDPMMU_SPTE_MMIO_VALUE;
}

/* PS: a leaf above 4K. */
static inline bool tdpmmu_spte_large(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_LARGE) != 0;
}

/* A present entry at @level (TDPMMU_LEVEL_*) that maps memory, not a table. */
static inline bool tdpmmu_spte_leaf(tdpmmu_spte_t s, int level)
{
	return tdpmmu_spte_present(s) && (level == TDPMMU_LEVEL_4K || tdpmmu_spte_large(s));
}

/* The frame number: the first host frame of a leaf, the table's frame otherwise. */
static inline uint64_t tdpmmu_spte_pfn(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_PFN_MASK) >> TDPMMU_SPTE_PFN_SHIFT;
}

static inline bool tdpmmu_spte_writable(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_W) != 0;
}

static inline bool tdpmmu_spte_accessed(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_ACCESSED) != 0;
}

static inline bool tdpmmu_spte_dirty(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_DIRTY) != 0;
}

/* The lockless fast fault may set W on this leaf. */
static inline bool tdpmmu_spte_mmu_writable(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_MMU_WRITABLE) != 0;
}

/* The host mapping behind the leaf allows writes. */
static inline bool tdpmmu_spte_host_writable(tdpmmu_spte_t s)
{
	return (s & TDPMMU_SPTE_HOST_WRITABLE) != 0;
}

#ifdef __cplusplus
}
#endif

#endif /* TDPMMU_SPTE_H */
