/*
 * machine.c - the PC board: memory map, vCPUs, I/O port space, the basic
 * devices, and the run loop.
 *
 * Memory map: RAM below 4 GiB is [0, min(ram, 3.5 GiB)) minus the legacy
 * hole 0xA0000-0xFFFFF (VGA window and BIOS ROM shadow, mapped by the
 * loaders and devices); RAM beyond 3.5 GiB appears at 4 GiB, as on PC
 * chipsets, leaving the gap below 4 GiB for the PCI hole and the firmware.
 *
 * vCPUs: the bootstrap processor (CPU 0) starts at the reset vector; the
 * application processors wait for INIT-SIPI-SIPI from its LAPIC.
 *
 * The run loop runs the vCPUs round-robin in slices (cpu_run with a
 * budget; a halted vCPU is skipped until it has an event), and checks
 * between slices for the machine's stop requests (isa-debug-exit, reset,
 * instruction limit) and runs the expired timers (clock.h); each slice's
 * budget ends at the next timer deadline. A CPU halted with interrupts
 * enabled sleeps until the next deadline (or, with -icount, the clock
 * jumps to it); halted with interrupts disabled, or with no timer armed,
 * it can never wake, so the run ends with a message saying why.
 *
 * Legacy ISA platform (platform_create): the 8259 pair drives CPU 0's
 * interrupt line and answers its INTA (m->intr_ack) until the LAPIC takes
 * both over; ISA IRQs reach the PIC and the IOAPIC hook (dev/irq.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "cpu/block.h"
#include "cpu/cpuid.h"
#include "clock.h"
#include "devices.h"
#include "dev/acpi_pm.h"
#include "dev/debugport.h"
#include "dev/display.h"
#include "dev/fw_cfg.h"
#include "dev/pci.h"
#include "dev/hpet.h"
#include "dev/i8042.h"
#include "dev/ide.h"
#include "block/block.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pic.h"
#include "dev/pit.h"
#include "dev/rtc.h"
#include "dev/sysctl.h"
#include "dev/vga.h"
#include "dev/serial.h"
#include "mmu/mmu.h"
#include "state.h"
#include "../monitor/monitor.h"

#define RUN_SLICE 100000ull		/* instructions per cpu_run call */
#define BELOW_4G_MAX 0xe0000000ull	/* RAM below 4 GiB ends at 3.5 GiB */
#define NO_PROGRESS_LIMIT 1000		/* empty slices before we give up */
#define STEP_HALT_NS 1000000000ull	/* machine_step: longest wait of a halted vCPU */

/* Board-private state (m->devices). */
#define NSERIAL 4

struct board {
	struct serial *serial[NSERIAL];	/* COM1-COM4 (COM2-4 only when configured) */
	uint8_t serial_level[NSERIAL];	/* their IRQ outputs (COM1/3 share IRQ 4, COM2/4 IRQ 3) */
	struct debugport *debugport;
	struct pit *pit;		/* legacy ISA devices (platform_create) */
	struct rtc *rtc;
	struct i8042 *i8042;
	struct sysctl *sysctl;
	struct lapic_bus *lapic;	/* interrupt platform (apic_create) */
	struct ioapic *ioapic;
	struct hpet *hpet;
	struct acpi_pm *acpi_pm;
	struct pci_bus *pci;		/* i440FX/PIIX (pc_firmware_create) */
	struct fw_cfg *fw_cfg;
	struct vga *vga;		/* PCI std-vga, or NULL (-vga none) */
	struct display *display;	/* the console (display_create) */
	struct devices *extra;		/* -device devices (devices.h) */
	void (*boot)(struct machine *m, void *opaque);
	void (*boot_free)(void *opaque);
	void *boot_opaque;
	uint64_t icount;		/* retired by machine_run */
	uint64_t irq_raised[MACHINE_NGSI];	/* rising edges per GSI (monitor statistics) */
	uint8_t irq_level[MACHINE_NGSI];	/* last level driven per GSI */
	struct cpu *step_cpu;		/* machine_step: the only vCPU that runs, or NULL */
	uint64_t step_target;		/* its cpu->icount at which the step ends */
	const char *reset_why;
	uint8_t io_warned[65536 / 8];	/* unclaimed ports already logged */
};

static struct board *board(const struct machine *m)
{
	return m->devices;
}

static int map_ram(struct machine *m, char *err, size_t errlen)
{
	uint64_t ram = m->cfg.ram_size;
	uint64_t below = ram < BELOW_4G_MAX ? ram : BELOW_4G_MAX;
	int r;

	r = memmap_add_ram(&m->mem, 0, below < 0xa0000 ? below : 0xa0000, 0, "ram-low");
	if (r == 0 && below > 0x100000)
		r = memmap_add_ram(&m->mem, 0x100000, below - 0x100000, 0x100000, "ram");
	if (r == 0 && ram > below)
		r = memmap_add_ram(&m->mem, 1ull << 32, ram - below, below, "ram-high");
	if (r < 0) {
		snprintf(err, errlen, "cannot map %llu MiB of guest RAM: %s",
			 (unsigned long long)(ram >> 20), strerror(-r));
		return -1;
	}
	return 0;
}

