/*
 * test_mmio.c - MMIO entries and the memslot generation (KVM's MMIO SPTEs,
 * check_mmio_spte, kvm_mmu_invalidate_mmio_sptes).
 *
 * Deterministic, on one thread:
 *  - an access to a gfn in no memslot faults once, installs an MMIO entry
 *    (tdpmmu_fault says TDPMMU_FAULT_MMIO) and exits to the MMIO handler;
 *    the next access there is a fast MMIO exit: no fault, no memslot
 *    lookup; a write reaches the handler with its value;
 *  - adding a slot over the gfn makes the entry stale: the next access
 *    maps memory; deleting the slot brings the MMIO exit back;
 *  - generation wraparound: with 2 generation bits, exactly 4 memslot
 *    updates that zap nothing themselves (two adds, dirty logging on and
 *    off; one add puts a slot over an old MMIO entry's gfn) bring the
 *    masked generation back to the entry's; the wraparound zap
 *    must have removed it, so the access maps memory (the broken build
 *    mmio-no-wrap-zap takes it as a current MMIO entry);
 *  - the generation is read before the lookup and checked again under the
 *    MMU lock: the fault hook adds a slot between a no-slot fault's lookup
 *    and its lock; the fault must install nothing from that lookup and map
 *    the slot on its next try (the broken build mmio-gen-after-lookup tags
 *    an entry with the new generation, and the next access is an MMIO exit
 *    over memory; mmio-no-recheck installs the entry the update overtook);
 *  - mmio_caching off: -ENOENT from tdpmmu_fault and tdpmmu_vcpu_run, no
 *    entry; tdpmmu_pre_fault keeps -ENOENT for a no-slot range;
 *  - bad input: a NULL vCPU, a generation width above 19; nothing changes.
 * Race: vCPU threads touch the gfns of a slot that another thread adds and
 * deletes (3 generation bits, so wraparound zaps happen too).  Oracle:
 * the churn thread counts phases (absent, adding, present, deleting); an
 * access that saw one stable phase from before it to after it must be an
 * MMIO exit if the slot was absent and a memory access if present.  The
 * counters must show stale entries met, fast exits, wraparound zaps and
 * both kinds of access.
 *
 *   test_mmio [--seconds S] [--vcpus N] [--seed S] [--inject N]
 *                         (the race runs S/4 s, then on until its counters
 *                         prove its races happened; default S = 1)
 *   test_mmio --bench N   only the measurement: N hole accesses per round
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/test_opts.h"
#include "lib/test_vm.h"
#include "tdpmmu/spte.h"
#include "tdpmmu/stats.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#define PAGE 4096ull
#define HOLE_GFN 0x10000ull /* in no memslot unless a test adds one */
#define MMIO_MAGIC 0x3e3e000000000000ull

static struct tdpmmu_vm *new_vm(bool caching, unsigned gen_bits)
{
	struct tdpmmu_memslot low = { 0, 0, 512, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 12;
	cfg.mmio_caching = caching;
	cfg.mmio_gen_bits = gen_bits;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &low) == 0);
	return vm;
}

/* The device model: counts its calls, answers reads with the gfn tagged. */
struct device {
	long reads, writes;
	uint64_t last_written;
};

static uint64_t device_access(void *ctx, const struct tdpmmu_access *a)
{
	struct device *d = ctx;

	if (a->type == TDPMMU_ACCESS_WRITE) {
		d->writes++;
		d->last_written = a->value;
		return 0;
	}
	d->reads++;
	return MMIO_MAGIC | (a->gpa >> 12);
}

/* One access through tdpmmu_vcpu_run; what the guest saw comes back in *out. */
struct one {
	struct tdpmmu_access want, got;
	int calls;
};

static bool one_next(void *ctx, struct tdpmmu_access *a)
{
	struct one *o = ctx;

	if (o->calls++ == 0) {
		*a = o->want;
		return true;
	}
	o->got = *a;
	return false;
}

