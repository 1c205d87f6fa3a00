/*
 * test_vcpu_tlb.c - TLB coherence of the simulated vCPUs.
 *
 * (a) Zap means gone.  vCPU threads run guest programs that keep reading
 *     and writing a few gfns each (their own, 4K anon memory, so their TLB
 *     hits), while the main thread zaps all of those gfns again and again
 *     with tdpmmu_zap_range and publishes a generation number after each
 *     zap returns.  The guest program (running in guest mode between two
 *     accesses) records the generation it sees right after each access to
 *     a gfn X completes.  When it later sees the generation two or more
 *     ahead of that record, a whole zap started after that access and
 *     completed (its flush included), and nobody touched X since: the next
 *     access to X must miss the TLB and take an EPT violation.  The program
 *     checks its own ept_violations statistic across that access.  Why two:
 *     the zap published as k+1 may already have run when the access read k.
 *     The same reasoning checks the flush's wait: if between two callbacks
 *     a zap that started after the first one flushed and returned, the
 *     vCPU must have left guest mode in between (its guest_entries moved);
 *     one that stayed in guest mode across the flush could still be using
 *     a translation from before it.  (Spans that long occur when the vCPU
 *     thread is preempted in guest mode, which the flush must wait out.)
 *     The run goes on past --seconds (up to 10x) until the first check
 *     happened, the TLBs hit, and flushes kicked vCPUs that were in guest
 *     mode (the second check needs preemption, so it is counted, not
 *     required).  Once the threads are joined, every TLB is audited
 *     against the tables (tdpmmu_audit_tlbs).
 *
 * (b) A vCPU outside guest mode never holds up a flush: one that ran once
 *     and returned, one created and never run, and one whose thread is
 *     inside tdpmmu_vcpu_run but blocked in its first guest callback (which
 *     runs before guest mode is entered).  tdpmmu_flush_tlbs and
 *     tdpmmu_zap_range must return; a watchdog fails the test loudly after
 *     60 s.  The vCPU that ran, when run again, must then flush its TLB on
 *     entry and take an EPT violation on the zapped gfn.
 *
 *   test_vcpu_tlb [--seconds S] [--vcpus N] [--seed S]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/test_vm.h"
#include "lib/test_opts.h"
#include "lib/util.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define MAX_VCPUS 64
#define GFNS_PER_VCPU 8
#define SLOT_PAGES 4096ull

/* --- watchdog: a hang fails loudly instead of stalling make check --------- */

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static const char *wd_what;
static uint64_t wd_deadline_ns;
static bool wd_quit;

static void *watchdog(void *arg)
{
	pthread_mutex_lock(&wd_lock);
	while (!wd_quit) {
		struct timespec ts;

		if (wd_what && test_now_ns() > wd_deadline_ns) {
			fprintf(stderr,
				"test_vcpu_tlb: WATCHDOG: \"%s\" did not finish in time: "
				"a vCPU (or the flush waiting for it) is stuck\n",
				wd_what);
			abort();
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&wd_cond, &wd_lock, &ts);
	}
	pthread_mutex_unlock(&wd_lock);
	return NULL;
}

static void watchdog_arm(const char *what, double seconds)
{
	pthread_mutex_lock(&wd_lock);
	wd_what = what;
	wd_deadline_ns = test_now_ns() + (uint64_t)(seconds * 1e9);
	pthread_mutex_unlock(&wd_lock);
}

static pthread_t watchdog_start(void)
{
	pthread_condattr_t a;
	pthread_t t;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&wd_cond, &a);
	REQUIRE(pthread_create(&t, NULL, watchdog, NULL) == 0);
	return t;
}

static void watchdog_stop(pthread_t t)
{
	pthread_mutex_lock(&wd_lock);
	wd_quit = true;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_lock);
	pthread_join(t, NULL);
}

/* --- (a) zap means gone ---------------------------------------------------- */

