/*
 * test_system.c - system instructions: MOV to/from CR and DR with every
 * #GP/#UD rule, paging-mode transitions (enabling and leaving long mode,
 * PAE PDPTE checks), TLB flushes by MOV CR3 and INVLPG, CPL checks, the
 * PUSHF/POPF bit rules in real/protected/v86/64-bit modes, CLI/STI (IOPL,
 * VME), SYSCALL/SYSRET and SYSENTER/SYSEXIT round trips, SWAPGS,
 * XSETBV/XGETBV, RDPKRU/WRPKRU, RD/WR FS/GS BASE, LMSW/SMSW/CLTS, HLT,
 * RDRAND/RDSEED, FWAIT, UD2/RSM, CLFLUSH, MONITOR/MWAIT, INVPCID.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/msr.h"
#include "emu/cpu/system.h"

TestSuite(system);

#define GP 13
#define UD 6

/* Puts the CPU at CPL 3 with flat user segments (GDT 0x30/0x38/0x40). */
static void to_user(struct th *t)
{
	struct cpu *c = t->cpu;
	bool l = t->mode == TH_LONG64;
	c->seg[S_CS] = (struct seg){ .sel = l ? 0x43 : 0x33, .limit = 0xffffffffu,
				     .attr = l ? 0xa0fbu : 0xc0fbu };
	c->seg[S_SS] = (struct seg){ .sel = 0x3b, .limit = 0xffffffffu, .attr = 0xc0f3u };
	cpu_update_mode(c);
	cr_assert_eq(c->cpl, 3);
}

static void add_feature(struct th *t, unsigned f)
{
	t->cpu->features[f / 32] |= 1u << (f % 32);
}

static struct th *asm_th(enum th_mode m, const char *src)
{
	struct th *t = th_new(m);
	th_asm(t, src);
	return t;
}

/* The run ended at the final HLT without a fault (CPL 0). */
static void expect_done(struct th *t)
{
	cr_assert_eq(t->exc_vector, -1, "unexpected exception %d (error %#x) at %#llx", t->exc_vector,
		     t->exc_error, (unsigned long long)t->cpu->rip);
	cr_assert(t->cpu->halted);
}

static void expect_fault(struct th *t, int vec, uint64_t rip)
{
	cr_assert_eq(t->exc_vector, vec, "expected vector %d, got %d at %#llx", vec, t->exc_vector,
		     (unsigned long long)t->cpu->rip);
	if (vec == GP)
		cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->rip, rip, "fault RIP %#llx, expected %#llx",
		     (unsigned long long)t->cpu->rip, (unsigned long long)rip);
}

/* ---- Control registers ---- */

struct cr_case {
	enum th_mode mode;
	const char *src;
	uint64_t rax;		/* value written; ~0 = use the setup below */
	int which;		/* RAX = CRn | rax (1), CRn & ~rax (2), rax (0) */
	unsigned crn;
	uint64_t cr3_or;	/* extra bits placed in CR3 before the write */
	int vec;		/* expected vector, -1 none */
};

static uint64_t crn(struct cpu *c, unsigned n)
{
	return n == 0 ? c->cr0 : n == 3 ? c->cr3 : n == 4 ? c->cr4 : c->cr8;
}

Test(system, cr_write_rules)
{
	static const struct cr_case cases[] = {
		{ TH_PROT32, "mov cr0, eax", 0x80000000u, 0, 0, 0, GP },	/* PG without PE */
		{ TH_PROT32, "mov cr0, eax", CR0_NW, 1, 0, 0, GP },		/* NW without CD */
		{ TH_PROT32, "mov cr0, eax", 1u << 20, 1, 0, 0, -1 },		/* reserved: ignored */
		{ TH_PROT32, "mov cr4, eax", CR4_VMXE, 1, 4, 0, GP },		/* no VMX in the model */
		{ TH_PROT32, "mov cr4, eax", CR4_SMXE, 1, 4, 0, GP },
		{ TH_PROT32, "mov cr4, eax", 1u << 23, 1, 4, 0, GP },
		{ TH_PROT32, "mov cr4, eax", CR4_LA57, 1, 4, 0, GP },		/* skylake has no LA57 */
		{ TH_PROT32, "mov cr4, eax", CR4_UMIP, 1, 4, 0, GP },		/* nor UMIP */
		{ TH_PROT32, "mov cr4, eax", CR4_PCIDE, 1, 4, 0, GP },	/* PCIDE outside IA-32e */
		{ TH_PROT32, "mov cr4, eax", CR4_SMEP | CR4_SMAP | CR4_FSGSBASE | CR4_PGE, 1, 4, 0, -1 },
		{ TH_LONG64, "mov cr0, rax", 1ull << 32, 1, 0, 0, GP },
		{ TH_LONG64, "mov cr0, rax", CR0_PG, 2, 0, 0, GP },		/* leave paging in 64-bit mode */
		{ TH_LONG64, "mov cr4, rax", CR4_PAE, 2, 4, 0, GP },		/* PAE off with LMA */
		{ TH_LONG64, "mov cr4, rax", CR4_PCIDE, 1, 4, 0, -1 },
		{ TH_LONG64, "mov cr4, rax", CR4_PCIDE, 1, 4, 5, GP },	/* CR3[11:0] != 0 */
		{ TH_LONG64, "mov cr4, rax", 1ull << 32, 1, 4, 0, GP },
		{ TH_LONG64, "mov cr3, rax", 1ull << 46, 1, 3, 0, GP },	/* beyond MAXPHYADDR */
		{ TH_LONG64, "mov cr3, rax", 0x13000, 0, 3, 0, -1 },
		{ TH_LONG64, "mov cr3, rax", 1ull << 63, 1, 3, 0, GP },	/* bit 63 without PCIDE */
		{ TH_LONG64, "mov cr8, rax", 0x10, 0, 8, 0, GP },
		{ TH_LONG64, "mov cr8, rax", 0xf, 0, 8, 0, -1 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct cr_case *cs = &cases[k];
		struct th *t = asm_th(cs->mode, cs->src);
		struct cpu *c = t->cpu;
		c->cr3 |= cs->cr3_or;
		uint64_t before = crn(c, cs->crn);
		uint64_t v = cs->which == 1 ? before | cs->rax : cs->which == 2 ? before & ~cs->rax : cs->rax;
		c->regs[R_AX] = v;
		th_run(t);
		if (cs->vec >= 0) {
			expect_fault(t, cs->vec, TH_CODE);
			cr_assert_eq(crn(c, cs->crn), before, "case %u: CR%u changed on a fault", k, cs->crn);
		} else {
			expect_done(t);
			uint64_t want = cs->crn == 0 ? ((v & ~(uint64_t)(1u << 20)) | CR0_ET) : v;
			cr_assert_eq(crn(c, cs->crn), want, "case %u: CR%u = %#llx, want %#llx", k, cs->crn,
				     (unsigned long long)crn(c, cs->crn), (unsigned long long)want);
		}
		th_free(t);
	}
}

Test(system, cr_invalid_numbers_ud)
{
	/* mov cr1/cr5/cr7, eax and mov eax, cr6 (0F 22/20 with reg 1, 5, 7, 6). */
	static const uint8_t codes[][3] = {
		{ 0x0f, 0x22, 0xc8 }, { 0x0f, 0x22, 0xe8 }, { 0x0f, 0x22, 0xf8 }, { 0x0f, 0x20, 0xf0 },
	};
	for (unsigned k = 0; k < 4; k++) {
		struct th *t = th_new(TH_PROT32);
		th_code(t, codes[k], 3);
		th_run(t);
		expect_fault(t, UD, TH_CODE);
		th_free(t);
	}
	/* REX.R selects CR9 in 64-bit mode: #UD. */
	struct th *t = asm_th(TH_LONG64, "db 0x44, 0x0f, 0x20, 0xc8");
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);
}

