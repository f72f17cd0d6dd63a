/*
 * ide.c - PIIX3 IDE (PCI 00:01.1): ATA disks and ATAPI CD-ROMs on two
 * compatibility-mode channels, with Bus Master IDE DMA (see ide.h).
 *
 * Registers (ATA/ATAPI-6 section 7, ACS-3 for the commands): the command
 * block at base+0..7 (data, error/features, sector count, LBA low/mid/high,
 * device, status/command) and the control block (alternate status /
 * device control). Both devices of a channel latch every command-block
 * write (each keeps its own copy, so a device's signature survives the
 * other's); reads come from the selected device. A selected device that is
 * absent reads status 0 and error 0 (device 0 answering for it); a channel
 * with no device at all reads 0, as QEMU's does (SeaBIOS and Linux both
 * treat that as empty). Each register write pushes the previous value into
 * the "HOB" copy that LBA48 commands use and Device Control bit 7 reads
 * back (ATA-6 6.20).
 *
 * Commands execute at once when written; the device is never seen busy
 * except while SRST is held. PIO transfers go through a 64 KiB buffer per
 * channel one DRQ block at a time (one sector, a READ/WRITE MULTIPLE
 * block, or an ATAPI byte-count-limited block); INTRQ is raised for each
 * data-in block, after each data-out block and at the end of non-data and
 * DMA commands, and is cleared by reading Status or writing Command
 * (ATA-6 9.5-9.10). nIEN masks the line. Disks are ATA-6 devices with
 * LBA48 and a write cache (FLUSH CACHE calls block_flush, so a write is on
 * the image file when the guest's flush completes; with the cache
 * disabled by SET FEATURES every write is flushed before it completes).
 * An LBA outside the disk fails with IDNF, a write to a read-only image
 * with ABRT.
 *
 * ATAPI (ATA-6 9.11, MMC-3/SPC-3): PACKET takes a 12-byte CDB with DRQ and
 * interrupt reason CoD=1; data-in goes out in blocks of at most the byte
 * count limit (rounded down to even; 0 means 0xFFFE) with reason IO=1, and
 * the command ends with reason IO|CoD and status DRDY, or ERR with the
 * sense key in Error bits 7:4 and the sense data kept for REQUEST SENSE.
 * The disc is 2048-byte sectors of the image (a single-session,
 * single-track data disc); a drive without an image reports NOT READY,
 * MEDIUM NOT PRESENT.
 *
 * Bus Master IDE (Intel 82371SB datasheet 2.7.5, SFF-8038i): per channel a
 * command register (bit 0 start, bit 3 direction), a status register
 * (bit 0 active, bit 1 error and bit 2 interrupt write-1-to-clear, bits
 * 5-6 drive DMA capable) and the PRD table pointer. A DMA command runs
 * when the command has been given, the start bit is set and the PCI
 * command register allows bus mastering, whichever comes last; the whole
 * transfer happens at that moment. PRD entries and data buffers are
 * reached only through guest RAM regions (phys_ram_ptr, page by page): a
 * PRD table or buffer outside RAM ends the transfer with the error bit,
 * and a PRD table shorter than the transfer ends it with ABRT. A PRD table
 * longer than the transfer leaves the active bit set, as on hardware.
 *
 * Not modelled: timings (IDETIM/SIDETIM are plain storage; the legacy
 * ports are decoded whatever IDETIM bit 15 says, as in QEMU, and the bit
 * resets to 1), native-PCI mode, queued commands, security, SMART, HPA.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "state.h"
#include "block/block.h"
#include "dev/ide.h"
#include "dev/pci.h"

#define SECTOR 512u
#define CD_SECTOR 2048u
#define IDE_BUF_SIZE (64u * 1024u)
#define MAX_MULT 16u			/* READ/WRITE MULTIPLE block limit (IDENTIFY word 47) */
#define DMA_PAGE 4096u
#define NESTEMU_IDE_FIRMWARE "1.0"

/* Status register. */
#define ST_BSY 0x80
#define ST_DRDY 0x40
#define ST_DF 0x20
#define ST_DSC 0x10
#define ST_DRQ 0x08
#define ST_ERR 0x01

/* Error register. */
#define ER_UNC 0x40
#define ER_IDNF 0x10
#define ER_ABRT 0x04

/* Device Control. */
#define DC_NIEN 0x02
#define DC_SRST 0x04
#define DC_HOB 0x80

/* Device register. */
#define DEV_LBA 0x40
#define DEV_DEV 0x10

/* ATAPI interrupt reason (sector count register). */
#define IR_COD 0x01
#define IR_IO 0x02

/* Bus master registers. */
#define BM_CMD_START 0x01
#define BM_CMD_READ 0x08		/* 1: the device writes memory */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INT 0x04
#define BM_ST_CAP 0x60			/* drive 0/1 DMA capable (software bits) */

/* SCSI sense keys and additional sense codes. */
#define SK_NO_SENSE 0x0
#define SK_NOT_READY 0x2
#define SK_MEDIUM_ERROR 0x3
#define SK_ILLEGAL_REQUEST 0x5
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_NOT_PRESENT 0x3a
#define ASC_REMOVAL_PREVENTED 0x53
#define ASC_UNRECOVERED_READ 0x11

enum xfer {
	X_NONE,
	X_PIO_IN,		/* ATA data-in: DRQ blocks of `block` sectors */
	X_PIO_OUT,		/* ATA data-out */
	X_PACKET,		/* ATAPI: receiving the 12-byte CDB */
	X_ATAPI_IN,		/* ATAPI data-in by PIO */
	X_DMA_IN,		/* ATA READ DMA waiting for / running on the bus master */
	X_DMA_OUT,		/* ATA WRITE DMA */
	X_ATAPI_DMA,		/* ATAPI data-in by DMA */
};

/* What one device of a channel holds (saved as one element per unit). */
struct ide_unit {
	/* Task file as this device sees it; hob_* are the previous writes. */
	uint8_t feature, nsector, sector, lcyl, hcyl;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t status, error;
	/* Settings. */
	uint8_t mult;			/* sectors per MULTIPLE block, 0 = disabled */
	uint8_t lheads, lsecs;		/* INITIALIZE DEVICE PARAMETERS geometry */
	uint8_t wcache;			/* write cache enabled */
	uint8_t xfer_mode;		/* SET FEATURES 03h value (0 = PIO default) */
	uint8_t power;			/* CHECK POWER MODE result: 0xFF active/idle, 0 standby */
	/* ATAPI. */
	uint8_t sense_key, asc, ascq;
	uint8_t locked;			/* PREVENT ALLOW MEDIUM REMOVAL */
};

/* Configuration of one drive position (not saved: from the command line). */
struct ide_drive {
	enum ide_media media;
	struct block_backend *blk;
	uint64_t sectors;		/* 512-byte sectors (disk) or 2048-byte blocks (CD) */
	unsigned cyls, heads, secs;	/* default CHS geometry (disk) */
	char serial[21];
	bool io_reported;		/* a failed request was reported to the user */
};

struct ide_channel {
	struct ide *ide;
	int index;
	struct irq irq;
	struct ide_drive *drive[2];
	uint16_t base, ctl;		/* command block and control ports */
	/* Saved state from here on (state table below). */
	struct ide_unit unit[2];
	uint8_t select;			/* Device register (both devices) */
	uint8_t devctl;			/* Device Control */
	uint8_t irq_pending;		/* INTRQ of the channel, before nIEN */
	uint8_t xfer;			/* enum xfer */
	uint8_t xunit;			/* the device doing the transfer */
	uint8_t cmd;			/* the command being executed */
	uint8_t lba48;			/* it is an EXT command */
	uint64_t lba;			/* next sector to read or write */
	uint32_t left;			/* sectors not yet moved through the buffer */
	uint32_t block;			/* sectors per DRQ block (ATA PIO) */
	uint32_t pos, len, drq_end;	/* buffer: next byte, valid bytes, end of this DRQ block */
	uint32_t byte_limit;		/* ATAPI byte count limit */
	uint8_t bm_cmd, bm_status;
	uint32_t bm_prd;
	uint8_t buf[IDE_BUF_SIZE];
};

struct ide {
	struct machine *m;
	struct pci_device pci;
	struct ide_drive drives[IDE_DRIVES];
	struct ide_channel ch[2];
	bool io_claimed[2], ctl_claimed[2];
};

static const uint16_t chan_base[2] = { 0x1f0, 0x170 };
static const uint16_t chan_ctl[2] = { 0x3f6, 0x376 };

static void bm_run(struct ide_channel *c);

/* ---- interrupts ---- */

static void irq_update(struct ide_channel *c)
{
	irq_set(&c->irq, c->irq_pending && !(c->devctl & DC_NIEN));
}

static void raise_irq(struct ide_channel *c)
{
	c->irq_pending = 1;
	if (!(c->devctl & DC_NIEN))
		c->bm_status |= BM_ST_INT;
	irq_update(c);
}

static void lower_irq(struct ide_channel *c)
{
	c->irq_pending = 0;
	irq_update(c);
}

/* ---- helpers ---- */

