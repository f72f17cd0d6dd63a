/*
 * test_machine.c - the board: I/O port dispatch, the debug ports, the
 * 16550A, BIOS ROM mapping, the Multiboot loader and its error messages,
 * log parsing, and machine_run's stop reasons.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/loader.h"
#include "emu/machine.h"

static struct machine *new_machine(uint64_t ram)
{
	struct machine_config cfg = { .ram_size = ram, .ncpus = 1 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(m, "machine_create: %s", err);
	return m;
}

/* ---- I/O ports ---- */

struct io_probe {
	uint16_t last_port;
	uint32_t last_value;
	unsigned last_size;
	int reads, writes;
};

static uint32_t probe_read(void *opaque, uint16_t port, unsigned size)
{
	struct io_probe *p = opaque;
	p->reads++;
	p->last_port = port;
	p->last_size = size;
	return 0xdeadbeef;
}

static void probe_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct io_probe *p = opaque;
	p->writes++;
	p->last_port = port;
	p->last_value = value;
	p->last_size = size;
}

Test(machine, io_dispatch_sizes_and_masking)
{
	struct machine *m = new_machine(16 << 20);
	struct io_probe p = { 0 };

	cr_assert_eq(machine_add_io(m, 0x500, 4, probe_read, probe_write, &p, "probe"), 0);
	cr_assert_eq(machine_io_in(m, 0x502, 1), 0xef, "byte read is masked to 8 bits");
	cr_assert_eq(p.last_port, 0x502);
	cr_assert_eq(p.last_size, 1);
	cr_assert_eq(machine_io_in(m, 0x500, 2), 0xbeef);
	cr_assert_eq(machine_io_in(m, 0x500, 4), 0xdeadbeef);
	machine_io_out(m, 0x503, 0x12345678, 2);
	cr_assert_eq(p.writes, 1);
	cr_assert_eq(p.last_port, 0x503);
	cr_assert_eq(p.last_value, 0x5678, "write value is masked to the access size");
	cr_assert_eq(p.last_size, 2);
	cr_assert_eq(p.reads, 3);
	machine_destroy(m);
}

Test(machine, io_overlap_and_bounds_rejected)
{
	struct machine *m = new_machine(16 << 20);
	struct io_probe p = { 0 };

	cr_assert_eq(machine_add_io(m, 0x500, 4, probe_read, probe_write, &p, "a"), 0);
	cr_assert_lt(machine_add_io(m, 0x503, 2, probe_read, probe_write, &p, "b"), 0);
	cr_assert_lt(machine_add_io(m, 0x4ff, 2, probe_read, probe_write, &p, "c"), 0);
	cr_assert_lt(machine_add_io(m, 0xffff, 2, probe_read, probe_write, &p, "d"), 0);
	cr_assert_lt(machine_add_io(m, 0x600, 0, probe_read, probe_write, &p, "e"), 0);
	cr_assert_eq(machine_add_io(m, 0x504, 1, probe_read, probe_write, &p, "f"), 0);
	machine_destroy(m);
}

Test(machine, unclaimed_ports_read_all_ones)
{
	struct machine *m = new_machine(16 << 20);

	cr_assert_eq(machine_io_in(m, 0x1234, 1), 0xff);
	cr_assert_eq(machine_io_in(m, 0x1234, 2), 0xffff);
	cr_assert_eq(machine_io_in(m, 0x1234, 4), 0xffffffffu);
	machine_io_out(m, 0x1234, 0x55, 1);	/* ignored, must not crash */
	cr_assert_eq(m->stop, STOP_NONE);
	machine_destroy(m);
}

/* ---- debug ports ---- */

