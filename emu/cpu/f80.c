/*
 * f80.c - portable 80-bit extended-precision arithmetic (see f80.h).
 *
 * Values are unpacked to sign, biased exponent and a 64-bit significand
 * with explicit integer bit; intermediate results carry 128 bits with a
 * sticky bit, then round() rounds them once to the precision (24/53/64
 * bits) and exponent range of the destination, x87 style: the exponent
 * range stays the extended one under PC = 24/53, tininess is detected
 * before rounding, masked underflow needs tininess and inexactness.
 */
#include "f80.h"

typedef unsigned __int128 u128;

#define BIAS 16383
#define EXP_ADJ 24576	/* bias adjust of unmasked OE/UE register results */

enum { K_ZERO, K_NORM, K_INF, K_QNAN, K_SNAN, K_BAD };
enum { RC_RN, RC_RD, RC_RU, RC_RZ };

struct up {
	int s;
	int32_t e;	/* biased; value = m / 2^63 * 2^(e - BIAS) */
	uint64_t m;	/* normalized (bit 63 set) for K_NORM */
	int k;
	bool den;	/* denormal or pseudo-denormal operand */
};

static int clz64(uint64_t v)
{
	return v ? __builtin_clzll(v) : 64;
}

static int clz128(u128 v)
{
	uint64_t hi = (uint64_t)(v >> 64);
	return hi ? clz64(hi) : 64 + clz64((uint64_t)v);
}

static u128 shr_jam(u128 v, int n)
{
	if (n <= 0)
		return v;
	if (n >= 128)
		return v != 0;
	return (v >> n) | ((v & (((u128)1 << n) - 1)) != 0);
}

static struct up unpack(struct f80 a)
{
	struct up u = { .s = a.sexp >> 15, .e = a.sexp & 0x7fff, .m = a.mant, .k = K_NORM, .den = false };
	if (u.e == 0x7fff) {
		if (!(u.m >> 63))
			u.k = K_BAD;
		else if (!(u.m << 1))
			u.k = K_INF;
		else
			u.k = (u.m >> 62) & 1 ? K_QNAN : K_SNAN;
	} else if (u.e == 0) {
		if (!u.m) {
			u.k = K_ZERO;
		} else {
			int sh = clz64(u.m);
			u.den = true;
			u.m <<= sh;
			u.e = 1 - sh;
		}
	} else if (!(u.m >> 63)) {
		u.k = K_BAD;
	}
	return u;
}

static struct f80 mk(int s, int e, uint64_t m)
{
	return (struct f80){ m, (uint16_t)((s ? 0x8000 : 0) | (e & 0x7fff)) };
}

static struct f80 inf(int s)
{
	return mk(s, 0x7fff, 1ull << 63);
}

static struct f80 zero(int s)
{
	return mk(s, 0, 0);
}

static unsigned rc_of(const struct f80_ctx *c)
{
	return (c->fcw >> 10) & 3;
}

static int prec_of(const struct f80_ctx *c)
{
	static const int p[4] = { 24, 64, 53, 64 };
	return p[(c->fcw >> 8) & 3];
}

static bool is_nanish(const struct up *u)
{
	return u->k == K_QNAN || u->k == K_SNAN || u->k == K_BAD;
}

/* A QNaN from a NaN operand (SNaN quieted, IE raised by the caller). */
static struct f80 quiet(struct f80 a)
{
	a.mant |= 1ull << 62;
	return a;
}

/* The x87's NaN propagation for two operands (at least one NaN or
 * unsupported): SNaN raises IE; unsupported operands give the default
 * NaN; two NaNs give the QNaN one, else the larger significand. */
static struct f80 nan2(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	struct up ua = unpack(a), ub = unpack(b);
	if (ua.k == K_BAD || ub.k == K_BAD) {
		c->flags |= F80_IE;
		return f80_indefinite;
	}
	if (ua.k == K_SNAN || ub.k == K_SNAN)
		c->flags |= F80_IE;
	bool an = is_nanish(&ua), bn = is_nanish(&ub);
	if (an && bn) {
		if (ua.k == K_QNAN && ub.k == K_SNAN)
			return a;
		if (ub.k == K_QNAN && ua.k == K_SNAN)
			return b;
		uint64_t fa = a.mant << 1, fb = b.mant << 1;
		if (fa != fb)
			return quiet(fa > fb ? a : b);
		return quiet(ua.s ? b : a);
	}
	return quiet(an ? a : b);
}

static struct f80 nan1(struct f80_ctx *c, struct f80 a)
{
	struct up u = unpack(a);
	if (u.k == K_BAD) {
		c->flags |= F80_IE;
		return f80_indefinite;
	}
	if (u.k == K_SNAN)
		c->flags |= F80_IE;
	return quiet(a);
}

static struct f80 invalid(struct f80_ctx *c)
{
	c->flags |= F80_IE;
	return f80_indefinite;
}

/* Result of rounding: value = sig / 2^63 * 2^(e - BIAS); sig's bit 63 is
 * clear only for a denormal (e == emin) or zero of the format. */
struct rres {
	int s;
	int32_t e;
	uint64_t sig;
	bool inf;
};

/*
 * Rounds s * sig / 2^127 * 2^(e - BIAS) (sig != 0) to prec bits within
 * [emin, emax]. reg: a register destination (unmasked OE/UE bias-adjust).
 */
