/*
 * i8042.c - 8042 keyboard controller, PS/2 keyboard and PS/2 mouse.
 *
 * The controller has one output buffer byte (status bit 0, bit 5 when it
 * holds mouse data). It is refilled, in this order, from the controller's
 * own replies, the keyboard's queue (unless the keyboard interface is
 * disabled, command byte bit 4) and the mouse's queue (unless bit 5).
 * IRQ 1 is "keyboard byte in the buffer and command byte bit 0", IRQ 12
 * "mouse byte and bit 1"; reading port 0x60 empties the buffer, which
 * lowers the line and refills it (a fresh edge for the next byte).
 *
 * Controller commands (port 0x64): 0x20-0x3F read RAM (0x20 the command
 * byte), 0x60-0x7F write RAM, 0xA7/0xA8 aux off/on, 0xA9 aux test,
 * 0xAA self-test (0x55), 0xAB keyboard test, 0xAD/0xAE keyboard off/on,
 * 0xC0 input port, 0xD0/0xD1 read/write output port, 0xD2/0xD3 write the
 * keyboard/mouse output buffer, 0xD4 write to the mouse, 0xDD/0xDF A20
 * off/on, 0xE0 test inputs, 0xF0-0xFF pulse output bits (bit 0 clear
 * pulses the CPU reset line: machine_request_reset).
 *
 * Output port: bit 0 is the reset line (writing 0 resets), bit 1 the A20
 * gate (machine_set_a20, input A20_I8042: with port 0x92's bit also
 * clear, CPU addresses wrap at 1 MiB), bits 4/5 the buffer-full lines. A20 starts
 * enabled, as on QEMU.
 *
 * Keyboard: reset 0xFF (0xFA 0xAA), LEDs 0xED, echo 0xEE, scan code set
 * 0xF0, identify 0xF2 (0xAB 0x83, or 0x41 when translating), typematic
 * 0xF3, enable/disable/defaults 0xF4-0xF6, resend 0xFE; unknown commands
 * get 0xFE. Key events are produced in set 1, or set 2 (also for set 3,
 * which is not modelled separately); the controller's translation
 * (command byte bit 6) turns set 2 into set 1 as the 8042's table does.
 *
 * Mouse: reset 0xFF (0xFA 0xAA 0x00), stream/remote/wrap modes, sample
 * rate (200, 100, 80 switches to the IntelliMouse ID 3 with a wheel
 * byte), resolution, scaling, status 0xE9, read data 0xEB, ID 0xF2.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "machine.h"
#include "state.h"
#include "dev/i8042.h"

#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_CMD 0x08
#define ST_UNLOCKED 0x10
#define ST_AUX 0x20

#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS 0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20
#define CB_XLATE 0x40

#define OUT_RESET 0x01
#define OUT_A20 0x02

#define QLEN 64

struct ps2_queue {
	uint8_t b[QLEN];
	unsigned head, n;
};

struct i8042 {
	struct machine *m;
	struct irq irq1, irq12;
	uint8_t ram[32];	/* ram[0] is the command byte */
	uint8_t outport;
	bool last_cmd;		/* last write went to port 0x64 */
	uint8_t pending;	/* controller command waiting for its data byte */
	uint8_t obuf;
	bool obf, obf_aux;
	struct ps2_queue ctrl, ctrl_aux_flags;	/* replies; a parallel queue marks aux bytes */

	/* keyboard */
	struct ps2_queue kq;
	uint8_t kcmd;		/* command waiting for its parameter */
	uint8_t set;		/* scan code set 1-3 */
	bool scanning;
	uint8_t leds, typematic, klast;
	struct timer *repeat;
	uint16_t repeat_key;

	/* mouse */
	struct ps2_queue mq;
	uint8_t mcmd;
	bool remote, reporting, wrap, scale21;
	uint8_t rate, res, id, buttons;
	uint8_t rates[3];	/* last sample rates, newest last */
};

