/*
 * bench_nx.c - `tdpmmu bench nx-recovery`, after KVM's
 * nx_huge_pages_perf_test (and execute_perf_test), as a sweep (sweep.c):
 * strategies x vCPU counts x rounds.  The NX huge-page mitigation is on,
 * so huge leaves are not executable and an instruction fetch where a huge
 * page could be maps 4K and lists its table on the possible-NX list; the
 * recovery thread zaps a share of the listed tables every period so huge
 * pages can come back.  Each vCPU loops over its memory, fetching
 * (TDPMMU_ACCESS_EXEC) from every page, then reading every page, again
 * and again: reads refault zapped regions as huge pages, fetches split
 * them again, and so on while recovery runs.  Every fault is timed
 * (TDPMMU_RUN_LATENCY).
 *
 * Each run of a configuration is two VMs of --seconds each: the baseline
 * without the recovery thread (period 0: after the first pass every page
 * is a 4K executable mapping and faults stop), then with it.  The metric
 * is the largest fault latency while recovery ran (KVM's "Max fault
 * latency"), lower is better; the target is rcu's >= 10x lower
 * than wrlock's.
 *
 * Threads: the vCPU threads (bench_pool.c) run one long pass per VM; the
 * main thread waits --seconds, then sets the stop flag, which the guest
 * programs read with a relaxed atomic load (a lockless read is allowed in
 * guest mode) and stop at their next access.  The recovery thread is the
 * library's own.  Everything else here is the main thread's.
 */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bench_common.h"
#include "base/compiler.h"

struct nx_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned period_ms;
	unsigned ratio;
	double seconds;
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
	((struct nx_opts *)ctx)->seconds = bench_seconds_arg(opt, arg, 0.05, 3600);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_nx_help(stdout);
	exit(0);
}

static const struct cli_option nx_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 0, "period", true, set_period },
	{ 0, "ratio", true, set_ratio },
	{ 0, "seconds", true, set_seconds },
	SWEEP_CLI_OPTIONS,
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

/* One VM's measurements: the baseline or the recovery half of a run. */
struct nx_row {
	unsigned period_ms; /* 0: no recovery thread */
	uint64_t ns, faults, accesses, loops, listed_end;
	uint64_t ticks;     /* tdp_ticks() over the row, for cycles per ns */
	struct tdpmmu_latency lat;
	int64_t counters[TDPMMU_NR_COUNTERS];
};

/* A run's JSON extra: both halves. */
struct nx_extra {
	struct nx_row base, rec;
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

/*
 * One VM for --seconds with @row's recovery period.  With @out (the
 * recovery half), also the lock statistics of the vCPUs' part and the
 * reclamation statistics.  The tree is audited before the VM goes.
 */
static void nx_row_run(const struct nx_opts *o, struct nx_row *row, struct sweep_run *out)
{
	uint64_t n = bench_pages_per_vcpu(&o->b), t0, k0;
	struct tdpmmu_lock_stats lock0;
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
	tdpmmu_lock_stats_read(vm, &lock0);
	t0 = tdp_now_ns();
	k0 = tdp_ticks();
	bench_pool_start(pool);
	sleep_ns((uint64_t)(o->seconds * 1e9));
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	bench_pool_wait(pool);
	row->ticks = tdp_ticks() - k0;
	row->ns = tdp_now_ns() - t0;
	if (out) {
		tdpmmu_lock_stats_read(vm, &out->lock);
		sweep_lock_since(&out->lock, &lock0);
	}
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);
	row->faults = s.ept_violations;
	row->accesses = s.accesses;
	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		row->loops += g[i].loops;
	tdpmmu_fault_latency_read(vm, &row->lat);
	tdpmmu_counters_read(vm, row->counters);
	row->listed_end = tdpmmu_nx_listed(vm);
	if (out)
		tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	if (tdpmmu_audit(vm))
		fatal("nx-recovery (%s, %u vCPUs, %s): the audit after the run found violations",
		      tdpmmu_strategy_name(o->b.sw.strategy), o->b.sw.vcpus,
		      row->period_ms ? "recovery" : "baseline");
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
	return b ? (double)a / (double)b : NAN;
}

