/*
 * avx2.c - the VEX integer instructions: the AVX forms (VEX.128) of the
 * SSE2..SSE4.2 integer instructions and their AVX2 VEX.256 forms, plus
 * the AVX2-only permutes, broadcasts, variable shifts, masked moves and
 * gathers (SDM Vol. 2, V* pages; Vol. 1 14.7).
 *
 * Element operations are made by template macros over element width and
 * an expression; the operand engine (avx_op, avx.h) applies the VEX rules.
 * Operations that work within 128-bit lanes (unpacks, packs, PSHUFB,
 * PALIGNR, horizontal adds, byte shifts) loop over lanes explicitly.
 */
#include "avx.h"

#include <string.h>

#include "alu.h"
#include "cpu.h"
#include "cpuid.h"
#include "interp.h"
#include "mem.h"

static inline int sat_s8(int v) { return v < -128 ? -128 : v > 127 ? 127 : v; }
static inline int sat_u8(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }
static inline int sat_s16(int v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
static inline int sat_u16(int v) { return v < 0 ? 0 : v > 65535 ? 65535 : v; }

#define EL_PARAMS struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a, \
		  const union vreg *b, unsigned n

/* Element-wise binary op: F the union field, T the element type used
 * for x and y. */
#define IEL(name, F, T, EXPR)								\
static unsigned name##_el(EL_PARAMS)							\
{											\
	for (unsigned k = 0; k < n / sizeof(a->F[0]); k++) {				\
		T x = (T)a->F[k], y = (T)b->F[k];					\
		d->F[k] = (EXPR);							\
	}										\
	return 0;									\
}
#define IBIN(name, F, T, EXPR)								\
IEL(name, F, T, EXPR)									\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, 0); }
/* Element-wise unary op on the rm operand (vvvv unused). */
#define IUN(name, F, T, EXPR)								\
static unsigned name##_el(EL_PARAMS)							\
{											\
	for (unsigned k = 0; k < n / sizeof(b->F[0]); k++) {				\
		T x = (T)b->F[k];							\
		d->F[k] = (EXPR);							\
	}										\
	return 0;									\
}											\
void name(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, name##_el, AX_NOV); }

IBIN(vpaddb, b, uint8_t, x + y)
IBIN(vpaddw, w, uint16_t, x + y)
IBIN(vpaddd, d, uint32_t, x + y)
IBIN(vpaddq, q, uint64_t, x + y)
IBIN(vpsubb, b, uint8_t, x - y)
IBIN(vpsubw, w, uint16_t, x - y)
IBIN(vpsubd, d, uint32_t, x - y)
IBIN(vpsubq, q, uint64_t, x - y)
IBIN(vpaddsb, b, int8_t, sat_s8(x + y))
IBIN(vpaddsw, w, int16_t, sat_s16(x + y))
IBIN(vpaddusb, b, uint8_t, sat_u8(x + y))
IBIN(vpaddusw, w, uint16_t, sat_u16(x + y))
IBIN(vpsubsb, b, int8_t, sat_s8(x - y))
IBIN(vpsubsw, w, int16_t, sat_s16(x - y))
IBIN(vpsubusb, b, uint8_t, sat_u8(x - y))
IBIN(vpsubusw, w, uint16_t, sat_u16(x - y))
IBIN(vpand, q, uint64_t, x & y)
IBIN(vpandn, q, uint64_t, ~x & y)
IBIN(vpor, q, uint64_t, x | y)
IBIN(vpxor, q, uint64_t, x ^ y)
IBIN(vpcmpeqb, b, uint8_t, x == y ? 0xff : 0)
IBIN(vpcmpeqw, w, uint16_t, x == y ? 0xffff : 0)
IBIN(vpcmpeqd, d, uint32_t, x == y ? ~0u : 0)
IBIN(vpcmpeqq, q, uint64_t, x == y ? ~0ull : 0)
IBIN(vpcmpgtb, b, int8_t, x > y ? 0xff : 0)
IBIN(vpcmpgtw, w, int16_t, x > y ? 0xffff : 0)
IBIN(vpcmpgtd, d, int32_t, x > y ? ~0u : 0)
IBIN(vpcmpgtq, q, int64_t, x > y ? ~0ull : 0)
IBIN(vpminub, b, uint8_t, x < y ? x : y)
IBIN(vpminuw, w, uint16_t, x < y ? x : y)
IBIN(vpminud, d, uint32_t, x < y ? x : y)
IBIN(vpminsb, b, int8_t, x < y ? x : y)
IBIN(vpminsw, w, int16_t, x < y ? x : y)
IBIN(vpminsd, d, int32_t, x < y ? x : y)
IBIN(vpmaxub, b, uint8_t, x > y ? x : y)
IBIN(vpmaxuw, w, uint16_t, x > y ? x : y)
IBIN(vpmaxud, d, uint32_t, x > y ? x : y)
IBIN(vpmaxsb, b, int8_t, x > y ? x : y)
IBIN(vpmaxsw, w, int16_t, x > y ? x : y)
IBIN(vpmaxsd, d, int32_t, x > y ? x : y)
IBIN(vpavgb, b, unsigned, (x + y + 1) >> 1)
IBIN(vpavgw, w, unsigned, (x + y + 1) >> 1)
IBIN(vpmullw, w, int32_t, (uint16_t)(int16_t)x * (int16_t)y)
IBIN(vpmulhw, w, int16_t, (uint16_t)(((int32_t)x * y) >> 16))
IBIN(vpmulhuw, w, uint32_t, (uint16_t)((x * y) >> 16))
IBIN(vpmulld, d, uint64_t, (uint32_t)(x * y))
IBIN(vpmuludq, q, uint64_t, (x & 0xffffffffu) * (y & 0xffffffffu))
IBIN(vpmuldq, q, uint64_t, (uint64_t)((int64_t)(int32_t)x * (int32_t)y))
IBIN(vpmulhrsw, w, int16_t, (uint16_t)((((int32_t)x * y >> 14) + 1) >> 1))
IBIN(vpsignb, b, int8_t, y < 0 ? -x : y == 0 ? 0 : x)
IBIN(vpsignw, w, int16_t, y < 0 ? -x : y == 0 ? 0 : x)
IBIN(vpsignd, d, int32_t, y < 0 ? (uint32_t)-(int64_t)x : y == 0 ? 0u : (uint32_t)x)
IUN(vpabsb, b, int8_t, x < 0 ? -x : x)
IUN(vpabsw, w, int16_t, x < 0 ? -x : x)
IUN(vpabsd, d, int32_t, x < 0 ? (uint32_t)-(int64_t)x : (uint32_t)x)
/* AVX2 variable shifts: counts per element from b. */
IEL(vpsllvd_, d, uint32_t, y > 31 ? 0 : x << y)
IEL(vpsllvq_, q, uint64_t, y > 63 ? 0 : x << y)
IEL(vpsrlvd_, d, uint32_t, y > 31 ? 0 : x >> y)
IEL(vpsrlvq_, q, uint64_t, y > 63 ? 0 : x >> y)
IBIN(vpsravd, d, uint32_t, (uint32_t)((int32_t)x >> (y > 31 ? 31 : y)))
void vpsllv(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, (i->flags & INSN_REXW) ? vpsllvq__el : vpsllvd__el, 0); }
void vpsrlv(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, (i->flags & INSN_REXW) ? vpsrlvq__el : vpsrlvd__el, 0); }

