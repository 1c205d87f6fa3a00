/*
 * report.c - `tdpmmu bench populate` as a scenario of the sweep driver
 * (sweep.c): its report, JSON, sweep description and populate_main().
 * Each run is populate_run() at the driver's strategy and vCPU count.
 * The latency round times every fault and runs the full audit; the
 * throughput rounds give faults per second.  Along the way, after the
 * first strategy's run at each count in each round, the parallel floor
 * (par_floor.c, 4K mappings only) and the machine reference
 * (machine_ref.c) at that count, and on the smallest count the floor; the
 * report ends with them: scaling of each strategy beside the parallel
 * floor's and the machine's, each strategy's scaling over the parallel
 * floor's, and fault cost over the floor.  With --pre-fault the metric
 * and columns are the pre-fault's (its slow-path faults over its time),
 * and a table puts it beside the guest pass that follows.  Main thread
 * only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_common.h"
#include "populate/populate.h"

/* The last sweep's parallel floor, for populate_par_floor_scaling(). */
static unsigned last_counts[SWEEP_MAX_COUNTS];
static double last_par_floor[SWEEP_MAX_COUNTS];
static int last_nr_counts;

/* The first simulated strategy of the sweep (-1: kvm only). */
static int first_strategy(const struct sweep_opts *o)
{
	for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++)
		if (o->strategies[s])
			return s;
	return -1;
}

static int count_index(const struct sweep_opts *o)
{
	for (int i = 0; i < o->nr_counts; i++)
		if (o->counts[i] == o->vcpus)
			return i;
	return 0;
}

static void populate_sweep_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct populate_opts *o = opts;
	bool first = (int)o->sw.strategy == first_strategy(&o->sw);
	bool refs = !lat_round && first; /* the round's references at this count */
	bool floor = refs && o->sw.vcpus == o->sw.counts[0] && populate_maps_4k_only(o);
	unsigned floors = (floor ? POPULATE_FLOOR : 0) |
			  (refs && populate_maps_4k_only(o) ? POPULATE_PAR_FLOOR : 0);
	struct populate_extra *x = calloc(1, sizeof(*x));
	struct populate_result res;
	double secs;

	if (!x)
		fatal("out of memory");
	populate_run(o, o->sw.vcpus, lat_round, floors, lat_round, &res);
	if (o->pre_fault) {
		secs = (double)res.pre_fault_ns / 1e9;
		bench_phase_add(&out->phases, "pre-fault", res.pre_fault_ns, res.pre_fault_steps);
		bench_phase_add(&out->phases, "populate", res.elapsed_ns, res.vcpu.ept_violations);
		out->metric = res.pre_fault_steps ? (double)res.pre_fault_steps / secs : NAN;
		out->col[0] = secs;
		out->col[1] = res.pre_fault_steps ? (double)res.pre_fault_ns * res.vcpus /
							    (double)res.pre_fault_steps
						  : NAN;
		x->pre_fault = true;
		x->pre_fault_ns = res.pre_fault_ns;
		x->pre_fault_steps = res.pre_fault_steps;
		x->guest_ns = res.elapsed_ns;
	} else {
		secs = (double)res.elapsed_ns / 1e9;
		bench_phase_add(&out->phases, "populate", res.elapsed_ns, res.faults);
		out->metric = res.faults ? (double)res.faults / secs : NAN;
		out->col[0] = secs;
		out->col[1] = res.faults ? (double)res.elapsed_ns * res.vcpus / (double)res.faults
					 : NAN;
	}
	out->has_latency = lat_round;
	out->latency = res.latency;
	out->lock = res.lock;
	out->reclaim = res.reclaim;
	memcpy(out->counters, res.counters, sizeof(out->counters));
	x->pages = res.pages;
	x->vcpu = res.vcpu;
	out->extra = x;
	if (floor) {
		double f = (double)res.floor_ns / (double)res.floor_pages;

		if (isnan(o->floor_ns_per_page) || f < o->floor_ns_per_page)
			o->floor_ns_per_page = f;
	}
	if (res.par_floor_pages) {
		int i = count_index(&o->sw);
		double pps = (double)res.par_floor_pages / ((double)res.par_floor_ns / 1e9);

		if (pps > o->par_floor[i])
			o->par_floor[i] = pps;
	}
	if (refs) {
		int i = count_index(&o->sw);
		double ops;

		progress_show("populate: machine reference, %u thread%s", o->sw.vcpus,
			      o->sw.vcpus == 1 ? "" : "s");
		ops = machine_ref_run(o->sw.vcpus, o->cores);
		if (ops > o->machine_ref[i])
			o->machine_ref[i] = ops;
	}
}

