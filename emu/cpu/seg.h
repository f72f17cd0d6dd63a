/*
 * seg.h - segmentation: descriptors, segment-register loads, far control
 * transfers, task switches and the I/O permission bitmap.
 *
 * The module is four files sharing this header: seg.c (descriptor tables,
 * segment loads, the slow-path segment check seg_linear declared in
 * mem.h, the descriptor-table and segment instructions), farjmp.c (far
 * JMP/CALL/RET and call gates), intr.c (exception/interrupt delivery and
 * IRET, public face intr.h) and task.c (hardware task switches).
 *
 * Conventions: a selector's descriptor is read from the GDT or LDT with
 * implicit supervisor accesses (ACC_IMPLICIT). A struct seg (cpu.h) is
 * the hidden part of a segment register in the VMX access-rights layout.
 * CPL is SS.DPL (cpu.c), so whatever changes privilege loads CS and SS
 * together and then calls cpu_update_mode().
 */
#ifndef NESTEMU_SEG_H
#define NESTEMU_SEG_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "insn.h"

/* A raw descriptor: the first 8 bytes, and bytes 8..15 of a 16-byte
 * system descriptor or gate in IA-32e mode (hi2 = base/offset 63:32). */
struct desc {
	uint32_t lo, hi;
	uint32_t hi2, hi3;
};

/* Field extraction from a raw descriptor. */
static inline uint32_t desc_attr(const struct desc *d)
{
	return (d->hi >> 8) & 0xf0ffu;	/* type S DPL P | AVL L D/B G */
}
static inline unsigned desc_type(const struct desc *d) { return (d->hi >> 8) & 0xf; }
static inline bool desc_s(const struct desc *d) { return (d->hi >> 12) & 1; }
static inline unsigned desc_dpl(const struct desc *d) { return (d->hi >> 13) & 3; }
static inline bool desc_present(const struct desc *d) { return (d->hi >> 15) & 1; }
static inline uint32_t desc_base32(const struct desc *d)
{
	return (d->lo >> 16) | (d->hi & 0xff) << 16 | (d->hi & 0xff000000u);
}
static inline uint32_t desc_limit(const struct desc *d)
{
	uint32_t l = (d->lo & 0xffff) | (d->hi & 0xf0000);
	return (d->hi & (1u << 23)) ? (l << 12) | 0xfff : l;
}
/* Gate fields. */
static inline uint16_t gate_sel(const struct desc *d) { return (uint16_t)(d->lo >> 16); }
static inline unsigned gate_params(const struct desc *d) { return d->hi & 0x1f; }
static inline unsigned gate_ist(const struct desc *d) { return d->hi & 7; }
static inline uint64_t gate_offset(const struct desc *d)
{
	return (d->lo & 0xffff) | (d->hi & 0xffff0000u) | (uint64_t)d->hi2 << 32;
}

/* Descriptor types (S = 0). */
enum {
	DT_TSS16_AVL = 1, DT_LDT = 2, DT_TSS16_BUSY = 3, DT_CALL16 = 4, DT_TASK = 5,
	DT_INT16 = 6, DT_TRAP16 = 7, DT_TSS32_AVL = 9, DT_TSS32_BUSY = 11,
	DT_CALL32 = 12, DT_INT32 = 14, DT_TRAP32 = 15,
};

/* Code/data type bits (S = 1). */
#define DT_ACCESSED 1u
#define DT_RW 2u	/* data: writable; code: readable */
#define DT_EC 4u	/* data: expand-down; code: conforming */
#define DT_CODE 8u

/* Reads the descriptor of sel (8 bytes; 16 when wide) from the GDT or
 * LDT. Returns false when it lies outside the table (or TI=1 with an
 * unusable LDTR); raises only #PF. */
