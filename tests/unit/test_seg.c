/*
 * test_seg.c - segmentation: the slow-path checks of seg_linear (real-mode
 * limits, type checks, expand-down segments, unusable segments, canonical
 * addresses), segment-register loads with every descriptor check and
 * error code, PUSH/POP/MOV Sreg, LxS, LAR/LSL/VERR/VERW/ARPL, the
 * descriptor-table instructions (with UMIP), and far JMP/CALL/RET
 * including call gates with a privilege change in legacy and IA-32e mode.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/seg.h"

#define GDT 0x1000ull
#define TSS 0x3000ull

/* Descriptor: base, limit (20 bits), access byte, flags nibble (G D L AVL). */
#define mkdesc(base, limit, access, flags)                                                 \
	(((uint64_t)(limit) & 0xffff) | ((uint64_t)(base) & 0xffffff) << 16 |                  \
	 (uint64_t)(access) << 40 | (((uint64_t)(limit) >> 16) & 0xf) << 48 |                  \
	 (uint64_t)(flags) << 52 | ((uint64_t)(base) >> 24) << 56)

/* Legacy gate: selector, offset, access byte, parameter count. */
#define mkgate(sel, off, access, params)                                                   \
	(((uint64_t)(off) & 0xffff) | (uint64_t)(sel) << 16 | ((uint64_t)(params) & 0x1f) << 32 | \
	 (uint64_t)(access) << 40 | ((uint64_t)(off) >> 16 & 0xffff) << 48)

static void gdt_set(struct th *t, unsigned idx, uint64_t d)
{
	th_write(t, GDT + 8 * idx, d, 8);
}

/* Loads a segment register's hidden part straight from a descriptor. */
static void force_seg(struct th *t, unsigned sr, uint16_t sel, uint64_t d)
{
	struct desc dd = { .lo = (uint32_t)d, .hi = (uint32_t)(d >> 32) };
	desc_to_seg(&dd, sel, &t->cpu->seg[sr]);
	cpu_update_mode(t->cpu);
}

/* Switches a TH_PROT32 / TH_LONG64 machine to CPL 3 (flat user segments). */
static void to_user(struct th *t)
{
	bool l64 = t->mode == TH_LONG64;
	force_seg(t, S_CS, l64 ? 0x43 : 0x33, l64 ? 0x00affb000000ffffull : 0x00cffb000000ffffull);
	for (unsigned s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			force_seg(t, s, 0x3b, 0x00cff3000000ffffull);
}

static void run(struct th *t, const char *src)
{
	th_asm(t, src);
	th_run(t);
}

static void expect_exc(struct th *t, int vec, uint32_t err)
{
	cr_assert_eq(t->exc_vector, vec, "vector %d, expected %d", t->exc_vector, vec);
	if (err != NO_ERROR_CODE)
		cr_assert_eq(t->exc_error, err, "error %#x, expected %#x", t->exc_error, err);
}

TestSuite(seg);

/* ---- seg_linear ------------------------------------------------------- */

struct acc_case {
	enum th_mode mode;
	uint64_t desc;		/* loaded into DS (sel 0x50) unless 0 */
	const char *src;
	int vec;
	uint32_t err;
};

Test(seg, access_checks)
{
	static const struct acc_case cases[] = {
		/* Real mode: cached 64 KiB limit, #GP(0) / #SS(0). */
		{ TH_REAL, 0, "mov al, [0xffff]", -1, 0 },
		{ TH_REAL, 0, "mov ax, [0xffff]", EXC_GP, 0 },
		{ TH_REAL, 0, "mov ax, [ss:0xffff]", EXC_SS, 0 },
		{ TH_REAL, 0, "mov bp, 0xffff\n mov ax, [bp]", EXC_SS, 0 },
		{ TH_REAL, 0, "mov dword [0xfffc], 1", -1, 0 },
		{ TH_REAL, 0, "mov dword [0xfffd], 1", EXC_GP, 0 },
		/* Read-only data: reads pass, writes #GP(0). */
		{ TH_PROT32, mkdesc(0, 0xfffff, 0x91, 0xc), "mov eax, [0x200000]", -1, 0 },
		{ TH_PROT32, mkdesc(0, 0xfffff, 0x91, 0xc), "mov [0x200000], eax", EXC_GP, 0 },
		/* Readable code through DS: read yes, write no. */
		{ TH_PROT32, mkdesc(0, 0xfffff, 0x9b, 0xc), "mov eax, [0x200000]", -1, 0 },
		{ TH_PROT32, mkdesc(0, 0xfffff, 0x9b, 0xc), "inc dword [0x200000]", EXC_GP, 0 },
		/* Byte-granular limit 0xfff: last byte checked. */
		{ TH_PROT32, mkdesc(0, 0xfff, 0x93, 0x4), "mov eax, [0xffc]", -1, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x93, 0x4), "mov eax, [0xffd]", EXC_GP, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x93, 0x4), "mov eax, [0x1000]", EXC_GP, 0 },
		/* Expand-down, B = 1: valid 0x1000..0xffffffff. */
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x4), "mov eax, [0x1000]", -1, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x4), "mov eax, [0xfff]", EXC_GP, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x4), "mov eax, [0xffe]", EXC_GP, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x4), "mov eax, [0xfffffffc]", -1, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x4), "mov eax, [0xfffffffd]", EXC_GP, 0 },
		/* Expand-down, B = 0: upper bound 0xffff. */
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x0), "mov ax, [0xfffe]", -1, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x0), "mov ax, [0xffff]", EXC_GP, 0 },
		{ TH_PROT32, mkdesc(0, 0xfff, 0x97, 0x0), "mov al, [0x10000]", EXC_GP, 0 },
		/* Null DS: unusable in protected and compatibility mode, fine in 64-bit. */
		{ TH_PROT32, 0, "xor eax, eax\n mov ds, ax\n mov eax, [0x200000]", EXC_GP, 0 },
		{ TH_COMPAT, 0, "xor eax, eax\n mov ds, ax\n mov eax, [0x200000]", EXC_GP, 0 },
		{ TH_LONG64, 0, "xor eax, eax\n mov ds, ax\n mov eax, [0x200000]", -1, 0 },
		/* 64-bit: canonical checks, #SS(0) for stack references. */
		{ TH_LONG64, 0, "mov rbx, 0x0000800000000000\n mov rax, [rbx]", EXC_GP, 0 },
		{ TH_LONG64, 0, "mov rbx, 0x00007ffffffffffc\n mov rax, [rbx]", EXC_GP, 0 },
		{ TH_LONG64, 0, "mov rbx, 0xffff800000000000\n mov rax, [rbx]", EXC_PF, NO_ERROR_CODE },
		{ TH_LONG64, 0, "mov rsp, 0x0000800000000008\n pop rax", EXC_SS, 0 },
		{ TH_LONG64, 0, "mov rbp, 0x0000800000000008\n mov rax, [rbp]", EXC_SS, 0 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct acc_case *c = &cases[k];
		struct th *t = th_new(c->mode);
		if (c->desc)
			force_seg(t, S_DS, 0x50, c->desc);
		run(t, c->src);
		cr_assert_eq(t->exc_vector, c->vec, "case %u (%s): vector %d, expected %d", k, c->src,
			     t->exc_vector, c->vec);
		if (c->vec >= 0 && c->err != NO_ERROR_CODE)
			cr_assert_eq(t->exc_error, c->err, "case %u: error %#x", k, t->exc_error);
		th_free(t);
	}
}

