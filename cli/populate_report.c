/*
 * populate_report.c - the text report of the populate benchmark: the
 * command, machine and settings first; after the rounds, the per-count
 * tables of latency, flushes and the lock (populate_tables.c), the
 * counters of the largest count, the floor, and the summary table last.
 */
#include <math.h>

#include "populate.h"

static const char *mapping_sizes(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_THP:
		return "2M mappings where a 2M block fits, 4K elsewhere";
	case TDPMMU_BACKING_HUGETLB_2M:
		return "2M mappings";
	case TDPMMU_BACKING_HUGETLB_1G:
		return "1G mappings";
	default:
		return "4K mappings";
	}
}

void populate_print_header(const struct populate_report *r, FILE *f)
{
	const struct populate_opts *o = r->opts;
	char size[32];

	format_size(o->bytes_per_vcpu, size, sizeof(size));
	fprintf(f, "tdpmmu %s: populate benchmark\ncommand: %s\n\n", TDPMMU_VERSION, r->command);
	machine_info_print(&r->machine, o->levels, f);
	fprintf(f, "\npopulate: %s per vCPU (%llu pages), vCPUs ", size,
		(unsigned long long)populate_pages_per_vcpu(o));
	for (int i = 0; i < o->nr_counts; i++)
		fprintf(f, "%s%u", i ? "," : "", o->vcpus[i]);
	fprintf(f, "; -s %s (%s)\n", backing_kvm_name(o->backing), mapping_sizes(o->backing));
	fprintf(f, "          %u%% writes; %s; %s order; %s\n", o->write_pct,
		o->overlap ? "all vCPUs share one region (-o)" : "each vCPU its own region",
		o->random_order ? "random (-a)" : "ascending",
		o->payload ? "real host memory (--payload)" : "no payload");
	fprintf(f, "          a latency round (every fault timed, full audit), then best of %u "
		   "interleaved\n          throughput round%s (median beside it); every run "
		   "checked\n\n",
		o->repeat, o->repeat == 1 ? "" : "s");
}

static void print_floor(const struct populate_report *r, FILE *f)
{
	unsigned base = r->base->run.vcpus;

	if (isnan(r->floor_ns_per_page)) {
		fprintf(f, "\nfloor (bare walk + CAS): n/a (needs 4K mappings: -s anonymous)\n");
		fprintf(f, "fault / floor: n/a\n");
		return;
	}
	fprintf(f, "\nfloor (bare walk + CAS): %.1f ns/page (over vCPU 0's %llu pages)\n",
		r->floor_ns_per_page, (unsigned long long)populate_pages_per_vcpu(r->opts));
	fprintf(f, "fault / floor: %.1f x (ns/fault/vCPU at %u vCPU%s over the floor; a fault\n"
		   "               here is the guest access, the EPT violation, the fault path\n"
		   "               and the access again)\n",
		r->fault_over_floor, base, base == 1 ? "" : "s");
}

/* The fault path, then the tree's accounting (teardown has not run yet). */
static const enum tdpmmu_counter shown_counters[] = {
	TDPMMU_C_FAULTS_FIXED,    TDPMMU_C_FAULTS_SPURIOUS,  TDPMMU_C_FAST_FAULTS_FIXED,
	TDPMMU_C_FAULT_RETRIES,   TDPMMU_C_CAS_FAILED,       TDPMMU_C_FROZEN_SEEN,
	TDPMMU_C_TABLES_LINKED,   TDPMMU_C_TABLES_LOST_RACE, TDPMMU_C_HUGE_SPLITS,
	TDPMMU_C_TABLES_REPLACED, TDPMMU_C_TLB_FLUSHES,      TDPMMU_C_TLB_FLUSH_KICKS,
	TDPMMU_C_TABLES_L1,       TDPMMU_C_TABLES_L2,        TDPMMU_C_TABLES_L3,
	TDPMMU_C_TABLES_L4,       TDPMMU_C_TABLES_L5,        TDPMMU_C_LEAVES_4K,
	TDPMMU_C_LEAVES_2M,       TDPMMU_C_LEAVES_1G,
};

static void print_counters(const struct populate_summary *s, unsigned levels, FILE *f)
{
	const struct populate_vcpu_totals *v = &s->run.vcpu;
	int col = 0;

	fprintf(f, "\ncounters, %u vCPUs (best run):\n", s->run.vcpus);
	fprintf(f, "  vCPUs: %llu accesses, %llu TLB misses, %llu EPT violations (%llu fast, "
		   "%llu slow path), %llu fault retries\n",
		(unsigned long long)v->accesses, (unsigned long long)v->tlb_misses,
		(unsigned long long)v->ept_violations, (unsigned long long)v->faults_fast,
		(unsigned long long)v->faults_slow, (unsigned long long)v->fault_retries);
	for (unsigned i = 0; i < sizeof(shown_counters) / sizeof(shown_counters[0]); i++) {
		enum tdpmmu_counter c = shown_counters[i];

		if (c == TDPMMU_C_TABLES_L5 && levels < 5)
			continue;
		fprintf(f, "%s%-24s %12lld", col ? "   " : "  ", tdpmmu_counter_name(c),
			(long long)s->run.counters[c]);
		if (++col == 2) {
			fputc('\n', f);
			col = 0;
		}
	}
	if (col)
		fputc('\n', f);
}

void populate_print_results(const struct populate_report *r, FILE *f)
{
	populate_print_latency_table(r, f);
	populate_print_lock_table(r, f);
	print_counters(r->largest, r->opts->levels, f);
	print_floor(r, f);
	populate_print_summary_table(r, f);
}
