/*
 * msr.c - the architectural MSRs, the TSC and the instructions that read
 * them (SDM Vol. 4 ch. 2, Vol. 3 2.2.1 EFER, 11.11 MTRRs, 11.12 PAT,
 * 17.17 TSC, 15.3 machine check; AMD APM Vol. 2 A.1).
 *
 * Which MSRs exist follows the CPU model: the vendor (MISC_ENABLE,
 * FEATURE_CONTROL and PLATFORM_INFO are Intel's, HWCR and VM_CR AMD's)
 * and the feature words (SYSENTER_* need SEP, SPEC_CTRL needs its CPUID
 * bit, ...). Every check that WRMSR performs on a value is here, so the
 * same rules hold for VM-entry MSR-load lists that call msr_write().
 *
 * TSC: cpu_rdtsc() = guest time (clock_ns) at MSR_TSC_HZ + msr.tsc_offset,
 * or icount * MSR_TSC_PER_INSN + offset on a machine without a clock. Writing
 * IA32_TSC moves the offset so the counter reads the value written, and
 * adds the difference to IA32_TSC_ADJUST; writing IA32_TSC_ADJUST moves
 * the TSC by the same amount (SDM 17.17.3).
 *
 * Order inside the instructions (SDM Vol. 3 25.1.1): #UD and the CPL
 * #GP come before the intercept question; the value and index checks
 * after it, since a VMM that intercepts decides those itself.
 */
#include "msr.h"

#include "cpuid.h"
#include "flags.h"
#include "interp.h"
#include "system.h"
#include "virt.h"
#include "../clock.h"
#include "../machine.h"
#include "../mmu/mmu.h"

/* CPUID.7.0:EDX[28]: IA32_FLUSH_CMD. */
#define FEAT_L1D_FLUSH_ FEAT(FW_7_EDX, 28)

static bool is_intel(const struct cpu *cpu)
{
	return !cpu->model || cpu->model->vendor == VENDOR_INTEL;
}

static unsigned phys_bits(const struct cpu *cpu)
{
	return cpu->model ? cpu->model->phys_bits : 36;
}

/* Canonical relative to the widest linear address the CPU supports, as
 * WRMSR checks it (independent of CR4.LA57). */
static bool msr_canonical(const struct cpu *cpu, uint64_t v)
{
	unsigned bits = cpu_has(cpu, FEAT_LA57) ? 57 : 48;
	int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);
	return (uint64_t)s == v;
}

/* Bits at or above MAXPHYADDR. */
static uint64_t phys_rsvd(const struct cpu *cpu)
{
	return ~0ull << phys_bits(cpu);
}

/* Memory types valid in PAT entries (0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC-)
 * and in MTRRs (the same without 7). */
static bool pat_type_ok(unsigned t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || t == 7;
}
static bool mtrr_type_ok(unsigned t)
{
	return t != 7 && pat_type_ok(t);
}
static bool mtrr_bytes_ok(uint64_t v)
{
	for (unsigned k = 0; k < 8; k++)
		if (!mtrr_type_ok((unsigned)(v >> (8 * k)) & 0xff))
			return false;
	return true;
}

/* Index of a fixed-range MTRR in msr.mtrr_fixed[], or -1. */
static int mtrr_fixed_index(uint32_t idx)
{
	if (idx == MSR_MTRR_FIX64K_00000)
		return 0;
	if (idx == MSR_MTRR_FIX16K_80000)
		return 1;
	if (idx == MSR_MTRR_FIX16K_A0000)
		return 2;
	if (idx >= MSR_MTRR_FIX4K_C0000 && idx <= MSR_MTRR_FIX4K_F8000)
		return 3 + (int)(idx - MSR_MTRR_FIX4K_C0000);
	return -1;
}

static unsigned mtrr_var_count(const struct cpu *cpu)
{
	unsigned n = (unsigned)(cpu->msr.mtrr_cap & 0xff);
	return n > 10 ? 10 : n;
}

/* The free-running count under the TSC: guest time at MSR_TSC_HZ on a
 * machine with a clock (so the TSC runs while vCPUs halt and TSC-deadline
 * timers agree with it), retired instructions on a bare machine. */
