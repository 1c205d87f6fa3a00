/*
 * bench_dirty_log.c - `tdpmmu bench dirty-log`, KVM's dirty_log_perf_test
 * on simulated vCPUs: populate, enable dirty logging on every memslot,
 * then per iteration one pass of the vCPUs over their memory (writes,
 * -w, else reads), get the dirty log and (manual protect) clear it word by
 * word; at the end disable dirty logging, recovering huge pages as
 * --recover says, with the vCPUs waiting or (-e) running one more pass.
 *
 * Threads: the main thread drives the phases and makes every dirty-log
 * call; the vCPU threads (bench_pool.c) run one pass each time it says so
 * and wait outside guest mode in between, so the phases never overlap,
 * except the -e pass, which runs on purpose while the main thread
 * disables dirty logging.
 *
 * Checks (exit 1 when one fails): each iteration the log holds exactly the
 * pages the guest wrote (all pages in iteration 1 with INITIALLY_SET),
 * because whether a page is written depends on its gfn only.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "compiler.h"

#define DIRTY_MAX_ITERATIONS 100

struct dirty_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned iterations;
	unsigned write_pct;
	unsigned slots;
	bool no_manual;           /* -g */
	bool run_while_disabling; /* -e */
	bool random_order;        /* -a */
	bool eager_split;
	enum tdpmmu_huge_recovery recover;
};

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

static void set_eager_split(void *ctx, const char *opt, const char *arg)
{
	((struct dirty_opts *)ctx)->eager_split = true;
}

static const char *const recover_names[] = {
	[TDPMMU_RECOVER_NONE] = "none",
	[TDPMMU_RECOVER_ZAP] = "zap",
	[TDPMMU_RECOVER_INPLACE] = "inplace",
};

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
	print_dirty_log_help(stdout);
	exit(0);
}

static const struct cli_option dirty_options[] = {
	{ 'v', NULL, true, sweep_set_vcpus },
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
	{ 0, "json", true, sweep_set_json },
	{ 0, "strategy", true, sweep_set_strategies },
	{ 'h', "help", false, show_help },
	{ 0 },
};

static unsigned log_flags(const struct dirty_opts *o)
{
	unsigned f = o->eager_split ? TDPMMU_DIRTY_LOG_EAGER_SPLIT : 0;

	if (!o->no_manual)
		f |= TDPMMU_DIRTY_LOG_MANUAL_PROTECT | TDPMMU_DIRTY_LOG_INITIALLY_SET;
	return f;
}

/* What one run measured. */
struct dirty_result {
	struct bench_phases phases;
	uint64_t dirty[DIRTY_MAX_ITERATIONS + 1];       /* bits set, per iteration */
	uint64_t reprotected[DIRTY_MAX_ITERATIONS + 1]; /* pages clear re-protected */
	uint64_t get_ns, clear_ns;
	uint64_t enable_wrprot; /* leaves enable write-protected */
	uint64_t disable_pass_faults;
	int64_t counters[TDPMMU_NR_COUNTERS];
};

struct dirty_run {
	const struct dirty_opts *o;
	struct tdpmmu_vm *vm;
	struct bench_pool *pool;
	struct populate_guest *guests;
	uint64_t *bitmap; /* one slot's */
	uint64_t pages, slot_pages, written;
	struct dirty_result *res;
};

static void print_phase(struct dirty_run *d, const char *name, uint64_t ns, uint64_t faults)
{
	char secs[40];

	bench_format_secs(ns, secs, sizeof(secs));
	printf("%s time: %s\n", name, secs);
	fflush(stdout);
	bench_phase_add(&d->res->phases, name, ns, faults);
}

static uint64_t vcpu_faults(struct dirty_run *d, uint64_t *fast)
{
	struct bench_vcpu_sum s;

	bench_pool_stats(d->pool, &s);
	if (fast)
		*fast = s.faults_fast;
	return s.ept_violations;
}

/* One pass of every vCPU over its region; returns its time, *faults its EPT violations. */
static uint64_t vcpu_pass(struct dirty_run *d, unsigned write_pct, uint64_t *faults)
{
	uint64_t before = vcpu_faults(d, NULL), ns, n = bench_pages_per_vcpu(&d->o->b);

	for (unsigned i = 0; i < d->o->b.sw.vcpus; i++)
		populate_guest_init_range(&d->guests[i], (uint64_t)i * n, n, i,
					  d->o->random_order, write_pct);
	ns = bench_pool_pass(d->pool);
	*faults = vcpu_faults(d, NULL) - before;
	return ns;
}

