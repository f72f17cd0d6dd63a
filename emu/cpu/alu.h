/*
 * alu.h - the integer arithmetic core: prototypes of every opcode-table
 * handler (so topic files compile under -Wmissing-prototypes) and the
 * small helpers alu.c, shift.c, muldiv.c, bitops.c and bcd.c share.
 *
 * Width variants come from one body: a handler family of class V is
 * written once as an always-inline body taking the operand size index
 * (0 = 8, 1 = 16, 2 = 32, 3 = 64 bits) and instantiated per width with
 * DEF_V / DEF_Y / DEF_B, so the compiler folds the size to a constant.
 */
#ifndef NESTEMU_ALU_H
#define NESTEMU_ALU_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "cpuid.h"
#include "flags.h"
#include "insn.h"
#include "interp.h"

/* Prototypes of all table handlers (as decode.c names them). */
#define ALU_PROTO1(h) void h(struct cpu *cpu, const struct insn *i);
#define ALU_PROTO_B(h) ALU_PROTO1(h)
#define ALU_PROTO_N(h) ALU_PROTO1(h)
#define ALU_PROTO_V(h) ALU_PROTO1(h##_w) ALU_PROTO1(h##_d) ALU_PROTO1(h##_q)
#define ALU_PROTO_Y(h) ALU_PROTO1(h##_d) ALU_PROTO1(h##_q)
#define OP(map, opc, pfx, ext, mn, ops, h, sz, fl, feat) ALU_PROTO_##sz(h)
#include "opcodes.def"
#undef OP

/* The handler to run for a decoded insn: the hottest ModRM handlers get a
 * register or a memory form (alu.c); anything else keeps i->fn. */
insn_fn alu_specialise(const struct insn *i);

#define ALU_INLINE static inline __attribute__((always_inline))

/* Instantiate a handler from a body(cpu, i, [args...,] size_index). */
#define DEF_B(fn, body, ...) \
	void fn(struct cpu *cpu, const struct insn *i) { body(cpu, i, ##__VA_ARGS__, 0); }
#define DEF_Y(fn, body, ...) \
	void fn##_d(struct cpu *cpu, const struct insn *i) { body(cpu, i, ##__VA_ARGS__, 2); } \
	void fn##_q(struct cpu *cpu, const struct insn *i) { body(cpu, i, ##__VA_ARGS__, 3); }
#define DEF_V(fn, body, ...) \
	void fn##_w(struct cpu *cpu, const struct insn *i) { body(cpu, i, ##__VA_ARGS__, 1); } \
	DEF_Y(fn, body, ##__VA_ARGS__)

/* Bits of operand size index sz, and its sign bit. */
#define SZ_BITS(sz) (8u << (sz))
#define SZ_SIGN(sz) (1ull << (SZ_BITS(sz) - 1))

/* v (size sz) sign-extended to 64 bits. */
static inline uint64_t sext_sz(uint64_t v, unsigned sz)
{
	unsigned sh = 64 - SZ_BITS(sz);
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* SF, ZF and PF of a result of size sz. */
static inline uint64_t flags_szp(uint64_t res, unsigned sz)
{
	res &= size_mask[sz];
	return (res & SZ_SIGN(sz) ? FL_SF : 0) | (res == 0 ? FL_ZF : 0) |
	       (flags_parity(res) ? FL_PF : 0);
}

/* Materialized RFLAGS arithmetic bits (forces the lazy record). */
static inline uint64_t alu_flags(struct cpu *cpu)
{
	flags_materialize(cpu);
	return cpu->rflags & FL_ARITH;
}

/* The arithmetic flags the lazy record would produce, without touching
 * cpu state (flags.c). `rflags` supplies CF for LF_INC/LF_DEC. */
uint64_t flags_compute(const struct lazy_flags *lf, uint64_t rflags);

/* Vendor of the emulated model (undefined-flag behaviour follows it). */
static inline bool cpu_is_amd(const struct cpu *cpu)
{
	return cpu->model && cpu->model->vendor == VENDOR_AMD;
}

#endif
