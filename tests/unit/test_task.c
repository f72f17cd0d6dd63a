/*
 * test_task.c - hardware task switches: far JMP and CALL to a 32-bit TSS,
 * IRET with NT back through the link, task gates in the GDT and the IDT
 * (with an error code pushed on the new task's stack), busy bits, CR0.TS,
 * the VE_TASK_SWITCH intercept, and the #GP/#TS/#NP checks.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/seg.h"

#define GDT 0x1000ull
#define IDT 0x2000ull
#define TSS_A 0x3000ull		/* the current task, selector 0x48 */
#define TSS_B 0x3100ull		/* the other task, selector 0x50 */
#define TASK_B (TH_CODE + 0x100)

#define mkdesc(base, limit, access, flags)                                                 \
	(((uint64_t)(limit) & 0xffff) | ((uint64_t)(base) & 0xffffff) << 16 |                  \
	 (uint64_t)(access) << 40 | (((uint64_t)(limit) >> 16) & 0xf) << 48 |                  \
	 (uint64_t)(flags) << 52 | ((uint64_t)(base) >> 24) << 56)
#define mkgate(sel, off, access)                                                           \
	(((uint64_t)(off) & 0xffff) | (uint64_t)(sel) << 16 | (uint64_t)(access) << 40 |       \
	 ((uint64_t)(off) >> 16 & 0xffff) << 48)

static void gdt_set(struct th *t, unsigned idx, uint64_t d)
{
	th_write(t, GDT + 8 * idx, d, 8);
}

static uint8_t gdt_access(struct th *t, uint16_t sel)
{
	return (uint8_t)th_read(t, GDT + (sel & ~7u) + 5, 1);
}

/* Task A is current (busy); task B is ready to run at TASK_B. */
static void setup_tasks(struct th *t, uint32_t b_eflags)
{
	gdt_set(t, 9, mkdesc(TSS_A, 0x67, 0x8b, 0));
	gdt_set(t, 10, mkdesc(TSS_B, 0x67, 0x89, 0));
	t->cpu->tr = (struct seg){ .sel = 0x48, .base = TSS_A, .limit = 0x67, .attr = AR_P | 0xb };
	th_write(t, TSS_B + 0x20, TASK_B, 4);		/* EIP */
	th_write(t, TSS_B + 0x24, b_eflags, 4);		/* EFLAGS */
	th_write(t, TSS_B + 0x28, 0x1234, 4);		/* EAX */
	th_write(t, TSS_B + 0x38, 0x70000, 4);		/* ESP */
	static const uint16_t sels[6] = { 0x10, 0x08, 0x10, 0x10, 0x28, 0x10 };
	for (int s = 0; s < 6; s++)
		th_write(t, TSS_B + 0x48 + 4 * s, sels[s], 2);
	th_write(t, TSS_B + 0x60, 0, 2);		/* LDT */
}

static void code2(struct th *t, const char *main, const char *task_b)
{
	char src[2048];
	snprintf(src, sizeof(src), "%s\n hlt\n times 0x%llx-($-$$) nop\n %s", main,
		 (unsigned long long)(TASK_B - TH_CODE), task_b);
	th_asm(t, src);
}

TestSuite(task);

Test(task, jmp_to_tss)
{
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	t->record_events = true;
	t->cpu->regs[R_BX] = 0xb0b;
	code2(t, "jmp 0x50:0", "mov ecx, eax");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->tr.sel, 0x50);
	cr_assert_eq(c->tr.base, TSS_B);
	cr_assert_eq(c->regs[R_CX], 0x1234, "task B ran with its EAX");
	cr_assert_eq(c->regs[R_SP], 0x70000);
	cr_assert_eq(c->seg[S_FS].sel, 0x28);
	cr_assert(c->cr0 & CR0_TS);
	cr_assert_eq(c->rflags & FL_NT, 0, "JMP does not nest");
	cr_assert_eq(gdt_access(t, 0x48), 0x89, "old task no longer busy");
	cr_assert_eq(gdt_access(t, 0x50), 0x8b, "new task busy");
	cr_assert_eq(th_read(t, TSS_A + 0x20, 4), TH_CODE + 7, "old EIP saved");
	cr_assert_eq(th_read(t, TSS_A + 0x34, 4), 0xb0b, "old EBX saved");
	cr_assert_eq(th_read(t, TSS_A + 0x4c, 2), 0x08, "old CS saved");
	bool seen = false;
	for (int e = 0; e < t->nevents; e++)
		if (t->events[e].kind == VE_TASK_SWITCH && t->events[e].a == 0x50 && t->events[e].b == TS_JMP)
			seen = true;
	cr_assert(seen, "VE_TASK_SWITCH asked");
	th_free(t);
}

Test(task, call_and_iret_back)
{
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	code2(t, "call 0x50:0\n mov edx, 0x5555", "pushfd\n pop dword [0x200000]\n mov [0x200004], eax\n iretd");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->tr.sel, 0x48, "back in task A");
	cr_assert(th_read(t, 0x200000, 4) & FL_NT, "task B ran nested");
	cr_assert_eq(c->regs[R_DX], 0x5555, "task A resumed after the CALL");
	cr_assert_eq(th_read(t, 0x200004, 4), 0x1234, "task B ran with its EAX");
	cr_assert_eq(c->regs[R_AX], 0, "task A's EAX restored");
	cr_assert_eq(c->rflags & FL_NT, 0);
	cr_assert_eq(th_read(t, TSS_B, 2), 0x48, "back link");
	cr_assert_eq(gdt_access(t, 0x50), 0x89, "IRET cleared B's busy bit");
	cr_assert_eq(gdt_access(t, 0x48), 0x8b, "A stayed busy");
	cr_assert_eq(th_read(t, TSS_B + 0x24, 4) & FL_NT, 0, "NT cleared in B's saved EFLAGS");
	th_free(t);
}

