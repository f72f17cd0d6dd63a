/*
 * test_rtc.c - the MC146818 under a manual clock: time registers in BCD
 * and binary, 12 and 24 hours, setting the time (SET), UIP, periodic
 * interrupts at each rate, update-ended and alarm interrupts, register C
 * clearing, divider reset, the NMI mask bit, and the CMOS bytes the
 * firmware reads for several RAM sizes.
 */
#include <criterion/criterion.h>
#include <time.h>

#include "dev_fixture.h"
#include "emu/dev/rtc.h"

#define NS 1000000000ull

struct rf {
	struct devm *d;
	struct rtc *r;
};

static struct rf rf_new(void)
{
	struct rf f;
	char err[128];
	struct rtc_config cfg = { .ram_below_4g = 64 << 20, .ncpus = 1 };

	f.d = devm_new();
	f.r = rtc_create(f.d->m, devm_line(f.d, 8), &cfg, err, sizeof(err));
	cr_assert_not_null(f.r, "%s", err);
	return f;
}

static void rf_free(struct rf f)
{
	rtc_destroy(f.r);
	devm_free(f.d);
}

static uint8_t rd(struct rf f, uint8_t idx)
{
	devm_out(f.d, 0x70, idx);
	return devm_in(f.d, 0x71);
}

static void wr(struct rf f, uint8_t idx, uint8_t v)
{
	devm_out(f.d, 0x70, idx);
	devm_out(f.d, 0x71, v);
}

/* 2024-02-29 23:59:58 UTC, a Thursday. */
static time_t leap_evening(void)
{
	struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 23, .tm_min = 59,
			 .tm_sec = 58 };
	return timegm(&tm);
}

Test(rtc, time_registers_bcd_24h_and_rollover)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, leap_evening());
	cr_assert_eq(rd(f, 0x0a), 0x26, "power-on register A");
	cr_assert_eq(rd(f, 0x0b), 0x02, "BCD, 24 hours");
	cr_assert_eq(rd(f, 0), 0x58);
	cr_assert_eq(rd(f, 2), 0x59);
	cr_assert_eq(rd(f, 4), 0x23);
	cr_assert_eq(rd(f, 6), 0x05, "Thursday (Sunday = 1)");
	cr_assert_eq(rd(f, 7), 0x29);
	cr_assert_eq(rd(f, 8), 0x02);
	cr_assert_eq(rd(f, 9), 0x24);
	cr_assert_eq(rd(f, 0x32), 0x20, "century");
	clock_set_ns(f.d->m, 2 * NS - 1);
	cr_assert_eq(rd(f, 0), 0x59);
	clock_set_ns(f.d->m, 2 * NS);
	cr_assert_eq(rd(f, 0), 0x00);
	cr_assert_eq(rd(f, 4), 0x00);
	cr_assert_eq(rd(f, 7), 0x01);
	cr_assert_eq(rd(f, 8), 0x03, "leap day rolls over to March 1");
	rf_free(f);
}

Test(rtc, binary_and_12_hour_formats)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, leap_evening());
	wr(f, 0x0b, 0x04);	/* binary, 12 hours */
	cr_assert_eq(rd(f, 4), 0x8b, "11 PM");
	cr_assert_eq(rd(f, 0), 58);
	cr_assert_eq(rd(f, 9), 24);
	wr(f, 0x0b, 0x00);	/* BCD, 12 hours */
	cr_assert_eq(rd(f, 4), 0x91);
	wr(f, 4, 0x12);		/* 12 AM is midnight */
	wr(f, 0x0b, 0x02);
	cr_assert_eq(rd(f, 4), 0x00);
	rf_free(f);
}

Test(rtc, set_bit_freezes_and_writes_the_time)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, leap_evening());
	clock_set_ns(f.d->m, NS / 2);
	wr(f, 0x0b, 0x82);	/* SET */
	wr(f, 0x32, 0x19);	/* century */
	wr(f, 0, 0x30);
	wr(f, 2, 0x15);
	wr(f, 4, 0x10);
	wr(f, 7, 0x04);
	wr(f, 8, 0x07);
	wr(f, 9, 0x99);
	clock_set_ns(f.d->m, 5 * NS);
	cr_assert_eq(rd(f, 0), 0x30, "frozen while SET");
	wr(f, 0x0b, 0x02);	/* run again */
	cr_assert_eq(rd(f, 0), 0x30);
	cr_assert_eq(rd(f, 9), 0x99);
	cr_assert_eq(rd(f, 6), 0x01, "1999-07-04 was a Sunday");
	clock_set_ns(f.d->m, 6 * NS - 1);
	cr_assert_eq(rd(f, 0), 0x30);
	clock_set_ns(f.d->m, 6 * NS);
	cr_assert_eq(rd(f, 0), 0x31, "updates keep the divider's phase");
	rf_free(f);
}

