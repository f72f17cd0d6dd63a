/*
 * test_ram8g.c - an 8 GiB guest: RAM is 3.5 GiB below the PCI hole and
 * 4.5 GiB from 4 GiB up, and every place firmware and kernels learn that
 * says so: the CMOS bytes SeaBIOS reads (0x34/0x35 below 4 GiB, 0x5b-0x5d
 * above, in 64 KiB units), fw_cfg's RAM size and etc/e820 (read through
 * the board's ports, as the firmware does), the Multiboot memory map and
 * the Linux zero page's e820 table. (RAM is mapped lazily, so the test
 * touches only a few pages.)
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "emu/boot_linux.h"
#include "emu/loader.h"
#include "emu/machine.h"
#include "emu/dev/fw_cfg.h"

#define GIB (1ull << 30)
#define RAM_SIZE (8 * GIB)
#define BELOW 0xe0000000ull
#define ABOVE (RAM_SIZE - BELOW)

static struct machine *new_machine(void)
{
	struct machine_config cfg = { .ram_size = RAM_SIZE, .ncpus = 1 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	return m;
}

static uint8_t cmos(struct machine *m, uint8_t idx)
{
	machine_io_out(m, 0x70, idx, 1);
	return (uint8_t)machine_io_in(m, 0x71, 1);
}

static void fw_read(struct machine *m, uint16_t key, void *buf, size_t len)
{
	machine_io_out(m, FW_CFG_PORT_SEL, key, 2);
	for (size_t k = 0; k < len; k++)
		((uint8_t *)buf)[k] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(ram8g, cmos_and_fw_cfg)
{
	struct machine *m = new_machine();
	uint64_t size = 0;
	uint8_t dir[4];

	cr_assert_eq(cmos(m, 0x34) | cmos(m, 0x35) << 8, (BELOW - (16 << 20)) >> 16);
	cr_assert_eq(cmos(m, 0x5b) | cmos(m, 0x5c) << 8 | cmos(m, 0x5d) << 16, ABOVE >> 16,
		     "CMOS 0x5b-0x5d: 64 KiB units above 4 GiB");
	fw_read(m, FW_CFG_RAM_SIZE, &size, 8);
	cr_assert_eq(size, RAM_SIZE);

	/* etc/e820 through the file directory, as SeaBIOS finds it. */
	fw_read(m, FW_CFG_FILE_DIR, dir, 4);
	uint32_t n = be32(dir), key = 0, len = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t f[64];
		for (size_t k = 0; k < sizeof(f); k++)
			f[k] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
		if (strcmp((const char *)f + 8, "etc/e820") == 0) {
			key = f[4] << 8 | f[5];
			len = be32(f);
		}
	}
	cr_assert_neq(key, 0, "etc/e820 is in the file directory");
	cr_assert_eq(len, 3 * sizeof(struct e820_entry));
	struct e820_entry e[3];
	fw_read(m, (uint16_t)key, e, sizeof(e));
	cr_assert(e[0].addr == 0 && e[0].size == BELOW && e[0].type == E820_RAM);
	cr_assert(e[1].addr == 0xfeffc000ull && e[1].type == E820_RESERVED);
	cr_assert(e[2].addr == 4 * GIB && e[2].size == ABOVE && e[2].type == E820_RAM,
		  "high RAM: 0x%llx + 0x%llx", (unsigned long long)e[2].addr,
		  (unsigned long long)e[2].size);

	/* The last byte of RAM is at 12 GiB - 1; the hole and beyond are not RAM. */
	phys_write_u(m, 4 * GIB + ABOVE - 8, 0x0123456789abcdefull, 8);
	cr_assert_eq(phys_read_u(m, 4 * GIB + ABOVE - 8, 8), 0x0123456789abcdefull);
	cr_assert_eq(m->mem.ram[RAM_SIZE - 1], 0x01);
	cr_assert_eq(phys_read_u(m, 4 * GIB + ABOVE, 4), 0xffffffffu);
	cr_assert_eq(phys_read_u(m, 0xf0000000ull, 4), 0xffffffffu);
	machine_destroy(m);
}

/* Multiboot: a flat kernel with the a.out kludge, then the memory map. */
Test(ram8g, multiboot_memory_map)
{
	struct machine *m = new_machine();
	uint8_t img[64] = { 0 };
	uint32_t h[8] = { 0x1badb002, 0x00010003, (uint32_t)-(0x1badb002 + 0x00010003),
			  0x100000, 0x100000, 0, 0, 0x100020 };
	char err[256] = "";
	bool high = false, low = false;

	memcpy(img, h, sizeof(h));
	img[32] = 0xf4;	/* hlt */
	cr_assert_eq(loader_multiboot_image(m, img, sizeof(img), "k", NULL, NULL, err, sizeof(err)),
		     0, "%s", err);
	uint32_t flags = (uint32_t)phys_read_u(m, MB_INFO_ADDR, 4);
	cr_assert(flags & (1u << 6), "memory map present");
	cr_assert_eq(phys_read_u(m, MB_INFO_ADDR + 8, 4), (BELOW - 0x100000) >> 10, "mem_upper");
	uint32_t mlen = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 44, 4);
	uint32_t maddr = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 48, 4);
	for (uint32_t off = 0; off < mlen; off += 24) {
		uint64_t base = phys_read_u(m, maddr + off + 4, 8);
		uint64_t len = phys_read_u(m, maddr + off + 12, 8);
		uint32_t type = (uint32_t)phys_read_u(m, maddr + off + 20, 4);
		high |= base == 4 * GIB && len == ABOVE && type == 1;
		low |= base == 0x100000 && len == BELOW - 0x100000 && type == 1;
		cr_assert(type != 1 || base + len <= BELOW || base >= 4 * GIB,
			  "RAM entry 0x%llx+0x%llx overlaps the PCI hole", (unsigned long long)base,
			  (unsigned long long)len);
	}
	cr_assert(low && high, "RAM below the hole and 4.5 GiB at 4 GiB");
	machine_destroy(m);
}

/* Linux: the zero page's e820 table. */
Test(ram8g, linux_e820)
{
	struct machine *m = new_machine();
	size_t n = 5 * 512 + 4096;
	uint8_t *k = calloc(1, n), bp[4096];
	char err[256] = "";
	bool high = false;

	k[BP_SETUP_SECTS] = 4;
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x201] = 0x66;
	memcpy(k + BP_HEADER, "HdrS", 4);
	k[BP_VERSION] = 0x0f;
	k[BP_VERSION + 1] = 0x02;
	k[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	k[BP_CODE32_START + 2] = 0x10;
	k[BP_INITRD_ADDR_MAX + 3] = 0x7f;
	k[BP_CMDLINE_SIZE + 1] = 0x08;
	cr_assert_eq(boot_linux_image(m, k, n, "bz", "", NULL, 0, err, sizeof(err)), 0, "%s", err);
	phys_read(m, BOOT_LINUX_PARAMS, bp, sizeof(bp));
	unsigned entries = bp[BP_E820_ENTRIES];
	cr_assert_gt(entries, 0);
	for (unsigned i = 0; i < entries; i++) {
		struct e820_entry e;
		memcpy(&e, bp + BP_E820_TABLE + 20 * i, 20);
		high |= e.addr == 4 * GIB && e.size == ABOVE && e.type == E820_RAM;
		cr_assert(e.type != E820_RAM || e.addr + e.size <= BELOW || e.addr >= 4 * GIB);
	}
	cr_assert(high, "e820 lists 4.5 GiB of RAM at 4 GiB");
	free(k);
	machine_destroy(m);
}
