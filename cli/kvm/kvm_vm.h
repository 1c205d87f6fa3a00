/*
 * kvm_vm.h - a minimal VMM of our own on the raw KVM ioctl API, so the
 * benchmarks can run the populate / dirty-log guest workload on the real
 * kernel's MMU: a VM with the data region split over memslots, one
 * persistent thread per vCPU, a tiny 64-bit guest (kvm_guest.c) that
 * walks a list of its pages at CPL 3 with paging on, and KVM's dirty log.
 *
 * Guest physical layout (the guest identity-maps what it uses):
 *   KVM_GUEST_CTL_GPA   one control memslot: the code page (code, GDT,
 *                       TSS), the guest's page tables, then one page list
 *                       per vCPU (uint32 entries, kvm_guest_list_fill())
 *   KVM_GUEST_EXIT_GPA  no memslot: the guest's write there ends a pass
 *                       (KVM_EXIT_MMIO; HLT and OUT fault at CPL 3)
 *   0xFEC00000 - 4 GiB  left free (TSS and identity map pages on Intel)
 *   KVM_GUEST_DATA_GPA  the data region, vcpus x bytes_per_vcpu (or one
 *                       shared region with overlap), split evenly into
 *                       o->slots memslots with ids 0 .. slots - 1, up to
 *                       kvm_vm_data_limit()
 * Page numbers given to page_written() are data-region relative
 * (page 0 at KVM_GUEST_DATA_GPA), like the simulated benchmark's gfns.
 *
 * The guest runs natively everywhere we know: under VMX and SVM with
 * EPT/NPT (KVM's TDP MMU when kvm.tdp_mmu=Y), and under kvm_pvm, which
 * runs a user-mode guest natively on its shadow MMU (a supervisor-mode
 * one it emulates instruction by instruction).  kvm_mmu_kind() says
 * from the statistics which one a row measured.
 *
 * Threads: one VM is driven by one host thread (create, passes, dirty
 * log, destroy); the dirty-log calls may also run between
 * kvm_vm_pass_start() and kvm_vm_pass_wait(), while the vCPUs run.
 * Every error returns -errno; the calls that take @why also write a
 * one-line reason there.
 */
#ifndef TDPMMU_CLI_KVM_VM_H
#define TDPMMU_CLI_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define KVM_GUEST_PAGE_BYTES 4096ull
#define KVM_GUEST_CTL_GPA 0x00100000ull   /* code page, page tables, page lists */
#define KVM_GUEST_CTL_END 0xC0000000ull   /* lists for about 3 TiB of data */
#define KVM_GUEST_EXIT_GPA 0xD0000000ull  /* unbacked: a write there ends a pass */
#define KVM_GUEST_DATA_GPA 0x100000000ull /* 4 GiB: 1 GiB aligned, any backing maps huge */
#define KVM_GUEST_DATA_END (1ull << 47)   /* 4-level paging's user half; see kvm_vm_data_limit() */

/* ---- host (kvm_host.c) ---- */

/* Whether /dev/kvm can run our guest: 0, or -errno with a one-line reason. */
int kvm_probe(char *why, size_t len);
/* The same against another device path (tests: a missing path). */
int kvm_probe_path(const char *path, char *why, size_t len);

/* -1 / "" where a parameter file or capability is missing. */
struct kvm_host_facts {
	char kernel[128];       /* uname -r */
	char vendor[16];        /* kvm_intel, kvm_amd, kvm_pvm... ("" unknown) */
	int tdp;                /* EPT / NPT in use: 0 with kvm_pvm (shadow paging) */
	int tdp_mmu;            /* kvm.tdp_mmu */
	int eager_page_split;   /* kvm.eager_page_split */
	char nx_huge_pages[16]; /* kvm.nx_huge_pages as written: Y, N, auto, never... */
	int64_t nx_recovery_ratio, nx_recovery_period_ms;
	int manual_protect2; /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 bits, 0 none */
	int max_vcpus;       /* KVM_CAP_MAX_VCPUS */
};
void kvm_host_facts_read(struct kvm_host_facts *f);
/* KVM's vCPUs per VM (KVM_CAP_MAX_VCPUS, else _NR_VCPUS); -1 without /dev/kvm. */
int kvm_host_max_vcpus(void);
/* The --help line under -v naming that limit; nothing without /dev/kvm. */
void kvm_vcpus_help(FILE *f);

