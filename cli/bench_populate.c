/*
 * bench_populate.c - `tdpmmu bench populate` and `tdpmmu run`: --repeat
 * rounds, each running every thread count once (interleaved, so a slow
 * spell on a shared machine hits every count alike), each run followed by
 * the machine reference at its count (machine_ref.c), and measure the floor
 * on the smallest count in each round; report the best run of each count
 * with the median beside it, and the best machine reference, as text (and
 * JSON).
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

static double ns_per_fault(const struct populate_result *run)
{
	return (double)run->elapsed_ns * run->threads / (double)run->faults;
}

/* Sort @n runs by time: the best is first, the median in the middle. */
static void summarise(struct populate_summary *s, struct populate_result *runs, unsigned n)
{
	const struct populate_result *best;

	qsort(runs, n, sizeof(*runs), cmp_elapsed);
	best = &runs[0];
	s->run = *best;
	s->seconds = (double)best->elapsed_ns / 1e9;
	s->ns_per_fault = ns_per_fault(best);
	s->mfaults_per_s = (double)best->faults / s->seconds / 1e6;
	s->median_ns_per_fault = ns_per_fault(&runs[(n - 1) / 2]);
}

/* @runs holds o->repeat runs per thread count: count i's are at i * repeat. */
static void run_all(struct populate_report *rep, struct populate_result *runs)
{
	const struct populate_opts *o = rep->opts;
	bool floor_ok = populate_maps_4k_only(o);
	unsigned n = o->repeat;

	double ref[POPULATE_MAX_COUNTS] = { 0 };

	rep->floor_ns_per_gfn = NAN;
	rep->fault_over_floor = NAN;
	for (unsigned r = 0; r < n; r++) {
		for (int i = 0; i < o->nr_counts; i++) {
			double ops;

			populate_run(o, o->threads[i], r == 0, i == 0 && floor_ok,
				     &runs[(unsigned)i * n + r]);
			ops = machine_ref_run(o->threads[i]);
			if (ops > ref[i])
				ref[i] = ops;
		}
	}
	if (floor_ok) {
		qsort(runs, n, sizeof(*runs), cmp_floor);
		rep->floor_ns_per_gfn = (double)runs[0].floor_ns / (double)runs[0].floor_gfns;
	}
	for (int i = 0; i < o->nr_counts; i++) {
		summarise(&rep->sum[i], &runs[(unsigned)i * n], n);
		rep->sum[i].machine_ref_ops_per_s = ref[i];
		rep->sum[i].machine_ref_ratio = ref[i] / ref[0];
		rep->nr = i + 1;
		populate_print_row(&rep->sum[i], stdout);
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
	runs = calloc((size_t)o->repeat * (size_t)o->nr_counts, sizeof(*runs));
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
