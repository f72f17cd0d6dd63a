/*
 * test_monitor.c - the monitor: command outputs on a known machine state,
 * error lines for bad arguments (state unchanged), completion, stepping,
 * breakpoints and watchpoints in machine_run, and the two configuration
 * rules (expose-virtualization only while not running; memory resize
 * refused in VMX/SVM operation).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/machine.h"
#include "emu/state.h"
#include "emu/cpu/msr.h"
#include "emu/dev/irq.h"
#include "emu/dev/lapic.h"
#include "monitor/monitor.h"

/* ---- helpers ---- */

static char *run(struct monitor *mon, const char *line)
{
	char *s = monitor_exec_str(mon, line);
	cr_assert_not_null(s);
	return s;
}

/* Runs a command and checks that its output contains want. */
static void expect(struct monitor *mon, const char *line, const char *want)
{
	char *s = run(mon, line);
	cr_expect(strstr(s, want) != NULL, "'%s': output lacks '%s':\n%s", line, want, s);
	free(s);
}

/* Runs a command that must fail with exactly one "error: " line containing want. */
static void expect_error(struct monitor *mon, const char *line, const char *want)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int r = monitor_exec(mon, line, f);
	fclose(f);
	cr_expect_eq(r, -1, "'%s' should fail", line);
	cr_expect(strncmp(s, "error: ", 7) == 0, "'%s': no error line: %s", line, s);
	cr_expect(strchr(s, '\n') == s + len - 1, "'%s': more than one line: %s", line, s);
	cr_expect(strstr(s, want) != NULL, "'%s': error lacks '%s': %s", line, want, s);
	free(s);
}

static void th_free_mon(struct th *t)
{
	monitor_destroy(t->m->monitor);
	state_registry_free(t->m->state);
	t->m->state = NULL;
	th_free(t);
}

static struct machine *new_machine(uint64_t ram)
{
	struct machine_config cfg = { .ram_size = ram, .ncpus = 1 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(m, "machine_create: %s", err);
	return m;
}

/* Real-mode code at 0x1000 on a full machine (machine_run needs the board). */
static void load_real(struct machine *m, const uint8_t *code, size_t len)
{
	struct cpu *c = m->cpus[0];

	phys_write(m, 0x1000, code, len);
	c->seg[S_CS].sel = 0;
	c->seg[S_CS].base = 0;
	c->rip = 0x1000;
	cpu_update_mode(c);
}

static uint32_t ram_crc(struct machine *m)
{
	return (uint32_t)crc32_z(0, m->mem.ram, m->mem.ram_size);
}

/* ---- parsing and errors ---- */

Test(monitor, unknown_command_and_argument_counts)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);

	expect_error(mon, "frobnicate", "unknown command 'frobnicate'");
	expect_error(mon, "break", "usage: break ADDR");
	expect_error(mon, "break 1 2", "wrong number of arguments");
	expect_error(mon, "x/4x", "usage: x /FMT ADDR");
	expect_error(mon, "x/4q 0", "invalid format 'q'");
	expect_error(mon, "info", "usage: info TOPIC");
	expect_error(mon, "info nosuch", "unknown info topic 'nosuch'");
	expect_error(mon, "info registers -b", "unknown option '-b'");
	expect_error(mon, "watch 0x1000 4 x", "invalid access 'x'");
	expect_error(mon, "delete 7", "no breakpoint or watchpoint 7");
	expect_error(mon, "cpu 3", "no vCPU '3'");
	expect_error(mon, "savevm ../evil", "invalid snapshot name");
	expect_error(mon, "help nosuch", "unknown command 'nosuch'");
	expect_error(mon, "screendump a.png", "no VGA card");
	expect_error(mon, "sendkey ctrl-frob", "unknown key 'frob'");
	cr_expect_eq(monitor_exec(mon, "", stdout), 0, "an empty line is fine");
	cr_expect_eq(monitor_exec(mon, "   # a comment", stdout), 0);
	th_free_mon(t);
}

Test(monitor, help_is_generated_from_the_tables)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);

	expect(mon, "help", "savevm NAME");
	expect(mon, "help", "system_powerdown");
	expect(mon, "help", "watch ADDR LEN r|w|rw");
	expect(mon, "help x", "x /FMT ADDR");
	expect(mon, "help info", "info pagewalk ADDR");
	expect(mon, "help info tlb", "valid TLB entries");
	th_free_mon(t);
}

/* ---- inspection ---- */

