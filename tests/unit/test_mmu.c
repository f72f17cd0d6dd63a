/*
 * test_mmu.c - the slow paths behind mem.h: every size at every offset
 * around a page boundary, page crossings whose second page faults (memory
 * unchanged, CR2 at the second page), MMIO and ROM through linear
 * mappings, #AC, blocks, probes, and code-page invalidation on writes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/block.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/insn.h"
#include "emu/cpu/mem.h"
#include "emu/mmu/mmu.h"

#define PT_POOL 0x3000000ull	/* page tables the tests add */
#define PG_P 0x1ull
#define PG_RW 0x2ull
#define PG_US 0x4ull
#define PG_D 0x40ull
#define PG_PS 0x80ull

struct env {
	struct th *t;
	uint64_t pool;
};

/* TH_LONG64: identity 2 MiB pages over the first 1 GiB (harness). */
static struct th *setup(struct env *e)
{
	e->t = th_new(TH_LONG64);
	e->pool = PT_POOL;
	e->t->cpu->cr0 |= CR0_WP;
	cpu_update_mode(e->t->cpu);
	tlb_flush_all(e->t->cpu);
	return e->t;
}

/* Maps the 4 KiB page at lin (< 1 GiB) to pa, splitting its 2 MiB page
 * into an identity page table first. */
static void map4k(struct env *e, uint64_t lin, uint64_t pa, uint64_t flags)
{
	struct th *t = e->t;
	struct walk_result w;
	mmu_walk_info(t->cpu, lin & ~0x1fffffull, ACC_READ, &w);
	cr_assert_geq(w.nsteps, 3);
	uint64_t pde_addr = w.steps[2].entry_addr;
	uint64_t pde = th_read(t, pde_addr, 8);
	if (pde & PG_PS) {
		uint64_t pt = e->pool;
		e->pool += 4096;
		uint64_t base = pde & 0x000fffffffe00000ull;
		for (unsigned k = 0; k < 512; k++)
			th_write(t, pt + 8 * k, (base + 4096ull * k) | PG_P | PG_RW | PG_US, 8);
		th_write(t, pde_addr, pt | PG_P | PG_RW | PG_US, 8);
		pde = pt | PG_P | PG_RW | PG_US;
	}
	uint64_t pt = pde & 0x000ffffffffff000ull;
	th_write(t, pt + ((lin >> 12) & 0x1ff) * 8, pa | flags, 8);
	tlb_flush_all(t->cpu);
}

/* ---- calling the slow paths under the harness's unwinding point ---- */

struct op {
	int kind;		/* 0 read, 1 write, 2 read block, 3 write block, 4 probe */
	uint64_t lin;
	unsigned size;
	unsigned acc;
	uint64_t val;
	uint8_t buf[600];
};

static void op_fn(struct th *t, void *arg)
{
	struct op *o = arg;
	switch (o->kind) {
	case 0: o->val = mmu_read_slow(t->cpu, o->lin, o->size, o->acc); break;
	case 1: mmu_write_slow(t->cpu, o->lin, o->val, o->size, o->acc); break;
	case 2: mmu_read_block(t->cpu, o->lin, o->buf, o->size, o->acc); break;
	case 3: mmu_write_block(t->cpu, o->lin, o->buf, o->size, o->acc); break;
	default: mmu_probe_write(t->cpu, o->lin, o->size); break;
	}
}

static int rd(struct th *t, uint64_t lin, unsigned size, unsigned acc, uint64_t *v)
{
	struct op o = { .kind = 0, .lin = lin, .size = size, .acc = acc };
	int r = th_try(t, op_fn, &o);
	if (v)
		*v = o.val;
	return r;
}

static int wr(struct th *t, uint64_t lin, unsigned size, unsigned acc, uint64_t v)
{
	struct op o = { .kind = 1, .lin = lin, .size = size, .acc = acc, .val = v };
	return th_try(t, op_fn, &o);
}

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

