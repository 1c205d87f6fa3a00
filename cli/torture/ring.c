/*
 * ring.c - the torture's dirty-ring rounds (KVM_CAP_DIRTY_LOG_RING).  In
 * a round whose seed says so, a second VM runs beside the round's, with
 * the round's strategy, preemption, pages and dirty-log modes and dirty
 * rings on (the round's own VM keeps the bitmap, which its oracles
 * harvest): two vCPUs write the iteration number into random pages of a
 * THP slot that logs with eager splitting, stopping on soft-full rings,
 * while a harvester thread (the VMM) runs KVM's dirty_log_test ring
 * oracle over and over: let writes land, bump the iteration, wait until
 * every vCPU chose an access after the bump or is stopped on its full
 * ring, harvest every ring, reset, and read every page.  A page whose
 * value changed since the last read to a value below the iteration must
 * be in the harvest (unless a stopped vCPU holds a write to it: that
 * one lands after the reset, pushed again by its fault); no page holds a
 * value from the future; every entry names the slot and a page in it.
 * Every eighth pass the harvester also zaps a 2 MiB block first, so
 * pages come back through the slow path.  At the end the VM is audited.
 *
 * Threads: the vCPUs' fields are atomics or their own; the shadow copy
 * and counts are the harvester's until torture_ring_stop joins it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/util.h"
#include "tdpmmu/testing.h"
#include "torture/torture.h"

#define RING_ENTRIES 1024u
#define RING_SLOT 0u
#define RING_PAGES 4096ull /* 8 blocks of 2 MiB */
#define RING_VCPUS 2
#define NO_GFN UINT64_MAX

struct ring_vcpu {
	struct torture_ring *t;
	struct tdpmmu_vcpu *v;
	uint64_t rnd;
	_Atomic uint64_t seen;     /* the iteration read when the last access was chosen */
	_Atomic uint64_t inflight; /* the page of the write in flight, or NO_GFN */
	atomic_bool blocked;       /* stopped on a soft-full ring */
	_Atomic uint64_t writes;
	pthread_t thread;
};

struct torture_ring {
	struct tdpmmu_vm *vm;
	bool dbit; /* --dirty-mode dbit: writes reach the ring at the vCPU's next exit */
	struct ring_vcpu c[RING_VCPUS];
	_Atomic uint64_t iteration;
	atomic_bool stop;
	/* A vCPU stopped on a full ring sleeps until the next reset (or stop). */
	pthread_mutex_t reset_mutex;
	pthread_cond_t reset_cond;
	uint64_t resets; /* under reset_mutex */
	pthread_t harvester;
	uint64_t rnd;
	uint64_t shadow[RING_PAGES];
	bool in_h[RING_PAGES];
	uint64_t pend[RING_VCPUS];
	struct tdpmmu_dirty_gfn out[RING_ENTRIES];
	uint64_t passes, checked, harvested, zaps;
	_Atomic uint64_t violations; /* the harvester's and the vCPUs' */
};

static bool ring_next(void *ctx, struct tdpmmu_access *a)
{
	struct ring_vcpu *c = ctx;
	struct torture_ring *t = c->t;
	uint64_t it = atomic_load_explicit(&t->iteration, memory_order_acquire);
	uint64_t gfn;

	atomic_store(&c->blocked, false);
	atomic_store_explicit(&c->seen, it, memory_order_release);
	if (atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		atomic_store(&c->inflight, NO_GFN);
		return false;
	}
	gfn = next_rnd(&c->rnd) % RING_PAGES;
	atomic_store(&c->inflight, gfn); /* before the fault that pushes it */
	a->gpa = gfn << 12;
	a->type = TDPMMU_ACCESS_WRITE;
	a->value = it;
	atomic_fetch_add_explicit(&c->writes, 1, memory_order_relaxed);
	return true;
}

static void *ring_vcpu_thread(void *arg)
{
	struct ring_vcpu *c = arg;

	while (!atomic_load_explicit(&c->t->stop, memory_order_relaxed)) {
		int r = tdpmmu_vcpu_run(c->v, ring_next, c, 0);

		if (r == TDPMMU_EXIT_DIRTY_RING_FULL) {
			struct torture_ring *t = c->t;
			uint64_t seen;

			/* Asleep until the harvester resets: no CPU taken from the round. */
			pthread_mutex_lock(&t->reset_mutex);
			seen = t->resets;
			atomic_store(&c->blocked, true);
			while (t->resets == seen && !atomic_load(&t->stop))
				pthread_cond_wait(&t->reset_cond, &t->reset_mutex);
			pthread_mutex_unlock(&t->reset_mutex);
		} else if (r && r != -ENOMEM) {
			torture_violation("dirty ring round: tdpmmu_vcpu_run returned %d", r);
			atomic_fetch_add(&c->t->violations, 1);
			break;
		}
	}
	atomic_store(&c->inflight, NO_GFN);
	atomic_store(&c->blocked, true);
	return NULL;
}

