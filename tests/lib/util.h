/*
 * util.h - small helpers the black-box tests need and the public API does
 * not give: a monotonic clock and cache-line alignment.  The tests build
 * with -Iinclude -Itests only (no library internals); this file keeps them
 * free of src/base/compiler.h.
 */
#ifndef TDP_TEST_UTIL_H
#define TDP_TEST_UTIL_H

#include <stdint.h>
#include <time.h>

/* Bytes per cache line: per-thread data is padded to it. */
#define TEST_CACHELINE 64
#define test_cacheline_aligned __attribute__((aligned(TEST_CACHELINE)))

/* Monotonic nanoseconds. */
static inline uint64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
