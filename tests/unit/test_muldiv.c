/*
 * test_muldiv.c - MUL/IMUL (1, 2, 3 operands), DIV/IDIV and MULX in each
 * size: results, CF/OF and the flags nestemu documents for the Intel
 * model the harness uses; #DE for zero divisors and quotient overflow
 * with nothing written.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"

#include "rows.h"

static const struct row muldiv_rows[] = {
	/* MUL/IMUL: Intel model: SF/ZF/PF from the low half, AF = 0 */
	{ "mul bl", { 0x80, 2, 0, 0 }, 0, { 0x0100, SAME, SAME, SAME }, F_CF | F_OF | F_ZF | F_PF },
	{ "mul bl", { 0x1203, 5, 0, 0 }, ALL6, { 0x000f, SAME, SAME, SAME }, F_PF },
	{ "mul bx", { 0xffff, 0xffff, 0, 0x1234 }, 0, { 0x0001, SAME, SAME, 0xfffe }, F_CF | F_OF },
	{ "mul ebx", { 0xffffffff, 2, 0, 0 }, 0, { 0xfffffffe, SAME, SAME, 1 }, F_CF | F_OF | F_SF },
	{ "mul rbx", { ~0ull, ~0ull, 0, 0 }, 0, { 1, SAME, SAME, ~0ull - 1 }, F_CF | F_OF },
	{ "mul ecx", { 0xffffffff00000003ull, 0, 5, ~0ull }, 0, { 15, SAME, SAME, 0 }, F_PF },
	{ "imul bl", { 0xff, 2, 0, 0 }, 0, { 0xfffe, SAME, SAME, SAME }, F_SF },
	{ "imul bl", { 0x40, 2, 0, 0 }, 0, { 0x0080, SAME, SAME, SAME }, F_CF | F_OF | F_SF },
	{ "imul rbx", { ~0ull, ~0ull, 0, 5 }, 0, { 1, SAME, SAME, 0 }, 0 },
	{ "imul ebx", { 0x80000000, 0x80000000, 0, 0 }, 0, { 0, SAME, SAME, 0x40000000 }, F_CF | F_OF | F_ZF | F_PF },
	{ "imul cx", { 0xfffe, 0, 3, 0 }, 0, { 0xfffa, SAME, SAME, 0xffff }, F_SF | F_PF },
	{ "imul eax, ebx, 3", { 0, 0x40000000, 0, 0 }, 0, { 0xc0000000, SAME, SAME, SAME }, F_CF | F_OF | F_SF | F_PF },
	{ "imul ax, bx", { 0x100, 0x100, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_OF | F_ZF | F_PF },
	{ "imul rax, rbx", { 0x100000000ull, 0x7fffffff, 0, 0 }, 0, { 0x7fffffff00000000ull, SAME, SAME, SAME }, F_PF },
	{ "imul rax, rbx, -1", { 0, 0x8000000000000000ull, 0, 0 }, 0, { 0x8000000000000000ull, SAME, SAME, SAME },
	  F_CF | F_OF | F_SF | F_PF },
	{ "imul ecx, ebx, 0x10", { 0, 0x1000000, ~0ull, 0 }, 0, { SAME, SAME, 0x10000000, SAME }, F_PF },
	{ "imul cx, bx, -2", { 0, 0x4000, 0x12340000, 0 }, 0, { SAME, SAME, 0x12348000, SAME }, F_SF | F_PF },
	{ "imul cx, bx, -2", { 0, 0x4001, 0, 0 }, 0, { SAME, SAME, 0x7ffe, SAME }, F_CF | F_OF },
	/* DIV/IDIV: Intel model leaves the flags */
	{ "div bl", { 0x0100, 3, 0, 0 }, ALL6, { 0x0155, SAME, SAME, SAME }, ALL6 },
	{ "div bx", { 0xffff, 0x100, 0, 0xff }, 0, { 0xffff, SAME, SAME, 0xff }, 0 },
	{ "div ecx", { 0xffffffff00000007ull, 0, 2, 0xffffffff00000000ull }, 0, { 3, SAME, SAME, 1 }, 0 },
	{ "div rbx", { 0, 2, 0, 1 }, 0, { 0x8000000000000000ull, SAME, SAME, 0 }, 0 },
	{ "div rbx", { ~0ull, ~0ull, 0, ~0ull - 1 }, F_ZF, { ~0ull, SAME, SAME, ~0ull - 1 }, F_ZF },
	{ "idiv ecx", { 0xfffffff9, 0, 2, 0xffffffff }, 0, { 0xfffffffd, SAME, SAME, 0xffffffff }, 0 },
	{ "idiv bl", { 0xff80, 1, 0, 0 }, 0, { 0x0080, SAME, SAME, SAME }, 0 },
	{ "idiv bl", { 0x0007, 0xfe, 0, 0 }, 0, { 0x01fd, SAME, SAME, SAME }, 0 },
	{ "idiv rbx", { 0x8000000000000000ull, 1, 0, ~0ull }, 0, { 0x8000000000000000ull, SAME, SAME, 0 }, 0 },
	{ "idiv rbx", { 0x8000000000000000ull, ~0ull, 0, 0 }, 0, { 0x8000000000000000ull, SAME, SAME, 0 }, 0 },
	{ "idiv bx", { 0x8000, 1, 0, 0xffffffffffffffffull }, 0, { 0x8000, SAME, SAME, 0xffffffffffff0000ull }, 0 },
	/* MULX: no flags; high half wins when both destinations are one register */
	{ "mulx rcx, rbx, rax", { 2, 0, 0, ~0ull }, ALL6, { SAME, ~0ull - 1, 1, SAME }, ALL6 },
	{ "mulx ecx, ebx, eax", { 0x80000000, ~0ull, ~0ull, 4 }, 0, { SAME, 0, 2, SAME }, 0 },
	{ "mulx rcx, rcx, rax", { 3, 0, 0, 0x8000000000000000ull }, 0, { SAME, SAME, 1, SAME }, 0 },
};