/* Set 2 -> set 1: the 8042's translation table (IBM PC AT technical reference). */
static const uint8_t xlate[128] = {
	0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
	0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
	0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
	0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
	0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
	0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
	0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
	0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

/* Set 1 make code -> set 2 (inverse of xlate; F7 is the odd one out). */
static uint8_t set1_to_set2(uint8_t c)
{
	if (c == 0x41)
		return 0x83;
	for (unsigned k = 1; k < 128; k++)
		if (xlate[k] == c)
			return (uint8_t)k;
	return 0;
}

static void q_put(struct ps2_queue *q, uint8_t v)
{
	if (q->n >= QLEN)
		return;	/* overflow: dropped */
	q->b[(q->head + q->n++) % QLEN] = v;
}

static int q_get(struct ps2_queue *q)
{
	uint8_t v;

	if (q->n == 0)
		return -1;
	v = q->b[q->head];
	q->head = (q->head + 1) % QLEN;
	q->n--;
	return v;
}

static void update(struct i8042 *k)
{
	uint8_t cb = k->ram[0];

	if (!k->obf) {
		int v;
		if ((v = q_get(&k->ctrl)) >= 0) {
			k->obf_aux = q_get(&k->ctrl_aux_flags) > 0;
			k->obuf = (uint8_t)v;
			k->obf = true;
		} else if (!(cb & CB_KBD_OFF) && (v = q_get(&k->kq)) >= 0) {
			k->obuf = (uint8_t)v;
			k->obf = true;
			k->obf_aux = false;
		} else if (!(cb & CB_AUX_OFF) && (v = q_get(&k->mq)) >= 0) {
			k->obuf = (uint8_t)v;
			k->obf = true;
			k->obf_aux = true;
		}
	}
	irq_set(&k->irq1, k->obf && !k->obf_aux && (cb & CB_KBD_INT));
	irq_set(&k->irq12, k->obf && k->obf_aux && (cb & CB_AUX_INT));
}

static void reply(struct i8042 *k, uint8_t v, bool aux)
{
	q_put(&k->ctrl, v);
	q_put(&k->ctrl_aux_flags, aux);
}

static void set_a20(struct i8042 *k)
{
	machine_set_a20(k->m, A20_I8042, k->outport & OUT_A20);
}

static void write_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v;
	set_a20(k);
	if (!(v & OUT_RESET))
		machine_request_reset(k->m, "keyboard controller reset line");
}

/* ---- Keyboard ---- */

static void kbd_put(struct i8042 *k, uint8_t v)
{
	k->klast = v;
	q_put(&k->kq, v);
}

static void kbd_defaults(struct i8042 *k)
{
	k->set = 2;
	k->typematic = 0x2b;	/* 10.9 characters/s after 500 ms */
	k->leds = 0;
	timer_del(k->repeat);
	k->repeat_key = 0;
}

static bool translating(const struct i8042 *k)
{
	return (k->ram[0] & CB_XLATE) != 0;
}

static void kbd_send_key(struct i8042 *k, uint16_t key, bool down)
{
	uint8_t code = (uint8_t)(key & 0x7f);

	if (key >> 8)
		kbd_put(k, 0xe0);
	if (k->set == 1 || translating(k)) {
		kbd_put(k, (uint8_t)(code | (down ? 0 : 0x80)));
	} else {
		if (!down)
			kbd_put(k, 0xf0);
		kbd_put(k, set1_to_set2(code));
	}
}

static uint64_t typematic_delay_ns(const struct i8042 *k)
{
	return (uint64_t)(((k->typematic >> 5) & 3) + 1) * 250000000ull;
}

static uint64_t typematic_period_ns(const struct i8042 *k)
{
	/* (8 + A) * 2^B * 4.17 ms, A = bits 2-0, B = bits 4-3 */
	return (uint64_t)(8 + (k->typematic & 7)) * (1u << ((k->typematic >> 3) & 3)) * 4170000ull;
}

static void kbd_repeat(void *opaque)
{
	struct i8042 *k = opaque;

	if (!k->repeat_key || !k->scanning)
		return;
	kbd_send_key(k, k->repeat_key, true);
	update(k);
	timer_mod(k->repeat, clock_ns(k->m) + typematic_period_ns(k));
}

void i8042_key_event(struct i8042 *k, uint16_t key, bool down)
{
	if (!k->scanning)
		return;
	kbd_send_key(k, key, down);
	if (down) {
		k->repeat_key = key;
		timer_mod(k->repeat, clock_ns(k->m) + typematic_delay_ns(k));
	} else if (k->repeat_key == key) {
		k->repeat_key = 0;
		timer_del(k->repeat);
	}
	update(k);
}

