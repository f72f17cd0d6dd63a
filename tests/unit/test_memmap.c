/*
 * test_memmap.c - the physical memory map: RAM windows, ROM copies, MMIO
 * dispatch with access sizes, overlap priorities, unmapped space,
 * clamping, and the code-page hook on every write path.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/cpu/block.h"
#include "emu/cpu/insn.h"
#include "emu/machine.h"
#include "emu/mmu/mmu.h"

static struct machine *mk(uint64_t ram)
{
	struct machine *m = calloc(1, sizeof(*m));
	cr_assert(m);
	cr_assert_eq(memmap_init(&m->mem, ram), 0);
	return m;
}

static void rm(struct machine *m)
{
	if (m->bc)
		bc_destroy(m->bc);
	memmap_destroy(&m->mem);
	free(m);
}

/* An MMIO device that logs its accesses. */
struct dev {
	int n;
	struct { bool write; uint64_t off; uint64_t val; unsigned size; } log[64];
	uint64_t regs[16];
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	struct dev *d = opaque;
	if (d->n < 64)
		d->log[d->n++] = (typeof(d->log[0])){ false, off, 0, size };
	uint64_t v = 0;
	memcpy(&v, (uint8_t *)d->regs + (off % 120), size);
	return v;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct dev *d = opaque;
	if (d->n < 64)
		d->log[d->n++] = (typeof(d->log[0])){ true, off, val, size };
	memcpy((uint8_t *)d->regs + (off % 120), &val, size);
}

Test(memmap, ram_window_roundtrip)
{
	struct machine *m = mk(1 << 20);
	/* Guest 0x100000.. maps RAM offset 0x10000. */
	cr_assert_eq(memmap_add_ram(&m->mem, 0x100000, 0x8000, 0x10000, "ram"), 0);
	phys_write_u(m, 0x100010, 0x1122334455667788ull, 8);
	cr_assert_eq(phys_read_u(m, 0x100010, 8), 0x1122334455667788ull);
	cr_assert_eq(phys_read_u(m, 0x100011, 2), 0x6677);
	cr_assert_eq(phys_read_u(m, 0x100010, 1), 0x88);
	cr_assert_eq(phys_read_u(m, 0x100014, 4), 0x11223344);
	cr_assert_eq(m->mem.ram[0x10010], 0x88, "lands at the RAM offset");
	cr_assert_eq(memmap_find(&m->mem, 0x100000)->kind, REGION_RAM);
	cr_assert_null(memmap_find(&m->mem, 0xfffff));
	cr_assert_null(memmap_find(&m->mem, 0x108000));
	uint8_t *h = phys_ram_ptr(m, 0x100ff0, 16);
	cr_assert_eq(h, m->mem.ram + 0x10ff0);
	cr_assert_null(phys_ram_ptr(m, 0x100ff8, 16), "crosses a page");
	cr_assert_null(phys_ram_ptr(m, 0x108000, 1), "unmapped");
	rm(m);
}

Test(memmap, unmapped_reads_ones_writes_ignored)
{
	struct machine *m = mk(1 << 20);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, 0x1000, 0, "ram"), 0);
	cr_assert_eq(phys_read_u(m, 0x5000, 1), 0xff);
	cr_assert_eq(phys_read_u(m, 0x5000, 2), 0xffff);
	cr_assert_eq(phys_read_u(m, 0x5000, 4), 0xffffffffull);
	cr_assert_eq(phys_read_u(m, 0x5000, 8), ~0ull);
	cr_assert_eq(phys_read_u(m, 1ull << 60, 4), 0xffffffffull, "beyond any MAXPHYADDR");
	/* Straddling the end of RAM: the RAM part reads, the rest is ones. */
	phys_write_u(m, 0xffc, 0xaabbccdd, 4);
	cr_assert_eq(phys_read_u(m, 0xffe, 4), 0xffffaabbull);
	phys_write_u(m, 0xffe, 0x11223344, 4);
	cr_assert_eq(phys_read_u(m, 0xffc, 4), 0x3344ccdd);
	cr_assert_eq(m->mem.ram[0x1000], 0, "nothing written past the region");
	uint8_t buf[16];
	phys_read(m, ~0ull - 7, buf, sizeof(buf));	/* wraps: never crashes */
	rm(m);
}

