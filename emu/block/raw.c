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
	int r = block_pread_full(b->fd, offset, buf, len);

	return r < 0 ? block_error(b, r, "read error at offset %llu: %s", (unsigned long long)offset, strerror(-r))
		     : 0;
}

static int raw_write(struct block_backend *b, uint64_t offset, const void *buf, size_t len)
{
	int r = block_pwrite_full(b->fd, offset, buf, len);

	return r < 0 ? block_error(b, r, "write error at offset %llu: %s", (unsigned long long)offset,
				   strerror(-r))
		     : 0;
}

static int raw_flush(struct block_backend *b)
{
	if (fdatasync(b->fd) < 0) {
		int r = -errno;
		return block_error(b, r, "fdatasync failed: %s", strerror(errno));
	}
	return 0;
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
