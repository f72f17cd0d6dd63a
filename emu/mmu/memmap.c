/*
 * memmap.c - the guest-physical memory map: RAM, ROM and MMIO regions.
 *
 * Guest RAM is one host allocation (mm->ram, mm->ram_size bytes); RAM
 * regions map windows of it at guest-physical bases, so a RAM address
 * always turns into a host pointer and nothing outside that allocation
 * (or a ROM's private copy) is ever reachable: every access is clamped to
 * the region it falls in. Regions are kept sorted by base; where they
 * overlap, the higher priority wins, and at equal priority the region
 * added later wins (a ROM or an MMIO window laid over RAM). Bytes no
 * region claims read as all-ones and ignore writes, like an ISA bus.
 *
 * MMIO callbacks see the access size: phys_read_u/phys_write_u pass the
 * CPU's access size through; longer or misaligned transfers (DMA,
 * page-crossing accesses) are split into naturally aligned pieces of
 * 8, 4, 2 or 1 bytes.
 *
 * Code-page tracking (DESIGN.md "decode once"): mm->code_pages has one
 * bit per RAM page (indexed by offset in the RAM allocation) that holds
 * decoded instructions. Every write path into RAM that does not go
 * through a TLB write tag (which is never set for a marked page) calls
 * ram_written(), which drops the page's blocks and clears the mark.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#endif

#include "mmu.h"
#include "../machine.h"
#include "../cpu/block.h"
#include "../cpu/cpu.h"

#define PAGE_SIZE 4096ull
#define PHYS_LIMIT (1ull << 52)	/* architectural MAXPHYADDR bound */