static uint64_t tsc_count(const struct cpu *cpu)
{
	if (cpu->m && cpu->m->clock)
		return muldiv64(clock_ns(cpu->m), MSR_TSC_HZ, 1000000000ull);
	return cpu->icount * MSR_TSC_PER_INSN;
}

uint64_t cpu_rdtsc(struct cpu *cpu)
{
	return tsc_count(cpu) + cpu->msr.tsc_offset;
}

void cpu_set_tsc(struct cpu *cpu, uint64_t tsc)
{
	cpu->msr.tsc_offset = tsc - tsc_count(cpu);
}

uint64_t cpu_random(struct cpu *cpu)
{
	uint64_t x = cpu->msr.rng;
	if (x == 0)
		x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)cpu->apic_id + 1) * 0xbf58476d1ce4e5b9ull;
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	cpu->msr.rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static int efer_write(struct cpu *cpu, uint64_t val)
{
	uint64_t ok = EFER_LMA;
	if (cpu_has(cpu, FEAT_SYSCALL) || cpu_has(cpu, FEAT_LM))
		ok |= EFER_SCE;
	if (cpu_has(cpu, FEAT_LM))
		ok |= EFER_LME;
	if (cpu_has(cpu, FEAT_NX) && !(cpu->msr.misc_enable & MISC_ENABLE_XD_DISABLE))
		ok |= EFER_NXE;
	if (cpu_has(cpu, FEAT_SVM))
		ok |= EFER_SVME;
	if (cpu_has(cpu, FEAT_FFXSR))
		ok |= EFER_FFXSR;
	if (val & ~ok)
		return -1;
	/* LME may not change while paging is on (SDM 9.8.5). */
	if ((cpu->cr0 & CR0_PG) && ((val ^ cpu->efer) & EFER_LME))
		return -1;
	/* LMA is read-only: keep the current value. */
	val = (val & ~(uint64_t)EFER_LMA) | (cpu->efer & EFER_LMA);
	uint64_t old = cpu->efer;
	cpu->efer = val;
	if ((old ^ val) & EFER_NXE)
		tlb_flush_all(cpu);
	cpu_update_mode(cpu);
	return 0;
}

