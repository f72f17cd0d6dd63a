/*
 * test_devfuzz.c - a guest programming devices wrongly must not reach
 * host memory or guest RAM it did not address: random PCI configuration
 * writes (every function, every offset, sizes 1/2/4 at any alignment,
 * BARs moved onto RAM, the LAPIC, the config ports, the 4 GiB and 64 KiB
 * edges) and fw_cfg DMA descriptors and buffers outside RAM, across its
 * end, wrapping 2^64. Run under `make asan` for the host-memory half; the
 * tests themselves check that guest RAM is untouched, that the memory
 * map and the I/O table return to their size once the bus is reset (no
 * leaked mappings), and that the devices still answer.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "emu/machine.h"
#include "emu/dev/fw_cfg.h"
#include "emu/dev/pci.h"
#include "emu/loader.h"

#define RAM (32u << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static struct machine *new_machine(void)
{
	struct machine_config cfg = { .ram_size = RAM, .ncpus = 1 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	return m;
}

/* Guest RAM filled with a pattern derived from the offset; 0 when intact. */
static void fill_ram(struct machine *m)
{
	for (uint64_t i = 0; i < m->mem.ram_size; i += 8) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull;
		memcpy(m->mem.ram + i, &v, 8);
	}
}

static uint64_t ram_damage(const struct machine *m, uint64_t skip_lo, uint64_t skip_hi)
{
	for (uint64_t i = 0; i < m->mem.ram_size; i += 8) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull;
		if (i + 8 > skip_lo && i < skip_hi)
			continue;
		if (memcmp(m->mem.ram + i, &v, 8) != 0)
			return i + 1;
	}
	return 0;
}

/* ---- PCI ---- */

struct bardev {
	struct pci_device d;
	uint8_t mem[0x1000];
	unsigned io_touch, mmio_touch;
};

static uint64_t bar_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct bardev *b = opaque;
	uint64_t v = 0;
	b->mmio_touch++;
	if (off < sizeof(b->mem) && size <= sizeof(b->mem) - off)
		memcpy(&v, b->mem + off, size);
	return v;
}

static void bar_mmio_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct bardev *b = opaque;
	b->mmio_touch++;
	if (off < sizeof(b->mem) && size <= sizeof(b->mem) - off)
		memcpy(b->mem + off, &v, size);
}

static uint32_t bar_io_read(void *opaque, uint16_t port, unsigned size)
{
	struct bardev *b = opaque;
	b->io_touch++;
	return 0x5a;
}

static void bar_io_write(void *opaque, uint16_t port, uint32_t v, unsigned size)
{
	struct bardev *b = opaque;
	b->io_touch++;
}

static void add_bardev(struct pci_bus *bus, struct bardev *b, int slot)
{
	memset(b, 0, sizeof(*b));
	b->d.name = "fuzz";
	b->d.config[0] = 0x34; b->d.config[1] = 0x12;
	b->d.config[2] = 0x78; b->d.config[3] = 0x56;
	b->d.config[PCI_INTERRUPT_PIN] = 1;
	pci_set_bar(&b->d, 0, &(struct pci_bar){ .kind = PCI_BAR_MEM32, .size = 0x1000,
		.mmio_read = bar_mmio_read, .mmio_write = bar_mmio_write, .opaque = b });
	pci_set_bar(&b->d, 1, &(struct pci_bar){ .kind = PCI_BAR_IO, .size = 0x20,
		.io_read = bar_io_read, .io_write = bar_io_write, .opaque = b });
	pci_set_bar(&b->d, 2, &(struct pci_bar){ .kind = PCI_BAR_MEM64, .size = 0x100000,
		.prefetch = true, .mmio_read = bar_mmio_read, .mmio_write = bar_mmio_write, .opaque = b });
	pci_set_bar(&b->d, PCI_ROM_SLOT, &(struct pci_bar){ .kind = PCI_BAR_MEM32, .size = 0x10000,
		.mmio_read = bar_mmio_read, .mmio_write = bar_mmio_write, .opaque = b });
	cr_assert_eq(pci_add_device(bus, &b->d, PCI_DEVFN(slot, 0)), 0);
}

