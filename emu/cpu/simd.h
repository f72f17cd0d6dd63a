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

/*
 * Scalar floating point with MXCSR semantics (simd.c). A struct sfp
 * carries the MXCSR of the instruction (rounding, DAZ, FTZ, masks) and
 * accumulates the exception flags of all its elements; the handler then
 * calls simd_fp_exceptions(cpu, f.flags) BEFORE writing the destination.
 * Values are passed as bit patterns (uint32_t single, uint64_t double).
 * Rules: DAZ reads denormal inputs as zeros; DE on denormal inputs;
 * NaN results take the first source NaN, quieted (IE on an SNaN);
 * invalid operations give the default NaN 0xFFC00000 /
 * 0xFFF8000000000000; tininess after rounding; FTZ flushes tiny results
 * when UE is masked.
 */
struct sfp {
	uint32_t mxcsr;		/* the control bits used */
	unsigned flags;		/* MXCSR_IE..PE raised so far */
};

static inline struct sfp sfp_of(const struct cpu *cpu)
{
	return (struct sfp){ .mxcsr = cpu->mxcsr, .flags = 0 };
}

/* Relations returned by sfp_rel*: bit index into a predicate truth mask. */
enum { SFP_LT, SFP_EQ, SFP_GT, SFP_UN };

/* CMPPS/VCMPPS predicates 0..31 (imm8 bits 4:0; SSE uses 0..7). */
static inline unsigned sfp_pred_truth(unsigned pred)
{
	static const uint8_t truth[16] = {
		0x2, 0x1, 0x3, 0x8, 0xd, 0xe, 0xc, 0x7,
		0xa, 0x9, 0xb, 0x0, 0x5, 0x6, 0x4, 0xf,
	};
	return truth[pred & 15];
}
static inline bool sfp_pred_signaling(unsigned pred)
{
	/* LT, LE, NLT, NLE, NGE, NGT, GE, GT signal on QNaN; bit 4 flips. */
	return ((0x6666u >> (pred & 15)) & 1) ^ ((pred >> 4) & 1);
}

#define SFP_DECL(W, UT)								\
	UT sfp_add##W(struct sfp *f, UT a, UT b);				\
	UT sfp_sub##W(struct sfp *f, UT a, UT b);				\
	UT sfp_mul##W(struct sfp *f, UT a, UT b);				\
	UT sfp_div##W(struct sfp *f, UT a, UT b);				\
	UT sfp_min##W(struct sfp *f, UT a, UT b);				\
	UT sfp_max##W(struct sfp *f, UT a, UT b);				\
	UT sfp_sqrt##W(struct sfp *f, UT a);					\
	UT sfp_fma##W(struct sfp *f, UT a, UT b, UT c);				\
	unsigned sfp_rel##W(struct sfp *f, UT a, UT b, bool signaling);		\
	bool sfp_cmp##W(struct sfp *f, UT a, UT b, unsigned pred);		\
	int64_t sfp_toint##W(struct sfp *f, UT a, unsigned bits, bool trunc_);	\
	UT sfp_fromint##W(struct sfp *f, int64_t v);				\
	UT sfp_round##W(struct sfp *f, UT a, unsigned imm);
SFP_DECL(32, uint32_t)
SFP_DECL(64, uint64_t)
#undef SFP_DECL

/* Format conversions (CVTSS2SD / CVTSD2SS and the packed forms). */
uint64_t sfp_cvt32to64(struct sfp *f, uint32_t a);
uint32_t sfp_cvt64to32(struct sfp *f, uint64_t a);
/* RCPSS / RSQRTSS approximations (relative error <= 1.5 * 2^-12; no
 * flags; denormal inputs and tiny results are zeros). */
uint32_t sfp_rcp32(uint32_t a);
uint32_t sfp_rsqrt32(uint32_t a);

/* COMISS/UCOMISS-style EFLAGS (ZF, PF, CF; OF/SF/AF cleared) from a
 * relation. */
static inline uint64_t sfp_rel_eflags(unsigned rel)
{
	switch (rel) {
	case SFP_UN: return FL_ZF | FL_PF | FL_CF;
	case SFP_LT: return FL_CF;
	case SFP_EQ: return FL_ZF;
	default: return 0;
	}
}

#endif
