/*
 * test_vga.c - the VGA card: sequencer and graphics controller write
 * modes 0-3 with the latches, read modes 0-1, chain-4 and odd/even
 * addressing, DAC index auto-increment, the attribute flip-flop reset by
 * input status 1, CR11 write protection, the Bochs VBE registers (ID,
 * GETCAPS, enable, bank window), the PCI function (IDs, BARs); drawing of
 * a text screen (glyphs from plane 2, attributes, blink, cursor), mode
 * 13h, a 16-colour planar mode and VBE linear modes; the PNG encoder
 * (decoded here with zlib) and the key name table.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "dev_fixture.h"
#include "emu/png.h"
#include "emu/dev/keymap.h"
#include "emu/dev/pci.h"
#include "emu/dev/vga.h"

#define WIN 0xa0000u
#define BLINK_NS (1000000000ull * 16 / 60)

struct vf {
	struct devm *d;
	struct vga *v;
};

static struct vf vf_new(void)
{
	struct vf f;
	char err[256] = "";

	f.d = devm_new();
	f.v = vga_create(f.d->m, NULL, &(struct vga_config){ 0 }, err, sizeof(err));
	cr_assert_not_null(f.v, "%s", err);
	return f;
}

static void vf_free(struct vf f)
{
	vga_destroy(f.v);
	devm_free(f.d);
}

static void out8(struct vf f, uint16_t port, uint8_t v)
{
	machine_io_out(f.d->m, port, v, 1);
}

static uint8_t in8(struct vf f, uint16_t port)
{
	return (uint8_t)machine_io_in(f.d->m, port, 1);
}

static void reg(struct vf f, uint16_t index_port, uint8_t index, uint8_t v)
{
	/* A word write: index in the low byte, data in the high byte. */
	machine_io_out(f.d->m, index_port, (uint32_t)index | (uint32_t)v << 8, 2);
}

static uint8_t mem_rd(struct vf f, uint32_t pa)
{
	return (uint8_t)phys_read_u(f.d->m, pa, 1);
}

static void mem_wr(struct vf f, uint32_t pa, uint8_t v)
{
	phys_write_u(f.d->m, pa, v, 1);
}

static uint8_t plane(struct vf f, uint32_t off, unsigned p)
{
	return vga_vram_ro(f.v)[off * 4 + p];
}

static void vbe_out(struct vf f, uint16_t index, uint16_t v)
{
	machine_io_out(f.d->m, 0x1ce, index, 2);
	machine_io_out(f.d->m, 0x1cf, v, 2);
}

static uint16_t vbe_in(struct vf f, uint16_t index)
{
	machine_io_out(f.d->m, 0x1ce, index, 2);
	return (uint16_t)machine_io_in(f.d->m, 0x1cf, 2);
}

/* Planar graphics at 0xA0000 (64 KiB), all planes enabled. */
static void planar_mode(struct vf f)
{
	out8(f, 0x3c2, 0x63);
	reg(f, 0x3c4, 0x02, 0x0f);
	reg(f, 0x3c4, 0x04, 0x06);
	reg(f, 0x3ce, 0x05, 0x00);
	reg(f, 0x3ce, 0x06, 0x05);
	reg(f, 0x3ce, 0x08, 0xff);
}

static void attr_identity(struct vf f)
{
	(void)in8(f, 0x3da);
	for (int i = 0; i < 16; i++) {
		out8(f, 0x3c0, (uint8_t)i);
		out8(f, 0x3c0, (uint8_t)i);
	}
	out8(f, 0x3c0, 0x12);
	out8(f, 0x3c0, 0x0f);
	out8(f, 0x3c0, 0x20);	/* palette address source: display on */
}

static void dac_set(struct vf f, uint8_t idx, uint8_t r, uint8_t g, uint8_t b)
{
	out8(f, 0x3c8, idx);
	out8(f, 0x3c9, r);
	out8(f, 0x3c9, g);
	out8(f, 0x3c9, b);
}

Test(vga, planar_write_modes_and_latches)
{
	struct vf f = vf_new();

	planar_mode(f);
	for (unsigned p = 0; p < 4; p++) {
		reg(f, 0x3c4, 0x02, (uint8_t)(1u << p));
		mem_wr(f, WIN, (uint8_t)(0x11 * (1u << p)));
	}
	reg(f, 0x3c4, 0x02, 0x0f);
	cr_assert_eq(plane(f, 0, 0), 0x11);
	cr_assert_eq(plane(f, 0, 3), 0x88);
	for (unsigned p = 0; p < 4; p++) {
		reg(f, 0x3ce, 0x04, (uint8_t)p);
		cr_assert_eq(mem_rd(f, WIN), 0x11 * (1u << p), "read mode 0, plane %u", p);
	}

	/* Write mode 1 copies the latches the last read loaded. */
	reg(f, 0x3ce, 0x05, 0x01);
	mem_wr(f, WIN + 1, 0x00);
	for (unsigned p = 0; p < 4; p++)
		cr_assert_eq(plane(f, 1, p), 0x11 * (1u << p), "write mode 1, plane %u", p);

	/* Write mode 0 with set/reset on every plane and a bit mask: bits 0-3
	 * from set/reset (planes 0 and 2 set), bits 4-7 from the latches. */
	reg(f, 0x3ce, 0x05, 0x00);
	reg(f, 0x3ce, 0x00, 0x05);
	reg(f, 0x3ce, 0x01, 0x0f);
	reg(f, 0x3ce, 0x08, 0x0f);
	(void)mem_rd(f, WIN);
	mem_wr(f, WIN + 2, 0x00);
	cr_assert_eq(plane(f, 2, 0), 0x1f);
	cr_assert_eq(plane(f, 2, 1), 0x20);
	cr_assert_eq(plane(f, 2, 2), 0x4f);
	cr_assert_eq(plane(f, 2, 3), 0x80);

	/* Rotate by 4 and XOR with the latches, no set/reset. */
	reg(f, 0x3ce, 0x01, 0x00);
	reg(f, 0x3ce, 0x08, 0xff);
	reg(f, 0x3ce, 0x03, 0x18 | 4);
	mem_wr(f, WIN + 3, 0x0f);		/* rotated: 0xf0 */
	cr_assert_eq(plane(f, 3, 0), 0x11 ^ 0xf0);
	cr_assert_eq(plane(f, 3, 3), 0x88 ^ 0xf0);
	reg(f, 0x3ce, 0x03, 0x00);

	/* Write mode 2: the data's low nibble picks each plane's colour bit. */
	reg(f, 0x3ce, 0x05, 0x02);
	reg(f, 0x3ce, 0x08, 0x3c);
	mem_wr(f, WIN + 4, 0x0a);
	cr_assert_eq(plane(f, 4, 0), 0x11 & 0xc3);
	cr_assert_eq(plane(f, 4, 1), (0x22 & 0xc3) | 0x3c);
	cr_assert_eq(plane(f, 4, 3), (0x88 & 0xc3) | 0x3c);

	/* Write mode 3: set/reset is the colour, data AND bit mask the mask. */
	reg(f, 0x3ce, 0x05, 0x03);
	reg(f, 0x3ce, 0x00, 0x09);
	reg(f, 0x3ce, 0x08, 0xf0);
	mem_wr(f, WIN + 5, 0x3c);		/* mask 0x30 */
	cr_assert_eq(plane(f, 5, 0), (0x11 & 0xcf) | 0x30);
	cr_assert_eq(plane(f, 5, 1), 0x22 & 0xcf);
	cr_assert_eq(plane(f, 5, 3), (0x88 & 0xcf) | 0x30);

	/* The map mask keeps planes 1-3 out of a write. */
	reg(f, 0x3ce, 0x05, 0x00);
	reg(f, 0x3ce, 0x08, 0xff);
	reg(f, 0x3ce, 0x01, 0x00);
	reg(f, 0x3c4, 0x02, 0x01);
	mem_wr(f, WIN + 6, 0x5a);
	cr_assert_eq(plane(f, 6, 0), 0x5a);
	cr_assert_eq(plane(f, 6, 1), 0x00);
	vf_free(f);
}

