/*
 * report.c - `tdpmmu bench mmio` as a scenario of the sweep driver
 * (sweep.c): its settings lines, its JSON (config and per-result fields),
 * its sweep description and mmio_main().  The flags are opts.c's, the
 * runs run.c's.  Main thread only.
 */
#include <inttypes.h>

#include "mmio/mmio.h"

static void print_settings(const void *opts, FILE *f)
{
	const struct mmio_opts *o = opts;
	char size[32], rate[48];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	if (o->slot_rate)
		snprintf(rate, sizeof(rate), "%u memslot updates per second", o->slot_rate);
	else
		snprintf(rate, sizeof(rate), "no memslot updates");
	fprintf(f,
		"mmio: %s of memory per vCPU (-s %s) and a hole of %u pages no memslot maps;\n"
		"      %u%% of the accesses go to the hole (MMIO caching %s, %u generation bits),\n"
		"      the rest read memory; %g s per run; meanwhile the main thread makes\n"
		"      %s (%s a %u-page memslot); then the check\n",
		size, backing_kvm_name(o->b.backing), MMIO_HOLE_PAGES, o->mmio_pct,
		o->caching ? "on" : "off", o->gen_bits, o->seconds, rate,
		o->dirty_log_op ? "turn on or off the dirty log of" : "add or delete",
		MMIO_EXTRA_PAGES);
}

static void json_config(const void *opts, FILE *f)
{
	const struct mmio_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"seconds\": ");
	json_number(f, o->seconds, 3);
	fprintf(f,
		", \"mmio_pct\": %u, \"slot_rate\": %u, \"slot_op\": \"%s\", \"mmio_caching\": %s, "
		"\"mmio_gen_bits\": %u, \"hole_pages\": %u, \"extra_slot_pages\": %u}",
		o->mmio_pct, o->slot_rate, o->dirty_log_op ? "dirty-log" : "add-delete",
		o->caching ? "true" : "false", o->gen_bits, MMIO_HOLE_PAGES, MMIO_EXTRA_PAGES);
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct mmio_extra *x = run->extra;

	(void)opts;
	fputs("      \"seconds\": ", f);
	json_number(f, x->seconds, 6);
	fputs(", \"accesses_per_sec\": ", f);
	json_number(f, run->metric, 1);
	fputs(", \"mmio_exits_per_sec\": ", f);
	json_number(f, run->col[0], 1);
	fputs(", \"memslot_updates_per_sec\": ", f);
	json_number(f, run->col[3], 1);
	fprintf(f,
		",\n      \"accesses\": %" PRIu64 ", \"memory_accesses\": %" PRIu64
		", \"hole_accesses\": %" PRIu64 ", \"device_calls\": %" PRIu64
		", \"emulated_by_vmm\": %" PRIu64 ",\n      \"mmio_exits\": %" PRId64
		", \"mmio_exits_fast\": %" PRId64 ", \"mmio_entries_stale\": %" PRId64
		", \"mmio_entries_installed\": %" PRId64 ", \"mmio_gen_wrap_zaps\": %" PRId64
		",\n      \"memslot_updates\": %" PRIu64 ", \"generations\": %" PRIu64
		", \"faults\": %" PRIu64,
		x->accesses, x->mem_accesses, x->hole_accesses, x->device_calls, x->emulated,
		x->exits, x->exits_fast, x->stale, x->installed, x->wraps, x->slot_updates,
		x->generations, x->faults);
}

const struct sweep_scenario mmio_sweep = {
	.title = "MMIO exit benchmark (MMIO entries under memslot updates)",
	.metric_name = "Macc/s",
	.metric_json = "accesses_per_sec",
	.metric_what = "guest accesses (memory and MMIO) per second, all vCPUs, while the "
		       "host updates memslots (the start to the last vCPU stopped)",
	.metric_scale = 1e6,
	.cols = { "MMIO exits/s", "fast %", "stale/s", "slot upd/s", "wrap zaps" },
	.col_decimals = { 0, 1, 0, 0, 0 },
	.latency_round = false,
	.run = mmio_run,
	.print_settings = print_settings,
	.json_config = json_config,
	.json_extra = json_extra,
};

int mmio_main(const struct scenario *sc, int argc, char **argv)
{
	struct mmio_opts o;
	char command[800];

	mmio_opts_parse(&o, argc, argv);
	mmio_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
