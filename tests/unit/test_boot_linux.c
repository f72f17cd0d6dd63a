/*
 * test_boot_linux.c - the Linux boot protocol with a synthetic bzImage
 * built here: the zero page (setup header copy, loader fields, e820,
 * command line, initrd placement, RSDP), the CPU state at the 32-bit
 * entry, the loader's dispatch on "HdrS", and its refusals.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/boot_linux.h"
#include "emu/loader.h"
#include "emu/machine.h"
#include "emu/dev/acpi.h"

#define SETUP_SECTS 4

static struct machine *new_machine(uint64_t ram)
{
	struct machine_config cfg = { .ram_size = ram, .ncpus = 1 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	return m;
}

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void w32(uint8_t *p, uint32_t v)
{
	w16(p, (uint16_t)v);
	w16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A bzImage: setup sectors with a protocol 2.0f header, then `code`. */
static uint8_t *make_bzimage(size_t *size, uint16_t version, uint32_t init_size)
{
	size_t setup = (SETUP_SECTS + 1) * 512, n = setup + 4096;
	uint8_t *k = calloc(1, n);

	k[BP_SETUP_SECTS] = SETUP_SECTS;
	w16(k + BP_BOOT_FLAG, 0xaa55);
	k[0x200] = 0xeb;
	k[0x201] = 0x66;			/* header runs to 0x268 */
	memcpy(k + BP_HEADER, "HdrS", 4);
	w16(k + BP_VERSION, version);
	k[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	w32(k + BP_CODE32_START, 0x100000);
	w32(k + BP_INITRD_ADDR_MAX, 0x7fffffff);
	w32(k + BP_CMDLINE_SIZE, 2048);
	w32(k + BP_INIT_SIZE, init_size);
	for (size_t j = setup; j < n; j++)
		k[j] = (uint8_t)(j * 13);
	*size = n;
	return k;
}

Test(boot_linux, zero_page_e820_cmdline_initrd)
{
	struct machine *m = new_machine(128 << 20);
	size_t ksize, setup = (SETUP_SECTS + 1) * 512;
	uint8_t *k = make_bzimage(&ksize, 0x20f, 0x800000);
	uint8_t initrd[10000], bp[4096], got[4096];
	char err[256] = "", cmd[64];
	uint64_t top = 128 << 20;

	for (size_t j = 0; j < sizeof(initrd); j++)
		initrd[j] = (uint8_t)(j ^ 0x5a);
	cr_assert(boot_linux_is_bzimage(k, ksize));
	cr_assert_eq(boot_linux_image(m, k, ksize, "bz", "console=ttyS0 quiet", initrd,
				      sizeof(initrd), err, sizeof(err)), 0, "%s", err);
	phys_read(m, BOOT_LINUX_PARAMS, bp, sizeof(bp));

	/* Setup header copied, loader fields filled. */
	cr_assert_arr_eq(bp + BP_HEADER, "HdrS", 4);
	cr_assert_eq(bp[BP_SETUP_SECTS], SETUP_SECTS);
	cr_assert_eq(r32(bp + BP_INIT_SIZE), 0x800000, "header copied up to 0x202 + jump");
	cr_assert_eq(bp[BP_TYPE_OF_LOADER], 0xff);
	cr_assert_eq(bp[BP_LOADFLAGS], LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP);
	cr_assert_eq(bp[BP_VID_MODE] | bp[BP_VID_MODE + 1] << 8, 0xffff);
	cr_assert_eq(r32(bp + BP_CMD_LINE_PTR), BOOT_LINUX_CMDLINE);
	phys_read(m, BOOT_LINUX_CMDLINE, cmd, sizeof(cmd));
	cr_assert_str_eq(cmd, "console=ttyS0 quiet");

	/* The initrd: page aligned, just below the ACPI area at the top. */
	uint32_t ird = r32(bp + BP_RAMDISK_IMAGE);
	cr_assert_eq(r32(bp + BP_RAMDISK_SIZE), sizeof(initrd));
	cr_assert_eq(ird & 0xfff, 0);
	cr_assert_eq(ird, (top - BOOT_LINUX_ACPI_SIZE - sizeof(initrd)) & ~0xfffull);
	phys_read(m, ird, got, sizeof(got));
	cr_assert_arr_eq(got, initrd, sizeof(got));

	/* The kernel's protected-mode part at 1 MiB. */
	phys_read(m, BOOT_LINUX_KERNEL, got, 4096);
	cr_assert_arr_eq(got, k + setup, 4096);

	/* e820: low RAM, EBDA, BIOS, RAM from 1 MiB to the ACPI area, ACPI. */
	static const struct { uint64_t a, s; uint32_t t; } want[] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
		{ 0x100000, (128 << 20) - BOOT_LINUX_ACPI_SIZE - 0x100000, 1 },
		{ (128 << 20) - BOOT_LINUX_ACPI_SIZE, BOOT_LINUX_ACPI_SIZE, 3 },
		{ 0xfeffc000ull, 0x4000, 2 },
	};
	cr_assert_eq(bp[BP_E820_ENTRIES], 6);
	for (unsigned j = 0; j < 6; j++) {
		const uint8_t *e = bp + BP_E820_TABLE + 20 * j;
		cr_assert_eq(r32(e) | (uint64_t)r32(e + 4) << 32, want[j].a, "entry %u", j);
		cr_assert_eq(r32(e + 8) | (uint64_t)r32(e + 12) << 32, want[j].s, "entry %u", j);
		cr_assert_eq(r32(e + 16), want[j].t, "entry %u", j);
	}

	/* The RSDP in the ACPI area, valid. */
	uint64_t rsdp = r32(bp + BP_ACPI_RSDP_ADDR);
	uint8_t rs[36];
	cr_assert_geq(rsdp, top - BOOT_LINUX_ACPI_SIZE);
	phys_read(m, rsdp, rs, 36);
	cr_assert_arr_eq(rs, "RSD PTR ", 8);
	cr_assert_eq(acpi_checksum(rs, 36), 0);

	/* CPU state at the 32-bit entry. */
	struct cpu *c = m->cpus[0];
	cr_assert_eq(c->rip, 0x100000);
	cr_assert_eq(c->regs[R_SI], BOOT_LINUX_PARAMS);
	cr_assert_eq(c->regs[R_BX] | c->regs[R_BP] | c->regs[R_DI], 0);
	cr_assert_eq(c->seg[S_CS].sel, 0x10);
	cr_assert_eq(c->seg[S_DS].sel, 0x18);
	cr_assert_eq(c->seg[S_SS].sel, 0x18);
	cr_assert_eq(c->cr0 & 0x80000001u, 1, "protected mode, no paging");
	cr_assert_eq(c->rflags & FL_IF, 0);
	uint8_t gdt[32];
	phys_read(m, c->gdtr.base, gdt, 32);
	cr_assert_eq(r32(gdt + 0x10 + 4), 0x00cf9b00u, "flat code at 0x10");
	cr_assert_eq(r32(gdt + 0x18 + 4), 0x00cf9300u, "flat data at 0x18");

	/* A reset boots the kernel again. */
	phys_write_u(m, BOOT_LINUX_CMDLINE, 'X', 1);
	machine_reset(m);
	phys_read(m, BOOT_LINUX_CMDLINE, cmd, sizeof(cmd));
	cr_assert_str_eq(cmd, "console=ttyS0 quiet");
	cr_assert_eq(m->cpus[0]->rip, 0x100000);
	free(k);
	machine_destroy(m);
}

