/*
 * debugport.h - the emulator's debug ports: 0xE9 debug console (Bochs/QEMU
 * "debugcon"), 0xF4 isa-debug-exit and the 0x80 POST port.
 */
#ifndef NESTEMU_DEV_DEBUGPORT_H
#define NESTEMU_DEV_DEBUGPORT_H

#include <stddef.h>

struct machine;

struct debugport_config {
	const char *debugcon;	/* back end for 0xE9 (see serial_backend); NULL = none */
};

struct debugport;

/* Claims ports 0xE9, 0xF4 and 0x80; NULL with err set on failure. */
struct debugport *debugport_create(struct machine *m, const struct debugport_config *cfg,
				   char *err, size_t errlen);
void debugport_destroy(struct debugport *d);

#endif
