/*
 * loader.c - BIOS ROM mapping and Multiboot v1 kernel loading.
 *
 * Multiboot (specification 0.6.96): the header is a 32-bit aligned
 * structure within the first 8192 bytes of the file: magic 0x1BADB002,
 * flags, checksum (the three sum to zero), and, when flags bit 16 is set,
 * header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr (the
 * "a.out kludge", which overrides any ELF headers). Otherwise the file
 * must be ELF: its PT_LOAD segments are loaded at their physical
 * addresses. Flags bits 0 (page-align modules), 1 (memory information,
 * always given) and 2 (video mode, ignored) are honoured; any other bit
 * in 0..15 is a requirement we cannot meet, so the load fails.
 *
 * Everything the loader writes is validated up front; the copy into
 * guest memory and the CPU setup happen in mb_boot(), the machine's boot
 * hook, which machine_reset() runs again on every reset.
 *
 * Low memory used: MB_AREA_BASE..MB_AREA_END holds the GDT, the
 * multiboot_info structure, the memory map, the module list, the boot
 * loader name and the command lines. Modules go on the first page
 * boundary after the kernel's highest byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot_linux.h"
#include "loader.h"
#include "machine.h"

#define MAX_FILE (1ull << 30)
#define BELOW_4G_MAX 0xe0000000ull
#define MB_SEARCH 8192
#define MB_MAX_SEGS 32
#define MB_MAX_MODS 32

struct mb_seg {
	uint64_t file_off;
	uint32_t paddr;
	uint32_t filesz;
	uint32_t memsz;
};

struct mb_mod {
	uint8_t *data;
	size_t size;
	char *cmdline;
	uint32_t addr;
};

struct mb_state {
	uint8_t *image;
	size_t size;
	struct mb_seg segs[MB_MAX_SEGS];
	int nsegs;
	uint32_t entry;
	char *cmdline;
	struct mb_mod mods[MB_MAX_MODS];
	int nmods;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Reads a whole file; NULL with err set. */
static uint8_t *read_file(const char *path, const char *what, size_t *size, char *err,
			  size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;
	long len;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cannot read %s '%s': it is %s", what, path,
			 S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "cannot read %s '%s': it is not a regular file", what, path);
		goto out;
	}
	if ((unsigned long)len > MAX_FILE) {
		snprintf(err, errlen, "%s '%s' is larger than 1 GiB", what, path);
		goto out;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path,
			 ferror(f) ? strerror(errno) : "short read");
		free(buf);
		buf = NULL;
		goto out;
	}
	*size = (size_t)len;
out:
	fclose(f);
	return buf;
}

/* ---- BIOS ---- */

int loader_map_bios(struct machine *m, const void *image, size_t size, char *err, size_t errlen)
{
	size_t isa = size < (128u << 10) ? size : (128u << 10);
	int r;

	if (size == 0 || size % (64u << 10) != 0 || size > (16u << 20)) {
		snprintf(err, errlen,
			 "the BIOS image must be a multiple of 64 KiB and at most 16 MiB (it is %zu bytes)",
			 size);
		return -1;
	}
	r = memmap_add_rom(&m->mem, (1ull << 32) - size, image, size, "bios");
	if (r == 0)
		r = memmap_add_rom(&m->mem, 0x100000 - isa, (const uint8_t *)image + size - isa, isa,
				   "bios-isa");
	if (r < 0) {
		snprintf(err, errlen, "cannot map the BIOS image: %s", strerror(-r));
		return -1;
	}
	return 0;
}

int loader_load_bios(struct machine *m, const char *path, char *err, size_t errlen)
{
	size_t size = 0;
	uint8_t *buf = read_file(path, "BIOS image", &size, err, errlen);
	int r;

	if (buf == NULL)
		return -1;
	r = loader_map_bios(m, buf, size, err, errlen);
	if (r < 0 && strncmp(err, "the BIOS image", 14) == 0)
		snprintf(err, errlen,
			 "BIOS image '%s' must be a multiple of 64 KiB and at most 16 MiB (it is %zu bytes)",
			 path, size);
	free(buf);
	return r;
}

