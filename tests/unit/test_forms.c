/*
 * test_forms.c - every register encoding of the one-byte "register in the
 * opcode" forms (INC/DEC/PUSH/POP/XCHG/MOV/BSWAP Z), the aliases (82,
 * F6/F7 /1, hint NOPs), and the few remaining forms, each checked for its
 * result so that the opcode coverage report is backed by real assertions.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"

static const char *r32[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
static const char *r8[8] = { "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh" };

/* Runs src in mode m with every GPR preset to 0x1000 * (n + 1) + n. */
static struct th *run(enum th_mode m, const char *src)
{
	struct th *t = th_new(m);
	th_asm(t, src);
	for (int r = 0; r < 16; r++)
		if (r != R_SP)
			t->cpu->regs[r] = 0x1000u * (r + 1) + r;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1, "%s: exception %d", src, t->exc_vector);
	return t;
}

static uint64_t preset(int r)
{
	return 0x1000u * (r + 1) + r;
}

Test(forms, inc_dec_Zv_32)
{
	for (int r = 0; r < 8; r++) {
		if (r == R_SP)
			continue;
		char src[64];
		snprintf(src, sizeof(src), "inc %s\ninc %s\ndec %s", r32[r], r32[r], r32[r]);
		struct th *t = run(TH_PROT32, src);
		cr_expect_eq(t->cpu->regs[r], preset(r) + 1, "inc/dec %s", r32[r]);
		th_free(t);
	}
	/* ESP too, through its own stack-free form */
	struct th *t = run(TH_PROT32, "inc esp\ndec esp\ndec esp");
	cr_expect_eq(t->cpu->regs[R_SP], TH_STACK - 1);
	th_free(t);
}

Test(forms, push_pop_Zv)
{
	for (int r = 0; r < 8; r++) {
		if (r == R_SP)
			continue;
		int d = (r + 1) & 7;
		if (d == R_SP)
			d = (d + 1) & 7;
		char src[64];
		snprintf(src, sizeof(src), "push %s\npop %s", r32[r], r32[d]);
		struct th *t = run(TH_PROT32, src);
		cr_expect_eq(t->cpu->regs[d], preset(r), "push %s / pop %s", r32[r], r32[d]);
		cr_expect_eq(t->cpu->regs[R_SP], TH_STACK);
		th_free(t);
	}
}

Test(forms, xchg_Zv_rAX)
{
	for (int r = 1; r < 8; r++) {
		char src[64];
		snprintf(src, sizeof(src), "xchg eax, %s", r32[r]);
		struct th *t = run(TH_PROT32, src);
		uint64_t want_ax = r == R_SP ? TH_STACK : preset(r);
		cr_expect_eq(t->cpu->regs[R_AX], want_ax, "xchg eax, %s: eax", r32[r]);
		cr_expect_eq(t->cpu->regs[r], preset(R_AX), "xchg eax, %s: other", r32[r]);
		th_free(t);
	}
}

Test(forms, mov_Zb_Ib)
{
	for (int r = 0; r < 8; r++) {
		char src[64];
		snprintf(src, sizeof(src), "mov %s, 0x5a", r8[r]);
		struct th *t = run(TH_LONG64, src);
		int base = r & 3;
		uint64_t want = r < 4 ? (preset(base) & ~0xffull) | 0x5a : (preset(base) & ~0xff00ull) | 0x5a00;
		cr_expect_eq(t->cpu->regs[base], want, "mov %s: %#llx", r8[r], (unsigned long long)t->cpu->regs[base]);
		th_free(t);
	}
}

Test(forms, bswap_Zv)
{
	static const char *r64[8] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi" };
	for (int r = 0; r < 8; r++) {
		if (r == R_SP)
			continue;
		char src[64];
		snprintf(src, sizeof(src), "bswap %s\nbswap %s", r32[r], r64[r]);
		struct th *t = run(TH_LONG64, src);
		uint64_t v = __builtin_bswap64((uint64_t)__builtin_bswap32((uint32_t)preset(r)));
		cr_expect_eq(t->cpu->regs[r], v, "bswap %s", r32[r]);
		th_free(t);
	}
	struct th *t = run(TH_LONG64, "bswap esp\nmov eax, esp\nbswap esp");
	cr_expect_eq(t->cpu->regs[R_AX], __builtin_bswap32((uint32_t)TH_STACK));
	cr_expect_eq(t->cpu->regs[R_SP], TH_STACK);
	th_free(t);
}

Test(forms, group1_82_alias)
{
	/* 82 /n ib is the 32-bit-only alias of 80 /n ib. */
	static const struct { int n; uint8_t al; uint8_t want; } c[] = {
		{ 0, 0x10, 0x15 }, { 1, 0x10, 0x15 }, { 2, 0x10, 0x15 }, { 3, 0x10, 0x0b },
		{ 4, 0x17, 0x05 }, { 5, 0x10, 0x0b }, { 6, 0x10, 0x15 }, { 7, 0x10, 0x10 },
	};
	for (unsigned k = 0; k < 8; k++) {
		char src[96];
		snprintf(src, sizeof(src), "clc\nmov al, 0x%x\ndb 0x82, 0x%x, 5", c[k].al, 0xc0 | c[k].n << 3);
		struct th *t = run(TH_PROT32, src);
		cr_expect_eq(t->cpu->regs[R_AX] & 0xff, c[k].want, "82 /%d", c[k].n);
		th_free(t);
	}
	struct th *t = th_new(TH_LONG64);
	th_code(t, (const uint8_t[]){ 0x82, 0xc0, 0x05 }, 3);
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_UD, "82 is #UD in 64-bit mode");
	th_free(t);
}

