/*
 * sse.c - SSE/SSE2 data movement, shuffles and logic on XMM registers,
 * MXCSR access (LDMXCSR/STMXCSR) and FXSAVE/FXRSTOR (SDM Vol. 1 10.4,
 * 10.5, 11.4; Vol. 2 FXSAVE tables 3-53..3-56; APM Vol. 2 11.4.4 for the
 * fast save of EFER.FFXSR).
 *
 * MXCSR_MASK is 0xFFFF: DAZ is supported (every model we offer has it);
 * LDMXCSR and FXRSTOR raise #GP(0) for a value with bits set outside it.
 */
#include "sse.h"

#include "cpuid.h"
#include "x87.h"

#define MXCSR_MASK 0xffffu

/* ---- moves ------------------------------------------------------------------ */

/* Full 16-byte loads/stores: aligned (MOVAPS, MOVDQA ...) or not. */
static void mov_load(struct cpu *cpu, const struct insn *i, bool align)
{
	simd_check_sse(cpu);
	union vreg v = sse_src(cpu, i, 16, align);
	sse_put(cpu, i->reg, &v);
}
static void mov_store(struct cpu *cpu, const struct insn *i, bool align)
{
	simd_check_sse(cpu);
	union vreg v;
	memcpy(&v, vreg(cpu, i->reg), 16);
	simd_write_rm(cpu, i, &v, 16, align);
}
void movups_Vps_Wps(struct cpu *cpu, const struct insn *i) { mov_load(cpu, i, false); }
void movupd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { mov_load(cpu, i, false); }
void movdqu_Vx_Wx(struct cpu *cpu, const struct insn *i) { mov_load(cpu, i, false); }
void movaps_Vps_Wps(struct cpu *cpu, const struct insn *i) { mov_load(cpu, i, true); }
void movapd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { mov_load(cpu, i, true); }
void movdqa_Vx_Wx(struct cpu *cpu, const struct insn *i) { mov_load(cpu, i, true); }
void movups_Wps_Vps(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, false); }
void movupd_Wpd_Vpd(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, false); }
void movdqu_Wx_Vx(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, false); }
void movaps_Wps_Vps(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, true); }
void movapd_Wpd_Vpd(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, true); }
void movdqa_Wx_Vx(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, true); }
/* Non-temporal stores are ordinary stores here (memory is coherent). */
void movntps_Mps_Vps(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, true); }
void movntpd_Mpd_Vpd(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, true); }
void movntdq_Mdq_Vdq(struct cpu *cpu, const struct insn *i) { mov_store(cpu, i, true); }

void movnti_My_Gy(struct cpu *cpu, const struct insn *i)
{
	unsigned sz = (i->flags & INSN_REXW) ? 3 : 2;
	mem_write(cpu, i->seg, insn_ea(cpu, i), reg_read(cpu, i->reg, sz), 1u << sz);
}

/* MOVSS/MOVSD: register forms merge the low element, loads zero the
 * rest of the low 128 bits, stores write one element. */
static void movs_load(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	simd_check_sse(cpu);
	union vreg v = sse_src(cpu, i, bytes, false);
	if (i->mod == 3)
		memcpy(vreg(cpu, i->reg), &v, bytes);
	else
		sse_put(cpu, i->reg, &v);
}
static void movs_store(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	simd_check_sse(cpu);
	union vreg v;
	memcpy(&v, vreg(cpu, i->reg), 16);
	simd_write_rm(cpu, i, &v, bytes, false);
}
void movss_Vss_Wss(struct cpu *cpu, const struct insn *i) { movs_load(cpu, i, 4); }
void movsd_Vsd_Wsd(struct cpu *cpu, const struct insn *i) { movs_load(cpu, i, 8); }
void movss_Wss_Vss(struct cpu *cpu, const struct insn *i) { movs_store(cpu, i, 4); }
void movsd_Wsd_Vsd(struct cpu *cpu, const struct insn *i) { movs_store(cpu, i, 8); }

