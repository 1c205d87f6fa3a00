/*
 * help.c - the --help texts: the program's, and one per subcommand
 * (`tdpmmu run --help`, `tdpmmu bench --help`, `tdpmmu bench populate --help`).
 */
#include <stdio.h>

#include "cli.h"

void print_usage(FILE *f)
{
	fputs("usage: tdpmmu <command> [flags]\n"
	      "\n"
	      "A user-space model of KVM's x86 TDP MMU with parallel page faults and\n"
	      "simulated vCPUs.\n"
	      "\n"
	      "commands:\n"
	      "  run                     the main job (make run): the populate benchmark\n"
	      "                          at 1 to 256 vCPUs, about a minute on 2 cores\n"
	      "  bench populate [flags]  the populate phase of KVM's dirty_log_perf_test:\n"
	      "                          vCPU threads touch every 4K page of their memory\n"
	      "  help, --help, -h        this text\n"
	      "  --version               print the version\n"
	      "\n"
	      "Every command takes --help.  See docs/bench.md for the reports.\n"
	      "\n"
	      "exit status: 0 ok, 1 a run or check failed, 2 bad command line\n",
	      f);
}

void print_bench_help(FILE *f)
{
	fputs("usage: tdpmmu bench <scenario> [flags]\n"
	      "\n"
	      "scenarios:\n"
	      "  populate   every vCPU touches each 4K page of its memory once\n"
	      "             (tdpmmu bench populate --help)\n",
	      f);
}

void print_run_help(FILE *f)
{
	fputs("usage: tdpmmu run\n"
	      "\n"
	      "The main job, what `make run` starts: `tdpmmu bench populate` at 1, 2, 8,\n"
	      "64 and 256 vCPUs with a memory size per vCPU that makes the whole run\n"
	      "take about a minute on a 2-core machine.  It prints the equivalent\n"
	      "`bench populate` command first, a progress line while it runs (on a\n"
	      "terminal only), and ends with the summary table.  It takes no flags.\n",
	      f);
}

void print_populate_help(FILE *f)
{
	fputs("usage: tdpmmu bench populate [flags]\n"
	      "\n"
	      "The populate phase of KVM's dirty_log_perf_test on simulated vCPUs: a\n"
	      "fresh VM per run, one thread per vCPU entering guest mode\n"
	      "(tdpmmu_vcpu_run), its guest program touching every 4K page of its\n"
	      "memory once (8 bytes at offset 0), each first touch an EPT violation\n"
	      "that the fault path handles.\n"
	      "\n"
	      "flags (KVM selftests names):\n"
	      "  -v LIST      vCPU counts, comma separated, 1..1000 each (default 1,2)\n"
	      "  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n"
	      "               page for hugetlb); K, M, G, T are powers of 1024 (default 1G)\n"
	      "  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"
	      "               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"
	      "               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n"
	      "               anon, thp, hugetlb-2m, hugetlb-1g (default anonymous)\n"
	      "  -w PCT       share of pages written, the rest read (default 100)\n"
	      "  -o           overlapping memory: every vCPU walks the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  -a           random access: each vCPU visits its pages in a\n"
	      "               pseudo-random order of its own (default: ascending)\n"
	      "  --payload    real host memory behind the guest: the writes land in\n"
	      "               bytes that are checked afterwards\n"
	      "  --repeat N   rounds; each runs every vCPU count once, interleaved; the\n"
	      "               best run per count is reported, the median beside it\n"
	      "               (default 5)\n"
	      "  --levels N   page-table levels, 4 or 5 (default 4)\n"
	      "  --json FILE  also write the results as JSON to FILE\n"
	      "  -h, --help   this text\n"
	      "\n"
	      "Reported per vCPU count: populate time (start barrier to the last vCPU\n"
	      "done), faults (EPT violations over all vCPUs), faults per second, ns per\n"
	      "fault per vCPU, fault latency percentiles, TLB flushes and the time\n"
	      "flushers waited for vCPUs to leave guest mode, MMU lock statistics;\n"
	      "then the floor (a bare root-to-leaf walk plus one CAS per page, with 4K\n"
	      "mappings only), fault cost over the floor, scaling over the smallest\n"
	      "count, and beside it how a private, sharing-free loop scales on this\n"
	      "machine (the machine reference).  Every run is checked.  A latency round\n"
	      "comes first: every fault timed, the full audit; its runs give the latency\n"
	      "percentiles and are not counted for throughput.  docs/bench.md describes\n"
	      "every number and the JSON.\n",
	      f);
}