Test(seg, expand_down_stack)
{
	struct th *t = th_new(TH_PROT32);
	gdt_set(t, 10, mkdesc(0, 0xfff, 0x97, 0x4));
	run(t, "mov ax, 0x50\n mov ss, ax\n mov esp, 0x1004\n push eax\n push eax");
	expect_exc(t, EXC_SS, 0);
	cr_assert_eq(t->cpu->regs[R_SP], 0x1000, "the second push must fault, not the first");
	cr_assert_eq(t->cpu->stack_size, 2);
	th_free(t);
}

Test(seg, execute_only_cs)
{
	struct th *t = th_new(TH_PROT32);
	gdt_set(t, 10, mkdesc(0, 0xfffff, 0x99, 0xc));	/* execute-only, accessed */
	run(t, "jmp 0x50:next\n next: mov eax, [cs:0x200000]");
	expect_exc(t, EXC_GP, 0);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0x50);
	th_free(t);
}

/* ---- Segment loads ----------------------------------------------------- */

struct load_case {
	const char *what;
	unsigned sreg;		/* S_DS or S_SS (S_ES for the LDT case) */
	uint16_t sel;
	uint64_t desc;		/* written at the selector's GDT slot when nonzero */
	int vec;
	uint32_t err;
};

Test(seg, load_checks)
{
	static const struct load_case cases[] = {
		{ "data", S_DS, 0x50, mkdesc(0x1234000, 0xfffff, 0x93, 0xc), -1, 0 },
		{ "null ds", S_DS, 0, 0, -1, 0 },
		{ "null ds rpl3", S_DS, 3, 0, -1, 0 },
		{ "null ss", S_SS, 0, 0, EXC_GP, 0 },
		{ "beyond gdt limit", S_DS, 0x1000, 0, EXC_GP, 0x1000 },
		{ "system descriptor", S_DS, 0x50, mkdesc(0x5000, 0xff, 0x82, 0), EXC_GP, 0x50 },
		{ "execute-only code", S_DS, 0x50, mkdesc(0, 0xfffff, 0x98, 0xc), EXC_GP, 0x50 },
		{ "readable code", S_DS, 0x50, mkdesc(0, 0xfffff, 0x9a, 0xc), -1, 0 },
		{ "rpl > dpl", S_DS, 0x53, mkdesc(0, 0xfffff, 0x93, 0xc), EXC_GP, 0x50 },
		{ "conforming rpl3", S_DS, 0x53, mkdesc(0, 0xfffff, 0x9e, 0xc), -1, 0 },
		{ "not present", S_DS, 0x50, mkdesc(0, 0xfffff, 0x13, 0xc), EXC_NP, 0x50 },
		{ "ss data", S_SS, 0x50, mkdesc(0, 0xfffff, 0x93, 0xc), -1, 0 },
		{ "ss not present", S_SS, 0x50, mkdesc(0, 0xfffff, 0x13, 0xc), EXC_SS, 0x50 },
		{ "ss read-only", S_SS, 0x50, mkdesc(0, 0xfffff, 0x91, 0xc), EXC_GP, 0x50 },
		{ "ss dpl3", S_SS, 0x50, mkdesc(0, 0xfffff, 0xf3, 0xc), EXC_GP, 0x50 },
		{ "ss rpl3", S_SS, 0x53, mkdesc(0, 0xfffff, 0x93, 0xc), EXC_GP, 0x50 },
		{ "ss code", S_SS, 0x50, mkdesc(0, 0xfffff, 0x9b, 0xc), EXC_GP, 0x50 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct load_case *c = &cases[k];
		struct th *t = th_new(TH_PROT32);
		if (c->desc)
			gdt_set(t, c->sel >> 3, c->desc);
		char src[128];
		snprintf(src, sizeof(src), "mov ax, %u\n mov %s, ax", c->sel, c->sreg == S_SS ? "ss" : "ds");
		run(t, src);
		cr_assert_eq(t->exc_vector, c->vec, "%s: vector %d", c->what, t->exc_vector);
		if (c->vec >= 0) {
			cr_assert_eq(t->exc_error, c->err, "%s: error %#x", c->what, t->exc_error);
			cr_assert_eq(t->cpu->seg[c->sreg].sel, 0x10, "%s: register changed", c->what);
		} else {
			const struct seg *s = &t->cpu->seg[c->sreg];
			cr_assert_eq(s->sel, c->sel, "%s", c->what);
			if (c->desc) {
				cr_assert_eq(s->base, (uint32_t)((c->desc >> 16 & 0xffffff) | (c->desc >> 32 & 0xff000000)));
				cr_assert_eq(s->attr & 0xff, ((c->desc >> 40) & 0xff) | 1, "%s: attr %#x", c->what, s->attr);
				/* The accessed bit is set in the GDT. */
				cr_assert(th_read(t, GDT + (c->sel & ~7u) + 5, 1) & 1, "%s: accessed bit", c->what);
			} else {
				cr_assert(s->attr & AR_UNUSABLE, "%s: null is unusable", c->what);
			}
		}
		th_free(t);
	}
}

Test(seg, load_ldt_selector)
{
	struct th *t = th_new(TH_PROT32);
	gdt_set(t, 10, mkdesc(0x5000, 0x17, 0x82, 0));
	th_write(t, 0x5008, mkdesc(0xabc000, 0xffff, 0x93, 0), 8);
	run(t, "mov ax, 0x50\n lldt ax\n mov ax, 0x0c\n mov es, ax");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->ldtr.base, 0x5000);
	cr_assert_eq(t->cpu->ldtr.limit, 0x17);
	cr_assert_eq(t->cpu->seg[S_ES].base, 0xabc000);
	th_free(t);

	/* Beyond the LDT limit, and a null LDTR. */
	t = th_new(TH_PROT32);
	gdt_set(t, 10, mkdesc(0x5000, 0x17, 0x82, 0));
	run(t, "mov ax, 0x50\n lldt ax\n mov ax, 0x1c\n mov es, ax");
	expect_exc(t, EXC_GP, 0x1c);
	th_free(t);
	t = th_new(TH_PROT32);
	run(t, "xor eax, eax\n lldt ax\n mov ax, 0x0c\n mov es, ax");
	expect_exc(t, EXC_GP, 0x0c);
	th_free(t);
}

