/*
 * harness.c - a small machine for instruction tests (see harness.h).
 *
 * Guest memory layout the modes set up:
 *   0x01000 GDT (one page; selectors below), 0x02000 IDT (zeroed)
 *   0x10000 32-bit page directory (4 MiB pages)
 *   0x11000 PAE PDPT, 0x12000 PAE page directory (2 MiB pages, first 1 GiB)
 *   0x13000 PML4, 0x14000 PDPT, 0x15000 PD (2 MiB pages, first 1 GiB)
 *   TH_STACK stack top, TH_CODE code, TH_DATA free data
 * Selectors: 0x08 code32, 0x10 data32, 0x18 code64, 0x20 code16,
 * 0x28 data16, 0x33 user code32, 0x3b user data, 0x43 user code64.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/cpu/block.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"
#include "emu/cpu/insn.h"
#include "emu/mmu/mmu.h"

#define GDT_BASE 0x1000
#define IDT_BASE 0x2000
#define PD32 0x10000
#define PAE_PDPT 0x11000
#define PAE_PD 0x12000
#define PML4 0x13000
#define PDPT 0x14000
#define PD64 0x15000

static const uint64_t gdt[] = {
	0,
	0x00cf9b000000ffffull,	/* 0x08 code32 */
	0x00cf93000000ffffull,	/* 0x10 data32 */
	0x00af9b000000ffffull,	/* 0x18 code64 */
	0x008f9b000000ffffull,	/* 0x20 code16 (4 GiB limit) */
	0x008f93000000ffffull,	/* 0x28 data16 */
	0x00cffb000000ffffull,	/* 0x30 user code32 */
	0x00cff3000000ffffull,	/* 0x38 user data */
	0x00affb000000ffffull,	/* 0x40 user code64 */
};

static bool th_intercept(struct cpu *cpu, struct virt_event *ev);
static const struct virt_ops th_ops = { .intercept = th_intercept };

/* The harness finds its struct th from the cpu through virt_state. */
static bool th_intercept(struct cpu *cpu, struct virt_event *ev)
{
	struct th *t = cpu->virt_state;
	if (t->record_events && t->nevents < TH_MAX_EVENTS)
		t->events[t->nevents++] = *ev;
	if (t->policy && t->policy(t, ev)) {
		cpu->pending |= PEND_EXIT;
		return true;
	}
	if (ev->kind == VE_EXCEPTION && !t->deliver_exceptions) {
		t->exc_vector = (int)ev->a;
		t->exc_error = (uint32_t)ev->b;
		cpu->pending |= PEND_EXIT;
		return true;
	}
	return false;
}

static void set_seg(struct seg *s, uint16_t sel, uint64_t desc)
{
	s->sel = sel;
	s->base = ((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000);
	uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));
	uint32_t attr = (uint32_t)((desc >> 40) & 0xff) | (uint32_t)(((desc >> 52) & 0xf) << 12);
	if (attr & AR_G)
		limit = limit << 12 | 0xfff;
	s->limit = limit;
	s->attr = attr;
}

static void setup_tables(struct th *t)
{
	for (unsigned k = 0; k < sizeof(gdt) / sizeof(gdt[0]); k++)
		th_write(t, GDT_BASE + 8 * k, gdt[k], 8);
	/* 32-bit paging: 4 MiB pages for the first 64 MiB. */
	for (unsigned k = 0; k < 16; k++)
		th_write(t, PD32 + 4 * k, (k << 22) | 0x87, 4);	/* P RW US PS */
	/* PAE: one PD covering the first 1 GiB with 2 MiB pages. */
	th_write(t, PAE_PDPT, PAE_PD | 1, 8);
	for (unsigned k = 0; k < 512; k++)
		th_write(t, PAE_PD + 8 * k, ((uint64_t)k << 21) | 0x87, 8);
	/* 4-level: PML4[0] -> PDPT[0] -> PD with 2 MiB pages. */
	th_write(t, PML4, PDPT | 7, 8);
	th_write(t, PDPT, PD64 | 7, 8);
	for (unsigned k = 0; k < 512; k++)
		th_write(t, PD64 + 8 * k, ((uint64_t)k << 21) | 0x87, 8);
}