/* The board's own bus (i440FX, PIIX3 ISA/IDE/PM, VGA), which the test's
 * devices join, so the fuzzing reaches the real functions too. (A second
 * bus in one machine would collide with the board's saved-state names.) */
static struct pci_bus *new_bus(struct machine *m)
{
	struct pci_bus *bus = machine_pci_bus(m);
	cr_assert_not_null(bus);
	return bus;
}

/* Values a confused guest puts in a BAR or the command register. */
static uint32_t absurd_value(void)
{
	static const uint32_t v[] = {
		0, 0xffffffff, 0x100000, 0x1000, 0xfee00000, 0xfec00000, 0xfed00000, 0xfffff000,
		0xfffffff0, 0xffff0000, 0xff000000, RAM - 0x800, 0x000a0000, 0x000c0000,
		0xcf8 | 1, 0xcfc | 1, 0x3f8 | 1, 0x510 | 1, 0xffe0 | 1, 0xfff0 | 1, 0xe0 | 1,
		0x7, 0x3, 0x1, 0x2, 0x80000000, 0xfffffffc,
	};
	return v[rnd() % (sizeof(v) / sizeof(v[0]))];
}

static void cfg_port_write(struct machine *m, unsigned devfn, unsigned off, uint32_t v,
			   unsigned size, unsigned byte)
{
	machine_io_out(m, 0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc), 4);
	machine_io_out(m, (uint16_t)(0xcfc + byte), v, size);
}

/* Reads across the physical address space, through every region kind. */
static void sweep_reads(struct machine *m)
{
	static const uint64_t at[] = {
		0, 0x9fff8, 0xa0000, 0xbfffc, 0xc0000, 0xf0000, 0xffff8, 0x100000, RAM - 4, RAM,
		0xe0000000, 0xfebff000, 0xfec00000, 0xfed00000, 0xfee00000, 0xfeffc000,
		0xff000000, 0xfffff000, 0xfffffffc, 0xfffffffe, 0x100000000ull, 0xffffffffffff8ull,
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		for (unsigned size = 1; size <= 8; size *= 2)
			(void)phys_read_u(m, at[i], size);
}

Test(devfuzz, pci_config_writes)
{
	struct machine *m = new_machine();
	struct pci_bus *bus = new_bus(m);
	static struct bardev b3, b4;
	int regions, nio;

	add_bardev(bus, &b3, 3);
	add_bardev(bus, &b4, 4);
	pci_reset(bus);
	regions = m->mem.nregions;
	nio = m->nio;
	fill_ram(m);

	for (int round = 0; round < 40000; round++) {
		unsigned devfn = (rnd() & 7) ? (unsigned)(rnd() % 256)
					     : (unsigned)(rnd() & 1 ? PCI_DEVFN(3, 0) : PCI_DEVFN(4, 0));
		unsigned size = 1u << (rnd() % 3);
		unsigned byte = (unsigned)(rnd() & 3);	/* may straddle 0xCFF */
		unsigned off = (unsigned)(rnd() & 0xff);
		uint32_t v = (uint32_t)rnd();

		switch (rnd() % 8) {
		case 0:	/* a BAR (or the ROM BAR) gets an absurd address */
			off = PCI_BAR0 + 4 * (unsigned)(rnd() % 7);
			if (off == PCI_BAR0 + 24)
				off = PCI_ROM_ADDRESS;
			v = absurd_value();
			size = 4;
			byte = 0;
			break;
		case 1:	/* decoding on or off */
			off = PCI_COMMAND;
			v = absurd_value();
			size = 2;
			byte = 0;
			break;
		case 2:	/* the address register alone, odd values */
			machine_io_out(m, (uint16_t)(0xcf8 + (rnd() & 3)), (uint32_t)rnd(),
				       1u << (rnd() % 3));
			continue;
		default:
			break;
		}
		cfg_port_write(m, devfn, off, v, size, byte);
		(void)machine_io_in(m, (uint16_t)(0xcfc + (rnd() & 3)), 1u << (rnd() % 3));
		if (round % 4000 == 0)
			sweep_reads(m);
		cr_assert_leq(m->mem.nregions, MEMMAP_MAX_REGIONS);
	}
	sweep_reads(m);
	/* Config writes move mappings; they never write guest RAM. */
	cr_assert_eq(ram_damage(m, 0, 0), 0, "guest RAM changed at 0x%llx",
		     (unsigned long long)ram_damage(m, 0, 0) - 1);
	/* A reset unmaps every BAR and PAM window: nothing leaked. */
	pci_reset(bus);
	cr_assert_eq(m->mem.nregions, regions, "memory regions %d after reset, %d before",
		     m->mem.nregions, regions);
	cr_assert_eq(m->nio, nio, "I/O ranges %d after reset, %d before", m->nio, nio);
	cr_assert_eq(pci_config_read(bus, PCI_DEVFN_HOST, PCI_DEVICE_ID, 2), 0x1237);
	/* The devices still map where a sane guest puts them. */
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_BAR0, 0xe0000000, 4);
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_CMD_MEMORY, 2);
	phys_write_u(m, 0xe0000010, 0xabcd, 2);
	cr_assert_eq(phys_read_u(m, 0xe0000010, 2), 0xabcd);
	machine_destroy(m);
}

