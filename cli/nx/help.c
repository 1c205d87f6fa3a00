/*
 * help.c - `tdpmmu bench nx-recovery --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "nx/nx.h"

void nx_help(FILE *f)
{
	fputs("usage: tdpmmu bench nx-recovery [flags]\n"
	      "\n"
	      "After KVM's nx_huge_pages_perf_test: the NX huge-page mitigation is on\n"
	      "(huge leaves are not executable, so a fetch maps 4K and lists the table\n"
	      "as a possible NX huge page).  Each vCPU loops: fetch (execute) from\n"
	      "every 4K page of its memory, then read every page, again, with every\n"
	      "fault timed.  Each run of a strategy at a vCPU count is two fresh VMs of\n"
	      "--seconds each: the baseline without the recovery thread, then with it\n"
	      "(every --period, zap 1/--ratio of the listed tables, so reads bring huge\n"
	      "pages back and fetches split them again).\n"
	      "\n"
	      "flags:\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1)"), f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1", ""), f);
	fputs("  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n"
	      "               page for hugetlb); K, M, G, T are powers of 1024 (default 2G,\n"
	      "               as the selftest)\n"
	      "  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"
	      "               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"
	      "               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n"
	      "               anon, thp, hugetlb-2m, hugetlb-1g (default anonymous, as\n"
	      "               the selftest; it maps 4K only here, so there are no huge\n"
	      "               pages to split or recover: choose anonymous_thp or a\n"
	      "               hugetlb backing to measure recovery)\n"
	      "  -p, --period MS  recovery period in ms, 1..60000 (default 10;\n"
	      "               nx_huge_pages_test's -p)\n"
	      "  --ratio N    each period zap ceil(listed / N) tables, 1..1000000\n"
	      "               (default 10)\n"
	      "  --seconds S  run time of the baseline and of the recovery VM,\n"
	      "               0.05..3600, fractions allowed (default 5)\n"
	      "  -h, --help   this text\n"
	      "\n"
	      "The metric is the largest fault latency while recovery ran ('rec max us',\n"
	      "the selftest's Max fault latency; lower is better).  The issue's target:\n"
	      "rcu's >= 50x lower than wrlock's under --preempt voluntary (run\n"
	      "--strategy rcu,wrlock; a 'target' line follows the tables).  Per row\n"
	      "also: recovery p99 and p99.9, the baseline's max, recovery over baseline\n"
	      "p99, tables recovered (counter nx_tables_recovered); then the standard\n"
	      "latency, lock and reclamation table (of the recovery VM).  With one\n"
	      "strategy, one count and one round,\n"
	      "each VM's 'Max fault latency' line (ns and TSC cycles) and NX counters\n"
	      "are printed as it ends.  The default takes about 2 x 5 s plus setup.\n",
	      f);
}
