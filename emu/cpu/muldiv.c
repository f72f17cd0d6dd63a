/*
 * muldiv.c - MUL, IMUL (one, two and three operands), DIV, IDIV and MULX
 * (SDM Vol. 2).
 *
 * Products and dividends use 128-bit host arithmetic so one body serves
 * every width. DIV/IDIV raise #DE for a zero divisor and for a quotient
 * that does not fit, before anything is written (SDM Vol. 3 6.15 #DE).
 * IDIV accepts the most negative quotient (-2^(n-1)), as processors since
 * the 80286 do.
 *
 * Flags: after MUL/IMUL, CF = OF = "the upper half is significant"; the
 * SDM leaves SF, ZF, AF, PF undefined and DIV/IDIV leave all six
 * undefined. mul_flags/div_flags give the values hardware produces,
 * established with the host-differential test (see their comments).
 */
#include "alu.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

/*
 * Flags after a multiply with low half `lo` and overflow `of`.
 * AMD (measured on a Zen host): SF, ZF, AF, PF keep their old values.
 * Intel model: SF, ZF, PF from the low half, AF = 0 (Bochs's and QEMU's
 * choice; not measured here).
 */
static uint64_t mul_flags(struct cpu *cpu, uint64_t lo, bool of, unsigned sz)
{
	uint64_t f = cpu_is_amd(cpu) ? alu_flags(cpu) & (FL_SF | FL_ZF | FL_AF | FL_PF) : flags_szp(lo, sz);
	return f | (of ? FL_CF | FL_OF : 0);
}

/* ---- MUL / IMUL with rAX ------------------------------------------------ */

ALU_INLINE void mul_E(struct cpu *cpu, const struct insn *i, bool sgn, unsigned sz)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t m = size_mask[sz];
	uint64_t b = rm_read(cpu, i, sz), a = reg_read(cpu, R_AX, sz);
	uint64_t lo, hi;
	bool of;
	if (sgn) {
		s128 p = (s128)(int64_t)sext_sz(a, sz) * (s128)(int64_t)sext_sz(b, sz);
		lo = (uint64_t)p & m;
		hi = (uint64_t)(p >> bits) & m;
		of = p != (s128)(int64_t)sext_sz(lo, sz);
	} else {
		u128 p = (u128)a * b;
		lo = (uint64_t)p & m;
		hi = (uint64_t)(p >> bits) & m;
		of = hi != 0;
	}
	if (sz == 0) {
		reg_write16(cpu, R_AX, (uint16_t)(hi << 8 | lo));
	} else {
		reg_write(cpu, R_AX, lo, sz);
		reg_write(cpu, R_DX, hi, sz);
	}
	flags_set_arith(cpu, mul_flags(cpu, lo, of, sz));
}

DEF_B(mul_Eb, mul_E, false)
DEF_V(mul_Ev, mul_E, false)
DEF_B(imul_Eb, mul_E, true)
DEF_V(imul_Ev, mul_E, true)

/* ---- IMUL Gv,Ev and Gv,Ev,Iz --------------------------------------------- */

ALU_INLINE void imul_G(struct cpu *cpu, const struct insn *i, uint64_t a, uint64_t b, unsigned sz)
{
	s128 p = (s128)(int64_t)sext_sz(a, sz) * (s128)(int64_t)sext_sz(b, sz);
	uint64_t lo = (uint64_t)p & size_mask[sz];
	bool of = p != (s128)(int64_t)sext_sz(lo, sz);
	reg_write(cpu, i->reg, lo, sz);
	flags_set_arith(cpu, mul_flags(cpu, lo, of, sz));
}

ALU_INLINE void imul_G_E(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t b = rm_read(cpu, i, sz);
	imul_G(cpu, i, reg_read(cpu, i->reg, sz), b, sz);
}

ALU_INLINE void imul_G_E_I(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	imul_G(cpu, i, rm_read(cpu, i, sz), i->imm, sz);
}

DEF_V(imul_Gv_Ev, imul_G_E)
DEF_V(imul_Gv_Ev_Iz, imul_G_E_I)

/* ---- DIV / IDIV ------------------------------------------------------------ */

/*
 * Flags after DIV/IDIV (all undefined in the SDM), given the old ones.
 * AMD (measured on a Zen host): CF and OF kept, AF = 1, SF = ZF = PF = 0.
 * Intel model: all left as they were (Bochs's choice; not measured).
 */
static uint64_t div_flags(struct cpu *cpu, uint64_t old)
{
	if (cpu_is_amd(cpu))
		return (old & (FL_CF | FL_OF)) | FL_AF;
	return old;
}

ALU_INLINE void div_E(struct cpu *cpu, const struct insn *i, bool sgn, unsigned sz)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t m = size_mask[sz];
	uint64_t d = rm_read(cpu, i, sz);
	uint64_t lo, hi;
	if (sz == 0) {
		lo = cpu->regs[R_AX] & 0xff;
		hi = (cpu->regs[R_AX] >> 8) & 0xff;
	} else {
		lo = cpu->regs[R_AX] & m;
		hi = cpu->regs[R_DX] & m;
	}
	if (d == 0)
		cpu_fault(cpu, EXC_DE, NO_ERROR_CODE);
	u128 n = (u128)hi << bits | lo;	/* 2*bits wide dividend */
	uint64_t q, r;
	if (!sgn) {
		u128 uq = n / d;
		if (uq > m)
			cpu_fault(cpu, EXC_DE, NO_ERROR_CODE);
		q = (uint64_t)uq;
		r = (uint64_t)(n % d);
	} else {
		/* magnitudes, then signs: no host overflow possible */
		bool nneg = (hi >> (bits - 1)) & 1;
		bool dneg = (d >> (bits - 1)) & 1;
		u128 un = n;
		if (nneg)	/* two's complement of the 2*bits-wide value */
			un = (bits == 64 ? (u128)0 : ((u128)1 << (2 * bits))) - n;
		uint64_t ud = dneg ? (uint64_t)(0 - d) & m : d;
		u128 uq = un / ud;
		u128 ur = un % ud;
		bool qneg = nneg != dneg;
		u128 lim = (u128)1 << (bits - 1);	/* |quotient| limit */
		if (qneg ? uq > lim : uq >= lim)
			cpu_fault(cpu, EXC_DE, NO_ERROR_CODE);
		q = (uint64_t)(qneg ? 0 - uq : uq) & m;
		r = (uint64_t)(nneg ? 0 - ur : ur) & m;
	}
	if (sz == 0) {
		reg_write16(cpu, R_AX, (uint16_t)(r << 8 | q));
	} else {
		reg_write(cpu, R_AX, q, sz);
		reg_write(cpu, R_DX, r, sz);
	}
	flags_set_arith(cpu, div_flags(cpu, alu_flags(cpu)));
}

DEF_B(div_Eb, div_E, false)
DEF_V(div_Ev, div_E, false)
DEF_B(idiv_Eb, div_E, true)
DEF_V(idiv_Ev, div_E, true)

/* ---- MULX (BMI2): By = low half, Gy = high half, no flags ---------------- */

ALU_INLINE void mulx_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t b = rm_read(cpu, i, sz), a = reg_read(cpu, R_DX, sz);
	u128 p = (u128)a * b;
	unsigned bits = SZ_BITS(sz);
	reg_write(cpu, i->vvvv, (uint64_t)p & size_mask[sz], sz);
	reg_write(cpu, i->reg, (uint64_t)(p >> bits) & size_mask[sz], sz);	/* same reg: high wins */
}

DEF_Y(mulx_Gy_By_Ey, mulx_body)
