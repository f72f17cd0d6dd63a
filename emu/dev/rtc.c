/*
 * rtc.c - Motorola MC146818A RTC and its 128 bytes of CMOS RAM.
 *
 * Time is analytic: the RTC shows `base_secs` (seconds since 1970, UTC)
 * at guest time `base_ns`, and one second more at every 10^9 ns after
 * it, so the phase of the divider chain is base_ns mod 1 s. Registers 0-9
 * are formatted on read (BCD or binary, 12 or 24 hours, as register B
 * says) and a written time field is folded back into base_secs. While
 * register B.SET is set, or the divider (register A bits 6-4) is not the
 * 32.768 kHz setting 010, updates stop (`frozen`). Leaving divider reset
 * puts the first update 500 ms later, as the data sheet says.
 *
 * Flags (register C) are caught up lazily from the last time they were
 * computed: PF for every periodic boundary crossed (rate from register A
 * bits 3-0, aligned to the divider chain), UF for every update (second
 * boundary), AF when an updated time matches the alarm (0xC0-0xFF in an
 * alarm byte matches anything). IRQF = (PF & PIE) | (AF & AIE) |
 * (UF & UIE) drives IRQ 8; reading register C clears every flag and
 * lowers the line. A timer is armed only while an enabled interrupt can
 * still raise IRQF. UIP reads 1 during the 244 us before each update.
 *
 * CMOS bytes set for the firmware (QEMU's pc_cmos_init and SeaBIOS):
 *   0x10 floppy types (none)          0x14 equipment: FPU, PS/2 mouse
 *   0x15/0x16 base memory (640 KiB)   0x17/0x18, 0x30/0x31 KiB above 1 MiB (max 0xFFFF)
 *   0x32 century (BCD)                0x34/0x35 64 KiB units above 16 MiB below 4 GiB
 *   0x38 boot device 3, 0x3D boot devices 1-2 (1 floppy, 2 disk, 3 CD-ROM, 4 network)
 *   0x5B-0x5D 64 KiB units above 4 GiB  0x5F vCPUs - 1
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "machine.h"
#include "state.h"
#include "dev/rtc.h"

#define NS 1000000000ll
#define UIP_NS 244140ll		/* 8 cycles of 32.768 kHz */

#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM 0x04	/* binary */
#define B_24H 0x02

#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

struct rtc {
	struct machine *m;
	uint8_t cmos[128];
	uint8_t index;
	bool nmi_disable;	/* port 0x70 bit 7, mirrored in machine->nmi_mask */
	struct irq irq;
	struct timer *timer;
	int64_t base_secs;	/* the time shown at base_ns */
	int64_t base_ns;	/* divider phase (may be negative) */
	bool frozen;
	int64_t frozen_secs;	/* the time shown while frozen */
	int64_t flags_ns;	/* flags are computed up to this guest time */
};

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t now_ns(struct rtc *r)
{
	return (int64_t)clock_ns(r->m);
}

static bool divider_on(const struct rtc *r)
{
	return (r->cmos[REG_A] & 0x70) == 0x20;
}

static bool updating(const struct rtc *r)
{
	return divider_on(r) && !(r->cmos[REG_B] & B_SET);
}

static int64_t secs_at(const struct rtc *r, int64_t ns)
{
	if (r->frozen)
		return r->frozen_secs;
	return r->base_secs + floordiv(ns - r->base_ns, NS);
}

/* Periodic interrupt period in 32.768 kHz cycles, 0 when off. */
static int64_t period_cycles(const struct rtc *r)
{
	unsigned rs = r->cmos[REG_A] & 0x0f;

	if (rs == 0)
		return 0;
	return rs <= 2 ? 1ll << (rs + 6) : 1ll << (rs - 1);
}

static int64_t cycles_at(const struct rtc *r, int64_t ns)
{
	int64_t d = ns - r->base_ns;
	return d >= 0 ? (int64_t)muldiv64((uint64_t)d, 32768, NS)
		      : -(int64_t)muldiv64_ceil((uint64_t)-d, 32768, NS);
}

