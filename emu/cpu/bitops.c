/*
 * bitops.c - bit tests and scans, counts, BMI1/BMI2 bit manipulation,
 * ADX and CRC32 (SDM Vol. 2 "BT", "BTS", "BTR", "BTC", "BSF", "BSR",
 * "TZCNT", "LZCNT", "POPCNT", "ANDN", "BLSR", "BLSMSK", "BLSI", "BZHI",
 * "BEXTR", "PDEP", "PEXT", "ADCX", "ADOX", "CRC32").
 *
 * BT* with a register bit offset and a memory operand address the bit
 * string beyond the operand: the offset is signed, the operand moved by
 * (offset >> log2(width)) operand-sized units (SDM Vol. 2 3.1.1.9 "bit
 * base, bit offset"). With an immediate the offset is taken modulo the
 * width and the operand stays.
 *
 * Undefined flags (SDM): the AMD model matches a Zen host exactly
 * (tests/unit/test_diff.c); the Intel model follows Bochs where no Intel
 * host was measured:
 *  - BT*: CF = bit; OF, SF, AF, PF, ZF kept (both vendors, AMD measured).
 *  - BSF/BSR: AMD: ZF, PF of the index (of 0 when the source is 0), the
 *    rest clear; Intel: only ZF changes. The destination is left as is
 *    (no zero-extension) when the source is 0 (both measured on AMD).
 *  - TZCNT/LZCNT: AMD keeps OF and clears SF, AF, PF; Intel clears them.
 *  - ANDN, BLSR/BLSMSK/BLSI, BZHI: SF, ZF, PF from the result, AF = 0, OF = 0;
 *    BEXTR on AMD also sets AF and clears SF.
 */
#include "alu.h"

/* ---- BT BTS BTR BTC ---------------------------------------------------- */

enum { BT_TEST, BT_SET, BT_RESET, BT_COMP };

/* Flags after BT*: CF = the bit; ZF unaffected; OF, SF, AF, PF undefined
 * (left unchanged here). */
static uint64_t bt_flags(uint64_t old, bool bit)
{
	return (old & ~(uint64_t)FL_CF) | (bit ? FL_CF : 0);
}

ALU_INLINE void bt_apply(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz,
			 uint64_t off_ea, unsigned bit, bool memory)
{
	uint64_t v, mask = 1ull << bit;
	if (memory)
		v = mem_read(cpu, i->seg, off_ea, 1u << sz);
	else
		v = reg_read(cpu, i->rm, sz);
	bool b = v & mask;
	if (op != BT_TEST) {
		uint64_t r = op == BT_SET ? v | mask : op == BT_RESET ? v & ~mask : v ^ mask;
		if (memory)
			mem_write(cpu, i->seg, off_ea, r, 1u << sz);
		else
			reg_write(cpu, i->rm, r, sz);
	}
	flags_set_arith(cpu, bt_flags(alu_flags(cpu), b));
}

ALU_INLINE void bt_E_G(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t off = reg_read(cpu, i->reg, sz);
	unsigned bit = (unsigned)off & (SZ_BITS(sz) - 1);
	if (i->mod == 3) {
		bt_apply(cpu, i, op, sz, 0, bit, false);
		return;
	}
	int64_t soff = (int64_t)sext_sz(off, sz);
	uint64_t ea = (insn_ea(cpu, i) + (uint64_t)((soff >> (sz + 3)) * (int64_t)(1u << sz))) &
		      addr_mask(i->asz);
	bt_apply(cpu, i, op, sz, ea, bit, true);
}

ALU_INLINE void bt_E_I(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	unsigned bit = (unsigned)i->imm & (SZ_BITS(sz) - 1);
	bt_apply(cpu, i, op, sz, i->mod == 3 ? 0 : insn_ea(cpu, i), bit, i->mod != 3);
}

DEF_V(bt_Ev_Gv, bt_E_G, BT_TEST)
DEF_V(bts_Ev_Gv, bt_E_G, BT_SET)
DEF_V(btr_Ev_Gv, bt_E_G, BT_RESET)
DEF_V(btc_Ev_Gv, bt_E_G, BT_COMP)
DEF_V(bt_Ev_Ib, bt_E_I, BT_TEST)
DEF_V(bts_Ev_Ib, bt_E_I, BT_SET)
DEF_V(btr_Ev_Ib, bt_E_I, BT_RESET)
DEF_V(btc_Ev_Ib, bt_E_I, BT_COMP)

