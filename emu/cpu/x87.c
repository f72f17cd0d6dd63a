/*
 * x87.c - the x87 FPU instructions (escape opcodes D8-DF), see x87.h.
 *
 * Each escape byte has one handler that decodes ModRM.reg (the /digit)
 * and, for register forms, ModRM.rm (ST(i)). Arithmetic is f80.c.
 *
 * Availability: CR0.EM or CR0.TS -> #NM for every escape. Waiting
 * instructions first take a pending unmasked exception (x87_check_pending).
 * Non-control instructions record FOP, FIP/FCS and, with a memory operand,
 * FDP/FDS (FOP's ModRM low bits are recorded as 0 for memory forms).
 *
 * Stack faults: a push onto a non-empty register or a read of an empty
 * one raises IE + SF (C1 = 1 on overflow, 0 on underflow); masked, the
 * destination gets the real indefinite (compares report unordered).
 *
 * Environment formats (FNSTENV/FLDENV/FNSAVE/FRSTOR): 14-byte (16-bit
 * operand size) or 28-byte layouts, protected-mode (offset + selector) or
 * real/v86 (20/32-bit linear pointers with FOP) per the SDM; 64-bit mode
 * uses the 32-bit protected layout. Stored tags are recomputed from the
 * registers; loaded tags only decide empty/not empty.
 */
#include "x87.h"

#include "cpuid.h"
#include "f80.h"
#include "interp.h"
#include "emu/dev/irq.h"

#pragma weak machine_set_gsi

#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* ---- tags ------------------------------------------------------------------ */

unsigned x87_tag_of(struct f80 v)
{
	unsigned e = v.sexp & 0x7fff;
	if (e == 0x7fff)
		return TAG_SPECIAL;
	if (e == 0)
		return v.mant ? TAG_SPECIAL : TAG_ZERO;
	return (v.mant >> 63) ? TAG_VALID : TAG_SPECIAL;
}

uint8_t x87_abridged_tag(const struct fpu_state *fpu)
{
	uint8_t r = 0;
	for (unsigned i = 0; i < 8; i++)
		if (((fpu->ftw >> (2 * i)) & 3) != TAG_EMPTY)
			r |= 1u << i;
	return r;
}

void x87_set_abridged_tag(struct fpu_state *fpu, uint8_t abridged)
{
	uint16_t t = 0;
	for (unsigned i = 0; i < 8; i++) {
		unsigned tag = (abridged >> i) & 1 ? x87_tag_of(fpu->st[i]) : TAG_EMPTY;
		t |= tag << (2 * i);
	}
	fpu->ftw = t;
}

void x87_check_pending(struct cpu *cpu)
{
	if (!(cpu->fpu.fsw & FSW_ES))
		return;
	if (cpu->cr0 & CR0_NE)
		cpu_fault(cpu, EXC_MF, NO_ERROR_CODE);
	/* CR0.NE = 0: FERR# drives IRQ13 on a PC (when the board has it). */
	if (machine_set_gsi && cpu->m)
		machine_set_gsi(cpu->m, 13, 1);
}

/* ---- stack --------------------------------------------------------------------- */

static unsigned top(const struct cpu *cpu)
{
	return (cpu->fpu.fsw >> FSW_TOP_SHIFT) & 7;
}

static void set_top(struct cpu *cpu, unsigned t)
{
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_TOP) | (t & 7) << FSW_TOP_SHIFT);
}

static unsigned phys(const struct cpu *cpu, unsigned i)
{
	return (top(cpu) + i) & 7;
}

static unsigned ptag(const struct cpu *cpu, unsigned p)
{
	return (cpu->fpu.ftw >> (2 * p)) & 3;
}

static void set_ptag(struct cpu *cpu, unsigned p, unsigned tag)
{
	cpu->fpu.ftw = (uint16_t)((cpu->fpu.ftw & ~(3u << (2 * p))) | tag << (2 * p));
}

static bool empty(const struct cpu *cpu, unsigned i)
{
	return ptag(cpu, phys(cpu, i)) == TAG_EMPTY;
}

static struct f80 st(const struct cpu *cpu, unsigned i)
{
	return cpu->fpu.st[phys(cpu, i)];
}

static void st_set(struct cpu *cpu, unsigned i, struct f80 v)
{
	unsigned p = phys(cpu, i);
	cpu->fpu.st[p] = v;
	set_ptag(cpu, p, x87_tag_of(v));
}

static void pop(struct cpu *cpu)
{
	set_ptag(cpu, phys(cpu, 0), TAG_EMPTY);
	set_top(cpu, top(cpu) + 1);
}

/* Recomputes ES/B from the flags and the masks. */
static void update_es(struct cpu *cpu)
{
	struct fpu_state *f = &cpu->fpu;
	if (f->fsw & ~f->fcw & 0x3f)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

/* Records exception flags (F80_*); C1 from the round-up indicator. */
static void raise(struct cpu *cpu, unsigned flags)
{
	flags = f80_settle_flags((uint16_t)flags, cpu->fpu.fcw);
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_C1) | (flags & (0x3f | FSW_C1)));
	update_es(cpu);
}

static bool masked_ie(const struct cpu *cpu)
{
	return cpu->fpu.fcw & FSW_IE;
}

/* Stack underflow: IE + SF, C1 = 0. Returns true when masked (the caller
 * then writes the indefinite). */
static bool underflow(struct cpu *cpu)
{
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_C1) | FSW_IE | FSW_SF);
	update_es(cpu);
	return masked_ie(cpu);
}

static bool overflow_fault(struct cpu *cpu)
{
	cpu->fpu.fsw |= FSW_IE | FSW_SF | FSW_C1;
	update_es(cpu);
	return masked_ie(cpu);
}

/* Pushes v; on stack overflow pushes the indefinite (masked) or nothing. */
static void push(struct cpu *cpu, struct f80 v)
{
	if (!empty(cpu, 7)) {
		if (!overflow_fault(cpu))
			return;
		v = f80_indefinite;
	}
	set_top(cpu, top(cpu) - 1);
	st_set(cpu, 0, v);
}