static int apic_base_write(struct cpu *cpu, uint64_t val)
{
	uint64_t ok = APIC_BASE_BSP | APIC_BASE_EN | (~0ull << 12 & ~phys_rsvd(cpu));
	if (cpu_has(cpu, FEAT_X2APIC))
		ok |= APIC_BASE_EXTD;
	if (val & ~ok)
		return -1;
	uint64_t old = cpu->msr.apic_base;
	bool en = val & APIC_BASE_EN, extd = val & APIC_BASE_EXTD;
	bool old_en = old & APIC_BASE_EN, old_extd = old & APIC_BASE_EXTD;
	/* SDM 10.12.5: EXTD without EN is invalid; x2APIC -> xAPIC needs a
	 * pass through disabled; disabled -> x2APIC directly is invalid. */
	if (extd && !en)
		return -1;
	if (old_en && old_extd && en && !extd)
		return -1;
	if (!old_en && en && extd)
		return -1;
	/* BSP is read-only. */
	val = (val & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
	cpu->msr.apic_base = val;
	if (lapic_base_written)
		lapic_base_written(cpu, old);
	return 0;
}

static int mcg_bank_write(struct cpu *cpu, unsigned bank, unsigned reg, uint64_t val)
{
	switch (reg) {
	case 0:	/* MCi_CTL: all-zeros or all-ones (bit 10 may differ, SDM 15.3.2.1) */
		if (val != 0 && (val | (1ull << 10)) != ~0ull)
			return -1;
		break;
	case 1:	/* MCi_STATUS: software may only clear it */
		if (val != 0 && !(cpu->model && cpu->model->vendor == VENDOR_AMD &&
				  (cpu->msr.hwcr & (1ull << 18))))
			return -1;
		break;
	default:
		break;
	}
	cpu->msr.mc_bank[bank][reg] = val;
	return 0;
}

int msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val)
{
	struct cpu_msrs *m = &cpu->msr;
	bool intel = is_intel(cpu);
	int r;

	if ((idx >= 0x800 && idx <= 0x8ff) || idx == MSR_TSC_DEADLINE) {
		if (lapic_msr_read && (r = lapic_msr_read(cpu, idx, val)) <= 0)
			return r;
		if (idx == MSR_TSC_DEADLINE && cpu_has(cpu, FEAT_TSC_DEADLINE)) {
			*val = m->tsc_deadline;
			return 0;
		}
		return -1;
	}
	if (idx >= 0x480 && idx <= 0x492) {
		if (cpu_has(cpu, FEAT_VMX) && vmx_msr_read && (r = vmx_msr_read(cpu, idx, val)) <= 0)
			return r;
		return -1;
	}
	if (idx >= 0xc0010000 && svm_msr_read && (r = svm_msr_read(cpu, idx, val)) <= 0)
		return r;
	if (idx >= MSR_MTRR_PHYSBASE0 && idx < MSR_MTRR_PHYSBASE0 + 2 * mtrr_var_count(cpu) &&
	    cpu_has(cpu, FEAT_MTRR)) {
		*val = m->mtrr_var[idx - MSR_MTRR_PHYSBASE0];
		return 0;
	}
	if (mtrr_fixed_index(idx) >= 0 && cpu_has(cpu, FEAT_MTRR)) {
		*val = m->mtrr_fixed[mtrr_fixed_index(idx)];
		return 0;
	}
	if (idx >= MSR_MC0_CTL && idx < MSR_MC0_CTL + 4 * MSR_MC_BANKS && cpu_has(cpu, FEAT_MCA)) {
		*val = m->mc_bank[(idx - MSR_MC0_CTL) / 4][(idx - MSR_MC0_CTL) % 4];
		return 0;
	}

	switch (idx) {
	case MSR_TSC:
		*val = cpu_rdtsc(cpu);
		return 0;
	case MSR_PLATFORM_ID:
		if (!intel)
			return -1;
		*val = 0;
		return 0;
	case MSR_APIC_BASE:
		if (!cpu_has(cpu, FEAT_APIC))
			return -1;
		*val = m->apic_base;
		return 0;
	case MSR_FEATURE_CONTROL:
		if (!intel)
			return -1;
		*val = m->feature_control;
		return 0;
	case MSR_TSC_ADJUST:
		if (!cpu_has(cpu, FEAT_TSC_ADJUST))
			return -1;
		*val = m->tsc_adjust;
		return 0;
	case MSR_SPEC_CTRL:
		if (!cpu_has(cpu, FEAT_SPEC_CTRL))
			return -1;
		*val = m->spec_ctrl;
		return 0;
	case MSR_BIOS_SIGN_ID:
		*val = UCODE_REV << 32;
		return 0;
	case MSR_PLATFORM_INFO:
		if (!intel)
			return -1;
		*val = 24ull << 8;	/* maximum non-turbo ratio: 2.4 GHz at 100 MHz */
		return 0;
	case MSR_MTRRCAP:
		if (!cpu_has(cpu, FEAT_MTRR))
			return -1;
		*val = m->mtrr_cap;
		return 0;
	case MSR_ARCH_CAPABILITIES:
		if (!cpu_has(cpu, FEAT_ARCH_CAPS))
			return -1;
		*val = ARCH_CAPS_VALUE;
		return 0;
	case MSR_SYSENTER_CS:
		if (!cpu_has(cpu, FEAT_SEP))
			return -1;
		*val = m->sysenter_cs;
		return 0;
	case MSR_SYSENTER_ESP:
		if (!cpu_has(cpu, FEAT_SEP))
			return -1;
		*val = m->sysenter_esp;
		return 0;
	case MSR_SYSENTER_EIP:
		if (!cpu_has(cpu, FEAT_SEP))
			return -1;
		*val = m->sysenter_eip;
		return 0;
	case MSR_MCG_CAP:
		if (!cpu_has(cpu, FEAT_MCA))
			return -1;
		*val = MSR_MC_BANKS;
		return 0;
	case MSR_MCG_STATUS:
		if (!cpu_has(cpu, FEAT_MCA))
			return -1;
		*val = m->mcg_status;
		return 0;
	case MSR_MISC_ENABLE:
		if (!intel)
			return -1;
		/* BTS and PEBS unavailable (bits 11, 12), perfmon available (7). */
		*val = m->misc_enable | (1ull << 7) | (1ull << 11) | (1ull << 12);
		return 0;
	case MSR_DEBUGCTL:
		*val = m->debugctl;
		return 0;
	case MSR_PAT:
		if (!cpu_has(cpu, FEAT_PAT))
			return -1;
		*val = m->pat;
		return 0;
	case MSR_MTRR_DEF_TYPE:
		if (!cpu_has(cpu, FEAT_MTRR))
			return -1;
		*val = m->mtrr_def_type;
		return 0;
	case MSR_XSS:
		if (!cpu_has(cpu, FEAT_XSAVES))
			return -1;
		*val = m->xss;
		return 0;
	case MSR_EFER:
		if (!cpu_has(cpu, FEAT_LM) && !cpu_has(cpu, FEAT_NX) && !cpu_has(cpu, FEAT_SYSCALL))
			return -1;
		*val = cpu->efer;
		return 0;
	case MSR_STAR:
		*val = m->star;
		return 0;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_SFMASK:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!cpu_has(cpu, FEAT_LM))
			return -1;
		switch (idx) {
		case MSR_LSTAR: *val = m->lstar; break;
		case MSR_CSTAR: *val = m->cstar; break;
		case MSR_SFMASK: *val = m->sfmask; break;
		case MSR_FS_BASE: *val = cpu->seg[S_FS].base; break;
		case MSR_GS_BASE: *val = cpu->seg[S_GS].base; break;
		default: *val = m->kernel_gs_base; break;
		}
		return 0;
	case MSR_TSC_AUX:
		if (!cpu_has(cpu, FEAT_RDTSCP) && !cpu_has(cpu, FEAT_RDPID))
			return -1;
		*val = m->tsc_aux;
		return 0;
	case MSR_AMD_HWCR:
		if (intel)
			return -1;
		*val = m->hwcr;
		return 0;
	case MSR_VM_CR:
		if (!cpu_has(cpu, FEAT_SVM))
			return -1;
		*val = m->vm_cr;
		return 0;
	case MSR_VM_HSAVE_PA:
		if (!cpu_has(cpu, FEAT_SVM))
			return -1;
		*val = m->hsave_pa;
		return 0;
	default:
		return -1;
	}
}

