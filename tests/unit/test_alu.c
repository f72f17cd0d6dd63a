/*
 * test_alu.c - ALU, flag, move/exchange and BCD instructions on a real
 * machine: tables of (code, inputs, flags) -> (outputs, all six flags)
 * in each operand size, memory forms, LOCK, CMPXCHG8B/16B, condition
 * codes for SETcc/CMOVcc, LAHF/SAHF gating and BCD in 32-bit mode.
 * The expected values are worked out from the SDM by hand; the host-
 * differential test (test_diff.c) covers random operands.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"

#include "rows.h"

static const struct row alu_rows[] = {
	{ "add al, bl", { 0x7f, 1, 0, 0 }, 0, { 0x80, SAME, SAME, SAME }, F_OF | F_SF | F_AF },
	{ "add al, bl", { 0xff, 1, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_AF | F_PF },
	{ "add ax, bx", { 0x8000, 0x8000, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_OF | F_ZF | F_PF },
	{ "add eax, ebx", { 0xffffffff00000001ull, 1, 0, 0 }, ALL6, { 2, SAME, SAME, SAME }, 0 },
	{ "add rax, rbx", { 0x7fffffffffffffffull, 1, 0, 0 }, 0, { 0x8000000000000000ull, SAME, SAME, SAME },
	  F_OF | F_SF | F_AF | F_PF },
	{ "add ah, bl", { 0x0100, 0xff, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_AF | F_PF },
	{ "add rax, -1", { 1, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_AF | F_PF },
	{ "add bl, 0x80", { 0, 0x80, 0, 0 }, 0, { SAME, 0, SAME, SAME }, F_CF | F_OF | F_ZF | F_PF },
	{ "adc al, bl", { 0xfe, 1, 0, 0 }, F_CF, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_AF | F_PF },
	{ "adc eax, ebx", { 0x7fffffff, 0, 0, 0 }, F_CF, { 0x80000000, SAME, SAME, SAME }, F_OF | F_SF | F_AF | F_PF },
	{ "adc ax, 0", { 0xffff, 0, 0, 0 }, F_CF, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_AF | F_PF },
	{ "adc rax, rbx", { 1, 2, 0, 0 }, 0, { 3, SAME, SAME, SAME }, F_PF },
	{ "sub al, bl", { 0x80, 1, 0, 0 }, 0, { 0x7f, SAME, SAME, SAME }, F_OF | F_AF },
	{ "sub eax, ebx", { 0, 1, 0, 0 }, 0, { 0xffffffff, SAME, SAME, SAME }, F_CF | F_SF | F_AF | F_PF },
	{ "sub ax, 1", { 0x10000, 0, 0, 0 }, 0, { 0x1ffff, SAME, SAME, SAME }, F_CF | F_SF | F_AF | F_PF },
	{ "sbb rax, rbx", { 0, ~0ull, 0, 0 }, F_CF, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_AF | F_PF },
	{ "sbb al, bl", { 0x10, 0x0f, 0, 0 }, F_CF, { 0, SAME, SAME, SAME }, F_ZF | F_AF | F_PF },
	{ "sbb cx, dx", { 0, 0, 5, 5 }, 0, { SAME, SAME, 0, SAME }, F_ZF | F_PF },
	{ "and eax, ebx", { 0xff00ff00, 0x0ff00ff0, 0, 0 }, ALL6, { 0x0f000f00, SAME, SAME, SAME }, F_PF },
	{ "and eax, -1", { 0xffffffff00000000ull, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "or al, bl", { 0x80, 1, 0, 0 }, ALL6, { 0x81, SAME, SAME, SAME }, F_SF | F_PF },
	{ "or rdx, rcx", { 0, 0, 0x8000000000000000ull, 1 }, 0, { SAME, SAME, SAME, 0x8000000000000001ull }, F_SF },
	{ "xor rax, rax", { 0x1234, 0, 0, 0 }, ALL6, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "xor bh, 0xff", { 0, 0x0f00, 0, 0 }, 0, { SAME, 0xf000, SAME, SAME }, F_SF | F_PF },
	{ "cmp al, bl", { 1, 2, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_CF | F_SF | F_AF | F_PF },
	{ "cmp rax, rbx", { 0x8000000000000000ull, 1, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_OF | F_AF | F_PF },
	{ "cmp ax, 0x7fff", { 0x7fff, 0, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "cmp ecx, -1", { 0, 0, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_CF | F_AF },
	{ "test al, bl", { 0x80, 0x80, 0, 0 }, ALL6, { SAME, SAME, SAME, SAME }, F_SF },
	{ "test eax, 0x10000", { 0x10000, 0, 0, 0 }, ALL6, { SAME, SAME, SAME, SAME }, F_PF },
	{ "test rax, rbx", { 0xf0, 0x0f, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "inc al", { 0x7f, 0, 0, 0 }, F_CF, { 0x80, SAME, SAME, SAME }, F_OF | F_SF | F_AF | F_CF },
	{ "inc rax", { ~0ull, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF | F_AF | F_PF },
	{ "dec eax", { 0x80000000, 0, 0, 0 }, 0, { 0x7fffffff, SAME, SAME, SAME }, F_OF | F_AF | F_PF },
	{ "dec bx", { 0, 1, 0, 0 }, F_CF, { SAME, 0, SAME, SAME }, F_ZF | F_PF | F_CF },
	{ "neg al", { 0x80, 0, 0, 0 }, 0, { 0x80, SAME, SAME, SAME }, F_CF | F_OF | F_SF },
	{ "neg rax", { 0, 0, 0, 0 }, ALL6, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "neg ecx", { 0, 0, 1, 0 }, 0, { SAME, SAME, 0xffffffff, SAME }, F_CF | F_SF | F_AF | F_PF },
	{ "not ax", { 0x12340000ffff0f0full, 0, 0, 0 }, ALL6, { 0x12340000fffff0f0ull, SAME, SAME, SAME }, ALL6 },
	{ "not ebx", { 0, 0xffffffff00000000ull, 0, 0 }, 0, { SAME, 0xffffffff, SAME, SAME }, 0 },
	{ "xadd al, bl", { 1, 2, 0, 0 }, 0, { 3, 1, SAME, SAME }, F_PF },
	{ "xadd eax, eax", { 0x80000000, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_OF | F_ZF | F_PF },
	{ "xadd rbx, rcx", { 0, 5, 7, 0 }, 0, { SAME, 12, 5, SAME }, F_PF },
	{ "cmc", { 0, 0, 0, 0 }, F_ZF, { SAME, SAME, SAME, SAME }, F_ZF | F_CF },
	{ "clc", { 0, 0, 0, 0 }, ALL6, { SAME, SAME, SAME, SAME }, ALL6 & ~F_CF },
	{ "stc", { 0, 0, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_CF },
	{ "cmp al, 1\ncmc", { 0, 0, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_SF | F_AF | F_PF },
	{ "sahf", { 0xd700, 0, 0, 0 }, F_OF, { SAME, SAME, SAME, SAME }, F_OF | F_SF | F_ZF | F_AF | F_PF | F_CF },
	{ "sahf", { 0x2a00, 0, 0, 0 }, ALL6, { SAME, SAME, SAME, SAME }, F_OF },
	{ "lahf", { 0, 0, 0, 0 }, ALL6, { 0xd700, SAME, SAME, SAME }, ALL6 },
	{ "sub al, 1\nlahf", { 0, 0, 0, 0 }, 0, { 0x97ff, SAME, SAME, SAME }, F_CF | F_SF | F_AF | F_PF },
	{ "cbw", { 0x1280, 0, 0, 0 }, 0, { 0xff80, SAME, SAME, SAME }, 0 },
	{ "cwde", { 0xffffffff00008000ull, 0, 0, 0 }, 0, { 0xffff8000, SAME, SAME, SAME }, 0 },
	{ "cdqe", { 0x80000000, 0, 0, 0 }, 0, { 0xffffffff80000000ull, SAME, SAME, SAME }, 0 },
	{ "cwd", { 0x8000, 0, 0, 0x12345678 }, 0, { SAME, SAME, SAME, 0x1234ffff }, 0 },
	{ "cdq", { 0x7fffffff, 0, 0, ~0ull }, 0, { SAME, SAME, SAME, 0 }, 0 },
	{ "cqo", { 0x8000000000000000ull, 0, 0, 0 }, 0, { SAME, SAME, SAME, ~0ull }, 0 },
	{ "movzx eax, bl", { ~0ull, 0x80, 0, 0 }, 0, { 0x80, SAME, SAME, SAME }, 0 },
	{ "movzx ax, bh", { ~0ull, 0x8000, 0, 0 }, 0, { 0xffffffffffff0080ull, SAME, SAME, SAME }, 0 },
	{ "movsx rax, bx", { 0, 0x8000, 0, 0 }, 0, { 0xffffffffffff8000ull, SAME, SAME, SAME }, 0 },
	{ "movsx eax, bl", { ~0ull, 0x7f, 0, 0 }, 0, { 0x7f, SAME, SAME, SAME }, 0 },
	{ "movsx ax, cl", { 0x1111111111111111ull, 0, 0x80, 0 }, 0, { 0x111111111111ff80ull, SAME, SAME, SAME }, 0 },
	{ "movsxd rax, ebx", { 0, 0x80000000, 0, 0 }, 0, { 0xffffffff80000000ull, SAME, SAME, SAME }, 0 },
	{ "db 0x63, 0xc3", { ~0ull, 0x80000000, 0, 0 }, 0, { 0x80000000, SAME, SAME, SAME }, 0 },
	{ "bswap eax", { 0xffffffff12345678ull, 0, 0, 0 }, 0, { 0x78563412, SAME, SAME, SAME }, 0 },
	{ "bswap rbx", { 0, 0x0102030405060708ull, 0, 0 }, 0, { SAME, 0x0807060504030201ull, SAME, SAME }, 0 },
	{ "db 0x66, 0x0f, 0xc8", { 0x1111111111111234ull, 0, 0, 0 }, 0, { 0x1111111111110000ull, SAME, SAME, SAME }, 0 },
	{ "lea eax, [rbx+rcx*4+8]", { ~0ull, 0x100000000ull, 0x10, 0 }, 0, { 0x48, SAME, SAME, SAME }, 0 },
	{ "lea ax, [rbx-1]", { 0x12345678, 0, 0, 0 }, 0, { 0x1234ffff, SAME, SAME, SAME }, 0 },
	{ "lea rax, [rbx+rcx]", { 0, ~0ull, 2, 0 }, 0, { 1, SAME, SAME, SAME }, 0 },
	{ "lea eax, [ebx+ecx]", { 0, 0xffffffff, 2, 0 }, 0, { 1, SAME, SAME, SAME }, 0 },
	{ "xchg eax, ebx", { 0xffffffff00000001ull, 0xffffffff00000002ull, 0, 0 }, 0, { 2, 1, SAME, SAME }, 0 },
	{ "xchg al, bh", { 0x11, 0x2200, 0, 0 }, 0, { 0x22, 0x1100, SAME, SAME }, 0 },
	{ "xchg rcx, rdx", { 0, 0, 1, 2 }, 0, { SAME, SAME, 2, 1 }, 0 },
	{ "xchg cx, ax", { 0x10001, 0, 0x20002, 0 }, 0, { 0x10002, SAME, 0x20001, SAME }, 0 },
	{ "nop", { 0xffffffff00000001ull, 0, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, 0 },
	{ "db 0x87, 0xc0", { 0xffffffff00000001ull, 0, 0, 0 }, 0, { 1, SAME, SAME, SAME }, 0 },	/* xchg eax,eax (87) zero-extends */
	{ "mov bl, 0x80\nmov ah, bl", { 0, 0, 0, 0 }, 0, { 0x8000, 0x80, SAME, SAME }, 0 },
	{ "mov ebx, -1", { 0, ~0ull, 0, 0 }, 0, { SAME, 0xffffffff, SAME, SAME }, 0 },
	{ "mov rbx, -1", { 0, 0, 0, 0 }, 0, { SAME, ~0ull, SAME, SAME }, 0 },
	{ "mov rbx, 0x123456789a", { 0, 0, 0, 0 }, 0, { SAME, 0x123456789aull, SAME, SAME }, 0 },
	{ "mov bx, 0x8000", { 0, 0x1111111111111111ull, 0, 0 }, 0, { SAME, 0x1111111111118000ull, SAME, SAME }, 0 },
	{ "db 0x48, 0xc7, 0xc3, 0x00, 0x00, 0x00, 0x80", { 0, 0, 0, 0 }, 0, { SAME, 0xffffffff80000000ull, SAME, SAME }, 0 },
	{ "mov ecx, eax\nmov dl, ch", { 0xffff1234, 0, 0, 0 }, 0, { SAME, SAME, 0xffff1234, 0x12 }, 0 },
	{ "cmp eax, ebx\ncmove ecx, edx", { 1, 2, 0xffffffff00000005ull, 7 }, 0, { SAME, SAME, 5, SAME },
	  F_CF | F_SF | F_AF | F_PF },
	{ "cmp eax, ebx\ncmovne ecx, edx", { 1, 2, 0xffffffff00000005ull, 7 }, 0, { SAME, SAME, 7, SAME },
	  F_CF | F_SF | F_AF | F_PF },
	{ "cmp eax, ebx\ncmove cx, dx", { 1, 2, 0xffffffff00000005ull, 7 }, 0, { SAME, SAME, SAME, SAME },
	  F_CF | F_SF | F_AF | F_PF },
	{ "cmp rax, rbx\ncmovl rcx, rdx", { ~0ull, 2, 0, 7 }, 0, { SAME, SAME, 7, SAME }, F_SF },
	{ "cmpxchg ebx, ecx", { 5, 5, 9, 0 }, 0, { SAME, 9, SAME, SAME }, F_ZF | F_PF },
	{ "cmpxchg ebx, ecx", { 0xffffffff00000005ull, 0xffffffff00000006ull, 9, 0 }, 0,
	  { 6, 0xffffffff00000006ull, SAME, SAME }, F_CF | F_SF | F_AF | F_PF },
	{ "cmpxchg bl, cl", { 0x1180, 0x80, 0x7f, 0 }, 0, { SAME, 0x7f, SAME, SAME }, F_ZF | F_PF },
	{ "cmpxchg rbx, rcx", { 1, 2, 3, 0 }, 0, { 2, SAME, SAME, SAME }, F_CF | F_SF | F_AF | F_PF },
};

