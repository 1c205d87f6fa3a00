/*
 * tdp_mmu.c - MMU life cycle, TLB flush hook, yielding, zapping, lookup
 * and the full-walk audit.
 *
 * Concurrency:
 * - zap_leafs and zap_all run under the write lock (asserted).  They still
 *   run inside a walk: lockless walkers may be reading the tables they
 *   disconnect, so removed tables go through reclaim_retire like any other,
 *   and the flush is issued before the walk (and the lock) is released.
 * - tdp_mmu_iter_cond_yield flushes first when the caller has unflushed
 *   zaps, then leaves the walk and the lock; the iterator restarts at the
 *   root afterwards.  It only yields after forward progress, and only
 *   when the preemption model says so (mmu_lock.h).
 * - lookup takes no lock at all, only walk protection: it reads entries
 *   with atomic loads and treats FROZEN like non-present.
 * - audit takes the write lock, so the tree is still apart from hardware
 *   A/D updates, which it does not look at.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "base/inject.h"
#include "base/mutant.h"
#include "mmu/nx_list.h"
#include "mmu/strategy.h"
#include "mmu/tdp_mmu_internal.h"
#include "mmu/tdp_root.h"
#include "base/lock_rank.h"

#define TDP_YIELD_CHECK_STEPS 64 /* entries between two reads of the clock */

/* Reclamation's view of the MMU (reclaim.h): all it may ask of it. */
static void reclaim_flush_all(void *ctx)
{
	tdp_flush_remote_tlbs(ctx, 0, 0);
}

static void reclaim_free(void *ctx, struct tdp_page *p)
{
	struct tdp_mmu *mmu = ctx;

	tdp_page_free(&mmu->arena, p);
	tdp_count(&mmu->counters, TDPMMU_C_TABLES_FREED);
}

int tdp_mmu_init(struct tdp_mmu *mmu, int levels, uint64_t max_tables,
		 enum tdpmmu_strategy strategy, unsigned drain_delay_ms, tdp_flush_fn flush,
		 void *flush_ctx)
{
	const struct tdp_reclaim_ops ops = { reclaim_flush_all, reclaim_free, mmu };
	const struct tdp_strategy *st = tdp_strategy(strategy);
	const struct tdp_fault_lock_traits *fl;
	int r;

	memset(mmu, 0, sizeof(*mmu));
	if ((levels != 4 && levels != 5) || !st)
		return -EINVAL;
	fl = tdp_fault_lock_traits(st->fault_lock);
	if (!fl)
		return -EINVAL;
	mmu->fault_lock = *fl;
	r = mmu_lock_init(&mmu->lock, fl->single_lock);
	if (r)
		return r;
	r = tdp_counters_init(&mmu->counters);
	if (r)
		goto err_lock;
	r = reclaim_init(&mmu->reclaim, st->reclaim, strategy, &mmu->lock, drain_delay_ms, &ops);
	if (r)
		goto err_counters;
	r = tdp_arena_init(&mmu->arena, max_tables);
	if (r)
		goto err_reclaim;
	tdp_pages_init(&mmu->pages, TDPMMU_PAGES_COUNT); /* tdp_pages_set_mode may change it */
	mmu->root_level = levels;
	mmu->max_gfn = 1ull << (levels * TDP_PT_BITS);
	mmu->flush = flush;
	mmu->flush_ctx = flush_ctx;
	tdp_nx_list_init(mmu);
	pthread_mutex_init(&mmu->fast_zap_mutex, NULL);
	/* Roots come with the first vCPU that needs one (tdp_root_get_or_alloc). */
	return 0;

err_reclaim:
	reclaim_destroy(&mmu->reclaim);
err_counters:
	tdp_counters_destroy(&mmu->counters);
err_lock:
	mmu_lock_destroy(&mmu->lock);
	return r;
}

