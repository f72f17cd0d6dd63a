/*
 * cpu.h - one virtual x86-64 processor.
 *
 * struct cpu holds the whole architectural state of one vCPU plus the
 * caches the fast paths use (mode fields, TLB, lazy flags). There are no
 * globals: a machine owns an array of these.
 *
 * Invariants every part of the CPU relies on:
 *  - cpu->rip is the address of the instruction being executed while its
 *    handler runs; cpu->next_rip is where execution continues. A fault
 *    unwinds (cpu_fault, longjmp) to the dispatch loop with rip unchanged,
 *    so handlers must not commit architectural state before their last
 *    possible fault (SDM Vol. 3 6.5: faults are restartable).
 *  - The mode fields (cpu->mode, cpu->cpl, cpu->code_size, cpu->mmu_idx,
 *    ...) are recomputed by cpu_update_mode() on every event that can
 *    change them (CR0/CR4/EFER writes, CS loads, EFLAGS.VM/AC changes),
 *    never re-derived per instruction.
 *  - Arithmetic flags may be lazy (see flags.h); cpu_get_rflags() is the
 *    only way to read the full register.
 */
#ifndef NESTEMU_CPU_H
#define NESTEMU_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct insn;
struct cpu_model;
struct block_cache;
struct virt_event;
struct cpu;
struct block;
struct lapic;

/* General-purpose registers; R_NONE indexes a slot that always reads 0. */
enum gpr {
	R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
	R_NONE = 16,
};

enum sreg { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NSEG };

/*
 * Segment register cache. attr uses the VMX guest access-rights layout
 * (SDM Vol. 3 24.4.1): type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14,
 * G 15, unusable 16. limit is the expanded byte limit (G applied).
 */
struct seg {
	uint64_t base;
	uint32_t limit;
	uint32_t attr;
	uint16_t sel;
};

#define AR_TYPE_MASK 0xfu
#define AR_S (1u << 4)
#define AR_DPL_SHIFT 5
#define AR_DPL(a) (((a) >> 5) & 3)
#define AR_P (1u << 7)
#define AR_AVL (1u << 12)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)

struct dtr {
	uint64_t base;
	uint32_t limit;
};

/* RFLAGS bits. */
#define FL_CF (1u << 0)
#define FL_FIXED1 (1u << 1)
#define FL_PF (1u << 2)
#define FL_AF (1u << 4)
#define FL_ZF (1u << 6)
#define FL_SF (1u << 7)
#define FL_TF (1u << 8)
#define FL_IF (1u << 9)
#define FL_DF (1u << 10)
#define FL_OF (1u << 11)
#define FL_IOPL (3u << 12)
#define FL_NT (1u << 14)
#define FL_RF (1u << 16)
#define FL_VM (1u << 17)
#define FL_AC (1u << 18)
#define FL_VIF (1u << 19)
#define FL_VIP (1u << 20)
#define FL_ID (1u << 21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* Control register bits. */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP (1u << 11)
#define CR4_LA57 (1u << 12)
#define CR4_VMXE (1u << 13)
#define CR4_SMXE (1u << 14)
#define CR4_FSGSBASE (1u << 16)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)
#define CR4_PKE (1u << 22)

#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)
#define EFER_SVME (1u << 12)
#define EFER_FFXSR (1u << 14)

/* Exception vectors (SDM Vol. 3 6.3.1). */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
	EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11,
	EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
	EXC_MC = 18, EXC_XM = 19, EXC_VE = 20, EXC_CP = 21,
};

/* #PF error code bits. */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)
#define PFEC_PK (1u << 5)

/* Operating mode, recomputed by cpu_update_mode(). */
enum cpu_mode {
	MODE_REAL,	/* CR0.PE = 0 */
	MODE_PROT,	/* protected, legacy (16- or 32-bit code per CS.D) */
	MODE_V86,	/* protected with EFLAGS.VM = 1 */
	MODE_COMPAT,	/* IA-32e, CS.L = 0 */
	MODE_LONG,	/* IA-32e, CS.L = 1: 64-bit mode */
};

/* Paging mode, recomputed by cpu_update_mode(). */
enum paging_mode { PG_OFF, PG_32, PG_PAE, PG_4LEVEL, PG_5LEVEL };

