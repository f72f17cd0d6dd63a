/*
 * pci.c - PCI bus 0 of an i440FX/PIIX3 board (see pci.h for the model).
 *
 * Fixed functions, with the IDs QEMU's "pc" machine uses so firmware and
 * guests pick their i440FX paths (SeaBIOS recognises QEMU by the host
 * bridge's subsystem ID 1af4:1100, which every device gets by default):
 *   00:00.0  i440FX host bridge 8086:1237 rev 2, class 0600: PAM and SMRAM
 *   00:01.0  PIIX3 ISA bridge 8086:7000, class 0601, multi-function: PIRQ
 *            route registers 0x60-0x63 (power-on 0x80, disabled)
 *   00:01.1  PIIX3 IDE 8086:7010, class 0101 prog-if 0x80 (legacy ports,
 *            bus-master capable), BAR4 the 16-byte bus-master block; the
 *            IDE device model attaches its handlers to that function
 *   00:01.3  PIIX4 ACPI/PM 8086:7113 rev 3, class 0680, INTA (SCI, IRQ 9):
 *            PMBASE 0x40 reads ACPI_PM_BASE | 1 and PMREGMISC 0x80 = 1 at
 *            power-on (the block is always decoded at ACPI_PM_BASE; a guest
 *            that moves it is logged), DEVACTB byte 0x5B = 0x02 (APMC_EN) so
 *            SeaBIOS skips its SMM initialisation as with QEMU's smm=off.
 *
 * PAM (Intel 82441FX datasheet 3.2.18): PAM0 bits 5:4 govern 0xF0000-
 * 0xFFFFF; PAM1-PAM6 hold two 4-bit fields each for the 16 KiB segments
 * 0xC0000-0xEFFFF. Per field, RE sends reads to RAM and WE sends writes
 * to RAM; otherwise the access goes to the PCI/ISA side, which is the
 * BIOS ROM for 0xE0000-0xFFFFF (its 4 GiB alias) and nothing below.
 * Segments are coalesced into runs of one mode and mapped at priority
 * PAM_PRIO over the loaders' ROM:
 *   RE|WE  a RAM window onto guest RAM at the same offset;
 *   RE     a ROM holding a copy of that RAM: the RAM behind it is only
 *          reachable through this window, whose writes are dropped, so a
 *          snapshot taken when the mode is entered stays exact;
 *   WE     MMIO reading the ROM side and writing RAM (rare: slow path);
 *   none   no region (the ROM or open bus below shows through).
 * SMRAM (0x72): D_OPEN maps RAM over the VGA window 0xA0000-0xBFFFF;
 * D_LCK makes D_OPEN read 0 and the register read-only until reset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "dev/acpi_pm.h"
#include "dev/pci.h"

#define PCI_MAX_DEV 256
#define PAM_PRIO 10
#define BAR_PRIO 5
#define PAM_CHUNKS 16			/* 16 KiB chunks of 0xC0000-0xFFFFF */
#define PAM_BASE 0xc0000ull
#define SMRAM_BASE 0xa0000ull
#define SMRAM_SIZE 0x20000ull

struct pam_region {
	uint64_t base, size;
	const char *name;	/* the region's name, so only it is removed */
};

/* A write-only (WE) PAM run: MMIO whose offsets are made absolute by base. */
struct pam_wo {
	struct pci_bus *bus;
	uint64_t base;
};

struct pci_bus {
	struct machine *m;
	struct pci_bus_config cfg;
	struct pci_device *devs[PCI_MAX_DEV];
	uint32_t addr;			/* 0xCF8 latch */
	int isa_level[16];		/* last level driven on each ISA IRQ */
	struct pam_region pam[PAM_CHUNKS];	/* regions mapped now */
	struct pam_wo pam_wo[PAM_CHUNKS];
	int npam;
	bool smram_mapped;
	struct pci_device host, isa, ide, pm;
};

/* ---- helpers ---- */

static uint32_t cfg_get(const struct pci_device *d, unsigned off, unsigned size)
{
	uint32_t v = 0;
	for (unsigned k = 0; k < size; k++)
		v |= (uint32_t)d->config[off + k] << (8 * k);
	return v;
}

