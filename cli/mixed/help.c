/*
 * help.c - `tdpmmu bench mixed --help`.
 */
#include <stdio.h>

#include "common/help_flags.h"
#include "mixed/mixed.h"

void mixed_help(FILE *f)
{
	fputs("usage: tdpmmu bench mixed [flags]\n"
	      "\n"
	      "Everything at once, the closest to a busy host, as a sweep over\n"
	      "strategies and vCPU counts (a fresh VM per run).  Guest memory is two\n"
	      "memslots: the lower half logs dirty pages (a migration), the upper half\n"
	      "keeps huge pages under the NX huge-page mitigation.  Each vCPU passes\n"
	      "over its own memory again and again for --seconds (written, read, and\n"
	      "every 64th page fetched as code), every fault timed, while the main\n"
	      "thread, as the host, at modest rates: gets and clears the dirty log,\n"
	      "ages all memory (test_young, clear_young per 2 MiB), runs NX recovery\n"
	      "passes and invalidates ranges at random places.  Afterwards the VM is\n"
	      "checked: the audit and the NX list's, every mapping against the host's\n"
	      "frames, no huge leaf executable, every writable page of the logging\n"
	      "slot in the dirty log (with --payload also the bytes).\n"
	      "\n"
	      "flags:\n",
	      f);
	fputs(VCPUS_FLAG_HELP("1..4096 each (default 1,2)"), f);
	fputs(LOOP_FLAGS_HELP("anonymous_thp",
			      "               and an even number of those pages (two memslots);\n"),
	      f);
	fputs("  --dirty-rate N  dirty-log rounds (get, clear) per second, 0..100000;\n"
	      "               0: no dirty logging (default 20)\n"
	      "  --dirty-mode M  how logging re-arms pages: wrprot (write protection,\n"
	      "               the next write faults) or dbit (D cleared, the CPU's PML\n"
	      "               log records the write) (default wrprot)\n"
	      "  --age-rate N   aging passes over all memory per second, 0: none\n"
	      "               (default 20)\n"
	      "  --nx-rate N    NX recovery passes per second, each zapping 1/10 of the\n"
	      "               listed tables; 0: the NX mitigation off (default 20)\n"
	      "  --inval-rate N  invalidations per second, 0: none (default 200)\n",
	      f);
	fputs(INVAL_FLAGS_HELP, f);
	fputs(SWEEP_FLAGS_HELP("rcu", "1", ""), f);
	fputs("  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: Macc/s (the metric: guest\n"
	      "accesses per second over all vCPUs, higher is better), faults/s, and\n"
	      "per second: dirty rnd/s, aging/s, nx rec/s (passes), inval/s; then\n"
	      "fault latency, MMU lock and reclamation.  docs/bench.md describes every\n"
	      "number and the JSON.\n",
	      f);
}