Test(alu, table)
{
	run_rows(TH_LONG64, alu_rows, NROWS(alu_rows));
}

/* Long-mode 32-bit registers only: INC/DEC Zv exist outside 64-bit mode. */
static const struct row alu32_rows[] = {
	{ "inc eax", { 0x7fffffff, 0, 0, 0 }, F_CF, { 0x80000000, SAME, SAME, SAME }, F_OF | F_SF | F_AF | F_PF | F_CF },
	{ "dec cx", { 0, 0, 0x10000, 0 }, 0, { SAME, SAME, 0x1ffff, SAME }, F_SF | F_AF | F_PF },
	{ "add al, 0x82", { 0x82, 0, 0, 0 }, 0, { 0x04, SAME, SAME, SAME }, F_CF | F_OF },
	{ "salc", { 0x1234, 0, 0, 0 }, F_CF, { 0x12ff, SAME, SAME, SAME }, F_CF },
	{ "salc", { 0x12ff, 0, 0, 0 }, F_ZF, { 0x1200, SAME, SAME, SAME }, F_ZF },
	/* BCD: SDM examples and boundaries (undefined flags as bcd.c documents) */
	{ "daa", { 0xae, 0, 0, 0 }, 0, { 0x14, SAME, SAME, SAME }, F_CF | F_AF | F_PF },
	{ "daa", { 0x09, 0, 0, 0 }, 0, { 0x09, SAME, SAME, SAME }, F_PF },
	{ "daa", { 0x00, 0, 0, 0 }, F_AF, { 0x06, SAME, SAME, SAME }, F_AF | F_PF },
	{ "daa", { 0x9a, 0, 0, 0 }, 0, { 0x00, SAME, SAME, SAME }, F_CF | F_AF | F_ZF | F_PF },
	{ "daa", { 0x7a, 0, 0, 0 }, 0, { 0x80, SAME, SAME, SAME }, F_AF | F_SF | F_OF },
	{ "das", { 0xee, 0, 0, 0 }, F_CF | F_AF, { 0x88, SAME, SAME, SAME }, F_CF | F_AF | F_SF | F_PF },
	{ "das", { 0x15, 0, 0, 0 }, 0, { 0x15, SAME, SAME, SAME }, 0 },
	{ "aaa", { 0x000f, 0, 0, 0 }, 0, { 0x0105, SAME, SAME, SAME }, F_AF | F_CF | F_PF },
	{ "aaa", { 0x0005, 0, 0, 0 }, ALL6, { 0x010b, SAME, SAME, SAME }, F_AF | F_CF },
	{ "aaa", { 0x0208, 0, 0, 0 }, 0, { 0x0208, SAME, SAME, SAME }, 0 },
	{ "aas", { 0x02ff, 0, 0, 0 }, F_AF, { 0x0109, SAME, SAME, SAME }, F_AF | F_CF | F_PF },
	{ "aas", { 0x0203, 0, 0, 0 }, 0, { 0x0203, SAME, SAME, SAME }, F_PF },
	{ "aam", { 0x003f, 0, 0, 0 }, 0, { 0x0603, SAME, SAME, SAME }, F_PF },
	{ "aam 16", { 0x00ff, 0, 0, 0 }, ALL6, { 0x0f0f, SAME, SAME, SAME }, F_PF },
	{ "aam", { 0x1200, 0, 0, 0 }, 0, { 0x0000, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "aad", { 0x0603, 0, 0, 0 }, 0, { 0x003f, SAME, SAME, SAME }, F_PF },
	{ "aad 16", { 0x0f0f, 0, 0, 0 }, 0, { 0x00ff, SAME, SAME, SAME }, F_SF | F_PF },
	{ "aad", { 0x1a06, 0, 0, 0 }, 0, { 0x000a, SAME, SAME, SAME }, F_PF },
	{ "aad", { 0x1aff, 0, 0, 0 }, 0, { 0x0003, SAME, SAME, SAME }, F_CF | F_AF | F_PF },
};

Test(alu, table_prot32)
{
	run_rows(TH_PROT32, alu32_rows, NROWS(alu32_rows));
}

Test(alu, aam_zero_de)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "nop\ndb 0xd4, 0x00");
	t->cpu->regs[R_AX] = 0x1234;
	flags_set_arith(t->cpu, F_OF | F_CF);
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_DE);
	cr_expect_eq(t->cpu->rip, TH_CODE + 1);
	cr_expect_eq(t->cpu->regs[R_AX], 0x1234);
	cr_expect_eq(th_flags(t) & FL_ARITH, F_OF | F_CF);
	th_free(t);
}

