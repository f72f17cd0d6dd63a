/*
 * task.c - hardware task switches (SDM Vol. 3 7.3), 32-bit and 16-bit TSS.
 *
 * Sources: far JMP/CALL to a TSS or task gate, IRET with NT = 1, and an
 * interrupt or exception through a task gate. Order (7.3, steps 1-13):
 * the intercept is asked first; then the new TSS descriptor and both TSS
 * limits are checked and the whole incoming state is read, so page faults
 * happen before anything changes; the outgoing state is written to the
 * old TSS and the busy bits and back link are updated (memory before
 * registers); TR, CR0.TS, CR3, the registers and the selectors are
 * committed; finally LDTR and the segment descriptors are validated and
 * loaded. A fault in that last phase is delivered in the context of the
 * new task (its EIP is already in place), with #TS for bad descriptors.
 */
#include "seg.h"

#include "interp.h"
#include "system.h"
#include "virt.h"
#include "../mmu/mmu.h"

struct tss_image {
	uint32_t cr3, eip, eflags;
	uint32_t regs[8];
	uint16_t sel[S_NSEG];	/* indexed by enum sreg (same order as the TSS) */
	uint16_t ldt;
};

static void read_image(struct cpu *cpu, uint64_t base, bool is32, struct tss_image *t)
{
	if (is32) {
		t->cr3 = (uint32_t)sys_read(cpu, base + 0x1c, 4);
		t->eip = (uint32_t)sys_read(cpu, base + 0x20, 4);
		t->eflags = (uint32_t)sys_read(cpu, base + 0x24, 4);
		for (int r = 0; r < 8; r++)
			t->regs[r] = (uint32_t)sys_read(cpu, base + 0x28 + 4 * r, 4);
		for (int s = 0; s < S_NSEG; s++)
			t->sel[s] = (uint16_t)sys_read(cpu, base + 0x48 + 4 * s, 2);
		t->ldt = (uint16_t)sys_read(cpu, base + 0x60, 2);
	} else {
		t->cr3 = 0;
		t->eip = (uint32_t)sys_read(cpu, base + 0x0e, 2);
		t->eflags = (uint32_t)sys_read(cpu, base + 0x10, 2);
		for (int r = 0; r < 8; r++)
			t->regs[r] = (uint32_t)sys_read(cpu, base + 0x12 + 2 * r, 2);
		for (int s = 0; s <= S_DS; s++)
			t->sel[s] = (uint16_t)sys_read(cpu, base + 0x22 + 2 * s, 2);
		t->sel[S_FS] = t->sel[S_GS] = 0;
		t->ldt = (uint16_t)sys_read(cpu, base + 0x2a, 2);
	}
}

static void save_state(struct cpu *cpu, uint64_t base, bool is32, uint64_t eip, uint64_t fl)
{
	if (is32) {
		sys_write(cpu, base + 0x20, (uint32_t)eip, 4);
		sys_write(cpu, base + 0x24, (uint32_t)fl, 4);
		for (int r = 0; r < 8; r++)
			sys_write(cpu, base + 0x28 + 4 * r, (uint32_t)cpu->regs[r], 4);
		for (int s = 0; s < S_NSEG; s++)
			sys_write(cpu, base + 0x48 + 4 * s, cpu->seg[s].sel, 2);
	} else {
		sys_write(cpu, base + 0x0e, (uint16_t)eip, 2);
		sys_write(cpu, base + 0x10, (uint16_t)fl, 2);
		for (int r = 0; r < 8; r++)
			sys_write(cpu, base + 0x12 + 2 * r, (uint16_t)cpu->regs[r], 2);
		for (int s = 0; s <= S_DS; s++)
			sys_write(cpu, base + 0x22 + 2 * s, cpu->seg[s].sel, 2);
	}
}

/* Validates and loads LDTR and the segment registers of the new task. */
static void load_task_segments(struct cpu *cpu, const struct tss_image *t, unsigned ext)
{
	uint32_t err;
	struct desc d;

	/* LDTR */
	if ((t->ldt & 0xfffc) == 0) {
		seg_null(&cpu->ldtr, t->ldt);
		cpu->ldtr.attr = AR_UNUSABLE;
	} else {
		err = (t->ldt & 0xfffcu) | ext;
		if ((t->ldt & 4) || !seg_fetch_desc(cpu, t->ldt, &d, false))
			cpu_fault(cpu, EXC_TS, err);
		if (desc_s(&d) || desc_type(&d) != DT_LDT || !desc_present(&d))
			cpu_fault(cpu, EXC_TS, err);
		desc_to_seg(&d, t->ldt, &cpu->ldtr);
	}

	/* CS: CPL of the new task is its RPL. */
	uint16_t csel = t->sel[S_CS];
	unsigned cpl = csel & 3;
	err = (csel & 0xfffcu) | ext;
	if ((csel & 0xfffc) == 0)
		cpu_fault(cpu, EXC_TS, ext);
	if (!seg_fetch_desc(cpu, csel, &d, false))
		cpu_fault(cpu, EXC_TS, err);
	unsigned type = desc_type(&d);
	if (!desc_s(&d) || !(type & DT_CODE))
		cpu_fault(cpu, EXC_TS, err);
	if ((type & DT_EC) ? desc_dpl(&d) > cpl : desc_dpl(&d) != cpl)
		cpu_fault(cpu, EXC_TS, err);
	if (!desc_present(&d))
		cpu_fault(cpu, EXC_NP, err);
	seg_set_accessed(cpu, csel, &d);
	struct seg cs;
	desc_to_seg(&d, csel, &cs);

	struct seg s[S_NSEG];
	seg_check_data(cpu, S_SS, t->sel[S_SS], cpl, EXC_TS, ext, &s[S_SS]);
	static const unsigned data[4] = { S_DS, S_ES, S_FS, S_GS };
	for (int k = 0; k < 4; k++)
		seg_check_data(cpu, data[k], t->sel[data[k]], cpl, EXC_TS, ext, &s[data[k]]);
	cpu->seg[S_CS] = cs;
	cpu->seg[S_SS] = s[S_SS];
	for (int k = 0; k < 4; k++)
		cpu->seg[data[k]] = s[data[k]];
	cpu_update_mode(cpu);
}

