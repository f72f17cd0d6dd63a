/*
 * test_intr.c - exception and interrupt delivery and IRET: real mode IVT,
 * protected mode gates at the same and an inner privilege level (frames,
 * error codes, IF/TF/NT clearing, RF for faults), gate checks with their
 * error codes (EXT, IDT bit), double and triple faults, CR2, v86 mode
 * (entry by IRET, delivery to ring 0, IOPL and CR4.VME redirection),
 * IA-32e delivery (IST, 16-byte alignment, SS:RSP frame) and IRETQ.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/intr.h"
#include "emu/cpu/seg.h"

#define GDT 0x1000ull
#define IDT 0x2000ull
#define TSS 0x3000ull
#define HANDLER (TH_CODE + 0x100)	/* handlers are padded to here */

#define mkdesc(base, limit, access, flags)                                                 \
	(((uint64_t)(limit) & 0xffff) | ((uint64_t)(base) & 0xffffff) << 16 |                  \
	 (uint64_t)(access) << 40 | (((uint64_t)(limit) >> 16) & 0xf) << 48 |                  \
	 (uint64_t)(flags) << 52 | ((uint64_t)(base) >> 24) << 56)
#define mkgate(sel, off, access)                                                           \
	(((uint64_t)(off) & 0xffff) | (uint64_t)(sel) << 16 | (uint64_t)(access) << 40 |       \
	 ((uint64_t)(off) >> 16 & 0xffff) << 48)

static void gdt_set(struct th *t, unsigned idx, uint64_t d)
{
	th_write(t, GDT + 8 * idx, d, 8);
}

static void idt_set(struct th *t, unsigned vec, uint64_t g)
{
	th_write(t, IDT + 8 * vec, g, 8);
}

/* 16-byte IA-32e gate. */
static void idt64_set(struct th *t, unsigned vec, uint16_t sel, uint64_t off, unsigned access, unsigned ist)
{
	th_write(t, IDT + 16 * vec, mkgate(sel, off, access) | (uint64_t)ist << 32, 8);
	th_write(t, IDT + 16 * vec + 8, off >> 32, 8);
}

static void force_seg(struct th *t, unsigned sr, uint16_t sel, uint64_t d)
{
	struct desc dd = { .lo = (uint32_t)d, .hi = (uint32_t)(d >> 32) };
	desc_to_seg(&dd, sel, &t->cpu->seg[sr]);
	cpu_update_mode(t->cpu);
}

