/*
 * fw_cfg.c - QEMU's fw_cfg device on the PC's I/O ports (see fw_cfg.h).
 *
 * The data port streams the selected item from its current offset, one
 * byte per byte of access; past the end it reads 0. The DMA address is
 * written big-endian as two 32-bit halves (0x514 high, 0x518 low; the
 * write of the low half runs the request); reading 0x514-0x51B returns
 * the "QEMU CFG" signature as a big-endian 64-bit value. File keys are
 * handed out in the order files are added and the directory is rebuilt
 * (sorted by name) on every change.
 *
 * Saved state: the selector, the offset into the selected item and the
 * DMA address's latched high half. The items are configuration built at
 * machine creation, not saved; none is guest-writable today (a writable
 * item would need its contents in the section).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "state.h"
#include "cpu/cpuid.h"
#include "dev/acpi.h"
#include "dev/fw_cfg.h"

#define FW_CFG_MAX_KEYS (FW_CFG_FILE_FIRST + FW_CFG_FILE_MAX)
#define BELOW_4G_MAX 0xe0000000ull
#define DMA_SIGNATURE 0x51454d5520434647ull	/* "QEMU CFG" */

struct fw_item {
	uint8_t *data;
	size_t len;
	bool writable;
	char name[FW_CFG_MAX_NAME];	/* files only */
};

struct fw_cfg {
	struct machine *m;
	struct fw_item items[FW_CFG_MAX_KEYS];
	int nfiles;
	uint16_t sel;
	uint64_t off;
	uint32_t dma_hi;
};

static const struct state_field fw_cfg_fields[] = {
	STATE_FIELD(struct fw_cfg, sel, SF_HEX), STATE_FIELD(struct fw_cfg, off, SF_DEC),
	STATE_FIELD(struct fw_cfg, dma_hi, SF_HEX), STATE_END,
};

/* The item of a key: bit 14 (write channel) is ignored; bit 15 selects the
 * architecture-local keys (QEMU's legacy x86 items 0x8000-0x8004), none of
 * which exist here, so they read as 0 (SeaBIOS then finds no legacy tables). */
static struct fw_item *item(struct fw_cfg *f, uint16_t key)
{
	if (key & FW_CFG_ARCH_LOCAL)
		return NULL;
	key &= 0x3fff;
	return key < FW_CFG_MAX_KEYS ? &f->items[key] : NULL;
}

static int set_item(struct fw_cfg *f, uint16_t key, const void *data, size_t len, bool writable)
{
	struct fw_item *it = item(f, key);
	uint8_t *copy;

	if (it == NULL)
		return -EINVAL;
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	free(it->data);
	it->data = copy;
	it->len = len;
	it->writable = writable;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct fw_item *const *)a)[0]->name,
		      ((const struct fw_item *const *)b)[0]->name);
}

static int rebuild_dir(struct fw_cfg *f)
{
	const struct fw_item *sorted[FW_CFG_FILE_MAX];
	size_t len = 4 + 64 * (size_t)f->nfiles;
	uint8_t *d = calloc(1, len);
	int r;

	if (d == NULL)
		return -ENOMEM;
	for (int k = 0; k < f->nfiles; k++)
		sorted[k] = &f->items[FW_CFG_FILE_FIRST + k];
	qsort(sorted, (size_t)f->nfiles, sizeof(sorted[0]), cmp_names);
	d[0] = (uint8_t)(f->nfiles >> 24);
	d[1] = (uint8_t)(f->nfiles >> 16);
	d[2] = (uint8_t)(f->nfiles >> 8);
	d[3] = (uint8_t)f->nfiles;
	for (int k = 0; k < f->nfiles; k++) {
		uint8_t *e = d + 4 + 64 * k;
		uint32_t size = (uint32_t)sorted[k]->len;
		uint16_t key = (uint16_t)(sorted[k] - f->items);
		e[0] = (uint8_t)(size >> 24);
		e[1] = (uint8_t)(size >> 16);
		e[2] = (uint8_t)(size >> 8);
		e[3] = (uint8_t)size;
		e[4] = (uint8_t)(key >> 8);
		e[5] = (uint8_t)key;
		memcpy(e + 8, sorted[k]->name, FW_CFG_MAX_NAME);
	}
	r = set_item(f, FW_CFG_FILE_DIR, d, len, false);
	free(d);
	return r;
}

