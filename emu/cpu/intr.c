/*
 * intr.c - exception and interrupt delivery, double/triple faults, IRET,
 * and the INT n / INT3 / INTO / INT1 instructions.
 *
 * Delivery follows SDM Vol. 3 ch. 6: real mode through the IVT (20.1.4);
 * protected mode through interrupt, trap and task gates with a stack
 * switch from the TSS on a privilege change (6.12.1), including from
 * virtual-8086 mode (20.3.1.1: the data segments are saved on the ring-0
 * stack and nulled), and software interrupts in v86 mode redirected
 * through the v86 IVT with CR4.VME (20.3.3); IA-32e mode through 16-byte
 * gates with IST, a 16-byte-aligned stack and an SS:RSP frame (6.14).
 *
 * Nesting (table 6-5): exc_dispatch records the exception it is
 * delivering in cpu->exc_first (cpu->exc_nest = 1, or 2 for #DF). A
 * fault raised while delivering unwinds to the dispatch loop, which calls
 * exc_dispatch again: the class of the first and second exception then
 * decides between delivering the second, #DF, or a triple fault. Events
 * that are not exceptions (interrupts, INT n) are benign and leave the
 * bookkeeping idle. Error codes raised during delivery of an event
 * external to the program carry the EXT bit (6.13).
 */
#include "intr.h"

#include "interp.h"
#include "seg.h"
#include "system.h"
#include "virt.h"
#include "../machine.h"
#include "../mmu/mmu.h"

static inline bool lma(const struct cpu *cpu)
{
	return (cpu->efer & EFER_LMA) != 0;
}

bool exc_has_error_code(unsigned vector)
{
	switch (vector) {
	case EXC_DF: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: case EXC_PF:
	case EXC_AC: case EXC_CP: case 29: case 30:
		return true;
	default:
		return false;
	}
}

/* Fault-class exceptions push RF = 1 (SDM Vol. 3 17.3.1.1); #DB is
 * excluded (instruction breakpoints push RF = 0, data breakpoints are
 * traps). */
static bool exc_is_fault(unsigned vector)
{
	switch (vector) {
	case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
	case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
	case EXC_VE: case EXC_CP:
		return true;
	default:
		return false;
	}
}

enum { CLASS_BENIGN, CLASS_CONTRIB, CLASS_PF };

static int exc_class(int vector)
{
	switch (vector) {
	case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: case EXC_CP:
		return CLASS_CONTRIB;
	case EXC_PF: case EXC_VE:
		return CLASS_PF;
	default:
		return CLASS_BENIGN;
	}
}

static void log_delivery(struct cpu *cpu, unsigned vector, enum intr_type type, uint32_t error,
			 uint64_t ret)
{
	struct log *l = &cpu->m->log;
	log_printf(l, "%6llu: v=%02x e=%04x i=%d cpl=%u IP=%04x:%016llx pc=%016llx SP=%04x:%016llx",
		   (unsigned long long)cpu->icount, vector,
		   error == NO_ERROR_CODE ? 0 : error, type == IT_SW_INT, cpu->cpl, cpu->seg[S_CS].sel,
		   (unsigned long long)ret, (unsigned long long)(cpu->segbase[S_CS] + ret),
		   cpu->seg[S_SS].sel, (unsigned long long)cpu->regs[R_SP]);
	if (vector == EXC_PF && type == IT_HW_EXC)
		log_printf(l, " CR2=%016llx", (unsigned long long)cpu->cr2);
	log_printf(l, "\n");
}

/* ---- Real mode ------------------------------------------------------- */

static void deliver_real(struct cpu *cpu, unsigned vector, uint64_t ret, uint64_t fl)
{
	if (vector * 4 + 3 > cpu->idtr.limit)
		cpu_fault(cpu, EXC_GP, 0);
	uint32_t ent = (uint32_t)sys_read(cpu, cpu->idtr.base + vector * 4, 4);
	struct stk st;
	struct seg cs;
	stk_cur(cpu, &st);
	stk_push(cpu, &st, fl, 2);
	stk_push(cpu, &st, cpu->seg[S_CS].sel, 2);
	stk_push(cpu, &st, ret, 2);
	seg_real(cpu, S_CS, (uint16_t)(ent >> 16), &cs);
	stk_commit_sp(cpu, &st);
	cpu_set_rflags(cpu, 0, FL_IF | FL_TF | FL_AC | FL_RF);
	seg_commit_cs(cpu, &cs, ent & 0xffff);
}

