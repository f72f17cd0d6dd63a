/*
 * state.h - saved state, declared once (STYLE.md principle 12).
 *
 * A module lists the fields of its state in one table of struct
 * state_field {name, offset, size, count}; a struct state_section names
 * the table, its version and the instance it describes, and is registered
 * with the machine. Snapshots (emu/snapshot.c) save and load every
 * registered section from these tables, and the monitor prints them
 * ("info state"), so a new field is added in one place.
 *
 * A section's saved image is its fields' bytes in table order (host byte
 * order: snapshots are not portable between hosts of different
 * endianness), followed by an optional blob (guest RAM). A snapshot is
 * only loaded when every section's name, version and image size match
 * the running machine's; a changed table must bump its version.
 */
#ifndef NESTEMU_STATE_H
#define NESTEMU_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct machine;

/* How `info state` prints a field (the saved bytes do not depend on it). */
enum state_fmt { SF_HEX, SF_DEC, SF_BOOL };

struct state_field {
	const char *name;	/* NULL ends the table */
	size_t offset;		/* from the section's base */
	uint32_t size;		/* bytes of one element (any size; 1/2/4/8 print as numbers) */
	uint32_t count;		/* elements */
	uint8_t fmt;		/* enum state_fmt */
};

#define STATE_MEMBER_SIZE(type, m) ((uint32_t)sizeof(((type *)0)->m))
/* One scalar or struct member. */
#define STATE_FIELD(type, m, f) { #m, offsetof(type, m), STATE_MEMBER_SIZE(type, m), 1, f }
/* An array member: one entry per element. */
#define STATE_ARRAY(type, m, f)                                                             \
	{ #m, offsetof(type, m), STATE_MEMBER_SIZE(type, m[0]),                              \
	  (uint32_t)(sizeof(((type *)0)->m) / sizeof(((type *)0)->m[0])), f }
#define STATE_END { NULL, 0, 0, 0, 0 }

struct state_section {
	const char *name;	/* unique in the machine: "cpu0", "ram", "serial0" */
	uint32_t version;	/* bump whenever the table or the blob's meaning changes */
	const struct state_field *fields;	/* may be NULL (blob only) */
	void *base;		/* the instance the offsets apply to */
	/* Optional bulk data saved after the fields (guest RAM): its current
	 * host address and length. */
	void *(*blob)(void *base, size_t *len);
	/* Optional hooks: make the fields current before a save (lazy flags),
	 * rebuild derived state after a load (mode caches, TLB). */
	void (*pre_save)(void *base);
	void (*post_load)(void *base);
};

/*
 * Registers a section (copied, name included; the field table must
 * outlive the machine). Returns 0, -EEXIST for a duplicate name or -ENOMEM.
 */
int machine_register_state(struct machine *m, const struct state_section *s)
	__attribute__((warn_unused_result));

/* Drops a section (tests replacing a board device with their own
 * instance). 0 or -ENOENT. */
int state_unregister(struct machine *m, const char *name);

/* The registry hanging off struct machine (m->state). */
struct state_registry;
void state_registry_free(struct state_registry *reg);
int state_count(const struct machine *m);
const struct state_section *state_get(const struct machine *m, int idx);
const struct state_section *state_find(const struct machine *m, const char *name);

/* Bytes of the fields' image (without the blob). */
size_t state_fields_size(const struct state_section *s);
/* Copies the fields to out (state_fields_size bytes) / from in. */
void state_fields_save(const struct state_section *s, uint8_t *out);
void state_fields_load(const struct state_section *s, const uint8_t *in);
/* Prints "name = value" lines for every field (filter: field-name prefix or NULL). */
void state_print(const struct state_section *s, FILE *out, const char *filter);

/* Registers the core sections (cpuN for every vCPU, then "ram") unless
 * already done; snapshot and monitor code call it before using the registry. */
int state_register_core(struct machine *m) __attribute__((warn_unused_result));

#endif
