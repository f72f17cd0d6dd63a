/*
 * testdev.c - pc-testdev, QEMU's ISA test device for kvm-unit-tests.
 *
 * Registers (facts from QEMU's hw/misc/pc-testdev.c):
 *   0xE0-0xE3    a 32-bit scratch register; an access of any size at
 *                0xE0 + k reads or writes its bytes k.. (little-endian).
 *   0xE4-0xE7    "flush page": a write of a guest-physical address makes
 *                the page's cached translations go away (QEMU mprotects
 *                the host page so KVM drops its mappings). Here it drops
 *                every vCPU's TLB and the page's decoded blocks, so the
 *                next access walks and decodes afresh. Reads return 0.
 *   0xE8-0xEB    the same scratch register seen byte by byte (QEMU splits
 *                wider accesses into bytes; the result is the same).
 *   0x2000-0x2017  IRQ lines: writing V to 0x2000 + n drives ISA IRQ n
 *                (n < 16: the 8259 input n and IOAPIC pin n, IRQ 0 on
 *                pin 2) or GSI n (16-23: IOAPIC only) to V != 0, level
 *                held until the next write. Reads return 0.
 *   0xFF000000   64 KiB of RAM-like MMIO ("iomem"): reads return what
 *                was written, at any size and alignment.
 *
 * Port 0xE9 is the debug console (dev/debugport.c) on this board, so
 * the byte view claims 0xE8 and 0xEA-0xEB: an access that starts at 0xE8
 * reaches the scratch register whatever its size, a byte access to 0xE9
 * reaches the debug console (docs/decisions.md). The scratch register
 * and iomem keep their contents across resets, as in QEMU.
 */
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "state.h"
#include "dev/irq.h"
#include "dev/testdev.h"
#include "mmu/mmu.h"

struct testdev {
	struct machine *m;
	uint32_t scratch;			/* ports 0xE0-0xE3 / 0xE8-0xEB */
	uint8_t irq_level[TESTDEV_NIRQ];	/* last level written to 0x2000 + n */
	uint8_t iomem[TESTDEV_IOMEM_SIZE];	/* the MMIO window's bytes */
};

static uint32_t size_mask(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static uint32_t scratch_read(void *opaque, uint16_t port, unsigned size)
{
	struct testdev *t = opaque;
	unsigned shift = 8 * (port & 3);

	return (t->scratch >> shift) & size_mask(size);
}

static void scratch_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct testdev *t = opaque;
	unsigned shift = 8 * (port & 3);
	uint32_t mask = size_mask(size) << shift;

	/* Bytes beyond 0xE3 (a dword at 0xE2) fall off the register, as in QEMU. */
	t->scratch = (t->scratch & ~mask) | ((value << shift) & mask);
}

static uint32_t zero_read(void *opaque, uint16_t port, unsigned size)
{
	return 0;
}

static void flush_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t page = value & ~0xfffull;

	if (size != 4 || port != 0xe4)
		return;	/* QEMU accepts 4-byte writes only */
	phys_ram_written(t->m, page, 4096);
	for (int i = 0; i < t->m->ncpus; i++)
		tlb_flush_all(t->m->cpus[i]);
}

static void irq_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct testdev *t = opaque;
	int n = port - TESTDEV_IRQ_PORT;
	int level = (value & size_mask(size)) != 0;

	if (n < 0 || n >= TESTDEV_NIRQ)
		return;
	t->irq_level[n] = (uint8_t)level;
	if (n < 16)
		machine_set_isa_irq(t->m, n, level);
	else
		machine_set_gsi(t->m, n, level);
}

static uint64_t iomem_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v = 0;

	if (offset < TESTDEV_IOMEM_SIZE && size <= TESTDEV_IOMEM_SIZE - offset)
		memcpy(&v, &t->iomem[offset], size);	/* little-endian host */
	return v;
}

static void iomem_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct testdev *t = opaque;

	if (offset < TESTDEV_IOMEM_SIZE && size <= TESTDEV_IOMEM_SIZE - offset)
		memcpy(&t->iomem[offset], &value, size);
}

static const struct state_field testdev_fields[] = {
	STATE_FIELD(struct testdev, scratch, SF_HEX),
	STATE_ARRAY(struct testdev, irq_level, SF_DEC),
	STATE_END,
};

static void *testdev_blob(void *base, size_t *len)
{
	struct testdev *t = base;

	*len = sizeof(t->iomem);
	return t->iomem;
}

struct testdev *testdev_create(struct machine *m, char *err, size_t errlen)
{
	struct testdev *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory creating pc-testdev");
		return NULL;
	}
	t->m = m;
	if (machine_add_io(m, 0xe0, 4, scratch_read, scratch_write, t, "pc-testdev") < 0 ||
	    machine_add_io(m, 0xe4, 4, zero_read, flush_write, t, "pc-testdev-flush") < 0 ||
	    machine_add_io(m, 0xe8, 1, scratch_read, scratch_write, t, "pc-testdev-byte") < 0 ||
	    machine_add_io(m, 0xea, 2, scratch_read, scratch_write, t, "pc-testdev-byte") < 0 ||
	    machine_add_io(m, TESTDEV_IRQ_PORT, TESTDEV_NIRQ, zero_read, irq_write, t,
			   "pc-testdev-irq") < 0) {
		snprintf(err, errlen,
			 "pc-testdev cannot claim its I/O ports 0xE0-0xEB and 0x2000-0x2017 "
			 "(another device uses them)");
		goto fail;
	}
	if (memmap_add_mmio(&m->mem, TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_SIZE, iomem_read,
			    iomem_write, t, "pc-testdev-iomem", 1) < 0) {
		snprintf(err, errlen, "pc-testdev cannot map its memory window at 0xFF000000");
		goto fail;
	}
	if (machine_register_state(m, &(struct state_section){
		    .name = "pc-testdev", .version = 1, .fields = testdev_fields, .base = t,
		    .blob = testdev_blob }) < 0) {
		snprintf(err, errlen, "out of memory registering the pc-testdev state");
		goto fail;
	}
	return t;
fail:
	/* Claimed ranges stay with the machine, which is being torn down. */
	free(t);
	return NULL;
}

void testdev_destroy(struct testdev *t)
{
	free(t);
}
