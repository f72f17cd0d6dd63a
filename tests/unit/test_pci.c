/*
 * test_pci.c - the i440FX/PIIX PCI bus: configuration mechanism #1, the
 * fixed functions' IDs, BAR sizing and mapping, PAM shadow RAM, SMRAM,
 * PIRQ routing of INTx.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "emu/machine.h"
#include "emu/state.h"
#include "emu/dev/pci.h"

struct irqlog {
	int level[16];
	int changes;
};

static void irq_cb(void *opaque, int n, int level)
{
	struct irqlog *l = opaque;
	l->level[n] = level;
	l->changes++;
}

static struct machine *new_machine(void)
{
	struct machine_config cfg = { .ram_size = 32 << 20, .ncpus = 1 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	return m;
}

/* A bus on a machine whose board may already have one: the test's bus
 * uses its own ports only when 0xCF8 is free, so tests go through
 * pci_config_* for device state and through ports when they own them. */
static struct pci_bus *new_bus(struct machine *m, struct irqlog *l)
{
	struct pci_bus_config cfg = { 0 };
	char err[256] = "";
	for (int i = 0; i < 16; i++)
		cfg.isa_irq[i] = (struct irq){ irq_cb, l, i };
	(void)machine_remove_io(m, 0xcf8, 1);	/* the board's bus, if wired */
	(void)machine_remove_io(m, 0xcfa, 2);
	(void)machine_remove_io(m, 0xcfc, 4);
	(void)state_unregister(m, "pci");
	for (int k = 0; k < 256; k++) {
		char name[16];
		snprintf(name, sizeof(name), "pci-%02x.%d", k >> 3, k & 7);
		(void)state_unregister(m, name);
	}
	struct pci_bus *bus = pci_create(m, &cfg, err, sizeof(err));
	cr_assert_not_null(bus, "%s", err);
	return bus;
}

static uint32_t cfg_in(struct machine *m, int devfn, unsigned off, unsigned size)
{
	machine_io_out(m, 0xcf8, 0x80000000u | (unsigned)devfn << 8 | (off & 0xfc), 4);
	return machine_io_in(m, (uint16_t)(0xcfc + (off & 3)), size);
}

static void cfg_out(struct machine *m, int devfn, unsigned off, uint32_t v, unsigned size)
{
	machine_io_out(m, 0xcf8, 0x80000000u | (unsigned)devfn << 8 | (off & 0xfc), 4);
	machine_io_out(m, (uint16_t)(0xcfc + (off & 3)), v, size);
}

Test(pci, fixed_function_ids_through_cf8)
{
	struct machine *m = new_machine();
	struct irqlog l = { 0 };
	struct pci_bus *bus = new_bus(m, &l);
	static const struct { int devfn; uint32_t id; uint32_t class_rev; } t[] = {
		{ PCI_DEVFN_HOST, 0x12378086, 0x06000002 },
		{ PCI_DEVFN_ISA, 0x70008086, 0x06010000 },
		{ PCI_DEVFN_PM, 0x71138086, 0x06800003 },
	};
	for (unsigned k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		cr_assert_eq(cfg_in(m, t[k].devfn, 0, 4), t[k].id, "devfn %d", t[k].devfn);
		cr_assert_eq(cfg_in(m, t[k].devfn, 8, 4), t[k].class_rev, "devfn %d", t[k].devfn);
	}
	cr_assert_eq(cfg_in(m, PCI_DEVFN(5, 0), 0, 4), 0xffffffffu, "empty slot");
	cr_assert_eq(cfg_in(m, PCI_DEVFN_HOST, PCI_SUBSYS_VENDOR, 4), 0x11001af4u,
		     "QEMU subsystem IDs (SeaBIOS's QEMU detection)");
	cr_assert_eq(cfg_in(m, PCI_DEVFN_ISA, 0x0e, 1), 0x80, "PIIX3 is multi-function");
	cr_assert_eq(cfg_in(m, PCI_DEVFN_ISA, 0x02, 2), 0x7000, "word access at 0xCFE");
	cr_assert_eq(cfg_in(m, PCI_DEVFN_ISA, 0x03, 1), 0x70, "byte access at 0xCFF");
	cr_assert_eq(machine_io_in(m, 0xcf8, 4), 0x80000000u | PCI_DEVFN_ISA << 8);
	/* Byte writes to 0xCF8-0xCFB do not touch the address latch. */
	machine_io_out(m, 0xcfb, 0x01, 1);
	machine_io_out(m, 0xcf8, 0x01, 1);
	cr_assert_eq(machine_io_in(m, 0xcf8, 4), 0x80000000u | PCI_DEVFN_ISA << 8);
	/* Bit 31 clear: no configuration cycle. */
	machine_io_out(m, 0xcf8, 0x00000000u, 4);
	cr_assert_eq(machine_io_in(m, 0xcfc, 4), 0xffffffffu);
	/* Bus 1 does not exist. */
	machine_io_out(m, 0xcf8, 0x80010000u, 4);
	cr_assert_eq(machine_io_in(m, 0xcfc, 4), 0xffffffffu);
	/* PIIX4 PM: PMBASE, SCI line, APMC_EN. */
	cr_assert_eq(cfg_in(m, PCI_DEVFN_PM, PIIX4_PMBASE, 4), 0x601u);
	cr_assert_eq(cfg_in(m, PCI_DEVFN_PM, PCI_INTERRUPT_LINE, 2), 0x0109u);
	cr_assert_eq(cfg_in(m, PCI_DEVFN_PM, PIIX4_DEVACTB + 3, 1), 0x02u);
	/* Read-only IDs. */
	cfg_out(m, PCI_DEVFN_HOST, 0, 0x12345678, 4);
	cr_assert_eq(cfg_in(m, PCI_DEVFN_HOST, 0, 4), 0x12378086u);
	pci_destroy(bus);
	machine_destroy(m);
}

