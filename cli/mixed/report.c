/*
 * report.c - `tdpmmu bench mixed` as a scenario of the sweep driver
 * (sweep.c): its settings lines, its JSON (config and per-result fields),
 * its sweep description and mixed_main().  The flags are opts.c's, the
 * runs run.c's.  Main thread only.
 */
#include <inttypes.h>

#include "mixed/mixed.h"

static void format_rate(unsigned rate, const char *unit, char *buf, size_t len)
{
	if (rate)
		snprintf(buf, len, "%u %s/s", rate, unit);
	else
		snprintf(buf, len, "off");
}

static void print_settings(const void *opts, FILE *f)
{
	const struct mixed_opts *o = opts;
	char size[32], range[32], r[NR_ACTS][32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	format_size(o->range_bytes, range, sizeof(range));
	format_rate(o->rate[ACT_DIRTY], "rounds", r[ACT_DIRTY], sizeof(r[0]));
	format_rate(o->rate[ACT_AGE], "passes", r[ACT_AGE], sizeof(r[0]));
	format_rate(o->rate[ACT_NX], "passes", r[ACT_NX], sizeof(r[0]));
	format_rate(o->rate[ACT_INVAL], "ranges", r[ACT_INVAL], sizeof(r[0]));
	fprintf(f,
		"mixed: %s per vCPU (%llu pages), -s %s, %u%% writes, every %dth page "
		"fetched, %g s per run; %s\n",
		size, (unsigned long long)bench_pages_per_vcpu(&o->b),
		backing_kvm_name(o->b.backing), o->write_pct, BG_EXEC_EVERY, o->seconds,
		o->b.sw.payload ? "real host memory (--payload)" : "no payload");
	fprintf(f,
		"       memslot 0 (lower half) %s, memslot 1 (upper half) keeps huge pages%s\n"
		"       dirty logging by %s (--dirty-mode)\n"
		"       host, on the main thread: dirty log get+clear %s, aging %s,\n"
		"       NX recovery (1/%d of the list) %s, invalidations of %s %s\n"
		"       (%u%% remapping); every fault timed; then the check\n",
		o->rate[ACT_DIRTY] ? "logs dirty pages" : "does not log",
		o->rate[ACT_NX] ? " (NX on)" : " (NX off)",
		o->dirty_mode == TDPMMU_DIRTY_DBIT ? "Dirty bits and PML logs (dbit)"
						   : "write protection (wrprot)",
		r[ACT_DIRTY], r[ACT_AGE], MIXED_NX_RATIO, r[ACT_NX], range, r[ACT_INVAL],
		o->remap_pct);
}

static void json_config(const void *opts, FILE *f)
{
	const struct mixed_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"write_pct\": %u, \"exec_every\": %d, \"seconds\": ", o->write_pct,
		BG_EXEC_EVERY);
	json_number(f, o->seconds, 3);
	fprintf(f,
		",\n    \"dirty_rate\": %u, \"age_rate\": %u, \"nx_rate\": %u, "
		"\"nx_ratio\": %d, \"inval_rate\": %u, \"range_bytes\": %" PRIu64
		", \"remap_pct\": %u, \"dirty_mode\": \"%s\"}",
		o->rate[ACT_DIRTY], o->rate[ACT_AGE], o->rate[ACT_NX], MIXED_NX_RATIO,
		o->rate[ACT_INVAL], o->range_bytes, o->remap_pct,
		tdpmmu_dirty_mode_name(o->dirty_mode));
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct mixed_extra *x = run->extra;

	(void)opts;
	fputs("      \"seconds\": ", f);
	json_number(f, x->seconds, 6);
	fputs(", \"accesses_per_sec\": ", f);
	json_number(f, run->metric, 1);
	fputs(", \"faults_per_sec\": ", f);
	json_number(f, run->col[0], 1);
	fprintf(f,
		", \"accesses\": %" PRIu64 ", \"faults\": %" PRIu64 ", \"passes\": %" PRIu64
		",\n      \"dirty_rounds\": %" PRIu64 ", \"pages_logged\": %" PRIu64
		", \"pages_reprotected\": %" PRIu64 ", \"dirty_ns\": %" PRIu64
		",\n      \"aging_passes\": %" PRIu64 ", \"young_cleared\": %" PRIu64
		", \"aging_ns\": %" PRIu64 ",\n      \"nx_recoveries\": %" PRIu64
		", \"nx_tables_zapped\": %" PRIu64 ", \"nx_ns\": %" PRIu64
		",\n      \"invalidations\": %" PRIu64 ", \"remaps\": %" PRIu64
		", \"remaps_huge\": %" PRIu64 ", \"out_of_frames\": %s, \"invalidate_ns\": %" PRIu64
		", \"notifier_retries\": %" PRIu64 ", \"leaves_zapped\": %" PRIu64
		",\n      \"per_sec\": {\"dirty_rounds\": ",
		x->accesses, x->faults, x->passes, x->done[ACT_DIRTY], x->logged, x->reprotected,
		x->ns[ACT_DIRTY], x->done[ACT_AGE], x->young, x->ns[ACT_AGE], x->done[ACT_NX],
		x->nx_zapped, x->ns[ACT_NX], x->done[ACT_INVAL], x->iv.remaps, x->iv.remaps_huge,
		x->iv.out_of_frames ? "true" : "false", x->ns[ACT_INVAL], x->retries, x->zapped);
	json_number(f, run->col[1], 2);
	fputs(", \"aging_passes\": ", f);
	json_number(f, run->col[2], 2);
	fputs(", \"nx_recoveries\": ", f);
	json_number(f, run->col[3], 2);
	fputs(", \"invalidations\": ", f);
	json_number(f, run->col[4], 2);
	fprintf(f, "}, \"pages_checked\": %" PRIu64, x->checked);
}

const struct sweep_scenario mixed_sweep = {
	.title = "mixed benchmark (vCPUs beside dirty logging, aging, NX recovery and "
		 "MMU-notifier invalidations)",
	.metric_name = "Macc/s",
	.metric_json = "accesses_per_sec",
	.metric_what = "guest accesses per second, all vCPUs, while the host does everything "
		       "at once (the pass's start to the last vCPU stopped)",
	.metric_scale = 1e6,
	.cols = { "faults/s", "dirty rnd/s", "aging/s", "nx rec/s", "inval/s" },
	.col_decimals = { 0, 1, 1, 1, 1 },
	.latency_round = false,
	.run = mixed_run,
	.print_settings = print_settings,
	.json_config = json_config,
	.json_extra = json_extra,
};

int mixed_main(const struct scenario *sc, int argc, char **argv)
{
	struct mixed_opts o;
	char command[900];

	mixed_opts_parse(&o, argc, argv);
	mixed_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
