/*
 * f16c.c - F16C: VCVTPH2PS and VCVTPS2PH (SDM Vol. 2), conversions
 * between IEEE binary16 and binary32. Half to single is exact (SNaN
 * inputs raise IE and are quieted; DAZ does not apply to half inputs).
 * Single to half rounds by imm8[1:0], or by MXCSR.RC when imm8[2] is
 * set, and raises IE/DE/OE/UE/PE as a binary32 operation would; FTZ does
 * not apply to the half result, DAZ applies to the single input.
 */
#include "avx.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "alu.h"
#include "cpu.h"
#include "interp.h"

static uint32_t half_to_single(uint16_t h, unsigned *exc)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31;
	unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
	if (e == 0x1f) {
		if (m && !(m & 0x200))
			*exc |= MX_IE;
		return sign | 0x7f800000u | (m << 13) | (m ? 0x00400000u : 0);
	}
	if (e == 0) {
		if (!m)
			return sign;
		float f = ldexpf((float)m, -24);
		uint32_t u;
		memcpy(&u, &f, 4);
		return sign | u;
	}
	return sign | (e + 112) << 23 | m << 13;
}

/* Rounds the non-negative integer-valued quotient r by rc, sign s. */
static double round_by(double r, bool neg, unsigned rc)
{
	switch (rc & 3) {
	case 0: return nearbyint(r);		/* host mode is set to nearest here */
	case 1: return neg ? ceil(r) : floor(r);	/* toward -inf on the magnitude */
	case 2: return neg ? floor(r) : ceil(r);
	default: return trunc(r);
	}
}

static uint16_t single_to_half(struct cpu *cpu, uint32_t f, unsigned rc, unsigned *exc)
{
	uint16_t sign = (uint16_t)((f >> 31) << 15);
	if (f32_isnan(f)) {
		if (f32_issnan(f))
			*exc |= MX_IE;
		return sign | 0x7e00 | (uint16_t)((f >> 13) & 0x3ff);
	}
	if ((f & 0x7fffffffu) == 0x7f800000u)
		return sign | 0x7c00;
	f = avx_f32_in(cpu, f, exc);
	float x;
	memcpy(&x, &f, 4);
	double ax = fabs((double)x);
	if (ax == 0)
		return sign;
	int e;
	frexp(ax, &e);		/* ax = f * 2^e, f in [0.5, 1) */
	e -= 1;			/* ax in [2^e, 2^(e+1)) */
	int qe = e >= -14 ? e - 10 : -24;
	double r = ldexp(ax, -qe);	/* exact */
	double rr = round_by(r, sign != 0, rc);
	bool inexact = rr != r;
	double mag = ldexp(rr, qe);
	if (mag > 65504.0) {
		*exc |= MX_OE | MX_PE;
		bool to_inf = (rc & 3) == 0 || ((rc & 3) == 1 && sign) || ((rc & 3) == 2 && !sign);
		return sign | (to_inf ? 0x7c00 : 0x7bff);
	}
	if (inexact) {
		*exc |= MX_PE;
		/* Tininess after rounding: to 11 significant bits with an
		 * unbounded exponent, is the magnitude below 2^-14? */
		if (ax < ldexp(1.0, -14) &&
		    ldexp(round_by(ldexp(ax, -(e - 10)), sign != 0, rc), e - 10) < ldexp(1.0, -14))
			*exc |= MX_UE;
	}
	if (mag >= ldexp(1.0, -14)) {
		int me;
		frexp(mag, &me);
		me -= 1;
		unsigned mant = (unsigned)ldexp(mag, 10 - me) - 1024;
		return sign | (uint16_t)((me + 15) << 10) | (uint16_t)mant;
	}
	return sign | (uint16_t)ldexp(mag, 24);
}

static unsigned ph2ps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			 const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	union vreg r;
	for (unsigned k = 0; k < n / 4; k++)
		r.d[k] = half_to_single(b->w[k], &exc);
	*d = r;
	return exc;
}
void vcvtph2ps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, ph2ps_el, AX_NOV | AX_FP | AX_M(AM_HALF)); }

void vcvtps2ph(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	unsigned n = avx_len(i), exc = 0;
	unsigned rc = (i->imm & 4) ? (cpu->mxcsr >> 13) & 3 : (unsigned)i->imm & 3;
	const union vreg *s = &cpu->vr[i->reg & 15];
	union vreg r;
	memset(&r, 0, sizeof(r));
	int old = avx_round_begin(0);
	for (unsigned k = 0; k < n / 4; k++)
		r.w[k] = single_to_half(cpu, s->d[k], rc, &exc);
	avx_round_end(old);
	avx_fp_commit(cpu, exc);
	if (i->mod == 3)
		avx_set(cpu, i->rm, &r, 16);
	else
		avx_write_mem(cpu, i, r.b, n / 2, false);
}
