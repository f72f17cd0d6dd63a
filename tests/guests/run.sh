#!/bin/sh
# tests/guests/run.sh NESTEMU DIR - boots every guest test program in DIR.
#
# boot_*.bin are ROM images (-bios), mb_*.bin Multiboot kernels (-kernel),
# disk_*.bin raw disk images SeaBIOS boots from the IDE disk (-hda), cd_*.bin
# El Torito no-emulation boot images put on an ISO built with xorriso
# (-cdrom); bench_*.bin are skipped (tests/bench/run.sh runs them), and so are
# mon_*.bin (guests of tests/monitor/run.sh, driven by the monitor). A line
#     ; nestemu-test: args=EXTRA ARGS status=N skip=REASON
# in the guest's .asm (next to this script) adds arguments, changes the
# expected exit status (default 1: the guest wrote 0 to isa-debug-exit),
# or skips it. Prints one PASS/FAIL/SKIP line per guest and a summary;
# exits non-zero when a guest failed.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 NESTEMU GUEST_BIN_DIR" >&2
	exit 2
fi
nestemu=$1
dir=$2
src=$(dirname "$0")
timeout_s=${GUEST_TIMEOUT:-20}
max_insns=${GUEST_MAX_INSNS:-200000000}	# a guest stuck in a loop fails with status 124
pass=0 fail=0 skip=0

if [ ! -x "$nestemu" ]; then
	echo "run.sh: $nestemu is not an executable (build it with make)" >&2
	exit 2
fi

# run_one NAME IMAGE: boots IMAGE with $mode $args, expects status $want.
run_one() {
	out=$(mktemp)
	# shellcheck disable=SC2086
	timeout "$timeout_s" "$nestemu" -display none -serial stdio -debugcon stdio -no-reboot \
		-max-insns "$max_insns" $mode "$2" $args </dev/null >"$out" 2>&1
	st=$?
	# Firmware-booted guests must also print PASS (status 1 is also an option error's).
	passed=yes
	case $1 in disk_* | cd_*) grep -q '^PASS' "$out" || passed=no ;; esac
	if [ "$st" -eq "$want" ] && [ "$passed" = yes ]; then
		echo "PASS $1"
		pass=$((pass + 1))
	else
		if [ "$st" -eq 124 ]; then
			how="timed out (${timeout_s}s or $max_insns instructions)"
		elif [ $((st % 2)) -eq 1 ] && [ "$st" -gt 1 ]; then
			how="guest failure code $(((st - 1) / 2))"
		else
			how="exit status $st"
		fi
		echo "FAIL $1 ($how, expected status $want)"
		sed 's/^/    | /' "$out" | tail -n 8
		fail=$((fail + 1))
	fi
	rm -f "$out"
}

for bin in "$dir"/*.bin; do
	[ -e "$bin" ] || continue
	name=$(basename "$bin" .bin)
	case $name in
	boot_*) mode=-bios ;;
	mb_*) mode=-kernel ;;
	disk_*) mode=-hda ;;
	cd_*) mode=-cdrom ;;
	*) continue ;;
	esac
	meta=""
	[ -f "$src/$name.asm" ] && meta=$(sed -n 's/^;[[:space:]]*nestemu-test:[[:space:]]*//p' "$src/$name.asm" | head -n 1)
	args=$(printf '%s\n' "$meta" | sed -n 's/.*args=\([^=]*\)\( [a-z]*=.*\)\{0,1\}$/\1/p')
	want=$(printf '%s\n' "$meta" | sed -n 's/.*status=\([0-9]*\).*/\1/p')
	why=$(printf '%s\n' "$meta" | sed -n 's/.*skip=\(.*\)/\1/p')
	[ -n "$want" ] || want=1
	if [ -n "$why" ]; then
		echo "SKIP $name ($why)"
		skip=$((skip + 1))
		continue
	fi
	case $mode in
	-cdrom)
		# The boot image goes on an El Torito no-emulation ISO.
		isodir=$(mktemp -d)
		cp "$bin" "$isodir/boot.bin"
		if xorriso -as mkisofs -quiet -b boot.bin -no-emul-boot -boot-load-size 4 \
			-o "$isodir.iso" "$isodir" >/dev/null 2>&1; then
			run_one "$name" "$isodir.iso"
		else
			echo "FAIL $name (cannot build the ISO with xorriso: install it, see configure)"
			fail=$((fail + 1))
		fi
		rm -rf "$isodir" "$isodir.iso"
		;;
	-hda)
		# The raw image, then the same disk converted to qcow2.
		run_one "$name" "$bin"
		qcow=$(mktemp)
		if qemu-img convert -f raw -O qcow2 "$bin" "$qcow" >/dev/null 2>&1; then
			run_one "$name-qcow2" "$qcow"
		else
			echo "FAIL $name-qcow2 (cannot convert the image with qemu-img: install qemu-utils)"
			fail=$((fail + 1))
		fi
		rm -f "$qcow"
		;;
	*)
		run_one "$name" "$bin"
		;;
	esac
done

summary="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ "$fail" -eq 0 ]