Test(system, cr_reads_and_cr2_cr8)
{
	struct th *t = asm_th(TH_LONG64,
			      "mov rax, 0x123456789abc\n mov cr2, rax\n mov rbx, cr2\n"
			      "mov eax, 9\n mov cr8, rax\n mov rcx, cr8\n mov rdx, cr0\n mov rsi, cr4\n mov rdi, cr3");
	th_run(t);
	expect_done(t);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->regs[R_BX], 0x123456789abcull);
	cr_assert_eq(c->regs[R_CX], 9);
	cr_assert_eq(c->cr8, 9);
	cr_assert_eq(c->regs[R_DX], c->cr0);
	cr_assert_eq(c->regs[R_SI], c->cr4);
	cr_assert_eq(c->regs[R_DI], c->cr3);
	th_free(t);
}

Test(system, enable_long_mode_from_prot32)
{
	struct th *t = asm_th(TH_PROT32,
			      "mov eax, cr4\n or eax, 0x20\n mov cr4, eax\n"
			      "mov eax, 0x13000\n mov cr3, eax\n"
			      "mov ecx, 0xc0000080\n rdmsr\n or eax, 0x100\n wrmsr\n"
			      "mov eax, cr0\n or eax, 0x80000000\n mov cr0, eax\n nop");
	struct cpu *c = t->cpu;
	c->efer = 0;
	cpu_update_mode(c);
	th_run(t);
	expect_done(t);
	cr_assert(c->efer & EFER_LMA);
	cr_assert(c->efer & EFER_LME);
	cr_assert_eq(c->mode, MODE_COMPAT);
	cr_assert_eq(c->paging, PG_4LEVEL);
	th_free(t);
}

Test(system, long_mode_needs_pae)
{
	struct th *t = asm_th(TH_PROT32,
			      "mov eax, 0x13000\n mov cr3, eax\n"
			      "mov ecx, 0xc0000080\n rdmsr\n or eax, 0x100\n wrmsr\n"
			      "mov eax, cr0\n or eax, 0x80000000\n mov cr0, eax\n nop");
	struct cpu *c = t->cpu;
	c->efer = 0;
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(c->efer & EFER_LMA, 0);
	cr_assert_eq(c->cr0 & CR0_PG, 0);
	cr_assert_eq(c->mode, MODE_PROT);
	th_free(t);
}

Test(system, lme_change_with_paging_gp)
{
	struct th *t = asm_th(TH_PROT32PG, "mov ecx, 0xc0000080\n rdmsr\n or eax, 0x100\n wrmsr");
	struct cpu *c = t->cpu;
	uint64_t efer = c->efer;
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(c->efer, efer);
	th_free(t);
}

Test(system, leave_long_mode_from_compat)
{
	struct th *t = asm_th(TH_COMPAT, "mov eax, cr0\n and eax, 0x7fffffff\n mov cr0, eax\n nop");
	struct cpu *c = t->cpu;
	cr_assert_eq(c->mode, MODE_COMPAT);
	th_run(t);
	expect_done(t);
	cr_assert_eq(c->efer & EFER_LMA, 0);
	cr_assert(c->efer & EFER_LME);
	cr_assert_eq(c->mode, MODE_PROT);
	cr_assert_eq(c->paging, PG_OFF);
	th_free(t);
}

Test(system, pae_pdpte_reserved_bits_gp)
{
	/* Enabling PAE paging with a PDPTE that sets reserved bit 1. */
	struct th *t = asm_th(TH_PROT32,
			      "mov eax, cr4\n or eax, 0x20\n mov cr4, eax\n mov eax, 0x11000\n mov cr3, eax\n"
			      "mov eax, cr0\n or eax, 0x80000000\n mov cr0, eax\n nop");
	th_write(t, 0x11008, 0x12000 | 3, 8);
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(t->cpu->cr0 & CR0_PG, 0);
	th_free(t);

	/* MOV CR3 in PAE mode checks the new PDPTEs; a clean table passes. */
	t = asm_th(TH_PAE32, "mov eax, 0x30000\n mov cr3, eax\n nop");
	th_write(t, 0x30000, 0x12000 | 1, 8);
	th_write(t, 0x30010, 0x12000 | 1 | (1ull << 5), 8);
	uint64_t cr3 = t->cpu->cr3;
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(t->cpu->cr3, cr3);
	th_free(t);

	t = asm_th(TH_PAE32, "mov eax, 0x30000\n mov cr3, eax\n nop");
	th_write(t, 0x30000, 0x12000 | 1, 8);
	th_run(t);
	expect_done(t);
	cr_assert_eq(t->cpu->cr3, 0x30000);
	th_free(t);
}

/* Remaps the 2 MiB page at 4 MiB to physical 6 MiB behind the TLB's back,
 * then runs `flush` and reads the page again. */