Test(vga, read_mode_1_compares_colours)
{
	struct vf f = vf_new();

	planar_mode(f);
	/* Pixel colours of offset 0, left to right: 5, 5, 0, 15, 4, 1, 5, 0. */
	vga_vram(f.v)[0] = 0xd6;	/* plane 0 */
	vga_vram(f.v)[1] = 0x10;	/* plane 1 */
	vga_vram(f.v)[2] = 0xda;	/* plane 2 */
	vga_vram(f.v)[3] = 0x10;	/* plane 3 */
	reg(f, 0x3ce, 0x05, 0x08);
	reg(f, 0x3ce, 0x02, 0x05);
	reg(f, 0x3ce, 0x07, 0x0f);
	cr_assert_eq(mem_rd(f, WIN), 0xc2, "colour 5 at pixels 0, 1, 6");
	reg(f, 0x3ce, 0x07, 0x05);	/* planes 1 and 3 don't care: 15 matches 5 */
	cr_assert_eq(mem_rd(f, WIN), 0xd2);
	vf_free(f);
}

Test(vga, chain4_and_odd_even_addressing)
{
	struct vf f = vf_new();

	/* Mode 13h memory: chain-4, byte a is VRAM byte a (plane a & 3). */
	planar_mode(f);
	reg(f, 0x3c4, 0x04, 0x0e);
	reg(f, 0x3ce, 0x05, 0x40);
	for (unsigned a = 0; a < 8; a++)
		mem_wr(f, WIN + a, (uint8_t)(0xa0 + a));
	for (unsigned a = 0; a < 8; a++) {
		cr_assert_eq(vga_vram_ro(f.v)[a], 0xa0 + a);
		cr_assert_eq(mem_rd(f, WIN + a), 0xa0 + a);
	}
	reg(f, 0x3c4, 0x02, 0x0d);	/* plane 1 masked: address 5 keeps its byte */
	mem_wr(f, WIN + 5, 0x00);
	mem_wr(f, WIN + 4, 0x00);
	cr_assert_eq(vga_vram_ro(f.v)[5], 0xa5);
	cr_assert_eq(vga_vram_ro(f.v)[4], 0x00);

	/* Text memory: odd/even at 0xB8000, characters in plane 0 and attributes in plane 1. */
	reg(f, 0x3c4, 0x02, 0x03);
	reg(f, 0x3c4, 0x04, 0x02);
	reg(f, 0x3ce, 0x05, 0x10);
	reg(f, 0x3ce, 0x06, 0x0e);
	mem_wr(f, 0xb8000, 'H');
	mem_wr(f, 0xb8001, 0x1f);
	mem_wr(f, 0xb8002, 'i');
	cr_assert_eq(plane(f, 0, 0), 'H');
	cr_assert_eq(plane(f, 0, 1), 0x1f);
	cr_assert_eq(plane(f, 1, 0), 'i');
	cr_assert_eq(mem_rd(f, 0xb8001), 0x1f);
	cr_assert_eq(mem_rd(f, 0xa0000), 0xff, "outside the B8000 window");
	mem_wr(f, 0xa0000, 0x55);
	cr_assert_eq(plane(f, 0, 0), 'H', "a write outside the window is dropped");
	vf_free(f);
}

/* Reset clears VRAM, but only as far as anything was written (vram_used). */
static void reset_clears(void (*setup)(struct vf), uint32_t pa, uint32_t vram_off)
{
	struct vf f = vf_new();

	setup(f);
	mem_wr(f, pa, 0x5a);
	cr_assert_eq(vga_vram_ro(f.v)[vram_off], 0x5a, "write at 0x%x reached VRAM 0x%x", pa, vram_off);
	vga_reset(f.v);
	cr_assert_eq(vga_vram_ro(f.v)[vram_off], 0, "reset cleared VRAM 0x%x", vram_off);
	vf_free(f);
}

static void setup_chain4(struct vf f)
{
	planar_mode(f);
	reg(f, 0x3c4, 0x04, 0x0e);
}

