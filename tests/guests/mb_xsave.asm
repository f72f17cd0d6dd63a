; mb_xsave - XSAVE area layouts and rules in protected and long mode (SDM
; Vol. 1 ch. 13, Vol. 2 XSETBV/XSAVE/XSAVEC/XSAVEOPT/XRSTOR):
;   - CPUID.0xD: sizes and the standard offsets (AVX at 576, PKRU at 2688);
;   - XSETBV rules: #GP(0) for XCR0[0] = 0, AVX without SSE, an unsupported
;     bit, XCR1;
;   - XSAVE (standard format: legacy region, XMM at 160, YMM_Hi128 at 576,
;     PKRU at 2688, XSTATE_BV, XCOMP_BV = 0, 32- and 64-bit FIP), XSAVEC
;     (compacted: XCOMP_BV = RFBM | bit 63, components packed from 576);
;   - the init optimization (XRSTOR of an init image, then XSAVE writes
;     XSTATE_BV = 0; touching SSE sets only bit 1) and XSAVEOPT's modified
;     optimization (an unmodified component is not written again);
;   - #GP(0) on bad XRSTOR images (reserved MXCSR bits, XSTATE_BV bits
;     outside XCR0, non-zero reserved header bytes, a compacted XCOMP_BV
;     that misses XSTATE_BV bits) and misaligned areas, state unchanged;
;   - in long mode: XSAVE64's 64-bit FIP, XMM15/YMM15 slots, #GP, #XM and
;     #NM there.
; nestemu-test: args=-cpu skylake
%include "mb.inc"
%include "lm64.inc"

%define AREA 0x320000		; 4 KiB each, 64-byte aligned
%define AREA_C 0x321000
%define AREA_I 0x322000
%define AREA_B 0x323000
%define PKRU_VAL 0x12345670	; key 0 stays accessible (the lm64 pages are user pages)
%define PAT_X0 0x11111111
%define PAT_Y0 0x22222222
%define PAT_X2 0x33333333

%macro ZERO_AREA 1
	mov edi, %1
	mov ecx, 1024
	xor eax, eax
	rep stosd
%endmacro
%macro RFBM_ALL 0
	mov eax, -1
	mov edx, -1
%endmacro
; XMM0 must still hold PAT_X0 (a faulting XRSTOR changed nothing).
%macro CHECK_XMM0 1
	movd eax, xmm0
	CHECK eax, PAT_X0, %1, "a faulting XRSTOR changed XMM0"
%endmacro
; XRSTOR of AREA_B must #GP(0); %1: failure code.
%macro XRSTOR_GP 2
	EXPECT 13, 0, %%insn, %%done
	RFBM_ALL
%%insn:	xrstor [AREA_B]
%%done:	CHECK_HIT %1, %2
%endmacro

	bits 32
test_main:
	SAY "mb_xsave: XSAVE layouts, XSETBV/XRSTOR faults, protected mode"
	mov eax, cr4
	or eax, (1 << 9) | (1 << 10) | (1 << 18) | (1 << 22)	; OSFXSR OSXMMEXCPT OSXSAVE PKE
	mov cr4, eax
	mov eax, 1
	cpuid
	test ecx, 1 << 27
	jnz .osxsave
	FAIL 1, "CPUID.1:ECX.OSXSAVE does not follow CR4.OSXSAVE"
.osxsave:
	mov eax, 0xd
	xor ecx, ecx
	cpuid
	and eax, 0x207
	CHECK eax, 0x207, 2, "CPUID.(0xD,0):EAX lacks x87/SSE/AVX/PKRU"
	CHECK ecx, 2696, 3, "CPUID.(0xD,0):ECX (size for every component)"
	mov eax, 0xd
	mov ecx, 2
	cpuid
	CHECK eax, 256, 4, "CPUID.(0xD,2):EAX (AVX size)"
	CHECK ebx, 576, 5, "CPUID.(0xD,2):EBX (AVX offset)"
	mov eax, 0xd
	mov ecx, 9
	cpuid
	CHECK eax, 8, 6, "CPUID.(0xD,9):EAX (PKRU size)"
	CHECK ebx, 2688, 7, "CPUID.(0xD,9):EBX (PKRU offset)"
	mov eax, 0xd
	mov ecx, 1
	cpuid
	and eax, 7
	CHECK eax, 7, 8, "CPUID.(0xD,1):EAX lacks XSAVEOPT/XSAVEC/XGETBV1"

	; ---- XSETBV faults
	EXPECT 13, 0, .xs1, .xs1_done
	xor ecx, ecx
	xor edx, edx
	mov eax, 6			; no x87
