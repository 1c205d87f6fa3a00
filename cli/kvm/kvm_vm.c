/*
 * kvm_vm.c - our minimal VMM on the raw KVM ioctl API: one VM with a
 * control memslot (the guest code of kvm_guest.c and one page list per
 * vCPU) and the data region split evenly into memslots, one persistent
 * thread per vCPU, passes of the guest over its pages, and KVM's dirty
 * log's memslot flags (the dirty-log calls are kvm_dirty_log.c's).
 *
 * A pass: the main thread (re)fills the page lists when the pass's
 * write share or order changed (and, the first time, runs an untimed
 * warm-up pass so the guest has the lists mapped), then starts every vCPU
 * at once; each vCPU thread sets its registers, runs KVM_RUN until the
 * guest's write to KVM_GUEST_EXIT_GPA (a KVM_EXIT_MMIO: no memslot
 * there), and reports done.  Any other exit is an error naming the exit
 * and the guest RIP; a pass running past the timeout is kicked out of
 * KVM_RUN with SIGUSR2 (only if nobody else handles that signal) and
 * fails the same way.
 *
 * The control memslot holds the code page (kvm_guest.c), the guest's
 * page tables (kvm_guest_pt.c: the control region, the exit page and the
 * data region, identity-mapped with the guest page size of the options)
 * and the page lists; the data memslots hold nothing of the VMM's, so a
 * data_mapped hook (userfaultfd) sees every data page first.  The
 * vCPUs get KVM's supported CPUID (long mode, the physical address width).
 *
 * Concurrency: pass number, mode, value, done count, quit, ready, and the
 * start and end times are read and written under vm->lock.  The main
 * thread writes the page lists and guest registers' inputs only while no
 * pass runs; a vCPU thread reads them after seeing the new pass number
 * under the lock.  A vCPU's err/why are its thread's during a pass and the
 * main thread's after the done count says the pass ended; its exit count
 * is a relaxed atomic.  Dirty-log calls are VM ioctls, safe while the
 * vCPUs run; they must come from one thread (the slot flags are plain).
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "kvm/kvm_vm_internal.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define VCPU_STACK_BYTES (128u << 10)
#define THP_BYTES (2ull << 20)
#define DEFAULT_TIMEOUT_S 300
#define KICK_SIGNAL SIGUSR2

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN:
		return "KVM_EXIT_UNKNOWN";
	case KVM_EXIT_EXCEPTION:
		return "KVM_EXIT_EXCEPTION";
	case KVM_EXIT_IO:
		return "KVM_EXIT_IO";
	case KVM_EXIT_HYPERCALL:
		return "KVM_EXIT_HYPERCALL";
	case KVM_EXIT_DEBUG:
		return "KVM_EXIT_DEBUG";
	case KVM_EXIT_HLT:
		return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO:
		return "KVM_EXIT_MMIO";
	case KVM_EXIT_SHUTDOWN:
		return "KVM_EXIT_SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY:
		return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTR:
		return "KVM_EXIT_INTR";
	case KVM_EXIT_INTERNAL_ERROR:
		return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT:
		return "KVM_EXIT_SYSTEM_EVENT";
	default:
		return NULL;
	}
}

static uint64_t guest_rip(const struct kvm_vcpu_thr *v)
{
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_REGS, &r))
		return ~0ull;
	return r.rip;
}

/* Why the guest stopped with @reason: the exit, the RIP and what KVM adds. */
static void describe_exit(struct kvm_vcpu_thr *v)
{
	struct kvm_run *run = v->run;
	const char *name = exit_name(run->exit_reason);
	char extra[96] = "", reason[32];

	if (!name) {
		snprintf(reason, sizeof(reason), "exit reason %u", run->exit_reason);
		name = reason;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(extra, sizeof(extra), ", hardware entry failure reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(extra, sizeof(extra), ", suberror %u", run->internal.suberror);
		break;
	case KVM_EXIT_MMIO:
		snprintf(extra, sizeof(extra),
			 ", %s of %u bytes at gpa 0x%llx outside the memslots",
			 run->mmio.is_write ? "write" : "read", run->mmio.len,
			 (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_IO:
		snprintf(extra, sizeof(extra), ", %s port 0x%x size %u",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port,
			 run->io.size);
		break;
	}
	snprintf(v->why, sizeof(v->why), "vCPU %u: %s at RIP 0x%llx%s", v->idx, name,
		 (unsigned long long)guest_rip(v), extra);
}

static uint64_t list_gpa(const struct kvm_guest_vm *vm, unsigned idx)
{
	return KVM_GUEST_CTL_GPA + vm->lists_off + (uint64_t)idx * vm->list_bytes;
}

/* One pass (or warm-up) of vCPU @v: 0, or -errno with v->why. */
static int vcpu_run_once(struct kvm_vcpu_thr *v, enum run_mode mode, uint32_t value)
{
	struct kvm_guest_vm *vm = v->vm;
	uint8_t expect = mode == RUN_PASS ? KVM_GUEST_DONE_PASS : KVM_GUEST_DONE_WARM;
	struct kvm_regs regs;

	if (mode == RUN_PASS)
		kvm_guest_regs_pass(&regs, list_gpa(vm, v->idx), vm->pages_per_vcpu, value);
	else
		kvm_guest_regs_warm(&regs, list_gpa(vm, v->idx),
				    vm->list_bytes / KVM_GUEST_PAGE_BYTES);
	if (ioctl(v->fd, KVM_SET_REGS, &regs)) {
		snprintf(v->why, sizeof(v->why), "vCPU %u: KVM_SET_REGS: %s", v->idx,
			 strerror(errno));
		return -errno;
	}
	for (;;) {
		struct kvm_run *run = v->run;

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int err = errno;

			if (err == EINTR && !__atomic_load_n(&vm->timed_out, __ATOMIC_RELAXED))
				continue;
			if (err == EINTR) {
				snprintf(v->why, sizeof(v->why),
					 "vCPU %u: pass still running after %u s, at RIP 0x%llx",
					 v->idx, vm->o.timeout_s, (unsigned long long)guest_rip(v));
				return -ETIMEDOUT;
			}
			snprintf(v->why, sizeof(v->why), "vCPU %u: KVM_RUN: %s (RIP 0x%llx)",
				 v->idx, strerror(err), (unsigned long long)guest_rip(v));
			return -err;
		}
		__atomic_fetch_add(&v->exits, 1, __ATOMIC_RELAXED);
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == KVM_GUEST_EXIT_GPA && run->mmio.len == 1) {
			uint8_t code = run->mmio.data[0];

			if (code == expect)
				return 0;
			snprintf(v->why, sizeof(v->why),
				 "vCPU %u: guest reported %u, expected %u, at RIP 0x%llx", v->idx,
				 code, expect, (unsigned long long)guest_rip(v));
			return -EPROTO;
		}
		describe_exit(v);
		return -EIO;
	}
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu_thr *v = arg;
	struct kvm_guest_vm *vm = v->vm;
	uint64_t seen = 0;

	pthread_mutex_lock(&vm->lock);
	if (++vm->ready == vm->started)
		pthread_cond_broadcast(&vm->done);
	for (;;) {
		enum run_mode mode;
		uint32_t value;
		int r;

		while (vm->pass == seen && !vm->quit)
			pthread_cond_wait(&vm->go, &vm->lock);
		if (vm->quit)
			break;
		seen = vm->pass;
		mode = vm->mode;
		value = vm->value;
		pthread_mutex_unlock(&vm->lock);

		r = vcpu_run_once(v, mode, value);

		pthread_mutex_lock(&vm->lock);
		v->err = r;
		if (++vm->finished == vm->o.vcpus) {
			vm->end_ns = now_ns();
			pthread_cond_broadcast(&vm->done);
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

static int fail(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

static uint64_t backing_page_bytes(enum kvm_backing_kind b)
{
	switch (b) {
	case KVM_BACK_HUGETLB_2M:
		return 2ull << 20;
	case KVM_BACK_HUGETLB_1G:
		return 1ull << 30;
	default:
		return KVM_GUEST_PAGE_BYTES;
	}
}

static const char *backing_name(enum kvm_backing_kind b)
{
	switch (b) {
	case KVM_BACK_ANON:
		return "anonymous";
	case KVM_BACK_THP:
		return "THP";
	case KVM_BACK_HUGETLB_2M:
		return "hugetlb 2M";
	case KVM_BACK_HUGETLB_1G:
		return "hugetlb 1G";
	}
	return "?";
}

#define GUEST_RANGES 3

/* What the guest maps: the control region of @ctl_bytes, the exit page, the data. */
static void guest_ranges(const struct kvm_guest_vm *vm, struct kvm_guest_range *r,
			 uint64_t ctl_bytes)
{
	r[0] = (struct kvm_guest_range){ KVM_GUEST_CTL_GPA, ctl_bytes };
	r[1] = (struct kvm_guest_range){ KVM_GUEST_EXIT_GPA, KVM_GUEST_PAGE_BYTES };
	r[2] = (struct kvm_guest_range){ KVM_GUEST_DATA_GPA, vm->data_bytes };
}

/*
 * The control region's layout: the code page, the guest's page tables
 * (which map the control region itself: grown until the bound holds),
 * then the lists.
 */
static void ctl_layout(struct kvm_guest_vm *vm)
{
	uint64_t lists = vm->list_bytes * vm->o.vcpus, pt = 0, need;
	struct kvm_guest_range r[GUEST_RANGES];

	for (;;) {
		guest_ranges(vm, r, KVM_GUEST_PAGE_BYTES + pt + lists);
		need = kvm_guest_pt_bytes(r, GUEST_RANGES, vm->guest_page);
		if (need <= pt)
			break;
		pt = need;
	}
	vm->pt_bytes = pt;
	vm->lists_off = KVM_GUEST_PAGE_BYTES + pt;
	vm->ctl_bytes = vm->lists_off + lists;
}

/* Check the options against our layout and KVM's limits; 0 or -errno with @why. */
static int check_opts(struct kvm_guest_vm *vm, char *why, size_t len)
{
	const struct kvm_vm_opts *o = &vm->o;
	uint64_t hp = backing_page_bytes(o->backing), room, data;
	char limit[160];
	int max_vcpus, max_slots;

	if (!o->vcpus)
		return fail(why, len, -EINVAL, "no vCPUs");
	if (o->backing > KVM_BACK_HUGETLB_1G)
		return fail(why, len, -EINVAL, "unknown backing %d", (int)o->backing);
	if (o->guest_page && o->guest_page != KVM_GUEST_PAGE_BYTES && o->guest_page != (2ull << 20))
		return fail(why, len, -EINVAL, "guest page of %llu bytes: 4K or 2M",
			    (unsigned long long)o->guest_page);
	vm->guest_page = o->guest_page ? o->guest_page : 2ull << 20;
	if (!o->bytes_per_vcpu || o->bytes_per_vcpu % KVM_GUEST_PAGE_BYTES)
		return fail(why, len, -EINVAL, "%llu bytes per vCPU: not a positive multiple of 4K",
			    (unsigned long long)o->bytes_per_vcpu);
	room = kvm_vm_data_limit(limit, sizeof(limit));
	data = o->overlap ? o->bytes_per_vcpu : o->bytes_per_vcpu * o->vcpus;
	if (o->bytes_per_vcpu > room || (!o->overlap && data / o->vcpus != o->bytes_per_vcpu) ||
	    data > room)
		return fail(why, len, -E2BIG, "%u vCPUs x %llu MiB%s: more than %s", o->vcpus,
			    (unsigned long long)(o->bytes_per_vcpu >> 20),
			    o->overlap ? " (overlap)" : "", limit);
	vm->data_bytes = data;
	vm->pages_per_vcpu = o->bytes_per_vcpu / KVM_GUEST_PAGE_BYTES;
	vm->slots = o->slots ? o->slots : 1;
	vm->slot_bytes = vm->data_bytes / vm->slots;
	if (vm->data_bytes % vm->slots || vm->slot_bytes % hp)
		return fail(
			why, len, -EINVAL,
			"%llu KiB of data do not split into %u memslots of whole %llu KiB pages",
			(unsigned long long)(vm->data_bytes >> 10), vm->slots,
			(unsigned long long)(hp >> 10));
	vm->list_bytes = (vm->pages_per_vcpu * 4 + KVM_GUEST_PAGE_BYTES - 1) &
			 ~(KVM_GUEST_PAGE_BYTES - 1);
	ctl_layout(vm);
	if (KVM_GUEST_CTL_GPA + vm->ctl_bytes > KVM_GUEST_CTL_END)
		return fail(
			why, len, -E2BIG,
			"the page tables and lists of %u vCPUs x %llu pages need %llu MiB, more "
			"than the %llu MiB below gpa 0x%llx",
			o->vcpus, (unsigned long long)vm->pages_per_vcpu,
			(unsigned long long)(vm->ctl_bytes >> 20),
			(KVM_GUEST_CTL_END - KVM_GUEST_CTL_GPA) >> 20, KVM_GUEST_CTL_END);

	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && o->vcpus > (unsigned)max_vcpus)
		return fail(why, len, -EINVAL, "%u vCPUs: KVM allows %d per VM (KVM_CAP_MAX_VCPUS)",
			    o->vcpus, max_vcpus);
	max_slots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (max_slots > 0 && vm->slots + 1 > (unsigned)max_slots)
		return fail(
			why, len, -EINVAL,
			"%u data memslots and a control one: KVM allows %d (KVM_CAP_NR_MEMSLOTS)",
			vm->slots, max_slots);
	return 0;
}

static int hugetlb_fail(const struct kvm_guest_vm *vm, int err, char *why, size_t len)
{
	bool big = vm->o.backing == KVM_BACK_HUGETLB_1G;
	const char *knob = big ? "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
			       : "/proc/sys/vm/nr_hugepages";
	const char *freep = big ? "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages"
				: "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	char nr[32] = "?", fr[32] = "?";
	FILE *f;

	if ((f = fopen(knob, "re"))) {
		if (fscanf(f, "%31s", nr) != 1)
			snprintf(nr, sizeof(nr), "?");
		fclose(f);
	}
	if ((f = fopen(freep, "re"))) {
		if (fscanf(f, "%31s", fr) != 1)
			snprintf(fr, sizeof(fr), "?");
		fclose(f);
	}
	return fail(why, len, -err,
		    "mmap of %llu MiB %s: %s; reserve %llu huge pages in %s (now %s, %s free)",
		    (unsigned long long)(vm->data_bytes >> 20), backing_name(vm->o.backing),
		    strerror(err),
		    (unsigned long long)(vm->data_bytes / backing_page_bytes(vm->o.backing)), knob,
		    nr, fr);
}

/* The data region's host memory, by backing; 0 or -errno with @why. */
static int map_data(struct kvm_guest_vm *vm, char *why, size_t len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

	switch (vm->o.backing) {
	case KVM_BACK_ANON:
		flags |= MAP_NORESERVE | (vm->o.prefault ? MAP_POPULATE : 0);
		vm->data_map_bytes = vm->data_bytes;
		break;
	case KVM_BACK_THP:
		flags |= MAP_NORESERVE;
		vm->data_map_bytes = vm->data_bytes + THP_BYTES; /* room to align */
		break;
	case KVM_BACK_HUGETLB_2M:
	case KVM_BACK_HUGETLB_1G:
		flags |= MAP_HUGETLB | (vm->o.prefault ? MAP_POPULATE : 0);
		flags |= (vm->o.backing == KVM_BACK_HUGETLB_1G ? 30 : 21) << MAP_HUGE_SHIFT;
		vm->data_map_bytes = vm->data_bytes;
		break;
	}
	p = mmap(NULL, vm->data_map_bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		vm->data_map = NULL;
		if (flags & MAP_HUGETLB)
			return hugetlb_fail(vm, err, why, len);
		return fail(why, len, -err, "mmap of %llu MiB for guest memory: %s",
			    (unsigned long long)(vm->data_bytes >> 20), strerror(err));
	}
	vm->data_map = p;
	vm->data = p;
	if (vm->o.backing != KVM_BACK_THP)
		return 0;
	vm->data = (uint8_t *)(((uintptr_t)p + THP_BYTES - 1) & ~(uintptr_t)(THP_BYTES - 1));
	if (madvise(vm->data, vm->data_bytes, MADV_HUGEPAGE))
		return fail(why, len, -errno, "madvise(MADV_HUGEPAGE): %s (is THP compiled in?)",
			    strerror(errno));
	if (vm->o.prefault && madvise(vm->data, vm->data_bytes, MADV_POPULATE_WRITE)) {
		/* Kernels before 5.14: touch every 4K page by hand. */
		for (uint64_t off = 0; off < vm->data_bytes; off += KVM_GUEST_PAGE_BYTES)
			((volatile uint8_t *)vm->data)[off] = 0;
	}
	return 0;
}

int kvm_vm_set_slot(struct kvm_guest_vm *vm, unsigned id, uint64_t gpa, uint64_t bytes, void *hva,
		    uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = bytes,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

#define CPUID_ENTRIES 256

/* KVM's supported CPUID, for every vCPU; its address width must hold the data. */
static int get_cpuid(struct kvm_guest_vm *vm, char *why, size_t len)
{
	uint64_t end = KVM_GUEST_DATA_GPA + vm->data_bytes;

	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + CPUID_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return fail(why, len, -ENOMEM, "out of memory for the CPUID");
	vm->cpuid->nent = CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid))
		return fail(why, len, -errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	for (unsigned i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		unsigned bits = e->eax & 0xff;

		if (e->function == 0x80000008 && bits && bits < 64 && end > 1ull << bits)
			return fail(why, len, -E2BIG,
				    "guest memory up to gpa 0x%llx: KVM gives the guest %u-bit "
				    "physical addresses",
				    (unsigned long long)end, bits);
	}
	return 0;
}

static int create_vcpus(struct kvm_guest_vm *vm, char *why, size_t len)
{
	int r = get_cpuid(vm, why, len);

	if (r)
		return r;
	for (unsigned i = 0; i < vm->o.vcpus; i++) {
		struct kvm_vcpu_thr *v = &vm->v[i];
		struct kvm_sregs s;

		v->vm = vm;
		v->idx = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0)
			return fail(why, len, -errno, "KVM_CREATE_VCPU %u of %u: %s", i,
				    vm->o.vcpus, strerror(errno));
		v->run = mmap(NULL, vm->run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return fail(why, len, -errno, "mmap of vCPU %u's kvm_run: %s", i,
				    strerror(errno));
		}
		if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid))
			return fail(why, len, -errno, "KVM_SET_CPUID2: %s", strerror(errno));
		if (ioctl(v->fd, KVM_GET_SREGS, &s))
			return fail(why, len, -errno, "KVM_GET_SREGS: %s", strerror(errno));
		kvm_guest_sregs(&s, vm->cr3);
		if (ioctl(v->fd, KVM_SET_SREGS, &s))
			return fail(why, len, -errno, "KVM_SET_SREGS (64-bit, CPL 3, paging): %s",
				    strerror(errno));
	}
	return 0;
}

static int start_threads(struct kvm_guest_vm *vm, char *why, size_t len)
{
	pthread_attr_t attr;
	int r = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_BYTES);
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->o.vcpus; i++) {
		r = pthread_create(&vm->v[i].tid, &attr, vcpu_thread, &vm->v[i]);
		if (r) {
			r = fail(why, len, -r, "starting vCPU thread %u of %u: %s", i + 1,
				 vm->o.vcpus, strerror(r));
			break;
		}
		vm->started++;
	}
	while (vm->ready < vm->started)
		pthread_cond_wait(&vm->done, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	pthread_attr_destroy(&attr);
	return r;
}

