/*
 * snapshot.c - snapshot files (format in snapshot.h).
 *
 * Integers in the header are little-endian; section images are in host
 * order (state.h). The payload CRC covers the compressed bytes (cheap to
 * check before inflating); zlib's own Adler-32 then guards the inflated
 * stream, and the section sizes must match the machine exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <zlib.h>

#include "snapshot.h"
#include "machine.h"
#include "state.h"
#include "cpu/cpuid.h"

#define MAGIC "NESTSNAP"
#define HDR_SIZE 168
#define CHUNK (1u << 20)

struct snap_header {
	uint32_t version, header_size, ncpus, nsections;
	uint64_t ram_size, time, icount, payload_size, zsize;
	char model[32];
	char name[64];
	uint32_t zcrc;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int k = 3; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

static void encode_header(const struct snap_header *h, uint8_t *b)
{
	memset(b, 0, HDR_SIZE);
	memcpy(b, MAGIC, 8);
	put32(b + 8, h->version);
	put32(b + 12, HDR_SIZE);
	put64(b + 16, h->ram_size);
	put32(b + 24, h->ncpus);
	put32(b + 28, h->nsections);
	memcpy(b + 32, h->model, 31);
	memcpy(b + 64, h->name, 63);
	put64(b + 128, h->time);
	put64(b + 136, h->icount);
	put64(b + 144, h->payload_size);
	put64(b + 152, h->zsize);
	put32(b + 160, h->zcrc);
	put32(b + 164, (uint32_t)crc32(0, b, 164));
}

/* Decodes and checks the header; -1 with err (path-prefixed) on failure. */
static int decode_header(const uint8_t *b, size_t len, struct snap_header *h, const char *path,
			 char *err, size_t errlen)
{
	if (len < HDR_SIZE || memcmp(b, MAGIC, 8) != 0) {
		snprintf(err, errlen, "'%s' is not a nestemu snapshot%s", path,
			 len < HDR_SIZE && len >= 8 && !memcmp(b, MAGIC, 8) ? " (truncated header)" : "");
		return -1;
	}
	if (get32(b + 164) != (uint32_t)crc32(0, b, 164)) {
		snprintf(err, errlen, "snapshot '%s' is corrupt (header checksum mismatch)", path);
		return -1;
	}
	memset(h, 0, sizeof(*h));
	h->version = get32(b + 8);
	h->header_size = get32(b + 12);
	h->ram_size = get64(b + 16);
	h->ncpus = get32(b + 24);
	h->nsections = get32(b + 28);
	memcpy(h->model, b + 32, 31);
	memcpy(h->name, b + 64, 63);
	h->time = get64(b + 128);
	h->icount = get64(b + 136);
	h->payload_size = get64(b + 144);
	h->zsize = get64(b + 152);
	h->zcrc = get32(b + 160);
	if (h->version != SNAPSHOT_VERSION || h->header_size != HDR_SIZE) {
		snprintf(err, errlen,
			 "snapshot '%s' has format version %u; this nestemu reads version %u",
			 path, h->version, SNAPSHOT_VERSION);
		return -1;
	}
	return 0;
}

int snapshot_check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || strspn(name,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
		snprintf(err, errlen,
			 "invalid snapshot name '%s' (use 1 to 64 letters, digits, '_', '.' or '-', not starting with '.')",
			 name);
		return -1;
	}
	return 0;
}

