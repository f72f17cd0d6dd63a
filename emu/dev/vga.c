/*
 * vga.c - standard VGA + Bochs VBE (dispi) + QEMU's PCI std-vga function.
 *
 * VRAM (VGA_VRAM_SIZE bytes) holds the four planes interleaved: byte
 * 4 * off + p is plane p at offset off, so the three CPU views of the
 * legacy window agree with one framebuffer layout:
 *   chain-4 (SR04 bit 3): CPU address a is VRAM byte a (plane a & 3);
 *   odd/even (SR04 bit 2 clear for writes, GR05 bit 4 for reads): a
 *     reaches offset a >> 1 of the planes whose parity is a & 1 (reads:
 *     plane (GR04 & 2) | (a & 1));
 *   planar: offset a of all four planes, through the latches and the
 *     graphics controller's write modes 0-3 and read modes 0-1 (IBM VGA
 *     Technical Reference, "Graphics Controller Registers").
 * The CRTC is read the same way: a text cell n is offset n (character in
 * plane 0, attribute in plane 1, glyph rows in plane 2 at the character
 * map SR03 selects), a 16-colour pixel row is 4 planes at CR13 * 2
 * offsets per line, a 256-colour line is CR13 * 8 VRAM bytes, and the
 * start address CR0C/CR0D counts offsets. This ignores the CRTC's
 * byte/word/doubleword address rotations (they only matter to programs
 * that mix the CPU views of one area), as QEMU does.
 *
 * BAR2 (QEMU's std-vga MMIO): 0x400-0x41F are ports 0x3C0-0x3DF, 0x500
 * + 2 * i dispi register i (16-bit), 0x600 the extension block's size
 * and 0x604 the framebuffer byte order (0x1e1e1e1e, little-endian; it
 * cannot be switched); there is no EDID at 0x000.
 *
 * Bochs VBE: ENABLE with XRES/YRES/BPP in 8/15/16/24/32 bits per pixel
 * (4 is planar) makes VRAM a linear framebuffer of VIRT_WIDTH pixels per
 * line starting at (X_OFFSET, Y_OFFSET), reachable through BAR0 and, 64
 * KiB at a time (BANK), through 0xA0000. GETCAPS makes XRES/YRES/BPP read
 * their maxima; 8BIT_DAC widens the DAC to 8 bits per component;
 * NOCLEARMEM keeps VRAM at enable; VIDEO_MEMORY_64K reads the VRAM size.
 *
 * Drawing is on demand (vga_draw): a write to VRAM or to any register
 * marks the picture dirty; text blinking (cursor every 16 frames,
 * characters every 32, at 60 Hz of guest time) redraws when its phase
 * changes. Pictures have the mode's logical size (text cells of 8 or 9
 * dots, graphics rows after CR09's scan doubling, CGA's two banks with
 * CR17 bit 0 clear); graphics modes honour the split screen (line
 * compare) and horizontal pel panning. The legacy window and ports are
 * decoded whatever the PCI command register says, as on a VGA-compatible
 * card.
 *
 * Reset zeroes the registers (the VGA BIOS programs a mode), except on a
 * direct kernel boot, where it programs text mode 3 with the 8x16 font
 * taken from the VGA BIOS image (vga_config.text_font), as a boot loader
 * leaves the card. It clears only the VRAM written since (vram_used).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "machine.h"
#include "state.h"
#include "dev/pci.h"
#include "dev/vga.h"

#define VGA_WINDOW 0xa0000ull
#define VGA_WINDOW_SIZE 0x20000ull
#define VBE_BANK_SIZE 0x10000u
#define MMIO_BAR_SIZE 0x1000u
#define MMIO_VGA_PORTS 0x400u		/* 0x3C0-0x3DF */
#define MMIO_DISPI 0x500u		/* dispi register i at 0x500 + 2 * i */
#define MMIO_QEXT 0x600u		/* QEMU extension registers: size, byte order */
#define MMIO_QEXT_SIZE 8u
#define BLINK_NS (1000000000ull * 16 / 60)	/* cursor phase: 16 frames */

/* Register indices used by name. */
#define SR_CLOCK 0x01
#define SR_MAP_MASK 0x02
#define SR_CHARMAP 0x03
#define SR_MEMMODE 0x04
#define GR_SET_RESET 0x00
#define GR_ENABLE_SR 0x01
#define GR_COMPARE 0x02
#define GR_ROTATE 0x03
#define GR_READ_MAP 0x04
#define GR_MODE 0x05
#define GR_MISC 0x06
#define GR_DONT_CARE 0x07
#define GR_BIT_MASK 0x08
#define AR_MODE 0x10
#define AR_PLANE_ENABLE 0x12
#define AR_COLOR_SELECT 0x14
#define AR_PAS 0x20			/* attribute index bit 5: palette address source */

/* Writable bits of the sequencer and graphics controller registers. */
static const uint8_t sr_mask[8] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0, 0, 0 };
static const uint8_t gr_mask[16] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff };

struct vga {
	struct machine *m;
	struct pci_device pci;
	bool pci_added;
	uint8_t *vram;
	uint8_t *rom;			/* expansion ROM image (power-of-two size), or NULL */
	uint32_t rom_size;
	uint8_t *font;			/* 8x16 font for the text-mode preset, or NULL */
	uint32_t vram_used;		/* VRAM bytes past this are zero (reset clears only these) */

	/* Saved registers (vga_fields). */
	uint8_t misc;			/* miscellaneous output (0x3C2 / 0x3CC) */
	uint8_t fcr;			/* feature control */
	uint8_t st01;			/* input status 1: retrace bits toggle on each read */
	uint8_t sr_index, sr[8];
	uint8_t gr_index, gr[16];
	uint8_t cr_index, cr[32];
	uint8_t ar_index, ar[32];
	bool ar_flip;			/* 0x3C0: false = next write is the index */
	uint8_t dac_read, dac_write, dac_sub, dac_state, dac_mask;
	uint8_t dac_latch[3];
	uint8_t palette[768];
	uint32_t latch;			/* the four plane latches, plane p in bits 8p+7..8p */
	uint16_t vbe_index;
	uint16_t vbe[VBE_NREGS];
	uint32_t vbe_start;		/* derived: first byte shown in VBE modes */
	uint32_t vbe_line;		/* derived: bytes per VBE line */

	/* Drawing (not saved). */
	bool dirty;
	uint64_t blink_phase;		/* guest time / BLINK_NS at the last draw */
	uint32_t *fb;
	size_t fb_cap;
	int fb_w, fb_h;
};