/* ---- instruction framing ------------------------------------------------------ */

static struct f80_ctx ctx(const struct cpu *cpu)
{
	return (struct f80_ctx){ .fcw = cpu->fpu.fcw, .flags = 0 };
}

static void check_nm(struct cpu *cpu)
{
	if (cpu->cr0 & (CR0_EM | CR0_TS))
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
}

/* Start of a waiting non-control instruction: #NM, pending #MF, then the
 * instruction and data pointers (esc = the escape byte's low 3 bits). */
/* ModRM.rm of a memory operand, rebuilt from the decoded address form. */
static unsigned mem_rm(const struct insn *i)
{
	if (i->asz == 1) {
		static const uint8_t pairs[8][2] = { { R_BX, R_SI }, { R_BX, R_DI }, { R_BP, R_SI }, { R_BP, R_DI },
						     { R_SI, R_NONE }, { R_DI, R_NONE }, { R_BP, R_NONE },
						     { R_BX, R_NONE } };
		if (i->base == R_NONE)
			return 6;
		for (unsigned k = 0; k < 8; k++)
			if (pairs[k][0] == i->base && pairs[k][1] == i->index)
				return k;
		return 0;
	}
	if (i->index != R_NONE || (i->base & 7) == R_SP)
		return 4;
	if (i->base == R_NONE)
		return 5;
	return i->base & 7u;
}

static void begin(struct cpu *cpu, const struct insn *i, unsigned esc)
{
	x87_check_pending(cpu);
	struct fpu_state *f = &cpu->fpu;
	unsigned modrm = (unsigned)i->mod << 6 | (i->reg & 7u) << 3 | (i->mod == 3 ? i->rm & 7u : mem_rm(i));
	f->fop = (uint16_t)(esc << 8 | modrm);
	f->fip = cpu->rip;
	f->fcs = cpu->seg[S_CS].sel;
	if (i->mod != 3) {
		f->fdp = insn_ea(cpu, i);
		f->fds = cpu->seg[i->seg].sel;
	}
}

static bool feature(struct cpu *cpu, const struct insn *i, unsigned feat)
{
	if (!cpu_has(cpu, feat))
		insn_ud(cpu, i);
	return true;
}

/* ---- memory operands ------------------------------------------------------------ */

static uint64_t ea(struct cpu *cpu, const struct insn *i)
{
	return insn_ea(cpu, i);
}

static struct f80 read_m80(struct cpu *cpu, const struct insn *i, uint64_t off)
{
	uint8_t b[10];
	mem_read_block(cpu, i->seg, off, b, 10);
	struct f80 v;
	v.mant = 0;
	for (int k = 7; k >= 0; k--)
		v.mant = v.mant << 8 | b[k];
	v.sexp = (uint16_t)(b[8] | b[9] << 8);
	return v;
}

static void f80_bytes(struct f80 v, uint8_t b[10])
{
	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(v.mant >> (8 * k));
	b[8] = (uint8_t)v.sexp;
	b[9] = (uint8_t)(v.sexp >> 8);
}

/* Memory source operands of the arithmetic: kind 0 = m32fp, 1 = m32int,
 * 2 = m64fp, 3 = m16int. */
static struct f80 read_src(struct cpu *cpu, const struct insn *i, unsigned kind, struct f80_ctx *c)
{
	uint64_t off = ea(cpu, i);
	struct f80 v;
	uint16_t before = c->flags;
	switch (kind) {
	case 0: v = f80_from_f32(c, mem_read32(cpu, i->seg, off)); break;
	case 1: return f80_from_int((int32_t)mem_read32(cpu, i->seg, off));
	case 2: v = f80_from_f64(c, mem_read64(cpu, i->seg, off)); break;
	default: return f80_from_int((int16_t)mem_read16(cpu, i->seg, off));
	}
	if ((c->flags & ~before) & F80_IE) {
		/* an SNaN source: the operation itself signals and propagates it */
		c->flags = before;
		v.mant &= ~(1ull << 62);
	}
	return v;
}

/* ---- arithmetic ---------------------------------------------------------------------- */

enum { OP_ADD, OP_MUL, OP_COM, OP_COMP, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR };

static struct f80 calc(struct f80_ctx *c, unsigned op, struct f80 a, struct f80 b)
{
	switch (op) {
	case OP_ADD: return f80_add(c, a, b);
	case OP_MUL: return f80_mul(c, a, b);
	case OP_SUB: return f80_sub(c, a, b);
	case OP_SUBR: return f80_sub(c, b, a);
	case OP_DIV: return f80_div(c, a, b);
	default: return f80_div(c, b, a);
	}
}

static void set_cc(struct cpu *cpu, int rel)
{
	static const uint16_t cc[4] = { 0, FSW_C0, FSW_C3, FSW_C0 | FSW_C2 | FSW_C3 };
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | cc[rel]);
}

/* FCOM family: compares ST(0) with b, pops npop times. */
static void compare(struct cpu *cpu, struct f80 b, bool b_empty, bool quiet, unsigned npop)
{
	if (empty(cpu, 0) || b_empty) {
		if (!underflow(cpu))
			return;
		set_cc(cpu, F80_UN);
	} else {
		struct f80_ctx c = ctx(cpu);
		int rel = f80_compare(&c, st(cpu, 0), b, quiet);
		raise(cpu, c.flags);
		set_cc(cpu, rel);
		if (f80_no_result(&c))
			return;
	}
	while (npop--)
		pop(cpu);
}

/* FCOMI family: EFLAGS ZF/PF/CF. */
static void comi(struct cpu *cpu, unsigned i, bool quiet, bool dopop)
{
	static const uint64_t fl[4] = { 0, FL_CF, FL_ZF, FL_ZF | FL_PF | FL_CF };
	int rel;
	if (empty(cpu, 0) || empty(cpu, i)) {
		if (!underflow(cpu))
			return;
		rel = F80_UN;
	} else {
		struct f80_ctx c = ctx(cpu);
		rel = f80_compare(&c, st(cpu, 0), st(cpu, i), quiet);
		raise(cpu, c.flags);
		if (f80_no_result(&c)) {
			flags_set_arith(cpu, fl[rel]);
			return;
		}
	}
	flags_set_arith(cpu, fl[rel]);
	if (dopop)
		pop(cpu);
}

