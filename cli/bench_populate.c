/*
 * bench_populate.c - `tdpmmu bench populate`: --repeat rounds, each
 * running every vCPU count once (interleaved, so a slow spell on a shared
 * machine hits every count alike), each run followed by the machine
 * reference at its count (machine_ref.c), the floor measured on the
 * smallest count in each round; then the report: the best run of each
 * count with the median beside it, and the best machine reference, as
 * text (and JSON).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "populate.h"

static int cmp_elapsed(const void *a, const void *b)
{
	const struct populate_result *x = a, *y = b;

	return (x->elapsed_ns > y->elapsed_ns) - (x->elapsed_ns < y->elapsed_ns);
}

static int cmp_floor(const void *a, const void *b)
{
	const struct populate_result *x = a, *y = b;
	double fx = (double)x->floor_ns / (double)x->floor_pages;
	double fy = (double)y->floor_ns / (double)y->floor_pages;

	return (fx > fy) - (fx < fy);
}

/* Each vCPU's share of the wall time, per fault it took. */
static double ns_per_fault(const struct populate_result *run)
{
	return run->faults ? (double)run->elapsed_ns * run->vcpus / (double)run->faults : NAN;
}

/* Sort @n runs by time: the best is first, the median in the middle. */
static void summarise(struct populate_summary *s, struct populate_result *runs, unsigned n)
{
	const struct populate_result *best, *median;

	qsort(runs, n, sizeof(*runs), cmp_elapsed);
	best = &runs[0];
	median = &runs[(n - 1) / 2];
	s->run = *best;
	s->seconds = (double)best->elapsed_ns / 1e9;
	s->faults_per_s = (double)best->faults / s->seconds;
	s->ns_per_fault = ns_per_fault(best);
	s->median_seconds = (double)median->elapsed_ns / 1e9;
	s->median_ns_per_fault = ns_per_fault(median);
}

static void show_progress(unsigned round, unsigned rounds, unsigned vcpus, const char *what,
			  uint64_t t0)
{
	progress_show("[round %u/%u] %u vCPU%s: %s ... (%.0f s so far)", round, rounds, vcpus,
		      vcpus == 1 ? "" : "s", what, (double)(tdp_now_ns() - t0) / 1e9);
}

/*
 * First a latency round: every fault timed (two clock reads each, which
 * would slow the throughput rounds), and the full audit.  Then --repeat
 * throughput rounds.  @runs holds o->repeat runs per vCPU count (count i's
 * at i * repeat), @lat one latency run per count.
 */
static void run_rounds(struct populate_report *rep, struct populate_result *runs,
		       struct populate_result *lat, double ref[POPULATE_MAX_COUNTS])
{
	const struct populate_opts *o = rep->opts;
	unsigned n = o->repeat, cores = (unsigned)rep->machine.usable_cores;
	uint64_t t0 = tdp_now_ns();

	for (int i = 0; i < o->nr_counts; i++) {
		show_progress(0, n, o->vcpus[i], "latency and audit", t0);
		populate_run(o, o->vcpus[i], true, false, true, &lat[i]);
	}
	for (unsigned r = 0; r < n; r++) {
		for (int i = 0; i < o->nr_counts; i++) {
			unsigned v = o->vcpus[i];
			double ops;

			show_progress(r + 1, n, v, "populate", t0);
			populate_run(o, v, false, i == 0 && populate_maps_4k_only(o), false,
				     &runs[(unsigned)i * n + r]);
			show_progress(r + 1, n, v, "machine reference", t0);
			ops = machine_ref_run(v, cores);
			if (ops > ref[i])
				ref[i] = ops;
		}
	}
	progress_clear();
}

static void summarise_all(struct populate_report *rep, struct populate_result *runs,
			  const struct populate_result *lat, const double ref[POPULATE_MAX_COUNTS])
{
	const struct populate_opts *o = rep->opts;
	unsigned n = o->repeat;

	rep->floor_ns_per_page = NAN;
	if (populate_maps_4k_only(o)) {
		qsort(runs, n, sizeof(*runs), cmp_floor);
		rep->floor_ns_per_page = (double)runs[0].floor_ns / (double)runs[0].floor_pages;
	}
	for (int i = 0; i < o->nr_counts; i++) {
		summarise(&rep->sum[i], &runs[(unsigned)i * n], n);
		rep->sum[i].run.latency = lat[i].latency;
		rep->sum[i].machine_ref_ops_per_s = ref[i];
		rep->sum[i].machine_ref_ratio = ref[i] / ref[0];
		rep->sum[i].scaling = rep->sum[i].faults_per_s / rep->sum[0].faults_per_s;
	}
	rep->nr = o->nr_counts;
	rep->base = &rep->sum[0];
	rep->largest = &rep->sum[rep->nr - 1];
	rep->fault_over_floor = rep->base->ns_per_fault / rep->floor_ns_per_page;
}

int populate_bench(const struct populate_opts *o, const char *command)
{
	double ref[POPULATE_MAX_COUNTS] = { 0 };
	struct populate_report *rep;
	struct populate_result *runs, *lat;
	FILE *json = NULL;

	rep = calloc(1, sizeof(*rep));
	runs = calloc((size_t)o->repeat * (size_t)o->nr_counts, sizeof(*runs));
	lat = calloc((size_t)o->nr_counts, sizeof(*lat));
	if (!rep || !runs || !lat)
		fatal("out of memory");
	rep->opts = o;
	rep->command = command;
	/* Before the long part, so that a bad path fails at once. */
	if (o->json_path) {
		json = fopen(o->json_path, "w");
		if (!json)
			fatal("cannot write '%s': %s", o->json_path, strerror(errno));
	}
	progress_init();
	machine_info_read(&rep->machine);
	populate_print_header(rep, stdout);
	fflush(stdout);
	run_rounds(rep, runs, lat, ref);
	summarise_all(rep, runs, lat, ref);
	populate_print_results(rep, stdout);
	if (json) {
		populate_write_json(rep, json);
		if (ferror(json) | fclose(json))
			fatal("writing '%s' failed", o->json_path);
		printf("\nJSON written to %s\n", o->json_path);
	}
	free(lat);
	free(runs);
	free(rep);
	return 0;
}

int bench_populate_main(int argc, char **argv)
{
	struct populate_opts o;
	char flags[512], command[600];

	populate_opts_init(&o);
	populate_opts_parse(&o, argc, argv);
	populate_opts_format(&o, flags, sizeof(flags));
	snprintf(command, sizeof(command), "tdpmmu bench populate %s", flags);
	return populate_bench(&o, command);
}
