/*
 * test_ops_model.c - random single-threaded sequences over the public API,
 * checked after every operation against a flat reference model (the
 * approach of test_diff.c, extended with the leaf bits the newer
 * operations change).
 *
 * The model keeps, for every gfn, the leaf that maps it: level (0 = none),
 * W, MMU-writable, Accessed and Dirty, stored in every gfn the leaf covers;
 * the leaf's frame is the host frame of the gfn (no remaps here).  Each
 * operation is applied to the MMU and to the model with the rules the
 * library documents:
 *   fault       read / write / execute, not-present or permission
 *               (TDPMMU_ACCESS_PRESENT), a random level cap: a permission
 *               fault on a leaf within the cap that already allows the
 *               access changes nothing (fast path, spurious); otherwise
 *               huge leaves above the goal are split (children keep every
 *               bit) and the goal-level leaf is (re)built: Accessed,
 *               writable and MMU-writable if the slot is, Dirty on a write
 *               or if the same leaf already had it.  A write to the
 *               read-only slot is -EFAULT and changes nothing.
 *   zap_range   every leaf overlapping the range goes whole.
 *   zap_all, zap_all_fast   everything goes.
 *   write_protect_gfn       W and MMU-writable cleared on the leaf; 1 iff it
 *               had either.
 *   clear_young, clear_flush_young, test_young   Accessed cleared on (or
 *               tested in) every leaf overlapping the range; the count
 *               returned is the number of young leaves.
 *   recover_huge_pages (ZAP, INPLACE)   for each 2M/1G block of the slot
 *               that the host could map whole and that is mapped by
 *               smaller leaves (1G blocks first): ZAP unmaps the block,
 *               INPLACE maps it with one leaf whose W / MMU-writable are
 *               the AND of the leaves below and whose A/D are the first
 *               (lowest gfn) leaf's.  INPLACE returns exactly the number
 *               of blocks collapsed; ZAP may also count tables that had
 *               no leaf left (invisible to the model), so at least that.
 *   nx_recover  NX is off here: the possible-NX list is empty, 0, no change.
 * Dirty logging (tdpmmu_dirty_log_*) is not exercised yet: it did not link
 * when this test was written.
 *
 * Checks after every operation: each model leaf is looked up at its first
 * gfn (present, level, frame, W, MMU-writable, A, D must match), and the
 * leaf counters (leaves_4k/2m/1g) equal the model's leaf counts.  The
 * MMU's leaves therefore contain the model's, and as many per level: they
 * are the same set, so every gfn's translation matches.  The counters are
 * themselves audited against a full walk every --audit-every operations,
 * with a gfn-by-gfn comparison of every slot's gfns.
 *
 *   test_ops_model [--ops N] [--seed S] [--audit-every N]
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "tdpmmu/tdpmmu.h"

#define GB (1ull << 18) /* 4K pages in 1 GiB */
#define MB2 512ull

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
#define NBLOCKS ((SPACE + MB2 - 1) / MB2)

enum { SLOT_HUGE, SLOT_THP, SLOT_ANON, SLOT_RO };

/* Model entry: level in bits 0-1, then the leaf's bits. */
#define M_LEVEL 3u
#define M_W (1u << 2)
#define M_MW (1u << 3)
#define M_A (1u << 4)
#define M_D (1u << 5)

static uint8_t model[SPACE];
static uint8_t
    block_maybe_used[NBLOCKS]; /* some gfn of the 2M block may be mapped */

static int lvl(uint64_t gfn) { return model[gfn] & M_LEVEL; }

static uint64_t pages_at(int level) { return 1ull << (9 * (level - 1)); }

static uint64_t align_down(uint64_t gfn, int level) {
  return gfn & ~(pages_at(level) - 1);
}

static bool in_ro(uint64_t gfn) {
  return gfn >= RO_BASE && gfn < RO_BASE + RO_PAGES;
}

static int model_max_level(uint64_t gfn) {
  if (gfn < HUGE_BASE + GB)
    return 3;
  if (gfn >= THP_BASE && gfn < THP_BASE + THP_PAGES) {
    uint64_t b = gfn & ~(MB2 - 1);

    return b >= THP_BASE && b + MB2 <= THP_BASE + THP_PAGES ? 2 : 1;
  }
  if (gfn >= ANON_BASE && gfn < ANON_BASE + ANON_PAGES)
    return 1;
  if (in_ro(gfn))
    return 1;
  return 0;
}

/* The whole @level block around @gfn becomes @value (a leaf of that block's
 * size, or 0). */