.xs1:	xsetbv
.xs1_done:
	CHECK_HIT 9, "XSETBV with XCR0[0] = 0 did not #GP"
	EXPECT 13, 0, .xs2, .xs2_done
	mov eax, 5			; AVX without SSE
.xs2:	xsetbv
.xs2_done:
	CHECK_HIT 10, "XSETBV with AVX but not SSE did not #GP"
	EXPECT 13, 0, .xs3, .xs3_done
	mov eax, 0xf			; bit 3 (BNDREGS) not supported
.xs3:	xsetbv
.xs3_done:
	CHECK_HIT 11, "XSETBV with an unsupported bit did not #GP"
	EXPECT 13, 0, .xs4, .xs4_done
	mov ecx, 1			; XCR1 is read-only
	mov eax, 7
.xs4:	xsetbv
.xs4_done:
	CHECK_HIT 12, "XSETBV to XCR1 did not #GP"

	xor ecx, ecx
	xor edx, edx
	mov eax, 7
	xsetbv
	mov eax, 0xd
	xor ecx, ecx
	cpuid
	CHECK ebx, 832, 13, "CPUID.(0xD,0):EBX for XCR0 = 7"
	xor ecx, ecx
	xor edx, edx
	mov eax, 0x207
	xsetbv
	xor ecx, ecx
	xgetbv
	CHECK eax, 0x207, 14, "XGETBV does not return XCR0"
	mov eax, 0xd
	xor ecx, ecx
	cpuid
	CHECK ebx, 2696, 15, "CPUID.(0xD,0):EBX for XCR0 = 0x207"

	; ---- a state with every component in use
	fninit
.fip32:	fld1
	movups xmm0, [pat_x]
	vinsertf128 ymm0, ymm0, [pat_y], 1
	xor ecx, ecx
	xor edx, edx
	mov eax, PKRU_VAL
	db 0x0f, 0x01, 0xef		; WRPKRU

	; ---- XSAVE, standard format
	ZERO_AREA AREA
	RFBM_ALL
	xsave [AREA]
	CHECK word [AREA], 0x037f, 16, "XSAVE: FCW"
	CHECK word [AREA + 6], 0x1e8, 17, "XSAVE: FOP of FLD1 (D9 E8)"
	CHECK dword [AREA + 8], .fip32, 18, "XSAVE: FIP (32-bit format)"
	CHECK word [AREA + 12], 0x08, 19, "XSAVE: FCS"
	CHECK dword [AREA + 24], 0x1f80, 20, "XSAVE: MXCSR"
	CHECK dword [AREA + 160], PAT_X0, 21, "XSAVE: XMM0 at 160"
	CHECK dword [AREA + 576], PAT_Y0, 22, "XSAVE: YMM0[255:128] at 576"
	CHECK dword [AREA + 2688], PKRU_VAL, 23, "XSAVE: PKRU at 2688"
	CHECK dword [AREA + 512], 0x207, 24, "XSAVE: XSTATE_BV"
	CHECK dword [AREA + 520], 0, 25, "XSAVE: XCOMP_BV must be 0"
	CHECK dword [AREA + 524], 0, 25, "XSAVE: XCOMP_BV must be 0"

	; ---- XSAVEC, compacted format
	ZERO_AREA AREA_C
	RFBM_ALL
	xsavec [AREA_C]
	CHECK dword [AREA_C + 512], 0x207, 26, "XSAVEC: XSTATE_BV"
	CHECK dword [AREA_C + 520], 0x207, 27, "XSAVEC: XCOMP_BV[31:0] = RFBM"
	CHECK dword [AREA_C + 524], 0x80000000, 28, "XSAVEC: XCOMP_BV[63] (compacted)"
	CHECK dword [AREA_C + 576], PAT_Y0, 29, "XSAVEC: YMM_Hi128 first at 576"
	CHECK dword [AREA_C + 832], PKRU_VAL, 30, "XSAVEC: PKRU packed at 832"
	ZERO_AREA AREA_C
	mov eax, 0x201			; x87 and PKRU only
	xor edx, edx
	xsavec [AREA_C]
	CHECK dword [AREA_C + 520], 0x201, 31, "XSAVEC: XCOMP_BV for RFBM = 0x201"
	CHECK dword [AREA_C + 576], PKRU_VAL, 32, "XSAVEC: PKRU at 576 without AVX"
	CHECK dword [AREA_C + 24], 0, 33, "XSAVEC: MXCSR written without SSE/AVX in RFBM"
	CHECK dword [AREA_C + 160], 0, 33, "XSAVEC: XMM0 written without SSE in RFBM"

	; ---- faulting XRSTORs leave the state alone
	ZERO_AREA AREA_B
	RFBM_ALL
	xsave [AREA_B]
	mov dword [AREA_B + 24], 0x11f80	; MXCSR bit 16 reserved
	XRSTOR_GP 34, "XRSTOR of an image with reserved MXCSR bits did not #GP"
	CHECK_XMM0 35
	mov dword [AREA_B + 24], 0x1f80
	mov dword [AREA_B + 512], 0x20f		; bit 3 is not in XCR0
	XRSTOR_GP 36, "XRSTOR with XSTATE_BV outside XCR0 did not #GP"
	CHECK_XMM0 37
	mov dword [AREA_B + 512], 0x207
	mov byte [AREA_B + 530], 1		; reserved header byte
	XRSTOR_GP 38, "XRSTOR with a non-zero reserved header byte did not #GP"
	mov byte [AREA_B + 530], 0
	mov dword [AREA_B + 520], 0x3		; compacted, but AVX/PKRU missing
	mov dword [AREA_B + 524], 0x80000000
	XRSTOR_GP 39, "XRSTOR (compacted) with XSTATE_BV outside XCOMP_BV did not #GP"
	CHECK_XMM0 40
	mov dword [AREA_B + 520], 0
	mov dword [AREA_B + 524], 0
	EXPECT 13, 0, .mis, .mis_done
	RFBM_ALL
