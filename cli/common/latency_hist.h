/*
 * latency_hist.h - a log-bucketed latency histogram for the program's own
 * timed faults (huge-over-table, stalled-reader), with the resolution of
 * the library's (struct tdpmmu_latency): 8 buckets per power of two of
 * nanoseconds, so a percentile is within 1/8 of its true value.  Pure
 * functions over a caller's array; each thread keeps its own.
 */
#ifndef TDPMMU_CLI_LATENCY_HIST_H
#define TDPMMU_CLI_LATENCY_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 3
#define HIST_BUCKETS 512 /* enough for any uint64_t of nanoseconds */

/* Values below 8 ns have a bucket each; above, (octave, top 3 bits below the msb). */
static inline unsigned hist_bucket(uint64_t ns)
{
	unsigned msb;

	if (ns < (1u << HIST_SUB_BITS))
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	return ((msb - HIST_SUB_BITS + 1) << HIST_SUB_BITS) |
	       (unsigned)((ns >> (msb - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

/* The largest value bucket @b holds. */
static inline uint64_t hist_bucket_top(unsigned b)
{
	unsigned octave = b >> HIST_SUB_BITS, sub = b & ((1u << HIST_SUB_BITS) - 1);

	if (!octave)
		return sub;
	return (((uint64_t)(sub | (1u << HIST_SUB_BITS)) + 1) << (octave - 1)) - 1;
}

/*
 * The value at or below which @per_mille of the @count samples of @hist
 * fall: the top of the first bucket reaching that rank, capped at @max_ns
 * (the largest sample).  0 without samples.
 */
static inline uint64_t hist_percentile(const uint64_t *hist, uint64_t count, unsigned per_mille,
				       uint64_t max_ns)
{
	uint64_t rank = (count * per_mille + 999) / 1000, seen = 0;

	for (unsigned b = 0; b < HIST_BUCKETS && count; b++) {
		seen += hist[b];
		if (seen >= rank)
			return hist_bucket_top(b) < max_ns ? hist_bucket_top(b) : max_ns;
	}
	return 0;
}

#endif /* TDPMMU_CLI_LATENCY_HIST_H */
