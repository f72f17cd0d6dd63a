/*
 * x87.h - the x87 FPU: status/control word bits, tag-word helpers shared
 * with FXSAVE/XSAVE (simd code), and the pending-exception check FWAIT uses.
 *
 * The handlers x87_esc0..x87_esc7 (op_x87.def) decode ModRM themselves.
 * Arithmetic is in f80.c (portable 80-bit extended precision).
 *
 * Unmasked exceptions: an instruction that raises an unmasked exception
 * sets FSW.ES/B and completes as the SDM describes (no result for IE, DE,
 * ZE and for OE/UE on memory destinations; bias-adjusted results for OE/UE
 * on register destinations). The next waiting x87 instruction (or FWAIT)
 * then raises #MF when CR0.NE = 1; with CR0.NE = 0 it asserts FERR# as
 * IRQ13 (machine_set_gsi, when the board provides it) and continues
 * (the IGNNE# path of a PC is not modelled: the instruction proceeds).
 */
#ifndef NESTEMU_X87_H
#define NESTEMU_X87_H

#include <stdint.h>

#include "cpu.h"

/* FSW */
#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_TOP_SHIFT 11
#define FSW_TOP (7u << FSW_TOP_SHIFT)
#define FSW_C3 0x4000
#define FSW_B 0x8000

/* FCW: exception masks in bits 5:0 (as FSW), PC in 9:8, RC in 11:10. */
#define FCW_PC_SHIFT 8
#define FCW_RC_SHIFT 10

/* Tag values (2 bits per physical register in the full tag word). */
enum { TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_EMPTY };

/* The tag a register's contents call for (VALID, ZERO or SPECIAL). */
unsigned x87_tag_of(struct f80 v);

/* FXSAVE abridged tag byte: bit i = 1 when physical register i is not empty. */
uint8_t x87_abridged_tag(const struct fpu_state *fpu);
/* FXRSTOR: rebuilds the full tag word from an abridged byte and the
 * register contents. */
void x87_set_abridged_tag(struct fpu_state *fpu, uint8_t abridged);

/* For FWAIT and every waiting x87 instruction: #MF (CR0.NE = 1) or FERR#
 * (CR0.NE = 0) when FSW.ES is set. */
void x87_check_pending(struct cpu *cpu);

/* The x87 part of the FXSAVE/XSAVE legacy region (bytes 0-23 and 32-159;
 * 24-31 belong to MXCSR); rexw: the 64-bit pointer format. */
void x87_fx_image_save(const struct fpu_state *f, uint8_t *b, bool rexw);
void x87_fx_image_load(struct fpu_state *f, const uint8_t *b, bool rexw);

#endif
