/*
 * farjmp.c - far JMP, far CALL and far RET: direct transfers between code
 * segments, call gates (16/32-bit and IA-32e 64-bit gates) with the
 * privilege change and stack switch through the TSS, and the JMP/CALL
 * forms that switch tasks (SDM Vol. 3 5.8, Vol. 2 CALL/JMP/RET).
 *
 * Every check and every push happens on local copies (struct stk, struct
 * seg) and nothing architectural changes until the transfer can no
 * longer fault; then CS, SS, RSP and RIP are committed together (CPL is
 * SS.DPL, so a privilege change must load both). Pushes onto a new inner
 * stack are implicit supervisor accesses. The stack helpers here are
 * shared with interrupt delivery and IRET (intr.c) and task switches.
 */
#include "seg.h"

#include "interp.h"
#include "../mmu/mmu.h"

static inline bool lma(const struct cpu *cpu)
{
	return (cpu->efer & EFER_LMA) != 0;
}

/* ---- Stacks ------------------------------------------------------------ */

void stk_cur(struct cpu *cpu, struct stk *st)
{
	st->ss = cpu->seg[S_SS];
	st->size = cpu->stack_size;
	st->sp = cpu->regs[R_SP] & size_mask[st->size];
	st->acc = 0;
	st->err = 0;
}

static uint64_t stk_lin(struct cpu *cpu, const struct stk *st, uint64_t off, unsigned bytes)
{
	if (st->size == 3) {
		if (!seg_canonical(cpu, off) || !seg_canonical(cpu, off + bytes - 1))
			cpu_fault(cpu, EXC_SS, st->err);
		return off;
	}
	if ((cpu->cr0 & CR0_PE) && (st->ss.attr & AR_UNUSABLE))
		cpu_fault(cpu, EXC_SS, st->err);
	if (!seg_limit_ok(&st->ss, off, bytes))
		cpu_fault(cpu, EXC_SS, st->err);
	return (uint32_t)(st->ss.base + off);
}

void stk_push(struct cpu *cpu, struct stk *st, uint64_t v, unsigned bytes)
{
	uint64_t sp = (st->sp - bytes) & size_mask[st->size];
	mmu_write_slow(cpu, stk_lin(cpu, st, sp, bytes), v, bytes, st->acc | ACC_WRITE);
	st->sp = sp;
}

uint64_t stk_pop(struct cpu *cpu, struct stk *st, unsigned bytes)
{
	uint64_t v = mmu_read_slow(cpu, stk_lin(cpu, st, st->sp, bytes), bytes, st->acc | ACC_READ);
	st->sp = (st->sp + bytes) & size_mask[st->size];
	return v;
}

uint64_t stk_peek(struct cpu *cpu, const struct stk *st, uint64_t offset, unsigned bytes)
{
	uint64_t off = (st->sp + offset) & size_mask[st->size];
	return mmu_read_slow(cpu, stk_lin(cpu, st, off, bytes), bytes, st->acc | ACC_READ);
}

void stk_commit_sp(struct cpu *cpu, const struct stk *st)
{
	if (st->size == 1)
		cpu->regs[R_SP] = (cpu->regs[R_SP] & ~0xffffull) | (st->sp & 0xffff);
	else
		cpu->regs[R_SP] = st->sp;
}

/* ---- Code segment targets ---------------------------------------------- */

void seg_check_rip(struct cpu *cpu, const struct seg *cs, uint64_t rip, unsigned ext)
{
	if (lma(cpu) && (cs->attr & AR_L)) {
		if (!seg_canonical(cpu, rip))
			cpu_fault(cpu, EXC_GP, ext);
	} else if (rip > cs->limit) {
		cpu_fault(cpu, EXC_GP, ext);
	}
}

void seg_commit_cs(struct cpu *cpu, const struct seg *cs, uint64_t rip)
{
	cpu->seg[S_CS] = *cs;
	cpu_update_mode(cpu);
	cpu->rip = cpu->next_rip = rip;
	cpu->exit_request = 1;
}

/* Reads a far-transfer target descriptor: #GP(0) for a null selector,
 * #GP(sel) outside the table; system descriptors are read whole (16
 * bytes) in IA-32e mode. */
