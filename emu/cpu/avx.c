/*
 * avx.c - AVX: the VEX operand engine, x86 IEEE element helpers, and the
 * VEX forms of the SSE..SSE4.1 floating-point and data-movement
 * instructions (SDM Vol. 2, the V* pages; Vol. 1 ch. 14).
 *
 * Each handler names an element operation (a static function or one
 * made by a template macro below) and lets avx_op() do the VEX operand
 * rules: see avx.h. FP element helpers compute on the host's float and
 * double with the host rounding mode set from MXCSR.RC and read the
 * host's exception flags per element; NaN propagation, default NaN, DAZ,
 * FTZ and the denormal flag are decided here, so the result does not
 * depend on the host's own NaN rules.
 */
#include "avx.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "alu.h"
#include "cpu.h"
#include "cpuid.h"
#include "flags.h"
#include "interp.h"
#include "mem.h"

/* ---- the operand engine ------------------------------------------------ */

void avx_check(struct cpu *cpu)
{
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
		cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
	if (!(cpu->cr4 & CR4_OSXSAVE) || (cpu->xcr0 & 6) != 6)
		cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
}

void avx_set(struct cpu *cpu, unsigned r, const union vreg *v, unsigned n)
{
	union vreg *d = &cpu->vr[r & 15];
	memcpy(d->b, v->b, n);
	memset(d->b + n, 0, 32 - n);
}

void avx_read_rm(struct cpu *cpu, const struct insn *i, union vreg *v, unsigned bytes, bool align)
{
	memset(v, 0, sizeof(*v));
	if (i->mod == 3) {
		memcpy(v->b, cpu->vr[i->rm & 15].b, bytes);
		return;
	}
	uint64_t ea = insn_ea(cpu, i);
	if (align && (((cpu->segbase[i->seg] + ea) & (bytes - 1)) != 0))
		cpu_fault(cpu, EXC_GP, 0);
	mem_read_block(cpu, i->seg, ea, v->b, bytes);
}

void avx_write_mem(struct cpu *cpu, const struct insn *i, const void *v, unsigned bytes, bool align)
{
	uint64_t ea = insn_ea(cpu, i);
	if (align && (((cpu->segbase[i->seg] + ea) & (bytes - 1)) != 0))
		cpu_fault(cpu, EXC_GP, 0);
	mem_write_block(cpu, i->seg, ea, v, bytes);
}

void avx_fp_commit(struct cpu *cpu, unsigned exc)
{
	exc &= 0x3f;
	unsigned unmasked = exc & ~(cpu->mxcsr >> 7) & 0x3f;
	if (unmasked) {
		/* Pre-computation exceptions (IE, DE, ZE) suppress the rest. */
		if (unmasked & (MX_IE | MX_DE | MX_ZE))
			exc &= MX_IE | MX_DE | MX_ZE;
		cpu->mxcsr |= exc;
		cpu_fault(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD, NO_ERROR_CODE);
	}
	cpu->mxcsr |= exc;
}

int avx_round_begin(unsigned rc)
{
	static const int modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
	int old = fegetround();
	fesetround(modes[rc & 3]);
	return old;
}

void avx_round_end(int old)
{
	fesetround(old);
}

static unsigned mem_bytes(unsigned code, unsigned n)
{
	switch (code) {
	case AM_HALF: return n / 2;
	case AM_QUARTER: return n / 4;
	case AM_EIGHTH: return n / 8;
	case AM_1: return 1;
	case AM_2: return 2;
	case AM_4: return 4;
	case AM_8: return 8;
	case AM_16: return 16;
	default: return n;
	}
}

void avx_op(struct cpu *cpu, const struct insn *i, avx_fn fn, unsigned flags)
{
	avx_check(cpu);
	if ((flags & AX_NOV) && i->vvvv)
		insn_ud(cpu, i);
	unsigned n = (flags & (AX_LIG | AX_L128)) ? 16 : avx_len(i);
	union vreg a = cpu->vr[i->vvvv & 15], b, d = cpu->vr[i->reg & 15];
	unsigned mb = mem_bytes(flags >> 8, n);
	if (i->mod == 3)
		b = cpu->vr[i->rm & 15];
	else
		avx_read_rm(cpu, i, &b, mb, (flags & AX_ALIGN) != 0);
	unsigned exc;
	if (flags & AX_FP) {
		int old = avx_round_begin(cpu->mxcsr >> 13);
		exc = fn(cpu, i, &d, &a, &b, n);
		avx_round_end(old);
		avx_fp_commit(cpu, exc);
	} else {
		exc = fn(cpu, i, &d, &a, &b, n);
	}
	if (!(flags & AX_NODST))
		avx_set(cpu, i->reg, &d, n);
}

/* ---- IEEE element helpers ------------------------------------------------ */

static bool avx_amd(const struct cpu *cpu)
{
	return cpu->model && cpu->model->vendor == VENDOR_AMD;
}

static unsigned fe_to_mx(int fe)
{
	return ((fe & FE_INVALID) ? MX_IE : 0) | ((fe & FE_DIVBYZERO) ? MX_ZE : 0) |
	       ((fe & FE_OVERFLOW) ? MX_OE : 0) | ((fe & FE_UNDERFLOW) ? MX_UE : 0) |
	       ((fe & FE_INEXACT) ? MX_PE : 0);
}

/*
 * One template per format: T the host type, U its bits, S the suffix,
 * SIGN/EXP/QUIET the masks, DEFNAN the x86 default NaN (QNaN indefinite).
 */
