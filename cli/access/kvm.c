/*
 * kvm.c - the kvm rows of `tdpmmu bench access-tracking`, KVM's
 * access_tracking_perf_test on the real kernel through our VMM (kvm_vm.c)
 * and the kernel's idle page tracking, as the selftest does it: for each
 * 4K page of a vCPU's region, /proc/self/pagemap gives its PFN and one
 * 8-byte write to /sys/kernel/mm/page_idle/bitmap marks it idle, which
 * clears the Accessed bits of its PTEs, and KVM's through the MMU
 * notifier's clear_young.  After the vCPUs touch the idle memory again,
 * reading the bitmap tells which pages are still idle: accessed without
 * KVM reporting it young.
 *
 * The phases are the simulated run's (run.c): populate, write, read,
 * mark idle, write idle memory, count still idle, mark idle, read idle
 * memory, count still idle; the marks are the metric.  Both files need
 * root (pagemap gives PFNs to CAP_SYS_ADMIN only) and a kernel with
 * CONFIG_IDLE_PAGE_TRACKING: access_kvm_check() says why a machine cannot
 * run the row, and the sweep then skips it with that one line.
 * page_idle tracks only LRU pages: hugetlb backings are refused there.
 *
 * Main thread only; the vCPU threads are kvm_vm.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "common/util.h"
#include "kvm/kvm_vm.h"
#include "sweep/sweep_kvm.h"

#define PAGE_IDLE_PATH "/sys/kernel/mm/page_idle/bitmap"
#define PAGEMAP_PATH "/proc/self/pagemap"
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)
#define PAGEMAP_BATCH 512 /* entries read per pread */
#define ACCESS_KVM_VALUE 0xacce55u

struct access_kvm {
	const struct access_opts *o;
	bool verbose;
	struct kvm_guest_vm *vm;
	int idle_fd, pagemap_fd;
	uint64_t pages_per_vcpu;
	uint64_t *pfn; /* of each data page, 0 when not present (looked up per mark) */
	struct sweep_run *out;
	struct access_extra *x;
};

/* The PFNs of @n pages from @hva (0 where not present): 0 or -errno. */
static int lookup_pfns(int fd, const char *hva, uint64_t n, uint64_t *pfn)
{
	uint64_t e[PAGEMAP_BATCH];

	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < PAGEMAP_BATCH ? n - done : PAGEMAP_BATCH;
		off_t off = (off_t)(((uintptr_t)hva / GUEST_PAGE_BYTES + done) * sizeof(e[0]));
		ssize_t r = pread(fd, e, k * sizeof(e[0]), off);

		if (r < 0)
			return -errno;
		if (r < (ssize_t)sizeof(e[0]))
			return -EIO;
		k = (uint64_t)r / sizeof(e[0]);
		for (uint64_t i = 0; i < k; i++)
			pfn[done + i] = e[i] & PAGEMAP_PRESENT ? e[i] & PAGEMAP_PFN_MASK : 0;
		done += k;
	}
	return 0;
}

/* Whether @pfn is idle: 1, 0, or -errno. */
static int page_idle(int fd, uint64_t pfn)
{
	uint64_t bits;

	if (pread(fd, &bits, sizeof(bits), (off_t)(pfn / 64 * sizeof(bits))) != sizeof(bits))
		return -errno ? -errno : -EIO;
	return !!(bits & (1ull << (pfn % 64)));
}

static int mark_idle_pfn(int fd, uint64_t pfn)
{
	uint64_t bits = 1ull << (pfn % 64);

	if (pwrite(fd, &bits, sizeof(bits), (off_t)(pfn / 64 * sizeof(bits))) != sizeof(bits))
		return -errno ? -errno : -EIO;
	return 0;
}

