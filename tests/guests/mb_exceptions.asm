; mb_exceptions - protected-mode exceptions and interrupts through the IDT
; (SDM Vol. 3 6.12): INT n, #UD, #DE, #GP with selector and zero error
; codes, and a ring-3 #GP that switches to the TSS's ring-0 stack and
; pushes the old SS:ESP (6.12.1). The checker in pm32.inc verifies the
; vector, error code, saved EIP and CS of every frame.
%include "mb.inc"

%define TSS_A 0x290000

test_main:
	SAY "mb_exceptions: protected mode"

	; INT n through a DPL-3 interrupt gate: saved EIP is the next instruction
	EXPECT 0x40, NOERR, .after_int, .after_int
	int 0x40
.after_int:
	CHECK_HIT 1, "INT 0x40 not delivered"

	; #UD
	EXPECT 6, NOERR, .ud, .after_ud
.ud:	ud2
	FAIL 2, "UD2 did not fault"
.after_ud:
	CHECK_HIT 3, "#UD not delivered"

	; #DE: divide by zero and quotient overflow
	EXPECT 0, NOERR, .div0, .after_div0
	mov eax, 1
	xor edx, edx
	xor ecx, ecx
.div0:	div ecx
	FAIL 4, "DIV by zero did not fault"
.after_div0:
	CHECK_HIT 5, "#DE not delivered"
	EXPECT 0, NOERR, .idiv, .after_idiv
	mov eax, 0x80000000
	mov edx, 0xFFFFFFFF
	mov ecx, -1
.idiv:	idiv ecx			; -2^31 / -1 overflows
	FAIL 6, "IDIV overflow did not fault"
.after_idiv:
	CHECK_HIT 7, "#DE (IDIV overflow) not delivered"

	; #GP(selector): selector beyond the GDT limit
	EXPECT 13, 0x1230, .gp_sel, .after_gp_sel
	mov ax, 0x1230
.gp_sel: mov ds, ax
	FAIL 8, "loading a selector beyond the GDT limit did not fault"
.after_gp_sel:
	CHECK_HIT 9, "#GP(selector) not delivered"
	mov ax, ds
	CHECK ax, 0x10, 10, "DS changed by a faulting load"

	; #GP(0): data segment limit (16-bit data segment, limit 0xFFFF)
	mov ax, 0x40
	mov es, ax
	EXPECT 13, 0, .gp_lim, .after_gp_lim
.gp_lim: mov eax, [es:0xFFFE]		; bytes 0xFFFE..0x10001 cross the limit
	FAIL 11, "access beyond the segment limit did not fault"
.after_gp_lim:
	CHECK_HIT 12, "#GP(0) not delivered"
	mov ax, 0x10
	mov es, ax

	; ring 3: HLT is privileged -> #GP(0) on the ring-0 stack from the TSS
	LOAD_TSS32 TSS_A, 0x270000

	mov ax, 0x23
	mov ds, ax
	mov es, ax
	push dword 0x23			; SS
	push dword 0x260000		; ESP
	push dword 0x3202		; EFLAGS: IF, IOPL 3 (so messages can be printed)
	push dword 0x1B			; CS
	push dword .ring3
	iret
.ring3:
	mov ax, cs
	CHECK ax, 0x1B, 13, "not at CPL 3 after IRET"
	EXPECT_CS 0x1B
	EXPECT 13, 0, .hlt3, .after_hlt3
.hlt3:	hlt
	FAIL 14, "HLT at CPL 3 did not fault"
.after_hlt3:
	CHECK_HIT 15, "#GP from ring 3 not delivered"
	; the frame was on the ring-0 stack and held the ring-3 SS:ESP
	mov eax, [fault_esp]
	CHECK eax, 0x270000 - 8, 16, "ring-0 stack pointer from the TSS"
	CHECK dword [0x270000 - 4], 0x23, 17, "saved SS"
	CHECK dword [0x270000 - 8], 0x260000, 18, "saved ESP"
	CHECK esp, 0x260000, 19, "ring-3 ESP after IRET"
	; back to ring 0 through INT 0x80 (DPL-3 trap gate)
	EXPECT_CS 0x1B
	RESUME_CS 0x08
	EXPECT 0x80, NOERR, .ring0, .ring0
	int 0x80
.ring0:
	mov esp, 0x280000
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	CHECK_HIT 20, "INT 0x80 from ring 3 not delivered"
	mov ax, cs
	CHECK ax, 0x08, 21, "not back at CPL 0"
	PASS
