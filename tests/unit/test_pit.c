/*
 * test_pit.c - the 8254 under a manual clock: counter values and OUT for
 * modes 0-5, IRQ 0 edges at exact PIT ticks, read-back (status and
 * count), the counter latch, LSB/MSB access modes, BCD, gates, reloads
 * and port 0x61 (gate 2, OUT2, refresh toggle).
 */
#include <criterion/criterion.h>

#include "dev_fixture.h"
#include "emu/dev/pit.h"

struct tf {
	struct devm *d;
	struct pit *p;
};

static struct tf tf_new(void)
{
	struct tf f;
	char err[128];

	f.d = devm_new();
	f.p = pit_create(f.d->m, devm_line(f.d, 0), err, sizeof(err));
	cr_assert_not_null(f.p, "%s", err);
	return f;
}

static void tf_free(struct tf f)
{
	pit_destroy(f.p);
	devm_free(f.d);
}

/* Guest ns at which PIT tick t begins. */
static uint64_t tns(uint64_t t)
{
	return muldiv64_ceil(t, 1000000000ull, PIT_HZ);
}

static void at_tick(struct tf f, uint64_t t)
{
	clock_set_ns(f.d->m, tns(t));
}

static void load(struct tf f, int n, uint8_t cw, uint16_t count)
{
	devm_out(f.d, 0x43, cw);
	devm_out(f.d, (uint16_t)(0x40 + n), (uint8_t)count);
	devm_out(f.d, (uint16_t)(0x40 + n), (uint8_t)(count >> 8));
}

/* Latches and reads a 16-bit count of counter n. */
static uint16_t latched(struct tf f, int n)
{
	devm_out(f.d, 0x43, (uint8_t)(n << 6));
	uint16_t lo = devm_in(f.d, (uint16_t)(0x40 + n));
	return (uint16_t)(lo | devm_in(f.d, (uint16_t)(0x40 + n)) << 8);
}

Test(pit, tick_conversion_is_exact)
{
	for (uint64_t t = 0; t < 5000; t += 7)
		cr_assert_eq(muldiv64(tns(t), PIT_HZ, 1000000000ull), t);
}

Test(pit, mode2_rate_generator_irq0_every_n_ticks)
{
	struct tf f = tf_new();

	load(f, 0, 0x34, 1000);
	cr_assert_eq(f.d->level[0], 1, "mode 2: OUT high after loading");
	cr_assert_eq(f.d->rises[0], 1);
	at_tick(f, 250);
	cr_assert_eq(latched(f, 0), 750);
	at_tick(f, 999);
	cr_assert_eq(f.d->level[0], 0, "OUT low for the tick when the count is 1");
	cr_assert_eq(latched(f, 0), 1);
	at_tick(f, 1000);
	cr_assert_eq(f.d->level[0], 1);
	cr_assert_eq(f.d->rises[0], 2);
	cr_assert_eq(f.d->last_rise[0], tns(1000));
	cr_assert_eq(latched(f, 0), 1000, "reloaded");
	at_tick(f, 10500);
	cr_assert_eq(f.d->rises[0], 11, "one edge per period");
	cr_assert_eq(f.d->last_rise[0], tns(10000));
	cr_assert_eq(latched(f, 0), 500);
	tf_free(f);
}

Test(pit, mode2_new_count_waits_for_the_period_end)
{
	struct tf f = tf_new();

	load(f, 0, 0x34, 100);
	at_tick(f, 30);
	devm_out(f.d, 0x40, 50);
	devm_out(f.d, 0x40, 0);
	cr_assert_eq(latched(f, 0), 70, "the old count runs on");
	at_tick(f, 100);
	cr_assert_eq(latched(f, 0), 50, "the new count loads at the reload");
	at_tick(f, 149);
	cr_assert_eq(f.d->level[0], 0);
	at_tick(f, 150);
	cr_assert_eq(f.d->last_rise[0], tns(150));
	tf_free(f);
}

