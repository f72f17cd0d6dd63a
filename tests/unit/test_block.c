/*
 * test_block.c - the disk-image layer (emu/block/): raw images read,
 * written, flushed, opened read-only and in snapshot mode; requests
 * outside the disk or not multiples of 512 refused; unknown formats and
 * missing files refused with a message.
 *
 * qcow2 against QEMU's own tools (qemu-img, qemu-io from qemu-utils):
 * images they create (v2 and v3, cluster sizes 512 B to 2 MiB, refcount
 * widths 1 to 64 bits, compressed, zero clusters, backing chains with
 * relative names) read back equal to `qemu-img convert -O raw`; random
 * writes through our driver match an in-memory model, and afterwards
 * `qemu-img check` finds no error or leak and `qemu-img compare` finds
 * the image equal to the model. Damaged images are refused with a
 * sentence naming the file, or give -EIO for the damaged cluster, and a
 * mutation loop checks that no damage crashes (run it under make asan).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu/block/block.h"

/* A fresh temporary directory per test, removed with its files at the end. */
struct tmp {
	char dir[64];
};

static struct tmp tmp_new(void)
{
	struct tmp t;

	snprintf(t.dir, sizeof(t.dir), "/tmp/nestemu-block-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	return t;
}

static void tmp_free(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	cr_assert_eq(system(cmd), 0);
}

static char *tpath(const struct tmp *t, const char *name)
{
	static __thread char buf[32][256];	/* reused round-robin */
	static __thread int n;
	char *p = buf[n++ & 31];

	snprintf(p, 256, "%s/%s", t->dir, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	cr_assert_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static struct block_backend *open_ok(const char *file, const char *format, bool ro, bool snap)
{
	struct block_options o = { .file = file, .format = format, .read_only = ro, .snapshot = snap };
	struct block_backend *b;
	char err[256];
	int r = block_open(&b, &o, err, sizeof(err));

	cr_assert_eq(r, 0, "open %s: %s", file, err);
	return b;
}

Test(block, raw_read_write_flush)
{
	struct tmp t = tmp_new();
	size_t len = 256 * 1024, got;
	uint8_t *ref = malloc(len), *buf = malloc(len), *disk;
	struct block_backend *b;

	fill_pattern(ref, len, 1);
	write_file(tpath(&t, "d.raw"), ref, len);
	b = open_ok(tpath(&t, "d.raw"), NULL, false, false);
	cr_assert_str_eq(block_format(b), "raw");
	cr_assert_eq(block_size(b), len);
	cr_assert(!block_read_only(b));
	cr_assert_str_eq(block_backing_chain(b), "");
	cr_assert_str_eq(block_filename(b), tpath(&t, "d.raw"));
	cr_assert_eq(block_read(b, 0, buf, len), 0);
	cr_assert_eq(memcmp(buf, ref, len), 0);

	fill_pattern(buf, 3 * 512, 2);
	memcpy(ref + 1536, buf, 3 * 512);
	cr_assert_eq(block_write(b, 1536, buf, 3 * 512), 0);
	cr_assert_eq(block_flush(b), 0);
	cr_assert_eq(block_read(b, 1024, buf, 8192), 0);
	cr_assert_eq(memcmp(buf, ref + 1024, 8192), 0);

	/* Outside the disk, or not sector multiples. */
	cr_assert_eq(block_read(b, len, buf, 512), -EINVAL);
	cr_assert_eq(block_read(b, len - 512, buf, 1024), -EINVAL);
	cr_assert_eq(block_read(b, 100, buf, 512), -EINVAL);
	cr_assert_eq(block_write(b, 0, buf, 100), -EINVAL);
	cr_assert_eq(block_read(b, UINT64_MAX - 511, buf, 512), -EINVAL);
	block_close(b);

	disk = read_file(tpath(&t, "d.raw"), &got);
	cr_assert_eq(got, len);
	cr_assert_eq(memcmp(disk, ref, len), 0);
	free(disk);
	free(ref);
	free(buf);
	tmp_free(&t);
}

Test(block, raw_size_rounds_up_and_tail_reads_zero)
{
	struct tmp t = tmp_new();
	uint8_t data[1000], buf[1024];
	struct block_backend *b;

	memset(data, 0xab, sizeof(data));
	write_file(tpath(&t, "odd.img"), data, sizeof(data));
	b = open_ok(tpath(&t, "odd.img"), "raw", true, false);
	cr_assert_eq(block_size(b), 1024);
	cr_assert_eq(block_read(b, 0, buf, 1024), 0);
	cr_assert_eq(buf[999], 0xab);
	for (int i = 1000; i < 1024; i++)
		cr_assert_eq(buf[i], 0);
	block_close(b);
	tmp_free(&t);
}

Test(block, raw_read_only_refuses_writes)
{
	struct tmp t = tmp_new();
	uint8_t data[4096] = { 1, 2, 3 };
	struct block_backend *b;

	write_file(tpath(&t, "ro.img"), data, sizeof(data));
	b = open_ok(tpath(&t, "ro.img"), NULL, true, false);
	cr_assert(block_read_only(b));
	cr_assert_eq(block_write(b, 0, data, 512), -EROFS);
	cr_assert_eq(block_flush(b), 0);
	block_close(b);
	tmp_free(&t);
}

Test(block, raw_snapshot_leaves_file_unchanged)
{
	struct tmp t = tmp_new();
	size_t len = 64 * 1024, got;
	uint8_t *ref = malloc(len), *model = malloc(len), *buf = malloc(len), *disk;
	struct block_backend *b;
	uint32_t seed = 7;

	fill_pattern(ref, len, 3);
	memcpy(model, ref, len);
	write_file(tpath(&t, "s.raw"), ref, len);
	chmod(tpath(&t, "s.raw"), 0444);	/* snapshot mode must not need write access */
	b = open_ok(tpath(&t, "s.raw"), NULL, false, true);
	cr_assert(!block_read_only(b));
	for (int i = 0; i < 200; i++) {
		seed = seed * 1103515245 + 12345;
		size_t sec = (seed >> 8) % (len / 512);
		size_t n = 1 + (seed >> 24) % 8;
		if (sec + n > len / 512)
			n = len / 512 - sec;
		fill_pattern(buf, n * 512, seed);
		memcpy(model + sec * 512, buf, n * 512);
		cr_assert_eq(block_write(b, sec * 512, buf, n * 512), 0);
	}
	cr_assert_eq(block_flush(b), 0);
	cr_assert_eq(block_read(b, 0, buf, len), 0);
	cr_assert_eq(memcmp(buf, model, len), 0);
	block_close(b);

	disk = read_file(tpath(&t, "s.raw"), &got);
	cr_assert_eq(got, len);
	cr_assert_eq(memcmp(disk, ref, len), 0);
	free(disk);
	free(ref);
	free(model);
	free(buf);
	tmp_free(&t);
}

Test(block, open_errors_say_what_is_wrong)
{
	struct tmp t = tmp_new();
	struct block_options o = { .file = tpath(&t, "missing.img") };
	struct block_backend *b;
	char err[256];
	uint8_t data[512] = { 0 };

	cr_assert_eq(block_open(&b, &o, err, sizeof(err)), -ENOENT);
	cr_assert_null(b);
	cr_assert(strstr(err, "missing.img"), "%s", err);

	write_file(tpath(&t, "x.img"), data, sizeof(data));
	o.file = tpath(&t, "x.img");
	o.format = "vmdk";
	cr_assert_eq(block_open(&b, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "vmdk"), "%s", err);

	o.file = t.dir;
	o.format = NULL;
	cr_assert_lt(block_open(&b, &o, err, sizeof(err)), 0);
	cr_assert(strstr(err, t.dir), "%s", err);
	tmp_free(&t);
}

/* ---- qcow2, with qemu-img as the reference ---- */

static void patch32(const char *path, long at, uint32_t v);

/* Runs a shell command; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	cr_assert_neq(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define SH_OK(...) cr_assert_eq(sh(__VA_ARGS__), 0, "command failed: " __VA_ARGS__)

/*
 * A test disk: random data, zero runs (left unallocated by convert),
 * repeated text (compressible), in 64 KiB pieces chosen by the seed.
 */
static void make_disk(const char *path, size_t len, uint32_t seed)
{
	uint8_t *d = calloc(1, len);
	static const char text[] = "nestemu qcow2 test data, compressible text. ";

	for (size_t at = 0; at < len; at += 65536) {
		size_t n = len - at < 65536 ? len - at : 65536;
		seed = seed * 1103515245 + 12345;
		switch ((seed >> 16) % 4) {
		case 0:
			fill_pattern(d + at, n, seed);
			break;
		case 1:
			break;
		case 2:
			for (size_t i = 0; i < n; i++)
				d[at + i] = (uint8_t)text[(at + i) % (sizeof(text) - 1)];
			break;
		case 3:	/* half data: a partly used cluster */
			fill_pattern(d + at, n / 2, seed);
			break;
		}
	}
	write_file(path, d, len);
	free(d);
}

/* Reads the whole disk through our driver, in uneven chunks, and compares with a raw file. */
static void check_equals_raw(struct block_backend *b, const char *raw)
{
	size_t len, at = 0;
	uint8_t *ref = read_file(raw, &len), *buf;
	uint32_t seed = 99;

	cr_assert_eq(block_size(b), len, "size %llu, reference %zu", (unsigned long long)block_size(b), len);
	buf = malloc(len + 1);
	while (at < len) {
		seed = seed * 1103515245 + 12345;
		size_t n = 512 * (1 + (seed >> 16) % 300);
		if (n > len - at)
			n = len - at;
		int r = block_read(b, at, buf + at, n);
		cr_assert_eq(r, 0, "read at %zu: %d %s", at, r, block_last_error(b));
		at += n;
	}
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(buf[i], ref[i], "byte %zu differs: %#x, reference %#x", i, buf[i], ref[i]);
	free(buf);
	free(ref);
}

static uint64_t header64(const char *path, long at)
{
	uint8_t b[8];
	uint64_t v = 0;
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f);
	fseek(f, at, SEEK_SET);
	cr_assert_eq(fread(b, 1, 8, f), 8);
	fclose(f);
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static uint32_t header32(const char *path, long at)
{
	return (uint32_t)(header64(path, at) >> 32);
}

/* Opens img (probed) and compares it with `qemu-img convert -O raw img`. */
static void check_against_qemu(const struct tmp *t, const char *img)
{
	struct block_backend *b = open_ok(img, NULL, true, false);

	cr_assert_str_eq(block_format(b), "qcow2");
	SH_OK("qemu-img convert -O raw '%s' '%s'", img, tpath(t, "ref.raw"));
	check_equals_raw(b, tpath(t, "ref.raw"));
	block_close(b);
}

Test(block, qcow2_reads_match_qemu_img)
{
	static const char *const compat[] = { "0.10", "1.1" };
	static const unsigned clusters[] = { 512, 4096, 65536, 2 << 20 };
	struct tmp t = tmp_new();

	make_disk(tpath(&t, "src.raw"), (3 << 20) + 65536 + 1536, 5);
	for (int c = 0; c < 2; c++) {
		for (int k = 0; k < 4; k++) {
			SH_OK("qemu-img convert -O qcow2 -o compat=%s,cluster_size=%u '%s' '%s'", compat[c], clusters[k],
			      tpath(&t, "src.raw"), tpath(&t, "img.qcow2"));
			check_against_qemu(&t, tpath(&t, "img.qcow2"));
		}
	}
	tmp_free(&t);
}

Test(block, qcow2_compressed_clusters)
{
	static const char *const opts[] = { "compat=0.10,cluster_size=4096", "compat=1.1,cluster_size=65536",
					    "compat=1.1,cluster_size=512", "compat=1.1,cluster_size=2M" };
	struct tmp t = tmp_new();

	make_disk(tpath(&t, "src.raw"), 3 << 20, 11);
	for (int k = 0; k < 4; k++) {
		SH_OK("qemu-img convert -c -O qcow2 -o %s '%s' '%s'", opts[k], tpath(&t, "src.raw"),
		      tpath(&t, "c.qcow2"));
		check_against_qemu(&t, tpath(&t, "c.qcow2"));
	}
	tmp_free(&t);
}

/* base.raw <- mid.qcow2 <- top.qcow2, relative names, data and zero clusters at each level. */
static void make_chain(const struct tmp *t, const char *compat)
{
	make_disk(tpath(t, "base.raw"), 2 << 20, 21);
	SH_OK("cd '%s' && qemu-img create -q -f qcow2 -o compat=%s,cluster_size=4096 -b base.raw -F raw mid.qcow2",
	      t->dir, compat);
	SH_OK("qemu-io -f qcow2 -c 'write -P 0x55 60k 72k' -c 'write -P 0x66 1M 5k' '%s' >/dev/null",
	      tpath(t, "mid.qcow2"));
	SH_OK("cd '%s' && qemu-img create -q -f qcow2 -o compat=%s,cluster_size=65536 -b mid.qcow2 -F qcow2 "
	      "top.qcow2", t->dir, compat);
	SH_OK("qemu-io -f qcow2 -c 'write -P 0x77 100k 30k' -c 'write -z 512k 128k' -c 'write -z 1M 64k' "
	      "-c 'write -P 0x88 1984k 64k' '%s' >/dev/null", tpath(t, "top.qcow2"));
}

/* Turns the backing format header extension into an unknown (ignored) one. */
static void strip_backing_format(const char *img)
{
	size_t len;
	uint8_t *d = read_file(img, &len);
	long at = -1;

	for (size_t i = 72; i + 4 <= 4096 && i + 4 <= len; i += 8)
		if (!memcmp(d + i, "\xe2\x79\x2a\xca", 4))
			at = (long)i;
	cr_assert_geq(at, 0, "no backing format extension in %s", img);
	patch32(img, at, 0x0badcafe);
	free(d);
}

Test(block, qcow2_backing_chain_and_zero_clusters)
{
	struct tmp t = tmp_new();
	struct block_backend *b;
	char chain[600];

	for (int v = 0; v < 2; v++) {
		make_chain(&t, v ? "1.1" : "0.10");
		check_against_qemu(&t, tpath(&t, "top.qcow2"));
		b = open_ok(tpath(&t, "top.qcow2"), "qcow2", true, false);
		snprintf(chain, sizeof(chain), "%s -> %s", tpath(&t, "mid.qcow2"), tpath(&t, "base.raw"));
		cr_assert_str_eq(block_backing_chain(b), chain);
		block_close(b);
	}
	/* without backing format extensions, the backing files' formats are probed */
	strip_backing_format(tpath(&t, "top.qcow2"));
	strip_backing_format(tpath(&t, "mid.qcow2"));
	SH_OK("qemu-img convert -O raw '%s' '%s' 2>/dev/null", tpath(&t, "top.qcow2"), tpath(&t, "ref.raw"));
	b = open_ok(tpath(&t, "top.qcow2"), NULL, true, false);
	check_equals_raw(b, tpath(&t, "ref.raw"));
	block_close(b);

	/* an image larger than its backing file reads zeros past the backing file's end */
	SH_OK("cd '%s' && qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 big.qcow2 3M && "
	      "qemu-io -f qcow2 -c 'write -P 0x99 2044k 8k' big.qcow2 >/dev/null", t.dir);
	check_against_qemu(&t, tpath(&t, "big.qcow2"));
	tmp_free(&t);
}

/*
 * Random writes through our driver (offsets and lengths in sectors, across
 * cluster boundaries), checked against a model of the disk; then reopened
 * and read back, and checked by qemu-img check and qemu-img compare.
 */
static void write_and_check(const struct tmp *t, const char *img_arg, int nops, size_t maxlen, uint32_t seed)
{
	char img[256];
	snprintf(img, sizeof(img), "%s", img_arg);	/* tpath() buffers are reused */
	struct block_backend *b = open_ok(img, NULL, false, false);
	size_t len = block_size(b);
	uint8_t *model = malloc(len), *buf = malloc(maxlen);
	FILE *f;

	/* the starting contents, as qemu-img sees them */
	SH_OK("qemu-img convert -O raw '%s' '%s'", img, tpath(t, "before.raw"));
	check_equals_raw(b, tpath(t, "before.raw"));
	f = fopen(tpath(t, "before.raw"), "rb");
	cr_assert_eq(fread(model, 1, len, f), len);
	fclose(f);

	for (int i = 0; i < nops; i++) {
		seed = seed * 1103515245 + 12345;
		size_t n = 512 * (1 + (seed >> 8) % (maxlen / 512));
		seed = seed * 1103515245 + 12345;
		size_t at = 512 * ((seed >> 4) % ((len - n) / 512 + 1));
		fill_pattern(buf, n, seed);
		memcpy(model + at, buf, n);
		int r = block_write(b, at, buf, n);
		cr_assert_eq(r, 0, "write %zu+%zu: %d %s", at, n, r, block_last_error(b));
		if (i % 50 == 49) {
			/* the file as a crash would leave it (in write order): leaks at worst (status 3) */
			SH_OK("cp '%s' '%s'", img, tpath(t, "crash.qcow2"));
			int st = sh("qemu-img check -q '%s' 2>/dev/null", tpath(t, "crash.qcow2"));
			cr_assert(st == 0 || st == 3, "qemu-img check of a crash copy: status %d", st);
		}
		if (i % 16 == 0) {
			uint8_t *back = malloc(n);
			cr_assert_eq(block_read(b, at, back, n), 0);
			cr_assert_eq(memcmp(back, model + at, n), 0, "read after write at %zu", at);
			free(back);
		}
	}
	cr_assert_eq(block_flush(b), 0);
	/* after a flush the file is complete, before close */
	cr_assert_eq(sh("qemu-img check -q '%s'", img), 0, "qemu-img check after block_flush: %s", img);
	block_close(b);

	write_file(tpath(t, "model.raw"), model, len);
	b = open_ok(img, NULL, true, false);
	check_equals_raw(b, tpath(t, "model.raw"));
	block_close(b);
	cr_assert_eq(sh("qemu-img check -q '%s'", img), 0, "qemu-img check found errors or leaks in %s", img);
	cr_assert_eq(sh("qemu-img compare -q -f raw -F qcow2 '%s' '%s'", tpath(t, "model.raw"), img), 0,
		     "qemu-img compare: %s differs from the model", img);
	free(model);
	free(buf);
}

Test(block, qcow2_writes_fresh_images)
{
	static const char *const opts[] = {
		"compat=1.1,cluster_size=65536", "compat=0.10,cluster_size=4096",
		"compat=1.1,cluster_size=512,refcount_bits=1", "compat=1.1,cluster_size=4096,refcount_bits=8",
		"compat=1.1,cluster_size=2M,refcount_bits=32",
	};
	struct tmp t = tmp_new();

	for (int k = 0; k < 5; k++) {
		SH_OK("qemu-img create -q -f qcow2 -o %s '%s' 8M", opts[k], tpath(&t, "w.qcow2"));
		write_and_check(&t, tpath(&t, "w.qcow2"), 150, 20 * 1024, 100 + k);
	}
	tmp_free(&t);
}

Test(block, qcow2_writes_over_data_compressed_and_backing)
{
	struct tmp t = tmp_new();

	/* over allocated data and unallocated clusters */
	make_disk(tpath(&t, "src.raw"), 4 << 20, 31);
	SH_OK("qemu-img convert -O qcow2 -o compat=1.1,cluster_size=4096 '%s' '%s'", tpath(&t, "src.raw"),
	      tpath(&t, "d.qcow2"));
	write_and_check(&t, tpath(&t, "d.qcow2"), 150, 12 * 1024, 7);

	/* over compressed clusters (their host clusters are shared, refcounts must drop exactly) */
	SH_OK("qemu-img convert -c -O qcow2 -o compat=1.1,cluster_size=4096 '%s' '%s'", tpath(&t, "src.raw"),
	      tpath(&t, "c.qcow2"));
	write_and_check(&t, tpath(&t, "c.qcow2"), 150, 6 * 1024, 8);
	SH_OK("qemu-img convert -c -O qcow2 -o compat=0.10,cluster_size=65536 '%s' '%s'", tpath(&t, "src.raw"),
	      tpath(&t, "c2.qcow2"));
	write_and_check(&t, tpath(&t, "c2.qcow2"), 80, 40 * 1024, 9);

	/* over backing data and zero clusters, and the backing files stay untouched */
	make_chain(&t, "1.1");
	SH_OK("cp '%s' '%s' && cp '%s' '%s'", tpath(&t, "base.raw"), tpath(&t, "base.copy"), tpath(&t, "mid.qcow2"),
	      tpath(&t, "mid.copy"));
	write_and_check(&t, tpath(&t, "top.qcow2"), 150, 140 * 1024, 10);
	SH_OK("cmp -s '%s' '%s' && cmp -s '%s' '%s'", tpath(&t, "base.raw"), tpath(&t, "base.copy"),
	      tpath(&t, "mid.qcow2"), tpath(&t, "mid.copy"));
	tmp_free(&t);
}

/* 512-byte clusters with 64-bit refcounts: a refcount block covers 32 KiB, the table soon moves. */
Test(block, qcow2_refcount_table_grows)
{
	struct tmp t = tmp_new();
	struct block_backend *b;
	uint8_t *buf = malloc(256 * 1024);
	size_t len;

	SH_OK("qemu-img create -q -f qcow2 -o compat=1.1,cluster_size=512,refcount_bits=64 '%s' 16M",
	      tpath(&t, "g.qcow2"));
	uint64_t rt_before = header64(tpath(&t, "g.qcow2"), 48);
	b = open_ok(tpath(&t, "g.qcow2"), NULL, false, false);
	len = block_size(b);
	for (size_t at = 0; at < len; at += 256 * 1024) {
		fill_pattern(buf, 256 * 1024, (uint32_t)at);
		cr_assert_eq(block_write(b, at, buf, 256 * 1024), 0, "%s", block_last_error(b));
	}
	block_close(b);
	cr_assert_gt(header64(tpath(&t, "g.qcow2"), 48), rt_before, "the refcount table did not move");
	cr_assert_gt(header32(tpath(&t, "g.qcow2"), 56), 8, "the refcount table did not grow");
	cr_assert_eq(sh("qemu-img check -q '%s'", tpath(&t, "g.qcow2")), 0);
	write_and_check(&t, tpath(&t, "g.qcow2"), 50, 4096, 12);
	free(buf);
	tmp_free(&t);
}

Test(block, qcow2_snapshot_mode_leaves_file_unchanged)
{
	struct tmp t = tmp_new();
	struct block_backend *b;
	uint8_t buf[8192], back[8192];

	make_chain(&t, "1.1");
	SH_OK("cp '%s' '%s'", tpath(&t, "top.qcow2"), tpath(&t, "top.copy"));
	b = open_ok(tpath(&t, "top.qcow2"), NULL, false, true);
	for (uint64_t at = 0; at < block_size(b); at += 300 * 512) {
		fill_pattern(buf, sizeof(buf), (uint32_t)at);
		cr_assert_eq(block_write(b, at, buf, sizeof(buf)), 0);
		cr_assert_eq(block_read(b, at, back, sizeof(back)), 0);
		cr_assert_eq(memcmp(buf, back, sizeof(buf)), 0);
	}
	cr_assert_eq(block_flush(b), 0);
	block_close(b);
	SH_OK("cmp -s '%s' '%s'", tpath(&t, "top.qcow2"), tpath(&t, "top.copy"));
	tmp_free(&t);
}

/* ---- damaged images ---- */

static void patch(const char *path, long at, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, len, at), (ssize_t)len);
	close(fd);
}

static void patch64(const char *path, long at, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	patch(path, at, b, 8);
}

static void patch32(const char *path, long at, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	patch(path, at, b, 4);
}

/* A v3 image, 4 KiB clusters, 1 MiB, first 8 KiB written: header, refcount table at 0x1000, L1 at 0x3000. */
static void make_small(const struct tmp *t, const char *name)
{
	SH_OK("qemu-img create -q -f qcow2 -o compat=1.1,cluster_size=4096 '%s' 1M && "
	      "qemu-io -f qcow2 -c 'write -P 0x3c 0 8k' '%s' >/dev/null", tpath(t, name), tpath(t, name));
}

/* Opening fails with an error naming the file and containing `what`. */
static void refused(const char *path, bool ro, const char *what)
{
	struct block_options o = { .file = path, .format = "qcow2", .read_only = ro };
	struct block_backend *b;
	char err[512];
	int r = block_open(&b, &o, err, sizeof(err));

	cr_assert_lt(r, 0, "%s opened; expected a refusal about '%s'", path, what);
	cr_assert_null(b);
	cr_assert(strstr(err, path), "message does not name the file: %s", err);
	cr_assert(strstr(err, what), "message '%s' does not say '%s'", err, what);
}

struct damage {
	long at;		/* byte offset in the file, -1 = truncate to `value` bytes */
	int width;		/* 4 or 8 */
	uint64_t value;
	bool ro;		/* open read-only */
	const char *what;	/* expected in the message */
};

Test(block, qcow2_bad_headers_refused_with_a_message)
{
	static const struct damage d[] = {
		{ 0, 4, 0x514649fa, true, "bad magic" },
		{ 4, 4, 4, true, "version 4" },
		{ 4, 4, 1, true, "version 1" },
		{ 20, 4, 8, true, "cluster_bits" },
		{ 20, 4, 22, true, "cluster_bits" },
		{ 20, 4, 63, true, "cluster_bits" },
		{ 24, 8, 1ull << 62, true, "too small" },
		{ 24, 8, ~0ull, true, "too small" },
		{ 32, 4, 1, true, "encrypted" },
		{ 36, 4, 0, true, "too small" },
		{ 36, 4, 0x10000000, true, "L1 table" },
		{ 40, 8, 0x3008, true, "not cluster-aligned" },
		{ 40, 8, 1ull << 40, true, "beyond the end" },
		{ 40, 8, ~0ull << 12, true, "beyond the end" },
		{ 48, 8, 0, true, "refcount table" },
		{ 48, 8, 1ull << 40, true, "beyond the end" },
		{ 56, 4, 0, true, "refcount table" },
		{ 56, 4, 0xffffffff, true, "refcount table" },
		{ 56, 4, 100, true, "beyond the end" },
		{ 60, 4, 0x7fffffff, true, "snapshots" },
		{ 72, 8, 1ull << 5, true, "bit 5" },
		{ 72, 8, 1ull << 63, true, "bit 63" },
		{ 72, 8, 1ull << 3, true, "compression type" },
		{ 72, 8, 1, false, "dirty" },
		{ 72, 8, 2, false, "corrupt" },
		{ 96, 4, 7, true, "refcount_order" },
		{ 100, 4, 100, true, "header_length" },
		{ 100, 4, 107, true, "header_length" },
		{ 100, 4, 0x10000, true, "header_length" },
		{ 112, 4, 0xe2792aca, true, "header extension" },	/* length 0 ... */
		{ -1, 0, 50, true, "shorter than a header" },
		{ -1, 0, 100, true, "shorter than a version 3 header" },
		{ -1, 0, 0x3000, true, "beyond the end" },
	};
	struct tmp t = tmp_new();
	char *img = tpath(&t, "bad.qcow2");

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		make_small(&t, "bad.qcow2");
		if (d[i].at < 0)
			cr_assert_eq(truncate(img, (off_t)d[i].value), 0);
		else if (d[i].width == 4)
			patch32(img, d[i].at, (uint32_t)d[i].value);
		else
			patch64(img, d[i].at, d[i].value);
		if (d[i].at == 112)	/* ... and a length running past the cluster */
			patch32(img, 116, 0x10000);
		refused(img, d[i].ro, d[i].what);
	}
	tmp_free(&t);
}

