; mb_vgatext - writes two lines into the VGA text buffer at 0xB8000 (the
; card starts in text mode 3 on a direct boot, as a boot loader leaves
; it), checks they read back, and halts for good: tests/monitor/run.sh
; then reads them with "info vga" and checks their colours in a
; screendump.
; nestemu-test: status=0
%include "mb.inc"

test_main:
	mov esi, line1
	mov edi, 0xB8000
	mov ah, 0x1E			; yellow on blue
	call put
	mov esi, line2
	mov edi, 0xB8000 + 160
	mov ah, 0x4F			; white on red
	call put
	CHECK word [0xB8000], 0x1E00 + 'n', 1, "first cell reads back"
	CHECK byte [0xB8000 + 160 + 1], 0x4F, 2, "second line's attribute reads back"
	cli
	hlt

; put: ESI -> zero-terminated string, EDI -> text cell, AH = attribute.
put:	lodsb
	test al, al
	jz .done
	stosw
	jmp put
.done:	ret

line1:	db "nestemu VGA text", 0
line2:	db "second line", 0
