; cd_eltorito - SeaBIOS boots this El Torito no-emulation boot image from
; an ISO 9660 CD-ROM on the IDE secondary master (-cdrom; run.sh builds the
; ISO with xorriso) and the program reads the disc through INT 13h:
; the EDD check (AH=41h), the drive parameters (AH=48h: 2048-byte
; sectors), and extended reads (AH=42h) of the primary volume descriptor
; (LBA 16, "CD001") and the El Torito boot record (LBA 17).
; nestemu-test: args=-boot d
%define BUF 0x1000		; segment of the read buffer (linear 0x10000)

	bits 16
	org 0x7c00
%include "lib.inc"

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	mov [drive], dl
	SAY "cd_eltorito: booted from the IDE CD-ROM"
	cmp byte [drive], 0x80
	ja .drive_ok
	FAIL 2, "boot drive is not a CD-ROM drive number"
.drive_ok:
	mov ah, 0x41
	mov bx, 0x55aa
	mov dl, [drive]
	int 0x13
	jc .no_edd
	cmp bx, 0xaa55
	je .edd_ok
.no_edd:
	FAIL 3, "no INT 13h extensions (AH=41h) on the CD-ROM"
.edd_ok:
	mov word [edd_params], 0x1e
	mov ah, 0x48
	mov dl, [drive]
	mov si, edd_params
	int 0x13
	jc .p48_bad
	cmp word [edd_params + 24], 2048
	je .pvd
.p48_bad:
	FAIL 4, "AH=48h: not 2048-byte sectors"
.pvd:	mov dword [dap_lba], 16
	call read1
	jc .pvd_bad
	push es
	mov ax, BUF
	mov es, ax
	cmp byte [es:0], 1
	jne .pvd_bad_es
	cmp dword [es:1], 'CD00'
	jne .pvd_bad_es
	cmp byte [es:5], '1'
	jne .pvd_bad_es
	pop es
	jmp .brvd
.pvd_bad_es:
	pop es
.pvd_bad:
	FAIL 5, "extended read of the primary volume descriptor (LBA 16)"
.brvd:	mov dword [dap_lba], 17
	call read1
	jc .brvd_bad
	push es
	mov ax, BUF
	mov es, ax
	cmp byte [es:0], 0
	jne .brvd_bad_es
	cmp dword [es:7], 'EL T'
	jne .brvd_bad_es
	cmp dword [es:11], 'ORIT'
	jne .brvd_bad_es
	pop es
	PASS
.brvd_bad_es:
	pop es
.brvd_bad:
	FAIL 6, "extended read of the El Torito boot record (LBA 17)"

; read1: one sector at [dap_lba] to BUF:0 (CF on error).
read1:
	mov word [dap_count], 1
	mov ah, 0x42
	mov dl, [drive]
	mov si, dap
	int 0x13
	ret

DEFINE_PUTS

drive:	db 0
	align 4
dap:	db 0x10, 0
dap_count:
	dw 0
	dw 0, BUF
dap_lba:
	dq 0
edd_params:
	times 0x1e db 0
	times 2048 - ($ - $$) db 0