Test(pit, mode0_interrupt_on_terminal_count)
{
	struct tf f = tf_new();

	load(f, 0, 0x30, 100);
	cr_assert_eq(f.d->level[0], 0, "mode 0: OUT low after loading");
	at_tick(f, 99);
	cr_assert_eq(f.d->level[0], 0);
	cr_assert_eq(latched(f, 0), 1);
	at_tick(f, 100);
	cr_assert_eq(f.d->level[0], 1);
	cr_assert_eq(f.d->last_rise[0], tns(100));
	at_tick(f, 150);
	cr_assert_eq(latched(f, 0), 65486, "the counter wraps and keeps counting");
	cr_assert_eq(f.d->level[0], 1, "OUT stays high");
	cr_assert_eq(clock_next_deadline(f.d->m), UINT64_MAX, "no more events");
	load(f, 0, 0x30, 10);		/* rewriting restarts */
	cr_assert_eq(f.d->level[0], 0);
	at_tick(f, 160);
	cr_assert_eq(f.d->rises[0], 2);
	tf_free(f);
}

Test(pit, mode3_square_wave_on_out2)
{
	struct tf f = tf_new();

	devm_out(f.d, 0x61, 0x01);	/* gate 2 on */
	load(f, 2, 0xb6, 10);
	for (uint64_t t = 0; t < 30; t++) {
		at_tick(f, t);
		bool want = t % 10 < 5;
		cr_assert_eq((devm_in(f.d, 0x61) >> 5) & 1, want, "tick %llu", (unsigned long long)t);
		cr_assert_eq(pit_out(f.p, 2), want);
	}
	at_tick(f, 31);
	cr_assert_eq(latched(f, 2), 8, "counts down by two");
	/* odd count: high for (N+1)/2 */
	load(f, 2, 0xb6, 7);
	uint64_t base = 31;
	at_tick(f, base + 3);
	cr_assert(pit_out(f.p, 2));
	at_tick(f, base + 4);
	cr_assert_not(pit_out(f.p, 2));
	at_tick(f, base + 7);
	cr_assert(pit_out(f.p, 2));
	tf_free(f);
}

Test(pit, mode3_gate_low_forces_out_high_and_restarts)
{
	struct tf f = tf_new();

	devm_out(f.d, 0x61, 0x01);
	load(f, 2, 0xb6, 10);
	at_tick(f, 6);
	cr_assert_not(pit_out(f.p, 2));
	devm_out(f.d, 0x61, 0x00);
	cr_assert(pit_out(f.p, 2), "gate low: OUT high");
	at_tick(f, 20);
	cr_assert(pit_out(f.p, 2));
	devm_out(f.d, 0x61, 0x01);	/* rising gate restarts the period */
	at_tick(f, 24);
	cr_assert(pit_out(f.p, 2));
	at_tick(f, 25);
	cr_assert_not(pit_out(f.p, 2));
	tf_free(f);
}

Test(pit, mode1_one_shot_triggered_by_gate)
{
	struct tf f = tf_new();

	load(f, 2, 0xb2, 50);
	cr_assert(pit_out(f.p, 2), "OUT high until triggered");
	at_tick(f, 10);
	cr_assert(pit_out(f.p, 2));
	devm_out(f.d, 0x61, 0x01);	/* trigger */
	cr_assert_not(pit_out(f.p, 2));
	at_tick(f, 59);
	cr_assert_not(pit_out(f.p, 2));
	cr_assert_eq(latched(f, 2), 1);
	at_tick(f, 60);
	cr_assert(pit_out(f.p, 2));
	devm_out(f.d, 0x61, 0x00);
	at_tick(f, 70);
	devm_out(f.d, 0x61, 0x01);	/* retrigger */
	cr_assert_not(pit_out(f.p, 2));
	at_tick(f, 120);
	cr_assert(pit_out(f.p, 2));
	tf_free(f);
}

Test(pit, mode4_software_strobe)
{
	struct tf f = tf_new();

	load(f, 0, 0x38, 20);
	cr_assert_eq(f.d->level[0], 1);
	at_tick(f, 20);
	cr_assert_eq(f.d->level[0], 0, "one tick low at count 0");
	at_tick(f, 21);
	cr_assert_eq(f.d->level[0], 1);
	cr_assert_eq(f.d->last_rise[0], tns(21));
	at_tick(f, 100);
	cr_assert_eq(f.d->rises[0], 2, "one strobe only");
	tf_free(f);
}

