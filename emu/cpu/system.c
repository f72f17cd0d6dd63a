/*
 * system.c - system instructions (SDM Vol. 2 per instruction, Vol. 3
 * ch. 2 for CR0/CR4/XCR0, 4.10.4 for TLB invalidation, 5.8.7 for
 * SYSENTER/SYSEXIT, 5.8.8 for SYSCALL/SYSRET, 17.2 for debug registers,
 * 20.3 for the VME/PVI rules of CLI/STI/PUSHF/POPF; AMD APM Vol. 3 for
 * legacy-mode SYSCALL/SYSRET).
 *
 * Each sensitive instruction asks the intercept question (sys_intercept,
 * system.h) after the faults that have priority over VM exits (SDM Vol. 3
 * 25.1.1: #UD, and #GP based on privilege level) and before anything it
 * changes; faults that depend on the operand values come after it. MOV
 * DR is the documented exception: its VM exit has priority over the CPL
 * #GP and the CR4.DE #UD (25.1.3).
 *
 * Decisions:
 *  - MWAIT is a NOP (architecturally allowed: MWAIT may return at any
 *    time); MONITOR only checks and translates its address.
 *  - SYSCALL/SYSRET follow Intel in the Intel models (64-bit mode only,
 *    #GP(0) for SYSRET to a non-canonical RCX while still at CPL 0) and
 *    AMD in the AMD models (legacy mode allowed; SYSENTER/SYSEXIT #UD in
 *    long mode). The non-canonical SYSRET check is applied to both.
 *  - PAE PDPTEs are validated when CR0/CR3/CR4 writes would load them
 *    (#GP on reserved bits), but not cached: the page walker reads them.
 */
#include "system.h"

#include "cpuid.h"
#include "interp.h"
#include "msr.h"
#include "x87.h"
#include "../machine.h"
#include "../mmu/mmu.h"

static bool is_amd(const struct cpu *cpu)
{
	return cpu->model && cpu->model->vendor == VENDOR_AMD;
}

static unsigned iopl(const struct cpu *cpu)
{
	return (unsigned)(cpu->rflags >> 12) & 3;
}

/* Canonical for the current linear-address width. */
static bool canonical(const struct cpu *cpu, uint64_t v)
{
	unsigned bits = (cpu->cr4 & CR4_LA57) ? 57 : 48;
	int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);
	return (uint64_t)s == v;
}

static uint64_t phys_rsvd(const struct cpu *cpu)
{
	return ~0ull << (cpu->model ? cpu->model->phys_bits : 36);
}

static _Noreturn void gp0(struct cpu *cpu)
{
	cpu_fault(cpu, EXC_GP, 0);
}

static _Noreturn void ud(struct cpu *cpu)
{
	cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
}

/* ---- Control registers ---- */

uint64_t cpu_cr4_supported(const struct cpu *cpu)
{
	uint64_t s = CR4_PCE | CR4_MCE;
	if (cpu_has(cpu, FEAT_VME))
		s |= CR4_VME | CR4_PVI;
	if (cpu_has(cpu, FEAT_TSC))
		s |= CR4_TSD;
	if (cpu_has(cpu, FEAT_DE))
		s |= CR4_DE;
	if (cpu_has(cpu, FEAT_PSE))
		s |= CR4_PSE;
	if (cpu_has(cpu, FEAT_PAE))
		s |= CR4_PAE;
	if (cpu_has(cpu, FEAT_PGE))
		s |= CR4_PGE;
	if (cpu_has(cpu, FEAT_FXSR))
		s |= CR4_OSFXSR;
	if (cpu_has(cpu, FEAT_SSE))
		s |= CR4_OSXMMEXCPT;
	if (cpu_has(cpu, FEAT_UMIP))
		s |= CR4_UMIP;
	if (cpu_has(cpu, FEAT_LA57))
		s |= CR4_LA57;
	if (cpu_has(cpu, FEAT_VMX))
		s |= CR4_VMXE;
	if (cpu_has(cpu, FEAT_FSGSBASE))
		s |= CR4_FSGSBASE;
	if (cpu_has(cpu, FEAT_PCID))
		s |= CR4_PCIDE;
	if (cpu_has(cpu, FEAT_XSAVE))
		s |= CR4_OSXSAVE;
	if (cpu_has(cpu, FEAT_SMEP))
		s |= CR4_SMEP;
	if (cpu_has(cpu, FEAT_SMAP))
		s |= CR4_SMAP;
	if (cpu_has(cpu, FEAT_PKU))
		s |= CR4_PKE;
	return s;
}

