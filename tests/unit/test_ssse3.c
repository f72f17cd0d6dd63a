/*
 * test_ssse3.c - SSSE3 instructions, MMX and XMM forms: host-differential
 * runs on random and edge operands (register, high-register and memory
 * forms), PALIGNR for every shift count, alignment #GP of the XMM memory
 * forms, #UD/#NM rules and the MMX state transition.
 */
#include <criterion/criterion.h>

#include "sse4_diff.h"

#define NSETS 64

static const struct sx_insn ssse3_ops[] = {
	{ "pshufb", 0, 2, 0x00, false, false, SX_INT },
	{ "phaddw", 0, 2, 0x01, false, false, SX_INT },
	{ "phaddd", 0, 2, 0x02, false, false, SX_INT },
	{ "phaddsw", 0, 2, 0x03, false, false, SX_INT },
	{ "pmaddubsw", 0, 2, 0x04, false, false, SX_INT },
	{ "phsubw", 0, 2, 0x05, false, false, SX_INT },
	{ "phsubd", 0, 2, 0x06, false, false, SX_INT },
	{ "phsubsw", 0, 2, 0x07, false, false, SX_INT },
	{ "psignb", 0, 2, 0x08, false, false, SX_INT },
	{ "psignw", 0, 2, 0x09, false, false, SX_INT },
	{ "psignd", 0, 2, 0x0a, false, false, SX_INT },
	{ "pmulhrsw", 0, 2, 0x0b, false, false, SX_INT },
	{ "pabsb", 0, 2, 0x1c, false, false, SX_INT },
	{ "pabsw", 0, 2, 0x1d, false, false, SX_INT },
	{ "pabsd", 0, 2, 0x1e, false, false, SX_INT },
};

static void setup(void)
{
	sx_init();
}

static void teardown(void)
{
	sx_fini();
}

TestSuite(ssse3, .init = setup, .fini = teardown);

static void need_ssse3(void)
{
	if (!sx_host_has(9))
		cr_skip_test("host has no SSSE3");
}

Test(ssse3, diff_mmx_and_xmm)
{
	need_ssse3();
	unsigned bad = 0;
	for (unsigned k = 0; k < sizeof(ssse3_ops) / sizeof(ssse3_ops[0]); k++) {
		struct sx_insn x = ssse3_ops[k];
		static const enum sx_form forms[] = { SX_RR, SX_RR_HI, SX_RM };
		for (unsigned f = 0; f < 3; f++) {
			x.pfx = 0;
			bad += sx_diff(&x, forms[f], 0, NSETS);
			x.pfx = 0x66;
			bad += sx_diff(&x, forms[f], 0, NSETS);
		}
		x.pfx = 0;	/* MMX memory operands need no alignment */
		bad += sx_diff(&x, SX_RM_MIS, 0, 8);
	}
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

Test(ssse3, diff_palignr_every_count)
{
	need_ssse3();
	unsigned bad = 0;
	struct sx_insn x = { "palignr", 0, 3, 0x0f, true, false, SX_INT };
	for (unsigned imm = 0; imm < 256; imm += (imm < 40 ? 1 : 23)) {
		x.pfx = 0;
		bad += sx_diff(&x, imm & 1 ? SX_RM : SX_RR, imm, 8);
		x.pfx = 0x66;
		bad += sx_diff(&x, imm & 1 ? SX_RM : SX_RR_HI, imm, 8);
	}
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

/* Runs one encoded form on a random state; returns the vector or -1. */
static int run_once(const struct sx_insn *x, enum sx_form f, unsigned imm, struct sx_state *s)
{
	uint8_t code[16];
	unsigned len = sx_encode(code, x, f, imm);
	sx_random_state(s, x->kind);
	return sx_emulate(code, len, s);
}

Test(ssse3, xmm_memory_must_be_aligned)
{
	struct sx_state s;
	for (unsigned k = 0; k < sizeof(ssse3_ops) / sizeof(ssse3_ops[0]); k++) {
		struct sx_insn x = ssse3_ops[k];
		x.pfx = 0x66;
		cr_expect_eq(run_once(&x, SX_RM_MIS, 0, &s), 13, "%s m128 misaligned", x.name);
	}
	struct sx_insn p = { "palignr", 0x66, 3, 0x0f, true, false, SX_INT };
	cr_expect_eq(run_once(&p, SX_RM_MIS, 4, &s), 13);
	p.pfx = 0;
	cr_expect_eq(run_once(&p, SX_RM_MIS, 4, &s), -1);
}

Test(ssse3, ud_and_nm)
{
	struct th *t = sx_th();
	struct sx_state s;
	struct sx_insn x = { "pshufb", 0x66, 2, 0x00, false, false, SX_INT };
	struct sx_insn m = { "pshufb", 0, 2, 0x00, false, false, SX_INT };
	t->cpu->cr4 &= ~(uint64_t)CR4_OSFXSR;
	cr_expect_eq(run_once(&x, SX_RR, 0, &s), 6, "XMM form without CR4.OSFXSR");
	cr_expect_eq(run_once(&m, SX_RR, 0, &s), -1, "MMX form does not need CR4.OSFXSR");
	t->cpu->cr4 |= CR4_OSFXSR;
	t->cpu->cr0 |= CR0_EM;
	cr_expect_eq(run_once(&x, SX_RR, 0, &s), 6, "XMM form with CR0.EM");
	cr_expect_eq(run_once(&m, SX_RR, 0, &s), 6, "MMX form with CR0.EM");
	t->cpu->cr0 &= ~(uint64_t)CR0_EM;
	t->cpu->cr0 |= CR0_TS;
	cr_expect_eq(run_once(&x, SX_RR, 0, &s), 7, "XMM form with CR0.TS");
	cr_expect_eq(run_once(&m, SX_RR, 0, &s), 7, "MMX form with CR0.TS");
	t->cpu->cr0 &= ~(uint64_t)CR0_TS;
	cr_expect_eq(run_once(&x, SX_RR, 0, &s), -1);
	/* LOCK is never allowed */
	uint8_t code[16] = { 0xf0 };
	unsigned len = sx_encode(code + 1, &x, SX_RM, 0) + 1;
	sx_random_state(&s, SX_INT);
	cr_expect_eq(sx_emulate(code, len, &s), 6, "LOCK PSHUFB");
}

Test(ssse3, mmx_state_transition)
{
	struct th *t = sx_th();
	struct sx_state s;
	struct sx_insn m = { "pabsb", 0, 2, 0x1c, false, false, SX_INT };
	uint8_t code[16];
	unsigned len = sx_encode(code, &m, SX_RR, 0);
	sx_random_state(&s, SX_INT);
	s.mm[2] = 0x80ff7f0001fe8081ull;
	th_code(t, code, len);
	sx_load(t, &s);
	t->cpu->fpu.fsw = 5u << 11;	/* TOP = 5 */
	t->cpu->fpu.ftw = 0xffff;	/* all empty */
	th_run_n(t, 4);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->fpu.st[1].mant, 0x80017f000102807full);
	cr_expect_eq(t->cpu->fpu.st[1].sexp, 0xffff, "an MMX write sets the exponent to all ones");
	cr_expect_eq((t->cpu->fpu.fsw >> 11) & 7, 0, "TOP = 0 after an MMX instruction");
	cr_expect_eq(t->cpu->fpu.ftw, 0, "all registers valid after an MMX instruction");
}