Test(mmu, all_sizes_all_offsets_across_split_pages)
{
	struct env e;
	struct th *t = setup(&e);
	/* Linear 0x400000/0x401000 map to two far-apart physical pages. */
	map4k(&e, 0x400000, 0x900000, PG_P | PG_RW);
	map4k(&e, 0x401000, 0x700000, PG_P | PG_RW);
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned s = 0; s < 4; s++)
		for (unsigned off = 0xff0; off <= 0xfff; off++) {
			unsigned size = sizes[s];
			uint64_t lin = 0x400000 + off;
			uint64_t val = 0x8877665544332211ull + off * 0x0101010101010101ull;
			static const uint8_t zero[32];
			th_poke(t, 0x900ff0, zero, 16);
			th_poke(t, 0x700000, zero, 16);
			cr_assert_eq(wr(t, lin, size, ACC_WRITE, val), -1);
			/* Check the bytes where they must land. */
			for (unsigned k = 0; k < size; k++) {
				uint64_t pa = off + k < 0x1000 ? 0x900000 + off + k : 0x700000 + off + k - 0x1000;
				cr_assert_eq(th_read(t, pa, 1), (val >> (8 * k)) & 0xff,
					     "size %u off %#x byte %u", size, off, k);
			}
			uint64_t got;
			cr_assert_eq(rd(t, lin, size, ACC_READ, &got), -1);
			cr_assert_eq(got, val & mask_of(size), "size %u off %#x", size, off);
		}
	th_free(t);
}

Test(mmu, crossing_write_second_page_faults_memory_unchanged)
{
	struct env e;
	struct th *t = setup(&e);
	map4k(&e, 0x400000, 0x900000, PG_P | PG_RW);
	map4k(&e, 0x401000, 0x700000, 0);		/* not present */
	map4k(&e, 0x403000, 0x710000, PG_P);		/* read-only */
	map4k(&e, 0x402000, 0x910000, PG_P | PG_RW);
	th_write(t, 0x900ffc, 0xa1a2a3a4, 4);
	for (unsigned size = 2; size <= 8; size *= 2) {
		cr_assert_eq(wr(t, 0x401000 - size / 2, size, ACC_WRITE, ~0ull), EXC_PF);
		cr_assert_eq(t->cpu->exc_error, PFEC_W);
		cr_assert_eq(t->cpu->fault_addr, 0x401000, "CR2 is the first byte of the faulting page");
		cr_assert_eq(th_read(t, 0x900ffc, 4), 0xa1a2a3a4, "first page unchanged (size %u)", size);
	}
	/* Second page read-only: a protection fault, nothing written. */
	th_write(t, 0x910ff8, 0x5555555555555555ull, 8);
	cr_assert_eq(wr(t, 0x402ffd, 8, ACC_WRITE, 0), EXC_PF);
	cr_assert_eq(t->cpu->exc_error, PFEC_W | PFEC_P);
	cr_assert_eq(t->cpu->fault_addr, 0x403000);
	cr_assert_eq(th_read(t, 0x910ff8, 8), 0x5555555555555555ull);
	/* Reads fault the same way. */
	cr_assert_eq(rd(t, 0x400ffe, 4, ACC_READ, NULL), EXC_PF);
	cr_assert_eq(t->cpu->exc_error, 0);
	cr_assert_eq(t->cpu->fault_addr, 0x401000);
	th_free(t);
}

Test(mmu, crossing_in_32bit_wraps_linear)
{
	struct th *t = th_new(TH_PROT32);
	/* Paging off: linear = physical; 0xfffffffe + 4 wraps to 0. */
	th_write(t, 0, 0x44332211, 4);
	uint64_t v;
	cr_assert_eq(rd(t, 0xfffffffe, 4, ACC_READ, &v), -1);
	cr_assert_eq(v, 0x2211ffffull, "unmapped top bytes read as ones, then 0 wraps");
	th_free(t);
}

Test(mmu, dirty_set_by_first_slow_write)
{
	struct env e;
	struct th *t = setup(&e);
	map4k(&e, 0x404000, 0x920000, PG_P | PG_RW);
	uint64_t pte_addr;
	struct walk_result w;
	mmu_walk_info(t->cpu, 0x404000, ACC_READ, &w);
	pte_addr = w.steps[3].entry_addr;
	cr_assert_eq(rd(t, 0x404000, 4, ACC_READ, NULL), -1);
	cr_assert_not(th_read(t, pte_addr, 8) & PG_D);
	cr_assert_eq(wr(t, 0x404000, 4, ACC_WRITE, 7), -1);
	cr_assert(th_read(t, pte_addr, 8) & PG_D);
	cr_assert_eq(th_read(t, 0x920000, 4), 7);
	th_free(t);
}

