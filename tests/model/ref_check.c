/*
 * ref_check.c - the reference model's checks against the library
 * (ref_model.h): each gfn's lookup against the model and the invariants of
 * any leaf, the leaf and table counters, the dirty bitmaps, the NX list.
 * Mismatches go to ref_violation().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model/ref_internal.h"
#include "model/ref_model.h"
#include "tdpmmu/testing.h"

/* --- checks --------------------------------------------------------------- */

static bool exact_matches(uint64_t g, const struct tdpmmu_mapping *m, uint64_t pfn)
{
	uint8_t v = ref.leaf[g];

	if (m->present != (ref_lvl(g) != 0))
		return false;
	if (!m->present)
		return true;
	return m->level == ref_lvl(g) && m->pfn == pfn &&
	       tdpmmu_spte_writable(m->spte) == !!(v & REF_W) &&
	       tdpmmu_spte_mmu_writable(m->spte) == !!(v & REF_MW) &&
	       tdpmmu_spte_accessed(m->spte) == !!(v & REF_A) &&
	       tdpmmu_spte_dirty(m->spte) == !!(v & REF_D) &&
	       !!(m->spte & TDPMMU_SPTE_X) == !!(v & REF_X) &&
	       tdpmmu_spte_host_writable(m->spte) == !ref_in_ro(g);
}

static const char *vague_name(const uint8_t *v)
{
	return !v ? "untracked" : *v == 0 ? "absent" : *v == REF_PRESENT ? "present" : "unknown";
}

bool ref_check_leaf(struct tdpmmu_vm *vm, uint64_t g, const struct tdpmmu_mapping *m, bool whole)
{
	uint64_t before = ref.mismatches, pfn = 0, first;
	uint8_t *v = ref_entry(g);
	struct ref_slot *s = ref_slot_of(g);
	/* Only where the exact model compares frames, or a leaf maps one. */
	int r = s && (ref.exact || m->present) ? tdpmmu_host_pfn(vm, g, &pfn) : -ENOENT;
	bool w;

	if (ref.exact && s && r)
		ref_violation("gfn 0x%" PRIx64 ": tdpmmu_host_pfn = %d in slot %u", g, r, s->d.id);
	if (v && ref.exact && !exact_matches(g, m, pfn))
		ref_violation("gfn 0x%" PRIx64 ": mmu present=%d level=%d pfn=0x%" PRIx64
			      " spte 0x%016" PRIx64 "; model level=%d W=%d MW=%d A=%d D=%d X=%d"
			      " pfn=0x%" PRIx64,
			      g, m->present, m->level, m->pfn, m->spte, ref_lvl(g), !!(*v & REF_W),
			      !!(*v & REF_MW), !!(*v & REF_A), !!(*v & REF_D), !!(*v & REF_X), pfn);
	if (v && !ref.exact && ((*v == 0 && m->present) || (*v == REF_PRESENT && !m->present)))
		ref_violation("gfn 0x%" PRIx64 ": expected %s, got %s (level %d pfn 0x%" PRIx64
			      " spte 0x%016" PRIx64 ")",
			      g, vague_name(v), m->present ? "present" : "absent", m->level, m->pfn,
			      m->spte);
	if (!m->present)
		return ref.mismatches == before;
	if (!s) {
		ref_violation("gfn 0x%" PRIx64 ": mapped (spte 0x%016" PRIx64
			      ") outside every memslot",
			      g, m->spte);
		return false;
	}
	if (r || pfn != m->pfn)
		ref_violation("gfn 0x%" PRIx64 ": leaf maps frame 0x%" PRIx64
			      ", expected host frame 0x%" PRIx64
			      " (tdpmmu_host_pfn = %d), level %d spte 0x%016" PRIx64,
			      g, m->pfn, pfn, r, m->level, m->spte);
	if (m->level < 1 || m->level > 3 || !(m->spte & TDPMMU_SPTE_MMU_PRESENT)) {
		ref_violation("gfn 0x%" PRIx64 ": bad leaf: level %d spte 0x%016" PRIx64, g,
			      m->level, m->spte);
		return false;
	}
	if (s->d.backing == TDPMMU_BACKING_ANON && m->level != 1)
		ref_violation("gfn 0x%" PRIx64 ": level %d leaf in anon slot %u", g, m->level,
			      s->d.id);
	w = tdpmmu_spte_writable(m->spte);
	if ((s->d.flags & TDPMMU_MEMSLOT_READONLY) && (w || tdpmmu_spte_host_writable(m->spte)))
		ref_violation("gfn 0x%" PRIx64 ": writable leaf (spte 0x%016" PRIx64
			      ") in read-only slot %u",
			      g, m->spte, s->d.id);
	if (w && ref_tracked(g))
		ref_violation("gfn 0x%" PRIx64
			      ": write-tracked but mapped writable (spte 0x%016" PRIx64 ")",
			      g, m->spte);
	if (ref.nx && m->level > 1 && (m->spte & TDPMMU_SPTE_X))
		ref_violation("gfn 0x%" PRIx64 ": executable huge leaf under NX (spte 0x%016" PRIx64
			      ")",
			      g, m->spte);
	/*
	 * In a logging slot a leaf is writable only while the bit of every page
	 * it maps is set; a huge one only with INITIALLY_SET (as enable left it,
	 * no page of it cleared since).
	 */
	if (!w || !s->log)
		return ref.mismatches == before;
	first = ref_align_down(g, m->level);
	if (m->level != 1 && !(s->log & TDPMMU_DIRTY_LOG_INITIALLY_SET))
		ref_violation("gfn 0x%" PRIx64 ": writable level %d leaf in logging slot %u "
			      "without INITIALLY_SET",
			      g, m->level, s->d.id);
	else if (!ref_bit(s, g))
		ref_violation("gfn 0x%" PRIx64
			      ": writable leaf in logging slot %u, dirty bit clear",
			      g, s->d.id);
	else if (m->level != 1 && whole &&
		 !ref_bits_all_set(s, first, first + ref_pages_at(m->level)))
		ref_violation("gfn 0x%" PRIx64 ": writable level %d leaf in logging slot %u over a "
			      "page whose dirty bit is clear",
			      g, m->level, s->d.id);
	return ref.mismatches == before;
}