static const struct state_field vga_fields[] = {
	STATE_FIELD(struct vga, misc, SF_HEX), STATE_FIELD(struct vga, fcr, SF_HEX),
	STATE_FIELD(struct vga, st01, SF_HEX),
	STATE_FIELD(struct vga, sr_index, SF_HEX), STATE_ARRAY(struct vga, sr, SF_HEX),
	STATE_FIELD(struct vga, gr_index, SF_HEX), STATE_ARRAY(struct vga, gr, SF_HEX),
	STATE_FIELD(struct vga, cr_index, SF_HEX), STATE_ARRAY(struct vga, cr, SF_HEX),
	STATE_FIELD(struct vga, ar_index, SF_HEX), STATE_ARRAY(struct vga, ar, SF_HEX),
	STATE_FIELD(struct vga, ar_flip, SF_BOOL),
	STATE_FIELD(struct vga, dac_read, SF_HEX), STATE_FIELD(struct vga, dac_write, SF_HEX),
	STATE_FIELD(struct vga, dac_sub, SF_DEC), STATE_FIELD(struct vga, dac_state, SF_HEX),
	STATE_FIELD(struct vga, dac_mask, SF_HEX), STATE_ARRAY(struct vga, dac_latch, SF_HEX),
	STATE_ARRAY(struct vga, palette, SF_HEX), STATE_FIELD(struct vga, latch, SF_HEX),
	STATE_FIELD(struct vga, vbe_index, SF_HEX), STATE_ARRAY(struct vga, vbe, SF_HEX),
	STATE_FIELD(struct vga, vbe_start, SF_HEX), STATE_FIELD(struct vga, vbe_line, SF_DEC),
	STATE_END,
};

/* Notes that VRAM bytes below end may be nonzero now. */
static inline void vram_touched(struct vga *v, uint32_t end)
{
	if (end > v->vram_used)
		v->vram_used = end;
}

uint8_t *vga_vram(struct vga *v)
{
	vram_touched(v, VGA_VRAM_SIZE);	/* the caller may write anywhere */
	return v->vram;
}

const uint8_t *vga_vram_ro(const struct vga *v)
{
	return v->vram;
}

/* Each bit b of a 4-bit value becomes byte b of the result (0x00 or 0xFF). */
static uint32_t expand4(unsigned bits)
{
	uint32_t r = 0;
	for (int p = 0; p < 4; p++)
		if (bits & (1u << p))
			r |= 0xffu << (8 * p);
	return r;
}

static bool vbe_on(const struct vga *v)
{
	return (v->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED) != 0;
}

/* ---- VBE geometry ---- */

static unsigned vbe_bytes(unsigned bpp)
{
	return bpp == 15 ? 2 : (bpp + 7) / 8;
}

/* Recomputes the line length and start from VIRT_WIDTH and the offsets. */
static void vbe_geometry(struct vga *v)
{
	unsigned bpp = v->vbe[VBE_INDEX_BPP], vw = v->vbe[VBE_INDEX_VIRT_WIDTH];
	uint32_t line;
	uint64_t start;

	if (vw < v->vbe[VBE_INDEX_XRES])
		vw = v->vbe[VBE_INDEX_VIRT_WIDTH] = v->vbe[VBE_INDEX_XRES];
	line = bpp == 4 ? vw / 2 : vw * vbe_bytes(bpp);
	if (line == 0)
		line = 1;
	v->vbe_line = line;
	v->vbe[VBE_INDEX_VIRT_HEIGHT] = (uint16_t)(VGA_VRAM_SIZE / line > 0xffff ? 0xffff : VGA_VRAM_SIZE / line);
	start = (uint64_t)v->vbe[VBE_INDEX_Y_OFFSET] * line +
		(bpp == 4 ? v->vbe[VBE_INDEX_X_OFFSET] / 2u : v->vbe[VBE_INDEX_X_OFFSET] * vbe_bytes(bpp));
	v->vbe_start = (uint32_t)(start % VGA_VRAM_SIZE);
}

/* The legacy registers a VBE mode implies (graphics, 64 KiB window at 0xA0000). */
static void vbe_legacy_regs(struct vga *v)
{
	unsigned bpp = v->vbe[VBE_INDEX_BPP];

	v->gr[GR_MISC] = (uint8_t)((v->gr[GR_MISC] & ~0x0c) | 0x05);
	v->cr[0x17] |= 3;
	v->ar[AR_MODE] |= 1;
	if (bpp == 4) {
		v->sr[SR_MEMMODE] &= (uint8_t)~0x08;
		v->gr[GR_MODE] &= (uint8_t)~0x60;
	} else {
		v->sr[SR_MEMMODE] |= 0x08;
		v->gr[GR_MODE] = (uint8_t)((v->gr[GR_MODE] & ~0x60) | 0x40);
	}
}

static uint16_t vbe_read(struct vga *v, unsigned idx)
{
	bool caps = (v->vbe[VBE_INDEX_ENABLE] & VBE_GETCAPS) != 0;

	switch (idx) {
	case VBE_INDEX_XRES:
		return caps ? VBE_MAX_XRES : v->vbe[idx];
	case VBE_INDEX_YRES:
		return caps ? VBE_MAX_YRES : v->vbe[idx];
	case VBE_INDEX_BPP:
		return caps ? VBE_MAX_BPP : v->vbe[idx];
	case VBE_INDEX_VIDEO_MEMORY_64K:
		return (uint16_t)(VGA_VRAM_SIZE >> 16);
	default:
		return idx < VBE_NREGS ? v->vbe[idx] : 0;
	}
}

static void vbe_write(struct vga *v, unsigned idx, uint16_t val)
{
	v->dirty = true;
	switch (idx) {
	case VBE_INDEX_ID:
		if (val >= VBE_ID0 && val <= VBE_ID5)
			v->vbe[idx] = val;
		break;
	case VBE_INDEX_XRES:
		if (val >= 8 && val <= VBE_MAX_XRES && (val & 7) == 0)
			v->vbe[idx] = val;
		break;
	case VBE_INDEX_YRES:
		if (val >= 1 && val <= VBE_MAX_YRES)
			v->vbe[idx] = val;
		break;
	case VBE_INDEX_BPP:
		if (val == 0)
			val = 8;
		if (val == 4 || val == 8 || val == 15 || val == 16 || val == 24 || val == 32)
			v->vbe[idx] = val;
		break;
	case VBE_INDEX_ENABLE: {
		uint16_t old = v->vbe[idx];
		val &= VBE_ENABLED | VBE_GETCAPS | VBE_8BIT_DAC | VBE_LFB_ENABLED | VBE_NOCLEARMEM;
		v->vbe[idx] = val;
		if ((val & VBE_ENABLED) && !(old & VBE_ENABLED)) {
			v->vbe[VBE_INDEX_VIRT_WIDTH] = v->vbe[VBE_INDEX_XRES];
			v->vbe[VBE_INDEX_X_OFFSET] = v->vbe[VBE_INDEX_Y_OFFSET] = 0;
			v->vbe[VBE_INDEX_BANK] = 0;
			vbe_geometry(v);
			if (!(val & VBE_NOCLEARMEM)) {
				uint64_t n = (uint64_t)v->vbe_line * v->vbe[VBE_INDEX_YRES];
				memset(v->vram, 0, n > VGA_VRAM_SIZE ? VGA_VRAM_SIZE : n);
			}
			vbe_legacy_regs(v);
		}
		break;
	}
	case VBE_INDEX_BANK:
		v->vbe[idx] = (uint16_t)(val % (VGA_VRAM_SIZE / VBE_BANK_SIZE));
		break;
	case VBE_INDEX_VIRT_WIDTH:
	case VBE_INDEX_X_OFFSET:
	case VBE_INDEX_Y_OFFSET:
		v->vbe[idx] = val;
		vbe_geometry(v);
		break;
	default:	/* VIRT_HEIGHT and VIDEO_MEMORY_64K are computed */
		break;
	}
	if (idx >= VBE_INDEX_XRES && idx <= VBE_INDEX_BPP && vbe_on(v))
		vbe_geometry(v);
}

