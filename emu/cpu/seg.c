/*
 * seg.c - segmentation: descriptor tables, segment-register loads, the
 * slow-path segment check, and the segment/descriptor-table instructions.
 *
 * Models SDM Vol. 3 ch. 3 (descriptors, selectors), 5.1-5.6 (limit, type
 * and privilege checks on data and stack segment loads), 3.4.5 (the
 * IA-32e 16-byte system descriptors) and Vol. 1 19.5 (I/O permission
 * bitmap). Segment registers hold the hidden part in the VMX
 * access-rights layout (cpu.h); a null selector loaded in protected mode
 * makes the register unusable (AR_UNUSABLE), which every access in
 * legacy/compatibility mode then rejects with #GP(0) (#SS(0) for SS).
 *
 * Invariants: every check and every memory access (descriptor reads, the
 * accessed bit) happens before a segment register changes; after a
 * change cpu_update_mode() recomputes the segment bases, the fast-path
 * masks and CPL (= SS.DPL).
 */
#include "seg.h"

#include "interp.h"
#include "intr.h"
#include "system.h"
#include "virt.h"
#include "../mmu/mmu.h"

static inline bool lma(const struct cpu *cpu)
{
	return (cpu->efer & EFER_LMA) != 0;
}

uint64_t sys_read(struct cpu *cpu, uint64_t lin, unsigned size)
{
	return mmu_read_slow(cpu, lma(cpu) ? lin : (uint32_t)lin, size, ACC_IMPLICIT | ACC_READ);
}

void sys_write(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size)
{
	mmu_write_slow(cpu, lma(cpu) ? lin : (uint32_t)lin, v, size, ACC_IMPLICIT | ACC_WRITE);
}

/* Base and limit of the table sel points into; false for TI=1 with an
 * unusable LDTR. */
static bool desc_table(const struct cpu *cpu, uint16_t sel, uint64_t *base, uint32_t *limit)
{
	if (sel & 4) {
		if (cpu->ldtr.attr & AR_UNUSABLE)
			return false;
		*base = cpu->ldtr.base;
		*limit = cpu->ldtr.limit;
	} else {
		*base = cpu->gdtr.base;
		*limit = cpu->gdtr.limit;
	}
	return true;
}

bool seg_fetch_desc(struct cpu *cpu, uint16_t sel, struct desc *d, bool wide)
{
	uint64_t base;
	uint32_t limit;
	if (!desc_table(cpu, sel, &base, &limit))
		return false;
	uint32_t idx = sel & ~7u;
	if ((uint64_t)idx + (wide ? 15 : 7) > limit)
		return false;
	uint64_t q = sys_read(cpu, base + idx, 8);
	d->lo = (uint32_t)q;
	d->hi = (uint32_t)(q >> 32);
	d->hi2 = d->hi3 = 0;
	if (wide) {
		q = sys_read(cpu, base + idx + 8, 8);
		d->hi2 = (uint32_t)q;
		d->hi3 = (uint32_t)(q >> 32);
	}
	return true;
}

void seg_store_desc_hi(struct cpu *cpu, uint16_t sel, uint32_t hi)
{
	uint64_t base;
	uint32_t limit;
	if (desc_table(cpu, sel, &base, &limit))
		sys_write(cpu, base + (sel & ~7u) + 4, hi, 4);
}

void seg_set_accessed(struct cpu *cpu, uint16_t sel, struct desc *d)
{
	if (!(d->hi & (DT_ACCESSED << 8))) {
		d->hi |= DT_ACCESSED << 8;
		seg_store_desc_hi(cpu, sel, d->hi);
	}
}

void desc_to_seg(const struct desc *d, uint16_t sel, struct seg *s)
{
	s->sel = sel;
	s->base = desc_base32(d);
	s->limit = desc_limit(d);
	s->attr = desc_attr(d);
}

void seg_null(struct seg *s, uint16_t sel)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0;
	s->attr = AR_UNUSABLE | (uint32_t)(sel & 3) << AR_DPL_SHIFT;
}

