/* test_latency.c - the log-bucketed latency histogram and its percentiles. */
#include "lib/check.h"
#include "base/latency.h"

#define NB 512

static void test_buckets(void)
{
	unsigned prev = 0;

	for (uint64_t ns = 0; ns < (1ull << 40); ns = ns < 64 ? ns + 1 : ns + ns / 7 + 1) {
		unsigned b = latency_bucket(ns);
		uint64_t top = latency_bucket_top(b);

		CHECK(b < NB);
		CHECK(b >= prev); /* monotonic */
		CHECK(top >= ns);
		/* Within an eighth of the value (exact below 16 ns). */
		CHECK(top - ns <= ns / 8 + (ns < 16 ? 0 : 1));
		if (b)
			CHECK(latency_bucket_top(b - 1) < ns);
		prev = b;
	}
	CHECK(latency_bucket(UINT64_MAX) < NB);
}

static void test_percentiles(void)
{
	uint64_t hist[NB] = { 0 };

	/* 1000 samples: 990 at 100 ns, 9 at 10 us, one at 1 ms. */
	hist[latency_bucket(100)] = 990;
	hist[latency_bucket(10000)] = 9;
	hist[latency_bucket(1000000)] = 1;
	CHECK_EQ(latency_percentile(hist, NB, 1000, 500, 1000000),
		 latency_bucket_top(latency_bucket(100)));
	CHECK_EQ(latency_percentile(hist, NB, 1000, 990, 1000000),
		 latency_bucket_top(latency_bucket(100)));
	CHECK_EQ(latency_percentile(hist, NB, 1000, 999, 1000000),
		 latency_bucket_top(latency_bucket(10000)));
	/* The top of the last bucket is capped at the largest sample. */
	CHECK_EQ(latency_percentile(hist, NB, 1000, 1000, 1000000), 1000000);
	CHECK_EQ(latency_percentile(hist, NB, 0, 500, 0), 0);
}

int main(void)
{
	test_buckets();
	test_percentiles();
	return check_report("test_latency");
}
