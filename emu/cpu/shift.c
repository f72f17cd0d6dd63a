/*
 * shift.c - shifts and rotates (SDM Vol. 2 "RCL/RCR/ROL/ROR", "SAL/SAR/
 * SHL/SHR", "SHLD", "SHRD"; BMI2 SHLX/SHRX/SARX/RORX).
 *
 * The count is masked to 5 bits (6 for 64-bit operands). A masked count
 * of 0 changes nothing, not even flags (the operand is still read, so a
 * memory operand can fault). RCL/RCR on 8/16-bit operands rotate through
 * 9/17 bits: count mod 9/17.
 *
 * Flags are computed in full (shift_compute / shld_compute) and stored
 * with flags_set_arith. Where the SDM leaves them undefined, the AMD
 * model reproduces an AMD Zen host exactly (verified over every count by
 * tests/unit/test_diff.c); the Intel model follows Bochs' Intel choices
 * where no Intel host was available to measure (cpu_is_amd selects):
 *  - a masked count of 0 writes no flags, but a 32-bit register operand
 *    is still zero-extended (both vendors);
 *  - OF for counts > 1 uses the count-1 formula on the final result:
 *    SHL/ROL/RCL MSB(res) ^ CF, ROR/RCR MSB(res) ^ MSB-1(res), SHR 0,
 *    SAR 0 (matches AMD for every count);
 *  - AF after SHL/SHR/SAR/SHLD/SHRD with a nonzero count: AMD 1, Intel 0;
 *  - CF after SHL/SHR of 8/16-bit operands by >= the width: the last bit
 *    out of the infinitely wide operand (0; the sign for SAR);
 *  - RCL/RCR with count mod 9/17 = 0: operand and CF unchanged, OF from
 *    the formula above;
 *  - SHLD: OF = MSB(res) ^ CF; SHRD: OF = MSB(res) ^ MSB-1(res);
 *  - 16-bit SHLD/SHRD, counts 17..31: Intel shifts DEST:SRC:DEST (P6 and
 *    later); AMD shifts DEST:SRC:SRC (SHLD) / SRC:SRC:DEST (SHRD) with
 *    CF = 0, and SHLD's OF = 0; AMD SHLD by exactly 16 has OF = CF.
 */
#include "alu.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };
enum { CNT_IB, CNT_1, CNT_CL };

/* x >> n and x << n that give 0 for n >= 64. */
static inline uint64_t shr64(uint64_t x, unsigned n) { return n >= 64 ? 0 : x >> n; }
static inline uint64_t shl64(uint64_t x, unsigned n) { return n >= 64 ? 0 : x << n; }

struct shift_out {
	uint64_t r;
	uint64_t f;	/* all six arithmetic flags */
};

/*
 * One shift/rotate: v is the operand (size sz), cnt the masked count
 * (1..63), f the current arithmetic flags. Pure: the differential test
 * and the handlers share it.
 */
