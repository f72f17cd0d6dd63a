/*
 * test_x87.c - x87 tables: availability (#NM), pending exceptions (#MF),
 * environment layouts per mode, classification, stack faults, FCMOV,
 * FNSTSW, constants under RC. Host-differential value tests are in
 * test_x87_diff.c.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/x87.h"

static struct th *run(enum th_mode mode, const char *src)
{
	struct th *t = th_new(mode);
	th_asm(t, src);
	th_run(t);
	return t;
}

Test(x87, nm_on_em_and_ts)
{
	static const uint64_t bits[] = { CR0_EM, CR0_TS };
	for (unsigned k = 0; k < 2; k++) {
		struct th *t = th_new(TH_PROT32);
		th_asm(t, "fld1");
		t->cpu->cr0 |= bits[k];
		th_run(t);
		cr_expect_eq(t->exc_vector, EXC_NM, "cr0 bit %llx", (unsigned long long)bits[k]);
		th_free(t);
	}
}

Test(x87, mf_pending_next_waiting_insn)
{
	/* unmasked ZE: 1/0 leaves ES set; FNSTSW does not wait, FLD1 faults */
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "fninit\n push 0x37b\n fldcw [esp]\n fldz\n fld1\n fdiv st0, st1\n fnstsw ax\n fld1\n");
	t->cpu->cr0 |= CR0_NE;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_MF);
	cr_expect_eq(t->cpu->regs[R_AX] & 0xffff & (FSW_ZE | FSW_ES | FSW_B), FSW_ZE | FSW_ES | FSW_B);
	/* the destination was not written: still 1.0 */
	struct f80 v = t->cpu->fpu.st[(t->cpu->fpu.fsw >> 11) & 7];
	cr_expect_eq(v.mant, 1ull << 63);
	cr_expect_eq(v.sexp, 0x3fff);
	th_free(t);
	/* FWAIT too; FNCLEX clears it */
	t = run(TH_PROT32, "fninit\n push 0x37b\n fldcw [esp]\n fldz\n fld1\n fdiv st0, st1\n fnclex\n fwait\n fld1\n");
	cr_expect_eq(t->exc_vector, -1);
	th_free(t);
	t = th_new(TH_PROT32);
	th_asm(t, "fninit\n push 0x37b\n fldcw [esp]\n fldz\n fld1\n fdiv st0, st1\n fwait\n");
	t->cpu->cr0 |= CR0_NE;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_MF);
	th_free(t);
}

Test(x87, stack_faults)
{
	/* masked overflow: 9th push gives the indefinite, IE+SF+C1 */
	struct th *t = run(TH_PROT32, "fninit\n" "fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fnstsw ax\n");
	uint16_t sw = (uint16_t)t->cpu->regs[R_AX];
	cr_expect_eq(sw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF | FSW_C1);
	struct f80 v = t->cpu->fpu.st[(sw >> 11) & 7];
	cr_expect_eq(v.sexp, 0xffff);
	cr_expect_eq(v.mant, 0xc000000000000000ull);
	th_free(t);
	/* underflow: C1 = 0 */
	t = run(TH_PROT32, "fninit\n fadd st0, st1\n fnstsw ax\n");
	sw = (uint16_t)t->cpu->regs[R_AX];
	cr_expect_eq(sw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF);
	th_free(t);
}

Test(x87, fxam_classes)
{
	static const struct {
		const char *load;
		uint16_t cc;
	} k[] = {
		{ "fldz", FSW_C3 },
		{ "fld1\n fchs", FSW_C2 | FSW_C1 },
		{ "fldz\n fld1\n fdivrp", FSW_C2 | FSW_C0 },	/* 0/1 = 0... */
		{ "fld tword [data]", FSW_C0 },			/* QNaN */
		{ "fld tword [data+16]", FSW_C3 | FSW_C2 },	/* denormal */
		{ "fld tword [data+32]", 0 },			/* unnormal */
		{ "", FSW_C3 | FSW_C0 },			/* empty */
	};
	for (unsigned n = 0; n < sizeof k / sizeof *k; n++) {
		char src[512];
		snprintf(src, sizeof src,
			 "fninit\n push 0x37f\n fldcw [esp]\n %s\n fxam\n fnstsw ax\n jmp end\n align 16\n"
			 "data: dq 0xc000000000000001\n dw 0x7fff\n times 6 db 0\n"
			 " dq 0x0000000000000001\n dw 0\n times 6 db 0\n"
			 " dq 0x4000000000000000\n dw 0x4000\n times 6 db 0\n end:",
			 k[n].load);
		struct th *t = run(TH_PROT32, src);
		uint16_t cc = (uint16_t)t->cpu->regs[R_AX] & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3);
		if (n == 2)	/* 1/0 with ZE masked: +inf */
			cr_expect_eq(cc, FSW_C2 | FSW_C0, "case %u", n);
		else
			cr_expect_eq(cc, k[n].cc, "case %u: %04x", n, cc);
		th_free(t);
	}
}