static void cfg_put(uint8_t *p, unsigned off, uint32_t v, unsigned size)
{
	for (unsigned k = 0; k < size; k++)
		p[off + k] = (uint8_t)(v >> (8 * k));
}

static uint16_t cmd(const struct pci_device *d)
{
	return (uint16_t)cfg_get(d, PCI_COMMAND, 2);
}

static unsigned bar_off(int n)
{
	return n == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BAR0 + 4 * (unsigned)n;
}

/* ---- BAR mapping ---- */

/* The address BAR n decodes now, or PCI_BAR_UNMAPPED. */
static uint64_t bar_decode(const struct pci_device *d, int n)
{
	const struct pci_bar *b = &d->bars[n];
	unsigned off = bar_off(n);
	uint64_t a, last;

	switch (b->kind) {
	case PCI_BAR_IO:
		if (!(cmd(d) & PCI_CMD_IO))
			return PCI_BAR_UNMAPPED;
		a = cfg_get(d, off, 4) & ~3u & ~(b->size - 1);
		last = a + b->size - 1;
		return a == 0 || last > 0xffff ? PCI_BAR_UNMAPPED : a;
	case PCI_BAR_MEM32:
	case PCI_BAR_MEM64:
		if (!(cmd(d) & PCI_CMD_MEMORY))
			return PCI_BAR_UNMAPPED;
		if (n == PCI_ROM_SLOT && !(d->config[off] & 1))
			return PCI_BAR_UNMAPPED;
		a = cfg_get(d, off, 4) & ~0xfu & ~(uint32_t)(b->size - 1);
		if (n == PCI_ROM_SLOT)
			a &= ~0x7ffull;
		if (b->kind == PCI_BAR_MEM64)
			a |= (uint64_t)cfg_get(d, off + 4, 4) << 32;
		last = a + b->size - 1;
		if (a == 0 || last < a)
			return PCI_BAR_UNMAPPED;
		if (b->kind == PCI_BAR_MEM32 && last >= 0xffffffffull)
			return PCI_BAR_UNMAPPED;
		if (b->kind == PCI_BAR_MEM64 && last >= (1ull << 52))
			return PCI_BAR_UNMAPPED;
		return a;
	default:
		return PCI_BAR_UNMAPPED;
	}
}

static void bar_unmap(struct pci_device *d, int n)
{
	struct pci_bar *b = &d->bars[n];
	struct machine *m = d->bus->m;

	if (b->addr == PCI_BAR_UNMAPPED)
		return;
	if (b->kind == PCI_BAR_IO)
		(void)machine_remove_io(m, (uint16_t)b->addr, (uint16_t)b->size);
	else
		(void)memmap_remove_owned(&m->mem, b->addr, b->size, b->name ? b->name : d->name,
					  b->opaque);
	b->addr = PCI_BAR_UNMAPPED;
}

static void bars_update(struct pci_device *d)
{
	struct machine *m = d->bus->m;

	for (int n = 0; n < 7; n++) {
		struct pci_bar *b = &d->bars[n];
		uint64_t a = bar_decode(d, n);
		int r;

		if (a == b->addr)
			continue;
		bar_unmap(d, n);
		if (a == PCI_BAR_UNMAPPED)
			continue;
		if (b->kind == PCI_BAR_IO)
			r = machine_add_io(m, (uint16_t)a, (uint16_t)b->size, b->io_read, b->io_write,
					   b->opaque, b->name ? b->name : d->name);
		else
			r = memmap_add_mmio(&m->mem, a, b->size, b->mmio_read, b->mmio_write, b->opaque,
					    b->name ? b->name : d->name, BAR_PRIO);
		if (r < 0) {
			if (log_on(&m->log, LOG_GUEST_ERRORS))
				log_printf(&m->log, "pci %s: BAR%d at 0x%llx cannot be mapped (%s)\n",
					   d->name, n, (unsigned long long)a, strerror(-r));
			continue;
		}
		b->addr = a;
	}
}