static void check(int r, const char *what, unsigned slot)
{
	if (r < 0)
		fatal("%s of memslot %u: %s", what, slot, strerror(-r));
}

static void enable_logging(struct dirty_run *d)
{
	uint64_t t0 = tdp_now_ns();

	for (unsigned s = 0; s < d->o->slots; s++) {
		int r = tdpmmu_dirty_log_enable(d->vm, s, log_flags(d->o));

		check(r, "enabling dirty logging", s);
		d->res->enable_wrprot += (uint64_t)r;
	}
	print_phase(d, "Enabling dirty logging", tdp_now_ns() - t0, 0);
	printf("\n");
}

/* Get every slot's log (and clear it, manual mode), timed apart. */
static void get_and_clear(struct dirty_run *d, unsigned it)
{
	uint64_t words = (d->slot_pages + 63) / 64, t0, get_ns = 0, clear_ns = 0;
	char name[64];

	for (unsigned s = 0; s < d->o->slots; s++) {
		int r;

		t0 = tdp_now_ns();
		r = tdpmmu_dirty_log_get(d->vm, s, d->bitmap);
		get_ns += tdp_now_ns() - t0;
		check(r, "getting the dirty log", s);
		d->res->dirty[it] += (uint64_t)r;
		if (d->o->no_manual)
			continue;
		t0 = tdp_now_ns();
		for (uint64_t w = 0; w < words; w++) {
			if (!d->bitmap[w])
				continue;
			r = tdpmmu_dirty_log_clear(d->vm, s, w * 64, d->bitmap[w]);
			check(r, "clearing the dirty log", s);
			d->res->reprotected[it] += (uint64_t)r;
		}
		clear_ns += tdp_now_ns() - t0;
	}
	snprintf(name, sizeof(name), "Iteration %u get dirty log", it);
	print_phase(d, name, get_ns, 0);
	d->res->get_ns += get_ns;
	if (d->o->no_manual)
		return;
	snprintf(name, sizeof(name), "Iteration %u clear dirty log", it);
	print_phase(d, name, clear_ns, 0);
	d->res->clear_ns += clear_ns;
}

static void iteration(struct dirty_run *d, unsigned it)
{
	bool all = it == 1 && !d->o->no_manual; /* INITIALLY_SET */
	uint64_t faults, fast, fast_before, ns, want = all ? d->pages : d->written;
	char name[64];

	vcpu_faults(d, &fast_before);
	ns = vcpu_pass(d, d->o->write_pct, &faults);
	vcpu_faults(d, &fast);
	snprintf(name, sizeof(name), "Iteration %u dirty memory", it);
	print_phase(d, name, ns, faults);
	get_and_clear(d, it);
	printf("Iteration %u: %llu of %llu pages dirty in the log; %llu faults (%llu fast path)",
	       it, (unsigned long long)d->res->dirty[it], (unsigned long long)d->pages,
	       (unsigned long long)faults, (unsigned long long)(fast - fast_before));
	if (!d->o->no_manual)
		printf("; %llu re-protected", (unsigned long long)d->res->reprotected[it]);
	printf("\n\n");
	if (d->res->dirty[it] != want)
		fatal("check failed: iteration %u: %llu pages dirty in the log, expected %llu "
		      "(%s)", it, (unsigned long long)d->res->dirty[it], (unsigned long long)want,
		      all ? "INITIALLY_SET: every page" : "the pages the guest wrote");
}

static void disable_logging(struct dirty_run *d)
{
	uint64_t before = vcpu_faults(d, NULL), t0, n = bench_pages_per_vcpu(&d->o->b), pass_ns = 0;

	if (d->o->run_while_disabling) {
		for (unsigned i = 0; i < d->o->b.sw.vcpus; i++)
			populate_guest_init_range(&d->guests[i], (uint64_t)i * n, n, i,
						  d->o->random_order, d->o->write_pct);
		bench_pool_start(d->pool);
	}
	t0 = tdp_now_ns();
	for (unsigned s = 0; s < d->o->slots; s++)
		check(tdpmmu_dirty_log_disable(d->vm, s, d->o->recover), "disabling dirty logging",
		      s);
	print_phase(d, "Disabling dirty logging", tdp_now_ns() - t0, 0);
	if (d->o->run_while_disabling) {
		pass_ns = bench_pool_wait(d->pool);
		d->res->disable_pass_faults = vcpu_faults(d, NULL) - before;
		bench_phase_add(&d->res->phases, "vCPU pass while disabling (-e)", pass_ns,
				d->res->disable_pass_faults);
		printf("vCPU pass while disabling (-e): %.3f s, %llu faults\n",
		       (double)pass_ns / 1e9, (unsigned long long)d->res->disable_pass_faults);
	}
}