Test(machine, isa_debug_exit_status)
{
	static const struct { uint32_t v; unsigned size; int status; } cases[] = {
		{ 0, 1, 1 }, { 1, 1, 3 }, { 0x21, 1, 0x43 }, { 0x1ff, 1, 0x1ff }, { 0x100, 2, 0x201 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct machine *m = new_machine(16 << 20);
		machine_io_out(m, 0xf4, cases[k].v, cases[k].size);
		cr_assert_eq(m->stop, STOP_EXIT);
		cr_assert_eq(m->exit_status, cases[k].status, "out 0xF4, 0x%x (size %u)", cases[k].v,
			     cases[k].size);
		cr_assert(m->cpus[0]->pending & PEND_EXIT, "the CPU is asked to leave its loop");
		machine_destroy(m);
	}
}

Test(machine, debugcon_reads_e9)
{
	struct machine *m = new_machine(16 << 20);

	cr_assert_eq(machine_io_in(m, 0xe9, 1), 0xe9);
	machine_io_out(m, 0x80, 0x42, 1);	/* POST: logged only */
	cr_assert_eq(m->stop, STOP_NONE);
	machine_destroy(m);
}

Test(machine, debugcon_file_backend)
{
	char path[] = "/tmp/nestemu-debugcon-XXXXXX", spec[64], buf[16] = "", err[256];
	int fd = mkstemp(path);
	struct machine_config cfg = { .ram_size = 16 << 20, .debugcon = spec };
	struct machine *m;
	FILE *f;

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	machine_io_out(m, 0xe9, 'o', 1);
	machine_io_out(m, 0xe9, 'k', 1);
	machine_destroy(m);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	unlink(path);
	cr_assert_str_eq(buf, "ok");
}

Test(machine, bad_backend_is_one_sentence)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .serial = "pty:0" };
	char err[256] = "";

	cr_assert_null(machine_create(&cfg, err, sizeof(err)));
	cr_assert(strstr(err, "pty:0") && strstr(err, "stdio"), "message: %s", err);
}

/* ---- 16550A ---- */

Test(machine, serial_registers)
{
	struct machine *m = new_machine(16 << 20);

	cr_assert_eq(machine_io_in(m, 0x3fd, 1), 0x60, "LSR: THRE and TEMT, no data");
	cr_assert_eq(machine_io_in(m, 0x3fa, 1), 0x01, "IIR: nothing pending");
	machine_io_out(m, 0x3ff, 0x5a, 1);
	cr_assert_eq(machine_io_in(m, 0x3ff, 1), 0x5a, "scratch register");
	machine_io_out(m, 0x3fb, 0x83, 1);	/* DLAB, 8N1 */
	machine_io_out(m, 0x3f8, 0x01, 1);
	machine_io_out(m, 0x3f9, 0x00, 1);
	cr_assert_eq(machine_io_in(m, 0x3f8, 1), 0x01, "divisor latch low");
	machine_io_out(m, 0x3fb, 0x03, 1);
	cr_assert_eq(machine_io_in(m, 0x3fb, 1), 0x03);
	cr_assert_eq(machine_io_in(m, 0x3f9, 1), 0x00, "IER after DLAB off");

	/* THR-empty interrupt: pending when enabled, cleared by reading IIR */
	machine_io_out(m, 0x3f9, 0x02, 1);
	cr_assert_eq(machine_io_in(m, 0x3fa, 1), 0x02);
	cr_assert_eq(machine_io_in(m, 0x3fa, 1), 0x01);
	machine_io_out(m, 0x3fa, 0x07, 1);	/* FIFOs on */
	cr_assert_eq(machine_io_in(m, 0x3fa, 1), 0xc1, "IIR shows FIFOs enabled");

	/* loopback: THR comes back in RBR, MSR mirrors MCR */
	machine_io_out(m, 0x3fc, 0x1f, 1);
	cr_assert_eq(machine_io_in(m, 0x3fe, 1) & 0xf0, 0xf0);
	machine_io_out(m, 0x3fc, 0x10, 1);
	cr_assert_eq(machine_io_in(m, 0x3fe, 1) & 0xf0, 0x00);
	machine_io_out(m, 0x3f8, 'A', 1);
	cr_assert_eq(machine_io_in(m, 0x3fd, 1) & 0x01, 0x01, "LSR.DR after loopback");
	cr_assert_eq(machine_io_in(m, 0x3f8, 1), 'A');
	cr_assert_eq(machine_io_in(m, 0x3fd, 1) & 0x01, 0x00);
	machine_destroy(m);
}