/* A vCPU's statistics (KVM_GET_STATS_FD), cumulative; -1 where missing. */
struct kvm_vcpu_kstats {
	int64_t exits, pf_taken, pf_fixed, pf_fast, pf_spurious, pf_emulate, io_exits;
	int64_t insn_emulation; /* high: KVM emulates the guest, no MMU faults */
	/* Not the kernel's: set by kvm_mmu_classify() on a row's statistics. */
	uint64_t pages;  /* guest pages the passes touched */
	const char *mmu; /* kvm_mmu_kind(): NULL until classified */
	bool emulated;   /* emulated instructions above 1% of @pages */
};
/* Reads one vCPU's statistics: 0 or -errno (no binary stats). */
int kvm_vcpu_kstats_read(int vcpu_fd, struct kvm_vcpu_kstats *st);

/* ---- the VM (kvm_vm.c, kvm_vm_mem.c, kvm_vm_run.c) ---- */

enum kvm_backing_kind { KVM_BACK_ANON, KVM_BACK_THP, KVM_BACK_HUGETLB_2M, KVM_BACK_HUGETLB_1G };

struct kvm_vm_opts {
	unsigned vcpus;
	uint64_t bytes_per_vcpu; /* a multiple of 4K (of the huge page for hugetlb) */
	bool overlap;            /* one region all vCPUs walk */
	enum kvm_backing_kind backing;
	bool prefault;       /* populate host memory before the guest runs */
	unsigned slots;      /* data memslots (0 counts as 1), split evenly */
	unsigned timeout_s;  /* a pass running longer is an error (0: 300 s) */
	uint64_t guest_page; /* the guest's own page size: 2M (0 too) or 4K (a heavier walk) */
	/*
	 * Optional: called once per data memslot after its memory is mapped and
	 * before any vCPU runs and before the VMM writes to it (the guest's own
	 * page tables and page lists live outside the data slots). A
	 * demand-paging run registers the range with userfaultfd here. A
	 * non-zero return (negative errno) fails kvm_vm_create with @why.
	 * With it set, the VMM neither prefaults nor touches the data memory.
	 */
	int (*data_mapped)(void *ctx, unsigned slot, void *hva, uint64_t gpa, uint64_t bytes,
			   char *why, size_t len);
	void *data_ctx;
};

struct kvm_guest_vm;

/* Creates the VM, its memslots and its vCPU threads (waiting). */
int kvm_vm_create(const struct kvm_vm_opts *o, struct kvm_guest_vm **out, char *why, size_t len);
void kvm_vm_destroy(struct kvm_guest_vm *vm);

/*
 * One pass of every vCPU over its region: each 4K page once, 8 bytes at
 * offset 0, ascending or (@random_order) in the vCPU's permutation of
 * cli/common/guest.c; the pages page_written(page, @write_pct)
 * picks get @value in their low 4 bytes and 0 in the next 4, the others
 * are read.  @ns: start barrier to the last vCPU done.  The first pass
 * with new (@write_pct, @random_order) builds the page lists and maps
 * them in the guest with an untimed warm-up pass first.
 */
int kvm_vm_pass(struct kvm_guest_vm *vm, unsigned write_pct, bool random_order, uint32_t value,
		uint64_t *ns, char *why, size_t len);
/* The same in two, so the host can work while the vCPUs run. */
int kvm_vm_pass_start(struct kvm_guest_vm *vm, unsigned write_pct, bool random_order,
		      uint32_t value, char *why, size_t len);
int kvm_vm_pass_wait(struct kvm_guest_vm *vm, uint64_t *ns, char *why, size_t len);

/* Dirty log of data slot @slot (0 .. slots - 1); @bitmap has kvm_vm_slot_pages() bits. */
int kvm_dirty_log_enable(struct kvm_guest_vm *vm, unsigned slot, bool manual_protect);
/* Returns the number of pages set, or -errno. */
int kvm_dirty_log_get(struct kvm_guest_vm *vm, unsigned slot, uint64_t *bitmap);
/* @first_page a multiple of 64; @npages too, or reaching the slot's end. */
int kvm_dirty_log_clear(struct kvm_guest_vm *vm, unsigned slot, uint64_t first_page,
			uint64_t npages, const uint64_t *bitmap);
int kvm_dirty_log_disable(struct kvm_guest_vm *vm, unsigned slot);
/* Whether the VM clears its log by hand (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), INITIALLY_SET. */
bool kvm_dirty_log_manual(const struct kvm_guest_vm *vm, bool *initially_set);

