/*
 * help.c - `tdpmmu bench notifier --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "notifier/notifier.h"

void notifier_help(FILE *f)
{
	fputs("usage: tdpmmu bench notifier [flags]\n"
	      "\n"
	      "MMU-notifier invalidation storms during faults, as a sweep over\n"
	      "strategies and vCPU counts (a fresh VM per run).  Each vCPU thread\n"
	      "passes over its own memory (8 bytes at offset 0 of every 4K page) again\n"
	      "and again for --seconds, every fault timed, while the main thread, as\n"
	      "the host, invalidates ranges at random places: invalidate_begin (zap\n"
	      "and flush), for some a remap, invalidate_end.  Faults that meet an\n"
	      "invalidation retry.  Afterwards the VM is checked: the audit, and every\n"
	      "mapping against the host's frames (with --payload also the bytes).\n"
	      "\n"
	      "flags:\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1,2)"), f);
	fputs(LOOP_FLAGS_HELP("anonymous", ""), f);
	fputs(INVAL_FLAGS_HELP, f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1", ""), f);
	fputs("  --rate N     invalidations per second, 0..10000000; 0 (the default):\n"
	      "               back to back\n"
	      "  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: Kfaults/s (the metric: EPT\n"
	      "violations per second over all vCPUs, higher is better), inval/s,\n"
	      "zapped/inval (leaves zapped per invalidation), retries/s (faults that\n"
	      "started over because of an invalidation), inval us (mean time from\n"
	      "begin to end), Macc/s (guest accesses); then fault latency, MMU lock\n"
	      "and reclamation.  docs/bench.md describes every number and the JSON.\n",
	      f);
}
