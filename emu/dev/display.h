/*
 * display.h - the machine's console: the picture of the VGA card shown
 * by a host back end, and host input fed to the PS/2 keyboard and mouse.
 *
 * Back ends are a small function table (STYLE.md principle 4): "none"
 * shows nothing (screendumps and sendkey still work), "sdl" (built when
 * SDL2 is) opens a window. While a back end shows a picture, a guest-time
 * timer refreshes it 60 times a second between CPU slices, on the
 * emulator's only thread: the card draws only when something changed,
 * and the back end's poll turns window events into key and mouse events
 * (scan code set 1, see i8042.h) or, when the window is closed, into a
 * power-off (exit status 0).
 */
#ifndef NESTEMU_DEV_DISPLAY_H
#define NESTEMU_DEV_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct machine;
struct vga;
struct i8042;
struct timer;
struct display;

struct display_ops {
	const char *name;
	/* Opens the back end (window); 0, or -1 with one sentence in err. */
	int (*open)(struct display *d, char *err, size_t errlen);
	void (*close)(struct display *d);
	/* The picture is now w x h pixels (before the first update too). */
	void (*resize)(struct display *d, int w, int h);
	/* Rows [y, y + h) of the picture changed; pixels is the whole picture
	 * (0x00RRGGBB, d->width per row). */
	void (*update)(struct display *d, const uint32_t *pixels, int y, int h);
	/* Host events: keys, mouse, window closed. */
	void (*poll)(struct display *d);
};

struct display {
	const struct display_ops *ops;
	struct machine *m;
	struct vga *vga;		/* picture source, or NULL (-vga none) */
	struct i8042 *kbd;		/* keyboard and mouse, or NULL */
	struct timer *refresh;		/* 60 Hz while the back end shows pictures */
	struct timer *release;		/* sendkey: releases the held keys */
	uint16_t held[16];		/* keys sendkey pressed, in press order */
	int nheld;
	int width, height;		/* size the back end was told */
	uint32_t *shadow;		/* the picture it was last given (changed-row search) */
	size_t shadow_cap;		/* pixels allocated in shadow */
	void *priv;			/* the back end's state */
};

extern const struct display_ops display_none_ops;
#if HAVE_SDL2
extern const struct display_ops display_sdl_ops;
#endif

/*
 * Creates the console with back end `type` ("none" or "sdl"; NULL means
 * none). NULL with one sentence in err when the back end cannot open or
 * is not built.
 */
struct display *display_create(struct machine *m, const char *type, struct vga *vga,
			       struct i8042 *kbd, char *err, size_t errlen);
void display_destroy(struct display *d);

/* Draws what changed and serves host events (the refresh timer calls it). */
void display_refresh(struct display *d);

/*
 * Presses the keys (set 1 make codes, 0xE0xx extended) in order, and
 * releases them in reverse order hold_ms of guest time later. Keys still
 * held from an earlier call are released first. -EINVAL for more than 16
 * keys, -ENODEV without a keyboard.
 */
int display_send_keys(struct display *d, const uint16_t *keys, int n, unsigned hold_ms)
	__attribute__((warn_unused_result));

/* For back ends: host input and the window's close button. */
void display_key(struct display *d, uint16_t key, bool down);
void display_mouse(struct display *d, int dx, int dy, int dz, unsigned buttons);
void display_quit(struct display *d);

#endif
