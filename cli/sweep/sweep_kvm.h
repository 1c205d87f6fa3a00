/*
 * sweep_kvm.h - what sweep_kvm.c adds to the sweep's report beyond the
 * prototypes in sweep.h: one line per kvm row saying which of the
 * kernel's MMUs the row measured (kvm_mmu_kind()).
 */
#ifndef TDPMMU_CLI_SWEEP_KVM_H
#define TDPMMU_CLI_SWEEP_KVM_H

#include <stdio.h>

#include "sweep/sweep.h"

/* After the tables: "kvm  2 vCPUs: shadow MMU, ..." for each kvm row, and the WARNING. */
void sweep_kvm_print_rows(const struct sweep_report *rep, FILE *f);

/*
 * A kvm row's statistics over its timed passes: @after - @before, then
 * classified (kvm_mmu_kind()) against @pages, the guest pages the passes
 * touched.
 */
void sweep_kvm_finish(struct kvm_vcpu_kstats *after, const struct kvm_vcpu_kstats *before,
		      uint64_t pages);

/* --guest-page, for the help of the scenarios with kvm rows. */
#define SWEEP_KVM_GUEST_PAGE_HELP                                                                  \
	"  --guest-page 2M|4K  kvm rows: the guest's own page size (default 2M; 4K makes\n"        \
	"               the guest's walk heavier); the simulated rows have no guest\n"             \
	"               page tables and ignore it\n"

/* --guest-page's argument: 2M or 4K in bytes; else a usage error naming @opt. */
uint64_t sweep_kvm_guest_page_arg(const char *opt, const char *arg);

/*
 * With kvm rows asked for: the guest memory of every -v count must fit
 * kvm_vm_data_limit() (else a usage error naming -b).  @bytes per vCPU,
 * one region for all with @overlap.
 */
void sweep_kvm_check_size(const struct sweep_opts *o, uint64_t bytes, bool overlap);
/* With kvm rows, -s must be a backing the VMM maps (anonymous, THP, hugetlb): exit 2 otherwise. */
void sweep_kvm_check_backing(const struct sweep_opts *o, enum tdpmmu_backing b);

#endif /* TDPMMU_CLI_SWEEP_KVM_H */
