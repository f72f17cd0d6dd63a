/*
 * test_bitops.c - BT/BTS/BTR/BTC (register and memory, with bit offsets
 * reaching beyond the operand), BSF/BSR, TZCNT/LZCNT/POPCNT, BMI1/BMI2,
 * ADCX/ADOX and CRC32 (CRC-32C) in each size, with flags (Intel model
 * choices documented in emu/cpu/bitops.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"

#include "rows.h"

static const struct row bit_rows[] = {
	{ "bt rax, rbx", { 0x10, 4, 0, 0 }, F_ZF, { SAME, SAME, SAME, SAME }, F_ZF | F_CF },
	{ "bt rax, rbx", { 0x10, 68, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_CF },
	{ "bt ax, bx", { 0x10, 20, 0, 0 }, F_CF, { SAME, SAME, SAME, SAME }, F_CF },
	{ "bt eax, ebx", { 0x10, 5, 0, 0 }, F_CF | F_OF, { SAME, SAME, SAME, SAME }, F_OF },
	{ "bts eax, ebx", { 0xffffffff00000000ull, 31, 0, 0 }, 0, { 0x80000000, SAME, SAME, SAME }, 0 },
	{ "btr bx, cx", { 0, 0xffff, 17, 0 }, 0, { SAME, 0xfffd, SAME, SAME }, F_CF },
	{ "btc rax, 63", { 0, 0, 0, 0 }, F_CF, { 0x8000000000000000ull, SAME, SAME, SAME }, 0 },
	{ "btc ax, 17", { 0x2, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF },
	{ "bsf eax, ebx", { 0xdeadbeef12345678ull, 0, 0, 0 }, 0, { SAME, SAME, SAME, SAME }, F_ZF },
	{ "bsf rax, rbx", { 0x5555, 0, 0, 0 }, F_CF, { SAME, SAME, SAME, SAME }, F_ZF | F_CF },
	{ "bsf eax, ebx", { ~0ull, 0x80, 0, 0 }, F_ZF | F_CF, { 7, SAME, SAME, SAME }, F_CF },
	{ "bsr rax, rbx", { 0, 0x8000000000000001ull, 0, 0 }, 0, { 63, SAME, SAME, SAME }, 0 },
	{ "bsr ax, bx", { 0xffffffff, 1, 0, 0 }, 0, { 0xffff0000, SAME, SAME, SAME }, 0 },
	{ "bsf cx, bx", { 0, 0x10000, 0x1234, 0 }, 0, { SAME, SAME, SAME, SAME }, F_ZF },
	{ "tzcnt eax, ebx", { ~0ull, 0, 0, 0 }, ALL6, { 32, SAME, SAME, SAME }, F_CF },
	{ "tzcnt rax, rbx", { 0, 0x100, 0, 0 }, 0, { 8, SAME, SAME, SAME }, 0 },
	{ "tzcnt ax, bx", { 0, 1, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF },
	{ "lzcnt ax, bx", { 0, 1, 0, 0 }, 0, { 15, SAME, SAME, SAME }, 0 },
	{ "lzcnt rax, rbx", { 0, 0, 0, 0 }, 0, { 64, SAME, SAME, SAME }, F_CF },
	{ "lzcnt eax, ebx", { 0, 0x80000000, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF },
	{ "popcnt rax, rbx", { 0, 0xff00ff, 0, 0 }, ALL6, { 16, SAME, SAME, SAME }, 0 },
	{ "popcnt ax, bx", { 0x12345, 0x10000, 0, 0 }, 0, { 0x10000, SAME, SAME, SAME }, F_ZF },
	{ "popcnt eax, ebx", { ~0ull, ~0ull, 0, 0 }, 0, { 32, SAME, SAME, SAME }, 0 },
	{ "andn eax, ebx, ecx", { 0, 0xff00ff00, 0x0ff00ff0, 0 }, ALL6, { 0x00f000f0, SAME, SAME, SAME }, F_PF },
	{ "andn rax, rbx, rcx", { 0, ~0ull, ~0ull, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "blsr eax, ebx", { 0, 0xc, 0, 0 }, ALL6, { 8, SAME, SAME, SAME }, 0 },
	{ "blsr rax, rbx", { 5, 0, 0, 0 }, 0, { 0, SAME, SAME, SAME }, F_CF | F_ZF | F_PF },
	{ "blsmsk eax, ebx", { 0, 0xc, 0, 0 }, 0, { 7, SAME, SAME, SAME }, 0 },
	{ "blsmsk eax, ebx", { 0, 0, 0, 0 }, 0, { 0xffffffff, SAME, SAME, SAME }, F_CF | F_SF | F_PF },
	{ "blsi eax, ebx", { 0, 0xc, 0, 0 }, 0, { 4, SAME, SAME, SAME }, F_CF },
	{ "blsi rax, rbx", { 9, 0, 0, 0 }, ALL6, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "bzhi eax, ebx, ecx", { 0, 0xffffffff, 4, 0 }, 0, { 0xf, SAME, SAME, SAME }, F_PF },
	{ "bzhi eax, ebx, ecx", { 0, 0xffffffff, 40, 0 }, 0, { 0xffffffff, SAME, SAME, SAME }, F_CF | F_SF | F_PF },
	{ "bzhi rax, rbx, rcx", { 1, ~0ull, 0x100, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "bextr eax, ebx, ecx", { 0, 0x12345678, 0x0808, 0 }, ALL6, { 0x56, SAME, SAME, SAME }, F_PF },
	{ "bextr rax, rbx, rcx", { 0, 0x8000000000000001ull, 0x4000, 0 }, 0, { 0x8000000000000001ull, SAME, SAME, SAME }, F_SF },
	{ "bextr eax, ebx, ecx", { 7, ~0ull, 0x1020, 0 }, 0, { 0, SAME, SAME, SAME }, F_ZF | F_PF },
	{ "pdep rax, rbx, rcx", { 0, 0xb, 0xf0f0, 0 }, ALL6, { 0xb0, SAME, SAME, SAME }, ALL6 },
	{ "pext rax, rbx, rcx", { 0, 0xb0, 0xf0, 0 }, 0, { 0xb, SAME, SAME, SAME }, 0 },
	{ "pdep eax, ebx, ecx", { ~0ull, ~0ull, 0x80000001, 0 }, 0, { 0x80000001, SAME, SAME, SAME }, 0 },
	{ "pext rax, rbx, rcx", { 0, 0x8000000000000000ull, 0x8000000000000001ull, 0 }, 0, { 2, SAME, SAME, SAME }, 0 },
	{ "adcx eax, ebx", { 0xffffffff, 0, 0, 0 }, F_CF | F_OF | F_ZF, { 0, SAME, SAME, SAME }, F_CF | F_OF | F_ZF },
	{ "adcx rax, rbx", { 1, 2, 0, 0 }, F_CF, { 4, SAME, SAME, SAME }, 0 },
	{ "adox rax, rbx", { 1, 2, 0, 0 }, F_OF | F_CF, { 4, SAME, SAME, SAME }, F_CF },
	{ "adox eax, ebx", { 0x80000000, 0x80000000, 0, 0 }, F_SF, { 0, SAME, SAME, SAME }, F_SF | F_OF },
};

Test(bitops, table)
{
	run_rows(TH_LONG64, bit_rows, NROWS(bit_rows));
}

/* Register bit offsets address the bit string beyond the operand. */
Test(bitops, bt_memory_bit_string)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "bts dword [rdi], eax\n"
		  "bt dword [rdi], ecx\nsetc r8b\n"
		  "btr word [rdi+8], dx\nsetc r9b\n"
		  "btc qword [rdi+16], rsi\nsetc r10b\n"
		  "bt dword [rdi+32], 33\nsetc r11b\n"
		  "bts word [rdi+40], 0x13\n");
	th_write(t, TH_DATA - 4, 0, 4);
	th_write(t, TH_DATA, 0, 8);
	th_write(t, TH_DATA + 4, 0x8, 4);
	th_write(t, TH_DATA + 8, 0x00020000, 4);
	th_write(t, TH_DATA + 32, 0x2, 4);
	th_write(t, TH_DATA + 40, 0, 4);
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = 0xffffffff;	/* -1: bit 31 of the dword below */
	t->cpu->regs[R_CX] = 35;		/* bit 3 of the next dword */
	t->cpu->regs[R_DX] = 17;		/* bit 1 of the word at +10 */
	t->cpu->regs[R_SI] = (uint64_t)-65;	/* qword at -16, bit 63 */
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA - 4, 4), 0x80000000);
	cr_expect_eq(t->cpu->regs[R_R8] & 0xff, 1);
	cr_expect_eq(th_read(t, TH_DATA + 8, 4), 0);
	cr_expect_eq(t->cpu->regs[R_R9] & 0xff, 1);
	cr_expect_eq(th_read(t, TH_DATA, 8), 0x8000000800000000ull);	/* bit 63 flipped, [rdi+4] kept */
	cr_expect_eq(t->cpu->regs[R_R10] & 0xff, 0);
	cr_expect_eq(t->cpu->regs[R_R11] & 0xff, 1);
	cr_expect_eq(th_read(t, TH_DATA + 40, 4), 0x8);	/* imm masked to 3 of the word */
	th_free(t);
}

