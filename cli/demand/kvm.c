/*
 * kvm.c - the kvm rows of `tdpmmu bench demand-paging`, after KVM's
 * demand_paging_test on the real kernel through our VMM (kvm_vm.c): a
 * fresh VM per run whose vCPUs write each 4K page of their region once.
 * With -u MISSING the data memory is registered with userfaultfd
 * (cli/kvm/uffd.c) from the VMM's data_mapped hook, before anything
 * touches it: one userfaultfd and handler thread per vCPU region, or one
 * for all memory (-a, -o); each first touch of a backing page blocks the
 * vCPU in KVM's fault until a handler has slept -d microseconds and
 * copied the page in (UFFDIO_COPY).  Without -u the host pages are plain
 * anonymous faults.  Timed as the selftest does: start of the pass to the
 * last vCPU done.  Then a handler's failure fails the run, the copies are
 * counted against the backing pages, and every page is checked from the
 * host side.
 *
 * Main thread only; the vCPU threads are kvm_vm.c's, the handlers uffd.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/util.h"
#include "demand/demand.h"
#include "kvm/kvm_vm.h"
#include "kvm/uffd.h"
#include "sweep/sweep_kvm.h"

#define DEMAND_KVM_VALUE 0xd3a7du /* what every page holds after the pass */

struct demand_kvm_ctx {
	const struct demand_opts *o;
	struct uffd_pager *pager;
};

/*
 * The VMM's data_mapped hook: register data slot memory with the pager,
 * one range per vCPU region it holds (or the whole slot with -a and -o).
 */
static int data_mapped(void *ctx, unsigned slot, void *hva, uint64_t gpa, uint64_t bytes, char *why,
		       size_t len)
{
	struct demand_kvm_ctx *c = ctx;
	uint64_t per = c->o->b.bytes_per_vcpu, off = gpa - KVM_GUEST_DATA_GPA, done = 0;
	char name[48];

	if (c->o->single_uffd) {
		snprintf(name, sizeof(name), "all memory (slot %u)", slot);
		return uffd_pager_add(c->pager, hva, bytes, name, why, len);
	}
	while (done < bytes) {
		uint64_t vcpu = (off + done) / per, end = (vcpu + 1) * per - off;
		uint64_t n = (end < bytes ? end : bytes) - done;
		int r;

		snprintf(name, sizeof(name), "vCPU %" PRIu64, vcpu);
		r = uffd_pager_add(c->pager, (char *)hva + done, n, name, why, len);
		if (r)
			return r;
		done += n;
	}
	return 0;
}

/* Every page holds what the vCPUs wrote: the value, then 0. */
static void check_pages(struct kvm_guest_vm *vm, const struct demand_opts *o, uint64_t pages)
{
	for (uint64_t p = 0; p < pages; p++) {
		const uint64_t *word = kvm_vm_hva(vm, KVM_GUEST_DATA_GPA + p * GUEST_PAGE_BYTES);

		if (!word || *word != DEMAND_KVM_VALUE)
			fatal("check failed: kvm, %u vCPU%s: page %" PRIu64 " holds 0x%llx, "
			      "expected 0x%x",
			      o->b.sw.vcpus, o->b.sw.vcpus == 1 ? "" : "s", p,
			      word ? (unsigned long long)*word : 0ull, DEMAND_KVM_VALUE);
	}
}

int demand_kvm_check(void *opts, char *why, size_t len)
{
	const struct demand_opts *o = opts;

	/* A host whose userfaultfd KVM cannot use: skip the kvm rows. */
	if (o->uffd != DEMAND_UFFD_NONE && uffd_probe(why, len))
		return -ENOMEM;
	return 0;
}

/* The selftest's lines, for one strategy, one count and one round. */
static void print_start(uint64_t create_ns)
{
	char secs[32];

	bench_format_secs(create_ns, secs, sizeof(secs));
	printf("Finished creating vCPUs (%s)\nStarted all vCPUs\n", secs);
	fflush(stdout);
}

static void print_done(const struct demand_extra *x, unsigned n)
{
	char secs[32];
	double s = (double)x->paging_ns / 1e9;

	bench_format_secs(x->paging_ns, secs, sizeof(secs));
	printf("All vCPU threads joined\nTotal guest execution time: %s\n"
	       "Overall demand paging rate: %.1f pgs/sec\n"
	       "Per-vcpu demand paging rate: %.1f pgs/sec/vcpu (%" PRIu64 " UFFDIO_COPYs, %" PRIu64
	       " EEXIST)\n",
	       secs, (double)x->pages_touched / s, (double)x->pages_touched / n / s, x->host_faults,
	       x->host_fault_waits);
}

