/*
 * tdpmmu/stats.h - the MMU's counters.
 *
 * Counters are sharded per thread and summed when read, so reading them
 * while the MMU runs gives a value that was true at some recent moment,
 * not a consistent snapshot.  tdpmmu_audit() (tdpmmu/testing.h) compares
 * the accounting ones with a full walk.  Read them with
 * tdpmmu_counters_read() and name them with tdpmmu_counter_name()
 * (tdpmmu/tdpmmu.h).  Language: C99 or C++11, or later.
 */
#ifndef TDPMMU_STATS_H
#define TDPMMU_STATS_H

#define TDPMMU_COUNTERS(X)                                                                         \
	/* accounting: live tables whose entries are at level N, live leaves */                    \
	X(TABLES_L1, "tables_l1")                                                                  \
	X(TABLES_L2, "tables_l2")                                                                  \
	X(TABLES_L3, "tables_l3")                                                                  \
	X(TABLES_L4, "tables_l4")                                                                  \
	X(TABLES_L5, "tables_l5")                                                                  \
	X(LEAVES_4K, "leaves_4k")                                                                  \
	X(LEAVES_2M, "leaves_2m")                                                                  \
	X(LEAVES_1G, "leaves_1g")                                                                  \
	/* fault path */                                                                           \
	X(FAULTS_FIXED, "faults_fixed")                                                            \
	X(FAULTS_SPURIOUS, "faults_spurious")                                                      \
	X(FAULT_RETRIES, "fault_retries")                                                          \
	X(CAS_FAILED, "cas_failed")                                                                \
	X(FROZEN_SEEN, "frozen_seen")                                                              \
	X(FROZEN_SPINS, "frozen_spins")                                                            \
	X(TABLES_LINKED, "tables_linked")                                                          \
	X(TABLES_LOST_RACE, "tables_lost_race")                                                    \
	X(HUGE_SPLITS, "huge_splits")                                                              \
	X(TABLES_REPLACED, "tables_replaced_by_huge")                                              \
	/* teardown and reclamation */                                                             \
	X(TABLES_RETIRED, "tables_retired")                                                        \
	X(TABLES_FREED, "tables_freed")                                                            \
	X(LEAVES_ZAPPED, "leaves_zapped")                                                          \
	X(DIRTY_LEAVES_DROPPED, "dirty_leaves_dropped")                                            \
	X(TLB_FLUSHES, "tlb_flushes")                                                              \
	X(TLB_FLUSH_KICKS, "tlb_flush_kicks")                                                      \
	X(TLB_FLUSH_WAIT_NS, "tlb_flush_wait_ns")                                                  \
	X(NOTIFIER_RETRIES, "notifier_retries")                                                    \
	X(FAST_FAULTS_FIXED, "fast_faults_fixed")                                                  \
	X(ITER_YIELDS, "iter_yields")                                                              \
	/* roots */                                                                                \
	X(ROOTS_LIVE, "roots_live")                                                                \
	X(ROOTS_ALLOCATED, "roots_allocated")                                                      \
	X(ROOTS_INVALIDATED, "roots_invalidated")                                                  \
	X(ROOT_RELOADS, "root_reloads")                                                            \
	X(FAST_ZAPS, "fast_zaps")                                                                  \
	/* dirty logging and huge-page recovery */                                                 \
	X(LEAVES_WRPROT, "leaves_write_protected")                                                 \
	X(EAGER_SPLITS, "eager_splits")                                                            \
	X(PAGES_LOGGED_DIRTY, "pages_logged_dirty")                                                \
	X(HUGE_RECOVERED, "huge_pages_recovered")                                                  \
	X(COLLAPSIBLE_ZAPPED, "collapsible_tables_zapped")                                         \
	/* NX huge pages */                                                                        \
	X(NX_TRACKED, "nx_tables_tracked")                                                         \
	X(NX_SPLITS, "nx_forced_small")                                                            \
	X(NX_RECOVERED, "nx_tables_recovered")                                                     \
	/* aging */                                                                                \
	X(YOUNG_CLEARED, "young_cleared")                                                          \
	/* write tracking */                                                                       \
	X(WRITES_EMULATED, "writes_emulated")                                                      \
	/* host faults (host_fault_us): delays paid, faults that waited for another's */           \
	X(HOST_FAULTS, "host_faults")                                                              \
	X(HOST_FAULT_WAITS, "host_fault_waits")                                                    \
	/* MMIO entries: installed, exits on a current one, stale ones met, wraparound zaps */     \
	X(MMIO_INSTALLED, "mmio_entries_installed")                                                \
	X(MMIO_EXITS, "mmio_exits")                                                                \
	X(MMIO_EXITS_FAST, "mmio_exits_fast")                                                      \
	X(MMIO_STALE, "mmio_entries_stale")                                                        \
	X(MMIO_GEN_WRAPS, "mmio_gen_wrap_zaps")                                                    \
	/* D-bit (PML-style) dirty logging: D cleared to re-arm, log entries, full-log exits */    \
	X(DBIT_CLEARED, "dirty_bits_cleared")                                                      \
	X(PML_LOGGED, "pml_entries_logged")                                                        \
	X(PML_FULL_EXITS, "pml_full_exits")                                                        \
	X(PML_FLUSHES, "pml_flushes")                                                              \
	/* dirty ring: entries pushed, soft-full exits, entries reset */                           \
	X(RING_PUSHES, "ring_pushes")                                                              \
	X(RING_SOFT_FULL_EXITS, "ring_soft_full_exits")                                            \
	X(RING_RESETS, "ring_entries_reset")

enum tdpmmu_counter {
#define TDPMMU_COUNTER_ENUM(name, str) TDPMMU_C_##name,
	TDPMMU_COUNTERS(TDPMMU_COUNTER_ENUM)
#undef TDPMMU_COUNTER_ENUM
		TDPMMU_NR_COUNTERS
};

#endif
