/*
 * exec.c - the dispatch loop: fetch blocks, run them, deliver events.
 *
 * cpu_run() sets the unwinding point (setjmp) that cpu_fault() returns to.
 * Each iteration: free dropped blocks, take pending events (INIT, SIPI,
 * NMI, maskable interrupts) when the CPU can accept them, find the block
 * at CS:RIP (translating through the fetch TLB, decoding on a miss), and
 * run its instructions. Per instruction the loop sets next_rip, calls the
 * handler, commits rip and counts the instruction; a handler that changes
 * what the block was decoded under raises exit_request.
 *
 * Interrupt shadows (STI, MOV SS, POP SS): when a block starts with the
 * shadow set, exactly one instruction runs before events are considered.
 * In slow mode (TF, armed debug registers) blocks run one instruction at a
 * time so single-step and breakpoint traps land between instructions.
 */
#include <stdio.h>
#include <string.h>

#include "alu.h"
#include "block.h"
#include "cpu.h"
#include "cpuid.h"
#include "decode.h"
#include "interp.h"
#include "intr.h"
#include "misc.h"
#include "virt.h"
#include "../machine.h"
#include "../mmu/mmu.h"

_Noreturn void insn_ud(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
}

void insn_unimplemented(struct cpu *cpu, const struct insn *i)
{
	if (cpu->m && log_on(&cpu->m->log, LOG_UNIMP))
		log_printf(&cpu->m->log, "unimplemented: %s %s at %04x:%016llx\n", decode_mnemonic(i),
			   i->op < opcode_table_len ? opcode_table[i->op].operands : "",
			   cpu->seg[S_CS].sel, (unsigned long long)cpu->rip);
	cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
}

static uint64_t ip_mask(const struct cpu *cpu)
{
	return cpu->code_size == 3 ? ~0ull : cpu->code_size == 2 ? 0xffffffffull : 0xffffull;
}

static void log_block(struct cpu *cpu, uint64_t lin, const struct insn *insns, unsigned n)
{
	struct log *l = &cpu->m->log;
	uint64_t a = lin;
	log_printf(l, "IN: [%u-bit]\n", 8u << cpu->code_size);
	for (unsigned k = 0; k < n; k++) {
		const struct insn *i = &insns[k];
		log_printf(l, "0x%016llx:  %-10s %s\n", (unsigned long long)a, decode_mnemonic(i),
			   i->op < opcode_table_len ? opcode_table[i->op].operands : "");
		a += i->len;
	}
	log_printf(l, "\n");
}

/* Reads code bytes at a linear address through the fetch path. */
static void fetch_bytes(struct cpu *cpu, uint64_t lin, uint8_t *buf, unsigned n)
{
	uint64_t pa;
	mmu_translate(cpu, lin, ACC_FETCH, &pa);
	phys_read(cpu->m, pa, buf, n);
}

static _Noreturn void decode_fault(struct cpu *cpu, int rc, const uint8_t *bytes, const struct insn *i)
{
	if (rc == DECODE_GP)
		cpu_fault(cpu, EXC_GP, 0);
	if (cpu->m && log_on(&cpu->m->log, LOG_UNIMP) && i->op == 0xffff)
		log_printf(&cpu->m->log, "undefined opcode %02x %02x %02x %02x at %04x:%016llx\n", bytes[0],
			   bytes[1], bytes[2], bytes[3], cpu->seg[S_CS].sel, (unsigned long long)cpu->rip);
	cpu_fault(cpu, EXC_UD, NO_ERROR_CODE);
}

/*
 * The block at CS:RIP: from the links of the block that ran before it
 * (prev, NULL if none or freed since), the jump cache, the block cache,
 * or decoded now. An instruction that straddles a page boundary is
 * decoded into *single and run uncached (and never linked).
 */
