/*
 * main.c - the nestemu command line (QEMU's option spellings).
 *
 * Exit status: the guest's isa-debug-exit value v gives (v << 1) | 1; a
 * guest that halts for good or resets under -no-reboot gives 0; -max-insns
 * running out gives 124; any error gives 1 after one sentence on stderr.
 *
 * Disks: -hda..-hdd, -cdrom and -drive fill the four IDE positions (index
 * 2 * bus + unit, QEMU's numbering); a -drive without index takes the first
 * free one. Without -bios or -kernel the machine boots SeaBIOS (bios.bin
 * from the firmware directory, -L, default NESTEMU_FIRMWARE_DIR).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_file.h"
#include "devices.h"
#include "loader.h"
#include "machine.h"
#include "block/block.h"
#include "cpu/cpuid.h"
#include "dev/display.h"
#include "dev/vga.h"
#include "dev/serial.h"
#include "../monitor/monitor.h"

#define EXIT_ICOUNT 124
#define MAX_DRIVE_OPTS 8

#ifndef NESTEMU_FIRMWARE_DIR
#define NESTEMU_FIRMWARE_DIR "/usr/share/seabios"	/* Debian's seabios package */
#endif

/* One -hdX, -cdrom or -drive option. */
struct drive_opt {
	const char *what;	/* the option as the user wrote it, for messages */
	char *file, *format;	/* strings owned by the option (freed at exit) */
	enum ide_media media;
	int index;		/* IDE position 0-3, or -1 for the first free one */
	bool none;		/* if=none: opened and checked, attached to nothing */
	bool from_config;	/* read from -config: a command-line drive on its position wins */
	int read_only, snapshot;	/* -1 not given, else 0/1 */
};

