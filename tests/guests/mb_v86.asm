; mb_v86 - virtual-8086 mode (SDM Vol. 3 ch. 20): enter through IRET with
; EFLAGS.VM, real-mode style addressing (segment * 16), and with IOPL < 3
; CLI, INT n and HLT raise #GP(0) to the protected-mode monitor, whose
; frame holds the v86 segment registers (20.3.1.1).
%include "mb.inc"

%define TSS_A 0x290000
%define V86_CODE 0x8000		; the 16-bit blob is copied here (CS = 0x0800)

test_main:
	SAY "mb_v86: virtual-8086 mode"
	LOAD_TSS32 TSS_A, 0x270000

	mov esi, v86_blob
	mov edi, V86_CODE
	mov ecx, v86_end - v86_blob
	rep movsb
	mov word [0x9100], 0

	EXPECT_QUEUE v86_faults
	push dword 0x0900		; GS
	push dword 0x0900		; FS
	push dword 0x0900		; DS
	push dword 0x0900		; ES
	push dword 0x0000		; SS
	push dword 0x7000		; SP
	push dword 0x00020002		; EFLAGS: VM, IOPL 0
	push dword 0x0800		; CS
	push dword v86_start - v86_blob
	iret

; the monitor continues here (CS 0x08) after the final #GP from HLT
v86_done:
	mov esp, 0x280000
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	CHECK_HIT 1, "#GP from HLT in v86 mode not delivered"
	CHECK word [0x9100], 0x1234, 2, "v86 store through DS*16"
	CHECK word [0x9102], 3, 3, "v86 code did not resume after each #GP"
	mov eax, [fault_eflags]
	test eax, 1 << 17
	jnz .vm_ok
	FAIL 4, "EFLAGS.VM not set in the saved frame"
.vm_ok:
	mov eax, [fault_esp]
	CHECK dword [eax], 0x7000, 5, "saved v86 SP"
	CHECK dword [eax + 4], 0, 6, "saved v86 SS"
	CHECK dword [eax + 8], 0x0900, 7, "saved v86 ES"
	CHECK dword [eax + 12], 0x0900, 8, "saved v86 DS"
	CHECK dword [eax + 16], 0x0900, 9, "saved v86 FS"
	CHECK dword [eax + 20], 0x0900, 10, "saved v86 GS"
	PASS

; v86 code, position-independent within CS = 0x0800 (offsets from v86_blob)
	bits 16
v86_blob:
v86_start:
	mov word [0x100], 0x1234	; DS = 0x0900 -> linear 0x9100
	mov word [0x102], 1
v86_cli:
	cli				; IOPL 0: #GP(0)
v86_after_cli:
	inc word [0x102]
v86_int_next:
	int 0x21			; IOPL 0, no VME: #GP(0)
v86_after_int:
	inc word [0x102]
v86_hlt:
	hlt				; #GP(0)
	jmp short $
v86_end:
	bits 32

v86_faults:
	dd 13, 0, v86_cli - v86_blob, v86_after_cli - v86_blob, 0x0800, 0
	dd 13, 0, v86_int_next - v86_blob, v86_after_int - v86_blob, 0x0800, 0
	dd 13, 0, v86_hlt - v86_blob, v86_done, 0x0800, 0x08
	dd -1
