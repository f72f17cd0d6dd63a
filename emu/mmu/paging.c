/*
 * paging.c - guest linear-to-physical translation (SDM Vol. 3 ch. 4).
 *
 * One walker covers the five paging modes the CPU's mode cache names in
 * cpu->paging: off (linear = physical), 32-bit paging (4.3: 4 KiB pages,
 * 4 MiB pages with CR4.PSE and PSE-36 address bits), PAE (4.4), 4-level
 * and 5-level paging (4.5, LA57). The walk collects the combined rights of
 * all levels (U/S and R/W are ANDed, XD is ORed, 4.6) and stops at the
 * first entry that is not present or has a reserved bit set (4.7). The
 * rights are then checked against the access (4.6): user/supervisor,
 * CR0.WP, EFER.NXE, CR4.SMEP, CR4.SMAP with EFLAGS.AC for explicit
 * accesses, and protection keys (4.6.2, CR4.PKE with PKRU, 4/5-level
 * only, data accesses to user pages).
 *
 * Only a walk that succeeds sets bits: the accessed flag in every entry
 * used (4.8) and the dirty flag in the final entry for a write. They are
 * set with an atomic OR on the host word so other vCPUs' concurrent
 * updates are not lost.
 *
 * PAE PDPTEs: real processors load the four PDPTEs at MOV CR3 (and at the
 * CR0/CR4 writes that enter PAE paging), faulting there on reserved bits.
 * This walker reads the PDPTE from memory at each walk instead, and
 * reports a PDPTE with reserved bits as a #PF with RSVD. A guest that
 * edits its PDPT without reloading CR3 therefore sees the new value
 * earlier than hardware would; no known OS relies on the difference.
 *
 * The #PF error code (4.7): P when the fault is a rights violation (or a
 * reserved bit), W for writes, U for user accesses (implicit supervisor
 * accesses at CPL 3 are supervisor), RSVD, I for instruction fetches when
 * CR4.SMEP = 1 or (CR4.PAE = 1 and EFER.NXE = 1), PK for a protection-key
 * violation.
 *
 * A successful translation fills the TLB entry of the access's TLB space
 * (mmu_acc_idx) for the 4 KiB page, with a tag for each access kind that
 * space permits and that may go straight to host memory: reads and
 * fetches for RAM and ROM, writes only for RAM that is not a code page and
 * whose dirty flag is already set. MMIO gets no tags at all.
 */
#include <string.h>

#include "mmu.h"
#include "../machine.h"
#include "../cpu/cpu.h"
#include "../cpu/cpuid.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_XD (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull

/* Bits hi..lo set. */
#define BITS(hi, lo) ((~0ull >> (63 - (hi))) & ~((1ull << (lo)) - 1))

enum walk_status { WALK_OK, WALK_NOT_PRESENT, WALK_RSVD };

struct walk {
	uint64_t pa;		/* translated address */
	uint64_t page_size;
	int n;			/* entries used */
	uint64_t ent_addr[5];
	uint64_t ent[5];
	int level[5];
	bool has_a[5];		/* entry has an accessed flag (not a PAE PDPTE) */
	unsigned ent_size;	/* 4 (32-bit paging) or 8 */
	bool paging;
	bool us, rw, nx;	/* combined rights */
	bool global, dirty;
	unsigned pkey;
};

static unsigned maxphyaddr(const struct cpu *cpu)
{
	unsigned m = cpu->model && cpu->model->phys_bits ? cpu->model->phys_bits : 46;
	return m > 52 ? 52 : m;
}

/* Page-table reads are guest-physical accesses (the EPT/NPT hook goes
 * here later). */
static uint64_t pt_read(struct machine *m, uint64_t pa, unsigned size)
{
	pa &= ~m->a20_clear;
	uint8_t *h = phys_ram_ptr(m, pa, size);
	if (h) {
		if (size == 4) {
			uint32_t v;
			memcpy(&v, h, 4);
			return v;
		}
		uint64_t v;
		memcpy(&v, h, 8);
		return v;
	}
	return phys_read_u(m, pa, size);
}

