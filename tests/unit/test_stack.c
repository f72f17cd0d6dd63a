/*
 * test_stack.c - PUSH/POP (register, memory, immediate) in every operand
 * and stack size, push/pop of the stack pointer itself, POP to memory
 * addressed through RSP, PUSHA/POPA, ENTER (levels 0, 1, 5, wrap of the
 * level) with LEAVE, XLAT, and faults that must leave everything as it was.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"

static uint64_t org_of(enum th_mode m)
{
	return m == TH_REAL ? 0x10 : m == TH_PROT16 ? 0 : TH_CODE;
}

/* th_new with a 16-bit SP that is not 0 in TH_PROT16. */
static struct th *new_th(enum th_mode m)
{
	struct th *t = th_new(m);
	if (m == TH_PROT16)
		t->cpu->regs[R_SP] = 0x8000;
	return t;
}

static void run_asm(struct th *t, const char *src)
{
	th_asm(t, src);
	t->cpu->rip = org_of(t->mode);
	th_run(t);
}

/* Guest-physical address of SS:off (the harness maps identity). */
static uint64_t ss_pa(struct th *t, uint64_t off)
{
	return t->cpu->seg[S_SS].base + off;
}

static uint64_t wmask(unsigned w)
{
	return w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
}

static uint64_t smask(enum th_mode m)
{
	return m == TH_REAL || m == TH_PROT16 ? 0xffff : m == TH_LONG64 ? ~0ull : 0xffffffffull;
}

TestSuite(stack);

struct push_case {
	enum th_mode mode;
	const char *src;
	unsigned width;		/* bytes pushed */
	uint64_t rax;		/* RAX before */
	uint64_t expect;	/* value on the stack */
};

Test(stack, push_each_size)
{
	static const struct push_case cases[] = {
		{ TH_REAL, "push ax", 2, 0x1122334455667788ull, 0x7788 },
		{ TH_REAL, "push eax", 4, 0x1122334455667788ull, 0x55667788 },
		{ TH_REAL, "push word 0x1234", 2, 0, 0x1234 },
		{ TH_REAL, "push byte -3", 2, 0, 0xfffd },
		{ TH_REAL, "push dword -3", 4, 0, 0xfffffffd },
		{ TH_REAL, "push word [cs:d]\n hlt\n d: dw 0xbeef", 2, 0, 0xbeef },
		{ TH_PROT16, "push ax", 2, 0xabcd, 0xabcd },
		{ TH_PROT16, "push dword 0x12345678", 4, 0, 0x12345678 },
		{ TH_PROT32, "push eax", 4, 0x1122334455667788ull, 0x55667788 },
		{ TH_PROT32, "push ax", 2, 0x1122334455667788ull, 0x7788 },
		{ TH_PROT32, "push 0x12345678", 4, 0, 0x12345678 },
		{ TH_PROT32, "push byte -2", 4, 0, 0xfffffffe },
		{ TH_PROT32, "push word -2", 2, 0, 0xfffe },
		{ TH_PROT32, "push dword [d]\n hlt\n d: dd 0xcafef00d", 4, 0, 0xcafef00d },
		{ TH_PROT32, "push word [d]\n hlt\n d: dd 0xcafef00d", 2, 0, 0xf00d },
		{ TH_COMPAT, "push eax", 4, 0x1122334455667788ull, 0x55667788 },
		{ TH_LONG64, "push rax", 8, 0x1122334455667788ull, 0x1122334455667788ull },
		{ TH_LONG64, "push ax", 2, 0x1122334455667788ull, 0x7788 },
		{ TH_LONG64, "mov r12, rax\n push r12", 8, 0x8877665544332211ull, 0x8877665544332211ull },
		{ TH_LONG64, "push 0x12345678", 8, 0, 0x12345678 },
		{ TH_LONG64, "push -0x80000000", 8, 0, 0xffffffff80000000ull },
		{ TH_LONG64, "push byte -1", 8, 0, ~0ull },
		{ TH_LONG64, "push word 0x1234", 2, 0, 0x1234 },
		{ TH_LONG64, "push qword [rel d]\n hlt\n d: dq 0x0123456789abcdef", 8, 0, 0x0123456789abcdefull },
		{ TH_LONG64, "push word [rel d]\n hlt\n d: dq 0x0123456789abcdef", 2, 0, 0xcdef },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct push_case *c = &cases[k];
		struct th *t = new_th(c->mode);
		uint64_t sp0 = t->cpu->regs[R_SP];
		t->cpu->regs[R_AX] = c->rax;
		th_write(t, ss_pa(t, sp0 - 8), 0x5555555555555555ull, 8);
		run_asm(t, c->src);
		cr_assert_eq(t->exc_vector, -1, "case %u (%s)", k, c->src);
		cr_assert_eq(t->cpu->regs[R_SP], sp0 - c->width, "case %u (%s): SP", k, c->src);
		cr_assert_eq(th_read(t, ss_pa(t, sp0 - c->width), c->width), c->expect & wmask(c->width),
			     "case %u (%s): value", k, c->src);
		if (c->width < 8)
			cr_assert_eq(th_read(t, ss_pa(t, sp0 - 8), 1), 0x55, "case %u: below untouched", k);
		th_free(t);
	}
}