static void setup_odd_even(struct vf f)
{
	reg(f, 0x3c4, 0x02, 0x03);
	reg(f, 0x3ce, 0x06, 0x0e);
}

static void setup_vbe_bank(struct vf f)
{
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED);
	vbe_out(f, VBE_INDEX_BANK, 100);
}

Test(vga, reset_clears_every_written_view)
{
	reset_clears(planar_mode, WIN + 0x3000, 0x3000 * 4);
	reset_clears(setup_chain4, WIN + 0x8005, 0x8005);
	reset_clears(setup_odd_even, 0xb8000 + 0x7001, 0x3800 * 4 + 1);
	reset_clears(setup_vbe_bank, WIN + 7, 100 * 0x10000 + 7);
}

Test(vga, dac_index_auto_increment)
{
	struct vf f = vf_new();

	out8(f, 0x3c8, 5);
	for (int k = 0; k < 6; k++)
		out8(f, 0x3c9, (uint8_t)(10 + k));
	cr_assert_eq(in8(f, 0x3c8), 7, "two entries written");
	out8(f, 0x3c7, 5);
	cr_assert_eq(in8(f, 0x3c7), 3, "DAC state: read mode");
	for (int k = 0; k < 6; k++)
		cr_assert_eq(in8(f, 0x3c9), 10 + k);
	out8(f, 0x3c8, 9);
	out8(f, 0x3c9, 0xff);		/* 6-bit DAC: 0x3f kept */
	out8(f, 0x3c9, 1);
	out8(f, 0x3c9, 2);
	out8(f, 0x3c7, 9);
	cr_assert_eq(in8(f, 0x3c9), 0x3f);
	cr_assert_eq(in8(f, 0x3c7), 3);
	out8(f, 0x3c8, 0);
	cr_assert_eq(in8(f, 0x3c7), 0, "DAC state: write mode");
	vf_free(f);
}

Test(vga, attribute_flip_flop_reset_by_input_status)
{
	struct vf f = vf_new();

	out8(f, 0x3c2, 0x67);		/* colour: input status 1 at 0x3DA */
	(void)in8(f, 0x3da);
	out8(f, 0x3c0, 0x01);		/* index 1 ... */
	(void)in8(f, 0x3da);		/* ... abandoned: the next write is an index again */
	out8(f, 0x3c0, 0x02);
	out8(f, 0x3c0, 0x2a);
	cr_assert_eq(in8(f, 0x3c0), 0x02);
	cr_assert_eq(in8(f, 0x3c1), 0x2a);
	out8(f, 0x3c0, 0x01);
	cr_assert_eq(in8(f, 0x3c1), 0x00, "index 1 was never written");
	/* The mono status port is not decoded in colour mode; retrace toggles. */
	cr_assert_eq(in8(f, 0x3ba), 0xff);
	uint8_t a = in8(f, 0x3da), b = in8(f, 0x3da);
	cr_assert_eq((a ^ b) & 0x08, 0x08, "vertical retrace alternates");
	vf_free(f);
}

Test(vga, crtc_protect_and_port_selection)
{
	struct vf f = vf_new();

	out8(f, 0x3c2, 0x67);
	reg(f, 0x3d4, 0x01, 0x4f);
	reg(f, 0x3d4, 0x11, 0x80);
	reg(f, 0x3d4, 0x01, 0x27);
	reg(f, 0x3d4, 0x07, 0xff);
	out8(f, 0x3d4, 0x01);
	cr_assert_eq(in8(f, 0x3d5), 0x4f, "CR11 bit 7 protects CR00-CR07");
	out8(f, 0x3d4, 0x07);
	cr_assert_eq(in8(f, 0x3d5), 0x10, "except CR07 bit 4");
	reg(f, 0x3b4, 0x0c, 0x12);	/* mono CRTC ports are ignored */
	out8(f, 0x3d4, 0x0c);
	cr_assert_eq(in8(f, 0x3d5), 0x00);
	vf_free(f);
}

Test(vga, vbe_registers_and_bank_window)
{
	struct vf f = vf_new();

	cr_assert_eq(vbe_in(f, VBE_INDEX_ID), VBE_ID5);
	vbe_out(f, VBE_INDEX_ID, VBE_ID0);
	cr_assert_eq(vbe_in(f, VBE_INDEX_ID), VBE_ID0);
	vbe_out(f, VBE_INDEX_ID, 0x1234);
	cr_assert_eq(vbe_in(f, VBE_INDEX_ID), VBE_ID0, "unknown IDs are ignored");
	cr_assert_eq(vbe_in(f, VBE_INDEX_VIDEO_MEMORY_64K), VGA_VRAM_SIZE >> 16);

	vbe_out(f, VBE_INDEX_ENABLE, VBE_GETCAPS);
	cr_assert_eq(vbe_in(f, VBE_INDEX_XRES), VBE_MAX_XRES);
	cr_assert_eq(vbe_in(f, VBE_INDEX_YRES), VBE_MAX_YRES);
	cr_assert_eq(vbe_in(f, VBE_INDEX_BPP), 32);
	vbe_out(f, VBE_INDEX_ENABLE, 0);

	memset(vga_vram(f.v), 0x77, 0x30000);
	vbe_out(f, VBE_INDEX_XRES, 800);
	vbe_out(f, VBE_INDEX_YRES, 600);
	vbe_out(f, VBE_INDEX_BPP, 32);
	vbe_out(f, VBE_INDEX_XRES, 801);	/* not a multiple of 8: ignored */
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
	cr_assert_eq(vbe_in(f, VBE_INDEX_XRES), 800);
	cr_assert_eq(vbe_in(f, VBE_INDEX_ENABLE), VBE_ENABLED | VBE_LFB_ENABLED);
	cr_assert_eq(vbe_in(f, VBE_INDEX_VIRT_WIDTH), 800);
	cr_assert_eq(vbe_in(f, VBE_INDEX_VIRT_HEIGHT), VGA_VRAM_SIZE / (800 * 4));
	cr_assert_eq(vga_vram(f.v)[0x20000], 0, "enable clears VRAM");

	vbe_out(f, VBE_INDEX_BANK, 2);
	mem_wr(f, WIN + 0x10, 0x42);
	cr_assert_eq(vga_vram(f.v)[0x20010], 0x42, "bank 2 window");
	cr_assert_eq(mem_rd(f, WIN + 0x10), 0x42);
	cr_assert_eq(mem_rd(f, WIN + 0x10000), 0xff, "the bank window is 64 KiB");

	/* NOCLEARMEM keeps VRAM over a re-enable. */
	vbe_out(f, VBE_INDEX_ENABLE, 0);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED | VBE_NOCLEARMEM);
	cr_assert_eq(vga_vram(f.v)[0x20010], 0x42);
	vf_free(f);
}

