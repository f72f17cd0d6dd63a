/*
 * test_paging.c - guest page walks (SDM Vol. 3 ch. 4) with hand-built
 * page tables in guest RAM: every paging mode and page size, reserved
 * bits at each level, every #PF error-code bit, CR2, accessed/dirty
 * flags, WP, NX, SMEP, SMAP with AC, PKU, global pages and flushes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/mem.h"
#include "emu/mmu/mmu.h"

#define PT_AREA 0x400000ull	/* page tables built by the tests */
#define DATA 0x800000ull	/* data pages the tests map */

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define G 0x100ull
#define XD (1ull << 63)

enum pgm { M32, MPAE, M4, M5 };

/* A page-table builder over guest RAM. */
struct pt {
	struct th *t;
	enum pgm mode;
	uint64_t next;		/* next free table page */
	uint64_t root;
};

static uint64_t pt_alloc(struct pt *p)
{
	uint64_t a = p->next;
	static const uint8_t zero[4096];
	th_poke(p->t, a, zero, sizeof(zero));
	p->next += 4096;
	return a;
}

static int top_level(const struct pt *p)
{
	return p->mode == M5 ? 5 : p->mode == M4 ? 4 : p->mode == MPAE ? 3 : 2;
}

static unsigned ent_size(const struct pt *p)
{
	return p->mode == M32 ? 4 : 8;
}

/* Address of the entry for lin at `level`, creating the tables above it
 * with dir_flags (PAE PDPTEs get P only). */
static uint64_t pt_slot(struct pt *p, uint64_t lin, int level, uint64_t dir_flags)
{
	uint64_t table = p->root;
	for (int l = top_level(p);; l--) {
		uint64_t idx;
		if (p->mode == M32)
			idx = l == 2 ? (lin >> 22) & 0x3ff : (lin >> 12) & 0x3ff;
		else if (p->mode == MPAE && l == 3)
			idx = (lin >> 30) & 3;
		else
			idx = (lin >> (12 + 9 * (l - 1))) & 0x1ff;
		uint64_t addr = table + idx * ent_size(p);
		if (l == level)
			return addr;
		uint64_t e = th_read(p->t, addr, ent_size(p));
		if (!(e & P)) {
			uint64_t nt = pt_alloc(p);
			e = nt | ((p->mode == MPAE && l == 3) ? P : dir_flags);
			th_write(p->t, addr, e, ent_size(p));
		}
		table = e & 0x000ffffffffff000ull;
	}
}

/* Maps lin to pa with a leaf at `level` (1 = 4 KiB, 2 = 2/4 MiB, 3 = 1 GiB);
 * returns the leaf entry's address. */
static uint64_t pt_map(struct pt *p, uint64_t lin, uint64_t pa, int level, uint64_t leaf_flags)
{
	uint64_t addr = pt_slot(p, lin, level, P | RW | US);
	th_write(p->t, addr, pa | leaf_flags | (level > 1 ? PS : 0), ent_size(p));
	return addr;
}

static struct th *setup(enum pgm mode, struct pt *p)
{
	struct th *t = th_new(mode >= M4 ? TH_LONG64 : TH_PROT32);
	struct cpu *c = t->cpu;
	p->t = t;
	p->mode = mode;
	p->next = PT_AREA;
	p->root = pt_alloc(p);
	c->cr3 = p->root;
	c->cr0 |= CR0_PG | CR0_WP;
	switch (mode) {
	case M32:
		c->cr4 = (c->cr4 & ~(uint64_t)CR4_PAE) | CR4_PSE;
		c->efer &= ~(uint64_t)(EFER_LME | EFER_LMA);
		break;
	case MPAE:
		c->cr4 |= CR4_PAE;
		c->efer |= EFER_NXE;
		break;
	case M4:
		c->efer |= EFER_NXE;
		break;
	case M5:
		c->cr4 |= CR4_LA57;
		break;
	}
	cpu_update_mode(c);
	tlb_flush_all(c);
	return t;
}

/* CPL changes the way a test needs them (through SS.DPL, as cpu.c does). */
static void set_cpl(struct th *t, unsigned cpl)
{
	struct cpu *c = t->cpu;
	c->seg[S_SS].attr = (c->seg[S_SS].attr & ~(3u << AR_DPL_SHIFT)) | cpl << AR_DPL_SHIFT;
	c->seg[S_CS].attr = (c->seg[S_CS].attr & ~(3u << AR_DPL_SHIFT)) | cpl << AR_DPL_SHIFT;
	cpu_update_mode(c);
	cr_assert_eq(c->cpl, cpl);
}

static void ctl(struct th *t, uint64_t cr0_set, uint64_t cr0_clr, uint64_t cr4_set, uint64_t cr4_clr)
{
	struct cpu *c = t->cpu;
	c->cr0 = (c->cr0 | cr0_set) & ~cr0_clr;
	c->cr4 = (c->cr4 | cr4_set) & ~cr4_clr;
	cpu_update_mode(c);
	tlb_flush_all(c);
}

struct xl {
	uint64_t lin;
	unsigned acc;
	uint64_t pa;
	bool ok;
};

static void xl_fn(struct th *t, void *arg)
{
	struct xl *x = arg;
	x->ok = mmu_translate(t->cpu, x->lin, x->acc, &x->pa);
}

