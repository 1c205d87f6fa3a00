/*
 * bench_nx.c - `tdpmmu bench nx-recovery`, after KVM's
 * nx_huge_pages_perf_test (and execute_perf_test): the NX huge-page
 * mitigation is on, so huge leaves are not executable and an instruction
 * fetch where a huge page could be maps 4K and lists its table on the
 * possible-NX list; the recovery thread zaps a share of the listed tables
 * every period so huge pages can come back.  Each vCPU loops over its
 * memory, fetching (TDPMMU_ACCESS_EXEC) from every page, then reading
 * every page, again and again: reads refault zapped regions as huge
 * pages, fetches split them again, and so on while recovery runs.  Every
 * fault is timed (TDPMMU_RUN_LATENCY).
 *
 * Two rows in one invocation, each on a fresh VM for --seconds: the
 * baseline without the recovery thread (period 0: after the first pass
 * every page is a 4K executable mapping and faults stop), then with it.
 * The report gives their fault latency side by side and the ratios.
 *
 * Threads: the vCPU threads (bench_pool.c) run one long pass each row;
 * the main thread waits --seconds, then sets the row's stop flag, which
 * the guest programs read with a relaxed atomic load (a lockless read is
 * allowed in guest mode) and stop at their next access.  The recovery
 * thread is the library's own.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "compiler.h"

struct nx_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned period_ms;
	unsigned ratio;
	unsigned seconds;
};

static void set_period(void *ctx, const char *opt, const char *arg)
{
	((struct nx_opts *)ctx)->period_ms = (unsigned)bench_number_arg(opt, arg, 1, 60000);
}

static void set_ratio(void *ctx, const char *opt, const char *arg)
{
	((struct nx_opts *)ctx)->ratio = (unsigned)bench_number_arg(opt, arg, 1, 1000000);
}

static void set_seconds(void *ctx, const char *opt, const char *arg)
{
	((struct nx_opts *)ctx)->seconds = (unsigned)bench_number_arg(opt, arg, 1, 3600);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_nx_help(stdout);
	exit(0);
}

static const struct cli_option nx_options[] = {
	{ 'v', NULL, true, sweep_set_vcpus },
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 0, "period", true, set_period },
	{ 0, "ratio", true, set_ratio },
	{ 0, "seconds", true, set_seconds },
	{ 0, "json", true, sweep_set_json },
	{ 0, "strategy", true, sweep_set_strategies },
	{ 'h', "help", false, show_help },
	{ 0 },
};

/* The guest program: fetch from every page, read every page, repeat until stopped. */
struct nx_guest {
	uint64_t base_gfn, npages, next;
	uint64_t loops; /* fetch+read loops begun */
	bool exec;
	const atomic_bool *stop;
};

static bool nx_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct nx_guest *g = ctx;

	if (atomic_load_explicit(g->stop, memory_order_relaxed))
		return false;
	if (g->next == g->npages) {
		g->next = 0;
		g->exec = !g->exec;
		g->loops += g->exec;
	}
	a->gpa = (g->base_gfn + g->next++) * POPULATE_PAGE_BYTES;
	a->type = g->exec ? TDPMMU_ACCESS_EXEC : TDPMMU_ACCESS_READ;
	a->value = 0;
	return true;
}

struct nx_row {
	const char *name;
	unsigned period_ms; /* 0: no recovery thread */
	uint64_t ns, faults, accesses, loops, listed_end;
	uint64_t ticks;     /* tdp_ticks() over the row, for cycles per ns */
	struct tdpmmu_latency lat;
	int64_t counters[TDPMMU_NR_COUNTERS];
};

