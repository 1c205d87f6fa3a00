/*
 * compiler.h - small helpers shared by every file: branch hints, cpu_relax,
 * a cheap cycle clock, and tdp_bug() for invariant violations.
 *
 * tdp_bug() is for states the MMU can never reach when it is correct; it
 * prints what was found and aborts.  User input errors never get here: they
 * are returned as negative errno values.
 */
#ifndef TDP_COMPILER_H
#define TDP_COMPILER_H

#include <stdint.h>
#include <time.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define TDP_CACHELINE 64
#define __cacheline_aligned __attribute__((aligned(TDP_CACHELINE)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Monotonic nanoseconds. */
static inline uint64_t tdp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* @clock's time @ns from now: a deadline for clock_nanosleep or a timed wait. */
static inline struct timespec tdp_clock_after_ns(clockid_t clock, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000ull);
	ts.tv_nsec += (long)(ns % 1000000000ull);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* CLOCK_REALTIME @ms from now: a deadline for pthread_cond_timedwait. */
static inline struct timespec tdp_deadline_after_ms(unsigned ms)
{
	return tdp_clock_after_ns(CLOCK_REALTIME, (uint64_t)ms * 1000000ull);
}

/*
 * A cheap, monotonic-enough tick for hold and wait times on hot paths.  On
 * x86 it is the TSC (converted to ns when statistics are read, see
 * mmu_lock.c); elsewhere it is the monotonic clock in ns.
 */
static inline uint64_t tdp_ticks(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#else
	return tdp_now_ns();
#endif
}

/*
 * Add to a statistic that only its owner thread writes and that others may
 * read at any time: relaxed atomic load + store, no read-modify-write.
 */
static inline void tdp_stat_add(uint64_t *p, uint64_t d)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

__attribute__((noreturn, format(printf, 3, 4))) void tdp_bug_at(const char *file, int line,
								const char *fmt, ...);
#define tdp_bug(...) tdp_bug_at(__FILE__, __LINE__, __VA_ARGS__)

/* Debug and test builds check lock modes and internal assertions. */
#ifdef TDP_DEBUG
#define TDP_ASSERT(cond)                                                                           \
	do {                                                                                       \
		if (unlikely(!(cond)))                                                             \
			tdp_bug("assertion failed: %s", #cond);                                    \
	} while (0)
#else
#define TDP_ASSERT(cond) ((void)0)
#endif

#endif
