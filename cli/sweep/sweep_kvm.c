/*
 * sweep_kvm.c - the kvm rows of a sweep: whether /dev/kvm can run them
 * (else one line says why and the rest of the sweep goes on without
 * them), the host's KVM in the report's header and JSON, which of the
 * kernel's MMUs each row measured (kvm_mmu_kind(), from the row's own
 * statistics: a line per row after the tables, "mmu" in its JSON), and
 * what the scenarios' run_kvm functions share.  Main thread only; the
 * VMM itself is kvm_vm.c.
 */
#include <inttypes.h>
#include <string.h>

#include "common/backing.h"
#include "kvm/kvm_vm.h"
#include "sweep/sweep.h"
#include "sweep/sweep_kvm.h"

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
	fprintf(f, "         the guest: 64-bit, paging on, CPL 3; expected MMU: %s\n",
		k->tdp > 0    ? (k->tdp_mmu > 0 ? "TDP MMU" : "TDP (legacy MMU, tdp_mmu off)")
		: k->tdp == 0 ? "shadow MMU (no EPT/NPT)"
			      : "?");
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
	/* Keys of the row beside kvm_stats: which MMU the row measured. */
	fputs(",\n      \"mmu\": ", f);
	if (s->mmu)
		json_string(f, s->mmu);
	else
		fputs("null", f);
	fprintf(f, ", \"emulated\": %s, \"pages_touched\": %" PRIu64,
		s->emulated ? "true" : "false", s->pages);
}

/* "0.0012": per page, or "?" where the kernel has no such statistic. */
static void per_page(char *buf, size_t len, int64_t v, uint64_t pages)
{
	if (v < 0 || !pages)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%.4f", (double)v / (double)pages);
}

void sweep_kvm_print_rows(const struct sweep_report *rep, FILE *f)
{
	bool emulated = false, any = false;

	for (int i = 0; i < rep->nr_rows; i++) {
		const struct sweep_row *row = &rep->rows[i];
		const struct kvm_vcpu_kstats *s;
		char pf[32], emu[32];

		if (row->strategy != SWEEP_KVM || !row->best)
			continue;
		if (!any)
			fputs("\nkvm rows: the MMU each measured (its best round's statistics)\n",
			      f);
		any = true;
		s = &row->best->kvm;
		per_page(pf, sizeof(pf), s->pf_taken, s->pages);
		per_page(emu, sizeof(emu), s->insn_emulation, s->pages);
		fprintf(f,
			"kvm, %u vCPU%s: %s%s; pf_taken %" PRId64
			" (%s per page), pf_fixed %" PRId64 ", insn_emulation %" PRId64
			" (%s per page), exits %" PRId64 ", %" PRIu64 " pages\n",
			row->vcpus, row->vcpus == 1 ? "" : "s", s->mmu ? s->mmu : "?",
			s->emulated ? " (WARNING)" : "", s->pf_taken, pf, s->pf_fixed,
			s->insn_emulation, emu, s->exits, s->pages);
		emulated |= s->emulated;
	}
	if (emulated)
		fputs("WARNING: KVM emulated more instructions than 1% of the pages touched: the rows\n"
		      "         marked \"emulator\" measure KVM's instruction emulator, not its MMU\n",
		      f);
}

void sweep_kvm_finish(struct kvm_vcpu_kstats *after, const struct kvm_vcpu_kstats *before,
		      uint64_t pages)
{
	static bool warned;

	sweep_kvm_stats_since(after, before);
	kvm_mmu_classify(after, pages);
	/* At once, on stderr, the first time: the tables come much later. */
	if (after->emulated && !warned) {
		warned = true;
		progress_clear();
		fprintf(stderr,
			"WARNING: kvm: KVM emulated %" PRId64 " instructions over %" PRIu64
			" pages (over 1%%): the kvm rows measure its instruction emulator, "
			"not its MMU\n",
			after->insn_emulation, pages);
	}
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

uint64_t sweep_kvm_guest_page_arg(const char *opt, const char *arg)
{
	if (!strcmp(arg, "2M") || !strcmp(arg, "2m"))
		return 2ull << 20;
	if (!strcmp(arg, "4K") || !strcmp(arg, "4k"))
		return KVM_GUEST_PAGE_BYTES;
	usage_error("%s: '%s' is not 2M or 4K", opt, arg);
}

void sweep_kvm_check_backing(const struct sweep_opts *o, enum tdpmmu_backing b)
{
	if (!o->strategies[SWEEP_KVM])
		return;
	if (b == TDPMMU_BACKING_SHMEM || b == TDPMMU_BACKING_SHARED_HUGETLB)
		usage_error("-s %s: the kvm rows' VMM maps private memory only (anonymous, THP, "
			    "hugetlb): leave kvm out of --strategy or pick one of those",
			    backing_kvm_name(b));
}

void sweep_kvm_check_size(const struct sweep_opts *o, uint64_t bytes, bool overlap)
{
	unsigned n = overlap ? 1 : sweep_max_vcpus(o);
	char why[160], size[32];
	uint64_t limit;

	if (!o->strategies[SWEEP_KVM])
		return;
	limit = kvm_vm_data_limit(why, sizeof(why));
	if (bytes <= limit / n)
		return;
	format_size(bytes, size, sizeof(size));
	usage_error("-b %s: %u vCPU%s x %s of kvm guest memory is more than %s", size, n,
		    n == 1 ? "" : "s", size, why);
}