Test(monitor, info_registers_on_a_known_state)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);

	t->cpu->regs[R_AX] = 0x1122334455667788ull;
	t->cpu->regs[R_R15] = 0xabcdef;
	t->cpu->rip = 0x100000;
	expect(mon, "info registers", "RAX=1122334455667788");
	expect(mon, "info registers", "R15=0000000000abcdef");
	expect(mon, "info registers", "RIP=0000000000100000");
	expect(mon, "info registers", "mode=long CPL=0 paging=4-level");
	expect(mon, "info registers", "CS64 [-RA]");
	expect(mon, "info registers", "EFER=0000000000000d01 [ SCE LME LMA NXE]");
	expect(mon, "info registers -a", "CPU #0:");
	expect(mon, "info cpus", "* CPU #0: rip=0x0000000000100000");
	expect(mon, "info version", "nestemu ");
	expect(mon, "info mtree", "0000000000000000-0000000003ffffff (prio 0, ram): ram");
	expect_error(mon, "info pic", "this machine has no 8259 interrupt controllers");
	expect(mon, "info state cpu0 rip", "rip = 0x0000000000100000");
	expect(mon, "info state", "ram          version 1, 67108864 bytes");
	th_free_mon(t);
}

static void fake_pic(struct machine *m, FILE *out, const char *args)
{
	fprintf(out, "pic says hello (%s)\n", args);
}

Test(monitor, devices_register_info_topics)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);

	expect_error(mon, "info ioapic", "this machine has no I/O APIC");
	cr_assert_eq(monitor_add_info(t->m, "pic", "the 8259 PICs", fake_pic), 0);
	expect(mon, "info pic a b", "pic says hello (a b)");
	expect(mon, "help info", "the 8259 PICs");
	th_free_mon(t);
}

Test(monitor, memory_dumps)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);
	static const uint8_t data[] = { 0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55,
					'h', 'i', '!', 0 };

	th_poke(t, TH_DATA, data, sizeof(data));
	expect(mon, "xp/2xw 0x200000", "0000000000200000: 0x11223344 0x55667788");
	expect(mon, "x/xg 0x200000", "0x5566778811223344");
	expect(mon, "x/4xb 0x200000", "0x44 0x33 0x22 0x11");
	expect(mon, "x/2dh 0x200000", "13124 4386");
	expect(mon, "x/s 0x200008", "\"hi!\"");
	expect(mon, "x/xw 0x1ffffc+4", "0x11223344");
	th_asm(t, "nop\nmov eax, 5\nret");
	t->cpu->rip = TH_CODE;
	expect(mon, "x/3i $rip", "nop");
	expect(mon, "x/3i $rip", "mov eax, 5");
	expect(mon, "x/3i $rip", "ret");
	th_free_mon(t);
}

Test(monitor, bad_addresses_are_one_line_and_change_nothing)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);
	uint32_t before = ram_crc(t->m);
	uint64_t cr2 = t->cpu->cr2;

	expect_error(mon, "xp/x 0x10000000", "physical address 0x10000000 is outside RAM");
	expect_error(mon, "x/x 0x10000000", "is outside RAM");	/* identity-mapped beyond RAM */
	expect_error(mon, "x/x 0x4000000000", "not mapped (a read would raise #PF");
	expect_error(mon, "x/x 0x8000000000000000", "not canonical");
	expect_error(mon, "x/x $nosuch", "invalid address '$nosuch'");
	expect_error(mon, "pmemsave 0x10000000 16 /tmp/nestemu-never-written", "outside RAM");
	cr_expect_neq(access("/tmp/nestemu-never-written", F_OK), 0, "no file for a failed save");
	expect_error(mon, "pmemsave 0 16 /nonexistent-dir/x.bin", "cannot create '/nonexistent-dir/x.bin'");
	/* The walks set no accessed bits and raise nothing. */
	cr_expect_eq(ram_crc(t->m), before);
	cr_expect_eq(t->cpu->cr2, cr2);
	th_free_mon(t);
}

Test(monitor, memsave_writes_the_bytes)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);
	char path[] = "/tmp/nestemu-memsave-XXXXXX", cmd[128];
	uint8_t data[256], back[256];
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	for (int k = 0; k < 256; k++)
		data[k] = (uint8_t)(k * 7 + 1);
	th_poke(t, TH_DATA + 0xff0, data, sizeof(data));	/* crosses a page */
	snprintf(cmd, sizeof(cmd), "memsave 0x200ff0 256 %s", path);
	expect(mon, cmd, "saved 256 bytes");
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_expect_eq(fread(back, 1, sizeof(back), f), sizeof(back));
	fclose(f);
	cr_expect_arr_eq(back, data, sizeof(data));
	unlink(path);
	th_free_mon(t);
}