static struct rres round_core(struct f80_ctx *c, int s, int32_t e, u128 sig, int prec,
			      int32_t emin, int32_t emax, bool reg)
{
	struct rres r = { .s = s };
	unsigned rc = rc_of(c);
	int sh = clz128(sig);
	sig <<= sh;
	e -= sh;
	bool tiny = false;
	if (e < emin) {
		if (!(c->fcw & F80_UE)) {
			c->flags |= F80_UE;
			if (!reg) {
				r.e = emin;	/* no store: only UE is reported */
				return r;
			}
			e += EXP_ADJ;
			if (e < emin) {	/* beyond the bias adjust: a zero */
				c->flags |= F80_PE;
				r.e = emin;
				return r;
			}
		}
		if (e < emin) {
			tiny = true;
			sig = shr_jam(sig, emin - e);
			e = emin;
		}
	}
	int lsb = 128 - prec;
	u128 mask = ((u128)1 << lsb) - 1;
	u128 rem = sig & mask;
	u128 half = (u128)1 << (lsb - 1);
	bool inc = false;
	switch (rc) {
	case RC_RN: inc = rem > half || (rem == half && ((sig >> lsb) & 1)); break;
	case RC_RD: inc = s && rem; break;
	case RC_RU: inc = !s && rem; break;
	default: break;
	}
	sig &= ~mask;
	if (inc) {
		sig += (u128)1 << lsb;
		if (!sig) {
			sig = (u128)1 << 127;
			e++;
		}
	}
	if (rem) {
		c->flags |= F80_PE;
		if (inc)
			c->flags |= F80_C1;
		if (tiny)
			c->flags |= F80_UE;
	}
	if (e > emax) {
		if (!reg && !(c->fcw & F80_OE)) {
			c->flags = (uint16_t)((c->flags & ~(F80_PE | F80_C1)) | F80_OE);
			r.inf = true;
			return r;
		}
		if (reg && !(c->fcw & F80_OE) && e - EXP_ADJ <= emax) {
			c->flags |= F80_OE;
			e -= EXP_ADJ;
		} else if (reg && !(c->fcw & F80_OE)) {
			/* beyond the bias adjust: infinity whatever RC */
			c->flags |= F80_OE | F80_PE | F80_C1;
			r.inf = true;
			r.e = 0x7fff;
			r.sig = 1ull << 63;
			return r;
		} else {
			c->flags |= F80_OE | F80_PE;
			if (rc == RC_RN || (rc == RC_RU && !s) || (rc == RC_RD && s)) {
				c->flags |= F80_C1;
				r.inf = true;
				r.e = 0x7fff;
				r.sig = 1ull << 63;
				return r;
			}
			c->flags &= ~F80_C1;
			e = emax;
			sig = ~(u128)0 << lsb;
		}
	}
	r.e = e;
	r.sig = (uint64_t)(sig >> 64);
	return r;
}

static struct f80 rpack(struct f80_ctx *c, int s, int32_t e, u128 sig, int prec)
{
	struct rres r = round_core(c, s, e, sig, prec, 1, 0x7ffe, true);
	if (r.inf)
		return inf(s);
	if (!(r.sig >> 63))
		return mk(s, 0, r.sig);
	return mk(s, r.e, r.sig);
}

/* Operand checks common to the arithmetic: returns true (with the result
 * in *res) when a NaN/unsupported operand decides the result. */
static bool check2(struct f80_ctx *c, struct f80 a, struct f80 b, struct up *ua, struct up *ub,
		   struct f80 *res)
{
	*ua = unpack(a);
	*ub = unpack(b);
	if (is_nanish(ua) || is_nanish(ub)) {
		c->flags &= (uint16_t)~F80_DE;
		*res = nan2(c, a, b);
		return true;
	}
	if (ua->den || ub->den)
		c->flags |= F80_DE;
	return false;
}

static struct f80 addsub(struct f80_ctx *c, struct f80 a, struct f80 b, int negb)
{
	struct up ua, ub;
	struct f80 res;
	if (check2(c, a, b, &ua, &ub, &res))
		return res;
	ub.s ^= negb;
	int prec = prec_of(c);
	if (ua.k == K_INF || ub.k == K_INF) {
		if (ua.k == K_INF && ub.k == K_INF && ua.s != ub.s)
			return invalid(c);
		return inf(ua.k == K_INF ? ua.s : ub.s);
	}
	if (ua.k == K_ZERO && ub.k == K_ZERO)
		return zero(ua.s == ub.s ? ua.s : rc_of(c) == RC_RD);
	if (ub.k == K_ZERO)
		return rpack(c, ua.s, ua.e, (u128)ua.m << 64, prec);
	if (ua.k == K_ZERO)
		return rpack(c, ub.s, ub.e, (u128)ub.m << 64, prec);
	if (ua.e < ub.e || (ua.e == ub.e && ua.m < ub.m)) {
		struct up t = ua;
		ua = ub;
		ub = t;
	}
	u128 A = (u128)ua.m << 62, B = shr_jam((u128)ub.m << 62, ua.e - ub.e);
	if (ua.s == ub.s)
		return rpack(c, ua.s, ua.e + 2, A + B, prec);
	u128 d = A - B;
	if (!d)
		return zero(rc_of(c) == RC_RD);
	return rpack(c, ua.s, ua.e + 2, d, prec);
}

struct f80 f80_add(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	return addsub(c, a, b, 0);
}

struct f80 f80_sub(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	return addsub(c, a, b, 1);
}

struct f80 f80_mul(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	struct up ua, ub;
	struct f80 res;
	if (check2(c, a, b, &ua, &ub, &res))
		return res;
	int s = ua.s ^ ub.s;
	if (ua.k == K_INF || ub.k == K_INF) {
		if (ua.k == K_ZERO || ub.k == K_ZERO)
			return invalid(c);
		return inf(s);
	}
	if (ua.k == K_ZERO || ub.k == K_ZERO)
		return zero(s);
	u128 p = (u128)ua.m * ub.m;
	return rpack(c, s, ua.e + ub.e - BIAS + 1, p, prec_of(c));
}

