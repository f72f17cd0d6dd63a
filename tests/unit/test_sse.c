/*
 * test_sse.c - MMX/SSE/SSE2 architectural rules not covered by the
 * host-differential tests: #UD/#NM availability, #XM vs #UD, #GP on
 * misaligned aligned forms and reserved MXCSR bits, unmasked exceptions
 * leaving the destination alone, MMX state transitions, MASKMOV*, and
 * the FXSAVE/FXRSTOR image in 32- and 64-bit formats.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/simd.h"

static struct th *sse_machine(enum th_mode mode)
{
	struct th *t = th_new(mode);
	t->cpu->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	t->cpu->cr0 &= ~(uint64_t)(CR0_EM | CR0_TS);
	return t;
}

struct avail_case {
	const char *src;
	uint64_t cr0_set, cr4_clear;
	int vector;
};

Test(sse, availability)
{
	static const struct avail_case cases[] = {
		{ "addps xmm0, xmm1", 0, 0, -1 },
		{ "addps xmm0, xmm1", 0, CR4_OSFXSR, 6 },
		{ "addps xmm0, xmm1", CR0_EM, 0, 6 },
		{ "addps xmm0, xmm1", CR0_TS, 0, 7 },
		{ "paddb mm0, mm1", 0, CR4_OSFXSR, -1 },
		{ "paddb mm0, mm1", CR0_EM, 0, 6 },
		{ "paddb mm0, mm1", CR0_TS, 0, 7 },
		{ "paddb xmm0, xmm1", 0, CR4_OSFXSR, 6 },
		{ "emms", CR0_TS, 0, 7 },
		{ "ldmxcsr [0x200000]", 0, CR4_OSFXSR, 6 },
		{ "fxsave [0x200000]", CR0_EM, 0, 7 },
		{ "fxsave [0x200000]", CR0_TS, 0, 7 },
		{ "fxsave [0x200000]", 0, CR4_OSFXSR, -1 },
	};
	for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct th *t = sse_machine(TH_LONG64);
		t->cpu->cr0 |= cases[k].cr0_set;
		t->cpu->cr4 &= ~cases[k].cr4_clear;
		th_write(t, TH_DATA, 0x1f80, 4);
		th_asm(t, cases[k].src);
		th_run(t);
		cr_expect_eq(t->exc_vector, cases[k].vector, "%s: vector %d, want %d", cases[k].src, t->exc_vector,
			     cases[k].vector);
		th_free(t);
	}
}

Test(sse, unmasked_exceptions_xm_or_ud)
{
	for (int osxmm = 0; osxmm < 2; osxmm++) {
		struct th *t = sse_machine(TH_LONG64);
		if (!osxmm)
			t->cpu->cr4 &= ~(uint64_t)CR4_OSXMMEXCPT;
		t->cpu->mxcsr = 0x1f80 & ~(MXCSR_ZE << MXCSR_MASK_SHIFT);
		t->cpu->vr[0].q[0] = 0x3f8000003f800000ull;	/* 1.0, 1.0 */
		t->cpu->vr[0].q[1] = 0x3f8000003f800000ull;
		t->cpu->vr[1].q[0] = 0x3f80000000000000ull;	/* 0.0, 1.0 */
		t->cpu->vr[1].q[1] = 0x3f8000003f800000ull;
		th_asm(t, "divps xmm0, xmm1");
		th_run(t);
		cr_expect_eq(t->exc_vector, osxmm ? 19 : 6);
		cr_expect_eq(t->cpu->vr[0].q[0], 0x3f8000003f800000ull, "destination unchanged");
		cr_expect_eq(t->cpu->mxcsr & 0x3f, MXCSR_ZE);
		th_free(t);
	}
	/* Unmasked underflow is reported for an exact tiny result too; a
	 * masked one with FTZ flushes to zero and sets UE and PE. */
	struct th *t = sse_machine(TH_LONG64);
	t->cpu->mxcsr = 0x1f80 & ~(MXCSR_UE << MXCSR_MASK_SHIFT);
	t->cpu->vr[0].d[0] = 0x00800000;	/* 2^-126 */
	t->cpu->vr[1].d[0] = 0x3f000000;	/* 0.5: exact denormal result */
	th_asm(t, "mulss xmm0, xmm1");
	th_run(t);
	cr_expect_eq(t->exc_vector, 19);
	cr_expect_eq(t->cpu->mxcsr & 0x3f, MXCSR_UE);
	cr_expect_eq(t->cpu->vr[0].d[0], 0x00800000u);
	t->cpu->mxcsr = 0x1f80 | MXCSR_FTZ;
	th_asm(t, "mulss xmm0, xmm1");
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->vr[0].d[0], 0u);
	th_free(t);
}