void tdp_mmu_destroy(struct tdp_mmu *mmu)
{
	enum tdp_lock_mode unlink = tdp_mmu_unlink_mode(mmu);
	struct tdp_page *root;
	uint64_t left;

	/*
	 * Every vCPU is gone, so the MMU holds the only reference to each root
	 * still on the list.  Invalidate, zap and put them all.
	 */
	tdp_mutex_lock(&mmu->fast_zap_mutex, TDP_RANK_FAST_ZAP);
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	tdp_roots_invalidate_all(mmu);
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	tdp_mmu_lock(mmu, unlink);
	tdp_roots_zap_invalidated(mmu, unlink);
	tdp_mmu_unlock(mmu, unlink);
	tdp_mutex_unlock(&mmu->fast_zap_mutex, TDP_RANK_FAST_ZAP);
	root = atomic_load(&mmu->roots);
	if (root)
		tdp_bug("teardown: root at frame 0x%llx still has %d references",
			(unsigned long long)tdp_page_pfn(&mmu->arena, root),
			atomic_load(&root->root_refs));
	/* Every table retired above or earlier is freed once this returns. */
	reclaim_barrier(&mmu->reclaim);

	/* Upstream's check: no table accounted, no root left (and ours: none allocated). */
	left = tdp_arena_in_use(&mmu->arena);
	if (left || tdp_pages_nr(&mmu->pages) || atomic_load(&mmu->roots))
		tdp_bug("teardown: %llu tables still allocated, %lld accounted in use (%s), "
			"roots %s",
			(unsigned long long)left, (long long)tdp_pages_nr(&mmu->pages),
			tdp_pages_is_list(&mmu->pages) ? "list" : "count",
			atomic_load(&mmu->roots) ? "left" : "none");
	for (int i = TDPMMU_C_TABLES_L1; i <= TDPMMU_C_LEAVES_1G; i++)
		if (tdp_counter_read(&mmu->counters, (enum tdpmmu_counter)i))
			tdp_bug("teardown: counter %s is %lld, not 0",
				tdp_counter_name((enum tdpmmu_counter)i),
				(long long)tdp_counter_read(&mmu->counters,
							    (enum tdpmmu_counter)i));
	pthread_mutex_destroy(&mmu->fast_zap_mutex);
	tdp_pages_destroy(&mmu->pages);
	tdp_arena_destroy(&mmu->arena);
	reclaim_destroy(&mmu->reclaim);
	tdp_counters_destroy(&mmu->counters);
	mmu_lock_destroy(&mmu->lock);
}

void tdp_flush_remote_tlbs(struct tdp_mmu *mmu, uint64_t gfn, int level)
{
	uint64_t started = reclaim_flush_begin(&mmu->reclaim);

	tdp_count(&mmu->counters, TDPMMU_C_TLB_FLUSHES);
	/* The mutant skip-flush (docs/testing.md) tells no vCPU. */
	if (mmu->flush && !TDP_MUTANT(SKIP_FLUSH))
		mmu->flush(mmu->flush_ctx, gfn, level);
	reclaim_flush_end(&mmu->reclaim, started);
}

/*
 * Yield points (the kernel's cond_resched_rwlock_read/write): a long
 * operation breaks its hold when mmu_lock_needbreak says a waiter counts
 * (only under a preemptible model, mmu_lock.h) or when its slice is used
 * up (the need_resched stand-in, under every model); tests can force a
 * break through tdp_inject_yield_hook.
 */
bool tdp_mmu_need_resched(struct tdp_mmu *mmu, enum tdp_lock_mode mode, uint64_t slice_start)
{
	if (mmu_lock_needbreak(&mmu->lock, mode) ||
	    mmu_lock_slice_used(&mmu->lock, slice_start, tdp_now_ns()))
		return true;
	return unlikely(tdp_inject_yield_hook) && tdp_inject_yield_hook(true);
}

void tdp_mmu_resched(struct tdp_mmu *mmu, enum tdp_lock_mode mode, bool flush)
{
	mmu_lock_assert_held(&mmu->lock, mode);
	if (flush)
		tdp_flush_remote_tlbs(mmu, 0, 0);
	reclaim_walk_end(&mmu->reclaim);
	tdp_mmu_unlock(mmu, mode);
	if (unlikely(tdp_inject_yield_hook))
		tdp_inject_yield_hook(false);
	sched_yield();
	tdp_mmu_lock(mmu, mode);
	reclaim_walk_begin(&mmu->reclaim);
}

/* Checked every TDP_YIELD_CHECK_STEPS entries; the slice starts at the first check. */
static bool slice_used(struct tdp_mmu *mmu, struct tdp_iter *it)
{
	uint64_t now;

	if (++it->steps % TDP_YIELD_CHECK_STEPS)
		return false;
	now = tdp_now_ns();
	if (!it->slice_start)
		it->slice_start = now;
	return mmu_lock_slice_used(&mmu->lock, it->slice_start, now);
}

bool tdp_mmu_iter_cond_yield(struct tdp_mmu *mmu, struct tdp_iter *it, bool flush,
			     enum tdp_lock_mode mode)
{
	mmu_lock_assert_held(&mmu->lock, mode);
	/* Forward progress: never yield twice at the same place. */
	if (it->next_last_level_gfn == it->yielded_gfn)
		return false;
	if (!mmu_lock_needbreak(&mmu->lock, mode) && !slice_used(mmu, it) &&
	    !(unlikely(tdp_inject_yield_hook) && tdp_inject_yield_hook(true)))
		return false;

