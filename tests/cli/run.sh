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
expect_ok device_help "pc-testdev" -device help

echo "not a kernel" >"$tmp/text"
printf '\177ELF\001\001\001' >"$tmp/tiny.elf"
: >"$tmp/empty"
# Broken kernels: a bzImage header announcing more code than the file has,
# one with nothing after its setup sectors, a Multiboot ELF whose program
# headers lie past the end, and one whose segment does.
python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
def bz(size, syssize):
    b = bytearray(size)
    b[0x1f1] = 1                       # setup_sects
    struct.pack_into('<I', b, 0x1f4, syssize)
    b[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', b, 0x206, 0x20f)
    b[0x211] = 1                       # LOADED_HIGH
    return b
open(d + '/trunc.bz', 'wb').write(bz(4096, 0x1000))
open(d + '/short.bz', 'wb').write(bz(1024, 0))
def elf(phoff, seg_off, seg_size):
    b = bytearray(0x100)
    b[0:7] = b'\x7fELF\x01\x01\x01'
    struct.pack_into('<HHIIIIIHHHHHH', b, 16, 2, 3, 1, 0x100000, phoff, 0, 0, 52, 32, 1, 40, 0, 0)
    struct.pack_into('<III', b, 0x80, 0x1badb002, 0, (-0x1badb002) & 0xffffffff)
    if phoff < len(b):
        struct.pack_into('<IIIIIIII', b, phoff, 1, seg_off, 0x100000, 0x100000, seg_size, seg_size, 5, 4096)
    return b
open(d + '/trunc_mb.elf', 'wb').write(elf(0x1000, 0, 0x100))
open(d + '/seg_mb.elf', 'wb').write(elf(52, 0, 0x10000))
PY

expect_err no_firmware "nothing to boot: the default firmware /nonexistent/fw/bios.bin" -L /nonexistent/fw
expect_err unknown_option "unknown option '-frobnicate'" -frobnicate
expect_err stray_argument "unexpected argument 'foo'" foo
expect_err missing_argument "needs an argument" -kernel
expect_err bad_size "invalid memory size '12Q'" -m 12Q -kernel "$tmp/text"
expect_err zero_size "invalid memory size" -m 0 -kernel "$tmp/text"
expect_err tiny_size "too small" -m 1M -kernel "$tmp/text"
expect_err bad_smp "invalid CPU count" -smp 0 -kernel "$tmp/text"
expect_err bad_smp_word "invalid CPU count" -smp many -kernel "$tmp/text"
expect_err bad_cpu "nosuchcpu" -cpu nosuchcpu -kernel "$tmp/text"
expect_err bad_serial "unknown serial back end 'pty'" -serial pty -kernel "$tmp/text"
expect_err bad_serial_tcp "invalid serial back end 'tcp:1'" -serial tcp:1 -kernel "$tmp/text"
expect_err bad_serial_opt "unknown option 'bogus'" -serial tcp::4555,bogus -kernel "$tmp/text"
expect_err five_serials "four serial ports" -serial none -serial none -serial none -serial none -serial none -kernel "$tmp/text"
expect_err serial_stdio_twice "only one -serial can use stdio" -serial stdio -serial stdio -kernel "$tmp/text"
expect_err serial_refused "cannot connect" -serial unix:"$tmp/nobody.sock" -kernel "$tmp/text"
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
expect_err not_multiboot "'$tmp/text' is neither a Linux bzImage nor a Multiboot kernel" -kernel "$tmp/text"
expect_err empty_kernel "neither a Linux bzImage nor a Multiboot kernel" -kernel "$tmp/empty"
expect_err kernel_is_dir "it is a directory" -kernel "$tmp"
expect_err trunc_bzimage "is truncated: its header announces" -kernel "$tmp/trunc.bz"
expect_err short_bzimage "is truncated: no protected-mode code" -kernel "$tmp/short.bz"
expect_err trunc_elf_phdrs "truncated or has no program headers" -kernel "$tmp/trunc_mb.elf"
expect_err trunc_elf_segment "a segment's data lies beyond the end" -kernel "$tmp/seg_mb.elf"
expect_err missing_initrd "cannot open initrd '/nonexistent/i'" -kernel "$tmp/trunc.bz" -initrd /nonexistent/i
expect_err initrd_is_dir "cannot read initrd '$tmp': it is a directory" -kernel "$tmp/trunc.bz" -initrd "$tmp"
expect_err bios_is_dir "cannot read BIOS image '$tmp': it is a directory" -bios "$tmp"
expect_err empty_bios "multiple of 64 KiB" -bios "$tmp/empty"
expect_err huge_memory "more than this host's" -m 1T -kernel "$tmp/text"
expect_err too_many_cpus "invalid CPU count '65'" -smp 65 -kernel "$tmp/text"
expect_err elf_no_header "without a Multiboot header" -kernel "$tmp/tiny.elf"
expect_err unknown_device "unknown device 'frob'" -device frob -kernel "$tmp/text"
expect_err device_bad_option "has no option 'size'" -device pc-testdev,size=4 -kernel "$tmp/text"
expect_err device_twice "given twice" -device pc-testdev -device pc-testdev -kernel "$tmp/text"
expect_err debug_exit_moved "built in at port 0xF4" -device isa-debug-exit,iobase=0x501 -kernel "$tmp/text"
expect_err unwritable_log "cannot open log file" -D /nonexistent/dir/log -kernel "$tmp/text"

# Disks: every mistake is one sentence.
head -c 1048576 /dev/zero >"$tmp/disk.img"
expect_err missing_disk "cannot open '/nonexistent/d.img'" -hda /nonexistent/d.img -kernel "$tmp/text"
expect_err drive_unknown_key "unknown -drive key 'cache'" -drive "file=$tmp/disk.img,cache=none" -kernel "$tmp/text"
expect_err drive_not_kv "is not KEY=VALUE" -drive "$tmp/disk.img" -kernel "$tmp/text"
expect_err drive_bad_format "unknown disk image format 'vmdk'" -drive "file=$tmp/disk.img,format=vmdk" -kernel "$tmp/text"
expect_err drive_wrong_format "qcow2" -drive "file=$tmp/disk.img,format=qcow2" -kernel "$tmp/text"
expect_err drive_bad_if "unsupported -drive interface 'if=virtio'" -drive "file=$tmp/disk.img,if=virtio" -kernel "$tmp/text"
expect_err drive_bad_media "unknown -drive media 'floppy'" -drive "file=$tmp/disk.img,media=floppy" -kernel "$tmp/text"
expect_err drive_bad_index "invalid -drive index '4'" -drive "file=$tmp/disk.img,index=4" -kernel "$tmp/text"
expect_err drive_bad_readonly "for -drive readonly (use on or off)" -drive "file=$tmp/disk.img,readonly=maybe" -kernel "$tmp/text"
expect_err drive_no_file "needs file=FILE" -drive "format=raw" -kernel "$tmp/text"
expect_err drive_twice "IDE position 0 (primary master) is given twice, by -hda and by -drive" -hda "$tmp/disk.img" -drive "file=$tmp/disk.img,index=0" -kernel "$tmp/text"
expect_err cdrom_and_hdc "IDE position 2 (secondary master) is given twice, by -hdc and by -cdrom" -hdc "$tmp/disk.img" -cdrom "$tmp/disk.img" -kernel "$tmp/text"
expect_err drives_full "no free IDE position for -drive" -hda "$tmp/disk.img" -hdb "$tmp/disk.img" -hdc "$tmp/disk.img" -hdd "$tmp/disk.img" -drive "file=$tmp/disk.img" -kernel "$tmp/text"
expect_err bad_boot "unknown boot device 'x'" -boot order=cx -hda "$tmp/disk.img"
expect_err bad_boot_key "invalid -boot 'menu=on'" -boot menu=on -hda "$tmp/disk.img"
printf '[machine]\nhda = %s\ndrive = file=%s,cache=none\n' "$tmp/disk.img" "$tmp/disk.img" >"$tmp/disk.cfg"
expect_err config_drive "disk.cfg:3: unknown -drive key 'cache'" -config "$tmp/disk.cfg" -kernel "$tmp/text"
printf '[machine]\nhda = %s\nhdb = %s\n' "$tmp/disk.img" "$tmp/disk.img" >"$tmp/disk2.cfg"
expect_err config_drive_twice "IDE position 1 (primary slave) is given twice, by -hdb and by -hdb" -config "$tmp/disk2.cfg" -hdb "$tmp/disk.img" -hdb "$tmp/disk.img" -kernel "$tmp/text"
expect_err config_drive_overridden "cannot open '/nonexistent/x.img'" -config "$tmp/disk2.cfg" -hda /nonexistent/x.img -kernel "$tmp/text"

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
	# -device from a -config file (keys may repeat).
	if [ -f "$guests/mb_testdev.bin" ]; then
		printf '[machine]\ndevice = pc-testdev\ndevice = isa-debug-exit,iobase=0xf4,iosize=4\n' >"$tmp/dev.ini"
		timeout 20 "$nestemu" -config "$tmp/dev.ini" -display none -kernel "$guests/mb_testdev.bin" \
			>"$tmp/out" 2>"$tmp/err" </dev/null
		st=$?
		if [ "$st" -eq 1 ] && grep -q PASS "$tmp/out"; then
			ok device_from_config
		else
			bad device_from_config "exit status $st: $(tail -n 2 "$tmp/out") $(head -n 1 "$tmp/err")"
		fi
	fi
	# COM2 on a file, then on TCP and Unix sockets (both directions).
	if [ -f "$guests/mb_serial.bin" ]; then
		timeout 20 "$nestemu" -display none -serial none -serial "file:$tmp/com2.txt" -serial none \
			-serial none -kernel "$guests/mb_serial.bin" >"$tmp/out" 2>"$tmp/err" </dev/null
		st=$?
		if [ "$st" -eq 1 ] && grep -q "hello from COM2" "$tmp/com2.txt" && ! grep -q "hello" "$tmp/out"; then
			ok serial_com2_file
		else
			bad serial_com2_file "exit status $st, COM2 file: $(head -c 100 "$tmp/com2.txt")"
		fi
		for mode in tcp-server tcp-client unix-server unix-client tcp-nowait; do
			res=$(python3 "$(dirname "$0")/serial_peer.py" "$mode" "$nestemu" "$guests/mb_serial.bin" "$tmp" 2>&1)
			case $res in
			PASS*) ok "serial_$mode" ;;
			*) bad "serial_$mode" "$res" ;;
			esac
		done
	else
		bad serial_com2_file "$guests/mb_serial.bin is missing"
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