static uint32_t remap_and_read(enum th_mode m, const char *flush, bool global, uint32_t extra_cr4)
{
	char src[512];
	snprintf(src, sizeof(src),
		 "mov eax, [0x40a000]\n"
		 "mov dword [0x%x], 0x%x\n"
		 "%s\n"
		 "mov ebx, [0x40a000]",
		 0x15000 + 8 * 2, 0x600000 | 0x87 | (global ? 0x100 : 0), flush);
	struct th *t = asm_th(m, src);
	th_write(t, 0x40a000, 0xaaaa, 4);	/* TLB_SLOT 0x0e: no alias with code or stack */
	th_write(t, 0x60a000, 0xbbbb, 4);
	if (global)
		th_write(t, 0x15000 + 8 * 2, 0x400000 | 0x87 | 0x100, 8);
	t->cpu->cr4 |= CR4_PGE | extra_cr4;
	t->cpu->regs[R_DX] = t->cpu->cr3;
	t->cpu->regs[R_SI] = t->cpu->cr4;
	th_run(t);
	expect_done(t);
	cr_assert_eq(t->cpu->regs[R_AX], 0xaaaa, "%s: first read %#llx", flush, (unsigned long long)t->cpu->regs[R_AX]);
	uint32_t v = (uint32_t)t->cpu->regs[R_BX];
	th_free(t);
	return v;
}

Test(system, tlb_flushes)
{
	/* MOV CR3 flushes non-global translations. */
	cr_assert_eq(remap_and_read(TH_LONG64, "mov cr3, rdx", false, 0), 0xbbbb);
	/* INVLPG flushes the page. */
	cr_assert_eq(remap_and_read(TH_LONG64, "invlpg [0x40a000]", false, 0), 0xbbbb);
	/* A global page survives MOV CR3 ... */
	cr_assert_eq(remap_and_read(TH_LONG64, "mov cr3, rdx", true, 0), 0xaaaa);
	/* ... but not a CR4.PGE toggle. */
	cr_assert_eq(remap_and_read(TH_LONG64, "mov rcx, rsi\n and rcx, ~0x80\n mov cr4, rcx\n mov cr4, rsi",
				    true, 0), 0xbbbb);
	/* With CR4.PCIDE, bit 63 of the new CR3 keeps the TLB. */
	cr_assert_eq(remap_and_read(TH_LONG64, "bts rdx, 63\n mov cr3, rdx", false, CR4_PCIDE), 0xaaaa);
	cr_assert_eq(remap_and_read(TH_LONG64, "mov cr3, rdx", false, CR4_PCIDE), 0xbbbb);
}

Test(system, cr3_pcide_bit63_not_stored)
{
	struct th *t = asm_th(TH_LONG64, "mov rax, cr3\n bts rax, 63\n mov cr3, rax\n mov rbx, cr3");
	t->cpu->cr4 |= CR4_PCIDE;
	th_run(t);
	expect_done(t);
	cr_assert_eq(t->cpu->regs[R_BX], 0x13000);
	th_free(t);
}

/* ---- Debug registers ---- */

Test(system, debug_registers)
{
	struct th *t = asm_th(TH_LONG64,
			      "mov eax, 0xf\n mov dr6, rax\n mov rbx, dr6\n"
			      "mov rax, 0x12345678abcd\n mov dr1, rax\n mov rcx, dr1\n"
			      "mov eax, 0xd100\n mov dr7, rax\n mov rdx, dr7\n"
			      "db 0x0f, 0x23, 0xe0\n"	/* mov dr4, rax: alias of DR6 */
			      "db 0x0f, 0x21, 0xee\n");	/* mov rsi, dr5: alias of DR7 */
	th_run(t);
	expect_done(t);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->regs[R_BX], 0xffff0fffull);
	cr_assert_eq(c->regs[R_CX], 0x12345678abcdull);
	cr_assert_eq(c->regs[R_DX], 0x500);		/* 15, 14, 12 clear; 10 set */
	cr_assert_eq(c->dr[6], 0xffffcff0ull);		/* DR4 wrote DR6 (BS, BT kept) */
	cr_assert_eq(c->regs[R_SI], 0x500);
	th_free(t);
}

Test(system, dr_faults)
{
	/* Upper half of DR6/DR7 in 64-bit mode. */
	struct th *t = asm_th(TH_LONG64, "mov dr7, rax");
	t->cpu->regs[R_AX] = 1ull << 32;
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	cr_assert_eq(t->cpu->dr[7], 0x400);
	th_free(t);

	/* DR4 with CR4.DE: #UD. */
	t = asm_th(TH_LONG64, "db 0x0f, 0x21, 0xe0");
	t->cpu->cr4 |= CR4_DE;
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);

	/* DR8 (REX.R): #UD. */
	t = asm_th(TH_LONG64, "db 0x44, 0x0f, 0x21, 0xc0");
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);

	/* General detect: the next DR access is a #DB fault with DR6.BD, GD cleared. */
	t = asm_th(TH_LONG64, "mov dr7, rax\n mov rbx, dr0");
	t->cpu->regs[R_AX] = 0x2000;
	t->cpu->regs[R_BX] = 0x55;
	th_run(t);
	expect_fault(t, 1, TH_CODE + 3);
	cr_assert(t->cpu->dr[6] & (1u << 13));
	cr_assert_eq(t->cpu->dr[7] & 0x2000, 0);
	cr_assert_eq(t->cpu->regs[R_BX], 0x55);
	th_free(t);
}

/* ---- Privilege checks ---- */

struct cpl_case {
	const char *src;
	int vec;
	uint32_t cr4_or;
	unsigned feat;		/* extra feature to turn on, FEAT_NONE if none */
};

