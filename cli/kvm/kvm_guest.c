/*
 * kvm_guest.c - the guest program of our KVM VMM (kvm_vm.c): hand-encoded
 * x86-64 machine code, the segment and paging state it runs in, the
 * registers that pass it its arguments, and the page lists it walks.
 *
 * The guest runs in 64-bit long mode with paging on (an identity map the
 * VMM builds, kvm_guest_pt.c) at CPL 3: code and stack segments with
 * DPL 3.  User mode is what kvm_pvm runs natively (a CPL 0 guest it
 * emulates instruction by instruction), and under VMX/SVM it changes
 * nothing: the MMU work is the same.  At CPL 3 HLT and OUT fault, so a
 * pass ends with a one-byte write to KVM_GUEST_EXIT_GPA, mapped in the
 * guest but in no memslot: KVM_EXIT_MMIO.  Then UD2: re-entering the
 * guest by mistake is an unexpected exit, not a run-away guest.
 *
 * Two entry points (RBP = KVM_GUEST_EXIT_GPA in both):
 *   pass (offset 0): RSI = the vCPU's page list, RCX = entries, EDX = the
 *     value, EDI = 0.  Each entry (4 bytes) is a data page's gpa >> 11,
 *     with bit 0 set when the page is written: then 8 bytes at offset 0
 *     get EDX,EDI; else the same 8 bytes are read.  Writes
 *     KVM_GUEST_DONE_PASS to the exit address.
 *   warm-up (offset 0x30): RSI = first page, RCX = pages: reads 4 bytes of
 *     each page, so KVM maps the page lists before a timed pass.  Writes
 *     KVM_GUEST_DONE_WARM.
 *
 * No stack use, no interrupts, an empty IDT: any exception ends in a
 * triple fault, which KVM reports as KVM_EXIT_SHUTDOWN.  The code page
 * also holds a GDT with the segments the registers are loaded with, and
 * a 64-bit TSS, so a CPU or hypervisor that reads them finds the same.
 *
 * Concurrency: everything here is pure or writes caller-owned memory; the
 * main thread fills the lists while the vCPUs wait between passes.
 */
#include <linux/kvm.h>
#include <string.h>

#include "common/guest.h"
#include "kvm/kvm_vm.h"

#define GUEST_WARM_ENTRY 0x30
#define GDT_OFF 0x800 /* in the code page */
#define TSS_OFF 0xc00
#define SEL_USER_DATA 0x2b /* GDT entry 5, RPL 3 (Linux's __USER_DS) */
#define SEL_USER_CODE 0x33 /* GDT entry 6, RPL 3 (Linux's __USER_CS) */
#define SEL_TSS 0x40       /* GDT entries 8 and 9 */
#define GDT_ENTRIES 10

/* clang-format off */
static const uint8_t guest_code[] = {
	/* pass: */
	0xe3, 0x25,                   /* 00: jrcxz done (0x27)        no entries */
	/* loop: */
	0x8b, 0x06,                   /* 02: mov eax, [rsi]           entry, zero-extended */
	0x48, 0x83, 0xc6, 0x04,       /* 04: add rsi, 4               next entry */
	0xa8, 0x01,                   /* 08: test al, 1               written? */
	0x75, 0x0b,                   /* 0a: jnz write (0x17) */
	0x48, 0xc1, 0xe0, 0x0b,       /* 0c: shl rax, 11              the page's gpa */
	0x8b, 0x18,                   /* 10: mov ebx, [rax]           read bytes 0-3 */
	0x8b, 0x58, 0x04,             /* 12: mov ebx, [rax + 4]       read bytes 4-7 */
	0xeb, 0x0b,                   /* 15: jmp next (0x22) */
	/* write: */
	0x24, 0xfe,                   /* 17: and al, 0xfe             drop the write bit */
	0x48, 0xc1, 0xe0, 0x0b,       /* 19: shl rax, 11              the page's gpa */
	0x89, 0x10,                   /* 1d: mov [rax], edx           bytes 0-3 */
	0x89, 0x78, 0x04,             /* 1f: mov [rax + 4], edi       bytes 4-7 */
	/* next: */
	0x48, 0xff, 0xc9,             /* 22: dec rcx */
	0x75, 0xdb,                   /* 25: jnz loop (0x02) */
	/* done: */
	0xc6, 0x45, 0x00, KVM_GUEST_DONE_PASS, /* 27: mov byte [rbp], DONE_PASS  exit (MMIO) */
	0x0f, 0x0b,                   /* 2b: ud2                      never re-entered here */
	0x0f, 0x0b,                   /* 2d: ud2 (padding) */
	0xcc,                         /* 2f: int3 (padding) */
	/* warm-up: */
	0xe3, 0x0e,                   /* 30: jrcxz wdone (0x40)       no pages */
	/* wloop: */
	0x8b, 0x06,                   /* 32: mov eax, [rsi]           touch the page */
	0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* 34: add rsi, 0x1000  next page */
	0x48, 0xff, 0xc9,             /* 3b: dec rcx */
	0x75, 0xf2,                   /* 3e: jnz wloop (0x32) */
	/* wdone: */
	0xc6, 0x45, 0x00, KVM_GUEST_DONE_WARM, /* 40: mov byte [rbp], DONE_WARM  exit (MMIO) */
	0x0f, 0x0b,                   /* 44: ud2 */
};
/* clang-format on */

