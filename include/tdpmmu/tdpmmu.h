/*
 * tdpmmu/tdpmmu.h - public API of tdpmmu, a user-space model of KVM's x86
 * TDP MMU with parallel page faults.
 *
 * Contents, in this order:
 *   1. version, build and threads; reclamation strategies
 *   2. the VM
 *   3. memslots (add, delete, move; backings)
 *   4. vCPUs and guest access
 *   5. faults and lookups
 *   6. operations: zap, write protection, write tracking, aging, huge-page
 *      recovery, NX recovery
 *   7. dirty logging
 *   8. statistics (the counters themselves are in tdpmmu/stats.h)
 *   9. the simulated host: host frames, MMU-notifier invalidation, remap
 * The entry format (struct tdpmmu_mapping's spte) is in tdpmmu/spte.h; test
 * and benchmark support (audits, injection, hooks) is in tdpmmu/testing.h
 * and its own library, not in this one.
 *
 * Units.  A gfn is a guest frame number: a guest-physical address (gpa)
 * >> TDPMMU_PAGE_SHIFT.  Every range is half-open, [start, end), in gfns,
 * unless a call says gpa.  Sizes are in 4 KiB pages ("npages") unless they
 * say bytes.  A pfn is a host frame number of the simulated host.
 *
 * Errors are negative errno values; a call that fails changes nothing.
 *   -EINVAL  malformed argument (NULL handle, bad level count, empty or
 *            reversed range, unknown backing or access flag)
 *   -ERANGE  gfn or range beyond the guest address width
 *   -EEXIST  memslot overlaps an existing one, or its id is taken
 *   -ENOENT  no memslot maps the gfn
 *   -EFAULT  write access to a read-only memslot
 *   -ENOSPC  too many memslots, or host frames exhausted
 *   -ENOMEM  out of memory or page-table arena full
 *
 * Threads and locks.  Any number of threads may call tdpmmu_fault() (or
 * run vCPUs) at the same time, each on its own vCPU, concurrently with
 * every other call except tdpmmu_vm_destroy().  A vCPU handle is used by
 * one thread at a time.  At most 8192 threads may use tdpmmu at once (each
 * takes a per-thread slot on its first call, see tdpmmu_thread_attach).
 * Each call below says which of the library's locks it takes (ranked, see
 * docs/locking.md); the caller never holds one of them, so every call may
 * be made from any thread that is not inside a tdpmmu_guest_fn:
 *   MMU read lock   shared with faults: the call runs in parallel with them
 *   MMU write lock  excludes faults while it runs (they wait)
 *   slots lock      the host's memslot mutex: memslot, dirty-log, remap and
 *                   huge-page recovery calls run one at a time per VM
 *   lockless        atomics and walk protection only: never waits for a lock
 * Under the wrlock and global strategies, faults and read-lock calls may
 * take the write lock instead (see enum tdpmmu_strategy).
 *
 * Language: this header, tdpmmu/spte.h and tdpmmu/stats.h need C99 or
 * C++11, or later (the library itself is built as GNU C11);
 * tests/install/api_c99.c and tests/install/api_cxx.cc hold them to that.
 * tdpmmu/testing.h needs C11.
 */
#ifndef TDPMMU_TDPMMU_H
#define TDPMMU_TDPMMU_H

/* ==== 1. Version, build and threads; reclamation strategies ============= */

/*
 * The release, defined here only: the Makefile reads these three lines for
 * the pkg-config file, and tdpmmu_version() returns what the library was
 * built with, to compare against TDPMMU_VERSION at run time.
 */
#define TDPMMU_VERSION_MAJOR 0
#define TDPMMU_VERSION_MINOR 1
#define TDPMMU_VERSION_PATCH 0
#define TDPMMU_STRINGIFY_(x) #x
#define TDPMMU_STRINGIFY(x) TDPMMU_STRINGIFY_(x)
/* "MAJOR.MINOR.PATCH" */
#define TDPMMU_VERSION                                                                             \
	TDPMMU_STRINGIFY(TDPMMU_VERSION_MAJOR)                                                     \
	"." TDPMMU_STRINGIFY(TDPMMU_VERSION_MINOR) "." TDPMMU_STRINGIFY(TDPMMU_VERSION_PATCH)

#include <stdbool.h>
#include <stdint.h>

#include "tdpmmu/spte.h"
#include "tdpmmu/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tdpmmu_vm;
struct tdpmmu_vcpu;

/* The library's TDPMMU_VERSION, as it was built.  Constant. */
const char *tdpmmu_version(void);

/*
 * This build's page-table geometry (a test build may have fewer entries per
 * table than 512).  Constants, any thread.
 *   tdpmmu_pt_bits            index bits per table level (9: 512 entries)
 *   tdpmmu_level_pages        4 KiB pages one entry at @level (1..5) maps
 *                             (1, 512, 512^2, ...); 0 for a level out of range
 *   tdpmmu_vcpu_cache_tables  page tables a vCPU's page cache holds: each
 *                             vCPU may keep this many 4 KiB tables of the
 *                             arena (size max_tables with it)
 */
unsigned tdpmmu_pt_bits(void);
uint64_t tdpmmu_level_pages(int level);
unsigned tdpmmu_vcpu_cache_tables(void);

/*
 * Give the calling thread its per-thread slot now rather than on its
 * first call (which takes a mutex once): call it before a timed region.
 * Returns 0 (also when the thread has its slot already), or -EAGAIN when
 * 8192 threads hold one.  The slot is given back when the thread exits.
 *
 * Running out of slots.  Every call below that returns int and may take
 * the MMU lock or walk the tables (memslots, vCPU runs, faults, lookups,
 * zaps, write protection and tracking, aging, huge-page and NX recovery,
 * dirty logging, invalidations, remaps, the audits of tdpmmu/testing.h)
 * returns -EAGAIN, having changed nothing, when its thread has no slot
 * and none is free.  The calls that cannot fail (tdpmmu_vm_destroy,
 * tdpmmu_vcpu_destroy, tdpmmu_flush_tlbs, tdpmmu_write_tracked,
 * tdpmmu_nx_listed, tdpmmu_root_stats_read) wait until a thread gives
 * one back.  The lockless host and statistics calls need no slot.
 */
int tdpmmu_thread_attach(void);

/* Whether liburcu's memb read side is fence-free (sys_membarrier present).  Constant. */
bool tdpmmu_rcu_membarrier_active(void);