static struct tdpmmu_vm *vm;
static atomic_bool stop;
static _Atomic uint64_t zap_gen; /* zaps that have returned */
static atomic_long verified, stale_hits, run_errors;

struct guest {
	struct tdpmmu_vcpu *v;
	int id;
	uint64_t rs;
	uint64_t gfn[GFNS_PER_VCPU];
	uint64_t gen_after[GFNS_PER_VCPU]; /* generation seen right after the last access */
	bool touched[GFNS_PER_VCPU];
	int pending;       /* index of the access in flight, -1 for none */
	bool must_violate; /* the access in flight must take an EPT violation */
	uint64_t viol_before;
	uint64_t gen_when_issued;
	/* The previous callback of this run: generation and guest entries seen. */
	bool have_prev;
	uint64_t prev_gen, prev_entries;
	uint64_t accesses;
	pthread_t thread;
};

/*
 * Whether a zap numbered in [from, to] flushed.  The main thread stores
 * flushed[k % FLUSH_RING] before it publishes generation k; a guest only
 * asks about spans much shorter than the ring.
 */
#define FLUSH_RING 4096
static _Atomic uint8_t flushed[FLUSH_RING];
static atomic_long stayed_in_guest, made_to_exit;

static bool flushed_between(uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k <= to; k++)
		if (atomic_load_explicit(&flushed[k % FLUSH_RING], memory_order_relaxed))
			return true;
	return false;
}

/* The guest program; runs on the vCPU thread, in guest mode between accesses. */
static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct guest *g = ctx;
	struct tdpmmu_vcpu_stats st;
	uint64_t gen = atomic_load(&zap_gen);
	int j;

	tdpmmu_vcpu_stats_read(g->v, &st);
	/*
	 * A zap numbered prev_gen + 2 or later started after the previous
	 * callback (which saw prev_gen) and has returned now.  If it flushed,
	 * its flush either found this vCPU outside guest mode (then entering
	 * again counted a guest entry) or kicked it and waited until it left
	 * (ditto).  So with a flushing zap in the span, the entries must differ:
	 * a vCPU that stayed in guest mode across a flush could still be using
	 * a translation from before it.  Spans over a preemption are where this
	 * bites.
	 */
	if (g->have_prev && gen >= g->prev_gen + 2 && gen - g->prev_gen < FLUSH_RING / 2 &&
	    flushed_between(g->prev_gen + 2, gen)) {
		if (st.guest_entries == g->prev_entries) {
			fprintf(stderr,
				"vCPU %d: stayed in guest mode (entries %" PRIu64
				") while zaps %" PRIu64 "..%" PRIu64 " flushed and returned\n",
				g->id, st.guest_entries, g->prev_gen + 2, gen);
			atomic_fetch_add(&stayed_in_guest, 1);
		} else {
			atomic_fetch_add_explicit(&made_to_exit, 1, memory_order_relaxed);
		}
	}
	g->have_prev = true;
	g->prev_gen = gen;
	g->prev_entries = st.guest_entries;

	if (g->pending >= 0) {
		/* The access to gfn[pending] has completed. */
		if (g->must_violate) {
			if (st.ept_violations > g->viol_before) {
				atomic_fetch_add_explicit(&verified, 1, memory_order_relaxed);
			} else {
				fprintf(stderr,
					"vCPU %d: access to gfn 0x%" PRIx64
					" hit a stale translation: "
					"zap generation %" PRIu64
					" had returned when it was issued, "
					"the last access completed at generation %" PRIu64 "\n",
					g->id, g->gfn[g->pending], g->gen_when_issued,
					g->gen_after[g->pending]);
				atomic_fetch_add(&stale_hits, 1);
			}
		}
		g->gen_after[g->pending] = gen;
		g->touched[g->pending] = true;
		g->pending = -1;
	}
	if (atomic_load_explicit(&stop, memory_order_relaxed) || (++g->accesses & 0xffff) == 0) {
		g->have_prev = false; /* the next callback starts a run, outside guest mode */
		return false;         /* stop, or now and then return to "user space" */
	}

	j = (int)(test_rand(&g->rs) % GFNS_PER_VCPU);
	/*
	 * The generation read above, after the last access to gfn[j] had
	 * completed, is at least gen_after[j]; two more zaps returned since: the
	 * second started after that access, removed the leaf and flushed.
	 */
	g->must_violate = g->touched[j] && gen >= g->gen_after[j] + 2;
	if (g->must_violate) {
		g->viol_before = st.ept_violations;
		g->gen_when_issued = gen;
	}
	a->gpa = (g->gfn[j] << 12) + (test_rand(&g->rs) % 512) * 8;
	a->type = test_rand(&g->rs) & 1 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ;
	a->value = g->accesses;
	g->pending = j;
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct guest *g = arg;

	vcpu_run_until(g->v, g->id, guest_next, g, &stop, &run_errors);
	return NULL;
}

