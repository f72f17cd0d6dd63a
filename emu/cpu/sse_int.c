/*
 * sse_int.c - the integer SIMD instructions in their MMX (PFX_NP, P/Q
 * operands) and SSE2 (PFX_66, V/W operands) forms: arithmetic with and
 * without saturation, compares, packs and unpacks, shifts, logic,
 * averages, min/max, multiplies and sums of absolute differences, plus
 * the shuffles and inserts/extracts with immediates (SDM Vol. 2, PADDB
 * ... PXOR; Vol. 1 9.4 and 11.4).
 *
 * One kernel per operation works on n bytes (8, 16 or 32); the handlers
 * instantiate it for MMX and XMM operands. Operations that pair halves
 * (packs, unpacks, PSADBW) work per 128-bit lane, or on the whole 64-bit
 * MMX register, as AVX2 and MMX define them.
 */
#include "sse.h"

#define LANE(n) ((n) > 16 ? 16u : (n))

/* Element loops: T element type, expression in terms of x (a) and y (b). */
#define EW(name, T, expr) \
	void sse_k_##name(union vreg *d, const union vreg *a, const union vreg *b, unsigned n) \
	{ \
		union vreg r; \
		for (unsigned k = 0; k < n / sizeof(T); k++) { \
			T x, y, z; \
			memcpy(&x, a->b + k * sizeof(T), sizeof(T)); \
			memcpy(&y, b->b + k * sizeof(T), sizeof(T)); \
			z = (T)(expr); \
			memcpy(r.b + k * sizeof(T), &z, sizeof(T)); \
		} \
		memcpy(d, &r, n); \
	}

