/*
 * help.c - `tdpmmu bench huge-over-table --help` and `tdpmmu bench
 * stalled-reader --help`: one text, the stall's lines in the second only.
 */
#include <stdbool.h>
#include <stdio.h>

#include "common/help_flags.h"
#include "huge_over_table/huge_over_table.h"

static void print_help(FILE *f, bool stall)
{
	fprintf(f, "usage: tdpmmu bench %s [flags]\n",
		stall ? "stalled-reader" : "huge-over-table");
	fputs("\n"
	      "The reclamation strategies side by side, each run a fresh VM for --seconds.\n"
	      "Half the vCPUs (rounded up) are 'huge' vCPUs: over 64 blocks of 2 MiB with\n"
	      "THP backing, each faults the block capped at 4K (a page table appears\n"
	      "under the block, splitting the huge page) and then uncapped (a huge page\n"
	      "replaces that table, which is retired: the seed thread's case).  The other\n"
	      "vCPUs fault fresh 4K pages elsewhere.  Every fault is timed; every run is\n"
	      "audited at the end.\n",
	      f);
	if (stall)
		fputs("\nA quarter into each run one more thread holds a walker's protection\n"
		      "(the MMU read lock and the strategy's walk protection, like a fault\n"
		      "preempted mid-walk) for --stall-ms, while the main thread samples the\n"
		      "retired memory not yet freed every millisecond.\n",
		      f);
	fputs("\n"
	      "flags:\n",
	      f);
	fputs(VCPUS_FLAG_HELP("2..4096 each (default 2)"), f);
	fputs(SWEEP_FLAGS_HELP("all", "1", ""), f);
	fputs("  --seconds S  run time per run, 0.05..3600 (default 1)\n", f);
	if (stall)
		fputs("  --stall-ms MS  how long the reader stalls, under half of --seconds\n"
		      "               (default 200)\n",
		      f);
	fputs("  -h, --help   this text\n"
	      "\n",
	      f);
	if (stall)
		fputs("The metric is faults/s of all vCPUs during the stall ('stall Mf/s',\n"
		      "higher is better).  Per row also: the stall's length, faults/s outside\n"
		      "it and the ratio, the most retired memory sampled during the stall, huge\n"
		      "pages over tables per second.  --plot also draws FILE-retired.svg (or\n"
		      ".png): retired MiB over time, one line per strategy at the largest\n"
		      "count; the JSON holds the series (at most 200 points).\n",
		      f);
	else
		fputs("The metric is faults/s of all vCPUs, huge and small ('Mfaults/s', higher\n"
		      "is better).  Per row also: huge pages that replaced a table per second,\n"
		      "small and huge vCPUs' faults/s, wrlock's write-lock retries, drains\n"
		      "(list strategies) or call_rcu callbacks (rcu ones).\n",
		      f);
}

void huge_over_table_help(FILE *f)
{
	print_help(f, false);
}

void stalled_reader_help(FILE *f)
{
	print_help(f, true);
}
