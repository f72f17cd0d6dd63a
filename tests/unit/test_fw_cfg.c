/*
 * test_fw_cfg.c - fw_cfg: the selector/data ports, the signature and ID,
 * the file directory, DMA (select, read, skip, write, errors bounded to
 * RAM), and the PC items (e820, msr_feature_control, ACPI files).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "emu/machine.h"
#include "emu/state.h"
#include "emu/dev/acpi.h"
#include "emu/dev/fw_cfg.h"

static struct machine *new_machine(uint64_t ram, const char *cpu)
{
	struct machine_config cfg = { .ram_size = ram, .ncpus = 2, .cpu_spec = cpu };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	return m;
}

static struct fw_cfg *new_fw(struct machine *m)
{
	char err[256] = "";
	(void)machine_remove_io(m, FW_CFG_PORT_SEL, 2);	/* the board's, if wired */
	(void)machine_remove_io(m, FW_CFG_PORT_DMA, 8);
	(void)state_unregister(m, "fw_cfg");
	struct fw_cfg *f = fw_cfg_create(m, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	return f;
}

static void read_item(struct machine *m, uint16_t key, void *buf, size_t len)
{
	machine_io_out(m, FW_CFG_PORT_SEL, key, 2);
	for (size_t k = 0; k < len; k++)
		((uint8_t *)buf)[k] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Finds a file's key through the directory read over the data port. */
static int find_key(struct machine *m, const char *name, uint32_t *size)
{
	uint8_t cnt[4], e[64];

	read_item(m, FW_CFG_FILE_DIR, cnt, 4);
	for (uint32_t k = 0; k < be32(cnt); k++) {
		for (int j = 0; j < 64; j++)
			e[j] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
		if (strcmp((char *)e + 8, name) == 0) {
			*size = be32(e);
			return e[4] << 8 | e[5];
		}
	}
	return -1;
}

Test(fw_cfg, signature_id_and_ports)
{
	struct machine *m = new_machine(32 << 20, NULL);
	struct fw_cfg *f = new_fw(m);
	char sig[5] = { 0 };
	uint8_t id[4], tail;
	uint8_t dma_sig[8];

	read_item(m, FW_CFG_SIGNATURE, sig, 4);
	cr_assert_str_eq(sig, "QEMU");
	read_item(m, FW_CFG_ID, id, 4);
	cr_assert_eq(id[0], FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	tail = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
	cr_assert_eq(tail, 0, "past the end reads 0");
	for (int k = 0; k < 8; k++)
		dma_sig[k] = (uint8_t)machine_io_in(m, (uint16_t)(FW_CFG_PORT_DMA + k), 1);
	cr_assert_arr_eq(dma_sig, "QEMU CFG", 8);
	/* Arch-local keys (legacy ACPI/SMBIOS/e820 counts) do not alias the
	 * standard ones: absent, they read 0. */
	read_item(m, FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE, sig, 4);
	cr_assert_arr_eq(sig, "\0\0\0\0", 4);
	read_item(m, 0x4000 | FW_CFG_SIGNATURE, sig, 4);
	cr_assert_arr_eq(sig, "QEMU", 4, "the write-channel bit is ignored");
	/* Reselecting restarts at offset 0. */
	read_item(m, FW_CFG_SIGNATURE, sig, 2);
	read_item(m, FW_CFG_SIGNATURE, sig, 4);
	cr_assert_str_eq(sig, "QEMU");
	fw_cfg_destroy(f);
	machine_destroy(m);
}

Test(fw_cfg, file_directory_sorted)
{
	struct machine *m = new_machine(32 << 20, NULL);
	struct fw_cfg *f = new_fw(m);
	uint8_t cnt[4], e[3][64];
	uint32_t size;
	char data[16];

	cr_assert_eq(fw_cfg_add_file(f, "zeta", "zzz", 3, false), 0);
	cr_assert_eq(fw_cfg_add_file(f, "alpha", "a", 1, false), 0);
	cr_assert_eq(fw_cfg_add_file(f, "mid/file", "hello", 5, false), 0);
	cr_assert_eq(fw_cfg_add_file(f, "alpha", "AB", 2, false), 0, "replace keeps one entry");
	read_item(m, FW_CFG_FILE_DIR, cnt, 4);
	cr_assert_eq(be32(cnt), 3);
	for (int k = 0; k < 3; k++)
		for (int j = 0; j < 64; j++)
			e[k][j] = (uint8_t)machine_io_in(m, FW_CFG_PORT_DATA, 1);
	cr_assert_str_eq((char *)e[0] + 8, "alpha");
	cr_assert_str_eq((char *)e[1] + 8, "mid/file");
	cr_assert_str_eq((char *)e[2] + 8, "zeta");
	cr_assert_eq(be32(e[0]), 2);
	cr_assert_geq(e[0][4] << 8 | e[0][5], FW_CFG_FILE_FIRST);
	int key = find_key(m, "mid/file", &size);
	cr_assert_eq(size, 5);
	read_item(m, (uint16_t)key, data, 5);
	cr_assert_arr_eq(data, "hello", 5);
	char longname[80];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[79] = 0;
	cr_assert_lt(fw_cfg_add_file(f, longname, "", 0, false), 0);
	fw_cfg_destroy(f);
	machine_destroy(m);
}

/* Writes a DMA descriptor at pa and starts it. */
static uint32_t dma(struct machine *m, uint64_t pa, uint32_t ctl, uint32_t len, uint64_t addr)
{
	uint8_t d[16];
	uint32_t w[4] = { ctl, len, (uint32_t)(addr >> 32), (uint32_t)addr };

	for (int k = 0; k < 4; k++) {
		d[4 * k] = (uint8_t)(w[k] >> 24);
		d[4 * k + 1] = (uint8_t)(w[k] >> 16);
		d[4 * k + 2] = (uint8_t)(w[k] >> 8);
		d[4 * k + 3] = (uint8_t)w[k];
	}
	phys_write(m, pa, d, 16);
	machine_io_out(m, FW_CFG_PORT_DMA, __builtin_bswap32((uint32_t)(pa >> 32)), 4);
	machine_io_out(m, FW_CFG_PORT_DMA + 4, __builtin_bswap32((uint32_t)pa), 4);
	phys_read(m, pa, d, 4);
	return be32(d);
}

Test(fw_cfg, dma_select_read_skip_write_errors)
{
	struct machine *m = new_machine(32 << 20, NULL);
	struct fw_cfg *f = new_fw(m);
	uint8_t buf[16];
	size_t len;

	cr_assert_eq(fw_cfg_add_file(f, "ro", "0123456789", 10, false), 0);
	cr_assert_eq(fw_cfg_add_file(f, "rw", "abcdef", 6, true), 0);
	uint32_t size;
	int ro = find_key(m, "ro", &size), rw = find_key(m, "rw", &size);

	/* Select + read 4, then skip 2 and read the rest padded with zeros. */
	memset(buf, 0xee, sizeof(buf));
	phys_write(m, 0x3000, buf, sizeof(buf));
	cr_assert_eq(dma(m, 0x1000, (uint32_t)ro << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4,
			 0x3000), 0);
	phys_read(m, 0x3000, buf, 5);
	cr_assert_arr_eq(buf, "0123\xee", 5);
	cr_assert_eq(dma(m, 0x1000, FW_CFG_DMA_SKIP, 2, 0), 0);
	cr_assert_eq(dma(m, 0x1000, FW_CFG_DMA_READ, 8, 0x3000), 0);
	phys_read(m, 0x3000, buf, 8);
	cr_assert_arr_eq(buf, "6789\0\0\0\0", 8);
	/* Reading into memory that is not RAM fails with the error bit. */
	cr_assert_eq(dma(m, 0x1000, (uint32_t)ro << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4,
			 0xfee00000u), FW_CFG_DMA_ERROR);
	cr_assert_eq(dma(m, 0x1000, FW_CFG_DMA_READ, 16, (32 << 20) - 8), FW_CFG_DMA_ERROR,
		     "crosses the end of RAM");
	/* Writes: only writable items. */
	phys_write(m, 0x3000, "XY", 2);
	cr_assert_eq(dma(m, 0x1000, (uint32_t)ro << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 2,
			 0x3000), FW_CFG_DMA_ERROR);
	cr_assert_eq(dma(m, 0x1000, (uint32_t)rw << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 2,
			 0x3000), 0);
	cr_assert_arr_eq(fw_cfg_file(f, "rw", &len), "XYcdef", 6);
	cr_assert_eq(dma(m, 0x1000, FW_CFG_DMA_WRITE, 8, 0x3000), FW_CFG_DMA_ERROR,
		     "write past the item's end");
	fw_cfg_destroy(f);
	machine_destroy(m);
}

Test(fw_cfg, pc_items)
{
	struct machine *m = new_machine(4096ull << 20, "skylake,+vmx");
	struct fw_cfg *f = new_fw(m);
	const uint8_t *p;
	size_t len;
	uint8_t v[8];

	cr_assert_eq(fw_cfg_populate_pc(f, m), 0);
	read_item(m, FW_CFG_RAM_SIZE, v, 8);
	cr_assert_eq(v[4], 1, "4 GiB");
	read_item(m, FW_CFG_NB_CPUS, v, 2);
	cr_assert_eq(v[0], 2);
	read_item(m, FW_CFG_MAX_CPUS, v, 2);
	cr_assert_eq(v[0], 2);
	p = fw_cfg_file(f, "etc/e820", &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, 3 * sizeof(struct e820_entry));
	struct e820_entry e[3];
	memcpy(e, p, sizeof(e));
	cr_assert_eq(e[0].addr, 0);
	cr_assert_eq(e[0].size, 0xe0000000ull);
	cr_assert_eq(e[0].type, E820_RAM);
	cr_assert_eq(e[1].addr, 0xfeffc000ull);
	cr_assert_eq(e[1].type, E820_RESERVED);
	cr_assert_eq(e[2].addr, 1ull << 32);
	cr_assert_eq(e[2].size, 0x20000000ull);
	p = fw_cfg_file(f, "etc/msr_feature_control", &len);
	cr_assert_eq(len, 8);
	cr_assert_eq(p[0], 0x05, "locked, VMX outside SMX");
	cr_assert_not_null(fw_cfg_file(f, ACPI_TABLES_FILE, &len));
	cr_assert_gt(len, 200);
	cr_assert_not_null(fw_cfg_file(f, ACPI_LOADER_FILE, &len));
	cr_assert_eq(len % ACPI_LOADER_ENTRY, 0);
	p = fw_cfg_file(f, ACPI_RSDP_FILE, &len);
	cr_assert_eq(len, 36);
	cr_assert_arr_eq(p, "RSD PTR ", 8);
	cr_assert_not_null(fw_cfg_file(f, "bootorder", &len));
	fw_cfg_destroy(f);
	machine_destroy(m);

	m = new_machine(64 << 20, "skylake,-vmx");
	f = new_fw(m);
	cr_assert_eq(fw_cfg_populate_pc(f, m), 0);
	p = fw_cfg_file(f, "etc/msr_feature_control", &len);
	cr_assert_eq(p[0], 0, "no VMX: 0");
	p = fw_cfg_file(f, "etc/e820", &len);
	cr_assert_eq(len, 2 * sizeof(struct e820_entry));
	fw_cfg_destroy(f);
	machine_destroy(m);
}