/*
 * Reclamation strategies: how a page table that was disconnected while
 * other threads may still walk it gets freed, and when faults take the
 * write lock.
 *   RCU            upstream: walks are RCU read-side sections (liburcu memb),
 *                  tables are freed by call_rcu after a grace period.
 *   RCU_QSBR       the same with liburcu's QSBR flavour: vCPU threads stay
 *                  online through tdpmmu_vcpu_run and announce a quiescent
 *                  state at every guest entry; walks cost nothing.
 *   LLIST          no RCU: the read lock protects walks; disconnected tables
 *                  go on a lock-free list that the end of a read-side
 *                  section drains by taking the write lock briefly.
 *   LLIST_TRYLOCK  the same, but the end of a read-side section only tries
 *                  the write lock; when that fails a worker drains after
 *                  drain_delay_ms.
 *   WRLOCK         tables are only ever disconnected under the write lock:
 *                  a fault that would replace a table retries holding it,
 *                  and so do the bulk operations that remove tables.
 *   GLOBAL         the pre-2021 baseline: every operation that takes the MMU
 *                  lock takes it for write, page faults included.
 * Under the last four, lockless walkers (the fast page fault, aging,
 * lookups) hold off TLB-flush acknowledgements, and a table is freed only
 * after a flush that started after it was disconnected.
 */
enum tdpmmu_strategy {
	TDPMMU_STRATEGY_RCU = 0,
	TDPMMU_STRATEGY_RCU_QSBR,
	TDPMMU_STRATEGY_LLIST,
	TDPMMU_STRATEGY_LLIST_TRYLOCK,
	TDPMMU_STRATEGY_WRLOCK,
	TDPMMU_STRATEGY_GLOBAL,
	TDPMMU_NR_STRATEGIES,
};
/* "rcu", "rcu-qsbr", "llist", "llist-trylock", "wrlock", "global"; NULL if out of range. */
const char *tdpmmu_strategy_name(enum tdpmmu_strategy s);
/* Parses a name above (the program's --strategy); -EINVAL otherwise, @out untouched. */
int tdpmmu_strategy_parse(const char *s, enum tdpmmu_strategy *out);

/* ==== 2. The VM ========================================================== */

/* Called for every remote TLB flush; @gfn and @level say what, @level 0 means "all of them". */
typedef void (*tdpmmu_flush_fn)(void *ctx, uint64_t gfn, int level);

#define TDPMMU_MAX_HOST_FAULT_US 1000000u

/*
 * The host kernel's preemption model (CONFIG_PREEMPT_NONE/VOLUNTARY/
 * full, or preempt= with PREEMPT_DYNAMIC), as it decides when a holder of
 * the MMU lock lets go inside a long operation (zaps, NX and huge-page
 * recovery, dirty-log clear, root teardown).  Since Linux 6.8 a waiter
 * makes the holder yield (rwlock_needbreak) only under FULL; under NONE
 * and VOLUNTARY it yields only when its time slice is used up
 * (need_resched), 3 ms here.  NONE and VOLUNTARY differ only in
 * might_sleep() points, of which there are none under the MMU lock: here
 * they behave alike.
 */
enum tdpmmu_preempt {
	TDPMMU_PREEMPT_NONE = 0,
	TDPMMU_PREEMPT_VOLUNTARY,
	TDPMMU_PREEMPT_FULL,
	TDPMMU_NR_PREEMPT,
};
/* "none", "voluntary", "full"; NULL if out of range. */
const char *tdpmmu_preempt_name(enum tdpmmu_preempt p);
/* Parses a name above (the program's --preempt); -EINVAL otherwise, @out untouched. */
int tdpmmu_preempt_parse(const char *s, enum tdpmmu_preempt *out);

/*
 * How the MMU keeps track of its page-table pages.  COUNT (upstream KVM
 * today): linking or unlinking a table adjusts an atomic count, nothing
 * else.  LIST (the seed thread's patch): every table in use is on a list,
 * changed under the pages lock when faults hold the MMU lock for read.
 * The roots list and the possible-NX list are under the pages lock in
 * both modes, as upstream.
 */
enum tdpmmu_pages_mode {
	TDPMMU_PAGES_COUNT = 0,
	TDPMMU_PAGES_LIST,
	TDPMMU_NR_PAGES_MODES,
};
/* "count", "list"; NULL if out of range. */
const char *tdpmmu_pages_name(enum tdpmmu_pages_mode m);
/* Parses a name above (the program's --pages); -EINVAL otherwise, @out untouched. */
int tdpmmu_pages_parse(const char *s, enum tdpmmu_pages_mode *out);

/*
 * How dirty logging re-arms a page (KVM with and without PML).  WRPROT
 * (the default, no PML): enable and each harvest take W away, so the
 * next write faults and the fault marks the page.  DBIT (PML): 4K leaves
 * keep W; enable and each harvest clear their Dirty bit instead, and the
 * simulated CPU, setting D on a write, appends the gfn to the vCPU's
 * 512-entry log, flushed into the bitmap at every exit from guest mode
 * (a full log forces an exit; get and clear kick every vCPU out first).
 * Huge leaves in a logging slot are write-protected in both modes.
 */
enum tdpmmu_dirty_mode {
	TDPMMU_DIRTY_WRPROT = 0,
	TDPMMU_DIRTY_DBIT,
	TDPMMU_NR_DIRTY_MODES,
};
/* "wrprot", "dbit"; NULL if out of range. */
const char *tdpmmu_dirty_mode_name(enum tdpmmu_dirty_mode m);
/* Parses a name above (the program's --dirty-mode); -EINVAL otherwise, @out untouched. */
int tdpmmu_dirty_mode_parse(const char *s, enum tdpmmu_dirty_mode *out);