/* ---- Serial ports: COM1 always, COM2-COM4 when configured ---- */

static const struct {
	uint16_t base;
	int irq;
	const char *name;
} serial_ports[NSERIAL] = {
	{ 0x3f8, 4, "COM1" }, { 0x2f8, 3, "COM2" }, { 0x3e8, 4, "COM3" }, { 0x2e8, 3, "COM4" },
};

/* Ports sharing an ISA IRQ drive it wired-OR. */
static void serial_line(void *opaque, int n, int level)
{
	struct machine *m = opaque;
	struct board *b = board(m);
	int irq = serial_ports[n].irq, any = 0;

	b->serial_level[n] = level != 0;
	for (int i = 0; i < NSERIAL; i++)
		if (serial_ports[i].irq == irq)
			any |= b->serial_level[i];
	machine_set_isa_irq(m, irq, any);
}

static int serial_ports_create(struct machine *m, char *err, size_t errlen)
{
	for (int i = 0; i < NSERIAL; i++) {
		const char *spec = i == 0 ? m->cfg.serial : m->cfg.serial_more[i - 1];
		if (i > 0 && spec == NULL)
			continue;
		board(m)->serial[i] = serial_create(m, &(struct serial_config){
			.backend = spec, .base = serial_ports[i].base, .name = serial_ports[i].name,
			.irq = { serial_line, m, i } }, err, errlen);
		if (board(m)->serial[i] == NULL)
			return -1;
	}
	return 0;
}

/* ---- Legacy ISA platform: PIC, PIT, RTC/CMOS, i8042, system control ---- */

/* Statistics for the monitor's "info irq": rising edges seen per GSI. */
static void count_irq(struct machine *m, int gsi, int level)
{
	struct board *b = board(m);

	if (b == NULL || gsi < 0 || gsi >= MACHINE_NGSI)
		return;
	if (level && !b->irq_level[gsi])
		b->irq_raised[gsi]++;
	b->irq_level[gsi] = level != 0;
}

void machine_irq_stat(const struct machine *m, int gsi, uint64_t *raised, int *level)
{
	const struct board *b = board(m);
	bool ok = b && gsi >= 0 && gsi < MACHINE_NGSI;

	*raised = ok ? b->irq_raised[gsi] : 0;
	*level = ok ? b->irq_level[gsi] : 0;
}

void machine_set_isa_irq(struct machine *m, int irq, int level)
{
	if (irq < 0 || irq > 15)
		return;
	count_irq(m, irq == 0 ? 2 : irq, level);
	if (m->pic)
		pic_set_irq(m->pic, irq, level);
	if (m->ioapic_set_irq)
		m->ioapic_set_irq(m->ioapic_opaque, irq == 0 ? 2 : irq, level);
}

void machine_set_gsi(struct machine *m, int gsi, int level)
{
	count_irq(m, gsi, level);
	if (m->ioapic_set_irq)
		m->ioapic_set_irq(m->ioapic_opaque, gsi, level);
	if (gsi >= 0 && gsi < 16 && m->pic)
		pic_set_irq(m->pic, gsi == 2 ? 0 : gsi, level);
}

static void isa_irq_handler(void *opaque, int n, int level)
{
	machine_set_isa_irq(opaque, n, level);
}

static void gsi_handler(void *opaque, int n, int level)
{
	machine_set_gsi(opaque, n, level);
}

struct irq machine_isa_irq(struct machine *m, int n)
{
	return (struct irq){ isa_irq_handler, m, n };
}

struct irq machine_gsi(struct machine *m, int n)
{
	return (struct irq){ gsi_handler, m, n };
}

/* Without a LAPIC in the way, the PIC's INTR is CPU 0's interrupt line. */
static void pic_to_cpu0(void *opaque, int n, int level)
{
	struct machine *m = opaque;
	cpu_set_irq_line(m->cpus[0], level != 0);
}

static int pic_ack(struct machine *m, struct cpu *cpu)
{
	return m->pic ? pic_intr_ack(m->pic) : -1;
}

/* The 8254's IRQ 0, silenced while the HPET's legacy replacement owns it. */
static void pit_line(void *opaque, int n, int level)
{
	struct machine *m = opaque;
	if (!hpet_legacy_replacement(board(m)->hpet))
		machine_set_isa_irq(m, 0, level);
}