Test(alu, bcd_invalid_in_64bit)
{
	static const char *const ops[] = { "db 0x27", "db 0x2f", "db 0x37", "db 0x3f", "db 0xd4, 10", "db 0xd5, 10",
					   "db 0xd6" };
	for (unsigned k = 0; k < 7; k++) {
		struct th *t = th_new(TH_LONG64);
		th_asm(t, ops[k]);
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_UD, "%s", ops[k]);
		th_free(t);
	}
}

/* ---- condition codes -------------------------------------------------------- */

static bool cond_ref(uint64_t f, unsigned cc)
{
	bool cf = f & F_CF, pf = f & F_PF, zf = f & F_ZF, sf = f & F_SF, of = f & F_OF, r;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
}

static const char *const ccname[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
					"s", "ns", "p", "np", "l", "ge", "le", "g" };

/* Every flag combination (materialized flags): SETcc and CMOVcc for all 16. */
Test(alu, setcc_cmovcc_all_flag_states)
{
	char src[4096];
	int p = 0;
	for (unsigned cc = 0; cc < 16; cc++)
		p += snprintf(src + p, sizeof(src) - (size_t)p, "set%s [rdi+%u]\nmov ecx, %u\ncmov%s ecx, edx\nmov [rdi+%u], ecx\n",
			      ccname[cc], cc, 0xaaa, ccname[cc], 16 + cc * 4);
	/* a memory-form SETcc and a 16-bit CMOV */
	struct th *t = th_new(TH_LONG64);
	th_asm(t, src);
	for (unsigned m = 0; m < 64; m++) {
		uint64_t f = ((m & 1) ? F_CF : 0) | ((m & 2) ? F_PF : 0) | ((m & 4) ? F_AF : 0) | ((m & 8) ? F_ZF : 0) |
			     ((m & 16) ? F_SF : 0) | ((m & 32) ? F_OF : 0);
		t->cpu->rip = TH_CODE;
		t->cpu->regs[R_DI] = TH_DATA;
		t->cpu->regs[R_DX] = 0x555;
		flags_set_arith(t->cpu, f);
		th_run(t);
		cr_assert_eq(t->exc_vector, -1);
		for (unsigned cc = 0; cc < 16; cc++) {
			bool want = cond_ref(f, cc);
			cr_expect_eq(th_read(t, TH_DATA + cc, 1), want, "set%s flags %#llx", ccname[cc], (unsigned long long)f);
			cr_expect_eq(th_read(t, TH_DATA + 16 + cc * 4, 4), want ? 0x555u : 0xaaau, "cmov%s flags %#llx",
				     ccname[cc], (unsigned long long)f);
		}
		cr_expect_eq(th_flags(t) & FL_ARITH, f);
	}
	th_free(t);
}