	tdp_mmu_resched(mmu, mode, flush);
	if (unlikely(it->gfn > it->next_last_level_gfn))
		tdp_bug("yield at gfn 0x%llx past the resume point 0x%llx",
			(unsigned long long)it->gfn, (unsigned long long)it->next_last_level_gfn);
	it->yielded = true;
	it->steps = 0;
	it->slice_start = 0;
	tdp_count(&mmu->counters, TDPMMU_C_ITER_YIELDS);
	return true;
}

static bool zap_leafs_root(struct tdp_mmu *mmu, struct tdp_page *root, uint64_t start, uint64_t end,
			   bool can_yield, bool flush)
{
	struct tdp_iter it;

	reclaim_walk_begin(&mmu->reclaim);
	for_each_tdp_pte(it, &mmu->arena, root, start, end) {
		if (can_yield && tdp_mmu_iter_cond_yield(mmu, &it, flush, TDP_EXCLUSIVE)) {
			flush = false;
			continue;
		}
		if (!spte_is_leaf(it.old_spte, it.level))
			continue;
		tdp_set_spte(mmu, &it, SPTE_NONPRESENT);
		tdp_count(&mmu->counters, TDPMMU_C_LEAVES_ZAPPED);
		flush = true;
	}
	reclaim_walk_end(&mmu->reclaim);
	return flush;
}

bool tdp_mmu_zap_leafs(struct tdp_mmu *mmu, uint64_t start, uint64_t end, bool can_yield,
		       bool flush)
{
	struct tdp_page *root;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	if (end > mmu->max_gfn)
		end = mmu->max_gfn;
	/* Invalid roots too: a vCPU may still hold one until it reloads. */
	for_each_tdp_root(mmu, root, false, TDP_EXCLUSIVE)
		flush = zap_leafs_root(mmu, root, start, end, can_yield, flush);
	return flush;
}

