/*
 * host.h - memslots and simulated host memory.
 *
 * A memslot maps [base_gfn, base_gfn + npages) to host frames, 2 MiB block
 * by 2 MiB block: block b (the b-th 2M-aligned block that overlaps the slot)
 * starts at frame block_pfn[b], and the frames inside a block are
 * contiguous.  Host frames are numbers handed out by a bump allocator; at
 * first each slot is contiguous and its first frame is congruent to its
 * base gfn modulo 1 GiB, as a real VMM arranges so that huge host pages
 * line up with huge guest pages.  The backing kind caps the mapping size;
 * alignment decides the rest: a block whose frames are not 2M-aligned can
 * only be mapped at 4K.
 *
 * The host changes frames with tdp_host_remap(), inside an MMU-notifier
 * invalidation: "migrate" gives a block new, misaligned frames (also what
 * a THP split looks like to the MMU: 4K only), "compact" gives it new
 * 2M-aligned frames (huge again).  hugetlb slots are never remapped.
 *
 * With real backing (payload), frame f is the 4 KiB at payload + f * 4096
 * in one reserved region, so guest accesses change real bytes; a remap
 * copies the block's bytes to the new frames.
 *
 * Concurrency: the slot set is an immutable array published with
 * rcu_assign_pointer; readers (the fault path, outside the MMU lock) look
 * it up inside an RCU read-side section; writers free the old array after
 * synchronize_rcu.  This is KVM's memslot SRCU, and is independent of how
 * page tables are reclaimed.  Writers serialise on slots_lock (KVM's
 * slots_lock), which the VM layer holds across a whole operation, not
 * just a publication: a delete or move from its checks through the zap of
 * the old place to the commit (memslot.c), a harvest from reading the
 * slot to protecting its range (dirty_log.c), a remap from checking the
 * invalidation to the new frames.  Every tdp_host_* call below that
 * changes slots or frames must be called with it held (tdp_host_lock).
 * block_pfn entries are atomics written by remap with release and read
 * with acquire; a reader that sees an old frame is caught by the
 * notifier sequence check (see mmu_notifier.h).
 */
#ifndef TDP_HOST_H
#define TDP_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/lock_rank.h"
#include "mmu/spte.h"
#include "tdpmmu/tdpmmu.h"

struct tdp_memslot {
	struct tdpmmu_memslot desc;
	uint64_t first_block_gfn;    /* desc.base_gfn rounded down to 2M */
	_Atomic uint64_t *block_pfn; /* frame of each block's first gfn */
	/*
	 * Dirty logging: TDPMMU_DIRTY_LOG_* flags plus TDP_SLOT_LOGGING while
	 * enabled, and the bitmap (one bit per page, set with atomic OR,
	 * harvested with atomic exchange/AND-NOT); NULL when not logging.
	 */
	unsigned log_flags;
	_Atomic uint64_t *dirty_bitmap;
	/*
	 * Host faults (host_fault.c): two bits per host page of the backing
	 * (claimed, in), counted from the slot's first page; NULL when the
	 * VM's host_fault_us is 0.  Shared by the slot's copies like the
	 * dirty bitmap, it moves with the slot and is freed when it goes.
	 */
	_Atomic uint64_t *host_faulted;
	uint64_t faulted_gen; /* names this host_faulted bitmap (host_fault.c) */
	/*
	 * A delete or move in progress (KVM_MEMSLOT_INVALID): the old place
	 * is being zapped.  Faults retry; host queries may still use it.
	 */
	bool invalid;
};

#define TDP_SLOT_LOGGING (1u << 31)

struct tdp_memslots {
	int nr;
	struct tdp_memslot slots[]; /* sorted by base_gfn, non-overlapping */
};

/*
 * The memslot generation (KVM's slots->generation): counts publications of
 * the slot array.  Each publication sets TDP_MEMSLOT_GEN_UPDATE_IN_PROGRESS
 * before the new array is visible and, after the grace period that follows
 * it, clears the bit and adds one (KVM's kvm_swap_active_memslots).  So a
 * reader that reads the generation G (bit clear) and then looks a gfn up
 * sees an array at least as new as the one G names, and any update that
 * completes after the read leaves a generation other than G.  MMIO
 * entries carry it (masked to h->mmio_gen_mask): one whose generation is
 * not the current one may predate a slot over its gfn and is not trusted.
 */
#define TDP_MEMSLOT_GEN_UPDATE_IN_PROGRESS (1ull << 63)

