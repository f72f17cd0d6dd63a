/*
 * test_ide.c - the PIIX3 IDE controller driven through its registers on a
 * bare machine (dev_fixture.h) with 16 MiB of RAM and a PCI bus: IDENTIFY,
 * PIO reads and writes (CHS, LBA28, LBA48 on a sparse 200 GiB image),
 * multiple mode, bus-master DMA through PRD tables (and PRDs outside RAM),
 * flush, the error bits, ATAPI packets, resets and signatures.
 *
 * Images: sector N of a disk starts with the dword N followed by bytes
 * (N + k) & 0xFF; 2048-byte block N of the CD the same with N.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_fixture.h"
#include "emu/block/block.h"
#include "emu/dev/ide.h"
#include "emu/dev/fw_cfg.h"
#include "emu/dev/pci.h"
#include "emu/mmu/mmu.h"
#include "monitor/monitor.h"

#define RAM (16u << 20)
#define BM_BASE 0xc000
#define P 0x1f0				/* primary command block */
#define S 0x170				/* secondary */
#define DISK_SECTORS 8192u
#define CD_BLOCKS 64u

struct rig {
	struct devm *d;
	struct pci_bus *bus;
	struct ide *ide;
	char paths[4][64];
	int npaths;
};

static void fill_sector(uint8_t *b, uint32_t n, unsigned size)
{
	for (unsigned k = 0; k < size; k++)
		b[k] = (uint8_t)(n + k);
	memcpy(b, &n, 4);
}

/* A temporary image of `size` bytes; pattern sectors of `unit` bytes unless sparse. */
static const char *make_image(struct rig *r, uint64_t size, unsigned unit, bool sparse)
{
	char *path = r->paths[r->npaths++];
	uint8_t buf[2048];
	int fd;

	strcpy(path, "/tmp/nestemu-ide-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (!sparse) {
		for (uint64_t n = 0; n < size / unit; n++) {
			fill_sector(buf, (uint32_t)n, unit);
			cr_assert_eq(pwrite(fd, buf, unit, (off_t)(n * unit)), (ssize_t)unit);
		}
	}
	close(fd);
	return path;
}

static struct block_backend *open_image(const char *path, bool ro)
{
	struct block_options o = { .file = path, .format = "raw", .read_only = ro };
	struct block_backend *b = NULL;
	char err[300];

	cr_assert_eq(block_open(&b, &o, err, sizeof(err)), 0, "%s", err);
	return b;
}

/* Drives: 0 = 4 MiB disk, 1 = read-only 1 MiB disk, 2 = CD (or cd_slot), 3 = none. */
static struct rig *rig_new_with(struct ide_drive_config drv[IDE_DRIVES])
{
	struct rig *r = calloc(1, sizeof(*r));
	struct pci_bus_config pc = { 0 };
	struct ide_config ic = { 0 };
	char err[300] = "";

	r->d = devm_new();
	cr_assert_eq(memmap_init(&r->d->m->mem, RAM), 0);
	cr_assert_eq(memmap_add_ram(&r->d->m->mem, 0, RAM, 0, "ram"), 0);
	r->bus = pci_create(r->d->m, &pc, err, sizeof(err));
	cr_assert_not_null(r->bus, "%s", err);
	ic.irq[0] = devm_line(r->d, 14);
	ic.irq[1] = devm_line(r->d, 15);
	memcpy(ic.drive, drv, sizeof(ic.drive));
	r->ide = ide_create(r->d->m, r->bus, &ic, err, sizeof(err));
	cr_assert_not_null(r->ide, "%s", err);
	/* BAR4 at BM_BASE, I/O and bus mastering on. */
	pci_config_write(r->bus, PCI_DEVFN_IDE, PCI_BAR0 + 16, BM_BASE, 4);
	pci_config_write(r->bus, PCI_DEVFN_IDE, PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MASTER, 2);
	return r;
}

static struct rig *rig_new(void)
{
	struct rig *r0 = calloc(1, sizeof(*r0));
	struct ide_drive_config drv[IDE_DRIVES] = { 0 };
	struct rig *r;

	drv[0] = (struct ide_drive_config){ IDE_MEDIA_DISK,
		open_image(make_image(r0, DISK_SECTORS * 512ull, 512, false), false) };
	drv[1] = (struct ide_drive_config){ IDE_MEDIA_DISK,
		open_image(make_image(r0, 1 << 20, 512, false), true) };
	drv[2] = (struct ide_drive_config){ IDE_MEDIA_CDROM,
		open_image(make_image(r0, CD_BLOCKS * 2048ull, 2048, false), true) };
	r = rig_new_with(drv);
	memcpy(r->paths, r0->paths, sizeof(r->paths));
	r->npaths = r0->npaths;
	free(r0);
	return r;
}

static void rig_free(struct rig *r)
{
	ide_destroy(r->ide);
	pci_destroy(r->bus);
	memmap_destroy(&r->d->m->mem);
	devm_free(r->d);
	for (int k = 0; k < r->npaths; k++)
		unlink(r->paths[k]);
	free(r);
}

static uint8_t in8(struct rig *r, uint16_t port)
{
	return (uint8_t)machine_io_in(r->d->m, port, 1);
}

static void out8(struct rig *r, uint16_t port, uint8_t v)
{
	machine_io_out(r->d->m, port, v, 1);
}

static uint16_t in16(struct rig *r, uint16_t port)
{
	return (uint16_t)machine_io_in(r->d->m, port, 2);
}

static void out16(struct rig *r, uint16_t port, uint16_t v)
{
	machine_io_out(r->d->m, port, v, 2);
}

static void read_block(struct rig *r, uint16_t base, uint8_t *buf, unsigned len)
{
	for (unsigned k = 0; k < len; k += 2) {
		uint16_t w = in16(r, base);
		buf[k] = (uint8_t)w;
		buf[k + 1] = (uint8_t)(w >> 8);
	}
}

static bool sector_ok(const uint8_t *b, uint32_t n, unsigned size)
{
	uint8_t want[2048];

	fill_sector(want, n, size);
	return memcmp(b, want, size) == 0;
}

