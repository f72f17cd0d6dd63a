; disk_int13 - SeaBIOS boots this raw disk image from the IDE primary
; master (-hda) and the program reads the disk through INT 13h: CHS reads
; (AH=02h, also across a head and a cylinder boundary with the geometry
; AH=08h reports), the EDD extensions (AH=41h check, AH=42h extended read,
; AH=43h extended write read back, AH=48h parameters). The image is 4096
; sectors (2 MiB): sectors 0-7 this program, every later sector N holds
; the dword N and then 508 bytes of (N & 0xFF) ^ 0x5A.
; nestemu-test: args=-snapshot -boot c
%define DISK_SECTORS 4096
%define CODE_SECTORS 8
%define BUF 0x1000		; segment of the read buffer (linear 0x10000)

	bits 16
	org 0x7c00

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	mov [drive], dl
	; Stage 1: load sectors 1-7 (CHS 0/0/2) behind the boot sector.
	mov ax, 0x0200 | (CODE_SECTORS - 1)
	mov cx, 0x0002
	xor dh, dh
	mov bx, 0x7e00
	int 0x13
	jc .stage_fail
	cmp word [stage2_magic], 0x1d2e
	jne .stage_fail
	jmp stage2
.stage_fail:
	mov al, 2
	out 0xf4, al
	cli
	hlt

drive:	db 0
	times 510 - ($ - $$) db 0
	dw 0xaa55

; ---- stage 2 (sectors 1-7) ----
%include "lib.inc"

stage2_magic:
	dw 0x1d2e

heads:	dw 0		; from AH=08h: heads, sectors per track, cylinders
spt:	dw 0
cyls:	dw 0
lba:	dd 0		; expected LBA of the sector being checked

; check_sector: ES:DI -> a sector that must be LBA [lba]; ZF=1 when it is.
check_sector:
	push ax
	mov eax, [lba]
	cmp [es:di], eax
	jne .done
	xor al, 0x5a
	cmp [es:di + 4], al
	jne .done
	cmp [es:di + 511], al
.done:	pop ax
	ret

; read_chs: CX = cylinder, DH = head, DL = sector (1-based): reads 1 sector
; to BUF:0 with AH=02h and checks it against the LBA the geometry gives.
read_chs:
	pusha
	mov si, cx
	; expected LBA = (c * heads + h) * spt + s - 1
	movzx eax, cx
	movzx ebx, word [heads]
	imul eax, ebx
	movzx ebx, dh
	add eax, ebx
	movzx ebx, word [spt]
	imul eax, ebx
	movzx ebx, dl
	add eax, ebx
	dec eax
	mov [lba], eax
	; CH = cylinder bits 7:0, CL = cylinder bits 9:8 << 6 | sector
	mov ax, si
	mov ch, al
	mov cl, ah
	shl cl, 6
	or cl, dl
	mov dl, [drive]
	push es
	mov ax, BUF
	mov es, ax
	xor bx, bx
	mov ax, 0x0201
	int 0x13
	jc .fail
	xor di, di
	call check_sector
.fail:	pop es
	popa
	ret

stage2:
	SAY "disk_int13: booted from the IDE disk"
	cmp byte [drive], 0x80
	je .drive_ok
	FAIL 3, "boot drive is not 0x80"
.drive_ok:
	; AH=08h: drive parameters.
	mov ah, 0x08
	mov dl, [drive]
	xor di, di
	int 0x13
	jnc .params_ok
	FAIL 4, "INT 13h AH=08h failed"
.params_ok:
	movzx ax, dh
	inc ax
	mov [heads], ax
	mov ax, cx
	and ax, 0x3f
	mov [spt], ax
	movzx ax, ch
	mov bl, cl
	shr bl, 6
	mov ah, bl
	inc ax
	mov [cyls], ax
	cmp word [spt], 63
	je .spt_ok
	FAIL 5, "AH=08h: not 63 sectors per track"
.spt_ok:
	; CHS reads: first data sector, last sector of head 0, first of head 1,
	; first of cylinder 1.
	mov cx, 0
	mov dh, 0
	mov dl, CODE_SECTORS + 1
	call read_chs
	je .r1
	FAIL 6, "CHS read of sector 0/0/9"
.r1:	mov cx, 0
	mov dh, 0
	mov dl, 63
	call read_chs
	je .r2
	FAIL 7, "CHS read of sector 0/0/63"
.r2:	mov cx, 0
	mov dh, 1
	mov dl, 1
	call read_chs
	je .r3
	FAIL 8, "CHS read of sector 0/1/1"
