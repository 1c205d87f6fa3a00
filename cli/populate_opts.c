/*
 * populate_opts.c - the flags of `bench populate`: defaults, parsing and
 * the checks that must pass before anything runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "populate.h"

void populate_opts_init(struct populate_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threads[0] = 1;
	o->threads[1] = 2;
	o->nr_counts = 2;
	o->bytes_per_thread = 1ull << 30;
	o->repeat = 5;
	o->levels = 4;
	o->backing = TDPMMU_BACKING_ANON;
	o->max_level = 1;
}

bool populate_maps_4k_only(const struct populate_opts *o)
{
	return o->max_level == 1 || o->backing == TDPMMU_BACKING_ANON;
}

/* A plain number in [min, max]; @opt names the flag in the message. */
static uint64_t number_arg(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;
	int r = parse_u64(arg, &v);

	if (r == -EINVAL)
		usage_error("%s: '%s' is not a number", opt, arg);
	if (r || v < min || v > max)
		usage_error("%s: %s is out of range (%llu..%llu)", opt, arg,
			    (unsigned long long)min, (unsigned long long)max);
	return v;
}

static void set_threads(void *ctx, const char *opt, const char *arg)
{
	struct populate_opts *o = ctx;
	const char *p = arg;
	int n = 0;

	for (;;) {
		size_t len = strcspn(p, ",");
		char item[32];
		uint64_t v;
		int i, r;

		if (!len)
			usage_error("%s: empty entry in thread list '%s'", opt, arg);
		if (len >= sizeof(item))
			usage_error("%s: '%.*s' is not a number", opt, (int)len, p);
		memcpy(item, p, len);
		item[len] = '\0';
		r = parse_u64(item, &v);
		if (r == -EINVAL)
			usage_error("%s: '%s' in '%s' is not a number", opt, item, arg);
		if (!r && v == 0)
			usage_error("%s: zero threads", opt);
		if (r || v > POPULATE_MAX_THREADS)
			usage_error("%s: %s threads is more than the maximum, %d", opt, item,
				    POPULATE_MAX_THREADS);
		if (n == POPULATE_MAX_COUNTS)
			usage_error("%s: more than %d thread counts", opt, POPULATE_MAX_COUNTS);
		/* Insert in ascending order. */
		for (i = n; i > 0 && o->threads[i - 1] > v; i--)
			o->threads[i] = o->threads[i - 1];
		if (i > 0 && o->threads[i - 1] == v)
			usage_error("%s: thread count %s listed twice", opt, item);
		o->threads[i] = (unsigned)v;
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	o->nr_counts = n;
}

static void set_size(void *ctx, const char *opt, const char *arg)
{
	struct populate_opts *o = ctx;
	uint64_t v;
	int r = parse_size(arg, &v);

	if (r == -EINVAL)
		usage_error("%s: '%s' is not a size (a number with an optional K, M, G or T)",
			    opt, arg);
	if (r)
		usage_error("%s: '%s' is too large", opt, arg);
	if (v == 0)
		usage_error("%s: the size must not be zero", opt);
	if (v % POPULATE_GFN_BYTES)
		usage_error("%s: %s is not a multiple of 4K", opt, arg);
	o->bytes_per_thread = v;
}

static void set_repeat(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->repeat =
		(unsigned)number_arg(opt, arg, 1, POPULATE_MAX_REPEAT);
}

static void set_levels(void *ctx, const char *opt, const char *arg)
{
	uint64_t v = number_arg(opt, arg, 4, 5);

	((struct populate_opts *)ctx)->levels = (unsigned)v;
}

static void set_backing(void *ctx, const char *opt, const char *arg)
{
	struct populate_opts *o = ctx;

	if (tdpmmu_backing_parse(arg, &o->backing))
		usage_error("%s: unknown backing '%s' (anon, thp, hugetlb-2m, hugetlb-1g)", opt,
			    arg);
}

static void set_max_level(void *ctx, const char *opt, const char *arg)
{
	((struct populate_opts *)ctx)->max_level =
		(int)number_arg(opt, arg, 0, TDP_MAX_HUGE_LEVEL);
}

static void set_json(void *ctx, const char *opt, const char *arg)
{
	if (!*arg)
		usage_error("%s: empty file name", opt);
	((struct populate_opts *)ctx)->json_path = arg;
}

static void show_help(void *ctx, const char *opt, const char *arg)
{
	print_usage(stdout);
	exit(0);
}

static const struct cli_option populate_options[] = {
	{ 'v', NULL, true, set_threads },
	{ 'b', NULL, true, set_size },
	{ 0, "repeat", true, set_repeat },
	{ 0, "levels", true, set_levels },
	{ 's', NULL, true, set_backing },
	{ 0, "max-level", true, set_max_level },
	{ 0, "json", true, set_json },
	{ 'h', "help", false, show_help },
	{ 0 },
};

/* The memslot of every thread count must fit the address width and the backing's alignment. */
static void check_memory(const struct populate_opts *o)
{
	uint64_t max_gfn = 1ull << (o->levels * TDP_PT_BITS);
	uint64_t gfns = populate_gfns_per_thread(o), align = 1;
	char size[32], limit[32], page[32];

	if (o->backing == TDPMMU_BACKING_HUGETLB_2M)
		align = tdp_pages_per_level(TDP_LEVEL_2M);
	else if (o->backing == TDPMMU_BACKING_HUGETLB_1G)
		align = tdp_pages_per_level(TDP_LEVEL_1G);
	format_size(o->bytes_per_thread, size, sizeof(size));
	format_size(max_gfn * POPULATE_GFN_BYTES, limit, sizeof(limit));
	format_size(align * POPULATE_GFN_BYTES, page, sizeof(page));
	for (int i = 0; i < o->nr_counts; i++) {
		unsigned t = o->threads[i];

		if (gfns > max_gfn / t)
			usage_error("%u threads x %s is more than the %s guest address space of "
				    "%u-level tables",
				    t, size, limit, o->levels);
		if ((gfns * t) % align)
			usage_error("-s %s: %u threads x %s is not a multiple of %s",
				    tdpmmu_backing_name(o->backing), t, size, page);
	}
}

void populate_opts_parse(struct populate_opts *o, int argc, char **argv)
{
	parse_options(populate_options, argc, argv, o, "bench populate");
	check_memory(o);
}