/* ---- MMIO and ROM behind linear mappings ---- */

struct dev {
	int n;
	uint64_t last_off, last_val;
	unsigned last_size;
	bool last_write;
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	struct dev *d = opaque;
	d->n++;
	d->last_off = off;
	d->last_size = size;
	d->last_write = false;
	return 0x1122334455667788ull;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct dev *d = opaque;
	d->n++;
	d->last_off = off;
	d->last_val = val;
	d->last_size = size;
	d->last_write = true;
}

Test(mmu, mmio_through_paging_keeps_sizes_and_no_tlb_tags)
{
	struct env e;
	struct th *t = setup(&e);
	struct dev d = { 0 };
	cr_assert_eq(memmap_add_mmio(&t->m->mem, 0xfed00000ull, 0x1000, dev_read, dev_write, &d, "dev", 1), 0);
	map4k(&e, 0x405000, 0xfed00000ull, PG_P | PG_RW | PG_D);
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned k = 0; k < 4; k++) {
		uint64_t v;
		int before = d.n;
		cr_assert_eq(rd(t, 0x405010, sizes[k], ACC_READ, &v), -1);
		cr_assert_eq(d.n, before + 1);
		cr_assert_eq(d.last_size, sizes[k]);
		cr_assert_eq(d.last_off, 0x10);
		cr_assert_eq(v, 0x1122334455667788ull & mask_of(sizes[k]));
		cr_assert_eq(wr(t, 0x405020, sizes[k], ACC_WRITE, 0xabcdef0123456789ull), -1);
		cr_assert(d.last_write);
		cr_assert_eq(d.last_size, sizes[k]);
		cr_assert_eq(d.last_val, 0xabcdef0123456789ull & mask_of(sizes[k]));
	}
	struct tlb_entry *te = &t->cpu->tlb[t->cpu->mmu_idx][TLB_SLOT(0x405000ull)];
	cr_assert_eq(te->tag_read, TLB_INVALID, "MMIO always takes the slow path");
	cr_assert_eq(te->tag_write, TLB_INVALID);
	cr_assert_eq(te->tag_fetch, TLB_INVALID);
	th_free(t);
}

Test(mmu, rom_through_paging_read_fast_write_ignored)
{
	struct env e;
	struct th *t = setup(&e);
	uint8_t rom[0x1000];
	for (unsigned k = 0; k < sizeof(rom); k++)
		rom[k] = (uint8_t)(k * 3);
	cr_assert_eq(memmap_add_rom(&t->m->mem, 0xfffff000ull, rom, sizeof(rom), "rom"), 0);
	map4k(&e, 0x406000, 0xfffff000ull, PG_P | PG_RW | PG_D);
	uint64_t v;
	cr_assert_eq(rd(t, 0x406004, 1, ACC_READ, &v), -1);
	cr_assert_eq(v, 12);
	cr_assert_eq(wr(t, 0x406004, 4, ACC_WRITE, 0), -1);
	cr_assert_eq(rd(t, 0x406004, 1, ACC_READ, &v), -1);
	cr_assert_eq(v, 12, "ROM write ignored");
	struct tlb_entry *te = &t->cpu->tlb[t->cpu->mmu_idx][TLB_SLOT(0x406000ull)];
	cr_assert_eq(te->tag_read, 0x406000);
	cr_assert_eq(te->tag_fetch, 0x406000);
	cr_assert_eq(te->tag_write, TLB_INVALID);
	th_free(t);
}

/* ---- code pages ---- */

