/*
 * help.c - `tdpmmu bench dirty-log --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "kvm/kvm_vm.h"
#include "dirty_log/dirty_log.h"
#include "sweep/sweep_kvm.h"

void dirty_log_help(FILE *f)
{
	fputs("usage: tdpmmu bench dirty-log [flags]\n"
	      "\n"
	      "KVM's dirty_log_perf_test on simulated vCPUs, as a sweep: one VM per\n"
	      "strategy, vCPU count and round.  Each vCPU thread runs one pass over its\n"
	      "own memory per phase (8 bytes at offset 0 of every 4K page) and waits\n"
	      "outside guest mode between phases.\n"
	      "\n"
	      "flags (KVM selftests names first):\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1)"), f);
	kvm_vcpus_help(f);
	fputs(LAYOUT_FLAGS_HELP("anonymous"), f);
	fputs("  -i N         iterations, 2..1000000 (default 2)\n"
	      "  -g           no manual protect: get dirty log clears the bitmap and\n"
	      "               write-protects what it returned (default: MANUAL_PROTECT |\n"
	      "               INITIALLY_SET, and a clear call per nonzero 64-page word)\n"
	      "  -e           vCPUs run one more pass while dirty logging is disabled\n"
	      "               (default: they wait)\n"
	      "  -w PCT       write probability of each page, the rest read, 0..100\n"
	      "               (default 100): one draw per page from -r's seed, the\n"
	      "               same pages in every pass and on the kvm row\n"
	      "  -r SEED      the random seed of -w's draw, 0..4294967295 (default 1)\n"
	      "  -a           random access, as memstress: each access draws its page\n"
	      "               at random with replacement (from -r's seed and the vCPU;\n"
	      "               the same draws every pass; populate stays ascending), so\n"
	      "               about 63% of the pages are touched (default: ascending)\n"
	      "  -x N         memslots, 1..4096 (the library's most per VM; KVM's is\n"
	      "               32764), splitting the whole memory evenly (default 1)\n"
	      "  -c CPULIST   pin vCPU i's thread to the i-th CPU of the comma-separated\n"
	      "               list (one per vCPU of the largest -v count; one more pins\n"
	      "               the main thread); simulated rows only\n"
	      "  -m MODE      guest mode ID as the selftests number them: only 9\n"
	      "               (PA-bits:ANY, VA-bits:48, 4K pages: x86's), the default\n"
	      "  -n           nested (an L2 guest): refused, not modelled\n"
	      "  --eager-split  enable also splits huge leaves to 4K\n"
	      "               (TDPMMU_DIRTY_LOG_EAGER_SPLIT, KVM's eager_page_split)\n"
	      "  --dirty-mode M  how logging re-arms a page: wrprot (W cleared, the\n"
	      "               next write faults; KVM without PML) or dbit (4K leaves keep\n"
	      "               W and lose D; the CPU logs each write that sets D in a\n"
	      "               512-entry PML log, flushed at every exit; KVM with PML)\n"
	      "               (default wrprot); simulated rows only\n"
	      "  --ring N     the dirty ring (KVM_CAP_DIRTY_LOG_RING) instead of the\n"
	      "               bitmap: N entries per vCPU, a power of two, 1024..65536\n"
	      "               (576 stay in reserve: a vCPU exits when N - 576 are in\n"
	      "               use).  A harvester thread harvests every ring and resets\n"
	      "               them during each pass (no get, no clear; -g ignored),\n"
	      "               vCPUs stopped on a soft-full ring resume after a reset;\n"
	      "               simulated rows only\n"
	      "  --recover HOW  how disable brings huge pages back: zap (zap the\n"
	      "               collapsible tables, refault huge), inplace (replace each\n"
	      "               with a huge leaf by one CAS) or none (default inplace)\n",
	      f);
	fputs(SWEEP_KVM_GUEST_PAGE_HELP, f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1", KVM_STRATEGY_HELP), f);
	fputs("  -h, --help   this text\n"
	      "\n"
	      "phases of each run, with one strategy, one count and one round printed\n"
	      "as '<phase> time: S.NNNNNNNNNs' as they go:\n"
	      "  Populate memory            every vCPU writes each of its pages (faults)\n"
	      "  Enabling dirty logging     tdpmmu_dirty_log_enable on every memslot\n"
	      "  Iteration N dirty memory   one pass of every vCPU (write faults on\n"
	      "                             write-protected pages log them dirty)\n"
	      "  Iteration N get dirty log  tdpmmu_dirty_log_get on every memslot\n"
	      "  Iteration N clear dirty log  tdpmmu_dirty_log_clear per nonzero word\n"
	      "                             (manual protect only)\n"
	      "  Iteration N harvest and reset dirty rings  --ring: the harvester's\n"
	      "                             time in tdpmmu_dirty_ring_harvest and _reset\n"
	      "                             (during the pass, then the rest after it;\n"
	      "                             the table's get s column)\n"
	      "  Disabling dirty logging    tdpmmu_dirty_log_disable with --recover\n"
	      "then (single run) the totals and averages of get and clear over the\n"
	      "iterations, the pages dirty per iteration and the counters.  Every run\n"
	      "is checked: every page dirty in iteration 1 with INITIALLY_SET, else\n"
	      "exactly the pages the guest wrote (--ring: the distinct pages of the\n"
	      "entries harvested during and after the pass).\n"
	      "\n"
	      "The table: one row per strategy and count (its best round): populate s,\n"
	      "enable s, dirty s/it (mean per iteration), get s and clear s (totals),\n"
	      "and the metric, Mpages/s: pages written per second in the dirty-memory\n"
	      "passes (higher is better), with ratios to rcu and global.  A latency\n"
	      "round (every fault timed) comes first and does not count for it.  Then\n"
	      "fault latency, MMU lock and reclamation, and disable s with the dirty\n"
	      "log's numbers.  The default (1 vCPU x 1G) takes a few seconds on 2 cores.\n",
	      f);
}
