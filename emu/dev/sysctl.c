/*
 * sysctl.c - System Control Port A (0x92) and the Reset Control Register
 * (0xCF9).
 *
 * 0x92: bit 1 opens the A20 gate (machine_set_a20, input A20_PORT92;
 * ORed with the keyboard controller's), bit 0 written 0 -> 1 resets the CPU
 * (fast reset) and reads back as written until the reset clears it;
 * other bits read back as written.
 *
 * 0xCF9 (PIIX4 / ICH): bit 1 selects a hard (1) or soft (0) reset, bit 2
 * (RST_CPU) set by a write starts the reset, bit 3 asks for a full reset
 * (power cycle). All of them reset the machine here (machine_request_reset);
 * bits 1 and 3 read back, bit 2 reads 0.
 *
 * 0xF0 (PC/AT coprocessor error clear, write-only): an x87 error signalled
 * on FERR# with CR0.NE = 0 holds IRQ 13 high (x87.c raises GSI 13); any
 * write here drops it, as the chipset's FERR# latch is cleared (the
 * IGNNE# side is not modelled: the x87 never freezes).
 */
#include <stdlib.h>

#include "machine.h"
#include "state.h"
#include "dev/irq.h"
#include "dev/sysctl.h"

struct sysctl {
	struct machine *m;
	uint8_t port92;
	uint8_t rcr;	/* 0xCF9 bits 1 and 3 */
};

static uint32_t port92_read(void *opaque, uint16_t port, unsigned size)
{
	struct sysctl *s = opaque;

	return s->port92;
}

static void port92_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct sysctl *s = opaque;
	uint8_t old = s->port92, v = (uint8_t)value;

	s->port92 = v;
	machine_set_a20(s->m, A20_PORT92, v & 2);
	if ((v & 1) && !(old & 1))
		machine_request_reset(s->m, "fast reset through port 0x92");
}

static uint32_t rcr_read(void *opaque, uint16_t port, unsigned size)
{
	struct sysctl *s = opaque;

	return s->rcr;
}

static void rcr_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct sysctl *s = opaque;

	s->rcr = value & 0x0a;
	if (value & 4)
		machine_request_reset(s->m, (value & 8) ? "full reset through port 0xCF9"
					    : (value & 2) ? "hard reset through port 0xCF9"
							  : "soft reset through port 0xCF9");
}

static void ferr_clear_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct sysctl *s = opaque;

	machine_set_gsi(s->m, 13, 0);
}

static const struct state_field sysctl_fields[] = {
	STATE_FIELD(struct sysctl, port92, SF_HEX), STATE_FIELD(struct sysctl, rcr, SF_HEX),
	STATE_END,
};

static void sysctl_post_load(void *base)
{
	struct sysctl *s = base;

	machine_set_a20(s->m, A20_PORT92, s->port92 & 2);
}

void sysctl_reset(struct sysctl *s)
{
	s->port92 = 0;
	s->rcr = 0;
	machine_set_a20(s->m, A20_PORT92, false);
}

struct sysctl *sysctl_create(struct machine *m, char *err, size_t errlen)
{
	struct sysctl *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory creating the system control ports");
		return NULL;
	}
	s->m = m;
	if (machine_add_io(m, 0x92, 1, port92_read, port92_write, s, "port92") < 0 ||
	    machine_add_io(m, 0xcf9, 1, rcr_read, rcr_write, s, "reset-control") < 0 ||
	    machine_add_io(m, 0xf0, 1, NULL, ferr_clear_write, s, "ferr-clear") < 0) {
		snprintf(err, errlen, "cannot claim I/O ports 0x92, 0xCF9 and 0xF0 for system control");
		free(s);
		return NULL;
	}
	sysctl_reset(s);
	if (machine_register_state(m, &(struct state_section){
		    .name = "sysctl", .version = 1, .fields = sysctl_fields, .base = s,
		    .post_load = sysctl_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the system control state");
		free(s);
		return NULL;
	}
	return s;
}

void sysctl_destroy(struct sysctl *s)
{
	free(s);
}
