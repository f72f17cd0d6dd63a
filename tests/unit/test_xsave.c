/*
 * test_xsave.c - XSAVE/XSAVEOPT/XSAVEC/XSAVES/XRSTOR/XRSTORS and CPUID
 * leaf 0xD: layouts in standard and compacted form, the init and
 * modified optimizations, malformed images (#GP with the state
 * unchanged), alignment, privilege, XCR0 rules.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"

#define AREA TH_DATA		/* 64-byte aligned */
#define AREA2 (TH_DATA + 0x2000)

static struct th *xs_machine(uint64_t xcr0)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	c->cr4 |= CR4_OSXSAVE | CR4_PKE;
	c->xcr0 = xcr0;
	c->regs[R_AX] = ~0u;
	c->regs[R_DX] = ~0u;
	return t;
}

/* Distinctive state in every component. */
static void set_state(struct cpu *c, uint8_t seed)
{
	for (unsigned r = 0; r < 16; r++)
		for (unsigned k = 0; k < 32; k++)
			c->vr[r].b[k] = (uint8_t)(seed + r * 32 + k);
	c->mxcsr = 0x1f80 | 0x6000 | 0x21;
	c->fpu.fcw = 0x27f;
	c->fpu.fsw = 0x3800 | 0x20;	/* TOP = 7 */
	c->fpu.ftw = 0x3fff;		/* R7 valid, others empty */
	c->fpu.st[7].mant = 0xc000000000000000ull + seed;
	c->fpu.st[7].sexp = 0x3fff;
	c->fpu.fop = 0x123;
	c->fpu.fip = 0x1122334455ull;
	c->fpu.fdp = 0x66778899aaull;
	c->pkru = 0x55550000u | (uint32_t)seed << 4;	/* key 0 (every page here) stays accessible */
}

static void clear_state(struct cpu *c)
{
	memset(c->vr, 0xee, sizeof(c->vr));
	c->mxcsr = 0x1f80;
	memset(&c->fpu, 0, sizeof(c->fpu));
	c->fpu.fcw = 0x37f;
	c->fpu.ftw = 0xffff;
	c->pkru = 0x12345678;
}

static void run_at(struct th *t, const char *src, uint64_t area)
{
	t->cpu->regs[R_BX] = area;
	th_asm(t, src);
	t->cpu->rip = TH_CODE;
	th_run(t);
	if (t->exc_vector >= 0)
		cr_log_info("%s: vector %d error %#x", src, t->exc_vector, t->exc_error);
}