/* Translates; returns the fault vector or -1, *pa the result. */
static int xl(struct th *t, uint64_t lin, unsigned acc, uint64_t *pa)
{
	struct xl x = { .lin = lin, .acc = acc, .pa = ~0ull };
	int v = th_try(t, xl_fn, &x);
	if (pa)
		*pa = x.pa;
	return v;
}

static void expect_pa(struct th *t, uint64_t lin, unsigned acc, uint64_t want)
{
	uint64_t pa;
	int v = xl(t, lin, acc, &pa);
	cr_assert_eq(v, -1, "lin %#llx acc %u: unexpected fault %d error %#x", (unsigned long long)lin,
		     acc, v, t->cpu->exc_error);
	cr_assert_eq(pa, want, "lin %#llx: pa %#llx, want %#llx", (unsigned long long)lin,
		     (unsigned long long)pa, (unsigned long long)want);
}

static void expect_pf(struct th *t, uint64_t lin, unsigned acc, uint32_t pfec)
{
	t->cpu->fault_addr = 0xdead;
	int v = xl(t, lin, acc, NULL);
	cr_assert_eq(v, EXC_PF, "lin %#llx acc %u: vector %d, want #PF", (unsigned long long)lin, acc, v);
	cr_assert_eq(t->cpu->exc_error, pfec, "lin %#llx acc %u: error %#x, want %#x",
		     (unsigned long long)lin, acc, t->cpu->exc_error, pfec);
	cr_assert_eq(t->cpu->fault_addr, lin, "CR2 %#llx, want %#llx",
		     (unsigned long long)t->cpu->fault_addr, (unsigned long long)lin);
}

/* ---- translation in each mode and page size ---- */

Test(paging, pg32_4k)
{
	struct pt p;
	struct th *t = setup(M32, &p);
	uint64_t pte = pt_map(&p, 0x12345000, DATA, 1, P | RW);
	expect_pa(t, 0x12345abc, ACC_READ, DATA + 0xabc);
	uint64_t pde = pt_slot(&p, 0x12345000, 2, 0);
	cr_assert(th_read(t, pde, 4) & A, "PDE accessed");
	cr_assert(th_read(t, pte, 4) & A, "PTE accessed");
	cr_assert_not(th_read(t, pte, 4) & D, "read must not set D");
	expect_pa(t, 0x12345abc, ACC_WRITE, DATA + 0xabc);
	cr_assert(th_read(t, pte, 4) & D, "write sets D");
	cr_assert_not(th_read(t, pde, 4) & D, "D only in the last entry");
	th_free(t);
}

Test(paging, pg32_4m_pse_and_pse36)
{
	struct pt p;
	struct th *t = setup(M32, &p);
	pt_map(&p, 0x40000000, 0x01000000, 2, P | RW);
	expect_pa(t, 0x40123456, ACC_READ, 0x01123456);
	/* PSE-36: PDE bits 20:13 are physical bits 39:32. */
	uint64_t pde = pt_map(&p, 0x80000000, 0x00400000 | (0x5ull << 13), 2, P | RW);
	expect_pa(t, 0x80000010, ACC_READ, 0x500400010ull);
	cr_assert(th_read(t, pde, 4) & A);
	/* Bit 21 is reserved in a 4 MiB PDE. */
	th_write(t, pde, 0x00400000 | (1u << 21) | P | RW | PS, 4);
	tlb_flush_all(t->cpu);
	expect_pf(t, 0x80000010, ACC_READ, PFEC_P | PFEC_RSVD);
	th_free(t);
}

Test(paging, pg32_ps_ignored_without_pse)
{
	struct pt p;
	struct th *t = setup(M32, &p);
	ctl(t, 0, 0, 0, CR4_PSE);
	/* PDE with PS=1 points to a page table when CR4.PSE = 0. */
	uint64_t ptab = pt_alloc(&p);
	th_write(t, pt_slot(&p, 0x00c00000, 2, 0), ptab | P | RW | PS, 4);
	th_write(t, ptab + 4 * 3, DATA | P | RW, 4);
	expect_pa(t, 0x00c03004, ACC_READ, DATA + 4);
	th_free(t);
}

Test(paging, pae_4k_2m)
{
	struct pt p;
	struct th *t = setup(MPAE, &p);
	pt_map(&p, 0xc0001000, DATA, 1, P | RW);
	pt_map(&p, 0x40200000, 0x00600000, 2, P | RW);
	expect_pa(t, 0xc0001ffc, ACC_READ, DATA + 0xffc);
	expect_pa(t, 0x402abcde, ACC_WRITE, 0x006abcde);
	/* The PDPTE has no accessed flag to set: it stays as written. */
	cr_assert_eq(th_read(t, p.root + 3 * 8, 8) & 0xfff, P);
	th_free(t);
}

Test(paging, pae_pdpte_reserved_bits)
{
	static const uint64_t bad[] = { RW, US, 1ull << 5, 1ull << 8, 1ull << 63, 1ull << 50 };
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct pt p;
		struct th *t = setup(MPAE, &p);
		pt_map(&p, 0x1000, DATA, 1, P | RW);
		uint64_t e = th_read(t, p.root, 8);
		th_write(t, p.root, e | bad[k], 8);
		expect_pf(t, 0x1000, ACC_READ, PFEC_P | PFEC_RSVD);
		th_free(t);
	}
}

