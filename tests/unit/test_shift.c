/*
 * test_shift.c - shifts, rotates, SHLD/SHRD and BMI2 shifts: tables in
 * each size with all six flags (the harness's CPU model is Intel, so the
 * Intel choices documented in emu/cpu/shift.c apply), zero counts,
 * count masking, RCL/RCR modulo 9/17, memory operands.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"

#include "rows.h"

static const struct row shift_rows[] = {
	/* count 1 */
	{ "shl al, 1", { 0x81, 0, 0, 0 }, 0, { 0x02, SAME, SAME, SAME }, F_CF | F_OF },
	{ "shl al, 1", { 0x40, 0, 0, 0 }, F_CF, { 0x80, SAME, SAME, SAME }, F_SF | F_OF },
	{ "shr al, 1", { 0x81, 0, 0, 0 }, 0, { 0x40, SAME, SAME, SAME }, F_CF | F_OF },
	{ "sar al, 1", { 0x81, 0, 0, 0 }, F_OF, { 0xc0, SAME, SAME, SAME }, F_CF | F_SF | F_PF },
	{ "sal ax, 1", { 0x4000, 0, 0, 0 }, 0, { 0x8000, SAME, SAME, SAME }, F_SF | F_OF | F_PF },
	{ "shr eax, 1", { 0xffffffff00000001ull, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_PF },
	{ "shl rax, 1", { 0x8000000000000000ull, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_PF | F_OF },
	{ "rol al, 1", { 0x81, 0, 0, 0 }, 0, { 0x03, SAME, SAME, SAME }, F_CF | F_OF },
	{ "rol al, 1", { 0x81, 0, 0, 0 }, F_ZF | F_SF | F_AF | F_PF, { 0x03, SAME, SAME, SAME }, F_CF | F_OF | F_ZF | F_SF | F_AF | F_PF },
	{ "ror al, 1", { 0x81, 0, 0, 0 }, 0, { 0xc0, SAME, SAME, SAME }, F_CF },
	{ "ror bx, 1", { 0, 0x0002, 0, 0 }, F_CF | F_OF, { SAME, 0x0001, SAME, SAME }, 0 },
	{ "rcl al, 1", { 0x80, 0, 0, 0 }, 0, { 0x00, SAME, SAME, SAME }, F_CF | F_OF },
	{ "rcl eax, 1", { 0x40000000, 0, 0, 0 }, F_CF, { 0x80000001, SAME, SAME, SAME }, F_OF },
	{ "rcr al, 1", { 0x01, 0, 0, 0 }, F_CF, { 0x80, SAME, SAME, SAME }, F_CF | F_OF },
	{ "rcr rax, 1", { 2, 0, 0, 0 }, 0, { 1, SAME, SAME, SAME }, 0 },
	/* counts > 1, masking, zero counts */
	{ "shr eax, 31", { 0x80000000, 0, 0, 0 }, 0, { 1, SAME, SAME, SAME }, 0 },
	{ "sar rax, 63", { 0x8000000000000000ull, 0, 0, 0 }, 0, { ~0ull, SAME, SAME, SAME }, F_SF | F_PF },
	{ "sar al, 7", { 0x40, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_PF },
	{ "sar al, cl", { 0x80, 0, 20, 0 }, 0, { 0xff, SAME, SAME, SAME }, F_CF | F_SF | F_PF },
	{ "shl ax, cl", { 0x0001, 0, 16, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_PF | F_OF },
	{ "shl al, cl", { 0xff, 0, 9, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "shl eax, cl", { 0xffffffff00000001ull, 0, 32, 0 }, ALL6, { 1, SAME, SAME, SAME }, ALL6 },	/* 32 & 31 = 0 */
	{ "shl rax, cl", { 3, 0, 64, 0 }, F_OF, { 3, SAME, SAME, SAME }, F_OF },
	{ "shl rax, cl", { 3, 0, 0x41, 0 }, 0, { 6, SAME, SAME, SAME }, F_PF },
	{ "shl eax, 4", { 0x10000001, 0, 0, 0 }, 0, { 0x10, SAME, SAME, SAME }, F_CF | F_OF },
	{ "shr bl, 3", { 0, 0x8c, 0, 0 }, 0, { SAME, 0x11, SAME, SAME }, F_CF | F_PF },
	{ "rol eax, cl", { 0xffffffff80000001ull, 0, 32, 0 }, F_CF, { 0x80000001, SAME, SAME, SAME }, F_CF },
	{ "rol al, cl", { 0x81, 0, 8, 0 }, 0, { 0x81, SAME, SAME, SAME }, F_CF },	/* 8 & 31 != 0: CF = LSB */
	{ "ror ax, 4", { 0x1234, 0, 0, 0 }, 0, { 0x4123, SAME, SAME, SAME }, F_OF },
	{ "rol rax, 4", { 0xf000000000000001ull, 0, 0, 0 }, 0, { 0x1f, SAME, SAME, SAME }, F_CF | F_OF },
	{ "rcl al, 9", { 0x55, 0, 0, 0 }, F_CF, { 0x55, SAME, SAME, SAME }, F_CF | F_OF },	/* 9 mod 9 = 0 */
	{ "rcl al, 8", { 0x01, 0, 0, 0 }, F_CF, { 0x80, SAME, SAME, SAME }, F_CF },
	{ "rcr ax, 17", { 0x1234, 0, 0, 0 }, 0, { 0x1234, SAME, SAME, SAME }, 0 },
	{ "rcr ax, 16", { 0x8001, 0, 0, 0 }, F_CF, { 0x0003, SAME, SAME, SAME }, F_CF },
	{ "rcl rax, cl", { 0x8000000000000000ull, 0, 63, 0 }, F_CF, { 0x6000000000000000ull, SAME, SAME, SAME }, 0 },
	{ "rcr ebx, 31", { 0, 0x80000000, 0, 0 }, 0, { SAME, 1, SAME, SAME }, 0 },
	/* SHLD / SHRD */
	{ "shld eax, ebx, 4", { 0x12345678, 0x9abcdef0, 0, 0 }, 0, { 0x23456789, SAME, SAME, SAME }, F_CF | F_OF },
	{ "shrd eax, ebx, 4", { 0x12345678, 0x9abcdef0, 0, 0 }, 0, { 0x01234567, SAME, SAME, SAME }, F_CF },
	{ "shld rax, rbx, cl", { 0x8000000000000000ull, ~0ull, 1, 0 }, 0, { 1, SAME, SAME, SAME }, F_CF | F_OF },
	{ "shrd rax, rbx, cl", { 1, 0, 64, 0 }, ALL6, { 1, SAME, SAME, SAME }, ALL6 },	/* 64 & 63 = 0 */
	{ "shrd eax, ebx, cl", { 0xffffffff00000001ull, 0, 32, 0 }, ALL6, { 1, SAME, SAME, SAME }, ALL6 },
	{ "shld ax, bx, 16", { 0x1234, 0x5678, 0, 0 }, 0, { 0x5678, SAME, SAME, SAME }, F_PF },
	{ "shld ax, bx, 20", { 0x1234, 0x5678, 0, 0 }, 0, { 0x6781, SAME, SAME, SAME }, F_CF | F_OF | F_PF },	/* Intel: DEST:SRC:DEST */
	{ "shrd ax, bx, 1", { 0x0001, 0x0001, 0, 0 }, 0, { 0x8000, SAME, SAME, SAME }, F_CF | F_SF | F_OF | F_PF },
	/* BMI2: no flags */
	{ "shlx eax, ebx, ecx", { ~0ull, 0xffffffff, 33, 0 }, ALL6, { 0xfffffffe, SAME, SAME, SAME }, ALL6 },
	{ "shrx rax, rbx, rcx", { 0, 0x8000000000000000ull, 0x43, 0 }, 0, { 0x1000000000000000ull, SAME, SAME, SAME }, 0 },
	{ "sarx eax, ebx, ecx", { 0, 0x80000000, 31, 0 }, 0, { 0xffffffff, SAME, SAME, SAME }, 0 },
	{ "sarx rax, rbx, rcx", { 0, 0x8000000000000000ull, 4, 0 }, F_CF, { 0xf800000000000000ull, SAME, SAME, SAME }, F_CF },
	{ "rorx eax, ebx, 36", { ~0ull, 0x12345678, 0, 0 }, 0, { 0x81234567, SAME, SAME, SAME }, 0 },
	{ "rorx rax, rbx, 8", { 0, 0x0102030405060708ull, 0, 0 }, 0, { 0x0801020304050607ull, SAME, SAME, SAME }, 0 },
};

Test(shift, table)
{
	run_rows(TH_LONG64, shift_rows, NROWS(shift_rows));
}

Test(shift, memory_forms)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "shl dword [rdi], 4\n"
		  "setc bl\n"
		  "sar word [rdi+4], cl\n"
		  "rol byte [rdi+6], 1\n"
		  "shrd qword [rdi+8], rdx, 8\n"
		  "shld dword [rdi+16], edx, cl\n"
		  "shlx eax, [rdi+20], ecx\n");
	th_write(t, TH_DATA, 0x10000001, 4);
	th_write(t, TH_DATA + 4, 0x8000, 2);
	th_write(t, TH_DATA + 6, 0x80, 1);
	th_write(t, TH_DATA + 8, 0x1122334455667788ull, 8);
	th_write(t, TH_DATA + 16, 0x00000001, 4);
	th_write(t, TH_DATA + 20, 0x3, 4);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_CX] = 4;
	t->cpu->regs[R_DX] = 0xaa;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA, 4), 0x10);
	cr_expect_eq(t->cpu->regs[R_BX] & 0xff, 1);
	cr_expect_eq(th_read(t, TH_DATA + 4, 2), 0xf800);
	cr_expect_eq(th_read(t, TH_DATA + 6, 1), 0x01);
	cr_expect_eq(th_read(t, TH_DATA + 8, 8), 0xaa11223344556677ull);
	cr_expect_eq(th_read(t, TH_DATA + 16, 4), 0x10);
	cr_expect_eq(t->cpu->regs[R_AX], 0x30);
	th_free(t);
}

