/*
 * bcd.c - decimal adjust instructions and SALC (SDM Vol. 2 "DAA", "DAS",
 * "AAA", "AAS", "AAM", "AAD"; SALC is the undocumented D6: AL = CF ? FF : 0).
 * All are invalid in 64-bit mode (the decoder's OPF_I64).
 *
 * Flags the SDM leaves undefined, as chosen here (they cannot be checked
 * against a 64-bit host natively; these follow published measurements
 * of Intel processors and Bochs):
 *  - DAA/DAS: OF is the signed overflow of the whole adjustment taken as
 *    one 8-bit ADD (DAA) or SUB (DAS) of the correction to the old AL.
 *  - AAA/AAS: SF, ZF, PF from the final AL; OF = 0.
 *  - AAM: SF, ZF, PF from AL; OF = AF = CF = 0.
 *  - AAD: flags of the 8-bit ADD AL + (AH * imm8), the final step.
 */
#include "alu.h"

static inline uint8_t get_al(struct cpu *cpu) { return (uint8_t)cpu->regs[R_AX]; }
static inline uint8_t get_ah(struct cpu *cpu) { return (uint8_t)(cpu->regs[R_AX] >> 8); }

static void daa_das(struct cpu *cpu, bool sub)
{
	uint64_t f = alu_flags(cpu);
	uint8_t old_al = get_al(cpu), al = old_al, corr = 0;
	bool old_cf = f & FL_CF, cf = false, af = false;
	if ((old_al & 0x0f) > 9 || (f & FL_AF)) {
		corr = 0x06;
		af = true;
	}
	if (old_al > 0x99 || old_cf) {
		corr |= 0x60;
		cf = true;
	}
	al = sub ? (uint8_t)(old_al - corr) : (uint8_t)(old_al + corr);
	bool of = sub ? ((old_al ^ corr) & (old_al ^ al) & 0x80) : ((old_al ^ al) & (corr ^ al) & 0x80);
	*reg8_ptr(cpu, 0) = al;
	flags_set_arith(cpu, flags_szp(al, 0) | (cf ? FL_CF : 0) | (af ? FL_AF : 0) | (of ? FL_OF : 0));
}

void daa(struct cpu *cpu, const struct insn *i)
{
	daa_das(cpu, false);
}

void das(struct cpu *cpu, const struct insn *i)
{
	daa_das(cpu, true);
}

static void aaa_aas(struct cpu *cpu, bool sub)
{
	uint64_t f = alu_flags(cpu);
	uint16_t ax = (uint16_t)cpu->regs[R_AX];
	bool adj = (ax & 0x0f) > 9 || (f & FL_AF);
	if (adj)
		ax = sub ? (uint16_t)(ax - 0x106) : (uint16_t)(ax + 0x106);
	ax &= 0xff0f;
	reg_write16(cpu, R_AX, ax);
	flags_set_arith(cpu, flags_szp(ax & 0xff, 0) | (adj ? FL_AF | FL_CF : 0));
}

void aaa(struct cpu *cpu, const struct insn *i)
{
	aaa_aas(cpu, false);
}

void aas(struct cpu *cpu, const struct insn *i)
{
	aaa_aas(cpu, true);
}

void aam(struct cpu *cpu, const struct insn *i)
{
	uint8_t base = (uint8_t)i->imm, al = get_al(cpu);
	if (base == 0)
		cpu_fault(cpu, EXC_DE, NO_ERROR_CODE);
	uint8_t q = al / base, r = al % base;
	reg_write16(cpu, R_AX, (uint16_t)(q << 8 | r));
	flags_set_arith(cpu, flags_szp(r, 0));
}

void aad(struct cpu *cpu, const struct insn *i)
{
	uint8_t base = (uint8_t)i->imm, al = get_al(cpu), ah = get_ah(cpu);
	uint8_t t = (uint8_t)(ah * base), r = (uint8_t)(al + t);
	reg_write16(cpu, R_AX, r);
	lf_record(cpu, LF_ADD, 0, r, al, t);
}

void salc(struct cpu *cpu, const struct insn *i)
{
	*reg8_ptr(cpu, 0) = flags_cf(cpu) ? 0xff : 0;
}