struct pop_case {
	enum th_mode mode;
	const char *src;
	unsigned width;
	uint64_t rax;		/* RAX before */
	uint64_t mem;		/* value at SS:SP */
	uint64_t expect;	/* RAX after */
};

Test(stack, pop_each_size)
{
	static const struct pop_case cases[] = {
		{ TH_REAL, "pop ax", 2, 0xaaaaaaaaaaaaaaaaull, 0x11223344, 0xaaaaaaaaaaaa3344ull },
		{ TH_REAL, "pop eax", 4, 0xaaaaaaaaaaaaaaaaull, 0x11223344, 0x11223344 },
		{ TH_PROT32, "pop eax", 4, 0xaaaaaaaaaaaaaaaaull, 0x11223344, 0x11223344 },
		{ TH_PROT32, "pop ax", 2, 0xaaaaaaaaaaaaaaaaull, 0x11223344, 0xaaaaaaaaaaaa3344ull },
		{ TH_LONG64, "pop rax", 8, 0xaaaaaaaaaaaaaaaaull, 0x1122334455667788ull, 0x1122334455667788ull },
		{ TH_LONG64, "pop ax", 2, 0xaaaaaaaaaaaaaaaaull, 0x1122334455667788ull, 0xaaaaaaaaaaaa7788ull },
		{ TH_LONG64, "pop r9\n mov rax, r9", 8, 0, 0x99, 0x99 },
		/* 8F /0 with a register operand */
		{ TH_LONG64, "db 0x8f, 0xc0", 8, 0, 0x4242, 0x4242 },
		{ TH_PROT32, "db 0x8f, 0xc0", 4, 0xaaaaaaaaaaaaaaaaull, 0x4242, 0x4242 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct pop_case *c = &cases[k];
		struct th *t = new_th(c->mode);
		uint64_t sp0 = t->cpu->regs[R_SP] - 16;
		t->cpu->regs[R_SP] = sp0;
		t->cpu->regs[R_AX] = c->rax;
		th_write(t, ss_pa(t, sp0), c->mem, 8);
		run_asm(t, c->src);
		cr_assert_eq(t->exc_vector, -1, "case %u (%s)", k, c->src);
		cr_assert_eq(t->cpu->regs[R_SP], sp0 + c->width, "case %u (%s): SP", k, c->src);
		cr_assert_eq(t->cpu->regs[R_AX], c->expect, "case %u (%s): %llx", k, c->src,
			     (unsigned long long)t->cpu->regs[R_AX]);
		th_free(t);
	}
}

/* PUSH SP pushes the value before the decrement; POP SP loads the popped
 * value (the increment is lost); a 16-bit POP SP on a 32-bit stack keeps
 * the incremented upper half. */
Test(stack, push_pop_stack_pointer)
{
	struct th *t = new_th(TH_LONG64);
	t->cpu->regs[R_SP] = TH_STACK;
	run_asm(t, "push rsp");
	cr_assert_eq(t->cpu->regs[R_SP], TH_STACK - 8);
	cr_assert_eq(th_read(t, TH_STACK - 8, 8), TH_STACK);

	th_write(t, TH_STACK - 0x100, 0x7000, 8);
	t->cpu->regs[R_SP] = TH_STACK - 0x100;
	run_asm(t, "pop rsp");
	cr_assert_eq(t->cpu->regs[R_SP], 0x7000);

	t->cpu->regs[R_SP] = TH_STACK;
	run_asm(t, "push qword [rsp]");
	cr_assert_eq(th_read(t, TH_STACK - 8, 8), th_read(t, TH_STACK, 8));
	th_free(t);

	t = new_th(TH_REAL);
	uint64_t sp = t->cpu->regs[R_SP];
	run_asm(t, "push sp");
	cr_assert_eq(th_read(t, ss_pa(t, sp - 2), 2), sp, "286+: the old SP");
	th_free(t);

	t = new_th(TH_PROT32);
	th_write(t, 0x1fffe, 0x1234, 2);
	t->cpu->regs[R_SP] = 0x1fffe;
	run_asm(t, "pop sp");
	cr_assert_eq(t->cpu->regs[R_SP], 0x21234);
	th_write(t, 0x6000, 0x00345678, 4);
	t->cpu->regs[R_SP] = 0x6000;
	run_asm(t, "pop esp");
	cr_assert_eq(t->cpu->regs[R_SP], 0x00345678);
	th_free(t);
}

/* POP to memory through RSP uses RSP after the increment (SDM "POP"). */
Test(stack, pop_mem_rsp_based)
{
	struct th *t = new_th(TH_LONG64);
	uint64_t s = TH_STACK - 0x40;
	for (unsigned k = 0; k < 6; k++)
		th_write(t, s + 8 * k, 0x100 + k, 8);
	t->cpu->regs[R_SP] = s;
	run_asm(t, "pop qword [rsp+8]");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_SP], s + 8);
	cr_assert_eq(th_read(t, s + 16, 8), 0x100, "written at new RSP + 8");
	cr_assert_eq(th_read(t, s + 8, 8), 0x101);

	t->cpu->regs[R_SP] = s;
	th_write(t, s, 0x777, 8);
	run_asm(t, "pop qword [rsp]");
	cr_assert_eq(th_read(t, s + 8, 8), 0x777);
	cr_assert_eq(t->cpu->regs[R_SP], s + 8);

	t->cpu->regs[R_SP] = s;
	th_write(t, s, 0xabcd, 8);
	run_asm(t, "pop word [rsp-2]");
	cr_assert_eq(t->cpu->regs[R_SP], s + 2);
	cr_assert_eq(th_read(t, s, 2), 0xabcd);
	th_free(t);

	t = new_th(TH_PROT32);
	s = TH_STACK - 0x40;
	th_write(t, s, 0x11111111, 4);
	th_write(t, s + 8, 0, 4);
	t->cpu->regs[R_SP] = s;
	run_asm(t, "pop dword [esp+4]");
	cr_assert_eq(t->cpu->regs[R_SP], s + 4);
	cr_assert_eq(th_read(t, s + 8, 4), 0x11111111);
	/* pop to an ordinary memory operand */
	t->cpu->regs[R_SP] = s;
	t->cpu->regs[R_BX] = TH_DATA;
	th_write(t, s, 0x22222222, 4);
	run_asm(t, "pop dword [ebx]");
	cr_assert_eq(th_read(t, TH_DATA, 4), 0x22222222);
	th_free(t);
}

