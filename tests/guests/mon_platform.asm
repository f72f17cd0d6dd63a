; mon_platform - a guest for the monitor tests (tests/monitor/run.sh), not
; a stand-alone test (run.sh in this folder runs only boot_* and mb_*).
;
; Phase 1 programs every interrupt source and controller with values the
; monitor test looks for: the 8259 pair (vector bases 0x20/0x28, IMRs
; 0xFA/0xFC, IRQ 9 level in the ELCR), the 8254 (1 kHz rate generator),
; the RTC (64 Hz periodic interrupt), the LAPIC (TPR 0x10, SVR 0x1FF,
; periodic timer vector 0x50 every 100 us with divide by 16, LVT error
; 0xFE), the IOAPIC (pin 20 <- HPET timer 2, periodic every 2 ms, vector
; 0x60; pin 1 masked, level, active low, logical, lowest priority,
; vector 0x41, destination 3), the PIIX IDE function's BAR4 (I/O 0xC000),
; then writes 1 to READY (0x7000), the
; point a monitor watchpoint stops at.
; Phase 2 waits with HLT until every source interrupted often enough.
; Phase 3 stops the timers, enables the ACPI power button and waits; the
; monitor's system_powerdown raises PWRBTN_STS and the SCI (IRQ 9), and
; the handler's S5 request powers the machine off (exit status 0).
; Any check that fails exits through isa-debug-exit with an odd status.
%include "mb.inc"

%define APIC 0xFEE00000
%define IOAPIC 0xFEC00000
%define HPET 0xFED00000
%define READY 0x7000
%define PM1_STS 0x600
%define PM1_EN 0x602
%define PM1_CNT 0x604

; IOAPIC_RTE pin, low, high
%macro IOAPIC_RTE 3
	mov dword [IOAPIC], 0x11 + 2 * (%1)
	mov dword [IOAPIC + 0x10], %3
	mov dword [IOAPIC], 0x10 + 2 * (%1)
	mov dword [IOAPIC + 0x10], %2
%endmacro

; CMOS_WRITE reg, value
%macro CMOS_WRITE 2
	mov al, %1
	out 0x70, al
	mov al, %2
	out 0x71, al
%endmacro

test_main:
	SETGATE32 0x20, isr_pit, 0x8E
	SETGATE32 0x28, isr_rtc, 0x8E
	SETGATE32 0x29, isr_sci, 0x8E
	SETGATE32 0x50, isr_lapic, 0x8E
	SETGATE32 0x60, isr_hpet, 0x8E
	SETGATE32 0xFF, isr_spurious, 0x8E

	; ---- 8259 pair: vectors 0x20 / 0x28, cascade on IR2 ----
	PIC_INIT 0x20, 0x28
	mov al, 0xFA			; IRQ 0 and the cascade
	out 0x21, al
	mov al, 0xFC			; IRQ 8 (RTC) and IRQ 9 (SCI)
	out 0xA1, al
	mov dx, 0x4D1
	mov al, 0x02			; IRQ 9 level-triggered
	out dx, al

	; ---- LAPIC: enabled, TPR, periodic timer, LVT error ----
	mov dword [APIC + 0xF0], 0x1FF
	mov dword [APIC + 0x80], 0x10
	mov dword [APIC + 0x370], 0xFE
	mov dword [APIC + 0x3E0], 0x3		; divide by 16
	mov dword [APIC + 0x320], 0x20050	; periodic, vector 0x50
	mov dword [APIC + 0x380], 6250		; 6250 * 16 ns = 100 us

	; ---- IOAPIC ----
	IOAPIC_RTE 20, 0x60, 0
	IOAPIC_RTE 1, 0x1A941, 0x03000000

	; ---- HPET timer 2: periodic, 2 ms, IOAPIC pin 20 ----
	mov dword [HPET + 0x10], 0
	mov dword [HPET + 0xF0], 0
	mov dword [HPET + 0xF4], 0
	mov dword [HPET + 0x140], (20 << 9) | 0x14C	; route 20, 32-bit, VAL_SET, PERIODIC, INT_ENB
	mov dword [HPET + 0x148], 200000
	mov dword [HPET + 0x10], 1

	; ---- 8254 counter 0: mode 2, 1 kHz ----
	mov al, 0x34
	out 0x43, al
	mov al, 1193 & 0xFF
	out 0x40, al
	mov al, 1193 >> 8
	out 0x40, al

	; ---- RTC: periodic interrupt at 64 Hz ----
	CMOS_WRITE 0x0A, 0x2A
	mov al, 0x0B
	out 0x70, al
	in al, 0x71
	or al, 0x40			; PIE
	mov ah, al
	CMOS_WRITE 0x0B, ah
	mov al, 0x0C
	out 0x70, al
	in al, 0x71

	; ---- PCI: the PIIX IDE bus-master block (BAR4) at I/O 0xC000 ----
	mov dx, 0xCF8
	mov eax, 0x80000920		; 00:01.1, register 0x20 (BAR4)
	out dx, eax
	mov dx, 0xCFC
	mov eax, 0xC001
	out dx, eax
	mov dx, 0xCF8
	mov eax, 0x80000904		; 00:01.1, command
	out dx, eax
	mov dx, 0xCFC
	mov ax, 1			; I/O space
	out dx, ax

	mov dword [READY], 1		; the monitor test's watchpoint

	; ---- phase 2: let everything tick ----
	sti