Test(block, qcow2_feature_names_backing_names_and_flags)
{
	struct tmp t = tmp_new();
	char *img = tpath(&t, "f.qcow2");
	uint8_t ext[8 + 48] = { 0x68, 0x03, 0xf8, 0x57, 0, 0, 0, 48, 0, 9 };
	struct block_backend *b;

	/* an unknown incompatible feature is named from the image's feature name table */
	make_small(&t, "f.qcow2");
	memcpy(ext + 10, "frobnication", 12);
	patch(img, 112, ext, sizeof(ext));
	patch64(img, 72, 1ull << 9);
	refused(img, true, "frobnication");

	/* dirty: read-only and snapshot opens work, writable ones do not */
	make_small(&t, "f.qcow2");
	patch64(img, 72, 1);
	refused(img, false, "qemu-img check -r all");
	b = open_ok(img, NULL, true, false);
	block_close(b);
	b = open_ok(img, NULL, false, true);
	block_close(b);

	/* zstd */
	make_small(&t, "f.qcow2");
	patch64(img, 72, 1ull << 3);
	patch(img, 104, "\x01", 1);
	refused(img, true, "compression type 1");

	/* backing file names: too long, outside the first cluster, missing file */
	make_small(&t, "f.qcow2");
	patch64(img, 8, 512);
	patch32(img, 16, 2000);
	refused(img, true, "backing file name is 2000 bytes");
	patch64(img, 8, 4000);
	patch32(img, 16, 200);
	refused(img, true, "outside the first cluster");
	patch64(img, 8, 512);
	patch32(img, 16, 9);
	patch(img, 512, "gone.qcow", 9);
	refused(img, true, "gone.qcow");

	/* an autoclear bit is cleared by a writable open */
	make_small(&t, "f.qcow2");
	patch64(img, 88, 1ull << 1);
	b = open_ok(img, NULL, false, false);
	block_close(b);
	cr_assert_eq(header64(img, 88), 0);
	tmp_free(&t);
}