/* A POP whose destination faults leaves RSP unchanged. */
Test(stack, pop_mem_fault_leaves_rsp)
{
	struct th *t = new_th(TH_LONG64);
	uint64_t s = TH_STACK - 0x40;
	t->cpu->regs[R_SP] = s;
	t->cpu->regs[R_BX] = 0x40000000ull;	/* beyond the mapped 1 GiB */
	run_asm(t, "pop qword [rbx]");
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->cpu->regs[R_SP], s);
	cr_assert_eq(t->cpu->rip, TH_CODE);
	th_free(t);
}

/* PUSHA / POPA in 16 and 32 bits. */
Test(stack, pusha_popa)
{
	static const enum th_mode modes[] = { TH_REAL, TH_PROT32, TH_PROT32, TH_PROT16 };
	static const char *const push_src[] = { "pusha", "pushad", "pushaw", "pushad" };
	static const unsigned widths[] = { 2, 4, 2, 4 };
	for (unsigned m = 0; m < 4; m++) {
		struct th *t = new_th(modes[m]);
		unsigned w = widths[m];
		uint64_t sp0 = t->cpu->regs[R_SP];
		for (unsigned r = 0; r < 8; r++)
			if (r != R_SP)
				t->cpu->regs[r] = 0x1111111111111111ull * (r + 1);
		run_asm(t, push_src[m]);
		cr_assert_eq(t->exc_vector, -1);
		cr_assert_eq(t->cpu->regs[R_SP], sp0 - 8 * w, "mode %u", m);
		for (unsigned r = 0; r < 8; r++) {
			uint64_t want = (r == R_SP ? sp0 : 0x1111111111111111ull * (r + 1)) & wmask(w);
			cr_assert_eq(th_read(t, ss_pa(t, sp0 - (r + 1) * w), w), want, "mode %u reg %u", m, r);
		}
		/* POPA: restores all but SP, which just moves up. */
		for (unsigned r = 0; r < 8; r++)
			th_write(t, ss_pa(t, sp0 - (r + 1) * w), 0xa0 + r, w);
		for (unsigned r = 0; r < 8; r++)
			t->cpu->regs[r] = r == R_SP ? sp0 - 8 * w : 0xffffffffffffffffull;
		run_asm(t, m == 2 ? "popaw" : m == 1 || m == 3 ? "popad" : "popa");
		cr_assert_eq(t->cpu->regs[R_SP], sp0, "mode %u", m);
		for (unsigned r = 0; r < 8; r++) {
			if (r == R_SP)
				continue;
			uint64_t want = w == 4 ? 0xa0 + r : (0xffffffffffff0000ull | (0xa0 + r));
			cr_assert_eq(t->cpu->regs[r], want, "mode %u popa reg %u: %llx", m, r,
				     (unsigned long long)t->cpu->regs[r]);
		}
		th_free(t);
	}
}

