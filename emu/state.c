/*
 * state.c - the saved-state registry and the core sections (vCPUs, RAM).
 *
 * Sections are kept in registration order; names are unique. The vCPU
 * section lists the architectural state of struct cpu: what a snapshot
 * must restore for execution to continue exactly as it would have
 * (registers, RFLAGS with the lazy arithmetic flags materialized,
 * segment caches, descriptor tables, control/debug registers, EFER and
 * the MSR block, PKRU, SIMD and x87 state, the XSAVEOPT tracking copy,
 * event and retirement bookkeeping, the effective CPUID feature words).
 * Derived state (mode fields, TLB, jump cache, decoded blocks) is rebuilt
 * after a load.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "machine.h"
#include "cpu/block.h"
#include "cpu/flags.h"

struct state_registry {
	struct state_section *s;
	int n, cap;
};

int machine_register_state(struct machine *m, const struct state_section *s)
{
	struct state_registry *r = m->state;

	if (s == NULL || s->name == NULL)
		return -EINVAL;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		m->state = r;
	}
	if (state_find(m, s->name))
		return -EEXIST;
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 16;
		struct state_section *ns = realloc(r->s, (size_t)cap * sizeof(*ns));
		if (ns == NULL)
			return -ENOMEM;
		r->s = ns;
		r->cap = cap;
	}
	r->s[r->n] = *s;
	r->s[r->n].name = strdup(s->name);
	if (r->s[r->n].name == NULL)
		return -ENOMEM;
	r->n++;
	return 0;
}

int state_unregister(struct machine *m, const char *name)
{
	struct state_registry *r = m->state;

	for (int i = 0; i < state_count(m); i++)
		if (strcmp(r->s[i].name, name) == 0) {
			free((char *)r->s[i].name);
			memmove(&r->s[i], &r->s[i + 1], (size_t)(r->n - i - 1) * sizeof(r->s[0]));
			r->n--;
			return 0;
		}
	return -ENOENT;
}

void state_registry_free(struct state_registry *reg)
{
	if (reg) {
		for (int i = 0; i < reg->n; i++)
			free((char *)reg->s[i].name);
		free(reg->s);
		free(reg);
	}
}

int state_count(const struct machine *m)
{
	return m->state ? m->state->n : 0;
}

const struct state_section *state_get(const struct machine *m, int idx)
{
	return m->state && idx >= 0 && idx < m->state->n ? &m->state->s[idx] : NULL;
}

const struct state_section *state_find(const struct machine *m, const char *name)
{
	for (int i = 0; i < state_count(m); i++)
		if (strcmp(m->state->s[i].name, name) == 0)
			return &m->state->s[i];
	return NULL;
}

size_t state_fields_size(const struct state_section *s)
{
	size_t n = 0;

	for (const struct state_field *f = s->fields; f && f->name; f++)
		n += (size_t)f->size * f->count;
	return n;
}

void state_fields_save(const struct state_section *s, uint8_t *out)
{
	for (const struct state_field *f = s->fields; f && f->name; f++) {
		size_t len = (size_t)f->size * f->count;
		memcpy(out, (const uint8_t *)s->base + f->offset, len);
		out += len;
	}
}

void state_fields_load(const struct state_section *s, const uint8_t *in)
{
	for (const struct state_field *f = s->fields; f && f->name; f++) {
		size_t len = (size_t)f->size * f->count;
		memcpy((uint8_t *)s->base + f->offset, in, len);
		in += len;
	}
}

static void print_value(FILE *out, const uint8_t *p, uint32_t size, uint8_t fmt)
{
	uint64_t v = 0;

	if (size == 1 || size == 2 || size == 4 || size == 8) {
		memcpy(&v, p, size);
		if (fmt == SF_BOOL)
			fputs(v ? "true" : "false", out);
		else if (fmt == SF_DEC)
			fprintf(out, "%" PRIu64, v);
		else
			fprintf(out, "0x%0*" PRIx64, (int)size * 2, v);
		return;
	}
	/* Larger: little-endian 64-bit words, most significant first. */
	for (uint32_t k = size; k > 0;) {
		uint32_t chunk = (k % 8) ? k % 8 : 8;
		k -= chunk;
		v = 0;
		memcpy(&v, p + k, chunk);
		fprintf(out, "%s%0*" PRIx64, k + chunk == size ? "" : "_", (int)chunk * 2, v);
	}
}

void state_print(const struct state_section *s, FILE *out, const char *filter)
{
	for (const struct state_field *f = s->fields; f && f->name; f++) {
		if (filter && strncmp(f->name, filter, strlen(filter)) != 0)
			continue;
		const uint8_t *p = (const uint8_t *)s->base + f->offset;
		for (uint32_t k = 0; k < f->count; k++) {
			if (f->count > 1)
				fprintf(out, "%s[%u] = ", f->name, k);
			else
				fprintf(out, "%s = ", f->name);
			print_value(out, p + (size_t)k * f->size, f->size, f->fmt);
			fputc('\n', out);
		}
	}
}

/* ---- Core sections ---- */