struct tdpmmu_vm_config {
	unsigned levels;     /* 4 (48-bit guest physical) or 5 (57-bit) */
	uint64_t max_tables; /* page-table arena size in tables (4 KiB each) */
	/*
	 * Real backing: 0 for none (frames are numbers only), else the bytes of
	 * host memory to reserve (touched on demand).  Guest accesses then read
	 * and write real bytes, and every memslot and remap must fit in it.
	 */
	uint64_t payload_bytes;
	/* Observer, called after each remote flush, on the flushing thread, MMU lock held. */
	tdpmmu_flush_fn flush_tlbs;
	void *flush_ctx;
	/*
	 * NX huge-page mitigation (KVM's nx_huge_pages): huge leaves are
	 * mapped non-executable, and an execute fault where a huge page could
	 * be maps 4K and records the table on the possible-NX list.  Every
	 * nx_recovery_period_ms (0: no recovery thread; call
	 * tdpmmu_nx_recover() yourself) a recovery thread zaps
	 * ceil(listed / nx_recovery_ratio) of them (ratio 0: none), so that
	 * huge pages can come back.  Defaults: off, 1000 ms, 60.
	 */
	bool nx_huge_pages;
	unsigned nx_recovery_period_ms;
	unsigned nx_recovery_ratio;
	/* How disconnected page tables are freed (above).  Default TDPMMU_STRATEGY_RCU. */
	enum tdpmmu_strategy strategy;
	/* llist-trylock: how long the drain worker waits before it drains, in ms.  Default 1000. */
	unsigned drain_delay_ms;
	/* When a long operation lets go of the MMU lock (above).  Default TDPMMU_PREEMPT_VOLUNTARY. */
	enum tdpmmu_preempt preempt;
	/* How page-table pages are tracked (above).  Default TDPMMU_PAGES_COUNT. */
	enum tdpmmu_pages_mode pages;
	/*
	 * Demand paging: the host's cost of a guest's first touch of a host
	 * page, in microseconds (0, the default: none; at most
	 * TDPMMU_MAX_HOST_FAULT_US).  Like a userfaultfd handler that sleeps
	 * before UFFDIO_COPY: the first fault on each host page of a memslot
	 * (a backing page: 4K, or 2M/1G for huge backings) blocks this long
	 * in the host lookup, before the MMU lock is taken and holding no
	 * lock, so vCPUs faulting on different pages wait in parallel; a
	 * fault on a page another vCPU is faulting in waits until that one
	 * is done and pays nothing.  Pages are faulted in once per memslot:
	 * zaps, remaps and moves keep them, a memslot added (again) starts
	 * with none.  Counted in host_faults and host_fault_waits.
	 */
	unsigned host_fault_us;
	/*
	 * The userfaultfd handler pool: at most this many host faults of one
	 * memslot are served at once (a VMM with one userfaultfd per memslot
	 * and this many reader threads on it, demand_paging_test's -r); a
	 * first touch that finds them all busy waits for one, holding no lock
	 * (quiescent under rcu-qsbr).  0, the default: unlimited.
	 */
	unsigned host_fault_handlers;
	/* How dirty logging re-arms pages (above).  Default TDPMMU_DIRTY_WRPROT. */
	enum tdpmmu_dirty_mode dirty_mode;
	/*
	 * MMIO caching (KVM's enable_mmio_caching, default true): a fault on a
	 * gfn in no memslot installs an MMIO entry (tdpmmu/spte.h) tagged with
	 * the memslot generation and returns TDPMMU_FAULT_MMIO; the next guest
	 * access there is an MMIO exit without a fault while the generation
	 * holds.  false: such a fault returns -ENOENT and maps nothing (and
	 * tdpmmu_vcpu_run returns it).  @mmio_gen_bits: how many generation
	 * bits an entry keeps (0, the default: 19, as upstream; else 1..19).
	 * Every 2^bits memslot updates the masked generation wraps to 0, and
	 * that update zaps every root (as tdpmmu_zap_all_fast) so that no old
	 * entry can match a reused generation; tests shrink it to reach that.
	 */
	bool mmio_caching;
	unsigned mmio_gen_bits;
};

/*
 * Defaults: 4 levels, 1 Mi tables (4 GiB reserved, touched on demand), no
 * payload, NX off, strategy rcu, preemption voluntary.
 */
void tdpmmu_vm_config_init(struct tdpmmu_vm_config *cfg);
/*
 * A cfg.payload_bytes (bytes) that always holds @nslots memslots of
 * @npages pages in all: each slot's frames start at a 1 GiB boundary,
 * offset like its base gfn (so huge pages line up), which can leave up to
 * 2 GiB unused per slot.  Only touched pages take memory.  Pure.
 */
uint64_t tdpmmu_payload_bytes_for(uint64_t npages, unsigned nslots);
/* Create a VM (and its NX recovery thread, if configured).  Any thread. */
int tdpmmu_vm_create(const struct tdpmmu_vm_config *cfg, struct tdpmmu_vm **out);
/*
 * Destroys the vCPUs still attached, zaps everything, waits for
 * reclamation.  No other call on this VM may run or follow.
 */
void tdpmmu_vm_destroy(struct tdpmmu_vm *vm);
/* One past the largest gfn the VM's address width allows.  Lockless. */
uint64_t tdpmmu_vm_max_gfn(const struct tdpmmu_vm *vm);

/* ==== 3. Memslots ======================================================== */

/*
 * A memslot maps the gfns [base_gfn, base_gfn + npages) to host memory of
 * one backing (KVM_SET_USER_MEMORY_REGION).  Memslot calls take the slots
 * lock (one at a time per VM, and against dirty-log calls, remaps and
 * huge-page recovery) and wait for a memslot RCU grace period; they run
 * concurrently with faults and vCPUs.
 */
/*
 * The largest page each backing gives is mapped wherever its aligned block
 * lies wholly inside the slot; a slot may start and end anywhere (4 KiB
 * granular), and where a huge page does not fit (a 3 MiB hugetlb-1g slot)
 * the next smaller one that does is used, down to 4 KiB, as KVM does.
 * The hugetlb kinds are never remapped (tdpmmu_host_remap: -EINVAL).
 */
enum tdpmmu_backing {
	TDPMMU_BACKING_ANON = 0,   /* 4 KiB pages */
	TDPMMU_BACKING_THP,        /* 2 MiB where the 2 MiB block lies in the slot */
	TDPMMU_BACKING_HUGETLB_2M, /* 2 MiB pages */
	TDPMMU_BACKING_HUGETLB_1G, /* 1 GiB pages */
	/* Shared memory, for userfaultfd MINOR (selftests' VM_MEM_SRC_SHMEM): 4 KiB pages. */
	TDPMMU_BACKING_SHMEM,
	/* Shared hugetlbfs memory (VM_MEM_SRC_SHARED_HUGETLB): 2 MiB pages. */
	TDPMMU_BACKING_SHARED_HUGETLB,
	TDPMMU_NR_BACKINGS,
};

#define TDPMMU_MEMSLOT_READONLY (1u << 0)

struct tdpmmu_memslot {
	uint32_t id;
	uint64_t base_gfn; /* first gfn */
	uint64_t npages;   /* size in 4 KiB pages */
	enum tdpmmu_backing backing;
	uint32_t flags; /* TDPMMU_MEMSLOT_* */
};

