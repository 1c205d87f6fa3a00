/*
 * test_quarantine.c - quarantine (tdpmmu_quarantine) never hands out a
 * page table that is still PROT_NONE, and never crashes, when the mprotect
 * calls it makes fail, as they do once the process has vm.max_map_count
 * mappings (issue 15): before the fix, a table whose mprotect back to
 * read-write failed was handed out anyway and the allocator's reset of it
 * died with SIGSEGV.
 *
 * What it proves, each case on its own:
 *  arena-unprotect  (the allocator alone, failures injected) a quarantined
 *                   table that cannot be made writable stays quarantined
 *                   (still inaccessible, still on the quarantine ring) and
 *                   another table is taken: the next quarantined one, else
 *                   one never protected; every table handed out reads and
 *                   writes, and the failures are counted.
 *  arena-exhausted  every one-table mprotect fails and no other table is
 *                   left: the allocator makes the whole quarantine writable
 *                   at once (which splits no mapping) rather than fail;
 *                   NULL only when every table is in use.
 *  arena-protect    a freed table that could not be protected stays usable
 *                   (poisoned only) and is counted; the others are PROT_NONE.
 *  arena-threads    four threads allocate and free at once with both kinds
 *                   of failure injected: every table handed out is writable
 *                   and nobody else's, none is lost (run it under TSan too).
 *  vm-injected      the reported reproduction through the public API, small,
 *                   with both kinds of failure injected: llist, quarantine
 *                   on, 4K faults one per 2 MiB block in random order, zap
 *                   all, fault again; every fault succeeds and maps right.
 *  vm-at-limit      the same for real, no injection: the test first fills
 *                   the process's mappings up to near the kernel's own
 *                   vm.max_map_count with a mapping of its own (alternate
 *                   pages protected), so the arena's mprotect calls hit the
 *                   limit after a few thousand tables, and requires that
 *                   both failures happened.  Skipped when the limit is too
 *                   high to reach quickly.  TDPMMU_QUARANTINE_FULL=1 runs
 *                   the report's exact case instead (140,000 blocks, no
 *                   filler; 10-20 s).
 *
 * A page's protection is probed with raw read/write system calls through a
 * pipe: the kernel answers EFAULT for a page the process cannot access
 * instead of raising SIGSEGV (and the sanitizers do not see the calls).
 *
 *   test_quarantine [CASE...]   (default: every case)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/check.h"
#include "tdpmmu/testing.h"
#include "mmu/mmu_page.h"
#include "lib/test_vm.h"
#include "vm/vm_internal.h"

#define MB2 512ull /* 4K pages in a 2 MiB block */

static int probe_pipe[2];

/* The table can be read and written (its contents are left as they were). */
static bool table_accessible(struct tdp_arena *a, struct tdp_page *p)
{
	void *pt = (void *)tdp_page_table(a, p);

	if (syscall(SYS_write, probe_pipe[1], pt, 8) != 8)
		return false;                                /* EFAULT: not readable */
	return syscall(SYS_read, probe_pipe[0], pt, 8) == 8; /* writes the same bytes back */
}

static bool index_accessible(struct tdp_arena *a, uint64_t i)
{
	return table_accessible(a, &a->meta[i]);
}

/* The first entry of an accessible free table (poisoned for the sanitizer: read by the kernel). */
static tdp_spte_t free_entry0(struct tdp_arena *a, uint64_t i)
{
	tdp_spte_t s = 0;

	REQUIRE(syscall(SYS_write, probe_pipe[1], tdp_page_table(a, &a->meta[i]), 8) == 8);
	REQUIRE(read(probe_pipe[0], &s, 8) == 8);
	return s;
}

/* Every table on the quarantine ring is inaccessible, every one on the open ring is not. */
static void check_rings(struct tdp_arena *a)
{
	for (uint64_t k = 0; k < a->quar.nr; k++)
		CHECK(!index_accessible(a, a->quar.slot[(a->quar.head + k) % a->capacity]));
	for (uint64_t k = 0; k < a->open.nr; k++)
		CHECK(index_accessible(a, a->open.slot[(a->open.head + k) % a->capacity]));
}

