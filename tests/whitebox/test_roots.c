/*
 * test_roots.c - roots, the fast zap, memslot deletion and move.
 *
 * (a) Single-threaded.  A vCPU's first fault creates the normal root; a
 *     second vCPU shares it; an SMM vCPU gets a root of its own.  A fast
 *     zap leaves nothing mapped when it returns, every root it invalidated
 *     is gone once the vCPUs holding it have reloaded, and the vCPUs fault
 *     on a new root.  Deleting a memslot unmaps it and later faults there
 *     install MMIO entries; moving one maps the old contents at the new place
 *     and nothing at the old one; bad ids and overlapping moves are
 *     rejected and change nothing.
 *
 * (b) Fast zap while vCPUs run.  vCPUs read and write their pages while a
 *     zapper thread fast-zaps in a loop and moves a second memslot back
 *     and forth (which fast-zaps too), and a direct-fault thread faults on
 *     that slot.  Each guest, in guest mode, checks its vCPU's root: an
 *     invalid root is legal only while a fast zap is in progress (the zap
 *     returns only after every vCPU left guest mode and will reload
 *     first); so a guest that saw a whole fast zap complete since its last
 *     look and is on a valid root has reloaded in between.  The run goes
 *     on past --seconds (up to 10x) until guests met an invalidated root
 *     while a zap was under way (the window the check guards) and saw such
 *     a reload; the reload counter must cover every reload a guest saw.
 *     Written values read back through the host at the end, the audit and
 *     the TLB audit are clean.  Then, with every thread stopped, one more
 *     fast zap: each vCPU's next run must reload exactly once and enter on
 *     a new valid root.  Once every vCPU is gone no root is left.
 *
 *   test_roots [--seconds S] [--vcpus N] [--seed S]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "lib/test_vm.h"
#include "lib/test_opts.h"
#include "mmu/tdp_root.h"
#include "vm/vm_internal.h"

#define MAX_VCPUS 16
#define SLOT_PAGES 4096ull
#define MOVE_PAGES 1024ull
#define MOVE_A 8192ull
#define MOVE_B 16384ull
#define PAYLOAD_BYTES (3ull << 30) /* each slot starts at its own GiB of frames */

static struct tdpmmu_vm *make_vm(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, SLOT_PAGES, TDPMMU_BACKING_THP, 0 };
	struct tdpmmu_memslot moving = { 1, MOVE_A, MOVE_PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 1 << 14;
	cfg.payload_bytes = PAYLOAD_BYTES;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &moving) == 0);
	return vm;
}

static bool mapped(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	REQUIRE(tdpmmu_lookup(vm, gfn, &m) == 0);
	return m.present;
}

struct script {
	uint64_t gpa[4];
	unsigned type[4];
	uint64_t value[4];
	int n, i;
};

static bool script_next(void *ctx, struct tdpmmu_access *a)
{
	struct script *s = ctx;

	if (s->i > 0)
		s->value[s->i - 1] = a->value;
	if (s->i == s->n)
		return false;
	a->gpa = s->gpa[s->i];
	a->type = s->type[s->i];
	a->value = s->value[s->i];
	s->i++;
	return true;
}

static void run_one(struct tdpmmu_vcpu *v, uint64_t gpa, unsigned type, uint64_t *value)
{
	struct script s = { { gpa }, { type }, { *value }, 1, 0 };

	CHECK_EQ(tdpmmu_vcpu_run(v, script_next, &s, 0), 0);
	*value = s.value[0];
}

