/*
 * test_vcpu_ad.c - Accessed and Dirty bits set by the simulated hardware.
 *
 * (a) Exactly the written pages are dirty.  One vCPU, real backing: in a 4K
 *     anon slot it writes a known random subset of pages (some written
 *     first, some read first and written later, so that the Dirty bit comes
 *     from the fault, from the walker, or from the TLB's assist on a clean
 *     cached entry), reads another subset and leaves the rest alone.  Then
 *     every leaf is present and Accessed exactly on the touched pages and
 *     Dirty exactly on the written ones; the bytes read back through the
 *     host are the ones written; no host frame is dirty yet.  The same in
 *     a THP slot at 2M: a block's huge leaf is Dirty exactly when a page of
 *     it was written.  Zapping everything then hands every Dirty bit to the
 *     host: tdpmmu_host_dirty() is true exactly on the written pages (and
 *     on every frame of a written 2M block), and dirty_leaves_dropped
 *     counts the dirty leaves.
 *
 * (b) A concurrent zap never loses a Dirty bit.  In rounds, each in a fresh
 *     VM, vCPUs sweep their own pages (4K anon, and 2M THP blocks they
 *     share), each page read, written once, read back, while the main
 *     thread zaps small ranges around where the vCPUs are working (and now
 *     and then anywhere).  After the round, for every page, either its
 *     current leaf is Dirty or its host frame was marked dirty when a dirty
 *     leaf went away, and the host holds the value written; after a final
 *     zap exactly the written frames are dirty.  Each page is written only
 *     once per round because a second write would set D again and hide a
 *     lost one.  Rounds go on past --seconds (up to 10x) until dirty leaves
 *     were dropped by zaps while vCPUs ran (dirty_leaves_dropped > 0) and
 *     zaps landed between a page's read and its write, so that the write
 *     found its clean cached translation gone and faulted (counted by the
 *     guest from its own ept_violations).
 *
 *   test_vcpu_ad [--seconds S] [--vcpus N] [--seed S]
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "lib/test_opts.h"
#include "lib/util.h"
#include "tdpmmu/testing.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/written_once.h"
#include "lib/test_vm.h"

#define GB_PAGES (1ull << 18)
#define MB2 512ull
#define MAX_VCPUS 4

/* Two slots, each placed by the host at its own 1 GiB of frames. */
#define ANON_BASE 0ull
#define ANON_PAGES 2048ull
#define THP_BASE (32 * MB2) /* 64 MiB */
#define THP_PAGES (32 * MB2)
#define PAYLOAD_BYTES ((3 * GB_PAGES) * 4096ull)

static struct tdpmmu_vm *make_vm(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slots[] = {
		{ 0, ANON_BASE, ANON_PAGES, TDPMMU_BACKING_ANON, 0 },
		{ 1, THP_BASE, THP_PAGES, TDPMMU_BACKING_THP, 0 },
	};
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = PAYLOAD_BYTES;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	test_add_slots(vm, slots, ARRAY_SIZE(slots));
	return vm;
}

static char exact_summary[256]; /* part (a)'s counters, for the summary line */

static uint64_t word_value(uint64_t gfn, unsigned n)
{
	return (gfn << 20) ^ (0xd1b54a32d192ed03ull * (n + 1));
}

/* --- (a) exactly the written pages are dirty ------------------------------ */

struct prog {
	struct tdpmmu_access *acc;
	size_t n, i;
	uint64_t bad_reads;
};

static bool prog_next(void *ctx, struct tdpmmu_access *a)
{
	struct prog *p = ctx;

	/* Reads of a word never written see the zeroed payload. */
	if (p->i && p->acc[p->i - 1].type == TDPMMU_ACCESS_READ && a->value != 0)
		p->bad_reads++;
	if (p->i == p->n)
		return false;
	*a = p->acc[p->i++];
	return true;
}

/*
 * How a page is used: WRITE_FIRST gets D from the write fault, READ_THEN_WRITE
 * from the TLB's assist on the clean entry the read cached, READ_WRITE_LATER
 * from the walker (the write comes after 2047 other pages evicted the TLB).
 */
enum { UNTOUCHED, READ_ONLY, WRITE_FIRST, READ_THEN_WRITE, READ_WRITE_LATER, NR_KINDS };

static bool kind_writes(int k)
{
	return k == WRITE_FIRST || k == READ_THEN_WRITE || k == READ_WRITE_LATER;
}