Test(monitor, pagewalk_and_tlb)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);

	expect(mon, "info pagewalk 0x201234", "level 4: entry at");
	expect(mon, "info pagewalk 0x201234", "-> physical 0x0000000000201234");
	expect(mon, "info pagewalk 0x4000000000", "-> #PF, error code 0x0 (not present)");
	expect(mon, "info pagewalk 0x8000000000000000", "not canonical");
	th_asm(t, "mov rax, [0x200000]");
	th_run(t);
	expect(mon, "info tlb", "0000000000200000 -> 0000000000200000 r");
	th_free_mon(t);
}

/* ---- completion ---- */

static void expect_completions(struct monitor *mon, const char *line, const char *const *want)
{
	int n = 0;

	for (; want[n]; n++) {
		char *c = monitor_complete(mon, line, n);
		cr_expect_not_null(c, "'%s': candidate %d missing (want %s)", line, n, want[n]);
		if (c)
			cr_expect_str_eq(c, want[n], "'%s': candidate %d", line, n);
		free(c);
	}
	char *extra = monitor_complete(mon, line, n);
	cr_expect_null(extra, "'%s': unexpected candidate '%s'", line, extra ? extra : "");
	free(extra);
}

Test(monitor, completion)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);
	char dir[] = "/tmp/nestemu-compl-XXXXXX", path[128], line[200];

	expect_completions(mon, "inf", (const char *const[]){ "info", NULL });
	expect_completions(mon, "system_", (const char *const[]){ "system_reset", "system_powerdown", NULL });
	expect_completions(mon, "info reg", (const char *const[]){ "registers", NULL });
	expect_completions(mon, "info registers ", (const char *const[]){ "-a", NULL });
	expect_completions(mon, "info state cp", (const char *const[]){ "cpu0", NULL });
	expect_completions(mon, "info checksum r", (const char *const[]){ "ram", NULL });
	expect_completions(mon, "set ", (const char *const[]){ "cpu", NULL });
	expect_completions(mon, "set cpu e", (const char *const[]){ "expose-virtualization", NULL });
	expect_completions(mon, "set cpu expose-virtualization o", (const char *const[]){ "on", "off", NULL });
	expect_completions(mon, "watch 0 4 r", (const char *const[]){ "r", "rw", NULL });
	expect_completions(mon, "help info p", (const char *const[]){ "pagewalk", "pci", "pic", NULL });
	expect_completions(mon, "xyz ", (const char *const[]){ NULL });

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/abc.bin", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/abd", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(line, sizeof(line), "memsave 0 16 %s/ab", dir);
	char want1[128], want2[128];
	snprintf(want1, sizeof(want1), "%s/abc.bin", dir);
	snprintf(want2, sizeof(want2), "%s/abd/", dir);
	expect_completions(mon, line, (const char *const[]){ want1, want2, NULL });
	/* Only the FILE argument completes file names. */
	snprintf(line, sizeof(line), "memsave %s/ab", dir);
	expect_completions(mon, line, (const char *const[]){ NULL });
	/* Snapshot names come from the snapshot directory. */
	monitor_set_snapshot_dir(mon, dir);
	snprintf(path, sizeof(path), "%s/before-boot.nsnap", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	expect_completions(mon, "loadvm be", (const char *const[]){ "before-boot", NULL });
	unlink(path);
	snprintf(path, sizeof(path), "%s/abc.bin", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/abd", dir);
	rmdir(path);
	rmdir(dir);
	th_free_mon(t);
}

/* The device topics on a whole two-vCPU machine at power-on, the
 * selected vCPU's LAPIC (an AP's LVTs are masked), and x2APIC mode. */
Test(monitor, device_topics_on_a_whole_machine)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 2 };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	struct monitor *mon = monitor_get(m);

	expect(mon, "info pic", "8259 master (IRQ 0-7): base vector 0x08 IRR=0x00 ISR=0x00 IMR=0x00 ELCR=0x00");
	expect(mon, "info pic", "INTR output: idle");
	expect(mon, "info ioapic", "IOAPIC at 0xfec00000: ID 0, version 0x20, 24 pins");
	expect(mon, "info ioapic", "pin 23: 0000000000010000 vector 0x00 Fixed  physical dest 0x00 edge  high masked, input 0");
	expect(mon, "info pci", "00:01.0 8086:7000 class 0601 prog-if 00 rev 00: ISA bridge (piix3-isa)");
	expect(mon, "info pci", "  BAR4: I/O size 0x10, register 0x1, not mapped");
	expect(mon, "info irq", "GSI  ISA IRQ      raised  level");
	machine_set_isa_irq(m, 0, 1);	/* ISA IRQ 0 is GSI 2 */
	machine_set_isa_irq(m, 0, 0);
	machine_set_isa_irq(m, 0, 1);
	expect(mon, "info irq", "\n  2  0                 2  1\n");
	expect(mon, "info lapic", "LAPIC of CPU #0: ID 0x0, version 0x01050014, IA32_APIC_BASE 0xfee00900 (enabled, xAPIC, BSP)");
	expect(mon, "info lapic", "LVT LINT0    0x00000700: vector 0x00 ExtINT edge high\n");
	expect(mon, "cpu 1", "");
	expect(mon, "info lapic", "LAPIC of CPU #1: ID 0x1,");
	expect(mon, "info lapic", "LVT LINT0    0x00010000: vector 0x00 Fixed edge high masked\n");
	/* x2APIC: the 32-bit ID, the mode in the header line. */
	struct cpu *c = m->cpus[1];
	uint64_t old = c->msr.apic_base;
	c->msr.apic_base |= APIC_BASE_EXTD;
	lapic_base_written(c, old);
	expect(mon, "info lapic", "LAPIC of CPU #1: ID 0x1, version 0x01050014, IA32_APIC_BASE 0xfee00c00 (enabled, x2APIC)");
	lapic_reg_write(c->lapic, 0x80, 0x30);	/* TPR */
	expect(mon, "info lapic", "TPR=0x30 PPR=0x30");
	monitor_destroy(m->monitor);
	machine_destroy(m);
}