/* A zero count still reads the operand (it can fault), changes no flags. */
Test(shift, zero_count_memory)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "shl dword [rdi], cl\nrcr byte [rdi], 0\nshld dword [rdi], eax, 0");
	th_write(t, TH_DATA, 0x12345678, 4);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_CX] = 0x20;
	flags_set_arith(t->cpu, F_OF | F_AF);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA, 4), 0x12345678);
	cr_expect_eq(th_flags(t) & FL_ARITH, F_OF | F_AF);
	th_free(t);

	t = th_new(TH_LONG64);
	th_asm(t, "shl dword [rsi], cl");
	t->cpu->regs[R_SI] = 0x80000000;
	t->cpu->regs[R_CX] = 0;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_PF);
	th_free(t);
}

/* Every count 0..65 for SHL/SHR/SAR/ROL/ROR in 32 bits against a
 * straightforward reference (result and CF). */
Test(shift, all_counts_reference)
{
	static const char *const ops[] = { "shl", "shr", "sar", "rol", "ror" };
	for (unsigned o = 0; o < 5; o++) {
		char src[64];
		snprintf(src, sizeof(src), "%s eax, cl\nsetc bl", ops[o]);
		struct th *t = th_new(TH_LONG64);
		th_asm(t, src);
		for (unsigned c = 0; c <= 65; c++) {
			uint32_t v = 0x9234567b;
			unsigned n = c & 31;
			uint32_t r = v;
			bool cf = false;
			if (n) {
				switch (o) {
				case 0: r = v << n; cf = (v >> (32 - n)) & 1; break;
				case 1: r = v >> n; cf = (v >> (n - 1)) & 1; break;
				case 2: r = (uint32_t)((int32_t)v >> n); cf = ((int32_t)v >> (n - 1)) & 1; break;
				case 3: r = (v << n) | (v >> (32 - n)); cf = r & 1; break;
				default: r = (v >> n) | (v << (32 - n)); cf = r >> 31; break;
				}
			}
			t->cpu->rip = TH_CODE;
			t->cpu->regs[R_AX] = v;
			t->cpu->regs[R_CX] = c;
			t->cpu->regs[R_BX] = 0;
			flags_set_arith(t->cpu, 0);
			th_run(t);
			cr_expect_eq(t->cpu->regs[R_AX], r, "%s by %u", ops[o], c);
			cr_expect_eq(t->cpu->regs[R_BX], cf, "%s by %u: CF", ops[o], c);
		}
		th_free(t);
	}
}
