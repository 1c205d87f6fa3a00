/*
 * latency.h - log-bucketed latency histogram: 8 buckets per power of two
 * of nanoseconds (so a percentile is within 1/8 of its true value), up to
 * 2^63 ns.  Pure functions over a caller's array.
 */
#ifndef TDP_LATENCY_H
#define TDP_LATENCY_H

#include <stdint.h>

#define LAT_SUB_BITS 3

static inline unsigned latency_bucket(uint64_t ns)
{
	unsigned msb;

	if (ns < (1u << LAT_SUB_BITS))
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	return ((msb - LAT_SUB_BITS + 1) << LAT_SUB_BITS) |
	       (unsigned)((ns >> (msb - LAT_SUB_BITS)) & ((1u << LAT_SUB_BITS) - 1));
}

/* The largest value that falls in bucket @b (a percentile's upper bound). */
static inline uint64_t latency_bucket_top(unsigned b)
{
	unsigned shift = b >> LAT_SUB_BITS, sub = b & ((1u << LAT_SUB_BITS) - 1);

	if (shift == 0)
		return sub;
	return (((uint64_t)(sub | (1u << LAT_SUB_BITS)) + 1) << (shift - 1)) - 1;
}

/*
 * The value at or below which @per_mille of the @count samples in @hist
 * (@nbuckets buckets) fall: the top of the first bucket that reaches that
 * rank, but never more than @max_ns, the largest sample seen.
 */
static inline uint64_t latency_percentile(const uint64_t *hist, unsigned nbuckets, uint64_t count,
					  unsigned per_mille, uint64_t max_ns)
{
	uint64_t rank = (count * per_mille + 999) / 1000, seen = 0;

	for (unsigned b = 0; b < nbuckets && count; b++) {
		seen += hist[b];
		if (seen >= rank)
			return latency_bucket_top(b) < max_ns ? latency_bucket_top(b) : max_ns;
	}
	return 0;
}

#endif
