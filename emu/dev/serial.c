/*
 * serial.c - a 16550A UART.
 *
 * Registers (base + n; DLAB = LCR bit 7): 0 RBR/THR (DLL when DLAB),
 * 1 IER (DLM when DLAB), 2 IIR (read) / FCR (write), 3 LCR, 4 MCR, 5 LSR,
 * 6 MSR, 7 SCR. Transmission is instantaneous: a byte written to THR goes
 * to the back end at once, so LSR.THRE and LSR.TEMT are always set and a
 * THR-empty interrupt is pending right after each write (when enabled).
 * Received bytes are polled from the back end when the guest reads RBR,
 * LSR or IIR, into a 16-byte FIFO. Loopback mode (MCR bit 4) feeds THR
 * into the receiver and reflects MCR's outputs in MSR, as the Linux 8250
 * driver's probe expects. The IRQ line (cfg->irq) follows IIR after every
 * register access; while the received-data interrupt is enabled, a timer
 * polls the back end every 5 ms of guest time so input wakes the guest.
 * The board creates one instance per COM port (base, IRQ and name come
 * from serial_config) and ORs the IRQ outputs of ports sharing a line.
 * Back ends: stdio, file, none, and sockets (dev/charsock.c), all polled
 * without blocking.
 * Saved state: the registers, the receive FIFO and the poll's deadline
 * (the back end is the host's and is not saved).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "machine.h"
#include "dev/charsock.h"
#include "state.h"
#include "dev/serial.h"

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_RLS 0x04
#define IER_MSI 0x08

#define MCR_LOOP 0x10

#define RX_FIFO 16
#define RX_POLL_NS 5000000ull

struct serial {
	struct machine *m;
	struct serial_backend be;
	uint16_t base;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thr_ipending;	/* THR-empty interrupt pending */
	uint8_t rx[RX_FIFO];	/* receive FIFO (1 deep when FIFOs are off) */
	unsigned rx_head, rx_count;
	struct irq irq;
	struct timer *rx_timer;	/* input polling while IER.RDA is set */
	const char *name;	/* "COM1".. (messages, I/O range name) */
	uint64_t rx_poll_at;	/* saved state: the input poll's expiry, 0 = not armed */
};

int serial_backend_check(const char *spec, const char *what, char *err, size_t errlen)
{
	if (spec == NULL || !strcmp(spec, "none") || !strcmp(spec, "null") ||
	    !strcmp(spec, "stdio") || (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0'))
		return 0;
	if (charsock_is_socket(spec))
		return charsock_check(spec, what, err, errlen);
	snprintf(err, errlen, "unknown %s back end '%s' (use stdio, file:PATH, none, "
		 "tcp:HOST:PORT[,server][,nowait] or unix:PATH[,server][,nowait])", what, spec);
	return -1;
}

#define F(m, f) STATE_FIELD(struct serial, m, f)
static const struct state_field serial_fields[] = {
	F(ier, SF_HEX), F(lcr, SF_HEX), F(mcr, SF_HEX), F(lsr, SF_HEX), F(msr, SF_HEX),
	F(scr, SF_HEX), F(fcr, SF_HEX), F(dll, SF_HEX), F(dlm, SF_HEX), F(thr_ipending, SF_BOOL),
	STATE_ARRAY(struct serial, rx, SF_HEX), F(rx_head, SF_DEC), F(rx_count, SF_DEC),
	F(rx_poll_at, SF_DEC), STATE_END,
};
#undef F

int serial_backend_open(struct serial_backend *b, const char *spec, const char *what,
			char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->in_fd = -1;
	if (serial_backend_check(spec, what, err, errlen) < 0)
		return -1;
	if (spec == NULL || strcmp(spec, "none") == 0 || strcmp(spec, "null") == 0)
		return 0;
	if (charsock_is_socket(spec)) {
		b->sock = charsock_open(spec, what, err, errlen);
		return b->sock ? 0 : -1;
	}
	if (strcmp(spec, "stdio") == 0) {
		b->out = stdout;
		b->in_fd = STDIN_FILENO;
		return 0;
	}
	if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
		b->out = fopen(spec + 5, "w");
		if (b->out == NULL) {
			snprintf(err, errlen, "cannot open '%s' for %s output: %s", spec + 5, what,
				 strerror(errno));
			return -1;
		}
		b->close_out = true;
		return 0;
	}
	snprintf(err, errlen, "cannot open %s back end '%s'", what, spec);
	return -1;
}

void serial_backend_close(struct serial_backend *b)
{
	charsock_close(b->sock);
	b->sock = NULL;
	if (b->out) {
		fflush(b->out);
		if (b->close_out)
			fclose(b->out);
	}
	b->out = NULL;
	b->in_fd = -1;
}

void serial_backend_putc(struct serial_backend *b, uint8_t c)
{
	if (b->sock)
		charsock_write(b->sock, c);
	if (b->out == NULL)
		return;
	/* Unbuffered: a prompt without a newline must reach a pipe or a
	 * log at once (a serial line is slow anyway: one I/O exit a byte). */
	fputc(c, b->out);
	fflush(b->out);
}

int serial_backend_getc(struct serial_backend *b)
{
	struct pollfd p;
	uint8_t c;

	if (b->sock)
		return charsock_read(b->sock);
	if (b->in_fd < 0 || b->in_eof)
		return -1;
	p.fd = b->in_fd;
	p.events = POLLIN;
	if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLIN | POLLHUP)))
		return -1;
	if (read(b->in_fd, &c, 1) != 1) {
		b->in_eof = true;
		return -1;
	}
	return c;
}