static void to_user(struct th *t)
{
	bool l64 = t->mode == TH_LONG64;
	force_seg(t, S_CS, l64 ? 0x43 : 0x33, l64 ? 0x00affb000000ffffull : 0x00cffb000000ffffull);
	for (unsigned s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			force_seg(t, s, 0x3b, 0x00cff3000000ffffull);
}

static void setup_tss32(struct th *t, uint32_t esp0, uint16_t ss0)
{
	th_write(t, TSS + 4, esp0, 4);
	th_write(t, TSS + 8, ss0, 4);
	th_write(t, TSS + 0x66, 0x68, 2);
	gdt_set(t, 9, mkdesc(TSS, 0x67 + 0x2000 / 8 + 1, 0x8b, 0));
	t->cpu->tr = (struct seg){ .sel = 0x48, .base = TSS, .limit = 0x67 + 0x2000 / 8 + 1, .attr = AR_P | 0xb };
}

static void setup_tss64(struct th *t, uint64_t rsp0, uint64_t ist1)
{
	th_write(t, TSS + 4, rsp0, 8);
	th_write(t, TSS + 0x24, ist1, 8);
	gdt_set(t, 9, mkdesc(TSS, 0x67, 0x8b, 0));
	gdt_set(t, 10, 0);
	t->cpu->tr = (struct seg){ .sel = 0x48, .base = TSS, .limit = 0x67, .attr = AR_P | 0xb };
}

/* Assembles main code, pads to HANDLER - TH_CODE, then the handler code. */
static void code2(struct th *t, const char *main, const char *handler)
{
	char src[4096];
	snprintf(src, sizeof(src), "%s\n hlt\n times 0x%llx-($-$$) nop\n %s", main,
		 (unsigned long long)(HANDLER - TH_CODE), handler);
	th_asm(t, src);
}

TestSuite(intr);

Test(intr, error_code_vectors)
{
	static const unsigned with[] = { 8, 10, 11, 12, 13, 14, 17, 21 };
	unsigned n = 0;
	for (unsigned v = 0; v < 32; v++)
		n += exc_has_error_code(v);
	cr_assert_eq(n, 10);	/* the eight above plus #VC (29) and #SX (30) */
	for (unsigned k = 0; k < 8; k++)
		cr_assert(exc_has_error_code(with[k]), "vector %u", with[k]);
	cr_assert(!exc_has_error_code(EXC_UD));
	cr_assert(!exc_has_error_code(EXC_BP));
}

Test(intr, real_mode_int_and_iret)
{
	struct th *t = th_new(TH_REAL);
	th_asm(t, "stc\n sti\n int 0x21\n mov bx, ax\n hlt\n"
		  "h: mov bp, sp\n mov ax, [bp]\n mov cx, [bp+2]\n mov dx, [bp+4]\n pushf\n pop si\n iret");
	/* IVT[0x21] = 0xffff:h (h at offset 0x17). */
	th_write(t, 0x21 * 4, 0xffff0000u | 0x17, 4);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_BX] & 0xffff, 0x14, "pushed IP: after INT");
	cr_assert_eq(t->cpu->regs[R_CX] & 0xffff, 0xffff, "pushed CS");
	cr_assert_eq(t->cpu->regs[R_DX] & (FL_IF | FL_CF), FL_IF | FL_CF, "pushed FLAGS");
	cr_assert_eq(t->cpu->regs[R_SI] & FL_IF, 0, "IF cleared in the handler");
	cr_assert(t->cpu->rflags & FL_IF, "IRET restored IF");
	cr_assert_eq(t->cpu->regs[R_SP] & 0xffff, 0xfffe);
	th_free(t);
}

Test(intr, real_mode_fault_no_error_code)
{
	struct th *t = th_new(TH_REAL);
	t->deliver_exceptions = true;
	th_asm(t, "mov ax, 0x10\n mov ds, ax\n xor cx, cx\n div cx\n hlt\n"
		  "h: mov bp, sp\n mov bx, [bp]\n mov dx, sp\n hlt");
	th_write(t, 0 * 4, 0xffff0000u | 0x1a, 4);	/* IVT[0] */
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_BX] & 0xffff, 0x17, "faulting IP pushed");
	cr_assert_eq(t->cpu->regs[R_DX] & 0xffff, 0xfffe - 6, "no error code in real mode");
	th_free(t);
}

/* Protected mode, same privilege: INT n through interrupt and trap gates. */
Test(intr, prot_same_privilege)
{
	for (int trap = 0; trap < 2; trap++) {
		struct th *t = th_new(TH_PROT32);
		code2(t, "sti\n int 0x40\n mov ebx, 1",
		      "mov eax, [esp]\n mov ecx, [esp+4]\n mov edx, [esp+8]\n pushfd\n pop esi\n iretd");
		idt_set(t, 0x40, mkgate(0x08, HANDLER, trap ? 0x8f : 0x8e));
		th_run(t);
		cr_assert_eq(t->exc_vector, -1, "v=%d e=%x rip=%llx", t->exc_vector, t->exc_error, (unsigned long long)t->cpu->rip);
		cr_assert_eq(t->cpu->regs[R_AX], TH_CODE + 3);
		cr_assert_eq(t->cpu->regs[R_CX], 0x08);
		cr_assert(t->cpu->regs[R_DX] & FL_IF);
		cr_assert_eq((t->cpu->regs[R_SI] & FL_IF) != 0, trap, "IF in handler, trap=%d", trap);
		cr_assert_eq(t->cpu->regs[R_BX], 1);
		cr_assert_eq(t->cpu->regs[R_SP], TH_STACK);
		th_free(t);
	}
}