uint8_t i8042_leds(const struct i8042 *k)
{
	return k->leds;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->kcmd;

	k->kcmd = 0;
	switch (cmd) {
	case 0xed:
		k->leds = v & 7;
		kbd_put(k, 0xfa);
		return;
	case 0xf3:
		k->typematic = v & 0x7f;
		kbd_put(k, 0xfa);
		return;
	case 0xf0:
		kbd_put(k, 0xfa);
		if (v == 0)
			kbd_put(k, translating(k) ? xlate[k->set] : k->set);
		else if (v <= 3)
			k->set = v;
		return;
	default:
		break;
	}
	switch (v) {
	case 0xed:
	case 0xf3:
	case 0xf0:
		k->kcmd = v;
		kbd_put(k, 0xfa);
		break;
	case 0xee:
		kbd_put(k, 0xee);
		break;
	case 0xf2:
		kbd_put(k, 0xfa);
		kbd_put(k, 0xab);
		kbd_put(k, translating(k) ? 0x41 : 0x83);
		break;
	case 0xf4:
		k->scanning = true;
		kbd_put(k, 0xfa);
		break;
	case 0xf5:
		k->scanning = false;
		kbd_defaults(k);
		kbd_put(k, 0xfa);
		break;
	case 0xf6:
		kbd_defaults(k);
		kbd_put(k, 0xfa);
		break;
	case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
		kbd_put(k, 0xfa);	/* set 3 key attributes: accepted, not modelled */
		break;
	case 0xfe:
		q_put(&k->kq, k->klast);
		break;
	case 0xff:
		k->kq.n = 0;
		kbd_defaults(k);
		k->scanning = true;
		kbd_put(k, 0xfa);
		kbd_put(k, 0xaa);	/* basic assurance test passed */
		break;
	default:
		kbd_put(k, 0xfe);
		break;
	}
}

/* ---- Mouse ---- */

static void mouse_defaults(struct i8042 *k)
{
	k->remote = false;
	k->reporting = false;
	k->scale21 = false;
	k->rate = 100;
	k->res = 2;
}

static void mouse_packet(struct i8042 *k, int dx, int dy, int dz)
{
	uint8_t b0 = (uint8_t)(0x08 | (k->buttons & 7));

	if (dx < -256 || dx > 255) {
		b0 |= 0x40;
		dx = dx < 0 ? -256 : 255;
	}
	if (dy < -256 || dy > 255) {
		b0 |= 0x80;
		dy = dy < 0 ? -256 : 255;
	}
	if (dx < 0)
		b0 |= 0x10;
	if (dy < 0)
		b0 |= 0x20;
	if (k->mq.n + 4 > QLEN)
		return;
	q_put(&k->mq, b0);
	q_put(&k->mq, (uint8_t)dx);
	q_put(&k->mq, (uint8_t)dy);
	if (k->id == 3)
		q_put(&k->mq, (uint8_t)(dz < -8 ? -8 : dz > 7 ? 7 : dz));
}

void i8042_mouse_event(struct i8042 *k, int dx, int dy, int dz, unsigned buttons)
{
	/* PS/2 button bits: 0 left, 1 right, 2 middle (as our argument). */
	k->buttons = (uint8_t)(buttons & 7);
	if (!k->reporting || k->remote || k->wrap)
		return;
	mouse_packet(k, dx, dy, dz);
	update(k);
}

