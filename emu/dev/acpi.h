/*
 * acpi.h - the ACPI tables of the i440FX/PIIX4 PC, built once per machine
 * and handed to the firmware through fw_cfg (QEMU's BIOS linker/loader
 * protocol) or installed directly by the Linux loader.
 *
 * Tables (ACPI 6.4 ch. 5): RSDP (revision 2), RSDT and XSDT, FADT
 * (revision 3, PM blocks of emu/dev/acpi_pm.h, reset register 0xCF9),
 * FACS, MADT (one LAPIC per vCPU, the IOAPIC, interrupt source overrides
 * IRQ0 -> GSI2 and level/active-high for the SCI and the PCI link IRQs
 * 5, 9, 10, 11, LAPIC NMI on LINT1), HPET, and a DSDT generated as AML:
 * \_SB.PCI0 (PNP0A03) with its resource windows and _PRT through the
 * link devices LNKA-LNKD (PNP0C0F) that read and write PIIX3's PIRQ
 * registers, the ISA devices, the HPET, and \_S5.
 *
 * Layout of the output: `tables` is the "etc/acpi/tables" blob (FACS
 * first, 64-byte aligned, then DSDT, FADT, MADT, HPET, RSDT, XSDT), `rsdp`
 * the "etc/acpi/rsdp" blob; pointers inside them hold offsets into the
 * tables blob and checksums are left zero, and `loader` is the
 * "etc/table-loader" script (128-byte commands ALLOCATE, ADD_POINTER,
 * ADD_CHECKSUM) that patches both once the firmware has placed them.
 */
#ifndef NESTEMU_DEV_ACPI_H
#define NESTEMU_DEV_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

#define ACPI_TABLES_FILE "etc/acpi/tables"
#define ACPI_RSDP_FILE "etc/acpi/rsdp"
#define ACPI_LOADER_FILE "etc/table-loader"

/* Linker/loader commands (QEMU hw/acpi/bios-linker-loader.c's format). */
#define ACPI_LOADER_ALLOCATE 1
#define ACPI_LOADER_ADD_POINTER 2
#define ACPI_LOADER_ADD_CHECKSUM 3
#define ACPI_LOADER_ENTRY 128
#define ACPI_LOADER_FILESZ 56
#define ACPI_ZONE_HIGH 1
#define ACPI_ZONE_FSEG 2

#define ACPI_MAX_CPUS 255

struct acpi_config {
	int ncpus;
	uint8_t apic_id[ACPI_MAX_CPUS];
	uint8_t ioapic_id;
	uint64_t ioapic_addr;
	uint64_t lapic_addr;
	bool hpet;
	uint64_t hpet_addr;
	uint32_t pci_mem_base;		/* 32-bit PCI memory window [base, limit] */
	uint32_t pci_mem_limit;
	uint8_t com_ports;		/* serial ports present: bit n = COM(n+1) */
};

struct acpi_tables {
	uint8_t *tables;
	size_t tables_len;
	uint8_t rsdp[36];
	uint8_t *loader;
	size_t loader_len;
	/* Offsets of each table in `tables` (tests, the direct installer). */
	size_t facs, dsdt, fadt, madt, hpet, rsdt, xsdt;
};

/* The machine's configuration: its vCPUs, IOAPIC, HPET, PCI hole. */
void acpi_config_from_machine(const struct machine *m, struct acpi_config *cfg);
/* Builds the tables; 0 or -ENOMEM. Free with acpi_tables_free. */
int acpi_build(const struct acpi_config *cfg, struct acpi_tables *out)
	__attribute__((warn_unused_result));
void acpi_tables_free(struct acpi_tables *t);

/*
 * Runs the table-loader script as firmware would, with the tables blob at
 * guest-physical tables_addr and the RSDP at rsdp_addr: copies both into
 * guest memory, patches pointers and checksums. 0, or -EINVAL for a
 * malformed script.
 */
int acpi_install(struct machine *m, const struct acpi_tables *t, uint64_t tables_addr,
		 uint64_t rsdp_addr) __attribute__((warn_unused_result));

/* The 8-bit checksum of len bytes (0 for a valid table). */
uint8_t acpi_checksum(const void *data, size_t len);

#endif