void pci_set_bar(struct pci_device *d, int n, const struct pci_bar *bar)
{
	unsigned off = bar_off(n);
	uint32_t mask, low;

	if (d->bus)
		bar_unmap(d, n);
	d->bars[n] = *bar;
	d->bars[n].addr = PCI_BAR_UNMAPPED;
	switch (bar->kind) {
	case PCI_BAR_IO:
		low = 1;
		mask = ~(uint32_t)(bar->size - 1) & ~3u;
		break;
	case PCI_BAR_MEM32:
	case PCI_BAR_MEM64:
		if (n == PCI_ROM_SLOT) {
			low = 0;
			mask = (~(uint32_t)(bar->size - 1) & ~0x7ffu) | 1;
		} else {
			low = (bar->kind == PCI_BAR_MEM64 ? 4u : 0u) | (bar->prefetch ? 8u : 0u);
			mask = ~(uint32_t)(bar->size - 1) & ~0xfu;
		}
		break;
	default:
		low = 0;
		mask = 0;
		break;
	}
	cfg_put(d->config, off, low | (cfg_get(d, off, 4) & mask), 4);
	cfg_put(d->wmask, off, mask, 4);
	if (bar->kind == PCI_BAR_MEM64 && n < 5) {
		cfg_put(d->wmask, off + 4, (uint32_t)(~(bar->size - 1) >> 32), 4);
		d->bars[n + 1].kind = PCI_BAR_NONE;
	}
	if (d->bus)
		bars_update(d);
}

/* ---- INTx routing ---- */

int pci_intx_irq(struct pci_bus *bus, const struct pci_device *d)
{
	unsigned pin = d->config[PCI_INTERRUPT_PIN];
	uint8_t route;

	if (pin < 1 || pin > 4)
		return -1;
	route = bus->isa.config[PIIX_PIRQC + (((d->devfn >> 3) + pin - 1) & 3)];
	if ((route & PIIX_PIRQ_DISABLE) || (route & 0xf) == 0)
		return -1;
	return route & 0xf;
}

static void irq_update(struct pci_bus *bus)
{
	int level[16] = { 0 };

	for (int k = 0; k < PCI_MAX_DEV; k++) {
		struct pci_device *d = bus->devs[k];
		int irq;

		if (!d)
			continue;
		if (d->irq_level)
			d->config[PCI_STATUS] |= PCI_STATUS_INTX;
		else
			d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTX;
		if (!d->irq_level || (cmd(d) & PCI_CMD_INTX_DISABLE))
			continue;
		irq = pci_intx_irq(bus, d);
		if (irq >= 0)
			level[irq] = 1;
	}
	for (int i = 0; i < 16; i++) {
		if (level[i] != bus->isa_level[i]) {
			bus->isa_level[i] = level[i];
			irq_set(&bus->cfg.isa_irq[i], level[i]);
		}
	}
}

void pci_set_irq(struct pci_device *d, int level)
{
	d->irq_level = level != 0;
	if (d->bus)
		irq_update(d->bus);
}

/* ---- PAM and SMRAM ---- */

/* The PAM field (RE/WE bits) of 16 KiB chunk c of 0xC0000-0xFFFFF. */
static unsigned pam_mode(const struct pci_bus *bus, int c)
{
	const uint8_t *p = bus->host.config + I440FX_PAM0;

	if (c >= 12)
		return (p[0] >> 4) & 3;
	return (p[1 + c / 2] >> (4 * (c & 1))) & 3;
}

static uint64_t pam_wo_read(void *opaque, uint64_t offset, unsigned size)
{
	const struct pam_wo *w = opaque;
	uint64_t pa = w->base + offset, v = 0;

	if (pa < 0xe0000)
		return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	/* The BIOS ROM's high alias: 0xE0000-0xFFFFF is 4 GiB - 128 KiB. */
	phys_read(w->bus->m, 0xfff00000ull + pa, &v, size);
	return v;
}

