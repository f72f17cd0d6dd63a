/*
 * test_sse42.c - SSE4.2: PCMPGTQ and the string compares PCMPESTRI,
 * PCMPESTRM, PCMPISTRI, PCMPISTRM, host-differential over every imm8
 * control value (element format, aggregation, polarity, output
 * selection, and the ignored bit 7), strings with embedded zeros from a
 * small alphabet, explicit lengths including negative, saturating and
 * 64-bit (REX.W) values; results in ECX/XMM0 and CF/ZF/SF/OF/AF/PF
 * compared exactly. The string instructions need no alignment; PCMPGTQ
 * does.
 */
#include <criterion/criterion.h>

#include "sse4_diff.h"

static void setup(void)
{
	sx_init();
}

static void teardown(void)
{
	sx_fini();
}

TestSuite(sse42, .init = setup, .fini = teardown);

static void need_sse42(void)
{
	if (!sx_host_has(20))
		cr_skip_test("host has no SSE4.2");
}

static const struct sx_insn pcmpgtq = { "pcmpgtq", 0x66, 2, 0x37, false, false, SX_INT };

Test(sse42, diff_pcmpgtq)
{
	need_sse42();
	unsigned bad = sx_diff(&pcmpgtq, SX_RR, 0, 128) + sx_diff(&pcmpgtq, SX_RR_HI, 0, 32) +
		       sx_diff(&pcmpgtq, SX_RM, 0, 32);
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

/* All imm8 values 0..127 (plus a few with bit 7) of one string compare. */
static unsigned diff_strcmp(uint8_t opc, const char *name, bool rexw)
{
	unsigned bad = 0;
	for (unsigned imm = 0; imm < 128 + 4; imm++) {
		unsigned v = imm < 128 ? imm : 0x80 | (imm * 37 % 128);
		struct sx_insn x = { name, 0x66, 3, opc, true, rexw, (v & 1) ? SX_STR16 : SX_STR8 };
		bad += sx_diff(&x, SX_RR, v, 24);
		bad += sx_diff(&x, (imm & 1) ? SX_RM_MIS : SX_RM, v, 8);
		if (imm % 16 == 0)
			bad += sx_diff(&x, SX_RR_HI, v, 8);
	}
	return bad;
}

Test(sse42, diff_pcmpestri) { need_sse42(); cr_expect_eq(diff_strcmp(0x61, "pcmpestri", false), 0); }
Test(sse42, diff_pcmpestrm) { need_sse42(); cr_expect_eq(diff_strcmp(0x60, "pcmpestrm", false), 0); }
Test(sse42, diff_pcmpistri) { need_sse42(); cr_expect_eq(diff_strcmp(0x63, "pcmpistri", false), 0); }
Test(sse42, diff_pcmpistrm) { need_sse42(); cr_expect_eq(diff_strcmp(0x62, "pcmpistrm", false), 0); }

Test(sse42, diff_explicit_rexw)
{
	need_sse42();
	unsigned bad = diff_strcmp(0x61, "pcmpestri.w", true) + diff_strcmp(0x60, "pcmpestrm.w", true);
	cr_expect_eq(bad, 0);
}

static int run_state(const struct sx_insn *x, enum sx_form f, unsigned imm, struct sx_state *s)
{
	uint8_t code[16];
	unsigned len = sx_encode(code, x, f, imm);
	return sx_emulate(code, len, s);
}

Test(sse42, alignment_and_ud)
{
	struct th *t = sx_th();
	struct sx_state s;
	sx_random_state(&s, SX_INT);
	cr_expect_eq(run_state(&pcmpgtq, SX_RM_MIS, 0, &s), 13, "PCMPGTQ m128 must be aligned");
	const struct sx_insn x = { "pcmpistri", 0x66, 3, 0x63, true, false, SX_STR8 };
	sx_random_state(&s, SX_STR8);
	cr_expect_eq(run_state(&x, SX_RM_MIS, 0x0c, &s), -1, "string compares need no alignment");
	t->cpu->cr4 &= ~(uint64_t)CR4_OSFXSR;
	cr_expect_eq(run_state(&x, SX_RR, 0, &s), 6);
	t->cpu->cr4 |= CR4_OSFXSR;
	t->cpu->cr0 |= CR0_TS;
	cr_expect_eq(run_state(&x, SX_RR, 0, &s), 7);
	t->cpu->cr0 &= ~(uint64_t)CR0_TS;
}

/* A worked example from the SDM's description: "equal ordered" finds a
 * substring; the index and flags are checked without the host. */
Test(sse42, substring_search)
{
	struct sx_state s;
	sx_random_state(&s, SX_STR8);
	memset(s.xmm[1], 0, 16);
	memset(s.xmm[2], 0, 16);
	memcpy(s.xmm[1], "lo w", 4);
	memcpy(s.xmm[2], "hello world", 11);
	const struct sx_insn x = { "pcmpistri", 0x66, 3, 0x63, true, false, SX_STR8 };
	cr_assert_eq(run_state(&x, SX_RR, 0x0c, &s), -1);
	cr_expect_eq(s.gpr[1], 3, "index of \"lo w\" in \"hello world\"");
	cr_expect_eq(s.fl & (FL_CF | FL_ZF | FL_SF | FL_OF | FL_AF | FL_PF), FL_CF | FL_ZF | FL_SF);
}
