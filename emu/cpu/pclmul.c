/*
 * pclmul.c - PCLMULQDQ (SDM Vol. 2): carry-less multiplication of one
 * quadword of each operand (imm8 bit 0 selects the first operand's,
 * bit 4 the second's) into a 128-bit product. The memory operand of the
 * legacy form needs 16-byte alignment.
 */
#include "sse4.h"

void pclmulqdq_Vdq_Wdq_Ib(struct cpu *cpu, const struct insn *i)
{
	simd_check_sse(cpu);
	union x128 s = sse4_src(cpu, i, 16, true), *d = sse4_xmm(cpu, i->reg);
	uint64_t a = d->q[i->imm & 1], b = s.q[(i->imm >> 4) & 1];
	uint64_t lo = 0, hi = 0;
	for (unsigned k = 0; k < 64; k++)
		if (b >> k & 1) {
			lo ^= a << k;
			if (k)
				hi ^= a >> (64 - k);
		}
	d->q[0] = lo;
	d->q[1] = hi;
}