struct bardev {
	struct pci_device d;
	int mmio_reads, io_writes;
	uint64_t last_off;
	uint16_t last_port;
};

static uint64_t bar_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct bardev *b = opaque;
	b->mmio_reads++;
	b->last_off = off;
	return 0xa5a5a5a5u;
}

static void bar_mmio_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
}

static uint32_t bar_io_read(void *opaque, uint16_t port, unsigned size)
{
	return 0x5a;
}

static void bar_io_write(void *opaque, uint16_t port, uint32_t v, unsigned size)
{
	struct bardev *b = opaque;
	b->io_writes++;
	b->last_port = port;
}

static void add_bardev(struct pci_bus *bus, struct bardev *b, int slot)
{
	memset(b, 0, sizeof(*b));
	b->d.name = "test";
	b->d.config[0] = 0x34; b->d.config[1] = 0x12;
	b->d.config[2] = 0x78; b->d.config[3] = 0x56;
	b->d.config[PCI_INTERRUPT_PIN] = 1;
	pci_set_bar(&b->d, 0, &(struct pci_bar){ .kind = PCI_BAR_MEM32, .size = 0x1000,
		.mmio_read = bar_mmio_read, .mmio_write = bar_mmio_write, .opaque = b });
	pci_set_bar(&b->d, 1, &(struct pci_bar){ .kind = PCI_BAR_IO, .size = 0x20,
		.io_read = bar_io_read, .io_write = bar_io_write, .opaque = b });
	pci_set_bar(&b->d, 2, &(struct pci_bar){ .kind = PCI_BAR_MEM64, .size = 0x100000,
		.prefetch = true, .mmio_read = bar_mmio_read, .mmio_write = bar_mmio_write, .opaque = b });
	cr_assert_eq(pci_add_device(bus, &b->d, PCI_DEVFN(slot, 0)), 0);
}