/* ST(d) = ST(d) op src (ST(d) is the first operand), popping if asked. */
static void arith(struct cpu *cpu, unsigned op, unsigned d, struct f80 src, bool src_empty, bool dopop,
		  struct f80_ctx *c)
{
	if (empty(cpu, d) || src_empty) {
		if (!underflow(cpu))
			return;
		st_set(cpu, d, f80_indefinite);
	} else {
		struct f80 r = calc(c, op, st(cpu, d), src);
		raise(cpu, c->flags);
		if (f80_no_result(c))
			return;
		st_set(cpu, d, r);
	}
	if (dopop)
		pop(cpu);
}

/* D8 / DC / DA / DE memory forms and D8 register forms: ST(0) op src. */
static void arith_mem(struct cpu *cpu, const struct insn *i, unsigned kind)
{
	unsigned op = i->reg & 7;
	struct f80_ctx c = ctx(cpu);
	struct f80 src = read_src(cpu, i, kind, &c);
	if (op == OP_COM || op == OP_COMP) {
		/* the conversion's own flags (SNaN/denormal source) */
		struct f80_ctx cc = c;
		if (empty(cpu, 0)) {
			if (underflow(cpu)) {
				set_cc(cpu, F80_UN);
				if (op == OP_COMP)
					pop(cpu);
			}
			return;
		}
		int rel = f80_compare(&cc, st(cpu, 0), src, false);
		raise(cpu, cc.flags);
		set_cc(cpu, rel);
		if (f80_no_result(&cc))
			return;
		if (op == OP_COMP)
			pop(cpu);
		return;
	}
	arith(cpu, op, 0, src, false, false, &c);
}

/* DC / DE register forms: ST(i) = ST(i) op ST(0) (SUB/SUBR, DIV/DIVR swapped). */
static void arith_sti(struct cpu *cpu, const struct insn *i, bool dopop)
{
	static const uint8_t map[8] = { OP_ADD, OP_MUL, OP_COM, OP_COMP, OP_SUBR, OP_SUB, OP_DIVR, OP_DIV };
	unsigned op = map[i->reg & 7], r = i->rm & 7;
	struct f80_ctx c = ctx(cpu);
	arith(cpu, op, r, st(cpu, 0), empty(cpu, 0), dopop, &c);
}

/* ---- loads and stores ---------------------------------------------------------------------- */

static void load(struct cpu *cpu, struct f80 v, struct f80_ctx *c)
{
	if (!empty(cpu, 7)) {
		push(cpu, v);
		return;
	}
	raise(cpu, c->flags);
	if (c->flags & ~c->fcw & F80_IE)	/* an unmasked DE still loads */
		return;
	push(cpu, v);
}

/* FST/FSTP to memory: fmt 0 = m32fp, 1 = m64fp, 2 = m80fp. */
static void store_fp(struct cpu *cpu, const struct insn *i, unsigned fmt, bool dopop)
{
	uint64_t off = ea(cpu, i);
	struct f80_ctx c = ctx(cpu);
	struct f80 v = st(cpu, 0);
	bool ok = true;
	if (empty(cpu, 0)) {
		if (fmt == 0)
			mem_probe_write(cpu, i->seg, off, 4);
		if (!underflow(cpu))
			return;
		v = f80_indefinite;
		if (fmt == 0)
			mem_write32(cpu, i->seg, off, 0xffc00000u);
		else if (fmt == 1)
			mem_write64(cpu, i->seg, off, 0xfff8000000000000ull);
		goto raw;
	}
	if (fmt == 0) {
		uint32_t r = f80_to_f32(&c, v, &ok);
		if (ok)
			mem_write32(cpu, i->seg, off, r);
		else
			mem_probe_write(cpu, i->seg, off, 4);
	} else if (fmt == 1) {
		uint64_t r = f80_to_f64(&c, v, &ok);
		if (ok)
			mem_write64(cpu, i->seg, off, r);
		else
			mem_probe_write(cpu, i->seg, off, 8);
	} else {
raw:
		if (fmt == 2) {
			uint8_t b[10];
			f80_bytes(v, b);
			mem_write_block(cpu, i->seg, off, b, 10);
		}
	}
	raise(cpu, c.flags | (cpu->fpu.fsw & 0x3f));
	if (!ok)
		return;
	if (dopop)
		pop(cpu);
}

/* FIST/FISTP/FISTTP: bits 16/32/64. */
static void store_int(struct cpu *cpu, const struct insn *i, unsigned bits, bool trunc, bool dopop)
{
	uint64_t off = ea(cpu, i);
	struct f80_ctx c = ctx(cpu);
	bool ok;
	int64_t r;
	mem_probe_write(cpu, i->seg, off, bits / 8);
	if (empty(cpu, 0)) {
		if (!underflow(cpu))
			return;
		r = (int64_t)(1ull << (bits - 1));
		if (bits < 64)
			r = -r;
		ok = true;
	} else {
		r = f80_to_int(&c, st(cpu, 0), bits, trunc, &ok);
		raise(cpu, c.flags);
	}
	if (!ok)
		return;
	mem_write(cpu, i->seg, off, (uint64_t)r, bits / 8);
	if (dopop)
		pop(cpu);
}

static void fbstp(struct cpu *cpu, const struct insn *i)
{
	uint64_t off = ea(cpu, i);
	struct f80_ctx c = ctx(cpu);
	uint8_t b[10];
	bool ok = true;
	mem_probe_write(cpu, i->seg, off, 10);
	if (empty(cpu, 0)) {
		if (!underflow(cpu))
			return;
		static const uint8_t indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
		for (int k = 0; k < 10; k++)
			b[k] = indef[k];
	} else {
		f80_to_bcd(&c, st(cpu, 0), b, &ok);
		raise(cpu, c.flags);
	}
	if (!ok)
		return;
	mem_write_block(cpu, i->seg, off, b, 10);
	pop(cpu);
}

