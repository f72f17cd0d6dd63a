; nestemu-test: args=-serial none -serial none -serial none
; mb_serial - the four 16550A UARTs (COM1 0x3F8/IRQ 4, COM2 0x2F8/IRQ 3,
; COM3 0x3E8/IRQ 4, COM4 0x2E8/IRQ 3): every scratch register answers;
; COM2 and COM4 in loopback mode each raise IRQ 3 through the 8259 (one
; line, shared wired-OR), COM3 raises IRQ 4 while COM1 stays quiet; then
; "hello from COM2" goes out on COM2. With "echo" on the command line
; (-append echo) the guest then waits for one byte on COM2 and answers
; "echo:<byte>" (tests/cli/run.sh drives this through file, TCP and Unix
; socket back ends).
%include "mb.inc"

%define COM1 0x3F8
%define COM2 0x2F8
%define COM3 0x3E8
%define COM4 0x2E8

; SCRATCH base, code: the scratch register holds a value
%macro SCRATCH 2
	mov dx, %1 + 7
	mov al, %2 + 0x40
	out dx, al
	in al, dx
	CHECK al, %2 + 0x40, %2, "scratch register of a COM port"
%endmacro

; LOOPBACK base, counter, code, "why": loopback + OUT2, receive interrupt
; on, one byte sent; waits for the interrupt, which reads the byte.
%macro LOOPBACK 4
	mov dx, %1 + 4
	mov al, 0x18			; LOOP | OUT2
	out dx, al
	mov dx, %1 + 1
	mov al, 0x01			; IER: received data
	out dx, al
	mov dx, %1
	mov al, 0x5A
	out dx, al
	mov ecx, 100000
	sti
%%w:	cmp dword [%2], 1
	jae %%done
	dec ecx
	jnz %%w
%%done:	cli
	CHECK dword [%2], 1, %3, %4
	mov dx, %1 + 1
	xor al, al
	out dx, al
	mov dx, %1 + 4
	mov al, 0x08			; OUT2, loopback off
	out dx, al
%endmacro

test_main:
	SAY "mb_serial: COM1-COM4"
	SCRATCH COM1, 1
	SCRATCH COM2, 2
	SCRATCH COM3, 3
	SCRATCH COM4, 4

	SETGATE32 0x23, isr_irq3, 0x8E
	SETGATE32 0x24, isr_irq4, 0x8E
	SETGATE32 0x27, isr_spurious, 0x8E
	PIC_INIT 0x20, 0x28
	mov al, 0xE7			; IRQ 3 and 4
	out 0x21, al
	mov al, 0xFF
	out 0xA1, al

	mov dword [rx_port], COM2
	LOOPBACK COM2, irq3_count, 5, "COM2 loopback byte did not raise IRQ 3"
	CHECK byte [rx_byte], 0x5A, 6, "COM2 loopback byte"
	mov dword [rx_port], COM4
	LOOPBACK COM4, irq3b_count, 7, "COM4 loopback byte did not raise IRQ 3"
	mov dword [rx_port], COM3
	LOOPBACK COM3, irq4_count, 8, "COM3 loopback byte did not raise IRQ 4"
	CHECK dword [irq3_count], 1, 9, "IRQ 3 came more than once"

	mov esi, hello
	call com2_puts

	; -append echo: wait for one byte on COM2 and answer it
	mov ebx, [mb_info_ptr]
	test dword [ebx], 4
	jz .done
	mov esi, [ebx + 16]
.scan:	cmp byte [esi], 0
	je .done
	cmp dword [esi], 'echo'
	je .echo
	inc esi
	jmp .scan
.echo:
	mov dx, COM2 + 5
.wait:	in al, dx
	test al, 1
	jz .wait
	mov dx, COM2
	in al, dx
	mov [echo_msg + 5], al
	mov esi, echo_msg
	call com2_puts
.done:
	PASS

; ESI -> zero-terminated string, written to COM2 when THR is empty.
com2_puts:
	mov dx, COM2 + 5
.thre:	in al, dx
	test al, 0x20
	jz .thre
	lodsb
	test al, al
	jz .end
	mov dx, COM2
	out dx, al
	jmp com2_puts
.end:	ret

isr_irq3:
	push eax
	push edx
	mov edx, [rx_port]
	in al, dx
	mov [rx_byte], al
	cmp edx, COM4
	je .com4
	inc dword [irq3_count]
	jmp .eoi
.com4:	inc dword [irq3b_count]
.eoi:	mov al, 0x20
	out 0x20, al
	pop edx
	pop eax
	iret

isr_irq4:
	push eax
	push edx
	mov edx, [rx_port]
	in al, dx
	inc dword [irq4_count]
	mov al, 0x20
	out 0x20, al
	pop edx
	pop eax
	iret

isr_spurious:
	iret

hello:		db "hello from COM2", 13, 10, 0
echo_msg:	db "echo:?", 13, 10, 0
	align 4
rx_port:	dd 0
rx_byte:	dd 0
irq3_count:	dd 0
irq3b_count:	dd 0
irq4_count:	dd 0