static int snap_path(char *buf, size_t len, const char *dir, const char *name, const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* ---- Save ---- */

struct zout {
	FILE *f;
	z_stream z;
	uint8_t *buf;
	uint64_t zsize, raw;
	uint32_t zcrc;
	int err;
};

static int zflush_out(struct zout *o)
{
	size_t have = CHUNK - o->z.avail_out;
	if (have && fwrite(o->buf, 1, have, o->f) != have)
		return -1;
	o->zcrc = (uint32_t)crc32(o->zcrc, o->buf, (uInt)have);
	o->zsize += have;
	o->z.next_out = o->buf;
	o->z.avail_out = CHUNK;
	return 0;
}

static int zput(struct zout *o, const void *data, size_t len, int flush)
{
	const uint8_t *p = data;

	o->raw += len;
	for (;;) {
		size_t piece = len > (1u << 30) ? (1u << 30) : len;
		int fl = len - piece ? Z_NO_FLUSH : flush;
		o->z.next_in = (Bytef *)(uintptr_t)p;
		o->z.avail_in = (uInt)piece;
		for (;;) {
			int r = deflate(&o->z, fl);
			if (r == Z_STREAM_ERROR)
				return -1;
			if (o->z.avail_out == 0) {
				if (zflush_out(o) < 0)
					return -1;
				continue;
			}
			if (fl == Z_FINISH) {
				if (r == Z_STREAM_END)
					return zflush_out(o);
				continue;
			}
			if (o->z.avail_in == 0)
				break;
		}
		p += piece;
		len -= piece;
		if (len == 0)
			return 0;
	}
}

int snapshot_save_file(struct machine *m, const char *path, const char *name, char *err,
		       size_t errlen)
{
	struct zout o = { 0 };
	struct snap_header h = { 0 };
	uint8_t hdr[HDR_SIZE];
	int r;

	if ((r = state_register_core(m)) < 0) {
		snprintf(err, errlen, "cannot register the machine state: %s", strerror(-r));
		return -1;
	}
	o.f = fopen(path, "wb");
	if (o.f == NULL) {
		snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	o.buf = malloc(CHUNK);
	if (o.buf == NULL || deflateInit(&o.z, Z_BEST_SPEED) != Z_OK) {
		free(o.buf);
		fclose(o.f);
		remove(path);
		snprintf(err, errlen, "out of memory saving a snapshot");
		return -1;
	}
	o.z.next_out = o.buf;
	o.z.avail_out = CHUNK;
	memset(hdr, 0, sizeof(hdr));
	bool ok = fwrite(hdr, 1, HDR_SIZE, o.f) == HDR_SIZE;

	for (int i = 0; ok && i < state_count(m); i++) {
		const struct state_section *s = state_get(m, i);
		size_t fsz = state_fields_size(s), blen = 0;
		void *blob = NULL;
		uint8_t head[2 + 255 + 12];
		size_t nl = strlen(s->name);

		if (s->pre_save)
			s->pre_save(s->base);
		if (s->blob)
			blob = s->blob(s->base, &blen);
		if (nl > 255)
			nl = 255;
		head[0] = (uint8_t)nl;
		head[1] = (uint8_t)(nl >> 8);
		memcpy(head + 2, s->name, nl);
		put32(head + 2 + nl, s->version);
		put64(head + 6 + nl, (uint64_t)fsz + blen);
		uint8_t *img = malloc(fsz ? fsz : 1);
		if (img == NULL) {
			ok = false;
			break;
		}
		state_fields_save(s, img);
		ok = zput(&o, head, 14 + nl, Z_NO_FLUSH) == 0 && zput(&o, img, fsz, Z_NO_FLUSH) == 0 &&
		     (blen == 0 || zput(&o, blob, blen, Z_NO_FLUSH) == 0);
		free(img);
		h.nsections++;
	}
	ok = ok && zput(&o, "", 0, Z_FINISH) == 0;
	deflateEnd(&o.z);
	free(o.buf);

	h.version = SNAPSHOT_VERSION;
	h.ram_size = m->mem.ram_size;
	h.ncpus = (uint32_t)m->ncpus;
	if (m->cpus[0]->model)
		snprintf(h.model, sizeof(h.model), "%s", m->cpus[0]->model->name);
	snprintf(h.name, sizeof(h.name), "%s", name ? name : "");
	h.time = (uint64_t)time(NULL);
	h.icount = m->cpus[0]->icount;
	h.payload_size = o.raw;
	h.zsize = o.zsize;
	h.zcrc = o.zcrc;
	encode_header(&h, hdr);
	ok = ok && fseek(o.f, 0, SEEK_SET) == 0 && fwrite(hdr, 1, HDR_SIZE, o.f) == HDR_SIZE &&
	     fflush(o.f) == 0 && fsync(fileno(o.f)) == 0;
	int e = errno;
	if (fclose(o.f) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		remove(path);
		snprintf(err, errlen, "cannot write snapshot '%s': %s", path, strerror(e ? e : EIO));
		return -1;
	}
	return 0;
}

int snapshot_save(struct machine *m, const char *dir, const char *name, char *err, size_t errlen)
{
	char tmp[4096], final[4096];

	if (snapshot_check_name(name, err, errlen) < 0)
		return -1;
	if (snap_path(tmp, sizeof(tmp), dir, name, ".tmp") < 0 ||
	    snap_path(final, sizeof(final), dir, name, SNAPSHOT_SUFFIX) < 0) {
		snprintf(err, errlen, "snapshot directory path is too long");
		return -1;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create snapshot directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (snapshot_save_file(m, tmp, name, err, errlen) < 0)
		return -1;
	if (rename(tmp, final) < 0) {
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, final, strerror(errno));
		remove(tmp);
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		(void)fsync(dfd);	/* make the rename durable */
		close(dfd);
	}
	return 0;
}

/* ---- Load ---- */

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open snapshot '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "snapshot '%s' is not a regular file", path);
		fclose(f);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory reading snapshot '%s'", path);
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (*len != (size_t)st.st_size || ferror(f)) {
		snprintf(err, errlen, "cannot read snapshot '%s'", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return buf;
}

struct parsed {
	const struct state_section *s;
	const uint8_t *data;
	uint64_t size;
};

int snapshot_load_file(struct machine *m, const char *path, char *err, size_t errlen)
{
	struct snap_header h;
	size_t len = 0;
	uint8_t *file, *payload = NULL;
	struct parsed *secs = NULL;
	int r, ret = -1;

	if ((r = state_register_core(m)) < 0) {
		snprintf(err, errlen, "cannot register the machine state: %s", strerror(-r));
		return -1;
	}
	file = read_file(path, &len, err, errlen);
	if (file == NULL)
		return -1;
	if (decode_header(file, len, &h, path, err, errlen) < 0)
		goto out;
	if (h.zsize != len - HDR_SIZE) {
		snprintf(err, errlen, "snapshot '%s' is %s (%llu payload bytes, header says %llu)", path,
			 h.zsize > len - HDR_SIZE ? "truncated" : "corrupt",
			 (unsigned long long)(len - HDR_SIZE), (unsigned long long)h.zsize);
		goto out;
	}
	if ((uint32_t)crc32_z(0, file + HDR_SIZE, (z_size_t)h.zsize) != h.zcrc) {
		snprintf(err, errlen, "snapshot '%s' is corrupt (payload checksum mismatch)", path);
		goto out;
	}
	const char *model = m->cpus[0]->model ? m->cpus[0]->model->name : "";
	if (h.ram_size != m->mem.ram_size || h.ncpus != (uint32_t)m->ncpus ||
	    strncmp(h.model, model, sizeof(h.model) - 1) != 0) {
		snprintf(err, errlen,
			 "snapshot '%s' was taken on a different machine (%llu MiB RAM, %u vCPUs, CPU %s; this one has %llu MiB, %d, %s)",
			 path, (unsigned long long)(h.ram_size >> 20), h.ncpus, h.model,
			 (unsigned long long)(m->mem.ram_size >> 20), m->ncpus, model);
		goto out;
	}
	if (h.payload_size > m->mem.ram_size + (64ull << 20) * (1 + (uint64_t)m->ncpus) ||
	    h.nsections != (uint32_t)state_count(m)) {
		snprintf(err, errlen,
			 "snapshot '%s' does not match this machine's state (%u sections, this machine has %d)",
			 path, h.nsections, state_count(m));
		goto out;
	}
	payload = malloc(h.payload_size ? h.payload_size : 1);
	secs = calloc((size_t)state_count(m) + 1, sizeof(*secs));
	if (payload == NULL || secs == NULL) {
		snprintf(err, errlen, "out of memory loading snapshot '%s'", path);
		goto out;
	}
	{
		z_stream z = { 0 };
		if (inflateInit(&z) != Z_OK) {
			snprintf(err, errlen, "out of memory loading snapshot '%s'", path);
			goto out;
		}
		uint64_t in_left = h.zsize, out_left = h.payload_size;
		const uint8_t *in = file + HDR_SIZE;
		uint8_t *outp = payload;
		int zr = Z_OK;
		while (zr == Z_OK) {
			uInt ic = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
			uInt oc = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
			z.next_in = (Bytef *)(uintptr_t)in;
			z.avail_in = ic;
			z.next_out = outp;
			z.avail_out = oc;
			zr = inflate(&z, Z_NO_FLUSH);
			in += ic - z.avail_in;
			in_left -= ic - z.avail_in;
			outp += oc - z.avail_out;
			out_left -= oc - z.avail_out;
			if (zr == Z_OK && ic == z.avail_in && oc == z.avail_out)
				zr = Z_DATA_ERROR;	/* no progress: truncated or too long */
		}
		inflateEnd(&z);
		if (zr != Z_STREAM_END || out_left != 0 || in_left != 0) {
			snprintf(err, errlen, "snapshot '%s' is corrupt (compressed data)", path);
			goto out;
		}
	}
	/* Parse and check every section before touching the machine. */
	{
		const uint8_t *p = payload, *end = payload + h.payload_size;
		for (uint32_t k = 0; k < h.nsections; k++) {
			char name[256];
			if (end - p < 2) {
				snprintf(err, errlen, "snapshot '%s' is corrupt (section table)", path);
				goto out;
			}
			size_t nl = (size_t)p[0] | (size_t)p[1] << 8;
			if (nl > 255 || (size_t)(end - p) < 14 + nl) {
				snprintf(err, errlen, "snapshot '%s' is corrupt (section table)", path);
				goto out;
			}
			memcpy(name, p + 2, nl);
			name[nl] = '\0';
			uint32_t ver = get32(p + 2 + nl);
			uint64_t size = get64(p + 6 + nl);
			p += 14 + nl;
			const struct state_section *s = state_find(m, name);
			if (s == NULL) {
				snprintf(err, errlen, "snapshot '%s' holds state for '%s', which this machine does not have",
					 path, name);
				goto out;
			}
			size_t blen = 0;
			if (s->blob)
				(void)s->blob(s->base, &blen);
			if (ver != s->version || size != state_fields_size(s) + blen ||
			    size > (uint64_t)(end - p)) {
				snprintf(err, errlen,
					 "snapshot '%s': section '%s' is version %u with %llu bytes; this machine expects version %u with %llu bytes",
					 path, name, ver, (unsigned long long)size, s->version,
					 (unsigned long long)(state_fields_size(s) + blen));
				goto out;
			}
			for (uint32_t j = 0; j < k; j++)
				if (secs[j].s == s) {
					snprintf(err, errlen, "snapshot '%s' is corrupt (section '%s' twice)",
						 path, name);
					goto out;
				}
			secs[k] = (struct parsed){ s, p, size };
			p += size;
		}
		if (p != end) {
			snprintf(err, errlen, "snapshot '%s' is corrupt (trailing data)", path);
			goto out;
		}
	}
	/* Everything checked: apply. */
	for (uint32_t k = 0; k < h.nsections; k++) {
		const struct state_section *s = secs[k].s;
		size_t fsz = state_fields_size(s), blen = 0;
		state_fields_load(s, secs[k].data);
		if (s->blob) {
			void *b = s->blob(s->base, &blen);
			memcpy(b, secs[k].data + fsz, blen);
		}
	}
	for (uint32_t k = 0; k < h.nsections; k++)
		if (secs[k].s->post_load)
			secs[k].s->post_load(secs[k].s->base);
	ret = 0;
out:
	free(secs);
	free(payload);
	free(file);
	return ret;
}

int snapshot_load(struct machine *m, const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];

	if (snapshot_check_name(name, err, errlen) < 0)
		return -1;
	if (snap_path(path, sizeof(path), dir, name, SNAPSHOT_SUFFIX) < 0) {
		snprintf(err, errlen, "snapshot directory path is too long");
		return -1;
	}
	if (access(path, F_OK) < 0) {
		snprintf(err, errlen, "no snapshot named '%s' in %s", name, dir);
		return -1;
	}
	return snapshot_load_file(m, path, err, errlen);
}

int snapshot_delete(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];

	if (snapshot_check_name(name, err, errlen) < 0)
		return -1;
	if (snap_path(path, sizeof(path), dir, name, SNAPSHOT_SUFFIX) < 0) {
		snprintf(err, errlen, "snapshot directory path is too long");
		return -1;
	}
	if (remove(path) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "no snapshot named '%s' in %s", name, dir);
		else
			snprintf(err, errlen, "cannot delete '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void snapshot_list(const char *dir, FILE *out)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), shown = 0;

	for (int k = 0; k < n; k++) {
		const char *e = list[k]->d_name;
		size_t l = strlen(e);
		char path[4096];
		uint8_t b[HDR_SIZE];
		struct snap_header h;
		char err[256];
		if (l > 6 && !strcmp(e + l - 6, SNAPSHOT_SUFFIX) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e) < (int)sizeof(path)) {
			FILE *f = fopen(path, "rb");
			size_t got = f ? fread(b, 1, HDR_SIZE, f) : 0;
			struct stat st;
			if (f && fstat(fileno(f), &st) == 0 &&
			    decode_header(b, got, &h, path, err, sizeof(err)) == 0) {
				char when[32] = "?";
				time_t t = (time_t)h.time;
				struct tm tm;
				if (localtime_r(&t, &tm))
					strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
				if (shown++ == 0)
					fprintf(out, "%-24s %-19s %10s %14s\n", "NAME", "DATE", "FILE SIZE",
						"INSTRUCTIONS");
				fprintf(out, "%-24.*s %-19s %10llu %14" PRIu64 "\n", (int)(l - 6), e, when,
					(unsigned long long)st.st_size, h.icount);
			} else {
				fprintf(out, "%-24.*s (unreadable: %s)\n", (int)(l - 6), e,
					f ? "not a valid snapshot" : strerror(errno));
				shown++;
			}
			if (f)
				fclose(f);
		}
		free(list[k]);
	}
	if (n >= 0)
		free(list);
	if (shown == 0)
		fprintf(out, "no snapshots in %s\n", dir);
}
