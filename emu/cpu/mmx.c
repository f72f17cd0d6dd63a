/*
 * mmx.c - MMX register moves and state: EMMS, MOVD/MOVQ between MMX or
 * XMM registers and GPRs/memory, MOVQ2DQ/MOVDQ2Q, MOVNTQ (SDM Vol. 1
 * 9.5-9.6, Vol. 2 MOVD/MOVQ). MMX registers alias the significands of
 * the x87 physical registers; see sse.h for the state transitions.
 * MOVD becomes MOVQ with REX.W (64-bit GPR operand).
 */
#include "sse.h"

void emms(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	simd_check_mmx(cpu);
	cpu->fpu.ftw = 0xffff;		/* all empty */
}

static unsigned ey_size(const struct insn *i)
{
	return (i->flags & INSN_REXW) ? 3 : 2;
}

void movd_Pq_Ey(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	uint64_t v = rm_read(cpu, i, ey_size(i));
	mmx_put(cpu, i->reg, v);
}

void movd_Ey_Pq(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	rm_write(cpu, i, mmx_get(cpu, i->reg), ey_size(i));
	mmx_enter(cpu);
}

void movd_Vx_Ey(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg v;
	memset(&v, 0, sizeof v);
	v.q[0] = rm_read(cpu, i, ey_size(i));
	sse_put(cpu, i->reg, &v);
}

void movd_Ey_Vx(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	rm_write(cpu, i, vreg(cpu, i->reg)->q[0], ey_size(i));
}

void movq_Pq_Qq(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	mmx_put(cpu, i->reg, mmx_src(cpu, i, 8));
}

void movq_Qq_Pq(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	uint64_t v = mmx_get(cpu, i->reg);
	if (i->mod == 3) {
		mmx_put(cpu, i->rm, v);
	} else {
		mem_write64(cpu, i->seg, insn_ea(cpu, i), v);
		mmx_enter(cpu);
	}
}

void movntq_Mq_Pq(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	mem_write64(cpu, i->seg, insn_ea(cpu, i), mmx_get(cpu, i->reg));
	mmx_enter(cpu);
}

/* MOVQ2DQ / MOVDQ2Q: both SSE2 and MMX instructions (#UD on either's
 * conditions); both perform the MMX transition. */
void movq2dq_Vdq_Nq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	simd_check_mmx(cpu);
	union vreg v;
	memset(&v, 0, sizeof v);
	v.q[0] = mmx_get(cpu, i->rm);
	sse_put(cpu, i->reg, &v);
	mmx_enter(cpu);
}

void movdq2q_Pq_Uq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	simd_check_mmx(cpu);
	mmx_put(cpu, i->reg, vreg(cpu, i->rm)->q[0]);
}
