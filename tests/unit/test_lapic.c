/*
 * test_lapic.c - local APIC: reset state, MMIO and x2APIC MSR access,
 * interrupt acceptance and priority (IRR/ISR/TPR/PPR/EOI, CR8), the
 * timer in one-shot, periodic and TSC-deadline modes, IPIs (fixed,
 * shorthands, logical destinations, NMI, INIT/SIPI starting an AP),
 * LINT0 ExtINT, relocation and global disable.
 */
#include <criterion/criterion.h>

#include "apic_plat.h"
#include "harness.h"
#include "emu/cpu/msr.h"
#include "emu/cpu/system.h"
#include "emu/dev/irq.h"
#include "emu/state.h"

#define APIC 0xfee00000ull

static uint32_t rd(struct plat *p, int cpu, uint32_t off)
{
	return lapic_reg_read(plat_apic(p, cpu), off);
}

static void wr(struct plat *p, int cpu, uint32_t off, uint32_t v)
{
	lapic_reg_write(plat_apic(p, cpu), off, v);
}

static void send_fixed(struct plat *p, uint32_t dest, uint8_t vec, bool level)
{
	struct apic_msg msg = { .vector = vec, .mode = APIC_DM_FIXED, .level = level,
				.assert = true, .dest = dest };
	lapic_bus_deliver(p->bus, &msg);
}

Test(lapic, reset_state)
{
	struct plat *p = plat_new(2);
	cr_assert_eq(rd(p, 0, 0x20), 0u);
	cr_assert_eq(rd(p, 1, 0x20), 1u << 24);
	cr_assert_eq(rd(p, 0, 0x30), 0x01050014u);
	cr_assert_eq(rd(p, 0, 0xf0), 0xffu, "SVR: software-disabled, vector 0xFF");
	cr_assert_eq(rd(p, 0, 0xe0), 0xffffffffu, "DFR: flat model");
	cr_assert_eq(rd(p, 0, 0x350), 0x700u, "BSP LINT0: ExtINT, unmasked (virtual wire)");
	for (uint32_t off = 0x320; off <= 0x370; off += 0x10)
		cr_assert_eq(rd(p, 1, off), 0x10000u, "AP LVT 0x%x masked", off);
	/* The MMIO page shows the running vCPU's (CPU 0 by default) registers. */
	cr_assert_eq(phys_read_u(p->m, APIC + 0x30, 4), 0x01050014u);
	p->m->current = p->m->cpus[1];
	cr_assert_eq(phys_read_u(p->m, APIC + 0x20, 4), 1u << 24);
	cr_assert_eq(phys_read_u(p->m, APIC + 0x23, 1), 1u, "byte read of the ID's top byte");
	p->m->current = NULL;
	plat_free(p);
}

Test(lapic, mmio_write_read)
{
	struct plat *p = plat_new(1);
	phys_write_u(p->m, APIC + 0xf0, 0x1ff, 4);
	cr_assert_eq(rd(p, 0, 0xf0), 0x1ffu);
	phys_write_u(p->m, APIC + 0xd0, 0x03000000, 4);
	cr_assert_eq(phys_read_u(p->m, APIC + 0xd0, 4), 0x03000000u);
	phys_write_u(p->m, APIC + 0x80, 0x21, 4);
	cr_assert_eq(rd(p, 0, 0x80), 0x21u);
	cr_assert_eq(p->m->cpus[0]->cr8, 2u, "CR8 = TPR[7:4]");
	plat_free(p);
}

/* PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0 (SDM 10.8.3.1). */
Test(lapic, ppr_table)
{
	static const struct { uint32_t tpr; int isr; uint32_t ppr; } tab[] = {
		{ 0x00, -1, 0x00 }, { 0x35, -1, 0x35 }, { 0x35, 0x41, 0x40 },
		{ 0x45, 0x41, 0x45 }, { 0x40, 0x4f, 0x40 }, { 0x10, 0xfe, 0xf0 },
	};
	for (size_t k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
		struct plat *p = plat_new(1);
		plat_enable(p, 0);
		if (tab[k].isr >= 0) {
			send_fixed(p, 0, (uint8_t)tab[k].isr, false);
			cr_assert_eq(lapic_intr_ack(p->m, p->m->cpus[0]), tab[k].isr);
		}
		wr(p, 0, 0x80, tab[k].tpr);
		cr_assert_eq(rd(p, 0, 0xa0), tab[k].ppr, "row %zu: PPR 0x%x", k, rd(p, 0, 0xa0));
		plat_free(p);
	}
}