/*
 * Memslots per VM (x86 KVM allows 32764: SHRT_MAX less 3 internal slots).
 * Lookups by gfn are a binary search, but an add, delete or move copies
 * the slot array (about 90 bytes a slot) and waits for a grace period, as
 * KVM's array memslots did before 5.17, so filling the table costs n^2:
 * 4096 (one per vCPU at the program's most) fill in a fraction of a second.
 */
#define TDPMMU_MAX_MEMSLOTS 4096

/*
 * The memslot generation (KVM's memslots generation): every publication of
 * the memslot array (an add; a delete or move publishes twice; dirty
 * logging on and off) sets TDPMMU_MEMSLOT_GEN_UPDATE_IN_PROGRESS when the
 * new array becomes visible and, after the grace period that follows,
 * clears it and adds one.  MMIO entries keep its low mmio_gen_bits bits; an
 * entry whose bits differ from the current generation's, or any entry
 * while an update is in progress, is stale and sends the access through
 * the fault path again.  Lockless, any thread.
 */
#define TDPMMU_MEMSLOT_GEN_UPDATE_IN_PROGRESS (1ull << 63)
uint64_t tdpmmu_memslots_generation(const struct tdpmmu_vm *vm);

/* Add a memslot (slots lock).  -EEXIST, -EINVAL, -ERANGE, -ENOSPC as above; -EAGAIN (no slot). */
int tdpmmu_memslot_add(struct tdpmmu_vm *vm, const struct tdpmmu_memslot *slot);

/*
 * Memslot deletion and move (to base gfn @new_base_gfn), under the slots
 * lock throughout.  Both retire every mapping with a fast zap
 * (tdpmmu_zap_all_fast: its mutex, then the MMU write and read locks)
 * before they return; a moved slot keeps its frames and contents (and its
 * dirty log; its write tracking is forgotten).  While one runs, faults on
 * the slot wait (retry) and other memslot calls, dirty-log calls and
 * remaps wait their turn, so the old place is free for a new slot only
 * once nothing maps it any more.  -ENOENT: no slot @id;
 * -EEXIST/-EINVAL/-ERANGE as for tdpmmu_memslot_add for the new place;
 * -EINVAL also for a move that changes the slot's offset within 2 MiB
 * after the host remapped part of it; -EAGAIN: no thread slot free
 * (tdpmmu_thread_attach).
 */
int tdpmmu_memslot_delete(struct tdpmmu_vm *vm, uint32_t id);
int tdpmmu_memslot_move(struct tdpmmu_vm *vm, uint32_t id, uint64_t new_base_gfn);

/*
 * "anon", "thp", "hugetlb-2m", "hugetlb-1g", "shmem", "shared-hugetlb";
 * NULL if out of range.
 */
const char *tdpmmu_backing_name(enum tdpmmu_backing b);
/*
 * The names tdpmmu_backing_name() gives.  Parsing also takes KVM
 * selftests' backing source names, as the tdpmmu program's -s does:
 * "anonymous", "anonymous_thp", "anonymous_hugetlb" and
 * "anonymous_hugetlb_2mb" (both 2M), "anonymous_hugetlb_1gb", and
 * "hugetlb_2mb", "hugetlb_1gb", "shmem" and "shared_hugetlb".  Exact matches only (case counts);
 * -EINVAL otherwise, @out untouched.
 */
int tdpmmu_backing_parse(const char *s, enum tdpmmu_backing *out);

/* ==== 4. vCPUs and guest access ========================================== */

/* Create a vCPU (takes the vCPU-list mutex).  At most 8192 per VM (-ENOSPC). */
int tdpmmu_vcpu_create(struct tdpmmu_vm *vm, struct tdpmmu_vcpu **out);
/*
 * Destroy a vCPU no thread uses any more (MMU read lock, vCPU-list mutex;
 * waits for a thread slot if none is free, as tdpmmu_vm_destroy does).
 */
void tdpmmu_vcpu_destroy(struct tdpmmu_vcpu *vcpu);

/*
 * Each vCPU runs on a reference-counted root of its address-space role
 * (normal or SMM), loaded on first use and reloaded when it becomes
 * invalid.  tdpmmu_vcpu_set_smm switches the vCPU's role; it takes effect
 * at its next entry or fault.  Called by the vCPU's own thread; no lock.
 */
int tdpmmu_vcpu_set_smm(struct tdpmmu_vcpu *vcpu, bool smm);

/*
 * Flush every vCPU's TLB, waiting until each in guest mode has left it
 * (vCPU-list mutex).  Not from a tdpmmu_guest_fn.
 */
void tdpmmu_flush_tlbs(struct tdpmmu_vm *vm);

/*
 * Running a vCPU.  The calling thread becomes the vCPU (KVM_RUN): it
 * enters guest mode and performs the accesses @next produces through its
 * TLB and the hardware walker, leaving guest mode to handle EPT violations
 * (as tdpmmu_fault: MMU read lock), requests, and every TDPMMU_GUEST_BURST
 * accesses.  @next receives the previous access back (with the value
 * read, for a read) and fills in the next one; it returns false to stop.
 * Accesses are 8 bytes at an 8-byte aligned gpa (a guest-physical
 * address in bytes, not a gfn).  Returns 0, the fault's error, -EAGAIN
 * when the thread has no per-thread slot and none is free, or
 * TDPMMU_EXIT_DIRTY_RING_FULL (section 7, the dirty ring).
 *
 * @next runs in guest mode, like guest code: it must not block, wait for
 * another thread, or call anything that takes the MMU lock or flushes TLBs
 * (faults, zaps, invalidations, tdpmmu_flush_tlbs, the audits): a flush
 * waits for every vCPU in guest mode to reach its next access.  Lockless
 * calls (tdpmmu_lookup, tdpmmu_host_pfn, tdpmmu_vcpu_stats_read) are fine.
 */
#define TDPMMU_GUEST_BURST 256

#define TDPMMU_ACCESS_READ (1u << 0)
#define TDPMMU_ACCESS_WRITE (1u << 1)
#define TDPMMU_ACCESS_EXEC (1u << 2)

struct tdpmmu_access {
	uint64_t gpa;   /* guest-physical address in bytes, 8-byte aligned */
	unsigned type;  /* one TDPMMU_ACCESS_* bit */
	uint64_t value; /* written, or read back (0 without real backing) */
};

typedef bool (*tdpmmu_guest_fn)(void *ctx, struct tdpmmu_access *a);
/* Record each fault's latency (costs two clock reads per fault). */
#define TDPMMU_RUN_LATENCY (1u << 0)
int tdpmmu_vcpu_run(struct tdpmmu_vcpu *vcpu, tdpmmu_guest_fn next, void *ctx, unsigned flags);

