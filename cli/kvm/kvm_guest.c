/*
 * kvm_guest.c - the guest program of our KVM VMM (kvm_vm.c): hand-encoded
 * 32-bit x86 machine code, the segment state it runs in, the registers
 * that pass it its arguments, and the page lists it walks.
 *
 * The guest runs in protected mode with flat 4 GiB code and data segments
 * and paging off, so a guest address is a guest physical address.  It has
 * two entry points, each ending with OUT to KVM_GUEST_PORT (an exit to the
 * VMM) and then HLT forever, so that re-entering it by mistake is an
 * unexpected exit, not a run-away guest:
 *
 *   pass (offset 0): ESI = the vCPU's page list, ECX = entries, EDX = the
 *     value, EDI = 0.  Each entry (4 bytes) is a data page's gpa, with bit
 *     0 set when the page is written: then 8 bytes at offset 0 get EDX,EDI;
 *     else the same 8 bytes are read.  OUT with AL = KVM_GUEST_DONE_PASS.
 *   warm-up (offset 0x28): ESI = first page, ECX = pages: reads 4 bytes of
 *     each page, so the VMM can map the page lists in the guest before a
 *     timed pass.  OUT with AL = KVM_GUEST_DONE_WARM.
 *
 * No stack, no interrupts, no IDT: any exception ends in a triple fault,
 * which KVM reports as KVM_EXIT_SHUTDOWN.  The bytes avoid 0x40-0x4f, so
 * they would decode the same in 64-bit mode.
 *
 * Concurrency: everything here is pure or writes caller-owned memory; the
 * main thread fills the lists while the vCPUs wait between passes.
 */
#include <linux/kvm.h>
#include <string.h>

#include "common/guest.h"
#include "kvm/kvm_vm.h"

#define GUEST_WARM_ENTRY 0x28

/* clang-format off */
static const uint8_t guest_code[] = {
	/* pass: */
	0xe3, 0x1a,                   /* 00: jecxz done (0x1c)        no entries */
	/* loop: */
	0x8b, 0x06,                   /* 02: mov eax, [esi]           entry */
	0x83, 0xc6, 0x04,             /* 04: add esi, 4               next entry */
	0xa8, 0x01,                   /* 07: test al, 1               written? */
	0x75, 0x07,                   /* 09: jnz write (0x12) */
	0x8b, 0x18,                   /* 0b: mov ebx, [eax]           read bytes 0-3 */
	0x8b, 0x58, 0x04,             /* 0d: mov ebx, [eax + 4]       read bytes 4-7 */
	0xeb, 0x06,                   /* 10: jmp next (0x18) */
	/* write: */
	0x89, 0x50, 0xff,             /* 12: mov [eax - 1], edx       bytes 0-3 (eax = gpa | 1) */
	0x89, 0x78, 0x03,             /* 15: mov [eax + 3], edi       bytes 4-7 */
	/* next: */
	0xff, 0xc9,                   /* 18: dec ecx */
	0x75, 0xe6,                   /* 1a: jnz loop (0x02) */
	/* done: */
	0xb0, KVM_GUEST_DONE_PASS,    /* 1c: mov al, DONE_PASS */
	0xe6, KVM_GUEST_PORT,         /* 1e: out PORT, al             exit to the VMM */
	0xf4,                         /* 20: hlt                      never re-entered here */
	0xeb, 0xfd,                   /* 21: jmp 0x20 */
	0xf4, 0xf4, 0xf4, 0xf4, 0xf4, /* 23: hlt (padding) */
	/* warm-up: */
	0xe3, 0x0c,                   /* 28: jecxz wdone (0x36)       no pages */
	/* wloop: */
	0x8b, 0x06,                   /* 2a: mov eax, [esi]           touch the page */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* 2c: add esi, 0x1000   next page */
	0xff, 0xc9,                   /* 32: dec ecx */
	0x75, 0xf4,                   /* 34: jnz wloop (0x2a) */
	/* wdone: */
	0xb0, KVM_GUEST_DONE_WARM,    /* 36: mov al, DONE_WARM */
	0xe6, KVM_GUEST_PORT,         /* 38: out PORT, al */
	0xf4,                         /* 3a: hlt */
	0xeb, 0xfd,                   /* 3b: jmp 0x3a */
};
/* clang-format on */

_Static_assert(sizeof(guest_code) == 0x3d, "guest code offsets");
_Static_assert(sizeof(guest_code) <= KVM_GUEST_PAGE_BYTES, "guest code fits its page");

const uint8_t *kvm_guest_code(size_t *len)
{
	*len = sizeof(guest_code);
	return guest_code;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1; /* 32-bit */
	s->s = 1;  /* code or data */
	s->g = 1;  /* limit in 4K units */
}

void kvm_guest_sregs(struct kvm_sregs *s)
{
	flat_segment(&s->cs, 0x08, 0x0b); /* execute/read, accessed */
	flat_segment(&s->ds, 0x10, 0x03); /* read/write, accessed */
	s->es = s->fs = s->gs = s->ss = s->ds;
	/* VM entry wants a busy 32-bit TSS in TR even if nothing uses it. */
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x18;
	s->tr.limit = 0x67;
	s->tr.type = 0x0b;
	s->tr.present = 1;
	/* An empty IDT: any exception escalates to a triple fault (KVM_EXIT_SHUTDOWN). */
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = 0x11; /* PE and ET; CD and NW clear: caches on; no paging */
	s->cr4 = 0;
	s->efer = 0;
}

void kvm_guest_regs_pass(struct kvm_regs *r, uint64_t list_gpa, uint64_t count, uint32_t value)
{
	memset(r, 0, sizeof(*r));
	r->rip = KVM_GUEST_CTL_GPA;
	r->rflags = 0x2;
	r->rsp = KVM_GUEST_CTL_GPA + KVM_GUEST_PAGE_BYTES; /* unused */
	r->rsi = list_gpa;
	r->rcx = count;
	r->rdx = value;
	r->rdi = 0;
}

void kvm_guest_regs_warm(struct kvm_regs *r, uint64_t gpa, uint64_t pages)
{
	memset(r, 0, sizeof(*r));
	r->rip = KVM_GUEST_CTL_GPA + GUEST_WARM_ENTRY;
	r->rflags = 0x2;
	r->rsp = KVM_GUEST_CTL_GPA + KVM_GUEST_PAGE_BYTES;
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
		uint32_t e = (uint32_t)(KVM_GUEST_DATA_GPA + a.gpa);

		if (a.type == TDPMMU_ACCESS_WRITE)
			e |= 1;
		list[i++] = e;
	}
}
