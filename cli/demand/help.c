/*
 * help.c - `tdpmmu bench demand-paging --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "demand/demand.h"

void demand_help(FILE *f)
{
	fputs("usage: tdpmmu bench demand-paging [flags]\n"
	      "\n"
	      "After KVM's demand_paging_test: every vCPU writes each 4K page of its\n"
	      "memory once, and the first touch of each host page costs the host a\n"
	      "handler delay, like a userfaultfd handler that sleeps before\n"
	      "UFFDIO_COPY: the vCPU blocks for -d microseconds in the host lookup,\n"
	      "before the MMU lock is taken and holding none, so the waits of many\n"
	      "vCPUs overlap; then the fault path maps the page as usual.  A vCPU\n"
	      "touching a page another vCPU is faulting in (-o) waits for it.  A fresh\n"
	      "VM per run, every fault timed, every run checked.\n"
	      "\n"
	      "flags (KVM selftests names):\n"
	      "  -v LIST      vCPU counts, comma separated, 1..1000 each (default 1)\n"
	      "  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n"
	      "               page for hugetlb); K, M, G, T are powers of 1024 (default 1G)\n"
	      "  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"
	      "               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"
	      "               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n"
	      "               anon, thp, hugetlb-2m, hugetlb-1g (default anonymous); one\n"
	      "               host fault per backing page\n"
	      "  -d USEC      host delay per host fault, 0..1000000 microseconds\n"
	      "               (default 0: no delay)\n"
	      "  -o           overlapping memory: every vCPU touches the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  -a           random access: each vCPU visits its pages in a\n"
	      "               pseudo-random order of its own (default: ascending)\n" SWEEP_FLAGS_HELP(
		      "rcu", "1",
		      "") "  -h, --help   this text\n"
			  "\n"
			  "Reported per strategy and vCPU count: demand paging time (start of the\n"
			  "pass to the last vCPU done), ns per fault per vCPU, host faults (delays\n"
			  "paid: one per host page) and host waits (faults that waited for another\n"
			  "vCPU's host fault of the same page), and the metric, pages touched per\n"
			  "second over all vCPUs (higher is better); then fault latency, MMU lock\n"
			  "and reclamation.  With one strategy, one count and one round it also\n"
			  "prints the selftest's lines.  docs/bench.md describes every number and\n"
			  "the JSON.\n",
	      f);
}