/* PAE paging loads the four PDPTEs: reserved bits in a present one make
 * the loading instruction #GP (SDM 4.4.1). */
static bool pdptes_ok(struct cpu *cpu, uint64_t cr3)
{
	if (!cpu->m)
		return true;
	uint64_t base = cr3 & 0xffffffe0ull;
	uint64_t rsvd = phys_rsvd(cpu) | 0x1e6ull;	/* 63:MAXPHYADDR, 8:5, 2:1 */
	for (unsigned k = 0; k < 4; k++) {
		uint64_t e = phys_read_u(cpu->m, (base + 8 * k) & ~cpu->m->a20_clear, 8);
		if ((e & 1) && (e & rsvd))
			return false;
	}
	return true;
}

#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
		     CR0_NW | CR0_CD | CR0_PG)

int cpu_write_cr0(struct cpu *cpu, uint64_t val)
{
	if (val >> 32)
		return -1;
	/* Reserved bits in 31:0 are ignored; ET is hardwired to 1. */
	uint64_t v = (val & CR0_DEFINED) | CR0_ET;
	if ((v & CR0_PG) && !(v & CR0_PE))
		return -1;
	if ((v & CR0_NW) && !(v & CR0_CD))
		return -1;
	uint64_t old = cpu->cr0, efer = cpu->efer;
	if (!(old & CR0_PG) && (v & CR0_PG)) {
		if (efer & EFER_LME) {
			/* Activating IA-32e mode (SDM 9.8.5). */
			if (!(cpu->cr4 & CR4_PAE) || (cpu->seg[S_CS].attr & AR_L))
				return -1;
			efer |= EFER_LMA;
		} else if ((cpu->cr4 & CR4_PAE) && !pdptes_ok(cpu, cpu->cr3)) {
			return -1;
		}
	} else if ((old & CR0_PG) && !(v & CR0_PG)) {
		if (cpu->mode == MODE_LONG || (cpu->cr4 & CR4_PCIDE))
			return -1;
		efer &= ~(uint64_t)EFER_LMA;
	}
	cpu->cr0 = v;
	cpu->efer = efer;
	if ((old ^ v) & (CR0_PG | CR0_PE | CR0_WP))
		tlb_flush_all(cpu);
	cpu_update_mode(cpu);
	return 0;
}

int cpu_write_cr3(struct cpu *cpu, uint64_t val)
{
	if (cpu->efer & EFER_LMA) {
		bool pcide = cpu->cr4 & CR4_PCIDE;
		bool noflush = pcide && (val >> 63);
		if (pcide)
			val &= ~(1ull << 63);
		if (val & phys_rsvd(cpu))
			return -1;
		uint64_t old = cpu->cr3;
		cpu->cr3 = val;
		/* The MMU flushes what SDM 4.10.4.1 says (its lookups are not
		 * PCID-tagged, so a PCID switch flushes too). */
		tlb_cr3_written(cpu, old, noflush);
	} else {
		val &= 0xffffffffull;
		if ((cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE) && !pdptes_ok(cpu, val))
			return -1;
		cpu->cr3 = val;
		tlb_flush_nonglobal(cpu);
	}
	cpu->exit_request = 1;
	return 0;
}

int cpu_write_cr4(struct cpu *cpu, uint64_t val)
{
	uint64_t old = cpu->cr4;
	bool lma = cpu->efer & EFER_LMA;
	if (val & ~cpu_cr4_supported(cpu))
		return -1;
	if (lma && !(val & CR4_PAE))
		return -1;
	if (lma && ((val ^ old) & CR4_LA57))
		return -1;
	if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && (!lma || (cpu->cr3 & 0xfff)))
		return -1;
	const uint64_t paging_bits = CR4_PGE | CR4_PAE | CR4_PSE | CR4_PCIDE | CR4_SMEP | CR4_SMAP |
				     CR4_PKE | CR4_LA57;
	if ((cpu->cr0 & CR0_PG) && !lma && (val & CR4_PAE) && ((val ^ old) & paging_bits) &&
	    !pdptes_ok(cpu, cpu->cr3))
		return -1;
	cpu->cr4 = val;
	if ((old ^ val) & paging_bits)
		tlb_flush_all(cpu);
	cpu_update_mode(cpu);
	return 0;
}

