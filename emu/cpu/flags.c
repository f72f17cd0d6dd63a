/*
 * flags.c - materializing the lazy arithmetic flags (flags.h) and
 * evaluating condition codes (SDM Vol. 1 3.4.3.1, appendix B).
 *
 * The record holds the operands and result of the last flag-writing
 * ADD/ADC/SUB/SBB/logic/INC/DEC, zero-extended; the six flags follow
 * from them exactly as hardware computes them:
 *   CF  ADD: res < s1; ADC: res <= s1; SUB: s1 < s2; SBB: s1 <= s2
 *   AF  carry out of bit 3: (s1 ^ s2 ^ res) & 0x10 (INC/DEC: s2 = 1)
 *   OF  ADD: operands of equal sign, result of the other sign;
 *       SUB: operands of different sign, result sign != s1's;
 *       INC: res == signed min; DEC: res == signed max
 *   SF, ZF from res at the operand size; PF from the low byte of res.
 * After logic ops CF = OF = AF = 0 (AF is undefined in the SDM; Intel and
 * AMD both clear it).
 *
 * cpu_cond (inline in flags.h, the rest in cpu_cond_slow) answers the
 * common conditions after SUB/CMP and logic ops straight from the record
 * (unsigned/signed comparisons of s1 and s2), without materializing.
 */
#include "alu.h"

uint64_t flags_compute(const struct lazy_flags *lf, uint64_t rflags)
{
	unsigned kind = lf->op >> 2, sz = lf->op & 3;
	uint64_t m = size_mask[sz], sign = SZ_SIGN(sz);
	uint64_t res = lf->res & m, s1 = lf->s1 & m, s2 = lf->s2 & m;
	uint64_t f = flags_szp(res, sz);

	switch (kind) {
	case LF_NONE:
		return rflags & FL_ARITH;
	case LF_ADD:
	case LF_ADC:
		if (kind == LF_ADD ? res < s1 : res <= s1)
			f |= FL_CF;
		if ((s1 ^ res) & (s2 ^ res) & sign)
			f |= FL_OF;
		f |= (s1 ^ s2 ^ res) & FL_AF;
		break;
	case LF_SUB:
	case LF_SBB:
		if (kind == LF_SUB ? s1 < s2 : s1 <= s2)
			f |= FL_CF;
		if ((s1 ^ s2) & (s1 ^ res) & sign)
			f |= FL_OF;
		f |= (s1 ^ s2 ^ res) & FL_AF;
		break;
	case LF_LOGIC:
		break;
	case LF_INC:
	case LF_DEC:
		f |= rflags & FL_CF;
		if (res == (kind == LF_INC ? sign : sign - 1))
			f |= FL_OF;
		f |= (s1 ^ res ^ 1) & FL_AF;
		break;
	}
	return f;
}

void flags_materialize(struct cpu *cpu)
{
	if (cpu->lf.op >> 2 == LF_NONE)
		return;
	uint64_t f = flags_compute(&cpu->lf, cpu->rflags);
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_ARITH) | f;
	cpu->lf.op = LF_NONE << 2;
}

bool flags_cf(struct cpu *cpu)
{
	unsigned kind = cpu->lf.op >> 2, sz = cpu->lf.op & 3;
	uint64_t m = size_mask[sz];
	switch (kind) {
	case LF_ADD: return (cpu->lf.res & m) < (cpu->lf.s1 & m);
	case LF_ADC: return (cpu->lf.res & m) <= (cpu->lf.s1 & m);
	case LF_SUB: return (cpu->lf.s1 & m) < (cpu->lf.s2 & m);
	case LF_SBB: return (cpu->lf.s1 & m) <= (cpu->lf.s2 & m);
	case LF_LOGIC: return false;
	default: return cpu->rflags & FL_CF;	/* LF_NONE, LF_INC, LF_DEC */
	}
}

/* Condition cc (pairs: odd = negation of even) from a flags word. */
static bool cond_from_flags(uint64_t f, unsigned cc)
{
	bool r;
	switch (cc >> 1) {
	case 0: r = f & FL_OF; break;
	case 1: r = f & FL_CF; break;
	case 2: r = f & FL_ZF; break;
	case 3: r = f & (FL_CF | FL_ZF); break;
	case 4: r = f & FL_SF; break;
	case 5: r = f & FL_PF; break;
	case 6: r = !(f & FL_SF) != !(f & FL_OF); break;
	default: r = (f & FL_ZF) || (!(f & FL_SF) != !(f & FL_OF)); break;
	}
	return r ^ (cc & 1);
}

bool cpu_cond_slow(struct cpu *cpu, unsigned cc)
{
	unsigned kind = cpu->lf.op >> 2, sz = cpu->lf.op & 3;
	uint64_t m = size_mask[sz];
	bool r;

	if (kind == LF_SUB) {
		uint64_t a = cpu->lf.s1 & m, b = cpu->lf.s2 & m;
		switch (cc >> 1) {
		case 1: r = a < b; return r ^ (cc & 1);
		case 2: r = a == b; return r ^ (cc & 1);
		case 3: r = a <= b; return r ^ (cc & 1);
		case 6: r = (int64_t)sext_sz(a, sz) < (int64_t)sext_sz(b, sz); return r ^ (cc & 1);
		case 7: r = (int64_t)sext_sz(a, sz) <= (int64_t)sext_sz(b, sz); return r ^ (cc & 1);
		}
	} else if (kind == LF_LOGIC) {
		uint64_t res = cpu->lf.res & m;
		bool sf = res & SZ_SIGN(sz);
		switch (cc >> 1) {
		case 0: case 1: r = false; break;		/* OF, CF clear */
		case 2: case 3: r = res == 0; break;		/* ZF, CF|ZF */
		case 4: case 6: r = sf; break;			/* SF, SF^OF */
		case 5: r = flags_parity(res); break;
		default: r = res == 0 || sf; break;
		}
		return r ^ (cc & 1);
	} else if (kind == LF_NONE) {
		return cond_from_flags(cpu->rflags, cc);
	}
	return cond_from_flags(flags_compute(&cpu->lf, cpu->rflags), cc);
}