bool seg_limit_ok(const struct seg *s, uint64_t off, unsigned size)
{
	uint64_t last = off + size - 1;
	if ((s->attr & (AR_S | DT_CODE | DT_EC)) == (AR_S | DT_EC)) {
		/* Expand-down: valid offsets are limit+1 .. 0xffff or 0xffffffff. */
		uint64_t upper = (s->attr & AR_DB) ? 0xffffffffull : 0xffffull;
		return off > s->limit && last <= upper;
	}
	return last <= s->limit;
}

bool seg_canonical(const struct cpu *cpu, uint64_t lin)
{
	unsigned sh = (cpu->cr4 & CR4_LA57) ? 64 - 57 : 64 - 48;
	return (uint64_t)((int64_t)(lin << sh) >> sh) == lin;
}

static _Noreturn void seg_fault(struct cpu *cpu, unsigned seg)
{
	cpu_fault(cpu, seg == S_SS ? EXC_SS : EXC_GP, 0);
}

uint64_t seg_linear(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size, unsigned acc)
{
	const struct seg *s = &cpu->seg[seg];
	unsigned kind = acc & ACC_KIND_MASK;

	if (cpu->mode == MODE_LONG) {
		uint64_t lin = cpu->segbase[seg] + off;
		if (!seg_canonical(cpu, lin) || !seg_canonical(cpu, lin + size - 1))
			seg_fault(cpu, seg);
		return lin;
	}
	if (cpu->mode == MODE_PROT || cpu->mode == MODE_COMPAT) {
		uint32_t a = s->attr;
		if (a & AR_UNUSABLE)
			seg_fault(cpu, seg);
		if (kind == ACC_WRITE && ((a & DT_CODE) || !(a & DT_RW)))
			seg_fault(cpu, seg);
		if (kind == ACC_READ && (a & (DT_CODE | DT_RW)) == DT_CODE)
			seg_fault(cpu, seg);
	}
	if (!seg_limit_ok(s, off, size))
		seg_fault(cpu, seg);
	return (cpu->segbase[seg] + off) & cpu->lin_mask;
}

void seg_real(struct cpu *cpu, unsigned sreg, uint16_t sel, struct seg *out)
{
	if (cpu->mode == MODE_V86) {
		out->sel = sel;
		out->base = (uint64_t)sel << 4;
		out->limit = 0xffff;
		out->attr = AR_P | AR_S | 3u << AR_DPL_SHIFT | DT_RW | DT_ACCESSED;
		return;
	}
	/* Real mode keeps the cached limit and attributes (big real mode). */
	*out = cpu->seg[sreg];
	if (out->attr & AR_UNUSABLE)
		out->attr = sreg == S_CS ? (AR_S | DT_CODE | DT_RW | DT_ACCESSED)
					 : (AR_S | DT_RW | DT_ACCESSED);
	out->attr = (out->attr & ~(uint32_t)(AR_UNUSABLE | 3u << AR_DPL_SHIFT)) | AR_P | AR_S;
	out->sel = sel;
	out->base = (uint64_t)sel << 4;
}

void seg_check_data(struct cpu *cpu, unsigned sreg, uint16_t sel, unsigned cpl, unsigned gpvec,
		    unsigned ext, struct seg *out)
{
	uint32_t err = (sel & 0xfffcu) | ext;
	unsigned rpl = sel & 3;

	if ((sel & 0xfffc) == 0) {
		/* SS may be null only in 64-bit mode at CPL < 3 with RPL = CPL. */
		if (sreg == S_SS && !(cpu->mode == MODE_LONG && cpl < 3 && rpl == cpl))
			cpu_fault(cpu, gpvec, ext);
		seg_null(out, sel);
		if (sreg != S_SS)
			out->attr = AR_UNUSABLE;
		return;
	}
	struct desc d;
	if (!seg_fetch_desc(cpu, sel, &d, false))
		cpu_fault(cpu, gpvec, err);
	unsigned dpl = desc_dpl(&d), type = desc_type(&d);
	if (sreg == S_SS) {
		if (rpl != cpl || !desc_s(&d) || (type & DT_CODE) || !(type & DT_RW) || dpl != cpl)
			cpu_fault(cpu, gpvec, err);
		if (!desc_present(&d))
			cpu_fault(cpu, EXC_SS, err);
	} else {
		if (!desc_s(&d) || (type & (DT_CODE | DT_RW)) == DT_CODE)
			cpu_fault(cpu, gpvec, err);
		/* Data and non-conforming code: DPL >= max(CPL, RPL). */
		if ((type & (DT_CODE | DT_EC)) != (DT_CODE | DT_EC) && (rpl > dpl || cpl > dpl))
			cpu_fault(cpu, gpvec, err);
		if (!desc_present(&d))
			cpu_fault(cpu, EXC_NP, err);
	}
	seg_set_accessed(cpu, sel, &d);
	desc_to_seg(&d, sel, out);
}