/* Lazy fast paths: SETcc straight after CMP/SUB/TEST/ADD/INC in each size. */
Test(alu, setcc_after_lazy_ops)
{
	static const uint64_t vals[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff,
					 0x8000000000000000ull, 0x7fffffffffffffffull, ~0ull };
	static const char *const ops[] = { "cmp", "sub", "test", "add", "and", "sbb" };
	static const char *const regs_a[4] = { "al", "ax", "eax", "rax" }, *const regs_b[4] = { "bl", "bx", "ebx", "rbx" };
	for (unsigned o = 0; o < 6; o++) {
		for (unsigned sz = 0; sz < 4; sz++) {
			char src[2048];
			int p = snprintf(src, sizeof(src), "%s %s, %s\npushfq\npop rsi\n", ops[o], regs_a[sz], regs_b[sz]);
			for (unsigned cc = 0; cc < 16; cc++)
				p += snprintf(src + p, sizeof(src) - (size_t)p, "set%s [rdi+%u]\n", ccname[cc], cc);
			struct th *t = th_new(TH_LONG64);
			th_asm(t, src);
			for (unsigned a = 0; a < NROWS(vals); a++) {
				for (unsigned b = 0; b < NROWS(vals); b += 3) {
					t->cpu->rip = TH_CODE;
					t->cpu->regs[R_SP] = TH_STACK;
					t->cpu->regs[R_DI] = TH_DATA;
					t->cpu->regs[R_AX] = vals[a];
					t->cpu->regs[R_BX] = vals[(b + a) % NROWS(vals)];
					flags_set_arith(t->cpu, (a & 1) ? F_CF : 0);
					th_run(t);
					cr_assert_eq(t->exc_vector, -1);
					uint64_t f = t->cpu->regs[R_SI];	/* materialized by PUSHF */
					for (unsigned cc = 0; cc < 16; cc++)
						cr_expect_eq(th_read(t, TH_DATA + cc, 1), cond_ref(f, cc), "%s: set%s",
							     src, ccname[cc]);
				}
			}
			th_free(t);
		}
	}
}

