/*
 * sweep_opts.c - the flags every benchmark scenario shares: the vCPU
 * list (-v), the strategies (--strategy), rounds (--repeat), page-table
 * levels, payload, the host kernel's preemption model (--preempt), and the
 * outputs (--json, --plot); and the same flags
 * written back out for the report's command line.  Main thread only,
 * before anything runs: every problem is a usage error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bench_common.h"
#include "common/outfile.h"
#include "sweep/sweep.h"

void sweep_opts_init(struct sweep_opts *o, unsigned repeat)
{
	memset(o, 0, sizeof(*o));
	o->counts[0] = 1;
	o->nr_counts = 1;
	o->strategies[TDPMMU_STRATEGY_RCU] = true;
	o->repeat = repeat;
	o->levels = 4;
	o->preempt = TDPMMU_PREEMPT_VOLUNTARY;
	o->pages = TDPMMU_PAGES_COUNT;
	o->vcpus = 1;
}

/* Insert @v into the ascending list, refusing duplicates. */
static void add_count(struct sweep_opts *o, const char *opt, const char *item, unsigned v)
{
	int i;

	if (o->nr_counts == SWEEP_MAX_COUNTS)
		usage_error("%s: more than %d vCPU counts", opt, SWEEP_MAX_COUNTS);
	for (i = o->nr_counts; i > 0 && o->counts[i - 1] > v; i--)
		o->counts[i] = o->counts[i - 1];
	if (i > 0 && o->counts[i - 1] == v)
		usage_error("%s: vCPU count %s listed twice", opt, item);
	o->counts[i] = v;
	o->nr_counts++;
}

void sweep_set_vcpus(void *ctx, const char *opt, const char *arg)
{
	struct sweep_opts *o = ctx;
	const char *p = arg;

	o->nr_counts = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		char item[32];
		uint64_t v;
		int r;

		if (!len)
			usage_error("%s: empty entry in vCPU list '%s'", opt, arg);
		if (len >= sizeof(item))
			usage_error("%s: '%.*s' is not a number", opt, (int)len, p);
		memcpy(item, p, len);
		item[len] = '\0';
		r = parse_u64(item, &v);
		if (r == -EINVAL)
			usage_error("%s: '%s' in '%s' is not a number", opt, item, arg);
		if (!r && v == 0)
			usage_error("%s: zero vCPUs", opt);
		if (r || v > SWEEP_MAX_VCPUS)
			usage_error("%s: %s vCPUs is more than the maximum, %d", opt, item,
				    SWEEP_MAX_VCPUS);
		add_count(o, opt, item, (unsigned)v);
		if (!p[len])
			break;
		p += len + 1;
	}
	o->vcpus = o->counts[0];
}