/*
 * TLB index spaces (mmu_idx): permission checks differ per space, so each
 * has its own array. SUPER_NOAC is supervisor with SMAP enforced;
 * SUPER is supervisor where user pages are accessible (no SMAP or AC=1);
 * USER_AC is CPL 3 with alignment checking on: its array is never filled,
 * so every access takes the slow path that checks alignment. DEBUG is
 * used while a data breakpoint is armed in DR7: never filled either, so
 * every data access reaches the slow path, which matches breakpoints
 * (cpu_debug_data); permissions always come from the access (mmu_acc_idx).
 */
enum { MMU_SUPER, MMU_SUPER_SMAP, MMU_USER, MMU_USER_AC, MMU_DEBUG, MMU_NIDX };

#define TLB_BITS 8
#define TLB_ENTRIES (1u << TLB_BITS)
/* The TLB slot of a linear address: the page number folded with the bits
 * above 1 MiB, so code, data and stack in different megabytes (0x100000,
 * 0x200000 ...) do not evict each other in this direct-mapped TLB. */
#define TLB_SLOT(lin) ((unsigned)(((lin) >> 12) ^ ((lin) >> 20)) & (TLB_ENTRIES - 1))

/*
 * One TLB entry: a linear page mapped to a host pointer. A tag equals the
 * page-aligned linear address when that kind of access may take the fast
 * path; TLB_INVALID (never page-aligned) otherwise (not cached, MMIO,
 * write to a page holding decoded code, ...).
 */
#define TLB_INVALID 1ull
struct tlb_entry {
	uint64_t tag_read;
	uint64_t tag_write;
	uint64_t tag_fetch;
	uintptr_t addend;	/* host pointer = linear + addend */
	uint64_t paddr;		/* guest-physical page */
	uint16_t pcid;		/* PCID tag when CR4.PCIDE */
	bool global;		/* G bit: survives CR3 writes */
};

#define JC_ENTRIES 1024

/* Pending-event kinds for the dispatch loop. */
#define PEND_INTR (1u << 0)	/* maskable interrupt line asserted */
#define PEND_NMI (1u << 1)
#define PEND_INIT (1u << 2)
#define PEND_SIPI (1u << 3)
#define PEND_SMI (1u << 4)
#define PEND_EXIT (1u << 5)	/* leave cpu_run (machine request) */

/* The MSRs the core keeps as plain fields. */
struct cpu_msrs {
	uint64_t star, lstar, cstar, sfmask;
	uint64_t kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc_aux;
	uint64_t apic_base;
	uint64_t pat;
	uint64_t misc_enable;
	uint64_t feature_control;
	uint64_t spec_ctrl;
	uint64_t mtrr_cap, mtrr_def_type;
	uint64_t mtrr_fixed[11];
	uint64_t mtrr_var[20];	/* base/mask pairs */
	uint64_t debugctl;
	uint64_t tsc_offset;	/* TSC = host-derived count + offset */
	uint64_t tsc_adjust;
	uint64_t mcg_status;
	uint64_t efer_hidden;	/* unused, keeps layout stable */
	/* Added by msr.c (system/MSR engineer). */
	uint64_t mc_bank[4][4];	/* MCi_CTL, MCi_STATUS, MCi_ADDR, MCi_MISC */
	uint64_t xss;		/* IA32_XSS */
	uint64_t tsc_deadline;	/* IA32_TSC_DEADLINE (used when no LAPIC hook) */
	uint64_t hwcr;		/* AMD HWCR */
	uint64_t vm_cr;		/* AMD VM_CR */
	uint64_t hsave_pa;	/* AMD VM_HSAVE_PA */
	uint64_t rng;		/* RDRAND/RDSEED xorshift state (not an MSR); 0 = unseeded */
};

/*
 * SIMD and x87 state. vreg is one 256-bit YMM register (its low 128 bits
 * are the XMM register); lanes are little-endian like the host.
 */
union vreg {
	uint8_t b[32];
	uint16_t w[16];
	uint32_t d[8];
	uint64_t q[4];
	float f[8];
	double dbl[4];
};

/* An x87 register in the 80-bit extended format: 64-bit significand with
 * explicit integer bit, sign in bit 15 of sexp, 15-bit biased exponent. */
struct f80 {
	uint64_t mant;
	uint16_t sexp;
};

