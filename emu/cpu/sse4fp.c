/*
 * sse4fp.c - scalar IEEE-754 operations with x86 MXCSR semantics for the
 * SSE3/SSE4.1 floating-point handlers (SDM Vol. 1 4.8, 11.5, 10.2.3).
 *
 * One operation at a time: NaN operands propagate as SSE does (the first
 * source's NaN if it is one, else the second's, quieted; an SNaN raises
 * IE), invalid operations (inf - inf, 0 * inf) give the default QNaN (the
 * negative "real indefinite"), DAZ turns denormal inputs into zeros of
 * the same sign and otherwise a denormal input raises DE (only when no
 * operand is a NaN: NaN handling precedes the denormal check), the
 * arithmetic runs on the host FPU in MXCSR's rounding mode, and FTZ turns
 * a tiny result into a zero of its sign with UE and PE when underflow is
 * masked. Host inexact/overflow/underflow flags become PE/OE/UE; with
 * underflow masked, UE needs a tiny and inexact result (as the host IEEE
 * default), with it unmasked any tiny result raises it.
 */
#include "sse4.h"

#include <fenv.h>

static const int host_rc[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };

static unsigned host_flags(void)
{
	unsigned f = 0;
	int x = fetestexcept(FE_INEXACT | FE_OVERFLOW | FE_UNDERFLOW);
	if (x & FE_INEXACT)
		f |= MXCSR_PE;
	if (x & FE_OVERFLOW)
		f |= MXCSR_OE;
	if (x & FE_UNDERFLOW)
		f |= MXCSR_UE;
	return f;
}

#define UM_MASKED(e) (((e)->mxcsr >> MXCSR_MASK_SHIFT) & MXCSR_UE)

/* The template: one body for binary32 and binary64. */
#define SSE4_FP_TEMPLATE(N, UT, FT, EXPM, QBIT, SIGN, DEFNAN)				\
static inline bool is_nan##N(UT a) { return (a & ~SIGN) > EXPM; }				\
static inline bool is_snan##N(UT a) { return is_nan##N(a) && !(a & QBIT); }			\
static inline bool is_inf##N(UT a) { return (a & ~SIGN) == EXPM; }				\
static inline bool is_zero##N(UT a) { return (a & ~SIGN) == 0; }				\
static inline bool is_denorm##N(UT a) { return !(a & EXPM) && (a & ~SIGN); }			\
static inline FT to_f##N(UT a) { FT f; memcpy(&f, &a, sizeof(f)); return f; }			\
static inline UT from_f##N(FT f) { UT a; memcpy(&a, &f, sizeof(a)); return a; }		\
												\
/* DAZ or DE for one input. */									\
static UT denorm_in##N(struct fpenv *e, UT a)							\
{												\
	if (!is_denorm##N(a))									\
		return a;									\
	if (e->mxcsr & MXCSR_DAZ)								\
		return a & SIGN;								\
	e->flags |= MXCSR_DE;									\
	return a;										\
}												\
												\
/* FTZ and unmasked-underflow tininess for one result; tiny: the host	\
 * saw an underflow (x86 detects tininess before rounding). */					\
static UT tiny_out##N(struct fpenv *e, UT r, bool tiny)					\
{												\
	if (!is_denorm##N(r) && !tiny)								\
		return r;									\
	if (!UM_MASKED(e)) {									\
		e->flags |= MXCSR_UE;								\
		return r;									\
	}											\
	if (e->mxcsr & MXCSR_FTZ) {								\
		e->flags |= MXCSR_UE | MXCSR_PE;						\
		return r & SIGN;								\
	}											\
	return r;										\
}												\
												\
UT sse4_fp##N(struct fpenv *e, enum fp_op op, UT a, UT b)					\
{												\
	if (is_nan##N(a) || is_nan##N(b)) {							\
		if (is_snan##N(a) || is_snan##N(b))						\
			e->flags |= MXCSR_IE;							\
		return (is_nan##N(a) ? a : b) | QBIT;						\
	}											\
	a = denorm_in##N(e, a);									\
	b = denorm_in##N(e, b);									\
	bool sa = a & SIGN, sb = b & SIGN;							\
	if ((op == FP_ADD && is_inf##N(a) && is_inf##N(b) && sa != sb) ||			\
	    (op == FP_SUB && is_inf##N(a) && is_inf##N(b) && sa == sb) ||			\
	    (op == FP_MUL && ((is_inf##N(a) && is_zero##N(b)) || (is_zero##N(a) && is_inf##N(b))))) { \
		e->flags |= MXCSR_IE;								\
		return DEFNAN;									\
	}											\
	int old = fegetround();									\
	fesetround(host_rc[(e->mxcsr >> MXCSR_RC_SHIFT) & 3]);					\
	feclearexcept(FE_ALL_EXCEPT);								\
	volatile FT x = to_f##N(a), y = to_f##N(b);						\
	volatile FT r = op == FP_ADD ? x + y : op == FP_SUB ? x - y : x * y;			\
	unsigned hf = host_flags();								\
	e->flags |= hf;										\
	fesetround(old);									\
	return tiny_out##N(e, from_f##N(r), hf & MXCSR_UE);					\
}												\
												\
/* Round to an integral value in the bit domain (no host FPU). */		\
UT sse4_round##N(struct fpenv *e, UT a, unsigned imm)						\
{												\
	if (is_nan##N(a)) {									\
		if (is_snan##N(a))								\
			e->flags |= MXCSR_IE;							\
		return a | QBIT;								\
	}											\
	if (is_denorm##N(a) && (e->mxcsr & MXCSR_DAZ))						\
		a &= SIGN;									\
	unsigned rc = (imm & 4) ? (e->mxcsr >> MXCSR_RC_SHIFT) & 3 : imm & 3;			\
	const unsigned mbits = N == 32 ? 23 : 52, bias = N == 32 ? 127 : 1023;			\
	bool neg = a & SIGN;									\
	int ex = (int)((a & ~SIGN) >> mbits) - (int)bias;					\
	if (is_zero##N(a) || ex >= (int)mbits)							\
		return a;	/* integral already (or infinite) */				\
	UT r;											\
	if (ex < 0) {										\
		/* |a| < 1: the result is 0 or 1 in magnitude */				\
		UT one = (UT)bias << mbits, half = (UT)(bias - 1) << mbits;			\
		bool up = rc == 0 ? (a & ~SIGN) > half : rc == 1 ? neg : rc == 2 ? !neg : false; \
		r = (a & SIGN) | (up ? one : 0);						\
	} else {										\
		unsigned fb = mbits - (unsigned)ex;						\
		UT mask = ((UT)1 << fb) - 1, f = a & mask, h = (UT)1 << (fb - 1);		\
		if (!f)										\
			return a;								\
		bool up = rc == 0 ? (f > h || (f == h && (a >> fb & 1))) :			\
			  rc == 1 ? neg : rc == 2 ? !neg : false;				\
		r = (a & ~mask) + (up ? (UT)1 << fb : 0);					\
	}											\
	if (!(imm & 8))										\
		e->flags |= MXCSR_PE;								\
	return r;										\
}

SSE4_FP_TEMPLATE(32, uint32_t, float, 0x7f800000u, 0x00400000u, 0x80000000u, 0xffc00000u)
SSE4_FP_TEMPLATE(64, uint64_t, double, 0x7ff0000000000000ull, 0x0008000000000000ull,
		 0x8000000000000000ull, 0xfff8000000000000ull)
