/*
 * help.c - `tdpmmu torture --help`.
 */
#include <stdio.h>

#include "torture/torture.h"

void torture_help(FILE *f)
{
	fputs("usage: tdpmmu torture [flags]\n"
	      "\n"
	      "Everything at once on a VM with real memory, once per strategy: vCPUs\n"
	      "write, read back and fetch their own words (a read must return the last\n"
	      "write), the host migrates and compacts 2 MiB blocks, a chaos thread\n"
	      "splits, maps huge over tables, zaps, recovers huge pages, ages, write-\n"
	      "protects, logs dirty pages with eager splitting and fast-zaps, the\n"
	      "NX recovery thread runs, and a logging memslot keeps moving under a\n"
	      "vCPU that writes it while a new slot is added where it left and 4K\n"
	      "invalidations are held inside huge pages.  Every --check-ms everything\n"
	      "stops and the tree is audited against the accounting and the memslots,\n"
	      "every word is compared through the host, every mapping's frame with\n"
	      "the host's, every page ever written must still be dirty (leaf or host\n"
	      "frame), and the moving slot's memory must equal the copy built from\n"
	      "its dirty log (the migration oracle).\n"
	      "A fresh VM every 10 s.  Rare paths (lost CAS, FROZEN met, notifier\n"
	      "retries, tables replaced, splits, ...) must be reached, or the run\n"
	      "goes on for up to 4 x 2 s and then counts a violation.\n"
	      "\n"
	      "flags:\n"
	      "  --strategy LIST  comma-separated strategies, or all (the default)\n"
	      "  --duration S     seconds per strategy, 0.1..86400 (default 5)\n"
	      "  --vcpus N        guest vCPUs, 1..16 (default 3)\n"
	      "  --seed N         the run's seed, 1 or more (default 1)\n"
	      "  --check-ms MS    quiescent checks this often, 10..60000 (default 250)\n"
	      "  --inject N       delay or yield at 1 in N passes through a race window\n"
	      "                   (0: off; default 64)\n"
	      "  --alloc-fail N   fail 1 in N page-table allocations (0: off; default\n"
	      "                   512): the operation must fail cleanly with -ENOMEM\n"
	      "  --no-quarantine  freed page tables stay readable (poisoned); by default\n"
	      "                   they are PROT_NONE until reused, oldest first\n"
	      "  --preempt M      the host kernel's preemption model the MMU lock\n"
	      "                   follows: none, voluntary, full, or rotate (the\n"
	      "                   default: each round voluntary or full, by its seed)\n"
	      "  --pages M        how the MMU tracks its page-table pages: count,\n"
	      "                   list (the seed thread's list under a pages lock), or\n"
	      "                   rotate (the default: each round one of them, by its seed)\n"
	      "  -h, --help       this text\n"
	      "\n"
	      "The last line is 'violations: N'; the exit status is 1 when N > 0.  An\n"
	      "internal invariant violation (a BUG) aborts at once.\n",
	      f);
}