Test(system, cpl3_faults)
{
	static const struct cpl_case cases[] = {
		{ "mov rax, cr0", GP, 0, FEAT_NONE }, { "mov cr0, rax", GP, 0, FEAT_NONE },
		{ "mov rax, cr8", GP, 0, FEAT_NONE }, { "mov cr3, rax", GP, 0, FEAT_NONE },
		{ "mov rax, dr0", GP, 0, FEAT_NONE }, { "mov dr7, rax", GP, 0, FEAT_NONE },
		{ "clts", GP, 0, FEAT_NONE }, { "lmsw ax", GP, 0, FEAT_NONE },
		{ "invlpg [rax]", GP, 0, FEAT_NONE }, { "hlt", GP, 0, FEAT_NONE },
		{ "wbinvd", GP, 0, FEAT_NONE }, { "invd", GP, 0, FEAT_NONE },
		{ "rdmsr", GP, 0, FEAT_NONE }, { "wrmsr", GP, 0, FEAT_NONE },
		{ "swapgs", GP, 0, FEAT_NONE }, { "o64 sysret", GP, 0, FEAT_NONE },
		{ "sysexit", GP, 0, FEAT_NONE },
		{ "stac", UD, 0, FEAT_NONE }, { "clac", UD, 0, FEAT_NONE },
		{ "rdpmc", GP, 0, FEAT_NONE }, { "cli", GP, 0, FEAT_NONE }, { "sti", GP, 0, FEAT_NONE },
		{ "invpcid rax, [rbx]", GP, 0, FEAT_NONE },
		{ "xsetbv", GP, CR4_OSXSAVE, FEAT_NONE },
		{ "rdtsc", GP, CR4_TSD, FEAT_NONE }, { "rdtscp", GP, CR4_TSD, FEAT_NONE },
		{ "smsw eax", GP, CR4_UMIP, FEAT_UMIP },
		{ "monitor", UD, 0, FEAT_MONITOR }, { "mwait", UD, 0, FEAT_MONITOR },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct cpl_case *cs = &cases[k];
		struct th *t = th_new(TH_LONG64);
		if (cs->feat != FEAT_NONE)
			add_feature(t, cs->feat);
		th_asm(t, cs->src);
		t->cpu->cr4 |= cs->cr4_or;
		t->cpu->regs[R_AX] = TH_DATA;
		t->cpu->regs[R_BX] = TH_DATA;
		t->cpu->regs[R_CX] = 0;
		t->cpu->msr.sysenter_cs = 0x8;
		uint64_t cr0 = t->cpu->cr0, rax = t->cpu->regs[R_AX];
		to_user(t);
		th_run(t);
		cr_assert_eq(t->exc_vector, cs->vec, "%s: vector %d, want %d", cs->src, t->exc_vector, cs->vec);
		cr_assert_eq(t->cpu->rip, TH_CODE, "%s", cs->src);
		cr_assert_eq(t->cpu->cr0, cr0, "%s", cs->src);
		cr_assert_eq(t->cpu->regs[R_AX], rax, "%s", cs->src);
		cr_assert_eq(t->cpu->cpl, 3, "%s", cs->src);
		th_free(t);
	}
}

Test(system, cpl3_allowed)
{
	/* RDTSC without TSD, RDPMC with PCE, SMSW without UMIP, PAUSE, CPUID. */
	struct th *t = asm_th(TH_LONG64, "rdtsc\n xor ecx, ecx\n rdpmc\n smsw ebx\n pause\n cpuid\n nop");
	t->cpu->cr4 |= CR4_PCE;
	to_user(t);
	th_run(t);
	/* Ends at the final HLT, which is #GP at CPL 3. */
	expect_fault(t, GP, TH_CODE + t->code_len);
	th_free(t);
}

/* ---- PUSHF / POPF ---- */

struct popf_case {
	enum th_mode mode;
	bool user;
	unsigned iopl;
	const char *src;	/* leaves the result in EBX/RBX */
	uint64_t expect;
};

