#!/bin/sh
# tests/system/run.sh NESTEMU - system tests: real software from Debian.
#
# linux_shell: Debian's linux-image-amd64 with a busybox initramfs (built
# by tests/images/build.sh from apt-get downloads, cached) boots to the
# shell on ttyS0; the test types `cat /proc/cpuinfo`, checks the output
# (avx2 among the flags), runs /bin/simdtest (glibc's AVX2 string functions
# and x87 long double, one SIMDTEST PASS line, AVX2 variants picked),
# types `poweroff -f` and expects nestemu to exit with status 0 (ACPI S5).
# Then tests/system/ata.sh (linux_ata: ata_piix, sd, sr on the IDE disk and
# CD-ROM) and tests/system/grub.sh (grub_shell: SeaBIOS -> GRUB -> Linux
# from the first IDE disk). Ends with the line "N passed, N failed".
set -u
nestemu=$1
here=$(cd "$(dirname "$0")" && pwd)
images="$here/../images"
. "$here/lib.sh"

linux_shell() {
	if ! sh "$images/build.sh" --if-stale >"$tmp/build.log" 2>&1; then
		bad linux_shell "building the Debian images failed: $(tail -n 1 "$tmp/build.log")"
		return
	fi
	mkfifo "$tmp/in"
	"$nestemu" -m 512 -kernel "$images/cache/vmlinuz" -initrd "$images/cache/initrd.gz" \
		-append "console=ttyS0" -display none -serial stdio -no-reboot \
		<"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 3>"$tmp/in"
	if ! wait_for 'NESTEMU-INITRD-READY' 300 || ! wait_for '/ # ' 60; then
		bad linux_shell "no shell prompt"
		stop_guest
		return
	fi
	printf 'cat /proc/cpuinfo\n' >&3
	if ! wait_for '^flags' 60 || ! grep -q 'GenuineIntel' "$tmp/out"; then
		bad linux_shell "cat /proc/cpuinfo printed no CPU flags"
		stop_guest
		return
	fi
	# glibc's AVX2 string functions and x87 long double (tests/images/simdtest.c)
	if ! grep -q '^flags.* avx2' "$tmp/out"; then
		bad linux_shell "the CPU model does not advertise avx2 in /proc/cpuinfo"
		stop_guest
		return
	fi
	printf 'simdtest\n' >&3
	if ! wait_for '^SIMDTEST \(PASS\|FAIL\)' 120 || ! grep -q '^SIMDTEST PASS' "$tmp/out"; then
		bad linux_shell "simdtest did not print SIMDTEST PASS"
		stop_guest
		return
	fi
	if ! grep -q '^SIMDTEST variants: memmove=__memmove_avx_unaligned_erms strlen=__strlen_avx2' "$tmp/out"; then
		bad linux_shell "glibc did not pick its AVX2 string functions"
		stop_guest
		return
	fi
	if ! poweroff_guest; then
		bad linux_shell "nestemu did not exit after poweroff"
		return
	fi
	if [ "$st" -eq 0 ]; then ok linux_shell; else bad linux_shell "exit status $st after poweroff"; fi
}

linux_shell
# linux_ata (tests/system/ata.sh): the same kernel drives the IDE disk and
# CD-ROM with its own ata_piix driver.
run_child linux_ata "$here/ata.sh"
# grub_shell (tests/system/grub.sh): SeaBIOS -> GRUB -> Linux from the
# first IDE disk, the GRUB image built by tests/images/build-disk.sh.
run_child grub_shell "$here/grub.sh"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