int cpu_write_cr8(struct cpu *cpu, uint64_t val)
{
	if (val & ~0xfull)
		return -1;
	cpu->cr8 = val;
	cpu->exit_request = 1;	/* the TPR gates pending interrupts */
	if (lapic_tpr_written)
		lapic_tpr_written(cpu);
	return 0;
}

int cpu_write_cr(struct cpu *cpu, unsigned n, uint64_t val)
{
	switch (n) {
	case 0: return cpu_write_cr0(cpu, val);
	case 2: cpu->cr2 = val; return 0;
	case 3: return cpu_write_cr3(cpu, val);
	case 4: return cpu_write_cr4(cpu, val);
	case 8: return cpu_write_cr8(cpu, val);
	default: return -1;
	}
}

static bool cr_valid(unsigned n)
{
	return n == 0 || n == 2 || n == 3 || n == 4 || n == 8;
}

static uint64_t cr_value(const struct cpu *cpu, unsigned n)
{
	switch (n) {
	case 0: return cpu->cr0;
	case 2: return cpu->cr2;
	case 3: return cpu->cr3;
	case 4: return cpu->cr4;
	default: return cpu->cr8;
	}
}

/* MOV to/from CRn/DRn use 64-bit registers in 64-bit mode, 32-bit ones
 * elsewhere, whatever the operand-size prefix says. */
static uint64_t sysreg_src(const struct cpu *cpu, unsigned r)
{
	return cpu->mode == MODE_LONG ? cpu->regs[r] : (uint32_t)cpu->regs[r];
}

void mov_Rd_Cd(struct cpu *cpu, const struct insn *i)
{
	unsigned n = i->reg;
	if (!cr_valid(n))
		ud(cpu);
	if (cpu->cpl != 0)
		gp0(cpu);
	sys_intercept(cpu, VE_CR_READ, i, n, i->rm, 0);
	cpu->regs[i->rm] = cpu->mode == MODE_LONG ? cr_value(cpu, n) : (uint32_t)cr_value(cpu, n);
}

void mov_Cd_Rd(struct cpu *cpu, const struct insn *i)
{
	unsigned n = i->reg;
	if (!cr_valid(n))
		ud(cpu);
	if (cpu->cpl != 0)
		gp0(cpu);
	uint64_t v = sysreg_src(cpu, i->rm);
	sys_intercept(cpu, VE_CR_WRITE, i, n, v, i->rm);
	if (cpu_write_cr(cpu, n, v) != 0)
		gp0(cpu);
}

/* ---- Debug registers ---- */

#define DR6_BD (1ull << 13)
#define DR7_GD (1ull << 13)

uint64_t dr6_fixup(uint64_t v)
{
	return (v & 0xe00full) | 0xffff0ff0ull;
}

uint64_t dr7_fixup(uint64_t v)
{
	return (v & 0xffff2bffull) | 0x400ull;
}

/* The checks MOV DR makes after its intercept; returns the register
 * number with DR4/DR5 folded onto DR6/DR7. */
static unsigned dr_checks(struct cpu *cpu, unsigned n)
{
	if (n >= 8)
		ud(cpu);
	if ((n == 4 || n == 5) && (cpu->cr4 & CR4_DE))
		ud(cpu);
	if (cpu->dr[7] & DR7_GD) {
		/* General detect: #DB fault with DR6.BD; the processor clears
		 * GD so the handler can use the registers (SDM 17.2.4). */
		cpu->dr[6] |= DR6_BD;
		cpu->dr[7] &= ~DR7_GD;
		cpu_fault(cpu, EXC_DB, NO_ERROR_CODE);
	}
	if (cpu->cpl != 0)
		gp0(cpu);
	return n == 4 ? 6 : n == 5 ? 7 : n;
}

void mov_Rd_Dd(struct cpu *cpu, const struct insn *i)
{
	sys_intercept(cpu, VE_DR_ACCESS, i, i->reg, i->rm, 0);
	unsigned n = dr_checks(cpu, i->reg);
	uint64_t v = cpu->dr[n];
	cpu->regs[i->rm] = cpu->mode == MODE_LONG ? v : (uint32_t)v;
}

void mov_Dd_Rd(struct cpu *cpu, const struct insn *i)
{
	sys_intercept(cpu, VE_DR_ACCESS, i, i->reg, i->rm, 1);
	unsigned n = dr_checks(cpu, i->reg);
	uint64_t v = sysreg_src(cpu, i->rm);
	if (n >= 6 && (v >> 32))
		gp0(cpu);
	if (n == 6)
		v = dr6_fixup(v);
	else if (n == 7)
		v = dr7_fixup(v);
	cpu->dr[n] = v;
	cpu_update_mode(cpu);	/* armed breakpoints change slow_mode */
}