/* ---- memory forms ---------------------------------------------------------------- */

Test(alu, memory_rmw)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "add dword [rdi], ebx\n"
		  "lock sub byte [rdi+4], 1\n"
		  "lock xadd qword [rdi+8], rcx\n"
		  "xchg [rdi+16], dx\n"
		  "inc word [rdi+18]\n"
		  "neg qword [rdi+24]\n"
		  "not byte [rdi+32]\n"
		  "adc dword [rdi+36], 0x7fffffff\n"
		  "cmp qword [rdi+40], -1\n"
		  "setz byte [rdi+48]\n");
	th_write(t, TH_DATA, 0xfffffffe, 4);
	th_write(t, TH_DATA + 4, 0, 1);
	th_write(t, TH_DATA + 8, 100, 8);
	th_write(t, TH_DATA + 16, 0xffff1234, 4);
	th_write(t, TH_DATA + 24, 1, 8);
	th_write(t, TH_DATA + 32, 0x0f, 1);
	th_write(t, TH_DATA + 36, 0, 4);
	th_write(t, TH_DATA + 40, ~0ull, 8);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_BX] = 2;
	t->cpu->regs[R_CX] = 5;
	t->cpu->regs[R_DX] = 0xabcd;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA, 4), 0);
	cr_expect_eq(th_read(t, TH_DATA + 4, 1), 0xff);
	cr_expect_eq(th_read(t, TH_DATA + 8, 8), 105);
	cr_expect_eq(t->cpu->regs[R_CX], 100);
	cr_expect_eq(th_read(t, TH_DATA + 16, 2), 0xabcd);
	cr_expect_eq(t->cpu->regs[R_DX], 0x1234);
	cr_expect_eq(th_read(t, TH_DATA + 18, 2), 0);	/* 0xffff + 1 */
	cr_expect_eq(th_read(t, TH_DATA + 24, 8), ~0ull);
	cr_expect_eq(th_read(t, TH_DATA + 32, 1), 0xf0);
	cr_expect_eq(th_read(t, TH_DATA + 36, 4), 0x80000000);	/* CF from NEG was 1 */
	cr_expect_eq(th_read(t, TH_DATA + 48, 1), 1);
	th_free(t);
}

