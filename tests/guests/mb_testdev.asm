; nestemu-test: args=-device pc-testdev
; mb_testdev - pc-testdev as kvm-unit-tests' x86 kernels use it: the
; 32-bit scratch register at 0xE0 and its byte view at 0xE8 (0xE9 stays
; the debug console), the flush-page port 0xE4, IRQ lines at 0x2000 + n
; raised and lowered by the guest and taken through the 8259 (ISA IRQ 5,
; edge) and through the IOAPIC (pin 10 level-triggered with remote IRR,
; pin 17 edge, a GSI the 8259 does not have), and the 64 KiB RAM-like
; window at 0xFF000000 at every access size and with REP MOVS/CMPS.
%include "mb.inc"

%define APIC 0xFEE00000
%define IOAPIC 0xFEC00000
%define IOMEM 0xFF000000
%define TD_IRQ 0x2000

%macro IOAPIC_RTE 3
	mov dword [IOAPIC], 0x11 + 2 * (%1)
	mov dword [IOAPIC + 0x10], %3
	mov dword [IOAPIC], 0x10 + 2 * (%1)
	mov dword [IOAPIC + 0x10], %2
%endmacro

; LINE n, level: drives testdev IRQ line n.
%macro LINE 2
	mov dx, TD_IRQ + %1
	mov al, %2
	out dx, al
%endmacro

; WAIT_FOR counter, value, code, "why"
%macro WAIT_FOR 4
	mov ecx, 100000
	sti
%%w:	cmp dword [%1], %2
	jae %%done
	dec ecx
	jnz %%w
%%done:	cli
	CHECK dword [%1], %2, %3, %4
%endmacro

test_main:
	SAY "mb_testdev: pc-testdev ports, IRQ lines, iomem"

	; ---- scratch register ----
	mov eax, 0x12345678
	out 0xE0, eax
	in eax, 0xE0
	CHECK eax, 0x12345678, 1, "scratch register does not read back (is -device pc-testdev given?)"
	in al, 0xE1
	CHECK al, 0x56, 2, "byte 1 of the scratch register"
	in ax, 0xE2
	CHECK ax, 0x1234, 3, "word at 0xE2"
	mov al, 0xAB
	out 0xEA, al
	in eax, 0xE8
	CHECK eax, 0x12AB5678, 4, "dword through the byte view at 0xE8"
	mov ax, 0xCDEF
	out 0xE8, ax
	in eax, 0xE0
	CHECK eax, 0x12ABCDEF, 5, "word write at 0xE8"
	in al, 0xE9
	CHECK al, 0xE9, 6, "port 0xE9 is no longer the debug console"

	; ---- flush page: code on the flushed page keeps running ----
	mov eax, flush_target
	out 0xE4, eax
	in eax, 0xE4
	CHECK eax, 0, 7, "flush port reads 0"
	mov byte [flush_target + 1], 42		; self-modifying: mov al, 42
	mov eax, flush_target
	out 0xE4, eax
	call flush_target
	CHECK al, 42, 8, "code on the flushed page"

	; ---- ISA IRQ 5 through the 8259 (edge) ----
	SETGATE32 0x25, isr_pic5, 0x8E
	SETGATE32 0x27, isr_spurious_pic, 0x8E
	PIC_INIT 0x20, 0x28
	mov al, 0xDF			; IRQ 5 only
	out 0x21, al
	mov al, 0xFF
	out 0xA1, al
	LINE 5, 1
	WAIT_FOR pic_count, 1, 9, "IRQ 5 raised through 0x2005 did not arrive through the 8259"
	LINE 5, 1			; still high: no new edge
	mov ecx, 1000
	sti
.no_edge:
	loop .no_edge
	cli
	CHECK dword [pic_count], 1, 10, "a held line raised a second 8259 interrupt"
	LINE 5, 0
	LINE 5, 1
	WAIT_FOR pic_count, 2, 11, "a new edge on IRQ 5 did not interrupt"
	LINE 5, 0
	mov al, 0xFF
	out 0x21, al

	; ---- IOAPIC: pin 10 level, pin 17 edge ----
	SETGATE32 0x60, isr_level, 0x8E
	SETGATE32 0x61, isr_edge, 0x8E
	SETGATE32 0x7F, isr_spurious, 0x8E
	mov dword [APIC + 0x350], 0x10000	; LINT0 masked: no 8259 traffic
	mov dword [APIC + 0xF0], 0x17F		; software-enabled, spurious 0x7F
	IOAPIC_RTE 10, 0x8060, 0		; level, active high, vector 0x60, APIC 0
	IOAPIC_RTE 17, 0x0061, 0		; edge, vector 0x61
	LINE 10, 1
	WAIT_FOR level_count, 1, 12, "IOAPIC pin 10 (level) did not interrupt"
	CHECK dword [level_count], 1, 13, "level interrupt repeated after the line dropped"
	mov dword [IOAPIC], 0x10 + 2 * 10
	mov eax, [IOAPIC + 0x10]
	test eax, 0x4000
	jz .rirr_ok
	FAIL 14, "remote IRR still set after EOI"
.rirr_ok:
	LINE 17, 1
	WAIT_FOR edge_count, 1, 15, "IOAPIC pin 17 (edge, GSI 17) did not interrupt"
	LINE 17, 0

	; ---- iomem: 64 KiB of RAM-like MMIO at 0xFF000000 ----
	mov dword [IOMEM], 0xDEADBEEF
	CHECK dword [IOMEM], 0xDEADBEEF, 16, "iomem dword"
	CHECK word [IOMEM + 2], 0xDEAD, 17, "iomem word inside a dword"
	mov byte [IOMEM + 0xFFFF], 0x5A
	CHECK byte [IOMEM + 0xFFFF], 0x5A, 18, "iomem last byte"
	mov word [IOMEM + 0x101], 0x1234	; unaligned
	CHECK byte [IOMEM + 0x102], 0x12, 19, "iomem unaligned word"
	mov eax, cr4
	or eax, 0x200				; OSFXSR: SSE available
	mov cr4, eax
	movq xmm0, [pattern]
	movq [IOMEM + 0x200], xmm0
	CHECK dword [IOMEM + 0x204], 0x89ABCDEF, 20, "iomem qword (MOVQ)"
	mov esi, 0x100000			; our own code: 4 KiB of varied bytes
	mov edi, IOMEM + 0x1000
	mov ecx, 1024
	cld
	rep movsd
	mov esi, 0x100000
	mov edi, IOMEM + 0x1000
	mov ecx, 1024
	repe cmpsd
	CHECK ecx, 0, 21, "REP MOVSD into iomem does not compare equal"
	mov dword [IOMEM + 0x10000], 0x11111111	; just past the window
	CHECK dword [IOMEM], 0xDEADBEEF, 22, "a write past the window wrapped into it"
	PASS

isr_pic5:
	inc dword [pic_count]
	push eax
	mov al, 0x20
	out 0x20, al
	pop eax
	iret

isr_spurious_pic:
	iret

isr_level:
	push eax
	push edx
	inc dword [level_count]
	LINE 10, 0
	mov dword [APIC + 0xB0], 0
	pop edx
	pop eax
	iret

isr_edge:
	inc dword [edge_count]
	mov dword [APIC + 0xB0], 0
	iret

isr_spurious:
	iret

	align 4096
flush_target:
	mov al, 0
	ret

	align 8
pattern:	dq 0x89ABCDEF01234567
pic_count:	dd 0
level_count:	dd 0
edge_count:	dd 0