/* CPL 3 -> 0 with the TSS stack; a #GP with an error code; IRET back. */
Test(intr, prot_inner_privilege_fault)
{
	struct th *t = th_new(TH_PROT32);
	uint32_t f[6];
	t = th_new(TH_PROT32);
	t->deliver_exceptions = true;
	setup_tss32(t, 0x90000, 0x10);
	to_user(t);
	code2(t, "mov eax, 0x50\n mov ds, ax", "mov esi, esp\n hlt");
	gdt_set(t, 10, mkdesc(0, 0xfffff, 0x93, 0xc));
	idt_set(t, 13, mkgate(0x08, HANDLER, 0x8e));
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_SI], 0x90000 - 24);
	th_peek(t, 0x90000 - 24, f, sizeof(f));
	cr_assert_eq(f[0], 0x50, "error code");
	cr_assert_eq(f[1], TH_CODE + 5, "faulting EIP");
	cr_assert_eq(f[2], 0x33);
	cr_assert(f[3] & FL_RF, "RF set for a fault");
	cr_assert_eq(f[4], TH_STACK);
	cr_assert_eq(f[5], 0x3b);
	cr_assert_eq(t->cpu->cpl, 0);
	cr_assert_eq(t->cpu->seg[S_SS].sel, 0x10);
	th_free(t);
}

Test(intr, iret_to_outer_level)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "push dword 0x3b\n push dword 0x7000\n push dword 0x3202\n push dword 0x33\n"
		  "push dword 0x4000\n iretd");
	th_run_n(t, 6);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->cpl, 3);
	cr_assert_eq(t->cpu->rip, 0x4000);
	cr_assert_eq(t->cpu->regs[R_SP], 0x7000);
	cr_assert_eq(t->cpu->rflags & (FL_IOPL | FL_IF), FL_IOPL | FL_IF, "CPL 0 may set IOPL");
	cr_assert_eq(t->cpu->seg[S_DS].sel, 0, "DPL 0 DS nulled");
	th_free(t);

	/* At CPL 3 with IOPL 0, IRET cannot change IF or IOPL. */
	t = th_new(TH_PROT32);
	to_user(t);
	th_asm(t, "pushfd\n pop eax\n push dword 0x3202\n push dword 0x33\n push dword 0x4000\n iretd");
	th_run_n(t, 6);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rflags & (FL_IOPL | FL_IF), 0);
	th_free(t);
}

/* Stops at the first contributory exception, before its delivery. */
static bool stop_contrib(struct th *t, struct virt_event *ev)
{
	if (ev->kind != VE_EXCEPTION)
		return false;
	if (ev->a == EXC_GP || ev->a == EXC_NP || ev->a == EXC_TS || ev->a == EXC_SS || ev->a == EXC_DF) {
		t->exc_vector = (int)ev->a;
		t->exc_error = (uint32_t)ev->b;
		return true;
	}
	return false;
}

struct gate_case {
	const char *what;
	unsigned vec;
	uint64_t gate;
	bool user, soft;
	int evec;
	uint32_t err;
};