/* ---- environment ----------------------------------------------------------------------------- */

static uint16_t full_tags(const struct cpu *cpu)
{
	struct fpu_state f = cpu->fpu;
	x87_set_abridged_tag(&f, x87_abridged_tag(&cpu->fpu));
	return f.ftw;
}

static bool real_fmt(const struct cpu *cpu)
{
	return cpu->mode == MODE_REAL || cpu->mode == MODE_V86;
}

/* Writes the environment at off; returns its size (14 or 28). */
static unsigned store_env(struct cpu *cpu, const struct insn *i, uint64_t off)
{
	struct fpu_state *f = &cpu->fpu;
	uint32_t w[7];
	bool o16 = i->osz == 1;
	unsigned n = o16 ? 14 : 28;
	uint16_t tags = full_tags(cpu);
	w[0] = f->fcw;
	w[1] = f->fsw;
	w[2] = tags;
	if (real_fmt(cpu)) {
		uint32_t ip = (uint32_t)(f->fip + ((uint32_t)f->fcs << 4));
		uint32_t dp = (uint32_t)(f->fdp + ((uint32_t)f->fds << 4));
		w[3] = ip & 0xffff;
		w[4] = (ip >> 16) << 12 | (f->fop & 0x7ff);
		w[5] = dp & 0xffff;
		w[6] = (dp >> 16) << 12;
		if (o16) {
			w[4] &= 0xffff;
			w[6] &= 0xffff;
		}
	} else {
		w[3] = (uint32_t)f->fip;
		w[4] = f->fcs | (o16 ? 0 : (uint32_t)(f->fop & 0x7ff) << 16);
		w[5] = (uint32_t)f->fdp;
		w[6] = f->fds;
	}
	uint8_t b[28];
	for (unsigned k = 0; k < 7; k++) {
		uint32_t v = w[k];
		if (o16) {
			b[2 * k] = (uint8_t)v;
			b[2 * k + 1] = (uint8_t)(v >> 8);
		} else {
			if (k < 3)
				v |= 0xffff0000u;	/* reserved halves read as ones */
			for (unsigned j = 0; j < 4; j++)
				b[4 * k + j] = (uint8_t)(v >> (8 * j));
		}
	}
	mem_write_block(cpu, i->seg, off, b, n);
	return n;
}

/* Reads the environment; returns its size. The state is only committed
 * by the caller (after all memory reads). */
static unsigned load_env(struct cpu *cpu, const struct insn *i, uint64_t off, struct fpu_state *f)
{
	bool o16 = i->osz == 1;
	unsigned n = o16 ? 14 : 28;
	uint8_t b[28];
	uint32_t w[7];
	mem_read_block(cpu, i->seg, off, b, n);
	for (unsigned k = 0; k < 7; k++)
		w[k] = o16 ? (uint32_t)(b[2 * k] | b[2 * k + 1] << 8)
			   : (uint32_t)(b[4 * k] | b[4 * k + 1] << 8 | b[4 * k + 2] << 16 |
					(uint32_t)b[4 * k + 3] << 24);
	f->fcw = (uint16_t)w[0];
	f->fsw = (uint16_t)w[1];
	f->ftw = (uint16_t)w[2];
	if (real_fmt(cpu)) {
		f->fip = (w[3] & 0xffff) | (w[4] >> 12 & 0xffff) << 16;
		f->fop = w[4] & 0x7ff;
		f->fdp = (w[5] & 0xffff) | (w[6] >> 12 & 0xffff) << 16;
		f->fcs = 0;
		f->fds = 0;
	} else {
		f->fip = w[3];
		f->fcs = (uint16_t)w[4];
		f->fop = o16 ? f->fop : (w[4] >> 16) & 0x7ff;
		f->fdp = w[5];
		f->fds = (uint16_t)w[6];
	}
	return n;
}

static void commit_env(struct cpu *cpu, const struct fpu_state *f)
{
	struct fpu_state *d = &cpu->fpu;
	uint8_t abr = 0;
	for (unsigned p = 0; p < 8; p++)
		if (((f->ftw >> (2 * p)) & 3) != TAG_EMPTY)
			abr |= 1u << p;
	d->fcw = f->fcw;
	d->fsw = f->fsw;
	d->fop = f->fop;
	d->fip = f->fip;
	d->fcs = f->fcs;
	d->fdp = f->fdp;
	d->fds = f->fds;
	x87_set_abridged_tag(d, abr);
	update_es(cpu);
}

static void fninit(struct cpu *cpu)
{
	struct fpu_state *f = &cpu->fpu;
	f->fcw = 0x037f;
	f->fsw = 0;
	f->ftw = 0xffff;
	f->fop = 0;
	f->fip = f->fdp = 0;
	f->fcs = f->fds = 0;
}

static void fldenv(struct cpu *cpu, const struct insn *i, bool regs)
{
	struct fpu_state f = cpu->fpu;
	uint64_t off = ea(cpu, i);
	unsigned n = load_env(cpu, i, off, &f);
	if (regs) {
		unsigned t = (f.fsw >> FSW_TOP_SHIFT) & 7;
		for (unsigned k = 0; k < 8; k++)
			f.st[(t + k) & 7] = read_m80(cpu, i, (off + n + 10 * k) & size_mask[i->asz]);
		for (unsigned k = 0; k < 8; k++)
			cpu->fpu.st[k] = f.st[k];
	}
	commit_env(cpu, &f);
}

static void fnstenv(struct cpu *cpu, const struct insn *i, bool regs)
{
	uint64_t off = ea(cpu, i);
	if (regs) {
		/* probe the whole area first: nothing is written unless all is */
		mem_probe_write(cpu, i->seg, off, i->osz == 1 ? 94 : 108);
		unsigned n = i->osz == 1 ? 14 : 28;
		for (unsigned k = 0; k < 8; k++) {
			uint8_t b[10];
			f80_bytes(st(cpu, k), b);
			mem_write_block(cpu, i->seg, (off + n + 10 * k) & size_mask[i->asz], b, 10);
		}
	}
	store_env(cpu, i, off);
	if (regs)
		fninit(cpu);
	else
		cpu->fpu.fcw |= 0x3f;
}