/* The selftest's line, while a single run goes (one strategy, one count, one round). */
static void print_row_line(const char *name, const struct nx_row *r)
{
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_NX_TRACKED,   TDPMMU_C_NX_SPLITS,     TDPMMU_C_NX_RECOVERED,
		TDPMMU_C_HUGE_SPLITS,  TDPMMU_C_TABLES_RETIRED, TDPMMU_C_TABLES_FREED,
		TDPMMU_C_TLB_FLUSHES,  TDPMMU_C_LEAVES_4K,     TDPMMU_C_LEAVES_2M,
		TDPMMU_C_LEAVES_1G,
	};
	double c = cycles_per_ns(r);

	printf("%s: Max fault latency: %" PRIu64 " ns", name, r->lat.max_ns);
	if (c > 0)
		printf(" (%.0f cycles)", (double)r->lat.max_ns * c);
	printf(", p99.9 %" PRIu64 " ns, p99 %" PRIu64 " ns, p50 %" PRIu64 " ns, %" PRIu64
	       " faults, %" PRIu64 " tables listed at the end\n",
	       r->lat.p999_ns, r->lat.p99_ns, r->lat.p50_ns, r->faults, r->listed_end);
	printf("counters at the end of %s (%" PRIu64 " fetch+read loops over all vCPUs):\n", name,
	       r->loops);
	bench_print_counters(stdout, r->counters, key, (int)(sizeof(key) / sizeof(key[0])));
}

static void nx_sweep_run(void *opts, bool lat_round, struct sweep_run *out)
{
	const struct nx_opts *o = opts;
	struct nx_extra *x = calloc(1, sizeof(*x));
	bool single = sweep_single_run(&o->b.sw);

	if (!x)
		fatal("out of memory");
	x->rec.period_ms = o->period_ms;
	nx_row_run(o, &x->base, NULL);
	if (single)
		print_row_line("baseline", &x->base);
	nx_row_run(o, &x->rec, out);
	if (single) {
		print_row_line("recovery", &x->rec);
		printf("recovery / baseline: p50 %.2fx, p99 %.2fx, p99.9 %.2fx, max %.2fx; "
		       "faults %.1fx\n",
		       ratio(x->rec.lat.p50_ns, x->base.lat.p50_ns),
		       ratio(x->rec.lat.p99_ns, x->base.lat.p99_ns),
		       ratio(x->rec.lat.p999_ns, x->base.lat.p999_ns),
		       ratio(x->rec.lat.max_ns, x->base.lat.max_ns),
		       ratio(x->rec.faults, x->base.faults));
	}
	bench_phase_add(&out->phases, "baseline: fetch and read loop", x->base.ns, x->base.faults);
	bench_phase_add(&out->phases, "recovery: fetch and read loop", x->rec.ns, x->rec.faults);
	out->metric = x->rec.lat.count ? (double)x->rec.lat.max_ns / 1e3 : NAN;
	out->col[0] = (double)x->rec.lat.p99_ns / 1e3;
	out->col[1] = (double)x->rec.lat.p999_ns / 1e3;
	out->col[2] = (double)x->base.lat.max_ns / 1e3;
	out->col[3] = ratio(x->rec.lat.p99_ns, x->base.lat.p99_ns);
	out->col[4] = (double)x->rec.counters[TDPMMU_C_NX_RECOVERED];
	out->has_latency = true;
	out->latency = x->rec.lat;
	memcpy(out->counters, x->rec.counters, sizeof(out->counters));
	out->extra = x;
}

static void print_settings(const void *opts, FILE *f)
{
	const struct nx_opts *o = opts;
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	fprintf(f, "nx-recovery: %s per vCPU (%" PRIu64 " pages); -s %s; NX huge pages on; %s\n"
		   "    each vCPU: fetch from every page, read every page, again; every fault "
		   "timed\n"
		   "    each run: baseline (no recovery thread), then recovery (every %u ms zap "
		   "1/%u of\n    the listed tables), a fresh VM of %g s each, audited at the end\n",
		size, bench_pages_per_vcpu(&o->b), backing_kvm_name(o->b.backing),
		o->b.sw.payload ? "real host memory (--payload)" : "no payload", o->period_ms,
		o->ratio, o->seconds);
}

