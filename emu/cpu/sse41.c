/*
 * sse41.c - SSE4.1 (SDM Vol. 2) and PCMPGTQ (SSE4.2): blends, dot
 * products, element insert/extract, PMOVSX/ZX, PMIN/PMAX, PMULDQ/PMULLD,
 * PTEST, PHMINPOSUW, MPSADBW, PACKUSDW, MOVNTDQA and ROUNDxx.
 *
 * Memory operands of 128 bits need 16-byte alignment (#GP(0)); the forms
 * that read or write less (PMOVSX/ZX, ROUNDSS/SD, INSERTPS, PINSR*,
 * PEXTR*, EXTRACTPS) do not. Floating-point forms follow MXCSR through
 * the simd.h sfp_* helpers: all elements first, then
 * simd_fp_exceptions(), then the destination. BLENDV* and PBLENDVB take
 * their mask from XMM0's element sign bits. DPPS/DPPD round each product
 * and each partial sum, in the SDM pseudocode's order.
 */
#include "sse4.h"

#include "flags.h"

/* ---- integer element-wise operations (Vdq,Wdq) ------------------------- */

typedef void sse41_body(union x128 *d, const union x128 *s);

static void run2(struct cpu *cpu, const struct insn *i, sse41_body *body)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true);
	union x128 r = *sse4_xmm(cpu, i->reg);
	body(&r, &s);
	*sse4_xmm(cpu, i->reg) = r;
}

#define ELEM(name, lane, cnt, expr)							\
	static void name##_body(union x128 *d, const union x128 *s)			\
	{										\
		for (unsigned k = 0; k < (cnt); k++) {					\
			__typeof__(d->lane[0]) a = d->lane[k], b = s->lane[k];		\
			d->lane[k] = (__typeof__(d->lane[0]))(expr);			\
		}									\
	}										\
	void name##_Vdq_Wdq(struct cpu *cpu, const struct insn *i) { run2(cpu, i, name##_body); }

ELEM(pminsb, sb, 16, a < b ? a : b)
ELEM(pminsd, sd, 4, a < b ? a : b)
ELEM(pminuw, w, 8, a < b ? a : b)
ELEM(pminud, d, 4, a < b ? a : b)
ELEM(pmaxsb, sb, 16, a > b ? a : b)
ELEM(pmaxsd, sd, 4, a > b ? a : b)
ELEM(pmaxuw, w, 8, a > b ? a : b)
ELEM(pmaxud, d, 4, a > b ? a : b)
ELEM(pmulld, d, 4, (uint64_t)a * b)
ELEM(pcmpeqq, q, 2, a == b ? ~0ull : 0)
ELEM(pcmpgtq, sq, 2, a > b ? -1 : 0)

static void pmuldq_body(union x128 *d, const union x128 *s)
{
	int64_t lo = (int64_t)d->sd[0] * s->sd[0], hi = (int64_t)d->sd[2] * s->sd[2];
	d->sq[0] = lo;
	d->sq[1] = hi;
}
void pmuldq_Vdq_Wdq(struct cpu *cpu, const struct insn *i) { run2(cpu, i, pmuldq_body); }

static uint16_t satu16(int32_t v)
{
	return (uint16_t)(v < 0 ? 0 : v > 0xffff ? 0xffff : v);
}

static void packusdw_body(union x128 *d, const union x128 *s)
{
	union x128 r;
	for (unsigned k = 0; k < 4; k++) {
		r.w[k] = satu16(d->sd[k]);
		r.w[k + 4] = satu16(s->sd[k]);
	}
	*d = r;
}
void packusdw_Vdq_Wdq(struct cpu *cpu, const struct insn *i) { run2(cpu, i, packusdw_body); }

static void phminposuw_body(union x128 *d, const union x128 *s)
{
	unsigned best = 0;
	for (unsigned k = 1; k < 8; k++)
		if (s->w[k] < s->w[best])
			best = k;
	uint16_t v = s->w[best];
	d->q[0] = d->q[1] = 0;
	d->w[0] = v;
	d->w[1] = (uint16_t)best;
}
void phminposuw_Vdq_Wdq(struct cpu *cpu, const struct insn *i) { run2(cpu, i, phminposuw_body); }

void ptest_Vdq_Wdq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg);
	uint64_t f = 0;
	if (!((d->q[0] & s.q[0]) | (d->q[1] & s.q[1])))
		f |= FL_ZF;
	if (!((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1])))
		f |= FL_CF;
	flags_set_arith(cpu, f);
}

void movntdqa_Vdq_Mdq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	*sse4_xmm(cpu, i->reg) = sse4_src(cpu, i, 16, true);
}

/* ---- PMOVSX / PMOVZX: widen the low elements of a short source --------- */