.r3:	mov cx, 1
	mov dh, 2
	mov dl, 5
	call read_chs
	je .r4
	FAIL 9, "CHS read of sector 1/2/5"
.r4:
	; Multi-sector CHS read: 4 sectors from 0/0/10 (LBA 9-12).
	push es
	mov ax, BUF
	mov es, ax
	xor bx, bx
	mov ax, 0x0204
	mov cx, 0x000a
	xor dh, dh
	mov dl, [drive]
	int 0x13
	jc .multi_bad
	cmp al, 4
	jne .multi_bad
	mov dword [lba], 9
	xor di, di
.multi:	call check_sector
	jne .multi_bad
	add di, 512
	inc dword [lba]
	cmp dword [lba], 13
	jne .multi
	pop es
	jmp .ext
.multi_bad:
	pop es
	FAIL 10, "4-sector CHS read"

.ext:	; EDD: installation check.
	mov ah, 0x41
	mov bx, 0x55aa
	mov dl, [drive]
	int 0x13
	jc .no_edd
	cmp bx, 0xaa55
	jne .no_edd
	test cx, 1
	jnz .edd_ok
.no_edd:
	FAIL 11, "no INT 13h extensions (AH=41h)"
.edd_ok:
	; AH=42h: 16 sectors from LBA 3000.
	mov dword [dap_lba], 3000
	mov word [dap_count], 16
	mov ah, 0x42
	mov dl, [drive]
	mov si, dap
	int 0x13
	jc .ext_bad
	push es
	mov ax, BUF
	mov es, ax
	mov dword [lba], 3000
	xor di, di
.ext_loop:
	call check_sector
	jne .ext_bad_es
	add di, 512
	inc dword [lba]
	cmp dword [lba], 3016
	jne .ext_loop
	pop es
	jmp .last
.ext_bad_es:
	pop es
.ext_bad:
	FAIL 12, "extended read (AH=42h) of LBA 3000-3015"
.last:	; AH=42h: the last sector of the disk.
	mov dword [dap_lba], DISK_SECTORS - 1
	mov word [dap_count], 1
	mov ah, 0x42
	mov dl, [drive]
	mov si, dap
	int 0x13
	jc .last_bad
	push es
	mov ax, BUF
	mov es, ax
	mov dword [lba], DISK_SECTORS - 1
	xor di, di
	call check_sector
	pop es
	je .write
.last_bad:
	FAIL 13, "extended read of the last sector"

.write:	; AH=43h: write a new pattern to LBA 4000, read it back with AH=42h.
	push es
	mov ax, BUF
	mov es, ax
	xor di, di
	mov cx, 256
	mov ax, 0xbeef
	rep stosw
	pop es
	mov dword [dap_lba], 4000
	mov word [dap_count], 1
	mov ax, 0x4300
	mov dl, [drive]
	mov si, dap
	int 0x13
	jc .write_bad
	push es
	mov ax, BUF
	mov es, ax
	xor di, di
	mov cx, 256
	xor ax, ax
	rep stosw
	pop es
	mov word [dap_count], 1
	mov ah, 0x42
	mov dl, [drive]
	mov si, dap
	int 0x13
	jc .write_bad
	push es
	mov ax, BUF
	mov es, ax
	cmp word [es:0], 0xbeef
	jne .write_bad_es
	cmp word [es:510], 0xbeef
	jne .write_bad_es
	pop es
	jmp .params48
.write_bad_es:
	pop es
.write_bad:
	FAIL 14, "extended write (AH=43h) and read back"

.params48:
	; AH=48h: total sectors and sector size.
	mov word [edd_params], 0x1e
	mov ah, 0x48
	mov dl, [drive]
	mov si, edd_params
	int 0x13
	jc .p48_bad
	cmp dword [edd_params + 16], DISK_SECTORS
	jne .p48_bad
	cmp dword [edd_params + 20], 0
	jne .p48_bad
	cmp word [edd_params + 24], 512
	je .done
.p48_bad:
	FAIL 15, "AH=48h: wrong sector count or size"
.done:
	PASS

DEFINE_PUTS

	align 4
dap:	db 0x10, 0
dap_count:
	dw 0
	dw 0, BUF		; buffer offset, segment
dap_lba:
	dq 0
edd_params:
	times 0x1e db 0

	times CODE_SECTORS * 512 - ($ - $$) db 0

; ---- data sectors ----
%assign n CODE_SECTORS
%rep DISK_SECTORS - CODE_SECTORS
	dd n
	times 508 db (n & 0xff) ^ 0x5a
%assign n n + 1
%endrep
