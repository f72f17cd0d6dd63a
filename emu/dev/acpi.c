/*
 * acpi.c - ACPI table generation (see acpi.h for the set and the layout).
 *
 * The DSDT is AML bytecode (ACPI 6.4 ch. 20) produced by a small emitter:
 * a growing byte buffer in which a construct with a PkgLength (Scope,
 * Device, Method, If, Buffer, Package, Field) is opened with pkg_begin and
 * closed with pkg_end, which inserts the PkgLength encoding in front of
 * the body once its size is known (20.2.4: one byte below 64, else a lead
 * byte with the count of following bytes in bits 7:6 and the low nibble).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "dev/acpi.h"
#include "dev/acpi_pm.h"
#include "dev/hpet.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"

#define OEM_ID "NESTEM"
#define OEM_TABLE_ID "NESTEMU "
#define CREATOR_ID "NEMU"
#define BELOW_4G_MAX 0xe0000000ull
#define PCI_HOLE_END 0xfec00000ull

/* ---- byte buffer ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
	size_t open[16];	/* pkg_begin positions */
	int nopen;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;
		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put8(struct buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v);
	put8(b, v >> 8);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

static void put64(struct buf *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static void set16(struct buf *b, size_t off, unsigned v)
{
	if (b->oom)
		return;
	b->p[off] = (uint8_t)v;
	b->p[off + 1] = (uint8_t)(v >> 8);
}

static void set32(struct buf *b, size_t off, uint32_t v)
{
	set16(b, off, v & 0xffff);
	set16(b, off + 2, v >> 16);
}

static void align(struct buf *b, size_t a)
{
	while (b->len % a)
		put8(b, 0);
}

uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t s = 0;
	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* ---- AML emitter ---- */

static void pkg_begin(struct buf *b)
{
	b->open[b->nopen++] = b->len;
}

static void pkg_end(struct buf *b)
{
	size_t start = b->open[--b->nopen], body = b->len - start;
	uint8_t enc[4];
	unsigned n;

	if (body + 1 < 64) {
		enc[0] = (uint8_t)(body + 1);
		n = 1;
	} else {
		size_t total;
		n = body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
		total = body + n;
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (unsigned k = 1; k < n; k++)
			enc[k] = (uint8_t)(total >> (4 + 8 * (k - 1)));
	}
	put(b, enc, n);		/* grow, then shift the body */
	if (b->oom)
		return;
	memmove(b->p + start + n, b->p + start, body);
	memcpy(b->p + start, enc, n);
}

/* A NameString: "\\_SB.PCI0", "^FOO", "LNKA"; segments padded with '_'. */
static void aml_name(struct buf *b, const char *path)
{
	const char *s = path;
	int nseg = 1;

	while (*s == '\\' || *s == '^')
		put8(b, (uint8_t)*s++);
	for (const char *q = s; *q; q++)
		nseg += *q == '.';
	if (*s == '\0') {
		put8(b, 0);	/* NullName */
		return;
	}
	if (nseg == 2)
		put8(b, 0x2e);
	else if (nseg > 2) {
		put8(b, 0x2f);
		put8(b, (unsigned)nseg);
	}
	while (*s) {
		char seg[4] = { '_', '_', '_', '_' };
		for (int k = 0; *s && *s != '.'; s++)
			if (k < 4)
				seg[k++] = *s;
		put(b, seg, 4);
		if (*s == '.')
			s++;
	}
}

static void aml_int(struct buf *b, uint64_t v)
{
	if (v == 0)
		put8(b, 0x00);
	else if (v == 1)
		put8(b, 0x01);
	else if (v <= 0xff) {
		put8(b, 0x0a);
		put8(b, (unsigned)v);
	} else if (v <= 0xffff) {
		put8(b, 0x0b);
		put16(b, (unsigned)v);
	} else if (v <= 0xffffffffull) {
		put8(b, 0x0c);
		put32(b, (uint32_t)v);
	} else {
		put8(b, 0x0e);
		put64(b, v);
	}
}

/* EISA ID "PNP0A03" as the 32-bit compressed form. */
static uint32_t eisa_id(const char *id)
{
	uint32_t v = (uint32_t)((id[0] - '@') & 0x1f) << 26 | (uint32_t)((id[1] - '@') & 0x1f) << 21 |
		     (uint32_t)((id[2] - '@') & 0x1f) << 16;
	for (int k = 3; k < 7; k++) {
		char c = id[k];
		v |= (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10) << (4 * (6 - k));
	}
	/* Stored big-endian in the 32-bit integer's bytes. */
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static void aml_name_int(struct buf *b, const char *name, uint64_t v)
{
	put8(b, 0x08);
	aml_name(b, name);
	aml_int(b, v);
}

static void aml_name_eisa(struct buf *b, const char *name, const char *id)
{
	put8(b, 0x08);
	aml_name(b, name);
	put8(b, 0x0c);
	put32(b, eisa_id(id));
}

static void aml_device_begin(struct buf *b, const char *name)
{
	put8(b, 0x5b);
	put8(b, 0x82);
	pkg_begin(b);
	aml_name(b, name);
}

static void aml_scope_begin(struct buf *b, const char *name)
{
	put8(b, 0x10);
	pkg_begin(b);
	aml_name(b, name);
}

static void aml_method_begin(struct buf *b, const char *name, unsigned nargs)
{
	put8(b, 0x14);
	pkg_begin(b);
	aml_name(b, name);
	put8(b, nargs & 7);	/* NotSerialized */
}

/* Buffer(){ bytes } for a resource template: the caller supplies the
 * descriptors; the end tag is appended. */
static void aml_buffer(struct buf *b, const struct buf *res)
{
	put8(b, 0x11);
	pkg_begin(b);
	aml_int(b, res->len + 2);
	put(b, res->p, res->len);
	put8(b, 0x79);
	put8(b, 0x00);
	pkg_end(b);
}

static void aml_name_res(struct buf *b, const char *name, const struct buf *res)
{
	put8(b, 0x08);
	aml_name(b, name);
	aml_buffer(b, res);
}

/* ---- resource descriptors (ACPI 6.4 6.4) ---- */

static void res_io(struct buf *r, unsigned base, unsigned len)
{
	put8(r, 0x47);
	put8(r, 0x01);
	put16(r, base);
	put16(r, base);
	put8(r, 0x01);
	put8(r, len);
}

static void res_irq(struct buf *r, unsigned irq)
{
	put8(r, 0x22);
	put16(r, 1u << irq);
}

static void res_word(struct buf *r, unsigned type, unsigned tflags, unsigned min, unsigned max)
{
	put8(r, 0x88);
	put16(r, 13);
	put8(r, type);
	put8(r, 0x0c);		/* MinFixed, MaxFixed, producer */
	put8(r, tflags);
	put16(r, 0);
	put16(r, min);
	put16(r, max);
	put16(r, 0);
	put16(r, max - min + 1);
}

static void res_dword_mem(struct buf *r, uint32_t min, uint32_t max)
{
	put8(r, 0x87);
	put16(r, 23);
	put8(r, 0x00);
	put8(r, 0x0c);
	put8(r, 0x03);		/* read-write, cacheable */
	put32(r, 0);
	put32(r, min);
	put32(r, max);
	put32(r, 0);
	put32(r, max - min + 1);
}

static void res_mem32_fixed(struct buf *r, uint32_t base, uint32_t len)
{
	put8(r, 0x86);
	put16(r, 9);
	put8(r, 0x00);		/* read-only */
	put32(r, base);
	put32(r, len);
}

/* Extended interrupt: consumer, level, active-high, shared. */
static void res_ext_irq(struct buf *r, const unsigned *irqs, unsigned n)
{
	put8(r, 0x89);
	put16(r, 2 + 4 * n);
	put8(r, 0x09);
	put8(r, n);
	for (unsigned k = 0; k < n; k++)
		put32(r, irqs[k]);
}

static void isa_device(struct buf *b, const char *name, const char *hid, int uid,
		       const unsigned (*io)[2], unsigned nio, int irq)
{
	struct buf r = { 0 };

	aml_device_begin(b, name);
	aml_name_eisa(b, "_HID", hid);
	if (uid >= 0)
		aml_name_int(b, "_UID", (unsigned)uid);
	for (unsigned k = 0; k < nio; k++)
		res_io(&r, io[k][0], io[k][1]);
	if (irq >= 0)
		res_irq(&r, (unsigned)irq);
	aml_name_res(b, "_CRS", &r);
	b->oom |= r.oom;
	free(r.p);
	pkg_end(b);
}

/* Link device LNKx over PIIX3 register PRQn (\_SB.PCI0.ISA_.PRQn). */
static void link_device(struct buf *b, int n)
{
	static const unsigned prs[] = { 5, 10, 11 };
	char name[5] = "LNKA", prq[32];
	struct buf r = { 0 };
	unsigned zero = 0;

	name[3] = (char)('A' + n);
	snprintf(prq, sizeof(prq), "\\_SB.PCI0.ISA_.PRQ%d", n);
	aml_device_begin(b, name);
	aml_name_eisa(b, "_HID", "PNP0C0F");
	aml_name_int(b, "_UID", (unsigned)n);
	res_ext_irq(&r, prs, 3);
	aml_name_res(b, "_PRS", &r);
	r.len = 0;

	/* Method(_STA) { If (And(PRQn, 0x80)) { Return(0x09) } Return(0x0B) } */
	aml_method_begin(b, "_STA", 0);
	put8(b, 0xa0);
	pkg_begin(b);
	put8(b, 0x7b);
	aml_name(b, prq);
	aml_int(b, 0x80);
	put8(b, 0x00);
	put8(b, 0xa4);
	aml_int(b, 0x09);
	pkg_end(b);
	put8(b, 0xa4);
	aml_int(b, 0x0b);
	pkg_end(b);

	/* Method(_DIS) { Or(PRQn, 0x80, PRQn) } */
	aml_method_begin(b, "_DIS", 0);
	put8(b, 0x7d);
	aml_name(b, prq);
	aml_int(b, 0x80);
	aml_name(b, prq);
	pkg_end(b);

	/* Method(_CRS) { Name(RES, <one IRQ>); CreateDWordField(RES, 5, IRQV)
	 *   Store(And(PRQn, 0x0F), IRQV); Return(RES) } */
	aml_method_begin(b, "_CRS", 0);
	res_ext_irq(&r, &zero, 1);
	aml_name_res(b, "RES_", &r);
	put8(b, 0x8a);
	aml_name(b, "RES_");
	aml_int(b, 5);
	aml_name(b, "IRQV");
	put8(b, 0x70);
	put8(b, 0x7b);
	aml_name(b, prq);
	aml_int(b, 0x0f);
	put8(b, 0x00);
	aml_name(b, "IRQV");
	put8(b, 0xa4);
	aml_name(b, "RES_");
	pkg_end(b);

	/* Method(_SRS, 1) { CreateDWordField(Arg0, 5, IRQV); Store(IRQV, PRQn) } */
	aml_method_begin(b, "_SRS", 1);
	put8(b, 0x8a);
	put8(b, 0x68);
	aml_int(b, 5);
	aml_name(b, "IRQV");
	put8(b, 0x70);
	aml_name(b, "IRQV");
	aml_name(b, prq);
	pkg_end(b);

	pkg_end(b);
	b->oom |= r.oom;
	free(r.p);
}

/* ---- tables ---- */

static size_t header(struct buf *b, const char *sig, unsigned rev)
{
	size_t at = b->len;

	put(b, sig, 4);
	put32(b, 0);		/* length, patched by finish */
	put8(b, rev);
	put8(b, 0);		/* checksum, by the loader */
	put(b, OEM_ID, 6);
	put(b, OEM_TABLE_ID, 8);
	put32(b, 1);
	put(b, CREATOR_ID, 4);
	put32(b, 1);
	return at;
}

static void finish(struct buf *b, size_t at)
{
	set32(b, at + 4, (uint32_t)(b->len - at));
}

static void build_dsdt(struct buf *b, const struct acpi_config *cfg)
{
	static const unsigned kbd_io[][2] = { { 0x60, 1 }, { 0x64, 1 } };
	static const unsigned com_io[4][1][2] = {
		{ { 0x3f8, 8 } }, { { 0x2f8, 8 } }, { { 0x3e8, 8 } }, { { 0x2e8, 8 } },
	};
	static const unsigned rtc_io[][2] = { { 0x70, 8 } };
	static const unsigned pic_io[][2] = { { 0x20, 2 }, { 0xa0, 2 } };
	static const unsigned pit_io[][2] = { { 0x40, 4 } };
	struct buf r = { 0 };

	aml_scope_begin(b, "\\_SB");

	aml_device_begin(b, "PCI0");
	aml_name_eisa(b, "_HID", "PNP0A03");
	aml_name_int(b, "_ADR", 0);
	aml_name_int(b, "_UID", 0);
	res_word(&r, 2, 0, 0, 0xff);				/* bus numbers */
	res_io(&r, 0xcf8, 8);
	res_word(&r, 1, 3, 0x0000, 0x0cf7);
	res_word(&r, 1, 3, 0x0d00, 0xffff);
	res_dword_mem(&r, 0xa0000, 0xbffff);
	res_dword_mem(&r, cfg->pci_mem_base, cfg->pci_mem_limit);
	aml_name_res(b, "_CRS", &r);
	r.len = 0;

	/* _PRT: slot S pin P -> LNK[(S + P) mod 4], slots 2-31 (slot 1 is
	 * the PIIX, whose ACPI function signals the SCI directly). */
	put8(b, 0x08);
	aml_name(b, "_PRT");
	put8(b, 0x12);
	pkg_begin(b);
	put8(b, 30 * 4);
	for (unsigned s = 2; s < 32; s++) {
		for (unsigned p = 0; p < 4; p++) {
			char lnk[5] = "LNKA";
			lnk[3] = (char)('A' + ((s + p) & 3));
			put8(b, 0x12);
			pkg_begin(b);
			put8(b, 4);
			aml_int(b, (uint64_t)s << 16 | 0xffff);
			aml_int(b, p);
			aml_name(b, lnk);
			aml_int(b, 0);
			pkg_end(b);
		}
	}
	pkg_end(b);

	aml_device_begin(b, "ISA_");
	aml_name_int(b, "_ADR", 0x00010000);
	/* OperationRegion(P40C, PCI_Config, 0x60, 4) and its byte fields. */
	put8(b, 0x5b);
	put8(b, 0x80);
	aml_name(b, "P40C");
	put8(b, 0x02);
	aml_int(b, 0x60);
	aml_int(b, 4);
	put8(b, 0x5b);
	put8(b, 0x81);
	pkg_begin(b);
	aml_name(b, "P40C");
	put8(b, 0x01);		/* ByteAcc, NoLock, Preserve */
	for (int k = 0; k < 4; k++) {
		char f[5] = "PRQ0";
		f[3] = (char)('0' + k);
		put(b, f, 4);
		put8(b, 8);
	}
	pkg_end(b);
	isa_device(b, "KBD_", "PNP0303", -1, kbd_io, 2, 1);
	isa_device(b, "MOU_", "PNP0F13", -1, NULL, 0, 12);
	for (int n = 0; n < 4; n++) {
		char name[5] = "COM1";
		name[3] = (char)('1' + n);
		if (n == 0 || (cfg->com_ports & (1u << n)))
			isa_device(b, name, "PNP0501", n + 1, com_io[n], 1, (n & 1) ? 3 : 4);
	}
	isa_device(b, "RTC_", "PNP0B00", -1, rtc_io, 1, 8);
	isa_device(b, "PIC_", "PNP0000", -1, pic_io, 2, 2);
	isa_device(b, "TMR_", "PNP0100", -1, pit_io, 1, 0);
	pkg_end(b);	/* ISA_ */
	pkg_end(b);	/* PCI0 */

	for (int n = 0; n < 4; n++)
		link_device(b, n);

	if (cfg->hpet) {
		aml_device_begin(b, "HPET");
		aml_name_eisa(b, "_HID", "PNP0103");
		aml_name_int(b, "_UID", 0);
		res_mem32_fixed(&r, (uint32_t)cfg->hpet_addr, HPET_SIZE);
		aml_name_res(b, "_CRS", &r);
		r.len = 0;
		pkg_end(b);
	}
	pkg_end(b);	/* \_SB */

	/* Name(\_S5, Package(4) { S5, S5, 0, 0 }) */
	put8(b, 0x08);
	aml_name(b, "\\_S5_");
	put8(b, 0x12);
	pkg_begin(b);
	put8(b, 4);
	aml_int(b, ACPI_SLP_TYP_S5);
	aml_int(b, ACPI_SLP_TYP_S5);
	aml_int(b, 0);
	aml_int(b, 0);
	pkg_end(b);

	b->oom |= r.oom;
	free(r.p);
}

static void gas(struct buf *b, unsigned space, unsigned bits, unsigned access, uint64_t addr)
{
	put8(b, space);
	put8(b, bits);
	put8(b, 0);
	put8(b, access);
	put64(b, addr);
}

/* Loader script helpers. */
static void cmd_allocate(struct buf *l, const char *file, uint32_t align_to, unsigned zone)
{
	uint8_t e[ACPI_LOADER_ENTRY] = { 0 };

	e[0] = ACPI_LOADER_ALLOCATE;
	strncpy((char *)e + 4, file, ACPI_LOADER_FILESZ - 1);
	memcpy(e + 4 + ACPI_LOADER_FILESZ, &align_to, 4);
	e[4 + ACPI_LOADER_FILESZ + 4] = (uint8_t)zone;
	put(l, e, sizeof(e));
}

static void cmd_pointer(struct buf *l, const char *dst, const char *src, uint32_t off,
			unsigned size)
{
	uint8_t e[ACPI_LOADER_ENTRY] = { 0 };

	e[0] = ACPI_LOADER_ADD_POINTER;
	strncpy((char *)e + 4, dst, ACPI_LOADER_FILESZ - 1);
	strncpy((char *)e + 4 + ACPI_LOADER_FILESZ, src, ACPI_LOADER_FILESZ - 1);
	memcpy(e + 4 + 2 * ACPI_LOADER_FILESZ, &off, 4);
	e[4 + 2 * ACPI_LOADER_FILESZ + 4] = (uint8_t)size;
	put(l, e, sizeof(e));
}

static void cmd_checksum(struct buf *l, const char *file, uint32_t off, uint32_t start,
			 uint32_t len)
{
	uint8_t e[ACPI_LOADER_ENTRY] = { 0 };

	e[0] = ACPI_LOADER_ADD_CHECKSUM;
	strncpy((char *)e + 4, file, ACPI_LOADER_FILESZ - 1);
	memcpy(e + 4 + ACPI_LOADER_FILESZ, &off, 4);
	memcpy(e + 8 + ACPI_LOADER_FILESZ, &start, 4);
	memcpy(e + 12 + ACPI_LOADER_FILESZ, &len, 4);
	put(l, e, sizeof(e));
}

static void table_checksum(struct buf *l, const struct buf *t, size_t at)
{
	uint32_t len = (uint32_t)(t->oom ? 0 : t->p[at + 4] | t->p[at + 5] << 8 |
				  t->p[at + 6] << 16 | (uint32_t)t->p[at + 7] << 24);
	cmd_checksum(l, ACPI_TABLES_FILE, (uint32_t)at + 9, (uint32_t)at, len);
}

int acpi_build(const struct acpi_config *cfg, struct acpi_tables *out)
{
	struct buf t = { 0 }, l = { 0 }, rs = { 0 };
	size_t facs, dsdt, fadt, madt, hpet = 0, rsdt, xsdt;
	size_t ptr_facs32, ptr_dsdt32, ptr_facs64, ptr_dsdt64;
	size_t tabs[3];
	int ntabs = 0;

	memset(out, 0, sizeof(*out));

	/* FACS: 64 bytes, 64-byte aligned (the blob is allocated so). */
	facs = t.len;
	put(&t, "FACS", 4);
	put32(&t, 64);
	put32(&t, 0);		/* hardware signature */
	put32(&t, 0);		/* firmware waking vector */
	put32(&t, 0);		/* global lock */
	put32(&t, 0);		/* flags */
	put64(&t, 0);		/* X firmware waking vector */
	put8(&t, 2);		/* version */
	while (t.len < facs + 64)
		put8(&t, 0);

	dsdt = header(&t, "DSDT", 2);
	build_dsdt(&t, cfg);
	finish(&t, dsdt);

	/* FADT revision 3 (ACPI 2.0 layout, 244 bytes). */
	align(&t, 8);
	fadt = header(&t, "FACP", 3);
	ptr_facs32 = t.len;
	put32(&t, (uint32_t)facs);
	ptr_dsdt32 = t.len;
	put32(&t, (uint32_t)dsdt);
	put8(&t, 0);			/* reserved */
	put8(&t, 0);			/* preferred PM profile: unspecified */
	put16(&t, ACPI_SCI_IRQ);
	put32(&t, 0);			/* SMI_CMD: always in ACPI mode */
	put8(&t, 0);
	put8(&t, 0);
	put8(&t, 0);
	put8(&t, 0);
	put32(&t, ACPI_PM1_EVT);
	put32(&t, 0);
	put32(&t, ACPI_PM1_CNT);
	put32(&t, 0);
	put32(&t, 0);			/* PM2 */
	put32(&t, ACPI_PM_TMR);
	put32(&t, ACPI_GPE0);
	put32(&t, 0);			/* GPE1 */
	put8(&t, ACPI_PM1_EVT_LEN);
	put8(&t, ACPI_PM1_CNT_LEN);
	put8(&t, 0);
	put8(&t, ACPI_PM_TMR_LEN);
	put8(&t, ACPI_GPE0_LEN);
	put8(&t, 0);
	put8(&t, 0);			/* GPE1 base */
	put8(&t, 0);			/* CST_CNT */
	put16(&t, 0xfff);		/* P_LVL2_LAT: C2 unsupported */
	put16(&t, 0xfff);		/* P_LVL3_LAT: C3 unsupported */
	put16(&t, 0);
	put16(&t, 0);
	put8(&t, 0);
	put8(&t, 0);
	put8(&t, 0);			/* DAY_ALRM */
	put8(&t, 0);			/* MON_ALRM */
	put8(&t, 0x32);			/* CENTURY: CMOS register 0x32 */
	put16(&t, 0x0003);		/* IAPC_BOOT_ARCH: legacy devices, 8042 */
	put8(&t, 0);
	/* Flags: WBINVD, PROC_C1, SLP_BUTTON (none), RTC_S4, RESET_REG_SUP. */
	put32(&t, 1u << 0 | 1u << 2 | 1u << 5 | 1u << 7 | 1u << 10);
	gas(&t, 1, 8, 1, ACPI_RESET_PORT);
	put8(&t, ACPI_RESET_VALUE);
	put8(&t, 0);
	put8(&t, 0);
	put8(&t, 0);
	ptr_facs64 = t.len;
	put64(&t, facs);
	ptr_dsdt64 = t.len;
	put64(&t, dsdt);
	gas(&t, 1, ACPI_PM1_EVT_LEN * 8, 0, ACPI_PM1_EVT);
	gas(&t, 0, 0, 0, 0);
	gas(&t, 1, ACPI_PM1_CNT_LEN * 8, 0, ACPI_PM1_CNT);
	gas(&t, 0, 0, 0, 0);
	gas(&t, 0, 0, 0, 0);
	gas(&t, 1, ACPI_PM_TMR_LEN * 8, 0, ACPI_PM_TMR);
	gas(&t, 1, ACPI_GPE0_LEN * 8, 0, ACPI_GPE0);
	gas(&t, 0, 0, 0, 0);
	finish(&t, fadt);
	tabs[ntabs++] = fadt;

	/* MADT. */
	madt = header(&t, "APIC", 3);
	put32(&t, (uint32_t)cfg->lapic_addr);
	put32(&t, 1);			/* PCAT_COMPAT: 8259s present */
	for (int c = 0; c < cfg->ncpus; c++) {
		put8(&t, 0);
		put8(&t, 8);
		put8(&t, (unsigned)c);
		put8(&t, cfg->apic_id[c]);
		put32(&t, 1);
	}
	put8(&t, 1);
	put8(&t, 12);
	put8(&t, cfg->ioapic_id);
	put8(&t, 0);
	put32(&t, (uint32_t)cfg->ioapic_addr);
	put32(&t, 0);
	put8(&t, 2);			/* IRQ0 -> GSI2, conforming */
	put8(&t, 10);
	put8(&t, 0);
	put8(&t, 0);
	put32(&t, 2);
	put16(&t, 0);
	static const unsigned level_irqs[] = { 5, 9, 10, 11 };
	for (unsigned k = 0; k < 4; k++) {
		put8(&t, 2);
		put8(&t, 10);
		put8(&t, 0);
		put8(&t, level_irqs[k]);
		put32(&t, level_irqs[k]);
		put16(&t, 0x000d);	/* level, active high */
	}
	put8(&t, 4);			/* LAPIC NMI: all processors, LINT1 */
	put8(&t, 6);
	put8(&t, 0xff);
	put16(&t, 0);
	put8(&t, 1);
	finish(&t, madt);
	tabs[ntabs++] = madt;

	if (cfg->hpet) {
		hpet = header(&t, "HPET", 1);
		put32(&t, HPET_CAP_LO);
		gas(&t, 0, 64, 0, cfg->hpet_addr);
		put8(&t, 0);		/* HPET number */
		put16(&t, 0x80);	/* minimum tick in periodic mode */
		put8(&t, 0);		/* page protection */
		finish(&t, hpet);
		tabs[ntabs++] = hpet;
	}

	rsdt = header(&t, "RSDT", 1);
	for (int k = 0; k < ntabs; k++)
		put32(&t, (uint32_t)tabs[k]);
	finish(&t, rsdt);
	align(&t, 8);
	xsdt = header(&t, "XSDT", 1);
	for (int k = 0; k < ntabs; k++)
		put64(&t, tabs[k]);
	finish(&t, xsdt);

	/* RSDP (revision 2). */
	put(&rs, "RSD PTR ", 8);
	put8(&rs, 0);
	put(&rs, OEM_ID, 6);
	put8(&rs, 2);
	put32(&rs, (uint32_t)rsdt);
	put32(&rs, 36);
	put64(&rs, xsdt);
	put8(&rs, 0);
	put8(&rs, 0);
	put8(&rs, 0);
	put8(&rs, 0);

	/* The loader script. */
	cmd_allocate(&l, ACPI_TABLES_FILE, 64, ACPI_ZONE_HIGH);
	cmd_allocate(&l, ACPI_RSDP_FILE, 16, ACPI_ZONE_FSEG);
	cmd_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, (uint32_t)ptr_facs32, 4);
	cmd_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, (uint32_t)ptr_dsdt32, 4);
	cmd_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, (uint32_t)ptr_facs64, 8);
	cmd_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, (uint32_t)ptr_dsdt64, 8);
	for (int k = 0; k < ntabs; k++) {
		cmd_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, (uint32_t)(rsdt + 36 + 4 * k), 4);
		cmd_pointer(&l, ACPI_TABLES_FILE, ACPI_TABLES_FILE, (uint32_t)(xsdt + 36 + 8 * k), 8);
	}
	table_checksum(&l, &t, dsdt);
	for (int k = 0; k < ntabs; k++)
		table_checksum(&l, &t, tabs[k]);
	table_checksum(&l, &t, rsdt);
	table_checksum(&l, &t, xsdt);
	cmd_pointer(&l, ACPI_RSDP_FILE, ACPI_TABLES_FILE, 16, 4);
	cmd_pointer(&l, ACPI_RSDP_FILE, ACPI_TABLES_FILE, 24, 8);
	cmd_checksum(&l, ACPI_RSDP_FILE, 8, 0, 20);
	cmd_checksum(&l, ACPI_RSDP_FILE, 32, 0, 36);

	if (t.oom || l.oom || rs.oom || rs.len != 36) {
		free(t.p);
		free(l.p);
		free(rs.p);
		return -ENOMEM;
	}
	out->tables = t.p;
	out->tables_len = t.len;
	memcpy(out->rsdp, rs.p, 36);
	free(rs.p);
	out->loader = l.p;
	out->loader_len = l.len;
	out->facs = facs;
	out->dsdt = dsdt;
	out->fadt = fadt;
	out->madt = madt;
	out->hpet = hpet;
	out->rsdt = rsdt;
	out->xsdt = xsdt;
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->tables);
	free(t->loader);
	t->tables = t->loader = NULL;
}