static int sel_unit(const struct ide_channel *c)
{
	return (c->select & DEV_DEV) ? 1 : 0;
}

static bool present(const struct ide_channel *c, int u)
{
	return c->drive[u]->media != IDE_MEDIA_NONE;
}

static bool is_cd(const struct ide_channel *c, int u)
{
	return c->drive[u]->media == IDE_MEDIA_CDROM;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void xfer_stop(struct ide_channel *c)
{
	c->xfer = X_NONE;
	c->pos = c->len = c->drq_end = 0;
}

/* Command completed without error. */
static void cmd_done(struct ide_channel *c, int u)
{
	xfer_stop(c);
	c->unit[u].status = ST_DRDY | ST_DSC;
	c->unit[u].error = 0;
	raise_irq(c);
}

/* Command completed with an error (ABRT, IDNF, UNC). */
static void cmd_error(struct ide_channel *c, int u, uint8_t err)
{
	xfer_stop(c);
	c->unit[u].status = ST_DRDY | ST_ERR;
	c->unit[u].error = err;
	raise_irq(c);
}

/* ATA or ATAPI signature in unit u's registers (ATA-6 9.12). */
static void set_signature(struct ide_channel *c, int u)
{
	struct ide_unit *r = &c->unit[u];

	r->nsector = r->sector = 1;
	if (is_cd(c, u)) {
		r->lcyl = 0x14;
		r->hcyl = 0xeb;
	} else if (present(c, u)) {
		r->lcyl = r->hcyl = 0;
	} else {
		r->lcyl = r->hcyl = 0xff;
	}
	r->hob_nsector = r->hob_sector = r->hob_lcyl = r->hob_hcyl = 0;
}

/* The state after a reset (hardware, SRST, DEVICE RESET, diagnostic): signature, passed. */
static void unit_reset_regs(struct ide_channel *c, int u)
{
	struct ide_unit *r = &c->unit[u];

	set_signature(c, u);
	r->error = 0x01;		/* diagnostic code: passed */
	r->status = present(c, u) && !is_cd(c, u) ? ST_DRDY | ST_DSC : 0;
	r->feature = r->hob_feature = 0;
}

/* Power-on settings of unit u. */
static void unit_defaults(struct ide_channel *c, int u)
{
	struct ide_unit *r = &c->unit[u];
	const struct ide_drive *d = c->drive[u];

	memset(r, 0, sizeof(*r));
	r->lheads = (uint8_t)d->heads;
	r->lsecs = (uint8_t)d->secs;
	r->wcache = 1;
	r->power = 0xff;
	unit_reset_regs(c, u);
}

static void channel_reset(struct ide_channel *c)
{
	xfer_stop(c);
	c->select = 0xa0;
	c->devctl = 0;
	c->irq_pending = 0;
	c->cmd = 0;
	c->bm_cmd = 0;
	c->bm_status = 0;
	c->bm_prd = 0;
	for (int u = 0; u < 2; u++)
		unit_defaults(c, u);
	irq_update(c);
}

/* ---- IDENTIFY ---- */

static void id_string(uint16_t *w, int first, int nwords, const char *s)
{
	size_t n = strlen(s);

	for (int k = 0; k < nwords * 2; k++) {
		uint8_t ch = (size_t)k < n ? (uint8_t)s[k] : ' ';
		if (k & 1)
			w[first + k / 2] |= ch;
		else
			w[first + k / 2] = (uint16_t)(ch << 8);
	}
}

/* Word 255: signature A5h and a checksum making the 512 bytes sum to 0. */
static void id_checksum(uint16_t *w)
{
	uint8_t sum = 0xa5;

	for (int k = 0; k < 255; k++)
		sum = (uint8_t)(sum + (w[k] & 0xff) + (w[k] >> 8));
	w[255] = (uint16_t)(((uint8_t)-sum) << 8 | 0xa5);
}

/* Words 63 and 88: supported modes and the one SET FEATURES selected. */
static void id_dma_modes(uint16_t *w, uint8_t mode)
{
	w[62] = 0;
	w[63] = 0x0007;
	w[88] = 0x003f;
	if ((mode >> 3) == 4)
		w[63] |= (uint16_t)(0x100 << (mode & 7));
	else if ((mode >> 3) == 8)
		w[88] |= (uint16_t)(0x100 << (mode & 7));
}

static void identify_disk(const struct ide_channel *c, int u, uint16_t *w)
{
	const struct ide_drive *d = c->drive[u];
	const struct ide_unit *r = &c->unit[u];
	uint64_t n = d->sectors, lba28 = n < 0x0fffffff ? n : 0x0fffffff;
	uint64_t lcyls = r->lheads && r->lsecs ? n / ((uint64_t)r->lheads * r->lsecs) : 0;
	uint64_t cur;

	if (lcyls > 65535)
		lcyls = 65535;
	cur = lcyls * r->lheads * r->lsecs;
	memset(w, 0, 512);
	w[0] = 0x0040;				/* fixed device */
	w[1] = (uint16_t)d->cyls;
	w[3] = (uint16_t)d->heads;
	w[6] = (uint16_t)d->secs;
	id_string(w, 10, 10, d->serial);
	id_string(w, 23, 4, NESTEMU_IDE_FIRMWARE);
	id_string(w, 27, 20, "NESTEMU HARDDISK");
	w[47] = 0x8000 | MAX_MULT;
	w[49] = (1 << 11) | (1 << 9) | (1 << 8);	/* IORDY, LBA, DMA */
	w[50] = 0x4000;
	w[51] = 0x0200;
	w[53] = 0x0007;				/* words 54-58, 64-70, 88 valid */
	w[54] = (uint16_t)lcyls;
	w[55] = r->lheads;
	w[56] = r->lsecs;
	w[57] = (uint16_t)cur;
	w[58] = (uint16_t)(cur >> 16);
	w[59] = r->mult ? (uint16_t)(0x100 | r->mult) : 0;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	id_dma_modes(w, r->xfer_mode);
	w[64] = 0x0003;				/* PIO modes 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x007e;				/* ATA-1 to ATA-6 */
	w[82] = (1 << 14) | (1 << 5) | (1 << 3);	/* NOP, write cache, power management */
	w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);	/* FLUSH EXT, FLUSH, LBA48 */
	w[84] = 1 << 14;
	w[85] = (uint16_t)((1 << 14) | (r->wcache ? 1 << 5 : 0) | (1 << 3));
	w[86] = (1 << 13) | (1 << 12) | (1 << 10);
	w[87] = 1 << 14;
	w[93] = (1 << 14) | (1 << 13) | 1;	/* 80-conductor cable detected */
	w[100] = (uint16_t)n;
	w[101] = (uint16_t)(n >> 16);
	w[102] = (uint16_t)(n >> 32);
	w[103] = (uint16_t)(n >> 48);
	id_checksum(w);
}

static void identify_cd(const struct ide_channel *c, int u, uint16_t *w)
{
	const struct ide_drive *d = c->drive[u];

	memset(w, 0, 512);
	/* ATAPI, CD-ROM, removable, 50 us to DRQ, 12-byte packets. */
	w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
	id_string(w, 10, 10, d->serial);
	id_string(w, 23, 4, NESTEMU_IDE_FIRMWARE);
	id_string(w, 27, 20, "NESTEMU DVD-ROM");
	w[49] = (1 << 11) | (1 << 9) | (1 << 8);	/* IORDY, LBA, DMA */
	w[53] = 0x0006;				/* words 64-70, 88 valid */
	id_dma_modes(w, c->unit[u].xfer_mode);
	w[64] = 0x0003;
	w[65] = w[66] = w[67] = w[68] = 120;
	w[71] = 30;				/* release times (ns), as drives report */
	w[72] = 30;
	w[80] = 0x007e;
	w[82] = (1 << 14) | (1 << 9) | (1 << 4);	/* NOP, DEVICE RESET, PACKET */
	w[83] = 1 << 14;
	w[84] = 1 << 14;
	w[85] = (1 << 14) | (1 << 9) | (1 << 4);
	w[86] = 0;
	w[87] = 1 << 14;
	w[93] = (1 << 14) | (1 << 13) | 1;
	id_checksum(w);
}

/* Starts a one-block PIO data-in of the 512 bytes in words w. */
static void pio_in_identify(struct ide_channel *c, int u, const uint16_t *w)
{
	for (int k = 0; k < 256; k++) {
		c->buf[2 * k] = (uint8_t)w[k];
		c->buf[2 * k + 1] = (uint8_t)(w[k] >> 8);
	}
	c->xfer = X_PIO_IN;
	c->xunit = (uint8_t)u;
	c->left = 0;
	c->block = 0;			/* not a sector transfer: registers stay */
	c->pos = 0;
	c->len = c->drq_end = 512;
	c->unit[u].status = ST_DRDY | ST_DSC | ST_DRQ;
	c->unit[u].error = 0;
	raise_irq(c);
}

/* ---- ATA sector addressing ---- */