struct f80 f80_div(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	struct up ua, ub;
	struct f80 res;
	if (check2(c, a, b, &ua, &ub, &res))
		return res;
	int s = ua.s ^ ub.s;
	if (ua.k == K_INF) {
		if (ub.k == K_INF)
			return invalid(c);
		return inf(s);
	}
	if (ub.k == K_INF)
		return zero(s);
	if (ub.k == K_ZERO) {
		if (ua.k == K_ZERO)
			return invalid(c);
		c->flags |= F80_ZE;
		return inf(s);
	}
	if (ua.k == K_ZERO)
		return zero(s);
	int32_t e = ua.e - ub.e + BIAS;
	u128 n;
	if (ua.m >= ub.m) {
		n = (u128)ua.m << 63;
	} else {
		n = (u128)ua.m << 64;
		e--;
	}
	uint64_t q = (uint64_t)(n / ub.m);
	uint64_t r = (uint64_t)(n % ub.m);
	u128 n2 = (u128)r << 64;
	uint64_t q2 = (uint64_t)(n2 / ub.m);
	uint64_t r2 = (uint64_t)(n2 % ub.m);
	return rpack(c, s, e, ((u128)q << 64) | q2 | (r2 != 0), prec_of(c));
}

/* Integer square root of n: root and remainder n - root^2. */
static uint64_t isqrt128(u128 n, u128 *remp)
{
	u128 rem = 0, root = 0;
	for (int i = 0; i < 64; i++) {
		root <<= 1;
		rem = (rem << 2) | (n >> 126);
		n <<= 2;
		u128 t = (root << 1) | 1;
		if (rem >= t) {
			rem -= t;
			root |= 1;
		}
	}
	*remp = rem;
	return (uint64_t)root;
}

struct f80 f80_sqrt(struct f80_ctx *c, struct f80 a)
{
	struct up u = unpack(a);
	if (is_nanish(&u))
		return nan1(c, a);
	if (u.k == K_ZERO)
		return a;
	if (u.s)
		return invalid(c);
	if (u.den)
		c->flags |= F80_DE;
	if (f80_no_result(c))
		return a;
	if (u.k == K_INF)
		return a;
	int32_t E = u.e - BIAS;
	u128 n = (u128)u.m << (E & 1 ? 64 : 63);
	int32_t eh = (E - (E & 1)) / 2;
	u128 rem;
	uint64_t r = isqrt128(n, &rem);
	uint64_t lo = rem == 0 ? 0 : rem > r ? 0x8000000000000001ull : 1;
	return rpack(c, 0, eh + BIAS, ((u128)r << 64) | lo, prec_of(c));
}

/* ---- integer rounding ---------------------------------------------------- */

/* Rounds |u| (normal) to an integer per rc: magnitude in *mag (false when
 * it does not fit 64 bits). Raises PE/C1. */
static bool int_round(struct f80_ctx *c, const struct up *u, unsigned rc, uint64_t *mag)
{
	int32_t E = u->e - BIAS;
	if (E >= 64)
		return false;
	if (E >= 63) {
		*mag = u->m;
		return true;
	}
	int sh = 63 - E;	/* >= 1 */
	uint64_t ip;
	u128 frac;		/* fraction as a 128-bit binary fraction */
	if (sh >= 128) {
		ip = 0;
		frac = 1;	/* sticky, below one half */
	} else if (sh >= 64) {
		ip = 0;
		frac = shr_jam((u128)u->m << 64, sh - 64);
	} else {
		ip = u->m >> sh;
		frac = (u128)(u->m << (64 - sh)) << 64;
	}
	u128 half = (u128)1 << 127;
	bool inc = false;
	switch (rc) {
	case RC_RN: inc = frac > half || (frac == half && (ip & 1)); break;
	case RC_RD: inc = u->s && frac; break;
	case RC_RU: inc = !u->s && frac; break;
	default: break;
	}
	if (frac) {
		c->flags |= F80_PE;
		if (inc)
			c->flags |= F80_C1;
	}
	if (inc) {
		ip++;
		if (!ip)
			return false;
	}
	*mag = ip;
	return true;
}

static struct f80 from_mag(int s, uint64_t mag)
{
	if (!mag)
		return zero(s);
	int sh = clz64(mag);
	return mk(s, BIAS + 63 - sh, mag << sh);
}

struct f80 f80_round_int(struct f80_ctx *c, struct f80 a)
{
	struct up u = unpack(a);
	if (is_nanish(&u))
		return nan1(c, a);
	if (u.den)
		c->flags |= F80_DE;
	if (f80_no_result(c) || u.k != K_NORM)
		return a;
	if (u.e - BIAS >= 63)
		return a;
	uint64_t mag;
	int_round(c, &u, rc_of(c), &mag);
	return from_mag(u.s, mag);
}

int64_t f80_to_int(struct f80_ctx *c, struct f80 a, unsigned bits, bool trunc, bool *store)
{
	struct up u = unpack(a);
	int64_t indef = (int64_t)(1ull << (bits - 1));
	if (bits < 64)
		indef = -indef;
	*store = true;
	uint64_t mag = 0;
	if (u.k == K_ZERO)
		return 0;
	if (u.k != K_NORM)
		goto bad;
	struct f80_ctx t = *c;
	if (!int_round(&t, &u, trunc ? RC_RZ : rc_of(c), &mag))
		goto bad;
	uint64_t lim = 1ull << (bits - 1);
	if (mag > lim || (mag == lim && !u.s))
		goto bad;
	c->flags = t.flags;
	return u.s ? (int64_t)(0 - mag) : (int64_t)mag;
bad:
	c->flags |= F80_IE;
	*store = c->fcw & F80_IE;
	return indef;
}

