; mb_tss - 32-bit hardware task switches (SDM Vol. 3 7.3): JMP to a TSS
; descriptor and back (busy bits, saved EIP and registers), and CALL to a
; task, which sets NT and the back link, returned from with IRET.
%include "mb.inc"

%define TSS_A 0x290000
%define TSS_B 0x291000

; SET_TSS_DESC offset, base: 32-bit available TSS descriptor in the GDT
; PREP_B eip: a fresh task B state
%macro PREP_B 1
	mov edi, TSS_B
	mov ecx, 104 / 4
	xor eax, eax
	rep stosd
	mov dword [TSS_B + 0x20], %1		; EIP
	mov dword [TSS_B + 0x24], 0x2		; EFLAGS
	mov dword [TSS_B + 0x28], 0xB0B0	; EAX
	mov dword [TSS_B + 0x38], 0x250000	; ESP
	mov dword [TSS_B + 0x48], 0x10		; ES
	mov dword [TSS_B + 0x4C], 0x08		; CS
	mov dword [TSS_B + 0x50], 0x10		; SS
	mov dword [TSS_B + 0x54], 0x10		; DS
	mov dword [TSS_B + 0x58], 0x10		; FS
	mov dword [TSS_B + 0x5C], 0x10		; GS
	mov word [TSS_B + 0x66], 104
	mov eax, cr3
	mov [TSS_B + 0x1C], eax
%endmacro

test_main:
	SAY "mb_tss: task switches"
	mov edi, TSS_A
	mov ecx, 104 / 4
	xor eax, eax
	rep stosd
	mov word [TSS_A + 0x66], 104
	SET_TSS_DESC 0x48, TSS_A
	SET_TSS_DESC 0x50, TSS_B
	mov ax, 0x48
	ltr ax
	CHECK byte [gdt + 0x48 + 5], 0x8B, 1, "LTR did not mark TSS A busy"

	; JMP to task B and back
	PREP_B task_b
	mov ebx, 0x1111
	mov esi, 0x2222
	jmp 0x50:0
.back_from_b:
	CHECK ebx, 0x1111, 2, "EBX not restored from TSS A"
	CHECK esi, 0x2222, 3, "ESI not restored from TSS A"
	CHECK esp, 0x280000, 4, "ESP not restored from TSS A"
	str ax
	CHECK ax, 0x48, 5, "TR after switching back"
	CHECK byte [gdt + 0x48 + 5], 0x8B, 6, "TSS A not busy after the switch back"
	CHECK byte [gdt + 0x50 + 5], 0x89, 7, "TSS B still busy after JMP away"
	CHECK dword [TSS_A + 0x20], .back_from_b, 8, "EIP saved in TSS A"
	CHECK dword [TSS_B + 0x34], 0xBBBB, 9, "EBX saved in TSS B"

	; CALL to task B: nested, IRET returns
	PREP_B task_b2
	pushfd
	pop eax
	test eax, 0x4000
	jz .nt_clear
	FAIL 10, "NT set before the CALL"
.nt_clear:
	call 0x50:0
.back_from_call:
	CHECK dword [TSS_B + 0x2C], 0xC0C0, 11, "ECX of the called task saved in its TSS"
	CHECK byte [gdt + 0x50 + 5], 0x89, 12, "TSS B still busy after IRET"
	CHECK byte [gdt + 0x48 + 5], 0x8B, 13, "TSS A not busy after IRET"
	pushfd
	pop eax
	test eax, 0x4000
	jz .nt_ok
	FAIL 14, "NT set in the returning task"
.nt_ok:
	PASS

task_b:
	CHECK eax, 0xB0B0, 21, "EAX loaded from TSS B"
	str ax
	CHECK ax, 0x50, 20, "TR in task B"
	CHECK esp, 0x250000, 22, "ESP loaded from TSS B"
	CHECK byte [gdt + 0x50 + 5], 0x8B, 23, "TSS B not busy while running"
	CHECK byte [gdt + 0x48 + 5], 0x89, 24, "TSS A still busy after JMP away"
	pushfd
	pop eax
	test eax, 0x4000
	jz .nt_ok
	FAIL 25, "JMP to a task set NT"
.nt_ok:
	mov ebx, 0xBBBB
	jmp 0x48:0

task_b2:
	CHECK word [TSS_B], 0x48, 30, "back link of the called task"
	pushfd
	pop eax
	test eax, 0x4000
	jnz .nt_set
	FAIL 31, "CALL to a task did not set NT"
.nt_set:
	CHECK byte [gdt + 0x48 + 5], 0x8B, 32, "the calling task lost its busy bit"
	mov ecx, 0xC0C0
	iret
