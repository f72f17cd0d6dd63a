/*
 * test_io.c - IN/OUT in every form and size, INS/OUTS with REP and DF,
 * the VE_IO intercept (event contents, and stopping the instruction), and
 * the TSS I/O permission bitmap at CPL 3 (denial is #GP(0) before any
 * device access; IOPL and CPL 0 bypass it).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/virt.h"
#include "emu/machine.h"

/* A test device: reads return a counter tagged with the port, writes are logged. */
struct iodev {
	unsigned nreads;
	unsigned nwrites;
	uint32_t next;			/* value source for reads */
	struct { uint16_t port; uint32_t value; unsigned size; } w[64];
	struct { uint16_t port; unsigned size; } r[64];
};

static uint32_t dev_read(void *opaque, uint16_t port, unsigned size)
{
	struct iodev *d = opaque;
	if (d->nreads < 64)
		d->r[d->nreads] = (typeof(d->r[0])){ port, size };
	d->nreads++;
	return d->next++;
}

static void dev_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct iodev *d = opaque;
	if (d->nwrites < 64)
		d->w[d->nwrites] = (typeof(d->w[0])){ port, value, size };
	d->nwrites++;
}

static uint64_t org_of(enum th_mode m)
{
	return m == TH_REAL ? 0x10 : m == TH_PROT16 ? 0 : TH_CODE;
}

static void run_asm(struct th *t, const char *src)
{
	th_asm(t, src);
	t->cpu->rip = org_of(t->mode);
	th_run(t);
}

static struct th *io_th(enum th_mode mode, struct iodev *d)
{
	struct th *t = th_new(mode);
	memset(d, 0, sizeof(*d));
	d->next = 0x81828384;
	cr_assert_eq(machine_add_io(t->m, 0xd0, 32, dev_read, dev_write, d, "test-d0"), 0);
	cr_assert_eq(machine_add_io(t->m, 0x300, 16, dev_read, dev_write, d, "test-300"), 0);
	return t;
}

TestSuite(io);

struct in_case {
	enum th_mode mode;
	const char *src;
	uint16_t port;
	unsigned size;
	uint64_t rax_in, rax_out;	/* device returns 0x81828384 */
};

Test(io, in_every_form)
{
	static const struct in_case cases[] = {
		{ TH_PROT32, "in al, 0xe3", 0xe3, 1, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaa84ull },
		{ TH_PROT32, "in ax, 0xe4", 0xe4, 2, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaa8384ull },
		{ TH_PROT32, "in eax, 0xe8", 0xe8, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_PROT32, "mov dx, 0x305\n in al, dx", 0x305, 1, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaa84ull },
		{ TH_PROT32, "mov dx, 0x306\n in ax, dx", 0x306, 2, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaa8384ull },
		{ TH_PROT32, "mov dx, 0x308\n in eax, dx", 0x308, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_REAL, "in al, 0xe1", 0xe1, 1, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaa84ull },
		{ TH_REAL, "in ax, 0xe2", 0xe2, 2, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaa8384ull },
		{ TH_REAL, "in eax, 0xe4", 0xe4, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_REAL, "mov dx, 0x30c\n in eax, dx", 0x30c, 4, 0, 0x81828384ull },
		{ TH_LONG64, "in al, 0xe3", 0xe3, 1, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaa84ull },
		{ TH_LONG64, "in ax, 0xe4", 0xe4, 2, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaa8384ull },
		{ TH_LONG64, "in eax, 0xe8", 0xe8, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_LONG64, "db 0x48, 0xe5, 0xe8", 0xe8, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_LONG64, "mov dx, 0x301\n in eax, dx", 0x301, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_LONG64, "mov dx, 0x301\n db 0x48, 0xed", 0x301, 4, 0xaaaaaaaaaaaaaaaaull, 0x81828384ull },
		{ TH_LONG64, "mov dx, 0x30f\n in al, dx", 0x30f, 1, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaa84ull },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct in_case *c = &cases[k];
		struct iodev d;
		struct th *t = io_th(c->mode, &d);
		t->record_events = true;
		t->cpu->regs[R_AX] = c->rax_in;
		run_asm(t, c->src);
		cr_assert_eq(t->exc_vector, -1, "case %u (%s)", k, c->src);
		cr_assert_eq(t->cpu->regs[R_AX], c->rax_out, "case %u (%s): %llx", k, c->src,
			     (unsigned long long)t->cpu->regs[R_AX]);
		cr_assert_eq(d.nreads, 1, "case %u", k);
		cr_assert_eq(d.r[0].port, c->port, "case %u", k);
		cr_assert_eq(d.r[0].size, c->size, "case %u", k);
		/* the intercept saw it first */
		bool seen = false;
		for (int e = 0; e < t->nevents; e++) {
			const struct virt_event *ev = &t->events[e];
			if (ev->kind != VE_IO)
				continue;
			cr_assert_eq(ev->a, c->port);
			cr_assert_eq(ev->b, c->size);
			cr_assert_eq(ev->c, VE_IO_IN);
			seen = true;
		}
		cr_assert(seen, "case %u: VE_IO event", k);
		th_free(t);
	}
}

