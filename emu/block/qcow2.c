/*
 * qcow2.c - QEMU copy-on-write images, versions 2 and 3, as QEMU's
 * docs/interop/qcow2.txt describes them (section names below are its).
 *
 * Reading ("Cluster mapping"): a guest offset selects an L1 entry, which
 * points at an L2 table of one cluster, whose entry describes the guest
 * cluster: a standard cluster at a host offset, a compressed cluster
 * (raw deflate, windowBits -12, "Compressed Clusters Descriptor"), a v3
 * zero cluster (bit 0), or unallocated: read from the backing file, or
 * as zeros past its end or without one. Every offset read from the file
 * is checked before use: misaligned or beyond the end of the file gives
 * -EIO for that request (and block_last_error says which table entry),
 * never a read outside the image.
 *
 * Writing ("Host cluster management"): a standard cluster whose L2 entry
 * has the COPIED bit (refcount exactly 1) is written in place. Anything
 * else (unallocated, zero, compressed, shared) gets a new cluster at the
 * end of the file, filled with the old contents (backing file, zeros,
 * inflated data, the old cluster) and the new data. Refcounts (width
 * 1 << refcount_order, 16 bits in v2) are kept exact, so `qemu-img check`
 * finds neither errors nor leaks: a new cluster gets refcount 1 (refcount
 * blocks and a larger refcount table are allocated the same way, the
 * table moving to the end of the file), and the clusters an overwritten
 * entry held are released. Order, so that a crash leaves at worst leaked
 * clusters: data clusters, new (zero-filled) L2 tables and refcounts are
 * written at once; the new L2 and L1 entries stay in the cached tables
 * (dirty) until a write-back, run by block_flush, by the eviction of a
 * dirty table and at close: fdatasync, then the dirty L2 tables and L1
 * entries; then, if clusters await release, fdatasync again before
 * their refcounts drop. Refcounts are written through.
 *
 * Limits, each refused at open with a sentence: cluster_bits 9..21, an
 * L1 table of at most 32 MiB, a refcount table of at most 8 MiB, a
 * backing file name of at most 1023 bytes, no encryption, no external
 * data file, no extended L2 entries, zlib compression only. Images with
 * the dirty or corrupt bit, or with internal snapshots, open read-only
 * (or in snapshot mode) only: writing them needs a refcount repair or
 * L2-table copy-on-write this driver does not do.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "block/driver.h"

#define QCOW2_MAGIC 0x514649fbu
#define V2_HEADER_LEN 72
#define V3_HEADER_LEN 104

#define L1E_OFFSET 0x00fffffffffffe00ull
#define L1E_RESERVED 0x7f000000000001ffull
#define L2E_OFFSET 0x00fffffffffffe00ull
#define L2E_RESERVED 0x3f000000000001feull	/* standard descriptor bits 1-8, 56-61 */
#define RTE_OFFSET 0xfffffffffffffe00ull
#define OFLAG_COPIED (1ull << 63)
#define OFLAG_COMPRESSED (1ull << 62)
#define OFLAG_ZERO 1ull

#define INCOMPAT_DIRTY (1ull << 0)
#define INCOMPAT_CORRUPT (1ull << 1)
#define INCOMPAT_DATA_FILE (1ull << 2)
#define INCOMPAT_COMPRESSION (1ull << 3)
#define INCOMPAT_EXTL2 (1ull << 4)

#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_FEATURE_NAMES 0x6803f857u

#define MAX_L1_BYTES (32ull << 20)
#define MAX_RT_BYTES (8ull << 20)
#define MAX_BACKING_NAME 1023
#define MAX_SNAPSHOTS 65536
#define FEATURE_ENTRY 48

struct l2_slot {
	uint64_t off;		/* host offset of the table, 0 = empty slot */
	uint64_t *tab;		/* the table as stored (big-endian entries) */
	uint64_t used;		/* LRU stamp */
	bool dirty;		/* entries changed since the last write-back */
};

#define L2_SLOTS 64

struct qcow2 {
	uint32_t version;
	unsigned cluster_bits;
	uint64_t cs;			/* cluster size */
	unsigned l2_bits;		/* log2 of entries per L2 table */
	uint64_t size;			/* virtual size from the header */
	uint64_t *l1;			/* active L1 table, host order */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *rt;			/* refcount table, host order */
	uint64_t rt_entries;
	uint64_t rt_offset;
	unsigned refcount_order;
	unsigned rb_bits;		/* log2 of entries per refcount block */
	uint32_t nb_snapshots;
	uint64_t file_size;		/* grows with our writes */
	uint64_t alloc_next;		/* first cluster a new allocation may take */
	struct block_backend *backing;
	struct l2_slot l2c[L2_SLOTS];
	unsigned l2_nslots;		/* slots used of l2c (fewer for big clusters) */
	uint64_t l2_stamp;
	uint8_t *rb;			/* one cached refcount block */
	uint64_t rb_off;		/* its offset, 0 = none */
	uint8_t *cbuf;			/* compressed input, 2 clusters */
	uint8_t *dbuf;			/* last inflated cluster */
	uint64_t dbuf_entry;		/* its L2 entry, 0 = none */
	uint8_t *tmp;			/* one cluster for copy-on-write */
	z_stream zs;
	bool zs_ready;
	uint64_t *l1_dirty;		/* L1 indexes changed since the last write-back */
	size_t n_l1_dirty, cap_l1_dirty;
	uint64_t *releases;		/* L2 entries replaced, whose clusters await release */
	size_t n_releases, cap_releases;
	bool broken;			/* a write failed half-way: further writes fail */
};

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t cl_start(const struct qcow2 *s, uint64_t off)
{
	return off & ~(s->cs - 1);
}