static inline int64_t sat(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

EW(paddb, uint8_t, x + y)
EW(paddw, uint16_t, x + y)
EW(paddd, uint32_t, x + y)
EW(paddq, uint64_t, x + y)
EW(psubb, uint8_t, x - y)
EW(psubw, uint16_t, x - y)
EW(psubd, uint32_t, x - y)
EW(psubq, uint64_t, x - y)
EW(paddsb, int8_t, sat((int64_t)x + y, INT8_MIN, INT8_MAX))
EW(paddsw, int16_t, sat((int64_t)x + y, INT16_MIN, INT16_MAX))
EW(psubsb, int8_t, sat((int64_t)x - y, INT8_MIN, INT8_MAX))
EW(psubsw, int16_t, sat((int64_t)x - y, INT16_MIN, INT16_MAX))
EW(paddusb, uint8_t, sat((int64_t)x + y, 0, UINT8_MAX))
EW(paddusw, uint16_t, sat((int64_t)x + y, 0, UINT16_MAX))
EW(psubusb, uint8_t, sat((int64_t)x - y, 0, UINT8_MAX))
EW(psubusw, uint16_t, sat((int64_t)x - y, 0, UINT16_MAX))
EW(pcmpgtb, int8_t, x > y ? -1 : 0)
EW(pcmpgtw, int16_t, x > y ? -1 : 0)
EW(pcmpgtd, int32_t, x > y ? -1 : 0)
EW(pcmpeqb, uint8_t, x == y ? -1 : 0)
EW(pcmpeqw, uint16_t, x == y ? -1 : 0)
EW(pcmpeqd, uint32_t, x == y ? -1 : 0)
EW(pmullw, uint16_t, (uint32_t)x * y)
EW(pmulhw, int16_t, ((int32_t)x * y) >> 16)
EW(pmulhuw, uint16_t, ((uint32_t)x * y) >> 16)
EW(pmuludq, uint64_t, (x & 0xffffffffu) * (y & 0xffffffffu))
EW(pavgb, uint8_t, ((unsigned)x + y + 1) >> 1)
EW(pavgw, uint16_t, ((unsigned)x + y + 1) >> 1)
EW(pminub, uint8_t, x < y ? x : y)
EW(pmaxub, uint8_t, x > y ? x : y)
EW(pminsw, int16_t, x < y ? x : y)
EW(pmaxsw, int16_t, x > y ? x : y)
EW(pand, uint64_t, x & y)
EW(pandn, uint64_t, ~x & y)
EW(por, uint64_t, x | y)
EW(pxor, uint64_t, x ^ y)

void sse_k_pmaddwd(union vreg *d, const union vreg *a, const union vreg *b, unsigned n)
{
	union vreg r;
	for (unsigned k = 0; k < n / 4; k++)
		/* Summed unsigned: -32768 * -32768 twice wraps to 0x80000000. */
		r.d[k] = (uint32_t)((int32_t)(int16_t)a->w[2 * k] * (int16_t)b->w[2 * k]) +
			 (uint32_t)((int32_t)(int16_t)a->w[2 * k + 1] * (int16_t)b->w[2 * k + 1]);
	memcpy(d, &r, n);
}

void sse_k_psadbw(union vreg *d, const union vreg *a, const union vreg *b, unsigned n)
{
	union vreg r;
	for (unsigned k = 0; k < n / 8; k++) {
		unsigned s = 0;
		for (unsigned j = 0; j < 8; j++) {
			int t = a->b[8 * k + j] - b->b[8 * k + j];
			s += (unsigned)(t < 0 ? -t : t);
		}
		r.q[k] = s;
	}
	memcpy(d, &r, n);
}

/* Unpacks: per lane of L bytes, interleave the low (hi = 0) or high
 * halves of a and b in elements of `es` bytes. */
static void unpack(union vreg *d, const union vreg *a, const union vreg *b, unsigned n, unsigned es, bool hi)
{
	union vreg r;
	unsigned L = LANE(n);
	for (unsigned l = 0; l < n; l += L) {
		unsigned src = l + (hi ? L / 2 : 0);
		for (unsigned k = 0; k < L / 2 / es; k++) {
			memcpy(r.b + l + 2 * k * es, a->b + src + k * es, es);
			memcpy(r.b + l + (2 * k + 1) * es, b->b + src + k * es, es);
		}
	}
	memcpy(d, &r, n);
}

#define UNPACK(name, es, hi) \
	void sse_k_##name(union vreg *d, const union vreg *a, const union vreg *b, unsigned n) \
	{ unpack(d, a, b, n, es, hi); }
UNPACK(punpcklbw, 1, false)
UNPACK(punpcklwd, 2, false)
UNPACK(punpckldq, 4, false)
UNPACK(punpcklqdq, 8, false)
UNPACK(punpckhbw, 1, true)
UNPACK(punpckhwd, 2, true)
UNPACK(punpckhdq, 4, true)
UNPACK(punpckhqdq, 8, true)

/* Packs: per lane, the saturated elements of a then those of b. */
static void pack(union vreg *d, const union vreg *a, const union vreg *b, unsigned n, bool dword, bool usat)
{
	union vreg r;
	unsigned L = LANE(n), ns = dword ? 4 : 2, cnt = L / ns;
	for (unsigned l = 0; l < n; l += L) {
		for (unsigned k = 0; k < 2 * cnt; k++) {
			const union vreg *s = k < cnt ? a : b;
			unsigned off = l + (k % cnt) * ns;
			int64_t v;
			if (dword) {
				int32_t t;
				memcpy(&t, s->b + off, 4);
				v = t;
			} else {
				int16_t t;
				memcpy(&t, s->b + off, 2);
				v = t;
			}
			unsigned doff = l + k * ns / 2;
			if (dword) {
				uint16_t o = (uint16_t)sat(v, INT16_MIN, INT16_MAX);
				memcpy(r.b + doff, &o, 2);
			} else {
				r.b[doff] = (uint8_t)(usat ? sat(v, 0, UINT8_MAX) : sat(v, INT8_MIN, INT8_MAX));
			}
		}
	}
	memcpy(d, &r, n);
}
void sse_k_packsswb(union vreg *d, const union vreg *a, const union vreg *b, unsigned n) { pack(d, a, b, n, false, false); }
void sse_k_packuswb(union vreg *d, const union vreg *a, const union vreg *b, unsigned n) { pack(d, a, b, n, false, true); }
void sse_k_packssdw(union vreg *d, const union vreg *a, const union vreg *b, unsigned n) { pack(d, a, b, n, true, false); }

/* Shifts by b->q[0] (the whole 64-bit count; >= element width gives 0,
 * or the sign for arithmetic shifts). */
#define SHIFT(name, T, ST, op, arith) \
	void sse_k_##name(union vreg *d, const union vreg *a, const union vreg *b, unsigned n) \
	{ \
		uint64_t c = b->q[0]; \
		unsigned bits = sizeof(T) * 8; \
		union vreg r; \
		for (unsigned k = 0; k < n / sizeof(T); k++) { \
			T x, z; \
			memcpy(&x, a->b + k * sizeof(T), sizeof(T)); \
			if (c >= bits) \
				z = arith ? (T)((ST)x >> (bits - 1)) : 0; \
			else \
				z = arith ? (T)((ST)x >> c) : (T)(x op c); \
			memcpy(r.b + k * sizeof(T), &z, sizeof(T)); \
		} \
		memcpy(d, &r, n); \
	}
SHIFT(psrlw, uint16_t, int16_t, >>, 0)
SHIFT(psrld, uint32_t, int32_t, >>, 0)
SHIFT(psrlq, uint64_t, int64_t, >>, 0)
SHIFT(psllw, uint16_t, int16_t, <<, 0)
SHIFT(pslld, uint32_t, int32_t, <<, 0)
SHIFT(psllq, uint64_t, int64_t, <<, 0)
SHIFT(psraw, uint16_t, int16_t, >>, 1)
SHIFT(psrad, uint32_t, int32_t, >>, 1)

/* ---- handlers -------------------------------------------------------------- */

static void mmx_op(struct cpu *cpu, const struct insn *i, sse_kernel *k, unsigned srcbytes)
{
	simd_check_mmx(cpu);
	union vreg a, b;
	a.q[0] = mmx_get(cpu, i->reg);
	b.q[0] = mmx_src(cpu, i, srcbytes);
	k(&a, &a, &b, 8);
	mmx_put(cpu, i->reg, a.q[0]);
}

static void xmm_op(struct cpu *cpu, const struct insn *i, sse_kernel *k)
{
	simd_check_sse(cpu);
	union vreg b = sse_src(cpu, i, 16, true), a;
	memcpy(&a, vreg(cpu, i->reg), 16);
	k(&a, &a, &b, 16);
	sse_put(cpu, i->reg, &a);
}

#define INT_HANDLERS(name) \
	void name##_Pq_Qq(struct cpu *cpu, const struct insn *i) { mmx_op(cpu, i, sse_k_##name, 8); } \
	void name##_Vx_Wx(struct cpu *cpu, const struct insn *i) { xmm_op(cpu, i, sse_k_##name); }
#define INT_HANDLERS_LO(name) \
	void name##_Pq_Qd(struct cpu *cpu, const struct insn *i) { mmx_op(cpu, i, sse_k_##name, 4); } \
	void name##_Vx_Wx(struct cpu *cpu, const struct insn *i) { xmm_op(cpu, i, sse_k_##name); }
#define XMM_ONLY(name) \
	void name##_Vx_Wx(struct cpu *cpu, const struct insn *i) { xmm_op(cpu, i, sse_k_##name); }

INT_HANDLERS_LO(punpcklbw) INT_HANDLERS_LO(punpcklwd) INT_HANDLERS_LO(punpckldq)
INT_HANDLERS(punpckhbw) INT_HANDLERS(punpckhwd) INT_HANDLERS(punpckhdq)
XMM_ONLY(punpcklqdq) XMM_ONLY(punpckhqdq)
INT_HANDLERS(packsswb) INT_HANDLERS(packssdw) INT_HANDLERS(packuswb)
INT_HANDLERS(pcmpgtb) INT_HANDLERS(pcmpgtw) INT_HANDLERS(pcmpgtd)
INT_HANDLERS(pcmpeqb) INT_HANDLERS(pcmpeqw) INT_HANDLERS(pcmpeqd)
INT_HANDLERS(paddb) INT_HANDLERS(paddw) INT_HANDLERS(paddd) INT_HANDLERS(paddq)
INT_HANDLERS(psubb) INT_HANDLERS(psubw) INT_HANDLERS(psubd) INT_HANDLERS(psubq)
INT_HANDLERS(paddsb) INT_HANDLERS(paddsw) INT_HANDLERS(paddusb) INT_HANDLERS(paddusw)
INT_HANDLERS(psubsb) INT_HANDLERS(psubsw) INT_HANDLERS(psubusb) INT_HANDLERS(psubusw)
INT_HANDLERS(pmullw) INT_HANDLERS(pmulhw) INT_HANDLERS(pmulhuw) INT_HANDLERS(pmuludq)
INT_HANDLERS(pmaddwd) INT_HANDLERS(psadbw)
INT_HANDLERS(pavgb) INT_HANDLERS(pavgw) INT_HANDLERS(pminub) INT_HANDLERS(pmaxub)
INT_HANDLERS(pminsw) INT_HANDLERS(pmaxsw)
INT_HANDLERS(pand) INT_HANDLERS(pandn) INT_HANDLERS(por) INT_HANDLERS(pxor)
INT_HANDLERS(psrlw) INT_HANDLERS(psrld) INT_HANDLERS(psrlq) INT_HANDLERS(psraw)
INT_HANDLERS(psrad) INT_HANDLERS(psllw) INT_HANDLERS(pslld) INT_HANDLERS(psllq)

/* Shifts by an immediate (0F 71-73 groups). */
static void mmx_shift_imm(struct cpu *cpu, const struct insn *i, sse_kernel *k)
{
	simd_check_mmx(cpu);
	union vreg a, c;
	a.q[0] = mmx_get(cpu, i->rm);
	c.q[0] = (uint8_t)i->imm;
	k(&a, &a, &c, 8);
	mmx_put(cpu, i->rm, a.q[0]);
}
static void xmm_shift_imm(struct cpu *cpu, const struct insn *i, sse_kernel *k)
{
	simd_check_sse(cpu);
	union vreg a, c;
	memcpy(&a, vreg(cpu, i->rm), 16);
	c.q[0] = (uint8_t)i->imm;
	k(&a, &a, &c, 16);
	sse_put(cpu, i->rm, &a);
}
#define SHIFT_IMM(name) \
	void name##_Nq_Ib(struct cpu *cpu, const struct insn *i) { mmx_shift_imm(cpu, i, sse_k_##name); } \
	void name##_Ux_Ib(struct cpu *cpu, const struct insn *i) { xmm_shift_imm(cpu, i, sse_k_##name); }
SHIFT_IMM(psrlw) SHIFT_IMM(psraw) SHIFT_IMM(psllw)
SHIFT_IMM(psrld) SHIFT_IMM(psrad) SHIFT_IMM(pslld)
SHIFT_IMM(psrlq) SHIFT_IMM(psllq)

/* PSRLDQ / PSLLDQ: byte shifts of the whole register. */
static void byte_shift(struct cpu *cpu, const struct insn *i, bool left)
{
	simd_check_sse(cpu);
	union vreg *x = vreg(cpu, i->rm), r;
	unsigned c = (uint8_t)i->imm;
	for (unsigned k = 0; k < 16; k++) {
		int s = left ? (int)k - (int)c : (int)(k + c);
		r.b[k] = (s >= 0 && s < 16) ? x->b[s] : 0;
	}
	sse_put(cpu, i->rm, &r);
}
void psrldq_Ux_Ib(struct cpu *cpu, const struct insn *i) { byte_shift(cpu, i, false); }
void pslldq_Ux_Ib(struct cpu *cpu, const struct insn *i) { byte_shift(cpu, i, true); }

/* ---- shuffles, inserts, extracts, masks --------------------------------------- */

void pshufw_Pq_Qq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	union vreg s, r;
	s.q[0] = mmx_src(cpu, i, 8);
	for (unsigned k = 0; k < 4; k++)
		r.w[k] = s.w[(i->imm >> (2 * k)) & 3];
	mmx_put(cpu, i->reg, r.q[0]);
}