struct out_case {
	enum th_mode mode;
	const char *src;
	uint16_t port;
	unsigned size;
	uint32_t value;		/* RAX = 0x1122334455667788 */
};

Test(io, out_every_form)
{
	static const struct out_case cases[] = {
		{ TH_PROT32, "out 0xe3, al", 0xe3, 1, 0x88 },
		{ TH_PROT32, "out 0xe4, ax", 0xe4, 2, 0x7788 },
		{ TH_PROT32, "out 0xe8, eax", 0xe8, 4, 0x55667788 },
		{ TH_PROT32, "mov dx, 0x300\n out dx, al", 0x300, 1, 0x88 },
		{ TH_PROT32, "mov dx, 0x302\n out dx, ax", 0x302, 2, 0x7788 },
		{ TH_PROT32, "mov dx, 0x304\n out dx, eax", 0x304, 4, 0x55667788 },
		{ TH_REAL, "out 0xe0, al", 0xe0, 1, 0x88 },
		{ TH_REAL, "out 0xe0, eax", 0xe0, 4, 0x55667788 },
		{ TH_REAL, "mov dx, 0x30e\n out dx, ax", 0x30e, 2, 0x7788 },
		{ TH_LONG64, "out 0xef, al", 0xef, 1, 0x88 },
		{ TH_LONG64, "out 0xe8, eax", 0xe8, 4, 0x55667788 },
		{ TH_LONG64, "db 0x48, 0xe7, 0xe8", 0xe8, 4, 0x55667788 },
		{ TH_LONG64, "mov dx, 0x30a\n out dx, ax", 0x30a, 2, 0x7788 },
		{ TH_LONG64, "mov dx, 0x30a\n db 0x48, 0xef", 0x30a, 4, 0x55667788 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct out_case *c = &cases[k];
		struct iodev d;
		struct th *t = io_th(c->mode, &d);
		t->record_events = true;
		t->cpu->regs[R_AX] = 0x1122334455667788ull;
		run_asm(t, c->src);
		cr_assert_eq(t->exc_vector, -1, "case %u (%s)", k, c->src);
		cr_assert_eq(d.nwrites, 1, "case %u", k);
		cr_assert_eq(d.w[0].port, c->port, "case %u", k);
		cr_assert_eq(d.w[0].size, c->size, "case %u", k);
		cr_assert_eq(d.w[0].value, c->value, "case %u: %x", k, d.w[0].value);
		cr_assert_eq(t->cpu->regs[R_AX], 0x1122334455667788ull);
		bool seen = false;
		for (int e = 0; e < t->nevents; e++) {
			const struct virt_event *ev = &t->events[e];
			if (ev->kind != VE_IO)
				continue;
			cr_assert_eq(ev->a, c->port);
			cr_assert_eq(ev->b, c->size);
			cr_assert_eq(ev->c, 0);
			cr_assert_eq(ev->d, c->value);
			seen = true;
		}
		cr_assert(seen, "case %u: VE_IO event", k);
		th_free(t);
	}
}

/* INS/OUTS: each size, REP, both directions, and the event flags. */
Test(io, ins_outs)
{
	static const char *const ins[] = { "insb", "insw", "insd" };
	static const char *const outs[] = { "outsb", "outsw", "outsd" };
	for (unsigned sz = 0; sz < 3; sz++) {
		unsigned w = 1u << sz;
		for (int df = 0; df < 2; df++) {
			for (int rep = 0; rep < 2; rep++) {
				struct iodev d;
				struct th *t = io_th(TH_PROT32, &d);
				t->record_events = true;
				cpu_set_rflags(t->cpu, df ? FL_DF : 0, FL_DF);
				uint64_t D = TH_DATA + 0x100;
				unsigned n = rep ? 5 : 1;
				t->cpu->regs[R_DX] = 0x304;
				t->cpu->regs[R_DI] = D;
				t->cpu->regs[R_CX] = n;
				char src[32];
				snprintf(src, sizeof(src), "%s%s", rep ? "rep " : "", ins[sz]);
				run_asm(t, src);
				cr_assert_eq(t->exc_vector, -1);
				cr_assert_eq(d.nreads, n, "%s", src);
				int64_t step = df ? -(int64_t)w : (int64_t)w;
				for (unsigned e = 0; e < n; e++) {
					uint32_t want = (0x81828384u + e) & (uint32_t)((1ull << (8 * w)) - 1);
					cr_assert_eq(th_read(t, D + e * step, w), want, "%s element %u", src, e);
					cr_assert_eq(d.r[e].size, w);
					cr_assert_eq(d.r[e].port, 0x304);
				}
				cr_assert_eq(t->cpu->regs[R_DI], D + n * step);
				cr_assert_eq(t->cpu->regs[R_CX], rep ? 0 : n);
				cr_assert(t->nevents > 0 && t->events[0].kind == VE_IO);
				cr_assert_eq(t->events[0].c, VE_IO_IN | VE_IO_STRING | (rep ? VE_IO_REP : 0));

				/* OUTS of what INS stored, back to the device. */
				t->nevents = 0;
				t->cpu->regs[R_SI] = D;
				t->cpu->regs[R_CX] = n;
				snprintf(src, sizeof(src), "%s%s", rep ? "rep " : "", outs[sz]);
				run_asm(t, src);
				cr_assert_eq(t->exc_vector, -1);
				cr_assert_eq(d.nwrites, n, "%s", src);
				for (unsigned e = 0; e < n; e++) {
					uint32_t want = (0x81828384u + e) & (uint32_t)((1ull << (8 * w)) - 1);
					cr_assert_eq(d.w[e].value, want, "%s element %u", src, e);
					cr_assert_eq(d.w[e].size, w);
				}
				cr_assert_eq(t->cpu->regs[R_SI], D + n * step);
				cr_assert_eq(t->events[0].c, VE_IO_STRING | (rep ? VE_IO_REP : 0));
				th_free(t);
			}
		}
	}
}

/* REP INS with a zero count touches nothing; 64-bit REX.W OUTS moves 4 bytes. */
Test(io, ins_outs_edges)
{
	struct iodev d;
	struct th *t = io_th(TH_LONG64, &d);
	t->cpu->regs[R_DX] = 0x300;
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_CX] = 0;
	run_asm(t, "rep insb");
	cr_assert_eq(d.nreads, 0);
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA);

	th_write(t, TH_DATA, 0x1122334455667788ull, 8);
	t->cpu->regs[R_SI] = TH_DATA;
	run_asm(t, "db 0x48, 0x6f");	/* REX.W outsd */
	cr_assert_eq(d.nwrites, 1);
	cr_assert_eq(d.w[0].size, 4);
	cr_assert_eq(d.w[0].value, 0x55667788);
	cr_assert_eq(t->cpu->regs[R_SI], TH_DATA + 4);

	/* a32 rep insw counts with ECX, writes through EDI */
	t->cpu->regs[R_DI] = 0xffffffff00000000ull | (TH_DATA + 0x40);
	t->cpu->regs[R_CX] = 0x100000002ull;
	run_asm(t, "a32 rep insw");
	cr_assert_eq(d.nreads, 2);
	cr_assert_eq(t->cpu->regs[R_CX], 0);
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 0x44);

	/* INS to an unmapped destination faults before the port is read */
	t->cpu->regs[R_DI] = 0x40000000ull;
	t->cpu->regs[R_CX] = 3;
	run_asm(t, "rep insb");
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(d.nreads, 2, "no port read for the faulting element");
	cr_assert_eq(t->cpu->regs[R_CX], 3);
	th_free(t);
}