static unsigned vpmaddwd_el(EL_PARAMS)
{
	for (unsigned k = 0; k < n / 4; k++)
		/* -32768 * -32768 twice wraps to 0x80000000, as on hardware:
		 * sum in unsigned arithmetic. */
		d->d[k] = (uint32_t)((int32_t)(int16_t)a->w[2 * k] * (int16_t)b->w[2 * k]) +
			  (uint32_t)((int32_t)(int16_t)a->w[2 * k + 1] * (int16_t)b->w[2 * k + 1]);
	return 0;
}
void vpmaddwd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vpmaddwd_el, 0); }

static unsigned vpmaddubsw_el(EL_PARAMS)
{
	for (unsigned k = 0; k < n / 2; k++)
		d->w[k] = (uint16_t)sat_s16(a->b[2 * k] * (int8_t)b->b[2 * k] + a->b[2 * k + 1] * (int8_t)b->b[2 * k + 1]);
	return 0;
}
void vpmaddubsw(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vpmaddubsw_el, 0); }

static unsigned vpsadbw_el(EL_PARAMS)
{
	for (unsigned k = 0; k < n / 8; k++) {
		unsigned s = 0;
		for (unsigned j = 0; j < 8; j++) {
			int x = a->b[8 * k + j] - b->b[8 * k + j];
			s += (unsigned)(x < 0 ? -x : x);
		}
		d->q[k] = s;
	}
	return 0;
}
void vpsadbw(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vpsadbw_el, 0); }

