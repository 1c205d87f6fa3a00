/*
 * fuzz_api.c - a fuzz harness: bytes become a sequence of public API calls
 * on one VM, checked after every call against the reference model that
 * test_diff and test_ops_model share (ref_model.h), here in its vague
 * precision.
 *
 * Built with libFuzzer (clang -fsanitize=fuzzer,...) it is the fuzz
 * target; built with -DFUZZ_STANDALONE it also has a main() that replays
 * every file named on the command line, and every file in a directory
 * named there (scripts/fuzz.sh runs the former, make check the latter on
 * tests/model/fuzz_corpus).  FUZZ_API_TRACE=1 in the environment prints each
 * call and its result, which turns a crashing input into a call sequence.
 *
 * An input is: a strategy byte (strategy = byte % TDPMMU_NR_STRATEGIES), a
 * configuration byte (5 levels, NX huge pages, real backing, arena size,
 * second vCPU, preset memslots, bad configurations tried first), a byte
 * for the NX recovery ratio, the drain delay, injected table-allocation
 * failures and quarantine (tdpmmu_inject, tdpmmu_quarantine: process-wide,
 * turned off again after the input), then up to MAX_OPS operations, each
 * an opcode byte and the bytes its arguments need (zero past the end).
 * Every call runs on the fuzzing thread: faults go through tdpmmu_fault()
 * directly, never tdpmmu_vcpu_run().
 *
 * The model (ref_model.h).  For each gfn of three windows of WIN gfns (the start of the
 * address space, around the first 1 GiB boundary, the end of the address
 * space) it keeps what the normal-role tree may hold there:
 *   ABSENT   nothing maps it: nothing has been mapped since the last zap
 *            that covered it (zap_range, zap_all, zap_all_fast,
 *            invalidate_begin, memslot delete or move);
 *   PRESENT  a successful fault mapped it and nothing that may remove a
 *            mapping has run over it since;
 *   UNKNOWN  either (e.g. a neighbour of a fault inside its huge leaf, or
 *            what a huge-page recovery pass may have zapped or collapsed).
 * Beside it: the memslots (id, place, backing, flags, logging flags, a
 * copy of the dirty bitmap, whether the host remapped part of it), the
 * write-tracked gfns with their counts, the invalidations in progress.
 *
 * Checks:
 *   - every call's return value is 0 (or a documented positive value) or
 *     one of the errors the API documents for it, and the one the model
 *     predicts when an argument or the state rules the call out
 *     (argument errors first, then state errors; ENOMEM/ENOSPC where an
 *     allocation can fail);
 *   - a failed call, and a call that must not change what is mapped
 *     (test_young, lookups, host queries, statistics, audit, flush,
 *     hold_walk, memslot_add, invalidate_end, host_remap,
 *     write_track_remove, vCPU create/destroy/role switch; a fault on an
 *     SMM vCPU for the lookups only), leaves every sampled gfn's lookup
 *     (present, level, frame, entry) and the leaf counters as they were;
 *   - after a successful fault on a normal-role vCPU: the gfn is present,
 *     its frame is tdpmmu_host_pfn()'s and the result's, its level is the
 *     result's and within the cap, a write made it writable (unless the gfn
 *     is write-tracked: then TDPMMU_FAULT_EMULATE and read-only), an
 *     execute made it executable, and a fault that was not spurious left it
 *     young; if the gfn's leaf before was at the same level with the same
 *     frame, the fault kept its W, MMU-writable, X, A and D, and changed
 *     nothing at all (answering spurious) if that leaf already allowed the
 *     access;
 *   - at every sampled gfn (the call's gfns, the last faulted ones, and a
 *     cursor that sweeps the windows): the state above holds; a present
 *     leaf maps the host frame, lies in a memslot, is 4K in an anon slot,
 *     is not writable in a read-only slot or on a write-tracked gfn, and in
 *     a logging slot is writable only with the dirty bit of every page it
 *     maps set, and huge only with INITIALLY_SET; no huge leaf is
 *     executable under NX (ref_check_leaf);
 *   - dirty logging: enable with INITIALLY_SET returns 0 and changes
 *     nothing; get returns the model's bitmap and its popcount; clear
 *     returns the bits it cleared, changes nothing if none was set, and
 *     otherwise leaves every sampled gfn as the contract says: with
 *     INITIALLY_SET and EAGER_SPLIT the huge leaves over its lowest to
 *     highest cleared page split (a 1G leaf into 2M leaves, those over the
 *     range into 4K ones with the same bits; huge still only where a
 *     table allocation could fail), then the leaf of each cleared page
 *     loses W (4K) or W and MMU-writable (huge); write protection and write
 *     tracking leave no W or MMU-writable on the leaf; clear_young leaves
 *     nothing young; nx_listed is 0 after a zap of everything; a moved
 *     slot keeps its frames; with real backing, frames are read as zero,
 *     a dirty leaf that a zap removed left its frame dirty, and a frame
 *     written back reads clean;
 *   - at the end: every gfn of the windows, tdpmmu_audit() == 0, every
 *     invalidation still in progress ends with 0, audit again, destroy
 *     (which aborts on leaked tables).
 * Any mismatch prints the op index, the call, the gfn, what was expected
 * and what came back, and aborts.
 *
 * The harness never faults on a gfn inside the union of the invalidations
 * in progress (such a fault retries until they end, and nothing else would
 * end them), keeps valid memslots below SLOT_PAGES_CAP pages, and asks for
 * real backing only with a small budget of frames.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/ref_model.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define MAX_OPS 200
#define GB_PAGES (1ull << 18)
#define MB2_PAGES 512ull
#define WIN 4096ull
#define NR_WINDOWS 3
#define SLOT_PAGES_CAP (1ull << 20)
#define NR_RECENT 16
#define MAX_SAMPLE 48
#define PAYLOAD_BYTES ((1ull << 30) + (16ull << 20)) /* one slot's worth above 1 GiB */

static struct fuzz_state {
	/* input */
	const uint8_t *data;
	size_t size, off;
	/* the VM */
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu[2];
	bool smm[2];   /* the role the vCPU's next fault uses */
	bool smm_used; /* an SMM root may hold leaves */
	uint64_t max_gfn;
	uint64_t max_tables; /* the arena */
	bool alloc_inject;   /* table allocations fail now and then */
	bool payload, nx;
	enum tdpmmu_strategy strategy;
	/* the model's windows (ref, vague) */
	uint64_t win_base[NR_WINDOWS];
	uint64_t recent[NR_RECENT];
	unsigned nrecent;
	uint64_t cursor;
	/* the operation being checked */
	int op;
	const char *opname;
	uint64_t sample[MAX_SAMPLE];
	int nsample;
	struct tdpmmu_mapping before[MAX_SAMPLE];
	int64_t leaves_before[3];
} F;

static bool trace_on;

/* --- input ----------------------------------------------------------------- */

static uint8_t in8(void)
{
	return F.off < F.size ? F.data[F.off++] : 0;
}

static uint16_t in16(void)
{
	uint16_t lo = in8();

	return (uint16_t)(lo | (uint16_t)in8() << 8);
}

static uint32_t in32(void)
{
	uint32_t lo = in16();

	return lo | (uint32_t)in16() << 16;
}

static uint64_t in64(void)
{
	uint64_t lo = in32();

	return lo | (uint64_t)in32() << 32;
}

