/*
 * bench_report.c - report pieces the benchmark scenarios share: phase
 * records, times written the selftests' way, counter lists, and the
 * JSON pieces of every result (phases, counters, lock and reclamation
 * statistics).  Main thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/bench_common.h"
#include "common/outfile.h"
#include "common/util.h"

void bench_phase_add(struct bench_phases *ph, const char *name, uint64_t ns, uint64_t faults)
{
	struct bench_phase *p;

	if (ph->n == BENCH_MAX_PHASES)
		cli_bug("more than %d phases", BENCH_MAX_PHASES);
	p = &ph->p[ph->n++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ns = ns;
	p->faults = faults;
}

void bench_format_secs(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 ".%09" PRIu64 "s", ns / UINT64_C(1000000000),
		 ns % UINT64_C(1000000000));
}

void bench_print_counters(FILE *f, const int64_t *c, const enum tdpmmu_counter *which, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(f, "  %-28s %" PRId64 "\n", tdpmmu_counter_name(which[i]), c[which[i]]);
}

FILE *bench_json_open(const char *path)
{
	return path ? outfile_open(path) : NULL;
}

void bench_json_phases(FILE *f, const struct bench_phases *ph)
{
	fputc('[', f);
	for (int i = 0; i < ph->n; i++) {
		fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
		json_string(f, ph->p[i].name);
		fputs(", \"seconds\": ", f);
		json_number(f, (double)ph->p[i].ns / 1e9, 9);
		fprintf(f, ", \"faults\": %" PRIu64 "}", ph->p[i].faults);
	}
	fputs("\n    ]", f);
}

void bench_json_counters(FILE *f, const int64_t *c)
{
	fputc('{', f);
	for (int i = 0; i < TDPMMU_NR_COUNTERS; i++) {
		fprintf(f, "%s\"", i ? ", " : "");
		fputs(tdpmmu_counter_name((enum tdpmmu_counter)i), f);
		fprintf(f, "\": %" PRId64, c[i]);
	}
	fputc('}', f);
}

void bench_json_lock(FILE *f, const struct tdpmmu_lock_stats *l)
{
	fprintf(f,
		"{\"read_acquisitions\": %" PRIu64 ", \"write_acquisitions\": %" PRIu64
		", \"vcpu_read_acquisitions\": %" PRIu64 ", \"vcpu_write_acquisitions\": %" PRIu64
		", \"read_wait_ns\": %" PRIu64 ", \"read_hold_ns\": %" PRIu64
		", \"write_wait_ns\": %" PRIu64 ", \"write_hold_ns\": %" PRIu64
		", \"vcpu_read_wait_ns\": %" PRIu64 ", \"vcpu_write_wait_ns\": %" PRIu64 "}",
		l->reads, l->writes, l->vcpu_reads, l->vcpu_writes, l->read_wait_ns,
		l->read_hold_ns, l->write_wait_ns, l->write_hold_ns, l->vcpu_read_wait_ns,
		l->vcpu_write_wait_ns);
}

void bench_json_reclaim(FILE *f, const struct tdpmmu_reclaim_stats *r)
{
	fprintf(f,
		"{\"strategy\": \"%s\", \"retired\": %" PRIu64 ", \"freed\": %" PRIu64
		", \"peak_outstanding\": %" PRIu64 ", \"peak_outstanding_bytes\": %" PRIu64
		", \"rcu_callbacks\": %" PRIu64 ", \"drains\": %" PRIu64
		", \"drain_flushes\": %" PRIu64 ", \"trylock_failures\": %" PRIu64
		", \"worker_drains\": %" PRIu64 ", \"holdoff_waits\": %" PRIu64
		", \"write_retries\": %" PRIu64 "}",
		tdpmmu_strategy_name(r->strategy), r->retired, r->freed, r->peak_outstanding,
		r->peak_outstanding_bytes, r->rcu_callbacks, r->drains, r->drain_flushes,
		r->trylock_failures, r->worker_drains, r->holdoff_waits, r->write_retries);
}

void bench_json_close(FILE *f, const char *path)
{
	if (!f)
		return;
	fputs("}\n", f);
	outfile_close(f, path);
	if (!outfile_is_stdout(path))
		printf("\nJSON written to %s\n", path);
}