Test(task, task_gate_in_idt_with_error_code)
{
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	t->deliver_exceptions = true;
	th_write(t, IDT + 8 * 13, mkgate(0x50, 0, 0x85), 8);
	code2(t, "mov eax, 0x13\n mov ds, ax", "pop ebx\n mov ecx, esp\n hlt");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->tr.sel, 0x50);
	cr_assert_eq(c->regs[R_BX], 0x10, "error code on the new task's stack");
	cr_assert_eq(c->regs[R_CX], 0x70000);
	cr_assert(c->rflags & FL_NT);
	cr_assert_eq(th_read(t, TSS_A + 0x20, 4), TH_CODE + 5, "faulting EIP saved in the old TSS");
	th_free(t);

	/* INT n through a task gate in the IDT. */
	t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	th_write(t, IDT + 8 * 0x40, mkgate(0x50, 0, 0x85), 8);
	code2(t, "int 0x40\n mov ebx, 9", "mov [0x200004], eax\n iretd");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->tr.sel, 0x48);
	cr_assert_eq(t->cpu->regs[R_BX], 9);
	cr_assert_eq(th_read(t, 0x200004, 4), 0x1234);
	th_free(t);
}

Test(task, task_gate_in_gdt)
{
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	gdt_set(t, 11, mkgate(0x50, 0, 0xe5));
	code2(t, "jmp 0x5b:0", "mov ecx, eax");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->tr.sel, 0x50);
	cr_assert_eq(t->cpu->regs[R_CX], 0x1234);
	th_free(t);
}

Test(task, checks)
{
	struct {
		const char *what;
		uint64_t desc;	/* TSS B's descriptor */
		const char *src;
		int vec;
		uint32_t err;
	} cases[] = {
		{ "busy", mkdesc(TSS_B, 0x67, 0x8b, 0), "jmp 0x50:0", EXC_GP, 0x50 },
		{ "not present", mkdesc(TSS_B, 0x67, 0x09, 0), "jmp 0x50:0", EXC_NP, 0x50 },
		{ "limit too small", mkdesc(TSS_B, 0x60, 0x89, 0), "call 0x50:0", EXC_TS, 0x50 },
		{ "dpl < cpl", mkdesc(TSS_B, 0x67, 0x89, 0), "jmp 0x53:0", EXC_GP, 0x50 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = th_new(TH_PROT32);
		setup_tasks(t, 0x2);
		gdt_set(t, 10, cases[k].desc);
		code2(t, cases[k].src, "nop");
		th_run(t);
		cr_assert_eq(t->exc_vector, cases[k].vec, "%s: vector %d", cases[k].what, t->exc_vector);
		cr_assert_eq(t->exc_error, cases[k].err, "%s: error %#x", cases[k].what, t->exc_error);
		cr_assert_eq(t->cpu->tr.sel, 0x48, "%s: no switch", cases[k].what);
		th_free(t);
	}

	/* A bad CS in the new TSS: #TS(cs) in the context of the new task. */
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	th_write(t, TSS_B + 0x4c, 0x10, 2);
	code2(t, "jmp 0x50:0", "nop");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_TS);
	cr_assert_eq(t->exc_error, 0x10);
	cr_assert_eq(t->cpu->tr.sel, 0x50);
	cr_assert_eq(t->cpu->rip, TASK_B);
	th_free(t);
}

static bool refuse_task(struct th *t, struct virt_event *ev)
{
	(void)t;
	return ev->kind == VE_TASK_SWITCH;
}

Test(task, intercept_first)
{
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x2);
	t->policy = refuse_task;
	code2(t, "jmp 0x50:0", "nop");
	th_run(t);
	cr_assert_eq(t->cpu->tr.sel, 0x48);
	cr_assert_eq(gdt_access(t, 0x50), 0x89, "nothing changed");
	cr_assert_eq(th_read(t, TSS_A + 0x20, 4), 0);
	th_free(t);
}

Test(task, switch_to_v86_task)
{
	struct th *t = th_new(TH_PROT32);
	setup_tasks(t, 0x20002);	/* VM */
	th_write(t, TSS_B + 0x20, 0x10, 4);
	static const uint16_t sels[6] = { 0x1000, 0x5000, 0x4000, 0x2000, 0x3000, 0x6000 };
	for (int s = 0; s < 6; s++)
		th_write(t, TSS_B + 0x48 + 4 * s, sels[s], 2);
	th_write(t, 0x50010, 0x90, 1);	/* nop */
	code2(t, "jmp 0x50:0", "nop");
	th_run_n(t, 2);
	struct cpu *c = t->cpu;
	cr_assert_eq(c->mode, MODE_V86);
	cr_assert_eq(c->seg[S_CS].base, 0x50000);
	cr_assert_eq(c->seg[S_SS].base, 0x40000);
	cr_assert_eq(c->seg[S_GS].base, 0x60000);
	cr_assert_eq(c->rip, 0x11);
	th_free(t);
}