static void fetch_target(struct cpu *cpu, uint16_t sel, struct desc *d)
{
	if ((sel & 0xfffc) == 0)
		cpu_fault(cpu, EXC_GP, 0);
	if (!seg_fetch_desc(cpu, sel, d, false))
		cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
	if (!desc_s(d) && lma(cpu) && !seg_fetch_desc(cpu, sel, d, true))
		cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
}

/* A 64-bit code segment where IA-32e requires one; L and D both set is
 * reserved. */
static void check_long_code(struct cpu *cpu, const struct desc *d, uint32_t err, bool need64)
{
	if (!lma(cpu))
		return;
	bool l = (d->hi >> 21) & 1, db = (d->hi >> 22) & 1;
	if ((l && db) || (need64 && !l))
		cpu_fault(cpu, EXC_GP, err);
}

/* JMP/CALL straight to a code segment (SDM Vol. 3 5.8.1). */
static void direct_code(struct cpu *cpu, uint16_t sel, struct desc *d, struct seg *cs)
{
	uint32_t err = sel & 0xfffcu;
	unsigned t = desc_type(d), dpl = desc_dpl(d), rpl = sel & 3, cpl = cpu->cpl;
	if (!(t & DT_CODE))
		cpu_fault(cpu, EXC_GP, err);
	if (t & DT_EC) {
		if (dpl > cpl)
			cpu_fault(cpu, EXC_GP, err);
	} else if (rpl > cpl || dpl != cpl) {
		cpu_fault(cpu, EXC_GP, err);
	}
	if (!desc_present(d))
		cpu_fault(cpu, EXC_NP, err);
	check_long_code(cpu, d, err, false);
	desc_to_seg(d, (uint16_t)((sel & ~3u) | cpl), cs);
}

/* The code segment a call gate names (SDM Vol. 3 5.8.4): for JMP it must
 * keep CPL, for CALL its DPL must not exceed CPL. */
static void gate_code(struct cpu *cpu, uint16_t csel, struct desc *cd, bool is_call)
{
	uint32_t err = csel & 0xfffcu;
	if ((csel & 0xfffc) == 0)
		cpu_fault(cpu, EXC_GP, 0);
	if (!seg_fetch_desc(cpu, csel, cd, false))
		cpu_fault(cpu, EXC_GP, err);
	unsigned t = desc_type(cd), dpl = desc_dpl(cd);
	if (!desc_s(cd) || !(t & DT_CODE))
		cpu_fault(cpu, EXC_GP, err);
	if (is_call || (t & DT_EC)) {
		if (dpl > cpu->cpl)
			cpu_fault(cpu, EXC_GP, err);
	} else if (dpl != cpu->cpl) {
		cpu_fault(cpu, EXC_GP, err);
	}
	if (!desc_present(cd))
		cpu_fault(cpu, EXC_NP, err);
	check_long_code(cpu, cd, err, lma(cpu));
}

/* Gate and TSS descriptors reached by JMP/CALL: DPL >= CPL and >= RPL. */
static void check_gate_priv(struct cpu *cpu, uint16_t sel, const struct desc *d)
{
	uint32_t err = sel & 0xfffcu;
	if (desc_dpl(d) < cpu->cpl || desc_dpl(d) < (sel & 3u))
		cpu_fault(cpu, EXC_GP, err);
	if (!desc_present(d))
		cpu_fault(cpu, EXC_NP, err);
}

/* JMP/CALL to a TSS or through a task gate. */
static void far_task(struct cpu *cpu, uint16_t sel, struct desc *d, unsigned source)
{
	check_gate_priv(cpu, sel, d);
	if (desc_type(d) == DT_TASK) {
		uint16_t tsel = gate_sel(d);
		if (tsel & 4)
			cpu_fault(cpu, EXC_GP, tsel & 0xfffcu);
		fetch_target(cpu, tsel, d);
		unsigned t = desc_type(d);
		if (desc_s(d) || (t != DT_TSS16_AVL && t != DT_TSS32_AVL))
			cpu_fault(cpu, EXC_GP, tsel & 0xfffcu);
		sel = tsel;
	}
	task_switch(cpu, sel, d, source, NO_ERROR_CODE, cpu->next_rip, 0);
}