/* ---- Virtual-8086 mode software interrupts (SDM Vol. 3 20.3.3) ------- */

/* Returns true when INT n was redirected to the v86 program's own
 * handler; false when it goes to the protected-mode IDT. */
static bool v86_soft_int(struct cpu *cpu, unsigned vector, uint64_t ret)
{
	unsigned iopl = (cpu->rflags & FL_IOPL) >> 12;
	if (!(cpu->cr4 & CR4_VME)) {
		if (iopl < 3)
			cpu_fault(cpu, EXC_GP, 0);
		return false;
	}
	/* The redirection bitmap is the 32 bytes below the I/O map base. */
	if (!(cpu->tr.attr & 0x8) || cpu->tr.limit < 0x67)
		cpu_fault(cpu, EXC_GP, 0);
	uint32_t iobase = (uint32_t)sys_read(cpu, cpu->tr.base + 0x66, 2);
	uint32_t byte = iobase - 32 + vector / 8;
	if (iobase < 32 || byte > cpu->tr.limit)
		cpu_fault(cpu, EXC_GP, 0);
	bool bit = (sys_read(cpu, cpu->tr.base + byte, 1) >> (vector & 7)) & 1;
	if (bit) {
		if (iopl < 3)
			cpu_fault(cpu, EXC_GP, 0);
		return false;
	}
	/* Redirect through the v86 IVT at linear 0. */
	uint32_t ent = (uint32_t)mmu_read_slow(cpu, vector * 4, 4, ACC_READ);
	uint64_t fl = cpu_get_rflags(cpu) & 0xffff;
	if (iopl < 3) {
		fl |= FL_IOPL;
		fl = (fl & ~(uint64_t)FL_IF) | ((cpu->rflags & FL_VIF) ? FL_IF : 0);
	}
	struct stk st;
	struct seg cs;
	stk_cur(cpu, &st);
	stk_push(cpu, &st, fl, 2);
	stk_push(cpu, &st, cpu->seg[S_CS].sel, 2);
	stk_push(cpu, &st, ret, 2);
	seg_real(cpu, S_CS, (uint16_t)(ent >> 16), &cs);
	stk_commit_sp(cpu, &st);
	cpu_set_rflags(cpu, 0, FL_TF | FL_RF | (iopl == 3 ? FL_IF : FL_VIF));
	seg_commit_cs(cpu, &cs, ent & 0xffff);
	return true;
}

/* ---- Gates ------------------------------------------------------------ */

/* Reads and checks the IDT gate (8 or 16 bytes); #GP/#NP(vector*8+2+EXT). */
static void read_gate(struct cpu *cpu, unsigned vector, bool soft, unsigned ext, struct desc *g)
{
	uint32_t err = vector * 8 + 2 + ext;
	bool wide = lma(cpu);
	unsigned sz = wide ? 16 : 8;
	if ((uint64_t)vector * sz + sz - 1 > cpu->idtr.limit)
		cpu_fault(cpu, EXC_GP, err);
	uint64_t q = sys_read(cpu, cpu->idtr.base + vector * sz, 8);
	g->lo = (uint32_t)q;
	g->hi = (uint32_t)(q >> 32);
	g->hi2 = g->hi3 = 0;
	if (wide) {
		q = sys_read(cpu, cpu->idtr.base + vector * sz + 8, 8);
		g->hi2 = (uint32_t)q;
		g->hi3 = (uint32_t)(q >> 32);
	}
	unsigned t = desc_type(g);
	bool ok;
	if (desc_s(g))
		ok = false;
	else if (wide)
		ok = (t == DT_INT32 || t == DT_TRAP32) && ((g->hi3 >> 8) & 0x1f) == 0;
	else
		ok = t == DT_TASK || t == DT_INT16 || t == DT_TRAP16 || t == DT_INT32 || t == DT_TRAP32;
	if (!ok)
		cpu_fault(cpu, EXC_GP, err);
	if (soft && desc_dpl(g) < cpu->cpl)
		cpu_fault(cpu, EXC_GP, err);
	if (!desc_present(g))
		cpu_fault(cpu, EXC_NP, err);
}

