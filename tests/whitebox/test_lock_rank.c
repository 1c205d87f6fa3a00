/*
 * test_lock_rank.c - the debug-build lock-order checker (src/base/lock_rank.h,
 * docs/locking.md): a lock taken out of rank order aborts with the names
 * and ranks of both locks; the documented order, trylocks, the global
 * policy's single lock and condition-variable waits pass; and the library's own
 * paths (slots, faults, dirty log, memslot move, fast zap, NX recovery,
 * TLB audit) run clean under every strategy.  Every other debug test and
 * the torture run through the checker too.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/check.h"
#include "base/compiler.h"
#include "base/lock_rank.h"
#include "mmu/mmu_lock.h"
#include "lib/test_vm.h"
#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

#ifdef TDP_DEBUG

static pthread_mutex_t m_slots = PTHREAD_MUTEX_INITIALIZER, m_zap = PTHREAD_MUTEX_INITIALIZER,
		       m_pages = PTHREAD_MUTEX_INITIALIZER, m_vcpus = PTHREAD_MUTEX_INITIALIZER,
		       m_arena = PTHREAD_MUTEX_INITIALIZER, m_worker = PTHREAD_MUTEX_INITIALIZER,
		       m_nx = PTHREAD_MUTEX_INITIALIZER, m_fault = PTHREAD_MUTEX_INITIALIZER,
		       m_slot = PTHREAD_MUTEX_INITIALIZER;
static struct mmu_lock mmu_a, mmu_b;

/*
 * Run @fn in a child; require it to die by SIGABRT with @msg on stderr
 * (@msg NULL: require a clean exit 0).
 */
static void run_child(const char *what, void (*fn)(void), const char *msg)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	REQUIRE(pipe(fds) == 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fds[0]);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (getenv("LOCK_RANK_VERBOSE")) /* show what the checker prints */
		fprintf(stderr, "--- %s:\n%s", what, buf);
	if (msg) {
		bool died = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
		bool said = strstr(buf, msg) != NULL;

		if (!died || !said)
			fprintf(stderr, "%s: expected SIGABRT with \"%s\", got status 0x%x:\n%s\n",
				what, msg, status, buf);
		CHECK(died);
		CHECK(said);
	} else {
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

		if (!clean)
			fprintf(stderr, "%s: expected a clean exit, got status 0x%x:\n%s\n", what,
				status, buf);
		CHECK(clean);
	}
}

/* --- out of order: each must abort --- */

static void child_arena_then_pages(void)
{
	tdp_mutex_lock(&m_arena, TDP_RANK_ARENA);
	tdp_mutex_lock(&m_pages, TDP_RANK_PAGES); /* must abort */
}

static void child_mmu_then_slots(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	mmu_lock_read(&mmu_a);
	tdp_mutex_lock(&m_slots, TDP_RANK_SLOTS); /* must abort */
}

static void child_vcpus_then_mmu_write(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	tdp_mutex_lock(&m_vcpus, TDP_RANK_VCPUS);
	mmu_lock_write(&mmu_a); /* must abort, before it blocks */
}

/* Two locks of one rank: two VMs' MMU locks in one thread. */
static void child_two_mmu_locks(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	REQUIRE(mmu_lock_init(&mmu_b, false) == 0);
	mmu_lock_read(&mmu_a);
	mmu_lock_read(&mmu_b); /* must abort */
}

/* A trylock is recorded: what is taken after it is checked against it. */
static void child_after_trylock(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	tdp_mutex_lock(&m_arena, TDP_RANK_ARENA);
	REQUIRE(mmu_lock_write_trylock(&mmu_a));  /* out of order, but cannot deadlock */
	tdp_mutex_lock(&m_vcpus, TDP_RANK_VCPUS); /* below the arena lock: must abort */
}

static void child_release_unheld(void)
{
	tdp_lock_rank_release(TDP_RANK_NX); /* must abort (the mutex is not touched) */
}

/* A real library path: the public memslot call takes slots_lock, the outermost. */
static void child_library_slots_under_mmu(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_memslot s = { .id = 1, .base_gfn = 0, .npages = 512 };
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.payload_bytes = tdpmmu_payload_bytes_for(512, 1);
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	mmu_lock_read(&mmu_a);
	tdpmmu_memslot_add(vm, &s); /* must abort */
}

/* --- in order: each must run clean --- */

