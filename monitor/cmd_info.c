/*
 * cmd_info.c - the monitor's inspection commands: info topics, x/xp
 * memory dumps (with Capstone disassembly), memsave/pmemsave.
 *
 * Nothing here changes guest state: linear addresses are translated with
 * mmu_walk_info (no accessed/dirty updates, no faults) and only RAM/ROM
 * is read, never MMIO. The device topics (pci, irq, pic, lapic, ioapic)
 * are in cmd_dev.c; a provider registered with monitor_add_info() takes
 * precedence over a built-in topic of the same name.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "config.h"
#include "monitor.h"
#include "../emu/cpu/cpu.h"
#include "../emu/cpu/cpuid.h"
#include "../emu/dev/ide.h"
#include "../emu/mmu/mmu.h"
#include "../emu/snapshot.h"
#include "../emu/state.h"
#if HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

static const char *const mode_names[] = { "real", "protected", "v8086", "compat", "long" };
static const char *const paging_names[] = { "off", "32-bit", "PAE", "4-level", "5-level" };

/* ---- info cpus / registers ---- */

static int info_cpus(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	struct cpu *sel = mon_cpu(mon);

	for (int i = 0; i < m->ncpus; i++) {
		struct cpu *c = m->cpus[i];
		fprintf(out, "%c CPU #%d: rip=0x%016" PRIx64 " cs=%04x mode=%s%s%s\n",
			c == sel ? '*' : ' ', i, c->rip, c->seg[S_CS].sel, mode_names[c->mode],
			c->halted ? " (halted)" : "", c->sipi_wait ? " (wait-for-SIPI)" : "");
	}
	return 0;
}

/* "CS64 [-RA]"-style description of a segment's access rights. */
static void seg_desc(const struct seg *s, bool is_sys_slot, char *buf, size_t len)
{
	unsigned a = s->attr, type = a & AR_TYPE_MASK;
	static const char *const sys_types[16] = {
		"reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate",
		"IntGate16", "TrapGate16", "reserved", "TSS-avl", "reserved", "TSS-busy",
		"CallGate", "reserved", "IntGate", "TrapGate",
	};

	if (a & AR_UNUSABLE) {
		snprintf(buf, len, "unusable");
	} else if (!(a & AR_S)) {
		snprintf(buf, len, "DPL=%u %s%s", AR_DPL(a), sys_types[type],
			 a & AR_P ? "" : " not-present");
	} else if (type & 8) {
		snprintf(buf, len, "DPL=%u CS%s [%c%c%c]%s", AR_DPL(a),
			 a & AR_L ? "64" : a & AR_DB ? "32" : "16", type & 4 ? 'C' : '-',
			 type & 2 ? 'R' : '-', type & 1 ? 'A' : '-', a & AR_P ? "" : " not-present");
	} else {
		snprintf(buf, len, "DPL=%u DS%s [%c%c%c]%s", AR_DPL(a), a & AR_DB ? "32" : "16",
			 type & 4 ? 'E' : '-', type & 2 ? 'W' : '-', type & 1 ? 'A' : '-',
			 a & AR_P ? "" : " not-present");
	}
	(void)is_sys_slot;
}

static void print_seg(FILE *out, const char *name, const struct seg *s)
{
	char d[64];

	seg_desc(s, false, d, sizeof(d));
	fprintf(out, "%-4s=%04x %016" PRIx64 " %08x %05x %s\n", name, s->sel, s->base, s->limit,
		s->attr, d);
}

static void print_flags(FILE *out, uint64_t f)
{
	static const struct { uint32_t bit; const char *n; } fl[] = {
		{ FL_ID, "ID" }, { FL_VIP, "VIP" }, { FL_VIF, "VIF" }, { FL_AC, "AC" },
		{ FL_VM, "VM" }, { FL_RF, "RF" }, { FL_NT, "NT" }, { FL_OF, "OF" }, { FL_DF, "DF" },
		{ FL_IF, "IF" }, { FL_TF, "TF" }, { FL_SF, "SF" }, { FL_ZF, "ZF" }, { FL_AF, "AF" },
		{ FL_PF, "PF" }, { FL_CF, "CF" },
	};
	fprintf(out, "RFL=%08" PRIx64 " [", f);
	bool first = true;
	for (size_t k = 0; k < sizeof(fl) / sizeof(fl[0]); k++)
		if (f & fl[k].bit) {
			fprintf(out, "%s%s", first ? "" : " ", fl[k].n);
			first = false;
		}
	fprintf(out, "] IOPL=%u", (unsigned)(f >> 12) & 3);
}