static void enter_mode(struct th *t)
{
	struct cpu *c = t->cpu;
	c->gdtr.base = GDT_BASE;
	c->gdtr.limit = 0xfff;
	c->idtr.base = IDT_BASE;
	c->idtr.limit = 0xfff;
	c->regs[R_SP] = TH_STACK;
	switch (t->mode) {
	case TH_REAL:
		c->idtr.base = 0;
		c->idtr.limit = 0x3ff;
		c->seg[S_CS] = (struct seg){ .sel = 0xffff, .base = 0xffff0, .limit = 0xffff, .attr = AR_P | AR_S | 0xb };
		for (int s = 0; s < S_NSEG; s++)
			if (s != S_CS)
				c->seg[s] = (struct seg){ .sel = 0, .base = 0, .limit = 0xffff, .attr = AR_P | AR_S | 0x3 };
		c->seg[S_SS] = (struct seg){ .sel = 0x7000, .base = 0x70000, .limit = 0xffff, .attr = AR_P | AR_S | 0x3 };
		c->regs[R_SP] = 0xfffe;
		c->rip = 0x10;
		break;
	case TH_PROT16:
		c->cr0 |= CR0_PE;
		set_seg(&c->seg[S_CS], 0x20, gdt[4]);
		c->seg[S_CS].base = TH_CODE;
		c->seg[S_CS].limit = 0xffff;
		for (int s = 0; s < S_NSEG; s++)
			if (s != S_CS)
				set_seg(&c->seg[s], 0x28, gdt[5]);
		c->regs[R_SP] = 0x8000;	/* 16-bit stack: SP must fit in 16 bits */
		c->rip = 0;
		break;
	default:
		c->cr0 |= CR0_PE;
		set_seg(&c->seg[S_CS], 0x08, gdt[1]);
		for (int s = 0; s < S_NSEG; s++)
			if (s != S_CS)
				set_seg(&c->seg[s], 0x10, gdt[2]);
		c->rip = TH_CODE;
		break;
	}
	switch (t->mode) {
	case TH_PROT32PG:
		c->cr3 = PD32;
		c->cr4 |= CR4_PSE;
		c->cr0 |= CR0_PG;
		break;
	case TH_PAE32:
		c->cr3 = PAE_PDPT;
		c->cr4 |= CR4_PAE;
		c->cr0 |= CR0_PG;
		break;
	case TH_LONG64:
	case TH_COMPAT:
		c->cr3 = PML4;
		c->cr4 |= CR4_PAE;
		c->efer |= EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
		c->cr0 |= CR0_PG;
		if (t->mode == TH_LONG64)
			set_seg(&c->seg[S_CS], 0x18, gdt[3]);
		break;
	default:
		break;
	}
	c->cr0 &= ~(uint64_t)(CR0_CD | CR0_NW);
	c->cr0 |= CR0_NE | CR0_ET;
	if (cpu_has(c, FEAT_FXSR))
		c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	tlb_flush_all(c);
	cpu_update_mode(c);
}

/*
 * Machines a test did not free (it failed an assertion, or forgot) are
 * freed at exit, so sanitizer builds report only real leaks. Test-process
 * bookkeeping only: each Criterion test runs in its own process.
 */
#define TH_LIVE_MAX 64
static struct th *th_live[TH_LIVE_MAX];

static void th_free_live(void)
{
	for (int k = 0; k < TH_LIVE_MAX; k++)
		if (th_live[k])
			th_free(th_live[k]);
}

static void th_track(struct th *t, struct th *old)
{
	static bool registered;
	if (!registered) {
		atexit(th_free_live);
		registered = true;
	}
	for (int k = 0; k < TH_LIVE_MAX; k++)
		if (th_live[k] == old) {
			th_live[k] = t;
			return;
		}
}

struct th *th_new(enum th_mode mode)
{
	struct th *t = calloc(1, sizeof(*t));
	cr_assert(t);
	th_track(t, NULL);
	struct machine *m = calloc(1, sizeof(*m));
	cr_assert(m);
	m->log.out = stderr;
	m->cfg.ram_size = TH_RAM;
	m->cfg.ncpus = 1;
	cr_assert_eq(memmap_init(&m->mem, TH_RAM), 0);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, TH_RAM, 0, "ram"), 0);
	m->bc = bc_create();
	struct cpu *c = calloc(1, sizeof(*c));
	cr_assert(c);
	const struct cpu_model *model = cpu_model_find("skylake");
	cr_assert(model, "the skylake CPU model is missing");
	m->cpus[0] = c;
	m->ncpus = 1;
	cr_assert_eq(cpu_init(c, m, 0, model), 0);
	t->m = m;
	t->cpu = c;
	t->mode = mode;
	t->exc_vector = -1;
	c->virt = &th_ops;
	c->virt_state = t;
	if (getenv("NESTEMU_COVERAGE_DIR"))
		m->op_seen = calloc(opcode_table_len, 1);
	setup_tables(t);
	enter_mode(t);
	return t;
}

