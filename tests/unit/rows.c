/* rows.c - the runner behind rows.h. */
#include "rows.h"

#include <criterion/criterion.h>

static const unsigned row_regs[4] = { R_AX, R_BX, R_CX, R_DX };

struct th *row_start(enum th_mode mode, const struct row *r)
{
	struct th *t = th_new(mode);
	th_asm(t, r->src);
	for (unsigned k = 0; k < 4; k++)
		t->cpu->regs[row_regs[k]] = r->in[k];
	t->cpu->regs[R_DI] = TH_DATA;
	flags_set_arith(t->cpu, r->fin);
	return t;
}

void run_rows(enum th_mode mode, const struct row *rows, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const struct row *r = &rows[k];
		struct th *t = row_start(mode, r);
		th_run(t);
		cr_expect_eq(t->exc_vector, -1, "%s: exception %d", r->src, t->exc_vector);
		static const char *const nm[4] = { "rax", "rbx", "rcx", "rdx" };
		for (unsigned j = 0; j < 4; j++) {
			uint64_t want = r->out[j] == SAME ? r->in[j] : r->out[j];
			cr_expect_eq(t->cpu->regs[row_regs[j]], want, "%s: %s = %#llx, want %#llx", r->src, nm[j],
				     (unsigned long long)t->cpu->regs[row_regs[j]], (unsigned long long)want);
		}
		uint64_t f = th_flags(t) & FL_ARITH;
		cr_expect_eq(f, r->fout, "%s: flags %#llx, want %#llx", r->src, (unsigned long long)f,
			     (unsigned long long)r->fout);
		th_free(t);
	}
}

