; mb_hello - the demo guest: greets on the serial port (COM1), reports the
; memory the loader described, and powers off with isa-debug-exit code 0.
; nestemu-test: status=1
%include "mb.inc"

%define COM1 0x3F8

test_main:
	; 115200 8N1, FIFOs on (what a real driver would do first)
	mov dx, COM1 + 3
	mov al, 0x80
	out dx, al			; DLAB
	mov dx, COM1
	mov al, 1
	out dx, al			; divisor 1
	mov dx, COM1 + 1
	xor al, al
	out dx, al
	mov dx, COM1 + 3
	mov al, 0x03
	out dx, al			; 8N1, DLAB off
	mov dx, COM1 + 2
	mov al, 0x07
	out dx, al			; FIFO on, cleared

	mov esi, greeting
	call serial_puts
	mov ebx, [mb_info_ptr]
	mov eax, [ebx + 8]		; mem_upper in KiB
	shr eax, 10
	add eax, 1			; + the first MiB
	call serial_dec
	mov esi, mib
	call serial_puts
	mov esi, bye
	call serial_puts
	EXIT 0

; serial_puts: ESI -> zero-terminated string, waits for THR empty.
serial_puts:
	lodsb
	test al, al
	jz .done
	mov ah, al
	mov dx, COM1 + 5
.wait:	in al, dx
	test al, 0x20
	jz .wait
	mov al, ah
	mov dx, COM1
	out dx, al
	jmp serial_puts
.done:	ret

; serial_dec: prints EAX in decimal.
serial_dec:
	mov edi, decbuf + 11
	mov byte [edi], 0
	mov ecx, 10
.next:	xor edx, edx
	div ecx
	add dl, '0'
	dec edi
	mov [edi], dl
	test eax, eax
	jnz .next
	mov esi, edi
	jmp serial_puts

greeting: db "Hello from a Multiboot guest running on nestemu!", 13, 10
	db "The loader reports ", 0
mib:	db " MiB of RAM.", 13, 10, 0
bye:	db "Powering off through isa-debug-exit.", 13, 10, 0
decbuf:	times 12 db 0