static int access1(struct tdpmmu_vcpu *v, uint64_t gfn, unsigned type, uint64_t value,
		   struct tdpmmu_access *got)
{
	struct one o = { { gfn * PAGE, type, value }, { 0 }, 0 };
	int r = tdpmmu_vcpu_run(v, one_next, &o, 0);

	*got = o.got;
	return r;
}

static bool is_mmio(const struct tdpmmu_access *a)
{
	return (a->type & TDPMMU_ACCESS_MMIO) != 0;
}

static bool present(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present;
}

static void test_basic(void)
{
	struct tdpmmu_memslot over = { 1, HOLE_GFN, 16, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm *vm = new_vm(true, 0);
	struct tdpmmu_vcpu_stats st0, st1;
	struct tdpmmu_fault_result res;
	struct device dev = { 0 };
	struct tdpmmu_access got;
	struct tdpmmu_vcpu *v;
	int64_t fast0;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(tdpmmu_vcpu_set_mmio_handler(v, device_access, &dev), 0);
	/* tdpmmu_fault on a hole: an MMIO entry, nothing mapped. */
	CHECK_EQ(tdpmmu_fault(v, HOLE_GFN + 1, TDPMMU_ACCESS_READ, 0, &res), TDPMMU_FAULT_MMIO);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_INSTALLED), 1);
	CHECK(!present(vm, HOLE_GFN + 1));
	/* First access to another hole gfn: one fault, then the exit. */
	tdpmmu_vcpu_stats_read(v, &st0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(is_mmio(&got));
	CHECK_EQ(got.value, MMIO_MAGIC | HOLE_GFN);
	tdpmmu_vcpu_stats_read(v, &st1);
	CHECK_EQ(st1.faults_slow - st0.faults_slow, 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_INSTALLED), 2);
	/* Second access: a fast exit, no fault. */
	fast0 = test_counter(vm, TDPMMU_C_MMIO_EXITS_FAST);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_WRITE, 77, &got), 0);
	CHECK(is_mmio(&got));
	CHECK_EQ(dev.writes, 1);
	CHECK_EQ(dev.last_written, 77);
	tdpmmu_vcpu_stats_read(v, &st0);
	CHECK_EQ(st0.faults_slow, st1.faults_slow);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_EXITS_FAST), fast0 + 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_EXITS), 2);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	/* A slot over it: the entry is stale, the access maps memory. */
	CHECK_EQ(tdpmmu_memslot_add(vm, &over), 0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(!is_mmio(&got));
	CHECK(present(vm, HOLE_GFN));
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_STALE), 1);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_EXITS), 2);
	CHECK_EQ(tdpmmu_audit(vm), 0); /* HOLE_GFN + 1's entry is stale: accepted */
	/* Deleted again: MMIO again, then fast. */
	CHECK_EQ(tdpmmu_memslot_delete(vm, 1), 0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(is_mmio(&got));
	fast0 = test_counter(vm, TDPMMU_C_MMIO_EXITS_FAST);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(is_mmio(&got));
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_EXITS_FAST), fast0 + 1);
	/* Without a handler a read gives 0. */
	CHECK_EQ(tdpmmu_vcpu_set_mmio_handler(v, NULL, NULL), 0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 5, &got), 0);
	CHECK(is_mmio(&got));
	CHECK_EQ(got.value, 0);
	/* Memory is still memory. */
	CHECK_EQ(access1(v, 3, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(!is_mmio(&got));
	/* A pre-fault of a hole keeps KVM_PRE_FAULT_MEMORY's -ENOENT. */
	{
		uint64_t gpa = (HOLE_GFN + 8) * PAGE, size = PAGE;

		CHECK_EQ(tdpmmu_pre_fault(v, &gpa, &size, NULL, NULL), -ENOENT);
		CHECK_EQ(gpa, (HOLE_GFN + 8) * PAGE);
	}
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
}

/* With 2 generation bits, 4 updates reuse a generation: the wrap zap must run. */
static void test_wraparound(void)
{
	struct tdpmmu_memslot over = { 1, HOLE_GFN, 16, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_memslot other = { 2, 2 * HOLE_GFN, 16, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm *vm = new_vm(true, 2);
	struct tdpmmu_access got;
	struct tdpmmu_vcpu *v;
	uint64_t gen0;
	int64_t wraps0;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(is_mmio(&got));
	gen0 = tdpmmu_memslots_generation(vm);
	wraps0 = test_counter(vm, TDPMMU_C_MMIO_GEN_WRAPS);
	/* Four publications, none of which zaps (a delete would, on its own). */
	CHECK_EQ(tdpmmu_memslot_add(vm, &over), 0);                        /* +1 */
	CHECK_EQ(tdpmmu_memslot_add(vm, &other), 0);                       /* +2 */
	CHECK_EQ(tdpmmu_dirty_log_enable(vm, 2, 0), 0);                    /* +3 */
	CHECK_EQ(tdpmmu_dirty_log_disable(vm, 2, TDPMMU_RECOVER_NONE), 0); /* +4 */
	CHECK_EQ(tdpmmu_memslots_generation(vm), gen0 + 4);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_GEN_WRAPS), wraps0 + 1);
	/* The masked generation is the entry's again: only the zap saves us. */
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(!is_mmio(&got));
	CHECK(present(vm, HOLE_GFN));
	tdpmmu_vm_destroy(vm);
}

/* The fault hook adds a slot over the faulting hole gfn between lookup and lock. */
static struct tdpmmu_vm *hook_vm;
static atomic_bool hook_armed;

static void add_slot_hook(uint64_t gfn)
{
	struct tdpmmu_memslot over = { 1, HOLE_GFN, 16, TDPMMU_BACKING_ANON, 0 };

	if (gfn == HOLE_GFN && atomic_exchange(&hook_armed, false))
		REQUIRE(tdpmmu_memslot_add(hook_vm, &over) == 0);
}

static void test_gen_before_lookup(void)
{
	struct tdpmmu_vm *vm = new_vm(true, 0);
	struct tdpmmu_access got;
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	hook_vm = vm;
	atomic_store(&hook_armed, true);
	tdpmmu_test_set_fault_hook(add_slot_hook);
	/*
	 * The lookup found no slot, then the add completed: the generation moved
	 * on, so the fault installs nothing from that lookup and looks again,
	 * which maps the slot.
	 */
	CHECK_EQ(tdpmmu_fault(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, NULL), 0);
	tdpmmu_test_set_fault_hook(NULL);
	CHECK(!atomic_load(&hook_armed));
	CHECK(present(vm, HOLE_GFN));
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_INSTALLED), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), 0);
	CHECK(!is_mmio(&got));
	tdpmmu_vm_destroy(vm);
}