/* LBA28 task file for unit `dev` (0/1). */
static void lba28(struct rig *r, uint16_t base, int dev, uint32_t lba, uint8_t count)
{
	out8(r, base + 6, (uint8_t)(0xe0 | dev << 4 | ((lba >> 24) & 0xf)));
	out8(r, base + 2, count);
	out8(r, base + 3, (uint8_t)lba);
	out8(r, base + 4, (uint8_t)(lba >> 8));
	out8(r, base + 5, (uint8_t)(lba >> 16));
}

static void lba48(struct rig *r, uint16_t base, uint64_t lba, uint16_t count)
{
	out8(r, base + 6, 0x40);
	out8(r, base + 2, (uint8_t)(count >> 8));
	out8(r, base + 3, (uint8_t)(lba >> 24));
	out8(r, base + 4, (uint8_t)(lba >> 32));
	out8(r, base + 5, (uint8_t)(lba >> 40));
	out8(r, base + 2, (uint8_t)count);
	out8(r, base + 3, (uint8_t)lba);
	out8(r, base + 4, (uint8_t)(lba >> 8));
	out8(r, base + 5, (uint8_t)(lba >> 16));
}

Test(ide, pci_function_and_state_sections)
{
	struct rig *r = rig_new();

	cr_assert_eq(pci_config_read(r->bus, PCI_DEVFN_IDE, 0, 4), 0x70108086u);
	cr_assert_eq(pci_config_read(r->bus, PCI_DEVFN_IDE, 8, 4) >> 8, 0x010180u,
		     "IDE, compatibility mode on both channels, bus master");
	/* BAR4: 16 bytes of I/O. */
	pci_config_write(r->bus, PCI_DEVFN_IDE, PCI_BAR0 + 16, 0xffffffffu, 4);
	cr_assert_eq(pci_config_read(r->bus, PCI_DEVFN_IDE, PCI_BAR0 + 16, 4), 0xfffffff1u);
	cr_assert_not_null(state_find(r->d->m, "ide0"));
	cr_assert_not_null(state_find(r->d->m, "ide1"));
	rig_free(r);
}

Test(ide, identify_device)
{
	struct rig *r = rig_new();
	uint16_t w[256];
	uint8_t sum = 0;
	char model[41];

	out8(r, P + 6, 0xa0);
	out8(r, P + 7, 0xec);
	cr_assert_eq(r->d->rises[14], 1, "INTRQ for the data block");
	cr_assert_eq(in8(r, 0x3f6) & 0x89, 0x08, "DRQ, not busy, no error");
	for (int k = 0; k < 256; k++)
		w[k] = in16(r, P);
	cr_assert_eq(in8(r, P + 7) & 0xc9, 0x40, "DRDY only after the block");
	cr_assert_eq(w[0], 0x0040, "fixed ATA device");
	cr_assert_eq(w[1], DISK_SECTORS / (16 * 63));
	cr_assert_eq(w[3], 16);
	cr_assert_eq(w[6], 63);
	for (int k = 0; k < 20; k++) {
		model[2 * k] = (char)(w[27 + k] >> 8);
		model[2 * k + 1] = (char)w[27 + k];
	}
	model[40] = 0;
	cr_assert_eq(strncmp(model, "NESTEMU HARDDISK    ", 20), 0, "model '%s'", model);
	cr_assert_neq(w[10], 0x2020, "serial number");
	cr_assert_neq(w[23], 0x2020, "firmware revision");
	cr_assert_eq(w[47] & 0xff, 16, "READ/WRITE MULTIPLE up to 16 sectors");
	cr_assert_eq(w[49] & 0x0300, 0x0300, "LBA and DMA");
	cr_assert_eq(w[60] | (uint32_t)w[61] << 16, DISK_SECTORS);
	cr_assert_eq(w[63] & 7, 7, "MWDMA 0-2");
	cr_assert_eq(w[64] & 3, 3, "PIO 3-4");
	cr_assert_eq(w[88] & 0x3f, 0x3f, "UDMA 0-5");
	cr_assert(w[83] & (1 << 10), "LBA48");
	cr_assert(w[83] & (1 << 12) && w[83] & (1 << 13), "FLUSH CACHE (EXT)");
	cr_assert(w[82] & (1 << 5) && w[85] & (1 << 5), "write cache supported and on");
	cr_assert_eq(w[100] | (uint64_t)w[101] << 16 | (uint64_t)w[102] << 32, DISK_SECTORS);
	cr_assert_eq(w[255] & 0xff, 0xa5);
	for (int k = 0; k < 256; k++)
		sum = (uint8_t)(sum + (w[k] & 0xff) + (w[k] >> 8));
	cr_assert_eq(sum, 0, "checksum");
	rig_free(r);
}

Test(ide, pio_read_lba28_chs_and_verify)
{
	struct rig *r = rig_new();
	uint8_t b[512];

	lba28(r, P, 0, 5, 3);
	out8(r, P + 7, 0x20);
	for (uint32_t n = 5; n < 8; n++) {
		cr_assert_eq(in8(r, P + 7) & 0x88, 0x08, "DRQ for sector %u", n);
		read_block(r, P, b, 512);
		cr_assert(sector_ok(b, n, 512), "sector %u", n);
	}
	cr_assert_eq(r->d->rises[14], 3, "one INTRQ per DRQ block");
	cr_assert_eq(in8(r, P + 7), 0x50);
	cr_assert_eq(in8(r, P + 3), 7, "registers hold the last sector read");

	/* CHS after INITIALIZE DEVICE PARAMETERS (16 heads, 63 sectors): 0/1/1 = LBA 63. */
	out8(r, P + 2, 63);
	out8(r, P + 6, 0xa0 | 15);
	out8(r, P + 7, 0x91);
	cr_assert_eq(in8(r, P + 7), 0x50);
	out8(r, P + 6, 0xa0 | 1);
	out8(r, P + 2, 1);
	out8(r, P + 3, 1);
	out8(r, P + 4, 0);
	out8(r, P + 5, 0);
	out8(r, P + 7, 0x21);
	read_block(r, P, b, 512);
	cr_assert(sector_ok(b, 63, 512));

	/* READ VERIFY: no data phase, completes with an interrupt. */
	lba28(r, P, 0, 100, 8);
	out8(r, P + 7, 0x40);
	cr_assert_eq(in8(r, P + 7), 0x50);
	rig_free(r);
}