/* An intercepting policy stops the instruction before it changes anything. */
static bool stop_io(struct th *t, struct virt_event *ev)
{
	(void)t;
	return ev->kind == VE_IO;
}

Test(io, intercept_stops_instruction)
{
	struct iodev d;
	struct th *t = io_th(TH_PROT32, &d);
	t->policy = stop_io;
	t->cpu->regs[R_AX] = 0x12345678;
	run_asm(t, "in eax, 0xe0");
	cr_assert_eq(d.nreads, 0);
	cr_assert_eq(t->cpu->regs[R_AX], 0x12345678);
	run_asm(t, "out 0xe0, eax");
	cr_assert_eq(d.nwrites, 0);
	t->cpu->regs[R_DX] = 0x300;
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_CX] = 4;
	run_asm(t, "rep insd");
	cr_assert_eq(d.nreads, 0);
	cr_assert_eq(t->cpu->regs[R_CX], 4);
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA);
	th_free(t);
}

/*
 * TSS I/O permission bitmap at CPL 3 (paging off, flat user segments).
 * TSS at 0x6000, bitmap at +0x68 covering ports 0..0xff (32 bytes) plus
 * the terminating byte: limit 0x88. Port 0xe1 is denied, 0x300 is beyond
 * the bitmap.
 */
