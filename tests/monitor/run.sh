#!/bin/sh
# tests/monitor/run.sh NESTEMU GUEST_BIN_DIR - the monitor end to end:
# scripts (-monitor-script), a piped stdio monitor, unix and tcp sockets
# (one client at a time), breakpoints, stepping, snapshots (a round trip
# under -icount with every timer running, bit-flipped files refused), the
# device topics on a programmed platform, the ACPI power button, the two
# configuration rules, -S, -config files and their error messages;
# malformed commands and cut snapshot files, one error line each.
# Ends with "N passed, N failed"; exit status 0 only when all passed.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 NESTEMU GUEST_BIN_DIR" >&2
	exit 2
fi
nestemu=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
guests=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
kernel=$guests/mb_hello.bin
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# check NAME FILE PATTERN...: every (grep -E) pattern occurs in FILE
check() {
	name=$1 file=$2
	shift 2
	for pat in "$@"; do
		if ! grep -qE -- "$pat" "$file"; then
			bad "$name" "output lacks '$pat': $(head -c 600 "$file")"
			return
		fi
	done
	ok "$name"
}

# script NAME STATUS ARGS... <lines: runs nestemu -S -monitor-script with
# the lines, expects STATUS; output in $tmp/out and $tmp/err
script() {
	name=$1 want=$2
	shift 2
	cat >"$tmp/script.txt"
	timeout 20 "$nestemu" -display none -serial none "$@" -monitor-script "$tmp/script.txt" \
		>"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	if [ "$st" -ne "$want" ]; then
		bad "$name" "exit status $st, expected $want: $(head -n 3 "$tmp/err")"
		return 1
	fi
	return 0
}

# ---- scripts ----

script script_inspect 0 -S -kernel "$kernel" <<'X' &&
info version
info registers
x/2i $rip
info cpus
info mtree
info pagewalk 0x1000
frobnicate
quit
X
check script_inspect "$tmp/out" '^nestemu [0-9]' 'RIP=0000000000100020' \
	'CS  =0008 0000000000000000 ffffffff 0c09b DPL=0 CS32' '0000000000100020: bc00002800 +mov esp, 0x280000' \
	'^\* CPU #0' 'ram-low' 'paging is off' "error: unknown command 'frobnicate'"

script script_step 0 -S -kernel "$kernel" <<'X' &&
step 3
info registers
quit
X
check script_step "$tmp/out" 'stepped 3 instructions; rip=0x0000000000100030' 'retired=3 '

script script_break 0 -S -kernel "$kernel" <<'X' &&
break 0x100030
cont
info registers
delete 1
quit
X
check script_break "$tmp/out" 'breakpoint 1 hit at 0x100030' 'RIP=0000000000100030' 'deleted breakpoint 1'

# Without -S the script runs first, then the guest runs to its end.
script script_then_run 1 -kernel "$kernel" <<'X' &&
info cpus
X
check script_then_run "$tmp/out" 'CPU #0: rip=0x0000000000100020'

# A stopped machine at the end of the script: nestemu says so and exits.
script script_end_stopped 0 -S -kernel "$kernel" <<'X' &&
info version
X
check script_end_stopped "$tmp/err" 'the machine is stopped and no monitor is left'

script snapshots 0 -S -kernel "$kernel" <<'X' &&
step 2
savevm first
step 5
info registers
loadvm first
info registers
info snapshots
loadvm nosuch
delvm first
info snapshots
quit
X
check snapshots "$tmp/out" "saved snapshot 'first' in nestemu-snapshots" 'retired=7 ' \
	"loaded snapshot 'first'" 'retired=2 ' '^first ' "error: no snapshot named 'nosuch'" \
	"deleted snapshot 'first'" 'no snapshots in nestemu-snapshots'

