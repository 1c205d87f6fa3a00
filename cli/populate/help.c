/*
 * help.c - `tdpmmu bench populate --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "kvm/kvm_vm.h"
#include "populate/populate.h"
#include "sweep/sweep_kvm.h"

void populate_help(FILE *f)
{
	fputs("usage: tdpmmu bench populate [flags]\n"
	      "\n"
	      "The populate phase of KVM's dirty_log_perf_test on simulated vCPUs: a\n"
	      "fresh VM per run, one thread per vCPU entering guest mode\n"
	      "(tdpmmu_vcpu_run), its guest program touching every 4K page of its\n"
	      "memory once (8 bytes at offset 0), each first touch an EPT violation\n"
	      "that the fault path handles.\n"
	      "\n"
	      "flags (KVM selftests names first):\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1,2)"), f);
	kvm_vcpus_help(f);
	fputs(LAYOUT_FLAGS_HELP("anonymous"), f);
	fputs("  -w PCT       write probability of each page, the rest read, 0..100\n"
	      "               (default 100): one draw per page from -r's seed, the\n"
	      "               same pages in every pass and on the kvm row\n"
	      "  -r SEED      the random seed of -w's draw, 0..4294967295 (default 1)\n"
	      "  -o           overlapping memory: every vCPU walks the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  -a           random access, as memstress: each access draws its page\n"
	      "               at random with replacement (from -r's seed and the vCPU),\n"
	      "               so about 63% of the pages are touched and mapped\n"
	      "               (default: ascending, every page)\n"
	      "  --prefault   kvm rows: populate the host memory before the guest runs\n"
	      "               (refused without kvm in --strategy)\n"
	      "  --pre-fault  map the guest memory before the guest runs: each vCPU\n"
	      "               thread calls tdpmmu_pre_fault (KVM_PRE_FAULT_MEMORY) on\n"
	      "               its own region, all at once; the metric and columns are\n"
	      "               then the pre-fault's (its faults per second, its time),\n"
	      "               a table shows it beside the guest pass that follows,\n"
	      "               which must take no EPT violation (refused with kvm rows)\n",
	      f);
	fputs(SWEEP_KVM_GUEST_PAGE_HELP, f);
	fputs(SWEEP_FLAGS_HELP("rcu", "5", KVM_STRATEGY_HELP), f);
	fputs("  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: populate time (start barrier to\n"
	      "the last vCPU done), ns per fault per vCPU, faults (EPT violations over\n"
	      "all vCPUs) per second with ratios against rcu and global, fault latency\n"
	      "percentiles, vCPU lock waits, write locks, retired page tables, tables\n"
	      "and leaves built; then the floor (a bare root-to-leaf walk plus one CAS\n"
	      "per page, with 4K mappings only), fault cost over the floor, scaling\n"
	      "over the smallest count, and beside it how the floor scales run by\n"
	      "every vCPU's thread at once over its own vCPU's tables (the parallel\n"
	      "floor, 4K mappings only) and how a private, sharing-free loop scales on\n"
	      "this machine (the machine reference), both measured in every round;\n"
	      "then each strategy's scaling over the parallel floor's.  Every run is\n"
	      "checked.  A latency round comes first: every fault timed, the full\n"
	      "audit; its runs give the latency percentiles and are not counted for\n"
	      "throughput.  docs/bench.md describes every number and the JSON.\n",
	      f);
}
