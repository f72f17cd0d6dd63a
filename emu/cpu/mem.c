/*
 * mem.c - the slow paths of the guest memory accessors in mem.h.
 *
 * The inline accessors take the host-pointer fast path when the segment
 * is flat for the access and the TLB allows it; everything else comes
 * here: seg_linear (segmentation: limit, type and canonical checks,
 * raising #GP/#SS) gives the linear address, then the MMU's slow path
 * translates it (raising #PF/#AC), handling page crossings and MMIO.
 */
#include "mem.h"

uint64_t mem_read_slow(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, ACC_READ);
	return mmu_read_slow(cpu, lin & cpu->lin_mask, size, ACC_READ);
}

void mem_write_slow(struct cpu *cpu, unsigned seg, uint64_t off, uint64_t val, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, ACC_WRITE);
	mmu_write_slow(cpu, lin & cpu->lin_mask, val, size, ACC_WRITE);
}

void mem_probe_write(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, ACC_WRITE);
	mmu_probe_write(cpu, lin & cpu->lin_mask, size);
}

void mem_read_block(struct cpu *cpu, unsigned seg, uint64_t off, void *buf, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, ACC_READ);
	mmu_read_block(cpu, lin & cpu->lin_mask, buf, size, ACC_READ);
}

void mem_write_block(struct cpu *cpu, unsigned seg, uint64_t off, const void *buf, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, ACC_WRITE);
	mmu_write_block(cpu, lin & cpu->lin_mask, buf, size, ACC_WRITE);
}