/* Like bench_strategy_list_arg (a name listed twice is an error), and kvm too. */
void sweep_set_strategies(void *ctx, const char *opt, const char *arg)
{
	struct sweep_opts *o = ctx;
	const char *p = arg;

	memset(o->strategies, 0, sizeof(o->strategies));
	for (;;) {
		size_t len = strcspn(p, ",");
		char name[32];

		if (!len || len >= sizeof(name))
			usage_error("%s: bad strategy list '%s'", opt, arg);
		memcpy(name, p, len);
		name[len] = '\0';
		if (!strcmp(name, "kvm")) {
			if (o->strategies[SWEEP_KVM])
				usage_error("%s: strategy 'kvm' listed twice in '%s'", opt, arg);
			o->strategies[SWEEP_KVM] = true;
		} else {
			bool one[TDPMMU_NR_STRATEGIES];

			bench_strategy_list_arg(opt, name, one); /* a name, or all */
			for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++) {
				if (one[s] && o->strategies[s])
					usage_error("%s: strategy '%s' listed twice in '%s'", opt,
						    tdpmmu_strategy_name((enum tdpmmu_strategy)s),
						    arg);
				o->strategies[s] |= one[s];
			}
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	for (int s = 0; s < TDPMMU_NR_STRATEGIES; s++) {
		if (o->strategies[s]) {
			o->strategy = (enum tdpmmu_strategy)s;
			break;
		}
	}
}

void sweep_set_repeat(void *ctx, const char *opt, const char *arg)
{
	((struct sweep_opts *)ctx)->repeat =
		(unsigned)bench_number_arg(opt, arg, 1, SWEEP_MAX_REPEAT);
}

void sweep_set_levels(void *ctx, const char *opt, const char *arg)
{
	((struct sweep_opts *)ctx)->levels = (unsigned)bench_number_arg(opt, arg, 4, 5);
}

void sweep_set_payload(void *ctx, const char *opt, const char *arg)
{
	((struct sweep_opts *)ctx)->payload = true;
}

void sweep_set_preempt(void *ctx, const char *opt, const char *arg)
{
	if (tdpmmu_preempt_parse(arg, &((struct sweep_opts *)ctx)->preempt))
		usage_error("%s: '%s' is not none, voluntary or full", opt, arg);
}

void sweep_set_pages(void *ctx, const char *opt, const char *arg)
{
	if (tdpmmu_pages_parse(arg, &((struct sweep_opts *)ctx)->pages))
		usage_error("%s: '%s' is not list or count", opt, arg);
}

void sweep_set_json(void *ctx, const char *opt, const char *arg)
{
	if (!*arg)
		usage_error("%s: empty file name ('-' is standard output)", opt);
	((struct sweep_opts *)ctx)->json_path = arg;
}

void sweep_set_plot(void *ctx, const char *opt, const char *arg)
{
	if (!*arg)
		usage_error("%s: empty file name", opt);
	if (outfile_is_stdout(arg))
		usage_error("%s: a picture goes to a file, not standard output", opt);
	if (!sweep_plot_terminal(arg))
		usage_error("%s: '%s' must end in .svg or .png", opt, arg);
	((struct sweep_opts *)ctx)->plot_path = arg;
}

void sweep_opts_check(const struct sweep_opts *o)
{
	outfile_check("--json", o->json_path);
	outfile_check("--plot", o->plot_path);
	outfile_check_distinct("--json", o->json_path, "--plot", o->plot_path);
	if (o->plot_path && !sweep_have_gnuplot())
		usage_error("--plot needs gnuplot, which is not installed here "
			    "(as root: apt-get install -y gnuplot-nox)");
}

int sweep_nr_strategies(const struct sweep_opts *o)
{
	int n = 0;

	for (int s = 0; s < SWEEP_NR_STRATEGIES; s++)
		n += o->strategies[s];
	return n;
}

bool sweep_single_run(const struct sweep_opts *o)
{
	return sweep_nr_strategies(o) == 1 && o->nr_counts == 1 && o->repeat == 1;
}

void sweep_opts_format(const struct sweep_opts *o, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, " -v ");
	bool first = true, dflt = o->preempt == TDPMMU_PREEMPT_VOLUNTARY; /* --preempt left out */
	bool pages_dflt = o->pages == TDPMMU_PAGES_COUNT;                 /* --pages left out */

	for (int i = 0; i < o->nr_counts && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? "," : "", o->counts[i]);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " --strategy ");
	if (sweep_nr_strategies(o) - o->strategies[SWEEP_KVM] == TDPMMU_NR_STRATEGIES && n < len) {
		n += (size_t)snprintf(buf + n, len - n, "all%s",
				      o->strategies[SWEEP_KVM] ? ",kvm" : "");
	} else {
		for (int s = 0; s < SWEEP_NR_STRATEGIES && n < len; s++) {
			if (!o->strategies[s])
				continue;
			n += (size_t)snprintf(buf + n, len - n, "%s%s", first ? "" : ",",
					      sweep_strategy_name(s));
			first = false;
		}
	}
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " --repeat %u --levels %u%s%s%s%s%s",
				      o->repeat, o->levels, dflt ? "" : " --preempt ",
				      dflt ? "" : tdpmmu_preempt_name(o->preempt),
				      pages_dflt ? "" : " --pages ",
				      pages_dflt ? "" : tdpmmu_pages_name(o->pages),
				      o->payload ? " --payload" : "");
}
