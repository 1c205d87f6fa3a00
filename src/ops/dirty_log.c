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
 *   A pass that took MMU-writable away flushes before every yield and
 *   before it unlocks (struct wrprot_pass); W alone is flushed after the
 *   unlock, before enable returns.  With INITIALLY_SET enable changes no
 *   entry: each clear splits (with EAGER_SPLIT) and protects its range.
 * - get (without MANUAL_PROTECT) and clear take each bit away from the
 *   bitmap atomically (exchange or AND-NOT), then re-protect those pages
 *   under the WRITE lock.  A fault that marked a page does so under the
 *   read lock before installing its writable leaf, so either that leaf is
 *   already there when the write lock is ours (and loses W), or the mark
 *   came after the bit was taken and stays for the next harvest.  Under
 *   the write lock only lockless bit-setters race with us (hardware A/D,
 *   the fast path's W, aging's A), so W is cleared with an atomic
 *   fetch-and that keeps whatever they set.  The flush follows the unlock
 *   (before it if a huge leaf lost MMU-writable) and is issued whenever
 *   a bit was harvested, as KVM does, not only when a leaf changed here.
 * - disable publishes "not logging", bumps the notifier, and lets huge
 *   pages come back (huge_recovery.c) if asked.
 *
 * D-bit mode (TDPMMU_DIRTY_DBIT, KVM with PML).  The contract becomes:
 * while a slot logs, a writable 4K leaf in it has D clear, or its page is
 * marked, or its gfn sits in the PML log of the vCPU that set D (vcpu/
 * pml.h), or a harvester that took the page's bit is about to clear D.
 * enable counts the slot in vm->pml_slots and kicks every vCPU (so every
 * later D update is logged), then, under the READ lock, clears D on 4K
 * leaves by CAS from the snapshot (retried from the fresh value, FROZEN
 * skipped) and write-protects leaves of 2M and up as above; it flushes.
 * get and clear first kick every vCPU and wait (each exit flushes its
 * log into the bitmap), take the bits, then under the WRITE lock clear D
 * on the taken 4K pages with an atomic fetch-and, and flush after the
 * unlock whenever a bit was taken.  Faults still mark before they make a
 * leaf writable (vcpu_fault.c), and a read still maps without W.
 *
 * The race the mode adds: the simulated CPU sets D with a CAS from the
 * value its walk read (or from its TLB's copy, through the cached
 * pointer), while the MMU clears D.  Both are read-modify-writes of the
 * one 64-bit word, so they are totally ordered:
 * - the CPU's CAS first: it logged the gfn (the gate was up: enable's kick
 *   came before its pass), so the page is marked at the vCPU's next exit,
 *   which get's kick forces before the bits are taken, whatever the clear
 *   does to D afterwards (a page reported one harvest late at worst,
 *   never lost);
 * - the MMU's first: the CPU's CAS fails (its expected value has D clear
 *   but differs), or succeeds on the now clean word and logs; enable's
 *   CAS, failing against a CPU's, retries from the word that has D set
 *   and clears it again; the write lock's AND cannot fail and keeps the
 *   A (and W) the CPU set.
 * What the word cannot tell is a TLB entry that caches D: a vCPU holding
 * one writes without touching the leaf, unlogged.  So D cleared means a
 * flush before the call returns, always (enable, get, clear); after it a
 * write walks again, finds D clear and logs.  tests/concurrency/
 * test_dirty_log.c proves both orders happened (D cleared while vCPUs
 * wrote, dirty_bits_cleared with pml_entries_logged) under the oracle;
 * the broken build dbit-no-flush (no flush after a harvest cleared D)
 * loses a page in its part 1.  The kick before the harvest is not what
 * keeps pages (a gfn still in a log is marked at that vCPU's next exit
 * and reported one harvest later, as with KVM, whose kick does not wait);
 * waiting for it makes get report every D set before the call.
 *
 * Each public call holds the host's slots_lock from start to end (KVM's
 * dirty-log ioctls hold slots_lock): no memslot change comes between the
 * slot it reads and the range it protects.  Every walk sits inside reclaim_walk_begin/end; internal passes assert
 * the lock mode they were given.
 */