bool serial_backend_has_input(const struct serial_backend *b)
{
	return b->sock || (b->in_fd >= 0 && !b->in_eof);
}

static unsigned rx_capacity(const struct serial *s)
{
	return (s->fcr & 1) ? RX_FIFO : 1;
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count >= rx_capacity(s)) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO] = c;
	s->rx_count++;
}

/* Pulls input from the back end into the FIFO (not in loopback mode). */
static void rx_poll(struct serial *s)
{
	if (s->mcr & MCR_LOOP)
		return;
	while (s->rx_count < rx_capacity(s)) {
		int c = serial_backend_getc(&s->be);
		if (c < 0)
			break;
		rx_push(s, (uint8_t)c);
	}
}

static uint8_t lsr_value(const struct serial *s)
{
	return (uint8_t)(s->lsr | LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0));
}

/* Interrupt identification by priority (16550A data sheet, table 4). */
static uint8_t iir_value(const struct serial *s)
{
	uint8_t fifo = (s->fcr & 1) ? 0xc0 : 0;

	if ((s->ier & IER_RLS) && (s->lsr & LSR_OE))
		return fifo | 0x06;
	if ((s->ier & IER_RDA) && s->rx_count)
		return fifo | 0x04;
	if ((s->ier & IER_THRE) && s->thr_ipending)
		return fifo | 0x02;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		return fifo | 0x00;
	return fifo | 0x01;
}

bool serial_irq_level(const struct serial *s)
{
	return (iir_value(s) & 1) == 0;
}

/* Drives the line from IIR and keeps the input poll armed while needed. */
static void serial_update(struct serial *s)
{
	irq_set(&s->irq, serial_irq_level(s));
	if ((s->ier & IER_RDA) && serial_backend_has_input(&s->be)) {
		if (!timer_pending(s->rx_timer))
			timer_mod(s->rx_timer, clock_ns(s->m) + RX_POLL_NS);
	} else {
		timer_del(s->rx_timer);
	}
}

static void serial_rx_timer(void *opaque)
{
	struct serial *s = opaque;

	rx_poll(s);
	serial_update(s);
}

static uint8_t msr_value(const struct serial *s)
{
	if (s->mcr & MCR_LOOP) {
		uint8_t v = 0;
		v |= (s->mcr & 0x01) ? 0x20 : 0;	/* DTR -> DSR */
		v |= (s->mcr & 0x02) ? 0x10 : 0;	/* RTS -> CTS */
		v |= (s->mcr & 0x04) ? 0x40 : 0;	/* OUT1 -> RI */
		v |= (s->mcr & 0x08) ? 0x80 : 0;	/* OUT2 -> DCD */
		return v | (s->msr & 0x0f);
	}
	return 0xb0 | (s->msr & 0x0f);	/* DCD, DSR, CTS: a connected line */
}

static uint8_t serial_read8(struct serial *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case 0:
		if (s->lcr & 0x80)
			return s->dll;
		rx_poll(s);
		if (s->rx_count == 0)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO;
		s->rx_count--;
		return v;
	case 1:
		return (s->lcr & 0x80) ? s->dlm : s->ier;
	case 2:
		rx_poll(s);
		v = iir_value(s);
		if ((v & 0x0f) == 0x02)
			s->thr_ipending = false;	/* reading IIR clears THRE */
		return v;
	case 3:
		return s->lcr;
	case 4:
		return s->mcr;
	case 5:
		rx_poll(s);
		v = lsr_value(s);
		s->lsr &= (uint8_t)~LSR_OE;
		return v;
	case 6:
		v = msr_value(s);
		s->msr &= 0xf0;	/* delta bits clear on read */
		return v;
	default:
		return s->scr;
	}
}

