/*
 * api_c11.c - a user of every public header, tdpmmu/testing.h included,
 * built as strict C11 (-std=c11 -pedantic -Werror, see the Makefile) and
 * linked against the testing library and the static library: the test and
 * benchmark support compiles outside the tree, and its calls link from
 * libtdpmmu-testing.a (the shared library exports none of them).
 */
#include <errno.h>
#include <stdio.h>

#include <tdpmmu/spte.h>
#include <tdpmmu/stats.h>
#include <tdpmmu/tdpmmu.h>
#include <tdpmmu/testing.h>

static int failures;

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "api_c11: %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static int fault_hook_calls;

static void count_fault(uint64_t gfn)
{
	(void)gfn;
	fault_hook_calls++;
}

int main(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;
	struct tdpmmu_vcpu *vcpu;
	struct tdpmmu_memslot slot = { 0 };
	uint64_t delays, fails, ns;

	tdpmmu_vm_config_init(&cfg);
	if (tdpmmu_vm_create(&cfg, &vm)) {
		fprintf(stderr, "api_c11: tdpmmu_vm_create failed\n");
		return 1;
	}
	slot.npages = 1 << 12;
	EXPECT(tdpmmu_memslot_add(vm, &slot) == 0);
	EXPECT(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	tdpmmu_test_set_fault_hook(count_fault);
	EXPECT(tdpmmu_fault(vcpu, 7, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	tdpmmu_test_set_fault_hook(NULL);
	EXPECT(fault_hook_calls == 1);
	EXPECT(tdpmmu_fault(vcpu, 8, TDPMMU_ACCESS_WRITE, 0, NULL) == 0);
	EXPECT(fault_hook_calls == 1);
	EXPECT(tdpmmu_audit(vm) == 0);
	EXPECT(tdpmmu_audit_tlbs(vm) == 0);
	EXPECT(tdpmmu_nx_audit(vm) == 0);
	EXPECT(tdpmmu_hold_walk(vm, 1000) == 0 && tdpmmu_hold_walk(NULL, 1) == -EINVAL);
	EXPECT(tdpmmu_bench_floor(vm, 7, 2, &ns) == 0);
	EXPECT(tdpmmu_bench_floor(vm, 100, 1, &ns) == -ENOENT);
	tdpmmu_inject(0, 0);
	tdpmmu_inject_stats_read(&delays, &fails);
	EXPECT(fails == 0);
	tdpmmu_vm_destroy(vm);
	if (failures)
		return 1;
	printf("api_c11: ok, tdpmmu %s with the testing library\n", tdpmmu_version());
	return 0;
}
