/*
 * test_sse41.c - SSE4.1 instructions: host-differential runs of every
 * entry on random and edge operands for each class of imm8 value
 * (ROUNDxx: every rounding/precision control; DPPS: every mask; INSERTPS:
 * every count/zero-mask; extract/insert: every element), in register,
 * high-register (REX), aligned memory and, where the SDM allows it,
 * misaligned memory forms, comparing XMM, GPRs, flags (PTEST), memory and
 * MXCSR bit for bit under random rounding/DAZ/FTZ; alignment #GP of the
 * m128 forms; #XM/#UD for unmasked exceptions with the destination kept;
 * #UD/#NM.
 */
#include <criterion/criterion.h>

#include "sse4_diff.h"

/* Forms to run: bit per enum sx_form. */
#define F(x) (1u << (x))
#define XMMF (F(SX_RR) | F(SX_RR_HI) | F(SX_RM))
#define UNAL (F(SX_RR) | F(SX_RR_HI) | F(SX_RM) | F(SX_RM_MIS))
#define GPRF (F(SX_RG) | F(SX_RG_HI) | F(SX_RM) | F(SX_RM_MIS))

struct case41 {
	struct sx_insn x;
	unsigned forms;
	unsigned imm_end, imm_step;	/* imm values 0, step, ... < end (1 value when no imm) */
	unsigned nsets;
	bool aligned;			/* m128 operand needs 16-byte alignment */
};

#define NOIMM(name, opc, kind, forms, al) { { name, 0x66, 2, opc, false, false, kind }, forms, 1, 1, 48, al }
#define IMM(name, opc, kind, forms, end, step, n, al) { { name, 0x66, 3, opc, true, false, kind }, forms, end, step, n, al }

