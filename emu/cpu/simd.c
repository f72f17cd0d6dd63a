/*
 * simd.c - availability checks, operand access and exception reporting
 * shared by the MMX, SSE and AVX handlers (SDM Vol. 3 13.1-13.4, Vol. 1
 * 11.5 and 13.x; APM Vol. 2 11.x).
 *
 * Order of checks, as the SDM's "exceptions" tables list them: #UD for
 * CR0.EM / CR4.OSFXSR (or OSXSAVE/XCR0 for AVX), then #NM for CR0.TS, then
 * (MMX only) #MF for a pending x87 exception, then the memory operand
 * (#GP for misaligned aligned forms before any #PF), then SIMD FP
 * exceptions (#XM, or #UD when CR4.OSXMMEXCPT = 0).
 */
#include "simd.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "interp.h"
#include "mem.h"
#include "x87.h"

void simd_check_sse(struct cpu *cpu)
{
	if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
		cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
}

void simd_check_mmx(struct cpu *cpu)
{
	if (cpu->cr0 & CR0_EM)
		cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
	/* A pending unmasked x87 exception (FSW.ES) is delivered first
	 * (SDM Vol. 3 12.5, "#MF"), or signalled on FERR# with CR0.NE = 0. */
	x87_check_pending(cpu);
}

void simd_check_avx(struct cpu *cpu)
{
	if (!(cpu->cr4 & CR4_OSXSAVE) || (cpu->xcr0 & 6) != 6)
		cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
	if (cpu->cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERROR_CODE);
}

/* The alignment check of the aligned forms is on the linear address
 * (SDM Vol. 1 11.6.7: "#GP(0) ... not aligned on a 16-byte boundary"). */
static uint64_t simd_ea(struct cpu *cpu, const struct insn *i, unsigned bytes, bool align)
{
	uint64_t ea = insn_ea(cpu, i);
	if (align && ((cpu->segbase[i->seg] + ea) & (bytes - 1)))
		cpu_fault(cpu, EXC_GP, 0);
	return ea;
}

void simd_read_rm(struct cpu *cpu, const struct insn *i, void *buf, unsigned bytes, bool align)
{
	if (i->mod == 3) {
		memcpy(buf, vreg(cpu, i->rm), bytes);
		return;
	}
	uint64_t ea = simd_ea(cpu, i, bytes, align);
	switch (bytes) {
	case 4: { uint32_t v = mem_read32(cpu, i->seg, ea); memcpy(buf, &v, 4); break; }
	case 8: { uint64_t v = mem_read64(cpu, i->seg, ea); memcpy(buf, &v, 8); break; }
	default: mem_read_block(cpu, i->seg, ea, buf, bytes); break;
	}
}

void simd_write_rm(struct cpu *cpu, const struct insn *i, const void *buf, unsigned bytes, bool align)
{
	if (i->mod == 3) {
		memcpy(vreg(cpu, i->rm), buf, bytes);
		return;
	}
	uint64_t ea = simd_ea(cpu, i, bytes, align);
	switch (bytes) {
	case 4: { uint32_t v; memcpy(&v, buf, 4); mem_write32(cpu, i->seg, ea, v); break; }
	case 8: { uint64_t v; memcpy(&v, buf, 8); mem_write64(cpu, i->seg, ea, v); break; }
	default: mem_write_block(cpu, i->seg, ea, buf, bytes); break;
	}
}

/*
 * SDM Vol. 1 11.5.1: an unmasked exception leaves the destination alone,
 * sets its flag and invokes the handler. When an unmasked pre-computation
 * exception (IE, DE, ZE) occurs in any element, post-computation flags
 * (OE, UE, PE) are not reported (11.5.2.1).
 */
void simd_fp_exceptions(struct cpu *cpu, unsigned flags)
{
	flags &= 0x3f;
	if (!flags)
		return;
	unsigned unmasked = flags & ~(cpu->mxcsr >> MXCSR_MASK_SHIFT) & 0x3f;
	if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
		flags &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
	if (unmasked) {
		/* The flags are set before the handler runs; the fault
		 * unwinds, so this write must survive it. */
		cpu->mxcsr |= flags;
		cpu_fault(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD, NO_ERROR_CODE);
	}
	cpu->mxcsr |= flags;
}