void tdp_mmu_zap_all(struct tdp_mmu *mmu)
{
	struct tdp_page *root;
	struct tdp_iter it;
	bool flush = false;

	mmu_lock_assert_held(&mmu->lock, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	/* The write lock keeps the root list still. */
	for (root = atomic_load_explicit(&mmu->roots, memory_order_relaxed); root;
	     root = atomic_load_explicit(&root->root_next, memory_order_relaxed)) {
		for_each_tdp_pte_min_level(it, &mmu->arena, root, root->level, 0, mmu->max_gfn) {
			if (!spte_is_present(it.old_spte))
				continue;
			tdp_set_spte(mmu, &it, SPTE_NONPRESENT);
			flush = true;
		}
	}
	/* Before the walk ends: the tables retired above cannot be freed yet. */
	if (flush)
		tdp_flush_remote_tlbs(mmu, 0, 0);
	reclaim_walk_end(&mmu->reclaim);
}

int tdp_mmu_lookup(struct tdp_mmu *mmu, unsigned role, uint64_t gfn, tdp_spte_t *leaf)
{
	struct tdp_page *root;
	struct tdp_iter it;
	int level = 0;

	reclaim_lockless_begin(&mmu->reclaim);
	root = tdp_root_find_valid(mmu, role);
	if (root) {
		for_each_tdp_pte(it, &mmu->arena, root, gfn, gfn + 1) {
			if (spte_is_leaf(it.old_spte, it.level)) {
				*leaf = it.old_spte;
				level = it.level;
				break;
			}
		}
	}
	reclaim_lockless_end(&mmu->reclaim);
	return level;
}

struct audit_ctx {
	struct tdp_mmu *mmu;
	tdp_leaf_check_fn check;
	void *check_ctx;
	struct tdp_walk_totals *t;
	int violations;
};

static void audit_report(struct audit_ctx *a, const char *what, uint64_t gfn, int level,
			 tdp_spte_t s)
{
	if (a->violations++ < 20)
		fprintf(stderr,
			"audit: %s: gfn 0x%" PRIx64 " level %d entry 0x%016" PRIx64
			" frame 0x%" PRIx64 "\n",
			what, gfn, level, s, spte_pfn(s));
}

static void audit_table(struct audit_ctx *a, struct tdp_page *p)
{
	_Atomic(tdp_spte_t) *pt = tdp_page_table(&a->mmu->arena, p);
	uint64_t step = tdp_pages_per_level(p->level);

	a->t->tables[p->level]++;
	if (!p->accounted || atomic_load(&p->retired))
		audit_report(a, "reachable table is retired or not accounted in use", p->gfn,
			     p->level, 0);
	for (unsigned i = 0; i < TDP_PTES_PER_TABLE; i++) {
		tdp_spte_t s = tdp_read_spte(&pt[i]);
		uint64_t gfn = p->gfn + i * step;

		if (spte_is_frozen(s)) {
			a->t->frozen++;
			audit_report(a, "FROZEN entry in a live table at a quiescent point", gfn,
				     p->level, s);
		} else if (spte_is_mmio(s)) {
			/* Not a leaf: the VM's check says where one may stand. */
			if (!a->check || !a->check(a->check_ctx, gfn, p->level, s))
				audit_report(a, "MMIO entry where a memslot maps the gfn", gfn,
					     p->level, s);
		} else if (!spte_is_present(s)) {
			if (s != SPTE_NONPRESENT)
				audit_report(a, "unexpected non-present value", gfn, p->level, s);
		} else if (spte_is_last(s, p->level)) {
			if (p->level > TDP_MAX_HUGE_LEVEL) {
				audit_report(a, "leaf above 1G", gfn, p->level, s);
				continue;
			}
			a->t->leaves[p->level]++;
			if (spte_pfn(s) & (step - 1))
				audit_report(a, "leaf frame not aligned to its level", gfn,
					     p->level, s);
			if (!spte_writable_bits_consistent(s))
				audit_report(a, "W/MMU-writable/host-writable inconsistent", gfn,
					     p->level, s);
			if (a->check && !a->check(a->check_ctx, gfn, p->level, s))
				audit_report(a, "leaf maps the wrong frame", gfn, p->level, s);
		} else {
			struct tdp_page *child = tdp_page_from_pfn(&a->mmu->arena, spte_pfn(s));

			if (child->level != p->level - 1 || child->gfn != gfn)
				audit_report(a, "child table metadata disagrees with its parent",
					     gfn, p->level, s);
			else
				audit_table(a, child);
		}
	}
}

static void audit_compare(struct audit_ctx *a, const char *name, int64_t walked,
			  enum tdpmmu_counter c)
{
	int64_t counted = tdp_counter_read(&a->mmu->counters, c);

	if (walked != counted && a->violations++ < 20)
		fprintf(stderr, "audit: %s: full walk found %lld, accounting says %lld\n", name,
			(long long)walked, (long long)counted);
}

int tdp_mmu_audit(struct tdp_mmu *mmu, tdp_leaf_check_fn check, void *ctx,
		  struct tdp_walk_totals *totals)
{
	struct tdp_walk_totals t;
	struct audit_ctx a = { mmu, check, ctx, &t, 0 };
	int64_t nr_tables = 0;

	memset(&t, 0, sizeof(t));
	tdp_mmu_lock(mmu, TDP_EXCLUSIVE);
	reclaim_walk_begin(&mmu->reclaim);
	for (struct tdp_page *root = atomic_load_explicit(&mmu->roots, memory_order_relaxed); root;
	     root = atomic_load_explicit(&root->root_next, memory_order_relaxed)) {
		if (atomic_load(&root->root_refs) <= 0)
			audit_report(&a, "root on the list without references", 0, root->level, 0);
		audit_table(&a, root);
	}
	reclaim_walk_end(&mmu->reclaim);
	for (int l = TDP_LEVEL_4K; l <= TDP_LEVEL_MAX; l++) {
		audit_compare(&a,
			      tdp_counter_name((enum tdpmmu_counter)(TDPMMU_C_TABLES_L1 + l - 1)),
			      t.tables[l], (enum tdpmmu_counter)(TDPMMU_C_TABLES_L1 + l - 1));
		nr_tables += t.tables[l];
	}
	audit_compare(&a, "leaves_4k", t.leaves[TDP_LEVEL_4K], TDPMMU_C_LEAVES_4K);
	audit_compare(&a, "leaves_2m", t.leaves[TDP_LEVEL_2M], TDPMMU_C_LEAVES_2M);
	audit_compare(&a, "leaves_1g", t.leaves[TDP_LEVEL_1G], TDPMMU_C_LEAVES_1G);
	/*
	 * Both modes: the tables accounted in use are those a walk of the
	 * roots reaches (at a quiescent point nothing is half linked).  LIST:
	 * the list itself is whole and as long as that too.
	 */
	if (nr_tables != tdp_pages_nr(&mmu->pages) && a.violations++ < 20)
		fprintf(stderr, "audit: %s says %lld tables in use, walk found %lld\n",
			tdp_pages_is_list(&mmu->pages) ? "in-use list" : "page count",
			(long long)tdp_pages_nr(&mmu->pages), (long long)nr_tables);
	if (tdp_pages_is_list(&mmu->pages) &&
	    tdp_pages_check_list(&mmu->pages, &mmu->arena, &a.violations) != nr_tables &&
	    a.violations++ < 20)
		fprintf(stderr, "audit: in-use list and walk disagree\n");
	tdp_mmu_unlock(mmu, TDP_EXCLUSIVE);
	if (totals)
		*totals = t;
	return a.violations;
}
