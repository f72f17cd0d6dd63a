; mb_vga13 - programs the VGA for mode 13h (320x200, 256 colours, chain-4)
; through its registers alone (no BIOS), loads five DAC colours, draws four
; quadrants (red, green, blue, white), checks one pixel reads back through
; the window, and halts for good: tests/monitor/run.sh then takes a
; screendump and checks the quadrants' colours in the PNG.
; nestemu-test: status=0
%include "mb.inc"

%define WIDTH 320

test_main:
	mov dx, 0x3C2
	mov al, 0x63			; colour CRTC at 0x3Dx, 25 MHz clock
	out dx, al
	mov dx, 0x3C4			; sequencer 0-4
	mov esi, seq
	mov ecx, 5
	call index_out
	mov dx, 0x3D4			; CRTC 0-0x18 (CR11 bit 7 locks 0-7 after)
	mov esi, crtc
	mov ecx, 0x19
	call index_out
	mov dx, 0x3CE			; graphics controller 0-8
	mov esi, gc
	mov ecx, 9
	call index_out

	mov dx, 0x3DA			; attribute controller: reset the flip-flop
	in al, dx
	mov dx, 0x3C0
	xor ecx, ecx
.attr:	mov al, cl
	out dx, al			; index
	mov al, [attr + ecx]
	out dx, al			; data
	inc ecx
	cmp ecx, 0x15
	jb .attr
	mov al, 0x20			; palette address source: show the picture
	out dx, al

	mov dx, 0x3C8			; DAC from index 0
	xor al, al
	out dx, al
	mov dx, 0x3C9
	mov esi, dac
	mov ecx, 5 * 3
.dac:	lodsb
	out dx, al
	loop .dac

	; Quadrants: top-left 1, top-right 2, bottom-left 3, bottom-right 4.
	mov edi, 0xA0000
	xor ebx, ebx			; row
.row:	mov al, 1
	cmp ebx, 100
	jb .top
	mov al, 3
.top:	mov ecx, WIDTH / 2
	rep stosb
	inc al
	mov ecx, WIDTH / 2
	rep stosb
	inc ebx
	cmp ebx, 200
	jb .row

	CHECK byte [0xA0000 + 150 * WIDTH + 200], 4, 1, "pixel (200,150) reads back colour 4"
	CHECK byte [0xA0000 + 10 * WIDTH + 10], 1, 2, "pixel (10,10) reads back colour 1"
	cli
	hlt

; index_out: writes ECX bytes from ESI to the index/data pair at DX, DX+1.
index_out:
	xor ebx, ebx
.next:	mov al, bl
	out dx, al
	inc dx
	lodsb
	out dx, al
	dec dx
	inc ebx
	cmp ebx, ecx
	jb .next
	ret

seq:	db 0x03, 0x01, 0x0F, 0x00, 0x0E
crtc:	db 0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00
	db 0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF
gc:	db 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF
attr:	db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D
	db 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00
dac:	db 0, 0, 0,  63, 0, 0,  0, 63, 0,  0, 0, 63,  63, 63, 63