/* PUSHAD whose later slots fault (ESP wraps into unmapped memory) writes
 * nothing; POPAD whose later reads fault changes no register. */
Test(stack, pusha_popa_fault_atomic)
{
	struct th *t = new_th(TH_PROT32PG);
	th_write(t, 0, 0x5a5a5a5a5a5a5a5aull, 8);
	th_write(t, 8, 0x5a5a5a5a5a5a5a5aull, 8);
	t->cpu->regs[R_SP] = 0x10;
	run_asm(t, "pushad");
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->cpu->regs[R_SP], 0x10);
	cr_assert_eq(th_read(t, 0, 8), 0x5a5a5a5a5a5a5a5aull, "nothing written");
	cr_assert_eq(th_read(t, 8, 8), 0x5a5a5a5a5a5a5a5aull, "nothing written");

	t->cpu->regs[R_SP] = 0x3fffff0;	/* 64 MiB - 16: reads run off the map */
	for (unsigned r = 0; r < 8; r++)
		if (r != R_SP)
			t->cpu->regs[r] = 0x77;
	run_asm(t, "popad");
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->cpu->regs[R_SP], 0x3fffff0);
	for (unsigned r = 0; r < 8; r++)
		if (r != R_SP)
			cr_assert_eq(t->cpu->regs[r], 0x77, "reg %u", r);
	th_free(t);
}

/*
 * ENTER alloc, level against a reference model, then LEAVE restores the
 * caller's frame.
 */
struct enter_case {
	enum th_mode mode;
	unsigned w;		/* operand size in bytes */
	unsigned alloc, level;
	const char *pfx;	/* "o16 " / "o32 " or "" */
};