/* The command's starting sector (CHS, LBA28 or LBA48); false for a CHS outside the geometry. */
static bool cmd_lba(const struct ide_channel *c, int u, uint64_t *lba)
{
	const struct ide_unit *r = &c->unit[u];

	if (c->lba48) {
		*lba = (uint64_t)r->hob_hcyl << 40 | (uint64_t)r->hob_lcyl << 32 |
		       (uint64_t)r->hob_sector << 24 | (uint64_t)r->hcyl << 16 |
		       (uint64_t)r->lcyl << 8 | r->sector;
		return true;
	}
	if (c->select & DEV_LBA) {
		*lba = (uint64_t)(c->select & 0xf) << 24 | (uint64_t)r->hcyl << 16 |
		       (uint64_t)r->lcyl << 8 | r->sector;
		return true;
	}
	unsigned cyl = (unsigned)r->hcyl << 8 | r->lcyl, head = c->select & 0xf;
	if (r->sector == 0 || r->sector > r->lsecs || head >= r->lheads)
		return false;
	*lba = ((uint64_t)cyl * r->lheads + head) * r->lsecs + r->sector - 1;
	return true;
}

static uint32_t cmd_count(const struct ide_channel *c, int u)
{
	const struct ide_unit *r = &c->unit[u];

	if (c->lba48) {
		uint32_t n = (uint32_t)r->hob_nsector << 8 | r->nsector;
		return n ? n : 65536;
	}
	return r->nsector ? r->nsector : 256;
}

/* After a transfer: the address of the last sector moved, as the registers report it. */
static void set_lba_regs(struct ide_channel *c, int u, uint64_t lba)
{
	struct ide_unit *r = &c->unit[u];

	if (c->lba48) {
		r->sector = (uint8_t)lba;
		r->lcyl = (uint8_t)(lba >> 8);
		r->hcyl = (uint8_t)(lba >> 16);
		r->hob_sector = (uint8_t)(lba >> 24);
		r->hob_lcyl = (uint8_t)(lba >> 32);
		r->hob_hcyl = (uint8_t)(lba >> 40);
	} else if (c->select & DEV_LBA) {
		r->sector = (uint8_t)lba;
		r->lcyl = (uint8_t)(lba >> 8);
		r->hcyl = (uint8_t)(lba >> 16);
		c->select = (uint8_t)((c->select & 0xf0) | ((lba >> 24) & 0xf));
	} else if (r->lheads && r->lsecs) {
		uint64_t cyl = lba / ((uint64_t)r->lheads * r->lsecs);
		unsigned rest = (unsigned)(lba % ((uint64_t)r->lheads * r->lsecs));
		r->lcyl = (uint8_t)cyl;
		r->hcyl = (uint8_t)(cyl >> 8);
		c->select = (uint8_t)((c->select & 0xf0) | (rest / r->lsecs));
		r->sector = (uint8_t)(rest % r->lsecs + 1);
	}
}

/* Checks the command's range; on failure ends the command with IDNF. */
static bool rw_setup(struct ide_channel *c, int u)
{
	uint64_t lba = 0;
	uint32_t n = cmd_count(c, u);

	if (!cmd_lba(c, u, &lba) || lba >= c->drive[u]->sectors ||
	    n > c->drive[u]->sectors - lba) {
		cmd_error(c, u, ER_IDNF);
		return false;
	}
	c->xunit = (uint8_t)u;
	c->lba = lba;
	c->left = n;
	return true;
}

/*
 * Image access. A failing request is the host's problem (disk full, I/O
 * error): the guest sees UNC or ABRT, and the user gets one sentence per
 * drive in the log (stderr by default) saying what failed.
 */
static int io_result(struct ide_channel *c, int u, int r, const char *what)
{
	struct ide_drive *d = c->drive[u];
	struct log *log = &c->ide->m->log;

	if (r < 0 && !d->io_reported) {
		const char *why = block_last_error(d->blk);
		d->io_reported = true;
		if (log->out)
			log_printf(log, "nestemu: ide%d.%d: %s '%s' failed: %s\n", c->index, u, what,
				   block_filename(d->blk), why && *why ? why : strerror(-r));
	}
	return r;
}

static int dread(struct ide_channel *c, int u, uint64_t off, void *buf, size_t len)
{
	return io_result(c, u, block_read(c->drive[u]->blk, off, buf, len), "reading");
}

static int dwrite(struct ide_channel *c, int u, uint64_t off, const void *buf, size_t len)
{
	return io_result(c, u, block_write(c->drive[u]->blk, off, buf, len), "writing");
}

static int dflush(struct ide_channel *c, int u)
{
	return io_result(c, u, block_flush(c->drive[u]->blk), "flushing");
}

/* Flushes after a write when the write cache is off. */
static int write_through(struct ide_channel *c, int u)
{
	return c->unit[u].wcache ? 0 : dflush(c, u);
}

/* ---- ATA PIO ---- */

/* Loads the next data-in block into the buffer and raises DRQ and INTRQ. */
static void pio_in_next(struct ide_channel *c)
{
	int u = c->xunit;
	uint32_t n = c->left < c->block ? c->left : c->block;

	if (dread(c, u, c->lba * SECTOR, c->buf, (size_t)n * SECTOR) < 0) {
		set_lba_regs(c, u, c->lba);
		cmd_error(c, u, ER_UNC);
		return;
	}
	c->lba += n;
	c->left -= n;
	c->pos = 0;
	c->len = c->drq_end = n * SECTOR;
	c->unit[u].status = ST_DRDY | ST_DSC | ST_DRQ;
	raise_irq(c);
}

/* Opens the buffer for the next data-out block (no interrupt for the first). */
static void pio_out_next(struct ide_channel *c, bool first)
{
	int u = c->xunit;
	uint32_t n = c->left < c->block ? c->left : c->block;

	c->pos = 0;
	c->len = c->drq_end = n * SECTOR;
	c->unit[u].status = ST_DRDY | ST_DSC | ST_DRQ;
	if (!first)
		raise_irq(c);
}

static void ata_pio(struct ide_channel *c, int u, bool write, bool multiple)
{
	struct ide_unit *r = &c->unit[u];

	if (multiple && r->mult == 0) {
		cmd_error(c, u, ER_ABRT);
		return;
	}
	if (write && block_read_only(c->drive[u]->blk)) {
		cmd_error(c, u, ER_ABRT);
		return;
	}
	if (!rw_setup(c, u))
		return;
	r->power = 0xff;
	c->block = multiple ? r->mult : 1;
	c->xfer = write ? X_PIO_OUT : X_PIO_IN;
	if (write)
		pio_out_next(c, true);
	else
		pio_in_next(c);
}

/* The guest consumed (data-in) or filled (data-out) the current DRQ block. */
static void pio_block_done(struct ide_channel *c)
{
	int u = c->xunit;

	if (c->xfer == X_PIO_IN) {
		if (c->left) {
			pio_in_next(c);
			return;
		}
		if (c->block)
			set_lba_regs(c, u, c->lba - 1);
		xfer_stop(c);
		c->unit[u].status = ST_DRDY | ST_DSC;	/* no interrupt after the last block */
		return;
	}
	/* X_PIO_OUT */
	uint32_t n = c->len / SECTOR;
	if (dwrite(c, u, c->lba * SECTOR, c->buf, c->len) < 0 ||
	    write_through(c, u) < 0) {
		set_lba_regs(c, u, c->lba);
		cmd_error(c, u, ER_ABRT);
		return;
	}
	c->lba += n;
	c->left -= n;
	if (c->left) {
		pio_out_next(c, false);
		return;
	}
	set_lba_regs(c, u, c->lba - 1);
	cmd_done(c, u);
}

/* ---- ATAPI ---- */

static void atapi_sense(struct ide_channel *c, int u, uint8_t key, uint8_t asc)
{
	c->unit[u].sense_key = key;
	c->unit[u].asc = asc;
	c->unit[u].ascq = 0;
}

/* Ends the packet command with CHECK CONDITION. */
static void atapi_error(struct ide_channel *c, int u, uint8_t key, uint8_t asc)
{
	atapi_sense(c, u, key, asc);
	xfer_stop(c);
	c->unit[u].status = ST_DRDY | ST_ERR;
	c->unit[u].error = (uint8_t)(key << 4);
	c->unit[u].nsector = IR_IO | IR_COD;
	raise_irq(c);
}

/* Ends the packet command with GOOD status. */
static void atapi_ok(struct ide_channel *c, int u)
{
	atapi_sense(c, u, SK_NO_SENSE, 0);
	xfer_stop(c);
	c->unit[u].status = ST_DRDY | ST_DSC;
	c->unit[u].error = 0;
	c->unit[u].nsector = IR_IO | IR_COD;
	raise_irq(c);
}

