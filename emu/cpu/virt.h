/*
 * virt.h - the one question every sensitive event asks (DESIGN.md).
 *
 * Before a sensitive instruction changes anything, and before an event
 * is delivered, the CPU calls virt_intercept() with a description of the
 * event. Outside VMX non-root / SVM guest mode cpu->virt is NULL and the
 * call is one predictable branch. A policy (VMX, SVM, or a test's
 * recorder) decides: return false to let the instruction or delivery go
 * on, or perform an exit and unwind (cpu_unwind) / return true, in which
 * case the caller must stop without changing state.
 *
 * Operands are filled as the SDM's exit qualifications need them, so VMX
 * and SVM can build exit information without re-decoding.
 */
#ifndef NESTEMU_VIRT_H
#define NESTEMU_VIRT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

enum virt_event_kind {
	/* Instructions */
	VE_CPUID,		/* a = leaf, b = subleaf */
	VE_HLT,
	VE_INVLPG,		/* a = linear address */
	VE_INVPCID,		/* a = type, b = descriptor address */
	VE_CR_READ,		/* a = CR number, b = destination GPR */
	VE_CR_WRITE,		/* a = CR number, b = new value, c = source GPR (or ~0 for LMSW/CLTS) */
	VE_CLTS,
	VE_LMSW,		/* b = new low 16 bits of CR0 source value */
	VE_DR_ACCESS,		/* a = DR number, b = GPR, c = 1 for write */
	VE_RDMSR,		/* a = MSR index */
	VE_WRMSR,		/* a = MSR index, b = value */
	VE_IO,			/* a = port, b = size, c = flags VE_IO_* , d = value for OUT */
	VE_RDTSC,
	VE_RDTSCP,
	VE_RDPMC,		/* a = counter */
	VE_PAUSE,
	VE_MONITOR,
	VE_MWAIT,
	VE_XSETBV,		/* a = XCR index, b = value */
	VE_INVD,
	VE_WBINVD,
	VE_RDRAND,
	VE_RDSEED,
	VE_DESC_TABLE,		/* a = which: 0 SGDT 1 SIDT 2 LGDT 3 LIDT 4 SLDT 5 STR 6 LLDT 7 LTR */
	VE_VMX_INSN,		/* a = opcode table index of the VMX instruction */
	VE_SVM_INSN,		/* a = opcode table index of the SVM instruction */
	VE_RSM,
	VE_TASK_SWITCH,		/* a = new TSS selector, b = source (0 CALL, 1 IRET, 2 JMP, 3 gate) */
	/* Events before delivery */
	VE_EXCEPTION,		/* a = vector, b = error code (or NO_ERROR_CODE), c = type (VMX interruption type) */
	VE_SOFT_INT,		/* a = vector (INT n) */
	VE_EXT_INTR,		/* a = vector, or -1 when not yet acknowledged */
	VE_NMI,
	VE_SMI,
	VE_INIT,
	VE_SIPI,		/* a = vector */
	VE_INTR_WINDOW,		/* interrupts just became deliverable */
	VE_NMI_WINDOW,
	VE_TRIPLE_FAULT,
	VE_SHUTDOWN,
	VE_NKINDS
};

#define VE_IO_IN (1u << 0)
#define VE_IO_STRING (1u << 1)
#define VE_IO_REP (1u << 2)

struct virt_event {
	enum virt_event_kind kind;
	uint64_t a, b, c, d;
	const struct insn *insn;	/* the instruction, or NULL for events */
};

static inline bool virt_intercept(struct cpu *cpu, struct virt_event *ev)
{
	if (__builtin_expect(cpu->virt == NULL, 1))
		return false;
	return cpu->virt->intercept(cpu, ev);
}

/* Shorthand for instruction sites: builds the event and asks. */
static inline bool virt_check(struct cpu *cpu, enum virt_event_kind kind, const struct insn *i,
			      uint64_t a, uint64_t b, uint64_t c)
{
	if (__builtin_expect(cpu->virt == NULL, 1))
		return false;
	struct virt_event ev = { .kind = kind, .a = a, .b = b, .c = c, .insn = i };
	return cpu->virt->intercept(cpu, &ev);
}

#endif
