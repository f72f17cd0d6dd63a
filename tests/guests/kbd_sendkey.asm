; kbd_sendkey - waits for one byte from the keyboard controller and exits
; with it as the isa-debug-exit code, so the exit status is (byte << 1) | 1.
; tests/monitor/run.sh presses a key with the monitor's sendkey and checks
; the status (not run by tests/guests/run.sh: it would wait forever).
%include "mb.inc"

test_main:
.wait:	in al, 0x64
	test al, 1			; output buffer full
	jz .wait
	in al, 0x60
	out EXIT_PORT, al
	cli
	hlt
