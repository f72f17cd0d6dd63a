/*
 * cmd_ctl.c - the monitor's control and configuration commands: stop,
 * cont, step, reset, power off, breakpoints and watchpoints, vCPU
 * configuration, memory size, snapshots.
 *
 * Breakpoints are linear execution addresses (CS base + RIP). While any
 * breakpoint or watchpoint exists, m->monitor_break is set, so
 * machine_run runs one step at a time and asks before each step: simple
 * and exact, at the cost of speed while debugging. `cont` steps over a
 * breakpoint at the current RIP.
 *
 * Watchpoints are not guest-visible (DR0-3 stay the guest's): they set
 * cpu->mon_watch, which routes every data access through the MMU slow
 * path's cpu_debug_data, which reports to m->monitor_watch. A hit stops
 * the machine after the accessing instruction.
 *
 * The two configuration rules of the nested-virtualization scenario:
 *  - expose-virtualization changes only while the machine is not running
 *    (stopped, or not started yet with -S); it takes effect at once when
 *    the machine never ran, else at the next system_reset;
 *  - memory resize is refused while any vCPU is in VMX operation or has
 *    EFER.SVME set; otherwise the new size applies at the next reset (at
 *    once when the machine never ran).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "../emu/cpu/cpu.h"
#include "../emu/cpu/cpuid.h"
#include "../emu/dev/acpi_pm.h"
#include "../emu/mmu/mmu.h"
#include "../emu/snapshot.h"

#define MAX_BP 32

struct mon_ctl {
	struct { int id; uint64_t lin; } bp[MAX_BP];
	int nbp;
	struct { int id; uint64_t addr, len; unsigned kinds; } wp[MAX_BP];	/* kinds: bit ACC_READ/ACC_WRITE */
	int nwp;
	int next_id;
	bool skip;		/* first step after cont: ignore a breakpoint at skip_lin */
	uint64_t skip_lin;
	bool hit;		/* a watchpoint was hit by the last step */
	int hit_id;
	uint64_t hit_addr;
	unsigned hit_size, hit_kind;
	uint64_t hit_rip;
};

static struct mon_ctl *ctl(struct monitor *mon)
{
	struct mon_ctl **slot = mon_ctl_slot(mon);

	if (*slot == NULL) {
		*slot = calloc(1, sizeof(struct mon_ctl));
		if (*slot)
			(*slot)->next_id = 1;
	}
	return *slot;
}

void mon_ctl_free(struct monitor *mon)
{
	struct mon_ctl **slot = mon_ctl_slot(mon);
	struct machine *m = mon_machine(mon);

	if (m->monitor_break)
		m->monitor_break = NULL;
	m->monitor_watch = NULL;
	free(*slot);
	*slot = NULL;
}

static uint64_t cur_lin(const struct cpu *c)
{
	return (c->seg[S_CS].base + c->rip) & c->lin_mask;
}

void mon_note_resume(struct monitor *mon)
{
	struct mon_ctl *s = ctl(mon);

	if (s) {
		s->skip = true;
		s->skip_lin = cur_lin(mon_cpu(mon));
	}
}

static bool ctl_break(struct machine *m, struct cpu *cpu)
{
	struct monitor *mon = m->monitor;
	struct mon_ctl *s = mon ? *mon_ctl_slot(mon) : NULL;

	if (s == NULL)
		return false;
	if (s->hit) {
		s->hit = false;
		mon_event(mon, "watchpoint %d: %s of %u bytes at 0x%" PRIx64
			  " by the instruction at 0x%" PRIx64 "; stopped at 0x%" PRIx64,
			  s->hit_id, s->hit_kind == ACC_WRITE ? "write" : "read", s->hit_size,
			  s->hit_addr, s->hit_rip, cur_lin(cpu));
		return true;
	}
	uint64_t lin = cur_lin(cpu);
	bool skip = s->skip && s->skip_lin == lin;
	s->skip = false;
	if (cpu->halted || skip)
		return false;
	for (int k = 0; k < s->nbp; k++)
		if (s->bp[k].lin == lin) {
			mon_event(mon, "breakpoint %d hit at 0x%" PRIx64, s->bp[k].id, lin);
			return true;
		}
	return false;
}