/* ---- legacy ports ---- */

/* Ports of the CRTC block not selected by misc bit 0 (mono 0x3Bx / colour 0x3Dx). */
static bool port_ignored(const struct vga *v, uint16_t port)
{
	if (port >= 0x3b0 && port <= 0x3bf)
		return (v->misc & 1) != 0;
	if (port >= 0x3d0 && port <= 0x3df)
		return (v->misc & 1) == 0;
	return false;
}

static uint8_t ioport_readb(struct vga *v, uint16_t port)
{
	uint8_t r;

	if (port_ignored(v, port))
		return 0xff;
	switch (port) {
	case 0x3c0:
		return v->ar_index;
	case 0x3c1:
		return v->ar[v->ar_index & 0x1f];
	case 0x3c2:
		return 0;			/* input status 0 */
	case 0x3c4:
		return v->sr_index;
	case 0x3c5:
		return v->sr[v->sr_index & 7];
	case 0x3c6:
		return v->dac_mask;
	case 0x3c7:
		return v->dac_state;
	case 0x3c8:
		return v->dac_write;
	case 0x3c9:
		r = v->palette[v->dac_read * 3 + v->dac_sub];
		if (++v->dac_sub == 3) {
			v->dac_sub = 0;
			v->dac_read++;
		}
		return r;
	case 0x3ca:
		return v->fcr;
	case 0x3cc:
		return v->misc;
	case 0x3ce:
		return v->gr_index;
	case 0x3cf:
		return v->gr[v->gr_index & 15];
	case 0x3b4:
	case 0x3d4:
		return v->cr_index;
	case 0x3b5:
	case 0x3d5:
		return v->cr_index < 0x19 ? v->cr[v->cr_index] : 0xff;
	case 0x3ba:
	case 0x3da:
		/* Reading input status 1 resets the attribute flip-flop to "index";
		 * display enable (bit 0) and vertical retrace (bit 3) alternate so
		 * loops waiting for either edge finish. */
		v->ar_flip = false;
		v->st01 ^= 0x09;
		return v->st01;
	default:
		return 0xff;
	}
}

static void ioport_writeb(struct vga *v, uint16_t port, uint8_t val)
{
	unsigned i;

	if (port_ignored(v, port))
		return;
	v->dirty = true;
	switch (port) {
	case 0x3c0:
		if (!v->ar_flip) {
			v->ar_index = val & 0x3f;
		} else {
			i = v->ar_index & 0x1f;
			if (i < 0x10)
				v->ar[i] = val & 0x3f;
			else if (i == AR_MODE)
				v->ar[i] = val & ~0x10;
			else if (i == 0x11)
				v->ar[i] = val;
			else if (i == AR_PLANE_ENABLE)
				v->ar[i] = val & 0x3f;
			else if (i == 0x13 || i == AR_COLOR_SELECT)
				v->ar[i] = val & 0x0f;
		}
		v->ar_flip = !v->ar_flip;
		break;
	case 0x3c2:
		v->misc = val;
		break;
	case 0x3c4:
		v->sr_index = val & 7;
		break;
	case 0x3c5:
		v->sr[v->sr_index & 7] = val & sr_mask[v->sr_index & 7];
		break;
	case 0x3c6:
		v->dac_mask = val;
		break;
	case 0x3c7:
		v->dac_read = val;
		v->dac_sub = 0;
		v->dac_state = 3;
		break;
	case 0x3c8:
		v->dac_write = val;
		v->dac_sub = 0;
		v->dac_state = 0;
		break;
	case 0x3c9:
		v->dac_latch[v->dac_sub++] = (v->vbe[VBE_INDEX_ENABLE] & VBE_8BIT_DAC) ? val : val & 0x3f;
		if (v->dac_sub == 3) {
			memcpy(&v->palette[v->dac_write * 3], v->dac_latch, 3);
			v->dac_write++;
			v->dac_sub = 0;
		}
		break;
	case 0x3ce:
		v->gr_index = val & 15;
		break;
	case 0x3cf:
		v->gr[v->gr_index & 15] = val & gr_mask[v->gr_index & 15];
		break;
	case 0x3b4:
	case 0x3d4:
		v->cr_index = val & 0x1f;
		break;
	case 0x3b5:
	case 0x3d5:
		i = v->cr_index;
		if (i >= 0x19)
			break;
		/* CR11 bit 7 write-protects CR00-CR07, except CR07 bit 4. */
		if (i <= 7 && (v->cr[0x11] & 0x80)) {
			if (i == 7)
				v->cr[7] = (uint8_t)((v->cr[7] & ~0x10) | (val & 0x10));
			break;
		}
		v->cr[i] = val;
		break;
	case 0x3ba:
	case 0x3da:
		v->fcr = val & 0x10;
		break;
	default:
		break;
	}
}

uint32_t vga_port_read(struct vga *v, uint16_t port, unsigned size)
{
	uint32_t r = 0;

	if (port == 0x1ce || port == 0x1cf) {
		if (port == 0x1ce)
			return v->vbe_index;
		return vbe_read(v, v->vbe_index);
	}
	for (unsigned k = 0; k < size; k++)
		r |= (uint32_t)ioport_readb(v, (uint16_t)(port + k)) << (8 * k);
	return r;
}

void vga_port_write(struct vga *v, uint16_t port, uint32_t value, unsigned size)
{
	if (port == 0x1ce || port == 0x1cf) {
		if (size == 1)	/* byte writes replace the low byte */
			value = (value & 0xff) |
				((port == 0x1ce ? v->vbe_index : vbe_read(v, v->vbe_index)) & 0xff00u);
		if (port == 0x1ce)
			v->vbe_index = (uint16_t)value;
		else
			vbe_write(v, v->vbe_index, (uint16_t)value);
		return;
	}
	for (unsigned k = 0; k < size; k++)
		ioport_writeb(v, (uint16_t)(port + k), (uint8_t)(value >> (8 * k)));
}

static uint32_t io_read(void *opaque, uint16_t port, unsigned size)
{
	return vga_port_read(opaque, port, size);
}

static void io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	vga_port_write(opaque, port, value, size);
}

/* ---- the legacy memory window ---- */