Test(vga, pci_function)
{
	struct machine_config cfg = { .ram_size = 32 << 20, .ncpus = 1, .vga = "std" };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	uint8_t devfn = PCI_DEVFN(VGA_PCI_SLOT, 0);

	machine_io_out(m, 0xcf8, 0x80000000u | (uint32_t)devfn << 8, 4);
	cr_assert_eq(machine_io_in(m, 0xcfc, 4), 0x11111234u);
	machine_io_out(m, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | 0x08, 4);
	cr_assert_eq(machine_io_in(m, 0xcfc, 4) >> 8, 0x030000u, "class VGA");
	/* BAR0: 16 MiB prefetchable memory; BAR2: 4 KiB MMIO. */
	machine_io_out(m, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | 0x10, 4);
	machine_io_out(m, 0xcfc, 0xffffffffu, 4);
	cr_assert_eq(machine_io_in(m, 0xcfc, 4), 0xff000008u);
	machine_io_out(m, 0xcfc, 0xe0000000u, 4);
	machine_io_out(m, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | 0x18, 4);
	machine_io_out(m, 0xcfc, 0xffffffffu, 4);
	cr_assert_eq(machine_io_in(m, 0xcfc, 4), 0xfffff000u);
	machine_io_out(m, 0xcfc, 0xe1000000u, 4);
	machine_io_out(m, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | 0x04, 4);
	machine_io_out(m, 0xcfc, PCI_CMD_MEMORY, 2);

	/* LFB writes reach VRAM; the MMIO BAR reaches the dispi and VGA registers. */
	phys_write_u(m, 0xe0000004ull, 0xdeadbeef, 4);
	cr_assert_eq(phys_read_u(m, 0xe0000004ull, 4), 0xdeadbeef);
	cr_assert_eq(phys_read_u(m, 0xe1000500ull, 2), VBE_ID5);
	cr_assert_eq(phys_read_u(m, 0xe1000500ull + 2 * VBE_INDEX_VIDEO_MEMORY_64K, 2), 256);
	cr_assert_eq(phys_read_u(m, 0xe1000600ull, 4), 8, "QEMU extension block size");
	cr_assert_eq(phys_read_u(m, 0xe1000604ull, 4), 0x1e1e1e1eu, "little-endian framebuffer");
	phys_write_u(m, 0xe1000408ull, 0x07, 1);	/* 0x3C8: DAC write index */
	cr_assert_eq(machine_io_in(m, 0x3c8, 1), 7);
	cr_assert_eq(phys_read_u(m, 0xe1000408ull, 1), 7);
	machine_destroy(m);
}

/* ---- drawing ---- */

static void text_mode(struct vf f)
{
	out8(f, 0x3c2, 0x67);
	reg(f, 0x3c4, 0x01, 0x00);	/* 9-dot characters */
	reg(f, 0x3c4, 0x03, 0x00);
	reg(f, 0x3d4, 0x01, 79);
	reg(f, 0x3d4, 0x07, 0x02);	/* vertical display end bit 8 */
	reg(f, 0x3d4, 0x09, 0x0f);	/* 16 scan lines per row */
	reg(f, 0x3d4, 0x0a, 0x0e);	/* cursor lines 14-15 */
	reg(f, 0x3d4, 0x0b, 0x0f);
	reg(f, 0x3d4, 0x0e, 0x00);
	reg(f, 0x3d4, 0x0f, 81);	/* cursor on row 1, column 1 */
	reg(f, 0x3d4, 0x12, 0x8f);	/* 400 lines */
	reg(f, 0x3d4, 0x13, 40);
	attr_identity(f);
	(void)in8(f, 0x3da);
	out8(f, 0x3c0, 0x10 | 0x20);
	out8(f, 0x3c0, 0x0c);		/* line graphics, blink */
	dac_set(f, 0, 0, 0, 0);
	dac_set(f, 1, 63, 0, 0);
	dac_set(f, 2, 0, 63, 0);
	dac_set(f, 3, 0, 0, 63);
	dac_set(f, 0x0f, 63, 63, 63);

	/* Glyph 'A' in plane 2 (character map 0): rows 0-7 solid, 8-15 empty;
	 * glyph 0xC4 (a line-graphics character): row 3 solid. */
	planar_mode(f);
	reg(f, 0x3c4, 0x02, 0x04);
	reg(f, 0x3ce, 0x06, 0x04);	/* A0000 64 KiB, text */
	for (int l = 0; l < 8; l++)
		mem_wr(f, WIN + 'A' * 32 + (uint32_t)l, 0xff);
	mem_wr(f, WIN + 0xc4 * 32 + 3, 0xff);

	reg(f, 0x3c4, 0x02, 0x03);
	reg(f, 0x3c4, 0x04, 0x02);
	reg(f, 0x3ce, 0x05, 0x10);
	reg(f, 0x3ce, 0x06, 0x0e);
}

static uint32_t px(const struct vga_image *img, int x, int y)
{
	cr_assert(x < img->width && y < img->height, "(%d,%d) outside %dx%d", x, y, img->width,
		  img->height);
	return img->pixels[(size_t)y * (size_t)img->width + (size_t)x];
}