/*
 * A fault on a hole while a memslot update is in progress exits as MMIO at
 * once and caches nothing: it does not wait for the update's grace period.
 * Under rcu a held walk (memslot lookups share its RCU flavour) keeps an
 * add's grace period open, so the update stays in progress while the
 * fault runs; the mutant mmio-wait-update spins until the hold ends.
 */
#define HOLD_NS 1000000000ull

static void *hold_thread(void *arg)
{
	REQUIRE(tdpmmu_hold_walk(arg, HOLD_NS) == 0);
	return NULL;
}

static void *add_thread(void *arg)
{
	struct tdpmmu_memslot other = { 2, 2 * HOLE_GFN, 16, TDPMMU_BACKING_ANON, 0 };

	REQUIRE(tdpmmu_memslot_add(arg, &other) == 0);
	return NULL;
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void test_update_in_progress(void)
{
	const char *s = getenv("TDPMMU_STRATEGY");
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *v;
	bool seen = false;

	if (s && *s && strcmp(s, "rcu"))
		return; /* only rcu's walk holds the memslot grace period */
	vm = new_vm(true, 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	/* A round whose hold ended before the update began proves nothing: again. */
	for (int round = 0; round < 3 && !seen; round++) {
		struct tdpmmu_lock_stats l0, l;
		pthread_t hold, add;
		uint64_t gen = 0;
		double t0;

		tdpmmu_lock_stats_read(vm, &l0);
		REQUIRE(pthread_create(&hold, NULL, hold_thread, vm) == 0);
		t0 = mono_s();
		do /* until the holder has the read lock, so its walk is open */
			tdpmmu_lock_stats_read(vm, &l);
		while (l.reads == l0.reads && mono_s() - t0 < 5);
		REQUIRE(pthread_create(&add, NULL, add_thread, vm) == 0);
		while (!((gen = tdpmmu_memslots_generation(vm)) &
			 TDPMMU_MEMSLOT_GEN_UPDATE_IN_PROGRESS) &&
		       mono_s() - t0 < 1.0)
			sched_yield(); /* the add publishes, then waits for the held walk */
		if (gen & TDPMMU_MEMSLOT_GEN_UPDATE_IN_PROGRESS) {
			int64_t installed = test_counter(vm, TDPMMU_C_MMIO_INSTALLED);

			seen = true;
			CHECK_EQ(tdpmmu_fault(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, NULL),
				 TDPMMU_FAULT_MMIO);
			/* Still the same update: the fault did not wait for it. */
			CHECK_EQ(tdpmmu_memslots_generation(vm), gen);
			CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_INSTALLED), installed);
		}
		REQUIRE(pthread_join(add, NULL) == 0);
		REQUIRE(pthread_join(hold, NULL) == 0);
		REQUIRE(tdpmmu_memslot_delete(vm, 2) == 0);
	}
	CHECK(seen);
	/* Once the update is done the next fault caches its entry. */
	CHECK_EQ(tdpmmu_fault(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, NULL), TDPMMU_FAULT_MMIO);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vm_destroy(vm);
}

