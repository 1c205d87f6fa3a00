/*
 * cli.h - declarations shared by the files of the tdpmmu program: exit
 * codes, error reporting, argument parsing helpers, the machine header
 * and JSON output helpers.
 */
#ifndef TDPMMU_CLI_H
#define TDPMMU_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tdpmmu/tdpmmu.h" /* TDPMMU_VERSION, for --version and the reports */

#define EXIT_USAGE 2 /* bad command line: nothing was done */

/* Print "tdpmmu: <msg>" and the --help hint to stderr, exit EXIT_USAGE. */
__attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...);
/* Print "tdpmmu: <msg>" to stderr, exit 1 (something failed while running). */
__attribute__((noreturn, format(printf, 1, 2))) void fatal(const char *fmt, ...);

/*
 * main.c: TDPMMU_PARSE_ONLY=1 in the environment: bench, run and torture
 * check the whole command line and every up-front check, then exit 0
 * without measuring anything (what tests/cli/cli.d/examples.sh runs).
 */
bool cli_parse_only(void);

/* help.c: the program's --help and `tdpmmu bench --help` (from scenario.c's table). */
void print_usage(FILE *f);
void print_bench_help(FILE *f);

/* parse.c: 0, -EINVAL (not a number / bad suffix) or -ERANGE (overflow). */
int parse_u64(const char *s, uint64_t *out);
/* A byte count with an optional K, M, G or T suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *out);
/* "1G", "512M", "12K", or plain bytes when no suffix fits exactly. */
void format_size(uint64_t bytes, char *buf, size_t len);
/* "1.5 GiB": one decimal, for messages. */
void format_size_approx(uint64_t bytes, char *buf, size_t len);

/* options.c: a tiny option parser for subcommands. */
struct cli_option {
	char short_name;       /* 0: long form only */
	const char *long_name; /* without the leading "--" */
	bool has_arg;
	/* Store @arg (NULL without has_arg) in @ctx; calls usage_error() when bad. */
	void (*set)(void *ctx, const char *opt, const char *arg);
};

/*
 * Accepts "-x VAL", "-xVAL", "--name VAL", "--name=VAL" and bare flags.
 * Anything else (unknown option, positional argument) is a usage error
 * naming @what (e.g. "bench populate").
 */
void parse_options(const struct cli_option *opts, int argc, char **argv, void *ctx,
		   const char *what);

/* sysinfo.c: the machine every report starts with. */
struct machine_info {
	char cpu[128];
	long online_cores;
	long usable_cores; /* in this process's affinity mask */
	uint64_t mem_bytes;
	char kernel[256];
	bool membarrier; /* liburcu memb's sys_membarrier fast path is active */
};

void machine_info_read(struct machine_info *m);
void machine_info_print(const struct machine_info *m, unsigned levels, FILE *f);
void machine_info_json(const struct machine_info *m, unsigned levels, FILE *f);
/* "release", "debug (TDP_DEBUG)", ... depending on how this program was built. */
const char *build_variant(void);

/* progress.c: one self-erasing status line, only when stdout is a terminal. */
void progress_init(void);
__attribute__((format(printf, 1, 2))) void progress_show(const char *fmt, ...);
void progress_clear(void);

/* json.c */
void json_string(FILE *f, const char *s);
/* A finite double, or null. */
void json_number(FILE *f, double v, int decimals);

/* run.c: `tdpmmu run`. */
int run_main(int argc, char **argv);

#endif /* TDPMMU_CLI_H */