Test(xsave, standard_layout_and_roundtrip)
{
	struct th *t = xs_machine(0x207);
	struct cpu *c = t->cpu;
	set_state(c, 3);
	uint8_t junk[3072];
	memset(junk, 0xa5, sizeof(junk));
	memset(junk + 512, 0, 64);
	th_poke(t, AREA, junk, sizeof(junk));
	run_at(t, "xsave64 [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, AREA + 0, 2), 0x27f);
	cr_expect_eq(th_read(t, AREA + 2, 2), 0x3820);
	cr_expect_eq(th_read(t, AREA + 4, 1), 0x80, "abridged tag: R7 valid");
	cr_expect_eq(th_read(t, AREA + 6, 2), 0x123);
	cr_expect_eq(th_read(t, AREA + 8, 8), 0x1122334455ull);
	cr_expect_eq(th_read(t, AREA + 16, 8), 0x66778899aaull);
	cr_expect_eq(th_read(t, AREA + 24, 4), c->mxcsr);
	cr_expect_eq(th_read(t, AREA + 28, 4), 0xffff);
	cr_expect_eq(th_read(t, AREA + 32, 8), 0xc000000000000003ull, "ST0 = R7");
	cr_expect_eq(th_read(t, AREA + 40, 2), 0x3fff);
	cr_expect_eq(th_read(t, AREA + 160, 8), c->vr[0].q[0]);
	cr_expect_eq(th_read(t, AREA + 160 + 15 * 16 + 8, 8), c->vr[15].q[1]);
	cr_expect_eq(th_read(t, AREA + 576, 8), c->vr[0].q[2]);
	cr_expect_eq(th_read(t, AREA + 576 + 15 * 16 + 8, 8), c->vr[15].q[3]);
	cr_expect_eq(th_read(t, AREA + 2688, 4), c->pkru);
	cr_expect_eq(th_read(t, AREA + 512, 8), 0x207, "XSTATE_BV");
	cr_expect_eq(th_read(t, AREA + 520, 8), 0, "XCOMP_BV untouched");
	cr_expect_eq(th_read(t, AREA + 416, 8), 0xa5a5a5a5a5a5a5a5ull, "reserved legacy bytes untouched");

	struct cpu saved = *c;
	clear_state(c);
	run_at(t, "xrstor64 [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect(memcmp(c->vr, saved.vr, sizeof(c->vr)) == 0);
	cr_expect_eq(c->mxcsr, saved.mxcsr);
	cr_expect_eq(c->pkru, saved.pkru);
	cr_expect_eq(c->fpu.fcw, 0x27f);
	cr_expect_eq(c->fpu.ftw, 0x3fff);
	cr_expect_eq(c->fpu.st[7].mant, saved.fpu.st[7].mant);
	cr_expect_eq(c->fpu.fip, saved.fpu.fip);
	th_free(t);
}

Test(xsave, rfbm_and_init_components)
{
	struct th *t = xs_machine(0x207);
	struct cpu *c = t->cpu;
	set_state(c, 1);
	for (unsigned r = 0; r < 16; r++)
		memset(c->vr[r].b + 16, 0, 16);	/* AVX in its initial state */
	uint8_t ff[3072];
	memset(ff, 0xff, sizeof(ff));
	memset(ff + 512, 0, 64);
	th_poke(t, AREA, ff, sizeof(ff));
	c->regs[R_AX] = 0x6;	/* SSE and AVX only */
	c->regs[R_DX] = 0;
	run_at(t, "xsave [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, AREA + 512, 8), 0x2, "XSTATE_BV: SSE in use, AVX init");
	cr_expect_eq(th_read(t, AREA + 0, 2), 0xffff, "x87 not requested: not written");
	cr_expect_eq(th_read(t, AREA + 576, 8), 0, "XSAVE writes init components too");
	cr_expect_eq(th_read(t, AREA + 2688, 4), 0xffffffffu, "PKRU not requested");
	/* XRSTOR with XSTATE_BV[2] = 0 initializes the upper halves. */
	memset(c->vr, 0x77, sizeof(c->vr));
	run_at(t, "xrstor [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(c->vr[3].q[3], 0);
	cr_expect_eq(c->vr[3].q[0], 0x6867666564636261ull);
	/* XRSTOR of x87 with XSTATE_BV[0] = 0: initial FCW/FTW. */
	c->fpu.fcw = 0x123;
	c->regs[R_AX] = 1;
	run_at(t, "xrstor [rbx]", AREA);
	cr_expect_eq(c->fpu.fcw, 0x37f);
	cr_expect_eq(c->fpu.ftw, 0xffff);
	th_free(t);
}

Test(xsave, xsaveopt_init_and_modified)
{
	struct th *t = xs_machine(0x207);
	struct cpu *c = t->cpu;
	set_state(c, 9);
	run_at(t, "xsave64 [rbx]", AREA);
	run_at(t, "xrstor64 [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	/* Scribble on the AVX and PKRU parts; the state is unmodified, so
	 * XSAVEOPT to the same area leaves them (modified optimization). */
	th_write(t, AREA + 576, 0x1111, 8);
	th_write(t, AREA + 2688, 0x2222, 4);
	run_at(t, "xsaveopt64 [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, AREA + 576, 8), 0x1111);
	cr_expect_eq(th_read(t, AREA + 2688, 4), 0x2222);
	cr_expect_eq(th_read(t, AREA + 512, 8), 0x207);
	/* A modified component is written. */
	c->vr[0].q[2] = 0xabcdef;
	run_at(t, "xsaveopt64 [rbx]", AREA);
	cr_expect_eq(th_read(t, AREA + 576, 8), 0xabcdef);
	cr_expect_eq(th_read(t, AREA + 2688, 4), 0x2222);
	/* Another address: everything in use is written. */
	run_at(t, "xsaveopt64 [rbx]", AREA2);
	cr_expect_eq(th_read(t, AREA2 + 2688, 4), c->pkru);
	/* Init optimization: PKRU = 0 is not written, XSTATE_BV[9] = 0. */
	c->pkru = 0;
	th_write(t, AREA2 + 2688, 0x3333, 4);
	run_at(t, "xsaveopt64 [rbx]", AREA2);
	cr_expect_eq(th_read(t, AREA2 + 2688, 4), 0x3333);
	cr_expect_eq(th_read(t, AREA2 + 512, 8), 0x7);
	th_free(t);
}

Test(xsave, compacted_xsavec_xsaves_xrstors)
{
	struct th *t = xs_machine(0x207);
	struct cpu *c = t->cpu;
	set_state(c, 5);
	c->regs[R_AX] = 0x203;	/* x87, SSE, PKRU: PKRU right after the header */
	c->regs[R_DX] = 0;
	run_at(t, "xsavec [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, AREA + 512, 8), 0x203);
	cr_expect_eq(th_read(t, AREA + 520, 8), 0x8000000000000203ull);
	cr_expect_eq(th_read(t, AREA + 576, 4), c->pkru);
	/* Everything: AVX at 576, PKRU at 832. */
	c->regs[R_AX] = ~0u;
	run_at(t, "xsaves64 [rbx]", AREA2);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, AREA2 + 520, 8), 0x8000000000000207ull);
	cr_expect_eq(th_read(t, AREA2 + 576, 8), c->vr[0].q[2]);
	cr_expect_eq(th_read(t, AREA2 + 832, 4), c->pkru);
	struct cpu saved = *c;
	clear_state(c);
	run_at(t, "xrstors64 [rbx]", AREA2);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect(memcmp(c->vr, saved.vr, sizeof(c->vr)) == 0);
	cr_expect_eq(c->pkru, saved.pkru);
	/* XRSTOR of the compacted image works too. */
	clear_state(c);
	run_at(t, "xrstor64 [rbx]", AREA2);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(c->vr[9].q[3], saved.vr[9].q[3]);
	/* Compacted XRSTOR of a component not in XSTATE_BV: MXCSR -> 1F80. */
	th_write(t, AREA2 + 512, 0x4, 8);
	run_at(t, "xrstor64 [rbx]", AREA2);
	cr_assert_eq(t->exc_vector, -1);
	cr_expect_eq(c->mxcsr, 0x1f80);
	cr_expect_eq(c->vr[2].q[0], 0);
	cr_expect_eq(c->vr[2].q[2], saved.vr[2].q[2]);
	/* XRSTORS needs the compacted form. */
	run_at(t, "xsave64 [rbx]", AREA);
	run_at(t, "xrstors64 [rbx]", AREA);
	cr_expect_eq(t->exc_vector, EXC_GP);
	/* XSAVES/XRSTORS at CPL 3: #GP(0). */
	c->cpl = 3;
	run_at(t, "xsaves64 [rbx]", AREA2);
	cr_expect_eq(t->exc_vector, EXC_GP);
	cr_expect_eq(t->exc_error, 0);
	run_at(t, "xrstors64 [rbx]", AREA2);
	cr_expect_eq(t->exc_vector, EXC_GP);
	th_free(t);
}

/* Writes a valid standard image, corrupts it, and expects #GP(0) with
 * every state component unchanged. */
static void bad_image(uint64_t off, uint64_t val, unsigned size, const char *what)
{
	struct th *t = xs_machine(0x207);
	struct cpu *c = t->cpu;
	set_state(c, 7);
	run_at(t, "xsave64 [rbx]", AREA);
	cr_assert_eq(t->exc_vector, -1);
	th_write(t, AREA + off, val, size);
	clear_state(c);
	struct cpu before = *c;
	run_at(t, "xrstor64 [rbx]", AREA);
	cr_expect_eq(t->exc_vector, EXC_GP, "%s", what);
	cr_expect_eq(t->exc_error, 0, "%s", what);
	cr_expect(memcmp(c->vr, before.vr, sizeof(c->vr)) == 0, "%s: YMM changed", what);
	cr_expect(memcmp(&c->fpu, &before.fpu, sizeof(c->fpu)) == 0, "%s: x87 changed", what);
	cr_expect_eq(c->mxcsr, before.mxcsr, "%s", what);
	cr_expect_eq(c->pkru, before.pkru, "%s", what);
	th_free(t);
}

Test(xsave, malformed_images)
{
	bad_image(512, 0x8207, 8, "XSTATE_BV bit not in XCR0");
	bad_image(520, 0x3, 8, "XCOMP_BV nonzero with bit 63 clear");
	bad_image(528, 1, 8, "header bytes 23:16 nonzero");
	bad_image(520, 0x8000000000000008ull, 8, "XCOMP_BV bit not in XCR0");
	bad_image(520, 0x8000000000000003ull, 8, "XSTATE_BV not within XCOMP_BV");
	bad_image(24, 0x11f80, 4, "MXCSR reserved bit");
	/* Compacted with header bytes 63:16 nonzero. */
	struct th *t = xs_machine(7);
	run_at(t, "xsavec [rbx]", AREA);
	th_write(t, AREA + 560, 1, 8);
	run_at(t, "xrstor [rbx]", AREA);
	cr_expect_eq(t->exc_vector, EXC_GP);
	th_free(t);
}

Test(xsave, faults)
{
	struct th *t = xs_machine(7);
	run_at(t, "xsave [rbx]", AREA + 32);
	cr_expect_eq(t->exc_vector, EXC_GP, "misaligned area");
	run_at(t, "xrstor [rbx]", AREA + 16);
	cr_expect_eq(t->exc_vector, EXC_GP);
	t->cpu->cr0 |= CR0_TS;
	run_at(t, "xsave [rbx]", AREA);
	cr_expect_eq(t->exc_vector, EXC_NM);
	t->cpu->cr0 &= ~(uint64_t)CR0_TS;
	t->cpu->cr4 &= ~(uint64_t)CR4_OSXSAVE;
	run_at(t, "xsaveopt [rbx]", AREA);
	cr_expect_eq(t->exc_vector, EXC_UD);
	th_free(t);
	/* XSETBV: reserved and unsupported bits, AVX without SSE. */
	static const uint64_t bad[] = { 0x5, 0x8 | 7, 1ull << 32 | 7, 0x6 };
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		t = xs_machine(1);
		t->cpu->regs[R_AX] = (uint32_t)bad[k];
		t->cpu->regs[R_DX] = bad[k] >> 32;
		t->cpu->regs[R_CX] = 0;
		th_asm(t, "xsetbv");
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_GP, "xcr0 %#llx", (unsigned long long)bad[k]);
		cr_expect_eq(t->cpu->xcr0, 1);
		th_free(t);
	}
}

Test(xsave, cpuid_leaf_d)
{
	struct th *t = xs_machine(7);
	struct cpu *c = t->cpu;
	uint32_t r[4];
	cpu_cpuid(c, 0xd, 0, r);
	cr_expect_eq(r[0], 0x207);
	cr_expect_eq(r[1], 832, "standard size for XCR0 = 7");
	cr_expect_eq(r[2], 2696, "standard size for all supported");
	c->xcr0 = 0x207;
	cpu_cpuid(c, 0xd, 0, r);
	cr_expect_eq(r[1], 2696);
	cpu_cpuid(c, 0xd, 1, r);
	cr_expect_eq(r[0], 0xf, "XSAVEOPT, XSAVEC, XGETBV1, XSAVES");
	cr_expect_eq(r[1], 840, "compacted size for XCR0 | XSS");
	cpu_cpuid(c, 0xd, 2, r);
	cr_expect_eq(r[0], 256);
	cr_expect_eq(r[1], 576);
	cr_expect_eq(r[2], 0);
	cpu_cpuid(c, 0xd, 9, r);
	cr_expect_eq(r[0], 8);
	cr_expect_eq(r[1], 2688);
	cpu_cpuid(c, 0xd, 3, r);
	cr_expect_eq(r[0], 0);
	th_free(t);
}