/* Two BARs programmed to the same window: turning one off leaves the other's. */
Test(devfuzz, pci_bars_on_one_address)
{
	struct machine *m = new_machine();
	struct pci_bus *bus = new_bus(m);
	static struct bardev b3, b4;

	add_bardev(bus, &b3, 3);
	add_bardev(bus, &b4, 4);
	pci_reset(bus);
	for (int k = 0; k < 2; k++) {
		uint8_t df = k ? PCI_DEVFN(4, 0) : PCI_DEVFN(3, 0);
		pci_config_write(bus, df, PCI_BAR0, 0xe0000000, 4);
		pci_config_write(bus, df, PCI_COMMAND, PCI_CMD_MEMORY, 2);
	}
	(void)phys_read_u(m, 0xe0000000, 4);
	cr_assert_eq(b4.mmio_touch, 1, "the later BAR wins while both decode");
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_COMMAND, 0, 2);
	(void)phys_read_u(m, 0xe0000000, 4);
	cr_assert_eq(b3.mmio_touch, 0, "a BAR whose decoding is off answered");
	cr_assert_eq(b4.mmio_touch, 2, "the BAR still decoding lost its window");
	pci_config_write(bus, PCI_DEVFN(4, 0), PCI_COMMAND, 0, 2);
	(void)phys_read_u(m, 0xe0000000, 4);
	cr_assert_eq(b3.mmio_touch + b4.mmio_touch, 2, "a window stayed mapped with decoding off");
	/* A BAR over the LAPIC page, then moved away: the LAPIC answers again. */
	uint32_t ver = (uint32_t)phys_read_u(m, 0xfee00030, 4);
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_BAR0, 0xfee00000, 4);
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_CMD_MEMORY, 2);
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_BAR0, 0xe0000000, 4);
	cr_assert_eq(phys_read_u(m, 0xfee00030, 4), ver);
	/* A 64 KiB ROM BAR exactly over the 0xF0000 PAM window, with PAM
	 * changes while it decodes: each side removes only its own region. */
	int regions = m->mem.nregions;
	pci_config_write(bus, PCI_DEVFN(3, 0), PCI_COMMAND, 0, 2);
	pci_config_write(bus, PCI_DEVFN_HOST, I440FX_PAM0, PAM_RE << 4, 1);	/* PAM first */
	pci_config_write(bus, PCI_DEVFN(4, 0), PCI_ROM_ADDRESS, 0xf0001, 4);
	pci_config_write(bus, PCI_DEVFN(4, 0), PCI_COMMAND, PCI_CMD_MEMORY, 2);
	for (unsigned mode = 2; mode < 8; mode++)
		pci_config_write(bus, PCI_DEVFN_HOST, I440FX_PAM0, (mode & 3) << 4, 1);
	b4.mmio_touch = 0;
	(void)phys_read_u(m, 0xf0000, 4);
	cr_assert_eq(b4.mmio_touch, 1, "the ROM BAR over the PAM window lost its mapping");
	pci_config_write(bus, PCI_DEVFN(4, 0), PCI_COMMAND, 0, 2);
	pci_config_write(bus, PCI_DEVFN_HOST, I440FX_PAM0, 0, 1);
	pci_reset(bus);
	cr_assert_leq(m->mem.nregions, regions, "regions leaked: %d, %d before", m->mem.nregions,
		      regions);
	machine_destroy(m);
}

