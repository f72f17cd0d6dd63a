/*
 * boot_linux.c - the Linux x86 32-bit boot protocol (see boot_linux.h).
 *
 * Checks at load time: the "HdrS" magic, protocol >= 2.06, LOADED_HIGH
 * (a bzImage: the protected-mode part runs at 1 MiB), the kernel's
 * init_size fits between 1 MiB and the initrd, the initrd fits under
 * initrd_addr_max and the ACPI area. Everything is copied into guest
 * memory by the boot hook, which machine_reset runs again on each reset.
 * The ACPI tables are built once (emu/dev/acpi.c) and installed by the
 * same linker/loader script firmware would run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot_linux.h"
#include "machine.h"
#include "dev/acpi.h"
#include "dev/display.h"
#include "dev/fw_cfg.h"
#include "dev/vga.h"

#define BELOW_4G_MAX 0xe0000000ull

struct linux_state {
	uint8_t *kernel;		/* protected-mode part */
	size_t ksize;
	uint8_t hdr[0x290 - BP_HDR];	/* setup header as in the image */
	size_t hdr_len;
	uint16_t version;
	uint32_t entry;
	char *cmdline;
	uint8_t *initrd;
	size_t isize;
	uint32_t initrd_addr;
	uint64_t acpi_addr;
	struct acpi_tables acpi;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

bool boot_linux_is_bzimage(const void *image, size_t size)
{
	return size >= 0x206 && memcmp((const uint8_t *)image + BP_HEADER, "HdrS", 4) == 0;
}

static uint64_t ram_below_4g(const struct machine *m)
{
	return m->cfg.ram_size < BELOW_4G_MAX ? m->cfg.ram_size : BELOW_4G_MAX;
}

static void linux_free(void *opaque)
{
	struct linux_state *s = opaque;

	if (s == NULL)
		return;
	free(s->kernel);
	free(s->cmdline);
	free(s->initrd);
	acpi_tables_free(&s->acpi);
	free(s);
}

static void set_seg(struct cpu *cpu, int sr, uint16_t sel, uint32_t attr)
{
	cpu->seg[sr] = (struct seg){ .base = 0, .limit = 0xffffffffu, .attr = attr, .sel = sel };
	cpu->segbase[sr] = 0;
}

