/*
 * test_branch.c - near control flow: Jcc (every condition against every
 * flag combination, lazy and materialized flags), JMP, CALL, RET, RET imm,
 * LOOP/LOOPE/LOOPNE/JCXZ with 16/32/64-bit counters, IP truncation in
 * 16-bit code, CS limit and canonical checks with state left unchanged.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"

static uint64_t org_of(enum th_mode m)
{
	return m == TH_REAL ? 0x10 : m == TH_PROT16 ? 0 : TH_CODE;
}

/* Loads bytes and runs them from the start of the code. */
static void run_bytes(struct th *t, const uint8_t *b, size_t n)
{
	th_code(t, b, n);
	t->cpu->rip = org_of(t->mode);
	th_run(t);
}

static void run_asm(struct th *t, const char *src)
{
	th_asm(t, src);
	t->cpu->rip = org_of(t->mode);
	th_run(t);
}

/* Reference condition evaluation (SDM Vol. 1 appendix B). */
static bool ref_cond(unsigned cc, uint64_t f)
{
	bool cf = f & FL_CF, pf = f & FL_PF, zf = f & FL_ZF, sf = f & FL_SF, of = f & FL_OF;
	bool r;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || (sf != of); break;
	}
	return (cc & 1) ? !r : r;
}

static uint64_t flag_combo(unsigned k)
{
	static const uint64_t bits[5] = { FL_CF, FL_PF, FL_ZF, FL_SF, FL_OF };
	uint64_t f = 0;
	for (unsigned b = 0; b < 5; b++)
		if (k & (1u << b))
			f |= bits[b];
	return f;
}

/* Jcc rel8 / rel16/32 over a "mov eAX, 2": EAX stays 1 when taken. */
static size_t jcc_code(uint8_t *b, unsigned cc, bool near, bool o16)
{
	size_t n = 0;
	unsigned movlen = o16 ? 3 : 5;
	if (near) {
		b[n++] = 0x0f;
		b[n++] = (uint8_t)(0x80 | cc);
		b[n++] = (uint8_t)movlen;
		b[n++] = 0;
		if (!o16) {
			b[n++] = 0;
			b[n++] = 0;
		}
	} else {
		b[n++] = (uint8_t)(0x70 | cc);
		b[n++] = (uint8_t)movlen;
	}
	b[n++] = 0xb8;
	b[n++] = 2;
	b[n++] = 0;
	if (!o16) {
		b[n++] = 0;
		b[n++] = 0;
	}
	return n;
}

static void jcc_all_in_mode(enum th_mode mode)
{
	struct th *t = th_new(mode);
	bool o16 = mode == TH_REAL || mode == TH_PROT16;
	for (int near = 0; near < 2; near++) {
		for (unsigned cc = 0; cc < 16; cc++) {
			uint8_t code[16];
			size_t n = jcc_code(code, cc, near, o16);
			for (unsigned k = 0; k < 32; k++) {
				uint64_t f = flag_combo(k);
				t->cpu->regs[R_AX] = 1;
				cpu_set_rflags(t->cpu, f, FL_ARITH);
				run_bytes(t, code, n);
				bool taken = t->cpu->regs[R_AX] == 1;
				cr_assert_eq(t->exc_vector, -1);
				cr_assert_eq(taken, ref_cond(cc, f), "mode %d %s cc %x flags %llx: taken %d",
					     mode, near ? "Jz" : "Jb", cc, (unsigned long long)f, taken);
				cr_assert_eq(t->cpu->rip, org_of(mode) + n + 1, "both paths reach the HLT");
				cr_assert_eq(th_flags(t) & FL_ARITH, f, "Jcc leaves the flags alone");
			}
		}
	}
	th_free(t);
}

TestSuite(branch);

