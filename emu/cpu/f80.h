/*
 * f80.h - portable 80-bit extended-precision arithmetic (integer C only,
 * no host floating point), with the x87's rounding (FCW.RC), precision
 * control (FCW.PC, for the basic arithmetic only), exception flags and
 * masked responses.
 *
 * Every operation takes a context: ctx.fcw (masks, PC, RC) on input;
 * ctx.flags collects F80_IE..F80_PE and F80_C1 (result rounded up). With
 * OE or UE unmasked, register results come back bias-adjusted (exponent
 * -/+ 24576) as the x87 delivers them. With IE, DE or ZE unmasked and
 * raised (f80_no_result), the result must be discarded.
 */
#ifndef NESTEMU_F80_H
#define NESTEMU_F80_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

#define F80_IE 0x01
#define F80_DE 0x02
#define F80_ZE 0x04
#define F80_OE 0x08
#define F80_UE 0x10
#define F80_PE 0x20
#define F80_C1 0x200	/* rounded up (FSW.C1 position) */

struct f80_ctx {
	uint16_t fcw;
	uint16_t flags;
};

/* Flags as the x87 reports them: IE and ZE take precedence over DE; an
 * unmasked DE stops the operation before it rounds. */
static inline uint16_t f80_settle_flags(uint16_t flags, uint16_t fcw)
{
	if (flags & (F80_IE | F80_ZE))
		flags &= (uint16_t)~F80_DE;
	if (flags & F80_DE & ~fcw)
		flags &= (uint16_t)~(F80_OE | F80_UE | F80_PE | F80_C1);
	return flags;
}

static inline bool f80_no_result(struct f80_ctx *c)
{
	c->flags = f80_settle_flags(c->flags, c->fcw);
	return c->flags & ~c->fcw & (F80_IE | F80_DE | F80_ZE);
}

/* Values */
static const struct f80 f80_indefinite = { 0xc000000000000000ull, 0xffff };
static inline bool f80_is_nan(struct f80 a)
{
	return (a.sexp & 0x7fff) == 0x7fff && (a.mant << 1);
}
static inline bool f80_is_snan(struct f80 a)
{
	return f80_is_nan(a) && (a.mant >> 63) && !((a.mant >> 62) & 1);
}
/* Operands the 387+ reject: unnormals, pseudo-NaN/infinity. */
static inline bool f80_is_unsupported(struct f80 a)
{
	unsigned e = a.sexp & 0x7fff;
	return e != 0 && !(a.mant >> 63);
}
static inline bool f80_sign(struct f80 a)
{
	return a.sexp >> 15;
}

/* Basic arithmetic (precision control applies). */
struct f80 f80_add(struct f80_ctx *c, struct f80 a, struct f80 b);
struct f80 f80_sub(struct f80_ctx *c, struct f80 a, struct f80 b);
struct f80 f80_mul(struct f80_ctx *c, struct f80 a, struct f80 b);
struct f80 f80_div(struct f80_ctx *c, struct f80 a, struct f80 b);
struct f80 f80_sqrt(struct f80_ctx *c, struct f80 a);

/* FRNDINT */
struct f80 f80_round_int(struct f80_ctx *c, struct f80 a);
/* FSCALE: a * 2^trunc(b) */
struct f80 f80_scale(struct f80_ctx *c, struct f80 a, struct f80 b);
/* FXTRACT: *exp = exponent of a, returns significand */
struct f80 f80_xtract(struct f80_ctx *c, struct f80 a, struct f80 *exp);
/* FPREM (round = false) / FPREM1: returns the partial remainder; *cc gets
 * C0/C1/C2/C3 in their FSW positions. */
struct f80 f80_prem(struct f80_ctx *c, struct f80 a, struct f80 b, bool round, uint16_t *cc);

/* Conversions. Loads are exact (bar NaN quieting). */
struct f80 f80_from_int(int64_t v);
struct f80 f80_from_f32(struct f80_ctx *c, uint32_t v);
struct f80 f80_from_f64(struct f80_ctx *c, uint64_t v);
/* Stores: the value rounded per FCW.RC to the format. *store is false
 * when an unmasked exception forbids writing memory. */
uint32_t f80_to_f32(struct f80_ctx *c, struct f80 a, bool *store);
uint64_t f80_to_f64(struct f80_ctx *c, struct f80 a, bool *store);
/* To an integer of `bits` (16/32/64); trunc: FISTTP. Out of range or NaN:
 * IE, the integer indefinite (only stored when IE is masked). */
int64_t f80_to_int(struct f80_ctx *c, struct f80 a, unsigned bits, bool trunc, bool *store);
/* Packed BCD (10 bytes). */
struct f80 f80_from_bcd(const uint8_t bcd[10]);
void f80_to_bcd(struct f80_ctx *c, struct f80 a, uint8_t bcd[10], bool *store);

/* Comparison: returns 0 (a > b), 1 (a < b), 2 (equal), 3 (unordered).
 * quiet: FUCOM* (QNaN operands do not raise IE). */
enum { F80_GT, F80_LT, F80_EQ, F80_UN };
int f80_compare(struct f80_ctx *c, struct f80 a, struct f80 b, bool quiet);

/* Constants: index 0 = 1, 1 = log2(10), 2 = log2(e), 3 = pi, 4 = log10(2),
 * 5 = ln(2), 6 = 0, rounded per RC. */
struct f80 f80_const(unsigned idx, unsigned rc);

/* Transcendental functions (64-bit precision, RC honoured). */
struct f80 f80_f2xm1(struct f80_ctx *c, struct f80 a);
struct f80 f80_yl2x(struct f80_ctx *c, struct f80 x, struct f80 y);
struct f80 f80_yl2xp1(struct f80_ctx *c, struct f80 x, struct f80 y);
struct f80 f80_patan(struct f80_ctx *c, struct f80 x, struct f80 y);	/* atan(y/x) */
/* FSIN/FCOS/FSINCOS/FPTAN: *oor set when |a| >= 2^63 (C2, no change). */
struct f80 f80_sin(struct f80_ctx *c, struct f80 a, bool *oor);
struct f80 f80_cos(struct f80_ctx *c, struct f80 a, bool *oor);
struct f80 f80_tan(struct f80_ctx *c, struct f80 a, bool *oor);

#endif
