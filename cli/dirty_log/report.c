/*
 * report.c - `tdpmmu bench dirty-log` as a scenario of the sweep driver
 * (sweep.c): its settings lines, its part of the report after the
 * driver's tables (what the dirty log held, per row), its JSON (config
 * and per-result fields), its sweep description and dirty_log_main().
 * The flags are opts.c's, the runs run.c's (kvm.c's on kvm rows).  Main
 * thread only.
 */
#include <inttypes.h>

#include "dirty_log/dirty_log.h"

static void print_settings(const void *opts, FILE *f)
{
	const struct dirty_opts *o = opts;
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	fprintf(f, "dirty-log: %s per vCPU (%llu pages each) in %u memslot%s; -s %s; %s\n", size,
		(unsigned long long)bench_pages_per_vcpu(&o->b), o->slots, o->slots == 1 ? "" : "s",
		backing_kvm_name(o->b.backing),
		o->b.sw.payload ? "real host memory (--payload)" : "no payload");
	fprintf(f,
		"           %u iterations; populate writes every page, then %u%% writes per "
		"pass (seed %llu); %s order\n",
		o->iterations, o->write_pct, (unsigned long long)o->seed,
		o->random_order ? "random draws with replacement (-a)" : "ascending");
	fprintf(f, "           %s; %s; recover %s on disable; vCPUs %s while disabling\n",
		o->ring ? "--ring: per-vCPU dirty rings, harvested and reset during each pass"
		: o->no_manual ? "-g: get clears and re-protects"
			       : "MANUAL_PROTECT | INITIALLY_SET",
		o->eager_split ? "eager split" : "no eager split", dirty_recover_name(o->recover),
		o->run_while_disabling ? "run (-e)" : "wait");
	fprintf(f, "           --dirty-mode %s: %s\n", tdpmmu_dirty_mode_name(o->dirty_mode),
		o->dirty_mode == TDPMMU_DIRTY_DBIT
			? "4K leaves keep W, D cleared; the CPU's PML log records writes"
			: "W cleared; the first write to a page faults and logs it");
	fputs("           a latency round (every fault timed), then the throughput rounds;\n"
	      "           every run's dirty log checked\n",
	      f);
}

/*
 * What each logging mode costs the guest, per dirty pass: write-protection
 * faults (wrprot) against PML log entries and the exits that flushed them
 * (dbit), whole-run counters of the best round divided by the iterations.
 */
static void print_pml(const struct dirty_opts *o, const struct sweep_report *rep, FILE *f)
{
	double n = o->iterations;

	fprintf(f, "\nper dirty pass (--dirty-mode %s; whole-run counters / %u iterations):\n",
		tdpmmu_dirty_mode_name(o->dirty_mode), o->iterations);
	fprintf(f, "%-14s %5s %12s %12s %12s %12s %12s\n", "strategy", "vCPUs", "dirty faults",
		"D cleared", "PML entries", "PML flushes", "PML full");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct sweep_run *r = row->best;
		const struct dirty_extra *x = r->extra;

		fprintf(f, "%-14s %5u %12.0f %12.0f %12.0f %12.0f %12.0f\n",
			sweep_strategy_name(row->strategy), row->vcpus, (double)x->dirty_faults / n,
			(double)r->counters[TDPMMU_C_DBIT_CLEARED] / n,
			(double)r->counters[TDPMMU_C_PML_LOGGED] / n,
			(double)r->counters[TDPMMU_C_PML_FLUSHES] / n,
			(double)r->counters[TDPMMU_C_PML_FULL_EXITS] / n);
	}
	fputs("dirty faults: EPT violations of the dirty passes (the write-protection faults\n"
	      "that wrprot takes and dbit avoids); D cleared by enable, get and clear; PML\n"
	      "flushes: exits that found entries in the log; PML full: exits it forced\n",
	      f);
}