struct options {
	const char *bios, *kernel, *initrd, *append;
	uint64_t ram_size;
	int ncpus;
	const char *cpu;
	const char *serial[4];	/* -serial, in order: COM1-COM4 */
	int nserial;
	bool serial_from_config;	/* serial[] came from -config: the command line replaces it */
	const char *devices[16];	/* -device arguments */
	int ndevices;
	const char *debugcon, *display, *vga, *option_rom;
	bool no_reboot, stats;
	unsigned log_mask;
	const char *log_file;
	uint64_t max_insns;
	const char *monitor, *monitor_script, *name;	/* monitor options */
	bool start_stopped, snapshot;
	int icount_shift;	/* -1: host time */
	struct drive_opt drives[MAX_DRIVE_OPTS];
	int ndrives;
	const char *boot_order;	/* -boot order letters */
	const char *firmware_dir;	/* -L */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestemu [options]\n"
		"\n"
		"nestemu is a full-system x86-64 PC emulator with a software CPU.\n"
		"Boot firmware (-bios; SeaBIOS by default) or a kernel (-kernel).\n"
		"\n"
		"Boot:\n"
		"  -bios FILE          ROM image (a multiple of 64 KiB) mapped below 4 GiB;\n"
		"                      the CPU starts at its reset vector (last 16 bytes).\n"
		"                      Without -bios and -kernel: SeaBIOS (bios.bin)\n"
		"  -L DIR              where to find bios.bin (default " NESTEMU_FIRMWARE_DIR ")\n"
		"  -boot order=LETTERS firmware boot order: c disk, d CD-ROM (default cad)\n"
		"  -kernel FILE        Multiboot v1 kernel (ELF, or flat with the a.out kludge)\n"
		"  -initrd \"F1 ARGS,F2\" Multiboot modules, comma-separated (',,' is a comma)\n"
		"  -append CMDLINE     kernel command line\n"
		"  -option-rom FILE    an option ROM the firmware runs (fw_cfg genroms/)\n"
		"\n"
		"Machine:\n"
		"  -m SIZE             guest RAM, with an optional K/M/G suffix (default 128M;\n"
		"                      a bare number means MiB)\n"
		"  -smp N              number of vCPUs (default 1; APs start on INIT-SIPI)\n"
		"  -cpu MODEL[,+F,-F]  CPU model and feature changes; '-cpu help' lists models\n"
		"  -no-reboot          exit instead of rebooting when the guest resets\n"
		"\n"
		"Disks (IDE, PIIX3):\n"
		"  -hda/-hdb/-hdc/-hdd FILE  disk image as primary master/slave, secondary\n"
		"                      master/slave (raw or qcow2, probed)\n"
		"  -cdrom FILE         ISO image as a CD-ROM on the secondary master\n"
		"  -drive file=F[,format=raw|qcow2][,if=ide|none][,media=disk|cdrom]\n"
		"         [,index=0-3][,readonly=on|off][,snapshot=on|off]\n"
		"  -snapshot           write to throw-away overlays, never to the images\n"
		"\n"
		"Devices and display:\n"
		"  -serial DEV         next serial port (COM1, then COM2-COM4): stdio,\n"
		"                      file:PATH, none, tcp:HOST:PORT[,server][,nowait] or\n"
		"                      unix:PATH[,server][,nowait] (default: COM1 on stdio)\n"
		"  -debugcon DEV       port 0xE9 debug console, same back ends (default stdio)\n"
		"  -device NAME[,K=V]  add a device; '-device help' lists them\n"
		"  -display TYPE       sdl (a window) or none; default sdl when built with\n"
		"                      SDL2 and DISPLAY or WAYLAND_DISPLAY is set, else none\n"
		"  -nographic          -display none (COM1 is on stdio unless -serial is given)\n"
		"  -vga TYPE           std (PCI VGA with Bochs VBE, 00:02.0; the default) or none\n"
		"\n"
		"Debugging:\n"
		"  -d LIST             log items, comma-separated; '-d help' lists them\n"
		"  -D FILE             write the log to FILE instead of stderr\n"
		"  -max-insns N        stop after N instructions (exit status 124)\n"
		"  -icount SHIFT       guest time advances 2^SHIFT ns per instruction (0-10),\n"
		"                      and jumps to the next timer while the CPU halts:\n"
		"                      runs are reproducible\n"
		"  -stats              print instructions retired, seconds and MIPS at exit\n"
		"\n"
		"Monitor and configuration:\n"
		"  -monitor DEV        monitor console: stdio, unix:PATH[,server] or\n"
		"                      tcp:HOST:PORT (one client at a time)\n"
		"  -monitor-script F   run monitor commands from F before starting\n"
		"  -S                  start with the machine stopped (use the monitor's cont)\n"
		"  -name NAME          name of this machine\n"
		"  -config FILE        read options from an INI file: a [machine] section with\n"
		"                      m, smp, cpu, kernel, initrd, append, bios, serial,\n"
		"                      debugcon, display, vga, monitor, no-reboot, name, hda,\n"
		"                      hdb, hdc, hdd, cdrom, drive, boot, snapshot,\n"
		"                      device\n"
		"                      (options on the command line win)\n"
		"\n"
		"  -h, --help          this text\n"
		"  --version           version\n"
		"\n"
		"Exit status: a guest writing V to port 0xF4 (isa-debug-exit) ends nestemu\n"
		"with status (V << 1) | 1; a guest that halts for good or resets under\n"
		"-no-reboot gives 0; -max-insns running out gives 124; errors give 1.\n");
}

static void cpu_help(void)
{
	const char *const *names = cpu_model_names();

	printf("Available CPU models (use -cpu MODEL[,+feature,-feature,...]):\n");
	for (int k = 0; names[k]; k++) {
		const struct cpu_model *md = cpu_model_find(names[k]);
		printf("  %-20s %s\n", names[k], md && md->desc ? md->desc : "");
	}
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("nestemu: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* "512", "512M", "2G", "65536K", "size=1G": bytes, or 0 when invalid. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1ull << 20;

	if (strncmp(s, "size=", 5) == 0)
		s += 5;
	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		case 't': case 'T': mul = 1ull << 40; break;
		case 'b': case 'B': mul = 1; break;
		default: return 0;
		}
		if (end[1] != '\0' && strcasecmp(end + 1, "iB") != 0 && strcasecmp(end + 1, "B") != 0)
			return 0;
	}
	if (v == 0 || v > (1ull << 40) / mul)
		return 0;
	return v * mul;
}