Test(muldiv, table)
{
	run_rows(TH_LONG64, muldiv_rows, NROWS(muldiv_rows));
}

Test(muldiv, memory_forms)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mul dword [rdi]\nmov ebx, eax\nmov eax, 100\nxor edx, edx\ndiv word [rdi+8]\n"
		  "imul rcx, [rdi+16], -3\nimul esi, [rdi]");
	th_write(t, TH_DATA, 0x10, 4);
	th_write(t, TH_DATA + 8, 7, 2);
	th_write(t, TH_DATA + 16, 5, 8);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = 0x10000001;
	t->cpu->regs[R_SI] = 3;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_BX], 0x10);	/* 0x100000010 low half */
	cr_expect_eq(t->cpu->regs[R_AX], 14);
	cr_expect_eq(t->cpu->regs[R_DX], 2);
	cr_expect_eq(t->cpu->regs[R_CX], (uint64_t)-15);
	cr_expect_eq(t->cpu->regs[R_SI], 0x30);
	th_free(t);
}

struct de_case {
	const char *src;
	uint64_t rax, rbx, rdx;
};

/* #DE: nothing written, RIP at the instruction. */
Test(muldiv, divide_error)
{
	static const struct de_case cases[] = {
		{ "div bl", 0x1234, 0, 0 },
		{ "div bl", 0x0300, 3, 0 },
		{ "div bx", 0, 0, 0 },
		{ "div ebx", 0, 1, 1 },
		{ "div rbx", 5, 7, 7 },
		{ "div rbx", 0, 0, 0 },
		{ "idiv bl", 0x8000, 0xff, 0 },			/* -32768 / -1 */
		{ "idiv bl", 0x0080, 1, 0 },			/* +128 */
		{ "idiv cx", 0x8000, 0, 0 },			/* cx = 0 */
		{ "idiv bx", 0x8000, 1, 0 },			/* 32768 / 1 */
		{ "idiv ebx", 0, 0xffffffff, 0x80000000 },	/* -2^63 / -1 */
		{ "idiv rbx", 0, ~0ull, 0x8000000000000000ull },	/* -2^127 / -1 */
		{ "idiv rbx", 0, 2, 0x4000000000000000ull },
		{ "idiv rbx", 0, 0, 0 },
		{ "div byte [rsi]", 0x10, 0, 0 },		/* zero divisor in memory */
	};
	for (size_t k = 0; k < NROWS(cases); k++) {
		struct th *t = th_new(TH_LONG64);
		char src[64];
		snprintf(src, sizeof(src), "nop\n%s", cases[k].src);
		th_asm(t, src);
		th_write(t, TH_DATA, 0, 8);
		t->cpu->regs[R_SI] = TH_DATA;
		t->cpu->regs[R_AX] = cases[k].rax;
		t->cpu->regs[R_BX] = cases[k].rbx;
		t->cpu->regs[R_DX] = cases[k].rdx;
		t->cpu->regs[R_CX] = 0;
		flags_set_arith(t->cpu, F_SF | F_CF);
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_DE, "%s", cases[k].src);
		cr_expect_eq(t->cpu->rip, TH_CODE + 1, "%s", cases[k].src);
		cr_expect_eq(t->cpu->regs[R_AX], cases[k].rax, "%s", cases[k].src);
		cr_expect_eq(t->cpu->regs[R_DX], cases[k].rdx, "%s", cases[k].src);
		cr_expect_eq(th_flags(t) & FL_ARITH, F_SF | F_CF, "%s", cases[k].src);
		th_free(t);
	}
}

/* The AMD model's documented flags (what AMD processors produce). */
Test(muldiv, amd_model_flags)
{
	struct th *t = th_new(TH_LONG64);
	const struct cpu_model *m = cpu_model_find("zen2");
	cr_assert(m);
	t->cpu->model = m;
	th_asm(t, "mul bl\npushfq\npop rcx\ndiv bl\npushfq\npop rdx");
	t->cpu->regs[R_AX] = 0x80;
	t->cpu->regs[R_BX] = 2;
	flags_set_arith(t->cpu, F_SF | F_PF | F_AF);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	/* MUL: SF/ZF/AF/PF kept; DIV: CF/OF kept, AF set, the rest clear */
	cr_expect_eq(t->cpu->regs[R_CX] & FL_ARITH, F_SF | F_PF | F_AF | F_CF | F_OF);
	cr_expect_eq(t->cpu->regs[R_DX] & FL_ARITH, F_CF | F_OF | F_AF);
	th_free(t);
}