Test(pit, mode5_hardware_strobe)
{
	struct tf f = tf_new();

	load(f, 2, 0xba, 30);
	at_tick(f, 100);
	cr_assert(pit_out(f.p, 2), "nothing before the trigger");
	devm_out(f.d, 0x61, 0x01);
	at_tick(f, 129);
	cr_assert(pit_out(f.p, 2));
	at_tick(f, 130);
	cr_assert_not(pit_out(f.p, 2));
	at_tick(f, 131);
	cr_assert(pit_out(f.p, 2));
	tf_free(f);
}

Test(pit, mode0_gate_low_pauses)
{
	struct tf f = tf_new();

	devm_out(f.d, 0x61, 0x01);
	load(f, 2, 0xb0, 100);
	at_tick(f, 40);
	devm_out(f.d, 0x61, 0x00);
	at_tick(f, 500);
	cr_assert_eq(latched(f, 2), 60, "paused at 60");
	devm_out(f.d, 0x61, 0x01);
	at_tick(f, 559);
	cr_assert_not(pit_out(f.p, 2));
	at_tick(f, 560);
	cr_assert(pit_out(f.p, 2));
	tf_free(f);
}

Test(pit, readback_status_and_count)
{
	struct tf f = tf_new();

	devm_out(f.d, 0x43, 0x34);
	devm_out(f.d, 0x43, 0xe2);	/* read-back: status of counter 0 */
	cr_assert_eq(devm_in(f.d, 0x40), 0x40 | 0x80 | 0x30 | 0x04, "null count, OUT high, rw 3, mode 2");
	devm_out(f.d, 0x40, 0x00);
	devm_out(f.d, 0x40, 0x10);	/* 4096 */
	at_tick(f, 96);
	devm_out(f.d, 0x43, 0xc2);	/* count and status of counter 0 */
	at_tick(f, 200);
	cr_assert_eq(devm_in(f.d, 0x40), 0xb4, "status first: count loaded");
	cr_assert_eq(devm_in(f.d, 0x40), 0xa0, "then the count latched at tick 96 (4000)");
	cr_assert_eq(devm_in(f.d, 0x40), 0x0f);
	cr_assert_eq(devm_in(f.d, 0x40), (uint8_t)(4096 - 200), "latch consumed: live again");
	/* several counters at once; a second latch does not overwrite */
	devm_out(f.d, 0x43, 0x90);	/* counter 2: LSB only, mode 0 */
	devm_out(f.d, 0x42, 0x80);
	devm_out(f.d, 0x61, 0x01);	/* gate 2 on: counting starts at tick 200 */
	devm_out(f.d, 0x43, 0xdc);	/* latch the counts of counters 1 and 2 */
	at_tick(f, 210);
	devm_out(f.d, 0x43, 0xd8);	/* counter 2 again: ignored while latched */
	cr_assert_eq(devm_in(f.d, 0x42), 0x80, "the first latch is kept");
	cr_assert_eq(devm_in(f.d, 0x42), 0x80 - 10, "then live");
	tf_free(f);
}

Test(pit, latch_holds_while_time_moves)
{
	struct tf f = tf_new();

	load(f, 0, 0x34, 0);	/* 0 means 65536 */
	at_tick(f, 1);
	cr_assert_eq(latched(f, 0), 65535);
	devm_out(f.d, 0x43, 0x00);
	at_tick(f, 1001);
	uint8_t lo = devm_in(f.d, 0x40);
	at_tick(f, 2001);
	uint8_t hi = devm_in(f.d, 0x40);
	cr_assert_eq(lo | hi << 8, 65535);
	/* live reads alternate LSB/MSB */
	uint8_t l2 = devm_in(f.d, 0x40), h2 = devm_in(f.d, 0x40);
	cr_assert_eq(l2 | h2 << 8, 65536 - 2001);
	tf_free(f);
}

