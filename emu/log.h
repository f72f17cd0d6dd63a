/*
 * log.h - QEMU-style "-d LIST -D FILE" logging.
 *
 * Each category is a bit; log_on() is one load and test, so call sites on
 * hot paths cost nothing when logging is off.
 */
#ifndef NESTEMU_LOG_H
#define NESTEMU_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_kind {
	LOG_INT = 1u << 0,		/* every exception and interrupt */
	LOG_CPU_RESET = 1u << 1,	/* CPU state at reset */
	LOG_GUEST_ERRORS = 1u << 2,	/* guest did something wrong (not a fault) */
	LOG_UNIMP = 1u << 3,		/* guest used something not implemented */
	LOG_POST = 1u << 4,		/* writes to the POST port 0x80 */
	LOG_IN_ASM = 1u << 5,		/* each decoded block, disassembled */
	LOG_EXEC = 1u << 6,		/* each block executed */
	LOG_CPU = 1u << 7,		/* registers before each block */
};

struct log {
	unsigned mask;
	FILE *out;		/* stderr unless -D FILE */
};

/* Parses "int,cpu_reset,..." into a mask; -1 with err set on an unknown name. */
int log_parse(const char *list, unsigned *mask, char *err, size_t errlen);
/* The "-d help" text. */
void log_help(FILE *f);

static inline bool log_on(const struct log *l, unsigned kind)
{
	return (l->mask & kind) != 0;
}

void log_printf(struct log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
