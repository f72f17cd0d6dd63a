/*
 * block.c - opening disk images and passing requests to their format
 * driver (raw.c, qcow2.c); the snapshot overlay.
 *
 * block_open opens the file (read-only when asked, or in snapshot mode),
 * picks the driver named by the options or the one whose probe scores
 * highest on the first 512 bytes (raw scores 1, so it is the fallback),
 * and lets it read its metadata. Every request is checked here (multiple
 * of 512, inside the disk) before the driver sees it, so drivers may rely
 * on aligned, in-range requests.
 *
 * Snapshot mode: the driver is opened read-only and block.c keeps every
 * 512-byte sector written in an in-memory hash table (sector number ->
 * data); a read asks the driver, then lays the written sectors over the
 * result. Nothing reaches the file, and the table is freed at close.
 *
 * Backing files (block_open_backing) are always opened read-only; a
 * relative name is resolved against the directory of the image that
 * names it. Each backend remembers the image it backs while opening, so
 * a file that appears twice in one chain (same device and inode) is
 * refused, as is a chain deeper than BLOCK_MAX_CHAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/driver.h"

#define SECTOR 512

static const struct block_driver *const drivers[] = {
	&block_raw_driver,
	&block_qcow2_driver,
};

/* ---- snapshot overlay: open addressing on sector numbers ---- */

struct block_overlay {
	uint64_t *keys;		/* sector number + 1; 0 = empty slot */
	uint8_t **data;		/* SECTOR bytes per used slot */
	size_t cap;		/* power of two */
	size_t used;
};

static size_t ov_slot(const struct block_overlay *ov, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 20) & (ov->cap - 1);

	while (ov->keys[i] && ov->keys[i] != key)
		i = (i + 1) & (ov->cap - 1);
	return i;
}

static int ov_grow(struct block_overlay *ov)
{
	struct block_overlay n = { .cap = ov->cap ? ov->cap * 2 : 1024, .used = ov->used };

	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.data = calloc(n.cap, sizeof(*n.data));
	if (!n.keys || !n.data) {
		free(n.keys);
		free(n.data);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ov->cap; i++) {
		if (!ov->keys[i])
			continue;
		size_t j = ov_slot(&n, ov->keys[i]);
		n.keys[j] = ov->keys[i];
		n.data[j] = ov->data[i];
	}
	free(ov->keys);
	free(ov->data);
	*ov = n;
	return 0;
}

static int ov_write(struct block_overlay *ov, uint64_t sector, const uint8_t *src)
{
	if ((ov->used + 1) * 4 > ov->cap * 3) {
		int r = ov_grow(ov);
		if (r < 0)
			return r;
	}
	size_t i = ov_slot(ov, sector + 1);
	if (!ov->keys[i]) {
		ov->data[i] = malloc(SECTOR);
		if (!ov->data[i])
			return -ENOMEM;
		ov->keys[i] = sector + 1;
		ov->used++;
	}
	memcpy(ov->data[i], src, SECTOR);
	return 0;
}

static const uint8_t *ov_find(const struct block_overlay *ov, uint64_t sector)
{
	if (!ov->used)
		return NULL;
	size_t i = ov_slot(ov, sector + 1);
	return ov->keys[i] ? ov->data[i] : NULL;
}

static void ov_free(struct block_overlay *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->cap; i++)
		free(ov->data[i]);
	free(ov->keys);
	free(ov->data);
	free(ov);
}

/* ---- file helpers shared by the drivers ---- */

