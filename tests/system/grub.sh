#!/bin/sh
# tests/system/grub.sh NESTEMU - SeaBIOS -> GRUB -> Linux from a hard disk.
#
# grub_shell: the GRUB disk image of tests/images/build-disk.sh (built on
# first use, cached) is booted as the first IDE disk by SeaBIOS; GRUB reads
# its grub.cfg from the ext2 partition, loads Debian's kernel and the
# busybox initramfs over INT 13h, and the kernel reaches the shell on
# ttyS0. The test types `cat /proc/cpuinfo`, checks the output, types
# `poweroff -f` and expects nestemu to exit with status 0 (ACPI S5).
# On failure it names the last stage the serial log reached.
#
# Environment: GRUB_BIOS is the firmware passed with -bios (default
# Debian's SeaBIOS, /usr/share/seabios/bios.bin; set it empty to use
# nestemu's default firmware); GRUB_DISK the disk image (default
# tests/images/cache/disk.img; the qcow2 copy is disk.qcow2).
# Ends with the line "N passed, N failed".
set -u
nestemu=$1
here=$(cd "$(dirname "$0")" && pwd)
images="$here/../images"
bios=${GRUB_BIOS-/usr/share/seabios/bios.bin}
disk=${GRUB_DISK:-$images/cache/disk.img}
. "$here/lib.sh"

# stage: the last boot stage the serial log shows, for failure messages.
stage() {
	if grep -aq 'NESTEMU-INITRD-READY' "$tmp/out"; then echo "the initramfs ran but no shell prompt"
	elif grep -aq 'Linux version' "$tmp/out"; then echo "the kernel started but the initramfs never ran"
	elif grep -aq 'GNU GRUB' "$tmp/out"; then echo "GRUB showed its menu but the kernel never printed"
	elif [ -s "$tmp/out" ]; then echo "the serial log never showed GRUB's menu"
	else echo "nothing on the serial port"
	fi
}

# fail_boot WHY: the boot stopped; says whether nestemu exited or timed out.
fail_boot() {
	if kill -0 "$pid" 2>/dev/null; then
		bad grub_shell "timed out waiting for $1; $(stage)"
	else
		wait "$pid"
		st=$?
		pid=
		bad grub_shell "nestemu exited with status $st before $1; $(stage)"
	fi
}

grub_shell() {
	if [ ! -s "$disk" ]; then
		if ! sh "$images/build-disk.sh" >"$tmp/build.log" 2>&1; then
			bad grub_shell "building the GRUB disk image failed: $(tail -n 1 "$tmp/build.log")"
			return
		fi
	fi
	if [ -n "$bios" ] && [ ! -f "$bios" ]; then
		bad grub_shell "$bios is missing (apt-get install seabios)"
		return
	fi
	mkfifo "$tmp/in"
	# shellcheck disable=SC2086
	"$nestemu" -m 512 ${bios:+-bios "$bios"} -hda "$disk" -display none -serial stdio -no-reboot \
		<"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 3>"$tmp/in"
	if ! wait_for 'GNU GRUB' 120; then fail_boot "GRUB's menu"; exec 3>&-; return; fi
	if ! wait_for 'NESTEMU-INITRD-READY' 300; then fail_boot "the initramfs"; exec 3>&-; return; fi
	if ! wait_for '/ # ' 60; then fail_boot "the shell prompt"; exec 3>&-; return; fi
	printf 'cat /proc/cpuinfo\n' >&3
	if ! wait_for '^flags' 60 || ! grep -aq 'GenuineIntel' "$tmp/out"; then
		bad grub_shell "cat /proc/cpuinfo printed no CPU flags"
		exec 3>&-
		return
	fi
	if ! poweroff_guest; then
		bad grub_shell "nestemu did not exit after poweroff"
		return
	fi
	if [ "$st" -eq 0 ]; then ok grub_shell; else bad grub_shell "exit status $st after poweroff"; fi
}

grub_shell
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