Test(memmap, writes_clamped_to_region)
{
	struct machine *m = mk(0x4000);
	/* Only the first page of the RAM allocation is mapped. */
	cr_assert_eq(memmap_add_ram(&m->mem, 0x10000, 0x1000, 0, "ram"), 0);
	uint8_t big[0x3000];
	memset(big, 0x5a, sizeof(big));
	phys_write(m, 0x10800, big, sizeof(big));
	cr_assert_eq(m->mem.ram[0xfff], 0x5a);
	cr_assert_eq(m->mem.ram[0x1000], 0, "clamped at the region end");
	cr_assert_eq(m->mem.ram[0x7ff], 0);
	/* A window that would reach past the RAM allocation is refused. */
	cr_assert_eq(memmap_add_ram(&m->mem, 0x20000, 0x2000, 0x3000, "bad"), -EINVAL);
	cr_assert_eq(memmap_add_ram(&m->mem, 0x20000, 0x1000, 0x5000, "bad"), -EINVAL);
	cr_assert_eq(memmap_add_ram(&m->mem, ~0ull - 0xfff, 0x2000, 0, "wrap"), -EINVAL);
	cr_assert_eq(memmap_add_mmio(&m->mem, 0x30000, 0, NULL, NULL, NULL, "empty", 0), -EINVAL);
	rm(m);
}

Test(memmap, rom_is_a_copy_and_ignores_writes)
{
	struct machine *m = mk(0x10000);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, 0x10000, 0, "ram"), 0);
	uint8_t img[0x2000];
	for (unsigned k = 0; k < sizeof(img); k++)
		img[k] = (uint8_t)k;
	cr_assert_eq(memmap_add_rom(&m->mem, 0xe000, img, sizeof(img), "bios"), 0);
	img[5] = 0xee;	/* the map keeps its own copy */
	cr_assert_eq(phys_read_u(m, 0xe005, 1), 5);
	cr_assert_eq(phys_read_u(m, 0xf004, 4), 0x07060504);
	phys_write_u(m, 0xe005, 0x99, 1);
	uint8_t w[4] = { 1, 2, 3, 4 };
	phys_write(m, 0xdffe, w, 4);	/* half RAM, half ROM */
	cr_assert_eq(phys_read_u(m, 0xe005, 1), 5, "ROM write ignored");
	cr_assert_eq(phys_read_u(m, 0xdffe, 4), 0x01000201);
	cr_assert_eq(m->mem.ram[0xe000], 0, "the RAM under the ROM untouched");
	cr_assert_eq(memmap_find(&m->mem, 0xe000)->kind, REGION_ROM);
	rm(m);
}

