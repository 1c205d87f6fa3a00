/*
 * guest.c - the vCPUs of `tdpmmu bench mmio`: the guest program, the
 * device model behind the MMIO hole, and the vCPU threads.
 *
 * The guest program hands out accesses of which --mmio-pct percent (an
 * exact share, by a running credit, not by chance) go to the vCPU's hole
 * of MMIO_HOLE_PAGES gfns that no memslot maps, round robin, reads and
 * writes alternating; the rest read its own memory, page by page.  Each
 * access comes back (the next call of the program) and is checked: a
 * hole access must come back as an MMIO exit (TDPMMU_ACCESS_MMIO, a read
 * with the device's value), a memory access never.
 *
 * The device model (mmio_device) answers a read with the gpa tagged, and
 * checks that a write carries the value the program wrote.  With MMIO
 * caching on the library calls it at the exit; with caching off a hole
 * access makes tdpmmu_vcpu_run return -ENOENT, and the thread (the VMM)
 * emulates the access itself, calls the device, and enters again, as KVM
 * without MMIO caching emulates after a fault that found no memslot.
 *
 * Threads: each vCPU thread owns its struct mmio_vcpu while the run goes
 * (the program and the device run on it); it sets its own MMIO handler,
 * then meets the main thread at the start barrier; the main thread reads
 * the counts after pthread_join.  The stop flag is a relaxed atomic the
 * program loads.
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "mmio/mmio.h"

#define MMIO_TAG 0x6d6d696f00000000ull /* "mmio": the device's answer is gpa ^ tag */

static void complete(struct mmio_vcpu *g, const struct tdpmmu_access *a)
{
	bool mmio = a->type & TDPMMU_ACCESS_MMIO;

	if (!g->pending_hole) {
		g->mem_accesses++;
		g->mem_as_mmio += mmio;
		return;
	}
	g->hole_accesses++;
	g->hole_as_mmio += mmio;
	if ((a->type & TDPMMU_ACCESS_READ) && a->value != (a->gpa ^ MMIO_TAG))
		g->bad_values++;
}

static bool mmio_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct mmio_vcpu *g = ctx;
	uint64_t gfn;

	if (!g->fresh)
		complete(g, a);
	g->fresh = false;
	if (atomic_load_explicit(g->stop, memory_order_relaxed))
		return false;
	g->credit += g->pct;
	g->pending_hole = g->credit >= 100;
	if (g->pending_hole) {
		g->credit -= 100;
		gfn = g->hole_base + g->hole_next;
		g->hole_next = (g->hole_next + 1) % MMIO_HOLE_PAGES;
		a->gpa = gfn * GUEST_PAGE_BYTES;
		a->type = g->hole_accesses & 1 ? TDPMMU_ACCESS_WRITE : TDPMMU_ACCESS_READ;
		a->value = a->gpa ^ MMIO_TAG;
	} else {
		gfn = g->mem_base + g->mem_next;
		g->mem_next = (g->mem_next + 1) % g->mem_pages;
		a->gpa = gfn * GUEST_PAGE_BYTES;
		a->type = TDPMMU_ACCESS_READ;
		a->value = 0;
	}
	g->pending = *a;
	return true;
}

/* The device model: on the vCPU's thread, no lock held. */
static uint64_t mmio_device(void *ctx, const struct tdpmmu_access *a)
{
	struct mmio_vcpu *g = ctx;
	uint64_t gfn = a->gpa / GUEST_PAGE_BYTES;

	g->device_calls++;
	if (gfn < g->hole_base || gfn >= g->hole_base + MMIO_HOLE_PAGES)
		g->device_outside++;
	if ((a->type & TDPMMU_ACCESS_WRITE) && a->value != (a->gpa ^ MMIO_TAG))
		g->bad_values++;
	return a->gpa ^ MMIO_TAG;
}

/* Caching off: the VMM emulates the hole access tdpmmu_vcpu_run gave back. */
static bool emulate(struct mmio_vcpu *g)
{
	struct tdpmmu_access a = g->pending;
	uint64_t v;

	if (g->fresh || !g->pending_hole)
		return false; /* -ENOENT for memory: a failure the check reports */
	v = mmio_device(g, &a);
	if (a.type == TDPMMU_ACCESS_READ)
		a.value = v;
	a.type |= TDPMMU_ACCESS_MMIO;
	complete(g, &a);
	g->emulated++;
	return true;
}

static void *mmio_vcpu_thread(void *arg)
{
	struct mmio_vcpu *g = arg;
	int r;

	/* One-time setup before the timed part: thread slot, the device. */
	if (tdpmmu_thread_attach())
		cli_bug("no per-thread slot left for a vCPU thread (the -v limit keeps one)");
	r = tdpmmu_vcpu_set_mmio_handler(g->vcpu, mmio_device, g);
	if (r)
		cli_bug("tdpmmu_vcpu_set_mmio_handler: %s", strerror(-r));
	pthread_barrier_wait(g->start);
	do {
		g->fresh = true;
		r = tdpmmu_vcpu_run(g->vcpu, mmio_guest_next, g, TDPMMU_RUN_LATENCY);
	} while (r == -ENOENT && !g->caching && emulate(g));
	g->err = r;
	return NULL;
}

void mmio_vcpu_init(struct mmio_vcpu *g, const struct mmio_opts *o, const struct mmio_layout *l,
		    unsigned idx)
{
	g->caching = o->caching;
	g->mem_base = (uint64_t)idx * l->mem_pages;
	g->mem_pages = l->mem_pages;
	g->hole_base = l->hole_base + (uint64_t)idx * MMIO_HOLE_PAGES;
	g->pct = o->mmio_pct;
}

void mmio_vcpu_start(struct mmio_vcpu *g)
{
	pthread_attr_t attr;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	r = pthread_create(&g->tid, &attr, mmio_vcpu_thread, g);
	pthread_attr_destroy(&attr);
	if (r)
		fatal("starting a vCPU thread: %s", strerror(r));
}

void mmio_vcpu_join(struct mmio_vcpu *g)
{
	pthread_join(g->tid, NULL);
}
