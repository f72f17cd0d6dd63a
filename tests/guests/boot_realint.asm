; boot_realint - real-mode interrupts and exceptions through the IVT
; (SDM Vol. 3 20.1.4): INT n, INT3, #DE and #UD. Each handler checks the
; frame (IP, CS, FLAGS), that IF and TF are clear inside it, and resumes.
%include "rom.inc"

; variables in RAM (SS = 0)
%define V_VEC 0x800		; expected vector
%define V_IP 0x802		; expected saved IP
%define V_RESUME 0x804		; where to resume (0: return normally)
%define V_HITS 0x806		; handler runs
%define V_FLAGS 0x808		; FLAGS seen in the frame

%macro EXPECT16 3		; vector, saved IP, resume IP (0 = just iret)
	mov word [ss:V_VEC], %1
	mov word [ss:V_IP], %2
	mov word [ss:V_RESUME], %3
%endmacro

%macro STUB16 1
stub16_%1:
	push word %1
	jmp handler16
%endmacro

rom_start:
	cli
	mov ax, 0xF000
	mov ds, ax
	xor ax, ax
	mov ss, ax
	mov es, ax
	mov sp, 0x7000
	SAY "boot_realint: real-mode IVT"
	mov word [es:0 * 4], stub16_0
	mov word [es:0 * 4 + 2], 0xF000
	mov word [es:3 * 4], stub16_3
	mov word [es:3 * 4 + 2], 0xF000
	mov word [es:6 * 4], stub16_6
	mov word [es:6 * 4 + 2], 0xF000
	mov word [es:0x21 * 4], stub16_0x21
	mov word [es:0x21 * 4 + 2], 0xF000
	mov word [ss:V_HITS], 0

	; INT n: a trap, returns after the instruction; IF set in the frame
	sti
	EXPECT16 0x21, .after_int, 0
	mov ax, 0x1234
	int 0x21
.after_int:
	CHECK word [ss:V_HITS], 1, 1, "INT 0x21 handler did not run"
	CHECK ax, 0x4321, 2, "INT 0x21 handler result lost"
	test word [ss:V_FLAGS], 0x200
	jnz .if_ok
	FAIL 3, "saved FLAGS lacks IF"
.if_ok:
	pushf
	pop bx
	test bx, 0x200
	jnz .if_back
	FAIL 4, "IRET did not restore IF"
.if_back:
	cli

	; INT3: trap, saved IP after the 1-byte instruction
	EXPECT16 3, .after_int3, 0
	int3
.after_int3:
	CHECK word [ss:V_HITS], 2, 5, "INT3 handler did not run"

	; #DE: fault, saved IP is the DIV itself
	EXPECT16 0, .div, .after_div
	mov ax, 100
	xor bl, bl
.div:	div bl
	FAIL 6, "DIV by zero did not fault"
.after_div:
	CHECK word [ss:V_HITS], 3, 7, "#DE handler did not run"

	; #DE on quotient overflow
	EXPECT16 0, .div2, .after_div2
	mov ax, 0x1000
	mov bl, 2
.div2:	div bl
	FAIL 8, "DIV overflow did not fault"
.after_div2:
	CHECK word [ss:V_HITS], 4, 9, "#DE (overflow) handler did not run"

	; #UD: fault at the UD2
	EXPECT16 6, .ud, .after_ud
.ud:	ud2
	FAIL 10, "UD2 did not fault"
.after_ud:
	CHECK word [ss:V_HITS], 5, 11, "#UD handler did not run"
	CHECK sp, 0x7000, 12, "stack not balanced after the handlers"
	PASS

	STUB16 0
	STUB16 3
	STUB16 6
	STUB16 0x21

; frame after push bp: [bp+2] vector, [bp+4] IP, [bp+6] CS, [bp+8] FLAGS
handler16:
	push bp
	mov bp, sp
	pushf
	pop cx
	test cx, 0x300
	jz .flags_ok
	FAIL 20, "IF or TF set inside a real-mode handler"
.flags_ok:
	mov cx, [bp + 2]
	CHECK cx, [ss:V_VEC], 21, "wrong vector"
	mov cx, [bp + 4]
	CHECK cx, [ss:V_IP], 22, "wrong saved IP"
	CHECK word [bp + 6], 0xF000, 23, "wrong saved CS"
	mov cx, [bp + 8]
	mov [ss:V_FLAGS], cx
	inc word [ss:V_HITS]
	cmp word [ss:V_VEC], 0x21
	jne .no_result
	mov ax, 0x4321
.no_result:
	mov cx, [ss:V_RESUME]
	test cx, cx
	jz .ret
	mov [bp + 4], cx
.ret:	pop bp
	add sp, 2
	iret

	DEFINE_PUTS
	ROM_END