static struct tdp_quarantine_stats qstats(struct tdp_arena *a)
{
	struct tdp_quarantine_stats q;

	tdp_arena_quarantine_stats(a, &q);
	return q;
}

/* A table from the allocator: it must exist and be accessible. */
static struct tdp_page *alloc_ok(struct tdp_arena *a)
{
	struct tdp_page *p = tdp_page_alloc(a);

	REQUIRE(p);
	CHECK(table_accessible(a, p));
	CHECK_EQ(atomic_load(&tdp_page_table(a, p)[0]), SPTE_NONPRESENT);
	return p;
}

static void test_arena_unprotect(void)
{
	struct tdp_arena a;
	struct tdp_page *p[16];
	bool seen[64] = { false };
	uint64_t fails;

	REQUIRE(tdp_arena_init(&a, 64) == 0);
	for (int k = 0; k < 16; k++)
		p[k] = alloc_ok(&a);
	for (int k = 0; k < 16; k++)
		tdp_page_free(&a, p[k]);
	CHECK_EQ(a.quar.nr, 16);
	check_rings(&a);

	/* Every second mprotect back fails: the next quarantined table is taken. */
	tdp_inject_quarantine_fail(0, 2);
	for (int k = 0; k < 8; k++) {
		p[k] = alloc_ok(&a);
		CHECK(tdp_page_index(&a, p[k]) < 16); /* a quarantined one, not fresh */
		CHECK(!seen[tdp_page_index(&a, p[k])]);
		seen[tdp_page_index(&a, p[k])] = true;
		check_rings(&a);
	}
	fails = qstats(&a).unprotect_failures;
	CHECK(fails >= 4);
	CHECK_EQ(a.quar.nr, 8); /* the failed ones are still in quarantine */

	/* Every one fails: TDP_QUARANTINE_TRIES of them tried, then a fresh table. */
	tdp_inject_quarantine_fail(0, 1);
	for (int k = 8; k < 16; k++) {
		p[k] = alloc_ok(&a);
		CHECK(tdp_page_index(&a, p[k]) >= 16);
		CHECK(!seen[tdp_page_index(&a, p[k])]);
		seen[tdp_page_index(&a, p[k])] = true;
		check_rings(&a);
	}
	CHECK_EQ(qstats(&a).unprotect_failures, fails + 8 * TDP_QUARANTINE_TRIES);
	CHECK_EQ(a.quar.nr, 8);
	CHECK_EQ(tdp_arena_in_use(&a), 16);
	CHECK_EQ(qstats(&a).releases, 0);

	tdp_inject_quarantine_fail(0, 0);
	for (int k = 0; k < 16; k++)
		tdp_page_free(&a, p[k]);
	CHECK_EQ(tdp_arena_in_use(&a), 0);
	check_rings(&a);
	tdp_arena_destroy(&a);
	printf("test_quarantine: arena-unprotect: %llu failed mprotect calls, each table kept in "
	       "quarantine\n",
	       (unsigned long long)(fails + 8 * TDP_QUARANTINE_TRIES));
}

static void test_arena_exhausted(void)
{
	struct tdp_arena a;
	struct tdp_page *p[8];

	REQUIRE(tdp_arena_init(&a, 8) == 0);
	for (int k = 0; k < 8; k++)
		p[k] = alloc_ok(&a);
	for (int k = 0; k < 8; k++)
		tdp_page_free(&a, p[k]);
	CHECK_EQ(a.quar.nr, 8);
	check_rings(&a);

	/* Nothing fresh, nothing open, no quarantined table can be unprotected alone. */
	tdp_inject_quarantine_fail(0, 1);
	for (int k = 0; k < 8; k++)
		p[k] = alloc_ok(&a);
	CHECK_EQ(qstats(&a).unprotect_failures, TDP_QUARANTINE_TRIES);
	CHECK_EQ(qstats(&a).releases, 1);
	CHECK_EQ(qstats(&a).release_failures, 0);
	CHECK(tdp_page_alloc(&a) == NULL); /* really full */
	CHECK_EQ(tdp_arena_in_use(&a), 8);

	/* Quarantine goes on working afterwards. */
	tdp_inject_quarantine_fail(0, 0);
	for (int k = 0; k < 8; k++)
		tdp_page_free(&a, p[k]);
	CHECK_EQ(a.quar.nr, 8);
	check_rings(&a);
	for (int k = 0; k < 8; k++)
		p[k] = alloc_ok(&a);
	CHECK_EQ(qstats(&a).releases, 1);
	for (int k = 0; k < 8; k++)
		tdp_page_free(&a, p[k]);
	tdp_arena_destroy(&a);
	printf("test_quarantine: arena-exhausted: the whole quarantine released once, no NULL "
	       "until the arena was full\n");
}

