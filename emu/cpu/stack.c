/*
 * stack.c - PUSH, POP, PUSHA, POPA, ENTER, LEAVE and XLAT (SDM Vol. 2;
 * Vol. 1 6.2 stack, 6.5 procedure stack frames for ENTER/LEAVE).
 *
 * Two sizes meet on the stack: the operand size says how many bytes move
 * (2, 4 or 8), the stack address size (cpu->stack_size: SS.B, or 64-bit
 * in 64-bit mode) says how SP/ESP/RSP is used and wrapped. In 64-bit mode
 * pushes and pops default to 64 bits and 0x66 gives 16 (the decoder's
 * D64 rule), so no 32-bit push exists there.
 *
 * Restartability: memory is written before registers, and instructions
 * with several stores (PUSHA, ENTER) probe every slot with
 * mem_probe_write before the first store, so a #SS/#PF leaves memory and
 * registers as they were. POP to memory addressed through RSP computes
 * the address with the incremented RSP (SDM "POP"), but commits RSP only
 * after the store succeeded.
 */
#include "misc.h"

static inline void push_Zv_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	/* push rsp pushes the value before the decrement. */
	stack_push(cpu, cpu->regs[i->reg], 1u << osz);
}
MISC_HANDLER_V(push_Zv, push_Zv_body)

static inline void pop_Zv_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	/* pop rsp: the popped value wins over the increment. */
	uint64_t v = stack_pop(cpu, 1u << osz);
	reg_write(cpu, i->reg, v, osz);
}
MISC_HANDLER_V(pop_Zv, pop_Zv_body)

static inline void push_Ev_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	uint64_t v = rm_read(cpu, i, osz);
	stack_push(cpu, v, 1u << osz);
}
MISC_HANDLER_V(push_Ev, push_Ev_body)

static inline void pop_Ev_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	unsigned bytes = 1u << osz;
	if (i->mod == 3) {
		pop_Zv_body(cpu, &(struct insn){ .reg = i->rm }, osz);
		return;
	}
	uint64_t sp = misc_sp(cpu);
	uint64_t v = mem_read(cpu, S_SS, sp, bytes);
	uint64_t old_rsp = cpu->regs[R_SP];
	misc_set_sp(cpu, sp + bytes);
	uint64_t new_rsp = cpu->regs[R_SP];
	uint64_t ea = insn_ea(cpu, i);	/* with the incremented RSP */
	cpu->regs[R_SP] = old_rsp;
	mem_write(cpu, i->seg, ea, v, bytes);
	cpu->regs[R_SP] = new_rsp;
}
MISC_HANDLER_V(pop_Ev, pop_Ev_body)

static inline void push_Iz_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	stack_push(cpu, i->imm, 1u << osz);
}
MISC_HANDLER_V(push_Iz, push_Iz_body)

/* PUSHA: AX CX DX BX (original) SP BP SI DI, all slots probed first. */
static inline void pusha_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	unsigned bytes = 1u << osz;
	uint64_t sp = misc_sp(cpu);
	for (unsigned r = 0; r < 8; r++)
		mem_probe_write(cpu, S_SS, (sp - (r + 1) * bytes) & size_mask[cpu->stack_size], bytes);
	for (unsigned r = 0; r < 8; r++)
		mem_write(cpu, S_SS, (sp - (r + 1) * bytes) & size_mask[cpu->stack_size],
			  cpu->regs[r], bytes);
	misc_set_sp(cpu, sp - 8 * bytes);
}
MISC_HANDLER_WD(pusha, pusha_body)

/* POPA: DI SI BP (skip SP) BX DX CX AX; every read before any write. */
static inline void popa_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	unsigned bytes = 1u << osz;
	uint64_t sp = misc_sp(cpu);
	uint64_t v[8];
	for (unsigned k = 0; k < 8; k++)
		v[7 - k] = mem_read(cpu, S_SS, (sp + k * bytes) & size_mask[cpu->stack_size], bytes);
	for (unsigned r = 0; r < 8; r++)
		if (r != R_SP)
			reg_write(cpu, r, v[r], osz);
	misc_set_sp(cpu, sp + 8 * bytes);
}
MISC_HANDLER_WD(popa, popa_body)

/*
 * ENTER imm16, imm8 (SDM "ENTER"): push BP; FrameTemp = SP; for nesting
 * level L > 0 copy L-1 frame pointers from [BP - k*size] and push
 * FrameTemp; BP = FrameTemp; SP -= imm16. The display reads happen first,
 * then every store slot and the final stack top are probed, then the
 * stores and register updates, so a fault changes nothing. (A display
 * slot that overlaps a slot this ENTER writes reads the old value; real
 * CPUs interleave reads and writes, which only differs for a BP that
 * points into the new frame.)
 */
static inline void enter_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	unsigned bytes = 1u << osz;
	unsigned level = i->imm2 & 31;
	uint64_t alloc = i->imm & 0xffff;
	uint64_t smask = size_mask[cpu->stack_size];
	uint64_t sp = misc_sp(cpu);
	uint64_t vals[33];
	unsigned n = 0;

	vals[n++] = cpu->regs[R_BP];
	uint64_t frame_temp = (sp - bytes) & smask;
	if (level > 0) {
		uint64_t bp = cpu->regs[R_BP];
		for (unsigned k = 1; k < level; k++) {
			bp -= bytes;
			vals[n++] = mem_read(cpu, S_SS, bp & smask, bytes);
		}
		vals[n++] = frame_temp;
	}
	for (unsigned k = 0; k < n; k++)
		mem_probe_write(cpu, S_SS, (sp - (k + 1) * bytes) & smask, bytes);
	uint64_t new_sp = (sp - n * bytes - alloc) & smask;
	mem_probe_write(cpu, S_SS, new_sp, bytes);
	for (unsigned k = 0; k < n; k++)
		mem_write(cpu, S_SS, (sp - (k + 1) * bytes) & smask, vals[k], bytes);
	reg_write(cpu, R_BP, frame_temp, osz);
	misc_set_sp(cpu, new_sp);
}
MISC_HANDLER_V(enter, enter_body)

/* LEAVE: SP = BP (stack size), then pop BP (operand size). */
static inline void leave_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	unsigned bytes = 1u << osz;
	uint64_t sp = cpu->regs[R_BP] & size_mask[cpu->stack_size];
	uint64_t v = mem_read(cpu, S_SS, sp, bytes);
	misc_set_sp(cpu, sp + bytes);
	reg_write(cpu, R_BP, v, osz);
}
MISC_HANDLER_V(leave, leave_body)

/* XLAT: AL = [seg:(E/R)BX + AL] with the address size. */
void xlat(struct cpu *cpu, const struct insn *i)
{
	uint64_t off = (cpu->regs[R_BX] + (cpu->regs[R_AX] & 0xff)) & size_mask[i->asz];
	*reg8_ptr(cpu, 0) = mem_read8(cpu, i->seg, off);
}
