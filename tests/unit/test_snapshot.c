/*
 * test_snapshot.c - snapshots: a deterministic round trip (save, run N,
 * load, run N again gives the same CPU state and RAM), corrupt,
 * truncated and incompatible files refused with the machine unchanged,
 * the monitor's savevm/loadvm/delvm/info snapshots, the state tables, and
 * the board devices' sections on a whole machine.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "emu/machine.h"
#include "emu/snapshot.h"
#include "emu/dev/fw_cfg.h"
#include "emu/dev/pci.h"
#include "emu/state.h"
#include "monitor/monitor.h"

/* A loop that keeps changing registers, flags, memory and the stack. */
static const char *const busy_loop =
	"mov rdi, 0x200000\n"
	"xor ecx, ecx\n"
	"mov rbx, 0x9e3779b97f4a7c15\n"
	"again:\n"
	"imul rax, rbx\n"
	"add rax, rcx\n"
	"mov [rdi + rcx * 8], rax\n"
	"push rax\n"
	"pop rdx\n"
	"adc rdx, 7\n"
	"inc ecx\n"
	"and ecx, 1023\n"
	"movq xmm0, rax\n"
	"paddq xmm1, xmm0\n"
	"jmp again\n";

struct image {
	uint8_t *cpu;
	size_t cpu_len;
	uint32_t ram_crc;
};

static void take_image(struct machine *m, struct image *im)
{
	cr_assert_eq(state_register_core(m), 0);
	const struct state_section *s = state_find(m, "cpu0");
	cr_assert_not_null(s);
	s->pre_save(s->base);
	im->cpu_len = state_fields_size(s);
	im->cpu = malloc(im->cpu_len);
	cr_assert_not_null(im->cpu);
	state_fields_save(s, im->cpu);
	im->ram_crc = (uint32_t)crc32_z(0, m->mem.ram, m->mem.ram_size);
}

static void expect_same(const struct image *a, const struct image *b, const char *what)
{
	cr_expect_eq(a->cpu_len, b->cpu_len);
	cr_expect(memcmp(a->cpu, b->cpu, a->cpu_len) == 0, "%s: CPU state differs", what);
	cr_expect_eq(a->ram_crc, b->ram_crc, "%s: RAM differs", what);
}

static void free_image(struct image *im)
{
	free(im->cpu);
}

static void free_t(struct th *t)
{
	monitor_destroy(t->m->monitor);
	state_registry_free(t->m->state);
	t->m->state = NULL;
	th_free(t);
}

static void tmp_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/nestemu-snap-%d-%s.nsnap", (int)getpid(), tag);
}

static struct th *running_machine(void)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, busy_loop);
	th_run_n(t, 1000);	/* get somewhere interesting */
	return t;
}

Test(snapshot, round_trip_is_deterministic)
{
	struct th *t = running_machine();
	struct image saved, first, second, loaded;
	char path[128], err[300];

	tmp_path(path, sizeof(path), "rt");
	take_image(t->m, &saved);
	cr_assert_eq(snapshot_save_file(t->m, path, "rt", err, sizeof(err)), 0, "%s", err);
	th_run_n(t, 5000);
	take_image(t->m, &first);
	cr_assert(memcmp(first.cpu, saved.cpu, saved.cpu_len) != 0, "the run changed nothing");

	cr_assert_eq(snapshot_load_file(t->m, path, err, sizeof(err)), 0, "%s", err);
	take_image(t->m, &loaded);
	expect_same(&saved, &loaded, "right after load");
	th_run_n(t, 5000);
	take_image(t->m, &second);
	expect_same(&first, &second, "after running again");
	free_image(&saved);
	free_image(&first);
	free_image(&second);
	free_image(&loaded);
	unlink(path);
	free_t(t);
}

static void write_bytes(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static uint8_t *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	cr_assert_not_null(f);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size);
	cr_assert_not_null(buf);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return buf;
}

