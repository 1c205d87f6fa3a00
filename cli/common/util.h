/*
 * util.h - the program's own small helpers, so that cli/ needs nothing but
 * the public headers (include/tdpmmu): the clocks (monotonic nanoseconds,
 * a cheap tick, deadlines), the cache line, and cli_bug() for a state the
 * program itself can never reach when it is correct (it prints where and
 * what, and aborts; bad input is a usage error instead).
 *
 * Everything here is stateless and may be called from any thread.
 */
#ifndef TDPMMU_CLI_UTIL_H
#define TDPMMU_CLI_UTIL_H

#include <stdint.h>
#include <time.h>

#define CACHELINE 64
/* Keeps per-thread records that threads write often off each other's lines. */
#define cacheline_aligned __attribute__((aligned(CACHELINE)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The stack of every thread the program starts per vCPU (vCPUs, the
 * machine reference's and the floors' workers, userfaultfd handlers), so
 * that 4096 of them fit: glibc's default is 8 MiB of address space each.
 * Measured (the Rss of each stack mapping in /proc/PID/smaps, sampled
 * through every scenario with vCPU threads, strategies all): at most
 * 8 KiB touched in the release build and 16 KiB under ASan+UBSan, the
 * thread's descriptor and TLS page included.  128 KiB leaves room for
 * fatal()'s formatting; sanitizer builds get 512 KiB, since a report
 * runs on the faulting thread's stack.
 */
#ifndef CLI_VCPU_STACK_BYTES
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CLI_VCPU_STACK_BYTES (512u << 10)
#else
#define CLI_VCPU_STACK_BYTES (128u << 10)
#endif
#endif

/* Monotonic nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* @clock's time @ns from now: a deadline for clock_nanosleep or a timed wait. */
static inline struct timespec clock_after_ns(clockid_t clock, uint64_t ns)
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

/*
 * A cheap tick: the TSC on x86 (for cycles per nanosecond in reports),
 * elsewhere the monotonic clock in nanoseconds.
 */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#else
	return now_ns();
#endif
}

__attribute__((noreturn, format(printf, 3, 4))) void cli_bug_at(const char *file, int line,
								const char *fmt, ...);
#define cli_bug(...) cli_bug_at(__FILE__, __LINE__, __VA_ARGS__)

#endif /* TDPMMU_CLI_UTIL_H */