static void pam_wo_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	const struct pam_wo *w = opaque;
	uint64_t pa = w->base + offset;
	struct memmap *mm = &w->bus->m->mem;

	if (pa + size <= mm->ram_size)
		for (unsigned k = 0; k < size; k++)
			mm->ram[pa + k] = (uint8_t)(value >> (8 * k));
}

static void pam_update(struct pci_bus *bus)
{
	struct memmap *mm = &bus->m->mem;

	for (int k = 0; k < bus->npam; k++)
		(void)memmap_remove_owned(mm, bus->pam[k].base, bus->pam[k].size, bus->pam[k].name,
					  NULL);
	bus->npam = 0;
	for (int c = 0; c < PAM_CHUNKS;) {
		unsigned mode = pam_mode(bus, c);
		int e = c + 1;
		uint64_t base, size;
		int r = 0;

		while (e < PAM_CHUNKS && pam_mode(bus, e) == mode)
			e++;
		base = PAM_BASE + (uint64_t)c * 0x4000;
		size = (uint64_t)(e - c) * 0x4000;
		c = e;
		if (mode == 0 || base + size > mm->ram_size)
			continue;
		if (mode == (PAM_RE | PAM_WE))
			r = memmap_add_ram(mm, base, size, base, "pam-ram");
		else if (mode == PAM_RE)
			r = memmap_add_rom(mm, base, mm->ram + base, size, "pam-rom");
		else {
			bus->pam_wo[bus->npam] = (struct pam_wo){ bus, base };
			r = memmap_add_mmio(mm, base, size, pam_wo_read, pam_wo_write,
					    &bus->pam_wo[bus->npam], "pam-wo", 0);
		}
		if (r < 0)
			continue;
		/* Regions are added at priority 0 with a later seq than the
		 * loaders' ROM, so they win over it. */
		bus->pam[bus->npam++] = (struct pam_region){ base, size,
			mode == (PAM_RE | PAM_WE) ? "pam-ram" : mode == PAM_RE ? "pam-rom" : "pam-wo" };
	}
}

static void smram_update(struct pci_bus *bus)
{
	struct memmap *mm = &bus->m->mem;
	bool open = (bus->host.config[I440FX_SMRAM] & SMRAM_D_OPEN) != 0;

	if (open == bus->smram_mapped)
		return;
	if (bus->smram_mapped)
		(void)memmap_remove_owned(mm, SMRAM_BASE, SMRAM_SIZE, "smram", NULL);
	bus->smram_mapped = open && memmap_add_ram(mm, SMRAM_BASE, SMRAM_SIZE, SMRAM_BASE,
						   "smram") == 0;
}

static void host_written(struct pci_device *d, unsigned off, unsigned size)
{
	struct pci_bus *bus = d->bus;
	uint8_t *smram = &d->config[I440FX_SMRAM];

	if (off < I440FX_PAM0 + 7 && off + size > I440FX_PAM0)
		pam_update(bus);
	if (off <= I440FX_SMRAM && off + size > I440FX_SMRAM) {
		if (*smram & SMRAM_D_LCK) {
			/* Locked: D_OPEN reads 0 and the register stays as it is. */
			*smram &= (uint8_t)~SMRAM_D_OPEN;
			d->wmask[I440FX_SMRAM] = 0;
		}
		smram_update(bus);
	}
}

static void isa_written(struct pci_device *d, unsigned off, unsigned size)
{
	if (off < PIIX_PIRQC + 4 && off + size > PIIX_PIRQC)
		irq_update(d->bus);
}

static void pm_written(struct pci_device *d, unsigned off, unsigned size)
{
	struct machine *m = d->bus->m;
	uint32_t base = cfg_get(d, PIIX4_PMBASE, 4) & 0xffc0;

	if (off < PIIX4_PMBASE + 4 && off + size > PIIX4_PMBASE && base != ACPI_PM_BASE &&
	    log_on(&m->log, LOG_UNIMP))
		log_printf(&m->log, "pci: PIIX4 PMBASE moved to 0x%x; the PM block stays at 0x%x\n",
			   base, ACPI_PM_BASE);
}

/* ---- configuration space ---- */