/* ---- Multiboot ---- */

static uint64_t ram_below_4g(const struct machine *m)
{
	return m->cfg.ram_size < BELOW_4G_MAX ? m->cfg.ram_size : BELOW_4G_MAX;
}

/* True when [pa, pa+len) is guest RAM below 4 GiB and not in our area. */
static bool ram_range_ok(const struct machine *m, uint64_t pa, uint64_t len)
{
	uint64_t end = pa + len;

	if (len == 0)
		return true;
	if (end <= 0xa0000)
		return true;
	return pa >= 0x100000 && end <= ram_below_4g(m);
}

static bool overlaps_area(uint64_t pa, uint64_t len)
{
	return len && pa < MB_AREA_END && pa + len > MB_AREA_BASE;
}

static int add_seg(struct mb_state *s, const char *name, uint64_t off, uint64_t paddr,
		   uint64_t filesz, uint64_t memsz, const struct machine *m, char *err,
		   size_t errlen)
{
	if (memsz < filesz)
		memsz = filesz;
	if (off > s->size || filesz > s->size - off) {
		snprintf(err, errlen, "kernel '%s' is truncated: a segment's data lies beyond the end of the file",
			 name);
		return -1;
	}
	if (paddr > 0xffffffffull || memsz > 0xffffffffull || !ram_range_ok(m, paddr, memsz)) {
		snprintf(err, errlen,
			 "kernel '%s' has a segment at 0x%llx-0x%llx outside guest RAM (%llu MiB; try a larger -m)",
			 name, (unsigned long long)paddr, (unsigned long long)(paddr + memsz),
			 (unsigned long long)(m->cfg.ram_size >> 20));
		return -1;
	}
	if (overlaps_area(paddr, memsz)) {
		snprintf(err, errlen,
			 "kernel '%s' has a segment at 0x%llx-0x%llx overlapping the boot information area 0x%x-0x%x",
			 name, (unsigned long long)paddr, (unsigned long long)(paddr + memsz),
			 MB_AREA_BASE, MB_AREA_END);
		return -1;
	}
	if (s->nsegs >= MB_MAX_SEGS) {
		snprintf(err, errlen, "kernel '%s' has more than %d loadable segments", name, MB_MAX_SEGS);
		return -1;
	}
	s->segs[s->nsegs++] = (struct mb_seg){ off, (uint32_t)paddr, (uint32_t)filesz, (uint32_t)memsz };
	return 0;
}