#define FP_TEMPLATE(T, U, S, SIGN, EXP, QUIET, DEFNAN, SQRT, FMA)			\
static inline T S##_t(U u) { T x; memcpy(&x, &u, sizeof(x)); return x; }		\
static inline U S##_u(T x) { U u; memcpy(&u, &x, sizeof(u)); return u; }		\
static inline bool S##_den(U u) { return !(u & (EXP)) && (u & ~(SIGN) & ~(EXP)); }	\
U avx_##S##_in(struct cpu *cpu, U a, unsigned *exc)					\
{											\
	if (S##_den(a)) {								\
		if (cpu->mxcsr & MX_DAZ)						\
			return a & (SIGN);						\
		*exc |= MX_DE;								\
	}										\
	return a;									\
}											\
U avx_##S##_out(struct cpu *cpu, U r, int fe, unsigned *exc)				\
{											\
	unsigned e = fe_to_mx(fe) & ~MX_UE;						\
	if ((r & ~(SIGN)) > (EXP))							\
		r = (DEFNAN);	/* only invalid operations reach here with a NaN */	\
	bool tiny = S##_den(r) || (fe & FE_UNDERFLOW);					\
	if (tiny) {									\
		if (!(cpu->mxcsr & (MX_UE << 7)))					\
			e |= MX_UE;							\
		else if (cpu->mxcsr & MX_FTZ) {						\
			r &= (SIGN);							\
			e |= MX_UE | MX_PE;						\
		} else if (fe & FE_UNDERFLOW)						\
			e |= MX_UE;							\
	}										\
	*exc |= e;									\
	return r;									\
}											\
U avx_##S##_op(struct cpu *cpu, unsigned op, U a, U b, unsigned *exc)			\
{											\
	if (op == AF_MIN || op == AF_MAX) {						\
		unsigned d0 = 0;	/* DAZ applies even to the NaN case */	\
		a = avx_##S##_in(cpu, a, &d0);						\
		b = avx_##S##_in(cpu, b, &d0);						\
		if (S##_isnan(a) || S##_isnan(b)) {					\
			*exc |= MX_IE;							\
			return b;							\
		}									\
		*exc |= d0;								\
		T x = S##_t(a), y = S##_t(b);						\
		if (op == AF_MIN)							\
			return x < y ? a : b;						\
		return x > y ? a : b;							\
	}										\
	unsigned e0 = 0;	/* DE: not reported with IE or ZE (SDM 4.9.2) */	\
	if (op == AF_SQRT) {								\
		if (S##_isnan(b)) {							\
			if (S##_issnan(b))						\
				*exc |= MX_IE;						\
			return b | (QUIET);						\
		}									\
		b = avx_##S##_in(cpu, b, &e0);						\
	} else if (S##_isnan(a) || S##_isnan(b)) {					\
		if (S##_issnan(a) || S##_issnan(b))					\
			*exc |= MX_IE;							\
		return S##_isnan(a) ? a | (QUIET) : b | (QUIET);			\
	} else {									\
		a = avx_##S##_in(cpu, a, &e0);						\
		b = avx_##S##_in(cpu, b, &e0);						\
	}										\
	volatile T x = S##_t(a), y = S##_t(b);						\
	volatile T r;									\
	feclearexcept(FE_ALL_EXCEPT);							\
	switch (op) {									\
	case AF_ADD: r = x + y; break;							\
	case AF_SUB: r = x - y; break;							\
	case AF_MUL: r = x * y; break;							\
	case AF_DIV: r = x / y; break;							\
	default: r = SQRT(y); break;							\
	}										\
	int fe = fetestexcept(FE_ALL_EXCEPT);						\
	if (!(fe & (FE_INVALID | FE_DIVBYZERO)))					\
		*exc |= e0;								\
	return avx_##S##_out(cpu, S##_u(r), fe, exc);					\
}											\
U avx_##S##_fma(struct cpu *cpu, U a, U b, U c, bool neg_mul, bool neg_c,		\
		unsigned *exc)								\
{											\
	if (S##_isnan(a) || S##_isnan(b) || S##_isnan(c)) {				\
		if (S##_issnan(a) || S##_issnan(b) || S##_issnan(c))			\
			*exc |= MX_IE;							\
		/* 0 * inf + QNaN is invalid on Intel (SDM VFMADD*), not on AMD. */	\
		U r = S##_isnan(a) ? a : S##_isnan(b) ? b : c;				\
		if (!S##_isnan(a) && !S##_isnan(b) && !avx_amd(cpu)) {			\
			U ma = a & ~(SIGN), mb = b & ~(SIGN);				\
			if ((ma == 0 && mb == (EXP)) || (mb == 0 && ma == (EXP)))	\
				*exc |= MX_IE;						\
		}									\
		return r | (QUIET);							\
	}										\
	unsigned e0 = 0;								\
	a = avx_##S##_in(cpu, a, &e0);							\
	b = avx_##S##_in(cpu, b, &e0);							\
	c = avx_##S##_in(cpu, c, &e0);							\
	if (neg_mul)									\
		a ^= (SIGN);								\
	if (neg_c)									\
		c ^= (SIGN);								\
	volatile T x = S##_t(a), y = S##_t(b), z = S##_t(c);				\
	volatile T r;									\
	feclearexcept(FE_ALL_EXCEPT);							\
	r = FMA(x, y, z);								\
	int fe = fetestexcept(FE_ALL_EXCEPT);						\
	*exc |= (fe & FE_INVALID) ? 0 : e0;						\
	return avx_##S##_out(cpu, S##_u(r), fe, exc);					\
}											\
bool avx_##S##_cmp(struct cpu *cpu, unsigned pred, U a, U b, unsigned *exc)		\
{											\
	static const uint32_t signaling = 0x66660000u | 0x00006666u;			\
	bool un = S##_isnan(a) || S##_isnan(b);						\
	bool sig = ((signaling >> (pred & 15)) & 1) ^ ((pred >> 4) & 1);		\
	bool lt = false, eq = false, gt = false;					\
	if (un) {									\
		if (S##_issnan(a) || S##_issnan(b) || sig)				\
			*exc |= MX_IE;							\
	} else {									\
		a = avx_##S##_in(cpu, a, exc);						\
		b = avx_##S##_in(cpu, b, exc);						\
		T x = S##_t(a), y = S##_t(b);						\
		lt = x < y;								\
		eq = x == y;								\
		gt = x > y;								\
	}										\
	switch (pred & 15) {								\
	case 0: return eq;								\
	case 1: return lt;								\
	case 2: return lt || eq;							\
	case 3: return un;								\
	case 4: return !eq;								\
	case 5: return !lt;								\
	case 6: return !(lt || eq);							\
	case 7: return !un;								\
	case 8: return eq || un;							\
	case 9: return lt || un;							\
	case 10: return !gt;								\
	case 11: return false;								\
	case 12: return !eq && !un;							\
	case 13: return gt || eq;							\
	case 14: return gt;								\
	default: return true;								\
	}										\
}

FP_TEMPLATE(float, uint32_t, f32, 0x80000000u, 0x7f800000u, 0x00400000u, 0xffc00000u, sqrtf, fmaf)
FP_TEMPLATE(double, uint64_t, f64, 0x8000000000000000ull, 0x7ff0000000000000ull,
	    0x0008000000000000ull, 0xfff8000000000000ull, sqrt, fma)

/* The 256-bit-only forms (VINSERTF128, VPERM2F128 ...): #UD with VEX.L = 0. */
void avx_need_l1(struct cpu *cpu, const struct insn *i)
{
	if (!(i->flags & INSN_VEXL))
		insn_ud(cpu, i);
}
#define need_l1 avx_need_l1

/* ---- packed and scalar FP arithmetic ------------------------------------ */

#define ARITH_PS(name, OP)									\
static unsigned name##_el(struct cpu *cpu, const struct insn *i, union vreg *d,			\
			  const union vreg *a, const union vreg *b, unsigned n)			\
{												\
	unsigned exc = 0;									\
	for (unsigned k = 0; k < n / 4; k++)							\
		d->d[k] = avx_f32_op(cpu, OP, a->d[k], b->d[k], &exc);				\
	return exc;										\
}												\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, AX_FP); }
#define ARITH_PD(name, OP)									\
static unsigned name##_el(struct cpu *cpu, const struct insn *i, union vreg *d,			\
			  const union vreg *a, const union vreg *b, unsigned n)			\
{												\
	unsigned exc = 0;									\
	for (unsigned k = 0; k < n / 8; k++)							\
		d->q[k] = avx_f64_op(cpu, OP, a->q[k], b->q[k], &exc);				\
	return exc;										\
}												\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, AX_FP); }
#define ARITH_SS(name, OP)									\
static unsigned name##_el(struct cpu *cpu, const struct insn *i, union vreg *d,			\
			  const union vreg *a, const union vreg *b, unsigned n)			\
{												\
	unsigned exc = 0;									\
	*d = *a;										\
	d->d[0] = avx_f32_op(cpu, OP, a->d[0], b->d[0], &exc);					\
	return exc;										\
}												\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, AX_FP | AX_LIG | AX_M(AM_4)); }
#define ARITH_SD(name, OP)									\
static unsigned name##_el(struct cpu *cpu, const struct insn *i, union vreg *d,			\
			  const union vreg *a, const union vreg *b, unsigned n)			\
{												\
	unsigned exc = 0;									\
	*d = *a;										\
	d->q[0] = avx_f64_op(cpu, OP, a->q[0], b->q[0], &exc);					\
	return exc;										\
}												\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, AX_FP | AX_LIG | AX_M(AM_8)); }
#define ARITH4(stem, OP) ARITH_PS(stem##ps, OP) ARITH_PD(stem##pd, OP) ARITH_SS(stem##ss, OP) ARITH_SD(stem##sd, OP)