/* Maps a window offset (from 0xA0000) to the GR06 memory map; false outside it. */
static bool window_offset(const struct vga *v, uint32_t *addr)
{
	static const uint32_t base[4] = { 0, 0, 0x10000, 0x18000 };
	static const uint32_t size[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
	unsigned map = (v->gr[GR_MISC] >> 2) & 3;

	if (*addr < base[map] || *addr >= base[map] + size[map])
		return false;
	*addr -= base[map];
	return true;
}

static uint8_t mem_readb(struct vga *v, uint32_t addr)
{
	uint32_t l;
	unsigned plane;

	if (vbe_on(v) && v->vbe[VBE_INDEX_BPP] != 4) {
		if (addr >= VBE_BANK_SIZE)
			return 0xff;
		return v->vram[(v->vbe[VBE_INDEX_BANK] * VBE_BANK_SIZE + addr) % VGA_VRAM_SIZE];
	}
	if (!window_offset(v, &addr))
		return 0xff;
	if (v->sr[SR_MEMMODE] & 0x08)
		return v->vram[addr];
	if (v->gr[GR_MODE] & 0x10) {
		plane = (v->gr[GR_READ_MAP] & 2) | (addr & 1);
		return v->vram[(addr >> 1) * 4 + plane];
	}
	if (vbe_on(v))
		addr += v->vbe[VBE_INDEX_BANK] * VBE_BANK_SIZE;
	addr %= VGA_VRAM_SIZE / 4;
	memcpy(&l, &v->vram[addr * 4], 4);
	v->latch = l;
	if (!(v->gr[GR_MODE] & 0x08))
		return (uint8_t)(l >> (8 * (v->gr[GR_READ_MAP] & 3)));
	/* Read mode 1: bit set where every plane not "don't care" matches the colour compare. */
	l = (l ^ expand4(v->gr[GR_COMPARE])) & expand4(v->gr[GR_DONT_CARE]);
	l |= l >> 16;
	l |= l >> 8;
	return (uint8_t)~l;
}

static void mem_writeb(struct vga *v, uint32_t addr, uint8_t val)
{
	uint8_t mask = v->sr[SR_MAP_MASK];
	uint32_t data, bitmask, old, pm;
	unsigned rot, mode;

	if (vbe_on(v) && v->vbe[VBE_INDEX_BPP] != 4) {
		if (addr < VBE_BANK_SIZE) {
			uint32_t off = (v->vbe[VBE_INDEX_BANK] * VBE_BANK_SIZE + addr) % VGA_VRAM_SIZE;
			v->vram[off] = val;
			vram_touched(v, off + 1);
			v->dirty = true;
		}
		return;
	}
	if (!window_offset(v, &addr))
		return;
	v->dirty = true;
	if (v->sr[SR_MEMMODE] & 0x08) {
		if (mask & (1u << (addr & 3))) {
			v->vram[addr] = val;
			vram_touched(v, addr + 1);
		}
		return;
	}
	if (!(v->sr[SR_MEMMODE] & 0x04)) {
		for (unsigned p = addr & 1; p < 4; p += 2)
			if (mask & (1u << p))
				v->vram[(addr >> 1) * 4 + p] = val;
		vram_touched(v, (addr >> 1) * 4 + 4);
		return;
	}
	if (vbe_on(v))
		addr += v->vbe[VBE_INDEX_BANK] * VBE_BANK_SIZE;
	addr %= VGA_VRAM_SIZE / 4;
	rot = v->gr[GR_ROTATE] & 7;
	mode = v->gr[GR_MODE] & 3;
	bitmask = v->gr[GR_BIT_MASK];
	switch (mode) {
	case 0:
		val = (uint8_t)((val >> rot) | (val << (8 - rot)));
		data = val * 0x01010101u;
		data = (data & ~expand4(v->gr[GR_ENABLE_SR])) |
		       (expand4(v->gr[GR_SET_RESET]) & expand4(v->gr[GR_ENABLE_SR]));
		break;
	case 1:
		data = v->latch;
		bitmask = 0;	/* the latches go out unchanged */
		break;
	case 2:
		data = expand4(val & 0x0f);
		break;
	default:
		val = (uint8_t)((val >> rot) | (val << (8 - rot)));
		bitmask &= val;
		data = expand4(v->gr[GR_SET_RESET]);
		break;
	}
	if (mode != 1) {
		switch ((v->gr[GR_ROTATE] >> 3) & 3) {
		case 1: data &= v->latch; break;
		case 2: data |= v->latch; break;
		case 3: data ^= v->latch; break;
		default: break;
		}
		bitmask *= 0x01010101u;
		data = (data & bitmask) | (v->latch & ~bitmask);
	}
	pm = expand4(mask);
	memcpy(&old, &v->vram[addr * 4], 4);
	old = (old & ~pm) | (data & pm);
	memcpy(&v->vram[addr * 4], &old, 4);
	vram_touched(v, addr * 4 + 4);
}

static uint64_t window_read(void *opaque, uint64_t offset, unsigned size)
{
	uint64_t r = 0;
	for (unsigned k = 0; k < size; k++)
		r |= (uint64_t)mem_readb(opaque, (uint32_t)(offset + k)) << (8 * k);
	return r;
}

static void window_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	for (unsigned k = 0; k < size; k++)
		mem_writeb(opaque, (uint32_t)(offset + k), (uint8_t)(value >> (8 * k)));
}

/* ---- PCI BARs ---- */

static uint64_t lfb_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga *v = opaque;
	uint64_t r = 0;

	if (offset + size <= VGA_VRAM_SIZE)
		memcpy(&r, &v->vram[offset], size);
	return r;
}

static void lfb_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga *v = opaque;

	if (offset + size <= VGA_VRAM_SIZE) {
		memcpy(&v->vram[offset], &value, size);
		vram_touched(v, (uint32_t)(offset + size));
		v->dirty = true;
	}
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga *v = opaque;

	if (offset >= MMIO_VGA_PORTS && offset + size <= MMIO_VGA_PORTS + 0x20)
		return vga_port_read(v, (uint16_t)(0x3c0 + offset - MMIO_VGA_PORTS), size);
	if (offset >= MMIO_DISPI && offset < MMIO_DISPI + 2 * 0x0b && !(offset & 1) && size == 2)
		return vbe_read(v, (unsigned)(offset - MMIO_DISPI) / 2);
	/* QEMU's extension block: its size, and the framebuffer byte order (little-endian). */
	if (offset == MMIO_QEXT && size == 4)
		return MMIO_QEXT_SIZE;
	if (offset == MMIO_QEXT + 4 && size == 4)
		return 0x1e1e1e1e;
	return 0;	/* no EDID at 0x000-0x3FF */
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga *v = opaque;

	if (offset >= MMIO_VGA_PORTS && offset + size <= MMIO_VGA_PORTS + 0x20)
		vga_port_write(v, (uint16_t)(0x3c0 + offset - MMIO_VGA_PORTS), (uint32_t)value, size);
	else if (offset >= MMIO_DISPI && offset < MMIO_DISPI + 2 * 0x0b && !(offset & 1) && size == 2)
		vbe_write(v, (unsigned)(offset - MMIO_DISPI) / 2, (uint16_t)value);
}