Test(seg, load_at_cpl3)
{
	struct th *t = th_new(TH_PROT32);
	to_user(t);
	gdt_set(t, 10, mkdesc(0, 0xfffff, 0x93, 0xc));	/* DPL 0 */
	run(t, "mov ax, 0x53\n mov ds, ax");
	expect_exc(t, EXC_GP, 0x50);
	th_free(t);
	t = th_new(TH_PROT32);
	to_user(t);
	run(t, "mov ax, 0x3b\n mov ss, ax\n mov ax, 0x38\n mov ss, ax");
	expect_exc(t, EXC_GP, 0x38);	/* RPL 0 != CPL 3 */
	th_free(t);
}

Test(seg, null_ss_64bit)
{
	struct th *t = th_new(TH_LONG64);
	run(t, "xor eax, eax\n mov ss, ax\n push rax\n pop rbx");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert(t->cpu->seg[S_SS].attr & AR_UNUSABLE);
	cr_assert_eq(t->cpu->cpl, 0);
	th_free(t);
	t = th_new(TH_LONG64);
	run(t, "mov eax, 3\n mov ss, ax");
	expect_exc(t, EXC_GP, 0);	/* RPL != CPL */
	th_free(t);
	t = th_new(TH_LONG64);
	to_user(t);
	run(t, "mov eax, 3\n mov ss, ax");
	expect_exc(t, EXC_GP, 0);	/* CPL 3 */
	th_free(t);
}

Test(seg, real_and_v86_loads)
{
	struct th *t = th_new(TH_REAL);
	t->cpu->seg[S_DS].limit = 0xffffffff;	/* big real mode survives loads */
	run(t, "mov ax, 0x1234\n mov ds, ax\n mov es, ax");
	cr_assert_eq(t->cpu->seg[S_DS].base, 0x12340);
	cr_assert_eq(t->cpu->seg[S_DS].sel, 0x1234);
	cr_assert_eq(t->cpu->seg[S_DS].limit, 0xffffffff);
	cr_assert_eq(t->cpu->seg[S_ES].limit, 0xffff);
	th_free(t);
}

Test(seg, mov_cs_ud_and_mov_from_sreg)
{
	struct th *t = th_new(TH_PROT32);
	static const uint8_t movcs[] = { 0x8e, 0xc8 };
	th_code(t, movcs, sizeof(movcs));
	th_run(t);
	expect_exc(t, EXC_UD, NO_ERROR_CODE);
	th_free(t);

	t = th_new(TH_PROT32);
	run(t, "mov eax, -1\n mov eax, ds\n mov ebx, -1\n mov bx, cs\n"
	       "mov dword [0x200000], -1\n mov [0x200000], ss");
	cr_assert_eq(t->cpu->regs[R_AX], 0x10);
	cr_assert_eq(t->cpu->regs[R_BX], 0xffff0008);
	cr_assert_eq(th_read(t, 0x200000, 4), 0xffff0010);
	th_free(t);

	t = th_new(TH_LONG64);
	run(t, "mov rax, -1\n mov rax, cs");
	cr_assert_eq(t->cpu->regs[R_AX], 0x18);
	th_free(t);
}