ARITH4(vadd, AF_ADD)
ARITH4(vsub, AF_SUB)
ARITH4(vmul, AF_MUL)
ARITH4(vdiv, AF_DIV)
ARITH4(vmin, AF_MIN)
ARITH4(vmax, AF_MAX)

/* VSQRTPS/PD take one source (vvvv unused); SS/SD merge with vvvv. */
static unsigned vsqrtps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = avx_f32_op(cpu, AF_SQRT, 0, b->d[k], &exc);
	return exc;
}
static unsigned vsqrtpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 8; k++)
		d->q[k] = avx_f64_op(cpu, AF_SQRT, 0, b->q[k], &exc);
	return exc;
}
void vsqrtps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vsqrtps_el, AX_FP | AX_NOV); }
void vsqrtpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vsqrtpd_el, AX_FP | AX_NOV); }
ARITH_SS(vsqrtss, AF_SQRT)
ARITH_SD(vsqrtsd, AF_SQRT)

/* Horizontal and alternating forms, per 128-bit lane. */
static unsigned vhaddps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0, op = (opcode_table[i->op].opcode == 0x7d) ? AF_SUB : AF_ADD;
	for (unsigned l = 0; l < n / 16; l++) {
		const uint32_t *x = &a->d[l * 4], *y = &b->d[l * 4];
		uint32_t r[4] = {
			avx_f32_op(cpu, op, x[0], x[1], &exc), avx_f32_op(cpu, op, x[2], x[3], &exc),
			avx_f32_op(cpu, op, y[0], y[1], &exc), avx_f32_op(cpu, op, y[2], y[3], &exc),
		};
		memcpy(&d->d[l * 4], r, 16);
	}
	return exc;
}
static unsigned vhaddpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0, op = (opcode_table[i->op].opcode == 0x7d) ? AF_SUB : AF_ADD;
	for (unsigned l = 0; l < n / 16; l++) {
		const uint64_t *x = &a->q[l * 2], *y = &b->q[l * 2];
		uint64_t r0 = avx_f64_op(cpu, op, x[0], x[1], &exc);
		uint64_t r1 = avx_f64_op(cpu, op, y[0], y[1], &exc);
		d->q[l * 2] = r0;
		d->q[l * 2 + 1] = r1;
	}
	return exc;
}
static unsigned vaddsubps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			     const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = avx_f32_op(cpu, (k & 1) ? AF_ADD : AF_SUB, a->d[k], b->d[k], &exc);
	return exc;
}
static unsigned vaddsubpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			     const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 8; k++)
		d->q[k] = avx_f64_op(cpu, (k & 1) ? AF_ADD : AF_SUB, a->q[k], b->q[k], &exc);
	return exc;
}
void vhaddps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vhaddps_el, AX_FP); }
void vhaddpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vhaddpd_el, AX_FP); }
void vhsubps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vhaddps_el, AX_FP); }
void vhsubpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vhaddpd_el, AX_FP); }
void vaddsubps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vaddsubps_el, AX_FP); }
void vaddsubpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vaddsubpd_el, AX_FP); }

/* ---- logic, compares ---------------------------------------------------- */

#define LOGIC(name, EXPR)									\
static unsigned name##_el(struct cpu *cpu, const struct insn *i, union vreg *d,			\
			  const union vreg *a, const union vreg *b, unsigned n)			\
{												\
	for (unsigned k = 0; k < n / 8; k++) {							\
		uint64_t x = a->q[k], y = b->q[k];						\
		d->q[k] = (EXPR);								\
	}											\
	return 0;										\
}												\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, 0); }
LOGIC(vandps, x & y)
LOGIC(vandnps, ~x & y)
LOGIC(vorps, x | y)
LOGIC(vxorps, x ^ y)
void vandpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vandps_el, 0); }
void vandnpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vandnps_el, 0); }
void vorpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vorps_el, 0); }
void vxorpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vxorps_el, 0); }

static unsigned vcmpps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = avx_f32_cmp(cpu, i->imm & 31, a->d[k], b->d[k], &exc) ? ~0u : 0;
	return exc;
}
static unsigned vcmppd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 8; k++)
		d->q[k] = avx_f64_cmp(cpu, i->imm & 31, a->q[k], b->q[k], &exc) ? ~0ull : 0;
	return exc;
}
static unsigned vcmpss_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	*d = *a;
	d->d[0] = avx_f32_cmp(cpu, i->imm & 31, a->d[0], b->d[0], &exc) ? ~0u : 0;
	return exc;
}
static unsigned vcmpsd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	*d = *a;
	d->q[0] = avx_f64_cmp(cpu, i->imm & 31, a->q[0], b->q[0], &exc) ? ~0ull : 0;
	return exc;
}
void vcmpps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vcmpps_el, AX_FP); }
void vcmppd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vcmppd_el, AX_FP); }
void vcmpss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vcmpss_el, AX_FP | AX_LIG | AX_M(AM_4)); }
void vcmpsd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vcmpsd_el, AX_FP | AX_LIG | AX_M(AM_8)); }

/* VCOMISS/VUCOMISS/...SD: ZF PF CF from the comparison; OF SF AF = 0. */
static unsigned comi_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			const union vreg *b, unsigned n)
{
	bool dbl = (i->flags & INSN_OPSZ) || opcode_table[i->op].pfx == PFX_66;
	bool ordered_sig = opcode_table[i->op].opcode == 0x2f;	/* COMIS*: QNaN signals */
	unsigned exc = 0;
	uint64_t x = d->q[0], y = b->q[0];
	bool un, lt, eq;
	if (dbl) {
		un = f64_isnan(x) || f64_isnan(y);
		if (un && (ordered_sig || f64_issnan(x) || f64_issnan(y)))
			exc |= MX_IE;
		eq = avx_f64_cmp(cpu, 0, x, y, &exc);
		lt = avx_f64_cmp(cpu, 17, x, y, &exc);
	} else {
		un = f32_isnan((uint32_t)x) || f32_isnan((uint32_t)y);
		if (un && (ordered_sig || f32_issnan((uint32_t)x) || f32_issnan((uint32_t)y)))
			exc |= MX_IE;
		eq = avx_f32_cmp(cpu, 0, (uint32_t)x, (uint32_t)y, &exc);
		lt = avx_f32_cmp(cpu, 17, (uint32_t)x, (uint32_t)y, &exc);
	}
	if (un)
		exc &= ~MX_DE;
	avx_fp_commit(cpu, exc);
	uint64_t f = un ? (FL_ZF | FL_PF | FL_CF) : eq ? FL_ZF : lt ? FL_CF : 0;
	flags_set_arith(cpu, f);
	return 0;
}
void vcomiss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, comi_el, AX_NOV | AX_LIG | AX_NODST | AX_M(AM_4)); }
void vcomisd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, comi_el, AX_NOV | AX_LIG | AX_NODST | AX_M(AM_8)); }
void vucomiss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, comi_el, AX_NOV | AX_LIG | AX_NODST | AX_M(AM_4)); }
void vucomisd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, comi_el, AX_NOV | AX_LIG | AX_NODST | AX_M(AM_8)); }