/* Refills the buffer with the next CD sectors of a READ; false after an error. */
static bool atapi_fill(struct ide_channel *c)
{
	int u = c->xunit;
	uint32_t n = c->left < IDE_BUF_SIZE / CD_SECTOR ? c->left : IDE_BUF_SIZE / CD_SECTOR;

	if (dread(c, u, c->lba * CD_SECTOR, c->buf, (size_t)n * CD_SECTOR) < 0) {
		atapi_error(c, u, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
		return false;
	}
	c->lba += n;
	c->left -= n;
	c->pos = 0;
	c->len = n * CD_SECTOR;
	return true;
}

/* The next PIO DRQ block of an ATAPI data-in, or the command's end. */
static void atapi_pio_next(struct ide_channel *c)
{
	int u = c->xunit;
	uint32_t n;

	if (c->pos == c->len && c->left && !atapi_fill(c))
		return;
	if (c->pos == c->len) {
		atapi_ok(c, u);
		return;
	}
	n = c->len - c->pos;
	if (n > c->byte_limit)
		n = c->byte_limit;
	c->drq_end = c->pos + n;
	c->unit[u].lcyl = (uint8_t)n;
	c->unit[u].hcyl = (uint8_t)(n >> 8);
	c->unit[u].nsector = IR_IO;
	c->unit[u].status = ST_DRDY | ST_DSC | ST_DRQ;
	raise_irq(c);
}

/* Starts sending the response in buf[0..len) (plus `left` sectors still on the disc). */
static void atapi_data_in(struct ide_channel *c, int u, uint32_t len)
{
	c->xunit = (uint8_t)u;
	c->pos = 0;
	c->len = len;
	if (len == 0 && c->left == 0) {
		atapi_ok(c, u);
		return;
	}
	if (c->unit[u].feature & 1) {	/* DMA */
		c->xfer = X_ATAPI_DMA;
		c->unit[u].status = ST_DRDY | ST_DSC | ST_DRQ;
		bm_run(c);
		return;
	}
	c->xfer = X_ATAPI_IN;
	atapi_pio_next(c);
}

/* A fixed reply truncated to the allocation length. */
static void atapi_reply(struct ide_channel *c, int u, uint32_t len, uint32_t alloc)
{
	c->left = 0;
	atapi_data_in(c, u, len < alloc ? len : alloc);
}

static bool atapi_medium(struct ide_channel *c, int u)
{
	if (c->drive[u]->blk)
		return true;
	atapi_error(c, u, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	return false;
}

/* LBA to MSF (75 frames a second, 2 seconds of pre-gap). */
static void lba_to_msf(uint8_t *p, uint32_t lba)
{
	lba += 150;
	p[0] = (uint8_t)(lba / (60 * 75));
	p[1] = (uint8_t)((lba / 75) % 60);
	p[2] = (uint8_t)(lba % 75);
}

static void toc_addr(uint8_t *p, uint32_t lba, bool msf)
{
	if (msf) {
		p[0] = 0;
		lba_to_msf(p + 1, lba);
	} else {
		put32(p, lba);
	}
}

static void atapi_read_toc(struct ide_channel *c, int u, const uint8_t *cdb)
{
	uint8_t *b = c->buf;
	bool msf = (cdb[1] & 2) != 0;
	unsigned format = cdb[2] & 0xf, track = cdb[6];
	uint32_t alloc = (uint32_t)cdb[7] << 8 | cdb[8], len;
	uint32_t blocks = (uint32_t)c->drive[u]->sectors;

	if (format == 0 && (cdb[9] >> 6))
		format = cdb[9] >> 6;		/* the older MMC place for the format */
	memset(b, 0, 64);
	switch (format) {
	case 0:					/* TOC */
		if (track > 1 && track != 0xaa) {
			atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			return;
		}
		b[2] = 1;
		b[3] = 1;
		len = 4;
		if (track <= 1) {
			b[len + 1] = 0x14;	/* ADR 1, data track */
			b[len + 2] = 1;
			toc_addr(b + len + 4, 0, msf);
			len += 8;
		}
		b[len + 1] = 0x14;
		b[len + 2] = 0xaa;		/* lead-out */
		toc_addr(b + len + 4, blocks, msf);
		len += 8;
		put16(b, len - 2);
		break;
	case 1:					/* session information */
		put16(b, 10);
		b[2] = 1;
		b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		toc_addr(b + 8, 0, msf);
		len = 12;
		break;
	default:
		atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	atapi_reply(c, u, len, alloc);
}

/* MODE SENSE(10): pages 01h (error recovery) and 2Ah (capabilities), or 3Fh for both. */
static void atapi_mode_sense(struct ide_channel *c, int u, const uint8_t *cdb)
{
	uint8_t *b = c->buf;
	unsigned page = cdb[2] & 0x3f, pc = cdb[2] >> 6;
	uint32_t alloc = (uint32_t)cdb[7] << 8 | cdb[8], len = 8;

	if (pc == 3) {				/* saved values: not supported */
		atapi_error(c, u, SK_ILLEGAL_REQUEST, 0x39);
		return;
	}
	if (page != 0x01 && page != 0x2a && page != 0x3f) {
		atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 64);
	b[2] = c->drive[u]->blk ? 0x01 : 0x70;	/* 120 mm data disc / door closed, no disc */
	if (page == 0x01 || page == 0x3f) {
		b[len] = 0x01;
		b[len + 1] = 0x06;
		if (pc != 1)
			b[len + 3] = 5;		/* read retry count */
		len += 8;
	}
	if (page == 0x2a || page == 0x3f) {
		uint8_t *p = b + len;
		p[0] = 0x2a;
		p[1] = 0x14;
		if (pc != 1) {
			p[2] = 0x3b;		/* reads CD-R, CD-RW, method 2, DVD-ROM */
			p[4] = 0x71;		/* audio play, composite, digital ports, multi-session */
			p[5] = 0x60;		/* CD-DA commands, accurate stream */
			/* lock, eject, tray loader; the lock state */
			p[6] = (uint8_t)(0x29 | (c->unit[u].locked ? 0x02 : 0));
			put16(p + 8, 706);	/* maximum read speed (KB/s) */
			put16(p + 10, 2);	/* volume levels */
			put16(p + 12, 512);	/* buffer (KB) */
			put16(p + 14, 706);
		}
		len += 22;
	}
	put16(b, len - 2);
	atapi_reply(c, u, len, alloc);
}

/* GET CONFIGURATION: Profile List, Core and Removable Medium features. */
static void atapi_get_config(struct ide_channel *c, int u, const uint8_t *cdb)
{
	uint8_t *b = c->buf, f[64];
	unsigned rt = cdb[1] & 3, start = (unsigned)cdb[2] << 8 | cdb[3];
	uint32_t alloc = (uint32_t)cdb[7] << 8 | cdb[8], len = 8, flen;
	bool dvd = c->drive[u]->sectors * CD_SECTOR > 700ull * 1024 * 1024;
	unsigned cur = !c->drive[u]->blk ? 0 : dvd ? 0x0010 : 0x0008;

	if (rt == 3) {
		atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 64);
	put16(b + 6, cur);
	for (unsigned feat = 0; feat <= 3; feat++) {
		if (feat == 2 || feat < start || (rt == 2 && feat != start))
			continue;
		memset(f, 0, sizeof(f));
		put16(f, feat);
		switch (feat) {
		case 0:				/* Profile List: DVD-ROM, CD-ROM */
			f[2] = 0x03;		/* persistent, current */
			f[3] = 8;
			put16(f + 4, 0x0010);
			f[6] = cur == 0x0010;
			put16(f + 8, 0x0008);
			f[10] = cur == 0x0008;
			flen = 12;
			break;
		case 1:				/* Core: ATAPI */
			f[2] = 0x0b;		/* version 2, persistent, current */
			f[3] = 8;
			put32(f + 4, 2);
			f[8] = 1;		/* DBE */
			flen = 12;
			break;
		default:			/* 3: Removable Medium */
			f[2] = 0x03;
			f[3] = 4;
			f[4] = (uint8_t)(0x29 | (c->unit[u].locked ? 0x04 : 0));	/* tray, eject, lock */
			flen = 8;
			break;
		}
		memcpy(b + len, f, flen);
		len += flen;
	}
	put32(b, len - 4);
	atapi_reply(c, u, len, alloc);
}

static void atapi_event_status(struct ide_channel *c, int u, const uint8_t *cdb)
{
	uint8_t *b = c->buf;
	uint32_t alloc = (uint32_t)cdb[7] << 8 | cdb[8], len;

	if (!(cdb[1] & 1)) {			/* only polled operation */
		atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(b, 0, 16);
	b[3] = 0x10;				/* supported: media class */
	if (cdb[4] & 0x10) {
		b[2] = 0x04;			/* media class */
		b[4] = 0;			/* no change */
		b[5] = c->drive[u]->blk ? 0x02 : 0x00;	/* media present, door closed */
		put16(b, 6);
		len = 8;
	} else {
		b[2] = 0x80;			/* no event available */
		put16(b, 2);
		len = 4;
	}
	atapi_reply(c, u, len, alloc);
}

static void atapi_read(struct ide_channel *c, int u, uint64_t lba, uint32_t n)
{
	if (!atapi_medium(c, u))
		return;
	if (lba > c->drive[u]->sectors || n > c->drive[u]->sectors - lba) {
		atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	c->lba = lba;
	c->left = n;
	atapi_data_in(c, u, 0);
}

/* Runs the CDB in buf[0..12). */
static void atapi_exec(struct ide_channel *c, int u)
{
	uint8_t cdb[12], *b = c->buf;
	struct ide_unit *r = &c->unit[u];
	uint32_t blocks = (uint32_t)c->drive[u]->sectors;

	memcpy(cdb, c->buf, 12);
	xfer_stop(c);
	c->left = 0;
	switch (cdb[0]) {
	case 0x00:				/* TEST UNIT READY */
		if (atapi_medium(c, u))
			atapi_ok(c, u);
		break;
	case 0x03:				/* REQUEST SENSE */
		memset(b, 0, 18);
		b[0] = 0x70;
		b[2] = r->sense_key;
		b[7] = 10;
		b[12] = r->asc;
		b[13] = r->ascq;
		r->sense_key = r->asc = r->ascq = 0;
		atapi_reply(c, u, 18, cdb[4]);
		break;
	case 0x12:				/* INQUIRY */
		if (cdb[1] & 1) {		/* no vital product data pages */
			atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			break;
		}
		memset(b, 0, 36);
		b[0] = 0x05;			/* CD/DVD device */
		b[1] = 0x80;			/* removable */
		b[2] = 0x00;
		b[3] = 0x21;			/* ATAPI, response data format 1 */
		b[4] = 31;
		memcpy(b + 8, "NESTEMU ", 8);
		memcpy(b + 16, "NESTEMU DVD-ROM ", 16);
		memcpy(b + 32, NESTEMU_IDE_FIRMWARE "    ", 4);
		atapi_reply(c, u, 36, cdb[4]);
		break;
	case 0x1b:				/* START STOP UNIT */
		if ((cdb[4] & 3) == 2 && r->locked)	/* eject while locked */
			atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED);
		else
			atapi_ok(c, u);	/* the tray stays closed with its disc */
		break;
	case 0x1e:				/* PREVENT ALLOW MEDIUM REMOVAL */
		r->locked = cdb[4] & 1;
		atapi_ok(c, u);
		break;
	case 0x25:				/* READ CAPACITY */
		if (!atapi_medium(c, u))
			break;
		put32(b, blocks ? blocks - 1 : 0);
		put32(b + 4, CD_SECTOR);
		atapi_reply(c, u, 8, 8);
		break;
	case 0x28:				/* READ(10) */
		atapi_read(c, u, get32(cdb + 2), (uint32_t)cdb[7] << 8 | cdb[8]);
		break;
	case 0xa8:				/* READ(12) */
		atapi_read(c, u, get32(cdb + 2), get32(cdb + 6));
		break;
	case 0x2b:				/* SEEK(10) */
		if (!atapi_medium(c, u))
			break;
		if (get32(cdb + 2) >= blocks)
			atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		else
			atapi_ok(c, u);
		break;
	case 0x43:				/* READ TOC/PMA/ATIP */
		if (atapi_medium(c, u))
			atapi_read_toc(c, u, cdb);
		break;
	case 0x46:				/* GET CONFIGURATION */
		atapi_get_config(c, u, cdb);
		break;
	case 0x4a:				/* GET EVENT STATUS NOTIFICATION */
		atapi_event_status(c, u, cdb);
		break;
	case 0x51:				/* READ DISC INFORMATION */
		if (!atapi_medium(c, u))
			break;
		if (cdb[1] & 7) {		/* only the standard disc information */
			atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			break;
		}
		memset(b, 0, 34);
		put16(b, 32);
		b[2] = 0x0e;			/* complete disc, complete last session */
		b[3] = 1;			/* first track */
		b[4] = 1;			/* sessions */
		b[5] = 1;			/* first and last track of the last session */
		b[6] = 1;
		b[7] = 0x20;			/* unrestricted use */
		b[8] = 0x00;			/* CD-DA or CD-ROM */
		memset(b + 16, 0xff, 8);	/* no lead-in/lead-out of a next session */
		atapi_reply(c, u, 34, (uint32_t)cdb[7] << 8 | cdb[8]);
		break;
	case 0x5a:				/* MODE SENSE(10) */
		atapi_mode_sense(c, u, cdb);
		break;
	case 0xbb:				/* SET CD SPEED */
		atapi_ok(c, u);
		break;
	case 0xbd:				/* MECHANISM STATUS */
		memset(b, 0, 8);
		atapi_reply(c, u, 8, (uint32_t)cdb[8] << 8 | cdb[9]);
		break;
	default:
		if (log_on(&c->ide->m->log, LOG_UNIMP))
			log_printf(&c->ide->m->log, "ide%d.%d: ATAPI command 0x%02x not supported\n",
				   c->index, u, cdb[0]);
		atapi_error(c, u, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		break;
	}
}

static void atapi_packet(struct ide_channel *c, int u)
{
	struct ide_unit *r = &c->unit[u];
	uint32_t limit = (uint32_t)r->hcyl << 8 | r->lcyl;

	if (limit == 0 || limit == 0xffff)
		limit = 0xfffe;
	c->byte_limit = limit & ~1u;
	c->xfer = X_PACKET;
	c->xunit = (uint8_t)u;
	c->pos = 0;
	c->len = c->drq_end = 12;
	r->nsector = IR_COD;
	r->status = ST_DRDY | ST_DSC | ST_DRQ;	/* DRQ without an interrupt (IDENTIFY word 0) */
}

/* ---- Bus master DMA ---- */

/* Walks the PRD table while a transfer runs. */
struct prd_walk {
	struct ide_channel *c;
	uint32_t next;			/* address of the next entry */
	uint32_t addr, left;		/* current entry: where and how much is left */
	bool eot;			/* the current entry was the last */
	int error;			/* 0, -EFAULT (outside RAM) or -ENOSPC (table too short) */
};

static bool prd_load(struct prd_walk *w)
{
	struct machine *m = w->c->ide->m;
	uint8_t *p0 = phys_ram_ptr(m, w->next, 4), *p1 = phys_ram_ptr(m, w->next + 4, 4);
	uint32_t count;

	if (p0 == NULL || p1 == NULL) {
		w->error = -EFAULT;
		return false;
	}
	w->addr = ((uint32_t)p0[0] | (uint32_t)p0[1] << 8 | (uint32_t)p0[2] << 16 |
		   (uint32_t)p0[3] << 24) & ~1u;
	count = ((uint32_t)p1[0] | (uint32_t)p1[1] << 8) & 0xfffe;
	w->left = count ? count : 0x10000;
	w->eot = (p1[3] & 0x80) != 0;
	w->next += 8;
	return true;
}

/* Moves len bytes between buf and the PRD buffers (to_mem: device -> memory). */
static bool prd_copy(struct prd_walk *w, uint8_t *buf, uint32_t len, bool to_mem)
{
	struct machine *m = w->c->ide->m;

	while (len) {
		if (w->left == 0) {
			if (w->eot) {
				w->error = -ENOSPC;
				return false;
			}
			if (!prd_load(w))
				return false;
		}
		uint32_t n = w->left < len ? w->left : len;
		uint32_t in_page = DMA_PAGE - (w->addr & (DMA_PAGE - 1));
		if (n > in_page)
			n = in_page;
		uint8_t *h = phys_ram_ptr(m, w->addr, n);
		if (h == NULL) {
			w->error = -EFAULT;
			return false;
		}
		if (to_mem) {
			memcpy(h, buf, n);
			phys_ram_written(m, w->addr, n);
		} else {
			memcpy(buf, h, n);
		}
		w->addr += n;
		w->left -= n;
		buf += n;
		len -= n;
	}
	return true;
}

static bool bm_master_enabled(const struct ide_channel *c)
{
	return (c->ide->pci.config[PCI_COMMAND] & PCI_CMD_MASTER) != 0;
}

/* Runs a pending DMA command if the bus master is started (see the top). */
static void bm_run(struct ide_channel *c)
{
	struct prd_walk w = { .c = c, .next = c->bm_prd & ~3u };
	int u = c->xunit;
	bool ok = true, io_error = false;
	uint8_t kind = c->xfer;

	if ((kind != X_DMA_IN && kind != X_DMA_OUT && kind != X_ATAPI_DMA) ||
	    !(c->bm_cmd & BM_CMD_START) || !bm_master_enabled(c))
		return;
	c->bm_status |= BM_ST_ACTIVE;
	if (kind == X_ATAPI_DMA) {
		while (ok && (c->pos < c->len || c->left)) {
			if (c->pos == c->len) {
				uint32_t n = c->left < IDE_BUF_SIZE / CD_SECTOR ? c->left
										: IDE_BUF_SIZE / CD_SECTOR;
				if (dread(c, u, c->lba * CD_SECTOR, c->buf, (size_t)n * CD_SECTOR) < 0) {
					io_error = true;
					break;
				}
				c->lba += n;
				c->left -= n;
				c->pos = 0;
				c->len = n * CD_SECTOR;
			}
			ok = prd_copy(&w, c->buf + c->pos, c->len - c->pos, true);
			c->pos = c->len;
		}
	} else {
		while (ok && c->left) {
			uint32_t n = c->left < IDE_BUF_SIZE / SECTOR ? c->left : IDE_BUF_SIZE / SECTOR;
			size_t bytes = (size_t)n * SECTOR;
			if (kind == X_DMA_IN) {
				if (dread(c, u, c->lba * SECTOR, c->buf, bytes) < 0) {
					io_error = true;
					break;
				}
				ok = prd_copy(&w, c->buf, (uint32_t)bytes, true);
			} else {
				ok = prd_copy(&w, c->buf, (uint32_t)bytes, false);
				if (ok && dwrite(c, u, c->lba * SECTOR, c->buf, bytes) < 0) {
					io_error = true;
					break;
				}
			}
			if (!ok)
				break;
			c->lba += n;
			c->left -= n;
		}
		if (ok && !io_error && kind == X_DMA_OUT && write_through(c, u) < 0)
			io_error = true;
	}
	/* Active stays set only when the PRD table is longer than the transfer. */
	if (!ok || io_error || (w.eot && w.left == 0))
		c->bm_status &= (uint8_t)~BM_ST_ACTIVE;
	if (w.error == -EFAULT)
		c->bm_status |= BM_ST_ERROR;
	if (kind == X_ATAPI_DMA) {
		if (io_error)
			atapi_error(c, u, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
		else if (!ok)
			atapi_error(c, u, SK_ILLEGAL_REQUEST, 0);	/* aborted transfer */
		else
			atapi_ok(c, u);
		return;
	}
	set_lba_regs(c, u, c->lba ? c->lba - (ok && !io_error ? 1 : 0) : 0);
	if (io_error)
		cmd_error(c, u, kind == X_DMA_IN ? ER_UNC : ER_ABRT);
	else if (!ok)
		cmd_error(c, u, ER_ABRT);
	else
		cmd_done(c, u);
}

static void ata_dma(struct ide_channel *c, int u, bool write)
{
	if (write && block_read_only(c->drive[u]->blk)) {
		cmd_error(c, u, ER_ABRT);
		return;
	}
	if (!rw_setup(c, u))
		return;
	c->xfer = write ? X_DMA_OUT : X_DMA_IN;
	c->unit[u].status = ST_DRDY | ST_DSC | ST_DRQ;
	bm_run(c);
}

/* ---- commands ---- */

static void set_features(struct ide_channel *c, int u)
{
	struct ide_unit *r = &c->unit[u];
	uint8_t v = r->nsector;

	switch (r->feature) {
	case 0x02:				/* enable write cache */
	case 0x82:				/* disable write cache */
		if (is_cd(c, u))
			break;
		if (r->feature == 0x82 && dflush(c, u) < 0) {
			cmd_error(c, u, ER_ABRT);
			return;
		}
		r->wcache = r->feature == 0x02;
		cmd_done(c, u);
		return;
	case 0x03:				/* set transfer mode */
		if (v <= 1 || (v >> 3 == 1 && (v & 7) <= 4) || (v >> 3 == 4 && (v & 7) <= 2) ||
		    (v >> 3 == 8 && (v & 7) <= 5)) {
			r->xfer_mode = v >> 3 == 1 || v <= 1 ? 0 : v;
			cmd_done(c, u);
			return;
		}
		break;
	case 0x55: case 0xaa:			/* read look-ahead off/on */
	case 0x66: case 0xcc:			/* reverting to power-on defaults off/on */
		cmd_done(c, u);
		return;
	default:
		break;
	}
	cmd_error(c, u, ER_ABRT);
}

/* EXECUTE DEVICE DIAGNOSTIC and resets: both devices report their signature. */
static void diagnose(struct ide_channel *c)
{
	xfer_stop(c);
	for (int u = 0; u < 2; u++)
		unit_reset_regs(c, u);
	/* Device 0 answers for an absent device 1; status of device 1 reads 0. */
	c->select &= (uint8_t)~0x0f;
}

static void ata_command(struct ide_channel *c, uint8_t cmd)
{
	int u = sel_unit(c);
	struct ide_unit *r = &c->unit[u];
	bool cd = is_cd(c, u);
	uint16_t id[256];

	if (cmd == 0x90) {			/* EXECUTE DEVICE DIAGNOSTIC: both devices */
		if (!present(c, 0) && !present(c, 1))
			return;
		lower_irq(c);
		diagnose(c);
		raise_irq(c);
		return;
	}
	if (!present(c, u))
		return;			/* device 0 ignores commands for an absent device 1 */
	if (r->status & ST_BSY)
		return;
	lower_irq(c);
	xfer_stop(c);
	c->cmd = cmd;
	c->xunit = (uint8_t)u;
	c->lba48 = 0;
	if (cd) {
		switch (cmd) {
		case 0x08:			/* DEVICE RESET */
			unit_reset_regs(c, u);
			return;			/* no interrupt */
		case 0xa0:			/* PACKET */
			atapi_packet(c, u);
			return;
		case 0xa1:			/* IDENTIFY PACKET DEVICE */
			identify_cd(c, u, id);
			pio_in_identify(c, u, id);
			return;
		case 0xec:			/* IDENTIFY DEVICE: abort with the signature */
			set_signature(c, u);
			cmd_error(c, u, ER_ABRT);
			return;
		case 0xef:
			set_features(c, u);
			return;
		case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe5: case 0xe6:
			break;			/* power management: below */
		default:
			if (log_on(&c->ide->m->log, LOG_UNIMP))
				log_printf(&c->ide->m->log, "ide%d.%d: ATA command 0x%02x on a CD-ROM aborted\n",
					   c->index, u, cmd);
			cmd_error(c, u, ER_ABRT);
			return;
		}
	}
	switch (cmd) {
	case 0x20: case 0x21:			/* READ SECTOR(S) */
		ata_pio(c, u, false, false);
		break;
	case 0x24:				/* READ SECTOR(S) EXT */
		c->lba48 = 1;
		ata_pio(c, u, false, false);
		break;
	case 0xc4:				/* READ MULTIPLE */
		ata_pio(c, u, false, true);
		break;
	case 0x29:				/* READ MULTIPLE EXT */
		c->lba48 = 1;
		ata_pio(c, u, false, true);
		break;
	case 0x30: case 0x31:			/* WRITE SECTOR(S) */
		ata_pio(c, u, true, false);
		break;
	case 0x34:				/* WRITE SECTOR(S) EXT */
		c->lba48 = 1;
		ata_pio(c, u, true, false);
		break;
	case 0xc5:				/* WRITE MULTIPLE */
		ata_pio(c, u, true, true);
		break;
	case 0x39:				/* WRITE MULTIPLE EXT */
		c->lba48 = 1;
		ata_pio(c, u, true, true);
		break;
	case 0xc8: case 0xc9:			/* READ DMA */
		ata_dma(c, u, false);
		break;
	case 0x25:				/* READ DMA EXT */
		c->lba48 = 1;
		ata_dma(c, u, false);
		break;
	case 0xca: case 0xcb:			/* WRITE DMA */
		ata_dma(c, u, true);
		break;
	case 0x35:				/* WRITE DMA EXT */
		c->lba48 = 1;
		ata_dma(c, u, true);
		break;
	case 0x40: case 0x41:			/* READ VERIFY SECTOR(S) */
	case 0x42:				/* READ VERIFY SECTOR(S) EXT */
		c->lba48 = cmd == 0x42;
		if (rw_setup(c, u)) {
			set_lba_regs(c, u, c->lba + c->left - 1);
			cmd_done(c, u);
		}
		break;
	case 0xe7: case 0xea:			/* FLUSH CACHE (EXT) */
		if (dflush(c, u) < 0)
			cmd_error(c, u, ER_ABRT);
		else
			cmd_done(c, u);
		break;
	case 0xc6:				/* SET MULTIPLE MODE */
		if (r->nsector > MAX_MULT || (r->nsector & (r->nsector - 1))) {
			cmd_error(c, u, ER_ABRT);
		} else {
			r->mult = r->nsector;
			cmd_done(c, u);
		}
		break;
	case 0x91:				/* INITIALIZE DEVICE PARAMETERS */
		if (r->nsector == 0) {
			cmd_error(c, u, ER_ABRT);
			break;
		}
		r->lsecs = r->nsector;
		r->lheads = (uint8_t)((c->select & 0xf) + 1);
		cmd_done(c, u);
		break;
	case 0xec:				/* IDENTIFY DEVICE */
		identify_disk(c, u, id);
		pio_in_identify(c, u, id);
		break;
	case 0xef:
		set_features(c, u);
		break;
	case 0x70:				/* SEEK */
	case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
	case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
		cmd_done(c, u);			/* RECALIBRATE (obsolete) */
		break;
	case 0xe0: case 0x94:			/* STANDBY IMMEDIATE */
	case 0xe2: case 0x96:			/* STANDBY */
	case 0xe6: case 0x99:			/* SLEEP: treated as standby */
		r->power = 0x00;
		cmd_done(c, u);
		break;
	case 0xe1: case 0x95:			/* IDLE IMMEDIATE */
	case 0xe3: case 0x97:			/* IDLE */
		r->power = 0xff;
		cmd_done(c, u);
		break;
	case 0xe5: case 0x98:			/* CHECK POWER MODE */
		cmd_done(c, u);
		r->nsector = r->power;
		break;
	default:	/* NOP, DEVICE RESET and IDENTIFY PACKET DEVICE on a disk (probes), the rest */
		if (cmd != 0x00 && cmd != 0xa1 && log_on(&c->ide->m->log, LOG_UNIMP))
			log_printf(&c->ide->m->log, "ide%d.%d: ATA command 0x%02x not supported\n",
				   c->index, u, cmd);
		cmd_error(c, u, ER_ABRT);
		break;
	}
}

/* ---- register access ---- */

static uint32_t data_read(struct ide_channel *c, unsigned size)
{
	uint32_t v = 0;

	if ((c->xfer != X_PIO_IN && c->xfer != X_ATAPI_IN) || sel_unit(c) != c->xunit)
		return 0;
	for (unsigned k = 0; k < size && c->pos < c->drq_end; k++)
		v |= (uint32_t)c->buf[c->pos++] << (8 * k);
	if (c->pos >= c->drq_end) {
		if (c->xfer == X_ATAPI_IN)
			atapi_pio_next(c);
		else
			pio_block_done(c);
	}
	return v;
}

static void data_write(struct ide_channel *c, uint32_t v, unsigned size)
{
	if ((c->xfer != X_PIO_OUT && c->xfer != X_PACKET) || sel_unit(c) != c->xunit)
		return;
	for (unsigned k = 0; k < size && c->pos < c->drq_end; k++)
		c->buf[c->pos++] = (uint8_t)(v >> (8 * k));
	if (c->pos >= c->drq_end) {
		if (c->xfer == X_PACKET) {
			c->unit[c->xunit].status = ST_DRDY | ST_DSC;
			atapi_exec(c, c->xunit);
		} else {
			pio_block_done(c);
		}
	}
}

static uint8_t status_of(const struct ide_channel *c)
{
	int u = sel_unit(c);

	if (!present(c, u))
		return 0;
	return c->unit[u].status;
}

static uint32_t cmd_read(void *opaque, uint16_t port, unsigned size)
{
	struct ide_channel *c = opaque;
	unsigned reg = port - c->base;
	const struct ide_unit *r = &c->unit[sel_unit(c)];
	bool hob = (c->devctl & DC_HOB) != 0;

	if (reg == 0)
		return data_read(c, size);
	if (!present(c, 0) && !present(c, 1))
		return 0;
	switch (reg) {
	case 1:
		return present(c, sel_unit(c)) ? (hob ? r->hob_feature : r->error) : 0;
	case 2:
		return hob ? r->hob_nsector : r->nsector;
	case 3:
		return hob ? r->hob_sector : r->sector;
	case 4:
		return hob ? r->hob_lcyl : r->lcyl;
	case 5:
		return hob ? r->hob_hcyl : r->hcyl;
	case 6:
		return c->select;
	default:				/* 7: status; reading it acknowledges INTRQ */
		lower_irq(c);
		return status_of(c);
	}
}

static void cmd_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct ide_channel *c = opaque;
	unsigned reg = port - c->base;
	uint8_t v = (uint8_t)value;

	if (reg == 0) {
		data_write(c, value, size);
		return;
	}
	if (reg != 7)
		c->devctl &= (uint8_t)~DC_HOB;	/* a register write clears HOB */
	for (int u = 0; u < 2; u++) {
		struct ide_unit *r = &c->unit[u];
		switch (reg) {
		case 1: r->hob_feature = r->feature; r->feature = v; break;
		case 2: r->hob_nsector = r->nsector; r->nsector = v; break;
		case 3: r->hob_sector = r->sector; r->sector = v; break;
		case 4: r->hob_lcyl = r->lcyl; r->lcyl = v; break;
		case 5: r->hob_hcyl = r->hcyl; r->hcyl = v; break;
		default: break;
		}
	}
	if (reg == 6)
		c->select = v;
	else if (reg == 7)
		ata_command(c, v);
}

static uint32_t ctl_read(void *opaque, uint16_t port, unsigned size)
{
	struct ide_channel *c = opaque;

	if (!present(c, 0) && !present(c, 1))
		return 0;
	return status_of(c);			/* alternate status: INTRQ stays */
}

static void ctl_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct ide_channel *c = opaque;
	uint8_t v = (uint8_t)value, old = c->devctl;

	c->devctl = v;
	if (!(old & DC_SRST) && (v & DC_SRST)) {
		/* Reset asserted: both devices busy, any command abandoned. */
		xfer_stop(c);
		for (int u = 0; u < 2; u++)
			if (present(c, u))
				c->unit[u].status = ST_BSY | ST_DSC;
		c->irq_pending = 0;
	} else if ((old & DC_SRST) && !(v & DC_SRST)) {
		diagnose(c);
		c->select &= (uint8_t)~DEV_DEV;
	}
	irq_update(c);
}

/* BAR4: channel n's registers at 8n: command (0), status (2), PRD pointer (4-7). */
static uint32_t bm_read(void *opaque, uint16_t port, unsigned size)
{
	struct ide *s = opaque;
	unsigned off = (port - (unsigned)s->pci.bars[4].addr) & 0xf;
	struct ide_channel *c = &s->ch[off >> 3];
	uint32_t v = 0;

	for (unsigned k = 0; k < size; k++) {
		unsigned o = (off + k) & 7;
		uint8_t b;
		switch (o) {
		case 0: b = c->bm_cmd; break;
		case 2: b = c->bm_status; break;
		case 4: case 5: case 6: case 7: b = (uint8_t)(c->bm_prd >> (8 * (o - 4))); break;
		default: b = 0; break;
		}
		v |= (uint32_t)b << (8 * k);
	}
	return v;
}

static void bm_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct ide *s = opaque;
	unsigned off = (port - (unsigned)s->pci.bars[4].addr) & 0xf;
	struct ide_channel *c = &s->ch[off >> 3];

	for (unsigned k = 0; k < size; k++) {
		unsigned o = (off + k) & 7;
		uint8_t b = (uint8_t)(value >> (8 * k));
		switch (o) {
		case 0:
			if (!(b & BM_CMD_START))
				c->bm_status &= (uint8_t)~BM_ST_ACTIVE;	/* stop */
			else if (!(c->bm_cmd & BM_CMD_START))
				c->bm_status |= BM_ST_ACTIVE;
			c->bm_cmd = b & (BM_CMD_START | BM_CMD_READ);
			bm_run(c);
			break;
		case 2:
			c->bm_status = (uint8_t)((c->bm_status & ~(BM_ST_CAP | (b & (BM_ST_ERROR | BM_ST_INT)))) |
						 (b & BM_ST_CAP));
			break;
		case 4: case 5: case 6: case 7: {
			unsigned sh = 8 * (o - 4);
			c->bm_prd = (c->bm_prd & ~(0xffu << sh)) | ((uint32_t)b << sh);
			c->bm_prd &= ~3u;
			break;
		}
		default:
			break;
		}
	}
}

/* PCI command writes may enable bus mastering for a waiting DMA command. */
static void pci_written(struct pci_device *d, unsigned off, unsigned size)
{
	struct ide *s = d->opaque;

	if (off <= PCI_COMMAND && off + size > PCI_COMMAND)
		for (int k = 0; k < 2; k++)
			bm_run(&s->ch[k]);
}

/* ---- saved state ---- */

#define UNIT_FIELDS(n)									\
	STATE_FIELD(struct ide_channel, unit[n].feature, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].nsector, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].sector, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].lcyl, SF_HEX),				\
	STATE_FIELD(struct ide_channel, unit[n].hcyl, SF_HEX),				\
	STATE_FIELD(struct ide_channel, unit[n].hob_feature, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].hob_nsector, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].hob_sector, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].hob_lcyl, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].hob_hcyl, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].status, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].error, SF_HEX),				\
	STATE_FIELD(struct ide_channel, unit[n].mult, SF_DEC),				\
	STATE_FIELD(struct ide_channel, unit[n].lheads, SF_DEC),			\
	STATE_FIELD(struct ide_channel, unit[n].lsecs, SF_DEC),				\
	STATE_FIELD(struct ide_channel, unit[n].wcache, SF_BOOL),			\
	STATE_FIELD(struct ide_channel, unit[n].xfer_mode, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].power, SF_HEX),				\
	STATE_FIELD(struct ide_channel, unit[n].sense_key, SF_HEX),			\
	STATE_FIELD(struct ide_channel, unit[n].asc, SF_HEX),				\
	STATE_FIELD(struct ide_channel, unit[n].ascq, SF_HEX),				\
	STATE_FIELD(struct ide_channel, unit[n].locked, SF_BOOL)

