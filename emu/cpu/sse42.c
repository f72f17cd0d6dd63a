/*
 * sse42.c - SSE4.2 string and text comparisons PCMPESTRI, PCMPESTRM,
 * PCMPISTRI, PCMPISTRM (SDM Vol. 2 4.1 "Imm8 control byte operation for
 * PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM"). PCMPGTQ is in sse41.c,
 * CRC32 and POPCNT with the integer instructions.
 *
 * imm8[1:0] element format (unsigned/signed bytes/words), imm8[3:2]
 * aggregation (equal any, ranges, equal each, equal ordered), imm8[5:4]
 * polarity, imm8[6] output selection (least/most significant index, or
 * bit/element mask). Elements past a string's length are invalid and the
 * comparisons involving them are overridden as the SDM's table 4-7 says.
 * Explicit lengths are |EAX| and |EDX| (RAX/RDX with REX.W) saturated to
 * the element count; implicit lengths end at the first zero element. The
 * memory operand needs no alignment. Flags: CF = IntRes2 != 0, ZF = the
 * second operand is shorter than the element count, SF = the first one
 * is, OF = IntRes2[0], AF = PF = 0. The index forms write ECX, the mask
 * forms XMM0.
 */
#include "sse4.h"

#include "flags.h"

struct strcmp_res {
	unsigned intres2;	/* one bit per element */
	unsigned n;		/* element count: 16 or 8 */
	uint64_t flags;
};

static unsigned explicit_len(struct cpu *cpu, const struct insn *i, unsigned r, unsigned n)
{
	int64_t v = (i->flags & INSN_REXW) ? (int64_t)cpu->regs[r] : (int64_t)(int32_t)cpu->regs[r];
	uint64_t a = v < 0 ? -(uint64_t)v : (uint64_t)v;
	return a > n ? n : (unsigned)a;
}

static unsigned implicit_len(const int32_t *v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		if (v[k] == 0)
			return k;
	return n;
}

static struct strcmp_res pcmpstr(struct cpu *cpu, const struct insn *i, bool explicit_)
{
	simd_check_sse(cpu);
	union x128 bs = sse4_src(cpu, i, 16, false), *as = sse4_xmm(cpu, i->reg);
	unsigned imm = (unsigned)i->imm & 0xff;
	bool words = imm & 1, sgn = imm & 2;
	unsigned n = words ? 8 : 16;
	int32_t a[16], b[16];
	for (unsigned k = 0; k < n; k++) {
		a[k] = words ? (sgn ? as->sw[k] : as->w[k]) : (sgn ? as->sb[k] : as->b[k]);
		b[k] = words ? (sgn ? bs.sw[k] : bs.w[k]) : (sgn ? bs.sb[k] : bs.b[k]);
	}
	unsigned la, lb;
	if (explicit_) {
		la = explicit_len(cpu, i, R_AX, n);
		lb = explicit_len(cpu, i, R_DX, n);
	} else {
		la = implicit_len(a, n);
		lb = implicit_len(b, n);
	}

	unsigned res1 = 0;
	switch ((imm >> 2) & 3) {
	case 0:	/* equal any: b[j] is any of the valid a[] */
		for (unsigned j = 0; j < lb; j++)
			for (unsigned k = 0; k < la; k++)
				if (a[k] == b[j])
					res1 |= 1u << j;
		break;
	case 1:	/* ranges: a[] holds (low, high) pairs */
		for (unsigned j = 0; j < lb; j++)
			for (unsigned k = 0; k + 1 < la; k += 2)
				if (b[j] >= a[k] && b[j] <= a[k + 1])
					res1 |= 1u << j;
		break;
	case 2:	/* equal each: both invalid compare true */
		for (unsigned j = 0; j < n; j++) {
			bool va = j < la, vb = j < lb;
			if ((va && vb) ? a[j] == b[j] : (!va && !vb))
				res1 |= 1u << j;
		}
		break;
	case 3:	/* equal ordered: a[] is a substring of b[] at j */
		for (unsigned j = 0; j < n; j++) {
			bool m = true;
			for (unsigned k = 0; k + j < n && m; k++) {
				if (k >= la)
					break;			/* invalid a: true */
				if (j + k >= lb || a[k] != b[j + k])
					m = false;
			}
			if (m)
				res1 |= 1u << j;
		}
		break;
	}

	unsigned all = (1u << n) - 1, res2 = res1;
	switch ((imm >> 4) & 3) {
	case 1: res2 = ~res1 & all; break;
	case 3: res2 = res1 ^ ((1u << lb) - 1); break;
	}
	struct strcmp_res r = { .intres2 = res2, .n = n };
	if (res2)
		r.flags |= FL_CF;
	if (lb < n)
		r.flags |= FL_ZF;
	if (la < n)
		r.flags |= FL_SF;
	if (res2 & 1)
		r.flags |= FL_OF;
	return r;
}

static void pcmpstri(struct cpu *cpu, const struct insn *i, bool explicit_)
{
	struct strcmp_res r = pcmpstr(cpu, i, explicit_);
	unsigned idx = r.n;
	if (r.intres2)
		idx = (i->imm & 0x40) ? 31u - (unsigned)__builtin_clz(r.intres2) : (unsigned)__builtin_ctz(r.intres2);
	reg_write32(cpu, R_CX, idx);
	flags_set_arith(cpu, r.flags);
}

static void pcmpstrm(struct cpu *cpu, const struct insn *i, bool explicit_)
{
	struct strcmp_res r = pcmpstr(cpu, i, explicit_);
	union x128 m = { .q = { 0, 0 } };
	if (i->imm & 0x40) {
		unsigned esz = 16 / r.n;
		for (unsigned k = 0; k < r.n; k++)
			if (r.intres2 >> k & 1)
				memset(&m.b[k * esz], 0xff, esz);
	} else {
		m.w[0] = (uint16_t)r.intres2;
	}
	*sse4_xmm(cpu, 0) = m;
	flags_set_arith(cpu, r.flags);
}

void pcmpestri_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i) { pcmpstri(cpu, i, true); }
void pcmpistri_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i) { pcmpstri(cpu, i, false); }
void pcmpestrm_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i) { pcmpstrm(cpu, i, true); }
void pcmpistrm_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i) { pcmpstrm(cpu, i, false); }
