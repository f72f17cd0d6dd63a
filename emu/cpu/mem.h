/*
 * mem.h - guest memory access from instruction handlers.
 *
 * Handlers address memory as segment:offset. The fast path (inline here)
 * applies when the segment needs no limit/type check for this kind of
 * access (cpu->flat_r / cpu->flat_w, kept by cpu_update_mode and segment
 * loads), the TLB holds the page for this access kind in the current
 * mmu_idx, and the access does not cross a page: then it is one host
 * load or store. Everything else goes to the slow path, which checks the
 * segment (seg_linear, raising #GP/#SS), translates (mmu_*_slow, raising
 * #PF/#AC) and handles MMIO and page crossings.
 *
 * Offsets passed in are already truncated to the address size by the
 * caller (insn_ea does it). Guest memory is little-endian like the host.
 */
#ifndef NESTEMU_MEM_H
#define NESTEMU_MEM_H

#include <string.h>

#include "cpu.h"
#include "../mmu/mmu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Segment checks and linear address for an access of `size` bytes at
 * seg:off (SDM Vol. 3 5.3 limit checks, 5.4 type checks, 3.3.7.1
 * canonical checks). Raises #GP(0), or #SS(0) for the stack segment.
 */
uint64_t seg_linear(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size, unsigned acc);

uint64_t mem_read_slow(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size);
void mem_write_slow(struct cpu *cpu, unsigned seg, uint64_t off, uint64_t val, unsigned size);

static inline struct tlb_entry *tlb_entry_for(struct cpu *cpu, uint64_t lin)
{
	return &cpu->tlb[cpu->mmu_idx][TLB_SLOT(lin)];
}

static inline uint64_t host_load(const void *p, unsigned size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static inline void host_store(void *p, uint64_t v, unsigned size)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static inline __attribute__((always_inline)) uint64_t mem_read(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size)
{
	uint64_t lin = (cpu->segbase[seg] + off) & cpu->lin_mask;
	struct tlb_entry *e = tlb_entry_for(cpu, lin);
	if (likely((cpu->flat_r >> seg) & 1) && likely(e->tag_read == (lin & ~0xfffull)) &&
	    likely((lin & 0xfff) <= 4096 - size))
		return host_load((void *)(uintptr_t)(lin + e->addend), size);
	return mem_read_slow(cpu, seg, off, size);
}

static inline __attribute__((always_inline)) void mem_write(struct cpu *cpu, unsigned seg, uint64_t off, uint64_t val, unsigned size)
{
	uint64_t lin = (cpu->segbase[seg] + off) & cpu->lin_mask;
	struct tlb_entry *e = tlb_entry_for(cpu, lin);
	if (likely((cpu->flat_w >> seg) & 1) && likely(e->tag_write == (lin & ~0xfffull)) &&
	    likely((lin & 0xfff) <= 4096 - size)) {
		host_store((void *)(uintptr_t)(lin + e->addend), val, size);
		return;
	}
	mem_write_slow(cpu, seg, off, val, size);
}

static inline uint8_t mem_read8(struct cpu *c, unsigned s, uint64_t o) { return (uint8_t)mem_read(c, s, o, 1); }
static inline uint16_t mem_read16(struct cpu *c, unsigned s, uint64_t o) { return (uint16_t)mem_read(c, s, o, 2); }
static inline uint32_t mem_read32(struct cpu *c, unsigned s, uint64_t o) { return (uint32_t)mem_read(c, s, o, 4); }
static inline uint64_t mem_read64(struct cpu *c, unsigned s, uint64_t o) { return mem_read(c, s, o, 8); }
static inline void mem_write8(struct cpu *c, unsigned s, uint64_t o, uint8_t v) { mem_write(c, s, o, v, 1); }
static inline void mem_write16(struct cpu *c, unsigned s, uint64_t o, uint16_t v) { mem_write(c, s, o, v, 2); }
static inline void mem_write32(struct cpu *c, unsigned s, uint64_t o, uint32_t v) { mem_write(c, s, o, v, 4); }
static inline void mem_write64(struct cpu *c, unsigned s, uint64_t o, uint64_t v) { mem_write(c, s, o, v, 8); }

/*
 * Checks, without writing, that `size` bytes at seg:off may be written
 * (segment and paging): for instructions with several memory writes
 * that must all succeed or none happen (PUSHA, ENTER, far CALL ...).
 */
void mem_probe_write(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size);

/* Multi-byte operands (m80, m128, m256, descriptor tables ...). */
void mem_read_block(struct cpu *cpu, unsigned seg, uint64_t off, void *buf, unsigned size);
void mem_write_block(struct cpu *cpu, unsigned seg, uint64_t off, const void *buf, unsigned size);

/* Linear-address accesses with system semantics (descriptor tables, TSS,
 * IDT: pass ACC_IMPLICIT), bypassing segmentation. */
static inline uint64_t lin_read(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc)
{
	return mmu_read_slow(cpu, lin & cpu->lin_mask, size, acc | ACC_READ);
}
static inline void lin_write(struct cpu *cpu, uint64_t lin, uint64_t val, unsigned size, unsigned acc)
{
	mmu_write_slow(cpu, lin & cpu->lin_mask, val, size, acc | ACC_WRITE);
}

#endif