Test(x87, fnstenv_layouts)
{
	/* 32-bit protected: 28 bytes, FIP/FCS+FOP/FDP/FDS; FCW gets all masks */
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "fninit\n push 0x27f\n fldcw [esp]\n fld dword [0x200100]\n fnstenv [0x200000]\n fnstcw [0x200040]\n");
	th_write(t, 0x200100, 0x3f800000, 4);
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	cr_expect_eq(th_read(t, 0x200000, 2), 0x27f);
	cr_expect_eq(th_read(t, 0x200004, 2) >> 11 & 7, 7);	/* TOP */
	cr_expect_eq(th_read(t, 0x200008, 2), 0x3fff);		/* ST0 valid, others empty */
	cr_expect_eq(th_read(t, 0x20000c, 4), TH_CODE + 10);	/* fld's offset */
	cr_expect_eq(th_read(t, 0x200010, 2), t->cpu->seg[S_CS].sel);
	cr_expect_eq(th_read(t, 0x200012, 2), 0x105);		/* FOP: D9 05 */
	cr_expect_eq(th_read(t, 0x200014, 4), 0x200100);
	cr_expect_eq(th_read(t, 0x200018, 2), t->cpu->seg[S_DS].sel);
	cr_expect_eq(th_read(t, 0x200040, 2), 0x27f | 0x3f);
	th_free(t);
	/* 16-bit operand size in protected mode: 14 bytes */
	t = th_new(TH_PROT32);
	th_asm(t, "fninit\n fld1\n o16 fnstenv [0x200000]\n");
	th_write(t, 0x20000e, 0xabcd, 2);
	th_run(t);
	cr_expect_eq(th_read(t, 0x200000, 2), 0x37f);
	cr_expect_eq(th_read(t, 0x200004, 2), 0x3fff);
	cr_expect_eq(th_read(t, 0x200006, 2), (TH_CODE + 2) & 0xffff);
	cr_expect_eq(th_read(t, 0x20000e, 2), 0xabcd);		/* untouched */
	th_free(t);
	/* real mode, 16-bit: 20-bit linear FIP with FOP */
	t = th_new(TH_REAL);
	th_asm(t, "fninit\n fld1\n fnstenv [0x3000]\n");
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	uint64_t lin = t->cpu->seg[S_CS].base + 0x10 + 2;
	cr_expect_eq(th_read(t, 0x3006, 2), lin & 0xffff);
	cr_expect_eq(th_read(t, 0x3008, 2), (((lin >> 16) & 0xf) << 12) | 0x1e8);	/* D9 E8 */
	th_free(t);
}

Test(x87, fsave_frstor_roundtrip)
{
	static const enum th_mode modes[] = { TH_REAL, TH_PROT16, TH_PROT32, TH_LONG64 };
	for (unsigned m = 0; m < 4; m++) {
		struct th *t = th_new(modes[m]);
		th_asm(t, "fninit\n fldpi\n fld1\n fldl2e\n fnsave [0x4000]\n fld1\n frstor [0x4000]\n"
			  "fstp tword [0x4200]\n fstp tword [0x4210]\n fstp tword [0x4220]\n fnstsw [0x4230]\n");
		th_run(t);
		cr_expect_eq(t->exc_vector, -1, "mode %u", m);
		cr_expect_eq(th_read(t, 0x4200 + 8, 2), 0x3fff, "mode %u", m);	/* l2e */
		cr_expect_eq(th_read(t, 0x4210, 8), 1ull << 63, "mode %u", m);
		cr_expect_eq(th_read(t, 0x4220, 8), 0xc90fdaa22168c235ull, "mode %u", m);
		cr_expect_eq(th_read(t, 0x4230, 2), 0, "mode %u", m);
		th_free(t);
	}
}

Test(x87, constants_follow_rc)
{
	struct th *t = run(TH_PROT32, "fninit\n push 0x77f\n fldcw [esp]\n fldpi\n fstp tword [0x200000]\n"
				    "push 0x37f\n fldcw [esp]\n fldpi\n fstp tword [0x200010]\n");
	cr_expect_eq(th_read(t, 0x200000, 8), 0xc90fdaa22168c234ull);	/* round down */
	cr_expect_eq(th_read(t, 0x200010, 8), 0xc90fdaa22168c235ull);	/* nearest */
	th_free(t);
}

Test(x87, fcmov_fnstsw_ax_ffree)
{
	struct th *t = run(TH_LONG64, "fninit\n fldz\n fld1\n stc\n fcmovb st0, st1\n fnstsw ax\n"
				     "mov bx, ax\n ffree st1\n fincstp\n fxam\n fnstsw ax\n");
	struct f80 v = t->cpu->fpu.st[7];
	cr_expect_eq(v.mant, 0);	/* ST0 got ST1's zero */
	cr_expect_eq(t->cpu->regs[R_AX] & (FSW_C3 | FSW_C0), FSW_C3 | FSW_C0);	/* freed: empty */
	th_free(t);
}