Test(pci, bar_sizing_and_mapping)
{
	struct machine *m = new_machine();
	struct irqlog l = { 0 };
	struct pci_bus *bus = new_bus(m, &l);
	struct bardev b;
	int df = PCI_DEVFN(3, 0);

	add_bardev(bus, &b, 3);
	/* Sizing: write all-ones, read back the size mask with the type bits. */
	static const struct { unsigned off; uint32_t want; } sz[] = {
		{ 0x10, 0xfffff000u }, { 0x14, 0xffffffe1u }, { 0x18, 0xfff0000cu },
		{ 0x1c, 0xffffffffu }, { 0x20, 0x00000000u }, { 0x24, 0x00000000u },
	};
	for (unsigned k = 0; k < sizeof(sz) / sizeof(sz[0]); k++) {
		cfg_out(m, df, sz[k].off, 0xffffffffu, 4);
		cr_assert_eq(cfg_in(m, df, sz[k].off, 4), sz[k].want, "BAR at 0x%x", sz[k].off);
	}
	/* All-ones addresses never map. */
	cfg_out(m, df, PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEMORY, 2);
	cr_assert_eq(b.d.bars[0].addr, PCI_BAR_UNMAPPED);
	cr_assert_eq(b.d.bars[1].addr, PCI_BAR_UNMAPPED);
	cfg_out(m, df, 0x10, 0xfebf0000u, 4);
	cfg_out(m, df, 0x14, 0xc001u, 4);
	cfg_out(m, df, 0x18, 0x0u, 4);
	cfg_out(m, df, 0x1c, 0x1u, 4);
	cr_assert_eq(b.d.bars[0].addr, 0xfebf0000u);
	cr_assert_eq(b.d.bars[1].addr, 0xc000u);
	cr_assert_eq(b.d.bars[2].addr, 0x100000000ull);
	cr_assert_eq(phys_read_u(m, 0xfebf0010u, 4), 0xa5a5a5a5u);
	cr_assert_eq(b.last_off, 0x10);
	machine_io_out(m, 0xc01f, 1, 1);
	cr_assert_eq(b.io_writes, 1);
	cr_assert_eq(b.last_port, 0xc01f);
	cr_assert_eq(machine_io_in(m, 0xc000, 1), 0x5a);
	/* Move BAR0; the old address no longer decodes. */
	cfg_out(m, df, 0x10, 0xfeb00000u, 4);
	cr_assert_eq(phys_read_u(m, 0xfebf0010u, 4), 0xffffffffu);
	cr_assert_eq(phys_read_u(m, 0xfeb00000u, 4), 0xa5a5a5a5u);
	/* Disabling I/O decoding releases the ports. */
	cfg_out(m, df, PCI_COMMAND, PCI_CMD_MEMORY, 2);
	cr_assert_eq(b.d.bars[1].addr, PCI_BAR_UNMAPPED);
	cr_assert_eq(machine_io_in(m, 0xc000, 1), 0xff);
	machine_io_out(m, 0xc000, 1, 1);
	cr_assert_eq(b.io_writes, 1);
	pci_destroy(bus);
	machine_destroy(m);
}

Test(pci, intx_through_pirq_routing)
{
	struct machine *m = new_machine();
	struct irqlog l = { 0 };
	struct pci_bus *bus = new_bus(m, &l);
	struct bardev a, b;

	add_bardev(bus, &a, 3);		/* INTA on slot 3 -> PIRQD */
	add_bardev(bus, &b, 4);		/* INTA on slot 4 -> PIRQA */
	cr_assert_eq(pci_intx_irq(bus, &a.d), -1, "routes start disabled");
	pci_set_irq(&a.d, 1);
	cr_assert_eq(l.changes, 0);
	cr_assert_eq(cfg_in(m, PCI_DEVFN(3, 0), PCI_STATUS, 2) & PCI_STATUS_INTX, PCI_STATUS_INTX);
	cfg_out(m, PCI_DEVFN_ISA, PIIX_PIRQC + 3, 11, 1);	/* PIRQD -> IRQ 11 */
	cr_assert_eq(l.level[11], 1, "routing an asserted line raises the IRQ");
	cfg_out(m, PCI_DEVFN_ISA, PIIX_PIRQC, 11, 1);		/* PIRQA -> IRQ 11 too */
	pci_set_irq(&b.d, 1);
	pci_set_irq(&a.d, 0);
	cr_assert_eq(l.level[11], 1, "shared line stays up while one device asserts");
	pci_set_irq(&b.d, 0);
	cr_assert_eq(l.level[11], 0);
	/* INTx disable in the command register masks the line. */
	pci_set_irq(&a.d, 1);
	cr_assert_eq(l.level[11], 1);
	cfg_out(m, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_CMD_INTX_DISABLE, 2);
	cr_assert_eq(l.level[11], 0);
	cfg_out(m, PCI_DEVFN(3, 0), PCI_COMMAND, 0, 2);
	/* Rerouting moves the level. */
	cfg_out(m, PCI_DEVFN_ISA, PIIX_PIRQC + 3, 10, 1);
	cr_assert_eq(l.level[11], 0);
	cr_assert_eq(l.level[10], 1);
	cfg_out(m, PCI_DEVFN_ISA, PIIX_PIRQC + 3, 0x80 | 10, 1);
	cr_assert_eq(l.level[10], 0, "bit 7 disables the route");
	pci_destroy(bus);
	machine_destroy(m);
}