/* The host's physical memory in bytes (no limit when unknown). */
static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);

	if (pages <= 0 || size <= 0)
		return UINT64_MAX;
	return (uint64_t)pages * (uint64_t)size;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0';
}

__attribute__((format(printf, 2, 3), noreturn)) static void die_at(const char *where,
								    const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("nestemu: ", stderr);
	if (where)
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		die("out of memory");
	return d;
}

static struct drive_opt *new_drive(struct options *o, const char *where, const char *what)
{
	struct drive_opt *d;

	if (o->ndrives >= MAX_DRIVE_OPTS)
		die_at(where, "too many drives: at most %d -hdX/-cdrom/-drive options", MAX_DRIVE_OPTS);
	d = &o->drives[o->ndrives++];
	*d = (struct drive_opt){ .what = what, .index = -1, .read_only = -1, .snapshot = -1,
				 .media = IDE_MEDIA_DISK, .from_config = where != NULL };
	return d;
}

static int parse_on_off(const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		return 0;
	return -1;
}

/* -drive KEY=VALUE,...: ",," is a comma inside a value (QEMU's rule). */
static void parse_drive(struct options *o, const char *spec, const char *where)
{
	struct drive_opt *d = new_drive(o, where, "-drive");
	char *buf = xstrdup(spec), *p = buf;
	bool have_file = false;

	while (*p) {
		char *key = p, *val, *w;
		/* One item: up to a single comma; ",," stays as one comma. */
		for (w = p; *p; p++) {
			if (*p == ',' && p[1] == ',') {
				*w++ = ',';
				p++;
			} else if (*p == ',') {
				p++;
				break;
			} else {
				*w++ = *p;
			}
		}
		char *end = w;
		bool more = *p != '\0';
		*end = '\0';
		val = strchr(key, '=');
		if (val == NULL)
			die_at(where, "-drive item '%s' is not KEY=VALUE (e.g. file=disk.img,format=raw)", key);
		*val++ = '\0';
		if (!strcmp(key, "file")) {
			if (*val == '\0')
				die_at(where, "-drive file= needs a file name");
			free(d->file);
			d->file = xstrdup(val);
			have_file = true;
		} else if (!strcmp(key, "format")) {
			if (strcmp(val, "raw") != 0 && strcmp(val, "qcow2") != 0)
				die_at(where, "unknown disk image format '%s' in -drive (use raw or qcow2)", val);
			free(d->format);
			d->format = xstrdup(val);
		} else if (!strcmp(key, "if")) {
			if (strcmp(val, "ide") != 0 && strcmp(val, "none") != 0)
				die_at(where, "unsupported -drive interface 'if=%s' (use if=ide or if=none)", val);
			d->none = !strcmp(val, "none");
		} else if (!strcmp(key, "media")) {
			if (!strcmp(val, "disk"))
				d->media = IDE_MEDIA_DISK;
			else if (!strcmp(val, "cdrom"))
				d->media = IDE_MEDIA_CDROM;
			else
				die_at(where, "unknown -drive media '%s' (use media=disk or media=cdrom)", val);
		} else if (!strcmp(key, "index")) {
			if (val[0] < '0' || val[0] > '3' || val[1] != '\0')
				die_at(where, "invalid -drive index '%s' (IDE has positions 0 to 3)", val);
			d->index = val[0] - '0';
		} else if (!strcmp(key, "readonly") || !strcmp(key, "read-only")) {
			if ((d->read_only = parse_on_off(val)) < 0)
				die_at(where, "invalid value '%s' for -drive %s (use on or off)", val, key);
		} else if (!strcmp(key, "snapshot")) {
			if ((d->snapshot = parse_on_off(val)) < 0)
				die_at(where, "invalid value '%s' for -drive snapshot (use on or off)", val);
		} else if (!strcmp(key, "id")) {
			/* accepted: nothing refers to drive ids yet */
		} else {
			die_at(where, "unknown -drive key '%s' (known: file, format, if, media, index, readonly, snapshot, id)",
			       key);
		}
		if (!more)
			break;
	}
	free(buf);
	if (!have_file && d->media == IDE_MEDIA_DISK)
		die_at(where, "-drive needs file=FILE for a disk (only a CD-ROM drive may be empty)");
}