struct f80 f80_from_int(int64_t v)
{
	return v < 0 ? from_mag(1, 0 - (uint64_t)v) : from_mag(0, (uint64_t)v);
}

/* ---- float32/64 ------------------------------------------------------------ */

static struct f80 from_ieee(struct f80_ctx *c, int s, uint32_t e, uint64_t frac, int fbits, uint32_t emaxf,
			    int32_t bias)
{
	if (e == emaxf) {
		uint64_t m = (1ull << 63) | (frac << (63 - fbits));
		if (!frac)
			return inf(s);
		struct f80 r = mk(s, 0x7fff, m);
		if (!((frac >> (fbits - 1)) & 1)) {
			c->flags |= F80_IE;
			r = quiet(r);
		}
		return r;
	}
	if (e == 0) {
		if (!frac)
			return zero(s);
		c->flags |= F80_DE;
		int sh = clz64(frac);
		/* value = frac * 2^(1 - bias - fbits) */
		return mk(s, 1 - bias - fbits + BIAS + 63 - sh, frac << sh);
	}
	return mk(s, (int32_t)e - bias + BIAS, (1ull << 63) | (frac << (63 - fbits)));
}

struct f80 f80_from_f32(struct f80_ctx *c, uint32_t v)
{
	return from_ieee(c, v >> 31, (v >> 23) & 0xff, v & 0x7fffff, 23, 0xff, 127);
}

struct f80 f80_from_f64(struct f80_ctx *c, uint64_t v)
{
	return from_ieee(c, v >> 63, (v >> 52) & 0x7ff, v & 0xfffffffffffffull, 52, 0x7ff, 1023);
}

static uint64_t to_ieee(struct f80_ctx *c, struct f80 a, int fbits, int ebits, bool *store)
{
	struct up u = unpack(a);
	int32_t bias = (1 << (ebits - 1)) - 1;
	uint64_t emaxf = (1u << ebits) - 1;
	uint64_t sbit = (uint64_t)u.s << (fbits + ebits);
	*store = true;
	switch (u.k) {
	case K_ZERO:
		return sbit;
	case K_INF:
		return sbit | emaxf << fbits;
	case K_BAD:
		c->flags |= F80_IE;
		*store = c->fcw & F80_IE;
		return (1ull << (fbits + ebits)) | emaxf << fbits | 1ull << (fbits - 1);
	case K_SNAN:
		c->flags |= F80_IE;
		*store = c->fcw & F80_IE;
		/* fallthrough */
	case K_QNAN:
		return sbit | emaxf << fbits | 1ull << (fbits - 1) |
		       ((a.mant << 1) >> (64 - fbits));
	default:
		break;
	}
	struct rres r = round_core(c, u.s, u.e, (u128)u.m << 64, fbits + 1, BIAS - bias + 1,
				   BIAS + bias, false);
	if (c->flags & ~c->fcw & (F80_OE | F80_UE))
		*store = false;
	if (r.inf)
		return sbit | emaxf << fbits;
	uint64_t frac = (r.sig << 1) >> (64 - fbits);
	if (!(r.sig >> 63))
		return sbit | (r.sig >> (63 - fbits));
	return sbit | (uint64_t)(r.e - BIAS + bias) << fbits | frac;
}

uint32_t f80_to_f32(struct f80_ctx *c, struct f80 a, bool *store)
{
	return (uint32_t)to_ieee(c, a, 23, 8, store);
}

uint64_t f80_to_f64(struct f80_ctx *c, struct f80 a, bool *store)
{
	return to_ieee(c, a, 52, 11, store);
}

/* ---- BCD ------------------------------------------------------------------- */

struct f80 f80_from_bcd(const uint8_t bcd[10])
{
	uint64_t v = 0;
	for (int k = 8; k >= 0; k--)
		v = v * 100 + (bcd[k] >> 4) * 10 + (bcd[k] & 15);
	return from_mag(bcd[9] >> 7, v);
}

void f80_to_bcd(struct f80_ctx *c, struct f80 a, uint8_t bcd[10], bool *store)
{
	struct up u = unpack(a);
	uint64_t mag = 0;
	*store = true;
	if (u.k == K_ZERO) {
		for (int k = 0; k < 9; k++)
			bcd[k] = 0;
		bcd[9] = u.s ? 0x80 : 0;
		return;
	}
	if (u.k != K_NORM)
		goto bad;
	struct f80_ctx t = *c;
	if (!int_round(&t, &u, rc_of(c), &mag) || mag > 999999999999999999ull)
		goto bad;
	c->flags = t.flags;
	for (int k = 0; k < 9; k++) {
		unsigned d = (unsigned)(mag % 100);
		mag /= 100;
		bcd[k] = (uint8_t)((d / 10) << 4 | (d % 10));
	}
	bcd[9] = u.s ? 0x80 : 0;
	return;
bad:
	c->flags |= F80_IE;
	*store = c->fcw & F80_IE;
	/* packed BCD indefinite */
	for (int k = 0; k < 7; k++)
		bcd[k] = 0;
	bcd[7] = 0xc0;
	bcd[8] = 0xff;
	bcd[9] = 0xff;
}

/* ---- compare --------------------------------------------------------------- */