.mis:	xrstor [AREA_B + 16]
.mis_done:
	CHECK_HIT 41, "XRSTOR of a misaligned area did not #GP"
	EXPECT 13, 0, .mis2, .mis2_done
	RFBM_ALL
.mis2:	xsave [AREA + 32]
.mis2_done:
	CHECK_HIT 42, "XSAVE to a misaligned area did not #GP"
	RFBM_ALL
	xrstor [AREA_B]			; the repaired image loads
	CHECK_XMM0 43

	; ---- init optimization
	ZERO_AREA AREA_I
	mov dword [AREA_I + 24], 0x1f80	; XSTATE_BV = 0: every component initialized
	RFBM_ALL
	xrstor [AREA_I]
	fnstcw [tmp]
	CHECK word [tmp], 0x037f, 44, "XRSTOR of the init state: FCW"
	movd eax, xmm0
	CHECK eax, 0, 45, "XRSTOR of the init state: XMM0"
	vextractf128 xmm1, ymm0, 1
	movd eax, xmm1
	CHECK eax, 0, 46, "XRSTOR of the init state: YMM0 upper half"
	xor ecx, ecx
	db 0x0f, 0x01, 0xee		; RDPKRU
	CHECK eax, 0, 47, "XRSTOR of the init state: PKRU"
	ZERO_AREA AREA
	mov dword [AREA + 512], 0x80000207	; bits outside RFBM are left alone
	RFBM_ALL
	xsave [AREA]
	CHECK dword [AREA + 512], 0x80000000, 48, "XSTATE_BV after XRSTOR of the init state (init optimization)"
	movups xmm0, [pat_x]
	RFBM_ALL
	xsave [AREA]
	CHECK dword [AREA + 512], 0x80000002, 49, "XSTATE_BV after touching only SSE"

	; ---- XSAVEOPT's modified optimization
	fld1
	vinsertf128 ymm0, ymm0, [pat_y], 1
	xor ecx, ecx
	xor edx, edx
	mov eax, PKRU_VAL
	db 0x0f, 0x01, 0xef		; WRPKRU
	ZERO_AREA AREA
	RFBM_ALL
	xsave [AREA]
	RFBM_ALL
	xrstor [AREA]
	mov dword [AREA + 160], 0xdeadbeef
	mov dword [AREA + 576], 0xdeadbeef
	RFBM_ALL
	xsaveopt [AREA]
	CHECK dword [AREA + 160], 0xdeadbeef, 50, "XSAVEOPT wrote an unmodified SSE component"
	CHECK dword [AREA + 576], 0xdeadbeef, 51, "XSAVEOPT wrote an unmodified AVX component"
	CHECK dword [AREA + 512], 0x207, 52, "XSAVEOPT: XSTATE_BV"
	movups xmm0, [pat_x2]
	RFBM_ALL
	xsaveopt [AREA]
	CHECK dword [AREA + 160], PAT_X2, 53, "XSAVEOPT did not write the modified SSE component"
	CHECK dword [AREA + 576], 0xdeadbeef, 54, "XSAVEOPT wrote AVX although only XMM0 changed"
	movups xmm0, [pat_x]

	SAY "long mode"
	ENTER_LONG lm_main

	bits 64
