/*
 * main.c - the tdpmmu program: command dispatch, --help, --version and
 * the two ways of failing (usage errors exit 2, run-time errors exit 1).
 * `tdpmmu bench NAME` finds its scenario in the one table (scenario.c);
 * the help texts are in help.c, run.c and each command's folder.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scenario.h"
#include "torture/torture.h"

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

static int bench_main(int argc, char **argv)
{
	const struct scenario *sc;
	char known[256];

	scenario_names(known, sizeof(known));
	if (argc < 2)
		usage_error("'bench' needs a scenario (known: %s)", known);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_bench_help(stdout);
		return 0;
	}
	sc = scenario_find(argv[1]);
	if (!sc)
		usage_error("unknown benchmark scenario '%s' (known: %s)", argv[1], known);
	return sc->main(sc, argc - 1, argv + 1);
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