uint32_t pci_config_read(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size)
{
	const struct pci_device *d = bus->devs[devfn];

	if (d == NULL || off + size > 256)
		return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return cfg_get(d, off, size);
}

void pci_config_write(struct pci_bus *bus, uint8_t devfn, unsigned off, uint32_t value,
		      unsigned size)
{
	struct pci_device *d = bus->devs[devfn];
	uint16_t old_cmd;

	if (d == NULL || off + size > 256)
		return;
	old_cmd = cmd(d);
	for (unsigned k = 0; k < size; k++) {
		uint8_t v = (uint8_t)(value >> (8 * k)), *c = &d->config[off + k];
		uint8_t wm = d->wmask[off + k], w1c = d->w1cmask[off + k];

		*c = (uint8_t)((*c & ~wm) | (v & wm));
		*c &= (uint8_t)~(v & w1c);
	}
	if ((off < PCI_COMMAND + 2 && off + size > PCI_COMMAND) ||
	    (off < 0x28 && off + size > PCI_BAR0) ||
	    (off < PCI_ROM_ADDRESS + 4 && off + size > PCI_ROM_ADDRESS))
		bars_update(d);
	if ((old_cmd ^ cmd(d)) & PCI_CMD_INTX_DISABLE)
		irq_update(bus);
	if (d->config_written)
		d->config_written(d, off, size);
}

/* 0xCF8-0xCFF. */
static uint32_t port_read(void *opaque, uint16_t port, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned reg;

	if (port == 0xcf8 && size == 4)
		return bus->addr;
	if (port < 0xcfc)
		return 0xffffffffu;
	if (!(bus->addr & 0x80000000u) || ((bus->addr >> 16) & 0xff) != 0)
		return 0xffffffffu;
	reg = (bus->addr & 0xfc) + (port & 3u);
	if (reg + size > 256)
		return 0xffffffffu;
	return pci_config_read(bus, (uint8_t)(bus->addr >> 8), reg, size);
}

static void port_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned reg;

	if (port == 0xcf8 && size == 4) {
		bus->addr = value & 0x80fffffcu;
		return;
	}
	if (port < 0xcfc)
		return;
	if (!(bus->addr & 0x80000000u) || ((bus->addr >> 16) & 0xff) != 0)
		return;
	reg = (bus->addr & 0xfc) + (port & 3u);
	if (reg + size > 256)
		return;
	pci_config_write(bus, (uint8_t)(bus->addr >> 8), reg, value, size);
}

/* ---- devices ---- */

/* Common writable fields: command, cache line, latency, interrupt line;
 * the error bits of the status register are write-1-to-clear. */