static void test_zap_means_gone(double seconds, int nvcpus, uint64_t seed)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, SLOT_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct guest g[MAX_VCPUS];
	struct tdpmmu_vcpu_stats st;
	uint64_t start, now, hits = 0, kicks = 0, flushes = 0, viol = 0, acc = 0;
	int64_t c[TDPMMU_NR_COUNTERS], flushes_before;
	long zaps = 0;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);

	memset(g, 0, sizeof(g));
	for (int i = 0; i < nvcpus; i++) {
		REQUIRE(tdpmmu_vcpu_create(vm, &g[i].v) == 0);
		g[i].id = i;
		g[i].rs = seed * 7919 + (uint64_t)i + 1;
		g[i].pending = -1;
		/* Own 4K pages in distinct TLB sets, also shared page tables. */
		for (int j = 0; j < GFNS_PER_VCPU; j++)
			g[i].gfn[j] = (uint64_t)i * 16 + (uint64_t)j;
	}
	for (int i = 0; i < nvcpus; i++)
		REQUIRE(pthread_create(&g[i].thread, NULL, vcpu_thread, &g[i]) == 0);

	start = test_now_ns();
	for (;;) {
		bool proven;

		tdpmmu_counters_read(vm, c);
		flushes_before = c[TDPMMU_C_TLB_FLUSHES];
		REQUIRE(tdpmmu_zap_range(vm, 0, (uint64_t)nvcpus * 16) == 0);
		/* The zap, flush included, has returned: publish it (flushes are ours only). */
		tdpmmu_counters_read(vm, c);
		atomic_store_explicit(&flushed[(zap_gen + 1) % FLUSH_RING],
				      c[TDPMMU_C_TLB_FLUSHES] != flushes_before,
				      memory_order_relaxed);
		atomic_fetch_add(&zap_gen, 1);
		zaps++;
		sched_yield(); /* a looping writer lets the vCPUs in between */
		now = test_now_ns();
		if (now - start < (uint64_t)(seconds * 1e9))
			continue;
		tdpmmu_counters_read(vm, c);
		kicks = 0;
		hits = 0;
		for (int i = 0; i < nvcpus; i++) {
			tdpmmu_vcpu_stats_read(g[i].v, &st);
			kicks += st.kicks;
			hits += st.tlb_hits;
		}
		/*
		 * made_to_exit is not required: spans of two zaps between two
		 * callbacks need the vCPU thread preempted in guest mode, which
		 * an idle machine with spare cores may never do.
		 */
		proven = atomic_load(&verified) > 0 && c[TDPMMU_C_TLB_FLUSH_KICKS] > 0 &&
			 kicks > 0 && hits > 0;
		if (proven || now - start > (uint64_t)(10 * seconds * 1e9) ||
		    atomic_load(&run_errors) || atomic_load(&stale_hits) ||
		    atomic_load(&stayed_in_guest))
			break;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < nvcpus; i++)
		pthread_join(g[i].thread, NULL);

	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_counters_read(vm, c);
	kicks = 0;
	hits = 0;
	for (int i = 0; i < nvcpus; i++) {
		tdpmmu_vcpu_stats_read(g[i].v, &st);
		acc += st.accesses;
		hits += st.tlb_hits;
		kicks += st.kicks;
		flushes += st.tlb_flushes;
		viol += st.ept_violations;
	}
	printf("test_vcpu_tlb: %.1f s, %d vCPUs: %ld zaps, %" PRIu64 " accesses, %" PRIu64
	       " tlb_hits, %" PRIu64 " ept_violations, %ld zap-then-violate verified, %ld stale, "
	       "%ld flushes made a vCPU leave, %ld did not; "
	       "vcpu kicks %" PRIu64 ", vcpu tlb_flushes %" PRIu64 ", tlb_flushes %lld, "
	       "tlb_flush_kicks %lld, tlb_flush_wait %.3f ms per flush, leaves_zapped %lld\n",
	       (double)(test_now_ns() - start) / 1e9, nvcpus, zaps, acc, hits, viol,
	       atomic_load(&verified), atomic_load(&stale_hits), atomic_load(&made_to_exit),
	       atomic_load(&stayed_in_guest), kicks, flushes, (long long)c[TDPMMU_C_TLB_FLUSHES],
	       (long long)c[TDPMMU_C_TLB_FLUSH_KICKS],
	       c[TDPMMU_C_TLB_FLUSHES] ? (double)c[TDPMMU_C_TLB_FLUSH_WAIT_NS] / 1e6 /
						 (double)c[TDPMMU_C_TLB_FLUSHES]
				       : 0.0,
	       (long long)c[TDPMMU_C_LEAVES_ZAPPED]);
	CHECK_EQ(atomic_load(&run_errors), 0);
	CHECK_EQ(atomic_load(&stale_hits), 0);
	CHECK_EQ(atomic_load(&stayed_in_guest), 0);
	CHECK(atomic_load(&verified) > 0);
	CHECK(hits > 0);
	CHECK(kicks > 0);
	CHECK(c[TDPMMU_C_TLB_FLUSH_KICKS] > 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
	vm = NULL;
}