/* ---- D9 register forms --------------------------------------------------------------------- */

static void fxam(struct cpu *cpu)
{
	struct f80 v = st(cpu, 0);
	uint16_t cc;
	if (empty(cpu, 0)) {
		cc = FSW_C3 | FSW_C0;
	} else {
		unsigned e = v.sexp & 0x7fff;
		if (e == 0x7fff)
			cc = !(v.mant >> 63) ? 0 : (v.mant << 1) ? FSW_C0 : FSW_C2 | FSW_C0;
		else if (e == 0)
			cc = v.mant ? FSW_C3 | FSW_C2 : FSW_C3;
		else
			cc = (v.mant >> 63) ? FSW_C2 : 0;
	}
	if (v.sexp >> 15)
		cc |= FSW_C1;
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | cc);
}

/* One-operand ST(0) operations. */
static void unary(struct cpu *cpu, struct f80 (*fn)(struct f80_ctx *, struct f80))
{
	if (empty(cpu, 0)) {
		if (underflow(cpu))
			st_set(cpu, 0, f80_indefinite);
		return;
	}
	struct f80_ctx c = ctx(cpu);
	struct f80 r = fn(&c, st(cpu, 0));
	raise(cpu, c.flags);
	if (!f80_no_result(&c))
		st_set(cpu, 0, r);
}

/* ST(1) = fn(ST(0), ST(1)), pop (FYL2X, FYL2XP1, FPATAN). */
static void binary_pop(struct cpu *cpu, struct f80 (*fn)(struct f80_ctx *, struct f80, struct f80))
{
	if (empty(cpu, 0) || empty(cpu, 1)) {
		if (underflow(cpu)) {
			st_set(cpu, 1, f80_indefinite);
			pop(cpu);
		}
		return;
	}
	struct f80_ctx c = ctx(cpu);
	struct f80 r = fn(&c, st(cpu, 0), st(cpu, 1));
	raise(cpu, c.flags);
	if (f80_no_result(&c))
		return;
	st_set(cpu, 1, r);
	pop(cpu);
}

static struct f80 do_fscale(struct f80_ctx *c, struct f80 a, struct f80 b)
{
	return f80_scale(c, a, b);
}

static void trig(struct cpu *cpu, unsigned which)
{
	/* which: 0 = FSIN, 1 = FCOS, 2 = FSINCOS, 3 = FPTAN */
	bool two = which >= 2;
	cpu->fpu.fsw &= (uint16_t)~FSW_C2;
	if (empty(cpu, 0) || (two && !empty(cpu, 7))) {
		if (empty(cpu, 0)) {
			if (!underflow(cpu))
				return;
			st_set(cpu, 0, f80_indefinite);
			if (two)
				push(cpu, f80_indefinite);
		} else if (overflow_fault(cpu)) {
			st_set(cpu, 0, f80_indefinite);
			push(cpu, f80_indefinite);
		}
		return;
	}
	struct f80_ctx c = ctx(cpu);
	struct f80 a = st(cpu, 0), r1, r2 = { 0, 0 };
	bool oor = false;
	switch (which) {
	case 0: r1 = f80_sin(&c, a, &oor); break;
	case 1: r1 = f80_cos(&c, a, &oor); break;
	case 2:
		r1 = f80_sin(&c, a, &oor);
		if (!oor) {
			/* C1 reports the rounding of the sine (as measured) */
			struct f80_ctx c2 = ctx(cpu);
			r2 = f80_cos(&c2, a, &oor);
			c.flags = (uint16_t)(c.flags | (c2.flags & ~F80_C1));
		}
		break;
	default:
		r1 = f80_tan(&c, a, &oor);
		r2 = f80_const(0, 0);
		if (f80_is_nan(r1))
			r2 = r1;
		break;
	}
	if (oor) {
		cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_C1) | FSW_C2);
		return;
	}
	raise(cpu, c.flags);
	if (f80_no_result(&c))
		return;
	st_set(cpu, 0, r1);
	if (two)
		push(cpu, r2);
}

static void fxtract(struct cpu *cpu)
{
	if (empty(cpu, 0) || !empty(cpu, 7)) {
		if (empty(cpu, 0) ? underflow(cpu) : overflow_fault(cpu)) {
			st_set(cpu, 0, f80_indefinite);
			push(cpu, f80_indefinite);
		}
		return;
	}
	struct f80_ctx c = ctx(cpu);
	struct f80 e, s = f80_xtract(&c, st(cpu, 0), &e);
	raise(cpu, c.flags);
	if (f80_no_result(&c))
		return;
	st_set(cpu, 0, e);
	push(cpu, s);
}

static void fprem(struct cpu *cpu, bool round)
{
	if (empty(cpu, 0) || empty(cpu, 1)) {
		if (underflow(cpu))
			st_set(cpu, 0, f80_indefinite);
		return;
	}
	struct f80_ctx c = ctx(cpu);
	uint16_t cc = 0;
	struct f80 r = f80_prem(&c, st(cpu, 0), st(cpu, 1), round, &cc);
	raise(cpu, c.flags & 0x3f);
	if (f80_no_result(&c))
		return;
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | cc);
	st_set(cpu, 0, r);
}