/* --- reporting ------------------------------------------------------------- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_api: op %d (%s): ", F.op, F.opname ? F.opname : "setup");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/* The model's mismatches (ref_violation) carry the same prefix as fail()'s. */
static void set_where(void)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "fuzz_api: op %d (%s)", F.op, F.opname ? F.opname : "setup");
	ref.where = buf;
}

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void trace(const char *fmt, ...)
{
	va_list ap;

	if (!trace_on)
		return;
	fprintf(stderr, "  [%d] ", F.op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The documented outcome: argument errors (@t1) rule out everything else;
 * then state errors (@t2); else success; @env (allocation failures) may
 * come instead of the last two.
 */
static void expect(int r, unsigned t1, unsigned t2, unsigned env, const char *call)
{
	unsigned allowed = t1 ? t1 : t2 ? t2 | env : REF_E_OK | env;

	if (!(ref_err_bit(r) & allowed))
		fail("%s returned %d, expected one of: %s", call, r, ref_err_str(allowed));
}

/* --- the model ------------------------------------------------------------- */

static uint64_t align_down(uint64_t g, uint64_t n)
{
	return g & ~(n - 1);
}

static void recent_push(uint64_t g)
{
	F.recent[F.nrecent++ % NR_RECENT] = g;
}

/* --- lookups and the per-gfn checks -------------------------------------------- */

static void lookup_ok(uint64_t g, struct tdpmmu_mapping *m)
{
	int r = tdpmmu_lookup(F.vm, g, m);

	if (r)
		fail("tdpmmu_lookup(0x%" PRIx64 ") = %d", g, r);
}

static void read_leaf_counters(int64_t out[3])
{
	int64_t c[TDPMMU_NR_COUNTERS];

	tdpmmu_counters_read(F.vm, c);
	out[0] = c[TDPMMU_C_LEAVES_4K];
	out[1] = c[TDPMMU_C_LEAVES_2M];
	out[2] = c[TDPMMU_C_LEAVES_1G];
}

static void sample_add(uint64_t g)
{
	for (int i = 0; i < F.nsample; i++)
		if (F.sample[i] == g)
			return;
	if (F.nsample < MAX_SAMPLE && g < F.max_gfn)
		F.sample[F.nsample++] = g;
}

/* Sample the ends and the middle of [start, end), clipped to the address space. */
static void sample_range(uint64_t start, uint64_t end)
{
	if (start >= end || start >= F.max_gfn)
		return;
	if (end > F.max_gfn)
		end = F.max_gfn;
	sample_add(start);
	sample_add(end - 1);
	sample_add(start + (end - start) / 2);
	if (start)
		sample_add(start - 1);
	sample_add(end);
}

/* Before the call: the sample (the op's gfns, recent faults, the sweep) and its lookups. */
static void before_call(void)
{
	for (unsigned i = 0; i < NR_RECENT && i < F.nrecent; i++)
		sample_add(F.recent[i]);
	for (int i = 0; i < 6; i++) {
		uint64_t k = F.cursor++ * 97 % (NR_WINDOWS * WIN);

		sample_add(F.win_base[k / WIN] + k % WIN);
	}
	for (int i = 0; i < F.nsample; i++)
		lookup_ok(F.sample[i], &F.before[i]);
	read_leaf_counters(F.leaves_before);
}

/* A failed call, or one that only reads, changed nothing the normal-role tree maps. */
static void unchanged_lookups(const char *call)
{
	struct tdpmmu_mapping m;

	for (int i = 0; i < F.nsample; i++) {
		lookup_ok(F.sample[i], &m);
		if (memcmp(&m, &F.before[i], sizeof(m)))
			fail("%s changed gfn 0x%" PRIx64
			     ": before present %d level %d pfn 0x%" PRIx64 " spte 0x%016" PRIx64
			     ", after present %d level %d pfn 0x%" PRIx64 " spte 0x%016" PRIx64,
			     call, F.sample[i], F.before[i].present, F.before[i].level,
			     F.before[i].pfn, F.before[i].spte, m.present, m.level, m.pfn, m.spte);
	}
}

/* ... nor the number of leaves in any root. */
static void unchanged(const char *call)
{
	int64_t leaves[3];

	unchanged_lookups(call);
	read_leaf_counters(leaves);
	if (memcmp(leaves, F.leaves_before, sizeof(leaves)))
		fail("%s changed the leaf counters 4k/2m/1g from %lld/%lld/%lld to "
		     "%lld/%lld/%lld",
		     call, (long long)F.leaves_before[0], (long long)F.leaves_before[1],
		     (long long)F.leaves_before[2], (long long)leaves[0], (long long)leaves[1],
		     (long long)leaves[2]);
}

/* The model's state and the invariants of whatever maps @g (ref_check_leaf). */
static void check_gfn(uint64_t g)
{
	if (g < F.max_gfn)
		ref_check_gfn(F.vm, g, true);
}

/* After the call: the model holds at every sampled gfn. */
static void after_call(void)
{
	for (int i = 0; i < F.nsample; i++)
		check_gfn(F.sample[i]);
}

/*
 * With real backing: a dirty leaf that the call removed left its frame
 * dirty.  @dirty holds the sampled gfns that had a present Dirty leaf.
 */
static void collect_dirty(bool dirty[MAX_SAMPLE])
{
	for (int i = 0; i < F.nsample; i++)
		dirty[i] = F.payload && F.before[i].present && tdpmmu_spte_dirty(F.before[i].spte);
}

static void check_dirty_kept(const bool dirty[MAX_SAMPLE], const char *call)
{
	for (int i = 0; i < F.nsample; i++) {
		struct tdpmmu_mapping m;
		bool d = false;

		if (!dirty[i])
			continue;
		lookup_ok(F.sample[i], &m);
		if (m.present)
			continue;
		if (tdpmmu_host_dirty(F.vm, F.sample[i], &d) == 0 && !d)
			fail("%s zapped the dirty leaf of gfn 0x%" PRIx64 " (spte 0x%016" PRIx64
			     ") but its frame is not dirty",
			     call, F.sample[i], F.before[i].spte);
	}
}

/* --- argument decoders --------------------------------------------------------- */

static uint64_t wild_gfn(uint16_t x)
{
	switch (x % 10) {
	case 0:
		return F.max_gfn - 1;
	case 1:
		return F.max_gfn;
	case 2:
		return F.max_gfn + 1 + x;
	case 3:
		return UINT64_MAX - (x & 3);
	case 4:
		return 1ull << 36;
	case 5:
		return 1ull << 45;
	case 6:
		return 2 * GB_PAGES + x;
	case 7:
		return (uint64_t)x << 20;
	case 8:
		return INT64_MAX;
	default:
		return GB_PAGES * (x & 7) + MB2_PAGES * (x >> 3 & 7);
	}
}

static uint64_t gfn_arg(void)
{
	uint8_t k = in8();
	uint16_t x = in16();

	switch (k % 8) {
	case 0:
	case 1:
	case 2:
	case 3:
		return x % WIN;
	case 4:
		return F.win_base[1] + x % WIN;
	case 5:
		return F.win_base[2] + x % WIN;
	case 6:
		return F.nrecent ? F.recent[x % (F.nrecent < NR_RECENT ? F.nrecent : NR_RECENT)]
				 : x % WIN;
	default:
		return wild_gfn(x);
	}
}

static void range_arg(uint64_t *start, uint64_t *end)
{
	uint64_t s = gfn_arg();
	uint8_t k = in8(), n = in8();

	switch (k % 8) {
	case 0:
		*end = s; /* empty */
		break;
	case 1:
		*end = s - 1 - n % 64; /* reversed (or wrapped) */
		break;
	case 2:
	case 3:
	case 4:
		*end = s + 1 + n;
		break;
	case 5:
		s = align_down(s, MB2_PAGES);
		*end = s + MB2_PAGES * (1 + n % 4);
		break;
	case 6:
		*end = s + 1 + in16();
		break;
	default:
		*end = F.max_gfn + n % 3 - 1; /* to the end, or one past */
		break;
	}
	*start = s;
}

static uint32_t id_arg(void)
{
	uint8_t v = in8();

	if (v >= 240)
		return v == 255 ? UINT32_MAX : 0x80000000u | v;
	return v % 12;
}

static const char *backing_str(enum tdpmmu_backing b)
{
	const char *n = tdpmmu_backing_name(b);

	return n ? n : "bad";
}

/* --- operations ---------------------------------------------------------------- */

/*
 * After a fault of @access on @g that left it mapped by @m: if @g's leaf
 * before was at the same level with the same frame (the same leaf at the
 * fault's goal level), the fault never weakened it: W, MMU-writable, X, A
 * and D all stay.  If that leaf already allowed the access (a write needs
 * W, an execute X, a read only presence) the fault was spurious and
 * changed nothing at all.  So did a slow-path fault (no
 * TDPMMU_ACCESS_PRESENT: the fast path, which answers "spurious" also
 * when it fixes W, did not run) that answered spurious.
 */
static void same_leaf_kept(uint64_t g, const struct tdpmmu_mapping *m, unsigned access,
			   bool want_res, bool spurious)
{
	const tdpmmu_spte_t keep = TDPMMU_SPTE_W | TDPMMU_SPTE_MMU_WRITABLE | TDPMMU_SPTE_X |
				   TDPMMU_SPTE_ACCESSED | TDPMMU_SPTE_DIRTY;

	for (int i = 0; i < F.nsample; i++) {
		const struct tdpmmu_mapping *b = &F.before[i];
		bool allowed;

		if (F.sample[i] != g || !b->present || b->level != m->level || b->pfn != m->pfn)
			continue;
		allowed = (!(access & TDPMMU_ACCESS_WRITE) || tdpmmu_spte_writable(b->spte)) &&
			  (!(access & TDPMMU_ACCESS_EXEC) || (b->spte & TDPMMU_SPTE_X));
		if ((m->spte & b->spte & keep) != (b->spte & keep))
			fail("fault 0x%x on 0x%" PRIx64 " weakened its leaf: spte 0x%016" PRIx64
			     " before, 0x%016" PRIx64 " after",
			     access, g, b->spte, m->spte);
		if (allowed && (m->spte != b->spte || (want_res && !spurious)))
			fail("fault 0x%x on 0x%" PRIx64
			     " over a leaf that allowed it: spurious %d, "
			     "spte 0x%016" PRIx64 " before, 0x%016" PRIx64 " after",
			     access, g, want_res ? spurious : -1, b->spte, m->spte);
		if (want_res && spurious && !(access & TDPMMU_ACCESS_PRESENT) && m->spte != b->spte)
			fail("spurious fault 0x%x on 0x%" PRIx64
			     " changed its leaf: spte 0x%016" PRIx64 " before, 0x%016" PRIx64
			     " after",
			     access, g, b->spte, m->spte);
	}
}

static void do_fault(int vi, uint64_t g, unsigned access, int maxl, bool want_res)
{
	const unsigned kinds = TDPMMU_ACCESS_READ | TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_EXEC;
	struct tdpmmu_vcpu *v = F.vcpu[vi];
	struct tdpmmu_fault_result res;
	struct tdpmmu_mapping m;
	unsigned t1 = 0, t2 = 0;
	bool write = access & TDPMMU_ACCESS_WRITE, tracked;
	uint64_t pfn = 0;
	int r;

	if (!v)
		return;
	if (!(access & kinds) || (access & ~(kinds | TDPMMU_ACCESS_PRESENT)) || maxl < 0 ||
	    maxl > 3)
		t1 |= REF_E_EINVAL;
	if (g >= F.max_gfn)
		t1 |= REF_E_ERANGE;
	if (!t1 && ref_inval_covers(g))
		return; /* it would retry until the invalidation ends: never */
	tracked = ref_tracked(g) != 0;
	t2 = ref_fault_errors(g, access);
	sample_add(g);
	sample_add(g ^ 1);
	sample_add(align_down(g, MB2_PAGES));
	before_call();
	memset(&res, 0xa5, sizeof(res));
	r = tdpmmu_fault(v, g, access, maxl, want_res ? &res : NULL);
	trace("tdpmmu_fault(vcpu%d%s, 0x%" PRIx64 ", 0x%x, %d, %s) = %d level %d", vi,
	      F.smm[vi] ? " smm" : "", g, access, maxl, want_res ? "&res" : "NULL", r,
	      want_res && r >= 0 ? res.level : 0);
	if ((!t1 && t2 == REF_E_ENOENT) || r == TDPMMU_FAULT_MMIO) {
		/* No memslot (MMIO caching is on): an MMIO entry, nothing mapped. */
		if (t1 || t2 != REF_E_ENOENT || (r != TDPMMU_FAULT_MMIO && r != -ENOMEM))
			fail("tdpmmu_fault(0x%" PRIx64 ", 0x%x) = %d: TDPMMU_FAULT_MMIO is the "
			     "answer for a gfn in no memslot, and only for that",
			     g, access, r);
		unchanged("an MMIO fault");
		after_call();
		return;
	}
	if (r == TDPMMU_FAULT_EMULATE) {
		if (t1 || t2 || !write || !tracked)
			fail("tdpmmu_fault(0x%" PRIx64 ", 0x%x) = TDPMMU_FAULT_EMULATE: not a "
			     "write to a write-tracked gfn",
			     g, access);
	} else if (r == 0 && write && tracked) {
		fail("tdpmmu_fault(0x%" PRIx64 ", 0x%x) = 0 on a write-tracked gfn, expected "
		     "TDPMMU_FAULT_EMULATE",
		     g, access);
	} else {
		expect(r, t1, t2, REF_E_ENOMEM, "tdpmmu_fault");
	}
	if (r < 0) {
		unchanged("failed tdpmmu_fault");
		after_call();
		return;
	}
	if (tdpmmu_host_pfn(F.vm, g, &pfn))
		fail("tdpmmu_host_pfn(0x%" PRIx64 ") failed after a successful fault", g);
	if (want_res &&
	    (res.pfn != pfn || res.level < 1 || res.level > 3 || (maxl && res.level > maxl)))
		fail("fault result on 0x%" PRIx64 ": level %d pfn 0x%" PRIx64
		     ", expected pfn 0x%" PRIx64 " level 1..%d",
		     g, res.level, res.pfn, pfn, maxl ? maxl : 3);
	if (!F.smm[vi]) {
		lookup_ok(g, &m);
		if (!m.present || m.pfn != pfn)
			fail("after a fault on 0x%" PRIx64 ": present %d pfn 0x%" PRIx64
			     ", expected present with host frame 0x%" PRIx64,
			     g, m.present, m.pfn, pfn);
		if ((want_res && m.level != res.level) || (maxl && m.level > maxl))
			fail("after a fault on 0x%" PRIx64 " (cap %d): lookup level %d, result "
			     "level %d",
			     g, maxl, m.level, want_res ? res.level : -1);
		if (write && r == 0 && !tdpmmu_spte_writable(m.spte))
			fail("write fault on 0x%" PRIx64 " left spte 0x%016" PRIx64 " read-only", g,
			     m.spte);
		if (r == TDPMMU_FAULT_EMULATE && tdpmmu_spte_writable(m.spte))
			fail("emulated write on 0x%" PRIx64 " mapped writable: 0x%016" PRIx64, g,
			     m.spte);
		if ((access & TDPMMU_ACCESS_EXEC) && !(m.spte & TDPMMU_SPTE_X))
			fail("execute fault on 0x%" PRIx64 " left spte 0x%016" PRIx64
			     " non-executable",
			     g, m.spte);
		if (tracked && !(access & TDPMMU_ACCESS_PRESENT) && m.level != 1)
			fail("slow fault on write-tracked 0x%" PRIx64 " mapped level %d", g,
			     m.level);
		same_leaf_kept(g, &m, access, want_res, want_res && res.spurious);
		ref_fault(g, access, access & TDPMMU_ACCESS_PRESENT, maxl, m.level);
	} else {
		/* Mapped in the SMM root: the normal-role tree is as it was. */
		unchanged_lookups("a fault on an SMM vCPU");
		ref_fault(g, access, access & TDPMMU_ACCESS_PRESENT, maxl, 0);
	}
	if (want_res && !res.spurious && tdpmmu_test_young(F.vm, g, g + 1) != 1)
		fail("fault on 0x%" PRIx64 " (not spurious) left no young leaf", g);
	recent_push(g);
	after_call();
}

/* Several faults in a row from one gfn: builds up mappings quickly. */
static void op_fault_burst(void)
{
	uint64_t g = gfn_arg();
	uint8_t n = in8(), stride = in8(), kind = in8();

	for (unsigned i = 0; i <= n % 16u; i++) {
		static const unsigned acc[] = { TDPMMU_ACCESS_READ, TDPMMU_ACCESS_WRITE,
						TDPMMU_ACCESS_EXEC,
						TDPMMU_ACCESS_READ | TDPMMU_ACCESS_PRESENT };

		F.nsample = 0;
		do_fault((kind >> 4) & 1, g + i * (1u + stride % 64u), acc[(kind + i) % 4],
			 (kind >> 2) % 4, true);
	}
}

static void op_fault(void)
{
	uint8_t sel = in8(), a = in8(), l = in8();
	uint64_t g = gfn_arg();
	unsigned access;
	int maxl;

	if (a < 200) {
		static const unsigned ok[] = {
			TDPMMU_ACCESS_READ,
			TDPMMU_ACCESS_WRITE,
			TDPMMU_ACCESS_EXEC,
			TDPMMU_ACCESS_READ | TDPMMU_ACCESS_WRITE,
			TDPMMU_ACCESS_READ | TDPMMU_ACCESS_EXEC,
			TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_EXEC,
			TDPMMU_ACCESS_READ | TDPMMU_ACCESS_WRITE | TDPMMU_ACCESS_EXEC,
		};

		access = ok[a % 7] | ((a / 7) & 1 ? TDPMMU_ACCESS_PRESENT : 0);
	} else {
		access = a == 200 ? 0 : a == 201 ? TDPMMU_ACCESS_PRESENT : a; /* mostly invalid */
	}
	if (l < 250) {
		maxl = l % 4;
	} else {
		static const int bad[] = { 4, -1, 5, INT32_MAX, INT32_MIN, 3 };

		maxl = bad[l - 250];
	}
	do_fault(sel & 1, g, access, maxl, !(sel & 2));
}

static void slot_add(struct tdpmmu_memslot *d)
{
	unsigned t1 = 0, t2 = 0;
	int r;

	if ((unsigned)d->backing >= TDPMMU_NR_BACKINGS || (d->flags & ~TDPMMU_MEMSLOT_READONLY) ||
	    !d->npages)
		t1 |= REF_E_EINVAL;
	if (d->base_gfn >= F.max_gfn || d->npages > F.max_gfn - d->base_gfn)
		t1 |= REF_E_ERANGE;
	/* Any 4K place and size is valid, hugetlb too: huge pages map where they fit. */
	/* A valid slot stays small enough to allocate and walk (harness limit). */
	if (!t1 && d->npages > SLOT_PAGES_CAP) {
		d->npages = F.max_gfn - d->base_gfn + 1;
		t1 = REF_E_ERANGE;
	}
	t2 = ref_slot_add_errors(d);
	if (ref_nr_slots() >= REF_MAX_SLOTS)
		return; /* the model is full */
	sample_add(d->base_gfn);
	before_call();
	r = tdpmmu_memslot_add(F.vm, d);
	trace("tdpmmu_memslot_add(id %u, base 0x%" PRIx64 ", npages 0x%" PRIx64
	      ", %s, flags 0x%x) = %d",
	      d->id, d->base_gfn, d->npages, backing_str(d->backing), d->flags, r);
	/* Host frames run out (ENOSPC) with real backing or a huge slot. */
	expect(r, t1, t2, REF_E_ENOSPC | REF_E_ENOMEM, "tdpmmu_memslot_add");
	/* Adding a slot maps nothing and zaps nothing. */
	unchanged(r ? "failed tdpmmu_memslot_add" : "tdpmmu_memslot_add");
	if (!r)
		ref_slot_add(d);
	after_call();
}

static void op_slot_add(void)
{
	struct tdpmmu_memslot d;
	uint8_t am = in8(), nm = in8(), bm = in8(), fm = in8();

	d.id = id_arg();
	d.base_gfn = gfn_arg();
	switch (am % 4) {
	case 1:
		d.base_gfn = align_down(d.base_gfn, MB2_PAGES);
		break;
	case 2:
		d.base_gfn = align_down(d.base_gfn, GB_PAGES);
		break;
	case 3:
		d.base_gfn = align_down(d.base_gfn, MB2_PAGES) + 1 + am % 8;
		break;
	}
	switch (nm % 8) {
	case 0:
		d.npages = 0;
		break;
	case 1:
	case 2:
	case 3:
		d.npages = 1 + in16() % WIN;
		break;
	case 4:
		d.npages = MB2_PAGES * (1 + in8() % 8);
		break;
	case 5:
		d.npages = GB_PAGES * (1 + in8() % 2);
		break;
	case 6:
		d.npages = 1 + (uint64_t)in16();
		break;
	default: {
		uint8_t k = in8();

		d.npages = k % 4 == 0   ? UINT64_MAX
			   : k % 4 == 1 ? F.max_gfn
			   : k % 4 == 2 ? F.max_gfn - d.base_gfn + 1 + k
					: 1ull << 40;
		break;
	}
	}
	d.backing = bm % 6 < 4    ? (enum tdpmmu_backing)(bm % 6)
		    : bm % 6 == 4 ? TDPMMU_NR_BACKINGS
				  : (enum tdpmmu_backing)99;
	d.flags = fm % 8 < 5 ? 0 : fm % 8 < 7 ? TDPMMU_MEMSLOT_READONLY : fm;
	slot_add(&d);
}

/* After a slot change (every mapping goes: a fast zap), the NX list is empty. */
static void slot_changed(void)
{
	if (tdpmmu_nx_listed(F.vm))
		fail("possible-NX list holds %" PRIu64 " tables after a memslot change",
		     tdpmmu_nx_listed(F.vm));
}

static void op_slot_delete(void)
{
	uint32_t id = id_arg();
	struct ref_slot *s = ref_slot_by_id(id);
	int r;

	if (s)
		sample_add(s->d.base_gfn);
	before_call();
	r = tdpmmu_memslot_delete(F.vm, id);
	trace("tdpmmu_memslot_delete(%u) = %d", id, r);
	expect(r, 0, s ? 0 : REF_E_ENOENT, REF_E_ENOMEM, "tdpmmu_memslot_delete");
	if (r) {
		unchanged("failed tdpmmu_memslot_delete");
	} else {
		ref_slot_delete(s);
		slot_changed();
	}
	after_call();
}

static void op_slot_move(void)
{
	uint32_t id = id_arg();
	uint8_t am = in8();
	uint64_t nb = gfn_arg(), idx[6], pfn_before[6] = { 0 };
	int8_t delta = (int8_t)in8();
	uint16_t p1 = in16(), p2 = in16();
	struct ref_slot *s = ref_slot_by_id(id);
	unsigned t1 = 0, t2 = 0;
	int r, nidx = 0;

	if (am % 4 == 1)
		nb = align_down(nb, MB2_PAGES);
	else if (am % 4 == 2)
		nb = align_down(nb, GB_PAGES);
	else if (am % 4 == 3 && s)
		nb = s->d.base_gfn + (uint64_t)(int64_t)delta; /* a short move, maybe over itself */
	if (!s) {
		t1 = REF_E_ENOENT; /* nothing to validate the new place against */
	} else {
		if (nb >= F.max_gfn || s->d.npages > F.max_gfn - nb)
			t1 |= REF_E_ERANGE;
		t2 = ref_slot_move_errors(s, nb);
		/* Pages whose frames must move with them. */
		idx[nidx++] = 0;
		idx[nidx++] = s->d.npages - 1;
		idx[nidx++] = s->d.npages / 2;
		idx[nidx++] = p1 % s->d.npages;
		idx[nidx++] = p2 % s->d.npages;
		for (int i = 0; i < nidx; i++)
			if (tdpmmu_host_pfn(F.vm, s->d.base_gfn + idx[i], &pfn_before[i]))
				fail("tdpmmu_host_pfn(0x%" PRIx64 ") failed in slot %u",
				     s->d.base_gfn + idx[i], id);
		sample_add(s->d.base_gfn);
	}
	sample_add(nb);
	before_call();
	r = tdpmmu_memslot_move(F.vm, id, nb);
	trace("tdpmmu_memslot_move(%u, 0x%" PRIx64 ") = %d", id, nb, r);
	/* A remapped slot may also move fine: then t2's EINVAL did not apply. */
	if (!(r == 0 && !t1 && t2 == REF_E_EINVAL))
		expect(r, t1, t2, REF_E_ENOMEM, "tdpmmu_memslot_move");
	if (r) {
		unchanged("failed tdpmmu_memslot_move");
	} else {
		struct tdpmmu_memslot old = s->d;

		ref_slot_move(s, nb);
		slot_changed();
		for (int i = 0; i < nidx; i++) {
			uint64_t pfn = 0;

			if (tdpmmu_host_pfn(F.vm, nb + idx[i], &pfn) || pfn != pfn_before[i])
				fail("slot %u moved 0x%" PRIx64 " -> 0x%" PRIx64 ": page 0x%" PRIx64
				     " had frame 0x%" PRIx64 ", now 0x%" PRIx64,
				     id, old.base_gfn, nb, idx[i], pfn_before[i], pfn);
		}
	}
	after_call();
}

static unsigned range_t1(uint64_t start, uint64_t end)
{
	unsigned t1 = 0;

	if (start >= end)
		t1 |= REF_E_EINVAL;
	if (end > F.max_gfn)
		t1 |= REF_E_ERANGE;
	return t1;
}

static void op_zap_range(void)
{
	uint64_t start, end;
	bool dirty[MAX_SAMPLE];
	unsigned t1;
	int r;

	range_arg(&start, &end);
	t1 = range_t1(start, end);
	sample_range(start, end);
	before_call();
	collect_dirty(dirty);
	r = tdpmmu_zap_range(F.vm, start, end);
	trace("tdpmmu_zap_range(0x%" PRIx64 ", 0x%" PRIx64 ") = %d", start, end, r);
	expect(r, t1, 0, 0, "tdpmmu_zap_range");
	if (r) {
		unchanged("failed tdpmmu_zap_range");
	} else {
		ref_zap(start, end);
		check_dirty_kept(dirty, "tdpmmu_zap_range");
	}
	after_call();
}

static void op_zap_all(bool fast)
{
	bool dirty[MAX_SAMPLE];
	int r;

	before_call();
	collect_dirty(dirty);
	r = fast ? tdpmmu_zap_all_fast(F.vm) : tdpmmu_zap_all(F.vm);
	trace("tdpmmu_zap_all%s() = %d", fast ? "_fast" : "", r);
	expect(r, 0, 0, 0, fast ? "tdpmmu_zap_all_fast" : "tdpmmu_zap_all");
	ref_zap_all();
	if (tdpmmu_nx_listed(F.vm))
		fail("possible-NX list holds %" PRIu64 " tables after a zap of everything",
		     tdpmmu_nx_listed(F.vm));
	check_dirty_kept(dirty, "zap_all");
	after_call();
}

static void op_inval_begin(void)
{
	uint64_t start, end;
	bool dirty[MAX_SAMPLE];
	unsigned t1;
	int r;

	range_arg(&start, &end);
	t1 = range_t1(start, end);
	sample_range(start, end);
	before_call();
	collect_dirty(dirty);
	r = tdpmmu_invalidate_begin(F.vm, start, end);
	trace("tdpmmu_invalidate_begin(0x%" PRIx64 ", 0x%" PRIx64 ") = %d (%d in progress)", start,
	      end, r, ref.ninval);
	expect(r, t1, ref_inval_begin_errors(), 0, "tdpmmu_invalidate_begin");
	if (r) {
		unchanged("failed tdpmmu_invalidate_begin");
	} else {
		ref_inval_begin(start, end);
		check_dirty_kept(dirty, "tdpmmu_invalidate_begin");
	}
	after_call();
}

static void op_inval_end(void)
{
	uint8_t v = in8();
	uint64_t start, end;
	int r, found;

	if ((v & 1) && ref.ninval) {
		start = ref.inval[(v >> 1) % ref.ninval].start;
		end = ref.inval[(v >> 1) % ref.ninval].end;
		if (v & 2) {
			end += v & 4 ? 1 : -1; /* almost the range: not it (unless another is) */
		}
	} else {
		range_arg(&start, &end);
	}
	found = ref_inval_find(start, end);
	sample_range(start, end);
	before_call();
	r = tdpmmu_invalidate_end(F.vm, start, end);
	trace("tdpmmu_invalidate_end(0x%" PRIx64 ", 0x%" PRIx64 ") = %d", start, end, r);
	expect(r, 0, found < 0 ? REF_E_EINVAL : 0, 0, "tdpmmu_invalidate_end");
	/* End changes no mapping either way. */
	unchanged("tdpmmu_invalidate_end");
	if (!r)
		ref_inval_end(found);
	after_call();
}

static void op_remap(void)
{
	uint8_t v = in8(), fm = in8();
	uint64_t start, end;
	unsigned flags, t1, t2;
	int r;

	if ((v & 1) && ref.ninval) {
		const struct ref_range *rg = &ref.inval[(v >> 1) % ref.ninval];
		uint64_t len = rg->end - rg->start;

		start = rg->start;
		end = rg->end;
		if (v & 2) { /* a part of it */
			start += in16() % len;
			end = start + 1 + in16() % (rg->end - start);
		}
	} else {
		range_arg(&start, &end);
	}
	flags = fm % 4 == 0 ? 0 : fm % 4 < 3 ? TDPMMU_REMAP_HUGE : fm;
	t1 = range_t1(start, end);
	if (flags & ~TDPMMU_REMAP_HUGE)
		t1 |= REF_E_EINVAL;
	t2 = ref_remap_errors(start, end);
	sample_range(start, end);
	sample_range(align_down(start, MB2_PAGES), align_down(start, MB2_PAGES) + MB2_PAGES);
	before_call();
	r = tdpmmu_host_remap(F.vm, start, end, flags);
	trace("tdpmmu_host_remap(0x%" PRIx64 ", 0x%" PRIx64 ", 0x%x) = %d", start, end, flags, r);
	expect(r, t1, t2, REF_E_ENOSPC, "tdpmmu_host_remap");
	/* Frames change; mappings do not (the invalidation removed them). */
	unchanged("tdpmmu_host_remap");
	if (!r)
		ref_remap(start, end);
	after_call();
}

static void op_log_enable(void)
{
	uint32_t id = id_arg();
	unsigned flags = in8();
	struct ref_slot *s = ref_slot_by_id(id);
	unsigned t1 = 0, t2 = 0;
	int r;

	flags = flags < 224 ? flags % 8 : flags; /* every combination, sometimes bad bits */
	if ((flags & ~7u) || ((flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) &&
			      !(flags & TDPMMU_DIRTY_LOG_MANUAL_PROTECT)))
		t1 |= REF_E_EINVAL;
	t2 = ref_log_enable_errors(s);
	if (s)
		sample_range(s->d.base_gfn, s->d.base_gfn + s->d.npages);
	before_call();
	r = tdpmmu_dirty_log_enable(F.vm, id, flags);
	trace("tdpmmu_dirty_log_enable(%u, 0x%x) = %d", id, flags, r);
	if (r < 0) {
		expect(r, t1, t2, REF_E_ENOMEM, "tdpmmu_dirty_log_enable");
		unchanged("failed tdpmmu_dirty_log_enable");
	} else {
		expect(0, t1, t2, 0, "tdpmmu_dirty_log_enable");
		ref_log_enable(s, flags);
		if (flags & TDPMMU_DIRTY_LOG_INITIALLY_SET) {
			/* Every page reported already: no split, no protection. */
			if (r)
				fail("tdpmmu_dirty_log_enable(%u, 0x%x) = %d, initially set: "
				     "expected 0",
				     id, flags, r);
			unchanged("tdpmmu_dirty_log_enable (initially set)");
		}
	}
	after_call();
}

static void op_log_get(void)
{
	uint32_t id = id_arg();
	uint8_t v = in8();
	struct ref_slot *s = ref_slot_by_id(id);
	uint64_t words = s ? ref_slot_words(s) : 8, *buf;
	unsigned t1 = 0, t2 = 0;
	int r;

	buf = calloc(words, sizeof(*buf));
	if (!buf)
		fail("out of memory for a bitmap");
	if (v % 8 == 0)
		t1 |= REF_E_EINVAL;
	t2 = ref_log_get_errors(s);
	if (s)
		sample_range(s->d.base_gfn, s->d.base_gfn + s->d.npages);
	before_call();
	r = tdpmmu_dirty_log_get(F.vm, id, v % 8 == 0 ? NULL : buf);
	trace("tdpmmu_dirty_log_get(%u, %s) = %d", id, v % 8 == 0 ? "NULL" : "buf", r);
	if (r < 0) {
		expect(r, t1, t2, 0, "tdpmmu_dirty_log_get");
		unchanged("failed tdpmmu_dirty_log_get");
	} else {
		expect(0, t1, t2, 0, "tdpmmu_dirty_log_get");
		if (r != ref_popcount(s->bits, words))
			fail("tdpmmu_dirty_log_get(%u) = %d, the model has %d bits set", id, r,
			     ref_popcount(s->bits, words));
		for (uint64_t w = 0; w < words; w++)
			if (buf[w] != s->bits[w])
				fail("tdpmmu_dirty_log_get(%u): word %" PRIu64 " is 0x%016" PRIx64
				     ", the model's 0x%016" PRIx64,
				     id, w, buf[w], s->bits[w]);
		if (s->log & TDPMMU_DIRTY_LOG_MANUAL_PROTECT)
			unchanged("tdpmmu_dirty_log_get (manual protect)");
		ref_log_get(s, NULL); /* clears the bitmap without MANUAL_PROTECT */
	}
	free(buf);
	after_call();
}

/*
 * Could a table allocation fail now (a split then stops, the rest stays
 * huge)?  Injected failures, or an arena nearly full: the tables in use,
 * those waiting for reclamation, and room for the vCPUs' caches and a
 * split's stash.
 */
static bool alloc_may_fail(void)
{
	struct tdpmmu_reclaim_stats rs;
	int64_t c[TDPMMU_NR_COUNTERS];
	uint64_t used;

	if (F.alloc_inject)
		return true;
	tdpmmu_counters_read(F.vm, c);
	tdpmmu_reclaim_stats_read(F.vm, &rs);
	used = (uint64_t)(c[TDPMMU_C_TABLES_L1] + c[TDPMMU_C_TABLES_L2] + c[TDPMMU_C_TABLES_L3] +
			  c[TDPMMU_C_TABLES_L4] + c[TDPMMU_C_TABLES_L5]) +
	       rs.outstanding;
	return used + 64 >= F.max_tables;
}

/* After a clear of @was at @lo: every sampled gfn against its lookup before. */
static void check_cleared(const struct ref_slot *s, uint64_t lo, uint64_t was, bool may_fail)
{
	const unsigned both = TDPMMU_DIRTY_LOG_INITIALLY_SET | TDPMMU_DIRTY_LOG_EAGER_SPLIT;
	bool split = (s->log & both) == both;

	for (int i = 0; i < F.nsample; i++) {
		const struct tdpmmu_mapping *b = &F.before[i];
		uint64_t g = F.sample[i];
		struct tdpmmu_mapping m;
		tdpmmu_spte_t bits;
		int level;

		lookup_ok(g, &m);
		if (!b->present && !m.present)
			continue;
		if (!b->present || !m.present || m.pfn != b->pfn)
			fail("tdpmmu_dirty_log_clear changed the frame of gfn 0x%" PRIx64
			     ": before present %d pfn 0x%" PRIx64
			     ", after present %d pfn 0x%" PRIx64,
			     g, b->present, b->pfn, m.present, m.pfn);
		level = ref_cleared_level(b->level, g, lo, was, split);
		/* A split that ran out of tables leaves the rest huge. */
		if (m.level != level &&
		    !(may_fail && split && m.level > level && m.level <= b->level))
			fail("tdpmmu_dirty_log_clear(lo 0x%" PRIx64 ", was 0x%016" PRIx64
			     "): gfn 0x%" PRIx64 " at level %d, expected %d (%d before)",
			     lo, was, g, m.level, level, b->level);
		bits = ref_cleared_bits(b->level, b->spte, g, m.level, lo, was);
		if ((m.spte & REF_SPTE_LEAF_BITS) != bits)
			fail("tdpmmu_dirty_log_clear(lo 0x%" PRIx64 ", was 0x%016" PRIx64
			     "): gfn 0x%" PRIx64 " level %d spte 0x%016" PRIx64
			     ", expected bits 0x%016" PRIx64 " (before: level %d spte 0x%016" PRIx64
			     ")",
			     lo, was, g, m.level, m.spte, bits, b->level, b->spte);
	}
}

static void op_log_clear(void)
{
	uint32_t id = id_arg();
	uint8_t fm = in8(), mm = in8();
	struct ref_slot *s = ref_slot_by_id(id);
	uint64_t words = s ? ref_slot_words(s) : 1, first, mask, want = 0;
	unsigned t1 = 0, t2 = 0;
	bool may_fail = false;
	int r;

	switch (fm % 6) {
	case 0:
		first = 0;
		break;
	case 1:
		first = 64 * (in16() % words);
		break;
	case 2:
		first = 64 * words;
		break;
	case 3:
		first = in16();
		break;
	case 4:
		first = 64 * (words - 1);
		break;
	default:
		first = UINT64_MAX & ~63ull;
		break;
	}
	switch (mm % 4) {
	case 0:
		mask = ~0ull;
		break;
	case 1:
		mask = in64();
		break;
	case 2:
		mask = s && s->bits && first / 64 < words ? s->bits[first / 64] : in64();
		break;
	default:
		mask = 1ull << (in8() % 64);
		break;
	}
	if (first % 64)
		t1 |= REF_E_EINVAL;
	t2 = ref_log_clear_errors(s, first, mask);
	if (!t2) {
		want = s->bits[first / 64] & mask;
		sample_range(s->d.base_gfn + first, s->d.base_gfn + first + 64);
		for (uint64_t m = want; m; m &= m - 1)
			sample_add(s->d.base_gfn + first + (uint64_t)__builtin_ctzll(m));
		may_fail = alloc_may_fail();
	}
	before_call();
	r = tdpmmu_dirty_log_clear(F.vm, id, first, mask);
	trace("tdpmmu_dirty_log_clear(%u, 0x%" PRIx64 ", 0x%016" PRIx64 ") = %d", id, first, mask,
	      r);
	if (r < 0) {
		expect(r, t1, t2, 0, "tdpmmu_dirty_log_clear");
		unchanged("failed tdpmmu_dirty_log_clear");
	} else {
		expect(0, t1, t2, 0, "tdpmmu_dirty_log_clear");
		if (r != __builtin_popcountll(want))
			fail("tdpmmu_dirty_log_clear(%u, 0x%" PRIx64 ", 0x%016" PRIx64
			     ") = %d, the model clears %d bits (0x%016" PRIx64 ")",
			     id, first, mask, r, __builtin_popcountll(want), want);
		ref_log_clear(s, first, mask);
		/* Nothing was set: nothing else happens. */
		if (!want)
			unchanged("tdpmmu_dirty_log_clear of no set bit");
		else
			check_cleared(s, s->d.base_gfn + first, want, may_fail);
	}
	after_call();
}

static void op_log_disable(void)
{
	uint32_t id = id_arg();
	uint8_t hv = in8();
	enum tdpmmu_huge_recovery how = (enum tdpmmu_huge_recovery)(hv % 4 < 3 ? hv % 4 : hv);
	struct ref_slot *s = ref_slot_by_id(id);
	unsigned t1 = 0, t2 = 0;
	int r;

	if ((unsigned)how > TDPMMU_RECOVER_INPLACE)
		t1 |= REF_E_EINVAL;
	t2 = ref_log_disable_errors(s);
	if (s)
		sample_range(s->d.base_gfn, s->d.base_gfn + s->d.npages);
	before_call();
	r = tdpmmu_dirty_log_disable(F.vm, id, how);
	trace("tdpmmu_dirty_log_disable(%u, %u) = %d", id, (unsigned)how, r);
	if (r < 0) {
		expect(r, t1, t2, 0, "tdpmmu_dirty_log_disable");
		unchanged("failed tdpmmu_dirty_log_disable");
	} else {
		expect(0, t1, t2, 0, "tdpmmu_dirty_log_disable");
		if (how == TDPMMU_RECOVER_NONE && r)
			fail("tdpmmu_dirty_log_disable(%u, NONE) = %d", id, r);
		ref_log_disable(s, how);
	}
	after_call();
}

static void op_recover(void)
{
	uint32_t id = id_arg();
	uint8_t hv = in8();
	enum tdpmmu_huge_recovery how = (enum tdpmmu_huge_recovery)(hv % 4 < 3 ? hv % 4 : hv);
	struct ref_slot *s = ref_slot_by_id(id);
	unsigned t1 = 0, t2 = 0;
	int r;

	if (how != TDPMMU_RECOVER_ZAP && how != TDPMMU_RECOVER_INPLACE)
		t1 |= REF_E_EINVAL;
	t2 = ref_recover_errors(s);
	if (s)
		sample_range(s->d.base_gfn, s->d.base_gfn + s->d.npages);
	before_call();
	r = tdpmmu_recover_huge_pages(F.vm, id, how);
	trace("tdpmmu_recover_huge_pages(%u, %u) = %d", id, (unsigned)how, r);
	if (r < 0) {
		expect(r, t1, t2, 0, "tdpmmu_recover_huge_pages");
		unchanged("failed tdpmmu_recover_huge_pages");
	} else {
		expect(0, t1, t2, 0, "tdpmmu_recover_huge_pages");
		ref_recover(s, how);
	}
	after_call();
}

/* The leaf that maps @g (if any) is neither writable nor MMU-writable. */
static void check_protected(uint64_t g, const char *call)
{
	struct tdpmmu_mapping m;

	lookup_ok(g, &m);
	if (m.present && (tdpmmu_spte_writable(m.spte) || tdpmmu_spte_mmu_writable(m.spte)))
		fail("after %s(0x%" PRIx64 "): spte 0x%016" PRIx64 " still (MMU-)writable", call, g,
		     m.spte);
}

static void op_write_protect(void)
{
	uint64_t g = gfn_arg();
	struct tdpmmu_mapping m0 = { 0 };
	bool had = false;
	int r;

	if (g < F.max_gfn) {
		lookup_ok(g, &m0);
		had = m0.present &&
		      (tdpmmu_spte_writable(m0.spte) || tdpmmu_spte_mmu_writable(m0.spte));
	}
	sample_add(g);
	before_call();
	r = tdpmmu_write_protect_gfn(F.vm, g);
	trace("tdpmmu_write_protect_gfn(0x%" PRIx64 ") = %d", g, r);
	if (r < 0 || g >= F.max_gfn) {
		expect(r, g >= F.max_gfn ? REF_E_ERANGE : 0, 0, 0, "tdpmmu_write_protect_gfn");
		unchanged("failed tdpmmu_write_protect_gfn");
	} else {
		/* Another root (SMM) may hold a writable leaf the lookup cannot see. */
		if (r > 1 || (had && r != 1) || (!had && !F.smm_used && r != 0))
			fail("tdpmmu_write_protect_gfn(0x%" PRIx64 ") = %d, leaf before: present "
			     "%d spte 0x%016" PRIx64,
			     g, r, m0.present, m0.spte);
		check_protected(g, "tdpmmu_write_protect_gfn");
	}
	after_call();
}

static uint64_t track_gfn_arg(void)
{
	uint8_t v = in8();

	if (ref.ntracked && v % 2)
		return ref.tracked[(v >> 1) % ref.ntracked].gfn;
	return gfn_arg();
}

static void op_track(bool add)
{
	uint64_t g = track_gfn_arg();
	bool tracked = ref_tracked(g) != 0;
	unsigned t1 = 0, t2;
	int r;

	if (add && !tracked && ref.ntracked == REF_MAX_TRACKED)
		return;
	if (g >= F.max_gfn)
		t1 |= REF_E_ERANGE;
	t2 = ref_track_errors(g, add);
	sample_add(g);
	before_call();
	r = add ? tdpmmu_write_track_add(F.vm, g) : tdpmmu_write_track_remove(F.vm, g);
	trace("tdpmmu_write_track_%s(0x%" PRIx64 ") = %d", add ? "add" : "remove", g, r);
	expect(r, t1, t2, add ? REF_E_ENOMEM : 0,
	       add ? "tdpmmu_write_track_add" : "tdpmmu_write_track_remove");
	if (r) {
		unchanged(add ? "failed tdpmmu_write_track_add"
			      : "failed tdpmmu_write_track_remove");
	} else if (add) {
		ref_track_add(g);
		check_protected(g, "tdpmmu_write_track_add");
	} else {
		ref_track_remove(g);
		/* Remove has nothing to undo in the tables. */
		unchanged("tdpmmu_write_track_remove");
	}
	if (tdpmmu_write_tracked(F.vm, g) != (ref_tracked(g) != 0))
		fail("tdpmmu_write_tracked(0x%" PRIx64 ") = %d, model %d", g,
		     tdpmmu_write_tracked(F.vm, g), (ref_tracked(g) != 0));
	after_call();
}

static void op_young(void)
{
	uint8_t k = in8();
	uint64_t start, end;
	bool young_seen = false;
	unsigned t1;
	int r;

	range_arg(&start, &end);
	t1 = range_t1(start, end);
	sample_range(start, end);
	before_call();
	for (int i = 0; i < F.nsample; i++)
		if (F.sample[i] >= start && F.sample[i] < end && F.before[i].present &&
		    tdpmmu_spte_accessed(F.before[i].spte))
			young_seen = true;
	switch (k % 3) {
	case 0:
		r = tdpmmu_test_young(F.vm, start, end);
		trace("tdpmmu_test_young(0x%" PRIx64 ", 0x%" PRIx64 ") = %d", start, end, r);
		expect(r < 0 ? r : 0, t1, 0, 0, "tdpmmu_test_young");
		if (r >= 0 && (r > 1 || (young_seen && r != 1)))
			fail("tdpmmu_test_young(0x%" PRIx64 ", 0x%" PRIx64
			     ") = %d, a sampled leaf is%s young",
			     start, end, r, young_seen ? "" : " not");
		unchanged("tdpmmu_test_young");
		break;
	default:
		r = k % 3 == 1 ? tdpmmu_clear_young(F.vm, start, end)
			       : tdpmmu_clear_flush_young(F.vm, start, end);
		trace("tdpmmu_clear%s_young(0x%" PRIx64 ", 0x%" PRIx64 ") = %d",
		      k % 3 == 1 ? "" : "_flush", start, end, r);
		expect(r < 0 ? r : 0, t1, 0, 0, "tdpmmu_clear_young");
		if (r < 0) {
			unchanged("failed tdpmmu_clear_young");
			break;
		}
		if (young_seen && r == 0)
			fail("tdpmmu_clear_young(0x%" PRIx64 ", 0x%" PRIx64
			     ") = 0 but a sampled leaf was young",
			     start, end);
		if (tdpmmu_test_young(F.vm, start, end) != 0)
			fail("a leaf in [0x%" PRIx64 ", 0x%" PRIx64 ") is young after clear_young",
			     start, end);
		break;
	}
	after_call();
}

static void op_lookup(void)
{
	uint8_t v = in8();
	uint64_t g = gfn_arg();
	struct tdpmmu_mapping m;
	unsigned t1 = 0;
	int r;

	if (v % 8 == 0)
		t1 |= REF_E_EINVAL;
	if (g >= F.max_gfn)
		t1 |= REF_E_ERANGE;
	sample_add(g);
	before_call();
	r = tdpmmu_lookup(F.vm, g, v % 8 == 0 ? NULL : &m);
	trace("tdpmmu_lookup(0x%" PRIx64 ", %s) = %d", g, v % 8 == 0 ? "NULL" : "&m", r);
	expect(r, t1, 0, 0, "tdpmmu_lookup");
	unchanged("tdpmmu_lookup");
	after_call();
}

static void op_host(void)
{
	uint8_t k = in8(), lo = in8();
	uint64_t g = gfn_arg(), pfn = 0, value = 1;
	struct ref_slot *s = ref_slot_of(g);
	unsigned t1 = 0, t2 = 0;
	bool dirty = false;
	int r;

	sample_add(g);
	before_call();
	switch (k % 4) {
	case 0:
		r = tdpmmu_host_pfn(F.vm, g, &pfn);
		trace("tdpmmu_host_pfn(0x%" PRIx64 ") = %d, 0x%" PRIx64, g, r, pfn);
		/* Out of range is simply no memslot here. */
		expect(r, 0, s ? 0 : REF_E_ENOENT | REF_E_ERANGE, 0, "tdpmmu_host_pfn");
		if (!r && (pfn == 0 || pfn >= (1ull << 39)))
			fail("tdpmmu_host_pfn(0x%" PRIx64 ") = frame 0x%" PRIx64, g, pfn);
		break;
	case 1: {
		uint64_t gpa = (g << 12) | (uint64_t)(lo % 16 ? (lo & 0xf8) : lo);
		bool null = k >= 224;

		if ((gpa & 7) || null)
			t1 |= REF_E_EINVAL;
		if ((gpa >> 12) >= F.max_gfn)
			t1 |= REF_E_ERANGE;
		if (!F.payload)
			t2 |= REF_E_ENODEV;
		if (!ref_slot_of(gpa >> 12))
			t2 |= REF_E_ENOENT;
		r = tdpmmu_host_read(F.vm, gpa, null ? NULL : &value);
		trace("tdpmmu_host_read(0x%" PRIx64 ") = %d, 0x%" PRIx64, gpa, r, value);
		expect(r, t1, t2, 0, "tdpmmu_host_read");
		/* Nothing ever writes guest memory here (no vCPU runs). */
		if (!r && value != 0)
			fail("tdpmmu_host_read(0x%" PRIx64 ") = 0x%" PRIx64 ", expected 0", gpa,
			     value);
		break;
	}
	case 3:
		if (g >= F.max_gfn)
			t1 |= REF_E_ERANGE;
		if (!F.payload)
			t2 |= REF_E_ENODEV;
		if (!s)
			t2 |= REF_E_ENOENT;
		r = tdpmmu_host_writeback(F.vm, g);
		trace("tdpmmu_host_writeback(0x%" PRIx64 ") = %d", g, r);
		expect(r, t1, t2, 0, "tdpmmu_host_writeback");
		if (!r && (tdpmmu_host_dirty(F.vm, g, &dirty) || dirty))
			fail("frame of 0x%" PRIx64 " still dirty after tdpmmu_host_writeback", g);
		break;
	default: {
		bool null = k >= 224;

		if (null)
			t1 |= REF_E_EINVAL;
		if (g >= F.max_gfn)
			t1 |= REF_E_ERANGE;
		if (!F.payload)
			t2 |= REF_E_ENODEV;
		if (!s)
			t2 |= REF_E_ENOENT;
		r = tdpmmu_host_dirty(F.vm, g, null ? NULL : &dirty);
		trace("tdpmmu_host_dirty(0x%" PRIx64 ") = %d, %d", g, r, dirty);
		expect(r, t1, t2, 0, "tdpmmu_host_dirty");
		break;
	}
	}
	unchanged("a host query");
	after_call();
}

static void op_nx_recover(void)
{
	unsigned ratio = in8() % 8;
	uint64_t listed = tdpmmu_nx_listed(F.vm);
	int r;

	before_call();
	r = tdpmmu_nx_recover(F.vm, ratio);
	trace("tdpmmu_nx_recover(%u) = %d (listed %" PRIu64 ")", ratio, r, listed);
	if (r < 0 || (uint64_t)r > listed)
		fail("tdpmmu_nx_recover(%u) = %d with %" PRIu64 " tables listed", ratio, r, listed);
	if (!F.nx && (r || listed))
		fail("NX off, yet %" PRIu64 " tables listed and %d recovered", listed, r);
	ref_nx_recover(ratio ? ratio : 1, NULL, 0, r);
	if (!r)
		unchanged("tdpmmu_nx_recover (nothing recovered)");
	after_call();
}

static void op_vcpu(void)
{
	uint8_t k = in8();
	struct tdpmmu_vcpu_stats st;
	struct tdpmmu_vcpu *dummy;
	int r, vi = (k >> 3) & 1;

	before_call();
	switch (k % 6) {
	case 0:
		if (F.vcpu[1])
			break;
		r = tdpmmu_vcpu_create(F.vm, &F.vcpu[1]);
		trace("tdpmmu_vcpu_create() = %d", r);
		expect(r, 0, 0, REF_E_ENOMEM, "tdpmmu_vcpu_create");
		if (r)
			F.vcpu[1] = NULL;
		F.smm[1] = false;
		break;
	case 1:
		trace("tdpmmu_vcpu_destroy(vcpu1%s)", F.vcpu[1] ? "" : " = NULL");
		tdpmmu_vcpu_destroy(F.vcpu[1]);
		F.vcpu[1] = NULL;
		F.smm[1] = false;
		break;
	case 2:
		if (!F.vcpu[vi])
			break;
		r = tdpmmu_vcpu_set_smm(F.vcpu[vi], (k >> 4) & 1);
		trace("tdpmmu_vcpu_set_smm(vcpu%d, %d) = %d", vi, (k >> 4) & 1, r);
		expect(r, 0, 0, 0, "tdpmmu_vcpu_set_smm");
		F.smm[vi] = (k >> 4) & 1;
		F.smm_used |= F.smm[vi];
		break;
	case 3:
		r = tdpmmu_vcpu_set_smm(NULL, true);
		expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_vcpu_set_smm(NULL)");
		break;
	case 4:
		r = tdpmmu_vcpu_create(F.vm, NULL);
		expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_vcpu_create(vm, NULL)");
		r = tdpmmu_vcpu_create(NULL, &dummy);
		expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_vcpu_create(NULL, &v)");
		break;
	default:
		if (F.vcpu[vi])
			tdpmmu_vcpu_stats_read(F.vcpu[vi], &st);
		break;
	}
	/* vCPUs come and go, roles switch: the normal-role tree stays as it was. */
	unchanged("a vCPU operation");
	after_call();
}

static void op_misc(void)
{
	uint8_t k = in8(), v = in8();
	char name[8];
	int r;

	before_call();
	switch (k % 8) {
	case 0:
		tdpmmu_flush_tlbs(F.vm);
		trace("tdpmmu_flush_tlbs()");
		break;
	case 1:
		r = tdpmmu_hold_walk(F.vm, (uint64_t)v * 50);
		trace("tdpmmu_hold_walk(%u ns) = %d", v * 50u, r);
		expect(r, 0, 0, 0, "tdpmmu_hold_walk");
		r = tdpmmu_hold_walk(NULL, 1);
		expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_hold_walk(NULL)");
		break;
	case 2: {
		int64_t c[TDPMMU_NR_COUNTERS];
		struct tdpmmu_lock_stats ls;
		struct tdpmmu_reclaim_stats rs;
		struct tdpmmu_root_stats roots;
		struct tdpmmu_latency lat;

		tdpmmu_counters_read(F.vm, c);
		tdpmmu_lock_stats_read(F.vm, &ls);
		tdpmmu_reclaim_stats_read(F.vm, &rs);
		tdpmmu_root_stats_read(F.vm, &roots);
		tdpmmu_fault_latency_read(F.vm, &lat);
		for (int i = 0; i < TDPMMU_NR_COUNTERS; i++)
			if (!tdpmmu_counter_name((enum tdpmmu_counter)i))
				fail("counter %d has no name", i);
		/* Only what holds although reclamation frees tables on its own thread. */
		if (c[TDPMMU_C_LEAVES_4K] < 0 || c[TDPMMU_C_LEAVES_2M] < 0 ||
		    c[TDPMMU_C_LEAVES_1G] < 0 || rs.strategy != F.strategy ||
		    rs.freed > rs.retired || roots.valid > roots.allocated)
			fail("statistics out of line: leaves %lld/%lld/%lld, strategy %d (%d), "
			     "retired %" PRIu64 " freed %" PRIu64 ", roots %" PRIu64 "/%" PRIu64,
			     (long long)c[TDPMMU_C_LEAVES_4K], (long long)c[TDPMMU_C_LEAVES_2M],
			     (long long)c[TDPMMU_C_LEAVES_1G], rs.strategy, F.strategy, rs.retired,
			     rs.freed, roots.valid, roots.allocated);
		break;
	}
	case 3: {
		enum tdpmmu_strategy st = TDPMMU_STRATEGY_WRLOCK;
		enum tdpmmu_backing b = TDPMMU_BACKING_THP;

		for (int i = 0; i < 7; i++)
			name[i] = (char)in8();
		name[7] = 0;
		r = tdpmmu_strategy_parse(name, &st);
		if (r && (r != -EINVAL || st != TDPMMU_STRATEGY_WRLOCK))
			fail("tdpmmu_strategy_parse(\"%s\") = %d", name, r);
		if (!r && strcmp(tdpmmu_strategy_name(st), name))
			fail("tdpmmu_strategy_parse(\"%s\") gave %d", name, st);
		r = tdpmmu_backing_parse(name, &b);
		if (r && (r != -EINVAL || b != TDPMMU_BACKING_THP))
			fail("tdpmmu_backing_parse(\"%s\") = %d", name, r);
		if (tdpmmu_strategy_name((enum tdpmmu_strategy)(TDPMMU_NR_STRATEGIES + v)) ||
		    tdpmmu_backing_name((enum tdpmmu_backing)(TDPMMU_NR_BACKINGS + v)))
			fail("a name for an out-of-range value");
		break;
	}
	case 4:
		tdpmmu_rcu_membarrier_active();
		(void)tdpmmu_vm_max_gfn(F.vm);
		break;
	default:
		r = tdpmmu_audit(F.vm);
		trace("tdpmmu_audit() = %d", r);
		if (r)
			fail("tdpmmu_audit() = %d violations (details above)", r);
		break;
	}
	unchanged("a read-only call");
	after_call();
}

/* --- the run ------------------------------------------------------------------- */

enum op {
	OP_FAULT,
	OP_FAULT_BURST,
	OP_SLOT_ADD,
	OP_SLOT_DELETE,
	OP_SLOT_MOVE,
	OP_ZAP_RANGE,
	OP_ZAP_ALL,
	OP_ZAP_ALL_FAST,
	OP_INVAL_BEGIN,
	OP_INVAL_END,
	OP_REMAP,
	OP_LOG_ENABLE,
	OP_LOG_GET,
	OP_LOG_CLEAR,
	OP_LOG_DISABLE,
	OP_RECOVER,
	OP_WRPROT,
	OP_TRACK_ADD,
	OP_TRACK_REMOVE,
	OP_YOUNG,
	OP_LOOKUP,
	OP_HOST,
	OP_NX_RECOVER,
	OP_VCPU,
	OP_MISC,
	NR_OPS,
};

static const char *const op_names[NR_OPS] = {
	"fault",          "fault_burst",   "memslot_add",
	"memslot_delete", "memslot_move",  "zap_range",
	"zap_all",        "zap_all_fast",  "invalidate_begin",
	"invalidate_end", "host_remap",    "log_enable",
	"log_get",        "log_clear",     "log_disable",
	"recover_huge",   "write_protect", "track_add",
	"track_remove",   "young",         "lookup",
	"host",           "nx_recover",    "vcpu",
	"misc",
};

static void run_op(enum op op)
{
	F.nsample = 0;
	switch (op) {
	case OP_FAULT:
		op_fault();
		break;
	case OP_FAULT_BURST:
		op_fault_burst();
		break;
	case OP_SLOT_ADD:
		op_slot_add();
		break;
	case OP_SLOT_DELETE:
		op_slot_delete();
		break;
	case OP_SLOT_MOVE:
		op_slot_move();
		break;
	case OP_ZAP_RANGE:
		op_zap_range();
		break;
	case OP_ZAP_ALL:
		op_zap_all(false);
		break;
	case OP_ZAP_ALL_FAST:
		op_zap_all(true);
		break;
	case OP_INVAL_BEGIN:
		op_inval_begin();
		break;
	case OP_INVAL_END:
		op_inval_end();
		break;
	case OP_REMAP:
		op_remap();
		break;
	case OP_LOG_ENABLE:
		op_log_enable();
		break;
	case OP_LOG_GET:
		op_log_get();
		break;
	case OP_LOG_CLEAR:
		op_log_clear();
		break;
	case OP_LOG_DISABLE:
		op_log_disable();
		break;
	case OP_RECOVER:
		op_recover();
		break;
	case OP_WRPROT:
		op_write_protect();
		break;
	case OP_TRACK_ADD:
		op_track(true);
		break;
	case OP_TRACK_REMOVE:
		op_track(false);
		break;
	case OP_YOUNG:
		op_young();
		break;
	case OP_LOOKUP:
		op_lookup();
		break;
	case OP_HOST:
		op_host();
		break;
	case OP_NX_RECOVER:
		op_nx_recover();
		break;
	case OP_VCPU:
		op_vcpu();
		break;
	case OP_MISC:
	case NR_OPS:
		op_misc();
		break;
	}
}

/* Bad configurations are refused and create nothing. */
static void try_bad_configs(uint8_t v)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm = NULL;
	int r;

	tdpmmu_vm_config_init(&cfg);
	switch (v % 5) {
	case 0:
		cfg.levels = v & 8 ? 3 : 6;
		break;
	case 1:
		cfg.max_tables = v & 8;
		cfg.max_tables = cfg.max_tables ? 1 : 0;
		break;
	case 2:
		cfg.strategy = (enum tdpmmu_strategy)(TDPMMU_NR_STRATEGIES + (v >> 4));
		break;
	case 3:
		r = tdpmmu_vm_create(NULL, &vm);
		expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_vm_create(NULL)");
		return;
	default:
		r = tdpmmu_vm_create(&cfg, NULL);
		expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_vm_create(cfg, NULL)");
		return;
	}
	r = tdpmmu_vm_create(&cfg, &vm);
	expect(r, REF_E_EINVAL, 0, 0, "tdpmmu_vm_create(bad config)");
	if (vm)
		fail("a refused tdpmmu_vm_create set its output");
}

static void flush_observer(void *ctx, uint64_t gfn, int level)
{
	(void)gfn;
	(void)level;
	++*(uint64_t *)ctx;
}

static void run_input(void)
{
	static const uint64_t arena[] = { 4096, 1024, 64, 8 };
	static const unsigned inject_alloc[] = { 0, 0, 5, 40 };
	struct tdpmmu_vm_config cfg;
	uint64_t flushes = 0;
	uint8_t b0 = in8(), b1 = in8(), b2 = in8();
	int r;

	F.opname = NULL;
	F.op = -1;
	if (b1 & 0x80)
		try_bad_configs(b2);
	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = (enum tdpmmu_strategy)(b0 % TDPMMU_NR_STRATEGIES);
	cfg.levels = b1 & 1 ? 5 : 4;
	cfg.nx_huge_pages = b1 & 2;
	cfg.payload_bytes = b1 & 4 ? PAYLOAD_BYTES : 0;
	cfg.max_tables = arena[(b1 >> 3) & 3];
	cfg.nx_recovery_period_ms = 0; /* no recovery thread: tdpmmu_nx_recover only */
	cfg.nx_recovery_ratio = b2 & 7;
	cfg.drain_delay_ms = 1 + 5 * ((b2 >> 3) & 3);
	/* Process-wide: table allocations that fail (faults then fail cleanly), quarantine. */
	tdpmmu_inject(0, inject_alloc[(b2 >> 5) & 3]);
	tdpmmu_quarantine(b2 & 0x80);
	cfg.flush_tlbs = flush_observer;
	cfg.flush_ctx = &flushes;
	F.max_tables = cfg.max_tables;
	F.alloc_inject = inject_alloc[(b2 >> 5) & 3] != 0;
	F.nx = cfg.nx_huge_pages;
	F.strategy = cfg.strategy;
	F.payload = cfg.payload_bytes != 0;
	r = tdpmmu_vm_create(&cfg, &F.vm);
	trace("tdpmmu_vm_create(%s, %u levels, nx %d, payload %d, %" PRIu64 " tables) = %d",
	      tdpmmu_strategy_name(cfg.strategy), cfg.levels, cfg.nx_huge_pages, F.payload,
	      cfg.max_tables, r);
	if (r)
		fail("tdpmmu_vm_create = %d", r);
	F.max_gfn = tdpmmu_vm_max_gfn(F.vm);
	if (F.max_gfn != 1ull << (cfg.levels == 5 ? 45 : 36))
		fail("max gfn 0x%" PRIx64 " for %u levels", F.max_gfn, cfg.levels);
	F.win_base[0] = 0;
	F.win_base[1] = GB_PAGES - WIN / 2;
	F.win_base[2] = F.max_gfn - WIN;
	ref_init_vague(F.win_base, NR_WINDOWS, WIN, F.nx);
	ref.fatal = true; /* a mismatch aborts, as fail() does */
	set_where();
	r = tdpmmu_vcpu_create(F.vm, &F.vcpu[0]);
	if (r)
		fail("tdpmmu_vcpu_create = %d", r);
	if (b1 & 0x20) {
		r = tdpmmu_vcpu_create(F.vm, &F.vcpu[1]);
		if (r)
			fail("tdpmmu_vcpu_create = %d", r);
	}
	if (b1 & 0x40) {
		/* Preset memslots, through the same checked path as any other add. */
		const struct tdpmmu_memslot presets[] = {
			{ 0, 0, 1024, TDPMMU_BACKING_ANON, 0 },
			{ 1, 1124, 2048, TDPMMU_BACKING_THP, 0 },
			{ 2, 3584, 512, TDPMMU_BACKING_HUGETLB_2M, 0 },
			{ 3, GB_PAGES - 2048, 1024, TDPMMU_BACKING_ANON, TDPMMU_MEMSLOT_READONLY },
			{ 4, GB_PAGES, GB_PAGES, TDPMMU_BACKING_HUGETLB_1G, 0 },
			{ 5, F.max_gfn - 4000, 3000, TDPMMU_BACKING_THP, 0 },
		};

		F.opname = "preset memslot_add";
		set_where();
		for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
			struct tdpmmu_memslot d = presets[i];

			F.nsample = 0;
			slot_add(&d);
		}
	}
	for (F.op = 0; F.op < MAX_OPS && F.off < F.size; F.op++) {
		enum op op = (enum op)(in8() % NR_OPS);

		F.opname = op_names[op];
		set_where();
		run_op(op);
	}
	F.opname = "final checks";
	set_where();
	for (uint64_t k = 0; k < NR_WINDOWS * WIN; k++)
		check_gfn(F.win_base[k / WIN] + k % WIN);
	r = tdpmmu_audit(F.vm);
	if (r)
		fail("tdpmmu_audit() = %d violations (details above)", r);
	while (ref.ninval) {
		struct ref_range rg = ref.inval[--ref.ninval];

		r = tdpmmu_invalidate_end(F.vm, rg.start, rg.end);
		trace("tdpmmu_invalidate_end(0x%" PRIx64 ", 0x%" PRIx64 ") = %d", rg.start, rg.end,
		      r);
		if (r)
			fail("tdpmmu_invalidate_end(0x%" PRIx64 ", 0x%" PRIx64 ") of a range in "
			     "progress = %d",
			     rg.start, rg.end, r);
	}
	r = tdpmmu_audit(F.vm);
	if (r)
		fail("tdpmmu_audit() after the last invalidate_end = %d violations", r);
	tdpmmu_vm_destroy(F.vm);
	F.vm = NULL;
	tdpmmu_inject(0, 0);
	tdpmmu_quarantine(false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool once;

	if (!once) {
		const char *t = getenv("FUZZ_API_TRACE");

		trace_on = t && *t && strcmp(t, "0");
		once = true;
	}
	if (size < 3)
		return 0;
	memset(&F, 0, sizeof(F));
	F.data = data;
	F.size = size;
	run_input();
	ref_free();
	return 0;
}

#ifdef FUZZ_STANDALONE
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap ? 2 * cap : 4096);

			if (!nb) {
				fclose(f);
				free(buf);
				fprintf(stderr, "%s: out of memory\n", path);
				return -1;
			}
			buf = nb;
			cap = cap ? 2 * cap : 4096;
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		if (!got)
			break;
		n += got;
	}
	if (ferror(f)) {
		perror(path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	if (trace_on)
		fprintf(stderr, "fuzz_api: %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int only_files(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	int inputs = 0, errors = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...  (replays each input)\n", argv[0]);
		return 2;
	}
	{
		const char *t = getenv("FUZZ_API_TRACE");

		trace_on = t && *t && strcmp(t, "0");
	}
	for (int i = 1; i < argc; i++) {
		struct stat sb;

		if (stat(argv[i], &sb)) {
			perror(argv[i]);
			errors++;
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			struct dirent **list;
			int n = scandir(argv[i], &list, only_files, alphasort);

			if (n < 0) {
				perror(argv[i]);
				errors++;
				continue;
			}
			for (int j = 0; j < n; j++) {
				char path[4096];

				snprintf(path, sizeof(path), "%s/%s", argv[i], list[j]->d_name);
				if (!stat(path, &sb) && S_ISREG(sb.st_mode)) {
					errors += replay_file(path) != 0;
					inputs++;
				}
				free(list[j]);
			}
			free(list);
		} else {
			errors += replay_file(argv[i]) != 0;
			inputs++;
		}
	}
	printf("fuzz_api: %d input(s) replayed, %d unreadable\n", inputs, errors);
	return errors ? 1 : 0;
}
#endif