int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, size_t len)
{
	if ((key & 0x3fff) >= FW_CFG_FILE_FIRST || key == FW_CFG_FILE_DIR)
		return -EINVAL;
	return set_item(f, key, data, len, false);
}

int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return fw_cfg_add_bytes(f, key, b, 2);
}

int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t v)
{
	uint8_t b[4];
	for (int k = 0; k < 4; k++)
		b[k] = (uint8_t)(v >> (8 * k));
	return fw_cfg_add_bytes(f, key, b, 4);
}

int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t v)
{
	uint8_t b[8];
	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(v >> (8 * k));
	return fw_cfg_add_bytes(f, key, b, 8);
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len,
		    bool writable)
{
	int k, r;

	if (strlen(name) >= FW_CFG_MAX_NAME)
		return -ENAMETOOLONG;
	for (k = 0; k < f->nfiles; k++)
		if (strcmp(f->items[FW_CFG_FILE_FIRST + k].name, name) == 0)
			break;
	if (k == f->nfiles && f->nfiles >= FW_CFG_FILE_MAX)
		return -ENOSPC;
	r = set_item(f, (uint16_t)(FW_CFG_FILE_FIRST + k), data, len, writable);
	if (r < 0)
		return r;
	memset(f->items[FW_CFG_FILE_FIRST + k].name, 0, FW_CFG_MAX_NAME);
	strcpy(f->items[FW_CFG_FILE_FIRST + k].name, name);
	if (k == f->nfiles)
		f->nfiles++;
	return rebuild_dir(f);
}

const uint8_t *fw_cfg_file(const struct fw_cfg *f, const char *name, size_t *len)
{
	for (int k = 0; k < f->nfiles; k++) {
		const struct fw_item *it = &f->items[FW_CFG_FILE_FIRST + k];
		if (strcmp(it->name, name) == 0) {
			*len = it->len;
			return it->data;
		}
	}
	return NULL;
}

/* ---- port interface ---- */

static uint8_t data_byte(struct fw_cfg *f)
{
	const struct fw_item *it = item(f, f->sel);

	if (it == NULL || f->off >= it->len)
		return 0;
	return it->data[f->off++];
}