Test(pit, lsb_only_msb_only_and_bcd)
{
	struct tf f = tf_new();

	devm_out(f.d, 0x43, 0x10);	/* counter 0, LSB only, mode 0 */
	devm_out(f.d, 0x40, 0x20);
	at_tick(f, 0x10);
	cr_assert_eq(devm_in(f.d, 0x40), 0x10);
	cr_assert_eq(devm_in(f.d, 0x40), 0x10, "LSB only every read");
	devm_out(f.d, 0x43, 0x20);	/* MSB only */
	devm_out(f.d, 0x40, 0x02);	/* 0x200 */
	at_tick(f, 0x10 + 0x100);
	cr_assert_eq(devm_in(f.d, 0x40), 0x01);
	devm_out(f.d, 0x43, 0x31);	/* mode 0, BCD */
	devm_out(f.d, 0x40, 0x00);
	devm_out(f.d, 0x40, 0x10);	/* 1000 */
	at_tick(f, 0x110 + 1);
	cr_assert_eq(latched(f, 0), 0x0999);
	at_tick(f, 0x110 + 1000);
	cr_assert_eq(f.d->level[0], 1, "BCD 1000 ticks to terminal count");
	at_tick(f, 0x110 + 1001);
	cr_assert_eq(latched(f, 0), 0x9999, "BCD wraps at 10000");
	tf_free(f);
}

Test(pit, port61_bits)
{
	struct tf f = tf_new();

	devm_out(f.d, 0x61, 0xff);
	cr_assert_eq(devm_in(f.d, 0x61) & 0xcf, 0x0f, "bits 0-3 stored, NMI status clear");
	cr_assert(pit_speaker_on(f.p));
	clock_set_ns(f.d->m, 15084);
	uint8_t a = devm_in(f.d, 0x61) & 0x10;
	clock_set_ns(f.d->m, 15085);
	uint8_t b = devm_in(f.d, 0x61) & 0x10;
	cr_assert_neq(a, b, "refresh toggles every 15.085 us");
	devm_out(f.d, 0x61, 0x00);
	cr_assert_not(pit_speaker_on(f.p));
	tf_free(f);
}

/* ---- Snapshots: the clock and the devices come back together ---- */

#include <unistd.h>
#include "emu/dev/pic.h"
#include "emu/snapshot.h"

Test(pit, snapshot_restores_clock_and_counters)
{
	struct machine_config cfg = { .ram_size = 4 << 20, .ncpus = 1 };
	char err[256], path[] = "/tmp/nestemu-pit-snap-XXXXXX";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	struct pic_regs pr;
	int fd = mkstemp(path);

	cr_assert_not_null(m, "%s", err);
	cr_assert(fd >= 0);
	close(fd);
	clock_set_ns(m, 0);
	machine_io_out(m, 0x43, 0x34, 1);
	machine_io_out(m, 0x40, 1000 & 0xff, 1);
	machine_io_out(m, 0x40, 1000 >> 8, 1);
	clock_set_ns(m, tns(250));
	cr_assert_eq(snapshot_save_file(m, path, "t", err, sizeof(err)), 0, "%s", err);

	clock_set_ns(m, tns(5000));
	machine_io_out(m, 0x43, 0x30, 1);	/* something else entirely */
	machine_io_out(m, 0x40, 7, 1);
	machine_io_out(m, 0x40, 0, 1);
	cr_assert_eq(snapshot_load_file(m, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);

	cr_assert_eq(clock_ns(m), tns(250), "the clock is back at the save");
	machine_io_out(m, 0x43, 0x00, 1);
	uint16_t v = (uint16_t)machine_io_in(m, 0x40, 1);
	v |= (uint16_t)(machine_io_in(m, 0x40, 1) << 8);
	cr_assert_eq(v, 750);
	pic_intr_ack(m->pic);	/* take the edge latched at the load */
	clock_set_ns(m, tns(999));
	pic_get_regs(m->pic, 0, &pr);
	cr_assert_eq(pr.irr & 1, 0);
	clock_set_ns(m, tns(1000));
	pic_get_regs(m->pic, 0, &pr);
	cr_assert_eq(pr.irr & 1, 1, "the restored counter's timer fires on time");
	machine_destroy(m);
}