static uint64_t rom_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vga *v = opaque;
	uint64_t r = 0;

	if (offset + size <= v->rom_size)
		memcpy(&r, &v->rom[offset], size);
	return r;
}

static void pci_setup(struct vga *v)
{
	struct pci_device *d = &v->pci;

	memset(d->config, 0, sizeof(d->config));
	d->config[PCI_VENDOR_ID] = 0x34;
	d->config[PCI_VENDOR_ID + 1] = 0x12;
	d->config[PCI_DEVICE_ID] = 0x11;
	d->config[PCI_DEVICE_ID + 1] = 0x11;
	d->config[PCI_REVISION] = 2;
	d->config[PCI_CLASS_DEVICE] = 0x00;	/* VGA-compatible controller 0300 */
	d->config[PCI_CLASS_DEVICE + 1] = 0x03;
	d->name = "vga";
	d->opaque = v;
	pci_set_bar(d, 0, &(struct pci_bar){ .kind = PCI_BAR_MEM32, .size = VGA_VRAM_SIZE,
					     .prefetch = true, .mmio_read = lfb_read,
					     .mmio_write = lfb_write, .opaque = v, .name = "vga-lfb" });
	pci_set_bar(d, 2, &(struct pci_bar){ .kind = PCI_BAR_MEM32, .size = MMIO_BAR_SIZE,
					     .mmio_read = mmio_read, .mmio_write = mmio_write,
					     .opaque = v, .name = "vga-mmio" });
	if (v->rom)
		pci_set_bar(d, PCI_ROM_SLOT, &(struct pci_bar){ .kind = PCI_BAR_MEM32,
				.size = v->rom_size, .mmio_read = rom_read, .opaque = v,
				.name = "vga-rom" });
}

/* ---- reset, creation ---- */

/*
 * Text mode 3 as the VGA BIOS sets it (IBM VGA Technical Reference, the
 * mode 3+ parameter table): 80x25 cells of 9x16 dots, colour CRTC at
 * 0x3Dx, text at 0xB8000 in odd/even mode, the EGA palette in the DAC,
 * the font in plane 2 (map 0), the screen blank (light grey spaces).
 */
