/*
 * cmd_display.c - the monitor's display commands: screendump (PNG),
 * sendkey (QEMU's key syntax) and "info vga".
 *
 * screendump draws the card's picture at the moment of the command (the
 * same drawing the display shows, independent of the back end, so it
 * works with -display none) and writes it atomically (emu/png.h).
 * sendkey presses the keys of "ctrl-alt-delete" in order and releases
 * them in reverse order after the hold time (default 100 ms of guest
 * time), through the PS/2 keyboard (dev/display.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "../emu/png.h"
#include "../emu/dev/display.h"
#include "../emu/dev/keymap.h"
#include "../emu/dev/vga.h"

#define SENDKEY_HOLD_MS 100
#define SENDKEY_MAX 16

static struct vga *mon_vga(struct monitor *mon)
{
	struct display *d = machine_display(mon_machine(mon));
	return d ? d->vga : NULL;
}

static int cmd_screendump(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct vga *v = mon_vga(mon);
	struct vga_image img;
	int r;

	if (v == NULL)
		return mon_error(out, "no VGA card: %s needs the machine started with -vga std", argv[0]);
	vga_draw(v, &img, true);
	if (img.pixels == NULL || img.width <= 0 || img.height <= 0)
		return mon_error(out, "the VGA card has no picture to save");
	r = png_write(argv[1], img.pixels, img.width, img.height);
	if (r < 0)
		return mon_error(out, "cannot write '%s': %s", argv[1], strerror(-r));
	fprintf(out, "saved the %dx%d screen to %s\n", img.width, img.height, argv[1]);
	return 0;
}

static int cmd_sendkey(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct display *d = machine_display(mon_machine(mon));
	uint16_t keys[SENDKEY_MAX];
	unsigned long hold = SENDKEY_HOLD_MS;
	const char *p = argv[1];
	int n = 0;

	if (argc > 2) {
		char *end;
		hold = strtoul(argv[2], &end, 0);
		if (argv[2][0] < '0' || argv[2][0] > '9' || *end || hold > 60000)
			return mon_error(out, "invalid hold time '%s' (milliseconds, at most 60000)", argv[2]);
	}
	while (*p) {
		char name[32];
		size_t len = strcspn(p, "-");
		int code;

		if (len == 0 || len >= sizeof(name))
			return mon_error(out, "invalid key list '%s' (use e.g. ctrl-alt-delete)", argv[1]);
		memcpy(name, p, len);
		name[len] = '\0';
		code = keymap_from_name(name);
		if (code < 0)
			return mon_error(out, "unknown key '%s' (QEMU names: a, ret, spc, ctrl, alt, shift, f1, ...)",
					 name);
		if (n == SENDKEY_MAX)
			return mon_error(out, "too many keys in '%s' (at most %d)", argv[1], SENDKEY_MAX);
		keys[n++] = (uint16_t)code;
		p += len;
		if (*p == '-' && *++p == '\0')
			return mon_error(out, "invalid key list '%s' (use e.g. ctrl-alt-delete)", argv[1]);
	}
	if (d == NULL || display_send_keys(d, keys, n, (unsigned)hold) < 0)
		return mon_error(out, "this machine has no keyboard");
	return 0;
}

int mon_info_vga(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct vga *v = mon_vga(mon);

	if (v == NULL) {
		fprintf(out, "no VGA card (-vga none)\n");
		return 0;
	}
	vga_describe(v, out);
	return 0;
}

const struct mon_cmd mon_display_cmds[] = {
	{ "screendump", "FILE.png", "save the screen as a PNG image", cmd_screendump, 1, 1, "png" },
	{ "sendkey", "KEYS [HOLD_MS]", "press keys, e.g. ctrl-alt-delete, and release them after HOLD_MS (100)",
	  cmd_sendkey, 1, 2, "k:ctrl-alt-delete|ret|esc|tab|spc" },
	{ .name = NULL },
};
