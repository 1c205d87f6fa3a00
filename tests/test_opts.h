/*
 * test_opts.h - the command line every concurrency test shares:
 * --seconds S (nominal run length), --vcpus N, --seed S, and --words N for
 * tests that set a words default.  Bad input prints the usage and exits 2.
 */
#ifndef TDP_TEST_OPTS_H
#define TDP_TEST_OPTS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		else
			goto usage;
	}
	if (o->vcpus >= 1 && o->vcpus <= max_vcpus && o->seconds > 0 &&
	    (!o->words || o->words > 0))
		return;
usage:
	fprintf(stderr, "usage: %s [--seconds S>0] [--vcpus 1..%d] [--seed S]%s\n", argv[0],
		max_vcpus, o->words ? " [--words N>0]" : "");
	exit(2);
}

#endif