Test(vga, draws_text)
{
	struct vf f = vf_new();
	struct vga_image img;

	text_mode(f);
	mem_wr(f, 0xb8000, 'A');
	mem_wr(f, 0xb8001, 0x12);	/* green on red */
	mem_wr(f, 0xb8002, 'A');
	mem_wr(f, 0xb8003, 0x21);	/* red on green */
	mem_wr(f, 0xb8004, 0xc4);
	mem_wr(f, 0xb8005, 0x03);	/* blue on black, ninth column repeated */
	mem_wr(f, 0xb8006, 'A');
	mem_wr(f, 0xb8007, 0x9f);	/* blinking white on red */
	cr_assert(vga_draw(f.v, &img, false));
	cr_assert_eq(img.width, 720);
	cr_assert_eq(img.height, 400);
	cr_assert_eq(px(&img, 0, 0), 0x00ff00);
	cr_assert_eq(px(&img, 7, 7), 0x00ff00);
	cr_assert_eq(px(&img, 8, 0), 0xff0000, "ninth column of a letter is background");
	cr_assert_eq(px(&img, 0, 10), 0xff0000);
	cr_assert_eq(px(&img, 9, 0), 0xff0000);
	cr_assert_eq(px(&img, 9, 10), 0x00ff00);
	cr_assert_eq(px(&img, 18 + 8, 3), 0x0000ff, "line graphics: ninth column repeats the eighth");
	cr_assert_eq(px(&img, 18 + 8, 4), 0x000000);
	cr_assert_eq(px(&img, 27, 0), 0xffffff, "blink phase on");
	cr_assert_eq(px(&img, 27, 10), 0xff0000, "blink attribute: background red, not bright");
	/* Cursor at row 1 column 1, lines 14-15 (attribute 0x00 there: black on black). */
	cr_assert_eq(px(&img, 9, 16 + 14), 0x000000);
	cr_assert(!vga_draw(f.v, &img, false), "nothing changed");

	/* 32 frames later the blinking character shows its background. */
	clock_set_ns(f.d->m, 2 * BLINK_NS);
	cr_assert(vga_draw(f.v, &img, false));
	cr_assert_eq(px(&img, 27, 0), 0xff0000);
	cr_assert_eq(px(&img, 0, 0), 0x00ff00);
	mem_wr(f, 0xb8000 + 2 * 81 + 1, 0x0f);	/* white cursor cell, cursor phase on */
	cr_assert(vga_draw(f.v, &img, false));
	cr_assert_eq(px(&img, 9, 16 + 14), 0xffffff, "cursor lines in the foreground colour");
	cr_assert_eq(px(&img, 9, 16 + 13), 0x000000);
	vf_free(f);
}

static void mode13(struct vf f)
{
	static const uint8_t crtc[0x19] = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00,
					    0x41, 0, 0, 0, 0, 0, 0, 0x9c, 0x8e, 0x8f, 0x28, 0x40,
					    0x96, 0xb9, 0xa3, 0xff };
	out8(f, 0x3c2, 0x63);
	reg(f, 0x3c4, 0x01, 0x01);
	reg(f, 0x3c4, 0x02, 0x0f);
	reg(f, 0x3c4, 0x04, 0x0e);
	for (int i = 0; i < 0x19; i++)
		reg(f, 0x3d4, (uint8_t)i, crtc[i]);
	reg(f, 0x3ce, 0x05, 0x40);
	reg(f, 0x3ce, 0x06, 0x05);
	attr_identity(f);
	(void)in8(f, 0x3da);
	out8(f, 0x3c0, 0x30);
	out8(f, 0x3c0, 0x41);
}

Test(vga, draws_mode_13h)
{
	struct vf f = vf_new();
	struct vga_image img;

	mode13(f);
	dac_set(f, 0x80, 63, 32, 0);
	dac_set(f, 0x81, 1, 2, 3);
	mem_wr(f, WIN + 20 * 320 + 10, 0x80);
	mem_wr(f, WIN + 199 * 320 + 319, 0x81);
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 320);
	cr_assert_eq(img.height, 200);
	cr_assert_eq(px(&img, 10, 20), 0xff8200, "6-bit DAC widened: 63 -> 255, 32 -> 130");
	cr_assert_eq(px(&img, 11, 20), 0);
	cr_assert_eq(px(&img, 319, 199), 0x04080c);
	/* The DAC mask applies to the pixel value. */
	out8(f, 0x3c6, 0x7f);
	dac_set(f, 0x00, 9, 9, 9);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 10, 20), 0x242424);
	/* Palette address source clear blanks the screen. */
	out8(f, 0x3c6, 0xff);
	(void)in8(f, 0x3da);
	out8(f, 0x3c0, 0x00);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 10, 20), 0);
	vf_free(f);
}

Test(vga, draws_planar_16_colours)
{
	struct vf f = vf_new();
	struct vga_image img;

	/* Mode 12h geometry: 640x480, 80 bytes per line. */
	planar_mode(f);
	reg(f, 0x3c4, 0x01, 0x01);
	reg(f, 0x3d4, 0x01, 79);
	reg(f, 0x3d4, 0x07, 0x02);
	reg(f, 0x3d4, 0x09, 0x40);
	reg(f, 0x3d4, 0x12, 0xdf);
	reg(f, 0x3d4, 0x13, 40);
	attr_identity(f);
	(void)in8(f, 0x3da);
	out8(f, 0x3c0, 0x30);
	out8(f, 0x3c0, 0x01);
	dac_set(f, 5, 63, 0, 63);
	/* Write mode 2: colour 5 at pixel (3, 1). */
	reg(f, 0x3ce, 0x05, 0x02);
	reg(f, 0x3ce, 0x08, 0x80 >> 3);
	(void)mem_rd(f, WIN + 80);
	mem_wr(f, WIN + 80, 5);
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 640);
	cr_assert_eq(img.height, 480);
	cr_assert_eq(px(&img, 3, 1), 0xff00ff);
	cr_assert_eq(px(&img, 2, 1), 0);
	cr_assert_eq(px(&img, 3, 0), 0);
	/* The start address scrolls by whole bytes (8 pixels). */
	reg(f, 0x3d4, 0x0d, 80);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 3, 0), 0xff00ff);
	vf_free(f);
}