static void test_exact_dirty(uint64_t seed)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_vcpu *v;
	uint64_t rs = seed * 31 + 7, nblocks = THP_PAGES / MB2;
	static uint8_t kind[ANON_PAGES], block_written[THP_PAGES / MB2];
	struct tdpmmu_access *acc = calloc(3 * ANON_PAGES + 2 * nblocks, sizeof(*acc));
	struct prog p = { .acc = acc };
	size_t nw = 0, dirty_blocks = 0;
	struct tdpmmu_vcpu_stats st;
	int64_t c[TDPMMU_NR_COUNTERS];
	unsigned bad = 0;

	REQUIRE(acc);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	/* The program, page by page, in a random order of pages. */
	for (uint64_t i = 0; i < ANON_PAGES; i++)
		kind[i] = (uint8_t)(test_rand(&rs) % NR_KINDS);
	for (uint64_t k = 0; k < ANON_PAGES; k++) {
		uint64_t gfn = ANON_BASE + (k * 733) % ANON_PAGES; /* 733 is prime to 2048 */
		uint64_t gpa = gfn << 12, off = (gfn % 512) * 8;

		switch (kind[gfn - ANON_BASE]) {
		case READ_ONLY:
			acc[p.n++] = (struct tdpmmu_access){ gpa + off, TDPMMU_ACCESS_READ, 0 };
			acc[p.n++] = (struct tdpmmu_access){ gpa + 8 * ((off / 8 + 1) % 512),
							     TDPMMU_ACCESS_READ, 0 };
			break;
		case WRITE_FIRST:
			acc[p.n++] = (struct tdpmmu_access){ gpa + off, TDPMMU_ACCESS_WRITE,
							     word_value(gfn, 0) };
			acc[p.n++] = (struct tdpmmu_access){ gpa + off, TDPMMU_ACCESS_WRITE,
							     word_value(gfn, 1) };
			nw++;
			break;
		case READ_WRITE_LATER:
			acc[p.n++] = (struct tdpmmu_access){ gpa + off, TDPMMU_ACCESS_READ, 0 };
			nw++;
			break;
		case READ_THEN_WRITE:
			/* Clean leaf from the read fault, then D through the TLB. */
			acc[p.n++] = (struct tdpmmu_access){ gpa + off, TDPMMU_ACCESS_READ, 0 };
			acc[p.n++] = (struct tdpmmu_access){ gpa + off, TDPMMU_ACCESS_WRITE,
							     word_value(gfn, 1) };
			nw++;
			break;
		}
	}
	for (uint64_t k = 0; k < ANON_PAGES; k++) {
		uint64_t gfn = ANON_BASE + (k * 733) % ANON_PAGES;

		if (kind[gfn - ANON_BASE] == READ_WRITE_LATER)
			acc[p.n++] = (struct tdpmmu_access){ (gfn << 12) + (gfn % 512) * 8,
							     TDPMMU_ACCESS_WRITE,
							     word_value(gfn, 1) };
	}
	/* THP: read every other block, write a random subset of the blocks read. */
	for (uint64_t b = 0; b < nblocks; b++) {
		uint64_t gfn = THP_BASE + b * MB2 + test_rand(&rs) % MB2;

		if (b % 2)
			continue;
		acc[p.n++] = (struct tdpmmu_access){ gfn << 12, TDPMMU_ACCESS_READ, 0 };
		if (test_rand(&rs) % 2) {
			acc[p.n++] = (struct tdpmmu_access){ gfn << 12, TDPMMU_ACCESS_WRITE,
							     word_value(gfn, 1) };
			block_written[b] = 1;
			dirty_blocks++;
		}
	}
	CHECK_EQ(tdpmmu_vcpu_run(v, prog_next, &p, 0), 0);
	CHECK_EQ(p.i, p.n);
	CHECK_EQ(p.bad_reads, 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vcpu_stats_read(v, &st);

	for (uint64_t gfn = ANON_BASE; gfn < ANON_BASE + ANON_PAGES; gfn++) {
		int k = kind[gfn - ANON_BASE];
		bool written = kind_writes(k), hd = true;
		struct tdpmmu_mapping m;
		uint64_t val = 1;

		REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
		REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
		REQUIRE(tdpmmu_host_read(vm, (gfn << 12) + (gfn % 512) * 8, &val) == 0);
		if (m.present != (k != UNTOUCHED) ||
		    (m.present && (m.level != 1 || !tdpmmu_spte_accessed(m.spte) ||
				   tdpmmu_spte_dirty(m.spte) != written)) ||
		    hd || val != (written ? word_value(gfn, 1) : 0)) {
			if (bad++ < 10)
				fprintf(stderr,
					"anon gfn 0x%" PRIx64 " kind %d: present %d level %d "
					"spte 0x%016" PRIx64 " host dirty %d value 0x%" PRIx64 "\n",
					gfn, k, m.present, m.level, m.spte, hd, val);
		}
	}
	for (uint64_t b = 0; b < nblocks; b++) {
		uint64_t gfn = THP_BASE + b * MB2;
		struct tdpmmu_mapping m;

		REQUIRE(tdpmmu_lookup(vm, gfn + 17, &m) == 0);
		if (m.present != !(b % 2) ||
		    (m.present && (m.level != 2 || !tdpmmu_spte_accessed(m.spte) ||
				   tdpmmu_spte_dirty(m.spte) != block_written[b]))) {
			if (bad++ < 10)
				fprintf(stderr,
					"thp block 0x%" PRIx64 ": present %d level %d "
					"spte 0x%016" PRIx64 " written %d\n",
					gfn, m.present, m.level, m.spte, block_written[b]);
		}
	}
	CHECK_EQ(bad, 0);
	tdpmmu_counters_read(vm, c);
	CHECK_EQ(c[TDPMMU_C_DIRTY_LEAVES_DROPPED], 0);

	/* Zap everything: every Dirty bit must reach the host, and nothing else. */
	CHECK_EQ(tdpmmu_zap_range(vm, 0, THP_BASE + THP_PAGES), 0);
	tdpmmu_counters_read(vm, c);
	CHECK_EQ(c[TDPMMU_C_DIRTY_LEAVES_DROPPED], nw + dirty_blocks);
	for (uint64_t gfn = ANON_BASE; gfn < ANON_BASE + ANON_PAGES; gfn++) {
		int k = kind[gfn - ANON_BASE];
		bool hd;

		REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
		if (hd != kind_writes(k) && bad++ < 10)
			fprintf(stderr, "after zap: anon gfn 0x%" PRIx64 " kind %d host dirty %d\n",
				gfn, k, hd);
	}
	for (uint64_t gfn = THP_BASE; gfn < THP_BASE + THP_PAGES; gfn++) {
		bool hd;

		REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
		if (hd != block_written[(gfn - THP_BASE) / MB2] && bad++ < 10)
			fprintf(stderr, "after zap: thp gfn 0x%" PRIx64 " host dirty %d\n", gfn,
				hd);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	snprintf(exact_summary, sizeof(exact_summary),
		 "exact: %zu accesses, %zu of %llu pages and %zu of %llu THP blocks written, "
		 "ad_updates %" PRIu64 ", tlb_hits %" PRIu64 ", dirty_leaves_dropped %lld",
		 p.n, nw, (unsigned long long)ANON_PAGES, dirty_blocks, (unsigned long long)nblocks,
		 st.ad_updates, st.tlb_hits, (long long)c[TDPMMU_C_DIRTY_LEAVES_DROPPED]);
	tdpmmu_vm_destroy(vm);
	free(acc);
}

/* --- (b) a concurrent zap never loses a Dirty bit ---------------------------- */

/*
 * The host's dirty bit is sticky and a later write sets D again, so a lost
 * Dirty bit only shows if the page is not written again.  Hence rounds:
 * each round is a fresh VM in which every page is written exactly once
 * (read, write, read back), with the zapper chasing the writers.
 */
#define RPAGES (ANON_PAGES + THP_PAGES / 4) /* the anon slot and 4 THP blocks */

static int nvcpus = 3;
static atomic_long run_errors;

static uint64_t page_gfn(uint64_t p)
{
	return p < ANON_PAGES ? ANON_BASE + p : THP_BASE + (p - ANON_PAGES);
}

static uint64_t page_word_gpa(uint64_t p)
{
	return (page_gfn(p) << 12) + (p % 512) * 8;
}

static bool written[RPAGES]; /* the write to the page completed (owner only) */
static uint64_t value_of[RPAGES];

struct writer {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t round;
	uint64_t p;              /* current page (own pages are id, id + n, ...) */
	int step;                /* 0: read, 1: write, 2: read back, 3: next page */
	_Atomic uint64_t cursor; /* gfn being worked on, for the zapper */
	uint64_t viol_before;    /* ept_violations when the write was issued */
	uint64_t split_writes;   /* writes that faulted although the read had mapped the page */
	uint64_t bad_reads;
	pthread_t thread;
};

static uint64_t ept_violations(const struct tdpmmu_vcpu *v)
{
	struct tdpmmu_vcpu_stats st;

	tdpmmu_vcpu_stats_read(v, &st);
	return st.ept_violations;
}

static bool writer_next(void *ctx, struct tdpmmu_access *a)
{
	struct writer *w = ctx;

	if (w->step == 2) {
		written[w->p] = true; /* the write completed */
		/* A fault here means a zap hit the page between the read and the write. */
		if (ept_violations(w->v) != w->viol_before)
			w->split_writes++;
	} else if (w->step == 3) {
		if (a->value != value_of[w->p] && w->bad_reads++ < 5)
			fprintf(stderr,
				"vCPU %d: gfn 0x%" PRIx64 " read back 0x%" PRIx64
				", wrote 0x%" PRIx64 "\n",
				w->id, page_gfn(w->p), a->value, value_of[w->p]);
		w->p += (uint64_t)nvcpus;
		w->step = 0;
	}
	if (w->p >= RPAGES)
		return false; /* swept all its pages */
	if (w->step == 0)
		atomic_store_explicit(&w->cursor, page_gfn(w->p), memory_order_relaxed);
	a->gpa = page_word_gpa(w->p);
	a->type = w->step == 1 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ;
	if (w->step == 1) {
		w->viol_before = ept_violations(w->v);
		value_of[w->p] = written_value(w->round, w->id, w->p);
		a->value = value_of[w->p];
	}
	w->step++;
	return true;
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	int r = tdpmmu_vcpu_run(w->v, writer_next, w, 0);

	if (r) {
		fprintf(stderr, "vCPU %d: tdpmmu_vcpu_run failed: %d\n", w->id, r);
		atomic_fetch_add(&run_errors, 1);
	}
	atomic_store(&w->cursor, UINT64_MAX); /* done */
	return NULL;
}

struct totals {
	uint64_t rounds, zaps, walk_retries, ad_updates, bad;
	uint64_t split_writes;
	struct written_tally pages;
	int64_t leaves_zapped, dirty_dropped;
};

/* One round in a fresh VM; adds its counts and violations to @t. */
static void one_round(uint64_t round, uint64_t *rs, struct totals *t)
{
	struct tdpmmu_vm *vm = make_vm();
	struct writer w[MAX_VCPUS];
	struct tdpmmu_vcpu_stats st;
	int64_t c[TDPMMU_NR_COUNTERS];
	int running;

	memset(w, 0, sizeof(w));
	memset(written, 0, sizeof(written));
	for (int i = 0; i < nvcpus; i++) {
		REQUIRE(tdpmmu_vcpu_create(vm, &w[i].v) == 0);
		w[i].id = i;
		w[i].round = round;
		w[i].p = (uint64_t)i;
		atomic_init(&w[i].cursor, 0);
	}
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&w[i].thread, NULL, writer_thread, &w[i]) == 0);
	/* Chase the writers: zap around where they are, now and then elsewhere. */
	do {
		struct writer *x = &w[test_rand(rs) % (uint64_t)nvcpus];
		uint64_t gfn = atomic_load_explicit(&x->cursor, memory_order_relaxed);
		uint64_t len = 1 + test_rand(rs) % 8;

		if (test_rand(rs) % 16 == 0 || gfn == UINT64_MAX) {
			gfn = page_gfn(test_rand(rs) % RPAGES);
			len = 1 + test_rand(rs) % 1024;
		} else {
			gfn -= gfn >= 4 ? test_rand(rs) % 4 : 0;
		}
		REQUIRE(tdpmmu_zap_range(vm, gfn, gfn + len) == 0);
		t->zaps++;
		sched_yield();
		running = 0;
		for (int i = 0; i < nvcpus; i++)
			running += atomic_load(&w[i].cursor) != UINT64_MAX;
	} while (running);
	for (int i = 0; i < nvcpus; i++)
		pthread_join(w[i].thread, NULL);
	/* Quiescent: the writers are joined and this thread made every zap. */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* Every page written once: its leaf is Dirty or its frame is. */
	for (uint64_t p = 0; p < RPAGES; p++)
		check_written_once(vm, round, page_gfn(p), page_word_gpa(p), written[p],
				   value_of[p], &t->pages, &t->bad);
	/*
	 * Once everything is zapped, every written frame is dirty, and the
	 * frames of a THP block nobody touched are not.
	 */
	CHECK_EQ(tdpmmu_zap_range(vm, 0, THP_BASE + THP_PAGES), 0);
	for (uint64_t p = 0; p < RPAGES + MB2; p++) {
		uint64_t gfn = p < RPAGES ? page_gfn(p) : THP_BASE + THP_PAGES - MB2 + (p - RPAGES);
		bool hd = false;

		REQUIRE(tdpmmu_host_dirty(vm, gfn, &hd) == 0);
		if (hd != (p < RPAGES) && t->bad++ < 10)
			fprintf(stderr,
				"round %" PRIu64 ": after zap, gfn 0x%" PRIx64 " host dirty %d\n",
				round, gfn, hd);
	}
	for (int i = 0; i < nvcpus; i++) {
		tdpmmu_vcpu_stats_read(w[i].v, &st);
		t->walk_retries += st.walk_retries;
		t->ad_updates += st.ad_updates;
		t->bad += w[i].bad_reads;
		t->split_writes += w[i].split_writes;
	}
	tdpmmu_counters_read(vm, c);
	t->leaves_zapped += c[TDPMMU_C_LEAVES_ZAPPED];
	t->dirty_dropped += c[TDPMMU_C_DIRTY_LEAVES_DROPPED];
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vm_destroy(vm);
	t->rounds++;
}