Test(lapic, priority_ack_eoi)
{
	struct plat *p = plat_new(1);
	struct cpu *c = p->m->cpus[0];
	wr(p, 0, 0x350, 0x10000);	/* LINT0 masked: no ExtINT in the way */
	send_fixed(p, 0, 0x52, false);
	cr_assert(plat_bit(p, 0, 0x200, 0x52));
	cr_assert_not(c->pending & PEND_INTR, "software-disabled APIC presents nothing");
	plat_enable(p, 0);
	send_fixed(p, 0, 0x31, false);
	send_fixed(p, 0, 0x5f, false);
	cr_assert(c->pending & PEND_INTR);
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x5f);
	cr_assert(plat_bit(p, 0, 0x100, 0x5f));
	cr_assert_not(plat_bit(p, 0, 0x200, 0x5f));
	/* 0x52 is in the same class as the in-service 0x5F: blocked. */
	cr_assert_not(lapic_intr_pending(c));
	cr_assert_not(c->pending & PEND_INTR);
	cr_assert_eq(lapic_intr_ack(p->m, c), -1);
	wr(p, 0, 0xb0, 0);	/* EOI */
	cr_assert_not(plat_bit(p, 0, 0x100, 0x5f));
	cr_assert(c->pending & PEND_INTR);
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x52);
	/* A higher class nests. */
	send_fixed(p, 0, 0x90, false);
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x90);
	wr(p, 0, 0xb0, 0);	/* EOIs 0x90, the highest in service */
	cr_assert(plat_bit(p, 0, 0x100, 0x52));
	wr(p, 0, 0xb0, 0);
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x31);
	wr(p, 0, 0xb0, 0);
	cr_assert_eq(lapic_intr_ack(p->m, c), -1);
	plat_free(p);
}

Test(lapic, tpr_and_cr8)
{
	struct plat *p = plat_new(1);
	struct cpu *c = p->m->cpus[0];
	wr(p, 0, 0x350, 0x10000);
	plat_enable(p, 0);
	wr(p, 0, 0x80, 0x50);
	send_fixed(p, 0, 0x45, false);
	cr_assert_not(c->pending & PEND_INTR, "class 4 <= TPR class 5");
	cr_assert_eq(cpu_write_cr8(c, 3), 0);
	cr_assert(c->pending & PEND_INTR, "lowering CR8 releases the interrupt");
	cr_assert_eq(rd(p, 0, 0x80), 0x30u, "TPR follows CR8 (low nibble 0)");
	cr_assert_eq(cpu_write_cr8(c, 4), 0);
	cr_assert_not(c->pending & PEND_INTR);
	plat_free(p);
}

/* MOV to/from CR8 in 64-bit code reaches the LAPIC's TPR. */
Test(lapic, mov_cr8_instruction)
{
	struct th *t = th_new(TH_LONG64);
	char err[200];
	t->m->clock = clock_create(t->m, CLOCK_MANUAL, 0);
	struct lapic_bus *bus = lapic_bus_create(t->m, err, sizeof(err));
	cr_assert(bus, "%s", err);
	th_asm(t, "mov rax, 9\n mov cr8, rax\n mov rbx, cr8");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_BX], 9u);
	cr_assert_eq(lapic_reg_read(t->cpu->lapic, 0x80), 0x90u);
	lapic_bus_destroy(bus);
	clock_destroy(t->m->clock);
	t->m->clock = NULL;
	state_registry_free(t->m->state);	/* the harness's bare machine has no registry of its own */
	t->m->state = NULL;
	th_free(t);
}

Test(lapic, illegal_vector_and_esr)
{
	struct plat *p = plat_new(1);
	plat_enable(p, 0);
	send_fixed(p, 0, 5, false);
	cr_assert_not(plat_bit(p, 0, 0x200, 5));
	cr_assert_eq(rd(p, 0, 0x280), 0u, "ESR latches on write");
	wr(p, 0, 0x280, 0);
	cr_assert_eq(rd(p, 0, 0x280), 0x40u, "received illegal vector");
	wr(p, 0, 0x300, 0x00004003);	/* send vector 3 */
	wr(p, 0, 0x280, 0);
	cr_assert_eq(rd(p, 0, 0x280), 0x20u, "send illegal vector");
	wr(p, 0, 0x280, 0);
	cr_assert_eq(rd(p, 0, 0x280), 0u);
	plat_free(p);
}