/* The handler's code segment: #GP/#NP(sel+EXT). */
static void gate_code_seg(struct cpu *cpu, uint16_t csel, unsigned ext, struct desc *cd)
{
	uint32_t err = (csel & 0xfffcu) | ext;
	if ((csel & 0xfffc) == 0)
		cpu_fault(cpu, EXC_GP, ext);
	if (!seg_fetch_desc(cpu, csel, cd, false))
		cpu_fault(cpu, EXC_GP, err);
	if (!desc_s(cd) || !(desc_type(cd) & DT_CODE) || desc_dpl(cd) > cpu->cpl)
		cpu_fault(cpu, EXC_GP, err);
	if (!desc_present(cd))
		cpu_fault(cpu, EXC_NP, err);
	if (lma(cpu) && (((cd->hi >> 21) & 3) != 1))	/* need L = 1, D = 0 */
		cpu_fault(cpu, EXC_GP, err);
}

static void deliver_task_gate(struct cpu *cpu, const struct desc *g, uint32_t error, uint64_t ret,
			      unsigned ext)
{
	uint16_t tsel = gate_sel(g);
	uint32_t err = (tsel & 0xfffcu) | ext;
	struct desc d;
	if ((tsel & 4) || !seg_fetch_desc(cpu, tsel, &d, false))
		cpu_fault(cpu, EXC_GP, err);
	unsigned t = desc_type(&d);
	if (desc_s(&d) || (t != DT_TSS16_AVL && t != DT_TSS32_AVL))
		cpu_fault(cpu, EXC_GP, err);
	task_switch(cpu, tsel, &d, TS_GATE, error, ret, ext);
}

/* Protected mode (legacy), from protected or v86 mode. */
static void deliver_prot(struct cpu *cpu, unsigned vector, bool soft, unsigned ext, uint32_t error,
			 uint64_t ret, uint64_t fl)
{
	struct desc g, cd;
	read_gate(cpu, vector, soft, ext, &g);
	if (desc_type(&g) == DT_TASK) {
		deliver_task_gate(cpu, &g, error, ret, ext);
		return;
	}
	uint16_t csel = gate_sel(&g);
	gate_code_seg(cpu, csel, ext, &cd);
	unsigned gtype = desc_type(&g);
	unsigned gb = gtype >= DT_INT32 ? 4 : 2;
	bool trap = gtype & 1;
	uint64_t rip = gb == 4 ? (uint32_t)gate_offset(&g) : (uint16_t)gate_offset(&g);
	unsigned cdpl = desc_dpl(&cd);
	bool conforming = desc_type(&cd) & DT_EC;
	bool v86 = cpu->mode == MODE_V86;
	struct stk st;
	struct seg cs, ss = cpu->seg[S_SS];
	unsigned ncpl;

	if (!conforming && cdpl < cpu->cpl) {
		/* Inner privilege: the stack for the new CPL from the TSS. */
		if (v86 && cdpl != 0)
			cpu_fault(cpu, EXC_GP, (csel & 0xfffcu) | ext);
		uint16_t nss;
		uint32_t nesp;
		ncpl = cdpl;
		tss_stack(cpu, ncpl, ext, &nss, &nesp);
		seg_check_data(cpu, S_SS, nss, ncpl, EXC_TS, ext, &ss);
		st.ss = ss;
		st.size = (ss.attr & AR_DB) ? 2 : 1;
		st.sp = nesp & size_mask[st.size];
		st.acc = ACC_IMPLICIT;
		st.err = (nss & 0xfffcu) | ext;
		if (v86) {
			stk_push(cpu, &st, cpu->seg[S_GS].sel, gb);
			stk_push(cpu, &st, cpu->seg[S_FS].sel, gb);
			stk_push(cpu, &st, cpu->seg[S_DS].sel, gb);
			stk_push(cpu, &st, cpu->seg[S_ES].sel, gb);
		}
		stk_push(cpu, &st, cpu->seg[S_SS].sel, gb);
		stk_push(cpu, &st, cpu->regs[R_SP], gb);
	} else if (conforming || cdpl == cpu->cpl) {
		if (v86)
			cpu_fault(cpu, EXC_GP, (csel & 0xfffcu) | ext);
		ncpl = cpu->cpl;
		stk_cur(cpu, &st);
		st.err = ext;
	} else {
		cpu_fault(cpu, EXC_GP, (csel & 0xfffcu) | ext);
	}
	stk_push(cpu, &st, fl, gb);
	stk_push(cpu, &st, cpu->seg[S_CS].sel, gb);
	stk_push(cpu, &st, ret, gb);
	if (error != NO_ERROR_CODE)
		stk_push(cpu, &st, error, gb);
	desc_to_seg(&cd, (uint16_t)((csel & ~3u) | ncpl), &cs);
	seg_check_rip(cpu, &cs, rip, ext);
	seg_set_accessed(cpu, csel, &cd);

	/* Commit. */
	if (v86) {
		static const unsigned dsegs[4] = { S_ES, S_DS, S_FS, S_GS };
		for (int k = 0; k < 4; k++) {
			seg_null(&cpu->seg[dsegs[k]], 0);
			cpu->seg[dsegs[k]].attr = AR_UNUSABLE;
		}
	}
	cpu->seg[S_SS] = ss;
	stk_commit_sp(cpu, &st);
	cpu->seg[S_CS] = cs;
	cpu_set_rflags(cpu, 0, FL_TF | FL_NT | FL_RF | FL_VM | (trap ? 0 : FL_IF));
	seg_commit_cs(cpu, &cs, rip);
}