static const struct block *get_block(struct cpu *cpu, struct block *single, struct block *prev)
{
	uint64_t rip = cpu->rip;
	if (cpu->mode != MODE_LONG && rip > cpu->seg[S_CS].limit)
		cpu_fault(cpu, EXC_GP, 0);
	uint64_t lin = (cpu->segbase[S_CS] + rip) & cpu->lin_mask;
	unsigned csz = cpu->code_size;
	uint32_t key = csz | (uint32_t)cpu->mmu_idx << 2;
	uint64_t stamp = bc_generation(cpu->bc) << 32 | cpu->tlb_epoch;
	uint32_t lkey = key | (uint32_t)cpu->id << 8;
	if (prev) {
		const struct block_link *l = prev->link;
		if (l[0].lin == lin && l[0].stamp == stamp && l[0].key == lkey)
			return l[0].b;
		if (l[1].lin == lin && l[1].stamp == stamp && l[1].key == lkey)
			return l[1].b;
	}
	struct jc_entry *j = &cpu->jc[(lin ^ (lin >> 10)) & (JC_ENTRIES - 1)];
	const struct block *b;
	if (j->lin == lin && j->stamp == stamp && j->key == key) {
		b = j->b;
		goto link;
	}

	struct tlb_entry *e = tlb_entry_for(cpu, lin);
	uint64_t pa;
	if (e->tag_fetch == (lin & ~0xfffull))
		pa = e->paddr | (lin & 0xfff);
	else
		mmu_translate(cpu, lin, ACC_FETCH, &pa);

	struct block *nb = bc_lookup(cpu->bc, pa, csz);
	if (nb)
		goto found;

	/* Decode a new block up to the page end (and the CS limit). */
	unsigned dcsz = csz | (cpu->model && cpu->model->vendor == VENDOR_AMD ? DECODE_AMD : 0);
	uint8_t page[4096 + 16];
	unsigned off = (unsigned)(pa & 0xfff);
	unsigned avail = 4096 - off;
	if (cpu->mode != MODE_LONG && cpu->seg[S_CS].limit - rip + 1 < avail)
		avail = (unsigned)(cpu->seg[S_CS].limit - rip + 1);
	phys_read(cpu->m, pa, page, avail);
	const struct mem_region *r = memmap_find(&cpu->m->mem, pa);
	bool cacheable = r && (r->kind == REGION_RAM || r->kind == REGION_ROM);

	struct insn insns[BLOCK_MAX_INSNS];
	unsigned n = 0, pos = 0;
	while (n < BLOCK_MAX_INSNS && pos < avail) {
		struct insn *i = &insns[n];
		int rc = decode_insn(page + pos, avail - pos, dcsz, cpu->features, i);
		if (rc == DECODE_SHORT && n == 0 && avail == 4096 - off) {
			/* Straddles the page: needs bytes from the next page. */
			uint8_t buf[16];
			memcpy(buf, page + pos, avail - pos);
			unsigned more = 15 - (avail - pos);
			fetch_bytes(cpu, (lin + avail) & cpu->lin_mask, buf + (avail - pos), more);
			rc = decode_insn(buf, 15, dcsz, cpu->features, single->insns);
			if (rc < 0)
				decode_fault(cpu, rc, buf, single->insns);
			single->insns[0].fn = branch_specialise(&single->insns[0], dcsz);
			if (cpu->m->op_seen)
				cpu->m->op_seen[single->insns[0].op] = 1;
			single->ninsn = 1;
			single->pa = pa;
			single->code_size = (uint8_t)csz;
			single->valid = true;
			return single;
		}
		if (rc == DECODE_SHORT && n == 0)
			cpu_fault(cpu, EXC_GP, 0);	/* runs past the CS limit */
		if (rc < 0) {
			if (n == 0)
				decode_fault(cpu, rc, page + pos, i);
			break;
		}
		i->fn = alu_specialise(i);
		i->fn = branch_specialise(i, dcsz);
		pos += (unsigned)rc;
		n++;
		if (opcode_table[i->op].flags & OPF_END)
			break;
	}
	if (cpu->m && log_on(&cpu->m->log, LOG_IN_ASM))
		log_block(cpu, lin, insns, n);
	if (cpu->m->op_seen)
		for (unsigned k = 0; k < n; k++)
			cpu->m->op_seen[insns[k].op] = 1;
	if (!cacheable || !(nb = bc_insert(cpu->bc, pa, csz, insns, n, pos))) {
		memcpy(single->insns, insns, n * sizeof(struct insn));
		single->ninsn = n;
		single->pa = pa;
		single->code_size = (uint8_t)csz;
		single->valid = true;
		return single;
	}
	/* Writes to this page now take the slow path (every vCPU's TLB write
	 * tags for it are dropped) and drop its blocks. */
	mmu_mark_code_page(cpu->m, pa);
	/* Marking may have changed nothing the stamp covers; recompute anyway. */
	stamp = bc_generation(cpu->bc) << 32 | cpu->tlb_epoch;
found:
	j->lin = lin;
	j->b = b = nb;
	j->stamp = stamp;
	j->key = key;
link:
	if (prev) {
		struct block_link *l = &prev->link[prev->link_next];
		prev->link_next ^= 1;
		l->lin = lin;
		l->b = b;
		l->stamp = stamp;
		l->key = lkey;
	}
	return b;
}

/*
 * Debug traps in slow mode (SDM Vol. 3 17.3): instruction breakpoints
 * fault before the instruction unless RF is set; single-step traps after
 * an instruction that began with TF = 1. Returns TF at the start.
 */
