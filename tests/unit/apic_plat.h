/*
 * apic_plat.h - a small interrupt platform for the LAPIC, IOAPIC, HPET
 * and ACPI PM tests: a machine with N vCPUs (APs in wait-for-SIPI), RAM,
 * a manual clock (time moves only by clock_set_ns), the LAPICs and an
 * IOAPIC wired for EOI broadcast, but no board, so tests drive devices
 * through their handlers and read the results off the LAPICs.
 */
#ifndef NESTEMU_TEST_APIC_PLAT_H
#define NESTEMU_TEST_APIC_PLAT_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "emu/clock.h"
#include "emu/machine.h"
#include "emu/cpu/block.h"
#include "emu/cpu/cpuid.h"
#include "emu/dev/ioapic.h"
#include "emu/dev/lapic.h"
#include "emu/mmu/mmu.h"
#include "emu/state.h"

#define PLAT_RAM (16ull << 20)

struct plat {
	struct machine *m;
	struct lapic_bus *bus;
	struct ioapic *io;
};

static inline struct plat *plat_new(int ncpus)
{
	struct plat *p = calloc(1, sizeof(*p));
	struct machine *m = calloc(1, sizeof(*m));
	char err[200] = "";
	const struct cpu_model *model = cpu_model_find("skylake");

	cr_assert(p && m && model);
	m->log.out = stderr;
	m->cfg.ram_size = PLAT_RAM;
	m->cfg.ncpus = ncpus;
	cr_assert_eq(memmap_init(&m->mem, PLAT_RAM), 0);
	cr_assert_eq(memmap_add_ram(&m->mem, 0, PLAT_RAM, 0, "ram"), 0);
	m->bc = bc_create();
	for (int i = 0; i < ncpus; i++) {
		struct cpu *c = calloc(1, sizeof(*c));
		cr_assert(c);
		cr_assert_eq(cpu_init(c, m, i, model), 0);
		c->bc = m->bc;
		if (i > 0)
			c->sipi_wait = c->halted = true;
		m->cpus[i] = c;
		m->ncpus = i + 1;
	}
	m->clock = clock_create(m, CLOCK_MANUAL, 0);
	cr_assert(m->clock);
	p->m = m;
	p->bus = lapic_bus_create(m, err, sizeof(err));
	cr_assert(p->bus, "%s", err);
	m->intr_ack = lapic_intr_ack;
	p->io = ioapic_create(m, p->bus, 0, err, sizeof(err));
	cr_assert(p->io, "%s", err);
	lapic_bus_set_eoi_hook(p->bus, ioapic_eoi, p->io);
	return p;
}

static inline void plat_free(struct plat *p)
{
	struct machine *m = p->m;
	ioapic_destroy(p->io);
	lapic_bus_destroy(p->bus);
	clock_destroy(m->clock);
	state_registry_free(m->state);
	for (int i = 0; i < m->ncpus; i++) {
		cpu_destroy(m->cpus[i]);
		free(m->cpus[i]);
	}
	bc_destroy(m->bc);
	memmap_destroy(&m->mem);
	free(m);
	free(p);
}

static inline struct lapic *plat_apic(struct plat *p, int i)
{
	return p->m->cpus[i]->lapic;
}

/* Software-enables LAPIC i (SVR = 0x1FF). */
static inline void plat_enable(struct plat *p, int i)
{
	lapic_reg_write(plat_apic(p, i), 0xf0, 0x1ff);
}

/* Is vector v set in the 256-bit register at base (0x100 ISR, 0x180 TMR, 0x200 IRR)? */
static inline bool plat_bit(struct plat *p, int i, uint32_t base, int v)
{
	return (lapic_reg_read(plat_apic(p, i), base + (uint32_t)(v / 32) * 16) >> (v % 32)) & 1;
}

#endif