/* A faulting memory write leaves registers, flags and memory unchanged. */
Test(alu, memory_fault_commits_nothing)
{
	static const char *const srcs[] = { "add [rsi], eax", "xadd [rsi], eax", "xchg [rsi], eax", "cmpxchg [rsi], ecx",
					    "inc dword [rsi]", "neg dword [rsi]", "cmovz eax, [rsi]", "cmovnz eax, [rsi]" };
	for (unsigned k = 0; k < NROWS(srcs); k++) {
		struct th *t = th_new(TH_LONG64);
		th_asm(t, srcs[k]);
		t->cpu->regs[R_SI] = 0x80000000;	/* beyond the 1 GiB identity map */
		t->cpu->regs[R_AX] = 0x1111;
		t->cpu->regs[R_CX] = 0x2222;
		flags_set_arith(t->cpu, F_ZF | F_SF);
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_PF, "%s", srcs[k]);
		cr_expect_eq(t->cpu->rip, TH_CODE, "%s", srcs[k]);
		cr_expect_eq(t->cpu->regs[R_AX], 0x1111, "%s", srcs[k]);
		cr_expect_eq(t->cpu->regs[R_CX], 0x2222, "%s", srcs[k]);
		cr_expect_eq(th_flags(t) & FL_ARITH, F_ZF | F_SF, "%s", srcs[k]);
		th_free(t);
	}
}