void seg_load(struct cpu *cpu, unsigned sreg, uint16_t sel)
{
	struct seg s;
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
		seg_real(cpu, sreg, sel, &s);
	else
		seg_check_data(cpu, sreg, sel, cpu->cpl, EXC_GP, 0, &s);
	cpu->seg[sreg] = s;
	cpu_update_mode(cpu);
}

void seg_null_outer(struct cpu *cpu, unsigned new_cpl)
{
	static const unsigned regs[4] = { S_ES, S_DS, S_FS, S_GS };
	for (int k = 0; k < 4; k++) {
		struct seg *s = &cpu->seg[regs[k]];
		if (s->attr & AR_UNUSABLE)
			continue;
		bool conf_code = (s->attr & (DT_CODE | DT_EC)) == (DT_CODE | DT_EC);
		if (!conf_code && AR_DPL(s->attr) < new_cpl) {
			s->sel = 0;
			s->attr |= AR_UNUSABLE;
		}
	}
}

/* ---- TSS lookups ------------------------------------------------------ */

static bool tr_is32(const struct cpu *cpu)
{
	return (cpu->tr.attr & 0x8) != 0;	/* types 9/11 (and 64-bit) vs 1/3 */
}

void tss_stack(struct cpu *cpu, unsigned dpl, unsigned ext, uint16_t *ss, uint32_t *esp)
{
	uint32_t err = (cpu->tr.sel & 0xfffcu) | ext;
	if (tr_is32(cpu)) {
		uint32_t off = 4 + 8 * dpl;
		if (off + 5 > cpu->tr.limit)
			cpu_fault(cpu, EXC_TS, err);
		*esp = (uint32_t)sys_read(cpu, cpu->tr.base + off, 4);
		*ss = (uint16_t)sys_read(cpu, cpu->tr.base + off + 4, 2);
	} else {
		uint32_t off = 2 + 4 * dpl;
		if (off + 3 > cpu->tr.limit)
			cpu_fault(cpu, EXC_TS, err);
		*esp = (uint32_t)sys_read(cpu, cpu->tr.base + off, 2);
		*ss = (uint16_t)sys_read(cpu, cpu->tr.base + off + 2, 2);
	}
}

uint64_t tss64_stack(struct cpu *cpu, unsigned slot, unsigned ext)
{
	uint32_t off = 4 + 8 * slot;
	if (off + 7 > cpu->tr.limit)
		cpu_fault(cpu, EXC_TS, (cpu->tr.sel & 0xfffcu) | ext);
	return sys_read(cpu, cpu->tr.base + off, 8);
}

bool seg_io_allowed(struct cpu *cpu, uint16_t port, unsigned size)
{
	if (cpu->mode == MODE_REAL)
		return true;
	unsigned iopl = (cpu->rflags & FL_IOPL) >> 12;
	if (cpu->mode != MODE_V86 && cpu->cpl <= iopl)
		return true;
	if (!tr_is32(cpu) || (cpu->tr.attr & AR_UNUSABLE) || cpu->tr.limit < 0x67)
		return false;
	uint32_t iobase = (uint32_t)sys_read(cpu, cpu->tr.base + 0x66, 2);
	uint32_t byte = iobase + port / 8;
	if (byte + 1 > cpu->tr.limit)
		return false;
	uint32_t bits = (uint32_t)sys_read(cpu, cpu->tr.base + byte, 2);
	uint32_t mask = ((1u << size) - 1) << (port & 7);
	return (bits & mask) == 0;
}

/* ---- MOV/PUSH/POP Sreg, LxS ------------------------------------------- */