static void ctl_watch(struct machine *m, struct cpu *cpu, uint64_t lin, unsigned size,
		      unsigned kind)
{
	struct mon_ctl *s = m->monitor ? *mon_ctl_slot(m->monitor) : NULL;

	if (s == NULL || s->hit)
		return;
	for (int k = 0; k < s->nwp; k++)
		if ((s->wp[k].kinds & (1u << kind)) && lin < s->wp[k].addr + s->wp[k].len &&
		    s->wp[k].addr < lin + size) {
			s->hit = true;
			s->hit_id = s->wp[k].id;
			s->hit_addr = lin;
			s->hit_size = size;
			s->hit_kind = kind;
			s->hit_rip = cur_lin(cpu);
			return;
		}
}

/* Installs or removes the run-loop hooks to match the lists. */
static void sync_hooks(struct monitor *mon)
{
	struct machine *m = mon_machine(mon);
	struct mon_ctl *s = ctl(mon);
	bool watch = s->nwp > 0;

	m->monitor_break = (s->nbp || s->nwp) ? ctl_break : NULL;
	m->monitor_watch = watch ? ctl_watch : NULL;
	for (int i = 0; i < m->ncpus; i++)
		if (m->cpus[i]->mon_watch != watch) {
			m->cpus[i]->mon_watch = watch;
			cpu_update_mode(m->cpus[i]);
		}
}

int mon_info_breakpoints(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct mon_ctl *s = ctl(mon);

	if (s == NULL)
		return mon_error(out, "out of memory");
	if (s->nbp == 0 && s->nwp == 0)
		fprintf(out, "no breakpoints or watchpoints\n");
	for (int k = 0; k < s->nbp; k++)
		fprintf(out, "%-3d breakpoint  0x%016" PRIx64 "\n", s->bp[k].id, s->bp[k].lin);
	for (int k = 0; k < s->nwp; k++)
		fprintf(out, "%-3d watchpoint  0x%016" PRIx64 " len %" PRIu64 " %s\n", s->wp[k].id,
			s->wp[k].addr, s->wp[k].len,
			s->wp[k].kinds == 3 ? "rw" : s->wp[k].kinds == 1 ? "r" : "w");
	return 0;
}

static int cmd_break(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct mon_ctl *s = ctl(mon);
	uint64_t lin;

	if (s == NULL)
		return mon_error(out, "out of memory");
	if (!mon_parse_value(mon, argv[1], &lin))
		return mon_error(out, "invalid address '%s'", argv[1]);
	if (s->nbp >= MAX_BP)
		return mon_error(out, "too many breakpoints (at most %d); delete one first", MAX_BP);
	s->bp[s->nbp].id = s->next_id++;
	s->bp[s->nbp].lin = lin;
	fprintf(out, "breakpoint %d at 0x%" PRIx64 "\n", s->bp[s->nbp].id, lin);
	s->nbp++;
	sync_hooks(mon);
	return 0;
}

