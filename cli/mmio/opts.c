/*
 * opts.c - the flags of `tdpmmu bench mmio`: -v, -b, -s, --seconds,
 * --mmio-pct, --slot-rate, --slot-op, --mmio-caching, --mmio-gen-bits and the
 * sweep's common ones; the checks that must pass before anything runs
 * (the layout: memory, holes and the extra memslot inside the guest
 * address space), and the flags written back out as the report's command
 * line.  Main thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>

#include "mmio/mmio.h"

static void set_pct(void *ctx, const char *opt, const char *arg)
{
	((struct mmio_opts *)ctx)->mmio_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
}

static void set_rate(void *ctx, const char *opt, const char *arg)
{
	((struct mmio_opts *)ctx)->slot_rate =
		(unsigned)bench_number_arg(opt, arg, 0, MMIO_MAX_RATE);
}

static void set_caching(void *ctx, const char *opt, const char *arg)
{
	if (strcmp(arg, "on") && strcmp(arg, "off"))
		usage_error("%s: '%s' is not on or off", opt, arg);
	((struct mmio_opts *)ctx)->caching = !strcmp(arg, "on");
}

static void set_slot_op(void *ctx, const char *opt, const char *arg)
{
	if (strcmp(arg, "add-delete") && strcmp(arg, "dirty-log"))
		usage_error("%s: '%s' is not add-delete or dirty-log", opt, arg);
	((struct mmio_opts *)ctx)->dirty_log_op = !strcmp(arg, "dirty-log");
}

static void set_gen_bits(void *ctx, const char *opt, const char *arg)
{
	((struct mmio_opts *)ctx)->gen_bits = (unsigned)bench_number_arg(opt, arg, 1, 19);
}

static void set_seconds(void *ctx, const char *opt, const char *arg)
{
	((struct mmio_opts *)ctx)->seconds = bench_seconds_arg(opt, arg, 0.01, 3600);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	mmio_help(stdout);
	exit(0);
}

/* clang-format off */
static const struct cli_option mmio_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 0, "seconds", true, set_seconds },
	{ 0, "mmio-pct", true, set_pct },
	{ 0, "slot-rate", true, set_rate },
	{ 0, "mmio-caching", true, set_caching },
	{ 0, "slot-op", true, set_slot_op },
	{ 0, "mmio-gen-bits", true, set_gen_bits },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};
/* clang-format on */

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

void mmio_layout(const struct mmio_opts *o, unsigned vcpus, struct mmio_layout *l)
{
	l->mem_pages = bench_pages_per_vcpu(&o->b);
	/* 2 MiB apart, so the holes and the extra slot share no leaf table with memory. */
	l->hole_base = align_up(l->mem_pages * vcpus, 512);
	l->extra_base = align_up(l->hole_base + (uint64_t)vcpus * MMIO_HOLE_PAGES, 512);
	l->end = l->extra_base + MMIO_EXTRA_PAGES;
}

static void mmio_check(struct mmio_opts *o)
{
	uint64_t max_gfn = 1ull << (o->b.sw.levels * tdpmmu_pt_bits());
	struct mmio_layout l;

	if (o->b.sw.payload)
		usage_error("--payload: bench mmio runs without host memory (each memslot add "
			    "would take fresh frames)");
	bench_check_layout(&o->b, false, 1, "-b");
	mmio_layout(o, sweep_max_vcpus(&o->b.sw), &l);
	if (l.end > max_gfn) {
		char size[32];

		format_size(o->b.bytes_per_vcpu, size, sizeof(size));
		usage_error("-b %s: %u vCPUs' memory leaves no room for the MMIO holes and the "
			    "extra memslot in %u-level tables",
			    size, sweep_max_vcpus(&o->b.sw), o->b.sw.levels);
	}
}

void mmio_opts_parse(struct mmio_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	o->b.sw.counts[1] = 2;
	o->b.sw.nr_counts = 2;
	o->b.bytes_per_vcpu = 16ull << 20;
	o->mmio_pct = 50;
	o->slot_rate = 1000;
	o->caching = true;
	o->gen_bits = 19;
	o->seconds = 1;
	parse_options(mmio_options, argc, argv, o, "bench mmio");
	mmio_check(o);
}

void mmio_opts_command(const struct mmio_opts *o, const char *name, char *buf, size_t len)
{
	char common[512], size[32];

	sweep_opts_format(&o->b.sw, common, sizeof(common));
	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	snprintf(buf, len,
		 "tdpmmu bench %s%s -b %s -s %s --seconds %g --mmio-pct %u --slot-rate %u "
		 "--slot-op %s --mmio-caching %s --mmio-gen-bits %u",
		 name, common, size, backing_kvm_name(o->b.backing), o->seconds, o->mmio_pct,
		 o->slot_rate, o->dirty_log_op ? "dirty-log" : "add-delete",
		 o->caching ? "on" : "off", o->gen_bits);
}
