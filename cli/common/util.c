/*
 * util.c - cli_bug(): the program met a state it can never reach when it
 * is correct.  Any thread; it aborts the whole process.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

void cli_bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "tdpmmu BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