/* ---- data movement ------------------------------------------------------- */

static unsigned copy_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			const union vreg *b, unsigned n)
{
	*d = *b;
	return 0;
}

static void store_rm(struct cpu *cpu, const struct insn *i, unsigned n, bool align)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	if (i->mod == 3) {
		union vreg v = cpu->vr[i->reg & 15];
		avx_set(cpu, i->rm, &v, n);
		return;
	}
	avx_write_mem(cpu, i, cpu->vr[i->reg & 15].b, n, align);
}

void vmovups_ld(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, copy_el, AX_NOV); }
void vmovaps_ld(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, copy_el, AX_NOV | AX_ALIGN); }
void vmovups_st(struct cpu *cpu, const struct insn *i) { store_rm(cpu, i, avx_len(i), false); }
void vmovaps_st(struct cpu *cpu, const struct insn *i) { store_rm(cpu, i, avx_len(i), true); }

void vmovntps(struct cpu *cpu, const struct insn *i)
{
	if (i->mod == 3)
		insn_ud(cpu, i);
	store_rm(cpu, i, avx_len(i), true);
}

void vmovntdqa(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, copy_el, AX_NOV | AX_ALIGN); }

/* VMOVSS/VMOVSD: the register form merges (dest = vvvv with the low
 * element of rm), the load zeroes the rest, the store writes one element. */
static unsigned movss_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			 const union vreg *b, unsigned n)
{
	bool dbl = opcode_table[i->op].pfx == PFX_F2;
	if (i->mod == 3) {
		*d = *a;
		if (dbl)
			d->q[0] = b->q[0];
		else
			d->d[0] = b->d[0];
	} else {
		*d = *b;
	}
	return 0;
}
void vmovss_ld(struct cpu *cpu, const struct insn *i)
{
	avx_op(cpu, i, movss_el, AX_LIG | AX_M(AM_4) | (i->mod == 3 ? 0 : AX_NOV));
}
void vmovsd_ld(struct cpu *cpu, const struct insn *i)
{
	avx_op(cpu, i, movss_el, AX_LIG | AX_M(AM_8) | (i->mod == 3 ? 0 : AX_NOV));
}
static void movss_store(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	avx_check(cpu);
	if (i->mod == 3) {
		/* VMOVSS xmm1(rm), xmm2(vvvv), xmm3(reg) */
		union vreg d = cpu->vr[i->vvvv & 15];
		memcpy(d.b, cpu->vr[i->reg & 15].b, bytes);
		avx_set(cpu, i->rm, &d, 16);
		return;
	}
	if (i->vvvv)
		insn_ud(cpu, i);
	avx_write_mem(cpu, i, cpu->vr[i->reg & 15].b, bytes, false);
}
void vmovss_st(struct cpu *cpu, const struct insn *i) { movss_store(cpu, i, 4); }
void vmovsd_st(struct cpu *cpu, const struct insn *i) { movss_store(cpu, i, 8); }

/* VMOVLPS/LPD/HPS/HPD loads (3 operands, 128-bit), VMOVHLPS/VMOVLHPS. */
static unsigned movlh_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			 const union vreg *b, unsigned n)
{
	bool high = opcode_table[i->op].opcode == 0x16;
	*d = *a;
	if (i->mod == 3)	/* VMOVHLPS (0x12) / VMOVLHPS (0x16) */
		d->q[high ? 1 : 0] = b->q[high ? 0 : 1];
	else
		d->q[high ? 1 : 0] = b->q[0];
	return 0;
}
void vmovlps_ld(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, movlh_el, AX_L128 | AX_M(AM_8)); }
void vmovhps_ld(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, movlh_el, AX_L128 | AX_M(AM_8)); }
static void movlh_store(struct cpu *cpu, const struct insn *i, unsigned half)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	avx_write_mem(cpu, i, &cpu->vr[i->reg & 15].q[half], 8, false);
}
void vmovlps_st(struct cpu *cpu, const struct insn *i) { movlh_store(cpu, i, 0); }
void vmovhps_st(struct cpu *cpu, const struct insn *i) { movlh_store(cpu, i, 1); }

static unsigned movdup_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	const struct opdesc *od = &opcode_table[i->op];
	for (unsigned k = 0; k < n / 8; k++) {
		if (od->pfx == PFX_F2)		/* VMOVDDUP */
			d->q[k] = b->q[k & ~1u];
		else if (od->opcode == 0x12)	/* VMOVSLDUP */
			d->d[2 * k] = d->d[2 * k + 1] = b->d[2 * k];
		else				/* VMOVSHDUP */
			d->d[2 * k] = d->d[2 * k + 1] = b->d[2 * k + 1];
	}
	return 0;
}
void vmovsldup(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, movdup_el, AX_NOV); }
void vmovshdup(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, movdup_el, AX_NOV); }
void vmovddup(struct cpu *cpu, const struct insn *i)
{
	avx_op(cpu, i, movdup_el, AX_NOV | ((i->flags & INSN_VEXL) ? 0 : AX_M(AM_8)));
}

/* VMOVD/VMOVQ between GPRs/memory and XMM. */
void vmovd_V_Ey(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	bool q = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	union vreg v;
	memset(&v, 0, sizeof(v));
	if (i->mod == 3)
		v.q[0] = q ? cpu->regs[i->rm] : (uint32_t)cpu->regs[i->rm];
	else
		v.q[0] = mem_read(cpu, i->seg, insn_ea(cpu, i), q ? 8 : 4);
	avx_set(cpu, i->reg, &v, 16);
}
void vmovd_Ey_V(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	bool q = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	uint64_t v = cpu->vr[i->reg & 15].q[0];
	if (i->mod == 3)
		cpu->regs[i->rm] = q ? v : (uint32_t)v;
	else
		mem_write(cpu, i->seg, insn_ea(cpu, i), v, q ? 8 : 4);
}
static unsigned movq_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			const union vreg *b, unsigned n)
{
	memset(d, 0, sizeof(*d));
	d->q[0] = b->q[0];
	return 0;
}
void vmovq_V_W(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, movq_el, AX_NOV | AX_L128 | AX_M(AM_8)); }
void vmovq_W_V(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	if (i->mod == 3) {
		union vreg v;
		memset(&v, 0, sizeof(v));
		v.q[0] = cpu->vr[i->reg & 15].q[0];
		avx_set(cpu, i->rm, &v, 16);
		return;
	}
	avx_write_mem(cpu, i, cpu->vr[i->reg & 15].b, 8, false);
}

/* VMOVMSKPS/PD: sign bits to a GPR. */
void vmovmskps(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	bool dbl = opcode_table[i->op].pfx == PFX_66;
	const union vreg *s = &cpu->vr[i->rm & 15];
	unsigned n = avx_len(i), m = 0;
	if (dbl) {
		for (unsigned k = 0; k < n / 8; k++)
			m |= (unsigned)(s->q[k] >> 63) << k;
	} else {
		for (unsigned k = 0; k < n / 4; k++)
			m |= (s->d[k] >> 31) << k;
	}
	cpu->regs[i->reg] = m;
}