static void model_set(uint64_t gfn, int level, uint8_t value) {
  uint64_t b = align_down(gfn, level), n = pages_at(level);

  memset(&model[b], value, n);
  if (value)
    memset(&block_maybe_used[b / MB2], 1, (n + MB2 - 1) / MB2);
}

static uint8_t with_level(uint8_t v, int level) {
  return (uint8_t)((v & ~M_LEVEL) | (unsigned)level);
}

/* Change the bits of the leaf mapping @gfn (all of its gfns). */
static void model_leaf_bits(uint64_t gfn, unsigned set, unsigned clear) {
  int l = lvl(gfn);

  model_set(gfn, l, (uint8_t)((model[gfn] | set) & ~clear));
}

static bool access_allowed(uint8_t v, unsigned access) {
  /* Every leaf is executable (NX off) and readable. */
  return !(access & TDPMMU_ACCESS_WRITE) || (v & M_W);
}

/*
 * A fault of kind @access (one of R/W/X) on @gfn with cap @cap (0 = none);
 * @present: a permission fault.  Returns the level mapping @gfn afterwards,
 * or -EFAULT.
 */
static int model_fault(uint64_t gfn, unsigned access, bool present, int cap) {
  int maxl = model_max_level(gfn), goal = cap && cap < maxl ? cap : maxl,
      l = lvl(gfn);
  bool writable = !in_ro(gfn);
  uint8_t v;

  if ((access & TDPMMU_ACCESS_WRITE) && !writable)
    return -EFAULT;
  if (present && l && (!cap || l <= cap)) {
    if (access_allowed(model[gfn], access))
      return l; /* spurious */
    if ((access & TDPMMU_ACCESS_WRITE) && (model[gfn] & M_MW)) {
      model_leaf_bits(gfn, M_W | M_D | M_A, 0); /* fast path */
      return l;
    }
  }
  while (l > goal) { /* split: the children keep every bit */
    model_set(gfn, l, with_level(model[gfn], l - 1));
    l--;
  }
  v = (uint8_t)(goal | M_A);
  if (writable)
    v |= M_W | M_MW;
  if (writable && (access & TDPMMU_ACCESS_WRITE))
    v |= M_D;
  if (l == goal)
    v |= model[gfn] & M_D; /* the same leaf keeps its Dirty bit */
  model_set(gfn, goal, v);
  return goal;
}

/* Returns the number of leaves zapped. */
static int model_zap(uint64_t start, uint64_t end) {
  int n = 0;

  for (uint64_t g = start; g < end && g < SPACE; g++) {
    if (lvl(g)) {
      model_set(g, lvl(g), 0);
      n++;
    }
  }
  return n;
}

/* Returns whether anything was mapped. */
static int model_zap_all(void) {
  int any = 0;

  for (uint64_t b = 0; b < NBLOCKS && !any; b++)
    for (uint64_t g = b * MB2;
         block_maybe_used[b] && g < (b + 1) * MB2 && g < SPACE; g++)
      if (lvl(g)) {
        any = 1;
        break;
      }
  memset(model, 0, sizeof(model));
  memset(block_maybe_used, 0, sizeof(block_maybe_used));
  return any;
}

static int model_write_protect(uint64_t gfn) {
  if (gfn >= SPACE || !lvl(gfn) || !(model[gfn] & (M_W | M_MW)))
    return 0;
  model_leaf_bits(gfn, 0, M_W | M_MW);
  return 1;
}

/* Young leaves overlapping [start, end), cleared unless @test_only. */
static int model_age(uint64_t start, uint64_t end, bool test_only) {
  int young = 0;

  for (uint64_t g = start; g < end && g < SPACE;) {
    int l = lvl(g);

    if (!l) {
      g++;
      continue;
    }
    if (model[g] & M_A) {
      young++;
      if (!test_only)
        model_leaf_bits(g, 0, M_A);
    }
    g = align_down(g, l) + pages_at(l);
  }
  return young;
}

/* Blocks of @level in [start, end) that the host could map whole and that hold
 * smaller leaves. */
static int model_recover_level(uint64_t start, uint64_t end, int level,
                               bool inplace) {
  int done = 0;

  for (uint64_t b = align_down(start, level); b < end && b < SPACE;
       b += pages_at(level)) {
    uint8_t first = 0, and_bits = M_W | M_MW;
    uint64_t n = pages_at(level);

    if (model_max_level(b) < level || b + n > SPACE)
      continue;
    for (uint64_t g = b; g < b + n;) {
      int l = lvl(g);

      if (!l) {
        g++;
        continue;
      }
      if (l >= level)
        break; /* already a leaf of this size: not a table */
      if (!first)
        first = model[g];
      and_bits &= model[g];
      g = align_down(g, l) + pages_at(l);
    }
    if (!first)
      continue;
    if (inplace)
      model_set(b, level, (uint8_t)(level | (first & (M_A | M_D)) | and_bits));
    else
      model_set(b, level, 0);
    done++;
  }
  return done;
}