/* Divide configuration encodings (SDM figure 10-10). */
Test(lapic, timer_divide_table)
{
	static const struct { uint32_t dcr; uint32_t div; } tab[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (size_t k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
		struct plat *p = plat_new(1);
		wr(p, 0, 0x3e0, tab[k].dcr);
		wr(p, 0, 0x320, 0x40);
		wr(p, 0, 0x380, 1000);
		clock_set_ns(p->m, 100ull * tab[k].div);
		cr_assert_eq(rd(p, 0, 0x390), 900u, "dcr 0x%x: current %u", tab[k].dcr,
			     rd(p, 0, 0x390));
		plat_free(p);
	}
}

Test(lapic, timer_oneshot)
{
	struct plat *p = plat_new(1);
	plat_enable(p, 0);
	wr(p, 0, 0x3e0, 0xb);		/* divide by 1: 1 ns per count */
	wr(p, 0, 0x320, 0x41);		/* one-shot, vector 0x41 */
	wr(p, 0, 0x380, 1000);
	cr_assert_eq(rd(p, 0, 0x380), 1000u);
	clock_set_ns(p->m, 300);
	cr_assert_eq(rd(p, 0, 0x390), 700u);
	clock_set_ns(p->m, 999);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x41));
	clock_set_ns(p->m, 1000);
	cr_assert(plat_bit(p, 0, 0x200, 0x41));
	cr_assert_eq(rd(p, 0, 0x390), 0u);
	cr_assert_eq(lapic_intr_ack(p->m, p->m->cpus[0]), 0x41);
	wr(p, 0, 0xb0, 0);
	clock_set_ns(p->m, 5000);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x41), "one-shot fires once");
	/* Masked: counts, no interrupt. */
	wr(p, 0, 0x320, 0x10041);
	wr(p, 0, 0x380, 10);
	clock_set_ns(p->m, 6000);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x41));
	/* Writing 0 stops a running timer. */
	wr(p, 0, 0x320, 0x41);
	wr(p, 0, 0x380, 100);
	wr(p, 0, 0x380, 0);
	clock_set_ns(p->m, 7000);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x41));
	plat_free(p);
}

Test(lapic, timer_periodic)
{
	struct plat *p = plat_new(1);
	struct cpu *c = p->m->cpus[0];
	int n = 0;
	plat_enable(p, 0);
	wr(p, 0, 0x3e0, 0x0);		/* divide by 2 */
	wr(p, 0, 0x320, 0x20042);	/* periodic, vector 0x42 */
	wr(p, 0, 0x380, 100);		/* 200 ns period */
	for (uint64_t t = 50; t <= 1000; t += 50) {
		clock_set_ns(p->m, t);
		if (lapic_intr_ack(p->m, c) == 0x42) {
			n++;
			wr(p, 0, 0xb0, 0);
		}
	}
	cr_assert_eq(n, 5, "%d interrupts in 1000 ns", n);
	clock_set_ns(p->m, 1050);
	cr_assert_eq(rd(p, 0, 0x390), 75u, "count reloads each period");
	/* A mode change stops the timer. */
	wr(p, 0, 0x320, 0x42);
	cr_assert_eq(rd(p, 0, 0x380), 0u);
	clock_set_ns(p->m, 5000);
	cr_assert_eq(lapic_intr_ack(p->m, c), -1);
	plat_free(p);
}

