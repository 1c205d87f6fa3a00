/*
 * kvm.c - the kvm rows of `tdpmmu bench dirty-log`: KVM's
 * dirty_log_perf_test phases on the host's KVM through our VMM
 * (kvm_vm.c): populate (every page written), enable dirty logging on
 * every memslot (KVM_MEM_LOG_DIRTY_PAGES; unless -g, in manual-protect
 * mode, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with INITIALLY_SET where the
 * kernel has it), per iteration one pass writing the iteration number
 * into the -w pages, KVM_GET_DIRTY_LOG and (manual) KVM_CLEAR_DIRTY_LOG,
 * then disable.  --eager-split and --recover are the kernel's business
 * here (kvm.eager_page_split; KVM recovers huge pages on its own).
 *
 * The dirty_log_test oracle on the real kernel, every iteration: the log
 * holds exactly the pages the guest wrote (every page in iteration 1 with
 * INITIALLY_SET), and each of them holds the iteration number; a failure
 * exits 1 naming the page.
 *
 * Main thread only (the VMM's vCPU threads are kvm_vm.c's); with -e the
 * last pass runs while the main thread disables logging.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dirty_log/dirty_log.h"
#include "kvm/kvm_vm.h"
#include "sweep/sweep_kvm.h"

struct kvm_dirty_run {
	const struct dirty_opts *o;
	struct kvm_guest_vm *vm;
	struct sweep_run *out;
	struct dirty_extra *x;
	uint64_t *bitmap;  /* one slot's */
	uint64_t *touched; /* -a: the pages a dirty pass touches (NULL: all) */
	uint64_t slot_pages;
	bool manual, initially_set;
	char why[200];
};

static void fail(struct kvm_dirty_run *d, const char *what)
{
	fatal("kvm, %u vCPU%s: %s: %s", d->o->b.sw.vcpus, d->o->b.sw.vcpus == 1 ? "" : "s", what,
	      d->why);
}

static void check(struct kvm_dirty_run *d, int r, const char *what, unsigned slot)
{
	if (r < 0)
		fatal("kvm, %u vCPU%s: %s of memslot %u: %s", d->o->b.sw.vcpus,
		      d->o->b.sw.vcpus == 1 ? "" : "s", what, slot, strerror(-r));
}

static uint64_t pass(struct kvm_dirty_run *d, unsigned write_pct, bool random, uint32_t value)
{
	uint64_t ns;

	if (kvm_vm_pass(d->vm, write_pct, random, value, &ns, d->why, sizeof(d->why)))
		fail(d, "a pass");
	return ns;
}

/* Slot @s's log against the guest's writes of iteration @it (see the top). */
static void oracle(struct kvm_dirty_run *d, unsigned s, unsigned it, bool all)
{
	uint64_t first = s * d->slot_pages;

	for (uint64_t i = 0; i < d->slot_pages; i++) {
		uint64_t page = first + i;
		bool written = page_touched(d->touched, page) &&
			       page_written(page, d->o->write_pct);
		bool logged = d->bitmap[i / 64] >> (i % 64) & 1;
		const uint32_t *word =
			kvm_vm_hva(d->vm, KVM_GUEST_DATA_GPA + page * KVM_GUEST_PAGE_BYTES);

		if (logged != (written || all) || (written && (!word || *word != it)))
			fatal("check failed: kvm, %u vCPU%s: iteration %u: page %llu %s in the "
			      "dirty log, holds %u (the guest %s it)",
			      d->o->b.sw.vcpus, d->o->b.sw.vcpus == 1 ? "" : "s", it,
			      (unsigned long long)page, logged ? "is" : "is not", word ? *word : 0,
			      written ? "wrote" : "did not write");
	}
}

