/*
 * help.c - `tdpmmu bench access-tracking --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "kvm/kvm_vm.h"
#include "access/access.h"

void access_help(FILE *f)
{
	fputs("usage: tdpmmu bench access-tracking [flags]\n"
	      "\n"
	      "KVM's access_tracking_perf_test on simulated vCPUs, as a sweep: one VM\n"
	      "per strategy, vCPU count and round.  The MMU notifier's aging\n"
	      "(clear_young, test_young) against vCPUs that touch every 4K page of\n"
	      "their memory once per phase.\n"
	      "\n"
	      "flags (KVM selftests names first):\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1)"), f);
	kvm_vcpus_help(f);
	fputs(LAYOUT_FLAGS_HELP("anonymous"), f);
	fputs("  -o           overlapping memory: every vCPU uses the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  -w N         10% or more of a vCPU's pages still idle after a pass:\n"
	      "               >0 warn, 0 fail (exit 1), negative refused; without -w\n"
	      "               auto: fail on kvm rows unless NUMA balancing is on or\n"
	      "               this is a VM, warn on simulated rows (clear_young leaves\n"
	      "               their TLBs alone)\n"
	      "  --flush      mark idle with clear_flush_young (TLBs flushed when\n"
	      "               anything was cleared) instead of clear_young\n",
	      f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1", ""), f);
	fputs("  -h, --help   this text\n"
	      "\n"
	      "phases of each run, with one strategy, one count and one round printed\n"
	      "as '%-30s: S.NNNNNNNNNs' as they go:\n"
	      "  Populating memory              vCPUs write every page (faults)\n"
	      "  Writing to populated memory    vCPUs write every page again\n"
	      "  Reading from populated memory  vCPUs read every page\n"
	      "  Mark memory idle               the main thread clears Accessed over\n"
	      "                                 each vCPU's range (no MMU lock)\n"
	      "  Writing to idle memory         vCPUs write every page\n"
	      "  Mark memory idle               again\n"
	      "  Reading from idle memory       vCPUs read every page\n"
	      "After each pass over idle memory every page is tested (test_young):\n"
	      "pages still idle were accessed through a translation cached in a vCPU's\n"
	      "TLB, which sets no Accessed bit.  As in the selftest, a vCPU with 10%\n"
	      "or more of its pages still idle gets a WARNING line (in a sweep, one\n"
	      "line per run, naming its strategy and vCPU count): expected without\n"
	      "--flush when a region fits in the TLB (256 4K, 32 2M and 4 1G entries\n"
	      "per vCPU).\n"
	      "\n"
	      "The table: one row per strategy and count (its best round): populate s,\n"
	      "write s, read s (populated memory), write idle s, read idle s, and the\n"
	      "metric, Mpages/s: pages marked idle per second over both marks (higher\n"
	      "is better), with ratios to rcu and global.  Every fault is timed.  Then\n"
	      "fault latency, MMU lock and reclamation, and the marks' time with the\n"
	      "pages still idle.  The default (1 vCPU x 1G) takes a few seconds.\n"
	      "\n"
	      "kvm rows (--strategy ...,kvm): the guest on /dev/kvm, marked idle as the\n"
	      "selftest does, each page's PFN from /proc/self/pagemap and its bit in\n"
	      "/sys/kernel/mm/page_idle/bitmap (KVM's clear_young through the MMU\n"
	      "notifier), and counted still idle from that bitmap; --flush does not\n"
	      "apply.  They need root and CONFIG_IDLE_PAGE_TRACKING (no hugetlb):\n"
	      "without them one line says why the kvm rows are skipped, and the rest\n"
	      "runs.\n",
	      f);
}
