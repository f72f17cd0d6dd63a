/*
 * xsave.c - XSAVE, XSAVEOPT, XSAVEC, XSAVES, XRSTOR, XRSTORS (SDM Vol. 1
 * ch. 13, Vol. 2 pages of each instruction).
 *
 * State components: x87 (0), SSE (1: XMM registers, MXCSR), AVX (2: the
 * upper halves of YMM0-15) and PKRU (9) when the model has PKU; no
 * supervisor component exists (IA32_XSS stays 0). The requested-feature
 * bitmap RFBM is XCR0 AND EDX:EAX (XCR0 | IA32_XSS for XSAVES/XRSTORS).
 *
 * Formats: standard (component i at CPUID.(0xD,i).EBX; XSAVE, XSAVEOPT,
 * XRSTOR with XCOMP_BV[63] = 0) and compacted (components of XCOMP_BV in
 * order from byte 576; XSAVEC, XSAVES, XRSTOR/XRSTORS with XCOMP_BV[63]
 * = 1). The legacy region (bytes 0-511) is laid out as FXSAVE's; MXCSR and
 * MXCSR_MASK are written whenever RFBM[1] or RFBM[2] is set.
 *
 * XINUSE is computed from the state (a component is in use unless it is
 * in its initial configuration), so the init optimization is exact.
 * XSAVEOPT and XSAVES also use the modified optimization: a component
 * is not written when the last XRSTOR(S) was from the same linear address
 * at the same CPL and the component still holds what that XRSTOR loaded
 * (cpu->xtrack keeps a copy).
 *
 * XRSTOR validates the whole header and reads every byte it needs before
 * changing any state, so a #GP or #PF leaves the CPU untouched. XSAVE*
 * probe every byte they will write before writing.
 */
#include <string.h>

#include "alu.h"
#include "cpu.h"
#include "cpuid.h"
#include "interp.h"
#include "mem.h"
#include "system.h"
#include "x87.h"

#define XS_X87 (1ull << 0)
#define XS_SSE (1ull << 1)
#define XS_AVX (1ull << 2)
#define XS_PKRU (1ull << 9)
#define XCOMP_COMPACT (1ull << 63)
#define XS_AREA_MAX 2752

/* The extended components: size and standard-format offset. */
static const struct {
	unsigned bit, size, offset;
} xcomp[] = {
	{ 2, 256, 576 },
	{ 9, 8, 2688 },
};
#define NXCOMP (sizeof(xcomp) / sizeof(xcomp[0]))

enum { K_XSAVE, K_XSAVEOPT, K_XSAVEC, K_XSAVES };

static unsigned nregs(const struct cpu *cpu)
{
	return cpu->mode == MODE_LONG ? 16 : 8;
}

/* Offset of extended component k in a compacted area described by xc. */
static unsigned compact_offset(uint64_t xc, unsigned bit)
{
	unsigned off = 576;
	for (unsigned k = 0; k < NXCOMP; k++) {
		if (xcomp[k].bit == bit)
			return off;
		if ((xc >> xcomp[k].bit) & 1)
			off += xcomp[k].size;
	}
	return off;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t k = 0; k < n; k++)
		if (b[k])
			return false;
	return true;
}

/* XINUSE: components not in their initial configuration (SDM 13.6). */
static uint64_t xinuse(const struct cpu *cpu)
{
	uint64_t u = 0;
	const struct fpu_state *f = &cpu->fpu;
	bool st0 = true;
	for (unsigned k = 0; k < 8; k++)
		st0 &= f->st[k].mant == 0 && f->st[k].sexp == 0;
	if (f->fcw != 0x37f || f->fsw || f->ftw != 0xffff || f->fop || f->fip || f->fdp || f->fcs || f->fds || !st0)
		u |= XS_X87;
	bool xmm0 = cpu->mxcsr == 0x1f80, ymm0 = true;
	for (unsigned r = 0; r < 16; r++) {
		xmm0 &= all_zero(cpu->vr[r].b, 16);
		ymm0 &= all_zero(cpu->vr[r].b + 16, 16);
	}
	if (!xmm0)
		u |= XS_SSE;
	if (!ymm0)
		u |= XS_AVX;
	if (cpu->pkru)
		u |= XS_PKRU;
	return u;
}

/* Is component bit unchanged since the tracked XRSTOR? */
static bool unmodified(const struct cpu *cpu, unsigned bit, uint64_t lin)
{
	const struct xsave_track *t = &cpu->xtrack;
	if (!t->valid || t->lin != lin || t->cpl != cpu->cpl)
		return false;
	switch (bit) {
	case 0: return memcmp(&t->fpu, &cpu->fpu, sizeof(t->fpu)) == 0;
	case 1:
		for (unsigned r = 0; r < 16; r++)
			if (memcmp(t->vr[r].b, cpu->vr[r].b, 16))
				return false;
		return true;
	case 2:
		for (unsigned r = 0; r < 16; r++)
			if (memcmp(t->vr[r].b + 16, cpu->vr[r].b + 16, 16))
				return false;
		return true;
	case 9: return t->pkru == cpu->pkru;
	}
	return false;
}

