/*
 * boot_linux.h - direct boot of a Linux bzImage (-kernel with a kernel
 * whose setup header carries "HdrS"), as QEMU does for -kernel but
 * without firmware: the 32-bit boot protocol of
 * Documentation/arch/x86/boot.rst, protocol 2.06 or later.
 *
 * Guest memory at entry (redone on every reset):
 *   BOOT_LINUX_GDT       flat GDT: 0x10 code, 0x18 data (4 GiB, 32-bit)
 *   BOOT_LINUX_PARAMS    the zero page (struct boot_params): the setup
 *                        header from the image, type_of_loader 0xFF,
 *                        e820 table, cmd_line_ptr, ramdisk_image/size,
 *                        acpi_rsdp_addr
 *   BOOT_LINUX_CMDLINE   the command line (at most cmdline_size bytes)
 *   0x100000             the protected-mode kernel
 *   top of low RAM       ACPI tables (BOOT_LINUX_ACPI_SIZE, e820 type 3);
 *                        the initrd just below them, page aligned, under
 *                        initrd_addr_max
 * CPU 0 starts at code32_start in 32-bit protected mode, paging and
 * interrupts off, CS = 0x10, DS = ES = SS = FS = GS = 0x18, ESI = zero
 * page, EBX = EBP = EDI = 0.
 */
#ifndef NESTEMU_BOOT_LINUX_H
#define NESTEMU_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

#define BOOT_LINUX_GDT 0x6000u
#define BOOT_LINUX_PARAMS 0x7000u
#define BOOT_LINUX_CMDLINE 0x20000u
#define BOOT_LINUX_CMDLINE_MAX 0x10000u
#define BOOT_LINUX_KERNEL 0x100000u
#define BOOT_LINUX_ACPI_SIZE 0x10000u

/* boot_params offsets (Documentation/arch/x86/zero-page.rst, boot.rst). */
#define SI_ORIG_VIDEO_MODE 0x06	/* screen_info, at the start of boot_params */
#define SI_ORIG_VIDEO_COLS 0x07
#define SI_ORIG_VIDEO_LINES 0x0e
#define SI_ORIG_VIDEO_IS_VGA 0x0f
#define SI_ORIG_VIDEO_POINTS 0x10
#define SI_VIDEO_TYPE_VGAC 0x22	/* colour VGA */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_ALT_MEM_K 0x1e0
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1
#define BP_SETUP_SECTS 0x1f1
#define BP_VID_MODE 0x1fa
#define BP_BOOT_FLAG 0x1fe
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_CMDLINE_SIZE 0x238
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80

/* True when the image has a Linux setup header ("HdrS" at 0x202). */
bool boot_linux_is_bzimage(const void *image, size_t size);

/*
 * Validates and loads the bzImage and initrd (either may be freed by the
 * caller afterwards), registers the machine's boot hook and runs it once.
 * initrd may be NULL. Returns 0, or -1 with one sentence in err.
 */
int boot_linux_image(struct machine *m, const void *kernel, size_t ksize, const char *name,
		     const char *cmdline, const void *initrd, size_t isize, char *err,
		     size_t errlen) __attribute__((warn_unused_result));

#endif