Test(ide, pio_write_and_flush)
{
	struct rig *r = rig_new();
	uint8_t b[1024], f[1024];
	int fd;

	for (int k = 0; k < 1024; k++)
		b[k] = (uint8_t)(k * 7 + 3);
	lba28(r, P, 0, 200, 2);
	out8(r, P + 7, 0x30);
	cr_assert_eq(r->d->rises[14], 0, "no interrupt before the first block");
	cr_assert_eq(in8(r, 0x3f6) & 0x88, 0x08);
	for (int k = 0; k < 512; k += 2)
		out16(r, P, (uint16_t)(b[k] | b[k + 1] << 8));
	cr_assert_eq(r->d->rises[14], 1, "interrupt after the first block");
	cr_assert_eq(in8(r, P + 7) & 0x88, 0x08, "DRQ for the second block");
	for (int k = 512; k < 1024; k += 4)
		machine_io_out(r->d->m, P, (uint32_t)b[k] | (uint32_t)b[k + 1] << 8 |
			       (uint32_t)b[k + 2] << 16 | (uint32_t)b[k + 3] << 24, 4);
	cr_assert_eq(r->d->rises[14], 2);
	cr_assert_eq(in8(r, P + 7), 0x50);
	out8(r, P + 7, 0xe7);			/* FLUSH CACHE */
	cr_assert_eq(in8(r, P + 7), 0x50);
	fd = open(r->paths[0], O_RDONLY);
	cr_assert_eq(pread(fd, f, 1024, 200 * 512), 1024);
	close(fd);
	cr_assert_eq(memcmp(b, f, 1024), 0, "on the image after the flush");
	/* Read it back through the controller. */
	lba28(r, P, 0, 201, 1);
	out8(r, P + 7, 0x20);
	read_block(r, P, f, 512);
	cr_assert_eq(memcmp(b + 512, f, 512), 0);
	rig_free(r);
}

Test(ide, lba48_on_a_sparse_200g_image)
{
	struct rig *r0 = calloc(1, sizeof(*r0)), *r;
	struct ide_drive_config drv[IDE_DRIVES] = { 0 };
	uint64_t lba = 0x12345678ull + 5;	/* beyond LBA28, inside 200 GiB */
	uint8_t b[512];
	const char *path = make_image(r0, 200ull << 30, 512, true);
	int fd = open(path, O_RDWR);

	fill_sector(b, 0xabcd, 512);
	cr_assert_eq(pwrite(fd, b, 512, (off_t)(lba * 512)), 512);
	close(fd);
	drv[0] = (struct ide_drive_config){ IDE_MEDIA_DISK, open_image(path, false) };
	r = rig_new_with(drv);
	memcpy(r->paths, r0->paths, sizeof(r->paths));
	r->npaths = r0->npaths;
	free(r0);

	lba48(r, P, lba, 1);
	out8(r, P + 7, 0x24);			/* READ SECTORS EXT */
	cr_assert_eq(in8(r, 0x3f6) & 0x89, 0x08);
	read_block(r, P, b, 512);
	cr_assert(sector_ok(b, 0xabcd, 512));
	/* HOB reads back the high bytes of the last sector. */
	out8(r, 0x3f6, 0x80);
	cr_assert_eq(in8(r, P + 3), (uint8_t)(lba >> 24));
	cr_assert_eq(in8(r, P + 4), (uint8_t)(lba >> 32));
	out8(r, 0x3f6, 0x00);
	cr_assert_eq(in8(r, P + 3), (uint8_t)lba);
	/* WRITE SECTORS EXT one sector further, then read it back. */
	lba48(r, P, lba + 1, 1);
	out8(r, P + 7, 0x34);
	for (int k = 0; k < 256; k++)
		out16(r, P, 0x5aa5);
	cr_assert_eq(in8(r, P + 7), 0x50, "error 0x%x", in8(r, P + 1));
	lba48(r, P, lba + 1, 1);
	out8(r, P + 7, 0x24);
	cr_assert_eq(in16(r, P), 0x5aa5);
	/* Beyond the end: IDNF. */
	lba48(r, P, (200ull << 30) / 512, 1);
	out8(r, P + 7, 0x24);
	cr_assert_eq(in8(r, P + 7), 0x41);
	cr_assert_eq(in8(r, P + 1), 0x10);
	rig_free(r);
}

Test(ide, multiple_mode)
{
	struct rig *r = rig_new();
	uint8_t b[2048];

	lba28(r, P, 0, 0, 8);
	out8(r, P + 7, 0xc4);			/* READ MULTIPLE before SET MULTIPLE */
	cr_assert_eq(in8(r, P + 7), 0x41);
	cr_assert_eq(in8(r, P + 1), 0x04, "ABRT");
	out8(r, P + 2, 3);
	out8(r, P + 7, 0xc6);			/* not a power of two */
	cr_assert_eq(in8(r, P + 1), 0x04);
	out8(r, P + 2, 4);
	out8(r, P + 7, 0xc6);
	cr_assert_eq(in8(r, P + 7), 0x50);
	r->d->rises[14] = 0;
	lba28(r, P, 0, 40, 10);			/* blocks of 4, 4, 2 sectors */
	out8(r, P + 7, 0xc4);
	for (uint32_t n = 40; n < 50;) {
		unsigned k = n < 48 ? 4 : 2;
		cr_assert_eq(in8(r, P + 7) & 0x88, 0x08);
		read_block(r, P, b, k * 512);
		for (unsigned j = 0; j < k; j++)
			cr_assert(sector_ok(b + j * 512, n + j, 512), "sector %u", n + j);
		n += k;
	}
	cr_assert_eq(r->d->rises[14], 3, "one interrupt per block");
	cr_assert_eq(in8(r, P + 7), 0x50);
	rig_free(r);
}

/* One PRD entry (little-endian) at table + 8 * i. */
static void prd(struct rig *r, uint32_t table, int i, uint32_t addr, uint32_t len, bool eot)
{
	phys_write_u(r->d->m, table + 8 * (uint32_t)i, addr, 4);
	phys_write_u(r->d->m, table + 8 * (uint32_t)i + 4, (len & 0xffff) | (eot ? 0x80000000u : 0), 4);
}

