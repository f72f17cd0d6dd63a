/*
 * raw.c - raw disk images: the file is the disk, byte for byte.
 *
 * The disk size is the file size rounded up to 512 bytes (as QEMU does);
 * the part of the last sector beyond the end of the file reads as zeros.
 * Writes are pwrite, flush is fdatasync. Probing always scores 1, the
 * lowest score, so raw is what a file is when no other format claims it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/driver.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
	return 1;
}

static int raw_open(struct block_backend *b, char *err, size_t errlen)
{
	off_t end = lseek(b->fd, 0, SEEK_END);

	if (end < 0) {
		int r = -errno;
		snprintf(err, errlen, "cannot find the size of '%s': %s", b->filename, strerror(errno));
		return r;
	}
	b->size = ((uint64_t)end + 511) & ~511ull;
	return 0;
}

static void raw_close(struct block_backend *b)
{
}

static int raw_read(struct block_backend *b, uint64_t offset, void *buf, size_t len)
{
	return block_pread_full(b->fd, offset, buf, len);
}

static int raw_write(struct block_backend *b, uint64_t offset, const void *buf, size_t len)
{
	return block_pwrite_full(b->fd, offset, buf, len);
}

static int raw_flush(struct block_backend *b)
{
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

const struct block_driver block_raw_driver = {
	.name = "raw",
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.read = raw_read,
	.write = raw_write,
	.flush = raw_flush,
};