/* ---- lane operations ---------------------------------------------------- */

static unsigned vpshufb_el(EL_PARAMS)
{
	union vreg r;
	for (unsigned k = 0; k < n; k++)
		r.b[k] = (b->b[k] & 0x80) ? 0 : a->b[(k & ~15u) + (b->b[k] & 15)];
	*d = r;
	return 0;
}
void vpshufb(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, vpshufb_el, 0); }

/* Unpacks: element size es, high half when the opcode says so. */
static unsigned unpck_el(EL_PARAMS)
{
	unsigned opc = opcode_table[i->op].opcode;
	unsigned es = (opc == 0x6c || opc == 0x6d) ? 8 : 1u << (opc & 3);
	bool high = opc == 0x6d || (opc >= 0x68 && opc <= 0x6a);
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		const uint8_t *x = &a->b[l * 16 + (high ? 8 : 0)], *y = &b->b[l * 16 + (high ? 8 : 0)];
		for (unsigned k = 0; k < 8 / es; k++) {
			memcpy(&r.b[l * 16 + 2 * k * es], x + k * es, es);
			memcpy(&r.b[l * 16 + (2 * k + 1) * es], y + k * es, es);
		}
	}
	*d = r;
	return 0;
}
void vpunpckl(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, unpck_el, 0); }

/* Packs: signed/unsigned saturation of words to bytes or dwords to words. */
static unsigned pack_el(EL_PARAMS)
{
	const struct opdesc *od = &opcode_table[i->op];
	unsigned kind = od->map == MAP_0F38 ? 3 : od->opcode == 0x63 ? 0 : od->opcode == 0x67 ? 1 : 2;
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		for (unsigned h = 0; h < 2; h++) {
			const union vreg *s = h ? b : a;
			for (unsigned k = 0; k < (kind < 2 ? 8u : 4u); k++) {
				switch (kind) {
				case 0: r.b[l * 16 + h * 8 + k] = (uint8_t)sat_s8((int16_t)s->w[l * 8 + k]); break;
				case 1: r.b[l * 16 + h * 8 + k] = (uint8_t)sat_u8((int16_t)s->w[l * 8 + k]); break;
				case 2: r.w[l * 8 + h * 4 + k] = (uint16_t)sat_s16((int32_t)s->d[l * 4 + k]); break;
				default: {
					int32_t v = (int32_t)s->d[l * 4 + k];
					r.w[l * 8 + h * 4 + k] = (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
				}
				}
			}
		}
	}
	*d = r;
	return 0;
}
void vpack(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, pack_el, 0); }

/* Horizontal adds/subtracts of words/dwords per lane (SSSE3 forms). */
static unsigned phadd_el(EL_PARAMS)
{
	unsigned opc = opcode_table[i->op].opcode;
	bool sub = opc >= 5, dw = (opc & 3) == 2, sat = (opc & 3) == 3;
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		for (unsigned h = 0; h < 2; h++) {
			const union vreg *s = h ? b : a;
			if (dw) {
				for (unsigned k = 0; k < 2; k++) {
					uint32_t x = s->d[l * 4 + 2 * k], y = s->d[l * 4 + 2 * k + 1];
					r.d[l * 4 + h * 2 + k] = sub ? x - y : x + y;
				}
			} else {
				for (unsigned k = 0; k < 4; k++) {
					int x = (int16_t)s->w[l * 8 + 2 * k], y = (int16_t)s->w[l * 8 + 2 * k + 1];
					int v = sub ? x - y : x + y;
					r.w[l * 8 + h * 4 + k] = (uint16_t)(sat ? sat_s16(v) : v);
				}
			}
		}
	}
	*d = r;
	return 0;
}
void vphadd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, phadd_el, 0); }