_Static_assert(sizeof(guest_code) == 0x46, "guest code offsets");
_Static_assert(sizeof(guest_code) <= GDT_OFF, "guest code fits before the GDT");

/* A code or data descriptor: flat, present, DPL 3; @l for 64-bit code. */
static uint64_t user_descriptor(uint8_t type, int l)
{
	uint64_t d = 0xffff;                  /* limit 15:0 */
	d |= (uint64_t)(0x10 | type) << 40;   /* S = 1, type */
	d |= (uint64_t)(3 << 5 | 0x80) << 40; /* DPL 3, P */
	d |= 0xfull << 48;                    /* limit 19:16 */
	d |= (uint64_t)(l ? 0x2 : 0x4) << 52; /* L, or D/B for data */
	d |= 1ull << 55;                      /* G */
	return d;
}

void kvm_guest_code_page(uint8_t *page)
{
	uint64_t gdt[GDT_ENTRIES] = { 0 };
	uint64_t tss = KVM_GUEST_CTL_GPA + TSS_OFF;

	memcpy(page, guest_code, sizeof(guest_code));
	gdt[SEL_USER_DATA >> 3] = user_descriptor(0x3, 0);
	gdt[SEL_USER_CODE >> 3] = user_descriptor(0xb, 1);
	/* 64-bit TSS, busy (type 0xb), present, limit 0x67, 16 bytes. */
	gdt[SEL_TSS >> 3] = 0x67 | (tss & 0xffffff) << 16 | 0x8bull << 40 |
			    (tss >> 24 & 0xff) << 56;
	gdt[(SEL_TSS >> 3) + 1] = tss >> 32;
	memcpy(page + GDT_OFF, gdt, sizeof(gdt));
	memset(page + TSS_OFF, 0, 0x68);
	page[TSS_OFF + 0x66] = 0x68; /* I/O map base past the limit: no I/O bitmap */
}

static void user_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->dpl = 3;
	s->db = !l; /* 64-bit code has D = 0 */
	s->l = l;
	s->s = 1; /* code or data */
	s->g = 1; /* limit in 4K units */
}

void kvm_guest_sregs(struct kvm_sregs *s, uint64_t cr3)
{
	user_segment(&s->cs, SEL_USER_CODE, 0xb, 1); /* execute/read, accessed */
	user_segment(&s->ss, SEL_USER_DATA, 0x3, 0); /* read/write, accessed */
	s->ds = s->es = s->fs = s->gs = s->ss;
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.base = KVM_GUEST_CTL_GPA + TSS_OFF;
	s->tr.selector = SEL_TSS;
	s->tr.limit = 0x67;
	s->tr.type = 0x0b; /* 64-bit TSS, busy */
	s->tr.present = 1;
	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.unusable = 1;
	s->gdt.base = KVM_GUEST_CTL_GPA + GDT_OFF;
	s->gdt.limit = GDT_ENTRIES * 8 - 1;
	/* An empty IDT: any exception escalates to a triple fault (KVM_EXIT_SHUTDOWN). */
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = 0x80010033; /* PG, WP, NE, ET, MP, PE; caches on */
	s->cr3 = cr3;
	s->cr4 = 0x20;   /* PAE */
	s->efer = 0x500; /* LME, LMA */
}

static void regs_common(struct kvm_regs *r, uint64_t rip)
{
	memset(r, 0, sizeof(*r));
	r->rip = rip;
	r->rflags = 0x2;                      /* IF clear: no interrupts */
	r->rsp = KVM_GUEST_CTL_GPA + GDT_OFF; /* unused: the top of the code */
	r->rbp = KVM_GUEST_EXIT_GPA;
}

void kvm_guest_regs_pass(struct kvm_regs *r, uint64_t list_gpa, uint64_t count, uint32_t value)
{
	regs_common(r, KVM_GUEST_CTL_GPA);
	r->rsi = list_gpa;
	r->rcx = count;
	r->rdx = value;
	r->rdi = 0;
}

void kvm_guest_regs_warm(struct kvm_regs *r, uint64_t gpa, uint64_t pages)
{
	regs_common(r, KVM_GUEST_CTL_GPA + GUEST_WARM_ENTRY);
	r->rsi = gpa;
	r->rcx = pages;
}

void kvm_guest_list_fill(uint32_t *list, uint64_t first, uint64_t npages, unsigned vcpu,
			 bool random_order, unsigned write_pct)
{
	struct page_guest g;
	struct tdpmmu_access a;
	uint64_t i = 0;

	/* The simulated benchmark's own order and write set, page for page. */
	page_guest_init(&g, first, npages, vcpu, random_order, write_pct);
	while (page_guest_next(&g, &a)) {
		uint32_t e = (uint32_t)((KVM_GUEST_DATA_GPA + a.gpa) >> 11);

		if (a.type == TDPMMU_ACCESS_WRITE)
			e |= 1;
		list[i++] = e;
	}
}
