/*
 * x87.c - the x87 FPU instructions (escape opcodes D8-DF).
 */
#include "x87.h"

#include "f80.h"
#include "interp.h"

unsigned x87_tag_of(struct f80 v)
{
	unsigned e = v.sexp & 0x7fff;
	if (e == 0x7fff)
		return TAG_SPECIAL;
	if (e == 0)
		return v.mant ? TAG_SPECIAL : TAG_ZERO;
	return (v.mant >> 63) ? TAG_VALID : TAG_SPECIAL;
}

uint8_t x87_abridged_tag(const struct fpu_state *fpu)
{
	uint8_t r = 0;
	for (unsigned i = 0; i < 8; i++)
		if (((fpu->ftw >> (2 * i)) & 3) != TAG_EMPTY)
			r |= 1u << i;
	return r;
}

void x87_set_abridged_tag(struct fpu_state *fpu, uint8_t abridged)
{
	uint16_t t = 0;
	for (unsigned i = 0; i < 8; i++) {
		unsigned tag = (abridged >> i) & 1 ? x87_tag_of(fpu->st[i]) : TAG_EMPTY;
		t |= tag << (2 * i);
	}
	fpu->ftw = t;
}