Test(seg, push_pop_sreg)
{
	struct th *t = th_new(TH_PROT32);
	th_write(t, TH_STACK - 4, 0xaaaaaaaa, 4);
	th_write(t, TH_STACK - 6, 0xbbbb, 2);
	run(t, "push ds\n mov ecx, [esp]\n o16 push es\n mov word [esp], 0x28\n o16 pop gs\n mov dword [esp], 0x28\n pop fs");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_CX], 0xaaaa0010, "32-bit push writes 16 bits");
	cr_assert_eq(t->cpu->seg[S_GS].sel, 0x28);
	cr_assert_eq(t->cpu->seg[S_FS].sel, 0x28);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK);
	th_free(t);

	/* A faulting POP leaves ESP alone. */
	t = th_new(TH_PROT32);
	run(t, "push dword 0x13\n pop ss");
	expect_exc(t, EXC_GP, 0x10);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK - 4);
	cr_assert_eq(t->cpu->seg[S_SS].sel, 0x10);
	th_free(t);

	t = th_new(TH_LONG64);
	run(t, "push fs\n mov rbx, rsp\n push qword 0x2b\n pop gs");
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0x28);	/* DPL 0 data, RPL 3 */
	cr_assert_eq(t->cpu->regs[R_BX], TH_STACK - 8);
	th_free(t);

	t = th_new(TH_REAL);
	run(t, "push cs\n pop ax\n push word 0x2000\n pop ds");
	cr_assert_eq(t->cpu->regs[R_AX] & 0xffff, 0xffff);
	cr_assert_eq(t->cpu->seg[S_DS].base, 0x20000);
	th_free(t);
}

Test(seg, load_far_pointer)
{
	struct th *t = th_new(TH_PROT32);
	run(t, "lds esi, [p]\n lss esp, [q]\n lfs di, [r]\n hlt\n"
	       "p: dd 0x12345678\n dw 0x28\n q: dd 0x9000\n dw 0x10\n r: dw 0x4321\n dw 0x28");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_SI], 0x12345678);
	cr_assert_eq(t->cpu->seg[S_DS].sel, 0x28);
	cr_assert_eq(t->cpu->regs[R_SP], 0x9000);
	cr_assert_eq(t->cpu->regs[R_DI] & 0xffff, 0x4321);
	cr_assert_eq(t->cpu->seg[S_FS].sel, 0x28);
	th_free(t);

	t = th_new(TH_LONG64);
	run(t, "lgs rax, [rel p]\n hlt\n p: dq 0x1122334455667788\n dw 0x10");
	cr_assert_eq(t->cpu->regs[R_AX], 0x1122334455667788ull);
	cr_assert_eq(t->cpu->seg[S_GS].sel, 0x10);
	th_free(t);

	/* A faulting load leaves the destination register alone. */
	t = th_new(TH_PROT32);
	t->cpu->regs[R_SI] = 7;
	run(t, "les esi, [p]\n hlt\n p: dd 0x12345678\n dw 0x13");
	expect_exc(t, EXC_GP, 0x10);
	cr_assert_eq(t->cpu->regs[R_SI], 7);
	th_free(t);
}

/* ---- LAR / LSL / VERR / VERW / ARPL ------------------------------------ */

struct lar_case {
	const char *what;
	enum th_mode mode;
	uint16_t sel;
	uint64_t desc;
	bool lar_ok, lsl_ok, verr, verw;
	uint32_t lar, lsl;
};

Test(seg, lar_lsl_verr_verw)
{
	static const struct lar_case cases[] = {
		{ "rw data", TH_PROT32, 0x50, mkdesc(0, 0xfffff, 0x93, 0xc), 1, 1, 1, 1, 0x00c09300, 0xffffffff },
		{ "ro data", TH_PROT32, 0x50, mkdesc(0, 0x1234, 0x91, 0x4), 1, 1, 1, 0, 0x00409100, 0x1234 },
		{ "xo code", TH_PROT32, 0x50, mkdesc(0, 0xfff, 0x99, 0x4), 1, 1, 0, 0, 0x00409900, 0xfff },
		{ "rx code", TH_PROT32, 0x50, mkdesc(0, 0xfff, 0x9b, 0x4), 1, 1, 1, 0, 0x00409b00, 0xfff },
		{ "null", TH_PROT32, 0x0, 0, 0, 0, 0, 0, 0, 0 },
		{ "beyond limit", TH_PROT32, 0x1008, 0, 0, 0, 0, 0, 0, 0 },
		{ "dpl0 rpl3", TH_PROT32, 0x53, mkdesc(0, 0xfff, 0x93, 0x4), 0, 0, 0, 0, 0, 0 },
		{ "conforming rpl3", TH_PROT32, 0x53, mkdesc(0, 0xfff, 0x9f, 0x4), 1, 1, 1, 0, 0x00409f00, 0xfff },
		{ "ldt", TH_PROT32, 0x50, mkdesc(0x5000, 0x17, 0x82, 0), 1, 1, 0, 0, 0x00008200, 0x17 },
		{ "tss32", TH_PROT32, 0x50, mkdesc(0x5000, 0x67, 0x89, 0), 1, 1, 0, 0, 0x00008900, 0x67 },
		{ "tss16", TH_PROT32, 0x50, mkdesc(0x5000, 0x2b, 0x81, 0), 1, 1, 0, 0, 0x00008100, 0x2b },
		{ "call gate", TH_PROT32, 0x50, mkgate(8, 0x1000, 0x8c, 0), 1, 0, 0, 0, 0x00008c00, 0 },
		{ "task gate", TH_PROT32, 0x50, mkgate(8, 0, 0x85, 0), 1, 0, 0, 0, 0x00008500, 0 },
		{ "int gate", TH_PROT32, 0x50, mkgate(8, 0x1000, 0x8e, 0), 0, 0, 0, 0, 0, 0 },
		{ "reserved type", TH_PROT32, 0x50, mkdesc(0, 0xfff, 0x88, 0), 0, 0, 0, 0, 0, 0 },
		{ "tss16 in ia32e", TH_LONG64, 0x50, mkdesc(0x5000, 0x2b, 0x81, 0), 0, 0, 0, 0, 0, 0 },
		{ "tss64", TH_LONG64, 0x50, mkdesc(0x5000, 0x67, 0x89, 0), 1, 1, 0, 0, 0x00008900, 0x67 },
		{ "task gate in ia32e", TH_LONG64, 0x50, mkgate(8, 0, 0x85, 0), 0, 0, 0, 0, 0, 0 },
		{ "code64", TH_LONG64, 0x18, 0, 1, 1, 1, 0, 0x00a09b00, 0xffffffff },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct lar_case *c = &cases[k];
		struct th *t = th_new(c->mode);
		if (c->desc)
			gdt_set(t, c->sel >> 3, c->desc);
		t->cpu->regs[R_BX] = c->sel;
		/* ZF from each instruction goes to a bit of EDI; CF must survive. */
		run(t, "mov eax, 0xdeadbeef\n mov ecx, 0xdeadbeef\n xor edi, edi\n mov esi, 0xdeadbeef\n xor edx, edx\n stc\n"
		       "lar eax, bx\n setc byte [0x200000]\n setz dl\n or edi, edx\n lsl ecx, bx\n setz dl\n shl dl, 1\n or edi, edx\n"
		       "verr bx\n setz dl\n shl dl, 2\n or edi, edx\n verw bx\n setz dl\n shl dl, 3\n or edi, edx\n"
		       "lar si, bx");
		cr_assert_eq(t->exc_vector, -1, "%s", c->what);
		uint64_t z = t->cpu->regs[R_DI];
		cr_assert_eq(z & 1, c->lar_ok, "%s: LAR ZF", c->what);
		cr_assert_eq((z >> 1) & 1, c->lsl_ok, "%s: LSL ZF", c->what);
		cr_assert_eq((z >> 2) & 1, c->verr, "%s: VERR ZF", c->what);
		cr_assert_eq((z >> 3) & 1, c->verw, "%s: VERW ZF", c->what);
		cr_assert_eq(th_read(t, 0x200000, 1), 1, "%s: CF changed", c->what);
		cr_assert_eq(t->cpu->regs[R_AX], c->lar_ok ? c->lar : 0xdeadbeef, "%s: LAR %#llx", c->what,
			     (unsigned long long)t->cpu->regs[R_AX]);
		cr_assert_eq(t->cpu->regs[R_CX], c->lsl_ok ? c->lsl : 0xdeadbeef, "%s: LSL", c->what);
		cr_assert_eq(t->cpu->regs[R_SI], c->lar_ok ? (0xdead0000 | (c->lar & 0xff00)) : 0xdeadbeef,
			     "%s: 16-bit LAR", c->what);
		th_free(t);
	}
}