static uint64_t ring_writes(struct torture_ring *t)
{
	uint64_t n = 0;

	for (int i = 0; i < RING_VCPUS; i++)
		n += atomic_load(&t->c[i].writes);
	return n;
}

static bool any_blocked(struct torture_ring *t)
{
	for (int i = 0; i < RING_VCPUS; i++)
		if (atomic_load(&t->c[i].blocked))
			return true;
	return false;
}

static bool excused(struct torture_ring *t, uint64_t page)
{
	for (int i = 0; i < RING_VCPUS; i++)
		if (t->pend[i] == page || atomic_load(&t->c[i].inflight) == page)
			return true;
	return false;
}

static void ring_bad(struct torture_ring *t, const char *why, uint64_t page, uint64_t val,
		     uint64_t it)
{
	atomic_fetch_add(&t->violations, 1);
	torture_violation("dirty ring oracle: page %llu: %s (value %llu, last read %llu, "
			  "iteration %llu)",
			  (unsigned long long)page, why, (unsigned long long)val,
			  (unsigned long long)t->shadow[page], (unsigned long long)it);
}

/* A reset (or the stop) happened: vCPUs asleep on full rings go on. */
static void ring_wake(struct torture_ring *t)
{
	pthread_mutex_lock(&t->reset_mutex);
	t->resets++;
	pthread_cond_broadcast(&t->reset_cond);
	pthread_mutex_unlock(&t->reset_mutex);
}

/* One pass of the oracle; false once the round is stopping. */
static bool ring_pass(struct torture_ring *t)
{
	uint64_t it = atomic_load(&t->iteration) + 1, w0 = ring_writes(t);
	int r;

	if (atomic_load(&t->stop))
		return false;
	/* Let some writes land (or a vCPU fill its ring). */
	while (ring_writes(t) - w0 < 256 && !any_blocked(t))
		if (atomic_load(&t->stop))
			return false;
		else
			sched_yield();
	if (++t->passes % 8 == 0) {
		uint64_t b = next_rnd(&t->rnd) % (RING_PAGES / 512) * 512;

		if (tdpmmu_zap_range(t->vm, b, b + 512) == 0)
			t->zaps++;
	}
	atomic_store_explicit(&t->iteration, it, memory_order_release);
	for (int i = 0; i < RING_VCPUS; i++) {
		struct ring_vcpu *c = &t->c[i];

		while (atomic_load_explicit(&c->seen, memory_order_acquire) < it &&
		       !atomic_load(&c->blocked))
			if (atomic_load(&t->stop))
				return false;
			else
				sched_yield();
		t->pend[i] = atomic_load_explicit(&c->seen, memory_order_acquire) < it
				     ? atomic_load(&c->inflight)
				     : NO_GFN;
	}
	/*
	 * With PML the writes that landed may still sit in a vCPU's log until
	 * it exits: kick every vCPU out first, as QEMU's kvm_dirty_ring_flush.
	 */
	if (t->dbit)
		tdpmmu_flush_tlbs(t->vm);
	memset(t->in_h, 0, sizeof(t->in_h));
	for (int i = 0; i < RING_VCPUS; i++) {
		r = tdpmmu_dirty_ring_harvest(t->c[i].v, t->out, RING_ENTRIES);
		if (r < 0) {
			ring_bad(t, "harvest failed", 0, (uint64_t)-r, it);
			continue;
		}
		for (int e = 0; e < r; e++) {
			if (t->out[e].slot != RING_SLOT || t->out[e].offset >= RING_PAGES)
				ring_bad(t, "entry outside the slot", 0, t->out[e].offset, it);
			else
				t->in_h[t->out[e].offset] = true;
		}
		t->harvested += (uint64_t)r;
	}
	r = tdpmmu_dirty_ring_reset(t->vm);
	if (r < 0 && r != -EAGAIN)
		ring_bad(t, "reset failed", 0, (uint64_t)-r, it);
	ring_wake(t);
	for (uint64_t p = 0; p < RING_PAGES; p++) {
		uint64_t v = 0;

		if (tdpmmu_host_read(t->vm, p << 12, &v))
			ring_bad(t, "host read failed", p, 0, it);
		if (v > it)
			ring_bad(t, "value from the future", p, v, it);
		if (v != t->shadow[p] && v < it) {
			t->checked++;
			if (!t->in_h[p] && !excused(t, p))
				ring_bad(t, "written since the last reset, not in the ring", p, v,
					 it);
		}
		t->shadow[p] = v;
	}
	return true;
}