static void mov_ev_sw(struct cpu *cpu, const struct insn *i)
{
	unsigned sr = i->reg & 7;
	if (sr >= S_NSEG)
		insn_ud(cpu, i);
	uint16_t sel = cpu->seg[sr].sel;
	if (i->mod == 3)
		reg_write(cpu, i->rm, sel, i->osz);	/* zero-extended for 32/64 */
	else
		mem_write16(cpu, i->seg, insn_ea(cpu, i), sel);
}

void mov_Ev_Sw_w(struct cpu *cpu, const struct insn *i) { mov_ev_sw(cpu, i); }
void mov_Ev_Sw_d(struct cpu *cpu, const struct insn *i) { mov_ev_sw(cpu, i); }
void mov_Ev_Sw_q(struct cpu *cpu, const struct insn *i) { mov_ev_sw(cpu, i); }

void mov_Sw_Ew(struct cpu *cpu, const struct insn *i)
{
	unsigned sr = i->reg & 7;
	if (sr >= S_NSEG || sr == S_CS)
		insn_ud(cpu, i);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 1);
	seg_load(cpu, sr, sel);
	if (sr == S_SS)
		cpu->irq_shadow = true;
}

/* PUSH Sreg: a 16-bit store into an operand-size slot, as recent Intel
 * processors do (SDM Vol. 2 PUSH). */
static void push_sreg(struct cpu *cpu, unsigned sr, unsigned osz)
{
	unsigned bytes = 1u << osz;
	uint64_t sp = (cpu->regs[R_SP] - bytes) & size_mask[cpu->stack_size];
	mem_write(cpu, S_SS, sp, cpu->seg[sr].sel, 2);
	cpu->regs[R_SP] = cpu->stack_size == 1 ? (cpu->regs[R_SP] & ~0xffffull) | sp : sp;
}

static void pop_sreg(struct cpu *cpu, unsigned sr, unsigned osz)
{
	unsigned bytes = 1u << osz;
	unsigned ssz = cpu->stack_size;
	uint64_t sp = cpu->regs[R_SP] & size_mask[ssz];
	uint16_t sel = (uint16_t)mem_read(cpu, S_SS, sp, bytes);
	sp = (sp + bytes) & size_mask[ssz];
	uint64_t rsp = ssz == 1 ? (cpu->regs[R_SP] & ~0xffffull) | sp : sp;
	seg_load(cpu, sr, sel);
	cpu->regs[R_SP] = rsp;
	if (sr == S_SS)
		cpu->irq_shadow = true;
}

#define SREG_PUSHPOP(name, sr)                                                                 \
	void push_##name##_w(struct cpu *cpu, const struct insn *i) { push_sreg(cpu, sr, i->osz); } \
	void push_##name##_d(struct cpu *cpu, const struct insn *i) { push_sreg(cpu, sr, i->osz); } \
	void push_##name##_q(struct cpu *cpu, const struct insn *i) { push_sreg(cpu, sr, i->osz); }
#define SREG_POP(name, sr)                                                                     \
	void pop_##name##_w(struct cpu *cpu, const struct insn *i) { pop_sreg(cpu, sr, i->osz); }   \
	void pop_##name##_d(struct cpu *cpu, const struct insn *i) { pop_sreg(cpu, sr, i->osz); }   \
	void pop_##name##_q(struct cpu *cpu, const struct insn *i) { pop_sreg(cpu, sr, i->osz); }
SREG_PUSHPOP(ES, S_ES)
SREG_PUSHPOP(CS, S_CS)
SREG_PUSHPOP(SS, S_SS)
SREG_PUSHPOP(DS, S_DS)
SREG_PUSHPOP(FS, S_FS)
SREG_PUSHPOP(GS, S_GS)
SREG_POP(ES, S_ES)
SREG_POP(SS, S_SS)
SREG_POP(DS, S_DS)
SREG_POP(FS, S_FS)
SREG_POP(GS, S_GS)

/* LDS/LES/LSS/LFS/LGS: offset of the operand size, then the selector. */
static void load_far_ptr(struct cpu *cpu, const struct insn *i, unsigned sr)
{
	unsigned bytes = 1u << i->osz;
	uint64_t ea = insn_ea(cpu, i);
	uint64_t off = mem_read(cpu, i->seg, ea, bytes);
	uint16_t sel = mem_read16(cpu, i->seg, (ea + bytes) & addr_mask(i->asz));
	seg_load(cpu, sr, sel);
	reg_write(cpu, i->reg, off, i->osz);
}