/* True when [pa, pa+len) is all guest RAM. */
static bool ram_span(struct machine *m, uint64_t pa, uint64_t len)
{
	while (len) {
		const struct mem_region *r = memmap_find(&m->mem, pa);
		uint64_t n;

		if (r == NULL || r->kind != REGION_RAM || pa + len < pa)
			return false;
		n = r->base + r->size - pa;
		if (n >= len)
			return true;
		pa += n;
		len -= n;
	}
	return true;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dma_run(struct fw_cfg *f, uint64_t addr)
{
	struct machine *m = f->m;
	uint8_t d[16], ctl_out[4] = { 0 };
	uint32_t ctl, len;
	uint64_t buf;
	bool error = false;

	if (!ram_span(m, addr, 16))
		return;		/* nowhere to report: QEMU ignores it as well */
	phys_read(m, addr, d, 16);
	ctl = be32(d);
	len = be32(d + 4);
	buf = (uint64_t)be32(d + 8) << 32 | be32(d + 12);

	if (ctl & FW_CFG_DMA_SELECT) {
		f->sel = (uint16_t)(ctl >> 16);
		f->off = 0;
	}
	if (ctl & (FW_CFG_DMA_READ | FW_CFG_DMA_WRITE | FW_CFG_DMA_SKIP)) {
		struct fw_item *it = item(f, f->sel);
		size_t avail = it && f->off < it->len ? it->len - f->off : 0;
		size_t n = len < avail ? len : avail;

		if (ctl & FW_CFG_DMA_READ) {
			if (!ram_span(m, buf, len)) {
				error = true;
			} else {
				static const uint8_t zeros[256];
				if (n)
					phys_write(m, buf, it->data + f->off, n);
				for (size_t z = n; z < len;) {
					size_t c = len - z < sizeof(zeros) ? len - z : sizeof(zeros);
					phys_write(m, buf + z, zeros, c);
					z += c;
				}
			}
		} else if (ctl & FW_CFG_DMA_WRITE) {
			if (it == NULL || !it->writable || !ram_span(m, buf, len) || n < len)
				error = true;
			else
				phys_read(m, buf, it->data + f->off, n);
		}
		if (!error)
			f->off += n;
	}
	if (error)
		ctl_out[3] = FW_CFG_DMA_ERROR;
	phys_write(m, addr, ctl_out, 4);
}

static uint32_t port_read(void *opaque, uint16_t port, unsigned size)
{
	struct fw_cfg *f = opaque;
	uint32_t v = 0;

	if (port == FW_CFG_PORT_DATA) {
		for (unsigned k = 0; k < size; k++)
			v |= (uint32_t)data_byte(f) << (8 * k);
		return v;
	}
	if (port >= FW_CFG_PORT_DMA && port < FW_CFG_PORT_DMA + 8) {
		/* The signature as big-endian bytes at 0x514..0x51B. */
		for (unsigned k = 0; k < size && port + k < FW_CFG_PORT_DMA + 8; k++) {
			unsigned idx = port + k - FW_CFG_PORT_DMA;
			v |= (uint32_t)(uint8_t)(DMA_SIGNATURE >> (56 - 8 * idx)) << (8 * k);
		}
		return v;
	}
	if (port == FW_CFG_PORT_SEL)
		return f->sel;
	return 0xffffffffu;
}

static uint32_t bswap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static void port_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct fw_cfg *f = opaque;

	if (port == FW_CFG_PORT_SEL && size >= 2) {
		f->sel = (uint16_t)value;
		f->off = 0;
	} else if (port == FW_CFG_PORT_DMA && size == 4) {
		f->dma_hi = bswap32(value);
	} else if (port == FW_CFG_PORT_DMA + 4 && size == 4) {
		uint64_t addr = (uint64_t)f->dma_hi << 32 | bswap32(value);
		f->dma_hi = 0;
		dma_run(f, addr);
	} else if (log_on(&f->m->log, LOG_GUEST_ERRORS)) {
		log_printf(&f->m->log, "fw_cfg: write of 0x%x (size %u) to port 0x%x ignored\n", value,
			   size, port);
	}
}

/* ---- lifetime ---- */

struct fw_cfg *fw_cfg_create(struct machine *m, char *err, size_t errlen)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	int r;

	if (f == NULL) {
		snprintf(err, errlen, "out of memory creating fw_cfg");
		return NULL;
	}
	f->m = m;
	r = machine_add_io(m, FW_CFG_PORT_SEL, 2, port_read, port_write, f, "fw_cfg");
	if (r == 0) {
		r = machine_add_io(m, FW_CFG_PORT_DMA, 8, port_read, port_write, f, "fw_cfg-dma");
		if (r < 0)
			(void)machine_remove_io(m, FW_CFG_PORT_SEL, 2);
	}
	if (r == 0)
		r = set_item(f, FW_CFG_SIGNATURE, "QEMU", 4, false);
	if (r == 0)
		r = fw_cfg_add_i32(f, FW_CFG_ID, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	if (r == 0)
		r = rebuild_dir(f);
	if (r == 0)
		r = machine_register_state(m, &(struct state_section){
			.name = "fw_cfg", .version = 1, .fields = fw_cfg_fields, .base = f });
	if (r < 0) {
		snprintf(err, errlen, "cannot create fw_cfg (ports 0x510-0x511, 0x514-0x51B): %s",
			 strerror(-r));
		fw_cfg_destroy(f);
		return NULL;
	}
	return f;
}

