/*
 * sse_fp.c - SSE/SSE2 floating point: ADD/SUB/MUL/DIV/MIN/MAX/SQRT in
 * their PS/PD/SS/SD forms, RCP/RSQRT, CMPxx with the 8 legacy
 * predicates, (U)COMISS/SD, and the conversion family (SDM Vol. 1 10.4,
 * 11.4, 11.5; Vol. 2 per instruction).
 *
 * Every element is computed by the sfp_* primitives (simd.c) into a
 * temporary; the flags of all elements go through simd_fp_exceptions,
 * which raises #XM/#UD for an unmasked one before the destination is
 * written. Scalar forms read 4/8 bytes of memory (no alignment) and keep
 * the rest of the destination; packed forms read 16 aligned bytes.
 */
#include "sse.h"

#include "flags.h"

typedef uint32_t fop32(struct sfp *f, uint32_t a, uint32_t b);
typedef uint64_t fop64(struct sfp *f, uint64_t a, uint64_t b);

/* Packed or scalar binary operation (all lanes, or lane 0), one body per
 * element width: fp32 on singles (lanes d), fp64 on doubles (lanes q). */
#define FP_BINARY(name, fop, lane, bytes)                                            \
	static void name(struct cpu *cpu, const struct insn *i, fop *op, bool scalar)  \
	{                                                                              \
		simd_check_sse(cpu);                                                   \
		union vreg b = sse_src(cpu, i, scalar ? bytes : 16, !scalar), r;       \
		memcpy(&r, vreg(cpu, i->reg), 16);                                     \
		struct sfp f = sfp_of(cpu);                                            \
		for (unsigned k = 0; k < (scalar ? 1u : 16u / bytes); k++)             \
			r.lane[k] = op(&f, r.lane[k], b.lane[k]);                       \
		simd_fp_exceptions(cpu, f.flags);                                      \
		sse_put(cpu, i->reg, &r);                                              \
	}
FP_BINARY(fp32, fop32, d, 4)
FP_BINARY(fp64, fop64, q, 8)

#define FP_FAMILY(name) \
	void name##ps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, sfp_##name##32, false); } \
	void name##ss_Vss_Wss(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, sfp_##name##32, true); } \
	void name##pd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { fp64(cpu, i, sfp_##name##64, false); } \
	void name##sd_Vsd_Wsd(struct cpu *cpu, const struct insn *i) { fp64(cpu, i, sfp_##name##64, true); }
FP_FAMILY(add)
FP_FAMILY(sub)
FP_FAMILY(mul)
FP_FAMILY(div)
FP_FAMILY(min)
FP_FAMILY(max)

/* Unary operations take the second operand (a is ignored). */
static uint32_t sqrt32_2(struct sfp *f, uint32_t a, uint32_t b) { (void)a; return sfp_sqrt32(f, b); }
static uint64_t sqrt64_2(struct sfp *f, uint64_t a, uint64_t b) { (void)a; return sfp_sqrt64(f, b); }
static uint32_t rcp32_2(struct sfp *f, uint32_t a, uint32_t b) { (void)f; (void)a; return sfp_rcp32(b); }
static uint32_t rsqrt32_2(struct sfp *f, uint32_t a, uint32_t b) { (void)f; (void)a; return sfp_rsqrt32(b); }
void sqrtps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, sqrt32_2, false); }
void sqrtss_Vss_Wss(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, sqrt32_2, true); }
void sqrtpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { fp64(cpu, i, sqrt64_2, false); }
void sqrtsd_Vsd_Wsd(struct cpu *cpu, const struct insn *i) { fp64(cpu, i, sqrt64_2, true); }
void rcpps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, rcp32_2, false); }
void rcpss_Vss_Wss(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, rcp32_2, true); }
void rsqrtps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, rsqrt32_2, false); }
void rsqrtss_Vss_Wss(struct cpu *cpu, const struct insn *i) { fp32(cpu, i, rsqrt32_2, true); }

/* CMPxx: legacy encodings use imm8 bits 2:0 (SDM CMPPS). */
static void cmp32(struct cpu *cpu, const struct insn *i, bool scalar)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, scalar ? 4 : 16, !scalar), r;
	memcpy(&r, vreg(cpu, i->reg), 16);
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < (scalar ? 1u : 4u); k++)
		r.d[k] = sfp_cmp32(&f, r.d[k], b.d[k], i->imm & 7) ? ~0u : 0;
	simd_fp_exceptions(cpu, f.flags);
	sse_put(cpu, i->reg, &r);
}
static void cmp64(struct cpu *cpu, const struct insn *i, bool scalar)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, scalar ? 8 : 16, !scalar), r;
	memcpy(&r, vreg(cpu, i->reg), 16);
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < (scalar ? 1u : 2u); k++)
		r.q[k] = sfp_cmp64(&f, r.q[k], b.q[k], i->imm & 7) ? ~0ull : 0;
	simd_fp_exceptions(cpu, f.flags);
	sse_put(cpu, i->reg, &r);
}
void cmpps_Vps_Wps_Ib(struct cpu *cpu, const struct insn *i) { cmp32(cpu, i, false); }
void cmpss_Vss_Wss_Ib(struct cpu *cpu, const struct insn *i) { cmp32(cpu, i, true); }
void cmppd_Vpd_Wpd_Ib(struct cpu *cpu, const struct insn *i) { cmp64(cpu, i, false); }
void cmpsd_Vsd_Wsd_Ib(struct cpu *cpu, const struct insn *i) { cmp64(cpu, i, true); }