Test(block, qcow2_backing_loops_refused)
{
	struct tmp t = tmp_new();

	SH_OK("cd '%s' && qemu-img create -q -f qcow2 b.qcow2 1M && "
	      "qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 a.qcow2 && "
	      "qemu-img rebase -u -b a.qcow2 -F qcow2 b.qcow2 && "
	      "qemu-img create -q -f qcow2 self.qcow2 1M && qemu-img rebase -u -b self.qcow2 -F qcow2 self.qcow2",
	      t.dir);
	refused(tpath(&t, "a.qcow2"), true, "loops");
	refused(tpath(&t, "self.qcow2"), true, "loops");
	tmp_free(&t);
}

static uint64_t l2_of_cluster0(const char *img)
{
	return header64(img, (long)header64(img, 40)) & 0x00fffffffffffe00ull;
}

Test(block, qcow2_bad_table_entries_give_eio)
{
	struct tmp t = tmp_new();
	char *img = tpath(&t, "e.qcow2");
	uint8_t buf[4096];
	struct block_backend *b;
	uint64_t l2;
	static const uint64_t bad_l2[] = {
		(1ull << 63) | (1ull << 40),	/* beyond the file */
		(1ull << 63) | 0x5100,		/* not aligned */
		(1ull << 63) | 0x5000 | 0x10,	/* reserved bits */
		(1ull << 62) | (1ull << 40),	/* compressed, beyond the file */
		(1ull << 62) | 0x1000,		/* compressed, not deflate data */
	};

	for (size_t i = 0; i < sizeof(bad_l2) / sizeof(bad_l2[0]); i++) {
		make_small(&t, "e.qcow2");
		l2 = l2_of_cluster0(img);
		patch64(img, (long)l2 + 8, bad_l2[i]);	/* guest cluster 1 */
		b = open_ok(img, NULL, i & 1, false);
		cr_assert_eq(block_read(b, 0, buf, 4096), 0);
		cr_assert_eq(buf[0], 0x3c);
		cr_assert_eq(block_read(b, 4096, buf, 4096), -EIO, "entry %#llx", (unsigned long long)bad_l2[i]);
		cr_assert(strstr(block_last_error(b), img), "%s", block_last_error(b));
		if (!(i & 1))
			cr_assert_eq(block_write(b, 4096, buf, 512), -EIO);
		block_close(b);
	}

	/* an L1 entry beyond the file */
	make_small(&t, "e.qcow2");
	patch64(img, (long)header64(img, 40), (1ull << 63) | (1ull << 45));
	b = open_ok(img, NULL, false, false);
	cr_assert_eq(block_read(b, 0, buf, 4096), -EIO);
	cr_assert(strstr(block_last_error(b), "L1 entry 0"), "%s", block_last_error(b));
	cr_assert_eq(block_write(b, 512, buf, 512), -EIO);
	block_close(b);

	/* a refcount table entry beyond the file: reads work, allocating writes fail */
	make_small(&t, "e.qcow2");
	patch64(img, (long)header64(img, 48), 1ull << 40);
	b = open_ok(img, NULL, false, false);
	cr_assert_eq(block_read(b, 0, buf, 4096), 0);
	cr_assert_eq(block_write(b, 0, buf, 512), 0);	/* in place: no refcount needed */
	cr_assert_eq(block_write(b, 64 * 1024, buf, 512), -EIO);
	cr_assert(strstr(block_last_error(b), "refcount table entry 0"), "%s", block_last_error(b));
	cr_assert_eq(block_write(b, 0, buf, 512), -EIO);	/* and no more writes */
	block_close(b);

	/* v2 has no zero flag */
	SH_OK("qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 '%s' 1M && "
	      "qemu-io -f qcow2 -c 'write -P 1 0 8k' '%s' >/dev/null", img, img);
	patch64(img, (long)l2_of_cluster0(img) + 8, 1);
	b = open_ok(img, NULL, true, false);
	cr_assert_eq(block_read(b, 4096, buf, 4096), -EIO);
	block_close(b);
	tmp_free(&t);
}