/* ---- BSF BSR TZCNT LZCNT POPCNT --------------------------------------------- */

/*
 * BSF/BSR: source 0 => ZF = 1 and the destination unchanged (not even
 * the 32-bit zero-extension); otherwise ZF = 0. CF, OF, SF, AF, PF are
 * undefined: bsf_flags gives the hardware's values.
 */
static uint64_t bsf_flags(struct cpu *cpu, uint64_t old, uint64_t src, uint64_t dest)
{
	if (cpu_is_amd(cpu))	/* AMD: PF of the index (of 0 for a zero source), others clear */
		return (src == 0 ? FL_ZF : 0) | (flags_parity(src ? dest : 0) ? FL_PF : 0);
	return (old & ~(uint64_t)FL_ZF) | (src == 0 ? FL_ZF : 0);
}

ALU_INLINE void bsf_body(struct cpu *cpu, const struct insn *i, bool rev, unsigned sz)
{
	uint64_t v = rm_read(cpu, i, sz);
	if (v != 0)
		reg_write(cpu, i->reg, rev ? 63u - (unsigned)__builtin_clzll(v) : (unsigned)__builtin_ctzll(v), sz);
	flags_set_arith(cpu, bsf_flags(cpu, alu_flags(cpu), v, cpu->regs[i->reg]));
}

DEF_V(bsf_Gv_Ev, bsf_body, false)
DEF_V(bsr_Gv_Ev, bsf_body, true)

/* TZCNT/LZCNT: CF = (source == 0), ZF = (result == 0); OF, SF, AF, PF
 * undefined: cnt_flags gives the hardware's values. */
static uint64_t cnt_flags(struct cpu *cpu, uint64_t old, uint64_t src, uint64_t res)
{
	uint64_t keep = cpu_is_amd(cpu) ? old & FL_OF : 0;
	return keep | (src == 0 ? FL_CF : 0) | (res == 0 ? FL_ZF : 0);
}

ALU_INLINE void cnt_body(struct cpu *cpu, const struct insn *i, bool lz, unsigned sz)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t v = rm_read(cpu, i, sz);
	uint64_t r;
	if (v == 0)
		r = bits;
	else
		r = lz ? (unsigned)__builtin_clzll(v) - (64 - bits) : (unsigned)__builtin_ctzll(v);
	reg_write(cpu, i->reg, r, sz);
	flags_set_arith(cpu, cnt_flags(cpu, alu_flags(cpu), v, r));
}

DEF_V(tzcnt_Gv_Ev, cnt_body, false)
DEF_V(lzcnt_Gv_Ev, cnt_body, true)

ALU_INLINE void popcnt_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t v = rm_read(cpu, i, sz);
	reg_write(cpu, i->reg, (uint64_t)__builtin_popcountll(v), sz);
	flags_set_arith(cpu, v == 0 ? FL_ZF : 0);
}

DEF_V(popcnt_Gv_Ev, popcnt_body)

/* ---- BMI1 / BMI2 ----------------------------------------------------------- */

/*
 * Flags of the BMI group: SF/ZF from the result, OF = 0, CF per
 * instruction; AF and PF undefined (bmi_flags keeps them, see the
 * differential test).
 */
static uint64_t bmi_flags(struct cpu *cpu, uint64_t res, bool cf, unsigned sz)
{
	return flags_szp(res, sz) | (cf ? FL_CF : 0);
}

ALU_INLINE void andn_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t b = rm_read(cpu, i, sz);
	uint64_t r = ~cpu->regs[i->vvvv] & b & size_mask[sz];
	uint64_t f = bmi_flags(cpu, r, false, sz);
	reg_write(cpu, i->reg, r, sz);
	flags_set_arith(cpu, f);
}

DEF_Y(andn_Gy_By_Ey, andn_body)

enum { BLS_R, BLS_MSK, BLS_I };

ALU_INLINE void bls_body(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t s = rm_read(cpu, i, sz), r;
	bool cf;
	switch (op) {
	case BLS_R: r = s & (s - 1); cf = s == 0; break;
	case BLS_MSK: r = s ^ (s - 1); cf = s == 0; break;
	default: r = s & (0 - s); cf = s != 0; break;
	}
	r &= size_mask[sz];
	uint64_t f = bmi_flags(cpu, r, cf, sz);
	reg_write(cpu, i->vvvv, r, sz);
	flags_set_arith(cpu, f);
}

