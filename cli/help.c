/*
 * help.c - the program's --help and `tdpmmu bench --help`, both listing
 * the scenarios from the one table (scenario.c).  Each command's and
 * scenario's own --help is in its file or folder (run.c, torture/help.c,
 * cli/<scenario>/help.c).  Main thread only.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/help_flags.h"
#include "scenario.h"

#define USAGE_INDENT 26 /* where `tdpmmu --help` puts a command's text */
#define USAGE_WIDTH 76  /* ...and how wide its lines may get */
#define BENCH_INDENT 20 /* where `tdpmmu bench --help` puts a scenario's text */

/* @text's lines ('\n' between), each but the first indented by @indent. */
static void print_lines(FILE *f, const char *text, int indent)
{
	for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - text), text, indent, "");
	fprintf(f, "%s\n", text);
}

/* "  bench NAME [flags]" and its text, on the next line when too long. */
static void print_usage_scenario(FILE *f, const struct scenario *sc)
{
	char label[64];

	snprintf(label, sizeof(label), "  bench %s [flags]", sc->name);
	if ((int)strlen(label) < USAGE_INDENT)
		fprintf(f, "%-*s", USAGE_INDENT, label);
	else
		fprintf(f, "%s\n%*s", label, USAGE_INDENT, "");
	print_lines(f, sc->usage, USAGE_INDENT);
}

/* The scenarios without a usage text, named on one line, wrapped. */
static void print_usage_others(FILE *f)
{
	int col = USAGE_INDENT;
	size_t last = 0;

	for (size_t i = 0; i < nr_scenarios; i++)
		if (!scenarios[i].usage)
			last = i;
	fprintf(f, "%-*s%s", USAGE_INDENT, "  bench SCENARIO [flags]", "also");
	col += 4;
	for (size_t i = 0; i < nr_scenarios; i++) {
		char word[64];
		int n;

		if (scenarios[i].usage)
			continue;
		n = snprintf(word, sizeof(word), "%s%s", scenarios[i].name, i == last ? ":" : ",");
		if (col + 1 + n > USAGE_WIDTH) {
			fprintf(f, "\n%*s%s", USAGE_INDENT, "", word);
			col = USAGE_INDENT + n;
		} else {
			fprintf(f, " %s", word);
			col += 1 + n;
		}
	}
	fputs(" see bench --help\n", f);
}

void print_usage(FILE *f)
{
	fputs("usage: tdpmmu <command> [flags]\n"
	      "\n"
	      "A user-space model of KVM's x86 TDP MMU with parallel page faults and\n"
	      "simulated vCPUs.\n"
	      "\n"
	      "commands:\n"
	      "  run                     the main job (make run): the seed thread's debate,\n"
	      "                          every strategy side by side, ending with a\n"
	      "                          verdict; about a minute on 2 cores\n",
	      f);
	for (size_t i = 0; i < nr_scenarios; i++)
		if (scenarios[i].usage)
			print_usage_scenario(f, &scenarios[i]);
	print_usage_others(f);
	fputs("  torture [flags]         everything at once under every strategy, with\n"
	      "                          the invariants checked; ends 'violations: N'\n"
	      "  help, --help, -h        this text\n"
	      "  --version               print the version\n"
	      "\n"
	      "Every command takes --help.  Every benchmark sweeps strategies x vCPU\n"
	      "counts (--strategy LIST|all, -v LIST) side by side; docs/bench.md\n"
	      "describes the reports, docs/results.md holds measured ones.\n"
	      "\n",
	      f);
	fputs(NUMBER_SYNTAX_HELP, f);
	fputs("\n"
	      "exit status: 0 ok, 1 a run or check failed, 2 bad command line\n",
	      f);
}

void print_bench_help(FILE *f)
{
	fputs("usage: tdpmmu bench <scenario> [flags]\n"
	      "\n"
	      "scenarios (each takes --help):\n",
	      f);
	for (size_t i = 0; i < nr_scenarios; i++) {
		fprintf(f, "  %-*s", BENCH_INDENT - 2, scenarios[i].name);
		print_lines(f, scenarios[i].summary, BENCH_INDENT);
	}
	fputs("\n"
	      "Every scenario is a sweep: each strategy (--strategy LIST|all) at each\n"
	      "vCPU count (-v LIST) for --repeat interleaved rounds, in one process,\n"
	      "reported as one table with ratios against rcu and global, and as JSON\n"
	      "(--json FILE) and a gnuplot picture (--plot FILE.svg|.png).\n"
	      "docs/bench.md describes every number.\n"
	      "\n",
	      f);
	fputs(NUMBER_SYNTAX_HELP, f);
	fputs("\n", f);
	fputs(OUTPUT_RULES_HELP, f);
}
