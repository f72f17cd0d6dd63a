/*
 * lapic.h - the local APICs (one per vCPU) and the APIC bus between them,
 * the IOAPIC and MSI writers (SDM Vol. 3 ch. 10 "Advanced Programmable
 * Interrupt Controller").
 *
 * lapic_bus_create() builds one LAPIC per vCPU (cpu->lapic), maps the
 * xAPIC register page at each CPU's IA32_APIC_BASE (0xFEE00000 after
 * reset; relocations follow WRMSR) and answers the x2APIC MSRs
 * 0x800-0x8FF and IA32_TSC_DEADLINE through msr.c's hooks. The board
 * installs lapic_intr_ack() as m->intr_ack: while a vCPU's APIC is
 * hardware-enabled its INTR line comes from its LAPIC, which merges
 * fixed interrupts (IRR/ISR/PPR) and the 8259's output on LINT0 in
 * ExtINT mode; with IA32_APIC_BASE.EN = 0 the 8259 output goes straight
 * to the CPU (SDM 10.4.3).
 *
 * Time: the LAPIC timer counts at LAPIC_BUS_HZ divided by the divide
 * configuration; TSC-deadline mode converts TSC ticks to guest time at
 * LAPIC_TSC_HZ (the nominal TSC rate the clock and CPUID report) and
 * fires on guest time, so a halted vCPU still wakes.
 */
#ifndef NESTEMU_DEV_LAPIC_H
#define NESTEMU_DEV_LAPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct cpu;
struct lapic;
struct lapic_bus;

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_BUS_HZ 1000000000ull	/* timer input before the divider: 1 ns per tick */
#define LAPIC_TSC_HZ 1000000000ull	/* TSC rate for TSC-deadline mode (= MSR_TSC_HZ) */
/* Version register: version 0x14, max LVT entry 5 (timer, thermal, perf,
 * LINT0, LINT1, error), EOI-broadcast suppression supported (bit 24). */
#define LAPIC_VERSION 0x01050014u

/* Delivery modes (ICR, LVT, IOAPIC redirection entries, MSI data). */
enum apic_dm {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands. */
enum apic_shorthand { APIC_SH_NONE, APIC_SH_SELF, APIC_SH_ALL, APIC_SH_OTHERS };

/* One interrupt message on the APIC bus. */
struct apic_msg {
	uint8_t vector;
	uint8_t mode;		/* enum apic_dm */
	bool logical;		/* destination mode: logical (else physical) */
	bool level;		/* trigger mode: level (sets TMR; EOI is broadcast) */
	bool assert;		/* level bit of an IPI: false only for INIT de-assert */
	uint8_t shorthand;	/* enum apic_shorthand (IPIs only) */
	uint32_t dest;		/* 8-bit (xAPIC, IOAPIC, MSI) or 32-bit (x2APIC) */
	struct lapic *src;	/* sender for SELF/OTHERS shorthands, or NULL */
};

/* Creates the LAPICs of every vCPU of m and maps their MMIO page. */
struct lapic_bus *lapic_bus_create(struct machine *m, char *err, size_t errlen);
void lapic_bus_destroy(struct lapic_bus *bus);
/* Power-on reset of every LAPIC (after cpu_reset: reads IA32_APIC_BASE). */
void lapic_bus_reset(struct lapic_bus *bus);

/* Level-triggered EOI broadcast to the IOAPIC (vector of the EOI). */
void lapic_bus_set_eoi_hook(struct lapic_bus *bus, void (*fn)(void *opaque, int vector),
			    void *opaque);
/* The 8259's INTA cycle for ExtINT: returns the vector, or -1. */
void lapic_bus_set_extint(struct lapic_bus *bus, int (*ack)(void *opaque), void *opaque);
/* The 8259's INTR output, wired to LINT0 of every LAPIC (pin 0) and the
 * NMI input to LINT1 (pin 1). */
void lapic_bus_set_lint(struct lapic_bus *bus, int pin, int level);

/* Sends a message (IOAPIC, MSI, IPI) to the LAPICs it addresses. */
void lapic_bus_deliver(struct lapic_bus *bus, const struct apic_msg *msg);

/* The CPU interface: m->intr_ack (opaque: the bus in m->intr_opaque). */
int lapic_intr_ack(struct machine *m, struct cpu *cpu);
/* The run loop calls this before running or skipping a vCPU: hands over
 * a SIPI that arrived before the vCPU processed its INIT. */
void lapic_poll(struct cpu *cpu);
/* True when the vCPU has a maskable interrupt it would take with IF = 1
 * (the run loop's wake-up test for HLT). */
bool lapic_intr_pending(struct cpu *cpu);

/* Register access (offset within the 4 KiB page, 32-bit registers), as
 * the MMIO page does for the vCPU m->current: for tests and the monitor. */
uint32_t lapic_reg_read(struct lapic *s, uint32_t offset);
void lapic_reg_write(struct lapic *s, uint32_t offset, uint32_t value);

/* The TPR was written through CR8 (system.c calls this weakly). */
void lapic_tpr_written(struct cpu *cpu);
/* IA32_APIC_BASE changed (msr.c calls this weakly): relocation, global
 * enable/disable, x2APIC switch. */
void lapic_base_written(struct cpu *cpu, uint64_t old);

/* MSR hooks declared by msr.h: x2APIC registers and IA32_TSC_DEADLINE. */
int lapic_msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val);
int lapic_msr_write(struct cpu *cpu, uint32_t idx, uint64_t val);

#endif