static void test_zap_keeps_dirty(double seconds, uint64_t seed)
{
	struct totals t = { 0 };
	uint64_t start = test_now_ns(), rs = seed * 131 + 3;

	for (;;) {
		uint64_t now;

		one_round(t.rounds, &rs, &t);
		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		if ((t.dirty_dropped > 0 && t.split_writes > 0) ||
		    now - start > (uint64_t)(10 * seconds * 1e9) || atomic_load(&run_errors) ||
		    t.bad)
			break;
	}
	printf("test_vcpu_ad: %s; concurrent: %.1f s, %d vCPUs, %" PRIu64 " rounds, %" PRIu64
	       " zaps: %" PRIu64 " page writes (%" PRIu64 " dirty in the leaf, %" PRIu64
	       " dirty in the host); zapped between read and write %" PRIu64 ", ad_updates %" PRIu64
	       ", walk_retries %" PRIu64 ", leaves_zapped %lld, dirty_leaves_dropped %lld\n",
	       exact_summary, (double)(test_now_ns() - start) / 1e9, nvcpus, t.rounds, t.zaps,
	       t.pages.written, t.pages.in_leaf, t.pages.in_host, t.split_writes, t.ad_updates,
	       t.walk_retries, (long long)t.leaves_zapped, (long long)t.dirty_dropped);
	CHECK_EQ(atomic_load(&run_errors), 0);
	CHECK_EQ(t.bad, 0);
	CHECK(t.dirty_dropped > 0);
	CHECK(t.split_writes > 0);
}

