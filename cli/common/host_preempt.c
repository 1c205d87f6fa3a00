/*
 * host_preempt.c - this host kernel's preemption model (host_preempt.h).
 *
 * Where to read it, best first: /sys/kernel/debug/sched/preempt, which a
 * PREEMPT_DYNAMIC kernel gives as the models with the live one in
 * parentheses ("none (voluntary) full lazy"), readable by root with
 * debugfs mounted; else preempt= on the kernel command line of a
 * PREEMPT_DYNAMIC kernel; else the build's own word in uname -v
 * (PREEMPT_RT, PREEMPT_DYNAMIC, PREEMPT; none of them: none or
 * voluntary, which uname -v does not tell apart).  Not concurrency-relevant.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/host_preempt.h"

/* The first line of @path into @buf, without the newline; false if unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* The live model in debugfs's list: the word in parentheses. */
static bool from_debugfs(char *buf, size_t len)
{
	char line[128], *open, *close;

	if (!read_line("/sys/kernel/debug/sched/preempt", line, sizeof(line)))
		return false;
	open = strchr(line, '(');
	close = open ? strchr(open, ')') : NULL;
	if (!close)
		return false;
	snprintf(buf, len, "%.*s (debugfs)", (int)(close - open - 1), open + 1);
	return true;
}

/* preempt=MODEL on the command line (PREEMPT_DYNAMIC kernels only). */
static bool from_cmdline(char *buf, size_t len)
{
	char line[4096], *p;

	if (!read_line("/proc/cmdline", line, sizeof(line)))
		return false;
	for (p = line; (p = strstr(p, "preempt=")); p++) {
		if (p == line || p[-1] == ' ') {
			p += strlen("preempt=");
			snprintf(buf, len, "%.*s (kernel command line)", (int)strcspn(p, " "), p);
			return true;
		}
	}
	return false;
}

void host_preempt_model(char *buf, size_t len)
{
	struct utsname u;
	const char *v;

	if (from_debugfs(buf, len))
		return;
	if (uname(&u)) {
		snprintf(buf, len, "unknown");
		return;
	}
	v = u.version;
	if (strstr(v, "PREEMPT_RT"))
		snprintf(buf, len, "rt (uname -v)");
	else if (strstr(v, "PREEMPT_DYNAMIC")) {
		if (!from_cmdline(buf, len))
			snprintf(buf, len,
				 "dynamic, live model not readable (uname -v: PREEMPT_DYNAMIC; "
				 "/sys/kernel/debug/sched/preempt unreadable)");
	} else if (strstr(v, "PREEMPT_LAZY"))
		snprintf(buf, len, "lazy (uname -v: PREEMPT_LAZY)");
	else if (strstr(v, "PREEMPT "))
		snprintf(buf, len, "full (uname -v: PREEMPT)");
	else if (v[0] == '#')
		snprintf(buf, len, "none or voluntary (uname -v: no PREEMPT)");
	else
		snprintf(buf, len, "unknown");
}
