/*
 * string.c - MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP, REPE and
 * REPNE (SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ", Vol. 1 7.3.9).
 *
 * The source is seg:rSI (DS unless overridden), the destination ES:rDI
 * (never overridden); rSI, rDI and rCX have the address size, so 16-bit
 * addressing wraps SI/DI at 64 KiB and keeps the upper bits, and 32-bit
 * updates zero-extend in 64-bit mode. EFLAGS.DF picks the direction.
 *
 * REP forms are interruptible: each iteration commits its register
 * updates before the next one can fault, so a fault leaves rCX/rSI/rDI at
 * the faulting iteration with RIP at the instruction, as the SDM
 * requires. The handler runs at most STR_CHUNK iterations per call; if
 * rCX is still nonzero it leaves next_rip at the instruction and asks the
 * loop to leave the block (exit_request), so pending interrupts are taken
 * between chunks, and it takes back the loop's instruction count for the
 * chunk, so a whole REP instruction retires once. In slow mode (TF, debug
 * registers) one iteration runs per call, so the single-step trap comes
 * after each iteration.
 *
 * Fast path: REP MOVS and REP STOS with DF = 0 move whole page chunks
 * through host pointers when the TLB holds both pages for this access
 * kind (a write tag is never valid for MMIO or for pages holding decoded
 * code, so those keep going through mem_write and its invalidation).
 * Overlapping forward moves (destination just above the source) are
 * copied element by element, which reproduces the architectural pattern.
 */
#include "misc.h"
#include "virt.h"
#include "../machine.h"

#define STR_CHUNK 16384u

/* Per-call view of the registers the string instructions use. */
struct strop {
	unsigned bytes;		/* element size */
	unsigned asz;		/* address size index (1..3) */
	uint64_t amask;		/* rSI/rDI/rCX mask */
	int64_t step;		/* +bytes or -bytes (DF) */
};

static inline struct strop str_setup(const struct cpu *cpu, const struct insn *i, unsigned sz)
{
	struct strop s;
	s.bytes = 1u << sz;
	s.asz = i->asz;
	s.amask = size_mask[i->asz];
	s.step = (cpu->rflags & FL_DF) ? -(int64_t)s.bytes : (int64_t)s.bytes;
	return s;
}

static inline uint64_t str_reg(const struct cpu *cpu, const struct strop *s, unsigned r)
{
	return cpu->regs[r] & s->amask;
}

static inline void str_set(struct cpu *cpu, const struct strop *s, unsigned r, uint64_t v)
{
	reg_write(cpu, r, v, s->asz);
}

static inline void str_advance(struct cpu *cpu, const struct strop *s, unsigned r, int64_t n)
{
	reg_write(cpu, r, cpu->regs[r] + (uint64_t)(s->step * n), s->asz);
}

/* Iteration budget of one handler call. */
static inline uint64_t str_budget(const struct cpu *cpu)
{
	return cpu->slow_mode ? 1 : STR_CHUNK;
}

/* Called when a chunk ends with rCX != 0: run the instruction again. */
static inline void str_restart(struct cpu *cpu)
{
	cpu->next_rip = cpu->rip;
	cpu->exit_request = 1;
	cpu->icount--;		/* the loop counts this call; the instruction retires once */
	cpu->extra_steps++;	/* ... but it is a step for cpu_run's budget */
}

/* Host pointer for `len` bytes at seg:off if the TLB maps the page for
 * this access kind without segment checks; NULL otherwise. */
static inline uint8_t *str_host(struct cpu *cpu, unsigned seg, uint64_t off, bool write)
{
	if (!(((write ? cpu->flat_w : cpu->flat_r) >> seg) & 1))
		return NULL;
	uint64_t lin = (cpu->segbase[seg] + off) & cpu->lin_mask;
	struct tlb_entry *e = tlb_entry_for(cpu, lin);
	if ((write ? e->tag_write : e->tag_read) != (lin & ~0xfffull))
		return NULL;
	return (uint8_t *)(uintptr_t)(lin + e->addend);
}

/* Elements from offset off (forward) that stay in its page and do not
 * wrap the address size. */
static inline uint64_t str_room(const struct cpu *cpu, const struct strop *s, unsigned seg,
				uint64_t off)
{
	uint64_t lin = (cpu->segbase[seg] + off) & cpu->lin_mask;
	uint64_t n = (4096 - (lin & 0xfff)) / s->bytes;
	if (s->asz != 3) {
		uint64_t w = (s->amask - off + 1) / s->bytes;
		if (w < n)
			n = w;
	}
	return n;
}

/* REP MOVS fast chunk of at most `max` elements (rCX is cx): returns the
 * number of elements moved (0: none, take the slow path). */