Test(vga, draws_vbe_modes)
{
	struct vf f = vf_new();
	struct vga_image img;
	uint8_t *vram = vga_vram(f.v);

	vbe_out(f, VBE_INDEX_XRES, 64);
	vbe_out(f, VBE_INDEX_YRES, 48);
	vbe_out(f, VBE_INDEX_BPP, 32);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
	memcpy(&vram[(2 * 64 + 1) * 4], (uint8_t[]){ 0x33, 0x22, 0x11, 0x00 }, 4);
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 64);
	cr_assert_eq(img.height, 48);
	cr_assert_eq(px(&img, 1, 2), 0x112233);
	/* Y_OFFSET pans by lines. */
	vbe_out(f, VBE_INDEX_Y_OFFSET, 2);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 1, 0), 0x112233);

	vbe_out(f, VBE_INDEX_ENABLE, 0);
	vbe_out(f, VBE_INDEX_BPP, 16);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED);
	memcpy(&vram[(1 * 64 + 2) * 2], (uint8_t[]){ 0x00, 0xf8 }, 2);	/* red 5:6:5 */
	memcpy(&vram[(1 * 64 + 3) * 2], (uint8_t[]){ 0xe0, 0x07 }, 2);	/* green */
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 2, 1), 0xff0000);
	cr_assert_eq(px(&img, 3, 1), 0x00ff00);

	vbe_out(f, VBE_INDEX_ENABLE, 0);
	vbe_out(f, VBE_INDEX_BPP, 15);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED);
	memcpy(&vram[0], (uint8_t[]){ 0x1f, 0x00 }, 2);		/* blue 5:5:5 */
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 0, 0), 0x0000ff);

	vbe_out(f, VBE_INDEX_ENABLE, 0);
	vbe_out(f, VBE_INDEX_BPP, 24);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED);
	memcpy(&vram[3 * 5], (uint8_t[]){ 0x01, 0x02, 0x03 }, 3);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 5, 0), 0x030201);

	vbe_out(f, VBE_INDEX_ENABLE, 0);
	vbe_out(f, VBE_INDEX_BPP, 8);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED | VBE_8BIT_DAC);
	dac_set(f, 7, 0x80, 0x81, 0xff);	/* 8-bit DAC: used as written */
	vram[10] = 7;
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 10, 0), 0x8081ff);
	vf_free(f);
}

Test(vga, state_section_holds_vram)
{
	struct vf f = vf_new();
	const struct state_section *s = state_find(f.d->m, "vga");
	size_t len = 0;

	cr_assert_not_null(s);
	cr_assert_eq(s->blob(s->base, &len), vga_vram(f.v));
	cr_assert_eq(len, VGA_VRAM_SIZE);
	vf_free(f);
}

/* ---- PNG ---- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(vga, png_decodes_with_zlib)
{
	const uint32_t pic[3 * 2] = { 0xff0000, 0x00ff00, 0x0000ff, 0x123456, 0x123456, 0xfedcba };
	uint8_t *png, raw[2 * (1 + 9)];
	size_t len, pos = 8;
	uLongf rawlen = sizeof(raw);
	uint8_t idat[4096];
	size_t idat_len = 0;
	bool ihdr = false, iend = false;

	cr_assert_eq(png_encode(pic, 3, 2, &png, &len), 0);
	cr_assert_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
	while (pos + 12 <= len) {
		uint32_t n = be32(png + pos);
		const uint8_t *type = png + pos + 4, *data = png + pos + 8;
		cr_assert_leq(pos + 12 + n, len);
		cr_assert_eq(be32(data + n), (uint32_t)crc32(0, type, 4 + n), "CRC of %.4s", type);
		if (!memcmp(type, "IHDR", 4)) {
			ihdr = true;
			cr_assert_eq(n, 13);
			cr_assert_eq(be32(data), 3);
			cr_assert_eq(be32(data + 4), 2);
			cr_assert_eq(data[8], 8, "bit depth");
			cr_assert_eq(data[9], 2, "truecolour");
			cr_assert_eq(data[12], 0, "not interlaced");
		} else if (!memcmp(type, "IDAT", 4)) {
			cr_assert_leq(idat_len + n, sizeof(idat));
			memcpy(idat + idat_len, data, n);
			idat_len += n;
		} else if (!memcmp(type, "IEND", 4)) {
			iend = true;
		}
		pos += 12 + n;
	}
	cr_assert(ihdr && iend && idat_len > 0);
	cr_assert_eq(uncompress(raw, &rawlen, idat, idat_len), Z_OK);
	cr_assert_eq(rawlen, sizeof(raw));
	for (int y = 0; y < 2; y++) {
		uint8_t *row = raw + y * 10, prev[3] = { 0, 0, 0 };
		cr_assert_leq(row[0], 1, "filter None or Sub");
		for (int x = 0; x < 3; x++) {
			uint32_t c = 0;
			for (int k = 0; k < 3; k++) {
				uint8_t b = row[1 + 3 * x + k];
				if (row[0] == 1)
					b = (uint8_t)(b + prev[k]);
				prev[k] = b;
				c = c << 8 | b;
			}
			cr_assert_eq(c, pic[y * 3 + x], "pixel (%d,%d)", x, y);
		}
	}
	free(png);
	cr_assert_eq(png_encode(pic, 0, 2, &png, &len), -EINVAL);
}

Test(vga, png_write_is_atomic)
{
	const uint32_t pic[1] = { 0xabcdef };
	char path[] = "/tmp/nestemu-png-XXXXXX";
	char file[64], tmp[80];
	FILE *f;

	cr_assert_not_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/a.png", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	cr_assert_eq(png_write(file, pic, 1, 1), 0);
	f = fopen(file, "rb");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_null(fopen(tmp, "rb"), "the temporary file is gone");
	cr_assert_eq(png_write("/nonexistent/dir/a.png", pic, 1, 1), -ENOENT);
	remove(file);
	rmdir(path);
}

Test(vga, key_names)
{
	cr_assert_eq(keymap_from_name("a"), 0x1e);
	cr_assert_eq(keymap_from_name("ret"), 0x1c);
	cr_assert_eq(keymap_from_name("ctrl"), 0x1d);
	cr_assert_eq(keymap_from_name("alt_r"), 0xe038);
	cr_assert_eq(keymap_from_name("delete"), 0xe053);
	cr_assert_eq(keymap_from_name("f1"), 0x3b);
	cr_assert_eq(keymap_from_name("f12"), 0x58);
	cr_assert_eq(keymap_from_name("0x2a"), 0x2a);
	cr_assert_eq(keymap_from_name("nosuch"), -1);
	cr_assert_eq(keymap_from_name("0x100"), -1);
	cr_assert_eq(keymap_from_usb(0x04), 0x1e, "USB usage 4 is A");
	cr_assert_eq(keymap_from_usb(0x28), 0x1c);
	cr_assert_eq(keymap_from_usb(0xe6), 0xe038);
	cr_assert_eq(keymap_from_usb(0x00), 0);
}

Test(vga, direct_boot_text_mode_from_the_vga_bios_font)
{
	struct devm *d = devm_new();
	char err[256] = "", path[] = "/tmp/nestemu-nofont-XXXXXX";
	struct vga_image img;
	struct vga *v;
	int fd;

	cr_assert_eq(access(VGA_BIOS_DEFAULT, R_OK), 0,
		     "%s is missing: install Debian's seabios package", VGA_BIOS_DEFAULT);
	v = vga_create(d->m, NULL, &(struct vga_config){ .text_font = VGA_BIOS_DEFAULT }, err,
		       sizeof(err));
	cr_assert_not_null(v, "%s", err);
	phys_write_u(d->m, 0xb8000, 0x0741, 2);		/* 'A', light grey on black */
	vga_draw(v, &img, false);
	cr_assert_eq(img.width, 720);
	cr_assert_eq(img.height, 400);
	/* Row 5 of the IBM 8x16 'A' is 0xC6: dots 0, 1, 5, 6. */
	cr_assert_eq(px(&img, 0, 5), 0xaaaaaa);
	cr_assert_eq(px(&img, 2, 5), 0x000000);
	cr_assert_eq(px(&img, 6, 5), 0xaaaaaa);
	cr_assert_eq(px(&img, 0, 13), 0xaaaaaa, "cursor on cell 0, lines 13-14");
	cr_assert_eq(px(&img, 9, 5), 0x000000, "cell 1 is a space");
	/* A reset (after a VBE mode) brings text mode back. */
	vbe_out((struct vf){ d, v }, VBE_INDEX_ENABLE, VBE_ENABLED);
	vga_reset(v);
	vga_draw(v, &img, false);
	cr_assert_eq(img.width, 720);
	cr_assert_eq(phys_read_u(d->m, 0xb8000, 2), 0x0720);
	vga_destroy(v);
	devm_free(d);

	/* An image without the font leaves the card unprogrammed (blank). */
	d = devm_new();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, err, sizeof(err)), (ssize_t)sizeof(err));
	close(fd);
	v = vga_create(d->m, NULL, &(struct vga_config){ .text_font = path }, err, sizeof(err));
	cr_assert_not_null(v, "%s", err);
	vga_draw(v, &img, false);
	cr_assert_eq(img.width, 640, "blank picture at the default size");
	cr_assert_eq(px(&img, 0, 0), 0);
	vga_destroy(v);
	devm_free(d);
	unlink(path);
}