#define PMOV(name, ops, bytes, out, in, cnt)						\
	void name##_##ops(struct cpu *cpu, const struct insn *i)			\
	{										\
		simd_check_sse(cpu);							\
		union x128 s = sse4_src(cpu, i, bytes, false), r;			\
		for (unsigned k = 0; k < (cnt); k++)					\
			r.out[k] = s.in[k];						\
		*sse4_xmm(cpu, i->reg) = r;							\
	}
PMOV(pmovsxbw, Vdq_Wq, 8, sw, sb, 8)
PMOV(pmovsxbd, Vdq_Wd, 4, sd, sb, 4)
PMOV(pmovsxbq, Vdq_Ww, 2, sq, sb, 2)
PMOV(pmovsxwd, Vdq_Wq, 8, sd, sw, 4)
PMOV(pmovsxwq, Vdq_Wd, 4, sq, sw, 2)
PMOV(pmovsxdq, Vdq_Wq, 8, sq, sd, 2)
PMOV(pmovzxbw, Vdq_Wq, 8, w, b, 8)
PMOV(pmovzxbd, Vdq_Wd, 4, d, b, 4)
PMOV(pmovzxbq, Vdq_Ww, 2, q, b, 2)
PMOV(pmovzxwd, Vdq_Wq, 8, d, w, 4)
PMOV(pmovzxwq, Vdq_Wd, 4, q, w, 2)
PMOV(pmovzxdq, Vdq_Wq, 8, q, d, 2)

/* ---- blends ------------------------------------------------------------ */

/* Element k of size esz bytes comes from the source when bit k of mask. */
static void blend(struct cpu *cpu, const struct insn *i, unsigned esz, unsigned mask)
{
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg);
	for (unsigned k = 0; k < 16 / esz; k++)
		if (mask >> k & 1)
			memcpy(&d->b[k * esz], &s.b[k * esz], esz);
}

/* The sign bits of XMM0's elements of esz bytes, as a mask. */
static unsigned xmm0_mask(struct cpu *cpu, unsigned esz)
{
	unsigned m = 0;
	for (unsigned k = 0; k < 16 / esz; k++)
		m |= (unsigned)(sse4_xmm(cpu, 0)->b[k * esz + esz - 1] >> 7) << k;
	return m;
}

void blendps_Vps_Wps_Ib(struct cpu *cpu, const struct insn *i) { simd_check_sse(cpu); blend(cpu, i, 4, (unsigned)i->imm); }
void blendpd_Vpd_Wpd_Ib(struct cpu *cpu, const struct insn *i) { simd_check_sse(cpu); blend(cpu, i, 8, (unsigned)i->imm); }
void pblendw_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i) { simd_check_sse(cpu); blend(cpu, i, 2, (unsigned)i->imm); }
void pblendvb_Vdq_Wdq(struct cpu *cpu, const struct insn *i) { simd_check_sse(cpu); blend(cpu, i, 1, xmm0_mask(cpu, 1)); }
void blendvps_Vps_Wps(struct cpu *cpu, const struct insn *i) { simd_check_sse(cpu); blend(cpu, i, 4, xmm0_mask(cpu, 4)); }
void blendvpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { simd_check_sse(cpu); blend(cpu, i, 8, xmm0_mask(cpu, 8)); }

/* ---- extract / insert ---------------------------------------------------- */

/* Stores the low `bytes` of v to the E operand: memory, or a GPR
 * zero-extended (the register forms write 32 or 64 bits). */
static void store_e(struct cpu *cpu, const struct insn *i, uint64_t v, unsigned bytes)
{
	if (i->mod == 3)
		cpu->regs[i->rm] = v;
	else
		mem_write(cpu, i->seg, insn_ea(cpu, i), v, bytes);
}

/* Loads the E operand: `bytes` of memory or the low bytes of a GPR. */
static uint64_t load_e(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	uint64_t v = i->mod == 3 ? cpu->regs[i->rm] : mem_read(cpu, i->seg, insn_ea(cpu, i), bytes);
	return bytes == 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

static void pextr(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	simd_check_sse(cpu);
	unsigned k = (unsigned)i->imm & (16 / bytes - 1);
	uint64_t v = 0;
	memcpy(&v, &sse4_xmm(cpu, i->reg)->b[k * bytes], bytes);
	store_e(cpu, i, v, bytes);
}

void pextrb_Rd_Vdq_Ib(struct cpu *cpu, const struct insn *i) { pextr(cpu, i, 1); }
void pextrw_Rd_Vdq_Ib(struct cpu *cpu, const struct insn *i) { pextr(cpu, i, 2); }
void pextr_Ey_Vdq_Ib_d(struct cpu *cpu, const struct insn *i) { pextr(cpu, i, 4); }
void pextr_Ey_Vdq_Ib_q(struct cpu *cpu, const struct insn *i) { pextr(cpu, i, 8); }
void extractps_Ed_Vdq_Ib(struct cpu *cpu, const struct insn *i) { pextr(cpu, i, 4); }

static void pinsr(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	simd_check_sse(cpu);
	uint64_t v = load_e(cpu, i, bytes);
	unsigned k = (unsigned)i->imm & (16 / bytes - 1);
	memcpy(&sse4_xmm(cpu, i->reg)->b[k * bytes], &v, bytes);
}

void pinsrb_Vdq_Ry_Ib(struct cpu *cpu, const struct insn *i) { pinsr(cpu, i, 1); }
void pinsr_Vdq_Ey_Ib_d(struct cpu *cpu, const struct insn *i) { pinsr(cpu, i, 4); }
void pinsr_Vdq_Ey_Ib_q(struct cpu *cpu, const struct insn *i) { pinsr(cpu, i, 8); }

void insertps_Vdq_Udq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	unsigned imm = (unsigned)i->imm & 0xff;
	uint32_t v;
	if (i->mod == 3)
		v = sse4_xmm(cpu, i->rm)->d[imm >> 6];
	else
		v = mem_read32(cpu, i->seg, insn_ea(cpu, i));
	union x128 *d = sse4_xmm(cpu, i->reg);
	d->d[(imm >> 4) & 3] = v;
	for (unsigned k = 0; k < 4; k++)
		if (imm >> k & 1)
			d->d[k] = 0;
}

