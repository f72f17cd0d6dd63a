/*
 * alu.c - integer arithmetic, logic, moves and exchanges (SDM Vol. 2:
 * ADD ... CMP, TEST, INC/DEC, NOT/NEG, CMC/CLC/STC, SAHF/LAHF, SETcc,
 * CMOVcc, CBW/CWD families, XADD, CMPXCHG, CMPXCHG8B/16B, XCHG, NOP,
 * BSWAP, MOVZX/MOVSX/MOVSXD, MOVBE, LEA, MOV).
 *
 * Flags go to the lazy record (flags.h); the record is written last,
 * after the destination, so a faulting memory write leaves every flag
 * as it was (SDM Vol. 3 6.5). Read-modify-write memory operands are read,
 * computed and written back; LOCK is satisfied by the interpreter running
 * a vCPU's instruction to completion before another vCPU touches memory.
 *
 * Register destinations follow the 64-bit rules: 8/16-bit writes merge,
 * 32-bit writes zero-extend (reg_write). Choices where the SDM leaves
 * room, matching Intel and AMD hardware:
 *  - CMOVcc with a 32-bit operand writes (zero-extends) the destination
 *    even when the condition is false; the source is always read, so a
 *    memory source faults whatever the condition.
 *  - CMPXCHG: a memory destination is always written (the old value when
 *    the comparison fails). A register destination is written only on a
 *    match; on a mismatch only rAX is written (zero-extended for 32-bit).
 *  - BSWAP with a 16-bit operand clears the low 16 bits (what Intel and
 *    AMD processors do; the SDM calls the result undefined).
 */
#include "alu.h"

#include <stddef.h>
#include <string.h>

#include "decode.h"

/* ---- ADD OR ADC SBB AND SUB XOR CMP TEST ---------------------------- */

enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP, A_TEST };

struct alu_res {
	uint64_t r;
	unsigned kind;
};

ALU_INLINE struct alu_res alu_compute(struct cpu *cpu, unsigned op, unsigned sz, uint64_t a, uint64_t b)
{
	uint64_t m = size_mask[sz];
	struct alu_res x;
	bool c;
	switch (op) {
	case A_ADD: x.r = a + b; x.kind = LF_ADD; break;
	case A_ADC: c = flags_cf(cpu); x.r = a + b + c; x.kind = c ? LF_ADC : LF_ADD; break;
	case A_SBB: c = flags_cf(cpu); x.r = a - b - c; x.kind = c ? LF_SBB : LF_SUB; break;
	case A_SUB: case A_CMP: x.r = a - b; x.kind = LF_SUB; break;
	case A_AND: case A_TEST: x.r = a & b; x.kind = LF_LOGIC; break;
	case A_OR: x.r = a | b; x.kind = LF_LOGIC; break;
	default: x.r = a ^ b; x.kind = LF_LOGIC; break;
	}
	x.r &= m;
	return x;
}

#define ALU_WRITES(op) ((op) != A_CMP && (op) != A_TEST)

/* E op= G */
ALU_INLINE void alu_E_G(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t a = rm_read(cpu, i, sz), b = reg_read(cpu, i->reg, sz);
	struct alu_res x = alu_compute(cpu, op, sz, a, b);
	if (ALU_WRITES(op))
		rm_write(cpu, i, x.r, sz);
	lf_record(cpu, x.kind, sz, x.r, a, b);
}

/* G op= E */
ALU_INLINE void alu_G_E(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t a = reg_read(cpu, i->reg, sz), b = rm_read(cpu, i, sz);
	struct alu_res x = alu_compute(cpu, op, sz, a, b);
	if (ALU_WRITES(op))
		reg_write(cpu, i->reg, x.r, sz);
	lf_record(cpu, x.kind, sz, x.r, a, b);
}

/* E op= imm (group 1, 0x83's sign-extended Ib arrives in i->imm too) */
ALU_INLINE void alu_E_I(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t a = rm_read(cpu, i, sz), b = i->imm & size_mask[sz];
	struct alu_res x = alu_compute(cpu, op, sz, a, b);
	if (ALU_WRITES(op))
		rm_write(cpu, i, x.r, sz);
	lf_record(cpu, x.kind, sz, x.r, a, b);
}

/* AL / rAX op= imm (register 0: byte offset 0 is AL too) */
ALU_INLINE void alu_A_I(struct cpu *cpu, const struct insn *i, unsigned op, unsigned sz)
{
	uint64_t a = reg_read(cpu, R_AX, sz), b = i->imm & size_mask[sz];
	struct alu_res x = alu_compute(cpu, op, sz, a, b);
	if (ALU_WRITES(op))
		reg_write(cpu, R_AX, x.r, sz);
	lf_record(cpu, x.kind, sz, x.r, a, b);
}