Test(seg, lar_ud_in_real_mode)
{
	struct th *t = th_new(TH_REAL);
	run(t, "lar ax, bx");
	expect_exc(t, EXC_UD, NO_ERROR_CODE);
	th_free(t);
}

Test(seg, arpl)
{
	struct th *t = th_new(TH_PROT32);
	run(t, "mov ax, 0x10\n mov bx, 0x3\n arpl ax, bx\n setz cl\n"
	       "mov dx, 0x13\n arpl dx, ax\n setz ch\n"
	       "mov word [0x200000], 0x21\n arpl [0x200000], bx\n setz bl");
	cr_assert_eq(t->cpu->regs[R_AX] & 0xffff, 0x13);
	cr_assert_eq(t->cpu->regs[R_CX] & 0xffff, 0x0001);
	cr_assert_eq(t->cpu->regs[R_DX] & 0xffff, 0x13);
	cr_assert_eq(th_read(t, 0x200000, 2), 0x23);
	cr_assert_eq(t->cpu->regs[R_BX] & 0xff, 1);
	th_free(t);
	t = th_new(TH_REAL);
	run(t, "arpl ax, bx");
	expect_exc(t, EXC_UD, NO_ERROR_CODE);
	th_free(t);
}

/* ---- Descriptor-table registers ----------------------------------------- */

Test(seg, sgdt_sidt_lgdt_lidt)
{
	struct th *t = th_new(TH_PROT32);
	run(t, "sgdt [0x200000]\n sidt [0x200010]\n lgdt [g]\n o16 lidt [i]\n hlt\n"
	       "g: dw 0x1ff\n dd 0x00001000\n i: dw 0x7ff\n dd 0x12345678");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(th_read(t, 0x200000, 2), 0xfff);
	cr_assert_eq(th_read(t, 0x200002, 4), 0x1000);
	cr_assert_eq(th_read(t, 0x200010, 2), 0xfff);
	cr_assert_eq(th_read(t, 0x200012, 4), 0x2000);
	cr_assert_eq(t->cpu->gdtr.limit, 0x1ff);
	cr_assert_eq(t->cpu->idtr.base, 0x345678, "16-bit operand size keeps 24 bits");
	cr_assert_eq(t->cpu->idtr.limit, 0x7ff);
	th_free(t);

	t = th_new(TH_LONG64);
	run(t, "sgdt [0x200000]\n lidt [rel i]\n hlt\n i: dw 0xfff\n dq 0xffff800000002000");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(th_read(t, 0x200002, 8), 0x1000);
	cr_assert_eq(t->cpu->idtr.base, 0xffff800000002000ull);
	th_free(t);

	t = th_new(TH_LONG64);
	run(t, "lgdt [rel i]\n hlt\n i: dw 0xfff\n dq 0x0000800000002000");
	expect_exc(t, EXC_GP, 0);
	cr_assert_eq(t->cpu->gdtr.base, 0x1000);
	th_free(t);
}

