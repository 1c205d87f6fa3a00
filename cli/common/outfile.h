/*
 * outfile.h - result files (--json, --plot) that are never half-written.
 *
 * A regular file is written to a temporary file beside it (".NAME.XXXXXX"
 * in the same directory) and renamed into place only once every write,
 * the flush and the close succeeded; until then an earlier file of that
 * name stays as it was.  A run killed by SIGINT, SIGTERM, SIGHUP or
 * SIGPIPE (`| head -1`), or ended by fatal(), removes its temporaries.
 * "-" is standard output (the text report then goes to standard error);
 * a path that exists and is not a regular file (/dev/stdout, a FIFO) is
 * written in place.  Every failure names the file and the reason.
 *
 * Main thread only (the signal handler only unlinks names it was given
 * before the signal could arrive).
 */
#ifndef TDPMMU_CLI_OUTFILE_H
#define TDPMMU_CLI_OUTFILE_H

#include <stdio.h>

/*
 * Before anything runs: @path can be written (its directory exists and is
 * writable, it is not a directory); otherwise a usage error naming @flag.
 */
void outfile_check(const char *flag, const char *path);
/*
 * Usage error when @path_a and @path_b (either NULL) name the same file,
 * e.g. `--json x.svg --plot x.svg`.
 */
void outfile_check_distinct(const char *flag_a, const char *path_a, const char *flag_b,
			    const char *path_b);
/* Opens @path for writing as above; fatal when it cannot. */
FILE *outfile_open(const char *path);
/* Flushes, checks and closes @f, then renames it into place; fatal with the reason. */
void outfile_close(FILE *f, const char *path);
/* Whether @path is "-" (standard output). */
int outfile_is_stdout(const char *path);

#endif /* TDPMMU_CLI_OUTFILE_H */
