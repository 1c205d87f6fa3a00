/*
 * series.c - stalled-reader's series of retired-but-not-freed
 * memory over a run: kept in a fixed buffer whatever --seconds is (full,
 * it halves: neighbours merge into their larger value, so no peak is
 * lost), written into the JSON decimated to at most RECLAIM_JSON_POINTS
 * points, and drawn with --plot as a second picture, FILE-retired.svg
 * (or .png), one line per strategy at the largest vCPU count, the stall
 * window shaded.  Main thread only: run.c samples on the main
 * thread, and the report and plot come after the runs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "huge_over_table/huge_over_table.h"

void reclaim_series_init(struct reclaim_series *s)
{
	memset(s, 0, sizeof(*s));
	s->stride = 1;
}

static void push(struct reclaim_series *s, uint64_t ns, uint64_t bytes)
{
	if (s->n == RECLAIM_SERIES_CAP) {
		for (unsigned i = 0; i < s->n / 2; i++) {
			s->ns[i] = s->ns[2 * i];
			s->bytes[i] = s->bytes[2 * i] > s->bytes[2 * i + 1] ? s->bytes[2 * i]
									    : s->bytes[2 * i + 1];
		}
		s->n /= 2;
		s->stride *= 2;
	}
	s->ns[s->n] = ns;
	s->bytes[s->n++] = bytes;
}

void reclaim_series_add(struct reclaim_series *s, uint64_t ns, uint64_t bytes)
{
	if (!s->pending || bytes > s->pending_bytes)
		s->pending_bytes = bytes;
	if (!s->pending)
		s->pending_ns = ns;
	/* A halving may double the stride between two samples: push when due. */
	if (++s->pending >= s->stride) {
		push(s, s->pending_ns, s->pending_bytes);
		s->pending = 0;
	}
}

void reclaim_series_finish(struct reclaim_series *s)
{
	if (s->pending)
		push(s, s->pending_ns, s->pending_bytes);
	s->pending = 0;
}

void reclaim_series_json(const struct reclaim_series *s, FILE *f)
{
	unsigned group = (s->n + RECLAIM_JSON_POINTS - 1) / RECLAIM_JSON_POINTS;

	fputc('[', f);
	for (unsigned i = 0; i < s->n; i += group) {
		uint64_t max = 0;

		for (unsigned k = i; k < s->n && k < i + group; k++)
			if (s->bytes[k] > max)
				max = s->bytes[k];
		fprintf(f, "%s[%.3f, %" PRIu64 "]", i ? ", " : "", (double)s->ns[i] / 1e6, max);
	}
	fputc(']', f);
}

/* "out.svg" -> "out-retired.svg" (the extension was checked by the option). */
static char *retired_path(const char *plot)
{
	size_t n = strlen(plot) - 4;
	char *p = malloc(n + 13);

	if (!p)
		fatal("out of memory");
	memcpy(p, plot, n);
	strcpy(p + n, "-retired");
	strcat(p, plot + n);
	return p;
}

void reclaim_series_plot(const struct reclaim_opts *o, const struct sweep_report *rep)
{
	unsigned top = sweep_max_vcpus(&o->b.sw);
	char *path = retired_path(o->b.sw.plot_path);
	const struct reclaim_result *first = NULL;
	enum tdpmmu_strategy first_s = TDPMMU_STRATEGY_RCU;
	const char *sep = "plot ";
	FILE *g = sweep_plot_open(path, 900, 480);

	fprintf(g,
		"set title 'stalled-reader: retired page tables not yet freed, %u vCPU%s'\n"
		"set xlabel 'ms since the vCPUs started'\nset ylabel 'MiB'\n"
		"set yrange [0:*]\nset key top right\n",
		top, top == 1 ? "" : "s");
	/* Every data block first: gnuplot takes none inside a plot command. */
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct reclaim_result *r = row->best->extra;

		if (row->vcpus != top)
			continue;
		if (!first) {
			first = r;
			first_s = row->strategy;
		}
		fprintf(g, "$r%d << EOD\n", (int)row->strategy);
		for (unsigned k = 0; k < r->series.n; k++)
			fprintf(g, "%.3f %.6f\n", (double)r->series.ns[k] / 1e6,
				(double)r->series.bytes[k] / (1 << 20));
		fputs("EOD\n", g);
	}
	if (first)
		fprintf(g,
			"set object 1 rect from first %.3f, graph 0 to first %.3f, graph 1 "
			"behind fillcolor rgb '#e8e8e8' fillstyle solid noborder\n"
			"set label 1 'stall (%s)' at first %.3f, graph 0.95\n",
			(double)first->stall_start_ns / 1e6, (double)first->stall_end_ns / 1e6,
			tdpmmu_strategy_name(first_s), (double)first->stall_start_ns / 1e6);
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];

		if (row->vcpus != top)
			continue;
		fprintf(g, "%s$r%d using 1:2 with lines lw 2 title '%s'", sep, (int)row->strategy,
			sweep_strategy_name(row->strategy));
		sep = ", ";
	}
	fputc('\n', g);
	sweep_plot_close(g, path);
	printf("plot of retired memory written to %s\n", path);
	free(path);
}
