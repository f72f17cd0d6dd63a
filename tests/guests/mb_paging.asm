; mb_paging - 32-bit paging (4 KiB pages, 4 MiB PSE pages) and PAE paging
; (2 MiB pages, reserved bits, NX), with the guest's #PF handler checking
; the error code, CR2 and the saved EIP of every fault (SDM Vol. 3 4.3,
; 4.4, 4.7), and accessed/dirty bits (4.8). 4-level paging faults are in
; mb_long.
%include "mb.inc"

%define PD32 0x300000
%define PT32 0x301000
%define PDPT 0x302000
%define PDPAE 0x303000

test_main:
	SAY "mb_paging: 32-bit paging"
	; clear the tables
	mov edi, PD32
	mov ecx, 4 * 1024
	xor eax, eax
	rep stosd
	; PT: identity 0-4 MiB with 4 KiB pages; 0x3FF000 read-only
	mov edi, PT32
	mov eax, 0x3			; P | W
	mov ecx, 1024
.pte:	mov [edi], eax
	add eax, 0x1000
	add edi, 4
	loop .pte
	and dword [PT32 + 0x3FF * 4], ~2
	mov dword [PD32 + 0 * 4], PT32 | 3
	mov dword [PD32 + 1 * 4], 0x400000 | 0x83	; 4 MiB page, identity
	mov dword [PD32 + 3 * 4], 0x400000 | 0x83	; 0xC00000 aliases 0x400000
	; PDE 2 (0x800000) stays not present

	mov eax, cr4
	or eax, 1 << 4			; PSE
	mov cr4, eax
	mov eax, PD32
	mov cr3, eax
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16)	; PG, WP
	mov cr0, eax

	; the alias through a PSE page
	mov dword [0xC00010], 0xA11A5ED
	CHECK dword [0x400010], 0xA11A5ED, 1, "4 MiB page alias"
	mov eax, [PD32 + 3 * 4]
	and eax, 0x60
	CHECK eax, 0x60, 2, "accessed and dirty bits of the 4 MiB page"
	mov eax, [PD32 + 1 * 4]
	test eax, 0x40
	jz .clean
	FAIL 3, "dirty bit set on a page only read"
.clean:

	; not-present read: error 0, CR2 = address
	EXPECT 14, 0, .np_read, .after_np_read
	EXPECT_CR2 0x800123
.np_read: mov eax, [0x800123]
	FAIL 4, "read of a not-present page did not fault"
.after_np_read:
	CHECK_HIT 5, "#PF (not present, read) not delivered"

	; not-present write: error W
	EXPECT 14, 2, .np_write, .after_np_write
	EXPECT_CR2 0x800FFC
.np_write: mov dword [0x800FFC], 1
	FAIL 6, "write to a not-present page did not fault"
.after_np_write:
	CHECK_HIT 7, "#PF (not present, write) not delivered"

	; supervisor write to a read-only page with CR0.WP=1: error P|W
	EXPECT 14, 3, .ro_write, .after_ro_write
	EXPECT_CR2 0x3FF008
.ro_write: mov dword [0x3FF008], 1
	FAIL 8, "write to a read-only page with WP=1 did not fault"
.after_ro_write:
	CHECK_HIT 9, "#PF (protection, write) not delivered"
	; ... and with WP=0 it is allowed
	mov eax, cr0
	and eax, ~(1 << 16)
	mov cr0, eax
	mov dword [0x3FF008], 0x5A5A
	CHECK dword [0x3FF008], 0x5A5A, 10, "supervisor write with WP=0"
	mov eax, cr0
	or eax, 1 << 16
	mov cr0, eax

	; a fault in the middle of a page-crossing access reports the second page
	mov dword [PD32 + 2 * 4], 0
	EXPECT 14, 2, .cross, .after_cross
	EXPECT_CR2 0x800000
.cross:	mov dword [0x7FFFFE], 0x12345678
	FAIL 11, "page-crossing write into a not-present page did not fault"
.after_cross:
	CHECK_HIT 12, "#PF (page crossing) not delivered"
	CHECK word [0x7FFFFE], 0, 13, "a faulting write changed memory"

	; INVLPG: remap 0xC00000 to physical 0 and see the new mapping
	mov dword [PD32 + 3 * 4], 0x000000 | 0x83
	invlpg [0xC00000]
	mov eax, [0xC00000 + test_main]
	CHECK eax, [test_main], 14, "INVLPG did not drop the old translation"

	SAY "PAE paging"
	mov eax, cr0
	and eax, 0x7FFFFFFF
	mov cr0, eax
	mov edi, PDPT
	mov ecx, 2 * 1024
	xor eax, eax
	rep stosd
	mov dword [PDPT], PDPAE | 1
	mov edi, PDPAE
	mov eax, 0x83			; 2 MiB pages, identity 0-1 GiB
	mov ecx, 512
.pde:	mov [edi], eax
	mov dword [edi + 4], 0
	add eax, 0x200000
	add edi, 8
	loop .pde
	mov dword [PDPAE + 8 * 8 + 4], 1 << (51 - 32)	; 16 MiB: reserved bit 51
	mov dword [PDPAE + 9 * 8], 0x83			; 18 MiB -> physical 0, NX
	mov dword [PDPAE + 9 * 8 + 4], 0x80000000
	mov dword [PDPAE + 10 * 8], 0			; 20 MiB: not present

	mov ecx, 0xC0000080
	rdmsr
	or eax, 1 << 11			; EFER.NXE
	wrmsr
	mov eax, cr4
	or eax, 1 << 5			; PAE
	mov cr4, eax
	mov eax, PDPT
	mov cr3, eax
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax

	mov dword [0x1000000 - 4], 0x600DF00D
	CHECK dword [0x1000000 - 4], 0x600DF00D, 15, "PAE identity mapping"

	; reserved bit set: error P|RSVD
	EXPECT 14, 9, .rsvd, .after_rsvd
	EXPECT_CR2 0x1000040
.rsvd:	mov eax, [0x1000040]
	FAIL 16, "reserved bit in a PDE did not fault"
.after_rsvd:
	CHECK_HIT 17, "#PF (reserved bit) not delivered"

	; data read from an NX page is fine
	mov eax, [0x1200000 + test_main]
	CHECK eax, [test_main], 18, "data read from an NX page"
	; instruction fetch from an NX page: error P|I, saved EIP = CR2 = target
	mov eax, 0x1200000 + nx_target
	EXPECT 14, 0x11, 0x1200000 + nx_target, .after_nx
	EXPECT_CR2 0x1200000 + nx_target
	jmp eax
.after_nx:
	CHECK_HIT 19, "#PF (NX fetch) not delivered"

	; not present under PAE, write: error W
	EXPECT 14, 2, .pae_np, .after_pae_np
	EXPECT_CR2 0x1400010
.pae_np: mov byte [0x1400010], 1
	FAIL 20, "write to a not-present PAE page did not fault"
.after_pae_np:
	CHECK_HIT 21, "#PF (PAE, not present) not delivered"
	PASS

nx_target:
	FAIL 22, "executed code on an NX page"
