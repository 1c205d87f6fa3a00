/*
 * errors.h - more of the program's ways of failing (cli.h has usage_error
 * and fatal, main.c implements both): the help a usage error points at,
 * a hook that runs before fatal() exits, and the strict decimal syntax of
 * durations (cli/common/parse.c).  Main thread only.
 */
#ifndef TDPMMU_CLI_ERRORS_H
#define TDPMMU_CLI_ERRORS_H

/*
 * The command whose --help a usage error names ("tdpmmu bench dirty-log"):
 * "try 'tdpmmu bench dirty-log --help'".  NULL: "try 'tdpmmu --help'".
 * @cmd must outlive the run.
 */
void usage_hint_set(const char *cmd);

/*
 * @fn runs once, on the main thread, when fatal() is called there, with
 * the message (no "tdpmmu: " and no newline) before it is printed: the
 * sweep prints the results measured so far, or skips its kvm rows (it
 * may longjmp out instead of returning).  NULL removes it.
 */
void fatal_hook_set(void (*fn)(const char *msg));

/*
 * Decimal digits with an optional fraction ("0.5", "2", ".25"): no sign,
 * space, exponent or hex.  0 or -EINVAL.
 */
int parse_decimal(const char *s, double *out);

#endif /* TDPMMU_CLI_ERRORS_H */