static void d9_reg(struct cpu *cpu, const struct insn *i)
{
	unsigned r = i->rm & 7;
	switch (i->reg & 7) {
	case 0: {	/* FLD ST(i) */
		if (empty(cpu, r)) {
			if (!empty(cpu, 7)) {
				push(cpu, f80_indefinite);
				return;
			}
			if (underflow(cpu))
				push(cpu, f80_indefinite);
			return;
		}
		push(cpu, st(cpu, r));
		return;
	}
	case 1:		/* FXCH */
	fxch: {
		struct f80 a = st(cpu, 0), b = st(cpu, r);
		if (empty(cpu, 0) || empty(cpu, r)) {
			if (!underflow(cpu))
				return;
			if (empty(cpu, 0))
				a = f80_indefinite;
			if (empty(cpu, r))
				b = f80_indefinite;
		} else {
			cpu->fpu.fsw &= (uint16_t)~FSW_C1;
		}
		st_set(cpu, 0, b);
		st_set(cpu, r, a);
		return;
	}
	case 2:
		if (r != 0)
			insn_ud(cpu, i);
		return;		/* FNOP */
	case 3:		/* FSTP1 (alias) */
		goto fstp;
	case 4:
		switch (r) {
		case 0:	/* FCHS */
		case 1:	/* FABS */
			if (empty(cpu, 0)) {
				if (underflow(cpu))
					st_set(cpu, 0, f80_indefinite);
				return;
			}
			{
				struct f80 v = st(cpu, 0);
				v.sexp = r ? v.sexp & 0x7fff : v.sexp ^ 0x8000;
				cpu->fpu.fsw &= (uint16_t)~FSW_C1;
				st_set(cpu, 0, v);
			}
			return;
		case 4:	/* FTST */
			compare(cpu, f80_const(6, 0), false, false, 0);
			return;
		case 5:
			fxam(cpu);
			return;
		default:
			insn_ud(cpu, i);
		}
	case 5:
		if (r == 7)
			insn_ud(cpu, i);
		{
			static const uint8_t k[7] = { 0, 1, 2, 3, 4, 5, 6 };
			if (!empty(cpu, 7)) {
				push(cpu, f80_indefinite);
				return;
			}
			cpu->fpu.fsw &= (uint16_t)~FSW_C1;
			push(cpu, f80_const(k[r], (cpu->fpu.fcw >> 10) & 3));
		}
		return;
	case 6:
		switch (r) {
		case 0: unary(cpu, f80_f2xm1); return;
		case 1: binary_pop(cpu, f80_yl2x); return;
		case 2: trig(cpu, 3); return;
		case 3: binary_pop(cpu, f80_patan); return;
		case 4: fxtract(cpu); return;
		case 5: fprem(cpu, true); return;
		case 6:	/* FDECSTP */
			cpu->fpu.fsw &= (uint16_t)~FSW_C1;
			set_top(cpu, top(cpu) - 1);
			return;
		default:	/* FINCSTP */
			cpu->fpu.fsw &= (uint16_t)~FSW_C1;
			set_top(cpu, top(cpu) + 1);
			return;
		}
	default:
		switch (r) {
		case 0: fprem(cpu, false); return;
		case 1: binary_pop(cpu, f80_yl2xp1); return;
		case 2: unary(cpu, f80_sqrt); return;
		case 3: trig(cpu, 2); return;
		case 4: unary(cpu, f80_round_int); return;
		case 5:	/* FSCALE: ST(0) = scale(ST(0), ST(1)), no pop */
			if (empty(cpu, 0) || empty(cpu, 1)) {
				if (underflow(cpu))
					st_set(cpu, 0, f80_indefinite);
				return;
			} else {
				struct f80_ctx c = ctx(cpu);
				struct f80 v = do_fscale(&c, st(cpu, 0), st(cpu, 1));
				raise(cpu, c.flags);
				if (!f80_no_result(&c))
					st_set(cpu, 0, v);
			}
			return;
		case 6: trig(cpu, 0); return;
		default: trig(cpu, 1); return;
		}
	}
	return;
fstp:
	if (empty(cpu, 0)) {
		if (!underflow(cpu))
			return;
		st_set(cpu, r, f80_indefinite);
	} else {
		cpu->fpu.fsw &= (uint16_t)~FSW_C1;
		st_set(cpu, r, st(cpu, 0));
	}
	pop(cpu);
	return;
	goto fxch;
}

/* FST/FSTP ST(i) (DD D0/D8, DF D0/D8 aliases). */
static void fst_sti(struct cpu *cpu, unsigned r, bool dopop)
{
	if (empty(cpu, 0)) {
		if (!underflow(cpu))
			return;
		st_set(cpu, r, f80_indefinite);
	} else {
		cpu->fpu.fsw &= (uint16_t)~FSW_C1;
		st_set(cpu, r, st(cpu, 0));
	}
	if (dopop)
		pop(cpu);
}

static void fxch(struct cpu *cpu, unsigned r)
{
	struct f80 a = st(cpu, 0), b = st(cpu, r);
	if (empty(cpu, 0) || empty(cpu, r)) {
		if (!underflow(cpu))
			return;
		if (empty(cpu, 0))
			a = f80_indefinite;
		if (empty(cpu, r))
			b = f80_indefinite;
	} else {
		cpu->fpu.fsw &= (uint16_t)~FSW_C1;
	}
	st_set(cpu, 0, b);
	st_set(cpu, r, a);
}

/* ---- the escapes ------------------------------------------------------------------------------ */

void x87_esc0(struct cpu *cpu, const struct insn *i);
void x87_esc1(struct cpu *cpu, const struct insn *i);
void x87_esc2(struct cpu *cpu, const struct insn *i);
void x87_esc3(struct cpu *cpu, const struct insn *i);
void x87_esc4(struct cpu *cpu, const struct insn *i);
void x87_esc5(struct cpu *cpu, const struct insn *i);
void x87_esc6(struct cpu *cpu, const struct insn *i);
void x87_esc7(struct cpu *cpu, const struct insn *i);

void x87_esc0(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	begin(cpu, i, 0);
	if (i->mod != 3) {
		arith_mem(cpu, i, 0);
		return;
	}
	unsigned op = i->reg & 7, r = i->rm & 7;
	if (op == OP_COM || op == OP_COMP) {
		compare(cpu, st(cpu, r), empty(cpu, r), false, op == OP_COMP);
		return;
	}
	struct f80_ctx c = ctx(cpu);
	arith(cpu, op, 0, st(cpu, r), empty(cpu, r), false, &c);
}