Test(lapic, timer_tsc_deadline)
{
	struct plat *p = plat_new(1);
	struct cpu *c = p->m->cpus[0];
	uint64_t v = 1;
	plat_enable(p, 0);
	cr_assert_eq(msr_write(c, MSR_TSC_DEADLINE, 1234), 0, "ignored outside deadline mode");
	cr_assert_eq(msr_read(c, MSR_TSC_DEADLINE, &v), 0);
	cr_assert_eq(v, 0u);
	wr(p, 0, 0x320, 0x40043);	/* TSC-deadline, vector 0x43 */
	wr(p, 0, 0x380, 55);
	cr_assert_eq(rd(p, 0, 0x380), 0u, "initial count is ignored in deadline mode");
	uint64_t tsc = cpu_rdtsc(c);
	cr_assert_eq(msr_write(c, MSR_TSC_DEADLINE, tsc + 500), 0);
	cr_assert_eq(msr_read(c, MSR_TSC_DEADLINE, &v), 0);
	cr_assert_eq(v, tsc + 500);
	clock_set_ns(p->m, 499);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x43));
	clock_set_ns(p->m, 500);
	cr_assert(plat_bit(p, 0, 0x200, 0x43));
	cr_assert_eq(msr_read(c, MSR_TSC_DEADLINE, &v), 0);
	cr_assert_eq(v, 0u, "disarmed after firing");
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x43);
	wr(p, 0, 0xb0, 0);
	/* A deadline in the past fires at once; 0 disarms. */
	cr_assert_eq(msr_write(c, MSR_TSC_DEADLINE, 1), 0);
	cr_assert(plat_bit(p, 0, 0x200, 0x43));
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x43);
	wr(p, 0, 0xb0, 0);
	cr_assert_eq(msr_write(c, MSR_TSC_DEADLINE, cpu_rdtsc(c) + 100), 0);
	cr_assert_eq(msr_write(c, MSR_TSC_DEADLINE, 0), 0);
	clock_set_ns(p->m, 2000);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x43));
	plat_free(p);
}

Test(lapic, ipi_fixed_shorthands_logical)
{
	struct plat *p = plat_new(3);
	for (int i = 0; i < 3; i++)
		plat_enable(p, i);
	/* Physical destination 2. */
	wr(p, 0, 0x310, 2u << 24);
	wr(p, 0, 0x300, 0x00004061);
	cr_assert(plat_bit(p, 2, 0x200, 0x61));
	cr_assert_not(plat_bit(p, 1, 0x200, 0x61));
	cr_assert_eq(rd(p, 0, 0x300) & (1u << 12), 0u, "delivery status idle");
	/* Self. */
	wr(p, 1, 0x300, 0x00044062);
	cr_assert(plat_bit(p, 1, 0x200, 0x62));
	cr_assert_not(plat_bit(p, 0, 0x200, 0x62));
	/* All excluding self. */
	wr(p, 0, 0x300, 0x000c4063);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x63));
	cr_assert(plat_bit(p, 1, 0x200, 0x63) && plat_bit(p, 2, 0x200, 0x63));
	/* All including self. */
	wr(p, 0, 0x300, 0x00084064);
	for (int i = 0; i < 3; i++)
		cr_assert(plat_bit(p, i, 0x200, 0x64));
	/* Broadcast physical 0xFF. */
	wr(p, 0, 0x310, 0xffu << 24);
	wr(p, 0, 0x300, 0x00004065);
	for (int i = 0; i < 3; i++)
		cr_assert(plat_bit(p, i, 0x200, 0x65));
	/* Logical flat: LDR bits 1 (CPU 1) and 4 (CPU 2). */
	wr(p, 1, 0xd0, 0x01000000);
	wr(p, 2, 0xd0, 0x04000000);
	wr(p, 0, 0x310, 0x05u << 24);
	wr(p, 0, 0x300, 0x00004866);
	cr_assert(plat_bit(p, 1, 0x200, 0x66) && plat_bit(p, 2, 0x200, 0x66));
	wr(p, 0, 0x310, 0x04u << 24);
	wr(p, 0, 0x300, 0x00004867);
	cr_assert(!plat_bit(p, 1, 0x200, 0x67) && plat_bit(p, 2, 0x200, 0x67));
	/* Logical cluster: cluster 1, member bit 2 is CPU 2. */
	for (int i = 0; i < 3; i++)
		wr(p, i, 0xe0, 0x0fffffff);
	wr(p, 1, 0xd0, 0x11000000);
	wr(p, 2, 0xd0, 0x12000000);
	wr(p, 0, 0x310, 0x12u << 24);
	wr(p, 0, 0x300, 0x00004868);
	cr_assert(!plat_bit(p, 1, 0x200, 0x68) && plat_bit(p, 2, 0x200, 0x68));
	/* Lowest priority among CPUs 1 and 2: CPU 2 has the lower TPR. */
	wr(p, 1, 0x80, 0x30);
	wr(p, 0, 0x310, 0x13u << 24);
	wr(p, 0, 0x300, 0x00004969);
	cr_assert(!plat_bit(p, 1, 0x200, 0x69) && plat_bit(p, 2, 0x200, 0x69));
	plat_free(p);
}