void fw_cfg_destroy(struct fw_cfg *f)
{
	if (f == NULL)
		return;
	(void)machine_remove_io(f->m, FW_CFG_PORT_SEL, 2);
	(void)machine_remove_io(f->m, FW_CFG_PORT_DMA, 8);
	for (int k = 0; k < FW_CFG_MAX_KEYS; k++)
		free(f->items[k].data);
	free(f);
}

void fw_cfg_reset(struct fw_cfg *f)
{
	f->sel = 0;
	f->off = 0;
	f->dma_hi = 0;
}

/* ---- the PC's items ---- */

int fw_cfg_e820(const struct machine *m, struct e820_entry *out, int max)
{
	uint64_t ram = m->cfg.ram_size;
	uint64_t below = ram < BELOW_4G_MAX ? ram : BELOW_4G_MAX;
	int n = 0;

	if (n < max)
		out[n++] = (struct e820_entry){ 0, below, E820_RAM };
	if (n < max)
		out[n++] = (struct e820_entry){ 0xfeffc000ull, 0x4000, E820_RESERVED };
	if (ram > below && n < max)
		out[n++] = (struct e820_entry){ 1ull << 32, ram - below, E820_RAM };
	return n;
}

int fw_cfg_populate_pc(struct fw_cfg *f, struct machine *m)
{
	struct e820_entry e820[E820_MAX];
	struct acpi_config acfg;
	struct acpi_tables t;
	uint64_t msr = 0;
	int n = fw_cfg_e820(m, e820, E820_MAX), r;

	if (m->ncpus > 0 && cpu_feature_word_bit(m->cpus[0]->features, FEAT_VMX))
		msr = 0x1 | 0x4;	/* locked, VMX outside SMX */
	r = fw_cfg_add_i64(f, FW_CFG_RAM_SIZE, m->cfg.ram_size);
	if (r == 0)
		r = fw_cfg_add_i16(f, FW_CFG_NB_CPUS, (uint16_t)m->ncpus);
	if (r == 0)
		r = fw_cfg_add_i16(f, FW_CFG_MAX_CPUS, (uint16_t)m->ncpus);
	if (r == 0)
		r = fw_cfg_add_i16(f, FW_CFG_NOGRAPHIC, 0);
	if (r == 0)
		r = fw_cfg_add_i16(f, FW_CFG_BOOT_MENU, 0);
	if (r == 0)
		r = fw_cfg_add_bytes(f, FW_CFG_UUID, (const uint8_t[16]){ 0 }, 16);
	if (r == 0)
		r = fw_cfg_add_file(f, "bootorder", "", 0, false);
	if (r == 0)
		r = fw_cfg_add_file(f, "etc/e820", e820, sizeof(e820[0]) * (size_t)n, false);
	if (r == 0)
		r = fw_cfg_add_file(f, "etc/msr_feature_control",
				    (const uint8_t[8]){ (uint8_t)msr }, 8, false);
	if (r < 0)
		return r;
	acpi_config_from_machine(m, &acfg);
	r = acpi_build(&acfg, &t);
	if (r < 0)
		return r;
	r = fw_cfg_add_file(f, ACPI_TABLES_FILE, t.tables, t.tables_len, false);
	if (r == 0)
		r = fw_cfg_add_file(f, ACPI_RSDP_FILE, t.rsdp, sizeof(t.rsdp), false);
	if (r == 0)
		r = fw_cfg_add_file(f, ACPI_LOADER_FILE, t.loader, t.loader_len, false);
	acpi_tables_free(&t);
	return r;
}