Test(stack, enter_leave_levels)
{
	static const struct enter_case cases[] = {
		{ TH_PROT32, 4, 0, 0, "" }, { TH_PROT32, 4, 16, 0, "" },
		{ TH_PROT32, 4, 8, 1, "" }, { TH_PROT32, 4, 0x20, 5, "" },
		{ TH_PROT32, 2, 4, 3, "o16 " }, { TH_PROT32, 4, 4, 33, "" },
		{ TH_PROT32, 4, 4, 32, "" },
		{ TH_REAL, 2, 6, 0, "" }, { TH_REAL, 2, 6, 1, "" }, { TH_REAL, 2, 6, 5, "" },
		{ TH_REAL, 4, 6, 2, "o32 " },
		{ TH_LONG64, 8, 0, 0, "" }, { TH_LONG64, 8, 24, 1, "" }, { TH_LONG64, 8, 0x100, 5, "" },
		{ TH_LONG64, 2, 8, 2, "o16 " },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct enter_case *c = &cases[k];
		struct th *t = new_th(c->mode);
		uint64_t sm = smask(c->mode);
		uint64_t sp0 = t->cpu->regs[R_SP] - 0x200;
		uint64_t bp0 = sp0 + 0x100;
		t->cpu->regs[R_SP] = sp0;
		t->cpu->regs[R_BP] = bp0;
		/* the caller's display */
		for (unsigned j = 1; j < 32; j++)
			th_write(t, ss_pa(t, bp0 - j * c->w), 0xd0 + j, c->w);
		char src[64];
		snprintf(src, sizeof(src), "%senter %u, %u", c->pfx, c->alloc, c->level);
		run_asm(t, src);
		cr_assert_eq(t->exc_vector, -1, "case %u", k);
		unsigned level = c->level & 31;
		uint64_t frame = (sp0 - c->w) & sm;
		unsigned n = 1 + level;
		cr_assert_eq(th_read(t, ss_pa(t, sp0 - c->w), c->w), bp0 & wmask(c->w), "case %u: old BP", k);
		for (unsigned j = 1; j < level; j++)
			cr_assert_eq(th_read(t, ss_pa(t, sp0 - (j + 1) * c->w), c->w), 0xd0 + j,
				     "case %u: display %u", k, j);
		if (level)
			cr_assert_eq(th_read(t, ss_pa(t, sp0 - (level + 1) * c->w), c->w), frame & wmask(c->w),
				     "case %u: frame pointer", k);
		else
			cr_assert_eq(th_read(t, ss_pa(t, sp0 - 2 * c->w), 1), 0, "case %u: level 0 pushes once", k);
		cr_assert_eq(t->cpu->regs[R_SP], (sp0 - n * c->w - c->alloc) & sm, "case %u: SP %llx", k,
			     (unsigned long long)t->cpu->regs[R_SP]);
		cr_assert_eq(t->cpu->regs[R_BP] & wmask(c->w), frame & wmask(c->w), "case %u: BP", k);
		if (c->w == 2)
			cr_assert_eq(t->cpu->regs[R_BP] >> 16, bp0 >> 16, "case %u: 16-bit BP write", k);

		/* LEAVE undoes it. */
		snprintf(src, sizeof(src), "%sleave", c->pfx);
		run_asm(t, src);
		cr_assert_eq(t->exc_vector, -1);
		cr_assert_eq(t->cpu->regs[R_SP], sp0, "case %u: leave SP", k);
		cr_assert_eq(t->cpu->regs[R_BP] & wmask(c->w), bp0 & wmask(c->w), "case %u: leave BP", k);
		th_free(t);
	}
}

/* ENTER whose pushes run into unmapped memory changes nothing. */
Test(stack, enter_fault_atomic)
{
	struct th *t = new_th(TH_PROT32PG);
	th_write(t, 0, 0x5a5a5a5a5a5a5a5aull, 8);
	t->cpu->regs[R_SP] = 0x8;
	t->cpu->regs[R_BP] = 0x100;
	run_asm(t, "enter 0, 5");
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->cpu->regs[R_SP], 0x8);
	cr_assert_eq(t->cpu->regs[R_BP], 0x100);
	cr_assert_eq(th_read(t, 0, 8), 0x5a5a5a5a5a5a5a5aull);
	th_free(t);
}