/* (U)COMISS/SD: ZF, PF, CF from the relation; OF, SF, AF cleared.
 * COMIS* signal IE on QNaN operands too. */
static void comis(struct cpu *cpu, const struct insn *i, bool dbl, bool signaling)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, dbl ? 8 : 4, false);
	const union vreg *a = vreg(cpu, i->reg);
	struct sfp f = sfp_of(cpu);
	unsigned rel = dbl ? sfp_rel64(&f, a->q[0], b.q[0], signaling) : sfp_rel32(&f, a->d[0], b.d[0], signaling);
	simd_fp_exceptions(cpu, f.flags);
	flags_set_arith(cpu, sfp_rel_eflags(rel));
}
void comiss_Vss_Wss(struct cpu *cpu, const struct insn *i) { comis(cpu, i, false, true); }
void ucomiss_Vss_Wss(struct cpu *cpu, const struct insn *i) { comis(cpu, i, false, false); }
void comisd_Vsd_Wsd(struct cpu *cpu, const struct insn *i) { comis(cpu, i, true, true); }
void ucomisd_Vsd_Wsd(struct cpu *cpu, const struct insn *i) { comis(cpu, i, true, false); }

/* ---- conversions ------------------------------------------------------------------- */

/* Integer from GPR or memory (CVTSI2SS/SD: Ey, 64-bit with REX.W). */
static int64_t ey_int(struct cpu *cpu, const struct insn *i)
{
	if (i->flags & INSN_REXW)
		return (int64_t)rm_read(cpu, i, 3);
	return (int32_t)rm_read(cpu, i, 2);
}

void cvtsi2ss_Vss_Ey(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	int64_t v = ey_int(cpu, i);
	struct sfp f = sfp_of(cpu);
	uint32_t r = sfp_fromint32(&f, v);
	simd_fp_exceptions(cpu, f.flags);
	vreg(cpu, i->reg)->d[0] = r;
}

void cvtsi2sd_Vsd_Ey(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	int64_t v = ey_int(cpu, i);
	struct sfp f = sfp_of(cpu);
	uint64_t r = sfp_fromint64(&f, v);
	simd_fp_exceptions(cpu, f.flags);
	vreg(cpu, i->reg)->q[0] = r;
}

/* CVT(T)SS2SI / CVT(T)SD2SI: Gy (64-bit with REX.W). */
static void cvt2si(struct cpu *cpu, const struct insn *i, bool dbl, bool trunc_)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, dbl ? 8 : 4, false);
	unsigned bits = (i->flags & INSN_REXW) ? 64 : 32;
	struct sfp f = sfp_of(cpu);
	int64_t r = dbl ? sfp_toint64(&f, b.q[0], bits, trunc_) : sfp_toint32(&f, b.d[0], bits, trunc_);
	simd_fp_exceptions(cpu, f.flags);
	reg_write(cpu, i->reg, (uint64_t)r, bits == 64 ? 3 : 2);
}
void cvtss2si_Gy_Wss(struct cpu *cpu, const struct insn *i) { cvt2si(cpu, i, false, false); }
void cvttss2si_Gy_Wss(struct cpu *cpu, const struct insn *i) { cvt2si(cpu, i, false, true); }
void cvtsd2si_Gy_Wsd(struct cpu *cpu, const struct insn *i) { cvt2si(cpu, i, true, false); }
void cvttsd2si_Gy_Wsd(struct cpu *cpu, const struct insn *i) { cvt2si(cpu, i, true, true); }

/* The integer conversions of packed data: `n` elements of src (singles
 * or doubles) to int32 into r.d[0..n-1]. */
static void to_dq(struct sfp *f, union vreg *r, const union vreg *s, unsigned n, bool dbl, bool trunc_)
{
	for (unsigned k = 0; k < n; k++)
		r->d[k] = (uint32_t)(dbl ? sfp_toint64(f, s->q[k], 32, trunc_) : sfp_toint32(f, s->d[k], 32, trunc_));
}

