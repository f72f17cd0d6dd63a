/*
 * machine.h - the PC: memory map, vCPUs, I/O ports, devices and the run loop.
 *
 * struct machine owns everything (no globals): RAM and the memory map,
 * the vCPUs, the block cache they share, the I/O port table, devices,
 * logging and the exit status. Several machines can live in one process.
 */
#ifndef NESTEMU_MACHINE_H
#define NESTEMU_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "cpu/cpu.h"
#include "cpu/cpuid.h"
#include "mmu/mmu.h"
#include "dev/ide.h"

struct block_cache;
struct clock;
struct pic;
struct monitor;
struct state_registry;

typedef uint32_t (*io_read_fn)(void *opaque, uint16_t port, unsigned size);
typedef void (*io_write_fn)(void *opaque, uint16_t port, uint32_t value, unsigned size);

struct io_range {
	uint16_t base;
	uint16_t count;
	io_read_fn read;
	io_write_fn write;
	void *opaque;
	const char *name;
};

#define MACHINE_MAX_IO 64
#define MACHINE_MAX_CPUS 64

/* Why the run loop stopped. */
enum machine_stop {
	STOP_NONE,
	STOP_EXIT,		/* isa-debug-exit or power-off: exit_status is set */
	STOP_RESET,		/* reset requested (triple fault, 0xCF9, ...) */
	STOP_HALTED,		/* every vCPU halted with interrupts off */
	STOP_ERROR,		/* emulator could not continue: message printed */
	STOP_ICOUNT,		/* cfg.icount_limit instructions retired */
	STOP_PAUSED,		/* m->paused: stopped by the monitor (or a breakpoint) */
};

/* machine->a20 inputs: the keyboard controller's output port, port 0x92. */
#define A20_I8042 1u
#define A20_PORT92 2u

struct machine_config {
	uint64_t ram_size;
	int ncpus;
	const char *cpu_spec;	/* "-cpu MODEL[,+f,-f]" */
	bool no_reboot;		/* reset request ends the run (status 0 by default) */
	uint64_t icount_limit;	/* 0 = unlimited: stop after this many instructions */
	const char *serial;	/* COM1 back end: "stdio", "file:PATH", "none" (NULL = none) */
	const char *serial_more[3];	/* COM2-COM4 back ends; NULL: the port does not exist */
	const char *debugcon;	/* port 0xE9 back end, same syntax (NULL = none) */
	bool icount;		/* -icount: guest time = instructions << icount_shift */
	unsigned icount_shift;
	/* IDE drives by index 2 * channel + unit (dev/ide.h); machine_create takes
	 * ownership of their block back ends, also when it fails. */
	struct ide_drive_config drives[IDE_DRIVES];
	const char *boot_order;	/* -boot order letters: c disks, d CD-ROMs (NULL = "cad") */
	const char *vga;	/* "std" (PCI std-vga at 00:02.0) or "none" (NULL = none) */
	const char *vga_bios;	/* VGA BIOS image for the card's ROM BAR, or NULL for none */
	const char *vga_font;	/* direct boot: VGA BIOS whose font the card starts text mode 3 with, or NULL */
	const char *display;	/* display back end: "sdl" or "none" (NULL = none) */
	const char *const *devices;	/* -device arguments (emu/devices.h), created in order */
	int ndevices;
	const char *option_rom;	/* -option-rom: file given to the firmware as fw_cfg genroms/NAME, or NULL */
};

struct machine {
	struct machine_config cfg;
	struct memmap mem;
	struct cpu *cpus[MACHINE_MAX_CPUS];
	int ncpus;
	struct block_cache *bc;
	struct io_range io[MACHINE_MAX_IO];
	int nio;
	struct log log;

	/* Interrupt controller hook: returns the vector of the interrupt the
	 * CPU acknowledges, or -1 when none is pending (spurious). */
	int (*intr_ack)(struct machine *m, struct cpu *cpu);
	void *intr_opaque;

	enum machine_stop stop;
	int exit_status;
	bool reset_pending;
	void *devices;		/* board-private device state (machine.c) */
	struct cpu *current;	/* vCPU inside cpu_run (per-CPU MMIO such as the LAPIC), or NULL */
	uint8_t *op_seen;	/* tests: opcode-table entries decoded (coverage), or NULL */

