/*
 * config_file.c - the INI reader behind -config (format in config_file.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_file.h"

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

bool config_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" }, *const no[] = { "no", "off",
										       "false", "0" };
	for (int k = 0; k < 4; k++) {
		if (!strcasecmp(v, yes[k])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[k])) {
			*out = false;
			return true;
		}
	}
	return false;
}

void config_free(struct config_file *cfg)
{
	for (int i = 0; i < cfg->n; i++) {
		free(cfg->e[i].key);
		free(cfg->e[i].value);
	}
	free(cfg->e);
	cfg->e = NULL;
	cfg->n = 0;
}

int config_load(const char *path, const char *section, const char *const *keys,
		struct config_file *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	int line = 0;
	bool in_section = false;

	cfg->e = NULL;
	cfg->n = 0;
	if (f == NULL) {
		snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line is too long", path, line);
			goto fail;
		}
		char *s = trim(buf);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (end == NULL || *trim(end + 1) != '\0') {
				snprintf(err, errlen, "%s:%d: malformed section header '%s' (use [%s])", path,
					 line, s, section);
				goto fail;
			}
			*end = '\0';
			if (strcmp(trim(s + 1), section) != 0) {
				snprintf(err, errlen, "%s:%d: unknown section [%s] (only [%s] exists)", path,
					 line, trim(s + 1), section);
				goto fail;
			}
			in_section = true;
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value', found '%s'", path, line, s);
			goto fail;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		if (!in_section) {
			snprintf(err, errlen, "%s:%d: key '%s' outside a section (put it under [%s])", path,
				 line, key, section);
			goto fail;
		}
		bool known = false;
		for (int k = 0; keys[k]; k++)
			known |= !strcmp(keys[k], key);
		if (!known) {
			char list[512] = "";
			for (int k = 0; keys[k]; k++) {
				if (k)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, keys[k], sizeof(list) - strlen(list) - 1);
			}
			snprintf(err, errlen, "%s:%d: unknown key '%s' in [%s] (known keys: %s)", path,
				 line, key, section, list);
			goto fail;
		}
		struct config_entry *ne = realloc(cfg->e, (size_t)(cfg->n + 1) * sizeof(*ne));
		if (ne == NULL) {
			snprintf(err, errlen, "out of memory reading '%s'", path);
			goto fail;
		}
		cfg->e = ne;
		ne[cfg->n] = (struct config_entry){ strdup(key), strdup(val), line };
		cfg->n++;
		if (ne[cfg->n - 1].key == NULL || ne[cfg->n - 1].value == NULL) {
			snprintf(err, errlen, "out of memory reading '%s'", path);
			goto fail;
		}
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	config_free(cfg);
	return -1;
}
