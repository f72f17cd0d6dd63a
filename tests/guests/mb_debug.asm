; mb_debug - debug exceptions (SDM Vol. 3 ch. 18): TF single-step traps
; (DR6.BS, EIP after each instruction; the trap comes after the
; instruction following the POPF that set TF), a DR0 instruction
; breakpoint (fault before the instruction, DR6.B0, resumed with RF) and
; a DR1 data write breakpoint (trap after the write, DR6.B1).
%include "mb.inc"

%define MAX_HITS 8

test_main:
	SAY "mb_debug: single step and breakpoints"
	mov eax, db_handler
	mov [idt32 + 1 * 8], ax
	shr eax, 16
	mov [idt32 + 1 * 8 + 6], ax

	; single step: three traps, then the handler clears TF
	mov dword [hits], 0
	mov dword [stop_tf_at], 3
	xor ecx, ecx
	pushfd
	or dword [esp], 0x100
	popfd
	nop
.s1:	inc ecx
.s2:	inc ecx
.s3:	inc ecx
	inc ecx
	CHECK dword [hits], 3, 1, "single-step trap count"
	CHECK dword [hit_eip + 0], .s1, 2, "first single-step EIP"
	CHECK dword [hit_eip + 4], .s2, 3, "second single-step EIP"
	CHECK dword [hit_eip + 8], .s3, 4, "third single-step EIP"
	mov eax, [hit_dr6]
	test eax, 0x4000
	jnz .bs_ok
	FAIL 5, "DR6.BS not set by a single-step trap"
.bs_ok:
	CHECK ecx, 4, 6, "instructions lost while single-stepping"

	; DR0 execution breakpoint
	mov dword [hits], 0
	mov dword [stop_tf_at], 0
	mov eax, .bp
	mov dr0, eax
	mov eax, 0x401			; L0, R/W0 = 00 (execute), LEN0 = 00
	mov dr7, eax
	xor edx, edx
.bp:	inc edx
	xor eax, eax
	mov dr7, eax
	CHECK dword [hits], 1, 7, "DR0 breakpoint hits"
	CHECK dword [hit_eip], .bp, 8, "DR0 breakpoint EIP (a fault: before the instruction)"
	CHECK edx, 1, 9, "breakpointed instruction did not run exactly once"
	mov eax, [hit_dr6]
	test eax, 1
	jnz .b0_ok
	FAIL 10, "DR6.B0 not set"
.b0_ok:

	; DR1 data write breakpoint on a dword
	mov dword [hits], 0
	mov eax, watched
	mov dr1, eax
	mov eax, 0x00D00404		; L1, R/W1 = 01 (write), LEN1 = 11 (4 bytes)
	mov dr7, eax
	mov eax, [watched]		; reads do not trigger
	mov dword [watched], 7
.after_write:
	xor eax, eax
	mov dr7, eax
	CHECK dword [hits], 1, 11, "DR1 write breakpoint hits"
	CHECK dword [hit_eip], .after_write, 12, "DR1 trap EIP (after the write)"
	mov eax, [hit_dr6]
	test eax, 2
	jnz .b1_ok
	FAIL 13, "DR6.B1 not set"
.b1_ok:
	CHECK dword [watched], 7, 14, "the watched write did not happen"
	PASS

; #DB: record EIP and DR6, clear DR6, set RF, clear TF after stop_tf_at hits
db_handler:
	push eax
	push ebx
	mov ebx, [hits]
	cmp ebx, MAX_HITS
	jae .full
	mov eax, [esp + 8]
	mov [hit_eip + ebx * 4], eax
.full:
	mov eax, dr6
	mov [hit_dr6], eax
	xor eax, eax
	mov dr6, eax
	inc ebx
	mov [hits], ebx
	or dword [esp + 16], 1 << 16		; RF
	cmp ebx, [stop_tf_at]
	jne .keep
	and dword [esp + 16], ~0x100		; TF
.keep:
	pop ebx
	pop eax
	iret

	align 4
hits:		dd 0
stop_tf_at:	dd 0
hit_dr6:	dd 0
hit_eip:	times MAX_HITS dd 0
watched:	dd 0