/* Loads `path`, which must fail with want in the message, leaving the machine unchanged. */
static void expect_refused(struct th *t, const char *path, const char *want)
{
	struct image before, after;
	char err[400] = "";

	take_image(t->m, &before);
	cr_expect_eq(snapshot_load_file(t->m, path, err, sizeof(err)), -1, "loaded a bad file (%s)", want);
	cr_expect(strstr(err, want) != NULL, "message lacks '%s': %s", want, err);
	cr_expect(strchr(err, '\n') == NULL, "more than one line: %s", err);
	take_image(t->m, &after);
	expect_same(&before, &after, want);
	free_image(&before);
	free_image(&after);
}

Test(snapshot, corrupt_and_truncated_files_are_refused)
{
	struct th *t = running_machine();
	char path[128], bad[128], err[300];
	size_t len;

	tmp_path(path, sizeof(path), "good");
	tmp_path(bad, sizeof(bad), "bad");
	cr_assert_eq(snapshot_save_file(t->m, path, "good", err, sizeof(err)), 0, "%s", err);
	th_run_n(t, 777);	/* the machine moved on: a refused load must not rewind it */
	uint8_t *img = read_bytes(path, &len);
	cr_assert_gt(len, 200);

	/* A bit flipped in the payload, in the middle and at the end. */
	size_t spots[] = { 170, len / 2, len - 1 };
	for (size_t k = 0; k < 3; k++) {
		img[spots[k]] ^= 0x10;
		write_bytes(bad, img, len);
		img[spots[k]] ^= 0x10;
		expect_refused(t, bad, "is corrupt (payload checksum mismatch)");
	}
	/* A bit flipped in the header. */
	img[20] ^= 1;
	write_bytes(bad, img, len);
	img[20] ^= 1;
	expect_refused(t, bad, "header checksum mismatch");
	/* Truncated, at several lengths. */
	write_bytes(bad, img, len - 100);
	expect_refused(t, bad, "is truncated");
	write_bytes(bad, img, 100);
	expect_refused(t, bad, "is not a nestemu snapshot");
	write_bytes(bad, (const uint8_t *)"hello", 5);
	expect_refused(t, bad, "is not a nestemu snapshot");
	/* Trailing garbage. */
	uint8_t *longer = malloc(len + 8);
	memcpy(longer, img, len);
	memset(longer + len, 0, 8);
	write_bytes(bad, longer, len + 8);
	free(longer);
	expect_refused(t, bad, "is corrupt");
	expect_refused(t, "/nonexistent/x.nsnap", "cannot open snapshot");

	/* The untouched file still loads. */
	cr_expect_eq(snapshot_load_file(t->m, path, err, sizeof(err)), 0, "%s", err);
	free(img);
	unlink(bad);
	unlink(path);
	free_t(t);
}

Test(snapshot, incompatible_machine_is_refused)
{
	struct th *t = running_machine();
	struct machine_config cfg = { .ram_size = 32 << 20, .ncpus = 1 };
	char path[128], err[300];
	struct machine *other = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(other, "%s", err);
	tmp_path(path, sizeof(path), "other");
	cr_assert_eq(snapshot_save_file(other, path, "other", err, sizeof(err)), 0, "%s", err);
	expect_refused(t, path, "was taken on a different machine (32 MiB RAM");
	machine_destroy(other);
	unlink(path);
	free_t(t);
}

Test(snapshot, version_and_section_mismatch_is_refused)
{
	struct th *t = running_machine();
	char path[128], err[300];
	static uint32_t extra_field;
	static const struct state_field extra_fields[] = {
		{ "value", 0, 4, 1, SF_HEX },
		STATE_END,
	};

	tmp_path(path, sizeof(path), "sec");
	cr_assert_eq(snapshot_save_file(t->m, path, "sec", err, sizeof(err)), 0, "%s", err);
	/* A device registered since: its state is missing from the file. */
	cr_assert_eq(machine_register_state(t->m, &(struct state_section){
		.name = "dev0", .version = 1, .fields = extra_fields, .base = &extra_field }), 0);
	cr_expect_eq(machine_register_state(t->m, &(struct state_section){
		.name = "dev0", .version = 1, .fields = extra_fields, .base = &extra_field }), -EEXIST);
	expect_refused(t, path, "does not match this machine's state");
	unlink(path);
	free_t(t);
}