/*
 * MMIO exits.  An access to a gfn in no memslot (with the VM's
 * mmio_caching on) leaves guest mode: on a current MMIO entry straight
 * away (KVM's EPT misconfiguration with a matching generation: no fault,
 * no memslot lookup, counted in mmio_exits_fast), otherwise through the
 * fault path, which either maps the gfn (a slot is there now: the access
 * is retried as memory) or installs a fresh MMIO entry.  The exit calls
 * the vCPU's MMIO handler (the VMM's device model) outside guest mode, on
 * the vCPU's thread, with no lock held: it may block, but must not call
 * tdpmmu_vcpu_run; for a read its return value is the value read (0
 * without a handler), for a write it is ignored.  Then the vCPU goes back
 * to the guest and hands the access to @next with TDPMMU_ACCESS_MMIO added
 * to a->type (a read's a->value holds what the handler returned); the flag
 * is taken off again after @next returns.
 */
#define TDPMMU_ACCESS_MMIO (1u << 4)
typedef uint64_t (*tdpmmu_mmio_fn)(void *ctx, const struct tdpmmu_access *a);
/* Set (or with NULL clear) @vcpu's MMIO handler.  The vCPU's own thread, outside tdpmmu_vcpu_run. */
int tdpmmu_vcpu_set_mmio_handler(struct tdpmmu_vcpu *vcpu, tdpmmu_mmio_fn fn, void *ctx);

/* ==== 5. Faults and lookups ============================================== */

/*
 * tdpmmu_fault only: the violation hit a present leaf (a permission fault,
 * the PRESENT bit of the error code).  Only such faults try the lockless
 * fast path first; a not-present fault goes straight to the slow path.
 */
#define TDPMMU_ACCESS_PRESENT (1u << 3)

struct tdpmmu_fault_result {
	int level;        /* level of the leaf that maps the gfn afterwards (TDPMMU_LEVEL_*) */
	uint64_t pfn;     /* host frame of the gfn */
	unsigned retries; /* attempts that had to start over */
	bool spurious;    /* the mapping was already there */
};

/*
 * Handle a fault on @gfn (a gfn, not a gpa) as a vCPU would, on the
 * thread that owns @vcpu: with TDPMMU_ACCESS_PRESENT the lockless fast
 * path first; then look the frame up outside the lock (memslot RCU; a
 * host fault may sleep here, no lock held), fill the vCPU's table cache,
 * and map under the MMU read lock (the write lock under global, and for a
 * retry under wrlock), retrying until it sticks.  Runs in parallel with
 * other faults and read-lock calls.  @access: TDPMMU_ACCESS_* bits.
 * @max_level (0 = no cap, else 1..3) caps the mapping size, standing in
 * for KVM's reasons to map small.  @res may be NULL.  -EAGAIN: the
 * thread has no per-thread slot and none is free (tdpmmu_thread_attach).
 */
int tdpmmu_fault(struct tdpmmu_vcpu *vcpu, uint64_t gfn, unsigned access, int max_level,
		 struct tdpmmu_fault_result *res);
/* tdpmmu_fault's answer to a write to a write-tracked gfn: mapped read-only, emulate the write. */
#define TDPMMU_FAULT_EMULATE 1
/*
 * tdpmmu_fault's answer for a gfn in no memslot with the VM's mmio_caching
 * on: an MMIO entry tagged with the memslot generation read before the
 * lookup is installed (by CAS, under the read lock), nothing is mapped;
 * while a memslot update is in progress no entry is installed (it would
 * be stale at once), the answer is the same.  With mmio_caching off:
 * -ENOENT.
 */
#define TDPMMU_FAULT_MMIO 2

/*
 * Pre-fault (KVM_PRE_FAULT_MEMORY, KVM's kvm_tdp_map_page): map the gpa
 * range [*gpa, *gpa + *size) (bytes, both 4 KiB aligned, size > 0) into
 * @vcpu's root before the guest runs, on the thread that owns @vcpu, page
 * by page through the slow path of tdpmmu_fault as a read that is not a
 * write (no host page is dirtied), at the largest size the memslot allows
 * (so the notifier retry, memslot lookup, huge-page and dirty-logging
 * rules are a fault's): MMU read lock per step (write lock under global,
 * and for a retry under wrlock); a host fault may sleep between steps, no
 * lock held.  Each step advances *gpa and lowers *size by what it mapped,
 * up to the end of the leaf it mapped.  Before each step @stop (may be
 * NULL) is asked with @ctx whether to stop: it plays KVM's pending
 * signal.  Returns 0 once some of the range was mapped, with *gpa and
 * *size describing what is left (call again to resume; *size 0 when
 * done); otherwise the error that stopped the first step, nothing mapped
 * and *gpa, *size untouched: -EINTR (@stop said so), -EINVAL (NULL
 * argument, unaligned or empty range, or one that wraps), -ERANGE (range
 * beyond the guest address width), -ENOENT (the first page is in no
 * memslot), -ENOMEM, -EAGAIN (no thread slot free).
 */
typedef bool (*tdpmmu_stop_fn)(void *ctx);
int tdpmmu_pre_fault(struct tdpmmu_vcpu *vcpu, uint64_t *gpa, uint64_t *size, tdpmmu_stop_fn stop,
		     void *ctx);

struct tdpmmu_mapping {
	bool present;
	int level;          /* leaf level when present (TDPMMU_LEVEL_*) */
	uint64_t pfn;       /* host frame of @gfn itself (not of the huge page) */
	tdpmmu_spte_t spte; /* the leaf entry (tdpmmu/spte.h) */
};

/*
 * @gfn's translation in the normal root.  Lockless (walk protection only),
 * any thread; -EAGAIN when the thread has no slot and none is free.
 */
int tdpmmu_lookup(struct tdpmmu_vm *vm, uint64_t gfn, struct tdpmmu_mapping *out);

/* ==== 6. Operations ====================================================== */

/*
 * Zaps.  tdpmmu_zap_range: zap every leaf that maps part of the gfns
 * [start, end), flushing before it returns.  tdpmmu_zap_all: zap
 * everything, page tables included.  Both under the MMU write lock.
 *
 * tdpmmu_zap_all_fast (KVM's kvm_mmu_zap_all_fast) takes the fast-zap
 * mutex, invalidates every root under the write lock, has every vCPU
 * reload a new root (waiting for vCPUs in guest mode), and then zaps the
 * invalidated roots under the read lock, bottom level first; every mapping
 * is gone when it returns.  Not from a tdpmmu_guest_fn.  All three:
 * -EAGAIN when no thread slot is free (tdpmmu_thread_attach).
 */
