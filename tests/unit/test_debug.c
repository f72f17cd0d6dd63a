/*
 * test_debug.c - debug exceptions from the dispatch loop: TF single-step
 * traps, instruction breakpoints (faults, suppressed by RF) and data
 * breakpoints (traps after the accessing instruction), DR6 status bits.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"

/* DR7 for breakpoint k: local enable, R/W and LEN fields. */
static uint64_t dr7_bp(int k, unsigned rw, unsigned len)
{
	return 0x400 | (1ull << (2 * k)) | (uint64_t)rw << (16 + 4 * k) | (uint64_t)len << (18 + 4 * k);
}

static void arm(struct th *t, int k, uint64_t addr, uint64_t dr7)
{
	t->cpu->dr[k] = addr;
	t->cpu->dr[7] = dr7;
	cpu_update_mode(t->cpu);
}

Test(debug, single_step_traps_after_each_instruction)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mov eax, 1\n mov ebx, 2\n mov ecx, 3");
	cpu_set_rflags(t->cpu, FL_TF, FL_TF);
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_DB);
	cr_expect_eq(t->cpu->rip, TH_CODE + 5, "trap after the first instruction: rip %llx",
		     (unsigned long long)t->cpu->rip);
	cr_expect_eq(t->cpu->regs[R_AX], 1);
	cr_expect_eq(t->cpu->regs[R_BX], 0);
	cr_expect(t->cpu->dr[6] & (1u << 14), "DR6.BS set");
	th_free(t);
}

Test(debug, instruction_breakpoint_faults_before_and_rf_suppresses)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mov eax, 1\n mov ebx, 2\n mov ecx, 3");
	arm(t, 2, TH_CODE + 5, dr7_bp(2, 0, 0));
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_DB);
	cr_expect_eq(t->cpu->rip, TH_CODE + 5, "fault at the breakpoint");
	cr_expect_eq(t->cpu->regs[R_AX], 1);
	cr_expect_eq(t->cpu->regs[R_BX], 0, "the instruction did not run");
	cr_expect_eq(t->cpu->dr[6] & 0xf, 4, "DR6.B2");
	/* Resume with RF=1: the breakpoint does not fire again. */
	cpu_set_rflags(t->cpu, FL_RF, FL_RF);
	t->cpu->halted = false;
	t->exc_vector = -1;
	t->cpu->pending &= ~(uint32_t)PEND_EXIT;
	cpu_run(t->cpu, 10);
	cr_expect_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_BX], 2);
	cr_expect_eq(t->cpu->regs[R_CX], 3);
	cr_expect_eq(t->cpu->rflags & FL_RF, 0, "RF cleared after the instruction");
	th_free(t);
}

struct data_case {
	const char *code;
	unsigned rw, len;
	uint64_t addr;
	int hit;		/* 1: #DB trap after the first instruction */
};

Test(debug, data_breakpoints)
{
	static const struct data_case cases[] = {
		{ "mov dword [0x200000], 5", 1, 3, 0x200000, 1 },	/* write, 4 bytes */
		{ "mov eax, [0x200000]", 1, 3, 0x200000, 0 },		/* write-only bp: a read misses */
		{ "mov eax, [0x200000]", 3, 3, 0x200000, 1 },		/* read/write bp */
		{ "mov byte [0x200003], 1", 3, 3, 0x200000, 1 },	/* inside the 4-byte range */
		{ "mov byte [0x200004], 1", 3, 3, 0x200000, 0 },	/* just past it */
		{ "mov dword [0x1ffffe], 1", 3, 0, 0x200001, 1 },	/* overlap at the end of the access */
		{ "mov qword [0x200008], 1", 1, 2, 0x20000c, 1 },	/* 8-byte bp, address aligned down */
		{ "push rax", 1, 3, TH_STACK - 8, 1 },			/* implicit stack write */
		{ "nop", 3, 3, 0x200000, 0 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct data_case *c = &cases[k];
		struct th *t = th_new(TH_LONG64);
		char src[128];
		snprintf(src, sizeof(src), "%s\n mov ebx, 7", c->code);
		th_asm(t, src);
		arm(t, 1, c->addr, dr7_bp(1, c->rw, c->len));
		th_run(t);
		if (c->hit) {
			cr_expect_eq(t->exc_vector, EXC_DB, "%s: #DB expected", c->code);
			cr_expect_eq(t->cpu->dr[6] & 0xf, 2, "%s: DR6.B1", c->code);
			cr_expect_eq(t->cpu->regs[R_BX], 0, "%s: trap right after the access", c->code);
		} else {
			cr_expect_eq(t->exc_vector, -1, "%s: no #DB expected (got %d)", c->code, t->exc_vector);
			cr_expect_eq(t->cpu->regs[R_BX], 7, "%s", c->code);
		}
		th_free(t);
	}
}

/* I/O breakpoints: DR7 R/W = 10b with CR4.DE trap after IN/OUT/INS/OUTS
 * touching the port range; without CR4.DE nothing happens. */
Test(debug, io_breakpoints)
{
	static const struct { const char *code; uint16_t port; unsigned len; bool de; int hit; } c[] = {
		{ "mov dx, 0x80\n out dx, al", 0x80, 0, true, 1 },
		{ "in al, 0x81", 0x80, 1, true, 1 },		/* 2-byte range 0x80-0x81 */
		{ "in al, 0x82", 0x80, 1, true, 0 },
		{ "mov dx, 0x7e\n in eax, dx", 0x80, 0, true, 1 },	/* 4-byte access covers 0x80 */
		{ "mov dx, 0x80\n out dx, al", 0x80, 0, false, 0 },	/* CR4.DE clear */
	};
	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct th *t = th_new(TH_LONG64);
		char src[128];
		snprintf(src, sizeof(src), "%s\n mov ebx, 7", c[k].code);
		th_asm(t, src);
		if (c[k].de)
			t->cpu->cr4 |= CR4_DE;
		arm(t, 3, c[k].port, dr7_bp(3, 2, c[k].len));
		th_run(t);
		if (c[k].hit) {
			cr_expect_eq(t->exc_vector, EXC_DB, "%s: #DB expected", c[k].code);
			cr_expect_eq(t->cpu->dr[6] & 0xf, 8, "%s: DR6.B3", c[k].code);
			cr_expect_eq(t->cpu->regs[R_BX], 0, "%s: trap right after the access", c[k].code);
		} else {
			cr_expect_eq(t->exc_vector, -1, "%s: no #DB (got %d)", c[k].code, t->exc_vector);
		}
		th_free(t);
	}
}