/* ---- file access ---- */

static int file_read(struct block_backend *b, uint64_t pos, void *buf, size_t len)
{
	int r = block_pread_full(b->fd, pos, buf, len);
	return r < 0 ? block_error(b, r, "read error at offset %llu: %s", (unsigned long long)pos, strerror(-r)) : 0;
}

static int file_write(struct block_backend *b, uint64_t pos, const void *buf, size_t len)
{
	struct qcow2 *s = b->priv;
	int r = block_pwrite_full(b->fd, pos, buf, len);

	if (r < 0)
		return block_error(b, r, "write error at offset %llu: %s", (unsigned long long)pos, strerror(-r));
	if (pos + len > s->file_size)
		s->file_size = pos + len;
	return 0;
}

static int file_sync(struct block_backend *b)
{
	if (fdatasync(b->fd) < 0) {
		int r = -errno;
		return block_error(b, r, "fdatasync failed: %s", strerror(errno));
	}
	return 0;
}

/* A host cluster offset from a table must be aligned and start inside the file. */
static bool bad_cluster(const struct qcow2 *s, uint64_t off)
{
	return off & (s->cs - 1) || off >= s->file_size;
}

/* ---- L2 tables ---- */

static int writeback(struct block_backend *b);

static int l2_load(struct block_backend *b, uint64_t off, uint64_t **tab)
{
	struct qcow2 *s = b->priv;
	struct l2_slot *victim = &s->l2c[0];

	for (unsigned i = 0; i < s->l2_nslots; i++) {
		if (s->l2c[i].off == off) {
			s->l2c[i].used = ++s->l2_stamp;
			*tab = s->l2c[i].tab;
			return 0;
		}
		if (s->l2c[i].used < victim->used)
			victim = &s->l2c[i];
	}
	if (victim->dirty) {
		int r = writeback(b);
		if (r < 0)
			return r;
	}
	if (!victim->tab) {
		victim->tab = malloc(s->cs);
		if (!victim->tab)
			return block_error(b, -ENOMEM, "out of memory for an L2 table");
	}
	victim->off = 0;
	int r = file_read(b, off, victim->tab, s->cs);
	if (r < 0)
		return r;
	victim->off = off;
	victim->used = ++s->l2_stamp;
	*tab = victim->tab;
	return 0;
}

/*
 * The L2 table of guest offset `off`: its host offset in *l2_off, 0 when
 * the L1 entry is empty.
 */
static int l2_of(struct block_backend *b, uint64_t off, uint64_t *l2_off)
{
	struct qcow2 *s = b->priv;
	uint64_t i = off >> (s->cluster_bits + s->l2_bits);
	uint64_t e;

	*l2_off = 0;
	if (i >= s->l1_size)
		return block_error(b, -EIO, "offset %llu is beyond the L1 table", (unsigned long long)off);
	e = s->l1[i];
	if (e & L1E_RESERVED)
		return block_error(b, -EIO, "L1 entry %llu has reserved bits set (%#llx)", (unsigned long long)i,
				   (unsigned long long)e);
	e &= L1E_OFFSET;
	if (e && bad_cluster(s, e))
		return block_error(b, -EIO, "L1 entry %llu points at %#llx, not a cluster inside the file",
				   (unsigned long long)i, (unsigned long long)e);
	*l2_off = e;
	return 0;
}

static unsigned l2_index(const struct qcow2 *s, uint64_t off)
{
	return (unsigned)((off >> s->cluster_bits) & ((1ull << s->l2_bits) - 1));
}

/* The L2 entry of guest offset off (0 when its L2 table is unallocated). */
static int l2_entry(struct block_backend *b, uint64_t off, uint64_t *entry)
{
	uint64_t l2_off, *tab;
	int r = l2_of(b, off, &l2_off);

	*entry = 0;
	if (r < 0 || !l2_off)
		return r;
	r = l2_load(b, l2_off, &tab);
	if (r < 0)
		return r;
	*entry = be64toh(tab[l2_index(b->priv, off)]);
	return 0;
}

/* ---- reading clusters ---- */

static void compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *coff, uint64_t *csize)
{
	unsigned shift = 62 - (s->cluster_bits - 8);
	uint64_t nsec = ((e >> shift) & ((1ull << (s->cluster_bits - 8)) - 1)) + 1;

	*coff = e & ((1ull << shift) - 1);
	*csize = nsec * 512 - (*coff & 511);
}

/* Inflates the compressed cluster of entry e into s->dbuf. */
static int inflate_cluster(struct block_backend *b, uint64_t e)
{
	struct qcow2 *s = b->priv;
	uint64_t coff, csize;
	int r, zr;

	if (s->dbuf_entry == e)
		return 0;
	compressed_range(s, e, &coff, &csize);
	if (coff >= s->file_size)
		return block_error(b, -EIO, "a compressed cluster lies beyond the end of the file (offset %#llx)",
				   (unsigned long long)coff);
	if (csize > s->file_size - coff)
		csize = s->file_size - coff;	/* the last compressed cluster may end inside its sector */
	r = file_read(b, coff, s->cbuf, csize);
	if (r < 0)
		return r;
	s->dbuf_entry = 0;
	if (!s->zs_ready) {
		if (inflateInit2(&s->zs, -12) != Z_OK)
			return block_error(b, -ENOMEM, "cannot start zlib");
		s->zs_ready = true;
	} else {
		inflateReset(&s->zs);
	}
	s->zs.next_in = s->cbuf;
	s->zs.avail_in = (uInt)csize;
	s->zs.next_out = s->dbuf;
	s->zs.avail_out = (uInt)s->cs;
	zr = inflate(&s->zs, Z_FINISH);
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || s->zs.avail_out)
		return block_error(b, -EIO, "the compressed cluster at %#llx does not inflate to a cluster",
				   (unsigned long long)coff);
	s->dbuf_entry = e;
	return 0;
}