Test(sse, alignment_and_mxcsr_gp)
{
	static const struct { const char *src; int vector; } cases[] = {
		{ "movaps xmm0, [0x200008]", 13 },
		{ "movaps [0x200008], xmm0", 13 },
		{ "movdqa xmm0, [0x200008]", 13 },
		{ "addps xmm0, [0x200008]", 13 },
		{ "paddb xmm0, [0x200008]", 13 },
		{ "pshufd xmm0, [0x200008], 0", 13 },
		{ "movntps [0x200008], xmm0", 13 },
		{ "movups xmm0, [0x200008]", -1 },
		{ "movdqu xmm0, [0x200008]", -1 },
		{ "addss xmm0, [0x200004]", -1 },
		{ "cvtps2pd xmm0, [0x200004]", -1 },
		{ "paddb mm0, [0x200001]", -1 },
		{ "movaps xmm0, [0x200010]", -1 },
		{ "ldmxcsr [0x200020]", 13 },		/* bit 16 set */
		{ "ldmxcsr [0x200024]", -1 },
		{ "fxsave [0x200008]", 13 },
		{ "fxrstor [0x200008]", 13 },
	};
	for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct th *t = sse_machine(TH_LONG64);
		th_write(t, TH_DATA + 0x20, 0x11f80, 4);
		th_write(t, TH_DATA + 0x24, 0xffff, 4);
		th_asm(t, cases[k].src);
		th_run(t);
		cr_expect_eq(t->exc_vector, cases[k].vector, "%s: vector %d", cases[k].src, t->exc_vector);
		if (cases[k].vector == 13)
			cr_expect_eq(t->exc_error, 0u);
		th_free(t);
	}
}

Test(sse, mmx_state)
{
	struct th *t = sse_machine(TH_LONG64);
	t->cpu->fpu.fsw = 5u << 11;
	t->cpu->fpu.ftw = 0xffff;
	th_asm(t, "mov eax, 7\n movd mm3, eax\n paddb mm3, mm3");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq((t->cpu->fpu.fsw >> 11) & 7, 0u);
	cr_expect_eq(t->cpu->fpu.ftw, 0u);
	cr_expect_eq(t->cpu->fpu.st[3].mant, 14u);
	cr_expect_eq(t->cpu->fpu.st[3].sexp, 0xffffu);
	th_asm(t, "emms");
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->cpu->fpu.ftw, 0xffffu);
	/* A pending x87 exception is delivered as #MF first. */
	t->cpu->fpu.fsw |= 0x80;
	th_asm(t, "paddb mm0, mm1");
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->exc_vector, 16);
	th_free(t);
}

Test(sse, maskmov)
{
	struct th *t = sse_machine(TH_LONG64);
	for (unsigned k = 0; k < 32; k++)
		th_write(t, TH_DATA + k, 0xaa, 1);
	t->cpu->vr[1].q[0] = 0x8000800000000080ull;
	t->cpu->vr[1].q[1] = 0x8000000000000000ull;
	t->cpu->vr[0].q[0] = 0x0706050403020100ull;
	t->cpu->vr[0].q[1] = 0x0f0e0d0c0b0a0908ull;
	t->cpu->fpu.st[1].mant = 0x80ull;
	t->cpu->fpu.st[0].mant = 0x1122334455667788ull;
	th_asm(t, "mov rdi, 0x200000\n maskmovdqu xmm0, xmm1\n mov rdi, 0x200010\n maskmovq mm0, mm1");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	uint8_t m[32];
	th_peek(t, TH_DATA, m, 32);
	cr_expect_eq(m[0], 0x00);
	cr_expect_eq(m[1], 0xaa);
	cr_expect_eq(m[5], 0x05);
	cr_expect_eq(m[7], 0x07);
	cr_expect_eq(m[15], 0x0f);
	cr_expect_eq(m[14], 0xaa);
	cr_expect_eq(m[16], 0x88);
	cr_expect_eq(m[17], 0xaa);
	th_free(t);
}