/* VZEROUPPER / VZEROALL (registers 8-15 are untouched outside 64-bit mode). */
void vzeroupper(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	unsigned nr = cpu->mode == MODE_LONG ? 16 : 8;
	for (unsigned r = 0; r < nr; r++) {
		if (i->flags & INSN_VEXL)
			memset(&cpu->vr[r], 0, 32);
		else
			memset(&cpu->vr[r].b[16], 0, 16);
	}
}

/* VLDMXCSR / VSTMXCSR. */
void vldmxcsr(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	uint32_t v = mem_read32(cpu, i->seg, insn_ea(cpu, i));
	if (v & 0xffff0000u)	/* MXCSR_MASK: bits 31:16 reserved */
		cpu_fault(cpu, EXC_GP, 0);
	cpu->mxcsr = v;
}
void vstmxcsr(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	mem_write32(cpu, i->seg, insn_ea(cpu, i), cpu->mxcsr);
}

/* ---- shuffles, blends, 128-bit lanes ------------------------------------- */

static unsigned shufps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	unsigned im = (unsigned)i->imm;
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		const uint32_t *x = &a->d[l * 4], *y = &b->d[l * 4];
		r.d[l * 4 + 0] = x[im & 3];
		r.d[l * 4 + 1] = x[(im >> 2) & 3];
		r.d[l * 4 + 2] = y[(im >> 4) & 3];
		r.d[l * 4 + 3] = y[(im >> 6) & 3];
	}
	*d = r;
	return 0;
}
static unsigned shufpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	unsigned im = (unsigned)i->imm;
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		r.q[l * 2] = a->q[l * 2 + ((im >> (2 * l)) & 1)];
		r.q[l * 2 + 1] = b->q[l * 2 + ((im >> (2 * l + 1)) & 1)];
	}
	*d = r;
	return 0;
}
void vshufps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, shufps_el, 0); }
void vshufpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, shufpd_el, 0); }

static unsigned unpck_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			 const union vreg *b, unsigned n)
{
	const struct opdesc *od = &opcode_table[i->op];
	bool high = od->opcode == 0x15, dbl = od->pfx == PFX_66;
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		if (dbl) {
			r.q[l * 2] = a->q[l * 2 + high];
			r.q[l * 2 + 1] = b->q[l * 2 + high];
		} else {
			unsigned h = high ? 2 : 0;
			r.d[l * 4 + 0] = a->d[l * 4 + h];
			r.d[l * 4 + 1] = b->d[l * 4 + h];
			r.d[l * 4 + 2] = a->d[l * 4 + h + 1];
			r.d[l * 4 + 3] = b->d[l * 4 + h + 1];
		}
	}
	*d = r;
	return 0;
}
void vunpcklps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, unpck_el, 0); }
void vunpckhps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, unpck_el, 0); }
void vunpcklpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, unpck_el, 0); }
void vunpckhpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, unpck_el, 0); }

static unsigned blendps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = ((i->imm >> k) & 1) ? b->d[k] : a->d[k];
	return 0;
}
static unsigned blendpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	for (unsigned k = 0; k < n / 8; k++)
		d->q[k] = ((i->imm >> k) & 1) ? b->q[k] : a->q[k];
	return 0;
}
void vblendps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, blendps_el, 0); }
void vblendpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, blendpd_el, 0); }

/* VBLENDVPS/PD/VPBLENDVB: the mask register is imm8[7:4] (is4). */
static unsigned blendv_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			  const union vreg *b, unsigned n)
{
	const union vreg *m = &cpu->vr[(i->imm >> 4) & (cpu->mode == MODE_LONG ? 15 : 7)];
	unsigned es = opcode_table[i->op].opcode == 0x4a ? 4 : opcode_table[i->op].opcode == 0x4b ? 8 : 1;
	for (unsigned k = 0; k < n; k += es)
		memcpy(&d->b[k], (m->b[k + es - 1] & 0x80) ? &b->b[k] : &a->b[k], es);
	return 0;
}
void vblendvps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, blendv_el, 0); }
void vblendvpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, blendv_el, 0); }
void vpblendvb(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, blendv_el, 0); }

static unsigned insertps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			    const union vreg *b, unsigned n)
{
	unsigned im = (unsigned)i->imm;
	uint32_t v = i->mod == 3 ? b->d[(im >> 6) & 3] : b->d[0];
	*d = *a;
	d->d[(im >> 4) & 3] = v;
	for (unsigned k = 0; k < 4; k++)
		if ((im >> k) & 1)
			d->d[k] = 0;
	return 0;
}
void vinsertps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, insertps_el, AX_L128 | AX_M(AM_4)); }

void vextractps(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	uint32_t v = cpu->vr[i->reg & 15].d[i->imm & 3];
	if (i->mod == 3)
		cpu->regs[i->rm] = v;
	else
		mem_write32(cpu, i->seg, insn_ea(cpu, i), v);
}

/* VBROADCASTSS/SD/F128 (memory forms are AVX; register forms AVX2). */
static unsigned bcast_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			 const union vreg *b, unsigned n)
{
	unsigned es;
	switch (opcode_table[i->op].opcode) {
	case 0x18: case 0x58: es = 4; break;
	case 0x19: case 0x59: es = 8; break;
	case 0x78: es = 1; break;
	case 0x79: es = 2; break;
	default: es = 16; break;
	}
	for (unsigned k = 0; k < n; k += es)
		memcpy(&d->b[k], b->b, es);
	return 0;
}
void vbroadcastss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, bcast_el, AX_NOV | AX_M(AM_4)); }
void vbroadcastsd(struct cpu *cpu, const struct insn *i) { need_l1(cpu, i); avx_op(cpu, i, bcast_el, AX_NOV | AX_M(AM_8)); }
void vbroadcastf128(struct cpu *cpu, const struct insn *i) { need_l1(cpu, i); avx_op(cpu, i, bcast_el, AX_NOV | AX_M(AM_16)); }

/* VINSERTF128/I128: a with 128 bits of b at imm[0]; VEXTRACTF128/I128. */
static unsigned insert128_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			     const union vreg *b, unsigned n)
{
	*d = *a;
	memcpy(&d->b[(i->imm & 1) * 16], b->b, 16);
	return 0;
}
void vinsertf128(struct cpu *cpu, const struct insn *i) { need_l1(cpu, i); avx_op(cpu, i, insert128_el, AX_M(AM_16)); }
void vextractf128(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	need_l1(cpu, i);
	if (i->vvvv)
		insn_ud(cpu, i);
	union vreg v;
	memset(&v, 0, sizeof(v));
	memcpy(v.b, &cpu->vr[i->reg & 15].b[(i->imm & 1) * 16], 16);
	if (i->mod == 3)
		avx_set(cpu, i->rm, &v, 16);
	else
		avx_write_mem(cpu, i, v.b, 16, false);
}