Test(snapshot, monitor_commands)
{
	struct th *t = running_machine();
	struct monitor *mon = monitor_get(t->m);
	char dir[] = "/tmp/nestemu-snapdir-XXXXXX", sub[128];
	uint64_t rip;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/snaps", dir);	/* created on first savevm */
	monitor_set_snapshot_dir(mon, sub);
	char *s = monitor_exec_str(mon, "info snapshots");
	cr_expect(strstr(s, "no snapshots") != NULL, "%s", s);
	free(s);
	rip = t->cpu->rip;
	uint64_t rax = t->cpu->regs[R_AX];
	s = monitor_exec_str(mon, "savevm first");
	cr_expect(strstr(s, "saved snapshot 'first'") != NULL, "%s", s);
	free(s);
	th_run_n(t, 1234);
	s = monitor_exec_str(mon, "info snapshots");
	cr_expect(strstr(s, "first") != NULL && strstr(s, "INSTRUCTIONS") != NULL, "%s", s);
	free(s);
	s = monitor_exec_str(mon, "loadvm first");
	cr_expect(strstr(s, "loaded snapshot 'first'") != NULL, "%s", s);
	free(s);
	cr_expect_eq(t->cpu->rip, rip);
	cr_expect_eq(t->cpu->regs[R_AX], rax);
	s = monitor_exec_str(mon, "loadvm second");
	cr_expect(strstr(s, "error: no snapshot named 'second'") != NULL, "%s", s);
	cr_expect(strstr(s, "the machine is unchanged") != NULL, "%s", s);
	free(s);
	s = monitor_exec_str(mon, "delvm first");
	cr_expect(strstr(s, "deleted snapshot 'first'") != NULL, "%s", s);
	free(s);
	s = monitor_exec_str(mon, "delvm first");
	cr_expect(strstr(s, "error: no snapshot named 'first'") != NULL, "%s", s);
	free(s);
	/* No temporary file is left behind. */
	char tmpf[200];
	snprintf(tmpf, sizeof(tmpf), "%s/first.tmp", sub);
	cr_expect_neq(access(tmpf, F_OK), 0);
	rmdir(sub);
	rmdir(dir);
	free_t(t);
}

Test(snapshot, state_tables_print_and_round_trip)
{
	struct th *t = th_new(TH_LONG64);
	char *buf = NULL;
	size_t len = 0;

	cr_assert_eq(state_register_core(t->m), 0);
	cr_assert_eq(state_register_core(t->m), 0, "registering twice is harmless");
	cr_expect_eq(state_count(t->m), 2);
	const struct state_section *s = state_find(t->m, "cpu0");
	cr_assert_not_null(s);
	t->cpu->regs[R_BX] = 0xfeed;
	t->cpu->halted = true;
	FILE *f = open_memstream(&buf, &len);
	state_print(s, f, NULL);
	fclose(f);
	cr_expect(strstr(buf, "regs[3] = 0x000000000000feed") != NULL, "%s", buf);
	cr_expect(strstr(buf, "halted = true") != NULL);
	cr_expect(strstr(buf, "cs.attr = ") != NULL);
	free(buf);
	uint8_t *img = malloc(state_fields_size(s));
	state_fields_save(s, img);
	t->cpu->regs[R_BX] = 0;
	state_fields_load(s, img);
	cr_expect_eq(t->cpu->regs[R_BX], 0xfeed);
	free(img);
	char err[200];
	cr_expect_eq(snapshot_check_name("ok-name_1.2", err, sizeof(err)), 0);
	cr_expect_eq(snapshot_check_name(".hidden", err, sizeof(err)), -1);
	cr_expect_eq(snapshot_check_name("a/b", err, sizeof(err)), -1);
	cr_expect_eq(snapshot_check_name("", err, sizeof(err)), -1);
	free_t(t);
}