int msr_write(struct cpu *cpu, uint32_t idx, uint64_t val)
{
	struct cpu_msrs *m = &cpu->msr;
	bool intel = is_intel(cpu);
	int r;

	if ((idx >= 0x800 && idx <= 0x8ff) || idx == MSR_TSC_DEADLINE) {
		if (lapic_msr_write && (r = lapic_msr_write(cpu, idx, val)) <= 0)
			return r;
		if (idx == MSR_TSC_DEADLINE && cpu_has(cpu, FEAT_TSC_DEADLINE)) {
			m->tsc_deadline = val;
			return 0;
		}
		return -1;
	}
	if (idx >= 0x480 && idx <= 0x492) {
		if (cpu_has(cpu, FEAT_VMX) && vmx_msr_write && (r = vmx_msr_write(cpu, idx, val)) <= 0)
			return r;
		return -1;	/* the capability MSRs are read-only */
	}
	if (idx >= 0xc0010000 && svm_msr_write && (r = svm_msr_write(cpu, idx, val)) <= 0)
		return r;
	if (idx >= MSR_MTRR_PHYSBASE0 && idx < MSR_MTRR_PHYSBASE0 + 2 * mtrr_var_count(cpu) &&
	    cpu_has(cpu, FEAT_MTRR)) {
		unsigned k = idx - MSR_MTRR_PHYSBASE0;
		if (k % 2 == 0) {	/* PHYSBASE: type 7:0, base 12..MAXPHYADDR-1 */
			if ((val & (phys_rsvd(cpu) | 0xf00)) || !mtrr_type_ok(val & 0xff))
				return -1;
		} else {		/* PHYSMASK: valid bit 11, mask 12.. */
			if (val & (phys_rsvd(cpu) | 0x7ff))
				return -1;
		}
		m->mtrr_var[k] = val;
		return 0;
	}
	if (mtrr_fixed_index(idx) >= 0 && cpu_has(cpu, FEAT_MTRR)) {
		if (!mtrr_bytes_ok(val))
			return -1;
		m->mtrr_fixed[mtrr_fixed_index(idx)] = val;
		return 0;
	}
	if (idx >= MSR_MC0_CTL && idx < MSR_MC0_CTL + 4 * MSR_MC_BANKS && cpu_has(cpu, FEAT_MCA))
		return mcg_bank_write(cpu, (idx - MSR_MC0_CTL) / 4, (idx - MSR_MC0_CTL) % 4, val);

	switch (idx) {
	case MSR_TSC: {
		uint64_t old = cpu_rdtsc(cpu);
		cpu_set_tsc(cpu, val);
		if (cpu_has(cpu, FEAT_TSC_ADJUST))
			m->tsc_adjust += val - old;
		return 0;
	}
	case MSR_APIC_BASE:
		if (!cpu_has(cpu, FEAT_APIC))
			return -1;
		return apic_base_write(cpu, val);
	case MSR_FEATURE_CONTROL: {
		if (!intel || (m->feature_control & FEATURE_CONTROL_LOCKED))
			return -1;
		uint64_t ok = FEATURE_CONTROL_LOCKED;
		if (cpu_has(cpu, FEAT_VMX))
			ok |= FEATURE_CONTROL_VMX;
		if (val & ~ok)
			return -1;
		m->feature_control = val;
		return 0;
	}
	case MSR_TSC_ADJUST:
		if (!cpu_has(cpu, FEAT_TSC_ADJUST))
			return -1;
		cpu_set_tsc(cpu, cpu_rdtsc(cpu) + (val - m->tsc_adjust));
		m->tsc_adjust = val;
		return 0;
	case MSR_SPEC_CTRL: {
		if (!cpu_has(cpu, FEAT_SPEC_CTRL))
			return -1;
		uint64_t ok = 1;	/* IBRS */
		if (cpu_has(cpu, FEAT_STIBP))
			ok |= 2;
		if (cpu_has(cpu, FEAT_SSBD))
			ok |= 4;
		if (val & ~ok)
			return -1;
		m->spec_ctrl = val;
		return 0;
	}
	case MSR_PRED_CMD:
		if (!cpu_has(cpu, FEAT_SPEC_CTRL) || (val & ~1ull))
			return -1;
		return 0;	/* IBPB: nothing to do */
	case MSR_FLUSH_CMD:
		if (!cpu_has(cpu, FEAT_L1D_FLUSH_) || (val & ~1ull))
			return -1;
		return 0;	/* L1D flush: nothing to do */
	case MSR_BIOS_UPDT_TRIG:
		return intel ? 0 : -1;	/* microcode update: accepted, ignored */
	case MSR_BIOS_SIGN_ID:
		return 0;		/* software writes 0 before CPUID; reads still report the revision */
	case MSR_PLATFORM_ID:
	case MSR_PLATFORM_INFO:
	case MSR_MTRRCAP:
	case MSR_ARCH_CAPABILITIES:
	case MSR_MCG_CAP:
		return -1;		/* read-only */
	case MSR_SYSENTER_CS:
		if (!cpu_has(cpu, FEAT_SEP))
			return -1;
		m->sysenter_cs = val & 0xffffffffull;
		return 0;
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		if (!cpu_has(cpu, FEAT_SEP))
			return -1;
		if (cpu_has(cpu, FEAT_LM) && !msr_canonical(cpu, val))
			return -1;
		if (!cpu_has(cpu, FEAT_LM))
			val &= 0xffffffffull;
		if (idx == MSR_SYSENTER_ESP)
			m->sysenter_esp = val;
		else
			m->sysenter_eip = val;
		return 0;
	case MSR_MCG_STATUS:
		if (!cpu_has(cpu, FEAT_MCA) || (val & ~7ull))
			return -1;
		m->mcg_status = val;
		return 0;
	case MSR_MISC_ENABLE: {
		if (!intel)
			return -1;
		/* Writable: fast strings, automatic thermal control, EIST,
		 * MONITOR FSM, limit CPUID maxval, XD disable. The rest keeps
		 * its value (reserved and read-only bits are ignored). */
		uint64_t wr = (1ull << 0) | (1ull << 3) | (1ull << 16) | MISC_ENABLE_MONITOR |
			      MISC_ENABLE_LIMIT_CPUID | MISC_ENABLE_XD_DISABLE;
		m->misc_enable = (m->misc_enable & ~wr) | (val & wr);
		return 0;
	}
	case MSR_DEBUGCTL:
		if (val & ~3ull)	/* LBR, BTF */
			return -1;
		m->debugctl = val;
		return 0;
	case MSR_PAT:
		if (!cpu_has(cpu, FEAT_PAT))
			return -1;
		for (unsigned k = 0; k < 8; k++)
			if (!pat_type_ok((unsigned)(val >> (8 * k)) & 0xff))
				return -1;
		if (val != m->pat)
			tlb_flush_all(cpu);
		m->pat = val;
		return 0;
	case MSR_MTRR_DEF_TYPE:
		if (!cpu_has(cpu, FEAT_MTRR))
			return -1;
		/* type 7:0, FE 10, E 11 */
		if ((val & ~0xcffull) || !mtrr_type_ok(val & 0xff))
			return -1;
		m->mtrr_def_type = val;
		return 0;
	case MSR_XSS:
		if (!cpu_has(cpu, FEAT_XSAVES) || val != 0)
			return -1;	/* no supervisor state components */
		m->xss = val;
		return 0;
	case MSR_EFER:
		if (!cpu_has(cpu, FEAT_LM) && !cpu_has(cpu, FEAT_NX) && !cpu_has(cpu, FEAT_SYSCALL))
			return -1;
		return efer_write(cpu, val);
	case MSR_STAR:
		m->star = val;
		return 0;
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!cpu_has(cpu, FEAT_LM) || !msr_canonical(cpu, val))
			return -1;
		if (idx == MSR_LSTAR)
			m->lstar = val;
		else
			m->cstar = val;
		return 0;
	case MSR_SFMASK:
		if (!cpu_has(cpu, FEAT_LM))
			return -1;
		m->sfmask = val & 0xffffffffull;
		return 0;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!cpu_has(cpu, FEAT_LM) || !msr_canonical(cpu, val))
			return -1;
		cpu->seg[idx == MSR_FS_BASE ? S_FS : S_GS].base = val;
		cpu_update_mode(cpu);
		return 0;
	case MSR_KERNEL_GS_BASE:
		if (!cpu_has(cpu, FEAT_LM) || !msr_canonical(cpu, val))
			return -1;
		m->kernel_gs_base = val;
		return 0;
	case MSR_TSC_AUX:
		if ((!cpu_has(cpu, FEAT_RDTSCP) && !cpu_has(cpu, FEAT_RDPID)) || (val >> 32))
			return -1;
		m->tsc_aux = val;
		return 0;
	case MSR_AMD_HWCR:
		/* SMMLOCK 0, SLOWFENCE 1, TLBCACHEDIS 3, INVDWBINVD 4, FFDIS 6,
		 * IGNNE_EM 8, McStatusWrEn 18, TscFreqSel 24. */
		if (intel || (val & ~0x104015bull))
			return -1;
		m->hwcr = val;
		return 0;
	case MSR_VM_CR:
		if (!cpu_has(cpu, FEAT_SVM) || (val & ~0x1full))
			return -1;
		if ((m->vm_cr & (1ull << 3)) && ((val ^ m->vm_cr) & (1ull << 4)))
			return -1;	/* SVMDIS is locked */
		m->vm_cr = val;
		return 0;
	case MSR_VM_HSAVE_PA:
		if (!cpu_has(cpu, FEAT_SVM) || (val & (0xfffull | phys_rsvd(cpu))))
			return -1;
		m->hsave_pa = val;
		return 0;
	default:
		return -1;
	}
}