int tdpmmu_zap_range(struct tdpmmu_vm *vm, uint64_t start, uint64_t end);
int tdpmmu_zap_all(struct tdpmmu_vm *vm);
int tdpmmu_zap_all_fast(struct tdpmmu_vm *vm);

/*
 * Write-protect @gfn once (KVM's kvm_tdp_mmu_write_protect_gfn) under the
 * MMU write lock: clear W and MMU-writable on the leaf that maps it in
 * every valid root (a huge leaf is protected whole), flushing before the
 * lock is released.  The fast path cannot undo it; a later write fault
 * maps the page writable again through the slow path.  Returns 1 if some
 * leaf was protected, else 0.  To keep it protected, track it (below).
 * -EAGAIN: no thread slot free (tdpmmu_thread_attach).
 */
int tdpmmu_write_protect_gfn(struct tdpmmu_vm *vm, uint64_t gfn);

/*
 * Write tracking (KVM's page tracking in write mode, as used for shadowed
 * guest page tables): while @gfn is tracked it is never mapped writable
 * and no huge leaf covers it, so each guest write to it faults and is
 * emulated: the vCPU writes the host memory itself under the MMU read
 * lock (counted in writes_emulated), and a direct tdpmmu_fault returns
 * TDPMMU_FAULT_EMULATE after mapping the page read-only.  Adds nest; add
 * write-protects the gfn (and the huge leaf around it) under the write
 * lock before it returns; remove and tracked take the read lock.  Tracking
 * belongs to the memslot: deleting or moving the slot forgets it.
 * Errors: -ERANGE, -ENOENT (no memslot), -ENOMEM, -EOVERFLOW (added
 * 2^32 - 1 times), -EINVAL (remove of an untracked gfn), -EAGAIN (no
 * thread slot free; tdpmmu_write_tracked waits for one instead).
 */
int tdpmmu_write_track_add(struct tdpmmu_vm *vm, uint64_t gfn);
int tdpmmu_write_track_remove(struct tdpmmu_vm *vm, uint64_t gfn);
bool tdpmmu_write_tracked(struct tdpmmu_vm *vm, uint64_t gfn);

/*
 * Aging for the host's page reclaim (MMU-notifier test_young, clear_young,
 * clear_flush_young) over the gfns [start, end) in every valid root.  No
 * MMU lock: walk protection only (parallel with faults and with the write
 * lock); Accessed is cleared atomically.  test_young returns 1 if some
 * leaf is young, else 0; the others return how many leaves were young (and
 * cleared).  clear_flush_young flushes TLBs when it cleared any, so the
 * next access sets Accessed again (not from a tdpmmu_guest_fn).  -EAGAIN:
 * no thread slot free (tdpmmu_thread_attach).
 */
int tdpmmu_test_young(struct tdpmmu_vm *vm, uint64_t start, uint64_t end);
int tdpmmu_clear_young(struct tdpmmu_vm *vm, uint64_t start, uint64_t end);
int tdpmmu_clear_flush_young(struct tdpmmu_vm *vm, uint64_t start, uint64_t end);

/*
 * How huge pages come back after dirty logging (or on demand):
 *   TDPMMU_RECOVER_ZAP      zap each collapsible table under the read lock,
 *                           so the next fault maps a huge page (the old way)
 *   TDPMMU_RECOVER_INPLACE  replace each collapsible table with a huge
 *                           leaf by one CAS (the new way)
 * A table is collapsible when the host allows a mapping of its level.  ZAP
 * freezes each entry, flushes, then clears it (as KVM); INPLACE issues one
 * flush for the pass, before walk protection is dropped.
 */
enum tdpmmu_huge_recovery {
	TDPMMU_RECOVER_NONE,
	TDPMMU_RECOVER_ZAP,
	TDPMMU_RECOVER_INPLACE,
};
/*
 * Recover huge pages in memslot @slot_id, which must not be logging
 * (slots lock, then the MMU read lock: parallel with faults).  Returns
 * tables collapsed or zapped; -ENOENT, -EINVAL (logging, or bad @how),
 * -EAGAIN (no thread slot free).
 */
int tdpmmu_recover_huge_pages(struct tdpmmu_vm *vm, uint32_t slot_id,
			      enum tdpmmu_huge_recovery how);

/*
 * NX recovery pass (what the recovery thread runs each period): zap
 * ceil(listed / @ratio) tables from the possible-NX list under the MMU
 * read lock (@ratio 0: the VM's ratio).  Returns tables zapped, or
 * -EAGAIN when no thread slot is free (the recovery thread then skips
 * its pass).
 */
int tdpmmu_nx_recover(struct tdpmmu_vm *vm, unsigned ratio);
/* Tables on the possible-NX list now (MMU read lock; waits for a thread slot if none is free). */
uint64_t tdpmmu_nx_listed(struct tdpmmu_vm *vm);

/* ==== 7. Dirty logging =================================================== */

/*
 * Dirty logging on a memslot (KVM_MEM_LOG_DIRTY_PAGES).  While enabled,
 * writable leaves in the slot exist only at 4K (except huge leaves that an
 * INITIALLY_SET enable left writable, until a clear covers them: their
 * pages are all reported already) and every leaf that becomes writable
 * (slow fault or lockless fast fault) marks its page in the slot's dirty
 * bitmap first.  Every dirty-log call holds the slots lock, as KVM's
 * ioctls do; they run in parallel with faults and vCPUs.
 *
 * enable write-protects the slot's leaves under the MMU read lock and
 * flushes before it returns.  Flags:
 *   TDPMMU_DIRTY_LOG_EAGER_SPLIT     also split huge leaves down to 4K
 *                                    (KVM's eager_page_split)
 *   TDPMMU_DIRTY_LOG_MANUAL_PROTECT  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
 *                                    get does not clear; clear re-protects
 *   TDPMMU_DIRTY_LOG_INITIALLY_SET   with MANUAL_PROTECT: the bitmap starts
 *                                    all set and enable changes no entry;
 *                                    each clear protects (and, with
 *                                    EAGER_SPLIT, first splits) the huge
 *                                    leaves over its pages, as KVM does
 * In D-bit mode (tdpmmu_vm_config.dirty_mode) "protect" means: clear D
 * on 4K leaves (they keep W), write-protect huge ones; get and clear
 * first make every vCPU flush its PML log (kick and wait).
 * Returns the number of leaves write-protected or re-armed (0 with
 * INITIALLY_SET), or an error: -ENOENT no such slot, -EBUSY already logging, -EINVAL bad
 * flags, -EROFS read-only slot.  Every dirty-log call: -EAGAIN when no
 * thread slot is free (tdpmmu_thread_attach).
 */