Test(ide, dma_read_and_write)
{
	struct rig *r = rig_new();
	uint8_t b[1536], f[512];
	int fd;

	/* READ DMA: 3 sectors from LBA 10 into 1024 bytes at 0x20000 and 512 at 0x30000. */
	prd(r, 0x1000, 0, 0x20000, 1024, false);
	prd(r, 0x1000, 1, 0x30000, 512, true);
	machine_io_out(r->d->m, BM_BASE + 4, 0x1000, 4);
	lba28(r, P, 0, 10, 3);
	out8(r, P + 7, 0xc8);
	cr_assert_eq(r->d->rises[14], 0, "waits for the bus master");
	out8(r, BM_BASE, 0x09);			/* start, device to memory */
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x04, "interrupt, not active, no error");
	cr_assert_eq(r->d->rises[14], 1);
	cr_assert_eq(in8(r, P + 7), 0x50);
	phys_read(r->d->m, 0x20000, b, 1024);
	phys_read(r->d->m, 0x30000, b + 1024, 512);
	for (int k = 0; k < 3; k++)
		cr_assert(sector_ok(b + 512 * k, 10 + (uint32_t)k, 512), "sector %d", 10 + k);
	out8(r, BM_BASE, 0x00);
	out8(r, BM_BASE + 2, 0x04);		/* write 1 to clear */
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0);

	/* WRITE DMA EXT, bus master started first: 1 sector from 0x40000. */
	for (int k = 0; k < 512; k++)
		b[k] = (uint8_t)(0xc3 ^ k);
	phys_write(r->d->m, 0x40000, b, 512);
	prd(r, 0x1000, 0, 0x40000, 512, true);
	out8(r, BM_BASE, 0x01);
	lba48(r, P, 300, 1);
	out8(r, P + 7, 0x35);
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x04);
	cr_assert_eq(in8(r, P + 7), 0x50);
	fd = open(r->paths[0], O_RDONLY);
	cr_assert_eq(pread(fd, f, 512, 300 * 512), 512);
	close(fd);
	cr_assert_eq(memcmp(b, f, 512), 0);

	/* A PRD table longer than the transfer leaves the bus master active. */
	out8(r, BM_BASE, 0x00);
	out8(r, BM_BASE + 2, 0x06);
	prd(r, 0x1000, 0, 0x20000, 4096, true);
	out8(r, BM_BASE, 0x09);
	lba28(r, P, 0, 20, 1);
	out8(r, P + 7, 0xc8);
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x05, "active and interrupt");
	cr_assert_eq(in8(r, P + 7), 0x50);
	rig_free(r);
}

Test(ide, dma_outside_ram_sets_the_error_bit)
{
	struct rig *r = rig_new();

	/* Data buffer outside RAM. */
	prd(r, 0x1000, 0, 0xf0000000u, 512, true);
	machine_io_out(r->d->m, BM_BASE + 4, 0x1000, 4);
	out8(r, BM_BASE, 0x09);
	lba28(r, P, 0, 1, 1);
	out8(r, P + 7, 0xc8);
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x06, "error and interrupt, not active");
	cr_assert_eq(in8(r, P + 7) & 0x01, 0x01, "the command fails");
	/* A buffer running from RAM's end past it. */
	out8(r, BM_BASE, 0x00);
	out8(r, BM_BASE + 2, 0x06);
	prd(r, 0x1000, 0, RAM - 512, 1024, true);
	out8(r, BM_BASE, 0x09);
	lba28(r, P, 0, 1, 2);
	out8(r, P + 7, 0xc8);
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x06);
	cr_assert(sector_ok((uint8_t *)phys_ram_ptr(r->d->m, RAM - 512, 512), 1, 512),
		  "the part inside RAM was written");
	/* The PRD table itself outside RAM. */
	out8(r, BM_BASE, 0x00);
	out8(r, BM_BASE + 2, 0x06);
	machine_io_out(r->d->m, BM_BASE + 4, 0xfff00000u, 4);
	out8(r, BM_BASE, 0x01);
	lba28(r, P, 0, 1, 1);
	out8(r, P + 7, 0xca);
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x06);
	/* A table shorter than the transfer: ABRT, no error bit. */
	out8(r, BM_BASE, 0x00);
	out8(r, BM_BASE + 2, 0x06);
	prd(r, 0x1000, 0, 0x20000, 512, true);
	machine_io_out(r->d->m, BM_BASE + 4, 0x1000, 4);
	out8(r, BM_BASE, 0x09);
	lba28(r, P, 0, 1, 4);
	out8(r, P + 7, 0xc8);
	cr_assert_eq(in8(r, BM_BASE + 2) & 7, 0x04);
	cr_assert_eq(in8(r, P + 7), 0x41);
	cr_assert_eq(in8(r, P + 1), 0x04);
	rig_free(r);
}

Test(ide, errors)
{
	struct rig *r = rig_new();

	/* LBA beyond the end: IDNF. */
	lba28(r, P, 0, DISK_SECTORS - 1, 2);
	out8(r, P + 7, 0x20);
	cr_assert_eq(in8(r, P + 7), 0x41, "DRDY | ERR");
	cr_assert_eq(in8(r, P + 1), 0x10, "IDNF");
	/* CHS sector 0 does not exist. */
	out8(r, P + 6, 0xa0);
	out8(r, P + 3, 0);
	out8(r, P + 2, 1);
	out8(r, P + 7, 0x20);
	cr_assert_eq(in8(r, P + 1), 0x10);
	/* Writes to the read-only slave: ABRT, PIO and DMA. */
	lba28(r, P, 1, 0, 1);
	out8(r, P + 7, 0x30);
	cr_assert_eq(in8(r, P + 7), 0x41);
	cr_assert_eq(in8(r, P + 1), 0x04);
	out8(r, P + 7, 0xca);
	cr_assert_eq(in8(r, P + 1), 0x04);
	/* An unknown command (and NOP): ABRT. */
	out8(r, P + 7, 0x00);
	cr_assert_eq(in8(r, P + 1), 0x04);
	out8(r, P + 7, 0xb0);
	cr_assert_eq(in8(r, P + 1), 0x04);
	/* The slave still reads fine. */
	lba28(r, P, 1, 3, 1);
	out8(r, P + 7, 0x20);
	cr_assert_eq(in8(r, P + 7), 0x58);
	/* SET FEATURES: transfer mode UDMA 2 shows in IDENTIFY word 88. */
	out8(r, P + 6, 0xa0);
	out8(r, P + 1, 0x03);
	out8(r, P + 2, 0x42);
	out8(r, P + 7, 0xef);
	cr_assert_eq(in8(r, P + 7), 0x50);
	out8(r, P + 7, 0xec);
	for (int k = 0; k < 256; k++) {
		uint16_t w = in16(r, P);
		if (k == 88)
			cr_assert_eq(w, 0x043f);
	}
	/* CHECK POWER MODE after STANDBY IMMEDIATE. */
	out8(r, P + 7, 0xe0);
	out8(r, P + 7, 0xe5);
	cr_assert_eq(in8(r, P + 2), 0x00);
	out8(r, P + 7, 0xe1);
	out8(r, P + 7, 0xe5);
	cr_assert_eq(in8(r, P + 2), 0xff);
	rig_free(r);
}