/* Gate checks; the second exception is caught before its delivery. */
Test(intr, gate_checks)
{
	static const struct gate_case cases[] = {
		{ "soft int dpl < cpl", 0x40, mkgate(0x08, HANDLER, 0x8e), 1, 1, EXC_GP, 0x40 * 8 + 2 },
		{ "soft int not present", 0x40, mkgate(0x08, HANDLER, 0x6e), 0, 1, EXC_NP, 0x40 * 8 + 2 },
		{ "soft int bad type", 0x40, mkgate(0x08, HANDLER, 0x8c), 0, 1, EXC_GP, 0x40 * 8 + 2 },
		{ "soft int beyond idt", 0x300, 0, 0, 1, EXC_GP, 0x40 * 8 + 2 },
		{ "hw exc not present", EXC_UD, mkgate(0x08, HANDLER, 0x0e), 0, 0, EXC_NP, 6 * 8 + 3 },
		{ "hw exc dpl ignored", EXC_UD, mkgate(0x08, HANDLER, 0x8e), 1, 0, -1, 0 },
		{ "hw exc null cs", EXC_UD, mkgate(0x00, HANDLER, 0x8e), 0, 0, EXC_GP, 1 },
		{ "hw exc data cs", EXC_UD, mkgate(0x10, HANDLER, 0x8e), 0, 0, EXC_GP, 0x11 },
		{ "soft int data cs", 0x40, mkgate(0x10, HANDLER, 0xee), 0, 1, EXC_GP, 0x10 },
		{ "int3 dpl < cpl", EXC_BP, mkgate(0x08, HANDLER, 0x8e), 1, 1, EXC_GP, 3 * 8 + 2 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct gate_case *c = &cases[k];
		struct th *t = th_new(TH_PROT32);
		setup_tss32(t, 0x90000, 0x10);
		t->cpu->idtr.limit = 0x7ff;
		if (c->user)
			to_user(t);
		if (c->vec < 0x100)
			idt_set(t, c->vec, c->gate);
		t->deliver_exceptions = true;
		t->record_events = true;
		char src[64];
		if (c->vec == EXC_BP)
			snprintf(src, sizeof(src), "int3");
		else if (c->soft)
			snprintf(src, sizeof(src), "int 0x%x", c->vec & 0xff);
		else
			snprintf(src, sizeof(src), "ud2");
		code2(t, src, "mov ebx, 0x1234\n hlt");
		if (c->vec == 0x300) {
			t->cpu->idtr.limit = 0x40 * 8 + 6;
			th_asm(t, "int 0x40");
		}
		t->policy = stop_contrib;
		th_run_n(t, 3);
		int seen = t->exc_vector;
		uint32_t err = t->exc_error;
		if (c->evec < 0) {
			cr_assert_eq(t->cpu->regs[R_BX], 0x1234, "%s: handler ran", c->what);
			cr_assert_eq(t->cpu->cpl, 0);
		} else {
			cr_assert_eq(seen, c->evec, "%s: vector %d", c->what, seen);
			cr_assert_eq(err, c->err, "%s: error %#x", c->what, err);
		}
		th_free(t);
	}
}

/* #GP while delivering #GP (through a not-present gate -> #NP): #DF(0). */
Test(intr, double_fault)
{
	struct th *t = th_new(TH_PROT32);
	t->deliver_exceptions = true;
	code2(t, "mov eax, 0x13\n mov ds, ax", "mov eax, [esp]\n mov ebx, [esp+4]\n mov ecx, esp\n hlt");
	idt_set(t, 13, mkgate(0x08, HANDLER, 0x0e));	/* not present */
	idt_set(t, 8, mkgate(0x08, HANDLER, 0x8e));
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX], 0, "#DF error code is 0");
	cr_assert_eq(t->cpu->regs[R_BX], TH_CODE + 5, "return address of the first fault");
	cr_assert_eq(t->cpu->regs[R_CX], TH_STACK - 16);
	cr_assert_eq(t->cpu->exc_nest, 0);
	cr_assert_eq(t->cpu->exc_first, -1);
	th_free(t);

	/* Benign first (#UD), then #NP: handled serially, no #DF. */
	t = th_new(TH_PROT32);
	t->deliver_exceptions = true;
	code2(t, "ud2", "mov eax, [esp]\n hlt");
	idt_set(t, 6, mkgate(0x08, HANDLER, 0x0e));
	idt_set(t, 11, mkgate(0x08, HANDLER, 0x8e));
	idt_set(t, 8, 0);
	th_run(t);
	cr_assert_eq(t->cpu->regs[R_AX], 6 * 8 + 3, "#NP(IDT 6, EXT)");
	th_free(t);

	/* #PF, then a contributory fault delivering it: #DF; CR2 set. */
	t = th_new(TH_PROT32PG);
	t->deliver_exceptions = true;
	code2(t, "mov eax, [0x8000000]", "mov eax, [esp]\n hlt");
	idt_set(t, 14, mkgate(0x10, HANDLER, 0x8e));	/* data selector: #GP(0x10|EXT) */
	idt_set(t, 8, mkgate(0x08, HANDLER, 0x8e));
	th_run(t);
	cr_assert_eq(t->cpu->regs[R_AX], 0);
	cr_assert_eq(t->cpu->cr2, 0x8000000);
	th_free(t);
}