/* ---- BIOS ROM ---- */

Test(machine, bios_rom_at_reset_vector)
{
	struct machine *m = new_machine(16 << 20);
	uint8_t *rom = calloc(1, 0x20000), buf[16];
	char err[256];

	for (int k = 0; k < 16; k++)
		rom[0x20000 - 16 + k] = (uint8_t)(0xa0 + k);
	rom[0] = 0x11;
	cr_assert_eq(loader_map_bios(m, rom, 0x20000, err, sizeof(err)), 0, "%s", err);
	phys_read(m, 0xfffffff0ull, buf, 16);
	cr_assert_eq(buf[0], 0xa0);
	cr_assert_eq(buf[15], 0xaf);
	phys_read(m, 0xffff0, buf, 16);
	cr_assert_eq(buf[0], 0xa0, "the image's end is also just below 1 MiB");
	cr_assert_eq(phys_read_u(m, 0xfffe0000ull, 1), 0x11);
	cr_assert_eq(phys_read_u(m, 0xe0000, 1), 0x11, "a 128 KiB image fills 0xE0000-0xFFFFF");
	phys_write_u(m, 0xffff0, 0, 1);
	cr_assert_eq(phys_read_u(m, 0xffff0, 1), 0xa0, "ROM ignores writes");
	cr_assert_eq(m->cpus[0]->seg[S_CS].base + m->cpus[0]->rip, 0xfffffff0ull);
	free(rom);
	machine_destroy(m);
}

Test(machine, bios_bad_sizes)
{
	struct machine *m = new_machine(16 << 20);
	uint8_t *rom = calloc(1, 0x10000);
	char err[256] = "";

	cr_assert_lt(loader_map_bios(m, rom, 1000, err, sizeof(err)), 0);
	cr_assert(strstr(err, "64 KiB"), "message: %s", err);
	cr_assert_lt(loader_map_bios(m, rom, 0, err, sizeof(err)), 0);
	cr_assert_lt(loader_load_bios(m, "/nonexistent/bios.bin", err, sizeof(err)), 0);
	cr_assert(strstr(err, "/nonexistent/bios.bin") && strstr(err, "cannot open"), "message: %s", err);
	free(rom);
	machine_destroy(m);
}

/* ---- Multiboot ---- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

#define ELF_PADDR 0x200000u
#define ELF_DATA_OFF 0x100u

/* A minimal ELF32 executable: one PT_LOAD of `filesz` bytes (memsz more)
 * at ELF_PADDR, holding a Multiboot header at its start. Returns size. */
static size_t make_elf(uint8_t *img, uint32_t filesz, uint32_t memsz, uint32_t paddr,
		       uint32_t mbflags, bool bad_sum)
{
	memset(img, 0, ELF_DATA_OFF + filesz);
	memcpy(img, "\177ELF", 4);
	img[4] = 1;	/* ELFCLASS32 */
	img[5] = 1;	/* little endian */
	img[6] = 1;
	put16(img + 16, 2);		/* ET_EXEC */
	put16(img + 18, 3);		/* EM_386 */
	put32(img + 20, 1);
	put32(img + 24, paddr + 0x20);	/* entry */
	put32(img + 28, 52);		/* phoff */
	put16(img + 40, 52);
	put16(img + 42, 32);		/* phentsize */
	put16(img + 44, 1);		/* phnum */
	uint8_t *ph = img + 52;
	put32(ph, 1);			/* PT_LOAD */
	put32(ph + 4, ELF_DATA_OFF);
	put32(ph + 8, paddr);
	put32(ph + 12, paddr);
	put32(ph + 16, filesz);
	put32(ph + 20, memsz);
	put32(ph + 24, 5);
	uint8_t *mb = img + ELF_DATA_OFF;
	put32(mb, 0x1badb002);
	put32(mb + 4, mbflags);
	put32(mb + 8, -(0x1badb002u + mbflags) + (bad_sum ? 1 : 0));
	for (uint32_t k = 12; k < filesz; k++)
		mb[k] = (uint8_t)(0x90 + k % 7);
	return ELF_DATA_OFF + filesz;
}