#define LXS(name, sr)                                                                          \
	void name##_w(struct cpu *cpu, const struct insn *i) { load_far_ptr(cpu, i, sr); }         \
	void name##_d(struct cpu *cpu, const struct insn *i) { load_far_ptr(cpu, i, sr); }         \
	void name##_q(struct cpu *cpu, const struct insn *i) { load_far_ptr(cpu, i, sr); }
LXS(les_Gz_Mp, S_ES)
LXS(lds_Gz_Mp, S_DS)
LXS(lss_Gv_Mp, S_SS)
LXS(lfs_Gv_Mp, S_FS)
LXS(lgs_Gv_Mp, S_GS)

/* ---- LAR, LSL, VERR, VERW, ARPL ---------------------------------------- */

static void need_protected(struct cpu *cpu, const struct insn *i)
{
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
		insn_ud(cpu, i);
}

static void set_zf(struct cpu *cpu, bool zf)
{
	cpu_set_rflags(cpu, zf ? FL_ZF : 0, FL_ZF);
}

/*
 * Fetches the descriptor of sel for LAR/LSL/VERR/VERW and applies the
 * common visibility rule: non-null, inside the table, and for everything
 * but conforming code DPL >= CPL and DPL >= RPL.
 */
static bool visible_desc(struct cpu *cpu, uint16_t sel, struct desc *d)
{
	if ((sel & 0xfffc) == 0 || !seg_fetch_desc(cpu, sel, d, false))
		return false;
	bool conf_code = desc_s(d) && (desc_type(d) & (DT_CODE | DT_EC)) == (DT_CODE | DT_EC);
	unsigned dpl = desc_dpl(d);
	return conf_code || (dpl >= cpu->cpl && dpl >= (sel & 3u));
}

static bool sys_type_ok(const struct cpu *cpu, unsigned type, bool for_lar)
{
	/* SDM Vol. 2 LAR/LSL: valid system types differ in IA-32e mode. */
	static const uint16_t lar_legacy = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 |
					   1u << 9 | 1u << 11 | 1u << 12;
	static const uint16_t lar_long = 1u << 2 | 1u << 9 | 1u << 11 | 1u << 12;
	static const uint16_t lsl_legacy = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9 | 1u << 11;
	static const uint16_t lsl_long = 1u << 2 | 1u << 9 | 1u << 11;
	uint16_t set = for_lar ? (lma(cpu) ? lar_long : lar_legacy) : (lma(cpu) ? lsl_long : lsl_legacy);
	return (set >> type) & 1;
}

static void lar_lsl(struct cpu *cpu, const struct insn *i, bool lar)
{
	need_protected(cpu, i);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 1);
	struct desc d;
	bool ok = visible_desc(cpu, sel, &d) && (desc_s(&d) || sys_type_ok(cpu, desc_type(&d), lar));
	if (ok) {
		uint64_t v;
		if (lar)
			v = d.hi & (i->osz == 1 ? 0xff00u : 0x00f0ff00u);
		else
			v = desc_limit(&d);
		reg_write(cpu, i->reg, v, i->osz);
	}
	set_zf(cpu, ok);
}

void lar_Gv_Ew_w(struct cpu *cpu, const struct insn *i) { lar_lsl(cpu, i, true); }
void lar_Gv_Ew_d(struct cpu *cpu, const struct insn *i) { lar_lsl(cpu, i, true); }
void lar_Gv_Ew_q(struct cpu *cpu, const struct insn *i) { lar_lsl(cpu, i, true); }
void lsl_Gv_Ew_w(struct cpu *cpu, const struct insn *i) { lar_lsl(cpu, i, false); }
void lsl_Gv_Ew_d(struct cpu *cpu, const struct insn *i) { lar_lsl(cpu, i, false); }
void lsl_Gv_Ew_q(struct cpu *cpu, const struct insn *i) { lar_lsl(cpu, i, false); }

