/*
 * cpu.c - vCPU lifecycle, the mode cache, RFLAGS access and the fault
 * mechanism.
 *
 * Reset state follows SDM Vol. 3 9.1.1 (table 9-1). cpu_update_mode()
 * is the one place that derives the mode fields from architectural state
 * (CR0.PE/PG, CR4, EFER.LMA, CS.L/D, SS.B/DPL, EFLAGS.VM/AC/TF, DR7);
 * everything that changes one of those calls it, and nothing re-derives
 * them per instruction. CPL is SS.DPL, as VMX defines it (SDM 24.4.1),
 * which equals CS.RPL in every state software can reach.
 *
 * Faults: cpu_fault() records the vector and error code and longjmps to
 * the dispatch loop (exec.c), which delivers the exception. Handlers must
 * not have committed any state when they fault.
 */
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "cpuid.h"
#include "flags.h"
#include "msr.h"
#include "../machine.h"
#include "../mmu/mmu.h"

int cpu_init(struct cpu *cpu, struct machine *m, int id, const struct cpu_model *model)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->m = m;
	cpu->id = id;
	cpu->apic_id = (uint32_t)id;
	cpu->model = model;
	if (model)
		memcpy(cpu->features, model->features, sizeof(model->features));
	cpu->bc = m ? m->bc : NULL;
	cpu_reset(cpu);
	return 0;
}

void cpu_destroy(struct cpu *cpu)
{
	(void)cpu;
}

static void seg_set(struct seg *s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr)
{
	s->sel = sel;
	s->base = base;
	s->limit = limit;
	s->attr = attr;
}

/* State common to RESET and INIT (SDM table 9-1). */
static void cpu_arch_reset(struct cpu *cpu)
{
	memset(cpu->regs, 0, sizeof(cpu->regs));
	cpu->rip = 0xfff0;
	cpu->next_rip = cpu->rip;
	cpu->rflags = FL_FIXED1;
	cpu->lf.op = LF_NONE << 2;
	seg_set(&cpu->seg[S_CS], 0xf000, 0xffff0000, 0xffff, AR_P | AR_S | 0xb);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_set(&cpu->seg[s], 0, 0, 0xffff, AR_P | AR_S | 0x3);
	seg_set(&cpu->ldtr, 0, 0, 0xffff, AR_P | 0x2);
	seg_set(&cpu->tr, 0, 0, 0xffff, AR_P | 0xb);
	cpu->gdtr.base = 0;
	cpu->gdtr.limit = 0xffff;
	cpu->idtr.base = 0;
	cpu->idtr.limit = 0xffff;
	cpu->cr0 = CR0_ET | CR0_CD | CR0_NW;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = 0;
	cpu->xcr0 = 1;
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->efer = 0;
	cpu->pkru = 0;
	/* EDX holds the processor signature after reset. */
	if (cpu->model) {
		const struct cpu_model *md = cpu->model;
		uint32_t fam = md->family, mod = md->model;
		uint32_t sig = (md->stepping & 0xf) | (mod & 0xf) << 4 | (fam > 0xf ? 0xf : fam) << 8 |
			       (mod >> 4) << 16 | (fam > 0xf ? fam - 0xf : 0) << 20;
		cpu->regs[R_DX] = sig;
	} else {
		cpu->regs[R_DX] = 0x600;
	}
	cpu->pending &= ~(uint32_t)(PEND_INIT | PEND_SIPI);
	cpu->exit_request = 1;
	cpu->halted = false;
	cpu->irq_shadow = false;
	cpu->nmi_blocked = false;
	cpu->exc_nest = 0;
	cpu->exc_vector = -1;
	cpu->exc_error = NO_ERROR_CODE;
	cpu->exc_first = -1;
	cpu->virt = NULL;
	cpu->xtrack.valid = false;	/* XSAVEOPT may not skip anything after RESET/INIT */
	tlb_flush_all(cpu);
	cpu_update_mode(cpu);
}

void cpu_reset(struct cpu *cpu)
{
	memset(&cpu->msr, 0, sizeof(cpu->msr));
	cpu->msr.pat = 0x0007040600070406ull;
	cpu->msr.apic_base = 0xfee00000ull | (1u << 11) | (cpu->id == 0 ? 1u << 8 : 0);
	cpu->msr.mtrr_cap = 0x508;	/* 8 variable ranges, fixed ranges, WC */
	cpu->msr.misc_enable = 1;	/* fast strings */
	cpu->pending = 0;
	/* x87 and SSE state at power-on (SDM table 9-1); INIT keeps them. */
	memset(cpu->vr, 0, sizeof(cpu->vr));
	memset(&cpu->fpu, 0, sizeof(cpu->fpu));
	cpu->fpu.fcw = 0x0040;
	cpu->fpu.ftw = 0x5555;
	cpu->mxcsr = 0x1f80;
	/* The retired count survives resets; the TSC restarts at 0. */
	cpu_set_tsc(cpu, 0);
	cpu_arch_reset(cpu);
	if (cpu->m && log_on(&cpu->m->log, LOG_CPU_RESET))
		log_printf(&cpu->m->log, "CPU Reset (CPU %d)\n", cpu->id);
}

void cpu_init_signal(struct cpu *cpu)
{
	/* INIT keeps the MSRs (SDM table 9-1 footnotes), the x87/SSE state and
	 * the caches; the rest is as after RESET. */
	cpu_arch_reset(cpu);
}

static bool seg_flat(const struct seg *s, bool write)
{
	uint32_t a = s->attr;
	if ((a & AR_UNUSABLE) || !(a & AR_P) || !(a & AR_S) || s->limit != 0xffffffffu)
		return false;
	if (a & 0x8)			/* code: readable, never writable */
		return !write && (a & 0x2);
	if (a & 0x4)			/* expand-down data */
		return false;
	return !write || (a & 0x2);
}