Test(rtc, uip_before_each_update)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, 1000);
	clock_set_ns(f.d->m, NS - 244141);
	cr_assert_eq(rd(f, 0x0a) & 0x80, 0);
	clock_set_ns(f.d->m, NS - 244140);
	cr_assert_eq(rd(f, 0x0a) & 0x80, 0x80, "UIP 244 us before the update");
	clock_set_ns(f.d->m, NS);
	cr_assert_eq(rd(f, 0x0a) & 0x80, 0);
	cr_assert_eq(rd(f, 0x0d), 0x80, "register D: valid RAM and time");
	rf_free(f);
}

Test(rtc, periodic_interrupt_rates)
{
	/* rate select -> period in 32.768 kHz cycles */
	static const struct { uint8_t rs; uint64_t cycles; } rates[] = {
		{ 1, 128 }, { 2, 256 }, { 3, 4 }, { 6, 32 }, { 10, 512 }, { 15, 16384 },
	};

	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		struct rf f = rf_new();
		rtc_set_time(f.r, 0);
		wr(f, 0x0a, (uint8_t)(0x20 | rates[k].rs));
		wr(f, 0x0b, 0x42);	/* PIE */
		for (uint64_t n = 1; n <= 5; n++) {
			uint64_t at = muldiv64_ceil(n * rates[k].cycles, NS, 32768);
			clock_set_ns(f.d->m, at - 1);
			cr_assert_eq(f.d->level[8], 0, "rate %u tick %llu early", rates[k].rs,
				     (unsigned long long)n);
			clock_set_ns(f.d->m, at);
			cr_assert_eq(f.d->level[8], 1, "rate %u tick %llu", rates[k].rs,
				     (unsigned long long)n);
			cr_assert_eq(f.d->last_rise[8], at);
			cr_assert_eq(rd(f, 0x0c) & 0xe0, 0xc0, "IRQF and PF");
			cr_assert_eq(f.d->level[8], 0, "reading C lowers IRQ 8");
		}
		rf_free(f);
	}
}

Test(rtc, flags_without_interrupt_enable)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, 0);
	clock_set_ns(f.d->m, 3 * NS);
	cr_assert_eq(f.d->rises[8], 0);
	cr_assert_eq(clock_next_deadline(f.d->m), UINT64_MAX, "no timer without an enabled interrupt");
	cr_assert_eq(rd(f, 0x0c), 0x50, "PF and UF set, IRQF clear");
	cr_assert_eq(rd(f, 0x0c), 0x00, "register C clears on read");
	wr(f, 0x0c, 0xff);
	cr_assert_eq(rd(f, 0x0c), 0x00, "read-only");
	rf_free(f);
}

Test(rtc, update_ended_and_alarm_interrupts)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, 10 * 3600);	/* 10:00:00 */
	wr(f, 0x0a, 0x20);	/* no periodic */
	wr(f, 1, 0x03);		/* alarm 10:00:03 */
	wr(f, 3, 0x00);
	wr(f, 5, 0x10);
	wr(f, 0x0b, 0x32);	/* AIE | UIE */
	for (int s = 1; s <= 4; s++) {
		clock_set_ns(f.d->m, (uint64_t)s * NS);
		cr_assert_eq(f.d->level[8], 1, "second %d", s);
		cr_assert_eq(rd(f, 0x0c), s == 3 ? 0xb0 : 0x90, "second %d", s);
	}
	/* don't-care alarm bytes match every second */
	wr(f, 0x0b, 0x22);	/* AIE only */
	wr(f, 1, 0xc0);
	wr(f, 3, 0xff);
	wr(f, 5, 0xc0);
	clock_set_ns(f.d->m, 5 * NS);
	cr_assert_eq(rd(f, 0x0c), 0xb0);
	/* SET clears UIE */
	wr(f, 0x0b, 0x92);
	cr_assert_eq(rd(f, 0x0b), 0x82);
	rf_free(f);
}