int f80_compare(struct f80_ctx *c, struct f80 a, struct f80 b, bool quiet_cmp)
{
	struct up ua = unpack(a), ub = unpack(b);
	if (is_nanish(&ua) || is_nanish(&ub)) {
		if (!quiet_cmp || ua.k == K_SNAN || ub.k == K_SNAN || ua.k == K_BAD || ub.k == K_BAD)
			c->flags |= F80_IE;
		return F80_UN;
	}
	if (ua.den || ub.den)
		c->flags |= F80_DE;
	if (ua.k == K_ZERO && ub.k == K_ZERO)
		return F80_EQ;
	if (ua.s != ub.s)
		return ua.s ? F80_LT : F80_GT;
	int cmp;	/* magnitude comparison */
	if (ua.k == K_INF || ub.k == K_INF)
		cmp = (ua.k == K_INF) - (ub.k == K_INF);
	else if (ua.k == K_ZERO || ub.k == K_ZERO)
		cmp = (ua.k != K_ZERO) - (ub.k != K_ZERO);
	else if (ua.e != ub.e)
		cmp = ua.e > ub.e ? 1 : -1;
	else
		cmp = ua.m > ub.m ? 1 : ua.m < ub.m ? -1 : 0;
	if (!cmp)
		return F80_EQ;
	return (cmp > 0) != ua.s ? F80_GT : F80_LT;
}

/* ---- constants --------------------------------------------------------------- */

struct f80 f80_const(unsigned idx, unsigned rc)
{
	static const struct {
		int32_t e;
		uint64_t hi, lo;
	} k[7] = {
		{ 0, 0x8000000000000000ull, 0 },
		{ 1, 0xd49a784bcd1b8afeull, 0x492bf6ff4dafdb4cull },
		{ 0, 0xb8aa3b295c17f0bbull, 0xbe87fed0691d3e88ull },
		{ 1, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull },
		{ -2, 0x9a209a84fbcff798ull, 0x8f8959ac0b7c9178ull },
		{ -1, 0xb17217f7d1cf79abull, 0xc9e3b39803f2f6afull },
		{ 0, 0, 0 },
	};
	if (idx == 6)
		return zero(0);
	struct f80_ctx c = { .fcw = (uint16_t)(0x037f | rc << 10), .flags = 0 };
	return rpack(&c, 0, k[idx].e + BIAS, (u128)k[idx].hi << 64 | k[idx].lo, 64);
}

/* ---- FSCALE, FXTRACT, FPREM ----------------------------------------------------- */

struct f80 f80_scale(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	struct up ua, ub;
	struct f80 res;
	if (check2(c, a, b, &ua, &ub, &res))
		return res;
	if (ub.k == K_INF) {
		if (ub.s) {
			if (ua.k == K_INF)
				return invalid(c);
			return ua.k == K_ZERO ? a : zero(ua.s);
		}
		if (ua.k == K_ZERO)
			return invalid(c);
		return inf(ua.s);
	}
	if (ua.k == K_INF || ua.k == K_ZERO)
		return a;
	int32_t n;
	int32_t E = ub.e - BIAS;
	if (ub.k == K_ZERO || E < 0)
		n = 0;
	else if (E >= 30)
		n = ub.s ? -(1 << 30) : (1 << 30);
	else
		n = (int32_t)(ub.m >> (63 - E)) * (ub.s ? -1 : 1);
	return rpack(c, ua.s, ua.e + n, (u128)ua.m << 64, 64);
}

struct f80 f80_xtract(struct f80_ctx *c, struct f80 a, struct f80 *exp)
{
	struct up u = unpack(a);
	if (is_nanish(&u)) {
		*exp = nan1(c, a);
		return *exp;
	}
	if (u.den)
		c->flags |= F80_DE;
	if (u.k == K_ZERO) {
		c->flags |= F80_ZE;
		*exp = inf(1);
		return a;
	}
	if (u.k == K_INF) {
		*exp = inf(0);
		return a;
	}
	*exp = f80_from_int(u.e - BIAS);
	return mk(u.s, BIAS, u.m);
}

struct f80 f80_prem(struct f80_ctx *c, struct f80 a, struct f80 b, bool round, uint16_t *cc)
{
	struct up ua, ub;
	struct f80 res;
	*cc = 0;
	if (check2(c, a, b, &ua, &ub, &res))
		return res;
	if (ua.k == K_INF || ub.k == K_ZERO)
		return invalid(c);
	if (ua.k == K_ZERO)
		return a;
	if (ub.k == K_INF)
		return rpack(c, ua.s, ua.e, (u128)ua.m << 64, 64);
	int32_t d = ua.e - ub.e;
	if (d < -1 || (d == -1 && !round))
		return rpack(c, ua.s, ua.e, (u128)ua.m << 64, 64);
	u128 B = ub.m, r = ua.m;
	uint64_t q = 0;
	int32_t re = ub.e;
	int s = ua.s;
	bool partial = d >= 64;
	if (d == -1) {
		B <<= 1;
		re = ua.e;
	} else {
		int32_t steps = partial ? 32 + (d & 31) : d;
		if (partial)
			re = ua.e - steps;
		for (int32_t k = 0; k <= steps; k++) {
			q <<= 1;
			if (r >= B) {
				r -= B;
				q |= 1;
			}
			if (k < steps)
				r <<= 1;
		}
	}
	if (round && !partial && ((r << 1) > B || ((r << 1) == B && (q & 1)))) {
		r = B - r;
		q++;
		s ^= 1;
	}
	if (partial)
		*cc = 0x0400;	/* C2: incomplete */
	else
		*cc = (uint16_t)(((q >> 2) & 1 ? 0x0100 : 0) | ((q >> 1) & 1 ? 0x4000 : 0) |
				 (q & 1 ? 0x0200 : 0));
	if (!r)
		return zero(ua.s);
	return rpack(c, s, re + 64, r, 64);
}

