/*
 * outfile.c - result files written whole or not at all (outfile.h): a
 * temporary beside the target, renamed into place once complete, and
 * removed by the signals that end a run and by exit() before the rename.
 * Main thread only; the signal handler reads the table of temporaries,
 * which is filled before the file is written and emptied only after the
 * rename (an unlink of a name already renamed away fails harmlessly).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/outfile.h"

#define MAX_OPEN 4 /* --json, --plot and a scenario's second picture */

struct pending {
	FILE *f;
	bool in_place;           /* stdout, a device or a FIFO: no temporary */
	char tmp[PATH_MAX + 16]; /* the temporary, "" when none */
};

static struct pending pending[MAX_OPEN];
static volatile sig_atomic_t handlers_on;

static void unlink_temporaries(void)
{
	for (int i = 0; i < MAX_OPEN; i++)
		if (pending[i].tmp[0])
			unlink(pending[i].tmp);
}

/* SIGINT, SIGTERM, SIGHUP, SIGPIPE: remove the temporaries, then die of @sig. */
static void on_signal(int sig)
{
	unlink_temporaries();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_exit_cleanup(void)
{
	unlink_temporaries();
}

static void install_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa = { .sa_handler = on_signal };

	if (handlers_on)
		return;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* A signal ignored by whoever started us stays ignored. */
		if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
	atexit(on_exit_cleanup);
	handlers_on = 1;
}

int outfile_is_stdout(const char *path)
{
	return !strcmp(path, "-");
}

/* @path's directory ("." for a bare name) into @dir. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void outfile_check(const char *flag, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	if (!path || outfile_is_stdout(path))
		return;
	if (!*base_of(path))
		usage_error("%s %s: names a directory, not a file", flag, path);
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			usage_error("%s %s: is a directory", flag, path);
		if (!S_ISREG(st.st_mode)) {
			if (access(path, W_OK))
				usage_error("%s %s: %s", flag, path, strerror(errno));
			return;
		}
	}
	dir_of(path, dir, sizeof(dir));
	if (stat(dir, &st))
		usage_error("%s %s: directory '%s': %s", flag, path, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		usage_error("%s %s: '%s' is not a directory", flag, path, dir);
	if (access(dir, W_OK | X_OK))
		usage_error("%s %s: directory '%s': %s", flag, path, dir, strerror(errno));
}

/* The file @path will be: its directory resolved, then its name. */
static void canonical(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];

	dir_of(path, dir, sizeof(dir));
	if (!realpath(dir, real))
		snprintf(real, sizeof(real), "%s", dir);
	snprintf(out, len, "%s/%s", real, base_of(path));
}

void outfile_check_distinct(const char *flag_a, const char *path_a, const char *flag_b,
			    const char *path_b)
{
	char a[2 * PATH_MAX], b[2 * PATH_MAX];
	struct stat sa, sb;

	if (!path_a || !path_b)
		return;
	canonical(path_a, a, sizeof(a));
	canonical(path_b, b, sizeof(b));
	if (!strcmp(path_a, path_b) || !strcmp(a, b) ||
	    (!stat(path_a, &sa) && !stat(path_b, &sb) && sa.st_dev == sb.st_dev &&
	     sa.st_ino == sb.st_ino))
		usage_error("%s %s and %s %s: the same file for both", flag_a, path_a, flag_b,
			    path_b);
}

static struct pending *slot_of(FILE *f)
{
	for (int i = 0; i < MAX_OPEN; i++)
		if (pending[i].f == f)
			return &pending[i];
	return NULL;
}

/* "-": a stream on standard output, which from now on carries the report to stderr. */
static FILE *open_stdout(void)
{
	FILE *f;
	int fd;

	fflush(stdout);
	fd = dup(STDOUT_FILENO);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		fatal("standard output: %s", strerror(errno));
	f = fdopen(fd, "w");
	if (!f)
		fatal("standard output: %s", strerror(errno));
	return f;
}

FILE *outfile_open(const char *path)
{
	struct pending *p = slot_of(NULL);
	char dir[PATH_MAX];
	struct stat st;
	mode_t mask;
	int fd;

	if (!p)
		fatal("'%s': too many output files at once", path);
	install_handlers();
	p->tmp[0] = '\0';
	p->in_place = true;
	if (outfile_is_stdout(path)) {
		p->f = open_stdout();
		return p->f;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		p->f = fopen(path, "w");
		if (!p->f)
			fatal("cannot write '%s': %s", path, strerror(errno));
		return p->f;
	}
	dir_of(path, dir, sizeof(dir));
	if ((size_t)snprintf(p->tmp, sizeof(p->tmp), "%s/.%s.XXXXXX", dir, base_of(path)) >=
	    sizeof(p->tmp))
		fatal("cannot write '%s': %s", path, strerror(ENAMETOOLONG));
	fd = mkstemp(p->tmp);
	if (fd < 0) {
		int e = errno;

		p->tmp[0] = '\0';
		fatal("cannot write '%s': %s", path, strerror(e));
	}
	/* mkstemp's 0600 would outlive the rename: the mode a new file gets. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) || !(p->f = fdopen(fd, "w"))) {
		int e = errno;

		close(fd);
		unlink(p->tmp);
		p->tmp[0] = '\0';
		fatal("cannot write '%s': %s", path, strerror(e));
	}
	p->in_place = false;
	return p->f;
}

void outfile_close(FILE *f, const char *path)
{
	struct pending *p = slot_of(f);
	int err = 0;

	if (!p)
		return;
	errno = 0;
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (!err && !p->in_place && fsync(fileno(f)) && errno != EINVAL)
		err = errno;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	p->f = NULL;
	if (!err && p->tmp[0] && rename(p->tmp, path))
		err = errno;
	if (err) {
		if (p->tmp[0])
			unlink(p->tmp);
		p->tmp[0] = '\0';
		fatal("writing '%s' failed: %s", path, strerror(err));
	}
	p->tmp[0] = '\0';
}