struct tdp_host {
	struct tdp_memslots *slots;  /* RCU-protected */
	pthread_mutex_t slots_lock;  /* see the top of this file */
	_Atomic uint64_t generation; /* above; written under slots_lock, read lockless */
	/*
	 * MMIO entries (the VM's config, fixed at creation): whether a fault on
	 * a gfn in no memslot caches that as an MMIO entry, and the generation
	 * bits an entry keeps.  @gen_updated (may be NULL) runs after every
	 * publication's grace period with the new generation, before it is
	 * stored, slots_lock held and no other lock: the VM zaps every root
	 * there when the masked generation wraps to 0 (memslot.c).
	 */
	bool mmio_caching;
	uint64_t mmio_gen_mask;
	void (*gen_updated)(void *ctx, uint64_t gen);
	void *gen_ctx;
	uint64_t next_host_pfn;
	uint64_t next_faulted_gen;
	uint64_t pfn_limit; /* frames at or above this cannot be handed out */
	uint64_t max_gfn;
	uint8_t *payload;        /* real backing: frame f at payload + f * 4096, or NULL */
	_Atomic uint64_t *dirty; /* with real backing: a bit per frame written by the guest */
	/*
	 * Host faults (host_fault.c): the delay a first touch pays (0: none,
	 * set before any slot is added), and where a vCPU that touches a
	 * page another vCPU is faulting in waits for it.
	 */
	uint64_t fault_ns;
	pthread_mutex_t fault_mutex;
	pthread_cond_t fault_cond;
	_Atomic unsigned fault_waiters;
	/*
	 * The handler pool (the VM's host_fault_handlers, 0: unlimited): a
	 * payer holds one of its slot's handlers while it sleeps; the payers
	 * holding one are on @handling, the ones waiting for one counted in
	 * @handler_waiters, both under fault_mutex.  @handlers_max: the most
	 * handlers one slot ever had busy at once (tests read it).
	 */
	unsigned fault_handlers;
	struct tdp_fault_handler *handling;
	unsigned handler_waiters;
	unsigned handlers_max;
};

#define TDP_BLOCK_PAGES tdp_pages_per_level(TDP_LEVEL_2M)

/* 2 MiB blocks that overlap slot @m. */
static inline uint64_t tdp_slot_nr_blocks(const struct tdp_memslot *m)
{
	uint64_t end = m->desc.base_gfn + m->desc.npages;

	return (end - m->first_block_gfn + TDP_BLOCK_PAGES - 1) / TDP_BLOCK_PAGES;
}

/* The frame that backs @gfn, which @m maps. */
static inline uint64_t tdp_slot_pfn(const struct tdp_memslot *m, uint64_t gfn)
{
	uint64_t b = (gfn - m->first_block_gfn) / TDP_BLOCK_PAGES;

	return atomic_load_explicit(&m->block_pfn[b], memory_order_acquire) +
	       (gfn & (TDP_BLOCK_PAGES - 1));
}

/*
 * Index of slot @id in @s, or -1.  Where ids are the slots' positions (a
 * VMM numbering its slots in gfn order) the first guess finds it.
 */
static inline int tdp_slot_index(const struct tdp_memslots *s, uint32_t id)
{
	if (id < (uint32_t)s->nr && s->slots[id].desc.id == id)
		return (int)id;
	for (int i = 0; i < s->nr; i++)
		if (s->slots[i].desc.id == id)
			return i;
	return -1;
}

/* Dirty bitmap words for @npages pages. */
static inline uint64_t tdp_bitmap_words(uint64_t npages)
{
	return (npages + 63) / 64;
}

/* What the fault path learns about a gfn before taking the MMU lock. */
struct tdp_host_frame {
	uint64_t pfn;
	int max_level;  /* largest mapping the slot and backing allow here (4K while logging) */
	int host_level; /* largest mapping the host backing allows, logging aside */
	bool writable;
	bool dirty_logging; /* the slot logs dirty pages: mark before making writable */
	bool invalid;       /* the slot is being deleted or moved: a fault must retry */
};

/*
 * The memslot generation now (acquire: a lookup after this sees an array at
 * least as new as the generation says).  Lockless, any thread.
 */
static inline uint64_t tdp_host_generation(const struct tdp_host *h)
{
	return atomic_load_explicit(&((struct tdp_host *)h)->generation, memory_order_seq_cst);
}

/*
 * Whether an MMIO entry made with masked generation @spte_gen is current
 * (KVM's check_mmio_spte): no update in progress and the same masked
 * generation.  Read the entry first, then call this.
 */
static inline bool tdp_host_mmio_gen_current(const struct tdp_host *h, uint64_t spte_gen)
{
	uint64_t gen = tdp_host_generation(h);

	if (gen & TDP_MEMSLOT_GEN_UPDATE_IN_PROGRESS)
		return false;
	return (gen & h->mmio_gen_mask) == spte_gen;
}