Test(ide, reset_signatures_and_absent_devices)
{
	struct rig *r = rig_new();

	/* Secondary: CD-ROM master, no slave. ATAPI signature. */
	cr_assert_eq(in8(r, S + 4), 0x14);
	cr_assert_eq(in8(r, S + 5), 0xeb);
	cr_assert_eq(in8(r, S + 7), 0x00, "ATAPI: DRDY clear after reset");
	out8(r, S + 6, 0xb0);			/* the absent slave */
	cr_assert_eq(in8(r, S + 7), 0x00);
	/* IDENTIFY DEVICE on the CD aborts and leaves the signature. */
	out8(r, S + 6, 0xa0);
	out8(r, S + 4, 0);
	out8(r, S + 5, 0);
	out8(r, S + 7, 0xec);
	cr_assert_eq(in8(r, S + 7) & 0x01, 1);
	cr_assert_eq(in8(r, S + 4), 0x14);
	cr_assert_eq(in8(r, S + 5), 0xeb);
	/* IDENTIFY PACKET DEVICE. */
	out8(r, S + 7, 0xa1);
	cr_assert_eq(in16(r, S), 0x85c0, "ATAPI CD-ROM, removable, 12-byte packets");
	for (int k = 1; k < 256; k++)
		in16(r, S);
	cr_assert_eq(in8(r, S + 7), 0x50);
	cr_assert_eq(in8(r, S + 4), 0x14, "the signature stays after IDENTIFY PACKET DEVICE");

	/* Soft reset of the primary channel. */
	out8(r, P + 4, 0x12);
	out8(r, P + 6, 0xb0);
	out8(r, 0x3f6, 0x04);
	cr_assert_eq(in8(r, 0x3f6) & 0x80, 0x80, "busy while SRST is held");
	out8(r, 0x3f6, 0x00);
	cr_assert_eq(in8(r, P + 6) & 0x10, 0, "device 0 selected");
	cr_assert_eq(in8(r, P + 7), 0x50);
	cr_assert_eq(in8(r, P + 1), 0x01, "diagnostic code: passed");
	cr_assert_eq(in8(r, P + 2), 1);
	cr_assert_eq(in8(r, P + 3), 1);
	cr_assert_eq(in8(r, P + 4), 0);
	cr_assert_eq(in8(r, P + 5), 0);
	/* EXECUTE DEVICE DIAGNOSTIC. */
	out8(r, P + 7, 0x90);
	cr_assert_eq(in8(r, P + 1), 0x01);
	/* DEVICE RESET is for ATAPI only. */
	out8(r, P + 7, 0x08);
	cr_assert_eq(in8(r, P + 1), 0x04);
	rig_free(r);
}

Test(ide, nien_masks_intrq)
{
	struct rig *r = rig_new();

	out8(r, 0x3f6, 0x02);
	lba28(r, P, 0, 0, 1);
	out8(r, P + 7, 0x20);
	cr_assert_eq(r->d->rises[14], 0);
	cr_assert_eq(in8(r, 0x3f6) & 0x08, 0x08);
	out8(r, 0x3f6, 0x00);
	cr_assert_eq(r->d->rises[14], 1, "pending INTRQ shows once nIEN clears");
	in8(r, P + 7);
	cr_assert_eq(r->d->level[14], 0, "status read acknowledges");
	rig_free(r);
}

/* Sends a 12-byte packet to the secondary master with byte count limit `limit`. */
static void packet(struct rig *r, const uint8_t cdb[12], uint16_t limit)
{
	out8(r, S + 6, 0xa0);
	out8(r, S + 1, 0);
	out8(r, S + 4, (uint8_t)limit);
	out8(r, S + 5, (uint8_t)(limit >> 8));
	out8(r, S + 7, 0xa0);
	cr_assert_eq(in8(r, 0x376) & 0x88, 0x08, "DRQ for the packet");
	cr_assert_eq(in8(r, S + 2) & 3, 1, "interrupt reason: CoD");
	for (int k = 0; k < 12; k += 2)
		out16(r, S, (uint16_t)(cdb[k] | cdb[k + 1] << 8));
}

/* Reads one DRQ block of the data-in phase; returns its byte count. */
static unsigned data_block(struct rig *r, uint8_t *buf)
{
	unsigned n;

	cr_assert_eq(in8(r, S + 7) & 0x89, 0x08, "DRQ for data");
	cr_assert_eq(in8(r, S + 2) & 3, 2, "interrupt reason: IO");
	n = in8(r, S + 4) | in8(r, S + 5) << 8;
	read_block(r, S, buf, n);
	return n;
}

static void command_end(struct rig *r, bool error)
{
	uint8_t st = in8(r, S + 7);
	cr_assert_eq(st & 0x89, error ? 0x01 : 0x00, "status 0x%x", st);
	cr_assert_eq(in8(r, S + 2) & 3, 3, "interrupt reason: IO | CoD");
}