ALU_INLINE struct shift_out shift_compute(unsigned op, unsigned sz, uint64_t v, unsigned cnt, uint64_t f, bool amd)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t m = size_mask[sz], sign = SZ_SIGN(sz);
	uint64_t r, cf, of;
	unsigned c;
	v &= m;

	switch (op) {
	case SH_ROL:
	case SH_ROR:
		c = cnt & (bits - 1);
		if (op == SH_ROL) {
			r = c ? ((v << c) | (v >> (bits - c))) & m : v;
			cf = r & 1;
			of = !!(r & sign) ^ cf;
		} else {
			r = c ? ((v >> c) | (v << (bits - c))) & m : v;
			cf = !!(r & sign);
			of = cf ^ !!(r & (sign >> 1));
		}
		f = (f & ~(uint64_t)(FL_CF | FL_OF)) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
		return (struct shift_out){ r, f };
	case SH_RCL:
	case SH_RCR: {
		uint64_t cin = f & FL_CF;
		c = sz < 2 ? cnt % (bits + 1) : cnt;
		if (c == 0) {
			r = v;
			cf = cin;
		} else if (op == SH_RCL) {
			r = (shl64(v, c) | (cin << (c - 1)) | shr64(v, bits + 1 - c)) & m;
			cf = (v >> (bits - c)) & 1;
		} else {
			r = (shr64(v, c) | shl64(cin, bits - c) | shl64(v, bits + 1 - c)) & m;
			cf = (v >> (c - 1)) & 1;
		}
		if (op == SH_RCL)
			of = !!(r & sign) ^ cf;
		else
			of = !!(r & sign) ^ !!(r & (sign >> 1));
		f = (f & ~(uint64_t)(FL_CF | FL_OF)) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
		return (struct shift_out){ r, f };
	}
	case SH_SHL:
	case SH_SAL:
		r = shl64(v, cnt) & m;
		cf = cnt <= bits ? (v >> (bits - cnt)) & 1 : 0;
		of = !!(r & sign) ^ cf;
		break;
	case SH_SHR:
		r = v >> cnt;
		cf = (v >> (cnt - 1)) & 1;
		of = cnt == 1 ? !!(v & sign) : 0;
		break;
	default: { /* SAR */
		int64_t sv = (int64_t)sext_sz(v, sz);
		r = (uint64_t)(sv >> cnt) & m;
		cf = (uint64_t)(sv >> (cnt - 1)) & 1;
		of = 0;
		break;
	}
	}
	f = flags_szp(r, sz) | (cf ? FL_CF : 0) | (of ? FL_OF : 0) | (amd ? FL_AF : 0);
	return (struct shift_out){ r, f };
}

ALU_INLINE unsigned shift_count(struct cpu *cpu, const struct insn *i, unsigned kind, unsigned sz)
{
	unsigned c = kind == CNT_1 ? 1 : kind == CNT_IB ? (unsigned)i->imm : (unsigned)cpu->regs[R_CX];
	return c & (sz == 3 ? 63 : 31);
}

/* A zero count changes no flags, but a 32-bit register operand is still
 * written: its upper half is cleared (as hardware does). */
ALU_INLINE void shift_nop(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	if (sz == 2 && i->mod == 3)
		reg_write32(cpu, i->rm, (uint32_t)cpu->regs[i->rm]);
}

ALU_INLINE void shift_E(struct cpu *cpu, const struct insn *i, unsigned op, unsigned kind, unsigned sz)
{
	unsigned cnt = shift_count(cpu, i, kind, sz);
	uint64_t v = rm_read(cpu, i, sz);
	if (cnt == 0) {
		shift_nop(cpu, i, sz);
		return;
	}
	/* SHL/SHR/SAR write all six flags: the old ones are not needed. */
	uint64_t f = op == SH_SHL || op == SH_SAL || op == SH_SHR || op == SH_SAR ? 0 : alu_flags(cpu);
	struct shift_out o = shift_compute(op, sz, v, cnt, f, cpu_is_amd(cpu));
	rm_write(cpu, i, o.r, sz);
	flags_set_arith(cpu, o.f);
}