static bool stop_triple(struct th *t, struct virt_event *ev)
{
	if (ev->kind == VE_TRIPLE_FAULT) {
		t->exc_error = 0x7f;
		return true;
	}
	return false;
}

Test(intr, triple_fault)
{
	struct th *t = th_new(TH_PROT32);
	t->deliver_exceptions = true;
	t->policy = stop_triple;
	t->record_events = true;
	th_asm(t, "mov eax, 0x13\n mov ds, ax");	/* every IDT entry is empty */
	th_run(t);
	cr_assert_eq(t->exc_error, 0x7f, "VE_TRIPLE_FAULT asked");
	unsigned n = 0;
	int vecs[3] = { -1, -1, -1 };
	for (int e = 0; e < t->nevents; e++)
		if (t->events[e].kind == VE_EXCEPTION && n < 3)
			vecs[n++] = (int)t->events[e].a;
	cr_assert_eq(vecs[0], EXC_GP);
	cr_assert_eq(vecs[1], EXC_DF, "bad gate 13: #GP(13*8+2+1) becomes #DF");
	cr_assert_eq(vecs[2], -1, "the fault delivering #DF is not asked about");
	cr_assert_eq(t->cpu->exc_nest, 0);
	th_free(t);
}

/* ---- v86 mode ----------------------------------------------------------- */

#define V86_CS 0x5000
#define V86_LIN 0x50000

/* Enters v86 mode at V86_CS:0 with IRET from CPL 0 (EFLAGS image eflags). */
static void v86_setup(struct th *t, const uint8_t *v86code, size_t n, uint32_t eflags, const char *handler)
{
	th_poke(t, V86_LIN, v86code, n);
	setup_tss32(t, 0x90000, 0x10);
	char main[512];
	snprintf(main, sizeof(main),
		 "push dword 0x6000\n push dword 0x7000\n push dword 0x8000\n push dword 0x9000\n"
		 "push dword 0x4000\n push dword 0xfffe\n push dword 0x%x\n push dword 0x%x\n push dword 0\n iretd",
		 eflags, V86_CS);
	code2(t, main, handler);
}

Test(intr, v86_enter_and_interrupt)
{
	struct th *t = th_new(TH_PROT32);
	t->deliver_exceptions = true;
	/* mov ax, 0x1234; int 0x30; mov bx, ax; int 0x31 */
	static const uint8_t v86[] = { 0xb8, 0x34, 0x12, 0xcd, 0x30, 0x89, 0xc3, 0xcd, 0x31 };
	v86_setup(t, v86, sizeof(v86), 0x23002, /* VM IOPL=3 */
		  "cmp dword [esp], 5\n jne done\n mov esi, esp\n mov di, ds\n add eax, 1\n iretd\n"
		  "done: mov ecx, esp\n hlt");
	idt_set(t, 0x30, mkgate(0x08, HANDLER, 0xee));
	idt_set(t, 0x31, mkgate(0x08, HANDLER, 0xee));
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	/* First delivery: frame with the v86 segment registers. */
	cr_assert_eq(t->cpu->regs[R_SI], 0x90000 - 36);
	uint32_t f[9];
	th_peek(t, 0x90000 - 36, f, sizeof(f));
	cr_assert_eq(f[0], 9, "EIP after the second INT (same frame slot)");
	cr_assert_eq(f[1], V86_CS);
	cr_assert(f[2] & FL_VM, "EFLAGS image has VM");
	cr_assert_eq(f[3], 0xfffe);
	cr_assert_eq(f[4], 0x4000, "SS");
	cr_assert_eq(f[5], 0x9000, "ES");
	cr_assert_eq(f[6], 0x8000, "DS");
	cr_assert_eq(f[7], 0x7000, "FS");
	cr_assert_eq(f[8], 0x6000, "GS");
	cr_assert_eq(t->cpu->regs[R_DI] & 0xffff, 0, "DS nulled in the handler");
	/* Returned to v86 (AX incremented), second INT found BX. */
	cr_assert_eq(t->cpu->regs[R_BX] & 0xffff, 0x1235);
	cr_assert_eq(t->cpu->regs[R_CX], 0x90000 - 36);
	cr_assert_eq(t->cpu->mode, MODE_PROT);
	th_free(t);
}