.wait:
	hlt
	cmp dword [pit_ticks], 400
	jb .wait
	cmp dword [lapic_ticks], 4000
	jb .wait
	cmp dword [rtc_ticks], 24
	jb .wait
	cmp dword [hpet_ticks], 200
	jb .wait
	cli
	CHECK dword [spurious], 0, 1, "spurious interrupt"
	SAY "mon_platform: every timer ticked"

	; ---- phase 3: timers off, wait for the power button ----
	mov al, 0x30			; counter 0, mode 0, no count: stopped
	out 0x43, al
	mov dword [APIC + 0x380], 0
	mov dword [HPET + 0x10], 0
	CMOS_WRITE 0x0B, 0x02		; 24-hour, no interrupts
	mov al, 0x0C
	out 0x70, al
	in al, 0x71
	mov dx, PM1_CNT
	in ax, dx
	test al, 1
	jnz .sci_on
	FAIL 2, "SCI_EN is not set"
.sci_on:
	mov dx, PM1_EN
	mov ax, 0x0100			; PWRBTN_EN
	out dx, ax
	SAY "mon_platform: waiting for the power button"
	mov dword [READY], 2
	sti
.idle:
	hlt
	cmp dword [sci_count], 0
	je .idle
	cli
	SAY "mon_platform: power button; entering S5"
	mov dx, PM1_CNT
	mov ax, 0x2001			; SLP_EN, SLP_TYP 0 (S5), SCI_EN
	out dx, ax
.off:
	hlt
	jmp .off

isr_pit:
	inc dword [pit_ticks]
	push eax
	mov al, 0x20
	out 0x20, al
	pop eax
	iretd

isr_rtc:
	push eax
	mov al, 0x0C
	out 0x70, al
	in al, 0x71
	test al, 0x40
	jz .eoi
	inc dword [rtc_ticks]
.eoi:
	mov al, 0x20
	out 0xA0, al
	out 0x20, al
	pop eax
	iretd

isr_sci:
	push eax
	push edx
	mov dx, PM1_STS
	in ax, dx
	test ax, 0x0100
	jz .eoi
	mov ax, 0x0100			; write 1 to clear PWRBTN_STS
	out dx, ax
	inc dword [sci_count]
.eoi:
	mov al, 0x20
	out 0xA0, al
	out 0x20, al
	pop edx
	pop eax
	iretd

isr_lapic:
	inc dword [lapic_ticks]
	mov dword [APIC + 0xB0], 0
	iretd

isr_hpet:
	inc dword [hpet_ticks]
	mov dword [APIC + 0xB0], 0
	iretd

isr_spurious:
	inc dword [spurious]
	iretd

	align 4
pit_ticks:	dd 0
rtc_ticks:	dd 0
lapic_ticks:	dd 0
hpet_ticks:	dd 0
sci_count:	dd 0
spurious:	dd 0