void demand_kvm_run(void *opts, struct sweep_run *out)
{
	const struct demand_opts *o = opts;
	unsigned n = o->b.sw.vcpus;
	struct demand_kvm_ctx c = { .o = o };
	struct kvm_vm_opts ko = {
		.vcpus = n,
		.bytes_per_vcpu = o->b.bytes_per_vcpu,
		.overlap = o->overlap,
		.backing = (enum kvm_backing_kind)sweep_kvm_backing(o->b.backing),
		.slots = 1,
		.data_mapped = o->uffd == DEMAND_UFFD_NONE ? NULL : data_mapped,
		.data_ctx = &c,
	};
	struct uffd_pager_opts po = {
		.delay_us = o->delay_us,
		.page_bytes = demand_host_page_pages(o) * GUEST_PAGE_BYTES,
		.readers = o->readers,
	};
	struct demand_extra *x = calloc(1, sizeof(*x));
	struct uffd_pager_stats st = { 0 };
	struct kvm_vcpu_kstats before;
	struct kvm_guest_vm *vm;
	uint64_t t0 = now_ns();
	char why[300];
	int r;

	if (!x)
		fatal("out of memory");
	out->extra = x;
	/* Checked at parse time; kept here so no caller can slip past it. */
	if (o->uffd == DEMAND_UFFD_MINOR)
		fatal("kvm, %u vCPU%s: -u MINOR needs shmem or hugetlbfs memory", n,
		      n == 1 ? "" : "s");
	if (o->uffd != DEMAND_UFFD_NONE && uffd_pager_create(&po, &c.pager, why, sizeof(why)))
		fatal("kvm, %u vCPU%s: %s", n, n == 1 ? "" : "s", why);
	r = kvm_vm_create(&ko, &vm, why, sizeof(why));
	if (r) {
		uffd_pager_destroy(c.pager); /* the sweep may go on without kvm rows */
		fatal("kvm, %u vCPU%s: %s", n, n == 1 ? "" : "s", why);
	}
	x->create_ns = now_ns() - t0;
	if (sweep_single_run(&o->b.sw))
		print_start(x->create_ns);
	kvm_vm_kstats(vm, &before);
	r = kvm_vm_pass(vm, 100, o->random_order, DEMAND_KVM_VALUE, &x->paging_ns, why,
			sizeof(why));
	/* The guest is done: the handlers too, so their counts are final. */
	uffd_pager_stop(c.pager);
	/*
	 * A handler's failure first: it explains a pass that failed with it.
	 * It is a wrong run, not a host without something: exit 1, whatever
	 * other rows the sweep has (its hook would skip the kvm rows and go on).
	 */
	if (c.pager && uffd_pager_error(c.pager, why, sizeof(why))) {
		uffd_pager_destroy(c.pager);
		kvm_vm_destroy(vm);
		fatal_hook_set(NULL);
		fatal("kvm, %u vCPU%s: %s", n, n == 1 ? "" : "s", why);
	}
	if (r)
		fatal("kvm, %u vCPU%s: %s", n, n == 1 ? "" : "s", why);
	kvm_vm_kstats(vm, &out->kvm);
	x->pages_touched = bench_pages_per_vcpu(&o->b) * n;
	x->region_pages = demand_region_pages(o);
	x->host_pages = (x->region_pages + demand_host_page_pages(o) - 1) /
			demand_host_page_pages(o);
	sweep_kvm_finish(&out->kvm, &before, x->pages_touched);
	if (c.pager) {
		uint64_t pp = demand_host_page_pages(o), per = bench_pages_per_vcpu(&o->b);
		/* Copies are counted from each range's start: a range's last one may be short. */
		uint64_t want = o->single_uffd ? (x->region_pages + pp - 1) / pp
					       : n * ((per + pp - 1) / pp);

		uffd_pager_stats(c.pager, &st);
		/* Each backing page copied in once; a second fault on it is an EEXIST. */
		if (st.copies != want)
			fatal("check failed: kvm, %u vCPU%s: %" PRIu64
			      " userfaultfd copies for %" PRIu64 " backing pages",
			      n, n == 1 ? "" : "s", st.copies, want);
	}
	check_pages(vm, o, x->region_pages);
	uffd_pager_destroy(c.pager);
	kvm_vm_destroy(vm);

	x->kvm = true;
	x->ept_violations = out->kvm.pf_taken > 0 ? (uint64_t)out->kvm.pf_taken : 0;
	x->host_faults = st.copies;
	x->host_fault_waits = st.eexist;
	if (sweep_single_run(&o->b.sw))
		print_done(x, n);
	x->uffds = st.handlers;
	x->uffd_max_ns = st.max_ns;
	bench_phase_add(&out->phases, "vCPU creation", x->create_ns, 0);
	bench_phase_add(&out->phases, "demand paging", x->paging_ns, x->ept_violations);
	out->metric = (double)x->pages_touched / ((double)x->paging_ns / 1e9);
	out->col[0] = (double)x->paging_ns / 1e9;
	out->col[1] = (double)x->paging_ns * n / (double)x->pages_touched;
	out->col[2] = (double)x->host_faults;
	out->col[3] = (double)x->host_fault_waits;
}