static void child_full_order(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	tdp_mutex_lock(&m_slots, TDP_RANK_SLOTS);
	tdp_mutex_lock(&m_zap, TDP_RANK_FAST_ZAP);
	mmu_lock_read(&mmu_a);
	tdp_mutex_lock(&m_pages, TDP_RANK_PAGES);
	tdp_mutex_lock(&m_vcpus, TDP_RANK_VCPUS);
	tdp_mutex_lock(&m_arena, TDP_RANK_ARENA);
	tdp_mutex_lock(&m_worker, TDP_RANK_RECLAIM_WORKER);
	tdp_mutex_lock(&m_nx, TDP_RANK_NX);
	tdp_mutex_lock(&m_fault, TDP_RANK_HOST_FAULT);
	tdp_mutex_lock(&m_slot, TDP_RANK_THREAD_SLOT);
	REQUIRE(tdp_lock_rank_depth() == 10);
	/* Out-of-order releases are fine; the maximum follows. */
	tdp_mutex_unlock(&m_zap, TDP_RANK_FAST_ZAP);
	mmu_lock_read_unlock(&mmu_a);
	tdp_mutex_unlock(&m_slot, TDP_RANK_THREAD_SLOT);
	tdp_mutex_unlock(&m_fault, TDP_RANK_HOST_FAULT);
	tdp_mutex_unlock(&m_nx, TDP_RANK_NX);
	tdp_mutex_unlock(&m_worker, TDP_RANK_RECLAIM_WORKER);
	tdp_mutex_unlock(&m_arena, TDP_RANK_ARENA);
	REQUIRE(tdp_lock_rank_depth() == 3); /* slots, pages, vcpus */
	REQUIRE(tdp_lock_rank_held(TDP_RANK_VCPUS) && !tdp_lock_rank_held(TDP_RANK_MMU));
	tdp_mutex_lock(&m_arena, TDP_RANK_ARENA); /* above vcpus_mutex: allowed */
	tdp_mutex_unlock(&m_arena, TDP_RANK_ARENA);
	tdp_mutex_unlock(&m_vcpus, TDP_RANK_VCPUS);
	tdp_mutex_unlock(&m_pages, TDP_RANK_PAGES);
	tdp_mutex_unlock(&m_slots, TDP_RANK_SLOTS);
	REQUIRE(tdp_lock_rank_depth() == 0);

	/* Once released, a lock can be taken again, in either mode. */
	mmu_lock_write(&mmu_a);
	mmu_lock_write_unlock(&mmu_a);
	mmu_lock_read(&mmu_a);
	mmu_lock_read_unlock(&mmu_a);
	REQUIRE(tdp_lock_rank_depth() == 0);
}

/* Trylock out of order, released: the maximum drops back to what is left. */
static void child_trylock_then_release(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, false) == 0);
	tdp_mutex_lock(&m_arena, TDP_RANK_ARENA);
	REQUIRE(mmu_lock_write_trylock(&mmu_a));
	tdp_mutex_lock(&m_nx, TDP_RANK_NX); /* above both */
	tdp_mutex_unlock(&m_nx, TDP_RANK_NX);
	tdp_mutex_unlock(&m_arena, TDP_RANK_ARENA);
	tdp_mutex_lock(&m_pages, TDP_RANK_PAGES); /* above the trylocked MMU lock */
	tdp_mutex_unlock(&m_pages, TDP_RANK_PAGES);
	mmu_lock_write_unlock(&mmu_a);
	REQUIRE(tdp_lock_rank_depth() == 0);
}

/* The global policy's single lock: a read acquisition takes the write lock, one MMU entry. */
static void child_single_read(void)
{
	REQUIRE(mmu_lock_init(&mmu_a, true) == 0);
	tdp_mutex_lock(&m_zap, TDP_RANK_FAST_ZAP);
	mmu_lock_read(&mmu_a);
	REQUIRE(mmu_lock_held_write(&mmu_a));
	REQUIRE(tdp_lock_rank_depth() == 2);
	tdp_mutex_lock(&m_vcpus, TDP_RANK_VCPUS);
	tdp_mutex_unlock(&m_vcpus, TDP_RANK_VCPUS);
	mmu_lock_read_unlock(&mmu_a);
	REQUIRE(tdp_lock_rank_depth() == 1);
	tdp_mutex_unlock(&m_zap, TDP_RANK_FAST_ZAP);
	REQUIRE(tdp_lock_rank_depth() == 0);
}

/* A condition wait releases and re-takes its mutex inside: nothing changes. */
static void child_cond_wait(void)
{
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct timespec until = tdp_deadline_after_ms(1);

	tdp_mutex_lock(&m_worker, TDP_RANK_RECLAIM_WORKER);
	REQUIRE(pthread_cond_timedwait(&cond, &m_worker, &until) == ETIMEDOUT);
	REQUIRE(tdp_lock_rank_depth() == 1);
	tdp_mutex_lock(&m_fault, TDP_RANK_HOST_FAULT);
	tdp_mutex_unlock(&m_fault, TDP_RANK_HOST_FAULT);
	tdp_mutex_unlock(&m_worker, TDP_RANK_RECLAIM_WORKER);
	REQUIRE(tdp_lock_rank_depth() == 0);
}

