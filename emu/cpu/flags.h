/*
 * flags.h - lazy arithmetic flags.
 *
 * Most instructions that write OF/SF/ZF/AF/PF/CF record their operands and
 * result in cpu->lf instead of computing the six flags. The flags are
 * materialized only when read (Jcc, SETcc, PUSHF, ADC ...), and the common
 * condition tests read them straight from the record (cpu_cond).
 *
 * Record kinds (lf.op >> 2), with lf.op & 3 the operand size index
 * (0 = 8, 1 = 16, 2 = 32, 3 = 64 bits):
 *   LF_NONE   flags are in cpu->rflags already
 *   LF_ADD    res = s1 + s2
 *   LF_ADC    res = s1 + s2 + 1   (the carry-in was 1; ADC with CF=0 is LF_ADD)
 *   LF_SUB    res = s1 - s2       (also CMP, NEG with s1 = 0)
 *   LF_SBB    res = s1 - s2 - 1
 *   LF_LOGIC  res = result; CF = OF = 0, AF = 0
 *   LF_INC    res = s1 + 1; CF is taken from cpu->rflags
 *   LF_DEC    res = s1 - 1; CF is taken from cpu->rflags
 * Values in the record are zero-extended to 64 bits.
 * Instructions with rarer flag rules (shifts, multiplies, BCD, bit ops)
 * compute all six flags and store them with flags_set_arith().
 */
#ifndef NESTEMU_FLAGS_H
#define NESTEMU_FLAGS_H

#include "cpu.h"

enum lf_kind { LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC };

static inline void lf_record(struct cpu *cpu, unsigned kind, unsigned size_idx,
			     uint64_t res, uint64_t s1, uint64_t s2)
{
	cpu->lf.op = kind << 2 | size_idx;
	cpu->lf.res = res;
	cpu->lf.s1 = s1;
	cpu->lf.s2 = s2;
}

/* Materializes the arithmetic flags into cpu->rflags (sets LF_NONE). */
void flags_materialize(struct cpu *cpu);

/* Stores the six arithmetic flags given in `f` (others ignored). */
static inline void flags_set_arith(struct cpu *cpu, uint64_t f)
{
	cpu->lf.op = LF_NONE << 2;
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_ARITH) | (f & FL_ARITH);
}

/* The current CF without materializing the other flags. */
bool flags_cf(struct cpu *cpu);

/* Before INC/DEC: keep CF in rflags so the record can leave it alone. */
static inline void flags_keep_cf(struct cpu *cpu)
{
	if (cpu->lf.op >> 2 != LF_NONE) {
		bool cf = flags_cf(cpu);
		cpu->rflags = (cpu->rflags & ~(uint64_t)FL_CF) | (cf ? FL_CF : 0);
	}
}

/* Evaluates condition code cc (0..15, the Jcc/SETcc/CMOVcc encoding). */
bool cpu_cond_slow(struct cpu *cpu, unsigned cc);

/*
 * The conditions Jcc/SETcc/CMOVcc test most, answered inline from the
 * record: ZF and SF follow from the result for every kind but LF_NONE,
 * and after SUB/CMP the unsigned and signed comparisons from s1 and s2
 * (cpu_cond_slow has the rest, with the same results).
 */
static inline bool cpu_cond(struct cpu *cpu, unsigned cc)
{
	unsigned kind = cpu->lf.op >> 2, sz = cpu->lf.op & 3, bits = 8u << sz;
	uint64_t m = ~0ull >> (64 - bits);
	bool neg = cc & 1;
	if (kind == LF_SUB) {
		uint64_t a = cpu->lf.s1 & m, b = cpu->lf.s2 & m;
		unsigned sh = 64 - bits;
		switch (cc >> 1) {
		case 1: return (a < b) ^ neg;
		case 2: return (a == b) ^ neg;
		case 3: return (a <= b) ^ neg;
		case 6: return ((int64_t)(a << sh) < (int64_t)(b << sh)) ^ neg;
		case 7: return ((int64_t)(a << sh) <= (int64_t)(b << sh)) ^ neg;
		}
	} else if (kind != LF_NONE) {
		uint64_t res = cpu->lf.res & m;
		if (cc >> 1 == 2)
			return (res == 0) ^ neg;
		if (cc >> 1 == 4)
			return ((res >> (bits - 1)) & 1) ^ neg;
	}
	return cpu_cond_slow(cpu, cc);
}

/* Parity flag of the low byte of v. */
static inline bool flags_parity(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

#endif