void x87_esc1(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	if (i->mod == 3) {
		begin(cpu, i, 1);
		if ((i->reg & 7) == 1) {
			fxch(cpu, i->rm & 7);
			return;
		}
		d9_reg(cpu, i);
		return;
	}
	uint64_t off = ea(cpu, i);
	switch (i->reg & 7) {
	case 0: {	/* FLD m32fp */
		begin(cpu, i, 1);
		struct f80_ctx c = ctx(cpu);
		struct f80 v = f80_from_f32(&c, mem_read32(cpu, i->seg, off));
		load(cpu, v, &c);
		return;
	}
	case 2:
	case 3:
		begin(cpu, i, 1);
		store_fp(cpu, i, 0, (i->reg & 7) == 3);
		return;
	case 4:		/* FLDENV */
		x87_check_pending(cpu);
		fldenv(cpu, i, false);
		return;
	case 5:		/* FLDCW */
		x87_check_pending(cpu);
		cpu->fpu.fcw = mem_read16(cpu, i->seg, off);
		update_es(cpu);
		return;
	case 6:		/* FNSTENV */
		fnstenv(cpu, i, false);
		return;
	case 7:		/* FNSTCW */
		mem_write16(cpu, i->seg, off, cpu->fpu.fcw);
		return;
	default:
		insn_ud(cpu, i);
	}
}

/* FCMOVcc: cc index 0 B, 1 E, 2 BE, 3 U; neg for the DB forms. */
static void fcmov(struct cpu *cpu, const struct insn *i, bool neg)
{
	feature(cpu, i, FEAT_CMOV);
	uint64_t fl = cpu_get_rflags(cpu);
	bool cond;
	switch (i->reg & 3) {
	case 0: cond = fl & FL_CF; break;
	case 1: cond = fl & FL_ZF; break;
	case 2: cond = fl & (FL_CF | FL_ZF); break;
	default: cond = fl & FL_PF; break;
	}
	if (neg)
		cond = !cond;
	unsigned r = i->rm & 7;
	if (empty(cpu, 0) || empty(cpu, r)) {
		if (underflow(cpu) && cond)
			st_set(cpu, 0, f80_indefinite);
		return;
	}
	cpu->fpu.fsw &= (uint16_t)~FSW_C1;
	if (cond)
		st_set(cpu, 0, st(cpu, r));
}

void x87_esc2(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	begin(cpu, i, 2);
	if (i->mod != 3) {
		arith_mem(cpu, i, 1);
		return;
	}
	if ((i->reg & 7) < 4) {
		fcmov(cpu, i, false);
		return;
	}
	if ((i->reg & 7) == 5 && (i->rm & 7) == 1) {	/* FUCOMPP */
		compare(cpu, st(cpu, 1), empty(cpu, 1), true, 2);
		return;
	}
	insn_ud(cpu, i);
}

void x87_esc3(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	if (i->mod == 3) {
		unsigned reg = i->reg & 7, r = i->rm & 7;
		if (reg == 4) {
			switch (r) {
			case 2:	/* FNCLEX */
				cpu->fpu.fsw &= (uint16_t)~(0x3f | FSW_SF | FSW_ES | FSW_B);
				return;
			case 3:
				fninit(cpu);
				return;
			case 0: case 1: case 4:	/* FENI, FDISI, FSETPM: no-ops */
				return;
			default:
				insn_ud(cpu, i);
			}
		}
		if (reg == 7)
			insn_ud(cpu, i);
		begin(cpu, i, 3);
		if (reg < 4) {
			fcmov(cpu, i, true);
			return;
		}
		feature(cpu, i, FEAT_CMOV);
		comi(cpu, r, reg == 5, false);
		return;
	}
	switch (i->reg & 7) {
	case 0: {	/* FILD m32int */
		begin(cpu, i, 3);
		struct f80_ctx c = ctx(cpu);
		load(cpu, read_src(cpu, i, 1, &c), &c);
		return;
	}
	case 1:
		feature(cpu, i, FEAT_SSE3);
		begin(cpu, i, 3);
		store_int(cpu, i, 32, true, true);
		return;
	case 2:
	case 3:
		begin(cpu, i, 3);
		store_int(cpu, i, 32, false, (i->reg & 7) == 3);
		return;
	case 5: {	/* FLD m80fp */
		begin(cpu, i, 3);
		struct f80_ctx c = ctx(cpu);
		load(cpu, read_m80(cpu, i, ea(cpu, i)), &c);
		return;
	}
	case 7:
		begin(cpu, i, 3);
		store_fp(cpu, i, 2, true);
		return;
	default:
		insn_ud(cpu, i);
	}
}

void x87_esc4(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	begin(cpu, i, 4);
	if (i->mod != 3) {
		arith_mem(cpu, i, 2);
		return;
	}
	unsigned op = i->reg & 7, r = i->rm & 7;
	if (op == OP_COM || op == OP_COMP) {	/* DC D0/D8: FCOM/FCOMP aliases */
		compare(cpu, st(cpu, r), empty(cpu, r), false, op == OP_COMP);
		return;
	}
	arith_sti(cpu, i, false);
}

void x87_esc5(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	unsigned reg = i->reg & 7, r = i->rm & 7;
	if (i->mod == 3) {
		begin(cpu, i, 5);
		switch (reg) {
		case 0:		/* FFREE */
			set_ptag(cpu, phys(cpu, r), TAG_EMPTY);
			return;
		case 1:
			fxch(cpu, r);
			return;
		case 2:
		case 3:
			fst_sti(cpu, r, reg == 3);
			return;
		case 4:
		case 5:
			compare(cpu, st(cpu, r), empty(cpu, r), true, reg == 5);
			return;
		default:
			insn_ud(cpu, i);
		}
	}
	uint64_t off = ea(cpu, i);
	switch (reg) {
	case 0: {	/* FLD m64fp */
		begin(cpu, i, 5);
		struct f80_ctx c = ctx(cpu);
		struct f80 v = f80_from_f64(&c, mem_read64(cpu, i->seg, off));
		load(cpu, v, &c);
		return;
	}
	case 1:
		feature(cpu, i, FEAT_SSE3);
		begin(cpu, i, 5);
		store_int(cpu, i, 64, true, true);
		return;
	case 2:
	case 3:
		begin(cpu, i, 5);
		store_fp(cpu, i, 1, reg == 3);
		return;
	case 4:		/* FRSTOR */
		x87_check_pending(cpu);
		fldenv(cpu, i, true);
		return;
	case 6:		/* FNSAVE */
		fnstenv(cpu, i, true);
		return;
	case 7:		/* FNSTSW m16 */
		mem_write16(cpu, i->seg, off, cpu->fpu.fsw);
		return;
	default:
		insn_ud(cpu, i);
	}
}

