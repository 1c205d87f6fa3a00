/*
 * test_lock.c - the MMU lock: mutual exclusion, writers are not starved by
 * a stream of overlapping readers, the contention query, lock-mode
 * assertions, statistics.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/check.h"
#include "base/compiler.h"
#include "mmu/mmu_lock.h"

#define READERS 3
#define WRITER_ROUNDS 200
#define DEADLINE_NS (120ull * 1000000000ull)

static struct mmu_lock lock;
static atomic_int readers_in, writers_in;
static atomic_bool stop;
static atomic_long overlaps, violations, reads_done, writes_done;

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		mmu_lock_read(&lock);
		if (atomic_fetch_add(&readers_in, 1) > 0)
			atomic_fetch_add(&overlaps, 1); /* another reader was inside */
		if (atomic_load(&writers_in))
			atomic_fetch_add(&violations, 1);
		for (int i = 0; i < 50; i++)
			cpu_relax();
		atomic_fetch_sub(&readers_in, 1);
		mmu_lock_read_unlock(&lock);
		atomic_fetch_add(&reads_done, 1);
	}
	return NULL;
}

static void *writer(void *arg)
{
	uint64_t deadline = tdp_now_ns() + DEADLINE_NS;

	(void)arg;
	for (int i = 0; i < WRITER_ROUNDS && tdp_now_ns() < deadline; i++) {
		mmu_lock_write(&lock);
		if (atomic_fetch_add(&writers_in, 1) != 0 || atomic_load(&readers_in) != 0)
			atomic_fetch_add(&violations, 1);
		CHECK(mmu_lock_held_write(&lock));
		atomic_fetch_sub(&writers_in, 1);
		mmu_lock_write_unlock(&lock);
		atomic_fetch_add(&writes_done, 1);
	}
	return NULL;
}