static void print_summary(const struct dirty_run *d)
{
	const struct dirty_result *r = d->res;
	unsigned n = d->o->iterations;
	char total[40], avg[40];
	static const enum tdpmmu_counter key[] = {
		TDPMMU_C_LEAVES_WRPROT,  TDPMMU_C_PAGES_LOGGED_DIRTY, TDPMMU_C_FAST_FAULTS_FIXED,
		TDPMMU_C_EAGER_SPLITS,   TDPMMU_C_HUGE_RECOVERED,     TDPMMU_C_COLLAPSIBLE_ZAPPED,
		TDPMMU_C_TLB_FLUSHES,    TDPMMU_C_LEAVES_4K,          TDPMMU_C_LEAVES_2M,
		TDPMMU_C_LEAVES_1G,
	};

	bench_format_secs(r->get_ns, total, sizeof(total));
	bench_format_secs(r->get_ns / n, avg, sizeof(avg));
	printf("\nGet dirty log over %u iterations took %s. (Avg %s/iteration)\n", n, total, avg);
	if (!d->o->no_manual) {
		bench_format_secs(r->clear_ns, total, sizeof(total));
		bench_format_secs(r->clear_ns / n, avg, sizeof(avg));
		printf("Clear dirty log over %u iterations took %s. (Avg %s/iteration)\n", n, total,
		       avg);
	}
	printf("\npages dirty per iteration:");
	for (unsigned i = 1; i <= n; i++)
		printf(" %llu", (unsigned long long)r->dirty[i]);
	printf(" (of %llu; the guest writes %llu per pass)\n", (unsigned long long)d->pages,
	       (unsigned long long)d->written);
	printf("leaves write-protected by enable: %llu\n\ncounters at the end:\n",
	       (unsigned long long)r->enable_wrprot);
	bench_print_counters(stdout, r->counters, key, (int)(sizeof(key) / sizeof(key[0])));
}

static void dirty_run(const struct dirty_opts *o, struct dirty_result *res)
{
	struct dirty_run d = { .o = o, .res = res };
	uint64_t n = bench_pages_per_vcpu(&o->b), ns, faults;
	struct tdpmmu_vm_config cfg;
	void **ctx;

	tdpmmu_vm_config_init(&cfg);
	d.vm = bench_vm_create(&cfg, &o->b, false, o->slots);
	d.pages = n * o->b.sw.vcpus;
	d.slot_pages = d.pages / o->slots;
	for (uint64_t gfn = 0; gfn < d.pages; gfn++)
		d.written += populate_page_written(gfn, o->write_pct);
	d.guests = calloc(o->b.sw.vcpus, sizeof(*d.guests));
	ctx = calloc(o->b.sw.vcpus, sizeof(*ctx));
	d.bitmap = calloc((d.slot_pages + 63) / 64, sizeof(uint64_t));
	if (!d.guests || !ctx || !d.bitmap)
		fatal("out of memory");
	for (unsigned i = 0; i < o->b.sw.vcpus; i++)
		ctx[i] = &d.guests[i];
	d.pool = bench_pool_create(d.vm, o->b.sw.vcpus, populate_guest_next, ctx, 0);

	/* Populate writes every page, so that enable has writable leaves to protect. */
	ns = vcpu_pass(&d, 100, &faults);
	print_phase(&d, "Populate memory", ns, faults);
	enable_logging(&d);
	for (unsigned it = 1; it <= o->iterations; it++)
		iteration(&d, it);
	disable_logging(&d);
	bench_pool_destroy(d.pool);
	tdpmmu_read_counters(d.vm, res->counters);
	print_summary(&d);
	tdpmmu_vm_destroy(d.vm);
	free(d.bitmap);
	free(ctx);
	free(d.guests);
}

