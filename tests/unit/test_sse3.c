/*
 * test_sse3.c - SSE3 instructions: host-differential runs of the packed
 * floating-point forms on special and random operands under random MXCSR
 * rounding/DAZ/FTZ settings (results and MXCSR flags bit for bit), the
 * moves (register, high-register, memory forms; MOVDDUP and LDDQU also
 * misaligned), alignment #GP, unmasked-exception #XM/#UD with the
 * destination kept, and the #UD/#NM rules.
 */
#include <criterion/criterion.h>

#include "sse4_diff.h"

#define NSETS 200

static const struct sx_insn sse3_ops[] = {
	{ "addsubps", 0xf2, 1, 0xd0, false, false, SX_F32 },
	{ "addsubpd", 0x66, 1, 0xd0, false, false, SX_F64 },
	{ "haddps", 0xf2, 1, 0x7c, false, false, SX_F32 },
	{ "haddpd", 0x66, 1, 0x7c, false, false, SX_F64 },
	{ "hsubps", 0xf2, 1, 0x7d, false, false, SX_F32 },
	{ "hsubpd", 0x66, 1, 0x7d, false, false, SX_F64 },
	{ "movsldup", 0xf3, 1, 0x12, false, false, SX_F32 },
	{ "movshdup", 0xf3, 1, 0x16, false, false, SX_F32 },
	{ "movddup", 0xf2, 1, 0x12, false, false, SX_F64 },
};
#define NOPS (sizeof(sse3_ops) / sizeof(sse3_ops[0]))

static void setup(void)
{
	sx_init();
}

static void teardown(void)
{
	sx_fini();
}

TestSuite(sse3, .init = setup, .fini = teardown);

static void need_sse3(void)
{
	if (!sx_host_has(0))
		cr_skip_test("host has no SSE3");
}

Test(sse3, diff)
{
	need_sse3();
	unsigned bad = 0;
	for (unsigned k = 0; k < NOPS; k++) {
		bad += sx_diff(&sse3_ops[k], SX_RR, 0, NSETS);
		bad += sx_diff(&sse3_ops[k], SX_RR_HI, 0, NSETS / 4);
		bad += sx_diff(&sse3_ops[k], SX_RM, 0, NSETS / 4);
	}
	const struct sx_insn movddup = sse3_ops[NOPS - 1];
	bad += sx_diff(&movddup, SX_RM_MIS, 0, 16);
	const struct sx_insn lddqu = { "lddqu", 0xf2, 1, 0xf0, false, false, SX_INT };
	bad += sx_diff(&lddqu, SX_RM, 0, 16);
	bad += sx_diff(&lddqu, SX_RM_MIS, 0, 16);
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

static int run_state(const struct sx_insn *x, enum sx_form f, struct sx_state *s)
{
	uint8_t code[16];
	unsigned len = sx_encode(code, x, f, 0);
	return sx_emulate(code, len, s);
}

Test(sse3, alignment)
{
	struct sx_state s;
	for (unsigned k = 0; k < NOPS - 1; k++) {
		sx_random_state(&s, sse3_ops[k].kind);
		cr_expect_eq(run_state(&sse3_ops[k], SX_RM_MIS, &s), 13, "%s misaligned m128", sse3_ops[k].name);
	}
}

Test(sse3, unmasked_exception_keeps_destination)
{
	struct th *t = sx_th();
	struct sx_state s;
	sx_random_state(&s, SX_F32);
	/* inf - inf in element 0 of ADDSUBPS: invalid */
	uint32_t inf = 0x7f800000, one = 0x3f800000;
	for (unsigned k = 0; k < 4; k++) {
		memcpy(&s.xmm[1][4 * k], k ? &one : &inf, 4);
		memcpy(&s.xmm[2][4 * k], k ? &one : &inf, 4);
	}
	s.mxcsr = 0x1f80 & ~(1u << 7);	/* IM clear */
	struct sx_state before = s;
	cr_expect_eq(run_state(&sse3_ops[0], SX_RR, &s), 19, "#XM");
	cr_expect(memcmp(t->cpu->vr[1].b, before.xmm[1], 16) == 0, "destination unchanged");
	cr_expect_eq(t->cpu->mxcsr & 0x3f, MXCSR_IE, "IE recorded");
	t->cpu->cr4 &= ~(uint64_t)CR4_OSXMMEXCPT;
	s = before;
	cr_expect_eq(run_state(&sse3_ops[0], SX_RR, &s), 6, "#UD without CR4.OSXMMEXCPT");
	t->cpu->cr4 |= CR4_OSXMMEXCPT;
	/* masked: the default NaN and IE */
	s = before;
	s.mxcsr = 0x1f80;
	cr_assert_eq(run_state(&sse3_ops[0], SX_RR, &s), -1);
	uint32_t r;
	memcpy(&r, s.xmm[1], 4);
	cr_expect_eq(r, 0xffc00000u);
	cr_expect_eq(s.mxcsr, 0x1f80 | MXCSR_IE);
}

Test(sse3, ud_and_nm)
{
	struct th *t = sx_th();
	struct sx_state s;
	sx_random_state(&s, SX_F32);
	t->cpu->cr4 &= ~(uint64_t)CR4_OSFXSR;
	cr_expect_eq(run_state(&sse3_ops[2], SX_RR, &s), 6);
	t->cpu->cr4 |= CR4_OSFXSR;
	t->cpu->cr0 |= CR0_EM;
	cr_expect_eq(run_state(&sse3_ops[2], SX_RR, &s), 6);
	t->cpu->cr0 &= ~(uint64_t)CR0_EM;
	t->cpu->cr0 |= CR0_TS;
	cr_expect_eq(run_state(&sse3_ops[2], SX_RR, &s), 7);
	t->cpu->cr0 &= ~(uint64_t)CR0_TS;
	/* LDDQU has no register form */
	const struct sx_insn lddqu = { "lddqu", 0xf2, 1, 0xf0, false, false, SX_INT };
	cr_expect_eq(run_state(&lddqu, SX_RR, &s), 6);
}
