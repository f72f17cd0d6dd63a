/*
 * sse.h - what the MMX/SSE/SSE2 handlers share (mmx.c, sse.c, sse_fp.c,
 * sse_int.c): their prototypes (generated from op_sse.def), operand
 * access for the XMM and MMX forms, and the integer kernels, which the
 * VEX forms (avx*.c) may reuse for 128/256-bit operands.
 *
 * Operand rules (SDM Vol. 1 11.6.7, 9.5): legacy 128-bit memory operands
 * must be 16-byte aligned (#GP(0)) except for the U forms (MOVUPS,
 * MOVUPD, MOVDQU) and operands narrower than 16 bytes. Legacy forms leave
 * bits 255:128 of the destination alone. MMX forms ignore REX.R/REX.B;
 * every MMX instruction but EMMS sets the x87 TOP to 0 and tags all
 * registers valid, EMMS tags them all empty; a write to an MMX register
 * sets its exponent/sign field to all ones (SDM Vol. 1 9.5.1).
 */
#ifndef NESTEMU_SSE_H
#define NESTEMU_SSE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "interp.h"
#include "simd.h"

#define SSE_PROTO_N(h) void h(struct cpu *cpu, const struct insn *i);
#define OP(map, opc, pfx, ext, mn, ops, h, sz, fl, feat) SSE_PROTO_##sz(h)
#include "op_sse.def"
#undef OP

/* ---- MMX ---------------------------------------------------------------- */

/* The MMX state transition of every MMX instruction but EMMS. */
static inline void mmx_enter(struct cpu *cpu)
{
	cpu->fpu.fsw &= (uint16_t)~(7u << 11);	/* TOP = 0 */
	cpu->fpu.ftw = 0;			/* all valid */
}

static inline uint64_t mmx_get(struct cpu *cpu, unsigned n)
{
	return cpu->fpu.st[n & 7].mant;
}

/* Writes MMX register n (and performs the MMX state transition). */
static inline void mmx_put(struct cpu *cpu, unsigned n, uint64_t v)
{
	cpu->fpu.st[n & 7].mant = v;
	cpu->fpu.st[n & 7].sexp = 0xffff;
	mmx_enter(cpu);
}

/* The Q operand: MMX register or `bytes` (4 or 8) bytes of memory. */
static inline uint64_t mmx_src(struct cpu *cpu, const struct insn *i, unsigned bytes)
{
	if (i->mod == 3)
		return mmx_get(cpu, i->rm);
	return mem_read(cpu, i->seg, insn_ea(cpu, i), bytes);
}

/* ---- XMM ---------------------------------------------------------------- */

/* The W operand: `bytes` bytes of register or memory, zero-padded. */
static inline union vreg sse_src(struct cpu *cpu, const struct insn *i, unsigned bytes, bool align)
{
	union vreg v;
	memset(&v, 0, sizeof v);
	simd_read_rm(cpu, i, &v, bytes, align);
	return v;
}

/* Writes the low 16 bytes of XMM n (legacy: bits 255:128 kept). */
static inline void sse_put(struct cpu *cpu, unsigned n, const union vreg *v)
{
	memcpy(vreg(cpu, n), v, 16);
}

/* ---- integer kernels (sse_int.c) ---------------------------------------- */

/* d = a op b over n bytes (8: MMX, 16: XMM, 32: YMM; lane-wise ops work
 * per 128-bit lane). d may alias a or b. */
typedef void sse_kernel(union vreg *d, const union vreg *a, const union vreg *b, unsigned n);
#define SSE_KERNELS(X) \
	X(punpcklbw) X(punpcklwd) X(punpckldq) X(punpcklqdq) \
	X(punpckhbw) X(punpckhwd) X(punpckhdq) X(punpckhqdq) \
	X(packsswb) X(packssdw) X(packuswb) \
	X(pcmpgtb) X(pcmpgtw) X(pcmpgtd) X(pcmpeqb) X(pcmpeqw) X(pcmpeqd) \
	X(paddb) X(paddw) X(paddd) X(paddq) X(psubb) X(psubw) X(psubd) X(psubq) \
	X(paddsb) X(paddsw) X(paddusb) X(paddusw) X(psubsb) X(psubsw) X(psubusb) X(psubusw) \
	X(pmullw) X(pmulhw) X(pmulhuw) X(pmuludq) X(pmaddwd) X(psadbw) \
	X(pavgb) X(pavgw) X(pminub) X(pmaxub) X(pminsw) X(pmaxsw) \
	X(pand) X(pandn) X(por) X(pxor) \
	X(psrlw) X(psrld) X(psrlq) X(psraw) X(psrad) X(psllw) X(pslld) X(psllq)
#define SSE_KDECL(name) sse_kernel sse_k_##name;
SSE_KERNELS(SSE_KDECL)
#undef SSE_KDECL
/* The shift kernels take the count from b->q[0] (use sse_shift_count). */

#endif