/* -boot order=LETTERS (or just LETTERS): a floppy, c disk, d CD-ROM, n network. */
static void parse_boot(struct options *o, const char *v, const char *where)
{
	const char *letters = strncmp(v, "order=", 6) == 0 ? v + 6 : v;

	if (*letters == '\0' || strchr(letters, ',') || strchr(letters, '='))
		die_at(where, "invalid -boot '%s' (use -boot order=LETTERS, e.g. order=cd)", v);
	for (const char *c = letters; *c; c++)
		if (!strchr("acdn", *c))
			die_at(where, "unknown boot device '%c' in -boot (use c for disk, d for CD-ROM)", *c);
	o->boot_order = letters;
}

/* where: "FILE:LINE" for options read from -config, NULL on the command line. */
static void parse_args(int argc, char **argv, struct options *o, const char *where)
{
#define die(...) die_at(where, __VA_ARGS__)
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];
		const char *v = NULL;

		if (a[0] != '-' || a[1] == '\0')
			die("unexpected argument '%s' (options start with '-'; see nestemu --help)", a);
		if (a[1] == '-' && a[2] != '\0')
			a++;	/* QEMU accepts --opt as -opt */

#define ARG() \
	do { \
		if (k + 1 >= argc) \
			die("option %s needs an argument (see nestemu --help)", argv[k]); \
		v = argv[++k]; \
	} while (0)

		if (!strcmp(a, "-h") || !strcmp(a, "-help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "-version")) {
			printf("nestemu %s\n", NESTEMU_VERSION);
			exit(0);
		} else if (!strcmp(a, "-bios")) {
			ARG(); o->bios = v;
		} else if (!strcmp(a, "-kernel")) {
			ARG(); o->kernel = v;
		} else if (!strcmp(a, "-initrd")) {
			ARG(); o->initrd = v;
		} else if (!strcmp(a, "-option-rom")) {
			ARG(); o->option_rom = v;
		} else if (!strcmp(a, "-append")) {
			ARG(); o->append = v;
		} else if (!strcmp(a, "-m")) {
			ARG();
			o->ram_size = parse_size(v);
			if (o->ram_size == 0)
				die("invalid memory size '%s' for -m (use e.g. 512M or 2G)", v);
			if (o->ram_size < (2ull << 20))
				die("memory size '%s' is too small: -m needs at least 2M", v);
			if (o->ram_size & 0xfff)
				die("memory size '%s' is not a multiple of 4 KiB", v);
			if (o->ram_size > host_memory())
				die("memory size '%s' is more than this host's %llu MiB of RAM; use a smaller -m",
				    v, (unsigned long long)(host_memory() >> 20));
		} else if (!strcmp(a, "-smp")) {
			uint64_t n;
			ARG();
			if (!parse_u64(strncmp(v, "cpus=", 5) == 0 ? v + 5 : v, &n) || n < 1 ||
			    n > MACHINE_MAX_CPUS)
				die("invalid CPU count '%s' for -smp (use 1 to %d)", v, MACHINE_MAX_CPUS);
			o->ncpus = (int)n;
		} else if (!strcmp(a, "-cpu")) {
			ARG();
			if (!strcmp(v, "help") || !strcmp(v, "?")) {
				cpu_help();
				exit(0);
			}
			o->cpu = v;
		} else if (!strcmp(a, "-serial")) {
			char err[300];
			ARG();
			if (o->serial_from_config && where == NULL) {
				o->nserial = 0;	/* the command line wins over -config */
				o->serial_from_config = false;
			}
			if (o->nserial >= 4)
				die("too many -serial options: there are four serial ports (COM1-COM4)");
			if (serial_backend_check(v, "serial", err, sizeof(err)) < 0)
				die("%s", err);
			for (int i = 0; i < o->nserial; i++)
				if (!strcmp(v, "stdio") && !strcmp(o->serial[i], "stdio"))
					die("only one -serial can use stdio (its input cannot be shared)");
			o->serial[o->nserial++] = v;
			o->serial_from_config |= where != NULL;
		} else if (!strcmp(a, "-debugcon")) {
			char err[300];
			ARG();
			if (serial_backend_check(v, "debugcon", err, sizeof(err)) < 0)
				die("%s", err);
			o->debugcon = v;
		} else if (!strcmp(a, "-device")) {
			char err[300];
			ARG();
			if (!strcmp(v, "help") || !strcmp(v, "?")) {
				devices_help(stdout);
				exit(0);
			}
			if (devices_check(v, err, sizeof(err)) < 0)
				die("%s", err);
			if (o->ndevices >= (int)(sizeof(o->devices) / sizeof(o->devices[0])))
				die("too many -device options (at most %d)",
				    (int)(sizeof(o->devices) / sizeof(o->devices[0])));
			o->devices[o->ndevices++] = v;
		} else if (!strcmp(a, "-display")) {
			ARG();
			if (!strcmp(v, "sdl") && !HAVE_SDL2)
				die("this nestemu was built without SDL2; use -display none");
			if (strcmp(v, "none") != 0 && strcmp(v, "sdl") != 0)
				die("unknown display '%s' (use -display sdl or none)", v);
			o->display = v;
		} else if (!strcmp(a, "-vga")) {
			ARG();
			if (strcmp(v, "std") != 0 && strcmp(v, "none") != 0)
				die("unknown VGA card '%s' (use -vga std or none)", v);
			o->vga = v;
		} else if (!strcmp(a, "-nographic")) {
			o->display = "none";	/* COM1 is on stdio unless -serial says otherwise */
		} else if (!strcmp(a, "-no-reboot")) {
			o->no_reboot = true;
		} else if (!strcmp(a, "-d")) {
			char err[200];
			ARG();
			if (!strcmp(v, "help")) {
				log_help(stdout);
				exit(0);
			}
			if (log_parse(v, &o->log_mask, err, sizeof(err)) < 0)
				die("%s", err);
		} else if (!strcmp(a, "-D")) {
			ARG(); o->log_file = v;
		} else if (!strcmp(a, "-max-insns")) {
			ARG();
			if (!parse_u64(v, &o->max_insns) || o->max_insns == 0)
				die("invalid instruction count '%s' for -max-insns (use a positive number)", v);
		} else if (!strcmp(a, "-icount")) {
			uint64_t n;
			ARG();
			if (!parse_u64(strncmp(v, "shift=", 6) == 0 ? v + 6 : v, &n) || n > 10)
				die("invalid shift '%s' for -icount (use 0 to 10: 2^SHIFT ns per instruction)", v);
			o->icount_shift = (int)n;
		} else if (!strcmp(a, "-stats")) {
			o->stats = true;
		} else if (!strcmp(a, "-monitor")) {
			ARG(); o->monitor = v;
		} else if (!strcmp(a, "-monitor-script")) {
			ARG(); o->monitor_script = v;
		} else if (!strcmp(a, "-S")) {
			o->start_stopped = true;
		} else if (!strcmp(a, "-snapshot")) {
			o->snapshot = true;
		} else if (!strcmp(a, "-hda") || !strcmp(a, "-hdb") || !strcmp(a, "-hdc") ||
			   !strcmp(a, "-hdd") || !strcmp(a, "-cdrom")) {
			struct drive_opt *d;
			ARG();
			d = new_drive(o, where, a[1] == 'h' ? (a[3] == 'a' ? "-hda" : a[3] == 'b' ? "-hdb"
								: a[3] == 'c' ? "-hdc" : "-hdd")
							   : "-cdrom");
			d->file = xstrdup(v);
			if (a[1] == 'c') {
				d->media = IDE_MEDIA_CDROM;
				d->index = 2;
			} else {
				d->index = a[3] - 'a';
			}
		} else if (!strcmp(a, "-drive")) {
			ARG();
			parse_drive(o, v, where);
		} else if (!strcmp(a, "-boot")) {
			ARG();
			parse_boot(o, v, where);
		} else if (!strcmp(a, "-L")) {
			ARG(); o->firmware_dir = v;
		} else if (!strcmp(a, "-name")) {
			ARG(); o->name = v;
		} else if (!strcmp(a, "-config") && where == NULL) {
			ARG();	/* already applied by read_config */
		} else {
			die("unknown option '%s' (see nestemu --help)", argv[k]);
		}
#undef ARG
	}
