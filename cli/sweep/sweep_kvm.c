/*
 * sweep_kvm.c - the kvm rows of a sweep: whether /dev/kvm can run them
 * (else one line says why and the rest of the sweep goes on without
 * them), the host's KVM in the report's header and JSON, and what the
 * scenarios' run_kvm functions share.  Main thread only; the VMM itself
 * is kvm_vm.c.
 */
#include <inttypes.h>
#include <string.h>

#include "kvm/kvm_vm.h"
#include "sweep/sweep.h"

void sweep_kvm_prepare(struct sweep_report *rep, struct sweep_opts *o)
{
	if (!o->strategies[SWEEP_KVM])
		return;
	if (kvm_probe(rep->kvm_skipped, sizeof(rep->kvm_skipped))) {
		o->strategies[SWEEP_KVM] = false;
		if (!sweep_nr_strategies(o))
			fatal("kvm: %s: no kvm rows, and no other strategy to run",
			      rep->kvm_skipped);
		printf("kvm: %s: the kvm rows are skipped\n\n", rep->kvm_skipped);
		return;
	}
	rep->kvm_skipped[0] = '\0';
	rep->kvm_rows = true;
	kvm_host_facts_read(&rep->kvm);
}

static const char *yes_no(int v)
{
	return v < 0 ? "?" : v ? "yes" : "no";
}

void sweep_kvm_print_host(const struct sweep_report *rep, FILE *f)
{
	const struct kvm_host_facts *k = &rep->kvm;

	if (!rep->kvm_rows)
		return;
	fprintf(f,
		"kvm:     Linux %s, %s, EPT/NPT %s; kvm.tdp_mmu %s, eager_page_split %s,\n"
		"         nx_huge_pages %s (recovery ratio %" PRId64 ", period %" PRId64
		" ms); manual dirty-log protect %s; %d vCPUs at most\n",
		k->kernel, k->vendor[0] ? k->vendor : "unknown module", yes_no(k->tdp),
		yes_no(k->tdp_mmu), yes_no(k->eager_page_split),
		k->nx_huge_pages[0] ? k->nx_huge_pages : "?", k->nx_recovery_ratio,
		k->nx_recovery_period_ms, yes_no(k->manual_protect2 > 0), k->max_vcpus);
	if (k->tdp == 0)
		fputs("WARNING: this KVM has no EPT/NPT: it emulates the kvm rows' guest (no paging)\n"
		      "         instruction by instruction, with no MMU faults; those rows measure\n"
		      "         the emulator, not a TDP MMU\n",
		      f);
	fputc('\n', f);
}

void sweep_kvm_json_host(const struct sweep_report *rep, FILE *f)
{
	const struct kvm_host_facts *k = &rep->kvm;

	if (rep->kvm_skipped[0]) {
		fputs("  \"kvm_skipped\": ", f);
		json_string(f, rep->kvm_skipped);
		fputs(",\n", f);
	}
	if (!rep->kvm_rows)
		return;
	fputs("  \"kvm_host\": {\"kernel\": ", f);
	json_string(f, k->kernel);
	fputs(", \"module\": ", f);
	json_string(f, k->vendor);
	fprintf(f, ", \"tdp\": %d, \"tdp_mmu\": %d, \"eager_page_split\": %d, \"nx_huge_pages\": ",
		k->tdp, k->tdp_mmu, k->eager_page_split);
	json_string(f, k->nx_huge_pages);
	fprintf(f,
		", \"nx_huge_pages_recovery_ratio\": %" PRId64
		", \"nx_huge_pages_recovery_period_ms\": %" PRId64
		", \"manual_dirty_log_protect2\": %d, \"max_vcpus\": %d},\n",
		k->nx_recovery_ratio, k->nx_recovery_period_ms, k->manual_protect2, k->max_vcpus);
}

void sweep_kvm_json_stats(const struct sweep_run *run, FILE *f)
{
	const struct kvm_vcpu_kstats *s = &run->kvm;

	fprintf(f,
		"{\"exits\": %" PRId64 ", \"pf_taken\": %" PRId64 ", \"pf_fixed\": %" PRId64
		", \"pf_fast\": %" PRId64 ", \"pf_spurious\": %" PRId64 ", \"pf_emulate\": %" PRId64
		", \"io_exits\": %" PRId64 ", \"insn_emulation\": %" PRId64 "}",
		s->exits, s->pf_taken, s->pf_fixed, s->pf_fast, s->pf_spurious, s->pf_emulate,
		s->io_exits, s->insn_emulation);
}

int sweep_kvm_backing(enum tdpmmu_backing b)
{
	switch (b) {
	case TDPMMU_BACKING_THP:
		return KVM_BACK_THP;
	case TDPMMU_BACKING_HUGETLB_2M:
		return KVM_BACK_HUGETLB_2M;
	case TDPMMU_BACKING_HUGETLB_1G:
		return KVM_BACK_HUGETLB_1G;
	default:
		return KVM_BACK_ANON;
	}
}

/* Field by field @after - @before, -1 where either is missing. */
void sweep_kvm_stats_since(struct kvm_vcpu_kstats *after, const struct kvm_vcpu_kstats *before)
{
#define SINCE(x) after->x = after->x < 0 || before->x < 0 ? -1 : after->x - before->x
	SINCE(exits);
	SINCE(pf_taken);
	SINCE(pf_fixed);
	SINCE(pf_fast);
	SINCE(pf_spurious);
	SINCE(pf_emulate);
	SINCE(io_exits);
	SINCE(insn_emulation);
#undef SINCE
}