Test(mmu, write_to_code_page_invalidates_blocks)
{
	struct env e;
	struct th *t = setup(&e);
	map4k(&e, 0x407000, 0x930000, PG_P | PG_RW | PG_D);
	cr_assert_eq(wr(t, 0x407100, 4, ACC_WRITE, 1), -1);
	struct tlb_entry *te = &t->cpu->tlb[t->cpu->mmu_idx][TLB_SLOT(0x407000ull)];
	cr_assert_eq(te->tag_write, 0x407000, "plain RAM: fast writes");
	struct insn in;
	memset(&in, 0, sizeof(in));
	cr_assert(bc_insert(t->m->bc, 0x930040, 2, &in, 1, 1));
	mmu_mark_code_page(t->m, 0x930040);
	cr_assert_eq(te->tag_write, TLB_INVALID, "marking drops the fast write path");
	cr_assert_eq(te->tag_read, 0x407000, "reads stay fast");
	uint64_t v;
	cr_assert_eq(rd(t, 0x407000, 4, ACC_READ, &v), -1);
	cr_assert_not_null(bc_lookup(t->m->bc, 0x930040, 2));
	cr_assert_eq(wr(t, 0x407ffe, 2, ACC_WRITE, 0x9090), -1);
	cr_assert_null(bc_lookup(t->m->bc, 0x930040, 2), "blocks dropped");
	cr_assert_not(mmu_is_code_page(t->m, 0x930000));
	cr_assert_eq(th_read(t, 0x930ffe, 2), 0x9090);
	/* Once unmarked, the next write refills the fast path. */
	cr_assert_eq(wr(t, 0x407000, 1, ACC_WRITE, 0), -1);
	cr_assert_eq(te->tag_write, 0x407000);
	th_free(t);
}

Test(mmu, block_write_to_code_page_invalidates)
{
	struct env e;
	struct th *t = setup(&e);
	map4k(&e, 0x408000, 0x940000, PG_P | PG_RW | PG_D);
	struct insn in;
	memset(&in, 0, sizeof(in));
	cr_assert(bc_insert(t->m->bc, 0x940800, 2, &in, 1, 1));
	mmu_mark_code_page(t->m, 0x940800);
	struct op o = { .kind = 3, .lin = 0x408800, .size = 16, .acc = ACC_WRITE };
	cr_assert_eq(th_try(t, op_fn, &o), -1);
	cr_assert_null(bc_lookup(t->m->bc, 0x940800, 2));
	th_free(t);
}

/* ---- alignment check ---- */

static void user_mode(struct th *t, bool am, bool ac)
{
	struct cpu *c = t->cpu;
	c->seg[S_SS].attr |= 3u << AR_DPL_SHIFT;
	c->seg[S_CS].attr |= 3u << AR_DPL_SHIFT;
	c->cr0 = am ? c->cr0 | CR0_AM : c->cr0 & ~(uint64_t)CR0_AM;
	c->rflags = ac ? c->rflags | FL_AC : c->rflags & ~(uint64_t)FL_AC;
	cpu_update_mode(c);
	cr_assert_eq(c->cpl, 3);
}

Test(mmu, alignment_check)
{
	struct env e;
	struct th *t = setup(&e);
	th_write(t, 0x500000, 0x0807060504030201ull, 8);
	user_mode(t, true, true);
	cr_assert_eq(t->cpu->mmu_idx, MMU_USER_AC);
	static const struct { uint64_t lin; unsigned size; bool ac; } cases[] = {
		{ 0x500001, 1, false }, { 0x500001, 2, true }, { 0x500002, 2, false },
		{ 0x500002, 4, true }, { 0x500004, 4, false }, { 0x500004, 8, true },
		{ 0x500000, 8, false }, { 0x500007, 8, true },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int r = rd(t, cases[k].lin, cases[k].size, ACC_READ, NULL);
		cr_assert_eq(r, cases[k].ac ? EXC_AC : -1, "read case %u", k);
		if (cases[k].ac)
			cr_assert_eq(t->cpu->exc_error, 0);
		r = wr(t, cases[k].lin, cases[k].size, ACC_WRITE, 0);
		cr_assert_eq(r, cases[k].ac ? EXC_AC : -1, "write case %u", k);
	}
	th_write(t, 0x500000, 0x0807060504030201ull, 8);
	uint64_t v;
	/* Implicit supervisor accesses and fetches are never checked. */
	cr_assert_eq(rd(t, 0x500001, 4, ACC_READ | ACC_IMPLICIT, &v), -1);
	cr_assert_eq(v, 0x05040302);
	cr_assert_eq(rd(t, 0x500001, 4, ACC_FETCH, NULL), -1);
	/* #AC comes before #PF. */
	cr_assert_eq(rd(t, 0x40000001, 4, ACC_READ, NULL), EXC_AC);
	/* AC or AM clear: no check. */
	user_mode(t, true, false);
	cr_assert_eq(rd(t, 0x500001, 4, ACC_READ, NULL), -1);
	user_mode(t, false, true);
	cr_assert_eq(rd(t, 0x500001, 4, ACC_READ, NULL), -1);
	th_free(t);
}