Test(branch, jcc_every_condition_real) { jcc_all_in_mode(TH_REAL); }
Test(branch, jcc_every_condition_prot32) { jcc_all_in_mode(TH_PROT32); }
Test(branch, jcc_every_condition_long64) { jcc_all_in_mode(TH_LONG64); }
Test(branch, jcc_every_condition_prot16) { jcc_all_in_mode(TH_PROT16); }
Test(branch, jcc_every_condition_compat) { jcc_all_in_mode(TH_COMPAT); }

/* Flags from a real CMP (the lazy record) feed every condition. */
Test(branch, jcc_after_cmp_lazy_flags)
{
	static const uint32_t vals[][2] = {
		{ 0, 0 }, { 1, 2 }, { 2, 1 }, { 0x7fffffff, 0xffffffff }, { 0x80000000, 1 },
		{ 0xffffffff, 0 }, { 0x80000000, 0x7fffffff }, { 5, 0x80000005 }, { 0x103, 0x100 },
	};
	struct th *t = th_new(TH_PROT32);
	for (unsigned cc = 0; cc < 16; cc++) {
		/* cmp eax, ebx ; jcc +5 ; mov ecx, 2 */
		uint8_t code[] = { 0x39, 0xd8, (uint8_t)(0x70 | cc), 5, 0xb9, 2, 0, 0, 0 };
		for (unsigned v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			uint32_t a = vals[v][0], b = vals[v][1], r = a - b;
			uint64_t f = 0;
			if (a < b) f |= FL_CF;
			if (r == 0) f |= FL_ZF;
			if (r >> 31) f |= FL_SF;
			if (((a ^ b) & (a ^ r)) >> 31) f |= FL_OF;
			if (!__builtin_parity(r & 0xff)) f |= FL_PF;
			t->cpu->regs[R_AX] = a;
			t->cpu->regs[R_BX] = b;
			t->cpu->regs[R_CX] = 1;
			run_bytes(t, code, sizeof(code));
			cr_assert_eq(t->cpu->regs[R_CX] == 1, ref_cond(cc, f), "cc %x a %x b %x", cc, a, b);
		}
	}
	th_free(t);
}

/* 16-bit code: IP wraps at 64 KiB, backwards and forwards. */
Test(branch, ip_wraps_in_real_mode)
{
	struct th *t = th_new(TH_REAL);
	/* At IP 0x10: jmp short -0x30 -> 0x12 - 0x30 = 0xffe2. */
	th_write(t, 0xffff0 + 0xffe2, 0xf4, 1);
	run_bytes(t, (const uint8_t[]){ 0xeb, 0xd0 }, 2);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rip, 0xffe3);
	/* jmp near rel16 to 0xff00. */
	th_write(t, 0xffff0 + 0xff00, 0xf4, 1);
	run_bytes(t, (const uint8_t[]){ 0xe9, 0xed, 0xfe }, 3);
	cr_assert_eq(t->cpu->rip, 0xff01);
	/* je short backwards, taken. */
	cpu_set_rflags(t->cpu, FL_ZF, FL_ARITH);
	run_bytes(t, (const uint8_t[]){ 0x74, 0xd0 }, 2);
	cr_assert_eq(t->cpu->rip, 0xffe3);
	th_free(t);
}

Test(branch, ip_wraps_in_prot16_and_o32_does_not)
{
	struct th *t = th_new(TH_PROT16);
	/* Code at IP 0xfff0: jmp short +0x20 -> 0x10012 -> 0x0012. */
	th_write(t, TH_CODE + 0xfff0, 0x20eb, 2);
	th_write(t, TH_CODE + 0x12, 0xf4, 1);
	t->cpu->rip = 0xfff0;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rip, 0x13);

	/* The same with 0x66: a 32-bit target beyond the CS limit: #GP(0). */
	th_write(t, TH_CODE + 0xfff0, 0x20eb66, 3);
	t->cpu->rip = 0xfff0;
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->rip, 0xfff0);

	/* o32 jmp rel32 beyond the limit from IP 0. */
	run_bytes(t, (const uint8_t[]){ 0x66, 0xe9, 0x00, 0x00, 0x01, 0x00 }, 6);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->cpu->rip, 0);

	/* call with a wrapped target pushes the 16-bit return address. */
	uint64_t sp = 0x8000;
	t->cpu->regs[R_SP] = sp;
	th_write(t, TH_CODE + 0xfff0, 0x1fe8, 3);	/* call +0x1f: 0xfff3 + 0x1f = 0x10012 */
	t->cpu->rip = 0xfff0;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rip, 0x13);
	cr_assert_eq(t->cpu->regs[R_SP], sp - 2);
	cr_assert_eq(th_read(t, sp - 2, 2), 0xfff3);
	th_free(t);
}