static int cmd_watch(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct mon_ctl *s = ctl(mon);
	uint64_t addr, len;
	unsigned kinds;

	if (s == NULL)
		return mon_error(out, "out of memory");
	if (!mon_parse_value(mon, argv[1], &addr))
		return mon_error(out, "invalid address '%s'", argv[1]);
	if (!mon_parse_size(argv[2], &len) || len == 0)
		return mon_error(out, "invalid length '%s'", argv[2]);
	if (len > UINT64_MAX - addr)	/* ctl_watch's addr + len would wrap and never hit */
		return mon_error(out, "watched range 0x%" PRIx64 " + %s runs past the end of the address space",
				 addr, argv[2]);
	if (!strcmp(argv[3], "r"))
		kinds = 1u << ACC_READ;
	else if (!strcmp(argv[3], "w"))
		kinds = 1u << ACC_WRITE;
	else if (!strcmp(argv[3], "rw"))
		kinds = (1u << ACC_READ) | (1u << ACC_WRITE);
	else
		return mon_error(out, "invalid access '%s' (use r, w or rw)", argv[3]);
	if (s->nwp >= MAX_BP)
		return mon_error(out, "too many watchpoints (at most %d); delete one first", MAX_BP);
	s->wp[s->nwp].id = s->next_id++;
	s->wp[s->nwp].addr = addr;
	s->wp[s->nwp].len = len;
	s->wp[s->nwp].kinds = kinds;
	fprintf(out, "watchpoint %d at 0x%" PRIx64 " len %" PRIu64 " %s\n", s->wp[s->nwp].id, addr,
		len, argv[3]);
	s->nwp++;
	sync_hooks(mon);
	return 0;
}

static int cmd_delete(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct mon_ctl *s = ctl(mon);
	uint64_t id;

	if (s == NULL)
		return mon_error(out, "out of memory");
	if (!mon_parse_value(mon, argv[1], &id))
		return mon_error(out, "invalid breakpoint number '%s'", argv[1]);
	for (int k = 0; k < s->nbp; k++)
		if ((uint64_t)s->bp[k].id == id) {
			s->bp[k] = s->bp[--s->nbp];
			sync_hooks(mon);
			fprintf(out, "deleted breakpoint %d\n", (int)id);
			return 0;
		}
	for (int k = 0; k < s->nwp; k++)
		if ((uint64_t)s->wp[k].id == id) {
			s->wp[k] = s->wp[--s->nwp];
			sync_hooks(mon);
			fprintf(out, "deleted watchpoint %d\n", (int)id);
			return 0;
		}
	return mon_error(out, "no breakpoint or watchpoint %s (see info breakpoints)", argv[1]);
}

/* ---- run control ---- */

static int cmd_stop(struct monitor *mon, FILE *out, int argc, char **argv)
{
	mon_machine(mon)->paused = true;
	return 0;
}

static int cmd_cont(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);

	if (monitor_vm_running(mon))
		return mon_error(out, "the machine is already running");
	if (m->stop == STOP_EXIT)
		return mon_error(out, "the machine has powered off");
	m->paused = false;
	monitor_set_started(mon, true);
	mon_note_resume(mon);
	mon_script_resumed(mon);
	return 0;
}

static int cmd_step(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	struct cpu *c = mon_cpu(mon);
	uint64_t n = 1, start = c->icount, done;
	enum machine_stop s;

	if (argc > 1 && (!mon_parse_value(mon, argv[1], &n) || n == 0 || n > (1ull << 40)))
		return mon_error(out, "invalid instruction count '%s'", argv[1]);
	if (monitor_vm_running(mon))
		return mon_error(out, "the machine is running; stop it first (stop)");
	if (m->stop == STOP_EXIT)
		return mon_error(out, "the machine has powered off");
	/* Through the run loop: timers fire, interrupts arrive, -max-insns counts. */
	mon_note_resume(mon);
	s = machine_step(m, c, n);
	if (s != STOP_EXIT)
		m->paused = true;
	c = mon_cpu(mon);
	done = c->icount >= start ? c->icount - start : c->icount;	/* a reset restarts the count */
	fprintf(out, "stepped %" PRIu64 " instruction%s; rip=0x%016" PRIx64 "%s%s\n", done,
		done == 1 ? "" : "s", c->rip, c->halted ? " (halted)" : "",
		s == STOP_ICOUNT ? " (the -max-insns limit)" : s == STOP_EXIT ? " (powered off)" : "");
	return 0;
}

static int cmd_system_reset(struct monitor *mon, FILE *out, int argc, char **argv)
{
	machine_reset(mon_machine(mon));
	fprintf(out, "machine reset\n");
	return 0;
}