int access_kvm_check(void *opts, char *why, size_t len)
{
	const struct access_opts *o = opts;
	int idle, pm, r;
	uint64_t pfn = 0;
	volatile uint64_t here = 1; /* on the stack: a present page to look up */

	if (o->b.backing == TDPMMU_BACKING_HUGETLB_2M ||
	    o->b.backing == TDPMMU_BACKING_HUGETLB_1G) {
		snprintf(why, len, "page_idle tracks no hugetlb pages (-s %s)",
			 backing_kvm_name(o->b.backing));
		return -EINVAL;
	}
	idle = open(PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);
	if (idle < 0) {
		snprintf(why, len, "%s: %s (idle page tracking: CONFIG_IDLE_PAGE_TRACKING, root)",
			 PAGE_IDLE_PATH, strerror(errno));
		return -ENOMEM;
	}
	pm = open(PAGEMAP_PATH, O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		snprintf(why, len, "%s: %s", PAGEMAP_PATH, strerror(errno));
		close(idle);
		return -ENOMEM;
	}
	r = lookup_pfns(pm, (const char *)&here, 1, &pfn);
	if (r)
		snprintf(why, len, "%s: %s", PAGEMAP_PATH, strerror(-r));
	else if (!pfn) {
		r = -EPERM;
		snprintf(why, len, "%s shows no PFNs to this process (needs CAP_SYS_ADMIN)",
			 PAGEMAP_PATH);
	} else if ((r = page_idle(idle, pfn)) < 0)
		snprintf(why, len, "%s: %s", PAGE_IDLE_PATH, strerror(-r));
	else
		r = 0;
	close(pm);
	close(idle);
	return r ? -ENOMEM : 0; /* this process cannot use them: skip */
}

static void phase(struct access_kvm *a, const char *name, uint64_t ns)
{
	char secs[40];

	bench_phase_add(&a->out->phases, name, ns, 0);
	if (!a->verbose)
		return;
	bench_format_secs(ns, secs, sizeof(secs));
	printf("%-30s: %s\n", name, secs);
	fflush(stdout);
}

static uint64_t pass(struct access_kvm *a, const char *name, bool write)
{
	uint64_t ns;
	char why[200];

	if (kvm_vm_pass(a->vm, write ? 100 : 0, false, ACCESS_KVM_VALUE, &ns, why, sizeof(why)))
		fatal("kvm, %u vCPUs: %s: %s", a->o->b.sw.vcpus, name, why);
	phase(a, name, ns);
	return ns;
}

static const char *region(struct access_kvm *a, unsigned vcpu)
{
	uint64_t page = a->o->overlap ? 0 : (uint64_t)vcpu * a->pages_per_vcpu;

	return kvm_vm_hva(a->vm, KVM_GUEST_DATA_GPA + page * GUEST_PAGE_BYTES);
}

/*
 * Mark every vCPU's range idle, one after the other, as the selftest
 * does: each page's PFN from pagemap, then its bit in the bitmap.
 */
static void mark_idle(struct access_kvm *a, unsigned round)
{
	uint64_t t0 = now_ns(), marked = 0, n = a->pages_per_vcpu;
	int r;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++) {
		r = lookup_pfns(a->pagemap_fd, region(a, i), n, a->pfn);
		if (r)
			fatal("kvm: %s: %s", PAGEMAP_PATH, strerror(-r));
		for (uint64_t p = 0; p < n; p++) {
			if (!a->pfn[p])
				continue;
			r = mark_idle_pfn(a->idle_fd, a->pfn[p]);
			if (r)
				fatal("kvm: marking PFN 0x%" PRIx64 " idle: %s", a->pfn[p],
				      strerror(-r));
			marked++;
		}
	}
	a->x->mark_ns[round] = now_ns() - t0;
	a->x->young_cleared[round] = marked;
	phase(a, "Mark memory idle", a->x->mark_ns[round]);
}

/* After a pass over idle memory: the pages the bitmap still calls idle. */
static void count_still_idle(struct access_kvm *a, unsigned round, const char *after)
{
	uint64_t n = a->pages_per_vcpu, total = 0;

	for (unsigned i = 0; i < a->o->b.sw.vcpus; i++) {
		uint64_t idle = 0;
		int r = lookup_pfns(a->pagemap_fd, region(a, i), n, a->pfn);

		if (r)
			fatal("kvm: %s: %s", PAGEMAP_PATH, strerror(-r));
		for (uint64_t p = 0; p < n; p++) {
			if (!a->pfn[p])
				continue;
			r = page_idle(a->idle_fd, a->pfn[p]);
			if (r < 0)
				fatal("kvm: reading PFN 0x%" PRIx64 " of %s: %s", a->pfn[p],
				      PAGE_IDLE_PATH, strerror(-r));
			idle += (uint64_t)r;
		}
		if (idle >= n / 10) {
			if (a->verbose)
				printf("WARNING: vCPU%u: Too many pages still idle (%" PRIu64
				       " out of %" PRIu64
				       "), this will affect performance results.\n",
				       i, idle, n);
			a->x->warned[round]++;
			if (access_idle_fails(a->o, true))
				fatal("vCPU%u: Too many pages still idle (%llu out of %llu) after "
				      "%s idle memory; -w 1 warns instead",
				      i, (unsigned long long)idle, (unsigned long long)n, after);
		}
		total += idle;
	}
	a->x->still_idle[round] = total;
	if (a->verbose)
		printf("  still idle after %s: %" PRIu64 " of %" PRIu64 " pages; %" PRIu64
		       " pages marked idle\n",
		       after, total, n * a->o->b.sw.vcpus, a->x->young_cleared[round]);
}

