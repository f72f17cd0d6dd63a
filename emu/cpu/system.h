/*
 * system.h - system instructions: control and debug registers, XCR0,
 * interrupt flag and RFLAGS transfer, fast system calls, cache and TLB
 * control, SMAP/PKU/FSGSBASE instructions, and the HLT/MONITOR/MWAIT
 * family (system.c). The MSR-related instructions are in msr.h.
 *
 * The control-register writers are shared with VM entry/exit code: each
 * applies every architectural check of MOV to CRn (returning -1 where the
 * instruction raises #GP(0)), commits the value, flushes the TLB as SDM
 * Vol. 3 4.10.4.1 requires and recomputes the mode.
 */
#ifndef NESTEMU_SYSTEM_H
#define NESTEMU_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "insn.h"
#include "virt.h"

/*
 * The intercept question for an instruction: when the policy takes the
 * event (a VM exit happened, or a test's policy stopped it), unwind to
 * the dispatch loop with RIP still at the instruction and nothing changed.
 */
static inline void sys_intercept(struct cpu *cpu, enum virt_event_kind kind, const struct insn *i,
				 uint64_t a, uint64_t b, uint64_t c)
{
	if (__builtin_expect(cpu->virt != NULL, 0) && virt_check(cpu, kind, i, a, b, c))
		cpu_unwind(cpu);
}

/* Control registers: 0, or -1 for #GP(0). Bits the CPU model lacks are
 * reserved. cpu_write_cr() dispatches on n (0, 2, 3, 4, 8; -1 otherwise). */
int cpu_write_cr0(struct cpu *cpu, uint64_t val) __attribute__((warn_unused_result));
int cpu_write_cr3(struct cpu *cpu, uint64_t val) __attribute__((warn_unused_result));
int cpu_write_cr4(struct cpu *cpu, uint64_t val) __attribute__((warn_unused_result));
int cpu_write_cr8(struct cpu *cpu, uint64_t val) __attribute__((warn_unused_result));
/* The LAPIC's hook: CR8 (the TPR's priority class) was written (emu/dev/lapic.c). */
void lapic_tpr_written(struct cpu *cpu) __attribute__((weak));
int cpu_write_cr(struct cpu *cpu, unsigned n, uint64_t val) __attribute__((warn_unused_result));
/* CR4 bits this vCPU's model supports (the rest are reserved). */
uint64_t cpu_cr4_supported(const struct cpu *cpu);

/* XCR0: the state components the model supports, and XSETBV's checks
 * and commit (0, or -1 for #GP(0)). */
uint64_t cpu_xcr0_supported(const struct cpu *cpu);
int cpu_write_xcr0(struct cpu *cpu, uint64_t val) __attribute__((warn_unused_result));

/* DR6/DR7 values as MOV to DRn stores them (fixed bits applied). */
uint64_t dr6_fixup(uint64_t v);
uint64_t dr7_fixup(uint64_t v);

/* Handlers (opcodes.def). */
#define SYS_N(h) void h(struct cpu *cpu, const struct insn *i);
#define SYS_V(h) SYS_N(h##_w) SYS_N(h##_d) SYS_N(h##_q)
#define SYS_Y(h) SYS_N(h##_d) SYS_N(h##_q)
SYS_N(mov_Rd_Cd) SYS_N(mov_Cd_Rd) SYS_N(mov_Rd_Dd) SYS_N(mov_Dd_Rd)
SYS_N(clts) SYS_N(lmsw_Ew) SYS_N(smsw_Ew) SYS_N(invlpg_Mb) SYS_N(invpcid)
SYS_N(hlt) SYS_N(cli) SYS_N(sti) SYS_N(cld) SYS_N(std) SYS_V(pushf) SYS_V(popf) SYS_N(cpuid)
SYS_N(syscall_insn) SYS_N(sysret) SYS_N(sysenter) SYS_N(sysexit) SYS_N(swapgs)
SYS_N(wbinvd) SYS_N(invd) SYS_N(clflush) SYS_N(clflushopt) SYS_N(clwb)
SYS_N(lfence) SYS_N(mfence) SYS_N(sfence) SYS_N(monitor) SYS_N(mwait) SYS_N(pause_insn)
SYS_N(stac) SYS_N(clac) SYS_N(rdpkru) SYS_N(wrpkru)
SYS_Y(rdfsbase_Ry) SYS_Y(rdgsbase_Ry) SYS_Y(wrfsbase_Ry) SYS_Y(wrgsbase_Ry)
SYS_N(xgetbv) SYS_N(xsetbv) SYS_N(ud2) SYS_N(rsm) SYS_N(nop_Ev) SYS_N(fwait)
#undef SYS_N
#undef SYS_V
#undef SYS_Y

#endif