static int platform_create(struct machine *m, char *err, size_t errlen)
{
	struct board *b = board(m);
	uint64_t ram = m->cfg.ram_size, below = ram < BELOW_4G_MAX ? ram : BELOW_4G_MAX;

	m->pic = pic_create(m, err, errlen);
	if (m->pic == NULL)
		return -1;
	pic_connect_output(m->pic, (struct irq){ pic_to_cpu0, m, 0 });
	if (m->intr_ack == NULL)
		m->intr_ack = pic_ack;
	b->pit = pit_create(m, (struct irq){ pit_line, m, 0 }, err, errlen);
	if (b->pit == NULL)
		return -1;
	b->rtc = rtc_create(m, machine_isa_irq(m, 8),
			    &(struct rtc_config){ .ram_below_4g = below, .ram_above_4g = ram - below,
						  .ncpus = m->cfg.ncpus,
						  .boot_order = m->cfg.boot_order }, err, errlen);
	if (b->rtc == NULL)
		return -1;
	b->i8042 = i8042_create(m, machine_isa_irq(m, 1), machine_isa_irq(m, 12), err, errlen);
	if (b->i8042 == NULL)
		return -1;
	b->sysctl = sysctl_create(m, err, errlen);
	return b->sysctl ? 0 : -1;
}

static void platform_reset(struct machine *m)
{
	struct board *b = board(m);

	if (m->pic)
		pic_reset(m->pic);
	if (b->pit)
		pit_reset(b->pit);
	if (b->rtc)
		rtc_reset(b->rtc);
	if (b->i8042)
		i8042_reset(b->i8042);
	if (b->sysctl)
		sysctl_reset(b->sysctl);
}

/* Frees the devices (machine_destroy frees the clock and timers last). */
static void platform_destroy(struct machine *m)
{
	struct board *b = board(m);

	sysctl_destroy(b->sysctl);
	i8042_destroy(b->i8042);
	rtc_destroy(b->rtc);
	pit_destroy(b->pit);
	pic_destroy(m->pic);
	m->pic = NULL;
}

/* ---- Interrupt platform: LAPICs, IOAPIC, HPET, ACPI PM (dev/lapic.h) ---- */

/* The 8259's INTR output is LINT0 of every LAPIC; INTA goes to the 8259. */
static void pic_to_lint0(void *opaque, int n, int level)
{
	lapic_bus_set_lint(opaque, 0, level);
}

static int pic_extint_ack(void *opaque)
{
	return pic_intr_ack(opaque);
}

static void ioapic_pin(void *opaque, int gsi, int level)
{
	ioapic_set_irq(opaque, gsi, level);
}

/* HPET lines: ISA IRQs 0 and 8 in legacy replacement mode, else GSIs. */
static void hpet_line(void *opaque, int n, int level)
{
	if (n < 16)
		machine_set_isa_irq(opaque, n, level);
	else
		machine_set_gsi(opaque, n, level);
}

static int apic_create(struct machine *m, char *err, size_t errlen)
{
	struct board *b = board(m);

	b->lapic = lapic_bus_create(m, err, errlen);
	if (b->lapic == NULL)
		return -1;
	m->intr_ack = lapic_intr_ack;
	m->intr_opaque = b->lapic;
	if (m->pic) {
		pic_connect_output(m->pic, (struct irq){ pic_to_lint0, b->lapic, 0 });
		lapic_bus_set_extint(b->lapic, pic_extint_ack, m->pic);
	}
	b->ioapic = ioapic_create(m, b->lapic, IOAPIC_BASE, err, errlen);
	if (b->ioapic == NULL)
		return -1;
	lapic_bus_set_eoi_hook(b->lapic, ioapic_eoi, b->ioapic);
	m->ioapic_set_irq = ioapic_pin;
	m->ioapic_opaque = b->ioapic;
	b->hpet = hpet_create(m, (struct irq){ hpet_line, m, 0 }, err, errlen);
	if (b->hpet == NULL)
		return -1;
	b->acpi_pm = acpi_pm_create(m, machine_isa_irq(m, ACPI_SCI_IRQ), err, errlen);
	return b->acpi_pm ? 0 : -1;
}

/* After cpu_reset: APs wait for INIT-SIPI; the devices reset. */
static void apic_reset(struct machine *m)
{
	struct board *b = board(m);

	for (int i = 1; i < m->ncpus; i++)
		m->cpus[i]->sipi_wait = m->cpus[i]->halted = true;
	if (b->lapic)
		lapic_bus_reset(b->lapic);
	if (b->ioapic)
		ioapic_reset(b->ioapic);
	if (b->hpet)
		hpet_reset(b->hpet);
	if (b->acpi_pm)
		acpi_pm_reset(b->acpi_pm);
}

static void apic_destroy(struct machine *m)
{
	struct board *b = board(m);

	m->ioapic_set_irq = NULL;
	acpi_pm_destroy(b->acpi_pm);
	hpet_destroy(b->hpet);
	ioapic_destroy(b->ioapic);
	lapic_bus_destroy(b->lapic);
}

/* ---- PCI bus and the firmware interface (dev/pci.h, dev/fw_cfg.h) ---- */

/* Closes the configured drives' back ends when the IDE never took them. */
static void drives_release(struct machine *m)
{
	for (int i = 0; i < IDE_DRIVES; i++) {
		if (m->cfg.drives[i].blk)
			block_close(m->cfg.drives[i].blk);
		m->cfg.drives[i].blk = NULL;
	}
}

