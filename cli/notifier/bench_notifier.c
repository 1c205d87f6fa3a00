/*
 * bench_notifier.c - `tdpmmu bench notifier`: MMU-notifier invalidation
 * storms while vCPUs fault.  Each vCPU passes over its own -b of memory
 * again and again (-w of the pages written, the rest read) for --seconds,
 * every fault timed, while the host invalidates --range at random places
 * (tdpmmu_invalidate_begin, for --remap of them tdpmmu_host_remap of the
 * 2 MiB blocks, tdpmmu_invalidate_end), back to back or --rate per second.
 * The metric: vCPU faults (EPT violations) per second.  Afterwards the VM
 * is checked (bench_background.c: audit, every leaf against the host).
 *
 * Threads: the vCPU threads (bench_pool.c) run one long pass, in guest
 * mode but for their faults; the main thread is the host: it alone calls
 * invalidate_begin/host_remap/invalidate_end, one invalidation at a time
 * and never a fault of its own, then sets the stop flag (a relaxed atomic
 * the guests load), waits for the pass to end and reads the results, all
 * under no lock but the pool's.  No thread of this file's own; the
 * library's (RCU, drain worker) are its business.
 */
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_background.h"
#include "base/compiler.h"

struct notifier_opts {
	BG_OPTS_FIELDS /* first: the shared setters take the struct as theirs */
	unsigned rate; /* invalidations per second, 0: back to back */
};

static void set_rate(void *ctx, const char *opt, const char *arg)
{
	((struct notifier_opts *)ctx)->rate = (unsigned)bench_number_arg(opt, arg, 0, 10000000);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_notifier_help(stdout);
	exit(0);
}

static const struct cli_option notifier_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	BG_CLI_OPTIONS,
	{ 0, "rate", true, set_rate },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

/* What one run measured beyond struct sweep_run, for the JSON. */
struct notifier_extra {
	double seconds;
	uint64_t faults, accesses, passes, retries, zapped, checked;
	struct bg_inval iv;
};