static int cmd_powerdown(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	struct acpi_pm *pm = machine_acpi_pm(m);

	if (pm == NULL) {
		fprintf(out, "no ACPI power button on this machine: powering off now (exit status 0)\n");
		machine_request_exit(m, 0);
		m->paused = false;
		return 0;
	}
	/* As a real button: the guest's ACPI code sees PWRBTN_STS (and an SCI
	 * when it enabled PWRBTN_EN) and decides; S5 then ends the run. */
	acpi_pm_power_button(pm);
	fprintf(out, "ACPI power button pressed%s\n",
		monitor_vm_running(mon) ? "" : " (the guest sees it when the machine continues)");
	return 0;
}

static int cmd_quit(struct monitor *mon, FILE *out, int argc, char **argv)
{
	machine_request_exit(mon_machine(mon), 0);
	mon_machine(mon)->paused = false;
	return 0;
}

static int cmd_cpu(struct monitor *mon, FILE *out, int argc, char **argv)
{
	uint64_t idx;

	if (!mon_parse_value(mon, argv[1], &idx) || idx >= (uint64_t)mon_machine(mon)->ncpus)
		return mon_error(out, "no vCPU '%s' (this machine has %d)", argv[1],
				 mon_machine(mon)->ncpus);
	mon_select_cpu(mon, (int)idx);
	return 0;
}

/* ---- configuration ---- */

static bool never_started(struct monitor *mon)
{
	struct machine *m = mon_machine(mon);

	for (int i = 0; i < m->ncpus; i++)
		if (m->cpus[i]->icount)
			return false;
	return true;
}

static int cmd_set(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	bool on;

	if (strcmp(argv[1], "cpu") != 0 || strcmp(argv[2], "expose-virtualization") != 0)
		return mon_error(out, "unknown setting '%s %s' (use: set cpu expose-virtualization on|off)",
				 argv[1], argv[2]);
	if (!strcmp(argv[3], "on"))
		on = true;
	else if (!strcmp(argv[3], "off"))
		on = false;
	else
		return mon_error(out, "invalid value '%s' for expose-virtualization (use on or off)",
				 argv[3]);
	const struct cpu_model *md = m->cpus[0]->model;
	const char *what = md && md->vendor == VENDOR_AMD ? "SVM" : "VMX";
	if (monitor_vm_running(mon))
		return mon_error(out,
				 "cannot change expose-virtualization while the machine is running; stop it first (stop), change it, then system_reset");
	if (never_started(mon)) {
		for (int i = 0; i < m->ncpus; i++)
			cpu_model_set_virt(m->cpus[i]->model, m->cpus[i]->features, on);
		m->virt_pending = 0;
		fprintf(out, "expose-virtualization %s: %s is %s in CPUID\n", argv[3], what,
			on ? "now visible" : "now hidden");
	} else {
		m->virt_pending = (uint8_t)(1 + on);
		fprintf(out, "expose-virtualization %s: %s will be %s at the next system_reset\n",
			argv[3], what, on ? "visible" : "hidden");
	}
	return 0;
}

static int cmd_memory(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	uint64_t size;

	if (strcmp(argv[1], "resize") != 0)
		return mon_error(out, "unknown memory command '%s' (use: memory resize SIZE)", argv[1]);
	if (!mon_parse_size(argv[2], &size))
		return mon_error(out, "invalid memory size '%s' (use e.g. 512M or 2G)", argv[2]);
	/* A bare number is MiB, as for -m. */
	if (strspn(argv[2], "0123456789") == strlen(argv[2]))
		size <<= 20;
	if (size < (2ull << 20) || (size & 0xfff) || size > (1ull << 40))
		return mon_error(out, "memory size '%s' must be a multiple of 4 KiB between 2M and 1T",
				 argv[2]);
	for (int i = 0; i < m->ncpus; i++) {
		struct cpu *c = m->cpus[i];
		if (c->vmx_on || (c->efer & EFER_SVME))
			return mon_error(out,
					 "cannot resize memory while vCPU %d is in %s (a hypervisor runs in the guest); shut it down first",
					 i, c->vmx_on ? "VMX operation" : "SVM operation (EFER.SVME=1)");
	}
	m->ram_resize = size;
	if (never_started(mon)) {
		machine_reset(m);
		fprintf(out, "guest RAM is now %" PRIu64 " MiB\n", m->mem.ram_size >> 20);
	} else {
		fprintf(out, "guest RAM becomes %" PRIu64 " MiB at the next system_reset\n", size >> 20);
	}
	return 0;
}