static void test_arena_protect(void)
{
	struct tdp_arena a;
	struct tdp_page *p[16];

	REQUIRE(tdp_arena_init(&a, 16) == 0);
	for (int k = 0; k < 16; k++)
		p[k] = alloc_ok(&a);
	tdp_inject_quarantine_fail(2, 0);
	for (int k = 0; k < 16; k++)
		tdp_page_free(&a, p[k]);
	tdp_inject_quarantine_fail(0, 0);
	CHECK_EQ(qstats(&a).protect_failures, 8);
	CHECK_EQ(a.quar.nr, 8);
	CHECK_EQ(a.open.nr, 8);
	check_rings(&a);
	/* Poisoned, not protected: a walk that read one would see the poison. */
	for (uint64_t k = 0; k < a.open.nr; k++)
		CHECK_EQ(free_entry0(&a, a.open.slot[(a.open.head + k) % a.capacity]), SPTE_POISON);
	for (int k = 0; k < 16; k++)
		p[k] = alloc_ok(&a);
	CHECK(tdp_page_alloc(&a) == NULL);
	for (int k = 0; k < 16; k++)
		tdp_page_free(&a, p[k]);
	tdp_arena_destroy(&a);
	printf("test_quarantine: arena-protect: 8 tables poisoned only, all 16 reused\n");
}

/* One thread of arena-threads: allocate and free at random, checking each table. */
struct churn_arg {
	struct tdp_arena *a;
	uint64_t tag, seed, allocs, failed;
};

static void *churn(void *arg)
{
	struct churn_arg *c = arg;
	struct tdp_page *held[32];
	unsigned n = 0;

	for (int k = 0; k < 20000; k++) {
		if (n < ARRAY_SIZE(held) && (n == 0 || test_rand(&c->seed) % 2)) {
			struct tdp_page *p = tdp_page_alloc(c->a);

			if (!p) {
				c->failed++;
				continue;
			}
			/* Ours alone: every entry writable, no one else's mark. */
			for (unsigned e = 0; e < TDP_PTES_PER_TABLE; e++) {
				CHECK_EQ(atomic_load(&tdp_page_table(c->a, p)[e]), SPTE_NONPRESENT);
				atomic_store(&tdp_page_table(c->a, p)[e], c->tag);
			}
			held[n++] = p;
			c->allocs++;
		} else {
			unsigned j = (unsigned)(test_rand(&c->seed) % n);

			for (unsigned e = 0; e < TDP_PTES_PER_TABLE; e += 64)
				CHECK_EQ(atomic_load(&tdp_page_table(c->a, held[j])[e]), c->tag);
			tdp_page_free(c->a, held[j]);
			held[j] = held[--n];
		}
	}
	while (n)
		tdp_page_free(c->a, held[--n]);
	return NULL;
}

