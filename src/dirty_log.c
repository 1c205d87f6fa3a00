/*
 * dirty_log.c - dirty logging on a memslot (KVM_MEM_LOG_DIRTY_PAGES with
 * KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG, without PML): enable, harvest,
 * clear, disable, and the MMU passes behind them.
 *
 * The contract.  While a slot logs, a leaf in it becomes writable only
 * after its page's bit is set: the slow fault marks under the read lock
 * before it installs a writable 4K leaf, and the lockless fast path marks
 * right after its CAS sets W (vcpu_fault.c).  So a guest write lands in a
 * page whose bit is set, or which a harvester is re-protecting right now.
 *
 * Concurrency:
 * - enable publishes "logging" in the slot array (memslot RCU, host.c),
 *   then bumps the notifier sequence under the write lock, so a fault
 *   that looked up the old array (and would map huge or writable without
 *   marking) retries.  The passes that follow run under the READ lock,
 *   beside faults, changing entries only by CAS:
 *     eager split: each huge leaf in the slot is replaced by a full table
 *     of smaller leaves with the same bits (tdp_mmu_split_huge_leaf), no
 *     flush needed.  Tables are allocated with the MMU lock dropped and
 *     walk protection ended, kept in a private stash, and the walk
 *     restarts from the root after the lock is retaken.
 *     write-protect: W is cleared by CAS from the snapshot, retried from
 *     the fresh value on failure; FROZEN is skipped (its owner is zapping
 *     it).  On a 4K leaf MMU-writable stays, so the fast path can make
 *     the page writable again, marking it; a huge leaf loses MMU-writable
 *     too (see wrprot_bits).
 *   The TLB flush is issued after the lock is dropped and before enable
 *   returns: no table was disconnected, so nothing waits on it but the
 *   caller.
 * - get (without MANUAL_PROTECT) and clear take each bit away from the
 *   bitmap atomically (exchange or AND-NOT), then re-protect those pages
 *   under the WRITE lock.  A fault that marked a page does so under the
 *   read lock before installing its writable leaf, so either that leaf is
 *   already there when the write lock is ours (and loses W), or the mark
 *   came after the bit was taken and stays for the next harvest.  Under
 *   the write lock only lockless bit-setters race with us (hardware A/D,
 *   the fast path's W, aging's A), so W is cleared with an atomic
 *   fetch-and that keeps whatever they set.  The flush follows the unlock.
 * - disable publishes "not logging", bumps the notifier, and lets huge
 *   pages come back (huge_recovery.c) if asked.
 * Every walk sits inside reclaim_walk_begin/end; internal passes assert
 * the lock mode they were given.
 */
#include <errno.h>
#include <string.h>

#include "huge_recovery.h"
#include "tdp_root.h"
#include "vm_internal.h"

#define LOG_FLAGS_KNOWN                                                                            \
	(TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET)

/* Tables for eager splitting, allocated without the MMU lock. */
#define SPLIT_STASH_CAP 16

struct split_stash {
	struct tdp_page *pages[SPLIT_STASH_CAP];
	int nr;
};

/* Call without the MMU lock.  Returns false when the arena is full. */
static bool stash_fill(struct tdp_mmu *mmu, struct split_stash *st)
{
	while (st->nr < SPLIT_STASH_CAP) {
		struct tdp_page *p = tdp_page_alloc(&mmu->arena);

		if (!p)
			break;
		st->pages[st->nr++] = p;
	}
	return st->nr > 0;
}

static void stash_free(struct tdp_mmu *mmu, struct split_stash *st)
{
	while (st->nr)
		tdp_page_free(&mmu->arena, st->pages[--st->nr]);
}

/*
 * Split every huge leaf of @root in [start, end) down to 4K, read lock
 * held.  Pre-order with min level 2M: a 1G leaf becomes 2M leaves, which
 * the walk then steps into and splits again.  May drop and retake the
 * lock to allocate.  Returns -ENOMEM when the arena ran out (the rest
 * stays huge), else 0.
 */