void pshufd_Vx_Wx_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 16, true), r;
	for (unsigned k = 0; k < 4; k++)
		r.d[k] = s.d[(i->imm >> (2 * k)) & 3];
	sse_put(cpu, i->reg, &r);
}

/* PSHUFLW (hi = 0) / PSHUFHW (hi = 1): shuffle the words of one half. */
static void pshuf_half(struct cpu *cpu, const struct insn *i, unsigned hi)
{
	simd_check_sse(cpu);
	union vreg s = sse_src(cpu, i, 16, true), r = s;
	for (unsigned k = 0; k < 4; k++)
		r.w[4 * hi + k] = s.w[4 * hi + ((i->imm >> (2 * k)) & 3)];
	sse_put(cpu, i->reg, &r);
}
void pshuflw_Vx_Wx_Ib(struct cpu *cpu, const struct insn *i) { pshuf_half(cpu, i, 0); }
void pshufhw_Vx_Wx_Ib(struct cpu *cpu, const struct insn *i) { pshuf_half(cpu, i, 1); }

/* PINSRW: the source is the low word of a GPR or a memory word. */
static uint16_t ew_src(struct cpu *cpu, const struct insn *i)
{
	if (i->mod == 3)
		return (uint16_t)cpu->regs[i->rm];
	return mem_read16(cpu, i->seg, insn_ea(cpu, i));
}
void pinsrw_Pq_Ew_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	union vreg r;
	uint16_t w = ew_src(cpu, i);
	r.q[0] = mmx_get(cpu, i->reg);
	r.w[i->imm & 3] = w;
	mmx_put(cpu, i->reg, r.q[0]);
}
void pinsrw_Vx_Ew_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	uint16_t w = ew_src(cpu, i);
	vreg(cpu, i->reg)->w[i->imm & 7] = w;
}