	/* Platform time and legacy interrupts (clock.h, dev/pic.h, dev/irq.h). */
	struct clock *clock;	/* guest time and timers; NULL on bare test machines */
	struct pic *pic;	/* the 8259 pair, or NULL */
	struct ide *ide;	/* the PIIX IDE controller (dev/ide.h), or NULL */
	/* IOAPIC input hook: machine_set_gsi/machine_set_isa_irq call it with the GSI. */
	void (*ioapic_set_irq)(void *opaque, int gsi, int level);
	void *ioapic_opaque;
	bool nmi_mask;		/* port 0x70 bit 7: platform NMIs masked */
	uint8_t a20;		/* A20 gate inputs (A20_*), open when nonzero (machine_set_a20) */
	uint64_t a20_clear;	/* 0, or 1 << 20 while the gate is closed: CPU physical addresses drop it */

	/* Monitor and snapshots (monitor/monitor.h, emu/state.h). */
	struct monitor *monitor;	/* the monitor, or NULL; freed by machine_destroy */
	void (*monitor_poll)(struct machine *m);	/* run between CPU slices, or NULL */
	/* Non-NULL while breakpoints/watchpoints exist: machine_run then runs
	 * one step at a time and calls it before each; true pauses the machine. */
	bool (*monitor_break)(struct machine *m, struct cpu *cpu);
	/* Data access seen while cpu->mon_watch (from cpu_debug_data). */
	void (*monitor_watch)(struct machine *m, struct cpu *cpu, uint64_t linear, unsigned size,
			      unsigned kind);
	bool paused;		/* stopped: machine_run returns STOP_PAUSED at once */
	struct state_registry *state;	/* saved-state sections (emu/state.h) */
	uint64_t ram_resize;	/* nonzero: RAM size machine_reset switches to */
	uint8_t virt_pending;	/* 0 none, else 1 + on: expose VMX/SVM at the next machine_reset */
};

/* Creation and teardown. Returns NULL with a message in err on failure. */
struct machine *machine_create(const struct machine_config *cfg, char *err, size_t errlen);
void machine_destroy(struct machine *m);
void machine_reset(struct machine *m);

/* I/O port space. Unclaimed ports read all-ones and ignore writes. */
int machine_add_io(struct machine *m, uint16_t base, uint16_t count, io_read_fn rd,
		   io_write_fn wr, void *opaque, const char *name) __attribute__((warn_unused_result));
/* Releases a range claimed with exactly this base and count (PCI I/O BAR moves). 0 or -ENOENT. */
int machine_remove_io(struct machine *m, uint16_t base, uint16_t count);
uint32_t machine_io_in(struct machine *m, uint16_t port, unsigned size);
void machine_io_out(struct machine *m, uint16_t port, uint32_t value, unsigned size);

/*
 * Drives one A20 gate input (A20_I8042, A20_PORT92). While every input is
 * closed, bit 20 of each physical address the CPUs use (fetch, data, page
 * walks; not DMA) is forced to 0; a change flushes every vCPU's TLB.
 */
void machine_set_a20(struct machine *m, uint8_t input, bool open);

/* Requests from devices and the CPU. */
void machine_request_exit(struct machine *m, int status);
void machine_request_reset(struct machine *m, const char *why);

/* Runs the vCPUs until something stops the machine. */
enum machine_stop machine_run(struct machine *m);
/*
 * Runs only `cpu` until it has retired n more instructions (STOP_PAUSED,
 * m->paused set), as machine_run runs it: timers fire, interrupts arrive,
 * the instructions count towards -max-insns, and a halted vCPU waits for
 * its next interrupt, for at most one second of guest time (STOP_HALTED).
 * Breakpoints and a machine reset end it too; m->monitor_poll is not called.
 */
enum machine_stop machine_step(struct machine *m, struct cpu *cpu, uint64_t n);

/*
 * A boot hook run by machine_reset() after the CPUs are reset (direct
 * kernel boot re-enters the kernel on every reset); free_fn(opaque) runs
 * at machine_destroy. Replaces any earlier hook.
 */
void machine_set_boot(struct machine *m, void (*boot)(struct machine *m, void *opaque),
		      void (*free_fn)(void *opaque), void *opaque);
/* Instructions retired by machine_run so far (all vCPUs). */
uint64_t machine_icount(const struct machine *m);

/* The console (dev/display.h): VGA picture, host input; NULL on bare machines. */
struct display;
struct display *machine_display(struct machine *m);
/* The board's devices, for the monitor; NULL when the machine has none. */
struct pci_bus;
struct ioapic;
struct acpi_pm;
struct pci_bus *machine_pci_bus(const struct machine *m);
struct fw_cfg;
struct fw_cfg *machine_fw_cfg(const struct machine *m);
struct ioapic *machine_ioapic(const struct machine *m);
struct acpi_pm *machine_acpi_pm(const struct machine *m);

#endif