Test(machine, multiboot_elf32_entry_state)
{
	struct machine *m = new_machine(128 << 20);
	uint8_t img[0x400], buf[0x300];
	char err[256] = "", cmd[64];
	size_t n = make_elf(img, 0x200, 0x300, ELF_PADDR, 0x3, false);
	struct cpu *cpu = m->cpus[0];

	memset(buf, 0xaa, sizeof(buf));
	phys_write(m, ELF_PADDR, buf, sizeof(buf));
	cr_assert_eq(loader_multiboot_image(m, img, n, "kern", "a=1 b", NULL, err, sizeof(err)), 0,
		     "%s", err);
	phys_read(m, ELF_PADDR, buf, sizeof(buf));
	cr_assert_eq(memcmp(buf, img + ELF_DATA_OFF, 0x200), 0, "segment copied");
	for (int k = 0x200; k < 0x300; k++)
		cr_assert_eq(buf[k], 0, "bss byte %#x zeroed", k);

	cr_assert_eq(cpu->rip, ELF_PADDR + 0x20);
	cr_assert_eq(cpu->regs[R_AX], 0x2badb002);
	cr_assert_eq(cpu->regs[R_BX], MB_INFO_ADDR);
	cr_assert_eq(cpu->cr0 & (CR0_PE | CR0_PG), CR0_PE);
	cr_assert_eq(cpu->rflags & (FL_IF | FL_VM), 0);
	cr_assert_eq(cpu->mode, MODE_PROT);
	cr_assert_eq(cpu->code_size, 2, "32-bit code");
	cr_assert_eq(cpu->seg[S_CS].sel, 0x08);
	cr_assert_eq(cpu->seg[S_CS].limit, 0xffffffffu);
	cr_assert_eq(cpu->seg[S_CS].attr & (AR_DB | AR_P | AR_S | AR_L), AR_DB | AR_P | AR_S);
	cr_assert_eq(cpu->seg[S_CS].attr & 0x8, 0x8, "CS is a code segment");
	for (int s = 0; s < S_NSEG; s++) {
		if (s == S_CS)
			continue;
		cr_assert_eq(cpu->seg[s].sel, 0x10);
		cr_assert_eq(cpu->seg[s].base, 0);
		cr_assert_eq(cpu->seg[s].limit, 0xffffffffu);
		cr_assert_eq(cpu->seg[s].attr & 0xa, 0x2, "writable data segment");
	}
	/* the GDT the selectors refer to */
	cr_assert_eq(phys_read_u(m, cpu->gdtr.base + 8, 8), 0x00cf9b000000ffffull);
	cr_assert_eq(phys_read_u(m, cpu->gdtr.base + 16, 8), 0x00cf93000000ffffull);

	/* boot information */
	uint32_t flags = (uint32_t)phys_read_u(m, MB_INFO_ADDR, 4);
	cr_assert_eq(flags & 0x245, 0x245, "mem, cmdline, mmap, loader name: %#x", flags);
	cr_assert_eq(flags & 0x8, 0, "no modules");
	cr_assert_eq(phys_read_u(m, MB_INFO_ADDR + 4, 4), 640);
	cr_assert_eq(phys_read_u(m, MB_INFO_ADDR + 8, 4), (128 << 10) - 1024);
	phys_read(m, phys_read_u(m, MB_INFO_ADDR + 16, 4), cmd, sizeof(cmd));
	cr_assert_str_eq(cmd, "kern a=1 b");
	phys_read(m, phys_read_u(m, MB_INFO_ADDR + 64, 4), cmd, sizeof(cmd));
	cr_assert_str_eq(cmd, "nestemu");

	/* memory map: find the RAM entry at 1 MiB */
	uint32_t mlen = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 44, 4);
	uint32_t maddr = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 48, 4);
	bool found = false;
	cr_assert_gt(mlen, 0);
	for (uint32_t off = 0; off < mlen; off += 4 + (uint32_t)phys_read_u(m, maddr + off, 4)) {
		uint64_t base = phys_read_u(m, maddr + off + 4, 8);
		uint64_t len = phys_read_u(m, maddr + off + 12, 8);
		uint32_t type = (uint32_t)phys_read_u(m, maddr + off + 20, 4);
		if (base == 0x100000 && type == 1 && len == (127u << 20))
			found = true;
	}
	cr_assert(found, "memory map has [1 MiB, 128 MiB) as RAM");
	machine_destroy(m);
}