static int model_recover(uint64_t start, uint64_t end, bool inplace) {
  /* Pre-order: a collapsible 1G table goes first and takes its 2M tables along.
   */
  return model_recover_level(start, end, 3, inplace) +
         model_recover_level(start, end, 2, inplace);
}

/* --- comparison ---------------------------------------------------------- */

static uint64_t mismatches;

static void report(uint64_t gfn, const struct tdpmmu_mapping *m, uint64_t pfn,
                   const char *op) {
  if (mismatches++ < 10)
    fprintf(stderr,
            "after %s: gfn 0x%" PRIx64
            ": mmu present=%d level=%d pfn=0x%" PRIx64 " spte 0x%016" PRIx64
            "; model level=%d W=%d MW=%d A=%d D=%d pfn=0x%" PRIx64 "\n",
            op, gfn, m->present, m->level, m->pfn, m->spte, lvl(gfn),
            !!(model[gfn] & M_W), !!(model[gfn] & M_MW), !!(model[gfn] & M_A),
            !!(model[gfn] & M_D), pfn);
}

static bool leaf_matches(uint64_t gfn, const struct tdpmmu_mapping *m,
                         uint64_t pfn) {
  uint8_t v = model[gfn];

  if (m->present != (lvl(gfn) != 0))
    return false;
  if (!m->present)
    return true;
  return m->level == lvl(gfn) && m->pfn == pfn &&
         spte_is_writable(m->spte) == !!(v & M_W) &&
         spte_is_mmu_writable(m->spte) == !!(v & M_MW) &&
         spte_is_accessed(m->spte) == !!(v & M_A) &&
         spte_is_dirty(m->spte) == !!(v & M_D) &&
         spte_is_host_writable(m->spte) == !in_ro(gfn);
}

static void compare_gfn(struct tdpmmu_vm *vm, uint64_t g, const char *op) {
  struct tdpmmu_mapping m;
  uint64_t pfn = 0;

  REQUIRE(tdpmmu_lookup(vm, g, &m) == 0);
  REQUIRE(tdpmmu_host_pfn(vm, g, &pfn) == 0);
  if (!leaf_matches(g, &m, pfn))
    report(g, &m, pfn, op);
}

/* Every model leaf at its first gfn, and the leaf counts. */
static void compare_leaves(struct tdpmmu_vm *vm, const char *op) {
  int64_t c[TDPMMU_NR_COUNTERS], n[4] = {0};

  for (uint64_t b = 0; b < NBLOCKS; b++) {
    bool used = false;

    if (!block_maybe_used[b])
      continue;
    for (uint64_t g = b * MB2; g < (b + 1) * MB2 && g < SPACE;) {
      int l = lvl(g);

      if (!l) {
        g++;
        continue;
      }
      used = true;
      if (g == align_down(g, l)) {
        compare_gfn(vm, g, op);
        n[l]++;
      }
      if (l == 1)
        g++;
      else
        break; /* the rest of this 2M block is the same leaf */
    }
    if (!used)
      block_maybe_used[b] = 0;
  }
  tdpmmu_read_counters(vm, c);
  if ((c[TDPMMU_C_LEAVES_4K] != n[1] || c[TDPMMU_C_LEAVES_2M] != n[2] ||
       c[TDPMMU_C_LEAVES_1G] != n[3]) &&
      mismatches++ < 10)
    fprintf(stderr,
            "after %s: leaf counters 4k/2m/1g %lld/%lld/%lld, model "
            "%lld/%lld/%lld\n",
            op, (long long)c[TDPMMU_C_LEAVES_4K],
            (long long)c[TDPMMU_C_LEAVES_2M], (long long)c[TDPMMU_C_LEAVES_1G],
            (long long)n[1], (long long)n[2], (long long)n[3]);
}

/* Every gfn of every slot, mapped or not. */
static void compare_all(struct tdpmmu_vm *vm) {
  for (uint64_t g = 0; g < SPACE; g++)
    if (model_max_level(g))
      compare_gfn(vm, g, "full comparison");
}

/* --- the run ---------------------------------------------------------------
 */

