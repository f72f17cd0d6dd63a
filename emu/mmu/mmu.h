/*
 * mmu.h - physical memory map, guest paging, TLB and code-page tracking.
 *
 * Physical memory is a sorted list of regions (RAM backed by one host
 * mapping, ROM, MMIO with device callbacks). Linear addresses are
 * translated by a walk of the guest's page tables in the current paging
 * mode (32-bit with PSE/PSE-36, PAE, 4- and 5-level; SDM Vol. 3 ch. 4),
 * checking U/S, R/W, NX, WP, SMEP, SMAP, PKU and reserved bits and setting
 * accessed/dirty bits, and the result is cached in the per-vCPU TLB
 * (cpu->tlb) as a host pointer when the page is RAM. Every guest access,
 * whatever its size or kind, goes through mmu_translate (directly or via
 * the TLB it fills), so a second-level translation (EPT/NPT) has exactly
 * one place to sit: mmu_gpa_to_hpa-style hooks between the walk's
 * guest-physical results and memory (later issues).
 *
 * Code-page tracking: a page whose bytes were decoded into the block cache
 * is marked; its TLB write tags stay invalid, so every write to it takes
 * the slow path, which drops the page's blocks (self-modifying code, DMA,
 * another vCPU) and clears the mark.
 */
#ifndef NESTEMU_MMU_H
#define NESTEMU_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpu;
struct machine;

/* Access kinds: low bits are the kind, high bits modifiers. */
#define ACC_READ 0u
#define ACC_WRITE 1u
#define ACC_FETCH 2u
#define ACC_KIND_MASK 3u
#define ACC_IMPLICIT (1u << 2)	/* implicit supervisor access (GDT/IDT/TSS) */
#define ACC_USER (1u << 3)	/* treat as CPL 3 regardless of CPL */
#define ACC_NOFAULT (1u << 4)	/* probe only: report failure, no #PF */

/* MMIO callbacks: size is 1, 2, 4 or 8; offset is from the region start. */
typedef uint64_t (*mmio_read_fn)(void *opaque, uint64_t offset, unsigned size);
typedef void (*mmio_write_fn)(void *opaque, uint64_t offset, uint64_t value, unsigned size);

enum region_kind { REGION_RAM, REGION_ROM, REGION_MMIO };

struct mem_region {
	uint64_t base;
	uint64_t size;
	enum region_kind kind;
	uint8_t *host;		/* RAM/ROM backing */
	mmio_read_fn read;	/* MMIO */
	mmio_write_fn write;
	void *opaque;
	const char *name;
	int priority;		/* higher wins where regions overlap */
	unsigned seq;		/* insertion order: later wins at equal priority */
};

#define MEMMAP_MAX_REGIONS 64

struct memmap {
	struct mem_region regions[MEMMAP_MAX_REGIONS];
	int nregions;
	uint8_t *code_pages;	/* bitmap over RAM pages: holds decoded code */
	uint64_t ram_size;	/* bytes of guest RAM (host mapping size) */
	uint8_t *ram;		/* the single host mapping of guest RAM */
	uint64_t generation;	/* bumped on any map change: flushes TLBs */
	unsigned next_seq;	/* seq of the next region added */
	bool ram_mmapped;	/* ram came from mmap (else calloc) */
	/* The machine whose vCPUs hold TLB entries into this map. Set by
	 * mmu_translate (the only TLB filler), so it is non-NULL whenever a
	 * TLB entry exists; map changes then flush every vCPU's TLB and the
	 * block cache at once (hardware-like: no stale host pointers). */
	struct machine *owner;
};

/* Memory map setup. All return 0 or a negative errno-style code. */
int memmap_init(struct memmap *mm, uint64_t ram_size) __attribute__((warn_unused_result));
void memmap_destroy(struct memmap *mm);
/* Maps RAM [base, base+size) onto guest RAM offset ram_offset. */
int memmap_add_ram(struct memmap *mm, uint64_t base, uint64_t size, uint64_t ram_offset,
		   const char *name) __attribute__((warn_unused_result));
/* Maps a copy of data (size bytes) as read-only memory. */
int memmap_add_rom(struct memmap *mm, uint64_t base, const void *data, uint64_t size,
		   const char *name) __attribute__((warn_unused_result));
int memmap_add_mmio(struct memmap *mm, uint64_t base, uint64_t size, mmio_read_fn rd,
		    mmio_write_fn wr, void *opaque, const char *name, int priority)
	__attribute__((warn_unused_result));
/* The region holding pa, or NULL (unmapped: reads all-ones, writes ignored). */
const struct mem_region *memmap_find(const struct memmap *mm, uint64_t pa);
/* Removes the most recently added region with exactly this base and size
 * (PCI BAR moves: remove, then add at the new base). 0 or -ENOENT. */
int memmap_remove(struct memmap *mm, uint64_t base, uint64_t size);
/* The same, but only a region with this name (unless NULL) and opaque
 * pointer (unless NULL): a device unmapping its own window never removes
 * another region a guest placed at the same address (PCI BARs over PAM
 * windows or each other). 0 or -ENOENT. */
int memmap_remove_owned(struct memmap *mm, uint64_t base, uint64_t size, const char *name,
			const void *opaque);

/*
 * Physical access by the machine (devices, loaders, DMA, page walks).
 * Works across region boundaries; unmapped bytes read as 0xff. Writes to
 * pages holding decoded code drop their blocks.
 */
