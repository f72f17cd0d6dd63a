/*
 * misc.h - near control flow, the stack, string instructions and port I/O
 * (branch.c, stack.c, string.c, io.c): handler prototypes, the helpers
 * these files share, and the I/O permission check that IN/OUT and
 * INS/OUTS both use.
 *
 * Width variants come from one body: a file writes
 * `static inline void foo_body(struct cpu *, const struct insn *, unsigned osz)`
 * and instantiates `MISC_HANDLER_V(foo, foo_body)`, which defines foo_w,
 * foo_d and foo_q calling the body with osz 1, 2, 3 (a constant the
 * compiler folds).
 */
#ifndef NESTEMU_CPU_MISC_H
#define NESTEMU_CPU_MISC_H

#include <stdbool.h>
#include <stdint.h>

#include "interp.h"

#define MISC_PROTO1(h) void h(struct cpu *cpu, const struct insn *i);
#define MISC_PROTO_V(h) MISC_PROTO1(h##_w) MISC_PROTO1(h##_d) MISC_PROTO1(h##_q)
#define MISC_PROTO_WD(h) MISC_PROTO1(h##_w) MISC_PROTO1(h##_d)

#define MISC_HANDLER_WD(name, body) \
	void name##_w(struct cpu *cpu, const struct insn *i) { body(cpu, i, 1); } \
	void name##_d(struct cpu *cpu, const struct insn *i) { body(cpu, i, 2); }
#define MISC_HANDLER_V(name, body) \
	MISC_HANDLER_WD(name, body) \
	void name##_q(struct cpu *cpu, const struct insn *i) { body(cpu, i, 3); }

/* branch.c */
MISC_PROTO1(jcc_Jb)
MISC_PROTO_V(jcc_Jz)
MISC_PROTO1(jmp_Jb)
MISC_PROTO_V(jmp_Jz)
MISC_PROTO_V(jmp_Ev)
MISC_PROTO_V(call_Jz)
MISC_PROTO_V(call_Ev)
MISC_PROTO_V(ret)
MISC_PROTO_V(ret_Iw)
MISC_PROTO1(loop_Jb)
MISC_PROTO1(loope_Jb)
MISC_PROTO1(loopne_Jb)
MISC_PROTO1(jcxz_Jb)
/* The handler to run for a decoded insn (code_size as decode_insn's, with
 * DECODE_AMD): a Jcc gets one specialised for its condition and operand
 * size; anything else keeps i->fn. */
insn_fn branch_specialise(const struct insn *i, unsigned code_size);

/* stack.c */
MISC_PROTO_V(push_Zv)
MISC_PROTO_V(pop_Zv)
MISC_PROTO_V(push_Ev)
MISC_PROTO_V(pop_Ev)
MISC_PROTO_V(push_Iz)
MISC_PROTO_WD(pusha)
MISC_PROTO_WD(popa)
MISC_PROTO_V(enter)
MISC_PROTO_V(leave)
MISC_PROTO1(xlat)

/* string.c */
MISC_PROTO1(movsb)
MISC_PROTO_V(movs)
MISC_PROTO1(cmpsb)
MISC_PROTO_V(cmps)
MISC_PROTO1(stosb)
MISC_PROTO_V(stos)
MISC_PROTO1(lodsb)
MISC_PROTO_V(lods)
MISC_PROTO1(scasb)
MISC_PROTO_V(scas)
MISC_PROTO1(insb)
MISC_PROTO_V(ins)
MISC_PROTO1(outsb)
MISC_PROTO_V(outs)

/* io.c */
MISC_PROTO1(in_AL_Ib)
MISC_PROTO_V(in_eAX_Ib)
MISC_PROTO1(out_Ib_AL)
MISC_PROTO_V(out_Ib_eAX)
MISC_PROTO1(in_AL_DX)
MISC_PROTO_V(in_eAX_DX)
MISC_PROTO1(out_DX_AL)
MISC_PROTO_V(out_DX_eAX)

/*
 * I/O permission (SDM Vol. 1 19.5, 19.5.2): in protected mode with
 * CPL > IOPL, and always in virtual-8086 mode, every bit of the TSS I/O
 * permission bitmap covering port..port+size-1 must be clear; raises
 * #GP(0) otherwise (also for a missing bitmap, a 16-bit TSS or a bitmap
 * beyond the TSS limit).
 */
void io_check_access(struct cpu *cpu, uint16_t port, unsigned size);

/*
 * The intercept question for an I/O access (VE_IO: a = port, b = size,
 * c = VE_IO_* flags, d = the value for OUT). True when the instruction
 * was intercepted and must stop without changing state. An intercepted
 * access unwinds (cpu_unwind) with RIP at the instruction, so in practice
 * this returns false or does not return.
 */
bool io_intercept(struct cpu *cpu, const struct insn *i, uint16_t port, unsigned size,
		  unsigned flags, uint64_t value);

/* Writes SP/ESP/RSP with the stack address size (16-bit keeps the top). */
static inline void misc_set_sp(struct cpu *cpu, uint64_t sp)
{
	sp &= size_mask[cpu->stack_size];
	cpu->regs[R_SP] = cpu->stack_size == 1 ? (cpu->regs[R_SP] & ~0xffffull) | sp : sp;
}

/* The stack pointer as an offset in SS (stack address size). */
static inline uint64_t misc_sp(const struct cpu *cpu)
{
	return cpu->regs[R_SP] & size_mask[cpu->stack_size];
}

#endif
