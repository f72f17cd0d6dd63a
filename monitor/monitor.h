/*
 * monitor.h - the nestemu monitor: a command table, its parser and
 * dispatcher, and the front ends that feed it lines (console.c: readline
 * on stdio, unix/tcp sockets, script files).
 *
 * One struct monitor per machine (m->monitor). Commands write to the
 * FILE * they are given, so tests capture output with open_memstream
 * (monitor_exec_str). Errors are one line starting "error: "; a command
 * that fails leaves the machine unchanged.
 *
 * Single-threaded: the front ends are polled by machine_run between CPU
 * slices (m->monitor_poll) and block in poll() while the machine is
 * stopped (monitor_run). "Running" means started and not stopped.
 */
#ifndef NESTEMU_MONITOR_H
#define NESTEMU_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../emu/machine.h"

struct monitor;

/* An "info NAME" provider: args is the rest of the line (may be ""). */
typedef void (*monitor_info_fn)(struct machine *m, FILE *out, const char *args);

/* The machine's monitor, created on first use; NULL only when out of memory. */
struct monitor *monitor_get(struct machine *m);
/* Called by machine_destroy. */
void monitor_destroy(struct monitor *mon);

/*
 * Adds (or replaces) "info NAME" for a device: "pic", "lapic", ... Until a
 * provider registers, the built-in placeholders say "not available yet".
 * Returns 0 or -ENOMEM.
 */
int monitor_add_info(struct machine *m, const char *name, const char *help, monitor_info_fn fn)
	__attribute__((warn_unused_result));

/* Runs one command line, writing to out. Returns 0, or -1 after printing one error line. */
int monitor_exec(struct monitor *mon, const char *line, FILE *out);
/* The same, returning the output as a malloc'd string (tests). */
char *monitor_exec_str(struct monitor *mon, const char *line);

/*
 * Completion: the idx-th candidate (0, 1, ...) for the word being typed
 * at the end of `line` (the text before the cursor), or NULL when there
 * are no more. Candidates are whole words (commands, sub-commands,
 * keywords) or, where a file name is expected, paths. Returns malloc'd.
 */
char *monitor_complete(struct monitor *mon, const char *line, int idx);

/* Where snapshots live (default "nestemu-snapshots"; see docs). */
void monitor_set_snapshot_dir(struct monitor *mon, const char *dir);
const char *monitor_snapshot_dir(const struct monitor *mon);

/* State the command line gives the monitor. */
void monitor_set_name(struct monitor *mon, const char *name);
/* Marks the machine started (running unless paused). */
void monitor_set_started(struct monitor *mon, bool started);
bool monitor_vm_running(const struct monitor *mon);

/* ---- Front ends (console.c) ---- */

/*
 * Opens a monitor front end: "stdio", "unix:PATH[,server][,nowait]" or
 * "tcp:HOST:PORT". Returns 0, or -1 with one sentence in err.
 */
int monitor_open(struct monitor *mon, const char *spec, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Queues the lines of FILE to run (see monitor_run). -1 with err when unreadable. */
int monitor_load_script(struct monitor *mon, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* True when a front end or script lines exist (main then uses monitor_run). */
bool monitor_active(const struct monitor *mon);

/*
 * The top-level loop with a monitor: runs script lines (a script's
 * "cont" or "step" lets the machine run; the following lines wait until
 * it stops again), runs the machine, serves the front ends, and blocks
 * while the machine is stopped. Returns why the machine ended, as
 * machine_run does (never STOP_PAUSED).
 */
enum machine_stop monitor_run(struct machine *m);

/* ---- Internal to monitor/ (monitor.c, cmd_*.c, console.c) ---- */

struct mon_cmd {
	const char *name;	/* "info", "x", "break" */
	const char *args;	/* usage: "ADDR [LEN]" */
	const char *help;	/* one line */
	/* argv[0] is the command name (for x/FMT the whole "x/FMT" word). */
	int (*fn)(struct monitor *mon, FILE *out, int argc, char **argv);
	int min_args, max_args;	/* after the name; max -1 = any */
	/* Per-argument completion, ';' between arguments: "f" a file name, "png" a
	 * .png file, "s" a snapshot name, "S" a state section, "c" a command,
	 * "i" an info topic, "k:a|b" keywords, "" nothing. */
	const char *complete;
};

/* The tables, each ending with a NULL name: inspection commands and the
 * "info" topics (cmd_info.c), control commands (cmd_ctl.c). */
extern const struct mon_cmd mon_inspect_cmds[];
extern const struct mon_cmd mon_info_cmds[];
extern const struct mon_cmd mon_ctl_cmds[];
extern const struct mon_cmd mon_display_cmds[];	/* screendump, sendkey (cmd_display.c) */
int mon_info_breakpoints(struct monitor *mon, FILE *out, int argc, char **argv);
int mon_info_vga(struct monitor *mon, FILE *out, int argc, char **argv);
/* Device topics (cmd_dev.c). */
int mon_info_pci(struct monitor *mon, FILE *out, int argc, char **argv);
int mon_info_irq(struct monitor *mon, FILE *out, int argc, char **argv);
int mon_info_pic(struct monitor *mon, FILE *out, int argc, char **argv);
int mon_info_lapic(struct monitor *mon, FILE *out, int argc, char **argv);
int mon_info_ioapic(struct monitor *mon, FILE *out, int argc, char **argv);

/* Shared helpers. */
struct machine *mon_machine(struct monitor *mon);
struct cpu *mon_cpu(struct monitor *mon);	/* the selected vCPU ("cpu N") */
void mon_select_cpu(struct monitor *mon, int idx);
int mon_error(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a number or an expression "$reg", "N", "$reg+N", "N-M" ... */
bool mon_parse_value(struct monitor *mon, const char *s, uint64_t *out);
bool mon_parse_size(const char *s, uint64_t *out);	/* 4096, 64K, 512M, 2G */
/* Reads guest memory for display: linear (through the current paging,
 * without A/D updates or faults) or physical. Returns 0 or -1 with a message in err. */
int mon_read_mem(struct monitor *mon, uint64_t addr, bool phys, void *buf, size_t len,
		 char *err, size_t errlen);
/* Runs `info SUB ...` through the registered and built-in providers. */
int mon_info(struct monitor *mon, FILE *out, int argc, char **argv);

/* Breakpoints, watchpoints and stepping (cmd_ctl.c). */
void mon_ctl_free(struct monitor *mon);
void mon_note_resume(struct monitor *mon);	/* cont: step over a breakpoint at RIP */
/* Per-monitor control state, owned by cmd_ctl.c. */
struct mon_ctl;
struct mon_ctl **mon_ctl_slot(struct monitor *mon);
/* Script bookkeeping: a "cont" from a script makes the next lines wait
 * until the machine stops again. */
void mon_script_resumed(struct monitor *mon);
bool mon_in_script(const struct monitor *mon);
int mon_exec_script_line(struct monitor *mon, const char *line, FILE *out);
/* An asynchronous event (breakpoint hit, machine stopped): one line to
 * every front end (console.c). */
void mon_event(struct monitor *mon, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Front-end state (console.c). */
struct mon_console;
struct mon_console **mon_console_slot(struct monitor *mon);
void mon_console_free(struct monitor *mon);

#endif