static void *ring_harvester(void *arg)
{
	struct torture_ring *t = arg;

	if (tdpmmu_thread_attach())
		fatal("torture: no thread slot for the dirty ring's harvester");
	while (ring_pass(t))
		;
	return NULL;
}

struct torture_ring *torture_ring_start(enum tdpmmu_strategy s, enum tdpmmu_preempt p,
					enum tdpmmu_pages_mode pages, enum tdpmmu_dirty_mode dirty,
					uint64_t seed)
{
	struct tdpmmu_memslot slot = { RING_SLOT, 0, RING_PAGES, TDPMMU_BACKING_THP, 0 };
	struct torture_ring *t = calloc(1, sizeof(*t));
	struct tdpmmu_vm_config cfg;
	int e;

	if (!t)
		fatal("out of memory");
	pthread_mutex_init(&t->reset_mutex, NULL);
	pthread_cond_init(&t->reset_cond, NULL);
	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = s;
	cfg.preempt = p;
	cfg.pages = pages;
	cfg.dirty_mode = dirty;
	cfg.levels = 4 * tdpmmu_pt_bits() >= 20 ? 4 : 5;
	cfg.max_tables = 1 << 12;
	cfg.payload_bytes = tdpmmu_payload_bytes_for(RING_PAGES, 1);
	e = tdpmmu_vm_create(&cfg, &t->vm);
	if (!e)
		e = tdpmmu_memslot_add(t->vm, &slot);
	if (!e)
		e = tdpmmu_dirty_ring_enable(t->vm, RING_ENTRIES);
	for (int i = 0; !e && i < RING_VCPUS; i++) {
		t->c[i].t = t;
		t->c[i].rnd = (seed * 0x9e3779b97f4a7c15ull + (uint64_t)i * 7919) | 1;
		atomic_store(&t->c[i].inflight, NO_GFN);
		e = tdpmmu_vcpu_create(t->vm, &t->c[i].v);
	}
	/*
	 * Mapped huge first, so eager splitting has leaves to split under the
	 * vCPUs.  The round's injected allocation failures reach these faults
	 * too: a fault that failed with -ENOMEM is made again.
	 */
	for (uint64_t b = 0; !e && b < RING_PAGES; b += 512) {
		int tries = 0;

		do
			e = tdpmmu_fault(t->c[0].v, b, TDPMMU_ACCESS_READ, 0, NULL);
		while (e == -ENOMEM && ++tries < 64);
	}
	if (!e && tdpmmu_dirty_log_enable(t->vm, RING_SLOT, TDPMMU_DIRTY_LOG_EAGER_SPLIT) < 0)
		e = -EIO;
	if (e)
		fatal("torture: creating the dirty ring's VM: %s", strerror(-e));
	t->rnd = seed | 1;
	t->dbit = dirty == TDPMMU_DIRTY_DBIT;
	for (int i = 0; i < RING_VCPUS; i++)
		if (pthread_create(&t->c[i].thread, NULL, ring_vcpu_thread, &t->c[i]))
			fatal("torture: cannot start a dirty ring vCPU");
	if (pthread_create(&t->harvester, NULL, ring_harvester, t))
		fatal("torture: cannot start the dirty ring's harvester");
	return t;
}

void torture_ring_stop(struct torture_ring *t, struct torture_result *res)
{
	int64_t c[TDPMMU_NR_COUNTERS];

	atomic_store(&t->stop, true);
	ring_wake(t);
	pthread_join(t->harvester, NULL);
	for (int i = 0; i < RING_VCPUS; i++)
		pthread_join(t->c[i].thread, NULL);
	if (tdpmmu_audit(t->vm)) {
		atomic_fetch_add(&t->violations, 1);
		torture_violation("dirty ring round: the audit failed");
	}
	tdpmmu_counters_read(t->vm, c);
	res->ring_rounds++;
	res->ring_passes += t->passes;
	res->ring_checked += t->checked;
	res->ring_harvested += t->harvested;
	res->ring_zaps += t->zaps;
	res->ring_full_exits += (uint64_t)c[TDPMMU_C_RING_SOFT_FULL_EXITS];
	res->ring_resets += (uint64_t)c[TDPMMU_C_RING_RESETS];
	res->violations += atomic_load(&t->violations);
	for (int i = 0; i < RING_VCPUS; i++)
		tdpmmu_vcpu_destroy(t->c[i].v);
	tdpmmu_vm_destroy(t->vm);
	pthread_cond_destroy(&t->reset_cond);
	pthread_mutex_destroy(&t->reset_mutex);
	free(t);
}
