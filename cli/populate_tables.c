/*
 * populate_tables.c - the three tables of the populate report, one row per
 * vCPU count (its best run): fault latency and TLB flushes, the MMU lock
 * and reclamation, and the summary (time, rate, scaling beside the
 * machine reference) that ends the report.
 */
#include <math.h>

#include "populate.h"

static double mean(uint64_t total, uint64_t n)
{
	return n ? (double)total / (double)n : 0.0;
}

void populate_print_latency_table(const struct populate_report *r, FILE *f)
{
	fprintf(f, "fault latency (latency round: every fault timed) and TLB flushes (best run):\n");
	fprintf(f, "vCPUs        faults   spurious   p50 ns   p99 ns  p99.9 ns     max ns"
		   "  TLB flushes   kicks  flush wait ms\n");
	for (int i = 0; i < r->nr; i++) {
		const struct populate_result *run = &r->sum[i].run;
		const int64_t *c = run->counters;

		fprintf(f, "%5u %13llu %10lld %8llu %8llu %9llu %10llu %12lld %7lld %14.3f\n",
			run->vcpus, (unsigned long long)run->faults,
			(long long)c[TDPMMU_C_FAULTS_SPURIOUS],
			(unsigned long long)run->latency.p50_ns,
			(unsigned long long)run->latency.p99_ns,
			(unsigned long long)run->latency.p999_ns,
			(unsigned long long)run->latency.max_ns, (long long)c[TDPMMU_C_TLB_FLUSHES],
			(long long)c[TDPMMU_C_TLB_FLUSH_KICKS],
			(double)c[TDPMMU_C_TLB_FLUSH_WAIT_NS] / 1e6);
	}
}

void populate_print_lock_table(const struct populate_report *r, FILE *f)
{
	fprintf(f, "\nMMU lock while the vCPUs ran, and reclamation (best run per count):\n");
	fprintf(f, "vCPUs  read acquisitions  mean wait ns  mean hold ns  write acq  write hold ms"
		   "  retired  freed\n");
	for (int i = 0; i < r->nr; i++) {
		const struct populate_result *run = &r->sum[i].run;
		const struct tdpmmu_lock_stats *l = &run->lock;

		fprintf(f, "%5u %18llu %13.1f %13.1f %10llu %14.3f %8lld %6lld\n", run->vcpus,
			(unsigned long long)l->reads, mean(l->read_wait_ns, l->reads),
			mean(l->read_hold_ns, l->reads), (unsigned long long)l->writes,
			(double)l->write_hold_ns / 1e6,
			(long long)run->counters[TDPMMU_C_TABLES_RETIRED],
			(long long)run->counters[TDPMMU_C_TABLES_FREED]);
	}
}

static void print_share(double mmu, double machine, FILE *f)
{
	if (isfinite(mmu) && isfinite(machine) && machine > 0)
		fprintf(f, " %9.0f%%\n", 100.0 * mmu / machine);
	else
		fprintf(f, " %10s\n", "n/a");
}

void populate_print_summary_table(const struct populate_report *r, FILE *f)
{
	unsigned base = r->base->run.vcpus;

	fprintf(f, "\nsummary (best of %u round%s per count; median beside it):\n",
		r->opts->repeat, r->opts->repeat == 1 ? "" : "s");
	fprintf(f, "vCPUs        faults  populate s  Mfaults/s  ns/fault/vCPU    median"
		   "  scaling  machine ref  of machine\n");
	for (int i = 0; i < r->nr; i++) {
		const struct populate_summary *s = &r->sum[i];

		fprintf(f, "%5u %13llu %11.6f %10.3f %14.1f %9.1f %7.2fx %11.2fx", s->run.vcpus,
			(unsigned long long)s->run.faults, s->seconds, s->faults_per_s / 1e6,
			s->ns_per_fault, s->median_ns_per_fault, s->scaling, s->machine_ref_ratio);
		print_share(s->scaling, s->machine_ref_ratio, f);
	}
	fprintf(f, "scaling: faults/s over those at %u vCPU%s; machine ref: the same ratio for a\n"
		   "private, sharing-free loop in the same rounds (the best this machine allows);\n"
		   "of machine: scaling over machine ref\n",
		base, base == 1 ? "" : "s");
}
