/*
 * qcow2.c - QEMU copy-on-write images (docs/interop/qcow2.txt).
 *
 * Recognised by their magic so that a qcow2 file is never taken for a
 * raw disk; reading the format follows.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "block/driver.h"

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, "QFI\xfb", 4) ? 100 : 0;
}

static int qcow2_open(struct block_backend *b, char *err, size_t errlen)
{
	snprintf(err, errlen, "'%s' is a qcow2 image, which this build cannot open yet: convert it with "
		 "'qemu-img convert -O raw'", b->filename);
	return -ENOTSUP;
}

static void qcow2_close(struct block_backend *b)
{
}

static int qcow2_rw(struct block_backend *b, uint64_t offset, void *buf, size_t len)
{
	return -EIO;
}

static int qcow2_wr(struct block_backend *b, uint64_t offset, const void *buf, size_t len)
{
	return -EIO;
}

static int qcow2_flush(struct block_backend *b)
{
	return -EIO;
}

const struct block_driver block_qcow2_driver = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.read = qcow2_rw,
	.write = qcow2_wr,
	.flush = qcow2_flush,
};