/* Loads a BIOS-style register table: misc, sequencer 0-4, CRTC 0-0x18, GC 0-8, AC 0-0x14. */
static void load_mode(struct vf f, uint8_t misc, const uint8_t *sr, const uint8_t *crtc,
		      const uint8_t *gc, const uint8_t *ac)
{
	out8(f, 0x3c2, misc);
	for (int i = 0; i < 5; i++)
		reg(f, 0x3c4, (uint8_t)i, sr[i]);
	reg(f, 0x3d4, 0x11, 0x00);
	for (int i = 0; i < 0x19; i++)
		reg(f, 0x3d4, (uint8_t)i, crtc[i]);
	for (int i = 0; i < 9; i++)
		reg(f, 0x3ce, (uint8_t)i, gc[i]);
	(void)in8(f, 0x3da);
	for (int i = 0; i < 0x15; i++) {
		out8(f, 0x3c0, (uint8_t)i);
		out8(f, 0x3c0, ac[i]);
	}
	out8(f, 0x3c0, 0x20);
}

Test(vga, draws_cga_modes_with_banks)
{
	static const uint8_t sr4[5] = { 0x03, 0x09, 0x03, 0x00, 0x02 };
	static const uint8_t cr4[0x19] = { 0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00,
					   0xc1, 0, 0, 0, 0, 0, 0, 0x9c, 0x8e, 0x8f, 0x14, 0x00,
					   0x96, 0xb9, 0xa2, 0xff };
	static const uint8_t gc4[9] = { 0, 0, 0, 0, 0, 0x30, 0x0f, 0x0f, 0xff };
	static const uint8_t ac4[0x15] = { 0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10,
					   0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00,
					   0x03, 0x00, 0x00 };
	static const uint8_t sr6[5] = { 0x03, 0x01, 0x01, 0x00, 0x06 };
	static const uint8_t cr6[0x19] = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00,
					   0xc1, 0, 0, 0, 0, 0, 0, 0x9c, 0x8e, 0x8f, 0x28, 0x00,
					   0x96, 0xb9, 0xc2, 0xff };
	static const uint8_t gc6[9] = { 0, 0, 0, 0, 0, 0x00, 0x0d, 0x0f, 0xff };
	static const uint8_t ac6[0x15] = { 0x00, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
					   0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x01, 0x00,
					   0x01, 0x00, 0x00 };
	struct vf f = vf_new();
	struct vga_image img;

	/* Mode 4: 320x200, 4 colours, odd rows in the bank at 0xBA000. */
	load_mode(f, 0x63, sr4, cr4, gc4, ac4);
	dac_set(f, 0x15, 63, 0, 63);
	mem_wr(f, 0xb8000 + 0x2000 + 80 + 1, 0x20);	/* pixel (5, 3) = 2 */
	mem_wr(f, 0xb8000 + 80 + 1, 0x03);		/* pixel (7, 2) = 3 */
	dac_set(f, 0x17, 0, 63, 0);
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 320);
	cr_assert_eq(img.height, 200);
	cr_assert_eq(px(&img, 5, 3), 0xff00ff);
	cr_assert_eq(px(&img, 4, 3), 0);
	cr_assert_eq(px(&img, 5, 2), 0);
	cr_assert_eq(px(&img, 7, 2), 0x00ff00);

	/* Mode 6: 640x200, 1 bit per pixel in plane 0, the same banks. */
	load_mode(f, 0x63, sr6, cr6, gc6, ac6);
	mem_wr(f, 0xb8000 + 0x2000 + 1, 0x40);		/* pixel (9, 1) */
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 640);
	cr_assert_eq(img.height, 200);
	cr_assert_eq(px(&img, 9, 1), 0x00ff00);
	cr_assert_eq(px(&img, 9, 0), 0);
	cr_assert_eq(px(&img, 8, 1), 0);
	vf_free(f);
}