Test(forms, test_alias_f6_f7_1)
{
	/* F6 /1 and F7 /1 are undocumented aliases of TEST. */
	struct th *t = run(TH_LONG64, "mov eax, 0x80\ndb 0xf6, 0xc8, 0x80\nsetnz bl\n"
				      "mov ecx, 0x0f\ndb 0xf7, 0xc9, 0xf0, 0, 0, 0\nsetz dl");
	cr_expect_eq(t->cpu->regs[R_BX] & 0xff, 1);
	cr_expect_eq(t->cpu->regs[R_DX] & 0xff, 1);
	th_free(t);
}

Test(forms, cld_std)
{
	struct th *t = run(TH_LONG64, "std\npushfq\npop rax\ncld\npushfq\npop rbx");
	cr_expect(t->cpu->regs[R_AX] & FL_DF);
	cr_expect_not(t->cpu->regs[R_BX] & FL_DF);
	th_free(t);
}

Test(forms, hint_nops_and_prefetch)
{
	/* 0F 0D, 0F 18-1F with any ModRM: no effect, memory not accessed. */
	struct th *t = run(TH_LONG64, "prefetchw [0x7ffffff000]\nprefetchnta [rax]\n"
				      "db 0x0f, 0x18, 0xc0\ndb 0x0f, 0x19, 0x00\ndb 0x0f, 0x1a, 0xc0\ndb 0x0f, 0x1b, 0x00\n"
				      "db 0x0f, 0x1c, 0x00\ndb 0x0f, 0x1d, 0x00\ndb 0x0f, 0x1e, 0x00\n"
				      "nop dword [rax]\nmov ebx, 1");
	cr_expect_eq(t->cpu->regs[R_BX], 1);
	cr_expect_eq(t->cpu->regs[R_AX], preset(R_AX));
	th_free(t);
}

Test(forms, segment_push_pop)
{
	/* 32-bit mode: push/pop of ES/SS/GS and reload. */
	struct th *t = run(TH_PROT32, "push ss\npop es\npush gs\npop fs\nmov ax, es\nmov bx, fs");
	cr_expect_eq(t->cpu->regs[R_AX] & 0xffff, 0x10);
	cr_expect_eq(t->cpu->regs[R_BX] & 0xffff, 0x10);
	cr_expect_eq(t->cpu->regs[R_SP], TH_STACK);
	th_free(t);
}

Test(forms, jmp_far_Mp)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "jmp far [0x200000]\nmov ebx, 1\ntarget: mov ecx, 2");
	th_write(t, TH_DATA, TH_CODE + 6 + 5, 4);	/* offset of target */
	th_write(t, TH_DATA + 4, 0x08, 2);
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->regs[R_BX], 0, "jumped over mov ebx");
	cr_expect_eq(t->cpu->regs[R_CX], 2);
	th_free(t);
}

Test(forms, bound)
{
	struct th *t = th_new(TH_PROT32);
	th_asm(t, "mov eax, 5\nbound eax, [0x200000]\nmov eax, 11\nbound eax, [0x200000]");
	th_write(t, TH_DATA, 0, 4);
	th_write(t, TH_DATA + 4, 10, 4);
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_BR, "5 in [0,10], 11 not: #BR");
	cr_expect_eq(t->cpu->regs[R_AX], 11);
	th_free(t);
}

/* 0x66 on a near branch in 64-bit mode: Intel ignores it (rel32, 64-bit
 * target); AMD uses a 16-bit operand size (rel16, target truncated to 16
 * bits, 2-byte return address). */
Test(forms, near_branch_0x66_vendors)
{
	struct th *t = th_new(TH_LONG64);
	th_code(t, (const uint8_t[]){ 0x66, 0xe9, 0x00, 0x00, 0x00, 0x00 }, 6);
	th_run_n(t, 1);
	cr_expect_eq(t->cpu->rip, TH_CODE + 6, "Intel: rip %#llx", (unsigned long long)t->cpu->rip);
	th_free(t);

	t = th_new(TH_LONG64);
	t->cpu->model = cpu_model_find("zen2");
	th_code(t, (const uint8_t[]){ 0x66, 0xe9, 0x10, 0x00 }, 4);
	th_run_n(t, 1);
	cr_expect_eq(t->cpu->rip, (TH_CODE + 4 + 0x10) & 0xffff, "AMD: rip %#llx", (unsigned long long)t->cpu->rip);
	th_free(t);

	t = th_new(TH_LONG64);
	t->cpu->model = cpu_model_find("zen2");
	th_code(t, (const uint8_t[]){ 0x66, 0xe8, 0x00, 0x00 }, 4);
	th_run_n(t, 1);
	cr_expect_eq(t->cpu->regs[R_SP], TH_STACK - 2, "AMD: 16-bit call pushes 2 bytes");
	cr_expect_eq(th_read(t, TH_STACK - 2, 2), (TH_CODE + 4) & 0xffff);
	cr_expect_eq(t->cpu->rip, (TH_CODE + 4) & 0xffff);
	th_free(t);

	t = th_new(TH_LONG64);
	t->cpu->model = cpu_model_find("zen2");
	th_code(t, (const uint8_t[]){ 0x66, 0xeb, 0x02 }, 3);	/* jmp rel8 with 66 */
	th_run_n(t, 1);
	cr_expect_eq(t->cpu->rip, (TH_CODE + 5) & 0xffff);
	th_free(t);
}
