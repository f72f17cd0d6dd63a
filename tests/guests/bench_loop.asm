; bench_loop - CPU-bound benchmark guest: integer ALU, multiplies, loads
; and stores, taken and untaken branches, calls, and a REP MOVSD string
; copy, in a fixed loop; exits through isa-debug-exit with code 0.
; tests/bench/run.sh times it (nestemu -stats gives the exact count).
%include "mb.inc"

%define ITERATIONS 10000000
%define BUF 0x200000

test_main:
	mov ecx, ITERATIONS
	xor ebx, ebx
	xor esi, esi
	mov ebp, 0x12345
.loop:
	mov eax, ecx
	add eax, ebx
	xor edx, eax
	imul eax, eax, 13
	shr edx, 3
	sub ebx, edx
	lea edi, [esi * 4 + BUF]
	mov [edi], eax
	add esi, 1
	and esi, 255
	mov edx, [esi * 4 + BUF]
	adc ebp, edx
	test eax, 1
	jz .even
	rol ebp, 5
	call .leaf
.even:
	test ecx, 255
	jnz .next
	; every 256 iterations: copy 256 dwords
	push ecx
	push esi
	mov esi, BUF
	mov edi, BUF + 0x1000
	mov ecx, 256
	cld
	rep movsd
	pop esi
	pop ecx
.next:
	dec ecx
	jnz .loop
	EXIT 0

.leaf:
	inc ebx
	ret