static void print_regs(FILE *out, struct cpu *c)
{
	static const char *const n64[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
					     "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15" };
	static const char *const sn[S_NSEG] = { "ES", "CS", "SS", "DS", "FS", "GS" };
	static const int order[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };

	fprintf(out, "CPU #%d: mode=%s CPL=%u paging=%s%s\n", c->id, mode_names[c->mode], c->cpl,
		paging_names[c->paging], c->halted ? " (halted)" : "");
	for (int k = 0; k < 16; k++)
		fprintf(out, "%-3s=%016" PRIx64 "%s", n64[order[k]], c->regs[order[k]],
			(k % 4) == 3 ? "\n" : " ");
	fprintf(out, "RIP=%016" PRIx64 " ", c->rip);
	print_flags(out, cpu_get_rflags(c));
	fputc('\n', out);
	for (int s = 0; s < S_NSEG; s++)
		print_seg(out, sn[s], &c->seg[s]);
	print_seg(out, "LDT", &c->ldtr);
	print_seg(out, "TR", &c->tr);
	fprintf(out, "GDT=     %016" PRIx64 " %08x\n", c->gdtr.base, c->gdtr.limit);
	fprintf(out, "IDT=     %016" PRIx64 " %08x\n", c->idtr.base, c->idtr.limit);
	fprintf(out, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64
		" CR8=%" PRIx64 "\n", c->cr0, c->cr2, c->cr3, c->cr4, c->cr8);
	fprintf(out, "DR0=%016" PRIx64 " DR1=%016" PRIx64 " DR2=%016" PRIx64 " DR3=%016" PRIx64 "\n",
		c->dr[0], c->dr[1], c->dr[2], c->dr[3]);
	fprintf(out, "DR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", c->dr[6], c->dr[7]);
	fprintf(out, "EFER=%016" PRIx64 " [%s%s%s%s%s] XCR0=%" PRIx64 " PKRU=%08x\n", c->efer,
		c->efer & EFER_SCE ? " SCE" : "", c->efer & EFER_LME ? " LME" : "",
		c->efer & EFER_LMA ? " LMA" : "", c->efer & EFER_NXE ? " NXE" : "",
		c->efer & EFER_SVME ? " SVME" : "", c->xcr0, c->pkru);
	fprintf(out, "STAR=%016" PRIx64 " LSTAR=%016" PRIx64 " CSTAR=%016" PRIx64
		" SFMASK=%016" PRIx64 "\n", c->msr.star, c->msr.lstar, c->msr.cstar, c->msr.sfmask);
	fprintf(out, "KERNEL_GS_BASE=%016" PRIx64 " SYSENTER_CS=%04" PRIx64 " SYSENTER_ESP=%016"
		PRIx64 " SYSENTER_EIP=%016" PRIx64 "\n", c->msr.kernel_gs_base, c->msr.sysenter_cs,
		c->msr.sysenter_esp, c->msr.sysenter_eip);
	fprintf(out, "APIC_BASE=%016" PRIx64 " PAT=%016" PRIx64 " TSC_AUX=%08" PRIx64
		" MXCSR=%08x FCW=%04x FSW=%04x\n", c->msr.apic_base, c->msr.pat, c->msr.tsc_aux,
		c->mxcsr, c->fpu.fcw, c->fpu.fsw);
	fprintf(out, "retired=%" PRIu64 " vmx=%s\n", c->icount, c->vmx_on ? "on" : "off");
}

static int info_registers(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);

	if (argc == 2 && strcmp(argv[1], "-a") != 0)
		return mon_error(out, "unknown option '%s' for info registers (use -a for every vCPU)",
				 argv[1]);
	if (argc == 2) {
		for (int i = 0; i < m->ncpus; i++)
			print_regs(out, m->cpus[i]);
	} else {
		print_regs(out, mon_cpu(mon));
	}
	return 0;
}

/* ---- memory map, TLB, page walks ---- */