Test(lapic, ipi_nmi_and_level_tmr)
{
	struct plat *p = plat_new(2);
	plat_enable(p, 1);
	wr(p, 0, 0x310, 1u << 24);
	wr(p, 0, 0x300, 0x00004400);	/* NMI */
	cr_assert(p->m->cpus[1]->pending & PEND_NMI);
	cr_assert_not(p->m->cpus[0]->pending & PEND_NMI);
	send_fixed(p, 1, 0x70, true);
	cr_assert(plat_bit(p, 1, 0x180, 0x70), "level-triggered sets TMR");
	send_fixed(p, 1, 0x70, false);
	cr_assert_not(plat_bit(p, 1, 0x180, 0x70), "edge clears TMR");
	plat_free(p);
}

/* INIT-SIPI-SIPI starts an AP at vector << 12 in real mode. */
Test(lapic, init_sipi_starts_ap)
{
	struct plat *p = plat_new(2);
	struct cpu *ap = p->m->cpus[1];
	/* AP code at 0x8000: mov byte [0x9000], 0x5a; mov ax, cs; mov [0x9002], ax; cli; hlt */
	static const uint8_t code[] = { 0xc6, 0x06, 0x00, 0x90, 0x5a, 0x8c, 0xc8,
					0xa3, 0x02, 0x90, 0xfa, 0xf4 };
	phys_write(p->m, 0x8000, code, sizeof(code));
	cr_assert(ap->sipi_wait && ap->halted);
	cr_assert_eq(cpu_run(ap, 100), 0u, "a CPU waiting for SIPI does nothing");
	wr(p, 0, 0x310, 1u << 24);
	wr(p, 0, 0x300, 0x0000c500);	/* INIT assert, level */
	wr(p, 0, 0x300, 0x00008500);	/* INIT de-assert */
	wr(p, 0, 0x300, 0x00004608);	/* SIPI vector 8 */
	wr(p, 0, 0x300, 0x00004608);	/* second SIPI: ignored once running */
	cr_assert(ap->pending & PEND_INIT);
	/* The run loop's view: INIT, then the SIPI, then the code. */
	for (int k = 0; k < 4 && !(ap->halted && !ap->sipi_wait && !ap->pending); k++) {
		lapic_poll(ap);
		cpu_run(ap, 100);
	}
	cr_assert_eq(phys_read_u(p->m, 0x9000, 1), 0x5au);
	cr_assert_eq(phys_read_u(p->m, 0x9002, 2), 0x0800u);
	cr_assert(ap->halted);
	cr_assert_not(ap->sipi_wait);
	plat_free(p);
}

static int pic_vec;
static int fake_pic_ack(void *opaque)
{
	(void)opaque;
	return pic_vec;
}

Test(lapic, lint0_extint_and_nmi)
{
	struct plat *p = plat_new(2);
	struct cpu *c = p->m->cpus[0];
	lapic_bus_set_extint(p->bus, fake_pic_ack, NULL);
	pic_vec = 0x08;
	lapic_bus_set_lint(p->bus, 0, 1);
	cr_assert(c->pending & PEND_INTR, "ExtINT passes with the APIC software-disabled");
	cr_assert_not(p->m->cpus[1]->pending & PEND_INTR, "AP LINT0 is masked");
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x08);
	lapic_bus_set_lint(p->bus, 0, 0);
	cr_assert_not(c->pending & PEND_INTR);
	/* Masking LINT0 blocks the 8259. */
	plat_enable(p, 0);
	wr(p, 0, 0x350, 0x10700);
	lapic_bus_set_lint(p->bus, 0, 1);
	cr_assert_not(c->pending & PEND_INTR);
	/* Unmasking with the line high presents it. */
	wr(p, 0, 0x350, 0x700);
	cr_assert(c->pending & PEND_INTR);
	lapic_bus_set_lint(p->bus, 0, 0);
	/* LINT1 in NMI mode. */
	wr(p, 0, 0x360, 0x400);
	lapic_bus_set_lint(p->bus, 1, 1);
	cr_assert(c->pending & PEND_NMI);
	/* APIC hardware-disabled: the 8259 goes straight to CPU 0. */
	c->pending = 0;
	cr_assert_eq(msr_write(c, MSR_APIC_BASE, APIC | APIC_BASE_BSP), 0);
	lapic_bus_set_lint(p->bus, 0, 1);
	cr_assert(c->pending & PEND_INTR);
	pic_vec = 0x20;
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x20);
	cr_assert_eq(phys_read_u(p->m, APIC + 0x30, 4), 0xffffffffu, "no MMIO page while disabled");
	plat_free(p);
}