static void mouse_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->mcmd;

	k->mcmd = 0;
	if (cmd == 0xf3) {
		k->rate = v;
		k->rates[0] = k->rates[1];
		k->rates[1] = k->rates[2];
		k->rates[2] = v;
		if (k->rates[0] == 200 && k->rates[1] == 100 && k->rates[2] == 80)
			k->id = 3;
		q_put(&k->mq, 0xfa);
		return;
	}
	if (cmd == 0xe8) {
		k->res = v & 3;
		q_put(&k->mq, 0xfa);
		return;
	}
	if (k->wrap && v != 0xff && v != 0xec) {
		q_put(&k->mq, v);	/* wrap mode echoes */
		return;
	}
	switch (v) {
	case 0xe6:
	case 0xe7:
		k->scale21 = v == 0xe7;
		q_put(&k->mq, 0xfa);
		break;
	case 0xe8:
	case 0xf3:
		k->mcmd = v;
		q_put(&k->mq, 0xfa);
		break;
	case 0xe9:
		q_put(&k->mq, 0xfa);
		q_put(&k->mq, (uint8_t)((k->remote ? 0x40 : 0) | (k->reporting ? 0x20 : 0) |
					(k->scale21 ? 0x10 : 0) | ((k->buttons & 1) << 2) |
					((k->buttons & 4) >> 1) | ((k->buttons & 2) >> 1)));
		q_put(&k->mq, k->res);
		q_put(&k->mq, k->rate);
		break;
	case 0xea:
		k->remote = false;
		q_put(&k->mq, 0xfa);
		break;
	case 0xeb:
		q_put(&k->mq, 0xfa);
		mouse_packet(k, 0, 0, 0);
		break;
	case 0xec:
		k->wrap = false;
		q_put(&k->mq, 0xfa);
		break;
	case 0xee:
		k->wrap = true;
		q_put(&k->mq, 0xfa);
		break;
	case 0xf0:
		k->remote = true;
		q_put(&k->mq, 0xfa);
		break;
	case 0xf2:
		q_put(&k->mq, 0xfa);
		q_put(&k->mq, k->id);
		break;
	case 0xf4:
		k->reporting = true;
		q_put(&k->mq, 0xfa);
		break;
	case 0xf5:
		k->reporting = false;
		q_put(&k->mq, 0xfa);
		break;
	case 0xf6:
		mouse_defaults(k);
		q_put(&k->mq, 0xfa);
		break;
	case 0xff:
		k->mq.n = 0;
		mouse_defaults(k);
		k->wrap = false;
		k->id = 0;
		memset(k->rates, 0, sizeof(k->rates));
		q_put(&k->mq, 0xfa);
		q_put(&k->mq, 0xaa);
		q_put(&k->mq, 0x00);
		break;
	default:
		q_put(&k->mq, 0xfe);
		break;
	}
}

/* ---- Controller ---- */

static void controller_command(struct i8042 *k, uint8_t v)
{
	if (v >= 0x20 && v <= 0x3f) {
		reply(k, k->ram[v & 0x1f], false);
		return;
	}
	if ((v >= 0x60 && v <= 0x7f) || (v >= 0xd1 && v <= 0xd4)) {
		k->pending = v;
		return;
	}
	if (v >= 0xf0) {
		if (!(v & 1))
			machine_request_reset(k->m, "keyboard controller reset pulse");
		return;
	}
	switch (v) {
	case 0xa7:
		k->ram[0] |= CB_AUX_OFF;
		break;
	case 0xa8:
		k->ram[0] &= (uint8_t)~CB_AUX_OFF;
		break;
	case 0xa9:
	case 0xab:
		reply(k, 0x00, false);	/* interface test: no error */
		break;
	case 0xaa:
		k->ram[0] |= CB_SYS;
		reply(k, 0x55, false);
		break;
	case 0xad:
		k->ram[0] |= CB_KBD_OFF;
		break;
	case 0xae:
		k->ram[0] &= (uint8_t)~CB_KBD_OFF;
		break;
	case 0xc0:
		reply(k, 0x80, false);	/* input port: keyboard not inhibited */
		break;
	case 0xd0:
		reply(k, (uint8_t)((k->outport & 0xcf) | (k->obf && !k->obf_aux ? 0x10 : 0) |
				   (k->obf && k->obf_aux ? 0x20 : 0)), false);
		break;
	case 0xdd:
		write_outport(k, k->outport & (uint8_t)~OUT_A20);
		break;
	case 0xdf:
		write_outport(k, k->outport | OUT_A20);
		break;
	case 0xe0:
		reply(k, 0x00, false);
		break;
	default:
		if (log_on(&k->m->log, LOG_UNIMP))
			log_printf(&k->m->log, "i8042: unknown controller command 0x%02x ignored\n", v);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->ram[cmd & 0x1f] = v;
		return;
	}
	switch (cmd) {
	case 0xd1:
		write_outport(k, v);
		break;
	case 0xd2:
		reply(k, v, false);
		break;
	case 0xd3:
		reply(k, v, true);
		break;
	case 0xd4:
		mouse_write(k, v);
		break;
	default:
		k->ram[0] &= (uint8_t)~CB_KBD_OFF;	/* sending to the keyboard enables it */
		kbd_write(k, v);
		break;
	}
}