/* MOVLPS/MOVHPS/MOVLPD/MOVHPD (memory only): one quadword, half = 0 / 1. */
static void movhalf_load(struct cpu *cpu, const struct insn *i, unsigned half)
{
	simd_check_sse(cpu);
	uint64_t q = mem_read64(cpu, i->seg, insn_ea(cpu, i));
	vreg(cpu, i->reg)->q[half] = q;
}
static void movhalf_store(struct cpu *cpu, const struct insn *i, unsigned half)
{
	simd_check_sse(cpu);
	mem_write64(cpu, i->seg, insn_ea(cpu, i), vreg(cpu, i->reg)->q[half]);
}
void movlps_Vq_Mq(struct cpu *cpu, const struct insn *i) { movhalf_load(cpu, i, 0); }
void movlpd_Vq_Mq(struct cpu *cpu, const struct insn *i) { movhalf_load(cpu, i, 0); }
void movhps_Vq_Mq(struct cpu *cpu, const struct insn *i) { movhalf_load(cpu, i, 1); }
void movhpd_Vq_Mq(struct cpu *cpu, const struct insn *i) { movhalf_load(cpu, i, 1); }
void movlps_Mq_Vq(struct cpu *cpu, const struct insn *i) { movhalf_store(cpu, i, 0); }
void movlpd_Mq_Vq(struct cpu *cpu, const struct insn *i) { movhalf_store(cpu, i, 0); }
void movhps_Mq_Vq(struct cpu *cpu, const struct insn *i) { movhalf_store(cpu, i, 1); }
void movhpd_Mq_Vq(struct cpu *cpu, const struct insn *i) { movhalf_store(cpu, i, 1); }

void movhlps_Vq_Uq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	vreg(cpu, i->reg)->q[0] = vreg(cpu, i->rm)->q[1];
}
void movlhps_Vq_Uq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	vreg(cpu, i->reg)->q[1] = vreg(cpu, i->rm)->q[0];
}

/* F3 0F 7E MOVQ xmm, xmm/m64 and 66 0F D6 MOVQ xmm/m64, xmm: the
 * register destination's bits 127:64 are zeroed. */
void movq_Vq_Wq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg v = sse_src(cpu, i, 8, false);
	sse_put(cpu, i->reg, &v);
}
void movq_Wq_Vq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg v;
	memset(&v, 0, sizeof v);
	v.q[0] = vreg(cpu, i->reg)->q[0];
	if (i->mod == 3)
		sse_put(cpu, i->rm, &v);
	else
		simd_write_rm(cpu, i, &v, 8, false);
}

/* ---- shuffles, unpacks, logic, masks -------------------------------------------- */

static void xmm_kernel(struct cpu *cpu, const struct insn *i, sse_kernel *k)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, 16, true), a;
	memcpy(&a, vreg(cpu, i->reg), 16);
	k(&a, &a, &b, 16);
	sse_put(cpu, i->reg, &a);
}
void unpcklps_Vps_Wps(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_punpckldq); }
void unpckhps_Vps_Wps(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_punpckhdq); }
void unpcklpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_punpcklqdq); }
void unpckhpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_punpckhqdq); }
void andps_Vps_Wps(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_pand); }
void andpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_pand); }
void andnps_Vps_Wps(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_pandn); }
void andnpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_pandn); }
void orps_Vps_Wps(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_por); }
void orpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_por); }
void xorps_Vps_Wps(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_pxor); }
void xorpd_Vpd_Wpd(struct cpu *cpu, const struct insn *i) { xmm_kernel(cpu, i, sse_k_pxor); }

void shufps_Vps_Wps_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, 16, true), r;
	union vreg *a = vreg(cpu, i->reg);
	unsigned m = (uint8_t)i->imm;
	r.d[0] = a->d[m & 3];
	r.d[1] = a->d[(m >> 2) & 3];
	r.d[2] = b.d[(m >> 4) & 3];
	r.d[3] = b.d[(m >> 6) & 3];
	sse_put(cpu, i->reg, &r);
}
void shufpd_Vpd_Wpd_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, 16, true), r;
	union vreg *a = vreg(cpu, i->reg);
	r.q[0] = a->q[i->imm & 1];
	r.q[1] = b.q[(i->imm >> 1) & 1];
	sse_put(cpu, i->reg, &r);
}

void movmskps_Gd_Ups(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	const union vreg *s = vreg(cpu, i->rm);
	uint32_t m = 0;
	for (unsigned k = 0; k < 4; k++)
		m |= (s->d[k] >> 31) << k;
	cpu->regs[i->reg] = m;
}
void movmskpd_Gd_Upd(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	const union vreg *s = vreg(cpu, i->rm);
	cpu->regs[i->reg] = (uint32_t)((s->q[0] >> 63) | (s->q[1] >> 63) << 1);
}