Test(memmap, mmio_dispatch_sizes)
{
	struct machine *m = mk(0x10000);
	struct dev d = { 0 };
	cr_assert_eq(memmap_add_mmio(&m->mem, 0xfee00000ull, 0x1000, dev_read, dev_write, &d, "dev", 0), 0);
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned k = 0; k < 4; k++) {
		d.n = 0;
		phys_write_u(m, 0xfee00010ull, 0x0123456789abcdefull, sizes[k]);
		uint64_t v = phys_read_u(m, 0xfee00010ull, sizes[k]);
		uint64_t mask = sizes[k] == 8 ? ~0ull : (1ull << (8 * sizes[k])) - 1;
		cr_assert_eq(d.n, 2);
		cr_assert(d.log[0].write);
		cr_assert_eq(d.log[0].off, 0x10);
		cr_assert_eq(d.log[0].size, sizes[k]);
		cr_assert_eq(d.log[0].val, 0x0123456789abcdefull & mask, "value truncated to the size");
		cr_assert_not(d.log[1].write);
		cr_assert_eq(d.log[1].size, sizes[k]);
		cr_assert_eq(v, 0x0123456789abcdefull & mask);
	}
	/* A misaligned 4-byte access inside the region keeps its size. */
	d.n = 0;
	(void)phys_read_u(m, 0xfee00003ull, 4);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.log[0].off, 3);
	cr_assert_eq(d.log[0].size, 4);
	/* Bulk transfers split into naturally aligned pieces. */
	d.n = 0;
	uint8_t buf[15];
	phys_read(m, 0xfee00001ull, buf, sizeof(buf));
	static const struct { uint64_t off; unsigned size; } want[] = {
		{ 1, 1 }, { 2, 2 }, { 4, 4 }, { 8, 8 },
	};
	cr_assert_eq(d.n, 4);
	for (unsigned k = 0; k < 4; k++) {
		cr_assert_eq(d.log[k].off, want[k].off);
		cr_assert_eq(d.log[k].size, want[k].size);
	}
	rm(m);
}

Test(memmap, mmio_without_callbacks)
{
	struct machine *m = mk(0x10000);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, 0x10000, 0, "ram"), 0);
	cr_assert_eq(memmap_add_mmio(&m->mem, 0x8000, 0x1000, NULL, NULL, NULL, "hole", 1), 0);
	phys_write_u(m, 0x8000, 0x12345678, 4);
	cr_assert_eq(phys_read_u(m, 0x8000, 4), 0xffffffffull);
	cr_assert_eq(m->mem.ram[0x8000], 0);
	rm(m);
}

Test(memmap, overlap_priorities)
{
	struct machine *m = mk(0x100000);
	struct dev lo = { 0 }, hi = { 0 }, later = { 0 };
	cr_assert_eq(memmap_add_mmio(&m->mem, 0xa0000, 0x20000, dev_read, dev_write, &hi, "hi", 5), 0);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, 0x100000, 0, "ram"), 0);
	cr_assert_eq(memmap_add_mmio(&m->mem, 0x90000, 0x40000, dev_read, dev_write, &lo, "lo", -1), 0);
	/* Higher priority wins whatever the order of addition. */
	cr_assert_eq(memmap_find(&m->mem, 0xa0000)->opaque, &hi);
	cr_assert_eq(memmap_find(&m->mem, 0x90000)->kind, REGION_RAM, "RAM (0) beats lo (-1)");
	cr_assert_eq(memmap_find(&m->mem, 0xc0000)->kind, REGION_RAM);
	/* Equal priority: the later region wins. */
	cr_assert_eq(memmap_add_mmio(&m->mem, 0xc0000, 0x1000, dev_read, dev_write, &later, "later", 0), 0);
	cr_assert_eq(memmap_find(&m->mem, 0xc0000)->opaque, &later);
	/* A transfer across the boundaries goes to each owner in turn. */
	uint8_t buf[0x20];
	memset(buf, 0x77, sizeof(buf));
	phys_write(m, 0x9fff0, buf, sizeof(buf));
	cr_assert_eq(m->mem.ram[0x9ffff], 0x77);
	cr_assert_eq(m->mem.ram[0xa0000], 0, "hi owns 0xa0000");
	cr_assert_eq(hi.n, 2, "two 8-byte pieces");
	cr_assert_eq(hi.log[0].off, 0);
	cr_assert_eq(lo.n, 0);
	/* Removing the high region uncovers the RAM. */
	cr_assert_eq(memmap_remove(&m->mem, 0xa0000, 0x20000), 0);
	cr_assert_eq(memmap_find(&m->mem, 0xa0000)->kind, REGION_RAM);
	cr_assert_eq(memmap_remove(&m->mem, 0xa0000, 0x20000), -ENOENT);
	rm(m);
}