static unsigned perm2f128_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			     const union vreg *b, unsigned n)
{
	union vreg r;
	for (unsigned h = 0; h < 2; h++) {
		unsigned sel = (unsigned)(i->imm >> (4 * h));
		const union vreg *s = (sel & 2) ? b : a;
		if (sel & 8)
			memset(&r.b[h * 16], 0, 16);
		else
			memcpy(&r.b[h * 16], &s->b[(sel & 1) * 16], 16);
	}
	*d = r;
	return 0;
}
void vperm2f128(struct cpu *cpu, const struct insn *i) { need_l1(cpu, i); avx_op(cpu, i, perm2f128_el, 0); }

/* VPERMILPS/PD with a variable (vvvv = control... rm) or immediate control. */
static unsigned permilps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			    const union vreg *b, unsigned n)
{
	bool imm = opcode_table[i->op].map == MAP_0F3A;
	const union vreg *src = imm ? b : a;
	union vreg r;
	for (unsigned k = 0; k < n / 4; k++) {
		unsigned sel = imm ? (unsigned)(i->imm >> (2 * (k & 3))) : b->d[k];
		r.d[k] = src->d[(k & ~3u) + (sel & 3)];
	}
	*d = r;
	return 0;
}
static unsigned permilpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			    const union vreg *b, unsigned n)
{
	bool imm = opcode_table[i->op].map == MAP_0F3A;
	const union vreg *src = imm ? b : a;
	union vreg r;
	for (unsigned k = 0; k < n / 8; k++) {
		unsigned sel = imm ? (unsigned)(i->imm >> k) : (unsigned)(b->q[k] >> 1);
		r.q[k] = src->q[(k & ~1u) + (sel & 1)];
	}
	*d = r;
	return 0;
}
void vpermilps(struct cpu *cpu, const struct insn *i)
{
	avx_op(cpu, i, permilps_el, opcode_table[i->op].map == MAP_0F3A ? AX_NOV : 0);
}
void vpermilpd(struct cpu *cpu, const struct insn *i)
{
	avx_op(cpu, i, permilpd_el, opcode_table[i->op].map == MAP_0F3A ? AX_NOV : 0);
}

/* VTESTPS/PD and VPTEST: ZF = (a AND b) == 0, CF = (NOT a AND b) == 0 on
 * sign bits (VTEST*) or all bits (VPTEST). */
static unsigned test_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			const union vreg *b, unsigned n)
{
	unsigned opc = opcode_table[i->op].opcode;
	uint64_t mask = opc == 0x0e ? 0x8000000080000000ull : opc == 0x0f ? 0x8000000000000000ull : ~0ull;
	uint64_t z = 0, c = 0;
	for (unsigned k = 0; k < n / 8; k++) {
		z |= d->q[k] & b->q[k] & mask;
		c |= ~d->q[k] & b->q[k] & mask;
	}
	flags_set_arith(cpu, (z ? 0 : FL_ZF) | (c ? 0 : FL_CF));
	return 0;
}
void vtestps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, test_el, AX_NOV | AX_NODST); }
void vtestpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, test_el, AX_NOV | AX_NODST); }
void vptest(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, test_el, AX_NOV | AX_NODST); }

/* VMASKMOVPS/PD (and AVX2 VPMASKMOVD/Q): masked loads never fault on
 * masked-out elements; stores write only selected elements. */
static void maskmov(struct cpu *cpu, const struct insn *i, unsigned es, bool store)
{
	avx_check(cpu);
	if (i->mod == 3)
		insn_ud(cpu, i);
	unsigned n = avx_len(i);
	const union vreg *m = &cpu->vr[i->vvvv & 15];
	uint64_t ea = insn_ea(cpu, i);
	union vreg v;
	memset(&v, 0, sizeof(v));
	if (!store) {
		for (unsigned k = 0; k < n; k += es)
			if (m->b[k + es - 1] & 0x80)
				mem_read_block(cpu, i->seg, (ea + k) & size_mask[i->asz], &v.b[k], es);
		avx_set(cpu, i->reg, &v, n);
		return;
	}
	/* Check every selected element first, then write. */
	for (unsigned k = 0; k < n; k += es)
		if (m->b[k + es - 1] & 0x80)
			mem_probe_write(cpu, i->seg, (ea + k) & size_mask[i->asz], es);
	for (unsigned k = 0; k < n; k += es)
		if (m->b[k + es - 1] & 0x80)
			mem_write_block(cpu, i->seg, (ea + k) & size_mask[i->asz], &cpu->vr[i->reg & 15].b[k], es);
}
void vmaskmovps_ld(struct cpu *cpu, const struct insn *i) { maskmov(cpu, i, 4, false); }
void vmaskmovpd_ld(struct cpu *cpu, const struct insn *i) { maskmov(cpu, i, 8, false); }
void vmaskmovps_st(struct cpu *cpu, const struct insn *i) { maskmov(cpu, i, 4, true); }
void vmaskmovpd_st(struct cpu *cpu, const struct insn *i) { maskmov(cpu, i, 8, true); }
void vpmaskmov_ld(struct cpu *cpu, const struct insn *i) { maskmov(cpu, i, (i->flags & INSN_REXW) ? 8 : 4, false); }
void vpmaskmov_st(struct cpu *cpu, const struct insn *i) { maskmov(cpu, i, (i->flags & INSN_REXW) ? 8 : 4, true); }

/* ---- rounding, dot products, reciprocals ---------------------------------- */

/* Round to integral: imm[1:0] the mode unless imm[2] (use MXCSR.RC),
 * imm[3] suppresses the precision exception. */
static uint32_t round32(struct cpu *cpu, uint32_t a, unsigned im, unsigned *exc)
{
	if (f32_isnan(a)) {
		if (f32_issnan(a))
			*exc |= MX_IE;
		return a | 0x00400000u;
	}
	a = avx_f32_in(cpu, a, exc);
	float x, r;
	memcpy(&x, &a, 4);
	int old = avx_round_begin((im & 4) ? cpu->mxcsr >> 13 : im);
	r = nearbyintf(x);
	avx_round_end(old);
	if (r != x && !(im & 8))
		*exc |= MX_PE;
	uint32_t u;
	memcpy(&u, &r, 4);
	return u;
}
static uint64_t round64(struct cpu *cpu, uint64_t a, unsigned im, unsigned *exc)
{
	if (f64_isnan(a)) {
		if (f64_issnan(a))
			*exc |= MX_IE;
		return a | (1ull << 51);
	}
	a = avx_f64_in(cpu, a, exc);
	double x, r;
	memcpy(&x, &a, 8);
	int old = avx_round_begin((im & 4) ? cpu->mxcsr >> 13 : im);
	r = nearbyint(x);
	avx_round_end(old);
	if (r != x && !(im & 8))
		*exc |= MX_PE;
	uint64_t u;
	memcpy(&u, &r, 8);
	return u;
}
static unsigned roundps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = round32(cpu, b->d[k], (unsigned)i->imm, &exc);
	return exc & ~MX_DE;
}
static unsigned roundpd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	for (unsigned k = 0; k < n / 8; k++)
		d->q[k] = round64(cpu, b->q[k], (unsigned)i->imm, &exc);
	return exc & ~MX_DE;
}
static unsigned roundss_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	*d = *a;
	d->d[0] = round32(cpu, b->d[0], (unsigned)i->imm, &exc);
	return exc & ~MX_DE;
}
static unsigned roundsd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			   const union vreg *b, unsigned n)
{
	unsigned exc = 0;
	*d = *a;
	d->q[0] = round64(cpu, b->q[0], (unsigned)i->imm, &exc);
	return exc & ~MX_DE;
}
void vroundps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, roundps_el, AX_NOV | AX_FP); }
void vroundpd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, roundpd_el, AX_NOV | AX_FP); }
void vroundss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, roundss_el, AX_LIG | AX_FP | AX_M(AM_4)); }
void vroundsd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, roundsd_el, AX_LIG | AX_FP | AX_M(AM_8)); }