/*
 * Disks as SeaBIOS sees them: the "bootorder" file lists the IDE drives in
 * -boot order (c: disks, d: CD-ROMs; OpenFirmware paths as SeaBIOS's
 * bootprio_find_ata_device matches them), and CMOS 0x39/0x3A give each
 * disk's BIOS translation (0 none, 1 LBA) as QEMU's "auto" picks it: LBA
 * once the disk has more than 1024 cylinders.
 */
static int disks_to_firmware(struct machine *m)
{
	struct board *b = board(m);
	const char *order = m->cfg.boot_order ? m->cfg.boot_order : "cad";
	char text[512];
	size_t n = 0;
	uint8_t trans[2] = { 0, 0 };

	for (const char *o = order; *o; o++) {
		enum ide_media want = *o == 'c' ? IDE_MEDIA_DISK : *o == 'd' ? IDE_MEDIA_CDROM
									  : IDE_MEDIA_NONE;
		for (int i = 0; want != IDE_MEDIA_NONE && i < IDE_DRIVES; i++)
			if (ide_drive_media(m->ide, i) == want && n + 64 < sizeof(text))
				n += (size_t)snprintf(text + n, sizeof(text) - n,
						      "%s/pci@i0cf8/ide@1,1/drive@%d/disk@%d", n ? "\n" : "",
						      i / 2, i % 2);
	}
	for (int i = 0; i < IDE_DRIVES; i++) {
		unsigned cyls, heads, secs;
		if (ide_drive_media(m->ide, i) != IDE_MEDIA_DISK)
			continue;
		ide_drive_geometry(m->ide, i, &cyls, &heads, &secs);
		if (cyls > 1024)
			trans[i / 4] |= (uint8_t)(1u << (2 * (i % 4)));
	}
	if (b->rtc) {
		rtc_cmos_write(b->rtc, 0x39, trans[0]);
		rtc_cmos_write(b->rtc, 0x3a, trans[1]);
	}
	return fw_cfg_add_file(b->fw_cfg, "bootorder", text, n, false);
}

/* -option-rom FILE: SeaBIOS runs every fw_cfg file genroms/NAME as an option ROM. */
static int add_option_rom(struct machine *m, const char *path, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/');
	char name[56];
	uint8_t *data = NULL;
	long len = -1;
	FILE *f = fopen(path, "rb");
	int r = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && len <= (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)len)) != NULL &&
	    fread(data, 1, (size_t)len, f) == (size_t)len) {
		snprintf(name, sizeof(name), "genroms/%.47s", base ? base + 1 : path);
		r = fw_cfg_add_file(board(m)->fw_cfg, name, data, (size_t)len, false);
		if (r < 0)
			snprintf(err, errlen, "cannot add the option ROM '%s': %s", path, strerror(-r));
	} else {
		snprintf(err, errlen, "cannot read the option ROM '%s': %s", path,
			 f == NULL ? strerror(errno) : "empty, unreadable or larger than 1 MiB");
	}
	if (f)
		fclose(f);
	free(data);
	return r < 0 ? -1 : 0;
}

static int pc_firmware_create(struct machine *m, char *err, size_t errlen)
{
	struct board *b = board(m);
	struct pci_bus_config pc = { 0 };
	struct ide_config ic = { .irq = { machine_isa_irq(m, 14), machine_isa_irq(m, 15) } };
	int r;

	for (int i = 0; i < 16; i++)
		pc.isa_irq[i] = machine_isa_irq(m, i);
	b->pci = pci_create(m, &pc, err, errlen);
	if (b->pci == NULL)
		return -1;
	memcpy(ic.drive, m->cfg.drives, sizeof(ic.drive));
	memset(m->cfg.drives, 0, sizeof(m->cfg.drives));	/* the IDE owns them now */
	m->ide = ide_create(m, b->pci, &ic, err, errlen);
	if (m->ide == NULL)
		return -1;
	b->fw_cfg = fw_cfg_create(m, err, errlen);
	if (b->fw_cfg == NULL)
		return -1;
	r = fw_cfg_populate_pc(b->fw_cfg, m);
	if (r == 0)
		r = disks_to_firmware(m);
	if (r < 0) {
		snprintf(err, errlen, "cannot build the firmware configuration tables: %s", strerror(-r));
		return -1;
	}
	return m->cfg.option_rom ? add_option_rom(m, m->cfg.option_rom, err, errlen) : 0;
}

/* ---- Display: the VGA card and the console (dev/vga.h, dev/display.h) ---- */

static int display_setup(struct machine *m, char *err, size_t errlen)
{
	struct board *b = board(m);
	const char *vga = m->cfg.vga;

	if (vga && strcmp(vga, "std") == 0) {
		b->vga = vga_create(m, b->pci, &(struct vga_config){ .bios = m->cfg.vga_bios,
				    .text_font = m->cfg.vga_font }, err, errlen);
		if (b->vga == NULL)
			return -1;
	} else if (vga && strcmp(vga, "none") != 0) {
		snprintf(err, errlen, "unknown VGA card '%s' (use std or none)", vga);
		return -1;
	}
	b->display = display_create(m, m->cfg.display, b->vga, b->i8042, err, errlen);
	return b->display ? 0 : -1;
}