static void test_arena_threads(void)
{
	struct tdp_arena a;
	struct churn_arg c[4];
	struct tdp_quarantine_stats q;
	pthread_t t[4];
	uint64_t allocs = 0, failed = 0;

	/* Enough tables for everyone: a NULL would be a bug. */
	REQUIRE(tdp_arena_init(&a, 4 * 32 + 8) == 0);
	tdp_inject_quarantine_fail(5, 3);
	for (int k = 0; k < 4; k++) {
		c[k] = (struct churn_arg){ .a = &a,
					   .tag = 0x7a900000ull + k,
					   .seed = 0x9e3779b97f4a7c15ull * (k + 1) };
		REQUIRE(pthread_create(&t[k], NULL, churn, &c[k]) == 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(t[k], NULL);
		allocs += c[k].allocs;
		failed += c[k].failed;
	}
	tdp_inject_quarantine_fail(0, 0);
	CHECK_EQ(failed, 0);
	CHECK_EQ(tdp_arena_in_use(&a), 0);
	q = qstats(&a);
	CHECK(q.protect_failures > 0);
	CHECK(q.unprotect_failures > 0);
	check_rings(&a);
	tdp_arena_destroy(&a);
	printf("test_quarantine: arena-threads: 4 threads, %llu tables handed out, %llu protect "
	       "and %llu unprotect failures\n",
	       (unsigned long long)allocs, (unsigned long long)q.protect_failures,
	       (unsigned long long)q.unprotect_failures);
}

/*
 * The reported case: @nblocks 4K faults (capped at 4K), one per 2 MiB
 * block in random order, zap all, the same faults again; every fault must
 * succeed and map its gfn at 4K.
 */
static void fault_blocks(struct tdpmmu_vcpu *v, const uint64_t *order, uint64_t nblocks)
{
	for (uint64_t k = 0; k < nblocks; k++) {
		struct tdpmmu_fault_result res;
		int r = tdpmmu_fault(v, order[k] * MB2, TDPMMU_ACCESS_READ, 1, &res);

		if (r || res.level != 1) {
			fprintf(stderr, "fault %llu on block %llu: %d, level %d\n",
				(unsigned long long)k, (unsigned long long)order[k], r, res.level);
			REQUIRE(0);
		}
	}
}

static uint64_t *shuffled_blocks(uint64_t nblocks, uint64_t seed)
{
	uint64_t *order = malloc(nblocks * sizeof(*order));

	REQUIRE(order);
	for (uint64_t k = 0; k < nblocks; k++)
		order[k] = k;
	for (uint64_t k = nblocks - 1; k > 0; k--) {
		uint64_t j = test_rand(&seed) % (k + 1), t = order[k];

		order[k] = order[j];
		order[j] = t;
	}
	return order;
}

static struct tdpmmu_vm *make_vm(uint64_t nblocks, struct tdpmmu_vcpu **v)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot slot = { 0, 0, nblocks * MB2, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm *vm;

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = TDPMMU_STRATEGY_LLIST;
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &slot) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, v) == 0);
	return vm;
}

static void check_mapped(struct tdpmmu_vm *vm, const uint64_t *order, uint64_t nblocks)
{
	for (uint64_t k = 0; k < nblocks; k++) {
		struct tdpmmu_mapping m;
		uint64_t pfn;

		REQUIRE(tdpmmu_lookup(vm, order[k] * MB2, &m) == 0);
		REQUIRE(tdpmmu_host_pfn(vm, order[k] * MB2, &pfn) == 0);
		CHECK(m.present && m.level == 1 && m.pfn == pfn);
	}
}

