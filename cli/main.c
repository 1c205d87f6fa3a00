/*
 * main.c - the tdpmmu program: command dispatch, --help, --version and
 * the two ways of failing (usage errors exit 2, run-time errors exit 1).
 * The help texts are in help.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void verror(const char *fmt, va_list ap)
{
	progress_clear();
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

#define BENCH_SCENARIOS                                                                            \
	"populate, demand-paging, dirty-log, access-tracking, nx-recovery, huge-over-table, "      \
	"stalled-reader, notifier, mixed"

static int bench_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*main)(int argc, char **argv);
	} scenarios[] = {
		{ "populate", bench_populate_main },
		{ "dirty-log", bench_dirty_log_main },
		{ "access-tracking", bench_access_main },
		{ "nx-recovery", bench_nx_main },
		{ "demand-paging", bench_demand_main },
		{ "huge-over-table", bench_huge_over_table_main },
		{ "stalled-reader", bench_stalled_reader_main },
		{ "notifier", bench_notifier_main },
		{ "mixed", bench_mixed_main },
	};

	if (argc < 2)
		usage_error("'bench' needs a scenario (known: " BENCH_SCENARIOS ")");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_bench_help(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			return scenarios[i].main(argc - 1, argv + 1);
	usage_error("unknown benchmark scenario '%s' (known: " BENCH_SCENARIOS ")", argv[1]);
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
	if (!strcmp(cmd, "torture"))
		return torture_main(argc - 1, argv + 1);
	usage_error("unknown command '%s'", cmd);
}