void cpu_update_mode(struct cpu *cpu)
{
	const struct seg *cs = &cpu->seg[S_CS], *ss = &cpu->seg[S_SS];
	uint8_t mode;

	if (!(cpu->cr0 & CR0_PE))
		mode = MODE_REAL;
	else if (cpu->efer & EFER_LMA)
		mode = (cs->attr & AR_L) ? MODE_LONG : MODE_COMPAT;
	else if (cpu->rflags & FL_VM)
		mode = MODE_V86;
	else
		mode = MODE_PROT;
	cpu->mode = mode;

	switch (mode) {
	case MODE_REAL: cpu->cpl = 0; break;
	case MODE_V86: cpu->cpl = 3; break;
	default: cpu->cpl = (uint8_t)AR_DPL(ss->attr); break;
	}

	if (mode == MODE_LONG) {
		cpu->code_size = 3;
		cpu->stack_size = 3;
		cpu->lin_mask = ~0ull;
	} else {
		cpu->code_size = (mode != MODE_V86 && (cs->attr & AR_DB)) ? 2 : 1;
		cpu->stack_size = (mode != MODE_V86 && (ss->attr & AR_DB)) ? 2 : 1;
		cpu->lin_mask = 0xffffffffull;
	}

	if (!(cpu->cr0 & CR0_PG))
		cpu->paging = PG_OFF;
	else if (cpu->efer & EFER_LMA)
		cpu->paging = (cpu->cr4 & CR4_LA57) ? PG_5LEVEL : PG_4LEVEL;
	else if (cpu->cr4 & CR4_PAE)
		cpu->paging = PG_PAE;
	else
		cpu->paging = PG_32;

	if (cpu->cpl == 3)
		cpu->mmu_idx = ((cpu->cr0 & CR0_AM) && (cpu->rflags & FL_AC)) ? MMU_USER_AC : MMU_USER;
	else
		cpu->mmu_idx = ((cpu->cr4 & CR4_SMAP) && !(cpu->rflags & FL_AC)) ? MMU_SUPER_SMAP : MMU_SUPER;
	for (int k = 0; k < 4; k++) {
		unsigned rw = (unsigned)(cpu->dr[7] >> (16 + 4 * k)) & 3;
		if (((cpu->dr[7] >> (2 * k)) & 3) && (rw == 1 || rw == 3))
			cpu->mmu_idx = MMU_DEBUG;
	}
	if (cpu->mon_watch)
		cpu->mmu_idx = MMU_DEBUG;	/* monitor watchpoints: every data access is checked */

	uint8_t fr = 0, fw = 0;
	for (int s = 0; s < S_NSEG; s++) {
		const struct seg *sg = &cpu->seg[s];
		if (mode == MODE_LONG) {
			cpu->segbase[s] = s >= S_FS ? sg->base : 0;
			fr |= (uint8_t)(1u << s);
			fw |= (uint8_t)(1u << s);
			continue;
		}
		cpu->segbase[s] = sg->base & 0xffffffffull;
		if (mode == MODE_REAL || mode == MODE_V86)
			continue;	/* 64 KiB limits: every access is checked */
		if (seg_flat(sg, false))
			fr |= (uint8_t)(1u << s);
		if (seg_flat(sg, true))
			fw |= (uint8_t)(1u << s);
	}
	cpu->flat_r = fr;
	cpu->flat_w = fw;

	cpu->slow_mode = (cpu->rflags & FL_TF) || (cpu->dr[7] & 0xff);
	cpu->exit_request = 1;
}

_Noreturn void cpu_fault(struct cpu *cpu, unsigned vector, uint32_t error)
{
	cpu->exc_vector = (int)vector;
	cpu->exc_error = error;
	if (!cpu->jmp_valid) {
		fprintf(stderr, "nestemu: internal error: CPU fault %u outside the dispatch loop\n", vector);
		abort();
	}
	longjmp(cpu->jmp, 1);
}

_Noreturn void cpu_page_fault(struct cpu *cpu, uint64_t linear, uint32_t error)
{
	cpu->fault_addr = linear;
	cpu_fault(cpu, EXC_PF, error);
}

_Noreturn void cpu_unwind(struct cpu *cpu)
{
	cpu->exc_vector = -1;
	if (!cpu->jmp_valid) {
		fprintf(stderr, "nestemu: internal error: CPU unwind outside the dispatch loop\n");
		abort();
	}
	longjmp(cpu->jmp, 1);
}

uint64_t cpu_get_rflags(struct cpu *cpu)
{
	if (cpu->lf.op >> 2 != LF_NONE)
		flags_materialize(cpu);
	return cpu->rflags;
}

void cpu_set_rflags(struct cpu *cpu, uint64_t value, uint64_t mask)
{
	if (mask & FL_ARITH) {
		if (cpu->lf.op >> 2 != LF_NONE)
			flags_materialize(cpu);
	}
	uint64_t old = cpu->rflags;
	cpu->rflags = ((old & ~mask) | (value & mask) | FL_FIXED1) &
		      ~(uint64_t)((1u << 3) | (1u << 5) | (1u << 15) | 0xffffffffffc00000ull);
	uint64_t changed = old ^ cpu->rflags;
	if (changed & (FL_VM | FL_AC | FL_TF))
		cpu_update_mode(cpu);
	if (changed & FL_IF)
		cpu->exit_request = 1;
}

void cpu_set_irq_line(struct cpu *cpu, bool level)
{
	if (level)
		cpu->pending |= PEND_INTR;
	else
		cpu->pending &= ~(uint32_t)PEND_INTR;
}