Test(alu, lock_register_destination_ud)
{
	static const char *const srcs[] = { "db 0xf0, 0x01, 0xd8", "db 0xf0, 0x0f, 0xc1, 0xd8", "db 0xf0, 0xf7, 0xd8",
					    "db 0xf0, 0x87, 0xd8", "db 0xf0, 0x39, 0x18" /* cmp: never lockable */ };
	for (unsigned k = 0; k < NROWS(srcs); k++) {
		struct th *t = th_new(TH_LONG64);
		th_asm(t, srcs[k]);
		t->cpu->regs[R_AX] = TH_DATA;
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_UD, "%s", srcs[k]);
		th_free(t);
	}
}

Test(alu, cmpxchg_memory_always_written)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "cmpxchg [rdi], ecx\nsetz bl\ncmpxchg [rdi+8], ecx\nsetz bh");
	th_write(t, TH_DATA, 7, 4);
	th_write(t, TH_DATA + 8, 9, 4);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = 0xffffffff00000007ull;
	t->cpu->regs[R_CX] = 42;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA, 4), 42);
	cr_expect_eq(th_read(t, TH_DATA + 8, 4), 9);
	cr_expect_eq(t->cpu->regs[R_AX], 9);	/* mismatch: loaded, zero-extended */
	cr_expect_eq(t->cpu->regs[R_BX] & 0xffff, 0x0001);
	th_free(t);

	/* the write happens even on mismatch: a read-only/unmapped page faults */
	t = th_new(TH_LONG64);
	th_asm(t, "cmpxchg [rsi], ecx");
	t->cpu->regs[R_SI] = 0x80000000;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_PF);
	th_free(t);
}

Test(alu, cmpxchg8b_16b)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "cmpxchg8b [rdi]\nsetz sil\ncmpxchg16b [rdi+16]\nsetz r8b\ncmpxchg16b [rdi+32]\nsetz r9b");
	th_write(t, TH_DATA, 0x1111111122222222ull, 8);
	th_write(t, TH_DATA + 16, 1, 8);
	th_write(t, TH_DATA + 24, 2, 8);
	th_write(t, TH_DATA + 32, 5, 8);
	th_write(t, TH_DATA + 40, 6, 8);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_DX] = 0xaaaaaaaa11111111ull;	/* upper halves ignored */
	t->cpu->regs[R_AX] = 0xbbbbbbbb22222222ull;
	t->cpu->regs[R_CX] = 0x33333333;
	t->cpu->regs[R_BX] = 0x44444444;
	flags_set_arith(t->cpu, F_CF | F_OF);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA, 8), 0x3333333344444444ull);
	cr_expect_eq(t->cpu->regs[R_SI] & 0xff, 1);
	/* 16B: RDX:RAX (unchanged by the 8B match) != 2:1 -> loaded */
	cr_expect_eq(t->cpu->regs[R_R8] & 0xff, 0);
	cr_expect_eq(th_read(t, TH_DATA + 16, 8), 1);
	/* third: RDX:RAX = 2:1 != 6:5 -> loaded again */
	cr_expect_eq(t->cpu->regs[R_R9] & 0xff, 0);
	cr_expect_eq(t->cpu->regs[R_AX], 5);
	cr_expect_eq(t->cpu->regs[R_DX], 6);
	th_free(t);

	/* match with 16B, other flags kept */
	t = th_new(TH_LONG64);
	th_asm(t, "cmpxchg16b [rdi]");
	th_write(t, TH_DATA, 5, 8);
	th_write(t, TH_DATA + 8, 6, 8);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = 5;
	t->cpu->regs[R_DX] = 6;
	t->cpu->regs[R_BX] = 7;
	t->cpu->regs[R_CX] = 8;
	flags_set_arith(t->cpu, F_CF | F_SF);
	th_run(t);
	cr_expect_eq(th_read(t, TH_DATA, 8), 7);
	cr_expect_eq(th_read(t, TH_DATA + 8, 8), 8);
	cr_expect_eq(th_flags(t) & FL_ARITH, F_CF | F_SF | F_ZF);
	th_free(t);

	/* mismatch in 8B: EDX:EAX loaded, zero-extended */
	t = th_new(TH_LONG64);
	th_asm(t, "cmpxchg8b [rdi]");
	th_write(t, TH_DATA, 0x8000000180000002ull, 8);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = ~0ull;
	t->cpu->regs[R_DX] = ~0ull;
	flags_set_arith(t->cpu, F_ZF);
	th_run(t);
	cr_expect_eq(t->cpu->regs[R_AX], 0x80000002);
	cr_expect_eq(t->cpu->regs[R_DX], 0x80000001);
	cr_expect_eq(th_flags(t) & FL_ARITH, 0);
	th_free(t);
}