int kvm_vm_create(const struct kvm_vm_opts *o, struct kvm_guest_vm **out, char *why, size_t len)
{
	struct kvm_guest_vm *vm = calloc(1, sizeof(*vm));
	struct kvm_guest_range map[GUEST_RANGES];
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!vm)
		return fail(why, len, -ENOMEM, "out of memory for the VM");
	vm->o = *o;
	if (vm->o.data_mapped)
		vm->o.prefault = false; /* the hook's owner fills the memory */
	if (!vm->o.timeout_s)
		vm->o.timeout_s = DEFAULT_TIMEOUT_S;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->lists_pct = -1;
	vm->manual = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->go, NULL);
	pthread_cond_init(&vm->done, &ca);
	pthread_condattr_destroy(&ca);

	r = kvm_probe(why, len);
	if (r)
		goto err;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		r = fail(why, len, -errno, "/dev/kvm: %s", strerror(errno));
		goto err;
	}
	r = check_opts(vm, why, len);
	if (r)
		goto err;
	vm->run_bytes = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_bytes <= 0) {
		r = fail(why, len, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto err;
	}
	vm->v = aligned_alloc(64, sizeof(*vm->v) * o->vcpus);
	if (vm->v) {
		memset(vm->v, 0, sizeof(*vm->v) * o->vcpus);
		for (unsigned i = 0; i < o->vcpus; i++)
			vm->v[i].fd = -1;
	}
	vm->logging = calloc(vm->slots, sizeof(*vm->logging));
	if (!vm->logging || !vm->v) {
		r = fail(why, len, -ENOMEM, "out of memory for %u vCPUs", o->vcpus);
		goto err;
	}

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = fail(why, len, -errno, "KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	/* Intel without unrestricted guest: KVM's pages, above our memslots, before vCPUs. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t a = 0xfeffc000;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &a)) {
			r = fail(why, len, -errno, "KVM_SET_IDENTITY_MAP_ADDR: %s",
				 strerror(errno));
			goto err;
		}
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfeffd000ul)) {
		r = fail(why, len, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		goto err;
	}

	vm->ctl = mmap(NULL, vm->ctl_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ctl == MAP_FAILED) {
		vm->ctl = NULL;
		r = fail(why, len, -errno, "mmap of the %zu KiB control memslot: %s",
			 vm->ctl_bytes >> 10, strerror(errno));
		goto err;
	}
	kvm_guest_code_page(vm->ctl);
	guest_ranges(vm, map, vm->ctl_bytes);
	vm->cr3 = kvm_guest_pt_build(vm->ctl + KVM_GUEST_PAGE_BYTES,
				     KVM_GUEST_CTL_GPA + KVM_GUEST_PAGE_BYTES, vm->pt_bytes, map,
				     GUEST_RANGES, vm->guest_page);
	r = map_data(vm, why, len);
	if (r)
		goto err;
	for (unsigned s = 0; vm->o.data_mapped && s < vm->slots; s++) {
		r = vm->o.data_mapped(vm->o.data_ctx, s, vm->data + s * vm->slot_bytes,
				      kvm_vm_slot_gpa(vm, s), vm->slot_bytes, why, len);
		if (r) {
			r = r < 0 ? r : -EIO;
			goto err;
		}
	}
	for (unsigned s = 0; s < vm->slots; s++) {
		r = kvm_vm_set_slot(vm, s, kvm_vm_slot_gpa(vm, s), vm->slot_bytes,
				    vm->data + s * vm->slot_bytes, 0);
		if (r) {
			fail(why, len, r, "KVM_SET_USER_MEMORY_REGION (data slot %u): %s", s,
			     strerror(-r));
			goto err;
		}
	}
	r = kvm_vm_set_slot(vm, vm->slots, KVM_GUEST_CTL_GPA, vm->ctl_bytes, vm->ctl, 0);
	if (r) {
		fail(why, len, r, "KVM_SET_USER_MEMORY_REGION (control slot): %s", strerror(-r));
		goto err;
	}
	r = create_vcpus(vm, why, len);
	if (!r)
		r = start_threads(vm, why, len);
	if (r)
		goto err;
	*out = vm;
	return 0;
err:
	kvm_vm_destroy(vm);
	return r;
}

