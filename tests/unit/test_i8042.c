/*
 * test_i8042.c - the keyboard controller: self-test and interface tests,
 * the command byte, output port (A20, reset line), pulse reset, the
 * keyboard's reset/identify/LED/scan-set/typematic commands, key events in
 * set 2 and translated set 1 with auto-repeat, the PS/2 mouse (reset, ID,
 * IntelliMouse detection, status, packets), IRQ 1/12, and the system
 * control ports 0x92 and 0xCF9.
 */
#include <criterion/criterion.h>

#include "dev_fixture.h"
#include "emu/dev/i8042.h"
#include "emu/dev/sysctl.h"

struct kf {
	struct devm *d;
	struct i8042 *k;
};

static struct kf kf_new(void)
{
	struct kf f;
	char err[128];

	f.d = devm_new();
	f.k = i8042_create(f.d->m, devm_line(f.d, 1), devm_line(f.d, 12), err, sizeof(err));
	cr_assert_not_null(f.k, "%s", err);
	return f;
}

static void kf_free(struct kf f)
{
	i8042_destroy(f.k);
	devm_free(f.d);
}

static uint8_t status(struct kf f)
{
	return devm_in(f.d, 0x64);
}

/* Reads the next output byte; fails the test when the buffer is empty. */
static uint8_t next(struct kf f)
{
	cr_assert(status(f) & 1, "output buffer should be full");
	return devm_in(f.d, 0x60);
}

static void cmd(struct kf f, uint8_t c)
{
	devm_out(f.d, 0x64, c);
}

static void expect_bytes(struct kf f, const uint8_t *want, size_t n)
{
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(next(f), want[k], "byte %zu", k);
	cr_assert_eq(status(f) & 1, 0, "nothing more");
}

Test(i8042, self_test_and_interface_tests)
{
	struct kf f = kf_new();

	cr_assert_eq(status(f) & 0x14, 0x10, "unlocked, system flag clear at power-on");
	cmd(f, 0xaa);
	cr_assert_eq(status(f) & 0x09, 0x09, "reply waiting, last write was a command");
	cr_assert_eq(next(f), 0x55);
	cr_assert_eq(status(f) & 0x04, 0x04, "self-test sets the system flag");
	cmd(f, 0xab);
	cr_assert_eq(next(f), 0x00);
	cmd(f, 0xa9);
	cr_assert_eq(next(f), 0x00);
	cmd(f, 0xe0);
	cr_assert_eq(next(f), 0x00);
	kf_free(f);
}

Test(i8042, command_byte_and_ram)
{
	struct kf f = kf_new();

	cmd(f, 0x20);
	cr_assert_eq(next(f), 0x03, "power-on command byte: both interrupts on");
	cmd(f, 0x60);
	devm_out(f.d, 0x60, 0x65);
	cmd(f, 0x20);
	cr_assert_eq(next(f), 0x65);
	cmd(f, 0xa8);	/* enable aux: clears bit 5 */
	cmd(f, 0xae);	/* enable keyboard: clears bit 4 */
	cmd(f, 0x20);
	cr_assert_eq(next(f), 0x45);
	cmd(f, 0x65);	/* RAM byte 5 */
	devm_out(f.d, 0x60, 0x99);
	cmd(f, 0x25);
	cr_assert_eq(next(f), 0x99);
	kf_free(f);
}

Test(i8042, output_port_a20_and_reset_line)
{
	struct kf f = kf_new();

	cr_assert(f.d->m->a20 & A20_I8042, "A20 starts enabled");
	cmd(f, 0xd0);
	cr_assert_eq(next(f), 0xcf);
	cmd(f, 0xd1);
	devm_out(f.d, 0x60, 0xdd);	/* A20 off */
	cr_assert_eq(f.d->m->a20 & A20_I8042, 0);
	cmd(f, 0xd0);
	cr_assert_eq(next(f) & 0x03, 0x01);
	cmd(f, 0xdf);
	cr_assert(f.d->m->a20 & A20_I8042);
	cmd(f, 0xdd);
	cr_assert_eq(f.d->m->a20 & A20_I8042, 0);
	cr_assert_not(f.d->m->reset_pending);
	cmd(f, 0xd1);
	devm_out(f.d, 0x60, 0xde);	/* reset line low */
	cr_assert(f.d->m->reset_pending, "output port bit 0 clear resets");
	kf_free(f);
}

Test(i8042, pulse_reset)
{
	struct kf f = kf_new();

	cmd(f, 0xff);
	cr_assert_not(f.d->m->reset_pending, "0xFF pulses nothing");
	cmd(f, 0xfe);
	cr_assert(f.d->m->reset_pending, "0xFE pulses the reset line");
	kf_free(f);
}