struct fpu_state {
	struct f80 st[8];	/* physical registers R0-R7 (ST(i) = R[(TOP+i)&7]) */
	uint16_t fcw;		/* control word */
	uint16_t fsw;		/* status word; TOP in bits 13:11 */
	uint16_t ftw;		/* full tag word: 2 bits per physical register */
	uint16_t fop;		/* last instruction opcode (11 bits) */
	uint64_t fip, fdp;	/* last instruction / data pointer */
	uint16_t fcs, fds;
};

/* XSAVEOPT/XSAVES modified optimization (xsave.c): the state the last
 * XRSTOR/XRSTORS loaded and the linear address it came from. */
struct xsave_track {
	bool valid;
	uint8_t cpl;
	uint64_t lin;
	union vreg vr[16];
	struct fpu_state fpu;
	uint32_t mxcsr, pkru;
};

/* The lazy-flags record: see flags.h. */
struct lazy_flags {
	uint64_t res;
	uint64_t s1;
	uint64_t s2;
	uint32_t op;		/* LF_* kind << 2 | size index (0..3) */
};

/* Hook the virtualization layer installs (DESIGN.md "one question"). */
struct virt_ops {
	/* Returns true when the event was intercepted and the instruction
	 * or delivery must not proceed (a VM exit has been performed and
	 * cpu state now belongs to the host); typically it does not return
	 * at all but unwinds with cpu_unwind(). */
	bool (*intercept)(struct cpu *cpu, struct virt_event *ev);
};

struct cpu {
	/* Architectural state. */
	uint64_t regs[R_NONE + 1];	/* regs[R_NONE] is always 0 */
	uint64_t rip;
	uint64_t next_rip;
	uint64_t rflags;		/* non-arithmetic bits always valid */
	struct lazy_flags lf;
	struct seg seg[S_NSEG];
	uint64_t segbase[S_NSEG];	/* base used for addressing: 0 for ES/CS/SS/DS in 64-bit mode */
	struct seg ldtr, tr;
	struct dtr gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8, xcr0;
	uint64_t dr[8];
	uint64_t efer;
	struct cpu_msrs msr;
	uint32_t pkru;
	union vreg vr[16];		/* YMM0-15 (XMM = low half) */
	uint32_t mxcsr;
	struct fpu_state fpu;		/* x87; MMX registers alias st[i].mant */
	struct xsave_track xtrack;	/* XSAVEOPT modified tracking (xsave.c) */

	/* Mode cache (cpu_update_mode). */
	uint8_t mode;		/* enum cpu_mode */
	uint8_t cpl;
	uint8_t code_size;	/* 1 = 16-bit, 2 = 32-bit, 3 = 64-bit (as insn.asz) */
	uint8_t paging;		/* enum paging_mode */
	uint8_t mmu_idx;	/* current TLB space */
	uint8_t flat_r;		/* bit per sreg: reads need no limit/type check */
	uint8_t flat_w;		/* bit per sreg: writes need no limit/type check */
	uint8_t stack_size;	/* 1 = 16-bit SP, 2 = 32-bit ESP, 3 = 64-bit RSP */
	uint64_t lin_mask;	/* 0xffffffff outside 64-bit mode, ~0 in it */
	uint8_t slow_mode;	/* nonzero: single-step blocks (TF, DRx armed) */
	uint8_t db_hits;	/* data breakpoints hit by this instruction (DR6.B0-3) */
	bool mon_watch;		/* monitor watchpoints armed: forces MMU_DEBUG (cpu_debug_data reports to m->monitor_watch) */

	/* Execution state. */
	uint32_t pending;	/* PEND_* */
	uint32_t exit_request;	/* nonzero: leave the current block now */
	bool halted;
	bool irq_shadow;	/* STI / MOV SS shadow on the next instruction */
	bool nmi_blocked;
	bool sipi_wait;		/* after INIT: waiting for a SIPI */
	uint8_t sipi_vector;
	bool vmx_on;		/* in VMX operation (set by VMXON, cleared by VMXOFF) */
	uint64_t icount;	/* retired instructions */
	uint64_t extra_steps;	/* steps that retire nothing: REP chunks, faults delivered */
	uint64_t tsc_base;	/* see cpu_rdtsc() */