/* ---- Instructions ---- */

static void write_edx_eax(struct cpu *cpu, uint64_t v)
{
	cpu->regs[R_AX] = (uint32_t)v;
	cpu->regs[R_DX] = v >> 32;
}

void rdmsr(struct cpu *cpu, const struct insn *i)
{
	uint32_t idx = (uint32_t)cpu->regs[R_CX];
	if (cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
	sys_intercept(cpu, VE_RDMSR, i, idx, 0, 0);
	uint64_t v;
	if (msr_read(cpu, idx, &v) != 0)
		cpu_fault(cpu, EXC_GP, 0);
	write_edx_eax(cpu, v);
}

void wrmsr(struct cpu *cpu, const struct insn *i)
{
	uint32_t idx = (uint32_t)cpu->regs[R_CX];
	uint64_t v = (uint32_t)cpu->regs[R_AX] | (cpu->regs[R_DX] & 0xffffffffull) << 32;
	if (cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
	sys_intercept(cpu, VE_WRMSR, i, idx, v, 0);
	if (msr_write(cpu, idx, v) != 0)
		cpu_fault(cpu, EXC_GP, 0);
}

static void tsd_check(struct cpu *cpu)
{
	if ((cpu->cr4 & CR4_TSD) && cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
}

void rdtsc(struct cpu *cpu, const struct insn *i)
{
	tsd_check(cpu);
	sys_intercept(cpu, VE_RDTSC, i, 0, 0, 0);
	write_edx_eax(cpu, cpu_rdtsc(cpu));
}

void rdtscp(struct cpu *cpu, const struct insn *i)
{
	tsd_check(cpu);
	sys_intercept(cpu, VE_RDTSCP, i, 0, 0, 0);
	write_edx_eax(cpu, cpu_rdtsc(cpu));
	cpu->regs[R_CX] = (uint32_t)cpu->msr.tsc_aux;
}

void rdpid(struct cpu *cpu, const struct insn *i)
{
	/* 64-bit mode: the register is 64 bits wide (F64); otherwise 32. */
	cpu->regs[i->rm] = (uint32_t)cpu->msr.tsc_aux;
}

void rdpmc(struct cpu *cpu, const struct insn *i)
{
	uint32_t ecx = (uint32_t)cpu->regs[R_CX];
	if (!(cpu->cr4 & CR4_PCE) && cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
	sys_intercept(cpu, VE_RDPMC, i, ecx, 0, 0);
	/* Four general-purpose counters and three fixed ones (ECX[30]); they
	 * never count. */
	uint32_t n = ecx & 0x3fffffff;
	if ((ecx & ~0x4000ffffu) || (ecx & (1u << 30) ? n >= 3 : n >= 4))
		cpu_fault(cpu, EXC_GP, 0);
	write_edx_eax(cpu, 0);
}

static inline void rand_body(struct cpu *cpu, const struct insn *i, unsigned osz, bool seed)
{
	sys_intercept(cpu, seed ? VE_RDSEED : VE_RDRAND, i, 0, 0, 0);
	reg_write(cpu, i->rm, cpu_random(cpu), osz);
	flags_set_arith(cpu, FL_CF);
}

void rdrand_Rv_w(struct cpu *cpu, const struct insn *i) { rand_body(cpu, i, 1, false); }
void rdrand_Rv_d(struct cpu *cpu, const struct insn *i) { rand_body(cpu, i, 2, false); }
void rdrand_Rv_q(struct cpu *cpu, const struct insn *i) { rand_body(cpu, i, 3, false); }
void rdseed_Rv_w(struct cpu *cpu, const struct insn *i) { rand_body(cpu, i, 1, true); }
void rdseed_Rv_d(struct cpu *cpu, const struct insn *i) { rand_body(cpu, i, 2, true); }
void rdseed_Rv_q(struct cpu *cpu, const struct insn *i) { rand_body(cpu, i, 3, true); }
