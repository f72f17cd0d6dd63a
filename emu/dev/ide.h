/*
 * ide.h - the PIIX3 IDE controller (PCI 00:01.1, 8086:7010): two ATA
 * channels in compatibility mode, each with a master and a slave that is
 * an ATA hard disk or an ATAPI CD-ROM, and Bus Master IDE DMA in BAR4.
 *
 *   channel 0 (primary):   0x1F0-0x1F7, 0x3F6, ISA IRQ 14
 *   channel 1 (secondary): 0x170-0x177, 0x376, ISA IRQ 15
 *
 * Drives are numbered 2 * channel + unit (QEMU's -drive index): 0 is the
 * primary master (-hda), 1 the primary slave, 2 the secondary master
 * (-hdc, -cdrom), 3 the secondary slave. The controller owns the block
 * back ends it is given and closes them in ide_destroy.
 */
#ifndef NESTEMU_DEV_IDE_H
#define NESTEMU_DEV_IDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/irq.h"

struct block_backend;
struct machine;
struct pci_bus;
struct ide;

#define IDE_DRIVES 4

enum ide_media { IDE_MEDIA_NONE, IDE_MEDIA_DISK, IDE_MEDIA_CDROM };

struct ide_drive_config {
	enum ide_media media;		/* IDE_MEDIA_NONE: no device at this position */
	struct block_backend *blk;	/* the image; NULL for a CD-ROM drive without a disc */
};

struct ide_config {
	struct irq irq[2];		/* channel interrupts (ISA IRQ 14 and 15 on the PC) */
	struct ide_drive_config drive[IDE_DRIVES];
};

/*
 * Adds function 00:01.1 to bus, claims the legacy ports and registers the
 * "ide0"/"ide1" state sections. Takes ownership of the drives' back ends
 * (also on failure). NULL with one sentence in err.
 */
struct ide *ide_create(struct machine *m, struct pci_bus *bus, const struct ide_config *cfg,
		       char *err, size_t errlen);
void ide_destroy(struct ide *s);
/* Power-on / hardware reset: both channels, every drive, the PIIX timing registers. */
void ide_reset(struct ide *s);

/* The media of drive index 0..3 (IDE_MEDIA_NONE when empty). */
enum ide_media ide_drive_media(const struct ide *s, int index);
/* CHS geometry the drive reports in IDENTIFY words 1, 3 and 6 (disks only). */
void ide_drive_geometry(const struct ide *s, int index, unsigned *cyls, unsigned *heads,
			unsigned *secs);

/* `info block`: one line per drive (bus/unit, media, file, format, size, read-only, backing). */
void ide_info(const struct ide *s, FILE *out);

#endif