DEF_Y(blsr_By_Ey, bls_body, BLS_R)
DEF_Y(blsmsk_By_Ey, bls_body, BLS_MSK)
DEF_Y(blsi_By_Ey, bls_body, BLS_I)

ALU_INLINE void bzhi_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t s = rm_read(cpu, i, sz);
	unsigned n = cpu->regs[i->vvvv] & 0xff;
	uint64_t r = n < bits ? s & ((1ull << n) - 1) : s;
	uint64_t f = bmi_flags(cpu, r, n > bits - 1, sz);
	reg_write(cpu, i->reg, r, sz);
	flags_set_arith(cpu, f);
}

DEF_Y(bzhi_Gy_Ey_By, bzhi_body)

ALU_INLINE void bextr_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	unsigned bits = SZ_BITS(sz);
	uint64_t s = rm_read(cpu, i, sz);
	unsigned start = cpu->regs[i->vvvv] & 0xff, len = (cpu->regs[i->vvvv] >> 8) & 0xff;
	uint64_t r = start < bits ? s >> start : 0;
	if (len < 64)
		r &= (1ull << len) - 1;
	/* AMD: AF = 1 and SF = 0 after BEXTR (measured) */
	uint64_t f = bmi_flags(cpu, r, false, sz);
	if (cpu_is_amd(cpu))
		f = (f & ~(uint64_t)FL_SF) | FL_AF;
	reg_write(cpu, i->reg, r, sz);
	flags_set_arith(cpu, f);
}

DEF_Y(bextr_Gy_Ey_By, bextr_body)

ALU_INLINE void pdep_body(struct cpu *cpu, const struct insn *i, bool ext, unsigned sz)
{
	uint64_t mask = rm_read(cpu, i, sz), src = cpu->regs[i->vvvv] & size_mask[sz], r = 0;
	unsigned k = 0;
	for (uint64_t mm = mask; mm; mm &= mm - 1, k++) {
		uint64_t low = mm & (0 - mm);
		if (ext) {
			if (src & low)
				r |= 1ull << k;
		} else if ((src >> k) & 1) {
			r |= low;
		}
	}
	reg_write(cpu, i->reg, r, sz);
}

DEF_Y(pdep_Gy_By_Ey, pdep_body, false)
DEF_Y(pext_Gy_By_Ey, pdep_body, true)

/* ---- ADCX ADOX: add with CF (resp. OF) as carry in and out only ------------ */

ALU_INLINE void adx_body(struct cpu *cpu, const struct insn *i, uint64_t flag, unsigned sz)
{
	uint64_t m = size_mask[sz];
	uint64_t b = rm_read(cpu, i, sz), a = reg_read(cpu, i->reg, sz);
	uint64_t f = alu_flags(cpu);
	uint64_t c = (f & flag) ? 1 : 0;
	uint64_t r = (a + b + c) & m;
	bool cout = c ? r <= a : r < a;
	reg_write(cpu, i->reg, r, sz);
	flags_set_arith(cpu, (f & ~flag) | (cout ? flag : 0));
}

DEF_Y(adcx_Gy_Ey, adx_body, FL_CF)
DEF_Y(adox_Gy_Ey, adx_body, FL_OF)

/* ---- CRC32 (CRC-32C, reflected polynomial 0x82F63B78) ----------------------- */

static uint32_t crc32c(uint32_t crc, uint64_t v, unsigned bytes)
{
	for (unsigned k = 0; k < bytes * 8; k++) {
		crc ^= (uint32_t)(v >> k) & 1;
		crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
	}
	return crc;
}

/* Destination: 32 bits of Gy (64-bit with REX.W, upper half zeroed). */
static void crc32_common(struct cpu *cpu, const struct insn *i, unsigned src_sz)
{
	uint64_t v = rm_read(cpu, i, src_sz);
	uint32_t crc = crc32c((uint32_t)cpu->regs[i->reg], v, 1u << src_sz);
	cpu->regs[i->reg] = crc;
}

void crc32_Gy_Eb(struct cpu *cpu, const struct insn *i)
{
	crc32_common(cpu, i, 0);
}

void crc32_Gy_Ev(struct cpu *cpu, const struct insn *i)
{
	crc32_common(cpu, i, i->osz);
}