/* @payload_bytes: 0 for no real backing, else the host memory to reserve. */
int tdp_host_init(struct tdp_host *h, uint64_t max_gfn, uint64_t payload_bytes);
void tdp_host_destroy(struct tdp_host *h);
/* slots_lock, outermost of all (docs/locking.md); macros for the checker's call site. */
#define tdp_host_lock(h) tdp_mutex_lock(&(h)->slots_lock, TDP_RANK_SLOTS)
#define tdp_host_unlock(h) tdp_mutex_unlock(&(h)->slots_lock, TDP_RANK_SLOTS)

/* host_slots.c, slots_lock held: add a slot (-EINVAL, -ERANGE, -EEXIST, -ENOSPC, -ENOMEM). */
int tdp_host_add_slot(struct tdp_host *h, const struct tdpmmu_memslot *desc);
/* The slot of @s that maps @gfn, or NULL (inside tdp_rcu_read_lock). */
const struct tdp_memslot *tdp_host_find_slot(const struct tdp_memslots *s, uint64_t gfn);
/* Level of the largest host page of backing @b (TDP_LEVEL_4K for anonymous memory). */
int tdp_backing_level(enum tdpmmu_backing b);
/* -ENOENT if no slot maps @gfn. */
int tdp_host_lookup(struct tdp_host *h, uint64_t gfn, struct tdp_host_frame *out);
/*
 * The gfns whose frames a remap of [start, end) changes: every 2 MiB block
 * it touches, clipped to the memslots, as one extent [*lo, *hi).  -ENOENT
 * when no memslot overlaps.  slots_lock held.
 */
int tdp_host_remap_extent(struct tdp_host *h, uint64_t start, uint64_t end, uint64_t *lo,
			  uint64_t *hi);
/*
 * New frames for every 2M block overlapping [start, end): 2M-aligned when
 * @huge, misaligned otherwise.  slots_lock held since the caller checked
 * that an invalidation covers the extent above, so the blocks it checked
 * are the blocks renumbered.  -ENOENT: no slot there; -EINVAL: a hugetlb
 * slot; -ENOSPC: frames exhausted.  On error nothing changed.
 */
int tdp_host_remap(struct tdp_host *h, uint64_t start, uint64_t end, bool huge);
/*
 * host_slots.c: a delete or move, in KVM's two publications
 * (kvm_set_memslot).  With slots_lock held throughout: prepare checks the
 * change and builds both arrays, so nothing after it can fail; then
 * publish_invalid installs the first (the slot marked invalid: faults on
 * it retry) and waits for readers of the old array; the caller zaps the
 * old place; commit installs the second, waits again, and frees what the
 * change left behind.  prepare: -ENOENT, -ENOMEM, and for a move add's
 * -EINVAL, -ERANGE, -EEXIST; on error nothing changed.  A move keeps the
 * slot's frames, contents, dirty bitmap and faulted-in pages.
 */
struct tdp_slot_change {
	struct tdp_memslots *invalid, *final;
	void *stale[3]; /* what only the old slot held: freed after the commit */
};
int tdp_host_prepare_delete(struct tdp_host *h, uint32_t id, struct tdp_slot_change *c);
int tdp_host_prepare_move(struct tdp_host *h, uint32_t id, uint64_t new_base_gfn,
			  struct tdp_slot_change *c);
void tdp_host_publish_invalid(struct tdp_host *h, struct tdp_slot_change *c);
void tdp_host_commit_change(struct tdp_host *h, struct tdp_slot_change *c);
/*
 * set_logging (slots_lock held): @on with TDPMMU_DIRTY_LOG_* @flags
 * allocates the bitmap (all set with INITIALLY_SET); off frees it after
 * the grace period.  -ENOENT, -EBUSY (already in that state), -EROFS
 * (read-only slot).
 */
int tdp_host_set_logging(struct tdp_host *h, uint32_t id, bool on, unsigned flags);
/* A copy of slot @id's descriptor and logging flags; -ENOENT. */
int tdp_host_get_slot(struct tdp_host *h, uint32_t id, struct tdpmmu_memslot *desc,
		      unsigned *log_flags);
/*
 * Mark @gfn in its slot's dirty bitmap if the slot is logging (RCU
 * inside); returns whether it did.  The slot is the one the array holds
 * now: call it only where the layout cannot have changed since the
 * caller resolved @gfn (under the MMU lock after the notifier check; see
 * memslot.c), or use tdp_host_slot_mark_dirty inside the RCU section that
 * found the slot.
 */
bool tdp_host_mark_gfn_dirty(struct tdp_host *h, uint64_t gfn);
bool tdp_host_slot_mark_dirty(const struct tdp_memslot *m, uint64_t gfn);
/*
 * Harvest: atomically exchange (clear) or just read the bitmap words of
 * slot @id from page @first_page (multiple of 64) for @nwords words into
 * @out, or AND-NOT @mask into one word and return the bits that were set.
 */