static unsigned palignr_el(EL_PARAMS)
{
	union vreg r;
	unsigned sh = (unsigned)i->imm & 0xff;
	for (unsigned l = 0; l < n / 16; l++) {
		uint8_t t[32];
		memcpy(t, &b->b[l * 16], 16);
		memcpy(t + 16, &a->b[l * 16], 16);
		for (unsigned k = 0; k < 16; k++)
			r.b[l * 16 + k] = k + sh < 32 ? t[k + sh] : 0;
	}
	*d = r;
	return 0;
}
void vpalignr(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, palignr_el, 0); }

static unsigned pshufd_el(EL_PARAMS)
{
	const struct opdesc *od = &opcode_table[i->op];
	unsigned im = (unsigned)i->imm;
	union vreg r = *b;
	for (unsigned l = 0; l < n / 16; l++) {
		for (unsigned k = 0; k < 4; k++) {
			unsigned sel = (im >> (2 * k)) & 3;
			if (od->pfx == PFX_66)
				r.d[l * 4 + k] = b->d[l * 4 + sel];
			else if (od->pfx == PFX_F3)	/* PSHUFHW */
				r.w[l * 8 + 4 + k] = b->w[l * 8 + 4 + sel];
			else				/* PSHUFLW */
				r.w[l * 8 + k] = b->w[l * 8 + sel];
		}
	}
	*d = r;
	return 0;
}
void vpshufd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, pshufd_el, AX_NOV); }

static unsigned pblendw_el(EL_PARAMS)
{
	for (unsigned k = 0; k < n / 2; k++)
		d->w[k] = ((i->imm >> (k & 7)) & 1) ? b->w[k] : a->w[k];
	return 0;
}
void vpblendw(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, pblendw_el, 0); }

static unsigned pblendd_el(EL_PARAMS)
{
	for (unsigned k = 0; k < n / 4; k++)
		d->d[k] = ((i->imm >> k) & 1) ? b->d[k] : a->d[k];
	return 0;
}
void vpblendd(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, pblendd_el, 0); }

static unsigned mpsadbw_el(EL_PARAMS)
{
	union vreg r;
	for (unsigned l = 0; l < n / 16; l++) {
		unsigned im = (unsigned)i->imm >> (3 * l);
		unsigned ao = l * 16 + ((im >> 2) & 1) * 4, bo = l * 16 + (im & 3) * 4;
		for (unsigned k = 0; k < 8; k++) {
			unsigned s = 0;
			for (unsigned j = 0; j < 4; j++) {
				int x = a->b[ao + k + j] - b->b[bo + j];
				s += (unsigned)(x < 0 ? -x : x);
			}
			r.w[l * 8 + k] = (uint16_t)s;
		}
	}
	*d = r;
	return 0;
}
void vmpsadbw(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, mpsadbw_el, 0); }

static unsigned phminposuw_el(EL_PARAMS)
{
	unsigned best = 0;
	for (unsigned k = 1; k < 8; k++)
		if (b->w[k] < b->w[best])
			best = k;
	memset(d, 0, sizeof(*d));
	d->w[0] = b->w[best];
	d->w[1] = (uint16_t)best;
	return 0;
}
void vphminposuw(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, phminposuw_el, AX_NOV | AX_L128); }