static void sleep_ns(uint64_t ns)
{
	uint64_t end = tdp_now_ns() + ns, now;

	while ((now = tdp_now_ns()) < end) {
		struct timespec ts = { .tv_sec = (time_t)((end - now) / 1000000000ull),
				       .tv_nsec = (long)((end - now) % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
}

static void nx_row_run(const struct nx_opts *o, struct nx_row *row)
{
	uint64_t n = bench_pages_per_vcpu(&o->b), t0, k0;
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	struct bench_pool *pool;
	struct nx_guest *g;
	struct tdpmmu_vm *vm;
	atomic_bool stop;
	void **ctx;

	tdpmmu_vm_config_init(&cfg);
	cfg.nx_huge_pages = true;
	cfg.nx_recovery_period_ms = row->period_ms;
	cfg.nx_recovery_ratio = o->ratio;
	vm = bench_vm_create(&cfg, &o->b, false, 1);
	g = calloc(o->b.sw.vcpus, sizeof(*g));
	ctx = calloc(o->b.sw.vcpus, sizeof(*ctx));
	if (!g || !ctx)
		fatal("out of memory");
	atomic_init(&stop, false);
	for (unsigned i = 0; i < o->b.sw.vcpus; i++) {
		g[i] = (struct nx_guest){ .base_gfn = (uint64_t)i * n, .npages = n, .exec = true,
					  .loops = 1, .stop = &stop };
		ctx[i] = &g[i];
	}
	pool = bench_pool_create(vm, o->b.sw.vcpus, nx_guest_next, ctx, TDPMMU_RUN_LATENCY);
	t0 = tdp_now_ns();
	k0 = tdp_ticks();
	bench_pool_start(pool);
	sleep_ns((uint64_t)o->seconds * 1000000000ull);
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	bench_pool_wait(pool);
	row->ticks = tdp_ticks() - k0;
	row->ns = tdp_now_ns() - t0;
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);
	row->faults = s.ept_violations;
	row->accesses = s.accesses;
	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		row->loops += g[i].loops;
	tdpmmu_vm_fault_latency(vm, &row->lat);
	tdpmmu_read_counters(vm, row->counters);
	row->listed_end = tdpmmu_nx_listed(vm);
	tdpmmu_vm_destroy(vm);
	free(ctx);
	free(g);
}

/* TSC ticks per ns over the row (x86); 0 where the tick is the ns clock itself. */
static double cycles_per_ns(const struct nx_row *r)
{
#if defined(__x86_64__)
	return (double)r->ticks / (double)r->ns;
#else
	return 0;
#endif
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static void print_row(const struct nx_row *r)
{
	char period[16];

	if (r->period_ms)
		snprintf(period, sizeof(period), "%u ms", r->period_ms);
	else
		snprintf(period, sizeof(period), "0 (none)");
	printf("%-10s %-9s %10llu %9llu %9llu %9llu %10llu %10llu %8llu %8.1f\n", r->name, period,
	       (unsigned long long)r->faults, (unsigned long long)r->lat.p50_ns,
	       (unsigned long long)r->lat.p99_ns, (unsigned long long)r->lat.p999_ns,
	       (unsigned long long)r->lat.max_ns,
	       (unsigned long long)r->counters[TDPMMU_C_NX_RECOVERED],
	       (unsigned long long)r->listed_end,
	       (double)r->accesses / ((double)r->ns / 1e9) / 1e6);
}

static void print_report(const struct nx_row *rows)
{
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_NX_TRACKED,   TDPMMU_C_NX_SPLITS,     TDPMMU_C_NX_RECOVERED,
		TDPMMU_C_HUGE_SPLITS,  TDPMMU_C_TABLES_RETIRED, TDPMMU_C_TABLES_FREED,
		TDPMMU_C_TLB_FLUSHES,  TDPMMU_C_LEAVES_4K,     TDPMMU_C_LEAVES_2M,
		TDPMMU_C_LEAVES_1G,
	};

	printf("\n%-10s %-9s %10s %9s %9s %9s %10s %10s %8s %8s\n", "row", "period", "faults",
	       "p50 ns", "p99 ns", "p99.9 ns", "max ns", "recovered", "listed", "Macc/s");
	for (int i = 0; i < 2; i++)
		print_row(&rows[i]);
	printf("\nrecovery / baseline: p50 %.2fx, p99 %.2fx, p99.9 %.2fx, max %.2fx; "
	       "faults %.1fx\n",
	       ratio(rows[1].lat.p50_ns, rows[0].lat.p50_ns),
	       ratio(rows[1].lat.p99_ns, rows[0].lat.p99_ns),
	       ratio(rows[1].lat.p999_ns, rows[0].lat.p999_ns),
	       ratio(rows[1].lat.max_ns, rows[0].lat.max_ns),
	       ratio(rows[1].faults, rows[0].faults));
	for (int i = 0; i < 2; i++) {
		double c = cycles_per_ns(&rows[i]);

		printf("%s: Max fault latency: %llu ns", rows[i].name,
		       (unsigned long long)rows[i].lat.max_ns);
		if (c > 0)
			printf(" (%.0f cycles)", (double)rows[i].lat.max_ns * c);
		printf(", p99.9 %llu ns, p99 %llu ns, p50 %llu ns, %llu faults\n",
		       (unsigned long long)rows[i].lat.p999_ns,
		       (unsigned long long)rows[i].lat.p99_ns,
		       (unsigned long long)rows[i].lat.p50_ns, (unsigned long long)rows[i].faults);
	}
	for (int i = 0; i < 2; i++) {
		printf("\ncounters at the end of %s (%llu fetch+read loops over all vCPUs):\n",
		       rows[i].name, (unsigned long long)rows[i].loops);
		bench_print_counters(stdout, rows[i].counters, key,
				     (int)(sizeof(key) / sizeof(key[0])));
	}
}

static void write_json(FILE *f, const struct nx_opts *o, const struct nx_row *rows)
{
	fprintf(f, "  \"config\": {\"vcpus\": %u, \"bytes_per_vcpu\": %llu, \"backing\": ",
		o->b.sw.vcpus, (unsigned long long)o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"period_ms\": %u, \"ratio\": %u, \"seconds\": %u},\n  \"results\": [",
		o->period_ms, o->ratio, o->seconds);
	for (int i = 0; i < 2; i++) {
		const struct nx_row *r = &rows[i];

		fprintf(f, "%s\n    {\"scenario\": \"nx-recovery\", \"strategy\": \"%s\", "
			   "\"row\": \"%s\", \"vcpus\": %u, \"period_ms\": %u, \"ratio\": %u,\n",
			i ? "," : "", tdpmmu_strategy_name(o->b.sw.strategy), r->name, o->b.sw.vcpus, r->period_ms, o->ratio);
		fputs("     \"phases\": [{\"name\": \"fetch and read loop\", \"seconds\": ", f);
		json_number(f, (double)r->ns / 1e9, 9);
		fprintf(f, ", \"faults\": %llu}],\n", (unsigned long long)r->faults);
		fprintf(f, "     \"fault_latency_ns\": {\"p50\": %llu, \"p99\": %llu, "
			   "\"p999\": %llu, \"max\": %llu, \"count\": %llu}, "
			   "\"max_latency_cycles\": ",
			(unsigned long long)r->lat.p50_ns, (unsigned long long)r->lat.p99_ns,
			(unsigned long long)r->lat.p999_ns, (unsigned long long)r->lat.max_ns,
			(unsigned long long)r->lat.count);
		json_number(f,
			    cycles_per_ns(r) > 0 ? (double)r->lat.max_ns * cycles_per_ns(r) : NAN,
			    0);
		fprintf(f, ",\n     \"accesses\": %llu, \"loops\": %llu, \"nx_listed_end\": %llu,\n"
			   "     \"counters\": ",
			(unsigned long long)r->accesses, (unsigned long long)r->loops,
			(unsigned long long)r->listed_end);
		bench_json_counters(f, r->counters);
		fputc('}', f);
	}
	fputs("\n  ],\n  \"recovery_over_baseline\": {\"p50\": ", f);
	json_number(f, ratio(rows[1].lat.p50_ns, rows[0].lat.p50_ns), 3);
	fputs(", \"p99\": ", f);
	json_number(f, ratio(rows[1].lat.p99_ns, rows[0].lat.p99_ns), 3);
	fputs(", \"p999\": ", f);
	json_number(f, ratio(rows[1].lat.p999_ns, rows[0].lat.p999_ns), 3);
	fputs(", \"max\": ", f);
	json_number(f, ratio(rows[1].lat.max_ns, rows[0].lat.max_ns), 3);
	fputs("}\n", f);
}

int bench_nx_main(int argc, char **argv)
{
	struct nx_opts o = { .period_ms = 10, .ratio = 10, .seconds = 5 };
	struct nx_row rows[2] = { { .name = "baseline" }, { .name = "recovery" } };
	struct machine_info m;
	char command[256], size[32];
	FILE *json;

	bench_opts_init(&o.b, TDPMMU_BACKING_HUGETLB_2M);
	parse_options(nx_options, argc, argv, &o, "bench nx-recovery");
	bench_check_layout(&o.b, false, 1, "-b");
	format_size(o.b.bytes_per_vcpu, size, sizeof(size));
	snprintf(command, sizeof(command),
		 "tdpmmu bench nx-recovery -v %u -b %s -s %s --period %u --ratio %u --seconds %u "
		 "--strategy %s",
		 o.b.sw.vcpus, size, backing_kvm_name(o.b.backing), o.period_ms, o.ratio, o.seconds,
		 tdpmmu_strategy_name(o.b.sw.strategy));
	json = bench_json_open(o.b.sw.json_path);
	machine_info_read(&m);
	bench_print_header(stdout,
			   "NX huge-page recovery benchmark (after KVM's nx_huge_pages_perf_test)",
			   command, &m);
	printf("nx-recovery: %u vCPU%s x %s (%llu pages each); -s %s; NX huge pages on\n"
	       "             each vCPU: fetch from every page, read every page, again; every "
	       "fault timed\n"
	       "             baseline: no recovery thread; recovery: every %u ms zap 1/%u of "
	       "the listed tables\n             %u s per row\n",
	       o.b.sw.vcpus, o.b.sw.vcpus == 1 ? "" : "s", size,
	       (unsigned long long)bench_pages_per_vcpu(&o.b), backing_kvm_name(o.b.backing),
	       o.period_ms, o.ratio, o.seconds);
	fflush(stdout);
	rows[1].period_ms = o.period_ms;
	progress_init();
	for (int i = 0; i < 2; i++) {
		progress_show("%s row: %u s ...", rows[i].name, o.seconds);
		nx_row_run(&o, &rows[i]);
		progress_clear();
	}
	print_report(rows);
	if (json) {
		bench_json_head(json, &m, command);
		write_json(json, &o, rows);
		bench_json_close(json, o.b.sw.json_path);
	}
	return 0;
}