/* The fields; the data buffer is the section's blob. */
static const struct state_field channel_fields[] = {
	UNIT_FIELDS(0),
	UNIT_FIELDS(1),
	STATE_FIELD(struct ide_channel, select, SF_HEX),
	STATE_FIELD(struct ide_channel, devctl, SF_HEX),
	STATE_FIELD(struct ide_channel, irq_pending, SF_BOOL),
	STATE_FIELD(struct ide_channel, xfer, SF_DEC),
	STATE_FIELD(struct ide_channel, xunit, SF_DEC),
	STATE_FIELD(struct ide_channel, cmd, SF_HEX),
	STATE_FIELD(struct ide_channel, lba48, SF_BOOL),
	STATE_FIELD(struct ide_channel, lba, SF_HEX),
	STATE_FIELD(struct ide_channel, left, SF_DEC),
	STATE_FIELD(struct ide_channel, block, SF_DEC),
	STATE_FIELD(struct ide_channel, pos, SF_DEC),
	STATE_FIELD(struct ide_channel, len, SF_DEC),
	STATE_FIELD(struct ide_channel, drq_end, SF_DEC),
	STATE_FIELD(struct ide_channel, byte_limit, SF_DEC),
	STATE_FIELD(struct ide_channel, bm_cmd, SF_HEX),
	STATE_FIELD(struct ide_channel, bm_status, SF_HEX),
	STATE_FIELD(struct ide_channel, bm_prd, SF_HEX),
	STATE_END,
};

