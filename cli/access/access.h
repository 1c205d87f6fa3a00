/*
 * access.h - `tdpmmu bench access-tracking` (KVM's
 * access_tracking_perf_test) as a scenario of the sweep driver, one file
 * per part: opts.c (flags), run.c (one run of one configuration),
 * kvm.c (a kvm row: the guest on /dev/kvm, marked idle through
 * /sys/kernel/mm/page_idle/bitmap), report.c (settings, report, JSON, the
 * sweep description, access_main) and help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside access_run() (see run.c).
 */
#ifndef TDPMMU_CLI_ACCESS_H
#define TDPMMU_CLI_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

struct access_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	bool overlap;        /* -o */
	bool flush;          /* --flush (simulated rows) */
	int idle_warn_only;  /* -w: >0 warn, 0 fail, <0 auto (access_idle_fails()) */
};

#define ACCESS_IDLE_CHECKS 2 /* after writing, after reading idle memory */

/* What one run measured beyond struct sweep_run: its extra (flat: free()d whole). */
struct access_extra {
	uint64_t pages; /* 4K pages of all vCPUs' ranges (marked once per vCPU with -o) */
	uint64_t mark_ns[ACCESS_IDLE_CHECKS];       /* each "Mark memory idle" */
	uint64_t young_cleared[ACCESS_IDLE_CHECKS]; /* leaves each mark found young */
	uint64_t still_idle[ACCESS_IDLE_CHECKS];    /* pages, all vCPUs, after each idle pass */
	unsigned warned[ACCESS_IDLE_CHECKS];        /* vCPUs with 10% or more still idle */
	struct bench_vcpu_sum vcpu;                 /* the vCPUs' totals at the end */
	bool kvm; /* a kvm row: young_cleared counts the pages marked through page_idle */
};

/* opts.c: parse and check the flags (usage errors exit 2)... */
void access_opts_parse(struct access_opts *o, int argc, char **argv);
/*
 * Whether 10% or more of a vCPU's pages still idle after a pass ends the
 * run (exit 1) rather than warning: -w 0 yes, -w 1 no; auto (-w -1, the
 * default) as upstream: fail unless the results cannot be trusted, which
 * for simulated rows (@kvm false) is always (clear_young leaves the
 * simulated TLBs alone, so cached translations set no Accessed bit), and
 * for kvm rows when NUMA balancing is on or this machine is a VM.
 */
bool access_idle_fails(const struct access_opts *o, bool kvm);
/* ...and write them back out: "tdpmmu bench NAME -v ... -b 1G -s anonymous". */
void access_opts_command(const struct access_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct access_opts). */
void access_run(void *opts, bool latency_round, struct sweep_run *out);

/*
 * kvm.c: whether page_idle and pagemap can run the kvm rows (the sweep's
 * check_kvm): 0; -ENOMEM when this kernel or process lacks them (the kvm
 * rows are skipped with one line); -EINVAL for a hugetlb backing...
 */
int access_kvm_check(void *opts, char *why, size_t len);
/* ...and a kvm row's run (the sweep's run_kvm). */
void access_kvm_run(void *opts, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario access_sweep;
int access_main(const struct scenario *sc, int argc, char **argv);
void access_help(FILE *f);

#endif /* TDPMMU_CLI_ACCESS_H */