/* A named member of struct cpu (the name need not be the C spelling). */
#define CPU_F(nm, m, f) { nm, offsetof(struct cpu, m), STATE_MEMBER_SIZE(struct cpu, m), 1, f }
#define CPU_SEG(nm, m)                                                                     \
	CPU_F(nm ".sel", m.sel, SF_HEX), CPU_F(nm ".base", m.base, SF_HEX),                \
	CPU_F(nm ".limit", m.limit, SF_HEX), CPU_F(nm ".attr", m.attr, SF_HEX)

/* Version 2 (adds xtrack). Bump CPU_STATE_VERSION when this table changes. */
#define CPU_STATE_VERSION 2
static const struct state_field cpu_fields[] = {
	{ "regs", offsetof(struct cpu, regs), 8, 16, SF_HEX },
	CPU_F("rip", rip, SF_HEX),
	CPU_F("rflags", rflags, SF_HEX),
	CPU_SEG("es", seg[S_ES]), CPU_SEG("cs", seg[S_CS]), CPU_SEG("ss", seg[S_SS]),
	CPU_SEG("ds", seg[S_DS]), CPU_SEG("fs", seg[S_FS]), CPU_SEG("gs", seg[S_GS]),
	CPU_SEG("ldtr", ldtr), CPU_SEG("tr", tr),
	CPU_F("gdtr.base", gdtr.base, SF_HEX), CPU_F("gdtr.limit", gdtr.limit, SF_HEX),
	CPU_F("idtr.base", idtr.base, SF_HEX), CPU_F("idtr.limit", idtr.limit, SF_HEX),
	CPU_F("cr0", cr0, SF_HEX), CPU_F("cr2", cr2, SF_HEX), CPU_F("cr3", cr3, SF_HEX),
	CPU_F("cr4", cr4, SF_HEX), CPU_F("cr8", cr8, SF_HEX), CPU_F("xcr0", xcr0, SF_HEX),
	STATE_ARRAY(struct cpu, dr, SF_HEX),
	CPU_F("efer", efer, SF_HEX),
	CPU_F("msr", msr, SF_HEX),
	CPU_F("pkru", pkru, SF_HEX),
	STATE_ARRAY(struct cpu, vr, SF_HEX),
	CPU_F("mxcsr", mxcsr, SF_HEX),
	CPU_F("fpu", fpu, SF_HEX),
	CPU_F("xtrack", xtrack, SF_HEX),	/* what XSAVEOPT may skip: must match the loaded RAM */
	CPU_F("pending", pending, SF_HEX),
	CPU_F("halted", halted, SF_BOOL),
	CPU_F("irq_shadow", irq_shadow, SF_BOOL),
	CPU_F("nmi_blocked", nmi_blocked, SF_BOOL),
	CPU_F("sipi_wait", sipi_wait, SF_BOOL),
	CPU_F("sipi_vector", sipi_vector, SF_HEX),
	CPU_F("vmx_on", vmx_on, SF_BOOL),
	CPU_F("icount", icount, SF_DEC),
	CPU_F("extra_steps", extra_steps, SF_DEC),
	CPU_F("tsc_base", tsc_base, SF_DEC),
	STATE_ARRAY(struct cpu, features, SF_HEX),
	CPU_F("apic_id", apic_id, SF_HEX),
	STATE_END,
};

static void cpu_pre_save(void *base)
{
	flags_materialize(base);	/* rflags holds every bit; lf is LF_NONE */
}

static void cpu_post_load(void *base)
{
	struct cpu *cpu = base;

	cpu->lf.op = LF_NONE << 2;
	cpu->next_rip = cpu->rip;
	cpu->exc_nest = 0;
	cpu->exc_vector = -1;
	cpu->exc_error = NO_ERROR_CODE;
	cpu->exc_first = -1;
	cpu->db_hits = 0;
	cpu->pending &= ~(uint32_t)PEND_EXIT;
	tlb_flush_all(cpu);	/* also stales the jump cache (TLB epoch) */
	cpu_update_mode(cpu);
}

static void *ram_blob(void *base, size_t *len)
{
	struct machine *m = base;

	*len = (size_t)m->mem.ram_size;
	return m->mem.ram;
}

static void ram_post_load(void *base)
{
	struct machine *m = base;

	/* Every decoded block may be stale; marks on code pages are harmless
	 * (the next write to such a page only takes the slow path once). */
	if (m->bc)
		bc_flush(m->bc);
}

int state_register_core(struct machine *m)
{
	int r;

	if (state_find(m, "ram"))
		return 0;
	for (int i = 0; i < m->ncpus; i++) {
		char name[16];
		snprintf(name, sizeof(name), "cpu%d", i);
		struct state_section s = {
			.name = name, .version = CPU_STATE_VERSION, .fields = cpu_fields,
			.base = m->cpus[i], .pre_save = cpu_pre_save, .post_load = cpu_post_load,
		};
		r = machine_register_state(m, &s);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return machine_register_state(m, &(struct state_section){
		.name = "ram", .version = 1, .base = m, .blob = ram_blob, .post_load = ram_post_load,
	});
}
