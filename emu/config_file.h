/*
 * config_file.h - the -config FILE reader: INI files whose [machine] section
 * holds keys named like the command-line options.
 *
 *   # comment (also ';')
 *   [machine]
 *   m = 512M
 *   smp = 2
 *   kernel = "guest.elf"      ; quotes are optional, and stripped
 *   no-reboot = yes
 *
 * The reader checks the syntax, the section and the key names; the caller
 * (main.c) checks the values with the same code as the options. Paths are
 * taken as written (relative to the current directory).
 */
#ifndef NESTEMU_CONFIG_FILE_H
#define NESTEMU_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

struct config_entry {
	char *key;
	char *value;
	int line;		/* 1-based line in the file */
};

struct config_file {
	struct config_entry *e;
	int n;
};

/*
 * Reads path; keys must be in `keys` (NULL-terminated) and inside
 * [section]. Returns 0, or -1 with one sentence "FILE:LINE: ..." in err.
 */
int config_load(const char *path, const char *section, const char *const *keys,
		struct config_file *cfg, char *err, size_t errlen) __attribute__((warn_unused_result));
void config_free(struct config_file *cfg);
/* yes/no, on/off, true/false, 1/0. */
bool config_parse_bool(const char *v, bool *out);

#endif
