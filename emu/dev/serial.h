/*
 * serial.h - 16550A UART (COM1-COM4: 0x3F8/IRQ 4, 0x2F8/IRQ 3, 0x3E8/IRQ 4,
 * 0x2E8/IRQ 3) and the character back ends the serial ports and the debug
 * console share.
 */
#ifndef NESTEMU_DEV_SERIAL_H
#define NESTEMU_DEV_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/irq.h"

struct machine;

struct charsock;

/*
 * A character back end: "stdio" (output to stdout, input from stdin),
 * "file:PATH" (output to PATH, truncated; no input), "none" (or "null"),
 * or a socket: "tcp:HOST:PORT[,server][,nowait]", "unix:PATH[,server][,nowait]"
 * (dev/charsock.h).
 */
struct serial_backend {
	FILE *out;		/* NULL for "none" and sockets */
	bool close_out;		/* out was opened by us */
	int in_fd;		/* -1: no input */
	bool in_eof;
	struct charsock *sock;	/* socket back ends, else NULL */
};

/* Checks the syntax of spec without opening it: 0, or -1 with err set. */
int serial_backend_check(const char *spec, const char *what, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Opens spec for the device named `what` (used in messages): 0, or -1 with err set. */
int serial_backend_open(struct serial_backend *b, const char *spec, const char *what,
			char *err, size_t errlen) __attribute__((warn_unused_result));
void serial_backend_close(struct serial_backend *b);
void serial_backend_putc(struct serial_backend *b, uint8_t c);
/* Reads one byte if available without blocking: 0..255, or -1. */
int serial_backend_getc(struct serial_backend *b);
/* True when input may still arrive (worth polling). */
bool serial_backend_has_input(const struct serial_backend *b);

struct serial_config {
	const char *backend;	/* see serial_backend; NULL means "none" */
	uint16_t base;		/* I/O base, 0 means 0x3F8 */
	const char *name;	/* for messages ("COM2"); NULL means "serial" */
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
