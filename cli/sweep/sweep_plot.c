/*
 * sweep_plot.c - a sweep as a picture (--plot FILE.svg|.png), drawn by
 * gnuplot (the Debian package): the scenario's metric against vCPUs, one
 * line per strategy, and beside it the fault-latency percentiles of each
 * strategy at the largest vCPU count.  The data goes to gnuplot inline
 * through a pipe; gnuplot draws into a memory file, which is copied into
 * place whole (cli/common/outfile.c), so a full disk or a killed run
 * never leaves half a picture.  Main thread only, after the runs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/outfile.h"
#include "common/util.h"
#include "sweep/sweep.h"

const char *sweep_plot_terminal(const char *path)
{
	size_t n = strlen(path);

	if (n > 4 && !strcmp(path + n - 4, ".svg"))
		return "svg";
	if (n > 4 && !strcmp(path + n - 4, ".png"))
		return "png";
	return NULL;
}

bool sweep_have_gnuplot(void)
{
	return system("gnuplot --version >/dev/null 2>&1") == 0;
}

/* A gnuplot child: its script pipe, its process and the memory file it draws into. */
struct plot_child {
	FILE *g;
	pid_t pid;
	int out; /* memfd: gnuplot's standard output */
};

static struct plot_child children[2];

static struct plot_child *child_of(FILE *g)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i].g == g)
			return &children[i];
	return NULL;
}

/*
 * gnuplot draws to its standard output, a memory file: it cannot report a
 * full disk, so the picture is copied into place by outfile.c, which can.
 */