# A corrupt snapshot is refused and the machine keeps its state.
script snapshot_corrupt_prepare 0 -S -kernel "$kernel" <<'X'
step 4
savevm bad
quit
X
if [ -f nestemu-snapshots/bad.nsnap ]; then
	size=$(wc -c <nestemu-snapshots/bad.nsnap)
	head -c $((size / 2)) nestemu-snapshots/bad.nsnap >"$tmp/half" && mv "$tmp/half" nestemu-snapshots/bad.nsnap
fi
script snapshot_corrupt 0 -S -kernel "$kernel" <<'X' &&
step 1
loadvm bad
info registers
quit
X
check snapshot_corrupt "$tmp/out" "error: snapshot 'nestemu-snapshots/bad.nsnap' is truncated.*the machine is unchanged" 'retired=1 '

# one_error_each NAME: in $tmp/out every command but the last (quit) got
# exactly one line, an "error: " line, and nothing reached stderr (under
# ASan/UBSan a report would, and would change the exit status).
one_error_each() {
	if [ -s "$tmp/err" ]; then
		bad "$1" "stderr: $(head -c 600 "$tmp/err")"
		return
	fi
	res=$(awk '/^\(nestemu\) / { if (cmd != "" && (n != 1 || !err)) print cmd " -> " n " lines";
			cmd = $0; n = 0; err = 0; next }
		{ n++; if (/^error: /) err = 1 }
		END { if (cmd !~ /quit$/) print "script stopped at " cmd }' "$tmp/out")
	if [ -n "$res" ]; then bad "$1" "$res"; else ok "$1"; fi
}

