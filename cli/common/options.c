/*
 * options.c - a small, strict option parser for the subcommands.  Unlike
 * getopt_long it does not reorder arguments, accept abbreviations or print
 * messages of its own: every problem is one usage_error() line.
 */
#include <stddef.h>
#include <string.h>

#include "cli.h"

static const struct cli_option *find_short(const struct cli_option *opts, char c)
{
	for (; opts->set; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

static const struct cli_option *find_long(const struct cli_option *opts, const char *name,
					  size_t len)
{
	for (; opts->set; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
		    !strncmp(opts->long_name, name, len))
			return opts;
	return NULL;
}

void parse_options(const struct cli_option *opts, int argc, char **argv, void *ctx,
		   const char *what)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct cli_option *o;

		if (a[0] != '-' || !a[1])
			usage_error("unexpected argument '%s' for '%s'", a, what);
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			o = find_long(opts, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (o && eq)
				val = eq + 1;
		} else {
			o = find_short(opts, a[1]);
			if (o && a[2])
				val = a + 2;
		}
		if (!o)
			usage_error("unknown option '%s' for '%s'", a, what);
		if (!o->has_arg) {
			if (val)
				usage_error("option '%s' takes no value", a);
			o->set(ctx, a, NULL);
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				usage_error("option '%s' needs a value", a);
			val = argv[++i];
		}
		o->set(ctx, a, val);
	}
}
