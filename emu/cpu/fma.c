/*
 * fma.c - FMA3: VFMADD/VFMSUB/VFNMADD/VFNMSUB/VFMADDSUB/VFMSUBADD in
 * their 132/213/231 forms, packed (PS/PD) and scalar (SS/SD) (SDM Vol. 2
 * VFMADD* pages). The operands are op1 = ModRM.reg (also the
 * destination), op2 = VEX.vvvv, op3 = ModRM.rm; the digits name which
 * operands are multiplied and which is added: 132 = op1*op3 + op2,
 * 213 = op2*op1 + op3, 231 = op2*op3 + op1. VEX.W selects double
 * precision. Each element is one fused operation with a single rounding
 * (avx_f32_fma / avx_f64_fma: the host's fmaf/fma under the MXCSR
 * rounding mode, with x86 NaN, DAZ, FTZ and flag rules).
 */
#include "avx.h"

#include <string.h>

#include "alu.h"
#include "cpu.h"
#include "interp.h"

/* Opcode low nibble: 6 addsub, 7 subadd, 8/9 madd, A/B msub, C/D nmadd,
 * E/F nmsub (odd from 9 on: scalar). */
static unsigned fma_el(struct cpu *cpu, const struct insn *i, union vreg *d, const union vreg *a,
		       const union vreg *b, unsigned n)
{
	unsigned opc = opcode_table[i->op].opcode, kind = opc & 15, form = opc >> 4;
	bool dbl = (i->flags & INSN_REXW) != 0;
	bool scalar = kind >= 9 && (kind & 1);
	bool neg_mul = kind >= 0xc;
	unsigned es = dbl ? 8 : 4, cnt = scalar ? 1 : n / es, exc = 0;
	union vreg r = *d;
	for (unsigned k = 0; k < cnt; k++) {
		/* x * y + z from op1 (d), op2 (a), op3 (b). */
		const union vreg *x, *y, *z;
		switch (form) {
		case 9: x = d; y = b; z = a; break;
		case 0xa: x = a; y = d; z = b; break;
		default: x = a; y = b; z = d; break;
		}
		bool neg_c;
		if (kind == 6)
			neg_c = !(k & 1);	/* FMADDSUB: even elements subtract */
		else if (kind == 7)
			neg_c = k & 1;		/* FMSUBADD: odd elements subtract */
		else
			neg_c = kind == 0xa || kind == 0xb || kind == 0xe || kind == 0xf;
		if (dbl)
			r.q[k] = avx_f64_fma(cpu, x->q[k], y->q[k], z->q[k], neg_mul, neg_c, &exc);
		else
			r.d[k] = avx_f32_fma(cpu, x->d[k], y->d[k], z->d[k], neg_mul, neg_c, &exc);
	}
	*d = r;
	return exc;
}

void vfma(struct cpu *cpu, const struct insn *i)
{
	unsigned kind = opcode_table[i->op].opcode & 15;
	bool scalar = kind >= 9 && (kind & 1);
	unsigned fl = AX_FP;
	if (scalar)
		fl |= AX_LIG | AX_M((i->flags & INSN_REXW) ? AM_8 : AM_4);
	avx_op(cpu, i, fma_el, fl);
}