#define TDPMMU_DIRTY_LOG_EAGER_SPLIT (1u << 0)
#define TDPMMU_DIRTY_LOG_MANUAL_PROTECT (1u << 1)
#define TDPMMU_DIRTY_LOG_INITIALLY_SET (1u << 2)
int tdpmmu_dirty_log_enable(struct tdpmmu_vm *vm, uint32_t slot_id, unsigned flags);

/*
 * KVM_GET_DIRTY_LOG: copy the slot's bitmap (bit i = page base_gfn + i,
 * ceil(npages / 64) 64-bit words) to @bitmap.  Without MANUAL_PROTECT it
 * also clears what it copied and write-protects those pages (MMU write
 * lock), flushing before it returns.  Returns the number of bits set.
 */
int tdpmmu_dirty_log_get(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t *bitmap);

/*
 * KVM_CLEAR_DIRTY_LOG (MANUAL_PROTECT only, else -EINVAL): for each bit i
 * of @mask, clear page first_page + i's dirty bit and, if it was set,
 * write-protect the page (MMU write lock), flushing before it returns.
 * With INITIALLY_SET and EAGER_SPLIT the huge leaves over those pages are
 * split to 4K first.  @first_page is a page index relative to the slot
 * (not a gfn) and a multiple of 64; bits past the slot's end must be
 * clear.  Returns the number of bits it cleared (each such page is
 * write-protected).
 */
int tdpmmu_dirty_log_clear(struct tdpmmu_vm *vm, uint32_t slot_id, uint64_t first_page,
			   uint64_t mask);

/*
 * Disable dirty logging and recover huge pages @how (as
 * tdpmmu_recover_huge_pages: MMU read lock).  -ENOENT, -EINVAL (not logging).
 */
int tdpmmu_dirty_log_disable(struct tdpmmu_vm *vm, uint32_t slot_id, enum tdpmmu_huge_recovery how);

/*
 * The dirty ring (KVM_CAP_DIRTY_LOG_RING).  With rings on, each vCPU has
 * a ring of @nr_entries entries, and a page a vCPU dirties in a slot
 * that logs (tdpmmu_dirty_log_enable, which still write-protects) is
 * pushed into that vCPU's ring instead of the slot's bitmap.  A page
 * dirtied with no vCPU goes to the bitmap (KVM's ring-with-bitmap), which
 * tdpmmu_dirty_log_get and _clear still harvest.
 *
 * enable: before the first vCPU (tdpmmu_vcpu_create), once.  @nr_entries
 * is a power of two above TDPMMU_DIRTY_RING_RSVD and at most 65536.
 * -EINVAL bad size, -E2BIG too large, -EBUSY a vCPU exists or rings are
 * on already.  vCPU-list mutex.
 *
 * harvest: user space reading @vcpu's ring (KVM: the mmap'd entries from
 * its fetch index): copies up to @max DIRTY entries in push order to
 * @out and marks each RESET.  Any thread, lockless against the vCPU
 * (acquire on each entry's flags, release when it marks it); harvests of
 * one vCPU are serialised by its ring's mutex.  Returns the entries
 * copied; -EINVAL without a ring or bad arguments.
 *
 * reset (KVM_RESET_DIRTY_RINGS): slots lock; for each vCPU, frees its
 * RESET entries in order, write-protecting their pages again (MMU write
 * lock per run of entries within 64 pages of one slot), then flushes
 * remote TLBs if any entry was freed.  Returns the entries freed;
 * -EINVAL without rings, -EAGAIN no thread slot.  Must not run
 * concurrently with tdpmmu_vcpu_destroy of the same VM.  Read a
 * harvested page's contents after the reset that freed its entry: a
 * write between harvest and reset is not pushed again.
 *
 * Soft full: once a vCPU's ring holds nr_entries - TDPMMU_DIRTY_RING_RSVD
 * entries not yet reset, tdpmmu_vcpu_run returns
 * TDPMMU_EXIT_DIRTY_RING_FULL before its next guest entry (at once if the
 * ring is soft full when called), and tdpmmu_fault on that vCPU returns
 * -ENOSPC without doing anything.  After a reset made room, call
 * tdpmmu_vcpu_run again with the same @next and @ctx: it resumes the
 * guest where it stopped, first performing the access it had not done
 * (or, if that access was completed, asking @next for the following
 * one), so no access is lost or repeated.  A call that finds the ring
 * still soft full returns TDPMMU_EXIT_DIRTY_RING_FULL again.
 */
#define TDPMMU_DIRTY_RING_RSVD 576 /* 64 + a PML buffer of 512 */
#define TDPMMU_DIRTY_GFN_F_DIRTY (1u << 0)
#define TDPMMU_DIRTY_GFN_F_RESET (1u << 1)
#define TDPMMU_EXIT_DIRTY_RING_FULL 1

struct tdpmmu_dirty_gfn {
	uint32_t flags;  /* TDPMMU_DIRTY_GFN_F_DIRTY as harvested */
	uint32_t slot;   /* the memslot id the page was dirtied through */
	uint64_t offset; /* page index within that slot (gfn - base_gfn) */
};

int tdpmmu_dirty_ring_enable(struct tdpmmu_vm *vm, uint32_t nr_entries);
int tdpmmu_dirty_ring_harvest(struct tdpmmu_vcpu *vcpu, struct tdpmmu_dirty_gfn *out, int max);
int tdpmmu_dirty_ring_reset(struct tdpmmu_vm *vm);

/* ==== 8. Statistics ====================================================== */

/*
 * Every reader below is lockless and may run at any time from any thread:
 * what it returns was true at some recent moment, not a consistent
 * snapshot (counters are sharded per thread, see tdpmmu/stats.h).
 */

/* The MMU's counters (enum tdpmmu_counter), summed over threads. */
void tdpmmu_counters_read(const struct tdpmmu_vm *vm, int64_t out[TDPMMU_NR_COUNTERS]);
/* "tables_l1", ...: the counter's name; NULL if out of range. */
const char *tdpmmu_counter_name(enum tdpmmu_counter c);

#define TDPMMU_LATENCY_BUCKETS 512