Test(vga, draws_unchained_256_colours_and_planar_vbe)
{
	struct vf f = vf_new();
	struct vga_image img;

	/* Mode X style: mode 13h timing without chain-4; pixel x is in plane
	 * x & 3 at offset x / 4, written through the map mask. */
	mode13(f);
	reg(f, 0x3c4, 0x04, 0x06);
	reg(f, 0x3d4, 0x14, 0x00);
	reg(f, 0x3d4, 0x17, 0xe3);
	reg(f, 0x3ce, 0x08, 0xff);
	dac_set(f, 9, 0, 63, 63);
	reg(f, 0x3c4, 0x02, 1u << (6 & 3));
	mem_wr(f, WIN + 2 * 80 + 6 / 4, 9);		/* pixel (6, 2): 80 bytes per line per plane */
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 320);
	cr_assert_eq(img.height, 200);
	cr_assert_eq(px(&img, 6, 2), 0x00ffff);
	cr_assert_eq(px(&img, 5, 2), 0);
	cr_assert_eq(px(&img, 7, 2), 0);

	/* VBE 4 bpp (planar, as the VGA BIOS's modes 102h/104h): 8 pixels per byte per plane. */
	vbe_out(f, VBE_INDEX_XRES, 32);
	vbe_out(f, VBE_INDEX_YRES, 8);
	vbe_out(f, VBE_INDEX_BPP, 4);
	vbe_out(f, VBE_INDEX_ENABLE, VBE_ENABLED);
	reg(f, 0x3c4, 0x02, 0x0f);
	reg(f, 0x3c4, 0x04, 0x06);
	reg(f, 0x3ce, 0x05, 0x02);			/* write mode 2 */
	reg(f, 0x3ce, 0x08, 0x01);			/* last pixel of the byte */
	(void)mem_rd(f, WIN + 1 * 4 + 2);
	mem_wr(f, WIN + 1 * 4 + 2, 9);			/* pixel (23, 1): 4 bytes per line */
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.width, 32);
	cr_assert_eq(px(&img, 23, 1), 0x00ffff, "attribute 9 -> DAC 9");
	cr_assert_eq(px(&img, 22, 1), 0);
	cr_assert_eq(px(&img, 23, 0), 0);
	vf_free(f);
}

/* A guest writing anything anywhere gets some picture, never a host fault
 * (run under `make asan` this also checks every VRAM and buffer index). */
Test(vga, random_registers_and_memory_never_fault)
{
	struct vf f = vf_new();
	struct vga_image img;
	uint32_t x = 12345;

	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		switch (x % 4) {
		case 0:
			out8(f, (uint16_t)(0x3b0 + (x >> 8) % 0x30), (uint8_t)(x >> 16));
			break;
		case 1:
			vbe_out(f, (uint16_t)((x >> 8) % 12), (uint16_t)(x >> 12));
			break;
		case 2:
			mem_wr(f, WIN + (x >> 8) % 0x20000, (uint8_t)(x >> 4));
			break;
		default:
			(void)mem_rd(f, WIN + (x >> 8) % 0x20000);
			(void)in8(f, (uint16_t)(0x3b0 + (x >> 8) % 0x30));
			break;
		}
		if (i % 500 == 0) {
			vga_draw(f.v, &img, true);
			cr_assert(img.width > 0 && img.height > 0);
		}
	}
	vf_free(f);
}

Test(vga, split_screen_and_pel_panning)
{
	struct vf f = vf_new();
	struct vga_image img;

	/* Mode 13h scrolled to offset 4000 (start address 1000), split after
	 * display line 99: picture rows 50 and below show VRAM from 0. */
	mode13(f);
	dac_set(f, 1, 63, 0, 0);
	dac_set(f, 2, 0, 63, 0);
	mem_wr(f, WIN + 0, 1);				/* VRAM 0: top of the split part */
	mem_wr(f, WIN + 4000 + 5, 2);			/* first line of the scrolled part */
	reg(f, 0x3d4, 0x0c, 1000 >> 8);
	reg(f, 0x3d4, 0x0d, 1000 & 0xff);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 5, 0), 0x00ff00, "start address scrolls");
	cr_assert_eq(px(&img, 0, 50), 0, "no split yet (line compare 1023)");
	reg(f, 0x3d4, 0x18, 99);
	reg(f, 0x3d4, 0x07, 0x0f);			/* line compare bit 8 clear */
	reg(f, 0x3d4, 0x09, 0x01);			/* bit 9 clear, still 2 lines per row */
	vga_draw(f.v, &img, false);
	cr_assert_eq(img.height, 200);
	cr_assert_eq(px(&img, 5, 0), 0x00ff00);
	cr_assert_eq(px(&img, 0, 49), 0);
	cr_assert_eq(px(&img, 0, 50), 0xff0000, "the split part starts at VRAM 0");

	/* Pel panning in 256 colours moves by pixel pairs' halves: AR13 = 2 is one pixel. */
	(void)in8(f, 0x3da);
	out8(f, 0x3c0, 0x33);
	out8(f, 0x3c0, 0x02);
	vga_draw(f.v, &img, false);
	cr_assert_eq(px(&img, 4, 0), 0x00ff00);
	vf_free(f);
}
