/*
 * main.c - the tdpmmu program: command dispatch, --help, --version and
 * the two ways of failing (usage errors exit 2, run-time errors exit 1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void print_usage(FILE *f)
{
	fputs("usage: tdpmmu <command> [flags]\n"
	      "\n"
	      "A user-space model of KVM's x86 TDP MMU with parallel page faults.\n"
	      "\n"
	      "commands:\n"
	      "  run                     the main job (make run): the populate benchmark\n"
	      "                          with 32G per thread, default flags otherwise\n"
	      "  bench populate [flags]  each thread faults in its own slice of guest\n"
	      "                          memory, 4K gfn by 4K gfn, as KVM's\n"
	      "                          dirty_log_perf_test populate phase does\n"
	      "  help, --help, -h        this text\n"
	      "  --version               print the version\n"
	      "\n"
	      "bench populate flags:\n"
	      "  -v LIST           thread counts, comma separated (default 1,2; 1..1000 each)\n"
	      "  -b SIZE           guest memory per thread, a multiple of 4K; K, M, G and T\n"
	      "                    suffixes are powers of 1024 (default 1G)\n"
	      "  --repeat N        rounds; each runs every thread count once, interleaved.\n"
	      "                    The best run per count is reported, the median beside it\n"
	      "                    (default 5)\n"
	      "  --levels 4|5      page-table levels (default 4)\n"
	      "  -s BACKING        anon, thp, hugetlb-2m or hugetlb-1g (default anon)\n"
	      "  --max-level N     cap on the mapping level given to each fault: 1 = 4K,\n"
	      "                    2 = 2M, 3 = 1G, 0 = no cap (default 1)\n"
	      "  --json FILE       also write the results as JSON to FILE\n"
	      "\n"
	      "The report gives, per thread count, the faults, the time from the start\n"
	      "barrier to the last thread finishing, ns per fault per thread and the\n"
	      "aggregate rate; then the floor (a bare root-to-leaf walk plus one CAS per\n"
	      "gfn over the same memory, no lock and no RCU), fault cost over the floor,\n"
	      "throughput scaling, and the MMU lock statistics and counters of the\n"
	      "largest thread count.  Every mapping is verified after each run.\n"
	      "The \"machine ref\" column and lines give, in the same rounds, how a private\n"
	      "loop (atomic load + CAS, no sharing) scales here: the best this machine allows.\n"
	      "\n"
	      "exit status: 0 ok, 1 a run or check failed, 2 bad command line\n",
	      f);
}

static void verror(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("tdpmmu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	fputs("try 'tdpmmu --help'\n", stderr);
	exit(EXIT_USAGE);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

static int bench_main(int argc, char **argv)
{
	if (argc < 2)
		usage_error("'bench' needs a scenario (known: populate)");
	if (!strcmp(argv[1], "populate"))
		return bench_populate_main(argc - 1, argv + 1);
	usage_error("unknown benchmark scenario '%s' (known: populate)", argv[1]);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("tdpmmu %s\n", TDPMMU_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return run_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return bench_main(argc - 1, argv + 1);
	usage_error("unknown command '%s'", cmd);
}
