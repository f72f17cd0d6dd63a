/*
 * vga.h - the standard VGA with the Bochs VBE ("dispi") extensions, as
 * QEMU's PCI std-vga (1234:1111) that Debian's vgabios-stdvga.bin drives.
 *
 * Guest side: the legacy VGA ports 0x3B0-0x3DF, the 0xA0000-0xBFFFF
 * memory window, the dispi ports 0x1CE/0x1CF, and a PCI function with
 * BAR0 the linear framebuffer (all of VRAM, prefetchable), BAR2 a 4 KiB
 * MMIO block (VGA ports 0x3C0-0x3DF at 0x400, dispi registers at 0x500 as
 * 16-bit words) and the expansion ROM holding the VGA BIOS, which SeaBIOS
 * copies to 0xC0000 and runs.
 *
 * Host side: vga_draw renders the current picture (text, CGA,
 * planar and packed graphics, VBE linear modes) into 0x00RRGGBB pixels
 * on demand; nothing is drawn while nobody asks.
 */
#ifndef NESTEMU_DEV_VGA_H
#define NESTEMU_DEV_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct machine;
struct pci_bus;
struct vga;

/* Where Debian's seabios package puts the VGA BIOS for this card. */
#define VGA_BIOS_DEFAULT "/usr/share/seabios/vgabios-stdvga.bin"
#define VGA_VRAM_SIZE (16u << 20)
#define VGA_PCI_SLOT 2			/* 00:02.0, as on QEMU's pc machine */

/* Bochs dispi interface (ports 0x1CE index, 0x1CF data). */
#define VBE_INDEX_ID 0x0
#define VBE_INDEX_XRES 0x1
#define VBE_INDEX_YRES 0x2
#define VBE_INDEX_BPP 0x3
#define VBE_INDEX_ENABLE 0x4
#define VBE_INDEX_BANK 0x5
#define VBE_INDEX_VIRT_WIDTH 0x6
#define VBE_INDEX_VIRT_HEIGHT 0x7
#define VBE_INDEX_X_OFFSET 0x8
#define VBE_INDEX_Y_OFFSET 0x9
#define VBE_INDEX_VIDEO_MEMORY_64K 0xa
#define VBE_NREGS 10			/* ID .. Y_OFFSET are stored */
#define VBE_ID0 0xb0c0
#define VBE_ID5 0xb0c5
#define VBE_ENABLED 0x01
#define VBE_GETCAPS 0x02
#define VBE_8BIT_DAC 0x20
#define VBE_LFB_ENABLED 0x40
#define VBE_NOCLEARMEM 0x80
#define VBE_MAX_XRES 2560
#define VBE_MAX_YRES 1600
#define VBE_MAX_BPP 32

struct vga_config {
	const char *bios;	/* VGA BIOS image for the ROM BAR, or NULL for none */
	/* Direct boots (no firmware): a VGA BIOS image whose 8x16 font the
	 * card loads at every reset, leaving itself in text mode 3 as a boot
	 * loader would; NULL leaves the registers at zero. A file without a
	 * recognisable font is ignored (the card stays unprogrammed). */
	const char *text_font;
};

/*
 * Creates the card: claims the ports and the legacy window, and, when pci
 * is not NULL, adds the PCI function at 00:02.0. NULL with one sentence in
 * err on failure (the BIOS image missing is a failure: the caller decides
 * whether to retry without it).
 */
struct vga *vga_create(struct machine *m, struct pci_bus *pci, const struct vga_config *cfg,
		       char *err, size_t errlen);
void vga_destroy(struct vga *v);
void vga_reset(struct vga *v);

/* A drawn picture: width * height pixels 0x00RRGGBB, rows packed. */
struct vga_image {
	const uint32_t *pixels;
	int width, height;
};

/*
 * Renders the picture as the monitor would show it now into the card's
 * own buffer (valid until the next call). Returns true when it may
 * differ from the previous call's (VRAM or registers written, blink
 * phase changed) or when force is set; false leaves *img describing the
 * unchanged previous picture. A forced draw (screendump, monitor) does
 * not consume the change, so the display still sees it.
 */
bool vga_draw(struct vga *v, struct vga_image *img, bool force);

/* True when the card shows text mode 3's 80x25 cells now (boot loaders
 * tell the kernel so: Linux's screen_info). */
bool vga_text_80x25(struct vga *v);

/* The current mode in a few lines, then in text modes the screen's
 * characters, each row as '|' + its printable ASCII (monitor "info vga"). */
void vga_describe(struct vga *v, FILE *out);

/* Direct register access for tests and the monitor (port I/O as the CPU does it). */
uint32_t vga_port_read(struct vga *v, uint16_t port, unsigned size);
void vga_port_write(struct vga *v, uint16_t port, uint32_t value, unsigned size);
/* The VRAM (VGA_VRAM_SIZE bytes; planes interleaved: byte 4 * offset + plane),
 * for writing (the next reset then clears all of it) or only for reading. */
uint8_t *vga_vram(struct vga *v);
const uint8_t *vga_vram_ro(const struct vga *v);

#endif
