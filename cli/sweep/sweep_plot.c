/*
 * sweep_plot.c - a sweep as a picture (--plot FILE.svg|.png), drawn by
 * gnuplot (the Debian package): the scenario's metric against vCPUs, one
 * line per strategy, and beside it the fault-latency percentiles of each
 * strategy at the largest vCPU count.  The data goes to gnuplot inline
 * through a pipe; nothing is left behind but the picture.  Main thread
 * only, after the runs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

FILE *sweep_plot_open(const char *path, int width, int height)
{
	FILE *g = popen("gnuplot", "w");

	if (!g)
		fatal("cannot run gnuplot for '%s'", path);
	if (!strcmp(sweep_plot_terminal(path), "svg"))
		fprintf(g,
			"set terminal svg size %d,%d dynamic enhanced font 'sans,12' background "
			"'white'\n",
			width, height);
	else
		fprintf(g, "set terminal pngcairo size %d,%d enhanced font 'sans,10'\n", width,
			height);
	fputs("set output '", g);
	for (const char *p = path; *p; p++)
		fputs(*p == '\'' ? "''" : (char[]){ *p, 0 }, g);
	fputs("'\nset grid\nset key top left\n", g);
	return g;
}

void sweep_plot_close(FILE *g, const char *path)
{
	int st = pclose(g);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		fatal("gnuplot failed to draw '%s'", path);
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