Test(system, popf_bit_rules)
{
	/* P has every flag but TF (and IOPL = 3); P2 the same with IOPL = 0. */
	static const struct popf_case cases[] = {
		{ TH_PROT32, false, 0, "push 0x003ffefd\n popfd\n pushfd\n pop ebx", 0x247ed7 },
		{ TH_PROT32, false, 0, "push 0x003fcefd\n popfd\n pushfd\n pop ebx", 0x244ed7 },
		{ TH_PROT32, true, 0, "push 0x003ffefd\n popfd\n pushfd\n pop ebx", 0x244cd7 },
		{ TH_PROT32, true, 3, "push 0x003fcefd\n popfd\n pushfd\n pop ebx", 0x247ed7 },
		{ TH_PROT32, false, 0, "push word 0x08d5\n popfw\n pushfd\n pop ebx", 0x408d7 },
		{ TH_REAL, false, 0, "push dword 0x003ffefd\n popfd\n pushfd\n pop ebx", 0x247ed7 },
		{ TH_LONG64, false, 0, "push 0x003ffefd\n popfq\n pushfq\n pop rbx", 0x247ed7 },
		{ TH_LONG64, true, 0, "push 0x003ffefd\n popfq\n pushfq\n pop rbx", 0x244cd7 },
		{ TH_LONG64, false, 0, "mov rcx, rsp\n pushfq\n sub rcx, rsp\n mov rbx, rcx\n popfq", 8 },
		{ TH_LONG64, false, 0, "mov rcx, rsp\n pushfw\n sub rcx, rsp\n mov rbx, rcx\n popfw", 2 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct popf_case *cs = &cases[k];
		struct th *t = asm_th(cs->mode, cs->src);
		struct cpu *c = t->cpu;
		if (strstr(cs->src, "popfw\n pushfd"))
			c->rflags |= FL_AC;
		c->rflags |= (uint64_t)cs->iopl << 12;
		if (cs->user)
			to_user(t);
		th_run(t);
		if (cs->user)
			cr_assert_eq(t->exc_vector, GP, "case %u", k);	/* the final HLT */
		else
			expect_done(t);
		cr_assert_eq(c->regs[R_BX], cs->expect, "case %u: %#llx, want %#llx", k,
			     (unsigned long long)c->regs[R_BX], (unsigned long long)cs->expect);
		cr_assert_eq(c->rflags & (FL_VM | FL_RF | FL_VIF | FL_VIP), 0, "case %u", k);
		th_free(t);
	}
}

/* A v86-mode machine running `code` at 0xffff:0x0010 (= TH_CODE). */
static struct th *v86_th(const uint8_t *code, size_t len, uint64_t flags, uint32_t cr4)
{
	struct th *t = th_new(TH_PROT32);
	th_code(t, code, len);
	struct cpu *c = t->cpu;
	for (int s = 0; s < S_NSEG; s++)
		c->seg[s] = (struct seg){ .sel = 0, .base = 0, .limit = 0xffff, .attr = 0xf3 };
	c->seg[S_CS] = (struct seg){ .sel = 0xffff, .base = 0xffff0, .limit = 0xffff, .attr = 0xf3 };
	c->seg[S_SS] = (struct seg){ .sel = 0x7000, .base = 0x70000, .limit = 0xffff, .attr = 0xf3 };
	c->regs[R_SP] = 0x1000;
	c->rip = 0x10;
	c->cr4 |= cr4;
	c->rflags = FL_FIXED1 | FL_VM | flags;
	cpu_update_mode(c);
	cr_assert_eq(c->mode, MODE_V86);
	return t;
}

Test(system, v86_flags)
{
	static const uint8_t pushf[] = { 0x9c };
	static const uint8_t popf_if[] = { 0x68, 0x00, 0x02, 0x9d };	/* push 0x200; popf */
	static const uint8_t popf_tf[] = { 0x68, 0x00, 0x01, 0x9d };	/* push 0x100; popf */
	static const uint8_t popf_iopl[] = { 0x68, 0xd5, 0x08, 0x9d };	/* push 0x08d5; popf */
	static const uint8_t cli[] = { 0xfa }, sti[] = { 0xfb };

	/* IOPL < 3 without VME: PUSHF/POPF/CLI/STI are #GP(0). */
	const uint8_t *gp_codes[] = { pushf, popf_if, cli, sti };
	const size_t gp_lens[] = { 1, 4, 1, 1 };
	for (unsigned k = 0; k < 4; k++) {
		struct th *t = v86_th(gp_codes[k], gp_lens[k], 0, 0);
		th_run(t);
		cr_assert_eq(t->exc_vector, GP, "code %u", k);
		cr_assert_eq(t->cpu->rip, gp_lens[k] == 4 ? 0x13 : 0x10, "code %u", k);
		th_free(t);
	}

	/* VME: PUSHF stores VIF as IF and IOPL = 3. */
	struct th *t = v86_th(pushf, 1, FL_VIF, CR4_VME);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x11);	/* stopped at the HLT (#GP) */
	uint16_t img = (uint16_t)th_read(t, 0x70000 + 0xffe, 2);
	cr_assert_eq(img & (FL_IF | FL_IOPL), FL_IF | FL_IOPL);
	th_free(t);

	/* VME: POPF moves the popped IF into VIF, leaving IF alone. */
	t = v86_th(popf_if, 4, 0, CR4_VME);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x14);
	cr_assert(t->cpu->rflags & FL_VIF);
	cr_assert_eq(t->cpu->rflags & FL_IF, 0);
	th_free(t);

	/* VME: POPF with TF set, or with IF set while VIP is pending: #GP. */
	t = v86_th(popf_tf, 4, 0, CR4_VME);
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(t->cpu->rip, 0x13);
	th_free(t);
	t = v86_th(popf_if, 4, FL_VIP, CR4_VME);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x13);
	cr_assert_eq(t->cpu->rflags & FL_VIF, 0);
	th_free(t);

	/* VME: CLI clears VIF; STI with VIP is #GP. */
	t = v86_th(cli, 1, FL_VIF | FL_IF, CR4_VME);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x11);
	cr_assert_eq(t->cpu->rflags & (FL_VIF | FL_IF), FL_IF);
	th_free(t);
	t = v86_th(sti, 1, FL_VIP, CR4_VME);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x10);
	cr_assert_eq(t->exc_vector, GP);
	th_free(t);

	/* IOPL 3: POPF changes IF but not IOPL; CLI clears IF. */
	t = v86_th(popf_iopl, 4, FL_IOPL | FL_IF, 0);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x14);
	cr_assert_eq(cpu_get_rflags(t->cpu) & 0xffff, 0x38d7);
	th_free(t);
	t = v86_th(cli, 1, FL_IOPL | FL_IF, 0);
	th_run(t);
	cr_assert_eq(t->cpu->rip, 0x11);
	cr_assert_eq(t->cpu->rflags & FL_IF, 0);
	th_free(t);
}

/* ---- CLI / STI ---- */

Test(system, cli_sti)
{
	struct th *t = asm_th(TH_PROT32, "sti\n nop\n cli\n nop");
	th_run_n(t, 1);
	cr_assert(t->cpu->rflags & FL_IF);
	cr_assert(t->cpu->irq_shadow, "STI setting IF starts an interrupt shadow");
	th_run_n(t, 2);
	cr_assert_eq(t->cpu->rflags & FL_IF, 0);
	th_free(t);

	/* STI with IF already set: no shadow. */
	t = asm_th(TH_PROT32, "sti");
	t->cpu->rflags |= FL_IF;
	th_run_n(t, 1);
	cr_assert_not(t->cpu->irq_shadow);
	th_free(t);

	/* CPL 3 with IOPL 3 may; with PVI and IOPL 0, CLI clears VIF. */
	t = asm_th(TH_PROT32, "cli");
	t->cpu->rflags |= FL_IOPL | FL_IF;
	to_user(t);
	th_run_n(t, 1);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rflags & FL_IF, 0);
	th_free(t);

	t = asm_th(TH_PROT32, "cli");
	t->cpu->features[FW_1_EDX] |= 1u << 1;	/* VME (PVI) */
	t->cpu->cr4 |= CR4_PVI;
	t->cpu->rflags |= FL_IF | FL_VIF;
	to_user(t);
	th_run_n(t, 1);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rflags & (FL_IF | FL_VIF), FL_IF);
	th_free(t);
}

/* ---- SYSCALL / SYSRET ---- */

static const char syscall_src[] =
	"mov ecx, 0xc0000081\n mov edx, 0x00300018\n xor eax, eax\n wrmsr\n"
	"mov ecx, 0xc0000082\n lea rax, [rel kentry]\n mov rdx, rax\n shr rdx, 32\n wrmsr\n"
	"mov ecx, 0xc0000084\n mov eax, 0x200\n xor edx, edx\n wrmsr\n"
	"lea rcx, [rel user]\n mov r11, 0x202\n"
	"o64 sysret\n"
	"user:\n mov ebx, 1\n syscall\n after:\n"
	"kentry:\n mov esi, 2\n lea rdi, [rel after]\n";