#include <errno.h>
#include <string.h>

#include "base/mutant.h"
#include "base/thread_slot.h"
#include "ops/huge_recovery.h"
#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"

#define LOG_FLAGS_KNOWN                                                                            \
	(TDPMMU_DIRTY_LOG_EAGER_SPLIT | TDPMMU_DIRTY_LOG_MANUAL_PROTECT |                          \
	 TDPMMU_DIRTY_LOG_INITIALLY_SET)

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
 * Split every huge leaf of @root in [start, end) down to 4K, MMU lock
 * held in @mode (read at enable, write at clear time).  Pre-order with
 * min level 2M: a 1G leaf becomes 2M leaves, which the walk then steps
 * into and splits again.  May drop and retake the lock to allocate.
 * Returns -ENOMEM when the arena ran out (the rest stays huge), else 0.
 */
static int split_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t start, uint64_t end,
		      struct split_stash *st, enum tdp_lock_mode mode)
{
	struct tdp_iter it;
	int r = 0;

	mmu_lock_assert_held(&mmu->lock, mode);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte_min_level(it, &mmu->arena, root, TDP_LEVEL_2M, start, end) {
		struct tdp_page *p;

		/* A split keeps every frame and bit: nothing to flush before a yield. */
		if (tdp_mmu_iter_cond_yield(mmu, &it, false, mode))
			continue;
retry:
		if (!spte_is_leaf(it.old_spte, it.level))
			continue; /* a table, nothing, or FROZEN (being zapped) */
		if (!st->nr) {
			/* Never allocate under the MMU lock: leave it, fill, restart. */
			reclaim_walk_end(&mmu->reclaim);
			tdp_mmu_unlock(mmu, mode);
			stash_fill(mmu, st);
			tdp_mmu_lock(mmu, mode);
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
		if (tdp_mmu_split_huge_leaf(mmu, &it, p, mode)) {
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

/*
 * Split [start, end) in every valid root, MMU lock held in @mode.  The
 * caller frees what is left in @st after it unlocks.
 */
static void split_range(struct tdp_mmu *mmu, uint64_t start, uint64_t end, enum tdp_lock_mode mode,
			struct split_stash *st)
{
	struct tdp_page *root;

	for_each_tdp_root(mmu, root, true, mode) {
		if (split_root(mmu, root, start, end, st, mode)) {
			tdp_root_put(mmu, root, mode);
			break;
		}
	}
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
 * What a write-protection pass owes the TLBs.  The rule (invariant 16 of
 * docs/testing.md): a leaf without MMU-writable has no writable TLB
 * entry once the lock is dropped, because write_protect_gfn and write
 * tracking find nothing to clear there and skip their flush.  So a pass
 * that took MMU-writable away flushes before it yields and before it
 * unlocks; W alone (a 4K leaf keeps MMU-writable) may wait until the end
 * of the call, before it returns.
 */
struct wrprot_pass {
	int64_t leaves;        /* leaves protected or re-armed (D cleared) */
	bool unflushed_mmu_wr; /* MMU-writable taken away since the last flush */
	bool dbit;             /* D-bit mode: 4K leaves lose D, not W (rearm_bits) */
};

/*
 * What re-arming a leaf for logging clears: in D-bit mode a 4K leaf keeps
 * W and loses D (the CPU logs the next write when it sets D again);
 * otherwise, and for every huge leaf, write protection (wrprot_bits).
 */
static tdp_spte_t rearm_bits(int level, bool dbit)
{
	return dbit && level == TDP_LEVEL_4K ? SPTE_DIRTY : wrprot_bits(level);
}

/* The mutant yield-no-flush yields and unlocks with MMU-writable gone, unflushed. */
#define FLUSH_MMU_WR_IN_LOCK (!TDP_MUTANT(YIELD_NO_FLUSH))

static void wrprot_pass_count(struct tdp_mmu *mmu, struct wrprot_pass *p, tdp_spte_t old,
			      tdp_spte_t cleared)
{
	tdp_count(&mmu->counters,
		  cleared == SPTE_DIRTY ? TDPMMU_C_DBIT_CLEARED : TDPMMU_C_LEAVES_WRPROT);
	/*
	 * The leaf's Dirty was the host's only record that the frame was
	 * written (it reaches the host when a dirty leaf goes, tdp_dirty_fn):
	 * hand it over now, as KVM's kvm_set_pfn_dirty here did up to 6.10.
	 */
	if ((old & cleared & SPTE_DIRTY) && mmu->dirty)
		mmu->dirty(mmu->dirty_ctx, spte_pfn(old), 1);
	p->leaves++;
	if (old & cleared & SPTE_MMU_WRITABLE)
		p->unflushed_mmu_wr = true;
}

/* MMU lock held: flush now if MMU-writable was taken away since the last flush. */
static void wrprot_pass_flush_locked(struct tdp_mmu *mmu, struct wrprot_pass *p)
{
	if (FLUSH_MMU_WR_IN_LOCK && p->unflushed_mmu_wr) {
		tdp_flush_remote_tlbs(mmu, 0, 0);
		p->unflushed_mmu_wr = false;
	}
}

/*
 * Re-arm every present leaf of @root in [start, end) at @min_level or
 * above (rearm_bits: write protection, or D cleared on 4K leaves in D-bit
 * mode), read lock held, by CAS beside faults and CPUs setting A/D.
 */
static void wrprot_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t start, uint64_t end,
			int min_level, struct wrprot_pass *p)
{
	struct tdp_iter it;

	mmu_lock_assert_held(&mmu->lock, TDP_SHARED);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte_min_level(it, &mmu->arena, root, min_level, start, end) {
		tdp_spte_t old = it.old_spte;
		bool flush = FLUSH_MMU_WR_IN_LOCK && p->unflushed_mmu_wr;

		if (tdp_mmu_iter_cond_yield(mmu, &it, flush, TDP_SHARED)) {
			p->unflushed_mmu_wr &= !flush;
			continue;
		}
		/*
		 * A failed CAS hands back the fresh value: go again from it (a CPU
		 * may just have set D or A, a fast fault W).  FROZEN is no leaf:
		 * its owner is zapping it.
		 */
		while (spte_is_leaf(old, it.level) && (old & rearm_bits(it.level, p->dbit))) {
			tdp_spte_t bits = rearm_bits(it.level, p->dbit);

			if (atomic_compare_exchange_weak(it.sptep, &old, old & ~bits)) {
				wrprot_pass_count(mmu, p, old, bits);
				break;
			}
		}
	}
	reclaim_walk_end(&mmu->reclaim);
}

/* Enable's pass, under the read lock; a flush follows it before enable returns. */
static int64_t wrprot_slot(struct tdp_mmu *mmu, uint64_t start, uint64_t end, int min_level,
			   bool dbit)
{
	struct wrprot_pass p = { .dbit = dbit };
	struct tdp_page *root;

	tdp_mmu_lock(mmu, TDP_SHARED);
	for_each_tdp_root(mmu, root, true, TDP_SHARED)
		wrprot_root(mmu, root, start, end, min_level, &p);
	wrprot_pass_flush_locked(mmu, &p);
	tdp_mmu_unlock(mmu, TDP_SHARED);
	/*
	 * Always, as KVM does after protecting the slot: even with nothing
	 * changed here, a harvest of an earlier logging session may still owe
	 * its flush, and the session starts only once no vCPU writes unseen.
	 */
	tdp_flush_remote_tlbs(mmu, 0, 0);
	return p.leaves;
}

/*
 * Re-arm the 4K leaves of @root that map gfn + i for each bit i of @mask
 * (clear W, or D in D-bit mode: KVM's kvm_tdp_mmu_clear_dirty_pt_masked),
 * write lock held.  A huge leaf that maps one of those pages loses
 * W and MMU-writable (wrprot_bits): with INITIALLY_SET it was left
 * writable at enable and this is the first clear of its range; without,
 * an enable of this slot is still running its own pass (a harvest that
 * raced with enable).
 */
static void wrprot_masked_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t gfn,
			       uint64_t mask, struct wrprot_pass *p)
{
	struct tdp_iter it;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte(it, &mmu->arena, root, gfn + (uint64_t)__builtin_ctzll(mask), gfn + 64) {
		uint64_t covered, lo, hi;
		tdp_spte_t old, bits;

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
		bits = rearm_bits(it.level, p->dbit);
		if (it.old_spte & bits) {
			/*
			 * Keep A/D that hardware or the fast path set since our read
			 * (and, in D-bit mode, W): one atomic AND, never a store.
			 */
			old = atomic_fetch_and(it.sptep, ~bits);
			if (unlikely(!spte_is_leaf(old, it.level) ||
				     spte_pfn(old) != spte_pfn(it.old_spte)))
				tdp_bug("dirty log: leaf at gfn 0x%llx level %d became 0x%016llx "
					"(frame 0x%llx) under the write lock",
					(unsigned long long)it.gfn, it.level,
					(unsigned long long)old, (unsigned long long)spte_pfn(old));
			if (old & bits)
				wrprot_pass_count(mmu, p, old, bits);
		}
		if (!mask)
			break;
	}
	reclaim_walk_end(&mmu->reclaim);
}

/* Re-protect the pages of @words (bit i of word w: page base + 64 w + i).  Write lock. */
static void wrprot_words(struct tdp_mmu *mmu, uint64_t base, uint64_t first_word,
			 const uint64_t *words, uint64_t nwords, struct wrprot_pass *p)
{
	struct tdp_page *root;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	for_each_tdp_root(mmu, root, true, TDP_EXCLUSIVE)
		for (uint64_t w = 0; w < nwords; w++)
			if (words[w])
				wrprot_masked_root(mmu, root, base + (first_word + w) * 64,
						   words[w], p);
}

/*
 * The harvest's flush, after the write lock is dropped.  As KVM's
 * kvm_get_dirty_log_protect and kvm_clear_dirty_log_protect do, it flushes
 * whenever a bit was harvested, not only when a leaf changed here: a leaf
 * found already without W may still be cached writable by a vCPU (some
 * path took W away and its flush has not been seen yet), and every write
 * after the harvest returns must fault and be logged.
 */
static void harvest_flush(struct tdp_mmu *mmu, const struct wrprot_pass *p, bool harvested)
{
	if (TDP_MUTANT(FLUSH_ONLY_CHANGED)) /* the mutant trusts the walk */
		harvested = p->leaves > 0;
	/* The mutant dbit-no-flush leaves stale Dirty in the TLBs (docs/testing.md). */
	if (TDP_MUTANT(DBIT_NO_FLUSH) && p->dbit)
		harvested = false;
	if (harvested)
		tdp_flush_remote_tlbs(mmu, 0, 0);
}

static int dirty_log_enable_locked(struct tdpmmu_vm *vm, uint32_t slot_id, unsigned flags)
{
	bool dbit = vm->dirty_mode == TDPMMU_DIRTY_DBIT;
	struct tdp_mmu *mmu;
	struct tdpmmu_memslot d;
	int64_t n;
	int r;

	if ((flags & ~LOG_FLAGS_KNOWN) || ((flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
					   !(flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT)))
		return -EINVAL;
	mmu = &vm->mmu;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, NULL);
	if (r)
		return r;
	r = tdp_host_set_logging(&vm->host, slot_id, true, flags);
	if (r)
		return r;
	/* D-bit mode: vCPUs log from their next D update (vcpu/pml.c). */
	if (dbit)
		atomic_fetch_add(&vm->pml_slots, 1);
	/* Faults that looked up the slot before this point start over. */
	tdp_notifier_bump(&vm->notifier, mmu);
	/*
	 * Every vCPU leaves guest mode once, so each D it sets from now on is
	 * logged, and each it set before is cleared by the pass below
	 * (KVM_REQ_UPDATE_CPU_DIRTY_LOGGING, but waited for; see the top).
	 */
	if (dbit)
		tdp_pml_sync_all(vm);

	/*
	 * Initially-all-set: every page is reported already, so nothing is
	 * split or protected now; each clear does it for its own range
	 * (KVM's kvm_arch_mmu_enable_log_dirty_pt_masked).
	 */
	if (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET)
		return 0;
	if (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT) {
		struct split_stash st = { .nr = 0 };

		tdp_mmu_lock(mmu, TDP_SHARED);
		split_range(mmu, d.base_gfn, d.base_gfn + d.npages, TDP_SHARED, &st);
		tdp_mmu_unlock(mmu, TDP_SHARED);
		stash_free(mmu, &st);
	}
	/* D-bit mode: D off the 4K leaves, W off the huge ones, in one walk. */
	n = wrprot_slot(mmu, d.base_gfn, d.base_gfn + d.npages, TDP_LEVEL_4K, dbit);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

static int popcount_words(const uint64_t *w, uint64_t n)
{
	int64_t c = 0;

	for (uint64_t i = 0; i < n; i++)
		c += __builtin_popcountll(w[i]);
	return c > INT32_MAX ? INT32_MAX : (int)c;
}

static int dirty_log_get_locked(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t *bitmap)
{
	struct wrprot_pass p = { .dbit = vm->dirty_mode == TDPMMU_DIRTY_DBIT };
	struct tdpmmu_memslot d;
	unsigned log_flags;
	uint64_t nwords;
	bool manual;
	int n, r;

	if (!bitmap)
		return -EINVAL;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, &log_flags);
	if (r)
		return r;
	if (!(log_flags & TDP_SLOT_LOGGING))
		return -EINVAL;
	nwords = (d.npages + 63) / 64;
	manual = log_flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT;
	/* Every D set so far reaches the bitmap first (kvm_arch_sync_dirty_log). */
	if (p.dbit)
		tdp_pml_sync_all(vm);
	/* -EINVAL if logging went off (or the slot changed size) in between. */
	r = tdp_host_dirty_words(&vm->host, slot_id, 0, nwords, !manual, bitmap);
	if (r)
		return r == -ENOENT ? r : -EINVAL;
	if (manual)
		return popcount_words(bitmap, nwords);

	n = popcount_words(bitmap, nwords);
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	wrprot_words(&vm->mmu, d.base_gfn, 0, bitmap, nwords, &p);
	wrprot_pass_flush_locked(&vm->mmu, &p);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	harvest_flush(&vm->mmu, &p, n > 0);
	return n;
}

static int dirty_log_clear_locked(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t first_page,
				  uint64_t mask)
{
	struct wrprot_pass p = { .dbit = vm->dirty_mode == TDPMMU_DIRTY_DBIT };
	struct split_stash st = { .nr = 0 };
	struct tdpmmu_memslot d;
	unsigned log_flags;
	uint64_t was_set, first;
	int r;

	if (first_page % 64)
		return -EINVAL;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, &log_flags);
	if (r)
		return r;
	if (!(log_flags & TDP_SLOT_LOGGING) || !(log_flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
		return -EINVAL;
	/* As get: the logs first (KVM's clear syncs too). */
	if (p.dbit)
		tdp_pml_sync_all(vm);
	/* Range checks (first_page < npages, no bit past the end) are in here too. */
	r = tdp_host_dirty_clear_mask(&vm->host, slot_id, first_page, mask, &was_set);
	if (r)
		return r;
	if (!was_set)
		return 0;

	first = d.base_gfn + first_page;
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	/*
	 * Initially-all-set with eager splitting: the huge leaves over the
	 * pages being cleared split now (no flush: same frames and bits), so
	 * their protection below is at 4K and the rest of each stays mapped.
	 */
	if ((log_flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
	    (log_flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT))
		split_range(&vm->mmu, first + (uint64_t)__builtin_ctzll(was_set),
			    first + 64 - (uint64_t)__builtin_clzll(was_set), TDP_EXCLUSIVE, &st);
	wrprot_words(&vm->mmu, d.base_gfn, first_page / 64, &was_set, 1, &p);
	wrprot_pass_flush_locked(&vm->mmu, &p);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	stash_free(&vm->mmu, &st);
	harvest_flush(&vm->mmu, &p, true);
	return __builtin_popcountll(was_set);
}

static int dirty_log_disable_locked(struct tdpmmu_vm *vm, uint32_t slot_id,
				    enum tdpmmu_huge_recovery how)
{
	struct tdpmmu_memslot d;
	unsigned log_flags;
	int r;

	if (how != TDPMMU_RECOVER_NONE && how != TDPMMU_RECOVER_ZAP &&
	    how != TDPMMU_RECOVER_INPLACE)
		return -EINVAL;
	r = tdp_host_get_slot(&vm->host, slot_id, &d, &log_flags);
	if (r)
		return r;
	if (!(log_flags & TDP_SLOT_LOGGING))
		return -EINVAL;
	r = tdp_host_set_logging(&vm->host, slot_id, false, 0);
	if (r)
		return r == -EBUSY ? -EINVAL : r; /* someone else turned it off first */
	/* A log entry still buffered for the slot marks nothing now (no bitmap). */
	if (vm->dirty_mode == TDPMMU_DIRTY_DBIT)
		atomic_fetch_sub(&vm->pml_slots, 1);
	/* Faults that looked up "logging, 4K only" start over and may map huge. */
	tdp_notifier_bump(&vm->notifier, &vm->mmu);
	if (how == TDPMMU_RECOVER_NONE)
		return 0;
	return tdp_recover_huge_pages(vm, d.base_gfn, d.base_gfn + d.npages, how);
}

/* The public calls: slots_lock around each (see the top of the file). */
int tdpmmu_dirty_log_enable(struct tdpmmu_vm *vm, uint32_t slot_id, unsigned flags)
{
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	tdp_host_lock(&vm->host);
	r = dirty_log_enable_locked(vm, slot_id, flags);
	tdp_host_unlock(&vm->host);
	return r;
}

int tdpmmu_dirty_log_get(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t *bitmap)
{
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	tdp_host_lock(&vm->host);
	r = dirty_log_get_locked(vm, slot_id, bitmap);
	tdp_host_unlock(&vm->host);
	return r;
}

int tdpmmu_dirty_log_clear(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t first_page,
			   uint64_t mask)
{
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	tdp_host_lock(&vm->host);
	r = dirty_log_clear_locked(vm, slot_id, first_page, mask);
	tdp_host_unlock(&vm->host);
	return r;
}

int tdpmmu_dirty_log_disable(struct tdpmmu_vm *vm, uint32_t slot_id, enum tdpmmu_huge_recovery how)
{
	int r;

	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm)
		return -EINVAL;
	tdp_host_lock(&vm->host);
	r = dirty_log_disable_locked(vm, slot_id, how);
	tdp_host_unlock(&vm->host);
	return r;
}

/* ---- the dirty ring's re-protection (dirty_ring.c; ops/dirty_ring.h) ---- */

/*
 * Write-protect pages first_page + i of slot @slot_id for each bit i of
 * @mask (KVM's kvm_arch_mmu_enable_log_dirty_pt_masked from the ring's
 * reset), MMU write lock, slots_lock held by the caller.  Bits past the
 * slot's end, or a slot gone, protect nothing.  The caller flushes.
 */
int tdp_dirty_log_reprotect_mask(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t first_page,
				 uint64_t mask)
{
	struct wrprot_pass p = { .dbit = vm->dirty_mode == TDPMMU_DIRTY_DBIT };
	struct tdpmmu_memslot d;
	struct tdp_page *root;
	int r;

	r = tdp_host_get_slot(&vm->host, slot_id, &d, NULL);
	if (r)
		return r;
	if (first_page >= d.npages)
		return 0;
	if (d.npages - first_page < 64)
		mask &= (1ull << (d.npages - first_page)) - 1;
	if (!mask)
		return 0;
	tdp_mmu_lock(&vm->mmu, TDP_EXCLUSIVE);
	for_each_tdp_root(&vm->mmu, root, true, TDP_EXCLUSIVE)
		wrprot_masked_root(&vm->mmu, root, d.base_gfn + first_page, mask, &p);
	wrprot_pass_flush_locked(&vm->mmu, &p);
	tdp_mmu_unlock(&vm->mmu, TDP_EXCLUSIVE);
	return p.leaves > INT32_MAX ? INT32_MAX : (int)p.leaves;
}