/* ELF32 or ELF64 program headers. */
static int parse_elf(struct mb_state *s, const char *name, const struct machine *m, char *err,
		     size_t errlen)
{
	const uint8_t *p = s->image;
	bool is64 = p[4] == 2;
	uint64_t entry, phoff;
	unsigned phentsize, phnum, machine;
	bool translated = false;

	if ((p[4] != 1 && p[4] != 2) || p[5] != 1 || s->size < (is64 ? 64u : 52u)) {
		snprintf(err, errlen, "kernel '%s' is not a little-endian ELF32/ELF64 file", name);
		return -1;
	}
	machine = rd16(p + 18);
	if (machine != (is64 ? 62u : 3u)) {
		snprintf(err, errlen, "kernel '%s' is an ELF file for another machine (e_machine %u)", name,
			 machine);
		return -1;
	}
	entry = is64 ? rd64(p + 24) : rd32(p + 24);
	phoff = is64 ? rd64(p + 32) : rd32(p + 28);
	phentsize = rd16(p + (is64 ? 54 : 42));
	phnum = rd16(p + (is64 ? 56 : 44));
	if (phnum == 0 || phentsize < (is64 ? 56u : 32u) || phoff > s->size ||
	    (uint64_t)phnum * phentsize > s->size - phoff) {
		snprintf(err, errlen, "kernel '%s' is truncated or has no program headers", name);
		return -1;
	}
	for (unsigned k = 0; k < phnum; k++) {
		const uint8_t *ph = p + phoff + (uint64_t)k * phentsize;
		uint64_t off, vaddr, paddr, filesz, memsz;

		if (rd32(ph) != 1)	/* PT_LOAD */
			continue;
		if (is64) {
			off = rd64(ph + 8);
			vaddr = rd64(ph + 16);
			paddr = rd64(ph + 24);
			filesz = rd64(ph + 32);
			memsz = rd64(ph + 40);
		} else {
			off = rd32(ph + 4);
			vaddr = rd32(ph + 8);
			paddr = rd32(ph + 12);
			filesz = rd32(ph + 16);
			memsz = rd32(ph + 20);
		}
		if (memsz == 0 && filesz == 0)
			continue;
		if (add_seg(s, name, off, paddr, filesz, memsz, m, err, errlen) < 0)
			return -1;
		/* An entry given as a virtual address inside a segment loaded
		 * elsewhere is translated to the physical one, as GRUB does. */
		if (!translated && vaddr != paddr && entry >= vaddr && entry - vaddr < memsz) {
			entry = entry - vaddr + paddr;
			translated = true;
		}
	}
	if (s->nsegs == 0) {
		snprintf(err, errlen, "kernel '%s' has no loadable segments", name);
		return -1;
	}
	if (entry > 0xffffffffull) {
		snprintf(err, errlen, "kernel '%s' has its entry point 0x%llx above 4 GiB", name,
			 (unsigned long long)entry);
		return -1;
	}
	s->entry = (uint32_t)entry;
	return 0;
}

/* The a.out kludge: load addresses from the Multiboot header itself. */
static int parse_kludge(struct mb_state *s, const char *name, size_t hoff,
			const struct machine *m, char *err, size_t errlen)
{
	const uint8_t *h = s->image + hoff;
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t off, filesz, memsz;

	if (s->size - hoff < 32) {
		snprintf(err, errlen, "kernel '%s' is truncated inside its Multiboot header", name);
		return -1;
	}
	header_addr = rd32(h + 12);
	load_addr = rd32(h + 16);
	load_end = rd32(h + 20);
	bss_end = rd32(h + 24);
	s->entry = rd32(h + 28);
	if (header_addr < load_addr || header_addr - load_addr > hoff) {
		snprintf(err, errlen, "kernel '%s' has inconsistent Multiboot load addresses (header_addr 0x%x, load_addr 0x%x)",
			 name, header_addr, load_addr);
		return -1;
	}
	off = hoff - (header_addr - load_addr);
	if (load_end == 0) {
		filesz = s->size - off;
	} else if (load_end < load_addr) {
		snprintf(err, errlen, "kernel '%s' has load_end_addr below load_addr in its Multiboot header",
			 name);
		return -1;
	} else {
		filesz = load_end - load_addr;
	}
	memsz = filesz;
	if (bss_end) {
		if (bss_end < load_addr + filesz) {
			snprintf(err, errlen, "kernel '%s' has bss_end_addr below its load end in its Multiboot header",
				 name);
			return -1;
		}
		memsz = bss_end - load_addr;
	}
	if (add_seg(s, name, off, load_addr, filesz, memsz, m, err, errlen) < 0)
		return -1;
	if (s->entry < load_addr || s->entry >= load_addr + memsz) {
		snprintf(err, errlen, "kernel '%s' has its entry point 0x%x outside the loaded image", name,
			 s->entry);
		return -1;
	}
	return 0;
}