void pextrw_Gd_Nq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	union vreg s;
	s.q[0] = mmx_get(cpu, i->rm);
	mmx_enter(cpu);
	cpu->regs[i->reg] = s.w[i->imm & 3];
}
void pextrw_Gd_Ux_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	cpu->regs[i->reg] = vreg(cpu, i->rm)->w[i->imm & 7];
}

static uint32_t byte_mask(const union vreg *v, unsigned n)
{
	uint32_t m = 0;
	for (unsigned k = 0; k < n; k++)
		m |= (uint32_t)(v->b[k] >> 7) << k;
	return m;
}
void pmovmskb_Gd_Nq(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	union vreg s;
	s.q[0] = mmx_get(cpu, i->rm);
	mmx_enter(cpu);
	cpu->regs[i->reg] = byte_mask(&s, 8);
}
void pmovmskb_Gd_Ux(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	cpu->regs[i->reg] = byte_mask(vreg(cpu, i->rm), 16);
}

/*
 * MASKMOVQ / MASKMOVDQU: stores the bytes of the source whose mask byte
 * has bit 7 set to DS:rDI (segment overridable). Bytes are stored one
 * at a time after checking the whole range: a fault on any byte that
 * would be written leaves memory untouched (the SDM leaves partial
 * stores implementation-defined; this is the conservative choice). A
 * zero mask writes nothing and faults on nothing.
 */