Test(boot_linux, refusals)
{
	struct machine *m = new_machine(64 << 20);
	size_t ksize;
	uint8_t *k = make_bzimage(&ksize, 0x205, 0);
	char err[256] = "";
	static uint8_t big[63 << 20];

	cr_assert_lt(boot_linux_image(m, k, ksize, "old", "", NULL, 0, err, sizeof(err)), 0);
	cr_assert(strstr(err, "2.06") != NULL, "%s", err);
	w16(k + BP_VERSION, 0x20f);
	k[BP_LOADFLAGS] = 0;
	cr_assert_lt(boot_linux_image(m, k, ksize, "zimg", "", NULL, 0, err, sizeof(err)), 0);
	cr_assert(strstr(err, "zImage") != NULL, "%s", err);
	k[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	cr_assert_lt(boot_linux_image(m, k, ksize, "bz", "", big, sizeof(big), err, sizeof(err)), 0);
	cr_assert(strstr(err, "initrd") != NULL, "%s", err);
	w32(k + BP_INIT_SIZE, 80 << 20);
	cr_assert_lt(boot_linux_image(m, k, ksize, "bz", "", NULL, 0, err, sizeof(err)), 0);
	cr_assert(strstr(err, "larger -m") != NULL, "%s", err);
	w32(k + BP_INIT_SIZE, 0);
	w32(k + BP_CMDLINE_SIZE, 4);
	cr_assert_lt(boot_linux_image(m, k, ksize, "bz", "too long", NULL, 0, err, sizeof(err)), 0);
	cr_assert(strstr(err, "command line") != NULL, "%s", err);
	memcpy(k + BP_HEADER, "HdrX", 4);
	cr_assert_not(boot_linux_is_bzimage(k, ksize));
	free(k);
	machine_destroy(m);
}

Test(boot_linux, loader_dispatches_on_hdrs)
{
	struct machine *m = new_machine(64 << 20);
	size_t ksize;
	uint8_t *k = make_bzimage(&ksize, 0x20f, 0);
	char path[] = "/tmp/nestemu-bzXXXXXX", ipath[] = "/tmp/nestemu-irdXXXXXX", err[256] = "";
	int fd = mkstemp(path), ifd = mkstemp(ipath);
	uint8_t bp[4096];

	cr_assert_geq(fd, 0);
	cr_assert_geq(ifd, 0);
	cr_assert_eq(write(fd, k, ksize), (ssize_t)ksize);
	cr_assert_eq(write(ifd, "initrd!", 7), 7);
	close(fd);
	close(ifd);
	cr_assert_eq(loader_load_multiboot(m, path, "root=/dev/ram0", ipath, err, sizeof(err)), 0,
		     "%s", err);
	phys_read(m, BOOT_LINUX_PARAMS, bp, sizeof(bp));
	cr_assert_eq(bp[BP_TYPE_OF_LOADER], 0xff, "booted as Linux");
	cr_assert_eq(r32(bp + BP_RAMDISK_SIZE), 7);
	unlink(ipath);
	cr_assert_lt(loader_load_multiboot(m, path, "", ipath, err, sizeof(err)), 0);
	cr_assert(strstr(err, "initrd") != NULL, "%s", err);
	unlink(path);
	free(k);
	machine_destroy(m);
}

/* screen_info: filled only when the VGA card shows text mode 3 (direct boots start it there). */
Test(boot_linux, screen_info_follows_the_vga_text_mode)
{
	struct machine_config cfg = { .ram_size = 64 << 20, .ncpus = 1, .vga = "std",
				      .vga_font = "/usr/share/seabios/vgabios-stdvga.bin" };
	size_t ksize;
	uint8_t *k = make_bzimage(&ksize, 0x20f, 0x800000), bp[32];
	char err[256] = "";
	struct machine *m;

	cr_assert_eq(access(cfg.vga_font, R_OK), 0, "%s is missing: install Debian's seabios package",
		     cfg.vga_font);
	m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(boot_linux_image(m, k, ksize, "bz", "", NULL, 0, err, sizeof(err)), 0, "%s", err);
	phys_read(m, BOOT_LINUX_PARAMS, bp, sizeof(bp));
	cr_assert_eq(bp[SI_ORIG_VIDEO_MODE], 3);
	cr_assert_eq(bp[SI_ORIG_VIDEO_COLS], 80);
	cr_assert_eq(bp[SI_ORIG_VIDEO_LINES], 25);
	cr_assert_eq(bp[SI_ORIG_VIDEO_IS_VGA], SI_VIDEO_TYPE_VGAC);
	cr_assert_eq(bp[SI_ORIG_VIDEO_POINTS], 16);
	machine_destroy(m);

	/* Without a card (or with its registers unprogrammed): no screen. */
	cfg.vga = "none";
	m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(boot_linux_image(m, k, ksize, "bz", "", NULL, 0, err, sizeof(err)), 0, "%s", err);
	phys_read(m, BOOT_LINUX_PARAMS, bp, sizeof(bp));
	cr_assert_eq(bp[SI_ORIG_VIDEO_IS_VGA], 0);
	cr_assert_eq(bp[SI_ORIG_VIDEO_COLS], 0);
	machine_destroy(m);
	free(k);
}