/* ---- CR0 shortcuts ---- */

void clts(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	sys_intercept(cpu, VE_CLTS, i, 0, 0, 0);
	cpu->cr0 &= ~(uint64_t)CR0_TS;
}

void lmsw_Ew(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	uint16_t src = (uint16_t)rm_read(cpu, i, 1);
	sys_intercept(cpu, VE_LMSW, i, 0, src, 0);
	/* Only PE, MP, EM, TS; PE can be set but not cleared. */
	uint64_t v = (cpu->cr0 & ~0xeull) | (src & 0xeu) | ((src | cpu->cr0) & CR0_PE);
	if (cpu_write_cr0(cpu, v) != 0)
		gp0(cpu);
}

void smsw_Ew(struct cpu *cpu, const struct insn *i)
{
	if ((cpu->cr4 & CR4_UMIP) && cpu->cpl > 0)
		gp0(cpu);
	if (i->mod == 3)
		reg_write(cpu, i->rm, cpu->cr0, i->osz);
	else
		mem_write16(cpu, i->seg, insn_ea(cpu, i), (uint16_t)cpu->cr0);
}

/* ---- TLB ---- */

void invlpg_Mb(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	uint64_t lin = (cpu->segbase[i->seg] + insn_ea(cpu, i)) & cpu->lin_mask;
	sys_intercept(cpu, VE_INVLPG, i, lin, 0, 0);
	tlb_flush_page(cpu, lin);
}

void invpcid(struct cpu *cpu, const struct insn *i)
{
	if (cpu->mode == MODE_V86)
		ud(cpu);
	if (cpu->cpl != 0)
		gp0(cpu);
	uint64_t type = sysreg_src(cpu, i->reg);
	uint64_t ea = insn_ea(cpu, i);
	sys_intercept(cpu, VE_INVPCID, i, type, ea, 0);
	uint64_t desc[2];
	mem_read_block(cpu, i->seg, ea, desc, 16);
	if (type > 3)
		gp0(cpu);
	uint64_t pcid = desc[0] & 0xfff;
	if (desc[0] >> 12)
		gp0(cpu);
	if (type <= 1 && !(cpu->cr4 & CR4_PCIDE) && pcid != 0)
		gp0(cpu);
	switch (type) {
	case 0:
		if (!canonical(cpu, desc[1]))
			gp0(cpu);
		tlb_flush_page(cpu, desc[1]);
		break;
	case 1:
		tlb_flush_pcid(cpu, (uint16_t)pcid, true);
		break;
	case 2:
		tlb_flush_all(cpu);
		break;
	default:
		tlb_flush_nonglobal(cpu);
		break;
	}
	cpu->exit_request = 1;
}

/* ---- HLT, interrupt flag ---- */

void hlt(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	sys_intercept(cpu, VE_HLT, i, 0, 0, 0);
	cpu->halted = true;
	cpu->exit_request = 1;
}

/* Which flag CLI/STI change (SDM Vol. 2 CLI table): IF, VIF, or #GP. */
static uint64_t if_target(struct cpu *cpu)
{
	switch (cpu->mode) {
	case MODE_REAL:
		return FL_IF;
	case MODE_V86:
		if (iopl(cpu) == 3)
			return FL_IF;
		if (cpu->cr4 & CR4_VME)
			return FL_VIF;
		gp0(cpu);
	default:
		if (cpu->cpl <= iopl(cpu))
			return FL_IF;
		if (cpu->cpl == 3 && (cpu->cr4 & CR4_PVI))
			return FL_VIF;
		gp0(cpu);
	}
}

void cli(struct cpu *cpu, const struct insn *i)
{
	uint64_t f = if_target(cpu);
	cpu_set_rflags(cpu, 0, f);
}

void sti(struct cpu *cpu, const struct insn *i)
{
	uint64_t f = if_target(cpu);
	if (f == FL_VIF && (cpu->rflags & FL_VIP))
		gp0(cpu);
	if (f == FL_IF && !(cpu->rflags & FL_IF))
		cpu->irq_shadow = true;
	cpu_set_rflags(cpu, f, f);
}

/* CLD/STD: DF is not an arithmetic flag, so it is never lazy. */
void cld(struct cpu *cpu, const struct insn *i)
{
	cpu->rflags &= ~(uint64_t)FL_DF;
}

