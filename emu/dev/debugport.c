/*
 * debugport.c - the ports test programs and firmware use to talk to us.
 *
 *  0xE9  debug console: each byte written goes to the debugcon back end;
 *        reads return 0xE9 (so a guest can detect the port, as with Bochs
 *        and QEMU).
 *  0xF4  isa-debug-exit: "out 0xF4, v" (any size) ends the emulator with
 *        exit status (v << 1) | 1, as QEMU's isa-debug-exit device does.
 *        Test programs write 0 for success, so status 1 means PASS.
 *  0x80  POST diagnostic port: writes are logged under "-d post".
 */
#include <stdlib.h>

#include "machine.h"
#include "dev/debugport.h"
#include "dev/serial.h"

struct debugport {
	struct machine *m;
	struct serial_backend con;
};

static uint32_t con_read(void *opaque, uint16_t port, unsigned size)
{
	return 0xe9;
}

static void con_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct debugport *d = opaque;

	for (unsigned k = 0; k < size; k++)
		serial_backend_putc(&d->con, (uint8_t)(value >> (8 * k)));
}

static uint32_t exit_read(void *opaque, uint16_t port, unsigned size)
{
	return 0;
}

static void exit_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct debugport *d = opaque;
	uint32_t v = size >= 4 ? value : value & ((1u << (8 * size)) - 1);

	if (d->con.out)
		fflush(d->con.out);
	machine_request_exit(d->m, (int)((v << 1) | 1));
}

static void post_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct debugport *d = opaque;

	if (log_on(&d->m->log, LOG_POST))
		log_printf(&d->m->log, "POST: 0x%02x\n", value & 0xff);
}

struct debugport *debugport_create(struct machine *m, const struct debugport_config *cfg,
				   char *err, size_t errlen)
{
	struct debugport *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		snprintf(err, errlen, "out of memory creating the debug ports");
		return NULL;
	}
	d->m = m;
	if (serial_backend_open(&d->con, cfg->debugcon, "debugcon", err, errlen) < 0) {
		free(d);
		return NULL;
	}
	d->con.in_fd = -1;	/* the debug console is output only */
	if (machine_add_io(m, 0xe9, 1, con_read, con_write, d, "debugcon") < 0 ||
	    machine_add_io(m, 0xf4, 1, exit_read, exit_write, d, "isa-debug-exit") < 0 ||
	    machine_add_io(m, 0x80, 1, NULL, post_write, d, "post") < 0) {
		snprintf(err, errlen, "cannot claim the debug I/O ports 0xE9, 0xF4 and 0x80");
		serial_backend_close(&d->con);
		free(d);
		return NULL;
	}
	return d;
}

void debugport_destroy(struct debugport *d)
{
	if (d == NULL)
		return;
	serial_backend_close(&d->con);
	free(d);
}
