/*
 * msr.h - model-specific registers, the time-stamp counter and the
 * RDMSR/WRMSR/RDTSC/RDTSCP/RDPID/RDPMC/RDRAND/RDSEED instructions.
 *
 * msr_read()/msr_write() are the architectural MSR model used by the
 * instructions, by VM entry/exit MSR-load lists and by the monitor: they
 * return 0, or -1 when the access raises #GP(0) (unknown MSR, reserved
 * bits, invalid values, read-only or write-only MSRs). They never fault
 * themselves and may be called outside the dispatch loop.
 *
 * MSRs owned by other modules go through weak hooks, so the CPU links
 * without them: the x2APIC range 0x800-0x8ff and IA32_TSC_DEADLINE
 * (lapic_msr_*), the VMX capability MSRs 0x480-0x492 (vmx_msr_*) and the
 * SVM MSRs (svm_msr_*; VM_CR and VM_HSAVE_PA have a plain fallback here).
 * A hook returns 0 (done), -1 (#GP) or 1 (not mine: continue here).
 */
#ifndef NESTEMU_MSR_H
#define NESTEMU_MSR_H

#include <stdint.h>

#include "cpu.h"
#include "insn.h"

/* MSR indices. */
#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_APIC_BASE 0x1b
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_TSC_ADJUST 0x3b
#define MSR_SPEC_CTRL 0x48
#define MSR_PRED_CMD 0x49
#define MSR_BIOS_UPDT_TRIG 0x79
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_PLATFORM_INFO 0xce
#define MSR_MTRRCAP 0xfe
#define MSR_ARCH_CAPABILITIES 0x10a
#define MSR_FLUSH_CMD 0x10b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MISC_ENABLE 0x1a0
#define MSR_DEBUGCTL 0x1d9
#define MSR_MTRR_PHYSBASE0 0x200
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268
#define MSR_MTRR_FIX4K_F8000 0x26f
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_MC0_CTL 0x400
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_XSS 0xda0
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103
#define MSR_AMD_HWCR 0xc0010015
#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117

/* Bits. */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define FEATURE_CONTROL_LOCKED (1ull << 0)
#define FEATURE_CONTROL_VMX_SMX (1ull << 1)
#define FEATURE_CONTROL_VMX (1ull << 2)
#define MISC_ENABLE_FAST_STRINGS (1ull << 0)
#define MISC_ENABLE_MONITOR (1ull << 18)
#define MISC_ENABLE_LIMIT_CPUID (1ull << 22)
#define MISC_ENABLE_XD_DISABLE (1ull << 34)

/* Machine-check banks the model has (IA32_MCG_CAP.Count). */
#define MSR_MC_BANKS 4

/* The value IA32_ARCH_CAPABILITIES reports: RDCL_NO, SKIP_L1DFL_VMENTRY,
 * SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO (nothing to mitigate here). */
#define ARCH_CAPS_VALUE 0x179ull

/* Microcode revision reported in IA32_BIOS_SIGN_ID[63:32]. */
#define UCODE_REV 0x2006e05ull

/*
 * TSC ticks per retired instruction. The TSC is a deterministic function
 * of the vCPU's retired-instruction count: icount * MSR_TSC_PER_INSN +
 * msr.tsc_offset. (It does not advance while the vCPU is halted unless
 * the run loop advances icount.)
 */
#define MSR_TSC_PER_INSN 1ull
/* On a machine with a clock the TSC follows guest time instead, at this
 * nominal rate (1 tick per ns; the LAPIC's TSC-deadline mode uses it). */
#define MSR_TSC_HZ 1000000000ull

/* 0 on success, -1 for #GP(0). */
int msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val) __attribute__((warn_unused_result));
int msr_write(struct cpu *cpu, uint32_t idx, uint64_t val) __attribute__((warn_unused_result));

/* The TSC as RDTSC reads it (before any VMX/SVM offsetting). */
uint64_t cpu_rdtsc(struct cpu *cpu);
/* Sets the TSC (as WRMSR IA32_TSC does, without touching TSC_ADJUST). */
void cpu_set_tsc(struct cpu *cpu, uint64_t tsc);

/* The next RDRAND/RDSEED value (per-vCPU deterministic xorshift). */
uint64_t cpu_random(struct cpu *cpu);

/* Hooks other modules may define (see the top of this file). */
int lapic_msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val) __attribute__((weak));
int lapic_msr_write(struct cpu *cpu, uint32_t idx, uint64_t val) __attribute__((weak));
/* IA32_APIC_BASE was written (relocation, enable, x2APIC switch); old is the previous value. */
void lapic_base_written(struct cpu *cpu, uint64_t old) __attribute__((weak));
int vmx_msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val) __attribute__((weak));
int vmx_msr_write(struct cpu *cpu, uint32_t idx, uint64_t val) __attribute__((weak));
int svm_msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val) __attribute__((weak));
int svm_msr_write(struct cpu *cpu, uint32_t idx, uint64_t val) __attribute__((weak));

/* Handlers (opcodes.def). */
void rdmsr(struct cpu *cpu, const struct insn *i);
void wrmsr(struct cpu *cpu, const struct insn *i);
void rdtsc(struct cpu *cpu, const struct insn *i);
void rdtscp(struct cpu *cpu, const struct insn *i);
void rdpid(struct cpu *cpu, const struct insn *i);
void rdpmc(struct cpu *cpu, const struct insn *i);
void rdrand_Rv_w(struct cpu *cpu, const struct insn *i);
void rdrand_Rv_d(struct cpu *cpu, const struct insn *i);
void rdrand_Rv_q(struct cpu *cpu, const struct insn *i);
void rdseed_Rv_w(struct cpu *cpu, const struct insn *i);
void rdseed_Rv_d(struct cpu *cpu, const struct insn *i);
void rdseed_Rv_q(struct cpu *cpu, const struct insn *i);

#endif
