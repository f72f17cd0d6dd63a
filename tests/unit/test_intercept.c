/*
 * test_intercept.c - the intercept hook (virt.h): every kind of sensitive
 * instruction and event reaches the policy with the operands VMX/SVM need,
 * and a policy that takes the event (returns true) stops the instruction
 * before it changes anything: registers, flags, control and debug
 * registers, MSRs and memory are as before, and RIP is still at the
 * instruction.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/insn.h"
#include "emu/cpu/virt.h"

TestSuite(intercept);

/* The kind the policy takes; one test process runs one test at a time. */
static enum virt_event_kind stop_kind;

static bool stop_policy(struct th *t, struct virt_event *ev)
{
	return ev->kind == stop_kind;
}

struct icase {
	const char *src;		/* the sensitive instruction comes first */
	enum virt_event_kind kind;
	uint64_t a, b, c, d;
	unsigned check;			/* which operands to compare: bit 0 a, 1 b, 2 c, 3 d */
	uint64_t rax, rbx, rcx, rdx;
	uint64_t cr4_or;
	unsigned feat;			/* extra feature, FEAT_NONE if none */
	bool not_rip;			/* RIP may not stay (events delivered after the insn) */
};

/* Architectural state an intercepted instruction must not touch. */
struct snap {
	uint64_t regs[R_NONE + 1];
	uint64_t rip, rflags, cr0, cr2, cr3, cr4, cr8, xcr0, efer;
	uint64_t dr[8];
	struct cpu_msrs msr;
	uint32_t pkru;
	struct seg seg[S_NSEG];
	uint8_t data[64];
	bool halted;
};

static void take(struct th *t, struct snap *s)
{
	struct cpu *c = t->cpu;
	memset(s, 0, sizeof(*s));
	memcpy(s->regs, c->regs, sizeof(s->regs));
	s->rip = c->rip;
	s->rflags = cpu_get_rflags(c);
	s->cr0 = c->cr0;
	s->cr2 = c->cr2;
	s->cr3 = c->cr3;
	s->cr4 = c->cr4;
	s->cr8 = c->cr8;
	s->xcr0 = c->xcr0;
	s->efer = c->efer;
	memcpy(s->dr, c->dr, sizeof(s->dr));
	s->msr = c->msr;
	s->pkru = c->pkru;
	memcpy(s->seg, c->seg, sizeof(s->seg));
	th_peek(t, TH_DATA, s->data, sizeof(s->data));
	s->halted = c->halted;
}

static void same(const struct snap *x, const struct snap *y, const char *what)
{
	for (unsigned r = 0; r <= R_NONE; r++)
		cr_assert_eq(x->regs[r], y->regs[r], "%s: register %u changed", what, r);
	cr_assert_eq(x->rip, y->rip, "%s: RIP %#llx, want %#llx", what, (unsigned long long)y->rip,
		     (unsigned long long)x->rip);
	cr_assert_eq(x->rflags, y->rflags, "%s: RFLAGS", what);
	cr_assert_eq(x->cr0, y->cr0, "%s: CR0", what);
	cr_assert_eq(x->cr2, y->cr2, "%s: CR2", what);
	cr_assert_eq(x->cr3, y->cr3, "%s: CR3", what);
	cr_assert_eq(x->cr4, y->cr4, "%s: CR4", what);
	cr_assert_eq(x->cr8, y->cr8, "%s: CR8", what);
	cr_assert_eq(x->xcr0, y->xcr0, "%s: XCR0", what);
	cr_assert_eq(x->efer, y->efer, "%s: EFER", what);
	cr_assert_arr_eq(x->dr, y->dr, sizeof(x->dr), "%s: DRn", what);
	cr_assert_eq(memcmp(&x->msr, &y->msr, sizeof(x->msr)), 0, "%s: MSRs", what);
	cr_assert_eq(x->pkru, y->pkru, "%s: PKRU", what);
	cr_assert_eq(memcmp(x->seg, y->seg, sizeof(x->seg)), 0, "%s: segments", what);
	cr_assert_arr_eq(x->data, y->data, sizeof(x->data), "%s: memory", what);
	cr_assert_eq(x->halted, y->halted, "%s: halted", what);
}