Test(lapic, relocation_and_disable)
{
	struct plat *p = plat_new(1);
	struct cpu *c = p->m->cpus[0];
	plat_enable(p, 0);
	cr_assert_eq(msr_write(c, MSR_APIC_BASE, 0xfef00000ull | APIC_BASE_EN), 0);
	cr_assert_eq(phys_read_u(p->m, 0xfef00030, 4), 0x01050014u);
	cr_assert_eq(phys_read_u(p->m, APIC + 0x30, 4), 0xffffffffu, "old page gone");
	/* Disabling globally resets the APIC state; re-enabling keeps it reset. */
	cr_assert_eq(msr_write(c, MSR_APIC_BASE, 0xfef00000ull), 0);
	cr_assert_eq(msr_write(c, MSR_APIC_BASE, APIC | APIC_BASE_EN), 0);
	cr_assert_eq(rd(p, 0, 0xf0), 0xffu, "SVR back to its reset value");
	plat_free(p);
}

Test(lapic, x2apic_msrs)
{
	struct plat *p = plat_new(2);
	struct cpu *c = p->m->cpus[0], *c1 = p->m->cpus[1];
	uint64_t v = 0;
	cr_assert_eq(msr_read(c, 0x802, &v), -1, "x2APIC MSRs #GP in xAPIC mode");
	cr_assert_eq(msr_write(c, MSR_APIC_BASE, APIC | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP), 0);
	cr_assert_eq(msr_write(c1, MSR_APIC_BASE, APIC | APIC_BASE_EN | APIC_BASE_EXTD), 0);
	cr_assert_eq(msr_read(c1, 0x802, &v), 0);
	cr_assert_eq(v, 1u, "32-bit x2APIC ID");
	cr_assert_eq(msr_read(c1, 0x80d, &v), 0);
	cr_assert_eq(v, 0x00000002u, "LDR derived from the ID");
	cr_assert_eq(msr_read(c, 0x803, &v), 0);
	cr_assert_eq(v, 0x01050014u);
	cr_assert_eq(msr_write(c, 0x80f, 0x1ff), 0);
	cr_assert_eq(msr_write(c1, 0x80f, 0x1ff), 0);
	cr_assert_eq(msr_write(c, 0x83f, 0x71), 0, "SELF IPI");
	cr_assert(plat_bit(p, 0, 0x200, 0x71));
	cr_assert_eq(msr_write(c, 0x830, 1ull << 32 | 0x4072), 0, "ICR with 32-bit destination");
	cr_assert(plat_bit(p, 1, 0x200, 0x72));
	cr_assert_eq(msr_read(c, 0x830, &v), 0);
	cr_assert_eq(v, 1ull << 32 | 0x4072);
	cr_assert_eq(msr_write(c, 0x80b, 1), -1, "EOI with a non-zero value #GPs");
	cr_assert_eq(msr_write(c, 0x80b, 0), 0);
	cr_assert_eq(msr_write(c, 0x803, 0), -1, "version is read-only");
	cr_assert_eq(msr_read(c, 0x80b, &v), -1, "EOI is write-only");
	cr_assert_eq(msr_read(c, 0x83f, &v), -1, "SELF IPI is write-only");
	cr_assert_eq(msr_write(c, 0x808, 0x20), 0);
	cr_assert_eq(c->cr8, 2u);
	cr_assert_eq(phys_read_u(p->m, APIC + 0x30, 4), 0xffffffffu, "no MMIO in x2APIC mode");
	cr_assert_eq(msr_write(c, MSR_APIC_BASE, APIC | APIC_BASE_EN | APIC_BASE_BSP), -1,
		     "x2APIC -> xAPIC directly is invalid");
	plat_free(p);
}

/* ---- the board: machine_create wires LAPICs, IOAPIC, 8259 and the run loop ---- */

static struct machine *board_new(int ncpus)
{
	struct machine_config cfg = { .ram_size = 16ull << 20, .ncpus = ncpus, .icount = true };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	cr_assert_not_null(m, "machine_create: %s", err);
	return m;
}

