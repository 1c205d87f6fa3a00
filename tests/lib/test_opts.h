/*
 * test_opts.h - what the vCPU concurrency tests share: the command line
 * (--seconds S nominal run length, --vcpus N, --seed S, --inject N to delay
 * at 1 in N race windows (tdpmmu_inject), and --words N for tests that set
 * a words default; bad input prints the usage and exits 2),
 * and the loop of a vCPU thread.
 */
#ifndef TDP_TEST_OPTS_H
#define TDP_TEST_OPTS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdpmmu/tdpmmu.h"
#include "tdpmmu/testing.h"

struct test_opts {
	double seconds;
	int vcpus;
	uint64_t seed;
	int words; /* 0: the test has no --words */
};

static inline void test_opts_parse(int argc, char **argv, struct test_opts *o, int max_vcpus)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			o->seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			o->vcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			o->seed = strtoull(argv[++i], NULL, 0);
		else if (o->words && !strcmp(argv[i], "--words") && i + 1 < argc)
			o->words = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--inject") && i + 1 < argc)
			tdpmmu_inject((unsigned)strtoul(argv[++i], NULL, 0), 0);
		else
			goto usage;
	}
	if (o->vcpus >= 1 && o->vcpus <= max_vcpus && o->seconds > 0 && (!o->words || o->words > 0))
		return;
usage:
	fprintf(stderr, "usage: %s [--seconds S>0] [--vcpus 1..%d] [--seed S] [--inject N]%s\n",
		argv[0], max_vcpus, o->words ? " [--words N>0]" : "");
	exit(2);
}

/* Run the vCPU until *stop; a failed run is printed and counted in *errors. */
static inline void vcpu_run_until(struct tdpmmu_vcpu *v, int id, tdpmmu_guest_fn next, void *ctx,
				  atomic_bool *stop, atomic_long *errors)
{
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		int r = tdpmmu_vcpu_run(v, next, ctx, 0);

		if (r) {
			fprintf(stderr, "vCPU %d: tdpmmu_vcpu_run failed: %d\n", id, r);
			atomic_fetch_add(errors, 1);
			return;
		}
	}
}

#endif