uint64_t kvm_vm_slot_pages(const struct kvm_guest_vm *vm);
uint64_t kvm_vm_slot_gpa(const struct kvm_guest_vm *vm, unsigned slot);
/* Host view of guest memory (data or control), NULL outside the memslots. */
void *kvm_vm_hva(struct kvm_guest_vm *vm, uint64_t gpa);
/*
 * The most data (bytes, all vCPUs) a VM may have: the guest's physical
 * address width above KVM_GUEST_DATA_GPA, and the host's memory and swap
 * (the guest touches every page; MAP_NORESERVE maps more).  @why (may be
 * NULL) says which limit it is.
 */
uint64_t kvm_vm_data_limit(char *why, size_t len);
/* The vCPUs' statistics summed (fields -1 where the kernel has none): 0 or -errno. */
int kvm_vm_kstats(struct kvm_guest_vm *vm, struct kvm_vcpu_kstats *sum);

/*
 * Which MMU a row measured, from what it observed (kvm_mmu.c): @delta is
 * the kstats of the timed passes (after minus before), @pages the guest
 * pages they touched.  "emulator" when emulated instructions exceed 1% of
 * @pages (*@emulated set), else by the host: "TDP MMU" (EPT/NPT,
 * kvm.tdp_mmu=Y), "legacy TDP" (EPT/NPT, tdp_mmu=N), "shadow MMU" (no
 * EPT/NPT), "unknown MMU" (neither known).
 */
#define KVM_MMU_TDP "TDP MMU"
#define KVM_MMU_TDP_LEGACY "legacy TDP"
#define KVM_MMU_SHADOW "shadow MMU"
#define KVM_MMU_EMULATOR "emulator"
#define KVM_MMU_UNKNOWN "unknown MMU"
const char *kvm_mmu_kind(const struct kvm_host_facts *f, const struct kvm_vcpu_kstats *delta,
			 uint64_t pages, bool *emulated);
/* The same into @delta's pages, mmu and emulated fields (host facts read here). */
void kvm_mmu_classify(struct kvm_vcpu_kstats *delta, uint64_t pages);

/* ---- the guest program (kvm_guest.c, kvm_guest_pt.c) ---- */

#define KVM_GUEST_DONE_PASS 1 /* the byte the guest writes to KVM_GUEST_EXIT_GPA after a pass */
#define KVM_GUEST_DONE_WARM 2 /* ...after a warm-up */

struct kvm_regs;
struct kvm_sregs;

/* The code page: code at 0, then the GDT and a TSS, for KVM_GUEST_CTL_GPA. */
void kvm_guest_code_page(uint8_t *page);
/* 64-bit mode at CPL 3, paging with root @cr3, the segments of the code page. */
void kvm_guest_sregs(struct kvm_sregs *s, uint64_t cr3);
/* Registers for a pass over the @count entries of the list at @list_gpa. */
void kvm_guest_regs_pass(struct kvm_regs *r, uint64_t list_gpa, uint64_t count, uint32_t value);
/* Registers for a warm-up reading @pages pages from @gpa. */
void kvm_guest_regs_warm(struct kvm_regs *r, uint64_t gpa, uint64_t pages);
/*
 * Fills @list with one vCPU's pass over @npages pages from data page
 * @first: entry = page's gpa >> 11, | 1 when written.
 */
void kvm_guest_list_fill(uint32_t *list, uint64_t first, uint64_t npages, unsigned vcpu,
			 bool random_order, unsigned write_pct);

/* An identity-mapped range of the guest's page tables. */
struct kvm_guest_range {
	uint64_t gpa, bytes;
};
/* Bytes of page tables that map @n ranges with @page leaves, at most. */
uint64_t kvm_guest_pt_bytes(const struct kvm_guest_range *r, unsigned n, uint64_t page);
/*
 * Builds them in @area (zeroed, @bytes from kvm_guest_pt_bytes(), at
 * guest address @area_gpa): user, writable, accessed and dirty set.
 * Returns the root's gpa (CR3).
 */
uint64_t kvm_guest_pt_build(uint8_t *area, uint64_t area_gpa, uint64_t bytes,
			    const struct kvm_guest_range *r, unsigned n, uint64_t page);

#endif /* TDPMMU_CLI_KVM_VM_H */
