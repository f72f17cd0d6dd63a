/*
 * test_display.c - the console between the VGA card, a back end and the
 * keyboard: the 60 Hz refresh (resize, only the changed band of rows,
 * nothing while the picture stands still, host events polled every
 * time), sendkey's press-then-release after the hold time, and the
 * back-end names.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "dev_fixture.h"
#include "emu/dev/display.h"
#include "emu/dev/i8042.h"
#include "emu/dev/vga.h"

#define FRAME_NS (1000000000ull / 60)

/* A back end that records what it was asked to do. */
struct rec {
	int resizes, updates, polls, w, h, y, n;
	int quit_after;		/* poll number that closes the window (0: never) */
};

static int rec_open(struct display *d, char *err, size_t errlen)
{
	d->priv = calloc(1, sizeof(struct rec));
	return d->priv ? 0 : -1;
}

static void rec_close(struct display *d)
{
	free(d->priv);
}

static void rec_resize(struct display *d, int w, int h)
{
	struct rec *r = d->priv;
	r->resizes++;
	r->w = w;
	r->h = h;
}

static void rec_update(struct display *d, const uint32_t *pixels, int y, int h)
{
	struct rec *r = d->priv;
	r->updates++;
	r->y = y;
	r->n = h;
}

static void rec_poll(struct display *d)
{
	struct rec *r = d->priv;
	if (++r->polls == r->quit_after)
		display_quit(d);	/* the window's close button */
}

static const struct display_ops rec_ops = {
	.name = "rec", .open = rec_open, .close = rec_close, .resize = rec_resize,
	.update = rec_update, .poll = rec_poll,
};

struct df {
	struct devm *d;
	struct vga *v;
	struct i8042 *k;
	struct display *disp;
};

static struct df df_new(void)
{
	struct df f;
	char err[256] = "";

	f.d = devm_new();
	f.v = vga_create(f.d->m, NULL, &(struct vga_config){ 0 }, err, sizeof(err));
	cr_assert_not_null(f.v, "%s", err);
	f.k = i8042_create(f.d->m, devm_line(f.d, 1), devm_line(f.d, 12), err, sizeof(err));
	cr_assert_not_null(f.k, "%s", err);
	f.disp = display_create(f.d->m, "none", f.v, f.k, err, sizeof(err));
	cr_assert_not_null(f.disp, "%s", err);
	return f;
}

static void df_free(struct df f)
{
	display_destroy(f.disp);
	i8042_destroy(f.k);
	vga_destroy(f.v);
	devm_free(f.d);
}

static void vbe(struct df f, uint16_t index, uint16_t v)
{
	machine_io_out(f.d->m, 0x1ce, index, 2);
	machine_io_out(f.d->m, 0x1cf, v, 2);
}

Test(display, refresh_sends_only_changed_rows)
{
	struct df f = df_new();
	struct rec *r;

	char err[128];

	display_destroy(f.disp);
	f.disp = display_open(f.d->m, &rec_ops, f.v, f.k, err, sizeof(err));
	cr_assert_not_null(f.disp, "%s", err);
	cr_assert_not_null(f.disp->refresh, "a back end that shows pictures gets the refresh timer");
	r = f.disp->priv;
	vbe(f, VBE_INDEX_XRES, 16);
	vbe(f, VBE_INDEX_YRES, 8);
	vbe(f, VBE_INDEX_BPP, 32);
	vbe(f, VBE_INDEX_ENABLE, VBE_ENABLED);

	clock_set_ns(f.d->m, FRAME_NS);	/* the refresh timer's first run */
	cr_assert_eq(r->resizes, 1);
	cr_assert_eq(r->w, 16);
	cr_assert_eq(r->h, 8);
	cr_assert_eq(r->updates, 1);
	cr_assert_eq(r->y, 0);
	cr_assert_eq(r->n, 8, "the first picture is sent whole");
	cr_assert_eq(r->polls, 1);

	clock_set_ns(f.d->m, 2 * FRAME_NS);
	cr_assert_eq(r->updates, 1, "nothing changed, nothing sent");
	cr_assert_eq(r->polls, 2, "host events are polled on every refresh, 60 a second");

	/* Two pixels on rows 3 and 5 (through the bank window). */
	phys_write_u(f.d->m, 0xa0000 + (3 * 16 + 1) * 4, 0x00ff0000, 4);
	phys_write_u(f.d->m, 0xa0000 + (5 * 16 + 9) * 4, 0x0000ff00, 4);
	display_refresh(f.disp);
	cr_assert_eq(r->updates, 2);
	cr_assert_eq(r->y, 3);
	cr_assert_eq(r->n, 3, "rows 3 to 5");
	cr_assert_eq(f.disp->shadow[3 * 16 + 1], 0xff0000);

	/* A write of the same value marks the card dirty but changes no row. */
	phys_write_u(f.d->m, 0xa0000 + (3 * 16 + 1) * 4, 0x00ff0000, 4);
	display_refresh(f.disp);
	cr_assert_eq(r->updates, 2);

	/* A mode change resizes and sends everything. */
	vbe(f, VBE_INDEX_ENABLE, 0);
	vbe(f, VBE_INDEX_XRES, 24);
	vbe(f, VBE_INDEX_ENABLE, VBE_ENABLED);
	display_refresh(f.disp);
	cr_assert_eq(r->resizes, 2);
	cr_assert_eq(r->w, 24);
	cr_assert_eq(r->updates, 3);
	cr_assert_eq(r->n, 8);
	df_free(f);
}