#undef die
}

/* -config FILE: applies the file's keys as options, before the command line. */
static void read_config(int argc, char **argv, struct options *o, struct config_file *cf)
{
	static const char *const keys[] = { "m", "smp", "cpu", "kernel", "initrd", "append", "bios",
					    "serial", "debugcon", "display", "monitor", "no-reboot",
					    "name", "vga", "hda", "hdb", "hdc", "hdd", "cdrom", "drive", "boot",
					    "snapshot", "device", NULL };
	const char *path = NULL;
	char err[600];

	for (int k = 1; k < argc; k++)
		if (!strcmp(argv[k], "-config") || !strcmp(argv[k], "--config")) {
			if (k + 1 >= argc)
				die("option %s needs an argument (see nestemu --help)", argv[k]);
			path = argv[++k];
		}
	if (path == NULL)
		return;
	if (config_load(path, "machine", keys, cf, err, sizeof(err)) < 0)
		die("%s", err);
	for (int i = 0; i < cf->n; i++) {
		char where[300], opt[40];
		char *args[3];
		snprintf(where, sizeof(where), "%s:%d", path, cf->e[i].line);
		snprintf(opt, sizeof(opt), "-%s", cf->e[i].key);
		args[0] = argv[0];
		args[1] = opt;
		args[2] = cf->e[i].value;
		if (!strcmp(cf->e[i].key, "no-reboot") || !strcmp(cf->e[i].key, "snapshot")) {
			bool on;
			if (!config_parse_bool(cf->e[i].value, &on))
				die_at(where, "invalid value '%s' for %s (use yes or no)",
				       cf->e[i].value, cf->e[i].key);
			if (on)
				parse_args(2, args, o, where);
			continue;
		}
		parse_args(3, args, o, where);
	}
}