void std(struct cpu *cpu, const struct insn *i)
{
	cpu->rflags |= FL_DF;
}

/* ---- PUSHF / POPF ---- */

static inline void pushf_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	uint64_t f = cpu_get_rflags(cpu);
	if (cpu->mode == MODE_V86 && iopl(cpu) < 3) {
		if (osz != 1 || !(cpu->cr4 & CR4_VME))
			gp0(cpu);
		/* VME: IF is replaced by VIF and IOPL reads as 3. */
		f = (f & ~(uint64_t)FL_IF) | ((f & FL_VIF) ? FL_IF : 0) | FL_IOPL;
	}
	f &= ~(uint64_t)(FL_VM | FL_RF);
	stack_push(cpu, f & size_mask[osz], 1u << osz);
}

static inline void popf_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	uint64_t mask = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_AC | FL_ID;
	if (cpu->mode == MODE_V86 && iopl(cpu) < 3) {
		if (osz != 1 || !(cpu->cr4 & CR4_VME))
			gp0(cpu);
		uint64_t v = stack_peek(cpu, 0, 2);
		if ((v & FL_TF) || ((v & FL_IF) && (cpu->rflags & FL_VIP)))
			gp0(cpu);
		v = stack_pop(cpu, 2);
		/* VME: the popped IF goes to VIF; IF and IOPL are unchanged. */
		mask = (mask & 0xffff & ~(uint64_t)(FL_IF | FL_IOPL)) | FL_VIF;
		v = (v & ~(uint64_t)FL_VIF) | ((v & FL_IF) ? FL_VIF : 0);
		cpu_set_rflags(cpu, v, mask);
		return;
	}
	uint64_t v = stack_pop(cpu, 1u << osz);
	if (cpu->mode == MODE_V86) {
		mask &= ~(uint64_t)FL_IOPL;
	} else if (cpu->mode != MODE_REAL) {
		if (cpu->cpl > 0)
			mask &= ~(uint64_t)FL_IOPL;
		if (cpu->cpl > iopl(cpu))
			mask &= ~(uint64_t)FL_IF;
	}
	if (osz == 1)
		mask &= 0xffff;
	else
		mask |= FL_RF;	/* RF is cleared */
	cpu_set_rflags(cpu, v & ~(uint64_t)FL_RF, mask);
}

void pushf_w(struct cpu *cpu, const struct insn *i) { pushf_body(cpu, i, 1); }
void pushf_d(struct cpu *cpu, const struct insn *i) { pushf_body(cpu, i, 2); }
void pushf_q(struct cpu *cpu, const struct insn *i) { pushf_body(cpu, i, 3); }
void popf_w(struct cpu *cpu, const struct insn *i) { popf_body(cpu, i, 1); }
void popf_d(struct cpu *cpu, const struct insn *i) { popf_body(cpu, i, 2); }
void popf_q(struct cpu *cpu, const struct insn *i) { popf_body(cpu, i, 3); }

/* ---- CPUID ---- */

void cpuid(struct cpu *cpu, const struct insn *i)
{
	uint32_t leaf = (uint32_t)cpu->regs[R_AX], sub = (uint32_t)cpu->regs[R_CX];
	sys_intercept(cpu, VE_CPUID, i, leaf, sub, 0);
	uint32_t r[4];
	cpu_cpuid(cpu, leaf, sub, r);
	cpu->regs[R_AX] = r[0];
	cpu->regs[R_BX] = r[1];
	cpu->regs[R_CX] = r[2];
	cpu->regs[R_DX] = r[3];
}

/* ---- Fast system calls ---- */

/* Flat segment register values the fast system calls load. */
#define AR_CODE64_0 (AR_G | AR_L | AR_P | AR_S | 0xb)
#define AR_CODE32_0 (AR_G | AR_DB | AR_P | AR_S | 0xb)
#define AR_DATA_0 (AR_G | AR_DB | AR_P | AR_S | 0x3)
#define AR_DPL3 (3u << AR_DPL_SHIFT)

static void load_flat(struct cpu *cpu, unsigned s, uint16_t sel, uint32_t attr)
{
	cpu->seg[s] = (struct seg){ .sel = sel, .base = 0, .limit = 0xffffffffu, .attr = attr };
}

