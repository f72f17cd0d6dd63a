/*
 * pit.h - the 8254 programmable interval timer (0x40-0x43) and port 0x61
 * (NMI status and control: PIT counter 2 gate, speaker data, refresh
 * toggle, OUT2). Counter 0's output is ISA IRQ 0.
 */
#ifndef NESTEMU_DEV_PIT_H
#define NESTEMU_DEV_PIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"

#define PIT_HZ 1193182ull	/* input clock: 14.31818 MHz / 12 */

struct machine;
struct pit;

/* Claims 0x40-0x43 and 0x61; NULL with err set on failure. */
struct pit *pit_create(struct machine *m, struct irq irq0, char *err, size_t errlen);
void pit_destroy(struct pit *p);
void pit_reset(struct pit *p);

/* Counter n's OUT now; the gate of counter 2 (port 0x61 bit 0 drives it). */
bool pit_out(struct pit *p, int n);
void pit_set_gate(struct pit *p, int n, bool level);
/* True while the speaker sounds (gate 2 and speaker data on). */
bool pit_speaker_on(const struct pit *p);

#endif
