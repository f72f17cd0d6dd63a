/*
 * snapshot.h - savevm / loadvm / delvm: the whole machine state in one
 * file per snapshot, DIR/NAME.nsnap.
 *
 * The directory is the monitor's choice (default ./nestemu-snapshots;
 * once disks exist, next to the first disk image). A file is a fixed
 * header (magic, format version, the machine's RAM size, vCPU count and
 * CPU model, name, time, retired-instruction count, payload sizes, CRC32
 * of the compressed payload and of the header) followed by the payload,
 * zlib-compressed: every section registered with the machine (emu/state.h)
 * as { name, version, size, bytes }.
 *
 * Saving writes DIR/NAME.tmp, fsyncs it and renames it over NAME.nsnap,
 * so a crash never leaves a half-written snapshot under the real name.
 * Loading reads the whole file, checks the header, decompresses and
 * checks every section against the running machine BEFORE changing
 * anything: a corrupt, truncated or incompatible file leaves the machine
 * exactly as it was, with one sentence in err.
 */
#ifndef NESTEMU_SNAPSHOT_H
#define NESTEMU_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct machine;

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_SUFFIX ".nsnap"

/* Snapshot names: 1-64 characters of [A-Za-z0-9_.-], not starting with '.'. */
int snapshot_check_name(const char *name, char *err, size_t errlen)
	__attribute__((warn_unused_result));

int snapshot_save(struct machine *m, const char *dir, const char *name, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int snapshot_load(struct machine *m, const char *dir, const char *name, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int snapshot_delete(const char *dir, const char *name, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Prints one line per snapshot in dir (name, date, size, instructions). */
void snapshot_list(const char *dir, FILE *out);

/* The same, on a file path (tests; the monitor uses DIR/NAME). */
int snapshot_save_file(struct machine *m, const char *path, const char *name, char *err,
		       size_t errlen) __attribute__((warn_unused_result));
int snapshot_load_file(struct machine *m, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