/* ---- blocks and probes ---- */

Test(mmu, blocks_cross_pages_and_fault_atomically)
{
	struct env e;
	struct th *t = setup(&e);
	map4k(&e, 0x410000, 0x950000, PG_P | PG_RW);
	map4k(&e, 0x411000, 0x960000, PG_P | PG_RW);
	map4k(&e, 0x412000, 0x970000, PG_P);		/* read-only */
	struct op o = { .kind = 3, .lin = 0x410f00, .size = 512, .acc = ACC_WRITE };
	for (unsigned k = 0; k < 512; k++)
		o.buf[k] = (uint8_t)(k ^ 0x5a);
	cr_assert_eq(th_try(t, op_fn, &o), -1);
	cr_assert_eq(th_read(t, 0x950f00, 1), 0x5a);
	cr_assert_eq(th_read(t, 0x960000, 1), (0x100 ^ 0x5a) & 0xff);
	struct op r = { .kind = 2, .lin = 0x410f00, .size = 512, .acc = ACC_READ };
	cr_assert_eq(th_try(t, op_fn, &r), -1);
	cr_assert_eq(memcmp(r.buf, o.buf, 512), 0);
	/* 16 bytes crossing into the read-only page: nothing written. */
	th_write(t, 0x960ff8, 0x1111111111111111ull, 8);
	struct op w16 = { .kind = 3, .lin = 0x411ff8, .size = 16, .acc = ACC_WRITE };
	cr_assert_eq(th_try(t, op_fn, &w16), EXC_PF);
	cr_assert_eq(t->cpu->exc_error, PFEC_P | PFEC_W);
	cr_assert_eq(t->cpu->fault_addr, 0x412000);
	cr_assert_eq(th_read(t, 0x960ff8, 8), 0x1111111111111111ull);
	/* Probe: the same check, no write at all. */
	struct op pr = { .kind = 4, .lin = 0x411ff0, .size = 32 };
	cr_assert_eq(th_try(t, op_fn, &pr), EXC_PF);
	cr_assert_eq(t->cpu->fault_addr, 0x412000);
	pr.lin = 0x410ff0;
	cr_assert_eq(th_try(t, op_fn, &pr), -1);
	th_free(t);
}

/* ---- through real instructions and mem.h ---- */

Test(mmu, insn_crossing_store_faults_without_partial_write)
{
	struct env e;
	struct th *t = setup(&e);
	map4k(&e, 0x400000, 0x900000, PG_P | PG_RW);
	map4k(&e, 0x401000, 0x700000, 0);	/* not present */
	th_write(t, 0x900ffc, 0xaabbccdd, 4);
	th_asm(t, "mov eax, 0x11223344\n mov [0x400ffe], eax");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->exc_error, PFEC_W);
	cr_assert_eq(t->cpu->fault_addr, 0x401000);
	cr_assert_eq(th_read(t, 0x900ffc, 4), 0xaabbccdd, "got %#llx",
		     (unsigned long long)th_read(t, 0x900ffc, 4));
	th_free(t);
}

Test(mmu, insn_store_to_code_page_drops_mark)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mov dword [0x200100], 5\n mov eax, [0x200100]");
	mmu_mark_code_page(t->m, TH_DATA);
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX] & 0xffffffff, 5);
	cr_assert_not(mmu_is_code_page(t->m, TH_DATA));
	th_free(t);
}
