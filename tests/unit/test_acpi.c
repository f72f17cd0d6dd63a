/*
 * test_acpi.c - the generated ACPI tables installed by their own
 * linker/loader script: RSDP/RSDT/XSDT links and checksums, FADT fields,
 * MADT entries, HPET, and the DSDT's AML structure (PkgLengths that nest
 * exactly, the objects firmware and Linux look for, \_S5).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "emu/machine.h"
#include "emu/dev/acpi.h"
#include "emu/dev/acpi_pm.h"

#define TABLES_AT 0x100000u
#define RSDP_AT 0xf000u

static struct machine *m;
static struct acpi_tables t;
static uint8_t mem[0x4000];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Guest bytes at pa (within the installed tables). */
static const uint8_t *at(uint64_t pa)
{
	cr_assert(pa >= TABLES_AT && pa < TABLES_AT + sizeof(mem), "pointer 0x%llx",
		  (unsigned long long)pa);
	return mem + (pa - TABLES_AT);
}

static void setup(void)
{
	struct machine_config cfg = { .ram_size = 64 << 20, .ncpus = 3 };
	struct acpi_config ac;
	char err[256];

	m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	acpi_config_from_machine(m, &ac);
	cr_assert_eq(acpi_build(&ac, &t), 0);
	cr_assert_leq(t.tables_len, sizeof(mem));
	cr_assert_eq(acpi_install(m, &t, TABLES_AT, RSDP_AT), 0);
	phys_read(m, TABLES_AT, mem, sizeof(mem));
}

static void teardown(void)
{
	acpi_tables_free(&t);
	machine_destroy(m);
}

/* Checks a table's header at pa; returns its bytes. */
static const uint8_t *table(uint64_t pa, const char *sig)
{
	const uint8_t *p = at(pa);
	cr_assert_arr_eq(p, sig, 4, "signature %s", sig);
	cr_assert_eq(acpi_checksum(p, rd32(p + 4)), 0, "%s checksum", sig);
	return p;
}

TestSuite(acpi, .init = setup, .fini = teardown);

Test(acpi, rsdp_rsdt_xsdt)
{
	uint8_t rsdp[36];
	const char *sigs[] = { "FACP", "APIC", "HPET" };

	phys_read(m, RSDP_AT, rsdp, 36);
	cr_assert_arr_eq(rsdp, "RSD PTR ", 8);
	cr_assert_eq(acpi_checksum(rsdp, 20), 0, "ACPI 1.0 checksum");
	cr_assert_eq(acpi_checksum(rsdp, 36), 0, "extended checksum");
	cr_assert_eq(rsdp[15], 2, "revision 2");
	cr_assert_eq(rd32(rsdp + 20), 36);
	const uint8_t *rsdt = table(rd32(rsdp + 16), "RSDT");
	const uint8_t *xsdt = table(rd64(rsdp + 24), "XSDT");
	cr_assert_eq(rd32(rsdt + 4), 36 + 4 * 3);
	cr_assert_eq(rd32(xsdt + 4), 36 + 8 * 3);
	for (int k = 0; k < 3; k++) {
		table(rd32(rsdt + 36 + 4 * k), sigs[k]);
		cr_assert_eq(rd32(rsdt + 36 + 4 * k), rd64(xsdt + 36 + 8 * k));
	}
}

Test(acpi, fadt_and_facs)
{
	const uint8_t *f = table(TABLES_AT + t.fadt, "FACP");

	cr_assert_eq(rd32(f + 4), 244);
	cr_assert_eq(f[8], 3, "revision 3");
	cr_assert_eq(rd32(f + 36), TABLES_AT + t.facs);
	cr_assert_eq(rd32(f + 40), TABLES_AT + t.dsdt);
	cr_assert_eq(rd64(f + 132), TABLES_AT + t.facs, "X_FIRMWARE_CTRL");
	cr_assert_eq(rd64(f + 140), TABLES_AT + t.dsdt, "X_DSDT");
	cr_assert_eq(f[46] | f[47] << 8, ACPI_SCI_IRQ);
	cr_assert_eq(rd32(f + 48), 0, "no SMI_CMD");
	cr_assert_eq(rd32(f + 56), ACPI_PM1_EVT);
	cr_assert_eq(rd32(f + 64), ACPI_PM1_CNT);
	cr_assert_eq(rd32(f + 76), ACPI_PM_TMR);
	cr_assert_eq(rd32(f + 80), ACPI_GPE0);
	cr_assert_eq(f[88], 4);
	cr_assert_eq(f[89], 2);
	cr_assert_eq(f[91], 4);
	cr_assert_eq(f[92], ACPI_GPE0_LEN);
	cr_assert_eq(rd32(f + 112) & (1u << 10), 1u << 10, "RESET_REG_SUP");
	cr_assert_eq(rd32(f + 112) & (1u << 8), 0, "24-bit PM timer");
	cr_assert_eq(f[116], 1, "reset register in I/O space");
	cr_assert_eq(rd64(f + 120), ACPI_RESET_PORT);
	cr_assert_eq(f[128], ACPI_RESET_VALUE);
	cr_assert_eq(rd64(f + 148 + 4), ACPI_PM1_EVT, "X_PM1a_EVT_BLK");
	cr_assert_eq(rd64(f + 208 + 4), ACPI_PM_TMR, "X_PM_TMR_BLK");
	const uint8_t *facs = at(TABLES_AT + t.facs);
	cr_assert_arr_eq(facs, "FACS", 4);
	cr_assert_eq(rd32(facs + 4), 64);
	cr_assert_eq((TABLES_AT + t.facs) % 64, 0);
}