static void run_case(const struct icase *k, bool must_stop)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	if (k->feat != FEAT_NONE)
		c->features[k->feat / 32] |= 1u << (k->feat % 32);
	th_asm(t, k->src);
	c->cr4 |= k->cr4_or;
	c->regs[R_AX] = k->rax;
	c->regs[R_BX] = k->rbx;
	c->regs[R_CX] = k->rcx;
	c->regs[R_DX] = k->rdx;
	c->cr0 |= CR0_TS;	/* so that CLTS would change something */
	for (unsigned n = 0; n < 64; n++)
		th_write(t, TH_DATA + n, 0xa0 + n, 1);
	struct snap before, after;
	take(t, &before);
	t->record_events = true;
	t->policy = stop_policy;
	stop_kind = k->kind;
	th_run(t);
	take(t, &after);
	cr_assert_geq(t->nevents, 1, "%s: no event", k->src);
	const struct virt_event *ev = NULL;
	for (int n = 0; n < t->nevents && !ev; n++)
		if (t->events[n].kind == k->kind)
			ev = &t->events[n];
	cr_assert(ev, "%s: no event of kind %d (first was %d)", k->src, k->kind, t->events[0].kind);
	if (!must_stop) {
		th_free(t);
		return;
	}
	cr_assert_eq(t->events[t->nevents - 1].kind, k->kind, "%s: the run went on after the policy took the event",
		     k->src);
	if (k->check & 1)
		cr_assert_eq(ev->a, k->a, "%s: a = %#llx, want %#llx", k->src, (unsigned long long)ev->a,
			     (unsigned long long)k->a);
	if (k->check & 2)
		cr_assert_eq(ev->b, k->b, "%s: b = %#llx, want %#llx", k->src, (unsigned long long)ev->b,
			     (unsigned long long)k->b);
	if (k->check & 4)
		cr_assert_eq(ev->c, k->c, "%s: c = %#llx", k->src, (unsigned long long)ev->c);
	if (k->check & 8)
		cr_assert_eq(ev->d, k->d, "%s: d = %#llx", k->src, (unsigned long long)ev->d);
	if (ev->insn)
		cr_assert_eq(ev->insn->len, t->code_len, "%s: the event carries the instruction", k->src);
	if (k->not_rip)
		after.rip = before.rip;
	same(&before, &after, k->src);
	cr_assert_eq(t->exc_vector, -1, "%s: exception %d", k->src, t->exc_vector);
	th_free(t);
}

#define N FEAT_NONE

