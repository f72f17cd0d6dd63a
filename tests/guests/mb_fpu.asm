; mb_fpu - the FPU's exceptions in protected mode (SDM Vol. 3 2.5 CR0,
; 12.5, 6.15 #NM/#MF/#XM; Vol. 1 8.7, D.2):
;   - lazy FPU switching: with CR0.TS set an x87, an SSE and an AVX
;     instruction raise #NM; the handler does CLTS and loads the next
;     task's state (FXRSTOR, XRSTOR) and the instruction re-executes on it;
;   - CR0.EM: x87 -> #NM, SSE -> #UD; WAIT -> #NM only with MP and TS;
;   - #MF: an unmasked x87 exception (CR0.NE = 1) is reported by the next
;     waiting instruction (FWAIT or an x87 instruction), with FSW.ES/B and
;     FNSTENV's instruction pointer, opcode and data pointer naming the
;     instruction that caused it;
;   - FERR#: with CR0.NE = 0 the same exception raises IRQ 13 through the
;     8259 pair; a write to port 0xF0 drops the line (without it a second
;     error raises no new edge);
;   - #XM vs #UD: an unmasked SSE exception with CR4.OSXMMEXCPT = 1 / 0,
;     MXCSR flag set and destination unchanged either way.
%include "mb.inc"

%define CR0_MP (1 << 1)
%define CR0_EM (1 << 2)
%define CR0_TS (1 << 3)
%define CR0_NE (1 << 5)
%define CR4_OSFXSR (1 << 9)
%define CR4_OSXMMEXCPT (1 << 10)
%define CR4_OSXSAVE (1 << 18)

%macro SET_CR0 1
	mov eax, cr0
	or eax, %1
	mov cr0, eax
%endmacro
%macro CLEAR_CR0 1
	mov eax, cr0
	and eax, ~(%1)
	mov cr0, eax
%endmacro
%macro SET_CR4 1
	mov eax, cr4
	or eax, %1
	mov cr4, eax
%endmacro
%macro CLEAR_CR4 1
	mov eax, cr4
	and eax, ~(%1)
	mov cr4, eax
%endmacro

test_main:
	SAY "mb_fpu: #NM lazy switching, CR0.EM/MP, #MF, FERR#/IRQ 13, #XM"
	CLEAR_CR0 CR0_EM | CR0_TS
	SET_CR0 CR0_MP | CR0_NE
	SET_CR4 CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE
	mov eax, 1
	cpuid
	test ecx, 1 << 28
	jnz .have_avx
	FAIL 1, "CPUID does not report AVX"
.have_avx:
	xor ecx, ecx
	mov eax, 7
	xor edx, edx
	xsetbv				; XCR0 = x87 | SSE | AVX

	; ---- the next task's state (B): ST0 = 7, YMM1/YMM2 = vec_b1/vec_b2
	fninit
	fild dword [int_seven]
	vmovups ymm1, [vec_b1]
	vmovups ymm2, [vec_b2]
	fxsave [area_b]
	mov eax, 7
	xor edx, edx
	xsave [xarea_b]
	; ---- the current task's state (A): empty stack, zero registers
	fninit
	vpxor ymm1, ymm1, ymm1
	vpxor ymm2, ymm2, ymm2
	fxsave [area_a]
	mov eax, 7
	xor edx, edx
	xsave [xarea_a]

	SETGATE32 7, nm_handler, 0x8E
	mov dword [nm_count], 0

	; ---- x87 under TS: FILD faults, the handler restores B by FXRSTOR
	mov dword [nm_area], area_b
	mov dword [nm_xrstor], 0
	SET_CR0 CR0_TS
	fild dword [int_five]
	CHECK dword [nm_count], 1, 2, "FILD with CR0.TS did not raise #NM"
	mov eax, cr0
	test eax, CR0_TS
	jz .ts_clear
	FAIL 3, "CR0.TS still set after CLTS"