static void test_vm_injected(void)
{
	const uint64_t nblocks = 4096;
	uint64_t *order = shuffled_blocks(nblocks, 15);
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm = make_vm(nblocks, &v);
	struct tdp_arena *a = &tdp_vm_mmu(vm)->arena;
	struct tdp_quarantine_stats q;

	fault_blocks(v, order, nblocks);
	tdp_inject_quarantine_fail(5, 3);
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	fault_blocks(v, order, nblocks);
	check_mapped(vm, order, nblocks);
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	fault_blocks(v, order, nblocks);
	check_mapped(vm, order, nblocks);
	tdp_inject_quarantine_fail(0, 0);
	q = qstats(a);
	CHECK(q.protect_failures > 0);
	CHECK(q.unprotect_failures > 0);
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
	free(order);
	printf("test_quarantine: vm-injected: %llu blocks faulted 3 times, %llu protect and %llu "
	       "unprotect failures\n",
	       (unsigned long long)nblocks, (unsigned long long)q.protect_failures,
	       (unsigned long long)q.unprotect_failures);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Mappings the process has now. */
static long map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/*
 * Take mappings until @headroom are left below @limit: a PROT_NONE region
 * with every other page made readable, two mappings per readable page.
 */
static void *fill_mappings(long limit, long headroom, size_t *len)
{
	long pages = (limit - map_count() - headroom) / 2;
	char *base;

	if (pages <= 0) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)(2 * pages + 1) * 4096;
	base = mmap(NULL, *len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REQUIRE(base != MAP_FAILED);
	for (long k = 0; k < pages; k++)
		if (mprotect(base + (2 * k + 1) * 4096, 4096, PROT_READ))
			break; /* at the limit already */
	return base;
}

#define LIMIT_MAX (1l << 18) /* beyond this, filling the mappings takes too long */
#define HEADROOM 1024        /* mappings left for the arena: reached within ~4k tables */

static void test_vm_at_limit(void)
{
	bool full = getenv("TDPMMU_QUARANTINE_FULL") && atoi(getenv("TDPMMU_QUARANTINE_FULL"));
	const uint64_t nblocks = full ? 140000 : 16384;
	long limit = read_long("/proc/sys/vm/max_map_count");
	uint64_t *order;
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm;
	struct tdp_quarantine_stats q;
	size_t len = 0;
	void *filler = NULL;

	if (limit <= 0 || (!full && limit > LIMIT_MAX)) {
		printf("test_quarantine: vm-at-limit: skipped (vm.max_map_count %ld)\n", limit);
		return;
	}
	order = shuffled_blocks(nblocks, 140000);
	vm = make_vm(nblocks, &v);
	fault_blocks(v, order, nblocks);
	if (!full)
		filler = fill_mappings(limit, HEADROOM, &len);
	/* From here the process is at the limit: nothing below allocates memory. */
	REQUIRE(tdpmmu_zap_all(vm) == 0);
	fault_blocks(v, order, nblocks);
	q = qstats(&tdp_vm_mmu(vm)->arena);
	if (filler)
		munmap(filler, len);
	check_mapped(vm, order, nblocks);
	CHECK(q.protect_failures > 0);   /* the limit was reached */
	CHECK(q.unprotect_failures > 0); /* where the old allocator crashed */
	CHECK_EQ(tdpmmu_audit(vm), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
	free(order);
	printf("test_quarantine: vm-at-limit: %llu blocks, vm.max_map_count %ld: %llu protect and "
	       "%llu unprotect failures, %llu releases\n",
	       (unsigned long long)nblocks, limit, (unsigned long long)q.protect_failures,
	       (unsigned long long)q.unprotect_failures, (unsigned long long)q.releases);
}

/* A table handed out while still PROT_NONE: say so (async-signal-safe), then die. */
static void on_segv(int sig)
{
	static const char msg[] = "test_quarantine: SIGSEGV: a page table still PROT_NONE "
				  "handed out?\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* clang-format off */
static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "arena-unprotect", test_arena_unprotect },
	{ "arena-exhausted", test_arena_exhausted },
	{ "arena-protect", test_arena_protect },
	{ "arena-threads", test_arena_threads },
	{ "vm-injected", test_vm_injected },
	{ "vm-at-limit", test_vm_at_limit },
};
/* clang-format on */

/* test_quarantine [CASE...]: the cases named, or all of them. */
int main(int argc, char **argv)
{
	alarm(120);
	signal(SIGSEGV, on_segv);
	REQUIRE(pipe(probe_pipe) == 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int k = 1; k < argc; k++) {
		size_t c = 0;

		while (c < ARRAY_SIZE(cases) && strcmp(argv[k], cases[c].name))
			c++;
		if (c == ARRAY_SIZE(cases)) {
			fprintf(stderr, "usage: test_quarantine [CASE...]; cases:");
			for (c = 0; c < ARRAY_SIZE(cases); c++)
				fprintf(stderr, " %s", cases[c].name);
			fprintf(stderr, "\n");
			return 2;
		}
	}
	tdpmmu_quarantine(true);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		bool run = argc == 1;

		for (int k = 1; k < argc; k++)
			run |= !strcmp(argv[k], cases[c].name);
		if (run)
			cases[c].run();
	}
	tdpmmu_quarantine(false);
	return check_report("test_quarantine");
}