Test(intr, v86_state_after_iret)
{
	struct th *t = th_new(TH_PROT32);
	static const uint8_t v86[] = { 0x90 };
	v86_setup(t, v86, sizeof(v86), 0x23202, "hlt");
	th_run_n(t, 10);
	cr_assert_eq(t->cpu->mode, MODE_V86);
	cr_assert_eq(t->cpu->cpl, 3);
	cr_assert_eq(t->cpu->seg[S_CS].base, V86_LIN);
	cr_assert_eq(t->cpu->seg[S_DS].base, 0x80000);
	cr_assert_eq(t->cpu->seg[S_SS].base, 0x40000);
	cr_assert_eq(t->cpu->seg[S_GS].limit, 0xffff);
	cr_assert_eq(AR_DPL(t->cpu->seg[S_ES].attr), 3);
	cr_assert_eq(t->cpu->regs[R_SP], 0xfffe);
	th_free(t);
}

Test(intr, v86_iopl_and_vme)
{
	/* IOPL 0 without VME: INT n is #GP(0). */
	struct th *t = th_new(TH_PROT32);
	static const uint8_t intn[] = { 0xcd, 0x30 };
	v86_setup(t, intn, sizeof(intn), 0x20002, "hlt");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->rip, 0);
	th_free(t);

	/* VME, IOPL 0: redirection bitmap bit clear -> v86 IVT handler
	 * (mov cx, 0x77; iret), bit set -> #GP(0). */
	t = th_new(TH_PROT32);
	t->cpu->cr4 |= CR4_VME;
	static const uint8_t prog[] = { 0xcd, 0x30, 0xcd, 0x31 };
	v86_setup(t, prog, sizeof(prog), 0x20002, "hlt");
	th_write(t, TSS + 0x68 - 32 + 0x31 / 8, 1u << (0x31 & 7), 1);	/* bitmap: 0x31 set */
	th_write(t, 0x30 * 4, 0x60000000u, 4);				/* IVT[0x30] = 6000:0000 */
	static const uint8_t h[] = { 0xb9, 0x77, 0x00, 0xcf };		/* mov cx, 0x77; iret */
	th_poke(t, 0x60000, h, sizeof(h));
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->rip, 2, "faulted at the second INT");
	cr_assert_eq(t->cpu->regs[R_CX] & 0xffff, 0x77);
	cr_assert_eq(t->cpu->mode, MODE_V86);
	cr_assert_eq(t->cpu->regs[R_SP], 0xfffe);
	th_free(t);
}

/* ---- IA-32e ------------------------------------------------------------- */

Test(intr, long_mode_inner_ist_alignment)
{
	for (int ist = 0; ist < 2; ist++) {
		struct th *t = th_new(TH_LONG64);
		t->deliver_exceptions = true;
		setup_tss64(t, 0x90008, 0x70008);
		to_user(t);
		code2(t, "mov rax, cr0", "mov rsi, rsp\n mov di, ss\n hlt");
		idt64_set(t, 13, 0x18, HANDLER, 0x8e, ist);
		th_run(t);
		cr_assert_eq(t->exc_vector, -1);
		uint64_t top = ist ? 0x70000 : 0x90000;
		cr_assert_eq(t->cpu->regs[R_SI], top - 48, "ist=%d", ist);
		cr_assert_eq(t->cpu->regs[R_DI] & 0xffff, 0, "SS is null");
		uint64_t f[6];
		th_peek(t, top - 48, f, sizeof(f));
		cr_assert_eq(f[0], 0, "error code");
		cr_assert_eq(f[1], TH_CODE);
		cr_assert_eq(f[2], 0x43);
		cr_assert(f[3] & FL_RF);
		cr_assert_eq(f[4], TH_STACK);
		cr_assert_eq(f[5], 0x3b);
		th_free(t);
	}
}

