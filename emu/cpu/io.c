/*
 * io.c - IN and OUT (SDM Vol. 2 "IN", "OUT"; Vol. 1 ch. 19 I/O).
 *
 * Order of events for every port access, also used by INS/OUTS in
 * string.c: the I/O permission check (CPL > IOPL or v86 mode consults the
 * TSS bitmap, #GP(0) on denial; this has priority over VM exits, SDM
 * Vol. 3 25.1.1), then the intercept question (VE_IO), then the access
 * through the machine's port table. There is no 64-bit port access: the
 * REX.W forms move 32 bits, and a 32-bit IN zero-extends into RAX in
 * 64-bit mode like any 32-bit register write.
 */
#include "misc.h"
#include "seg.h"
#include "virt.h"
#include "../machine.h"

void io_check_access(struct cpu *cpu, uint16_t port, unsigned size)
{
	if (__builtin_expect((cpu->dr[7] & 0xff) != 0, 0))
		cpu_debug_io(cpu, port, size);	/* I/O breakpoints trap after the instruction */
	if (cpu->mode == MODE_REAL)
		return;
	if (cpu->mode != MODE_V86 && cpu->cpl <= ((cpu->rflags & FL_IOPL) >> 12))
		return;
	if (!seg_io_allowed(cpu, port, size))
		cpu_fault(cpu, EXC_GP, 0);
}

bool io_intercept(struct cpu *cpu, const struct insn *i, uint16_t port, unsigned size,
		  unsigned flags, uint64_t value)
{
	if (__builtin_expect(cpu->virt == NULL, 1))
		return false;
	struct virt_event ev = {
		.kind = VE_IO, .a = port, .b = size, .c = flags, .d = value, .insn = i,
	};
	if (virt_intercept(cpu, &ev))
		cpu_unwind(cpu);	/* taken: RIP stays at the instruction */
	return false;
}

/* Port I/O sizes by operand size: 8, 16, 32 bits (REX.W: still 32). */
static inline unsigned io_bytes(unsigned osz)
{
	return osz == 0 ? 1 : osz == 1 ? 2 : 4;
}

static inline void io_in(struct cpu *cpu, const struct insn *i, uint16_t port, unsigned osz)
{
	unsigned bytes = io_bytes(osz);
	io_check_access(cpu, port, bytes);
	if (io_intercept(cpu, i, port, bytes, VE_IO_IN, 0))
		return;
	uint32_t v = machine_io_in(cpu->m, port, bytes);
	reg_write(cpu, R_AX, v, osz > 2 ? 2 : osz);
}

static inline void io_out(struct cpu *cpu, const struct insn *i, uint16_t port, unsigned osz)
{
	unsigned bytes = io_bytes(osz);
	uint32_t v = (uint32_t)(cpu->regs[R_AX] & size_mask[osz > 2 ? 2 : osz]);
	io_check_access(cpu, port, bytes);
	if (io_intercept(cpu, i, port, bytes, 0, v))
		return;
	machine_io_out(cpu->m, port, v, bytes);
}

static inline uint16_t io_port_ib(const struct insn *i)
{
	return (uint16_t)(i->imm & 0xff);
}

static inline uint16_t io_port_dx(const struct cpu *cpu)
{
	return (uint16_t)cpu->regs[R_DX];
}

void in_AL_Ib(struct cpu *cpu, const struct insn *i)
{
	io_in(cpu, i, io_port_ib(i), 0);
}

void out_Ib_AL(struct cpu *cpu, const struct insn *i)
{
	io_out(cpu, i, io_port_ib(i), 0);
}

void in_AL_DX(struct cpu *cpu, const struct insn *i)
{
	io_in(cpu, i, io_port_dx(cpu), 0);
}

void out_DX_AL(struct cpu *cpu, const struct insn *i)
{
	io_out(cpu, i, io_port_dx(cpu), 0);
}

static inline void in_eAX_Ib_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	io_in(cpu, i, io_port_ib(i), osz);
}
MISC_HANDLER_V(in_eAX_Ib, in_eAX_Ib_body)

static inline void out_Ib_eAX_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	io_out(cpu, i, io_port_ib(i), osz);
}
MISC_HANDLER_V(out_Ib_eAX, out_Ib_eAX_body)

static inline void in_eAX_DX_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	io_in(cpu, i, io_port_dx(cpu), osz);
}
MISC_HANDLER_V(in_eAX_DX, in_eAX_DX_body)

static inline void out_DX_eAX_body(struct cpu *cpu, const struct insn *i, unsigned osz)
{
	io_out(cpu, i, io_port_dx(cpu), osz);
}
MISC_HANDLER_V(out_DX_eAX, out_DX_eAX_body)