/* Fills recognisable state, runs FXSAVE, checks the image. */
static void fxsave_layout(enum th_mode mode, bool rexw)
{
	struct th *t = sse_machine(mode);
	struct cpu *c = t->cpu;
	c->fpu.fcw = 0x037f;
	c->fpu.fsw = 0x3000 | 0x20;	/* TOP = 6 */
	c->fpu.ftw = 0xffff & ~(3u << 12) & ~(3u << 14);	/* R6, R7 valid */
	c->fpu.st[6] = (struct f80){ 0x8000000000000000ull, 0x3fff };	/* ST0 = 1.0 */
	c->fpu.st[7] = (struct f80){ 0xc000000000000000ull, 0x4000 };	/* ST1 = 3.0 */
	c->fpu.fop = 0x123;
	c->fpu.fip = 0x1122334455ull;
	c->fpu.fdp = 0x6677889900ull;
	c->fpu.fcs = 0x23;
	c->fpu.fds = 0x2b;
	c->mxcsr = 0x1f80 | MXCSR_PE;
	for (unsigned k = 0; k < 16; k++)
		memset(&c->vr[k], 0x10 + k, 32);
	for (unsigned k = 0; k < 512; k++)
		th_write(t, TH_DATA + k, 0xcc, 1);
	th_asm(t, rexw ? "fxsave64 [0x200000]" : "fxsave [0x200000]");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	uint8_t b[512];
	th_peek(t, TH_DATA, b, 512);
	uint16_t w;
	uint32_t d;
	uint64_t q;
	memcpy(&w, b, 2); cr_expect_eq(w, 0x037f);
	memcpy(&w, b + 2, 2); cr_expect_eq(w, 0x3020);
	cr_expect_eq(b[4], 0xc0, "abridged tag %02x", b[4]);
	memcpy(&w, b + 6, 2); cr_expect_eq(w, 0x123);
	if (rexw) {
		memcpy(&q, b + 8, 8); cr_expect_eq(q, 0x1122334455ull);
		memcpy(&q, b + 16, 8); cr_expect_eq(q, 0x6677889900ull);
	} else {
		memcpy(&d, b + 8, 4); cr_expect_eq(d, 0x22334455u);
		memcpy(&w, b + 12, 2); cr_expect_eq(w, 0x23);
		memcpy(&d, b + 16, 4); cr_expect_eq(d, 0x77889900u);
		memcpy(&w, b + 20, 2); cr_expect_eq(w, 0x2b);
	}
	memcpy(&d, b + 24, 4); cr_expect_eq(d, 0x1fa0u);
	memcpy(&d, b + 28, 4); cr_expect_eq(d, 0xffffu);
	memcpy(&q, b + 32, 8); cr_expect_eq(q, 0x8000000000000000ull);	/* ST0 */
	memcpy(&w, b + 40, 2); cr_expect_eq(w, 0x3fff);
	memcpy(&q, b + 48, 8); cr_expect_eq(q, 0xc000000000000000ull);	/* ST1 */
	cr_expect_eq(b[160], 0x10);
	cr_expect_eq(b[160 + 16 * 7 + 15], 0x17);
	bool x64 = mode == TH_LONG64;
	cr_expect_eq(b[160 + 16 * 8], x64 ? 0x18 : 0xcc);
	cr_expect_eq(b[160 + 16 * 15], x64 ? 0x1f : 0xcc);
	cr_expect_eq(b[464], 0xcc, "software area untouched");

	/* FXRSTOR round trip of a modified image. */
	b[0] = 0x7f; b[1] = 0x02;		/* FCW 0x027f */
	d = 0x1f80 | MXCSR_DAZ;
	memcpy(b + 24, &d, 4);
	b[160] = 0x55;
	b[4] = 0x80;				/* only R7 not empty */
	th_poke(t, TH_DATA, b, 512);
	memset(&c->vr[0], 0, 32);
	th_asm(t, rexw ? "fxrstor64 [0x200000]" : "fxrstor [0x200000]");
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(c->fpu.fcw, 0x027f);
	cr_expect_eq(c->mxcsr, 0x1f80 | MXCSR_DAZ);
	cr_expect_eq(c->vr[0].b[0], 0x55);
	cr_expect_eq(c->vr[0].b[16], 0x00, "upper YMM half untouched");
	cr_expect_eq(c->fpu.st[6].mant, 0x8000000000000000ull);
	cr_expect_eq((c->fpu.ftw >> 12) & 3, 3u, "R6 empty");
	cr_expect_neq((c->fpu.ftw >> 14) & 3, 3u, "R7 not empty");
	/* Reserved MXCSR bits in the image: #GP(0), nothing restored. */
	d = 0x10000 | 0x1f80;
	memcpy(b + 24, &d, 4);
	b[0] = 0x7f; b[1] = 0x03;
	th_poke(t, TH_DATA, b, 512);
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->exc_vector, 13);
	cr_expect_eq(c->fpu.fcw, 0x027f);
	th_free(t);
}