/* The target, where both rcu and wrlock ran: wrlock's max over rcu's. */
static void print_extra(const void *opts, const struct sweep_report *rep, FILE *f)
{
	const struct nx_opts *o = opts;
	bool header = false;

	for (int i = 0; i < o->b.sw.nr_counts; i++) {
		unsigned v = o->b.sw.counts[i];
		const struct sweep_row *rcu = sweep_find(rep, TDPMMU_STRATEGY_RCU, v);
		const struct sweep_row *wr = sweep_find(rep, TDPMMU_STRATEGY_WRLOCK, v);
		double r;

		if (!rcu || !wr)
			continue;
		if (!header)
			fputs("\ntarget: rcu's max fault latency with recovery >= 10x lower than "
			      "wrlock's\n",
			      f);
		header = true;
		r = sweep_ratio(rep, wr, TDPMMU_STRATEGY_RCU);
		fprintf(f, "  %u vCPU%s: wrlock / rcu max %.2fx (%s), p99.9 %.2fx, p99 %.2fx\n", v,
			v == 1 ? "" : "s", r, r >= 10 ? "met" : "not met",
			ratio(wr->latency->latency.p999_ns, rcu->latency->latency.p999_ns),
			ratio(wr->latency->latency.p99_ns, rcu->latency->latency.p99_ns));
	}
}

static void json_config(const void *opts, FILE *f)
{
	const struct nx_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"period_ms\": %u, \"ratio\": %u, \"seconds\": %g}", o->period_ms, o->ratio,
		o->seconds);
}

static void json_row(FILE *f, const char *name, const struct nx_row *r)
{
	double c = cycles_per_ns(r);

	fprintf(f, "      \"%s\": {\"period_ms\": %u, \"seconds\": ", name, r->period_ms);
	json_number(f, (double)r->ns / 1e9, 9);
	fprintf(f, ", \"faults\": %" PRIu64 ", \"accesses\": %" PRIu64 ", \"loops\": %" PRIu64
		   ", \"nx_listed_end\": %" PRIu64 ", \"nx_tables_recovered\": %" PRId64 ",\n"
		   "        \"fault_latency_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64
		   ", \"p999\": %" PRIu64 ", \"max\": %" PRIu64 ", \"count\": %" PRIu64
		   "}, \"max_latency_cycles\": ",
		r->faults, r->accesses, r->loops, r->listed_end,
		r->counters[TDPMMU_C_NX_RECOVERED], r->lat.p50_ns, r->lat.p99_ns, r->lat.p999_ns,
		r->lat.max_ns, r->lat.count);
	json_number(f, c > 0 ? (double)r->lat.max_ns * c : NAN, 0);
	fputc('}', f);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct nx_extra *x = run->extra;

	json_row(f, "baseline", &x->base);
	fputs(",\n", f);
	json_row(f, "recovery", &x->rec);
	fputs(",\n      \"recovery_over_baseline\": {\"p50\": ", f);
	json_number(f, ratio(x->rec.lat.p50_ns, x->base.lat.p50_ns), 3);
	fputs(", \"p99\": ", f);
	json_number(f, ratio(x->rec.lat.p99_ns, x->base.lat.p99_ns), 3);
	fputs(", \"p999\": ", f);
	json_number(f, ratio(x->rec.lat.p999_ns, x->base.lat.p999_ns), 3);
	fputs(", \"max\": ", f);
	json_number(f, ratio(x->rec.lat.max_ns, x->base.lat.max_ns), 3);
	fputc('}', f);
}

static const struct sweep_scenario nx_scenario = {
	.name = "nx-recovery",
	.title = "NX huge-page recovery benchmark (after KVM's nx_huge_pages_perf_test)",
	.metric_name = "rec max us",
	.metric_json = "recovery_max_fault_latency_us",
	.metric_what = "the largest fault latency while NX recovery ran, in us (the "
		       "selftest's Max fault latency)",
	.metric_scale = 1,
	.lower_is_better = true,
	.cols = { "rec p99 us", "rec p99.9 us", "base max us", "rec/base p99", "recovered" },
	.col_decimals = { 3, 3, 3, 2, 0 },
	.run = nx_sweep_run,
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

int bench_nx_main(int argc, char **argv)
{
	struct nx_opts o = { .period_ms = 10, .ratio = 10, .seconds = 5 };
	char flags[512], size[32], command[700];

	bench_opts_init(&o.b, TDPMMU_BACKING_HUGETLB_2M);
	parse_options(nx_options, argc, argv, &o, "bench nx-recovery");
	bench_check_layout(&o.b, false, 1, "-b");
	format_size(o.b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o.b.sw, flags, sizeof(flags));
	snprintf(command, sizeof(command),
		 "tdpmmu bench nx-recovery%s -b %s -s %s --period %u --ratio %u --seconds %g", flags,
		 size, backing_kvm_name(o.b.backing), o.period_ms, o.ratio, o.seconds);
	return sweep_main(&nx_scenario, &o, command);
}