static bool is_task_desc(const struct cpu *cpu, const struct desc *d)
{
	unsigned t = desc_type(d);
	return !lma(cpu) && (t == DT_TASK || t == DT_TSS16_AVL || t == DT_TSS32_AVL);
}

static bool is_call_gate(const struct cpu *cpu, const struct desc *d)
{
	unsigned t = desc_type(d);
	if (lma(cpu))
		return t == DT_CALL32 && ((d->hi3 >> 8) & 0x1f) == 0;
	return t == DT_CALL16 || t == DT_CALL32;
}

static uint64_t gate_target(const struct cpu *cpu, const struct desc *g)
{
	if (lma(cpu))
		return gate_offset(g);
	return desc_type(g) == DT_CALL32 ? (uint32_t)gate_offset(g) : (uint16_t)gate_offset(g);
}

/* ---- JMP far ------------------------------------------------------------ */

void far_jmp(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned osz)
{
	struct seg cs;
	if (osz == 1)
		off &= 0xffff;
	else if (osz == 2)
		off &= 0xffffffff;
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
		seg_real(cpu, S_CS, sel, &cs);
		if (off > cs.limit)
			cpu_fault(cpu, EXC_GP, 0);
		seg_commit_cs(cpu, &cs, off);
		return;
	}
	struct desc d;
	fetch_target(cpu, sel, &d);
	if (desc_s(&d)) {
		direct_code(cpu, sel, &d, &cs);
		seg_check_rip(cpu, &cs, off, 0);
		seg_set_accessed(cpu, sel, &d);
		seg_commit_cs(cpu, &cs, off);
		return;
	}
	if (is_call_gate(cpu, &d)) {
		check_gate_priv(cpu, sel, &d);
		struct desc cd;
		uint16_t csel = gate_sel(&d);
		gate_code(cpu, csel, &cd, false);
		desc_to_seg(&cd, (uint16_t)((csel & ~3u) | cpu->cpl), &cs);
		uint64_t rip = gate_target(cpu, &d);
		seg_check_rip(cpu, &cs, rip, 0);
		seg_set_accessed(cpu, csel, &cd);
		seg_commit_cs(cpu, &cs, rip);
		return;
	}
	if (is_task_desc(cpu, &d)) {
		far_task(cpu, sel, &d, TS_JMP);
		return;
	}
	cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
}

/* ---- CALL far ----------------------------------------------------------- */

/* CALL through a call gate to a more privileged non-conforming segment:
 * switch to the stack for the new CPL from the TSS, copy parameters. */
static void call_gate_inner(struct cpu *cpu, const struct desc *g, uint16_t csel, struct desc *cd)
{
	unsigned ncpl = desc_dpl(cd);
	struct stk os, ns;
	struct seg ss, cs;
	stk_cur(cpu, &os);
	uint64_t old_sp = cpu->regs[R_SP];
	uint16_t old_ss = cpu->seg[S_SS].sel;
	uint64_t rip = gate_target(cpu, g);

	desc_to_seg(cd, (uint16_t)((csel & ~3u) | ncpl), &cs);
	if (lma(cpu)) {
		/* 64-bit call gate: RSPn from the TSS, SS = null(RPL = new CPL). */
		uint64_t nrsp = tss64_stack(cpu, ncpl, 0);
		seg_null(&ss, (uint16_t)ncpl);
		ns = (struct stk){ .ss = ss, .sp = nrsp, .size = 3, .acc = ACC_IMPLICIT, .err = 0 };
		stk_push(cpu, &ns, old_ss, 8);
		stk_push(cpu, &ns, old_sp, 8);
		stk_push(cpu, &ns, cpu->seg[S_CS].sel, 8);
		stk_push(cpu, &ns, cpu->next_rip, 8);
	} else {
		uint16_t nss;
		uint32_t nesp;
		tss_stack(cpu, ncpl, 0, &nss, &nesp);
		seg_check_data(cpu, S_SS, nss, ncpl, EXC_TS, 0, &ss);
		ns.ss = ss;
		ns.size = (ss.attr & AR_DB) ? 2 : 1;
		ns.sp = nesp & size_mask[ns.size];
		ns.acc = ACC_IMPLICIT;
		ns.err = nss & 0xfffcu;
		unsigned gb = desc_type(g) == DT_CALL32 ? 4 : 2;
		unsigned n = gate_params(g);
		stk_push(cpu, &ns, old_ss, gb);
		stk_push(cpu, &ns, old_sp, gb);
		for (unsigned k = n; k-- > 0;)
			stk_push(cpu, &ns, stk_peek(cpu, &os, (uint64_t)k * gb, gb), gb);
		stk_push(cpu, &ns, cpu->seg[S_CS].sel, gb);
		stk_push(cpu, &ns, cpu->next_rip, gb);
	}
	seg_check_rip(cpu, &cs, rip, 0);
	seg_set_accessed(cpu, csel, cd);
	cpu->seg[S_SS] = ss;
	stk_commit_sp(cpu, &ns);
	seg_commit_cs(cpu, &cs, rip);
}

