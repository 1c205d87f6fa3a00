/*
 * test_ops_model.c - random single-threaded sequences over the public API,
 * checked after every operation against the exact reference model
 * (ref_model.h: every leaf's level, frame, W, MMU-writable, A, D and X, the
 * page tables below the 1G and 2M entries, the possible-NX list, each
 * slot's logging flags and dirty bitmap, the write-tracked gfns).  Each
 * operation is applied to the model first, with the rules ref_leaves.c
 * documents, then to the MMU, and the results compared.
 *
 * Checks after every operation: each model leaf is looked up at its first
 * gfn (present, level, frame, W, MMU-writable, A, D, X must match); the
 * leaf counters (leaves_4k/2m/1g) and table counters (tables_l1/l2) equal
 * the model's counts, so the MMU's leaves are the model's; in each logging
 * slot a writable leaf is 4K, or huge with INITIALLY_SET, and every page it
 * maps is set in the model's bitmap; a fault's result (level, spurious,
 * TDPMMU_FAULT_EMULATE) is the model's; every call's return value is the
 * model's; the bitmap of each MANUAL_PROTECT slot, read with
 * dirty_log_get (which does not clear there), equals the model's; with NX
 * on, no huge leaf is executable, tdpmmu_nx_listed equals the model's list
 * length and tdpmmu_nx_audit is clean.  The counters are audited against a
 * full walk every --audit-every operations, with a gfn-by-gfn comparison of
 * every slot's gfns.
 *
 * Two runs: NX off, then NX on (no recovery thread: the test calls
 * tdpmmu_nx_recover itself), each of half the --ops operations.
 *
 *   test_ops_model [--ops N] [--seed S] [--audit-every N]
 */
#include <errno.h>
#include <string.h>

#include "lib/check.h"
#include "lib/test_vm.h"
#include "model/ref_model.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define GB REF_GB
#define MB2 REF_MB2

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

enum { SLOT_HUGE, SLOT_THP, SLOT_ANON, SLOT_RO, NR_SLOTS };