void acpi_config_from_machine(const struct machine *m, struct acpi_config *cfg)
{
	uint64_t below = m->cfg.ram_size < BELOW_4G_MAX ? m->cfg.ram_size : BELOW_4G_MAX;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ncpus = m->ncpus < ACPI_MAX_CPUS ? m->ncpus : ACPI_MAX_CPUS;
	for (int c = 0; c < cfg->ncpus; c++)
		cfg->apic_id[c] = m->cpus[c] ? (uint8_t)m->cpus[c]->apic_id : (uint8_t)c;
	cfg->ioapic_id = IOAPIC_ID;
	cfg->ioapic_addr = IOAPIC_BASE;
	cfg->lapic_addr = LAPIC_DEFAULT_BASE;
	cfg->hpet = true;
	cfg->hpet_addr = HPET_BASE;
	/* The PCI hole: from the end of low RAM (rounded to 256 MiB, at
	 * least 0xE0000000 would waste RAM, so 256 MiB granules) to the IOAPIC. */
	below = (below + 0xfffffffull) & ~0xfffffffull;
	cfg->pci_mem_base = (uint32_t)(below < 0x80000000ull ? 0x80000000ull : below);
	if (cfg->pci_mem_base >= PCI_HOLE_END)
		cfg->pci_mem_base = (uint32_t)BELOW_4G_MAX;
	cfg->pci_mem_limit = (uint32_t)(PCI_HOLE_END - 1);
	cfg->com_ports = 1;
	for (int n = 0; n < 3; n++)
		if (m->cfg.serial_more[n])
			cfg->com_ports |= (uint8_t)(2u << n);
}

