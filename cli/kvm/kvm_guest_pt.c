/*
 * kvm_guest_pt.c - the guest's own page tables, built by the VMM before
 * any vCPU runs: x86-64 4-level tables that identity-map a few ranges
 * (control region, exit page, data region) with 2M or 4K leaves, every
 * entry user and writable, with the accessed (and, on leaves, dirty) bits
 * already set, so the CPU never writes the tables (under a shadow MMU a
 * write to a guest page table is a write-protection fault).
 *
 * Tables come from one zeroed area in the control memslot, handed out in
 * order; a table is found again through the entry that points to it.
 * The size bound counts, per range and level, one table per started
 * span plus one for an unaligned start.
 *
 * Concurrency: the main thread, before the vCPUs exist.
 */
#include "kvm/kvm_vm.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define PT_ENTRIES 512

static uint64_t span_of(int level) /* bytes one entry maps at @level (1: 4K) */
{
	return KVM_GUEST_PAGE_BYTES << (9 * (level - 1));
}

uint64_t kvm_guest_pt_bytes(const struct kvm_guest_range *r, unsigned n, uint64_t page)
{
	int leaf = page == KVM_GUEST_PAGE_BYTES ? 1 : 2;
	uint64_t tables = 1; /* the root */

	for (unsigned i = 0; i < n; i++)
		for (int level = leaf; level < 4; level++) {
			uint64_t table_span = span_of(level) * PT_ENTRIES;

			/* The range rounded out to leaves: up to a leaf more each side. */
			tables += (r[i].bytes + 2 * page + table_span - 1) / table_span + 1;
		}
	return tables * KVM_GUEST_PAGE_BYTES;
}

struct pt_area {
	uint8_t *base;
	uint64_t gpa, bytes, used;
};

static uint64_t *table_at(struct pt_area *a, uint64_t gpa)
{
	return (uint64_t *)(a->base + (gpa - a->gpa));
}

static uint64_t table_new(struct pt_area *a)
{
	uint64_t gpa = a->gpa + a->used;

	/* kvm_guest_pt_bytes() bounds what this takes: running out is a bug. */
	if (a->used + KVM_GUEST_PAGE_BYTES > a->bytes)
		__builtin_trap();
	a->used += KVM_GUEST_PAGE_BYTES;
	return gpa;
}

/* Maps the leaf of @page bytes at @addr, making the tables on the way. */
static void map_one(struct pt_area *a, uint64_t root, uint64_t addr, int leaf)
{
	uint64_t table = root;

	for (int level = 4; level > leaf; level--) {
		uint64_t *e = &table_at(a, table)[addr / span_of(level) % PT_ENTRIES];

		if (!(*e & PTE_P))
			*e = table_new(a) | PTE_P | PTE_RW | PTE_US | PTE_A;
		table = *e & PTE_ADDR;
	}
	table_at(a, table)[addr / span_of(leaf) % PT_ENTRIES] =
		addr | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | (leaf > 1 ? PTE_PS : 0);
}

uint64_t kvm_guest_pt_build(uint8_t *area, uint64_t area_gpa, uint64_t bytes,
			    const struct kvm_guest_range *r, unsigned n, uint64_t page)
{
	struct pt_area a = { .base = area, .gpa = area_gpa, .bytes = bytes };
	int leaf = page == KVM_GUEST_PAGE_BYTES ? 1 : 2;
	uint64_t root = table_new(&a);

	for (unsigned i = 0; i < n; i++) {
		uint64_t start = r[i].gpa & ~(page - 1);
		uint64_t end = (r[i].gpa + r[i].bytes + page - 1) & ~(page - 1);

		for (uint64_t addr = start; addr < end; addr += page)
			map_one(&a, root, addr, leaf);
	}
	return root;
}
