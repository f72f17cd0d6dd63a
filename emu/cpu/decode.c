/*
 * decode.c - the x86 instruction decoder (SDM Vol. 2 ch. 2, appendix A).
 *
 * Decoding runs once per instruction per block-cache fill, so it favours
 * clarity over speed; the interpreter never decodes on its hot path.
 *
 * Order of work: legacy prefixes (any number, last segment override and
 * last F2/F3 win, 0x66/0x67 toggle sizes), REX (64-bit mode only, and only
 * when it immediately precedes the opcode), or a VEX prefix (C4/C5; in
 * 16/32-bit code only when the next byte has mod = 11, otherwise they are
 * LES/LDS); EVEX (62 in 64-bit code, or 62 with mod = 11 elsewhere) is
 * recognised and refused with #UD as no model has AVX-512. Then the opcode
 * and map, the table entries for that (map, opcode) are tried in table
 * order, matching the mandatory prefix, the ModRM constraint, 64-bit
 * validity, VEX form and the CPUID feature; the first match wins. ModRM,
 * SIB, displacement and immediates follow; the 15-byte limit is checked
 * last (#GP(0)), and LOCK is checked against the entry (#UD).
 *
 * The table entries' operand strings are parsed once into opinfo (which
 * immediates, which operands are byte registers, whether ModRM follows).
 */
#include "decode.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cpu.h"
#include "cpuid.h"

/* Handlers the table names are declared weak: a missing one decodes to
 * insn_unimplemented (logged as "unimp", raises #UD). */
#define DECL1(h) extern void h(struct cpu *, const struct insn *) __attribute__((weak));
#define DECL_B(h) DECL1(h)
#define DECL_N(h) DECL1(h)
#define DECL_V(h) DECL1(h##_w) DECL1(h##_d) DECL1(h##_q)
#define DECL_Y(h) DECL1(h##_d) DECL1(h##_q)
#define OP(map, opc, pfx, ext, mn, ops, h, sz, fl, feat) DECL_##sz(h)
#include "opcodes.def"
#undef OP