static void notifier_run(void *opts, bool lat_round, struct sweep_run *out)
{
	struct notifier_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	uint64_t npages = bench_pages_per_vcpu(&o->b), t0, end, due, ns;
	struct notifier_extra *x = calloc(1, sizeof(*x));
	struct bg_guest *g = calloc(n, sizeof(*g));
	void **ctx = calloc(n, sizeof(*ctx));
	int64_t c0[TDPMMU_NR_COUNTERS];
	struct tdpmmu_lock_stats lock0;
	struct tdpmmu_vm_config cfg;
	struct bench_vcpu_sum s;
	struct bench_pool *pool;
	struct tdpmmu_vm *vm;
	atomic_bool stop;
	double secs;

	(void)lat_round;
	if (!x || !g || !ctx)
		fatal("out of memory");
	tdpmmu_vm_config_init(&cfg);
	cfg.payload_bytes = bg_payload_bytes(&o->b, npages * n, 1);
	vm = bench_vm_create(&cfg, &o->b, false, 1);
	atomic_init(&stop, false);
	for (unsigned i = 0; i < n; i++) {
		bg_guest_init(&g[i], (uint64_t)i * npages, npages, o->write_pct, false, &stop);
		ctx[i] = &g[i];
	}
	bg_inval_init(&x->iv, vm, npages * n, o->range_bytes, o->remap_pct,
		      0x6e6f7469666965ull ^ ((uint64_t)n << 32) ^ o->b.sw.strategy);
	pool = bench_pool_create(vm, n, bg_guest_next, ctx, TDPMMU_RUN_LATENCY);
	tdpmmu_lock_stats_read(vm, &lock0);
	tdpmmu_counters_read(vm, c0);

	bench_pool_start(pool);
	t0 = tdp_now_ns();
	end = t0 + (uint64_t)(o->seconds * 1e9);
	due = t0;
	for (uint64_t now = t0; now < end; now = tdp_now_ns()) {
		if (o->rate && now < due) {
			bg_sleep_until(due < end ? due : end);
			continue;
		}
		bg_invalidate(&x->iv);
		if (o->rate)
			bg_pace(&due, o->rate, tdp_now_ns());
		else
			sched_yield(); /* back to back, as a host thread that gets preempted */
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	ns = bench_pool_wait(pool);
	bench_pool_stats(pool, &s);
	bench_pool_destroy(pool);

	tdpmmu_lock_stats_read(vm, &out->lock);
	sweep_lock_since(&out->lock, &lock0);
	tdpmmu_counters_read(vm, out->counters);
	tdpmmu_reclaim_stats_read(vm, &out->reclaim);
	tdpmmu_fault_latency_read(vm, &out->latency);
	out->has_latency = true;
	for (unsigned i = 0; i < n; i++)
		x->passes += g[i].passes;
	x->checked = bg_check(&(struct bg_check){ .vm = vm, .b = &o->b, .g = g, .iv = &x->iv,
						  .payload = o->b.sw.payload });
	tdpmmu_vm_destroy(vm);

	secs = (double)ns / 1e9;
	x->seconds = secs;
	x->faults = s.ept_violations;
	x->accesses = s.accesses;
	x->retries = (uint64_t)(out->counters[TDPMMU_C_NOTIFIER_RETRIES] -
				c0[TDPMMU_C_NOTIFIER_RETRIES]);
	x->zapped = (uint64_t)(out->counters[TDPMMU_C_LEAVES_ZAPPED] - c0[TDPMMU_C_LEAVES_ZAPPED]);
	bench_phase_add(&out->phases, "vCPU passes under invalidations", ns, s.ept_violations);
	out->metric = (double)s.ept_violations / secs;
	out->col[0] = (double)x->iv.count / secs;
	out->col[1] = x->iv.count ? (double)x->zapped / (double)x->iv.count : 0;
	out->col[2] = (double)x->retries / secs;
	out->col[3] = x->iv.count ? (double)x->iv.ns / (double)x->iv.count / 1e3 : 0;
	out->col[4] = (double)s.accesses / secs / 1e6;
	out->extra = x;
	if (sweep_single_run(&o->b.sw))
		printf("%s, %u vCPU%s, %.3f s: %" PRIu64 " faults, %" PRIu64 " invalidations "
		       "(%" PRIu64 " remaps), %" PRIu64 " notifier retries, %" PRIu64
		       " leaves zapped; %" PRIu64 " pages checked\n",
		       tdpmmu_strategy_name(o->b.sw.strategy), n, n == 1 ? "" : "s", secs,
		       x->faults, x->iv.count, x->iv.remaps, x->retries, x->zapped, x->checked);
	free(ctx);
	free(g);
}

static void format_rate(unsigned rate, char *buf, size_t len)
{
	if (rate)
		snprintf(buf, len, "%u per second", rate);
	else
		snprintf(buf, len, "back to back");
}

static void print_settings(const void *opts, FILE *f)
{
	const struct notifier_opts *o = opts;
	char size[32], range[32], rate[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	format_size(o->range_bytes, range, sizeof(range));
	format_rate(o->rate, rate, sizeof(rate));
	fprintf(f, "notifier: %s per vCPU (%llu pages), -s %s, %u%% writes, %g s per run; %s\n",
		size, (unsigned long long)bench_pages_per_vcpu(&o->b),
		backing_kvm_name(o->b.backing), o->write_pct, o->seconds,
		o->b.sw.payload ? "real host memory (--payload)" : "no payload");
	fprintf(f, "          vCPUs pass over their memory again and again, every fault timed;\n"
		   "          the main thread invalidates %s at random places, %s,\n"
		   "          %u%% of them remapping the 2 MiB blocks (new frames); then the check\n",
		range, rate, o->remap_pct);
}

static void json_config(const void *opts, FILE *f)
{
	const struct notifier_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"write_pct\": %u, \"seconds\": ", o->write_pct);
	json_number(f, o->seconds, 3);
	fprintf(f, ", \"range_bytes\": %" PRIu64 ", \"rate\": %u, \"remap_pct\": %u}",
		o->range_bytes, o->rate, o->remap_pct);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct notifier_extra *x = run->extra;

	(void)opts;
	fputs("      \"seconds\": ", f);
	json_number(f, x->seconds, 6);
	fputs(", \"faults_per_sec\": ", f);
	json_number(f, run->metric, 1);
	fputs(", \"invalidations_per_sec\": ", f);
	json_number(f, run->col[0], 1);
	fputs(", \"accesses_per_sec\": ", f);
	json_number(f, (double)x->accesses / x->seconds, 1);
	fprintf(f, ",\n      \"faults\": %" PRIu64 ", \"accesses\": %" PRIu64 ", \"passes\": %" PRIu64
		   ", \"invalidations\": %" PRIu64 ", \"remaps\": %" PRIu64
		   ", \"remaps_huge\": %" PRIu64 ", \"out_of_frames\": %s,\n"
		   "      \"notifier_retries\": %" PRIu64 ", \"leaves_zapped\": %" PRIu64
		   ", \"invalidate_ns_mean\": ",
		x->faults, x->accesses, x->passes, x->iv.count, x->iv.remaps, x->iv.remaps_huge,
		x->iv.out_of_frames ? "true" : "false", x->retries, x->zapped);
	json_number(f, x->iv.count ? (double)x->iv.ns / (double)x->iv.count : NAN, 0);
	fprintf(f, ", \"invalidate_ns_max\": %" PRIu64 ", \"pages_checked\": %" PRIu64,
		x->iv.max_ns, x->checked);
}

static const struct sweep_scenario notifier_scenario = {
	.name = "notifier",
	.title = "MMU-notifier invalidation storm benchmark (vCPU faults under invalidations)",
	.metric_name = "Kfaults/s",
	.metric_json = "faults_per_sec",
	.metric_what = "EPT violations handled per second, all vCPUs, while the host "
		       "invalidates (the pass's start to the last vCPU stopped)",
	.metric_scale = 1e3,
	.cols = { "inval/s", "zapped/inval", "retries/s", "inval us", "Macc/s" },
	.col_decimals = { 0, 1, 0, 2, 3 },
	.latency_round = false,
	.run = notifier_run,
	.print_settings = print_settings,
	.json_config = json_config,
	.json_extra = json_extra,
};

static void notifier_check(struct notifier_opts *o)
{
	bench_check_layout(&o->b, false, 1, "-b");
	bg_opts_check_remap((struct bg_opts *)o);
}

int bench_notifier_main(int argc, char **argv)
{
	struct notifier_opts o;
	char common[512], size[32], range[32], command[800];

	memset(&o, 0, sizeof(o));
	bg_opts_init((struct bg_opts *)&o, TDPMMU_BACKING_ANON);
	parse_options(notifier_options, argc, argv, &o, "bench notifier");
	notifier_check(&o);
	sweep_opts_format(&o.b.sw, common, sizeof(common));
	format_size(o.b.bytes_per_vcpu, size, sizeof(size));
	format_size(o.range_bytes, range, sizeof(range));
	snprintf(command, sizeof(command),
		 "tdpmmu bench notifier%s -b %s -s %s -w %u --seconds %g --range %s --rate %u "
		 "--remap %u",
		 common, size, backing_kvm_name(o.b.backing), o.write_pct, o.seconds, range, o.rate,
		 o.remap_pct);
	return sweep_main(&notifier_scenario, &o, command);
}