Test(lapic, board_wiring)
{
	struct machine *m = board_new(2);
	struct cpu *c = m->cpus[0];
	cr_assert(c->lapic && m->cpus[1]->lapic);
	cr_assert(m->cpus[1]->sipi_wait && m->cpus[1]->halted, "APs wait for SIPI");
	cr_assert_eq((void *)m->intr_ack, (void *)lapic_intr_ack);
	/* A GSI reaches the IOAPIC, which delivers to CPU 0's LAPIC. */
	lapic_reg_write(c->lapic, 0xf0, 0x1ff);
	lapic_reg_write(c->lapic, 0x350, 0x10000);
	phys_write_u(m, 0xfec00000, 0x10 + 2 * 20, 4);
	phys_write_u(m, 0xfec00010, 0x58, 4);
	machine_set_gsi(m, 20, 1);
	cr_assert((lapic_reg_read(c->lapic, 0x220) >> (0x58 - 0x40)) & 1);
	cr_assert_eq(m->intr_ack(m, c), 0x58);
	/* The HPET page and the ACPI PM timer are there. */
	cr_assert_eq(phys_read_u(m, 0xfed00004, 4), 10000000u);
	cr_assert(machine_io_in(m, 0x608, 4) < (1u << 24));
	machine_destroy(m);
}

/* The run loop runs every vCPU: the BSP starts the AP with INIT-SIPI and
 * waits for it to write a flag, then exits through isa-debug-exit. */
Test(lapic, board_smp_run_loop)
{
	static const uint8_t bsp[] = {
		0x66, 0x67, 0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x01, /* ICR hi = 1 << 24 */
		0x66, 0x67, 0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x00, 0xc5, 0x00, 0x00, /* INIT */
		0x66, 0x67, 0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x08, 0x46, 0x00, 0x00, /* SIPI 8 */
		0x80, 0x3e, 0x00, 0x90, 0x5a, 0x75, 0xf9,	/* wait for [0x9000] = 0x5A */
		0xb0, 0x00, 0xe6, 0xf4, 0xfa, 0xf4,		/* out 0xF4, 0 */
	};
	static const uint8_t ap[] = { 0xc6, 0x06, 0x00, 0x90, 0x5a, 0xfa, 0xf4 };
	struct machine *m = board_new(2);
	struct cpu *c = m->cpus[0];
	phys_write(m, 0x7000, bsp, sizeof(bsp));
	phys_write(m, 0x8000, ap, sizeof(ap));
	/* BSP in real mode at 0:0x7000 with a 4 GiB DS limit (to reach the APIC). */
	c->seg[S_CS].sel = 0;
	c->seg[S_CS].base = 0;
	c->rip = 0x7000;
	c->seg[S_DS].limit = 0xffffffffu;
	cpu_update_mode(c);
	m->cfg.icount_limit = 5000000;
	cr_assert_eq(machine_run(m), STOP_EXIT);
	cr_assert_eq(m->exit_status, 1);
	cr_assert(m->cpus[1]->halted && !m->cpus[1]->sipi_wait);
	machine_destroy(m);
}

/* The saved state (state.h tables) restores registers and re-arms the timer. */
Test(lapic, state_save_load)
{
	struct plat *p = plat_new(1);
	const struct state_section *sec = state_find(p->m, "lapic0");
	cr_assert_not_null(sec);
	plat_enable(p, 0);
	wr(p, 0, 0x3e0, 0xb);
	wr(p, 0, 0x320, 0x44);
	wr(p, 0, 0x380, 1000);
	wr(p, 0, 0x80, 0x20);
	size_t n = state_fields_size(sec);
	uint8_t *img = malloc(n);
	if (sec->pre_save)
		sec->pre_save(sec->base);
	state_fields_save(sec, img);
	wr(p, 0, 0x380, 0);		/* stop the timer, change registers */
	wr(p, 0, 0x80, 0x70);
	wr(p, 0, 0xf0, 0xff);
	state_fields_load(sec, img);
	sec->post_load(sec->base);
	cr_assert_eq(rd(p, 0, 0xf0), 0x1ffu);
	cr_assert_eq(rd(p, 0, 0x380), 1000u);
	clock_set_ns(p->m, 1000);
	cr_assert(plat_bit(p, 0, 0x200, 0x44), "timer re-armed by post_load");
	free(img);
	plat_free(p);
}