/* VDPPS: per 128-bit lane, products selected by imm[7:4] summed as
 * ((p0 + p1) + (p2 + p3)), broadcast to the elements imm[3:0] selects. */
static unsigned dpps_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			const union vreg *b, unsigned n)
{
	unsigned exc = 0, im = (unsigned)i->imm;
	for (unsigned l = 0; l < n / 16; l++) {
		uint32_t p[4];
		for (unsigned k = 0; k < 4; k++)
			p[k] = ((im >> (4 + k)) & 1) ? avx_f32_op(cpu, AF_MUL, a->d[l * 4 + k], b->d[l * 4 + k], &exc) : 0;
		uint32_t s01 = avx_f32_op(cpu, AF_ADD, p[0], p[1], &exc);
		uint32_t s23 = avx_f32_op(cpu, AF_ADD, p[2], p[3], &exc);
		uint32_t s = avx_f32_op(cpu, AF_ADD, s01, s23, &exc);
		for (unsigned k = 0; k < 4; k++)
			d->d[l * 4 + k] = ((im >> k) & 1) ? s : 0;
	}
	return exc;
}
static unsigned dppd_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
			const union vreg *b, unsigned n)
{
	unsigned exc = 0, im = (unsigned)i->imm;
	uint64_t p[2];
	for (unsigned k = 0; k < 2; k++)
		p[k] = ((im >> (4 + k)) & 1) ? avx_f64_op(cpu, AF_MUL, a->q[k], b->q[k], &exc) : 0;
	uint64_t s = avx_f64_op(cpu, AF_ADD, p[0], p[1], &exc);
	for (unsigned k = 0; k < 2; k++)
		d->q[k] = ((im >> k) & 1) ? s : 0;
	return exc;
}
void vdpps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, dpps_el, AX_FP); }
void vdppd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, dppd_el, AX_FP | AX_L128); }

/*
 * VRCPPS/VRSQRTPS: approximations with relative error <= 1.5 * 2^-12
 * (SDM). Computed exactly and then truncated to 12 significand bits;
 * vendors' tables differ in the low bits, which no guest may rely on.
 */
static uint32_t approx32(struct cpu *cpu, uint32_t a, bool rsqrt)
{
	if (f32_isnan(a))
		return a | 0x00400000u;
	if (!(a & 0x7f800000u))		/* zero or denormal: infinity of the sign */
		return (a & 0x80000000u) | 0x7f800000u;
	float x, r;
	memcpy(&x, &a, 4);
	if (rsqrt) {
		if (a & 0x80000000u)
			return 0xffc00000u;
		r = 1.0f / sqrtf(x);
	} else {
		r = 1.0f / x;
	}
	uint32_t u;
	memcpy(&u, &r, 4);
	if (!(u & 0x7f800000u))		/* tiny results flush to zero */
		return u & 0x80000000u;
	return u & ~0x7ffu;
}
static unsigned rcp_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
		       const union vreg *b, unsigned n)
{
	bool rsqrt = opcode_table[i->op].opcode == 0x52;
	bool scalar = opcode_table[i->op].pfx == PFX_F3;
	if (scalar) {
		*d = *a;
		d->d[0] = approx32(cpu, b->d[0], rsqrt);
		return 0;
	}
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = approx32(cpu, b->d[k], rsqrt);
	return 0;
}
void vrcpps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, rcp_el, AX_NOV); }
void vrsqrtps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, rcp_el, AX_NOV); }
void vrcpss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, rcp_el, AX_LIG | AX_M(AM_4)); }
void vrsqrtss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, rcp_el, AX_LIG | AX_M(AM_4)); }

/* ---- conversions --------------------------------------------------------- */

/* FP to a signed integer of `bits` (32/64): NaN or out of range gives the
 * integer indefinite (sign bit only) and IE. trunc: round toward zero. */
static uint64_t f64_to_int(struct cpu *cpu, uint64_t a, unsigned bits, bool tz, unsigned *exc)
{
	uint64_t indef = 1ull << (bits - 1);
	if (f64_isnan(a)) {
		*exc |= MX_IE;
		return indef;
	}
	unsigned no_de = 0;	/* conversions to integers do not report DE */
	a = avx_f64_in(cpu, a, &no_de);
	double x, r;
	memcpy(&x, &a, 8);
	r = tz ? trunc(x) : nearbyint(x);	/* nearbyint honours the host mode set from MXCSR */
	double lim = bits == 32 ? 2147483648.0 : 9223372036854775808.0;
	if (!(r >= -lim && r < lim)) {
		*exc |= MX_IE;
		return indef;
	}
	if (r != x)
		*exc |= MX_PE;
	int64_t v = (int64_t)r;
	return bits == 32 ? (uint32_t)(int32_t)v : (uint64_t)v;
}
static uint64_t f32_to_int(struct cpu *cpu, uint32_t a, unsigned bits, bool tz, unsigned *exc)
{
	if (f32_isnan(a)) {
		*exc |= MX_IE;
		return 1ull << (bits - 1);
	}
	unsigned no_de = 0;
	a = avx_f32_in(cpu, a, &no_de);
	float x;
	memcpy(&x, &a, 4);
	double y = x;
	uint64_t u;
	memcpy(&u, &y, 8);
	unsigned e = 0;
	uint64_t r = f64_to_int(cpu, u, bits, tz, &e);
	*exc |= e & ~MX_DE;
	return r;
}
/* FP result of the host conversion/arithmetic expression under fenv. */
#define HOST_CVT(T, expr, fe_out) ({ volatile T r_; feclearexcept(FE_ALL_EXCEPT); r_ = (expr); \
				     fe_out = fetestexcept(FE_ALL_EXCEPT); r_; })

static uint32_t i_to_f32(struct cpu *cpu, int64_t v, unsigned *exc)
{
	volatile int64_t x = v;
	int fe;
	float r = HOST_CVT(float, (float)x, fe);
	*exc |= (fe & FE_INEXACT) ? MX_PE : 0;
	uint32_t u;
	memcpy(&u, &r, 4);
	return u;
}
static uint64_t i_to_f64(struct cpu *cpu, int64_t v, unsigned *exc)
{
	volatile int64_t x = v;
	int fe;
	double r = HOST_CVT(double, (double)x, fe);
	*exc |= (fe & FE_INEXACT) ? MX_PE : 0;
	uint64_t u;
	memcpy(&u, &r, 8);
	return u;
}
static uint64_t f32_to_f64(struct cpu *cpu, uint32_t a, unsigned *exc)
{
	if (f32_isnan(a)) {
		if (f32_issnan(a))
			*exc |= MX_IE;
		return (uint64_t)(a >> 31) << 63 | 0x7ff8000000000000ull | (uint64_t)(a & 0x3fffffu) << 29;
	}
	a = avx_f32_in(cpu, a, exc);
	float x;
	memcpy(&x, &a, 4);
	double r = x;
	uint64_t u;
	memcpy(&u, &r, 8);
	return u;
}
static uint32_t f64_to_f32(struct cpu *cpu, uint64_t a, unsigned *exc)
{
	if (f64_isnan(a)) {
		if (f64_issnan(a))
			*exc |= MX_IE;
		return (uint32_t)(a >> 63) << 31 | 0x7fc00000u | (uint32_t)((a >> 29) & 0x3fffffu);
	}
	a = avx_f64_in(cpu, a, exc);
	volatile double x;
	memcpy((void *)&x, &a, 8);
	int fe;
	float r = HOST_CVT(float, (float)x, fe);
	uint32_t u;
	memcpy(&u, &r, 4);
	return avx_f32_out(cpu, u, fe, exc);
}