static int info_mtree(struct monitor *mon, FILE *out, int argc, char **argv)
{
	const struct memmap *mm = &mon_machine(mon)->mem;
	static const char *const kinds[] = { "ram", "rom", "mmio" };

	fprintf(out, "guest RAM: %" PRIu64 " MiB\n", mm->ram_size >> 20);
	for (int i = 0; i < mm->nregions; i++) {
		const struct mem_region *r = &mm->regions[i];
		fprintf(out, "  %016" PRIx64 "-%016" PRIx64 " (prio %d, %s): %s", r->base,
			r->base + r->size - 1, r->priority, kinds[r->kind], r->name ? r->name : "?");
		if (r->kind == REGION_RAM)
			fprintf(out, " @ram+0x%" PRIx64, (uint64_t)(r->host - mm->ram));
		fputc('\n', out);
	}
	return 0;
}

static int info_tlb(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct cpu *c = mon_cpu(mon);
	static const char *const spaces[MMU_NIDX] = { "super", "super-smap", "user", "user-ac",
						      "debug" };
	int n = 0;

	for (int s = 0; s < MMU_NIDX; s++)
		for (unsigned k = 0; k < TLB_ENTRIES; k++) {
			const struct tlb_entry *e = &c->tlb[s][k];
			uint64_t lin = e->tag_read != TLB_INVALID ? e->tag_read
				     : e->tag_write != TLB_INVALID ? e->tag_write : e->tag_fetch;
			if (lin == TLB_INVALID || (lin & 0xfff))
				continue;
			fprintf(out, "%-10s %016" PRIx64 " -> %016" PRIx64 " %c%c%c%s pcid=%03x\n",
				spaces[s], lin, e->paddr, e->tag_read == lin ? 'r' : '-',
				e->tag_write == lin ? 'w' : '-', e->tag_fetch == lin ? 'x' : '-',
				e->global ? " G" : "", e->pcid & TLB_PCID_MASK);
			n++;
		}
	if (n == 0)
		fprintf(out, "TLB is empty\n");
	return 0;
}

static void pte_flags(FILE *out, uint64_t e, bool leaf)
{
	fprintf(out, "%s%s%s%s%s%s%s%s", e & 1 ? "P" : "-", e & 2 ? "W" : "R", e & 4 ? "U" : "S",
		e & 0x20 ? "A" : "-", e & 0x40 ? "D" : "-", (e & 0x80) ? "PS" : "", leaf && (e & 0x100) ? " G" : "",
		e >> 63 ? " NX" : "");
}

static int info_pagewalk(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct cpu *c = mon_cpu(mon);
	struct walk_result w;
	uint64_t lin;

	if (!mon_parse_value(mon, argv[1], &lin))
		return mon_error(out, "invalid address '%s'", argv[1]);
	fprintf(out, "linear 0x%016" PRIx64 ", paging %s, CR3=0x%" PRIx64 "\n", lin,
		paging_names[c->paging], c->cr3);
	if (c->paging == PG_OFF) {
		fprintf(out, "paging is off: physical 0x%" PRIx64 "\n", lin & c->lin_mask);
		return 0;
	}
	mmu_walk_info(c, lin, ACC_READ | (c->cpl == 3 ? ACC_USER : 0), &w);
	for (int k = 0; k < w.nsteps; k++) {
		fprintf(out, "  level %d: entry at 0x%016" PRIx64 " = 0x%016" PRIx64 " ", w.steps[k].level,
			w.steps[k].entry_addr, w.steps[k].entry);
		pte_flags(out, w.steps[k].entry, k == w.nsteps - 1);
		fputc('\n', out);
	}
	if (w.ok)
		fprintf(out, "  -> physical 0x%016" PRIx64 " (%" PRIu64 " KiB page)\n", w.pa,
			w.page_size >> 10);
	else if (w.nsteps == 0 && w.pfec == 0)
		fprintf(out, "  -> not canonical: an access would raise #GP\n");
	else
		fprintf(out, "  -> #PF, error code 0x%x (%s%s%s%s)\n", w.pfec,
			w.pfec & PFEC_P ? "protection" : "not present", w.pfec & PFEC_W ? ", write" : "",
			w.pfec & PFEC_U ? ", user" : "", w.pfec & PFEC_RSVD ? ", reserved bit" : "");
	return 0;
}

static int info_version(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct cpu *c = mon_cpu(mon);

	fprintf(out, "nestemu %s (CPU model %s, snapshot format %d)\n", NESTEMU_VERSION,
		c->model ? c->model->name : "?", SNAPSHOT_VERSION);
	return 0;
}

static int info_snapshots(struct monitor *mon, FILE *out, int argc, char **argv)
{
	snapshot_list(monitor_snapshot_dir(mon), out);
	return 0;
}