static void test_caching_off_and_bad_input(void)
{
	struct tdpmmu_vm *vm = new_vm(false, 0);
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_access got;
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *bad = NULL;

	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(tdpmmu_fault(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, NULL), -ENOENT);
	CHECK_EQ(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got), -ENOENT);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_INSTALLED), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_MMIO_EXITS), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	/* Bad input. */
	CHECK_EQ(tdpmmu_vcpu_set_mmio_handler(NULL, device_access, NULL), -EINVAL);
	CHECK_EQ(tdpmmu_memslots_generation(NULL), 0);
	test_config_init(&cfg);
	CHECK(cfg.mmio_caching); /* KVM's default */
	CHECK_EQ(cfg.mmio_gen_bits, 0);
	cfg.mmio_gen_bits = 20;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &bad), -EINVAL);
	CHECK(bad == NULL);
	cfg.mmio_gen_bits = 19;
	CHECK_EQ(tdpmmu_vm_create(&cfg, &bad), 0);
	tdpmmu_vm_destroy(bad);
	/* The public view of the entry. */
	CHECK(tdpmmu_spte_mmio(TDPMMU_SPTE_MMIO_VALUE));
	CHECK(!tdpmmu_spte_mmio(TDPMMU_SPTE_FROZEN));
	CHECK(!tdpmmu_spte_mmio(TDPMMU_SPTE_NONPRESENT));
	CHECK(!tdpmmu_spte_present(TDPMMU_SPTE_MMIO_VALUE));
	tdpmmu_vm_destroy(vm);
}

/* ---- the race ---------------------------------------------------------------- */

#define RACE_SLOT_GFN HOLE_GFN
#define RACE_SLOT_PAGES 32

struct race {
	struct tdpmmu_vm *vm;
	atomic_bool stop;
	/* 4k: absent, 4k+1: adding, 4k+2: present, 4k+3: deleting */
	_Atomic uint64_t phase;
	atomic_long errors, wrong, mmio_seen, memory_seen;
};

