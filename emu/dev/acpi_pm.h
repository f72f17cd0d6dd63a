/*
 * acpi_pm.h - the ACPI fixed-hardware power-management block of a
 * PIIX4-style chipset: PM1a event and control registers, the PM timer,
 * GPE0, and the SCI (ACPI 6.4 ch. 4.8 "ACPI hardware features").
 *
 * The ACPI table generator builds the FADT from these constants:
 *
 *   PM1a_EVT_BLK  ACPI_PM_BASE + 0x00, 4 bytes: PM1_STS (16), PM1_EN (16)
 *   PM1a_CNT_BLK  ACPI_PM_BASE + 0x04, 2 bytes
 *   PM_TMR_BLK    ACPI_PM_BASE + 0x08, 4 bytes, 24-bit counter at 3.579545 MHz
 *                 (FADT flags: TMR_VAL_EXT clear)
 *   GPE0_BLK      ACPI_PM_BASE + 0x20, 8 bytes: GPE0_STS (32), GPE0_EN (32)
 *   SCI_INT       ACPI_SCI_IRQ (ISA IRQ 9, level, active high: MADT
 *                 interrupt source override 9 -> GSI 9, flags 0x000D)
 *   RESET_REG     system I/O ACPI_RESET_PORT, value ACPI_RESET_VALUE (the
 *                 PCI reset control register, modelled by another device)
 *   \_S5          SLP_TYPa = ACPI_SLP_TYP_S5 (the DSDT's _S5 package)
 *   SMI_CMD = 0, ACPI_ENABLE = ACPI_DISABLE = 0: the block is always in
 *   ACPI mode, SCI_EN reads 1 after reset (hardware-reduced SMM-less
 *   style, as QEMU's PIIX4 with SMM disabled).
 *
 * Writing PM1_CNT with SLP_EN and SLP_TYP = S5 powers the machine off:
 * machine_request_exit(m, 0), so nestemu exits with status 0 (the
 * isa-debug-exit port yields odd statuses, so the two never collide).
 * Other sleep types are ignored (logged under -d unimp).
 */
#ifndef NESTEMU_DEV_ACPI_PM_H
#define NESTEMU_DEV_ACPI_PM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"

struct machine;
struct acpi_pm;

#define ACPI_PM_BASE 0x600
#define ACPI_PM_LEN 0x40
#define ACPI_PM1_EVT (ACPI_PM_BASE + 0x00)
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT (ACPI_PM_BASE + 0x04)
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR (ACPI_PM_BASE + 0x08)
#define ACPI_PM_TMR_LEN 4
#define ACPI_GPE0 (ACPI_PM_BASE + 0x20)
#define ACPI_GPE0_LEN 8
#define ACPI_SCI_IRQ 9
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06
#define ACPI_SLP_TYP_S5 0
#define ACPI_PM_TIMER_HZ 3579545ull

/* PM1_STS / PM1_EN bits. */
#define ACPI_PM1_TMR (1u << 0)
#define ACPI_PM1_GBL (1u << 5)
#define ACPI_PM1_PWRBTN (1u << 8)
#define ACPI_PM1_SLPBTN (1u << 9)
#define ACPI_PM1_RTC (1u << 10)
#define ACPI_PM1_WAK (1u << 15)
/* PM1_CNT bits. */
#define ACPI_PM1_SCI_EN (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_EN (1u << 13)

/* Claims the I/O block; sci drives ISA IRQ 9. NULL with err set on failure. */
struct acpi_pm *acpi_pm_create(struct machine *m, struct irq sci, char *err, size_t errlen);
void acpi_pm_destroy(struct acpi_pm *s);
void acpi_pm_reset(struct acpi_pm *s);
/* The power button was pressed (monitor "system_powerdown"): PWRBTN_STS. */
void acpi_pm_power_button(struct acpi_pm *s);
/* Raises GPE0 status bit n (hot-plug and other chipset events). */
void acpi_pm_set_gpe(struct acpi_pm *s, int n);
/* The PM timer's value now (24 bits). */
uint32_t acpi_pm_timer(struct acpi_pm *s);

#endif