void kvm_vm_destroy(struct kvm_guest_vm *vm)
{
	if (!vm)
		return;
	if (vm->running) {
		char why[8];
		uint64_t ns;

		kvm_vm_pass_wait(vm, &ns, why, sizeof(why));
	}
	pthread_mutex_lock(&vm->lock);
	vm->quit = true;
	pthread_cond_broadcast(&vm->go);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->started; i++)
		pthread_join(vm->v[i].tid, NULL);
	if (vm->v) {
		for (unsigned i = 0; i < vm->o.vcpus; i++) {
			if (vm->v[i].run)
				munmap(vm->v[i].run, vm->run_bytes);
			if (vm->v[i].fd >= 0)
				close(vm->v[i].fd);
		}
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->ctl)
		munmap(vm->ctl, vm->ctl_bytes);
	if (vm->data_map)
		munmap(vm->data_map, vm->data_map_bytes);
	pthread_cond_destroy(&vm->done);
	pthread_cond_destroy(&vm->go);
	pthread_mutex_destroy(&vm->lock);
	free(vm->cpuid);
	free(vm->logging);
	free(vm->v);
	free(vm);
}

static void kick_handler(int sig)
{
	(void)sig; /* only there so the signal interrupts KVM_RUN */
}

/* Interrupt every vCPU in KVM_RUN, if KICK_SIGNAL is ours to use. */
static void kick_vcpus(struct kvm_guest_vm *vm)
{
	struct sigaction old, sa = { .sa_handler = kick_handler };

	if (sigaction(KICK_SIGNAL, NULL, &old))
		return;
	if (old.sa_handler != kick_handler) {
		if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
			return; /* someone else's signal: no kicks, keep waiting */
		sigemptyset(&sa.sa_mask);
		if (sigaction(KICK_SIGNAL, &sa, NULL))
			return;
	}
	for (unsigned i = 0; i < vm->started; i++)
		pthread_kill(vm->v[i].tid, KICK_SIGNAL);
}

