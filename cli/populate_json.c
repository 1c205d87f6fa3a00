/*
 * populate_json.c - the populate report as JSON (--json FILE), written by
 * hand: machine, settings, one result per thread count (with its machine
 * reference), the floor, the ratios, and the lock statistics and counters
 * of the largest count.
 */
#include <inttypes.h>

#include "populate.h"

static void write_config(const struct populate_opts *o, FILE *f)
{
	fprintf(f, "  \"config\": {\n    \"bytes_per_thread\": %" PRIu64 ",\n",
		o->bytes_per_thread);
	fprintf(f, "    \"repeat\": %u,\n    \"statistic\": \"best of interleaved rounds\",\n", o->repeat);
	fprintf(f, "    \"levels\": %u,\n    \"backing\": ", o->levels);
	json_string(f, tdpmmu_backing_name(o->backing));
	fprintf(f, ",\n    \"max_level\": %d\n  },\n", o->max_level);
}

static void write_results(const struct populate_report *r, FILE *f)
{
	fputs("  \"results\": [", f);
	for (int i = 0; i < r->nr; i++) {
		const struct populate_summary *s = &r->sum[i];

		fprintf(f, "%s\n    {\"threads\": %u, \"faults\": %" PRIu64 ", \"seconds\": ",
			i ? "," : "", s->run.threads, s->run.faults);
		json_number(f, s->seconds, 6);
		fputs(", \"ns_per_fault\": ", f);
		json_number(f, s->ns_per_fault, 2);
		fputs(", \"median_ns_per_fault\": ", f);
		json_number(f, s->median_ns_per_fault, 2);
		fputs(", \"mfaults_per_s\": ", f);
		json_number(f, s->mfaults_per_s, 3);
		fputs(", \"machine_ref_mops_per_s\": ", f);
		json_number(f, s->machine_ref_ops_per_s / 1e6, 3);
		fputs(", \"machine_ref_ratio\": ", f);
		json_number(f, s->machine_ref_ratio, 3);
		fputc('}', f);
	}
	fputs("\n  ],\n", f);
}

static void write_ratios(const struct populate_report *r, FILE *f)
{
	fputs("  \"floor_ns\": ", f);
	json_number(f, r->floor_ns_per_gfn, 2);
	fputs(",\n  \"fault_over_floor\": ", f);
	json_number(f, r->fault_over_floor, 3);
	fprintf(f, ",\n  \"scaling_base_threads\": %u,\n  \"scaling\": {", r->base->run.threads);
	for (int i = 1; i < r->nr; i++) {
		fprintf(f, "%s\"%u\": ", i > 1 ? ", " : "", r->sum[i].run.threads);
		json_number(f, r->sum[i].mfaults_per_s / r->base->mfaults_per_s, 3);
	}
	fputs("},\n", f);
}

static void write_largest(const struct populate_summary *s, FILE *f)
{
	const struct tdpmmu_lock_stats *l = &s->run.lock;

	fprintf(f, "  \"largest\": {\n    \"threads\": %u,\n", s->run.threads);
	fprintf(f, "    \"lock\": {\"reads\": %" PRIu64 ", \"writes\": %" PRIu64
		   ", \"read_hold_ns\": %" PRIu64 ", \"read_wait_ns\": %" PRIu64
		   ", \"write_hold_ns\": %" PRIu64 ", \"write_wait_ns\": %" PRIu64 "},\n",
		l->reads, l->writes, l->read_hold_ns, l->read_wait_ns, l->write_hold_ns,
		l->write_wait_ns);
	fputs("    \"counters\": {", f);
	for (int i = 0; i < TDPMMU_NR_COUNTERS; i++) {
		fprintf(f, "%s\n      ", i ? "," : "");
		json_string(f, tdpmmu_counter_name((enum tdpmmu_counter)i));
		fprintf(f, ": %lld", (long long)s->run.counters[i]);
	}
	fputs("\n    }\n  }\n", f);
}

void populate_write_json(const struct populate_report *r, FILE *f)
{
	fputs("{\n  \"machine\": ", f);
	machine_info_json(&r->machine, r->opts->levels, f);
	fputs(",\n  \"scenario\": \"populate\",\n", f);
	write_config(r->opts, f);
	write_results(r, f);
	write_ratios(r, f);
	write_largest(r->largest, f);
	fputs("}\n", f);
}
