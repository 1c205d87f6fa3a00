/*
 * help.c - the --help texts: the program's, and one per subcommand
 * (`tdpmmu run --help`, `tdpmmu bench --help`, `tdpmmu bench SCENARIO --help`).
 */
#include <stdio.h>

#include "cli.h"


/*
 * The flags every benchmark scenario shares (cli/sweep/sweep_opts.c,
 * cli/common/bench_common.c): -v with its range and default; -b and -s with the
 * backing's default; the sweep's own with the strategy's and --repeat's
 * defaults, and more lines on --strategy (KVM_STRATEGY_HELP, or "").
 */
#define VCPUS_FLAG_HELP(range_default) \
	"  -v LIST      vCPU counts, comma separated, " range_default "\n"
#define LAYOUT_FLAGS_HELP(default_backing) \
	"  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n" \
	"               page for hugetlb); K, M, G, T are powers of 1024 (default 1G)\n" \
	"  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n" \
	"               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n" \
	"               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n" \
	"               anon, thp, hugetlb-2m, hugetlb-1g (default " default_backing ")\n"
#define SWEEP_FLAGS_HELP(default_strategy, default_repeat, more_strategies) \
	"  --strategy LIST  reclamation strategies side by side, comma separated,\n" \
	"               or all: rcu, rcu-qsbr, llist, llist-trylock, wrlock, global\n" \
	"               (default " default_strategy ")\n" more_strategies \
	"  --repeat N   rounds, 1..1000: each runs every strategy at every count,\n" \
	"               interleaved; a row shows its best round, the median beside\n" \
	"               it (default " default_repeat ")\n" \
	"  --levels N   page-table levels, 4 or 5 (default 4)\n" \
	"  --payload    real host memory behind the guest: writes land in bytes\n" \
	"  --json FILE  also write the results as JSON to FILE\n" \
	"  --plot FILE  also draw the metric against vCPUs and the fault latency\n" \
	"               with gnuplot, into FILE.svg or FILE.png\n"

/* The kvm rows of populate and dirty-log (cli/sweep/sweep_kvm.c). */
#define KVM_STRATEGY_HELP \
	"               kvm (named in the list, e.g. all,kvm): the same workload on\n" \
	"               this host's KVM (/dev/kvm) through tdpmmu's own VMM; where\n" \
	"               /dev/kvm cannot run a VM, one line says why and the rest runs\n"

void print_usage(FILE *f)
{
	fputs("usage: tdpmmu <command> [flags]\n"
	      "\n"
	      "A user-space model of KVM's x86 TDP MMU with parallel page faults and\n"
	      "simulated vCPUs.\n"
	      "\n"
	      "commands:\n"
	      "  run                     the main job (make run): the seed thread's debate,\n"
	      "                          every strategy side by side, ending with a\n"
	      "                          verdict; about a minute on 2 cores\n"
	      "  bench populate [flags]  the populate phase of KVM's dirty_log_perf_test:\n"
	      "                          vCPU threads touch every 4K page of their memory\n"
	      "  bench dirty-log [flags] KVM's dirty_log_perf_test: enable, dirty, get,\n"
	      "                          clear and disable the dirty log\n"
	      "  bench access-tracking [flags]\n"
	      "                          KVM's access_tracking_perf_test: mark memory idle\n"
	      "                          (clear_young) and access it again\n"
	      "  bench nx-recovery [flags]\n"
	      "                          after KVM's nx_huge_pages_perf_test: fault latency\n"
	      "                          with and without NX huge-page recovery\n"
	      "  bench SCENARIO [flags]  also demand-paging, huge-over-table,\n"
	      "                          stalled-reader, notifier, mixed: see bench --help\n"
	      "  torture [flags]         everything at once under every strategy, with\n"
	      "                          the invariants checked; ends 'violations: N'\n"
	      "  help, --help, -h        this text\n"
	      "  --version               print the version\n"
	      "\n"
	      "Every command takes --help.  Every benchmark sweeps strategies x vCPU\n"
	      "counts (--strategy LIST|all, -v LIST) side by side; docs/bench.md\n"
	      "describes the reports, docs/results.md holds measured ones.\n"
	      "\n"
	      "exit status: 0 ok, 1 a run or check failed, 2 bad command line\n",
	      f);
}