static int info_state(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);

	if (state_register_core(m) < 0)
		return mon_error(out, "out of memory");
	if (argc == 1) {
		for (int i = 0; i < state_count(m); i++) {
			const struct state_section *s = state_get(m, i);
			size_t blen = 0;
			if (s->blob)
				(void)s->blob(s->base, &blen);
			fprintf(out, "%-12s version %u, %zu bytes\n", s->name, s->version,
				state_fields_size(s) + blen);
		}
		return 0;
	}
	const struct state_section *s = state_find(m, argv[1]);
	if (s == NULL)
		return mon_error(out, "no state section '%s' (type 'info state' for the list)", argv[1]);
	if (s->pre_save)
		s->pre_save(s->base);
	state_print(s, out, argc > 2 ? argv[2] : NULL);
	return 0;
}

/* ---- info block: the IDE drives (emu/dev/ide.c prints them) ---- */

static int info_block(struct monitor *mon, FILE *out, int argc, char **argv)
{
	ide_info(mon_machine(mon)->ide, out);
	return 0;
}

/* CRC32 of every section's saved image (fields, then blob): two runs that
 * should be in the same state print the same lines. */
static int info_checksum(struct monitor *mon, FILE *out, int argc, char **argv)
{
	struct machine *m = mon_machine(mon);
	uLong total = crc32(0, NULL, 0);

	if (state_register_core(m) < 0)
		return mon_error(out, "out of memory");
	if (argc >= 2 && state_find(m, argv[1]) == NULL)
		return mon_error(out, "no state section '%s' (type 'info state' for the list)", argv[1]);
	for (int i = 0; i < state_count(m); i++) {
		const struct state_section *s = state_get(m, i);
		size_t fsz = state_fields_size(s), blen = 0;
		uint8_t *img = malloc(fsz ? fsz : 1);
		if (img == NULL)
			return mon_error(out, "out of memory");
		if (s->pre_save)
			s->pre_save(s->base);
		state_fields_save(s, img);
		uLong crc = crc32_z(crc32(0, NULL, 0), img, fsz);
		free(img);
		if (s->blob) {
			const void *b = s->blob(s->base, &blen);
			crc = crc32_z(crc, b, blen);
		}
		if (argc < 2 || !strcmp(argv[1], s->name))
			fprintf(out, "%-12s %08lx\n", s->name, crc);
		total = crc32_z(total, (const Bytef *)&crc, sizeof(crc));
	}
	if (argc < 2)
		fprintf(out, "%-12s %08lx\n", "all", total);
	return 0;
}

const struct mon_cmd mon_info_cmds[] = {
	{ "cpus", "", "list the vCPUs (* marks the selected one)", info_cpus, 0, 0, "" },
	{ "registers", "[-a]", "registers of the selected vCPU (-a: every vCPU)", info_registers, 0,
	  1, "k:-a" },
	{ "mtree", "", "the physical memory map", info_mtree, 0, 0, "" },
	{ "tlb", "", "valid TLB entries of the selected vCPU", info_tlb, 0, 0, "" },
	{ "pagewalk", "ADDR", "walk the page tables for a linear address", info_pagewalk, 1, 1, "" },
	{ "version", "", "the nestemu version", info_version, 0, 0, "" },
	{ "snapshots", "", "list the snapshots (savevm)", info_snapshots, 0, 0, "" },
	{ "breakpoints", "", "list breakpoints and watchpoints", mon_info_breakpoints, 0, 0, "" },
	{ "state", "[SECTION [FIELD]]", "saved-state sections, or one section's fields", info_state,
	  0, 2, "S" },
	{ "vga", "", "the VGA card's mode (and the text on screen)", mon_info_vga, 0, 0, "" },
	{ "checksum", "[SECTION]", "CRC32 of each saved-state section (compare two runs)",
	  info_checksum, 0, 1, "S" },
	{ "pci", "", "PCI functions: IDs, class, BARs, INTx routing", mon_info_pci, 0, 0, "" },
	{ "irq", "", "interrupts raised and line levels per GSI", mon_info_irq, 0, 0, "" },
	{ "pic", "", "the 8259 pair: IRR, ISR, IMR, vector base, ELCR", mon_info_pic, 0, 0, "" },
	{ "lapic", "", "the selected vCPU's local APIC, decoded", mon_info_lapic, 0, 0, "" },
	{ "ioapic", "", "the I/O APIC's redirection entries, decoded", mon_info_ioapic, 0, 0, "" },
	{ "block", "", "the disks: position, media, file, format, size, read-only, backing chain",
	  info_block, 0, 0, "" },
	{ .name = NULL },
};

