/*
 * kvm_vm.c - the life of a VM of our minimal VMM on the raw KVM ioctl
 * API: kvm_vm_create() probes /dev/kvm, checks the options and lays out
 * guest memory (kvm_vm_mem.c), creates the VM, builds the control memslot
 * (the code page of kvm_guest.c and the guest's page tables), maps and
 * registers the data memslots, creates the vCPUs and starts their threads
 * (kvm_vm_run.c); kvm_vm_destroy() undoes it.  The vCPUs get KVM's
 * supported CPUID (long mode, the physical address width).
 *
 * Concurrency: create and destroy run on the thread that drives the VM.
 * Until the vCPU threads start, nothing else sees the VM; destroy first
 * waits for a running pass, then sets quit under vm->lock, wakes the vCPU
 * threads and joins them before it closes or unmaps anything.  The
 * statistics read each vCPU's stats fd, safe while the vCPUs run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm/kvm_vm_internal.h"

#define DEFAULT_TIMEOUT_S 300

int kvm_vm_fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

#define CPUID_ENTRIES 256

/* KVM's supported CPUID, for every vCPU; its address width must hold the data. */
static int get_cpuid(struct kvm_guest_vm *vm, char *why, size_t len)
{
	uint64_t end = KVM_GUEST_DATA_GPA + vm->data_bytes;

	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + CPUID_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return kvm_vm_fail(why, len, -ENOMEM, "out of memory for the CPUID");
	vm->cpuid->nent = CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid))
		return kvm_vm_fail(why, len, -errno, "KVM_GET_SUPPORTED_CPUID: %s",
				   strerror(errno));
	for (unsigned i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		unsigned bits = e->eax & 0xff;

		if (e->function == 0x80000008 && bits && bits < 64 && end > 1ull << bits)
			return kvm_vm_fail(
				why, len, -E2BIG,
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
			return kvm_vm_fail(why, len, -errno, "KVM_CREATE_VCPU %u of %u: %s", i,
					   vm->o.vcpus, strerror(errno));
		v->run = mmap(NULL, vm->run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return kvm_vm_fail(why, len, -errno, "mmap of vCPU %u's kvm_run: %s", i,
					   strerror(errno));
		}
		if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid))
			return kvm_vm_fail(why, len, -errno, "KVM_SET_CPUID2: %s", strerror(errno));
		if (ioctl(v->fd, KVM_GET_SREGS, &s))
			return kvm_vm_fail(why, len, -errno, "KVM_GET_SREGS: %s", strerror(errno));
		kvm_guest_sregs(&s, vm->cr3);
		if (ioctl(v->fd, KVM_SET_SREGS, &s))
			return kvm_vm_fail(why, len, -errno,
					   "KVM_SET_SREGS (64-bit, CPL 3, paging): %s",
					   strerror(errno));
	}
	return 0;
}

int kvm_vm_create(const struct kvm_vm_opts *o, struct kvm_guest_vm **out, char *why, size_t len)
{
	struct kvm_guest_vm *vm = calloc(1, sizeof(*vm));
	struct kvm_guest_range map[KVM_VM_GUEST_RANGES];
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!vm)
		return kvm_vm_fail(why, len, -ENOMEM, "out of memory for the VM");
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
		r = kvm_vm_fail(why, len, -errno, "/dev/kvm: %s", strerror(errno));
		goto err;
	}
	r = kvm_vm_check_opts(vm, why, len);
	if (r)
		goto err;
	vm->run_bytes = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_bytes <= 0) {
		r = kvm_vm_fail(why, len, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
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
		r = kvm_vm_fail(why, len, -ENOMEM, "out of memory for %u vCPUs", o->vcpus);
		goto err;
	}

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = kvm_vm_fail(why, len, -errno, "KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	/* Intel without unrestricted guest: KVM's pages, above our memslots, before vCPUs. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t a = 0xfeffc000;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &a)) {
			r = kvm_vm_fail(why, len, -errno, "KVM_SET_IDENTITY_MAP_ADDR: %s",
					strerror(errno));
			goto err;
		}
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfeffd000ul)) {
		r = kvm_vm_fail(why, len, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		goto err;
	}

	vm->ctl = mmap(NULL, vm->ctl_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ctl == MAP_FAILED) {
		vm->ctl = NULL;
		r = kvm_vm_fail(why, len, -errno, "mmap of the %zu KiB control memslot: %s",
				vm->ctl_bytes >> 10, strerror(errno));
		goto err;
	}
	kvm_guest_code_page(vm->ctl);
	kvm_vm_guest_ranges(vm, map, vm->ctl_bytes);
	vm->cr3 = kvm_guest_pt_build(vm->ctl + KVM_GUEST_PAGE_BYTES,
				     KVM_GUEST_CTL_GPA + KVM_GUEST_PAGE_BYTES, vm->pt_bytes, map,
				     KVM_VM_GUEST_RANGES, vm->guest_page);
	r = kvm_vm_map_data(vm, why, len);
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
			kvm_vm_fail(why, len, r, "KVM_SET_USER_MEMORY_REGION (data slot %u): %s", s,
				    strerror(-r));
			goto err;
		}
	}
	r = kvm_vm_set_slot(vm, vm->slots, KVM_GUEST_CTL_GPA, vm->ctl_bytes, vm->ctl, 0);
	if (r) {
		kvm_vm_fail(why, len, r, "KVM_SET_USER_MEMORY_REGION (control slot): %s",
			    strerror(-r));
		goto err;
	}
	r = create_vcpus(vm, why, len);
	if (!r)
		r = kvm_vm_start_threads(vm, why, len);
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

/* ---- statistics ---- */

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