void print_bench_help(FILE *f)
{
	fputs("usage: tdpmmu bench <scenario> [flags]\n"
	      "\n"
	      "scenarios (each takes --help):\n"
	      "  populate          every vCPU touches each 4K page of its memory once\n"
	      "  demand-paging     KVM's demand_paging_test: each first touch waits\n"
	      "                    for the host (-d USEC) before the fault is handled\n"
	      "  dirty-log         KVM's dirty_log_perf_test: populate, enable dirty\n"
	      "                    logging, dirty/get/clear iterations, disable\n"
	      "  access-tracking   KVM's access_tracking_perf_test: access memory, mark\n"
	      "                    it idle (clear_young), access it again\n"
	      "  nx-recovery       after KVM's nx_huge_pages_perf_test: fault latency\n"
	      "                    while NX recovery zaps split huge pages, beside a\n"
	      "                    baseline without it\n"
	      "  huge-over-table   the seed thread's case: huge pages replace page\n"
	      "                    tables while other vCPUs fault\n"
	      "  stalled-reader    the same, with one walker stalled in the middle\n"
	      "  notifier          MMU-notifier invalidation storms during faults\n"
	      "  mixed             faults, dirty logging, aging, NX recovery and\n"
	      "                    invalidations all at once\n"
	      "\n"
	      "Every scenario is a sweep: each strategy (--strategy LIST|all) at each\n"
	      "vCPU count (-v LIST) for --repeat interleaved rounds, in one process,\n"
	      "reported as one table with ratios against rcu and global, and as JSON\n"
	      "(--json FILE) and a gnuplot picture (--plot FILE.svg|.png).\n"
	      "docs/bench.md describes every number.\n",
	      f);
}

void print_run_help(FILE *f)
{
	fputs("usage: tdpmmu run\n"
	      "\n"
	      "The main job, what `make run` starts: the seed thread's debate on one\n"
	      "screen.  Four benchmark sweeps of every strategy, each printed as the\n"
	      "`tdpmmu bench` command it is, with its main table:\n"
	      "  populate -v 1,2        the cost of parallel faults at one vCPU, and\n"
	      "                         whether two scale\n"
	      "  populate -v 256        hundreds of vCPU threads on few cores\n"
	      "  huge-over-table -v 2   faults that replace page tables\n"
	      "  nx-recovery -v 1       fault latency while NX recovery runs\n"
	      "Then the verdict: one line per question, the ratio of every strategy,\n"
	      "the target and whether it was met.  About a minute on a 2-core machine;\n"
	      "a progress line on a terminal only.  It takes no flags: run the printed\n"
	      "commands for the full tables, --json and --plot.\n",
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
	      "flags (KVM selftests names first):\n"
	      VCPUS_FLAG_HELP("1..1000 each (default 1,2)") LAYOUT_FLAGS_HELP("anonymous")
	      "  -w PCT       share of pages written, the rest read (default 100)\n"
	      "  -o           overlapping memory: every vCPU walks the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  -a           random access: each vCPU visits its pages in a\n"
	      "               pseudo-random order of its own (default: ascending)\n"
	      "  --prefault   kvm rows: populate the host memory before the guest runs\n"
	      SWEEP_FLAGS_HELP("rcu", "5", KVM_STRATEGY_HELP)
	      "  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: populate time (start barrier to\n"
	      "the last vCPU done), ns per fault per vCPU, faults (EPT violations over\n"
	      "all vCPUs) per second with ratios against rcu and global, fault latency\n"
	      "percentiles, vCPU lock waits, write locks, retired page tables, tables\n"
	      "and leaves built; then the floor (a bare root-to-leaf walk plus one CAS\n"
	      "per page, with 4K mappings only), fault cost over the floor, scaling\n"
	      "over the smallest count, and beside it how a private, sharing-free\n"
	      "loop scales on this machine (the machine reference).  Every run is\n"
	      "checked.  A latency round comes first: every fault timed, the full\n"
	      "audit; its runs give the latency percentiles and are not counted for\n"
	      "throughput.  docs/bench.md describes every number and the JSON.\n",
	      f);
}