/* ---- x / xp ---- */

struct xfmt {
	unsigned count;
	char fmt;	/* x d u o c s i */
	unsigned size;	/* 1 2 4 8 */
};

static int parse_xfmt(const char *word, struct xfmt *f, FILE *out)
{
	const char *p = strchr(word, '/');

	f->count = 1;
	f->fmt = 'x';
	f->size = 4;
	if (p == NULL)
		return 0;
	p++;
	if (*p >= '0' && *p <= '9') {
		char *end;
		unsigned long n = strtoul(p, &end, 10);
		if (n == 0 || n > 4096)
			return mon_error(out, "invalid count in '%s' (use 1 to 4096)", word);
		f->count = (unsigned)n;
		p = end;
	}
	for (; *p; p++) {
		switch (*p) {
		case 'x': case 'd': case 'u': case 'o': case 'c': case 's': case 'i':
			f->fmt = *p;
			break;
		case 'b': f->size = 1; break;
		case 'h': f->size = 2; break;
		case 'w': f->size = 4; break;
		case 'g': f->size = 8; break;
		default:
			return mon_error(out, "invalid format '%c' in '%s' (use count, then x d u o c s i, then b h w g)",
					 *p, word);
		}
	}
	if (f->fmt == 'c')
		f->size = 1;
	return 0;
}

static int dump_items(struct monitor *mon, FILE *out, uint64_t addr, bool phys,
		      const struct xfmt *f)
{
	unsigned per_line = f->fmt == 'c' ? 16 : 16 / f->size;
	char err[200];

	for (unsigned k = 0; k < f->count; k++) {
		uint64_t v = 0;
		if (mon_read_mem(mon, addr, phys, &v, f->size, err, sizeof(err)) < 0) {
			if (k)
				fputc('\n', out);
			return mon_error(out, "%s", err);
		}
		if (k % per_line == 0)
			fprintf(out, "%s%016" PRIx64 ":", k ? "\n" : "", addr);
		switch (f->fmt) {
		case 'x': fprintf(out, " 0x%0*" PRIx64, (int)f->size * 2, v); break;
		case 'u': fprintf(out, " %" PRIu64, v); break;
		case 'o': fprintf(out, " 0%" PRIo64, v); break;
		case 'c': fprintf(out, " %c", v >= 0x20 && v < 0x7f ? (char)v : '.'); break;
		default: {
			int64_t sv = f->size == 1 ? (int8_t)v : f->size == 2 ? (int16_t)v
				   : f->size == 4 ? (int32_t)v : (int64_t)v;
			fprintf(out, " %" PRId64, sv);
		}
		}
		addr += f->size;
	}
	fputc('\n', out);
	return 0;
}

static int dump_strings(struct monitor *mon, FILE *out, uint64_t addr, bool phys,
			const struct xfmt *f)
{
	char err[200];

	for (unsigned k = 0; k < f->count; k++) {
		fprintf(out, "%016" PRIx64 ": \"", addr);
		for (unsigned n = 0; n < 1024; n++) {
			uint8_t ch;
			if (mon_read_mem(mon, addr, phys, &ch, 1, err, sizeof(err)) < 0) {
				fprintf(out, "\"\n");
				return mon_error(out, "%s", err);
			}
			addr++;
			if (ch == 0)
				break;
			if (ch == '"' || ch == '\\')
				fprintf(out, "\\%c", ch);
			else if (ch >= 0x20 && ch < 0x7f)
				fputc(ch, out);
			else
				fprintf(out, "\\x%02x", ch);
		}
		fprintf(out, "\"\n");
	}
	return 0;
}