Test(i8042, keyboard_reset_identify_and_irq1)
{
	struct kf f = kf_new();

	devm_out(f.d, 0x60, 0xff);
	cr_assert_eq(f.d->level[1], 1, "IRQ 1 with a keyboard byte");
	cr_assert_eq(status(f) & 0x20, 0, "not mouse data");
	cr_assert_eq(next(f), 0xfa);
	cr_assert_eq(f.d->rises[1], 2, "the next byte is a new edge");
	cr_assert_eq(next(f), 0xaa);
	cr_assert_eq(f.d->level[1], 0);
	devm_out(f.d, 0x60, 0xf2);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xab, 0x83 }, 3);
	devm_out(f.d, 0x60, 0xee);
	expect_bytes(f, (const uint8_t[]){ 0xee }, 1);
	devm_out(f.d, 0x60, 0x42);	/* not a command */
	expect_bytes(f, (const uint8_t[]){ 0xfe }, 1);
	devm_out(f.d, 0x60, 0xfe);	/* resend */
	expect_bytes(f, (const uint8_t[]){ 0xfe }, 1);
	/* the keyboard interrupt disabled in the command byte */
	cmd(f, 0x60);
	devm_out(f.d, 0x60, 0x02);
	devm_out(f.d, 0x60, 0xee);
	cr_assert_eq(f.d->level[1], 0);
	cr_assert_eq(next(f), 0xee);
	kf_free(f);
}

Test(i8042, leds_scan_set_and_typematic)
{
	struct kf f = kf_new();

	devm_out(f.d, 0x60, 0xed);
	devm_out(f.d, 0x60, 0x05);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa }, 2);
	cr_assert_eq(i8042_leds(f.k), 5);
	devm_out(f.d, 0x60, 0xf0);
	devm_out(f.d, 0x60, 0x00);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0x02 }, 3);
	devm_out(f.d, 0x60, 0xf0);
	devm_out(f.d, 0x60, 0x01);
	devm_out(f.d, 0x60, 0xf0);
	devm_out(f.d, 0x60, 0x00);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0xfa, 0xfa, 0x01 }, 5);
	devm_out(f.d, 0x60, 0xf3);
	devm_out(f.d, 0x60, 0x00);	/* 30 cps, 250 ms */
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa }, 2);
	i8042_key_event(f.k, 0x1e, true);	/* A, set 1 */
	expect_bytes(f, (const uint8_t[]){ 0x1e }, 1);
	clock_set_ns(f.d->m, 250000000ull - 1);
	cr_assert_eq(status(f) & 1, 0, "no repeat before the delay");
	clock_set_ns(f.d->m, 250000000ull);
	expect_bytes(f, (const uint8_t[]){ 0x1e }, 1);
	clock_set_ns(f.d->m, 250000000ull + 33360000ull);
	expect_bytes(f, (const uint8_t[]){ 0x1e }, 1);
	i8042_key_event(f.k, 0x1e, false);
	expect_bytes(f, (const uint8_t[]){ 0x9e }, 1);
	clock_set_ns(f.d->m, 2000000000ull);
	cr_assert_eq(status(f) & 1, 0, "released: no more repeats");
	kf_free(f);
}

Test(i8042, key_events_set2_and_translation)
{
	struct kf f = kf_new();

	i8042_key_event(f.k, 0x1e, true);
	i8042_key_event(f.k, 0x1e, false);
	i8042_key_event(f.k, 0xe048, true);	/* cursor up */
	i8042_key_event(f.k, 0xe048, false);
	i8042_key_event(f.k, 0x41, true);	/* F7, the odd one */
	expect_bytes(f, (const uint8_t[]){ 0x1c, 0xf0, 0x1c, 0xe0, 0x75, 0xe0, 0xf0, 0x75, 0x83 }, 9);
	i8042_key_event(f.k, 0x41, false);
	while (status(f) & 1)
		devm_in(f.d, 0x60);
	cmd(f, 0x60);
	devm_out(f.d, 0x60, 0x43);	/* translate */
	i8042_key_event(f.k, 0x1c, true);	/* Enter */
	i8042_key_event(f.k, 0x1c, false);
	expect_bytes(f, (const uint8_t[]){ 0x1c, 0x9c }, 2);
	devm_out(f.d, 0x60, 0xf2);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xab, 0x41 }, 3);
	/* disabled keyboard interface: bytes wait */
	cmd(f, 0xad);
	i8042_key_event(f.k, 0x01, true);
	cr_assert_eq(status(f) & 1, 0);
	cmd(f, 0xae);
	expect_bytes(f, (const uint8_t[]){ 0x01 }, 1);
	/* scanning disabled: no key events */
	devm_out(f.d, 0x60, 0xf5);
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	i8042_key_event(f.k, 0x01, true);
	cr_assert_eq(status(f) & 1, 0);
	kf_free(f);
}

