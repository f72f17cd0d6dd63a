/*
 * tlb.c - the per-vCPU TLB: maintenance and the slow paths behind it.
 *
 * cpu->tlb[idx] is a direct-mapped array of 4 KiB linear pages per TLB
 * space (cpu.h, MMU_*). paging.c fills it; the inline fast paths in
 * emu/cpu/mem.h read it; this file flushes it as the architecture says
 * (SDM Vol. 3 4.10.4) and holds the slow paths: accesses that miss, cross
 * a page, hit MMIO or ROM, need an alignment check, or write a code page.
 *
 * Ordering guarantees of the slow paths:
 *  - an access that crosses a page translates every page before it reads
 *    or writes anything, so a #PF on a later page leaves memory (and MMIO
 *    devices) untouched;
 *  - the alignment check (#AC(0): CPL 3, CR0.AM, EFLAGS.AC, explicit data
 *    access, SDM 6.15) comes before translation, as on hardware;
 *  - a write to RAM marked as code goes through phys_write, which drops
 *    the page's decoded blocks before the bytes change.
 */
#include <string.h>

#include "mmu.h"
#include "../machine.h"
#include "../cpu/cpu.h"
#include "../cpu/mem.h"

#define PAGE_MASK 0xfffull

static inline void tlb_entry_clear(struct tlb_entry *e)
{
	e->tag_read = e->tag_write = e->tag_fetch = TLB_INVALID;
}

void tlb_flush_all(struct cpu *cpu)
{
	cpu->tlb_epoch++;
	for (int idx = 0; idx < MMU_NIDX; idx++)
		for (unsigned i = 0; i < TLB_ENTRIES; i++)
			tlb_entry_clear(&cpu->tlb[idx][i]);
}

void tlb_flush_nonglobal(struct cpu *cpu)
{
	cpu->tlb_epoch++;
	for (int idx = 0; idx < MMU_NIDX; idx++)
		for (unsigned i = 0; i < TLB_ENTRIES; i++)
			if (!cpu->tlb[idx][i].global)
				tlb_entry_clear(&cpu->tlb[idx][i]);
}

/* The linear page an entry maps, or TLB_INVALID when it maps nothing. */
static inline uint64_t entry_page(const struct tlb_entry *e)
{
	if (e->tag_read != TLB_INVALID)
		return e->tag_read;
	if (e->tag_fetch != TLB_INVALID)
		return e->tag_fetch;
	return e->tag_write;
}

void tlb_flush_page(struct cpu *cpu, uint64_t linear)
{
	uint64_t page = linear & cpu->lin_mask & ~PAGE_MASK;
	unsigned slot = TLB_SLOT(page);
	cpu->tlb_epoch++;
	for (int idx = 0; idx < MMU_NIDX; idx++)
		tlb_entry_clear(&cpu->tlb[idx][slot]);
	/* Pieces of a large page containing the address (global or not). */
	for (int idx = 0; idx < MMU_NIDX; idx++)
		for (unsigned i = 0; i < TLB_ENTRIES; i++) {
			struct tlb_entry *e = &cpu->tlb[idx][i];
			unsigned cls = e->pcid & TLB_LARGE_MASK;
			if (!cls)
				continue;
			uint64_t ep = entry_page(e);
			if (ep == TLB_INVALID)
				continue;
			uint64_t mask = cls == TLB_LARGE_2M ? ~((2ull << 20) - 1)
				      : cls == TLB_LARGE_4M ? ~((4ull << 20) - 1)
				      : ~((1ull << 30) - 1);
			if (((ep ^ page) & mask) == 0)
				tlb_entry_clear(e);
		}
}

void tlb_flush_pcid(struct cpu *cpu, uint16_t pcid, bool keep_global)
{
	unsigned cur = (cpu->cr4 & CR4_PCIDE) ? (unsigned)(cpu->cr3 & TLB_PCID_MASK) : 0;
	cpu->tlb_epoch++;
	for (int idx = 0; idx < MMU_NIDX; idx++)
		for (unsigned i = 0; i < TLB_ENTRIES; i++) {
			struct tlb_entry *e = &cpu->tlb[idx][i];
			unsigned ep = e->pcid & TLB_PCID_MASK;
			if (e->global) {
				if (keep_global || ep != (pcid & TLB_PCID_MASK))
					continue;
			} else if (ep != (pcid & TLB_PCID_MASK) && ep == cur) {
				continue;
			}
			tlb_entry_clear(e);
		}
}

void tlb_cr3_written(struct cpu *cpu, uint64_t old_cr3, bool noflush)
{
	if (!(cpu->cr4 & CR4_PCIDE) || !noflush ||
	    ((old_cr3 ^ cpu->cr3) & TLB_PCID_MASK))
		tlb_flush_nonglobal(cpu);
}

/* #AC(0) for a misaligned explicit data access at CPL 3 (SDM 6.15). */
static inline void ac_check(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc)
{
	if (likely(!(lin & (size - 1))))
		return;
	if (cpu->cpl == 3 && (cpu->cr0 & CR0_AM) && (cpu->rflags & FL_AC) &&
	    !(acc & ACC_IMPLICIT) && (acc & ACC_KIND_MASK) != ACC_FETCH)
		cpu_fault(cpu, EXC_AC, 0);
}

/* The host pointer for lin when the TLB of space idx allows this kind. */
static inline uint8_t *tlb_host(struct cpu *cpu, unsigned idx, uint64_t lin, unsigned kind)
{
	if (idx == MMU_USER_AC)
		return NULL;
	const struct tlb_entry *e = &cpu->tlb[idx][TLB_SLOT(lin)];
	uint64_t tag = kind == ACC_READ ? e->tag_read : kind == ACC_WRITE ? e->tag_write : e->tag_fetch;
	if (tag != (lin & ~PAGE_MASK))
		return NULL;
	return (uint8_t *)(uintptr_t)(lin + e->addend);
}