/* 32-bit code: an o16 branch truncates EIP to 16 bits. */
Test(branch, o16_jmp_truncates_eip_in_prot32)
{
	struct th *t = th_new(TH_PROT32);
	th_write(t, 0x4000, 0xf4, 1);
	/* 66 e9 rel16 at 0x100000: next 0x100004, + 0x3ffc = 0x104000 -> 0x4000. */
	run_bytes(t, (const uint8_t[]){ 0x66, 0xe9, 0xfc, 0x3f }, 4);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rip, 0x4001);
	th_free(t);
}

Test(branch, cs_limit_gp_in_prot32)
{
	struct th *t = th_new(TH_PROT32);
	t->cpu->seg[S_CS].limit = 0x1fffff;
	cpu_update_mode(t->cpu);
	uint64_t sp = t->cpu->regs[R_SP];
	/* jmp rel32 to 0x300000 */
	run_bytes(t, (const uint8_t[]){ 0xe9, 0xfb, 0xff, 0x1f, 0x00 }, 5);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->rip, TH_CODE);
	/* call to the same target: nothing pushed. */
	th_write(t, sp - 4, 0x5a5a5a5a, 4);
	run_bytes(t, (const uint8_t[]){ 0xe8, 0xfb, 0xff, 0x1f, 0x00 }, 5);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->cpu->regs[R_SP], sp);
	cr_assert_eq(th_read(t, sp - 4, 4), 0x5a5a5a5a);
	/* The limit itself is a valid target. */
	th_write(t, 0x1fffff, 0xf4, 1);
	t->cpu->regs[R_AX] = 0x1fffff;
	run_bytes(t, (const uint8_t[]){ 0xff, 0xe0 }, 2);	/* jmp eax */
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->rip, 0x200000);
	th_free(t);
}

/* 64-bit mode: non-canonical targets #GP(0) with nothing changed. */
struct canon_case {
	const char *name;
	uint8_t code[4];
	size_t len;
	bool via_stack;		/* target comes from [rsp] (ret) */
	bool via_mem;		/* target comes from [rbx] */
};

Test(branch, noncanonical_targets_gp_long64)
{
	static const struct canon_case cases[] = {
		{ "jmp rax", { 0xff, 0xe0 }, 2, false, false },
		{ "call rax", { 0xff, 0xd0 }, 2, false, false },
		{ "jmp [rbx]", { 0xff, 0x23 }, 2, false, true },
		{ "call [rbx]", { 0xff, 0x13 }, 2, false, true },
		{ "ret", { 0xc3 }, 1, true, false },
		{ "ret 16", { 0xc2, 0x10, 0x00 }, 3, true, false },
	};
	static const uint64_t bad[] = { 0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull };
	struct th *t = th_new(TH_LONG64);
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (unsigned b = 0; b < 3; b++) {
			uint64_t sp = TH_STACK - 64;
			t->cpu->regs[R_SP] = sp;
			t->cpu->regs[R_AX] = bad[b];
			t->cpu->regs[R_BX] = TH_DATA;
			th_write(t, TH_DATA, bad[b], 8);
			th_write(t, sp, cases[c].via_stack ? bad[b] : 0x1111, 8);
			th_write(t, sp - 8, 0x2222, 8);
			run_bytes(t, cases[c].code, cases[c].len);
			cr_assert_eq(t->exc_vector, EXC_GP, "%s %llx", cases[c].name, (unsigned long long)bad[b]);
			cr_assert_eq(t->exc_error, 0);
			cr_assert_eq(t->cpu->rip, TH_CODE, "%s: RIP unchanged", cases[c].name);
			cr_assert_eq(t->cpu->regs[R_SP], sp, "%s: RSP unchanged", cases[c].name);
			cr_assert_eq(th_read(t, sp - 8, 8), 0x2222, "%s: nothing pushed", cases[c].name);
		}
	}
	/* A canonical upper-half target is accepted (and then faults on fetch). */
	t->cpu->regs[R_AX] = 0xffff800000000000ull;
	run_bytes(t, (const uint8_t[]){ 0xff, 0xe0 }, 2);
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->cpu->rip, 0xffff800000000000ull);
	th_free(t);
}