static void mouse(struct kf f, uint8_t v)
{
	cmd(f, 0xd4);
	devm_out(f.d, 0x60, v);
}

Test(i8042, mouse_reset_id_and_irq12)
{
	struct kf f = kf_new();

	mouse(f, 0xff);
	cr_assert_eq(f.d->level[12], 1, "IRQ 12 with mouse data");
	cr_assert_eq(status(f) & 0x21, 0x21, "aux data");
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xaa, 0x00 }, 3);
	cr_assert_eq(f.d->level[12], 0);
	mouse(f, 0xf2);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0x00 }, 2);
	static const uint8_t magic[] = { 200, 100, 80 };
	for (int k = 0; k < 3; k++) {
		mouse(f, 0xf3);
		mouse(f, magic[k]);
		expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa }, 2);
	}
	mouse(f, 0xf2);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0x03 }, 2);
	mouse(f, 0xe8);
	mouse(f, 0x03);
	mouse(f, 0xe7);
	mouse(f, 0xe9);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0xfa, 0xfa, 0x10, 0x03, 80 }, 7);
	mouse(f, 0x01);
	expect_bytes(f, (const uint8_t[]){ 0xfe }, 1);
	kf_free(f);
}

Test(i8042, mouse_packets)
{
	struct kf f = kf_new();

	i8042_mouse_event(f.k, 5, 5, 0, 1);
	cr_assert_eq(status(f) & 1, 0, "no packets until reporting is enabled");
	mouse(f, 0xf4);
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	i8042_mouse_event(f.k, 10, -3, 0, 1);
	expect_bytes(f, (const uint8_t[]){ 0x29, 10, 0xfd }, 3);
	i8042_mouse_event(f.k, -300, 0, 0, 4);
	expect_bytes(f, (const uint8_t[]){ 0x5c, 0x00, 0x00 }, 3);
	/* aux disabled in the command byte: packets wait */
	cmd(f, 0xa7);
	i8042_mouse_event(f.k, 1, 1, 0, 0);
	cr_assert_eq(status(f) & 1, 0);
	cmd(f, 0xa8);
	expect_bytes(f, (const uint8_t[]){ 0x08, 1, 1 }, 3);
	/* 0xD3 writes the aux output buffer */
	cmd(f, 0xd3);
	devm_out(f.d, 0x60, 0x77);
	cr_assert_eq(status(f) & 0x21, 0x21);
	cr_assert_eq(next(f), 0x77);
	cmd(f, 0xd2);
	devm_out(f.d, 0x60, 0x66);
	cr_assert_eq(status(f) & 0x21, 0x01);
	cr_assert_eq(next(f), 0x66);
	kf_free(f);
}

/* ---- System control ports ---- */

Test(i8042, port92_fast_a20_and_reset)
{
	struct devm *d = devm_new();
	char err[128];
	struct sysctl *s = sysctl_create(d->m, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(devm_in(d, 0x92), 0x00);
	devm_out(d, 0x92, 0x02);
	cr_assert(d->m->a20 & A20_PORT92);
	cr_assert_eq(devm_in(d, 0x92), 0x02);
	cr_assert_not(d->m->reset_pending);
	devm_out(d, 0x92, 0x03);
	cr_assert(d->m->reset_pending, "bit 0 rising: fast reset");
	sysctl_reset(s);
	d->m->reset_pending = false;
	cr_assert_eq(d->m->a20 & A20_PORT92, 0);
	cr_assert_eq(devm_in(d, 0xcf9), 0x00);
	devm_out(d, 0xcf9, 0x02);
	cr_assert_not(d->m->reset_pending, "bit 1 alone only selects the reset type");
	cr_assert_eq(devm_in(d, 0xcf9), 0x02);
	devm_out(d, 0xcf9, 0x06);
	cr_assert(d->m->reset_pending, "RST_CPU");
	cr_assert_eq(devm_in(d, 0xcf9), 0x02, "bit 2 reads 0");
	sysctl_destroy(s);
	devm_free(d);
}

Test(i8042, board_reset_through_controller_resets_machine)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 1 };
	char err[256];
	struct machine *m = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(m->a20, A20_I8042);
	machine_io_out(m, 0x64, 0xfe, 1);
	cr_assert(m->reset_pending);
	machine_io_out(m, 0x92, 0x02, 1);
	cr_assert_eq(m->a20, A20_I8042 | A20_PORT92);
	machine_reset(m);
	cr_assert_eq(m->a20, A20_I8042, "reset closes the fast A20 gate");
	machine_destroy(m);
}
