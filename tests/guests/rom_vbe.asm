; rom_vbe - an option ROM for SeaBIOS (-option-rom, fw_cfg genroms/) that
; drives the VGA BIOS the card carries: VBE 4F01 (mode information for
; mode 111h, 640x480 at 16 bits per pixel: resolution, depth, and the
; linear framebuffer address, which must be the card's BAR0), 4F02 (set
; the mode, banked), and 4F05 (switch banks), painting the first 64 KiB
; red and the second green through the 0xA0000 window. It then halts for
; good so tests/monitor/run.sh can screendump the picture; a failed check
; exits through isa-debug-exit with its code. The last byte is the
; checksum, which the test fixes after assembly (nasm cannot sum its
; output). Not run by tests/guests/run.sh (not a boot_ or mb_ program).
	bits 16
	org 0

%define EXIT_PORT 0xF4
%define SIZE 1024

	db 0x55, 0xAA, SIZE / 512
	jmp init

%macro FAIL_IF_NE 1
	je %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

init:
	push ds
	push es
	pushad
	mov ax, cs
	mov ds, ax
	mov es, ax

	mov ax, 0x4F01			; mode information
	mov cx, 0x0111
	mov di, modeinfo
	int 0x10
	cmp ax, 0x004F
	FAIL_IF_NE 1
	cmp word [modeinfo + 0x12], 640	; XResolution
	FAIL_IF_NE 2
	cmp word [modeinfo + 0x14], 480	; YResolution
	FAIL_IF_NE 3
	cmp byte [modeinfo + 0x19], 16	; BitsPerPixel
	FAIL_IF_NE 4
	mov dx, 0xCF8			; BAR0 of 00:02.0
	mov eax, 0x80001010
	out dx, eax
	mov dx, 0xCFC
	in eax, dx
	and eax, 0xFFFFFFF0
	cmp eax, [modeinfo + 0x28]	; PhysBasePtr
	FAIL_IF_NE 5

	mov ax, 0x4F02			; set mode 111h, banked
	mov bx, 0x0111
	int 0x10
	cmp ax, 0x004F
	FAIL_IF_NE 6

	mov ax, 0xA000
	mov es, ax
	xor di, di
	mov ax, 0xF800			; red in 5:6:5
	mov cx, 0x8000
	cld
	rep stosw
	mov ax, 0x4F05			; window A to bank 1 (64 KiB granularity)
	xor bx, bx
	mov dx, 1
	int 0x10
	cmp ax, 0x004F
	FAIL_IF_NE 7
	xor di, di
	mov ax, 0x07E0			; green
	mov cx, 0x8000
	rep stosw
	cli
.halt:	hlt
	jmp .halt

fail:	out EXIT_PORT, al
	cli
	hlt
	jmp fail

	align 16
modeinfo:
	times 256 db 0

	times SIZE - 1 - ($ - $$) db 0
	db 0				; checksum (fixed by the test)