# Malformed commands: wrong argument counts, huge numbers, addresses
# outside RAM or the address space, odd snapshot names: one error line each.
script malformed_commands 0 -S -kernel "$kernel" <<'X' &&
x/1000000i 0
x/99999999999999999999x 0
x/0x 0
x/-1x 0
x/4q 0
x
x/4x
xp/4x 0xffffffffffffffff
xp/4x 0x7fffffffffff0000
x/4i 0xfffffffffffffff0
x/2x $nosuch
x/2x $rip+
x/2x ($rip
memsave 0 0x100000000000 m1
memsave 0xffffffffffffffff 16 m2
pmemsave 0xfffffffffffffff0 0x100 m3
pmemsave 0 0xffffffffffffffff m4
pmemsave 0 16 /nonexistent/dir/f
pmemsave 0 16
step 99999999999999999999999
step -1
cpu 4294967296
cpu -1
break 0x
break 99999999999999999999999999
watch 0 0 r
watch 1 0xffffffffffffffff rw
watch 0 8 x
delete -1
delete 4294967297
info pagewalk
info state nosuch
info checksum nosuch
info nosuch
help nosuch
memory resize 0
memory resize 99999999999999999999
memory resize -5
sendkey nosuchkey
sendkey a 99999999999999999999
set cpu expose-virtualization maybe
savevm ../../x
savevm /abs
savevm a/b
savevm ..
loadvm ../../x
delvm ../../x
delvm nosuch
"unterminated
quit
X
one_error_each malformed_commands

# Snapshot files cut anywhere (empty, inside the header, inside the
# payload, one byte short), random bytes and a directory: one error line
# each and the machine keeps its state.
script snapshot_cut_prepare 0 -S -kernel "$kernel" <<'X'
step 3
savevm whole
quit
X
size=1
if [ -f nestemu-snapshots/whole.nsnap ]; then
	size=$(wc -c <nestemu-snapshots/whole.nsnap)
	for n in 0 1 8 100 200 4096 $((size - 1)); do
		head -c "$n" nestemu-snapshots/whole.nsnap >"nestemu-snapshots/cut$n.nsnap"
	done
	head -c 5000 /dev/urandom >nestemu-snapshots/random.nsnap
	mkdir -p nestemu-snapshots/adir.nsnap
fi
script snapshot_cuts 0 -S -kernel "$kernel" <<X &&
loadvm cut0
loadvm cut1
loadvm cut8
loadvm cut100
loadvm cut200
loadvm cut4096
loadvm cut$((size - 1))
loadvm random
loadvm adir
quit
X
one_error_each snapshot_cuts
script snapshot_cuts_unchanged 0 -S -kernel "$kernel" <<X &&
step 1
loadvm cut$((size - 1))
info registers
quit
X
check snapshot_cuts_unchanged "$tmp/out" 'is truncated' 'retired=1 '
rm -rf nestemu-snapshots/cut* nestemu-snapshots/random.nsnap nestemu-snapshots/adir.nsnap

script expose_virt_stopped 0 -S -kernel "$kernel" <<'X' &&
set cpu expose-virtualization on
memory resize 64M
quit
X
check expose_virt_stopped "$tmp/out" 'VMX is now visible' 'guest RAM is now 64 MiB'

# ---- a programmed platform (tests/guests/mon_platform.asm) ----

# The guest programs the PICs, LAPIC, IOAPIC, PIT, RTC, HPET and a PCI BAR,
# then writes 1 to 0x7000: the watchpoint stops it there, with every timer
# running. Later it stops its timers and waits for the ACPI power button.
platform=$guests/mon_platform.bin
pf_args="-S -icount 2 -kernel $platform"

script platform_info 0 $pf_args <<'X' &&
watch 0x7000 4 w
cont
delete 1
info pic
info lapic
info ioapic
info pci
cont
info irq
system_powerdown
cont
X
check platform_info "$tmp/out" \
	'8259 master \(IRQ 0-7\): base vector 0x20 IRR=0x0[01] ISR=0x00 IMR=0xfa ELCR=0x00' \
	'8259 slave \(IRQ 8-15\): base vector 0x28 IRR=0x00 ISR=0x00 IMR=0xfc ELCR=0x02' \
	'LAPIC of CPU #0: ID 0x0, version 0x01050014, IA32_APIC_BASE 0xfee00900 \(enabled, xAPIC, BSP\)' \
	'TPR=0x10 PPR=0x10 ' 'SVR=0x000001ff: software-enabled, spurious vector 0xff' \
	'LVT timer    0x00020050: vector 0x50 periodic$' 'LVT LINT0    0x00000700: vector 0x00 ExtINT edge high$' \
	'LVT error    0x000000fe: vector 0xfe Fixed$' \
	'timer: periodic, initial count 6250, current count [0-9]+, divide by 16' \
	'^IRR: 0{64} \(none\)' \
	'pin  1: 030000000001a941 vector 0x41 LowPri logical  dest 0x03 level low  masked, input 0' \
	'pin 20: 0000000000000060 vector 0x60 Fixed  physical dest 0x00 edge  high, input 0' \
	'00:00.0 8086:1237 class 0600 prog-if 00 rev 02: host bridge' \
	'00:01.1 8086:7010 class 0101 prog-if 80 rev 00: IDE controller' \
	'BAR4: I/O size 0x10, register 0xc001, mapped at 0xc000-0xc00f' \
	'00:01.3 8086:7113 class 0680 .*piix4-pm' 'IRQ: pin INTA, line 9, not routed, idle' \
	'mon_platform: every timer ticked' \
	'^  2  0 +([4-9][0-9][0-9]|[0-9]{4,})  [01]$' '^  8  8 +(2[4-9]|[3-9][0-9]|[0-9]{3,})  [01]$' \
	'^ 20  - +([2-9][0-9][0-9]|[0-9]{4,})  [01]$' \
	'ACPI power button pressed' 'mon_platform: power button; entering S5'

# block NAME N: the output of the Nth (1-based) command NAME of $tmp/out,
# up to the next prompt
block() {
	awk -v cmd="(nestemu) $1" -v n="$2" '
		index($0, "(nestemu) ") == 1 { on = ($0 == cmd && ++k == n); next }
		on' "$tmp/out"
}

# Snapshot round trip under -icount: save with every timer running, run
# N instructions, record; load, run N again, record: the registers and
# the checksum of every state section (each device, RAM) are identical.
script snapshot_round_trip 0 $pf_args <<'X' &&
watch 0x7000 4 w
cont
delete 1
step 3000
savevm rt
step 20000
info registers
info checksum
loadvm rt
step 20000
info registers
info checksum
cont
system_powerdown
cont
X
if ! grep -q 'stepped 20000 instructions' "$tmp/out"; then
	bad snapshot_round_trip "the steps did not run: $(grep stepped "$tmp/out")"
elif [ "$(block 'info checksum' 1 | wc -l)" -lt 15 ]; then
	bad snapshot_round_trip "too few state sections: $(block 'info checksum' 1)"
elif ! block 'info registers' 2 | grep -q '^RIP='; then
	bad snapshot_round_trip "no registers after loadvm: $(tail -n 5 "$tmp/out")"
elif [ "$(block 'info registers' 1)" != "$(block 'info registers' 2)" ]; then
	block 'info registers' 1 >"$tmp/r1"
	block 'info registers' 2 >"$tmp/r2"
	bad snapshot_round_trip "registers differ: $(diff "$tmp/r1" "$tmp/r2" | tr '\n' ' ')"
elif [ "$(block 'info checksum' 1)" != "$(block 'info checksum' 2)" ]; then
	block 'info checksum' 1 >"$tmp/c1"
	block 'info checksum' 2 >"$tmp/c2"
	bad snapshot_round_trip "state differs after loadvm: $(diff "$tmp/c1" "$tmp/c2" | tr '\n' ' ')"
else
	ok snapshot_round_trip
fi

# The same from power-on, 20 instructions in (the guest has programmed
# nothing yet): a snapshot of untouched devices must not come back with
# lines or timers the live devices did not have (the 8254's OUT is high
# in its power-on mode, but IRQ 0 stays low until it is programmed).
script snapshot_round_trip_reset 0 $pf_args <<'X' &&
savevm r0
step 20
info registers
info checksum
loadvm r0
step 20
info registers
info checksum
quit
X
if ! block 'info registers' 2 | grep -q '^RIP='; then
	bad snapshot_round_trip_reset "no registers after loadvm: $(tail -n 5 "$tmp/out")"
elif [ "$(block 'info registers' 1)$(block 'info checksum' 1)" != "$(block 'info registers' 2)$(block 'info checksum' 2)" ]; then
	block 'info checksum' 1 >"$tmp/c1"
	block 'info checksum' 2 >"$tmp/c2"
	bad snapshot_round_trip_reset "state differs after loadvm: $(diff "$tmp/c1" "$tmp/c2" | tr '\n' ' ')"
else
	ok snapshot_round_trip_reset
fi

# Bit-flipped snapshots (one in the payload, one in the header) are refused
# and the machine runs on unchanged.
if [ -f nestemu-snapshots/rt.nsnap ]; then
	python3 - nestemu-snapshots <<'PY'
import sys
d = sys.argv[1]
b = bytearray(open(d + "/rt.nsnap", "rb").read())
p = bytearray(b)
p[len(p) // 2] ^= 0x10
open(d + "/flip_payload.nsnap", "wb").write(p)
h = bytearray(b)
h[20] ^= 0x01
open(d + "/flip_header.nsnap", "wb").write(h)
PY
fi
script snapshot_bit_flip 0 $pf_args <<'X' &&
watch 0x7000 4 w
cont
delete 1
step 3000
info checksum
loadvm flip_payload
loadvm flip_header
info checksum
cont
system_powerdown
cont
X
if [ "$(block 'info checksum' 1)" != "$(block 'info checksum' 2)" ]; then
	bad snapshot_bit_flip "the refused loadvm changed the machine"
else
	check snapshot_bit_flip "$tmp/out" \
		"error: snapshot 'nestemu-snapshots/flip_payload.nsnap' is corrupt \(payload checksum mismatch\); the machine is unchanged" \
		"error: snapshot 'nestemu-snapshots/flip_header.nsnap' is corrupt \(header checksum mismatch\); the machine is unchanged" \
		'mon_platform: power button; entering S5'
fi

# Without an ACPI-aware guest the button only sets PWRBTN_STS.
script powerdown_ignored 0 -S -kernel "$kernel" <<'X' &&
system_powerdown
info state acpi_pm pm1_sts
quit
X
check powerdown_ignored "$tmp/out" 'ACPI power button pressed' 'pm1_sts = 0x0100'

# step counts towards -max-insns.
script step_max_insns 0 $pf_args -max-insns 500 <<'X' &&
step 400
step 400
info registers
quit
X
check step_max_insns "$tmp/out" 'stepped 400 instructions' 'stepped 100 instructions.*\(the -max-insns limit\)' 'retired=500 '

# ---- stdio (piped: no readline) ----

printf 'info version\nstep 2\ninfo cpus\nquit\n' |
	timeout 20 "$nestemu" -display none -serial none -S -monitor stdio -kernel "$kernel" >"$tmp/out" 2>"$tmp/err"
st=$?
if [ "$st" -eq 0 ]; then
	check stdio "$tmp/out" '^nestemu [0-9]' 'stepped 2 instructions' 'rip=0x000000000010002a'
else
	bad stdio "exit status $st: $(head -n 2 "$tmp/err")"
fi

# ---- sockets ----

# sock_test NAME ADDRESS BOOT-ARGS CMD...: nestemu serves ADDRESS; the client sends CMDs
sock_test() {
	name=$1 addr=$2 boot=$3
	shift 3
	# shellcheck disable=SC2086
	timeout 20 "$nestemu" -display none -serial none -monitor "$addr" $boot \
		>"$tmp/sout" 2>"$tmp/serr" </dev/null &
	pid=$!
	timeout 15 python3 "$here/sockclient.py" "$addr" "$@" >"$tmp/out" 2>"$tmp/cerr"
	cst=$?
	wait $pid
	st=$?
	if [ "$cst" -ne 0 ]; then
		bad "$name" "client failed: $(tail -n 2 "$tmp/cerr")"
		return 1
	fi
	if [ "$st" -ne 0 ]; then
		bad "$name" "nestemu exit status $st: $(head -n 2 "$tmp/serr")"
		return 1
	fi
	return 0
}

if command -v python3 >/dev/null 2>&1; then
	sock_test unix_socket "unix:$tmp/mon.sock,server" "-S -kernel $kernel" "info version" "step 1" "@busy" "info cpus" \
		"break 0x100030" "cont" "@wait breakpoint 1 hit" "info registers" "bogus" "quit" &&
		check unix_socket "$tmp/out" 'nestemu monitor' '\) nestemu [0-9]' 'stepped 1 instruction;' \
			'second client: error: the monitor is busy' '\* CPU #0' 'RIP=0000000000100030' \
			"error: unknown command 'bogus'"
	if [ -e "$tmp/mon.sock" ]; then
		bad unix_socket_cleanup "the socket file is left behind"
	else
		ok unix_socket_cleanup
	fi
	port=$((20000 + $$ % 20000))
	sock_test tcp_socket "tcp:127.0.0.1:$port" "-S -kernel $kernel" "info version" "quit" &&
		check tcp_socket "$tmp/out" '\) nestemu [0-9]'
	# A ROM that spins (jmp $ everywhere): the machine runs until told otherwise.
	python3 -c "open('$tmp/spin.rom', 'wb').write(b'\\xeb\\xfe' * 32768)"
	sock_test expose_virt_running "unix:$tmp/mon2.sock" "-bios $tmp/spin.rom" \
		"set cpu expose-virtualization on" "memory resize 64M" "stop" \
		"set cpu expose-virtualization on" "system_reset" "info registers" "quit" &&
		check expose_virt_running "$tmp/out" \
			'error: cannot change expose-virtualization while the machine is running' \
			'guest RAM becomes 64 MiB at the next system_reset' \
			'VMX will be visible at the next system_reset' 'machine reset' 'RIP=000000000000fff0'
else
	bad sockets "python3 is needed for the socket tests"
fi

# ---- readline on a terminal (python3's pty module) ----

# pty_run NAME KEYS...: nestemu -monitor stdio on a pty, history in $tmp/hist
pty_run() {
	name=$1
	shift
	NESTEMU_HISTORY=$tmp/hist timeout 40 python3 "$here/ptyclient.py" -- "$nestemu" -display none \
		-serial none -S -monitor stdio -kernel "$kernel" -- "$@" >"$tmp/out" 2>"$tmp/err"
}

if command -v python3 >/dev/null 2>&1; then
	rm -f "$tmp/hist"
	mkdir -p ptydir
	# Tab completes a command (hel -> help), a sub-command (info reg ->
	# info registers) and a file name (ptyd -> ptydir/); the up arrow
	# recalls the last line; an unknown command is one error line and the
	# prompt comes back.
	pty_run readline 'hel\t\r' 'info reg\t\r' '\x1b[A\r' 'memsave 0x100000 16 ptyd\tout.bin\r' \
		'frobnicate\r' 'quit\r'
	if [ "$(grep -c '^RIP=0000000000100020' "$tmp/out")" -ne 2 ]; then
		bad readline_history_recall "expected 'info registers' twice: $(grep -c '^RIP=' "$tmp/out") times"
	else
		ok readline_history_recall
	fi
	if [ "$(wc -c <ptydir/out.bin 2>/dev/null || echo 0)" -ne 16 ]; then
		bad readline_file_completion "ptydir/out.bin was not written: $(grep memsave "$tmp/out")"
	else
		ok readline_file_completion
	fi
	check readline "$tmp/out" '^\(nestemu\) help $' 'system_powerdown +press the ACPI power button' \
		'^\(nestemu\) info registers $' 'saved 16 bytes at linear 0x100000 to ptydir/out.bin' \
		"^error: unknown command 'frobnicate' \\(type 'help' for the list\\)\$" '^\(nestemu\) quit$' \
		'^exit status 0$'
	check readline_history_file "$tmp/hist" '^info registers $' '^frobnicate$' '^quit$'
	# A new session reads the history file: the up arrow brings back "quit".
	pty_run readline_history_loaded '\x1b[A\r'
	check readline_history_loaded "$tmp/out" '^\(nestemu\) quit$' '^exit status 0$'
fi

# ---- command line: -S, -monitor, -monitor-script, -config ----

# expect_err NAME PATTERN ARGS...: exit 1 with one "nestemu: " line containing PATTERN
expect_err() {
	name=$1 pat=$2
	shift 2
	timeout 10 "$nestemu" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	if [ "$st" -ne 1 ]; then
		bad "$name" "exit status $st, expected 1"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q '^nestemu: ' "$tmp/err"; then
		bad "$name" "expected one 'nestemu: ' line: $(cat "$tmp/err")"
	elif ! grep -q -- "$pat" "$tmp/err"; then
		bad "$name" "message lacks '$pat': $(cat "$tmp/err")"
	else
		ok "$name"
	fi
}

expect_err S_without_monitor "-S needs -monitor" -S -kernel "$kernel"
expect_err bad_monitor "unknown monitor 'pty'" -monitor pty -kernel "$kernel"
expect_err bad_monitor_opt "unknown option 'bogus'" -monitor "unix:$tmp/x.sock,bogus" -kernel "$kernel"
expect_err missing_script "cannot open monitor script '/nonexistent/s'" -monitor-script /nonexistent/s -kernel "$kernel"
expect_err missing_config "cannot open config file '/nonexistent/c'" -config /nonexistent/c

printf '# a machine\n[machine]\nm = 64M\nkernel = "%s"\nserial = stdio\nname = demo\nno-reboot = yes\n' "$kernel" >"$tmp/good.ini"
timeout 20 "$nestemu" -display none -config "$tmp/good.ini" >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
if [ "$st" -eq 1 ] && grep -q "reports 64 MiB of RAM" "$tmp/out"; then
	ok config_boot
else
	bad config_boot "exit status $st: $(head -c 300 "$tmp/out") $(head -n 2 "$tmp/err")"
fi
timeout 20 "$nestemu" -display none -config "$tmp/good.ini" -m 32M >"$tmp/out" 2>"$tmp/err" </dev/null
if grep -q "reports 32 MiB of RAM" "$tmp/out"; then
	ok config_overridden
else
	bad config_overridden "the command line did not win: $(head -c 300 "$tmp/out")"
fi
printf '[machine]\nm = 64M\ncolour = blue\n' >"$tmp/badkey.ini"
expect_err config_bad_key "badkey.ini:3: unknown key 'colour'" -config "$tmp/badkey.ini"
printf '[machine]\nm = lots\n' >"$tmp/badval.ini"
expect_err config_bad_value "badval.ini:2: invalid memory size 'lots'" -config "$tmp/badval.ini"
printf '[machine]\nno-reboot = perhaps\n' >"$tmp/badbool.ini"
expect_err config_bad_bool "badbool.ini:2: invalid value 'perhaps' for no-reboot" -config "$tmp/badbool.ini"
printf '[disk]\nm = 64M\n' >"$tmp/badsec.ini"
expect_err config_bad_section "badsec.ini:1: unknown section \[disk\]" -config "$tmp/badsec.ini"
printf '[machine]\njust words\n' >"$tmp/badline.ini"
expect_err config_bad_line "badline.ini:2: expected 'key = value'" -config "$tmp/badline.ini"

# ---- display: screendump, info vga, sendkey ----

pngcheck() { python3 "$here/pngcheck.py" "$@" >"$tmp/png.txt" 2>&1; }

script vga_mode13 0 -kernel "$guests/mb_vga13.bin" <<X &&
cont
info vga
screendump $tmp/m13.png
X
check vga_mode13_info "$tmp/out" 'VGA graphics 320x200, 256 colours \(chain-4\)' 'saved the 320x200 screen'
if pngcheck "$tmp/m13.png" 320 200 10,10=ff0000 300,10=00ff00 10,150=0000ff 300,150=ffffff \
	159,99=ff0000 160,99=00ff00 159,100=0000ff 160,100=ffffff; then
	ok vga_mode13_png
else
	bad vga_mode13_png "$(cat "$tmp/png.txt")"
fi

# A direct boot starts the card in text mode 3 with the VGA BIOS's font.
script vga_text 0 -kernel "$guests/mb_vgatext.bin" <<X &&
cont
info vga
screendump $tmp/text.png
X
check vga_text "$tmp/out" 'VGA text 80x25 \(9x16 cells\)' '^\|nestemu VGA text$' '^\|second line$'
# Cell (0,0): blue background, yellow glyph; cell (0,1): red and white; row 2 black.
if pngcheck "$tmp/text.png" 720 400 0,0=0000aa has:0,0,9,16=ffff55 0,16=aa0000 \
	has:0,16,9,32=ffffff black:0,32,720,400; then
	ok vga_text_png
else
	bad vga_text_png "$(cat "$tmp/png.txt")"
fi

# The SDL back end, drawing into SDL's offscreen video driver (no X or
# Wayland server needed): the 60 Hz refresh runs while the guest draws.
# (Under AddressSanitizer, SDL's video libraries leak a few allocations
# of their own, so leak detection is off for this run.)
export SDL_VIDEODRIVER=offscreen
saved_asan=${ASAN_OPTIONS-}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
if ! "$nestemu" -display sdl -kernel /nonexistent 2>&1 | grep -q 'built without SDL2'; then
	script sdl_offscreen 0 -display sdl -kernel "$guests/mb_vga13.bin" <<X &&
cont
screendump $tmp/sdl.png
X
	check sdl_offscreen "$tmp/out" 'saved the 320x200 screen'
else
	expect_err sdl_not_built "built without SDL2" -display sdl -kernel "$kernel"
fi
unset SDL_VIDEODRIVER
ASAN_OPTIONS=$saved_asan

# The card's registers and VRAM are in snapshots: reset returns to text mode, loadvm brings the picture back.
script vga_snapshot 0 -kernel "$guests/mb_vga13.bin" <<X &&
cont
savevm vga1
system_reset
info vga
loadvm vga1
screendump $tmp/m13b.png
X
check vga_snapshot "$tmp/out" 'machine reset' 'VGA text 80x25' "loaded snapshot 'vga1'"
if pngcheck "$tmp/m13b.png" 320 200 10,10=ff0000 300,150=ffffff; then
	ok vga_snapshot_png
else
	bad vga_snapshot_png "$(cat "$tmp/png.txt")"
fi

# SeaBIOS runs the VGA BIOS from the card's ROM BAR, which sets text mode
# 3; SeaBIOS's banner is then in the text buffer and on the picture.
# -icount makes the boot-menu wait take no host time.
if [ -r /usr/share/seabios/bios.bin ]; then
	script seabios_vga 124 -bios /usr/share/seabios/bios.bin -icount 4 -max-insns 40000000 <<X &&
cont
info vga
screendump $tmp/sb.png
X
	check seabios_vga_text "$tmp/out" 'VGA text 80x25 \(9x16 cells\)' 'VGA BIOS in the ROM BAR' '^\|SeaBIOS \(version'
	if pngcheck "$tmp/sb.png" 720 400 nonblack:0,0,63,16 black:0,300,720,400; then
		ok seabios_vga_png
	else
		bad seabios_vga_png "$(cat "$tmp/png.txt")"
	fi
	# VBE through the VGA BIOS: an option ROM asks for mode 111h (640x480,
	# 16 bpp), checks the mode information against the card's BAR0, and
	# paints bank 0 red and bank 1 green through the 0xA0000 window.
	python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[-1] = -sum(d[:-1]) & 255; open(sys.argv[2], "wb").write(d)' \
		"$guests/rom_vbe.bin" "$tmp/vbe.rom"
	script seabios_vbe 0 -bios /usr/share/seabios/bios.bin -option-rom "$tmp/vbe.rom" -icount 4 \
		-max-insns 100000000 <<X &&
cont
info vga
screendump $tmp/vbe.png
X
	check seabios_vbe_info "$tmp/out" 'VBE 640x480, 16 bpp banked, line 1280 bytes, start 0x0, bank 1'
	# 32768 red pixels (rows 0-50 and 128 of row 51), then 32768 green ones.
	if pngcheck "$tmp/vbe.png" 640 480 10,10=ff0000 127,51=ff0000 128,51=00ff00 10,60=00ff00 \
		255,102=00ff00 256,102=000000 black:0,103,640,480; then
		ok seabios_vbe_png
	else
		bad seabios_vbe_png "$(cat "$tmp/png.txt")"
	fi
else
	bad seabios_vga "no /usr/share/seabios/bios.bin: install Debian's seabios package"
fi

# sendkey: the guest exits with the first byte the keyboard sends, 'a' in
# scan code set 2 (0x1C; no firmware turned the controller's translation on).
script sendkey_a 57 -S -kernel "$guests/kbd_sendkey.bin" <<'X' &&
sendkey a
cont
X
ok sendkey_a
script sendkey_ret 181 -S -kernel "$guests/kbd_sendkey.bin" <<'X' &&
sendkey ctrl-frob
sendkey ret 50
cont
X
check sendkey_ret "$tmp/out" "error: unknown key 'frob'"
script vga_none 0 -S -vga none -kernel "$kernel" <<'X' &&
info vga
screendump x.png
quit
X
check vga_none "$tmp/out" 'no VGA card \(-vga none\)' 'error: no VGA card: screendump needs'
script screendump_unwritable 0 -S -kernel "$kernel" <<'X' &&
screendump /nonexistent/dir/x.png
quit
X
check screendump_unwritable "$tmp/out" "error: cannot write '/nonexistent/dir/x.png': No such file"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