/* ---- transcendental functions -------------------------------------------------------
 *
 * Evaluated in a 128-bit-significand software float (x128: truncating
 * operations, ~120 correct bits) and rounded once to 64 bits per RC, so
 * results are correctly rounded. FSIN/FCOS/FSINCOS/FPTAN reduce exactly
 * by pi/2 rounded to 66 bits, as the x87 does (so results for large
 * arguments and near multiples of pi/2 match hardware, not the exact
 * function). The hardware itself is not correctly rounded: its last bit
 * differs from ours in 1-4% of random arguments (docs/decisions.md).
 */

struct x128 {
	int s;
	int32_t e;	/* value = m / 2^127 * 2^e; m == 0 is zero */
	u128 m;
};

static struct x128 xnorm(int s, int32_t e, u128 m)
{
	if (!m)
		return (struct x128){ 0, 0, 0 };
	int sh = clz128(m);
	return (struct x128){ s, e - sh, m << sh };
}

static struct x128 xmul(struct x128 a, struct x128 b)
{
	if (!a.m || !b.m)
		return (struct x128){ 0, 0, 0 };
	uint64_t ah = (uint64_t)(a.m >> 64), al = (uint64_t)a.m, bh = (uint64_t)(b.m >> 64), bl = (uint64_t)b.m;
	u128 hh = (u128)ah * bh, hl = (u128)ah * bl, lh = (u128)al * bh, ll = (u128)al * bl;
	u128 mid = (hl & ~(uint64_t)0) + (lh & ~(uint64_t)0) + (ll >> 64);
	u128 hi = hh + (hl >> 64) + (lh >> 64) + (mid >> 64);
	/* product = hi * 2^128 + ...; value = hi / 2^254 * 2^(ea+eb) */
	return xnorm(a.s ^ b.s, a.e + b.e + 1, hi);
}

static struct x128 xadd(struct x128 a, struct x128 b)
{
	if (!a.m)
		return b;
	if (!b.m)
		return a;
	if (a.e < b.e || (a.e == b.e && a.m < b.m)) {
		struct x128 t = a;
		a = b;
		b = t;
	}
	int32_t d = a.e - b.e;
	u128 bm = d >= 128 ? 0 : b.m >> d;
	if (a.s == b.s) {
		u128 sum = (a.m >> 1) + (bm >> 1) + ((a.m & bm) & 1);
		return xnorm(a.s, a.e + 1, sum);
	}
	return xnorm(a.s, a.e, a.m - bm);
}

static struct x128 xneg(struct x128 a)
{
	a.s ^= 1;
	return a;
}

static struct x128 xdiv(struct x128 a, struct x128 b)
{
	if (!a.m)
		return a;
	/* long division, 128 quotient bits */
	u128 r = a.m, d = b.m, q = 0;
	int32_t e = a.e - b.e;
	if (r < d)
		e--;
	else {
		/* make r < d by treating the first step */
	}
	bool top = false;	/* r carries a virtual bit 128 */
	if (r >= d) {
		q = 1;
		r -= d;
		for (int k = 0; k < 127; k++) {
			top = r >> 127;
			r <<= 1;
			q <<= 1;
			if (top || r >= d) {
				r -= d;
				q |= 1;
			}
		}
	} else {
		for (int k = 0; k < 128; k++) {
			top = r >> 127;
			r <<= 1;
			q <<= 1;
			if (top || r >= d) {
				r -= d;
				q |= 1;
			}
		}
	}
	return xnorm(a.s ^ b.s, e, q);
}

static struct x128 xfrom(struct f80 v)
{
	struct up u = unpack(v);
	if (u.k == K_ZERO)
		return (struct x128){ 0, 0, 0 };
	return xnorm(u.s, u.e - BIAS, (u128)u.m << 64);
}

static struct x128 xint(int64_t v)
{
	return v < 0 ? xnorm(1, 127, (u128)(0 - (uint64_t)v)) : xnorm(0, 127, (u128)v);
}

static struct f80 xround(struct f80_ctx *c, struct x128 x)
{
	if (!x.m)
		return zero(x.s);
	/* the truncated x128 is never exact: keep a sticky bit */
	return rpack(c, x.s, x.e + BIAS, x.m | 1, 64);
}

static struct x128 xconst(unsigned idx)
{
	static const struct {
		int32_t e;
		uint64_t hi, lo;
	} k[] = {
		{ 0, 0xb8aa3b295c17f0bbull, 0xbe87fed0691d3e88ull },	/* log2(e) */
		{ 1, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull },	/* pi */
		{ -1, 0xb17217f7d1cf79abull, 0xc9e3b39803f2f6afull },	/* ln 2 */
	};
	return (struct x128){ 0, k[idx].e, (u128)k[idx].hi << 64 | k[idx].lo };
}

/* expm1(t) for |t| < 1 by its series. */
static struct x128 xexpm1(struct x128 t)
{
	struct x128 sum = t, term = t;
	for (int k = 2; k < 40; k++) {
		term = xdiv(xmul(term, t), xint(k));
		if (!term.m || term.e < sum.e - 130)
			break;
		sum = xadd(sum, term);
	}
	return sum;
}