static void track(struct cpu *cpu, uint64_t lin)
{
	struct xsave_track *t = &cpu->xtrack;
	t->valid = true;
	t->lin = lin;
	t->cpl = cpu->cpl;
	memcpy(t->vr, cpu->vr, sizeof(t->vr));
	t->fpu = cpu->fpu;
	t->mxcsr = cpu->mxcsr;
	t->pkru = cpu->pkru;
}

/* Common checks; returns the area's offset. */
static uint64_t xs_area(struct cpu *cpu, const struct insn *i, bool sup)
{
	if (!(cpu->cr4 & CR4_OSXSAVE))
		insn_ud(cpu, i);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
	if (sup && cpu->cpl != 0)
		cpu_fault(cpu, EXC_GP, 0);
	uint64_t ea = insn_ea(cpu, i);
	if ((cpu->segbase[i->seg] + ea) & 63)
		cpu_fault(cpu, EXC_GP, 0);
	return ea;
}

static uint64_t edx_eax(const struct cpu *cpu)
{
	return (uint32_t)cpu->regs[R_AX] | (cpu->regs[R_DX] & 0xffffffffull) << 32;
}

static void init_x87(struct fpu_state *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = 0x37f;
	f->ftw = 0xffff;
}

/* Byte ranges of the area to write. */
struct ranges {
	unsigned n;
	struct { unsigned off, len; } r[8];
};

static void add_range(struct ranges *rg, unsigned off, unsigned len)
{
	rg->r[rg->n].off = off;
	rg->r[rg->n].len = len;
	rg->n++;
}

static void xsave_body(struct cpu *cpu, const struct insn *i, unsigned kind)
{
	uint64_t ea = xs_area(cpu, i, kind == K_XSAVES);
	uint64_t lin = (cpu->segbase[i->seg] + ea) & cpu->lin_mask;
	uint64_t mask = cpu->xcr0 | (kind == K_XSAVES ? cpu->msr.xss : 0);
	uint64_t rfbm = mask & edx_eax(cpu);
	uint64_t inuse = xinuse(cpu) & rfbm;
	bool compact = kind == K_XSAVEC || kind == K_XSAVES;
	bool rexw = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	uint8_t b[XS_AREA_MAX];
	memset(b, 0, sizeof(b));
	struct ranges rg = { 0 };

	/* Which components to write. */
	uint64_t save = rfbm;
	if (kind != K_XSAVE)
		save &= inuse;	/* init optimization */
	if (kind == K_XSAVEOPT || kind == K_XSAVES)
		for (unsigned bit = 0; bit < 10; bit++)
			if (((save >> bit) & 1) && unmodified(cpu, bit, lin))
				save &= ~(1ull << bit);

	uint64_t xstate_bv;
	if (compact) {
		xstate_bv = inuse;
	} else {
		uint64_t old = mem_read64(cpu, i->seg, ea + 512);
		xstate_bv = (old & ~rfbm) | inuse;
	}
	if (save & XS_X87) {
		x87_fx_image_save(&cpu->fpu, b, rexw);
		add_range(&rg, 0, 24);
		add_range(&rg, 32, 128);
	}
	if (rfbm & (XS_SSE | XS_AVX)) {
		uint32_t mm = 0xffff;	/* MXCSR_MASK: every defined bit writable */
		memcpy(b + 24, &cpu->mxcsr, 4);
		memcpy(b + 28, &mm, 4);
		add_range(&rg, 24, 8);
	}
	if (save & XS_SSE) {
		for (unsigned r = 0; r < nregs(cpu); r++)
			memcpy(b + 160 + 16 * r, cpu->vr[r].b, 16);
		add_range(&rg, 160, 16 * nregs(cpu));
	}
	memcpy(b + 512, &xstate_bv, 8);
	if (compact) {
		uint64_t xc = rfbm | XCOMP_COMPACT;
		memcpy(b + 520, &xc, 8);
		add_range(&rg, 512, 16);
	} else {
		add_range(&rg, 512, 8);
	}
	for (unsigned k = 0; k < NXCOMP; k++) {
		unsigned bit = xcomp[k].bit;
		if (!((save >> bit) & 1))
			continue;
		unsigned off = compact ? compact_offset(rfbm, bit) : xcomp[k].offset;
		if (bit == 2) {
			for (unsigned r = 0; r < nregs(cpu); r++)
				memcpy(b + off + 16 * r, cpu->vr[r].b + 16, 16);
			add_range(&rg, off, 16 * nregs(cpu));
		} else {
			memcpy(b + off, &cpu->pkru, 4);
			add_range(&rg, off, 8);
		}
	}
	/* Every write is checked before the first one is made. */
	for (unsigned k = 0; k < rg.n; k++)
		mem_probe_write(cpu, i->seg, (ea + rg.r[k].off) & size_mask[i->asz], rg.r[k].len);
	for (unsigned k = 0; k < rg.n; k++)
		mem_write_block(cpu, i->seg, (ea + rg.r[k].off) & size_mask[i->asz], b + rg.r[k].off, rg.r[k].len);
}