static void *channel_blob(void *base, size_t *len)
{
	struct ide_channel *c = base;

	*len = sizeof(c->buf);
	return c->buf;
}

static void channel_post_load(void *base)
{
	struct ide_channel *c = base;

	if (c->pos > IDE_BUF_SIZE || c->len > IDE_BUF_SIZE || c->drq_end > IDE_BUF_SIZE ||
	    c->xunit > 1 || c->xfer > X_ATAPI_DMA)
		xfer_stop(c);
	irq_update(c);
}

/* ---- creation ---- */

/* Default CHS: 16 heads, 63 sectors, at most 16383 cylinders (ATA-6 annex). */
static void default_geometry(struct ide_drive *d)
{
	uint64_t cyl = d->sectors / (16 * 63);

	d->heads = 16;
	d->secs = 63;
	if (cyl == 0) {
		d->heads = 1;
		d->secs = d->sectors < 63 ? (unsigned)d->sectors : 63;
		cyl = d->secs ? d->sectors / d->secs : 0;
	}
	d->cyls = (unsigned)(cyl > 16383 ? 16383 : cyl);
}

void ide_reset(struct ide *s)
{
	memset(s->pci.config + 0x40, 0, 0x10);	/* IDETIM, SIDETIM */
	/* IDETIM bit 15 (IDE decode enable) reads set on both channels, as the
	 * ports are always decoded; Linux's ata_piix skips a port without it,
	 * and nothing but firmware would set it before a direct kernel boot. */
	s->pci.config[0x41] = 0x80;
	s->pci.config[0x43] = 0x80;
	for (int k = 0; k < 2; k++)
		channel_reset(&s->ch[k]);
}