FILE *sweep_plot_open(const char *path, int width, int height)
{
	struct plot_child *c = child_of(NULL);
	int pipefd[2];

	if (!c)
		cli_bug("more than two gnuplot pictures at once");
	c->out = memfd_create("tdpmmu-plot", MFD_CLOEXEC);
	if (c->out < 0 || pipe2(pipefd, O_CLOEXEC))
		fatal("cannot run gnuplot for '%s': %s", path, strerror(errno));
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0)
		fatal("cannot run gnuplot for '%s': %s", path, strerror(errno));
	if (!c->pid) {
		if (dup2(pipefd[0], STDIN_FILENO) < 0 || dup2(c->out, STDOUT_FILENO) < 0)
			_exit(127);
		execlp("gnuplot", "gnuplot", (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	c->g = fdopen(pipefd[1], "w");
	if (!c->g)
		fatal("cannot run gnuplot for '%s': %s", path, strerror(errno));
	if (!strcmp(sweep_plot_terminal(path), "svg"))
		fprintf(c->g,
			"set terminal svg size %d,%d dynamic enhanced font 'sans,12' background "
			"'white'\n",
			width, height);
	else
		fprintf(c->g, "set terminal pngcairo size %d,%d enhanced font 'sans,10'\n", width,
			height);
	fputs("set grid\nset key top left\n", c->g);
	return c->g;
}

/*
 * Whether gnuplot finished its picture (it ignores its own write errors):
 * an SVG ends with "</svg>", a PNG with its IEND chunk.
 */
static bool picture_complete(int in, off_t size, const char *path)
{
	static const char png_end[] = "IEND\xae\x42\x60\x82";
	char tail[16];
	size_t n = sizeof(tail);
	bool svg = !strcmp(sweep_plot_terminal(path), "svg");

	if ((off_t)n > size)
		n = (size_t)size;
	if (pread(in, tail, n, size - (off_t)n) != (ssize_t)n)
		return false;
	if (svg) {
		while (n && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
			n--;
		return n >= 6 && !memcmp(tail + n - 6, "</svg>", 6);
	}
	return n >= 8 && !memcmp(tail + n - 8, png_end, 8);
}

/* gnuplot's picture, from its memory file into @path. */
static void copy_picture(int in, const char *path)
{
	char buf[65536];
	FILE *f;
	ssize_t n;

	if (lseek(in, 0, SEEK_SET))
		fatal("reading gnuplot's picture for '%s': %s", path, strerror(errno));
	f = outfile_open(path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
			break;
	if (n < 0)
		fatal("reading gnuplot's picture for '%s': %s", path, strerror(errno));
	outfile_close(f, path);
}

void sweep_plot_close(FILE *g, const char *path)
{
	struct plot_child *c = child_of(g);
	struct stat st;
	int st_wait, err = 0;

	if (!c)
		cli_bug("not a gnuplot pipe");
	if (fclose(g))
		err = errno;
	c->g = NULL;
	while (waitpid(c->pid, &st_wait, 0) < 0)
		if (errno != EINTR)
			fatal("gnuplot for '%s': %s", path, strerror(errno));
	if (err || !WIFEXITED(st_wait) || WEXITSTATUS(st_wait))
		fatal("gnuplot failed to draw '%s'%s", path,
		      WIFEXITED(st_wait) && WEXITSTATUS(st_wait) == 127 ? " (not installed?)" : "");
	if (fstat(c->out, &st) || !st.st_size)
		fatal("gnuplot drew nothing for '%s'", path);
	if (!picture_complete(c->out, st.st_size, path))
		fatal("gnuplot's picture for '%s' is cut short (%lld bytes)", path,
		      (long long)st.st_size);
	copy_picture(c->out, path);
	close(c->out);
}

static void metric_panel(const struct sweep_report *rep, FILE *g)
{
	const struct sweep_scenario *sc = rep->sc;
	const char *sep = "plot ";

	fprintf(g, "set title '%s: %s'\nset xlabel 'vCPUs'\nset ylabel '%s'\n", rep->name,
		sc->metric_name, sc->metric_name);
	fputs("set logscale x 2\nset yrange [0:*]\n", g);
	/* One count alone would be an empty x range. */
	if (rep->opts->nr_counts == 1)
		fprintf(g, "set xrange [%g:%g]\n", rep->opts->counts[0] / 2.0,
			rep->opts->counts[0] * 2.0);
	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++) {
		if (!rep->opts->strategies[s])
			continue;
		fprintf(g, "$m%d << EOD\n", s);
		for (int i = 0; i < rep->nr_rows; i++)
			if (rep->rows[i].strategy == s && !isnan(rep->rows[i].best->metric))
				fprintf(g, "%u %.6g\n", rep->rows[i].vcpus,
					rep->rows[i].best->metric / sc->metric_scale);
		fputs("EOD\n", g);
	}
	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++) {
		if (!rep->opts->strategies[s])
			continue;
		fprintf(g, "%s$m%d using 1:2 with linespoints lw 2 title '%s'", sep, s,
			sweep_strategy_name(s));
		sep = ", ";
	}
	fputs("\nunset logscale x\nset xrange [*:*]\nset yrange [*:*]\n", g);
}

static bool has_latency_at(const struct sweep_row *row, unsigned vcpus)
{
	return row->vcpus == vcpus && row->latency->has_latency && row->latency->latency.count;
}

static void latency_panel(const struct sweep_report *rep, FILE *g)
{
	unsigned top = sweep_max_vcpus(rep->opts);
	const char *sep = "plot ";

	fprintf(g,
		"set title 'fault latency at %u vCPU%s'\nset xlabel 'percentile'\n"
		"set ylabel 'ns'\nset logscale y 10\n"
		"set xtics ('p50' 0, 'p99' 1, 'p99.9' 2, 'max' 3)\nset xrange [-0.3:3.3]\n",
		top, top == 1 ? "" : "s");
	/* Every data block first: gnuplot takes none inside a plot command. */
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct tdpmmu_latency *l = &rep->rows[i].latency->latency;

		if (has_latency_at(&rep->rows[i], top))
			fprintf(g, "$l%d << EOD\n0 %llu\n1 %llu\n2 %llu\n3 %llu\nEOD\n",
				(int)rep->rows[i].strategy, (unsigned long long)l->p50_ns + 1,
				(unsigned long long)l->p99_ns + 1,
				(unsigned long long)l->p999_ns + 1,
				(unsigned long long)l->max_ns + 1);
	}
	for (int i = 0; i < rep->nr_rows; i++) {
		if (!has_latency_at(&rep->rows[i], top))
			continue;
		fprintf(g, "%s$l%d using 1:2 with linespoints lw 2 title '%s'", sep,
			(int)rep->rows[i].strategy, sweep_strategy_name(rep->rows[i].strategy));
		sep = ", ";
	}
	if (!strcmp(sep, "plot "))
		fputs("set label 'no fault was timed' at graph 0.5,0.5 center\nplot NaN notitle",
		      g);
	fputc('\n', g);
}

void sweep_plot(const struct sweep_report *rep, const char *path)
{
	FILE *g = sweep_plot_open(path, 1200, 480);

	fputs("set multiplot layout 1,2\n", g);
	metric_panel(rep, g);
	latency_panel(rep, g);
	fputs("unset multiplot\n", g);
	sweep_plot_close(g, path);
}