static bool debug_before(struct cpu *cpu)
{
	uint64_t dr7 = cpu->dr[7];
	cpu->db_hits = 0;
	if ((dr7 & 0xff) && !(cpu->rflags & FL_RF)) {
		uint64_t lin = (cpu->segbase[S_CS] + cpu->rip) & cpu->lin_mask;
		uint64_t hit = 0;
		for (int k = 0; k < 4; k++) {
			bool enabled = (dr7 >> (2 * k)) & 3;
			unsigned rw = (unsigned)(dr7 >> (16 + 4 * k)) & 3;
			if (enabled && rw == 0 && cpu->dr[k] == lin)
				hit |= 1ull << k;
		}
		if (hit) {
			cpu->dr[6] = (cpu->dr[6] & ~0xfull) | hit;
			cpu_fault(cpu, EXC_DB, NO_ERROR_CODE);
		}
	}
	return (cpu->rflags & FL_TF) != 0;
}

void cpu_debug_data(struct cpu *cpu, uint64_t linear, unsigned size, unsigned acc)
{
	unsigned kind = acc & ACC_KIND_MASK;
	if (kind == ACC_FETCH || (acc & ACC_IMPLICIT) || !size)
		return;
	if (cpu->mon_watch && cpu->m && cpu->m->monitor_watch)
		cpu->m->monitor_watch(cpu->m, cpu, linear, size, kind);
	uint64_t dr7 = cpu->dr[7];
	for (int k = 0; k < 4; k++) {
		unsigned rw = (unsigned)(dr7 >> (16 + 4 * k)) & 3;
		unsigned len = (unsigned)(dr7 >> (18 + 4 * k)) & 3;
		uint64_t bytes = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8;
		if (!((dr7 >> (2 * k)) & 3) || (rw != 1 && rw != 3) || (rw == 1 && kind != ACC_WRITE))
			continue;
		uint64_t lo = cpu->dr[k] & ~(bytes - 1);
		if (linear < lo + bytes && lo < linear + size)
			cpu->db_hits |= (uint8_t)(1u << k);
	}
}

void cpu_debug_io(struct cpu *cpu, uint16_t port, unsigned size)
{
	if (!(cpu->cr4 & CR4_DE))
		return;		/* R/W = 10b is undefined without CR4.DE */
	uint64_t dr7 = cpu->dr[7];
	for (int k = 0; k < 4; k++) {
		unsigned rw = (unsigned)(dr7 >> (16 + 4 * k)) & 3;
		unsigned len = (unsigned)(dr7 >> (18 + 4 * k)) & 3;
		unsigned bytes = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8;
		if (!((dr7 >> (2 * k)) & 3) || rw != 2)
			continue;
		unsigned lo = (unsigned)(cpu->dr[k] & 0xffff) & ~(bytes - 1);
		if (port < lo + bytes && lo < (unsigned)port + size)
			cpu->db_hits |= (uint8_t)(1u << k);
	}
}

static void debug_after(struct cpu *cpu, bool tf, bool rf)
{
	uint8_t hits = cpu->db_hits;
	cpu->db_hits = 0;
	/* RF is cleared after an instruction completes, unless that
	 * instruction loaded it (IRET, task switch): it then protects the
	 * next instruction (SDM 17.3.1.1). */
	if (rf)
		cpu->rflags &= ~(uint64_t)FL_RF;
	if (tf || hits) {
		cpu->dr[6] = (cpu->dr[6] & ~0xfull) | hits | (tf ? 1u << 14 : 0);	/* B0-3, BS */
		cpu_fault(cpu, EXC_DB, NO_ERROR_CODE);
	}
}

