/*
 * block.h - disk images behind the disk controllers (IDE, AHCI later).
 *
 * A struct block_backend is an open image: raw or qcow2 (v2/v3, backing
 * files, compressed clusters read through zlib). Controllers see a flat
 * array of bytes of block_size() bytes and call block_read/block_write
 * with byte offsets and lengths that are multiples of 512; block_flush
 * returns once every completed write is on the image file (fdatasync),
 * which is what a guest's FLUSH CACHE waits for.
 *
 * Each format is a struct block_driver (a small function table, STYLE.md
 * principle 4); block_open probes the format when none is given. With
 * snapshot set, writes go to a temporary overlay that is discarded at
 * block_close, and the image file is opened read-only (QEMU's -snapshot).
 *
 * Errors: functions return 0 or a negative errno; block_open writes one
 * sentence that says what to fix into err ("'disk.qcow2' is not a valid
 * qcow2 image: the L1 table lies beyond the end of the file").
 */
#ifndef NESTEMU_BLOCK_BLOCK_H
#define NESTEMU_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block_backend;

struct block_options {
	const char *file;	/* image path */
	const char *format;	/* "raw", "qcow2", or NULL to probe */
	bool read_only;		/* open read-only; writes fail with -EROFS */
	bool snapshot;		/* writes go to a throw-away overlay */
};

int block_open(struct block_backend **out, const struct block_options *o, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void block_close(struct block_backend *b);

/* offset and len are multiples of 512 and offset + len <= block_size(). */
int block_read(struct block_backend *b, uint64_t offset, void *buf, size_t len)
	__attribute__((warn_unused_result));
int block_write(struct block_backend *b, uint64_t offset, const void *buf, size_t len)
	__attribute__((warn_unused_result));
int block_flush(struct block_backend *b) __attribute__((warn_unused_result));

uint64_t block_size(const struct block_backend *b);	/* virtual disk size in bytes */
bool block_read_only(const struct block_backend *b);
const char *block_format(const struct block_backend *b);	/* "raw", "qcow2" */
const char *block_filename(const struct block_backend *b);
/* The backing file chain for `info block` ("base.qcow2 -> base.raw"), or "" when none. */
const char *block_backing_chain(const struct block_backend *b);
/* One sentence on why the last request failed (file and problem), or "" when none has. */
const char *block_last_error(const struct block_backend *b);

#endif