/* The board's devices on a whole machine: a PCI BAR is mapped again where
 * the snapshot had it, the 16550's registers and receive FIFO, the
 * fw_cfg selector and offset, the NMI mask (port 0x70 bit 7) come back. */
Test(snapshot, device_sections_round_trip)
{
	struct machine_config cfg = { .ram_size = 32 << 20, .ncpus = 1 };
	char path[128], err[300];
	struct machine *m = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	struct pci_bus *bus = machine_pci_bus(m);
	cr_assert_not_null(bus);
	const struct pci_device *ide = pci_find(bus, PCI_DEVFN_IDE);
	cr_assert_not_null(ide);
	for (const char *n = "pci\0pci-01.1\0serial@3f8\0fw_cfg\0rtc\0"; *n; n += strlen(n) + 1)
		cr_expect_not_null(state_find(m, n), "no state section '%s'", n);

	pci_config_write(bus, PCI_DEVFN_IDE, 0x20, 0xc001, 4);
	pci_config_write(bus, PCI_DEVFN_IDE, PCI_COMMAND, PCI_CMD_IO, 2);
	cr_assert_eq(ide->bars[4].addr, 0xc000);
	machine_io_out(m, 0x3ff, 0x5a, 1);		/* SCR */
	machine_io_out(m, 0x3f9, 0x05, 1);		/* IER */
	machine_io_out(m, 0x3fa, 0x01, 1);		/* FIFOs on */
	machine_io_out(m, 0x3fc, 0x10, 1);		/* loopback */
	machine_io_out(m, 0x3f8, 'x', 1);		/* into the receive FIFO */
	machine_io_out(m, 0x3f8, 'y', 1);
	machine_io_out(m, FW_CFG_PORT_SEL, FW_CFG_SIGNATURE, 2);
	cr_expect_eq(machine_io_in(m, FW_CFG_PORT_DATA, 1), 'Q');
	machine_io_out(m, 0x70, 0x8b, 1);		/* NMIs masked */
	cr_expect(m->nmi_mask);

	tmp_path(path, sizeof(path), "dev");
	cr_assert_eq(snapshot_save_file(m, path, "dev", err, sizeof(err)), 0, "%s", err);

	pci_config_write(bus, PCI_DEVFN_IDE, 0x20, 0xd001, 4);
	cr_assert_eq(ide->bars[4].addr, 0xd000);
	machine_io_out(m, 0x3ff, 0x00, 1);
	machine_io_out(m, 0x3f9, 0x00, 1);
	cr_expect_eq(machine_io_in(m, 0x3f8, 1), 'x');	/* drains one byte */
	machine_io_out(m, FW_CFG_PORT_SEL, FW_CFG_ID, 2);
	machine_io_out(m, 0x70, 0x0b, 1);
	cr_expect(!m->nmi_mask);

	cr_assert_eq(snapshot_load_file(m, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(ide->bars[4].addr, 0xc000, "BAR4 at 0x%llx", (unsigned long long)ide->bars[4].addr);
	cr_expect_eq(machine_io_in(m, 0x3ff, 1), 0x5a);
	cr_expect_eq(machine_io_in(m, 0x3f9, 1), 0x05);
	cr_expect_eq(machine_io_in(m, 0x3f8, 1), 'x');
	cr_expect_eq(machine_io_in(m, 0x3f8, 1), 'y');
	cr_expect_eq(machine_io_in(m, FW_CFG_PORT_DATA, 1), 'E');	/* "QEMU", one byte read */
	cr_expect(m->nmi_mask);
	unlink(path);
	machine_destroy(m);
}
