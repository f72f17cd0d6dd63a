/*
 * log.c - QEMU-style "-d LIST -D FILE" logging categories.
 *
 * The mask lives in struct log (one per machine); log_on() in log.h is the
 * cheap test call sites use before formatting anything.
 */
#include <stdarg.h>
#include <string.h>

#include "log.h"

static const struct {
	const char *name;
	unsigned bit;
	const char *help;
} log_names[] = {
	{ "int", LOG_INT, "every exception and interrupt delivered" },
	{ "cpu_reset", LOG_CPU_RESET, "CPU state at reset" },
	{ "guest_errors", LOG_GUEST_ERRORS, "guest did something wrong (unclaimed ports, ...)" },
	{ "unimp", LOG_UNIMP, "guest used something not implemented" },
	{ "post", LOG_POST, "writes to the POST diagnostic port 0x80" },
	{ "in_asm", LOG_IN_ASM, "each decoded block, disassembled" },
	{ "exec", LOG_EXEC, "each block executed" },
	{ "cpu", LOG_CPU, "registers before each block" },
};

#define NLOG_NAMES (sizeof(log_names) / sizeof(log_names[0]))

int log_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
	unsigned m = 0;
	const char *p = list;

	if (list == NULL || *list == '\0') {
		snprintf(err, errlen, "-d needs a comma-separated list of log items (try -d help)");
		return -1;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool found = false;

		if (len == 3 && strncmp(p, "all", 3) == 0) {
			for (size_t k = 0; k < NLOG_NAMES; k++)
				m |= log_names[k].bit;
			found = true;
		}
		for (size_t k = 0; k < NLOG_NAMES && !found; k++) {
			if (strlen(log_names[k].name) == len && strncmp(p, log_names[k].name, len) == 0) {
				m |= log_names[k].bit;
				found = true;
			}
		}
		if (!found && len > 0) {
			snprintf(err, errlen, "unknown log item '%.*s' (try -d help)", (int)len, p);
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	*mask = m;
	return 0;
}

void log_help(FILE *f)
{
	fprintf(f, "Log items (comma separated, for -d):\n");
	for (size_t k = 0; k < NLOG_NAMES; k++)
		fprintf(f, "  %-13s %s\n", log_names[k].name, log_names[k].help);
	fprintf(f, "  %-13s %s\n", "all", "every item above");
}

void log_printf(struct log *l, const char *fmt, ...)
{
	FILE *out = l->out ? l->out : stderr;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}