Test(seg, privileged_and_umip)
{
	static const char *const priv[] = { "lgdt [0x200000]", "lidt [0x200000]", "lldt ax", "ltr ax" };
	for (unsigned k = 0; k < 4; k++) {
		struct th *t = th_new(TH_PROT32);
		to_user(t);
		run(t, priv[k]);
		expect_exc(t, EXC_GP, 0);
		th_free(t);
	}
	static const char *const umip[] = { "sgdt [0x200000]", "sidt [0x200000]", "sldt ax", "str ax" };
	for (unsigned k = 0; k < 4; k++) {
		struct th *t = th_new(TH_PROT32);
		to_user(t);
		run(t, umip[k]);
		cr_assert_eq(t->exc_vector, EXC_GP, "%s without UMIP at CPL 3 halts", umip[k]);
		cr_assert_eq(t->cpu->rip, TH_CODE + t->code_len, "%s ran", umip[k]);
		th_free(t);
		t = th_new(TH_PROT32);
		to_user(t);
		t->cpu->cr4 |= CR4_UMIP;
		run(t, umip[k]);
		expect_exc(t, EXC_GP, 0);
		cr_assert_eq(t->cpu->rip, TH_CODE, "%s faulted", umip[k]);
		th_free(t);
	}
	struct th *t = th_new(TH_PROT32);
	t->cpu->cr4 |= CR4_UMIP;
	run(t, "sgdt [0x200000]\n str eax");
	cr_assert_eq(t->exc_vector, -1, "UMIP does not affect CPL 0");
	th_free(t);
}

Test(seg, ltr_lldt)
{
	struct th *t = th_new(TH_PROT32);
	gdt_set(t, 10, mkdesc(TSS, 0x67, 0x89, 0));
	gdt_set(t, 11, mkdesc(0x5000, 0x2f, 0x82, 0));
	run(t, "mov ax, 0x50\n ltr ax\n mov ax, 0x58\n lldt ax\n mov eax, -1\n str eax\n sldt bx\n"
	       "mov ecx, -1\n o16 sldt cx");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->tr.sel, 0x50);
	cr_assert_eq(t->cpu->tr.base, TSS);
	cr_assert_eq(t->cpu->tr.attr & 0xf, 0xb, "TR is busy");
	cr_assert_eq(th_read(t, GDT + 0x50 + 5, 1), 0x8b, "busy bit set in the GDT");
	cr_assert_eq(t->cpu->ldtr.base, 0x5000);
	cr_assert_eq(t->cpu->regs[R_AX], 0x50, "STR r32 zero-extends");
	cr_assert_eq(t->cpu->regs[R_BX] & 0xffff, 0x58);
	cr_assert_eq(t->cpu->regs[R_CX], 0xffff0058);
	th_free(t);

	struct {
		const char *src;
		uint64_t desc;
		int vec;
		uint32_t err;
	} bad[] = {
		{ "mov ax, 0x50\n ltr ax", mkdesc(TSS, 0x67, 0x8b, 0), EXC_GP, 0x50 },	/* busy */
		{ "mov ax, 0x50\n ltr ax", mkdesc(TSS, 0x67, 0x09, 0), EXC_NP, 0x50 },
		{ "mov ax, 0x50\n ltr ax", mkdesc(TSS, 0x67, 0x93, 0), EXC_GP, 0x50 },
		{ "mov ax, 0x54\n ltr ax", mkdesc(TSS, 0x67, 0x89, 0), EXC_GP, 0x54 },	/* TI */
		{ "xor eax, eax\n ltr ax", 0, EXC_GP, 0 },
		{ "mov ax, 0x50\n lldt ax", mkdesc(TSS, 0x67, 0x89, 0), EXC_GP, 0x50 },
		{ "mov ax, 0x50\n lldt ax", mkdesc(TSS, 0x67, 0x02, 0), EXC_NP, 0x50 },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		t = th_new(TH_PROT32);
		gdt_set(t, 10, bad[k].desc);
		run(t, bad[k].src);
		cr_assert_eq(t->exc_vector, bad[k].vec, "case %u", k);
		cr_assert_eq(t->exc_error, bad[k].err, "case %u: %#x", k, t->exc_error);
		th_free(t);
	}

	/* IA-32e: 16-byte descriptors with the upper base. */
	t = th_new(TH_LONG64);
	gdt_set(t, 10, mkdesc(0x3000, 0x67, 0x89, 0));
	gdt_set(t, 11, 0xffff8000);
	run(t, "mov ax, 0x50\n ltr ax");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->tr.base, 0xffff800000003000ull);
	th_free(t);
}

/* ---- Far JMP / CALL / RET --------------------------------------------- */

Test(seg, far_real_mode)
{
	struct th *t = th_new(TH_REAL);
	run(t, "call 0xffff:f\n mov bx, 1\n hlt\n f: mov ax, 5\n mov cx, sp\n retf");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX] & 0xffff, 5);
	cr_assert_eq(t->cpu->regs[R_BX] & 0xffff, 1);
	cr_assert_eq(t->cpu->regs[R_CX] & 0xffff, 0xfffa);
	cr_assert_eq(t->cpu->regs[R_SP] & 0xffff, 0xfffe);
	th_free(t);

	t = th_new(TH_REAL);
	th_asm(t, "jmp 0xf000:0x1234");
	th_run_n(t, 1);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0xf000);
	cr_assert_eq(t->cpu->seg[S_CS].base, 0xf0000);
	cr_assert_eq(t->cpu->rip, 0x1234);
	th_free(t);

	t = th_new(TH_REAL);
	run(t, "push word 0xffff\n push word f\n retf 0\n hlt\n f: mov ax, 9");
	cr_assert_eq(t->cpu->regs[R_AX] & 0xffff, 9);
	th_free(t);
}