/* LEAVE: SP from BP with the stack size, BP popped with the operand size. */
Test(stack, leave_sizes)
{
	struct th *t = new_th(TH_PROT32);
	th_write(t, 0x6000, 0x11223344, 4);
	t->cpu->regs[R_BP] = 0x6000;
	run_asm(t, "leave");
	cr_assert_eq(t->cpu->regs[R_SP], 0x6004);
	cr_assert_eq(t->cpu->regs[R_BP], 0x11223344);
	t->cpu->regs[R_BP] = 0x6000;
	run_asm(t, "o16 leave");
	cr_assert_eq(t->cpu->regs[R_SP], 0x6002);
	cr_assert_eq(t->cpu->regs[R_BP], 0x3344);
	th_free(t);

	t = new_th(TH_REAL);
	th_write(t, 0x70000 + 0x8000, 0xbeef, 2);
	t->cpu->regs[R_SP] = 0x12340000;
	t->cpu->regs[R_BP] = 0x56788000;
	run_asm(t, "leave");
	cr_assert_eq(t->cpu->regs[R_SP], 0x12348002, "16-bit stack keeps the top of ESP");
	cr_assert_eq(t->cpu->regs[R_BP], 0x5678beef);
	th_free(t);

	t = new_th(TH_LONG64);
	th_write(t, 0x6000, 0x1122334455667788ull, 8);
	t->cpu->regs[R_BP] = 0x6000;
	run_asm(t, "leave");
	cr_assert_eq(t->cpu->regs[R_SP], 0x6008);
	cr_assert_eq(t->cpu->regs[R_BP], 0x1122334455667788ull);
	th_free(t);
}

/* XLAT with each address size and a segment override. */
Test(stack, xlat)
{
	struct th *t = new_th(TH_PROT32);
	for (unsigned k = 0; k < 256; k++)
		th_write(t, TH_DATA + k, 255 - k, 1);
	t->cpu->regs[R_BX] = TH_DATA;
	t->cpu->regs[R_AX] = 0xaabbcc10;
	run_asm(t, "xlatb");
	cr_assert_eq(t->cpu->regs[R_AX], 0xaabbccef);
	/* 16-bit address size: BX + AL wraps at 64 KiB */
	th_write(t, 0x0005, 0x42, 1);
	t->cpu->regs[R_BX] = 0x1230fff0;
	t->cpu->regs[R_AX] = 0x15;
	run_asm(t, "a16 xlatb");
	cr_assert_eq(t->cpu->regs[R_AX] & 0xff, 0x42);
	/* FS override */
	t->cpu->seg[S_FS].base = TH_DATA;
	cpu_update_mode(t->cpu);
	t->cpu->regs[R_BX] = 0;
	t->cpu->regs[R_AX] = 0x01;
	run_asm(t, "fs xlatb");
	cr_assert_eq(t->cpu->regs[R_AX] & 0xff, 0xfe);
	th_free(t);

	t = new_th(TH_LONG64);
	th_write(t, TH_DATA + 0x80, 0x99, 1);
	t->cpu->regs[R_BX] = TH_DATA;
	t->cpu->regs[R_AX] = 0x80;
	run_asm(t, "xlatb");
	cr_assert_eq(t->cpu->regs[R_AX], 0x99);
	/* a32: EBX only */
	t->cpu->regs[R_BX] = 0x100000000ull | TH_DATA;
	t->cpu->regs[R_AX] = 0x80;
	run_asm(t, "a32 xlatb");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX], 0x99);
	th_free(t);

	t = new_th(TH_REAL);
	th_write(t, 0x4000 + 3, 0x5c, 1);
	t->cpu->regs[R_BX] = 0x4000;
	t->cpu->regs[R_AX] = 0x1203;
	run_asm(t, "xlatb");
	cr_assert_eq(t->cpu->regs[R_AX], 0x125c);
	th_free(t);
}
