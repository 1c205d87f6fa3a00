/*
 * help_flags.h - the --help lines of the flags several scenarios share,
 * as string-literal macros each scenario's help.c pastes into its text:
 * the sweep's (cli/sweep/sweep_opts.c), the memory layout's
 * (cli/common/bench_common.c) and the invalidation loop's
 * (cli/common/bench_background.c: notifier and mixed).
 */
#ifndef TDPMMU_CLI_HELP_FLAGS_H
#define TDPMMU_CLI_HELP_FLAGS_H

/*
 * The flags every benchmark scenario shares (cli/sweep/sweep_opts.c,
 * cli/common/bench_common.c): -v with its range and default; -b and -s with the
 * backing's default; the sweep's own with the strategy's and --repeat's
 * defaults, and more lines on --strategy (KVM_STRATEGY_HELP, or "").
 */
#define VCPUS_FLAG_HELP(range_default)                                                             \
	"  -v LIST      vCPU counts, comma separated, " range_default "\n"
#define LAYOUT_FLAGS_HELP(default_backing)                                                         \
	"  -b SIZE      guest memory per vCPU, a multiple of 4K (any multiple, huge\n"             \
	"               backings too); K, M, G, T are powers of 1024 (default 1G)\n"               \
	"  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"                       \
	"               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"                        \
	"               anonymous_hugetlb_1gb (1G), shmem (4K), shared_hugetlb (2M);\n"            \
	"               also hugetlb_2mb, hugetlb_1gb, anon, thp, hugetlb-2m,\n"                   \
	"               hugetlb-1g; a huge page maps where it fits in the memory,\n"               \
	"               smaller pages the rest (default " default_backing ")\n"
#define SWEEP_FLAGS_HELP(default_strategy, default_repeat, more_strategies)                        \
	"  --strategy LIST  reclamation strategies side by side, comma separated,\n"               \
	"               or all: rcu, rcu-qsbr, llist, llist-trylock, wrlock, global\n"             \
	"               (default " default_strategy ")\n" more_strategies                          \
	"  --repeat N   rounds, 1..1000: each runs every strategy at every count,\n"               \
	"               interleaved; a row shows its best round, the median beside\n"              \
	"               it (default " default_repeat ")\n"                                         \
	"  --levels N   page-table levels, 4 or 5 (default 4)\n"                                   \
	"  --payload    real host memory behind the guest: writes land in bytes\n"                 \
	"  --preempt M  the host kernel's preemption model the MMU lock follows:\n"                \
	"               none or voluntary (a long operation keeps the lock until\n"                \
	"               its 3 ms slice is used up, however many vCPUs wait), full\n"               \
	"               (it also lets go when one waits); kvm rows run under this\n"               \
	"               host's own model, printed in the header (default voluntary)\n"             \
	"  --pages M    how the MMU tracks its page-table pages: count (an atomic\n"               \
	"               count, upstream today) or list (the seed thread's list\n"                  \
	"               under a pages lock that every table link and unlink takes\n"               \
	"               under the read lock) (default count)\n"                                    \
	"  --json FILE  also write the results as JSON to FILE\n"                                  \
	"  --plot FILE  also draw the metric against vCPUs and the fault latency\n"                \
	"               with gnuplot, into FILE.svg or FILE.png\n"

/* The kvm rows of populate and dirty-log (cli/sweep/sweep_kvm.c). */
#define KVM_STRATEGY_HELP                                                                          \
	"               kvm (named in the list, e.g. all,kvm): the same workload on\n"             \
	"               this host's KVM (/dev/kvm) through tdpmmu's own VMM; where\n"              \
	"               /dev/kvm cannot run a VM, one line says why and the rest runs\n"

/* -b, -s, -w and --seconds as both take them. */
#define LOOP_FLAGS_HELP(default_backing, size_note)                                                \
	"  -b SIZE      guest memory per vCPU, a multiple of 4K (any multiple, huge\n"             \
	"               backings too);\n" size_note                                                \
	"               K, M, G, T are powers of 1024 (default 128M)\n"                            \
	"  -s BACKING   anonymous (4K), anonymous_thp (2M where it fits),\n"                       \
	"               anonymous_hugetlb or anonymous_hugetlb_2mb (2M),\n"                        \
	"               anonymous_hugetlb_1gb (1G), shmem (4K), shared_hugetlb (2M);\n"            \
	"               also hugetlb_2mb, hugetlb_1gb, anon, thp, hugetlb-2m,\n"                   \
	"               hugetlb-1g; a huge page maps where it fits in the memory,\n"               \
	"               smaller pages the rest (default " default_backing ")\n"                    \
	"  -w PCT       share of pages written, the rest read, 0..100 (default\n"                  \
	"               100); which pages depends on the gfn only\n"                               \
	"  --seconds S  run time of each run, 0.01..3600 (default 1)\n"

/* --range and --remap as both take them. */
#define INVAL_FLAGS_HELP                                                                           \
	"  --range SIZE   bytes each invalidation covers, a multiple of 4K, at a\n"                \
	"               random 4K-aligned place (default 2M; larger than the\n"                    \
	"               guest memory: all of it)\n"                                                \
	"  --remap PCT  share of invalidations that give the 2 MiB blocks in the\n"                \
	"               range new host frames (tdpmmu_host_remap; half of them\n"                  \
	"               2M-aligned, like compaction, half misaligned, like\n"                      \
	"               migration); such an invalidation widens to those blocks.\n"                \
	"               0..100 (default 50; hugetlb memory is never remapped: 0)\n"

/* One syntax for every flag's value (cli/common/parse.c), in every --help. */
#define NUMBER_SYNTAX_HELP                                                                         \
	"Values: a number is decimal digits (no sign, space or 0x); seconds may\n"                 \
	"have a fraction (0.5).  A size is the exception, read as KVM selftests'\n"                \
	"parse_size reads it: decimal, 0x hex or 0-prefixed octal (064M is 52M),\n"                \
	"then an optional b (bytes) or K, M, G, T (powers of 1024): 4096b, 0x1000.\n"              \
	"A list (-v 1,2, --strategy rcu,kvm) names each entry once.\n"

/* What --json and --plot promise (cli/common/outfile.c). */
#define OUTPUT_RULES_HELP                                                                          \
	"Outputs: --json - is standard output (the report then goes to standard\n"                 \
	"error).  Both paths are checked before anything runs, and a file is\n"                    \
	"written whole or not at all: a failed or killed run leaves an earlier\n"                  \
	"file of that name as it was.\n"

#endif /* TDPMMU_CLI_HELP_FLAGS_H */