static void round_start(struct kvm_guest_vm *vm, enum run_mode mode, uint32_t value)
{
	pthread_mutex_lock(&vm->lock);
	vm->finished = 0;
	vm->mode = mode;
	vm->value = value;
	vm->running = true;
	__atomic_store_n(&vm->timed_out, false, __ATOMIC_RELAXED);
	vm->pass++;
	vm->start_ns = now_ns();
	pthread_cond_broadcast(&vm->go);
	pthread_mutex_unlock(&vm->lock);
}

static int round_wait(struct kvm_guest_vm *vm, uint64_t *ns, char *why, size_t len)
{
	/* vm->done waits on CLOCK_MONOTONIC (see kvm_vm_create). */
	struct timespec dl = clock_after_ns(CLOCK_MONOTONIC, vm->o.timeout_s * 1000000000ull);
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	while (vm->finished < vm->o.vcpus) {
		if (pthread_cond_timedwait(&vm->done, &vm->lock, &dl) != ETIMEDOUT)
			continue;
		__atomic_store_n(&vm->timed_out, true, __ATOMIC_RELAXED);
		kick_vcpus(vm);
		/* Kick again every 100 ms until every vCPU is out. */
		dl = clock_after_ns(CLOCK_MONOTONIC, 100000000ull);
	}
	vm->running = false;
	*ns = vm->end_ns > vm->start_ns ? vm->end_ns - vm->start_ns : 1;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->o.vcpus; i++) {
		if (vm->v[i].err) {
			r = vm->v[i].err;
			snprintf(why, len, "%s", vm->v[i].why);
			break;
		}
	}
	return r;
}