static void maskmov(struct cpu *cpu, const struct insn *i, const union vreg *src, const union vreg *mask, unsigned n)
{
	uint64_t ea = cpu->regs[R_DI] & size_mask[i->asz];
	unsigned seg = (i->flags & INSN_SEGOVR) ? i->seg : S_DS;
	for (unsigned k = 0; k < n; k++)
		if (mask->b[k] & 0x80)
			mem_probe_write(cpu, seg, (ea + k) & size_mask[i->asz], 1);
	for (unsigned k = 0; k < n; k++)
		if (mask->b[k] & 0x80)
			mem_write8(cpu, seg, (ea + k) & size_mask[i->asz], src->b[k]);
}
void maskmovq_Pq_Nq(struct cpu *cpu, const struct insn *i)
{
	simd_check_mmx(cpu);
	union vreg s, m;
	s.q[0] = mmx_get(cpu, i->reg);
	m.q[0] = mmx_get(cpu, i->rm);
	maskmov(cpu, i, &s, &m, 8);
	mmx_enter(cpu);
}
void maskmovdqu_Vdq_Udq(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union vreg s, m;
	memcpy(&s, vreg(cpu, i->reg), 16);
	memcpy(&m, vreg(cpu, i->rm), 16);
	maskmov(cpu, i, &s, &m, 16);
}