struct display *machine_display(struct machine *m)
{
	return m->devices ? board(m)->display : NULL;
}

struct machine *machine_create(const struct machine_config *cfg, char *err, size_t errlen)
{
	const struct cpu_model *model;
	uint32_t features[FW_N];
	struct machine *m;
	const char *spec = cfg->cpu_spec;
	int r;

	if (spec == NULL)
		spec = cpu_model_names()[0];
	if (cpu_model_parse(spec, &model, features, err, errlen) < 0)
		return NULL;
	if (cfg->ncpus > MACHINE_MAX_CPUS) {
		snprintf(err, errlen, "at most %d vCPUs are supported, %d were requested",
			 MACHINE_MAX_CPUS, cfg->ncpus);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->devices = calloc(1, sizeof(struct board))) == NULL) {
		free(m);
		snprintf(err, errlen, "out of memory creating the machine");
		return NULL;
	}
	m->cfg = *cfg;
	if (m->cfg.ram_size == 0)
		m->cfg.ram_size = 128ull << 20;
	if (m->cfg.ncpus <= 0)
		m->cfg.ncpus = 1;
	m->cfg.cpu_spec = spec;
	m->log.out = stderr;
	m->exit_status = 0;

	if (m->cfg.ram_size < (1ull << 20) || (m->cfg.ram_size & 0xfff)) {
		snprintf(err, errlen, "RAM size must be a multiple of 4 KiB and at least 1 MiB");
		goto fail;
	}
	r = memmap_init(&m->mem, m->cfg.ram_size);
	if (r < 0) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(m->cfg.ram_size >> 20), strerror(-r));
		goto fail;
	}
	if (map_ram(m, err, errlen) < 0)
		goto fail;

	m->bc = bc_create();
	if (m->bc == NULL) {
		snprintf(err, errlen, "out of memory creating the block cache");
		goto fail;
	}
	for (int i = 0; i < m->cfg.ncpus; i++) {
		struct cpu *cpu = calloc(1, sizeof(*cpu));
		if (cpu == NULL) {
			snprintf(err, errlen, "out of memory creating vCPU %d", i);
			goto fail;
		}
		m->cpus[i] = cpu;
		m->ncpus = i + 1;
		if (cpu_init(cpu, m, i, model) < 0) {
			snprintf(err, errlen, "cannot initialize vCPU %d", i);
			goto fail;
		}
		memcpy(cpu->features, features, sizeof(features));
		cpu->bc = m->bc;
	}

	m->clock = clock_create(m, cfg->icount ? CLOCK_ICOUNT : CLOCK_HOST, cfg->icount_shift);
	if (m->clock == NULL) {
		snprintf(err, errlen, "out of memory creating the clock");
		goto fail;
	}
	if (serial_ports_create(m, err, errlen) < 0)
		goto fail;
	board(m)->debugport = debugport_create(
		m, &(struct debugport_config){ .debugcon = cfg->debugcon }, err, errlen);
	if (board(m)->debugport == NULL)
		goto fail;
	if (platform_create(m, err, errlen) < 0 || apic_create(m, err, errlen) < 0)
		goto fail;
	apic_reset(m);
	if (pc_firmware_create(m, err, errlen) < 0 || display_setup(m, err, errlen) < 0)
		goto fail;
	board(m)->extra = devices_create(m, cfg->devices, cfg->ndevices, err, errlen);
	if (board(m)->extra == NULL)
		goto fail;
	return m;
fail:
	machine_destroy(m);
	return NULL;
}

void machine_destroy(struct machine *m)
{
	struct board *b;

	if (m == NULL)
		return;
	b = board(m);
	monitor_destroy(m->monitor);
	state_registry_free(m->state);
	if (b) {
		if (b->boot_free)
			b->boot_free(b->boot_opaque);
		display_destroy(b->display);
		vga_destroy(b->vga);
		devices_destroy(b->extra);
		fw_cfg_destroy(b->fw_cfg);
		ide_destroy(m->ide);
		m->ide = NULL;
		drives_release(m);
		pci_destroy(b->pci);
		debugport_destroy(b->debugport);
		for (int i = 0; i < NSERIAL; i++)
			serial_destroy(b->serial[i]);
		apic_destroy(m);
		platform_destroy(m);
	}
	for (int i = 0; i < m->ncpus; i++) {
		if (m->cpus[i]) {
			cpu_destroy(m->cpus[i]);
			free(m->cpus[i]);
		}
	}
	if (m->bc)
		bc_destroy(m->bc);
	if (m->mem.ram)
		memmap_destroy(&m->mem);
	if (m->log.out && m->log.out != stderr && m->log.out != stdout)
		fclose(m->log.out);
	clock_destroy(m->clock);
	free(b);
	free(m);
}

void machine_set_boot(struct machine *m, void (*boot)(struct machine *m, void *opaque),
		      void (*free_fn)(void *opaque), void *opaque)
{
	struct board *b = board(m);

	if (b->boot_free && b->boot_opaque != opaque)
		b->boot_free(b->boot_opaque);
	b->boot = boot;
	b->boot_free = free_fn;
	b->boot_opaque = opaque;
}

