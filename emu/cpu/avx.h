/*
 * avx.h - what the VEX-encoded handlers share (avx.c, avx2.c, fma.c,
 * f16c.c): the availability check, the generic operand engine and the
 * IEEE element helpers with x86 semantics.
 *
 * The operand engine (avx_op) implements the VEX rules once (SDM Vol. 1
 * 14.1.2, Vol. 2 2.3): #UD unless CR4.OSXSAVE = 1 and XCR0[2:1] = 11b,
 * #UD in real and virtual-8086 mode, #NM when CR0.TS = 1, #UD when an
 * unused VEX.vvvv is not 1111b; sources are VEX.vvvv (a) and ModRM.rm
 * (b, register or memory of a size the handler names), the destination
 * is ModRM.reg and a VEX.128 (or scalar, L-ignored) result zeroes bits
 * 255:128. Memory needs no alignment except where a handler asks
 * (AX_ALIGN: VMOVAPS/PD, VMOVDQA, VMOVNT*). Every fault happens before
 * the destination is written.
 *
 * Floating point follows MXCSR exactly: rounding control (applied to the
 * host FPU for the duration of the instruction), DAZ on inputs, FTZ on
 * tiny results, NaN propagation and default NaN as the SDM's tables 4-7
 * and 11-?? say, and exception flags: unmasked ones raise #XM (or #UD
 * when CR4.OSXMMEXCPT = 0) without writing the destination.
 */
#ifndef NESTEMU_AVX_H
#define NESTEMU_AVX_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "insn.h"

#define MX_IE (1u << 0)
#define MX_DE (1u << 1)
#define MX_ZE (1u << 2)
#define MX_OE (1u << 3)
#define MX_UE (1u << 4)
#define MX_PE (1u << 5)
#define MX_DAZ (1u << 6)
#define MX_FTZ (1u << 15)

/* avx_op flags. */
#define AX_NOV (1u << 0)	/* VEX.vvvv unused: must be 1111b */
#define AX_ALIGN (1u << 1)	/* memory operand must be aligned to its size */
#define AX_LIG (1u << 2)	/* scalar: VEX.L ignored, 128-bit result */
#define AX_FP (1u << 3)		/* MXCSR rounding and exceptions apply */
#define AX_L128 (1u << 4)	/* 128-bit only whatever L says */
#define AX_NODST (1u << 5)	/* no vector destination written (flags, GPR, memory) */
#define AX_M(code) ((code) << 8)	/* memory operand size, AM_* */
enum { AM_FULL, AM_HALF, AM_QUARTER, AM_EIGHTH, AM_2, AM_4, AM_8, AM_16, AM_1 };

/*
 * An element operation: d holds the old destination on entry (FMA reads
 * it), a = VEX.vvvv register, b = ModRM.rm operand (memory zero-padded),
 * n = vector bytes (16 or 32). Returns the SIMD FP exception flags (MX_*)
 * the instruction raised.
 */
typedef unsigned (*avx_fn)(struct cpu *cpu, const struct insn *i, union vreg *d,
			   const union vreg *a, const union vreg *b, unsigned n);

/* The VEX availability check (and #UD in real/v86 mode). */
void avx_check(struct cpu *cpu);
/* Vector length in bytes: 32 with VEX.L = 1, else 16. */
static inline unsigned avx_len(const struct insn *i)
{
	return (i->flags & INSN_VEXL) ? 32 : 16;
}
/* #UD unless VEX.L = 1 (the 256-bit-only forms). */
void avx_need_l1(struct cpu *cpu, const struct insn *i);
/* Runs an element operation through the operand engine. */
void avx_op(struct cpu *cpu, const struct insn *i, avx_fn fn, unsigned flags);
/* Writes v to YMM register r, zeroing bytes n..31. */
void avx_set(struct cpu *cpu, unsigned r, const union vreg *v, unsigned n);
/* Reads the rm operand (bytes of it; register or memory, zero-padded). */
void avx_read_rm(struct cpu *cpu, const struct insn *i, union vreg *v, unsigned bytes, bool align);
/* Writes bytes of v to the rm operand (memory only here, or a register,
 * zeroing its bits above bytes... for a register the caller decides). */
void avx_write_mem(struct cpu *cpu, const struct insn *i, const void *v, unsigned bytes, bool align);
/* Checks and commits SIMD FP exception flags (faults when unmasked). */
void avx_fp_commit(struct cpu *cpu, unsigned exc);
/* Host rounding mode from an RC value (0..3); returns the previous one. */
int avx_round_begin(unsigned rc);
void avx_round_end(int old);

/*
 * IEEE helpers with x86 semantics on raw bits; exc accumulates MX_* flags.
 * op: one of the AF_* operations.
 */
enum { AF_ADD, AF_SUB, AF_MUL, AF_DIV, AF_MIN, AF_MAX, AF_SQRT };
uint32_t avx_f32_op(struct cpu *cpu, unsigned op, uint32_t a, uint32_t b, unsigned *exc);
uint64_t avx_f64_op(struct cpu *cpu, unsigned op, uint64_t a, uint64_t b, unsigned *exc);
/* Fused multiply-add a*b+c with one rounding; neg_mul negates a*b,
 * neg_c negates c. */
uint32_t avx_f32_fma(struct cpu *cpu, uint32_t a, uint32_t b, uint32_t c, bool neg_mul, bool neg_c,
		     unsigned *exc);
uint64_t avx_f64_fma(struct cpu *cpu, uint64_t a, uint64_t b, uint64_t c, bool neg_mul, bool neg_c,
		     unsigned *exc);
/* Compare predicate imm (0..31) on two values: all-ones or zero. */
bool avx_f32_cmp(struct cpu *cpu, unsigned pred, uint32_t a, uint32_t b, unsigned *exc);
bool avx_f64_cmp(struct cpu *cpu, unsigned pred, uint64_t a, uint64_t b, unsigned *exc);
/* Input processing: DAZ and the denormal flag. */
uint32_t avx_f32_in(struct cpu *cpu, uint32_t a, unsigned *exc);
uint64_t avx_f64_in(struct cpu *cpu, uint64_t a, unsigned *exc);
/* Output processing of a host result with its fenv flags (FTZ etc.). */
uint32_t avx_f32_out(struct cpu *cpu, uint32_t r, int fe, unsigned *exc);
uint64_t avx_f64_out(struct cpu *cpu, uint64_t r, int fe, unsigned *exc);

static inline bool f32_isnan(uint32_t a) { return (a & 0x7fffffffu) > 0x7f800000u; }
static inline bool f64_isnan(uint64_t a) { return (a & ~(1ull << 63)) > 0x7ff0000000000000ull; }
static inline bool f32_issnan(uint32_t a) { return f32_isnan(a) && !(a & 0x00400000u); }
static inline bool f64_issnan(uint64_t a) { return f64_isnan(a) && !(a & (1ull << 51)); }

#endif