void print_dirty_log_help(FILE *f)
{
	fputs("usage: tdpmmu bench dirty-log [flags]\n"
	      "\n"
	      "KVM's dirty_log_perf_test on simulated vCPUs, as a sweep: one VM per\n"
	      "strategy, vCPU count and round.  Each vCPU thread runs one pass over its\n"
	      "own memory per phase (8 bytes at offset 0 of every 4K page) and waits\n"
	      "outside guest mode between phases.\n"
	      "\n"
	      "flags (KVM selftests names first):\n"
	      VCPUS_FLAG_HELP("1..1000 each (default 1)") LAYOUT_FLAGS_HELP("anonymous")
	      "  -i N         iterations, 2..100 (default 2)\n"
	      "  -g           no manual protect: get dirty log clears the bitmap and\n"
	      "               write-protects what it returned (default: MANUAL_PROTECT |\n"
	      "               INITIALLY_SET, and a clear call per nonzero 64-page word)\n"
	      "  -e           vCPUs run one more pass while dirty logging is disabled\n"
	      "               (default: they wait)\n"
	      "  -w PCT       share of pages written per pass, the rest read, 0..100\n"
	      "               (default 100); which pages depends on the gfn only\n"
	      "  -a           random access: each vCPU visits its pages in its own\n"
	      "               pseudo-random order (default: ascending)\n"
	      "  -x N         memslots, 1..512, splitting the whole memory evenly\n"
	      "               (default 1)\n"
	      "  --eager-split  enable also splits huge leaves to 4K\n"
	      "               (TDPMMU_DIRTY_LOG_EAGER_SPLIT, KVM's eager_page_split)\n"
	      "  --recover HOW  how disable brings huge pages back: zap (zap the\n"
	      "               collapsible tables, refault huge), inplace (replace each\n"
	      "               with a huge leaf by one CAS) or none (default inplace)\n"
	      SWEEP_FLAGS_HELP("rcu", "1", KVM_STRATEGY_HELP)
	      "  -h, --help   this text\n"
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
	      "  Disabling dirty logging    tdpmmu_dirty_log_disable with --recover\n"
	      "then (single run) the totals and averages of get and clear over the\n"
	      "iterations, the pages dirty per iteration and the counters.  Every run\n"
	      "is checked: every page dirty in iteration 1 with INITIALLY_SET, else\n"
	      "exactly the pages the guest wrote.\n"
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

void print_access_help(FILE *f)
{
	fputs("usage: tdpmmu bench access-tracking [flags]\n"
	      "\n"
	      "KVM's access_tracking_perf_test on simulated vCPUs, as a sweep: one VM\n"
	      "per strategy, vCPU count and round.  The MMU notifier's aging\n"
	      "(clear_young, test_young) against vCPUs that touch every 4K page of\n"
	      "their memory once per phase.\n"
	      "\n"
	      "flags (KVM selftests names first):\n"
	      VCPUS_FLAG_HELP("1..1000 each (default 1)") LAYOUT_FLAGS_HELP("anonymous")
	      "  -o           overlapping memory: every vCPU uses the same region\n"
	      "               (default: each vCPU its own)\n"
	      "  --flush      mark idle with clear_flush_young (TLBs flushed when\n"
	      "               anything was cleared) instead of clear_young\n"
	      SWEEP_FLAGS_HELP("rcu", "1", "")
	      "  -h, --help   this text\n"
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
	      "pages still idle.  The default (1 vCPU x 1G) takes a few seconds.\n",
	      f);
}


void print_nx_help(FILE *f)
{
	fputs("usage: tdpmmu bench nx-recovery [flags]\n"
	      "\n"
	      "After KVM's nx_huge_pages_perf_test: the NX huge-page mitigation is on\n"
	      "(huge leaves are not executable, so a fetch maps 4K and lists the table\n"
	      "as a possible NX huge page).  Each vCPU loops: fetch (execute) from\n"
	      "every 4K page of its memory, then read every page, again, with every\n"
	      "fault timed.  Each run of a strategy at a vCPU count is two fresh VMs of\n"
	      "--seconds each: the baseline without the recovery thread, then with it\n"
	      "(every --period, zap 1/--ratio of the listed tables, so reads bring huge\n"
	      "pages back and fetches split them again).\n"
	      "\n"
	      "flags:\n"
	      VCPUS_FLAG_HELP("1..1000 each (default 1)") SWEEP_FLAGS_HELP("rcu", "1", "")
	      "  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n"
	      "               page for hugetlb); K, M, G, T are powers of 1024 (default 1G)\n"
	      "  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"
	      "               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"
	      "               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n"
	      "               anon, thp, hugetlb-2m, hugetlb-1g (default\n"
	      "               anonymous_hugetlb_2mb)\n"
	      "  --period MS  recovery period in ms, 1..60000 (default 10)\n"
	      "  --ratio N    each period zap ceil(listed / N) tables, 1..1000000\n"
	      "               (default 10)\n"
	      "  --seconds S  run time of the baseline and of the recovery VM,\n"
	      "               0.05..3600, fractions allowed (default 5)\n"
	      "  -h, --help   this text\n"
	      "\n"
	      "The metric is the largest fault latency while recovery ran ('rec max us',\n"
	      "the selftest's Max fault latency; lower is better).  The issue's target:\n"
	      "rcu's >= 10x lower than wrlock's (run --strategy rcu,wrlock; a 'target'\n"
	      "line follows the tables).  Per row also: recovery p99 and p99.9, the\n"
	      "baseline's max, recovery over baseline p99, tables recovered (counter\n"
	      "nx_tables_recovered); then the standard latency, lock and reclamation\n"
	      "table (of the recovery VM).  With one strategy, one count and one round,\n"
	      "each VM's 'Max fault latency' line (ns and TSC cycles) and NX counters\n"
	      "are printed as it ends.  The default takes about 2 x 5 s plus setup.\n",
	      f);
}


void print_demand_help(FILE *f)
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
	      "               pseudo-random order of its own (default: ascending)\n"
	      SWEEP_FLAGS_HELP("rcu", "1", "")
	      "  -h, --help   this text\n"
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

void print_reclaim_help(FILE *f, bool stall)
{
	fprintf(f,
		"usage: tdpmmu bench %s [flags]\n"
		"\n"
		"The reclamation strategies side by side, each run a fresh VM for --seconds.\n"
		"Half the vCPUs (rounded up) are 'huge' vCPUs: over 64 blocks of 2 MiB with\n"
		"THP backing, each faults the block capped at 4K (a page table appears\n"
		"under the block, splitting the huge page) and then uncapped (a huge page\n"
		"replaces that table, which is retired: the seed thread's case).  The other\n"
		"vCPUs fault fresh 4K pages elsewhere.  Every fault is timed; every run is\n"
		"audited at the end.\n"
		"%s"
		"\n"
		"flags:\n"
		VCPUS_FLAG_HELP("2..1000 each (default 2)")
		SWEEP_FLAGS_HELP("all", "1", "")
		"  --seconds S  run time per run, 0.05..3600 (default 1)\n"
		"%s"
		"  -h, --help   this text\n"
		"\n"
		"%s",
		stall ? "stalled-reader" : "huge-over-table",
		stall ? "\nA quarter into each run one more thread holds a walker's protection\n"
			"(the MMU read lock and the strategy's walk protection, like a fault\n"
			"preempted mid-walk) for --stall-ms, while the main thread samples the\n"
			"retired memory not yet freed every millisecond.\n"
		      : "",
		stall ? "  --stall-ms MS  how long the reader stalls, under half of --seconds\n"
			"               (default 200)\n"
		      : "",
		stall ? "The metric is faults/s of all vCPUs during the stall ('stall Mf/s',\n"
			"higher is better).  Per row also: the stall's length, faults/s outside\n"
			"it and the ratio, the most retired memory sampled during the stall, huge\n"
			"pages over tables per second.  --plot also draws FILE-retired.svg (or\n"
			".png): retired MiB over time, one line per strategy at the largest\n"
			"count; the JSON holds the series (at most 200 points).\n"
		      : "The metric is faults/s of all vCPUs, huge and small ('Mfaults/s', higher\n"
			"is better).  Per row also: huge pages that replaced a table per second,\n"
			"small and huge vCPUs' faults/s, wrlock's write-lock retries, drains\n"
			"(list strategies) or call_rcu callbacks (rcu ones).\n");
}

void print_torture_help(FILE *f)
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
	      "  -h, --help       this text\n"
	      "\n"
	      "The last line is 'violations: N'; the exit status is 1 when N > 0.  An\n"
	      "internal invariant violation (a BUG) aborts at once.\n",
	      f);
}