Test(intr, long_mode_same_level_and_iretq)
{
	struct th *t = th_new(TH_LONG64);
	setup_tss64(t, 0x90000, 0);
	t->cpu->regs[R_SP] = TH_STACK - 8;	/* misaligned: the frame aligns it */
	code2(t, "int 0x40\n mov rbx, rsp",
	      "mov rsi, rsp\n mov rcx, [rsp+24]\n mov rdx, [rsp+32]\n iretq");
	idt64_set(t, 0x40, 0x18, HANDLER, 0x8e, 0);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1, "v=%d e=%x rip=%llx", t->exc_vector, t->exc_error, (unsigned long long)t->cpu->rip);
	cr_assert_eq(t->cpu->regs[R_SI], TH_STACK - 16 - 40);
	cr_assert_eq(t->cpu->regs[R_CX], TH_STACK - 8, "old RSP pushed");
	cr_assert_eq(t->cpu->regs[R_DX], 0x10, "old SS pushed");
	cr_assert_eq(t->cpu->regs[R_BX], TH_STACK - 8, "IRETQ restores RSP");
	th_free(t);

	/* A 32-bit gate type in the IA-32e IDT is a #GP(vector*8+2). */
	t = th_new(TH_LONG64);
	th_asm(t, "int 0x40");
	th_write(t, IDT + 16 * 0x40, mkgate(0x18, TH_CODE, 0x86), 8);
	t->record_events = true;
	t->deliver_exceptions = false;
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0x40 * 8 + 2);
	th_free(t);

	/* Handler CS must be 64-bit code. */
	t = th_new(TH_LONG64);
	th_asm(t, "int 0x40");
	idt64_set(t, 0x40, 0x08, TH_CODE, 0x8e, 0);
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0x08);
	th_free(t);
}

Test(intr, iretq_to_user_and_compat)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "push 0x3b\n push 0x7000\n push 0x202\n push 0x33\n push 0x4000\n iretq");
	th_run_n(t, 6);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->mode, MODE_COMPAT);
	cr_assert_eq(t->cpu->cpl, 3);
	cr_assert_eq(t->cpu->rip, 0x4000);
	cr_assert_eq(t->cpu->regs[R_SP], 0x7000);
	th_free(t);

	/* Null SS to CPL 3 is #GP(0); NT set is #GP(0). */
	t = th_new(TH_LONG64);
	th_asm(t, "push 0\n push 0x7000\n push 0x202\n push 0x43\n push 0x4000\n iretq");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0);
	th_free(t);
	t = th_new(TH_LONG64);
	th_asm(t, "pushfq\n or dword [rsp], 0x4000\n popfq\n iretq");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	th_free(t);
}

Test(intr, int_into_int1)
{
	struct th *t = th_new(TH_PROT32);
	t->record_events = true;
	th_asm(t, "mov al, 0x7f\n add al, 1\n into");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_OF);
	cr_assert_eq(t->cpu->rip, TH_CODE + 4, "stopped at INTO, before delivery");
	th_free(t);

	t = th_new(TH_PROT32);
	th_asm(t, "xor eax, eax\n into\n mov ebx, 1");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_BX], 1);
	th_free(t);

	/* INT1 ignores the gate DPL; INT3 does not. */
	t = th_new(TH_PROT32);
	t->deliver_exceptions = true;
	setup_tss32(t, 0x90000, 0x10);
	to_user(t);
	code2(t, "int1", "mov eax, [esp]\n hlt");
	idt_set(t, 1, mkgate(0x08, HANDLER, 0x8e));
	th_run(t);
	cr_assert_eq(t->cpu->regs[R_AX], TH_CODE + 1, "INT1 is a trap: next EIP");
	th_free(t);
}