/* --- (b) a vCPU outside guest mode cannot block a flush -------------------- */

struct once {
	uint64_t gpa;
	unsigned type;
	int step;
};

/* One access, then stop. */
static bool guest_once(void *ctx, struct tdpmmu_access *a)
{
	struct once *o = ctx;

	if (o->step++)
		return false;
	a->gpa = o->gpa;
	a->type = o->type;
	a->value = 42;
	return true;
}

static pthread_mutex_t blk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t blk_cond = PTHREAD_COND_INITIALIZER;
static bool blk_entered, blk_release;

/* First call (before guest mode): block until the main thread says go. */
static bool guest_blocked(void *ctx, struct tdpmmu_access *a)
{
	struct once *o = ctx;

	if (o->step == 0) {
		pthread_mutex_lock(&blk_lock);
		blk_entered = true;
		pthread_cond_broadcast(&blk_cond);
		while (!blk_release)
			pthread_cond_wait(&blk_cond, &blk_lock);
		pthread_mutex_unlock(&blk_lock);
	}
	return guest_once(ctx, a);
}

struct blocked_arg {
	struct tdpmmu_vcpu *v;
	struct once o;
	int r;
};

static void *blocked_thread(void *arg)
{
	struct blocked_arg *b = arg;

	b->r = tdpmmu_vcpu_run(b->v, guest_blocked, &b->o, 0);
	return NULL;
}