/* ---- MPSADBW -------------------------------------------------------------- */

void mpsadbw_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg), r;
	unsigned imm = (unsigned)i->imm;
	unsigned aoff = (imm & 4) ? 4 : 0, boff = (imm & 3) * 4;
	for (unsigned k = 0; k < 8; k++) {
		unsigned sum = 0;
		for (unsigned j = 0; j < 4; j++) {
			int diff = d->b[aoff + k + j] - s.b[boff + j];
			sum += (unsigned)(diff < 0 ? -diff : diff);
		}
		r.w[k] = (uint16_t)sum;
	}
	*d = r;
}

/* ---- floating point: ROUND, DPPS/DPPD --------------------------------------- */

/* ROUNDPS/PD (n elements, aligned 16 bytes) and ROUNDSS/SD (one element
 * of esz bytes, unaligned; the other destination elements unchanged). */
static void round_common(struct cpu *cpu, const struct insn *i, unsigned esz, bool packed)
{
	simd_check_sse(cpu);
	union x128 s = packed ? sse4_src(cpu, i, 16, true) : sse4_src(cpu, i, esz, false);
	union x128 r = *sse4_xmm(cpu, i->reg);
	struct sfp e = sfp_of(cpu);
	unsigned imm = (unsigned)i->imm & 15;
	for (unsigned k = 0; k < (packed ? 16 / esz : 1); k++) {
		if (esz == 4)
			r.d[k] = sfp_round32(&e, s.d[k], imm);
		else
			r.q[k] = sfp_round64(&e, s.q[k], imm);
	}
	simd_fp_exceptions(cpu, e.flags);
	*sse4_xmm(cpu, i->reg) = r;
}

void roundps_Vps_Wps_Ib(struct cpu *cpu, const struct insn *i) { round_common(cpu, i, 4, true); }
void roundpd_Vpd_Wpd_Ib(struct cpu *cpu, const struct insn *i) { round_common(cpu, i, 8, true); }
void roundss_Vss_Wss_Ib(struct cpu *cpu, const struct insn *i) { round_common(cpu, i, 4, false); }
void roundsd_Vsd_Wsd_Ib(struct cpu *cpu, const struct insn *i) { round_common(cpu, i, 8, false); }

/* SDM DPPS pseudocode: products of the selected elements (+0.0 for the
 * others), summed as (t0 + t1) + (t2 + t3), broadcast to the selected
 * result elements (+0.0 elsewhere). */
void dpps_Vps_Wps_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg), r;
	struct sfp e = sfp_of(cpu);
	unsigned imm = (unsigned)i->imm;
	uint32_t t[4];
	for (unsigned k = 0; k < 4; k++)
		t[k] = (imm >> (4 + k) & 1) ? sfp_mul32(&e, d->d[k], s.d[k]) : 0;
	uint32_t lo = sfp_add32(&e, t[0], t[1]);
	uint32_t hi = sfp_add32(&e, t[2], t[3]);
	uint32_t sum = sfp_add32(&e, lo, hi);
	for (unsigned k = 0; k < 4; k++)
		r.d[k] = (imm >> k & 1) ? sum : 0;
	simd_fp_exceptions(cpu, e.flags);
	*d = r;
}

void dppd_Vpd_Wpd_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg), r;
	struct sfp e = sfp_of(cpu);
	unsigned imm = (unsigned)i->imm;
	uint64_t t[2];
	for (unsigned k = 0; k < 2; k++)
		t[k] = (imm >> (4 + k) & 1) ? sfp_mul64(&e, d->q[k], s.q[k]) : 0;
	uint64_t sum = sfp_add64(&e, t[0], t[1]);
	for (unsigned k = 0; k < 2; k++)
		r.q[k] = (imm >> k & 1) ? sum : 0;
	simd_fp_exceptions(cpu, e.flags);
	*d = r;
}