void far_call(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned osz)
{
	unsigned b = 1u << osz;
	struct seg cs;
	struct stk st;
	if (osz == 1)
		off &= 0xffff;
	else if (osz == 2)
		off &= 0xffffffff;
	stk_cur(cpu, &st);
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
		seg_real(cpu, S_CS, sel, &cs);
		if (off > cs.limit)
			cpu_fault(cpu, EXC_GP, 0);
		stk_push(cpu, &st, cpu->seg[S_CS].sel, b);
		stk_push(cpu, &st, cpu->next_rip, b);
		stk_commit_sp(cpu, &st);
		seg_commit_cs(cpu, &cs, off);
		return;
	}
	struct desc d;
	fetch_target(cpu, sel, &d);
	if (desc_s(&d)) {
		direct_code(cpu, sel, &d, &cs);
		seg_check_rip(cpu, &cs, off, 0);
		stk_push(cpu, &st, cpu->seg[S_CS].sel, b);
		stk_push(cpu, &st, cpu->next_rip, b);
		seg_set_accessed(cpu, sel, &d);
		stk_commit_sp(cpu, &st);
		seg_commit_cs(cpu, &cs, off);
		return;
	}
	if (is_call_gate(cpu, &d)) {
		check_gate_priv(cpu, sel, &d);
		struct desc cd;
		uint16_t csel = gate_sel(&d);
		gate_code(cpu, csel, &cd, true);
		if (!(desc_type(&cd) & DT_EC) && desc_dpl(&cd) < cpu->cpl) {
			call_gate_inner(cpu, &d, csel, &cd);
			return;
		}
		/* Same privilege: push CS:IP with the gate's size. */
		unsigned gb = lma(cpu) ? 8 : desc_type(&d) == DT_CALL32 ? 4 : 2;
		if (lma(cpu))
			st.size = 3, st.sp = cpu->regs[R_SP];
		desc_to_seg(&cd, (uint16_t)((csel & ~3u) | cpu->cpl), &cs);
		uint64_t rip = gate_target(cpu, &d);
		seg_check_rip(cpu, &cs, rip, 0);
		stk_push(cpu, &st, cpu->seg[S_CS].sel, gb);
		stk_push(cpu, &st, cpu->next_rip, gb);
		seg_set_accessed(cpu, csel, &cd);
		stk_commit_sp(cpu, &st);
		seg_commit_cs(cpu, &cs, rip);
		return;
	}
	if (is_task_desc(cpu, &d)) {
		far_task(cpu, sel, &d, TS_CALL);
		return;
	}
	cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
}

/* ---- RET far ------------------------------------------------------------ */

/* Checks of a code selector popped by RETF/IRET (SDM Vol. 2 RET): returns
 * the descriptor; RPL >= CPL, conforming DPL <= RPL, else DPL = RPL. */
void seg_check_return_cs(struct cpu *cpu, uint16_t csel, struct desc *d)
{
	uint32_t err = csel & 0xfffcu;
	unsigned rpl = csel & 3;
	if ((csel & 0xfffc) == 0)
		cpu_fault(cpu, EXC_GP, 0);
	if (!seg_fetch_desc(cpu, csel, d, false))
		cpu_fault(cpu, EXC_GP, err);
	unsigned t = desc_type(d), dpl = desc_dpl(d);
	if (!desc_s(d) || !(t & DT_CODE) || rpl < cpu->cpl)
		cpu_fault(cpu, EXC_GP, err);
	if ((t & DT_EC) ? dpl > rpl : dpl != rpl)
		cpu_fault(cpu, EXC_GP, err);
	if (!desc_present(d))
		cpu_fault(cpu, EXC_NP, err);
	check_long_code(cpu, d, err, false);
}

