/*
 * png.c - PNG encoder (see png.h). Rows use filter type 1 (Sub, PNG
 * spec 9.2), which shrinks flat screen areas to runs of zeros for
 * deflate; the checksums are zlib's crc32 (the PNG CRC) and the zlib
 * stream carries its own Adler-32.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "png.h"

#define PNG_MAX_DIM 32768

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends a chunk (length, type, data, CRC over type and data) at *pos. */
static void chunk(uint8_t *buf, size_t *pos, const char *type, const uint8_t *data, uint32_t len)
{
	uint8_t *p = buf + *pos;
	uLong crc;

	put32(p, len);
	memcpy(p + 4, type, 4);
	if (len)
		memcpy(p + 8, data, len);
	crc = crc32(0, p + 4, 4 + len);
	put32(p + 8 + len, (uint32_t)crc);
	*pos += 12 + len;
}

int png_encode(const uint32_t *pixels, int w, int h, uint8_t **out, size_t *len)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	size_t stride, raw_len, pos = 0;
	uLongf zlen;
	uint8_t *raw, *z, *buf, ihdr[13];

	if (w <= 0 || h <= 0 || w > PNG_MAX_DIM || h > PNG_MAX_DIM)
		return -EINVAL;
	stride = 1 + 3 * (size_t)w;
	raw_len = stride * (size_t)h;
	raw = malloc(raw_len);
	zlen = compressBound(raw_len);
	z = malloc(zlen);
	if (raw == NULL || z == NULL) {
		free(raw);
		free(z);
		return -ENOMEM;
	}
	for (int y = 0; y < h; y++) {
		uint8_t *r = raw + (size_t)y * stride;
		const uint32_t *px = pixels + (size_t)y * (size_t)w;
		uint32_t prev = 0;
		r[0] = 1;	/* Sub: each byte minus the one 3 bytes (one pixel) left */
		for (int x = 0; x < w; x++) {
			uint32_t c = px[x];
			r[1 + 3 * x] = (uint8_t)((c >> 16) - (prev >> 16));
			r[2 + 3 * x] = (uint8_t)((c >> 8) - (prev >> 8));
			r[3 + 3 * x] = (uint8_t)(c - prev);
			prev = c;
		}
	}
	if (compress2(z, &zlen, raw, raw_len, 6) != Z_OK) {
		free(raw);
		free(z);
		return -ENOMEM;
	}
	free(raw);
	buf = malloc(sizeof(sig) + 3 * 12 + sizeof(ihdr) + zlen);
	if (buf == NULL) {
		free(z);
		return -ENOMEM;
	}
	memcpy(buf, sig, sizeof(sig));
	pos = sizeof(sig);
	put32(ihdr, (uint32_t)w);
	put32(ihdr + 4, (uint32_t)h);
	ihdr[8] = 8;	/* bit depth */
	ihdr[9] = 2;	/* colour type: truecolour (RGB) */
	ihdr[10] = 0;	/* deflate */
	ihdr[11] = 0;	/* adaptive filtering */
	ihdr[12] = 0;	/* no interlace */
	chunk(buf, &pos, "IHDR", ihdr, sizeof(ihdr));
	chunk(buf, &pos, "IDAT", z, (uint32_t)zlen);
	chunk(buf, &pos, "IEND", NULL, 0);
	free(z);
	*out = buf;
	*len = pos;
	return 0;
}

int png_write(const char *path, const uint32_t *pixels, int w, int h)
{
	uint8_t *buf;
	size_t len, done = 0;
	char *tmp;
	int fd, r;

	r = png_encode(pixels, w, h, &buf, &len);
	if (r < 0)
		return r;
	tmp = malloc(strlen(path) + 5);
	if (tmp == NULL) {
		free(buf);
		return -ENOMEM;
	}
	sprintf(tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			close(fd);
			unlink(tmp);
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		r = -errno;
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
	}
out:
	free(tmp);
	free(buf);
	return r;
}