void task_switch(struct cpu *cpu, uint16_t sel, const struct desc *d, unsigned source,
		 uint32_t error_code, uint64_t ret_rip, unsigned ext)
{
	if (virt_check(cpu, VE_TASK_SWITCH, NULL, sel, source, 0)) {
		/* Taken (a VM exit): stop the instruction or delivery. */
		cpu->exc_nest = 0;
		cpu->exc_first = -1;
		cpu_unwind(cpu);
	}
	uint32_t err = (sel & 0xfffcu) | ext;
	bool new32 = desc_type(d) & 8;
	bool old32 = cpu->tr.attr & 8;
	if (!desc_present(d))
		cpu_fault(cpu, EXC_NP, err);
	uint64_t nbase = desc_base32(d);
	uint32_t nlimit = desc_limit(d);
	if (nlimit < (new32 ? 0x67u : 0x2bu))
		cpu_fault(cpu, EXC_TS, err);
	if (cpu->tr.limit < (old32 ? 0x5fu : 0x29u))
		cpu_fault(cpu, EXC_TS, (cpu->tr.sel & 0xfffcu) | ext);

	struct tss_image t;
	read_image(cpu, nbase, new32, &t);

	/* The outgoing task. */
	uint64_t fl = cpu_get_rflags(cpu);
	if (source == TS_IRET)
		fl &= ~(uint64_t)FL_NT;
	save_state(cpu, cpu->tr.base, old32, ret_rip, fl);
	if (source == TS_JMP || source == TS_IRET) {
		struct desc od;
		if (seg_fetch_desc(cpu, cpu->tr.sel, &od, false))
			seg_store_desc_hi(cpu, cpu->tr.sel, od.hi & ~(2u << 8));
	}
	if (source == TS_CALL || source == TS_GATE) {
		sys_write(cpu, nbase, cpu->tr.sel, 2);
		t.eflags |= FL_NT;
	}
	uint32_t nhi = d->hi;
	if (source != TS_IRET) {
		nhi |= 2u << 8;
		seg_store_desc_hi(cpu, sel, nhi);
	}

	/* Commit point: from here faults belong to the new task. */
	cpu->tr.sel = sel;
	cpu->tr.base = nbase;
	cpu->tr.limit = nlimit;
	cpu->tr.attr = (nhi >> 8) & 0xf0ff;
	cpu->cr0 |= CR0_TS;
	if (new32 && (cpu->cr0 & CR0_PG) && cpu_write_cr3(cpu, t.cr3) != 0)
		cpu_fault(cpu, EXC_GP, 0);	/* bad PAE PDPTEs */
	for (int r = 0; r < 8; r++) {
		if (new32)
			cpu->regs[r] = t.regs[r];
		else
			reg_write16(cpu, (unsigned)r, (uint16_t)t.regs[r]);
	}
	cpu->rip = cpu->next_rip = t.eip;
	/* Selectors first, descriptors after (faults see the new selectors). */
	for (int s = 0; s < S_NSEG; s++) {
		cpu->seg[s].sel = t.sel[s];
		cpu->seg[s].attr = AR_UNUSABLE | (s == S_SS ? (t.sel[S_CS] & 3u) << AR_DPL_SHIFT : 0);
	}
	cpu->ldtr.sel = t.ldt;
	cpu->ldtr.attr = AR_UNUSABLE;
	cpu_set_rflags(cpu, t.eflags, new32 ? ~0ull : 0xffffull);
	cpu_update_mode(cpu);

	if (cpu->rflags & FL_VM) {
		for (int s = 0; s < S_NSEG; s++)
			seg_real(cpu, (unsigned)s, t.sel[s], &cpu->seg[s]);
		if ((t.ldt & 0xfffc) == 0) {
			seg_null(&cpu->ldtr, t.ldt);
		} else {
			struct desc ld;
			if ((t.ldt & 4) || !seg_fetch_desc(cpu, t.ldt, &ld, false) || desc_s(&ld) ||
			    desc_type(&ld) != DT_LDT || !desc_present(&ld))
				cpu_fault(cpu, EXC_TS, (t.ldt & 0xfffcu) | ext);
			desc_to_seg(&ld, t.ldt, &cpu->ldtr);
		}
		cpu_update_mode(cpu);
	} else {
		load_task_segments(cpu, &t, ext);
	}

	if (error_code != NO_ERROR_CODE) {
		struct stk st;
		stk_cur(cpu, &st);
		st.err = ext;
		stk_push(cpu, &st, error_code, new32 ? 4 : 2);
		stk_commit_sp(cpu, &st);
	}
	if (cpu->rip > cpu->seg[S_CS].limit)
		cpu_fault(cpu, EXC_GP, 0);
	cpu->exit_request = 1;
}