/* atanh(z) = z + z^3/3 + z^5/5 ... for |z| <= 0.2. */
static struct x128 xatanh(struct x128 z)
{
	struct x128 z2 = xmul(z, z), p = z, sum = z;
	for (int k = 3; k < 200; k += 2) {
		p = xmul(p, z2);
		struct x128 term = xdiv(p, xint(k));
		if (!term.m || term.e < sum.e - 130)
			break;
		sum = xadd(sum, term);
	}
	return sum;
}

/* ln(x), x > 0 */
static struct x128 xln(struct x128 x)
{
	/* x = m * 2^k, m in [sqrt(1/2), sqrt(2)) */
	int32_t k = x.e;
	x.e = 0;
	if (x.m < ((u128)0xb504f333f9de6484ull << 64)) {
		x.e = 0;
		k -= 0;
		x.e = 0;
		/* m < sqrt 2 already in [1, 2) */
	} else {
		x.e = -1;
		k += 1;
	}
	struct x128 one = xint(1);
	struct x128 z = xdiv(xadd(x, xneg(one)), xadd(x, one));
	struct x128 r = xatanh(z);
	r.e += 1;
	return xadd(r, xmul(xint(k), xconst(2)));
}

static struct x128 xsqrt(struct x128 x)
{
	/* Newton from an integer estimate */
	u128 rem;
	int32_t e = x.e;
	u128 n = e & 1 ? x.m : x.m >> 1;
	int32_t eh = (e - (e & 1)) / 2;
	uint64_t r = isqrt128(n, &rem);
	struct x128 y = xnorm(0, eh + 63 - 63 + 0, (u128)r << 64);
	y.e = eh + (e & 1 ? 0 : 0);
	y = xnorm(0, eh, (u128)r << 64);
	/* n / 2^126 = x / 2^e' ... refine twice */
	for (int k = 0; k < 2; k++) {
		struct x128 t = xdiv(x, y);
		y = xadd(y, t);
		y.e -= 1;
	}
	return y;
}

/* atan(z) for |z| <= 1: two argument halvings, then the series. */
static struct x128 xatan(struct x128 z)
{
	struct x128 one = xint(1);
	int halv = 0;
	for (; halv < 3 && z.m && z.e > -6; halv++)
		z = xdiv(z, xadd(one, xsqrt(xadd(one, xmul(z, z)))));
	struct x128 z2 = xmul(z, z), p = z, sum = z;
	for (int k = 3; k < 400; k += 2) {
		p = xneg(xmul(p, z2));
		struct x128 term = xdiv(p, xint(k));
		if (!term.m || term.e < sum.e - 130)
			break;
		sum = xadd(sum, term);
	}
	if (sum.m)
		sum.e += halv;
	return sum;
}

/* sin and cos of |r| <= pi/4 by their series. */
static struct x128 xsin_series(struct x128 r, bool cosine)
{
	struct x128 r2 = xmul(r, r);
	struct x128 term = cosine ? xint(1) : r, sum = term;
	for (int k = cosine ? 1 : 2; k < 60; k += 2) {
		term = xneg(xdiv(xmul(term, r2), xint((int64_t)k * (k + 1))));
		if (!term.m || term.e < sum.e - 130)
			break;
		sum = xadd(sum, term);
	}
	return sum;
}

/*
 * Reduces a by pi/2: returns r and the quadrant. The x87 reduces with
 * pi/2 rounded to 66 bits (P = K * 2^-65) and keeps r = a - n * P
 * exactly (measured: the host's results are the correctly rounded
 * function of that r, to within its own last-bit noise). In units of
 * 2^-65, |a| < 2^63 is an integer below 2^128 and so is n * K, so the
 * whole reduction is one exact 128-bit integer computation.
 */
static struct x128 xreduce(struct f80 a, unsigned *quad)
{
	static const uint64_t k_hi = 0x3, k_lo = 0x243f6a8885a308d3ull;	/* K = pi/2 * 2^65, 66 bits */
	const u128 k = (u128)k_hi << 64 | k_lo;
	struct up u = unpack(a);
	*quad = 0;
	int32_t e = u.e - BIAS;	/* |a| = m * 2^(e - 63) */
	if (e < -1)	/* |a| < 1/2 < pi/4: no reduction */
		return xfrom(a);
	u128 x = (u128)u.m << (e + 2);	/* |a| * 2^65 */
	u128 n = (x + (k >> 1)) / k;
	u128 nk = n * k;
	struct x128 r = x >= nk ? xnorm(u.s, 62, x - nk) : xnorm(!u.s, 62, nk - x);
	*quad = (unsigned)(u.s ? 0 - n : n) & 3;
	return r;
}

/* Operand checks of the one-operand functions: true when decided. */
static bool check1(struct f80_ctx *c, struct f80 a, struct up *u, struct f80 *res)
{
	*u = unpack(a);
	if (is_nanish(u)) {
		*res = nan1(c, a);
		return true;
	}
	if (u->den)
		c->flags |= F80_DE;
	if (f80_no_result(c)) {
		*res = a;
		return true;
	}
	return false;
}

/* Tiny results of f(x) ~ x * k: rounded through the general path. */
struct f80 f80_f2xm1(struct f80_ctx *c, struct f80 a)
{
	struct up u;
	struct f80 res;
	if (check1(c, a, &u, &res))
		return res;
	if (u.k == K_ZERO)
		return a;
	if (u.k == K_INF)
		return u.s ? mk(1, BIAS, 1ull << 63) : a;
	if (u.e >= BIAS && !(u.e == BIAS && u.m == 1ull << 63)) {
		/* |x| > 1: outside the domain, the x87 leaves ST(0) alone */
		c->flags |= F80_PE;
		return a;
	}
	struct x128 t = xmul(xfrom(a), xconst(2));
	return xround(c, xexpm1(t));
}