/* IA-32e mode (SDM Vol. 3 6.14). */
static void deliver_long(struct cpu *cpu, unsigned vector, bool soft, unsigned ext, uint32_t error,
			 uint64_t ret, uint64_t fl)
{
	struct desc g, cd;
	read_gate(cpu, vector, soft, ext, &g);
	uint16_t csel = gate_sel(&g);
	gate_code_seg(cpu, csel, ext, &cd);
	bool trap = desc_type(&g) & 1;
	uint64_t rip = gate_offset(&g);
	unsigned cdpl = desc_dpl(&cd), ist = gate_ist(&g), ncpl;
	bool conforming = desc_type(&cd) & DT_EC;
	struct seg cs, ss = cpu->seg[S_SS];
	uint64_t rsp;

	if (!conforming && cdpl < cpu->cpl) {
		ncpl = cdpl;
		rsp = tss64_stack(cpu, ist ? 3 + ist : ncpl, ext);
		seg_null(&ss, (uint16_t)ncpl);
	} else if (conforming || cdpl == cpu->cpl) {
		ncpl = cpu->cpl;
		rsp = ist ? tss64_stack(cpu, 3 + ist, ext) : cpu->regs[R_SP];
	} else {
		cpu_fault(cpu, EXC_GP, (csel & 0xfffcu) | ext);
	}
	struct stk st = { .ss = ss, .sp = rsp & ~15ull, .size = 3,
			  .acc = ncpl < cpu->cpl ? ACC_IMPLICIT : 0, .err = ext };
	stk_push(cpu, &st, cpu->seg[S_SS].sel, 8);
	stk_push(cpu, &st, cpu->regs[R_SP], 8);
	stk_push(cpu, &st, fl, 8);
	stk_push(cpu, &st, cpu->seg[S_CS].sel, 8);
	stk_push(cpu, &st, ret, 8);
	if (error != NO_ERROR_CODE)
		stk_push(cpu, &st, error, 8);
	desc_to_seg(&cd, (uint16_t)((csel & ~3u) | ncpl), &cs);
	seg_check_rip(cpu, &cs, rip, ext);
	seg_set_accessed(cpu, csel, &cd);

	cpu->seg[S_SS] = ss;
	cpu->regs[R_SP] = st.sp;
	cpu->seg[S_CS] = cs;
	cpu_set_rflags(cpu, 0, FL_TF | FL_NT | FL_RF | FL_VM | (trap ? 0 : FL_IF));
	seg_commit_cs(cpu, &cs, rip);
}