/*
 * Random damage anywhere in the metadata of small images (v3 with
 * compressed clusters, v2 with data): whatever happens, opening,
 * reading and writing return errors, never crash or hang.
 */
Test(block, qcow2_random_damage_never_crashes)
{
	struct tmp t = tmp_new();
	char *src = tpath(&t, "src.raw"), *img = tpath(&t, "m.qcow2");
	uint32_t seed = 4242;
	uint8_t *buf = malloc(1 << 20);
	int opened = 0;

	make_disk(src, 512 * 1024, 77);
	for (int kind = 0; kind < 2; kind++) {
		size_t len;
		uint8_t *orig;

		if (kind)
			SH_OK("qemu-img convert -O qcow2 -o compat=0.10,cluster_size=512 '%s' '%s'", src, img);
		else
			SH_OK("qemu-img convert -c -O qcow2 -o compat=1.1,cluster_size=4096 '%s' '%s'", src, img);
		orig = read_file(img, &len);
		for (int iter = 0; iter < 150; iter++) {
			uint8_t *m = malloc(len);
			memcpy(m, orig, len);
			seed = seed * 1103515245 + 12345;
			int nflip = 1 + (seed >> 16) % 6;
			for (int k = 0; k < nflip; k++) {
				seed = seed * 1103515245 + 12345;
				/* mostly the header and first tables, sometimes anywhere */
				size_t span = (seed & 3) ? (len < 16384 ? len : 16384) : len;
				size_t at = (seed >> 8) % span;
				seed = seed * 1103515245 + 12345;
				m[at] ^= (uint8_t)(1u << ((seed >> 16) & 7)) | (uint8_t)((seed >> 24) & 0x81);
			}
			size_t cut = (seed >> 3) % 11 == 0 ? (seed >> 5) % len : len;	/* sometimes truncated */
			write_file(img, m, cut);
			free(m);

			struct block_options o = { .file = img, .format = (iter & 1) ? "qcow2" : NULL };
			struct block_backend *b;
			char err[512];
			if (block_open(&b, &o, err, sizeof(err)) < 0) {
				cr_assert(strstr(err, img), "%s", err);
				continue;
			}
			opened++;
			uint64_t size = block_size(b) < (1 << 20) ? block_size(b) : (1 << 20);
			for (uint64_t at = 0; at < size; at += 64 * 1024) {
				size_t n = size - at < 64 * 1024 ? size - at : 64 * 1024;
				(void)!block_read(b, at, buf, n);
			}
			for (int w = 0; w < 4; w++) {
				seed = seed * 1103515245 + 12345;
				uint64_t at = size > 8192 ? 512 * ((seed >> 8) % ((size - 8192) / 512)) : 0;
				if (size >= 8192)
					(void)!block_write(b, at, buf, 8192);
			}
			(void)!block_flush(b);
			block_close(b);
		}
		free(orig);
	}
	cr_assert_gt(opened, 50, "too few damaged images opened (%d) for the test to mean much", opened);
	free(buf);
	tmp_free(&t);
}