static int build_e820(const struct machine *m, const struct linux_state *s, uint8_t *bp)
{
	uint64_t below = ram_below_4g(m), above = m->cfg.ram_size - below;
	struct e820_entry e[8];
	int n = 0;

	e[n++] = (struct e820_entry){ 0, 0x9fc00, E820_RAM };
	e[n++] = (struct e820_entry){ 0x9fc00, 0x400, E820_RESERVED };
	e[n++] = (struct e820_entry){ 0xf0000, 0x10000, E820_RESERVED };
	e[n++] = (struct e820_entry){ 0x100000, s->acpi_addr - 0x100000, E820_RAM };
	e[n++] = (struct e820_entry){ s->acpi_addr, below - s->acpi_addr, E820_ACPI };
	e[n++] = (struct e820_entry){ 0xfeffc000ull, 0x4000, E820_RESERVED };
	if (above)
		e[n++] = (struct e820_entry){ 1ull << 32, above, E820_RAM };
	for (int k = 0; k < n; k++) {
		uint8_t *p = bp + BP_E820_TABLE + 20 * k;
		wr64(p, e[k].addr);
		wr64(p + 8, e[k].size);
		wr32(p + 16, e[k].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	return n;
}

/*
 * screen_info (boot_params 0x00, Documentation/arch/x86/zero-page.rst):
 * with the VGA card in text mode 3, as a BIOS boot would leave it, the
 * kernel's VGA console (vgacon) takes the screen: colour VGA, 80x25,
 * 16-line font, cursor at the top left.
 */
static void screen_info(struct machine *m, uint8_t *bp)
{
	struct display *d = machine_display(m);

	if (d == NULL || d->vga == NULL || !vga_text_80x25(d->vga))
		return;
	bp[SI_ORIG_VIDEO_MODE] = 3;
	bp[SI_ORIG_VIDEO_COLS] = 80;
	bp[SI_ORIG_VIDEO_LINES] = 25;
	bp[SI_ORIG_VIDEO_IS_VGA] = SI_VIDEO_TYPE_VGAC;
	wr16(bp + SI_ORIG_VIDEO_POINTS, 16);
}

/* The boot hook: memory contents and CPU 0's state at the kernel's entry. */
static void linux_boot(struct machine *m, void *opaque)
{
	static const uint64_t gdt[4] = { 0, 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
	struct linux_state *s = opaque;
	struct cpu *cpu = m->cpus[0];
	uint8_t *bp = calloc(1, 4096);
	uint32_t code = 0xb | AR_S | AR_P | AR_DB | AR_G, data = 0x3 | AR_S | AR_P | AR_DB | AR_G;

	if (bp == NULL) {
		fprintf(stderr, "nestemu: out of memory building the Linux zero page.\n");
		machine_request_exit(m, 1);
		return;
	}
	phys_write(m, BOOT_LINUX_KERNEL, s->kernel, s->ksize);
	if (s->isize)
		phys_write(m, s->initrd_addr, s->initrd, s->isize);
	phys_write(m, BOOT_LINUX_CMDLINE, s->cmdline, strlen(s->cmdline) + 1);
	phys_write(m, BOOT_LINUX_GDT, gdt, sizeof(gdt));
	if (acpi_install(m, &s->acpi, s->acpi_addr, s->acpi_addr + BOOT_LINUX_ACPI_SIZE - 64) < 0)
		fprintf(stderr, "nestemu: warning: the ACPI tables could not be installed.\n");

	memcpy(bp + BP_HDR, s->hdr, s->hdr_len);
	screen_info(m, bp);
	wr16(bp + BP_VID_MODE, 0xffff);			/* "normal" */
	bp[BP_TYPE_OF_LOADER] = 0xff;			/* undefined loader */
	bp[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	wr16(bp + BP_HEAP_END_PTR, 0xfe00);
	wr32(bp + BP_CMD_LINE_PTR, BOOT_LINUX_CMDLINE);
	wr32(bp + BP_RAMDISK_IMAGE, s->isize ? s->initrd_addr : 0);
	wr32(bp + BP_RAMDISK_SIZE, (uint32_t)s->isize);
	wr64(bp + BP_ACPI_RSDP_ADDR, s->acpi_addr + BOOT_LINUX_ACPI_SIZE - 64);
	wr32(bp + BP_ALT_MEM_K, (uint32_t)((s->acpi_addr - 0x100000) >> 10));
	build_e820(m, s, bp);
	phys_write(m, BOOT_LINUX_PARAMS, bp, 4096);
	free(bp);

	for (int r = 0; r < 16; r++)
		cpu->regs[r] = 0;
	cpu->regs[R_SI] = BOOT_LINUX_PARAMS;
	set_seg(cpu, S_CS, 0x10, code);
	set_seg(cpu, S_DS, 0x18, data);
	set_seg(cpu, S_ES, 0x18, data);
	set_seg(cpu, S_FS, 0x18, data);
	set_seg(cpu, S_GS, 0x18, data);
	set_seg(cpu, S_SS, 0x18, data);
	cpu->gdtr.base = BOOT_LINUX_GDT;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	cpu->cr0 = CR0_PE | CR0_ET;
	cpu->rflags = FL_FIXED1;
	cpu->rip = cpu->next_rip = s->entry;
	cpu->exit_request = 1;
	tlb_flush_all(cpu);
	cpu_update_mode(cpu);
}

int boot_linux_image(struct machine *m, const void *kernel, size_t ksize, const char *name,
		     const char *cmdline, const void *initrd, size_t isize, char *err,
		     size_t errlen)
{
	const uint8_t *k = kernel;
	struct linux_state *s;
	struct acpi_config acfg;
	unsigned setup_sects;
	uint32_t initrd_max, init_size, cmdline_size, kend;
	uint64_t below = ram_below_4g(m);
	size_t off, clen;

	if (!boot_linux_is_bzimage(kernel, ksize)) {
		snprintf(err, errlen, "kernel '%s' is not a Linux bzImage (no \"HdrS\" setup header)",
			 name);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory loading kernel '%s'", name);
		return -1;
	}
	s->version = rd16(k + BP_VERSION);
	if (s->version < 0x206) {
		snprintf(err, errlen, "kernel '%s' uses Linux boot protocol %u.%02u; at least 2.06 is needed",
			 name, s->version >> 8, s->version & 0xff);
		goto fail;
	}
	if (!(k[BP_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
		snprintf(err, errlen, "kernel '%s' is a zImage (loaded low); only bzImage kernels can be booted",
			 name);
		goto fail;
	}
	setup_sects = k[BP_SETUP_SECTS] ? k[BP_SETUP_SECTS] : 4;
	off = ((size_t)setup_sects + 1) * 512;
	if (off >= ksize) {
		snprintf(err, errlen, "kernel '%s' is truncated: no protected-mode code after its setup sectors",
			 name);
		goto fail;
	}
	/* syssize (0x1f4, 16-byte units, 32-bit since protocol 2.04): the
	 * protected-mode code the file must hold after the setup sectors. */
	if ((uint64_t)rd32(k + 0x1f4) * 16 > ksize - off) {
		snprintf(err, errlen, "kernel '%s' is truncated: its header announces %llu bytes of "
			 "kernel after the setup sectors, the file has %zu",
			 name, (unsigned long long)rd32(k + 0x1f4) * 16, ksize - off);
		goto fail;
	}
	s->hdr_len = (size_t)0x202 + k[0x201] - BP_HDR;
	if (s->hdr_len > sizeof(s->hdr))
		s->hdr_len = sizeof(s->hdr);
	if (BP_HDR + s->hdr_len > ksize)
		s->hdr_len = ksize - BP_HDR;
	memcpy(s->hdr, k + BP_HDR, s->hdr_len);
	s->entry = BOOT_LINUX_KERNEL;
	s->ksize = ksize - off;
	init_size = s->version >= 0x20a ? rd32(k + BP_INIT_SIZE) : 0;
	kend = BOOT_LINUX_KERNEL + (uint32_t)(s->ksize > init_size ? s->ksize : init_size);
	cmdline_size = rd32(k + BP_CMDLINE_SIZE);
	if (cmdline_size == 0 || cmdline_size >= BOOT_LINUX_CMDLINE_MAX)
		cmdline_size = BOOT_LINUX_CMDLINE_MAX - 1;
	initrd_max = rd32(k + BP_INITRD_ADDR_MAX);

	clen = cmdline ? strlen(cmdline) : 0;
	if (clen > cmdline_size) {
		snprintf(err, errlen, "the kernel command line is %zu bytes; kernel '%s' accepts at most %u",
			 clen, name, cmdline_size);
		goto fail;
	}
	s->cmdline = strdup(cmdline ? cmdline : "");
	s->kernel = malloc(s->ksize);
	if (s->cmdline == NULL || s->kernel == NULL || (isize && (s->initrd = malloc(isize)) == NULL)) {
		snprintf(err, errlen, "out of memory loading kernel '%s'", name);
		goto fail;
	}
	memcpy(s->kernel, k + off, s->ksize);
	if (isize)
		memcpy(s->initrd, initrd, isize);
	s->isize = isize;

	if (below < 0x200000 + BOOT_LINUX_ACPI_SIZE) {
		snprintf(err, errlen, "guest RAM is too small for a Linux kernel (try -m 128 or more)");
		goto fail;
	}
	s->acpi_addr = below - BOOT_LINUX_ACPI_SIZE;
	if (kend > s->acpi_addr) {
		snprintf(err, errlen, "kernel '%s' needs %u MiB of RAM above 1 MiB to decompress (try a larger -m)",
			 name, (kend - BOOT_LINUX_KERNEL + 0xfffff) >> 20);
		goto fail;
	}
	if (isize) {
		uint64_t top = s->acpi_addr;
		if (initrd_max && (uint64_t)initrd_max + 1 < top)
			top = (uint64_t)initrd_max + 1;
		if (isize > top || ((top - isize) & ~0xfffull) < kend) {
			snprintf(err, errlen, "the initrd (%zu KiB) does not fit in guest RAM between the kernel and 0x%llx (try a larger -m)",
				 isize >> 10, (unsigned long long)top);
			goto fail;
		}
		s->initrd_addr = (uint32_t)((top - isize) & ~0xfffull);
	}
	acpi_config_from_machine(m, &acfg);
	if (acpi_build(&acfg, &s->acpi) < 0 || s->acpi.tables_len > BOOT_LINUX_ACPI_SIZE - 64) {
		snprintf(err, errlen, "cannot build the ACPI tables for kernel '%s'", name);
		goto fail;
	}
	machine_set_boot(m, linux_boot, linux_free, s);
	linux_boot(m, s);
	return 0;
fail:
	linux_free(s);
	return -1;
}