Test(seg, far_direct_protected)
{
	struct th *t = th_new(TH_PROT32);
	run(t, "call 0x08:f\n mov ebx, 1\n hlt\n f: mov eax, [esp]\n mov ecx, [esp+4]\n retf");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX], TH_CODE + 7);
	cr_assert_eq(t->cpu->regs[R_CX], 0x08);
	cr_assert_eq(t->cpu->regs[R_BX], 1);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK);
	th_free(t);

	struct {
		const char *what;
		uint64_t desc;
		uint16_t sel;
		bool user;
		int vec;
		uint32_t err;
	} cases[] = {
		{ "data", mkdesc(0, 0xfffff, 0x93, 0xc), 0x50, 0, EXC_GP, 0x50 },
		{ "not present", mkdesc(0, 0xfffff, 0x1b, 0xc), 0x50, 0, EXC_NP, 0x50 },
		{ "nonconforming dpl3 at cpl0", mkdesc(0, 0xfffff, 0xfb, 0xc), 0x53, 0, EXC_GP, 0x50 },
		{ "rpl > cpl", mkdesc(0, 0xfffff, 0x9b, 0xc), 0x53, 0, EXC_GP, 0x50 },
		{ "conforming dpl0 from cpl3", mkdesc(0, 0xfffff, 0x9f, 0xc), 0x50, 1, -1, 0 },
		{ "conforming dpl3 from cpl0", mkdesc(0, 0xfffff, 0xff, 0xc), 0x50, 0, EXC_GP, 0x50 },
		{ "limit", mkdesc(0, 0xff, 0x9b, 0x4), 0x50, 0, EXC_GP, 0 },
		{ "null", 0, 0, 0, EXC_GP, 0 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		t = th_new(TH_PROT32);
		if (cases[k].desc)
			gdt_set(t, 10, cases[k].desc);
		if (cases[k].user)
			to_user(t);
		char src[64];
		snprintf(src, sizeof(src), "jmp 0x%x:n\n n: nop", cases[k].sel);
		th_asm(t, src);
		th_run_n(t, 1);
		cr_assert_eq(t->exc_vector, cases[k].vec, "%s: vector %d", cases[k].what, t->exc_vector);
		if (cases[k].vec >= 0) {
			cr_assert_eq(t->exc_error, cases[k].err, "%s: error %#x", cases[k].what, t->exc_error);
		} else {
			cr_assert_eq(t->cpu->seg[S_CS].sel, cases[k].sel | 3, "%s: RPL = CPL", cases[k].what);
			cr_assert_eq(t->cpu->cpl, 3);
		}
		th_free(t);
	}
}

/* Sets up a 32-bit TSS at TSS with ESP0/SS0 and makes it the current task. */
static void setup_tss32(struct th *t, uint32_t esp0, uint16_t ss0)
{
	th_write(t, TSS + 4, esp0, 4);
	th_write(t, TSS + 8, ss0, 4);
	th_write(t, TSS + 0x66, 0x68, 2);
	gdt_set(t, 9, mkdesc(TSS, 0x67, 0x8b, 0));
	t->cpu->tr = (struct seg){ .sel = 0x48, .base = TSS, .limit = 0x67, .attr = AR_P | 0xb };
}

Test(seg, call_gate_inner_privilege)
{
	struct th *t = th_new(TH_PROT32);
	setup_tss32(t, 0x90000, 0x10);
	to_user(t);
	force_seg(t, S_DS, 0x10, 0x00cf93000000ffffull);	/* DPL 0: nulled on return */
	/* 32-bit call gate, DPL 3, two parameters, to 0x08:handler. */
	th_asm(t, "push dword 0x1111\n push dword 0x2222\n call 0x53:0\n mov ebx, 1\n hlt\n"
		  "times 0x40-($-$$) nop\n handler: mov esi, esp\n mov di, ss\n mov ebp, cs\n retf 8");
	uint32_t handler = (uint32_t)(TH_CODE + 0x40);
	gdt_set(t, 10, mkgate(0x08, handler, 0xec, 2));
	th_run(t);
	/* HLT at CPL 3 ends the run with #GP(0). */
	expect_exc(t, EXC_GP, 0);
	cr_assert_eq(t->cpu->rip, TH_CODE + 22);
	cr_assert_eq(t->cpu->regs[R_BX], 1);
	cr_assert_eq(t->cpu->regs[R_SI], 0x90000 - 24);
	cr_assert_eq(t->cpu->regs[R_DI] & 0xffff, 0x10);
	cr_assert_eq(t->cpu->regs[R_BP], 0x08);
	uint32_t f[6];
	th_peek(t, 0x90000 - 24, f, sizeof(f));
	cr_assert_eq(f[0], TH_CODE + 17, "return EIP");
	cr_assert_eq(f[1], 0x33);
	cr_assert_eq(f[2], 0x2222, "parameters keep their order");
	cr_assert_eq(f[3], 0x1111);
	cr_assert_eq(f[4], TH_STACK - 8, "old ESP");
	cr_assert_eq(f[5], 0x3b, "old SS");
	/* Back at CPL 3 with the caller's stack, parameters released. */
	cr_assert_eq(t->cpu->cpl, 3);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0x33);
	cr_assert_eq(t->cpu->seg[S_SS].sel, 0x3b);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK);
	cr_assert_eq(t->cpu->seg[S_DS].sel, 0, "DPL 0 data segment nulled");
	cr_assert(t->cpu->seg[S_DS].attr & AR_UNUSABLE);
	cr_assert_eq(t->cpu->seg[S_ES].sel, 0x3b, "DPL 3 data segment kept");
	th_free(t);
}