Test(paging, pae_reserved_high_bits_and_2m_low_bits)
{
	struct pt p;
	struct th *t = setup(MPAE, &p);
	uint64_t pte = pt_map(&p, 0x1000, DATA, 1, P | RW);
	uint64_t pde2 = pt_map(&p, 0x40000000, 0x00200000, 2, P | RW);
	/* Bits 62:MAXPHYADDR are reserved in PAE entries (bit 52 included). */
	th_write(t, pte, DATA | P | RW | (1ull << 52), 8);
	expect_pf(t, 0x1000, ACC_WRITE, PFEC_P | PFEC_RSVD | PFEC_W);
	/* 2 MiB PDE: bits 20:13 reserved. */
	th_write(t, pde2, 0x00200000 | P | RW | PS | (1ull << 13), 8);
	expect_pf(t, 0x40000000, ACC_READ, PFEC_P | PFEC_RSVD);
	/* The PAT bit (12) is not reserved. */
	th_write(t, pde2, 0x00200000 | P | RW | PS | (1ull << 12), 8);
	expect_pa(t, 0x40000008, ACC_READ, 0x00200008);
	th_free(t);
}

Test(paging, l4_4k_2m_1g)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	t->cpu->features[FW_81_EDX] |= 1u << (FEAT_PDPE1GB % 32);
	pt_map(&p, 0x00007f0000001000ull, DATA, 1, P | RW | US);
	pt_map(&p, 0xffff800000200000ull, 0x00400000, 2, P | RW);
	pt_map(&p, 0x0000004040000000ull, 0x80000000ull, 3, P | RW);
	expect_pa(t, 0x00007f0000001123ull, ACC_READ, DATA + 0x123);
	expect_pa(t, 0xffff8000002fedcbull, ACC_READ, 0x004fedcb);
	expect_pa(t, 0x000000407edcba98ull, ACC_WRITE, 0xbedcba98ull);
	th_free(t);
}

Test(paging, l4_1g_needs_pdpe1gb)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	t->cpu->features[FW_81_EDX] &= ~(1u << (FEAT_PDPE1GB % 32));
	pt_map(&p, 0x40000000, 0x80000000ull, 3, P | RW);
	expect_pf(t, 0x40000000, ACC_READ, PFEC_P | PFEC_RSVD);
	th_free(t);
}

Test(paging, l4_reserved_bits_each_level)
{
	/* level, bit: reserved bits a present entry must not have. */
	static const struct { int level; uint64_t bit; bool leaf1g; } cases[] = {
		{ 4, PS, false }, { 4, 1ull << 46, false }, { 4, 1ull << 51, false },
		{ 3, 1ull << 47, false }, { 2, 1ull << 50, false }, { 1, 1ull << 46, false },
		{ 3, 1ull << 13, true }, { 3, 1ull << 29, true },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pt p;
		struct th *t = setup(M4, &p);
		t->cpu->features[FW_81_EDX] |= 1u << (FEAT_PDPE1GB % 32);
		uint64_t lin = 0x0000123456789000ull;
		if (cases[k].leaf1g)
			pt_map(&p, lin, 0x40000000, 3, P | RW);
		else
			pt_map(&p, lin, DATA, 1, P | RW);
		uint64_t a = pt_slot(&p, lin, cases[k].level, 0);
		th_write(t, a, th_read(t, a, 8) | cases[k].bit, 8);
		expect_pf(t, lin, ACC_READ, PFEC_P | PFEC_RSVD);
		/* No accessed flag is set by a faulting walk. */
		cr_assert_not(th_read(t, p.root + ((lin >> 39) & 0x1ff) * 8, 8) & A, "case %u", k);
		th_free(t);
	}
}

Test(paging, l4_2m_low_bits_reserved_and_bits_62_52_ignored)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	uint64_t pde = pt_map(&p, 0x200000, 0x600000, 2, P | RW);
	th_write(t, pde, 0x600000 | P | RW | PS | (1ull << 20), 8);
	expect_pf(t, 0x200000, ACC_READ, PFEC_P | PFEC_RSVD);
	th_write(t, pde, 0x600000 | P | RW | PS | (1ull << 55), 8);
	tlb_flush_all(t->cpu);
	expect_pa(t, 0x200010, ACC_READ, 0x600010);
	th_free(t);
}

Test(paging, xd_reserved_without_nxe)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	t->cpu->efer &= ~(uint64_t)EFER_NXE;
	uint64_t pte = pt_map(&p, 0x5000, DATA, 1, P | RW | XD);
	expect_pf(t, 0x5000, ACC_READ, PFEC_P | PFEC_RSVD);
	/* The fetch gets no I flag: neither NXE nor SMEP. */
	expect_pf(t, 0x5000, ACC_FETCH, PFEC_P | PFEC_RSVD);
	t->cpu->efer |= EFER_NXE;
	expect_pa(t, 0x5000, ACC_READ, DATA);
	expect_pf(t, 0x5000, ACC_FETCH, PFEC_P | PFEC_I);
	th_write(t, pte, DATA | P | RW, 8);
	tlb_flush_all(t->cpu);
	expect_pa(t, 0x5000, ACC_FETCH, DATA);
	th_free(t);
}