Test(ide, atapi_packets)
{
	struct rig *r = rig_new();
	uint8_t b[65536];
	uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t capacity[12] = { 0x25 };
	uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 3, 0 };
	uint8_t read12[12] = { 0xa8, 0, 0, 0, 0, 60, 0, 0, 0, 2 };
	uint8_t bad[12] = { 0xff };
	uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	uint8_t beyond[12] = { 0x28, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 2 };
	uint8_t tur[12] = { 0x00 };
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };

	packet(r, tur, 0);
	command_end(r, false);

	packet(r, inquiry, 0xfffe);
	cr_assert_eq(data_block(r, b), 36);
	cr_assert_eq(b[0], 0x05, "CD/DVD device");
	cr_assert_eq(b[1], 0x80, "removable");
	cr_assert_eq(memcmp(b + 8, "NESTEMU ", 8), 0);
	command_end(r, false);

	packet(r, capacity, 0xfffe);
	cr_assert_eq(data_block(r, b), 8);
	cr_assert_eq(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3], CD_BLOCKS - 1, "last LBA");
	cr_assert_eq(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 2048);
	command_end(r, false);

	/* READ(10) of 3 blocks with a 2048-byte limit: three DRQ blocks. */
	r->d->rises[15] = 0;
	packet(r, read10, 2048);
	for (uint32_t n = 5; n < 8; n++) {
		cr_assert_eq(data_block(r, b), 2048);
		cr_assert(sector_ok(b, n, 2048), "block %u", n);
	}
	command_end(r, false);
	cr_assert_eq(r->d->rises[15], 4, "three data blocks and the end");

	/* READ(12) of 2 blocks in one DRQ block (limit 0xFFFE). */
	packet(r, read12, 0xfffe);
	cr_assert_eq(data_block(r, b), 4096);
	cr_assert(sector_ok(b, 60, 2048) && sector_ok(b + 2048, 61, 2048));
	command_end(r, false);

	/* An odd limit is rounded down: 1001 -> 1000-byte blocks. */
	read10[8] = 1;
	packet(r, read10, 1001);
	unsigned got = 0;
	while (got < 2048) {
		unsigned n = data_block(r, b + got);
		cr_assert(n == 1000 || n == 48, "block of %u bytes", n);
		got += n;
	}
	cr_assert(sector_ok(b, 5, 2048));
	command_end(r, false);

	packet(r, toc, 0xfffe);
	cr_assert_eq(data_block(r, b), 20);
	cr_assert_eq(b[2], 1);
	cr_assert_eq(b[6], 1, "track 1");
	cr_assert_eq(b[14], 0xaa, "lead-out");
	cr_assert_eq(b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19], CD_BLOCKS);
	command_end(r, false);

	/* An unknown opcode, then REQUEST SENSE: ILLEGAL REQUEST, invalid opcode. */
	packet(r, bad, 0xfffe);
	command_end(r, true);
	cr_assert_eq(in8(r, S + 1) >> 4, 5, "sense key in the error register");
	packet(r, sense, 0xfffe);
	cr_assert_eq(data_block(r, b), 18);
	cr_assert_eq(b[0], 0x70);
	cr_assert_eq(b[2] & 0xf, 5);
	cr_assert_eq(b[12], 0x20);
	command_end(r, false);
	/* Beyond the disc: LBA OUT OF RANGE. */
	packet(r, beyond, 0xfffe);
	command_end(r, true);
	packet(r, sense, 0xfffe);
	data_block(r, b);
	cr_assert_eq(b[2] & 0xf, 5);
	cr_assert_eq(b[12], 0x21);
	command_end(r, false);
	/* REQUEST SENSE after a good command: NO SENSE. */
	packet(r, sense, 0xfffe);
	data_block(r, b);
	cr_assert_eq(b[2] & 0xf, 0);
	command_end(r, false);
	rig_free(r);
}

Test(ide, atapi_dma_and_empty_drive)
{
	struct ide_drive_config drv[IDE_DRIVES] = { 0 };
	struct rig *r0 = calloc(1, sizeof(*r0)), *r;
	uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 9, 0, 0, 2, 0 };
	uint8_t tur[12] = { 0x00 };
	uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	uint8_t b[4096];

	drv[2] = (struct ide_drive_config){ IDE_MEDIA_CDROM,
		open_image(make_image(r0, CD_BLOCKS * 2048ull, 2048, false), true) };
	drv[3] = (struct ide_drive_config){ IDE_MEDIA_CDROM, NULL };
	r = rig_new_with(drv);
	memcpy(r->paths, r0->paths, sizeof(r->paths));
	r->npaths = r0->npaths;
	free(r0);

	/* READ(10) by DMA (features bit 0). */
	prd(r, 0x1000, 0, 0x50000, 4096, true);
	machine_io_out(r->d->m, BM_BASE + 8 + 4, 0x1000, 4);
	out8(r, BM_BASE + 8, 0x09);
	out8(r, S + 6, 0xa0);
	out8(r, S + 1, 1);
	out8(r, S + 7, 0xa0);
	for (int k = 0; k < 12; k += 2)
		out16(r, S, (uint16_t)(read10[k] | read10[k + 1] << 8));
	cr_assert_eq(in8(r, BM_BASE + 10) & 7, 0x04);
	command_end(r, false);
	phys_read(r->d->m, 0x50000, b, 4096);
	cr_assert(sector_ok(b, 9, 2048) && sector_ok(b + 2048, 10, 2048));

	/* The empty slave drive: NOT READY, MEDIUM NOT PRESENT. */
	out8(r, S + 6, 0xb0);
	out8(r, S + 1, 0);
	out8(r, S + 7, 0xa0);
	for (int k = 0; k < 12; k += 2)
		out16(r, S, (uint16_t)(tur[k] | tur[k + 1] << 8));
	command_end(r, true);
	cr_assert_eq(in8(r, S + 1) >> 4, 2);
	out8(r, S + 4, 18);
	out8(r, S + 5, 0);
	out8(r, S + 7, 0xa0);
	for (int k = 0; k < 12; k += 2)
		out16(r, S, (uint16_t)(sense[k] | sense[k + 1] << 8));
	data_block(r, b);
	cr_assert_eq(b[2] & 0xf, 2);
	cr_assert_eq(b[12], 0x3a);
	rig_free(r);
}