/* CVT(T)PS2PI / CVT(T)PD2PI: to an MMX register. */
static void cvt2pi(struct cpu *cpu, const struct insn *i, bool dbl, bool trunc_)
{
	simd_check_sse(cpu);
	simd_check_mmx(cpu);
	union vreg s = sse_src(cpu, i, dbl ? 16 : 8, dbl), r;
	struct sfp f = sfp_of(cpu);
	to_dq(&f, &r, &s, 2, dbl, trunc_);
	simd_fp_exceptions(cpu, f.flags);
	mmx_put(cpu, i->reg, r.q[0]);
}
void cvtps2pi_Pq_Wq(struct cpu *cpu, const struct insn *i) { cvt2pi(cpu, i, false, false); }
void cvttps2pi_Pq_Wq(struct cpu *cpu, const struct insn *i) { cvt2pi(cpu, i, false, true); }
void cvtpd2pi_Pq_Wpd(struct cpu *cpu, const struct insn *i) { cvt2pi(cpu, i, true, false); }
void cvttpd2pi_Pq_Wpd(struct cpu *cpu, const struct insn *i) { cvt2pi(cpu, i, true, true); }

/* CVTPS2DQ / CVTTPS2DQ (4 lanes), CVT(T)PD2DQ (2 lanes, upper zeroed). */
static void cvt2dq(struct cpu *cpu, const struct insn *i, bool dbl, bool trunc_)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 16, true), r;
	memset(&r, 0, sizeof r);
	struct sfp f = sfp_of(cpu);
	to_dq(&f, &r, &s, dbl ? 2 : 4, dbl, trunc_);
	simd_fp_exceptions(cpu, f.flags);
	sse_put(cpu, i->reg, &r);
}
void cvtps2dq_Vdq_Wps(struct cpu *cpu, const struct insn *i) { cvt2dq(cpu, i, false, false); }
void cvttps2dq_Vdq_Wps(struct cpu *cpu, const struct insn *i) { cvt2dq(cpu, i, false, true); }
void cvtpd2dq_Vdq_Wpd(struct cpu *cpu, const struct insn *i) { cvt2dq(cpu, i, true, false); }
void cvttpd2dq_Vdq_Wpd(struct cpu *cpu, const struct insn *i) { cvt2dq(cpu, i, true, true); }

/* CVTPI2PS: MMX register or m64; the MMX transition only for a register
 * source (SDM CVTPI2PS). Upper two lanes kept. */
void cvtpi2ps_Vps_Qq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	if (i->mod == 3)
		simd_check_mmx(cpu);
	union vreg s, r;
	s.q[0] = mmx_src(cpu, i, 8);
	memcpy(&r, vreg(cpu, i->reg), 16);
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < 2; k++)
		r.d[k] = sfp_fromint32(&f, (int32_t)s.d[k]);
	simd_fp_exceptions(cpu, f.flags);
	if (i->mod == 3)
		mmx_enter(cpu);
	sse_put(cpu, i->reg, &r);
}

/* CVTPI2PD: exact. */
void cvtpi2pd_Vpd_Qq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	if (i->mod == 3)
		simd_check_mmx(cpu);
	union vreg s, r;
	s.q[0] = mmx_src(cpu, i, 8);
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < 2; k++)
		r.q[k] = sfp_fromint64(&f, (int32_t)s.d[k]);
	if (i->mod == 3)
		mmx_enter(cpu);
	sse_put(cpu, i->reg, &r);
}

void cvtdq2ps_Vps_Wdq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 16, true), r;
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < 4; k++)
		r.d[k] = sfp_fromint32(&f, (int32_t)s.d[k]);
	simd_fp_exceptions(cpu, f.flags);
	sse_put(cpu, i->reg, &r);
}

void cvtdq2pd_Vpd_Wq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 8, false), r;
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < 2; k++)
		r.q[k] = sfp_fromint64(&f, (int32_t)s.d[k]);
	sse_put(cpu, i->reg, &r);
}

void cvtps2pd_Vpd_Wq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 8, false), r;
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < 2; k++)
		r.q[k] = sfp_cvt32to64(&f, s.d[k]);
	simd_fp_exceptions(cpu, f.flags);
	sse_put(cpu, i->reg, &r);
}

void cvtpd2ps_Vps_Wpd(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 16, true), r;
	memset(&r, 0, sizeof r);
	struct sfp f = sfp_of(cpu);
	for (unsigned k = 0; k < 2; k++)
		r.d[k] = sfp_cvt64to32(&f, s.q[k]);
	simd_fp_exceptions(cpu, f.flags);
	sse_put(cpu, i->reg, &r);
}

void cvtss2sd_Vsd_Wss(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 4, false);
	struct sfp f = sfp_of(cpu);
	uint64_t r = sfp_cvt32to64(&f, s.d[0]);
	simd_fp_exceptions(cpu, f.flags);
	vreg(cpu, i->reg)->q[0] = r;
}

void cvtsd2ss_Vss_Wsd(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 8, false);
	struct sfp f = sfp_of(cpu);
	uint32_t r = sfp_cvt64to32(&f, s.q[0]);
	simd_fp_exceptions(cpu, f.flags);
	vreg(cpu, i->reg)->d[0] = r;
}
