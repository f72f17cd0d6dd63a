/*
 * simd_fp_tmpl.h - the MXCSR floating-point primitives for one format,
 * included by simd.c once per width with:
 *   FT  host type (float/double)      UT  bit type (uint32_t/uint64_t)
 *   W   width suffix (32/64)          MB  fraction bits (23/52)
 *   EB  exponent bits (8/11)
 * See simd.c for the contract (x86 NaN, DAZ/FTZ, flag rules).
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(CAT(sfp_, name), W)
#define L(name) CAT(CAT(name, _), W)

#define SIGN ((UT)1 << (MB + EB))
#define EXPM ((((UT)1 << EB) - 1) << MB)
#define MANM (((UT)1 << MB) - 1)
#define QBIT ((UT)1 << (MB - 1))
#define DEFNAN (SIGN | EXPM | QBIT)
#define IBITS (sizeof(UT) * 8)

static inline bool L(isnan)(UT u) { return (u & ~SIGN) > EXPM; }
static inline bool L(issnan)(UT u) { return L(isnan)(u) && !(u & QBIT); }
static inline bool L(isdenorm)(UT u) { return !(u & EXPM) && (u & MANM); }
static inline bool L(iszero)(UT u) { return !(u & ~SIGN); }
static inline FT L(tof)(UT u) { FT x; memcpy(&x, &u, sizeof x); return x; }
static inline UT L(tou)(FT x) { UT u; memcpy(&u, &x, sizeof u); return u; }

/* DAZ: a denormal input reads as a zero of its sign, without DE. */
static inline UT L(daz)(const struct sfp *f, UT u)
{
	if ((f->mxcsr & MXCSR_DAZ) && L(isdenorm)(u))
		return u & SIGN;
	return u;
}

/* Ordering of two non-NaN values: <0, 0, >0 (+0 == -0). */
static inline int L(order)(UT a, UT b)
{
	if (L(iszero)(a) && L(iszero)(b))
		return 0;
	int64_t ka = (a & SIGN) ? -(int64_t)(a & ~SIGN) : (int64_t)(a & ~SIGN);
	int64_t kb = (b & SIGN) ? -(int64_t)(b & ~SIGN) : (int64_t)(b & ~SIGN);
	return ka < kb ? -1 : ka > kb;
}

/*
 * The result of a host operation, with the host's flags hf (MXCSR_*
 * layout): an invalid operation gives the x86 default NaN; tininess is
 * reported as x86 does (after rounding, SDM Vol. 1 4.9.1.5): with UE
 * masked only when also inexact, unmasked even when exact; FTZ flushes a
 * tiny result to a signed zero (UE and PE set) when UE is masked.
 */
static UT L(post)(struct sfp *f, UT r, unsigned hf)
{
	if (hf & MXCSR_IE) {
		f->flags |= MXCSR_IE;
		return DEFNAN;
	}
	f->flags |= hf & (MXCSR_ZE | MXCSR_OE | MXCSR_PE);
	bool tiny = (hf & MXCSR_UE) || L(isdenorm)(r);
	if (tiny) {
		if (!(f->mxcsr & (MXCSR_UE << MXCSR_MASK_SHIFT)))
			f->flags |= MXCSR_UE;
		else if (f->mxcsr & MXCSR_FTZ) {
			f->flags |= MXCSR_UE | MXCSR_PE;
			r &= SIGN;
		} else
			f->flags |= hf & MXCSR_UE;
	}
	return r;
}

/* NaN operands of an arithmetic operation (SDM Vol. 1 table 4-7, SSE
 * column): IE on any SNaN; the first source if it is a NaN, else the
 * second, quieted. Returns true with *r set when there was a NaN. */
static inline bool L(nan2)(struct sfp *f, UT a, UT b, UT *r)
{
	if (!L(isnan)(a) && !L(isnan)(b))
		return false;
	if (L(issnan)(a) || L(issnan)(b))
		f->flags |= MXCSR_IE;
	*r = (L(isnan)(a) ? a : b) | QBIT;
	return true;
}

enum { L(OP_ADD), L(OP_SUB), L(OP_MUL), L(OP_DIV) };

