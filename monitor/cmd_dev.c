/*
 * cmd_dev.c - the monitor's device topics: info pci, irq, pic, lapic and
 * ioapic.
 *
 * Each topic reads its device through the device's public interface
 * (register reads without side effects, pic_get_regs, pci_find, the
 * board's interrupt statistics) and decodes what it finds the way the
 * data sheets name it, so nothing here knows a device's internals and
 * nothing changes guest state. A machine without the device (the bare
 * machines of unit tests) says so in one line.
 */
#include <inttypes.h>
#include <string.h>

#include "monitor.h"
#include "../emu/cpu/cpu.h"
#include "../emu/cpu/msr.h"
#include "../emu/dev/ioapic.h"
#include "../emu/dev/irq.h"
#include "../emu/dev/lapic.h"
#include "../emu/dev/pci.h"
#include "../emu/dev/pic.h"

static const char *const delivery_modes[8] = {
	"Fixed", "LowPri", "SMI", "reserved", "NMI", "INIT", "SIPI", "ExtINT",
};

/* ---- info pic ---- */

int mon_info_pic(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	static const char *const names[2] = { "master (IRQ 0-7):", "slave (IRQ 8-15):" };

	if (m->pic == NULL)
		return mon_error(out, "this machine has no 8259 interrupt controllers");
	for (int chip = 0; chip < 2; chip++) {
		struct pic_regs r;
		pic_get_regs(m->pic, chip, &r);
		fprintf(out, "8259 %-17s base vector 0x%02x IRR=0x%02x ISR=0x%02x IMR=0x%02x ELCR=0x%02x\n",
			names[chip], r.vector_base, r.irr, r.isr, r.imr, r.elcr);
	}
	fprintf(out, "INTR output: %s\n", pic_intr_output(m->pic) ? "asserted" : "idle");
	return 0;
}

/* ---- info ioapic ---- */

int mon_info_ioapic(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct ioapic *s = machine_ioapic(mon_machine(mon));

	if (s == NULL)
		return mon_error(out, "this machine has no I/O APIC");
	uint32_t ver = ioapic_reg_read(s, 0x01), pins = ioapic_pin_levels(s);
	int n = (int)((ver >> 16) & 0xff) + 1;
	fprintf(out, "IOAPIC at 0x%llx: ID %u, version 0x%02x, %d pins\n",
		(unsigned long long)IOAPIC_BASE, ioapic_reg_read(s, 0x00) >> 24, ver & 0xff, n);
	for (int pin = 0; pin < n; pin++) {
		uint64_t e = ioapic_reg_read(s, (uint8_t)(0x10 + 2 * pin)) |
			     (uint64_t)ioapic_reg_read(s, (uint8_t)(0x11 + 2 * pin)) << 32;
		fprintf(out, "pin %2d: %016" PRIx64 " vector 0x%02x %-6s %-8s dest 0x%02x %-5s %-4s%s%s%s, input %d\n",
			pin, e, (unsigned)(e & 0xff), delivery_modes[(e >> 8) & 7],
			e & (1ull << 11) ? "logical" : "physical", (unsigned)(e >> 56),
			e & (1ull << 15) ? "level" : "edge", e & (1ull << 13) ? "low" : "high",
			e & (1ull << 16) ? " masked" : "", e & (1ull << 14) ? " remote-IRR" : "",
			e & (1ull << 12) ? " pending" : "", (int)((pins >> pin) & 1));
	}
	return 0;
}

/* ---- info lapic ---- */

/* "IRR: 00000000...00010000 (vectors 0x30 0x50)" from 8 registers at base. */
static void print_vec_bitmap(FILE *out, struct lapic *s, const char *name, uint32_t base)
{
	uint32_t w[8];
	int shown = 0;

	for (int k = 0; k < 8; k++)
		w[k] = lapic_reg_read(s, base + 0x10 * (uint32_t)k);
	fprintf(out, "%s: ", name);
	for (int k = 7; k >= 0; k--)
		fprintf(out, "%08x", w[k]);
	for (int v = 0; v < 256; v++)
		if (w[v / 32] & (1u << (v % 32)))
			fprintf(out, "%s0x%02x", shown++ ? " " : " (vectors ", v);
	fprintf(out, "%s\n", shown ? ")" : " (none)");
}