#define FNS_B(h) { h, h, h, h }
#define FNS_N(h) { h, h, h, h }
#define FNS_V(h) { NULL, h##_w, h##_d, h##_q }
#define FNS_Y(h) { NULL, NULL, h##_d, h##_q }
#define OP(map_, opc, pfx_, ext_, mn, ops, h, sz, fl, feat) \
	{ .mnem = mn, .operands = ops, .fn = FNS_##sz(h), .flags = (fl) | OPF_SZ_##sz, \
	  .feature = FEAT_##feat, .map = map_, .opcode = opc, .pfx = pfx_, .ext = ext_ },
const struct opdesc opcode_table[] = {
#include "opcodes.def"
};
#undef OP
const unsigned opcode_table_len = sizeof(opcode_table) / sizeof(opcode_table[0]);

/* Immediate kinds derived from the operand strings. */
enum { IM_NONE, IM_B, IM_BS, IM_W, IM_Z, IM_V, IM_JB, IM_JZ, IM_AP, IM_O };

struct opinfo {
	uint8_t imm1, imm2;
	bool modrm;
	bool reg8;		/* G or Z operand is a byte register */
	bool rm8;		/* E operand is a byte register */
	bool zreg;		/* register in the opcode's low bits */
};

/* Derived, immutable after first use: per-entry info and per-(map,opcode)
 * ranges of entries. */
#define MAX_OPS 4096
struct dectables {
	struct opinfo info[MAX_OPS];
	uint16_t first[MAP_N][256];
	uint16_t count[MAP_N][256];
	uint16_t order[MAX_OPS];
};
static struct dectables tables;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static bool tok_is(const char *t, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(t, s, n) == 0;
}

static void parse_operands(const struct opdesc *d, struct opinfo *in)
{
	const char *p = d->operands;
	int nimm = 0;
	memset(in, 0, sizeof(*in));
	in->modrm = d->ext != EXT_NONE;
	while (*p) {
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t n = (size_t)(e - p);
		int im = IM_NONE;
		if (tok_is(p, n, "Ib")) im = IM_B;
		else if (tok_is(p, n, "Ibs")) im = IM_BS;
		else if (tok_is(p, n, "Iw")) im = IM_W;
		else if (tok_is(p, n, "Iz")) im = IM_Z;
		else if (tok_is(p, n, "Iv")) im = IM_V;
		else if (tok_is(p, n, "Jb")) im = IM_JB;
		else if (tok_is(p, n, "Jz")) im = IM_JZ;
		else if (tok_is(p, n, "Ap")) im = IM_AP;
		else if (tok_is(p, n, "Ob") || tok_is(p, n, "Ov")) im = IM_O;
		else if (tok_is(p, n, "Eb")) in->rm8 = true;
		else if (tok_is(p, n, "Gb")) in->reg8 = true;
		else if (tok_is(p, n, "Zb")) { in->reg8 = true; in->zreg = true; }
		else if (n >= 1 && p[0] == 'Z') in->zreg = true;
		if (im != IM_NONE) {
			if (nimm++ == 0)
				in->imm1 = (uint8_t)im;
			else
				in->imm2 = (uint8_t)im;
		}
		p = *e ? e + 1 : e;
	}
}

_Static_assert(sizeof(opcode_table) / sizeof(opcode_table[0]) <= MAX_OPS, "opcode table larger than MAX_OPS");

static void build_tables(void)
{
	unsigned n = 0;
	for (unsigned map = 0; map < MAP_N; map++) {
		for (unsigned opc = 0; opc < 256; opc++) {
			tables.first[map][opc] = (uint16_t)n;
			for (unsigned k = 0; k < opcode_table_len; k++) {
				const struct opdesc *d = &opcode_table[k];
				if (d->map == map && d->opcode == opc)
					tables.order[n++] = (uint16_t)k;
			}
			tables.count[map][opc] = (uint16_t)(n - tables.first[map][opc]);
		}
	}
	for (unsigned k = 0; k < opcode_table_len; k++)
		parse_operands(&opcode_table[k], &tables.info[k]);
}

/* Does the entry's ModRM constraint accept this ModRM byte? */
static bool ext_match(unsigned ext, uint8_t modrm)
{
	unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
	if (ext == EXT_NONE || ext == EXT_ANY)
		return true;
	if (ext == EXT_MEMANY)
		return mod != 3;
	if (ext == EXT_REGANY)
		return mod == 3;
	if (ext & 0x40)
		return mod == 3 && reg == ((ext >> 3) & 7) && rm == (ext & 7);
	if ((ext & 7) != reg)
		return false;
	switch (ext & 0x38) {
	case 0x08: return true;
	case 0x10: return mod != 3;
	case 0x18: return mod == 3;
	}
	return false;
}

static bool pfx_match(unsigned pfx, bool has66, unsigned rep)
{
	switch (pfx) {
	case PFX_ANY: return true;
	case PFX_NP: return !has66 && rep == REP_NONE;
	case PFX_66: return has66 && rep == REP_NONE;
	case PFX_F3: return rep == REP_F3;
	case PFX_F2: return rep == REP_F2;
	}
	return false;
}

/* Byte-register operand n (0..15) as a byte offset into cpu->regs. */
static uint8_t byte_reg(unsigned n, bool rex)
{
	if (!rex && n >= 4 && n < 8)
		return (uint8_t)((n - 4) * 8 + 1);	/* AH, CH, DH, BH */
	return (uint8_t)(n * 8);
}

struct cursor {
	const uint8_t *b;
	unsigned avail;
	unsigned pos;
	bool short_;
};

static uint64_t take(struct cursor *c, unsigned n)
{
	uint64_t v = 0;
	if (c->pos + n > c->avail) {
		c->short_ = true;
		c->pos += n;
		return 0;
	}
	for (unsigned k = 0; k < n; k++)
		v |= (uint64_t)c->b[c->pos + k] << (8 * k);
	c->pos += n;
	return v;
}

/* Out of bytes: with 15 available the instruction is too long (#GP). */
static int short_result(const struct cursor *c)
{
	return c->avail >= 15 ? DECODE_GP : DECODE_SHORT;
}

static uint64_t sext(uint64_t v, unsigned bytes)
{
	unsigned sh = 64 - 8 * bytes;
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

static uint64_t read_imm(struct cursor *c, unsigned kind, unsigned osz, unsigned asz)
{
	switch (kind) {
	case IM_B: return take(c, 1);
	case IM_BS: case IM_JB: return sext(take(c, 1), 1);
	case IM_W: return take(c, 2);
	case IM_Z: case IM_JZ: return osz == 1 ? sext(take(c, 2), 2) : sext(take(c, 4), 4);
	case IM_V: return osz == 1 ? take(c, 2) : osz == 2 ? take(c, 4) : take(c, 8);
	case IM_O: return take(c, asz == 1 ? 2 : asz == 2 ? 4 : 8);
	}
	return 0;
}

/* ModRM and SIB memory operand (SDM Vol. 2 tables 2-1 .. 2-3). */
static void decode_modrm_mem(struct cursor *c, struct insn *i, uint8_t modrm, unsigned rex,
			     unsigned asz, unsigned code_size, int *def_ss)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;
	i->base = R_NONE;
	i->index = R_NONE;
	i->scale = 0;
	i->disp = 0;
	*def_ss = 0;
	if (asz == 1) {
		static const uint8_t b16[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
		static const uint8_t x16[8] = { R_SI, R_DI, R_SI, R_DI, R_NONE, R_NONE, R_NONE, R_NONE };
		if (mod == 0 && rm == 6) {
			i->disp = (int32_t)sext(take(c, 2), 2);
			return;
		}
		i->base = b16[rm];
		i->index = x16[rm];
		*def_ss = (rm == 2 || rm == 3 || rm == 6);
		if (mod == 1)
			i->disp = (int32_t)sext(take(c, 1), 1);
		else if (mod == 2)
			i->disp = (int32_t)sext(take(c, 2), 2);
		return;
	}
	if (rm == 4) {
		uint8_t sib = (uint8_t)take(c, 1);
		unsigned base = (sib & 7) | ((rex & 1) << 3);
		unsigned index = ((sib >> 3) & 7) | ((rex & 2) << 2);
		i->scale = sib >> 6;
		if (index != 4)
			i->index = (uint8_t)index;
		if ((sib & 7) == 5 && mod == 0) {
			i->disp = (int32_t)take(c, 4);
		} else {
			i->base = (uint8_t)base;
			*def_ss = (base == R_SP || base == R_BP);
		}
	} else if (rm == 5 && mod == 0) {
		i->disp = (int32_t)take(c, 4);
		if (code_size == 3)
			i->flags |= INSN_RIPREL;
		return;
	} else {
		i->base = (uint8_t)(rm | ((rex & 1) << 3));
		*def_ss = (i->base == R_BP);
	}
	if (mod == 1)
		i->disp = (int32_t)sext(take(c, 1), 1);
	else if (mod == 2)
		i->disp = (int32_t)take(c, 4);
}

static void decode_modrm_mem_len(struct cursor *c, struct insn *i, uint8_t modrm, unsigned rex,
				 unsigned asz, int *def_ss)
{
	if ((modrm >> 6) != 3)
		decode_modrm_mem(c, i, modrm, rex, asz, asz, def_ss);
}

/*
 * EVEX (AVX-512): no model implements it, so the instruction is #UD, but
 * its length is decoded for logs and for exit information: 62 P0 P1 P2,
 * opcode, ModRM (always), SIB/displacement (disp8 scaled by N still takes
 * one byte), and an imm8 for the 0F3A map and the 0F-map opcodes that
 * take one (70-73, C2, C4-C6). Returns DECODE_UD with i->len set.
 */
static int evex_length(struct cursor *c, struct insn *i, unsigned asz, unsigned rex)
{
	uint8_t p0 = (uint8_t)take(c, 1);
	take(c, 2);			/* P1, P2 */
	uint8_t opc = (uint8_t)take(c, 1);
	uint8_t modrm = (uint8_t)take(c, 1);
	if (c->short_)
		return short_result(c);
	int def_ss;
	unsigned map = p0 & 7;
	decode_modrm_mem_len(c, i, modrm, rex, asz, &def_ss);
	if (map == 3 || (map == 1 && ((opc >= 0x70 && opc <= 0x73) || opc == 0xc2 ||
				      (opc >= 0xc4 && opc <= 0xc6))))
		take(c, 1);
	if (c->pos > 15)
		return DECODE_GP;
	if (c->short_)
		return short_result(c);
	i->len = (uint8_t)c->pos;
	return DECODE_UD;
}

int decode_insn(const uint8_t *bytes, unsigned avail, unsigned code_size,
		const uint32_t *features, struct insn *i)
{
	pthread_once(&tables_once, build_tables);
	bool amd = (code_size & DECODE_AMD) != 0;
	code_size &= 0xff;
	struct cursor c = { .b = bytes, .avail = avail > 15 ? 15 : avail };
	bool has66 = false, has67 = false, lock = false, vex = false;
	unsigned rep = REP_NONE, seg_ovr = S_NSEG, rex = 0, map = MAP_1B;
	unsigned vex_w = 0, vex_l = 0, vex_pp = 0, vvvv = 0;
	bool long64 = code_size == 3;
	uint8_t opc;

	memset(i, 0, sizeof(*i));
	i->op = 0xffff;
	/* Legacy prefixes and REX. */
	for (;;) {
		if (c.pos >= 15)
			return DECODE_GP;
		uint8_t b = (uint8_t)take(&c, 1);
		if (c.short_)
			return short_result(&c);
		switch (b) {
		case 0xf0: lock = true; rex = 0; continue;
		case 0xf2: rep = REP_F2; rex = 0; continue;
		case 0xf3: rep = REP_F3; rex = 0; continue;
		case 0x26: seg_ovr = S_ES; rex = 0; continue;
		case 0x2e: seg_ovr = S_CS; rex = 0; continue;
		case 0x36: seg_ovr = S_SS; rex = 0; continue;
		case 0x3e: seg_ovr = S_DS; rex = 0; continue;
		case 0x64: seg_ovr = S_FS; rex = 0; continue;
		case 0x65: seg_ovr = S_GS; rex = 0; continue;
		case 0x66: has66 = true; rex = 0; continue;
		case 0x67: has67 = true; rex = 0; continue;
		}
		if (long64 && (b & 0xf0) == 0x40) {
			rex = b;	/* only effective if the opcode follows */
			continue;
		}
		opc = b;
		break;
	}
	if (rex) {
		i->flags |= INSN_REX;
		if (rex & 8)
			i->flags |= INSN_REXW;
	}

	/* VEX / EVEX. */
	if (opc == 0xc4 || opc == 0xc5 || opc == 0x62) {
		uint8_t nb = c.pos < c.avail ? c.b[c.pos] : 0;
		if (c.pos >= c.avail)
			return short_result(&c);
		bool is_vex = long64 || (nb & 0xc0) == 0xc0;
		if (is_vex && opc == 0x62)
			return evex_length(&c, i, has67 ? (code_size == 2 ? 1 : 2) : code_size, rex);
		if (is_vex) {
			if (has66 || rep || lock || rex) {
				i->len = (uint8_t)c.pos;
				return DECODE_UD;
			}
			uint8_t p1 = (uint8_t)take(&c, 1);
			unsigned r, x = 1, bb = 1;
			if (opc == 0xc5) {
				r = p1 >> 7;
				map = MAP_0F;
				vvvv = (~p1 >> 3) & 15;
				vex_l = (p1 >> 2) & 1;
				vex_pp = p1 & 3;
			} else {
				uint8_t p2 = (uint8_t)take(&c, 1);
				r = p1 >> 7;
				x = (p1 >> 6) & 1;
				bb = (p1 >> 5) & 1;
				unsigned mm = p1 & 0x1f;
				if (mm < 1 || mm > 3) {
					i->len = (uint8_t)c.pos;
					return c.short_ ? short_result(&c) : DECODE_UD;
				}
				map = mm;	/* 1 = 0F, 2 = 0F38, 3 = 0F3A */
				vex_w = p2 >> 7;
				vvvv = (~p2 >> 3) & 15;
				vex_l = (p2 >> 2) & 1;
				vex_pp = p2 & 3;
			}
			if (c.short_)
				return short_result(&c);
			if (long64)
				rex = 0x40 | (!r << 2) | (!x << 1) | !bb | (vex_w << 3);
			else
				vvvv &= 7;
			vex = true;
			i->flags |= INSN_VEX | (vex_l ? INSN_VEXL : 0) | (vex_w ? INSN_REXW : 0);
			i->vvvv = (uint8_t)vvvv;
			opc = (uint8_t)take(&c, 1);
			if (c.short_)
				return short_result(&c);
		}
	}

	/* Escape bytes select the map. */
	if (!vex && opc == 0x0f) {
		opc = (uint8_t)take(&c, 1);
		map = MAP_0F;
		if (opc == 0x38 || opc == 0x3a) {
			map = opc == 0x38 ? MAP_0F38 : MAP_0F3A;
			opc = (uint8_t)take(&c, 1);
		}
		if (c.short_)
			return short_result(&c);
	}
	i->cc = opc & 15;

	unsigned nent = tables.count[map][opc];
	if (nent == 0) {
		i->len = (uint8_t)c.pos;
		return DECODE_UD;
	}
	/* All entries of one (map, opcode) agree on ModRM presence. */
	bool has_modrm = tables.info[tables.order[tables.first[map][opc]]].modrm;
	uint8_t modrm = 0;
	if (has_modrm) {
		modrm = (uint8_t)take(&c, 1);
		if (c.short_)
			return short_result(&c);
	}

	unsigned eff_has66 = vex ? vex_pp == 1 : has66;
	unsigned eff_rep = vex ? (vex_pp == 2 ? REP_F3 : vex_pp == 3 ? REP_F2 : REP_NONE) : rep;
	const struct opdesc *d = NULL;
	unsigned k = 0;
	for (unsigned n = 0; n < nent; n++) {
		k = tables.order[tables.first[map][opc] + n];
		const struct opdesc *e = &opcode_table[k];
		if (!!(e->flags & OPF_VEX) != vex)
			continue;
		if (!pfx_match(e->pfx, eff_has66, eff_rep))
			continue;
		if (!ext_match(e->ext, (e->flags & OPF_MODRM_REG_IGN) ? (modrm | 0xc0) : modrm))
			continue;
		if ((e->flags & OPF_I64) && long64)
			continue;
		if ((e->flags & OPF_O64) && !long64)
			continue;
		if (e->feature != FEAT_NONE && !cpu_feature_word_bit(features, e->feature))
			continue;
		if (vex && (((e->flags & OPF_VEX_L0) && vex_l) || ((e->flags & OPF_W0) && vex_w) ||
			    ((e->flags & OPF_W1) && !vex_w)))
			continue;
		d = e;
		break;
	}
	if (!d) {
		i->len = (uint8_t)c.pos;
		return DECODE_UD;
	}
	const struct opinfo *in = &tables.info[k];
	i->op = (uint16_t)k;

	/* A mandatory prefix is consumed by the opcode: not a size or REP. */
	if (d->pfx == PFX_66)
		has66 = false;
	if (d->pfx == PFX_F2 || d->pfx == PFX_F3 || (d->flags & OPF_REPLOCK))
		rep = REP_NONE;

	/* Operand size (SDM Vol. 1 3.6.1, Vol. 2 2.2.1.2). */
	unsigned osz;
	if (d->flags & OPF_SZ_B) {
		osz = 0;
	} else if (d->flags & OPF_SZ_Y) {
		osz = (long64 && (rex & 8)) ? 3 : 2;
	} else {
		unsigned def = code_size == 1 ? 1 : 2;
		osz = has66 ? (def == 1 ? 2 : 1) : def;
		if (long64) {
			if (rex & 8)
				osz = 3;
			else if (d->flags & OPF_F64)
				/* Intel ignores 0x66 on near branches; AMD honours it. */
				osz = (amd && has66 && (d->flags & OPF_NEAR)) ? 1 : 3;
			else if ((d->flags & OPF_D64) && !has66)
				osz = 3;
		}
	}
	unsigned asz = code_size;
	if (has67)
		asz = code_size == 1 ? 2 : code_size == 2 ? 1 : 2;
	i->osz = (uint8_t)osz;
	i->asz = (uint8_t)asz;
	i->rep = (uint8_t)rep;
	if (has66)
		i->flags |= INSN_OPSZ;

	/* Operands. */
	int def_ss = 0;
	if (has_modrm) {
		unsigned mod = modrm >> 6;
		unsigned reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		unsigned rm = (modrm & 7) | ((rex & 1) << 3);
		if (d->flags & OPF_MODRM_REG_IGN)
			mod = 3;
		i->mod = (uint8_t)mod;
		i->reg = in->reg8 ? byte_reg(reg, rex != 0) : (uint8_t)reg;
		if (mod == 3) {
			i->rm = in->rm8 ? byte_reg(rm, rex != 0) : (uint8_t)rm;
			i->base = R_NONE;
			i->index = R_NONE;
		} else {
			decode_modrm_mem(&c, i, modrm, rex, asz, code_size, &def_ss);
			if (d->flags & OPF_VSIB) {
				/* VSIB: no SIB byte or 16-bit addressing is #UD;
				 * index 100b names vector register 4. */
				if ((modrm & 7) != 4 || asz == 1) {
					i->len = (uint8_t)c.pos;
					return DECODE_UD;
				}
				if (i->index == R_NONE)
					i->index = 4;
			}
		}
	} else {
		i->mod = 3;
		i->base = R_NONE;
		i->index = R_NONE;
		if (in->zreg) {
			unsigned r = (opc & 7) | ((rex & 1) << 3);
			i->reg = in->reg8 ? byte_reg(r, rex != 0) : (uint8_t)r;
		}
	}
	if (in->imm1 == IM_O)
		i->mod = 0;	/* moffs: a memory operand at imm */
	if (in->imm1 == IM_AP) {
		i->imm = take(&c, osz == 1 ? 2 : 4);
		i->imm2 = (uint16_t)take(&c, 2);
	} else {
		i->imm = read_imm(&c, in->imm1, osz, asz);
		if (in->imm2)
			i->imm2 = (uint16_t)read_imm(&c, in->imm2, osz, asz);
	}
	if (c.pos > 15)
		return DECODE_GP;
	if (c.short_)
		return short_result(&c);

	/* Effective segment: overrides (only FS/GS count in 64-bit mode). */
	i->seg = def_ss ? S_SS : S_DS;
	if (seg_ovr != S_NSEG) {
		i->flags |= INSN_SEGOVR;
		if (!long64 || seg_ovr >= S_FS)
			i->seg = (uint8_t)seg_ovr;
	}

	/* LOCK: only on lockable opcodes with a memory destination. */
	if (lock) {
		if (!(d->flags & OPF_LOCK) || i->mod == 3) {
			i->len = (uint8_t)c.pos;
			return DECODE_UD;
		}
		i->flags |= INSN_LOCK;
	}

	i->len = (uint8_t)c.pos;
	i->fn = d->fn[osz];
	if (!i->fn)
		i->fn = insn_unimplemented;
	return (int)c.pos;
}

const char *decode_mnemonic(const struct insn *i)
{
	if (i->op >= opcode_table_len)
		return "(bad)";
	return opcode_table[i->op].mnem;
}