int block_pread_full(int fd, uint64_t offset, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int block_pwrite_full(int fd, uint64_t offset, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int block_error(struct block_backend *b, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(b->errmsg, sizeof(b->errmsg), "'%s': ", b->filename);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(b->errmsg))
		vsnprintf(b->errmsg + n, sizeof(b->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

const char *block_last_error(const struct block_backend *b)
{
	return b->errmsg;
}

/* ---- opening ---- */

static const struct block_driver *driver_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

static void free_backend(struct block_backend *b)
{
	if (b->fd >= 0)
		close(b->fd);
	ov_free(b->overlay);
	free(b->filename);
	free(b->chain);
	free(b);
}

static int open_common(struct block_backend **out, const char *file, const char *format, bool read_only,
		       bool snapshot, const struct block_backend *parent, char *err, size_t errlen)
{
	struct block_backend *b;
	struct stat st;
	int depth = 0;
	int r;

	*out = NULL;
	for (const struct block_backend *p = parent; p; p = p->parent)
		depth++;
	if (depth > BLOCK_MAX_CHAIN) {
		snprintf(err, errlen, "'%s': the backing file chain is deeper than %d images", file,
			 BLOCK_MAX_CHAIN);
		return -ELOOP;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->filename = strdup(file))) {
		free(b);
		snprintf(err, errlen, "'%s': out of memory", file);
		return -ENOMEM;
	}
	b->read_only = read_only || snapshot;
	b->snapshot = snapshot;
	b->parent = parent;
	b->fd = open(file, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		r = -errno;
		if (!b->read_only && (errno == EACCES || errno == EROFS || errno == EPERM))
			snprintf(err, errlen, "cannot open '%s' for writing: %s (open it read-only or in snapshot mode)",
				 file, strerror(errno));
		else
			snprintf(err, errlen, "cannot open '%s': %s", file, strerror(errno));
		goto fail;
	}
	if (fstat(b->fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot stat '%s': %s", file, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "'%s' is not a regular file or a block device", file);
		goto fail;
	}
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	for (const struct block_backend *p = parent; p; p = p->parent) {
		if (p->dev == b->dev && p->ino == b->ino) {
			r = -ELOOP;
			snprintf(err, errlen, "'%s' is its own backing file (through '%s'): the backing chain loops",
				 file, parent->filename);
			goto fail;
		}
	}

	if (format) {
		b->drv = driver_by_name(format);
		if (!b->drv) {
			r = -EINVAL;
			snprintf(err, errlen, "'%s': unknown disk image format '%s' (use raw or qcow2)", file, format);
			goto fail;
		}
	} else {
		uint8_t head[SECTOR];
		int best = 0;

		r = block_pread_full(b->fd, 0, head, sizeof(head));
		if (r < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", file, strerror(-r));
			goto fail;
		}
		for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
			int score = drivers[i]->probe(head, sizeof(head));
			if (score > best) {
				best = score;
				b->drv = drivers[i];
			}
		}
	}
	r = b->drv->open(b, err, errlen);
	if (r < 0)
		goto fail;
	if (snapshot) {
		b->overlay = calloc(1, sizeof(*b->overlay));
		if (!b->overlay) {
			b->drv->close(b);
			r = -ENOMEM;
			snprintf(err, errlen, "'%s': out of memory", file);
			goto fail;
		}
	}
	b->parent = NULL;
	*out = b;
	return 0;
fail:
	free_backend(b);
	return r;
}

int block_open(struct block_backend **out, const struct block_options *o, char *err, size_t errlen)
{
	if (errlen)
		err[0] = 0;
	if (!o->file || !o->file[0]) {
		*out = NULL;
		snprintf(err, errlen, "no disk image file name given");
		return -EINVAL;
	}
	return open_common(out, o->file, o->format, o->read_only, o->snapshot, NULL, err, errlen);
}

int block_open_backing(struct block_backend **out, const struct block_backend *parent, const char *file,
		       const char *format, char *err, size_t errlen)
{
	char *path;
	int r;

	if (file[0] == '/' || !strchr(parent->filename, '/')) {
		path = strdup(file);
	} else {
		const char *slash = strrchr(parent->filename, '/');
		int dirlen = (int)(slash - parent->filename);
		if (asprintf(&path, "%.*s/%s", dirlen, parent->filename, file) < 0)
			path = NULL;
	}
	if (!path) {
		snprintf(err, errlen, "'%s': out of memory", parent->filename);
		return -ENOMEM;
	}
	r = open_common(out, path, format, true, false, parent, err, errlen);
	free(path);
	return r;
}

void block_close(struct block_backend *b)
{
	if (!b)
		return;
	b->drv->close(b);
	free_backend(b);
}

/* ---- requests ---- */

static bool bad_range(const struct block_backend *b, uint64_t offset, size_t len)
{
	return (offset | len) % SECTOR || offset > b->size || len > b->size - offset;
}

static int range_error(struct block_backend *b, uint64_t offset, size_t len)
{
	return block_error(b, -EINVAL, "request of %zu bytes at %llu is not whole sectors inside the %llu-byte disk",
			   len, (unsigned long long)offset, (unsigned long long)b->size);
}

int block_read(struct block_backend *b, uint64_t offset, void *buf, size_t len)
{
	int r;

	if (bad_range(b, offset, len))
		return range_error(b, offset, len);
	if (!len)
		return 0;
	r = b->drv->read(b, offset, buf, len);
	if (r < 0 || !b->overlay || !b->overlay->used)
		return r;
	for (size_t i = 0; i < len; i += SECTOR) {
		const uint8_t *s = ov_find(b->overlay, (offset + i) / SECTOR);
		if (s)
			memcpy((uint8_t *)buf + i, s, SECTOR);
	}
	return 0;
}

int block_read_zero_ext(struct block_backend *b, uint64_t offset, void *buf, size_t len)
{
	if ((offset | len) % SECTOR)
		return -EINVAL;
	if (offset >= b->size) {
		memset(buf, 0, len);
		return 0;
	}
	if (len > b->size - offset) {
		size_t in = (size_t)(b->size - offset);
		memset((uint8_t *)buf + in, 0, len - in);
		len = in;
	}
	return block_read(b, offset, buf, len);
}

int block_write(struct block_backend *b, uint64_t offset, const void *buf, size_t len)
{
	if (bad_range(b, offset, len))
		return range_error(b, offset, len);
	if (b->overlay) {
		for (size_t i = 0; i < len; i += SECTOR) {
			int r = ov_write(b->overlay, (offset + i) / SECTOR, (const uint8_t *)buf + i);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (b->read_only)
		return block_error(b, -EROFS, "the disk is read-only");
	if (!len)
		return 0;
	return b->drv->write(b, offset, buf, len);
}

int block_flush(struct block_backend *b)
{
	if (b->read_only)
		return 0;
	return b->drv->flush(b);
}

uint64_t block_size(const struct block_backend *b)
{
	return b->size;
}

bool block_read_only(const struct block_backend *b)
{
	return b->read_only && !b->snapshot;
}

const char *block_format(const struct block_backend *b)
{
	return b->drv->name;
}

const char *block_filename(const struct block_backend *b)
{
	return b->filename;
}

const char *block_backing_chain(const struct block_backend *b)
{
	struct block_backend *m = (struct block_backend *)b;	/* the cached string is not state */
	size_t len = 0;
	char *s, *p;

	if (!b->backing)
		return "";
	if (m->chain)
		return m->chain;
	for (const struct block_backend *c = b->backing; c; c = c->backing)
		len += strlen(c->filename) + 4;
	s = malloc(len + 1);
	if (!s)
		return "";
	p = s;
	for (const struct block_backend *c = b->backing; c; c = c->backing)
		p += sprintf(p, "%s%s", c == b->backing ? "" : " -> ", c->filename);
	m->chain = s;
	return s;
}