Test(x87, abridged_tags)
{
	struct fpu_state f;
	memset(&f, 0, sizeof f);
	f.st[0].mant = 1ull << 63;
	f.st[0].sexp = 0x3fff;
	f.st[3].sexp = 0x7fff;
	f.st[3].mant = 1ull << 63;
	x87_set_abridged_tag(&f, 0x0b);
	cr_expect_eq(f.ftw, 0xff00 | 2 << 6 | 3 << 4 | 1 << 2 | 0);
	cr_expect_eq(x87_abridged_tag(&f), 0x0b);
}

Test(x87, ud_forms)
{
	static const char *const bad[] = { "db 0xd9, 0xd1", "db 0xd9, 0xe2", "db 0xdf, 0xe1", "db 0xdb, 0xf8",
					   "db 0xd9, 0x08" };
	for (unsigned k = 0; k < sizeof bad / sizeof *bad; k++) {
		struct th *t = run(TH_PROT32, bad[k]);
		cr_expect_eq(t->exc_vector, EXC_UD, "%s", bad[k]);
		th_free(t);
	}
}

/* Every arithmetic form on ST(0) = 3, ST(1) = 2 (memory operand 2):
 * the result stored as a double from ST(0) (after the pop for P forms). */
Test(x87, arithmetic_forms)
{
	static const struct {
		const char *op;
		double st0;
	} k[] = {
		{ "fadd st0, st1", 5 }, { "fsub st0, st1", 1 }, { "fsubr st0, st1", -1 },
		{ "fmul st0, st1", 6 }, { "fdiv st0, st1", 1.5 }, { "fdivr st0, st1", 2.0 / 3 },
		{ "fadd st1, st0\n fxch", 5 }, { "fsub st1, st0\n fxch", -1 }, { "fsubr st1, st0\n fxch", 1 },
		{ "fmul st1, st0\n fxch", 6 }, { "fdiv st1, st0\n fxch", 2.0 / 3 }, { "fdivr st1, st0\n fxch", 1.5 },
		{ "faddp st1, st0", 5 }, { "fsubp st1, st0", -1 }, { "fsubrp st1, st0", 1 },
		{ "fmulp st1, st0", 6 }, { "fdivp st1, st0", 2.0 / 3 }, { "fdivrp st1, st0", 1.5 },
		{ "fadd dword [m32]", 5 }, { "fsub qword [m64]", 1 }, { "fsubr dword [m32]", -1 },
		{ "fmul qword [m64]", 6 }, { "fdiv dword [m32]", 1.5 }, { "fdivr qword [m64]", 2.0 / 3 },
		{ "fiadd word [i16]", 5 }, { "fisub dword [i32]", 1 }, { "fisubr word [i16]", -1 },
		{ "fimul dword [i32]", 6 }, { "fidiv word [i16]", 1.5 }, { "fidivr dword [i32]", 2.0 / 3 },
		{ "fsqrt", 1.7320508075688772 }, { "fchs", -3 }, { "fabs", 3 }, { "fscale", 12 },
		{ "fprem", 1 }, { "fprem1", -1 }, { "frndint", 3 }, { "fxtract", 1.5 }, { "fld st1", 2 },
		{ "fstp st0", 2 }, { "fst st1\n fstp st0", 3 }, { "fldz\n fcomip st0, st1\n fcmovnbe st0, st1", 3 },
	};
	for (unsigned n = 0; n < sizeof k / sizeof *k; n++) {
		char src[512];
		snprintf(src, sizeof src,
			 "fninit\n fld qword [m64]\n fild word [i3]\n %s\n fstp qword [out]\n jmp end\n align 8\n"
			 "m64: dq 2.0\n m32: dd 2.0\n i16: dw 2\n i3: dw 3\n i32: dd 2\n out: dq 0\n end:",
			 k[n].op);
		struct th *t = th_new(TH_PROT32);
		th_asm(t, src);
		th_run(t);
		cr_expect_eq(t->exc_vector, -1, "%s", k[n].op);
		uint64_t got = 0, want;
		th_peek(t, TH_CODE + t->code_len - 8, &got, 8);
		memcpy(&want, &k[n].st0, 8);
		cr_expect_eq(got, want, "%s: %016llx", k[n].op, (unsigned long long)got);
		th_free(t);
	}
}

Test(x87, ferr_without_ne_continues)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "fninit\n push 0x37b\n fldcw [esp]\n fldz\n fld1\n fdiv st0, st1\n fwait\n fld1\n fnstsw ax\n");
	t->cpu->cr0 &= ~(uint64_t)CR0_NE;
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_AX] & FSW_ES, FSW_ES);
	th_free(t);
}