uint64_t machine_icount(const struct machine *m)
{
	return board(m)->icount;
}

struct pci_bus *machine_pci_bus(const struct machine *m)
{
	return board(m) ? board(m)->pci : NULL;
}

struct fw_cfg *machine_fw_cfg(const struct machine *m)
{
	return board(m) ? board(m)->fw_cfg : NULL;
}

struct ioapic *machine_ioapic(const struct machine *m)
{
	return board(m) ? board(m)->ioapic : NULL;
}

struct acpi_pm *machine_acpi_pm(const struct machine *m)
{
	return board(m) ? board(m)->acpi_pm : NULL;
}

/*
 * A RAM size change requested by the monitor, applied at reset: the RAM
 * regions are dropped, a fresh allocation replaces the old one (its
 * contents are lost, as at power-on) and the regions are mapped again.
 * ROM and MMIO regions stay. On failure the old RAM is kept.
 */
static void apply_ram_resize(struct machine *m)
{
	uint64_t size = m->ram_resize, old = m->cfg.ram_size;
	struct memmap fresh;
	char err[160];

	m->ram_resize = 0;
	if (size == 0 || size == m->mem.ram_size)
		return;
	if (memmap_init(&fresh, size) < 0) {
		fprintf(stderr, "nestemu: cannot allocate %llu MiB of guest RAM; keeping %llu MiB.\n",
			(unsigned long long)(size >> 20), (unsigned long long)(old >> 20));
		return;
	}
	for (int i = m->mem.nregions - 1; i >= 0; i--) {
		const struct mem_region *r = &m->mem.regions[i];
		if (r->kind == REGION_RAM && memmap_remove(&m->mem, r->base, r->size) < 0)
			break;
	}
	/* Swap the allocations; destroying `fresh` frees the old RAM. */
	uint8_t *ram = m->mem.ram, *code = m->mem.code_pages;
	uint64_t rsz = m->mem.ram_size;
	bool mm = m->mem.ram_mmapped;
	m->mem.ram = fresh.ram;
	m->mem.code_pages = fresh.code_pages;
	m->mem.ram_size = fresh.ram_size;
	m->mem.ram_mmapped = fresh.ram_mmapped;
	fresh.ram = ram;
	fresh.code_pages = code;
	fresh.ram_size = rsz;
	fresh.ram_mmapped = mm;
	memmap_destroy(&fresh);
	m->cfg.ram_size = size;
	if (map_ram(m, err, sizeof(err)) < 0)
		fprintf(stderr, "nestemu: %s\n", err);
	if (m->bc)
		bc_flush(m->bc);
}

void machine_reset(struct machine *m)
{
	struct board *b = board(m);

	if (m->ram_resize)
		apply_ram_resize(m);
	for (int i = 0; i < m->ncpus; i++) {
		if (m->virt_pending)
			cpu_model_set_virt(m->cpus[i]->model, m->cpus[i]->features,
					   m->virt_pending == 2);
		cpu_reset(m->cpus[i]);
	}
	m->virt_pending = 0;
	for (int i = 0; i < NSERIAL; i++)
		if (b->serial[i])
			serial_reset(b->serial[i]);
	platform_reset(m);
	apic_reset(m);
	if (b->pci)
		pci_reset(b->pci);
	if (m->ide)
		ide_reset(m->ide);
	if (b->fw_cfg)
		fw_cfg_reset(b->fw_cfg);
	if (b->vga)
		vga_reset(b->vga);
	m->stop = STOP_NONE;
	m->reset_pending = false;
	if (b->boot)
		b->boot(m, b->boot_opaque);
}

/* ---- I/O port space ---- */

int machine_add_io(struct machine *m, uint16_t base, uint16_t count, io_read_fn rd,
		   io_write_fn wr, void *opaque, const char *name)
{
	if (count == 0 || (uint32_t)base + count > 0x10000)
		return -EINVAL;
	for (int i = 0; i < m->nio; i++) {
		const struct io_range *r = &m->io[i];
		if (base < r->base + r->count && r->base < base + count)
			return -EBUSY;
	}
	if (m->nio >= MACHINE_MAX_IO)
		return -ENOSPC;
	m->io[m->nio++] = (struct io_range){ base, count, rd, wr, opaque, name };
	return 0;
}