static void print_lvt(FILE *out, const char *name, uint32_t v, bool timer)
{
	static const char *const timer_modes[4] = { "one-shot", "periodic", "TSC-deadline", "reserved" };

	fprintf(out, "LVT %-8s 0x%08x: vector 0x%02x", name, v, v & 0xff);
	if (timer)
		fprintf(out, " %s", timer_modes[(v >> 17) & 3]);
	else
		fprintf(out, " %s", delivery_modes[(v >> 8) & 7]);
	if (!strcmp(name, "LINT0") || !strcmp(name, "LINT1"))
		fprintf(out, " %s %s%s", v & (1u << 15) ? "level" : "edge",
			v & (1u << 13) ? "low" : "high", v & (1u << 14) ? " remote-IRR" : "");
	fprintf(out, "%s%s\n", v & (1u << 16) ? " masked" : "", v & (1u << 12) ? " pending" : "");
}

int mon_info_lapic(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct cpu *c = mon_cpu(mon);
	struct lapic *s = c->lapic;
	static const char *const lvt_names[6] = { "timer", "thermal", "perf", "LINT0", "LINT1",
						  "error" };

	if (s == NULL)
		return mon_error(out, "CPU #%d has no local APIC", c->id);
	uint64_t base = c->msr.apic_base;
	bool enabled = (base & APIC_BASE_EN) != 0, x2 = enabled && (base & APIC_BASE_EXTD);
	uint32_t id = lapic_reg_read(s, 0x20), svr = lapic_reg_read(s, 0xf0);
	fprintf(out, "LAPIC of CPU #%d: ID 0x%x, version 0x%08x, IA32_APIC_BASE 0x%" PRIx64
		" (%s%s%s)\n", c->id, x2 ? id : id >> 24, lapic_reg_read(s, 0x30), base,
		enabled ? "enabled" : "disabled", x2 ? ", x2APIC" : ", xAPIC",
		base & (1ull << 8) ? ", BSP" : "");
	fprintf(out, "TPR=0x%02x PPR=0x%02x APR=0x%02x LDR=0x%08x DFR=0x%08x ESR=0x%02x\n",
		lapic_reg_read(s, 0x80), lapic_reg_read(s, 0xa0), lapic_reg_read(s, 0x90),
		lapic_reg_read(s, 0xd0), lapic_reg_read(s, 0xe0), lapic_reg_read(s, 0x280));
	fprintf(out, "SVR=0x%08x: %s, spurious vector 0x%02x%s\n", svr,
		svr & (1u << 8) ? "software-enabled" : "software-disabled", svr & 0xff,
		svr & (1u << 12) ? ", EOI broadcast suppressed" : "");
	fprintf(out, "ICR=0x%08x_%08x\n", lapic_reg_read(s, 0x310), lapic_reg_read(s, 0x300));
	print_vec_bitmap(out, s, "ISR", 0x100);
	print_vec_bitmap(out, s, "IRR", 0x200);
	print_vec_bitmap(out, s, "TMR", 0x180);
	for (int k = 0; k < 6; k++)
		print_lvt(out, lvt_names[k], lapic_reg_read(s, 0x320 + 0x10 * (uint32_t)k), k == 0);
	uint32_t lvt = lapic_reg_read(s, 0x320), dcr = lapic_reg_read(s, 0x3e0);
	unsigned code = (dcr & 3) | ((dcr >> 1) & 4);
	unsigned divide = code == 7 ? 1 : 2u << code;
	uint64_t deadline = 0;
	if (((lvt >> 17) & 3) == 2 && lapic_msr_read(c, MSR_TSC_DEADLINE, &deadline) != 0)
		deadline = 0;
	if (((lvt >> 17) & 3) == 2)
		fprintf(out, "timer: TSC-deadline, IA32_TSC_DEADLINE=%" PRIu64 "%s\n", deadline,
			deadline ? "" : " (disarmed)");
	else
		fprintf(out, "timer: %s, initial count %u, current count %u, divide by %u\n",
			(lvt >> 17) & 1 ? "periodic" : "one-shot", lapic_reg_read(s, 0x380),
			lapic_reg_read(s, 0x390), divide);
	return 0;
}

/* ---- info pci ---- */

static const char *class_name(unsigned cls)
{
	static const struct { uint16_t cls; const char *name; } names[] = {
		{ 0x0100, "SCSI controller" }, { 0x0101, "IDE controller" },
		{ 0x0106, "SATA controller" }, { 0x0180, "storage controller" },
		{ 0x0200, "Ethernet controller" }, { 0x0300, "VGA controller" },
		{ 0x0380, "display controller" }, { 0x0600, "host bridge" },
		{ 0x0601, "ISA bridge" }, { 0x0604, "PCI bridge" }, { 0x0680, "bridge" },
		{ 0x0c03, "USB controller" }, { 0x0c05, "SMBus" },
	};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (names[k].cls == cls)
			return names[k].name;
	return "device";
}