/* VPMOVSX/ZX: widen elements from the low part of b. */
static unsigned pmovx_el(EL_PARAMS)
{
	unsigned opc = opcode_table[i->op].opcode;
	bool sx = opc < 0x30;
	static const uint8_t from[6] = { 1, 1, 1, 2, 2, 4 }, to[6] = { 2, 4, 8, 4, 8, 8 };
	unsigned f = from[opc & 7], t = to[opc & 7];
	union vreg r;
	for (unsigned k = 0; k < n / t; k++) {
		uint64_t v = 0;
		memcpy(&v, &b->b[k * f], f);
		if (sx) {
			unsigned sh = 64 - 8 * f;
			v = (uint64_t)((int64_t)(v << sh) >> sh);
		}
		memcpy(&r.b[k * t], &v, t);
	}
	*d = r;
	return 0;
}
void vpmovx(struct cpu *cpu, const struct insn *i)
{
	unsigned opc = opcode_table[i->op].opcode & 7;
	static const uint8_t code[6] = { AM_HALF, AM_QUARTER, AM_EIGHTH, AM_HALF, AM_QUARTER, AM_HALF };
	avx_op(cpu, i, pmovx_el, AX_NOV | AX_M(code[opc]));
}

/* ---- shifts --------------------------------------------------------------- */

/* Shift every element of src by count (logical left/right, arithmetic). */
static void shift_vec(union vreg *r, const union vreg *s, unsigned es, unsigned kind, uint64_t count, unsigned n)
{
	unsigned bits = es * 8;
	for (unsigned k = 0; k < n / es; k++) {
		uint64_t v = 0;
		memcpy(&v, &s->b[k * es], es);
		if (kind == 0)		/* left */
			v = count >= bits ? 0 : v << count;
		else if (kind == 1)	/* logical right */
			v = count >= bits ? 0 : v >> count;
		else {			/* arithmetic right */
			unsigned sh = 64 - bits;
			int64_t sv = (int64_t)(v << sh) >> sh;
			v = (uint64_t)(sv >> (count >= bits ? bits - 1 : count));
		}
		memcpy(&r->b[k * es], &v, es);
	}
}

/* Opcode -> (element size, kind) for D1-D3, E1-E2, F1-F3. */
static void shift_kind(unsigned opc, unsigned *es, unsigned *kind)
{
	*es = 1u << (opc & 3);
	*kind = (opc & 0xf0) == 0xf0 ? 0 : (opc & 0xf0) == 0xd0 ? 1 : 2;
}

static unsigned shift_xmm_el(EL_PARAMS)
{
	unsigned es, kind;
	shift_kind(opcode_table[i->op].opcode, &es, &kind);
	shift_vec(d, a, es, kind, b->q[0], n);
	return 0;
}
void vpshift_xmm(struct cpu *cpu, const struct insn *i) { avx_op(cpu, i, shift_xmm_el, AX_M(AM_16)); }

/* Immediate shifts (71/72/73 /r): the destination is VEX.vvvv. */
void vpshift_imm(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	unsigned opc = opcode_table[i->op].opcode, sub = (opcode_table[i->op].ext & 7);
	unsigned n = avx_len(i);
	const union vreg *s = &cpu->vr[i->rm & 15];
	union vreg r;
	unsigned cnt = (unsigned)i->imm & 0xff;
	if (opc == 0x73 && (sub == 3 || sub == 7)) {	/* VPSRLDQ / VPSLLDQ per lane */
		for (unsigned l = 0; l < n / 16; l++)
			for (unsigned k = 0; k < 16; k++) {
				int src = sub == 3 ? (int)(k + cnt) : (int)k - (int)cnt;
				r.b[l * 16 + k] = (src >= 0 && src < 16) ? s->b[l * 16 + src] : 0;
			}
	} else {
		unsigned es = opc == 0x71 ? 2 : opc == 0x72 ? 4 : 8;
		unsigned kind = sub == 6 ? 0 : sub == 2 ? 1 : 2;
		shift_vec(&r, s, es, kind, cnt, n);
	}
	avx_set(cpu, i->vvvv, &r, n);
}

/* ---- GPR <-> element ------------------------------------------------------- */