Test(system, syscall_sysret_round_trip)
{
	struct th *t = asm_th(TH_LONG64, syscall_src);
	struct cpu *c = t->cpu;
	th_run_n(t, 16);	/* up to and including SYSRET */
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(c->cpl, 3);
	cr_assert_eq(c->seg[S_CS].sel, 0x43);
	cr_assert_eq(c->seg[S_SS].sel, 0x3b);
	cr_assert_eq(c->mode, MODE_LONG);
	cr_assert(c->rflags & FL_IF);
	th_run(t);
	expect_done(t);
	cr_assert_eq(c->cpl, 0);
	cr_assert_eq(c->seg[S_CS].sel, 0x18);
	cr_assert_eq(c->seg[S_SS].sel, 0x20);
	cr_assert_eq(c->regs[R_BX], 1);
	cr_assert_eq(c->regs[R_SI], 2);
	cr_assert_eq(c->regs[R_CX], c->regs[R_DI], "RCX holds the return address");
	cr_assert_eq(c->regs[R_R11] & 0x3fffff, 0x202);
	cr_assert_eq(c->rflags & FL_IF, 0, "SFMASK cleared IF");
	th_free(t);
}

Test(system, sysret_faults)
{
	/* Non-canonical RCX: #GP(0) at CPL 0, nothing loaded. */
	struct th *t = asm_th(TH_LONG64, "o64 sysret");
	t->cpu->regs[R_CX] = 0x0000800000000000ull;
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	cr_assert_eq(t->cpu->cpl, 0);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0x18);
	th_free(t);

	/* SCE = 0: SYSCALL and SYSRET are #UD. */
	t = asm_th(TH_LONG64, "syscall");
	t->cpu->efer &= ~(uint64_t)EFER_SCE;
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);

	/* Intel: SYSCALL outside 64-bit mode is #UD. */
	t = asm_th(TH_COMPAT, "syscall");
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);

	/* 32-bit SYSRET returns to compatibility mode at ECX. */
	t = asm_th(TH_LONG64, "sysret");
	t->cpu->msr.star = 0x0030001800000000ull;
	t->cpu->regs[R_CX] = 0xffffffff00200000ull;
	t->cpu->regs[R_R11] = 0x2;
	th_run_n(t, 1);
	cr_assert_eq(t->cpu->rip, 0x200000);
	cr_assert_eq(t->cpu->mode, MODE_COMPAT);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0x33);
	cr_assert_eq(t->cpu->cpl, 3);
	th_free(t);
}

Test(system, amd_legacy_syscall)
{
	struct th *t = asm_th(TH_PROT32, "syscall");
	struct cpu *c = t->cpu;
	c->model = cpu_model_find("zen2");
	memcpy(c->features, c->model->features, sizeof(c->model->features));
	th_asm(t, "syscall");
	c->efer = EFER_SCE;
	c->msr.star = 0x0030000800200000ull;	/* SYSCALL CS 0x08, EIP 0x200000 */
	c->rflags |= FL_IF;
	cpu_update_mode(c);
	th_run_n(t, 1);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(c->rip, 0x200000);
	cr_assert_eq(c->regs[R_CX], TH_CODE + 2);
	cr_assert_eq(c->seg[S_CS].sel, 0x08);
	cr_assert_eq(c->seg[S_SS].sel, 0x10);
	cr_assert_eq(c->rflags & FL_IF, 0);
	th_free(t);
}

/* ---- SYSENTER / SYSEXIT ---- */

Test(system, sysenter_sysexit)
{
	struct th *t = asm_th(TH_PROT32, "sysexit");
	struct cpu *c = t->cpu;
	c->msr.sysenter_cs = 0x08;
	c->msr.sysenter_esp = 0x90000;
	c->msr.sysenter_eip = TH_CODE + 0x100;
	static const uint8_t back[] = { 0xbe, 0x02, 0x00, 0x00, 0x00, 0xf4 };	/* mov esi, 2; hlt */
	th_poke(t, TH_CODE + 0x100, back, sizeof(back));
	static const uint8_t user[] = { 0x0f, 0x34 };	/* sysenter */
	th_poke(t, 0x300000, user, sizeof(user));
	c->regs[R_DX] = 0x300000;
	c->regs[R_CX] = 0x88000;
	c->rflags |= FL_IF;
	th_run_n(t, 1);
	cr_assert_eq(c->cpl, 3);
	cr_assert_eq(c->seg[S_CS].sel, 0x1b);
	cr_assert_eq(c->seg[S_SS].sel, 0x23);
	cr_assert_eq(c->rip, 0x300000);
	cr_assert_eq(c->regs[R_SP], 0x88000);
	th_run(t);
	expect_done(t);
	cr_assert_eq(c->cpl, 0);
	cr_assert_eq(c->seg[S_CS].sel, 0x08);
	cr_assert_eq(c->seg[S_SS].sel, 0x10);
	cr_assert_eq(c->regs[R_SP], 0x90000);
	cr_assert_eq(c->regs[R_SI], 2);
	cr_assert_eq(c->rflags & FL_IF, 0);
	th_free(t);

	/* SYSENTER_CS = 0: #GP(0). */
	t = asm_th(TH_PROT32, "sysenter");
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	th_free(t);

	/* 64-bit SYSEXIT: CS +32, SS +40, canonical RDX/RCX. */
	t = asm_th(TH_LONG64, "o64 sysexit");
	t->cpu->msr.sysenter_cs = 0x10;
	t->cpu->regs[R_DX] = 0x0000800000000000ull;
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	t->cpu->regs[R_DX] = 0x300000;
	t->cpu->regs[R_CX] = 0x7000;
	th_run_n(t, 1);
	cr_assert_eq(t->cpu->seg[S_CS].sel, 0x33);
	cr_assert_eq(t->cpu->seg[S_SS].sel, 0x3b);
	cr_assert_eq(t->cpu->mode, MODE_LONG);
	cr_assert_eq(t->cpu->rip, 0x300000);
	th_free(t);
}

/* ---- SWAPGS, FS/GS base ---- */

Test(system, swapgs)
{
	struct th *t = asm_th(TH_LONG64,
			      "mov ecx, 0xc0000102\n mov eax, 0x200000\n xor edx, edx\n wrmsr\n"
			      "swapgs\n mov ebx, [gs:8]\n"
			      "mov ecx, 0xc0000102\n rdmsr");
	th_write(t, 0x200008, 0x5a5a, 4);
	t->cpu->seg[S_GS].base = 0x1000;
	cpu_update_mode(t->cpu);
	th_run(t);
	expect_done(t);
	cr_assert_eq(t->cpu->seg[S_GS].base, 0x200000);
	cr_assert_eq(t->cpu->regs[R_BX], 0x5a5a);
	cr_assert_eq(t->cpu->regs[R_AX], 0x1000);
	th_free(t);
}