/* ---- control ---- */

Test(monitor, step_runs_exactly_n_instructions)
{
	struct th *t = th_new(TH_LONG64);
	struct monitor *mon = monitor_get(t->m);

	th_asm(t, "mov eax, 1\ninc eax\ninc eax\ninc eax\ninc eax");
	t->cpu->rip = TH_CODE;
	uint64_t ic = t->cpu->icount;
	expect(mon, "step 3", "stepped 3 instructions");
	cr_expect_eq(t->cpu->icount - ic, 3);
	cr_expect_eq(t->cpu->regs[R_AX], 3);
	expect(mon, "step", "stepped 1 instruction;");
	cr_expect_eq(t->cpu->regs[R_AX], 4);
	cr_expect(t->m->paused);
	expect_error(mon, "step 0", "invalid instruction count");
	th_free_mon(t);
}

Test(monitor, breakpoint_stops_machine_run)
{
	struct machine *m = new_machine(16 << 20);
	struct monitor *mon = monitor_get(m);
	/* inc ax x4; hlt */
	static const uint8_t code[] = { 0x40, 0x40, 0x40, 0x40, 0xf4 };

	load_real(m, code, sizeof(code));
	expect(mon, "break 0x1003", "breakpoint 1 at 0x1003");
	expect(mon, "info breakpoints", "0x0000000000001003");
	cr_expect_eq(machine_run(m), STOP_PAUSED);
	cr_expect_eq(m->cpus[0]->rip, 0x1003);
	cr_expect_eq(m->cpus[0]->regs[R_AX] & 0xffff, 3);
	/* cont steps over the breakpoint at RIP. */
	expect(mon, "cont", "");
	cr_expect_eq(machine_run(m), STOP_HALTED);
	cr_expect_eq(m->cpus[0]->regs[R_AX] & 0xffff, 4);
	expect(mon, "delete 1", "deleted breakpoint 1");
	cr_expect_null(m->monitor_break);
	machine_destroy(m);
}

Test(monitor, watchpoint_stops_after_the_access_and_is_invisible_to_the_guest)
{
	struct machine *m = new_machine(16 << 20);
	struct monitor *mon = monitor_get(m);
	/* mov ax, [0x2000] ; inc ax ; mov [0x2002], ax ; inc ax ; hlt */
	static const uint8_t code[] = { 0xa1, 0x00, 0x20, 0x40, 0xa3, 0x02, 0x20, 0x40, 0xf4 };
	uint64_t dr6 = m->cpus[0]->dr[6];

	load_real(m, code, sizeof(code));
	expect(mon, "watch 0x2002 2 w", "watchpoint 1 at 0x2002 len 2 w");
	cr_expect_eq(machine_run(m), STOP_PAUSED);
	cr_expect_eq(m->cpus[0]->rip, 0x1007, "stops after the writing instruction");
	cr_expect_eq(m->cpus[0]->dr[6], dr6, "DR6 untouched");
	expect(mon, "delete 1", "deleted watchpoint 1");
	cr_expect(!m->cpus[0]->mon_watch);
	expect(mon, "cont", "");
	cr_expect_eq(machine_run(m), STOP_HALTED);
	machine_destroy(m);
}