static void text_preset(struct vga *v)
{
	static const uint8_t sr[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
	static const uint8_t cr[0x19] = { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00,
					  0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
					  0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff };
	static const uint8_t gr[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff };
	static const uint8_t ar[0x15] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38,
					  0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00,
					  0x0f, 0x08, 0x00 };

	v->misc = 0x67;
	memcpy(v->sr, sr, sizeof(sr));
	memcpy(v->cr, cr, sizeof(cr));
	memcpy(v->gr, gr, sizeof(gr));
	memcpy(v->ar, ar, sizeof(ar));
	v->ar_index = AR_PAS;
	for (unsigned i = 0; i < 64; i++) {	/* EGA colours: bits rgbRGB */
		v->palette[i * 3] = (uint8_t)(((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
		v->palette[i * 3 + 1] = (uint8_t)(((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
		v->palette[i * 3 + 2] = (uint8_t)((i & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
	}
	for (unsigned ch = 0; ch < 256; ch++)
		for (unsigned l = 0; l < 16; l++)
			v->vram[(ch * 32 + l) * 4 + 2] = v->font[ch * 16 + l];
	for (unsigned n = 0; n < 0x4000; n++) {
		v->vram[n * 4] = ' ';
		v->vram[n * 4 + 1] = 0x07;
	}
	vram_touched(v, 0x4000 * 4);
}

/*
 * Finds the 8x16 font in a VGA BIOS image: 256 glyphs of 16 bytes where
 * 'A' has the IBM shape, glyph 0 is empty and 0xDB is a full block.
 */
static const uint8_t *find_font(const uint8_t *img, size_t len)
{
	static const uint8_t glyph_a[16] = { 0, 0, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
					     0xc6, 0xc6, 0xc6, 0xc6, 0, 0, 0, 0 };
	static const uint8_t zero[16], full[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	for (size_t a = 0x41 * 16; a + (256 - 0x41) * 16 <= len; a++) {
		const uint8_t *base = img + a - 0x41 * 16;
		if (!memcmp(img + a, glyph_a, 16) && !memcmp(base, zero, 16) &&
		    !memcmp(base + 0xdb * 16, full, 16))
			return base;
	}
	return NULL;
}

void vga_reset(struct vga *v)
{
	v->misc = v->fcr = v->st01 = 0;
	v->sr_index = v->gr_index = v->cr_index = v->ar_index = 0;
	memset(v->sr, 0, sizeof(v->sr));
	memset(v->gr, 0, sizeof(v->gr));
	memset(v->cr, 0, sizeof(v->cr));
	memset(v->ar, 0, sizeof(v->ar));
	v->ar_flip = false;
	v->dac_read = v->dac_write = v->dac_sub = v->dac_state = 0;
	v->dac_mask = 0xff;
	memset(v->dac_latch, 0, sizeof(v->dac_latch));
	memset(v->palette, 0, sizeof(v->palette));
	v->latch = 0;
	v->vbe_index = 0;
	memset(v->vbe, 0, sizeof(v->vbe));
	v->vbe[VBE_INDEX_ID] = VBE_ID5;
	v->vbe[VBE_INDEX_XRES] = 640;
	v->vbe[VBE_INDEX_YRES] = 480;
	v->vbe[VBE_INDEX_BPP] = 8;
	vbe_geometry(v);
	memset(v->vram, 0, v->vram_used);
	v->vram_used = 0;
	if (v->font)
		text_preset(v);
	v->dirty = true;
}

/* Reads a VGA BIOS image into a zero-padded buffer of a power-of-two size. */
static uint8_t *load_image(const char *path, uint32_t *size_out, size_t *len_out, char *err,
			   size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;
	uint32_t size = 2048;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open the VGA BIOS '%s': %s (install Debian's seabios package)",
			 path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) <= 0 || len > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		snprintf(err, errlen, "the VGA BIOS '%s' is empty or larger than 1 MiB", path);
		return NULL;
	}
	while (size < (uint32_t)len)
		size <<= 1;
	buf = calloc(1, size);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		snprintf(err, errlen, "cannot read the VGA BIOS '%s'", path);
		return NULL;
	}
	fclose(f);
	*size_out = size;
	*len_out = (size_t)len;
	return buf;
}

static int load_font(struct vga *v, const char *path, char *err, size_t errlen)
{
	uint32_t size;
	size_t len;
	uint8_t *img = load_image(path, &size, &len, err, errlen);
	const uint8_t *font;

	if (img == NULL)
		return -1;
	font = find_font(img, len);
	if (font && (v->font = malloc(256 * 16)) != NULL)
		memcpy(v->font, font, 256 * 16);
	free(img);
	return 0;
}

static void *vram_blob(void *base, size_t *len)
{
	struct vga *v = base;
	*len = VGA_VRAM_SIZE;
	return v->vram;
}

static void vga_post_load(void *base)
{
	struct vga *v = base;
	vbe_geometry(v);
	v->vram_used = VGA_VRAM_SIZE;
	v->dirty = true;
}

struct vga *vga_create(struct machine *m, struct pci_bus *pci, const struct vga_config *cfg,
		       char *err, size_t errlen)
{
	struct vga *v = calloc(1, sizeof(*v));
	int r;

	if (v == NULL || (v->vram = calloc(1, VGA_VRAM_SIZE)) == NULL) {
		free(v);
		snprintf(err, errlen, "out of memory creating the VGA card");
		return NULL;
	}
	v->m = m;
	if (cfg && cfg->bios) {
		size_t len;
		v->rom = load_image(cfg->bios, &v->rom_size, &len, err, errlen);
		if (v->rom == NULL)
			goto fail;
	}
	if (cfg && cfg->text_font && load_font(v, cfg->text_font, err, errlen) < 0)
		goto fail;
	vga_reset(v);
	r = machine_add_io(m, 0x3b0, 0x30, io_read, io_write, v, "vga");
	if (r == 0) {
		r = machine_add_io(m, 0x1ce, 2, io_read, io_write, v, "vbe-dispi");
		if (r < 0)
			(void)machine_remove_io(m, 0x3b0, 0x30);
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot claim the VGA ports 0x3B0-0x3DF and 0x1CE-0x1CF: %s",
			 strerror(-r));
		goto fail;
	}
	r = memmap_add_mmio(&m->mem, VGA_WINDOW, VGA_WINDOW_SIZE, window_read, window_write, v,
			    "vga-window", 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot map the VGA window at 0xA0000: %s", strerror(-r));
		goto fail_io;
	}
	if (pci) {
		pci_setup(v);
		r = pci_add_device(pci, &v->pci, PCI_DEVFN(VGA_PCI_SLOT, 0));
		if (r < 0) {
			snprintf(err, errlen, "cannot add the VGA card at PCI 00:%02x.0: %s", VGA_PCI_SLOT,
				 strerror(-r));
			goto fail_mem;
		}
		v->pci_added = true;
	}
	if (machine_register_state(m, &(struct state_section){
		    .name = "vga", .version = 1, .fields = vga_fields, .base = v,
		    .blob = vram_blob, .post_load = vga_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the VGA state");
		goto fail_mem;
	}
	return v;
fail_mem:
	(void)memmap_remove(&m->mem, VGA_WINDOW, VGA_WINDOW_SIZE);
fail_io:
	(void)machine_remove_io(m, 0x3b0, 0x30);
	(void)machine_remove_io(m, 0x1ce, 2);
fail:
	free(v->font);
	free(v->rom);
	free(v->vram);
	free(v);
	return NULL;
}

void vga_destroy(struct vga *v)
{
	if (v == NULL)
		return;
	free(v->fb);
	free(v->font);
	free(v->rom);
	free(v->vram);
	free(v);
}

/* ---- drawing ---- */

/* The DAC's colour for index i as 0x00RRGGBB. */
static uint32_t dac_rgb(const struct vga *v, unsigned i)
{
	const uint8_t *p = &v->palette[(i & 0xff) * 3];
	uint32_t c = 0;

	for (int k = 0; k < 3; k++) {
		unsigned x = p[k];
		if (!(v->vbe[VBE_INDEX_ENABLE] & VBE_8BIT_DAC))
			x = ((x & 0x3f) << 2) | ((x & 0x3f) >> 4);
		c = (c << 8) | (x & 0xff);
	}
	return c;
}

/* A 4-bit attribute through the attribute controller's palette to the DAC. */
static uint32_t attr_rgb(const struct vga *v, unsigned a)
{
	unsigned p = v->ar[a & v->ar[AR_PLANE_ENABLE] & 0x0f];

	if (v->ar[AR_MODE] & 0x80)
		p = (p & 0x0f) | ((v->ar[AR_COLOR_SELECT] & 3u) << 4);
	p |= (v->ar[AR_COLOR_SELECT] & 0x0cu) << 4;
	return dac_rgb(v, p & v->dac_mask);
}

static bool fb_size(struct vga *v, int w, int h)
{
	size_t n = (size_t)w * (size_t)h;

	if (n > v->fb_cap) {
		uint32_t *p = realloc(v->fb, n * sizeof(*p));
		if (p == NULL)
			return false;
		v->fb = p;
		v->fb_cap = n;
	}
	v->fb_w = w;
	v->fb_h = h;
	return true;
}

/* Display lines: vertical display end (CR12 with CR07 bits 1 and 6) + 1. */
static int vdisp(const struct vga *v)
{
	return (v->cr[0x12] | ((v->cr[7] & 0x02) << 7) | ((v->cr[7] & 0x40) << 3)) + 1;
}

static unsigned vram_start(const struct vga *v)
{
	return ((unsigned)v->cr[0x0c] << 8) | v->cr[0x0d];
}

/* Offset of character map n (0-7) in plane 2: 0, 16K, 32K, 48K, then 8K higher. */
static uint32_t charmap_base(unsigned n)
{
	return (n & 3) * 0x4000u + ((n & 4) ? 0x2000u : 0);
}

static void draw_text(struct vga *v, bool blink_on, bool cursor_on)
{
	int cols = v->cr[1] + 1, cw = (v->sr[SR_CLOCK] & 1) ? 8 : 9;
	int ch_h = (v->cr[9] & 0x1f) + 1, scan = (v->cr[9] & 0x80) ? 2 : 1;
	int rows = vdisp(v) / (ch_h * scan);
	unsigned pitch = v->cr[0x13] * 2u, start = vram_start(v);
	unsigned cursor = ((unsigned)v->cr[0x0e] << 8) | v->cr[0x0f];
	unsigned cs = v->cr[0x0a] & 0x1f, ce = v->cr[0x0b] & 0x1f;
	bool cursor_shown = cursor_on && !(v->cr[0x0a] & 0x20);
	uint8_t sr3 = v->sr[SR_CHARMAP];
	uint32_t map_a = charmap_base(((sr3 >> 2) & 3) | ((sr3 >> 3) & 4));
	uint32_t map_b = charmap_base((sr3 & 3) | ((sr3 >> 2) & 4));
	uint32_t pal[16];

	if (rows < 1)
		rows = 1;
	if (!fb_size(v, cols * cw, rows * ch_h))
		return;
	for (int i = 0; i < 16; i++)
		pal[i] = attr_rgb(v, (unsigned)i);
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			unsigned cell = (start + (unsigned)r * pitch + (unsigned)c) & 0xffff;
			uint8_t ch = v->vram[cell * 4], at = v->vram[cell * 4 + 1];
			unsigned fg = at & 0x0f, bg = at >> 4;
			uint32_t glyph = ((at & 8) ? map_a : map_b) + ch * 32u;
			bool ninth = cw == 9 && (v->ar[AR_MODE] & 0x04) && ch >= 0xc0 && ch <= 0xdf;

			if (v->ar[AR_MODE] & 0x08) {
				bool blink = bg & 8;
				bg &= 7;
				if (blink && !blink_on)
					fg = bg;
			}
			for (int l = 0; l < ch_h; l++) {
				uint8_t bits = v->vram[((glyph + (unsigned)l) & 0xffff) * 4 + 2];
				uint32_t *px = &v->fb[(size_t)(r * ch_h + l) * (size_t)v->fb_w + (size_t)(c * cw)];

				if (cursor_shown && cell == (cursor & 0xffff) && (unsigned)l >= cs &&
				    (unsigned)l <= ce)
					bits = 0xff;
				for (int x = 0; x < 8; x++)
					px[x] = pal[(bits & (0x80 >> x)) ? fg : bg];
				if (cw == 9)
					px[8] = pal[(ninth && (bits & 1)) ? fg : bg];
			}
		}
	}
}

/*
 * CGA compatibility (CR17 bit 0 clear): the row scan counter's bit 0
 * replaces address bit 13 of the CPU view, so the two scan lines of each
 * character row come from the two 8 KiB banks of modes 4-6. Bank: that
 * distance in plane offsets times the caller's unit, or 0.
 */
static uint32_t cga_bank(const struct vga *v, uint32_t unit)
{
	/* CPU offset 0x2000: plane offset 0x1000 when the CPU writes odd/even. */
	uint32_t planes = (v->sr[SR_MEMMODE] & 0x04) ? 0x2000u : 0x1000u;
	return (!(v->cr[0x17] & 1) && (v->cr[9] & 0x1f) >= 1) ? planes * unit : 0;
}

/*
 * How the CRTC walks memory for a graphics picture: the first line's
 * offset, the offset step per line and the CGA bank distance (in the
 * drawing's units), the first picture row of the split screen (line
 * compare: from there the address restarts at 0) and the horizontal pel
 * panning (AR13) in pixels.
 */
struct scan {
	uint32_t start, pitch, bank;
	int split;
	unsigned pan;
};

static uint32_t row_start(const struct scan *sc, int y)
{
	uint32_t start = sc->start;

	if (y >= sc->split) {
		start = 0;
		y -= sc->split;
	}
	if (sc->bank == 0)
		return start + (uint32_t)y * sc->pitch;
	return start + (uint32_t)(y >> 1) * sc->pitch + (uint32_t)(y & 1) * sc->bank;
}

/* Rows of the legacy graphics modes: each memory line shows for CR09's
 * scan lines (two distinct ones with CGA banks). */
static int graphics_height(const struct vga *v)
{
	int per = ((v->cr[9] & 0x1f) + 1) * ((v->cr[9] & 0x80) ? 2 : 1);
	int h = vdisp(v) / per * (cga_bank(v, 1) ? 2 : 1);
	return h < 1 ? 1 : h;
}

/*
 * The picture row where the split screen starts: the line compare value
 * (CR18, bit 8 in CR07 bit 4, bit 9 in CR09 bit 6) counts display lines;
 * the address restarts at 0 on the line after it, rounded to the picture
 * row holding that line. INT_MAX when it lies below the display.
 */
static int split_row(const struct vga *v)
{
	int lc = v->cr[0x18] | ((v->cr[7] & 0x10) << 4) | ((v->cr[9] & 0x40) << 3);
	int per = vdisp(v) / graphics_height(v);

	if (lc + 1 >= vdisp(v) || per < 1)
		return INT_MAX;
	return (lc + per) / per;
}

/* CGA 4-colour modes 4/5 (GR05 bit 5): 2 bits per pixel, leftmost in the
 * high bits, bytes alternating between planes 0 and 1 (odd/even). */
static void draw_cga(struct vga *v, int w, int h, const struct scan *sc)
{
	uint32_t pal[4];

	if (!fb_size(v, w, h))
		return;
	for (int i = 0; i < 4; i++)
		pal[i] = attr_rgb(v, (unsigned)i);
	for (int y = 0; y < h; y++) {
		uint32_t *px = &v->fb[(size_t)y * (size_t)w];
		uint32_t line = row_start(sc, y);
		for (int x = 0; x < w; x++) {
			uint32_t o = (uint32_t)x / 4;
			uint8_t b = v->vram[((line + o / 2) % (VGA_VRAM_SIZE / 4)) * 4 + (o & 1)];
			px[x] = pal[(b >> (6 - 2 * (x & 3))) & 3];
		}
	}
}

static void draw_planar(struct vga *v, int w, int h, const struct scan *sc)
{
	uint32_t pal[16];

	if (!fb_size(v, w, h))
		return;
	for (int i = 0; i < 16; i++)
		pal[i] = attr_rgb(v, (unsigned)i);
	for (int y = 0; y < h; y++) {
		uint32_t *px = &v->fb[(size_t)y * (size_t)w];
		uint32_t line = row_start(sc, y);
		for (int x = 0; x < w; x++) {
			uint32_t xp = (uint32_t)x + sc->pan;
			uint32_t off = ((line + xp / 8) % (VGA_VRAM_SIZE / 4)) * 4;
			unsigned bit = 7 - (xp & 7), c = 0;
			for (unsigned p = 0; p < 4; p++)
				c |= ((v->vram[off + p] >> bit) & 1u) << p;
			px[x] = pal[c];
		}
	}
}

static void draw_packed8(struct vga *v, int w, int h, const struct scan *sc)
{
	uint32_t pal[256];

	if (!fb_size(v, w, h))
		return;
	for (int i = 0; i < 256; i++)
		pal[i] = dac_rgb(v, (unsigned)i & v->dac_mask);
	for (int y = 0; y < h; y++) {
		uint32_t *px = &v->fb[(size_t)y * (size_t)w];
		uint32_t line = row_start(sc, y) + sc->pan;
		for (int x = 0; x < w; x++)
			px[x] = pal[v->vram[(line + (uint32_t)x) % VGA_VRAM_SIZE]];
	}
}

static void draw_vbe(struct vga *v)
{
	unsigned bpp = v->vbe[VBE_INDEX_BPP], bytes = vbe_bytes(bpp);
	int w = v->vbe[VBE_INDEX_XRES], h = v->vbe[VBE_INDEX_YRES];

	if (bpp == 4) {	/* planar: 4 VRAM bytes (one per plane) per 8 pixels */
		draw_planar(v, w, h, &(struct scan){ v->vbe_start / 4, v->vbe_line / 4, 0, INT_MAX, 0 });
		return;
	}
	if (bpp == 8) {
		draw_packed8(v, w, h, &(struct scan){ v->vbe_start, v->vbe_line, 0, INT_MAX, 0 });
		return;
	}
	if (!fb_size(v, w, h))
		return;
	for (int y = 0; y < h; y++) {
		uint32_t *px = &v->fb[(size_t)y * (size_t)w];
		uint64_t line = v->vbe_start + (uint64_t)y * v->vbe_line;
		for (int x = 0; x < w; x++) {
			uint64_t o = line + (uint64_t)x * bytes;
			uint32_t p = 0, r, g, b;
			if (o + bytes > VGA_VRAM_SIZE) {
				px[x] = 0;
				continue;
			}
			memcpy(&p, &v->vram[o], bytes);
			switch (bpp) {
			case 15:
				r = (p >> 10) & 31; g = (p >> 5) & 31; b = p & 31;
				px[x] = (r << 19 | (r >> 2) << 16) | (g << 11 | (g >> 2) << 8) | (b << 3 | b >> 2);
				break;
			case 16:
				r = (p >> 11) & 31; g = (p >> 5) & 63; b = p & 31;
				px[x] = (r << 19 | (r >> 2) << 16) | (g << 10 | (g >> 4) << 8) | (b << 3 | b >> 2);
				break;
			default:	/* 24 and 32: B, G, R in memory order */
				px[x] = p & 0xffffff;
				break;
			}
		}
	}
}

/* What the CRTC shows now: 't' text, 'p' planar, '8' 256 colours, 'v' VBE, 'c' CGA, 'b' blank. */
static char current_mode(const struct vga *v)
{
	if (vbe_on(v))
		return 'v';
	if (!(v->ar_index & AR_PAS) || (v->sr[SR_CLOCK] & 0x20) || v->cr[1] == 0)
		return 'b';
	if (!(v->gr[GR_MISC] & 1))
		return 't';
	if (v->gr[GR_MODE] & 0x40)
		return '8';
	if (v->gr[GR_MODE] & 0x20)
		return 'c';
	return 'p';
}

bool vga_text_80x25(struct vga *v)
{
	int ch_h = (v->cr[9] & 0x1f) + 1;
	return current_mode(v) == 't' && v->cr[1] == 79 && ch_h == 16 && vdisp(v) == 400;
}

bool vga_draw(struct vga *v, struct vga_image *img, bool force)
{
	char mode = current_mode(v);
	uint64_t phase = clock_ns(v->m) / BLINK_NS;
	bool changed = force || v->dirty || v->fb == NULL || (mode == 't' && phase != v->blink_phase);
	int w = (v->cr[1] + 1) * 8;

	if (changed) {
		if (!force) {	/* a forced draw (screendump, info) leaves the display's work to it */
			v->dirty = false;
			v->blink_phase = phase;
		}
		switch (mode) {
		case 'v':
			draw_vbe(v);
			break;
		case 't':
			draw_text(v, (phase & 2) == 0, (phase & 1) == 0);
			break;
		case '8':
			draw_packed8(v, w / 2, graphics_height(v), &(struct scan){
				vram_start(v) * 4, v->cr[0x13] * 8u, cga_bank(v, 4), split_row(v),
				(v->ar[0x13] & 7u) / 2 });
			break;
		case 'p':
			draw_planar(v, w, graphics_height(v), &(struct scan){
				vram_start(v), v->cr[0x13] * 2u, cga_bank(v, 1), split_row(v),
				v->ar[0x13] & 7u });
			break;
		case 'c':
			draw_cga(v, w, graphics_height(v), &(struct scan){
				vram_start(v), v->cr[0x13] * 2u, cga_bank(v, 1), split_row(v), 0 });
			break;
		default:	/* blank: black at the size the CRTC says */
			if (fb_size(v, v->cr[1] ? w : 640, v->cr[1] ? graphics_height(v) : 480))
				memset(v->fb, 0, (size_t)v->fb_w * (size_t)v->fb_h * sizeof(*v->fb));
			break;
		}
	}
	img->pixels = v->fb;
	img->width = v->fb ? v->fb_w : 0;
	img->height = v->fb ? v->fb_h : 0;
	return changed;
}

/* The text screen's characters, one line per row, printable ASCII kept
 * (anything else as '.', blanks trimmed at the end of a row). */
static void text_dump(const struct vga *v, FILE *out)
{
	int cols = v->cr[1] + 1, ch_h = (v->cr[9] & 0x1f) + 1;
	int rows = vdisp(v) / (ch_h * ((v->cr[9] & 0x80) ? 2 : 1));
	unsigned pitch = v->cr[0x13] * 2u, start = vram_start(v);
	char line[257];

	for (int r = 0; r < rows; r++) {
		int n = 0;
		for (int c = 0; c < cols && c < 256; c++) {
			uint8_t ch = v->vram[((start + (unsigned)r * pitch + (unsigned)c) & 0xffff) * 4];
			line[n++] = (ch == 0 || ch == 0xff) ? ' ' : (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
		}
		while (n > 0 && line[n - 1] == ' ')
			n--;
		line[n] = '\0';
		fprintf(out, "|%s\n", line);
	}
}

void vga_describe(struct vga *v, FILE *out)
{
	struct vga_image img;

	vga_draw(v, &img, true);
	switch (current_mode(v)) {
	case 'v':
		fprintf(out, "VBE %ux%u, %u bpp%s, line %u bytes, start 0x%x, bank %u\n",
			v->vbe[VBE_INDEX_XRES], v->vbe[VBE_INDEX_YRES], v->vbe[VBE_INDEX_BPP],
			(v->vbe[VBE_INDEX_ENABLE] & VBE_LFB_ENABLED) ? " linear" : " banked", v->vbe_line,
			v->vbe_start, v->vbe[VBE_INDEX_BANK]);
		break;
	case 't':
		fprintf(out, "VGA text %dx%d (%dx%d cells), start %u, cursor %u%s\n",
			v->cr[1] + 1, img.height / ((v->cr[9] & 0x1f) + 1), (v->sr[SR_CLOCK] & 1) ? 8 : 9,
			(v->cr[9] & 0x1f) + 1, vram_start(v), ((unsigned)v->cr[0x0e] << 8) | v->cr[0x0f],
			(v->cr[0x0a] & 0x20) ? " (hidden)" : "");
		break;
	case '8':
		fprintf(out, "VGA graphics %dx%d, 256 colours%s\n", img.width, img.height,
			(v->sr[SR_MEMMODE] & 0x08) ? " (chain-4)" : " (unchained)");
		break;
	case 'p':
		fprintf(out, "VGA graphics %dx%d, 16 colours (planar)\n", img.width, img.height);
		break;
	case 'c':
		fprintf(out, "VGA graphics %dx%d, 4 colours (CGA)\n", img.width, img.height);
		break;
	default:
		fprintf(out, "VGA display blank (%s)\n",
			vbe_on(v) ? "?" : !(v->ar_index & AR_PAS) ? "palette address source clear"
			: (v->sr[SR_CLOCK] & 0x20) ? "screen off" : "CRTC not programmed");
		break;
	}
	fprintf(out, "picture %dx%d; misc 0x%02x; PCI %s", img.width, img.height, v->misc,
		v->pci_added ? "00:02.0" : "none");
	if (v->pci_added)
		fprintf(out, ", LFB %s0x%llx", v->pci.bars[0].addr == PCI_BAR_UNMAPPED ? "(unmapped) " : "",
			(unsigned long long)(v->pci.bars[0].addr == PCI_BAR_UNMAPPED ? 0 : v->pci.bars[0].addr));
	fprintf(out, "; VGA BIOS %s\n", v->rom ? "in the ROM BAR" : "none");
	if (current_mode(v) == 't')
		text_dump(v, out);
}