void vpmovmskb(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	const union vreg *s = &cpu->vr[i->rm & 15];
	uint32_t m = 0;
	for (unsigned k = 0; k < avx_len(i); k++)
		m |= (uint32_t)(s->b[k] >> 7) << k;
	cpu->regs[i->reg] = m;
}

/* VPEXTRB/W/D/Q (0F3A 14-16, and 0F C5 for words into a GPR). */
void vpextr(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	const struct opdesc *od = &opcode_table[i->op];
	bool q64 = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	unsigned es = od->map == MAP_0F ? 2 : od->opcode == 0x14 ? 1 : od->opcode == 0x15 ? 2 : q64 ? 8 : 4;
	unsigned src = od->map == MAP_0F ? i->rm : i->reg, dst = od->map == MAP_0F ? i->reg : i->rm;
	unsigned idx = (unsigned)i->imm & (16 / es - 1);
	uint64_t v = 0;
	memcpy(&v, &cpu->vr[src & 15].b[idx * es], es);
	if (od->map == MAP_0F || i->mod == 3)
		cpu->regs[dst] = v;
	else
		mem_write(cpu, i->seg, insn_ea(cpu, i), v, es);
}

/* VPINSRB/W/D/Q: a with one element from a GPR or memory. */
void vpinsr(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	const struct opdesc *od = &opcode_table[i->op];
	bool q64 = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	unsigned es = od->map == MAP_0F ? 2 : od->opcode == 0x20 ? 1 : q64 ? 8 : 4;
	uint64_t v = i->mod == 3 ? cpu->regs[i->rm] : mem_read(cpu, i->seg, insn_ea(cpu, i), es);
	union vreg r = cpu->vr[i->vvvv & 15];
	memcpy(&r.b[((unsigned)i->imm & (16 / es - 1)) * es], &v, es);
	avx_set(cpu, i->reg, &r, 16);
}

/* VMASKMOVDQU: byte-masked store of xmm reg to DS:rDI (VEX.128). */
void vmaskmovdqu(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	if (i->vvvv)
		insn_ud(cpu, i);
	const union vreg *s = &cpu->vr[i->reg & 15], *m = &cpu->vr[i->rm & 15];
	unsigned seg = (i->flags & INSN_SEGOVR) ? i->seg : S_DS;
	uint64_t base = cpu->regs[R_DI];
	for (unsigned k = 0; k < 16; k++)
		if (m->b[k] & 0x80)
			mem_probe_write(cpu, seg, (base + k) & size_mask[i->asz], 1);
	for (unsigned k = 0; k < 16; k++)
		if (m->b[k] & 0x80)
			mem_write8(cpu, seg, (base + k) & size_mask[i->asz], s->b[k]);
}

/* ---- AVX2 permutes and broadcasts ------------------------------------------ */

static unsigned bcast_el(EL_PARAMS)
{
	unsigned opc = opcode_table[i->op].opcode;
	unsigned es = opc == 0x78 ? 1 : opc == 0x79 ? 2 : opc == 0x58 ? 4 : opc == 0x59 ? 8 : 16;
	for (unsigned k = 0; k < n; k += es)
		memcpy(&d->b[k], b->b, es);
	return 0;
}
void vpbroadcast(struct cpu *cpu, const struct insn *i)
{
	unsigned opc = opcode_table[i->op].opcode;
	if (opc == 0x5a)
		avx_need_l1(cpu, i);	/* VBROADCASTI128 */
	unsigned code = opc == 0x78 ? AM_1 : opc == 0x79 ? AM_2 : opc == 0x58 ? AM_4 : opc == 0x59 ? AM_8 : AM_16;
	avx_op(cpu, i, bcast_el, AX_NOV | AX_M(code));
}

static unsigned insert128_el(EL_PARAMS)
{
	*d = *a;
	memcpy(&d->b[(i->imm & 1) * 16], b->b, 16);
	return 0;
}
void vinserti128(struct cpu *cpu, const struct insn *i) { avx_need_l1(cpu, i); avx_op(cpu, i, insert128_el, AX_M(AM_16)); }

