/*
 * simd.c - availability checks, operand access and exception reporting
 * shared by the MMX, SSE and AVX handlers (SDM Vol. 3 13.1-13.4, Vol. 1
 * 11.5 and 13.x; APM Vol. 2 11.x).
 *
 * Order of checks, as the SDM's "exceptions" tables list them: #UD for
 * CR0.EM / CR4.OSFXSR (or OSXSAVE/XCR0 for AVX), then #NM for CR0.TS, then
 * (MMX only) #MF for a pending x87 exception, then the memory operand
 * (#GP for misaligned aligned forms before any #PF), then SIMD FP
 * exceptions (#XM, or #UD when CR4.OSXMMEXCPT = 0).
 */
#include "simd.h"

#include <string.h>

#include "interp.h"
#include "mem.h"

void simd_check_sse(struct cpu *cpu)
{
	if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
		cpu_fault(cpu, EXC_UD, 0);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, 0);
}

void simd_check_mmx(struct cpu *cpu)
{
	if (cpu->cr0 & CR0_EM)
		cpu_fault(cpu, EXC_UD, 0);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, 0);
	/* A pending unmasked x87 exception (FSW.ES) is delivered first
	 * (SDM Vol. 3 12.5, "#MF"); with CR0.NE = 0 it is signalled on
	 * FERR#, which this machine does not wire, so it is ignored. */
	if ((cpu->fpu.fsw & 0x80) && (cpu->cr0 & CR0_NE))
		cpu_fault(cpu, EXC_MF, 0);
}

void simd_check_avx(struct cpu *cpu)
{
	if (!(cpu->cr4 & CR4_OSXSAVE) || (cpu->xcr0 & 6) != 6)
		cpu_fault(cpu, EXC_UD, 0);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, 0);
}

/* The alignment check of the aligned forms is on the linear address
 * (SDM Vol. 1 11.6.7: "#GP(0) ... not aligned on a 16-byte boundary"). */
static uint64_t simd_ea(struct cpu *cpu, const struct insn *i, unsigned bytes, bool align)
{
	uint64_t ea = insn_ea(cpu, i);
	if (align && ((cpu->segbase[i->seg] + ea) & (bytes - 1)))
		cpu_fault(cpu, EXC_GP, 0);
	return ea;
}

void simd_read_rm(struct cpu *cpu, const struct insn *i, void *buf, unsigned bytes, bool align)
{
	if (i->mod == 3) {
		memcpy(buf, vreg(cpu, i->rm), bytes);
		return;
	}
	uint64_t ea = simd_ea(cpu, i, bytes, align);
	switch (bytes) {
	case 4: { uint32_t v = mem_read32(cpu, i->seg, ea); memcpy(buf, &v, 4); break; }
	case 8: { uint64_t v = mem_read64(cpu, i->seg, ea); memcpy(buf, &v, 8); break; }
	default: mem_read_block(cpu, i->seg, ea, buf, bytes); break;
	}
}

void simd_write_rm(struct cpu *cpu, const struct insn *i, const void *buf, unsigned bytes, bool align)
{
	if (i->mod == 3) {
		memcpy(vreg(cpu, i->rm), buf, bytes);
		return;
	}
	uint64_t ea = simd_ea(cpu, i, bytes, align);
	switch (bytes) {
	case 4: { uint32_t v; memcpy(&v, buf, 4); mem_write32(cpu, i->seg, ea, v); break; }
	case 8: { uint64_t v; memcpy(&v, buf, 8); mem_write64(cpu, i->seg, ea, v); break; }
	default: mem_write_block(cpu, i->seg, ea, buf, bytes); break;
	}
}

/*
 * SDM Vol. 1 11.5.1: an unmasked exception leaves the destination alone,
 * sets its flag and invokes the handler. When an unmasked pre-computation
 * exception (IE, DE, ZE) occurs in any element, post-computation flags
 * (OE, UE, PE) are not reported (11.5.2.1).
 */
void simd_fp_exceptions(struct cpu *cpu, unsigned flags)
{
	flags &= 0x3f;
	if (!flags)
		return;
	unsigned unmasked = flags & ~(cpu->mxcsr >> MXCSR_MASK_SHIFT) & 0x3f;
	if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
		flags &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
	if (unmasked) {
		/* The flags are set before the handler runs; the fault
		 * unwinds, so this write must survive it. */
		cpu->mxcsr |= flags;
		cpu_fault(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD, 0);
	}
	cpu->mxcsr |= flags;
}