#define ALU_FAMILY(name, OPC) \
	DEF_B(name##_Eb_Gb, alu_E_G, OPC) \
	DEF_V(name##_Ev_Gv, alu_E_G, OPC) \
	DEF_B(name##_Gb_Eb, alu_G_E, OPC) \
	DEF_V(name##_Gv_Ev, alu_G_E, OPC) \
	DEF_B(name##_AL_Ib, alu_A_I, OPC) \
	DEF_V(name##_rAX_Iz, alu_A_I, OPC) \
	DEF_B(name##_Eb_Ib, alu_E_I, OPC) \
	DEF_V(name##_Ev_Iz, alu_E_I, OPC)

ALU_FAMILY(add, A_ADD)
ALU_FAMILY(or, A_OR)
ALU_FAMILY(adc, A_ADC)
ALU_FAMILY(sbb, A_SBB)
ALU_FAMILY(and, A_AND)
ALU_FAMILY(sub, A_SUB)
ALU_FAMILY(xor, A_XOR)
ALU_FAMILY(cmp, A_CMP)

DEF_B(test_Eb_Gb, alu_E_G, A_TEST)
DEF_V(test_Ev_Gv, alu_E_G, A_TEST)
DEF_B(test_AL_Ib, alu_A_I, A_TEST)
DEF_V(test_rAX_Iz, alu_A_I, A_TEST)
DEF_B(test_Eb_Ib, alu_E_I, A_TEST)
DEF_V(test_Ev_Iz, alu_E_I, A_TEST)

/* ---- INC DEC NOT NEG ----------------------------------------------- */

ALU_INLINE void incdec_E(struct cpu *cpu, const struct insn *i, bool dec, unsigned sz)
{
	uint64_t a = rm_read(cpu, i, sz);
	uint64_t r = (dec ? a - 1 : a + 1) & size_mask[sz];
	rm_write(cpu, i, r, sz);
	flags_keep_cf(cpu);
	lf_record(cpu, dec ? LF_DEC : LF_INC, sz, r, a, 1);
}

ALU_INLINE void incdec_Z(struct cpu *cpu, const struct insn *i, bool dec, unsigned sz)
{
	uint64_t a = reg_read(cpu, i->reg, sz);
	uint64_t r = (dec ? a - 1 : a + 1) & size_mask[sz];
	reg_write(cpu, i->reg, r, sz);
	flags_keep_cf(cpu);
	lf_record(cpu, dec ? LF_DEC : LF_INC, sz, r, a, 1);
}

DEF_B(inc_Eb, incdec_E, false)
DEF_B(dec_Eb, incdec_E, true)
DEF_V(inc_Ev, incdec_E, false)
DEF_V(dec_Ev, incdec_E, true)
DEF_V(inc_Zv, incdec_Z, false)
DEF_V(dec_Zv, incdec_Z, true)

ALU_INLINE void not_E(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	rm_write(cpu, i, ~rm_read(cpu, i, sz) & size_mask[sz], sz);
}

ALU_INLINE void neg_E(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t a = rm_read(cpu, i, sz), r = (0 - a) & size_mask[sz];
	rm_write(cpu, i, r, sz);
	lf_record(cpu, LF_SUB, sz, r, 0, a);
}

DEF_B(not_Eb, not_E)
DEF_V(not_Ev, not_E)
DEF_B(neg_Eb, neg_E)
DEF_V(neg_Ev, neg_E)

/* ---- Flag instructions ---------------------------------------------- */

void cmc(struct cpu *cpu, const struct insn *i)
{
	flags_materialize(cpu);
	cpu->rflags ^= FL_CF;
}

void clc(struct cpu *cpu, const struct insn *i)
{
	flags_materialize(cpu);
	cpu->rflags &= ~(uint64_t)FL_CF;
}

void stc(struct cpu *cpu, const struct insn *i)
{
	flags_materialize(cpu);
	cpu->rflags |= FL_CF;
}

#define AH_FLAGS (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

/* LAHF/SAHF in 64-bit mode need CPUID.80000001H:ECX.LAHF-SAHF. */
static void lahf_check(struct cpu *cpu, const struct insn *i)
{
	if (cpu->mode == MODE_LONG && !cpu_has(cpu, FEAT_LAHF_LM))
		insn_ud(cpu, i);
}

void sahf(struct cpu *cpu, const struct insn *i)
{
	lahf_check(cpu, i);
	flags_materialize(cpu);
	cpu->rflags = (cpu->rflags & ~(uint64_t)AH_FLAGS) | (*reg8_ptr(cpu, 1) & AH_FLAGS);
}

void lahf(struct cpu *cpu, const struct insn *i)
{
	lahf_check(cpu, i);
	flags_materialize(cpu);
	*reg8_ptr(cpu, 1) = (uint8_t)((cpu->rflags & AH_FLAGS) | FL_FIXED1);
}

/* ---- SETcc CMOVcc ----------------------------------------------------- */

void setcc_Eb(struct cpu *cpu, const struct insn *i)
{
	rm_write(cpu, i, cpu_cond(cpu, i->cc), 0);
}

ALU_INLINE void cmovcc_G_E(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t v = rm_read(cpu, i, sz);
	if (cpu_cond(cpu, i->cc))
		reg_write(cpu, i->reg, v, sz);
	else if (sz == 2)
		reg_write32(cpu, i->reg, (uint32_t)cpu->regs[i->reg]);
}

DEF_V(cmovcc_Gv_Ev, cmovcc_G_E)

/* ---- CBW/CWDE/CDQE, CWD/CDQ/CQO --------------------------------------- */

ALU_INLINE void cbw_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	reg_write(cpu, R_AX, sext_sz(cpu->regs[R_AX], sz - 1), sz);
}

ALU_INLINE void cwd_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	bool neg = cpu->regs[R_AX] & SZ_SIGN(sz);
	reg_write(cpu, R_DX, neg ? ~0ull : 0, sz);
}

DEF_V(cbw, cbw_body)
DEF_V(cwd, cwd_body)

/* ---- XADD CMPXCHG CMPXCHG8B/16B ---------------------------------------- */

ALU_INLINE void xadd_E_G(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t a = rm_read(cpu, i, sz), b = reg_read(cpu, i->reg, sz);
	uint64_t r = (a + b) & size_mask[sz];
	if (i->mod == 3) {
		/* TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (same reg: sum) */
		reg_write(cpu, i->reg, a, sz);
		reg_write(cpu, i->rm, r, sz);
	} else {
		rm_write(cpu, i, r, sz);
		reg_write(cpu, i->reg, a, sz);
	}
	lf_record(cpu, LF_ADD, sz, r, a, b);
}

DEF_B(xadd_Eb_Gb, xadd_E_G)
DEF_V(xadd_Ev_Gv, xadd_E_G)

ALU_INLINE void cmpxchg_E_G(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t m = size_mask[sz];
	uint64_t d = rm_read(cpu, i, sz), acc = cpu->regs[R_AX] & m;
	if (acc == d) {
		rm_write(cpu, i, reg_read(cpu, i->reg, sz), sz);
	} else {
		if (i->mod != 3)
			rm_write(cpu, i, d, sz);	/* always written back */
		reg_write(cpu, R_AX, d, sz);
	}
	lf_record(cpu, LF_SUB, sz, (acc - d) & m, acc, d);
}

DEF_B(cmpxchg_Eb_Gb, cmpxchg_E_G)
DEF_V(cmpxchg_Ev_Gv, cmpxchg_E_G)

/* CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W): only ZF changes. */
void cmpxchg8b_Mq(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = insn_ea(cpu, i);
	uint64_t zf;
	if (i->flags & INSN_REXW) {
		if (!cpu_has(cpu, FEAT_CX16))
			insn_ud(cpu, i);
		if (ea & 15)
			cpu_fault(cpu, EXC_GP, 0);
		uint64_t mask = addr_mask(i->asz);
		uint64_t lo = mem_read64(cpu, i->seg, ea), hi = mem_read64(cpu, i->seg, (ea + 8) & mask);
		mem_probe_write(cpu, i->seg, ea, 16);
		bool eq = lo == cpu->regs[R_AX] && hi == cpu->regs[R_DX];
		if (eq) {
			mem_write64(cpu, i->seg, ea, cpu->regs[R_BX]);
			mem_write64(cpu, i->seg, (ea + 8) & mask, cpu->regs[R_CX]);
		} else {
			mem_write64(cpu, i->seg, ea, lo);
			mem_write64(cpu, i->seg, (ea + 8) & mask, hi);
			cpu->regs[R_AX] = lo;
			cpu->regs[R_DX] = hi;
		}
		zf = eq ? FL_ZF : 0;
	} else {
		uint64_t v = mem_read64(cpu, i->seg, ea);
		uint64_t cmp = (cpu->regs[R_DX] & 0xffffffffull) << 32 | (cpu->regs[R_AX] & 0xffffffffull);
		bool eq = v == cmp;
		if (eq) {
			mem_write64(cpu, i->seg, ea, (cpu->regs[R_CX] & 0xffffffffull) << 32 |
						     (cpu->regs[R_BX] & 0xffffffffull));
		} else {
			mem_write64(cpu, i->seg, ea, v);
			reg_write32(cpu, R_AX, (uint32_t)v);
			reg_write32(cpu, R_DX, (uint32_t)(v >> 32));
		}
		zf = eq ? FL_ZF : 0;
	}
	flags_set_arith(cpu, (alu_flags(cpu) & ~(uint64_t)FL_ZF) | zf);
}

/* ---- XCHG NOP BSWAP ----------------------------------------------------- */

ALU_INLINE void xchg_E_G(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t a = rm_read(cpu, i, sz), b = reg_read(cpu, i->reg, sz);
	rm_write(cpu, i, b, sz);
	reg_write(cpu, i->reg, a, sz);
}

DEF_B(xchg_Eb_Gb, xchg_E_G)
DEF_V(xchg_Ev_Gv, xchg_E_G)

static inline void xchg_regs(struct cpu *cpu, unsigned r, unsigned sz)
{
	uint64_t a = reg_read(cpu, R_AX, sz), b = reg_read(cpu, r, sz);
	reg_write(cpu, R_AX, b, sz);
	reg_write(cpu, r, a, sz);
}

ALU_INLINE void xchg_Z_A(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	xchg_regs(cpu, i->reg, sz);
}

DEF_V(xchg_Zv_rAX, xchg_Z_A)

/*
 * 0x90: NOP, except with REX.B, where it is XCHG r8, rAX (SDM Vol. 2
 * "XCHG"; 90 alone never zero-extends EAX). The register comes from
 * i->reg when the table entry names a Z operand; otherwise from the REX
 * byte right before the opcode (the decoder keeps no REX.B for operand-
 * less entries).
 */
ALU_INLINE void nop_90_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	/* 90 is NOP (no zero-extension of EAX); with REX.B it is XCHG r8, rAX. */
	if (i->reg != R_AX)
		xchg_regs(cpu, i->reg, sz);
}

DEF_V(nop_90, nop_90_body)

ALU_INLINE uint64_t bswap_sz(uint64_t v, unsigned sz)
{
	switch (sz) {
	case 1: return __builtin_bswap16((uint16_t)v);
	case 2: return __builtin_bswap32((uint32_t)v);
	default: return __builtin_bswap64(v);
	}
}

ALU_INLINE void bswap_Z(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t v = reg_read(cpu, i->reg, sz);
	reg_write(cpu, i->reg, sz == 1 ? 0 : bswap_sz(v, sz), sz);
}

DEF_V(bswap_Zv, bswap_Z)

/* ---- MOVZX MOVSX MOVSXD MOVBE LEA -------------------------------------- */

ALU_INLINE void movx_G_E(struct cpu *cpu, const struct insn *i, unsigned src_sz, bool sign, unsigned sz)
{
	uint64_t v = rm_read(cpu, i, src_sz);
	if (sign)
		v = sext_sz(v, src_sz);
	reg_write(cpu, i->reg, v & size_mask[sz], sz);
}

DEF_V(movzx_Gv_Eb, movx_G_E, 0, false)
DEF_V(movzx_Gv_Ew, movx_G_E, 1, false)
DEF_V(movsx_Gv_Eb, movx_G_E, 0, true)
DEF_V(movsx_Gv_Ew, movx_G_E, 1, true)
DEF_V(movsxd_Gv_Ed, movx_G_E, 2, true)

ALU_INLINE void movbe_G_M(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	reg_write(cpu, i->reg, bswap_sz(rm_read(cpu, i, sz), sz), sz);
}

ALU_INLINE void movbe_M_G(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	rm_write(cpu, i, bswap_sz(reg_read(cpu, i->reg, sz), sz), sz);
}

DEF_V(movbe_Gv_Mv, movbe_G_M)
DEF_V(movbe_Mv_Gv, movbe_M_G)

ALU_INLINE void lea_body(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	reg_write(cpu, i->reg, insn_ea(cpu, i) & size_mask[sz], sz);
}

DEF_V(lea_Gv_M, lea_body)

/* ---- MOV ------------------------------------------------------------- */

ALU_INLINE void mov_E_G(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	rm_write(cpu, i, reg_read(cpu, i->reg, sz), sz);
}

ALU_INLINE void mov_G_E(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	reg_write(cpu, i->reg, rm_read(cpu, i, sz), sz);
}

ALU_INLINE void mov_E_I(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	rm_write(cpu, i, i->imm & size_mask[sz], sz);
}

ALU_INLINE void mov_Z_I(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	reg_write(cpu, i->reg, i->imm & size_mask[sz], sz);
}

/* moffs forms: the offset is i->imm, truncated to the address size. */
ALU_INLINE void mov_A_O(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	uint64_t v = mem_read(cpu, i->seg, i->imm & addr_mask(i->asz), 1u << sz);
	reg_write(cpu, R_AX, v, sz);
}

ALU_INLINE void mov_O_A(struct cpu *cpu, const struct insn *i, unsigned sz)
{
	mem_write(cpu, i->seg, i->imm & addr_mask(i->asz), reg_read(cpu, R_AX, sz), 1u << sz);
}

DEF_B(mov_Eb_Gb, mov_E_G)
DEF_V(mov_Ev_Gv, mov_E_G)
DEF_B(mov_Gb_Eb, mov_G_E)
DEF_V(mov_Gv_Ev, mov_G_E)
DEF_B(mov_Eb_Ib, mov_E_I)
DEF_V(mov_Ev_Iz, mov_E_I)
DEF_B(mov_Zb_Ib, mov_Z_I)
DEF_V(mov_Zv_Iv, mov_Z_I)
DEF_B(mov_AL_Ob, mov_A_O)
DEF_V(mov_rAX_Ov, mov_A_O)
DEF_B(mov_Ob_AL, mov_O_A)
DEF_V(mov_Ov_rAX, mov_O_A)

/* ---- Block-build specialisation ------------------------------------------ */

/*
 * Register and memory forms of the hottest ModRM handlers (alu_specialise,
 * called by exec.c's block decoder): the same handler inlined with the
 * ModRM.mod test folded, so the form costs no branch at run time. They
 * behave exactly as the table handler for an insn of that form.
 */
#define ALU_FORMS(h) \
	static void __attribute__((flatten)) h##_r(struct cpu *cpu, const struct insn *i) \
	{ if (i->mod != 3) __builtin_unreachable(); h(cpu, i); } \
	static void __attribute__((flatten)) h##_m(struct cpu *cpu, const struct insn *i) \
	{ if (i->mod == 3) __builtin_unreachable(); h(cpu, i); }
#define ALU_FORMS_DQ(h) ALU_FORMS(h##_d) ALU_FORMS(h##_q)
#define ALU_FORM_ENTRY(h) { h, h##_r, h##_m },
#define ALU_FORM_ENTRY_DQ(h) ALU_FORM_ENTRY(h##_d) ALU_FORM_ENTRY(h##_q)

#define ALU_FORM_LIST(X, XB) \
	X(mov_Ev_Gv) X(mov_Gv_Ev) X(movzx_Gv_Eb) X(movzx_Gv_Ew) X(movsxd_Gv_Ed) \
	X(add_Ev_Gv) X(add_Gv_Ev) X(add_Ev_Iz) X(sub_Ev_Gv) X(sub_Gv_Ev) X(sub_Ev_Iz) \
	X(cmp_Ev_Gv) X(cmp_Gv_Ev) X(cmp_Ev_Iz) X(and_Ev_Gv) X(and_Ev_Iz) X(or_Ev_Gv) \
	X(xor_Ev_Gv) X(test_Ev_Gv) X(test_Ev_Iz) X(mov_Ev_Iz) \
	XB(mov_Eb_Gb) XB(mov_Gb_Eb) XB(cmp_Eb_Ib) XB(test_Eb_Gb)

ALU_FORM_LIST(ALU_FORMS_DQ, ALU_FORMS)

static const struct {
	insn_fn fn, reg, mem;
} alu_forms[] = {
	ALU_FORM_LIST(ALU_FORM_ENTRY_DQ, ALU_FORM_ENTRY)
};

insn_fn alu_specialise(const struct insn *i)
{
	for (size_t k = 0; k < sizeof(alu_forms) / sizeof(alu_forms[0]); k++)
		if (alu_forms[k].fn == i->fn)
			return i->mod == 3 ? alu_forms[k].reg : alu_forms[k].mem;
	return i->fn;
}
