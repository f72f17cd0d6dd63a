#!/bin/sh
# tests/system/ata.sh NESTEMU - linux_ata: Debian's kernel drives the IDE
# controller with its own ata_piix driver.
#
# The kernel and busybox initramfs of tests/images/build.sh boot directly
# (-kernel) with a 4 MiB raw disk (-hda) and an ISO (-cdrom, xorriso). The
# modules libata, ata_piix, sd_mod and sr_mod (and what they need) come
# from the cached linux-image .deb, in a second cpio archive appended to
# the initramfs. In the shell the test loads them and checks that the
# kernel found "NESTEMU HARDDISK" and "NESTEMU DVD-ROM", reads a marker
# sector of /dev/sda and the ISO's volume descriptor from /dev/sr0, that
# the disk runs in MWDMA2 (bus-master DMA), writes a sector with fsync,
# powers off, and finds the write in the image file.
# Ends with the line "N passed, N failed".
set -u
nestemu=$1
here=$(cd "$(dirname "$0")" && pwd)
images="$here/../images"
cache="$images/cache"
. "$here/lib.sh"

mods="scsi_common scsi_mod libata ata_piix crc64 crc64-rocksoft crct10dif_common crc-t10dif t10-pi sd_mod cdrom sr_mod"

linux_ata() {
	if [ ! -s "$cache/vmlinuz" ] || [ ! -s "$cache/initrd.gz" ]; then
		if ! sh "$images/build.sh" >"$tmp/build.log" 2>&1; then
			bad linux_ata "building the Debian images failed: $(tail -n 1 "$tmp/build.log")"
			return
		fi
	fi
	deb=$(ls "$cache"/linux-image-[0-9]*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ] || ! dpkg-deb -x "$deb" "$tmp/k"; then
		bad linux_ata "no linux-image package in $cache to take the modules from"
		return
	fi
	mkdir -p "$tmp/root/mods"
	for m in $mods; do
		f=$(find "$tmp/k/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
		case $f in
		"") bad linux_ata "module $m is not in $deb"; return ;;
		*.xz) xz -dc "$f" >"$tmp/root/mods/$m.ko" ;;
		*) cp "$f" "$tmp/root/mods/$m.ko" ;;
		esac
	done
	(cd "$tmp/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/mods.gz"
	cat "$cache/initrd.gz" "$tmp/mods.gz" >"$tmp/initrd.gz"
	dd if=/dev/zero of="$tmp/disk.img" bs=1M count=4 2>/dev/null
	printf 'NESTEMU-SECTOR-100' | dd of="$tmp/disk.img" bs=512 seek=100 conv=notrunc 2>/dev/null
	mkdir "$tmp/iso"
	echo hello >"$tmp/iso/hello.txt"
	if ! xorriso -as mkisofs -quiet -o "$tmp/cd.iso" "$tmp/iso" >/dev/null 2>&1; then
		bad linux_ata "xorriso cannot build the ISO (./configure --install-deps installs it)"
		return
	fi

	mkfifo "$tmp/in"
	"$nestemu" -m 512 -kernel "$cache/vmlinuz" -initrd "$tmp/initrd.gz" -append "console=ttyS0" \
		-hda "$tmp/disk.img" -cdrom "$tmp/cd.iso" -display none -serial stdio -no-reboot \
		<"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 3>"$tmp/in"
	if ! wait_for 'NESTEMU-INITRD-READY' 300 || ! wait_for '/ # ' 60; then
		bad linux_ata "no shell prompt"
		exec 3>&-
		return
	fi
	for m in $mods; do
		printf 'insmod /mods/%s.ko\n' "$m" >&3
	done
	printf 'cat /proc/partitions; cat /sys/class/ata_device/dev1.0/xfer_mode\n' >&3
	printf 'dd if=/dev/sda bs=512 skip=100 count=1 2>/dev/null | head -c 18; echo\n' >&3
	printf 'dd if=/dev/sr0 bs=2048 skip=16 count=1 2>/dev/null | head -c 6 | tail -c 5; echo\n' >&3
	printf 'printf LINUX-WROTE-%%s 200 | dd of=/dev/sda bs=512 seek=200 conv=sync,fsync 2>/dev/null\n' >&3
	printf 'echo ATA-CHECKS-%s\n' DONE >&3
	if ! wait_for '^ATA-CHECKS-DONE' 180; then
		bad linux_ata "the shell commands did not finish"
		exec 3>&-
		return
	fi
	poweroff_guest
	if ! grep -q 'ATA-6: NESTEMU HARDDISK' "$tmp/out" || ! grep -q 'ATAPI: NESTEMU DVD-ROM' "$tmp/out"; then
		bad linux_ata "ata_piix did not find the disk and the CD-ROM"
	elif ! grep -q ' 4096 sda' "$tmp/out"; then
		bad linux_ata "/proc/partitions lacks a 4 MiB sda"
	elif ! grep -q '^XFER_MW_DMA_2' "$tmp/out"; then
		bad linux_ata "the disk is not in MWDMA2 (bus-master DMA)"
	elif ! grep -q '^NESTEMU-SECTOR-100' "$tmp/out"; then
		bad linux_ata "sector 100 of /dev/sda read wrong"
	elif ! grep -q '^CD001' "$tmp/out"; then
		bad linux_ata "the volume descriptor of /dev/sr0 read wrong"
	elif [ "$st" != 0 ]; then
		bad linux_ata "exit status $st after poweroff (none: it did not exit)"
	elif [ "$(dd if="$tmp/disk.img" bs=512 skip=200 count=1 2>/dev/null | head -c 15)" != LINUX-WROTE-200 ]; then
		bad linux_ata "the sector Linux wrote is not in the image file"
	else
		ok linux_ata
	fi
}

linux_ata
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