static void pt_set_bits(struct machine *m, uint64_t pa, unsigned size, uint64_t bits)
{
	pa &= ~m->a20_clear;
	uint8_t *h = phys_ram_ptr(m, pa, size);
	if (h && (pa & (size - 1)) == 0) {
		if (size == 4)
			__atomic_fetch_or((uint32_t *)(void *)h, (uint32_t)bits, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_or((uint64_t *)(void *)h, bits, __ATOMIC_SEQ_CST);
		phys_ram_written(m, pa, size);
		return;
	}
	phys_write_u(m, pa, phys_read_u(m, pa, size) | bits, size);
}

static inline void record(struct walk *w, int level, uint64_t addr, uint64_t e, bool has_a)
{
	w->level[w->n] = level;
	w->ent_addr[w->n] = addr;
	w->ent[w->n] = e;
	w->has_a[w->n] = has_a;
	w->n++;
}

static enum walk_status walk_32(struct cpu *cpu, uint64_t lin, struct walk *w)
{
	struct machine *m = cpu->m;
	w->ent_size = 4;
	uint64_t addr = (cpu->cr3 & 0xfffff000u) | ((lin >> 20) & 0xffc);
	uint64_t pde = pt_read(m, addr, 4);
	record(w, 2, addr, pde, true);
	if (!(pde & PTE_P))
		return WALK_NOT_PRESENT;
	w->us = pde & PTE_US;
	w->rw = pde & PTE_RW;
	if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
		/* 4 MiB page; PSE-36 puts PA bits 39:32 in bits 20:13. */
		unsigned pbits = maxphyaddr(cpu) < 40 ? maxphyaddr(cpu) : 40;
		if (pde & BITS(21, pbits - 19))
			return WALK_RSVD;
		w->page_size = 4u << 20;
		w->pa = (pde & 0xffc00000u) | (((pde >> 13) & 0xff) << 32) | (lin & 0x3fffff);
		w->global = pde & PTE_G;
		w->dirty = pde & PTE_D;
		return WALK_OK;
	}
	addr = (pde & 0xfffff000u) | ((lin >> 10) & 0xffc);
	uint64_t pte = pt_read(m, addr, 4);
	record(w, 1, addr, pte, true);
	if (!(pte & PTE_P))
		return WALK_NOT_PRESENT;
	w->us = w->us && (pte & PTE_US);
	w->rw = w->rw && (pte & PTE_RW);
	w->page_size = 4096;
	w->pa = (pte & 0xfffff000u) | (lin & 0xfff);
	w->global = pte & PTE_G;
	w->dirty = pte & PTE_D;
	return WALK_OK;
}

/* PAE, 4-level and 5-level paging: 64-bit entries, 9 index bits a level. */
static enum walk_status walk_64(struct cpu *cpu, uint64_t lin, struct walk *w)
{
	struct machine *m = cpu->m;
	unsigned maxpa = maxphyaddr(cpu);
	bool nxe = cpu->efer & EFER_NXE;
	w->ent_size = 8;
	uint64_t table;
	int level;
	uint64_t rsvd_hi;

	if (cpu->paging == PG_PAE) {
		rsvd_hi = BITS(62, maxpa) | (nxe ? 0 : PTE_XD);
		uint64_t addr = (cpu->cr3 & 0xffffffe0u) + ((lin >> 30) & 3) * 8;
		uint64_t pdpte = pt_read(m, addr, 8);
		record(w, 3, addr, pdpte, false);
		if (!(pdpte & PTE_P))
			return WALK_NOT_PRESENT;
		if (pdpte & (BITS(63, maxpa) | BITS(8, 5) | BITS(2, 1)))
			return WALK_RSVD;
		table = pdpte & ADDR_MASK;
		level = 2;
	} else {
		rsvd_hi = BITS(51, maxpa) | (nxe ? 0 : PTE_XD);
		table = cpu->cr3 & ADDR_MASK & BITS(maxpa - 1, 12);
		level = cpu->paging == PG_5LEVEL ? 5 : 4;
	}

	for (;; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t addr = table + ((lin >> shift) & 0x1ff) * 8;
		uint64_t e = pt_read(m, addr, 8);
		record(w, level, addr, e, true);
		if (!(e & PTE_P))
			return WALK_NOT_PRESENT;
		uint64_t rsvd = rsvd_hi;
		bool leaf = level == 1;
		if (level >= 4) {
			rsvd |= PTE_PS;
		} else if (level >= 2 && (e & PTE_PS)) {
			if (level == 3 && !cpu_has(cpu, FEAT_PDPE1GB))
				return WALK_RSVD;
			rsvd |= BITS(shift - 1, 13);	/* above the PAT bit */
			leaf = true;
		}
		if (e & rsvd)
			return WALK_RSVD;
		w->us = w->us && (e & PTE_US);
		w->rw = w->rw && (e & PTE_RW);
		w->nx = w->nx || (nxe && (e & PTE_XD));
		if (leaf) {
			w->page_size = 1ull << shift;
			w->pa = (e & ADDR_MASK & ~(w->page_size - 1)) | (lin & (w->page_size - 1));
			w->global = e & PTE_G;
			w->dirty = e & PTE_D;
			w->pkey = (unsigned)(e >> 59) & 0xf;
			return WALK_OK;
		}
		table = e & ADDR_MASK;
	}
}

