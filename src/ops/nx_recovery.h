/*
 * nx_recovery.h - NX huge-page recovery: the pass that zaps a share of
 * the possible-NX list under the read lock, and the per-VM thread that
 * runs it every period.  Concurrency and details in nx_recovery.c.
 */
#ifndef TDP_NX_RECOVERY_H
#define TDP_NX_RECOVERY_H

#include "vm/vm_internal.h"

/* Start the VM's recovery thread if the config asks for one (0 or -errno). */
int tdp_nx_worker_start(struct tdpmmu_vm *vm);
/* Stop and join it (no-op if none); before the MMU is torn down. */
void tdp_nx_worker_stop(struct tdpmmu_vm *vm);
/*
 * Consistency of the possible-NX list (write lock taken here): every
 * listed table is live, on the in-use list, NX-disallowed and linked from
 * its parent entry; the count matches.  Returns violations (stderr).
 */
int tdp_nx_audit(struct tdpmmu_vm *vm);

#endif