void syscall_insn(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->efer & EFER_SCE))
		ud(cpu);
	if (!is_amd(cpu) && cpu->mode != MODE_LONG)
		ud(cpu);
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
		ud(cpu);
	uint16_t sel = (uint16_t)(cpu->msr.star >> 32) & 0xfffc;
	uint64_t f = cpu_get_rflags(cpu);
	if (cpu->efer & EFER_LMA) {
		cpu->regs[R_CX] = cpu->next_rip;
		cpu->regs[R_R11] = f;
		cpu->next_rip = cpu->mode == MODE_LONG ? cpu->msr.lstar : cpu->msr.cstar;
		load_flat(cpu, S_CS, sel, AR_CODE64_0);
		load_flat(cpu, S_SS, (uint16_t)(sel + 8), AR_DATA_0);
		cpu_set_rflags(cpu, 0, (cpu->msr.sfmask & 0xffffffffull) | FL_RF);
	} else {
		cpu->regs[R_CX] = (uint32_t)cpu->next_rip;
		cpu->next_rip = (uint32_t)cpu->msr.star;
		load_flat(cpu, S_CS, sel, AR_CODE32_0);
		load_flat(cpu, S_SS, (uint16_t)(sel + 8), AR_DATA_0);
		cpu_set_rflags(cpu, 0, FL_VM | FL_IF | FL_RF);
	}
	cpu_update_mode(cpu);
}

void sysret(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->efer & EFER_SCE))
		ud(cpu);
	if (!is_amd(cpu) && cpu->mode != MODE_LONG)
		ud(cpu);
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86 || cpu->cpl != 0)
		gp0(cpu);
	uint16_t sel = (uint16_t)(cpu->msr.star >> 48);
	if (cpu->efer & EFER_LMA) {
		if (i->osz == 3) {
			uint64_t rcx = cpu->regs[R_CX];
			if (!canonical(cpu, rcx))
				gp0(cpu);
			cpu->next_rip = rcx;
			load_flat(cpu, S_CS, (uint16_t)((sel + 16) | 3), AR_CODE64_0 | AR_DPL3);
		} else {
			cpu->next_rip = (uint32_t)cpu->regs[R_CX];
			load_flat(cpu, S_CS, (uint16_t)(sel | 3), AR_CODE32_0 | AR_DPL3);
		}
		cpu_set_rflags(cpu, cpu->regs[R_R11] & 0x3c7fd7ull, 0x3fffffull);
	} else {
		cpu->next_rip = (uint32_t)cpu->regs[R_CX];
		load_flat(cpu, S_CS, (uint16_t)(sel | 3), AR_CODE32_0 | AR_DPL3);
		cpu_set_rflags(cpu, FL_IF, FL_IF);
	}
	load_flat(cpu, S_SS, (uint16_t)((sel + 8) | 3), AR_DATA_0 | AR_DPL3);
	cpu_update_mode(cpu);
}

void sysenter(struct cpu *cpu, const struct insn *i)
{
	if (is_amd(cpu) && (cpu->efer & EFER_LMA))
		ud(cpu);
	uint16_t cs = (uint16_t)cpu->msr.sysenter_cs & 0xfffc;
	if (cpu->mode == MODE_REAL || cs == 0)
		gp0(cpu);
	cpu_set_rflags(cpu, 0, FL_VM | FL_IF | FL_RF);
	if (cpu->efer & EFER_LMA) {
		load_flat(cpu, S_CS, cs, AR_CODE64_0);
		cpu->next_rip = cpu->msr.sysenter_eip;
		cpu->regs[R_SP] = cpu->msr.sysenter_esp;
	} else {
		load_flat(cpu, S_CS, cs, AR_CODE32_0);
		cpu->next_rip = (uint32_t)cpu->msr.sysenter_eip;
		cpu->regs[R_SP] = (uint32_t)cpu->msr.sysenter_esp;
	}
	load_flat(cpu, S_SS, (uint16_t)(cs + 8), AR_DATA_0);
	cpu_update_mode(cpu);
}

