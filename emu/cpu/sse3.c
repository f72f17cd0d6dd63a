/*
 * sse3.c - SSE3 (SDM Vol. 2: ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD, MOVSHDUP,
 * MOVSLDUP, MOVDDUP, LDDQU). FISTTP belongs to the x87 files and
 * MONITOR/MWAIT to the system files.
 *
 * The arithmetic forms read a 16-byte aligned operand and compute every
 * element with the simd.h sfp_* helpers before the destination is written, so
 * an unmasked exception (#XM) leaves it untouched. MOVDDUP reads 8 bytes
 * and LDDQU 16 bytes without alignment; MOVSxDUP need alignment.
 */
#include "sse4.h"

/* Element k of the result = fn(a[ia], b[ib]) for the two packed layouts. */
enum hpat { P_ADDSUB, P_HADD, P_HSUB };

static void fp_ps(struct cpu *cpu, const struct insn *i, enum hpat pat)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true);
	union x128 *d = sse4_xmm(cpu, i->reg), r;
	struct sfp e = sfp_of(cpu);
	for (unsigned k = 0; k < 4; k++) {
		if (pat == P_ADDSUB) {
			r.d[k] = (k & 1) ? sfp_add32(&e, d->d[k], s.d[k]) : sfp_sub32(&e, d->d[k], s.d[k]);
		} else {
			const union x128 *src = k < 2 ? d : &s;
			unsigned j = (k & 1) * 2;
			r.d[k] = pat == P_HADD ? sfp_add32(&e, src->d[j], src->d[j + 1])
					       : sfp_sub32(&e, src->d[j], src->d[j + 1]);
		}
	}
	simd_fp_exceptions(cpu, e.flags);
	*d = r;
}

static void fp_pd(struct cpu *cpu, const struct insn *i, enum hpat pat)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true);
	union x128 *d = sse4_xmm(cpu, i->reg), r;
	struct sfp e = sfp_of(cpu);
	if (pat == P_ADDSUB) {
		r.q[0] = sfp_sub64(&e, d->q[0], s.q[0]);
		r.q[1] = sfp_add64(&e, d->q[1], s.q[1]);
	} else {
		uint64_t (*op)(struct sfp *, uint64_t, uint64_t) = pat == P_HADD ? sfp_add64 : sfp_sub64;
		r.q[0] = op(&e, d->q[0], d->q[1]);
		r.q[1] = op(&e, s.q[0], s.q[1]);
	}
	simd_fp_exceptions(cpu, e.flags);
	*d = r;
}

void addsubps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp_ps(cpu, i, P_ADDSUB); }
void haddps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp_ps(cpu, i, P_HADD); }
void hsubps_Vps_Wps(struct cpu *cpu, const struct insn *i) { fp_ps(cpu, i, P_HSUB); }
void addsubpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { fp_pd(cpu, i, P_ADDSUB); }
void haddpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { fp_pd(cpu, i, P_HADD); }
void hsubpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { fp_pd(cpu, i, P_HSUB); }

/* MOVSLDUP (odd = 0) / MOVSHDUP (odd = 1): duplicate even or odd dwords. */
static void movsdup(struct cpu *cpu, const struct insn *i, unsigned odd)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg);
	for (unsigned k = 0; k < 4; k++)
		d->d[k] = s.d[(k & ~1u) + odd];
}

void movsldup_Vps_Wps(struct cpu *cpu, const struct insn *i) { movsdup(cpu, i, 0); }
void movshdup_Vps_Wps(struct cpu *cpu, const struct insn *i) { movsdup(cpu, i, 1); }

void movddup_Vpd_Wsd(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 8, false), *d = sse4_xmm(cpu, i->reg);
	d->q[0] = d->q[1] = s.q[0];
}

void lddqu_Vdq_Mdq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	*sse4_xmm(cpu, i->reg) = sse4_src(cpu, i, 16, false);
}