static uint32_t cfg32(const struct pci_device *d, unsigned off)
{
	return (uint32_t)d->config[off] | (uint32_t)d->config[off + 1] << 8 |
	       (uint32_t)d->config[off + 2] << 16 | (uint32_t)d->config[off + 3] << 24;
}

static void print_bar(FILE *out, const struct pci_device *d, int n)
{
	const struct pci_bar *b = &d->bars[n];
	static const char *const kinds[] = { "none", "I/O", "memory32", "memory64" };
	unsigned off = n == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BAR0 + 4 * (unsigned)n;
	uint64_t reg = cfg32(d, off);

	if (b->kind == PCI_BAR_MEM64 && n < 5)
		reg |= (uint64_t)cfg32(d, off + 4) << 32;
	if (n == PCI_ROM_SLOT)
		fprintf(out, "  ROM:  ");
	else
		fprintf(out, "  BAR%d: ", n);
	fprintf(out, "%s%s size 0x%" PRIx64 ", register 0x%" PRIx64 ", ", kinds[b->kind],
		b->prefetch ? " prefetchable" : "", b->size, reg);
	if (b->addr == PCI_BAR_UNMAPPED)
		fprintf(out, "not mapped\n");
	else
		fprintf(out, "mapped at 0x%" PRIx64 "-0x%" PRIx64 "\n", b->addr, b->addr + b->size - 1);
}

int mon_info_pci(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct pci_bus *bus = machine_pci_bus(mon_machine(mon));

	if (bus == NULL)
		return mon_error(out, "this machine has no PCI bus");
	for (int devfn = 0; devfn < 256; devfn++) {
		const struct pci_device *d = pci_find(bus, (uint8_t)devfn);
		if (d == NULL)
			continue;
		const uint8_t *c = d->config;
		unsigned cls = (unsigned)c[PCI_CLASS_DEVICE] | (unsigned)c[PCI_CLASS_DEVICE + 1] << 8;
		unsigned cmdr = (unsigned)c[PCI_COMMAND] | (unsigned)c[PCI_COMMAND + 1] << 8;
		fprintf(out, "00:%02x.%d %04x:%04x class %04x prog-if %02x rev %02x: %s (%s)\n",
			devfn >> 3, devfn & 7, c[0] | c[1] << 8, c[2] | c[3] << 8, cls,
			c[PCI_CLASS_PROG], c[PCI_REVISION], class_name(cls), d->name ? d->name : "?");
		fprintf(out, "  command 0x%04x (%s%s%s%s), status 0x%04x\n", cmdr,
			cmdr & PCI_CMD_IO ? "I/O" : "-", cmdr & PCI_CMD_MEMORY ? " memory" : " -",
			cmdr & PCI_CMD_MASTER ? " bus-master" : " -",
			cmdr & PCI_CMD_INTX_DISABLE ? " INTx-disabled" : "",
			c[PCI_STATUS] | c[PCI_STATUS + 1] << 8);
		for (int n = 0; n < 7; n++)
			if (d->bars[n].kind != PCI_BAR_NONE)
				print_bar(out, d, n);
		unsigned pin = c[PCI_INTERRUPT_PIN];
		if (pin >= 1 && pin <= 4) {
			int irq = pci_intx_irq(bus, d);
			fprintf(out, "  IRQ: pin INT%c, line %u, ", 'A' + pin - 1, c[PCI_INTERRUPT_LINE]);
			if (irq >= 0)
				fprintf(out, "routed to ISA IRQ %d", irq);
			else
				fprintf(out, "not routed");
			fprintf(out, ", %s\n", d->irq_level ? "asserted" : "idle");
		}
	}
	return 0;
}

/* ---- info irq ---- */

int mon_info_irq(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);

	fprintf(out, "GSI  ISA IRQ      raised  level\n");
	for (int gsi = 0; gsi < MACHINE_NGSI; gsi++) {
		uint64_t raised;
		int level;
		char isa[8] = "-";
		machine_irq_stat(m, gsi, &raised, &level);
		if (gsi == 2)
			snprintf(isa, sizeof(isa), "0");
		else if (gsi > 0 && gsi < 16)
			snprintf(isa, sizeof(isa), "%d", gsi);
		fprintf(out, "%3d  %-7s %11" PRIu64 "  %d\n", gsi, isa, raised, level);
	}
	return 0;
}