void sysexit(struct cpu *cpu, const struct insn *i)
{
	if (is_amd(cpu) && (cpu->efer & EFER_LMA))
		ud(cpu);
	uint16_t cs = (uint16_t)cpu->msr.sysenter_cs & 0xfffc;
	if (cpu->mode == MODE_REAL || cs == 0 || cpu->cpl != 0)
		gp0(cpu);
	if (i->osz == 3) {
		uint64_t rip = cpu->regs[R_DX], rsp = cpu->regs[R_CX];
		if (!canonical(cpu, rip) || !canonical(cpu, rsp))
			gp0(cpu);
		load_flat(cpu, S_CS, (uint16_t)((cs + 32) | 3), AR_CODE64_0 | AR_DPL3);
		load_flat(cpu, S_SS, (uint16_t)((cs + 40) | 3), AR_DATA_0 | AR_DPL3);
		cpu->next_rip = rip;
		cpu->regs[R_SP] = rsp;
	} else {
		load_flat(cpu, S_CS, (uint16_t)((cs + 16) | 3), AR_CODE32_0 | AR_DPL3);
		load_flat(cpu, S_SS, (uint16_t)((cs + 24) | 3), AR_DATA_0 | AR_DPL3);
		cpu->next_rip = (uint32_t)cpu->regs[R_DX];
		cpu->regs[R_SP] = (uint32_t)cpu->regs[R_CX];
	}
	cpu_update_mode(cpu);
}

void swapgs(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	uint64_t t = cpu->seg[S_GS].base;
	cpu->seg[S_GS].base = cpu->msr.kernel_gs_base;
	cpu->msr.kernel_gs_base = t;
	cpu->segbase[S_GS] = cpu->seg[S_GS].base;
}

/* ---- Caches ---- */

void wbinvd(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	sys_intercept(cpu, VE_WBINVD, i, 0, 0, 0);
}

void invd(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		gp0(cpu);
	sys_intercept(cpu, VE_INVD, i, 0, 0, 0);
}

/* CLFLUSH and friends: no cache to flush, but the address is checked
 * and translated like a byte read (may #GP/#SS/#PF). */
static void cache_line_op(struct cpu *cpu, const struct insn *i)
{
	uint64_t lin = seg_linear(cpu, i->seg, insn_ea(cpu, i), 1, ACC_READ);
	uint64_t pa;
	mmu_translate(cpu, lin, ACC_READ, &pa);
}

void clflush(struct cpu *cpu, const struct insn *i) { cache_line_op(cpu, i); }
void clflushopt(struct cpu *cpu, const struct insn *i) { cache_line_op(cpu, i); }
void clwb(struct cpu *cpu, const struct insn *i) { cache_line_op(cpu, i); }

void lfence(struct cpu *cpu, const struct insn *i)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

void mfence(struct cpu *cpu, const struct insn *i)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void sfence(struct cpu *cpu, const struct insn *i)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* ---- MONITOR / MWAIT / PAUSE ---- */

void monitor(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		ud(cpu);
	if ((uint32_t)cpu->regs[R_CX] != 0)
		gp0(cpu);
	uint64_t off = cpu->regs[R_AX] & addr_mask(i->asz);
	sys_intercept(cpu, VE_MONITOR, i, off, 0, 0);
	uint64_t lin = seg_linear(cpu, i->seg, off, 1, ACC_READ);
	uint64_t pa;
	mmu_translate(cpu, lin, ACC_READ, &pa);
}

void mwait(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl != 0)
		ud(cpu);
	uint32_t ecx = (uint32_t)cpu->regs[R_CX];
	if (ecx & ~1u)
		gp0(cpu);
	sys_intercept(cpu, VE_MWAIT, i, (uint32_t)cpu->regs[R_AX], ecx, 0);
	/* No monitor hardware: MWAIT returns at once (see the top). */
}

void pause_insn(struct cpu *cpu, const struct insn *i)
{
	sys_intercept(cpu, VE_PAUSE, i, 0, 0, 0);
}

/* ---- SMAP, PKU, FSGSBASE ---- */

void stac(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl > 0)
		ud(cpu);
	cpu_set_rflags(cpu, FL_AC, FL_AC);
}

void clac(struct cpu *cpu, const struct insn *i)
{
	if (cpu->cpl > 0)
		ud(cpu);
	cpu_set_rflags(cpu, 0, FL_AC);
}

void rdpkru(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->cr4 & CR4_PKE))
		ud(cpu);
	if ((uint32_t)cpu->regs[R_CX] != 0)
		gp0(cpu);
	cpu->regs[R_AX] = cpu->pkru;
	cpu->regs[R_DX] = 0;
}

void wrpkru(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->cr4 & CR4_PKE))
		ud(cpu);
	if ((uint32_t)cpu->regs[R_CX] != 0 || (uint32_t)cpu->regs[R_DX] != 0)
		gp0(cpu);
	uint32_t v = (uint32_t)cpu->regs[R_AX];
	if (v != cpu->pkru) {
		cpu->pkru = v;
		tlb_flush_all(cpu);	/* cached permissions depend on PKRU */
	}
}