.ts_clear:
	fistp dword [out0]
	fistp dword [out1]
	CHECK dword [out0], 5, 4, "re-executed FILD did not push onto the restored stack"
	CHECK dword [out1], 7, 5, "FXRSTOR in the #NM handler did not restore ST0"

	; ---- SSE under TS: ADDPS faults, the handler restores B by XRSTOR
	mov eax, 7
	xor edx, edx
	xrstor [xarea_a]
	mov dword [nm_area], xarea_b
	mov dword [nm_xrstor], 1
	SET_CR0 CR0_TS
	addps xmm1, xmm2
	CHECK dword [nm_count], 2, 6, "ADDPS with CR0.TS did not raise #NM"
	vmovups [out0], ymm1
	CHECK dword [out0], 0x41300000, 7, "ADDPS lane 0 (11.0) after XRSTOR"
	CHECK dword [out0 + 12], 0x42300000, 8, "ADDPS lane 3 (44.0) after XRSTOR"
	CHECK dword [out0 + 16], 0x40a00000, 9, "legacy ADDPS changed YMM1's upper half (5.0)"

	; ---- AVX under TS: VADDPS ymm faults the same way
	mov eax, 7
	xor edx, edx
	xrstor [xarea_a]
	SET_CR0 CR0_TS
	vaddps ymm3, ymm1, ymm2
	CHECK dword [nm_count], 3, 10, "VADDPS with CR0.TS did not raise #NM"
	vmovups [out0], ymm3
	CHECK dword [out0], 0x41300000, 11, "VADDPS lane 0 (11.0)"
	CHECK dword [out0 + 28], 0x42b00000, 12, "VADDPS lane 7 (88.0): YMM upper half not restored"

	; ---- CR0.EM: x87 -> #NM, SSE -> #UD (vector 7 back to the checker)
	SETGATE32 7, stub32_7, 0xEE
	SET_CR0 CR0_EM
	EXPECT 7, NOERR, .em_x87, .em_x87_done
.em_x87:
	fld1
.em_x87_done:
	CHECK_HIT 13, "FLD1 with CR0.EM did not raise #NM"
	EXPECT 6, NOERR, .em_sse, .em_sse_done
.em_sse:
	addps xmm1, xmm2
.em_sse_done:
	CHECK_HIT 14, "ADDPS with CR0.EM did not raise #UD"
	CLEAR_CR0 CR0_EM

	; ---- WAIT: #NM with MP = 1 and TS = 1 only
	SET_CR0 CR0_TS
	EXPECT 7, NOERR, .wait_mp, .wait_mp_done
.wait_mp:
	wait
.wait_mp_done:
	CHECK_HIT 15, "WAIT with CR0.MP and CR0.TS did not raise #NM"
	CLEAR_CR0 CR0_MP
	wait				; MP = 0: no fault even with TS
	clts
	SET_CR0 CR0_MP

	; ---- #MF: ZE unmasked, FDIV by zero, reported by the next FWAIT
	fninit
	fldcw [cw_ze_unmasked]
	fld1
.div1:	fdiv dword [zero32]
	fnstsw ax			; no-wait: no #MF
	and ax, 0x8084
	CHECK ax, 0x8084, 16, "FSW.B/ES/ZE not set by the unmasked division by zero"
	EXPECT 16, NOERR, .mf_wait, .mf_wait_done
.mf_wait:
	fwait
.mf_wait_done:
	CHECK_HIT 17, "FWAIT with a pending unmasked exception did not raise #MF"
	fnstenv [env]
	mov ax, [env + 4]
	and ax, 0x8084
	CHECK ax, 0x8084, 18, "FNSTENV: FSW.B/ES/ZE"
	CHECK dword [env + 12], .div1, 19, "FNSTENV: FPU instruction pointer"
	CHECK word [env + 16], 0x08, 20, "FNSTENV: FPU CS selector"
	mov ax, [env + 18]
	and ax, 0x7ff
	CHECK ax, 0x035, 21, "FNSTENV: FPU opcode (D8 /6, ModRM 35)"
	CHECK dword [env + 20], zero32, 22, "FNSTENV: FPU data pointer"
	CHECK word [env + 24], 0x10, 23, "FNSTENV: FPU data selector"
	; the stored value was not replaced (no result for unmasked ZE)
	fnclex				; (every other waiting instruction, FLDENV too, would fault)
	fwait				; cleared: no #MF
	fistp dword [out0]
	CHECK dword [out0], 1, 24, "ST0 changed by a division with unmasked ZE"

	; the next x87 instruction reports it too (IE: stack underflow)
	fninit
	fldcw [cw_ie_unmasked]
.under:	fadd st0, st1			; empty registers: IE + SF
	EXPECT 16, NOERR, .mf_fld, .mf_fld_done
.mf_fld:
	fld1
