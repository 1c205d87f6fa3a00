/*
 * pml_entries.c - tdpmmu_test_pml_entries (tdpmmu/testing.h): a smaller
 * PML log, so that a test can make it fill within one guest burst.
 * Not concurrency-relevant: called before any vCPU of the VM runs.
 */
#include <errno.h>

#include "base/thread_slot.h"
#include "vm/vm_internal.h"

int tdpmmu_test_pml_entries(struct tdpmmu_vm *vm, unsigned n)
{
	if (tdp_thread_slot_enter())
		return -EAGAIN;
	if (!vm || n < 1 || n > TDP_PML_ENTRIES)
		return -EINVAL;
	vm->pml_cap = n;
	return 0;
}