static int dump_insns(struct monitor *mon, FILE *out, uint64_t addr, bool phys,
		      const struct xfmt *f)
{
#if HAVE_CAPSTONE
	struct cpu *c = mon_cpu(mon);
	csh h;
	cs_mode mode = c->code_size == 3 ? CS_MODE_64 : c->code_size == 2 ? CS_MODE_32 : CS_MODE_16;
	char err[200];

	if (cs_open(CS_ARCH_X86, mode, &h) != CS_ERR_OK)
		return mon_error(out, "the disassembler (Capstone) could not start");
	for (unsigned k = 0; k < f->count; k++) {
		uint8_t bytes[16];
		size_t n = sizeof(bytes);
		/* Read what is readable (an instruction may end before a hole). */
		while (n > 0 && mon_read_mem(mon, addr, phys, bytes, n, err, sizeof(err)) < 0)
			n--;
		if (n == 0) {
			cs_close(&h);
			return mon_error(out, "%s", err);
		}
		cs_insn *insn;
		size_t got = cs_disasm(h, bytes, n, addr, 1, &insn);
		if (got == 0) {
			fprintf(out, "%016" PRIx64 ": %02x                   (bad)\n", addr, bytes[0]);
			addr++;
			continue;
		}
		char hex[3 * 16 + 1] = "";
		for (size_t b = 0; b < insn[0].size && b < 10; b++)
			snprintf(hex + 2 * b, sizeof(hex) - 2 * b, "%02x", insn[0].bytes[b]);
		fprintf(out, "%016" PRIx64 ": %-20s %s %s\n", addr, hex, insn[0].mnemonic,
			insn[0].op_str);
		addr += insn[0].size;
		cs_free(insn, got);
	}
	cs_close(&h);
	return 0;
#else
	(void)addr; (void)phys; (void)f;
	return mon_error(out, "disassembly needs Capstone, which this build lacks");
#endif
}

static int cmd_x(struct monitor *mon, FILE *out, int argc, char **argv)
{
	bool phys = argv[0][1] == 'p';
	struct xfmt f;
	uint64_t addr;

	if (parse_xfmt(argv[0], &f, out) < 0)
		return -1;
	if (!mon_parse_value(mon, argv[1], &addr))
		return mon_error(out, "invalid address '%s'", argv[1]);
	if (f.fmt == 's')
		return dump_strings(mon, out, addr, phys, &f);
	if (f.fmt == 'i')
		return dump_insns(mon, out, addr, phys, &f);
	return dump_items(mon, out, addr, phys, &f);
}

static int cmd_memsave(struct monitor *mon, FILE *out, int argc, char **argv)
{
	bool phys = argv[0][0] == 'p';
	uint64_t addr, size;
	char err[200];
	uint8_t *buf;
	FILE *f;

	if (!mon_parse_value(mon, argv[1], &addr))
		return mon_error(out, "invalid address '%s'", argv[1]);
	if (!mon_parse_size(argv[2], &size) || size == 0 || size > (1ull << 32))
		return mon_error(out, "invalid size '%s' (1 byte to 4G)", argv[2]);
	/* Check the whole range before creating the file. */
	buf = malloc(size);
	if (buf == NULL)
		return mon_error(out, "out of memory");
	if (mon_read_mem(mon, addr, phys, buf, size, err, sizeof(err)) < 0) {
		free(buf);
		return mon_error(out, "%s", err);
	}
	f = fopen(argv[3], "wb");
	if (f == NULL) {
		free(buf);
		return mon_error(out, "cannot create '%s': %m", argv[3]);
	}
	bool ok = fwrite(buf, 1, size, f) == size;
	ok = (fclose(f) == 0) && ok;
	free(buf);
	if (!ok) {
		remove(argv[3]);
		return mon_error(out, "cannot write '%s'", argv[3]);
	}
	fprintf(out, "saved %" PRIu64 " bytes at %s 0x%" PRIx64 " to %s\n", size,
		phys ? "physical" : "linear", addr, argv[3]);
	return 0;
}

static int cmd_info(struct monitor *mon, FILE *out, int argc, char **argv)
{
	return mon_info(mon, out, argc, argv);
}

const struct mon_cmd mon_inspect_cmds[] = {
	{ "info", "TOPIC [ARGS]", "show machine state ('help info' lists the topics)", cmd_info, 1,
	  -1, "i" },
	{ "x", "/FMT ADDR", "dump memory at a linear address: FMT = count, x d u o c s i, b h w g",
	  cmd_x, 1, 1, "" },
	{ "xp", "/FMT ADDR", "dump memory at a physical address (FMT as for x)", cmd_x, 1, 1, "" },
	{ "memsave", "ADDR SIZE FILE", "save linear memory to a file", cmd_memsave, 3, 3, ";;f" },
	{ "pmemsave", "ADDR SIZE FILE", "save physical memory to a file", cmd_memsave, 3, 3, ";;f" },
	{ .name = NULL },
};