static void release(struct ide *s)
{
	struct machine *m = s->m;

	for (int k = 0; k < 2; k++) {
		if (s->io_claimed[k])
			(void)machine_remove_io(m, chan_base[k], 8);
		if (s->ctl_claimed[k])
			(void)machine_remove_io(m, chan_ctl[k], 1);
		s->io_claimed[k] = s->ctl_claimed[k] = false;
	}
	for (int i = 0; i < IDE_DRIVES; i++) {
		if (s->drives[i].blk)
			block_close(s->drives[i].blk);
		s->drives[i].blk = NULL;
	}
}

struct ide *ide_create(struct machine *m, struct pci_bus *bus, const struct ide_config *cfg,
		       char *err, size_t errlen)
{
	struct ide *s = calloc(1, sizeof(*s));
	struct pci_device *d;
	int r;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory creating the IDE controller");
		for (int i = 0; i < IDE_DRIVES; i++)
			if (cfg->drive[i].blk)
				block_close(cfg->drive[i].blk);
		return NULL;
	}
	s->m = m;
	for (int i = 0; i < IDE_DRIVES; i++) {
		struct ide_drive *dr = &s->drives[i];
		dr->media = cfg->drive[i].media;
		dr->blk = cfg->drive[i].blk;
		snprintf(dr->serial, sizeof(dr->serial), "NE%08d", i + 1);
		if (dr->blk)
			dr->sectors = block_size(dr->blk) /
				      (dr->media == IDE_MEDIA_CDROM ? CD_SECTOR : SECTOR);
		if (dr->media == IDE_MEDIA_DISK)
			default_geometry(dr);
	}
	for (int k = 0; k < 2; k++) {
		struct ide_channel *c = &s->ch[k];
		c->ide = s;
		c->index = k;
		c->irq = cfg->irq[k];
		c->base = chan_base[k];
		c->ctl = chan_ctl[k];
		c->drive[0] = &s->drives[2 * k];
		c->drive[1] = &s->drives[2 * k + 1];
		r = machine_add_io(m, c->base, 8, cmd_read, cmd_write, c, k ? "ide1" : "ide0");
		s->io_claimed[k] = r == 0;
		if (r == 0) {
			r = machine_add_io(m, c->ctl, 1, ctl_read, ctl_write, c,
					   k ? "ide1-ctl" : "ide0-ctl");
			s->ctl_claimed[k] = r == 0;
		}
		if (r < 0) {
			snprintf(err, errlen, "cannot claim the ports of IDE channel %d (0x%x, 0x%x): %s",
				 k, c->base, c->ctl, strerror(-r));
			goto fail;
		}
		r = machine_register_state(m, &(struct state_section){
			.name = k ? "ide1" : "ide0", .version = 1, .fields = channel_fields,
			.base = c, .blob = channel_blob, .post_load = channel_post_load });
		if (r < 0) {
			snprintf(err, errlen, "cannot register the IDE state: %s", strerror(-r));
			goto fail;
		}
	}

	d = &s->pci;
	d->name = "piix3-ide";
	d->opaque = s;
	d->config_written = pci_written;
	d->config[PCI_VENDOR_ID] = 0x86;
	d->config[PCI_VENDOR_ID + 1] = 0x80;
	d->config[PCI_DEVICE_ID] = 0x10;
	d->config[PCI_DEVICE_ID + 1] = 0x70;
	d->config[PCI_CLASS_PROG] = 0x80;	/* compatibility mode, bus master */
	d->config[PCI_CLASS_DEVICE] = 0x01;	/* IDE */
	d->config[PCI_CLASS_DEVICE + 1] = 0x01;	/* mass storage */
	d->config[PCI_STATUS + 1] = 0x02;	/* medium DEVSEL */
	d->config[PCI_STATUS] = 0x80;		/* fast back-to-back */
	memset(d->wmask + 0x40, 0xff, 0x10);	/* IDETIM, SIDETIM */
	pci_set_bar(d, 4, &(struct pci_bar){ .kind = PCI_BAR_IO, .size = 16, .io_read = bm_read,
					     .io_write = bm_write, .opaque = s,
					     .name = "piix-ide-bmdma" });
	r = pci_add_device(bus, d, PCI_DEVFN_IDE);
	if (r < 0) {
		snprintf(err, errlen, "cannot add the IDE controller at PCI 00:01.1: %s", strerror(-r));
		goto fail;
	}
	ide_reset(s);
	return s;