Test(pci, pam_shadow_ram)
{
	struct machine *m = new_machine();
	struct irqlog l = { 0 };
	struct pci_bus *bus = new_bus(m, &l);
	static uint8_t rom[128 << 10];
	for (unsigned k = 0; k < sizeof(rom); k++)
		rom[k] = (uint8_t)(k * 7 + 1);
	/* The BIOS ROM as the loader maps it: 4 GiB - 128 KiB and 0xE0000. */
	cr_assert_eq(memmap_add_rom(&m->mem, 0xfffe0000u, rom, sizeof(rom), "bios"), 0);
	cr_assert_eq(memmap_add_rom(&m->mem, 0xe0000u, rom, sizeof(rom), "bios-isa"), 0);
	cr_assert_eq(phys_read_u(m, 0xf0000, 1), rom[0x10000]);
	phys_write_u(m, 0xf0000, 0x55, 1);
	cr_assert_eq(phys_read_u(m, 0xf0000, 1), rom[0x10000], "PAM 0: ROM");
	cr_assert_eq(phys_read_u(m, 0xc0000, 1), 0xff, "PAM 0 below 0xE0000: open bus");

	/* WE only: reads from the ROM, writes into RAM (copy in place). */
	cfg_out(m, PCI_DEVFN_HOST, I440FX_PAM0, 0x20, 1);
	phys_write_u(m, 0xf0000, phys_read_u(m, 0xf0000, 1) ^ 0xff, 1);
	cr_assert_eq(phys_read_u(m, 0xf0000, 1), rom[0x10000]);
	/* RE|WE: RAM holding what was written. */
	cfg_out(m, PCI_DEVFN_HOST, I440FX_PAM0, 0x30, 1);
	cr_assert_eq(phys_read_u(m, 0xf0000, 1), (uint8_t)(rom[0x10000] ^ 0xff));
	phys_write_u(m, 0xf0001, 0x42, 1);
	cr_assert_eq(phys_read_u(m, 0xf0001, 1), 0x42);
	/* RE only: read-only RAM. */
	cfg_out(m, PCI_DEVFN_HOST, I440FX_PAM0, 0x10, 1);
	phys_write_u(m, 0xf0001, 0x43, 1);
	cr_assert_eq(phys_read_u(m, 0xf0001, 1), 0x42, "writes to read-only shadow are dropped");
	cfg_out(m, PCI_DEVFN_HOST, I440FX_PAM0, 0x30, 1);
	cr_assert_eq(phys_read_u(m, 0xf0001, 1), 0x42);
	/* 16 KiB segments: PAM1 high nibble is 0xC4000-0xC7FFF. */
	cfg_out(m, PCI_DEVFN_HOST, I440FX_PAM0 + 1, 0x30, 1);
	phys_write_u(m, 0xc4000, 0x99, 1);
	cr_assert_eq(phys_read_u(m, 0xc4000, 1), 0x99);
	cr_assert_eq(phys_read_u(m, 0xc0000, 1), 0xff, "0xC0000 segment still off");
	cr_assert_eq(cfg_in(m, PCI_DEVFN_HOST, 0x58, 4), 0x00303000u, "PAM0/PAM1 read back");
	cr_assert_eq(cfg_in(m, PCI_DEVFN_HOST, I440FX_PAM0 + 1, 1), 0x30);
	/* Reset: PAM back to ROM. */
	pci_reset(bus);
	cr_assert_eq(phys_read_u(m, 0xf0001, 1), rom[0x10001]);
	pci_destroy(bus);
	machine_destroy(m);
}

Test(pci, smram_open_and_lock)
{
	struct machine *m = new_machine();
	struct irqlog l = { 0 };
	struct pci_bus *bus = new_bus(m, &l);

	cr_assert_eq(cfg_in(m, PCI_DEVFN_HOST, I440FX_SMRAM, 1), 0x02);
	cr_assert_eq(phys_read_u(m, 0xa0000, 1), 0xff);
	cfg_out(m, PCI_DEVFN_HOST, I440FX_SMRAM, 0x4a, 1);
	phys_write_u(m, 0xa0000, 0x12, 1);
	cr_assert_eq(phys_read_u(m, 0xa0000, 1), 0x12, "D_OPEN shows SMRAM");
	cfg_out(m, PCI_DEVFN_HOST, I440FX_SMRAM, 0x1a, 1);
	cr_assert_eq(phys_read_u(m, 0xa0000, 1), 0xff);
	cfg_out(m, PCI_DEVFN_HOST, I440FX_SMRAM, 0x4a, 1);
	cr_assert_eq(cfg_in(m, PCI_DEVFN_HOST, I440FX_SMRAM, 1), 0x1a, "locked");
	pci_destroy(bus);
	machine_destroy(m);
}
