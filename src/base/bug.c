/* bug.c - loud failure for invariant violations inside the MMU. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/compiler.h"

void tdp_bug_at(const char *file, int line, const char *fmt, ...)
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
