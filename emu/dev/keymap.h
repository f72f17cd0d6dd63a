/*
 * keymap.h - key names and host key codes to PC scan code set 1, the
 * codes i8042_key_event takes (make codes; 0xE0xx for the extended keys).
 *
 * Names are QEMU's (the monitor's sendkey: "a", "ret", "ctrl", "alt_r",
 * "f1", "kp_enter", "delete", ...); host codes are USB HID keyboard usage
 * IDs (HID Usage Tables, page 0x07), which SDL's scancodes are.
 */
#ifndef NESTEMU_DEV_KEYMAP_H
#define NESTEMU_DEV_KEYMAP_H

#include <stdint.h>

/* The set 1 code of a key name, or of a number ("0x1e"); -1 when unknown. */
int keymap_from_name(const char *name);
/* The set 1 code of a USB HID usage ID; 0 when the key has none. */
uint16_t keymap_from_usb(unsigned usage);

#endif