static void common_masks(struct pci_device *d)
{
	cfg_put(d->wmask, PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | 0x0100 |
		PCI_CMD_INTX_DISABLE | 0x0040, 2);
	d->w1cmask[PCI_STATUS + 1] = 0xf9;
	d->wmask[0x0c] = 0xff;
	d->wmask[0x0d] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_add_device(struct pci_bus *bus, struct pci_device *d, uint8_t devfn)
{
	if (bus->devs[devfn])
		return -EBUSY;
	d->bus = bus;
	d->devfn = devfn;
	common_masks(d);
	if (cfg_get(d, PCI_SUBSYS_VENDOR, 4) == 0) {
		cfg_put(d->config, PCI_SUBSYS_VENDOR, PCI_SUBSYS_VENDOR_QEMU, 2);
		cfg_put(d->config, PCI_SUBSYS_ID, PCI_SUBSYS_ID_QEMU, 2);
	}
	for (int n = 0; n < 7; n++)
		if (d->bars[n].kind == PCI_BAR_NONE)
			d->bars[n].addr = PCI_BAR_UNMAPPED;
	bus->devs[devfn] = d;
	bars_update(d);
	return 0;
}

struct pci_device *pci_find(struct pci_bus *bus, uint8_t devfn)
{
	return bus->devs[devfn];
}

static void ids(struct pci_device *d, uint16_t device, uint8_t rev, uint32_t class_prog)
{
	cfg_put(d->config, PCI_VENDOR_ID, 0x8086, 2);
	cfg_put(d->config, PCI_DEVICE_ID, device, 2);
	d->config[PCI_REVISION] = rev;
	cfg_put(d->config, PCI_CLASS_PROG, class_prog, 3);
	cfg_put(d->config, PCI_STATUS, 0x0280, 2);	/* medium DEVSEL, fast back-to-back */
	cfg_put(d->config, PCI_SUBSYS_VENDOR, PCI_SUBSYS_VENDOR_QEMU, 2);
	cfg_put(d->config, PCI_SUBSYS_ID, PCI_SUBSYS_ID_QEMU, 2);
}

/* Power-on configuration of the four fixed functions. */
static void fixed_reset(struct pci_bus *bus)
{
	struct pci_device *h = &bus->host, *isa = &bus->isa, *ide = &bus->ide, *pm = &bus->pm;

	memset(h->config, 0, 256);
	memset(h->wmask, 0, 256);
	ids(h, 0x1237, 0x02, 0x060000);
	cfg_put(h->config, PCI_COMMAND, 0x0006, 2);
	memset(h->wmask + I440FX_PAM0, 0x33, 7);
	h->wmask[I440FX_PAM0] = 0x30;
	h->config[I440FX_SMRAM] = 0x02;			/* C_BASE_SEG: 0xA0000 */
	h->wmask[I440FX_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;

	memset(isa->config, 0, 256);
	memset(isa->wmask, 0, 256);
	ids(isa, 0x7000, 0x00, 0x060100);
	cfg_put(isa->config, PCI_COMMAND, 0x0007, 2);
	isa->config[PCI_HEADER_TYPE] = 0x80;		/* multi-function */
	memset(isa->config + PIIX_PIRQC, PIIX_PIRQ_DISABLE, 4);
	memset(isa->wmask + PIIX_PIRQC, 0x8f, 4);
	memset(isa->wmask + 0x4c, 0xff, 4);		/* IORT, XBCS */
	memset(isa->wmask + 0x69, 0xff, 3);		/* TOM, MSTAT */
	memset(isa->wmask + 0x70, 0xff, 8);		/* MBIRQ, APICBASE, DLC */
	memset(isa->wmask + 0xa0, 0xff, 0x10);		/* SMI/power management */

	memset(ide->config, 0, 256);
	memset(ide->wmask, 0, 256);
	ids(ide, 0x7010, 0x00, 0x010180);
	memset(ide->wmask + 0x40, 0xff, 0x10);		/* IDETIM, SIDETIM */

	memset(pm->config, 0, 256);
	memset(pm->wmask, 0, 256);
	ids(pm, 0x7113, 0x03, 0x068000);
	pm->config[PCI_INTERRUPT_PIN] = 1;
	pm->config[PCI_INTERRUPT_LINE] = ACPI_SCI_IRQ;
	cfg_put(pm->config, PIIX4_PMBASE, ACPI_PM_BASE | 1, 4);
	cfg_put(pm->wmask, PIIX4_PMBASE, 0xffc0, 4);
	pm->config[PIIX4_DEVACTB + 3] = 0x02;		/* APMC_EN: no SMM init */
	memset(pm->wmask + PIIX4_DEVACTB, 0xff, 8);	/* DEVACTB, DEVACTA area */
	pm->config[PIIX4_PMREGMISC] = 0x01;
	pm->wmask[PIIX4_PMREGMISC] = 0x01;
	cfg_put(pm->config, PIIX4_SMBBASE, 1, 4);
	cfg_put(pm->wmask, PIIX4_SMBBASE, 0xfff0, 4);
	pm->wmask[PIIX4_SMBHSTCFG] = 0xff;
}

static void fixed_masks(struct pci_bus *bus)
{
	/* fixed_reset cleared the masks; restore the common ones. */
	common_masks(&bus->host);
	common_masks(&bus->isa);
	common_masks(&bus->ide);
	common_masks(&bus->pm);
	pci_set_bar(&bus->ide, 4, &(struct pci_bar){ .kind = PCI_BAR_IO, .size = 16,
						     .name = "piix-ide-bmdma" });
}

void pci_reset(struct pci_bus *bus)
{
	struct pci_bar bm = bus->ide.bars[4];

	bus->addr = 0;
	for (int k = 0; k < PCI_MAX_DEV; k++) {
		struct pci_device *d = bus->devs[k];
		if (d == NULL || d == &bus->host || d == &bus->isa || d == &bus->ide || d == &bus->pm)
			continue;
		/* Other devices: command, BAR addresses and interrupt line back to 0. */
		cfg_put(d->config, PCI_COMMAND, 0, 2);
		d->config[PCI_INTERRUPT_LINE] = 0;
		for (int n = 0; n < 7; n++) {
			unsigned off = bar_off(n);
			if (d->bars[n].kind != PCI_BAR_NONE)
				cfg_put(d->config, off, cfg_get(d, off, 4) & ~((uint32_t)d->wmask[off] | (uint32_t)d->wmask[off + 1] << 8 |
					(uint32_t)d->wmask[off + 2] << 16 | (uint32_t)d->wmask[off + 3] << 24), 4);
		}
		bars_update(d);
	}
	fixed_reset(bus);
	fixed_masks(bus);
	bus->ide.bars[4].io_read = bm.io_read;
	bus->ide.bars[4].io_write = bm.io_write;
	bus->ide.bars[4].opaque = bm.opaque;
	bars_update(&bus->ide);
	pam_update(bus);
	smram_update(bus);
	irq_update(bus);
}

struct pci_bus *pci_create(struct machine *m, const struct pci_bus_config *cfg, char *err,
			   size_t errlen)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int r;

	if (bus == NULL) {
		snprintf(err, errlen, "out of memory creating the PCI bus");
		return NULL;
	}
	bus->m = m;
	if (cfg)
		bus->cfg = *cfg;
	bus->host.name = "i440fx";
	bus->isa.name = "piix3-isa";
	bus->ide.name = "piix3-ide";
	bus->pm.name = "piix4-pm";
	bus->host.config_written = host_written;
	bus->isa.config_written = isa_written;
	bus->pm.config_written = pm_written;
	fixed_reset(bus);
	if (pci_add_device(bus, &bus->host, PCI_DEVFN_HOST) < 0 ||
	    pci_add_device(bus, &bus->isa, PCI_DEVFN_ISA) < 0 ||
	    pci_add_device(bus, &bus->ide, PCI_DEVFN_IDE) < 0 ||
	    pci_add_device(bus, &bus->pm, PCI_DEVFN_PM) < 0) {
		free(bus);
		snprintf(err, errlen, "cannot create the PCI bus's fixed devices");
		return NULL;
	}
	fixed_masks(bus);
	/* 0xCF9 is the reset control register (emu/dev/sysctl.c). */
	r = machine_add_io(m, 0xcf8, 1, port_read, port_write, bus, "pci-conf-addr");
	if (r == 0) {
		/* 0xCFA-0xCFB: decoded, byte accesses ignored (Linux's type-1 probe). */
		r = machine_add_io(m, 0xcfa, 2, port_read, port_write, bus, "pci-conf-addr-hi");
		if (r < 0)
			(void)machine_remove_io(m, 0xcf8, 1);
	}
	if (r == 0) {
		r = machine_add_io(m, 0xcfc, 4, port_read, port_write, bus, "pci-conf-data");
		if (r < 0) {
			(void)machine_remove_io(m, 0xcf8, 1);
			(void)machine_remove_io(m, 0xcfa, 2);
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot claim the PCI configuration ports 0xCF8 and 0xCFC-0xCFF: %s",
			 strerror(-r));
		free(bus);
		return NULL;
	}
	return bus;
}

void pci_destroy(struct pci_bus *bus)
{
	if (bus == NULL)
		return;
	(void)machine_remove_io(bus->m, 0xcf8, 1);
	(void)machine_remove_io(bus->m, 0xcfa, 2);
	(void)machine_remove_io(bus->m, 0xcfc, 4);
	free(bus);
}