/*
 * Floating point. The basic operations (+ - * / sqrt fma, int <-> float)
 * are computed by the host's IEEE 754 arithmetic, which is correctly
 * rounded in every rounding mode on a conforming host, under the guest's
 * MXCSR.RC; its exception flags give OE, UE, PE, ZE and IE. Everything
 * IEEE leaves to the implementation is done here by the x86 rules: DAZ,
 * DE, FTZ, NaN selection and the default NaN, tininess (x86 detects it
 * after rounding, as an x86 host does; hosts detecting before rounding
 * would differ for results within half an ulp of the smallest normal).
 * On x86 hosts the host MXCSR is loaded with exactly the guest's RC, all
 * exceptions masked and DAZ/FTZ off for each operation, so host settings
 * never leak in; elsewhere <fenv.h> sets the rounding mode. Operands and
 * results pass through volatile variables so the compiler cannot move
 * the arithmetic outside the begin/end pair.
 */
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
static inline uint32_t host_fp_begin(uint32_t mxcsr)
{
	uint32_t old, mode = 0x1f80 | (mxcsr & (3u << MXCSR_RC_SHIFT));
	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(old) : "m"(mode) : "memory");
	return old;
}
static inline unsigned host_fp_end(uint32_t old)
{
	uint32_t cur;
	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(cur) : "m"(old) : "memory");
	return cur & (MXCSR_IE | MXCSR_ZE | MXCSR_OE | MXCSR_UE | MXCSR_PE);
}
#else
static inline uint32_t host_fp_begin(uint32_t mxcsr)
{
	static const int modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
	uint32_t old = (uint32_t)fegetround();
	fesetround(modes[(mxcsr >> MXCSR_RC_SHIFT) & 3]);
	feclearexcept(FE_ALL_EXCEPT);
	return old;
}
static inline unsigned host_fp_end(uint32_t old)
{
	int e = fetestexcept(FE_ALL_EXCEPT);
	unsigned f = 0;
	if (e & FE_INVALID) f |= MXCSR_IE;
	if (e & FE_DIVBYZERO) f |= MXCSR_ZE;
	if (e & FE_OVERFLOW) f |= MXCSR_OE;
	if (e & FE_UNDERFLOW) f |= MXCSR_UE;
	if (e & FE_INEXACT) f |= MXCSR_PE;
	feclearexcept(FE_ALL_EXCEPT);
	fesetround((int)old);
	return f;
}
#endif

#define FT float
#define UT uint32_t
#define W 32
#define MB 23
#define EB 8
#include "simd_fp_tmpl.h"
#undef FT
#undef UT
#undef W
#undef MB
#undef EB

#define FT double
#define UT uint64_t
#define W 64
#define MB 52
#define EB 11
#include "simd_fp_tmpl.h"
#undef FT
#undef UT
#undef W
#undef MB
#undef EB

uint64_t sfp_cvt32to64(struct sfp *f, uint32_t a)
{
	a = daz_32(f, a);
	if (isnan_32(a)) {
		if (issnan_32(a))
			f->flags |= MXCSR_IE;
		return (uint64_t)(a >> 31) << 63 | 0x7ff8000000000000ull | (uint64_t)(a & 0x3fffff) << 29;
	}
	if (isdenorm_32(a))
		f->flags |= MXCSR_DE;
	return tou_64((double)tof_32(a));	/* exact */
}

uint32_t sfp_cvt64to32(struct sfp *f, uint64_t a)
{
	a = daz_64(f, a);
	if (isnan_64(a)) {
		if (issnan_64(a))
			f->flags |= MXCSR_IE;
		return (uint32_t)(a >> 63) << 31 | 0x7fc00000u | (uint32_t)((a >> 29) & 0x3fffff);
	}
	if (isdenorm_64(a))
		f->flags |= MXCSR_DE;
	volatile double va = tof_64(a);
	volatile float vr;
	uint32_t h = host_fp_begin(f->mxcsr);
	vr = (float)va;
	unsigned hf = host_fp_end(h);
	return post_32(f, tou_32(vr), hf);
}

/* Reciprocal approximations: computed precisely and rounded to single,
 * well inside the architectural error bound (SDM RCPPS/RSQRTPS). Real
 * CPUs return table-based values that differ in the low bits by vendor. */
uint32_t sfp_rcp32(uint32_t a)
{
	uint32_t sign = a & 0x80000000u;
	if (isnan_32(a))
		return a | 0x400000;
	if (!(a & 0x7f800000u))
		return sign | 0x7f800000u;	/* zero or denormal: infinity */
	if ((a & 0x7fffffffu) == 0x7f800000u)
		return sign;
	float r = (float)(1.0 / (double)tof_32(a));
	uint32_t u = tou_32(r);
	if (!(u & 0x7f800000u))
		u = sign;			/* tiny results flush to zero */
	return u;
}

uint32_t sfp_rsqrt32(uint32_t a)
{
	uint32_t sign = a & 0x80000000u;
	if (isnan_32(a))
		return a | 0x400000;
	if (!(a & 0x7f800000u))
		return sign | 0x7f800000u;
	if (sign)
		return 0xffc00000u;
	if (a == 0x7f800000u)
		return 0;
	return tou_32((float)(1.0 / sqrt((double)tof_32(a))));
}