int machine_remove_io(struct machine *m, uint16_t base, uint16_t count)
{
	for (int i = 0; i < m->nio; i++) {
		if (m->io[i].base == base && m->io[i].count == count) {
			memmove(&m->io[i], &m->io[i + 1], (size_t)(m->nio - i - 1) * sizeof(m->io[0]));
			m->nio--;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct io_range *io_find(const struct machine *m, uint16_t port)
{
	for (int i = 0; i < m->nio; i++)
		if (port >= m->io[i].base && port < m->io[i].base + m->io[i].count)
			return &m->io[i];
	return NULL;
}

static uint32_t size_mask32(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* Logs the first access to an unclaimed port (guest_errors or unimp). */
static void io_unclaimed(struct machine *m, uint16_t port, unsigned size, bool write,
			 uint32_t value)
{
	struct board *b = board(m);
	uint8_t bit = (uint8_t)(1u << (port & 7));

	if (!log_on(&m->log, LOG_UNIMP | LOG_GUEST_ERRORS) || (b->io_warned[port >> 3] & bit))
		return;
	b->io_warned[port >> 3] |= bit;
	if (write)
		log_printf(&m->log, "unclaimed I/O port 0x%04x: write of 0x%x (size %u) ignored\n",
			   port, value, size);
	else
		log_printf(&m->log, "unclaimed I/O port 0x%04x: read (size %u) returns all-ones\n",
			   port, size);
}

uint32_t machine_io_in(struct machine *m, uint16_t port, unsigned size)
{
	const struct io_range *r = io_find(m, port);

	if (r == NULL || r->read == NULL) {
		if (r == NULL)
			io_unclaimed(m, port, size, false, 0);
		return size_mask32(size);
	}
	return r->read(r->opaque, port, size) & size_mask32(size);
}

void machine_io_out(struct machine *m, uint16_t port, uint32_t value, unsigned size)
{
	const struct io_range *r = io_find(m, port);

	value &= size_mask32(size);
	if (r == NULL || r->write == NULL) {
		if (r == NULL)
			io_unclaimed(m, port, size, true, value);
		return;
	}
	r->write(r->opaque, port, value, size);
}

/* ---- A20 gate ---- */

void machine_set_a20(struct machine *m, uint8_t input, bool open)
{
	uint64_t clear;

	m->a20 = open ? (uint8_t)(m->a20 | input) : (uint8_t)(m->a20 & ~input);
	clear = m->a20 ? 0 : 1ull << 20;
	if (clear == m->a20_clear)
		return;
	m->a20_clear = clear;
	/* TLB entries hold translations made with the old mask; blocks are
	 * keyed by physical address, so they stay valid. */
	for (int i = 0; i < m->ncpus; i++)
		tlb_flush_all(m->cpus[i]);
}

/* ---- Requests and the run loop ---- */

static void kick_cpus(struct machine *m)
{
	for (int i = 0; i < m->ncpus; i++) {
		m->cpus[i]->pending |= PEND_EXIT;
		m->cpus[i]->exit_request = 1;
	}
}

void machine_request_exit(struct machine *m, int status)
{
	m->exit_status = status;
	m->stop = STOP_EXIT;
	kick_cpus(m);
}

void machine_request_reset(struct machine *m, const char *why)
{
	why = why ? why : "reset requested";
	if (board(m))	/* NULL for bare machines built by tests */
		board(m)->reset_why = why;
	if (log_on(&m->log, LOG_CPU_RESET | LOG_GUEST_ERRORS))
		log_printf(&m->log, "machine reset requested: %s\n", why);
	m->reset_pending = true;
	kick_cpus(m);
}

/* True when the halted CPU has an event it can take now. */
static bool cpu_can_wake(const struct cpu *cpu)
{
	if (cpu->sipi_wait)	/* only INIT and SIPI reach a CPU waiting for SIPI */
		return (cpu->pending & (PEND_INIT | PEND_SIPI)) != 0;
	if (cpu->pending & (PEND_NMI | PEND_INIT | PEND_SIPI | PEND_SMI))
		return true;
	return (cpu->pending & PEND_INTR) && (cpu->rflags & FL_IF);
}

static void report_halt(struct machine *m, struct cpu *cpu)
{
	const char *why = (cpu->rflags & FL_IF)
		? "with interrupts enabled, but no timer is pending and no device can interrupt it"
		: "with interrupts disabled";

	fprintf(stderr, "nestemu: CPU %d halted %s at %04x:%08llx; stopping.\n", cpu->id, why,
		cpu->seg[S_CS].sel, (unsigned long long)cpu->rip);
	(void)m;
}

/*
 * SMP: the vCPUs run round-robin, one slice each; a halted vCPU is
 * skipped until it has an event it can take. NULL when every vCPU is
 * halted that way.
 */
static struct cpu *next_cpu(struct machine *m, int *rr)
{
	for (int k = 0; k < m->ncpus; k++) {
		int i = (*rr + k) % m->ncpus;
		struct cpu *c = m->cpus[i];
		if (c->lapic)
			lapic_poll(c);
		if (!c->halted || cpu_can_wake(c)) {
			*rr = (i + 1) % m->ncpus;
			return c;
		}
	}
	return NULL;
}

/* Some vCPU is halted with interrupts enabled (a timer may wake it). */
static bool any_cpu_waits(const struct machine *m)
{
	for (int i = 0; i < m->ncpus; i++)
		if (!m->cpus[i]->sipi_wait && (m->cpus[i]->rflags & FL_IF))
			return true;
	return false;
}

/* machine_step: the stepped vCPU if it can run now, else NULL. */
static struct cpu *step_cpu(struct machine *m)
{
	struct cpu *c = board(m)->step_cpu;

	if (c->lapic)
		lapic_poll(c);
	return !c->halted || cpu_can_wake(c) ? c : NULL;
}

enum machine_stop machine_run(struct machine *m)
{
	struct board *b = board(m);
	int idle = 0, rr = 0;
	uint64_t halted_since = UINT64_MAX;	/* machine_step: guest ns its vCPU halted at */

	if (m->stop != STOP_EXIT)
		m->stop = STOP_NONE;
	clock_resume(m);
	while (m->stop == STOP_NONE) {
		struct cpu *cpu = b->step_cpu ? step_cpu(m) : next_cpu(m, &rr);
		bool all_halted = cpu == NULL;
		uint64_t budget = RUN_SLICE, n;

		if (all_halted)
			cpu = b->step_cpu ? b->step_cpu : m->cpus[0];
		if (b->step_cpu) {
			if (cpu->icount >= b->step_target) {
				m->paused = true;
				m->stop = STOP_PAUSED;
				break;
			}
			if (budget > b->step_target - cpu->icount)
				budget = b->step_target - cpu->icount;
		}

		if (m->monitor_poll && !b->step_cpu)
			m->monitor_poll(m);
		if (m->paused) {
			m->stop = STOP_PAUSED;
			break;
		}
		if (m->monitor_break && !m->reset_pending) {
			if (m->monitor_break(m, cpu)) {
				m->paused = true;
				m->stop = STOP_PAUSED;
				break;
			}
			budget = 1;
		}
		if (m->stop != STOP_NONE)
			break;

		if (m->reset_pending) {
			if (m->cfg.no_reboot) {
				m->reset_pending = false;
				m->stop = STOP_RESET;
				fprintf(stderr, "nestemu: guest reset (%s); exiting because of -no-reboot.\n",
					b->reset_why ? b->reset_why : "reset requested");
				break;
			}
			machine_reset(m);
			if (b->step_cpu) {	/* a reset ends a step */
				m->paused = true;
				m->stop = STOP_PAUSED;
				break;
			}
			continue;
		}
		if (m->cfg.icount_limit) {
			if (b->icount >= m->cfg.icount_limit) {
				m->stop = STOP_ICOUNT;
				break;
			}
			if (budget > m->cfg.icount_limit - b->icount)
				budget = m->cfg.icount_limit - b->icount;
		}
		if (all_halted && b->step_cpu) {
			/* A step waits for the vCPU's next interrupt, for at most
			 * STEP_HALT_NS of guest time. */
			uint64_t now = clock_ns(m);
			if (halted_since == UINT64_MAX)
				halted_since = now;
			if (!cpu->sipi_wait && (cpu->rflags & FL_IF) && now - halted_since < STEP_HALT_NS &&
			    clock_idle(m))
				continue;
			m->stop = STOP_HALTED;
			break;
		}
		if (all_halted) {
			/* Waiting for an interrupt: sleep (or jump) to the next timer. */
			if (any_cpu_waits(m) && clock_idle(m))
				continue;
			report_halt(m, cpu);
			m->stop = STOP_HALTED;
			break;
		}
		halted_since = UINT64_MAX;
		budget = clock_slice(m, cpu, budget);
		m->current = cpu;
		n = cpu_run(cpu, budget);
		m->current = NULL;
		clock_slice_end(m, n);
		b->icount += n;
		clock_run_timers(m);
		for (int i = 0; i < m->ncpus; i++) {
			m->cpus[i]->pending &= ~(uint32_t)PEND_EXIT;
		}
		if (n == 0 && !cpu->halted && m->stop == STOP_NONE && !m->reset_pending) {
			if (++idle >= NO_PROGRESS_LIMIT) {
				fprintf(stderr,
					"nestemu: CPU %d stopped making progress at %04x:%08llx; stopping.\n",
					cpu->id, cpu->seg[S_CS].sel, (unsigned long long)cpu->rip);
				m->stop = STOP_ERROR;
			}
		} else {
			idle = 0;
		}
	}
	clock_pause(m);
	return m->stop;
}

enum machine_stop machine_step(struct machine *m, struct cpu *cpu, uint64_t n)
{
	struct board *b = board(m);
	uint64_t target = cpu->icount + n;
	enum machine_stop s;

	if (b == NULL) {
		/* A bare machine (unit tests): no devices, no clock; the vCPU alone. */
		for (uint64_t tries = 0; cpu->icount < target && tries < 4 * n + 64; tries++) {
			if ((cpu->halted && !cpu_can_wake(cpu)) || m->stop == STOP_EXIT || m->reset_pending)
				return STOP_HALTED;
			(void)cpu_run(cpu, 1);
			cpu->pending &= ~(uint32_t)PEND_EXIT;
		}
		m->paused = true;
		return STOP_PAUSED;
	}
	b->step_cpu = cpu;
	b->step_target = target;
	m->paused = false;
	s = machine_run(m);
	b->step_cpu = NULL;
	return s;
}