enum ctype { C_UNALLOC, C_ZERO, C_NORMAL, C_COMPRESSED };

/* Classifies an L2 entry, checking it; *host is the cluster's host offset (standard or zero). */
static int classify(struct block_backend *b, uint64_t off, uint64_t e, enum ctype *t, uint64_t *host)
{
	struct qcow2 *s = b->priv;

	*host = 0;
	if (e & OFLAG_COMPRESSED) {
		if (e & OFLAG_COPIED)
			return block_error(b, -EIO, "the L2 entry of guest offset %llu is compressed and COPIED",
					   (unsigned long long)off);
		*t = C_COMPRESSED;
		return 0;
	}
	if (e & L2E_RESERVED || (e & OFLAG_ZERO && s->version < 3))
		return block_error(b, -EIO, "the L2 entry of guest offset %llu has reserved bits set (%#llx)",
				   (unsigned long long)off, (unsigned long long)e);
	*host = e & L2E_OFFSET;
	if (*host && bad_cluster(s, *host) && !(e & OFLAG_ZERO))
		return block_error(b, -EIO, "the L2 entry of guest offset %llu points at %#llx, not a cluster "
				   "inside the file", (unsigned long long)off, (unsigned long long)*host);
	if (e & OFLAG_ZERO)
		*t = C_ZERO;
	else if (*host)
		*t = C_NORMAL;
	else if (e & OFLAG_COPIED)
		return block_error(b, -EIO, "the L2 entry of guest offset %llu says host offset 0 (external data file)",
				   (unsigned long long)off);
	else
		*t = C_UNALLOC;
	return 0;
}

/* Reads n bytes at offset `in` of guest cluster `gc` (entry e) into buf. */
static int read_in_cluster(struct block_backend *b, uint64_t gc, uint64_t e, unsigned in, void *buf, size_t n)
{
	struct qcow2 *s = b->priv;
	enum ctype t;
	uint64_t host;
	int r = classify(b, gc, e, &t, &host);

	if (r < 0)
		return r;
	switch (t) {
	case C_UNALLOC:
		if (s->backing) {
			r = block_read_zero_ext(s->backing, gc + in, buf, n);
			if (r < 0)
				return block_error(b, r, "backing file: %s", block_last_error(s->backing));
			return 0;
		}
		/* fall through */
	case C_ZERO:
		memset(buf, 0, n);
		return 0;
	case C_NORMAL:
		return file_read(b, host + in, buf, n);
	case C_COMPRESSED:
		r = inflate_cluster(b, e);
		if (r < 0)
			return r;
		memcpy(buf, s->dbuf + in, n);
		return 0;
	}
	return -EIO;
}

