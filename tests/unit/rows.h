/*
 * rows.h - table-driven instruction tests shared by the ALU, shift,
 * multiply/divide and bit-operation suites: each row is a nasm snippet,
 * RAX/RBX/RCX/RDX and the arithmetic flags before, and what they must be
 * after (RDI points at TH_DATA for memory forms).
 */
#ifndef NESTEMU_TEST_ROWS_H
#define NESTEMU_TEST_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "emu/cpu/flags.h"

/* Table rows: nasm source, rax/rbx/rcx/rdx in, arithmetic flags in, the
 * same four registers out (SAME = unchanged) and the six flags out. */
#define SAME 0xdead5a5a5a5adeadull
struct row {
	const char *src;
	uint64_t in[4];
	uint64_t fin;
	uint64_t out[4];
	uint64_t fout;
};

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define F_CF FL_CF
#define F_PF FL_PF
#define F_AF FL_AF
#define F_ZF FL_ZF
#define F_SF FL_SF
#define F_OF FL_OF

#define ALL6 (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Builds the machine for a row (code loaded, registers and flags set). */
struct th *row_start(enum th_mode mode, const struct row *r);
/* Runs every row and checks registers and the six flags. */
void run_rows(enum th_mode mode, const struct row *rows, size_t n);

#endif