static void verify(struct cpu *cpu, const struct insn *i, bool write)
{
	need_protected(cpu, i);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 1);
	struct desc d;
	bool ok = false;
	if (visible_desc(cpu, sel, &d) && desc_s(&d)) {
		unsigned t = desc_type(&d);
		if (write)
			ok = !(t & DT_CODE) && (t & DT_RW);
		else
			ok = !(t & DT_CODE) || (t & DT_RW);
	}
	set_zf(cpu, ok);
}

void verr_Ew(struct cpu *cpu, const struct insn *i) { verify(cpu, i, false); }
void verw_Ew(struct cpu *cpu, const struct insn *i) { verify(cpu, i, true); }

void arpl_Ew_Gw(struct cpu *cpu, const struct insn *i)
{
	need_protected(cpu, i);
	uint16_t dst = (uint16_t)rm_read(cpu, i, 1);
	uint16_t src = (uint16_t)reg_read(cpu, i->reg, 1);
	if ((dst & 3) < (src & 3)) {
		rm_write(cpu, i, (dst & ~3u) | (src & 3u), 1);
		set_zf(cpu, true);
	} else {
		set_zf(cpu, false);
	}
}

/* ---- Descriptor-table registers ---------------------------------------- */

static void umip_check(struct cpu *cpu)
{
	if ((cpu->cr4 & CR4_UMIP) && cpu->cpl > 0)
		cpu_fault(cpu, EXC_GP, 0);
}

static void store_sel(struct cpu *cpu, const struct insn *i, uint16_t sel)
{
	if (i->mod == 3)
		reg_write(cpu, i->rm, sel, i->osz);
	else
		mem_write16(cpu, i->seg, insn_ea(cpu, i), sel);
}

void sldt_Ev(struct cpu *cpu, const struct insn *i)
{
	need_protected(cpu, i);
	umip_check(cpu);
	sys_intercept(cpu, VE_DESC_TABLE, i, 4, 0, 0);
	store_sel(cpu, i, cpu->ldtr.sel);
}

void str_Ev(struct cpu *cpu, const struct insn *i)
{
	need_protected(cpu, i);
	umip_check(cpu);
	sys_intercept(cpu, VE_DESC_TABLE, i, 5, 0, 0);
	store_sel(cpu, i, cpu->tr.sel);
}

static void sys_priv(struct cpu *cpu, const struct insn *i)
{
	need_protected(cpu, i);
	if (cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
}

/* System descriptor (LDT or TSS) of sel in the GDT for LLDT/LTR: 16 bytes
 * in IA-32e mode with the upper base; faults #GP(sel)/#NP(sel). */
static void fetch_sys_desc(struct cpu *cpu, uint16_t sel, struct desc *d, struct seg *s)
{
	uint32_t err = sel & 0xfffcu;
	bool wide = lma(cpu);
	if ((sel & 4) || !seg_fetch_desc(cpu, sel & ~4u, d, wide))
		cpu_fault(cpu, EXC_GP, err);
	desc_to_seg(d, sel, s);
	if (wide) {
		s->base |= (uint64_t)d->hi2 << 32;
		if ((d->hi3 >> 8) & 0x1f)
			cpu_fault(cpu, EXC_GP, err);
	}
}

void lldt_Ew(struct cpu *cpu, const struct insn *i)
{
	sys_priv(cpu, i);
	sys_intercept(cpu, VE_DESC_TABLE, i, 6, 0, 0);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 1);
	if ((sel & 0xfffc) == 0) {
		seg_null(&cpu->ldtr, sel);
		cpu->ldtr.attr = AR_UNUSABLE;
		return;
	}
	struct desc d;
	struct seg s;
	fetch_sys_desc(cpu, sel, &d, &s);
	if (desc_s(&d) || desc_type(&d) != DT_LDT)
		cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
	if (!desc_present(&d))
		cpu_fault(cpu, EXC_NP, sel & 0xfffcu);
	if (lma(cpu) && !seg_canonical(cpu, s.base))
		cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
	cpu->ldtr = s;
}