void intr_deliver(struct cpu *cpu, unsigned vector, enum intr_type type, uint32_t error)
{
	bool soft = type == IT_SW_INT || type == IT_SW_EXC;
	unsigned ext = soft ? 0 : 1;
	bool at_insn = type == IT_HW_EXC || type == IT_EXT_INTR || type == IT_NMI;
	uint64_t ret = at_insn ? cpu->rip : cpu->next_rip;
	uint64_t fl = cpu_get_rflags(cpu);
	if (type == IT_HW_EXC && exc_is_fault(vector))
		fl |= FL_RF;

	if (cpu->m && log_on(&cpu->m->log, LOG_INT))
		log_delivery(cpu, vector, type, error, ret);
	cpu->halted = false;

	switch (cpu->mode) {
	case MODE_REAL:
		deliver_real(cpu, vector, ret, fl);
		break;
	case MODE_V86:
		if (type == IT_SW_INT && v86_soft_int(cpu, vector, ret))
			break;
		deliver_prot(cpu, vector, soft, ext, error, ret, fl);
		break;
	case MODE_PROT:
		deliver_prot(cpu, vector, soft, ext, error, ret, fl);
		break;
	default:
		deliver_long(cpu, vector, soft, ext, error, ret, fl);
		break;
	}
}

/* ---- Exceptions from cpu_fault ---------------------------------------- */

static void exc_idle(struct cpu *cpu)
{
	cpu->exc_nest = 0;
	cpu->exc_first = -1;
}

static void triple_fault(struct cpu *cpu)
{
	struct virt_event ev = { .kind = VE_TRIPLE_FAULT };
	exc_idle(cpu);
	if (virt_intercept(cpu, &ev))
		return;
	if (cpu->m) {
		if (log_on(&cpu->m->log, LOG_INT))
			log_printf(&cpu->m->log, "triple fault at %04x:%016llx\n", cpu->seg[S_CS].sel,
				   (unsigned long long)cpu->rip);
		machine_request_reset(cpu->m, "triple fault");
	}
	cpu->halted = true;
}

void exc_dispatch(struct cpu *cpu)
{
	unsigned vector = (unsigned)cpu->exc_vector;
	uint32_t error = exc_has_error_code(vector) ? cpu->exc_error : NO_ERROR_CODE;
	cpu->exc_vector = -1;

	if (cpu->exc_nest > 0) {
		/* A fault while delivering cpu->exc_first (SDM table 6-5). */
		int first = cpu->exc_first;
		if (cpu->exc_nest >= 2 || first == EXC_DF) {
			triple_fault(cpu);
			return;
		}
		int c1 = exc_class(first), c2 = exc_class((int)vector);
		if ((c1 == CLASS_CONTRIB && c2 == CLASS_CONTRIB) ||
		    (c1 == CLASS_PF && c2 != CLASS_BENIGN)) {
			vector = EXC_DF;
			error = 0;
		}
	}

	struct virt_event ev = { .kind = VE_EXCEPTION, .a = vector, .b = error, .c = IT_HW_EXC };
	if (virt_intercept(cpu, &ev)) {
		exc_idle(cpu);
		return;
	}
	if (vector == EXC_PF)
		cpu->cr2 = cpu->fault_addr;
	cpu->exc_nest = vector == EXC_DF ? 2 : 1;
	cpu->exc_first = (int)vector;
	intr_deliver(cpu, vector, IT_HW_EXC, error);
	exc_idle(cpu);
}

/* ---- INT n, INT3, INTO, INT1 ------------------------------------------ */

void int_Ib(struct cpu *cpu, const struct insn *i)
{
	unsigned v = (unsigned)(i->imm & 0xff);
	sys_intercept(cpu, VE_SOFT_INT, i, v, 0, 0);
	intr_deliver(cpu, v, IT_SW_INT, NO_ERROR_CODE);
}