bool ref_check_gfn(struct tdpmmu_vm *vm, uint64_t g, bool whole)
{
	struct tdpmmu_mapping m;
	int r = tdpmmu_lookup(vm, g, &m);

	if (r) {
		ref_violation("tdpmmu_lookup(0x%" PRIx64 ") = %d", g, r);
		return false;
	}
	return ref_check_leaf(vm, g, &m, whole);
}

void ref_check_leaves(struct tdpmmu_vm *vm, bool all)
{
	int64_t c[TDPMMU_NR_COUNTERS], nt1 = 0, nt2 = 0;

	for (uint64_t b = 0; b < ref.nblocks; b++) {
		bool used = false;

		nt2 += ref.t2[b] != 0;
		if (!ref.block_used[b] || (!all && !ref.block_touched[b]))
			continue;
		for (uint64_t g = b * REF_MB2; g < (b + 1) * REF_MB2 && g < ref.space;) {
			int l = ref_lvl(g);

			if (!l) {
				g++;
				continue;
			}
			used = true;
			if (g == ref_align_down(g, l))
				ref_check_gfn(vm, g, true);
			if (l == 1)
				g++;
			else
				break; /* the rest of this 2M block is the same leaf */
		}
		if (!used)
			ref.block_used[b] = 0;
	}
	memset(ref.block_touched, 0, ref.nblocks);
	for (uint64_t g = 0; g < ref.ng1; g++)
		nt1 += ref.t1[g] != 0;
	tdpmmu_counters_read(vm, c);
	if (c[TDPMMU_C_LEAVES_4K] != ref.nleaves[1] || c[TDPMMU_C_LEAVES_2M] != ref.nleaves[2] ||
	    c[TDPMMU_C_LEAVES_1G] != ref.nleaves[3] || c[TDPMMU_C_TABLES_L1] != nt2 ||
	    c[TDPMMU_C_TABLES_L2] != nt1)
		ref_violation("leaf counters 4k/2m/1g %lld/%lld/%lld, tables l1/l2 %lld/%lld; "
			      "model %lld/%lld/%lld, %lld/%lld",
			      (long long)c[TDPMMU_C_LEAVES_4K], (long long)c[TDPMMU_C_LEAVES_2M],
			      (long long)c[TDPMMU_C_LEAVES_1G], (long long)c[TDPMMU_C_TABLES_L1],
			      (long long)c[TDPMMU_C_TABLES_L2], (long long)ref.nleaves[1],
			      (long long)ref.nleaves[2], (long long)ref.nleaves[3], (long long)nt2,
			      (long long)nt1);
}

uint64_t ref_check_all(struct tdpmmu_vm *vm)
{
	uint64_t before = ref.mismatches;

	if (ref.exact) {
		for (uint64_t g = 0; g < ref.space; g++)
			if (ref_host_level(g))
				ref_check_gfn(vm, g,
					      !ref_lvl(g) || g == ref_align_down(g, ref_lvl(g)));
		return ref.mismatches - before;
	}
	for (int w = 0; w < ref.nwin; w++)
		for (uint64_t k = 0; k < ref.win[w].npages; k++)
			ref_check_gfn(vm, ref.win[w].base + k, true);
	return ref.mismatches - before;
}

bool ref_check_bitmap(const struct ref_slot *s, const uint64_t *got)
{
	for (uint64_t w = 0; w < ref_slot_words(s); w++)
		if (got[w] != s->bits[w]) {
			ref_violation("slot %u dirty word %" PRIu64 ": mmu 0x%016" PRIx64
				      ", model 0x%016" PRIx64,
				      s->d.id, w, got[w], s->bits[w]);
			return false;
		}
	return true;
}

void ref_check_logs(struct tdpmmu_vm *vm, uint64_t *buf)
{
	for (int i = 0; i < ref.nslot; i++) {
		const struct ref_slot *s = &ref.slot[i];
		int r, want;

		if (!s->used || !(s->log & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
			continue;
		r = tdpmmu_dirty_log_get(vm, s->d.id, buf);
		want = ref_popcount(s->bits, ref_slot_words(s));
		if (r != want)
			ref_violation("tdpmmu_dirty_log_get(%u) = %d, model %d", s->d.id, r, want);
		ref_check_bitmap(s, buf);
	}
	if (ref.nx) {
		uint64_t listed = tdpmmu_nx_listed(vm);
		int r = tdpmmu_nx_audit(vm);

		if (listed != ref.nx_listed)
			ref_violation("tdpmmu_nx_listed = %" PRIu64 ", model %" PRIu64, listed,
				      ref.nx_listed);
		if (r)
			ref_violation("tdpmmu_nx_audit = %d", r);
	}
}