Test(acpi, madt_entries)
{
	const uint8_t *p = table(TABLES_AT + t.madt, "APIC");
	uint32_t len = rd32(p + 4);
	int lapics = 0, ioapics = 0, nmis = 0, ovr[16];

	memset(ovr, -1, sizeof(ovr));
	cr_assert_eq(rd32(p + 36), 0xfee00000u);
	cr_assert_eq(rd32(p + 40), 1, "PCAT_COMPAT");
	for (uint32_t o = 44; o < len;) {
		const uint8_t *e = p + o;
		cr_assert_geq(e[1], 2);
		switch (e[0]) {
		case 0:
			cr_assert_eq(e[2], lapics, "processor UID");
			cr_assert_eq(e[3], lapics, "APIC ID");
			cr_assert_eq(rd32(e + 4), 1, "enabled");
			lapics++;
			break;
		case 1:
			cr_assert_eq(rd32(e + 4), 0xfec00000u);
			cr_assert_eq(rd32(e + 8), 0, "GSI base");
			ioapics++;
			break;
		case 2:
			cr_assert_eq(e[2], 0, "ISA bus");
			ovr[e[3]] = (int)(rd32(e + 4) << 16 | (uint32_t)(e[8] | e[9] << 8));
			break;
		case 4:
			cr_assert_eq(e[2], 0xff);
			cr_assert_eq(e[5], 1, "LINT1");
			nmis++;
			break;
		default:
			cr_assert_fail("unexpected MADT entry type %u", e[0]);
		}
		o += e[1];
	}
	cr_assert_eq(lapics, 3);
	cr_assert_eq(ioapics, 1);
	cr_assert_eq(nmis, 1);
	cr_assert_eq(ovr[0], 2 << 16 | 0, "IRQ0 -> GSI2");
	cr_assert_eq(ovr[9], 9 << 16 | 0xd, "SCI level, active high");
	cr_assert_eq(ovr[11], 11 << 16 | 0xd);
	cr_assert_eq(ovr[4], -1);
}

Test(acpi, hpet_table)
{
	const uint8_t *p = table(TABLES_AT + t.hpet, "HPET");

	cr_assert_eq(rd32(p + 4), 56);
	cr_assert_eq(rd32(p + 36) >> 16, 0x8086);
	cr_assert_eq(p[40], 0, "memory space");
	cr_assert_eq(rd64(p + 44), 0xfed00000ull);
}