/* The page lists for (@write_pct, @random_order), and the guest's mapping of them. */
static int prepare_lists(struct kvm_guest_vm *vm, unsigned write_pct, bool random_order, char *why,
			 size_t len)
{
	uint64_t ns;
	int r;

	if (vm->lists_pct == (int)write_pct && vm->lists_random == random_order)
		return 0;
	for (unsigned i = 0; i < vm->o.vcpus; i++) {
		uint64_t first = vm->o.overlap ? 0 : (uint64_t)i * vm->pages_per_vcpu;
		uint32_t *list = (uint32_t *)(vm->ctl + vm->lists_off + i * vm->list_bytes);

		kvm_guest_list_fill(list, first, vm->pages_per_vcpu, i, random_order, write_pct);
	}
	vm->lists_pct = (int)write_pct;
	vm->lists_random = random_order;
	if (vm->warmed)
		return 0;
	round_start(vm, RUN_WARM, 0);
	r = round_wait(vm, &ns, why, len);
	if (r)
		return r;
	vm->warmed = true;
	return 0;
}

int kvm_vm_pass_start(struct kvm_guest_vm *vm, unsigned write_pct, bool random_order,
		      uint32_t value, char *why, size_t len)
{
	int r;

	if (vm->running)
		return fail(why, len, -EBUSY, "a pass is already running");
	if (write_pct > 100)
		return fail(why, len, -EINVAL, "write share %u%% over 100%%", write_pct);
	r = prepare_lists(vm, write_pct, random_order, why, len);
	if (r)
		return r;
	round_start(vm, RUN_PASS, value);
	return 0;
}