static int split_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t start, uint64_t end,
		      struct split_stash *st)
{
	struct tdp_iter it;
	int r = 0;

	mmu_lock_assert_held(&mmu->lock, TDP_SHARED);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte_min_level(it, &mmu->arena, root, TDP_LEVEL_2M, start, end) {
		struct tdp_page *p;

		if (tdp_mmu_iter_cond_yield(mmu, &it, false, TDP_SHARED))
			continue;
retry:
		if (!spte_is_leaf(it.old_spte, it.level))
			continue; /* a table, nothing, or FROZEN (being zapped) */
		if (!st->nr) {
			/* Never allocate under the MMU lock: leave it, fill, restart. */
			reclaim_walk_end(&mmu->reclaim);
			tdp_mmu_unlock(mmu, TDP_SHARED);
			stash_fill(mmu, st);
			tdp_mmu_lock(mmu, TDP_SHARED);
			reclaim_walk_begin(&mmu->reclaim);
			if (!st->nr) {
				r = -ENOMEM;
				break;
			}
			it.yielded = true; /* nothing read before may be followed */
			continue;
		}
		p = st->pages[--st->nr];
		p->gfn = it.gfn;
		p->level = it.level - 1;
		p->mmu = mmu;
		if (tdp_mmu_split_huge_leaf(mmu, &it, p, TDP_SHARED)) {
			/* Never visible: back to the stash; the snapshot is fresh. */
			tdp_page_reset(&mmu->arena, p);
			st->pages[st->nr++] = p;
			goto retry;
		}
		tdp_count(&mmu->counters, TDPMMU_C_EAGER_SPLITS);
	}
	reclaim_walk_end(&mmu->reclaim);
	return r;
}

static void eager_split_slot(struct tdp_mmu *mmu, uint64_t start, uint64_t end)
{
	struct split_stash st = { .nr = 0 };
	struct tdp_page *root;

	tdp_mmu_lock(mmu, TDP_SHARED);
	for_each_tdp_root(mmu, root, true, TDP_SHARED) {
		if (split_root(mmu, root, start, end, &st)) {
			tdp_root_put(mmu, root, TDP_SHARED);
			break;
		}
	}
	tdp_mmu_unlock(mmu, TDP_SHARED);
	stash_free(mmu, &st);
}

/*
 * What write protection for logging clears: W on a 4K leaf, so the fast
 * path may make it writable again (and mark it); W and MMU-writable on a
 * huge leaf, because the fast path does not know the slot logs and would
 * make 2M writable for one marked page.  A write to it then takes the
 * slow path, which maps that page at 4K.
 */
static tdp_spte_t wrprot_bits(int level)
{
	return level == TDP_LEVEL_4K ? SPTE_W : SPTE_W | SPTE_MMU_WRITABLE;
}

/*
 * Write-protect every present leaf of @root in [start, end) at @min_level
 * or above (wrprot_bits), read lock held.  Returns the number of leaves
 * protected.
 */
static int64_t wrprot_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t start,
			   uint64_t end, int min_level)
{
	struct tdp_iter it;
	int64_t n = 0;

	mmu_lock_assert_held(&mmu->lock, TDP_SHARED);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte_min_level(it, &mmu->arena, root, min_level, start, end) {
		tdp_spte_t old = it.old_spte;

		/* W cleared so far needs no flush before a yield: only enable waits on it. */
		if (tdp_mmu_iter_cond_yield(mmu, &it, false, TDP_SHARED))
			continue;
		/* A failed CAS hands back the fresh value: go again from it. */
		while (spte_is_leaf(old, it.level) && (old & wrprot_bits(it.level))) {
			if (atomic_compare_exchange_weak(it.sptep, &old,
							 old & ~wrprot_bits(it.level))) {
				tdp_count(&mmu->counters, TDPMMU_C_LEAVES_WRPROT);
				n++;
				break;
			}
		}
	}
	reclaim_walk_end(&mmu->reclaim);
	return n;
}