void phys_read(struct machine *m, uint64_t pa, void *buf, size_t len);
void phys_write(struct machine *m, uint64_t pa, const void *buf, size_t len);
uint64_t phys_read_u(struct machine *m, uint64_t pa, unsigned size);
void phys_write_u(struct machine *m, uint64_t pa, uint64_t value, unsigned size);
/* Host pointer to len bytes of RAM at pa within one page, or NULL. A
 * caller that writes through it must call phys_ram_written afterwards. */
uint8_t *phys_ram_ptr(struct machine *m, uint64_t pa, size_t len);
/* Code-page hook for RAM written behind the MMU's back: drops the blocks
 * of every code page in [pa, pa+len) and clears their marks. */
void phys_ram_written(struct machine *m, uint64_t pa, size_t len);

/*
 * For the MMU's own files (memmap.c, paging.c, tlb.c): the host page behind
 * the 4 KiB guest-physical page pa_page when one RAM or ROM region owns
 * all of it (*kind, *code = RAM page marked as code); NULL otherwise.
 */
uint8_t *memmap_page_host(struct memmap *mm, uint64_t pa_page, enum region_kind *kind,
			  bool *code);
/* The TLB space (MMU_*) whose rules govern an access of kind acc now. */
unsigned mmu_acc_idx(const struct cpu *cpu, unsigned acc);

/*
 * Translates a linear address for an access of kind acc (ACC_*), raising
 * #PF through cpu_page_fault on failure unless ACC_NOFAULT is given, in
 * which case it returns false. On success *pa is the guest-physical
 * address and the TLB entry for the page is filled.
 */
bool mmu_translate(struct cpu *cpu, uint64_t linear, unsigned acc, uint64_t *pa);

/*
 * Slow paths behind the inline accessors of emu/cpu/mem.h: linear
 * accesses of 1, 2, 4, 8 bytes (any alignment, page crossings, MMIO,
 * alignment check #AC), and block copies for 10/16/32-byte operands.
 */
uint64_t mmu_read_slow(struct cpu *cpu, uint64_t linear, unsigned size, unsigned acc);
void mmu_write_slow(struct cpu *cpu, uint64_t linear, uint64_t value, unsigned size, unsigned acc);
void mmu_read_block(struct cpu *cpu, uint64_t linear, void *buf, unsigned size, unsigned acc);
void mmu_write_block(struct cpu *cpu, uint64_t linear, const void *buf, unsigned size, unsigned acc);
/* Checks that all `size` bytes at linear are writable (probe before commit). */
void mmu_probe_write(struct cpu *cpu, uint64_t linear, unsigned size);

/*
 * TLB maintenance, exactly where the architecture says (SDM 4.10.4).
 *
 * The TLB arrays hold one address space at a time and cache permissions
 * already combined with the control bits in force when filled, so:
 *  - every MOV CR3 must call tlb_flush_nonglobal (even with PCIDE and
 *    bit 63 set: entries of the old PCID would otherwise be hit);
 *  - a change of CR0.PG/WP, CR4.PSE/PAE/PGE/PCIDE/SMEP/SMAP/PKE/LA57,
 *    EFER.NXE/LMA, and WRPKRU/XRSTOR of PKRU must call tlb_flush_all.
 * Entries are filled per 4 KiB page; one from a larger page carries its
 * page size class in bits 13:12 of its pcid field (TLB_LARGE_*) so INVLPG
 * drops every 4 KiB piece of the large page.
 */
#define TLB_PCID_MASK 0xfffu
#define TLB_LARGE_SHIFT 12
#define TLB_LARGE_MASK (3u << TLB_LARGE_SHIFT)
#define TLB_LARGE_2M (1u << TLB_LARGE_SHIFT)
#define TLB_LARGE_4M (2u << TLB_LARGE_SHIFT)
#define TLB_LARGE_1G (3u << TLB_LARGE_SHIFT)
void tlb_flush_all(struct cpu *cpu);		/* including global entries */
void tlb_flush_nonglobal(struct cpu *cpu);	/* MOV CR3 without PCID, ... */
void tlb_flush_page(struct cpu *cpu, uint64_t linear);	/* INVLPG */
/* Drops the entries of one PCID (keeping global ones if asked); since the
 * arrays hold one address space, it also drops non-global entries of any
 * PCID other than the current CR3's (they must never be hit). */
void tlb_flush_pcid(struct cpu *cpu, uint16_t pcid, bool keep_global);
/* MOV CR3, called after cpu->cr3 holds the new value (bit 63 stripped):
 * flushes non-global entries unless CR4.PCIDE, noflush (bit 63 was set)
 * and the PCID did not change (SDM 4.10.4.1). */
void tlb_cr3_written(struct cpu *cpu, uint64_t old_cr3, bool noflush);

/* Code-page tracking for the block cache. Marking a page also drops the
 * write tags of every vCPU's TLB entries for it. */
void mmu_mark_code_page(struct machine *m, uint64_t pa);
bool mmu_is_code_page(const struct machine *m, uint64_t pa);

/*
 * A page walk for the monitor and tests: each level's entry address and
 * value, and the outcome. Does not set A/D bits and raises nothing.
 */
struct walk_step {
	uint64_t entry_addr;
	uint64_t entry;
	int level;		/* 5..1 */
};
struct walk_result {
	struct walk_step steps[5];
	int nsteps;
	bool ok;
	uint64_t pa;
	uint32_t pfec;		/* #PF error code it would raise when !ok */
	uint64_t page_size;
};
void mmu_walk_info(struct cpu *cpu, uint64_t linear, unsigned acc, struct walk_result *out);

#endif