static void write_json(FILE *f, const struct dirty_opts *o, const struct dirty_result *r)
{
	fprintf(f, "  \"config\": {\"vcpus\": %u, \"bytes_per_vcpu\": %llu, \"backing\": ",
		o->b.sw.vcpus, (unsigned long long)o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"iterations\": %u, \"manual_protect\": %s, \"initially_set\": %s, "
		   "\"run_vcpus_while_disabling\": %s, \"write_pct\": %u, \"random_access\": %s, "
		   "\"memslots\": %u, \"eager_split\": %s, \"recover\": \"%s\"},\n",
		o->iterations, o->no_manual ? "false" : "true", o->no_manual ? "false" : "true",
		o->run_while_disabling ? "true" : "false", o->write_pct,
		o->random_order ? "true" : "false", o->slots, o->eager_split ? "true" : "false",
		recover_names[o->recover]);
	fprintf(f, "  \"results\": [\n    {\"scenario\": \"dirty-log\", \"strategy\": \"%s\", "
		   "\"vcpus\": %u,\n    \"phases\": ", tdpmmu_strategy_name(o->b.sw.strategy), o->b.sw.vcpus);
	bench_json_phases(f, &r->phases);
	fputs(",\n    \"dirty_pages\": [", f);
	for (unsigned i = 1; i <= o->iterations; i++)
		fprintf(f, "%s%llu", i > 1 ? ", " : "", (unsigned long long)r->dirty[i]);
	fputs("],\n    \"reprotected_pages\": [", f);
	for (unsigned i = 1; i <= o->iterations; i++)
		fprintf(f, "%s%llu", i > 1 ? ", " : "", (unsigned long long)r->reprotected[i]);
	fprintf(f, "],\n    \"get_dirty_log_seconds\": %.9f, \"clear_dirty_log_seconds\": %.9f, "
		   "\"enable_write_protected\": %llu, \"disable_pass_faults\": %llu,\n"
		   "    \"counters\": ",
		(double)r->get_ns / 1e9, (double)r->clear_ns / 1e9,
		(unsigned long long)r->enable_wrprot, (unsigned long long)r->disable_pass_faults);
	bench_json_counters(f, r->counters);
	fputs("}\n  ]\n", f);
}

static void format_command(const struct dirty_opts *o, char *buf, size_t len)
{
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	snprintf(buf, len, "tdpmmu bench dirty-log -v %u -b %s -s %s -i %u -w %u -x %u%s%s%s%s "
		 "--recover %s --strategy %s", o->b.sw.vcpus, size, backing_kvm_name(o->b.backing), o->iterations,
		 o->write_pct, o->slots, o->no_manual ? " -g" : "",
		 o->run_while_disabling ? " -e" : "", o->random_order ? " -a" : "",
		 o->eager_split ? " --eager-split" : "", recover_names[o->recover],
		 tdpmmu_strategy_name(o->b.sw.strategy));
}

static void print_settings(const struct dirty_opts *o)
{
	char size[32];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	printf("dirty-log: %u vCPU%s x %s (%llu pages each) in %u memslot%s; -s %s\n",
	       o->b.sw.vcpus, o->b.sw.vcpus == 1 ? "" : "s", size,
	       (unsigned long long)bench_pages_per_vcpu(&o->b), o->slots, o->slots == 1 ? "" : "s",
	       backing_kvm_name(o->b.backing));
	printf("           %u iterations; populate writes every page, then %u%% writes per pass; "
	       "%s order\n", o->iterations, o->write_pct,
	       o->random_order ? "random (-a)" : "ascending");
	printf("           %s; %s; recover %s on disable; vCPUs %s while disabling\n\n",
	       o->no_manual ? "-g: get clears and re-protects" : "MANUAL_PROTECT | INITIALLY_SET",
	       o->eager_split ? "eager split" : "no eager split", recover_names[o->recover],
	       o->run_while_disabling ? "run (-e)" : "wait");
}

int bench_dirty_log_main(int argc, char **argv)
{
	struct dirty_opts o = { .iterations = 2, .write_pct = 100, .slots = 1,
				.recover = TDPMMU_RECOVER_INPLACE };
	struct machine_info m;
	struct dirty_result *res;
	char command[512];
	FILE *json;

	bench_opts_init(&o.b, TDPMMU_BACKING_ANON);
	parse_options(dirty_options, argc, argv, &o, "bench dirty-log");
	bench_check_layout(&o.b, false, o.slots, "-x");
	format_command(&o, command, sizeof(command));
	json = bench_json_open(o.b.sw.json_path);
	res = calloc(1, sizeof(*res));
	if (!res)
		fatal("out of memory");
	machine_info_read(&m);
	bench_print_header(stdout, "dirty-log benchmark (KVM's dirty_log_perf_test)", command, &m);
	print_settings(&o);
	fflush(stdout);
	dirty_run(&o, res);
	if (json) {
		bench_json_head(json, &m, command);
		write_json(json, &o, res);
		bench_json_close(json, o.b.sw.json_path);
	}
	free(res);
	return 0;
}