bool seg_fetch_desc(struct cpu *cpu, uint16_t sel, struct desc *d, bool wide);
/* Writes back the high dword of sel's descriptor (accessed/busy bits). */
void seg_store_desc_hi(struct cpu *cpu, uint16_t sel, uint32_t hi);
/* Sets the accessed bit of a code/data descriptor when it is clear. */
void seg_set_accessed(struct cpu *cpu, uint16_t sel, struct desc *d);
/* The hidden part of a segment register for a code/data descriptor. */
void desc_to_seg(const struct desc *d, uint16_t sel, struct seg *s);
/* A null (unusable) segment register value; rpl goes to DPL for SS. */
void seg_null(struct seg *s, uint16_t sel);

/* Reads/writes a system structure (descriptor tables, TSS) by linear
 * address: implicit supervisor accesses, 64-bit addresses in IA-32e. */
uint64_t sys_read(struct cpu *cpu, uint64_t lin, unsigned size);
void sys_write(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size);

/*
 * Loads a data segment register (ES, SS, DS, FS, GS) with every check of
 * MOV Sreg / POP Sreg / LxS (SDM Vol. 2): real and v86 mode loads
 * sel << 4, protected mode checks the descriptor (#GP(sel), #NP(sel),
 * #SS(sel)). Commits the register and recomputes the mode.
 */
void seg_load(struct cpu *cpu, unsigned sreg, uint16_t sel);

/*
 * The protected-mode validation behind seg_load, parameterized for task
 * switches and far returns: `cpl` is the privilege to check against,
 * faults other than not-present use vector `gpvec` (#GP or #TS) and every
 * error code ORs in `ext`. Fills *out without committing anything.
 */
void seg_check_data(struct cpu *cpu, unsigned sreg, uint16_t sel, unsigned cpl, unsigned gpvec,
		    unsigned ext, struct seg *out);

/* Real/v86-mode register value for sel. */
void seg_real(struct cpu *cpu, unsigned sreg, uint16_t sel, struct seg *out);

/*
 * A stack being pushed or popped by a far transfer, an interrupt or IRET:
 * possibly not the current SS:RSP (the inner stack of a privilege change),
 * so accesses go through this segment value, not cpu->seg[S_SS]. Nothing
 * architectural changes until stk_commit_sp(). Limit (or, for size 3,
 * canonical) violations raise #SS(err).
 */
struct stk {
	struct seg ss;
	uint64_t sp;		/* offset, masked to the stack size */
	unsigned size;		/* 1 = SP, 2 = ESP, 3 = RSP (64-bit: no limit checks) */
	unsigned acc;		/* ACC_IMPLICIT for an inner (more privileged) stack */
	uint32_t err;		/* #SS error code */
};
void stk_cur(struct cpu *cpu, struct stk *st);
void stk_push(struct cpu *cpu, struct stk *st, uint64_t v, unsigned bytes);
uint64_t stk_pop(struct cpu *cpu, struct stk *st, unsigned bytes);
/* Reads `bytes` at sp + offset without popping. */
uint64_t stk_peek(struct cpu *cpu, const struct stk *st, uint64_t offset, unsigned bytes);
/* Writes st->sp into RSP (only SP for a 16-bit stack). */
void stk_commit_sp(struct cpu *cpu, const struct stk *st);

/* Target RIP check of a far transfer into cs: canonical for 64-bit code,
 * else within the limit; #GP(ext). */
void seg_check_rip(struct cpu *cpu, const struct seg *cs, uint64_t rip, unsigned ext);
/* Commits CS and RIP (and the mode) at the end of a far transfer. */
void seg_commit_cs(struct cpu *cpu, const struct seg *cs, uint64_t rip);
/* Checks of the CS selector popped by RETF/IRET (SDM Vol. 2 RET). */
void seg_check_return_cs(struct cpu *cpu, uint16_t csel, struct desc *d);
/* The SS popped by a return to an outer level (or any IRET in 64-bit
 * mode) for the new CS; null allowed only for 64-bit code at CPL < 3. */
void seg_return_ss(struct cpu *cpu, uint16_t nss, const struct seg *cs, struct seg *ss);

/* True when seg:off..off+size-1 passes the limit check of s. */
bool seg_limit_ok(const struct seg *s, uint64_t off, unsigned size);
/* Canonical check for the current paging width (48 or 57 bits). */
bool seg_canonical(const struct cpu *cpu, uint64_t lin);