void ltr_Ew(struct cpu *cpu, const struct insn *i)
{
	sys_priv(cpu, i);
	sys_intercept(cpu, VE_DESC_TABLE, i, 7, 0, 0);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 1);
	if ((sel & 0xfffc) == 0)
		cpu_fault(cpu, EXC_GP, 0);
	struct desc d;
	struct seg s;
	fetch_sys_desc(cpu, sel, &d, &s);
	unsigned t = desc_type(&d);
	if (desc_s(&d) || !(t == DT_TSS32_AVL || (t == DT_TSS16_AVL && !lma(cpu))))
		cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
	if (!desc_present(&d))
		cpu_fault(cpu, EXC_NP, sel & 0xfffcu);
	if (lma(cpu) && !seg_canonical(cpu, s.base))
		cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
	d.hi |= 2u << 8;	/* busy */
	seg_store_desc_hi(cpu, sel, d.hi);
	s.attr |= 2;
	cpu->tr = s;
}

static void store_dtr(struct cpu *cpu, const struct insn *i, const struct dtr *r, unsigned which)
{
	umip_check(cpu);
	sys_intercept(cpu, VE_DESC_TABLE, i, which, 0, 0);
	uint64_t ea = insn_ea(cpu, i);
	uint64_t ea2 = (ea + 2) & addr_mask(i->asz);
	if (cpu->mode == MODE_LONG) {
		mem_probe_write(cpu, i->seg, ea2, 8);
		mem_write16(cpu, i->seg, ea, (uint16_t)r->limit);
		mem_write64(cpu, i->seg, ea2, r->base);
	} else {
		mem_probe_write(cpu, i->seg, ea2, 4);
		mem_write16(cpu, i->seg, ea, (uint16_t)r->limit);
		mem_write32(cpu, i->seg, ea2, (uint32_t)r->base);
	}
}

static void load_dtr(struct cpu *cpu, const struct insn *i, struct dtr *r, unsigned which)
{
	if (cpu->mode != MODE_REAL && cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
	sys_intercept(cpu, VE_DESC_TABLE, i, which, 0, 0);
	uint64_t ea = insn_ea(cpu, i);
	uint64_t ea2 = (ea + 2) & addr_mask(i->asz);
	uint16_t limit = mem_read16(cpu, i->seg, ea);
	uint64_t base;
	if (cpu->mode == MODE_LONG) {
		base = mem_read64(cpu, i->seg, ea2);
		if (!seg_canonical(cpu, base))
			cpu_fault(cpu, EXC_GP, 0);
	} else {
		base = mem_read32(cpu, i->seg, ea2);
		if (i->osz == 1)
			base &= 0xffffff;
	}
	r->base = base;
	r->limit = limit;
}

void sgdt_Ms(struct cpu *cpu, const struct insn *i) { store_dtr(cpu, i, &cpu->gdtr, 0); }
void sidt_Ms(struct cpu *cpu, const struct insn *i) { store_dtr(cpu, i, &cpu->idtr, 1); }
void lgdt_Ms(struct cpu *cpu, const struct insn *i) { load_dtr(cpu, i, &cpu->gdtr, 2); }
void lidt_Ms(struct cpu *cpu, const struct insn *i) { load_dtr(cpu, i, &cpu->idtr, 3); }

/* ---- BOUND ------------------------------------------------------------- */

static void bound(struct cpu *cpu, const struct insn *i)
{
	unsigned bytes = 1u << i->osz;
	uint64_t ea = insn_ea(cpu, i);
	int64_t lo, hi, idx;
	if (i->osz == 1) {
		lo = (int16_t)mem_read16(cpu, i->seg, ea);
		hi = (int16_t)mem_read16(cpu, i->seg, (ea + bytes) & addr_mask(i->asz));
		idx = (int16_t)reg_read(cpu, i->reg, 1);
	} else {
		lo = (int32_t)mem_read32(cpu, i->seg, ea);
		hi = (int32_t)mem_read32(cpu, i->seg, (ea + bytes) & addr_mask(i->asz));
		idx = (int32_t)reg_read(cpu, i->reg, 2);
	}
	if (idx < lo || idx > hi)
		cpu_fault(cpu, EXC_BR, NO_ERROR_CODE);
}

void bound_Gv_Ma_w(struct cpu *cpu, const struct insn *i) { bound(cpu, i); }
void bound_Gv_Ma_d(struct cpu *cpu, const struct insn *i) { bound(cpu, i); }
void bound_Gv_Ma_q(struct cpu *cpu, const struct insn *i) { bound(cpu, i); }
