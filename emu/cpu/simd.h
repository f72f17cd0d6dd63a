/*
 * simd.h - shared helpers of the SSE/AVX handlers (sse*.c, avx*.c).
 *
 * Register operands are indices into cpu->vr (XMM = low 128 bits of YMM).
 * Legacy SSE instructions leave bits 255:128 of their destination alone;
 * VEX.128 forms zero them (SDM Vol. 1 14.1.2). Availability checks follow
 * SDM Vol. 3 13.x: SSE needs CR0.EM = 0 and CR4.OSFXSR = 1 (#UD), CR0.TS
 * = 0 (#NM); AVX needs CR4.OSXSAVE and XCR0 bits 1 and 2 (#UD), CR0.TS = 0
 * (#NM). SIMD floating-point exceptions are flagged in MXCSR and raise
 * #XM when unmasked and CR4.OSXMMEXCPT = 1, #UD otherwise.
 *
 * Implemented in simd.c (owned by the SSE engineer).
 */
#ifndef NESTEMU_SIMD_H
#define NESTEMU_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "insn.h"

#define MXCSR_IE (1u << 0)
#define MXCSR_DE (1u << 1)
#define MXCSR_ZE (1u << 2)
#define MXCSR_OE (1u << 3)
#define MXCSR_UE (1u << 4)
#define MXCSR_PE (1u << 5)
#define MXCSR_DAZ (1u << 6)
#define MXCSR_MASK_SHIFT 7	/* IM..PM in bits 12:7 */
#define MXCSR_RC_SHIFT 13	/* rounding control, bits 14:13 */
#define MXCSR_FTZ (1u << 15)

static inline union vreg *vreg(struct cpu *cpu, unsigned n)
{
	return &cpu->vr[n & 15];
}

/* Availability checks; they fault (cpu_fault) or return. */
void simd_check_sse(struct cpu *cpu);
void simd_check_mmx(struct cpu *cpu);
void simd_check_avx(struct cpu *cpu);

/*
 * The W operand (register or memory) of `bytes` bytes (4, 8, 16 or 32):
 * register forms copy the low bytes of the register; memory forms read
 * through mem_read_block. align: the aligned forms' #GP(0) on a memory
 * operand not aligned to `bytes` (16/32).
 */
void simd_read_rm(struct cpu *cpu, const struct insn *i, void *buf, unsigned bytes, bool align);
void simd_write_rm(struct cpu *cpu, const struct insn *i, const void *buf, unsigned bytes, bool align);

/* Records SIMD FP exception flags (MXCSR_IE...PE) raised by one
 * instruction: faults with #XM/#UD when any is unmasked (the destination
 * must not be written yet), else ORs them into MXCSR. */
void simd_fp_exceptions(struct cpu *cpu, unsigned flags);

#endif