/* -b, -s, -w and --seconds as both take them. */
#define LOOP_FLAGS_HELP(default_backing, size_note) \
	"  -b SIZE      guest memory per vCPU, a multiple of 4K (and of the huge\n" \
	"               page for hugetlb);\n" \
	size_note \
	"               K, M, G, T are powers of 1024 (default 128M)\n" \
	"  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n" \
	"               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n" \
	"               anonymous_hugetlb_1gb (1G); also hugetlb_2mb, hugetlb_1gb,\n" \
	"               anon, thp, hugetlb-2m, hugetlb-1g (default " default_backing ")\n" \
	"  -w PCT       share of pages written, the rest read, 0..100 (default\n" \
	"               100); which pages depends on the gfn only\n" \
	"  --seconds S  run time of each run, 0.01..3600 (default 1)\n"

/* --range and --remap as both take them. */
#define INVAL_FLAGS_HELP \
	"  --range SIZE   bytes each invalidation covers, a multiple of 4K, at a\n" \
	"               random 4K-aligned place (default 2M; larger than the\n" \
	"               guest memory: all of it)\n" \
	"  --remap PCT  share of invalidations that give the 2 MiB blocks in the\n" \
	"               range new host frames (tdpmmu_host_remap; half of them\n" \
	"               2M-aligned, like compaction, half misaligned, like\n" \
	"               migration); such an invalidation widens to those blocks.\n" \
	"               0..100 (default 50; hugetlb memory is never remapped: 0)\n"