/* "4K mappings", "2M mappings", "2M where they fit" for the settings line. */
static void mapping_words(const struct populate_opts *o, char *buf, size_t len)
{
	char page[32];

	format_size(backing_align_bytes(o->backing), page, sizeof(page));
	snprintf(buf, len, "%s %s", o->backing == TDPMMU_BACKING_ANON ? "4K" : page,
		 o->backing == TDPMMU_BACKING_THP ? "where they fit" : "mappings");
}

static void print_settings(const void *opts, FILE *f)
{
	const struct populate_opts *o = opts;
	char size[32], maps[48];

	format_size(o->bytes_per_vcpu, size, sizeof(size));
	mapping_words(o, maps, sizeof(maps));
	fprintf(f,
		"populate: %s per vCPU (%llu pages), -s %s (%s); %u%% writes\n"
		"          %s; %s order; %s\n",
		size, (unsigned long long)populate_pages_per_vcpu(o), backing_kvm_name(o->backing),
		maps, o->write_pct,
		o->overlap ? "all vCPUs share one region (-o)" : "each vCPU its own region",
		o->random_order ? "random (-a)" : "ascending",
		o->sw.payload ? "real host memory (--payload)" : "no payload");
	if (o->pre_fault)
		fputs("          --pre-fault: each vCPU maps its region with tdpmmu_pre_fault first\n"
		      "          (KVM_PRE_FAULT_MEMORY); the metric and columns are the pre-fault's,\n"
		      "          and the guest pass after it must take no EPT violation\n",
		      f);
	if (o->sw.strategies[SWEEP_KVM])
		fprintf(f, "          kvm rows: host memory %s\n",
			o->prefault ? "pre-faulted (--prefault)"
				    : "faulted in by the guest's first touch");
	fputs("          a latency round (every fault timed, full audit), then the throughput\n"
	      "          rounds; every run checked\n",
	      f);
}

/* What the runs built: the same tree under every strategy, or a bug. */
static void print_mappings(const struct sweep_report *rep, FILE *f)
{
	fprintf(f, "\npage tables and leaves (best round):\n%-14s %5s %10s %10s %10s %10s %11s\n",
		"strategy", "vCPUs", "tables", "leaves_4k", "leaves_2m", "leaves_1g",
		"tlb_flushes");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const int64_t *c = row->best->counters;

		if (row->strategy == SWEEP_KVM)
			continue; /* the kernel's tables are not ours to count */
		fprintf(f, "%-14s %5u %10lld %10lld %10lld %10lld %11lld\n",
			sweep_strategy_name(row->strategy), row->vcpus,
			(long long)(c[TDPMMU_C_TABLES_L1] + c[TDPMMU_C_TABLES_L2] +
				    c[TDPMMU_C_TABLES_L3] + c[TDPMMU_C_TABLES_L4] +
				    c[TDPMMU_C_TABLES_L5]),
			(long long)c[TDPMMU_C_LEAVES_4K], (long long)c[TDPMMU_C_LEAVES_2M],
			(long long)c[TDPMMU_C_LEAVES_1G], (long long)c[TDPMMU_C_TLB_FLUSHES]);
	}
}

/* A reference's scaling at count index @i over its smallest count's; NAN if not measured. */
static double ref_scaling(const double *ref, int i)
{
	return ref[0] > 0 && ref[i] > 0 ? ref[i] / ref[0] : NAN;
}

static double strategy_scaling(const struct populate_opts *o, const struct sweep_report *rep, int s,
			       int i)
{
	const struct sweep_row *row = sweep_find(rep, s, o->sw.counts[i]);
	const struct sweep_row *base = sweep_find(rep, s, o->sw.counts[0]);

	return row->best->metric / base->best->metric;
}

static void print_ratio(FILE *f, int width, double v)
{
	if (isnan(v))
		fprintf(f, " %*s", width, "-");
	else
		fprintf(f, " %*.2fx", width - 1, v);
}