static const char *const ide_slot_names[IDE_DRIVES] = {
	"primary master", "primary slave", "secondary master", "secondary slave",
};

/*
 * Places the drives on the IDE positions (explicit ones first, then each
 * unplaced one on the first free position) and opens their images into
 * cfg->drives. Dies with one sentence on any conflict or bad image.
 */
static void open_drives(const struct options *o, struct machine_config *cfg)
{
	int owner[IDE_DRIVES] = { -1, -1, -1, -1 }, index[MAX_DRIVE_OPTS];
	bool dropped[MAX_DRIVE_OPTS] = { false };
	char err[600];

	for (int k = 0; k < o->ndrives; k++) {
		const struct drive_opt *d = &o->drives[k];
		index[k] = d->index;
		if (d->none || d->index < 0)
			continue;
		if (owner[d->index] >= 0 && o->drives[owner[d->index]].from_config && !d->from_config) {
			dropped[owner[d->index]] = true;	/* the command line wins */
		} else if (owner[d->index] >= 0) {
			die("IDE position %d (%s) is given twice, by %s and by %s; use another index",
			    d->index, ide_slot_names[d->index], o->drives[owner[d->index]].what, d->what);
		}
		owner[d->index] = k;
	}
	for (int k = 0; k < o->ndrives; k++) {
		const struct drive_opt *d = &o->drives[k];
		int i = 0;
		if (d->none || d->index >= 0)
			continue;
		while (i < IDE_DRIVES && owner[i] >= 0)
			i++;
		if (i == IDE_DRIVES)
			die("no free IDE position for %s '%s': all four are taken", d->what,
			    d->file ? d->file : "");
		owner[i] = k;
		index[k] = i;
	}
	for (int k = 0; k < o->ndrives; k++) {
		const struct drive_opt *d = &o->drives[k];
		bool cd = d->media == IDE_MEDIA_CDROM;
		struct block_options bo = {
			.file = d->file,
			.format = d->format,
			.read_only = cd || d->read_only == 1,
			.snapshot = !cd && (d->snapshot == 1 || (d->snapshot < 0 && o->snapshot)),
		};
		struct block_backend *blk = NULL;

		if (dropped[k])
			continue;
		if (d->file && block_open(&blk, &bo, err, sizeof(err)) < 0)
			die("%s", err);
		if (d->none) {
			block_close(blk);
			continue;
		}
		cfg->drives[index[k]] = (struct ide_drive_config){ .media = d->media, .blk = blk };
	}
}