	/* Exception delivery bookkeeping. */
	int exc_nest;		/* 0 idle, 1 delivering, 2 delivering #DF */
	int exc_vector;		/* fault raised by cpu_fault, -1 none */
	uint32_t exc_error;	/* its error code, NO_ERROR_CODE if none */
	int exc_first;		/* vector whose delivery faulted (for #DF), -1 none */
	uint64_t fault_addr;	/* CR2 value for a pending #PF */

	/* Caches. */
	struct tlb_entry tlb[MMU_NIDX][TLB_ENTRIES];
	uint32_t tlb_epoch;	/* bumped by every TLB flush (tlb.c) */
	struct block_cache *bc;
	/* Jump cache: linear RIP -> block, valid while its stamp (block-cache
	 * generation << 32 | tlb_epoch) matches; see exec.c. */
	struct jc_entry {
		uint64_t lin;
		const struct block *b;
		uint64_t stamp;
		uint32_t key;		/* code_size | mmu_idx << 2 */
	} jc[JC_ENTRIES];

	/* Virtualization hook: NULL outside VMX non-root / SVM guest mode. */
	const struct virt_ops *virt;
	void *virt_state;

	/* Identity and wiring. */
	struct machine *m;
	const struct cpu_model *model;
	uint32_t features[8];	/* effective CPUID feature words (cpuid.h) */
	int id;
	uint32_t apic_id;
	struct lapic *lapic;	/* local APIC (emu/dev/lapic.c), NULL on a bare machine */

	/* The unwinding point of the dispatch loop (cpu_fault). */
	jmp_buf jmp;
	bool jmp_valid;
};

/* Lifecycle. */
int cpu_init(struct cpu *cpu, struct machine *m, int id, const struct cpu_model *model)
	__attribute__((warn_unused_result));
void cpu_destroy(struct cpu *cpu);
void cpu_reset(struct cpu *cpu);	/* power-on / RESET state (SDM 9.1.1) */
void cpu_init_signal(struct cpu *cpu);	/* INIT: like reset, keeps some MSRs */

/*
 * Runs until `budget` steps have executed, the CPU halts, or PEND_EXIT is
 * raised. A step is a retired instruction, one chunk of a REP string
 * instruction that is not finished yet, or a fault delivered (so a huge
 * REP, or a guest caught in a loop of faults, still returns to the caller
 * regularly). Returns the steps executed.
 */
uint64_t cpu_run(struct cpu *cpu, uint64_t budget);

/* Recomputes mode, CPL, code/stack size, paging mode, mmu_idx, lin_mask
 * and the flat_r/flat_w segment masks (call after any segment load too). */
void cpu_update_mode(struct cpu *cpu);

/*
 * The one fault mechanism: raise exception `vector` (with `error` when the
 * vector has an error code, ignored otherwise) for the current
 * instruction and unwind to the dispatch loop. For #PF use cpu_page_fault.
 */
#define NO_ERROR_CODE 0xffffffffu
_Noreturn void cpu_fault(struct cpu *cpu, unsigned vector, uint32_t error);
_Noreturn void cpu_page_fault(struct cpu *cpu, uint64_t linear, uint32_t error);
/* Unwind to the dispatch loop without an exception (state already set). */
_Noreturn void cpu_unwind(struct cpu *cpu);

/* Full RFLAGS (materializes lazy flags) and its setter. */
uint64_t cpu_get_rflags(struct cpu *cpu);
/* Sets RFLAGS bits in `mask` from `value`; recomputes the mode when VM/AC/IF change. */
void cpu_set_rflags(struct cpu *cpu, uint64_t value, uint64_t mask);

/* Data breakpoints: called by the MMU slow paths for every data access
 * while cpu->mmu_idx == MMU_DEBUG; records hits for a #DB trap after the
 * instruction (SDM Vol. 3 17.3.1.2). */
void cpu_debug_data(struct cpu *cpu, uint64_t linear, unsigned size, unsigned acc);
/* I/O breakpoints (DR7 R/W = 10b with CR4.DE): the same for port accesses. */
void cpu_debug_io(struct cpu *cpu, uint16_t port, unsigned size);

/* Signals from devices (thread-unsafe; call between cpu_run slices). */
void cpu_set_irq_line(struct cpu *cpu, bool level);

#endif