Test(memmap, code_page_hook_on_phys_write)
{
	struct machine *m = mk(0x100000);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, 0x100000, 0, "ram"), 0);
	m->bc = bc_create();
	cr_assert(m->bc);
	struct insn in;
	memset(&in, 0, sizeof(in));
	cr_assert(bc_insert(m->bc, 0x5010, 2, &in, 1, 1));
	cr_assert(bc_insert(m->bc, 0x6010, 2, &in, 1, 1));
	mmu_mark_code_page(m, 0x5010);
	mmu_mark_code_page(m, 0x6010);
	cr_assert(mmu_is_code_page(m, 0x5fff));
	cr_assert_not(mmu_is_code_page(m, 0x7000));
	uint64_t gen = bc_generation(m->bc);
	/* A write to another page leaves the code alone. */
	phys_write_u(m, 0x7000, 1, 1);
	cr_assert(mmu_is_code_page(m, 0x5000));
	cr_assert_not_null(bc_lookup(m->bc, 0x5010, 2));
	/* A write that touches the page drops its blocks and the mark. */
	phys_write_u(m, 0x5ffe, 0xffff, 4);	/* crosses into 0x6000 too */
	cr_assert_not(mmu_is_code_page(m, 0x5000));
	cr_assert_not(mmu_is_code_page(m, 0x6000));
	cr_assert_null(bc_lookup(m->bc, 0x5010, 2));
	cr_assert_null(bc_lookup(m->bc, 0x6010, 2));
	cr_assert_neq(bc_generation(m->bc), gen);
	/* ROM and MMIO pages are never marked. */
	uint8_t rom[0x1000] = { 0 };
	cr_assert_eq(memmap_add_rom(&m->mem, 0x200000, rom, sizeof(rom), "rom"), 0);
	mmu_mark_code_page(m, 0x200000);
	cr_assert_not(mmu_is_code_page(m, 0x200000));
	rm(m);
}

Test(memmap, code_page_hook_without_block_cache)
{
	struct machine *m = mk(0x10000);
	cr_assert_eq(memmap_add_ram(&m->mem, 0x100000, 0x10000, 0, "ram"), 0);
	mmu_mark_code_page(m, 0x103000);
	cr_assert(mmu_is_code_page(m, 0x103abc));
	cr_assert(m->mem.code_pages[0] & (1u << 3), "bitmap indexed by RAM page");
	uint8_t b[3] = { 1, 2, 3 };
	phys_write(m, 0x102fff, b, 3);
	cr_assert_not(mmu_is_code_page(m, 0x103000));
	cr_assert_eq(m->mem.code_pages[0], 0);
	/* Writers through phys_ram_ptr report with phys_ram_written. */
	mmu_mark_code_page(m, 0x104000);
	*phys_ram_ptr(m, 0x104010, 1) = 9;
	phys_ram_written(m, 0x104010, 1);
	cr_assert_not(mmu_is_code_page(m, 0x104000));
	rm(m);
}

Test(memmap, region_table_full_and_bad_sizes)
{
	struct machine *m = mk(0x1000);
	int err = 0;
	for (int k = 0; k < MEMMAP_MAX_REGIONS + 1 && !err; k++)
		err = memmap_add_mmio(&m->mem, 0x100000ull * (uint64_t)k, 0x1000, NULL, NULL, NULL, "x", 0);
	cr_assert_eq(err, -ENOSPC);
	cr_assert_eq(m->mem.nregions, MEMMAP_MAX_REGIONS);
	for (int k = 1; k < m->mem.nregions; k++)
		cr_assert_leq(m->mem.regions[k - 1].base, m->mem.regions[k].base, "sorted");
	uint8_t b = 0;
	cr_assert_eq(memmap_add_rom(&m->mem, 0, &b, 0, "empty"), -EINVAL);
	rm(m);
}