Test(machine, multiboot_reset_reloads)
{
	struct machine *m = new_machine(64 << 20);
	uint8_t img[0x400];
	char err[256];
	size_t n = make_elf(img, 0x200, 0x200, ELF_PADDR, 0, false);

	cr_assert_eq(loader_multiboot_image(m, img, n, "k", NULL, NULL, err, sizeof(err)), 0, "%s", err);
	phys_write_u(m, ELF_PADDR + 0x40, 0, 4);	/* the kernel scribbles on itself */
	m->cpus[0]->rip = 0x1234;
	machine_reset(m);
	cr_assert_eq(m->cpus[0]->rip, ELF_PADDR + 0x20, "reset re-enters the kernel");
	cr_assert_eq(phys_read_u(m, ELF_PADDR + 0x40, 1), img[ELF_DATA_OFF + 0x40]);
	machine_destroy(m);
}

Test(machine, multiboot_aout_kludge)
{
	struct machine *m = new_machine(64 << 20);
	uint8_t img[0x100] = { 0 };
	uint32_t flags = 0x10000;
	char err[256];

	/* flat image: 16 bytes of code, the header at offset 16, loaded at 0x300000 */
	img[0] = 0xf4;
	put32(img + 16, 0x1badb002);
	put32(img + 20, flags);
	put32(img + 24, -(0x1badb002u + flags));
	put32(img + 28, 0x300010);	/* header_addr */
	put32(img + 32, 0x300000);	/* load_addr */
	put32(img + 36, 0x300100);	/* load_end_addr */
	put32(img + 40, 0x302000);	/* bss_end_addr */
	put32(img + 44, 0x300000);	/* entry */
	phys_write_u(m, 0x301000, 0x55, 1);
	cr_assert_eq(loader_multiboot_image(m, img, sizeof(img), "flat", NULL, NULL, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(phys_read_u(m, 0x300000, 1), 0xf4);
	cr_assert_eq(phys_read_u(m, 0x300010, 4), 0x1badb002);
	cr_assert_eq(phys_read_u(m, 0x301000, 1), 0, "bss zeroed");
	cr_assert_eq(m->cpus[0]->rip, 0x300000);
	machine_destroy(m);
}

static void expect_error(const uint8_t *img, size_t n, uint64_t ram, const char *needle)
{
	struct machine *m = new_machine(ram);
	char err[256] = "";

	cr_assert_lt(loader_multiboot_image(m, img, n, "bad.elf", NULL, NULL, err, sizeof(err)), 0,
		     "load should fail with '%s'", needle);
	cr_assert(strstr(err, needle) != NULL, "message '%s' should mention '%s'", err, needle);
	cr_assert(strstr(err, "bad.elf") != NULL, "message names the file: %s", err);
	cr_assert_null(strchr(err, '\n'), "one line");
	machine_destroy(m);
}

Test(machine, multiboot_errors)
{
	uint8_t img[0x400];
	size_t n;

	n = make_elf(img, 0x200, 0x200, ELF_PADDR, 0, true);
	expect_error(img, n, 64 << 20, "checksum");

	memset(img, 0x41, sizeof(img));
	expect_error(img, sizeof(img), 64 << 20, "neither a Linux bzImage nor a Multiboot kernel");

	n = make_elf(img, 0x200, 0x200, 0x7000000, 0, false);	/* 112 MiB, RAM is 64 */
	expect_error(img, n, 64 << 20, "outside guest RAM");

	n = make_elf(img, 0x200, 0x200, 0xb8000, 0, false);	/* the legacy hole */
	expect_error(img, n, 64 << 20, "outside guest RAM");

	n = make_elf(img, 0x200, 0x200, ELF_PADDR, 0, false);
	expect_error(img, n - 0x80, 64 << 20, "truncated");

	n = make_elf(img, 0x200, 0x200, ELF_PADDR, 0x8, false);	/* unknown required bit */
	expect_error(img, n, 64 << 20, "requires Multiboot features");

	n = make_elf(img, 0x200, 0x200, ELF_PADDR, 0, false);
	memset(img + ELF_DATA_OFF, 0, 12);			/* ELF without a header */
	expect_error(img, n, 64 << 20, "without a Multiboot header");
}

Test(machine, multiboot_missing_file)
{
	struct machine *m = new_machine(16 << 20);
	char err[256] = "";

	cr_assert_lt(loader_load_multiboot(m, "/nonexistent/kernel", NULL, NULL, err, sizeof(err)), 0);
	cr_assert(strstr(err, "cannot open kernel '/nonexistent/kernel'"), "message: %s", err);
	machine_destroy(m);
}

Test(machine, multiboot_modules)
{
	struct machine *m = new_machine(64 << 20);
	char p1[] = "/tmp/nestemu-mod1-XXXXXX", p2[] = "/tmp/nestemu-mod2-XXXXXX";
	char list[256], err[256] = "", s[128];
	uint8_t img[0x400];
	size_t n = make_elf(img, 0x200, 0x1234, ELF_PADDR, 0x1, false);
	int f1 = mkstemp(p1), f2 = mkstemp(p2);

	cr_assert(f1 >= 0 && f2 >= 0);
	cr_assert_eq(write(f1, "first", 5), 5);
	cr_assert_eq(write(f2, "second!", 7), 7);
	close(f1);
	close(f2);
	snprintf(list, sizeof(list), "%s arg1 x,,y,%s", p1, p2);
	cr_assert_eq(loader_multiboot_image(m, img, n, "k", NULL, list, err, sizeof(err)), 0, "%s", err);
	unlink(p1);
	unlink(p2);

	cr_assert_eq(phys_read_u(m, MB_INFO_ADDR, 4) & 0x8, 0x8);
	cr_assert_eq(phys_read_u(m, MB_INFO_ADDR + 20, 4), 2);
	uint32_t mods = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 24, 4);
	uint32_t s0 = (uint32_t)phys_read_u(m, mods, 4), e0 = (uint32_t)phys_read_u(m, mods + 4, 4);
	uint32_t s1 = (uint32_t)phys_read_u(m, mods + 16, 4), e1 = (uint32_t)phys_read_u(m, mods + 20, 4);
	cr_assert_eq(s0 & 0xfff, 0, "page aligned");
	cr_assert_geq(s0, ELF_PADDR + 0x1234, "after the kernel's bss");
	cr_assert_eq(e0 - s0, 5);
	cr_assert_eq(s1 & 0xfff, 0);
	cr_assert_geq(s1, e0);
	cr_assert_eq(e1 - s1, 7);
	phys_read(m, s1, s, 7);
	cr_assert_eq(memcmp(s, "second!", 7), 0);
	phys_read(m, phys_read_u(m, mods + 8, 4), s, sizeof(s));
	char want[128];
	snprintf(want, sizeof(want), "%s arg1 x,y", p1);
	cr_assert_str_eq(s, want, "module command line keeps the arguments; ',,' is a comma");
	machine_destroy(m);

	m = new_machine(64 << 20);
	cr_assert_lt(loader_multiboot_image(m, img, n, "k", NULL, "/nonexistent/mod", err, sizeof(err)), 0);
	cr_assert(strstr(err, "cannot open module '/nonexistent/mod'"), "message: %s", err);
	machine_destroy(m);
}

Test(machine, ram_above_4g_in_memory_map)
{
	struct machine *m = new_machine(0xe1000000ull);	/* 3.5 GiB + 16 MiB */
	uint8_t img[0x400];
	char err[256];
	size_t n = make_elf(img, 0x200, 0x200, ELF_PADDR, 0, false);
	bool high = false;

	cr_assert_eq(loader_multiboot_image(m, img, n, "k", NULL, NULL, err, sizeof(err)), 0, "%s", err);
	uint32_t mlen = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 44, 4);
	uint32_t maddr = (uint32_t)phys_read_u(m, MB_INFO_ADDR + 48, 4);
	for (uint32_t off = 0; off < mlen; off += 24)
		if (phys_read_u(m, maddr + off + 4, 8) == (1ull << 32) &&
		    phys_read_u(m, maddr + off + 12, 8) == (16ull << 20))
			high = true;
	cr_assert(high, "the 16 MiB beyond 3.5 GiB appear at 4 GiB");
	phys_write_u(m, 1ull << 32, 0x1122334455667788ull, 8);
	cr_assert_eq(phys_read_u(m, 1ull << 32, 8), 0x1122334455667788ull);
	cr_assert_eq(phys_read_u(m, 0xe0000000ull, 4), 0xffffffffu, "the PCI hole is unmapped");
	machine_destroy(m);
}

