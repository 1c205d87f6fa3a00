/*
 * help.c - `tdpmmu bench mmio --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "mmio/mmio.h"

void mmio_help(FILE *f)
{
	fputs("usage: tdpmmu bench mmio [flags]\n"
	      "\n"
	      "MMIO exits under memslot updates, as a sweep over strategies and vCPU\n"
	      "counts (a fresh VM per run).  Each vCPU thread runs a guest whose\n"
	      "accesses go, --mmio-pct of them, to its own hole of 64 pages that no\n"
	      "memslot maps (MMIO: each one exits to a device model that counts it and\n"
	      "answers reads), the rest to its own memory.  With MMIO caching on, the\n"
	      "first access to a hole page installs an MMIO entry tagged with the\n"
	      "memslot generation, and later ones exit fast (no fault, no memslot\n"
	      "lookup).  Meanwhile the main thread, as the host, adds and deletes a\n"
	      "16-page memslot elsewhere: each update moves the generation, so every\n"
	      "MMIO entry goes stale and its next access takes the fault path again\n"
	      "(a delete also zaps every root, so memory refaults too).  Afterwards\n"
	      "the check: every hole access was an MMIO exit that reached the device\n"
	      "once, no memory access was one, and the audit passes (else exit 1).\n"
	      "--payload is refused here: every memslot add would take fresh frames.\n"
	      "\n"
	      "flags:\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1,2)"), f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1",
			       "               (no kvm rows: this scenario has no KVM version)\n"),
	      f);
	fputs("  -b SIZE      guest memory per vCPU, a multiple of 4K; K, M, G, T are\n"
	      "               powers of 1024 (default 16M)\n"
	      "  -s BACKING   the memory's backing, as other scenarios take it\n"
	      "               (default anonymous)\n"
	      "  --seconds S  run time of each run, 0.01..3600 (default 1)\n"
	      "  --mmio-pct P share of accesses that go to the hole, 0..100 (default 50)\n"
	      "  --slot-rate N  memslot updates (an add or a delete) per second,\n"
	      "               0..100000; 0: none (default 1000)\n"
	      "  --slot-op OP  add-delete: add and delete the memslot (a delete zaps\n"
	      "               every root, so memory refaults too); dirty-log: keep it\n"
	      "               and turn its dirty log on and off (zaps nothing; only\n"
	      "               the MMIO entries go stale) (default add-delete)\n"
	      "  --mmio-caching on|off  MMIO entries (KVM's enable_mmio_caching); off:\n"
	      "               every hole access is a fault that finds no memslot, after\n"
	      "               which the VMM emulates it (default on)\n"
	      "  --mmio-gen-bits B  generation bits an MMIO entry keeps, 1..19; every\n"
	      "               2^B generations the generation wraps and zaps every root\n"
	      "               (default 19, as KVM)\n"
	      "  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: Macc/s (the metric: guest\n"
	      "accesses per second over all vCPUs, higher is better), MMIO exits/s,\n"
	      "fast % (exits on a current MMIO entry, counter mmio_exits_fast, of all\n"
	      "MMIO exits), stale/s (stale MMIO entries met, mmio_entries_stale),\n"
	      "slot upd/s (memslot updates achieved), wrap zaps (mmio_gen_wrap_zaps);\n"
	      "then fault latency, MMU lock and reclamation.  docs/bench.md describes\n"
	      "every number and the JSON.\n",
	      f);
}