static UT L(arith)(struct sfp *f, UT a, UT b, int op)
{
	UT r;
	a = L(daz)(f, a);
	b = L(daz)(f, b);
	if (L(nan2)(f, a, b, &r))
		return r;
	/* x / 0 reports ZE alone, even for a denormal dividend. */
	if ((L(isdenorm)(a) || L(isdenorm)(b)) && !(op == L(OP_DIV) && L(iszero)(b)))
		f->flags |= MXCSR_DE;
	volatile FT va = L(tof)(a), vb = L(tof)(b), vr;
	uint32_t h = host_fp_begin(f->mxcsr);
	switch (op) {
	case L(OP_ADD): vr = va + vb; break;
	case L(OP_SUB): vr = va - vb; break;
	case L(OP_MUL): vr = va * vb; break;
	default: vr = va / vb; break;
	}
	unsigned hf = host_fp_end(h);
	return L(post)(f, L(tou)(vr), hf);
}

UT F(add)(struct sfp *f, UT a, UT b) { return L(arith)(f, a, b, L(OP_ADD)); }
UT F(sub)(struct sfp *f, UT a, UT b) { return L(arith)(f, a, b, L(OP_SUB)); }
UT F(mul)(struct sfp *f, UT a, UT b) { return L(arith)(f, a, b, L(OP_MUL)); }
UT F(div)(struct sfp *f, UT a, UT b) { return L(arith)(f, a, b, L(OP_DIV)); }

UT F(sqrt)(struct sfp *f, UT a)
{
	a = L(daz)(f, a);
	if (L(isnan)(a)) {
		if (L(issnan)(a))
			f->flags |= MXCSR_IE;
		return a | QBIT;
	}
	if ((a & SIGN) && !L(iszero)(a)) {
		f->flags |= MXCSR_IE;	/* invalid, even for a denormal (no DE) */
		return DEFNAN;
	}
	if (L(isdenorm)(a))
		f->flags |= MXCSR_DE;
	volatile FT va = L(tof)(a), vr;
	uint32_t h = host_fp_begin(f->mxcsr);
	vr = sizeof(FT) == 4 ? sqrtf(va) : sqrt(va);
	unsigned hf = host_fp_end(h);
	return L(post)(f, L(tou)(vr), hf);
}

/* a*b + c with one rounding (the FMA family; the caller arranges the
 * operand order and negations). NaN: the first NaN of a, b, c. */
UT F(fma)(struct sfp *f, UT a, UT b, UT c)
{
	a = L(daz)(f, a);
	b = L(daz)(f, b);
	c = L(daz)(f, c);
	if (L(isnan)(a) || L(isnan)(b) || L(isnan)(c)) {
		if (L(issnan)(a) || L(issnan)(b) || L(issnan)(c))
			f->flags |= MXCSR_IE;
		/* inf * 0 + QNaN is invalid too (SDM VFMADD "Invalid"). */
		if (((L(iszero)(a) && (b & ~SIGN) == EXPM) || (L(iszero)(b) && (a & ~SIGN) == EXPM)))
			f->flags |= MXCSR_IE;
		return (L(isnan)(a) ? a : L(isnan)(b) ? b : c) | QBIT;
	}
	if (L(isdenorm)(a) || L(isdenorm)(b) || L(isdenorm)(c))
		f->flags |= MXCSR_DE;
	volatile FT va = L(tof)(a), vb = L(tof)(b), vc = L(tof)(c), vr;
	uint32_t h = host_fp_begin(f->mxcsr);
	vr = sizeof(FT) == 4 ? fmaf(va, vb, vc) : fma(va, vb, vc);
	unsigned hf = host_fp_end(h);
	return L(post)(f, L(tou)(vr), hf);
}

/* MIN/MAX (SDM MINPS): the second operand when either is a NaN (IE even
 * for a QNaN) or both are zeros; DE on denormal operands. */
static UT L(minmax)(struct sfp *f, UT a, UT b, bool max)
{
	a = L(daz)(f, a);
	b = L(daz)(f, b);
	if (L(isnan)(a) || L(isnan)(b)) {
		f->flags |= MXCSR_IE;
		return b;
	}
	if (L(isdenorm)(a) || L(isdenorm)(b))
		f->flags |= MXCSR_DE;
	int o = L(order)(a, b);
	if (max)
		return o > 0 ? a : b;
	return o < 0 ? a : b;
}
UT F(min)(struct sfp *f, UT a, UT b) { return L(minmax)(f, a, b, false); }
UT F(max)(struct sfp *f, UT a, UT b) { return L(minmax)(f, a, b, true); }

/* Relation of a and b: SFP_LT/EQ/GT/UN. IE for an SNaN, or for a QNaN
 * when `signaling`; DE on denormal operands. */