int memmap_init(struct memmap *mm, uint64_t ram_size)
{
	memset(mm, 0, sizeof(*mm));
	if (ram_size > PHYS_LIMIT)
		return -EINVAL;
	uint64_t alloc = (ram_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (alloc) {
#ifndef _WIN32
		void *p = mmap(NULL, alloc, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			mm->ram = p;
			mm->ram_mmapped = true;
		}
#endif
		if (!mm->ram) {
			mm->ram = calloc(1, alloc);
			if (!mm->ram)
				return -ENOMEM;
		}
	}
	mm->code_pages = calloc(1, alloc / PAGE_SIZE / 8 + 1);
	if (!mm->code_pages) {
		memmap_destroy(mm);
		return -ENOMEM;
	}
	mm->ram_size = ram_size;
	return 0;
}

void memmap_destroy(struct memmap *mm)
{
	for (int i = 0; i < mm->nregions; i++)
		if (mm->regions[i].kind == REGION_ROM)
			free(mm->regions[i].host);
	if (mm->ram) {
		uint64_t alloc = (mm->ram_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
#ifndef _WIN32
		if (mm->ram_mmapped)
			munmap(mm->ram, alloc);
		else
#endif
			free(mm->ram);
		(void)alloc;
	}
	free(mm->code_pages);
	memset(mm, 0, sizeof(*mm));
}

/* A map change: no TLB may keep a host pointer or permission derived from
 * the old map, and blocks decoded from a replaced ROM/RAM are stale. */
static void map_changed(struct memmap *mm)
{
	mm->generation++;
	struct machine *m = mm->owner;
	if (!m)
		return;
	for (int i = 0; i < m->ncpus; i++)
		if (m->cpus[i])
			tlb_flush_all(m->cpus[i]);
	if (m->bc)
		bc_flush(m->bc);
}

static int insert_region(struct memmap *mm, const struct mem_region *r)
{
	if (mm->nregions >= MEMMAP_MAX_REGIONS)
		return -ENOSPC;
	if (r->size == 0 || r->base >= PHYS_LIMIT || r->size > PHYS_LIMIT - r->base)
		return -EINVAL;
	int i = mm->nregions;
	while (i > 0 && mm->regions[i - 1].base > r->base) {
		mm->regions[i] = mm->regions[i - 1];
		i--;
	}
	mm->regions[i] = *r;
	mm->regions[i].seq = mm->next_seq++;
	mm->nregions++;
	map_changed(mm);
	return 0;
}

int memmap_add_ram(struct memmap *mm, uint64_t base, uint64_t size, uint64_t ram_offset,
		   const char *name)
{
	if (ram_offset > mm->ram_size || size > mm->ram_size - ram_offset)
		return -EINVAL;
	struct mem_region r = {
		.base = base, .size = size, .kind = REGION_RAM,
		.host = mm->ram + ram_offset, .name = name, .priority = 0,
	};
	return insert_region(mm, &r);
}

int memmap_add_rom(struct memmap *mm, uint64_t base, const void *data, uint64_t size,
		   const char *name)
{
	if (size == 0 || size > PHYS_LIMIT)
		return -EINVAL;
	uint8_t *copy = malloc(size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, size);
	struct mem_region r = {
		.base = base, .size = size, .kind = REGION_ROM,
		.host = copy, .name = name, .priority = 0,
	};
	int err = insert_region(mm, &r);
	if (err)
		free(copy);
	return err;
}

int memmap_add_mmio(struct memmap *mm, uint64_t base, uint64_t size, mmio_read_fn rd,
		    mmio_write_fn wr, void *opaque, const char *name, int priority)
{
	struct mem_region r = {
		.base = base, .size = size, .kind = REGION_MMIO, .read = rd,
		.write = wr, .opaque = opaque, .name = name, .priority = priority,
	};
	return insert_region(mm, &r);
}

/* Removes the newest region at base/size whose name (when name is not
 * NULL) and opaque pointer (when opaque is not NULL) match. */
static int remove_region(struct memmap *mm, uint64_t base, uint64_t size, const char *name,
			 const void *opaque)
{
	int found = -1;
	for (int i = 0; i < mm->nregions; i++) {
		const struct mem_region *r = &mm->regions[i];
		if (r->base == base && r->size == size &&
		    (name == NULL || (r->name && strcmp(r->name, name) == 0)) &&
		    (opaque == NULL || r->opaque == opaque) &&
		    (found < 0 || r->seq > mm->regions[found].seq))
			found = i;
	}
	if (found < 0)
		return -ENOENT;
	if (mm->regions[found].kind == REGION_ROM)
		free(mm->regions[found].host);
	memmove(&mm->regions[found], &mm->regions[found + 1],
		(size_t)(mm->nregions - found - 1) * sizeof(mm->regions[0]));
	mm->nregions--;
	map_changed(mm);
	return 0;
}

int memmap_remove(struct memmap *mm, uint64_t base, uint64_t size)
{
	return remove_region(mm, base, size, NULL, NULL);
}

int memmap_remove_owned(struct memmap *mm, uint64_t base, uint64_t size, const char *name,
			const void *opaque)
{
	return remove_region(mm, base, size, name, opaque);
}

static inline bool wins_over(const struct mem_region *a, const struct mem_region *b)
{
	return a->priority > b->priority || (a->priority == b->priority && a->seq > b->seq);
}

/*
 * The region that owns pa and how many bytes (at most max, max >= 1) from
 * pa on keep the same owner. NULL means unmapped for *n bytes.
 */
static const struct mem_region *find_span(const struct memmap *mm, uint64_t pa, uint64_t max,
					  uint64_t *n)
{
	const struct mem_region *best = NULL;
	for (int i = 0; i < mm->nregions; i++) {
		const struct mem_region *r = &mm->regions[i];
		if (r->base > pa)
			break;
		if (pa - r->base < r->size && (!best || wins_over(r, best)))
			best = r;
	}
	uint64_t span = max;
	if (best && best->size - (pa - best->base) < span)
		span = best->size - (pa - best->base);
	/* A region starting later inside the span and beating the owner
	 * (or any region at all when unmapped) cuts the span. */
	for (int i = 0; i < mm->nregions; i++) {
		const struct mem_region *r = &mm->regions[i];
		if (r->base <= pa)
			continue;
		if (r->base - pa >= span)
			break;
		if (!best || wins_over(r, best))
			span = r->base - pa;
	}
	*n = span;
	return best;
}

const struct mem_region *memmap_find(const struct memmap *mm, uint64_t pa)
{
	uint64_t n;
	return find_span(mm, pa, 1, &n);
}

/* RAM offset of a RAM region byte. */
static inline uint64_t ram_off(const struct memmap *mm, const struct mem_region *r, uint64_t pa)
{
	return (uint64_t)(r->host - mm->ram) + (pa - r->base);
}

static inline bool code_bit(const struct memmap *mm, uint64_t off)
{
	uint64_t pg = off / PAGE_SIZE;
	return (mm->code_pages[pg >> 3] >> (pg & 7)) & 1;
}

/* Code-page hook for a RAM region span [pa, pa+len), len >= 1. */
static void ram_span_written(struct machine *m, const struct mem_region *r, uint64_t pa,
			     uint64_t len)
{
	struct memmap *mm = &m->mem;
	uint64_t off = ram_off(mm, r, pa);
	uint64_t first = off / PAGE_SIZE, last = (off + len - 1) / PAGE_SIZE;
	for (uint64_t pg = first; pg <= last; pg++) {
		uint8_t bit = (uint8_t)(1u << (pg & 7));
		if (mm->code_pages[pg >> 3] & bit) {
			mm->code_pages[pg >> 3] &= (uint8_t)~bit;
			if (m->bc) {
				uint64_t page_pa = r->base + (pg * PAGE_SIZE - (uint64_t)(r->host - mm->ram));
				bc_invalidate_page(m->bc, pg == first ? pa : page_pa);
			}
		}
	}
}

void phys_ram_written(struct machine *m, uint64_t pa, size_t len)
{
	while (len) {
		uint64_t n;
		const struct mem_region *r = find_span(&m->mem, pa, len, &n);
		if (r && r->kind == REGION_RAM)
			ram_span_written(m, r, pa, n);
		pa += n;
		len -= n;
	}
}

/* Largest naturally aligned MMIO piece at pa of at most n bytes. */
static inline unsigned mmio_piece(uint64_t pa, uint64_t n)
{
	unsigned s = 8;
	while (s > 1 && ((pa & (s - 1)) || s > n))
		s >>= 1;
	return s;
}

static inline uint64_t ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

void phys_read(struct machine *m, uint64_t pa, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len) {
		uint64_t max = len;
		if (pa >= PHYS_LIMIT) {
			memset(out, 0xff, len);
			return;
		}
		if (max > PHYS_LIMIT - pa)
			max = PHYS_LIMIT - pa;
		uint64_t n;
		const struct mem_region *r = find_span(&m->mem, pa, max, &n);
		if (!r) {
			memset(out, 0xff, n);
		} else if (r->kind != REGION_MMIO) {
			memcpy(out, r->host + (pa - r->base), n);
		} else {
			for (uint64_t done = 0; done < n;) {
				unsigned s = mmio_piece(pa + done, n - done);
				uint64_t v = r->read ? r->read(r->opaque, pa + done - r->base, s) : ~0ull;
				memcpy(out + done, &v, s);
				done += s;
			}
		}
		out += n;
		pa += n;
		len -= n;
	}
}

void phys_write(struct machine *m, uint64_t pa, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	while (len) {
		if (pa >= PHYS_LIMIT)
			return;
		uint64_t max = len;
		if (max > PHYS_LIMIT - pa)
			max = PHYS_LIMIT - pa;
		uint64_t n;
		const struct mem_region *r = find_span(&m->mem, pa, max, &n);
		if (r && r->kind == REGION_RAM) {
			ram_span_written(m, r, pa, n);
			memcpy(r->host + (pa - r->base), in, n);
		} else if (r && r->kind == REGION_MMIO && r->write) {
			for (uint64_t done = 0; done < n;) {
				unsigned s = mmio_piece(pa + done, n - done);
				uint64_t v = 0;
				memcpy(&v, in + done, s);
				r->write(r->opaque, pa + done - r->base, v, s);
				done += s;
			}
		}
		/* ROM and unmapped: ignored. */
		in += n;
		pa += n;
		len -= n;
	}
}

uint64_t phys_read_u(struct machine *m, uint64_t pa, unsigned size)
{
	uint64_t n = 0;
	const struct mem_region *r = pa < PHYS_LIMIT ? find_span(&m->mem, pa, size, &n) : NULL;
	if (n == size) {
		if (!r)
			return ones(size);
		if (r->kind != REGION_MMIO) {
			uint64_t v = 0;
			memcpy(&v, r->host + (pa - r->base), size);
			return v;
		}
		return r->read ? r->read(r->opaque, pa - r->base, size) & ones(size) : ones(size);
	}
	uint64_t v = 0;
	phys_read(m, pa, &v, size);
	return v;
}

void phys_write_u(struct machine *m, uint64_t pa, uint64_t value, unsigned size)
{
	uint64_t n = 0;
	const struct mem_region *r = pa < PHYS_LIMIT ? find_span(&m->mem, pa, size, &n) : NULL;
	if (n == size && r && r->kind == REGION_MMIO) {
		if (r->write)
			r->write(r->opaque, pa - r->base, value & ones(size), size);
		return;
	}
	phys_write(m, pa, &value, size);
}

uint8_t *phys_ram_ptr(struct machine *m, uint64_t pa, size_t len)
{
	if (len == 0 || len > PAGE_SIZE || (pa & (PAGE_SIZE - 1)) + len > PAGE_SIZE || pa >= PHYS_LIMIT)
		return NULL;
	uint64_t n;
	const struct mem_region *r = find_span(&m->mem, pa, len, &n);
	if (!r || r->kind != REGION_RAM || n != len)
		return NULL;
	return r->host + (pa - r->base);
}

/*
 * For the TLB: the host page behind the 4 KiB guest-physical page at
 * pa_page when one region owns all of it and it is RAM or ROM; NULL
 * otherwise (MMIO, unmapped, or a page split between regions).
 */
uint8_t *memmap_page_host(struct memmap *mm, uint64_t pa_page, enum region_kind *kind,
			  bool *code)
{
	if (pa_page >= PHYS_LIMIT)
		return NULL;
	uint64_t n;
	const struct mem_region *r = find_span(mm, pa_page, PAGE_SIZE, &n);
	if (!r || n != PAGE_SIZE || r->kind == REGION_MMIO)
		return NULL;
	*kind = r->kind;
	*code = r->kind == REGION_RAM && code_bit(mm, ram_off(mm, r, pa_page));
	return r->host + (pa_page - r->base);
}

void mmu_mark_code_page(struct machine *m, uint64_t pa)
{
	struct memmap *mm = &m->mem;
	const struct mem_region *r = memmap_find(mm, pa);
	if (!r || r->kind != REGION_RAM)
		return;
	uint64_t pg = ram_off(mm, r, pa) / PAGE_SIZE;
	uint8_t bit = (uint8_t)(1u << (pg & 7));
	if (mm->code_pages[pg >> 3] & bit)
		return;
	mm->code_pages[pg >> 3] |= bit;
	/* No TLB may keep a fast write path to the page from now on. */
	uint64_t page = pa & ~(PAGE_SIZE - 1);
	for (int c = 0; c < m->ncpus; c++) {
		struct cpu *cpu = m->cpus[c];
		if (!cpu)
			continue;
		for (int idx = 0; idx < MMU_NIDX; idx++)
			for (unsigned i = 0; i < TLB_ENTRIES; i++) {
				struct tlb_entry *e = &cpu->tlb[idx][i];
				if (e->paddr == page)
					e->tag_write = TLB_INVALID;
			}
	}
}

bool mmu_is_code_page(const struct machine *m, uint64_t pa)
{
	const struct memmap *mm = &m->mem;
	const struct mem_region *r = memmap_find(mm, pa);
	if (!r || r->kind != REGION_RAM)
		return false;
	return code_bit(mm, ram_off(mm, r, pa));
}