static uint8_t to_reg(const struct rtc *r, int v)
{
	return (r->cmos[REG_B] & B_DM) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static int from_reg(const struct rtc *r, uint8_t v)
{
	return (r->cmos[REG_B] & B_DM) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_reg(const struct rtc *r, int h)
{
	if (r->cmos[REG_B] & B_24H)
		return to_reg(r, h);
	return (uint8_t)(to_reg(r, h % 12 == 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0));
}

static int hour_from_reg(const struct rtc *r, uint8_t v)
{
	int h;

	if (r->cmos[REG_B] & B_24H)
		return from_reg(r, v);
	h = from_reg(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

static void broken_down(int64_t secs, struct tm *tm)
{
	time_t t = (time_t)secs;
	gmtime_r(&t, tm);
}

static bool alarm_match(const struct rtc *r, int64_t secs)
{
	struct tm tm;
	uint8_t as = r->cmos[1], am = r->cmos[3], ah = r->cmos[5];

	broken_down(secs, &tm);
	return ((as & 0xc0) == 0xc0 || as == to_reg(r, tm.tm_sec)) &&
	       ((am & 0xc0) == 0xc0 || am == to_reg(r, tm.tm_min)) &&
	       ((ah & 0xc0) == 0xc0 || ah == hour_reg(r, tm.tm_hour));
}

/* Sets the flags for the events in (flags_ns, now]. */
static void catch_up(struct rtc *r, int64_t now)
{
	int64_t last = r->flags_ns;

	if (now <= last)
		return;
	if (divider_on(r)) {
		int64_t p = period_cycles(r);
		if (p && floordiv(cycles_at(r, now), p) > floordiv(cycles_at(r, last), p))
			r->cmos[REG_C] |= C_PF;
	}
	if (updating(r) && !r->frozen) {
		int64_t s0 = floordiv(last - r->base_ns, NS), s1 = floordiv(now - r->base_ns, NS);
		if (s1 > s0) {
			r->cmos[REG_C] |= C_UF;
			if (s1 - s0 > 86400)
				s0 = s1 - 86400;	/* alarms repeat daily */
			for (int64_t s = s0 + 1; s <= s1 && !(r->cmos[REG_C] & C_AF); s++)
				if (alarm_match(r, r->base_secs + s))
					r->cmos[REG_C] |= C_AF;
		}
	}
	r->flags_ns = now;
}

/* The next guest time an enabled interrupt could set IRQF, or -1. */
static int64_t next_event(struct rtc *r, int64_t now)
{
	uint8_t b = r->cmos[REG_B];
	int64_t best = -1;

	if (!divider_on(r))
		return -1;
	if ((b & B_PIE) && period_cycles(r)) {
		int64_t p = period_cycles(r);
		int64_t k = floordiv(cycles_at(r, now), p) + 1;
		best = r->base_ns + (int64_t)muldiv64_ceil((uint64_t)(k * p), NS, 32768);
	}
	if ((b & (B_UIE | B_AIE)) && updating(r) && !r->frozen) {
		int64_t t = r->base_ns + (floordiv(now - r->base_ns, NS) + 1) * NS;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* Recomputes IRQF and the line, and arms the timer. */
static void update_irq(struct rtc *r)
{
	uint8_t c, b = r->cmos[REG_B];
	int64_t now = now_ns(r), t;

	catch_up(r, now);
	c = r->cmos[REG_C];
	if (((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) || ((c & C_UF) && (b & B_UIE)))
		c |= C_IRQF;
	r->cmos[REG_C] = c;
	irq_set(&r->irq, (c & C_IRQF) != 0);
	t = (c & C_IRQF) ? -1 : next_event(r, now);
	if (t < 0)
		timer_del(r->timer);
	else
		timer_mod(r->timer, (uint64_t)t);
}

static void rtc_timer(void *opaque)
{
	update_irq(opaque);
}

/* Applies a change of SET or the divider: freezes or restarts updates. */
static void set_running(struct rtc *r, int64_t now, bool was_updating, bool divider_was_on)
{
	bool up = updating(r);

	if (was_updating && !up) {
		r->frozen_secs = secs_at(r, now);
		r->frozen = true;
	} else if (!was_updating && up && r->frozen) {
		r->base_secs = r->frozen_secs;
		if (!divider_was_on)
			r->base_ns = now - NS / 2;	/* first update 500 ms after the divider starts */
		else
			r->base_ns += floordiv(now - r->base_ns, NS) * NS;
		r->frozen = false;
	}
	if (!divider_was_on && divider_on(r))
		r->base_ns = now - NS / 2;
}

void rtc_set_time(struct rtc *r, time_t t)
{
	int64_t now = now_ns(r);

	catch_up(r, now);
	if (r->frozen) {
		r->frozen_secs = t;
	} else {
		r->base_secs = t;
		r->base_ns = now;
	}
	update_irq(r);
}

/* Writes time field `reg` (0, 2, 4, 6-9) in the current format. */
static void write_time(struct rtc *r, unsigned reg, uint8_t v)
{
	int64_t now = now_ns(r), secs = secs_at(r, now);
	struct tm tm;
	time_t t;

	catch_up(r, now);
	broken_down(secs, &tm);
	switch (reg) {
	case 0: tm.tm_sec = from_reg(r, v); break;
	case 2: tm.tm_min = from_reg(r, v); break;
	case 4: tm.tm_hour = hour_from_reg(r, v); break;
	case 7: tm.tm_mday = from_reg(r, v); break;
	case 8: tm.tm_mon = from_reg(r, v) - 1; break;
	case 9: {
		uint8_t cen = r->cmos[0x32];
		int century = (cen >> 4) * 10 + (cen & 0x0f);
		tm.tm_year = century * 100 + from_reg(r, v) - 1900;
		break;
	}
	default:
		return;	/* day of week follows from the date */
	}
	t = timegm(&tm);
	if (r->frozen)
		r->frozen_secs = t;
	else
		r->base_secs = t - floordiv(now - r->base_ns, NS);
}

static uint8_t read_reg(struct rtc *r, unsigned reg)
{
	int64_t now = now_ns(r);
	struct tm tm;
	uint8_t v;

	switch (reg) {
	case 0: case 2: case 4: case 6: case 7: case 8: case 9:
		broken_down(secs_at(r, now), &tm);
		switch (reg) {
		case 0: return to_reg(r, tm.tm_sec);
		case 2: return to_reg(r, tm.tm_min);
		case 4: return hour_reg(r, tm.tm_hour);
		case 6: return to_reg(r, tm.tm_wday + 1);
		case 7: return to_reg(r, tm.tm_mday);
		case 8: return to_reg(r, tm.tm_mon + 1);
		default: return to_reg(r, tm.tm_year % 100);
		}
	case REG_A:
		v = r->cmos[REG_A] & 0x7f;
		if (updating(r) && !r->frozen &&
		    (now - r->base_ns) - floordiv(now - r->base_ns, NS) * NS >= NS - UIP_NS)
			v |= 0x80;
		return v;
	case REG_C:
		catch_up(r, now);
		update_irq(r);
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;
		update_irq(r);
		return v;
	case REG_D:
		return 0x80;	/* valid RAM and time */
	default:
		return r->cmos[reg & 0x7f];
	}
}

static void write_reg(struct rtc *r, unsigned reg, uint8_t v)
{
	int64_t now = now_ns(r);
	bool was_up = updating(r), div_was = divider_on(r);

	switch (reg) {
	case 0: case 2: case 4: case 6: case 7: case 8: case 9:
		write_time(r, reg, v);
		break;
	case REG_A:
		catch_up(r, now);
		r->cmos[REG_A] = v & 0x7f;
		set_running(r, now, was_up, div_was);
		break;
	case REG_B:
		catch_up(r, now);
		if (v & B_SET)
			v &= (uint8_t)~B_UIE;	/* SET clears UIE */
		r->cmos[REG_B] = v;
		set_running(r, now, was_up, div_was);
		break;
	case REG_C:
	case REG_D:
		return;	/* read-only */
	default:
		r->cmos[reg & 0x7f] = v;
		return;
	}
	update_irq(r);
}

uint8_t rtc_cmos_read(struct rtc *r, unsigned index)
{
	return read_reg(r, index & 0x7f);
}

void rtc_cmos_write(struct rtc *r, unsigned index, uint8_t v)
{
	write_reg(r, index & 0x7f, v);
}

static uint32_t rtc_io_read(void *opaque, uint16_t port, unsigned size)
{
	struct rtc *r = opaque;

	if (port == 0x70)
		return 0xff;	/* the index register is write-only */
	return read_reg(r, r->index);
}

static void rtc_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct rtc *r = opaque;

	if (port == 0x70) {
		r->index = value & 0x7f;
		r->nmi_disable = (value & 0x80) != 0;
		r->m->nmi_mask = r->nmi_disable;
		if (size > 1)	/* a word write also writes the data port */
			write_reg(r, r->index, (uint8_t)(value >> 8));
		return;
	}
	write_reg(r, r->index, (uint8_t)value);
}

static const struct state_field rtc_fields[] = {
	STATE_ARRAY(struct rtc, cmos, SF_HEX), STATE_FIELD(struct rtc, index, SF_HEX),
	STATE_FIELD(struct rtc, base_secs, SF_DEC), STATE_FIELD(struct rtc, base_ns, SF_DEC),
	STATE_FIELD(struct rtc, frozen, SF_BOOL), STATE_FIELD(struct rtc, frozen_secs, SF_DEC),
	STATE_FIELD(struct rtc, flags_ns, SF_DEC), STATE_FIELD(struct rtc, nmi_disable, SF_BOOL),
	STATE_END,
};

static void rtc_post_load(void *base)
{
	struct rtc *r = base;
	int64_t t;

	/* The flags stay as saved (computed lazily, as the live RTC would);
	 * only the line and the timer are restored from them. */
	r->m->nmi_mask = r->nmi_disable;
	irq_set(&r->irq, (r->cmos[REG_C] & C_IRQF) != 0);
	t = (r->cmos[REG_C] & C_IRQF) ? -1 : next_event(r, now_ns(r));
	if (t < 0)
		timer_del(r->timer);
	else
		timer_mod(r->timer, (uint64_t)t);
}

void rtc_reset(struct rtc *r)
{
	r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
	r->cmos[REG_C] = 0;
	r->flags_ns = now_ns(r);
	update_irq(r);
}

static void boot_bytes(struct rtc *r, const char *order)
{
	uint8_t dev[3] = { 0, 0, 0 };

	for (int k = 0; k < 3 && order[k]; k++) {
		switch (order[k]) {
		case 'a': dev[k] = 1; break;
		case 'c': dev[k] = 2; break;
		case 'd': dev[k] = 3; break;
		case 'n': dev[k] = 4; break;
		default: dev[k] = 0; break;
		}
	}
	r->cmos[0x3d] = (uint8_t)(dev[0] | dev[1] << 4);
	r->cmos[0x38] = (uint8_t)(dev[2] << 4);	/* bit 0 clear: check the floppy boot signature */
}

static void memory_bytes(struct rtc *r, const struct rtc_config *cfg)
{
	uint64_t below = cfg->ram_below_4g, v;

	v = below / 1024 < 640 ? below / 1024 : 640;
	r->cmos[0x15] = (uint8_t)v;
	r->cmos[0x16] = (uint8_t)(v >> 8);
	v = below > (1u << 20) ? (below - (1u << 20)) / 1024 : 0;
	if (v > 0xffff)
		v = 0xffff;
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)v;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(v >> 8);
	v = below > (16u << 20) ? (below - (16u << 20)) / 65536 : 0;
	if (v > 0xffff)
		v = 0xffff;
	r->cmos[0x34] = (uint8_t)v;
	r->cmos[0x35] = (uint8_t)(v >> 8);
	v = cfg->ram_above_4g / 65536;
	r->cmos[0x5b] = (uint8_t)v;
	r->cmos[0x5c] = (uint8_t)(v >> 8);
	r->cmos[0x5d] = (uint8_t)(v >> 16);
}

struct rtc *rtc_create(struct machine *m, struct irq irq8, const struct rtc_config *cfg,
		       char *err, size_t errlen)
{
	struct rtc *r = calloc(1, sizeof(*r));
	struct tm tm;
	time_t now = time(NULL);
	int century;

	if (r == NULL || (r->timer = timer_new(m, rtc_timer, r)) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory creating the RTC");
		return NULL;
	}
	r->m = m;
	r->irq = irq8;
	r->cmos[REG_A] = 0x26;	/* 32.768 kHz, 1024 Hz periodic rate */
	r->cmos[REG_B] = B_24H;	/* BCD, 24 hours */
	r->cmos[REG_D] = 0x80;
	r->base_secs = now;
	r->base_ns = now_ns(r);
	r->flags_ns = r->base_ns;
	broken_down(now, &tm);
	century = (tm.tm_year + 1900) / 100;
	r->cmos[0x32] = (uint8_t)((century / 10) << 4 | (century % 10));
	r->cmos[0x14] = 0x06;	/* FPU present, PS/2 mouse, VGA, no floppy */
	memory_bytes(r, cfg);
	r->cmos[0x5f] = (uint8_t)(cfg->ncpus > 0 ? cfg->ncpus - 1 : 0);
	boot_bytes(r, cfg->boot_order ? cfg->boot_order : "cad");
	if (machine_add_io(m, 0x70, 2, rtc_io_read, rtc_io_write, r, "rtc") < 0) {
		snprintf(err, errlen, "cannot claim I/O ports 0x70-0x71 for the RTC");
		free(r);
		return NULL;
	}
	if (machine_register_state(m, &(struct state_section){
		    .name = "rtc", .version = 2, .fields = rtc_fields, .base = r,
		    .post_load = rtc_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the RTC state");
		free(r);
		return NULL;
	}
	return r;
}

void rtc_destroy(struct rtc *r)
{
	free(r);
}