/* The conversions by (prefix, opcode) of map 0F. */
static unsigned cvt_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
		       const union vreg *b, unsigned n)
{
	const struct opdesc *od = &opcode_table[i->op];
	unsigned exc = 0;
	union vreg r;
	memset(&r, 0, sizeof(r));
	unsigned key = od->opcode << 4 | od->pfx;
	unsigned L = avx_len(i);
	switch (key) {
	case 0x5a << 4 | PFX_NP:	/* vcvtps2pd: n floats of b -> doubles */
		for (unsigned k = 0; k < L / 8; k++)
			r.q[k] = f32_to_f64(cpu, b->d[k], &exc);
		break;
	case 0x5a << 4 | PFX_66:	/* vcvtpd2ps */
		for (unsigned k = 0; k < L / 8; k++)
			r.d[k] = f64_to_f32(cpu, b->q[k], &exc);
		break;
	case 0x5a << 4 | PFX_F3:	/* vcvtss2sd */
		r = *a;
		r.q[0] = f32_to_f64(cpu, b->d[0], &exc);
		break;
	case 0x5a << 4 | PFX_F2:	/* vcvtsd2ss */
		r = *a;
		r.d[0] = f64_to_f32(cpu, b->q[0], &exc);
		break;
	case 0x5b << 4 | PFX_NP:	/* vcvtdq2ps */
		for (unsigned k = 0; k < L / 4; k++)
			r.d[k] = i_to_f32(cpu, (int32_t)b->d[k], &exc);
		break;
	case 0x5b << 4 | PFX_66:	/* vcvtps2dq */
	case 0x5b << 4 | PFX_F3:	/* vcvttps2dq */
		for (unsigned k = 0; k < L / 4; k++)
			r.d[k] = (uint32_t)f32_to_int(cpu, b->d[k], 32, od->pfx == PFX_F3, &exc);
		break;
	case 0xe6 << 4 | PFX_F3:	/* vcvtdq2pd */
		for (unsigned k = 0; k < L / 8; k++)
			r.q[k] = i_to_f64(cpu, (int32_t)b->d[k], &exc);
		break;
	case 0xe6 << 4 | PFX_66:	/* vcvttpd2dq */
	case 0xe6 << 4 | PFX_F2:	/* vcvtpd2dq */
		for (unsigned k = 0; k < L / 8; k++)
			r.d[k] = (uint32_t)f64_to_int(cpu, b->q[k], 32, od->pfx == PFX_66, &exc);
		break;
	}
	*d = r;
	return exc;
}
/* Source sizes: the widening forms read half a vector. */
void vcvtps2pd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_NOV | AX_FP | AX_M(AM_HALF)); }
void vcvtdq2pd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_NOV | AX_FP | AX_M(AM_HALF)); }
/* Narrowing forms: the result is 128 bits whatever L. */
static void cvt_narrow(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	union vreg b, d;
	avx_read_rm(cpu, i, &b, avx_len(i), false);
	int old = avx_round_begin(cpu->mxcsr >> 13);
	unsigned exc = cvt_el(cpu, i, &d, &b, &b, 16);
	avx_round_end(old);
	avx_fp_commit(cpu, exc);
	avx_set(cpu, i->reg, &d, 16);
}
void vcvtpd2ps(struct cpu *cpu, const struct insn *i) { cvt_narrow(cpu, i); }
void vcvtpd2dq(struct cpu *cpu, const struct insn *i) { cvt_narrow(cpu, i); }
void vcvttpd2dq(struct cpu *cpu, const struct insn *i) { cvt_narrow(cpu, i); }
void vcvtdq2ps(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_NOV | AX_FP); }
void vcvtps2dq(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_NOV | AX_FP); }
void vcvttps2dq(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_NOV | AX_FP); }
void vcvtss2sd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_LIG | AX_FP | AX_M(AM_4)); }
void vcvtsd2ss(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, cvt_el, AX_LIG | AX_FP | AX_M(AM_8)); }

/* VCVTSI2SS/SD: integer (r/m32 or r/m64 with VEX.W in 64-bit mode). */
static void cvtsi2f(struct cpu *cpu, const struct insn *i, bool dbl)
{
	avx_check(cpu);
	bool q = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	int64_t v;
	if (i->mod == 3)
		v = q ? (int64_t)cpu->regs[i->rm] : (int32_t)cpu->regs[i->rm];
	else
		v = q ? (int64_t)mem_read64(cpu, i->seg, insn_ea(cpu, i)) : (int32_t)mem_read32(cpu, i->seg, insn_ea(cpu, i));
	union vreg d = cpu->vr[i->vvvv & 15];
	unsigned exc = 0;
	int old = avx_round_begin(cpu->mxcsr >> 13);
	if (dbl)
		d.q[0] = i_to_f64(cpu, v, &exc);
	else
		d.d[0] = i_to_f32(cpu, v, &exc);
	avx_round_end(old);
	avx_fp_commit(cpu, exc);
	avx_set(cpu, i->reg, &d, 16);
}
void vcvtsi2ss(struct cpu *cpu, const struct insn *i) { cvtsi2f(cpu, i, false); }
void vcvtsi2sd(struct cpu *cpu, const struct insn *i) { cvtsi2f(cpu, i, true); }

/* VCVT(T)SS2SI / VCVT(T)SD2SI to a 32- or 64-bit GPR. */
static void cvtf2si(struct cpu *cpu, const struct insn *i, bool dbl, bool tz)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	bool q = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	union vreg b;
	avx_read_rm(cpu, i, &b, dbl ? 8 : 4, false);
	unsigned exc = 0;
	int old = avx_round_begin(cpu->mxcsr >> 13);
	uint64_t r = dbl ? f64_to_int(cpu, b.q[0], q ? 64 : 32, tz, &exc)
			 : f32_to_int(cpu, b.d[0], q ? 64 : 32, tz, &exc);
	avx_round_end(old);
	avx_fp_commit(cpu, exc);
	cpu->regs[i->reg] = q ? r : (uint32_t)r;
}
void vcvtss2si(struct cpu *cpu, const struct insn *i) { cvtf2si(cpu, i, false, false); }
void vcvttss2si(struct cpu *cpu, const struct insn *i) { cvtf2si(cpu, i, false, true); }
void vcvtsd2si(struct cpu *cpu, const struct insn *i) { cvtf2si(cpu, i, true, false); }
void vcvttsd2si(struct cpu *cpu, const struct insn *i) { cvtf2si(cpu, i, true, true); }