Test(display, a_halted_guest_keeps_the_window_until_it_closes)
{
	struct df f = df_new();
	char err[128];
	struct rec *r;

	display_destroy(f.disp);
	f.disp = display_open(f.d->m, &rec_ops, f.v, f.k, err, sizeof(err));
	cr_assert_not_null(f.disp, "%s", err);
	r = f.disp->priv;
	r->quit_after = 3;
	f.d->m->stop = STOP_HALTED;
	display_wait_closed(f.disp);
	cr_assert_eq(r->polls, 0, "an invisible window (offscreen) is not waited for");
	f.disp->visible = true;
	display_wait_closed(f.disp);
	cr_assert_eq(r->polls, 3, "refreshed until the close");
	cr_assert_eq(f.d->m->stop, STOP_EXIT);
	cr_assert_eq(f.d->m->exit_status, 0, "closing the window is a power-off");
	df_free(f);
}

Test(display, none_shows_nothing_and_arms_no_refresh)
{
	struct df f = df_new();

	cr_assert(!display_shows(f.disp));
	display_wait_closed(f.disp);	/* returns at once */
	cr_assert_eq(f.disp->ops, &display_none_ops);
	cr_assert_null(f.disp->refresh, "no refresh timer: a halted guest stays reported as halted");
	cr_assert_not_null(f.disp->release);
	df_free(f);
}

static uint8_t kbd_byte(struct df f)
{
	cr_assert(machine_io_in(f.d->m, 0x64, 1) & 1, "a keyboard byte is waiting");
	return (uint8_t)machine_io_in(f.d->m, 0x60, 1);
}

Test(display, sendkey_presses_then_releases_after_the_hold_time)
{
	struct df f = df_new();
	const uint16_t keys[] = { 0x1d, 0x1e };	/* ctrl, a */

	cr_assert_eq(display_send_keys(f.disp, keys, 2, 100), 0);
	cr_assert_eq(kbd_byte(f), 0x14, "ctrl make, scan code set 2");
	cr_assert_eq(kbd_byte(f), 0x1c, "a make");
	cr_assert_eq(machine_io_in(f.d->m, 0x64, 1) & 1, 0, "held: no break codes yet");
	clock_set_ns(f.d->m, 99000000);
	cr_assert_eq(machine_io_in(f.d->m, 0x64, 1) & 1, 0, "still held at 99 ms");
	clock_set_ns(f.d->m, 100000000);
	cr_assert_eq(kbd_byte(f), 0xf0, "a break, in reverse order");
	cr_assert_eq(kbd_byte(f), 0x1c);
	cr_assert_eq(kbd_byte(f), 0xf0, "ctrl break");
	cr_assert_eq(kbd_byte(f), 0x14);

	uint16_t many[17] = { 0 };
	cr_assert_eq(display_send_keys(f.disp, many, 17, 100), -EINVAL);
	df_free(f);
}

Test(display, unknown_back_end_is_one_sentence)
{
	struct devm *d = devm_new();
	char err[256] = "";

	cr_assert_null(display_create(d->m, "gtk", NULL, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "unknown display 'gtk'"), "%s", err);
	devm_free(d);
}