static void iteration(struct kvm_dirty_run *d, unsigned it)
{
	bool all = it == 1 && d->manual && d->initially_set;
	uint64_t ns = pass(d, d->o->write_pct, d->o->random_order, it), t0, get_ns = 0,
		 clear_ns = 0;
	char name[64];

	d->x->dirty_ns += ns;
	snprintf(name, sizeof(name), "Iteration %u dirty memory", it);
	bench_phase_add(&d->out->phases, name, ns, d->x->written);
	for (unsigned s = 0; s < d->o->slots; s++) {
		int r;

		t0 = now_ns();
		r = kvm_dirty_log_get(d->vm, s, d->bitmap);
		get_ns += now_ns() - t0;
		check(d, r, "KVM_GET_DIRTY_LOG", s);
		dirty_counts(d->x)[it] += (uint64_t)r;
		oracle(d, s, it, all);
		if (!d->manual)
			continue;
		t0 = now_ns();
		check(d, kvm_dirty_log_clear(d->vm, s, 0, d->slot_pages, d->bitmap),
		      "KVM_CLEAR_DIRTY_LOG", s);
		clear_ns += now_ns() - t0;
	}
	d->x->get_ns += get_ns;
	d->x->clear_ns += clear_ns;
	snprintf(name, sizeof(name), "Iteration %u get dirty log", it);
	bench_phase_add(&d->out->phases, name, get_ns, 0);
	if (d->manual) {
		snprintf(name, sizeof(name), "Iteration %u clear dirty log", it);
		bench_phase_add(&d->out->phases, name, clear_ns, 0);
	}
}

static void disable(struct kvm_dirty_run *d)
{
	uint64_t t0, pass_ns;

	if (d->o->run_while_disabling &&
	    kvm_vm_pass_start(d->vm, d->o->write_pct, d->o->random_order, d->o->iterations + 1,
			      d->why, sizeof(d->why)))
		fail(d, "the pass while disabling");
	t0 = now_ns();
	for (unsigned s = 0; s < d->o->slots; s++)
		check(d, kvm_dirty_log_disable(d->vm, s), "disabling dirty logging", s);
	d->x->disable_ns = now_ns() - t0;
	bench_phase_add(&d->out->phases, "Disabling dirty logging", d->x->disable_ns, 0);
	if (!d->o->run_while_disabling)
		return;
	if (kvm_vm_pass_wait(d->vm, &pass_ns, d->why, sizeof(d->why)))
		fail(d, "the pass while disabling");
	bench_phase_add(&d->out->phases, "vCPU pass while disabling (-e)", pass_ns, 0);
}

void dirty_log_kvm_run(void *opts, struct sweep_run *out)
{
	const struct dirty_opts *o = opts;
	struct kvm_dirty_run d = { .o = o, .out = out };
	struct kvm_vm_opts ko = {
		.vcpus = o->b.sw.vcpus,
		.bytes_per_vcpu = o->b.bytes_per_vcpu,
		.backing = (enum kvm_backing_kind)sweep_kvm_backing(o->b.backing),
		.slots = o->slots,
		.guest_page = o->guest_page,
	};
	struct kvm_vcpu_kstats before;
	uint64_t t0;

	d.x = dirty_extra_alloc(o->iterations);
	out->extra = d.x;
	if (kvm_vm_create(&ko, &d.vm, d.why, sizeof(d.why)))
		fail(&d, "creating the VM");
	d.x->pages = bench_pages_per_vcpu(&o->b) * o->b.sw.vcpus;
	d.slot_pages = kvm_vm_slot_pages(d.vm);
	d.x->written = dirty_log_written(o, d.x->pages);
	d.touched = page_touched_map(d.x->pages, o->b.sw.vcpus, bench_pages_per_vcpu(&o->b), false,
				     o->random_order);
	d.bitmap = calloc((d.slot_pages + 63) / 64, sizeof(uint64_t));
	if (!d.bitmap)
		fatal("out of memory");
	kvm_vm_kstats(d.vm, &before);

	/* Populate writes every page (value 0: iteration numbers start at 1). */
	d.x->populate_ns = pass(&d, 100, false, 0);
	bench_phase_add(&out->phases, "Populate memory", d.x->populate_ns, d.x->pages);
	t0 = now_ns();
	for (unsigned s = 0; s < o->slots; s++)
		check(&d, kvm_dirty_log_enable(d.vm, s, !o->no_manual), "enabling dirty logging",
		      s);
	d.x->enable_ns = now_ns() - t0;
	bench_phase_add(&out->phases, "Enabling dirty logging", d.x->enable_ns, 0);
	d.manual = kvm_dirty_log_manual(d.vm, &d.initially_set);
	for (unsigned it = 1; it <= o->iterations; it++)
		iteration(&d, it);
	disable(&d);

	/* Touched: populate, every iteration, and the -e pass. */
	kvm_vm_kstats(d.vm, &out->kvm);
	sweep_kvm_finish(&out->kvm, &before,
			 d.x->pages * (1 + o->iterations + (o->run_while_disabling ? 1 : 0)));
	dirty_log_fill_result(out, d.x, o->iterations);
	kvm_vm_destroy(d.vm);
	free(d.touched);
	free(d.bitmap);
}