int kvm_vm_pass_wait(struct kvm_guest_vm *vm, uint64_t *ns, char *why, size_t len)
{
	if (!vm->running)
		return fail(why, len, -EINVAL, "no pass is running");
	return round_wait(vm, ns, why, len);
}

int kvm_vm_pass(struct kvm_guest_vm *vm, unsigned write_pct, bool random_order, uint32_t value,
		uint64_t *ns, char *why, size_t len)
{
	int r = kvm_vm_pass_start(vm, write_pct, random_order, value, why, len);

	return r ? r : kvm_vm_pass_wait(vm, ns, why, len);
}

/* ---- layout and statistics ---- */

uint64_t kvm_vm_slot_pages(const struct kvm_guest_vm *vm)
{
	return vm->slot_bytes / KVM_GUEST_PAGE_BYTES;
}

uint64_t kvm_vm_slot_gpa(const struct kvm_guest_vm *vm, unsigned slot)
{
	return KVM_GUEST_DATA_GPA + (uint64_t)slot * vm->slot_bytes;
}

void *kvm_vm_hva(struct kvm_guest_vm *vm, uint64_t gpa)
{
	if (gpa >= KVM_GUEST_DATA_GPA && gpa - KVM_GUEST_DATA_GPA < vm->data_bytes)
		return vm->data + (gpa - KVM_GUEST_DATA_GPA);
	if (gpa >= KVM_GUEST_CTL_GPA && gpa - KVM_GUEST_CTL_GPA < vm->ctl_bytes)
		return vm->ctl + (gpa - KVM_GUEST_CTL_GPA);
	return NULL;
}