static unsigned perm2_el(EL_PARAMS)
{
	union vreg r;
	for (unsigned h = 0; h < 2; h++) {
		unsigned sel = (unsigned)(i->imm >> (4 * h));
		const union vreg *s = (sel & 2) ? b : a;
		if (sel & 8)
			memset(&r.b[h * 16], 0, 16);
		else
			memcpy(&r.b[h * 16], &s->b[(sel & 1) * 16], 16);
	}
	*d = r;
	return 0;
}
void vperm2i128(struct cpu *cpu, const struct insn *i) { avx_need_l1(cpu, i); avx_op(cpu, i, perm2_el, 0); }

/* VPERMD/VPERMPS: dwords of b indexed by a; VPERMQ/VPERMPD: qwords of b by imm. */
static unsigned permd_el(EL_PARAMS)
{
	union vreg r;
	for (unsigned k = 0; k < 8; k++)
		r.d[k] = b->d[a->d[k] & 7];
	*d = r;
	return 0;
}
static unsigned permq_el(EL_PARAMS)
{
	union vreg r;
	for (unsigned k = 0; k < 4; k++)
		r.q[k] = b->q[(i->imm >> (2 * k)) & 3];
	*d = r;
	return 0;
}
void vpermd(struct cpu *cpu, const struct insn *i) { avx_need_l1(cpu, i); avx_op(cpu, i, permd_el, 0); }
void vpermq(struct cpu *cpu, const struct insn *i) { avx_need_l1(cpu, i); avx_op(cpu, i, permq_el, AX_NOV); }

/* ---- gathers ---------------------------------------------------------------- */

/*
 * VGATHERDPS/DPD/QPS/QPD, VPGATHERDD/DQ/QD/QQ (SDM Vol. 2 VGATHER*): for
 * each element whose mask (vvvv) sign bit is set, load from base +
 * index[k] * scale + disp, where index is a dword or qword element of
 * the VSIB index register. #UD when ModRM.rm is not a SIB memory form,
 * or when any two of destination, index and mask are the same register.
 * Elements complete in order and a fault leaves the completed ones loaded
 * with their mask bits cleared (the instruction restarts from there);
 * at the end the whole mask register is zeroed.
 */
void vgather(struct cpu *cpu, const struct insn *i)
{
	avx_check(cpu);
	const struct opdesc *od = &opcode_table[i->op];
	bool qidx = od->opcode & 1;		/* 91/93: qword indices */
	bool qel = (i->flags & INSN_REXW) != 0;	/* W1: qword elements */
	unsigned vidx = i->index, dst = i->reg & 15, msk = i->vvvv & 15;
	if (i->mod == 3 || i->asz == 1)
		insn_ud(cpu, i);
	/* OPF_VSIB: the decoder refused forms without SIB and gives index
	 * 100b as 4 (XMM4/YMM4). */
	vidx &= 15;
	if (dst == vidx || dst == msk || vidx == msk)
		insn_ud(cpu, i);
	unsigned L = avx_len(i), es = qel ? 8 : 4;
	unsigned nidx = L / (qidx ? 8 : 4), nel = L / es;
	unsigned cnt = nidx < nel ? nidx : nel;
	uint64_t base = cpu->regs[i->base] + (int64_t)i->disp;
	if (i->flags & INSN_RIPREL)
		base += cpu->next_rip;
	for (unsigned k = 0; k < cnt; k++) {
		union vreg *m = &cpu->vr[msk], *d = &cpu->vr[dst];
		if (!(m->b[k * es + es - 1] & 0x80))
			continue;
		int64_t ix = qidx ? (int64_t)cpu->vr[vidx].q[k] : (int64_t)(int32_t)cpu->vr[vidx].d[k];
		uint64_t ea = (base + ((uint64_t)ix << i->scale)) & size_mask[i->asz];
		uint64_t v = mem_read(cpu, i->seg, ea, es);
		memcpy(&d->b[k * es], &v, es);
		memset(&m->b[k * es], 0, es);
	}
	/* Elements past cnt, and the upper lanes of 128-bit forms, are zeroed. */
	union vreg *d = &cpu->vr[dst];
	memset(&d->b[cnt * es], 0, 32 - cnt * es);
	memset(&cpu->vr[msk], 0, sizeof(union vreg));
}