int tdp_host_dirty_words(struct tdp_host *h, uint32_t id, uint64_t first_page, uint64_t nwords,
			 bool clear, uint64_t *out);
int tdp_host_dirty_clear_mask(struct tdp_host *h, uint32_t id, uint64_t first_page, uint64_t mask,
			      uint64_t *was_set);

/* Record that frames [pfn, pfn + n) were written (a tdp_dirty_fn; real backing only). */
void tdp_host_mark_dirty(void *host, uint64_t pfn, uint64_t n);
bool tdp_host_frame_dirty(const struct tdp_host *h, uint64_t pfn);
/* The host wrote frame @pfn back: clean until the MMU marks it again. */
void tdp_host_clean_frame(struct tdp_host *h, uint64_t pfn);
/* The bytes of frame @pfn with real backing, else NULL. */
static inline uint8_t *tdp_host_frame_bytes(const struct tdp_host *h, uint64_t pfn)
{
	return h->payload ? h->payload + pfn * 4096 : NULL;
}

/*
 * The aligned 8-byte guest word at @gpa, which lives in frame @pfn, with
 * real backing; NULL without.  Guest words are accessed with relaxed
 * atomics: ordering between guest accesses is the guest's business.
 */
static inline _Atomic uint64_t *tdp_host_word(const struct tdp_host *h, uint64_t pfn, uint64_t gpa)
{
	uint8_t *page = tdp_host_frame_bytes(h, pfn);

	return page ? (_Atomic uint64_t *)(page + (gpa & (4096 - 8))) : NULL;
}

/*
 * host_fault.c: the host side of a first touch (the VM's host_fault_us),
 * what userfaultfd's handler is to KVM.  Each host page of a slot is
 * faulted in once: the first fault on it claims it and pays the delay,
 * any fault on it meanwhile waits until it is in.  Called on the fault
 * path before the MMU lock, and with no lock or RCU section held while
 * anyone sleeps.
 *   begin: PRESENT (nothing to pay: in, no slot, or no delay configured),
 *          CLAIMED (the caller pays: tdp_host_fault_sleep, then _end), or
 *          BUSY (another thread pays: tdp_host_fault_wait, then begin again).
 */
enum tdp_host_fault {
	TDP_HOST_PRESENT,
	TDP_HOST_CLAIMED,
	TDP_HOST_BUSY,
};
/*
 * The host page a begin found: end and wait act on exactly that page of
 * exactly that bitmap, wherever the slot has moved since (a gfn may name
 * another page by then, or none).
 */
struct tdp_fault_handler {
	uint32_t slot_id;
	struct tdp_fault_handler *next;
};
struct tdp_host_claim {
	struct tdp_fault_handler handler; /* on h->handling while the payer holds it */
	uint32_t slot_id;
	uint64_t gen;  /* the slot's faulted_gen */
	uint64_t page; /* host page index in the bitmap */
	uint64_t gfn;  /* the gfn that found it */
};
/* Bitmap words for slot @d when the delay is on (2 bits per host page). */
uint64_t tdp_host_faulted_words(const struct tdpmmu_memslot *d);
/* The host page of @gfn in @m, counted in aligned host pages from the slot's first. */
uint64_t tdp_host_faulted_page(const struct tdpmmu_memslot *d, uint64_t gfn);
/*
 * A moved slot's bitmap when the move changes the slot's offset inside a
 * host page: a new host page is in when every old one it overlaps was
 * (host_slots.c, building the move).  NULL: -ENOMEM.
 */
_Atomic uint64_t *tdp_host_faulted_relayout(const struct tdp_memslot *m, uint64_t new_base);
/*
 * host_shared.c: with a payload, make the frames [@pfn, @pfn + @npages) of
 * a shmem or shared_hugetlb slot a MAP_SHARED memfd (0 for other backings
 * or without a payload; -ENOMEM without free huge pages).  slots_lock.
 */
int tdp_host_share_frames(struct tdp_host *h, uint64_t pfn, uint64_t npages, enum tdpmmu_backing b);
/* The fault path calls these only when h->fault_ns is set (host_fault.c). */
enum tdp_host_fault tdp_host_fault_begin(struct tdp_host *h, uint64_t gfn,
					 struct tdp_host_claim *c);
/* Takes a handler of @c's slot (waiting for one if all are busy), then sleeps; _end frees it. */
void tdp_host_fault_sleep(struct tdp_host *h, struct tdp_host_claim *c);
void tdp_host_fault_end(struct tdp_host *h, struct tdp_host_claim *c);
void tdp_host_fault_wait(struct tdp_host *h, const struct tdp_host_claim *c);

#endif
