/*
 * branch.c - near control transfers: Jcc, JMP, CALL, RET, LOOP/LOOPcc,
 * JCXZ (SDM Vol. 2 "Jcc", "JMP", "CALL", "RET", "LOOP/LOOPcc",
 * "JCXZ/JECXZ/JRCXZ"; Vol. 1 6.3 near calls and returns).
 *
 * A near branch target is an offset in CS: next_rip + displacement (or
 * the value of the r/m operand, or the popped return address) truncated
 * to the operand size, so 16-bit code wraps IP at 64 KiB. Before anything
 * is committed the target is checked: outside 64-bit mode against the CS
 * limit, in 64-bit mode for canonical form, both #GP(0). CALL checks the
 * target, then pushes (a stack fault leaves RSP unchanged), then jumps;
 * RET reads the return address, checks it and only then moves RSP.
 *
 * Class B forms (Jb) carry no operand size in the insn: it is derived
 * from the code size and the 0x66 prefix here; in 64-bit mode near
 * branches always use 64 bits (Intel behaviour: 0x66 is ignored).
 * LOOP and JCXZ count with the address size (CX, ECX or RCX).
 */
#include "misc.h"
#include "cpuid.h"
#include "decode.h"

/* Canonical form of a 64-bit linear address (48 or 57 bits with LA57). */
static inline bool branch_canonical(const struct cpu *cpu, uint64_t a)
{
	unsigned sh = (cpu->cr4 & CR4_LA57) ? 64 - 57 : 64 - 48;
	return (uint64_t)((int64_t)(a << sh) >> sh) == a;
}

/* #GP(0) unless `target` (already truncated) is a valid new RIP. */
static inline void branch_check(struct cpu *cpu, uint64_t target)
{
	if (cpu->code_size == 3) {
		if (unlikely(!branch_canonical(cpu, target)))
			cpu_fault(cpu, EXC_GP, 0);
	} else if (unlikely(target > cpu->seg[S_CS].limit)) {
		cpu_fault(cpu, EXC_GP, 0);
	}
}

static inline void branch_to(struct cpu *cpu, uint64_t target, unsigned osz)
{
	target &= size_mask[osz];
	branch_check(cpu, target);
	cpu->next_rip = target;
}

/* Operand size of a class-B (Jb) branch: 16/32 by code size and 0x66. */
static inline unsigned jb_osz(unsigned code_size, bool amd, const struct insn *i)
{
	if (code_size == 3)	/* 0x66: ignored by Intel, 16 bits on AMD */
		return ((i->flags & INSN_OPSZ) && amd) ? 1 : 3;
	bool o16 = (code_size == 1) != !!(i->flags & INSN_OPSZ);
	return o16 ? 1 : 2;
}

static inline unsigned branch_jb_osz(const struct cpu *cpu, const struct insn *i)
{
	return jb_osz(cpu->code_size, cpu->model && cpu->model->vendor == VENDOR_AMD, i);
}

void jcc_Jb(struct cpu *cpu, const struct insn *i)
{
	if (cpu_cond(cpu, i->cc))
		branch_to(cpu, cpu->next_rip + i->imm, branch_jb_osz(cpu, i));
}

void jmp_Jb(struct cpu *cpu, const struct insn *i)
{
	branch_to(cpu, cpu->next_rip + i->imm, branch_jb_osz(cpu, i));
}

/*
 * Specialised Jcc handlers (branch_specialise): the condition and the
 * branch operand size are constants, so cpu_cond folds to the test of one
 * lazy-flags kind and branch_jb_osz disappears. They behave exactly as
 * jcc_Jb / jcc_Jz_* with the same insn.
 */
#define JCC_FAST_OSZ(cc, sfx, osz) \
	static void jcc_fast_##sfx##_##cc(struct cpu *cpu, const struct insn *i) \
	{ if (cpu_cond(cpu, cc)) branch_to(cpu, cpu->next_rip + i->imm, osz); }
#define JCC_FAST(cc) JCC_FAST_OSZ(cc, w, 1) JCC_FAST_OSZ(cc, d, 2) JCC_FAST_OSZ(cc, q, 3)
JCC_FAST(0) JCC_FAST(1) JCC_FAST(2) JCC_FAST(3) JCC_FAST(4) JCC_FAST(5) JCC_FAST(6) JCC_FAST(7)
JCC_FAST(8) JCC_FAST(9) JCC_FAST(10) JCC_FAST(11) JCC_FAST(12) JCC_FAST(13) JCC_FAST(14) JCC_FAST(15)
#define JCC_ROW(sfx) { jcc_fast_##sfx##_0, jcc_fast_##sfx##_1, jcc_fast_##sfx##_2, jcc_fast_##sfx##_3, \
	jcc_fast_##sfx##_4, jcc_fast_##sfx##_5, jcc_fast_##sfx##_6, jcc_fast_##sfx##_7, \
	jcc_fast_##sfx##_8, jcc_fast_##sfx##_9, jcc_fast_##sfx##_10, jcc_fast_##sfx##_11, \
	jcc_fast_##sfx##_12, jcc_fast_##sfx##_13, jcc_fast_##sfx##_14, jcc_fast_##sfx##_15 }