Test(ide, info_block_lists_the_drives)
{
	struct rig *r = rig_new();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ide_info(r->ide, f);
	fclose(f);
	cr_assert(strstr(text, "ide0.0 (primary master): disk, file=/tmp/nestemu-ide-"), "%s", text);
	cr_assert(strstr(text, "format=raw, size=4194304 (4.0 MiB), read-only=no, backing=none"), "%s",
		  text);
	cr_assert(strstr(text, "ide0.1 (primary slave): disk") && strstr(text, "read-only=yes"), "%s",
		  text);
	cr_assert(strstr(text, "ide1.0 (secondary master): cdrom"), "%s", text);
	cr_assert_null(strstr(text, "ide1.1"), "%s", text);
	free(text);
	rig_free(r);
}

/* ---- the board: drives from machine_config, bootorder, CMOS, info block ---- */

static void fw_read(struct machine *m, uint16_t key, void *buf, size_t len)
{
	machine_io_out(m, FW_CFG_PORT_SEL, key, 2);
	for (size_t k = 0; k < len; k++)
		((uint8_t *)buf)[k] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
}

/* The contents of fw_cfg file `name` read through the ports ("" when absent). */
static void fw_file(struct machine *m, const char *name, char *out, size_t max)
{
	uint8_t cnt[4], e[64];
	uint32_t n;

	out[0] = 0;
	fw_read(m, FW_CFG_FILE_DIR, cnt, 4);
	n = (uint32_t)cnt[0] << 24 | (uint32_t)cnt[1] << 16 | (uint32_t)cnt[2] << 8 | cnt[3];
	for (uint32_t k = 0; k < n; k++) {
		for (int j = 0; j < 64; j++)
			e[j] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
		if (strcmp((char *)e + 8, name) == 0) {
			uint32_t size = (uint32_t)e[2] << 8 | e[3];
			cr_assert_lt(size, max);
			fw_read(m, (uint16_t)(e[4] << 8 | e[5]), out, size);
			out[size] = 0;
			return;
		}
	}
}

Test(ide, board_drives_bootorder_and_info_block)
{
	struct rig *paths = calloc(1, sizeof(*paths));
	struct machine_config cfg = { .ram_size = 32 << 20, .ncpus = 1, .boot_order = "dc" };
	char err[256] = "", order[256], *text;
	struct machine *m;

	/* A 1 GiB sparse disk (more than 1024 cylinders: LBA translation) and a CD. */
	cfg.drives[0] = (struct ide_drive_config){ IDE_MEDIA_DISK,
		open_image(make_image(paths, 1ull << 30, 512, true), false) };
	cfg.drives[3] = (struct ide_drive_config){ IDE_MEDIA_CDROM,
		open_image(make_image(paths, CD_BLOCKS * 2048ull, 2048, false), true) };
	m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_not_null(m->ide);
	fw_file(m, "bootorder", order, sizeof(order));
	cr_assert_str_eq(order, "/pci@i0cf8/ide@1,1/drive@1/disk@1\n"
				"/pci@i0cf8/ide@1,1/drive@0/disk@0");
	machine_io_out(m, 0x70, 0x39, 1);
	cr_assert_eq(machine_io_in(m, 0x71, 1), 0x01, "CMOS 0x39: LBA translation for ide0.0");
	machine_io_out(m, 0x70, 0x3d, 1);
	cr_assert_eq(machine_io_in(m, 0x71, 1), 0x23, "CMOS boot order: CD, then disk");
	/* The ports answer: the CD's ATAPI signature on the secondary slave. */
	machine_io_out(m, S + 6, 0xb0, 1);
	cr_assert_eq(machine_io_in(m, S + 4, 1), 0x14);
	cr_assert_eq(machine_io_in(m, S + 5, 1), 0xeb);
	text = monitor_exec_str(monitor_get(m), "info block");
	cr_assert(strstr(text, "ide0.0 (primary master): disk") &&
		  strstr(text, "ide1.1 (secondary slave): cdrom"), "%s", text);
	free(text);
	machine_destroy(m);
	for (int k = 0; k < paths->npaths; k++)
		unlink(paths->paths[k]);
	free(paths);
}

Test(ide, state_section_resumes_a_transfer)
{
	struct rig *a = rig_new(), *b = rig_new();
	const struct state_section *sa = state_find(a->d->m, "ide0");
	const struct state_section *sb = state_find(b->d->m, "ide0");
	uint8_t sec[1024], *img;
	size_t size;

	cr_assert_not_null(sa);
	cr_assert_not_null(sb);
	/* Machine a: READ SECTORS of LBA 7-8, 200 bytes read, then saved. */
	lba28(a, P, 0, 7, 2);
	out8(a, P + 7, 0x20);
	read_block(a, P, sec, 200);
	size = state_fields_size(sa);
	cr_assert_eq(size, state_fields_size(sb));
	img = malloc(size);
	state_fields_save(sa, img);
	/* Machine b takes over and finishes the transfer. */
	state_fields_load(sb, img);
	{
		size_t la, lb;
		uint8_t *ba = sa->blob(sa->base, &la), *bb = sb->blob(sb->base, &lb);
		cr_assert_eq(la, lb);
		memcpy(bb, ba, la);	/* the data buffer */
	}
	if (sb->post_load)
		sb->post_load(sb->base);
	cr_assert_eq(in8(b, P + 7) & 0x88, 0x08, "DRQ carried over");
	read_block(b, P, sec + 200, 1024 - 200);
	cr_assert(sector_ok(sec, 7, 512) && sector_ok(sec + 512, 8, 512));
	cr_assert_eq(in8(b, P + 7), 0x50);
	free(img);
	rig_free(a);
	rig_free(b);
}

/*
 * Random register traffic (a deterministic xorshift stream): commands,
 * packets, bus-master starts with PRD tables anywhere, resets. Nothing may
 * crash or touch memory outside the buffers (run under ASan by make asan),
 * and afterwards a soft reset brings both channels back to their
 * signatures and a read still works.
 */
