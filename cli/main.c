/*
 * main.c - the tdpmmu program: command dispatch, --help, --version and
 * the ways of failing: usage errors exit 2 and name the command's own
 * --help; run-time errors exit 1 (after the hook that keeps the results
 * measured so far); standard output that cannot be written (a full disk,
 * /dev/full) is an error at exit, with the reason.
 * `tdpmmu bench NAME` finds its scenario in the one table (scenario.c);
 * the help texts are in help.c, run.c and each command's folder.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/errors.h"
#include "scenario.h"
#include "torture/torture.h"

static const char *usage_hint;
static void (*fatal_hook)(const char *msg);
static pthread_t main_thread;

void usage_hint_set(const char *cmd)
{
	usage_hint = cmd;
}

void fatal_hook_set(void (*fn)(const char *msg))
{
	fatal_hook = fn;
}

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
	fprintf(stderr, "try '%s --help'\n", usage_hint ? usage_hint : "tdpmmu");
	exit(EXIT_USAGE);
}

void fatal(const char *fmt, ...)
{
	void (*hook)(const char *msg) = fatal_hook;
	va_list ap;

	if (hook && pthread_equal(pthread_self(), main_thread)) {
		char msg[512];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fatal_hook = NULL;
		hook(msg);
	}
	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

/*
 * At exit: everything written to standard output must have arrived
 * (`tdpmmu --help >/dev/full` fails, with the reason).
 */
static void check_stdout(void)
{
	int err = 0;

	errno = 0;
	if (fflush(stdout) || ferror(stdout))
		err = errno ? errno : EIO;
	if (fclose(stdout) && !err && errno != EBADF)
		err = errno ? errno : EIO;
	if (err) {
		fprintf(stderr, "tdpmmu: writing standard output: %s\n", strerror(err));
		_exit(EXIT_FAILURE);
	}
}

/*
 * Parse only: TDPMMU_PARSE_ONLY set to anything but "" or "0".  The
 * commands stop at the one point each passes before its first measurement
 * (sweep_main, torture_main, run_main), after every check of the command
 * line, the output paths and the kvm limits.
 */
bool cli_parse_only(void)
{
	const char *v = getenv("TDPMMU_PARSE_ONLY");

	return v && v[0] && strcmp(v, "0");
}

static int bench_main(int argc, char **argv)
{
	static char hint[96];
	const struct scenario *sc;
	char known[256];

	scenario_names(known, sizeof(known));
	usage_hint_set("tdpmmu bench");
	if (argc < 2)
		usage_error("'bench' needs a scenario (known: %s)", known);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_bench_help(stdout);
		return 0;
	}
	sc = scenario_find(argv[1]);
	if (!sc)
		usage_error("unknown benchmark scenario '%s' (known: %s)", argv[1], known);
	snprintf(hint, sizeof(hint), "tdpmmu bench %s", sc->name);
	usage_hint_set(hint);
	return sc->main(sc, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	main_thread = pthread_self();
	atexit(check_stdout);
	if (!cmd) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("tdpmmu %s\n", TDPMMU_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run")) {
		usage_hint_set("tdpmmu run");
		return run_main(argc - 1, argv + 1);
	}
	if (!strcmp(cmd, "bench"))
		return bench_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "torture")) {
		usage_hint_set("tdpmmu torture");
		return torture_main(argc - 1, argv + 1);
	}
	usage_error("unknown command '%s'", cmd);
}