Test(paging, nx_at_upper_level)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x7000, DATA, 1, P | RW);
	uint64_t pdpte = pt_slot(&p, 0x7000, 3, 0);
	th_write(t, pdpte, th_read(t, pdpte, 8) | XD, 8);
	expect_pf(t, 0x7000, ACC_FETCH, PFEC_P | PFEC_I);
	expect_pa(t, 0x7000, ACC_WRITE, DATA);
	th_free(t);
}

Test(paging, l5_la57)
{
	struct pt p;
	struct th *t = setup(M5, &p);
	cr_assert_eq(t->cpu->paging, PG_5LEVEL);
	uint64_t lin = 0x00ff123456789000ull;	/* needs bits 56:48 */
	pt_map(&p, lin, DATA, 1, P | RW);
	expect_pa(t, lin + 0x42, ACC_READ, DATA + 0x42);
	struct walk_result w;
	mmu_walk_info(t->cpu, lin, ACC_READ, &w);
	cr_assert(w.ok);
	cr_assert_eq(w.nsteps, 5);
	cr_assert_eq(w.steps[0].level, 5);
	cr_assert_eq(w.steps[4].level, 1);
	/* Not canonical for 57 bits: #GP(0). */
	cr_assert_eq(xl(t, 0x0100000000000000ull, ACC_READ, NULL), EXC_GP);
	th_free(t);
}

Test(paging, l4_noncanonical_gp)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	cr_assert_eq(xl(t, 0x0000800000000000ull, ACC_READ, NULL), EXC_GP);
	cr_assert_eq(t->cpu->exc_error, 0);
	th_free(t);
}

/* ---- not present and error-code bits ---- */

Test(paging, not_present_each_level_error_codes)
{
	for (int level = 1; level <= 4; level++) {
		struct pt p;
		struct th *t = setup(M4, &p);
		set_cpl(t, 3);
		uint64_t lin = 0x0000004000403000ull;
		pt_map(&p, lin, DATA, 1, P | RW | US);
		uint64_t a = pt_slot(&p, lin, level, 0);
		th_write(t, a, th_read(t, a, 8) & ~P, 8);
		expect_pf(t, lin, ACC_READ, PFEC_U);
		expect_pf(t, lin, ACC_WRITE, PFEC_U | PFEC_W);
		expect_pf(t, lin, ACC_FETCH, PFEC_U | PFEC_I);
		expect_pf(t, lin, ACC_READ | ACC_IMPLICIT, 0);
		set_cpl(t, 0);
		expect_pf(t, lin, ACC_WRITE, PFEC_W);
		expect_pf(t, lin, ACC_READ | ACC_USER, PFEC_U);
		th_free(t);
	}
}

Test(paging, fetch_i_flag_rules_32bit)
{
	struct pt p;
	struct th *t = setup(M32, &p);
	t->cpu->efer |= EFER_NXE;	/* no effect in 32-bit paging */
	expect_pf(t, 0x3000, ACC_FETCH, 0);
	ctl(t, 0, 0, CR4_SMEP, 0);
	expect_pf(t, 0x3000, ACC_FETCH, PFEC_I);
	th_free(t);
}

Test(paging, user_supervisor)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x10000, DATA, 1, P | RW);		/* supervisor page */
	pt_map(&p, 0x11000, DATA + 0x1000, 1, P | RW | US);
	/* U/S is ANDed over the levels: a supervisor PDE hides user PTEs. */
	pt_map(&p, 0x40000000, DATA + 0x2000, 1, P | RW | US);
	uint64_t pde = pt_slot(&p, 0x40000000, 2, 0);
	th_write(t, pde, th_read(t, pde, 8) & ~US, 8);
	set_cpl(t, 3);
	expect_pf(t, 0x10000, ACC_READ, PFEC_P | PFEC_U);
	expect_pf(t, 0x10000, ACC_WRITE, PFEC_P | PFEC_U | PFEC_W);
	expect_pf(t, 0x10000, ACC_FETCH, PFEC_P | PFEC_U | PFEC_I);
	expect_pa(t, 0x11000, ACC_READ, DATA + 0x1000);
	expect_pf(t, 0x40000000, ACC_READ, PFEC_P | PFEC_U);
	/* Implicit supervisor accesses at CPL 3 reach supervisor pages. */
	expect_pa(t, 0x10008, ACC_READ | ACC_IMPLICIT, DATA + 8);
	set_cpl(t, 0);
	expect_pa(t, 0x10000, ACC_WRITE, DATA);
	expect_pf(t, 0x10000, ACC_READ | ACC_USER, PFEC_P | PFEC_U);
	th_free(t);
}

Test(paging, read_only_and_wp)
{
	struct pt p;
	struct th *t = setup(MPAE, &p);
	uint64_t pte = pt_map(&p, 0x20000, DATA, 1, P | US);	/* read-only user page */
	pt_map(&p, 0x21000, DATA + 0x1000, 1, P);		/* read-only supervisor */
	set_cpl(t, 3);
	expect_pf(t, 0x20000, ACC_WRITE, PFEC_P | PFEC_W | PFEC_U);
	set_cpl(t, 0);
	/* CR0.WP = 1: supervisor writes honour R/W. */
	expect_pf(t, 0x20000, ACC_WRITE, PFEC_P | PFEC_W);
	expect_pf(t, 0x21000, ACC_WRITE, PFEC_P | PFEC_W);
	cr_assert_not(th_read(t, pte, 8) & D);
	ctl(t, 0, CR0_WP, 0, 0);
	expect_pa(t, 0x20000, ACC_WRITE, DATA);
	expect_pa(t, 0x21000, ACC_WRITE, DATA + 0x1000);
	cr_assert(th_read(t, pte, 8) & D);
	/* User still cannot write with WP = 0. */
	set_cpl(t, 3);
	expect_pf(t, 0x20000, ACC_WRITE, PFEC_P | PFEC_W | PFEC_U);
	th_free(t);
}