#define TSS 0x6000

static struct th *user_th(struct iodev *d, unsigned iopl)
{
	struct th *t = io_th(TH_PROT32, d);
	struct cpu *c = t->cpu;
	c->seg[S_CS].sel = 0x33;
	c->seg[S_CS].attr |= 3u << AR_DPL_SHIFT;
	for (int s = 0; s < S_NSEG; s++) {
		if (s == S_CS)
			continue;
		c->seg[s].sel = 0x3b;
		c->seg[s].attr |= 3u << AR_DPL_SHIFT;
	}
	c->tr.sel = 0x48;
	c->tr.base = TSS;
	c->tr.limit = 0x88;
	c->tr.attr = 0xb | AR_P;
	th_write(t, TSS + 0x66, 0x68, 2);
	for (unsigned k = 0; k < 33; k++)
		th_write(t, TSS + 0x68 + k, k == 32 ? 0xff : 0, 1);
	th_write(t, TSS + 0x68 + (0xe1 >> 3), 1u << (0xe1 & 7), 1);
	cpu_set_rflags(c, (uint64_t)iopl << 12, FL_IOPL);
	cpu_update_mode(c);
	cr_assert_eq(c->cpl, 3);
	return t;
}

struct perm_case {
	const char *src;
	bool allowed;
};

