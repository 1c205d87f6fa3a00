/*
 * populate_report.c - the text report of the populate benchmark: machine
 * header and settings, one table row per thread count (with the machine
 * reference's scaling, machine_ref.c), then the floor, the ratios, and
 * the lock statistics and counters of the largest count.
 */
#include <math.h>

#include "populate.h"

static const char *const level_names[] = { "no cap", "4K", "2M", "1G" };

void populate_print_header(const struct populate_report *r, FILE *f)
{
	const struct populate_opts *o = r->opts;
	char size[32];

	format_size(o->bytes_per_thread, size, sizeof(size));
	fprintf(f, "tdpmmu %s: populate benchmark\n\n", TDPMMU_VERSION);
	machine_info_print(&r->machine, o->levels, f);
	fprintf(f, "\npopulate: %s per thread (%llu gfns), threads ", size,
		(unsigned long long)populate_gfns_per_thread(o));
	for (int i = 0; i < o->nr_counts; i++)
		fprintf(f, "%s%u", i ? "," : "", o->threads[i]);
	fprintf(f, ", backing %s, max level %d (%s)\n", tdpmmu_backing_name(o->backing),
		o->max_level, level_names[o->max_level]);
	fprintf(f, "          best of %u interleaved round%s (median beside it); every run "
		   "checked, the first round audited\n\n",
		o->repeat, o->repeat == 1 ? "" : "s");
	fprintf(f, "threads       faults     seconds  ns/fault/thread  Mfaults/s  median ns/fault"
		   "  machine ref\n");
}

void populate_print_row(const struct populate_summary *s, FILE *f)
{
	fprintf(f, "%7u %12llu %11.6f %16.1f %10.2f %16.1f %10.2f x\n", s->run.threads,
		(unsigned long long)s->run.faults, s->seconds, s->ns_per_fault,
		s->mfaults_per_s, s->median_ns_per_fault, s->machine_ref_ratio);
}

static void print_floor(const struct populate_report *r, FILE *f)
{
	const struct populate_opts *o = r->opts;
	unsigned base = r->base->run.threads;

	if (isnan(r->floor_ns_per_gfn)) {
		fprintf(f, "floor (bare walk + CAS): n/a (needs 4K mappings: -s anon or "
			   "--max-level 1)\n");
		fprintf(f, "fault / floor: n/a\n");
	} else {
		fprintf(f, "floor (bare walk + CAS): %.1f ns/gfn (over thread 0's %llu gfns)\n",
			r->floor_ns_per_gfn, (unsigned long long)populate_gfns_per_thread(o));
		fprintf(f, "fault / floor: %.1f x (ns/fault at %u thread%s over the floor)\n",
			r->fault_over_floor, base, base == 1 ? "" : "s");
	}
	for (int i = 1; i < r->nr; i++) {
		const struct populate_summary *s = &r->sum[i];

		double x = s->mfaults_per_s / r->base->mfaults_per_s;

		fprintf(f, "throughput %u threads / %u thread%s: %.2f x\n", s->run.threads, base,
			base == 1 ? "" : "s", x);
		fprintf(f, "  machine reference (private loop, no sharing): %.2f x, so the MMU "
			   "reaches %.0f%% of what this machine allows\n",
			s->machine_ref_ratio, 100.0 * x / s->machine_ref_ratio);
	}
}

static double mean(uint64_t total, uint64_t n)
{
	return n ? (double)total / (double)n : 0.0;
}

static void print_lock(const struct populate_summary *s, FILE *f)
{
	const struct tdpmmu_lock_stats *l = &s->run.lock;

	fprintf(f, "\nmmu lock, %u threads (best run):\n", s->run.threads);
	fprintf(f, "  read  %12llu acquisitions, mean hold %7.1f ns, mean wait %7.1f ns\n",
		(unsigned long long)l->reads, mean(l->read_hold_ns, l->reads),
		mean(l->read_wait_ns, l->reads));
	fprintf(f, "  write %12llu acquisitions, mean hold %7.1f ns, mean wait %7.1f ns\n",
		(unsigned long long)l->writes, mean(l->write_hold_ns, l->writes),
		mean(l->write_wait_ns, l->writes));
}

/* The fault path, then the tree's accounting (teardown has not run yet). */
static const enum tdpmmu_counter shown_counters[] = {
	TDPMMU_C_FAULTS_FIXED, TDPMMU_C_FAULTS_SPURIOUS,
	TDPMMU_C_FAULT_RETRIES, TDPMMU_C_CAS_FAILED,
	TDPMMU_C_FROZEN_SEEN, TDPMMU_C_FROZEN_SPINS,
	TDPMMU_C_TABLES_LINKED, TDPMMU_C_TABLES_LOST_RACE,
	TDPMMU_C_HUGE_SPLITS, TDPMMU_C_TABLES_REPLACED,
	TDPMMU_C_TABLES_L1, TDPMMU_C_TABLES_L2,
	TDPMMU_C_TABLES_L3, TDPMMU_C_TABLES_L4,
	TDPMMU_C_TABLES_L5, TDPMMU_C_LEAVES_4K,
	TDPMMU_C_LEAVES_2M, TDPMMU_C_LEAVES_1G,
};

static void print_counters(const struct populate_summary *s, unsigned levels, FILE *f)
{
	int col = 0;

	fprintf(f, "\ncounters, %u threads (best run):\n", s->run.threads);
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
	fputc('\n', f);
	print_floor(r, f);
	print_lock(r->largest, f);
	print_counters(r->largest, r->opts->levels, f);
}
