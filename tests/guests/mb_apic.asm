; nestemu-test: args=-smp 2
; mb_apic - the interrupt platform from a Multiboot guest (SDM Vol. 3
; ch. 10): LAPIC timer one-shot, periodic and TSC-deadline interrupts
; waited for with HLT; a self-IPI, its ISR bit and EOI; the TPR holding
; an IPI back; an HPET one-shot routed through IOAPIC pin 20 (edge) and
; an HPET level interrupt through pin 21 whose EOI clears remote IRR;
; INIT-SIPI-SIPI starting the second vCPU in real mode.
%include "mb.inc"

%define APIC 0xFEE00000
%define IOAPIC 0xFEC00000
%define HPET 0xFED00000
%define AP_FLAG 0x9000

; IOAPIC_RTE pin, low, high
%macro IOAPIC_RTE 3
	mov dword [IOAPIC], 0x11 + 2 * (%1)
	mov dword [IOAPIC + 0x10], %3
	mov dword [IOAPIC], 0x10 + 2 * (%1)
	mov dword [IOAPIC + 0x10], %2
%endmacro

; WAIT_FOR counter, value, code, "why": HLT with interrupts on until
; [counter] >= value.
%macro WAIT_FOR 4
	sti
%%w:	cmp dword [%1], %2
	jae %%done
	hlt
	jmp %%w
%%done:	cli
	CHECK dword [%1], %2, %3, %4
%endmacro

test_main:
	SAY "mb_apic: LAPIC timer, IPIs, IOAPIC, HPET, SMP"
	mov ecx, 0x1B
	rdmsr
	and eax, 0xFFFFF900
	CHECK eax, 0xFEE00900, 1, "IA32_APIC_BASE is not 0xFEE00000 | EN | BSP"
	mov eax, [APIC + 0x30]
	CHECK eax, 0x01050014, 2, "LAPIC version register"
	SETGATE32 0x50, isr_timer, 0x8E
	SETGATE32 0x51, isr_ipi, 0x8E
	SETGATE32 0x52, isr_edge, 0x8E
	SETGATE32 0x53, isr_level, 0x8E
	SETGATE32 0x7F, isr_spurious, 0x8E
	mov dword [APIC + 0x350], 0x10000	; LINT0 masked: no 8259 traffic
	mov dword [APIC + 0xF0], 0x17F		; software-enabled, spurious 0x7F

	; ---- timer: one-shot ----
	mov dword [APIC + 0x3E0], 0xB		; divide by 1
	mov dword [APIC + 0x320], 0x50		; one-shot, vector 0x50
	mov dword [APIC + 0x380], 200000
	WAIT_FOR timer_count, 1, 3, "one-shot timer interrupt"
	mov eax, [APIC + 0x390]
	CHECK eax, 0, 4, "one-shot current count is not 0 after expiry"

	; ---- timer: periodic ----
	mov dword [timer_count], 0
	mov dword [APIC + 0x320], 0x20050	; periodic
	mov dword [APIC + 0x380], 100000
	WAIT_FOR timer_count, 5, 5, "periodic timer interrupts"
	mov dword [APIC + 0x380], 0		; stop

	; ---- timer: TSC deadline (when CPUID.1:ECX[24]) ----
	mov eax, 1
	cpuid
	bt ecx, 24
	jnc .no_deadline
	mov dword [timer_count], 0
	mov dword [APIC + 0x320], 0x40050	; TSC-deadline mode
	rdtsc
	add eax, 100000
	adc edx, 0
	mov ecx, 0x6E0
	wrmsr
	WAIT_FOR timer_count, 1, 6, "TSC-deadline interrupt"
	mov ecx, 0x6E0
	rdmsr
	or eax, edx
	CHECK eax, 0, 7, "IA32_TSC_DEADLINE not cleared after firing"
	mov dword [APIC + 0x320], 0x10050	; masked one-shot
.no_deadline:

	; ---- self-IPI, ISR, EOI ----
	sti
	mov dword [APIC + 0x300], 0x44051	; shorthand self, fixed, vector 0x51
	nop
	nop
	cli
	CHECK dword [ipi_count], 1, 8, "self-IPI not delivered"
	mov eax, [isr_seen]
	bt eax, 0x51 - 0x40
	jc .isr_ok
	FAIL 9, "ISR bit of vector 0x51 not set in its handler"
