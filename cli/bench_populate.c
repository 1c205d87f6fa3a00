/*
 * bench_populate.c - `tdpmmu bench populate` and `tdpmmu run`: run every
 * thread count --repeat times, keep the median run of each, measure the
 * floor on the smallest count, and report as text (and JSON).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "populate.h"

static int cmp_elapsed(const void *a, const void *b)
{
	const struct populate_result *x = a, *y = b;

	return (x->elapsed_ns > y->elapsed_ns) - (x->elapsed_ns < y->elapsed_ns);
}

static int cmp_floor(const void *a, const void *b)
{
	const struct populate_result *x = a, *y = b;
	double fx = (double)x->floor_ns / (double)x->floor_gfns;
	double fy = (double)y->floor_ns / (double)y->floor_gfns;

	return (fx > fy) - (fx < fy);
}

/* The median of @n runs; for even @n the faster of the two middle ones. */
static const struct populate_result *median(struct populate_result *runs, unsigned n,
					    int (*cmp)(const void *, const void *))
{
	qsort(runs, n, sizeof(*runs), cmp);
	return &runs[(n - 1) / 2];
}

static void summarise(struct populate_summary *s, const struct populate_result *run)
{
	double seconds = (double)run->elapsed_ns / 1e9;

	s->run = *run;
	s->seconds = seconds;
	s->ns_per_fault = (double)run->elapsed_ns * run->threads / (double)run->faults;
	s->mfaults_per_s = (double)run->faults / seconds / 1e6;
}

static void run_all(struct populate_report *rep, struct populate_result *runs)
{
	const struct populate_opts *o = rep->opts;
	bool floor_ok = populate_maps_4k_only(o);
	const struct populate_result *f;

	rep->floor_ns_per_gfn = NAN;
	rep->fault_over_floor = NAN;
	for (int i = 0; i < o->nr_counts; i++) {
		bool floor = i == 0 && floor_ok;

		for (unsigned r = 0; r < o->repeat; r++)
			populate_run(o, o->threads[i], r == 0, floor, &runs[r]);
		if (floor) {
			f = median(runs, o->repeat, cmp_floor);
			rep->floor_ns_per_gfn = (double)f->floor_ns / (double)f->floor_gfns;
		}
		summarise(&rep->sum[i], median(runs, o->repeat, cmp_elapsed));
		rep->nr = i + 1;
		populate_print_row(&rep->sum[i], stdout);
		fflush(stdout);
	}
	rep->base = &rep->sum[0];
	rep->largest = &rep->sum[rep->nr - 1];
	rep->fault_over_floor = rep->base->ns_per_fault / rep->floor_ns_per_gfn;
}

static int populate(const struct populate_opts *o)
{
	struct populate_report rep;
	struct populate_result *runs;
	FILE *json = NULL;

	memset(&rep, 0, sizeof(rep));
	rep.opts = o;
	runs = calloc(o->repeat, sizeof(*runs));
	if (!runs)
		fatal("out of memory");
	/* Before the long part, so that a bad path fails at once. */
	if (o->json_path) {
		json = fopen(o->json_path, "w");
		if (!json)
			fatal("cannot write '%s': %s", o->json_path, strerror(errno));
	}
	machine_info_read(&rep.machine);
	populate_print_header(&rep, stdout);
	fflush(stdout);
	run_all(&rep, runs);
	populate_print_results(&rep, stdout);
	if (json) {
		populate_write_json(&rep, json);
		if (ferror(json) | fclose(json))
			fatal("writing '%s' failed", o->json_path);
		printf("\nJSON written to %s\n", o->json_path);
	}
	free(runs);
	return 0;
}

int bench_populate_main(int argc, char **argv)
{
	struct populate_opts o;

	populate_opts_init(&o);
	populate_opts_parse(&o, argc, argv);
	return populate(&o);
}

/*
 * The default 1G per thread is over in well under a second here (a fault
 * costs 100-200 ns), too short a timed region to trust; the main job uses
 * more memory per thread so that it runs for several seconds.
 */
#define RUN_BYTES_PER_THREAD (32ull << 30)

int run_main(int argc, char **argv)
{
	struct populate_opts o;
	char size[32];

	if (argc > 1)
		usage_error("'run' takes no arguments ('bench populate' takes flags)");
	populate_opts_init(&o);
	o.bytes_per_thread = RUN_BYTES_PER_THREAD;
	format_size(o.bytes_per_thread, size, sizeof(size));
	printf("tdpmmu run: bench populate -b %s, default flags otherwise\n", size);
	return populate(&o);
}