struct racer {
	struct race *r;
	struct tdpmmu_vcpu *v;
	uint64_t rng;
	uint64_t phase0;
	bool started;
};

static bool race_next(void *ctx, struct tdpmmu_access *a)
{
	struct racer *x = ctx;
	struct race *r = x->r;

	if (x->started) {
		uint64_t p1 = atomic_load(&r->phase);
		bool mmio = is_mmio(a);

		if (mmio)
			atomic_fetch_add_explicit(&r->mmio_seen, 1, memory_order_relaxed);
		else
			atomic_fetch_add_explicit(&r->memory_seen, 1, memory_order_relaxed);
		/* One stable phase from before the access to after it: the oracle. */
		if (p1 == x->phase0 && ((p1 % 4 == 2 && mmio) || (p1 % 4 == 0 && !mmio))) {
			if (atomic_fetch_add(&r->wrong, 1) < 5)
				fprintf(stderr,
					"VIOLATION: gfn 0x%llx: %s access while the slot was %s\n",
					(unsigned long long)(a->gpa / PAGE),
					mmio ? "MMIO" : "memory", mmio ? "present" : "absent");
		}
	}
	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return false;
	x->started = true;
	a->gpa = (RACE_SLOT_GFN + test_rand(&x->rng) % RACE_SLOT_PAGES) * PAGE;
	a->type = test_rand(&x->rng) & 1 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ;
	a->value = 1;
	x->phase0 = atomic_load(&r->phase);
	return true;
}