static const insn_fn jcc_fast[3][16] = { JCC_ROW(w), JCC_ROW(d), JCC_ROW(q) };

insn_fn branch_specialise(const struct insn *i, unsigned code_size)
{
	unsigned osz;
	if (i->fn == jcc_Jb)	/* the decoder's code size and vendor */
		osz = jb_osz(code_size & 0xff, (code_size & DECODE_AMD) != 0, i);
	else if (i->fn == jcc_Jz_w || i->fn == jcc_Jz_d || i->fn == jcc_Jz_q)
		osz = i->osz;
	else
		return i->fn;
	return jcc_fast[osz - 1][i->cc & 15];
}

static inline void jcc_Jz_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	if (cpu_cond(cpu, i->cc))
		branch_to(cpu, cpu->next_rip + i->imm, osz);
}
MISC_HANDLER_V(jcc_Jz, jcc_Jz_body)

static inline void jmp_Jz_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	branch_to(cpu, cpu->next_rip + i->imm, osz);
}
MISC_HANDLER_V(jmp_Jz, jmp_Jz_body)

static inline void jmp_Ev_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	branch_to(cpu, rm_read(cpu, i, osz), osz);
}
MISC_HANDLER_V(jmp_Ev, jmp_Ev_body)

/* Near call: check the target, push the return address, jump. */
static inline void call_near(struct cpu *cpu, uint64_t target, unsigned osz)
{
	target &= size_mask[osz];
	branch_check(cpu, target);
	stack_push(cpu, cpu->next_rip, 1u << osz);
	cpu->next_rip = target;
}

static inline void call_Jz_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	call_near(cpu, cpu->next_rip + i->imm, osz);
}
MISC_HANDLER_V(call_Jz, call_Jz_body)

static inline void call_Ev_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	/* The operand is read before the push (call [rsp] uses the old RSP). */
	call_near(cpu, rm_read(cpu, i, osz), osz);
}
MISC_HANDLER_V(call_Ev, call_Ev_body)

/* Near return: pop the target with the operand size, then release
 * `extra` more bytes of stack (RET imm16). */
static inline void ret_near(struct cpu *cpu, unsigned osz, uint64_t extra)
{
	unsigned bytes = 1u << osz;
	uint64_t sp = misc_sp(cpu);
	uint64_t target = mem_read(cpu, S_SS, sp, bytes);
	branch_check(cpu, target);
	misc_set_sp(cpu, sp + bytes + extra);
	cpu->next_rip = target;
}

static inline void ret_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	ret_near(cpu, osz, 0);
}
MISC_HANDLER_V(ret, ret_body)

static inline void ret_Iw_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	ret_near(cpu, osz, i->imm & 0xffff);
}
MISC_HANDLER_V(ret_Iw, ret_Iw_body)

/*
 * LOOP family: decrement the count register (address size) without
 * touching flags; branch while it is nonzero (and ZF matches for
 * LOOPE/LOOPNE: want_zf 1 / 0, -1 for plain LOOP). The count is written
 * only after the target passed its checks.
 */
static inline void loop_common(struct cpu *cpu, const struct insn *i, int want_zf)
{
	uint64_t count = (cpu->regs[R_CX] - 1) & size_mask[i->asz];
	bool taken = count != 0 && (want_zf < 0 || cpu_cond(cpu, 4) == (bool)want_zf);
	if (taken) {
		uint64_t target = (cpu->next_rip + i->imm) & size_mask[branch_jb_osz(cpu, i)];
		branch_check(cpu, target);
		cpu->next_rip = target;
	}
	reg_write(cpu, R_CX, count, i->asz);
}

void loop_Jb(struct cpu *cpu, const struct insn *i)
{
	loop_common(cpu, i, -1);
}

void loope_Jb(struct cpu *cpu, const struct insn *i)
{
	loop_common(cpu, i, 1);
}

void loopne_Jb(struct cpu *cpu, const struct insn *i)
{
	loop_common(cpu, i, 0);
}

void jcxz_Jb(struct cpu *cpu, const struct insn *i)
{
	if ((cpu->regs[R_CX] & size_mask[i->asz]) == 0)
		branch_to(cpu, cpu->next_rip + i->imm, branch_jb_osz(cpu, i));
}