/* The directory of the lowest-numbered IDE disk's image, or "" without disks. */
static void first_disk_dir(const struct options *o, char *out, size_t len)
{
	const struct drive_opt *best = NULL;

	out[0] = '\0';
	for (int k = 0; k < o->ndrives; k++) {
		const struct drive_opt *d = &o->drives[k];
		if (d->media == IDE_MEDIA_DISK && !d->none && d->file &&
		    (best == NULL || (d->index >= 0 && (best->index < 0 || d->index < best->index))))
			best = d;
	}
	if (best == NULL)
		return;
	const char *slash = strrchr(best->file, '/');
	if (slash == NULL)
		snprintf(out, len, ".");
	else if (slash == best->file)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - best->file), best->file);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct options o = { .ram_size = 128ull << 20, .ncpus = 1, .debugcon = "stdio",
			     .icount_shift = -1 };
	struct machine_config cfg;
	struct machine *m;
	enum machine_stop stop;
	char err[512], firmware[4096], snapdir[4096];
	double t0, t1;
	int status;

	struct config_file cf = { 0 };

	read_config(argc, argv, &o, &cf);	/* strings in o may point into cf */
	parse_args(argc, argv, &o, NULL);
	if (o.start_stopped && !o.monitor && !o.monitor_script)
		die("-S needs -monitor or -monitor-script (nothing could continue the machine)");
	if (!o.bios && !o.kernel) {
		snprintf(firmware, sizeof(firmware), "%s/bios.bin",
			 o.firmware_dir ? o.firmware_dir : NESTEMU_FIRMWARE_DIR);
		if (access(firmware, R_OK) != 0)
			die("nothing to boot: the default firmware %s cannot be read (install Debian's seabios package, or pass -L DIR, -bios FILE or -kernel FILE)",
			    firmware);
		o.bios = firmware;
	}
	if (o.initrd && !o.kernel)
		die("-initrd needs -kernel");
	if (o.append && !o.kernel)
		die("-append needs -kernel");
	if (o.vga == NULL)
		o.vga = "std";
	if (o.display == NULL)
		o.display = HAVE_SDL2 && (getenv("DISPLAY") || getenv("WAYLAND_DISPLAY")) ? "sdl?" : "none";

	cfg = (struct machine_config){
		.ram_size = o.ram_size,
		.ncpus = o.ncpus,
		.cpu_spec = o.cpu,
		.no_reboot = o.no_reboot,
		.icount_limit = o.max_insns,
		.serial = o.nserial ? o.serial[0] : "stdio",
		.serial_more = { o.serial[1], o.serial[2], o.serial[3] },
		.debugcon = o.debugcon,
		.icount = o.icount_shift >= 0,
		.icount_shift = o.icount_shift >= 0 ? (unsigned)o.icount_shift : 0,
		.boot_order = o.boot_order,
		.vga = o.vga,
		.option_rom = o.option_rom,
		.display = strcmp(o.display, "sdl?") == 0 ? "sdl" : o.display,
		.devices = o.devices,
		.ndevices = o.ndevices,
	};
	/* The card's ROM BAR holds the VGA BIOS for firmware to run; a direct
	 * kernel boot runs no firmware, so the card starts in text mode 3 with
	 * the VGA BIOS's font, as a boot loader would leave it. */
	if (o.kernel && strcmp(o.vga, "std") == 0 && access(VGA_BIOS_DEFAULT, R_OK) == 0)
		cfg.vga_font = VGA_BIOS_DEFAULT;
	if (!o.kernel && strcmp(o.vga, "std") == 0) {
		if (access(VGA_BIOS_DEFAULT, R_OK) == 0)
			cfg.vga_bios = VGA_BIOS_DEFAULT;
		else
			fprintf(stderr, "nestemu: no VGA BIOS at %s, so the firmware cannot show a picture (install Debian's seabios package).\n",
				VGA_BIOS_DEFAULT);
	}
	open_drives(&o, &cfg);
	m = machine_create(&cfg, err, sizeof(err));
	if (m == NULL && strcmp(o.display, "sdl?") == 0 && strstr(err, "SDL")) {
		/* The default display could not open (no usable X/Wayland server): run without one. */
		fprintf(stderr, "nestemu: %s; running without a display.\n", err);
		cfg.display = "none";
		open_drives(&o, &cfg);	/* the failed machine_create closed them */
		m = machine_create(&cfg, err, sizeof(err));
	}
	if (m == NULL)
		die("%s", err);
	m->log.mask = o.log_mask;
	if (o.log_file) {
		m->log.out = fopen(o.log_file, "w");
		if (m->log.out == NULL) {
			int e = errno;
			m->log.out = stderr;
			machine_destroy(m);
			die("cannot open log file '%s': %s", o.log_file, strerror(e));
		}
	}
	if ((o.bios && loader_load_bios(m, o.bios, err, sizeof(err)) < 0) ||
	    (o.kernel && loader_load_multiboot(m, o.kernel, o.append, o.initrd, err, sizeof(err)) < 0)) {
		machine_destroy(m);
		die("%s", err);
	}

	if (o.monitor || o.monitor_script) {
		struct monitor *mon = monitor_get(m);
		if (mon == NULL ||
		    (o.monitor && monitor_open(mon, o.monitor, err, sizeof(err)) < 0) ||
		    (o.monitor_script && monitor_load_script(mon, o.monitor_script, err, sizeof(err)) < 0)) {
			if (mon == NULL)
				snprintf(err, sizeof(err), "out of memory creating the monitor");
			machine_destroy(m);
			die("%s", err);
		}
		monitor_set_name(mon, o.name);
		first_disk_dir(&o, snapdir, sizeof(snapdir));
		if (snapdir[0])
			monitor_set_snapshot_dir(mon, snapdir);	/* snapshots beside the first disk */
		m->paused = o.start_stopped;
	}

	t0 = now_seconds();
	stop = m->monitor ? monitor_run(m) : machine_run(m);
	t1 = now_seconds();
	if (stop == STOP_HALTED && display_visible(machine_display(m))) {
		/* As a monitor would: the last picture stays until the window closes. */
		fprintf(stderr, "nestemu: the guest halted; close the window to quit.\n");
		display_wait_closed(machine_display(m));
	}
	fflush(stdout);

	switch (stop) {
	case STOP_EXIT:
		status = m->exit_status;
		break;
	case STOP_ICOUNT:
		fprintf(stderr, "nestemu: stopped after %" PRIu64 " instructions (-max-insns).\n",
			machine_icount(m));
		status = EXIT_ICOUNT;
		break;
	case STOP_ERROR:
		status = 1;
		break;
	default:
		status = 0;
		break;
	}
	if (o.stats) {
		uint64_t n = machine_icount(m);
		double s = t1 - t0;
		fprintf(stderr, "instructions: %" PRIu64 "\nseconds: %.6f\nMIPS: %.2f\n", n, s,
			s > 0 ? n / s / 1e6 : 0.0);
	}
	machine_destroy(m);
	config_free(&cf);
	for (int k = 0; k < o.ndrives; k++) {
		free(o.drives[k].file);
		free(o.drives[k].format);
	}
	return status;
}