/* Decodes a PkgLength at p; *n gets its size in bytes. */
static uint32_t pkglen(const uint8_t *p, unsigned *n)
{
	unsigned extra = p[0] >> 6;
	uint32_t v;

	if (extra == 0) {
		*n = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0xf;
	for (unsigned k = 0; k < extra; k++)
		v |= (uint32_t)p[1 + k] << (4 + 8 * k);
	*n = 1 + extra;
	return v;
}

static const uint8_t *find(const uint8_t *p, size_t len, const void *needle, size_t n)
{
	for (size_t k = 0; k + n <= len; k++)
		if (memcmp(p + k, needle, n) == 0)
			return p + k;
	return NULL;
}

Test(acpi, dsdt_aml_structure)
{
	const uint8_t *d = table(TABLES_AT + t.dsdt, "DSDT");
	uint32_t len = rd32(d + 4), o = 36, pl;
	unsigned n;

	cr_assert_eq(d[8], 2, "revision 2: 64-bit integers");
	/* Scope(\_SB) { ... } spans exactly up to Name(\_S5_, Package(4){...}). */
	cr_assert_eq(d[o], 0x10, "ScopeOp");
	pl = pkglen(d + o + 1, &n);
	cr_assert_arr_eq(d + o + 1 + n, "\\_SB_", 5);
	o += 1 + pl;
	cr_assert_eq(d[o], 0x08, "NameOp after the scope");
	cr_assert_arr_eq(d + o + 1, "\\_S5_", 5);
	cr_assert_eq(d[o + 6], 0x12, "PackageOp");
	pl = pkglen(d + o + 7, &n);
	cr_assert_eq(d[o + 7 + n], 4, "4 elements");
	cr_assert_eq(d[o + 8 + n], ACPI_SLP_TYP_S5 == 0 ? 0x00 : 0x0a);
	cr_assert_eq(o + 7 + pl, len, "the package ends the table");

	/* Device(PCI0) inside the scope, with _HID PNP0A03 and _CRS/_PRT. */
	const uint8_t *pci = find(d, len, "\x5b\x82", 2);
	cr_assert_not_null(pci);
	pl = pkglen(pci + 2, &n);
	cr_assert_arr_eq(pci + 2 + n, "PCI0", 4);
	cr_assert_leq((size_t)(pci - d) + 2 + pl, len);
	cr_assert_not_null(find(pci, pl, "_HID\x0c\x41\xd0\x0a\x03", 9), "EISAID PNP0A03");
	cr_assert_not_null(find(pci, pl, "_CRS", 4));
	cr_assert_not_null(find(pci, pl, "_PRT", 4));
	cr_assert_not_null(find(pci, pl, "\x5b\x80P40C\x02\x0a\x60\x0a\x04", 11),
			   "OperationRegion(P40C, PCI_Config, 0x60, 4)");
	for (char c = 'A'; c <= 'D'; c++) {
		char name[5] = { 'L', 'N', 'K', c, 0 };
		cr_assert_not_null(find(d, len, name, 4), "%s", name);
	}
	cr_assert_not_null(find(d, len, "\x41\xd0\x0c\x0f", 4), "PNP0C0F");
	cr_assert_not_null(find(d, len, "\x41\xd0\x01\x03", 4), "PNP0103 (HPET)");
	cr_assert_not_null(find(d, len, "\x41\xd0\x05\x01", 4), "PNP0501 (COM1)");
	cr_assert_not_null(find(d, len, "\x41\xd0\x03\x03", 4), "PNP0303 (keyboard)");
	cr_assert_not_null(find(d, len, "\x47\x01\xf8\x03\xf8\x03\x01\x08", 8), "IO(0x3F8, 8)");
}

Test(acpi, loader_script_rejects_bad_commands)
{
	struct acpi_tables bad = t;
	uint8_t script[ACPI_LOADER_ENTRY] = { ACPI_LOADER_ADD_POINTER };

	memcpy(script + 4, ACPI_TABLES_FILE, sizeof(ACPI_TABLES_FILE));
	memcpy(script + 4 + ACPI_LOADER_FILESZ, "no/such/file", 13);
	bad.loader = script;
	bad.loader_len = sizeof(script);
	cr_assert_eq(acpi_install(m, &bad, TABLES_AT, RSDP_AT), -EINVAL);
	memcpy(script + 4 + ACPI_LOADER_FILESZ, ACPI_TABLES_FILE, sizeof(ACPI_TABLES_FILE));
	script[4 + 2 * ACPI_LOADER_FILESZ] = 0xf0;	/* offset past the end */
	script[4 + 2 * ACPI_LOADER_FILESZ + 1] = 0xff;
	script[4 + 2 * ACPI_LOADER_FILESZ + 4] = 4;
	cr_assert_eq(acpi_install(m, &bad, TABLES_AT, RSDP_AT), -EINVAL);
	script[0] = 9;
	cr_assert_eq(acpi_install(m, &bad, TABLES_AT, RSDP_AT), -EINVAL, "unknown command");
}

/* COM2-COM4 appear in the DSDT only when the machine has them. */
Test(acpi_com, dsdt_lists_configured_com_ports)
{
	struct machine_config cfg = { .ram_size = 64 << 20, .ncpus = 1,
				      .serial_more = { NULL, "none", NULL } };
	struct acpi_config ac;
	struct acpi_tables tb;
	char err[256];
	struct machine *mc = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(mc, "%s", err);
	acpi_config_from_machine(mc, &ac);
	cr_assert_eq(ac.com_ports, 0x5, "COM1 and COM3");
	cr_assert_eq(acpi_build(&ac, &tb), 0);
	const uint8_t *d = tb.tables + tb.dsdt;
	uint32_t len = rd32(d + 4);
	cr_assert_not_null(find(d, len, "COM1", 4));
	cr_assert_not_null(find(d, len, "COM3", 4));
	cr_assert_null(find(d, len, "COM2", 4));
	cr_assert_null(find(d, len, "COM4", 4));
	cr_assert_not_null(find(d, len, "\x47\x01\xe8\x03\xe8\x03\x01\x08", 8), "IO(0x3E8, 8)");
	acpi_tables_free(&tb);
	machine_destroy(mc);
}