void x87_esc6(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	begin(cpu, i, 6);
	if (i->mod != 3) {
		arith_mem(cpu, i, 3);
		return;
	}
	unsigned op = i->reg & 7, r = i->rm & 7;
	if (op == OP_COMP) {
		if (r != 1)
			insn_ud(cpu, i);
		compare(cpu, st(cpu, 1), empty(cpu, 1), false, 2);	/* FCOMPP */
		return;
	}
	if (op == OP_COM) {	/* DE D0+i: FCOMP alias */
		compare(cpu, st(cpu, r), empty(cpu, r), false, 1);
		return;
	}
	arith_sti(cpu, i, true);
}

void x87_esc7(struct cpu *cpu, const struct insn *i)
{
	check_nm(cpu);
	unsigned reg = i->reg & 7, r = i->rm & 7;
	if (i->mod == 3) {
		if (reg == 4) {
			if (r != 0)
				insn_ud(cpu, i);
			reg_write16(cpu, R_AX, cpu->fpu.fsw);	/* FNSTSW AX */
			return;
		}
		if (reg == 7)
			insn_ud(cpu, i);
		begin(cpu, i, 7);
		switch (reg) {
		case 0:		/* FFREEP */
			set_ptag(cpu, phys(cpu, r), TAG_EMPTY);
			set_top(cpu, top(cpu) + 1);
			return;
		case 1:
			fxch(cpu, r);
			return;
		case 2:
		case 3:
			fst_sti(cpu, r, true);
			return;
		default:	/* FUCOMIP / FCOMIP */
			feature(cpu, i, FEAT_CMOV);
			comi(cpu, r, reg == 5, true);
			return;
		}
	}
	begin(cpu, i, 7);
	switch (reg) {
	case 0: {	/* FILD m16int */
		struct f80_ctx c = ctx(cpu);
		load(cpu, read_src(cpu, i, 3, &c), &c);
		return;
	}
	case 1:
		feature(cpu, i, FEAT_SSE3);
		store_int(cpu, i, 16, true, true);
		return;
	case 2:
	case 3:
		store_int(cpu, i, 16, false, reg == 3);
		return;
	case 4: {	/* FBLD */
		uint8_t b[10];
		mem_read_block(cpu, i->seg, ea(cpu, i), b, 10);
		struct f80_ctx c = ctx(cpu);
		load(cpu, f80_from_bcd(b), &c);
		return;
	}
	case 5: {	/* FILD m64int */
		struct f80_ctx c = ctx(cpu);
		load(cpu, f80_from_int((int64_t)mem_read64(cpu, i->seg, ea(cpu, i))), &c);
		return;
	}
	case 6:
		fbstp(cpu, i);
		return;
	default:
		store_int(cpu, i, 64, false, true);
		return;
	}
}

/*
 * The x87 part of the FXSAVE / XSAVE legacy region (SDM Vol. 1 10.5.1,
 * table 10-2): bytes 0-23 and the eight 16-byte register slots at 32;
 * bytes 24-31 (MXCSR, MXCSR_MASK) are the caller's. rexw selects the
 * 64-bit instruction/data pointer format.
 */
void x87_fx_image_save(const struct fpu_state *f, uint8_t *b, bool rexw)
{
	memcpy(b + 0, &f->fcw, 2);
	memcpy(b + 2, &f->fsw, 2);
	b[4] = x87_abridged_tag(f);
	b[5] = 0;
	memcpy(b + 6, &f->fop, 2);
	if (rexw) {
		memcpy(b + 8, &f->fip, 8);
		memcpy(b + 16, &f->fdp, 8);
	} else {
		uint32_t ip = (uint32_t)f->fip, dp = (uint32_t)f->fdp;
		memcpy(b + 8, &ip, 4);
		memcpy(b + 12, &f->fcs, 2);
		memset(b + 14, 0, 2);
		memcpy(b + 16, &dp, 4);
		memcpy(b + 20, &f->fds, 2);
		memset(b + 22, 0, 2);
	}
	unsigned top = (f->fsw >> 11) & 7;
	for (unsigned k = 0; k < 8; k++) {
		const struct f80 *r = &f->st[(top + k) & 7];
		memset(b + 32 + 16 * k, 0, 16);
		memcpy(b + 32 + 16 * k, &r->mant, 8);
		memcpy(b + 40 + 16 * k, &r->sexp, 2);
	}
}

void x87_fx_image_load(struct fpu_state *f, const uint8_t *b, bool rexw)
{
	memcpy(&f->fcw, b + 0, 2);
	memcpy(&f->fsw, b + 2, 2);
	memcpy(&f->fop, b + 6, 2);
	f->fop &= 0x7ff;
	if (rexw) {
		memcpy(&f->fip, b + 8, 8);
		memcpy(&f->fdp, b + 16, 8);
		f->fcs = f->fds = 0;
	} else {
		uint32_t ip, dp;
		memcpy(&ip, b + 8, 4);
		memcpy(&f->fcs, b + 12, 2);
		memcpy(&dp, b + 16, 4);
		memcpy(&f->fds, b + 20, 2);
		f->fip = ip;
		f->fdp = dp;
	}
	unsigned top = (f->fsw >> 11) & 7;
	for (unsigned k = 0; k < 8; k++) {
		struct f80 *r = &f->st[(top + k) & 7];
		memcpy(&r->mant, b + 32 + 16 * k, 8);
		memcpy(&r->sexp, b + 40 + 16 * k, 2);
	}
	x87_set_abridged_tag(f, b[4]);
}