static void soft_exception(struct cpu *cpu, const struct insn *i, unsigned v, enum intr_type type)
{
	sys_intercept(cpu, VE_EXCEPTION, i, v, NO_ERROR_CODE, type);
	intr_deliver(cpu, v, type, NO_ERROR_CODE);
}

void int3(struct cpu *cpu, const struct insn *i) { soft_exception(cpu, i, EXC_BP, IT_SW_EXC); }
void int1(struct cpu *cpu, const struct insn *i) { soft_exception(cpu, i, EXC_DB, IT_PRIV_SW_EXC); }

void into(struct cpu *cpu, const struct insn *i)
{
	if (cpu_cond(cpu, 0))
		soft_exception(cpu, i, EXC_OF, IT_SW_EXC);
}

/* ---- IRET (SDM Vol. 2 IRET) ------------------------------------------ */

/* EFLAGS bits IRET may change in protected mode, by old CPL and IOPL. */
static uint64_t iret_flag_mask(const struct cpu *cpu, unsigned osz)
{
	uint64_t m = FL_ARITH | FL_TF | FL_DF | FL_NT;
	unsigned iopl = (cpu->rflags & FL_IOPL) >> 12;
	if (cpu->cpl <= iopl)
		m |= FL_IF;
	if (cpu->cpl == 0)
		m |= FL_IOPL;
	if (osz >= 2) {
		m |= FL_RF | FL_AC | FL_ID;
		if (cpu->cpl == 0)
			m |= FL_VIF | FL_VIP;
	}
	return osz == 1 ? (m & 0xffff) : m;
}

static void iret_real_v86(struct cpu *cpu, unsigned osz)
{
	unsigned b = 1u << osz;
	unsigned iopl = (cpu->rflags & FL_IOPL) >> 12;
	bool vme = false;
	if (cpu->mode == MODE_V86 && iopl < 3) {
		if (!(cpu->cr4 & CR4_VME) || osz != 1)
			cpu_fault(cpu, EXC_GP, 0);
		vme = true;
	}
	struct stk st;
	struct seg cs;
	stk_cur(cpu, &st);
	uint64_t rip = stk_pop(cpu, &st, b);
	uint16_t csel = (uint16_t)stk_pop(cpu, &st, b);
	uint64_t fl = stk_pop(cpu, &st, b);
	seg_real(cpu, S_CS, csel, &cs);
	if (rip > cs.limit)
		cpu_fault(cpu, EXC_GP, 0);
	uint64_t mask;
	if (vme) {
		if (((fl & FL_IF) && (cpu->rflags & FL_VIP)) || (fl & FL_TF))
			cpu_fault(cpu, EXC_GP, 0);
		/* IF goes to VIF; IOPL and IF stay. */
		fl = (fl & ~(uint64_t)FL_VIF) | ((fl & FL_IF) ? FL_VIF : 0);
		mask = (0xffff & ~(uint64_t)(FL_IOPL | FL_IF)) | FL_VIF;
	} else {
		mask = osz == 1 ? 0xffff : 0x257fd5;	/* VM, VIF, VIP kept */
		if (cpu->mode == MODE_V86)
			mask &= ~(uint64_t)FL_IOPL;
	}
	stk_commit_sp(cpu, &st);
	cpu_set_rflags(cpu, fl, mask);
	cpu->nmi_blocked = false;
	seg_commit_cs(cpu, &cs, rip);
}