Test(alu, cmpxchg16b_misaligned_gp)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "cmpxchg16b [rdi]");
	t->cpu->regs[R_DI] = TH_DATA + 8;
	t->cpu->regs[R_AX] = 0x1234;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_GP);
	cr_expect_eq(t->exc_error, 0);
	cr_expect_eq(t->cpu->regs[R_AX], 0x1234);
	th_free(t);
}

Test(alu, cmpxchg16b_without_cx16_ud)
{
	struct th *t = th_new(TH_LONG64);
	t->cpu->features[FEAT_CX16 / 32] &= ~(1u << (FEAT_CX16 % 32));
	th_asm(t, "cmpxchg16b [rdi]");
	t->cpu->regs[R_DI] = TH_DATA;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_UD);
	th_free(t);
}

Test(alu, lahf_sahf_need_lahf_lm_in_64bit)
{
	static const char *const srcs[] = { "lahf", "sahf" };
	for (unsigned k = 0; k < 2; k++) {
		struct th *t = th_new(TH_LONG64);
		t->cpu->features[FEAT_LAHF_LM / 32] &= ~(1u << (FEAT_LAHF_LM % 32));
		th_asm(t, srcs[k]);
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_UD, "%s", srcs[k]);
		th_free(t);
		/* outside 64-bit mode they need nothing */
		t = th_new(TH_COMPAT);
		t->cpu->features[FEAT_LAHF_LM / 32] &= ~(1u << (FEAT_LAHF_LM % 32));
		th_asm(t, srcs[k]);
		th_run(t);
		cr_expect_eq(t->exc_vector, -1, "%s (compat)", srcs[k]);
		th_free(t);
	}
}

Test(alu, moffs_and_nop_xchg)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mov eax, [qword 0x200000]\n"
		  "mov [qword 0x200008], rax\n"
		  "mov bl, [qword 0x200001]\n"
		  "a32 mov cx, [0x200000]\n"
		  "mov [qword 0x200010], al\n"
		  "nop\n"
		  "xchg r8, rax\n"
		  "db 0x41, 0x90\n");	/* xchg r8d, eax */
	th_write(t, TH_DATA, 0x8877665544332211ull, 8);
	t->cpu->regs[R_AX] = ~0ull;
	t->cpu->regs[R_R8] = 0xffffffff00000005ull;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA + 8, 8), 0x44332211);
	cr_expect_eq(t->cpu->regs[R_BX] & 0xff, 0x22);
	cr_expect_eq(t->cpu->regs[R_CX] & 0xffff, 0x2211);
	cr_expect_eq(th_read(t, TH_DATA + 16, 1), 0x11);
	/* after xchg r8, rax: rax = 0xffffffff00000005, r8 = 0x44332211;
	 * then xchg r8d, eax: both zero-extended */
	cr_expect_eq(t->cpu->regs[R_AX], 0x44332211);
	cr_expect_eq(t->cpu->regs[R_R8], 5);
	th_free(t);
}

Test(alu, movbe)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "movbe eax, [rdi]\nmovbe [rdi+8], rbx\nmovbe cx, [rdi]\nmovbe [rdi+16], dx");
	th_write(t, TH_DATA, 0x11223344, 4);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = ~0ull;
	t->cpu->regs[R_BX] = 0x0102030405060708ull;
	t->cpu->regs[R_CX] = 0xffff0000;
	t->cpu->regs[R_DX] = 0xabcd;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_AX], 0x44332211);
	cr_expect_eq(th_read(t, TH_DATA + 8, 8), 0x0807060504030201ull);
	cr_expect_eq(t->cpu->regs[R_CX], 0xffff4433);
	cr_expect_eq(th_read(t, TH_DATA + 16, 2), 0xcdab);
	th_free(t);
}
