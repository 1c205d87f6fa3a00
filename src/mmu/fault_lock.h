/*
 * fault_lock.h - the fault-lock policy: which MMU lock mode a page fault
 * takes, and which one an operation that disconnects tables takes.  It is
 * one half of a user's strategy; the other half is the reclamation policy
 * (reclaim/reclaim.h), and strategy.c pairs them.
 *
 *   shared  faults, and operations that disconnect tables (a huge leaf
 *           over a table, recovery, zapping invalidated roots), run under
 *           the read lock: upstream's parallel faults.  (rcu, rcu-qsbr,
 *           llist, llist-trylock)
 *   wrlock  faults run under the read lock, but a table is disconnected
 *           only under the write lock: a fault that would replace a table
 *           backs off (TDP_MAP_NEED_WRITE) and its caller retries in
 *           TDP_EXCLUSIVE; the operations take TDP_EXCLUSIVE.  (wrlock)
 *   global  the MMU lock is a single lock (mmu_lock.h): every acquisition
 *           excludes all others, so faults and everything else run one at
 *           a time.  Code that asks for TDP_SHARED still runs read-side
 *           code, which is correct under the stronger lock, and may
 *           disconnect tables.  (global)
 *
 * Concurrency: the policy is fixed at tdp_mmu_init, before any thread
 * uses the MMU, and read without synchronisation afterwards.  Callers ask
 * the policy for a mode and pass that mode down; nothing below changes it.
 */
#ifndef TDP_FAULT_LOCK_H
#define TDP_FAULT_LOCK_H

#include <stdbool.h>

#include "mmu/mmu_lock.h"

enum tdp_fault_lock {
	TDP_FAULT_LOCK_SHARED,
	TDP_FAULT_LOCK_WRLOCK,
	TDP_FAULT_LOCK_GLOBAL,
	TDP_NR_FAULT_LOCKS,
};

/* What a policy does: one row of the table in fault_lock.c. */
struct tdp_fault_lock_traits {
	const char *name;
	enum tdp_lock_mode fault_mode;  /* a fault's first try */
	enum tdp_lock_mode unlink_mode; /* a fault's retry after NEED_WRITE; table removals */
	bool single_lock;               /* the MMU lock is built single (mmu_lock_init) */
};

/* NULL for an unknown policy. */
const struct tdp_fault_lock_traits *tdp_fault_lock_traits(enum tdp_fault_lock policy);

#endif
