/*
 * sysctl.h - chipset system control ports: 0x92 (System Control Port A:
 * fast A20 and fast reset), 0xCF9 (PIIX/ICH Reset Control Register) and
 * 0xF0 (coprocessor error clear: drops the FERR# IRQ 13).
 * Port 0x61 (NMI status and control) belongs to the PIT (pit.h).
 */
#ifndef NESTEMU_DEV_SYSCTL_H
#define NESTEMU_DEV_SYSCTL_H

#include <stddef.h>

struct machine;
struct sysctl;

/* Claims 0x92, 0xCF9 and 0xF0; NULL with err set on failure. */
struct sysctl *sysctl_create(struct machine *m, char *err, size_t errlen);
void sysctl_destroy(struct sysctl *s);
void sysctl_reset(struct sysctl *s);

#endif
