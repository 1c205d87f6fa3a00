/*
 * progress.c - a one-line status ("[round 2/3] 64 vCPUs: populate") that
 * rewrites itself in place with a carriage return and is erased before
 * the report goes on.  Only when stdout is a terminal: a report piped to a
 * file or another program never contains it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

static bool progress_on;
static bool progress_shown;

void progress_init(void)
{
	progress_on = isatty(STDOUT_FILENO) == 1;
}

void progress_show(const char *fmt, ...)
{
	va_list ap;

	if (!progress_on)
		return;
	fputs("\r\033[K", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
	progress_shown = true;
}

void progress_clear(void)
{
	if (!progress_shown)
		return;
	fputs("\r\033[K", stdout);
	fflush(stdout);
	progress_shown = false;
}
