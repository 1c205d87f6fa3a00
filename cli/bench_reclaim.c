/*
 * bench_reclaim.c - the two scenarios that separate the reclamation
 * strategies, every strategy asked for side by side in one run:
 *
 *   huge-over-table  the seed thread's case.  "Huge" vCPUs turn 2 MiB
 *                    blocks of a THP slot back and forth: a fault capped at
 *                    4K puts a table under the block (splitting the huge
 *                    leaf), then an uncapped fault maps it huge again,
 *                    replacing that table, which is retired.  Meanwhile
 *                    "small" vCPUs fault fresh 4K pages elsewhere.
 *   stalled-reader   the same load, and one thread that holds a walker's
 *                    protection (tdpmmu_hold_walk) for --stall-ms in the
 *                    middle: how much the vCPUs still get done, and how
 *                    many retired tables pile up meanwhile.
 *
 * Faults are made with tdpmmu_fault on the vCPU threads (each thread is
 * its vCPU), timed one by one into a log-bucketed histogram.  Lock and
 * reclamation statistics come from the library.
 *
 * Concurrency: workers only touch their own vCPU, region and histogram;
 * they count finished faults in atomics the main thread samples.  Start
 * and stop are an atomic flag; the main thread's sleeps set the measured
 * duration, they do not synchronise anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "compiler.h"
#include "latency.h"

#define BLOCK_PAGES 512ull            /* one 2 MiB block */
#define HUGE_BLOCKS 64ull             /* per huge vCPU: 128 MiB */
#define SMALL_PAGES (1ull << 24)      /* per small vCPU: 64 GiB of fresh 4K pages */
#define SAMPLE_NS 1000000ull          /* the main thread samples every 1 ms */
#define NR_BUCKETS 512

struct reclaim_opts {
	struct bench_opts b; /* -v, --json; the rest unused */
	bool strategies[TDPMMU_NR_STRATEGIES];
	double seconds;
	uint64_t stall_ns; /* stalled-reader only */
	bool stall;
};

struct worker {
	struct tdpmmu_vcpu *v;
	bool huge;
	uint64_t base_gfn;
	_Atomic uint64_t faults, replaced;
	uint64_t hist[NR_BUCKETS], max_ns;
	const _Atomic bool *stop;
	pthread_t thread;
} __cacheline_aligned;

struct row {
	enum tdpmmu_strategy s;
	double seconds, faults_per_s, replaced_per_s;
	uint64_t small_faults, huge_faults;
	struct tdpmmu_latency lat;
	struct tdpmmu_lock_stats lock;
	struct tdpmmu_reclaim_stats rec;
	/* stalled-reader: the stall window */
	double stall_s, stall_faults_per_s;
	uint64_t stall_peak_outstanding;
};

static void record(struct worker *w, uint64_t ns)
{
	w->hist[latency_bucket(ns)]++;
	if (ns > w->max_ns)
		w->max_ns = ns;
}

static int timed_fault(struct worker *w, uint64_t gfn, int max_level, int *level)
{
	struct tdpmmu_fault_result res;
	uint64_t t0 = tdp_now_ns();
	int r = tdpmmu_fault(w->v, gfn, TDPMMU_ACCESS_WRITE, max_level, &res);

	record(w, tdp_now_ns() - t0);
	*level = res.level;
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t i = 0;
	int level, r = 0;

	while (!r && !atomic_load_explicit(w->stop, memory_order_relaxed)) {
		if (w->huge) {
			uint64_t gfn = w->base_gfn + (i++ % HUGE_BLOCKS) * BLOCK_PAGES;

			r = timed_fault(w, gfn, 1, &level); /* a table under the block */
			if (!r)
				r = timed_fault(w, gfn, 0, &level); /* huge over it */
			if (!r && level == 2)
				atomic_fetch_add_explicit(&w->replaced, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&w->faults, 2, memory_order_relaxed);
		} else {
			if (i == SMALL_PAGES)
				break; /* region used up: this vCPU is done */
			r = timed_fault(w, w->base_gfn + i++, 0, &level);
			atomic_fetch_add_explicit(&w->faults, 1, memory_order_relaxed);
		}
	}
	if (r)
		fatal("fault failed: %s", strerror(-r));
	return NULL;
}

static uint64_t total_faults(struct worker *w, unsigned n)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += atomic_load_explicit(&w[i].faults, memory_order_relaxed);
	return sum;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

struct staller {
	struct tdpmmu_vm *vm;
	uint64_t ns;
	_Atomic bool done;
};

static void *staller_main(void *arg)
{
	struct staller *st = arg;

	tdpmmu_hold_walk(st->vm, st->ns);
	atomic_store(&st->done, true);
	return NULL;
}