/* ---- VEX.128 forms of SSE4.2 string compares, AES-NI, PCLMULQDQ ----------- */

/*
 * These run the legacy handler (sse42.c, aes.c, pclmul.c) on registers
 * prepared so that it computes the VEX form: the rm operand is read here
 * (no alignment needed in VEX form) into a scratch register, the first
 * source (VEX.vvvv) is placed in the destination, and everything the
 * legacy handler was not meant to change is put back; a vector result
 * gets bits 255:128 zeroed. The legacy SSE availability check must pass
 * (CR4.OSFXSR = 1, CR0.EM = 0), which an OS enabling AVX always has.
 */
enum { VL_DST = 1, VL_THREE = 2, VL_XMM0 = 4 };

static void via_legacy(struct cpu *cpu, const struct insn *i, insn_fn legacy, unsigned feat, unsigned how)
{
	avx_check(cpu);
	if (!cpu_has(cpu, feat) || (!(how & VL_THREE) && i->vvvv))
		insn_ud(cpu, i);
	if (!(cpu->cr4 & CR4_OSFXSR) || (cpu->cr0 & CR0_EM))
		insn_ud(cpu, i);
	union vreg b, a = cpu->vr[i->vvvv & 15];
	avx_read_rm(cpu, i, &b, 16, false);
	unsigned dst = i->reg & 15, tmp = dst == 1 ? 2 : 1;
	union vreg save_d = cpu->vr[dst], save_t = cpu->vr[tmp];
	if (how & VL_THREE)
		memcpy(cpu->vr[dst].b, a.b, 16);
	memcpy(cpu->vr[tmp].b, b.b, 16);
	struct insn j = *i;
	j.mod = 3;
	j.rm = (uint8_t)tmp;
	legacy(cpu, &j);
	union vreg r = cpu->vr[dst], x0 = cpu->vr[0];
	cpu->vr[tmp] = save_t;
	cpu->vr[dst] = save_d;
	if (how & VL_DST)
		avx_set(cpu, dst, &r, 16);
	if (how & VL_XMM0)
		avx_set(cpu, 0, &x0, 16);
}

#define VIA_LEGACY(name, legacy, feat, how) \
	void name(struct cpu *cpu, const struct insn *i) { via_legacy(cpu, i, legacy, feat, how); }
VIA_LEGACY(vaesenc, aesenc_Vdq_Wdq, FEAT_AES, VL_DST | VL_THREE)
VIA_LEGACY(vaesenclast, aesenclast_Vdq_Wdq, FEAT_AES, VL_DST | VL_THREE)
VIA_LEGACY(vaesdec, aesdec_Vdq_Wdq, FEAT_AES, VL_DST | VL_THREE)
VIA_LEGACY(vaesdeclast, aesdeclast_Vdq_Wdq, FEAT_AES, VL_DST | VL_THREE)
VIA_LEGACY(vaesimc, aesimc_Vdq_Wdq, FEAT_AES, VL_DST)
VIA_LEGACY(vaeskeygenassist, aeskeygenassist_Vdq_Wdq_Ib, FEAT_AES, VL_DST)
VIA_LEGACY(vpclmulqdq, pclmulqdq_Vdq_Wdq_Ib, FEAT_PCLMULQDQ, VL_DST | VL_THREE)
VIA_LEGACY(vpcmpestri, pcmpestri_Vdq_Wdq_Ib, FEAT_SSE42, 0)
VIA_LEGACY(vpcmpistri, pcmpistri_Vdq_Wdq_Ib, FEAT_SSE42, 0)
VIA_LEGACY(vpcmpestrm, pcmpestrm_Vdq_Wdq_Ib, FEAT_SSE42, VL_XMM0)
VIA_LEGACY(vpcmpistrm, pcmpistrm_Vdq_Wdq_Ib, FEAT_SSE42, VL_XMM0)