Test(io, bitmap_at_cpl3)
{
	static const struct perm_case cases[] = {
		{ "in al, 0xe0", true },
		{ "in al, 0xe1", false },
		{ "in al, 0xe2", true },
		{ "in ax, 0xe0", false },	/* covers 0xe1 */
		{ "in ax, 0xe2", true },
		{ "in eax, 0xde", false },	/* 0xde..0xe1 */
		{ "in eax, 0xe2", true },
		{ "out 0xe1, al", false },
		{ "out 0xe4, eax", true },
		{ "mov dx, 0xe1\n in al, dx", false },
		{ "mov dx, 0xe1\n out dx, ax", false },
		{ "mov dx, 0xe8\n out dx, eax", true },
		{ "mov dx, 0x300\n in al, dx", false },	/* beyond the TSS limit */
		{ "mov dx, 0xe1\n mov edi, 0x200000\n mov ecx, 2\n rep insb", false },
		{ "mov dx, 0xe1\n mov esi, 0x200000\n outsb", false },
		{ "mov dx, 0xe2\n mov edi, 0x200000\n mov ecx, 2\n rep insb", true },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (unsigned iopl = 0; iopl < 4; iopl += 3) {
			struct iodev d;
			struct th *t = user_th(&d, iopl);
			th_asm(t, cases[k].src);
			uint64_t end = TH_CODE + t->code_len;	/* the HLT, which #GPs at CPL 3 */
			t->cpu->regs[R_CX] = 0x77;
			t->cpu->rip = TH_CODE;
			th_run(t);
			bool allowed = cases[k].allowed || iopl == 3;
			cr_assert_eq(t->exc_vector, EXC_GP, "case %u", k);
			cr_assert_eq(t->exc_error, 0);
			if (allowed) {
				cr_assert_eq(t->cpu->rip, end, "case %u (%s) iopl %u: allowed", k, cases[k].src, iopl);
				cr_assert(d.nreads + d.nwrites > 0, "case %u", k);
			} else {
				cr_assert_neq(t->cpu->rip, end, "case %u (%s): denied", k, cases[k].src);
				cr_assert_eq(d.nreads + d.nwrites, 0, "case %u: no device access", k);
				if (strstr(cases[k].src, "rep"))
					cr_assert_eq(t->cpu->regs[R_CX], 2, "case %u: RCX unchanged", k);
			}
			th_free(t);
		}
	}
}

/* CPL 0 ignores the bitmap; a 16-bit TSS (no bitmap) denies at CPL 3. */
Test(io, bitmap_bypass_and_16bit_tss)
{
	struct iodev d;
	struct th *t = io_th(TH_PROT32, &d);
	t->cpu->tr.base = TSS;
	t->cpu->tr.limit = 0x67;
	t->cpu->tr.attr = 0xb | AR_P;
	run_asm(t, "mov dx, 0x300\n in al, dx");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(d.nreads, 1);
	th_free(t);

	t = user_th(&d, 0);
	t->cpu->tr.attr = 0x3 | AR_P;	/* busy 16-bit TSS */
	th_asm(t, "in al, 0xe0");
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_GP);
	cr_assert_eq(t->cpu->rip, TH_CODE);
	cr_assert_eq(d.nreads, 0);
	th_free(t);
}

/* Virtual-8086 mode consults the bitmap whatever IOPL says. */
Test(io, bitmap_in_v86)
{
	static const struct { uint8_t code[2]; bool allowed; } cases[] = {
		{ { 0xe4, 0xe0 }, true }, { { 0xe4, 0xe1 }, false }, { { 0xe6, 0xe1 }, false },
		{ { 0xe5, 0xe0 }, false }, { { 0xe5, 0xe2 }, true },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (unsigned iopl = 0; iopl < 4; iopl += 3) {
			struct iodev d;
			struct th *t = user_th(&d, iopl);
			struct cpu *c = t->cpu;
			c->seg[S_CS] = (struct seg){ .sel = 0xffff, .base = 0xffff0, .limit = 0xffff,
						     .attr = AR_P | AR_S | 0xb | (3u << AR_DPL_SHIFT) };
			for (int s = 0; s < S_NSEG; s++)
				if (s != S_CS)
					c->seg[s] = (struct seg){ .sel = 0, .base = 0, .limit = 0xffff,
								  .attr = AR_P | AR_S | 0x3 | (3u << AR_DPL_SHIFT) };
			c->regs[R_SP] = 0x8000;
			cpu_set_rflags(c, FL_VM, FL_VM);
			cpu_update_mode(c);
			cr_assert_eq(c->mode, MODE_V86);
			th_code(t, cases[k].code, 2);
			c->rip = 0x10;
			th_run(t);
			bool allowed = cases[k].allowed;
			cr_assert_eq(t->exc_vector, EXC_GP, "case %u", k);
			if (allowed) {
				cr_assert_eq(c->rip, 0x12, "case %u iopl %u: allowed (then HLT faults)", k, iopl);
				cr_assert_eq(d.nreads + d.nwrites, 1);
			} else {
				cr_assert_eq(c->rip, 0x10, "case %u iopl %u: denied", k, iopl);
				cr_assert_eq(d.nreads + d.nwrites, 0);
			}
			th_free(t);
		}
	}
}