/*
 * Deterministic: "hardware" sets Dirty on a clean leaf between the zap's
 * snapshot and its store (the test hook in inject.h).  The zap must still
 * hand the page to the host as dirty; a plain store would lose it.
 */
static void hardware_sets_dirty(_Atomic uint64_t *sptep)
{
	tdpmmu_spte_t s = atomic_load(sptep);

	if (tdpmmu_spte_present(s) && !tdpmmu_spte_dirty(s))
		atomic_fetch_or(sptep, TDPMMU_SPTE_DIRTY);
}

static void test_dirty_between_snapshot_and_store(void)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_mapping m;
	struct tdpmmu_vcpu *v;
	uint64_t gfn = ANON_BASE + 3;
	bool dirty = true;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	REQUIRE(tdpmmu_fault(v, gfn, TDPMMU_ACCESS_READ, 0, NULL) == 0);
	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0 && m.present);
	CHECK(!tdpmmu_spte_dirty(m.spte)); /* a read maps it clean */
	REQUIRE(tdpmmu_host_dirty(vm, gfn, &dirty) == 0);
	CHECK(!dirty);
	tdpmmu_test_set_store_hook(hardware_sets_dirty);
	REQUIRE(tdpmmu_zap_range(vm, gfn, gfn + 1) == 0);
	tdpmmu_test_set_store_hook(NULL);
	REQUIRE(tdpmmu_host_dirty(vm, gfn, &dirty) == 0);
	CHECK(dirty); /* the Dirty set in the window reached the host */
	tdpmmu_vm_destroy(vm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = nvcpus, .seed = 1 };

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	nvcpus = o.vcpus;
	test_dirty_between_snapshot_and_store();
	test_exact_dirty(o.seed);
	test_zap_keeps_dirty(o.seconds, o.seed);
	return check_report("test_vcpu_ad");
}