static inline void rdbase_body(struct cpu *cpu, const struct insn *i, unsigned s, unsigned osz)
{
	if (!(cpu->cr4 & CR4_FSGSBASE))
		ud(cpu);
	reg_write(cpu, i->rm, cpu->seg[s].base, osz);
}

static inline void wrbase_body(struct cpu *cpu, const struct insn *i, unsigned s, unsigned osz)
{
	if (!(cpu->cr4 & CR4_FSGSBASE))
		ud(cpu);
	uint64_t v = cpu->regs[i->rm] & size_mask[osz];
	if (!canonical(cpu, v))
		gp0(cpu);
	cpu->seg[s].base = v;
	cpu->segbase[s] = v;
}

void rdfsbase_Ry_d(struct cpu *cpu, const struct insn *i) { rdbase_body(cpu, i, S_FS, 2); }
void rdfsbase_Ry_q(struct cpu *cpu, const struct insn *i) { rdbase_body(cpu, i, S_FS, 3); }
void rdgsbase_Ry_d(struct cpu *cpu, const struct insn *i) { rdbase_body(cpu, i, S_GS, 2); }
void rdgsbase_Ry_q(struct cpu *cpu, const struct insn *i) { rdbase_body(cpu, i, S_GS, 3); }
void wrfsbase_Ry_d(struct cpu *cpu, const struct insn *i) { wrbase_body(cpu, i, S_FS, 2); }
void wrfsbase_Ry_q(struct cpu *cpu, const struct insn *i) { wrbase_body(cpu, i, S_FS, 3); }
void wrgsbase_Ry_d(struct cpu *cpu, const struct insn *i) { wrbase_body(cpu, i, S_GS, 2); }
void wrgsbase_Ry_q(struct cpu *cpu, const struct insn *i) { wrbase_body(cpu, i, S_GS, 3); }

/* ---- XCR0 ---- */

uint64_t cpu_xcr0_supported(const struct cpu *cpu)
{
	uint64_t s = 1;			/* x87 */
	if (cpu_has(cpu, FEAT_SSE))
		s |= 2;
	if (cpu_has(cpu, FEAT_AVX))
		s |= 4;
	if (cpu_has(cpu, FEAT_PKU))
		s |= 1ull << 9;
	return s;
}

int cpu_write_xcr0(struct cpu *cpu, uint64_t val)
{
	if (!(val & 1) || (val & ~cpu_xcr0_supported(cpu)))
		return -1;
	if ((val & 4) && !(val & 2))	/* AVX needs SSE state */
		return -1;
	cpu->xcr0 = val;
	return 0;
}

void xgetbv(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->cr4 & CR4_OSXSAVE))
		ud(cpu);
	uint32_t ecx = (uint32_t)cpu->regs[R_CX];
	uint64_t v;
	if (ecx == 0)
		v = cpu->xcr0;
	else if (ecx == 1 && cpu_has(cpu, FEAT_XGETBV1))
		v = cpu->xcr0;	/* XINUSE: every enabled component counts as in use */
	else
		gp0(cpu);
	cpu->regs[R_AX] = (uint32_t)v;
	cpu->regs[R_DX] = v >> 32;
}

void xsetbv(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->cr4 & CR4_OSXSAVE))
		ud(cpu);
	if (cpu->cpl != 0)
		gp0(cpu);
	uint32_t ecx = (uint32_t)cpu->regs[R_CX];
	uint64_t v = (uint32_t)cpu->regs[R_AX] | (cpu->regs[R_DX] & 0xffffffffull) << 32;
	sys_intercept(cpu, VE_XSETBV, i, ecx, v, 0);
	if (ecx != 0 || cpu_write_xcr0(cpu, v) != 0)
		gp0(cpu);
}

/* ---- Odds and ends ---- */

void ud2(struct cpu *cpu, const struct insn *i)
{
	ud(cpu);
}

void rsm(struct cpu *cpu, const struct insn *i)
{
	ud(cpu);	/* no SMM: RSM outside SMM is #UD */
}

void nop_Ev(struct cpu *cpu, const struct insn *i)
{
	/* Hint NOPs and PREFETCHh: no memory access, no fault. */
}

void fwait(struct cpu *cpu, const struct insn *i)
{
	if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
	x87_check_pending(cpu);	/* pending unmasked x87 exception: #MF / FERR# */
}
