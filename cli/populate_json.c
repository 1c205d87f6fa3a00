/*
 * populate_json.c - the populate report as JSON (--json FILE), written by
 * hand: one object with the machine, the command and settings, the floor,
 * and one result per vCPU count (its best run).  docs/bench.md documents
 * every field.
 */
#include <inttypes.h>

#include "bench_common.h"
#include "populate.h"

static const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

static void write_config(const struct populate_report *r, FILE *f)
{
	const struct populate_opts *o = r->opts;

	fputs("  \"command\": ", f);
	json_string(f, r->command);
	fputs(",\n  \"config\": {\n    \"vcpus\": [", f);
	for (int i = 0; i < o->nr_counts; i++)
		fprintf(f, "%s%u", i ? ", " : "", o->vcpus[i]);
	fprintf(f, "],\n    \"bytes_per_vcpu\": %" PRIu64 ",\n    \"backing\": ",
		o->bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->backing));
	fprintf(f, ",\n    \"write_pct\": %u,\n    \"overlap\": %s,\n    \"random_access\": %s,\n",
		o->write_pct, json_bool(o->overlap), json_bool(o->random_order));
	fprintf(f, "    \"payload\": %s,\n    \"repeat\": %u,\n    \"levels\": %u,\n",
		json_bool(o->payload), o->repeat, o->levels);
	fputs("    \"statistic\": \"best of interleaved rounds\"\n  },\n", f);
	fputs("  \"floor_ns_per_page\": ", f);
	json_number(f, r->floor_ns_per_page, 2);
	fputs(",\n  \"fault_over_floor\": ", f);
	json_number(f, r->fault_over_floor, 3);
	fputs(",\n", f);
}

static void write_phase(const struct populate_summary *s, FILE *f)
{
	fprintf(f, "      \"phases\": [{\"name\": \"populate\", \"seconds\": ");
	json_number(f, s->seconds, 9);
	fprintf(f, ", \"faults\": %" PRIu64 ", \"faults_per_sec\": ", s->run.faults);
	json_number(f, s->faults_per_s, 1);
	fputs("}],\n", f);
}

static void write_latency_lock(const struct populate_result *run, FILE *f)
{
	const struct tdpmmu_latency *lat = &run->latency;
	const struct tdpmmu_lock_stats *l = &run->lock;

	fprintf(f, "      \"fault_latency_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64
		   ", \"p999\": %" PRIu64 ", \"max\": %" PRIu64 ", \"count\": %" PRIu64 "},\n",
		lat->p50_ns, lat->p99_ns, lat->p999_ns, lat->max_ns, lat->count);
	fputs("      \"lock\": ", f);
	bench_json_lock(f, l);
	fputs(",\n", f);
}

static void write_reclaim(const struct tdpmmu_reclaim_stats *r, FILE *f)
{
	fputs("      \"reclaim\": ", f);
	bench_json_reclaim(f, r);
	fputs(",\n", f);
}

static void write_extras(const struct populate_summary *s, FILE *f)
{
	const struct populate_result *run = &s->run;
	const int64_t *c = run->counters;

	fprintf(f, "      \"tlb_flushes\": %lld, \"tlb_flush_kicks\": %lld, "
		   "\"tlb_flush_wait_ns\": %lld,\n",
		(long long)c[TDPMMU_C_TLB_FLUSHES], (long long)c[TDPMMU_C_TLB_FLUSH_KICKS],
		(long long)c[TDPMMU_C_TLB_FLUSH_WAIT_NS]);
	fprintf(f, "      \"pages\": %" PRIu64 ", \"faults_fixed\": %lld, "
		   "\"faults_spurious\": %lld, \"ns_per_fault_per_vcpu\": ",
		run->pages, (long long)c[TDPMMU_C_FAULTS_FIXED],
		(long long)c[TDPMMU_C_FAULTS_SPURIOUS]);
	json_number(f, s->ns_per_fault, 2);
	fputs(",\n      \"median_seconds\": ", f);
	json_number(f, s->median_seconds, 9);
	fputs(", \"median_ns_per_fault_per_vcpu\": ", f);
	json_number(f, s->median_ns_per_fault, 2);
	fputs(", \"scaling\": ", f);
	json_number(f, s->scaling, 3);
	fputs(",\n      \"machine_ref_ops_per_sec\": ", f);
	json_number(f, s->machine_ref_ops_per_s, 0);
	fputs(", \"machine_ref_ratio\": ", f);
	json_number(f, s->machine_ref_ratio, 3);
	fputs(",\n      \"counters\": {", f);
	for (int i = 0; i < TDPMMU_NR_COUNTERS; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, tdpmmu_counter_name((enum tdpmmu_counter)i));
		fprintf(f, ": %lld", (long long)c[i]);
	}
	fputs("}\n", f);
}

static void write_results(const struct populate_report *r, FILE *f)
{
	fputs("  \"results\": [", f);
	for (int i = 0; i < r->nr; i++) {
		const struct populate_summary *s = &r->sum[i];

		fprintf(f, "%s\n    {\n      \"scenario\": \"populate\", \"strategy\": \"%s\", "
			   "\"vcpus\": %u,\n", i ? "," : "",
			tdpmmu_strategy_name(r->opts->strategy), s->run.vcpus);
		write_phase(s, f);
		write_latency_lock(&s->run, f);
		write_reclaim(&s->run.reclaim, f);
		write_extras(s, f);
		fputs("    }", f);
	}
	fputs("\n  ]\n", f);
}

void populate_write_json(const struct populate_report *r, FILE *f)
{
	fputs("{\n  \"machine\": ", f);
	machine_info_json(&r->machine, r->opts->levels, f);
	fputs(",\n", f);
	write_config(r, f);
	write_results(r, f);
	fputs("}\n", f);
}
