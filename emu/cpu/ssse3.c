/*
 * ssse3.c - SSSE3 (SDM Vol. 2: PABSB/W/D, PALIGNR, PHADDW/D/SW,
 * PHSUBW/D/SW, PMADDUBSW, PMULHRSW, PSHUFB, PSIGNB/W/D), each in its MMX
 * form (no prefix, 64-bit operands) and its XMM form (66, 128-bit
 * operands, aligned memory).
 *
 * Every operation is one body over a vector of n bytes (8 or 16);
 * SSSE3_PAIR instantiates the two handlers from it. Destination and
 * source are copied before the body runs, so a body may write the result
 * in any order.
 */
#include "sse4.h"
#include "sse.h"

typedef void ssse3_body(union x128 *r, const union x128 *d, const union x128 *s, unsigned n);

static void run_mmx(struct cpu *cpu, const struct insn *i, ssse3_body *body)
{
	simd_check_mmx(cpu);
	union x128 s = { .q = { mmx_src(cpu, i, 8), 0 } };
	union x128 d = { .q = { mmx_get(cpu, i->reg), 0 } }, r = d;
	body(&r, &d, &s, 8);
	mmx_put(cpu, i->reg, r.q[0]);
}

static void run_xmm(struct cpu *cpu, const struct insn *i, ssse3_body *body)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true);
	union x128 d = *sse4_xmm(cpu, i->reg), r = d;
	body(&r, &d, &s, 16);
	*sse4_xmm(cpu, i->reg) = r;
}

#define SSSE3_PAIR(name, body) \
	void name##_Pq_Qq(struct cpu *cpu, const struct insn *i) { run_mmx(cpu, i, body); } \
	void name##_Vdq_Wdq(struct cpu *cpu, const struct insn *i) { run_xmm(cpu, i, body); }

static inline int16_t sat16(int32_t v)
{
	return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static void pshufb(union x128 *r, const union x128 *d, const union x128 *s, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		r->b[k] = (s->b[k] & 0x80) ? 0 : d->b[s->b[k] & (n - 1)];
}
SSSE3_PAIR(pshufb, pshufb)

/* Horizontal operations: the low half of the result pairs up the
 * destination's elements, the high half the source's. */
#define HORIZ(name, lane, T, expr)							\
	static void name(union x128 *r, const union x128 *d, const union x128 *s, unsigned n) \
	{										\
		unsigned cnt = n / sizeof(T), half = cnt / 2;				\
		for (unsigned k = 0; k < cnt; k++) {					\
			const union x128 *v = k < half ? d : s;				\
			unsigned j = 2 * (k % half);					\
			int64_t a = v->lane[j], b = v->lane[j + 1];			\
			r->lane[k] = (T)(expr);						\
		}									\
	}										\
	SSSE3_PAIR(name, name)

HORIZ(phaddw, sw, int16_t, a + b)
HORIZ(phaddd, sd, int32_t, a + b)
HORIZ(phaddsw, sw, int16_t, sat16((int32_t)(a + b)))
HORIZ(phsubw, sw, int16_t, a - b)
HORIZ(phsubd, sd, int32_t, a - b)
HORIZ(phsubsw, sw, int16_t, sat16((int32_t)(a - b)))

static void pmaddubsw(union x128 *r, const union x128 *d, const union x128 *s, unsigned n)
{
	for (unsigned k = 0; k < n / 2; k++)
		r->sw[k] = sat16(d->b[2 * k] * s->sb[2 * k] + d->b[2 * k + 1] * s->sb[2 * k + 1]);
}
SSSE3_PAIR(pmaddubsw, pmaddubsw)

static void pmulhrsw(union x128 *r, const union x128 *d, const union x128 *s, unsigned n)
{
	for (unsigned k = 0; k < n / 2; k++)
		r->sw[k] = (int16_t)((((int32_t)d->sw[k] * s->sw[k] >> 14) + 1) >> 1);
}
SSSE3_PAIR(pmulhrsw, pmulhrsw)

/* Element-wise PSIGN and PABS. */
#define ELEMENTWISE(name, lane, T, expr)						\
	static void name(union x128 *r, const union x128 *d, const union x128 *s, unsigned n) \
	{										\
		for (unsigned k = 0; k < n / sizeof(T); k++) {				\
			int64_t a = d->lane[k], b = s->lane[k];				\
			(void)a;							\
			r->lane[k] = (T)(expr);						\
		}									\
	}										\
	SSSE3_PAIR(name, name)

ELEMENTWISE(psignb, sb, int8_t, b < 0 ? -a : b == 0 ? 0 : a)
ELEMENTWISE(psignw, sw, int16_t, b < 0 ? -a : b == 0 ? 0 : a)
ELEMENTWISE(psignd, sd, int32_t, b < 0 ? -a : b == 0 ? 0 : a)
ELEMENTWISE(pabsb, sb, int8_t, b < 0 ? -b : b)
ELEMENTWISE(pabsw, sw, int16_t, b < 0 ? -b : b)
ELEMENTWISE(pabsd, sd, int32_t, b < 0 ? -b : b)

/* PALIGNR: the concatenation dest:src shifted right by imm8 bytes. */
static void palignr(union x128 *r, const union x128 *d, const union x128 *s, unsigned n, unsigned imm)
{
	uint8_t cat[32];
	memcpy(cat, s->b, n);
	memcpy(cat + n, d->b, n);
	for (unsigned k = 0; k < n; k++)
		r->b[k] = imm + k < 2 * n ? cat[imm + k] : 0;
}

void palignr_Pq_Qq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	union x128 s = { .q = { mmx_src(cpu, i, 8), 0 } };
	union x128 d = { .q = { mmx_get(cpu, i->reg), 0 } }, r;
	palignr(&r, &d, &s, 8, (unsigned)(i->imm & 0xff));
	mmx_put(cpu, i->reg, r.q[0]);
}

void palignr_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), r;
	palignr(&r, sse4_xmm(cpu, i->reg), &s, 16, (unsigned)(i->imm & 0xff));
	*sse4_xmm(cpu, i->reg) = r;
}