/*
 * Chains of n qcow2 images c000 -> c001 -> ... -> c<n-1> -> c999, made
 * by patching the backing name of one template (qemu-img would take
 * seconds for hundreds of images). c999 has 0x42 in its second 4 KiB.
 */
static void make_deep_chain(const struct tmp *t, int n)
{
	size_t len;
	uint8_t *tpl;
	uint64_t at;
	char name[16];

	SH_OK("cd '%s' && qemu-img create -q -f qcow2 -o cluster_size=4096 c999.qcow2 64K && "
	      "qemu-io -f qcow2 -c 'write -P 0x42 4k 4k' c999.qcow2 >/dev/null && "
	      "qemu-img create -q -f qcow2 -o cluster_size=4096 -u -b cXXX.qcow2 -F qcow2 tpl.qcow2 64K", t->dir);
	tpl = read_file(tpath(t, "tpl.qcow2"), &len);
	at = header64(tpath(t, "tpl.qcow2"), 8);
	cr_assert_eq(header32(tpath(t, "tpl.qcow2"), 16), 10);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%03d.qcow2", i == n - 1 ? 999 : i + 1);
		memcpy(tpl + at, name, 10);
		snprintf(name, sizeof(name), "c%03d.qcow2", i);
		write_file(tpath(t, name), tpl, len);
	}
	free(tpl);
}

Test(block, qcow2_deep_backing_chains)
{
	struct tmp t = tmp_new();
	struct block_backend *b;
	uint8_t buf[8192];

	make_deep_chain(&t, 200);
	b = open_ok(tpath(&t, "c000.qcow2"), NULL, false, false);
	cr_assert_eq(block_read(b, 0, buf, 8192), 0);
	cr_assert_eq(buf[4095], 0);
	cr_assert_eq(buf[4096], 0x42);
	cr_assert_eq(buf[8191], 0x42);
	cr_assert(strstr(block_backing_chain(b), "c199.qcow2 -> "), "%s", block_backing_chain(b));
	block_close(b);

	make_deep_chain(&t, 300);
	refused(tpath(&t, "c000.qcow2"), false, "deeper than 256");
	tmp_free(&t);
}
