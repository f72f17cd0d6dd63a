/*
 * loader.h - what is in guest memory before the first instruction runs:
 * a BIOS ROM image (-bios) or a Multiboot v1 kernel (-kernel) with its
 * modules (-initrd) and command line (-append).
 */
#ifndef NESTEMU_LOADER_H
#define NESTEMU_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct machine;

/*
 * Maps a ROM image (a multiple of 64 KiB, at most 16 MiB) at 4 GiB - size
 * and its last 128 KiB (the whole image if smaller) just below 1 MiB, so
 * the CPU's reset vector 0xFFFFFFF0 reaches the image's last 16 bytes.
 * Returns 0, or -1 with one sentence in err.
 */
int loader_load_bios(struct machine *m, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int loader_map_bios(struct machine *m, const void *image, size_t size, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Where the Multiboot loader puts its own data (GDT, boot information). */
#define MB_AREA_BASE 0x9000u	/* flat GDT: null, code 0x08, data 0x10 */
#define MB_AREA_END 0x9fc00u	/* start of the EBDA */
#define MB_INFO_ADDR 0x9020u	/* struct multiboot_info */
#define MB_BOOTLOADER_MAGIC 0x2badb002u
#define MB_HEADER_MAGIC 0x1badb002u

/*
 * Loads a Multiboot v1 kernel (ELF32, ELF64 with a 32-bit entry point, or
 * any file using the a.out-kludge address fields of header flag bit 16)
 * and its modules, and puts CPU 0 at the kernel's entry in 32-bit
 * protected mode as the specification says (EAX = 0x2BADB002, EBX = boot
 * information). `initrd` lists modules QEMU-style: "file1 args,file2"
 * (",," is a literal comma); NULL for none. The load is redone by every
 * machine_reset(). Returns 0, or -1 with one sentence in err.
 * A file with a Linux setup header ("HdrS" at 0x202) is booted as a
 * bzImage instead (emu/boot_linux.h), with `initrd` its one initrd file.
 */
int loader_load_multiboot(struct machine *m, const char *kernel, const char *cmdline,
			  const char *initrd, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The same from an image in memory; name is used in messages and the command line. */
int loader_multiboot_image(struct machine *m, const void *image, size_t size, const char *name,
			   const char *cmdline, const char *initrd, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
