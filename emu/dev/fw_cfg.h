/*
 * fw_cfg.h - QEMU's firmware configuration device, the channel through
 * which SeaBIOS and OVMF learn the machine: I/O 0x510 selector (16-bit),
 * 0x511 data (byte stream of the selected item), 0x514-0x51B the DMA
 * address register (big-endian; writing the low half at 0x518 starts the
 * transfer). Described by QEMU's docs/specs/fw_cfg.rst; the layout here
 * is ours.
 *
 * Items are byte blobs under a 16-bit key. Named files get keys from
 * FW_CFG_FILE_FIRST on and appear in the directory FW_CFG_FILE_DIR
 * (big-endian count, then {be32 size, be16 select, u16 reserved,
 * char name[56]} sorted by name). A DMA access (struct of be32 control,
 * be32 length, be64 address) may select an item, then read, skip or
 * write; guest memory is reached only through RAM regions, and any
 * failure (address outside RAM, write to a read-only item) sets the
 * error bit in the control word it writes back.
 */
#ifndef NESTEMU_DEV_FW_CFG_H
#define NESTEMU_DEV_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct fw_cfg;

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514

/* Standard keys. */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_UUID 0x02
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NOGRAPHIC 0x04
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MACHINE_ID 0x06
#define FW_CFG_KERNEL_ADDR 0x07
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_ADDR 0x0a
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_BOOT_DEVICE 0x0c
#define FW_CFG_NUMA 0x0d
#define FW_CFG_BOOT_MENU 0x0e
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_KERNEL_ENTRY 0x10
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_FILE_MAX 256		/* files */
#define FW_CFG_ARCH_LOCAL 0x8000	/* architecture-local keys (none provided) */

#define FW_CFG_ID_TRADITIONAL 0x1
#define FW_CFG_ID_DMA 0x2

/* DMA control bits. */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

#define FW_CFG_MAX_NAME 56

/* Claims the ports; NULL with err set. */
struct fw_cfg *fw_cfg_create(struct machine *m, char *err, size_t errlen);
void fw_cfg_destroy(struct fw_cfg *f);
/* Selector back to 0 (the signature); items stay. */
void fw_cfg_reset(struct fw_cfg *f);

/* Items: data is copied; an existing item or file of that key/name is
 * replaced. `writable` lets DMA writes change the copy. 0 or -errno. */
int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, size_t len)
	__attribute__((warn_unused_result));
int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t v) __attribute__((warn_unused_result));
int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t v) __attribute__((warn_unused_result));
int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t v) __attribute__((warn_unused_result));
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len,
		    bool writable) __attribute__((warn_unused_result));
/* A file's current contents (tests, the monitor), or NULL. */
const uint8_t *fw_cfg_file(const struct fw_cfg *f, const char *name, size_t *len);

/*
 * The PC's standard items: signature, ID (with DMA), RAM size, CPU counts,
 * "bootorder", "etc/e820", "etc/msr_feature_control" and the ACPI tables
 * with their linker/loader script ("etc/acpi/tables", "etc/acpi/rsdp",
 * "etc/table-loader"). 0 or -errno.
 */
int fw_cfg_populate_pc(struct fw_cfg *f, struct machine *m) __attribute__((warn_unused_result));

/* The e820 map as the firmware and the Linux loader present it. */
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_MAX 16
/* The machine's RAM and fixed reserved ranges (RAM below the PCI hole,
 * 0xFEFFC000 reserved, RAM above 4 GiB); returns the entry count. */
int fw_cfg_e820(const struct machine *m, struct e820_entry *out, int max);

#endif