/*
 * CALL (rel, register, memory) then RET imm in every size: the callee
 * records the pushed return address (EDI) and SP after the call (EDX);
 * EBP holds SP before, ECX the expected return address, ESI = 1 shows
 * the return landed.
 */
struct call_case {
	enum th_mode mode;
	const char *src;
	unsigned width;		/* bytes pushed */
	unsigned imm;		/* RET imm */
};

#define CALL32(call, ret) \
	"mov ebp, esp\n mov ecx, after\n mov eax, f\n " call "\nafter: mov esi, 1\n hlt\n" \
	"f: mov edi, [esp]\n mov edx, esp\n " ret "\nfp: dd f\n"
#define CALL64(call, ret) \
	"mov rbp, rsp\n mov rcx, after\n mov rax, f\n " call "\nafter: mov esi, 1\n hlt\n" \
	"f: mov rdi, [rsp]\n mov rdx, rsp\n " ret "\nfp: dq f\n"
#define CALL16(call, ret) \
	"mov bp, sp\n mov ecx, after\n mov eax, f\n " call "\nafter: mov si, 1\n hlt\n" \
	"f: mov bx, sp\n mov edi, [ss:bx]\n mov dx, sp\n " ret "\nfp: dd f\n"

Test(branch, call_ret_each_size)
{
	static const struct call_case cases[] = {
		{ TH_REAL, CALL16("call f", "ret"), 2, 0 },
		{ TH_REAL, CALL16("call ax", "ret 6"), 2, 6 },
		{ TH_REAL, CALL16("call [cs:fp]", "ret 2"), 2, 2 },
		{ TH_REAL, CALL16("call dword f", "o32 ret"), 4, 0 },
		{ TH_REAL, CALL16("call eax", "o32 ret 10"), 4, 10 },
		{ TH_PROT16, CALL16("call f", "ret 4"), 2, 4 },
		{ TH_PROT16, CALL16("call dword [cs:fp]", "o32 ret 4"), 4, 4 },
		{ TH_PROT32, CALL32("call f", "ret"), 4, 0 },
		{ TH_PROT32, CALL32("call eax", "ret 8"), 4, 8 },
		{ TH_PROT32, CALL32("call [fp]", "ret 0x100"), 4, 0x100 },
		{ TH_COMPAT, CALL32("call f", "ret 4"), 4, 4 },
		{ TH_LONG64, CALL64("call f", "ret"), 8, 0 },
		{ TH_LONG64, CALL64("call rax", "ret 24"), 8, 24 },
		{ TH_LONG64, CALL64("call [rel fp]", "ret 8"), 8, 8 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct call_case *c = &cases[k];
		struct th *t = th_new(c->mode);
		uint64_t m = c->mode == TH_REAL || c->mode == TH_PROT16 ? 0xffff : ~0ull;
		t->cpu->regs[R_DI] = 0;
		run_asm(t, c->src);
		struct cpu *cpu = t->cpu;
		uint64_t wmask = c->width == 8 ? ~0ull : (1ull << (8 * c->width)) - 1;
		cr_assert_eq(t->exc_vector, -1, "case %u: exception %d at %llx", k, t->exc_vector,
			     (unsigned long long)cpu->rip);
		cr_assert_eq(cpu->regs[R_SI] & 0xffff, 1, "case %u: returned", k);
		cr_assert_eq((cpu->regs[R_DX] & m), ((cpu->regs[R_BP] - c->width) & m), "case %u: SP after call", k);
		cr_assert_eq(cpu->regs[R_DI] & wmask, cpu->regs[R_CX] & m, "case %u: return address", k);
		cr_assert_eq(cpu->regs[R_SP] & m, (cpu->regs[R_BP] + c->imm) & m, "case %u: SP after ret", k);
		th_free(t);
	}
}

/*
 * LOOP family and JCXZ: counter size is the address size; only the
 * counter register changes, the flags never do.
 */
struct loop_case {
	enum th_mode mode;
	bool a_ovr;		/* 0x67 prefix */
	uint8_t op;		/* e0 loopne, e1 loope, e2 loop, e3 jcxz */
	uint64_t rcx_in;
	bool zf;
	bool taken;
	uint64_t rcx_out;
};

Test(branch, loop_and_jcxz_counters)
{
	static const struct loop_case cases[] = {
		{ TH_PROT32, false, 0xe2, 3, false, true, 2 },
		{ TH_PROT32, false, 0xe2, 1, false, false, 0 },
		{ TH_PROT32, false, 0xe2, 0, false, true, 0xffffffff },
		{ TH_PROT32, true, 0xe2, 0x12340001, false, false, 0x12340000 },
		{ TH_PROT32, true, 0xe2, 0x12340000, false, true, 0x1234ffff },
		{ TH_PROT32, false, 0xe1, 5, true, true, 4 },
		{ TH_PROT32, false, 0xe1, 5, false, false, 4 },
		{ TH_PROT32, false, 0xe1, 1, true, false, 0 },
		{ TH_PROT32, false, 0xe0, 5, false, true, 4 },
		{ TH_PROT32, false, 0xe0, 5, true, false, 4 },
		{ TH_PROT32, false, 0xe0, 1, false, false, 0 },
		{ TH_PROT32, false, 0xe3, 0, false, true, 0 },
		{ TH_PROT32, false, 0xe3, 1, false, false, 1 },
		{ TH_PROT32, true, 0xe3, 0x10000, false, true, 0x10000 },
		{ TH_PROT32, true, 0xe3, 0x10001, false, false, 0x10001 },
		{ TH_LONG64, false, 0xe2, 0x100000000ull, false, true, 0xffffffffull },
		{ TH_LONG64, true, 0xe2, 0x100000000ull, false, true, 0xffffffffull },
		{ TH_LONG64, true, 0xe2, 0xffffffff00000001ull, false, false, 0 },
		{ TH_LONG64, false, 0xe2, 0xffffffff00000001ull, false, true, 0xffffffff00000000ull },
		{ TH_LONG64, false, 0xe1, 0x100000000ull, true, true, 0xffffffffull },
		{ TH_LONG64, false, 0xe0, 0x100000000ull, true, false, 0xffffffffull },
		{ TH_LONG64, false, 0xe3, 0x100000000ull, false, false, 0x100000000ull },
		{ TH_LONG64, true, 0xe3, 0x100000000ull, false, true, 0x100000000ull },
		{ TH_REAL, false, 0xe2, 0x50001, false, false, 0x50000 },
		{ TH_REAL, false, 0xe2, 0x50000, false, true, 0x5ffff },
		{ TH_REAL, true, 0xe2, 0x10000, false, true, 0xffff },
		{ TH_REAL, false, 0xe1, 0x7, true, true, 0x6 },
		{ TH_REAL, false, 0xe3, 0x10000, false, true, 0x10000 },
		{ TH_REAL, true, 0xe3, 0x10000, false, false, 0x10000 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct loop_case *c = &cases[k];
		struct th *t = th_new(c->mode);
		bool o16 = c->mode == TH_REAL;
		uint8_t code[16];
		size_t n = 0;
		if (c->a_ovr)
			code[n++] = 0x67;
		code[n++] = c->op;
		code[n++] = o16 ? 3 : 5;
		code[n++] = 0xb8;
		code[n++] = 2;
		code[n++] = 0;
		if (!o16) {
			code[n++] = 0;
			code[n++] = 0;
		}
		t->cpu->regs[R_AX] = 1;
		t->cpu->regs[R_CX] = c->rcx_in;
		uint64_t f = (c->zf ? FL_ZF : 0) | FL_CF | FL_SF;
		cpu_set_rflags(t->cpu, f, FL_ARITH);
		run_bytes(t, code, n);
		cr_assert_eq(t->exc_vector, -1, "case %u", k);
		cr_assert_eq(t->cpu->regs[R_AX] == 1, c->taken, "case %u taken", k);
		cr_assert_eq(t->cpu->regs[R_CX], c->rcx_out, "case %u: rcx %llx", k,
			     (unsigned long long)t->cpu->regs[R_CX]);
		cr_assert_eq(th_flags(t) & FL_ARITH, f, "case %u: flags", k);
		th_free(t);
	}
}

/* A LOOP whose taken target is outside CS faults before RCX changes. */
Test(branch, loop_gp_leaves_counter)
{
	struct th *t = th_new(TH_PROT16);
	th_write(t, TH_CODE + 0xfff0, 0x20e266, 3);	/* o32 loop +0x20 -> 0x10013 */
	t->cpu->rip = 0xfff0;
	t->cpu->regs[R_CX] = 5;
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->cpu->regs[R_CX], 5);
	cr_assert_eq(t->cpu->rip, 0xfff0);
	th_free(t);
}

/* A loop that really iterates: sum 1..10 with LOOP. */
Test(branch, loop_iterates)
{
	struct th *t = th_new(TH_LONG64);
	run_asm(t, "mov ecx, 10\n xor eax, eax\n l: add rax, rcx\n loop l\n");
	cr_assert_eq(t->cpu->regs[R_AX], 55);
	cr_assert_eq(t->cpu->regs[R_CX], 0);
	th_free(t);
}

/* Stack faults on CALL leave RSP and RIP alone (#SS in 32-bit, #PF in 64). */
Test(branch, call_stack_fault_leaves_state)
{
	struct th *t = th_new(TH_PROT32);
	t->cpu->seg[S_SS].limit = 0x7fff;
	t->cpu->seg[S_SS].attr = AR_P | AR_S | 0x3 | AR_DB;
	cpu_update_mode(t->cpu);
	t->cpu->regs[R_SP] = 0x8002;
	run_bytes(t, (const uint8_t[]){ 0xe8, 0, 0, 0, 0 }, 5);
	cr_assert_eq(t->exc_vector, EXC_SS);
	cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->regs[R_SP], 0x8002);
	cr_assert_eq(t->cpu->rip, TH_CODE);
	th_free(t);

	t = th_new(TH_LONG64);
	t->cpu->regs[R_SP] = 0x40000000ull;	/* only the first 1 GiB is mapped */
	run_bytes(t, (const uint8_t[]){ 0xe8, 0, 0, 0, 0 }, 5);
	cr_assert_eq(t->exc_vector, -1, "the slot below 1 GiB is mapped");
	t->cpu->regs[R_SP] = 0x40000010ull;
	run_bytes(t, (const uint8_t[]){ 0xe8, 0, 0, 0, 0 }, 5);
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->cpu->regs[R_SP], 0x40000010ull);
	cr_assert_eq(t->cpu->rip, TH_CODE);
	th_free(t);
}
