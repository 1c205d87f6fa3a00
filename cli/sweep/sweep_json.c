/*
 * sweep_json.c - a sweep as JSON (--json FILE), written by hand: the
 * machine, the command, the scenario's settings, the sweep's own, and one
 * result per strategy and vCPU count (its best round, latency from the
 * latency round).  docs/bench.md documents every field.  Main thread only.
 *
 * SWEEP_JSON_SCHEMA counts changes a reader must know about: 1 was the
 * file without it; 2 added schema_version, tdpmmu_version and timestamp
 * (UTC, when the sweep began).
 */
#include <inttypes.h>
#include <math.h>
#include <time.h>

#include "common/bench_common.h"
#include "common/host_preempt.h"
#include "sweep/sweep.h"

#define SWEEP_JSON_SCHEMA 2

static void write_sweep(const struct sweep_opts *o, FILE *f)
{
	bool first = true;
	char host[160];

	fputs("  \"sweep\": {\"vcpus\": [", f);
	for (int i = 0; i < o->nr_counts; i++)
		fprintf(f, "%s%u", i ? ", " : "", o->counts[i]);
	fputs("], \"strategies\": [", f);
	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++) {
		if (!o->strategies[s])
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ", ", sweep_strategy_name(s));
		first = false;
	}
	fprintf(f, "], \"repeat\": %u, \"levels\": %u, \"payload\": %s, \"preempt\": \"%s\", ",
		o->repeat, o->levels, o->payload ? "true" : "false",
		tdpmmu_preempt_name(o->preempt));
	/* The kvm rows' model: the host kernel's own, whatever --preempt says. */
	host_preempt_model(host, sizeof(host));
	fputs("\"host_preempt\": ", f);
	json_string(f, host);
	fprintf(f, ", \"pages\": \"%s\"", tdpmmu_pages_name(o->pages));
	fputs(", \"statistic\": \"best of interleaved rounds\"},\n", f);
}

static void write_metric(const struct sweep_report *rep, const struct sweep_row *row, FILE *f)
{
	const struct sweep_scenario *sc = rep->sc;

	fprintf(f, "      \"metric\": {\"name\": \"%s\", \"best\": ", sc->metric_json);
	json_number(f, row->best->metric, 3);
	fputs(", \"median\": ", f);
	json_number(f, row->median, 3);
	fputs(", \"x_rcu\": ", f);
	json_number(f, sweep_ratio(rep, row, TDPMMU_STRATEGY_RCU), 4);
	fputs(", \"x_global\": ", f);
	json_number(f, sweep_ratio(rep, row, TDPMMU_STRATEGY_GLOBAL), 4);
	fprintf(f, ", \"lower_is_better\": %s, \"rounds\": %u},\n",
		sc->lower_is_better ? "true" : "false", row->nr_metrics);
}

static void write_row(const struct sweep_report *rep, const struct sweep_row *row, void *opts,
		      FILE *f)
{
	const struct sweep_run *run = row->best;
	const struct tdpmmu_latency *lat = &row->latency->latency;

	fprintf(f, "    {\n      \"scenario\": \"%s\", \"strategy\": \"%s\", \"vcpus\": %u,\n",
		rep->name, sweep_strategy_name(row->strategy), row->vcpus);
	write_metric(rep, row, f);
	fputs("      \"phases\": ", f);
	bench_json_phases(f, &run->phases);
	fputs(",\n      \"fault_latency_ns\": ", f);
	if (row->latency->has_latency)
		fprintf(f,
			"{\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p999\": %" PRIu64
			", \"max\": %" PRIu64 ", \"count\": %" PRIu64 "}",
			lat->p50_ns, lat->p99_ns, lat->p999_ns, lat->max_ns, lat->count);
	else
		fputs("null", f);
	if (row->strategy == SWEEP_KVM) {
		/* The kernel's MMU: its own statistics instead of ours. */
		fputs(",\n      \"lock\": null, \"reclaim\": null, \"counters\": null,\n"
		      "      \"kvm_stats\": ",
		      f);
		sweep_kvm_json_stats(run, f);
	} else {
		fputs(",\n      \"lock\": ", f);
		bench_json_lock(f, &run->lock);
		fputs(",\n      \"reclaim\": ", f);
		bench_json_reclaim(f, &run->reclaim);
		fputs(",\n      \"counters\": ", f);
		bench_json_counters(f, run->counters);
	}
	if (rep->sc->json_extra) {
		fputs(",\n", f);
		rep->sc->json_extra(opts, run, f);
	}
	fputs("\n    }", f);
}

void sweep_write_json(const struct sweep_report *rep, void *opts, FILE *f)
{
	char when[32];
	struct tm tm;

	gmtime_r(&rep->started, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f,
		"{\n  \"schema_version\": %d,\n  \"tdpmmu_version\": \"%s\",\n"
		"  \"timestamp\": \"%s\",\n  \"machine\": ",
		SWEEP_JSON_SCHEMA, TDPMMU_VERSION, when);
	machine_info_json(&rep->machine, rep->opts->levels, f);
	fputs(",\n  \"command\": ", f);
	json_string(f, rep->command);
	fputs(",\n", f);
	sweep_kvm_json_host(rep, f);
	fprintf(f, "  \"scenario\": \"%s\",\n  \"config\": ", rep->name);
	rep->sc->json_config(opts, f);
	fputs(",\n", f);
	write_sweep(rep->opts, f);
	fprintf(f, "  \"elapsed_seconds\": %.3f,\n  \"results\": [\n",
		(double)rep->elapsed_ns / 1e9);
	for (int i = 0; i < rep->nr_rows; i++) {
		write_row(rep, &rep->rows[i], opts, f);
		fputs(i + 1 < rep->nr_rows ? ",\n" : "\n", f);
	}
	fputs("  ]\n", f);
}