unsigned F(rel)(struct sfp *f, UT a, UT b, bool signaling)
{
	a = L(daz)(f, a);
	b = L(daz)(f, b);
	if (L(isnan)(a) || L(isnan)(b)) {
		if (signaling || L(issnan)(a) || L(issnan)(b))
			f->flags |= MXCSR_IE;
		return SFP_UN;
	}
	if (L(isdenorm)(a) || L(isdenorm)(b))
		f->flags |= MXCSR_DE;
	int o = L(order)(a, b);
	return o < 0 ? SFP_LT : o > 0 ? SFP_GT : SFP_EQ;
}

bool F(cmp)(struct sfp *f, UT a, UT b, unsigned pred)
{
	unsigned rel = F(rel)(f, a, b, sfp_pred_signaling(pred));
	return (sfp_pred_truth(pred) >> rel) & 1;
}

/*
 * To integer (CVT*2SI, CVT*2DQ, CVT*2PI): rounded by MXCSR.RC, or
 * truncated; NaN and out-of-range give the integer indefinite (the most
 * negative value) with IE. Computed exactly in the host format: trunc()
 * and x - trunc(x) are exact for every finite x.
 */
int64_t F(toint)(struct sfp *f, UT a, unsigned bits, bool trunc_)
{
	a = L(daz)(f, a);
	int64_t indef = (int64_t)((uint64_t)-1 << (bits - 1));
	if (L(isnan)(a)) {
		f->flags |= MXCSR_IE;
		return indef;
	}
	FT x = L(tof)(a);
	FT t = sizeof(FT) == 4 ? truncf(x) : trunc(x);
	FT frac = x - t;
	unsigned rc = trunc_ ? 3 : (f->mxcsr >> MXCSR_RC_SHIFT) & 3;
	FT sgn = x < 0 ? -1 : 1;
	switch (rc) {
	case 0:
		if (frac * sgn > (FT)0.5 || (frac * sgn == (FT)0.5 && fmod(t, 2) != 0))
			t += sgn;
		break;
	case 1: if (frac < 0) t -= 1; break;
	case 2: if (frac > 0) t += 1; break;
	default: break;
	}
	FT lim = sizeof(FT) == 4 ? ldexpf(1, bits - 1) : ldexp(1, bits - 1);
	if (!(t >= -lim && t < lim)) {
		f->flags |= MXCSR_IE;
		return indef;
	}
	if (frac != 0)
		f->flags |= MXCSR_PE;
	return (int64_t)t;
}

/* From a signed integer, rounded by MXCSR.RC (PE when inexact). */
UT F(fromint)(struct sfp *f, int64_t v)
{
	volatile int64_t vv = v;
	volatile FT vr;
	uint32_t h = host_fp_begin(f->mxcsr);
	vr = (FT)vv;
	unsigned hf = host_fp_end(h);
	f->flags |= hf & MXCSR_PE;
	return L(tou)(vr);
}

/*
 * ROUNDPS/ROUNDSS-style rounding to an integral value (SSE4.1): imm
 * bits 1:0 the rounding mode, bit 2 use MXCSR.RC instead, bit 3 suppress
 * PE. SNaN -> IE and quieted; DAZ applies; the sign of zero is kept.
 */
UT F(round)(struct sfp *f, UT a, unsigned imm)
{
	a = L(daz)(f, a);
	if (L(isnan)(a)) {
		if (L(issnan)(a))
			f->flags |= MXCSR_IE;
		return a | QBIT;
	}
	if ((a & EXPM) >= ((UT)(((1u << (EB - 1)) - 1 + MB)) << MB))
		return a;	/* already integral (or infinite) */
	FT x = L(tof)(a);
	FT t = sizeof(FT) == 4 ? truncf(x) : trunc(x);
	FT frac = x - t;
	unsigned rc = (imm & 4) ? (f->mxcsr >> MXCSR_RC_SHIFT) & 3 : imm & 3;
	FT sgn = x < 0 ? -1 : 1;
	switch (rc) {
	case 0:
		if (frac * sgn > (FT)0.5 || (frac * sgn == (FT)0.5 && fmod(t, 2) != 0))
			t += sgn;
		break;
	case 1: if (frac < 0) t -= 1; break;
	case 2: if (frac > 0) t += 1; break;
	default: break;
	}
	if (frac != 0 && !(imm & 8))
		f->flags |= MXCSR_PE;
	UT r = L(tou)(t);
	if (L(iszero)(r))
		r = a & SIGN;
	return r;
}

#undef F
#undef L
#undef SIGN
#undef EXPM
#undef MANM
#undef QBIT
#undef DEFNAN
#undef IBITS
#undef CAT
#undef CAT_
