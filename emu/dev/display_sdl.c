/*
 * display_sdl.c - the SDL2 back end of the display (display.h): one
 * window showing the picture (small modes scaled 2x), keyboard and mouse
 * input, the close button powering the machine off.
 *
 * Everything runs on the emulator's thread from the refresh timer: the
 * picture is uploaded to a streaming texture row band by row band, and
 * SDL's event queue is drained in poll. Keys use SDL scancodes, which
 * are USB HID usages (keymap_from_usb); SDL's own key repeat is ignored
 * because the PS/2 keyboard repeats held keys itself. A click grabs the
 * mouse (relative motion); Ctrl+Alt+G releases it, as in QEMU.
 */
#include "config.h"

#if HAVE_SDL2
#include <SDL.h>
#include <stdlib.h>

#include "dev/display.h"
#include "dev/keymap.h"

struct sdl {
	SDL_Window *win;
	SDL_Renderer *ren;
	SDL_Texture *tex;
	int tw, th;		/* texture size */
	bool grabbed;
	unsigned buttons;	/* PS/2 order: bit 0 left, 1 right, 2 middle */
};

static int sdl_open(struct display *d, char *err, size_t errlen)
{
	struct sdl *s;

	/* Without a server SDL would try its fallbacks and print their complaints. */
	if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY") && !getenv("SDL_VIDEODRIVER")) {
		snprintf(err, errlen, "cannot open the SDL display: neither DISPLAY nor WAYLAND_DISPLAY is set (use -display none)");
		return -1;
	}
	if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
		snprintf(err, errlen, "cannot open the SDL display: %s (use -display none)", SDL_GetError());
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		SDL_QuitSubSystem(SDL_INIT_VIDEO);
		snprintf(err, errlen, "out of memory opening the SDL display");
		return -1;
	}
	s->win = SDL_CreateWindow("nestemu", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 640,
				  480, SDL_WINDOW_RESIZABLE);
	if (s->win)
		s->ren = SDL_CreateRenderer(s->win, -1, 0);
	if (s->win == NULL || s->ren == NULL) {
		snprintf(err, errlen, "cannot open the SDL window: %s (use -display none)", SDL_GetError());
		if (s->win)
			SDL_DestroyWindow(s->win);
		free(s);
		SDL_QuitSubSystem(SDL_INIT_VIDEO);
		return -1;
	}
	SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
	d->priv = s;
	return 0;
}

static void sdl_close(struct display *d)
{
	struct sdl *s = d->priv;

	if (s == NULL)
		return;
	if (s->tex)
		SDL_DestroyTexture(s->tex);
	SDL_DestroyRenderer(s->ren);
	SDL_DestroyWindow(s->win);
	free(s);
	d->priv = NULL;
	SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

static void sdl_resize(struct display *d, int w, int h)
{
	struct sdl *s = d->priv;
	int scale = (w <= 400 && h <= 300) ? 2 : 1;

	if (s->tex)
		SDL_DestroyTexture(s->tex);
	s->tex = SDL_CreateTexture(s->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING, w, h);
	s->tw = w;
	s->th = h;
	SDL_SetWindowSize(s->win, w * scale, h * scale);
}

static void present(struct sdl *s)
{
	SDL_RenderClear(s->ren);
	if (s->tex)
		SDL_RenderCopy(s->ren, s->tex, NULL, NULL);
	SDL_RenderPresent(s->ren);
}

static void sdl_update(struct display *d, const uint32_t *pixels, int y, int h)
{
	struct sdl *s = d->priv;
	SDL_Rect r = { 0, y, d->width, h };

	if (s->tex == NULL || d->width != s->tw || d->height != s->th)
		return;
	SDL_UpdateTexture(s->tex, &r, pixels + (size_t)y * (size_t)d->width,
			  d->width * (int)sizeof(uint32_t));
	present(s);
}

static void set_grab(struct sdl *s, bool on)
{
	s->grabbed = on;
	SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE);
	SDL_SetWindowTitle(s->win, on ? "nestemu (Ctrl+Alt+G releases the mouse)" : "nestemu");
}

static unsigned ps2_button(Uint8 b)
{
	switch (b) {
	case SDL_BUTTON_LEFT: return 1;
	case SDL_BUTTON_RIGHT: return 2;
	case SDL_BUTTON_MIDDLE: return 4;
	default: return 0;
	}
}

static void sdl_poll(struct display *d)
{
	struct sdl *s = d->priv;
	SDL_Event e;

	while (SDL_PollEvent(&e)) {
		switch (e.type) {
		case SDL_QUIT:
			display_quit(d);
			break;
		case SDL_WINDOWEVENT:
			if (e.window.event == SDL_WINDOWEVENT_EXPOSED ||
			    e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
				present(s);
			break;
		case SDL_KEYDOWN:
		case SDL_KEYUP: {
			uint16_t code = keymap_from_usb(e.key.keysym.scancode);
			SDL_Keymod mod = SDL_GetModState();
			if (e.type == SDL_KEYDOWN && s->grabbed && e.key.keysym.scancode == SDL_SCANCODE_G &&
			    (mod & KMOD_CTRL) && (mod & KMOD_ALT)) {
				set_grab(s, false);
				break;
			}
			if (code && !e.key.repeat)
				display_key(d, code, e.type == SDL_KEYDOWN);
			break;
		}
		case SDL_MOUSEBUTTONDOWN:
		case SDL_MOUSEBUTTONUP:
			if (!s->grabbed) {
				if (e.type == SDL_MOUSEBUTTONDOWN)
					set_grab(s, true);
				break;
			}
			if (e.type == SDL_MOUSEBUTTONDOWN)
				s->buttons |= ps2_button(e.button.button);
			else
				s->buttons &= ~ps2_button(e.button.button);
			display_mouse(d, 0, 0, 0, s->buttons);
			break;
		case SDL_MOUSEMOTION:
			if (s->grabbed)
				display_mouse(d, e.motion.xrel, -e.motion.yrel, 0, s->buttons);
			break;
		case SDL_MOUSEWHEEL:
			if (s->grabbed)
				display_mouse(d, 0, 0, -e.wheel.y, s->buttons);
			break;
		default:
			break;
		}
	}
}

const struct display_ops display_sdl_ops = {
	.name = "sdl",
	.open = sdl_open,
	.close = sdl_close,
	.resize = sdl_resize,
	.update = sdl_update,
	.poll = sdl_poll,
};

#endif