static void serial_write8(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case 0:
		if (s->lcr & 0x80) {
			s->dll = v;
			return;
		}
		if (s->mcr & MCR_LOOP)
			rx_push(s, v);
		else
			serial_backend_putc(&s->be, v);
		s->thr_ipending = true;	/* sent at once: THR empty again */
		return;
	case 1:
		if (s->lcr & 0x80) {
			s->dlm = v;
			return;
		}
		if ((v & IER_THRE) && !(s->ier & IER_THRE))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		return;
	case 2:
		if ((v ^ s->fcr) & 1)
			s->rx_count = 0;	/* enabling/disabling FIFOs clears them */
		if (v & 0x02)
			s->rx_count = 0;	/* clear receive FIFO */
		s->fcr = v & 0xc9;
		return;
	case 3:
		s->lcr = v;
		return;
	case 4:
		s->mcr = v & 0x1f;
		return;
	case 5:
		return;	/* LSR is read-only (factory test) */
	case 6:
		return;
	default:
		s->scr = v;
		return;
	}
}

static uint32_t serial_io_read(void *opaque, uint16_t port, unsigned size)
{
	struct serial *s = opaque;
	uint32_t v = 0;

	for (unsigned k = 0; k < size; k++)
		v |= (uint32_t)serial_read8(s, (uint16_t)(port + k - s->base) & 7) << (8 * k);
	serial_update(s);
	return v;
}

static void serial_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct serial *s = opaque;

	for (unsigned k = 0; k < size; k++)
		serial_write8(s, (uint16_t)(port + k - s->base) & 7, (uint8_t)(value >> (8 * k)));
	serial_update(s);
}

void serial_reset(struct serial *s)
{
	s->ier = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->lsr = 0;
	s->msr = 0;
	s->scr = 0;
	s->fcr = 0;
	s->dll = 0x0c;	/* 9600 baud */
	s->dlm = 0;
	s->thr_ipending = false;
	s->rx_head = s->rx_count = 0;
	serial_update(s);
}

static void serial_pre_save(void *base)
{
	struct serial *s = base;

	s->rx_poll_at = timer_pending(s->rx_timer) ? timer_expire(s->rx_timer) : 0;
}

static void serial_post_load(void *base)
{
	struct serial *s = base;

	s->rx_head %= RX_FIFO;
	if (s->rx_count > RX_FIFO)
		s->rx_count = RX_FIFO;
	if (s->rx_poll_at)
		timer_mod(s->rx_timer, s->rx_poll_at);
	else
		timer_del(s->rx_timer);
	serial_update(s);	/* the IRQ line; drops the poll when this back end has no input */
}

struct serial *serial_create(struct machine *m, const struct serial_config *cfg,
			     char *err, size_t errlen)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory creating the serial port");
		return NULL;
	}
	s->m = m;
	s->irq = cfg->irq;
	s->rx_timer = timer_new(m, serial_rx_timer, s);	/* NULL without a clock: no polling */
	s->base = cfg->base ? cfg->base : 0x3f8;
	s->name = cfg->name ? cfg->name : "serial";
	if (serial_backend_open(&s->be, cfg->backend, s->name, err, errlen) < 0) {
		free(s);
		return NULL;
	}
	if (machine_add_io(m, s->base, 8, serial_io_read, serial_io_write, s, s->name) < 0) {
		snprintf(err, errlen, "cannot claim I/O ports 0x%x-0x%x for %s",
			 s->base, s->base + 7, s->name);
		serial_backend_close(&s->be);
		free(s);
		return NULL;
	}
	serial_reset(s);
	char name[24];
	snprintf(name, sizeof(name), "serial@%x", s->base);
	if (machine_register_state(m, &(struct state_section){
		    .name = name, .version = 1, .fields = serial_fields, .base = s,
		    .pre_save = serial_pre_save, .post_load = serial_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the serial port's state");
		(void)machine_remove_io(m, s->base, 8);
		serial_backend_close(&s->be);
		free(s);
		return NULL;
	}
	return s;
}

void serial_destroy(struct serial *s)
{
	if (s == NULL)
		return;
	serial_backend_close(&s->be);
	free(s);
}