static void test_exclusion_and_fairness(void)
{
	uint64_t deadline = tdp_now_ns() + DEADLINE_NS;
	pthread_t r[READERS], w[2];
	struct tdpmmu_lock_stats st;

	REQUIRE(mmu_lock_init(&lock, false) == 0);
	for (int i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	/* Two writers, so writers also contend with each other. */
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, writer, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	/*
	 * Readers share the lock: two inside at once needs two of them on
	 * CPUs together (or one preempted inside), which a loaded machine may
	 * not do while the writers run.  Run on until it happened.
	 */
	while (!atomic_load(&overlaps) && tdp_now_ns() < deadline)
		sched_yield();
	atomic_store(&stop, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);

	printf("lock: %ld reads (%ld overlapping), %ld writes\n", atomic_load(&reads_done),
	       atomic_load(&overlaps), atomic_load(&writes_done));
	CHECK_EQ(atomic_load(&violations), 0);
	/* Writers finished while readers kept the lock busy the whole time. */
	CHECK_EQ(atomic_load(&writes_done), 2 * WRITER_ROUNDS);
	CHECK(atomic_load(&overlaps) > 0);
	mmu_lock_read_stats(&lock, &st);
	CHECK_EQ(st.reads, atomic_load(&reads_done));
	CHECK_EQ(st.writes, atomic_load(&writes_done));
	mmu_lock_destroy(&lock);
}

/* Writers that never pause: a reader must still get in, again and again. */
static atomic_bool writers_stop;
static atomic_long stream_writes;

static void *writer_stream(void *arg)
{
	(void)arg;
	while (!atomic_load(&writers_stop)) {
		mmu_lock_write(&lock);
		atomic_fetch_add(&stream_writes, 1);
		for (int i = 0; i < 200; i++)
			cpu_relax();
		mmu_lock_write_unlock(&lock);
	}
	return NULL;
}

/* Whether one of our read acquisitions had to wait for writers. */
static bool a_read_waited(void)
{
	struct tdpmmu_lock_stats st;

	mmu_lock_read_stats(&lock, &st);
	return st.read_wait_writers_max >= 1;
}

static void test_writers_do_not_starve_readers(void)
{
	const int rounds = 200;
	uint64_t deadline = tdp_now_ns() + DEADLINE_NS;
	struct tdpmmu_lock_stats st;
	long writes_before, during = 0;
	pthread_t w[3];
	int got = 0;

	REQUIRE(mmu_lock_init(&lock, false) == 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, writer_stream, NULL);
	while (atomic_load(&stream_writes) < 100)
		sched_yield();
	writes_before = atomic_load(&stream_writes);
	/*
	 * At least `rounds` reads, and on until one of them found a writer in
	 * (the writers may all be off the CPUs for a while on a loaded machine).
	 */
	for (; (got < rounds || !a_read_waited()) && tdp_now_ns() < deadline; got++) {
		long w0 = atomic_load(&stream_writes);

		mmu_lock_read(&lock);
		mmu_lock_read_unlock(&lock);
		/* The writers really were running between two of our reads. */
		while (atomic_load(&stream_writes) == w0 && tdp_now_ns() < deadline)
			sched_yield();
		during++;
	}
	atomic_store(&writers_stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	mmu_lock_read_stats(&lock, &st);
	printf("lock: %d reads got in among %ld back-to-back writes; at most %llu writes "
	       "went first while a read waited\n",
	       got, atomic_load(&stream_writes) - writes_before,
	       (unsigned long long)st.read_wait_writers_max);
	CHECK(got >= rounds);
	CHECK_EQ(during, got);
	/*
	 * Turns: a waiting reader lets at most the writer holding the lock and
	 * one that raised its flag before the reader queued go first.
	 */
	CHECK(st.read_wait_writers_max >= 1); /* readers did have to wait */
	CHECK(st.read_wait_writers_max <= 2);
	mmu_lock_destroy(&lock);
}

static atomic_int phase;

static void *waiting_writer(void *arg)
{
	(void)arg;
	mmu_lock_write(&lock);
	atomic_store(&phase, 2);
	/* Hold until a reader queues behind us, then the query must say so. */
	while (!mmu_lock_needbreak(&lock, TDP_EXCLUSIVE))
		sched_yield();
	mmu_lock_write_unlock(&lock);
	return NULL;
}

static void test_needbreak(void)
{
	pthread_t t;

	REQUIRE(mmu_lock_init(&lock, false) == 0);
	mmu_lock_read(&lock);
	CHECK(mmu_lock_held_read(&lock));
	CHECK(!mmu_lock_needbreak(&lock, TDP_SHARED));
	pthread_create(&t, NULL, waiting_writer, NULL);
	/* The writer announces itself and waits for us: we are asked to yield. */
	while (!mmu_lock_needbreak(&lock, TDP_SHARED))
		sched_yield();
	CHECK_EQ(atomic_load(&phase), 0); /* it cannot have got in */
	mmu_lock_read_unlock(&lock);
	while (atomic_load(&phase) != 2)
		sched_yield();
	mmu_lock_read(&lock); /* waits behind the writer, which sees readers_waiting */
	CHECK(mmu_lock_held_read(&lock));
	mmu_lock_read_unlock(&lock);
	pthread_join(t, NULL);
	CHECK(!mmu_lock_held_read(&lock) && !mmu_lock_held_write(&lock));
	mmu_lock_destroy(&lock);
}

/* In debug builds a function entered in the wrong lock mode aborts. */
static void test_mode_assertion(void)
{
#ifdef TDP_DEBUG
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		REQUIRE(mmu_lock_init(&lock, false) == 0);
		mmu_lock_read(&lock);
		mmu_lock_assert_held(&lock, TDP_EXCLUSIVE); /* must abort */
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}

int main(void)
{
	test_exclusion_and_fairness();
	test_writers_do_not_starve_readers();
	test_needbreak();
	test_mode_assertion();
	return check_report("test_lock");
}