/* ---- snapshots ---- */

static int cmd_savevm(struct monitor *mon, FILE *out, int argc, char **argv)
{
	char err[512];

	if (snapshot_save(mon_machine(mon), monitor_snapshot_dir(mon), argv[1], err, sizeof(err)) < 0)
		return mon_error(out, "%s", err);
	fprintf(out, "saved snapshot '%s' in %s\n", argv[1], monitor_snapshot_dir(mon));
	return 0;
}

static int cmd_loadvm(struct monitor *mon, FILE *out, int argc, char **argv)
{
	char err[512];

	if (snapshot_load(mon_machine(mon), monitor_snapshot_dir(mon), argv[1], err, sizeof(err)) < 0)
		return mon_error(out, "%s; the machine is unchanged", err);
	fprintf(out, "loaded snapshot '%s'\n", argv[1]);
	return 0;
}

static int cmd_delvm(struct monitor *mon, FILE *out, int argc, char **argv)
{
	char err[512];

	if (snapshot_delete(monitor_snapshot_dir(mon), argv[1], err, sizeof(err)) < 0)
		return mon_error(out, "%s", err);
	fprintf(out, "deleted snapshot '%s'\n", argv[1]);
	return 0;
}

const struct mon_cmd mon_ctl_cmds[] = {
	{ "stop", "", "stop the machine", cmd_stop, 0, 0, "" },
	{ "cont", "", "continue the machine", cmd_cont, 0, 0, "" },
	{ "c", "", "same as cont", cmd_cont, 0, 0, "" },
	{ "step", "[N]", "execute exactly N instructions (default 1) on the selected vCPU", cmd_step,
	  0, 1, "" },
	{ "cpu", "N", "select the vCPU that info/x/step use", cmd_cpu, 1, 1, "" },
	{ "break", "ADDR", "stop before executing the linear address ADDR", cmd_break, 1, 1, "" },
	{ "watch", "ADDR LEN r|w|rw", "stop after an access to linear [ADDR, ADDR+LEN)", cmd_watch,
	  3, 3, ";;k:r|w|rw" },
	{ "delete", "N", "delete breakpoint or watchpoint N", cmd_delete, 1, 1, "" },
	{ "system_reset", "", "reset the machine", cmd_system_reset, 0, 0, "" },
	{ "system_powerdown", "", "press the ACPI power button (the guest powers off)", cmd_powerdown,
	  0, 0, "" },
	{ "quit", "", "quit nestemu", cmd_quit, 0, 0, "" },
	{ "q", "", "same as quit", cmd_quit, 0, 0, "" },
	{ "set", "cpu expose-virtualization on|off",
	  "expose VMX/SVM to the guest (only while not running)", cmd_set, 3, 3,
	  "k:cpu;k:expose-virtualization;k:on|off" },
	{ "memory", "resize SIZE", "change the RAM size at the next reset", cmd_memory, 2, 2,
	  "k:resize" },
	{ "savevm", "NAME", "save a snapshot of the machine", cmd_savevm, 1, 1, "s" },
	{ "loadvm", "NAME", "restore a snapshot", cmd_loadvm, 1, 1, "s" },
	{ "delvm", "NAME", "delete a snapshot", cmd_delvm, 1, 1, "s" },
	{ .name = NULL },
};