static void test_outside_never_blocks(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, SLOT_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vcpu *ran, *idle;
	struct tdpmmu_vcpu_stats before, after;
	struct tdpmmu_mapping m;
	struct blocked_arg b = { 0 };
	struct once o = { .gpa = 5 << 12, .type = TDPMMU_ACCESS_WRITE };
	pthread_t t;
	int64_t c[TDPMMU_NR_COUNTERS];

	watchdog_arm("flush and zap with every vCPU outside guest mode", 60);
	test_config_init(&cfg);
	cfg.max_tables = 1 << 10;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &ran) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &idle) == 0); /* never runs */
	REQUIRE(tdpmmu_vcpu_create(vm, &b.v) == 0);

	/* A vCPU that ran, has gfn 5 in its TLB, and is back outside guest mode. */
	CHECK_EQ(tdpmmu_vcpu_run(ran, guest_once, &o, 0), 0);
	REQUIRE(tdpmmu_lookup(vm, 5, &m) == 0);
	CHECK(m.present);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* A vCPU thread inside tdpmmu_vcpu_run, blocked before guest mode. */
	b.o = (struct once){ .gpa = 6 << 12, .type = TDPMMU_ACCESS_READ };
	REQUIRE(pthread_create(&t, NULL, blocked_thread, &b) == 0);
	pthread_mutex_lock(&blk_lock);
	while (!blk_entered)
		pthread_cond_wait(&blk_cond, &blk_lock);
	pthread_mutex_unlock(&blk_lock);

	tdpmmu_flush_tlbs(vm);
	CHECK_EQ(tdpmmu_zap_range(vm, 0, SLOT_PAGES), 0);
	tdpmmu_counters_read(vm, c);
	CHECK_EQ(c[TDPMMU_C_TLB_FLUSH_KICKS], 0); /* nobody was in guest mode */
	CHECK(c[TDPMMU_C_TLB_FLUSHES] >= 2);
	REQUIRE(tdpmmu_lookup(vm, 5, &m) == 0);
	CHECK(!m.present);

	/* Let the blocked one go; it must see the flush requests on entry. */
	pthread_mutex_lock(&blk_lock);
	blk_release = true;
	pthread_cond_broadcast(&blk_cond);
	pthread_mutex_unlock(&blk_lock);
	pthread_join(t, NULL);
	CHECK_EQ(b.r, 0);
	/*
	 * Quiescent: the blocked thread is joined and "ran" is outside
	 * tdpmmu_vcpu_run, its TLB still holding gfn 5, with the zap's flush
	 * request pending until it enters again.
	 */
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vcpu_stats_read(b.v, &after);
	CHECK(after.tlb_flushes >= 1);
	CHECK_EQ(after.ept_violations, 1); /* gfn 6 was never mapped */

	/* The one that ran: its TLB still held gfn 5; entry must flush it. */
	tdpmmu_vcpu_stats_read(ran, &before);
	o.step = 0;
	o.type = TDPMMU_ACCESS_READ;
	CHECK_EQ(tdpmmu_vcpu_run(ran, guest_once, &o, 0), 0);
	tdpmmu_vcpu_stats_read(ran, &after);
	CHECK_EQ(after.tlb_flushes - before.tlb_flushes, 1);
	CHECK_EQ(after.ept_violations - before.ept_violations, 1);
	CHECK_EQ(after.tlb_hits - before.tlb_hits, 0);

	/* And with nothing pending, a second run hits the TLB without faulting. */
	o.step = 0;
	CHECK_EQ(tdpmmu_vcpu_run(ran, guest_once, &o, 0), 0);
	tdpmmu_vcpu_stats_read(ran, &before);
	CHECK_EQ(before.tlb_flushes, after.tlb_flushes);
	CHECK_EQ(before.ept_violations, after.ept_violations);
	CHECK_EQ(before.tlb_hits - after.tlb_hits, 1);

	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	tdpmmu_vm_destroy(vm);
	vm = NULL;
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = 3, .seed = 1 };
	pthread_t wd;

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	wd = watchdog_start();
	test_outside_never_blocks();
	watchdog_arm("zap-means-gone run", 60 + 10 * o.seconds);
	test_zap_means_gone(o.seconds, o.vcpus, o.seed);
	watchdog_stop(wd);
	return check_report("test_vcpu_tlb");
}