/* Delivers pending events the CPU can take now. */
static void take_events(struct cpu *cpu)
{
	uint32_t p = cpu->pending;
	if (p & PEND_INIT) {
		struct virt_event ev = { .kind = VE_INIT };
		cpu->pending &= ~(uint32_t)PEND_INIT;
		if (!virt_intercept(cpu, &ev)) {
			cpu_init_signal(cpu);
			cpu->halted = true;	/* wait for SIPI (APs) */
			cpu->sipi_wait = true;
		}
		return;
	}
	if ((p & PEND_SIPI) && cpu->sipi_wait) {
		struct virt_event ev = { .kind = VE_SIPI, .a = cpu->sipi_vector };
		cpu->pending &= ~(uint32_t)PEND_SIPI;
		if (!virt_intercept(cpu, &ev)) {
			cpu->sipi_wait = false;
			cpu->halted = false;
			cpu->seg[S_CS].sel = (uint16_t)(cpu->sipi_vector << 8);
			cpu->seg[S_CS].base = (uint64_t)cpu->sipi_vector << 12;
			cpu->rip = 0;
			cpu_update_mode(cpu);
		}
		return;
	}
	if (cpu->sipi_wait)
		return;
	if ((p & PEND_NMI) && !cpu->nmi_blocked) {
		struct virt_event ev = { .kind = VE_NMI };
		cpu->pending &= ~(uint32_t)PEND_NMI;
		if (!virt_intercept(cpu, &ev)) {
			cpu->halted = false;
			cpu->nmi_blocked = true;
			cpu->next_rip = cpu->rip;
			intr_deliver(cpu, EXC_NMI, IT_NMI, NO_ERROR_CODE);
		}
		return;
	}
	if ((p & PEND_INTR) && (cpu->rflags & FL_IF)) {
		struct virt_event ev = { .kind = VE_EXT_INTR, .a = (uint64_t)-1 };
		if (virt_intercept(cpu, &ev))
			return;
		int vec = cpu->m && cpu->m->intr_ack ? cpu->m->intr_ack(cpu->m, cpu) : -1;
		cpu->halted = false;
		if (vec >= 0) {
			cpu->next_rip = cpu->rip;
			intr_deliver(cpu, (unsigned)vec, IT_EXT_INTR, NO_ERROR_CODE);
		}
	}
}

uint64_t cpu_run(struct cpu *cpu, uint64_t budget)
{
	const uint64_t start = cpu->icount + cpu->extra_steps;
	const uint64_t target = start + budget;
	/* Storage for get_block's uncached one-instruction block (a struct
	 * block with a flexible array member cannot be a struct field in ISO C). */
	_Alignas(struct block) unsigned char single_buf[sizeof(struct block) + sizeof(struct insn)];
	struct block *single = (struct block *)single_buf;

	/* The cached block that ran last (chaining) and the block-cache
	 * generation then: any later drop may have freed it. */
	struct block *volatile prev = NULL;
	uint64_t volatile prev_gen = 0;

	cpu->jmp_valid = true;
	if (setjmp(cpu->jmp)) {
		prev = NULL;
		bc_set_running(cpu->bc, NULL, NULL);
		cpu->extra_steps++;
		if (cpu->exc_vector >= 0)
			exc_dispatch(cpu);
	}
	while (cpu->icount + cpu->extra_steps < target && !(cpu->pending & PEND_EXIT)) {
		bc_collect(cpu->bc);
		bool shadow = cpu->irq_shadow;
		cpu->irq_shadow = false;
		if (__builtin_expect(cpu->pending != 0, 0) && !shadow)
			take_events(cpu);
		if (cpu->halted)
			break;

		bool tf = false, rf = false;
		if (cpu->slow_mode) {
			rf = (cpu->rflags & FL_RF) != 0;
			tf = debug_before(cpu);
		}
		struct block *from = prev;
		if (from && bc_generation(cpu->bc) != prev_gen)
			from = NULL;
		const struct block *b = get_block(cpu, single, from);
		uint64_t gen = bc_generation(cpu->bc);	/* before b runs (it may drop itself) */
		unsigned n = b->ninsn;
		if (shadow || cpu->slow_mode)
			n = 1;
		uint64_t left = target - (cpu->icount + cpu->extra_steps);
		if (n > left)
			n = (unsigned)left;
		const uint64_t mask = ip_mask(cpu);
		cpu->exit_request = 0;
		bc_set_running(cpu->bc, b, &cpu->exit_request);
		const struct insn *i = b->insns, *end = b->insns + n;
		/* Two call sites, so the host's branch predictor sees which
		 * handler follows which a little better. */
		for (;;) {
			cpu->next_rip = (cpu->rip + i->len) & mask;
			i->fn(cpu, i);
			cpu->rip = cpu->next_rip;
			cpu->icount++;
			i++;
			if (i >= end || __builtin_expect(cpu->exit_request != 0, 0))
				break;
			cpu->next_rip = (cpu->rip + i->len) & mask;
			i->fn(cpu, i);
			cpu->rip = cpu->next_rip;
			cpu->icount++;
			i++;
			if (i >= end || __builtin_expect(cpu->exit_request != 0, 0))
				break;
		}
		bc_set_running(cpu->bc, NULL, NULL);
		/* Blocks other than single are the cache's (non-const). */
		prev = b == single ? NULL : (struct block *)b;
		prev_gen = gen;
		if (cpu->slow_mode)
			debug_after(cpu, tf, rf);
	}
	cpu->jmp_valid = false;
	return cpu->icount + cpu->extra_steps - start;
}