fail:
	release(s);
	free(s);
	return NULL;
}

void ide_destroy(struct ide *s)
{
	if (s == NULL)
		return;
	release(s);
	free(s);
}

enum ide_media ide_drive_media(const struct ide *s, int index)
{
	return index >= 0 && index < IDE_DRIVES ? s->drives[index].media : IDE_MEDIA_NONE;
}

void ide_drive_geometry(const struct ide *s, int index, unsigned *cyls, unsigned *heads,
			unsigned *secs)
{
	const struct ide_drive *d = &s->drives[index];

	*cyls = d->cyls;
	*heads = d->heads;
	*secs = d->secs;
}

void ide_info(const struct ide *s, FILE *out)
{
	static const char *const pos[IDE_DRIVES] = { "primary master", "primary slave",
						     "secondary master", "secondary slave" };
	int n = 0;

	for (int i = 0; s && i < IDE_DRIVES; i++) {
		const struct ide_drive *d = &s->drives[i];
		const char *chain;
		uint64_t bytes;

		if (d->media == IDE_MEDIA_NONE)
			continue;
		n++;
		fprintf(out, "ide%d.%d (%s): %s", i / 2, i % 2, pos[i],
			d->media == IDE_MEDIA_CDROM ? "cdrom" : "disk");
		if (d->blk == NULL) {
			fprintf(out, ", no medium\n");
			continue;
		}
		bytes = block_size(d->blk);
		chain = block_backing_chain(d->blk);
		fprintf(out, ", file=%s, format=%s, size=%llu (%.1f MiB), read-only=%s, backing=%s\n",
			block_filename(d->blk), block_format(d->blk), (unsigned long long)bytes,
			(double)bytes / (1024.0 * 1024.0), block_read_only(d->blk) ? "yes" : "no",
			chain && *chain ? chain : "none");
	}
	if (n == 0)
		fprintf(out, "no block devices\n");
}