static uint64_t random_gfn(uint64_t *rs) {
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

static uint64_t random_len(uint64_t *rs) {
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
  OP_CLEAR_YOUNG,
  OP_CLEAR_FLUSH_YOUNG,
  OP_TEST_YOUNG,
  OP_RECOVER_ZAP,
  OP_RECOVER_INPLACE,
  OP_NX_RECOVER,
  NR_OPS,
};

static const char *const op_name[NR_OPS] = {
    "fault",        "huge-over-table", "zap_range",        "zap_all",
    "zap_all_fast", "write_protect",   "clear_young",      "clear_flush_young",
    "test_young",   "recover(zap)",    "recover(inplace)", "nx_recover",
};

static enum op pick_op(uint64_t *rs) {
  unsigned k = (unsigned)(test_rand(rs) % 1000);

  if (k < 450)
    return OP_FAULT;
  if (k < 520)
    return OP_HUGE_OVER_TABLE;
  if (k < 650)
    return OP_ZAP_RANGE;
  if (k < 653)
    return OP_ZAP_ALL;
  if (k < 656)
    return OP_ZAP_ALL_FAST;
  if (k < 760)
    return OP_WRPROT;
  if (k < 840)
    return OP_CLEAR_YOUNG;
  if (k < 880)
    return OP_CLEAR_FLUSH_YOUNG;
  if (k < 920)
    return OP_TEST_YOUNG;
  if (k < 950)
    return OP_RECOVER_ZAP;
  if (k < 980)
    return OP_RECOVER_INPLACE;
  return OP_NX_RECOVER;
}

static const struct tdpmmu_memslot slots[] = {
    {SLOT_HUGE, HUGE_BASE, GB, TDPMMU_BACKING_HUGETLB_1G, 0},
    {SLOT_THP, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0},
    {SLOT_ANON, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0},
    {SLOT_RO, RO_BASE, RO_PAGES, TDPMMU_BACKING_ANON, TDPMMU_MEMSLOT_READONLY},
};

static int do_fault(struct tdpmmu_vcpu *vcpu, uint64_t gfn, unsigned access,
                    bool present, int cap) {
  struct tdpmmu_fault_result res;
  int want = model_fault(gfn, access, present, cap);
  int r = tdpmmu_fault(
      vcpu, gfn, access | (present ? TDPMMU_ACCESS_PRESENT : 0), cap, &res);

  if (want < 0) {
    CHECK_EQ(r, want);
    return 0;
  }
  REQUIRE(r == 0);
  CHECK_EQ(res.level, want);
  return 1;
}

int main(int argc, char **argv) {
  uint64_t ops = 20000, seed = 1, audit_every = 5000, rs;
  uint64_t done[NR_OPS] = {0}, effective[NR_OPS] = {0};
  struct tdpmmu_vm_config cfg;
  struct tdpmmu_vm *vm;
  struct tdpmmu_vcpu *vcpu;
  int64_t c[TDPMMU_NR_COUNTERS];

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
  rs = seed * 0x9E3779B97F4A7C15ull + 1;
  tdpmmu_vm_config_init(&cfg);
  cfg.max_tables = 1 << 16;
  REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
  for (unsigned i = 0; i < ARRAY_SIZE(slots); i++)
    REQUIRE(tdpmmu_memslot_add(vm, &slots[i]) == 0);
  REQUIRE(tdpmmu_vcpu_create(vm, &vcpu) == 0);

  for (uint64_t op = 1; op <= ops; op++) {
    enum op kind = pick_op(&rs);
    uint64_t gfn = random_gfn(&rs), len = random_len(&rs), end;
    int maxl = model_max_level(gfn), want, r;

    end = gfn + len < SPACE ? gfn + len : SPACE;
    switch (kind) {
    case OP_FAULT: {
      static const unsigned kinds[] = {TDPMMU_ACCESS_READ, TDPMMU_ACCESS_WRITE,
                                       TDPMMU_ACCESS_EXEC};
      int cap = (int)(test_rand(&rs) % 4);

      if (cap == 3 && test_rand(&rs) % 8)
        cap = 2; /* 1G mappings rare: each costs the model 256K writes */
      effective[kind] += do_fault(vcpu, gfn, kinds[test_rand(&rs) % 3],
                                  test_rand(&rs) & 1, cap);
      break;
    }
    case OP_HUGE_OVER_TABLE:
      /* Some 4K leaves in a block, then the block mapped huge. */
      if (maxl < 2)
        continue;
      for (int k = 0; k < 3; k++)
        do_fault(vcpu, (gfn & ~(MB2 - 1)) + test_rand(&rs) % MB2,
                 TDPMMU_ACCESS_READ, false, 1);
      do_fault(vcpu, gfn, TDPMMU_ACCESS_WRITE, false, 2);
      effective[kind]++;
      break;
    case OP_ZAP_RANGE:
      effective[kind] += (uint64_t)model_zap(gfn, end);
      REQUIRE(tdpmmu_zap_range(vm, gfn, end) == 0);
      break;
    case OP_ZAP_ALL:
      effective[kind] += (uint64_t)model_zap_all();
      REQUIRE(tdpmmu_zap_all(vm) == 0);
      break;
    case OP_ZAP_ALL_FAST:
      effective[kind] += (uint64_t)model_zap_all();
      REQUIRE(tdpmmu_zap_all_fast(vm) == 0);
      break;
    case OP_WRPROT:
      want = model_write_protect(gfn);
      CHECK_EQ(tdpmmu_write_protect_gfn(vm, gfn), want);
      effective[kind] += (uint64_t)want;
      break;
    case OP_CLEAR_YOUNG:
    case OP_CLEAR_FLUSH_YOUNG:
      want = model_age(gfn, end, false);
      r = kind == OP_CLEAR_YOUNG ? tdpmmu_clear_young(vm, gfn, end)
                                 : tdpmmu_clear_flush_young(vm, gfn, end);
      CHECK_EQ(r, want);
      effective[kind] += (uint64_t)want;
      break;
    case OP_TEST_YOUNG:
      want = model_age(gfn, end, true) ? 1 : 0;
      CHECK_EQ(tdpmmu_test_young(vm, gfn, end), want);
      effective[kind] += (uint64_t)want;
      break;
    case OP_RECOVER_ZAP:
    case OP_RECOVER_INPLACE: {
      const struct tdpmmu_memslot *s =
          &slots[test_rand(&rs) % ARRAY_SIZE(slots)];
      bool inplace = kind == OP_RECOVER_INPLACE;

      want = model_recover(s->base_gfn, s->base_gfn + s->npages, inplace);
      r = tdpmmu_recover_huge_pages(
          vm, s->id, inplace ? TDPMMU_RECOVER_INPLACE : TDPMMU_RECOVER_ZAP);
      /* ZAP also counts tables that held no leaf any more. */
      if (inplace)
        CHECK_EQ(r, want);
      else
        CHECK(r >= want);
      effective[kind] += (uint64_t)want;
      break;
    }
    case OP_NX_RECOVER:
      CHECK_EQ(tdpmmu_nx_recover(vm, 1 + (unsigned)(test_rand(&rs) % 4)), 0);
      break;
    case NR_OPS:
      break;
    }
    done[kind]++;
    compare_leaves(vm, op_name[kind]);
    if (op % audit_every == 0 || op == ops) {
      compare_all(vm);
      CHECK_EQ(tdpmmu_audit(vm), 0);
    }
    if (mismatches || check_failures) {
      fprintf(stderr,
              "op %" PRIu64 " (%s at gfn 0x%" PRIx64 ", seed %" PRIu64
              ") broke the model\n",
              op, op_name[kind], gfn, seed);
      break;
    }
  }
  CHECK_EQ(mismatches, 0);
  tdpmmu_read_counters(vm, c);
  printf("test_ops_model: %" PRIu64 " ops, seed %" PRIu64 ":", ops, seed);
  for (int k = 0; k < NR_OPS; k++)
    printf(" %s %" PRIu64 "/%" PRIu64, op_name[k], effective[k], done[k]);
  printf(" (effective/run); splits %lld, tables replaced %lld, young cleared "
         "%lld, "
         "huge recovered %lld, collapsible zapped %lld\n",
         (long long)c[TDPMMU_C_HUGE_SPLITS],
         (long long)c[TDPMMU_C_TABLES_REPLACED],
         (long long)c[TDPMMU_C_YOUNG_CLEARED],
         (long long)c[TDPMMU_C_HUGE_RECOVERED],
         (long long)c[TDPMMU_C_COLLAPSIBLE_ZAPPED]);
  /* The paths this test exists for must have run and done something. */
  for (int k = 0; k < NR_OPS; k++)
    if (k != OP_NX_RECOVER && ops >= 20000)
      CHECK(effective[k] > 0);
  CHECK(c[TDPMMU_C_HUGE_SPLITS] > 0 || ops < 20000);
  tdpmmu_vm_destroy(vm);
  return check_report("test_ops_model");
}