/*
 * One page-bounded piece of an access: a host pointer when the TLB allows
 * the fast path, else a guest-physical address for phys_read/phys_write.
 */
struct piece {
	uint8_t *host;
	uint64_t pa;
	unsigned len;
};

#define MAX_PIECES 18	/* up to 64 KiB + a crossing */

static bool split(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc,
		  struct piece *p, unsigned *np)
{
	unsigned kind = acc & ACC_KIND_MASK;
	unsigned idx = mmu_acc_idx(cpu, acc);
	unsigned n = 0;
	for (unsigned done = 0; done < size; n++) {
		uint64_t cur = (lin + done) & cpu->lin_mask;
		unsigned len = 4096 - (unsigned)(cur & PAGE_MASK);
		if (len > size - done)
			len = size - done;
		if (n >= MAX_PIECES)
			cpu_fault(cpu, EXC_GP, 0);	/* operand too large: caller bug */
		p[n].len = len;
		p[n].host = tlb_host(cpu, idx, cur, kind);
		if (!p[n].host) {
			if (!mmu_translate(cpu, cur, acc, &p[n].pa))
				return false;
			p[n].host = tlb_host(cpu, idx, cur, kind);
		}
		done += len;
	}
	*np = n;
	return true;
}

static void read_pieces(struct cpu *cpu, const struct piece *p, unsigned n, uint8_t *buf)
{
	for (unsigned i = 0; i < n; i++) {
		if (p[i].host)
			memcpy(buf, p[i].host, p[i].len);
		else
			phys_read(cpu->m, p[i].pa, buf, p[i].len);
		buf += p[i].len;
	}
}

static void write_pieces(struct cpu *cpu, const struct piece *p, unsigned n, const uint8_t *buf)
{
	for (unsigned i = 0; i < n; i++) {
		if (p[i].host)
			memcpy(p[i].host, buf, p[i].len);
		else
			phys_write(cpu->m, p[i].pa, buf, p[i].len);
		buf += p[i].len;
	}
}

uint64_t mmu_read_slow(struct cpu *cpu, uint64_t linear, unsigned size, unsigned acc)
{
	ac_check(cpu, linear, size, acc);
	if (unlikely(cpu->mmu_idx == MMU_DEBUG))
		cpu_debug_data(cpu, linear, size, acc);
	if (likely((linear & PAGE_MASK) + size <= 4096)) {
		unsigned kind = acc & ACC_KIND_MASK;
		unsigned idx = mmu_acc_idx(cpu, acc);
		uint8_t *h = tlb_host(cpu, idx, linear, kind);
		if (h)
			return host_load(h, size);
		uint64_t pa;
		if (!mmu_translate(cpu, linear, acc, &pa))
			return 0;
		h = tlb_host(cpu, idx, linear, kind);
		if (h)
			return host_load(h, size);
		return phys_read_u(cpu->m, pa, size);
	}
	struct piece p[2];
	unsigned n;
	uint64_t v = 0;
	if (split(cpu, linear, size, acc, p, &n))
		read_pieces(cpu, p, n, (uint8_t *)&v);
	return v;
}

void mmu_write_slow(struct cpu *cpu, uint64_t linear, uint64_t value, unsigned size, unsigned acc)
{
	acc = (acc & ~ACC_KIND_MASK) | ACC_WRITE;
	ac_check(cpu, linear, size, acc);
	if (unlikely(cpu->mmu_idx == MMU_DEBUG))
		cpu_debug_data(cpu, linear, size, acc);
	if (likely((linear & PAGE_MASK) + size <= 4096)) {
		unsigned idx = mmu_acc_idx(cpu, acc);
		uint8_t *h = tlb_host(cpu, idx, linear, ACC_WRITE);
		if (!h) {
			uint64_t pa;
			if (!mmu_translate(cpu, linear, acc, &pa))
				return;
			h = tlb_host(cpu, idx, linear, ACC_WRITE);
			if (!h) {
				phys_write_u(cpu->m, pa, value, size);
				return;
			}
		}
		host_store(h, value, size);
		return;
	}
	struct piece p[2];
	unsigned n;
	if (split(cpu, linear, size, acc, p, &n))
		write_pieces(cpu, p, n, (const uint8_t *)&value);
}

void mmu_read_block(struct cpu *cpu, uint64_t linear, void *buf, unsigned size, unsigned acc)
{
	struct piece p[MAX_PIECES];
	unsigned n;
	acc = (acc & ~ACC_KIND_MASK) | ((acc & ACC_KIND_MASK) == ACC_FETCH ? ACC_FETCH : ACC_READ);
	if (unlikely(cpu->mmu_idx == MMU_DEBUG))
		cpu_debug_data(cpu, linear, size, acc);
	if (size && split(cpu, linear, size, acc, p, &n))
		read_pieces(cpu, p, n, buf);
}

void mmu_write_block(struct cpu *cpu, uint64_t linear, const void *buf, unsigned size, unsigned acc)
{
	struct piece p[MAX_PIECES];
	unsigned n;
	acc = (acc & ~ACC_KIND_MASK) | ACC_WRITE;
	if (unlikely(cpu->mmu_idx == MMU_DEBUG))
		cpu_debug_data(cpu, linear, size, acc);
	if (size && split(cpu, linear, size, acc, p, &n))
		write_pieces(cpu, p, n, buf);
}

void mmu_probe_write(struct cpu *cpu, uint64_t linear, unsigned size)
{
	struct piece p[MAX_PIECES];
	unsigned n;
	if (size)
		(void)split(cpu, linear, size, ACC_WRITE, p, &n);
}