.mf_fld_done:
	CHECK_HIT 25, "FLD1 after an unmasked stack fault did not raise #MF"
	fnstenv [env]
	mov ax, [env + 4]
	and ax, 0x80c1
	CHECK ax, 0x80c1, 26, "FSW.B/ES/SF/IE after a stack underflow"
	CHECK dword [env + 12], .under, 27, "FIP after the stack fault"
	mov ax, [env + 18]
	and ax, 0x7ff
	CHECK ax, 0x0c1, 28, "FOP of FADD ST0, ST1 (D8 C1)"
	fninit

	; ---- FERR# (CR0.NE = 0) -> IRQ 13 on the slave 8259 (vector 0x2D)
	call pic_init
	SETGATE32 0x2D, irq13_handler, 0x8E
	CLEAR_CR0 CR0_NE
	mov dword [irq13_count], 0
	mov dword [irq13_clear], 1
	call ferr_round
	CHECK dword [irq13_count], 1, 29, "FERR# did not raise IRQ 13"
	mov ax, [irq13_fsw]
	and ax, 0x8084
	CHECK ax, 0x8084, 30, "FSW in the IRQ 13 handler"
	call ferr_round			; the handler wrote 0xF0: a new edge
	CHECK dword [irq13_count], 2, 31, "second FERR# after port 0xF0 did not raise IRQ 13"
	mov dword [irq13_clear], 0
	call ferr_round			; this handler leaves FERR# asserted
	CHECK dword [irq13_count], 3, 32, "third FERR# did not raise IRQ 13"
	call ferr_round			; line still high: no new interrupt
	CHECK dword [irq13_count], 3, 33, "IRQ 13 again although port 0xF0 was not written"
	fnclex
	out 0xF0, al			; now clear it
	call ferr_round
	CHECK dword [irq13_count], 4, 34, "no IRQ 13 after clearing FERR# through port 0xF0"
	SET_CR0 CR0_NE

	; ---- #XM (CR4.OSXMMEXCPT = 1) and #UD (= 0) for unmasked ZE
	movss xmm0, [one32]
	xorps xmm1, xmm1
	ldmxcsr [mxcsr_ze_unmasked]
	EXPECT 19, NOERR, .xm, .xm_done
.xm:	divss xmm0, xmm1
.xm_done:
	CHECK_HIT 35, "DIVSS by zero with ZM clear did not raise #XM"
	stmxcsr [out0]
	CHECK dword [out0], 0x1d84, 36, "MXCSR.ZE after #XM"
	movd eax, xmm0
	CHECK eax, 0x3f800000, 37, "DIVSS wrote its destination despite #XM"
	ldmxcsr [mxcsr_ze_unmasked]
	CLEAR_CR4 CR4_OSXMMEXCPT
	EXPECT 6, NOERR, .ud, .ud_done
.ud:	divss xmm0, xmm1
.ud_done:
	CHECK_HIT 38, "DIVSS by zero with CR4.OSXMMEXCPT = 0 did not raise #UD"
	stmxcsr [out0]
	CHECK dword [out0], 0x1d84, 39, "MXCSR.ZE after #UD"
	ldmxcsr [mxcsr_default]
	divss xmm0, xmm1		; masked: infinity, no fault
	movd eax, xmm0
	CHECK eax, 0x7f800000, 40, "masked DIVSS by zero is not +infinity"
	PASS

; One FERR# round: unmasked ZE, FWAIT with interrupts on.
ferr_round:
	fninit
	fldcw [cw_ze_unmasked]
	fld1
	fdiv dword [zero32]
	sti
	fwait
	nop
	nop
	cli
	ret

; 8259 pair: vectors 0x20 / 0x28, only IRQ 2 (cascade) and IRQ 13 unmasked.
pic_init:
	PIC_INIT 0x20, 0x28
	mov al, 0xFB
	out 0x21, al
	mov al, 0xDF
	out 0xA1, al
	ret

irq13_handler:
	push eax
	inc dword [irq13_count]
	fnstsw ax
	mov [irq13_fsw], ax
	cmp dword [irq13_clear], 0
	je .keep
	out 0xF0, al			; clears FERR#
	fnclex
.keep:
	mov al, 0x20
	out 0xA0, al
	out 0x20, al
	pop eax
	iret

; #NM: CLTS, then load the next task's state from nm_area.
nm_handler:
	push eax
	push edx
	push ebx
	inc dword [nm_count]
	clts
	mov ebx, [nm_area]
	cmp dword [nm_xrstor], 0
	jne .x
	fxrstor [ebx]
	jmp .done
.x:	mov eax, 7
	xor edx, edx
	xrstor [ebx]
.done:	pop ebx
	pop edx
	pop eax
	iret

	align 4
int_seven:	dd 7
int_five:	dd 5
zero32:		dd 0.0
one32:		dd 1.0
cw_ze_unmasked:	dw 0x037b
cw_ie_unmasked:	dw 0x037e
	align 4
mxcsr_ze_unmasked: dd 0x1d80
mxcsr_default:	dd 0x1f80
nm_count:	dd 0
nm_area:	dd 0
nm_xrstor:	dd 0
irq13_count:	dd 0
irq13_clear:	dd 0
irq13_fsw:	dw 0, 0
env:		times 28 db 0
	align 32
vec_b1:		dd 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0
vec_b2:		dd 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0
out0:		times 8 dd 0
out1:		dd 0
	align 64
area_a:		times 512 db 0
area_b:		times 512 db 0
xarea_a:	times 1024 db 0
xarea_b:	times 1024 db 0
