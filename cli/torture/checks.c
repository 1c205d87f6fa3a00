/*
 * checks.c - what must hold at a quiescent point of a torture round, with
 * every thread the torture started parked (or stopped; the library's NX
 * recovery thread still runs): the audit and the TLB audit, KVM's
 * dirty_log_test oracle while the THP slot logs, every word through the
 * host and every mapped word's frame, Dirty never lost, the slot churn's
 * checks (slots.c) and the reclamation counts.  Main thread only.
 */
#include <sched.h>

#include "torture/round.h"

/* A written page keeps Dirty in its leaf or in its host frame. */
static bool dirty_somewhere(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;
	bool dirty = false;

	if (!tdpmmu_lookup(vm, gfn, &m) && m.present && tdpmmu_spte_dirty(m.spte))
		return true;
	return !tdpmmu_host_dirty(vm, gfn, &dirty) && dirty;
}

/*
 * KVM's dirty_log_test oracle at a quiescent point: harvest the THP slot
 * now; every page written by an access chosen after the last harvest
 * returned must be in it.
 */
static void dirty_log_oracle(struct round *r)
{
	static uint64_t bitmap[THP_PAGES / 64];
	uint64_t epoch = atomic_load(&r->epoch);
	int e = tdpmmu_dirty_log_get(r->vm, 0, bitmap);

	if (e < 0) {
		VIOLATION(r, "dirty-log oracle: get returned %d", e);
		return;
	}
	r->oracle_checked++;
	for (uint64_t gfn = 0; gfn < THP_PAGES; gfn++) {
		if (atomic_load(&r->log_epoch[gfn]) != epoch)
			continue;
		r->oracle_pages++;
		if (!(bitmap[gfn / 64] >> (gfn % 64) & 1))
			VIOLATION(r,
				  "dirty-log oracle: gfn 0x%llx was written after the last "
				  "harvest returned, and this harvest does not report it",
				  (unsigned long long)gfn);
	}
	atomic_fetch_add(&r->epoch, 1);
}

/*
 * Everything the torture started is parked (or stopped): check what must
 * hold at rest.  The library's NX recovery thread still runs.
 */
void quiescent_checks(struct round *r)
{
	struct tdpmmu_reclaim_stats rs;
	int bad;

	bad = tdpmmu_audit(r->vm);
	if (bad)
		VIOLATION(r, "audit: %d violations (details above)", bad);
	bad = tdpmmu_audit_tlbs(r->vm);
	if (bad)
		VIOLATION(r,
			  "TLB audit: %d translations grant more than their leaves (details "
			  "above)",
			  bad);
	if (r->logging)
		dirty_log_oracle(r);
	for (unsigned i = 0; i < r->n; i++) {
		for (int j = 0; j < WORDS; j++) {
			const struct tword *w = &r->g[i].w[j];
			uint64_t gfn = w->gpa >> 12, v = 0, pfn = 0;
			struct tdpmmu_mapping m;

			if (tdpmmu_host_read(r->vm, w->gpa, &v) || v != w->last)
				VIOLATION(
					r,
					"word at gpa 0x%llx: host has 0x%llx, vCPU %u wrote 0x%llx",
					(unsigned long long)w->gpa, (unsigned long long)v, i,
					(unsigned long long)w->last);
			if (!tdpmmu_lookup(r->vm, gfn, &m) && m.present &&
			    (tdpmmu_host_pfn(r->vm, gfn, &pfn) || m.pfn != pfn))
				VIOLATION(r, "gfn 0x%llx maps frame 0x%llx, the host's is 0x%llx",
					  (unsigned long long)gfn, (unsigned long long)m.pfn,
					  (unsigned long long)pfn);
		}
	}
	for (uint64_t gfn = 0; gfn < ALL_PAGES; gfn++) {
		if (!(atomic_load(&r->written[gfn / 64]) & (1ull << (gfn % 64))) ||
		    dirty_somewhere(r->vm, gfn))
			continue;
		/*
		 * The NX recovery thread is not parked: it may have unlinked the
		 * table of this leaf and not yet torn it down (which marks the
		 * frame).  The audit's write lock waits for that; look again.
		 */
		(void)tdpmmu_audit(r->vm);
		if (!dirty_somewhere(r->vm, gfn))
			VIOLATION(r,
				  "gfn 0x%llx was written, but neither its leaf nor its frame is "
				  "dirty: a Dirty bit was lost",
				  (unsigned long long)gfn);
	}
	/* The host writes everything back: the next period starts clean. */
	for (uint64_t i = 0; i < ALL_PAGES / 64; i++)
		atomic_store(&r->written[i], 0);
	for (uint64_t gfn = 0; gfn < ALL_PAGES; gfn++)
		if (tdpmmu_host_writeback(r->vm, gfn))
			VIOLATION(r, "writeback of gfn 0x%llx failed", (unsigned long long)gfn);
	torture_slots_check(r->slots);
	/*
	 * The NX recovery thread and the strategy's own freeing (RCU
	 * callbacks, drains) still run: a table between its two counts makes
	 * one read disagree.  Only a disagreement that stays is a violation.
	 */
	for (int i = 0; i < 1000; i++) {
		tdpmmu_reclaim_stats_read(r->vm, &rs);
		if (rs.freed <= rs.retired && rs.outstanding == rs.retired - rs.freed)
			break;
		sched_yield();
	}
	if (rs.freed > rs.retired || rs.outstanding != rs.retired - rs.freed)
		VIOLATION(r, "reclaim: %llu retired, %llu freed, %llu outstanding",
			  (unsigned long long)rs.retired, (unsigned long long)rs.freed,
			  (unsigned long long)rs.outstanding);
}
