/*
 * driver.h - what the format drivers of emu/block/ share with block.c.
 * Not part of the public interface: controllers include block.h only.
 *
 * block.c owns struct block_backend: it opens the image file, picks a
 * struct block_driver (given or probed from the first bytes), and passes
 * every request on to it. A driver keeps its state behind `priv`, sets
 * `size` in open, and may open a backing file with block_open_backing,
 * which walks the chain of files already open (`parent`) to refuse loops.
 * Snapshot mode is handled above the drivers (block.c): a driver is then
 * opened read-only and never sees a write.
 */
#ifndef NESTEMU_BLOCK_DRIVER_H
#define NESTEMU_BLOCK_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "block/block.h"

struct block_overlay;

struct block_driver {
	const char *name;
	/* How sure the driver is that these first bytes are its format (0: not at all). */
	int (*probe)(const uint8_t *buf, size_t len);
	/* b->fd, b->filename, b->read_only are set; sets b->size and b->priv. */
	int (*open)(struct block_backend *b, char *err, size_t errlen);
	void (*close)(struct block_backend *b);
	/* Requests are 512-aligned and inside b->size (block.c checks). */
	int (*read)(struct block_backend *b, uint64_t offset, void *buf, size_t len);
	int (*write)(struct block_backend *b, uint64_t offset, const void *buf, size_t len);
	int (*flush)(struct block_backend *b);
};

struct block_backend {
	const struct block_driver *drv;
	void *priv;			/* driver state */
	int fd;				/* the image file */
	char *filename;			/* as given (backing names resolved against the image's directory) */
	dev_t dev;			/* identity of the file, for loop detection */
	ino_t ino;
	uint64_t size;			/* virtual disk size in bytes, a multiple of 512 */
	bool read_only;			/* writes fail with -EROFS */
	bool snapshot;			/* writes go to `overlay` */
	struct block_overlay *overlay;	/* snapshot sectors written, NULL when not in snapshot mode */
	struct block_backend *backing;	/* owned by the driver that opened it; for the chain string */
	const struct block_backend *parent;	/* the image this one backs, while opening (loop check) */
	char *chain;			/* block_backing_chain's string, built on first use */
	char errmsg[256];		/* block_last_error's sentence */
};

/* Records "'file': <message>" as b's last error and returns err (a negative errno). */
int block_error(struct block_backend *b, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

extern const struct block_driver block_raw_driver;
extern const struct block_driver block_qcow2_driver;

/*
 * Open `file` as the backing file of `parent` (read-only; format probed
 * when NULL). A relative name is taken relative to the directory of
 * parent's file. Refuses a file already in the chain above, and chains
 * deeper than BLOCK_MAX_CHAIN.
 */
#define BLOCK_MAX_CHAIN 256
int block_open_backing(struct block_backend **out, const struct block_backend *parent, const char *file,
		       const char *format, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Read any byte range of b: the part beyond block_size() reads as zeros
 * (a backing file smaller than the image it backs). Offsets and lengths
 * must still be multiples of 512.
 */
int block_read_zero_ext(struct block_backend *b, uint64_t offset, void *buf, size_t len)
	__attribute__((warn_unused_result));

/* pread/pwrite of exactly len bytes, retried on EINTR and short counts; pread fills zeros past EOF. */
int block_pread_full(int fd, uint64_t offset, void *buf, size_t len) __attribute__((warn_unused_result));
int block_pwrite_full(int fd, uint64_t offset, const void *buf, size_t len) __attribute__((warn_unused_result));

#endif
