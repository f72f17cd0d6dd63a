/*
 * interp.h - what instruction handlers share: operand access, effective
 * addresses, the stack, and the declarations of the handler helpers that
 * several topic files use.
 *
 * Handler contract (see also cpu.h): called with cpu->rip at the
 * instruction and cpu->next_rip = rip + len. A branch writes next_rip.
 * Faults go through cpu_fault() before any state is committed. A handler
 * that changes something the current block was decoded under (mode, CS,
 * paging, IF) must be marked OPF_END in the table, or set
 * cpu->exit_request.
 */
#ifndef NESTEMU_INTERP_H
#define NESTEMU_INTERP_H

#include "cpu.h"
#include "flags.h"
#include "insn.h"
#include "mem.h"

/* Masks by operand size index (insn.osz / insn.asz). */
static const uint64_t size_mask[4] = { 0xff, 0xffff, 0xffffffff, ~0ull };

static inline uint64_t addr_mask(unsigned asz)
{
	return size_mask[asz];
}

/* Effective address (offset within the segment) of the memory operand. */
static inline uint64_t insn_ea(const struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = cpu->regs[i->base] + (cpu->regs[i->index] << i->scale) + (int64_t)i->disp;
	if (i->flags & INSN_RIPREL)
		ea += cpu->next_rip;
	return ea & size_mask[i->asz];
}

/* Byte registers: reg/rm hold byte offsets into cpu->regs (insn.h). */
static inline uint8_t *reg8_ptr(struct cpu *cpu, unsigned off)
{
	return (uint8_t *)cpu->regs + off;
}

/* Register writes with the architectural zero-extension rules. */
static inline void reg_write16(struct cpu *cpu, unsigned r, uint16_t v)
{
	cpu->regs[r] = (cpu->regs[r] & ~0xffffull) | v;
}
static inline void reg_write32(struct cpu *cpu, unsigned r, uint32_t v)
{
	cpu->regs[r] = v;	/* 32-bit writes zero the upper half */
}
static inline void reg_write(struct cpu *cpu, unsigned r, uint64_t v, unsigned osz)
{
	switch (osz) {
	case 0: *reg8_ptr(cpu, r) = (uint8_t)v; break;
	case 1: reg_write16(cpu, r, (uint16_t)v); break;
	case 2: reg_write32(cpu, r, (uint32_t)v); break;
	default: cpu->regs[r] = v; break;
	}
}
static inline uint64_t reg_read(struct cpu *cpu, unsigned r, unsigned osz)
{
	return osz == 0 ? *reg8_ptr(cpu, r) : cpu->regs[r] & size_mask[osz];
}

/* The E operand (ModRM r/m) of size osz: register or memory. */
static inline __attribute__((always_inline)) uint64_t rm_read(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	if (i->mod == 3)
		return reg_read(cpu, i->rm, osz);
	return mem_read(cpu, i->seg, insn_ea(cpu, i), 1u << osz);
}
static inline __attribute__((always_inline)) void rm_write(struct cpu *cpu, const struct insn *i, uint64_t v, unsigned osz)
{
	if (i->mod == 3)
		reg_write(cpu, i->rm, v, osz);
	else
		mem_write(cpu, i->seg, insn_ea(cpu, i), v, 1u << osz);
}

/* Stack: pushes and pops of 2, 4 or 8 bytes with the SS address size. */
static inline void stack_push(struct cpu *cpu, uint64_t v, unsigned bytes)
{
	uint64_t sp = (cpu->regs[R_SP] - bytes) & size_mask[cpu->stack_size];
	mem_write(cpu, S_SS, sp, v, bytes);
	cpu->regs[R_SP] = cpu->stack_size == 1 ? (cpu->regs[R_SP] & ~0xffffull) | sp : sp;
}
static inline uint64_t stack_pop(struct cpu *cpu, unsigned bytes)
{
	uint64_t sp = cpu->regs[R_SP] & size_mask[cpu->stack_size];
	uint64_t v = mem_read(cpu, S_SS, sp, bytes);
	sp = (sp + bytes) & size_mask[cpu->stack_size];
	cpu->regs[R_SP] = cpu->stack_size == 1 ? (cpu->regs[R_SP] & ~0xffffull) | sp : sp;
	return v;
}
/* Reads the stack slot `offset` bytes above SP without popping. */
static inline uint64_t stack_peek(struct cpu *cpu, uint64_t offset, unsigned bytes)
{
	return mem_read(cpu, S_SS, (cpu->regs[R_SP] + offset) & size_mask[cpu->stack_size], bytes);
}

/* Raise #UD for the current instruction. */
_Noreturn void insn_ud(struct cpu *cpu, const struct insn *i);

#endif
