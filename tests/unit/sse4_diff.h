/*
 * sse4_diff.h - host-differential runner for the legacy SSE3 ... SSE4.2,
 * AES-NI and PCLMULQDQ instruction tests (test_sse3.c, test_ssse3.c,
 * test_sse41.c, test_sse42.c, test_aes.c).
 *
 * A state record holds XMM0-15, MM0-7, the GPRs (RSP and RDI are not
 * operands: RDI points at the record), the arithmetic flags, MXCSR and a
 * 32-byte memory operand area. Each instruction form runs natively (a
 * stub in an mmap'd page loads the record, executes the bytes, stores
 * the record back) and in nestemu (the record's fields become the CPU
 * state, the record itself is guest memory at SX_STATE_PA, RDI points at
 * it, one th_run per record), and every field must match bit for bit,
 * including MXCSR's flags and YMM bits 255:128 (kept). Memory forms
 * address [rdi + disp32] inside the record's memory area.
 */
#ifndef NESTEMU_TEST_SSE4_DIFF_H
#define NESTEMU_TEST_SSE4_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "emu/cpu/simd.h"

struct sx_state {
	uint8_t xmm[16][16];
	uint64_t mm[8];
	uint64_t gpr[16];
	uint64_t fl;
	uint32_t mxcsr;
	uint32_t pad;
	uint8_t mem[48];
} __attribute__((aligned(16)));

#define SX_STATE_PA TH_DATA

/* Operand value generators. */
enum sx_kind { SX_INT, SX_F32, SX_F64, SX_STR8, SX_STR16 };

/* Operand forms. */
enum sx_form {
	SX_RR,		/* ModRM reg = 1, rm = 2 (XMM or MMX) */
	SX_RR_HI,	/* reg = 9, rm = 14 (REX.R/REX.B; MMX forms use them mod 8) */
	SX_RM,		/* reg = 1, [rdi + mem], 16-byte aligned */
	SX_RM_MIS,	/* reg = 1, [rdi + mem + 3] (only for forms without alignment) */
	SX_RG,		/* reg = 1 (XMM), rm = GPR 3 (rbx) */
	SX_RG_HI,	/* reg = 12 (XMM), rm = GPR 11 (r11) */
};

/* One instruction: mandatory prefix (0, 0x66, 0xf2, 0xf3), map (1 = 0F,
 * 2 = 0F38, 3 = 0F3A), opcode, whether an imm8 follows, REX.W. */
struct sx_insn {
	const char *name;
	uint8_t pfx, map, opc;
	bool has_imm, rexw;
	enum sx_kind kind;
};

/* Host CPUID.1:ECX bit `bit` (SSE3 0, PCLMUL 1, SSSE3 9, SSE4.1 19,
 * SSE4.2 20, AES 25). */
bool sx_host_has(unsigned bit);

/* Sets up the machine and the native page (idempotent per process). */
void sx_init(void);
void sx_fini(void);
/* Sets the AES and PCLMULQDQ feature bits of t's CPU. */
void sx_enable_aes(struct th *t);
struct th *sx_th(void);

/* Encodes x with ModRM for form f and immediate imm; returns the length. */
unsigned sx_encode(uint8_t *out, const struct sx_insn *x, enum sx_form f, unsigned imm);

/* Fills a record with random operands of a kind (seeded per process). */
void sx_random_state(struct sx_state *s, enum sx_kind kind);

/* Runs x (form f, imm) on nsets random records on both sides and
 * compares; returns the number of mismatching records (logged). */
unsigned sx_diff(const struct sx_insn *x, enum sx_form f, unsigned imm, unsigned nsets);

/* Runs the encoded form once in nestemu on record s (s updated); returns
 * the exception vector or -1. */
int sx_emulate(const uint8_t *code, unsigned len, struct sx_state *s);

/* Loads record s into the CPU (without running). */
void sx_load(struct th *t, const struct sx_state *s);

#endif