Test(paging, smep)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x30000, DATA, 1, P | RW | US);
	expect_pa(t, 0x30000, ACC_FETCH, DATA);
	ctl(t, 0, 0, CR4_SMEP, 0);
	expect_pf(t, 0x30000, ACC_FETCH, PFEC_P | PFEC_I);
	expect_pa(t, 0x30000, ACC_READ, DATA);	/* SMEP is about fetches */
	set_cpl(t, 3);
	expect_pa(t, 0x30000, ACC_FETCH, DATA);
	th_free(t);
}

Test(paging, smap_and_ac)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x31000, DATA, 1, P | RW | US);
	ctl(t, 0, 0, CR4_SMAP, 0);
	expect_pf(t, 0x31000, ACC_READ, PFEC_P);
	expect_pf(t, 0x31000, ACC_WRITE, PFEC_P | PFEC_W);
	expect_pa(t, 0x31000, ACC_FETCH, DATA);	/* SMAP is about data */
	t->cpu->rflags |= FL_AC;
	cpu_update_mode(t->cpu);
	expect_pa(t, 0x31000, ACC_READ, DATA);
	expect_pa(t, 0x31000, ACC_WRITE, DATA);
	/* Implicit supervisor accesses are checked whatever AC says. */
	expect_pf(t, 0x31000, ACC_READ | ACC_IMPLICIT, PFEC_P);
	set_cpl(t, 3);
	expect_pf(t, 0x31000, ACC_READ | ACC_IMPLICIT, PFEC_P);
	expect_pa(t, 0x31000, ACC_READ, DATA);
	th_free(t);
}

Test(paging, pku)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x32000, DATA, 1, P | RW | US | (5ull << 59));	/* key 5 */
	pt_map(&p, 0x33000, DATA + 0x1000, 1, P | RW | (5ull << 59));	/* supervisor page */
	ctl(t, 0, 0, CR4_PKE, 0);
	t->cpu->pkru = 1u << 10;	/* AD for key 5 */
	set_cpl(t, 3);
	expect_pf(t, 0x32000, ACC_READ, PFEC_P | PFEC_U | PFEC_PK);
	expect_pf(t, 0x32000, ACC_WRITE, PFEC_P | PFEC_U | PFEC_W | PFEC_PK);
	expect_pa(t, 0x32000, ACC_FETCH, DATA);	/* keys don't apply to fetches */
	set_cpl(t, 0);
	expect_pf(t, 0x32000, ACC_READ, PFEC_P | PFEC_PK);
	expect_pa(t, 0x33000, ACC_READ, DATA + 0x1000);	/* supervisor pages are not keyed */
	t->cpu->pkru = 2u << 10;	/* WD for key 5 */
	tlb_flush_all(t->cpu);
	expect_pa(t, 0x32000, ACC_READ, DATA);
	expect_pf(t, 0x32000, ACC_WRITE, PFEC_P | PFEC_W | PFEC_PK);	/* CR0.WP = 1 */
	ctl(t, 0, CR0_WP, 0, 0);
	expect_pa(t, 0x32000, ACC_WRITE, DATA);
	set_cpl(t, 3);
	expect_pf(t, 0x32000, ACC_WRITE, PFEC_P | PFEC_U | PFEC_W | PFEC_PK);
	/* Other keys are unaffected; CR4.PKE = 0 disables the check. */
	t->cpu->pkru = 3u << 2;
	tlb_flush_all(t->cpu);
	expect_pa(t, 0x32000, ACC_WRITE, DATA);
	t->cpu->pkru = 3u << 10;
	ctl(t, 0, 0, 0, CR4_PKE);
	expect_pa(t, 0x32000, ACC_WRITE, DATA);
	th_free(t);
}

Test(paging, pku_not_in_pae)
{
	struct pt p;
	struct th *t = setup(MPAE, &p);
	pt_map(&p, 0x32000, DATA, 1, P | RW | US);
	ctl(t, 0, 0, CR4_PKE, 0);
	t->cpu->pkru = ~0u;
	set_cpl(t, 3);
	expect_pa(t, 0x32000, ACC_WRITE, DATA);
	th_free(t);
}

/* ---- accessed/dirty flags ---- */

Test(paging, accessed_dirty_all_levels_l4)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	uint64_t lin = 0x0000008040201000ull;
	pt_map(&p, lin, DATA, 1, P | RW);
	tlb_flush_all(t->cpu);
	expect_pa(t, lin, ACC_WRITE, DATA);
	for (int l = 4; l >= 1; l--) {
		uint64_t e = th_read(t, pt_slot(&p, lin, l, 0), 8);
		cr_assert(e & A, "level %d accessed", l);
		cr_assert_eq(!!(e & D), l == 1, "level %d dirty", l);
	}
	/* 2 MiB leaf: D lands in the PDE. */
	uint64_t pde = pt_map(&p, 0x40000000, 0x200000, 2, P | RW);
	expect_pa(t, 0x40000000, ACC_WRITE, 0x200000);
	cr_assert_eq(th_read(t, pde, 8) & (A | D), A | D);
	th_free(t);
}

