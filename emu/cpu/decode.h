/*
 * decode.h - bytes to struct insn.
 *
 * Decoding is pure: it reads only the bytes, the code size and the CPU's
 * feature words, never CPU state. See decode.c for the rules it follows
 * (SDM Vol. 2 ch. 2 and appendix A).
 */
#ifndef NESTEMU_DECODE_H
#define NESTEMU_DECODE_H

#include <stdint.h>

#include "insn.h"

/* Or'ed into decode_insn's code_size: decode as AMD CPUs do where the
 * vendors differ (0x66 on near branches in 64-bit mode). */
#define DECODE_AMD 0x100

/* decode_insn results other than a length. */
#define DECODE_UD (-1)		/* undefined or unavailable opcode: #UD */
#define DECODE_GP (-2)		/* longer than 15 bytes: #GP(0) */
#define DECODE_SHORT (-3)	/* ran out of bytes: supply more and retry */

/*
 * Decodes one instruction from bytes[0..avail). code_size is 1, 2 or 3
 * (16-, 32-, 64-bit code). Returns its length (1..15) and fills *out, or
 * a DECODE_* code. For DECODE_UD, out->len still holds the bytes consumed
 * so far and out->op the entry when one matched (for logging).
 */
int decode_insn(const uint8_t *bytes, unsigned avail, unsigned code_size,
		const uint32_t *features, struct insn *out);

/* "add Ev,Gv" style text for logs: mnemonic and the operand spec. */
const char *decode_mnemonic(const struct insn *i);

/* Handler used for table entries whose handler is not implemented yet. */
void insn_unimplemented(struct cpu *cpu, const struct insn *i);

#endif