.isr_ok:
	mov eax, [APIC + 0x120]
	CHECK eax, 0, 10, "ISR not cleared by EOI"

	; ---- TPR holds a lower-class interrupt back ----
	mov dword [APIC + 0x80], 0x60
	sti
	mov dword [APIC + 0x300], 0x44051
	nop
	nop
	cli
	CHECK dword [ipi_count], 1, 11, "IPI of class 5 delivered with TPR 0x60"
	mov eax, [APIC + 0xA0]
	CHECK eax, 0x60, 12, "PPR is not the TPR"
	mov eax, [APIC + 0x220]
	bt eax, 0x51 - 0x40
	jc .irr_ok
	FAIL 13, "IRR bit of the held-back IPI not set"
.irr_ok:
	sti
	mov dword [APIC + 0x80], 0
	nop
	nop
	cli
	CHECK dword [ipi_count], 2, 14, "lowering the TPR did not release the IPI"

	; ---- HPET timer 2 -> IOAPIC pin 20 (edge) -> vector 0x52 ----
	mov eax, [HPET + 4]
	CHECK eax, 10000000, 15, "HPET period is not 10 ns"
	IOAPIC_RTE 20, 0x52, 0
	mov dword [HPET + 0x10], 0		; halt the counter
	mov dword [HPET + 0xF0], 0
	mov dword [HPET + 0xF4], 0
	mov dword [HPET + 0x140], (20 << 9) | 4	; route 20, interrupt enabled, edge
	mov dword [HPET + 0x148], 1000		; 10 us
	mov dword [HPET + 0x14C], 0
	mov dword [HPET + 0x10], 1		; run
	WAIT_FOR edge_count, 1, 16, "HPET interrupt through IOAPIC pin 20"

	; ---- HPET timer 1 -> IOAPIC pin 21 (level) -> vector 0x53 ----
	IOAPIC_RTE 21, 0x8053, 0
	mov dword [HPET + 0x120], (21 << 9) | 4 | 2	; route 21, enabled, level
	mov eax, [HPET + 0xF0]
	add eax, 1000
	mov [HPET + 0x128], eax
	mov dword [HPET + 0x12C], 0
	WAIT_FOR level_count, 1, 17, "level-triggered HPET interrupt"
	mov dword [IOAPIC], 0x10 + 2 * 21
	mov eax, [IOAPIC + 0x10]
	bt eax, 14
	jnc .rirr_ok
	FAIL 18, "remote IRR still set after EOI"
.rirr_ok:
	CHECK dword [level_count], 1, 19, "level interrupt repeated after the source was cleared"
	mov dword [HPET + 0x10], 0

	; ---- SMP: INIT-SIPI-SIPI to APIC ID 1 ----
	mov esi, ap_tramp
	mov edi, 0x8000
	mov ecx, ap_tramp_end - ap_tramp
	rep movsb
	mov dword [AP_FLAG], 0
	mov dword [APIC + 0x310], 1 << 24
	mov dword [APIC + 0x300], 0xC500	; INIT, level, assert
	mov dword [APIC + 0x300], 0x8500	; INIT de-assert
	mov dword [APIC + 0x300], 0x4608	; SIPI, vector 8 -> 0x8000
	mov dword [APIC + 0x300], 0x4608
	mov ecx, 20000000
.wait_ap:
	cmp dword [AP_FLAG], 0x12345678
	je .ap_ok
	pause
	dec ecx
	jnz .wait_ap
	FAIL 20, "the AP did not start"
.ap_ok:
	mov eax, [AP_FLAG + 4]
	CHECK eax, 0x0800, 21, "the AP did not start at CS = 0x0800"
	PASS

isr_timer:
	inc dword [timer_count]
	mov dword [APIC + 0xB0], 0
	iret

isr_ipi:
	push eax
	mov eax, [APIC + 0x120]			; ISR bits 0x40-0x5F
	mov [isr_seen], eax
	pop eax
	inc dword [ipi_count]
	mov dword [APIC + 0xB0], 0
	iret

isr_edge:
	inc dword [edge_count]
	mov dword [APIC + 0xB0], 0
	iret

isr_level:
	inc dword [level_count]
	mov dword [HPET + 0x20], 2		; clear timer 1's level status
	mov dword [APIC + 0xB0], 0		; EOI, broadcast to the IOAPIC
	iret

isr_spurious:
	FAIL 30, "spurious interrupt"

	bits 16
ap_tramp:
	xor ax, ax
	mov ds, ax
	mov ax, cs
	mov [AP_FLAG + 4], ax
	mov dword [AP_FLAG], 0x12345678		; last: the BSP reads the CS after it
	cli
.halt:	hlt
	jmp .halt
ap_tramp_end:
	bits 32

	align 4
timer_count:	dd 0
ipi_count:	dd 0
edge_count:	dd 0
level_count:	dd 0
isr_seen:	dd 0