Test(rtc, divider_reset_delays_the_first_update)
{
	struct rf f = rf_new();

	rtc_set_time(f.r, 100);
	wr(f, 0x0a, 0x70);	/* divider reset */
	clock_set_ns(f.d->m, 10 * NS + 123);
	cr_assert_eq(rd(f, 0), 0x40, "stopped at 100 s");
	wr(f, 0x0a, 0x26);
	wr(f, 0x0b, 0x12);	/* UIE */
	clock_set_ns(f.d->m, 10 * NS + 123 + NS / 2 - 1);
	cr_assert_eq(f.d->level[8], 0);
	clock_set_ns(f.d->m, 10 * NS + 123 + NS / 2);
	cr_assert_eq(f.d->level[8], 1, "first update 500 ms after the divider starts");
	cr_assert_eq(rd(f, 0), 0x41);
	rf_free(f);
}

Test(rtc, reset_clears_enables_and_flags)
{
	struct rf f = rf_new();

	wr(f, 0x0b, 0x7a);
	clock_set_ns(f.d->m, 2 * NS);
	cr_assert_eq(f.d->level[8], 1);
	rtc_reset(f.r);
	cr_assert_eq(f.d->level[8], 0);
	cr_assert_eq(rd(f, 0x0b), 0x02, "PIE, AIE, UIE, SQWE cleared");
	cr_assert_eq(rd(f, 0x0c), 0x00);
	rf_free(f);
}

Test(rtc, nmi_mask_and_cmos_ram)
{
	struct rf f = rf_new();

	devm_out(f.d, 0x70, 0x80 | 0x40);
	cr_assert(f.d->m->nmi_mask, "port 0x70 bit 7 masks NMIs");
	devm_out(f.d, 0x71, 0x5a);
	devm_out(f.d, 0x70, 0x40);
	cr_assert_not(f.d->m->nmi_mask);
	cr_assert_eq(devm_in(f.d, 0x71), 0x5a, "the index ignores bit 7");
	cr_assert_eq(devm_in(f.d, 0x70), 0xff, "the index port is write-only");
	machine_io_out(f.d->m, 0x70, 0x7f41, 2);	/* word write: index and data */
	cr_assert_eq(rtc_cmos_read(f.r, 0x41), 0x7f);
	rf_free(f);
}

/* ---- CMOS contents on the real board ---- */

static uint8_t board_cmos(struct machine *m, uint8_t idx)
{
	machine_io_out(m, 0x70, idx, 1);
	return (uint8_t)machine_io_in(m, 0x71, 1);
}

Test(rtc, cmos_memory_bytes_for_ram_sizes)
{
	static const struct {
		uint64_t ram;
		int ncpus;
		uint16_t ext, ext16;
		uint32_t high;
	} cases[] = {
		{ 2ull << 20, 1, 1024, 0, 0 },
		{ 16ull << 20, 2, 15 * 1024, 0, 0 },
		{ 64ull << 20, 4, 63 * 1024, 48 * 16, 0 },
		{ 128ull << 20, 1, 0xffff, 112 * 16, 0 },
		{ 0xe1000000ull, 1, 0xffff, (0xe0000000u - (16u << 20)) >> 16, 0x100 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct machine_config cfg = { .ram_size = cases[k].ram, .ncpus = cases[k].ncpus };
		char err[256];
		struct machine *m = machine_create(&cfg, err, sizeof(err));
		cr_assert_not_null(m, "%s", err);
		cr_assert_eq(board_cmos(m, 0x15) | board_cmos(m, 0x16) << 8, 640);
		cr_assert_eq(board_cmos(m, 0x17) | board_cmos(m, 0x18) << 8, cases[k].ext,
			     "case %zu", k);
		cr_assert_eq(board_cmos(m, 0x30) | board_cmos(m, 0x31) << 8, cases[k].ext);
		cr_assert_eq(board_cmos(m, 0x34) | board_cmos(m, 0x35) << 8, cases[k].ext16,
			     "case %zu", k);
		cr_assert_eq((uint32_t)(board_cmos(m, 0x5b) | board_cmos(m, 0x5c) << 8 | board_cmos(m, 0x5d) << 16),
			     cases[k].high, "case %zu", k);
		cr_assert_eq(board_cmos(m, 0x5f), cases[k].ncpus - 1);
		cr_assert_eq(board_cmos(m, 0x14), 0x06, "equipment: FPU, PS/2 mouse");
		cr_assert_eq(board_cmos(m, 0x3d), 0x12, "boot order c, a");
		cr_assert_eq(board_cmos(m, 0x38), 0x30, "then d");
		machine_destroy(m);
	}
}
