/*
 * host_preempt.h - this host kernel's preemption model, for the kvm rows:
 * the real kernel's MMU lock follows it whatever --preempt says.
 */
#ifndef TDPMMU_CLI_HOST_PREEMPT_H
#define TDPMMU_CLI_HOST_PREEMPT_H

#include <stddef.h>

/*
 * "voluntary (debugfs)", "full (uname -v)", "dynamic, live model not
 * readable (uname -v: PREEMPT_DYNAMIC)", "unknown" ...: the model and
 * where it was read.  Any thread; reads files, never fails.
 */
void host_preempt_model(char *buf, size_t len);

#endif