/* ---- fw_cfg DMA ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t absurd_addr(void)
{
	static const uint64_t a[] = {
		0xfee00000, 0xfec00000, 0xfffffff8, 0xfffffffc, 0xa0000, 0x9fff8, RAM - 8, RAM - 4,
		RAM, 0x100000000ull, 1ull << 40, ~0ull, ~0ull - 7, ~0ull - 15, 0x8000000000000000ull,
		0xff000000, 0xfeffc000,
	};
	return a[rnd() % (sizeof(a) / sizeof(a[0]))];
}

static void start_dma(struct machine *m, uint64_t pa)
{
	machine_io_out(m, FW_CFG_PORT_DMA, __builtin_bswap32((uint32_t)(pa >> 32)), 4);
	machine_io_out(m, FW_CFG_PORT_DMA + 4, __builtin_bswap32((uint32_t)pa), 4);
}

Test(devfuzz, fw_cfg_dma_outside_ram)
{
	struct machine *m = new_machine();
	struct fw_cfg *f = machine_fw_cfg(m);	/* the board's instance */

	cr_assert_not_null(f);
	cr_assert_eq(fw_cfg_add_file(f, "fuzz/rw", "0123456789abcdef", 16, true), 0);
	fill_ram(m);

	/* Descriptors outside RAM: nothing in RAM may change. */
	for (int k = 0; k < 2000; k++) {
		uint64_t pa = absurd_addr();
		if (pa < RAM && pa + 16 <= RAM)
			continue;
		start_dma(m, pa);
	}
	cr_assert_eq(ram_damage(m, 0, 0), 0, "a descriptor outside RAM changed RAM at 0x%llx",
		     (unsigned long long)ram_damage(m, 0, 0) - 1);

	/* Descriptors in RAM pointing outside it: only the control word changes. */
	for (int k = 0; k < 20000; k++) {
		uint8_t d[16];
		uint64_t desc = 0x10000 + (rnd() % 64) * 16;
		uint64_t buf = absurd_addr();
		uint32_t ctl = (uint32_t)rnd() & 0xffff001f;
		uint32_t len = (rnd() & 1) ? (uint32_t)rnd() : (uint32_t)(rnd() % 64);

		if (buf < RAM && (uint64_t)len <= RAM - buf)
			buf = RAM + (rnd() & 0xfff);	/* keep it outside */
		put_be32(d, ctl);
		put_be32(d + 4, len);
		put_be32(d + 8, (uint32_t)(buf >> 32));
		put_be32(d + 12, (uint32_t)buf);
		phys_write(m, desc, d, 16);
		start_dma(m, desc);
		uint8_t back[4];
		phys_read(m, desc, back, 4);
		if (ctl & 0xe)	/* READ/SKIP/WRITE asked: done, maybe with the error bit */
			cr_assert(back[0] == 0 && back[1] == 0 && back[2] == 0 && (back[3] & ~1) == 0,
				  "control word after DMA: %02x%02x%02x%02x", back[0], back[1],
				  back[2], back[3]);
	}
	cr_assert_eq(ram_damage(m, 0x10000, 0x10000 + 64 * 16), 0,
		     "DMA to a buffer outside RAM changed RAM at 0x%llx",
		     (unsigned long long)ram_damage(m, 0x10000, 0x10000 + 64 * 16) - 1);

	/* Random descriptors anywhere in RAM, buffers anywhere: no crash, and
	 * the writable item never grows past its 16 bytes. */
	for (int k = 0; k < 20000; k++) {
		uint8_t d[16];
		uint64_t desc = (rnd() & 3) ? rnd() % RAM : absurd_addr();
		uint64_t buf = (rnd() & 1) ? rnd() % RAM : absurd_addr();
		for (int i = 0; i < 16; i += 8) {
			uint64_t v = rnd();
			memcpy(d + i, &v, 8);
		}
		put_be32(d + 8, (uint32_t)(buf >> 32));
		put_be32(d + 12, (uint32_t)buf);
		if (rnd() & 1)
			put_be32(d + 4, (uint32_t)(rnd() % 4096));
		phys_write(m, desc, d, 16);
		if (rnd() % 4 == 0)
			machine_io_out(m, FW_CFG_PORT_SEL, (uint32_t)rnd(), 2);
		start_dma(m, desc);
		(void)machine_io_in(m, FW_CFG_PORT_DATA, 1);
	}
	size_t len;
	cr_assert_not_null(fw_cfg_file(f, "fuzz/rw", &len));
	cr_assert_eq(len, 16);
	machine_destroy(m);
}