Test(monitor, stop_cont_quit_and_reset)
{
	struct machine *m = new_machine(16 << 20);
	struct monitor *mon = monitor_get(m);

	expect(mon, "stop", "");
	cr_expect(m->paused);
	cr_expect_eq(machine_run(m), STOP_PAUSED);
	expect(mon, "cont", "");
	cr_expect(!m->paused);
	cr_expect(monitor_vm_running(mon));
	expect_error(mon, "cont", "already running");
	m->cpus[0]->rip = 0x1234;
	expect(mon, "system_reset", "machine reset");
	cr_expect_eq(m->cpus[0]->rip, 0xfff0);
	/* The ACPI power button: PWRBTN_STS for the guest, the machine runs on. */
	expect(mon, "system_powerdown", "ACPI power button pressed");
	cr_expect_neq(m->stop, STOP_EXIT);
	expect(mon, "info state acpi_pm pm1_sts", "pm1_sts = 0x0100");
	expect(mon, "quit", "");
	cr_expect_eq(m->stop, STOP_EXIT);
	cr_expect_eq(m->exit_status, 0);
	machine_destroy(m);
}

/* ---- the two configuration rules ---- */

Test(monitor, expose_virtualization_only_while_not_running)
{
	struct machine *m = new_machine(16 << 20);
	struct monitor *mon = monitor_get(m);
	struct cpu *c = m->cpus[0];
	bool had = cpu_has(c, FEAT_VMX);

	/* Running: refused, nothing changes. */
	expect(mon, "cont", "");
	expect_error(mon, "set cpu expose-virtualization on", "while the machine is running");
	cr_expect_eq(cpu_has(c, FEAT_VMX), had);
	expect_error(mon, "set cpu expose-virtualization maybe", "use on or off");
	/* Stopped before it ever ran: applies at once. */
	expect(mon, "stop", "");
	expect(mon, "set cpu expose-virtualization off", "VMX is now hidden");
	cr_expect(!cpu_has(c, FEAT_VMX));
	expect(mon, "set cpu expose-virtualization on", "VMX is now visible");
	cr_expect(cpu_has(c, FEAT_VMX));
	/* Stopped after running: applies at the next system_reset. */
	c->icount = 1000;
	expect(mon, "set cpu expose-virtualization off", "at the next system_reset");
	cr_expect(cpu_has(c, FEAT_VMX));
	expect(mon, "system_reset", "machine reset");
	cr_expect(!cpu_has(c, FEAT_VMX));
	machine_destroy(m);
}

Test(monitor, memory_resize_refused_in_vmx_or_svm_operation)
{
	struct machine *m = new_machine(16 << 20);
	struct monitor *mon = monitor_get(m);
	struct cpu *c = m->cpus[0];

	c->vmx_on = true;
	expect_error(mon, "memory resize 32M", "while vCPU 0 is in VMX operation");
	cr_expect_eq(m->mem.ram_size, 16 << 20);
	cr_expect_eq(m->ram_resize, 0);
	c->vmx_on = false;
	c->efer |= EFER_SVME;
	expect_error(mon, "memory resize 32M", "SVM operation");
	cr_expect_eq(m->mem.ram_size, 16 << 20);
	c->efer &= ~(uint64_t)EFER_SVME;
	expect_error(mon, "memory resize 3K", "multiple of 4 KiB");
	expect_error(mon, "memory grow 32M", "unknown memory command");
	/* Never ran: applies at once. */
	expect(mon, "memory resize 32M", "guest RAM is now 32 MiB");
	cr_expect_eq(m->mem.ram_size, 32 << 20);
	expect(mon, "info mtree", "0000000000100000-0000000001ffffff (prio 0, ram): ram");
	phys_write_u(m, 0x1f00000, 0x5a5a, 2);
	cr_expect_eq(phys_read_u(m, 0x1f00000, 2), 0x5a5a);
	/* After running: at the next reset. */
	c->icount = 10;
	expect(mon, "memory resize 48", "becomes 48 MiB at the next system_reset");
	cr_expect_eq(m->mem.ram_size, 32 << 20);
	expect(mon, "system_reset", "machine reset");
	cr_expect_eq(m->mem.ram_size, 48 << 20);
	cr_expect_eq(phys_read_u(m, 0x2f00000, 2), 0);
	machine_destroy(m);
}