/* Per vCPU, written only by the vCPU's thread. */
struct tdpmmu_vcpu_stats {
	uint64_t accesses, tlb_hits, tlb_misses, walks, walk_retries, ad_updates;
	uint64_t guest_entries, ept_violations, kicks, tlb_flushes;
	uint64_t faults_fast, faults_slow, fault_retries, notifier_retries;
	/* fault latency, log-bucketed (8 buckets per power of two of ns) */
	uint64_t latency[TDPMMU_LATENCY_BUCKETS];
	uint64_t latency_max_ns;
};
void tdpmmu_vcpu_stats_read(const struct tdpmmu_vcpu *vcpu, struct tdpmmu_vcpu_stats *out);

/* Fault latency in ns. */
struct tdpmmu_latency {
	uint64_t count, p50_ns, p99_ns, p999_ns, max_ns;
};
/* Over the VM's vCPUs (those run with TDPMMU_RUN_LATENCY); takes the vCPU-list mutex. */
void tdpmmu_fault_latency_read(struct tdpmmu_vm *vm, struct tdpmmu_latency *out);

/* The MMU lock: acquisitions, and wait and hold times in ns. */
struct tdpmmu_lock_stats {
	uint64_t reads, writes;
	uint64_t read_wait_ns, write_wait_ns;
	uint64_t read_hold_ns, write_hold_ns;
	/* Most write sections that went first while a reader waited. */
	uint64_t read_wait_writers_max;
	/* The part of the above due to threads running vCPUs (tdpmmu_vcpu_run). */
	uint64_t vcpu_reads, vcpu_writes;
	uint64_t vcpu_read_wait_ns, vcpu_write_wait_ns;
};
void tdpmmu_lock_stats_read(const struct tdpmmu_vm *vm, struct tdpmmu_lock_stats *out);

/*
 * Page tables handed to reclamation: retired, freed, waiting, and the most
 * ever waiting (4 KiB each: peak_outstanding_bytes), plus what the
 * strategy did to free them.
 */
struct tdpmmu_reclaim_stats {
	enum tdpmmu_strategy strategy;
	uint64_t retired, freed, outstanding, peak_outstanding, peak_outstanding_bytes;
	uint64_t rcu_callbacks;    /* rcu, rcu-qsbr: call_rcu callbacks run */
	uint64_t drains;           /* list strategies: batches taken off the list and freed */
	uint64_t drain_flushes;    /* drains that had to flush TLBs themselves first */
	uint64_t trylock_failures; /* llist-trylock: read-unlock drains that found the lock busy */
	uint64_t worker_drains;    /* llist-trylock: drains done by the delayed worker */
	uint64_t holdoff_waits;    /* flushes that waited for a lockless walker to finish */
	uint64_t write_retries;    /* wrlock: faults that retried under the write lock */
};
void tdpmmu_reclaim_stats_read(const struct tdpmmu_vm *vm, struct tdpmmu_reclaim_stats *out);

struct tdpmmu_root_stats {
	uint64_t valid, invalid; /* roots on the list now */
	uint64_t allocated;      /* ever */
};
void tdpmmu_root_stats_read(struct tdpmmu_vm *vm, struct tdpmmu_root_stats *out);

/* ==== 9. The simulated host ============================================== */

/*
 * Host frames.  Each memslot's gfns are backed by host frames (pfns) of
 * the simulated host, with real bytes when cfg.payload_bytes is set.
 * These calls are lockless (memslot RCU) and may run at any time.
 */

/* Host frame that backs @gfn now (what a correct mapping must point at).  -ENOENT: no slot. */
int tdpmmu_host_pfn(struct tdpmmu_vm *vm, uint64_t gfn, uint64_t *pfn);
/* The 8 bytes at guest-physical address @gpa (bytes, 8-aligned); real backing only (-ENODEV). */
int tdpmmu_host_read(struct tdpmmu_vm *vm, uint64_t gpa, uint64_t *value);
/*
 * Whether the host frame now backing @gfn was marked dirty by the MMU:
 * a leaf carrying the Dirty bit was zapped or torn down (real backing
 * only, -ENODEV otherwise).  With the leaf's own D bit, this tells whether
 * a guest write was ever lost.
 */
int tdpmmu_host_dirty(struct tdpmmu_vm *vm, uint64_t gfn, bool *dirty);
/*
 * The host wrote the page of @gfn back (writeback clears a page's dirty
 * flag): its frame reads clean until the MMU reports it written again.  A
 * leaf that still carries Dirty keeps it, so "written since the writeback"
 * stays visible as leaf Dirty or frame dirty (real backing only, -ENODEV
 * otherwise; -ENOENT no memslot).
 */
int tdpmmu_host_writeback(struct tdpmmu_vm *vm, uint64_t gfn);

/*
 * MMU notifier, over the gfns [start, end).  invalidate_begin zaps the
 * range and flushes (MMU write lock); until the matching invalidate_end
 * (MMU write lock), faults retry on every gfn from the lowest start to the
 * highest end of the invalidations in progress (gaps between them
 * included, as in KVM, so a thread must not fault there itself).
 * invalidate_end takes the range its begin took; any other range is
 * -EINVAL.  At most 64 invalidations may be in progress at once (-EBUSY).
 * Until end, no mapping covers any gfn of [start, end): a fault nearby
 * maps below the huge page that would cover it.  Not from a
 * tdpmmu_guest_fn.  Both: -EAGAIN when no thread slot is free
 * (tdpmmu_thread_attach).
 */
int tdpmmu_invalidate_begin(struct tdpmmu_vm *vm, uint64_t start, uint64_t end);
int tdpmmu_invalidate_end(struct tdpmmu_vm *vm, uint64_t start, uint64_t end);

/*
 * Between begin and end the host may change the frames: tdpmmu_host_remap
 * gives every 2 MiB block overlapping the gfns [start, end) new frames,
 * 2M-aligned with TDPMMU_REMAP_HUGE (like compaction: huge mappings
 * possible), misaligned otherwise (like migration or a THP split: 4K
 * mappings only); with real backing the bytes and the host's dirty bits
 * move along.  Remap needs one invalidation in progress that covers every
 * gfn whose frame changes: those 2 MiB blocks, clipped to the memslots
 * (-EBUSY otherwise); hugetlb slots are never remapped (-EINVAL); -ENOSPC
 * when host frames run out.  It holds the slots lock (and the MMU read
 * lock for its check), so it sees one memslot layout from its check to its
 * new frames (a concurrent move waits).  -EAGAIN: no thread slot free.
 */
#define TDPMMU_REMAP_HUGE (1u << 0)
int tdpmmu_host_remap(struct tdpmmu_vm *vm, uint64_t start, uint64_t end, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