static int qcow2_read(struct block_backend *b, uint64_t offset, void *buf, size_t len)
{
	struct qcow2 *s = b->priv;
	uint8_t *p = buf;

	while (len) {
		unsigned in = (unsigned)(offset & (s->cs - 1));
		size_t n = s->cs - in < len ? s->cs - in : len;
		uint64_t e;
		int r = l2_entry(b, offset, &e);

		if (r < 0)
			return r;
		r = read_in_cluster(b, offset - in, e, in, p, n);
		if (r < 0)
			return r;
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

/* ---- refcounts ---- */

static int rb_load(struct block_backend *b, uint64_t off)
{
	struct qcow2 *s = b->priv;
	int r;

	if (s->rb_off == off)
		return 0;
	s->rb_off = 0;
	r = file_read(b, off, s->rb, s->cs);
	if (r < 0)
		return r;
	s->rb_off = off;
	return 0;
}

static uint64_t rb_get(const struct qcow2 *s, uint64_t i)
{
	unsigned bits = 1u << s->refcount_order;
	uint64_t v = 0;

	if (bits < 8)
		return (s->rb[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	for (unsigned k = 0; k < bits / 8; k++)
		v = v << 8 | s->rb[i * (bits / 8) + k];
	return v;
}

/* Sets entry i of the cached block; returns the byte range to write back. */
static void rb_put(struct qcow2 *s, uint64_t i, uint64_t v, size_t *at, size_t *len)
{
	unsigned bits = 1u << s->refcount_order;

	if (bits < 8) {
		uint8_t *p = &s->rb[i * bits / 8];
		unsigned sh = (unsigned)(i * bits % 8);
		*p = (uint8_t)((*p & ~(((1u << bits) - 1) << sh)) | (v << sh));
		*at = i * bits / 8;
		*len = 1;
		return;
	}
	*at = i * (bits / 8);
	*len = bits / 8;
	for (unsigned k = bits / 8; k-- > 0; v >>= 8)
		s->rb[*at + k] = (uint8_t)v;
}

/* The refcount block of host cluster `off`: its offset (0 when none) and index. */
static int rb_locate(struct block_backend *b, uint64_t off, uint64_t *rbo, uint64_t *idx)
{
	struct qcow2 *s = b->priv;
	uint64_t ci = off >> s->cluster_bits, ti = ci >> s->rb_bits;

	*idx = ci & ((1ull << s->rb_bits) - 1);
	*rbo = ti < s->rt_entries ? s->rt[ti] : 0;
	if (*rbo & ~RTE_OFFSET || (*rbo && bad_cluster(s, *rbo)))
		return block_error(b, -EIO, "refcount table entry %llu (%#llx) is not a cluster inside the file",
				   (unsigned long long)ti, (unsigned long long)*rbo);
	return 0;
}

static int rc_get(struct block_backend *b, uint64_t off, uint64_t *v)
{
	uint64_t rbo, idx;
	int r = rb_locate(b, off, &rbo, &idx);

	*v = 0;
	if (r < 0 || !rbo)
		return r;
	r = rb_load(b, rbo);
	if (r < 0)
		return r;
	*v = rb_get(b->priv, idx);
	return 0;
}

static int rc_set(struct block_backend *b, uint64_t off, uint64_t v);

/* The next cluster at or after alloc_next whose refcount is 0 (not yet counted). */
static int take_free(struct block_backend *b, uint64_t *off)
{
	struct qcow2 *s = b->priv;

	for (unsigned tries = 0;; tries++) {
		uint64_t v;
		int r;

		if (tries == 1u << 20)
			return block_error(b, -EIO, "no free cluster in the million after %#llx: the refcounts "
					   "are damaged", (unsigned long long)s->alloc_next);
		*off = s->alloc_next;
		s->alloc_next += s->cs;
		r = rc_get(b, *off, &v);
		if (r < 0)
			return r;
		if (!v)
			return 0;
	}
}

static int write_header_rt(struct block_backend *b)
{
	struct qcow2 *s = b->priv;
	uint8_t h[12];
	uint64_t o = htobe64(s->rt_offset);
	uint32_t c = htobe32((uint32_t)(s->rt_entries * 8 / s->cs));

	memcpy(h, &o, 8);
	memcpy(h + 8, &c, 4);
	return file_write(b, 48, h, sizeof(h));
}

/*
 * Moves the refcount table to the end of the file with room for entry
 * need_ti: the new table is written and counted, made durable, the header
 * switched to it, and only then are the old table's clusters released.
 */
static int rt_grow(struct block_backend *b, uint64_t need_ti)
{
	struct qcow2 *s = b->priv;
	uint64_t per_cluster = s->cs / 8, entries, n, start, *nrt, old_off = s->rt_offset;
	uint64_t old_n = s->rt_entries * 8 / s->cs;
	int r;

	uint64_t extra = 64;	/* clusters past alloc_next the new table must cover */
	for (;;) {
		uint64_t reach = ((s->alloc_next >> s->cluster_bits) + extra) >> s->rb_bits;

		entries = s->rt_entries * 2;
		if (entries < reach + 1)
			entries = reach + 1;
		if (entries < need_ti + 1)
			entries = need_ti + 1;
		entries = (entries + per_cluster - 1) / per_cluster * per_cluster;
		if (entries * 8 > MAX_RT_BYTES)
			return block_error(b, -ENOSPC, "the refcount table would exceed %llu MiB",
					   MAX_RT_BYTES >> 20);
		n = entries / per_cluster;
		/* n consecutive clusters nobody counts yet */
		start = s->alloc_next;
		for (uint64_t i = 0, tries = 0; i < n; tries++) {
			uint64_t v;
			r = rc_get(b, start + i * s->cs, &v);
			if (r < 0)
				return r;
			if (tries == 1u << 20)
				return block_error(b, -EIO, "no room for the refcount table: the refcounts are damaged");
			if (v) {
				start += (i + 1) * s->cs;
				i = 0;
			} else {
				i++;
			}
		}
		/* the table, and up to 64 refcount blocks after it, must be covered */
		if ((((start >> s->cluster_bits) + n + 64) >> s->rb_bits) < entries)
			break;
		extra = ((start - s->alloc_next) >> s->cluster_bits) + n + 64;
	}
	nrt = calloc(entries, 8);
	if (!nrt)
		return block_error(b, -ENOMEM, "out of memory for the refcount table");
	memcpy(nrt, s->rt, s->rt_entries * 8);
	free(s->rt);
	s->rt = nrt;
	s->rt_entries = entries;
	s->rt_offset = start;
	s->alloc_next = start + n * s->cs;
	/* the table as it is now, then its own refcounts (which may add blocks, written through) */
	{
		uint64_t *be = malloc(entries * 8);
		if (!be)
			return block_error(b, -ENOMEM, "out of memory for the refcount table");
		for (uint64_t i = 0; i < entries; i++)
			be[i] = htobe64(s->rt[i]);
		r = file_write(b, start, be, entries * 8);
		free(be);
		if (r < 0)
			return r;
	}
	for (uint64_t i = 0; i < n; i++) {
		r = rc_set(b, start + i * s->cs, 1);
		if (r < 0)
			return r;
	}
	r = file_sync(b);
	if (r < 0)
		return r;
	r = write_header_rt(b);
	if (r < 0)
		return r;
	r = file_sync(b);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < old_n; i++) {
		r = rc_set(b, old_off + i * s->cs, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int rt_store(struct block_backend *b, uint64_t ti)
{
	struct qcow2 *s = b->priv;
	uint64_t v = htobe64(s->rt[ti]);

	return file_write(b, s->rt_offset + ti * 8, &v, 8);
}

/* Sets the refcount of host cluster off, creating its refcount block (and a larger table) as needed. */
static int rc_set(struct block_backend *b, uint64_t off, uint64_t v)
{
	struct qcow2 *s = b->priv;
	uint64_t ci = off >> s->cluster_bits, ti = ci >> s->rb_bits;
	uint64_t rbo, idx;
	size_t at, n;
	int r;

	if (s->refcount_order < 6 && v >> (1u << s->refcount_order))
		return block_error(b, -EIO, "refcount overflow at %#llx", (unsigned long long)off);
	if (ti >= s->rt_entries) {
		r = rt_grow(b, ti);
		if (r < 0)
			return r;
	}
	r = rb_locate(b, off, &rbo, &idx);
	if (r < 0)
		return r;
	if (!rbo) {
		uint64_t nb;

		r = take_free(b, &nb);
		if (r < 0)
			return r;
		s->rb_off = 0;
		memset(s->rb, 0, s->cs);
		if ((nb >> s->cluster_bits) >> s->rb_bits == ti) {
			/* the block counts itself */
			rb_put(s, (nb >> s->cluster_bits) & ((1ull << s->rb_bits) - 1), 1, &at, &n);
			r = file_write(b, nb, s->rb, s->cs);
			if (r >= 0)
				s->rb_off = nb;
		} else {
			r = file_write(b, nb, s->rb, s->cs);
			if (r >= 0)
				r = rc_set(b, nb, 1);
		}
		if (r < 0)
			return r;
		s->rt[ti] = nb;
		r = rt_store(b, ti);
		if (r < 0)
			return r;
		rbo = nb;
	}
	r = rb_load(b, rbo);
	if (r < 0)
		return r;
	rb_put(s, idx, v, &at, &n);
	return file_write(b, rbo + at, s->rb + at, n);
}

static int rc_dec(struct block_backend *b, uint64_t off)
{
	uint64_t v;
	int r = rc_get(b, off, &v);

	if (r < 0)
		return r;
	if (!v)
		return block_error(b, -EIO, "refcount of cluster %#llx is already 0", (unsigned long long)off);
	return rc_set(b, off, v - 1);
}

/* Releases the host clusters an L2 entry held. */
static int release_entry(struct block_backend *b, uint64_t e)
{
	struct qcow2 *s = b->priv;

	if (e & OFLAG_COMPRESSED) {
		uint64_t coff, csize;
		compressed_range(s, e, &coff, &csize);
		for (uint64_t c = cl_start(s, coff); c <= cl_start(s, coff + csize - 1); c += s->cs) {
			int r = rc_dec(b, c);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (e & L2E_OFFSET)
		return rc_dec(b, e & L2E_OFFSET);
	return 0;
}

static int alloc_cluster(struct block_backend *b, uint64_t *off)
{
	int r = take_free(b, off);
	return r < 0 ? r : rc_set(b, *off, 1);
}

/* ---- writing ---- */

/* Overlap with the header, L1 table or refcount table: never a data cluster. */
static bool is_metadata(const struct qcow2 *s, uint64_t host)
{
	return host == 0 ||
	       (host < s->l1_offset + (uint64_t)s->l1_size * 8 && host + s->cs > s->l1_offset) ||
	       (host < s->rt_offset + s->rt_entries * 8 && host + s->cs > s->rt_offset);
}

/* The L2 table for guest offset off, allocated (zero-filled) when missing; new L1 entries are noted in l1_new. */
static int push(struct block_backend *b, uint64_t **arr, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		uint64_t *na = realloc(*arr, nc * sizeof(*na));
		if (!na)
			return block_error(b, -ENOMEM, "out of memory");
		*arr = na;
		*cap = nc;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

/*
 * Puts the mapping in memory on the file: fdatasync (the data the new
 * entries point at is durable), the changed L2 tables, the changed L1
 * entries; then, if clusters await release, fdatasync (nothing on the
 * file points at them any more) and their refcounts drop.
 */
static int writeback(struct block_backend *b)
{
	struct qcow2 *s = b->priv;
	bool any = s->n_l1_dirty > 0;
	int r;

	for (unsigned i = 0; i < s->l2_nslots; i++)
		any |= s->l2c[i].dirty;
	if (any) {
		r = file_sync(b);
		if (r < 0)
			goto fail;
		for (unsigned i = 0; i < s->l2_nslots; i++) {
			if (!s->l2c[i].dirty)
				continue;
			r = file_write(b, s->l2c[i].off, s->l2c[i].tab, s->cs);
			if (r < 0)
				goto fail;
			s->l2c[i].dirty = false;
		}
		for (size_t i = 0; i < s->n_l1_dirty; i++) {
			uint64_t v = htobe64(s->l1[s->l1_dirty[i]]);
			r = file_write(b, s->l1_offset + s->l1_dirty[i] * 8, &v, 8);
			if (r < 0)
				goto fail;
		}
		s->n_l1_dirty = 0;
	}
	if (s->n_releases) {
		r = file_sync(b);
		if (r < 0)
			goto fail;
		for (size_t i = 0; i < s->n_releases; i++) {
			r = release_entry(b, s->releases[i]);
			if (r < 0)
				goto fail;
		}
		s->n_releases = 0;
	}
	return 0;
fail:
	s->broken = true;
	return r;
}

static int l2_for_write(struct block_backend *b, uint64_t off, uint64_t *l2_off)
{
	struct qcow2 *s = b->priv;
	uint64_t i = off >> (s->cluster_bits + s->l2_bits), *tab;
	int r = l2_of(b, off, l2_off);

	if (r < 0 || *l2_off)
		return r;
	r = alloc_cluster(b, l2_off);
	if (r < 0)
		return r;
	memset(s->tmp, 0, s->cs);
	r = file_write(b, *l2_off, s->tmp, s->cs);
	if (r < 0)
		return r;
	r = l2_load(b, *l2_off, &tab);
	if (r < 0)
		return r;
	s->l1[i] = *l2_off | OFLAG_COPIED;
	return push(b, &s->l1_dirty, &s->n_l1_dirty, &s->cap_l1_dirty, i);
}

static int write_clusters(struct block_backend *b, uint64_t offset, const uint8_t *p, size_t len)
{
	struct qcow2 *s = b->priv;

	while (len) {
		unsigned in = (unsigned)(offset & (s->cs - 1));
		size_t n = s->cs - in < len ? s->cs - in : len;
		uint64_t gc = offset - in, l2_off, *tab, e, host, target;
		uint64_t release = 0;
		enum ctype t;
		int r;

		r = l2_for_write(b, offset, &l2_off);
		if (r < 0)
			return r;
		r = l2_load(b, l2_off, &tab);
		if (r < 0)
			return r;
		e = be64toh(tab[l2_index(s, offset)]);
		r = classify(b, gc, e, &t, &host);
		if (r < 0)
			return r;
		if (t == C_NORMAL && e & OFLAG_COPIED) {
			if (is_metadata(s, host))
				return block_error(b, -EIO, "the L2 entry of guest offset %llu points into metadata",
						   (unsigned long long)gc);
			r = file_write(b, host + in, p, n);
			if (r < 0)
				return r;
			goto next;
		}
		/* the whole new cluster: old contents, then the new data */
		if (n < s->cs) {
			r = read_in_cluster(b, gc, e, 0, s->tmp, s->cs);
			if (r < 0)
				return r;
		}
		memcpy(s->tmp + in, p, n);
		if (t == C_ZERO && host && e & OFLAG_COPIED && !bad_cluster(s, host) && !is_metadata(s, host)) {
			target = host;	/* preallocated zero cluster: fill it in place */
		} else {
			if (t == C_COMPRESSED || ((t == C_NORMAL || t == C_ZERO) && host))
				release = e;
			r = alloc_cluster(b, &target);
			if (r < 0)
				return r;
		}
		r = file_write(b, target, s->tmp, s->cs);
		if (r < 0)
			return r;
		/* the new entry, in the cached table only: writeback() orders it after the data */
		r = l2_load(b, l2_off, &tab);
		if (r < 0)
			return r;
		tab[l2_index(s, offset)] = htobe64(target | OFLAG_COPIED);
		for (unsigned i = 0; i < s->l2_nslots; i++)
			if (s->l2c[i].off == l2_off)
				s->l2c[i].dirty = true;
		if (release) {
			r = push(b, &s->releases, &s->n_releases, &s->cap_releases, release);
			if (r < 0)
				return r;
		}
next:
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

static int qcow2_write(struct block_backend *b, uint64_t offset, const void *buf, size_t len)
{
	struct qcow2 *s = b->priv;
	int r;

	if (s->broken)
		return block_error(b, -EIO, "an earlier write failed half-way; no more writes until reopened");
	r = write_clusters(b, offset, buf, len);
	if (r < 0)
		s->broken = true;
	return r;
}

static int qcow2_flush(struct block_backend *b)
{
	struct qcow2 *s = b->priv;
	int r;

	if (s->broken)
		return block_error(b, -EIO, "an earlier write failed half-way; the image may miss recent writes");
	r = writeback(b);
	return r < 0 ? r : file_sync(b);
}

/* ---- opening ---- */

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 8 && rd32(buf) == QCOW2_MAGIC ? 100 : 0;
}

static void qcow2_close(struct block_backend *b)
{
	struct qcow2 *s = b->priv;

	if (!s)
		return;
	if (!b->read_only && !s->broken && qcow2_flush(b) < 0)
		fprintf(stderr, "nestemu: %s\n", block_last_error(b));
	block_close(s->backing);
	for (unsigned i = 0; i < L2_SLOTS; i++)
		free(s->l2c[i].tab);
	if (s->zs_ready)
		inflateEnd(&s->zs);
	free(s->l1);
	free(s->l1_dirty);
	free(s->releases);
	free(s->rt);
	free(s->rb);
	free(s->cbuf);
	free(s->dbuf);
	free(s->tmp);
	free(s);
	b->priv = NULL;
}

#define BAD(fmt, ...) do { snprintf(err, errlen, "'%s' is not a valid qcow2 image: " fmt, f, ##__VA_ARGS__); \
		r = -EINVAL; goto fail; } while (0)
#define UNSUP(...) do { snprintf(err, errlen, __VA_ARGS__); r = -ENOTSUP; goto fail; } while (0)

/* Names the incompatible feature bits in `bits` from the image's feature name table. */
static void feature_names(const uint8_t *table, size_t tlen, uint64_t bits, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = 0;
	for (unsigned bit = 0; bit < 64; bit++) {
		char name[FEATURE_ENTRY];
		if (!(bits >> bit & 1))
			continue;
		snprintf(name, sizeof(name), "bit %u", bit);
		for (size_t i = 0; table && i + FEATURE_ENTRY <= tlen; i += FEATURE_ENTRY)
			if (table[i] == 0 && table[i + 1] == bit)
				snprintf(name, sizeof(name), "%.46s", (const char *)table + i + 2);
		int w = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", name);
		if (w < 0 || (size_t)w >= outlen - used)
			return;
		used += (size_t)w;
	}
}

static int qcow2_open(struct block_backend *b, char *err, size_t errlen)
{
	const char *f = b->filename;
	struct qcow2 *s;
	uint8_t *h = NULL, *features = NULL;
	size_t features_len = 0;
	char backing_fmt[32] = "", *backing_name = NULL;
	uint64_t incompat = 0, autoclear = 0, backing_off, l1_need, per_l1;
	uint32_t backing_len, header_len = V2_HEADER_LEN, rt_clusters;
	off_t end;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "'%s': out of memory", f);
		return -ENOMEM;
	}
	b->priv = s;
	end = lseek(b->fd, 0, SEEK_END);
	if (end < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot find the size of '%s': %s", f, strerror(errno));
		goto fail;
	}
	s->file_size = (uint64_t)end;
	if (s->file_size < V2_HEADER_LEN)
		BAD("the file is %llu bytes, shorter than a header", (unsigned long long)s->file_size);
	h = calloc(1, 1u << 21);	/* the first cluster, at most 2 MiB */
	if (!h) {
		r = -ENOMEM;
		snprintf(err, errlen, "'%s': out of memory", f);
		goto fail;
	}
	r = block_pread_full(b->fd, 0, h, s->file_size < (1u << 21) ? s->file_size : (1u << 21));
	if (r < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", f, strerror(-r));
		goto fail;
	}
	if (rd32(h) != QCOW2_MAGIC)
		BAD("bad magic number");
	s->version = rd32(h + 4);
	if (s->version != 2 && s->version != 3)
		UNSUP("'%s' is qcow2 version %u; only versions 2 and 3 are supported", f, s->version);
	backing_off = rd64(h + 8);
	backing_len = rd32(h + 16);
	s->cluster_bits = rd32(h + 20);
	s->size = rd64(h + 24);
	s->l1_size = rd32(h + 36);
	s->l1_offset = rd64(h + 40);
	s->rt_offset = rd64(h + 48);
	rt_clusters = rd32(h + 56);
	s->nb_snapshots = rd32(h + 60);
	s->refcount_order = 4;
	if (s->cluster_bits < 9 || s->cluster_bits > 21)
		BAD("cluster_bits is %u, outside 9..21", s->cluster_bits);
	s->cs = 1ull << s->cluster_bits;
	s->l2_bits = s->cluster_bits - 3;
	if (rd32(h + 32))
		UNSUP("'%s' is an encrypted qcow2 image, which is not supported: decrypt it with qemu-img convert", f);
	if (s->version == 3) {
		if (s->file_size < V3_HEADER_LEN)
			BAD("the file is %llu bytes, shorter than a version 3 header", (unsigned long long)s->file_size);
		incompat = rd64(h + 72);
		autoclear = rd64(h + 88);
		s->refcount_order = rd32(h + 96);
		header_len = rd32(h + 100);
		if (header_len < V3_HEADER_LEN || header_len % 8 || header_len > s->cs || header_len > s->file_size)
			BAD("header_length %u is not a multiple of 8 between 104 and the cluster size", header_len);
		if (s->refcount_order > 6)
			BAD("refcount_order is %u, more than 6", s->refcount_order);
	}
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;

	/* header extensions, between the header and the backing file name (or the end of the cluster) */
	{
		uint64_t pos = header_len;
		uint64_t ext_end = backing_off && backing_off < s->cs ? backing_off : s->cs;
		if (ext_end > s->file_size)
			ext_end = s->file_size;
		while (pos + 8 <= ext_end) {
			uint32_t type = rd32(h + pos), len = rd32(h + pos + 4);
			pos += 8;
			if (type == EXT_END)
				break;
			if (len > ext_end - pos)
				BAD("header extension %#x of %u bytes runs past the header area", type, len);
			if (type == EXT_BACKING_FORMAT) {
				if (len >= sizeof(backing_fmt))
					BAD("the backing format name is %u bytes long", len);
				memcpy(backing_fmt, h + pos, len);
				backing_fmt[len] = 0;
			} else if (type == EXT_FEATURE_NAMES) {
				features = h + pos;
				features_len = len;
			}
			pos += (len + 7ull) & ~7ull;
		}
	}

	/* incompatible features */
	{
		uint64_t unknown = incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION);
		char names[256];
		if (unknown) {
			feature_names(features, features_len, unknown, names, sizeof(names));
			UNSUP("'%s' uses qcow2 features this emulator does not support (%s): convert it with "
			      "'qemu-img convert -O qcow2'", f, names);
		}
		if (header_len > 104 && h[104] != 0)
			UNSUP("'%s' uses compression type %u; only zlib (0) is supported: convert it with "
			      "'qemu-img convert -O qcow2 -o compression_type=zlib'", f, h[104]);
		if (incompat & INCOMPAT_COMPRESSION && !(header_len > 104 && h[104] != 0))
			BAD("the compression type bit is set but the compression type is zlib");
		if (!b->read_only && incompat & INCOMPAT_DIRTY)
			UNSUP("'%s' was not closed cleanly (dirty bit set, refcounts may be stale): repair it with "
			      "'qemu-img check -r all', or open it read-only or in snapshot mode", f);
		if (!b->read_only && incompat & INCOMPAT_CORRUPT)
			UNSUP("'%s' is marked corrupt: repair it with 'qemu-img check -r all', or open it read-only "
			      "or in snapshot mode", f);
	}
	if (s->nb_snapshots > MAX_SNAPSHOTS)
		BAD("it claims %u internal snapshots", s->nb_snapshots);
	if (!b->read_only && s->nb_snapshots)
		UNSUP("'%s' has internal snapshots, which this emulator does not write: open it read-only or in "
		      "snapshot mode, or delete them with 'qemu-img snapshot -d'", f);

	/* sizes and tables */
	per_l1 = s->cluster_bits + s->l2_bits;	/* log2 of guest bytes per L1 entry */
	l1_need = (s->size >> per_l1) + ((s->size & ((1ull << per_l1) - 1)) != 0);
	if ((uint64_t)s->l1_size * 8 > MAX_L1_BYTES)
		BAD("the L1 table has %u entries, more than %llu MiB", s->l1_size, MAX_L1_BYTES >> 20);
	if (l1_need > s->l1_size)
		BAD("the L1 table (%u entries) is too small for a disk of %llu bytes", s->l1_size,
		    (unsigned long long)s->size);
	if (s->l1_offset % s->cs)
		BAD("the L1 table offset %#llx is not cluster-aligned", (unsigned long long)s->l1_offset);
	if (s->l1_size && (s->l1_offset >= s->file_size || s->l1_size * 8ull > s->file_size - s->l1_offset))
		BAD("the L1 table lies beyond the end of the file");
	if (s->rt_offset % s->cs || !s->rt_offset)
		BAD("the refcount table offset %#llx is not cluster-aligned", (unsigned long long)s->rt_offset);
	if (!rt_clusters || rt_clusters * s->cs > MAX_RT_BYTES)
		BAD("the refcount table has %u clusters (1 to %llu MiB allowed)", rt_clusters,
		    MAX_RT_BYTES >> 20);
	if (s->rt_offset >= s->file_size || rt_clusters * s->cs > s->file_size - s->rt_offset)
		BAD("the refcount table lies beyond the end of the file");
	if (backing_off) {
		if (backing_len > MAX_BACKING_NAME)
			BAD("the backing file name is %u bytes long (at most %d)", backing_len, MAX_BACKING_NAME);
		if (!backing_len)
			BAD("the backing file name is empty");
		if (backing_off >= s->cs || backing_len > s->cs - backing_off ||
		    backing_off + backing_len > s->file_size)
			BAD("the backing file name lies outside the first cluster");
		if (memchr(h + backing_off, 0, backing_len))
			BAD("the backing file name contains a NUL byte");
		backing_name = strndup((const char *)h + backing_off, backing_len);
		if (!backing_name) {
			r = -ENOMEM;
			snprintf(err, errlen, "'%s': out of memory", f);
			goto fail;
		}
	}

	s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	s->rt_entries = rt_clusters * s->cs / 8;
	s->rt = calloc(s->rt_entries, 8);
	s->rb = malloc(s->cs);
	s->cbuf = malloc(2 * s->cs);
	s->dbuf = malloc(s->cs);
	s->tmp = malloc(s->cs);
	if (!s->l1 || !s->rt || !s->rb || !s->cbuf || !s->dbuf || !s->tmp) {
		r = -ENOMEM;
		snprintf(err, errlen, "'%s': out of memory for its tables", f);
		goto fail;
	}
	r = block_pread_full(b->fd, s->l1_offset, s->l1, s->l1_size * 8ull);
	if (r >= 0)
		r = block_pread_full(b->fd, s->rt_offset, s->rt, s->rt_entries * 8);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the tables of '%s': %s", f, strerror(-r));
		goto fail;
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		s->l1[i] = be64toh(s->l1[i]);
	for (uint64_t i = 0; i < s->rt_entries; i++)
		s->rt[i] = be64toh(s->rt[i]);
	s->l2_nslots = (unsigned)((4u << 20) / s->cs);
	if (s->l2_nslots < 4)
		s->l2_nslots = 4;
	if (s->l2_nslots > L2_SLOTS)
		s->l2_nslots = L2_SLOTS;
	s->alloc_next = (s->file_size + s->cs - 1) & ~(s->cs - 1);
	b->size = s->size & ~511ull;

	free(h);	/* not kept through a deep chain of backing files */
	h = NULL;
	if (backing_name) {
		const char *fmt = backing_fmt[0] ? backing_fmt : NULL;
		char berr[512];
		r = block_open_backing(&s->backing, b, backing_name, fmt, berr, sizeof(berr));
		if (r < 0) {
			/* the image at fault names itself; only the top of the chain adds its name */
			if (b->parent)
				snprintf(err, errlen, "%s", berr);
			else
				snprintf(err, errlen, "cannot open the backing file of '%s': %s", f, berr);
			goto fail;
		}
		b->backing = s->backing;
	}
	if (!b->read_only && autoclear) {
		uint64_t zero = 0;
		/* clearing them says we did not keep their data (bitmaps) up to date */
		r = block_pwrite_full(b->fd, 88, &zero, 8);
		if (r < 0) {
			snprintf(err, errlen, "cannot write the header of '%s': %s", f, strerror(-r));
			goto fail;
		}
	}
	free(backing_name);
	free(h);
	return 0;
fail:
	free(backing_name);
	free(h);
	s->broken = true;	/* nothing to write back */
	qcow2_close(b);
	return r;
}

const struct block_driver block_qcow2_driver = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.read = qcow2_read,
	.write = qcow2_write,
	.flush = qcow2_flush,
};