/* Appends the opcode-table entries this machine decoded to a file per
 * process in $NESTEMU_COVERAGE_DIR (read by tests/opcov.c). */
static void coverage_flush(struct machine *m)
{
	const char *dir = getenv("NESTEMU_COVERAGE_DIR");
	if (!dir || !m->op_seen)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/cov-%d", dir, (int)getpid());
	FILE *f = fopen(path, "a");
	if (f) {
		for (unsigned k = 0; k < opcode_table_len; k++)
			if (m->op_seen[k])
				fprintf(f, "%u\n", k);
		fclose(f);
	}
	free(m->op_seen);
	m->op_seen = NULL;
}

void th_free(struct th *t)
{
	if (!t)
		return;
	th_track(NULL, t);
	coverage_flush(t->m);
	bc_destroy(t->m->bc);
	memmap_destroy(&t->m->mem);
	cpu_destroy(t->cpu);
	free(t->cpu);
	free(t->m);
	free(t);
}

static unsigned mode_bits(enum th_mode mode)
{
	switch (mode) {
	case TH_REAL: case TH_PROT16: return 16;
	case TH_LONG64: return 64;
	default: return 32;
	}
}

static uint64_t code_org(enum th_mode mode)
{
	return mode == TH_REAL ? 0x10 : mode == TH_PROT16 ? 0 : TH_CODE;
}

void th_code(struct th *t, const void *bytes, size_t len)
{
	static const uint8_t hlt = 0xf4;
	th_poke(t, TH_CODE, bytes, len);
	th_poke(t, TH_CODE + len, &hlt, 1);
	t->code_len = len;
}

void th_asm(struct th *t, const char *src)
{
	char in[] = "/tmp/nestemu-th-XXXXXX";
	int fd = mkstemp(in);
	cr_assert(fd >= 0, "mkstemp failed");
	char out[64];
	snprintf(out, sizeof(out), "%s.bin", in);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "bits %u\norg 0x%llx\n%s\n", mode_bits(t->mode), (unsigned long long)code_org(t->mode), src);
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "nasm -f bin -o %s %s 2>&1", out, in);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "cannot run nasm");
	char msg[1024] = "";
	size_t got = fread(msg, 1, sizeof(msg) - 1, p);
	msg[got] = 0;
	int rc = pclose(p);
	unlink(in);
	cr_assert_eq(rc, 0, "nasm failed on:\n%s\n%s", src, msg);
	FILE *b = fopen(out, "rb");
	cr_assert(b);
	uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), b);
	fclose(b);
	unlink(out);
	th_code(t, buf, n);
}

uint64_t th_run_n(struct th *t, uint64_t max_insns)
{
	struct cpu *c = t->cpu;
	uint64_t budget = max_insns ? max_insns : 1000000;
	uint64_t start = c->icount, steps = 0;
	t->exc_vector = -1;
	c->halted = false;
	while (steps < budget) {
		c->pending &= ~(uint32_t)PEND_EXIT;
		steps += cpu_run(c, budget - steps);
		if (c->halted || t->exc_vector >= 0 || (c->pending & PEND_EXIT))
			break;
	}
	c->pending &= ~(uint32_t)PEND_EXIT;
	t->retired = c->icount - start;
	return t->retired;
}

void th_poke(struct th *t, uint64_t pa, const void *buf, size_t len)
{
	phys_write(t->m, pa, buf, len);
}

void th_peek(struct th *t, uint64_t pa, void *buf, size_t len)
{
	phys_read(t->m, pa, buf, len);
}

uint64_t th_read(struct th *t, uint64_t pa, unsigned size)
{
	uint64_t v = 0;
	th_peek(t, pa, &v, size);
	return v;
}

void th_write(struct th *t, uint64_t pa, uint64_t v, unsigned size)
{
	th_poke(t, pa, &v, size);
}

int th_try(struct th *t, void (*fn)(struct th *t, void *arg), void *arg)
{
	struct cpu *c = t->cpu;
	c->exc_vector = -1;
	c->jmp_valid = true;
	if (setjmp(c->jmp)) {
		c->jmp_valid = false;
		return c->exc_vector;
	}
	fn(t, arg);
	c->jmp_valid = false;
	return -1;
}

uint64_t th_flags(struct th *t)
{
	return cpu_get_rflags(t->cpu);
}