lm_main:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, 0x280000
	mov dword [rel exp_cs], 0x30

	fninit
.fip64:	fld1
	movups xmm15, [pat_x]
	vinsertf128 ymm15, ymm15, [pat_y], 1
	ZERO_AREA AREA
	RFBM_ALL
	xsave64 [AREA]
	CHECK dword [AREA + 8], .fip64, 60, "XSAVE64: FIP[31:0]"
	CHECK dword [AREA + 12], 0, 61, "XSAVE64: FIP[63:32] (64-bit format, no FCS)"
	CHECK dword [AREA + 160 + 15 * 16], PAT_X0, 62, "XSAVE64: XMM15 at 400"
	CHECK dword [AREA + 576 + 15 * 16], PAT_Y0, 63, "XSAVE64: YMM15[255:128] at 816"
	CHECK dword [AREA + 512], 0x207, 64, "XSAVE64: XSTATE_BV"
	ZERO_AREA AREA_C
	RFBM_ALL
	xsavec64 [AREA_C]
	CHECK dword [AREA_C + 576 + 15 * 16], PAT_Y0, 65, "XSAVEC64: YMM15[255:128]"
	CHECK dword [AREA_C + 832], PKRU_VAL, 66, "XSAVEC64: PKRU at 832"

	; init optimization and a bad image in long mode
	RFBM_ALL
	xrstor64 [AREA_I]
	ZERO_AREA AREA
	RFBM_ALL
	xsave64 [AREA]
	CHECK dword [AREA + 512], 0, 67, "XSTATE_BV after XRSTOR64 of the init state"
	movups xmm0, [pat_x]
	ZERO_AREA AREA_B
	RFBM_ALL
	xsave64 [AREA_B]
	mov dword [AREA_B + 24], 0x11f80
	EXPECT 13, 0, .gp64, .gp64_done
	RFBM_ALL
.gp64:	xrstor64 [AREA_B]
.gp64_done:
	CHECK_HIT 68, "XRSTOR64 with reserved MXCSR bits did not #GP"
	CHECK_XMM0 69

	; #XM and #NM in long mode
	movss xmm1, [one32]
	xorps xmm2, xmm2
	ldmxcsr [mxcsr_ze_unmasked]
	EXPECT 19, NOERR, .xm, .xm_done
.xm:	divss xmm1, xmm2
.xm_done:
	CHECK_HIT 70, "DIVSS by zero did not raise #XM in long mode"
	stmxcsr [tmp]
	CHECK dword [tmp], 0x1d84, 71, "MXCSR.ZE after #XM in long mode"
	ldmxcsr [mxcsr_default]
	mov rax, cr0
	or rax, 1 << 3
	mov cr0, rax
	EXPECT 7, NOERR, .nm, .nm_done
.nm:	vaddps ymm3, ymm15, ymm15
.nm_done:
	CHECK_HIT 72, "VADDPS with CR0.TS did not raise #NM in long mode"
	EXPECT 7, NOERR, .nm2, .nm2_done
.nm2:	xsave64 [AREA]
.nm2_done:
	CHECK_HIT 73, "XSAVE with CR0.TS did not raise #NM"
	clts
	PASS

	align 16
pat_x:	dd PAT_X0, 0x11111112, 0x11111113, 0x11111114
pat_y:	dd PAT_Y0, 0x22222223, 0x22222224, 0x22222225
pat_x2:	dd PAT_X2, 0x33333334, 0x33333335, 0x33333336
one32:	dd 1.0
mxcsr_ze_unmasked: dd 0x1d80
mxcsr_default: dd 0x1f80
tmp:	dd 0, 0