/* Finds and checks the Multiboot header; its offset or -1. */
static long find_header(const struct mb_state *s, const char *name, uint32_t *flags, char *err,
			size_t errlen)
{
	size_t lim = s->size < MB_SEARCH ? s->size : MB_SEARCH;
	bool bad_sum = false;

	for (size_t off = 0; off + 12 <= lim; off += 4) {
		const uint8_t *h = s->image + off;
		if (rd32(h) != MB_HEADER_MAGIC)
			continue;
		if ((uint32_t)(rd32(h) + rd32(h + 4) + rd32(h + 8)) != 0) {
			bad_sum = true;
			continue;
		}
		*flags = rd32(h + 4);
		return (long)off;
	}
	if (bad_sum)
		snprintf(err, errlen, "kernel '%s' has a Multiboot header with a bad checksum", name);
	else if (s->size >= 4 && memcmp(s->image, "\177ELF", 4) == 0)
		snprintf(err, errlen, "kernel '%s' is an ELF file without a Multiboot header in its first 8 KiB (only Multiboot v1 kernels can be loaded with -kernel)",
			 name);
	else
		snprintf(err, errlen, "'%s' is neither a Linux bzImage nor a Multiboot kernel", name);
	return -1;
}

/* Splits "file1 args,file2" (",," = literal comma) and reads the modules. */
static int load_modules(struct mb_state *s, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (p && *p) {
		char *entry = malloc(strlen(p) + 1), *q = entry, *file;
		size_t flen;

		if (entry == NULL) {
			snprintf(err, errlen, "out of memory reading the modules");
			return -1;
		}
		while (*p) {
			if (*p == ',' && p[1] == ',') {
				*q++ = ',';
				p += 2;
			} else if (*p == ',') {
				p++;
				break;
			} else {
				*q++ = *p++;
			}
		}
		*q = '\0';
		if (entry[0] == '\0') {
			free(entry);
			continue;
		}
		if (s->nmods >= MB_MAX_MODS) {
			free(entry);
			snprintf(err, errlen, "at most %d modules can be given with -initrd", MB_MAX_MODS);
			return -1;
		}
		flen = strcspn(entry, " ");
		file = strndup(entry, flen);
		if (file == NULL) {
			free(entry);
			snprintf(err, errlen, "out of memory reading the modules");
			return -1;
		}
		s->mods[s->nmods].cmdline = entry;
		s->mods[s->nmods].data = read_file(file, "module", &s->mods[s->nmods].size, err, errlen);
		free(file);
		if (s->mods[s->nmods].data == NULL) {
			free(entry);
			s->mods[s->nmods].cmdline = NULL;
			return -1;
		}
		s->nmods++;
	}
	return 0;
}

static void mb_free(void *opaque)
{
	struct mb_state *s = opaque;

	if (s == NULL)
		return;
	for (int k = 0; k < s->nmods; k++) {
		free(s->mods[k].data);
		free(s->mods[k].cmdline);
	}
	free(s->cmdline);
	free(s->image);
	free(s);
}

/* Bump allocator over the boot information area. */
struct area {
	struct machine *m;
	uint32_t next;
};

