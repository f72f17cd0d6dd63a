/*
 * block.c - the decoded-block cache (see block.h for the contract).
 *
 * Two hash tables: by (physical address, code size) for lookup, and by
 * physical page for invalidation. Dropped blocks go on a graveyard list
 * and are freed by bc_collect() between blocks, because the block being
 * executed may be the one that writes to its own page.
 */
#include "block.h"

#include <stdlib.h>
#include <string.h>

static unsigned hash_pa(uint64_t pa, unsigned code_size)
{
	uint64_t h = (pa ^ ((uint64_t)code_size << 62)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> (64 - BC_HASH_BITS));
}

static unsigned hash_page(uint64_t page)
{
	return (unsigned)((page * 0x9e3779b97f4a7c15ull) >> 50) & (BC_PAGE_HASH - 1);
}

struct block_cache *bc_create(void)
{
	return calloc(1, sizeof(struct block_cache));
}

static void free_chain(struct block *b)
{
	while (b) {
		struct block *n = b->hnext;
		free(b);
		b = n;
	}
}

void bc_destroy(struct block_cache *bc)
{
	if (!bc)
		return;
	bc_flush(bc);
	bc_collect(bc);
	free(bc);
}

struct block *bc_lookup(struct block_cache *bc, uint64_t pa, unsigned code_size)
{
	for (struct block *b = bc->hash[hash_pa(pa, code_size)]; b; b = b->hnext)
		if (b->pa == pa && b->code_size == code_size)
			return b;
	return NULL;
}

struct block *bc_insert(struct block_cache *bc, uint64_t pa, unsigned code_size,
			const struct insn *insns, unsigned n, unsigned bytes)
{
	struct block *b = malloc(sizeof(*b) + n * sizeof(struct insn));
	if (!b)
		return NULL;
	b->pa = pa;
	b->rip_lo = pa & 0xfff;
	b->ninsn = n;
	b->bytes = bytes;
	b->code_size = (uint8_t)code_size;
	b->valid = true;
	b->link_next = 0;
	b->link[0].key = b->link[1].key = 0;
	memcpy(b->insns, insns, n * sizeof(struct insn));
	unsigned h = hash_pa(pa, code_size);
	b->hnext = bc->hash[h];
	bc->hash[h] = b;
	unsigned p = hash_page(pa >> 12);
	b->pnext = bc->pages[p];
	bc->pages[p] = b;
	bc->nblocks++;
	return b;
}

static void unlink_hash(struct block_cache *bc, struct block *b)
{
	struct block **pp = &bc->hash[hash_pa(b->pa, b->code_size)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
}

void bc_invalidate_page(struct block_cache *bc, uint64_t pa)
{
	if (!bc)
		return;
	uint64_t page = pa >> 12;
	struct block **pp = &bc->pages[hash_page(page)];
	while (*pp) {
		struct block *b = *pp;
		if (b->pa >> 12 != page) {
			pp = &b->pnext;
			continue;
		}
		*pp = b->pnext;
		unlink_hash(bc, b);
		b->valid = false;
		if (b == bc->running && bc->running_exit)
			*bc->running_exit = 1;
		b->hnext = bc->graveyard;
		bc->graveyard = b;
		bc->nblocks--;
	}
	bc->generation++;
}

void bc_flush(struct block_cache *bc)
{
	for (unsigned p = 0; p < BC_PAGE_HASH; p++) {
		for (struct block *b = bc->pages[p], *n; b; b = n) {
			n = b->pnext;
			b->valid = false;
			if (b == bc->running && bc->running_exit)
				*bc->running_exit = 1;
			b->hnext = bc->graveyard;
			bc->graveyard = b;
		}
		bc->pages[p] = NULL;
	}
	memset(bc->hash, 0, sizeof(bc->hash));
	bc->nblocks = 0;
	bc->generation++;
}

void bc_collect_slow(struct block_cache *bc)
{
	free_chain(bc->graveyard);
	bc->graveyard = NULL;
}
