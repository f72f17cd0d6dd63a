/*
 * pci.h - the PCI bus: i440FX host bridge (00:00.0), PIIX3 ISA bridge
 * (00:01.0) and PIIX4 ACPI/PM (00:01.3, config space only), and the
 * generic device API other devices (IDE at 00:01.1, e1000, VGA) build on.
 *
 * Configuration mechanism #1 (PCI Local Bus 3.0 3.2.2.3.2): a dword write
 * to 0xCF8 latches bus/device/function/register with bit 31 enabling it;
 * 0xCFC-0xCFF then reach that dword of configuration space with byte,
 * word or dword accesses. (0xCF9, the reset control register, is
 * emu/dev/sysctl.c's.)
 *
 * A device has 256 bytes of configuration space with a write mask
 * (writable bits) and a write-1-to-clear mask (status bits). BARs are
 * declared with their size and kind; sizing (writing all-ones) follows
 * from the write mask, and a BAR is mapped into the memory map or the I/O
 * space while the command register enables that space and its address is
 * valid, and moved when the guest reprograms it.
 *
 * INTx: a device's pin (config 0x3D) on slot S reaches PIRQ[(S + pin - 1)
 * mod 4]; PIIX3 registers 0x60-0x63 route PIRQA-D to ISA IRQs (bit 7
 * disables a route). Lines sharing a PIRQ are ORed (level-triggered).
 */
#ifndef NESTEMU_DEV_PCI_H
#define NESTEMU_DEV_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"
#include "mmu/mmu.h"

struct machine;
struct pci_bus;
struct pci_device;

/* Standard configuration-space offsets. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

/* Subsystem IDs QEMU gives every device; SeaBIOS checks the host bridge's. */
#define PCI_SUBSYS_VENDOR_QEMU 0x1af4
#define PCI_SUBSYS_ID_QEMU 0x1100

#define PCI_CMD_IO 0x0001
#define PCI_CMD_MEMORY 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX 0x0008

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))

/* Fixed devices of the i440FX board. */
#define PCI_DEVFN_HOST PCI_DEVFN(0, 0)
#define PCI_DEVFN_ISA PCI_DEVFN(1, 0)
#define PCI_DEVFN_IDE PCI_DEVFN(1, 1)
#define PCI_DEVFN_PM PCI_DEVFN(1, 3)

/* i440FX registers. */
#define I440FX_PAM0 0x59	/* PAM0..PAM6: 0x59-0x5F */
#define I440FX_SMRAM 0x72
#define PAM_RE 0x1		/* per 4-bit field: reads go to RAM */
#define PAM_WE 0x2		/* writes go to RAM */
#define SMRAM_D_OPEN 0x40
#define SMRAM_D_CLS 0x20
#define SMRAM_D_LCK 0x10
#define SMRAM_G_SMRAME 0x08

/* PIIX3 / PIIX4 registers. */
#define PIIX_PIRQC 0x60		/* PIRQA-D route: 0x60-0x63 */
#define PIIX_PIRQ_DISABLE 0x80
#define PIIX4_PMBASE 0x40
#define PIIX4_DEVACTB 0x58
#define PIIX4_PMREGMISC 0x80
#define PIIX4_SMBBASE 0x90
#define PIIX4_SMBHSTCFG 0xd2

/* BAR kinds. */
enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

#define PCI_ROM_SLOT 6			/* bars[6] is the expansion ROM BAR */
#define PCI_BAR_UNMAPPED UINT64_MAX

struct pci_bar {
	enum pci_bar_kind kind;
	uint64_t size;			/* power of two; I/O >= 4, memory >= 16 */
	bool prefetch;
	uint64_t addr;			/* where it is mapped now, or PCI_BAR_UNMAPPED */
	/* Memory BARs (and the ROM): MMIO callbacks, offset from the BAR. */
	mmio_read_fn mmio_read;
	mmio_write_fn mmio_write;
	/* I/O BARs: callbacks get the port number itself. */
	uint32_t (*io_read)(void *opaque, uint16_t port, unsigned size);
	void (*io_write)(void *opaque, uint16_t port, uint32_t value, unsigned size);
	void *opaque;
	const char *name;
};

struct pci_device {
	struct pci_bus *bus;
	uint8_t devfn;
	const char *name;
	uint8_t config[256];
	uint8_t wmask[256];		/* writable bits */
	uint8_t w1cmask[256];		/* write-1-to-clear bits */
	struct pci_bar bars[7];		/* BAR0-5, then the ROM */
	int irq_level;			/* INTx asserted by the device */
	/* Called after a configuration write was applied (may be NULL). */
	void (*config_written)(struct pci_device *d, unsigned off, unsigned size);
	void *opaque;			/* the device model's state */
};

struct pci_bus_config {
	/* ISA IRQ lines PIIX3 routes PIRQs to (0..15); entries may be empty. */
	struct irq isa_irq[16];
};

/* Creates the bus with the four fixed functions and claims 0xCF8, 0xCFC-0xCFF. */
struct pci_bus *pci_create(struct machine *m, const struct pci_bus_config *cfg, char *err,
			   size_t errlen);
void pci_destroy(struct pci_bus *bus);
/* Power-on state: every device's registers and mappings (PAM back to ROM). */
void pci_reset(struct pci_bus *bus);

/*
 * Adds a device: the caller fills d->config (IDs, class, pin), masks and
 * BARs (pci_set_bar) before or right after; the bus defaults the common
 * masks (command, latency, interrupt line, BARs), and registers the
 * function's configuration space as saved state ("pci-SS.F").
 * 0 or -EBUSY/-ENOMEM/-EEXIST.
 */
int pci_add_device(struct pci_bus *bus, struct pci_device *d, uint8_t devfn)
	__attribute__((warn_unused_result));
struct pci_device *pci_find(struct pci_bus *bus, uint8_t devfn);
/* Declares BAR n (0..5, or PCI_ROM_SLOT); a 64-bit BAR uses n and n+1. */
void pci_set_bar(struct pci_device *d, int n, const struct pci_bar *bar);
/* Sets the device's INTx level (ignored while INTx is disabled in the command register). */
void pci_set_irq(struct pci_device *d, int level);
/* The ISA IRQ a device's INTx reaches now, or -1 (no pin, route disabled). */
int pci_intx_irq(struct pci_bus *bus, const struct pci_device *d);

/* Configuration access as mechanism #1 sees it (tests, firmware helpers). */
uint32_t pci_config_read(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size);
void pci_config_write(struct pci_bus *bus, uint8_t devfn, unsigned off, uint32_t value,
		      unsigned size);

#endif