Test(paging, walk_info_has_no_side_effects)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	uint64_t lin = 0x1000;
	uint64_t pte = pt_map(&p, lin, DATA, 1, P);
	struct walk_result w;
	mmu_walk_info(t->cpu, lin, ACC_WRITE, &w);
	cr_assert_not(w.ok);
	cr_assert_eq(w.pfec, PFEC_P | PFEC_W);
	cr_assert_eq(w.nsteps, 4);
	cr_assert_eq(w.steps[3].entry_addr, pte);
	cr_assert_eq(w.steps[3].entry, DATA | P);
	mmu_walk_info(t->cpu, lin + 5, ACC_READ, &w);
	cr_assert(w.ok);
	cr_assert_eq(w.pa, DATA + 5);
	cr_assert_eq(w.page_size, 4096);
	cr_assert_eq(th_read(t, pte, 8), DATA | P, "no A bit from walk_info");
	cr_assert_not(th_read(t, p.root, 8) & A);
	th_free(t);
}

/* ---- the TLB: fills, tags, flushes ---- */

static struct tlb_entry *ent(struct th *t, unsigned idx, uint64_t lin)
{
	return &t->cpu->tlb[idx][TLB_SLOT(lin)];
}

Test(paging, tlb_write_tag_waits_for_dirty)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x50000, DATA, 1, P | RW);
	expect_pa(t, 0x50000, ACC_READ, DATA);
	struct tlb_entry *e = ent(t, MMU_SUPER, 0x50000);
	cr_assert_eq(e->tag_read, 0x50000);
	cr_assert_eq(e->tag_fetch, 0x50000);
	cr_assert_eq(e->tag_write, TLB_INVALID, "D clear: first write must go slow");
	cr_assert_eq((uintptr_t)(0x50000 + e->addend), (uintptr_t)phys_ram_ptr(t->m, DATA, 1));
	expect_pa(t, 0x50000, ACC_WRITE, DATA);
	cr_assert_eq(e->tag_write, 0x50000);
	th_free(t);
}

Test(paging, tlb_tags_follow_rights_per_space)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x51000, DATA, 1, P | US | D | A | XD);	/* user, read-only, no-exec */
	ctl(t, 0, 0, CR4_SMAP, 0);
	set_cpl(t, 3);
	expect_pa(t, 0x51000, ACC_READ, DATA);
	struct tlb_entry *e = ent(t, MMU_USER, 0x51000);
	cr_assert_eq(e->tag_read, 0x51000);
	cr_assert_eq(e->tag_write, TLB_INVALID);
	cr_assert_eq(e->tag_fetch, TLB_INVALID);
	/* An implicit access at CPL 3 is a supervisor access under SMAP: it
	 * faults on user pages and fills the SMAP supervisor space. */
	cr_assert_eq(xl(t, 0x51000, ACC_READ | ACC_IMPLICIT, NULL), EXC_PF);
	pt_map(&p, 0x53000, DATA, 1, P | RW | A | D);
	expect_pa(t, 0x53000, ACC_READ | ACC_IMPLICIT, DATA);
	cr_assert_eq(ent(t, MMU_SUPER_SMAP, 0x53000)->tag_read, 0x53000);
	cr_assert_eq(ent(t, MMU_USER, 0x53000)->tag_read, TLB_INVALID);
	set_cpl(t, 0);
	ctl(t, 0, CR0_WP, 0, 0);
	cr_assert_eq(xl(t, 0x51000, ACC_READ, NULL), EXC_PF);
	cr_assert_eq(ent(t, MMU_SUPER_SMAP, 0x51000)->tag_read, TLB_INVALID);
	t->cpu->rflags |= FL_AC;
	cpu_update_mode(t->cpu);
	expect_pa(t, 0x51000, ACC_READ, DATA);
	e = ent(t, MMU_SUPER, 0x51000);
	cr_assert_eq(e->tag_read, 0x51000);
	cr_assert_eq(e->tag_write, 0x51000, "WP=0 lets the supervisor write");
	th_free(t);
}

Test(paging, tlb_user_ac_space_never_filled)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	pt_map(&p, 0x52000, DATA, 1, P | RW | US | A | D);
	t->cpu->rflags |= FL_AC;
	ctl(t, CR0_AM, 0, 0, 0);
	set_cpl(t, 3);
	cr_assert_eq(t->cpu->mmu_idx, MMU_USER_AC);
	expect_pa(t, 0x52000, ACC_READ, DATA);
	cr_assert_eq(ent(t, MMU_USER_AC, 0x52000)->tag_read, TLB_INVALID);
	th_free(t);
}