#define SHIFT_FAMILY(name, OPC) \
	DEF_B(name##_Eb_Ib, shift_E, OPC, CNT_IB) \
	DEF_V(name##_Ev_Ib, shift_E, OPC, CNT_IB) \
	DEF_B(name##_Eb_1, shift_E, OPC, CNT_1) \
	DEF_V(name##_Ev_1, shift_E, OPC, CNT_1) \
	DEF_B(name##_Eb_CL, shift_E, OPC, CNT_CL) \
	DEF_V(name##_Ev_CL, shift_E, OPC, CNT_CL)

SHIFT_FAMILY(rol, SH_ROL)
SHIFT_FAMILY(ror, SH_ROR)
SHIFT_FAMILY(rcl, SH_RCL)
SHIFT_FAMILY(rcr, SH_RCR)
SHIFT_FAMILY(shl, SH_SHL)
SHIFT_FAMILY(shr, SH_SHR)
SHIFT_FAMILY(sar, SH_SAR)

/* ---- SHLD SHRD ---------------------------------------------------------- */

static struct shift_out shld_compute(bool left, unsigned sz, uint64_t d, uint64_t s, unsigned cnt, bool amd)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t m = size_mask[sz], sign = SZ_SIGN(sz);
	uint64_t r, cf, of;
	d &= m;
	s &= m;
	if (sz == 1) {
		/*
		 * Counts up to 31 shift a 48-bit pattern: DEST:SRC:DEST on
		 * Intel (P6 and later); on AMD SHLD shifts DEST:SRC:SRC and
		 * SHRD SRC:SRC:DEST. Counts <= 16 agree with the SDM.
		 */
		uint64_t x;
		if (!amd)
			x = d << 32 | s << 16 | d;
		else if (left)
			x = d << 32 | s << 16 | s;
		else
			x = s << 32 | s << 16 | d;
		if (left) {
			r = (x >> (32 - cnt)) & m;
			cf = (x >> (48 - cnt)) & 1;
		} else {
			r = (x >> cnt) & m;
			cf = (x >> (cnt - 1)) & 1;
		}
	} else if (left) {
		r = ((d << cnt) | (s >> (bits - cnt))) & m;
		cf = (d >> (bits - cnt)) & 1;
	} else {
		r = ((d >> cnt) | (s << (bits - cnt))) & m;
		cf = (d >> (cnt - 1)) & 1;
	}
	/* count 1: sign change; other counts: the same formula on the result */
	if (left)
		of = !!(r & sign) ^ cf;
	else
		of = !!(r & sign) ^ !!(r & (sign >> 1));
	if (amd && sz == 1 && cnt > 16) {
		/* AMD, 16-bit counts 17..31: CF = 0, and SHLD's OF = 0 */
		cf = 0;
		if (left)
			of = 0;
	} else if (amd && sz == 1 && cnt == 16 && left) {
		of = cf;	/* AMD, SHLD by 16: OF = CF (measured) */
	}
	uint64_t f = flags_szp(r, sz) | (cf ? FL_CF : 0) | (of ? FL_OF : 0) | (amd ? FL_AF : 0);
	return (struct shift_out){ r, f };
}

ALU_INLINE void shd_E_G(struct cpu *cpu, const struct insn *i, bool left, unsigned kind, unsigned sz)
{
	unsigned cnt = shift_count(cpu, i, kind, sz);
	uint64_t d = rm_read(cpu, i, sz);
	if (cnt == 0) {
		shift_nop(cpu, i, sz);
		return;
	}
	/* SHLD/SHRD write all six flags: the old ones are not needed. */
	struct shift_out o = shld_compute(left, sz, d, reg_read(cpu, i->reg, sz), cnt, cpu_is_amd(cpu));
	rm_write(cpu, i, o.r, sz);
	flags_set_arith(cpu, o.f);
}

DEF_V(shld_Ev_Gv_Ib, shd_E_G, true, CNT_IB)
DEF_V(shld_Ev_Gv_CL, shd_E_G, true, CNT_CL)
DEF_V(shrd_Ev_Gv_Ib, shd_E_G, false, CNT_IB)
DEF_V(shrd_Ev_Gv_CL, shd_E_G, false, CNT_CL)

/* ---- BMI2: SHLX SHRX SARX RORX (no flags) ------------------------------- */

ALU_INLINE void shx_body(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t v = rm_read(cpu, i, sz);
	unsigned c = (unsigned)cpu->regs[i->vvvv] & (SZ_BITS(sz) - 1);
	uint64_t r;
	switch (op) {
	case SH_SHL: r = v << c; break;
	case SH_SHR: r = v >> c; break;
	default: r = (uint64_t)((int64_t)sext_sz(v, sz) >> c); break;
	}
	reg_write(cpu, i->reg, r & size_mask[sz], sz);
}

DEF_Y(shlx_Gy_Ey_By, shx_body, SH_SHL)
DEF_Y(shrx_Gy_Ey_By, shx_body, SH_SHR)
DEF_Y(sarx_Gy_Ey_By, shx_body, SH_SAR)

ALU_INLINE void rorx_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	unsigned bits = SZ_BITS(sz), c = (unsigned)i->imm & (bits - 1);
	uint64_t v = rm_read(cpu, i, sz);
	uint64_t r = c ? (v >> c) | (v << (bits - c)) : v;
	reg_write(cpu, i->reg, r & size_mask[sz], sz);
}

DEF_Y(rorx_Gy_Ey_Ib, rorx_body)