/* Nulls ES, DS, FS, GS whose DPL is below the new CPL (far RET/IRET to
 * an outer level, SDM Vol. 2 RET). */
void seg_null_outer(struct cpu *cpu, unsigned new_cpl);

/* TSS lookups: the ring-n stack of a privilege change (legacy TSS) and
 * the RSPn/ISTn slots of a 64-bit TSS. Fault #TS(tr|ext) when outside. */
void tss_stack(struct cpu *cpu, unsigned dpl, unsigned ext, uint16_t *ss, uint32_t *esp);
uint64_t tss64_stack(struct cpu *cpu, unsigned slot, unsigned ext);	/* 0..2 RSPn, 4..10 IST1..7 */

/*
 * I/O permission (SDM Vol. 1 19.5): true when the access of `size`
 * bytes at `port` is allowed. In protected mode with CPL <= IOPL it is;
 * with CPL > IOPL, and always in v86 mode, the TSS I/O bitmap decides.
 */
bool seg_io_allowed(struct cpu *cpu, uint16_t port, unsigned size);

/*
 * Task switch (task.c, SDM Vol. 3 7.3) to the TSS selected by `sel`
 * (descriptor d already read). source: TS_CALL, TS_IRET, TS_JMP, TS_GATE
 * (interrupt or exception through a task gate). error_code is pushed on
 * the new task's stack when not NO_ERROR_CODE. `ret_rip` is the EIP saved
 * in the old TSS. ext ORs into fault error codes.
 */
enum { TS_CALL = 0, TS_IRET = 1, TS_JMP = 2, TS_GATE = 3 };
void task_switch(struct cpu *cpu, uint16_t sel, const struct desc *d, unsigned source,
		 uint32_t error_code, uint64_t ret_rip, unsigned ext);

/* Far transfers (farjmp.c): sel:off with the operand size of the
 * instruction (1 = 16, 2 = 32, 3 = 64 bits). */
void far_jmp(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned osz);
void far_call(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned osz);
void far_ret(struct cpu *cpu, unsigned osz, uint16_t imm);

/* Handlers (opcodes.def). */
#define SEG_V(h) void h##_w(struct cpu *, const struct insn *); \
	void h##_d(struct cpu *, const struct insn *); void h##_q(struct cpu *, const struct insn *);
#define SEG_N(h) void h(struct cpu *, const struct insn *);
SEG_V(mov_Ev_Sw) SEG_N(mov_Sw_Ew)
SEG_V(push_ES) SEG_V(push_CS) SEG_V(push_SS) SEG_V(push_DS) SEG_V(push_FS) SEG_V(push_GS)
SEG_V(pop_ES) SEG_V(pop_SS) SEG_V(pop_DS) SEG_V(pop_FS) SEG_V(pop_GS)
SEG_V(les_Gz_Mp) SEG_V(lds_Gz_Mp) SEG_V(lss_Gv_Mp) SEG_V(lfs_Gv_Mp) SEG_V(lgs_Gv_Mp)
SEG_V(call_Ap) SEG_V(jmp_Ap) SEG_V(call_Mp) SEG_V(jmp_Mp) SEG_V(retf) SEG_V(retf_Iw)
SEG_V(iret) SEG_V(bound_Gv_Ma) SEG_V(lar_Gv_Ew) SEG_V(lsl_Gv_Ew)
SEG_N(int_Ib) SEG_N(int3) SEG_N(into) SEG_N(int1) SEG_N(arpl_Ew_Gw)
SEG_N(verr_Ew) SEG_N(verw_Ew) SEG_N(sldt_Ev) SEG_N(str_Ev) SEG_N(lldt_Ew) SEG_N(ltr_Ew)
SEG_N(sgdt_Ms) SEG_N(sidt_Ms) SEG_N(lgdt_Ms) SEG_N(lidt_Ms)
#undef SEG_V
#undef SEG_N

#endif