/* ---- the loader script, run locally ---- */

static uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int acpi_install(struct machine *m, const struct acpi_tables *t, uint64_t tables_addr,
		 uint64_t rsdp_addr)
{
	struct {
		const char *name;
		uint8_t *data;
		size_t len;
		uint64_t addr;
	} files[2] = {
		{ ACPI_TABLES_FILE, NULL, t->tables_len, tables_addr },
		{ ACPI_RSDP_FILE, NULL, sizeof(t->rsdp), rsdp_addr },
	};
	int rc = 0;

	files[0].data = malloc(t->tables_len);
	files[1].data = malloc(sizeof(t->rsdp));
	if (!files[0].data || !files[1].data) {
		free(files[0].data);
		free(files[1].data);
		return -ENOMEM;
	}
	memcpy(files[0].data, t->tables, t->tables_len);
	memcpy(files[1].data, t->rsdp, sizeof(t->rsdp));

	for (size_t off = 0; off + ACPI_LOADER_ENTRY <= t->loader_len; off += ACPI_LOADER_ENTRY) {
		const uint8_t *e = t->loader + off;
		uint32_t c = rd32le(e);
		int f = -1, s = -1;

		for (int k = 0; k < 2; k++) {
			if (strncmp((const char *)e + 4, files[k].name, ACPI_LOADER_FILESZ) == 0)
				f = k;
			if (strncmp((const char *)e + 4 + ACPI_LOADER_FILESZ, files[k].name,
				    ACPI_LOADER_FILESZ) == 0)
				s = k;
		}
		if (c == ACPI_LOADER_ALLOCATE) {
			if (f < 0)
				rc = -EINVAL;
		} else if (c == ACPI_LOADER_ADD_POINTER) {
			uint32_t po = rd32le(e + 4 + 2 * ACPI_LOADER_FILESZ);
			unsigned size = e[8 + 2 * ACPI_LOADER_FILESZ];
			uint64_t v = 0;

			if (f < 0 || s < 0 || (size != 1 && size != 2 && size != 4 && size != 8) ||
			    po + size > files[f].len) {
				rc = -EINVAL;
				break;
			}
			for (unsigned k = 0; k < size; k++)
				v |= (uint64_t)files[f].data[po + k] << (8 * k);
			v += files[s].addr;
			for (unsigned k = 0; k < size; k++)
				files[f].data[po + k] = (uint8_t)(v >> (8 * k));
		} else if (c == ACPI_LOADER_ADD_CHECKSUM) {
			uint32_t co = rd32le(e + 4 + ACPI_LOADER_FILESZ);
			uint32_t start = rd32le(e + 8 + ACPI_LOADER_FILESZ);
			uint32_t len = rd32le(e + 12 + ACPI_LOADER_FILESZ);

			if (f < 0 || co >= files[f].len || start > files[f].len ||
			    len > files[f].len - start) {
				rc = -EINVAL;
				break;
			}
			files[f].data[co] = (uint8_t)(files[f].data[co] -
						      acpi_checksum(files[f].data + start, len));
		} else if (c != 0) {
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0) {
		phys_write(m, tables_addr, files[0].data, files[0].len);
		phys_write(m, rsdp_addr, files[1].data, files[1].len);
	}
	free(files[0].data);
	free(files[1].data);
	return rc;
}