Test(system, fsgsbase)
{
	struct th *t = asm_th(TH_LONG64, "wrfsbase rax");
	th_run(t);
	expect_fault(t, UD, TH_CODE);	/* CR4.FSGSBASE = 0 */
	th_free(t);

	t = asm_th(TH_LONG64,
		   "mov rax, 0x200000\n wrfsbase rax\n mov ebx, [fs:4]\n"
		   "mov rax, 0xffffffff00300000\n wrgsbase eax\n rdgsbase rcx\n rdfsbase edx\n"
		   "mov rax, 0x0000800000000000\n wrfsbase rax");
	t->cpu->cr4 |= CR4_FSGSBASE;
	th_write(t, 0x200004, 0x1234, 4);
	th_run(t);
	cr_assert_eq(t->cpu->regs[R_BX], 0x1234);
	cr_assert_eq(t->cpu->regs[R_CX], 0x300000);	/* 32-bit write zero-extends */
	cr_assert_eq(t->cpu->regs[R_DX], 0x200000);
	cr_assert_eq(t->exc_vector, GP);		/* non-canonical */
	cr_assert_eq(t->cpu->seg[S_FS].base, 0x200000);
	th_free(t);
}

/* ---- XSETBV / XGETBV ---- */

struct xcr_case {
	uint32_t ecx;
	uint64_t val;
	int vec;
};

Test(system, xsetbv_rules)
{
	static const struct xcr_case cases[] = {
		{ 0, 3, -1 }, { 0, 1, -1 }, { 0, 0x203, -1 },	/* x87, SSE, PKRU */
		{ 0, 2, GP },	/* x87 bit clear */
		{ 0, 7, -1 },	/* x87, SSE, AVX */
		{ 0, 0xf, GP },	/* bit 3 not in the model */
		{ 0, 5, GP },	/* AVX without SSE */
		{ 0, 1ull << 32 | 3, GP },
		{ 1, 3, GP },	/* only XCR0 */
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = asm_th(TH_LONG64, "xsetbv\n xor ecx, ecx\n xgetbv");
		t->cpu->cr4 |= CR4_OSXSAVE;
		t->cpu->regs[R_CX] = cases[k].ecx;
		t->cpu->regs[R_AX] = (uint32_t)cases[k].val;
		t->cpu->regs[R_DX] = cases[k].val >> 32;
		th_run(t);
		if (cases[k].vec < 0) {
			expect_done(t);
			cr_assert_eq(t->cpu->xcr0, cases[k].val, "case %u", k);
			cr_assert_eq(t->cpu->regs[R_AX], (uint32_t)cases[k].val, "case %u", k);
		} else {
			expect_fault(t, cases[k].vec, TH_CODE);
			cr_assert_eq(t->cpu->xcr0, 1, "case %u", k);
		}
		th_free(t);
	}
	/* CR4.OSXSAVE = 0: #UD for both. */
	struct th *t = asm_th(TH_LONG64, "xgetbv");
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);
	t = asm_th(TH_LONG64, "xsetbv");
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);
}

/* ---- PKRU ---- */

Test(system, pkru)
{
	struct th *t = asm_th(TH_LONG64, "rdpkru");
	th_run(t);
	expect_fault(t, UD, TH_CODE);
	th_free(t);

	t = asm_th(TH_LONG64, "xor ecx, ecx\n xor edx, edx\n mov eax, 0x5555000c\n wrpkru\n"
			      "xor eax, eax\n mov edx, 7\n rdpkru");
	t->cpu->cr4 |= CR4_PKE;
	th_run(t);
	expect_done(t);
	cr_assert_eq(t->cpu->pkru, 0x5555000c);
	cr_assert_eq(t->cpu->regs[R_AX], 0x5555000c);
	cr_assert_eq(t->cpu->regs[R_DX], 0);
	th_free(t);

	t = asm_th(TH_LONG64, "wrpkru");
	t->cpu->cr4 |= CR4_PKE;
	t->cpu->regs[R_DX] = 1;
	t->cpu->regs[R_AX] = 4;
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	cr_assert_eq(t->cpu->pkru, 0);
	th_free(t);

	t = asm_th(TH_LONG64, "rdpkru");
	t->cpu->cr4 |= CR4_PKE;
	t->cpu->regs[R_CX] = 1;
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	th_free(t);
}

/* ---- CR0 shortcuts ---- */

Test(system, lmsw_smsw_clts)
{
	struct th *t = asm_th(TH_PROT32,
			      "mov eax, 0xfff0\n lmsw ax\n smsw ebx\n"	/* PE kept, bits 1-3 cleared */
			      "mov eax, 0x000e\n lmsw ax\n clts\n mov ecx, cr0\n"
			      "smsw [0x200000]\n o16 smsw dx");
	th_write(t, 0x200000, 0xffffffff, 4);
	t->cpu->regs[R_DX] = 0xabcd0000;
	th_run(t);
	expect_done(t);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->regs[R_BX] & 0xf, CR0_PE);
	cr_assert_eq(c->regs[R_BX], c->regs[R_BX] & ~0xeull);
	cr_assert_eq(c->regs[R_CX] & 0xf, CR0_PE | CR0_MP | CR0_EM);
	cr_assert_eq(th_read(t, 0x200000, 4), 0xffff0000u | (uint16_t)c->cr0);
	cr_assert_eq(c->regs[R_DX], 0xabcd0000u | (uint16_t)c->cr0);
	th_free(t);

	/* LMSW in real mode can set PE. */
	t = asm_th(TH_REAL, "mov ax, 1\n lmsw ax\n nop");
	th_run_n(t, 2);
	cr_assert(t->cpu->cr0 & CR0_PE);
	cr_assert_eq(t->cpu->mode, MODE_PROT);
	th_free(t);
}

/* ---- HLT, RDRAND, FWAIT, UD2, RSM, CLFLUSH, MONITOR, INVPCID ---- */

Test(system, hlt_halts)
{
	struct th *t = asm_th(TH_LONG64, "hlt\n mov eax, 1");
	th_run(t);
	cr_assert(t->cpu->halted);
	cr_assert_eq(t->cpu->rip, TH_CODE + 1);
	cr_assert_eq(t->cpu->regs[R_AX], 0);
	th_free(t);
}