static int64_t wrprot_slot(struct tdp_mmu *mmu, uint64_t start, uint64_t end, int min_level)
{
	struct tdp_page *root;
	int64_t n = 0;

	tdp_mmu_lock(mmu, TDP_SHARED);
	for_each_tdp_root(mmu, root, true, TDP_SHARED)
		n += wrprot_root(mmu, root, start, end, min_level);
	tdp_mmu_unlock(mmu, TDP_SHARED);
	return n;
}

/*
 * Clear W on the 4K leaves of @root that map gfn + i for each bit i of
 * @mask, write lock held.  Huge leaves are write-protected by enable and
 * never made writable while the slot logs; one can only still be writable
 * while an enable of this slot is running its own pass (a harvest that
 * raced with enable), and is protected here the same way.  Returns the
 * number of leaves protected.
 */
static int64_t wrprot_masked_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t gfn,
				  uint64_t mask)
{
	struct tdp_iter it;
	int64_t n = 0;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte(it, &mmu->arena, root, gfn + (uint64_t)__builtin_ctzll(mask), gfn + 64) {
		uint64_t covered, lo, hi;
		tdp_spte_t old;

		if (!spte_is_leaf(it.old_spte, it.level))
			continue;
		/* The bits of @mask this leaf maps: [lo, hi) relative to @gfn. */
		lo = it.gfn > gfn ? it.gfn - gfn : 0;
		hi = it.gfn + tdp_pages_per_level(it.level) - gfn;
		if (hi > 64)
			hi = 64;
		covered = (hi - lo == 64 ? ~0ull : (1ull << (hi - lo)) - 1) << lo;
		if (!(mask & covered))
			continue;
		mask &= ~covered;
		if (it.old_spte & wrprot_bits(it.level)) {
			/* Keep A/D that hardware or the fast path set since our read. */
			old = atomic_fetch_and(it.sptep, ~wrprot_bits(it.level));
			if (unlikely(!spte_is_leaf(old, it.level) ||
				     spte_pfn(old) != spte_pfn(it.old_spte)))
				tdp_bug("dirty log: leaf at gfn 0x%llx level %d became 0x%016llx "
					"(frame 0x%llx) under the write lock",
					(unsigned long long)it.gfn, it.level, (unsigned long long)old,
					(unsigned long long)spte_pfn(old));
			if (old & wrprot_bits(it.level)) {
				tdp_count(&mmu->counters, TDPMMU_C_LEAVES_WRPROT);
				n++;
			}
		}
		if (!mask)
			break;
	}
	reclaim_walk_end(&mmu->reclaim);
	return n;
}

/* Re-protect the pages of @words (bit i of word w: page base + 64 w + i).  Write lock. */
static int64_t wrprot_words(struct tdp_mmu *mmu, uint64_t base, uint64_t first_word,
			    const uint64_t *words, uint64_t nwords)
{
	struct tdp_page *root;
	int64_t n = 0;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	for_each_tdp_root(mmu, root, true, TDP_EXCLUSIVE)
		for (uint64_t w = 0; w < nwords; w++)
			if (words[w])
				n += wrprot_masked_root(mmu, root, base + (first_word + w) * 64,
							words[w]);
	return n;
}

int tdpmmu_dirty_log_enable(struct tdpmmu_vm *vm, uint32_t slot_id, unsigned flags)
{
	struct tdp_mmu *mmu;
	struct tdpmmu_memslot d;
	int64_t n;
	int r;

	if (!vm || (flags & ~LOG_FLAGS_KNOWN) ||
	    ((flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) && !(flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT)))
		return -EINVAL;
	mmu = &vm->mmu;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, NULL);
	if (r)
		return r;
	r = tdp_host_set_logging(&vm->host, slot_id, true, flags);
	if (r)
		return r;
	/* Faults that looked up the slot before this point start over. */
	tdp_notifier_bump(&vm->notifier, mmu);

	if (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT)
		eager_split_slot(mmu, d.base_gfn, d.base_gfn + d.npages);
	/*
	 * Initially-all-set: every page is already reported, so only huge
	 * leaves must go read-only (the first write then maps 4K).
	 */
	n = wrprot_slot(mmu, d.base_gfn, d.base_gfn + d.npages,
			flags & TDPMMU_DIRTY_LOG_INITIALLY_SET ? TDP_LEVEL_2M : TDP_LEVEL_4K);
	if (n)
		tdp_flush_remote_tlbs(mmu, 0, 0);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