static unsigned nr_huge(unsigned vcpus)
{
	return (vcpus + 1) / 2;
}

static struct tdpmmu_vm *make_vm(const struct reclaim_opts *o, enum tdpmmu_strategy s)
{
	unsigned huge = nr_huge(o->b.sw.vcpus), small = o->b.sw.vcpus - huge;
	struct tdpmmu_memslot thp = { 0, 0, huge * HUGE_BLOCKS * BLOCK_PAGES, TDPMMU_BACKING_THP,
				      0 };
	struct tdpmmu_memslot anon = { 1, thp.npages, (small ? small : 1) * SMALL_PAGES,
				       TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	int r;

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = s;
	/* Reserved and touched on demand: every small page, plus room to pile up. */
	cfg.max_tables = anon.npages / BLOCK_PAGES * 2 + huge * HUGE_BLOCKS * 4 + (1u << 20);
	r = tdpmmu_vm_create(&cfg, &vm);
	if (!r)
		r = tdpmmu_memslot_add(vm, &thp);
	if (!r)
		r = tdpmmu_memslot_add(vm, &anon);
	if (r)
		fatal("creating the VM: %s", strerror(-r));
	return vm;
}

static void run_one(const struct reclaim_opts *o, enum tdpmmu_strategy s, struct row *row)
{
	unsigned n = o->b.sw.vcpus, huge = nr_huge(n);
	struct tdpmmu_vm *vm = make_vm(o, s);
	struct worker *w = aligned_alloc(TDP_CACHELINE, sizeof(*w) * n);
	uint64_t hist[NR_BUCKETS] = { 0 }, count = 0, max_ns = 0, t0, t1;
	struct staller st = { .vm = vm, .ns = o->stall_ns };
	_Atomic bool stop = false;
	pthread_t stall_thread;
	int r;

	if (!w)
		fatal("out of memory");
	memset(w, 0, sizeof(*w) * n);
	memset(row, 0, sizeof(*row));
	row->s = s;
	for (unsigned i = 0; i < n; i++) {
		w[i].huge = i < huge;
		w[i].base_gfn = w[i].huge ? i * HUGE_BLOCKS * BLOCK_PAGES
					  : huge * HUGE_BLOCKS * BLOCK_PAGES +
						    (i - huge) * SMALL_PAGES;
		w[i].stop = &stop;
		r = tdpmmu_vcpu_create(vm, &w[i].v);
		if (r)
			fatal("creating vCPU %u: %s", i, strerror(-r));
	}
	t0 = tdp_now_ns();
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
			fatal("cannot create vCPU thread %u", i);
	if (o->stall) {
		uint64_t lead = (uint64_t)(o->seconds * 1e9) / 4, s0, s1, f0, f1;

		sleep_ns(lead);
		f0 = total_faults(w, n);
		s0 = tdp_now_ns();
		if (pthread_create(&stall_thread, NULL, staller_main, &st))
			fatal("cannot create the stalled reader");
		while (!atomic_load(&st.done)) {
			struct tdpmmu_reclaim_stats rs;

			sleep_ns(SAMPLE_NS);
			tdpmmu_read_reclaim_stats(vm, &rs);
			if (rs.outstanding > row->stall_peak_outstanding)
				row->stall_peak_outstanding = rs.outstanding;
		}
		s1 = tdp_now_ns();
		f1 = total_faults(w, n);
		pthread_join(stall_thread, NULL);
		row->stall_s = (double)(s1 - s0) / 1e9;
		row->stall_faults_per_s = (double)(f1 - f0) / row->stall_s;
		if (s1 - t0 < (uint64_t)(o->seconds * 1e9))
			sleep_ns((uint64_t)(o->seconds * 1e9) - (s1 - t0));
	} else {
		sleep_ns((uint64_t)(o->seconds * 1e9));
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	t1 = tdp_now_ns();

	row->seconds = (double)(t1 - t0) / 1e9;
	for (unsigned i = 0; i < n; i++) {
		uint64_t f = atomic_load(&w[i].faults);

		if (w[i].huge)
			row->huge_faults += f;
		else
			row->small_faults += f;
		row->replaced_per_s += (double)atomic_load(&w[i].replaced);
		for (unsigned b = 0; b < NR_BUCKETS; b++) {
			hist[b] += w[i].hist[b];
			count += w[i].hist[b];
		}
		if (w[i].max_ns > max_ns)
			max_ns = w[i].max_ns;
	}
	row->faults_per_s = (double)(row->small_faults + row->huge_faults) / row->seconds;
	row->replaced_per_s /= row->seconds;
	row->lat.count = count;
	row->lat.p50_ns = latency_percentile(hist, NR_BUCKETS, count, 500, max_ns);
	row->lat.p99_ns = latency_percentile(hist, NR_BUCKETS, count, 990, max_ns);
	row->lat.p999_ns = latency_percentile(hist, NR_BUCKETS, count, 999, max_ns);
	row->lat.max_ns = max_ns;
	tdpmmu_read_lock_stats(vm, &row->lock);
	tdpmmu_read_reclaim_stats(vm, &row->rec);
	for (unsigned i = 0; i < n; i++)
		tdpmmu_vcpu_destroy(w[i].v);
	if (tdpmmu_audit(vm))
		fatal("%s: the audit after the run found violations", tdpmmu_strategy_name(s));
	tdpmmu_vm_destroy(vm); /* waits until every retired table is freed */
	free(w);
}

static void set_strategies(void *ctx, const char *opt, const char *arg)
{
	bench_strategy_list_arg(opt, arg, ((struct reclaim_opts *)ctx)->strategies);
}

static void set_seconds(void *ctx, const char *opt, const char *arg)
{
	((struct reclaim_opts *)ctx)->seconds = bench_seconds_arg(opt, arg, 0.05, 3600);
}

static void set_stall(void *ctx, const char *opt, const char *arg)
{
	((struct reclaim_opts *)ctx)->stall_ns =
		bench_number_arg(opt, arg, 1, 600000) * 1000000ull;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_reclaim_help(stdout, ((struct reclaim_opts *)ctx)->stall);
	exit(0);
}

static const struct cli_option hot_options[] = {
	{ 'v', NULL, true, sweep_set_vcpus },
	{ 0, "seconds", true, set_seconds },
	{ 0, "strategy", true, set_strategies },
	{ 0, "json", true, sweep_set_json },
	{ 'h', "help", false, show_help },
	{ 0 },
};

static const struct cli_option stall_options[] = {
	{ 'v', NULL, true, sweep_set_vcpus },
	{ 0, "seconds", true, set_seconds },
	{ 0, "stall-ms", true, set_stall },
	{ 0, "strategy", true, set_strategies },
	{ 0, "json", true, sweep_set_json },
	{ 'h', "help", false, show_help },
	{ 0 },
};

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static void print_rows(const struct reclaim_opts *o, const struct row *rows, int nr)
{
	const struct row *rcu = NULL;

	for (int i = 0; i < nr; i++)
		if (rows[i].s == TDPMMU_STRATEGY_RCU)
			rcu = &rows[i];
	printf("%-14s %12s %8s %12s %8s %8s %8s %9s %9s %9s %10s %10s %9s\n", "strategy",
	       "faults/s", "x rcu", "replaced/s", "p50 ns", "p99 ns", "p99.9 ns", "max us",
	       "wr locks", "by vCPUs", "vCPU wait", "peak KiB", "drains/cb");
	for (int i = 0; i < nr; i++) {
		const struct row *r = &rows[i];
		uint64_t passes = r->rec.drains + r->rec.rcu_callbacks;

		printf("%-14s %12.0f %8.2f %12.0f %8" PRIu64 " %8" PRIu64 " %8" PRIu64
		       " %9.1f %9" PRIu64 " %9" PRIu64 " %8.1fms %10" PRIu64 " %9" PRIu64 "\n",
		       tdpmmu_strategy_name(r->s), r->faults_per_s,
		       rcu ? ratio(r->faults_per_s, rcu->faults_per_s) : NAN, r->replaced_per_s,
		       r->lat.p50_ns, r->lat.p99_ns, r->lat.p999_ns, (double)r->lat.max_ns / 1e3,
		       r->lock.writes, r->lock.vcpu_writes,
		       (double)(r->lock.vcpu_read_wait_ns + r->lock.vcpu_write_wait_ns) / 1e6,
		       r->rec.peak_outstanding_bytes / 1024, passes);
	}
	if (!o->stall)
		return;
	printf("\nduring the %.0f ms stall:\n%-14s %12s %10s %14s %12s\n",
	       (double)o->stall_ns / 1e6, "strategy", "faults/s", "x before", "peak retired",
	       "peak KiB");
	for (int i = 0; i < nr; i++) {
		const struct row *r = &rows[i];

		printf("%-14s %12.0f %10.3f %14" PRIu64 " %12" PRIu64 "\n",
		       tdpmmu_strategy_name(r->s), r->stall_faults_per_s,
		       ratio(r->stall_faults_per_s, r->faults_per_s), r->stall_peak_outstanding,
		       r->stall_peak_outstanding * 4);
	}
}

static void write_json(FILE *f, const struct reclaim_opts *o, const struct row *rows, int nr,
		       const char *scenario)
{
	fputs("  \"results\": [", f);
	for (int i = 0; i < nr; i++) {
		const struct row *r = &rows[i];

		fprintf(f, "%s\n    {\"scenario\": \"%s\", \"strategy\": \"%s\", \"vcpus\": %u, "
			   "\"seconds\": %.6f, \"faults_per_s\": %.1f, \"huge_replaced_per_s\": %.1f,"
			   "\n     \"fault_latency_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64
			   ", \"p999\": %" PRIu64 ", \"max\": %" PRIu64 ", \"count\": %" PRIu64 "},"
			   "\n     \"lock\": ",
			i ? "," : "", scenario, tdpmmu_strategy_name(r->s), o->b.sw.vcpus, r->seconds,
			r->faults_per_s, r->replaced_per_s, r->lat.p50_ns, r->lat.p99_ns,
			r->lat.p999_ns, r->lat.max_ns, r->lat.count);
		bench_json_lock(f, &r->lock);
		fputs(",\n     \"reclaim\": ", f);
		bench_json_reclaim(f, &r->rec);
		if (o->stall)
			fprintf(f, ",\n     \"stall\": {\"ms\": %.3f, \"faults_per_s\": %.1f, "
				   "\"peak_outstanding\": %" PRIu64 ", \"peak_outstanding_bytes\": %"
				   PRIu64 "}",
				r->stall_s * 1e3, r->stall_faults_per_s, r->stall_peak_outstanding,
				r->stall_peak_outstanding * 4096);
		fputs("}", f);
	}
	fputs("\n  ]\n", f);
}

static int reclaim_bench(int argc, char **argv, bool stall)
{
	const char *scenario = stall ? "stalled-reader" : "huge-over-table";
	struct reclaim_opts o = { .seconds = 1.0, .stall_ns = 200000000ull, .stall = stall };
	struct row rows[TDPMMU_NR_STRATEGIES];
	struct machine_info m;
	char command[512];
	size_t len;
	FILE *json;
	int nr = 0;

	bench_opts_init(&o.b, TDPMMU_BACKING_THP);
	o.b.sw.vcpus = 2;
	memset(o.strategies, 1, sizeof(o.strategies));
	parse_options(stall ? stall_options : hot_options, argc, argv, &o,
		      stall ? "bench stalled-reader" : "bench huge-over-table");
	if (o.b.sw.vcpus < 2)
		usage_error("-v: %s needs at least 2 vCPUs (huge and small ones)", scenario);
	if (stall && o.stall_ns >= (uint64_t)(o.seconds * 1e9) / 2)
		usage_error("--stall-ms must be under half of --seconds");
	len = (size_t)snprintf(command, sizeof(command), "tdpmmu bench %s -v %u --seconds %g%s",
			       scenario, o.b.sw.vcpus, o.seconds, stall ? " --stall-ms " : "");
	if (stall)
		len += (size_t)snprintf(command + len, sizeof(command) - len, "%" PRIu64,
					o.stall_ns / 1000000);
	len += (size_t)snprintf(command + len, sizeof(command) - len, " --strategy ");
	for (int s = 0, first = 1; s < TDPMMU_NR_STRATEGIES; s++)
		if (o.strategies[s]) {
			len += (size_t)snprintf(command + len, sizeof(command) - len, "%s%s",
						first ? "" : ",", tdpmmu_strategy_name(s));
			first = 0;
		}
	machine_info_read(&m);
	json = bench_json_open(o.b.sw.json_path);
	bench_print_header(stdout, stall ? "stalled reader" : "huge pages over page tables",
			   command, &m);
	printf("%u huge vCPUs (2 MiB blocks: 4K table, then huge over it), %u small vCPUs "
	       "(fresh 4K pages), %.2f s per strategy\n\n",
	       nr_huge(o.b.sw.vcpus), o.b.sw.vcpus - nr_huge(o.b.sw.vcpus), o.seconds);
	for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++) {
		if (!o.strategies[s])
			continue;
		progress_show("%s: %s...", scenario, tdpmmu_strategy_name(s));
		run_one(&o, (enum tdpmmu_strategy)s, &rows[nr++]);
	}
	progress_clear();
	print_rows(&o, rows, nr);
	if (json) {
		bench_json_head(json, &m, command);
		write_json(json, &o, rows, nr, scenario);
		fputs("}\n", json);
		bench_json_close(json, o.b.sw.json_path);
	}
	return 0;
}

int bench_huge_over_table_main(int argc, char **argv)
{
	return reclaim_bench(argc, argv, false);
}

int bench_stalled_reader_main(int argc, char **argv)
{
	return reclaim_bench(argc, argv, true);
}