/* IRET at CPL 0 with VM = 1 in the popped EFLAGS (SDM: RETURN-TO-VIRTUAL-8086-MODE). */
static void iret_to_v86(struct cpu *cpu, struct stk *st, uint64_t rip, uint16_t csel, uint64_t fl)
{
	uint32_t esp = (uint32_t)stk_pop(cpu, st, 4);
	uint16_t sel[6];
	sel[S_SS] = (uint16_t)stk_pop(cpu, st, 4);
	sel[S_ES] = (uint16_t)stk_pop(cpu, st, 4);
	sel[S_DS] = (uint16_t)stk_pop(cpu, st, 4);
	sel[S_FS] = (uint16_t)stk_pop(cpu, st, 4);
	sel[S_GS] = (uint16_t)stk_pop(cpu, st, 4);
	sel[S_CS] = csel;
	if (rip > 0xffff)
		cpu_fault(cpu, EXC_GP, 0);
	cpu_set_rflags(cpu, fl, ~0ull);	/* sets VM: mode becomes v86 */
	for (int s = 0; s < S_NSEG; s++)
		seg_real(cpu, (unsigned)s, sel[s], &cpu->seg[s]);
	cpu->regs[R_SP] = esp;
	cpu->nmi_blocked = false;
	seg_commit_cs(cpu, &cpu->seg[S_CS], rip);
}

/* IRET with NT = 1: return to the task in the back link (SDM 7.3). */
static void iret_task(struct cpu *cpu)
{
	uint16_t link = (uint16_t)sys_read(cpu, cpu->tr.base, 2);
	uint32_t err = link & 0xfffcu;
	struct desc d;
	if ((link & 4) || !seg_fetch_desc(cpu, link, &d, false))
		cpu_fault(cpu, EXC_TS, err);
	unsigned t = desc_type(&d);
	if (desc_s(&d) || (t != DT_TSS16_BUSY && t != DT_TSS32_BUSY))
		cpu_fault(cpu, EXC_TS, err);
	cpu->nmi_blocked = false;
	task_switch(cpu, link, &d, TS_IRET, NO_ERROR_CODE, cpu->next_rip, 0);
}

static void iret(struct cpu *cpu, const struct insn *i)
{
	unsigned osz = i->osz, b = 1u << osz;
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
		iret_real_v86(cpu, osz);
		return;
	}
	if (cpu->rflags & FL_NT) {
		if (lma(cpu))
			cpu_fault(cpu, EXC_GP, 0);
		iret_task(cpu);
		return;
	}
	struct stk st;
	stk_cur(cpu, &st);
	uint64_t rip = stk_pop(cpu, &st, b);
	uint16_t csel = (uint16_t)stk_pop(cpu, &st, b);
	uint64_t fl = stk_pop(cpu, &st, b);
	if (osz == 1)
		fl = (cpu_get_rflags(cpu) & ~0xffffull) | (fl & 0xffff);

	if (!lma(cpu) && (fl & FL_VM) && cpu->cpl == 0 && osz == 2) {
		iret_to_v86(cpu, &st, rip, csel, fl);
		return;
	}
	struct desc d;
	struct seg cs, ss;
	seg_check_return_cs(cpu, csel, &d);
	desc_to_seg(&d, csel, &cs);
	unsigned rpl = csel & 3;
	bool pop_stack = cpu->mode == MODE_LONG || rpl != cpu->cpl;
	struct stk ns = st;
	if (pop_stack) {
		uint64_t nsp = stk_pop(cpu, &st, b);
		uint16_t nss = (uint16_t)stk_pop(cpu, &st, b);
		seg_return_ss(cpu, nss, &cs, &ss);
		ns.ss = ss;
		ns.size = (lma(cpu) && (cs.attr & AR_L)) ? 3 : (ss.attr & AR_DB) ? 2 : 1;
		ns.sp = nsp & size_mask[ns.size];
	}
	seg_check_rip(cpu, &cs, rip, 0);
	seg_set_accessed(cpu, csel, &d);

	uint64_t mask = iret_flag_mask(cpu, osz);
	bool outer = rpl > cpu->cpl;
	if (pop_stack)
		cpu->seg[S_SS] = ss;
	stk_commit_sp(cpu, &ns);
	cpu_set_rflags(cpu, fl, mask);
	if (outer)
		seg_null_outer(cpu, rpl);
	cpu->nmi_blocked = false;
	seg_commit_cs(cpu, &cs, rip);
}

void iret_w(struct cpu *cpu, const struct insn *i) { iret(cpu, i); }
void iret_d(struct cpu *cpu, const struct insn *i) { iret(cpu, i); }
void iret_q(struct cpu *cpu, const struct insn *i) { iret(cpu, i); }