static struct f80 yl2x_common(struct f80_ctx *c, struct f80 x, struct f80 y, bool p1)
{
	struct up ux, uy;
	struct f80 res;
	if (check2(c, x, y, &ux, &uy, &res))
		return res;
	if (p1) {
		if (ux.k == K_INF || uy.k == K_INF) {
			if (ux.k == K_ZERO || uy.k == K_ZERO)
				return invalid(c);
			if (ux.k == K_INF && ux.s)
				return invalid(c);
			return inf(ux.s ^ uy.s);
		}
		if (ux.k == K_ZERO || uy.k == K_ZERO)
			return zero(ux.s ^ uy.s);
		struct x128 xx = xfrom(x);
		/* ln(1+x) = 2 atanh(x / (2 + x)) */
		struct x128 z = xdiv(xx, xadd(xint(2), xx));
		struct x128 l;
		if (z.e > -3) {
			struct x128 one1 = xadd(xint(1), xx);
			if (!one1.m || one1.s)
				return invalid(c);
			l = xln(one1);
		} else {
			l = xatanh(z);
			l.e += 1;
		}
		struct x128 r = xmul(xmul(l, xconst(0)), xfrom(y));
		return xround(c, r);
	}
	if (ux.s && ux.k != K_ZERO)
		return invalid(c);
	if (ux.k == K_ZERO) {
		if (uy.k == K_ZERO)
			return invalid(c);
		if (uy.k != K_INF)
			c->flags |= F80_ZE;
		return inf(!uy.s);
	}
	if (ux.k == K_INF) {
		if (uy.k == K_ZERO)
			return invalid(c);
		return inf(uy.s);
	}
	bool one = ux.e == BIAS && ux.m == 1ull << 63;
	if (uy.k == K_INF) {
		if (one)
			return invalid(c);
		return inf(uy.s ^ (ux.e < BIAS));
	}
	if (one)
		return zero(uy.s ^ (rc_of(c) == RC_RD));
	if (uy.k == K_ZERO)
		return zero(uy.s ^ (ux.e < BIAS));
	struct x128 l = xmul(xln(xfrom(x)), xconst(0));
	return xround(c, xmul(l, xfrom(y)));
}

struct f80 f80_yl2x(struct f80_ctx *c, struct f80 x, struct f80 y)
{
	return yl2x_common(c, x, y, false);
}

struct f80 f80_yl2xp1(struct f80_ctx *c, struct f80 x, struct f80 y)
{
	return yl2x_common(c, x, y, true);
}

struct f80 f80_patan(struct f80_ctx *c, struct f80 x, struct f80 y)
{
	struct up ux, uy;
	struct f80 res;
	if (check2(c, x, y, &ux, &uy, &res))
		return res;
	struct x128 pi = xconst(1);
	if (uy.k == K_ZERO || ux.k == K_ZERO || ux.k == K_INF || uy.k == K_INF) {
		struct x128 r;
		if (uy.k == K_INF && ux.k == K_INF) {
			r = pi;
			r.e -= 2;	/* pi/4 */
			if (ux.s)
				r = xmul(r, xint(3));
		} else if (uy.k == K_INF || ux.k == K_ZERO) {
			if (uy.k == K_ZERO && ux.k == K_ZERO) {
				if (!ux.s)
					return zero(uy.s);
				r = pi;
			} else {
				r = pi;
				r.e -= 1;
			}
		} else {	/* y zero or x infinite */
			if (!ux.s)
				return zero(uy.s);
			r = pi;
		}
		r.s = uy.s;
		return xround(c, r);
	}
	struct x128 xx = xfrom(x), yy = xfrom(y);
	xx.s = yy.s = 0;
	struct x128 r;
	bool swap = yy.e > xx.e || (yy.e == xx.e && yy.m > xx.m);
	if (swap) {
		struct x128 h = pi;
		h.e -= 1;
		r = xadd(h, xneg(xatan(xdiv(xx, yy))));
	} else {
		r = xatan(xdiv(yy, xx));
	}
	if (ux.s)
		r = xadd(pi, xneg(r));
	r.s = uy.s;
	return xround(c, r);
}

static struct f80 trig(struct f80_ctx *c, struct f80 a, bool *oor, unsigned which)
{
	struct up u;
	struct f80 res;
	*oor = false;
	if (check1(c, a, &u, &res))
		return res;
	if (u.k == K_INF)
		return invalid(c);
	if (u.k == K_NORM && u.e - BIAS >= 63) {
		*oor = true;
		c->flags = 0;
		return a;
	}
	if (u.k == K_ZERO)
		return which == 1 ? f80_const(0, 0) : a;
	unsigned q;
	struct x128 r = xreduce(a, &q);
	struct x128 s = xsin_series(r, false), co = xsin_series(r, true);
	struct x128 out;
	switch (which) {
	case 0: out = q & 1 ? co : s; if (q & 2) out = xneg(out); break;
	case 1: out = q & 1 ? s : co; if ((q + 1) & 2) out = xneg(out); break;
	default: out = q & 1 ? xneg(xdiv(co, s)) : xdiv(s, co); break;
	}
	return xround(c, out);
}

struct f80 f80_sin(struct f80_ctx *c, struct f80 a, bool *oor)
{
	return trig(c, a, oor, 0);
}

struct f80 f80_cos(struct f80_ctx *c, struct f80 a, bool *oor)
{
	return trig(c, a, oor, 1);
}

struct f80 f80_tan(struct f80_ctx *c, struct f80 a, bool *oor)
{
	return trig(c, a, oor, 2);
}