Test(seg, call_gate_checks)
{
	struct {
		const char *what;
		uint64_t gate;
		uint64_t code;	/* GDT slot 11 */
		int vec;
		uint32_t err;
	} cases[] = {
		{ "gate dpl < cpl", mkgate(0x08, 0, 0x8c, 0), 0, EXC_GP, 0x50 },
		{ "gate not present", mkgate(0x08, 0, 0x6c, 0), 0, EXC_NP, 0x50 },
		{ "null code selector", mkgate(0x00, 0, 0xec, 0), 0, EXC_GP, 0 },
		{ "code is data", mkgate(0x58, 0, 0xec, 0), mkdesc(0, 0xfffff, 0x93, 0xc), EXC_GP, 0x58 },
		{ "code not present", mkgate(0x58, 0, 0xec, 0), mkdesc(0, 0xfffff, 0x1b, 0xc), EXC_NP, 0x58 },
		{ "ss0 null", mkgate(0x08, 0, 0xec, 0), 0, EXC_TS, 0 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = th_new(TH_PROT32);
		setup_tss32(t, 0x90000, k == 5 ? 0 : 0x10);
		to_user(t);
		gdt_set(t, 10, cases[k].gate);
		if (cases[k].code)
			gdt_set(t, 11, cases[k].code);
		run(t, "call 0x53:0");
		cr_assert_eq(t->exc_vector, cases[k].vec, "%s: vector %d", cases[k].what, t->exc_vector);
		cr_assert_eq(t->exc_error, cases[k].err, "%s: error %#x", cases[k].what, t->exc_error);
		cr_assert_eq(t->cpu->rip, TH_CODE, "%s: faulted at the CALL", cases[k].what);
		cr_assert_eq(t->cpu->regs[R_SP], TH_STACK);
		cr_assert_eq(t->cpu->cpl, 3);
		th_free(t);
	}
}

Test(seg, jmp_call_gate_same_privilege)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "jmp 0x50:0\n hlt\n target: mov eax, 7");
	gdt_set(t, 10, mkgate(0x08, (uint32_t)TH_CODE + 8, 0x8c, 0));
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX], 7);
	th_free(t);

	/* 16-bit gate: pushes 16-bit CS:IP. */
	t = th_new(TH_PROT32);
	th_asm(t, "call 0x50:0\n hlt\n target: mov eax, [esp]\n o16 retf");
	gdt_set(t, 11, mkdesc((uint32_t)TH_CODE, 0xfffff, 0x9b, 0xc));
	gdt_set(t, 10, mkgate(0x58, 8, 0x84, 0));
	th_run_n(t, 2);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0x58);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK - 4);
	cr_assert_eq(t->cpu->regs[R_AX], 0x00080007);
	th_free(t);
}

Test(seg, call_gate_64)
{
	struct th *t = th_new(TH_LONG64);
	th_write(t, TSS + 4, 0x90000, 8);	/* RSP0 */
	gdt_set(t, 9, mkdesc(TSS, 0x67, 0x8b, 0));
	gdt_set(t, 10, 0);
	t->cpu->tr = (struct seg){ .sel = 0x48, .base = TSS, .limit = 0x67, .attr = AR_P | 0xb };
	to_user(t);
	th_asm(t, "call far [rel p]\n mov ebx, 1\n hlt\n times 0x40-($-$$) nop\n"
		  "handler: mov rsi, rsp\n mov di, ss\n o64 retf\n p: dq 0\n dw 0x5b");
	uint64_t handler = TH_CODE + 0x40;
	/* 64-bit call gate at 0x58 (16 bytes), DPL 3, to 0x18:handler. */
	gdt_set(t, 11, mkgate(0x18, (uint32_t)handler, 0xec, 0));
	gdt_set(t, 12, handler >> 32);
	th_run(t);
	expect_exc(t, EXC_GP, 0);	/* HLT at CPL 3 */
	cr_assert_eq(t->cpu->regs[R_BX], 1, "rip %llx rsi %llx cpl %d", (unsigned long long)t->cpu->rip,
		     (unsigned long long)t->cpu->regs[R_SI], t->cpu->cpl);
	cr_assert_eq(t->cpu->regs[R_SI], 0x90000 - 32);
	cr_assert_eq(t->cpu->regs[R_DI] & 0xffff, 0, "SS is null");
	uint64_t f[4];
	th_peek(t, 0x90000 - 32, f, sizeof(f));
	cr_assert_eq(f[0], TH_CODE + 7, "after the REX.W far call");
	cr_assert_eq(f[1], 0x43);
	cr_assert_eq(f[2], TH_STACK);
	cr_assert_eq(f[3], 0x3b);
	cr_assert_eq(t->cpu->seg[S_SS].sel, 0x3b);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK);
	cr_assert_eq(t->cpu->cpl, 3);
	th_free(t);
}

Test(seg, retf_outer_checks)
{
	/* RETF to CPL 3 with an SS whose RPL differs from the new CPL. */
	struct th *t = th_new(TH_PROT32);
	run(t, "push dword 0x38\n push dword 0x1000\n push dword 0x33\n push dword 0x2000\n retf");
	expect_exc(t, EXC_GP, 0x38);
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK - 16);
	th_free(t);
	t = th_new(TH_PROT32);
	run(t, "push dword 0x3b\n push dword 0x1000\n push dword 0x30\n push dword 0x2000\n retf");
	expect_exc(t, EXC_GP, 0x30);	/* DPL 3 code with RPL 0 */
	th_free(t);
	t = th_new(TH_PROT32);
	to_user(t);
	run(t, "push dword 0x08\n push dword 0x2000\n retf");
	expect_exc(t, EXC_GP, 0x08);	/* RPL < CPL */
	th_free(t);
	t = th_new(TH_PROT32);
	th_asm(t, "push dword 0x3b\n push dword 0x1234\n sub esp, 16\n push dword 0x33\n push dword 0x2000\n retf 0x10");
	th_run_n(t, 6);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->cpl, 3);
	cr_assert_eq(t->cpu->regs[R_SP], 0x1244);
	cr_assert_eq(t->cpu->rip, 0x2000);
	th_free(t);
}