static uint32_t i8042_read(void *opaque, uint16_t port, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (port == 0x64) {
		v = ST_UNLOCKED | (k->ram[0] & CB_SYS) | (k->last_cmd ? ST_CMD : 0);
		if (k->obf)
			v |= ST_OBF | (k->obf_aux ? ST_AUX : 0);
		return v;
	}
	v = k->obuf;
	k->obf = false;
	irq_set(&k->irq1, 0);	/* the line drops with OBF ... */
	irq_set(&k->irq12, 0);
	update(k);		/* ... and the next byte raises it again: a new edge */
	return v;
}

static void i8042_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct i8042 *k = opaque;

	k->last_cmd = port == 0x64;
	if (port == 0x64)
		controller_command(k, (uint8_t)value);
	else
		data_write(k, (uint8_t)value);
	update(k);
}

#define KF(m, f) STATE_FIELD(struct i8042, m, f)
static const struct state_field i8042_fields[] = {
	STATE_ARRAY(struct i8042, ram, SF_HEX), KF(outport, SF_HEX), KF(last_cmd, SF_BOOL),
	KF(pending, SF_HEX), KF(obuf, SF_HEX), KF(obf, SF_BOOL), KF(obf_aux, SF_BOOL),
	KF(ctrl, SF_HEX), KF(ctrl_aux_flags, SF_HEX), KF(kq, SF_HEX), KF(kcmd, SF_HEX),
	KF(set, SF_DEC), KF(scanning, SF_BOOL), KF(leds, SF_HEX), KF(typematic, SF_HEX),
	KF(klast, SF_HEX), KF(mq, SF_HEX), KF(mcmd, SF_HEX), KF(remote, SF_BOOL),
	KF(reporting, SF_BOOL), KF(wrap, SF_BOOL), KF(scale21, SF_BOOL), KF(rate, SF_DEC),
	KF(res, SF_DEC), KF(id, SF_DEC), KF(buttons, SF_HEX), STATE_ARRAY(struct i8042, rates, SF_DEC),
	STATE_END,
};
#undef KF

static void i8042_post_load(void *base)
{
	struct i8042 *k = base;

	k->repeat_key = 0;	/* host keys are not part of the guest's state */
	timer_del(k->repeat);
	set_a20(k);
	update(k);
}

void i8042_reset(struct i8042 *k)
{
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = CB_KBD_INT | CB_AUX_INT;
	k->last_cmd = true;
	k->pending = 0;
	k->obf = k->obf_aux = false;
	k->ctrl.n = k->ctrl_aux_flags.n = k->kq.n = k->mq.n = 0;
	k->kcmd = k->mcmd = 0;
	kbd_defaults(k);
	k->scanning = true;
	k->klast = 0;
	mouse_defaults(k);
	k->wrap = false;
	k->id = 0;
	k->buttons = 0;
	memset(k->rates, 0, sizeof(k->rates));
	k->outport = 0xcf;	/* reset line high, A20 on, buffer lines low */
	set_a20(k);
	update(k);
}

struct i8042 *i8042_create(struct machine *m, struct irq irq1, struct irq irq12,
			   char *err, size_t errlen)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (k == NULL || (k->repeat = timer_new(m, kbd_repeat, k)) == NULL) {
		free(k);
		snprintf(err, errlen, "out of memory creating the keyboard controller");
		return NULL;
	}
	k->m = m;
	k->irq1 = irq1;
	k->irq12 = irq12;
	if (machine_add_io(m, 0x60, 1, i8042_read, i8042_write, k, "i8042-data") < 0 ||
	    machine_add_io(m, 0x64, 1, i8042_read, i8042_write, k, "i8042-cmd") < 0) {
		snprintf(err, errlen, "cannot claim I/O ports 0x60 and 0x64 for the keyboard controller");
		free(k);
		return NULL;
	}
	i8042_reset(k);
	if (machine_register_state(m, &(struct state_section){
		    .name = "i8042", .version = 1, .fields = i8042_fields, .base = k,
		    .post_load = i8042_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the keyboard controller state");
		free(k);
		return NULL;
	}
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	free(k);
}