void seg_return_ss(struct cpu *cpu, uint16_t nss, const struct seg *cs, struct seg *ss)
{
	unsigned rpl = cs->sel & 3;
	if ((nss & 0xfffc) == 0) {
		/* Null SS only for a return to 64-bit code at CPL < 3. */
		if (!(lma(cpu) && (cs->attr & AR_L) && rpl < 3))
			cpu_fault(cpu, EXC_GP, 0);
		seg_null(ss, nss);
		ss->attr = AR_UNUSABLE | rpl << AR_DPL_SHIFT;
		return;
	}
	seg_check_data(cpu, S_SS, nss, rpl, EXC_GP, 0, ss);
}

void far_ret(struct cpu *cpu, unsigned osz, uint16_t imm)
{
	unsigned b = 1u << osz;
	struct stk st;
	struct seg cs;
	stk_cur(cpu, &st);
	uint64_t rip = stk_pop(cpu, &st, b);
	uint16_t csel = (uint16_t)stk_pop(cpu, &st, b);

	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
		seg_real(cpu, S_CS, csel, &cs);
		if (rip > cs.limit)
			cpu_fault(cpu, EXC_GP, 0);
		st.sp = (st.sp + imm) & size_mask[st.size];
		stk_commit_sp(cpu, &st);
		seg_commit_cs(cpu, &cs, rip);
		return;
	}
	struct desc d;
	seg_check_return_cs(cpu, csel, &d);
	unsigned rpl = csel & 3;
	desc_to_seg(&d, csel, &cs);
	if (rpl == cpu->cpl) {
		seg_check_rip(cpu, &cs, rip, 0);
		st.sp = (st.sp + imm) & size_mask[st.size];
		seg_set_accessed(cpu, csel, &d);
		stk_commit_sp(cpu, &st);
		seg_commit_cs(cpu, &cs, rip);
		return;
	}
	/* Return to an outer privilege level: pop SS:eSP too. */
	st.sp = (st.sp + imm) & size_mask[st.size];
	uint64_t nsp = stk_pop(cpu, &st, b);
	uint16_t nss = (uint16_t)stk_pop(cpu, &st, b);
	struct seg ss;
	seg_return_ss(cpu, nss, &cs, &ss);
	seg_check_rip(cpu, &cs, rip, 0);
	seg_set_accessed(cpu, csel, &d);
	struct stk ns = { .ss = ss };
	ns.size = (lma(cpu) && (cs.attr & AR_L)) ? 3 : (ss.attr & AR_DB) ? 2 : 1;
	ns.sp = (nsp + imm) & size_mask[ns.size];
	cpu->seg[S_SS] = ss;
	stk_commit_sp(cpu, &ns);
	seg_null_outer(cpu, rpl);
	seg_commit_cs(cpu, &cs, rip);
}

/* ---- Handlers ----------------------------------------------------------- */

static void far_mem(struct cpu *cpu, const struct insn *i, bool call)
{
	unsigned b = 1u << i->osz;
	uint64_t ea = insn_ea(cpu, i);
	uint64_t off = mem_read(cpu, i->seg, ea, b);
	uint16_t sel = mem_read16(cpu, i->seg, (ea + b) & addr_mask(i->asz));
	if (call)
		far_call(cpu, sel, off, i->osz);
	else
		far_jmp(cpu, sel, off, i->osz);
}

#define FAR_V(name, body)                                                                 \
	void name##_w(struct cpu *cpu, const struct insn *i) { body; }                        \
	void name##_d(struct cpu *cpu, const struct insn *i) { body; }                        \
	void name##_q(struct cpu *cpu, const struct insn *i) { body; }
FAR_V(jmp_Ap, far_jmp(cpu, i->imm2, i->imm, i->osz))
FAR_V(call_Ap, far_call(cpu, i->imm2, i->imm, i->osz))
FAR_V(jmp_Mp, far_mem(cpu, i, false))
FAR_V(call_Mp, far_mem(cpu, i, true))
FAR_V(retf, far_ret(cpu, i->osz, 0))
FAR_V(retf_Iw, far_ret(cpu, i->osz, (uint16_t)i->imm))