/* ---- kernel images: truncated and corrupted headers ---- */

/* A Multiboot ELF32 with one segment, or a bzImage with protocol 2.0f. */
static size_t make_kernel(uint8_t *k, size_t cap, bool bz)
{
	memset(k, 0, cap);
	if (bz) {
		size_t n = 5 * 512 + 4096;
		k[0x1f1] = 4;
		k[0x1fe] = 0x55;
		k[0x1ff] = 0xaa;
		k[0x201] = 0x66;
		memcpy(k + 0x202, "HdrS", 4);
		k[0x206] = 0x0f;
		k[0x207] = 0x02;
		k[0x211] = 1;
		k[0x216] = 0x10;
		k[0x22f] = 0x7f;
		k[0x239] = 0x08;
		return n;
	}
	static const uint8_t ehdr[52] = {
		0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		2, 0, 3, 0, 1, 0, 0, 0, 0x00, 0x10, 0x10, 0x00, 52, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 52, 0, 32, 0, 1, 0, 40, 0, 0, 0, 0, 0,
	};
	static const uint32_t phdr[8] = { 1, 0, 0x100000, 0x100000, 0x2000, 0x3000, 5, 0x1000 };
	static const uint32_t mbh[3] = { 0x1badb002, 0, (uint32_t)-0x1badb002 };
	memcpy(k, ehdr, sizeof(ehdr));
	memcpy(k + 52, phdr, sizeof(phdr));
	memcpy(k + 0x100, mbh, sizeof(mbh));
	return 0x2000;
}

Test(devfuzz, kernel_headers)
{
	struct machine *m = new_machine();
	static uint8_t k[0x2000];	/* the larger of the two images */
	char err[256];
	int ok = 0;

	for (int round = 0; round < 3000; round++) {
		bool bz = round & 1;
		size_t n = make_kernel(k, sizeof(k), bz);
		/* a few random bytes in the headers, then maybe a truncation */
		for (int j = (int)(rnd() % 4); j > 0; j--) {
			size_t at = bz ? 0x1f0 + rnd() % 0x80 : rnd() % 0x140;
			k[at] = (uint8_t)rnd();
		}
		if (rnd() & 1)
			n = rnd() % (n + 1);
		uint8_t *copy = malloc(n ? n : 1);	/* exact size: ASan sees any overread */
		memcpy(copy, k, n);
		err[0] = '\0';
		if (loader_multiboot_image(m, copy, n, "fuzz", "x", NULL, err, sizeof(err)) == 0)
			ok++;
		else
			cr_assert(err[0] != '\0' && strchr(err, '\n') == NULL, "one sentence: '%s'", err);
		free(copy);
	}
	cr_assert_gt(ok, 0, "some images still load");
	machine_destroy(m);
}
