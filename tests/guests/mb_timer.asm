; mb_timer - the legacy timer path end to end: programs the 8259 pair and
; the 8254 (1 kHz rate generator on IRQ 0), sleeps in HLT between ticks,
; reads counter 0 back, then enables the RTC's update-ended interrupt
; (IRQ 8 through the slave) and checks that two updates are one second
; of PIT ticks apart. -icount makes the run reproducible and fast (the
; clock jumps over the halts).
; nestemu-test: args=-icount 2
%include "mb.inc"

%define PIT_COUNT 1193		; 1193182 Hz / 1193 = 1000.15 Hz

test_main:
	SETGATE32 0x20, irq0_handler, 0x8E
	SETGATE32 0x28, irq8_handler, 0x8E

	; 8259 pair: vectors 0x20 / 0x28, cascade on IR2, 8086 mode
	PIC_INIT 0x20, 0x28
	mov al, 0xFE			; IRQ 0 only for now
	out 0x21, al
	mov al, 0xFF
	out 0xA1, al
	in al, 0x21
	cmp al, 0xFE
	je .imr_ok
	FAIL 1, "IMR does not read back"
.imr_ok:

	; 8254 counter 0: LSB/MSB, mode 2
	mov al, 0x34
	out 0x43, al
	mov al, PIT_COUNT & 0xFF
	out 0x40, al
	mov al, PIT_COUNT >> 8
	out 0x40, al

	sti
.wait10:
	hlt
	cmp dword [ticks], 10
	jb .wait10
	SAY "10 PIT ticks"

	; counter latch: the count must lie in 1..PIT_COUNT
	mov al, 0x00
	out 0x43, al
	in al, 0x40
	mov ah, al
	in al, 0x40
	xchg al, ah
	test ax, ax
	jz .bad_count
	cmp ax, PIT_COUNT
	jbe .count_ok
.bad_count:
	FAIL 2, "PIT counter 0 out of range"
.count_ok:

	; read-back status of counter 0: OUT, loaded, LSB/MSB, mode 2
	mov al, 0xE2
	out 0x43, al
	in al, 0x40
	and al, 0x7F
	cmp al, 0x34
	je .status_ok
	FAIL 3, "PIT read-back status"
.status_ok:

	; RTC: update-ended interrupt on IRQ 8
	cli
	mov al, 0x0B
	out 0x70, al
	in al, 0x71
	or al, 0x10			; UIE
	mov ah, al
	mov al, 0x0B
	out 0x70, al
	mov al, ah
	out 0x71, al
	mov al, 0x0C
	out 0x70, al
	in al, 0x71			; clear pending flags
	mov al, 0xFA			; IRQ 0 and the cascade
	out 0x21, al
	mov al, 0xFE			; IRQ 8
	out 0xA1, al
	sti
.wait_rtc1:
	hlt
	cmp dword [rtc_count], 1
	jb .wait_rtc1
	mov eax, [rtc_ticks]
	mov [first_update], eax
.wait_rtc2:
	hlt
	cmp dword [rtc_count], 2
	jb .wait_rtc2
	cli
	SAY "two RTC updates"

	mov al, [rtc_c]
	and al, 0xB0			; PF may be set too (rate 6 runs without PIE)
	cmp al, 0x90			; IRQF | UF, no alarm
	je .c_ok
	FAIL 4, "RTC register C should show IRQF and UF"
.c_ok:
	mov eax, [rtc_ticks]
	sub eax, [first_update]
	cmp eax, 995
	jb .bad_second
	cmp eax, 1005
	jbe .second_ok
.bad_second:
	call put_hex32			; the ticks counted, for the log
	FAIL 5, "one RTC second is not 1000 PIT ticks"
.second_ok:
	cmp dword [spurious], 0
	je .no_spurious
	FAIL 6, "unexpected interrupt"
.no_spurious:
	PASS

irq0_handler:
	inc dword [ticks]
	push eax
	mov al, 0x20
	out 0x20, al			; non-specific EOI
	pop eax
	iretd

irq8_handler:
	push eax
	mov al, 0x0C
	out 0x70, al
	in al, 0x71			; reading C acknowledges the RTC
	mov [rtc_c], al
	test al, 0x10
	jz .not_update
	mov eax, [ticks]
	mov [rtc_ticks], eax
	inc dword [rtc_count]
	jmp .eoi
.not_update:
	inc dword [spurious]
.eoi:
	mov al, 0x20
	out 0xA0, al
	out 0x20, al
	pop eax
	iretd

	align 4
ticks:		dd 0
rtc_count:	dd 0
rtc_ticks:	dd 0
first_update:	dd 0
rtc_c:		db 0
	align 4
spurious:	dd 0


