/*
 * devices.h - the devices a user adds with `-device NAME[,KEY=VALUE...]`
 * (QEMU's spelling): the table of names, option checking, creation on a
 * machine, and `-device help`.
 */
#ifndef NESTEMU_DEVICES_H
#define NESTEMU_DEVICES_H

#include <stddef.h>
#include <stdio.h>

struct machine;
struct devices;

/* Checks a -device argument without creating anything: 0, or -1 with err set. */
int devices_check(const char *spec, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Prints the table for `-device help`. */
void devices_help(FILE *f);

/*
 * Creates the devices named by specs[0..n) on m (after the board's own
 * devices exist). Returns the instances to free with devices_destroy, or
 * NULL with err set (n == 0 gives an empty, non-NULL set).
 */
struct devices *devices_create(struct machine *m, const char *const *specs, int n, char *err,
			       size_t errlen);
void devices_destroy(struct devices *d);

#endif