/* ---- log ---- */

Test(machine, log_parse)
{
	unsigned mask = 0;
	char err[128] = "";

	cr_assert_eq(log_parse("int,unimp", &mask, err, sizeof(err)), 0);
	cr_assert_eq(mask, LOG_INT | LOG_UNIMP);
	cr_assert_eq(log_parse("guest_errors,cpu_reset,post", &mask, err, sizeof(err)), 0);
	cr_assert_eq(mask, LOG_GUEST_ERRORS | LOG_CPU_RESET | LOG_POST);
	cr_assert_eq(log_parse("in_asm,exec,cpu", &mask, err, sizeof(err)), 0);
	cr_assert_eq(mask, LOG_IN_ASM | LOG_EXEC | LOG_CPU);
	cr_assert_lt(log_parse("int,bogus", &mask, err, sizeof(err)), 0);
	cr_assert(strstr(err, "bogus"), "message: %s", err);
}

/* ---- the run loop (needs the CPU) ---- */

static struct machine *rom_machine(const uint8_t *code, size_t len, uint64_t icount_limit)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .icount_limit = icount_limit };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	uint8_t *rom = malloc(0x10000);

	cr_assert_not_null(m, "%s", err);
	memset(rom, 0xf4, 0x10000);
	memcpy(rom + 0xfff0, code, len);
	cr_assert_eq(loader_map_bios(m, rom, 0x10000, err, sizeof(err)), 0, "%s", err);
	free(rom);
	machine_reset(m);
	return m;
}

Test(machine, run_stops_on_debug_exit)
{
	static const uint8_t code[] = { 0xb0, 0x05, 0xe6, 0xf4, 0xeb, 0xfe };	/* mov al,5; out 0xf4,al; jmp $ */
	struct machine *m = rom_machine(code, sizeof(code), 0);

	cr_assert_eq(machine_run(m), STOP_EXIT);
	cr_assert_eq(m->exit_status, 11);
	cr_assert_eq(machine_icount(m), 2);
	machine_destroy(m);
}

Test(machine, run_stops_on_halt)
{
	static const uint8_t code[] = { 0xfa, 0xf4 };	/* cli; hlt */
	struct machine *m = rom_machine(code, sizeof(code), 0);

	cr_assert_eq(machine_run(m), STOP_HALTED);
	machine_destroy(m);
}

Test(machine, run_stops_at_icount_limit)
{
	static const uint8_t code[] = { 0xeb, 0xfe };	/* jmp $ */
	struct machine *m = rom_machine(code, sizeof(code), 250001);

	cr_assert_eq(machine_run(m), STOP_ICOUNT);
	cr_assert_eq(machine_icount(m), 250001);
	machine_destroy(m);
}