Test(system, rdrand_rdseed)
{
	struct th *t = asm_th(TH_LONG64,
			      "mov rbx, -1\n rdrand bx\n rdrand rcx\n rdseed rdx\n"
			      "mov rsi, -1\n rdseed esi\n rdrand rdi\n pushfq\n pop r8");
	t->cpu->rflags |= FL_ZF | FL_SF | FL_OF;
	th_run(t);
	expect_done(t);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->regs[R_BX] >> 16, 0xffffffffffffull, "16-bit form keeps bits 63:16");
	cr_assert_eq(c->regs[R_SI] >> 32, 0, "32-bit form zero-extends");
	cr_assert_neq(c->regs[R_CX], c->regs[R_DX]);
	cr_assert_neq(c->regs[R_CX], c->regs[R_DI]);
	cr_assert_eq(c->regs[R_R8] & FL_ARITH, FL_CF);
	th_free(t);
}

Test(system, fwait_nm)
{
	struct th *t = asm_th(TH_PROT32, "fwait");
	t->cpu->cr0 |= CR0_MP | CR0_TS;
	th_run(t);
	expect_fault(t, 7, TH_CODE);
	th_free(t);
	t = asm_th(TH_PROT32, "fwait");
	t->cpu->cr0 |= CR0_TS;
	th_run(t);
	expect_done(t);
	th_free(t);
}

Test(system, ud2_rsm_ud)
{
	const char *srcs[] = { "ud2", "rsm", "db 0x0f, 0xb9, 0xc0", "db 0x0f, 0xff, 0xc0" };
	for (unsigned k = 0; k < 4; k++) {
		struct th *t = asm_th(TH_PROT32, srcs[k]);
		th_run(t);
		expect_fault(t, UD, TH_CODE);
		th_free(t);
	}
}

Test(system, clflush_checks_address)
{
	struct th *t = asm_th(TH_LONG64, "clflush [rax]\n clflushopt [rax]\n clwb [rax]\n prefetcht0 [rbx]\n"
					 "lfence\n mfence\n sfence\n nop dword [rbx]\n clflush [rbx]");
	t->cpu->regs[R_AX] = TH_DATA;
	t->cpu->regs[R_BX] = 0x0000800000000000ull;	/* non-canonical */
	th_write(t, TH_DATA, 0x77, 1);
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(th_read(t, TH_DATA, 1), 0x77);
	cr_assert_eq(t->cpu->rip, TH_CODE + t->code_len - 3);
	th_free(t);

	/* An unmapped page: #PF. */
	t = asm_th(TH_LONG64, "clflush [rax]");
	t->cpu->regs[R_AX] = 0x80000000ull;	/* beyond the 1 GiB identity map */
	th_run(t);
	expect_fault(t, 14, TH_CODE);
	th_free(t);
}

Test(system, monitor_mwait)
{
	struct th *t = th_new(TH_LONG64);
	add_feature(t, FEAT_MONITOR);
	th_asm(t, "mov eax, 0x200000\n xor ecx, ecx\n xor edx, edx\n monitor\n mwait\n mov ecx, 1\n mwait\n"
		  "mov ecx, 2\n mwait");
	th_run(t);
	cr_assert_eq(t->exc_vector, GP);
	cr_assert_eq(t->cpu->rip, TH_CODE + t->code_len - 3);
	th_free(t);

	t = th_new(TH_LONG64);
	add_feature(t, FEAT_MONITOR);
	th_asm(t, "monitor");
	t->cpu->regs[R_CX] = 1;
	th_run(t);
	expect_fault(t, GP, TH_CODE);
	th_free(t);
}

Test(system, invpcid_rules)
{
	struct inv {
		uint64_t type, pcid_word, addr;
		uint64_t cr4;
		int vec;
	} cases[] = {
		{ 2, 0, 0, 0, -1 }, { 3, 0, 0, 0, -1 }, { 0, 0, 0x400000, 0, -1 },
		{ 4, 0, 0, 0, GP },			/* bad type */
		{ 2, 1ull << 12, 0, 0, GP },		/* reserved descriptor bits */
		{ 1, 5, 0, 0, GP },			/* PCID != 0 without PCIDE */
		{ 1, 5, 0, CR4_PCIDE, -1 },
		{ 0, 0, 0x0000800000000000ull, 0, GP },	/* non-canonical */
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = asm_th(TH_LONG64, "invpcid rax, [rbx]");
		t->cpu->cr4 |= cases[k].cr4;
		t->cpu->regs[R_AX] = cases[k].type;
		t->cpu->regs[R_BX] = TH_DATA;
		th_write(t, TH_DATA, cases[k].pcid_word, 8);
		th_write(t, TH_DATA + 8, cases[k].addr, 8);
		th_run(t);
		if (cases[k].vec < 0)
			expect_done(t);
		else
			expect_fault(t, cases[k].vec, TH_CODE);
		th_free(t);
	}
}

Test(system, cpuid_handler)
{
	struct th *t = asm_th(TH_LONG64, "cpuid");
	t->cpu->regs[R_AX] = 0xffffffff00000000ull;
	t->cpu->regs[R_BX] = ~0ull;
	th_run(t);
	expect_done(t);
	uint32_t r[4];
	cpu_cpuid(t->cpu, 0, 0, r);
	cr_assert_eq(t->cpu->regs[R_AX], r[0]);
	cr_assert_eq(t->cpu->regs[R_BX], r[1]);
	cr_assert_eq(t->cpu->regs[R_CX], r[2]);
	cr_assert_eq(t->cpu->regs[R_DX], r[3]);
	th_free(t);
}

/* VME and PVI: advertised by every model (v8086 interrupt redirection and
 * virtual interrupt flags are implemented), so CR4 accepts them. */
Test(system, vme_pvi_advertised_and_settable)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "mov eax, 1\n cpuid\n mov esi, edx\n mov eax, cr4\n or eax, 3\n mov cr4, eax\n mov ebx, cr4");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1, "MOV CR4 with VME|PVI faulted: %d", t->exc_vector);
	cr_expect(t->cpu->regs[R_SI] & 2, "CPUID.1:EDX.VME");
	cr_expect_eq(t->cpu->regs[R_BX] & 3, 3);
	th_free(t);
}
