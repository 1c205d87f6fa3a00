/*
 * kvm_mmu.c - which of the kernel's MMUs a kvm row measured, from what
 * the row observed rather than from sysfs alone: a guest whose
 * instructions KVM emulates (kvm_pvm with a supervisor-mode guest) never
 * takes an MMU fault, whatever the parameters say.
 *
 * The rule: emulated instructions above 1% of the pages touched make the
 * row "emulator"; otherwise EPT/NPT in use (kvm_host_facts.tdp) makes it
 * "TDP MMU" with kvm.tdp_mmu=Y and "legacy TDP" with N (KVM's older
 * EPT/NPT code under mmu_lock for write), no EPT/NPT the "shadow MMU"
 * (faults taken, pf_taken counts them), and a host we cannot tell
 * "unknown MMU".
 */
#include "kvm/kvm_vm.h"

const char *kvm_mmu_kind(const struct kvm_host_facts *f, const struct kvm_vcpu_kstats *delta,
			 uint64_t pages, bool *emulated)
{
	bool emu = delta->insn_emulation > 0 && pages &&
		   (uint64_t)delta->insn_emulation * 100 > pages;

	if (emulated)
		*emulated = emu;
	if (emu)
		return KVM_MMU_EMULATOR;
	if (!f || f->tdp < 0)
		return KVM_MMU_UNKNOWN;
	if (f->tdp > 0)
		return f->tdp_mmu == 0 ? KVM_MMU_TDP_LEGACY : KVM_MMU_TDP;
	return KVM_MMU_SHADOW;
}

void kvm_mmu_classify(struct kvm_vcpu_kstats *delta, uint64_t pages)
{
	struct kvm_host_facts f;

	kvm_host_facts_read(&f);
	delta->pages = pages;
	delta->mmu = kvm_mmu_kind(&f, delta, pages, &delta->emulated);
}