void access_kvm_run(void *opts, struct sweep_run *out)
{
	const struct access_opts *o = opts;
	struct access_kvm a = { .o = o, .out = out, .idle_fd = -1, .pagemap_fd = -1 };
	struct kvm_vm_opts ko = {
		.vcpus = o->b.sw.vcpus,
		.bytes_per_vcpu = o->b.bytes_per_vcpu,
		.overlap = o->overlap,
		.backing = (enum kvm_backing_kind)sweep_kvm_backing(o->b.backing),
		.slots = 1,
	};
	struct kvm_vcpu_kstats before;
	double mark_s;
	char why[200];

	a.verbose = sweep_single_run(&o->b.sw);
	a.x = calloc(1, sizeof(*a.x));
	a.pages_per_vcpu = bench_pages_per_vcpu(&o->b);
	a.pfn = calloc(a.pages_per_vcpu, sizeof(*a.pfn));
	if (!a.x || !a.pfn)
		fatal("out of memory");
	out->extra = a.x;
	a.x->kvm = true;
	a.x->pages = a.pages_per_vcpu * o->b.sw.vcpus;
	a.idle_fd = open(PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);
	a.pagemap_fd = open(PAGEMAP_PATH, O_RDONLY | O_CLOEXEC);
	if (a.idle_fd < 0 || a.pagemap_fd < 0)
		fatal("kvm: %s: %s", a.idle_fd < 0 ? PAGE_IDLE_PATH : PAGEMAP_PATH,
		      strerror(errno));
	if (kvm_vm_create(&ko, &a.vm, why, sizeof(why)))
		fatal("kvm, %u vCPUs: %s", o->b.sw.vcpus, why);
	if (a.verbose)
		printf("\n");
	kvm_vm_kstats(a.vm, &before);
	out->col[0] = (double)pass(&a, "Populating memory", true) / 1e9;
	out->col[1] = (double)pass(&a, "Writing to populated memory", true) / 1e9;
	out->col[2] = (double)pass(&a, "Reading from populated memory", false) / 1e9;
	mark_idle(&a, 0);
	out->col[3] = (double)pass(&a, "Writing to idle memory", true) / 1e9;
	count_still_idle(&a, 0, "writing");
	mark_idle(&a, 1);
	out->col[4] = (double)pass(&a, "Reading from idle memory", false) / 1e9;
	count_still_idle(&a, 1, "reading");
	kvm_vm_kstats(a.vm, &out->kvm);
	/* Five passes over every vCPU's pages. */
	sweep_kvm_finish(&out->kvm, &before, 5 * a.x->pages);
	kvm_vm_destroy(a.vm);
	close(a.idle_fd);
	close(a.pagemap_fd);
	free(a.pfn);

	mark_s = (double)(a.x->mark_ns[0] + a.x->mark_ns[1]) / 1e9;
	out->metric = mark_s > 0 ? (double)(ACCESS_IDLE_CHECKS * a.x->pages) / mark_s : 0;
	if (!a.verbose && (a.x->warned[0] || a.x->warned[1])) {
		progress_clear();
		printf("kvm, %u vCPU%s: WARNING: Too many pages still idle (%" PRIu64
		       " after writing, %" PRIu64 " after reading, of %" PRIu64
		       "), this will affect performance results.\n",
		       o->b.sw.vcpus, o->b.sw.vcpus == 1 ? "" : "s", a.x->still_idle[0],
		       a.x->still_idle[1], a.x->pages);
	}
}
