/*
 * kvm_vm_run.c - the VMM's vCPU threads and its passes: one persistent
 * thread per vCPU, started by kvm_vm_create(), that runs the guest for
 * each pass and checks how it stopped.
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
 * Concurrency: pass number, mode, value, done count, quit, ready, and the
 * start and end times are read and written under vm->lock.  The main
 * thread writes the page lists and guest registers' inputs only while no
 * pass runs; a vCPU thread reads them after seeing the new pass number
 * under the lock.  A vCPU's err/why are its thread's during a pass and the
 * main thread's after the done count says the pass ended; its exit count
 * and vm->timed_out are relaxed atomics.  Dirty-log calls
 * (kvm_dirty_log.c) are VM ioctls, safe while the vCPUs run; they must
 * come from one thread (the slot flags are plain).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/util.h"
#include "kvm/kvm_vm_internal.h"

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

int kvm_vm_start_threads(struct kvm_guest_vm *vm, char *why, size_t len)
{
	pthread_attr_t attr;
	int r = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CLI_VCPU_STACK_BYTES);
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->o.vcpus; i++) {
		r = pthread_create(&vm->v[i].tid, &attr, vcpu_thread, &vm->v[i]);
		if (r) {
			r = kvm_vm_fail(why, len, -r, "starting vCPU thread %u of %u: %s", i + 1,
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
		return kvm_vm_fail(why, len, -EBUSY, "a pass is already running");
	if (write_pct > 100)
		return kvm_vm_fail(why, len, -EINVAL, "write share %u%% over 100%%", write_pct);
	r = prepare_lists(vm, write_pct, random_order, why, len);
	if (r)
		return r;
	round_start(vm, RUN_PASS, value);
	return 0;
}

int kvm_vm_pass_wait(struct kvm_guest_vm *vm, uint64_t *ns, char *why, size_t len)
{
	if (!vm->running)
		return kvm_vm_fail(why, len, -EINVAL, "no pass is running");
	return round_wait(vm, ns, why, len);
}

int kvm_vm_pass(struct kvm_guest_vm *vm, unsigned write_pct, bool random_order, uint32_t value,
		uint64_t *ns, char *why, size_t len)
{
	int r = kvm_vm_pass_start(vm, write_pct, random_order, value, why, len);

	return r ? r : kvm_vm_pass_wait(vm, ns, why, len);
}