static int popcount_words(const uint64_t *w, uint64_t n)
{
	int64_t c = 0;

	for (uint64_t i = 0; i < n; i++)
		c += __builtin_popcountll(w[i]);
	return c > INT32_MAX ? INT32_MAX : (int)c;
}

int tdpmmu_dirty_log_get(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t *bitmap)
{
	struct tdpmmu_memslot d;
	unsigned log_flags;
	uint64_t nwords;
	bool manual;
	int64_t n;
	int r;

	if (!vm || !bitmap)
		return -EINVAL;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, &log_flags);
	if (r)
		return r;
	if (!(log_flags & TDP_SLOT_LOGGING))
		return -EINVAL;
	nwords = (d.npages + 63) / 64;
	manual = log_flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT;
	/* -EINVAL if logging went off (or the slot changed size) in between. */
	r = tdp_host_dirty_words(&vm->host, slot_id, 0, nwords, !manual, bitmap);
	if (r)
		return r == -ENOENT ? r : -EINVAL;
	if (manual)
		return popcount_words(bitmap, nwords);

	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	n = wrprot_words(&vm->mmu, d.base_gfn, 0, bitmap, nwords);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	if (n)
		tdp_flush_remote_tlbs(&vm->mmu, 0, 0);
	return popcount_words(bitmap, nwords);
}

int tdpmmu_dirty_log_clear(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t first_page,
			   uint64_t mask)
{
	struct tdpmmu_memslot d;
	unsigned log_flags;
	uint64_t was_set;
	int64_t n;
	int r;

	if (!vm || first_page % 64)
		return -EINVAL;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, &log_flags);
	if (r)
		return r;
	if (!(log_flags & TDP_SLOT_LOGGING) || !(log_flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
		return -EINVAL;
	/* Range checks (first_page < npages, no bit past the end) are in here too. */
	r = tdp_host_dirty_clear_mask(&vm->host, slot_id, first_page, mask, &was_set);
	if (r)
		return r;
	if (!was_set)
		return 0;

	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	n = wrprot_words(&vm->mmu, d.base_gfn, first_page / 64, &was_set, 1);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	if (n)
		tdp_flush_remote_tlbs(&vm->mmu, 0, 0);
	return __builtin_popcountll(was_set);
}

int tdpmmu_dirty_log_disable(struct tdpmmu_vm *vm, uint32_t slot_id, enum tdpmmu_huge_recovery how)
{
	struct tdpmmu_memslot d;
	unsigned log_flags;
	int r;

	if (!vm || (how != TDPMMU_RECOVER_NONE && how != TDPMMU_RECOVER_ZAP &&
		    how != TDPMMU_RECOVER_INPLACE))
		return -EINVAL;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, &log_flags);
	if (r)
		return r;
	if (!(log_flags & TDP_SLOT_LOGGING))
		return -EINVAL;
	r = tdp_host_set_logging(&vm->host, slot_id, false, 0);
	if (r)
		return r == -EBUSY ? -EINVAL : r; /* someone else turned it off first */
	/* Faults that looked up "logging, 4K only" start over and may map huge. */
	tdp_notifier_bump(&vm->notifier, &vm->mmu);
	if (how == TDPMMU_RECOVER_NONE)
		return 0;
	return tdp_recover_huge_pages(vm, d.base_gfn, d.base_gfn + d.npages, how);
}