void print_notifier_help(FILE *f)
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
	      "flags:\n"
	      VCPUS_FLAG_HELP("1..1000 each (default 1,2)")
	      LOOP_FLAGS_HELP("anonymous", "")
	      INVAL_FLAGS_HELP
	      SWEEP_FLAGS_HELP("rcu", "1", "")
	      "  --rate N     invalidations per second, 0..10000000; 0 (the default):\n"
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

void print_mixed_help(FILE *f)
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
	      "flags:\n"
	      VCPUS_FLAG_HELP("1..1000 each (default 1,2)")
	      LOOP_FLAGS_HELP("anonymous_thp",
				   "               and an even number of those pages (two memslots);\n")
	      "  --dirty-rate N  dirty-log rounds (get, clear) per second, 0..100000;\n"
	      "               0: no dirty logging (default 20)\n"
	      "  --age-rate N   aging passes over all memory per second, 0: none\n"
	      "               (default 20)\n"
	      "  --nx-rate N    NX recovery passes per second, each zapping 1/10 of the\n"
	      "               listed tables; 0: the NX mitigation off (default 20)\n"
	      "  --inval-rate N  invalidations per second, 0: none (default 200)\n"
	      INVAL_FLAGS_HELP
	      SWEEP_FLAGS_HELP("rcu", "1", "")
	      "  -h, --help   this text\n"
	      "\n"
	      "Reported per strategy and vCPU count: Macc/s (the metric: guest\n"
	      "accesses per second over all vCPUs, higher is better), faults/s, and\n"
	      "per second: dirty rnd/s, aging/s, nx rec/s (passes), inval/s; then\n"
	      "fault latency, MMU lock and reclamation.  docs/bench.md describes every\n"
	      "number and the JSON.\n",
	      f);
}
