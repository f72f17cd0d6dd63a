; mb_long - 64-bit mode: exceptions through the 64-bit IDT (#UD, #DE,
; #GP(0) for a non-canonical address, INT n), 4-level paging faults
; (not present, user access to a supervisor page from ring 3), the RSP0
; stack switch from the 64-bit TSS, and SYSCALL/SYSRET (SDM Vol. 3 5.8.8,
; 6.14, 7.7).
%include "mb.inc"
%include "lm64.inc"

%define TSS64 0x290000
%define KSTACK 0x270000
%define USTACK 0x260000

	bits 32
test_main:
	SAY "mb_long: entering long mode"
	ENTER_LONG lm_main

	bits 64
lm_main:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, 0x280000
	mov dword [rel exp_cs], 0x30
	SAY "64-bit mode"

	EXPECT 0x40, NOERR, .after_int, .after_int
	int 0x40
.after_int:
	CHECK_HIT 1, "INT 0x40 not delivered"

	EXPECT 6, NOERR, .ud, .after_ud
.ud:	ud2
	FAIL 2, "UD2 did not fault"
.after_ud:
	CHECK_HIT 3, "#UD not delivered"

	EXPECT 0, NOERR, .div, .after_div
	mov rax, 1
	mov rdx, 1			; RDX:RAX / 1 overflows 64 bits
	mov rcx, 1
.div:	div rcx
	FAIL 4, "64-bit DIV overflow did not fault"
.after_div:
	CHECK_HIT 5, "#DE not delivered"

	mov rbx, 0x0000800000000000	; first non-canonical address
	EXPECT 13, 0, .noncanon, .after_noncanon
.noncanon: mov rax, [rbx]
	FAIL 6, "non-canonical access did not fault"
.after_noncanon:
	CHECK_HIT 7, "#GP(0) (non-canonical) not delivered"

	; #PF in 4-level paging: not present (PD entry 20 = 40 MiB)
	mov qword [PD64 + 20 * 8], 0
	invlpg [0x2800000]
	EXPECT 14, 2, .np, .after_np
	EXPECT_CR2 0x2800008
.np:	mov qword [0x2800008], 1
	FAIL 8, "write to a not-present page did not fault"
.after_np:
	CHECK_HIT 9, "#PF (4-level, not present) not delivered"
	; make 40 MiB a supervisor-only page for the ring-3 test
	mov qword [PD64 + 20 * 8], 0x2800000 | 0x83
	invlpg [0x2800000]
	mov qword [0x2800010], 0x5EC2E7

	; 64-bit TSS with RSP0, and go to ring 3
	mov rdi, TSS64
	mov ecx, 104 / 4
	xor eax, eax
	rep stosd
	mov qword [TSS64 + 4], KSTACK		; RSP0
	mov word [TSS64 + 102], 104
	mov eax, TSS64
	mov word [gdt + 0x58], 103
	mov [gdt + 0x58 + 2], ax
	shr eax, 16
	mov [gdt + 0x58 + 4], al
	mov byte [gdt + 0x58 + 5], 0x89		; 64-bit TSS available
	mov [gdt + 0x58 + 7], ah
	mov dword [gdt + 0x58 + 8], 0
	mov dword [gdt + 0x58 + 12], 0
	mov ax, 0x58
	ltr ax

	; SYSCALL setup: STAR user base 0x18 (SS 0x23, CS 0x2B), kernel CS 0x08
	mov ecx, 0xC0000080
	rdmsr
	or eax, 1			; EFER.SCE
	wrmsr
	mov ecx, 0xC0000081		; STAR
	xor eax, eax
	mov edx, 0x00180008
	wrmsr
	mov ecx, 0xC0000082		; LSTAR
	lea rax, [rel syscall_entry]
	mov rdx, rax
	shr rdx, 32
	wrmsr
	mov ecx, 0xC0000084		; SFMASK: clear IF and TF
	mov eax, 0x300
	xor edx, edx
	wrmsr

	push qword 0x23			; SS
	push qword USTACK		; RSP
	push qword 0x3202		; RFLAGS: IF, IOPL 3
	push qword 0x2B			; CS
	lea rax, [rel ring3]
	push rax
	iretq

ring3:
	mov ax, cs
	CHECK ax, 0x2B, 10, "not in 64-bit ring 3"
	; user read of a supervisor page: error P|U, CR2
	mov dword [rel exp_cs], 0x2B
	EXPECT 14, 5, .user_pf, .after_user_pf
	EXPECT_CR2 0x2800010
.user_pf: mov rax, [0x2800010]
	FAIL 11, "user access to a supervisor page did not fault"
.after_user_pf:
	CHECK_HIT 12, "#PF (user/supervisor) not delivered"
	CHECK rsp, USTACK, 13, "ring-3 RSP after the fault"

	; SYSCALL / SYSRET round trip
	mov rbx, 0x1234
	syscall
.after_syscall:
	mov ax, cs
	CHECK ax, 0x2B, 14, "CS after SYSRET"
	mov ax, ss
	CHECK ax, 0x23, 15, "SS after SYSRET"
	CHECK rbx, 0x4321, 16, "system call result"
	pushfq
	pop rax
	test eax, 0x200
	jnz .if_back
	FAIL 17, "SYSRET did not restore IF from R11"
.if_back:
	; back to ring 0
	mov dword [rel exp_cs], 0x2B
	RESUME_CS 0x30
	EXPECT 0x80, NOERR, .after_int80, ring0_again
	int 0x80
.after_int80:
	FAIL 18, "INT 0x80 returned to ring 3"

ring0_again:
	mov rsp, 0x280000
	CHECK_HIT 19, "INT 0x80 from ring 3 not delivered"
	mov ax, cs
	CHECK ax, 0x30, 20, "not back in ring 0"
	PASS

syscall_entry:
	mov ax, cs
	CHECK ax, 0x08, 21, "CS in the SYSCALL handler"
	mov ax, ss
	CHECK ax, 0x10, 22, "SS in the SYSCALL handler"
	lea rax, [rel ring3.after_syscall]
	CHECK rcx, rax, 23, "RCX holds the return RIP"
	test r11d, 0x200
	jnz .r11_ok
	FAIL 24, "R11 lacks the caller's IF"
.r11_ok:
	pushfq
	pop rax
	test eax, 0x300
	jz .mask_ok
	FAIL 25, "SFMASK did not clear IF/TF"
.mask_ok:
	CHECK rbx, 0x1234, 26, "RBX across SYSCALL"
	mov rbx, 0x4321
	o64 sysret
