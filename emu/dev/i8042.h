/*
 * i8042.h - the 8042 keyboard controller (data 0x60, status/command 0x64)
 * with a PS/2 keyboard (ISA IRQ 1) and a PS/2 mouse on the aux port
 * (ISA IRQ 12). The controller's output port drives the A20 gate and the
 * CPU reset line.
 */
#ifndef NESTEMU_DEV_I8042_H
#define NESTEMU_DEV_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"

struct machine;
struct i8042;

/* Claims 0x60 and 0x64; NULL with err set on failure. */
struct i8042 *i8042_create(struct machine *m, struct irq irq1, struct irq irq12,
			   char *err, size_t errlen);
void i8042_destroy(struct i8042 *k);
void i8042_reset(struct i8042 *k);

/*
 * Host input. key is a scan code set 1 make code (0x01-0x7F), 0xE0xx for
 * the extended keys; the keyboard sends it in its current scan code set
 * (set 2 translated to set 1 when the command byte asks for it) and
 * repeats a held key at the typematic rate. Mouse motion: dy > 0 is up;
 * buttons bit 0 left, 1 right, 2 middle.
 */
void i8042_key_event(struct i8042 *k, uint16_t key, bool down);
void i8042_mouse_event(struct i8042 *k, int dx, int dy, int dz, unsigned buttons);

/* The keyboard LEDs last set by the guest (bit 0 scroll, 1 num, 2 caps). */
uint8_t i8042_leds(const struct i8042 *k);

#endif
