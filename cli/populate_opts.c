/*
 * populate_opts.c - the flags of `bench populate`, named after KVM's
 * selftests (-v, -b, -s, -o, -a, -w): defaults, parsing, the checks that
 * must pass before anything runs, and the flags written back out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "bench_common.h"
#include "populate.h"

void populate_opts_init(struct populate_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->vcpus[0] = 1;
	o->vcpus[1] = 2;
	o->nr_counts = 2;
	o->bytes_per_vcpu = 1ull << 30; /* KVM's DEFAULT_PER_VCPU_MEM_SIZE */
	o->write_pct = 100;
	o->repeat = 5;
	o->levels = 4;
	o->backing = TDPMMU_BACKING_ANON;
}

/* Insert @v into the ascending list, refusing duplicates. */
static void add_count(struct populate_opts *o, const char *opt, const char *item, unsigned v)
{
	int i;

	if (o->nr_counts == POPULATE_MAX_COUNTS)
		usage_error("%s: more than %d vCPU counts", opt, POPULATE_MAX_COUNTS);
	for (i = o->nr_counts; i > 0 && o->vcpus[i - 1] > v; i--)
		o->vcpus[i] = o->vcpus[i - 1];
	if (i > 0 && o->vcpus[i - 1] == v)
		usage_error("%s: vCPU count %s listed twice", opt, item);
	o->vcpus[i] = v;
	o->nr_counts++;
}

static void set_vcpus(void *ctx, const char *opt, const char *arg)
{
	struct populate_opts *o = ctx;
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
		if (r || v > POPULATE_MAX_VCPUS)
			usage_error("%s: %s vCPUs is more than the maximum, %d", opt, item,
				    POPULATE_MAX_VCPUS);
		add_count(o, opt, item, (unsigned)v);
		if (!p[len])
			break;
		p += len + 1;
	}
}

static void set_size(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->bytes_per_vcpu = bench_size_arg(opt, arg);
}

static void set_write_pct(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->write_pct = (unsigned)bench_number_arg(opt, arg, 0, 100);
}

static void set_backing(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->backing = bench_backing_arg(opt, arg);
}

static void set_overlap(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->overlap = true;
}

static void set_random(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->random_order = true;
}

static void set_payload(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->payload = true;
}

static void set_repeat(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->repeat =
		(unsigned)bench_number_arg(opt, arg, 1, POPULATE_MAX_REPEAT);
}

static void set_levels(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->levels = (unsigned)bench_number_arg(opt, arg, 4, 5);
}

static void set_json(void *ctx, const char *opt, const char *arg)
{
	if (!*arg)
		usage_error("%s: empty file name", opt);
	((struct populate_opts *)ctx)->json_path = arg;
}

static void set_strategy(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->strategy = bench_strategy_arg(opt, arg);
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_populate_help(stdout);
	exit(0);
}

static const struct cli_option populate_options[] = {
	{ 'v', NULL, true, set_vcpus },
	{ 'b', NULL, true, set_size },
	{ 'w', NULL, true, set_write_pct },
	{ 's', NULL, true, set_backing },
	{ 'o', NULL, false, set_overlap },
	{ 'a', NULL, false, set_random },
	{ 0, "payload", false, set_payload },
	{ 0, "repeat", true, set_repeat },
	{ 0, "levels", true, set_levels },
	{ 0, "json", true, set_json },
	{ 0, "strategy", true, set_strategy },
	{ 'h', "help", false, show_help },
	{ 0 },
};

static uint64_t machine_memory(void)
{
	struct sysinfo si;

	return sysinfo(&si) ? 0 : (uint64_t)si.totalram * si.mem_unit;
}

/*
 * The memslot of every vCPU count must fit the address width, and what it
 * really takes (page tables, and the payload's touched pages) must fit in
 * half of this machine's memory: better a usage error now than the OOM
 * killer half way through.
 */
static void check_memory(const struct populate_opts *o)
{
	uint64_t max_pages = 1ull << (o->levels * TDP_PT_BITS), mem = machine_memory();
	uint64_t align = backing_align_bytes(o->backing);
	char size[32], limit[32], page[32], need[32], have[32];

	format_size(o->bytes_per_vcpu, size, sizeof(size));
	format_size(align, page, sizeof(page));
	if (o->bytes_per_vcpu % align)
		usage_error("-s %s: -b %s is not a multiple of its %s pages",
			    backing_kvm_name(o->backing), size, page);
	for (int i = 0; i < o->nr_counts; i++) {
		unsigned n = o->overlap ? 1 : o->vcpus[i];
		uint64_t bytes;

		if (populate_pages_per_vcpu(o) > max_pages / n) {
			format_size(max_pages * POPULATE_PAGE_BYTES, limit, sizeof(limit));
			if (o->overlap)
				usage_error("-b %s is more than the %s guest address space of "
					    "%u-level tables", size, limit, o->levels);
			usage_error("%u vCPUs x %s is more than the %s guest address space of "
				    "%u-level tables", n, size, limit, o->levels);
		}
		bytes = populate_tables_needed(o, o->vcpus[i]) * POPULATE_PAGE_BYTES +
			(o->payload ? populate_slot_pages(o, o->vcpus[i]) * POPULATE_PAGE_BYTES
				    : 0);
		if (mem && bytes > mem / 2) {
			format_size_approx(bytes, need, sizeof(need));
			format_size_approx(mem, have, sizeof(have));
			usage_error("%u vCPUs x %s needs about %s of page tables%s, more than "
				    "half of this machine's %s", o->vcpus[i], size, need,
				    o->payload ? " and payload" : "", have);
		}
	}
}

void populate_opts_parse(struct populate_opts *o, int argc, char **argv)
{
	parse_options(populate_options, argc, argv, o, "bench populate");
	check_memory(o);
}

void populate_opts_format(const struct populate_opts *o, char *buf, size_t len)
{
	size_t n;
	char size[32];

	format_size(o->bytes_per_vcpu, size, sizeof(size));
	n = (size_t)snprintf(buf, len, "-v ");
	for (int i = 0; i < o->nr_counts && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? "," : "", o->vcpus[i]);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " -b %s -s %s -w %u%s%s%s --repeat %u "
				      "--levels %u --strategy %s", size, backing_kvm_name(o->backing),
				      o->write_pct, o->overlap ? " -o" : "",
				      o->random_order ? " -a" : "", o->payload ? " --payload" : "",
				      o->repeat, o->levels, tdpmmu_strategy_name(o->strategy));
}
