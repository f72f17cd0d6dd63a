; mb_sysenter - SYSENTER/SYSEXIT in 32-bit protected mode (SDM Vol. 2B):
; SYSENTER loads CS/SS from IA32_SYSENTER_CS (flat, CPL 0), ESP/EIP from
; the MSRs and clears IF; SYSEXIT returns to CPL 3 with CS = MSR + 16,
; SS = MSR + 24, EIP = EDX, ESP = ECX.
%include "mb.inc"

%define TSS_A 0x290000
%define KSTACK 0x270000
%define USTACK 0x260000

test_main:
	SAY "mb_sysenter: SYSENTER/SYSEXIT"
	LOAD_TSS32 TSS_A, 0x27F000

	xor edx, edx
	mov ecx, 0x174			; IA32_SYSENTER_CS
	mov eax, 0x08
	wrmsr
	mov ecx, 0x175			; IA32_SYSENTER_ESP
	mov eax, KSTACK
	wrmsr
	mov ecx, 0x176			; IA32_SYSENTER_EIP
	mov eax, sysenter_entry
	wrmsr

	mov ax, 0x23
	mov ds, ax
	mov es, ax
	push dword 0x23
	push dword USTACK
	push dword 0x3202		; IF, IOPL 3
	push dword 0x1B
	push dword ring3
	iret

ring3:
	mov ax, cs
	CHECK ax, 0x1B, 1, "not at CPL 3"
	mov ebx, 0x1234
	mov ecx, USTACK - 0x100		; SYSEXIT's ESP
	mov edx, .back			; SYSEXIT's EIP
	sysenter
	FAIL 2, "fell through SYSENTER"
.back:
	mov ax, cs
	CHECK ax, 0x1B, 3, "CS after SYSEXIT"
	mov ax, ss
	CHECK ax, 0x23, 4, "SS after SYSEXIT"
	CHECK esp, USTACK - 0x100, 5, "ESP after SYSEXIT (from ECX)"
	CHECK ebx, 0x4321, 6, "result from the kernel"
	; back to ring 0
	EXPECT_CS 0x1B
	RESUME_CS 0x08
	EXPECT 0x80, NOERR, .ring0, .ring0
	int 0x80
.ring0:
	mov esp, 0x280000
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	CHECK_HIT 7, "INT 0x80 from ring 3 not delivered"
	PASS

sysenter_entry:
	mov ax, cs
	CHECK ax, 0x08, 10, "CS after SYSENTER"
	mov ax, ss
	CHECK ax, 0x10, 11, "SS after SYSENTER"
	CHECK esp, KSTACK, 12, "ESP after SYSENTER"
	pushfd
	pop eax
	test eax, 0x200
	jz .if_ok
	FAIL 13, "SYSENTER did not clear IF"
.if_ok:
	CHECK ebx, 0x1234, 14, "EBX across SYSENTER"
	mov ebx, 0x4321
	sysexit				; CPL 3, CS 0x1B, SS 0x23, EIP = EDX, ESP = ECX