static void print_scaling(const struct populate_opts *o, const struct sweep_report *rep, FILE *f)
{
	bool pf = !isnan(ref_scaling(o->par_floor, 0));

	fputs("\nscaling: faults/s over the same strategy's at the smallest count, beside\n"
	      "the parallel floor (the floor on every vCPU's thread at once, each over its\n"
	      "own vCPU's tables) and the machine reference (a private, sharing-free\n"
	      "atomic loop), both in the same rounds\n",
	      f);
	fprintf(f, "%5s %14s %12s", "vCPUs", "parallel floor", "machine ref");
	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++)
		if (o->sw.strategies[s])
			fprintf(f, " %13s", sweep_strategy_name(s));
	fputc('\n', f);
	for (int i = 0; i < o->sw.nr_counts; i++) {
		fprintf(f, "%5u", o->sw.counts[i]);
		print_ratio(f, 14, ref_scaling(o->par_floor, i));
		/* measured after the simulated runs only */
		print_ratio(f, 12, ref_scaling(o->machine_ref, i));
		for (int s = 0; s < SWEEP_NR_STRATEGIES; s++)
			if (o->sw.strategies[s])
				print_ratio(f, 13, strategy_scaling(o, rep, s, i));
		fputc('\n', f);
	}
	if (!pf)
		return;
	fputs("\nscaling over the parallel floor's (the strategy's scaling above over the\n"
	      "parallel floor's at the same count; 1.00: the MMU scales as the machine lets\n"
	      "the bare walk + CAS scale)\n",
	      f);
	fprintf(f, "%5s %14s", "vCPUs", "floor Mpages/s");
	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++)
		if (o->sw.strategies[s] && s != SWEEP_KVM)
			fprintf(f, " %13s", sweep_strategy_name(s));
	fputc('\n', f);
	for (int i = 0; i < o->sw.nr_counts; i++) {
		fprintf(f, "%5u %14.1f", o->sw.counts[i], o->par_floor[i] / 1e6);
		for (int s = 0; s < SWEEP_NR_STRATEGIES; s++)
			if (o->sw.strategies[s] && s != SWEEP_KVM)
				fprintf(f, " %13.2f",
					strategy_scaling(o, rep, s, i) /
						ref_scaling(o->par_floor, i));
		fputc('\n', f);
	}
}

/* --pre-fault: the pre-fault beside the guest pass that followed it. */
static void print_pre_fault(const struct sweep_report *rep, FILE *f)
{
	fprintf(f,
		"\npre-fault, then the guest pass (best round):\n%-14s %5s %12s %14s %12s %12s\n",
		"strategy", "vCPUs", "pre-fault s", "pre-fault Mp/s", "steps", "guest pass s");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct populate_extra *x = row->best ? row->best->extra : NULL;

		if (!x || !x->pre_fault)
			continue;
		fprintf(f, "%-14s %5u %12.6f %14.2f %12llu %12.6f\n",
			sweep_strategy_name(row->strategy), row->vcpus, x->pre_fault_ns / 1e9,
			(double)x->pages / ((double)x->pre_fault_ns / 1e9) / 1e6,
			(unsigned long long)x->pre_fault_steps, x->guest_ns / 1e9);
	}
	fputs("(Mp/s: pages mapped per second; steps: the pre-fault's slow-path faults, one\n"
	      " per leaf it installed or found)\n",
	      f);
}

static void print_extra(const void *opts, const struct sweep_report *rep, FILE *f)
{
	const struct populate_opts *o = opts;
	const struct sweep_row *base = &rep->rows[0];

	print_mappings(rep, f);
	if (o->pre_fault)
		print_pre_fault(rep, f);
	print_scaling(o, rep, f);
	if (isnan(o->floor_ns_per_page))
		return;
	fprintf(f, "\nfloor (bare walk + CAS): %.1f ns/page (over vCPU 0's %llu pages)\n",
		o->floor_ns_per_page, (unsigned long long)populate_pages_per_vcpu(o));
	fprintf(f,
		"fault / floor: %.1f x (%s at %u vCPU%s, ns/fault/vCPU over the floor; a\n"
		"               fault here is the guest access, the EPT violation, the fault\n"
		"               path and the access again)\n",
		base->best->col[1] / o->floor_ns_per_page, sweep_strategy_name(base->strategy),
		base->vcpus, base->vcpus == 1 ? "" : "s");
}