static uint64_t movs_fast(struct cpu *cpu, const struct insn *i, const struct strop *s,
			  uint64_t cx, uint64_t max)
{
	uint64_t si = str_reg(cpu, s, R_SI), di = str_reg(cpu, s, R_DI);
	uint8_t *src = str_host(cpu, i->seg, si, false);
	uint8_t *dst = str_host(cpu, S_ES, di, true);
	if (!src || !dst)
		return 0;
	uint64_t n = max, r;
	if ((r = str_room(cpu, s, i->seg, si)) < n)
		n = r;
	if ((r = str_room(cpu, s, S_ES, di)) < n)
		n = r;
	if (n == 0)
		return 0;
	size_t len = n * s->bytes;
	if (dst > src && dst < src + len) {
		for (size_t k = 0; k < len; k += s->bytes)
			host_store(dst + k, host_load(src + k, s->bytes), s->bytes);
	} else {
		memmove(dst, src, len);
	}
	str_advance(cpu, s, R_SI, (int64_t)n);
	str_advance(cpu, s, R_DI, (int64_t)n);
	str_set(cpu, s, R_CX, cx - n);
	return n;
}

/* REP STOS fast chunk, as movs_fast. */
static uint64_t stos_fast(struct cpu *cpu, const struct insn *i, const struct strop *s, uint64_t cx,
			  uint64_t max)
{
	uint64_t val = cpu->regs[R_AX];
	uint64_t di = str_reg(cpu, s, R_DI);
	uint8_t *dst = str_host(cpu, S_ES, di, true);
	if (!dst)
		return 0;
	uint64_t n = str_room(cpu, s, S_ES, di);
	if (n > max)
		n = max;
	if (n == 0)
		return 0;
	if (s->bytes == 1) {
		memset(dst, (int)(val & 0xff), n);
	} else {
		for (uint64_t k = 0; k < n; k++)
			host_store(dst + k * s->bytes, val, s->bytes);
	}
	str_advance(cpu, s, R_DI, (int64_t)n);
	str_set(cpu, s, R_CX, cx - n);
	return n;
}

/* Does a REPE/REPNE loop go on after an iteration with this ZF? */
static inline bool str_rep_continue(const struct insn *i, bool zf)
{
	return i->rep == REP_F3 ? zf : !zf;
}

/*
 * The REP driver shared by every string instruction: `one` performs one
 * iteration (returning ZF for CMPS/SCAS, true otherwise), `fast` (may be
 * NULL) a run of iterations through host pointers. `cond` selects the
 * REPE/REPNE termination of CMPS/SCAS. Always inlined with constant
 * function arguments, so each instruction gets its own straight loop.
 */
typedef bool (*str_one_fn)(struct cpu *cpu, const struct insn *i, const struct strop *s);
typedef uint64_t (*str_fast_fn)(struct cpu *cpu, const struct insn *i, const struct strop *s,
				uint64_t cx, uint64_t max);

static inline __attribute__((always_inline)) void str_run(struct cpu *cpu, const struct insn *i,
							 const struct strop *s, str_one_fn one,
							 str_fast_fn fast, bool cond)
{
	if (!i->rep) {
		one(cpu, i, s);
		return;
	}
	uint64_t budget = str_budget(cpu);
	uint64_t cx = str_reg(cpu, s, R_CX);
	bool use_fast = fast && s->step > 0 && !cpu->slow_mode;
	while (cx != 0 && budget != 0) {
		if (use_fast) {
			uint64_t n = fast(cpu, i, s, cx, cx < budget ? cx : budget);
			if (n) {
				cx -= n;
				budget -= n;
				continue;
			}
		}
		bool zf = one(cpu, i, s);
		str_set(cpu, s, R_CX, --cx);
		budget--;
		if (cond && !str_rep_continue(i, zf))
			return;
	}
	if (cx != 0)
		str_restart(cpu);
}

/* Operand size index of the element size. */
static inline unsigned str_sz(const struct strop *s)
{
	return (unsigned)__builtin_ctz(s->bytes);
}

/* Defines the B handler NAMEb and the V family NAME from one iteration. */
#define STR_HANDLERS(name, one, fast, cond)                                        \
	static inline void name##_body(struct cpu *cpu, const struct insn *i, unsigned sz) \
	{                                                                          \
		struct strop s = str_setup(cpu, i, sz);                            \
		str_run(cpu, i, &s, one, fast, cond);                              \
	}                                                                          \
	void name##b(struct cpu *cpu, const struct insn *i)                        \
	{                                                                          \
		name##_body(cpu, i, 0);                                            \
	}                                                                          \
	MISC_HANDLER_V(name, name##_body)

/* ---- MOVS, STOS, LODS ---- */

static inline bool movs_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	uint64_t v = mem_read(cpu, i->seg, str_reg(cpu, s, R_SI), s->bytes);
	mem_write(cpu, S_ES, str_reg(cpu, s, R_DI), v, s->bytes);
	str_advance(cpu, s, R_SI, 1);
	str_advance(cpu, s, R_DI, 1);
	return true;
}
STR_HANDLERS(movs, movs_one, movs_fast, false)

