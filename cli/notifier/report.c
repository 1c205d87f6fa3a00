/*
 * report.c - `tdpmmu bench notifier` as a scenario of the sweep driver
 * (sweep.c): its settings lines, its JSON (config and per-result fields),
 * its sweep description and notifier_main().  The flags are opts.c's, the
 * runs run.c's.  Main thread only.
 */
#include <inttypes.h>
#include <math.h>

#include "notifier/notifier.h"

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
	fprintf(f,
		"          vCPUs pass over their memory again and again, every fault timed;\n"
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
	fprintf(f,
		",\n      \"faults\": %" PRIu64 ", \"accesses\": %" PRIu64 ", \"passes\": %" PRIu64
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

const struct sweep_scenario notifier_sweep = {
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

int notifier_main(const struct scenario *sc, int argc, char **argv)
{
	struct notifier_opts o;
	char command[800];

	notifier_opts_parse(&o, argc, argv);
	notifier_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