static void json_config(const void *opts, FILE *f)
{
	const struct populate_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->backing));
	fprintf(f,
		", \"write_pct\": %u, \"overlap\": %s, \"random_access\": %s, \"pre_fault\": %s,\n"
		"    \"floor_ns_per_page\": ",
		o->write_pct, o->overlap ? "true" : "false", o->random_order ? "true" : "false",
		o->pre_fault ? "true" : "false");
	json_number(f, o->floor_ns_per_page, 2);
	fputs(", \"parallel_floor_pages_per_sec\": [", f);
	for (int i = 0; i < o->sw.nr_counts; i++) {
		fputs(i ? ", " : "", f);
		json_number(f, o->par_floor[i] > 0 ? o->par_floor[i] : NAN, 0);
	}
	fputs("],\n    \"machine_ref_ops_per_sec\": [", f);
	for (int i = 0; i < o->sw.nr_counts; i++) {
		fputs(i ? ", " : "", f);
		json_number(f, o->machine_ref[i], 0);
	}
	fputs("]}", f);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct populate_extra *x = run->extra;

	fprintf(f, "      \"pages\": %" PRIu64 ", \"faults_per_sec\": ", x->pages);
	json_number(f, run->metric, 1);
	fputs(", \"ns_per_fault_per_vcpu\": ", f);
	json_number(f, run->col[1], 2);
	if (x->kvm)
		return; /* the simulated vCPUs' totals: kvm_stats has the kernel's */
	if (x->pre_fault)
		fprintf(f,
			",\n      \"pre_fault\": {\"ns\": %" PRIu64 ", \"steps\": %" PRIu64
			", \"pages_per_sec\": %.1f, \"guest_pass_ns\": %" PRIu64 "}",
			x->pre_fault_ns, x->pre_fault_steps,
			(double)x->pages / ((double)x->pre_fault_ns / 1e9), x->guest_ns);
	fprintf(f,
		",\n      \"vcpu\": {\"accesses\": %" PRIu64 ", \"tlb_misses\": %" PRIu64
		", \"ept_violations\": %" PRIu64 ", \"faults_fast\": %" PRIu64
		", \"faults_slow\": %" PRIu64 ", \"fault_retries\": %" PRIu64
		", \"kicks\": %" PRIu64 ", \"tlb_flushes\": %" PRIu64 "}",
		x->vcpu.accesses, x->vcpu.tlb_misses, x->vcpu.ept_violations, x->vcpu.faults_fast,
		x->vcpu.faults_slow, x->vcpu.fault_retries, x->vcpu.kicks, x->vcpu.tlb_flushes);
}

const struct sweep_scenario populate_sweep = {
	.title = "populate benchmark (KVM's dirty_log_perf_test populate phase)",
	.metric_name = "Mfaults/s",
	.metric_json = "faults_per_sec",
	.metric_what = "EPT violations handled per second, all vCPUs (start barrier to the "
		       "last vCPU done)",
	.metric_scale = 1e6,
	.cols = { "populate s", "ns/fault/vCPU" },
	.col_decimals = { 6, 1 },
	.latency_round = true,
	.run = populate_sweep_run,
	.run_kvm = populate_kvm_run,
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

int populate_main(const struct scenario *sc, int argc, char **argv)
{
	struct populate_opts o;
	struct machine_info m;
	char flags[768], command[800];

	populate_opts_init(&o);
	populate_opts_parse(&o, argc, argv);
	populate_opts_format(&o, flags, sizeof(flags));
	snprintf(command, sizeof(command), "tdpmmu bench %s%s", sc->name, flags);
	machine_info_read(&m);
	o.cores = (unsigned)m.usable_cores;
	o.floor_ns_per_page = NAN;
	sweep_main(sc, &o, command);
	last_nr_counts = o.sw.nr_counts;
	memcpy(last_counts, o.sw.counts, sizeof(last_counts));
	memcpy(last_par_floor, o.par_floor, sizeof(last_par_floor));
	return 0;
}

double populate_par_floor_scaling(unsigned vcpus)
{
	for (int i = 0; i < last_nr_counts; i++)
		if (last_counts[i] == vcpus)
			return ref_scaling(last_par_floor, i);
	return NAN;
}
