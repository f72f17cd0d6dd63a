/*
 * sse4.h - what the SSE3/SSSE3/SSE4.1/SSE4.2/AES-NI/PCLMULQDQ handlers
 * share (sse3.c, ssse3.c, sse41.c, sse42.c, aes.c, pclmul.c): their
 * prototypes (generated from op_sse4.def) and operand access for the
 * legacy XMM and MMX forms.
 *
 * Operand rules (SDM Vol. 1 11.6.7, Vol. 2 ch. 3-5 per instruction):
 * legacy 128-bit memory operands must be 16-byte aligned (#GP(0)) unless
 * the instruction says otherwise (LDDQU, MOVDDUP, PCMPxSTRx, the PMOVSX/ZX
 * and scalar forms read less than 16 bytes and need no alignment). Legacy
 * forms leave bits 255:128 of the destination alone. MMX forms ignore
 * REX.R/REX.B in the register numbers; any MMX instruction sets the x87
 * TOP to 0 and tags every register valid (SDM Vol. 1 9.5.1), and a write
 * to an MMX register sets that register's exponent field to all ones.
 *
 * Floating point uses the shared MXCSR primitives of simd.h (sfp_add32,
 * sfp_round64, ...: rounding control, DAZ/FTZ, x86 NaN rules, exception
 * flags accumulated in a struct sfp); handlers compute every element into
 * a temporary, call simd_fp_exceptions() (which faults with #XM/#UD on an
 * unmasked flag) and only then write the destination.
 */
#ifndef NESTEMU_SSE4_H
#define NESTEMU_SSE4_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "interp.h"
#include "simd.h"

#define SSE4_PROTO1(h) void h(struct cpu *cpu, const struct insn *i);
#define SSE4_PROTO_N(h) SSE4_PROTO1(h)
#define SSE4_PROTO_Y(h) SSE4_PROTO1(h##_d) SSE4_PROTO1(h##_q)
#define OP(map, opc, pfx, ext, mn, ops, h, sz, fl, feat) SSE4_PROTO_##sz(h)
#include "op_sse4.def"
#undef OP

/* A 128-bit value. */
union x128 {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
};

/* The XMM register n (low 128 bits of YMM n). */
static inline union x128 *sse4_xmm(struct cpu *cpu, unsigned n)
{
	return (union x128 *)(void *)vreg(cpu, n);
}

/* The W operand: `bytes` bytes of register or memory, zero-padded to 16. */
static inline union x128 sse4_src(struct cpu *cpu, const struct insn *i, unsigned bytes, bool align)
{
	union x128 v = { .q = { 0, 0 } };
	simd_read_rm(cpu, i, &v, bytes, align);
	return v;
}

#endif
