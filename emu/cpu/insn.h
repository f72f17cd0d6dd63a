/*
 * insn.h - a decoded instruction and the opcode table that describes it.
 *
 * The decoder (decode.c) turns bytes into a struct insn using the opcode
 * table (opcodes.def), the single source of truth: mnemonic, operands in
 * the SDM's notation, the handler family, the CPUID feature that gates it
 * and its decode flags. Handlers are named after the manual's operands
 * (add_Ev_Gv) and live in topic files (alu.c, shift.c, string.c,
 * system.c ...). A handler family of size class V has one function per
 * operand size, suffixed _w, _d, _q (16, 32, 64 bits); class Y has _d and
 * _q; class B and N have one function.
 *
 * Operand fields (filled by the decoder, read by handlers):
 *  - reg: ModRM.reg (+REX.R), or the register embedded in the opcode
 *    (+REX.B) for forms like "push Zv" / "mov Zv,Iv".
 *  - rm:  ModRM.rm (+REX.B) when mod == 3.
 *  For operands the table marks as byte registers (Eb, Gb, Zb), reg and rm
 *  hold byte offsets into cpu->regs instead (AH = 1, SPL = 32 ...), so a
 *  handler reads *((uint8_t *)cpu->regs + i->rm) without caring about REX.
 *  - memory operand: base, index (R_NONE when absent), scale, disp, seg
 *    (the effective segment after overrides and SS defaults), asz; with
 *    INSN_RIPREL the displacement is relative to the next instruction.
 *  - imm: the immediate, sign- or zero-extended as the operand spec says;
 *    imm2: the second immediate (ENTER's level, a far pointer's selector).
 */
#ifndef NESTEMU_INSN_H
#define NESTEMU_INSN_H

#include <stdint.h>

struct cpu;
struct insn;

typedef void (*insn_fn)(struct cpu *cpu, const struct insn *i);

/* insn.flags */
#define INSN_LOCK (1u << 0)	/* LOCK prefix present (and allowed) */
#define INSN_RIPREL (1u << 1)	/* memory operand is RIP-relative */
#define INSN_REX (1u << 2)	/* a REX prefix was present */
#define INSN_REXW (1u << 3)	/* REX.W or VEX.W = 1 */
#define INSN_VEX (1u << 4)	/* VEX-encoded */
#define INSN_VEXL (1u << 5)	/* VEX.L = 1 */
#define INSN_SEGOVR (1u << 6)	/* a segment override prefix was present */
#define INSN_OPSZ (1u << 7)	/* a 0x66 prefix was present */

/* insn.rep */
enum { REP_NONE, REP_F3, REP_F2 };

struct insn {
	insn_fn fn;		/* handler for this operand size */
	uint64_t imm;
	int32_t disp;
	uint16_t imm2;
	uint16_t op;		/* index into the opcode table */
	uint8_t len;		/* 1..15 */
	uint8_t osz;		/* operand size: 0 = 8, 1 = 16, 2 = 32, 3 = 64 bits */
	uint8_t asz;		/* address size: 1 = 16, 2 = 32, 3 = 64 bits */
	uint8_t mod;		/* ModRM.mod; 3 = register operand */
	uint8_t reg;
	uint8_t rm;
	uint8_t base;
	uint8_t index;
	uint8_t scale;
	uint8_t seg;		/* enum sreg */
	uint8_t rep;		/* REP_* (F3/F2 when not a mandatory prefix) */
	uint8_t flags;		/* INSN_* */
	uint8_t vvvv;		/* VEX.vvvv register (0..15) */
	uint8_t cc;		/* low opcode nibble: condition code of Jcc/SETcc/CMOVcc */
};

/* Opcode table entry (see opcodes.def for the column meanings). */
struct opdesc {
	const char *mnem;
	const char *operands;
	insn_fn fn[4];		/* by osz: 8 (class B/N only), 16, 32, 64 */
	uint32_t flags;		/* OPF_* */
	uint16_t feature;	/* enum cpu_feature, FEAT_NONE if always present */
	uint8_t map;		/* MAP_* */
	uint8_t opcode;
	uint8_t pfx;		/* PFX_* mandatory prefix */
	uint8_t ext;		/* EXT_* ModRM constraint, see below */
};

enum { MAP_1B, MAP_0F, MAP_0F38, MAP_0F3A, MAP_N };

/* Mandatory prefix: PFX_ANY means none is required (66/F2/F3 act as usual). */
enum { PFX_ANY, PFX_NP, PFX_66, PFX_F3, PFX_F2 };

/*
 * ext: which ModRM values select the entry. EXT_NONE: no ModRM byte.
 * EXT_ANY: ModRM present, any value. Otherwise EXT_REG(n) (reg == n,
 * any mod), EXT_MEM(n) (reg == n, mod != 3), EXT_REGR(n) (reg == n,
 * mod == 3), EXT_RM(n, r) (mod == 3, reg == n, rm == r), EXT_MEMANY
 * (mod != 3, any reg), EXT_REGANY (mod == 3, any reg).
 */
#define EXT_NONE 0
#define EXT_ANY 1
#define EXT_MEMANY 2
#define EXT_REGANY 3
#define EXT_REG(n) (0x08 | (n))
#define EXT_MEM(n) (0x10 | (n))
#define EXT_REGR(n) (0x18 | (n))
#define EXT_RM(n, r) (0x40 | (n) << 3 | (r))

/* OPF_* decode flags */
#define OPF_LOCK (1u << 0)	/* LOCK allowed (with a memory destination) */
#define OPF_D64 (1u << 1)	/* 64-bit mode: default operand size 64 */
#define OPF_F64 (1u << 2)	/* 64-bit mode: operand size forced to 64 */
#define OPF_END (1u << 3)	/* ends a decoded block (branches, mode changes) */
#define OPF_I64 (1u << 4)	/* invalid in 64-bit mode (#UD) */
#define OPF_O64 (1u << 5)	/* valid only in 64-bit mode */
#define OPF_VEX (1u << 6)	/* VEX-encoded form */
#define OPF_VEX_L0 (1u << 7)	/* VEX.L must be 0 */
#define OPF_W0 (1u << 8)	/* VEX.W must be 0 */
#define OPF_W1 (1u << 9)	/* VEX.W must be 1 */
#define OPF_SZ_B (1u << 10)	/* class B: one handler (byte or size-free) */
#define OPF_SZ_V (1u << 11)	/* class V: _w/_d/_q by operand size */
#define OPF_SZ_Y (1u << 12)	/* class Y: _d/_q (32 unless REX.W/VEX.W) */
#define OPF_SZ_N (1u << 13)	/* class N: one handler, sees i->osz */
#define OPF_REP (1u << 14)	/* string instruction honouring REP/REPE/REPNE */
#define OPF_SYS (1u << 15)	/* sensitive/system: slow_mode check etc. */
#define OPF_REPLOCK (1u << 16)	/* XACQUIRE/XRELEASE style: F2/F3 not a REP */
#define OPF_NOFLAGS (1u << 17)	/* does not read or write arithmetic flags */
#define OPF_MODRM_REG_IGN (1u << 18)	/* ModRM.mod treated as 3 (MOV CR/DR) */
#define OPF_IMPL (1u << 19)	/* internal: handler present (set at init) */
#define OPF_VSIB (1u << 21)	/* VSIB memory operand: a SIB byte is required, index 100b is XMM4 */
#define OPF_NEAR (1u << 20)	/* near branch: on AMD, 0x66 in 64-bit mode selects 16 bits */

extern const struct opdesc opcode_table[];
extern const unsigned opcode_table_len;

#endif