/* A closed A20 gate clears bit 20 of the result, as of every table
 * address (pt_read, pt_set_bits): the CPU's A20M# masks all its accesses. */
static enum walk_status walk(struct cpu *cpu, uint64_t lin, struct walk *w)
{
	enum walk_status st;

	w->n = 0;
	w->us = w->rw = true;
	w->nx = w->global = false;
	w->dirty = true;
	w->pkey = 0;
	w->page_size = 4096;
	w->paging = cpu->paging != PG_OFF;
	switch (cpu->paging) {
	case PG_OFF:
		w->pa = lin;
		st = WALK_OK;
		break;
	case PG_32:
		st = walk_32(cpu, lin, w);
		break;
	default:
		st = walk_64(cpu, lin, w);
		break;
	}
	w->pa &= ~cpu->m->a20_clear;
	return st;
}

static inline bool acc_is_user(const struct cpu *cpu, unsigned acc)
{
	return (acc & ACC_USER) || (cpu->cpl == 3 && !(acc & ACC_IMPLICIT));
}

unsigned mmu_acc_idx(const struct cpu *cpu, unsigned acc)
{
	if (acc_is_user(cpu, acc))
		return cpu->cpl == 3 && !(acc & ACC_IMPLICIT) && (cpu->cr0 & CR0_AM) &&
		       (cpu->rflags & FL_AC) ? MMU_USER_AC : MMU_USER;
	if ((cpu->cr4 & CR4_SMAP) && ((acc & ACC_IMPLICIT) || !(cpu->rflags & FL_AC)))
		return MMU_SUPER_SMAP;
	return MMU_SUPER;
}

/*
 * Rights check of a successful walk (SDM 4.6): 0 when allowed, else the
 * error-code bits P (and PK) the violation contributes. user and smap say
 * how the access is made (smap: SMAP protects user pages from this
 * supervisor data access).
 */
static uint32_t rights_fault(const struct cpu *cpu, const struct walk *w, unsigned kind,
			     bool user, bool smap)
{
	if (!w->paging)
		return 0;
	bool wp = cpu->cr0 & CR0_WP;
	bool bad;
	switch (kind) {
	case ACC_FETCH:
		bad = w->nx || (user ? !w->us : (w->us && (cpu->cr4 & CR4_SMEP)));
		break;
	case ACC_READ:
		bad = user ? !w->us : (w->us && smap);
		break;
	default:
		bad = user ? (!w->us || !w->rw) : ((w->us && smap) || (!w->rw && wp));
		break;
	}
	bool pk = false;
	if (kind != ACC_FETCH && w->us && (cpu->cr4 & CR4_PKE) && cpu->paging >= PG_4LEVEL) {
		uint32_t k = cpu->pkru >> (2 * w->pkey);
		pk = (k & 1) || (kind == ACC_WRITE && (k & 2) && (user || wp));
	}
	if (!bad && !pk)
		return 0;
	return PFEC_P | (pk ? PFEC_PK : 0);
}

/* The W, U and I bits of the error code for this access. */
static uint32_t access_pfec(const struct cpu *cpu, unsigned kind, bool user)
{
	uint32_t e = 0;
	if (kind == ACC_WRITE)
		e |= PFEC_W;
	if (user)
		e |= PFEC_U;
	if (kind == ACC_FETCH && ((cpu->cr4 & CR4_SMEP) ||
				  (cpu->paging >= PG_PAE && (cpu->efer & EFER_NXE))))
		e |= PFEC_I;
	return e;
}

static bool canonical(const struct cpu *cpu, uint64_t lin)
{
	if (cpu->paging == PG_4LEVEL)
		return (uint64_t)((int64_t)(lin << 16) >> 16) == lin;
	if (cpu->paging == PG_5LEVEL)
		return (uint64_t)((int64_t)(lin << 7) >> 7) == lin;
	return true;
}

/* Walk and check; 0 when allowed, else the full #PF error code. */
static uint32_t translate_check(struct cpu *cpu, uint64_t lin, unsigned acc, struct walk *w,
				bool *fault)
{
	unsigned kind = acc & ACC_KIND_MASK;
	bool user = acc_is_user(cpu, acc);
	enum walk_status st = walk(cpu, lin, w);
	uint32_t err;
	if (st == WALK_NOT_PRESENT)
		err = 0;
	else if (st == WALK_RSVD)
		err = PFEC_P | PFEC_RSVD;
	else
		err = rights_fault(cpu, w, kind, user, mmu_acc_idx(cpu, acc) == MMU_SUPER_SMAP);
	*fault = st != WALK_OK || err;
	return *fault ? err | access_pfec(cpu, kind, user) : 0;
}