Test(sse, fxsave_64_rexw) { fxsave_layout(TH_LONG64, true); }
Test(sse, fxsave_64) { fxsave_layout(TH_LONG64, false); }
Test(sse, fxsave_32) { fxsave_layout(TH_PROT32, false); }

Test(sse, fxsave_ffxsr)
{
	struct th *t = sse_machine(TH_LONG64);
	const struct cpu_model *m = cpu_model_find("zen2");
	cr_assert(m);
	t->cpu->model = m;
	memcpy(t->cpu->features, m->features, sizeof m->features);
	/* Zen 2 reports FFXSR (CPUID 8000_0001h EDX bit 25); set it in case
	 * the model table does not (yet). */
	t->cpu->features[FEAT_FFXSR / 32] |= 1u << (FEAT_FFXSR % 32);
	t->cpu->efer |= EFER_FFXSR;
	memset(&t->cpu->vr[0], 0x42, 32);
	for (unsigned k = 0; k < 512; k++)
		th_write(t, TH_DATA + k, 0xcc, 1);
	th_asm(t, "fxsave [0x200000]");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, TH_DATA + 160, 1), 0xccu, "fast FXSAVE skips the XMM registers");
	cr_expect_eq(th_read(t, TH_DATA + 24, 4), 0x1f80u);
	/* Not at CPL 3 (the guest would see its XMM state saved). */
	t->cpu->efer &= ~(uint64_t)EFER_FFXSR;
	th_asm(t, "fxsave [0x200000]");
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(th_read(t, TH_DATA + 160, 1), 0x42u, "normal FXSAVE saves them");
	th_free(t);
}

/* Tininess is detected after rounding (as the host CPUs the differential
 * suite ran on do): 2^-126 * (1 - 2^-25) rounds to the smallest normal,
 * so neither UE nor an FTZ flush happens, only PE. */
Test(sse, tininess_after_rounding)
{
	for (int ftz = 0; ftz < 2; ftz++) {
		struct th *t = sse_machine(TH_LONG64);
		t->cpu->mxcsr = 0x1f80 | (ftz ? MXCSR_FTZ : 0);
		t->cpu->vr[1].q[0] = 0x380ffffff0000000ull;	/* 2^-126 * (1 - 2^-25) */
		th_asm(t, "cvtsd2ss xmm0, xmm1");
		th_run(t);
		cr_assert_eq(t->exc_vector, -1);
		cr_expect_eq(t->cpu->vr[0].d[0], 0x00800000u);
		cr_expect_eq(t->cpu->mxcsr & 0x3f, MXCSR_PE);
		th_free(t);
	}
}