uint64_t kvm_vm_data_limit(char *why, size_t len)
{
	unsigned a, b, c, d, bits = 36; /* without the leaf, what KVM assumes */
	uint64_t room, mem = 0;
	struct sysinfo si;

	if (__get_cpuid(0x80000008, &a, &b, &c, &d) && (a & 0xff))
		bits = a & 0xff;
	if (bits > 43)
		bits = 43; /* a list entry is gpa >> 11 in 32 bits */
	room = (1ull << bits) - KVM_GUEST_DATA_GPA;
	if (!sysinfo(&si))
		mem = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
	if (mem && mem < room) {
		if (why)
			snprintf(
				why, len,
				"the %llu MiB of memory and swap here (the guest touches every page)",
				(unsigned long long)(mem >> 20));
		return mem;
	}
	if (why)
		snprintf(why, len, "the %llu GiB of guest memory %u-bit physical addresses give",
			 (unsigned long long)(room >> 30), bits);
	return room;
}

static void kstat_add(int64_t *sum, int64_t v)
{
	if (*sum < 0 || v < 0)
		*sum = -1;
	else
		*sum += v;
}

int kvm_vm_kstats(struct kvm_guest_vm *vm, struct kvm_vcpu_kstats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < vm->o.vcpus; i++) {
		struct kvm_vcpu_kstats st;
		int r = kvm_vcpu_kstats_read(vm->v[i].fd, &st);

		if (r)
			return r;
		kstat_add(&sum->exits, st.exits);
		kstat_add(&sum->pf_taken, st.pf_taken);
		kstat_add(&sum->pf_fixed, st.pf_fixed);
		kstat_add(&sum->pf_fast, st.pf_fast);
		kstat_add(&sum->pf_spurious, st.pf_spurious);
		kstat_add(&sum->pf_emulate, st.pf_emulate);
		kstat_add(&sum->io_exits, st.io_exits);
		kstat_add(&sum->insn_emulation, st.insn_emulation);
	}
	return 0;
}
