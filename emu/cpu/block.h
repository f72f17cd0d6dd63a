/*
 * block.h - the decoded-block cache, keyed by guest-physical address.
 *
 * A block is a run of decoded instructions starting at one physical
 * address, decoded for one code size, ending at an instruction marked
 * OPF_END, at a page boundary, or after BLOCK_MAX_INSNS. Blocks never
 * span pages: an instruction that crosses a page boundary is decoded and
 * run on its own, uncached. One cache per machine, shared by every vCPU
 * and (later) the JIT.
 *
 * Invalidation: the MMU calls bc_invalidate_page() when a page that holds
 * decoded code is written (by any vCPU, a device or a loader). Blocks are
 * unlinked at once but freed only at the next bc_collect(), called by the
 * dispatch loop between blocks, so a block that overwrites itself finishes
 * its current instruction safely.
 */
#ifndef NESTEMU_BLOCK_H
#define NESTEMU_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insn.h"

#define BLOCK_MAX_INSNS 64

struct block {
	struct block *hnext;	/* hash chain */
	struct block *pnext;	/* chain of blocks on the same page */
	uint64_t pa;		/* physical address of the first byte */
	uint64_t rip_lo;	/* low 12 bits: page offset (for sanity) */
	uint32_t ninsn;
	uint32_t bytes;		/* bytes covered */
	uint8_t code_size;
	bool valid;
	uint8_t link_next;	/* the link to replace next */
	/* Chaining (exec.c): two blocks that followed this one, each valid
	 * while its stamp and key match, as a jump-cache entry. */
	struct block_link {
		uint64_t lin;
		const struct block *b;
		uint64_t stamp;
		uint32_t key;		/* jump-cache key | vCPU id << 8; 0 = empty */
	} link[2];
	struct insn insns[];
};

#define BC_HASH_BITS 16
#define BC_HASH (1u << BC_HASH_BITS)
#define BC_PAGE_HASH (1u << 14)

/* Defined here so the dispatch loop's per-block calls inline. */
struct block_cache {
	struct block *hash[BC_HASH];
	struct block *pages[BC_PAGE_HASH];
	struct block *graveyard;	/* dropped blocks, linked through hnext */
	uint64_t generation;		/* bumped by every invalidation */
	uint64_t nblocks;
	const struct block *running;	/* the block being executed ... */
	uint32_t *running_exit;		/* ... and the flag that stops it */
};

struct block_cache *bc_create(void);
void bc_destroy(struct block_cache *bc);
/* Finds the block for (pa, code_size), or NULL. */
struct block *bc_lookup(struct block_cache *bc, uint64_t pa, unsigned code_size);
/* Stores a copy of n decoded instructions as a block; returns it. */
struct block *bc_insert(struct block_cache *bc, uint64_t pa, unsigned code_size,
			const struct insn *insns, unsigned n, unsigned bytes);
/* Drops every block on the physical page containing pa. */
void bc_invalidate_page(struct block_cache *bc, uint64_t pa);
/* Drops everything (mode-independent flush, e.g. feature change). */
void bc_flush(struct block_cache *bc);
/* Frees blocks dropped since the last call. */
void bc_collect_slow(struct block_cache *bc);
static inline void bc_collect(struct block_cache *bc)
{
	if (__builtin_expect(bc->graveyard != NULL, 0))
		bc_collect_slow(bc);
}
/* Incremented by every invalidation. */
static inline uint64_t bc_generation(const struct block_cache *bc)
{
	return bc->generation;
}
/* The dispatch loop names the block it runs: invalidating it sets *exit_flag. */
static inline void bc_set_running(struct block_cache *bc, const struct block *b, uint32_t *exit_flag)
{
	bc->running = b;
	bc->running_exit = exit_flag;
}

#endif
