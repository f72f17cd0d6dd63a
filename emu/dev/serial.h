/*
 * serial.h - 16550A UART (COM1 at 0x3F8, IRQ 4) and the character back
 * ends the serial port and the debug console share.
 */
#ifndef NESTEMU_DEV_SERIAL_H
#define NESTEMU_DEV_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/irq.h"

struct machine;

/*
 * A character back end: "stdio" (output to stdout, input from stdin),
 * "file:PATH" (output to PATH, truncated; no input) or "none".
 */
struct serial_backend {
	FILE *out;		/* NULL for "none" */
	bool close_out;		/* out was opened by us */
	int in_fd;		/* -1: no input */
	bool in_eof;
};

/* Opens spec for the device named `what` (used in messages): 0, or -1 with err set. */
int serial_backend_open(struct serial_backend *b, const char *spec, const char *what,
			char *err, size_t errlen) __attribute__((warn_unused_result));
void serial_backend_close(struct serial_backend *b);
void serial_backend_putc(struct serial_backend *b, uint8_t c);
/* Reads one byte if available without blocking: 0..255, or -1. */
int serial_backend_getc(struct serial_backend *b);

struct serial_config {
	const char *backend;	/* see serial_backend; NULL means "none" */
	uint16_t base;		/* I/O base, 0 means 0x3F8 */
	struct irq irq;		/* the interrupt line (COM1: ISA IRQ 4); may be unconnected */
};

struct serial;

/* Creates the UART and claims its 8 ports; NULL with err set on failure. */
struct serial *serial_create(struct machine *m, const struct serial_config *cfg,
			     char *err, size_t errlen);
void serial_destroy(struct serial *s);
void serial_reset(struct serial *s);
/* Interrupt request level (what the irq line is driven to). */
bool serial_irq_level(const struct serial *s);

#endif