static inline bool stos_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	mem_write(cpu, S_ES, str_reg(cpu, s, R_DI), cpu->regs[R_AX], s->bytes);
	str_advance(cpu, s, R_DI, 1);
	return true;
}
STR_HANDLERS(stos, stos_one, stos_fast, false)

static inline bool lods_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	uint64_t v = mem_read(cpu, i->seg, str_reg(cpu, s, R_SI), s->bytes);
	reg_write(cpu, R_AX, v, str_sz(s));
	str_advance(cpu, s, R_SI, 1);
	return true;
}
STR_HANDLERS(lods, lods_one, NULL, false)

/* ---- CMPS / SCAS ---- */

/* Flags of s1 - s2 (CMP); returns ZF. */
static inline bool str_cmp(struct cpu *cpu, unsigned sz, uint64_t s1, uint64_t s2)
{
	uint64_t res = (s1 - s2) & size_mask[sz];
	lf_record(cpu, LF_SUB, sz, res, s1, s2);
	return res == 0;
}

static inline bool cmps_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	uint64_t a = mem_read(cpu, i->seg, str_reg(cpu, s, R_SI), s->bytes);
	uint64_t b = mem_read(cpu, S_ES, str_reg(cpu, s, R_DI), s->bytes);
	bool zf = str_cmp(cpu, str_sz(s), a, b);
	str_advance(cpu, s, R_SI, 1);
	str_advance(cpu, s, R_DI, 1);
	return zf;
}
STR_HANDLERS(cmps, cmps_one, NULL, true)

static inline bool scas_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	uint64_t b = mem_read(cpu, S_ES, str_reg(cpu, s, R_DI), s->bytes);
	bool zf = str_cmp(cpu, str_sz(s), cpu->regs[R_AX] & size_mask[str_sz(s)], b);
	str_advance(cpu, s, R_DI, 1);
	return zf;
}
STR_HANDLERS(scas, scas_one, NULL, true)

/* ---- INS / OUTS ---- */

/* There is no 64-bit I/O: a REX.W INS/OUTS moves 4 bytes. */
static inline unsigned io_sz(unsigned sz)
{
	return sz > 2 ? 2 : sz;
}

/* Permission and intercept checks for one call of INS/OUTS; false when
 * there is nothing to do (REP with rCX = 0). An intercepted access
 * unwinds inside io_intercept. */
static inline bool str_io_begin(struct cpu *cpu, const struct insn *i, unsigned bytes,
				unsigned flags)
{
	if (i->rep && (cpu->regs[R_CX] & size_mask[i->asz]) == 0)
		return false;
	uint16_t port = (uint16_t)cpu->regs[R_DX];
	io_check_access(cpu, port, bytes);
	if (i->rep)
		flags |= VE_IO_REP;
	return !io_intercept(cpu, i, port, bytes, flags | VE_IO_STRING, 0);
}

static inline bool ins_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	uint64_t di = str_reg(cpu, s, R_DI);
	/* Fault on the destination before the port read has side effects. */
	mem_probe_write(cpu, S_ES, di, s->bytes);
	uint32_t v = machine_io_in(cpu->m, (uint16_t)cpu->regs[R_DX], s->bytes);
	mem_write(cpu, S_ES, di, v, s->bytes);
	str_advance(cpu, s, R_DI, 1);
	return true;
}

static inline bool outs_one(struct cpu *cpu, const struct insn *i, const struct strop *s)
{
	uint64_t v = mem_read(cpu, i->seg, str_reg(cpu, s, R_SI), s->bytes);
	machine_io_out(cpu->m, (uint16_t)cpu->regs[R_DX], (uint32_t)v, s->bytes);
	str_advance(cpu, s, R_SI, 1);
	return true;
}

#define IO_STR_HANDLERS(name, one, flags)                                          \
	static inline void name##_body(struct cpu *cpu, const struct insn *i, unsigned sz) \
	{                                                                          \
		struct strop s = str_setup(cpu, i, io_sz(sz));                     \
		if (str_io_begin(cpu, i, s.bytes, flags))                          \
			str_run(cpu, i, &s, one, NULL, false);                     \
	}                                                                          \
	void name##b(struct cpu *cpu, const struct insn *i)                        \
	{                                                                          \
		name##_body(cpu, i, 0);                                            \
	}                                                                          \
	MISC_HANDLER_V(name, name##_body)

IO_STR_HANDLERS(ins, ins_one, VE_IO_IN)
IO_STR_HANDLERS(outs, outs_one, 0)