Test(ide, random_register_traffic)
{
	struct rig *r = rig_new();
	static const uint16_t ports[] = { P, P + 1, P + 2, P + 3, P + 4, P + 5, P + 6, P + 7, 0x3f6,
					  S, S + 1, S + 2, S + 3, S + 4, S + 5, S + 6, S + 7, 0x376,
					  BM_BASE, BM_BASE + 2, BM_BASE + 4, BM_BASE + 8,
					  BM_BASE + 10, BM_BASE + 12 };
	static const uint8_t cmds[] = { 0x20, 0x24, 0x29, 0x30, 0x34, 0x39, 0xc4, 0xc5, 0xc6, 0xc8,
					0xca, 0x25, 0x35, 0x40, 0x42, 0x91, 0xa0, 0xa1, 0xec, 0xef,
					0xe7, 0xea, 0x90, 0x08, 0xe5, 0xe0 };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t b[512];

	for (int k = 0; k < 64; k++)	/* PRD entries all over RAM and beyond */
		prd(r, 0x1000, k, (uint32_t)(k * 0x45678) & ~1u, (uint32_t)(k * 4099), k == 63);
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint16_t port = ports[x % (sizeof(ports) / sizeof(ports[0]))];
		unsigned size = 1u << ((x >> 8) % 3);
		uint32_t v = (uint32_t)(x >> 32);
		if ((port & 7) == 7 && port < BM_BASE && ((x >> 16) & 1))
			v = cmds[(x >> 20) % sizeof(cmds)];
		if ((port & 0xfff0) == BM_BASE && (port & 7) == 4)
			v = 0x1000 + ((x >> 24) & 0x3) * 0x40000000u;	/* RAM or far beyond */
		if (port == 0x3f6 || port == 0x376)
			v &= 0x06;
		if ((x >> 40) & 1)
			machine_io_out(r->d->m, port, v, size);
		else
			(void)machine_io_in(r->d->m, port, size);
	}
	out8(r, BM_BASE, 0);
	out8(r, BM_BASE + 8, 0);
	for (int ch = 0; ch < 2; ch++) {
		uint16_t ctl = ch ? 0x376 : 0x3f6, base = ch ? S : P;
		out8(r, ctl, 0x04);
		out8(r, ctl, 0x00);
		cr_assert_eq(in8(r, base + 4), ch ? 0x14 : 0x00);
		cr_assert_eq(in8(r, base + 5), ch ? 0xeb : 0x00);
	}
	lba28(r, P, 0, 77, 1);
	out8(r, P + 7, 0x20);
	read_block(r, P, b, 512);
	cr_assert(sector_ok(b, 77, 512));
	rig_free(r);
}

/* Runs a data-in packet and collects every DRQ block; returns the bytes. */
static unsigned packet_in(struct rig *r, const uint8_t cdb[12], uint8_t *buf)
{
	unsigned got = 0;

	packet(r, cdb, 0xfffe);
	while ((in8(r, 0x376) & 0x88) == 0x08)
		got += data_block(r, buf + got);
	command_end(r, false);
	return got;
}

Test(ide, atapi_mmc_commands)
{
	struct rig *r = rig_new();
	uint8_t b[4096];
	uint8_t mode_caps[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
	uint8_t mode_all[12] = { 0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255 };
	uint8_t config[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 255 };
	uint8_t config_core[12] = { 0x46, 2, 0, 1, 0, 0, 0, 0, 255 };
	uint8_t events[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	uint8_t mech[12] = { 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
	uint8_t disc[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };
	uint8_t toc_msf[12] = { 0x43, 2, 0, 0, 0, 0, 0, 0, 100 };
	uint8_t session[12] = { 0x43, 0, 1, 0, 0, 0, 0, 0, 12 };
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
	uint8_t unlock[12] = { 0x1e, 0, 0, 0, 0 };
	uint8_t eject[12] = { 0x1b, 0, 0, 0, 2 };
	uint8_t events_async[12] = { 0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8 };

	cr_assert_eq(packet_in(r, mode_caps, b), 30);
	cr_assert_eq(b[0] << 8 | b[1], 28, "mode data length");
	cr_assert_eq(b[8], 0x2a);
	cr_assert_eq(b[9], 0x14);
	cr_assert_eq(b[14] & 0x02, 0, "not locked");
	cr_assert_eq(packet_in(r, mode_all, b), 38, "pages 01h and 2Ah");
	cr_assert_eq(b[8], 0x01);
	cr_assert_eq(b[16], 0x2a);

	cr_assert_eq(packet_in(r, config, b), 8 + 12 + 12 + 8);
	cr_assert_eq(b[6] << 8 | b[7], 0x0008, "current profile CD-ROM");
	cr_assert_eq(b[8] << 8 | b[9], 0x0000, "Profile List first");
	cr_assert_eq(b[20] << 8 | b[21], 0x0001, "then Core");
	cr_assert_eq(b[27], 2, "ATAPI interface");
	cr_assert_eq(b[32] << 8 | b[33], 0x0003, "then Removable Medium");
	cr_assert_eq(packet_in(r, config_core, b), 8 + 12, "RT=2: just the Core feature");
	cr_assert_eq(b[8] << 8 | b[9], 0x0001);

	cr_assert_eq(packet_in(r, events, b), 8);
	cr_assert_eq(b[2], 0x04, "media class");
	cr_assert_eq(b[5] & 0x02, 0x02, "media present");
	packet(r, events_async, 0xfffe);
	command_end(r, true);

	cr_assert_eq(packet_in(r, mech, b), 8);
	cr_assert_eq(packet_in(r, disc, b), 34);
	cr_assert_eq(b[2], 0x0e, "complete disc");
	cr_assert_eq(b[4], 1, "one session");

	cr_assert_eq(packet_in(r, toc_msf, b), 20);
	cr_assert_eq(b[9] << 16 | b[10] << 8 | b[11], 0x000200, "track 1 at 00:02:00");
	cr_assert_eq(b[17], (CD_BLOCKS + 150) / (60 * 75));
	cr_assert_eq(b[18], ((CD_BLOCKS + 150) / 75) % 60);
	cr_assert_eq(b[19], (CD_BLOCKS + 150) % 75);
	cr_assert_eq(packet_in(r, session, b), 12);
	cr_assert_eq(b[1], 10);
	cr_assert_eq(b[6], 1, "first track of the last session");

	packet(r, lock, 0);
	command_end(r, false);
	cr_assert_eq(packet_in(r, mode_caps, b), 30);
	cr_assert_eq(b[14] & 0x02, 0x02, "locked");
	packet(r, eject, 0);
	command_end(r, true);			/* medium removal prevented */
	packet(r, unlock, 0);
	command_end(r, false);
	packet(r, eject, 0);
	command_end(r, false);
	rig_free(r);
}