void xsave(struct cpu *cpu, const struct insn *i) { xsave_body(cpu, i, K_XSAVE); }
void xsaveopt(struct cpu *cpu, const struct insn *i) { xsave_body(cpu, i, K_XSAVEOPT); }
void xsavec(struct cpu *cpu, const struct insn *i) { xsave_body(cpu, i, K_XSAVEC); }
void xsaves(struct cpu *cpu, const struct insn *i) { xsave_body(cpu, i, K_XSAVES); }

static void xrstor_body(struct cpu *cpu, const struct insn *i, bool sup)
{
	uint64_t ea = xs_area(cpu, i, sup);
	uint64_t lin = (cpu->segbase[i->seg] + ea) & cpu->lin_mask;
	uint64_t mask = cpu->xcr0 | (sup ? cpu->msr.xss : 0);
	uint64_t rfbm = mask & edx_eax(cpu);
	bool rexw = (i->flags & INSN_REXW) && cpu->mode == MODE_LONG;
	uint8_t b[XS_AREA_MAX];
	memset(b, 0, sizeof(b));

	/* Header checks (SDM 13.8.1, 13.8.2; XRSTORS). */
	mem_read_block(cpu, i->seg, (ea + 512) & size_mask[i->asz], b + 512, 64);
	uint64_t xstate_bv, xcomp_bv;
	memcpy(&xstate_bv, b + 512, 8);
	memcpy(&xcomp_bv, b + 520, 8);
	bool compact = xcomp_bv >> 63;
	if (sup && !compact)
		cpu_fault(cpu, EXC_GP, 0);
	if (!compact) {
		if ((xstate_bv & ~cpu->xcr0) || !all_zero(b + 520, 16))
			cpu_fault(cpu, EXC_GP, 0);
	} else {
		if (!sup && !cpu_has(cpu, FEAT_XSAVEC))
			cpu_fault(cpu, EXC_GP, 0);
		if ((xcomp_bv & ~XCOMP_COMPACT & ~mask) || (xstate_bv & ~xcomp_bv) || !all_zero(b + 528, 48))
			cpu_fault(cpu, EXC_GP, 0);
	}
	uint64_t load = rfbm & xstate_bv;

	/* Read everything needed, then check MXCSR. */
	mem_read_block(cpu, i->seg, ea, b, 512);
	uint32_t mx;
	memcpy(&mx, b + 24, 4);
	bool mx_load = compact ? (rfbm & (XS_SSE | XS_AVX)) && (xstate_bv & XS_SSE) : (rfbm & (XS_SSE | XS_AVX)) != 0;
	if (mx_load && (mx & 0xffff0000u))
		cpu_fault(cpu, EXC_GP, 0);
	for (unsigned k = 0; k < NXCOMP; k++) {
		unsigned bit = xcomp[k].bit;
		if (!((load >> bit) & 1))
			continue;
		unsigned off = compact ? compact_offset(xcomp_bv, bit) : xcomp[k].offset;
		mem_read_block(cpu, i->seg, (ea + off) & size_mask[i->asz], b + off, xcomp[k].size);
	}

	/* Commit. */
	if (rfbm & XS_X87) {
		if (load & XS_X87)
			x87_fx_image_load(&cpu->fpu, b, rexw);
		else
			init_x87(&cpu->fpu);
	}
	if (rfbm & XS_SSE) {
		for (unsigned r = 0; r < nregs(cpu); r++) {
			if (load & XS_SSE)
				memcpy(cpu->vr[r].b, b + 160 + 16 * r, 16);
			else
				memset(cpu->vr[r].b, 0, 16);
		}
	}
	if (mx_load)
		cpu->mxcsr = mx;
	else if (compact && (rfbm & XS_SSE))
		cpu->mxcsr = 0x1f80;
	for (unsigned k = 0; k < NXCOMP; k++) {
		unsigned bit = xcomp[k].bit;
		if (!((rfbm >> bit) & 1))
			continue;
		unsigned off = compact ? compact_offset(xcomp_bv, bit) : xcomp[k].offset;
		bool ld = (load >> bit) & 1;
		if (bit == 2) {
			for (unsigned r = 0; r < nregs(cpu); r++) {
				if (ld)
					memcpy(cpu->vr[r].b + 16, b + off + 16 * r, 16);
				else
					memset(cpu->vr[r].b + 16, 0, 16);
			}
		} else {
			uint32_t v = 0;
			if (ld)
				memcpy(&v, b + off, 4);
			cpu->pkru = v;
		}
	}
	track(cpu, lin);
}

void xrstor(struct cpu *cpu, const struct insn *i) { xrstor_body(cpu, i, false); }
void xrstors(struct cpu *cpu, const struct insn *i) { xrstor_body(cpu, i, true); }
