/*
 * opts.c - the flags of `bench dirty-log`: KVM's
 * dirty_log_perf_test names (-i, -g, -e, -w, -a, -x) and ours
 * (--eager-split, --recover), the sweep's common flags, the checks that
 * must pass before anything runs, and the flags written back out as the
 * report's command line.  Main thread only, before anything runs.
 */
#include <stdlib.h>
#include <string.h>

#include "dirty_log/dirty_log.h"
#include "sweep/sweep_kvm.h"

static void set_iterations(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->iterations =
		(unsigned)bench_number_arg(opt, arg, 2, DIRTY_MAX_ITERATIONS);
}

static void set_write_pct(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->write_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
}

static void set_slots(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->slots =
		(unsigned)bench_number_arg(opt, arg, 1, TDPMMU_MAX_MEMSLOTS);
}

static void set_no_manual(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->no_manual = true;
}

static void set_run_while_disabling(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->run_while_disabling = true;
}

static void set_random(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->random_order = true;
}

static void set_guest_page(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->guest_page = sweep_kvm_guest_page_arg(opt, arg);
}

static void set_eager_split(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->eager_split = true;
}

static const char *const recover_names[] = {
	[TDPMMU_RECOVER_NONE] = "none",
	[TDPMMU_RECOVER_ZAP] = "zap",
	[TDPMMU_RECOVER_INPLACE] = "inplace",
};

const char *dirty_recover_name(enum tdpmmu_huge_recovery r)
{
	return recover_names[r];
}

static void set_recover(void *ctx, const char *opt, const char *arg)
{
	for (unsigned i = 0; i < sizeof(recover_names) / sizeof(recover_names[0]); i++) {
		if (!strcmp(arg, recover_names[i])) {
			((struct dirty_opts *)ctx)->recover = (enum tdpmmu_huge_recovery)i;
			return;
		}
	}
	usage_error("%s: '%s' is not zap, inplace or none", opt, arg);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	dirty_log_help(stdout);
	exit(0);
}

static const struct cli_option dirty_options[] = {
	{ 'b', NULL, true, bench_set_size },
	{ 's', NULL, true, bench_set_backing },
	{ 'i', NULL, true, set_iterations },
	{ 'g', NULL, false, set_no_manual },
	{ 'e', NULL, false, set_run_while_disabling },
	{ 'w', NULL, true, set_write_pct },
	{ 'a', NULL, false, set_random },
	{ 'x', NULL, true, set_slots },
	{ 0, "eager-split", false, set_eager_split },
	{ 0, "recover", true, set_recover },
	{ 0, "guest-page", true, set_guest_page },
	SWEEP_CLI_OPTIONS,
	{ 'h', "help", false, show_help },
	{ 0 },
};

void dirty_opts_parse(struct dirty_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	bench_opts_init(&o->b, TDPMMU_BACKING_ANON);
	o->iterations = 2;
	o->write_pct = 100;
	o->slots = 1;
	o->recover = TDPMMU_RECOVER_INPLACE;
	parse_options(dirty_options, argc, argv, o, "bench dirty-log");
	/* The metric is pages written per second: none without writes. */
	if (!o->write_pct && o->b.sw.plot_path)
		usage_error("--plot: with -w 0 the guest writes nothing, so there is no "
			    "Mpages/s to draw");
	/* At the largest -v count; also --plot's check. */
	bench_check_layout(&o->b, false, o->slots, "-x");
	sweep_kvm_check_size(&o->b.sw, o->b.bytes_per_vcpu, false);
}

void dirty_opts_command(const struct dirty_opts *o, char *buf, size_t len)
{
	char size[32], common[512];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	sweep_opts_format(&o->b.sw, common, sizeof(common));
	snprintf(buf, len,
		 "tdpmmu bench dirty-log%s -b %s -s %s -i %u -w %u -x %u%s%s%s%s "
		 "--recover %s%s",
		 common, size, backing_kvm_name(o->b.backing), o->iterations, o->write_pct,
		 o->slots, o->no_manual ? " -g" : "", o->run_while_disabling ? " -e" : "",
		 o->random_order ? " -a" : "", o->eager_split ? " --eager-split" : "",
		 recover_names[o->recover], o->guest_page == 4096 ? " --guest-page 4K" : "");
}

unsigned dirty_log_flags(const struct dirty_opts *o)
{
	unsigned f = o->eager_split ? TDPMMU_DIRTY_LOG_EAGER_SPLIT : 0;

	if (!o->no_manual)
		f |= TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET;
	return f;
}