Test(paging, global_vs_nonglobal_flush)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	ctl(t, 0, 0, CR4_PGE, 0);
	pt_map(&p, 0x60000, DATA, 1, P | RW | G);
	pt_map(&p, 0x61000, DATA + 0x1000, 1, P | RW);
	expect_pa(t, 0x60000, ACC_READ, DATA);
	expect_pa(t, 0x61000, ACC_READ, DATA + 0x1000);
	cr_assert(ent(t, MMU_SUPER, 0x60000)->global);
	cr_assert_not(ent(t, MMU_SUPER, 0x61000)->global);
	tlb_flush_nonglobal(t->cpu);
	cr_assert_eq(ent(t, MMU_SUPER, 0x60000)->tag_read, 0x60000);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, TLB_INVALID);
	tlb_flush_all(t->cpu);
	cr_assert_eq(ent(t, MMU_SUPER, 0x60000)->tag_read, TLB_INVALID);
	/* G without CR4.PGE is not global. */
	ctl(t, 0, 0, 0, CR4_PGE);
	expect_pa(t, 0x60000, ACC_READ, DATA);
	cr_assert_not(ent(t, MMU_SUPER, 0x60000)->global);
	th_free(t);
}

struct rd { uint64_t lin; uint64_t v; unsigned acc; };
static void rd_fn(struct th *t, void *arg)
{
	struct rd *r = arg;
	r->v = mmu_read_slow(t->cpu, r->lin, 4, r->acc);
}
static uint32_t rd32(struct th *t, uint64_t lin)
{
	struct rd r = { .lin = lin, .acc = ACC_READ };
	cr_assert_eq(th_try(t, rd_fn, &r), -1);
	return (uint32_t)r.v;
}

Test(paging, stale_tlb_until_invlpg)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	th_write(t, DATA, 0x11111111, 4);
	th_write(t, DATA + 0x1000, 0x22222222, 4);
	uint64_t pte = pt_map(&p, 0x70000, DATA, 1, P | RW);
	cr_assert_eq(rd32(t, 0x70000), 0x11111111);
	th_write(t, pte, (DATA + 0x1000) | P | RW, 8);
	cr_assert_eq(rd32(t, 0x70000), 0x11111111, "the TLB caches the old translation");
	tlb_flush_page(t->cpu, 0x70abc);
	cr_assert_eq(rd32(t, 0x70000), 0x22222222, "INVLPG drops it");
	th_free(t);
}

Test(paging, invlpg_drops_whole_large_page_and_globals)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	ctl(t, 0, 0, CR4_PGE, 0);
	pt_map(&p, 0x40000000, 0x200000, 2, P | RW | G);
	pt_map(&p, 0x50003000, DATA, 1, P | RW | G);
	expect_pa(t, 0x40000000, ACC_READ, 0x200000);
	expect_pa(t, 0x401ff000, ACC_READ, 0x3ff000);
	expect_pa(t, 0x50003000, ACC_READ, DATA);
	cr_assert(ent(t, MMU_SUPER, 0x401ff000)->global);
	tlb_flush_page(t->cpu, 0x40000000);
	cr_assert_eq(ent(t, MMU_SUPER, 0x40000000)->tag_read, TLB_INVALID);
	cr_assert_eq(ent(t, MMU_SUPER, 0x401ff000)->tag_read, TLB_INVALID, "other 4K piece of the 2M page");
	cr_assert_eq(ent(t, MMU_SUPER, 0x50003000)->tag_read, 0x50003000, "unrelated page kept");
	tlb_flush_page(t->cpu, 0x50003fff);
	cr_assert_eq(ent(t, MMU_SUPER, 0x50003000)->tag_read, TLB_INVALID, "INVLPG drops global pages");
	th_free(t);
}

Test(paging, flush_pcid)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	ctl(t, 0, 0, CR4_PCIDE | CR4_PGE, 0);
	t->cpu->cr3 |= 7;
	pt_map(&p, 0x60000, DATA, 1, P | RW | G);
	pt_map(&p, 0x61000, DATA, 1, P | RW);
	expect_pa(t, 0x60000, ACC_READ, DATA);
	expect_pa(t, 0x61000, ACC_READ, DATA);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->pcid & TLB_PCID_MASK, 7);
	tlb_flush_pcid(t->cpu, 3, false);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, 0x61000);
	tlb_flush_pcid(t->cpu, 7, true);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, TLB_INVALID);
	cr_assert_eq(ent(t, MMU_SUPER, 0x60000)->tag_read, 0x60000);
	tlb_flush_pcid(t->cpu, 7, false);
	cr_assert_eq(ent(t, MMU_SUPER, 0x60000)->tag_read, TLB_INVALID);
	/* Non-global entries of a PCID that is not current are dropped by any
	 * PCID flush: the fast path cannot tell PCIDs apart. */
	expect_pa(t, 0x61000, ACC_READ, DATA);
	t->cpu->cr3 = (t->cpu->cr3 & ~0xfffull) | 9;
	tlb_flush_pcid(t->cpu, 9, true);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, TLB_INVALID);
	th_free(t);
}