/* ---- MXCSR ---------------------------------------------------------------------------- */

void ldmxcsr(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	uint32_t v = mem_read32(cpu, i->seg, insn_ea(cpu, i));
	if (v & ~MXCSR_MASK)
		cpu_fault(cpu, EXC_GP, 0);
	cpu->mxcsr = v;
}

void stmxcsr(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	mem_write32(cpu, i->seg, insn_ea(cpu, i), cpu->mxcsr);
}

/* ---- FXSAVE / FXRSTOR ------------------------------------------------------------------ */

/*
 * Layout (SDM Vol. 2 FXSAVE, tables 3-53/3-56): FCW, FSW, abridged FTW,
 * FOP; FIP/FCS and FDP/FDS (32-bit format) or 64-bit FIP/FDP (REX.W);
 * MXCSR, MXCSR_MASK; ST0-ST7 in stack order at 32 + 16 i (10 bytes, the
 * rest written as zeros); XMM0-7 (XMM0-15 in 64-bit mode) at 160 + 16 i.
 * Bytes 288 (416 in 64-bit mode) to 511 are not written. With
 * CR4.OSFXSR = 0 MXCSR and the XMM registers are not saved or restored;
 * with EFER.FFXSR on a model that has it, in 64-bit mode at CPL 0, the
 * XMM registers are not (APM Vol. 2 11.4.4).
 */
static bool fx_xmm(struct cpu *cpu)
{
	if (!(cpu->cr4 & CR4_OSFXSR))
		return false;
	return !((cpu->efer & EFER_FFXSR) && cpu_has(cpu, FEAT_FFXSR) && cpu->mode == MODE_LONG && cpu->cpl == 0);
}

static uint64_t fx_area(struct cpu *cpu, const struct insn *i)
{
	if ((cpu->cr0 & (CR0_EM | CR0_TS)))
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
	uint64_t ea = insn_ea(cpu, i);
	if ((cpu->segbase[i->seg] + ea) & 15)
		cpu_fault(cpu, EXC_GP, 0);
	return ea;
}

static unsigned fx_nxmm(const struct cpu *cpu)
{
	return cpu->mode == MODE_LONG ? 16 : 8;
}

void fxsave(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = fx_area(cpu, i);
	uint8_t b[512];
	memset(b, 0, sizeof b);
	x87_fx_image_save(&cpu->fpu, b, (i->flags & INSN_REXW) != 0);
	unsigned len = 160 + 16 * fx_nxmm(cpu);
	if (cpu->cr4 & CR4_OSFXSR) {
		uint32_t mask = MXCSR_MASK;
		memcpy(b + 24, &cpu->mxcsr, 4);
		memcpy(b + 28, &mask, 4);
		if (fx_xmm(cpu)) {
			for (unsigned k = 0; k < fx_nxmm(cpu); k++)
				memcpy(b + 160 + 16 * k, vreg(cpu, k), 16);
		} else {
			len = 160;
		}
	} else {
		/* MXCSR and XMM left as they were in memory: write only the
		 * x87 part, around the MXCSR words. */
		mem_write_block(cpu, i->seg, ea + 32, b + 32, 128);
		mem_write_block(cpu, i->seg, ea, b, 24);
		return;
	}
	mem_write_block(cpu, i->seg, ea, b, len);
}

void fxrstor(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = fx_area(cpu, i);
	uint8_t b[512];
	unsigned len = 160 + 16 * fx_nxmm(cpu);
	mem_read_block(cpu, i->seg, ea, b, len);
	uint32_t mx;
	memcpy(&mx, b + 24, 4);
	bool sse = cpu->cr4 & CR4_OSFXSR;
	if (sse && (mx & ~MXCSR_MASK))
		cpu_fault(cpu, EXC_GP, 0);
	x87_fx_image_load(&cpu->fpu, b, (i->flags & INSN_REXW) != 0);
	if (sse) {
		cpu->mxcsr = mx;
		if (fx_xmm(cpu))
			for (unsigned k = 0; k < fx_nxmm(cpu); k++)
				memcpy(vreg(cpu, k), b + 160 + 16 * k, 16);
	}
}
