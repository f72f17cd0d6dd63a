/*
 * devices.c - optional devices added with -device.
 *
 * One table lists every device a user may add: its name, the options it
 * takes, a one-line description, and its create/destroy functions. The
 * command line checks each -device argument against the table before the
 * machine exists (so a typo is one sentence and exit status 1), and the
 * board creates them after its own devices, in command-line order.
 *
 * Option syntax is QEMU's: NAME[,KEY=VALUE]... (`driver=NAME` is accepted
 * for NAME). isa-debug-exit is part of this board at port 0xF4; it is in
 * the table so that the usual kvm-unit-tests command line
 * (`-device isa-debug-exit,iobase=0xf4,iosize=0x4`) is accepted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "machine.h"
#include "dev/testdev.h"

#define MAX_OPTS 8

struct dev_opts {
	char buf[256];
	const char *name;
	const char *key[MAX_OPTS], *val[MAX_OPTS];
	int n;
};

struct dev_kind {
	const char *name;
	const char *const *keys;	/* options it accepts, NULL-terminated */
	const char *desc;
	/* Checks option values: 0, or -1 with err set. NULL: any value. */
	int (*check)(const struct dev_opts *o, char *err, size_t errlen);
	/* Creates the device: its instance (freed with destroy), or NULL with err set. */
	void *(*create)(struct machine *m, const struct dev_opts *o, char *err, size_t errlen);
	void (*destroy)(void *dev);
};

struct devices {
	int n;
	struct {
		const struct dev_kind *kind;
		void *dev;
	} inst[];
};

/* ---- pc-testdev ---- */

static void *testdev_new(struct machine *m, const struct dev_opts *o, char *err, size_t errlen)
{
	return testdev_create(m, err, errlen);
}

static void testdev_free(void *dev)
{
	testdev_destroy(dev);
}

/* ---- isa-debug-exit (built in at 0xF4) ---- */

static int parse_num(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int debug_exit_check(const struct dev_opts *o, char *err, size_t errlen)
{
	for (int i = 0; i < o->n; i++) {
		unsigned long v;
		bool base = strcmp(o->key[i], "iobase") == 0;
		if (parse_num(o->val[i], &v) < 0) {
			snprintf(err, errlen, "invalid value '%s' for isa-debug-exit option %s "
				 "(use a number)", o->val[i], o->key[i]);
			return -1;
		}
		if (base && v != 0xf4) {
			snprintf(err, errlen, "isa-debug-exit is built in at port 0xF4; iobase=%s "
				 "is not supported (use iobase=0xf4 or leave it out)", o->val[i]);
			return -1;
		}
		if (!base && (v < 1 || v > 4)) {
			snprintf(err, errlen, "invalid iosize '%s' for isa-debug-exit (use 1 to 4)",
				 o->val[i]);
			return -1;
		}
	}
	return 0;
}

static void *debug_exit_new(struct machine *m, const struct dev_opts *o, char *err, size_t errlen)
{
	return m;	/* already part of the board (dev/debugport.c) */
}

static void debug_exit_free(void *dev)
{
}

static const char *const no_keys[] = { NULL };
static const char *const debug_exit_keys[] = { "iobase", "iosize", NULL };

static const struct dev_kind kinds[] = {
	{ "pc-testdev", no_keys,
	  "kvm-unit-tests test device: scratch ports 0xE0-0xEB, IRQ lines at 0x2000-0x2017, "
	  "64 KiB memory at 0xFF000000",
	  NULL, testdev_new, testdev_free },
	{ "isa-debug-exit", debug_exit_keys,
	  "port 0xF4: writing V exits with status (V << 1) | 1 (always present; "
	  "iobase=0xf4, iosize=1-4 accepted)",
	  debug_exit_check, debug_exit_new, debug_exit_free },
};

#define NKINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))

void devices_help(FILE *f)
{
	fprintf(f, "Devices for -device NAME[,KEY=VALUE...]:\n");
	for (int i = 0; i < NKINDS; i++)
		fprintf(f, "  %-16s %s\n", kinds[i].name, kinds[i].desc);
}

/* Splits spec into the name and KEY=VALUE pairs: 0, or -1 with err set. */
static int split(const char *spec, struct dev_opts *o, char *err, size_t errlen)
{
	char *p, *save = NULL;

	memset(o, 0, sizeof(*o));
	if (strlen(spec) >= sizeof(o->buf)) {
		snprintf(err, errlen, "-device argument '%.40s...' is too long", spec);
		return -1;
	}
	strcpy(o->buf, spec);
	for (p = strtok_r(o->buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');
		if (o->name == NULL && eq == NULL) {
			o->name = p;
			continue;
		}
		if (eq == NULL || eq == p) {
			snprintf(err, errlen, "invalid -device option '%s' in '%s' (use KEY=VALUE)", p,
				 spec);
			return -1;
		}
		*eq = '\0';
		if (o->name == NULL && strcmp(p, "driver") == 0) {
			o->name = eq + 1;
			continue;
		}
		if (o->n >= MAX_OPTS) {
			snprintf(err, errlen, "too many options in -device '%s'", spec);
			return -1;
		}
		o->key[o->n] = p;
		o->val[o->n++] = eq + 1;
	}
	if (o->name == NULL || o->name[0] == '\0') {
		snprintf(err, errlen, "-device '%s' names no device (-device help lists them)", spec);
		return -1;
	}
	return 0;
}

static const struct dev_kind *find_kind(const struct dev_opts *o, char *err, size_t errlen)
{
	const struct dev_kind *k = NULL;

	for (int i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, o->name) == 0)
			k = &kinds[i];
	if (k == NULL) {
		snprintf(err, errlen, "unknown device '%s' (-device help lists the devices)", o->name);
		return NULL;
	}
	for (int i = 0; i < o->n; i++) {
		bool known = false;
		for (int j = 0; k->keys[j]; j++)
			known |= strcmp(k->keys[j], o->key[i]) == 0;
		if (!known) {
			snprintf(err, errlen, "device %s has no option '%s'%s", k->name, o->key[i],
				 k->keys[0] ? " (-device help lists the options)" : " (it takes none)");
			return NULL;
		}
	}
	if (k->check && k->check(o, err, errlen) < 0)
		return NULL;
	return k;
}

int devices_check(const char *spec, char *err, size_t errlen)
{
	struct dev_opts o;

	if (split(spec, &o, err, errlen) < 0 || find_kind(&o, err, errlen) == NULL)
		return -1;
	return 0;
}

struct devices *devices_create(struct machine *m, const char *const *specs, int n, char *err,
			       size_t errlen)
{
	struct devices *d = calloc(1, sizeof(*d) + (size_t)n * sizeof(d->inst[0]));

	if (d == NULL) {
		snprintf(err, errlen, "out of memory creating the -device devices");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct dev_opts o;
		const struct dev_kind *k;
		void *dev;

		if (split(specs[i], &o, err, errlen) < 0 || (k = find_kind(&o, err, errlen)) == NULL)
			goto fail;
		for (int j = 0; j < d->n; j++)
			if (d->inst[j].kind == k) {
				snprintf(err, errlen, "-device %s is given twice (one is allowed)",
					 k->name);
				goto fail;
			}
		dev = k->create(m, &o, err, errlen);
		if (dev == NULL)
			goto fail;
		d->inst[d->n].kind = k;
		d->inst[d->n++].dev = dev;
	}
	return d;
fail:
	devices_destroy(d);
	return NULL;
}

void devices_destroy(struct devices *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < d->n; i++)
		d->inst[i].kind->destroy(d->inst[i].dev);
	free(d);
}
