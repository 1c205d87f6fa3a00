/* install_example.c - the README's example, built against an installed tdpmmu. */
#include <stdio.h>
#include <tdpmmu/tdpmmu.h>

int main(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	struct tdpmmu_memslot slot = {
		.id = 0, .base_gfn = 0, .npages = 1 << 18, .backing = TDPMMU_BACKING_THP
	};
	struct tdpmmu_fault_result r;

	tdpmmu_vm_config_init(&cfg);
	if (tdpmmu_vm_create(&cfg, &vm) || tdpmmu_memslot_add(vm, &slot) ||
	    tdpmmu_vcpu_create(vm, &vcpu))
		return 1;
	if (tdpmmu_fault(vcpu, 0x1234, TDPMMU_ACCESS_WRITE, 0, &r))
		return 1;
	printf("mapped at level %d, frame 0x%llx\n", r.level, (unsigned long long)r.pfn);
	/* The header the program was built with, and the library it runs with. */
	printf("tdpmmu %s, library %s\n", TDPMMU_VERSION, tdpmmu_version());
	tdpmmu_zap_range(vm, 0x1000, 0x2000);
	tdpmmu_vm_destroy(vm);
	return 0;
}