static const struct tdpmmu_memslot slots[NR_SLOTS] = {
	{ SLOT_HUGE, HUGE_BASE, GB, TDPMMU_BACKING_HUGETLB_1G, 0 },
	{ SLOT_THP, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
	{ SLOT_ANON, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
	{ SLOT_RO, RO_BASE, RO_PAGES, TDPMMU_BACKING_ANON, TDPMMU_MEMSLOT_READONLY },
};

/* The model's slot @s (added in this order: ref.slot[s]). */
#define RS(s) (&ref.slot[s])

static uint64_t emulate_count; /* faults that answered TDPMMU_FAULT_EMULATE */
/* At most TRACK_MAX distinct tracked gfns, so that huge pages stay possible. */
#define TRACK_MAX 8
static uint64_t *bitmap_buf;
static char where[64];

static bool in_ro(uint64_t gfn)
{
	return gfn >= RO_BASE && gfn < RO_BASE + RO_PAGES;
}

static int slot_index(uint64_t gfn)
{
	for (int s = 0; s < NR_SLOTS; s++)
		if (gfn >= slots[s].base_gfn && gfn < slots[s].base_gfn + slots[s].npages)
			return s;
	return -1;
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
	"fault",         "huge-over-table", "zap_range",        "zap_all",     "zap_all_fast",
	"write_protect", "track_add",       "track_remove",     "clear_young", "clear_flush_young",
	"test_young",    "recover(zap)",    "recover(inplace)", "nx_recover",  "log_enable",
	"log_get",       "log_clear",       "log_disable",
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

	want = ref_fault(gfn, access, present, cap, 0);
	r = tdpmmu_fault(vcpu, gfn, access | (present ? TDPMMU_ACCESS_PRESENT : 0), cap, &res);
	if (want < 0) {
		CHECK_EQ(r, want);
		return 0;
	}
	REQUIRE(r >= 0);
	CHECK_EQ(r, ref.emulate ? TDPMMU_FAULT_EMULATE : 0);
	emulate_count += r == TDPMMU_FAULT_EMULATE;
	CHECK_EQ(res.level, want);
	CHECK_EQ(res.spurious, ref.spurious);
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
	TDPMMU_DIRTY_LOG_INITIALLY_SET,         /* invalid: INITIALLY_SET needs MANUAL */
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
		clear_splits, mismatches;
	int64_t c[TDPMMU_NR_COUNTERS];
};

static void run(uint64_t ops, uint64_t seed, uint64_t audit_every, bool nx, struct run_stats *st)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	uint64_t rs = seed * 0x9E3779B97F4A7C15ull + 1 + nx;

	ref_init_exact(SPACE, nx);
	emulate_count = 0;
	test_config_init(&cfg);
	cfg.max_tables = 1 << 16;
	cfg.nx_huge_pages = nx;
	cfg.nx_recovery_period_ms = 0;
	cfg.nx_recovery_ratio = 3;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	for (int i = 0; i < NR_SLOTS; i++)
		REQUIRE(ref_slot_add(&slots[i]) == RS(i));
	REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);

	for (uint64_t op = 1; op <= ops; op++) {
		enum op kind = pick_op(&rs);
		uint64_t gfn = random_gfn(&rs), len = random_len(&rs), end;
		int maxl = ref_host_level(gfn), want, r, s = slot_index(gfn);

		end = gfn + len < SPACE ? gfn + len : SPACE;
		ref_touch(gfn, gfn + 1);
		if (kind >= OP_ZAP_RANGE && kind <= OP_TEST_YOUNG)
			ref_touch(gfn, end);
		switch (kind) {
		case OP_FAULT: {
			static const unsigned kinds[] = { TDPMMU_ACCESS_READ, TDPMMU_ACCESS_WRITE,
							  TDPMMU_ACCESS_EXEC };
			int cap = (int)(test_rand(&rs) % 4);

			if (cap == 3 && test_rand(&rs) % 8)
				cap = 2; /* 1G mappings rare: each costs the model 256K writes */
			if (ref.ntracked && test_rand(&rs) % 8 == 0) {
				gfn = ref.tracked[test_rand(&rs) % (uint64_t)ref.ntracked].gfn;
				ref_touch(gfn, gfn + 1);
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
			st->effective[kind] += do_fault(vcpu, gfn, TDPMMU_ACCESS_WRITE, false, 2) ==
					       2;
			break;
		case OP_ZAP_RANGE:
			st->effective[kind] += (uint64_t)ref_zap(gfn, end);
			REQUIRE(tdpmmu_zap_range(vm, gfn, end) == 0);
			break;
		case OP_ZAP_ALL:
			st->effective[kind] += (uint64_t)ref_zap_all();
			REQUIRE(tdpmmu_zap_all(vm) == 0);
			break;
		case OP_ZAP_ALL_FAST:
			st->effective[kind] += (uint64_t)ref_zap_all();
			REQUIRE(tdpmmu_zap_all_fast(vm) == 0);
			break;
		case OP_WRPROT:
			want = ref_write_protect(gfn);
			CHECK_EQ(tdpmmu_write_protect_gfn(vm, gfn), want);
			st->effective[kind] += (uint64_t)want;
			break;
		case OP_TRACK_ADD:
			/* A new gfn only while few are tracked; else nest on one. */
			if (ref.ntracked == TRACK_MAX && !ref_tracked(gfn))
				gfn = ref.tracked[test_rand(&rs) % TRACK_MAX].gfn;
			ref_touch(gfn, gfn + 1);
			/* Often written first: a tracked leaf that is Dirty, which a later
			 * fault on it must keep (the same leaf keeps A/D). */
			if (!ref_tracked(gfn) && !in_ro(gfn) && test_rand(&rs) % 2)
				do_fault(vcpu, gfn, TDPMMU_ACCESS_WRITE, false, 0);
			want = ref_errno(ref_track_errors(gfn, true));
			if (!want)
				ref_track_add(gfn);
			CHECK_EQ(tdpmmu_write_track_add(vm, gfn), want);
			st->effective[kind] += want == 0;
			break;
		case OP_TRACK_REMOVE:
			/* Mostly a tracked gfn, so that removes succeed. */
			if (ref.ntracked && test_rand(&rs) % 4)
				gfn = ref.tracked[test_rand(&rs) % (uint64_t)ref.ntracked].gfn;
			ref_touch(gfn, gfn + 1);
			want = ref_errno(ref_track_errors(gfn, false));
			if (!want)
				ref_track_remove(gfn);
			CHECK_EQ(tdpmmu_write_track_remove(vm, gfn), want);
			st->effective[kind] += want == 0;
			break;
		case OP_CLEAR_YOUNG:
		case OP_CLEAR_FLUSH_YOUNG:
			want = ref_age(gfn, end, false);
			r = kind == OP_CLEAR_YOUNG ? tdpmmu_clear_young(vm, gfn, end)
						   : tdpmmu_clear_flush_young(vm, gfn, end);
			CHECK_EQ(r, want);
			st->effective[kind] += (uint64_t)want;
			break;
		case OP_TEST_YOUNG:
			want = ref_age(gfn, end, true) ? 1 : 0;
			CHECK_EQ(tdpmmu_test_young(vm, gfn, end), want);
			st->effective[kind] += (uint64_t)want;
			break;
		case OP_RECOVER_ZAP:
		case OP_RECOVER_INPLACE: {
			bool inplace = kind == OP_RECOVER_INPLACE;

			s = (int)(test_rand(&rs) % NR_SLOTS);
			want = ref_errno(ref_recover_errors(RS(s)));
			if (!want)
				want = ref_recover(RS(s), inplace ? TDPMMU_RECOVER_INPLACE
								  : TDPMMU_RECOVER_ZAP);
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
			uint64_t listed = ref.nx_listed, zapped[4];

			for (int i = 0; i < NR_SLOTS; i++)
				any_logging |= RS(i)->log != 0;
			want = ref_nx_recover(eff, zapped, 4, 0);
			r = tdpmmu_nx_recover(vm, ratio);
			CHECK_EQ(r, want);
			/* The contract's number when nothing is skipped for logging, unless
			 * the list ran dry first (a zapped 1G table takes its listed 2M
			 * tables along). */
			if (!any_logging && ref.nx_listed)
				CHECK_EQ(r, (listed + eff - 1) / eff);
			CHECK(r <= (int)((listed + eff - 1) / eff));
			st->effective[kind] += (uint64_t)want;
			/*
			 * Huge pages come back: a read refault of a zapped table's
			 * range (unless a write-tracked gfn keeps it small).
			 */
			for (int i = 0; i < want && i < 4; i++) {
				int l = do_fault(vcpu, zapped[i], TDPMMU_ACCESS_READ, false, 0);

				CHECK(l > 1 || ref_max_level(zapped[i]) == 1);
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
			    (ref_lvl(HUGE_BASE) == 3 || ref.nleaves[2] > 64) && test_rand(&rs) % 16)
				flags &= ~TDPMMU_DIRTY_LOG_EAGER_SPLIT;

			/*
			 * For clears that split a 1G leaf, often map the hugetlb slot
			 * 1G first (its tracked gfns untracked, as they would keep it
			 * small).
			 */
			if (s == SLOT_HUGE && !RS(s)->log &&
			    (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
			    (flags & TDPMMU_DIRTY_LOG_EAGER_SPLIT) && test_rand(&rs) % 2) {
				/* From the end: a removal moves the last entry into its place. */
				for (int i = ref.ntracked - 1; i >= 0; i--) {
					uint64_t t = ref.tracked[i].gfn;

					if (t >= HUGE_BASE + GB)
						continue;
					ref_touch(t, t + 1);
					while (ref_tracked(t)) {
						want = ref_errno(ref_track_errors(t, false));
						ref_track_remove(t);
						CHECK_EQ(tdpmmu_write_track_remove(vm, t), want);
					}
				}
				huge_1g = do_fault(vcpu, gfn, TDPMMU_ACCESS_READ, false, 3) == 3;
			}
			if ((flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
			    !(flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
				want = -EINVAL;
			else
				want = ref_errno(ref_log_enable_errors(RS(s)));
			if (!want)
				want = ref_log_enable(RS(s), flags);
			r = tdpmmu_dirty_log_enable(vm, slots[s].id, flags);
			CHECK_EQ(r, want);
			st->effective[kind] += r >= 0;
			/* ... and clear a word of it at once: the clear splits the 1G leaf. */
			if (huge_1g && r == 0) {
				uint64_t w = test_rand(&rs) % ref_slot_words(RS(s)),
					 mask = random_mask(&rs, RS(s)->bits[w]);

				want = ref_log_clear(RS(s), w * 64, mask);
				CHECK_EQ(tdpmmu_dirty_log_clear(vm, slots[s].id, w * 64, mask),
					 want);
			}
			break;
		}
		case OP_LOG_GET:
			if (ref_log_get_errors(RS(s))) {
				CHECK_EQ(tdpmmu_dirty_log_get(vm, slots[s].id, bitmap_buf),
					 ref_errno(ref_log_get_errors(RS(s))));
				break;
			}
			r = tdpmmu_dirty_log_get(vm, slots[s].id, bitmap_buf);
			ref_check_bitmap(RS(s), bitmap_buf);
			want = ref_log_get(RS(s), NULL);
			CHECK_EQ(r, want);
			if (!(RS(s)->log & TDPMMU_DIRTY_LOG_MANUAL_PROTECT))
				st->effective[kind] += want > 0;
			break;
		case OP_LOG_CLEAR: {
			struct ref_slot *m = RS(s);
			uint64_t words = ref_slot_words(m), w = test_rand(&rs) % words, first, mask;
			unsigned how = (unsigned)(test_rand(&rs) % 16);

			/* Now and then a word under a huge leaf (a clear may split it). */
			if (m->log && test_rand(&rs) % 4 == 0) {
				uint64_t base = slots[s].base_gfn, e = base + slots[s].npages,
					 g = ref_next_leaf(base + test_rand(&rs) % slots[s].npages,
							   e);

				for (int k = 0; k < 1024 && g < e && ref_lvl(g) < 2; k++)
					g = ref_next_leaf(g + 1, e);
				if (g < e && ref_lvl(g) >= 2)
					w = (g - base) / 64;
			}
			/* Mostly a word with bits set, if any. */
			if (m->log && test_rand(&rs) % 2)
				for (uint64_t i = 0; i < words && !m->bits[w]; i++)
					w = (w + 1) % words;
			first = w * 64;
			mask = random_mask(&rs, m->log ? m->bits[w] : 0);
			if (how == 0)
				first = words * 64; /* past the end */
			else if (how == 1)
				first += 1 + test_rand(&rs) % 63; /* not a multiple of 64 */
			r = tdpmmu_dirty_log_clear(vm, slots[s].id, first, mask);
			if (ref_log_clear_errors(m, first, mask) || how <= 1) {
				CHECK_EQ(r, -EINVAL);
				break;
			}
			want = ref_log_clear(m, first, mask);
			CHECK_EQ(r, want);
			st->effective[kind] += want > 0;
			break;
		}
		case OP_LOG_DISABLE: {
			enum tdpmmu_huge_recovery how =
				(enum tdpmmu_huge_recovery)(test_rand(&rs) % 3);

			if (ref_log_disable_errors(RS(s))) {
				CHECK_EQ(tdpmmu_dirty_log_disable(vm, slots[s].id, how),
					 ref_errno(ref_log_disable_errors(RS(s))));
				break;
			}
			want = ref_log_disable(RS(s), how);
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
		snprintf(where, sizeof(where), "after %s", op_name[kind]);
		ref.where = where;
		ref_check_leaves(vm, ref.nleaves[1] + ref.nleaves[2] + ref.nleaves[3] <= 2048 ||
					     op % 64 == 0);
		ref_check_logs(vm, bitmap_buf);
		if (op % audit_every == 0 || op == ops) {
			ref.where = "full comparison";
			ref_check_all(vm);
			CHECK_EQ(tdpmmu_audit(vm), 0);
		}
		if (ref.mismatches || check_failures) {
			fprintf(stderr,
				"op %" PRIu64 " (%s at gfn 0x%" PRIx64 ", seed %" PRIu64
				", nx %d) broke the model\n",
				op, op_name[kind], gfn, seed, nx);
			break;
		}
	}
	tdpmmu_counters_read(vm, st->c);
	st->emulate = emulate_count;
	st->slow_spurious = ref.slow_spurious;
	st->clear_splits = ref.clear_splits;
	st->mismatches = ref.mismatches;
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
	REQUIRE((bitmap_buf = calloc((slots[SLOT_HUGE].npages + 63) / 64, 8)) != NULL);

	run(ops / 2, seed, audit_every, false, &plain);
	if (!plain.mismatches && !check_failures)
		run(ops - ops / 2, seed, audit_every, true, &nx);
	CHECK_EQ(plain.mismatches + nx.mismatches, 0);
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
	ref_free();
	free(bitmap_buf);
	return check_report("test_ops_model");
}
