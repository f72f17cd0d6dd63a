#!/bin/sh
# tests/cli/run.sh NESTEMU [GUEST_BIN_DIR] - the command line: --help and
# --version, and that every mistake gives exit status 1 with exactly one
# line on stderr starting "nestemu: ". With GUEST_BIN_DIR, also boots the
# demo guest (mb_hello.bin) and checks its serial output and exit status.
set -u
# No windows: these runs expect no X or Wayland server (-display sdl fails).
unset DISPLAY WAYLAND_DISPLAY

if [ $# -lt 1 ]; then
	echo "usage: $0 NESTEMU [GUEST_BIN_DIR]" >&2
	exit 2
fi
nestemu=$1
guests=${2:-}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# expect_ok NAME PATTERN ARGS...: status 0 and PATTERN on stdout
expect_ok() {
	name=$1 pat=$2
	shift 2
	"$nestemu" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	if [ "$st" -ne 0 ]; then
		bad "$name" "exit status $st: $(head -n 1 "$tmp/err")"
	elif ! grep -q -- "$pat" "$tmp/out"; then
		bad "$name" "output lacks '$pat'"
	else
		ok "$name"
	fi
}

# expect_err NAME PATTERN ARGS...: status 1, one stderr line with PATTERN
expect_err() {
	name=$1 pat=$2
	shift 2
	timeout 10 "$nestemu" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$st" -ne 1 ]; then
		bad "$name" "exit status $st, expected 1"
	elif [ "$lines" -ne 1 ]; then
		bad "$name" "$lines lines on stderr, expected one sentence"
	elif ! grep -q '^nestemu: ' "$tmp/err"; then
		bad "$name" "message does not start with 'nestemu: ': $(cat "$tmp/err")"
	elif ! grep -q -- "$pat" "$tmp/err"; then
		bad "$name" "message lacks '$pat': $(cat "$tmp/err")"
	else
		ok "$name"
	fi
}

expect_ok help "-kernel FILE" --help
expect_ok help_short "-bios FILE" -h
expect_ok version "^nestemu [0-9]" --version
expect_ok cpu_help "CPU models" -cpu help
expect_ok log_help "guest_errors" -d help

echo "not a kernel" >"$tmp/text"
printf '\177ELF\001\001\001' >"$tmp/tiny.elf"

expect_err no_args "nothing to boot"
expect_err unknown_option "unknown option '-frobnicate'" -frobnicate
expect_err stray_argument "unexpected argument 'foo'" foo
expect_err missing_argument "needs an argument" -kernel
expect_err bad_size "invalid memory size '12Q'" -m 12Q -kernel "$tmp/text"
expect_err zero_size "invalid memory size" -m 0 -kernel "$tmp/text"
expect_err tiny_size "too small" -m 1M -kernel "$tmp/text"
expect_err bad_smp "invalid CPU count" -smp 0 -kernel "$tmp/text"
expect_err bad_smp_word "invalid CPU count" -smp many -kernel "$tmp/text"
expect_err bad_cpu "nosuchcpu" -cpu nosuchcpu -kernel "$tmp/text"
expect_err bad_serial "unknown serial back end" -serial tcp:1 -kernel "$tmp/text"
expect_err bad_debugcon "unknown debugcon back end" -debugcon pty -kernel "$tmp/text"
expect_err display_sdl "SDL" -display sdl -kernel "$tmp/text"
expect_err missing_option_rom "cannot read the option ROM '/nonexistent/x.rom'" -option-rom /nonexistent/x.rom -kernel "$tmp/text"
expect_err bad_vga "unknown VGA card 'cirrus'" -vga cirrus -kernel "$tmp/text"
expect_err display_bogus "unknown display" -display gtk -kernel "$tmp/text"
expect_err bad_log "unknown log item 'bogus'" -d int,bogus -kernel "$tmp/text"
expect_err bad_max_insns "invalid instruction count" -max-insns lots -kernel "$tmp/text"
expect_err initrd_without_kernel "-initrd needs -kernel" -initrd x -bios "$tmp/text"
expect_err missing_kernel "cannot open kernel '/nonexistent/k'" -kernel /nonexistent/k
expect_err missing_bios "cannot open BIOS image '/nonexistent/b'" -bios /nonexistent/b
expect_err bad_bios_size "multiple of 64 KiB" -bios "$tmp/text"
expect_err not_multiboot "neither an ELF file nor a Multiboot kernel" -kernel "$tmp/text"
expect_err elf_no_header "without a Multiboot header" -kernel "$tmp/tiny.elf"
expect_err unwritable_log "cannot open log file" -D /nonexistent/dir/log -kernel "$tmp/text"

if [ -n "$guests" ]; then
	if [ -f "$guests/mb_hello.bin" ]; then
		expect_err missing_module "cannot open module '/nonexistent/m'" -kernel "$guests/mb_hello.bin" -initrd "/nonexistent/m arg"
		timeout 20 "$nestemu" -nographic -kernel "$guests/mb_hello.bin" >"$tmp/out" 2>"$tmp/err" </dev/null
		st=$?
		if [ "$st" -eq 1 ] && grep -q "Hello from a Multiboot guest" "$tmp/out"; then
			ok demo_guest
		else
			bad demo_guest "exit status $st, output: $(head -c 200 "$tmp/out") $(head -n 2 "$tmp/err")"
		fi
		timeout 20 "$nestemu" -display none -serial "file:$tmp/serial.txt" -kernel "$guests/mb_hello.bin" \
			-max-insns 5 >"$tmp/out" 2>"$tmp/err" </dev/null
		st=$?
		if [ "$st" -eq 124 ] && grep -q "stopped after 5 instructions" "$tmp/err"; then
			ok max_insns
		else
			bad max_insns "exit status $st, stderr: $(head -n 2 "$tmp/err")"
		fi
	else
		bad demo_guest "$guests/mb_hello.bin is missing"
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