static void tlb_fill(struct cpu *cpu, unsigned idx, uint64_t lin, const struct walk *w)
{
	struct machine *m = cpu->m;
	uint64_t page = lin & ~0xfffull;
	uint64_t pa_page = w->pa & ~0xfffull;
	struct tlb_entry *e = &cpu->tlb[idx][TLB_SLOT(lin)];
	enum region_kind kind;
	bool code = false;

	m->mem.owner = m;
	e->tag_read = e->tag_write = e->tag_fetch = TLB_INVALID;
	uint8_t *host = memmap_page_host(&m->mem, pa_page, &kind, &code);
	if (!host)
		return;
	bool user = idx == MMU_USER, smap = idx == MMU_SUPER_SMAP;
	if (!rights_fault(cpu, w, ACC_READ, user, smap))
		e->tag_read = page;
	if (!rights_fault(cpu, w, ACC_FETCH, user, smap))
		e->tag_fetch = page;
	if (kind == REGION_RAM && !code && w->dirty && !rights_fault(cpu, w, ACC_WRITE, user, smap))
		e->tag_write = page;
	e->addend = (uintptr_t)host - (uintptr_t)page;
	e->paddr = pa_page;
	e->pcid = (cpu->cr4 & CR4_PCIDE) ? (uint16_t)(cpu->cr3 & TLB_PCID_MASK) : 0;
	switch (w->page_size) {
	case 2u << 20: e->pcid |= TLB_LARGE_2M; break;
	case 4u << 20: e->pcid |= TLB_LARGE_4M; break;
	case 1u << 30: e->pcid |= TLB_LARGE_1G; break;
	default: break;
	}
	e->global = w->global && (cpu->cr4 & CR4_PGE);
}

bool mmu_translate(struct cpu *cpu, uint64_t lin, unsigned acc, uint64_t *pa)
{
	struct walk w;
	bool fault;
	unsigned kind = acc & ACC_KIND_MASK;
	unsigned idx = mmu_acc_idx(cpu, acc);

	/* A TLB hit holds exactly what a walk would conclude (rights for this
	 * space, A set, D set for a write tag). */
	if (idx != MMU_USER_AC) {
		const struct tlb_entry *e = &cpu->tlb[idx][TLB_SLOT(lin)];
		uint64_t tag = kind == ACC_READ ? e->tag_read : kind == ACC_WRITE ? e->tag_write
										  : e->tag_fetch;
		if (tag == (lin & ~0xfffull)) {
			*pa = e->paddr | (lin & 0xfff);
			return true;
		}
	}
	if (!canonical(cpu, lin)) {
		if (acc & ACC_NOFAULT)
			return false;
		cpu_fault(cpu, EXC_GP, 0);
	}
	uint32_t err = translate_check(cpu, lin, acc, &w, &fault);
	if (fault) {
		if (acc & ACC_NOFAULT)
			return false;
		cpu_page_fault(cpu, lin, err);
	}

	/* Accessed flags on every entry used, dirty on the last for a write. */
	for (int i = 0; i < w.n; i++) {
		uint64_t bits = w.has_a[i] ? PTE_A : 0;
		if (i == w.n - 1 && kind == ACC_WRITE)
			bits |= PTE_D;
		if (bits & ~w.ent[i])
			pt_set_bits(cpu->m, w.ent_addr[i], w.ent_size, bits);
	}
	if (kind == ACC_WRITE)
		w.dirty = true;

	if (idx != MMU_USER_AC)
		tlb_fill(cpu, idx, lin, &w);
	*pa = w.pa;
	return true;
}

void mmu_walk_info(struct cpu *cpu, uint64_t linear, unsigned acc, struct walk_result *out)
{
	struct walk w;
	bool fault;

	memset(out, 0, sizeof(*out));
	if (!canonical(cpu, linear)) {
		out->ok = false;
		return;
	}
	uint32_t err = translate_check(cpu, linear, acc, &w, &fault);
	out->nsteps = w.n;
	for (int i = 0; i < w.n; i++) {
		out->steps[i].entry_addr = w.ent_addr[i];
		out->steps[i].entry = w.ent[i];
		out->steps[i].level = w.level[i];
	}
	out->ok = !fault;
	out->pfec = err;
	if (!fault) {
		out->pa = w.pa;
		out->page_size = w.page_size;
	}
}