static void test_single(void)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_vcpu *a, *b, *smm;
	struct tdpmmu_root_stats rs;
	uint64_t val = 0x1234, gfn_new;
	int64_t c[TDPMMU_NR_COUNTERS];

	REQUIRE(tdpmmu_vcpu_create(vm, &a) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &b) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &smm) == 0);
	tdpmmu_root_stats_read(vm, &rs);
	CHECK_EQ(rs.valid + rs.invalid, 0); /* no root before the first fault */

	run_one(a, 5 << 12, TDPMMU_ACCESS_WRITE, &val);
	CHECK_EQ(tdpmmu_fault(b, 700, TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK(a->root && a->root == b->root);
	CHECK_EQ(tdpmmu_vcpu_set_smm(smm, true), 0);
	CHECK_EQ(tdpmmu_fault(smm, 5, TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK(smm->root && smm->root != a->root && smm->root->root_role == TDP_ROLE_SMM);
	tdpmmu_root_stats_read(vm, &rs);
	CHECK_EQ(rs.valid, 2);
	CHECK_EQ(rs.allocated, 2);
	CHECK(mapped(vm, 5) && mapped(vm, 700));
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* Fast zap: nothing mapped afterwards; holders keep their old roots until reload. */
	CHECK_EQ(tdpmmu_zap_all_fast(vm), 0);
	CHECK(!mapped(vm, 5) && !mapped(vm, 700));
	tdpmmu_root_stats_read(vm, &rs);
	CHECK_EQ(rs.valid, 0);
	CHECK_EQ(rs.invalid, 2);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0); /* a's TLB is on an invalid root: reloaded first */
	run_one(a, 5 << 12, TDPMMU_ACCESS_READ, &val);
	CHECK_EQ(val, 0x1234); /* the bytes stay with the host */
	CHECK_EQ(tdpmmu_fault(b, 6, TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK_EQ(tdpmmu_fault(smm, 6, TDPMMU_ACCESS_READ, 0, NULL), 0);
	tdpmmu_root_stats_read(vm, &rs);
	CHECK_EQ(rs.valid, 2);
	CHECK_EQ(rs.invalid, 0); /* every invalidated root is gone */
	CHECK_EQ(rs.allocated, 4);
	CHECK(a->root == b->root && tdp_root_is_valid(a->root));
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	/* Move slot 1: contents follow, old place unmapped. */
	val = 0xabcdef;
	run_one(a, (MOVE_A + 3) << 12, TDPMMU_ACCESS_WRITE, &val);
	CHECK(mapped(vm, MOVE_A + 3));
	CHECK_EQ(tdpmmu_memslot_move(vm, 1, MOVE_B), 0);
	CHECK(!mapped(vm, MOVE_A + 3));
	/* No slot there now: an MMIO entry (mmio_caching), no memory. */
	CHECK_EQ(tdpmmu_fault(a, MOVE_A + 3, TDPMMU_ACCESS_READ, 0, NULL), TDPMMU_FAULT_MMIO);
	CHECK(!mapped(vm, MOVE_A + 3));
	gfn_new = MOVE_B + 3;
	val = 0;
	run_one(a, gfn_new << 12, TDPMMU_ACCESS_READ, &val);
	CHECK_EQ(val, 0xabcdef);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	/* Bad moves and deletes change nothing. */
	tdpmmu_counters_read(vm, c);
	CHECK_EQ(tdpmmu_memslot_move(vm, 1, 100), -EEXIST); /* overlaps slot 0 */
	CHECK_EQ(tdpmmu_memslot_move(vm, 9, MOVE_A), -ENOENT);
	CHECK_EQ(tdpmmu_memslot_delete(vm, 9), -ENOENT);
	{
		int64_t c2[TDPMMU_NR_COUNTERS];

		tdpmmu_counters_read(vm, c2);
		CHECK_EQ(c2[TDPMMU_C_FAST_ZAPS], c[TDPMMU_C_FAST_ZAPS]);
	}
	CHECK(mapped(vm, gfn_new));
	/* Delete: unmapped, faults fail. */
	CHECK_EQ(tdpmmu_memslot_delete(vm, 1), 0);
	CHECK(!mapped(vm, gfn_new));
	CHECK_EQ(tdpmmu_fault(a, gfn_new, TDPMMU_ACCESS_READ, 0, NULL), TDPMMU_FAULT_MMIO);
	CHECK(!mapped(vm, gfn_new));
	CHECK_EQ(tdpmmu_fault(a, 7, TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK_EQ(tdpmmu_fault(smm, 7, TDPMMU_ACCESS_READ, 0, NULL), 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);

	tdpmmu_vcpu_destroy(a);
	tdpmmu_vcpu_destroy(b);
	tdpmmu_vcpu_destroy(smm);
	tdpmmu_root_stats_read(vm, &rs);
	CHECK_EQ(rs.valid, 2); /* valid roots outlive their vCPUs (the MMU's reference) */
	CHECK_EQ(tdpmmu_zap_all_fast(vm), 0);
	tdpmmu_root_stats_read(vm, &rs);
	CHECK_EQ(rs.valid + rs.invalid, 0);
	tdpmmu_vm_destroy(vm);
}

/* --- (b) concurrent ------------------------------------------------------- */

struct shared {
	struct tdpmmu_vm *vm;
	atomic_bool stop;
	atomic_long errors;
	_Atomic uint64_t zap_seq; /* odd while a fast zap is in progress */
	atomic_long bad_root, invalid_during_zap, moves, zaps, direct_faults;
	/* Guests that saw a zap complete since their last look, on a valid root: reloaded. */
	atomic_long root_replaced;
	uint64_t pages_per_vcpu;
};

struct guest {
	struct shared *sh;
	struct tdpmmu_vcpu *v;
	uint64_t rs, first, n, next_write, budget;
	uint64_t *written; /* last value written per page, 0 if none */
	long value_errors;
	int last_read;
	bool in_guest;
	/* The last look in guest mode with no zap under way: zap_seq then. */
	bool have_stable;
	uint64_t stable_seq;
};

static bool guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct guest *g = ctx;
	struct shared *sh = g->sh;
	const struct tdp_page *root;
	uint64_t s1, s2, idx;
	bool inv, guest = g->in_guest;

	if (g->last_read >= 0 && g->written[g->last_read] && a->value != g->written[g->last_read])
		g->value_errors++;
	g->last_read = -1;
	/*
	 * In guest mode (every call but a run's first, which comes before the
	 * entry): the root may be invalid only while a fast zap runs.
	 */
	s1 = atomic_load(&sh->zap_seq);
	root = g->v->root;
	inv = guest && !tdp_root_is_valid(root);
	g->in_guest = true;
	s2 = atomic_load(&sh->zap_seq);
	if (inv && s1 == s2 && !(s1 & 1))
		atomic_fetch_add(&sh->bad_root, 1);
	else if (inv)
		atomic_fetch_add(&sh->invalid_during_zap, 1);
	/*
	 * The reload.  Between two looks in guest mode with no zap under
	 * way, zap_seq moved: a whole fast zap began after the first look,
	 * whose root was valid (else bad_root), and has returned.  That root
	 * object is invalid now, and this vCPU holds it until it reloads; so
	 * a valid root now is a reload this vCPU made in between, before it
	 * entered guest mode, and an invalid one is bad_root above.
	 * (Comparing root addresses would prove nothing: after two reloads the
	 * old table may be freed and come back as a new root.)
	 */
	if (guest && s1 == s2 && !(s1 & 1)) {
		if (g->have_stable && s1 != g->stable_seq && !inv)
			atomic_fetch_add_explicit(&sh->root_replaced, 1, memory_order_relaxed);
		g->have_stable = true;
		g->stable_seq = s1;
	}
	if (!g->budget--)
		return false;
	idx = test_rand(&g->rs) % g->n;
	a->gpa = (g->first + idx) << 12;
	if (test_rand(&g->rs) & 1) {
		a->type = TDPMMU_ACCESS_WRITE;
		a->value = ++g->next_write;
		g->written[idx] = a->value;
	} else {
		a->type = TDPMMU_ACCESS_READ;
		g->last_read = (int)idx;
	}
	return true;
}

struct vcpu_thread {
	pthread_t tid;
	struct guest g;
	int id;
};

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *t = arg;

	while (!atomic_load(&t->g.sh->stop)) {
		t->g.budget = 4096;
		t->g.last_read = -1;
		t->g.in_guest = false;
		if (tdpmmu_vcpu_run(t->g.v, guest_next, &t->g, 0)) {
			atomic_fetch_add(&t->g.sh->errors, 1);
			break;
		}
	}
	return NULL;
}

static void *zapper_main(void *arg)
{
	struct shared *sh = arg;
	uint64_t at = MOVE_A;

	while (!atomic_load(&sh->stop)) {
		atomic_fetch_add(&sh->zap_seq, 1);
		if (atomic_load(&sh->zaps) % 4 == 3) {
			uint64_t to = at == MOVE_A ? MOVE_B : MOVE_A;

			if (tdpmmu_memslot_move(sh->vm, 1, to)) {
				atomic_fetch_add(&sh->errors, 1);
			} else {
				at = to;
				atomic_fetch_add(&sh->moves, 1);
			}
		} else if (tdpmmu_zap_all_fast(sh->vm)) {
			atomic_fetch_add(&sh->errors, 1);
		}
		atomic_fetch_add(&sh->zap_seq, 1);
		atomic_fetch_add(&sh->zaps, 1);
		sched_yield();
	}
	return NULL;
}

/* Faults on the moving slot wherever it is; an MMIO entry where it just left. */
static void *direct_main(void *arg)
{
	struct shared *sh = arg;
	struct tdpmmu_vcpu *v;
	uint64_t rs = 99;

	if (tdpmmu_vcpu_create(sh->vm, &v)) {
		atomic_fetch_add(&sh->errors, 1);
		return NULL;
	}
	while (!atomic_load(&sh->stop)) {
		uint64_t base = (test_rand(&rs) & 1) ? MOVE_A : MOVE_B;
		int r = tdpmmu_fault(v, base + test_rand(&rs) % MOVE_PAGES, TDPMMU_ACCESS_WRITE, 0,
				     NULL);

		if (r && r != TDPMMU_FAULT_MMIO) /* no slot there just now: MMIO */
			atomic_fetch_add(&sh->errors, 1);
		else if (!r)
			atomic_fetch_add(&sh->direct_faults, 1);
	}
	tdpmmu_vcpu_destroy(v);
	return NULL;
}

/* One access; then, in guest mode, whether the root is valid and not @old. */
struct reload_probe {
	struct tdpmmu_vcpu *v;
	uint64_t gfn;
	const struct tdp_page *old;
	int step;
	bool new_valid_root;
};

static bool probe_next(void *ctx, struct tdpmmu_access *a)
{
	struct reload_probe *p = ctx;

	if (p->step++) {
		p->new_valid_root = p->v->root && p->v->root != p->old &&
				    tdp_root_is_valid(p->v->root);
		return false;
	}
	a->gpa = p->gfn << 12;
	a->type = TDPMMU_ACCESS_READ;
	return true;
}

/*
 * Every thread is stopped: a fast zap, then each vCPU runs once.  Each
 * held a root (or none) that is invalid now, so each must reload exactly
 * once, before its access, and run on a new valid root.
 */
static void zap_then_each_reloads(struct tdpmmu_vm *vm, struct vcpu_thread *t, int n)
{
	int64_t reloads = test_counter(vm, TDPMMU_C_ROOT_RELOADS);

	CHECK_EQ(tdpmmu_zap_all_fast(vm), 0);
	CHECK_EQ(test_counter(vm, TDPMMU_C_ROOT_RELOADS), reloads); /* nobody ran yet */
	for (int i = 0; i < n; i++) {
		struct reload_probe p = { .v = t[i].g.v,
					  .gfn = t[i].g.first,
					  .old = t[i].g.v->root };

		CHECK_EQ(tdpmmu_vcpu_run(p.v, probe_next, &p, 0), 0);
		CHECK_EQ(p.step, 2);
		if (!p.new_valid_root)
			fprintf(stderr, "vCPU %d: ran after the zap without a new valid root\n", i);
		CHECK(p.new_valid_root);
		CHECK_EQ(test_counter(vm, TDPMMU_C_ROOT_RELOADS), reloads + i + 1);
	}
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
}

static void test_concurrent(const struct test_opts *o)
{
	static struct vcpu_thread t[MAX_VCPUS];
	struct shared sh = { 0 };
	pthread_t zapper, direct;
	struct tdpmmu_root_stats rs;
	int64_t c[TDPMMU_NR_COUNTERS];
	long value_errors = 0;
	double waited = 0;

	sh.vm = make_vm();
	sh.pages_per_vcpu = SLOT_PAGES / (uint64_t)o->vcpus;
	for (int i = 0; i < o->vcpus; i++) {
		t[i].id = i;
		t[i].g.sh = &sh;
		t[i].g.rs = o->seed * 977 + (uint64_t)i + 1;
		t[i].g.first = (uint64_t)i * sh.pages_per_vcpu;
		t[i].g.n = sh.pages_per_vcpu;
		t[i].g.next_write = (uint64_t)i << 40;
		t[i].g.written = calloc(sh.pages_per_vcpu, sizeof(uint64_t));
		REQUIRE(t[i].g.written);
		REQUIRE(tdpmmu_vcpu_create(sh.vm, &t[i].g.v) == 0);
	}
	for (int i = 0; i < o->vcpus; i++)
		REQUIRE(pthread_create(&t[i].tid, NULL, vcpu_main, &t[i]) == 0);
	REQUIRE(pthread_create(&zapper, NULL, zapper_main, &sh) == 0);
	REQUIRE(pthread_create(&direct, NULL, direct_main, &sh) == 0);
	/* Run --seconds, longer (up to 10x) until the guarded window was met. */
	while (waited < o->seconds ||
	       ((atomic_load(&sh.invalid_during_zap) == 0 || atomic_load(&sh.root_replaced) == 0 ||
		 atomic_load(&sh.zaps) <= 2 || atomic_load(&sh.moves) == 0) &&
		waited < 10 * o->seconds)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		waited += 0.05;
	}
	atomic_store(&sh.stop, true);
	for (int i = 0; i < o->vcpus; i++)
		pthread_join(t[i].tid, NULL);
	pthread_join(zapper, NULL);
	pthread_join(direct, NULL);

	/* Every written value is where the host says it is. */
	for (int i = 0; i < o->vcpus; i++) {
		value_errors += t[i].g.value_errors;
		for (uint64_t p = 0; p < sh.pages_per_vcpu; p++) {
			uint64_t v;

			if (!t[i].g.written[p])
				continue;
			REQUIRE(tdpmmu_host_read(sh.vm, (t[i].g.first + p) << 12, &v) == 0);
			if (v != t[i].g.written[p])
				value_errors++;
		}
	}
	CHECK_EQ(tdpmmu_audit(sh.vm), 0);
	CHECK_EQ(tdpmmu_audit_tlbs(sh.vm), 0);
	tdpmmu_counters_read(sh.vm, c);
	printf("roots: %ld fast zaps (%ld by memslot moves), %lld reloads, %lld roots allocated, "
	       "%lld invalidated; guests met an invalidated root during a zap %ld times, after "
	       "one %ld times; saw their root replaced after a zap %ld times; "
	       "%ld direct faults on the moving slot\n",
	       atomic_load(&sh.zaps), atomic_load(&sh.moves), (long long)c[TDPMMU_C_ROOT_RELOADS],
	       (long long)c[TDPMMU_C_ROOTS_ALLOCATED], (long long)c[TDPMMU_C_ROOTS_INVALIDATED],
	       atomic_load(&sh.invalid_during_zap), atomic_load(&sh.bad_root),
	       atomic_load(&sh.root_replaced), atomic_load(&sh.direct_faults));
	CHECK_EQ(atomic_load(&sh.errors), 0);
	CHECK_EQ(atomic_load(&sh.bad_root), 0);
	CHECK_EQ(value_errors, 0);
	CHECK(atomic_load(&sh.zaps) > 2 && atomic_load(&sh.moves) > 0);
	CHECK(atomic_load(&sh.invalid_during_zap) > 0);
	CHECK(atomic_load(&sh.root_replaced) > 0);
	/* Each reload a guest saw is one of its own vCPU's, in a span apart from its others. */
	CHECK(c[TDPMMU_C_ROOT_RELOADS] >= atomic_load(&sh.root_replaced));
	zap_then_each_reloads(sh.vm, t, o->vcpus);

	for (int i = 0; i < o->vcpus; i++) {
		tdpmmu_vcpu_destroy(t[i].g.v);
		free(t[i].g.written);
	}
	CHECK_EQ(tdpmmu_zap_all_fast(sh.vm), 0);
	tdpmmu_root_stats_read(sh.vm, &rs);
	CHECK_EQ(rs.valid + rs.invalid, 0); /* every invalidated root was freed */
	tdpmmu_vm_destroy(sh.vm);
}

int main(int argc, char **argv)
{
	struct test_opts o = { .seconds = 2, .vcpus = 4, .seed = 1 };

	test_opts_parse(argc, argv, &o, MAX_VCPUS);
	test_single();
	test_concurrent(&o);
	return check_report("test_roots");
}