Test(intercept, instructions)
{
	static const struct icase cases[] = {
		{ "cpuid", VE_CPUID, 7, 0, 0, 0, 3, 7, 0, 0, 0, 0, N, false },
		{ "cpuid", VE_CPUID, 0xd, 1, 0, 0, 3, 0xffffffff0000000dull, 0, 1, 0, 0, N, false },
		{ "hlt", VE_HLT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "invlpg [rax+8]", VE_INVLPG, 0x405008, 0, 0, 0, 1, 0x405000, 0, 0, 0, 0, N, false },
		{ "invpcid rax, [rbx]", VE_INVPCID, 2, TH_DATA, 0, 0, 3, 2, TH_DATA, 0, 0, 0, N, false },
		{ "mov rbx, cr3", VE_CR_READ, 3, R_BX, 0, 0, 3, 0, 0, 0, 0, 0, N, false },
		{ "mov rcx, cr8", VE_CR_READ, 8, R_CX, 0, 0, 3, 0, 0, 0, 0, 0, N, false },
		{ "mov cr0, rdx", VE_CR_WRITE, 0, 0x80000033, R_DX, 0, 7, 0, 0, 0, 0x80000033, 0, N, false },
		{ "mov cr4, rdx", VE_CR_WRITE, 4, 0x6a0, R_DX, 0, 7, 0, 0, 0, 0x6a0, 0, N, false },
		{ "mov cr8, rbx", VE_CR_WRITE, 8, 0xf, R_BX, 0, 7, 0, 0xf, 0, 0, 0, N, false },
		{ "mov cr3, rax", VE_CR_WRITE, 3, 0x20000, R_AX, 0, 7, 0x20000, 0, 0, 0, 0, N, false },
		{ "clts", VE_CLTS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "lmsw ax", VE_LMSW, 0, 0x000f, 0, 0, 2, 0x1234000f, 0, 0, 0, 0, N, false },
		{ "mov dr7, rcx", VE_DR_ACCESS, 7, R_CX, 1, 0, 7, 0, 0, 0x401, 0, 0, N, false },
		{ "mov rsi, dr6", VE_DR_ACCESS, 6, R_SI, 0, 0, 7, 0, 0, 0, 0, 0, N, false },
		{ "rdmsr", VE_RDMSR, 0x10, 0, 0, 0, 1, 0, 0, 0x10, 0, 0, N, false },
		{ "wrmsr", VE_WRMSR, 0xc0000102, 0x0123456789abcdefull, 0, 0, 3, 0x89abcdef, 0,
		  0xc0000102, 0x01234567, 0, N, false },
		{ "rdtsc", VE_RDTSC, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "rdtscp", VE_RDTSCP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "rdpmc", VE_RDPMC, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, N, false },
		{ "pause", VE_PAUSE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "monitor", VE_MONITOR, TH_DATA, 0, 0, 0, 1, TH_DATA, 0, 0, 0, 0, FEAT_MONITOR, false },
		{ "mwait", VE_MWAIT, 0x20, 1, 0, 0, 3, 0x20, 0, 1, 0, 0, FEAT_MONITOR, false },
		{ "xsetbv", VE_XSETBV, 0, 0x203, 0, 0, 3, 0x203, 0, 0, 0, CR4_OSXSAVE, N, false },
		{ "invd", VE_INVD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "wbinvd", VE_WBINVD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "rdrand rax", VE_RDRAND, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
		{ "rdseed ebx", VE_RDSEED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N, false },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		run_case(&cases[k], true);
}

Test(intercept, events)
{
	static const struct icase cases[] = {
		/* Exceptions reach the policy before delivery, with their error code. */
		{ "ud2", VE_EXCEPTION, 6, NO_ERROR_CODE, 0, 0, 3, 0, 0, 0, 0, 0, N, false },
		{ "mov cr0, rax", VE_EXCEPTION, 13, 0, 0, 0, 3, 1ull << 40, 0, 0, 0, 0, N, false },
		{ "mov eax, [rbx]", VE_EXCEPTION, 14, 0, 0, 0, 3, 0, 0x80000000ull, 0, 0, 0, N, false },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		run_case(&cases[k], true);
}

/*
 * I/O (io.c, string.c), INT n (intr.c) and the descriptor-table
 * instructions (seg.c): the events reach the policy
 * with their operands; stopping them needs those handlers to unwind
 * (cpu_unwind) when the intercept returns true, as sys_intercept() does.
 */
static const struct icase other_cases[] = {
	{ "out 0x80, al", VE_IO, 0x80, 1, 0, 0x5a, 15, 0x5a, 0, 0, 0, 0, N, false },
	{ "in eax, dx", VE_IO, 0x3f8, 4, VE_IO_IN, 0, 7, 0, 0, 0, 0x3f8, 0, N, false },
	{ "rep outsb", VE_IO, 0x3f8, 1, VE_IO_STRING | VE_IO_REP, 0, 7, 0, 0, 3, 0x3f8, 0, N, false },
	{ "int 0x21", VE_SOFT_INT, 0x21, 0, 0, 0, 1, 0, 0, 0, 0, 0, N, false },
	{ "sgdt [rax]", VE_DESC_TABLE, 0, 0, 0, 0, 1, TH_DATA, 0, 0, 0, 0, N, false },
	{ "sidt [rax]", VE_DESC_TABLE, 1, 0, 0, 0, 1, TH_DATA, 0, 0, 0, 0, N, false },
	{ "lgdt [rax]", VE_DESC_TABLE, 2, 0, 0, 0, 1, TH_DATA, 0, 0, 0, 0, N, false },
	{ "lidt [rax]", VE_DESC_TABLE, 3, 0, 0, 0, 1, TH_DATA, 0, 0, 0, 0, N, false },
	{ "sldt eax", VE_DESC_TABLE, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, N, false },
	{ "str eax", VE_DESC_TABLE, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, N, false },
};

Test(intercept, io_int_desc_table_operands)
{
	for (unsigned k = 0; k < sizeof(other_cases) / sizeof(other_cases[0]); k++)
		run_case(&other_cases[k], false);
}

Test(intercept, io_int_desc_table_stop)
{
	for (unsigned k = 0; k < sizeof(other_cases) / sizeof(other_cases[0]); k++)
		run_case(&other_cases[k], true);
}

/* Events the policy lets through: the instruction then runs normally, and
 * the recorder saw every sensitive step in order. */
Test(intercept, pass_through_order)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "xor ecx, ecx\n cpuid\n mov rax, cr0\n mov cr0, rax\n rdtsc\n pause");
	t->record_events = true;
	th_run(t);
	cr_assert(t->cpu->halted);
	static const enum virt_event_kind want[] = { VE_CPUID, VE_CR_READ, VE_CR_WRITE, VE_RDTSC, VE_PAUSE,
						     VE_HLT };
	cr_assert_eq(t->nevents, 6);
	for (unsigned k = 0; k < 6; k++)
		cr_assert_eq(t->events[k].kind, want[k], "event %u: %d", k, t->events[k].kind);
	cr_assert_eq(t->events[2].b, t->cpu->cr0);
	th_free(t);
}

/* Faults that have priority over VM exits (SDM 25.1.1) happen first: a CPL
 * 3 RDMSR is a #GP, never a VE_RDMSR; CPUID has no such fault. */
Test(intercept, fault_priority)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "rdmsr");
	struct cpu *c = t->cpu;
	c->seg[S_CS] = (struct seg){ .sel = 0x43, .limit = 0xffffffffu, .attr = 0xa0fbu };
	c->seg[S_SS] = (struct seg){ .sel = 0x3b, .limit = 0xffffffffu, .attr = 0xc0f3u };
	cpu_update_mode(c);
	t->record_events = true;
	th_run(t);
	cr_assert_eq(t->exc_vector, 13);
	cr_assert_eq(t->nevents, 1);
	cr_assert_eq(t->events[0].kind, VE_EXCEPTION);
	th_free(t);

	/* MOV DR: the exit has priority over the CPL #GP (SDM 25.1.3). */
	t = th_new(TH_LONG64);
	th_asm(t, "mov rax, dr7");
	c = t->cpu;
	c->seg[S_CS] = (struct seg){ .sel = 0x43, .limit = 0xffffffffu, .attr = 0xa0fbu };
	c->seg[S_SS] = (struct seg){ .sel = 0x3b, .limit = 0xffffffffu, .attr = 0xc0f3u };
	cpu_update_mode(c);
	t->record_events = true;
	th_run(t);
	cr_assert_eq(t->events[0].kind, VE_DR_ACCESS);
	cr_assert_eq(t->exc_vector, 13);
	th_free(t);
}