/*
 * The library's paths that nest locks, once each under @strategy: slots
 * and faults, dirty log (slots_lock, MMU lock, arena), memslot move
 * (slots_lock, MMU lock, fast_zap_mutex, vcpus_mutex), fast zap, NX
 * recovery, TLB audit (MMU lock, vcpus_mutex), teardown.  No lock is
 * left held after any call.
 */
static void library_paths(enum tdpmmu_strategy strategy)
{
	const uint64_t npages = 2048;
	struct tdpmmu_memslot s = {
		.id = 1, .base_gfn = 0, .npages = npages, .backing = TDPMMU_BACKING_THP
	};
	static uint64_t bitmap[2048 / 64];
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vcpu *v;
	struct tdpmmu_vm *vm;

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = strategy;
	cfg.nx_huge_pages = true;
	cfg.payload_bytes = tdpmmu_payload_bytes_for(npages, 1);
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &s) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	for (uint64_t g = 0; g < npages; g += 97)
		CHECK(tdpmmu_fault(v, g, TDPMMU_ACCESS_WRITE, 0, NULL) >= 0);
	CHECK(tdpmmu_fault(v, 5, TDPMMU_ACCESS_EXEC, 0, NULL) >= 0);
	CHECK_EQ(tdp_lock_rank_depth(), 0);
	CHECK(tdpmmu_dirty_log_enable(vm, 1, TDPMMU_DIRTY_LOG_EAGER_SPLIT) >= 0);
	CHECK(tdpmmu_fault(v, 7, TDPMMU_ACCESS_WRITE, 0, NULL) >= 0);
	CHECK(tdpmmu_dirty_log_get(vm, 1, bitmap) >= 0);
	CHECK(tdpmmu_dirty_log_disable(vm, 1, TDPMMU_RECOVER_INPLACE) >= 0);
	CHECK_EQ(tdp_lock_rank_depth(), 0);
	CHECK_EQ(tdpmmu_memslot_move(vm, 1, 4096), 0);
	CHECK(tdpmmu_fault(v, 4096 + 3, TDPMMU_ACCESS_WRITE, 0, NULL) >= 0);
	CHECK_EQ(tdpmmu_zap_all_fast(vm), 0);
	CHECK(tdpmmu_fault(v, 4096 + 600, TDPMMU_ACCESS_EXEC, 0, NULL) >= 0);
	CHECK(tdpmmu_nx_recover(vm, 1) >= 0);
	CHECK_EQ(tdpmmu_audit_tlbs(vm), 0);
	CHECK_EQ(tdpmmu_zap_range(vm, 4096, 4096 + npages), 0);
	CHECK_EQ(tdpmmu_memslot_delete(vm, 1), 0);
	CHECK_EQ(tdp_lock_rank_depth(), 0);
	tdpmmu_vcpu_destroy(v);
	tdpmmu_vm_destroy(vm);
	CHECK_EQ(tdp_lock_rank_depth(), 0);
}

int main(void)
{
	static const struct {
		const char *what;
		void (*fn)(void);
		const char *msg;
	} cases[] = {
		{ "arena then pages", child_arena_then_pages,
		  "lock order: taking pages_lock (rank 40) while holding arena_lock (rank 60" },
		{ "MMU lock then slots_lock", child_mmu_then_slots,
		  "lock order: taking slots_lock (rank 10) while holding mmu_lock (rank 30" },
		{ "vcpus_mutex then MMU write lock", child_vcpus_then_mmu_write,
		  "lock order: taking mmu_lock (rank 30) while holding vcpus_mutex (rank 50" },
		{ "two MMU locks", child_two_mmu_locks,
		  "lock order: taking mmu_lock (rank 30) while holding mmu_lock (rank 30" },
		{ "below a trylocked lock", child_after_trylock,
		  "lock order: taking vcpus_mutex (rank 50) while holding arena_lock (rank 60" },
		{ "release of a lock not held", child_release_unheld,
		  "lock order: releasing nx_mutex (rank 80), which is not held" },
		{ "memslot add under the MMU lock", child_library_slots_under_mmu,
		  "lock order: taking slots_lock (rank 10) while holding mmu_lock (rank 30" },
		{ "the documented order", child_full_order, NULL },
		{ "a trylock out of order, released", child_trylock_then_release, NULL },
		{ "single-lock read", child_single_read, NULL },
		{ "condition wait", child_cond_wait, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_child(cases[i].what, cases[i].fn, cases[i].msg);
	for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++)
		library_paths((enum tdpmmu_strategy)s);
	return check_report("test_lock_rank");
}

#else

int main(void)
{
	printf("test_lock_rank: skipped (the checker is compiled in only with TDP_DEBUG)\n");
	return 0;
}

#endif
