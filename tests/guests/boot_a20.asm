; boot_a20 - the A20 gate from real mode: with both gate inputs closed
; (i8042 output port bit 1 through command 0xD1, port 0x92 bit 1) the
; CPU's physical address bit 20 is 0, so FFFF:0010 (linear 0x100000)
; reaches 0x0 for data writes, reads and instruction fetch (a far call to
; FFFF:0610 runs the code at 0x600); with either input open it does not.
; Finally 32-bit paging with CR3 = 0x101000 and A20 closed walks the
; tables at 0x1000.
%include "rom.inc"

%define LOW 0x0500		; test byte at 0:0500, its alias at FFFF:0510
%define HIGH_OFF 0x0510

; KBC_OUTPORT value: writes the i8042 output port (command 0xD1).
%macro KBC_OUTPORT 1
%%w1:	in al, 0x64
	test al, 2
	jnz %%w1
	mov al, 0xD1
	out 0x64, al
%%w2:	in al, 0x64
	test al, 2
	jnz %%w2
	mov al, %1
	out 0x60, al
%endmacro

; PORT92 value
%macro PORT92 1
	mov al, %1
	out 0x92, al
%endmacro

; WRAPS code, "why": the high alias is the low byte (A20 closed).
%macro WRAPS 2
	mov byte [es:LOW], 0xAA
	mov byte [fs:HIGH_OFF], 0x55
	CHECK byte [es:LOW], 0x55, %1, %2
	mov byte [es:LOW], 0x66
	CHECK byte [fs:HIGH_OFF], 0x66, %1, %2
	call far [cs:far_high]
	CHECK al, 0x77, %1 + 1, "code fetch at FFFF:0610 did not wrap to 0x600"
%endmacro

; APART code, "why": 0x100500 and 0x500 are different bytes (A20 open).
%macro APART 2
	mov byte [es:LOW], 0xAA
	mov byte [fs:HIGH_OFF], 0x55
	CHECK byte [es:LOW], 0xAA, %1, %2
	CHECK byte [fs:HIGH_OFF], 0x55, %1, %2
	call far [cs:far_high]
	CHECK al, 0x33, %1 + 1, "code fetch at FFFF:0610 wrapped with A20 open"
%endmacro

rom_start:
	cli
	mov ax, 0xF000
	mov ds, ax
	xor ax, ax
	mov ss, ax
	mov es, ax
	mov sp, 0x7000
	mov ax, 0xFFFF
	mov fs, ax
	SAY "boot_a20: A20 gate through the i8042 and port 0x92"

	; code at 0x600 (mov al, 0x77; retf) and at 0x100600 (mov al, 0x33; retf)
	mov dword [es:0x600], 0xCB77B0
	mov dword [fs:0x610], 0xCB33B0

	APART 1, "A20 is open at reset: 0x100500 must not alias 0x500"

	PORT92 0x00			; port 0x92 closed, i8042 still open
	APART 3, "closing port 0x92 alone must leave A20 open (i8042 input open)"

	KBC_OUTPORT 0x01		; i8042 output port: A20 off, no reset
	WRAPS 5, "A20 closed by both inputs: 0x100500 must alias 0x500"

	PORT92 0x02			; port 0x92 opens it
	in al, 0x92
	CHECK al, 0x02, 7, "port 0x92 reads back"
	APART 8, "port 0x92 bit 1 did not open A20"

	PORT92 0x00
	WRAPS 10, "port 0x92 cleared again: A20 closed"

	KBC_OUTPORT 0x03		; i8042 opens it
	APART 12, "i8042 output port bit 1 did not open A20"

	; ---- paging with A20 closed: CR3 = 0x101000 walks 0x1000 ----
	; PD at 0x1000: PDE 0 -> PT at 0x2000 (identity 0-4 MiB... only the
	; pages used: 0x0000-0xFFFFF), PDE 0 at 0x101000 -> a not-present PT.
	; The ROM at 0xF0000 and the stack at 0x7000 are identity-mapped.
	mov dword [fs:0x1010], 0			; PD copy at 0x101000: nothing present
	xor di, di
	mov ax, 0x100
	mov es, ax				; ES:0 = 0x1000 (PD)
	mov cx, 1024
	xor eax, eax
.clr:	mov [es:di], eax
	add di, 4
	loop .clr
	mov dword [es:0], 0x2003		; PDE 0 -> PT at 0x2000
	mov ax, 0x200
	mov es, ax				; ES:0 = 0x2000 (PT)
	xor di, di
	mov eax, 0x003				; present, writable, frame 0
	mov cx, 256				; 0-1 MiB
.pte:	mov [es:di], eax
	add eax, 0x1000
	add di, 4
	loop .pte
	xor ax, ax
	mov es, ax
	; a different byte behind linear 0x500 if the walk used 0x101000: the
	; PD at 0x101000 is all zeros apart from what FS writes below
	mov ax, 0x1100
	mov gs, ax				; GS:0 = 0x11000
	mov dword [fs:0x1010], 0		; (PDE 0 at 0x101000: not present)

	KBC_OUTPORT 0x01			; A20 closed again
	PORT92 0x00
	mov byte [es:LOW], 0x42
	lgdt [cs:gdt_desc]
	mov eax, 0x101000
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000001			; PG | PE
	mov cr0, eax
	jmp dword 0x08:ADDR(pm32)

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	; reached only if the walk found PDE 0 at 0x1000 (0x101000 has none:
	; a #PF would triple-fault, ending the run with exit status 0)
	cmp byte [LOW], 0x42
	je .pg_ok
	mov al, 14
	out EXIT_PORT, al
	hlt
.pg_ok:
	mov esi, ADDR(pass_msg)
	call puts32
	xor al, al
	out EXIT_PORT, al
	hlt

DEFINE_PUTS

	bits 16
DEFINE_PUTS

pass_msg:	db "PASS", 10, 0
far_high:	dw 0x0610, 0xFFFF

	align 8
gdt:	dq 0
	dq 0x00CF9B000000FFFF		; 0x08: flat 32-bit code (accessed)
	dq 0x00CF93000000FFFF		; 0x10: flat data (accessed)
gdt_end:
gdt_desc:	dw gdt_end - gdt - 1
		dd ADDR(gdt)

ROM_END
