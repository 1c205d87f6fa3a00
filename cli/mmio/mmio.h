/*
 * mmio.h - `tdpmmu bench mmio`: guest accesses to a hole of gfns no
 * memslot maps (MMIO exits to a device model) mixed with accesses to
 * memory, while the host adds and deletes a memslot elsewhere, so that
 * every memslot update makes the cached MMIO entries stale (the memslot
 * generation).  A scenario of the sweep driver, one file per part:
 * opts.c (flags), guest.c (the guest program, the device model and the
 * vCPU threads), run.c (one run of one configuration: the VM, the host's
 * memslot updates, the check), report.c (settings, JSON, the sweep
 * description, mmio_main) and help.c.
 *
 * Threads: options and reports on the main thread only; a run's vCPU
 * threads live inside mmio_run() (see guest.c and run.c).
 */
#ifndef TDPMMU_CLI_MMIO_H
#define TDPMMU_CLI_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bench_common.h"

#define MMIO_HOLE_PAGES 64  /* each vCPU's MMIO range, in no memslot */
#define MMIO_EXTRA_PAGES 16 /* the memslot the host adds and deletes */
#define MMIO_EXTRA_SLOT 1   /* its id (bench_vm_create's memory is slot 0) */
#define MMIO_MAX_RATE 100000

struct mmio_opts {
	struct bench_opts b; /* first: the common setters take the struct as theirs */
	unsigned mmio_pct;   /* --mmio-pct: share of accesses in the hole */
	unsigned slot_rate;  /* --slot-rate: memslot updates per second, 0: none */
	bool caching;        /* --mmio-caching on|off */
	bool dirty_log_op;   /* --slot-op dirty-log: toggle logging instead of add/delete */
	unsigned gen_bits;   /* --mmio-gen-bits: generation bits an entry keeps */
	double seconds;      /* --seconds */
};

/* The gfn layout of a run with @vcpus vCPUs (memory from gfn 0, then the holes, then the slot). */
struct mmio_layout {
	uint64_t mem_pages;  /* per vCPU */
	uint64_t hole_base;  /* vCPU i's hole: hole_base + i * MMIO_HOLE_PAGES */
	uint64_t extra_base; /* the extra memslot */
	uint64_t end;        /* one past the last gfn used */
};
void mmio_layout(const struct mmio_opts *o, unsigned vcpus, struct mmio_layout *l);

/*
 * One vCPU: its guest program's state, its device model's counts and its
 * thread.  Written by the vCPU's thread only while the run goes (the
 * handler runs there too), read by the main thread after the join.
 */
struct mmio_vcpu {
	struct tdpmmu_vcpu *vcpu;
	const atomic_bool *stop;
	pthread_barrier_t *start;
	bool caching;
	/* the guest program */
	uint64_t mem_base, mem_pages, mem_next;
	uint64_t hole_base, hole_next;
	unsigned pct, credit;
	bool fresh;        /* the next call starts a tdpmmu_vcpu_run: nothing completed */
	bool pending_hole; /* the access handed out last is in the hole */
	struct tdpmmu_access pending;
	/* results */
	uint64_t mem_accesses, hole_accesses;
	uint64_t hole_as_mmio, mem_as_mmio; /* completed with TDPMMU_ACCESS_MMIO */
	uint64_t device_calls, emulated;    /* handler calls; of them by the VMM (-ENOENT) */
	uint64_t bad_values, device_outside;
	int err;
	pthread_t tid;
} __attribute__((aligned(64)));

/* guest.c: set up vCPU @g (its vCPU created) and start/join its thread. */
void mmio_vcpu_init(struct mmio_vcpu *g, const struct mmio_opts *o, const struct mmio_layout *l,
		    unsigned idx);
void mmio_vcpu_start(struct mmio_vcpu *g);
void mmio_vcpu_join(struct mmio_vcpu *g);

/* What one run measured beyond struct sweep_run, for the JSON. */
struct mmio_extra {
	double seconds;
	uint64_t accesses, mem_accesses, hole_accesses, device_calls, emulated;
	uint64_t slot_updates, generations, faults;
	int64_t exits, exits_fast, stale, installed, wraps;
};

/* opts.c: parse and check the flags (usage errors exit 2)... */
void mmio_opts_parse(struct mmio_opts *o, int argc, char **argv);
/* ...and write them back out: "tdpmmu bench NAME -v ... --slot-rate 1000". */
void mmio_opts_command(const struct mmio_opts *o, const char *name, char *buf, size_t len);

/* run.c: the sweep's run function (@opts: struct mmio_opts). */
void mmio_run(void *opts, bool latency_round, struct sweep_run *out);

/* report.c and help.c: the scenario's entry in the table (cli/scenario.c). */
extern const struct sweep_scenario mmio_sweep;
int mmio_main(const struct scenario *sc, int argc, char **argv);
void mmio_help(FILE *f);

#endif /* TDPMMU_CLI_MMIO_H */
