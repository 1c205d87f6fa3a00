/*
 * demand.h - `tdpmmu bench demand-paging`, after KVM's demand_paging_test,
 * as a scenario of the sweep driver, one file per part: opts.c (flags),
 * run.c (one run of one configuration), kvm.c (a kvm row: the guest on
 * /dev/kvm, its memory paged in by userfaultfd, cli/kvm/uffd.c),
 * report.c (settings, JSON, the sweep description, demand_main) and
 * help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside demand_run() (see run.c).
 */
#ifndef TDPMMU_CLI_DEMAND_H
#define TDPMMU_CLI_DEMAND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

/* -u: how the host pages memory in (upstream's UFFDIO_REGISTER modes). */
enum demand_uffd { DEMAND_UFFD_NONE, DEMAND_UFFD_MISSING, DEMAND_UFFD_MINOR };

struct demand_opts {
	struct bench_opts b;   /* first: the common setters take the struct as theirs */
	enum demand_uffd uffd; /* -u */
	unsigned delay_us;     /* -d, only with -u */
	bool delay_given;
	bool overlap;     /* -o */
	bool single_uffd; /* -a: one userfaultfd for all memory (implied by -o) */
	unsigned readers; /* -r: reader threads per userfaultfd (default 1), only with -u */
	bool readers_given;
	bool random_order; /* --random */
};

/* "MISSING", "MINOR", or NULL without -u. */
const char *demand_uffd_name(enum demand_uffd u);

/*
 * 4K pages in one host page of the backing, what one host fault brings in
 * (tdpmmu.h, host_fault_us): 2M for THP too, although -b need not be a
 * multiple of it.
 */
static inline uint64_t demand_host_page_pages(const struct demand_opts *o)
{
	if (o->b.backing == TDPMMU_BACKING_THP)
		return 2ull << 20 >> 12;
	return backing_align_bytes(o->b.backing) / GUEST_PAGE_BYTES;
}

/* Whether two vCPUs can touch one host page: -o, or THP pages across regions. */
static inline bool demand_host_pages_shared(const struct demand_opts *o)
{
	return o->overlap || bench_pages_per_vcpu(&o->b) % demand_host_page_pages(o);
}

/* Guest pages in the memslots: one region, or one per vCPU. */
static inline uint64_t demand_region_pages(const struct demand_opts *o)
{
	return bench_pages_per_vcpu(&o->b) * (o->overlap ? 1 : o->b.sw.vcpus);
}

/*
 * Memslots of a simulated run: one per userfaultfd, since the library's
 * handler pool (host_fault_handlers) is per memslot: one per vCPU region
 * with -u and without -a, else one.
 */
static inline unsigned demand_slots(const struct demand_opts *o)
{
	return o->uffd != DEMAND_UFFD_NONE && !o->single_uffd ? o->b.sw.vcpus : 1;
}

/* Host pages of the memslots: each slot counts its own, from its first page. */
static inline uint64_t demand_host_pages(const struct demand_opts *o)
{
	uint64_t n = demand_host_page_pages(o), per = demand_region_pages(o) / demand_slots(o);
	uint64_t sum = 0;

	for (unsigned i = 0; i < demand_slots(o); i++)
		sum += (i * per + per - 1) / n - i * per / n + 1;
	return sum;
}

/* The per-run numbers only this scenario has, for its JSON. */
struct demand_extra {
	uint64_t pages_touched, region_pages, host_pages;
	uint64_t ept_violations, host_faults, host_fault_waits;
	uint64_t create_ns, paging_ns;
	bool kvm;             /* a kvm row: host faults are userfaultfd copies, waits EEXISTs */
	unsigned uffds;       /* kvm, -u: userfaultfds (one handler thread each) */
	uint64_t uffd_max_ns; /* kvm, -u: the slowest fault, event read to resolved */
};

/* opts.c: parse and check the flags (usage errors exit 2)... */
void demand_opts_parse(struct demand_opts *o, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... -d 100". */
void demand_opts_command(const struct demand_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct demand_opts). */
void demand_run(void *opts, bool latency_round, struct sweep_run *out);
/* kvm.c: a kvm row's run (the sweep's run_kvm)... */
void demand_kvm_run(void *opts, struct sweep_run *out);
/* ...and its check (check_kvm): -ENOMEM where userfaultfd cannot serve KVM. */
int demand_kvm_check(void *opts, char *why, size_t len);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario demand_sweep;
int demand_main(const struct scenario *sc, int argc, char **argv);
void demand_help(FILE *f);

#endif /* TDPMMU_CLI_DEMAND_H */
