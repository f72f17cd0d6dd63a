/*
 * display.c - the console between the VGA card, the host back ends and
 * the PS/2 devices (see display.h).
 *
 * Refresh: while the back end is not "none", a timer runs every
 * REFRESH_NS of guest time (between CPU slices, like every timer): it
 * asks the card for its picture (vga_draw draws only after a change),
 * tells the back end about a new size, and hands it only the band of
 * rows that differ from the picture it was given last (kept in a
 * shadow copy), then lets it poll host events. Guest time runs only
 * while the machine does, so a machine stopped by the monitor shows its
 * last picture and takes no input until it continues.
 *
 * sendkey presses keys at once and releases them from a second timer,
 * hold_ms of guest time later, in reverse order (QEMU's semantics).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "machine.h"
#include "dev/display.h"
#include "dev/i8042.h"
#include "dev/vga.h"

#define REFRESH_NS (1000000000ull / 60)

const struct display_ops display_none_ops = { .name = "none" };

static void refresh_cb(void *opaque)
{
	struct display *d = opaque;

	display_refresh(d);
	timer_mod(d->refresh, clock_ns(d->m) + REFRESH_NS);
}

static void release_cb(void *opaque)
{
	struct display *d = opaque;

	while (d->nheld > 0)
		i8042_key_event(d->kbd, d->held[--d->nheld], false);
}

/* Narrows [*y0, *y1) to the rows that differ from the shadow, then updates the shadow. */
static void changed_rows(struct display *d, const struct vga_image *img, bool resized, int *y0,
			 int *y1)
{
	size_t n = (size_t)img->width * (size_t)img->height, row = (size_t)img->width;

	if (!resized && d->shadow) {
		while (*y0 < *y1 && !memcmp(&d->shadow[(size_t)*y0 * row], &img->pixels[(size_t)*y0 * row],
					    row * sizeof(uint32_t)))
			(*y0)++;
		while (*y1 > *y0 && !memcmp(&d->shadow[(size_t)(*y1 - 1) * row],
					    &img->pixels[(size_t)(*y1 - 1) * row], row * sizeof(uint32_t)))
			(*y1)--;
	}
	if (n > d->shadow_cap) {
		free(d->shadow);
		d->shadow = malloc(n * sizeof(uint32_t));
		d->shadow_cap = d->shadow ? n : 0;
	}
	if (d->shadow)
		memcpy(d->shadow, img->pixels, n * sizeof(uint32_t));
}

void display_refresh(struct display *d)
{
	struct vga_image img;

	if (d->vga && d->ops->update && vga_draw(d->vga, &img, false) && img.pixels) {
		bool resized = img.width != d->width || img.height != d->height;
		int y0 = 0, y1 = img.height;

		if (resized) {
			d->width = img.width;
			d->height = img.height;
			if (d->ops->resize)
				d->ops->resize(d, img.width, img.height);
		}
		changed_rows(d, &img, resized, &y0, &y1);
		if (y1 > y0)
			d->ops->update(d, img.pixels, y0, y1 - y0);
	}
	if (d->ops->poll)
		d->ops->poll(d);
}

struct display *display_create(struct machine *m, const char *type, struct vga *vga,
			       struct i8042 *kbd, char *err, size_t errlen)
{
	const struct display_ops *ops = &display_none_ops;
	struct display *d;

	if (type && strcmp(type, "none") != 0) {
#if HAVE_SDL2
		if (strcmp(type, "sdl") == 0)
			ops = &display_sdl_ops;
		else
#endif
		{
			snprintf(err, errlen, "unknown display '%s' (use %s)", type,
				 HAVE_SDL2 ? "sdl or none" : "none; this build has no SDL2");
			return NULL;
		}
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory creating the display");
		return NULL;
	}
	d->ops = ops;
	d->m = m;
	d->vga = vga;
	d->kbd = kbd;
	if (ops->open && ops->open(d, err, errlen) < 0) {
		free(d);
		return NULL;
	}
	if (m->clock) {
		d->release = timer_new(m, release_cb, d);
		if (ops->update) {
			d->refresh = timer_new(m, refresh_cb, d);
			if (d->refresh)
				timer_mod(d->refresh, clock_ns(m) + REFRESH_NS);
		}
		if (d->release == NULL || (ops->update && d->refresh == NULL)) {
			display_destroy(d);
			snprintf(err, errlen, "out of memory creating the display timers");
			return NULL;
		}
	}
	return d;
}

void display_destroy(struct display *d)
{
	if (d == NULL)
		return;
	if (d->refresh)
		timer_del(d->refresh);
	if (d->release)
		timer_del(d->release);
	if (d->ops->close)
		d->ops->close(d);
	free(d->shadow);
	free(d);
}

int display_send_keys(struct display *d, const uint16_t *keys, int n, unsigned hold_ms)
{
	if (d->kbd == NULL)
		return -ENODEV;
	if (n < 0 || n > (int)(sizeof(d->held) / sizeof(d->held[0])))
		return -EINVAL;
	release_cb(d);
	for (int i = 0; i < n; i++) {
		i8042_key_event(d->kbd, keys[i], true);
		d->held[d->nheld++] = keys[i];
	}
	if (d->release)
		timer_mod(d->release, clock_ns(d->m) + (uint64_t)hold_ms * 1000000ull);
	else
		release_cb(d);
	return 0;
}

void display_key(struct display *d, uint16_t key, bool down)
{
	if (d->kbd)
		i8042_key_event(d->kbd, key, down);
}

void display_mouse(struct display *d, int dx, int dy, int dz, unsigned buttons)
{
	if (d->kbd)
		i8042_mouse_event(d->kbd, dx, dy, dz, buttons);
}

void display_quit(struct display *d)
{
	machine_request_exit(d->m, 0);
}