static uint32_t area_put(struct area *a, const void *data, size_t len)
{
	uint32_t at = a->next;
	phys_write(a->m, at, data, len);
	a->next = (uint32_t)((at + len + 7) & ~7u);
	return at;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_mmap(uint8_t *e, uint64_t base, uint64_t len, uint32_t type)
{
	put32(e, 20);
	put32(e + 4, (uint32_t)base);
	put32(e + 8, (uint32_t)(base >> 32));
	put32(e + 12, (uint32_t)len);
	put32(e + 16, (uint32_t)(len >> 32));
	put32(e + 20, type);
}

/* Builds the multiboot_info structure; returns the bytes used by the area. */
static void build_info(struct machine *m, struct mb_state *s)
{
	static const uint64_t gdt[3] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
	uint64_t below = ram_below_4g(m), above = m->cfg.ram_size - below;
	struct area a = { m, MB_AREA_BASE };
	uint8_t info[120] = { 0 }, mmap[7 * 24], mods[MB_MAX_MODS * 16] = { 0 };
	uint32_t flags = 0x1 | 0x4 | 0x40 | 0x200, n = 0;

	area_put(&a, gdt, sizeof(gdt));
	a.next = MB_INFO_ADDR + sizeof(info);

	put32(info + 4, 640);					/* mem_lower (KiB) */
	put32(info + 8, (uint32_t)((below - 0x100000) >> 10));	/* mem_upper (KiB) */
	put32(info + 16, area_put(&a, s->cmdline, strlen(s->cmdline) + 1));

	put_mmap(mmap + 24 * n++, 0, 0x9fc00, 1);
	put_mmap(mmap + 24 * n++, 0x9fc00, 0x400, 2);
	put_mmap(mmap + 24 * n++, 0xf0000, 0x10000, 2);
	put_mmap(mmap + 24 * n++, 0x100000, below - 0x100000, 1);
	put_mmap(mmap + 24 * n++, 0xfffc0000, 0x40000, 2);
	if (above)
		put_mmap(mmap + 24 * n++, 1ull << 32, above, 1);
	put32(info + 44, 24 * n);
	put32(info + 48, area_put(&a, mmap, 24 * n));

	if (s->nmods) {
		for (int k = 0; k < s->nmods; k++) {
			const struct mb_mod *md = &s->mods[k];
			put32(mods + 16 * k, md->addr);
			put32(mods + 16 * k + 4, (uint32_t)(md->addr + md->size));
			put32(mods + 16 * k + 8, area_put(&a, md->cmdline, strlen(md->cmdline) + 1));
		}
		flags |= 0x8;
		put32(info + 20, (uint32_t)s->nmods);
		put32(info + 24, area_put(&a, mods, 16 * (size_t)s->nmods));
	}
	put32(info + 64, area_put(&a, "nestemu", 8));
	put32(info, flags);
	phys_write(m, MB_INFO_ADDR, info, sizeof(info));
}

static void set_seg(struct cpu *cpu, int s, uint16_t sel, uint32_t attr)
{
	cpu->seg[s] = (struct seg){ .base = 0, .limit = 0xffffffffu, .attr = attr, .sel = sel };
	cpu->segbase[s] = 0;
}

/* The boot hook: copies the kernel and modules, enters the kernel. */
static void mb_boot(struct machine *m, void *opaque)
{
	struct mb_state *s = opaque;
	struct cpu *cpu = m->cpus[0];
	static const uint8_t zeros[4096];

	for (int k = 0; k < s->nsegs; k++) {
		const struct mb_seg *g = &s->segs[k];
		phys_write(m, g->paddr, s->image + g->file_off, g->filesz);
		for (uint64_t z = g->filesz; z < g->memsz;) {
			uint64_t len = g->memsz - z < sizeof(zeros) ? g->memsz - z : sizeof(zeros);
			phys_write(m, g->paddr + z, zeros, len);
			z += len;
		}
	}
	for (int k = 0; k < s->nmods; k++)
		phys_write(m, s->mods[k].addr, s->mods[k].data, s->mods[k].size);
	build_info(m, s);

	/* Machine state at entry (Multiboot spec 3.2). */
	cpu->regs[R_AX] = MB_BOOTLOADER_MAGIC;
	cpu->regs[R_BX] = MB_INFO_ADDR;
	cpu->regs[R_SP] = MB_AREA_BASE;	/* undefined by the spec; a usable stack */
	set_seg(cpu, S_CS, 0x08, 0xb | AR_S | AR_P | AR_DB | AR_G);
	set_seg(cpu, S_DS, 0x10, 0x3 | AR_S | AR_P | AR_DB | AR_G);
	set_seg(cpu, S_ES, 0x10, 0x3 | AR_S | AR_P | AR_DB | AR_G);
	set_seg(cpu, S_FS, 0x10, 0x3 | AR_S | AR_P | AR_DB | AR_G);
	set_seg(cpu, S_GS, 0x10, 0x3 | AR_S | AR_P | AR_DB | AR_G);
	set_seg(cpu, S_SS, 0x10, 0x3 | AR_S | AR_P | AR_DB | AR_G);
	cpu->gdtr.base = MB_AREA_BASE;
	cpu->gdtr.limit = 3 * 8 - 1;
	cpu->cr0 = CR0_PE | CR0_ET;
	cpu->rflags = FL_FIXED1;
	cpu->rip = cpu->next_rip = s->entry;
	cpu->exit_request = 1;
	tlb_flush_all(cpu);
	cpu_update_mode(cpu);
}

int loader_multiboot_image(struct machine *m, const void *image, size_t size, const char *name,
			   const char *cmdline, const char *initrd, char *err, size_t errlen)
{
	struct mb_state *s = calloc(1, sizeof(*s));
	uint32_t flags = 0, top = 0;
	long hoff;
	size_t clen;

	if (s == NULL || (s->image = malloc(size ? size : 1)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory loading kernel '%s'", name);
		return -1;
	}
	memcpy(s->image, image, size);
	s->size = size;
	hoff = find_header(s, name, &flags, err, errlen);
	if (hoff < 0)
		goto fail;
	if (flags & 0xfff8) {
		snprintf(err, errlen, "kernel '%s' requires Multiboot features nestemu does not provide (header flags 0x%x)",
			 name, flags);
		goto fail;
	}
	if (flags & 0x10000) {
		if (parse_kludge(s, name, (size_t)hoff, m, err, errlen) < 0)
			goto fail;
	} else if (size >= 4 && memcmp(s->image, "\177ELF", 4) == 0) {
		if (parse_elf(s, name, m, err, errlen) < 0)
			goto fail;
	} else {
		snprintf(err, errlen, "kernel '%s' is not an ELF file and its Multiboot header does not give load addresses (flag bit 16)",
			 name);
		goto fail;
	}

	/* QEMU passes "kernel-name args" as the command line. */
	clen = strlen(name) + (cmdline ? strlen(cmdline) : 0) + 2;
	s->cmdline = malloc(clen);
	if (s->cmdline == NULL) {
		snprintf(err, errlen, "out of memory loading kernel '%s'", name);
		goto fail;
	}
	snprintf(s->cmdline, clen, "%s%s%s", name, cmdline && *cmdline ? " " : "",
		 cmdline ? cmdline : "");

	if (load_modules(s, initrd, err, errlen) < 0)
		goto fail;
	for (int k = 0; k < s->nsegs; k++)
		if (s->segs[k].paddr + s->segs[k].memsz > top)
			top = s->segs[k].paddr + s->segs[k].memsz;
	for (int k = 0; k < s->nmods; k++) {
		uint64_t at = (top + 0xfffull) & ~0xfffull;
		if (at < 0x100000)
			at = 0x100000;
		if (at + s->mods[k].size > ram_below_4g(m)) {
			snprintf(err, errlen, "module '%s' does not fit in guest RAM after the kernel (try a larger -m)",
				 s->mods[k].cmdline);
			goto fail;
		}
		s->mods[k].addr = (uint32_t)at;
		top = (uint32_t)(at + s->mods[k].size);
	}

	machine_set_boot(m, mb_boot, mb_free, s);
	mb_boot(m, s);
	return 0;
fail:
	mb_free(s);
	return -1;
}

int loader_load_multiboot(struct machine *m, const char *kernel, const char *cmdline,
			  const char *initrd, char *err, size_t errlen)
{
	size_t size = 0;
	uint8_t *buf = read_file(kernel, "kernel", &size, err, errlen);
	int r;

	if (buf == NULL)
		return -1;
	if (boot_linux_is_bzimage(buf, size)) {
		/* A Linux bzImage: -initrd is one file, the initial ramdisk. */
		size_t isize = 0;
		uint8_t *ird = NULL;

		if (initrd && *initrd && (ird = read_file(initrd, "initrd", &isize, err, errlen)) == NULL) {
			free(buf);
			return -1;
		}
		r = boot_linux_image(m, buf, size, kernel, cmdline, ird, isize, err, errlen);
		free(ird);
		free(buf);
		return r;
	}
	r = loader_multiboot_image(m, buf, size, kernel, cmdline, initrd, err, errlen);
	free(buf);
	return r;
}
