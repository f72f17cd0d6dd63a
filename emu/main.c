/*
 * main.c - the nestemu command line (QEMU's option spellings).
 *
 * Exit status: the guest's isa-debug-exit value v gives (v << 1) | 1; a
 * guest that halts for good or resets under -no-reboot gives 0; -max-insns
 * running out gives 124; any error gives 1 after one sentence on stderr.
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
#include "cpu/cpuid.h"
#include "dev/serial.h"
#include "../monitor/monitor.h"

#define EXIT_ICOUNT 124

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
	const char *debugcon, *display;
	bool no_reboot, stats;
	unsigned log_mask;
	const char *log_file;
	uint64_t max_insns;
	const char *monitor, *monitor_script, *name;	/* monitor options */
	bool start_stopped, snapshot;
	int icount_shift;	/* -1: host time */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestemu [options]\n"
		"\n"
		"nestemu is a full-system x86-64 PC emulator with a software CPU.\n"
		"Boot either firmware (-bios) or a Multiboot kernel (-kernel).\n"
		"\n"
		"Boot:\n"
		"  -bios FILE          ROM image (a multiple of 64 KiB) mapped below 4 GiB;\n"
		"                      the CPU starts at its reset vector (last 16 bytes)\n"
		"  -kernel FILE        Multiboot v1 kernel (ELF, or flat with the a.out kludge)\n"
		"  -initrd \"F1 ARGS,F2\" Multiboot modules, comma-separated (',,' is a comma)\n"
		"  -append CMDLINE     kernel command line\n"
		"\n"
		"Machine:\n"
		"  -m SIZE             guest RAM, with an optional K/M/G suffix (default 128M;\n"
		"                      a bare number means MiB)\n"
		"  -smp N              number of vCPUs (default 1; APs start on INIT-SIPI)\n"
		"  -cpu MODEL[,+F,-F]  CPU model and feature changes; '-cpu help' lists models\n"
		"  -no-reboot          exit instead of rebooting when the guest resets\n"
		"\n"
		"Devices and display:\n"
		"  -serial DEV         next serial port (COM1, then COM2-COM4): stdio,\n"
		"                      file:PATH, none, tcp:HOST:PORT[,server][,nowait] or\n"
		"                      unix:PATH[,server][,nowait] (default: COM1 on stdio)\n"
		"  -debugcon DEV       port 0xE9 debug console, same back ends (default stdio)\n"
		"  -device NAME[,K=V]  add a device; '-device help' lists them\n"
		"  -display TYPE       none (sdl is not available yet)\n"
		"  -nographic          -display none (COM1 is on stdio unless -serial is given)\n"
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
		"  -snapshot           accepted; there are no disks yet to protect\n"
		"  -config FILE        read options from an INI file: a [machine] section with\n"
		"                      m, smp, cpu, kernel, initrd, append, bios, serial,\n"
		"                      debugcon, display, monitor, no-reboot, name, device\n"
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
			if (!strcmp(v, "sdl"))
				die("the SDL display is not available yet; use -display none");
			if (strcmp(v, "none") != 0)
				die("unknown display '%s' (use -display none)", v);
			o->display = v;
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
					    "name", "device", NULL };
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
		if (!strcmp(cf->e[i].key, "no-reboot")) {
			bool on;
			if (!config_parse_bool(cf->e[i].value, &on))
				die_at(where, "invalid value '%s' for no-reboot (use yes or no)",
				       cf->e[i].value);
			if (on)
				parse_args(2, args, o, where);
			continue;
		}
		parse_args(3, args, o, where);
	}
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
	char err[512];
	double t0, t1;
	int status;

	struct config_file cf = { 0 };

	read_config(argc, argv, &o, &cf);	/* strings in o may point into cf */
	parse_args(argc, argv, &o, NULL);
	if (o.start_stopped && !o.monitor && !o.monitor_script)
		die("-S needs -monitor or -monitor-script (nothing could continue the machine)");
	if (!o.bios && !o.kernel)
		die("nothing to boot: pass -kernel FILE (a Multiboot kernel) or -bios FILE (a ROM image); see nestemu --help");
	if (o.initrd && !o.kernel)
		die("-initrd needs -kernel");
	if (o.append && !o.kernel)
		die("-append needs -kernel");

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
		.devices = o.devices,
		.ndevices = o.ndevices,
	};
	m = machine_create(&cfg, err, sizeof(err));
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
		m->paused = o.start_stopped;
	}

	t0 = now_seconds();
	stop = m->monitor ? monitor_run(m) : machine_run(m);
	t1 = now_seconds();
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
	return status;
}
