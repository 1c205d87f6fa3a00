/*
 * help.c - `tdpmmu bench demand-paging --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "kvm/kvm_vm.h"
#include "demand/demand.h"

void demand_help(FILE *f)
{
	fputs("usage: tdpmmu bench demand-paging [flags]\n"
	      "\n"
	      "After KVM's demand_paging_test: every vCPU writes each 4K page of its\n"
	      "memory once.  With -u, the first touch of each host page waits for the\n"
	      "host, as on a userfaultfd handler that sleeps -d microseconds before\n"
	      "UFFDIO_COPY.  The simulated strategies model it: the vCPU blocks for the\n"
	      "delay in the host lookup, before the MMU lock is taken and holding none,\n"
	      "so the waits of many vCPUs overlap; then the fault path maps the page as\n"
	      "usual, and a vCPU touching a page another vCPU is faulting in (-o) waits\n"
	      "for it.  The kvm rows (--strategy ...,kvm) run the guest on /dev/kvm with\n"
	      "its memory registered with a real userfaultfd (MISSING mode): handler\n"
	      "threads read the faults, sleep the delay and copy the page in.  A fresh\n"
	      "VM per run, every run checked.\n"
	      "\n"
	      "flags (KVM selftests names):\n"
	      "  -v LIST      vCPU counts, comma separated, 1..4096 each (default 1)\n",
	      f);
	kvm_vcpus_help(f);
	fputs("  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n"
	      "               page for hugetlb); K, M, G, T are powers of 1024 (default 1G)\n"
	      "  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"
	      "               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"
	      "               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n"
	      "               anon, thp, hugetlb-2m, hugetlb-1g (default anonymous); one\n"
	      "               host fault per backing page\n"
	      "  -u MODE      page memory in through userfaultfd: MISSING or MINOR\n"
	      "               (default: none, host faults cost nothing more); the kvm\n"
	      "               rows take MISSING only; MINOR needs -s shmem or\n"
	      "               -s shared_hugetlb\n"
	      "  -d USEC      the handler's delay per host fault, 0..1000000 microseconds\n"
	      "               (default 0); only with -u: refused without it (upstream\n"
	      "               ignores it)\n"
	      "  -a           one userfaultfd for all memory, not one per vCPU region\n"
	      "               (implied by -o; needs -u)\n"
	      "  -r N         reader threads per userfaultfd, 1..1000 (default 1): at\n"
	      "               most N host faults of one userfaultfd are served at once,\n"
	      "               the others queue (simulated rows: the library's\n"
	      "               host_fault_handlers per memslot; needs -u)\n"
	      "  -o           overlapping memory: every vCPU touches the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  --random     random access: each vCPU visits its pages in a\n"
	      "               pseudo-random order of its own (default: ascending)\n",
	      f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1", ""), f);
	fputs("  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: demand paging time (start of the\n"
	      "pass to the last vCPU done), ns per fault per vCPU (kvm: per page),\n"
	      "host faults (delays paid: one per host page; kvm: UFFDIO_COPYs) and\n"
	      "host waits (faults that waited for another vCPU's host fault of the\n"
	      "same page; kvm: copies that found the page there, EEXIST), and the\n"
	      "metric, pages touched per second over all vCPUs (higher is better);\n"
	      "then fault latency, MMU lock and reclamation.  A userfaultfd handler\n"
	      "that fails or holds a fault over 10 s fails the run with one line.\n"
	      "With one strategy, one count and one round it also prints the\n"
	      "selftest's lines.  docs/bench.md describes every number and the JSON.\n",
	      f);
}