static void *racer_thread(void *arg)
{
	struct racer *x = arg;
	int rc = tdpmmu_vcpu_run(x->v, race_next, x, 0);

	if (rc) {
		fprintf(stderr, "vCPU: tdpmmu_vcpu_run failed: %d\n", rc);
		atomic_fetch_add(&x->r->errors, 1);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool race_proved(struct race *r)
{
	return test_counter(r->vm, TDPMMU_C_MMIO_STALE) > 0 &&
	       test_counter(r->vm, TDPMMU_C_MMIO_EXITS_FAST) > 0 &&
	       test_counter(r->vm, TDPMMU_C_MMIO_GEN_WRAPS) > 0 && atomic_load(&r->mmio_seen) > 0 &&
	       atomic_load(&r->memory_seen) > 0;
}

static void test_race(const struct test_opts *o)
{
	struct tdpmmu_memslot slot = { 1, RACE_SLOT_GFN, RACE_SLOT_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct racer x[8];
	pthread_t t[8];
	struct race r;
	/* A quarter of --seconds: make check runs it 12 times at 1 s (asan, tsan). */
	double end = now_s() + o->seconds / 4, limit = now_s() + 20;
	long rounds = 0;

	memset(&r, 0, sizeof(r));
	r.vm = new_vm(true, 3);
	for (int i = 0; i < o->vcpus; i++) {
		x[i] = (struct racer){ &r, NULL, o->seed * 7919 + (uint64_t)i + 1, 0, false };
		REQUIRE(tdpmmu_vcpu_create(r.vm, &x[i].v) == 0);
		REQUIRE(pthread_create(&t[i], NULL, racer_thread, &x[i]) == 0);
	}
	while ((now_s() < end || !race_proved(&r)) && now_s() < limit && !atomic_load(&r.errors)) {
		atomic_fetch_add(&r.phase, 1); /* adding */
		REQUIRE(tdpmmu_memslot_add(r.vm, &slot) == 0);
		atomic_fetch_add(&r.phase, 1); /* present */
		sched_yield();
		atomic_fetch_add(&r.phase, 1); /* deleting */
		REQUIRE(tdpmmu_memslot_delete(r.vm, 1) == 0);
		atomic_fetch_add(&r.phase, 1); /* absent */
		sched_yield();
		rounds++;
	}
	atomic_store(&r.stop, true);
	for (int i = 0; i < o->vcpus; i++)
		pthread_join(t[i], NULL);
	printf("race: %ld rounds, %ld MMIO and %ld memory accesses; installed %lld, fast %lld, "
	       "stale %lld, wraparound zaps %lld\n",
	       rounds, atomic_load(&r.mmio_seen), atomic_load(&r.memory_seen),
	       (long long)test_counter(r.vm, TDPMMU_C_MMIO_INSTALLED),
	       (long long)test_counter(r.vm, TDPMMU_C_MMIO_EXITS_FAST),
	       (long long)test_counter(r.vm, TDPMMU_C_MMIO_STALE),
	       (long long)test_counter(r.vm, TDPMMU_C_MMIO_GEN_WRAPS));
	CHECK_EQ(atomic_load(&r.errors), 0);
	CHECK_EQ(atomic_load(&r.wrong), 0);
	CHECK(race_proved(&r));
	CHECK_EQ(tdpmmu_audit(r.vm), 0);
	tdpmmu_vm_destroy(r.vm);
}

/* ---- the measurement (--bench N) ---------------------------------------------- */

/* N single-access runs on a hole gfn; ns per access. */
static double time_hole_runs(struct tdpmmu_vcpu *v, long n, int want)
{
	struct tdpmmu_access got;
	double t0 = now_s();

	for (long i = 0; i < n; i++)
		REQUIRE(access1(v, HOLE_GFN, TDPMMU_ACCESS_READ, 0, &got) == want);
	return (now_s() - t0) * 1e9 / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The cost of an access to a gfn in no memslot, one access per
 * tdpmmu_vcpu_run: with MMIO caching, a fast MMIO exit (walk, misconfig,
 * the exit's lockless re-walk and generation check, the handler); without
 * it, the walk, an EPT violation and the slow fault path's memslot lookup,
 * ending in -ENOENT (KVM without enable_mmio_caching emulates after that
 * same fault).  Three rounds, interleaved, median and spread.
 */
static void bench(long n)
{
	struct tdpmmu_vm *on = new_vm(true, 0), *off = new_vm(false, 0);
	struct tdpmmu_vcpu *von, *voff;
	double fast[3], slow[3];

	REQUIRE(tdpmmu_vcpu_create(on, &von) == 0);
	REQUIRE(tdpmmu_vcpu_create(off, &voff) == 0);
	time_hole_runs(von, 1, 0); /* installs the entry */
	for (int k = 0; k < 3; k++) {
		fast[k] = time_hole_runs(von, n, 0);
		slow[k] = time_hole_runs(voff, n, -ENOENT);
	}
	CHECK_EQ(test_counter(on, TDPMMU_C_MMIO_EXITS_FAST), 3 * n);
	qsort(fast, 3, sizeof(fast[0]), cmp_double);
	qsort(slow, 3, sizeof(slow[0]), cmp_double);
	printf("hole access, %ld per round, 3 rounds: fast MMIO exit %.0f ns (%.0f-%.0f), "
	       "no-slot fault without caching %.0f ns (%.0f-%.0f): %.2fx\n",
	       n, fast[1], fast[0], fast[2], slow[1], slow[0], slow[2], slow[1] / fast[1]);
	tdpmmu_vm_destroy(on);
	tdpmmu_vm_destroy(off);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 1, .vcpus = 2, .seed = 1 };

	if (argc == 3 && !strcmp(argv[1], "--bench")) {
		long n = strtol(argv[2], NULL, 0);

		if (n < 1) {
			fprintf(stderr, "%s: --bench: '%s' is not a number of accesses >= 1\n",
				argv[0], argv[2]);
			return 2;
		}
		bench(n);
		return check_report("test_mmio --bench");
	}
	test_opts_parse(argc, argv, &o, 8);
	test_basic();
	test_wraparound();
	test_gen_before_lookup();
	test_update_in_progress();
	test_caching_off_and_bad_input();
	if (!check_failures) /* a broken build is caught above: no need to race */
		test_race(&o);
	return check_report("test_mmio");
}