Test(bitops, crc32c)
{
	/* The CRC-32C check value of "123456789" is 0xE3069283. */
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mov eax, -1\nmov ecx, 9\nmov rsi, rdi\n"
		  ".l: crc32 eax, byte [rsi]\ninc rsi\ndec ecx\njnz .l\nnot eax\n"
		  "mov ebx, -1\ncrc32 ebx, dword [rdi]\ncrc32 ebx, dword [rdi+4]\ncrc32 ebx, byte [rdi+8]\nnot ebx\n"
		  "mov rdx, -1\nmov r8d, -1\ncrc32 rdx, qword [rdi]\ncrc32 r8d, word [rdi]\ncrc32 r8d, word [rdi+2]\n"
		  "crc32 r8d, dword [rdi+4]\n");
	th_poke(t, TH_DATA, "123456789", 9);
	t->cpu->regs[R_DI] = TH_DATA;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_AX], 0xe3069283);
	cr_expect_eq(t->cpu->regs[R_BX], 0xe3069283);
	cr_expect_eq(t->cpu->regs[R_DX] >> 32, 0);	/* 64-bit destination: zero-extended */
	cr_expect_eq(t->cpu->regs[R_DX], t->cpu->regs[R_R8]);
	th_free(t);
}

/* The AMD model's documented flags. */
Test(bitops, amd_model_flags)
{
	struct th *t = th_new(TH_LONG64);
	const struct cpu_model *m = cpu_model_find("zen2");
	cr_assert(m);
	t->cpu->model = m;
	th_asm(t, "bsf eax, ebx\npushfq\npop rcx\ntzcnt eax, ebx\npushfq\npop rdx\nbextr esi, ebx, r8d\npushfq\npop r9");
	t->cpu->regs[R_BX] = 0;
	t->cpu->regs[R_R8] = 0x0800;
	flags_set_arith(t->cpu, F_OF | F_SF | F_CF);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_CX] & FL_ARITH, F_ZF | F_PF);
	cr_expect_eq(t->cpu->regs[R_DX] & FL_ARITH, F_CF);	/* OF was cleared by BSF */
	cr_expect_eq(t->cpu->regs[R_R9] & FL_ARITH, F_ZF | F_AF | F_PF);
	th_free(t);
}
