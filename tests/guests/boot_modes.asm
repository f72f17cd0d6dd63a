; boot_modes - from the reset vector: real mode -> 32-bit protected mode ->
; long mode (64-bit) -> compatibility mode -> protected mode with paging
; off -> 16-bit protected mode -> real mode, checking the CPU state at
; each stage (SDM Vol. 3 9.9 mode switching, 9.8.5 IA-32e initialization,
; 9.8.5.4 leaving IA-32e mode).
%include "rom.inc"

%define PML4 0x10000
%define PDPT 0x11000
%define PD 0x12000

rom_start:
	cli
	mov ax, 0xF000
	mov ds, ax
	xor ax, ax
	mov ss, ax
	mov es, ax
	mov sp, 0x7000
	SAY "boot_modes: real mode"
	smsw ax
	test al, 1
	jz .pe_clear
	FAIL 1, "CR0.PE set at reset"
.pe_clear:
	; real-mode addressing: linear = selector * 16 + offset
	mov dword [es:0x500], 0xCAFEF00D
	mov ax, 0x0050
	mov fs, ax
	CHECK dword [fs:0], 0xCAFEF00D, 2, "real-mode segment base is not selector*16"

	o32 lgdt [cs:gdt_desc]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:ADDR(pm32)

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov esp, 0x7000
	SAY "protected mode (32-bit)"
	mov ax, cs
	CHECK ax, 0x08, 3, "CS is not 0x08 after the far jump"
	mov dword [0x600], 0x12345678
	CHECK dword [0x600], 0x12345678, 4, "flat 32-bit store/load"
	mov eax, 0x7fffffff
	add eax, 1
	jo .of_ok
	FAIL 5, "32-bit ADD overflow flag"
.of_ok:
	; identity map the first GiB with 2 MiB pages
	mov edi, PML4
	mov ecx, 3 * 1024
	xor eax, eax
	rep stosd
	mov dword [PML4], PDPT | 3
	mov dword [PDPT], PD | 3
	mov edi, PD
	mov eax, 0x83			; present, writable, 2 MiB page
	mov ecx, 512
.pde:	mov [edi], eax
	mov dword [edi + 4], 0
	add eax, 0x200000
	add edi, 8
	loop .pde

	mov eax, cr4
	or eax, 1 << 5			; PAE
	mov cr4, eax
	mov eax, PML4
	mov cr3, eax
	mov ecx, 0xC0000080
	rdmsr
	or eax, 1 << 8			; EFER.LME
	wrmsr
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax			; paging on: IA-32e mode, compatibility
	mov ecx, 0xC0000080
	rdmsr
	test eax, 1 << 10
	jnz .lma_ok
	FAIL 6, "EFER.LMA not set after enabling paging with LME"
.lma_ok:
	SAY "IA-32e compatibility mode"
	jmp 0x18:ADDR(lm64)

	bits 64
lm64:
	SAY "64-bit mode"
	mov rax, 0x123456789ABCDEF0
	mov rbx, rax
	shr rbx, 32
	CHECK ebx, 0x12345678, 7, "64-bit register high half"
	mov eax, -1			; 32-bit writes zero-extend
	mov rcx, 0xFFFFFFFF
	CHECK rax, rcx, 8, "32-bit write did not zero-extend"
	mov rax, 0x1122334455667788
	mov [0x700], rax
	push rax
	pop rdx
	CHECK rdx, rax, 9, "64-bit push/pop"
	mov rsp, 0x7000
	; back to compatibility mode through a far return
	push 0x08
	lea rax, [rel compat]
	push rax
	o64 retf

	bits 32
compat:
	SAY "back in compatibility mode"
	mov eax, cr0
	and eax, 0x7FFFFFFF
	mov cr0, eax			; paging off: leaves IA-32e mode
	mov ecx, 0xC0000080
	rdmsr
	test eax, 1 << 10
	jz .lma_clear
	FAIL 10, "EFER.LMA still set with paging off"
.lma_clear:
	and eax, ~(1 << 8)
	wrmsr
	mov eax, cr4
	and eax, ~(1 << 5)
	mov cr4, eax
	SAY "protected mode, paging off"
	CHECK dword [0x700], 0x55667788, 11, "data written in 64-bit mode"
	jmp 0x20:pm16			; 16-bit code segment, base 0xF0000

	bits 16
pm16:
	mov ax, 0x28			; 16-bit data, limit 0xFFFF
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, cr0
	and al, 0xFE
	mov cr0, eax
	jmp 0xF000:real_again

real_again:
	mov ax, 0xF000
	mov ds, ax
	xor ax, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7000
	SAY "back in real mode"
	smsw ax
	test al, 1
	jz .pe_ok
	FAIL 12, "CR0.PE still set"
.pe_ok:
	CHECK dword [es:0x700], 0x55667788, 13, "real-mode read of 64-bit data"
	mov ax, 0x0070
	mov fs, ax
	CHECK dword [fs:4], 0x11223344, 14, "real-mode segment base after protected mode"
	; a 16-bit stack again
	push word 0xBEEF
	pop bx
	CHECK bx, 0xBEEF, 15, "16-bit push/pop"
	PASS

	DEFINE_PUTS			; puts16
	bits 32
	DEFINE_PUTS			; puts32
	bits 64
	DEFINE_PUTS			; puts64

	align 8
gdt:
	dq 0
	dq 0x00CF9B000000FFFF		; 0x08 code32
	dq 0x00CF93000000FFFF		; 0x10 data
	dq 0x00AF9B000000FFFF		; 0x18 code64
	dq 0x00009B0F0000FFFF		; 0x20 code16, base 0xF0000
	dq 0x000093000000FFFF		; 0x28 data16
gdt_end:
gdt_desc:
	dw gdt_end - gdt - 1
	dd ADDR(gdt)

	ROM_END