static void print_extra(const void *opts, const struct sweep_report *rep, FILE *f)
{
	const struct dirty_opts *o = opts;

	fprintf(f,
		"\ndisabling and the dirty log (best round; every run checked: each iteration's "
		"log\nheld exactly the pages the guest wrote%s):\n",
		o->no_manual || o->ring ? "" : ", every page in iteration 1 (INITIALLY_SET)");
	fprintf(f, "%-14s %5s %10s %10s %10s %12s %12s %10s %10s\n", "strategy", "vCPUs",
		"disable s", "pages", "dirty last", "re-protected", "dirty faults", "fast path",
		o->run_while_disabling ? "-e faults" : "enable wp");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct dirty_extra *x = row->best->extra;
		uint64_t reprotected = 0;

		for (unsigned it = 1; it <= o->iterations; it++)
			reprotected += dirty_reprotected(x)[it];
		fprintf(f,
			"%-14s %5u %10.6f %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %12" PRIu64
			" %10" PRIu64 " %10" PRIu64 "\n",
			sweep_strategy_name(row->strategy), row->vcpus, (double)x->disable_ns / 1e9,
			x->pages, dirty_counts(x)[o->iterations], reprotected, x->dirty_faults,
			x->dirty_fast,
			o->run_while_disabling ? x->disable_pass_faults : x->enable_wrprot);
	}
	fprintf(f,
		"disable s: Disabling dirty logging (--recover %s); dirty last: pages in "
		"the last\niteration's log; re-protected: by clear, all iterations; dirty "
		"faults: EPT violations\nof the dirty passes (fast path: fixed without the MMU "
		"lock); %s\n",
		dirty_recover_name(o->recover),
		o->run_while_disabling ? "-e faults: of the pass while disabling"
				       : "enable wp: leaves enable write-protected");
	print_pml(o, rep, f);
}

static void json_config(const void *opts, FILE *f)
{
	const struct dirty_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f,
		", \"iterations\": %u, \"manual_protect\": %s, \"initially_set\": %s,\n"
		"    \"run_vcpus_while_disabling\": %s, \"write_pct\": %u, "
		"\"seed\": %" PRIu64 ", \"random_access\": %s, \"memslots\": %u, "
		"\"eager_split\": %s, \"recover\": \"%s\", \"dirty_mode\": \"%s\"}",
		o->iterations, o->no_manual ? "false" : "true", o->no_manual ? "false" : "true",
		o->run_while_disabling ? "true" : "false", o->write_pct, o->seed,
		o->random_order ? "true" : "false", o->slots, o->eager_split ? "true" : "false",
		dirty_recover_name(o->recover), tdpmmu_dirty_mode_name(o->dirty_mode));
}

static void json_list(FILE *f, const uint64_t *v, unsigned n)
{
	fputc('[', f);
	for (unsigned i = 1; i <= n; i++)
		fprintf(f, "%s%" PRIu64, i > 1 ? ", " : "", v[i]);
	fputc(']', f);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct dirty_opts *o = opts;
	const struct dirty_extra *x = run->extra;

	fprintf(f,
		"      \"pages\": %" PRIu64 ", \"written_per_pass\": %" PRIu64
		", \"dirty_pages\": ",
		x->pages, x->written);
	json_list(f, dirty_counts(x), o->iterations);
	fputs(", \"reprotected_pages\": ", f);
	json_list(f, dirty_reprotected(x), o->iterations);
	fprintf(f,
		",\n      \"dirty_memory_seconds\": %.9f, \"get_dirty_log_seconds\": %.9f, "
		"\"clear_dirty_log_seconds\": %.9f,\n      \"dirty_faults\": %" PRIu64
		", \"dirty_fast_faults\": %" PRIu64 ", \"enable_write_protected\": %" PRIu64
		", \"disable_pass_faults\": %" PRIu64,
		(double)x->dirty_ns / 1e9, (double)x->get_ns / 1e9, (double)x->clear_ns / 1e9,
		x->dirty_faults, x->dirty_fast, x->enable_wrprot, x->disable_pass_faults);
	fprintf(f,
		",\n      \"dirty_bits_cleared\": %" PRId64 ", \"pml_entries_logged\": %" PRId64
		", \"pml_flushes\": %" PRId64 ", \"pml_full_exits\": %" PRId64,
		run->counters[TDPMMU_C_DBIT_CLEARED], run->counters[TDPMMU_C_PML_LOGGED],
		run->counters[TDPMMU_C_PML_FLUSHES], run->counters[TDPMMU_C_PML_FULL_EXITS]);
}

const struct sweep_scenario dirty_log_sweep = {
	.title = "dirty-log benchmark (KVM's dirty_log_perf_test)",
	.metric_name = "Mpages/s",
	.metric_json = "pages_written_per_sec",
	.metric_what = "pages written per second in the dirty-memory passes, all "
		       "iterations and vCPUs",
	.metric_scale = 1e6,
	/* disable s is in print_extra, beside what disabling did. */
	.cols = { "populate s", "enable s", "dirty s/it", "get s", "clear s" },
	.col_decimals = { 6, 6, 6, 6, 6 },
	.latency_round = true,
	.run = dirty_log_run,
	.run_kvm = dirty_log_kvm_run,
	.print_settings = print_settings,
	.print_extra = print_extra,
	.json_config = json_config,
	.json_extra = json_extra,
};

int dirty_log_main(const struct scenario *sc, int argc, char **argv)
{
	struct dirty_opts o;
	char command[1024];

	dirty_opts_parse(&o, argc, argv);
	dirty_opts_command(&o, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