static const struct case41 cases[] = {
	NOIMM("pblendvb", 0x10, SX_INT, XMMF, true),
	NOIMM("blendvps", 0x14, SX_INT, XMMF, true),
	NOIMM("blendvpd", 0x15, SX_INT, XMMF, true),
	NOIMM("ptest", 0x17, SX_INT, XMMF, true),
	NOIMM("pmovsxbw", 0x20, SX_INT, UNAL, false),
	NOIMM("pmovsxbd", 0x21, SX_INT, UNAL, false),
	NOIMM("pmovsxbq", 0x22, SX_INT, UNAL, false),
	NOIMM("pmovsxwd", 0x23, SX_INT, UNAL, false),
	NOIMM("pmovsxwq", 0x24, SX_INT, UNAL, false),
	NOIMM("pmovsxdq", 0x25, SX_INT, UNAL, false),
	NOIMM("pmuldq", 0x28, SX_INT, XMMF, true),
	NOIMM("pcmpeqq", 0x29, SX_INT, XMMF, true),
	NOIMM("movntdqa", 0x2a, SX_INT, F(SX_RM), true),
	NOIMM("packusdw", 0x2b, SX_INT, XMMF, true),
	NOIMM("pmovzxbw", 0x30, SX_INT, UNAL, false),
	NOIMM("pmovzxbd", 0x31, SX_INT, UNAL, false),
	NOIMM("pmovzxbq", 0x32, SX_INT, UNAL, false),
	NOIMM("pmovzxwd", 0x33, SX_INT, UNAL, false),
	NOIMM("pmovzxwq", 0x34, SX_INT, UNAL, false),
	NOIMM("pmovzxdq", 0x35, SX_INT, UNAL, false),
	NOIMM("pminsb", 0x38, SX_INT, XMMF, true),
	NOIMM("pminsd", 0x39, SX_INT, XMMF, true),
	NOIMM("pminuw", 0x3a, SX_INT, XMMF, true),
	NOIMM("pminud", 0x3b, SX_INT, XMMF, true),
	NOIMM("pmaxsb", 0x3c, SX_INT, XMMF, true),
	NOIMM("pmaxsd", 0x3d, SX_INT, XMMF, true),
	NOIMM("pmaxuw", 0x3e, SX_INT, XMMF, true),
	NOIMM("pmaxud", 0x3f, SX_INT, XMMF, true),
	NOIMM("pmulld", 0x40, SX_INT, XMMF, true),
	NOIMM("phminposuw", 0x41, SX_INT, XMMF, true),
	IMM("roundps", 0x08, SX_F32, XMMF, 16, 1, 48, true),
	IMM("roundpd", 0x09, SX_F64, XMMF, 16, 1, 48, true),
	IMM("roundss", 0x0a, SX_F32, UNAL, 16, 1, 48, false),
	IMM("roundsd", 0x0b, SX_F64, UNAL, 16, 1, 48, false),
	IMM("roundps", 0x08, SX_F32, F(SX_RR), 256, 0x1f, 8, true),	/* bits 7:4 ignored */
	IMM("blendps", 0x0c, SX_INT, XMMF, 16, 1, 4, true),
	IMM("blendpd", 0x0d, SX_INT, XMMF, 4, 1, 4, true),
	IMM("pblendw", 0x0e, SX_INT, XMMF, 256, 7, 4, true),
	IMM("pextrb", 0x14, SX_INT, GPRF, 256, 1, 2, false),
	IMM("pextrw", 0x15, SX_INT, GPRF, 256, 1, 2, false),
	IMM("pextrd", 0x16, SX_INT, GPRF, 256, 1, 2, false),
	IMM("extractps", 0x17, SX_F32, GPRF, 256, 1, 2, false),
	IMM("pinsrb", 0x20, SX_INT, GPRF, 256, 1, 2, false),
	IMM("insertps", 0x21, SX_F32, F(SX_RR) | F(SX_RR_HI) | F(SX_RM) | F(SX_RM_MIS), 256, 1, 3, false),
	IMM("pinsrd", 0x22, SX_INT, GPRF, 256, 1, 2, false),
	IMM("dpps", 0x40, SX_F32, F(SX_RR) | F(SX_RM), 256, 1, 24, true),
	IMM("dppd", 0x41, SX_F64, F(SX_RR) | F(SX_RM), 256, 1, 24, true),
	IMM("mpsadbw", 0x42, SX_INT, XMMF, 8, 1, 24, true),
	IMM("mpsadbw", 0x42, SX_INT, F(SX_RR), 256, 0x29, 4, true),
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void setup(void)
{
	sx_init();
}

static void teardown(void)
{
	sx_fini();
}

TestSuite(sse41, .init = setup, .fini = teardown);

static void need_sse41(void)
{
	if (!sx_host_has(19))
		cr_skip_test("host has no SSE4.1");
}

static unsigned run_case(const struct sx_insn *x, const struct case41 *c)
{
	unsigned bad = 0;
	for (unsigned imm = 0; imm < c->imm_end; imm += c->imm_step)
		for (unsigned f = 0; f <= SX_RG_HI; f++)
			if (c->forms >> f & 1)
				bad += sx_diff(x, (enum sx_form)f, imm, c->nsets);
	return bad;
}

/* One Criterion test per group keeps each process short. */
static void diff_range(const char *first, const char *last)
{
	need_sse41();
	unsigned bad = 0, k = 0;
	while (k < NCASES && strcmp(cases[k].x.name, first))
		k++;
	for (; k < NCASES; k++) {
		bad += run_case(&cases[k].x, &cases[k]);
		if (!strcmp(cases[k].x.name, last))
			break;
	}
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

Test(sse41, diff_integer) { diff_range("pblendvb", "phminposuw"); }
Test(sse41, diff_round) { diff_range("roundps", "roundps"); diff_range("roundpd", "roundsd"); }
Test(sse41, diff_blend_extract_insert) { diff_range("blendps", "pinsrd"); }
Test(sse41, diff_dot_product_mpsadbw) { diff_range("dpps", "mpsadbw"); }

Test(sse41, diff_rexw_forms)
{
	need_sse41();
	static const struct sx_insn q[] = {
		{ "pextrq", 0x66, 3, 0x16, true, true, SX_INT },
		{ "pinsrq", 0x66, 3, 0x22, true, true, SX_INT },
		{ "extractps.w", 0x66, 3, 0x17, true, true, SX_F32 },
		{ "pextrb.w", 0x66, 3, 0x14, true, true, SX_INT },
		{ "pinsrb.w", 0x66, 3, 0x20, true, true, SX_INT },
	};
	unsigned bad = 0;
	for (unsigned k = 0; k < sizeof(q) / sizeof(q[0]); k++)
		for (unsigned imm = 0; imm < 4; imm++)
			for (unsigned f = SX_RM; f <= SX_RG_HI; f++)
				bad += sx_diff(&q[k], (enum sx_form)f, imm, 4);
	const struct sx_insn ptest_w = { "ptest.w", 0x66, 2, 0x17, false, true, SX_INT };
	bad += sx_diff(&ptest_w, SX_RR_HI, 0, 16);
	bad += sx_diff(&ptest_w, SX_RM, 0, 16);
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

static int run_state(const struct sx_insn *x, enum sx_form f, unsigned imm, struct sx_state *s)
{
	uint8_t code[16];
	unsigned len = sx_encode(code, x, f, imm);
	return sx_emulate(code, len, s);
}

Test(sse41, alignment)
{
	struct sx_state s;
	for (unsigned k = 0; k < NCASES; k++) {
		sx_random_state(&s, SX_INT);
		int v = run_state(&cases[k].x, SX_RM_MIS, 0, &s);
		cr_expect_eq(v, cases[k].aligned ? 13 : -1, "%s misaligned: vector %d", cases[k].x.name, v);
	}
}

Test(sse41, round_unmasked_invalid)
{
	struct th *t = sx_th();
	struct sx_state s, before;
	const struct sx_insn rps = { "roundps", 0x66, 3, 0x08, true, false, SX_F32 };
	sx_random_state(&s, SX_F32);
	uint32_t snan = 0x7f800001, half = 0x3f000000;
	for (unsigned k = 0; k < 4; k++)
		memcpy(&s.xmm[2][4 * k], k == 2 ? &snan : &half, 4);
	s.mxcsr = 0x1f80 & ~(1u << 7);
	before = s;
	cr_expect_eq(run_state(&rps, SX_RR, 0, &s), 19);
	cr_expect(memcmp(t->cpu->vr[1].b, before.xmm[1], 16) == 0, "destination unchanged");
	cr_expect_eq(t->cpu->mxcsr & 0x3f, MXCSR_IE);
	/* precision unmasked: 0.5 rounds inexactly, #XM unless imm8[3] */
	s = before;
	memcpy(&s.xmm[2][8], &half, 4);
	s.mxcsr = 0x1f80 & ~(1u << 12);
	cr_expect_eq(run_state(&rps, SX_RR, 0, &s), 19, "PE unmasked");
	s = before;
	memcpy(&s.xmm[2][8], &half, 4);
	s.mxcsr = 0x1f80 & ~(1u << 12);
	cr_expect_eq(run_state(&rps, SX_RR, 8, &s), -1, "PE suppressed by imm8[3]");
	cr_expect_eq(s.mxcsr, 0x1f80 & ~(1u << 12));
	t->cpu->cr4 &= ~(uint64_t)CR4_OSXMMEXCPT;
	s = before;
	cr_expect_eq(run_state(&rps, SX_RR, 0, &s), 6, "#UD when CR4.OSXMMEXCPT = 0");
}

Test(sse41, ud_and_nm)
{
	struct th *t = sx_th();
	struct sx_state s;
	const struct sx_insn x = { "pmulld", 0x66, 2, 0x40, false, false, SX_INT };
	sx_random_state(&s, SX_INT);
	t->cpu->cr4 &= ~(uint64_t)CR4_OSFXSR;
	cr_expect_eq(run_state(&x, SX_RR, 0, &s), 6);
	t->cpu->cr4 |= CR4_OSFXSR;
	t->cpu->cr0 |= CR0_TS;
	cr_expect_eq(run_state(&x, SX_RR, 0, &s), 7);
	t->cpu->cr0 &= ~(uint64_t)CR0_TS;
	/* MOVNTDQA has no register form; without the 66 prefix 0F 38 40 is undefined */
	const struct sx_insn nt = { "movntdqa", 0x66, 2, 0x2a, false, false, SX_INT };
	cr_expect_eq(run_state(&nt, SX_RR, 0, &s), 6);
	const struct sx_insn np = { "pmulld/np", 0, 2, 0x40, false, false, SX_INT };
	cr_expect_eq(run_state(&np, SX_RR, 0, &s), 6);
}

/* The same encodings outside 64-bit mode (no REX; 16- and 32-bit
 * addressing), assembled by nasm. */
Test(sse41, legacy_modes)
{
	static const enum th_mode modes[] = { TH_PROT32, TH_REAL };
	for (unsigned m = 0; m < 2; m++) {
		struct th *t = th_new(modes[m]);
		uint64_t data = modes[m] == TH_REAL ? 0x2000 : TH_DATA;
		th_write(t, data, 0xa5, 1);
		char src[512];
		snprintf(src, sizeof(src),
			 "mov esi, 0x%llx\n"
			 "pinsrd xmm1, eax, 1\n"
			 "pinsrb xmm1, [%s], 15\n"
			 "pextrd ebx, xmm1, 1\n"
			 "pextrb ecx, xmm1, 15\n"
			 "pextrw [%s+2], xmm1, 4\n"
			 "ptest xmm1, xmm1\n",
			 (unsigned long long)data, m ? "si" : "esi", m ? "si" : "esi");
		th_asm(t, src);
		memset(t->cpu->vr[1].b, 0, 32);
		t->cpu->vr[1].w[4] = 0xbeef;
		t->cpu->regs[R_AX] = 0x12345678;
		th_run(t);
		cr_expect_eq(t->exc_vector, -1, "mode %u", m);
		cr_expect_eq(t->cpu->regs[R_BX] & 0xffffffff, 0x12345678);
		cr_expect_eq(t->cpu->regs[R_CX] & 0xffffffff, 0xa5);
		cr_expect_eq(th_read(t, data + 2, 2), 0xbeef);
		cr_expect_eq(th_flags(t) & (FL_ZF | FL_CF), FL_CF, "PTEST x, x: ZF = 0, CF = 1");
		th_free(t);
	}
}