Test(paging, cr3_write_flush_rules)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	struct cpu *c = t->cpu;
	ctl(t, 0, 0, CR4_PGE, 0);
	pt_map(&p, 0x60000, DATA, 1, P | RW | G);
	pt_map(&p, 0x61000, DATA, 1, P | RW);
	/* No PCIDs: every CR3 write drops the non-global entries. */
	expect_pa(t, 0x60000, ACC_READ, DATA);
	expect_pa(t, 0x61000, ACC_READ, DATA);
	tlb_cr3_written(c, c->cr3, true);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, TLB_INVALID);
	cr_assert_eq(ent(t, MMU_SUPER, 0x60000)->tag_read, 0x60000);
	ctl(t, 0, 0, CR4_PCIDE, 0);
	c->cr3 |= 5;
	/* PCIDs, bit 63 set, same PCID: entries survive. */
	expect_pa(t, 0x60000, ACC_READ, DATA);
	expect_pa(t, 0x61000, ACC_READ, DATA);
	tlb_cr3_written(c, c->cr3, true);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, 0x61000);
	/* Same PCID without bit 63: flushed. */
	tlb_cr3_written(c, c->cr3, false);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, TLB_INVALID);
	/* Another PCID, even with bit 63: the old PCID's entries must go. */
	expect_pa(t, 0x61000, ACC_READ, DATA);
	uint64_t old = c->cr3;
	c->cr3 = (c->cr3 & ~0xfffull) | 6;
	tlb_cr3_written(c, old, true);
	cr_assert_eq(ent(t, MMU_SUPER, 0x61000)->tag_read, TLB_INVALID);
	cr_assert_eq(ent(t, MMU_SUPER, 0x60000)->tag_read, 0x60000, "global entries stay");
	th_free(t);
}

/* ---- through real instructions: the fault reaches the CPU with CR2 ---- */

Test(paging, insn_pf_sets_cr2_and_error)
{
	struct th *t = th_new(TH_PROT32PG);
	/* The harness maps only the first 64 MiB. */
	th_asm(t, "mov eax, [0x8000010]");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->exc_error, 0);
	cr_assert_eq(t->cpu->fault_addr, 0x8000010);
	cr_assert_eq(t->cpu->rip, TH_CODE);
	th_free(t);
	t = th_new(TH_LONG64);
	th_asm(t, "mov qword [0x40000ff8], rax");
	th_run(t);
	cr_assert_eq(t->exc_vector, EXC_PF);
	cr_assert_eq(t->exc_error, PFEC_W);
	cr_assert_eq(t->cpu->fault_addr, 0x40000ff8);
	th_free(t);
}

Test(paging, l5_pml5e_reserved_ps)
{
	struct pt p;
	struct th *t = setup(M5, &p);
	uint64_t lin = 0x0001000000003000ull;	/* PML5 index 1 */
	pt_map(&p, lin, DATA, 1, P | RW);
	expect_pa(t, lin, ACC_READ, DATA);
	uint64_t a = pt_slot(&p, lin, 5, 0);
	th_write(t, a, th_read(t, a, 8) | PS, 8);
	tlb_flush_all(t->cpu);
	expect_pf(t, lin, ACC_READ, PFEC_P | PFEC_RSVD);
	th_free(t);
}

Test(paging, pg32_user_supervisor_and_rw_combine)
{
	struct pt p;
	struct th *t = setup(M32, &p);
	/* PDE user+RW, PTE supervisor; PDE read-only, PTE RW. */
	pt_map(&p, 0x00401000, DATA, 1, P | RW);
	pt_map(&p, 0x00801000, DATA + 0x1000, 1, P | RW | US);
	uint64_t pde = pt_slot(&p, 0x00801000, 2, 0);
	th_write(t, pde, th_read(t, pde, 4) & ~RW, 4);
	set_cpl(t, 3);
	expect_pf(t, 0x00401000, ACC_READ, PFEC_P | PFEC_U);
	expect_pa(t, 0x00801000, ACC_READ, DATA + 0x1000);
	expect_pf(t, 0x00801000, ACC_WRITE, PFEC_P | PFEC_W | PFEC_U);
	set_cpl(t, 0);
	expect_pf(t, 0x00801000, ACC_WRITE, PFEC_P | PFEC_W);	/* CR0.WP */
	th_free(t);
}

Test(paging, nofault_probe_reports_without_fault_or_bits)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	uint64_t pte = pt_map(&p, 0x9000, DATA, 1, P);	/* read-only */
	uint64_t pa = 0;
	t->cpu->fault_addr = 0x1234;
	cr_assert_not(mmu_translate(t->cpu, 0x9000, ACC_WRITE | ACC_NOFAULT, &pa));
	cr_assert_not(mmu_translate(t->cpu, 0xa000, ACC_READ | ACC_NOFAULT, &pa));
	cr_assert_not(mmu_translate(t->cpu, 0x0000800000000000ull, ACC_READ | ACC_NOFAULT, &pa));
	cr_assert_eq(t->cpu->fault_addr, 0x1234, "no fault raised");
	cr_assert_not(th_read(t, pte, 8) & A);
	cr_assert(mmu_translate(t->cpu, 0x9008, ACC_READ | ACC_NOFAULT, &pa));
	cr_assert_eq(pa, DATA + 8);
	th_free(t);
}

Test(paging, tlb_hit_answers_translate)
{
	struct pt p;
	struct th *t = setup(M4, &p);
	uint64_t pte = pt_map(&p, 0xb000, DATA, 1, P | RW);
	expect_pa(t, 0xb010, ACC_READ, DATA + 0x10);
	/* With the page cached, a changed PTE is not seen until a flush. */
	th_write(t, pte, (DATA + 0x3000) | P | RW | A, 8);
	expect_pa(t, 0xb020, ACC_READ, DATA + 0x20);
	/* A write has no tag yet (D clear): it walks and sees the new PTE. */
	expect_pa(t, 0xb020, ACC_WRITE, DATA + 0x3020);
	th_free(t);
}
